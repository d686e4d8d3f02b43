/* common/kz_buf.h -- bounded read cursor with a sticky error, growable writer,
 * byte strings, and a bump arena for decoded records.
 *
 * Reading: every accessor checks the bytes left; on a short read it sets
 * r->err (sticky), returns 0 and never moves past r->end. Decode every field,
 * then test r->err once.
 * Kafka forms (varints, compact strings/bytes/arrays, tagged fields) follow
 * the same rules: truncated input is KZ_ESHORT, an impossible encoding or a
 * count that cannot fit in the bytes left is KZ_ECORRUPT.
 * Writing: kz_wr grows with realloc; an allocation failure sets w->err and
 * later writes are dropped, so the caller also checks once at the end.
 * Locality: none (plain values; callers own them). */
#ifndef KZ_BUF_H
#define KZ_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kz_wire.h"

enum { KZ_OK = 0, KZ_ESHORT = -1, KZ_ECORRUPT = -2, KZ_ENOMEM = -3, KZ_ETOOBIG = -4 };

/* A byte string that may be null (len < 0), as jute ustring/buffer are.
 * Not NUL-terminated unless the producer says so. */
typedef struct kz_str {
    const char *s;
    int32_t len;
} kz_str;

#define KZ_STR_NULL ((kz_str){ NULL, -1 })
#define KZ_STR_LIT(lit) ((kz_str){ (lit), (int32_t)(sizeof(lit) - 1) })
static inline kz_str kz_str_c(const char *s)
{
    return s ? (kz_str){ s, (int32_t)strlen(s) } : KZ_STR_NULL;
}
static inline bool kz_str_eq(kz_str a, kz_str b)
{
    return a.len == b.len && (a.len <= 0 || memcmp(a.s, b.s, (size_t)a.len) == 0);
}

typedef struct kz_rd {
    const uint8_t *p, *end;
    int err;
} kz_rd;

/* @p may be NULL when @len is 0 (an empty payload): NULL + 0 is undefined. */
static inline kz_rd kz_rd_init(const void *p, size_t len)
{
    const uint8_t *b = p;
    return (kz_rd){ b, b ? b + len : b, 0 };
}
static inline size_t kz_rd_left(const kz_rd *r) { return (size_t)(r->end - r->p); }

/* Returns a pointer to the next @n bytes and consumes them, or NULL (error set). */
static inline const uint8_t *kz_rd_take(kz_rd *r, size_t n)
{
    if (r->err)
        return NULL; /* keep the first error (KZ_ECORRUPT stays corrupt) */
    if ((size_t)(r->end - r->p) < n) {
        r->err = KZ_ESHORT;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    return p;
}
static inline uint8_t kz_rd_u8(kz_rd *r)
{
    const uint8_t *p = kz_rd_take(r, 1);
    return p ? p[0] : 0;
}
static inline int16_t kz_rd_i16(kz_rd *r)
{
    const uint8_t *p = kz_rd_take(r, 2);
    return p ? (int16_t)kz_load_be16(p) : 0;
}
static inline int32_t kz_rd_i32(kz_rd *r)
{
    const uint8_t *p = kz_rd_take(r, 4);
    return p ? (int32_t)kz_load_be32(p) : 0;
}
static inline int64_t kz_rd_i64(kz_rd *r)
{
    const uint8_t *p = kz_rd_take(r, 8);
    return p ? (int64_t)kz_load_be64(p) : 0;
}
/* The bytes of a string whose length @n was just read: -1 is null, other negatives are
 * corrupt. Nothing is read after an error. */
static inline kz_str kz_rd_str_body(kz_rd *r, int32_t n)
{
    if (r->err || n == -1)
        return KZ_STR_NULL;
    if (n < -1) {
        r->err = KZ_ECORRUPT;
        return KZ_STR_NULL;
    }
    const uint8_t *p = kz_rd_take(r, (size_t)n);
    return p ? (kz_str){ (const char *)p, n } : KZ_STR_NULL;
}

/* int32 length + bytes; length -1 is null; other negatives are corrupt. */
static inline kz_str kz_rd_str(kz_rd *r) { return kz_rd_str_body(r, kz_rd_i32(r)); }

/* Kafka STRING: int16 length + bytes; length -1 is null; other negatives are corrupt. */
static inline kz_str kz_rd_str16(kz_rd *r) { return kz_rd_str_body(r, kz_rd_i16(r)); }

/* ------------------------------------------- Kafka varints (see kz_wire.h) */

/* An unsigned varint of @bits (32 or 64). Truncated: KZ_ESHORT; longer than
 * the width allows or with bits above it: KZ_ECORRUPT. On error returns 0
 * and the cursor does not move. */
static inline uint64_t kz_rd_uvarint_bits(kz_rd *r, unsigned bits)
{
    if (r->err)
        return 0;
    if (r->p != r->end && r->p[0] < 0x80) /* the common one-byte case */
        return *r->p++;
    uint64_t v = 0;
    int n = kz_load_uvarint(r->p, kz_rd_left(r), bits, &v);
    if (n <= 0) {
        r->err = n == 0 ? KZ_ESHORT : KZ_ECORRUPT;
        return 0;
    }
    r->p += n;
    return v;
}
/* Kafka readUnsignedVarint: up to 5 bytes. */
static inline uint32_t kz_rd_uvarint(kz_rd *r) { return (uint32_t)kz_rd_uvarint_bits(r, 32); }
/* Unsigned varlong: up to 10 bytes. */
static inline uint64_t kz_rd_uvarlong(kz_rd *r) { return kz_rd_uvarint_bits(r, 64); }
/* Kafka readVarint / readVarlong: zigzag-signed. */
static inline int32_t kz_rd_varint(kz_rd *r) { return kz_unzigzag32(kz_rd_uvarint(r)); }
static inline int64_t kz_rd_varlong(kz_rd *r) { return kz_unzigzag64(kz_rd_uvarlong(r)); }

/* Kafka COMPACT_(NULLABLE_)STRING / COMPACT_(NULLABLE_)BYTES: uvarint
 * length+1 (0 is null) then the bytes. A length above INT32_MAX is corrupt,
 * one longer than what is left is short. The result points into the input.
 * Whether null is allowed for a field is the schema's business. */
static inline kz_str kz_rd_compact_str(kz_rd *r)
{
    uint32_t n = kz_rd_uvarint(r);
    if (r->err || n == 0)
        return KZ_STR_NULL;
    if (n - 1 > (uint32_t)INT32_MAX) {
        r->err = KZ_ECORRUPT;
        return KZ_STR_NULL;
    }
    const uint8_t *p = kz_rd_take(r, n - 1);
    return p ? (kz_str){ (const char *)p, (int32_t)(n - 1) } : KZ_STR_NULL;
}
static inline kz_str kz_rd_compact_bytes(kz_rd *r) { return kz_rd_compact_str(r); }

/* Kafka COMPACT_ARRAY count: uvarint N+1 (0 is null). Returns N, or -1 for
 * null (and on error). A count that cannot fit in the bytes left at
 * @min_elem (>= 1) bytes per element is KZ_ECORRUPT, checked before the
 * caller allocates anything. */
static inline int32_t kz_rd_compact_count(kz_rd *r, size_t min_elem)
{
    uint32_t n = kz_rd_uvarint(r);
    if (r->err || n == 0)
        return -1;
    if (n - 1 > (uint32_t)INT32_MAX || (size_t)(n - 1) > kz_rd_left(r) / (min_elem ? min_elem : 1)) {
        r->err = KZ_ECORRUPT;
        return -1;
    }
    return (int32_t)(n - 1);
}

/* A tagged-field section of a flexible version: uvarint count, then count x
 * (uvarint tag, uvarint size, size bytes). Skips every field (none are
 * known at this layer) and returns how many there were (0 on error). The
 * count is bounded by the bytes left (a field takes at least 2 bytes). */
uint32_t kz_rd_tags_skip(kz_rd *r);

typedef struct kz_wr {
    uint8_t *base;
    size_t len, cap;
    int err;
} kz_wr;

#define KZ_WR_INIT ((kz_wr){ NULL, 0, 0, 0 })
/* Ensures room for @n more bytes; returns the write position or NULL. */
uint8_t *kz_wr_reserve(kz_wr *w, size_t n);
void kz_wr_free(kz_wr *w);
/* Hands the bytes to the caller (who free()s them) and resets @w. */
uint8_t *kz_wr_steal(kz_wr *w, size_t *len);

static inline void kz_wr_u8(kz_wr *w, uint8_t v)
{
    uint8_t *p = kz_wr_reserve(w, 1);
    if (p) { p[0] = v; w->len += 1; }
}
static inline void kz_wr_i16(kz_wr *w, int16_t v)
{
    uint8_t *p = kz_wr_reserve(w, 2);
    if (p) { kz_store_be16(p, (uint16_t)v); w->len += 2; }
}
static inline void kz_wr_i32(kz_wr *w, int32_t v)
{
    uint8_t *p = kz_wr_reserve(w, 4);
    if (p) { kz_store_be32(p, (uint32_t)v); w->len += 4; }
}
static inline void kz_wr_i64(kz_wr *w, int64_t v)
{
    uint8_t *p = kz_wr_reserve(w, 8);
    if (p) { kz_store_be64(p, (uint64_t)v); w->len += 8; }
}
static inline void kz_wr_bytes(kz_wr *w, const void *src, size_t n)
{
    uint8_t *p = n ? kz_wr_reserve(w, n) : NULL;
    if (p) { memcpy(p, src, n); w->len += n; }
}
/* int32 length (-1 for null) + bytes. */
static inline void kz_wr_str(kz_wr *w, kz_str s)
{
    kz_wr_i32(w, s.len < 0 ? -1 : s.len);
    if (s.len > 0)
        kz_wr_bytes(w, s.s, (size_t)s.len);
}
/* Kafka unsigned varint / varlong and the zigzag-signed forms. */
static inline void kz_wr_uvarlong(kz_wr *w, uint64_t v)
{
    uint8_t *p = kz_wr_reserve(w, KZ_UVARINT64_MAX);
    if (p)
        w->len += kz_store_uvarint(p, v);
}
static inline void kz_wr_uvarint(kz_wr *w, uint32_t v) { kz_wr_uvarlong(w, v); }
static inline void kz_wr_varint(kz_wr *w, int32_t v) { kz_wr_uvarlong(w, kz_zigzag32(v)); }
static inline void kz_wr_varlong(kz_wr *w, int64_t v) { kz_wr_uvarlong(w, kz_zigzag64(v)); }
/* Compact string/bytes: uvarint len+1 (0 for null) + bytes. */
static inline void kz_wr_compact_str(kz_wr *w, kz_str s)
{
    kz_wr_uvarint(w, s.len < 0 ? 0 : (uint32_t)s.len + 1);
    if (s.len > 0)
        kz_wr_bytes(w, s.s, (size_t)s.len);
}
static inline void kz_wr_compact_bytes(kz_wr *w, kz_str s) { kz_wr_compact_str(w, s); }
/* Compact array count: uvarint N+1, or 0 when @n < 0 (null). */
static inline void kz_wr_compact_count(kz_wr *w, int32_t n) { kz_wr_uvarint(w, n < 0 ? 0 : (uint32_t)n + 1); }
/* An empty tagged-field section: a count of 0. */
static inline void kz_wr_tags_empty(kz_wr *w) { kz_wr_u8(w, 0); }
/* Overwrites 4 bytes at @off (a length placeholder written earlier). */
static inline void kz_wr_patch_i32(kz_wr *w, size_t off, int32_t v)
{
    if (!w->err && off <= w->len && w->len - off >= 4) /* no off + 4 overflow */
        kz_store_be32(w->base + off, (uint32_t)v);
}

/* Bump allocator: many small allocations, one free. Chunks of at least 4 KiB. */
typedef struct kz_arena_chunk kz_arena_chunk;
typedef struct kz_arena {
    kz_arena_chunk *head;
    size_t used, cap;
} kz_arena;

#define KZ_ARENA_INIT ((kz_arena){ NULL, 0, 0 })
/* 16-byte aligned, zeroed memory, or NULL when out of memory. */
void *kz_arena_alloc(kz_arena *a, size_t n);
/* Copies @s into the arena with a NUL terminator (null stays null). */
kz_str kz_arena_strdup(kz_arena *a, kz_str s);
void kz_arena_reset(kz_arena *a); /* frees all chunks */
/* Forgets every allocation but keeps the newest chunk for reuse: the cheap
 * reset for an arena used once per request. */
void kz_arena_rewind(kz_arena *a);

#endif
