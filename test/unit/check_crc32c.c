/* test/unit/check_crc32c.c -- CRC-32C (common/kz_crc32c).
 *
 * Known answers from RFC 3720 appendix B.4 (iSCSI, the same polynomial and
 * conventions as Kafka's RecordBatch v2 CRC) and the usual "123456789" check
 * value; a bit-at-a-time reference written here from the definition (not
 * sharing the tables under test); chaining over random splits; and the
 * hardware and table paths compared on every length 0..1000 at every start
 * offset 0..7, each input in its own exact-size heap block so that ASan
 * (make unit SAN=1) sees any read past the end. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kz_crc32c.h"

static uint32_t ref_crc32c(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = crc & 1 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    }
    return ~crc;
}

static uint64_t rnd_state;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state >> 12;
    rnd_state ^= rnd_state << 25;
    rnd_state ^= rnd_state >> 27;
    return rnd_state * 2685821657736338717ULL;
}

typedef uint32_t crc_fn(uint32_t, const void *, size_t);
static crc_fn *const IMPLS[] = { kz_crc32c, kz_crc32c_sw, kz_crc32c_hw };
static const char *const IMPL_NAMES[] = { "kz_crc32c", "kz_crc32c_sw", "kz_crc32c_hw" };

/* 1. known answers, through every implementation and the reference. */
START_TEST(t01_vectors)
{
    uint8_t zeros[32], ones[32], inc[32], dec[32];
    memset(zeros, 0, sizeof zeros);
    memset(ones, 0xff, sizeof ones);
    for (int i = 0; i < 32; i++) {
        inc[i] = (uint8_t)i;
        dec[i] = (uint8_t)(31 - i);
    }
    /* RFC 3720 B.4: an iSCSI read command PDU */
    static const uint8_t iscsi[48] = { 0x01, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                       0x14, 0, 0, 0, 0, 0, 0x04, 0, 0, 0, 0, 0x14, 0, 0, 0, 0x18,
                                       0x28, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0 };
    struct {
        const void *p;
        size_t n;
        uint32_t want;
    } v[] = {
        { "123456789", 9, 0xE3069283u },
        { zeros, 32, 0x8A9136AAu },
        { ones, 32, 0x62A8AB43u },
        { inc, 32, 0x46DD794Eu },
        { dec, 32, 0x113FDB5Cu },
        { iscsi, 48, 0xD9963A56u },
        { "a", 1, 0xC1D04330u },
        { "", 0, 0 },
        { NULL, 0, 0 },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        ck_assert_uint_eq(ref_crc32c(0, v[i].p, v[i].n), v[i].want);
        for (size_t k = 0; k < 3; k++) {
            uint32_t got = IMPLS[k](0, v[i].p, v[i].n);
            ck_assert_msg(got == v[i].want, "%s vector %zu: %08x want %08x", IMPL_NAMES[k], i, got, v[i].want);
        }
    }
    /* a zero-length update leaves any CRC alone */
    for (size_t k = 0; k < 3; k++) {
        ck_assert_uint_eq(IMPLS[k](0xE3069283u, NULL, 0), 0xE3069283u);
        ck_assert_uint_eq(IMPLS[k](0xFFFFFFFFu, "", 0), 0xFFFFFFFFu);
    }
    fprintf(stderr, "crc32c: hardware path %s\n", kz_crc32c_hw_ok() ? "available" : "NOT available");
}
END_TEST

/* 2. chaining: the CRC of a buffer cut at random points equals the one-shot
 *    CRC, for every implementation, including empty pieces. */
START_TEST(t02_chaining)
{
    rnd_state = 0x243F6A8885A308D3ULL;
    enum { MAX = 4096 };
    uint8_t *buf = malloc(MAX);
    ck_assert_ptr_nonnull(buf);
    for (int round = 0; round < 500; round++) {
        size_t n = rnd() % MAX;
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)rnd();
        uint32_t one = ref_crc32c(0, buf, n);
        for (size_t k = 0; k < 3; k++) {
            ck_assert_uint_eq(IMPLS[k](0, buf, n), one);
            uint32_t c = 0;
            size_t off = 0;
            while (off < n) {
                size_t piece = rnd() % 4 == 0 ? 0 : rnd() % (n - off + 1);
                c = IMPLS[k](c, buf + off, piece);
                off += piece;
            }
            ck_assert_uint_eq(c, one);
            /* mixing implementations mid-stream also works */
            size_t cut = n ? rnd() % n : 0;
            c = IMPLS[k](0, buf, cut);
            c = IMPLS[(k + 1) % 3](c, buf + cut, n - cut);
            ck_assert_uint_eq(c, one);
        }
    }
    free(buf);
}
END_TEST

/* 3. hardware == table == reference on every length 0..1000 at start
 *    offsets 0..7, each in an exact-size heap block. */
START_TEST(t03_hw_vs_sw)
{
    rnd_state = 0x13198A2E03707344ULL;
    for (size_t len = 0; len <= 1000; len++) {
        for (size_t off = 0; off < 8; off++) {
            uint8_t *blk = malloc(off + len + (off + len == 0));
            ck_assert_ptr_nonnull(blk);
            for (size_t i = 0; i < off + len; i++)
                blk[i] = (uint8_t)rnd();
            const uint8_t *p = blk + off;
            uint32_t seed = (uint32_t)rnd();
            uint32_t want = ref_crc32c(seed, p, len);
            uint32_t sw = kz_crc32c_sw(seed, p, len);
            uint32_t hw = kz_crc32c_hw(seed, p, len);
            ck_assert_msg(sw == want, "sw len %zu off %zu: %08x want %08x", len, off, sw, want);
            ck_assert_msg(hw == want, "hw len %zu off %zu: %08x want %08x", len, off, hw, want);
            ck_assert_uint_eq(kz_crc32c(seed, p, len), want);
            free(blk);
        }
    }
}
END_TEST

/* 4. a flipped bit anywhere changes the CRC (single-bit errors are always
 *    detected by a CRC). */
START_TEST(t04_bitflip)
{
    uint8_t b[64];
    for (int i = 0; i < 64; i++)
        b[i] = (uint8_t)(i * 7 + 3);
    uint32_t base = kz_crc32c(0, b, sizeof b);
    for (size_t bit = 0; bit < 8 * sizeof b; bit++) {
        b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        ck_assert_uint_ne(kz_crc32c(0, b, sizeof b), base);
        ck_assert_uint_ne(kz_crc32c_sw(0, b, sizeof b), base);
        b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    ck_assert_uint_eq(kz_crc32c(0, b, sizeof b), base);
}
END_TEST

static Suite *crc32c_suite(void)
{
    Suite *s = suite_create("crc32c");
    TCase *tc = tcase_create("crc32c");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, t01_vectors);
    tcase_add_test(tc, t02_chaining);
    tcase_add_test(tc, t03_hw_vs_sw);
    tcase_add_test(tc, t04_bitflip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(crc32c_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
