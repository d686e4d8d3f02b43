/* test/unit/check_kwire.c -- Kafka's wire forms on the common cursors:
 * unsigned and zigzag varints/varlongs at every 7-bit boundary and the type
 * extremes with their exact bytes, every truncated prefix (KZ_ESHORT, cursor
 * not moved) and every too-long or overflowing encoding (KZ_ECORRUPT);
 * compact strings/bytes/array counts and tagged-field sections, each decoded
 * from an exact-size heap block so that ASan (make unit SAN=1) sees any read
 * past the end. The encodings follow Kafka's ByteUtils (writeUnsignedVarint,
 * writeVarint, writeVarlong) and the record format of KIP-98 / flexible
 * versions of KIP-482. */
#include <check.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kz_buf.h"
#include "kz_wire.h"
#include "unit_util.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

enum { VK_U32, VK_U64, VK_S32, VK_S64 };
typedef struct {
    int kind;
    uint64_t v; /* the value, as its unsigned bit pattern */
    const char *bytes;
    size_t len;
} vcase;
#define VC(kind, v, lit) { kind, (uint64_t)(v), lit, sizeof(lit) - 1 }

static const vcase VCASES[] = {
    VC(VK_U32, 0, "\x00"),
    VC(VK_U32, 1, "\x01"),
    VC(VK_U32, 63, "\x3f"),
    VC(VK_U32, 64, "\x40"),
    VC(VK_U32, 127, "\x7f"),
    VC(VK_U32, 128, "\x80\x01"),
    VC(VK_U32, 300, "\xac\x02"),
    VC(VK_U32, 16383, "\xff\x7f"),
    VC(VK_U32, 16384, "\x80\x80\x01"),
    VC(VK_U32, 2097151, "\xff\xff\x7f"),
    VC(VK_U32, 2097152, "\x80\x80\x80\x01"),
    VC(VK_U32, 268435455, "\xff\xff\xff\x7f"),
    VC(VK_U32, 268435456, "\x80\x80\x80\x80\x01"),
    VC(VK_U32, INT32_MAX, "\xff\xff\xff\xff\x07"),
    VC(VK_U32, UINT32_MAX, "\xff\xff\xff\xff\x0f"),
    VC(VK_U64, 0, "\x00"),
    VC(VK_U64, 128, "\x80\x01"),
    VC(VK_U64, UINT32_MAX, "\xff\xff\xff\xff\x0f"),
    VC(VK_U64, 1ULL << 32, "\x80\x80\x80\x80\x10"),
    VC(VK_U64, (1ULL << 63) - 1, "\xff\xff\xff\xff\xff\xff\xff\xff\x7f"),
    VC(VK_U64, 1ULL << 63, "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01"),
    VC(VK_U64, UINT64_MAX, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
    VC(VK_S32, 0, "\x00"),
    VC(VK_S32, -1, "\x01"),
    VC(VK_S32, 1, "\x02"),
    VC(VK_S32, -2, "\x03"),
    VC(VK_S32, 63, "\x7e"),
    VC(VK_S32, -64, "\x7f"),
    VC(VK_S32, 64, "\x80\x01"),
    VC(VK_S32, -65, "\x81\x01"),
    VC(VK_S32, 127, "\xfe\x01"),
    VC(VK_S32, 128, "\x80\x02"),
    VC(VK_S32, -128, "\xff\x01"),
    VC(VK_S32, INT32_MAX, "\xfe\xff\xff\xff\x0f"),
    VC(VK_S32, INT32_MIN, "\xff\xff\xff\xff\x0f"),
    VC(VK_S64, 0, "\x00"),
    VC(VK_S64, -1, "\x01"),
    VC(VK_S64, 63, "\x7e"),
    VC(VK_S64, 64, "\x80\x01"),
    VC(VK_S64, -64, "\x7f"),
    VC(VK_S64, -65, "\x81\x01"),
    VC(VK_S64, INT32_MAX, "\xfe\xff\xff\xff\x0f"),
    VC(VK_S64, INT32_MIN, "\xff\xff\xff\xff\x0f"),
    VC(VK_S64, (int64_t)INT32_MIN - 1, "\x81\x80\x80\x80\x10"),
    VC(VK_S64, INT64_MAX, "\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
    VC(VK_S64, INT64_MIN, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
};

static void vc_write(kz_wr *w, int kind, uint64_t v)
{
    switch (kind) {
    case VK_U32: kz_wr_uvarint(w, (uint32_t)v); break;
    case VK_U64: kz_wr_uvarlong(w, v); break;
    case VK_S32: kz_wr_varint(w, (int32_t)(uint32_t)v); break;
    default: kz_wr_varlong(w, (int64_t)v); break;
    }
}
static uint64_t vc_read(kz_rd *r, int kind)
{
    switch (kind) {
    case VK_U32: return kz_rd_uvarint(r);
    case VK_U64: return kz_rd_uvarlong(r);
    case VK_S32: return (uint32_t)kz_rd_varint(r);
    default: return (uint64_t)kz_rd_varlong(r);
    }
}
static size_t vc_size(int kind, uint64_t v)
{
    switch (kind) {
    case VK_U32:
    case VK_U64: return kz_uvarint_size(v);
    case VK_S32: return kz_varint_size((int32_t)(uint32_t)v);
    default: return kz_varlong_size((int64_t)v);
    }
}

/* 25. exact bytes of each case, its size, its decode from an exact block,
 *     and every truncated prefix: KZ_ESHORT, value 0, cursor not moved. */
START_TEST(t25_varint_golden)
{
    const vcase *c = &VCASES[_i];
    kz_wr w = KZ_WR_INIT;
    vc_write(&w, c->kind, c->v);
    ck_assert_int_eq(w.err, 0);
    ck_assert_uint_eq(w.len, c->len);
    ck_assert_int_eq(memcmp(w.base, c->bytes, c->len), 0);
    ck_assert_uint_eq(vc_size(c->kind, c->v), c->len);
    kz_wr_free(&w);

    uint8_t *b = dup_exact(c->bytes, c->len);
    kz_rd r = kz_rd_init(b, c->len);
    /* VK_S32 values are listed sign-extended; the reader returns 32 bits */
    ck_assert_uint_eq(vc_read(&r, c->kind), c->kind == VK_S32 ? (uint32_t)c->v : c->v);
    ck_assert_int_eq(r.err, 0);
    ck_assert_ptr_eq(r.p, b + c->len);
    free(b);
    for (size_t len = 0; len < c->len; len++) {
        b = dup_exact(c->bytes, len);
        r = kz_rd_init(b, len);
        ck_assert_uint_eq(vc_read(&r, c->kind), 0);
        ck_assert_int_eq(r.err, KZ_ESHORT);
        ck_assert_ptr_eq(r.p, b);
        free(b);
    }
}
END_TEST

/* 26. too long or overflowing encodings are corrupt, whatever follows;
 *     non-minimal ones within the width are accepted (as Kafka does). */
START_TEST(t26_varint_corrupt)
{
    static const struct {
        bool wide; /* 64-bit reader */
        const char *b;
        size_t len;
        int err;
        uint64_t v;
        size_t used;
    } c[] = {
#define B(lit) lit, sizeof(lit) - 1
        { false, B("\xff\xff\xff\xff\x10"), KZ_ECORRUPT, 0, 0 },     /* bit 32 */
        { false, B("\xff\xff\xff\xff\x7f"), KZ_ECORRUPT, 0, 0 },
        { false, B("\x80\x80\x80\x80\x80"), KZ_ECORRUPT, 0, 0 },     /* 5th byte continues */
        { false, B("\x80\x80\x80\x80\x80\x00"), KZ_ECORRUPT, 0, 0 }, /* 6 bytes */
        { false, B("\xff\xff\xff\xff\x8f\x00"), KZ_ECORRUPT, 0, 0 },
        { false, B("\x80\x80\x80\x80"), KZ_ESHORT, 0, 0 },
        { false, B("\x80\x00"), 0, 0, 2 },                            /* non-minimal 0 */
        { false, B("\x80\x80\x80\x80\x00\x01"), 0, 0, 5 },
        { false, B("\xff\xff\xff\xff\x0f\xff"), 0, UINT32_MAX, 5 },
        { true, B("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02"), KZ_ECORRUPT, 0, 0 }, /* bit 64 */
        { true, B("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x81\x01"), KZ_ECORRUPT, 0, 0 },
        { true, B("\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80"), KZ_ECORRUPT, 0, 0 },
        { true, B("\x80\x80\x80\x80\x80\x80\x80\x80\x80"), KZ_ESHORT, 0, 0 },
        { true, B("\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00"), 0, 0, 10 },
        { true, B("\xff\xff\xff\xff\x10"), 0, 1ULL << 32 | 0x0fffffff, 5 },
#undef B
    };
    for (size_t i = 0; i < N_(c); i++) {
        uint8_t *b = dup_exact(c[i].b, c[i].len);
        kz_rd r = kz_rd_init(b, c[i].len);
        uint64_t v = c[i].wide ? kz_rd_uvarlong(&r) : kz_rd_uvarint(&r);
        ck_assert_msg(r.err == c[i].err, "case %zu: err %d want %d", i, r.err, c[i].err);
        ck_assert_uint_eq(v, c[i].v);
        ck_assert_ptr_eq(r.p, b + c[i].used);
        if (r.err) { /* sticky: even a fitting read now fails */
            ck_assert_uint_eq(kz_rd_uvarint(&r), 0);
            ck_assert_int_eq(kz_rd_varlong(&r), 0);
            ck_assert_int_eq(r.err, c[i].err);
            ck_assert_ptr_eq(r.p, b);
        }
        /* the signed readers see the same errors */
        r = kz_rd_init(b, c[i].len);
        (void)(c[i].wide ? (uint64_t)kz_rd_varlong(&r) : (uint64_t)kz_rd_varint(&r));
        ck_assert_int_eq(r.err, c[i].err);
        free(b);
    }
    /* raw decoder: never looks at byte @avail even if it is there */
    static const uint8_t two[] = { 0x80, 0x01 };
    uint64_t v = 42;
    ck_assert_int_eq(kz_load_uvarint(two, 1, 32, &v), 0);
    ck_assert_uint_eq(v, 42);
    ck_assert_int_eq(kz_load_uvarint(two, 2, 32, &v), 2);
    ck_assert_uint_eq(v, 128);
    ck_assert_int_eq(kz_load_uvarint(NULL, 0, 64, &v), 0);
    /* an empty NULL payload */
    kz_rd r = kz_rd_init(NULL, 0);
    ck_assert_uint_eq(kz_rd_uvarint(&r), 0);
    ck_assert_int_eq(r.err, KZ_ESHORT);
}
END_TEST

/* 27. random values of every bit length, a mixed stream written then read
 *     back in order, sizes matching, the whole stream consumed. */
START_TEST(t27_varint_stream)
{
    enum { N = 4000 };
    static int kind[N];
    static uint64_t val[N];
    rnd_state = 0xA4093822299F31D0ULL;
    kz_wr w = KZ_WR_INIT;
    size_t want_len = 0;
    for (int i = 0; i < N; i++) {
        kind[i] = (int)(rnd() % 4);
        unsigned bits = (unsigned)(rnd() % 65);
        uint64_t v = bits == 64 ? rnd() : rnd() & ((1ULL << bits) - 1);
        if (rnd() % 8 == 0) /* near a 7-bit boundary */
            v = (1ULL << (7 * (rnd() % 10))) - (rnd() % 3);
        if (kind[i] == VK_U32 || kind[i] == VK_S32)
            v = (uint32_t)v;
        val[i] = v;
        vc_write(&w, kind[i], v);
        want_len += vc_size(kind[i], v);
        ck_assert_uint_eq(w.len, want_len);
    }
    ck_assert_int_eq(w.err, 0);
    uint8_t *b = dup_exact(w.base, w.len);
    kz_rd r = kz_rd_init(b, w.len);
    for (int i = 0; i < N; i++)
        ck_assert_uint_eq(vc_read(&r, kind[i]), val[i]);
    ck_assert_int_eq(r.err, 0);
    ck_assert_uint_eq(kz_rd_left(&r), 0);
    ck_assert_uint_eq(vc_read(&r, VK_U32), 0);
    ck_assert_int_eq(r.err, KZ_ESHORT);
    free(b);
    kz_wr_free(&w);
    /* zigzag is a bijection at the extremes */
    ck_assert_uint_eq(kz_zigzag32(INT32_MIN), UINT32_MAX);
    ck_assert_uint_eq(kz_zigzag32(INT32_MAX), UINT32_MAX - 1);
    ck_assert_int_eq(kz_unzigzag32(UINT32_MAX), INT32_MIN);
    ck_assert_uint_eq(kz_zigzag64(INT64_MIN), UINT64_MAX);
    ck_assert_int_eq(kz_unzigzag64(UINT64_MAX - 1), INT64_MAX);
}
END_TEST

/* 28. compact strings/bytes and compact array counts. */
START_TEST(t28_compact)
{
    kz_wr w = KZ_WR_INIT;
    kz_wr_compact_str(&w, KZ_STR_NULL);
    kz_wr_compact_str(&w, KZ_STR_LIT(""));
    kz_wr_compact_str(&w, KZ_STR_LIT("abc"));
    kz_wr_compact_bytes(&w, (kz_str){ "\x00\xff", 2 });
    ck_assert_uint_eq(w.len, 1 + 1 + 4 + 3);
    ck_assert_int_eq(memcmp(w.base, "\x00\x01\x04" "abc" "\x03\x00\xff", w.len), 0);
    char big[127];
    memset(big, 'z', sizeof big);
    kz_wr_compact_str(&w, (kz_str){ big, 127 }); /* 128 = 80 01 */
    ck_assert_uint_eq(w.len, 9 + 2 + 127);
    ck_assert_int_eq(memcmp(w.base + 9, "\x80\x01", 2), 0);

    uint8_t *b = dup_exact(w.base, w.len);
    kz_rd r = kz_rd_init(b, w.len);
    kz_str s = kz_rd_compact_str(&r);
    ck_assert_int_eq(s.len, -1);
    ck_assert_ptr_null(s.s);
    s = kz_rd_compact_str(&r);
    ck_assert_int_eq(s.len, 0);
    ck_assert_ptr_eq(s.s, (const char *)b + 2); /* "" is not null */
    ck_assert(str_is(kz_rd_compact_str(&r), "abc"));
    s = kz_rd_compact_bytes(&r);
    ck_assert_int_eq(s.len, 2);
    ck_assert_int_eq(memcmp(s.s, "\x00\xff", 2), 0);
    s = kz_rd_compact_str(&r);
    ck_assert_int_eq(s.len, 127);
    ck_assert_ptr_eq(s.s, (const char *)b + 11);
    ck_assert_int_eq(r.err, 0);
    ck_assert_uint_eq(kz_rd_left(&r), 0);
    free(b);
    /* every truncated prefix of the 127-byte string is short */
    for (size_t len = 0; len < 129; len++) {
        b = dup_exact(w.base + 9, len);
        r = kz_rd_init(b, len);
        s = kz_rd_compact_str(&r);
        ck_assert_int_eq(r.err, KZ_ESHORT);
        ck_assert_int_eq(s.len, -1);
        free(b);
    }
    kz_wr_free(&w);

    static const struct {
        const char *b;
        size_t len;
        int err;
    } bad[] = {
        { "\x05" "ab", 3, KZ_ESHORT },
        { "\xff\xff\xff\xff\x0f", 5, KZ_ECORRUPT },      /* length 0xfffffffe */
        { "\x81\x80\x80\x80\x08", 5, KZ_ECORRUPT },      /* length INT32_MAX + 1 */
        { "\x80\x80\x80\x80\x08" "x", 6, KZ_ESHORT },    /* length INT32_MAX: short */
        { "\x80\x80\x80\x80\x80\x01", 6, KZ_ECORRUPT },  /* overlong length */
    };
    for (size_t i = 0; i < N_(bad); i++) {
        b = dup_exact(bad[i].b, bad[i].len);
        r = kz_rd_init(b, bad[i].len);
        s = kz_rd_compact_str(&r);
        ck_assert_msg(r.err == bad[i].err, "bad %zu: err %d", i, r.err);
        ck_assert_int_eq(s.len, -1);
        ck_assert_ptr_null(s.s);
        free(b);
    }

    /* compact array counts */
    w = KZ_WR_INIT;
    kz_wr_compact_count(&w, -1);
    kz_wr_compact_count(&w, 0);
    kz_wr_compact_count(&w, 127);
    ck_assert_uint_eq(w.len, 4);
    ck_assert_int_eq(memcmp(w.base, "\x00\x01\x80\x01", 4), 0);
    kz_wr_free(&w);
    static const uint8_t cnt[] = { 0x00, 0x01, 0x04, 1, 2, 3 };
    r = kz_rd_init(cnt, sizeof cnt);
    ck_assert_int_eq(kz_rd_compact_count(&r, 1), -1);
    ck_assert_int_eq(kz_rd_compact_count(&r, 1), 0);
    ck_assert_int_eq(kz_rd_compact_count(&r, 1), 3); /* 3 fit in 3 */
    ck_assert_int_eq(r.err, 0);
    r = kz_rd_init(cnt + 2, 3); /* 3 in 2 */
    ck_assert_int_eq(kz_rd_compact_count(&r, 1), -1);
    ck_assert_int_eq(r.err, KZ_ECORRUPT);
    r = kz_rd_init(cnt + 2, 4); /* 3 elements of 2 bytes in 3 */
    ck_assert_int_eq(kz_rd_compact_count(&r, 2), -1);
    ck_assert_int_eq(r.err, KZ_ECORRUPT);
    static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 0x0f, 0 };
    r = kz_rd_init(huge, sizeof huge);
    ck_assert_int_eq(kz_rd_compact_count(&r, 1), -1);
    ck_assert_int_eq(r.err, KZ_ECORRUPT);
}
END_TEST

/* 29. tagged-field sections: empty, two unknown fields skipped, hostile
 *     counts and sizes, every truncated prefix. */
START_TEST(t29_tagged_fields)
{
    kz_wr w = KZ_WR_INIT;
    kz_wr_tags_empty(&w);
    ck_assert_uint_eq(w.len, 1);
    ck_assert_int_eq(w.base[0], 0);
    kz_wr_free(&w);

    static const uint8_t empty[] = { 0x00, 0x2a };
    kz_rd r = kz_rd_init(empty, sizeof empty);
    ck_assert_uint_eq(kz_rd_tags_skip(&r), 0);
    ck_assert_int_eq(r.err, 0);
    ck_assert_uint_eq(kz_rd_u8(&r), 0x2a);

    /* tag 0 with 3 bytes, tag 129 with 0 bytes, then one byte of the next field */
    static const uint8_t two[] = { 0x02, 0x00, 0x03, 'x', 'y', 'z', 0x81, 0x01, 0x00, 0x2a };
    uint8_t *b = dup_exact(two, sizeof two);
    r = kz_rd_init(b, sizeof two);
    ck_assert_uint_eq(kz_rd_tags_skip(&r), 2);
    ck_assert_int_eq(r.err, 0);
    ck_assert_ptr_eq(r.p, b + 9);
    free(b);
    for (size_t len = 0; len < 9; len++) {
        b = dup_exact(two, len);
        r = kz_rd_init(b, len);
        ck_assert_uint_eq(kz_rd_tags_skip(&r), 0);
        /* a count of 2 cannot fit in fewer than 4 bytes: corrupt; else short */
        ck_assert_int_eq(r.err, len == 0 || len >= 5 ? KZ_ESHORT : KZ_ECORRUPT);
        ck_assert(r.p >= b && r.p <= b + len);
        free(b);
    }
    static const struct {
        const char *b;
        size_t len;
        int err;
    } bad[] = {
        { "\xff\xff\xff\xff\x0f" "\0\0\0\0\0\0", 11, KZ_ECORRUPT },            /* count */
        { "\x01\x00\x05" "a", 4, KZ_ESHORT },                                  /* size > left */
        { "\x01\x00\xff\xff\xff\xff\x0f" "ab", 9, KZ_ESHORT },                 /* size 4G */
        { "\x01\x80\x80\x80\x80\x80\x00\x00", 8, KZ_ECORRUPT },                /* overlong tag */
        { "\x01\x00\xff\xff\xff\xff\x1f\x00", 8, KZ_ECORRUPT },                /* size overflows */
        { "\x80\x80\x80\x80\x80\x00", 6, KZ_ECORRUPT },                        /* overlong count */
    };
    for (size_t i = 0; i < N_(bad); i++) {
        b = dup_exact(bad[i].b, bad[i].len);
        r = kz_rd_init(b, bad[i].len);
        ck_assert_uint_eq(kz_rd_tags_skip(&r), 0);
        ck_assert_msg(r.err == bad[i].err, "bad %zu: err %d", i, r.err);
        free(b);
    }
    /* a sticky error is kept */
    r = kz_rd_init(empty, sizeof empty);
    r.err = KZ_ECORRUPT;
    ck_assert_uint_eq(kz_rd_tags_skip(&r), 0);
    ck_assert_int_eq(r.err, KZ_ECORRUPT);
    ck_assert_ptr_eq(r.p, empty);
}
END_TEST

/* 30. two real layouts built from the primitives, bytes exact:
 *     - an ApiVersionsRequest v3 body (KIP-511): compact strings
 *       client_software_name and client_software_version, empty tags;
 *     - a RecordBatch v2 record (KIP-98): varint length, int8 attributes,
 *       varlong timestampDelta, varint offsetDelta, varint key length (-1:
 *       null), varint value length + value, varint header count. */
START_TEST(t30_kafka_layouts)
{
    static const uint8_t api_versions[] = { 0x05, 'k', 'c', 'a', 't', 0x06, '1', '.', '7', '.', '0', 0x00 };
    kz_wr w = KZ_WR_INIT;
    kz_wr_compact_str(&w, KZ_STR_LIT("kcat"));
    kz_wr_compact_str(&w, KZ_STR_LIT("1.7.0"));
    kz_wr_tags_empty(&w);
    ck_assert_uint_eq(w.len, sizeof api_versions);
    ck_assert_int_eq(memcmp(w.base, api_versions, w.len), 0);
    kz_wr_free(&w);
    kz_rd r = kz_rd_init(api_versions, sizeof api_versions);
    ck_assert(str_is(kz_rd_compact_str(&r), "kcat"));
    ck_assert(str_is(kz_rd_compact_str(&r), "1.7.0"));
    ck_assert_uint_eq(kz_rd_tags_skip(&r), 0);
    ck_assert_int_eq(r.err, 0);
    ck_assert_uint_eq(kz_rd_left(&r), 0);

    static const uint8_t rec[] = { 0x10, 0x00, 0x00, 0x00, 0x01, 0x04, 'h', 'i', 0x00 };
    w = KZ_WR_INIT;
    size_t body = 1 + kz_varlong_size(0) + kz_varint_size(0) + kz_varint_size(-1) + kz_varint_size(2) + 2 +
                  kz_varint_size(0);
    ck_assert_uint_eq(body, 8);
    kz_wr_varint(&w, (int32_t)body);
    kz_wr_u8(&w, 0);
    kz_wr_varlong(&w, 0);
    kz_wr_varint(&w, 0);
    kz_wr_varint(&w, -1);
    kz_wr_varint(&w, 2);
    kz_wr_bytes(&w, "hi", 2);
    kz_wr_varint(&w, 0);
    ck_assert_uint_eq(w.len, sizeof rec);
    ck_assert_int_eq(memcmp(w.base, rec, w.len), 0);
    kz_wr_free(&w);
    r = kz_rd_init(rec, sizeof rec);
    ck_assert_int_eq(kz_rd_varint(&r), 8);
    ck_assert_uint_eq(kz_rd_u8(&r), 0);
    ck_assert_int_eq(kz_rd_varlong(&r), 0);
    ck_assert_int_eq(kz_rd_varint(&r), 0);
    ck_assert_int_eq(kz_rd_varint(&r), -1);
    ck_assert_int_eq(kz_rd_varint(&r), 2);
    ck_assert_int_eq(memcmp(kz_rd_take(&r, 2), "hi", 2), 0);
    ck_assert_int_eq(kz_rd_varint(&r), 0);
    ck_assert_int_eq(r.err, 0);
    ck_assert_uint_eq(kz_rd_left(&r), 0);
}
END_TEST

static Suite *kwire_suite(void)
{
    Suite *s = suite_create("kwire");
    TCase *tc = tcase_create("kafka");
    tcase_add_loop_test(tc, t25_varint_golden, 0, (int)N_(VCASES));
    tcase_add_test(tc, t26_varint_corrupt);
    tcase_add_test(tc, t27_varint_stream);
    tcase_add_test(tc, t28_compact);
    tcase_add_test(tc, t29_tagged_fields);
    tcase_add_test(tc, t30_kafka_layouts);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ut_run(kwire_suite());
}
