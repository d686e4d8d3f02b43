/* test/unit/check_kmsg.c -- the Kafka 2.8 message schema table
 * (common/kz_kmsgs.def) walked by the kz_kmsg engine.
 *
 *   1. structure: every API key of the table has a request and a response
 *      with the version range and first flexible version of Kafka 2.8
 *      (NOTES.md section 4, repeated here as independent data); every field
 *      lies inside its message's versions, tags appear only in flexible
 *      versions, names/tags/offsets are unique and ordered;
 *   2. round trip: every top-level schema (requests, responses, KDATA) at
 *      every version, filled three ways from its own field table (nulls where
 *      allowed, full 2-element arrays, empty everything), encodes, decodes to
 *      the same values consuming every byte, and re-encodes to the same bytes;
 *      every proper prefix of those encodings fails to decode;
 *   3. flexible-version vectors written by hand from NOTES.md sections 1-3
 *      (compact forms, tagged sections, tagged scalars/strings/structs),
 *      checked byte by byte in both directions;
 *   4. corrupt input: every truncation, huge counts, negative lengths, nulls
 *      where the version forbids them (also as []string elements, which
 *      Kafka never allows), bad varints, and deterministic random or mutated
 *      bytes for every schema and version: an error, never a crash (inputs
 *      live in exact-size heap blocks so ASan sees any overread).
 * Golden bytes of real clients are checked in check_kmsg_kpy.c (kafka-python
 * bodies) and check_kmsg_golden.c (frames captured from kcat, confluent-kafka
 * and kafka-python); the helpers shared with them are in kmsg_golden.h. */
#include "kmsg_golden.h"

/* ================================================================ helpers */

/* The versioned records that are no API, in the order of the .def. */
static const kz_kmsg *const DATA_SCHEMAS[] = {
    &kz_kmsg_OffsetCommitKey,    &kz_kmsg_OffsetCommitValue,           &kz_kmsg_GroupMetadataKey,
    &kz_kmsg_GroupMetadataValue, &kz_kmsg_ConsumerProtocolSubscription, &kz_kmsg_ConsumerProtocolAssignment,
};

/* Top-level schema number @i: requests by key, then responses, then data;
 * NULL past the end. */
static const kz_kmsg *top_nth(int i)
{
    for (int pass = 0; pass < 2; pass++) {
        const kz_kmsg *const *tab = pass == 0 ? kz_kmsg_requests : kz_kmsg_responses;
        for (int k = 0; k < KZ_KAPI_MAX; k++)
            if (tab[k] && i-- == 0)
                return tab[k];
    }
    return i < (int)N_(DATA_SCHEMAS) ? DATA_SCHEMAS[i] : NULL;
}

static int top_count(void)
{
    int n = 0;
    while (top_nth(n))
        n++;
    return n;
}

/* Decodes @p/@n (copied to an exact-size block, freed before returning) as
 * @m at @ver into @out (m->size bytes); returns the rc, and in *used the
 * bytes consumed. For error paths: @out must not be read afterwards. */
static int dec(const kz_kmsg *m, int16_t ver, const uint8_t *p, size_t n, void *out, kz_arena *a, size_t *used)
{
    uint8_t *copy = dup_exact(p, n);
    kz_rd r = kz_rd_init(copy, n);
    int rc = kz_kmsg_decode(m, ver, &r, out, a);
    ck_assert_msg(r.p >= copy && r.p <= copy + n, "%s v%d: cursor left its buffer", m->name, ver);
    ck_assert_msg(rc == KZ_OK || rc == KZ_ESHORT || rc == KZ_ECORRUPT, "%s v%d: rc %d", m->name, ver, rc);
    if (used)
        *used = (size_t)(r.p - copy);
    free(copy);
    return rc;
}

/* A decoded message and the exact-size copy of the input its strings point
 * into. */

/* ============================================= 1. structure of the table */

static bool present(const kz_kfield *f, int16_t ver) { return ver >= f->since && ver <= f->until; }

/* Kafka 2.8 API table (NOTES.md section 4): key, highest version, first
 * flexible version. Every range starts at 0. */
static const struct { int16_t key, hi, flex; } API28[] = {
    { 0, 9, 9 },   { 1, 12, 12 }, { 2, 6, 6 },   { 3, 11, 9 },  { 4, 5, 4 },        { 5, 3, 2 },   { 6, 7, 6 },
    { 7, 3, 3 },   { 8, 8, 8 },   { 9, 7, 6 },   { 10, 3, 3 },  { 11, 7, 6 },       { 12, 4, 4 },  { 13, 4, 4 },
    { 14, 5, 4 },  { 15, 5, 5 },  { 16, 4, 3 },  { 17, 1, KV_NONE }, { 18, 3, 3 },  { 19, 7, 5 },  { 20, 6, 4 },
    { 21, 2, 2 },  { 22, 4, 2 },  { 23, 4, 4 },  { 32, 4, 4 },  { 33, 2, 2 },       { 35, 2, 2 },  { 37, 3, 2 },
    { 42, 2, 2 },  { 43, 2, 2 },  { 44, 1, 1 },  { 45, 0, 0 },  { 46, 0, 0 },       { 47, 0, KV_NONE }, { 56, 0, 0 },
    { 60, 0, 0 },
};

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

START_TEST(t01_api_index)
{
    int nreq = 0;
    for (int k = 0; k < KZ_KAPI_MAX; k++) {
        const kz_kmsg *q = kz_kmsg_requests[k], *s = kz_kmsg_responses[k];
        int want = -1;
        for (size_t i = 0; i < N_(API28); i++)
            if (API28[i].key == k)
                want = (int)i;
        if (want < 0) {
            ck_assert_msg(!q && !s, "key %d is not in the 2.8 list of this table", k);
            continue;
        }
        ck_assert_msg(q && s, "key %d: request %p, response %p", k, (const void *)q, (const void *)s);
        nreq++;
        ck_assert_int_eq(q->api_key, k);
        ck_assert_int_eq(s->api_key, k);
        ck_assert_msg(ends_with(q->name, "Request") && ends_with(s->name, "Response"), "key %d: %s / %s", k,
                      q->name, s->name);
        ck_assert_msg(strncmp(q->name, s->name, strlen(q->name) - strlen("Request")) == 0, "%s vs %s", q->name,
                      s->name);
        ck_assert_msg(q->lo == 0 && s->lo == 0 && q->hi == API28[want].hi && s->hi == API28[want].hi,
                      "%s %d-%d / %s %d-%d, want 0-%d", q->name, q->lo, q->hi, s->name, s->lo, s->hi, API28[want].hi);
        ck_assert_msg(q->flex == API28[want].flex && s->flex == API28[want].flex, "%s flex %d / %s flex %d, want %d",
                      q->name, q->flex, s->name, s->flex, API28[want].flex);
        ck_assert_uint_ge(q->size, 1);
        ck_assert_uint_ge(s->size, 1);
    }
    ck_assert_int_eq(nreq, (int)N_(API28));
    for (size_t i = 0; i < N_(DATA_SCHEMAS); i++) {
        ck_assert_int_eq(DATA_SCHEMAS[i]->api_key, -1);
        ck_assert_int_eq(DATA_SCHEMAS[i]->flex, KV_NONE);
    }
    /* The __consumer_offsets key versions of NOTES.md section 10. */
    ck_assert(kz_kmsg_OffsetCommitKey.lo == 0 && kz_kmsg_OffsetCommitKey.hi == 1);
    ck_assert(kz_kmsg_GroupMetadataKey.lo == 2 && kz_kmsg_GroupMetadataKey.hi == 2);
    ck_assert(kz_kmsg_OffsetCommitValue.hi == 3 && kz_kmsg_GroupMetadataValue.hi == 3);
}
END_TEST

static size_t field_csize(const kz_kfield *f)
{
    switch ((kz_ktype)f->type) {
    case KZ_KT_BOOL: return sizeof(bool);
    case KZ_KT_I8: return 1;
    case KZ_KT_I16: case KZ_KT_U16: return 2;
    case KZ_KT_I32: return 4;
    case KZ_KT_I64: case KZ_KT_F64: return 8;
    case KZ_KT_UUID: return sizeof(kz_uuid);
    case KZ_KT_STR: case KZ_KT_BYTES: return sizeof(kz_str);
    case KZ_KT_RECS: return sizeof(kz_krecs);
    case KZ_KT_AI32: case KZ_KT_AI64: case KZ_KT_ASTR: case KZ_KT_ARR: return sizeof(kz_kvec);
    case KZ_KT_SUB: return f->sub->size;
    }
    return 0;
}

/* Checks @m (reached from top-level @top) and the structs below it. */
static void check_struct(const kz_kmsg *top, const kz_kmsg *m, int depth)
{
    ck_assert_msg(depth < 8, "%s: structs nest too deep (a cycle?)", top->name);
    ck_assert_ptr_nonnull(m->fields);
    ck_assert_ptr_null(m->fields[m->nfields].name); /* the sentinel */
    uint32_t end = 0;
    for (unsigned i = 0; i < m->nfields; i++) {
        const kz_kfield *f = &m->fields[i];
        const char *n = f->name;
        ck_assert_msg(n && *n, "%s: field %u has no name", m->name, i);
        for (const char *c = n; *c; c++)
            ck_assert_msg((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_', "%s.%s: not snake_case",
                          m->name, n);
        ck_assert_msg(f->type <= KZ_KT_SUB, "%s.%s: type %u", m->name, n, f->type);
        ck_assert_msg((f->type == KZ_KT_ARR || f->type == KZ_KT_SUB) == (f->sub != NULL), "%s.%s: sub", m->name, n);
        ck_assert_msg(f->off >= end && f->off + field_csize(f) <= m->size, "%s.%s: offset %u", m->name, n, f->off);
        end = f->off + (uint32_t)field_csize(f);
        ck_assert_msg(f->since >= 0 && f->since <= f->until, "%s.%s: versions %d-%d", m->name, n, f->since, f->until);
        /* Within the message's range: the top level's range for everything
         * reached from it (a nested struct has no range of its own). */
        ck_assert_msg(f->since <= top->hi && (f->until == KV_MAX || f->until <= top->hi), "%s.%s: %d-%d outside %s %d-%d",
                      m->name, n, f->since, f->until, top->name, top->lo, top->hi);
        if (m == top)
            ck_assert_msg(f->since >= top->lo, "%s.%s: since %d below %d", m->name, n, f->since, top->lo);
        ck_assert_msg(f->null_since == KV_NONE || f->null_since <= top->hi || f->tag >= 0, "%s.%s: null_since %d",
                      m->name, n, f->null_since);
        if (f->tag >= 0) {
            ck_assert_msg(top->flex != KV_NONE && f->since >= top->flex, "%s.%s: tag %d in non-flexible v%d of %s",
                          m->name, n, f->tag, f->since, top->name);
        } else {
            ck_assert_int_eq(f->tag, -1);
        }
        for (unsigned j = 0; j < i; j++) {
            ck_assert_msg(strcmp(m->fields[j].name, n) != 0, "%s.%s declared twice", m->name, n);
            ck_assert_msg(f->tag < 0 || m->fields[j].tag != f->tag, "%s.%s: tag %d used twice", m->name, n, f->tag);
        }
        if (f->sub) {
            ck_assert_int_eq(f->sub->api_key, -1);
            ck_assert_int_eq(f->sub->flex, KV_NONE);
            check_struct(top, f->sub, depth + 1);
        }
    }
}

/* An array element that encodes to no bytes at @ver would make a count
 * unbounded by the frame: every array present at a version has an element
 * with at least one present regular field (or, flexible, its tag section). */
static void check_elements(const kz_kmsg *top, const kz_kmsg *m, int16_t ver)
{
    for (unsigned i = 0; i < m->nfields; i++) {
        const kz_kfield *f = &m->fields[i];
        if (!present(f, ver) || !f->sub)
            continue;
        unsigned n = 0;
        for (unsigned j = 0; j < f->sub->nfields; j++)
            n += f->sub->fields[j].tag < 0 && present(&f->sub->fields[j], ver);
        ck_assert_msg(n > 0 || kz_kmsg_flexible(top, ver), "%s v%d: %s.%s elements are empty", top->name, ver, m->name,
                      f->name);
        check_elements(top, f->sub, ver);
    }
}

START_TEST(t02_field_ranges)
{
    int n = top_count();
    ck_assert_int_eq(n, 2 * (int)N_(API28) + (int)N_(DATA_SCHEMAS));
    for (int i = 0; i < n; i++) {
        const kz_kmsg *m = top_nth(i);
        ck_assert_msg(m->lo >= 0 && m->lo <= m->hi && m->hi < KV_MAX, "%s: %d-%d", m->name, m->lo, m->hi);
        check_struct(m, m, 0);
        for (int16_t v = m->lo; v <= m->hi; v++)
            check_elements(m, m, v);
    }
}
END_TEST

/* ============================================ 2. schema-driven round trip */

enum { FILL_NULLS, FILL_FULL, FILL_EMPTY, FILL__N };

typedef struct filler {
    kz_arena *a;
    uint32_t ctr;
    int mode;
} filler;

static const char *const SPOOL[] = { "orders", "a", "kz-\xc3\xbc", "__consumer_offsets", "x-0123456789-abcdefghijklmnop" };
static const uint8_t BPOOL[] = { 0x00, 0x01, 0x7f, 0x80, 0xff, 0x02, 0x00, 0x00, 0x00, 0x3d, 0xfe, 0x10, 0x20 };

static bool can_null(const kz_kfield *f, int16_t ver) { return f->tag >= 0 || ver >= f->null_since; }

static void fill_struct(filler *fl, const kz_kmsg *m, int16_t ver, uint8_t *out, bool as_default);

/* A number for @f: its default when @as_default, something else for a tagged
 * field (so that it is written), a value spreading over all bytes otherwise. */
static void fill_number(filler *fl, const kz_kfield *f, uint8_t *p, bool as_default)
{
    uint32_t c = fl->ctr++;
    int64_t v;
    if (as_default)
        v = f->def;
    else if (f->tag >= 0)
        v = f->def + 1 + (int64_t)(c % 50);
    else
        v = (int64_t)(0x9e3779b97f4a7c15ULL * (c + 1));
    switch ((kz_ktype)f->type) {
    case KZ_KT_BOOL: *(bool *)p = as_default ? f->def != 0 : f->tag >= 0 ? f->def == 0 : (c & 1); break;
    case KZ_KT_I8: *(int8_t *)p = (int8_t)v; break;
    case KZ_KT_I16: *(int16_t *)p = (int16_t)v; break;
    case KZ_KT_U16: *(uint16_t *)p = (uint16_t)v; break;
    case KZ_KT_I32: *(int32_t *)p = (int32_t)v; break;
    case KZ_KT_I64: *(int64_t *)p = v; break;
    case KZ_KT_F64: *(double *)p = as_default ? (double)f->def : (double)(v % 100000) + 0.25; break;
    default: ck_abort_msg("not a number");
    }
}

static kz_str fill_string(filler *fl, const kz_kfield *f, int16_t ver, bool as_default, bool bytes)
{
    if (as_default || (fl->mode == FILL_NULLS && can_null(f, ver)))
        return KZ_STR_NULL;
    if (fl->mode == FILL_EMPTY)
        return (kz_str){ "", 0 };
    uint32_t c = fl->ctr++;
    if (bytes)
        return (kz_str){ (const char *)BPOOL + c % 4, (int32_t)(N_(BPOOL) - c % 4 - c % 3) };
    return kz_str_c(SPOOL[c % N_(SPOOL)]);
}

static int32_t fill_count(filler *fl, const kz_kfield *f, int16_t ver, bool as_default)
{
    if (as_default || (f->tag >= 0 && fl->mode == FILL_NULLS))
        return 0;
    switch (fl->mode) {
    case FILL_NULLS: return ver >= f->null_since ? -1 : 1;
    case FILL_FULL: return 2;
    default: return 0;
    }
}

static void fill_field(filler *fl, const kz_kfield *f, int16_t ver, uint8_t *p, bool as_default)
{
    bool dflt = as_default || (f->tag >= 0 && fl->mode == FILL_NULLS);
    switch ((kz_ktype)f->type) {
    case KZ_KT_BOOL: case KZ_KT_I8: case KZ_KT_I16: case KZ_KT_U16:
    case KZ_KT_I32: case KZ_KT_I64: case KZ_KT_F64:
        fill_number(fl, f, p, dflt);
        break;
    case KZ_KT_UUID: {
        kz_uuid *u = (kz_uuid *)p;
        uint32_t c = fl->ctr++;
        for (int i = 0; i < 16; i++)
            u->b[i] = dflt ? 0 : (uint8_t)(c * 16 + (uint32_t)i * 7 + 1);
        break;
    }
    case KZ_KT_STR: *(kz_str *)p = fill_string(fl, f, ver, dflt, false); break;
    case KZ_KT_BYTES: *(kz_str *)p = fill_string(fl, f, ver, dflt, true); break;
    case KZ_KT_RECS: {
        kz_krecs *r = (kz_krecs *)p;
        memset(r, 0, sizeof *r);
        r->mem = fill_string(fl, f, ver, dflt, true);
        break;
    }
    case KZ_KT_AI32: case KZ_KT_AI64: case KZ_KT_ASTR: case KZ_KT_ARR: {
        kz_kvec *v = (kz_kvec *)p;
        v->n = fill_count(fl, f, ver, dflt);
        v->v = NULL;
        if (v->n <= 0)
            break;
        size_t esz = f->type == KZ_KT_AI32 ? 4 : f->type == KZ_KT_AI64 ? 8 : f->type == KZ_KT_ASTR ? sizeof(kz_str)
                                                                                                  : f->sub->size;
        uint8_t *e = kz_arena_alloc(fl->a, (size_t)v->n * esz);
        ck_assert_ptr_nonnull(e);
        v->v = e;
        for (int32_t i = 0; i < v->n; i++, e += esz) {
            uint32_t c = fl->ctr++;
            if (f->type == KZ_KT_AI32)
                *(int32_t *)e = (int32_t)(0x9e3779b9u * (c + 1));
            else if (f->type == KZ_KT_AI64)
                *(int64_t *)e = (int64_t)(0xc2b2ae3d27d4eb4fULL * (c + 1));
            else if (f->type == KZ_KT_ASTR)
                *(kz_str *)e = kz_str_c(SPOOL[c % N_(SPOOL)]);
            else
                fill_struct(fl, f->sub, ver, e, false);
        }
        break;
    }
    case KZ_KT_SUB: fill_struct(fl, f->sub, ver, p, dflt); break;
    }
}

/* Fills the fields of @m present at @ver (the others stay zero). */
static void fill_struct(filler *fl, const kz_kmsg *m, int16_t ver, uint8_t *out, bool as_default)
{
    for (unsigned i = 0; i < m->nfields; i++)
        if (present(&m->fields[i], ver))
            fill_field(fl, &m->fields[i], ver, out + m->fields[i].off, as_default);
}

static void cmp_struct(const kz_kmsg *top, const kz_kmsg *m, int16_t ver, const uint8_t *a, const uint8_t *b);

/* Whether the present fields of two structs hold the same values. */
static void cmp_field(const kz_kmsg *top, const kz_kmsg *m, const kz_kfield *f, int16_t ver, const uint8_t *a,
                      const uint8_t *b)
{
    const char *tn = top->name, *mn = m->name, *fn = f->name;
    switch ((kz_ktype)f->type) {
    case KZ_KT_BOOL:
        ck_assert_msg(*(const bool *)a == *(const bool *)b, "%s v%d %s.%s", tn, ver, mn, fn);
        break;
    case KZ_KT_I8: case KZ_KT_I16: case KZ_KT_U16: case KZ_KT_I32: case KZ_KT_I64: case KZ_KT_F64:
    case KZ_KT_UUID:
        ck_assert_msg(memcmp(a, b, field_csize(f)) == 0, "%s v%d %s.%s", tn, ver, mn, fn);
        break;
    case KZ_KT_STR: case KZ_KT_BYTES:
        ck_assert_msg(kz_str_eq(*(const kz_str *)a, *(const kz_str *)b), "%s v%d %s.%s: len %d vs %d", tn, ver, mn,
                      fn, ((const kz_str *)a)->len, ((const kz_str *)b)->len);
        break;
    case KZ_KT_RECS:
        ck_assert_msg(kz_str_eq(((const kz_krecs *)a)->mem, ((const kz_krecs *)b)->mem), "%s v%d %s.%s", tn, ver, mn,
                      fn);
        break;
    case KZ_KT_AI32: case KZ_KT_AI64: case KZ_KT_ASTR: case KZ_KT_ARR: {
        const kz_kvec *x = (const kz_kvec *)a, *y = (const kz_kvec *)b;
        ck_assert_msg(x->n == y->n, "%s v%d %s.%s: %d vs %d elements", tn, ver, mn, fn, x->n, y->n);
        size_t esz = f->type == KZ_KT_AI32 ? 4 : f->type == KZ_KT_AI64 ? 8 : f->type == KZ_KT_ASTR ? sizeof(kz_str)
                                                                                                  : f->sub->size;
        for (int32_t i = 0; i < x->n; i++) {
            const uint8_t *ea = (const uint8_t *)x->v + (size_t)i * esz, *eb = (const uint8_t *)y->v + (size_t)i * esz;
            if (f->type == KZ_KT_ASTR)
                ck_assert_msg(kz_str_eq(*(const kz_str *)ea, *(const kz_str *)eb), "%s v%d %s.%s[%d]", tn, ver, mn, fn,
                              i);
            else if (f->type == KZ_KT_ARR)
                cmp_struct(top, f->sub, ver, ea, eb);
            else
                ck_assert_msg(memcmp(ea, eb, esz) == 0, "%s v%d %s.%s[%d]", tn, ver, mn, fn, i);
        }
        break;
    }
    case KZ_KT_SUB: cmp_struct(top, f->sub, ver, a, b); break;
    }
}

static void cmp_struct(const kz_kmsg *top, const kz_kmsg *m, int16_t ver, const uint8_t *a, const uint8_t *b)
{
    for (unsigned i = 0; i < m->nfields; i++)
        if (present(&m->fields[i], ver))
            cmp_field(top, m, &m->fields[i], ver, a + m->fields[i].off, b + m->fields[i].off);
}

START_TEST(t03_roundtrip)
{
    const kz_kmsg *m = top_nth(_i);
    ck_assert_ptr_nonnull(m);
    for (int16_t ver = m->lo; ver <= m->hi; ver++) {
        for (int mode = 0; mode < FILL__N; mode++) {
            kz_arena a = KZ_ARENA_INIT;
            uint8_t *in = calloc(1, m->size);
            ck_assert_ptr_nonnull(in);
            filler fl = { &a, (uint32_t)(ver * 7 + mode), mode };
            fill_struct(&fl, m, ver, in, false);

            kz_wr w1 = enc(m, ver, in);
            if (kz_kmsg_flexible(m, ver) && mode == FILL_NULLS) /* every tagged field at its default */
                ck_assert_msg(w1.len >= 1 && w1.base[w1.len - 1] == 0x00,
                              "%s v%d: a flexible message ends with its (empty) tagged section", m->name, ver);
            decoded d = dec_all(m, ver, w1.base, w1.len, &a);
            cmp_struct(m, m, ver, in, d.msg);
            kz_wr w2 = enc(m, ver, d.msg);
            char what[96];
            snprintf(what, sizeof what, "%s v%d mode %d re-encoded", m->name, ver, mode);
            bytes_eq(what, w2.base, w2.len, w1.base, w1.len);
            prefixes_fail(m, ver, w1.base, w1.len);

            kz_wr_free(&w2);
            kz_wr_free(&w1);
            decoded_free(&d);
            free(in);
            kz_arena_reset(&a);
        }
    }
}
END_TEST

/* Modes differ: nulls shorten the encoding of a version with nullable
 * fields, full arrays lengthen it. A sanity check that the filler fills. */
START_TEST(t04_fill_modes_differ)
{
    kz_arena a = KZ_ARENA_INIT;
    size_t len[FILL__N];
    for (int mode = 0; mode < FILL__N; mode++) {
        kz_MetadataResponse mr;
        memset(&mr, 0, sizeof mr);
        filler fl = { &a, 0, mode };
        fill_struct(&fl, &kz_kmsg_MetadataResponse, 9, (uint8_t *)&mr, false);
        if (mode == FILL_NULLS) {
            ck_assert_int_eq(mr.cluster_id.len, -1);
            ck_assert_int_eq(mr.brokers.n, 1);
        } else if (mode == FILL_FULL) {
            ck_assert_int_eq(mr.topics.n, 2);
            ck_assert_int_eq(mr.topics.v[1].partitions.n, 2);
        }
        kz_wr w = enc(&kz_kmsg_MetadataResponse, 9, &mr);
        len[mode] = w.len;
        kz_wr_free(&w);
    }
    ck_assert_uint_lt(len[FILL_EMPTY], len[FILL_NULLS]);
    ck_assert_uint_lt(len[FILL_NULLS], len[FILL_FULL]);
    kz_arena_reset(&a);
}
END_TEST

/* ====================== 3. flexible versions, written by hand (NOTES 1-3) */

/* ApiVersionsRequest v3: compact strings, then the empty tagged section. */
static const char V_APIVER_REQ3[] = "\x05kcat" "\x06" "1.7.1" "\x00";

static void h_apiver_req3(const void *p)
{
    const kz_ApiVersionsRequest *m = p;
    STR_IS(m->client_software_name, "kcat");
    STR_IS(m->client_software_version, "1.7.1");
}

/* MetadataRequest v9: topics [{t1}] (compact count 2, name, element tags),
 * allow_auto_topic_creation, include_cluster_authorized_operations (8-10),
 * include_topic_authorized_operations, tags. */
static const char V_META_REQ9[] = "\x02" "\x03t1" "\x00" "\x01" "\x00" "\x01" "\x00";
/* The same with unknown tags in the element (tag 7: 1 byte) and at the top
 * level (tags 0 and 5): skipped when read, not written back. */
static const char V_META_REQ9_TAGS[] = "\x02" "\x03t1" "\x01\x07\x01\xff" "\x01" "\x00" "\x01"
                                       "\x02\x00\x00\x05\x02\xab\xcd";

static void h_meta_req9(const void *p)
{
    const kz_MetadataRequest *m = p;
    ck_assert_int_eq(m->topics.n, 1);
    STR_IS(m->topics.v[0].name, "t1");
    ck_assert(m->allow_auto_topic_creation && !m->include_cluster_authorized_operations);
    ck_assert(m->include_topic_authorized_operations);
}

/* MetadataRequest v10: a topic by id with a null name (compact null 0x00). */
static const char V_META_REQ10[] = "\x02"
                                   "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10"
                                   "\x00" "\x00" "\x01" "\x00" "\x00" "\x00";

static void h_meta_req10(const void *p)
{
    const kz_MetadataRequest *m = p;
    ck_assert_int_eq(m->topics.n, 1);
    for (int i = 0; i < 16; i++)
        ck_assert_uint_eq(m->topics.v[0].topic_id.b[i], i + 1);
    IS_NULL(m->topics.v[0].name);
    ck_assert(m->allow_auto_topic_creation && !m->include_topic_authorized_operations);
}

/* CreateTopicsResponse v5: one topic with error 40, a message, the tagged
 * TopicConfigErrorCode (tag 0, 2 bytes) in the topic's section, then
 * num_partitions, replication_factor and one config. */
static const char V_CT_RESP5[] = "\x00\x00\x00\x00"                    /* throttle_time_ms */
                                 "\x02" "\x07orders" "\x00\x28"        /* topics: name, error_code */
                                 "\x0b" "bad config"                   /* error_message */
                                 "\x00\x00\x00\x03" "\x00\x02"         /* num_partitions, replication_factor */
                                 "\x02" "\x0f" "cleanup.policy" "\x08" "compact" "\x00" "\x05" "\x00" "\x00"
                                 "\x01" "\x00\x02\x00\x28"             /* tag 0, size 2, 40 */
                                 "\x00";

static void h_ct_resp5(const void *p)
{
    const kz_CreateTopicsResponse *m = p;
    ck_assert_int_eq(m->throttle_time_ms, 0);
    ck_assert_int_eq(m->topics.n, 1);
    const kz_CreatableTopicResult *t = m->topics.v;
    STR_IS(t->name, "orders");
    ck_assert_int_eq(t->error_code, 40);
    STR_IS(t->error_message, "bad config");
    ck_assert_int_eq(t->topic_config_error_code, 40);
    ck_assert(t->num_partitions == 3 && t->replication_factor == 2);
    ck_assert_int_eq(t->configs.n, 1);
    STR_IS(t->configs.v[0].name, "cleanup.policy");
    STR_IS(t->configs.v[0].value, "compact");
    ck_assert(!t->configs.v[0].read_only && t->configs.v[0].config_source == 5 && !t->configs.v[0].is_sensitive);
}

/* FetchRequest v12: one partition with last_fetched_epoch, empty forgotten
 * topics, empty rack, and ClusterId as top-level tag 0 (size 23: a compact
 * string of 22 bytes). */
#define V_FETCH12_BODY                                                                                            \
    "\xff\xff\xff\xff" "\x00\x00\x01\xf4" "\x00\x00\x00\x01" "\x03\x20\x00\x00" "\x00" "\x00\x00\x00\x00"        \
    "\xff\xff\xff\xff" "\x02" "\x07orders" "\x02" "\x00\x00\x00\x00" "\x00\x00\x00\x05"                          \
    "\x00\x00\x00\x00\x00\x00\x00\x2a" "\x00\x00\x00\x04" "\xff\xff\xff\xff\xff\xff\xff\xff" "\x00\x10\x00\x00"  \
    "\x00" "\x00" "\x01" "\x01"
static const char V_FETCH_REQ12[] = V_FETCH12_BODY "\x01\x00\x17\x17" "AbCdEfGhIjKlMnOpQrStUv";
static const char V_FETCH_REQ12_NOID[] = V_FETCH12_BODY "\x00";

static void h_fetch_req12_common(const kz_FetchRequest *m)
{
    ck_assert(m->replica_id == -1 && m->max_wait_ms == 500 && m->min_bytes == 1 && m->max_bytes == 52428800);
    ck_assert(m->isolation_level == 0 && m->session_id == 0 && m->session_epoch == -1);
    ck_assert_int_eq(m->topics.n, 1);
    STR_IS(m->topics.v[0].topic, "orders");
    ck_assert_int_eq(m->topics.v[0].partitions.n, 1);
    const kz_FetchPartition *q = m->topics.v[0].partitions.v;
    ck_assert(q->partition == 0 && q->current_leader_epoch == 5 && q->fetch_offset == 42);
    ck_assert(q->last_fetched_epoch == 4 && q->log_start_offset == -1 && q->partition_max_bytes == 1048576);
    ck_assert_int_eq(m->forgotten_topics_data.n, 0);
    STR_IS(m->rack_id, "");
}

static void h_fetch_req12(const void *p)
{
    h_fetch_req12_common(p);
    STR_IS(((const kz_FetchRequest *)p)->cluster_id, "AbCdEfGhIjKlMnOpQrStUv");
}

static void h_fetch_req12_noid(const void *p)
{
    h_fetch_req12_common(p);
    IS_NULL(((const kz_FetchRequest *)p)->cluster_id);
}

/* FetchResponse v12: a partition with a null aborted list, empty records and
 * the tagged struct CurrentLeader (tag 1: leader 2, epoch 7, its own empty
 * tagged section: 9 bytes). */
static const char V_FETCH_RESP12[] = "\x00\x00\x00\x00" "\x00\x00" "\x00\x00\x12\x34"
                                     "\x02" "\x07orders" "\x02" "\x00\x00\x00\x00" "\x00\x06"
                                     "\x00\x00\x00\x00\x00\x00\x00\x64" "\x00\x00\x00\x00\x00\x00\x00\x64"
                                     "\x00\x00\x00\x00\x00\x00\x00\x00" "\x00" "\xff\xff\xff\xff" "\x01"
                                     "\x01" "\x01\x09" "\x00\x00\x00\x02" "\x00\x00\x00\x07" "\x00"
                                     "\x00" "\x00";

static void h_fetch_resp12(const void *p)
{
    const kz_FetchResponse *m = p;
    ck_assert(m->throttle_time_ms == 0 && m->error_code == 0 && m->session_id == 0x1234);
    ck_assert_int_eq(m->responses.n, 1);
    ck_assert_int_eq(m->responses.v[0].partition_responses.n, 1);
    const kz_FetchablePartitionResponse *r = m->responses.v[0].partition_responses.v;
    ck_assert(r->partition == 0 && r->error_code == 6 && r->high_watermark == 100 && r->last_stable_offset == 100);
    ck_assert(r->log_start_offset == 0 && r->preferred_read_replica == -1);
    ck_assert_int_eq(r->aborted_transactions.n, -1);
    ck_assert_int_eq(r->record_set.mem.len, 0);
    ck_assert(r->current_leader.leader_id == 2 && r->current_leader.leader_epoch == 7);
    ck_assert(r->diverging_epoch.epoch == -1 && r->diverging_epoch.end_offset == -1); /* absent: defaults */
    ck_assert(r->snapshot_id.end_offset == -1 && r->snapshot_id.epoch == -1);
}

/* ApiVersionsResponse v3 (header v0, body flexible): one key, then tags 0
 * (supported features), 1 (finalized epoch 5) and 2 (finalized features). */
static const char V_APIVER_RESP3[] = "\x00\x00" "\x02" "\x00\x12\x00\x00\x00\x03\x00" "\x00\x00\x00\x00"
                                     "\x03"
                                     "\x00\x08" "\x02\x02" "f" "\x00\x01\x00\x02\x00"
                                     "\x01\x08" "\x00\x00\x00\x00\x00\x00\x00\x05"
                                     "\x02\x08" "\x02\x02" "f" "\x00\x02\x00\x01\x00";

static void h_apiver_resp3(const void *p)
{
    const kz_ApiVersionsResponse *m = p;
    ck_assert(m->error_code == 0 && m->throttle_time_ms == 0);
    ck_assert_int_eq(m->api_keys.n, 1);
    ck_assert(m->api_keys.v[0].api_key == 18 && m->api_keys.v[0].min_version == 0 && m->api_keys.v[0].max_version == 3);
    ck_assert_int_eq(m->supported_features.n, 1);
    STR_IS(m->supported_features.v[0].name, "f");
    ck_assert(m->supported_features.v[0].min_version == 1 && m->supported_features.v[0].max_version == 2);
    ck_assert_int_eq(m->finalized_features_epoch, 5);
    ck_assert_int_eq(m->finalized_features.n, 1);
    STR_IS(m->finalized_features.v[0].name, "f");
    ck_assert(m->finalized_features.v[0].max_version_level == 2 && m->finalized_features.v[0].min_version_level == 1);
}

/* JoinGroupResponse v7 as an error answer: null protocol type and name
 * (nullable from v7), empty leader, no members. */
static const char V_JOIN_RESP7[] = "\x00\x00\x00\x00" "\x00\x19" "\xff\xff\xff\xff" "\x00" "\x00" "\x01"
                                   "\x02m" "\x01" "\x00";

static void h_join_resp7(const void *p)
{
    const kz_JoinGroupResponse *m = p;
    ck_assert(m->throttle_time_ms == 0 && m->error_code == 25 && m->generation_id == -1);
    IS_NULL(m->protocol_type);
    IS_NULL(m->protocol_name);
    STR_IS(m->leader, "");
    STR_IS(m->member_id, "m");
    ck_assert_int_eq(m->members.n, 0);
}

typedef void golden_fn(const void *msg);
typedef struct hand {
    const char *name;
    const kz_kmsg *m;
    int16_t ver;
    const char *bytes;
    size_t len;
    const char *canon; /* what re-encoding gives when not @bytes (unknown tags dropped) */
    size_t canon_len;
    golden_fn *check;
} hand;
#define HV(name, m, ver, lit, check) { name, m, ver, lit, sizeof(lit) - 1, lit, sizeof(lit) - 1, check }

static const hand HAND[] = {
    HV("ApiVersionsRequest v3", &kz_kmsg_ApiVersionsRequest, 3, V_APIVER_REQ3, h_apiver_req3),
    HV("MetadataRequest v9", &kz_kmsg_MetadataRequest, 9, V_META_REQ9, h_meta_req9),
    { "MetadataRequest v9, unknown tags", &kz_kmsg_MetadataRequest, 9, V_META_REQ9_TAGS, sizeof V_META_REQ9_TAGS - 1,
      V_META_REQ9, sizeof V_META_REQ9 - 1, h_meta_req9 },
    HV("MetadataRequest v10", &kz_kmsg_MetadataRequest, 10, V_META_REQ10, h_meta_req10),
    HV("CreateTopicsResponse v5", &kz_kmsg_CreateTopicsResponse, 5, V_CT_RESP5, h_ct_resp5),
    HV("FetchRequest v12", &kz_kmsg_FetchRequest, 12, V_FETCH_REQ12, h_fetch_req12),
    HV("FetchRequest v12, no cluster id", &kz_kmsg_FetchRequest, 12, V_FETCH_REQ12_NOID, h_fetch_req12_noid),
    HV("FetchResponse v12", &kz_kmsg_FetchResponse, 12, V_FETCH_RESP12, h_fetch_resp12),
    HV("ApiVersionsResponse v3", &kz_kmsg_ApiVersionsResponse, 3, V_APIVER_RESP3, h_apiver_resp3),
    HV("JoinGroupResponse v7", &kz_kmsg_JoinGroupResponse, 7, V_JOIN_RESP7, h_join_resp7),
};

START_TEST(t06_flexible_vectors)
{
    const hand *h = &HAND[_i];
    kz_arena a = KZ_ARENA_INIT;
    decoded d = dec_all(h->m, h->ver, (const uint8_t *)h->bytes, h->len, &a);
    h->check(d.msg);
    kz_wr w = enc(h->m, h->ver, d.msg);
    bytes_eq(h->name, w.base, w.len, (const uint8_t *)h->canon, h->canon_len);
    prefixes_fail(h->m, h->ver, (const uint8_t *)h->bytes, h->len);
    kz_wr_free(&w);
    decoded_free(&d);
    kz_arena_reset(&a);
}
END_TEST

/* The same bytes from structs built in code: a tagged field is written only
 * when it differs from its default (null cluster id: no tag at all). */
START_TEST(t07_flexible_from_structs)
{
    kz_ApiVersionsRequest av;
    memset(&av, 0, sizeof av);
    av.client_software_name = kz_str_c("kcat");
    av.client_software_version = kz_str_c("1.7.1");
    kz_wr w = enc(&kz_kmsg_ApiVersionsRequest, 3, &av);
    bytes_eq("ApiVersionsRequest v3", w.base, w.len, (const uint8_t *)V_APIVER_REQ3, sizeof V_APIVER_REQ3 - 1);
    kz_wr_free(&w);
    w = enc(&kz_kmsg_ApiVersionsRequest, 2, &av); /* v0-2 have no body */
    ck_assert_uint_eq(w.len, 0);
    kz_wr_free(&w);

    kz_FetchPartition fp = { .partition = 0, .current_leader_epoch = 5, .fetch_offset = 42, .last_fetched_epoch = 4,
                             .log_start_offset = -1, .partition_max_bytes = 1048576 };
    kz_FetchTopic ft;
    memset(&ft, 0, sizeof ft);
    ft.topic = kz_str_c("orders");
    ft.partitions.n = 1;
    ft.partitions.v = &fp;
    kz_FetchRequest fr;
    memset(&fr, 0, sizeof fr);
    fr.replica_id = -1;
    fr.max_wait_ms = 500;
    fr.min_bytes = 1;
    fr.max_bytes = 52428800;
    fr.session_epoch = -1;
    fr.topics.n = 1;
    fr.topics.v = &ft;
    fr.rack_id = kz_str_c("");
    fr.cluster_id = KZ_STR_NULL;
    w = enc(&kz_kmsg_FetchRequest, 12, &fr);
    bytes_eq("FetchRequest v12 without cluster id", w.base, w.len, (const uint8_t *)V_FETCH_REQ12_NOID,
             sizeof V_FETCH_REQ12_NOID - 1);
    kz_wr_free(&w);
    fr.cluster_id = kz_str_c("AbCdEfGhIjKlMnOpQrStUv");
    w = enc(&kz_kmsg_FetchRequest, 12, &fr);
    bytes_eq("FetchRequest v12 with cluster id", w.base, w.len, (const uint8_t *)V_FETCH_REQ12,
             sizeof V_FETCH_REQ12 - 1);
    kz_wr_free(&w);

    kz_CreatableTopicResult tr;
    memset(&tr, 0, sizeof tr);
    tr.name = kz_str_c("orders");
    tr.error_code = 40;
    tr.error_message = kz_str_c("bad config");
    tr.topic_config_error_code = 40;
    tr.num_partitions = 3;
    tr.replication_factor = 2;
    kz_CreatableTopicConfigs cfg = { .name = kz_str_c("cleanup.policy"), .value = kz_str_c("compact"),
                                     .config_source = 5 };
    tr.configs.n = 1;
    tr.configs.v = &cfg;
    kz_CreateTopicsResponse ctr;
    memset(&ctr, 0, sizeof ctr);
    ctr.topics.n = 1;
    ctr.topics.v = &tr;
    w = enc(&kz_kmsg_CreateTopicsResponse, 5, &ctr);
    bytes_eq("CreateTopicsResponse v5", w.base, w.len, (const uint8_t *)V_CT_RESP5, sizeof V_CT_RESP5 - 1);
    kz_wr_free(&w);
    /* At its default (0) the tag disappears: the topic's section shrinks from
     * 01 00 02 00 28 to 00. */
    tr.topic_config_error_code = 0;
    w = enc(&kz_kmsg_CreateTopicsResponse, 5, &ctr);
    ck_assert_uint_eq(w.len, sizeof V_CT_RESP5 - 1 - 4);
    ck_assert_uint_eq(w.base[w.len - 2], 0x00);
    kz_wr_free(&w);
}
END_TEST

/* ================================================== 4. corrupt input */

/* Decodes @p/@n and expects @want (an error) with a small arena. */
static void expect_rc(const char *what, const kz_kmsg *m, int16_t ver, const void *p, size_t n, int want)
{
    kz_arena a = KZ_ARENA_INIT;
    void *out = malloc(m->size);
    ck_assert_ptr_nonnull(out);
    int rc = dec(m, ver, p, n, out, &a, NULL);
    ck_assert_msg(rc == want, "%s: rc %d, want %d", what, rc, want);
    ck_assert_msg(a.cap <= 1 << 20, "%s: arena grew to %zu bytes", what, a.cap);
    free(out);
    kz_arena_reset(&a);
}
#define EXPECT_RC(m, ver, lit, want) expect_rc(#m " v" #ver ": " #lit, &kz_kmsg_##m, ver, lit, sizeof(lit) - 1, want)

/* Returns a copy of a fixture with the 4 bytes at @off set to @v. */
static blob patched32(const char *file, size_t off, uint32_t v)
{
    blob b = fixture_load(file);
    ck_assert_uint_ge(b.n, off + 4);
    kz_store_be32(b.p + off, v);
    return b;
}

START_TEST(t08_huge_counts)
{
    /* metadata_resp_v5: throttle (4 bytes), then the broker count. */
    static const uint32_t counts[] = { 0x7fffffffu, 0x10000000u, 0x00100000u, 3 };
    for (size_t i = 0; i < N_(counts); i++) {
        blob b = patched32("metadata_resp_v5", 4, counts[i]);
        kz_arena a = KZ_ARENA_INIT;
        kz_MetadataResponse mr;
        int rc = dec(&kz_kmsg_MetadataResponse, 5, b.p, b.n, &mr, &a, NULL);
        ck_assert_msg(rc == KZ_ECORRUPT || (counts[i] == 3 && rc == KZ_ESHORT), "count %u: rc %d", counts[i], rc);
        ck_assert_uint_le(a.cap, 1 << 20);
        kz_arena_reset(&a);
        free(b.p);
    }
    /* list_offsets_resp_v0: topics(4) name(2+6) partitions(4) index(4) error(2), then the []int64 count. */
    blob b = patched32("list_offsets_resp_v0", 22, 0x40000000u);
    expect_rc("[]int64 count 2^30", &kz_kmsg_ListOffsetsResponse, 0, b.p, b.n, KZ_ECORRUPT);
    free(b.p);
    b = patched32("list_offsets_resp_v0", 22, 3); /* 16 bytes left cannot hold 3 offsets */
    expect_rc("[]int64 count 3 of 2", &kz_kmsg_ListOffsetsResponse, 0, b.p, b.n, KZ_ECORRUPT);
    free(b.p);

    /* Compact counts (uvarint N+1): INT32_MAX and UINT32_MAX elements. */
    EXPECT_RC(MetadataRequest, 9, "\xff\xff\xff\xff\x07" "\x03t1\x00\x01\x00\x00\x00", KZ_ECORRUPT);
    EXPECT_RC(MetadataRequest, 9, "\xff\xff\xff\xff\x0f" "\x03t1\x00\x01\x00\x00\x00", KZ_ECORRUPT);
    EXPECT_RC(MetadataRequest, 9, "\x80\x80\x80\x40" "\x03t1\x00\x01\x00\x00\x00", KZ_ECORRUPT);
    /* A tagged section claiming 2^32-1 fields, and a tag longer than the frame. */
    EXPECT_RC(ApiVersionsRequest, 3, "\x02" "a" "\x02" "b" "\xff\xff\xff\xff\x0f", KZ_ECORRUPT);
    EXPECT_RC(ApiVersionsRequest, 3, "\x02" "a" "\x02" "b" "\x01\x00\x10" "ab", KZ_ESHORT);
    EXPECT_RC(ApiVersionsRequest, 3, "\x02" "a" "\x02" "b" "\x01\x00\xff\xff\xff\xff\x0f", KZ_ESHORT);
    /* A known tag whose value runs past its declared size. */
    EXPECT_RC(FetchRequest, 12, V_FETCH12_BODY "\x01\x00\x02\x17" "AbCdEfGhIjKlMnOpQrStUv", KZ_ESHORT);
}
END_TEST

START_TEST(t09_negative_lengths_and_nulls)
{
    /* Classic forms: int16 string length, int32 array/bytes/records length. */
    EXPECT_RC(MetadataRequest, 1, "\x00\x00\x00\x01" "\xff\xfe", KZ_ECORRUPT);         /* string -2 */
    EXPECT_RC(MetadataRequest, 1, "\x00\x00\x00\x01" "\xff\xff", KZ_ECORRUPT);         /* null, never nullable here */
    EXPECT_RC(MetadataRequest, 1, "\x00\x00\x00\x01" "\x80\x00", KZ_ECORRUPT);         /* -32768 */
    EXPECT_RC(MetadataRequest, 1, "\xff\xff\xff\xfe", KZ_ECORRUPT);                    /* array -2 */
    EXPECT_RC(MetadataRequest, 1, "\x80\x00\x00\x00", KZ_ECORRUPT);                    /* array INT32_MIN */
    EXPECT_RC(MetadataRequest, 0, "\xff\xff\xff\xff", KZ_ECORRUPT);                    /* null array before v1 */
    EXPECT_RC(MetadataRequest, 1, "\xff\xff\xff\xff", KZ_OK);                          /* ...allowed from v1 */
    EXPECT_RC(MetadataRequest, 1, "\x00\x00\x00\x01" "\x00\x05" "ab", KZ_ESHORT);      /* string past the end */
    EXPECT_RC(SaslHandshakeRequest, 0, "\xff\xff", KZ_ECORRUPT);
    EXPECT_RC(SyncGroupResponse, 0, "\x00\x00" "\xff\xff\xff\xfb", KZ_ECORRUPT);       /* bytes -5 */
    EXPECT_RC(SyncGroupResponse, 0, "\x00\x00" "\xff\xff\xff\xff", KZ_ECORRUPT);       /* null bytes */
    EXPECT_RC(SyncGroupResponse, 0, "\x00\x00" "\x7f\xff\xff\xff" "ab", KZ_ESHORT);    /* bytes INT32_MAX */
    /* Produce v3 records: -1 is null (allowed), -2 corrupt. */
    EXPECT_RC(ProduceRequest, 3, "\xff\xff" "\xff\xff" "\x00\x00\x00\x01" "\x00\x00\x00\x01" "\x00\x01t"
                                 "\x00\x00\x00\x01" "\x00\x00\x00\x00" "\xff\xff\xff\xff", KZ_OK);
    EXPECT_RC(ProduceRequest, 3, "\xff\xff" "\xff\xff" "\x00\x00\x00\x01" "\x00\x00\x00\x01" "\x00\x01t"
                                 "\x00\x00\x00\x01" "\x00\x00\x00\x00" "\xff\xff\xff\xfe", KZ_ECORRUPT);
    /* Compact forms: a null name before it may be null, a length that does
     * not fit in int32, a 6-byte varint. */
    EXPECT_RC(MetadataRequest, 9, "\x02" "\x00" "\x00" "\x01\x00\x00\x00", KZ_ECORRUPT);
    EXPECT_RC(MetadataRequest, 10, "\x02" "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0" "\x00" "\x00" "\x01\x00\x00\x00",
              KZ_OK);
    EXPECT_RC(MetadataRequest, 9, "\x02" "\xff\xff\xff\xff\x0f" "\x00" "\x01\x00\x00\x00", KZ_ECORRUPT);
    EXPECT_RC(MetadataRequest, 9, "\x02" "\xff\xff\xff\xff\xff\x01" "\x00" "\x01\x00\x00\x00", KZ_ECORRUPT);
    EXPECT_RC(MetadataRequest, 9, "\x00" "\x01\x00\x00\x00", KZ_OK);                   /* null topics */
    EXPECT_RC(CreateTopicsRequest, 5, "\x00" "\x00\x00\x75\x30" "\x00" "\x00", KZ_ECORRUPT); /* null, not nullable */
    /* Nothing at all where a field is due. */
    EXPECT_RC(HeartbeatResponse, 1, "", KZ_ESHORT);
    EXPECT_RC(ApiVersionsRequest, 3, "", KZ_ESHORT);
}
END_TEST

/* A []string holds non-nullable strings: Kafka's readers refuse a null
 * element ("non-nullable field ... element was serialized as null"), in the
 * classic (int16 -1) and the compact (uvarint 0) form. */
START_TEST(t10_null_string_element)
{
    EXPECT_RC(DescribeGroupsRequest, 0, "\x00\x00\x00\x02" "\x00\x02g1" "\xff\xff", KZ_ECORRUPT);
    EXPECT_RC(DescribeGroupsRequest, 5, "\x03" "\x03g1" "\x00" "\x00" "\x00", KZ_ECORRUPT);
    EXPECT_RC(DescribeGroupsRequest, 0, "\x00\x00\x00\x02" "\x00\x02g1" "\x00\x00", KZ_OK); /* empty is fine */
}
END_TEST

/* Deterministic garbage and mutated valid encodings for every schema and
 * version: only KZ_OK / KZ_ESHORT / KZ_ECORRUPT, never a crash; whatever
 * decodes re-encodes to bytes that decode again to the same encoding. */
START_TEST(t11_random_bytes)
{
    const kz_kmsg *m = top_nth(_i);
    rnd_state = 0x9e3779b97f4a7c15ULL ^ (uint64_t)(_i + 1);
    uint8_t buf[96];
    void *out = malloc(m->size);
    ck_assert_ptr_nonnull(out);
    for (int16_t ver = m->lo; ver <= m->hi; ver++) {
        kz_arena fa = KZ_ARENA_INIT;
        uint8_t *in = calloc(1, m->size);
        ck_assert_ptr_nonnull(in);
        filler fl = { &fa, (uint32_t)ver, FILL_FULL };
        fill_struct(&fl, m, ver, in, false);
        kz_wr valid = enc(m, ver, in);
        for (int k = 0; k < 96; k++) {
            size_t n;
            const uint8_t *p;
            if (k % 2 == 0) { /* garbage, mostly small values so counts stay plausible */
                n = (size_t)(rnd() % sizeof buf);
                for (size_t j = 0; j < n; j++)
                    buf[j] = rnd() % 4 == 0 ? (uint8_t)rnd() : (uint8_t)(rnd() % 3);
                p = buf;
            } else { /* a valid encoding with 1-3 bytes changed */
                n = valid.len;
                for (int j = 0, c = 1 + (int)(rnd() % 3); j < c && n; j++)
                    valid.base[rnd() % n] ^= (uint8_t)(1 + rnd() % 255);
                p = valid.base;
            }
            kz_arena a = KZ_ARENA_INIT;
            size_t used = 0;
            int rc = dec(m, ver, p, n, out, &a, &used);
            if (rc == KZ_OK) {
                kz_arena_reset(&a);
                uint8_t *copy = dup_exact(p, n);
                kz_rd r = kz_rd_init(copy, n);
                ck_assert_int_eq(kz_kmsg_decode(m, ver, &r, out, &a), KZ_OK);
                kz_wr w1 = enc(m, ver, out);
                decoded d = dec_all(m, ver, w1.base, w1.len, &a);
                kz_wr w2 = enc(m, ver, d.msg);
                bytes_eq(m->name, w2.base, w2.len, w1.base, w1.len);
                kz_wr_free(&w2);
                kz_wr_free(&w1);
                decoded_free(&d);
                free(copy);
            }
            kz_arena_reset(&a);
            if (k % 2 == 1) { /* restore the valid encoding */
                kz_wr_free(&valid);
                valid = enc(m, ver, in);
            }
        }
        kz_wr_free(&valid);
        free(in);
        kz_arena_reset(&fa);
    }
    free(out);
}
END_TEST

/* ============================================================== suite */

static Suite *kmsg_suite(void)
{
    Suite *s = suite_create("kmsg");
    TCase *tc = tcase_create("schema");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, t01_api_index);
    tcase_add_test(tc, t02_field_ranges);
    tcase_add_loop_test(tc, t03_roundtrip, 0, top_count());
    tcase_add_test(tc, t04_fill_modes_differ);
    tcase_add_loop_test(tc, t06_flexible_vectors, 0, (int)N_(HAND));
    tcase_add_test(tc, t07_flexible_from_structs);
    tcase_add_test(tc, t08_huge_counts);
    tcase_add_test(tc, t09_negative_lengths_and_nulls);
    tcase_add_test(tc, t10_null_string_element);
    tcase_add_loop_test(tc, t11_random_bytes, 0, top_count());
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(kmsg_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
