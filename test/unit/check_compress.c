/* test/unit/check_compress.c -- Kafka's compression codecs (common/kz_compress).
 *
 * 1. xxHash32 known answers, and the header checksum of python-lz4 frames;
 * 2. round trips of every codec over empty, tiny, block-boundary and
 *    multi-block inputs, text and incompressible, with and without flags;
 * 3. golden buffers from kafka-python and the Python codecs
 *    (test/fixtures/kafka/records, made by gen.py): gzip (one and two
 *    members), snappy xerial-framed and raw, lz4 with and without content
 *    size / block and content checksums, with Kafka 0.8's header checksum,
 *    with linked blocks (refused), zstd without content size, zstd with a
 *    window larger than the limit allows;
 * 4. the output limit: exact fit, one byte short, and a decompression bomb
 *    whose output (and allocation) stays bounded;
 * 5. corruption: truncation at every cut, flipped checksummed bytes, bad
 *    headers, unknown codecs, empty inputs;
 * 6. our writers' framing byte by byte (xerial header and 32 KiB chunks, LZ4
 *    FLG/BD/HC as Kafka writes them), and appending after existing bytes.
 * Fixtures are read from $KZ_FIXTURES/kafka/records (default test/fixtures,
 * relative to the repository root the tests run from). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kz_compress.h"
#include "unit_util.h"

/* The text gen.py compresses: PLAIN there. */
static uint8_t *plain_make(size_t *n)
{
    kz_wr w = KZ_WR_INIT;
    char line[64];
    for (int i = 0; i < 2100; i++) {
        int len = snprintf(line, sizeof line, "record %06d: the quick brown fox jumps\n", i);
        kz_wr_bytes(&w, line, (size_t)len);
    }
    ck_assert_int_eq(w.err, 0);
    return kz_wr_steal(&w, n);
}

/* Decompresses @src into a fresh writer and checks it equals @want. */
static void expect_dec(int codec, const uint8_t *src, size_t n, unsigned flags, const uint8_t *want, size_t wn)
{
    kz_wr out = KZ_WR_INIT;
    int rc = kz_decompress(codec, src, n, flags, wn + 100, &out);
    ck_assert_msg(rc == KZ_CZ_OK, "codec %d: %s", codec, kz_cz_strerror(rc));
    ck_assert_uint_eq(out.len, wn);
    ck_assert(wn == 0 || memcmp(out.base, want, wn) == 0);
    kz_wr_free(&out);
}

/* 1. xxHash32 known answers (xxHash's own test values) and the header
 * checksum of a frame python-lz4 wrote. */
START_TEST(t01_xxh32)
{
    ck_assert_uint_eq(kz_xxh32("", 0, 0), 0x02CC5D05u);
    ck_assert_uint_eq(kz_xxh32(NULL, 0, 0), 0x02CC5D05u);
    ck_assert_uint_eq(kz_xxh32("abc", 3, 0), 0x32D153FFu);
    /* liblz4 (through python-lz4) computed these: the header checksum over
     * FLG BD contentSize (10 bytes, the short path) and the block checksums
     * (the 16-byte stripe path, blocks of kilobytes). */
    size_t n;
    uint8_t *f = ut_fixture_load("kafka/records", "cz_lz4_flags.bin", &n);
    ck_assert_uint_eq(f[4] & 0x18, 0x18); /* content size and block checksums */
    ck_assert_uint_eq(f[14], (uint8_t)(kz_xxh32(f + 4, 10, 0) >> 8));
    size_t pos = 15, blocks = 0;
    for (;;) {
        uint32_t bs = (uint32_t)f[pos] | (uint32_t)f[pos + 1] << 8 | (uint32_t)f[pos + 2] << 16 |
                      (uint32_t)f[pos + 3] << 24;
        pos += 4;
        if (bs == 0)
            break;
        bs &= 0x7fffffffu;
        const uint8_t *cs = f + pos + bs;
        uint32_t want = (uint32_t)cs[0] | (uint32_t)cs[1] << 8 | (uint32_t)cs[2] << 16 | (uint32_t)cs[3] << 24;
        ck_assert_uint_eq(kz_xxh32(f + pos, bs, 0), want);
        pos += bs + 4;
        blocks++;
    }
    ck_assert_uint_eq(blocks, 2);
    ck_assert_uint_eq(pos + 4, n); /* then the content checksum */
    free(f);
    f = ut_fixture_load("kafka/records", "cz_lz4_plain.bin", &n);
    ck_assert_uint_eq(f[6], (uint8_t)(kz_xxh32(f + 4, 2, 0) >> 8));
    free(f);
}
END_TEST

/* 2. round trips. */
static void roundtrip(int codec, unsigned flags, const uint8_t *src, size_t n)
{
    kz_wr c = KZ_WR_INIT, d = KZ_WR_INIT;
    ck_assert_int_eq(kz_compress(codec, src, n, flags, &c), KZ_CZ_OK);
    uint8_t *exact = dup_exact(c.base, c.len);
    int rc = kz_decompress(codec, exact, c.len, flags, n, &d);
    ck_assert_msg(rc == KZ_CZ_OK, "codec %d flags %u n %zu: %s", codec, flags, n, kz_cz_strerror(rc));
    ck_assert_uint_eq(d.len, n);
    ck_assert(n == 0 || memcmp(d.base, src, n) == 0);
    free(exact);
    kz_wr_free(&c);
    kz_wr_free(&d);
}

START_TEST(t02_roundtrip)
{
    static const size_t sizes[] = { 0, 1, 7, 100, 32767, 32768, 32769, 65535, 65536, 65537, 200000, 300001 };
    size_t pn;
    uint8_t *text = plain_make(&pn);
    uint8_t *noise = malloc(300001);
    ck_assert_ptr_nonnull(noise);
    rnd_state = 0x1234567;
    for (size_t i = 0; i < 300001; i++)
        noise[i] = (uint8_t)rnd();
    uint8_t *big = malloc(300001); /* text repeated: compressible across blocks */
    ck_assert_ptr_nonnull(big);
    for (size_t i = 0; i < 300001; i++)
        big[i] = text[i % pn];
    for (int codec = KZ_CODEC_NONE; codec <= KZ_CODEC_ZSTD; codec++) {
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            roundtrip(codec, 0, big, sizes[s]);
            roundtrip(codec, 0, noise, sizes[s]);
        }
    }
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        roundtrip(KZ_CODEC_SNAPPY, KZ_CZ_SNAPPY_RAW, big, sizes[s]);
        roundtrip(KZ_CODEC_LZ4, KZ_CZ_LZ4_BROKEN_HC, noise, sizes[s]);
    }
    free(text);
    free(noise);
    free(big);
}
END_TEST

/* 3. golden buffers. */
START_TEST(t03_fixtures)
{
    static const struct {
        const char *name;
        int codec;
        unsigned flags;
    } ok[] = {
        { "cz_gzip.bin", KZ_CODEC_GZIP, 0 },
        { "cz_gzip2.bin", KZ_CODEC_GZIP, 0 },
        { "cz_snappy_xerial.bin", KZ_CODEC_SNAPPY, 0 },
        { "cz_snappy_raw.bin", KZ_CODEC_SNAPPY, 0 },
        { "cz_lz4_plain.bin", KZ_CODEC_LZ4, 0 },
        { "cz_lz4_flags.bin", KZ_CODEC_LZ4, 0 },
        { "cz_lz4_oldhc.bin", KZ_CODEC_LZ4, KZ_CZ_LZ4_BROKEN_HC },
        { "cz_lz4_plain.bin", KZ_CODEC_LZ4, KZ_CZ_LZ4_BROKEN_HC }, /* magic 0: HC ignored */
        { "cz_zstd_nosize.bin", KZ_CODEC_ZSTD, 0 },
    };
    size_t pn, n;
    uint8_t *text = plain_make(&pn);
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint8_t *f = ut_fixture_load("kafka/records", ok[i].name, &n);
        expect_dec(ok[i].codec, f, n, ok[i].flags, text, pn);
        free(f);
    }
    /* The xerial fixture really is framed: magic, version 1, compat 1, and
     * three 32 KiB chunks (84000 bytes of input). */
    uint8_t *x = ut_fixture_load("kafka/records", "cz_snappy_xerial.bin", &n);
    ck_assert(memcmp(x, "\x82SNAPPY\0\0\0\0\1\0\0\0\1", 16) == 0);
    size_t pos = 16, chunks = 0;
    while (pos < n) {
        pos += 4 + kz_load_be32(x + pos);
        chunks++;
    }
    ck_assert_uint_eq(pos, n);
    ck_assert_uint_eq(chunks, (pn + 32767) / 32768);
    free(x);
    /* refused: Kafka 0.8's checksum under magic 1/2 rules, linked blocks */
    kz_wr out = KZ_WR_INIT;
    uint8_t *f = ut_fixture_load("kafka/records", "cz_lz4_oldhc.bin", &n);
    ck_assert_int_eq(kz_decompress(KZ_CODEC_LZ4, f, n, 0, 1 << 20, &out), KZ_CZ_ECORRUPT);
    ck_assert_uint_eq(out.len, 0);
    free(f);
    f = ut_fixture_load("kafka/records", "cz_lz4_linked.bin", &n);
    ck_assert_int_eq(kz_decompress(KZ_CODEC_LZ4, f, n, 0, 1 << 20, &out), KZ_CZ_ECORRUPT);
    ck_assert_int_eq(kz_decompress(KZ_CODEC_LZ4, f, n, KZ_CZ_LZ4_BROKEN_HC, 1 << 20, &out), KZ_CZ_ECORRUPT);
    free(f);
    /* A zstd frame asking for a 32 MiB window: refused under a 1 MiB limit
     * (the window is capped at max(8 MiB, limit)), decoded under 32 MiB. */
    f = ut_fixture_load("kafka/records", "cz_zstd_window25.bin", &n);
    ck_assert_int_eq(kz_decompress(KZ_CODEC_ZSTD, f, n, 0, 1 << 20, &out), KZ_CZ_ECORRUPT);
    ck_assert_uint_eq(out.len, 0);
    ck_assert_int_eq(kz_decompress(KZ_CODEC_ZSTD, f, n, 0, (size_t)32 << 20, &out), KZ_CZ_OK);
    ck_assert_uint_eq(out.len, pn);
    ck_assert(memcmp(out.base, text, pn) == 0);
    free(f);
    kz_wr_free(&out);
    free(text);
}
END_TEST

/* 4. the output limit. */
START_TEST(t04_limit)
{
    const size_t n = 1 << 20;
    uint8_t *zeros = calloc(1, n);
    ck_assert_ptr_nonnull(zeros);
    for (int codec = KZ_CODEC_NONE; codec <= KZ_CODEC_ZSTD; codec++) {
        kz_wr c = KZ_WR_INIT, d = KZ_WR_INIT;
        ck_assert_int_eq(kz_compress(codec, zeros, n, 0, &c), KZ_CZ_OK);
        ck_assert_int_eq(kz_decompress(codec, c.base, c.len, 0, n, &d), KZ_CZ_OK);
        ck_assert_uint_eq(d.len, n);
        kz_wr_bytes(&d, "xy", 2); /* existing output stays; the limit counts new bytes */
        size_t before = d.len;
        ck_assert_int_eq(kz_decompress(codec, c.base, c.len, 0, n - 1, &d), KZ_CZ_ELIMIT);
        ck_assert_uint_eq(d.len, before);
        ck_assert(memcmp(d.base + n, "xy", 2) == 0);
        ck_assert_int_eq(kz_decompress(codec, c.base, c.len, 0, 0, &d), KZ_CZ_ELIMIT);
        kz_wr_free(&c);
        kz_wr_free(&d);
    }
    free(zeros);

    /* A bomb: 64 MiB of zeros, a few KiB compressed, against a 1 MiB limit.
     * It must fail and must not have grown the writer anywhere near 64 MiB. */
    const size_t big = (size_t)64 << 20;
    uint8_t *bz = calloc(1, big);
    ck_assert_ptr_nonnull(bz);
    for (int codec = KZ_CODEC_GZIP; codec <= KZ_CODEC_ZSTD; codec++) {
        kz_wr c = KZ_WR_INIT, d = KZ_WR_INIT;
        unsigned fl = codec == KZ_CODEC_SNAPPY ? KZ_CZ_SNAPPY_RAW : 0; /* one block claiming 64 MiB */
        for (int pass = 0; pass < 2; pass++) {
            c.len = 0;
            ck_assert_int_eq(kz_compress(codec, bz, big, pass ? 0 : fl, &c), KZ_CZ_OK);
            ck_assert_uint_lt(c.len, big / 16);
            ck_assert_int_eq(kz_decompress(codec, c.base, c.len, 0, 1 << 20, &d), KZ_CZ_ELIMIT);
            ck_assert_uint_eq(d.len, 0);
            ck_assert_uint_le(d.cap, (size_t)16 << 20); /* limit + one lz4 block, doubled */
        }
        kz_wr_free(&c);
        kz_wr_free(&d);
    }
    free(bz);
}
END_TEST

/* 5. corruption. */
START_TEST(t05_corrupt)
{
    size_t pn;
    uint8_t *text = plain_make(&pn);
    kz_wr out = KZ_WR_INIT;
    for (int codec = KZ_CODEC_GZIP; codec <= KZ_CODEC_ZSTD; codec++) {
        kz_wr c = KZ_WR_INIT;
        ck_assert_int_eq(kz_compress(codec, text, pn, 0, &c), KZ_CZ_OK);
        /* Every proper prefix fails (or, for xerial snappy, decodes to a
         * proper prefix of the text: a stream cut at a chunk boundary is a
         * shorter stream to snappy-java too). */
        for (size_t cut = 0; cut < c.len; cut += (cut < 64 ? 1 : 97)) {
            uint8_t *e = dup_exact(c.base, cut);
            out.len = 0;
            int rc = kz_decompress(codec, e, cut, 0, 1 << 20, &out);
            if (codec == KZ_CODEC_SNAPPY && rc == KZ_CZ_OK)
                ck_assert_msg(out.len < pn && memcmp(out.base, text, out.len) == 0, "cut %zu", cut);
            else
                ck_assert_msg(rc == KZ_CZ_ECORRUPT, "codec %d cut %zu: %d", codec, cut, rc);
            free(e);
        }
        kz_wr_free(&c);
    }
    /* empty input, unknown codecs */
    ck_assert_int_eq(kz_decompress(KZ_CODEC_GZIP, NULL, 0, 0, 10, &out), KZ_CZ_ECORRUPT);
    ck_assert_int_eq(kz_decompress(KZ_CODEC_ZSTD, NULL, 0, 0, 10, &out), KZ_CZ_ECORRUPT);
    ck_assert_int_eq(kz_decompress(5, text, 10, 0, 10, &out), KZ_CZ_EUNSUPPORTED);
    ck_assert_int_eq(kz_decompress(-1, text, 10, 0, 10, &out), KZ_CZ_EUNSUPPORTED);
    ck_assert_int_eq(kz_compress(7, text, 10, 0, &out), KZ_CZ_EUNSUPPORTED);
    ck_assert_ptr_null(kz_codec_name(5));
    ck_assert_str_eq(kz_codec_name(KZ_CODEC_ZSTD), "zstd");

    /* lz4 with block checksums: a flipped byte inside any block is caught by
     * the block checksum (or the decoder); one in the descriptor by HC. */
    size_t n;
    uint8_t *f = ut_fixture_load("kafka/records", "cz_lz4_flags.bin", &n);
    for (size_t i = 4; i < n - 8; i += 53) {
        uint8_t *e = dup_exact(f, n);
        e[i] ^= 0x20;
        out.len = 0;
        ck_assert_msg(kz_decompress(KZ_CODEC_LZ4, e, n, 0, 1 << 20, &out) == KZ_CZ_ECORRUPT, "byte %zu", i);
        free(e);
    }
    /* The content checksum is not verified (Kafka skips it): flipping it passes. */
    uint8_t *e = dup_exact(f, n);
    e[n - 1] ^= 0xff;
    expect_dec(KZ_CODEC_LZ4, e, n, 0, text, pn);
    free(e);
    free(f);
    /* lz4 FLG reserved bit, dictionary id bit, version 00, dependent blocks
     * (on an independent stream, so only the flag is wrong), BD reserved
     * bits, block size code 3: all refused (HC fixed up each time). */
    f = ut_fixture_load("kafka/records", "cz_lz4_plain.bin", &n);
    static const struct {
        int at;
        uint8_t xor_mask;
    } bad[] = { { 4, 0x02 }, { 4, 0x01 }, { 4, 0x40 }, { 4, 0x20 }, { 5, 0x01 }, { 5, 0x80 }, { 5, 0x70 } };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e = dup_exact(f, n);
        e[bad[i].at] ^= bad[i].xor_mask;
        e[6] = (uint8_t)(kz_xxh32(e + 4, 2, 0) >> 8);
        ck_assert_int_eq(kz_decompress(KZ_CODEC_LZ4, e, n, 0, 1 << 20, &out), KZ_CZ_ECORRUPT);
        free(e);
    }
    /* a block size above the frame's maximum: 65537 (little-endian) */
    e = dup_exact(f, n);
    memcpy(e + 7, "\x01\x00\x01\x00", 4);
    ck_assert_int_eq(kz_decompress(KZ_CODEC_LZ4, e, n, 0, 1 << 20, &out), KZ_CZ_ECORRUPT);
    free(e);
    free(f);

    /* xerial: version 0 is refused; a chunk length past the end is corrupt */
    f = ut_fixture_load("kafka/records", "cz_snappy_xerial.bin", &n);
    e = dup_exact(f, n);
    kz_store_be32(e + 8, 0);
    ck_assert_int_eq(kz_decompress(KZ_CODEC_SNAPPY, e, n, 0, 1 << 20, &out), KZ_CZ_ECORRUPT);
    memcpy(e, f, n);
    kz_store_be32(e + 16, (uint32_t)n);
    ck_assert_int_eq(kz_decompress(KZ_CODEC_SNAPPY, e, n, 0, 1 << 20, &out), KZ_CZ_ECORRUPT);
    memcpy(e, f, n);
    kz_store_be32(e + 16, 0x80000000u);
    ck_assert_int_eq(kz_decompress(KZ_CODEC_SNAPPY, e, n, 0, 1 << 20, &out), KZ_CZ_ECORRUPT);
    free(e);
    free(f);
    /* gzip: a bad header magic; trailing garbage after a member is ignored */
    f = ut_fixture_load("kafka/records", "cz_gzip.bin", &n);
    e = dup_exact(f, n);
    e[0] = 0x1e;
    ck_assert_int_eq(kz_decompress(KZ_CODEC_GZIP, e, n, 0, 1 << 20, &out), KZ_CZ_ECORRUPT);
    free(e);
    e = malloc(n + 5);
    memcpy(e, f, n);
    memcpy(e + n, "junk!", 5);
    expect_dec(KZ_CODEC_GZIP, e, n + 5, 0, text, pn);
    free(e);
    free(f);
    kz_wr_free(&out);
    free(text);
}
END_TEST

/* 6. our framing, byte by byte. */
START_TEST(t06_writer_framing)
{
    size_t pn;
    uint8_t *text = plain_make(&pn);
    kz_wr c = KZ_WR_INIT;
    /* xerial: header, then chunks of at most 32 KiB of input each. */
    ck_assert_int_eq(kz_compress(KZ_CODEC_SNAPPY, text, pn, 0, &c), KZ_CZ_OK);
    ck_assert(memcmp(c.base, "\x82SNAPPY\0\0\0\0\1\0\0\0\1", 16) == 0);
    size_t pos = 16, inlen = 0;
    while (pos < c.len) {
        uint32_t cl = kz_load_be32(c.base + pos);
        kz_wr one = KZ_WR_INIT;
        ck_assert_int_eq(kz_decompress(KZ_CODEC_SNAPPY, c.base + pos + 4, cl, 0, 1 << 20, &one), KZ_CZ_OK);
        ck_assert_uint_eq(one.len, pn - inlen < 32768 ? pn - inlen : 32768);
        inlen += one.len;
        kz_wr_free(&one);
        pos += 4 + cl;
    }
    ck_assert_uint_eq(pos, c.len);
    ck_assert_uint_eq(inlen, pn);
    /* Two concatenated streams read as one. */
    size_t one_len = c.len;
    kz_wr_bytes(&c, c.base, one_len);
    kz_wr two = KZ_WR_INIT;
    ck_assert_int_eq(kz_decompress(KZ_CODEC_SNAPPY, c.base, c.len, 0, 1 << 20, &two), KZ_CZ_OK);
    ck_assert_uint_eq(two.len, 2 * pn);
    ck_assert(memcmp(two.base + pn, text, pn) == 0);
    kz_wr_free(&two);
    /* An empty input is the header alone, and reads back as nothing. */
    c.len = 0;
    ck_assert_int_eq(kz_compress(KZ_CODEC_SNAPPY, NULL, 0, 0, &c), KZ_CZ_OK);
    ck_assert_uint_eq(c.len, 16);
    expect_dec(KZ_CODEC_SNAPPY, c.base, c.len, 0, NULL, 0);

    /* lz4 as Kafka writes it: FLG 0x60 (version 01, independent blocks, no
     * checksums, no size), BD 0x40 (64 KiB), the right HC; and Kafka 0.8's HC
     * over magic + FLG + BD with the flag. */
    c.len = 0;
    ck_assert_int_eq(kz_compress(KZ_CODEC_LZ4, text, pn, 0, &c), KZ_CZ_OK);
    ck_assert(memcmp(c.base, "\x04\x22\x4d\x18\x60\x40", 6) == 0);
    ck_assert_uint_eq(c.base[6], (uint8_t)(kz_xxh32(c.base + 4, 2, 0) >> 8));
    ck_assert(memcmp(c.base + c.len - 4, "\0\0\0\0", 4) == 0); /* end mark, no content checksum */
    c.len = 0;
    ck_assert_int_eq(kz_compress(KZ_CODEC_LZ4, text, pn, KZ_CZ_LZ4_BROKEN_HC, &c), KZ_CZ_OK);
    ck_assert_uint_eq(c.base[6], (uint8_t)(kz_xxh32(c.base, 6, 0) >> 8));
    ck_assert_uint_ne(c.base[6], (uint8_t)(kz_xxh32(c.base + 4, 2, 0) >> 8)); /* they differ for this header */
    /* gzip: an RFC 1952 member */
    c.len = 0;
    ck_assert_int_eq(kz_compress(KZ_CODEC_GZIP, text, pn, 0, &c), KZ_CZ_OK);
    ck_assert(c.base[0] == 0x1f && c.base[1] == 0x8b && c.base[2] == 8);
    /* zstd: frame magic 0xFD2FB528 little-endian */
    c.len = 0;
    ck_assert_int_eq(kz_compress(KZ_CODEC_ZSTD, text, pn, 0, &c), KZ_CZ_OK);
    ck_assert(memcmp(c.base, "\x28\xb5\x2f\xfd", 4) == 0);
    /* compress appends after existing bytes */
    c.len = 0;
    kz_wr_bytes(&c, "pre", 3);
    ck_assert_int_eq(kz_compress(KZ_CODEC_GZIP, text, 100, 0, &c), KZ_CZ_OK);
    ck_assert(memcmp(c.base, "pre", 3) == 0);
    expect_dec(KZ_CODEC_GZIP, c.base + 3, c.len - 3, 0, text, 100);
    kz_wr_free(&c);
    free(text);
}
END_TEST

static Suite *compress_suite(void)
{
    Suite *s = suite_create("compress");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, t01_xxh32);
    tcase_add_test(tc, t02_roundtrip);
    tcase_add_test(tc, t03_fixtures);
    tcase_add_test(tc, t04_limit);
    tcase_add_test(tc, t05_corrupt);
    tcase_add_test(tc, t06_writer_framing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ut_run(compress_suite());
}
