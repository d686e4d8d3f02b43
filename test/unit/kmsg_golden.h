/* test/unit/kmsg_golden.h -- helpers shared by the suites of the Kafka message
 * engine (check_kmsg.c, check_kmsg_golden.c, check_kmsg_kpy.c): fixtures in
 * exact-size heap blocks, encode/decode with full consumption, every proper
 * prefix failing, string checks. Header-only: each suite is its own program. */
#ifndef KMSG_GOLDEN_H
#define KMSG_GOLDEN_H

#include <check.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kz_batch.h"
#include "kz_buf.h"
#include "kz_kmsg.h"
#include "kz_kmsgs.h"
#include "kz_records.h"
#include "unit_util.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

/* ================================================================ helpers */

/* A fixture file in an exact-size heap block (ASan sees any overread). */
typedef struct blob {
    uint8_t *p;
    size_t n;
} blob;

/* Loads <fixtures>/kafka/<dir>/<name>; fails the test when it is missing. */
static inline blob fixture_file(const char *dir, const char *name)
{
    const char *root = getenv("KZ_FIXTURES");
    if (!root || !*root)
        root = "test/fixtures";
    char path[512];
    snprintf(path, sizeof path, "%s/kafka/%s/%s", root, dir, name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open fixture %s (run from the repository root or set KZ_FIXTURES)", path);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long len = ftell(f);
    ck_assert_int_ge(len, 0);
    rewind(f);
    blob b = { malloc(len ? (size_t)len : 1), (size_t)len };
    ck_assert_ptr_nonnull(b.p);
    ck_assert_uint_eq(fread(b.p, 1, b.n, f), b.n);
    fclose(f);
    return b;
}

/* A kafka-python body of test/fixtures/kafka/msgs. */
static inline blob fixture_load(const char *name)
{
    char file[128];
    snprintf(file, sizeof file, "%s.bin", name);
    return fixture_file("msgs", file);
}

/* Fails with the first differing offset when @got is not exactly @want. */
static inline void bytes_eq(const char *what, const uint8_t *got, size_t ng, const uint8_t *want, size_t nw)
{
    size_t i = 0;
    while (i < ng && i < nw && got[i] == want[i])
        i++;
    ck_assert_msg(ng == nw && i == nw, "%s: %zu bytes, want %zu; first difference at offset %zu (0x%02x vs 0x%02x)",
                  what, ng, nw, i, i < ng ? got[i] : 0, i < nw ? want[i] : 0);
}

/* Encodes @in at @ver; the caller frees w->base (kz_wr_free). */
static inline kz_wr enc(const kz_kmsg *m, int16_t ver, const void *in)
{
    kz_wr w = KZ_WR_INIT;
    kz_kmsg_encode(m, ver, in, &w);
    ck_assert_msg(w.err == 0, "%s v%d: encode error %d", m->name, ver, w.err);
    return w;
}

/* A decoded message and the exact-size copy of the input its strings point
 * into. */
typedef struct decoded {
    void *msg;
    uint8_t *in;
} decoded;

/* Decodes all of @p/@n or fails the test. */
static inline decoded dec_all(const kz_kmsg *m, int16_t ver, const uint8_t *p, size_t n, kz_arena *a)
{
    decoded d = { malloc(m->size), dup_exact(p, n) };
    ck_assert_ptr_nonnull(d.msg);
    kz_rd r = kz_rd_init(d.in, n);
    int rc = kz_kmsg_decode(m, ver, &r, d.msg, a);
    ck_assert_msg(rc == KZ_OK, "%s v%d: decode rc %d at offset %zu of %zu", m->name, ver, rc, (size_t)(r.p - d.in), n);
    ck_assert_msg(r.p == r.end, "%s v%d: consumed %zu of %zu bytes", m->name, ver, (size_t)(r.p - d.in), n);
    return d;
}

static inline void decoded_free(decoded *d)
{
    free(d->msg);
    free(d->in);
    d->msg = NULL;
    d->in = NULL;
}

/* Every proper prefix of a valid encoding fails to decode. */
static inline void prefixes_fail(const kz_kmsg *m, int16_t ver, const uint8_t *p, size_t n)
{
    void *out = malloc(m->size);
    ck_assert_ptr_nonnull(out);
    for (size_t k = 0; k < n; k++) {
        kz_arena a = KZ_ARENA_INIT;
        uint8_t *cut = dup_exact(p, k);
        kz_rd r = kz_rd_init(cut, k);
        int rc = kz_kmsg_decode(m, ver, &r, out, &a);
        ck_assert_msg(rc == KZ_ESHORT || rc == KZ_ECORRUPT, "%s v%d: %zu-byte prefix of %zu decoded (rc %d)", m->name,
                      ver, k, n, rc);
        ck_assert(r.p <= r.end);
        free(cut);
        kz_arena_reset(&a);
    }
    free(out);
}

static inline void str_check(kz_str s, const char *lit, const char *expr)
{
    ck_assert_msg(str_is(s, lit), "%s is \"%.*s\" (len %d), want \"%s\"", expr, s.len > 0 ? (int)s.len : 0,
                  s.len > 0 ? s.s : "", (int)s.len, lit);
}
#define STR_IS(s, lit) str_check((s), (lit), #s)
#define IS_NULL(s) ck_assert_msg((s).len == -1, "%s should be null (len %d)", #s, (int)(s).len)
#define ARR_IS(a, ...)                                                                                            \
    do {                                                                                                          \
        const int64_t want_[] = { __VA_ARGS__ };                                                                  \
        ck_assert_msg((a).n == (int32_t)N_(want_), "%s has %d elements, want %zu", #a, (int)(a).n, N_(want_));    \
        for (size_t i_ = 0; i_ < N_(want_); i_++)                                                                 \
            ck_assert_msg((int64_t)(a).v[i_] == want_[i_], "%s[%zu] = %" PRId64 ", want %" PRId64, #a, i_,          \
                          (int64_t)(a).v[i_], want_[i_]);                                                         \
    } while (0)


#endif
