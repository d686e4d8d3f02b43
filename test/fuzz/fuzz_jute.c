/* test/fuzz/fuzz_jute.c -- libFuzzer harness for the jute schema engine
 * (common/kz_jute.c) over every record of coordinator/zkd_records.def.
 *
 * Input: byte 0 picks the record (modulo the number of records, in .def
 * order); the rest is decoded with kz_jute_decode into an exactly sized heap
 * struct (so ASan sees any write past the schema's size) and a fresh arena.
 *
 * Checks, beyond "no crash, no leak, no out-of-bounds read":
 *   1. an independent reference walker of the schema (no allocation, no
 *      count bounds) agrees with the engine on success and on the number of
 *      bytes consumed: the engine's count bounds never reject a valid
 *      encoding, and it never accepts an invalid one;
 *   2. on success, kz_jute_encode gives back exactly the consumed bytes, with
 *      booleans canonicalised (jute reads any non-zero byte as true, writes 1),
 *      and kz_jute_size equals their length;
 *   3. decoding the re-encoded bytes consumes all of them and re-encodes to
 *      the same bytes (idempotence);
 *   4. every proper prefix that the check can afford (the one a byte
 *      shorter) fails to decode. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "kz_buf.h"
#include "kz_jute.h"
#include "zkd_records.h"

/* Every record of the .def, in order: the schema table is the data. */
#define JREC(N)        &zkd_##N##_rec,
#define JINT(N, f)
#define JLONG(N, f)
#define JBOOL(N, f)
#define JSTR(N, f)
#define JBUF(N, f)
#define JSUB(N, f, R)
#define JVSTR(N, f)
#define JVREC(N, f, R)
#define JEND(N)
static const kz_jrec *const fz_records[] = {
#include "zkd_records.def"
};
#undef JREC
#undef JINT
#undef JLONG
#undef JBOOL
#undef JSTR
#undef JBUF
#undef JSUB
#undef JVSTR
#undef JVREC
#undef JEND

#define FZ_NREC (sizeof fz_records / sizeof fz_records[0])

/* Reference walker: returns the number of bytes one value of type @t takes
 * at @p (at most @left), or -1 when the bytes end first or a length is
 * invalid. When @canon is not NULL, boolean bytes are rewritten to 0/1 there
 * (same offsets as @p). Written from the encoding rules in kz_jute.h, not
 * from kz_jute.c. */
static long fz_ref_value(uint8_t t, const kz_jrec *rec, const uint8_t *p, size_t left, uint8_t *canon);

static long fz_ref_i32(const uint8_t *p, size_t left, int32_t *v)
{
    if (left < 4)
        return -1;
    *v = (int32_t)kz_load_be32(p);
    return 4;
}

static long fz_ref_rec(const kz_jrec *s, const uint8_t *p, size_t left, uint8_t *canon)
{
    size_t off = 0;
    for (uint32_t i = 0; i < s->nfields; i++) {
        const kz_jfield *f = &s->fields[i];
        if (f->type != KZ_JT_VEC) {
            long n = fz_ref_value(f->type, f->rec, p + off, left - off, canon ? canon + off : NULL);
            if (n < 0)
                return -1;
            off += (size_t)n;
            continue;
        }
        int32_t cnt;
        if (fz_ref_i32(p + off, left - off, &cnt) < 0)
            return -1;
        off += 4;
        if (cnt < -1)
            return -1;
        for (int32_t k = 0; k < cnt; k++) {
            long n = fz_ref_value(f->elem, f->rec, p + off, left - off, canon ? canon + off : NULL);
            if (n < 0)
                return -1;
            off += (size_t)n;
        }
    }
    return (long)off;
}

static long fz_ref_value(uint8_t t, const kz_jrec *rec, const uint8_t *p, size_t left, uint8_t *canon)
{
    switch (t) {
    case KZ_JT_BOOL:
        if (left < 1)
            return -1;
        if (canon)
            canon[0] = p[0] != 0;
        return 1;
    case KZ_JT_BYTE: return left < 1 ? -1 : 1;
    case KZ_JT_INT: return left < 4 ? -1 : 4;
    case KZ_JT_LONG: return left < 8 ? -1 : 8;
    case KZ_JT_STR: {
        int32_t n;
        if (fz_ref_i32(p, left, &n) < 0 || n < -1)
            return -1;
        if (n <= 0)
            return 4;
        return (size_t)n > left - 4 ? -1 : 4 + (long)n;
    }
    case KZ_JT_REC: return fz_ref_rec(rec, p, left, canon);
    default: return -1;
    }
}

/* Decodes @len bytes as @s; returns the engine's rc, *used the bytes taken. */
static int fz_decode(const kz_jrec *s, const uint8_t *p, size_t len, void *out, kz_arena *a, size_t *used)
{
    kz_rd r = kz_rd_init(p, len);
    int rc = kz_jute_decode(s, &r, out, a);
    *used = (size_t)(r.p - p);
    FZ_CHECK(r.p >= p && r.p <= r.end, "cursor outside its buffer");
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const kz_jrec *s = fz_records[data[0] % FZ_NREC];
    const uint8_t *in = data + 1;
    size_t len = size - 1;

    /* A copy of exactly @len bytes so reads past the end trip ASan even when
     * libFuzzer's buffer happens to be larger. */
    uint8_t *buf = malloc(len ? len : 1);
    uint8_t *canon = malloc(len ? len : 1);
    void *out = malloc(s->size ? s->size : 1);
    void *out2 = malloc(s->size ? s->size : 1);
    FZ_CHECK(buf && canon && out && out2, "out of memory");
    if (len)
        memcpy(buf, in, len);
    if (len)
        memcpy(canon, in, len);

    kz_arena a = KZ_ARENA_INIT;
    size_t used = 0;
    int rc = fz_decode(s, buf, len, out, &a, &used);
    long ref = fz_ref_rec(s, buf, len, canon);
    FZ_CHECK(rc == KZ_OK || rc == KZ_ESHORT || rc == KZ_ECORRUPT || rc == KZ_ENOMEM, "%s: rc %d", s->name, rc);
    if (rc != KZ_ENOMEM)
        FZ_CHECK((rc == KZ_OK) == (ref >= 0), "%s: engine rc %d, reference %ld (len %zu)", s->name, rc, ref, len);

    if (rc == KZ_OK) {
        FZ_CHECK((size_t)ref == used, "%s: engine consumed %zu, reference %ld", s->name, used, ref);
        FZ_CHECK(kz_jute_size(s, out) == used, "%s: size %zu != consumed %zu", s->name, kz_jute_size(s, out), used);
        kz_wr w = KZ_WR_INIT;
        kz_jute_encode(s, out, &w);
        FZ_CHECK(!w.err, "%s: encode error %d", s->name, w.err);
        FZ_CHECK(w.len == used, "%s: encoded %zu bytes, consumed %zu", s->name, w.len, used);
        FZ_CHECK(used == 0 || memcmp(w.base, canon, used) == 0, "%s: re-encoding differs", s->name);

        /* Idempotence: decode(encode(x)) re-encodes to the same bytes. */
        kz_arena a2 = KZ_ARENA_INIT;
        size_t used2 = 0;
        int rc2 = fz_decode(s, w.base, w.len, out2, &a2, &used2);
        FZ_CHECK(rc2 == KZ_OK && used2 == w.len, "%s: re-decode rc %d used %zu of %zu", s->name, rc2, used2, w.len);
        kz_wr w2 = KZ_WR_INIT;
        kz_jute_encode(s, out2, &w2);
        FZ_CHECK(w2.len == w.len && (w.len == 0 || memcmp(w2.base, w.base, w.len) == 0), "%s: not idempotent",
                 s->name);
        kz_wr_free(&w2);
        kz_arena_reset(&a2);

        /* One byte short can never decode. */
        if (used > 0) {
            size_t used3 = 0;
            kz_arena a3 = KZ_ARENA_INIT;
            uint8_t *shortbuf = malloc(used - 1 ? used - 1 : 1);
            FZ_CHECK(shortbuf, "out of memory");
            if (used > 1)
                memcpy(shortbuf, buf, used - 1);
            int rc3 = fz_decode(s, shortbuf, used - 1, out2, &a3, &used3);
            FZ_CHECK(rc3 == KZ_ESHORT || rc3 == KZ_ECORRUPT, "%s: %zu-byte prefix of a %zu-byte record decoded (rc %d)",
                     s->name, used - 1, used, rc3);
            free(shortbuf);
            kz_arena_reset(&a3);
        }
        kz_wr_free(&w);
    }
    kz_arena_reset(&a);
    free(out2);
    free(out);
    free(canon);
    free(buf);
    return 0;
}
