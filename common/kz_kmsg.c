/* common/kz_kmsg.c -- the engine that walks kz_kmsg schema tables (see kz_kmsg.h).
 *
 * One decoder and one encoder for every Kafka message and version: a field's
 * presence, nullability and encoding are read from its kz_kfield entry and
 * the version at hand, never from per-message code.
 * Locality: none. */
#include "kz_kmsg.h"

#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------ helpers */

static bool kmsg_present(const kz_kfield *f, int16_t ver) { return ver >= f->since && ver <= f->until; }

/* Whether null is ever allowed for @f: decides what an absent field holds. */
static bool kmsg_ever_nullable(const kz_kfield *f) { return f->null_since != KV_NONE; }

static void kmsg_wr_str16(kz_wr *w, kz_str s)
{
    if (s.len > INT16_MAX) /* Kafka refuses longer strings; never emit a wrong length */
        s.len = INT16_MAX;
    kz_wr_i16(w, s.len < 0 ? -1 : (int16_t)s.len);
    if (s.len > 0)
        kz_wr_bytes(w, s.s, (size_t)s.len);
}

/* Smallest encoding of one struct of @m at @ver: bounds array counts. */
static size_t kmsg_min_size(const kz_kmsg *m, int16_t ver, bool flex)
{
    size_t n = flex ? 1 : 0; /* the tagged-field count */
    for (unsigned i = 0; i < m->nfields; i++) {
        const kz_kfield *f = &m->fields[i];
        if (f->tag >= 0 || !kmsg_present(f, ver))
            continue;
        switch ((kz_ktype)f->type) {
        case KZ_KT_BOOL: case KZ_KT_I8: n += 1; break;
        case KZ_KT_I16: case KZ_KT_U16: n += 2; break;
        case KZ_KT_I32: n += 4; break;
        case KZ_KT_I64: case KZ_KT_F64: n += 8; break;
        case KZ_KT_UUID: n += 16; break;
        case KZ_KT_STR: n += flex ? 1 : 2; break;
        case KZ_KT_BYTES: case KZ_KT_RECS:
        case KZ_KT_AI32: case KZ_KT_AI64: case KZ_KT_ASTR: case KZ_KT_ARR:
            n += flex ? 1 : 4;
            break;
        case KZ_KT_SUB: n += kmsg_min_size(f->sub, ver, flex); break;
        }
    }
    return n ? n : 1;
}

static size_t kmsg_elem_size(const kz_kfield *f)
{
    switch ((kz_ktype)f->type) {
    case KZ_KT_AI32: return sizeof(int32_t);
    case KZ_KT_AI64: return sizeof(int64_t);
    case KZ_KT_ASTR: return sizeof(kz_str);
    case KZ_KT_ARR: return f->sub->size;
    default: return 0;
    }
}

static size_t kmsg_elem_min(const kz_kfield *f, int16_t ver, bool flex)
{
    switch ((kz_ktype)f->type) {
    case KZ_KT_AI32: return 4;
    case KZ_KT_AI64: return 8;
    case KZ_KT_ASTR: return flex ? 1 : 2;
    case KZ_KT_ARR: return kmsg_min_size(f->sub, ver, flex);
    default: return 1;
    }
}

/* ------------------------------------------------------------ decode */

static int kmsg_dec_struct(const kz_kmsg *m, int16_t ver, bool flex, kz_rd *r, uint8_t *out, kz_arena *a);

/* The value of an absent field (or of a tagged one before its tag is seen). */
static void kmsg_set_default(const kz_kfield *f, int16_t ver, bool flex, uint8_t *p)
{
    switch ((kz_ktype)f->type) {
    case KZ_KT_BOOL: *(bool *)p = f->def != 0; break;
    case KZ_KT_I8: *(int8_t *)p = (int8_t)f->def; break;
    case KZ_KT_I16: *(int16_t *)p = (int16_t)f->def; break;
    case KZ_KT_U16: *(uint16_t *)p = (uint16_t)f->def; break;
    case KZ_KT_I32: *(int32_t *)p = (int32_t)f->def; break;
    case KZ_KT_I64: *(int64_t *)p = f->def; break;
    case KZ_KT_F64: *(double *)p = (double)f->def; break;
    case KZ_KT_UUID: break;
    case KZ_KT_STR: case KZ_KT_BYTES:
        *(kz_str *)p = kmsg_ever_nullable(f) || f->tag >= 0 ? KZ_STR_NULL : (kz_str){ "", 0 };
        break;
    case KZ_KT_RECS:
        ((kz_krecs *)p)->mem = KZ_STR_NULL;
        break;
    case KZ_KT_AI32: case KZ_KT_AI64: case KZ_KT_ASTR: case KZ_KT_ARR:
        ((kz_kvec *)p)->n = kmsg_ever_nullable(f) ? -1 : 0;
        break;
    case KZ_KT_SUB:
        for (unsigned i = 0; i < f->sub->nfields; i++)
            kmsg_set_default(&f->sub->fields[i], ver, flex, p + f->sub->fields[i].off);
        break;
    }
}

static int kmsg_dec_field(const kz_kfield *f, int16_t ver, bool flex, kz_rd *r, uint8_t *p, kz_arena *a)
{
    bool nullable = ver >= f->null_since || f->tag >= 0;
    switch ((kz_ktype)f->type) {
    case KZ_KT_BOOL: *(bool *)p = kz_rd_u8(r) != 0; break;
    case KZ_KT_I8: *(int8_t *)p = (int8_t)kz_rd_u8(r); break;
    case KZ_KT_I16: *(int16_t *)p = kz_rd_i16(r); break;
    case KZ_KT_U16: *(uint16_t *)p = (uint16_t)kz_rd_i16(r); break;
    case KZ_KT_I32: *(int32_t *)p = kz_rd_i32(r); break;
    case KZ_KT_I64: *(int64_t *)p = kz_rd_i64(r); break;
    case KZ_KT_F64: {
        uint64_t bits = (uint64_t)kz_rd_i64(r);
        memcpy(p, &bits, sizeof(double));
        break;
    }
    case KZ_KT_UUID: {
        const uint8_t *b = kz_rd_take(r, 16);
        if (b)
            memcpy(p, b, 16);
        break;
    }
    case KZ_KT_STR: case KZ_KT_BYTES: case KZ_KT_RECS: {
        kz_str s;
        if (flex)
            s = kz_rd_compact_str(r);
        else
            s = f->type == KZ_KT_STR ? kz_rd_str16(r) : kz_rd_str(r);
        if (r->err)
            return r->err;
        if (s.len < 0 && !nullable)
            return KZ_ECORRUPT;
        if (f->type == KZ_KT_RECS)
            ((kz_krecs *)p)->mem = s;
        else
            *(kz_str *)p = s;
        break;
    }
    case KZ_KT_AI32: case KZ_KT_AI64: case KZ_KT_ASTR: case KZ_KT_ARR: {
        size_t min = kmsg_elem_min(f, ver, flex);
        int32_t n;
        if (flex) {
            n = kz_rd_compact_count(r, min);
        } else {
            n = kz_rd_i32(r);
            if (!r->err && (n < -1 || (n > 0 && (size_t)n > kz_rd_left(r) / min)))
                return KZ_ECORRUPT;
        }
        if (r->err)
            return r->err;
        kz_kvec *v = (kz_kvec *)p;
        v->n = n;
        v->v = NULL;
        if (n < 0) {
            if (!nullable)
                return KZ_ECORRUPT;
            break;
        }
        if (n == 0)
            break;
        size_t esz = kmsg_elem_size(f);
        uint8_t *e = kz_arena_alloc(a, (size_t)n * esz);
        if (!e)
            return KZ_ENOMEM;
        v->v = e;
        for (int32_t i = 0; i < n; i++, e += esz) {
            switch ((kz_ktype)f->type) {
            case KZ_KT_AI32: *(int32_t *)e = kz_rd_i32(r); break;
            case KZ_KT_AI64: *(int64_t *)e = kz_rd_i64(r); break;
            case KZ_KT_ASTR:
                *(kz_str *)e = flex ? kz_rd_compact_str(r) : kz_rd_str16(r);
                if (!r->err && ((kz_str *)e)->len < 0) /* an element is never null */
                    return KZ_ECORRUPT;
                break;
            default: {
                int rc = kmsg_dec_struct(f->sub, ver, flex, r, e, a);
                if (rc)
                    return rc;
            }
            }
            if (r->err)
                return r->err;
        }
        break;
    }
    case KZ_KT_SUB:
        return kmsg_dec_struct(f->sub, ver, flex, r, p, a);
    }
    return r->err;
}

/* The tagged-field section: known tags are decoded from a cursor limited to
 * their size, unknown ones skipped. */
static int kmsg_dec_tags(const kz_kmsg *m, int16_t ver, kz_rd *r, uint8_t *out, kz_arena *a)
{
    uint32_t n = kz_rd_uvarint(r);
    if (!r->err && n > kz_rd_left(r) / 2)
        return KZ_ECORRUPT;
    for (uint32_t i = 0; i < n && !r->err; i++) {
        uint32_t tag = kz_rd_uvarint(r);
        uint32_t size = kz_rd_uvarint(r);
        const uint8_t *v = kz_rd_take(r, size);
        if (!v)
            break;
        for (unsigned j = 0; j < m->nfields; j++) {
            const kz_kfield *f = &m->fields[j];
            if (f->tag < 0 || (uint32_t)f->tag != tag || !kmsg_present(f, ver))
                continue;
            kz_rd sub = kz_rd_init(v, size);
            int rc = kmsg_dec_field(f, ver, true, &sub, out + f->off, a);
            if (rc)
                return rc;
            break;
        }
    }
    return r->err;
}

static int kmsg_dec_struct(const kz_kmsg *m, int16_t ver, bool flex, kz_rd *r, uint8_t *out, kz_arena *a)
{
    for (unsigned i = 0; i < m->nfields; i++) {
        const kz_kfield *f = &m->fields[i];
        uint8_t *p = out + f->off;
        if (f->tag >= 0 || !kmsg_present(f, ver)) {
            kmsg_set_default(f, ver, flex, p);
            continue;
        }
        int rc = kmsg_dec_field(f, ver, flex, r, p, a);
        if (rc)
            return rc;
    }
    return flex ? kmsg_dec_tags(m, ver, r, out, a) : r->err;
}

int kz_kmsg_decode(const kz_kmsg *m, int16_t ver, kz_rd *r, void *out, kz_arena *a)
{
    memset(out, 0, m->size);
    if (r->err)
        return r->err;
    return kmsg_dec_struct(m, ver, kz_kmsg_flexible(m, ver), r, out, a);
}

/* ------------------------------------------------------------ encode */

typedef struct kmsg_enc {
    kz_wr *w;
    kz_khole_fn *hole;
    void *ctx;
} kmsg_enc;

static void kmsg_enc_struct(const kz_kmsg *m, int16_t ver, bool flex, const uint8_t *in, kmsg_enc *e);

/* Whether a tagged field holds its default, in which case it is not written. */
static bool kmsg_is_default(const kz_kfield *f, const uint8_t *p)
{
    switch ((kz_ktype)f->type) {
    case KZ_KT_BOOL: return *(const bool *)p == (f->def != 0);
    case KZ_KT_I8: return *(const int8_t *)p == (int8_t)f->def;
    case KZ_KT_I16: return *(const int16_t *)p == (int16_t)f->def;
    case KZ_KT_U16: return *(const uint16_t *)p == (uint16_t)f->def;
    case KZ_KT_I32: return *(const int32_t *)p == (int32_t)f->def;
    case KZ_KT_I64: return *(const int64_t *)p == f->def;
    case KZ_KT_F64: return *(const double *)p == (double)f->def;
    case KZ_KT_UUID: {
        static const kz_uuid zero;
        return memcmp(p, &zero, sizeof zero) == 0;
    }
    case KZ_KT_STR: case KZ_KT_BYTES: return ((const kz_str *)p)->len < 0;
    case KZ_KT_RECS: return ((const kz_krecs *)p)->mem.len < 0 && ((const kz_krecs *)p)->flen <= 0;
    case KZ_KT_AI32: case KZ_KT_AI64: case KZ_KT_ASTR: case KZ_KT_ARR:
        return ((const kz_kvec *)p)->n <= 0;
    case KZ_KT_SUB:
        for (unsigned i = 0; i < f->sub->nfields; i++)
            if (!kmsg_is_default(&f->sub->fields[i], p + f->sub->fields[i].off))
                return false;
        return true;
    }
    return true;
}

/* Records from a file: the length prefix here, the bytes through the hole
 * callback, or copied with pread when the caller wants one buffer. */
static void kmsg_enc_file_recs(const kz_krecs *rc, bool flex, kmsg_enc *e)
{
    if (flex)
        kz_wr_uvarint(e->w, (uint32_t)rc->flen + 1);
    else
        kz_wr_i32(e->w, (int32_t)rc->flen);
    if (e->hole) {
        e->hole(e->ctx, e->w->len, rc);
        return;
    }
    uint8_t *dst = kz_wr_reserve(e->w, (size_t)rc->flen);
    if (!dst)
        return;
    if (pread(rc->fd, dst, (size_t)rc->flen, (off_t)rc->foff) != (ssize_t)rc->flen) {
        e->w->err = KZ_ESHORT;
        return;
    }
    e->w->len += (size_t)rc->flen;
}

static void kmsg_enc_field(const kz_kfield *f, int16_t ver, bool flex, const uint8_t *p, kmsg_enc *e)
{
    kz_wr *w = e->w;
    bool nullable = ver >= f->null_since || f->tag >= 0;
    switch ((kz_ktype)f->type) {
    case KZ_KT_BOOL: kz_wr_u8(w, *(const bool *)p ? 1 : 0); break;
    case KZ_KT_I8: kz_wr_u8(w, (uint8_t)*(const int8_t *)p); break;
    case KZ_KT_I16: kz_wr_i16(w, *(const int16_t *)p); break;
    case KZ_KT_U16: kz_wr_i16(w, (int16_t)*(const uint16_t *)p); break;
    case KZ_KT_I32: kz_wr_i32(w, *(const int32_t *)p); break;
    case KZ_KT_I64: kz_wr_i64(w, *(const int64_t *)p); break;
    case KZ_KT_F64: {
        uint64_t bits;
        memcpy(&bits, p, sizeof bits);
        kz_wr_i64(w, (int64_t)bits);
        break;
    }
    case KZ_KT_UUID: kz_wr_bytes(w, p, 16); break;
    case KZ_KT_STR: case KZ_KT_BYTES: case KZ_KT_RECS: {
        if (f->type == KZ_KT_RECS && ((const kz_krecs *)p)->flen > 0) {
            kmsg_enc_file_recs((const kz_krecs *)p, flex, e);
            break;
        }
        kz_str s = f->type == KZ_KT_RECS ? ((const kz_krecs *)p)->mem : *(const kz_str *)p;
        if (s.len < 0 && !nullable)
            s = (kz_str){ "", 0 };
        if (flex)
            kz_wr_compact_str(w, s);
        else if (f->type == KZ_KT_STR)
            kmsg_wr_str16(w, s);
        else
            kz_wr_str(w, s);
        break;
    }
    case KZ_KT_AI32: case KZ_KT_AI64: case KZ_KT_ASTR: case KZ_KT_ARR: {
        const kz_kvec *v = (const kz_kvec *)p;
        int32_t n = v->n < 0 && !nullable ? 0 : v->n;
        if (flex)
            kz_wr_compact_count(w, n);
        else
            kz_wr_i32(w, n < 0 ? -1 : n);
        size_t esz = kmsg_elem_size(f);
        const uint8_t *el = v->v;
        for (int32_t i = 0; i < n; i++, el += esz) {
            switch ((kz_ktype)f->type) {
            case KZ_KT_AI32: kz_wr_i32(w, *(const int32_t *)el); break;
            case KZ_KT_AI64: kz_wr_i64(w, *(const int64_t *)el); break;
            case KZ_KT_ASTR:
                if (flex)
                    kz_wr_compact_str(w, *(const kz_str *)el);
                else
                    kmsg_wr_str16(w, *(const kz_str *)el);
                break;
            default: kmsg_enc_struct(f->sub, ver, flex, el, e); break;
            }
        }
        break;
    }
    case KZ_KT_SUB:
        kmsg_enc_struct(f->sub, ver, flex, p, e);
        break;
    }
}

/* Tagged fields that differ from their default, in increasing tag order.
 * Each value is encoded apart first, since its size precedes it. */
static void kmsg_enc_tags(const kz_kmsg *m, int16_t ver, const uint8_t *in, kmsg_enc *e)
{
    uint32_t count = 0;
    for (unsigned i = 0; i < m->nfields; i++) {
        const kz_kfield *f = &m->fields[i];
        if (f->tag >= 0 && kmsg_present(f, ver) && !kmsg_is_default(f, in + f->off))
            count++;
    }
    kz_wr_uvarint(e->w, count);
    int32_t last = -1;
    for (uint32_t k = 0; k < count; k++) {
        const kz_kfield *next = NULL;
        for (unsigned i = 0; i < m->nfields; i++) {
            const kz_kfield *f = &m->fields[i];
            if (f->tag > last && kmsg_present(f, ver) && !kmsg_is_default(f, in + f->off) &&
                (!next || f->tag < next->tag))
                next = f;
        }
        if (!next)
            break;
        last = next->tag;
        kz_wr tmp = KZ_WR_INIT;
        kmsg_enc sub = { &tmp, NULL, NULL }; /* no holes inside a tagged value */
        kmsg_enc_field(next, ver, true, in + next->off, &sub);
        kz_wr_uvarint(e->w, (uint32_t)next->tag);
        kz_wr_uvarint(e->w, (uint32_t)tmp.len);
        kz_wr_bytes(e->w, tmp.base, tmp.len);
        if (tmp.err)
            e->w->err = tmp.err;
        kz_wr_free(&tmp);
    }
}

static void kmsg_enc_struct(const kz_kmsg *m, int16_t ver, bool flex, const uint8_t *in, kmsg_enc *e)
{
    for (unsigned i = 0; i < m->nfields; i++) {
        const kz_kfield *f = &m->fields[i];
        if (f->tag < 0 && kmsg_present(f, ver))
            kmsg_enc_field(f, ver, flex, in + f->off, e);
    }
    if (flex)
        kmsg_enc_tags(m, ver, in, e);
}

void kz_kmsg_encode_holes(const kz_kmsg *m, int16_t ver, const void *in, kz_wr *w,
                          kz_khole_fn *hole, void *ctx)
{
    kmsg_enc e = { w, hole, ctx };
    kmsg_enc_struct(m, ver, kz_kmsg_flexible(m, ver), in, &e);
}

void kz_kmsg_encode(const kz_kmsg *m, int16_t ver, const void *in, kz_wr *w)
{
    kz_kmsg_encode_holes(m, ver, in, w, NULL, NULL);
}

/* ------------------------------------------------------------ headers */

int kz_kreq_peek(const uint8_t *p, size_t n, int16_t *key, int16_t *ver, int32_t *corr)
{
    if (n < 8)
        return -1;
    *key = (int16_t)kz_load_be16(p);
    *ver = (int16_t)kz_load_be16(p + 2);
    *corr = (int32_t)kz_load_be32(p + 4);
    return 0;
}

int kz_kreq_hdr_decode(kz_rd *r, int hdr_ver, kz_kreq_hdr *h)
{
    h->api_key = kz_rd_i16(r);
    h->api_version = kz_rd_i16(r);
    h->corr_id = kz_rd_i32(r);
    h->client_id = KZ_STR_NULL;
    if (hdr_ver >= 1)
        h->client_id = kz_rd_str16(r);
    if (hdr_ver >= 2)
        kz_rd_tags_skip(r);
    return r->err;
}

void kz_kreq_hdr_encode(kz_wr *w, int hdr_ver, const kz_kreq_hdr *h)
{
    kz_wr_i16(w, h->api_key);
    kz_wr_i16(w, h->api_version);
    kz_wr_i32(w, h->corr_id);
    if (hdr_ver >= 1)
        kmsg_wr_str16(w, h->client_id);
    if (hdr_ver >= 2)
        kz_wr_tags_empty(w);
}

int kz_kreq_hdr_version(const kz_kmsg *req, int16_t ver)
{
    if (req->api_key == 7 && ver == 0) /* ControlledShutdown v0 predates client ids */
        return 0;
    return kz_kmsg_flexible(req, ver) ? 2 : 1;
}

int kz_kresp_hdr_version(const kz_kmsg *resp, int16_t ver)
{
    if (resp->api_key == 18) /* ApiVersions: always v0, so any client can read it (KIP-511) */
        return 0;
    return kz_kmsg_flexible(resp, ver) ? 1 : 0;
}

void kz_kresp_hdr_encode(kz_wr *w, int hdr_ver, int32_t corr_id)
{
    kz_wr_i32(w, corr_id);
    if (hdr_ver >= 1)
        kz_wr_tags_empty(w);
}

int kz_kresp_hdr_decode(kz_rd *r, int hdr_ver, int32_t *corr_id)
{
    *corr_id = kz_rd_i32(r);
    if (hdr_ver >= 1)
        kz_rd_tags_skip(r);
    return r->err;
}
