/* test/fuzz/fuzz_kmsg.c -- libFuzzer harness for the Kafka message engine
 * (kz_kmsg_decode / kz_kmsg_encode) over every schema of
 * common/kz_kmsgs.def: each request and response at every version of its
 * range, and the KDATA records (__consumer_offsets, consumer protocol).
 *
 * Input: byte 0 picks the schema (modulo their number: requests by API key,
 * then responses by API key, then the KDATA records in .def order); byte 1
 * picks the version (lo + byte % (hi - lo + 1)); the rest is decoded with
 * kz_kmsg_decode into an exactly sized heap struct and a fresh arena.
 *
 * Checks, beyond "no crash, no leak, no out-of-bounds read":
 *   1. the rc is one of KZ_OK / KZ_ESHORT / KZ_ECORRUPT / KZ_ENOMEM and the
 *      cursor stays inside the input;
 *   2. classic (non-flexible) versions: an independent reference walker of
 *      the schema (no allocation, no count bounds, written from the wire
 *      rules of NOTES.md section 1, not from kz_kmsg.c) agrees with the
 *      engine on success and on the bytes consumed, and the engine's
 *      re-encoding is exactly those bytes with booleans canonicalised to 0/1;
 *   3. any version: on success the re-encoding decodes again, consuming all
 *      of it, and re-encodes to the same bytes (idempotence; flexible
 *      versions drop unknown tags and default-valued tagged fields, so only
 *      this weaker form holds for them);
 *   4. the input one byte shorter than what was consumed fails to decode. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "kz_buf.h"
#include "kz_kmsg.h"
#include "kz_kmsgs.h"

static const kz_kmsg *const fz_data[] = {
    &kz_kmsg_OffsetCommitKey,    &kz_kmsg_OffsetCommitValue,           &kz_kmsg_GroupMetadataKey,
    &kz_kmsg_GroupMetadataValue, &kz_kmsg_ConsumerProtocolSubscription, &kz_kmsg_ConsumerProtocolAssignment,
};

/* Schema number @i (see the file comment), or NULL past the end. */
static const kz_kmsg *fz_schema(int i)
{
    for (int pass = 0; pass < 2; pass++) {
        const kz_kmsg *const *tab = pass == 0 ? kz_kmsg_requests : kz_kmsg_responses;
        for (int k = 0; k < KZ_KAPI_MAX; k++)
            if (tab[k] && i-- == 0)
                return tab[k];
    }
    return i < (int)(sizeof fz_data / sizeof fz_data[0]) ? fz_data[i] : NULL;
}

static int fz_nschemas;

/* ------------------------------------------- reference walker (classic) */

typedef struct fz_ref {
    const uint8_t *p;
    size_t left, off;
    uint8_t *canon; /* same offsets as p: booleans rewritten to 0/1 */
} fz_ref;

static bool fz_take(fz_ref *r, size_t n)
{
    if (r->left - r->off < n)
        return false;
    r->off += n;
    return true;
}

static bool fz_i16(fz_ref *r, int32_t *v)
{
    if (r->left - r->off < 2)
        return false;
    *v = (int16_t)kz_load_be16(r->p + r->off);
    r->off += 2;
    return true;
}

static bool fz_i32(fz_ref *r, int32_t *v)
{
    if (r->left - r->off < 4)
        return false;
    *v = (int32_t)kz_load_be32(r->p + r->off);
    r->off += 4;
    return true;
}

/* A length or count read before @n items: -1 is null where @nullable,
 * anything below is invalid. */
static bool fz_len_ok(int32_t n, bool nullable) { return n >= 0 || (n == -1 && nullable); }

static bool fz_ref_struct(fz_ref *r, const kz_kmsg *m, int16_t ver);

static bool fz_ref_string(fz_ref *r, bool nullable)
{
    int32_t n;
    if (!fz_i16(r, &n) || !fz_len_ok(n, nullable))
        return false;
    return n <= 0 || fz_take(r, (size_t)n);
}

static bool fz_ref_field(fz_ref *r, const kz_kfield *f, int16_t ver)
{
    bool nullable = ver >= f->null_since;
    int32_t n;
    switch ((kz_ktype)f->type) {
    case KZ_KT_BOOL:
        if (r->left - r->off < 1)
            return false;
        r->canon[r->off] = r->p[r->off] != 0;
        r->off++;
        return true;
    case KZ_KT_I8: return fz_take(r, 1);
    case KZ_KT_I16: case KZ_KT_U16: return fz_take(r, 2);
    case KZ_KT_I32: return fz_take(r, 4);
    case KZ_KT_I64: case KZ_KT_F64: return fz_take(r, 8);
    case KZ_KT_UUID: return fz_take(r, 16);
    case KZ_KT_STR: return fz_ref_string(r, nullable);
    case KZ_KT_BYTES: case KZ_KT_RECS:
        if (!fz_i32(r, &n) || !fz_len_ok(n, nullable))
            return false;
        return n <= 0 || fz_take(r, (size_t)n);
    case KZ_KT_AI32: case KZ_KT_AI64: case KZ_KT_ASTR: case KZ_KT_ARR:
        if (!fz_i32(r, &n) || !fz_len_ok(n, nullable))
            return false;
        for (int32_t i = 0; i < n; i++) {
            bool ok = f->type == KZ_KT_AI32   ? fz_take(r, 4)
                      : f->type == KZ_KT_AI64 ? fz_take(r, 8)
                      : f->type == KZ_KT_ASTR ? fz_ref_string(r, false)
                                              : fz_ref_struct(r, f->sub, ver);
            if (!ok)
                return false;
        }
        return true;
    case KZ_KT_SUB: return fz_ref_struct(r, f->sub, ver);
    }
    return false;
}

static bool fz_ref_struct(fz_ref *r, const kz_kmsg *m, int16_t ver)
{
    for (unsigned i = 0; i < m->nfields; i++) {
        const kz_kfield *f = &m->fields[i];
        FZ_CHECK(f->tag < 0 || ver < f->since || ver > f->until, "%s.%s: a tagged field in a classic version",
                 m->name, f->name);
        if (ver >= f->since && ver <= f->until && !fz_ref_field(r, f, ver))
            return false;
    }
    return true;
}

/* ------------------------------------------------------------ the target */

/* Decodes @len bytes at @p as @m/@ver into @out; *used gets the bytes read. */
static int fz_decode(const kz_kmsg *m, int16_t ver, const uint8_t *p, size_t len, void *out, kz_arena *a,
                     size_t *used)
{
    kz_rd r = kz_rd_init(p, len);
    int rc = kz_kmsg_decode(m, ver, &r, out, a);
    FZ_CHECK(r.p >= p && r.p <= r.end && r.end == p + len, "%s v%d: cursor outside its buffer", m->name, ver);
    *used = (size_t)(r.p - p);
    return rc;
}

static uint8_t *fz_dup(const uint8_t *p, size_t n)
{
    uint8_t *b = malloc(n ? n : 1);
    FZ_CHECK(b != NULL, "out of memory");
    if (n)
        memcpy(b, p, n);
    return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fz_nschemas)
        while (fz_schema(fz_nschemas))
            fz_nschemas++;
    if (size < 2)
        return 0;
    const kz_kmsg *m = fz_schema(data[0] % fz_nschemas);
    int16_t ver = (int16_t)(m->lo + data[1] % (m->hi - m->lo + 1));
    size_t len = size - 2;
    /* Exact-size copies so that reads past the end trip ASan. */
    uint8_t *buf = fz_dup(data + 2, len);
    uint8_t *canon = fz_dup(data + 2, len);
    void *out = malloc(m->size);
    void *out2 = malloc(m->size);
    FZ_CHECK(out && out2, "out of memory");

    kz_arena a = KZ_ARENA_INIT;
    size_t used = 0;
    int rc = fz_decode(m, ver, buf, len, out, &a, &used);
    FZ_CHECK(rc == KZ_OK || rc == KZ_ESHORT || rc == KZ_ECORRUPT || rc == KZ_ENOMEM, "%s v%d: rc %d", m->name, ver,
             rc);
    bool flex = kz_kmsg_flexible(m, ver);
    fz_ref ref = { buf, len, 0, canon };
    bool ref_ok = !flex && fz_ref_struct(&ref, m, ver);
    if (!flex && rc != KZ_ENOMEM)
        FZ_CHECK((rc == KZ_OK) == ref_ok, "%s v%d: engine rc %d, reference %s after %zu bytes (len %zu)", m->name, ver,
                 rc, ref_ok ? "ok" : "fails", ref.off, len);

    if (rc == KZ_OK) {
        kz_wr w = KZ_WR_INIT;
        kz_kmsg_encode(m, ver, out, &w);
        FZ_CHECK(!w.err, "%s v%d: encode error %d", m->name, ver, w.err);
        if (!flex) {
            FZ_CHECK(ref.off == used, "%s v%d: engine consumed %zu, reference %zu", m->name, ver, used, ref.off);
            FZ_CHECK(w.len == used && (used == 0 || memcmp(w.base, canon, used) == 0),
                     "%s v%d: re-encoding (%zu bytes) differs from the %zu consumed", m->name, ver, w.len, used);
        }

        /* Idempotence: decode(encode(x)) consumes everything and re-encodes the same. */
        uint8_t *again = fz_dup(w.base, w.len);
        kz_arena a2 = KZ_ARENA_INIT;
        size_t used2 = 0;
        int rc2 = fz_decode(m, ver, again, w.len, out2, &a2, &used2);
        FZ_CHECK(rc2 == KZ_OK && used2 == w.len, "%s v%d: re-decode rc %d used %zu of %zu", m->name, ver, rc2, used2,
                 w.len);
        kz_wr w2 = KZ_WR_INIT;
        kz_kmsg_encode(m, ver, out2, &w2);
        FZ_CHECK(w2.len == w.len && (w.len == 0 || memcmp(w2.base, w.base, w.len) == 0), "%s v%d: not idempotent",
                 m->name, ver);
        kz_wr_free(&w2);
        kz_arena_reset(&a2);
        free(again);

        /* One byte short of what was consumed can never decode. */
        if (used > 0) {
            uint8_t *cut = fz_dup(buf, used - 1);
            kz_arena a3 = KZ_ARENA_INIT;
            size_t used3 = 0;
            int rc3 = fz_decode(m, ver, cut, used - 1, out2, &a3, &used3);
            FZ_CHECK(rc3 == KZ_ESHORT || rc3 == KZ_ECORRUPT, "%s v%d: %zu-byte prefix of a %zu-byte message decoded (rc %d)",
                     m->name, ver, used - 1, used, rc3);
            kz_arena_reset(&a3);
            free(cut);
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
