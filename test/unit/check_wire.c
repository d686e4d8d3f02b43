/* test/unit/check_wire.c -- the wire layer: bounded read cursor, growable
 * writer, bump arena, int64 hash map, and the jute engine on the records of
 * coordinator/zkd_records.def.
 *
 * Jute golden buffers are written out by hand from the encoding rules
 * (NOTES.md §1: int 4 and long 8 bytes big-endian, bool 1 byte, ustring and
 * buffer int32 length (-1 null) + bytes, vector int32 count (-1 null) +
 * elements, records inline); they were cross-checked against the
 * serialisation of the same values by the jute classes of ZooKeeper 3.8.0.
 * Each golden buffer is decoded (every field checked), re-encoded (bytes
 * compared exactly), sized, and decoded again from every truncated prefix,
 * each prefix in its own exact-size heap block so that ASan (make unit SAN=1)
 * sees any read past the end. kz_map is driven against a plain reference
 * array.
 */
#include <check.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kz_buf.h"
#include "kz_jute.h"
#include "kz_map.h"
#include "kz_wire.h"
#include "unit_util.h"
#include "zkd_records.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

/* ================================================================ kz_wire */

/* 1. load/store are big-endian and exact at the sign boundaries. */
START_TEST(t01_wire_be)
{
    uint8_t b[8];
    kz_store_be16(b, 0x8001);
    ck_assert_int_eq(b[0], 0x80);
    ck_assert_int_eq(b[1], 0x01);
    ck_assert_uint_eq(kz_load_be16(b), 0x8001);
    kz_store_be32(b, 0xdeadbeef);
    ck_assert_int_eq(memcmp(b, "\xde\xad\xbe\xef", 4), 0);
    ck_assert_uint_eq(kz_load_be32(b), 0xdeadbeefu);
    kz_store_be64(b, 0x0102030405060708ULL);
    ck_assert_int_eq(memcmp(b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8), 0);
    ck_assert_uint_eq(kz_load_be64(b), 0x0102030405060708ULL);
    kz_store_be64(b, 0xffffffff00000001ULL);
    ck_assert_int_eq(memcmp(b, "\xff\xff\xff\xff\x00\x00\x00\x01", 8), 0);
    ck_assert_uint_eq(kz_load_be64(b), 0xffffffff00000001ULL);
}
END_TEST

/* ================================================================== kz_rd */

/* 2. every accessor at its exact boundary: n bytes succeed, n-1 fail
 *    without moving the cursor. Each buffer is a heap block of exactly
 *    that size. */
START_TEST(t02_rd_boundaries)
{
    static const uint8_t src[8] = { 0x80, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0xff };
    for (size_t need = 1; need <= 8; need *= 2) {
        for (size_t have = 0; have <= need; have++) {
            uint8_t *b = malloc(have ? have : 1);
            ck_assert_ptr_nonnull(b);
            memcpy(b, src, have);
            kz_rd r = kz_rd_init(b, have);
            ck_assert_uint_eq(kz_rd_left(&r), have);
            int64_t v = need == 1 ? kz_rd_u8(&r) : need == 2 ? kz_rd_i16(&r) : need == 4 ? kz_rd_i32(&r) : kz_rd_i64(&r);
            if (have < need) {
                ck_assert_int_eq(r.err, KZ_ESHORT);
                ck_assert_int_eq(v, 0);
                ck_assert_ptr_eq(r.p, b);
                ck_assert_uint_eq(kz_rd_left(&r), have);
            } else {
                int64_t want = need == 1 ? 0x80 : need == 2 ? (int16_t)0x8001 : need == 4 ? (int32_t)0x80010203
                                                                                      : (int64_t)0x80010203040506ffULL;
                ck_assert_int_eq(r.err, 0);
                ck_assert_int_eq(v, want);
                ck_assert_ptr_eq(r.p, b + need);
                ck_assert_uint_eq(kz_rd_left(&r), 0);
            }
            free(b);
        }
    }
    /* the extremes of each width */
    static const uint8_t ext[] = { 0x7f, 0xff, 0x80, 0x00, 0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00,
                                   0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff };
    kz_rd r = kz_rd_init(ext, sizeof ext);
    ck_assert_int_eq(kz_rd_i16(&r), INT16_MAX);
    ck_assert_int_eq(kz_rd_i16(&r), INT16_MIN);
    ck_assert_int_eq(kz_rd_i32(&r), INT32_MAX);
    ck_assert_int_eq(kz_rd_i32(&r), INT32_MIN);
    ck_assert_int_eq(kz_rd_i64(&r), INT64_MAX);
    ck_assert_int_eq(kz_rd_i64(&r), INT64_MIN);
    ck_assert_uint_eq(kz_rd_u8(&r), 0xff);
    ck_assert_int_eq(r.err, 0);
    ck_assert_uint_eq(kz_rd_left(&r), 0);
}
END_TEST

/* 3. the error is sticky: after one short read every later read returns 0
 *    and the cursor stays put, even reads that would have fitted. */
START_TEST(t03_rd_sticky)
{
    static const uint8_t b[6] = { 1, 2, 3, 4, 5, 6 };
    kz_rd r = kz_rd_init(b, sizeof b);
    ck_assert_int_eq(kz_rd_i16(&r), 0x0102);
    ck_assert_int_eq(kz_rd_i64(&r), 0); /* 4 left */
    ck_assert_int_eq(r.err, KZ_ESHORT);
    ck_assert_ptr_eq(r.p, b + 2);
    ck_assert_uint_eq(kz_rd_u8(&r), 0);
    ck_assert_int_eq(kz_rd_i16(&r), 0);
    ck_assert_int_eq(kz_rd_i32(&r), 0);
    ck_assert_ptr_null(kz_rd_take(&r, 0));
    kz_str s = kz_rd_str(&r);
    ck_assert_int_eq(s.len, -1);
    ck_assert_ptr_null(s.s);
    ck_assert_int_eq(r.err, KZ_ESHORT);
    ck_assert_ptr_eq(r.p, b + 2);
    ck_assert_uint_eq(kz_rd_left(&r), 4);

    /* take: exact size succeeds and returns the position, one more fails */
    r = kz_rd_init(b, sizeof b);
    ck_assert_ptr_eq(kz_rd_take(&r, 6), b);
    ck_assert_ptr_eq(r.p, b + 6);
    ck_assert_ptr_eq(kz_rd_take(&r, 0), b + 6);
    ck_assert_int_eq(r.err, 0);
    ck_assert_ptr_null(kz_rd_take(&r, 1));
    ck_assert_int_eq(r.err, KZ_ESHORT);
    r = kz_rd_init(b, sizeof b);
    ck_assert_ptr_null(kz_rd_take(&r, SIZE_MAX)); /* no pointer overflow */
    ck_assert_ptr_eq(r.p, b);

    /* an empty payload may be NULL */
    r = kz_rd_init(NULL, 0);
    ck_assert_uint_eq(kz_rd_left(&r), 0);
    ck_assert_int_eq(kz_rd_i32(&r), 0);
    ck_assert_int_eq(r.err, KZ_ESHORT);
}
END_TEST

/* 4. kz_rd_str: null (-1), empty, negative (-2, INT32_MIN: corrupt), longer
 *    than what is left (short), and exactly what is left. */
START_TEST(t04_rd_str)
{
    static const uint8_t nul[] = { 0xff, 0xff, 0xff, 0xff, 0x07 };
    kz_rd r = kz_rd_init(nul, sizeof nul);
    kz_str s = kz_rd_str(&r);
    ck_assert_int_eq(r.err, 0);
    ck_assert_int_eq(s.len, -1);
    ck_assert_ptr_null(s.s);
    ck_assert_ptr_eq(r.p, nul + 4);
    ck_assert_uint_eq(kz_rd_u8(&r), 7);

    static const uint8_t empty[] = { 0, 0, 0, 0 };
    r = kz_rd_init(empty, sizeof empty);
    s = kz_rd_str(&r);
    ck_assert_int_eq(r.err, 0);
    ck_assert_int_eq(s.len, 0);
    ck_assert_ptr_eq(s.s, (const char *)empty + 4); /* not null: "" */
    ck_assert_ptr_eq(r.p, r.end);

    static const uint8_t m2[] = { 0xff, 0xff, 0xff, 0xfe, 'a', 'b' };
    r = kz_rd_init(m2, sizeof m2);
    s = kz_rd_str(&r);
    ck_assert_int_eq(r.err, KZ_ECORRUPT);
    ck_assert_int_eq(s.len, -1);
    ck_assert_ptr_null(s.s);
    ck_assert_ptr_eq(r.p, m2 + 4);
    ck_assert_uint_eq(kz_rd_u8(&r), 0); /* sticky */
    ck_assert_ptr_eq(r.p, m2 + 4);
    ck_assert_int_eq(r.err, KZ_ECORRUPT);

    static const uint8_t mn[] = { 0x80, 0, 0, 0 };
    r = kz_rd_init(mn, sizeof mn);
    s = kz_rd_str(&r);
    ck_assert_int_eq(r.err, KZ_ECORRUPT);
    ck_assert_int_eq(s.len, -1);

    static const uint8_t lng[] = { 0, 0, 0, 4, 'a', 'b', 'c' };
    r = kz_rd_init(lng, sizeof lng);
    s = kz_rd_str(&r);
    ck_assert_int_eq(r.err, KZ_ESHORT);
    ck_assert_int_eq(s.len, -1);
    ck_assert_ptr_null(s.s);
    ck_assert_ptr_eq(r.p, lng + 4); /* the length was read, the bytes were not */
    ck_assert_uint_eq(kz_rd_u8(&r), 0);
    ck_assert_ptr_eq(r.p, lng + 4);

    static const uint8_t huge[] = { 0x7f, 0xff, 0xff, 0xff, 'a' };
    r = kz_rd_init(huge, sizeof huge);
    s = kz_rd_str(&r);
    ck_assert_int_eq(r.err, KZ_ESHORT);
    ck_assert_int_eq(s.len, -1);

    static const uint8_t exact[] = { 0, 0, 0, 3, 'a', 0, 'c' };
    r = kz_rd_init(exact, sizeof exact);
    s = kz_rd_str(&r);
    ck_assert_int_eq(r.err, 0);
    ck_assert_int_eq(s.len, 3);
    ck_assert_ptr_eq(s.s, (const char *)exact + 4); /* zero copy */
    ck_assert_int_eq(memcmp(s.s, "a\0c", 3), 0);
    ck_assert_uint_eq(kz_rd_left(&r), 0);

    /* a short length prefix */
    r = kz_rd_init(exact, 3);
    s = kz_rd_str(&r);
    ck_assert_int_eq(r.err, KZ_ESHORT);
    ck_assert_ptr_eq(r.p, exact);
}
END_TEST

/* ================================================================== kz_wr */

/* 5. every writer accessor produces the exact bytes. */
START_TEST(t05_wr_bytes)
{
    kz_wr w = KZ_WR_INIT;
    kz_wr_u8(&w, 0xab);
    kz_wr_i16(&w, -2);
    kz_wr_i32(&w, 0x01020304);
    kz_wr_i32(&w, INT32_MIN);
    kz_wr_i64(&w, -1);
    kz_wr_i64(&w, 0x1122334455667788LL);
    kz_wr_bytes(&w, "xyz", 3);
    kz_wr_bytes(&w, NULL, 0);
    kz_wr_str(&w, KZ_STR_NULL);
    kz_wr_str(&w, KZ_STR_LIT(""));
    kz_wr_str(&w, kz_str_c("hi"));
    kz_wr_str(&w, kz_str_c(NULL));
    static const uint8_t want[] = {
        0xab, 0xff, 0xfe, 0x01, 0x02, 0x03, 0x04, 0x80, 0x00, 0x00, 0x00,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
        'x', 'y', 'z',
        0xff, 0xff, 0xff, 0xff, /* null */
        0x00, 0x00, 0x00, 0x00, /* "" */
        0x00, 0x00, 0x00, 0x02, 'h', 'i',
        0xff, 0xff, 0xff, 0xff,
    };
    ck_assert_int_eq(w.err, 0);
    ck_assert_uint_eq(w.len, sizeof want);
    ck_assert_int_eq(memcmp(w.base, want, sizeof want), 0);
    ck_assert_uint_eq(w.cap, 256); /* the first allocation */
    kz_wr_free(&w);
    ck_assert_ptr_null(w.base);
    ck_assert_uint_eq(w.len, 0);
    ck_assert_uint_eq(w.cap, 0);
}
END_TEST

/* 6. growth across many writes keeps every earlier byte; the capacity
 *    doubles from 256. */
START_TEST(t06_wr_growth)
{
    kz_wr w = KZ_WR_INIT;
    for (int32_t i = 0; i < 20000; i++) {
        if (i % 3 == 0)
            kz_wr_i64(&w, (int64_t)i * 0x100000001LL);
        else
            kz_wr_i32(&w, i * 7919);
    }
    ck_assert_int_eq(w.err, 0);
    size_t want_len = 0;
    for (int32_t i = 0; i < 20000; i++)
        want_len += i % 3 == 0 ? 8 : 4;
    ck_assert_uint_eq(w.len, want_len);
    size_t cap = 256;
    while (cap < want_len)
        cap *= 2;
    ck_assert_uint_eq(w.cap, cap);
    kz_rd r = kz_rd_init(w.base, w.len);
    for (int32_t i = 0; i < 20000; i++) {
        if (i % 3 == 0)
            ck_assert_int_eq(kz_rd_i64(&r), (int64_t)i * 0x100000001LL);
        else
            ck_assert_int_eq(kz_rd_i32(&r), i * 7919);
    }
    ck_assert_int_eq(r.err, 0);
    ck_assert_uint_eq(kz_rd_left(&r), 0);
    /* one big write that needs several doublings at once */
    uint8_t *big = malloc(300000);
    ck_assert_ptr_nonnull(big);
    for (size_t i = 0; i < 300000; i++)
        big[i] = (uint8_t)(i * 31 + 7);
    size_t before = w.len;
    kz_wr_bytes(&w, big, 300000);
    ck_assert_int_eq(w.err, 0);
    ck_assert_uint_eq(w.len, before + 300000);
    ck_assert_int_eq(memcmp(w.base + before, big, 300000), 0);
    ck_assert_uint_ge(w.cap, w.len);
    ck_assert_uint_eq(w.cap & (w.cap - 1), 0);
    free(big);
    kz_wr_free(&w);
}
END_TEST

/* 7. patch_i32 overwrites a placeholder in place; out of range is ignored. */
START_TEST(t07_wr_patch)
{
    kz_wr w = KZ_WR_INIT;
    kz_wr_i32(&w, 0); /* frame length placeholder */
    kz_wr_i32(&w, 7);
    kz_wr_str(&w, KZ_STR_LIT("ab"));
    kz_wr_patch_i32(&w, 0, (int32_t)(w.len - 4));
    kz_wr_patch_i32(&w, 4, -5);
    static const uint8_t want[] = { 0, 0, 0, 10, 0xff, 0xff, 0xff, 0xfb, 0, 0, 0, 2, 'a', 'b' };
    ck_assert_uint_eq(w.len, sizeof want);
    ck_assert_int_eq(memcmp(w.base, want, sizeof want), 0);
    kz_wr_patch_i32(&w, 10, 0x01020304); /* exactly the last 4 bytes */
    ck_assert_int_eq(memcmp(w.base + 10, "\x01\x02\x03\x04", 4), 0);
    kz_wr_patch_i32(&w, 11, -1); /* would run past len: ignored */
    kz_wr_patch_i32(&w, SIZE_MAX - 1, -1);
    ck_assert_uint_eq(w.len, sizeof want);
    ck_assert_int_eq(memcmp(w.base + 10, "\x01\x02\x03\x04", 4), 0);
    ck_assert_int_eq(memcmp(w.base, want, 10), 0);
    kz_wr_free(&w);
}
END_TEST

/* 8. steal hands over the bytes and resets the writer; an allocation
 *    failure is sticky and later writes are dropped. */
START_TEST(t08_wr_steal_err)
{
    kz_wr w = KZ_WR_INIT;
    size_t len = 99;
    ck_assert_ptr_null(kz_wr_steal(&w, &len));
    ck_assert_uint_eq(len, 0);
    kz_wr_str(&w, KZ_STR_LIT("abc"));
    uint8_t *b = kz_wr_steal(&w, &len);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(len, 7);
    ck_assert_int_eq(memcmp(b, "\0\0\0\3abc", 7), 0);
    ck_assert_ptr_null(w.base);
    ck_assert_uint_eq(w.len, 0);
    ck_assert_uint_eq(w.cap, 0);
    ck_assert_int_eq(w.err, 0);
    kz_wr_i32(&w, 1); /* the writer is reusable */
    ck_assert_uint_eq(w.len, 4);
    ck_assert_ptr_ne(w.base, b);
    free(b);
    ck_assert_ptr_null(kz_wr_reserve(&w, SIZE_MAX)); /* cannot double that far */
    ck_assert_int_eq(w.err, KZ_ENOMEM);
    kz_wr_i32(&w, 2);
    kz_wr_u8(&w, 3);
    kz_wr_str(&w, KZ_STR_LIT("x"));
    ck_assert_uint_eq(w.len, 4);
    ck_assert_int_eq(memcmp(w.base, "\0\0\0\1", 4), 0);
    kz_wr_patch_i32(&w, 0, 9); /* also dropped once in error */
    ck_assert_int_eq(memcmp(w.base, "\0\0\0\1", 4), 0);
    b = kz_wr_steal(&w, NULL);
    ck_assert_int_eq(w.err, 0);
    free(b);
}
END_TEST

/* =============================================================== kz_arena */

/* 9. 16-byte alignment, no overlap across many chunks, zeroed memory. */
START_TEST(t09_arena_align)
{
    kz_arena a = KZ_ARENA_INIT;
    enum { N = 600 };
    uint8_t *p[N];
    size_t sz[N];
    for (int i = 0; i < N; i++) {
        sz[i] = (size_t)(i * 37 % 301) + 1;
        p[i] = kz_arena_alloc(&a, sz[i]);
        ck_assert_ptr_nonnull(p[i]);
        ck_assert_uint_eq((uintptr_t)p[i] % 16, 0);
        for (size_t k = 0; k < sz[i]; k++)
            ck_assert_uint_eq(p[i][k], 0);
        memset(p[i], (uint8_t)(i + 1), sz[i]);
    }
    for (int i = 0; i < N; i++)
        for (size_t k = 0; k < sz[i]; k++)
            ck_assert_uint_eq(p[i][k], (uint8_t)(i + 1));
    kz_arena_reset(&a);
    ck_assert_ptr_null(a.head);
    ck_assert_uint_eq(a.used, 0);
    ck_assert_uint_eq(a.cap, 0);
    /* in a fresh chunk, sizes are rounded up to 16 and packed */
    uint8_t *x = kz_arena_alloc(&a, 1);
    ck_assert_uint_eq(a.used, 16);
    ck_assert_uint_eq(a.cap, 4096);
    uint8_t *y = kz_arena_alloc(&a, 17);
    ck_assert_uint_eq(a.used, 48);
    uint8_t *z = kz_arena_alloc(&a, 16);
    ck_assert_uint_eq(a.used, 64);
    ck_assert_ptr_eq(y, x + 16);
    ck_assert_ptr_eq(z, x + 48);
    kz_arena_reset(&a);

    /* zeroing: reuse of freed dirty memory must still come back zeroed */
    for (int round = 0; round < 3; round++) {
        uint8_t *q = kz_arena_alloc(&a, 4000);
        ck_assert_ptr_nonnull(q);
        for (size_t k = 0; k < 4000; k++)
            ck_assert_uint_eq(q[k], 0);
        memset(q, 0xa5, 4000);
        kz_arena_reset(&a);
    }
}
END_TEST

/* 10. large allocations get their own chunk; small ones keep working. */
START_TEST(t10_arena_large)
{
    kz_arena a = KZ_ARENA_INIT;
    uint8_t *s1 = kz_arena_alloc(&a, 100);
    uint8_t *big = kz_arena_alloc(&a, 100000);
    ck_assert_ptr_nonnull(s1);
    ck_assert_ptr_nonnull(big);
    ck_assert_uint_eq((uintptr_t)big % 16, 0);
    for (size_t k = 0; k < 100000; k++)
        ck_assert_uint_eq(big[k], 0);
    memset(big, 0x5a, 100000); /* all of it is writable (ASan) */
    memset(s1, 0x11, 100);
    uint8_t *s2 = kz_arena_alloc(&a, 200);
    ck_assert_ptr_nonnull(s2);
    ck_assert_uint_eq((uintptr_t)s2 % 16, 0);
    memset(s2, 0x22, 200);
    for (size_t k = 0; k < 100000; k++)
        ck_assert_uint_eq(big[k], 0x5a);
    for (size_t k = 0; k < 100; k++)
        ck_assert_uint_eq(s1[k], 0x11);
    uint8_t *exact = kz_arena_alloc(&a, 4096);
    ck_assert_ptr_nonnull(exact);
    memset(exact, 0x33, 4096);
    /* sizes that would wrap when rounded up are refused */
    ck_assert_ptr_null(kz_arena_alloc(&a, SIZE_MAX));
    ck_assert_ptr_null(kz_arena_alloc(&a, SIZE_MAX - 8));
    ck_assert_ptr_null(kz_arena_alloc(&a, SIZE_MAX / 2 + 1));
    for (size_t k = 0; k < 200; k++)
        ck_assert_uint_eq(s2[k], 0x22);
    kz_arena_reset(&a);
}
END_TEST

/* 11. strdup: null stays null, "" is a real empty string, bytes are copied
 *     (embedded NULs too) and NUL-terminated. */
START_TEST(t11_arena_strdup)
{
    kz_arena a = KZ_ARENA_INIT;
    kz_str n = kz_arena_strdup(&a, KZ_STR_NULL);
    ck_assert_ptr_null(n.s);
    ck_assert_int_eq(n.len, -1);
    ck_assert_ptr_null(a.head); /* nothing allocated for null */
    kz_str e = kz_arena_strdup(&a, KZ_STR_LIT(""));
    ck_assert_ptr_nonnull(e.s);
    ck_assert_int_eq(e.len, 0);
    ck_assert_int_eq(e.s[0], '\0');
    char src[] = "a\0bc";
    kz_str c = kz_arena_strdup(&a, (kz_str){ src, 4 });
    ck_assert_ptr_ne(c.s, src);
    ck_assert_int_eq(c.len, 4);
    ck_assert_int_eq(memcmp(c.s, "a\0bc", 5), 0);
    src[0] = 'z';
    ck_assert_int_eq(c.s[0], 'a');
    ck_assert_uint_eq((uintptr_t)c.s % 16, 0);
    kz_arena_reset(&a);
}
END_TEST

/* ================================================================= kz_map */

/* The mix of kz_map.c, used only to construct keys that share a home slot;
 * the checks below compare against a reference, and the scenario checks
 * (slot layout) fail loudly if the hash ever changes. */
static size_t home_of(int64_t k, size_t cap)
{
    uint64_t x = (uint64_t)k;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return (size_t)x & (cap - 1);
}

/* The first @n keys > *from with home slot @h in a table of @cap slots. */
static void keys_homed(size_t h, size_t cap, int n, int64_t *from, int64_t *out)
{
    for (int i = 0; i < n; (*from)++)
        if (home_of(*from, cap) == h)
            out[i++] = *from;
}

static int slot_of(const kz_map *m, int64_t k)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].used && m->slots[i].key == k)
            return (int)i;
    return -1;
}

/* 12. empty map, zero / negative / extreme keys, replace. */
START_TEST(t12_map_basic)
{
    kz_map m = KZ_MAP_INIT;
    uint64_t v = 77;
    ck_assert(!kz_map_get(&m, 0, &v));
    ck_assert(!kz_map_del(&m, 0, &v));
    ck_assert_uint_eq(v, 77);
    size_t it = 0;
    ck_assert(!kz_map_next(&m, &it, NULL, NULL));
    static const int64_t keys[] = { 0, -1, 1, INT64_MIN, INT64_MAX, -4294967296LL, 4294967296LL };
    for (size_t i = 0; i < N_(keys); i++)
        ck_assert_int_eq(kz_map_put(&m, keys[i], 1000 + i), 0);
    ck_assert_uint_eq(kz_map_size(&m), N_(keys));
    ck_assert_uint_eq(m.cap, 16);
    for (size_t i = 0; i < N_(keys); i++) {
        ck_assert(kz_map_get(&m, keys[i], &v));
        ck_assert_uint_eq(v, 1000 + i);
    }
    ck_assert(kz_map_get(&m, -1, NULL));
    ck_assert(!kz_map_get(&m, 2, &v));
    ck_assert(!kz_map_get(&m, INT64_MIN + 1, &v));
    /* replace keeps the size */
    ck_assert_int_eq(kz_map_put(&m, -1, UINT64_MAX), 0);
    ck_assert_uint_eq(kz_map_size(&m), N_(keys));
    ck_assert(kz_map_get(&m, -1, &v));
    ck_assert_uint_eq(v, UINT64_MAX);
    /* pointers round-trip through uintptr_t */
    static int obj;
    ck_assert_int_eq(kz_map_put(&m, 5, (uint64_t)(uintptr_t)&obj), 0);
    ck_assert(kz_map_get(&m, 5, &v));
    ck_assert_ptr_eq((int *)(uintptr_t)v, &obj);
    /* delete returns the value */
    ck_assert(kz_map_del(&m, INT64_MIN, &v));
    ck_assert_uint_eq(v, 1003);
    ck_assert(!kz_map_del(&m, INT64_MIN, &v));
    ck_assert(kz_map_del(&m, 0, NULL));
    ck_assert(!kz_map_get(&m, 0, NULL));
    ck_assert_uint_eq(kz_map_size(&m), N_(keys) - 1);
    /* iteration sees each remaining key once */
    int64_t k;
    int seen = 0;
    for (it = 0; kz_map_next(&m, &it, &k, &v);) {
        uint64_t g;
        ck_assert(kz_map_get(&m, k, &g));
        ck_assert_uint_eq(g, v);
        ck_assert(k != 0 && k != INT64_MIN);
        seen++;
    }
    ck_assert_int_eq(seen, (int)N_(keys) - 1);
    kz_map_free(&m);
    ck_assert_ptr_null(m.slots);
    ck_assert_uint_eq(m.cap, 0);
    ck_assert_uint_eq(kz_map_size(&m), 0);
}
END_TEST

/* 13. backward-shift deletion in the middle of a probe run: keys A,B,D home
 *     at h, C at h+2. Layout A B C D; deleting A moves B into h, leaves C at
 *     its home, moves D into h+1. Run at h = 3 and wrapping at h = cap-2. */
START_TEST(t13_map_probe_runs)
{
    static const size_t homes[] = { 3, 14 };
    for (size_t t = 0; t < N_(homes); t++) {
        size_t h = homes[t], cap = 16;
        int64_t from = -5000, abd[3], c[1];
        keys_homed(h, cap, 3, &from, abd);
        from = -5000;
        keys_homed((h + 2) & (cap - 1), cap, 1, &from, c);
        kz_map m = KZ_MAP_INIT;
        ck_assert_int_eq(kz_map_put(&m, abd[0], 1), 0);
        ck_assert_int_eq(kz_map_put(&m, abd[1], 2), 0);
        ck_assert_int_eq(kz_map_put(&m, c[0], 3), 0);
        ck_assert_int_eq(kz_map_put(&m, abd[2], 4), 0);
        ck_assert_uint_eq(m.cap, cap);
        ck_assert_int_eq(slot_of(&m, abd[0]), (int)h);
        ck_assert_int_eq(slot_of(&m, abd[1]), (int)((h + 1) & (cap - 1)));
        ck_assert_int_eq(slot_of(&m, c[0]), (int)((h + 2) & (cap - 1)));
        ck_assert_int_eq(slot_of(&m, abd[2]), (int)((h + 3) & (cap - 1)));
        uint64_t v;
        ck_assert(kz_map_del(&m, abd[0], &v));
        ck_assert_uint_eq(v, 1);
        ck_assert_int_eq(slot_of(&m, abd[1]), (int)h);
        ck_assert_int_eq(slot_of(&m, abd[2]), (int)((h + 1) & (cap - 1)));
        ck_assert_int_eq(slot_of(&m, c[0]), (int)((h + 2) & (cap - 1)));
        ck_assert(!m.slots[(h + 3) & (cap - 1)].used);
        ck_assert(kz_map_get(&m, abd[1], &v) && v == 2);
        ck_assert(kz_map_get(&m, c[0], &v) && v == 3);
        ck_assert(kz_map_get(&m, abd[2], &v) && v == 4);
        ck_assert(!kz_map_get(&m, abd[0], &v));
        /* delete the middle of what is left (D at h+1): C must not move */
        ck_assert(kz_map_del(&m, abd[2], &v));
        ck_assert_uint_eq(v, 4);
        ck_assert_int_eq(slot_of(&m, c[0]), (int)((h + 2) & (cap - 1)));
        ck_assert(kz_map_get(&m, c[0], &v) && v == 3);
        ck_assert(kz_map_get(&m, abd[1], &v) && v == 2);
        ck_assert_uint_eq(kz_map_size(&m), 2);
        kz_map_free(&m);
    }
}
END_TEST

/* 14. random put/del/get over a dense key range (long probe runs, many
 *     deletions inside them, growth) against a plain reference array. */
START_TEST(t14_map_reference)
{
    enum { RANGE = 1500 };
    static bool have[RANGE];
    static uint64_t val[RANGE];
    memset(have, 0, sizeof have);
    kz_map m = KZ_MAP_INIT;
    size_t n = 0;
    rnd_state = 0x9E3779B97F4A7C15ULL;
    for (int op = 0; op < 60000; op++) {
        int idx = (int)(rnd() % RANGE);
        int64_t key = (int64_t)idx * 1024 - 700000; /* negative, zero and positive keys */
        uint64_t r = rnd() % 10, v;
        if (r < 5) {
            uint64_t nv = rnd();
            ck_assert_int_eq(kz_map_put(&m, key, nv), 0);
            if (!have[idx])
                n++;
            have[idx] = true;
            val[idx] = nv;
        } else if (r < 9) {
            bool got = kz_map_del(&m, key, &v);
            ck_assert_int_eq(got, have[idx]);
            if (got) {
                ck_assert_uint_eq(v, val[idx]);
                n--;
            }
            have[idx] = false;
        } else {
            bool got = kz_map_get(&m, key, &v);
            ck_assert_int_eq(got, have[idx]);
            if (got)
                ck_assert_uint_eq(v, val[idx]);
        }
        ck_assert_uint_eq(kz_map_size(&m), n);
        if (op % 5000 == 4999) {
            /* full comparison, both directions */
            for (int i = 0; i < RANGE; i++) {
                bool got = kz_map_get(&m, (int64_t)i * 1024 - 700000, &v);
                ck_assert_int_eq(got, have[i]);
                if (got)
                    ck_assert_uint_eq(v, val[i]);
            }
            size_t it = 0, cnt = 0;
            int64_t k;
            while (kz_map_next(&m, &it, &k, &v)) {
                ck_assert_int_eq((k + 700000) % 1024, 0);
                int i = (int)((k + 700000) / 1024);
                ck_assert(i >= 0 && i < RANGE && have[i]);
                ck_assert_uint_eq(v, val[i]);
                cnt++;
            }
            ck_assert_uint_eq(cnt, n);
            ck_assert_uint_le(n * 4, m.cap * 3); /* load factor kept */
        }
    }
    /* drain everything */
    for (int i = 0; i < RANGE; i++) {
        bool got = kz_map_del(&m, (int64_t)i * 1024 - 700000, NULL);
        ck_assert_int_eq(got, have[i]);
    }
    ck_assert_uint_eq(kz_map_size(&m), 0);
    size_t it = 0;
    ck_assert(!kz_map_next(&m, &it, NULL, NULL));
    kz_map_free(&m);
}
END_TEST

/* 15. growth: capacity doubles exactly when 3/4 full, keys survive rehash. */
START_TEST(t15_map_growth)
{
    kz_map m = KZ_MAP_INIT;
    ck_assert_int_eq(kz_map_put(&m, 0, 0), 0);
    ck_assert_uint_eq(m.cap, 16);
    for (int64_t k = 1; k < 12; k++)
        ck_assert_int_eq(kz_map_put(&m, -k, (uint64_t)k), 0);
    ck_assert_uint_eq(m.cap, 16); /* 12 of 16 */
    ck_assert_int_eq(kz_map_put(&m, -12, 12), 0);
    ck_assert_uint_eq(m.cap, 32);
    for (int64_t k = 13; k < 100000; k++)
        ck_assert_int_eq(kz_map_put(&m, -k, (uint64_t)k), 0);
    ck_assert_uint_eq(kz_map_size(&m), 100000);
    ck_assert_uint_eq(m.cap, 262144); /* 100000 > 3/4 of 131072 */
    for (int64_t k = 0; k < 100000; k++) {
        uint64_t v;
        ck_assert(kz_map_get(&m, -k, &v));
        ck_assert_uint_eq(v, (uint64_t)k);
    }
    ck_assert(!kz_map_get(&m, -100000, NULL));
    ck_assert(!kz_map_get(&m, 1, NULL));
    kz_map_free(&m);
}
END_TEST

/* =========================================================== jute golden */

#define STAT_BYTES                                                                                        \
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, /* czxid */                                            \
        0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, /* mzxid */                                        \
        0x00, 0x00, 0x01, 0x8b, 0x2c, 0x3d, 0x4e, 0x5f, /* ctime */                                        \
        0x00, 0x00, 0x01, 0x8b, 0x2c, 0x3d, 0x4e, 0x60, /* mtime */                                        \
        0x00, 0x00, 0x00, 0x07,                         /* version */                                      \
        0xff, 0xff, 0xff, 0xff,                         /* cversion -1 */                                  \
        0x00, 0x00, 0x00, 0x02,                         /* aversion */                                     \
        0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* ephemeralOwner (container) */                   \
        0x00, 0x00, 0x00, 0x05,                         /* dataLength */                                   \
        0x00, 0x00, 0x00, 0x06,                         /* numChildren */                                  \
        0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04  /* pzxid */

#define ACL_WORLD_ALL                                                                                     \
    0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00, 0x05, 'w', 'o', 'r', 'l', 'd', 0x00, 0x00, 0x00, 0x06, 'a', 'n', \
        'y', 'o', 'n', 'e'

static const uint8_t G_CONNECT_REQ[] = {
    0x00, 0x00, 0x00, 0x00,                         /* protocolVersion 0 */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05, /* lastZxidSeen */
    0x00, 0x00, 0x75, 0x30,                         /* timeOut 30000 */
    0x10, 0x00, 0x00, 0xb0, 0xc9, 0xa2, 0x00, 0x00, /* sessionId */
    0x00, 0x00, 0x00, 0x10,                         /* passwd: 16 bytes */
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
};
static const uint8_t G_CONNECT_RSP[] = {
    0x00, 0x00, 0x00, 0x00,                         /* protocolVersion */
    0x00, 0x00, 0x0f, 0xa0,                         /* timeOut 4000 */
    0x10, 0x00, 0x00, 0xb0, 0xc9, 0xa2, 0x00, 0x01, /* sessionId */
    0x00, 0x00, 0x00, 0x10,
    0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
};
static const uint8_t G_REQ_HDR[] = { 0xff, 0xff, 0xff, 0xfe, 0x00, 0x00, 0x00, 0x0b }; /* ping */
static const uint8_t G_REPLY_HDR[] = {
    0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03, 0xff, 0xff, 0xff, 0x9b,
};
static const uint8_t G_CREATE_REQ[] = {
    0x00, 0x00, 0x00, 0x09, '/', 'a', 'p', 'p', '/', 'n', 'o', 'd', 'e',
    0x00, 0x00, 0x00, 0x03, 0x00, 0xff, 0x7f,
    0x00, 0x00, 0x00, 0x02, /* 2 ACLs */
    ACL_WORLD_ALL,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 'd', 'i', 'g', 'e', 's', 't', 0x00, 0x00, 0x00, 0x03, 'u', ':', 'p',
    0x00, 0x00, 0x00, 0x03, /* flags: ephemeral sequential */
};
static const uint8_t G_STAT[] = { STAT_BYTES };
static const uint8_t G_CHILDREN2[] = {
    0x00, 0x00, 0x00, 0x03,
    0x00, 0x00, 0x00, 0x01, 'a',
    0x00, 0x00, 0x00, 0x02, 'b', 'c',
    0x00, 0x00, 0x00, 0x00,
    STAT_BYTES,
};
static const uint8_t G_MULTI_HDR[] = { 0x00, 0x00, 0x00, 0x01, 0x00, 0xff, 0xff, 0xff, 0xff };
static const uint8_t G_MULTI_END[] = { 0xff, 0xff, 0xff, 0xff, 0x01, 0xff, 0xff, 0xff, 0xff };
static const uint8_t G_SETWATCHES2[] = {
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10,     /* relativeZxid */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, '/', 'a', /* dataWatches ["/a"] */
    0x00, 0x00, 0x00, 0x00,                             /* existWatches [] */
    0xff, 0xff, 0xff, 0xff,                             /* childWatches null */
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, '/', 'b', 0x00, 0x00, 0x00, 0x02, '/', 'c',
    0xff, 0xff, 0xff, 0xff, /* persistentRecursiveWatches null */
};
static const uint8_t G_TXN_CREATE[] = {
    /* TxnHeader */
    0x10, 0x00, 0x00, 0xb0, 0xc9, 0xa2, 0x00, 0x00, /* clientId */
    0x00, 0x00, 0x00, 0x03,                         /* cxid */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07, /* zxid */
    0x00, 0x00, 0x01, 0x8b, 0x2c, 0x3d, 0x4e, 0x5f, /* time */
    0x00, 0x00, 0x00, 0x01,                         /* type create */
    /* CreateTxn */
    0x00, 0x00, 0x00, 0x02, '/', 'e',
    0xff, 0xff, 0xff, 0xff, /* data null */
    0x00, 0x00, 0x00, 0x01, ACL_WORLD_ALL,
    0x01,                   /* ephemeral */
    0x00, 0x00, 0x00, 0x04, /* parentCVersion */
};
static const uint8_t G_MULTI_TXN[] = {
    0x00, 0x00, 0x00, 0x02,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x02, '/', 'x', /* delete /x */
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x04, 0xff, 0xff, 0xff, 0x9b,           /* error -101 */
};

typedef struct golden {
    const char *name;
    const kz_jrec *rec;   /* first record */
    const kz_jrec *rec2;  /* a second record following it, or NULL */
    const uint8_t *bytes;
    size_t len;
    size_t len1;          /* bytes of the first record */
} golden;

#define G1(nm, R, arr) { nm, &zkd_##R##_rec, NULL, arr, sizeof arr, sizeof arr }
static const golden GOLDEN[] = {
    G1("ConnectRequest", ConnectRequest, G_CONNECT_REQ),
    G1("ConnectResponse", ConnectResponse, G_CONNECT_RSP),
    G1("RequestHeader", RequestHeader, G_REQ_HDR),
    G1("ReplyHeader", ReplyHeader, G_REPLY_HDR),
    G1("CreateRequest", CreateRequest, G_CREATE_REQ),
    G1("Stat", Stat, G_STAT),
    G1("GetChildren2Response", GetChildren2Response, G_CHILDREN2),
    G1("MultiHeader", MultiHeader, G_MULTI_HDR),
    G1("MultiHeader(end)", MultiHeader, G_MULTI_END),
    G1("SetWatches2", SetWatches2, G_SETWATCHES2),
    { "TxnHeader+CreateTxn", &zkd_TxnHeader_rec, &zkd_CreateTxn_rec, G_TXN_CREATE, sizeof G_TXN_CREATE, 32 },
    G1("MultiTxn", MultiTxn, G_MULTI_TXN),
};

/* Decodes @len bytes of golden @g from an exact-size heap copy. */
static int decode_prefix(const golden *g, size_t len, void *o1, void *o2, kz_arena *a, size_t *consumed)
{
    uint8_t *b = len ? malloc(len) : NULL;
    if (len)
        memcpy(b, g->bytes, len);
    kz_rd r = kz_rd_init(b, len);
    int rc = kz_jute_decode(g->rec, &r, o1, a);
    if (!rc && g->rec2)
        rc = kz_jute_decode(g->rec2, &r, o2, a);
    ck_assert(r.p <= r.end);
    if (rc)
        ck_assert_int_eq(rc, r.err);
    if (consumed)
        *consumed = (size_t)(r.p - b);
    free(b);
    return rc;
}

/* 16 (loop). every golden: decode consumes exactly all bytes, re-encoding
 *     gives the same bytes, kz_jute_size agrees, and every strict prefix
 *     fails with KZ_ESHORT or KZ_ECORRUPT. */
START_TEST(t16_golden_roundtrip)
{
    const golden *g = &GOLDEN[_i];
    union {
        zkd_CreateRequest cr;
        zkd_SetWatches2 sw;
        zkd_GetChildren2Response gc;
        zkd_ConnectRequest cq;
        zkd_TxnHeader th;
        zkd_MultiTxn mt;
        uint8_t raw[512];
    } o1, o2;
    ck_assert_uint_le(g->rec->size, sizeof o1);
    kz_arena a = KZ_ARENA_INIT;
    /* the decoded values must not depend on borrowed bytes: encode from a
     * second, heap copy that is still alive */
    uint8_t *b = malloc(g->len);
    memcpy(b, g->bytes, g->len);
    kz_rd r = kz_rd_init(b, g->len);
    ck_assert_int_eq(kz_jute_decode(g->rec, &r, &o1, &a), 0);
    ck_assert_uint_eq((size_t)(r.p - b), g->len1);
    if (g->rec2)
        ck_assert_int_eq(kz_jute_decode(g->rec2, &r, &o2, &a), 0);
    ck_assert_int_eq(r.err, 0);
    ck_assert_uint_eq(kz_rd_left(&r), 0);
    size_t sz = kz_jute_size(g->rec, &o1) + (g->rec2 ? kz_jute_size(g->rec2, &o2) : 0);
    ck_assert_uint_eq(sz, g->len);
    ck_assert_uint_eq(kz_jute_size(g->rec, &o1), g->len1);
    kz_wr w = KZ_WR_INIT;
    kz_jute_encode(g->rec, &o1, &w);
    if (g->rec2)
        kz_jute_encode(g->rec2, &o2, &w);
    ck_assert_int_eq(w.err, 0);
    ck_assert_uint_eq(w.len, g->len);
    ck_assert_msg(memcmp(w.base, g->bytes, g->len) == 0, "%s: re-encoded bytes differ", g->name);
    kz_wr_free(&w);
    free(b);
    kz_arena_reset(&a);

    for (size_t len = 0; len < g->len; len++) {
        size_t used;
        int rc = decode_prefix(g, len, &o1, &o2, &a, &used);
        ck_assert_msg(rc == KZ_ESHORT || rc == KZ_ECORRUPT, "%s: prefix %zu gave %d", g->name, len, rc);
        ck_assert_uint_le(used, len);
        kz_arena_reset(&a);
    }
}
END_TEST

static void chk_stat(const zkd_Stat *st)
{
    ck_assert_int_eq(st->czxid, 0x100000001LL);
    ck_assert_int_eq(st->mzxid, 0x200000002LL);
    ck_assert_int_eq(st->ctime, 0x18b2c3d4e5fLL);
    ck_assert_int_eq(st->mtime, 0x18b2c3d4e60LL);
    ck_assert_int_eq(st->version, 7);
    ck_assert_int_eq(st->cversion, -1);
    ck_assert_int_eq(st->aversion, 2);
    ck_assert_int_eq(st->ephemeralOwner, INT64_MIN);
    ck_assert_int_eq(st->dataLength, 5);
    ck_assert_int_eq(st->numChildren, 6);
    ck_assert_int_eq(st->pzxid, 0x300000004LL);
}

static const zkd_Stat STAT_VAL = { 0x100000001LL, 0x200000002LL, 0x18b2c3d4e5fLL, 0x18b2c3d4e60LL, 7, -1, 2,
                                   INT64_MIN, 5, 6, 0x300000004LL };

static void expect_encoding(const kz_jrec *rec, const void *in, const uint8_t *want, size_t len)
{
    kz_wr w = KZ_WR_INIT;
    kz_jute_encode(rec, in, &w);
    ck_assert_int_eq(w.err, 0);
    ck_assert_uint_eq(w.len, len);
    ck_assert_msg(memcmp(w.base, want, len) == 0, "%s: encoding differs", rec->name);
    ck_assert_uint_eq(kz_jute_size(rec, in), len);
    kz_wr_free(&w);
}

/* 17. session handshake records: every field, and encoding from values. */
START_TEST(t17_connect)
{
    kz_arena a = KZ_ARENA_INIT;
    zkd_ConnectRequest cq;
    kz_rd r = kz_rd_init(G_CONNECT_REQ, sizeof G_CONNECT_REQ);
    ck_assert_int_eq(zkd_decode(ConnectRequest, &r, &cq, &a), 0);
    ck_assert_int_eq(cq.protocolVersion, 0);
    ck_assert_int_eq(cq.lastZxidSeen, 0x100000005LL);
    ck_assert_int_eq(cq.timeOut, 30000);
    ck_assert_int_eq(cq.sessionId, 0x100000b0c9a20000LL);
    ck_assert_int_eq(cq.passwd.len, 16);
    ck_assert_ptr_eq(cq.passwd.s, (const char *)G_CONNECT_REQ + 28); /* zero copy */
    for (int i = 0; i < 16; i++)
        ck_assert_uint_eq((uint8_t)cq.passwd.s[i], 0xa0 + i);
    ck_assert_ptr_null(a.head); /* no vectors: no arena use */
    /* the optional readOnly byte after the record is left for the caller */
    uint8_t with_ro[sizeof G_CONNECT_REQ + 1];
    memcpy(with_ro, G_CONNECT_REQ, sizeof G_CONNECT_REQ);
    with_ro[sizeof G_CONNECT_REQ] = 1;
    r = kz_rd_init(with_ro, sizeof with_ro);
    ck_assert_int_eq(zkd_decode(ConnectRequest, &r, &cq, &a), 0);
    ck_assert_uint_eq(kz_rd_left(&r), 1);
    ck_assert_uint_eq(kz_rd_u8(&r), 1);

    uint8_t pw[16];
    for (int i = 0; i < 16; i++)
        pw[i] = (uint8_t)(0xf0 + i);
    zkd_ConnectResponse cr = { 0, 4000, 0x100000b0c9a20001LL, { (const char *)pw, 16 } };
    expect_encoding(&zkd_ConnectResponse_rec, &cr, G_CONNECT_RSP, sizeof G_CONNECT_RSP);
    zkd_ConnectResponse back;
    r = kz_rd_init(G_CONNECT_RSP, sizeof G_CONNECT_RSP);
    ck_assert_int_eq(zkd_decode(ConnectResponse, &r, &back, &a), 0);
    ck_assert_int_eq(back.protocolVersion, 0);
    ck_assert_int_eq(back.timeOut, 4000);
    ck_assert_int_eq(back.sessionId, 0x100000b0c9a20001LL);
    ck_assert(kz_str_eq(back.passwd, cr.passwd));
    /* a null passwd is -1 and an empty one 0: they stay distinct */
    zkd_ConnectResponse dead = { 0, 0, 0, KZ_STR_NULL };
    static const uint8_t dead_b[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff };
    expect_encoding(&zkd_ConnectResponse_rec, &dead, dead_b, sizeof dead_b);
    r = kz_rd_init(dead_b, sizeof dead_b);
    ck_assert_int_eq(zkd_decode(ConnectResponse, &r, &back, &a), 0);
    ck_assert_int_eq(back.passwd.len, -1);
    ck_assert_ptr_null(back.passwd.s);
    kz_arena_reset(&a);
}
END_TEST

/* 18. request/reply/multi headers. */
START_TEST(t18_headers)
{
    kz_arena a = KZ_ARENA_INIT;
    zkd_RequestHeader rq = { -2, 11 };
    expect_encoding(&zkd_RequestHeader_rec, &rq, G_REQ_HDR, sizeof G_REQ_HDR);
    kz_rd r = kz_rd_init(G_REQ_HDR, sizeof G_REQ_HDR);
    ck_assert_int_eq(zkd_decode(RequestHeader, &r, &rq, &a), 0);
    ck_assert_int_eq(rq.xid, -2);
    ck_assert_int_eq(rq.type, 11);

    zkd_ReplyHeader rh = { 5, 0x100000003LL, -101 };
    expect_encoding(&zkd_ReplyHeader_rec, &rh, G_REPLY_HDR, sizeof G_REPLY_HDR);
    memset(&rh, 0x55, sizeof rh);
    r = kz_rd_init(G_REPLY_HDR, sizeof G_REPLY_HDR);
    ck_assert_int_eq(zkd_decode(ReplyHeader, &r, &rh, &a), 0);
    ck_assert_int_eq(rh.xid, 5);
    ck_assert_int_eq(rh.zxid, 0x100000003LL);
    ck_assert_int_eq(rh.err, -101);
    zkd_ReplyHeader ev = { -1, -1, 0 };
    static const uint8_t ev_b[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0 };
    expect_encoding(&zkd_ReplyHeader_rec, &ev, ev_b, sizeof ev_b);

    zkd_MultiHeader mh = { 1, false, -1 };
    expect_encoding(&zkd_MultiHeader_rec, &mh, G_MULTI_HDR, sizeof G_MULTI_HDR);
    zkd_MultiHeader end = { -1, true, -1 };
    expect_encoding(&zkd_MultiHeader_rec, &end, G_MULTI_END, sizeof G_MULTI_END);
    r = kz_rd_init(G_MULTI_END, sizeof G_MULTI_END);
    ck_assert_int_eq(zkd_decode(MultiHeader, &r, &mh, &a), 0);
    ck_assert_int_eq(mh.type, -1);
    ck_assert(mh.done);
    ck_assert_int_eq(mh.err, -1);
    /* any non-zero byte reads as true (BinaryInputArchive.readBool) and is
     * written back as 1 */
    static const uint8_t b2[] = { 0, 0, 0, 2, 0x02, 0, 0, 0, 0 };
    r = kz_rd_init(b2, sizeof b2);
    ck_assert_int_eq(zkd_decode(MultiHeader, &r, &mh, &a), 0);
    ck_assert(mh.done);
    static const uint8_t b2_out[] = { 0, 0, 0, 2, 0x01, 0, 0, 0, 0 };
    expect_encoding(&zkd_MultiHeader_rec, &mh, b2_out, sizeof b2_out);
    kz_arena_reset(&a);
}
END_TEST

/* 19. CreateRequest with a vector of two ACLs. */
START_TEST(t19_create_request)
{
    kz_arena a = KZ_ARENA_INIT;
    zkd_CreateRequest cr;
    kz_rd r = kz_rd_init(G_CREATE_REQ, sizeof G_CREATE_REQ);
    ck_assert_int_eq(zkd_decode(CreateRequest, &r, &cr, &a), 0);
    ck_assert(str_is(cr.path, "/app/node"));
    ck_assert_int_eq(cr.data.len, 3);
    ck_assert_int_eq(memcmp(cr.data.s, "\x00\xff\x7f", 3), 0);
    ck_assert_int_eq(cr.acl.n, 2);
    const zkd_ACL *acl = cr.acl.v;
    ck_assert_ptr_nonnull(acl);
    ck_assert_uint_eq((uintptr_t)acl % 16, 0); /* from the arena */
    ck_assert_int_eq(acl[0].perms, 31);
    ck_assert(str_is(acl[0].id.scheme, "world"));
    ck_assert(str_is(acl[0].id.id, "anyone"));
    ck_assert_int_eq(acl[1].perms, 1);
    ck_assert(str_is(acl[1].id.scheme, "digest"));
    ck_assert(str_is(acl[1].id.id, "u:p"));
    ck_assert_int_eq(cr.flags, 3);
    ck_assert_uint_eq(kz_jute_size(&zkd_CreateRequest_rec, &cr), 72);

    zkd_ACL acls[2] = { { 31, { KZ_STR_LIT("world"), KZ_STR_LIT("anyone") } },
                        { 1, { KZ_STR_LIT("digest"), KZ_STR_LIT("u:p") } } };
    zkd_CreateRequest in = { KZ_STR_LIT("/app/node"), { "\x00\xff\x7f", 3 }, { 2, acls }, 3 };
    expect_encoding(&zkd_CreateRequest_rec, &in, G_CREATE_REQ, sizeof G_CREATE_REQ);

    /* null path, null data, null ACL vector */
    zkd_CreateRequest nul = { KZ_STR_NULL, KZ_STR_NULL, { -1, NULL }, 0 };
    static const uint8_t nul_b[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0 };
    expect_encoding(&zkd_CreateRequest_rec, &nul, nul_b, sizeof nul_b);
    r = kz_rd_init(nul_b, sizeof nul_b);
    ck_assert_int_eq(zkd_decode(CreateRequest, &r, &cr, &a), 0);
    ck_assert_int_eq(cr.path.len, -1);
    ck_assert_int_eq(cr.data.len, -1);
    ck_assert_int_eq(cr.acl.n, -1);
    ck_assert_ptr_null(cr.acl.v);
    kz_arena_reset(&a);
}
END_TEST

/* 20. Stat and GetChildren2Response (vector<ustring> + Stat). */
START_TEST(t20_stat_children)
{
    kz_arena a = KZ_ARENA_INIT;
    expect_encoding(&zkd_Stat_rec, &STAT_VAL, G_STAT, sizeof G_STAT);
    ck_assert_uint_eq(sizeof G_STAT, 68);
    zkd_Stat st;
    kz_rd r = kz_rd_init(G_STAT, sizeof G_STAT);
    ck_assert_int_eq(zkd_decode(Stat, &r, &st, &a), 0);
    chk_stat(&st);

    zkd_GetChildren2Response gc;
    r = kz_rd_init(G_CHILDREN2, sizeof G_CHILDREN2);
    ck_assert_int_eq(zkd_decode(GetChildren2Response, &r, &gc, &a), 0);
    ck_assert_int_eq(gc.children.n, 3);
    const kz_str *ch = gc.children.v;
    ck_assert(str_is(ch[0], "a"));
    ck_assert(str_is(ch[1], "bc"));
    ck_assert_int_eq(ch[2].len, 0);
    ck_assert_ptr_nonnull(ch[2].s); /* "" is not null */
    chk_stat(&gc.stat);

    kz_str names[3] = { KZ_STR_LIT("a"), KZ_STR_LIT("bc"), KZ_STR_LIT("") };
    zkd_GetChildren2Response in = { { 3, names }, STAT_VAL };
    expect_encoding(&zkd_GetChildren2Response_rec, &in, G_CHILDREN2, sizeof G_CHILDREN2);
    /* an empty vector is a count of 0; a null one -1 */
    zkd_GetChildren2Response e = { { 0, NULL }, STAT_VAL };
    kz_wr w = KZ_WR_INIT;
    kz_jute_encode(&zkd_GetChildren2Response_rec, &e, &w);
    ck_assert_uint_eq(w.len, 72);
    ck_assert_int_eq(memcmp(w.base, "\0\0\0\0", 4), 0);
    ck_assert_int_eq(memcmp(w.base + 4, G_STAT, 68), 0);
    r = kz_rd_init(w.base, w.len);
    ck_assert_int_eq(zkd_decode(GetChildren2Response, &r, &gc, &a), 0);
    ck_assert_int_eq(gc.children.n, 0);
    ck_assert_ptr_null(gc.children.v);
    kz_wr_free(&w);
    kz_arena_reset(&a);
}
END_TEST

/* 21. SetWatches2 with empty and null vectors. */
START_TEST(t21_setwatches2)
{
    kz_arena a = KZ_ARENA_INIT;
    zkd_SetWatches2 sw;
    kz_rd r = kz_rd_init(G_SETWATCHES2, sizeof G_SETWATCHES2);
    ck_assert_int_eq(zkd_decode(SetWatches2, &r, &sw, &a), 0);
    ck_assert_int_eq(sw.relativeZxid, 0x100000010LL);
    ck_assert_int_eq(sw.dataWatches.n, 1);
    ck_assert(str_is(((const kz_str *)sw.dataWatches.v)[0], "/a"));
    ck_assert_int_eq(sw.existWatches.n, 0);
    ck_assert_ptr_null(sw.existWatches.v);
    ck_assert_int_eq(sw.childWatches.n, -1);
    ck_assert_ptr_null(sw.childWatches.v);
    ck_assert_int_eq(sw.persistentWatches.n, 2);
    ck_assert(str_is(((const kz_str *)sw.persistentWatches.v)[0], "/b"));
    ck_assert(str_is(((const kz_str *)sw.persistentWatches.v)[1], "/c"));
    ck_assert_int_eq(sw.persistentRecursiveWatches.n, -1);

    kz_str d[1] = { KZ_STR_LIT("/a") }, p[2] = { KZ_STR_LIT("/b"), KZ_STR_LIT("/c") };
    zkd_SetWatches2 in = { 0x100000010LL, { 1, d }, { 0, NULL }, { -1, NULL }, { 2, p }, { -1, NULL } };
    expect_encoding(&zkd_SetWatches2_rec, &in, G_SETWATCHES2, sizeof G_SETWATCHES2);
    kz_arena_reset(&a);
}
END_TEST

/* 22. a txn-log body: TxnHeader + CreateTxn, and MultiTxn with 2 Txn. */
START_TEST(t22_txns)
{
    kz_arena a = KZ_ARENA_INIT;
    zkd_TxnHeader th;
    zkd_CreateTxn ct;
    kz_rd r = kz_rd_init(G_TXN_CREATE, sizeof G_TXN_CREATE);
    ck_assert_int_eq(zkd_decode(TxnHeader, &r, &th, &a), 0);
    ck_assert_int_eq(zkd_decode(CreateTxn, &r, &ct, &a), 0);
    ck_assert_uint_eq(kz_rd_left(&r), 0);
    ck_assert_int_eq(th.clientId, 0x100000b0c9a20000LL);
    ck_assert_int_eq(th.cxid, 3);
    ck_assert_int_eq(th.zxid, 0x100000007LL);
    ck_assert_int_eq(th.time, 0x18b2c3d4e5fLL);
    ck_assert_int_eq(th.type, 1);
    ck_assert(str_is(ct.path, "/e"));
    ck_assert_int_eq(ct.data.len, -1);
    ck_assert_int_eq(ct.acl.n, 1);
    const zkd_ACL *acl = ct.acl.v;
    ck_assert_int_eq(acl[0].perms, 31);
    ck_assert(str_is(acl[0].id.scheme, "world"));
    ck_assert(str_is(acl[0].id.id, "anyone"));
    ck_assert(ct.ephemeral);
    ck_assert_int_eq(ct.parentCVersion, 4);

    zkd_ACL world = { 31, { KZ_STR_LIT("world"), KZ_STR_LIT("anyone") } };
    zkd_TxnHeader thv = { 0x100000b0c9a20000LL, 3, 0x100000007LL, 0x18b2c3d4e5fLL, 1 };
    zkd_CreateTxn ctv = { KZ_STR_LIT("/e"), KZ_STR_NULL, { 1, &world }, true, 4 };
    kz_wr w = KZ_WR_INIT;
    zkd_encode(TxnHeader, &thv, &w);
    ck_assert_uint_eq(w.len, 32);
    zkd_encode(CreateTxn, &ctv, &w);
    ck_assert_uint_eq(w.len, sizeof G_TXN_CREATE);
    ck_assert_int_eq(memcmp(w.base, G_TXN_CREATE, w.len), 0);
    kz_wr_free(&w);

    zkd_MultiTxn mt;
    r = kz_rd_init(G_MULTI_TXN, sizeof G_MULTI_TXN);
    ck_assert_int_eq(zkd_decode(MultiTxn, &r, &mt, &a), 0);
    ck_assert_int_eq(mt.txns.n, 2);
    const zkd_Txn *t = mt.txns.v;
    ck_assert_int_eq(t[0].type, 2);
    ck_assert_int_eq(t[0].data.len, 6);
    ck_assert_ptr_eq(t[0].data.s, (const char *)G_MULTI_TXN + 12);
    /* the sub-txn's bytes decode as the record for its type */
    zkd_DeleteTxn dt;
    kz_rd sub = kz_rd_init(t[0].data.s, (size_t)t[0].data.len);
    ck_assert_int_eq(zkd_decode(DeleteTxn, &sub, &dt, &a), 0);
    ck_assert(str_is(dt.path, "/x"));
    ck_assert_int_eq(t[1].type, -1);
    zkd_ErrorTxn et;
    sub = kz_rd_init(t[1].data.s, (size_t)t[1].data.len);
    ck_assert_int_eq(zkd_decode(ErrorTxn, &sub, &et, &a), 0);
    ck_assert_int_eq(et.err, -101);
    ck_assert_uint_eq(kz_rd_left(&sub), 0);

    zkd_Txn tv[2] = { { 2, { "\0\0\0\2/x", 6 } }, { -1, { "\xff\xff\xff\x9b", 4 } } };
    zkd_MultiTxn mtv = { { 2, tv } };
    expect_encoding(&zkd_MultiTxn_rec, &mtv, G_MULTI_TXN, sizeof G_MULTI_TXN);
    kz_arena_reset(&a);
}
END_TEST

/* 23. hostile vector counts: bounded by the bytes left (KZ_ECORRUPT before
 *     any allocation), -1 is null, other negatives are corrupt. */
START_TEST(t23_vector_counts)
{
    kz_arena a = KZ_ARENA_INIT;
    zkd_StringsResponse sr;
    /* 3 empty strings need exactly 12 bytes */
    static const uint8_t ok3[] = { 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    kz_rd r = kz_rd_init(ok3, sizeof ok3);
    ck_assert_int_eq(zkd_decode(StringsResponse, &r, &sr, &a), 0);
    ck_assert_int_eq(sr.strings.n, 3);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(((const kz_str *)sr.strings.v)[i].len, 0);
    kz_arena_reset(&a);
    /* 4 cannot fit in 12 */
    static const uint8_t bad4[] = { 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    r = kz_rd_init(bad4, sizeof bad4);
    ck_assert_int_eq(zkd_decode(StringsResponse, &r, &sr, &a), KZ_ECORRUPT);
    ck_assert_int_eq(r.err, KZ_ECORRUPT);
    ck_assert_ptr_null(a.head);
    /* 3 in 11 bytes */
    r = kz_rd_init(ok3, sizeof ok3 - 1);
    ck_assert_int_eq(zkd_decode(StringsResponse, &r, &sr, &a), KZ_ECORRUPT);
    ck_assert_ptr_null(a.head);
    /* INT32_MAX elements announced in an 8-byte frame */
    static const uint8_t huge[] = { 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1, 'x' };
    r = kz_rd_init(huge, sizeof huge);
    ck_assert_int_eq(zkd_decode(StringsResponse, &r, &sr, &a), KZ_ECORRUPT);
    ck_assert_ptr_null(a.head);
    /* vector<ACL>: an ACL needs at least 12 bytes */
    static const uint8_t acl1000[] = { 0, 0, 0, 1, '/', 0xff, 0xff, 0xff, 0xff, 0, 0, 0x03, 0xe8,
                                       0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    zkd_CreateRequest cr;
    r = kz_rd_init(acl1000, sizeof acl1000);
    ck_assert_int_eq(zkd_decode(CreateRequest, &r, &cr, &a), KZ_ECORRUPT);
    ck_assert_ptr_null(a.head);
    /* vector<Txn>: 8 bytes minimum each */
    static const uint8_t txn2[] = { 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1 };
    zkd_MultiTxn mt;
    r = kz_rd_init(txn2, sizeof txn2);
    ck_assert_int_eq(zkd_decode(MultiTxn, &r, &mt, &a), KZ_ECORRUPT); /* 12 left < 16 */
    r = kz_rd_init(txn2, sizeof txn2 - 4);
    ck_assert_int_eq(zkd_decode(MultiTxn, &r, &mt, &a), KZ_ECORRUPT);
    static const uint8_t txn1[] = { 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0 };
    r = kz_rd_init(txn1, sizeof txn1);
    ck_assert_int_eq(zkd_decode(MultiTxn, &r, &mt, &a), 0);
    ck_assert_int_eq(mt.txns.n, 1);
    ck_assert_int_eq(((const zkd_Txn *)mt.txns.v)[0].type, 1);
    ck_assert_int_eq(((const zkd_Txn *)mt.txns.v)[0].data.len, 0);
    kz_arena_reset(&a);
    /* the count fits but an element is cut short: short, not corrupt */
    static const uint8_t cut[] = { 0, 0, 0, 1, 0, 0, 0, 5, 'a', 'b' };
    r = kz_rd_init(cut, sizeof cut);
    ck_assert_int_eq(zkd_decode(StringsResponse, &r, &sr, &a), KZ_ESHORT);
    kz_arena_reset(&a);
    /* -1 is a null vector, -2 and INT32_MIN are corrupt */
    static const uint8_t m1[] = { 0xff, 0xff, 0xff, 0xff };
    r = kz_rd_init(m1, sizeof m1);
    ck_assert_int_eq(zkd_decode(StringsResponse, &r, &sr, &a), 0);
    ck_assert_int_eq(sr.strings.n, -1);
    ck_assert_ptr_null(sr.strings.v);
    static const uint8_t m2[] = { 0xff, 0xff, 0xff, 0xfe };
    r = kz_rd_init(m2, sizeof m2);
    ck_assert_int_eq(zkd_decode(StringsResponse, &r, &sr, &a), KZ_ECORRUPT);
    static const uint8_t mmin[] = { 0x80, 0, 0, 0, 0, 0, 0, 0 };
    r = kz_rd_init(mmin, sizeof mmin);
    ck_assert_int_eq(zkd_decode(StringsResponse, &r, &sr, &a), KZ_ECORRUPT);
    ck_assert_ptr_null(a.head);
    /* an error inside a nested record stops the decode */
    static const uint8_t badacl[] = { 0, 0, 0, 1, '/', 0, 0, 0, 0, 0, 0, 0, 1,
                                      0, 0, 0, 31, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 0, 0, 0, 0, 0 };
    r = kz_rd_init(badacl, sizeof badacl);
    ck_assert_int_eq(zkd_decode(CreateRequest, &r, &cr, &a), KZ_ECORRUPT);
    ck_assert_ptr_eq(r.p, badacl + 21);
    kz_arena_reset(&a);
}
END_TEST

/* 24. a decode starts from a zeroed struct and an encode of a decode of
 *     random-ish garbage never exceeds the input (no invented bytes). */
START_TEST(t24_decode_zeroes)
{
    kz_arena a = KZ_ARENA_INIT;
    zkd_ReplyHeader rh;
    memset(&rh, 0xee, sizeof rh);
    static const uint8_t two[] = { 0, 0, 0, 9, 0 };
    kz_rd r = kz_rd_init(two, sizeof two);
    ck_assert_int_eq(zkd_decode(ReplyHeader, &r, &rh, &a), KZ_ESHORT);
    ck_assert_int_eq(rh.xid, 9);
    ck_assert_int_eq(rh.zxid, 0); /* not 0xeeee... */
    ck_assert_int_eq(rh.err, 0);
    rnd_state = 12345;
    for (int round = 0; round < 2000; round++) {
        uint8_t buf[64];
        size_t len = rnd() % sizeof buf;
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)(rnd() % 4 == 0 ? 0xff : rnd() % 3);
        uint8_t *b = malloc(len ? len : 1);
        memcpy(b, buf, len);
        zkd_SetWatches2 sw;
        r = kz_rd_init(b, len);
        int rc = zkd_decode(SetWatches2, &r, &sw, &a);
        ck_assert(rc == 0 || rc == KZ_ESHORT || rc == KZ_ECORRUPT);
        if (rc == 0) {
            size_t used = (size_t)(r.p - b);
            kz_wr w = KZ_WR_INIT;
            zkd_encode(SetWatches2, &sw, &w);
            ck_assert_uint_eq(w.len, used);
            ck_assert_int_eq(memcmp(w.base, b, used), 0);
            kz_wr_free(&w);
        }
        free(b);
        kz_arena_reset(&a);
    }
}
END_TEST

static Suite *wire_suite(void)
{
    Suite *s = suite_create("wire");
    TCase *tc = tcase_create("rd_wr_arena");
    tcase_add_test(tc, t01_wire_be);
    tcase_add_test(tc, t02_rd_boundaries);
    tcase_add_test(tc, t03_rd_sticky);
    tcase_add_test(tc, t04_rd_str);
    tcase_add_test(tc, t05_wr_bytes);
    tcase_add_test(tc, t06_wr_growth);
    tcase_add_test(tc, t07_wr_patch);
    tcase_add_test(tc, t08_wr_steal_err);
    tcase_add_test(tc, t09_arena_align);
    tcase_add_test(tc, t10_arena_large);
    tcase_add_test(tc, t11_arena_strdup);
    suite_add_tcase(s, tc);
    tc = tcase_create("map");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, t12_map_basic);
    tcase_add_test(tc, t13_map_probe_runs);
    tcase_add_test(tc, t14_map_reference);
    tcase_add_test(tc, t15_map_growth);
    suite_add_tcase(s, tc);
    tc = tcase_create("jute");
    tcase_add_loop_test(tc, t16_golden_roundtrip, 0, (int)N_(GOLDEN));
    tcase_add_test(tc, t17_connect);
    tcase_add_test(tc, t18_headers);
    tcase_add_test(tc, t19_create_request);
    tcase_add_test(tc, t20_stat_children);
    tcase_add_test(tc, t21_setwatches2);
    tcase_add_test(tc, t22_txns);
    tcase_add_test(tc, t23_vector_counts);
    tcase_add_test(tc, t24_decode_zeroes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ut_run(wire_suite());
}
