/* common/kz_buf.c -- growable writer and bump arena (see kz_buf.h). */
#include "kz_buf.h"

#include <stdlib.h>

uint32_t kz_rd_tags_skip(kz_rd *r)
{
    uint32_t n = kz_rd_uvarint(r);
    if (r->err)
        return 0;
    if (n > kz_rd_left(r) / 2) {
        r->err = KZ_ECORRUPT;
        return 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        (void)kz_rd_uvarint(r); /* tag: unknown here, ignored (as Kafka keeps unknown tags aside) */
        uint32_t size = kz_rd_uvarint(r);
        if (!kz_rd_take(r, size))
            return 0;
    }
    return r->err ? 0 : n;
}

uint8_t *kz_wr_reserve(kz_wr *w, size_t n)
{
    if (w->err)
        return NULL;
    if (w->cap - w->len < n) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap - w->len < n) {
            if (cap > SIZE_MAX / 2) {
                w->err = KZ_ENOMEM;
                return NULL;
            }
            cap *= 2;
        }
        uint8_t *nb = realloc(w->base, cap);
        if (!nb) {
            w->err = KZ_ENOMEM;
            return NULL;
        }
        w->base = nb;
        w->cap = cap;
    }
    return w->base + w->len;
}

void kz_wr_free(kz_wr *w)
{
    free(w->base);
    *w = KZ_WR_INIT;
}

uint8_t *kz_wr_steal(kz_wr *w, size_t *len)
{
    uint8_t *b = w->base;
    if (len)
        *len = w->len;
    *w = KZ_WR_INIT;
    return b;
}

struct kz_arena_chunk {
    kz_arena_chunk *next;
    size_t cap;
    _Alignas(16) unsigned char mem[];
};

void *kz_arena_alloc(kz_arena *a, size_t n)
{
    /* Rounding up and the chunk header must not wrap around. */
    if (n > SIZE_MAX / 2)
        return NULL;
    n = (n + 15) & ~(size_t)15;
    if (!a->head || a->cap - a->used < n) {
        size_t cap = n > 4096 ? n : 4096;
        kz_arena_chunk *c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->next = a->head;
        c->cap = cap;
        a->head = c;
        a->used = 0;
        a->cap = cap;
    }
    void *p = a->head->mem + a->used;
    a->used += n;
    memset(p, 0, n);
    return p;
}

kz_str kz_arena_strdup(kz_arena *a, kz_str s)
{
    if (s.len < 0)
        return KZ_STR_NULL;
    char *p = kz_arena_alloc(a, (size_t)s.len + 1);
    if (!p)
        return KZ_STR_NULL;
    if (s.len)
        memcpy(p, s.s, (size_t)s.len);
    p[s.len] = '\0';
    return (kz_str){ p, s.len };
}

void kz_arena_reset(kz_arena *a)
{
    kz_arena_chunk *c = a->head;
    while (c) {
        kz_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    *a = KZ_ARENA_INIT;
}

void kz_arena_rewind(kz_arena *a)
{
    kz_arena_chunk *keep = a->head;
    if (!keep)
        return;
    kz_arena_chunk *c = keep->next;
    while (c) {
        kz_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    keep->next = NULL;
    a->used = 0;
    a->cap = keep->cap;
}
