/* test/unit/check_crc32c.c -- CRC-32C (common/kz_crc32c).
 *
 * Known answers from RFC 3720 appendix B.4 (iSCSI, the same polynomial and
 * conventions as Kafka's RecordBatch v2 CRC) and the usual "123456789" check
 * value; a bit-at-a-time reference written here from the definition (not
 * sharing the tables under test); chaining over random splits and over every
 * split point of a buffer; and the hardware and table paths compared on every
 * length 0..4096 at every start offset 0..15, on random lengths up to 1 MiB,
 * and on lengths around the hardware path's three-way block sizes (3 x 64,
 * 3 x 256 and 3 x 8192 bytes), each input in its own exact-size heap block so that
 * ASan (make unit SAN=1) sees any read past the end.
 *
 * `check_crc32c --bench` skips the suite and prints the throughput of each
 * implementation instead (GB/s, 10^9 bytes per second) for a few buffer
 * sizes up to 1 MiB. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kz_crc32c.h"
#include "unit_util.h"

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

/* A heap block of exactly @off + @len bytes (at least 1) filled with
 * pseudo-random bytes; the data starts at *@p = block + @off. malloc blocks
 * are 16-aligned, so @off is also the data's alignment modulo 16. */
static uint8_t *rnd_block(size_t off, size_t len, const uint8_t **p)
{
    uint8_t *blk = malloc(off + len + (off + len == 0));
    ck_assert_ptr_nonnull(blk);
    size_t i = 0;
    for (; i + 8 <= off + len; i += 8) {
        uint64_t v = rnd();
        memcpy(blk + i, &v, 8);
    }
    for (; i < off + len; i++)
        blk[i] = (uint8_t)rnd();
    *p = blk + off;
    return blk;
}

/* 3. hardware == table on every length 0..4096 at start offsets 0..15, each
 *    in an exact-size heap block, with a random starting CRC; the reference
 *    agrees up to 1024 bytes (it is too slow to run on all of them). */
START_TEST(t03_hw_vs_sw)
{
    rnd_state = 0x13198A2E03707344ULL;
    for (size_t len = 0; len <= 4096; len++) {
        for (size_t off = 0; off < 16; off++) {
            const uint8_t *p;
            uint8_t *blk = rnd_block(off, len, &p);
            uint32_t seed = (uint32_t)rnd();
            uint32_t sw = kz_crc32c_sw(seed, p, len);
            uint32_t hw = kz_crc32c_hw(seed, p, len);
            if (len <= 1024) {
                uint32_t want = ref_crc32c(seed, p, len);
                ck_assert_msg(sw == want, "sw len %zu off %zu: %08x want %08x", len, off, sw, want);
            }
            ck_assert_msg(hw == sw, "hw len %zu off %zu: %08x want %08x", len, off, hw, sw);
            ck_assert_uint_eq(kz_crc32c(seed, p, len), sw);
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

/* 5. random lengths up to 1 MiB at every start offset 0..15: half drawn
 *    uniformly, half from a random power of two so that every size class
 *    (a few bytes .. 1 MiB) shows up; plus one 1 MiB buffer checked against
 *    the bit-at-a-time reference, so that the table path is not only
 *    compared with itself on long inputs. */
START_TEST(t05_long_random)
{
    rnd_state = 0xA4093822299F31D0ULL;
    enum { MAXLEN = 1 << 20 };
    for (size_t off = 0; off < 16; off++) {
        for (int round = 0; round < 8; round++) {
            size_t len = round % 2 ? rnd() % (MAXLEN + 1) : rnd() % ((size_t)2 << (rnd() % 20));
            const uint8_t *p;
            uint8_t *blk = rnd_block(off, len, &p);
            uint32_t seed = round == 0 ? 0 : (uint32_t)rnd();
            uint32_t sw = kz_crc32c_sw(seed, p, len);
            uint32_t hw = kz_crc32c_hw(seed, p, len);
            ck_assert_msg(hw == sw, "hw len %zu off %zu seed %08x: %08x want %08x", len, off, seed, hw, sw);
            ck_assert_uint_eq(kz_crc32c(seed, p, len), sw);
            free(blk);
        }
    }
    const uint8_t *p;
    uint8_t *blk = rnd_block(3, MAXLEN, &p);
    uint32_t want = ref_crc32c(0x5EED5EEDu, p, MAXLEN);
    ck_assert_uint_eq(kz_crc32c_sw(0x5EED5EEDu, p, MAXLEN), want);
    ck_assert_uint_eq(kz_crc32c_hw(0x5EED5EEDu, p, MAXLEN), want);
    free(blk);
}
END_TEST

/* 6. lengths within 17 bytes of 1..4 times the hardware path's three-way
 *    block sizes (3 x 64 = 192, 3 x 256 = 768 and 3 x 8192 = 24576 bytes)
 *    and of sums of them, at every start offset 0..15: each run of the
 *    three-stream loops, the steps down from one block size to the next and
 *    to the single-chain tail are exercised with every remainder and
 *    alignment. */
START_TEST(t06_block_edges)
{
    rnd_state = 0x082EFA98EC4E6C89ULL;
    static const size_t unit[] = { 192, 768, 768 + 192, 24576, 24576 + 768 + 192 };
    for (size_t u = 0; u < sizeof unit / sizeof unit[0]; u++) {
        for (size_t m = 1; m <= 4; m++) {
            for (int d = -17; d <= 17; d++) {
                size_t len = m * unit[u] + (size_t)(ptrdiff_t)d;
                for (size_t off = 0; off < 16; off++) {
                    const uint8_t *p;
                    uint8_t *blk = rnd_block(off, len, &p);
                    uint32_t seed = (uint32_t)rnd();
                    uint32_t sw = kz_crc32c_sw(seed, p, len);
                    uint32_t hw = kz_crc32c_hw(seed, p, len);
                    ck_assert_msg(hw == sw, "hw len %zu off %zu: %08x want %08x", len, off, hw, sw);
                    free(blk);
                }
            }
        }
    }
}
END_TEST

/* 7. chained calls split at every position of a 1000-byte buffer (and, in
 *    a 60,000-byte one, at the first and last 16 positions and at 150 random
 *    ones) equal the one-shot CRC, for every implementation and when the
 *    second half goes through another one. */
START_TEST(t07_split_everywhere)
{
    rnd_state = 0x452821E638D01377ULL;
    static const size_t lens[] = { 1000, 60000 };
    for (size_t l = 0; l < 2; l++) {
        size_t n = lens[l], ncuts = n > 1000 ? 16 + 16 + 150 : n + 1;
        const uint8_t *p;
        uint8_t *blk = rnd_block(0, n, &p);
        uint32_t one = kz_crc32c_sw(0, p, n);
        ck_assert_uint_eq(ref_crc32c(0, p, n), one);
        for (size_t i = 0; i < ncuts; i++) {
            size_t cut = n <= 1000 ? i : i < 16 ? i : i < 32 ? n - (i - 16) : rnd() % (n + 1);
            for (size_t k = 0; k < 3; k++) {
                uint32_t c = IMPLS[k](0, p, cut);
                ck_assert_msg(IMPLS[k](c, p + cut, n - cut) == one, "%s n %zu cut %zu", IMPL_NAMES[k], n, cut);
                ck_assert_uint_eq(IMPLS[(k + 1) % 3](c, p + cut, n - cut), one);
            }
        }
        free(blk);
    }
}
END_TEST

/* 8. long runs of one byte value (zeros: the CRC register is only shifted;
 *    0xFF: every bit set), where a wrong combine of the parallel streams
 *    could cancel out differently than on random data. */
START_TEST(t08_uniform_runs)
{
    static const size_t lens[] = { 192, 768, 24576, 100000, 1 << 20 };
    static const int fill[] = { 0x00, 0xff, 0x5a };
    for (size_t f = 0; f < 3; f++) {
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
            uint8_t *b = malloc(lens[l]);
            ck_assert_ptr_nonnull(b);
            memset(b, fill[f], lens[l]);
            uint32_t want = ref_crc32c(0, b, lens[l]);
            ck_assert_uint_eq(kz_crc32c_sw(0, b, lens[l]), want);
            ck_assert_msg(kz_crc32c_hw(0, b, lens[l]) == want, "fill %02x len %zu", fill[f], lens[l]);
            ck_assert_uint_eq(kz_crc32c_hw(0xFFFFFFFFu, b, lens[l]), ref_crc32c(0xFFFFFFFFu, b, lens[l]));
            free(b);
        }
    }
}
END_TEST

static Suite *crc32c_suite(void)
{
    Suite *s = suite_create("crc32c");
    TCase *tc = tcase_create("crc32c");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, t01_vectors);
    tcase_add_test(tc, t02_chaining);
    tcase_add_test(tc, t03_hw_vs_sw);
    tcase_add_test(tc, t04_bitflip);
    tcase_add_test(tc, t05_long_random);
    tcase_add_test(tc, t06_block_edges);
    tcase_add_test(tc, t07_split_everywhere);
    tcase_add_test(tc, t08_uniform_runs);
    suite_add_tcase(s, tc);
    return s;
}

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --bench: for each buffer size and implementation, the best of 10 runs of
 * at least 50 ms each, calling it on the same 16-aligned buffer (the best,
 * because other processes on the machine only ever slow a run down). The
 * CRCs are xored into a sink that is printed, so no call can be optimised
 * away. */
static int bench(void)
{
    static const size_t sizes[] = { 64, 200, 1024, 10240, 65536, 1 << 20 };
    uint8_t *buf = malloc(1 << 20);
    if (!buf)
        return EXIT_FAILURE;
    rnd_state = 0xBE5466CF34E90C6CULL;
    for (size_t i = 0; i < 1 << 20; i++)
        buf[i] = (uint8_t)rnd();
    uint32_t sink = 0;
    printf("crc32c: hardware path %s\n", kz_crc32c_hw_ok() ? "available" : "NOT available");
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        printf("%8zu bytes:", sizes[s]);
        for (size_t k = 1; k < 3; k++) {
            double best = 0;
            size_t batch = ((size_t)4 << 20) / sizes[s];
            for (int run = 0; run < 10; run++) {
                size_t calls = 0;
                double t0 = now_sec(), t;
                do {
                    for (size_t i = 0; i < batch; i++)
                        sink ^= IMPLS[k](sink, buf, sizes[s]);
                    calls += batch;
                    t = now_sec() - t0;
                } while (t < 0.05);
                double gbs = (double)calls * (double)sizes[s] / t / 1e9;
                if (gbs > best)
                    best = gbs;
            }
            printf("  %s %6.2f GB/s", IMPL_NAMES[k], best);
        }
        printf("\n");
    }
    printf("(sink %08x)\n", sink);
    free(buf);
    return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--bench") == 0)
        return bench();
    return ut_run(crc32c_suite());
}
