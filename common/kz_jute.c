/* common/kz_jute.c -- the jute schema engine (see kz_jute.h). */
#include "kz_jute.h"

#include <stdbool.h>

static size_t kz_jute_elem_size(uint8_t t, const kz_jrec *rec)
{
    switch (t) {
    case KZ_JT_BOOL: return sizeof(bool);
    case KZ_JT_BYTE: return sizeof(int8_t);
    case KZ_JT_INT: return sizeof(int32_t);
    case KZ_JT_LONG: return sizeof(int64_t);
    case KZ_JT_STR: return sizeof(kz_str);
    case KZ_JT_REC: return rec->size;
    default: return 0;
    }
}

/* Smallest number of wire bytes one element can take: bounds vector counts. */
static size_t kz_jute_min_wire(uint8_t t, const kz_jrec *rec)
{
    switch (t) {
    case KZ_JT_BOOL:
    case KZ_JT_BYTE: return 1;
    case KZ_JT_INT:
    case KZ_JT_STR:
    case KZ_JT_VEC: return 4;
    case KZ_JT_LONG: return 8;
    case KZ_JT_REC: {
        size_t n = 0;
        for (uint32_t i = 0; i < rec->nfields; i++)
            n += kz_jute_min_wire(rec->fields[i].type, rec->fields[i].rec);
        return n ? n : 1;
    }
    default: return 1;
    }
}

static int kz_jute_decode_value(uint8_t t, const kz_jrec *rec, kz_rd *r, void *dst, kz_arena *a);

static int kz_jute_decode_vec(const kz_jfield *f, kz_rd *r, kz_jvec *v, kz_arena *a)
{
    int32_t n = kz_rd_i32(r);
    if (r->err)
        return r->err;
    v->n = n;
    v->v = NULL;
    if (n < 0) {
        if (n != -1)
            return r->err = KZ_ECORRUPT;
        return KZ_OK;
    }
    if ((size_t)n > kz_rd_left(r) / kz_jute_min_wire(f->elem, f->rec))
        return r->err = KZ_ECORRUPT;
    size_t esz = kz_jute_elem_size(f->elem, f->rec);
    if (n == 0)
        return KZ_OK;
    char *arr = kz_arena_alloc(a, esz * (size_t)n);
    if (!arr)
        return KZ_ENOMEM;
    for (int32_t i = 0; i < n; i++) {
        int rc = kz_jute_decode_value(f->elem, f->rec, r, arr + esz * (size_t)i, a);
        if (rc)
            return rc;
    }
    v->v = arr;
    return KZ_OK;
}

static int kz_jute_decode_value(uint8_t t, const kz_jrec *rec, kz_rd *r, void *dst, kz_arena *a)
{
    switch (t) {
    case KZ_JT_BOOL: *(bool *)dst = kz_rd_u8(r) != 0; break;
    case KZ_JT_BYTE: *(int8_t *)dst = (int8_t)kz_rd_u8(r); break;
    case KZ_JT_INT: *(int32_t *)dst = kz_rd_i32(r); break;
    case KZ_JT_LONG: *(int64_t *)dst = kz_rd_i64(r); break;
    case KZ_JT_STR: *(kz_str *)dst = kz_rd_str(r); break;
    case KZ_JT_REC: return kz_jute_decode(rec, r, dst, a);
    default: return r->err = KZ_ECORRUPT;
    }
    return r->err;
}

int kz_jute_decode(const kz_jrec *s, kz_rd *r, void *out, kz_arena *a)
{
    memset(out, 0, s->size);
    for (uint32_t i = 0; i < s->nfields; i++) {
        const kz_jfield *f = &s->fields[i];
        void *dst = (char *)out + f->off;
        int rc = f->type == KZ_JT_VEC ? kz_jute_decode_vec(f, r, dst, a)
                                      : kz_jute_decode_value(f->type, f->rec, r, dst, a);
        if (rc)
            return rc;
    }
    return r->err;
}

static void kz_jute_encode_value(uint8_t t, const kz_jrec *rec, const void *src, kz_wr *w)
{
    switch (t) {
    case KZ_JT_BOOL: kz_wr_u8(w, *(const bool *)src ? 1 : 0); break;
    case KZ_JT_BYTE: kz_wr_u8(w, (uint8_t) * (const int8_t *)src); break;
    case KZ_JT_INT: kz_wr_i32(w, *(const int32_t *)src); break;
    case KZ_JT_LONG: kz_wr_i64(w, *(const int64_t *)src); break;
    case KZ_JT_STR: kz_wr_str(w, *(const kz_str *)src); break;
    case KZ_JT_REC: kz_jute_encode(rec, src, w); break;
    default: break;
    }
}

void kz_jute_encode(const kz_jrec *s, const void *in, kz_wr *w)
{
    for (uint32_t i = 0; i < s->nfields; i++) {
        const kz_jfield *f = &s->fields[i];
        const char *src = (const char *)in + f->off;
        if (f->type != KZ_JT_VEC) {
            kz_jute_encode_value(f->type, f->rec, src, w);
            continue;
        }
        const kz_jvec *v = (const kz_jvec *)src;
        kz_wr_i32(w, v->n < 0 ? -1 : v->n);
        size_t esz = kz_jute_elem_size(f->elem, f->rec);
        for (int32_t k = 0; k < v->n; k++)
            kz_jute_encode_value(f->elem, f->rec, (const char *)v->v + esz * (size_t)k, w);
    }
}

static size_t kz_jute_value_size(uint8_t t, const kz_jrec *rec, const void *src)
{
    switch (t) {
    case KZ_JT_BOOL:
    case KZ_JT_BYTE: return 1;
    case KZ_JT_INT: return 4;
    case KZ_JT_LONG: return 8;
    case KZ_JT_STR: {
        const kz_str *s = src;
        return 4 + (s->len > 0 ? (size_t)s->len : 0);
    }
    case KZ_JT_REC: return kz_jute_size(rec, src);
    default: return 0;
    }
}

size_t kz_jute_size(const kz_jrec *s, const void *in)
{
    size_t n = 0;
    for (uint32_t i = 0; i < s->nfields; i++) {
        const kz_jfield *f = &s->fields[i];
        const char *src = (const char *)in + f->off;
        if (f->type != KZ_JT_VEC) {
            n += kz_jute_value_size(f->type, f->rec, src);
            continue;
        }
        const kz_jvec *v = (const kz_jvec *)src;
        size_t esz = kz_jute_elem_size(f->elem, f->rec);
        n += 4;
        for (int32_t k = 0; k < v->n; k++)
            n += kz_jute_value_size(f->elem, f->rec, (const char *)v->v + esz * (size_t)k);
    }
    return n;
}
