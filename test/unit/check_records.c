/* test/unit/check_records.c -- record sets (common/kz_records): RecordBatch v2
 * and legacy message sets.
 *
 *  1. kafka-python's batches (fixtures, every codec, magic 0/1/2) iterate to
 *     the known records and validate;
 *  2. our builder: byte-identical to kafka-python for uncompressed batches,
 *     and build -> validate -> iterate round trips for every codec;
 *  3. legacy building: byte-identical uncompressed, round trips compressed,
 *     v1 relative offsets and LogAppendTime wrappers;
 *  4. every corruption class: a flipped byte under the CRC, short lengths,
 *     bad varints, count mismatches, too large, bad magic, codecs;
 *  5. LogValidator's batch and record rules: one batch, client rules,
 *     offset deltas, compacted keys, timestamps, request version rules;
 *  6. up-conversion of v0/v1 (all codecs) to v2, and down-conversion of v2 to
 *     v0/v1, compared record by record, and a round trip through both;
 *  7. control records: build, recognise, parse, and their error cases;
 *  8. iteration across several entries, a torn tail, LogAppendTime batches;
 *  9. kafka-python reads the batches we build (when python3 with kafka-python
 *     is installed: test/fixtures/kafka/records/gen.py --check).
 * Fixtures are read from $KZ_FIXTURES/kafka/records (default test/fixtures). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "kz_compress.h"
#include "kz_crc32c.h"
#include "kz_records.h"
#include "unit_util.h"

/* --------------------------------------------- the records gen.py writes */

#define NREC 7
#define TS0 1600000000000LL

typedef struct exp_rec {
    char kb[16], vb[128], hk[8], hv[8];
    kz_str key, value;
    int64_t ts;
    kz_rec_header h[2];
    int32_t nh;
} exp_rec;

static exp_rec E[NREC];

/* rec_key/rec_value/rec_ts/rec_headers of gen.py */
static void exp_init(void)
{
    for (int i = 0; i < NREC; i++) {
        exp_rec *e = &E[i];
        memset(e, 0, sizeof *e);
        e->key = KZ_STR_NULL;
        if (i % 3 != 2)
            e->key = (kz_str){ e->kb, snprintf(e->kb, sizeof e->kb, "key-%d", i) };
        e->value = KZ_STR_NULL;
        if (i != 4) {
            int len = 0;
            for (int k = 0; k <= i; k++)
                len += snprintf(e->vb + len, sizeof e->vb - (size_t)len, "value-%d-", i);
            e->value = (kz_str){ e->vb, len };
        }
        e->ts = TS0 + i * 1000 - (i == 3 ? 5000 : 0);
        if (i % 2 == 0) {
            e->h[0].key = (kz_str){ e->hk, snprintf(e->hk, sizeof e->hk, "h%d", i) };
            e->h[0].value = (kz_str){ e->hv, snprintf(e->hv, sizeof e->hv, "hv%d", i) };
            e->h[1].key = KZ_STR_LIT("n");
            e->h[1].value = KZ_STR_NULL;
            e->nh = 2;
        }
    }
}

/* Checks @r against E[i] as a record of @magic at offset @off. */
static void check_rec(const kz_record *r, int i, int magic, int64_t off)
{
    ck_assert_msg(r->offset == off, "record %d: offset %lld want %lld", i, (long long)r->offset, (long long)off);
    ck_assert_int_eq(r->magic, magic);
    ck_assert_int_eq(r->timestamp, magic == 0 ? -1 : E[i].ts);
    ck_assert_msg(kz_str_eq(r->key, E[i].key), "record %d key", i);
    ck_assert_msg(kz_str_eq(r->value, E[i].value), "record %d value", i);
    ck_assert_int_eq(r->header_count, magic == 2 ? E[i].nh : 0);
    kz_rec_hdr_iter hi = kz_record_headers(r);
    kz_rec_header h;
    int32_t nh = 0;
    while (kz_rec_hdr_next(&hi, &h)) {
        ck_assert_int_lt(nh, E[i].nh);
        ck_assert(kz_str_eq(h.key, E[i].h[nh].key));
        ck_assert(kz_str_eq(h.value, E[i].h[nh].value));
        nh++;
    }
    ck_assert_int_eq(nh, r->header_count);
}

/* Iterates @p and checks it holds exactly the NREC records of @magic at
 * offsets base..base+6. Returns the number of entries walked. */
static int check_set(const uint8_t *p, size_t n, int magic, int64_t base)
{
    kz_wr scratch = KZ_WR_INIT;
    kz_rec_iter it;
    kz_record r;
    kz_rec_iter_init(&it, p, n, &scratch, 0, KZ_RI_CHECK_CRC | KZ_RI_MATCH_MAGIC);
    int i = 0, entries = 0;
    const uint8_t *last = NULL;
    while (kz_rec_iter_next(&it, &r)) {
        ck_assert_int_lt(i, NREC);
        check_rec(&r, i, magic, base + i);
        if (it.entry != last)
            entries++;
        last = it.entry;
        i++;
    }
    ck_assert_msg(it.err == KZ_REC_NONE, "iteration: %s", kz_rec_strerror(it.err));
    ck_assert_int_eq(i, NREC);
    ck_assert(!it.partial);
    ck_assert_uint_eq(it.consumed, n);
    kz_wr_free(&scratch);
    return entries;
}

/* ------------------------------------------------------------- helpers */

static const char *const CODEC_NAMES[] = { "none", "gzip", "snappy", "lz4", "zstd" };

/* Our batch of the NREC records: offsets 0..6 from @base, kafka-python's
 * header choices (leader epoch 0, no producer). */
static void build_v2(kz_wr *out, int codec, int64_t base, const kz_bb_opts *opt)
{
    kz_bb_opts o = KZ_BB_OPTS_INIT;
    if (opt)
        o = *opt;
    else
        o.leader_epoch = 0;
    o.codec = codec;
    o.base_offset = base;
    kz_bb *b = kz_bb_new(&o);
    ck_assert_ptr_nonnull(b);
    for (int i = 0; i < NREC; i++)
        ck_assert_int_eq(kz_bb_append(b, E[i].ts, E[i].key, E[i].value, E[i].h, E[i].nh), KZ_REC_NONE);
    ck_assert_int_eq(kz_bb_count(b), NREC);
    ck_assert_int_eq(kz_bb_finish(b, out), KZ_REC_NONE);
    ck_assert_int_eq(kz_bb_count(b), 0);
    kz_bb_free(b);
}

static void build_legacy(kz_wr *out, int magic, int codec, int64_t base)
{
    kz_record recs[NREC];
    memset(recs, 0, sizeof recs);
    for (int i = 0; i < NREC; i++) {
        recs[i].offset = base + i;
        recs[i].timestamp = magic ? E[i].ts : -1;
        recs[i].key = E[i].key;
        recs[i].value = E[i].value;
    }
    ck_assert_int_eq(kz_legacy_build(out, magic, codec, recs, NREC), KZ_REC_NONE);
}

/* Recomputes the CRC of the v2 batch at @p after an edit under it. */
static void recrc(uint8_t *p)
{
    size_t size = kz_load_be32(p + 8) + 12u;
    kz_store_be32(p + 17, kz_crc32c(0, p + 21, size - 21));
}

static int validate(const uint8_t *p, size_t n, const kz_rv_opts *o, kz_rv_info *info)
{
    uint8_t *e = dup_exact(p, n);
    kz_rv_info tmp;
    int rc = kz_records_validate(e, n, o, info ? info : &tmp);
    free(e);
    return rc;
}

static kz_rv_opts deep_opts(void)
{
    kz_rv_opts o = KZ_RV_OPTS_INIT;
    o.deep = true;
    return o;
}

/* ------------------------------------------------------------------ tests */

/* 1. kafka-python's batches. */
START_TEST(t01_kafka_python_fixtures)
{
    char name[32];
    for (int magic = 0; magic <= 2; magic++) {
        for (int codec = 0; codec <= (magic == 2 ? 4 : 3); codec++) {
            snprintf(name, sizeof name, "v%d_%s.bin", magic, CODEC_NAMES[codec]);
            size_t n;
            uint8_t *p = ut_fixture_load("kafka/records", name, &n);
            ck_assert_int_eq(p[16], magic);
            ck_assert_int_eq(p[magic == 2 ? 22 : 17] & 7, codec); /* really compressed */
            ck_assert_int_eq(check_set(p, n, magic, 0), codec || magic == 2 ? 1 : NREC);
            kz_rv_opts o = deep_opts();
            kz_rv_info info;
            ck_assert_msg(validate(p, n, &o, &info) == KZ_REC_NONE, "%s", name);
            ck_assert_int_eq(info.records, NREC);
            ck_assert_int_eq(info.batches, codec || magic == 2 ? 1 : NREC);
            ck_assert_int_eq(info.magic, magic);
            ck_assert_int_eq(info.codec, codec);
            ck_assert_uint_eq(info.valid_bytes, n);
            ck_assert_int_eq(info.max_ts, magic ? E[6].ts : -1);
            ck_assert_int_eq(info.max_ts_index, magic ? 6 : -1);
            free(p);
        }
    }
    /* The idempotent/transactional one: header fields as kafka-python set them. */
    size_t n;
    uint8_t *p = ut_fixture_load("kafka/records", "v2_idem.bin", &n);
    kz_batch_hdr h;
    ck_assert_int_eq(kz_batch_peek(p, n, 0, &h), KZ_BATCH_OK);
    ck_assert_int_eq(h.producer_id, 4242);
    ck_assert_int_eq(h.producer_epoch, 3);
    ck_assert_int_eq(h.base_seq, 17);
    ck_assert_int_eq(h.attributes, KZ_BATCH_TRANSACTIONAL);
    ck_assert_int_eq(h.last_offset_delta, NREC - 1);
    ck_assert_int_eq(h.first_ts, E[0].ts);
    ck_assert_int_eq(h.max_ts, E[6].ts);
    check_set(p, n, 2, 0);
    kz_rv_opts o = KZ_RV_OPTS_INIT;
    ck_assert_int_eq(validate(p, n, &o, NULL), KZ_REC_NONE);
    free(p);
}
END_TEST

/* 2. our v2 builder. */
START_TEST(t02_builder)
{
    /* byte-identical to kafka-python where no compressor is involved */
    kz_wr w = KZ_WR_INIT;
    build_v2(&w, KZ_CODEC_NONE, 0, NULL);
    size_t n;
    uint8_t *p = ut_fixture_load("kafka/records", "v2_none.bin", &n);
    ck_assert_uint_eq(w.len, n);
    ck_assert(memcmp(w.base, p, n) == 0);
    free(p);
    w.len = 0;
    kz_bb_opts o = KZ_BB_OPTS_INIT;
    o.leader_epoch = 0;
    o.producer_id = 4242;
    o.producer_epoch = 3;
    o.base_seq = 17;
    o.transactional = true;
    build_v2(&w, KZ_CODEC_NONE, 0, &o);
    p = ut_fixture_load("kafka/records", "v2_idem.bin", &n);
    ck_assert_uint_eq(w.len, n);
    ck_assert(memcmp(w.base, p, n) == 0);
    free(p);

    /* every codec: build -> header -> validate -> iterate */
    for (int codec = 0; codec <= 4; codec++) {
        w.len = 0;
        build_v2(&w, codec, 1000, NULL);
        kz_batch_hdr h;
        ck_assert_int_eq(kz_batch_peek(w.base, w.len, 0, &h), KZ_BATCH_OK);
        ck_assert_uint_eq(kz_batch_size(&h), w.len);
        ck_assert(kz_batch_crc_ok(w.base, &h));
        ck_assert_int_eq(kz_batch_codec(&h), codec);
        ck_assert_int_eq(h.base_offset, 1000);
        ck_assert_int_eq(h.count, NREC);
        ck_assert_int_eq(h.last_offset_delta, NREC - 1);
        ck_assert_int_eq(h.first_ts, E[0].ts);
        ck_assert_int_eq(h.max_ts, E[6].ts);
        ck_assert_int_eq(h.producer_id, -1);
        kz_rv_opts vo = deep_opts();
        kz_rv_info info;
        ck_assert_int_eq(validate(w.base, w.len, &vo, &info), KZ_REC_NONE);
        ck_assert_int_eq(info.records, NREC);
        ck_assert_int_eq(info.codec, codec);
        ck_assert_int_eq(info.max_ts, E[6].ts);
        ck_assert_int_eq(info.max_ts_index, 6);
        vo.deep = false; /* compressed: the header stands in */
        ck_assert_int_eq(validate(w.base, w.len, &vo, &info), KZ_REC_NONE);
        ck_assert_int_eq(info.records, NREC);
        check_set(w.base, w.len, 2, 1000);
        /* the compressed section decodes to the uncompressed batch's records */
        if (codec) {
            kz_wr plain = KZ_WR_INIT, dec = KZ_WR_INIT;
            build_v2(&plain, KZ_CODEC_NONE, 1000, NULL);
            ck_assert_int_eq(kz_decompress(codec, w.base + 61, w.len - 61, 0, 1 << 20, &dec), KZ_CZ_OK);
            ck_assert_uint_eq(dec.len, plain.len - 61);
            ck_assert(memcmp(dec.base, plain.base + 61, dec.len) == 0);
            kz_wr_free(&plain);
            kz_wr_free(&dec);
        }
    }

    /* offsets: gaps allowed (kept as deltas), order enforced, int32 range */
    kz_bb_opts go = KZ_BB_OPTS_INIT;
    go.base_offset = 50;
    kz_bb *b = kz_bb_new(&go);
    ck_assert_int_eq(kz_bb_add(b, 49, 1, KZ_STR_NULL, KZ_STR_LIT("a"), NULL, 0), KZ_REC_INVALID_RECORD);
    ck_assert_int_eq(kz_bb_add(b, 50, 1, KZ_STR_NULL, KZ_STR_LIT("a"), NULL, 0), KZ_REC_NONE);
    ck_assert_int_eq(kz_bb_add(b, 50, 1, KZ_STR_NULL, KZ_STR_LIT("b"), NULL, 0), KZ_REC_INVALID_RECORD);
    ck_assert_int_eq(kz_bb_add(b, 53, 9, KZ_STR_NULL, KZ_STR_LIT("c"), NULL, 0), KZ_REC_NONE);
    ck_assert_int_eq(kz_bb_add(b, 50 + (int64_t)INT32_MAX + 1, 9, KZ_STR_NULL, KZ_STR_NULL, NULL, 0),
                     KZ_REC_INVALID_RECORD);
    kz_rec_header nullkey = { KZ_STR_NULL, KZ_STR_LIT("v") };
    ck_assert_int_eq(kz_bb_add(b, 60, 9, KZ_STR_NULL, KZ_STR_NULL, &nullkey, 1), KZ_REC_INVALID_RECORD);
    w.len = 0;
    ck_assert_int_eq(kz_bb_finish(b, &w), KZ_REC_NONE);
    kz_bb_free(b);
    kz_rec_iter it;
    kz_record r;
    kz_rec_iter_init(&it, w.base, w.len, NULL, 0, KZ_RI_CHECK_CRC);
    ck_assert(kz_rec_iter_next(&it, &r));
    ck_assert_int_eq(r.offset, 50);
    ck_assert(str_is(r.value, "a"));
    ck_assert(kz_rec_iter_next(&it, &r));
    ck_assert_int_eq(r.offset, 53);
    ck_assert_int_eq(r.timestamp, 9);
    ck_assert(!kz_rec_iter_next(&it, &r));
    ck_assert_int_eq(it.err, KZ_REC_NONE);
    ck_assert_int_eq(it.batch.last_offset_delta, 3);
    ck_assert_int_eq(it.batch.count, 2);

    /* an empty batch: count 0, timestamps -1 */
    b = kz_bb_new(&go);
    w.len = 0;
    ck_assert_int_eq(kz_bb_finish(b, &w), KZ_REC_NONE);
    kz_bb_free(b);
    kz_batch_hdr h;
    ck_assert_int_eq(kz_batch_peek(w.base, w.len, 0, &h), KZ_BATCH_OK);
    ck_assert_uint_eq(w.len, 61);
    ck_assert_int_eq(h.count, 0);
    ck_assert_int_eq(h.first_ts, -1);
    ck_assert_int_eq(h.max_ts, -1);
    /* an unknown codec */
    go.codec = 6;
    b = kz_bb_new(&go);
    w.len = 0;
    ck_assert_int_eq(kz_bb_finish(b, &w), KZ_REC_UNSUPPORTED_COMPRESSION_TYPE);
    ck_assert_uint_eq(w.len, 0);
    kz_bb_free(b);
    kz_bb_free(NULL);
    kz_wr_free(&w);
}
END_TEST

/* 3. legacy building. */
START_TEST(t03_legacy)
{
    char name[32];
    kz_wr w = KZ_WR_INIT;
    for (int magic = 0; magic <= 1; magic++) {
        /* byte-identical to kafka-python, uncompressed */
        w.len = 0;
        build_legacy(&w, magic, KZ_CODEC_NONE, 0);
        snprintf(name, sizeof name, "v%d_none.bin", magic);
        size_t n;
        uint8_t *p = ut_fixture_load("kafka/records", name, &n);
        ck_assert_uint_eq(w.len, n);
        ck_assert(memcmp(w.base, p, n) == 0);
        free(p);
        /* every legacy codec round trips; offsets from 100 */
        for (int codec = 0; codec <= 3; codec++) {
            w.len = 0;
            build_legacy(&w, magic, codec, 100);
            ck_assert_int_eq(check_set(w.base, w.len, magic, 100), codec ? 1 : NREC);
            if (codec) {
                /* the wrapper: offset of the last record, null key, codec;
                 * inside, v1 offsets are relative and v0 ones absolute */
                ck_assert_int_eq((int64_t)kz_load_be64(w.base), 106);
                ck_assert_int_eq(w.base[17], codec);
                size_t vat = magic ? 30 : 22;
                ck_assert_int_eq((int32_t)kz_load_be32(w.base + vat - 4), -1);
                kz_wr inner = KZ_WR_INIT;
                ck_assert_int_eq(kz_decompress(codec, w.base + vat + 4, kz_load_be32(w.base + vat),
                                               magic ? 0 : KZ_CZ_LZ4_BROKEN_HC, 1 << 20, &inner),
                                 KZ_CZ_OK);
                ck_assert_int_eq((int64_t)kz_load_be64(inner.base), magic ? 0 : 100);
                kz_wr_free(&inner);
            } else {
                /* plain entries: the iterator's header carries each message's
                 * own attributes and timestamp */
                kz_rec_iter it;
                kz_record r;
                kz_rec_iter_init(&it, w.base, w.len, NULL, 0, KZ_RI_CHECK_CRC);
                while (kz_rec_iter_next(&it, &r)) {
                    ck_assert_int_eq(it.batch.magic, magic);
                    ck_assert_int_eq(it.batch.base_offset, r.offset);
                    ck_assert_int_eq(it.batch.max_ts, magic ? r.timestamp : -1);
                    ck_assert_int_eq(it.batch.attributes, 0);
                    ck_assert_int_eq(it.batch.producer_id, -1);
                }
                ck_assert_int_eq(it.err, KZ_REC_NONE);
            }
        }
    }
    /* lz4 under magic 0: Kafka 0.8's header checksum in the wrapper value */
    w.len = 0;
    build_legacy(&w, 0, KZ_CODEC_LZ4, 0);
    const uint8_t *v = w.base + 12 + 6 + 4 + 4; /* log overhead, crc magic attributes, null key, value length */
    ck_assert(memcmp(v, "\x04\x22\x4d\x18", 4) == 0);
    ck_assert_uint_eq(v[6], (uint8_t)(kz_xxh32(v, 6, 0) >> 8));

    /* v1 wrappers: relative inner offsets and the wrapper's LogAppendTime */
    kz_record recs[3];
    memset(recs, 0, sizeof recs);
    for (int i = 0; i < 3; i++) {
        recs[i].offset = 500 + 2 * i; /* gaps, as after compaction */
        recs[i].timestamp = 77;
        recs[i].log_append_time = true;
        recs[i].value = KZ_STR_LIT("x");
        recs[i].key = KZ_STR_NULL;
    }
    w.len = 0;
    ck_assert_int_eq(kz_legacy_build(&w, 1, KZ_CODEC_GZIP, recs, 3), KZ_REC_NONE);
    ck_assert_int_eq(w.base[17], KZ_CODEC_GZIP | 0x08);
    ck_assert_int_eq((int64_t)kz_load_be64(w.base + 18), 77);
    kz_wr scratch = KZ_WR_INIT;
    kz_rec_iter it;
    kz_record r;
    kz_rec_iter_init(&it, w.base, w.len, &scratch, 0, KZ_RI_CHECK_CRC);
    for (int i = 0; i < 3; i++) {
        ck_assert(kz_rec_iter_next(&it, &r));
        ck_assert_int_eq(r.offset, 500 + 2 * i);
        ck_assert_int_eq(r.timestamp, 77);
        ck_assert(r.log_append_time);
    }
    ck_assert(!kz_rec_iter_next(&it, &r));
    ck_assert_int_eq(it.err, KZ_REC_NONE);
    /* zstd and magic 2 are not legacy */
    ck_assert_int_eq(kz_legacy_build(&w, 1, KZ_CODEC_ZSTD, recs, 3), KZ_REC_UNSUPPORTED_COMPRESSION_TYPE);
    ck_assert_int_eq(kz_legacy_build(&w, 2, KZ_CODEC_NONE, recs, 3), KZ_REC_INVALID_RECORD);
    kz_wr_free(&scratch);
    kz_wr_free(&w);
}
END_TEST

/* 4. corruption classes. */
START_TEST(t04_corruption)
{
    kz_wr w = KZ_WR_INIT;
    build_v2(&w, KZ_CODEC_NONE, 0, NULL);
    const size_t n = w.len;
    uint8_t *b = malloc(n);
    kz_rv_opts o = KZ_RV_OPTS_INIT;
    kz_rv_info info;

    /* every byte under the CRC, flipped: CORRUPT_MESSAGE; outside it (base
     * offset, leader epoch) it is not checked */
    for (size_t i = 0; i < n; i++) {
        memcpy(b, w.base, n);
        b[i] ^= 0x01;
        int rc = validate(b, n, &o, NULL);
        if (i >= 21)
            ck_assert_msg(rc == KZ_REC_CORRUPT_MESSAGE, "byte %zu: %d", i, rc);
        else if (i < 8 || (i >= 12 && i < 16))
            ck_assert_msg(rc == KZ_REC_NONE, "byte %zu: %d", i, rc);
        else if (i == 16) /* magic 3 */
            ck_assert_int_eq(rc, KZ_REC_CORRUPT_MESSAGE);
        /* 8..11 (length) and 17..20 (crc): some error or a torn tail */
    }
    /* the iterator with CRC checks says the same */
    memcpy(b, w.base, n);
    b[40] ^= 0x10;
    kz_rec_iter it;
    kz_record r;
    kz_rec_iter_init(&it, b, n, NULL, 0, KZ_RI_CHECK_CRC);
    ck_assert(!kz_rec_iter_next(&it, &r));
    ck_assert_int_eq(it.err, KZ_REC_CORRUPT_MESSAGE);

    /* short lengths: below any entry (13), below the v2 header (48) */
    memcpy(b, w.base, n);
    kz_store_be32(b + 8, 13);
    ck_assert_int_eq(validate(b, n, &o, NULL), KZ_REC_CORRUPT_MESSAGE);
    kz_store_be32(b + 8, 48);
    ck_assert_int_eq(validate(b, n, &o, NULL), KZ_REC_CORRUPT_MESSAGE);
    /* a length past the end is a torn tail: dropped, not an error, unless the
     * request must carry a batch */
    kz_store_be32(b + 8, (uint32_t)n);
    ck_assert_int_eq(validate(b, n, &o, &info), KZ_REC_NONE);
    ck_assert_uint_eq(info.valid_bytes, 0);
    ck_assert_int_eq(info.batches, 0);
    o.produce_version = 3;
    ck_assert_int_eq(validate(b, n, &o, NULL), KZ_REC_INVALID_RECORD);
    o.produce_version = -1;
    /* every truncation: a torn tail */
    for (size_t cut = 0; cut < n; cut++) {
        ck_assert_int_eq(validate(w.base, cut, &o, &info), KZ_REC_NONE);
        ck_assert_uint_eq(info.valid_bytes, 0);
    }

    /* A shorter batchLength with a fixed CRC: the records overrun -> INVALID_RECORD. */
    memcpy(b, w.base, n);
    kz_store_be32(b + 8, (uint32_t)(n - 12 - 5));
    recrc(b);
    ck_assert_int_eq(validate(b, n - 5, &o, NULL), KZ_REC_INVALID_RECORD);

    /* bad varints in the first record (length at 61, attributes 62,
     * timestampDelta 63): an over-long varint, a negative length */
    memcpy(b, w.base, n);
    memset(b + 63, 0xff, 10);
    recrc(b);
    ck_assert_int_eq(validate(b, n, &o, NULL), KZ_REC_INVALID_RECORD);
    memcpy(b, w.base, n);
    b[61] = 0x01; /* zigzag -1 */
    recrc(b);
    ck_assert_int_eq(validate(b, n, &o, NULL), KZ_REC_INVALID_RECORD);
    memcpy(b, w.base, n);
    b[61] = (uint8_t)(b[61] - 2); /* a record length one shorter than its fields */
    recrc(b);
    ck_assert_int_eq(validate(b, n, &o, NULL), KZ_REC_INVALID_RECORD);

    /* recordsCount vs lastOffsetDelta, from a client */
    memcpy(b, w.base, n);
    kz_store_be32(b + 57, NREC + 1);
    recrc(b);
    ck_assert_int_eq(validate(b, n, &o, NULL), KZ_REC_INVALID_RECORD);
    /* from the coordinator the batch checks are skipped, but the records are
     * one short of the count */
    o.from_client = false;
    ck_assert_int_eq(validate(b, n, &o, NULL), KZ_REC_INVALID_RECORD);
    kz_store_be32(b + 57, NREC - 1); /* one record too many */
    recrc(b);
    ck_assert_int_eq(validate(b, n, &o, NULL), KZ_REC_INVALID_RECORD);
    kz_store_be32(b + 57, (uint32_t)-1);
    recrc(b);
    ck_assert_int_eq(validate(b, n, &o, NULL), KZ_REC_INVALID_RECORD);
    /* a count that cannot fit in the bytes is refused before any record */
    kz_store_be32(b + 57, 1u << 30);
    recrc(b);
    kz_rec_iter_init(&it, b, n, NULL, 0, 0);
    ck_assert(!kz_rec_iter_next(&it, &r));
    ck_assert_int_eq(it.err, KZ_REC_INVALID_RECORD);
    o.from_client = true;
    memcpy(b, w.base, n);
    kz_store_be32(b + 23, NREC); /* lastOffsetDelta one too high */
    recrc(b);
    ck_assert_int_eq(validate(b, n, &o, NULL), KZ_REC_INVALID_RECORD);
    kz_store_be32(b + 23, (uint32_t)-1);
    recrc(b);
    ck_assert_int_eq(validate(b, n, &o, NULL), KZ_REC_INVALID_RECORD);

    /* too large: exactly the limit passes */
    o.max_batch_size = n;
    ck_assert_int_eq(validate(w.base, n, &o, NULL), KZ_REC_NONE);
    o.max_batch_size = n - 1;
    ck_assert_int_eq(validate(w.base, n, &o, NULL), KZ_REC_MESSAGE_TOO_LARGE);
    /* size is checked before the CRC (Log.analyzeAndValidateRecords) */
    memcpy(b, w.base, n);
    b[30] ^= 1;
    ck_assert_int_eq(validate(b, n, &o, NULL), KZ_REC_MESSAGE_TOO_LARGE);
    o.max_batch_size = 0;

    /* codecs 5..7 */
    memcpy(b, w.base, n);
    b[22] = 5;
    recrc(b);
    ck_assert_int_eq(validate(b, n, &o, NULL), KZ_REC_UNSUPPORTED_COMPRESSION_TYPE);
    kz_rec_iter_init(&it, b, n, NULL, 0, 0);
    ck_assert(!kz_rec_iter_next(&it, &r));
    ck_assert_int_eq(it.err, KZ_REC_UNSUPPORTED_COMPRESSION_TYPE);

    /* a compressed batch whose stream is broken but whose CRC is right:
     * CORRUPT_MESSAGE when walked; a shallow check cannot see it */
    kz_wr z = KZ_WR_INIT;
    build_v2(&z, KZ_CODEC_GZIP, 0, NULL);
    z.base[z.len - 3] ^= 0x55; /* the gzip trailer's CRC */
    recrc(z.base);
    kz_rv_opts dz = deep_opts();
    ck_assert_int_eq(validate(z.base, z.len, &dz, NULL), KZ_REC_CORRUPT_MESSAGE);
    ck_assert_int_eq(validate(z.base, z.len, &o, NULL), KZ_REC_NONE);
    /* the inflate limit */
    z.len = 0;
    build_v2(&z, KZ_CODEC_ZSTD, 0, NULL);
    dz.inflate_limit = 64;
    ck_assert_int_eq(validate(z.base, z.len, &dz, NULL), KZ_REC_MESSAGE_TOO_LARGE);
    kz_wr_free(&z);

    /* legacy: a flipped byte under the message CRC; inner CRCs of a wrapper */
    kz_wr l = KZ_WR_INIT;
    build_legacy(&l, 1, KZ_CODEC_NONE, 0);
    l.base[40] ^= 1;
    ck_assert_int_eq(validate(l.base, l.len, &o, NULL), KZ_REC_CORRUPT_MESSAGE);
    l.len = 0;
    build_legacy(&l, 1, KZ_CODEC_NONE, 0); /* the inner set */
    l.base[40] ^= 1;
    kz_wr comp = KZ_WR_INIT, wrap = KZ_WR_INIT;
    ck_assert_int_eq(kz_compress(KZ_CODEC_GZIP, l.base, l.len, 0, &comp), KZ_CZ_OK);
    kz_record wr = { .offset = 6, .timestamp = 1, .key = KZ_STR_NULL,
                     .value = { (const char *)comp.base, (int32_t)comp.len } };
    ck_assert_int_eq(kz_legacy_build(&wrap, 1, KZ_CODEC_NONE, &wr, 1), KZ_REC_NONE);
    wrap.base[17] = KZ_CODEC_GZIP; /* make it a wrapper, then fix its CRC */
    kz_store_be32(wrap.base + 12, (uint32_t)crc32(0, wrap.base + 16, (uInt)(wrap.len - 16)));
    ck_assert_int_eq(validate(wrap.base, wrap.len, &o, NULL), KZ_REC_CORRUPT_MESSAGE);
    /* an inner message that claims compression itself: INVALID_RECORD */
    l.len = comp.len = wrap.len = 0;
    build_legacy(&l, 1, KZ_CODEC_NONE, 0);
    l.base[17] = KZ_CODEC_SNAPPY; /* first inner message, CRC fixed */
    kz_store_be32(l.base + 12, (uint32_t)crc32(0, l.base + 16, (uInt)(kz_load_be32(l.base + 8) - 4)));
    ck_assert_int_eq(kz_compress(KZ_CODEC_GZIP, l.base, l.len, 0, &comp), KZ_CZ_OK);
    wr.value = (kz_str){ (const char *)comp.base, (int32_t)comp.len };
    ck_assert_int_eq(kz_legacy_build(&wrap, 1, KZ_CODEC_NONE, &wr, 1), KZ_REC_NONE);
    wrap.base[17] = KZ_CODEC_GZIP;
    kz_store_be32(wrap.base + 12, (uint32_t)crc32(0, wrap.base + 16, (uInt)(wrap.len - 16)));
    ck_assert_int_eq(validate(wrap.base, wrap.len, &o, NULL), KZ_REC_INVALID_RECORD);
    /* a wrapper with a null value, and one around an empty inner set */
    wrap.len = comp.len = 0;
    wr.value = KZ_STR_NULL;
    ck_assert_int_eq(kz_legacy_build(&wrap, 0, KZ_CODEC_NONE, &wr, 1), KZ_REC_NONE);
    wrap.base[17] = KZ_CODEC_LZ4;
    kz_store_be32(wrap.base + 12, (uint32_t)crc32(0, wrap.base + 16, (uInt)(wrap.len - 16)));
    ck_assert_int_eq(validate(wrap.base, wrap.len, &o, NULL), KZ_REC_INVALID_RECORD);
    wrap.len = 0;
    ck_assert_int_eq(kz_compress(KZ_CODEC_GZIP, NULL, 0, 0, &comp), KZ_CZ_OK);
    wr.value = (kz_str){ (const char *)comp.base, (int32_t)comp.len };
    ck_assert_int_eq(kz_legacy_build(&wrap, 0, KZ_CODEC_NONE, &wr, 1), KZ_REC_NONE);
    wrap.base[17] = KZ_CODEC_GZIP;
    kz_store_be32(wrap.base + 12, (uint32_t)crc32(0, wrap.base + 16, (uInt)(wrap.len - 16)));
    ck_assert_int_eq(validate(wrap.base, wrap.len, &o, NULL), KZ_REC_INVALID_RECORD);
    /* a v1 wrapper offset below its last inner offset (and not 0) */
    l.len = comp.len = wrap.len = 0;
    build_legacy(&l, 1, KZ_CODEC_SNAPPY, 0);
    kz_store_be64(l.base, 3);
    ck_assert_int_eq(validate(l.base, l.len, &o, NULL), KZ_REC_INVALID_RECORD);
    kz_wr sc = KZ_WR_INIT;
    kz_rec_iter_init(&it, l.base, l.len, &sc, 0, 0); /* the iterator refuses it too */
    ck_assert(!kz_rec_iter_next(&it, &r));
    ck_assert_int_eq(it.err, KZ_REC_INVALID_RECORD);
    kz_wr_free(&sc);
    kz_wr_free(&l);
    kz_wr_free(&comp);
    kz_wr_free(&wrap);

    free(b);
    kz_wr_free(&w);
}
END_TEST

/* 5. LogValidator's batch and record rules. */
START_TEST(t05_validator_rules)
{
    kz_rv_opts o = KZ_RV_OPTS_INIT;
    kz_rv_info info;
    kz_wr w = KZ_WR_INIT, two = KZ_WR_INIT;
    build_v2(&w, KZ_CODEC_NONE, 0, NULL);

    /* v2: exactly one batch per payload; legacy uncompressed: many messages */
    build_v2(&two, KZ_CODEC_NONE, 0, NULL);
    build_v2(&two, KZ_CODEC_NONE, 0, NULL);
    ck_assert_int_eq(validate(two.base, two.len, &o, NULL), KZ_REC_INVALID_RECORD);
    o.produce_version = 3;
    ck_assert_int_eq(validate(two.base, two.len, &o, NULL), KZ_REC_INVALID_RECORD);
    two.len = 0;
    build_legacy(&two, 1, KZ_CODEC_NONE, 0);
    ck_assert_int_eq(validate(two.base, two.len, &o, NULL), KZ_REC_INVALID_RECORD); /* v3 needs magic 2 */
    o.produce_version = 2;
    ck_assert_int_eq(validate(two.base, two.len, &o, &info), KZ_REC_NONE);
    ck_assert_int_eq(info.batches, NREC);
    /* mixed magics */
    build_legacy(&two, 0, KZ_CODEC_NONE, 0);
    ck_assert_int_eq(validate(two.base, two.len, &o, NULL), KZ_REC_INVALID_RECORD);
    /* two compressed legacy wrappers */
    two.len = 0;
    build_legacy(&two, 1, KZ_CODEC_GZIP, 0);
    build_legacy(&two, 1, KZ_CODEC_GZIP, 0);
    ck_assert_int_eq(validate(two.base, two.len, &o, NULL), KZ_REC_INVALID_RECORD);
    o.produce_version = -1;

    /* zstd needs Produce v7 */
    kz_wr z = KZ_WR_INIT;
    build_v2(&z, KZ_CODEC_ZSTD, 0, NULL);
    o.produce_version = 6;
    ck_assert_int_eq(validate(z.base, z.len, &o, NULL), KZ_REC_UNSUPPORTED_COMPRESSION_TYPE);
    o.produce_version = 7;
    ck_assert_int_eq(validate(z.base, z.len, &o, NULL), KZ_REC_NONE);
    o.produce_version = -1;
    kz_wr_free(&z);

    /* a producer id needs a sequence */
    kz_bb_opts bo = KZ_BB_OPTS_INIT;
    bo.producer_id = 7;
    bo.producer_epoch = 0;
    two.len = 0;
    build_v2(&two, KZ_CODEC_NONE, 0, &bo);
    ck_assert_int_eq(validate(two.base, two.len, &o, NULL), KZ_REC_INVALID_RECORD);
    o.from_client = false;
    ck_assert_int_eq(validate(two.base, two.len, &o, NULL), KZ_REC_NONE);
    o.from_client = true;

    /* offset deltas must run 0..n-1 (seen from the coordinator path, where
     * count == lastOffsetDelta + 1 is not required) */
    kz_bb_opts go = KZ_BB_OPTS_INIT;
    kz_bb *b = kz_bb_new(&go);
    ck_assert_int_eq(kz_bb_add(b, 0, 1, KZ_STR_LIT("k"), KZ_STR_LIT("v"), NULL, 0), KZ_REC_NONE);
    ck_assert_int_eq(kz_bb_add(b, 2, 1, KZ_STR_LIT("k"), KZ_STR_LIT("v"), NULL, 0), KZ_REC_NONE);
    two.len = 0;
    ck_assert_int_eq(kz_bb_finish(b, &two), KZ_REC_NONE);
    kz_bb_free(b);
    ck_assert_int_eq(validate(two.base, two.len, &o, NULL), KZ_REC_INVALID_RECORD); /* count 2, lod 2 */
    o.from_client = false;
    ck_assert_int_eq(validate(two.base, two.len, &o, NULL), KZ_REC_INVALID_RECORD); /* delta 2 at index 1 */
    o.from_client = true;

    /* compacted topics need keys (records 2 and 5 have none) */
    o.compacted = true;
    ck_assert_int_eq(validate(w.base, w.len, &o, NULL), KZ_REC_INVALID_RECORD);
    o.compacted = false;

    /* timestamps: within max diff of now; -1 never checked */
    o.now_ms = E[6].ts + 1000;
    o.ts_diff_max_ms = 9000; /* record 3 is the farthest: TS0 - 2 s, 9 s before now */
    ck_assert_int_eq(validate(w.base, w.len, &o, &info), KZ_REC_NONE);
    o.ts_diff_max_ms -= 1;
    ck_assert_int_eq(validate(w.base, w.len, &o, NULL), KZ_REC_INVALID_TIMESTAMP);
    /* ...and INVALID_TIMESTAMP wins over a missing key */
    o.compacted = true;
    ck_assert_int_eq(validate(w.base, w.len, &o, NULL), KZ_REC_INVALID_TIMESTAMP);
    o.compacted = false;
    /* a LogAppendTime topic does not check them, and reports now */
    o.log_append_time = true;
    ck_assert_int_eq(validate(w.base, w.len, &o, &info), KZ_REC_NONE);
    ck_assert_int_eq(info.max_ts, o.now_ms);
    ck_assert_int_eq(info.max_ts_index, NREC - 1);
    o.log_append_time = false;
    o.ts_diff_max_ms = INT64_MAX;
    /* extreme timestamps do not overflow the check */
    o.now_ms = INT64_MAX;
    ck_assert_int_eq(validate(w.base, w.len, &o, NULL), KZ_REC_NONE);
    o.ts_diff_max_ms = 0;
    ck_assert_int_eq(validate(w.base, w.len, &o, NULL), KZ_REC_INVALID_TIMESTAMP);
    o.ts_diff_max_ms = INT64_MAX;
    o.now_ms = 0;
    /* a producer may not set LogAppendTime */
    bo = KZ_BB_OPTS_INIT;
    bo.log_append_time = true;
    bo.log_append_ts = 5;
    two.len = 0;
    build_v2(&two, KZ_CODEC_NONE, 0, &bo);
    ck_assert_int_eq(validate(two.base, two.len, &o, NULL), KZ_REC_INVALID_TIMESTAMP);
    two.len = 0;
    build_v2(&two, KZ_CODEC_LZ4, 0, &bo); /* shallow check of a compressed batch too */
    ck_assert_int_eq(validate(two.base, two.len, &o, NULL), KZ_REC_INVALID_TIMESTAMP);

    /* control batches: not from clients */
    two.len = 0;
    ck_assert_int_eq(kz_ctrl_build_marker(&two, 0, 0, 9, 1, true, 4, 1234), KZ_REC_NONE);
    ck_assert_int_eq(validate(two.base, two.len, &o, NULL), KZ_REC_INVALID_RECORD);
    o.from_client = false;
    ck_assert_int_eq(validate(two.base, two.len, &o, &info), KZ_REC_NONE);
    ck_assert_int_eq(info.records, 1);
    o.from_client = true;

    /* max timestamp and its index over several legacy messages */
    two.len = 0;
    build_legacy(&two, 1, KZ_CODEC_NONE, 0);
    ck_assert_int_eq(validate(two.base, two.len, &o, &info), KZ_REC_NONE);
    ck_assert_int_eq(info.max_ts, E[6].ts);
    ck_assert_int_eq(info.max_ts_index, 6);
    ck_assert_int_eq(info.records, NREC);

    kz_wr_free(&w);
    kz_wr_free(&two);
}
END_TEST

/* 6. conversions. */
START_TEST(t06_conversion)
{
    char name[32];
    kz_upconv_opts uo = { false, false, 0, 0 };
    for (int magic = 0; magic <= 1; magic++) {
        for (int codec = 0; codec <= 3; codec++) {
            snprintf(name, sizeof name, "v%d_%s.bin", magic, CODEC_NAMES[codec]);
            size_t n;
            uint8_t *p = ut_fixture_load("kafka/records", name, &n);
            kz_wr out = KZ_WR_INIT;
            ck_assert_int_eq(kz_records_up_convert(p, n, &uo, &out), KZ_REC_NONE);
            /* one v2 batch, same codec, v0 timestamps -1 */
            kz_batch_hdr h;
            ck_assert_int_eq(kz_batch_peek(out.base, out.len, 0, &h), KZ_BATCH_OK);
            ck_assert_uint_eq(kz_batch_size(&h), out.len);
            ck_assert_int_eq(h.magic, 2);
            ck_assert_int_eq(kz_batch_codec(&h), codec);
            ck_assert_int_eq(h.count, NREC);
            ck_assert_int_eq(h.max_ts, magic ? E[6].ts : -1);
            kz_rv_opts vo = deep_opts();
            ck_assert_int_eq(validate(out.base, out.len, &vo, NULL), KZ_REC_NONE);
            /* same records, no headers: compare with E minus headers */
            kz_wr scratch = KZ_WR_INIT;
            kz_rec_iter it;
            kz_record r;
            kz_rec_iter_init(&it, out.base, out.len, &scratch, 0, KZ_RI_CHECK_CRC);
            int i = 0;
            while (kz_rec_iter_next(&it, &r)) {
                ck_assert_int_eq(r.offset, i);
                ck_assert_int_eq(r.timestamp, magic ? E[i].ts : -1);
                ck_assert(kz_str_eq(r.key, E[i].key) && kz_str_eq(r.value, E[i].value));
                ck_assert_int_eq(r.header_count, 0);
                i++;
            }
            ck_assert_int_eq(it.err, KZ_REC_NONE);
            ck_assert_int_eq(i, NREC);
            kz_wr_free(&scratch);
            kz_wr_free(&out);
            free(p);
        }
    }
    /* renumbering vs keeping offsets, and LogAppendTime */
    kz_wr in = KZ_WR_INIT, out = KZ_WR_INIT;
    build_legacy(&in, 1, KZ_CODEC_NONE, 40);
    ck_assert_int_eq(kz_records_up_convert(in.base, in.len, &uo, &out), KZ_REC_NONE);
    kz_batch_hdr h;
    ck_assert_int_eq(kz_batch_peek(out.base, out.len, 0, &h), KZ_BATCH_OK);
    ck_assert_int_eq(h.base_offset, 0);
    out.len = 0;
    uo.keep_offsets = true;
    uo.log_append_time = true;
    uo.now_ms = 31337;
    ck_assert_int_eq(kz_records_up_convert(in.base, in.len, &uo, &out), KZ_REC_NONE);
    ck_assert_int_eq(kz_batch_peek(out.base, out.len, 0, &h), KZ_BATCH_OK);
    ck_assert_int_eq(h.base_offset, 40);
    ck_assert_int_eq(h.max_ts, 31337);
    ck_assert(h.attributes & KZ_BATCH_TS_LOGAPPEND);
    kz_rec_iter it;
    kz_record r;
    kz_rec_iter_init(&it, out.base, out.len, NULL, 0, KZ_RI_CHECK_CRC);
    ck_assert(kz_rec_iter_next(&it, &r));
    ck_assert_int_eq(r.offset, 40);
    ck_assert_int_eq(r.timestamp, 31337);
    ck_assert(r.log_append_time);
    uo = (kz_upconv_opts){ true, false, 0, 0 };
    /* a run of plain messages, a wrapper, more plain messages: three batches */
    in.len = out.len = 0;
    build_legacy(&in, 1, KZ_CODEC_NONE, 0);
    build_legacy(&in, 1, KZ_CODEC_LZ4, 7);
    build_legacy(&in, 1, KZ_CODEC_NONE, 14);
    ck_assert_int_eq(kz_records_up_convert(in.base, in.len, &uo, &out), KZ_REC_NONE);
    size_t pos = 0;
    int batches = 0;
    while (pos < out.len) {
        ck_assert_int_eq(kz_batch_peek(out.base + pos, out.len - pos, 0, &h), KZ_BATCH_OK);
        ck_assert_int_eq(h.base_offset, 7 * batches);
        ck_assert_int_eq(kz_batch_codec(&h), batches == 1 ? KZ_CODEC_LZ4 : KZ_CODEC_NONE);
        pos += kz_batch_size(&h);
        batches++;
    }
    ck_assert_int_eq(batches, 3);
    /* a corrupt input is refused and leaves @out as it was */
    in.base[30] ^= 1;
    size_t before = out.len;
    ck_assert_int_eq(kz_records_up_convert(in.base, in.len, &uo, &out), KZ_REC_CORRUPT_MESSAGE);
    ck_assert_uint_eq(out.len, before);

    /* down-conversion of every v2 fixture to v1 and v0 */
    for (int codec = 0; codec <= 4; codec++) {
        snprintf(name, sizeof name, "v2_%s.bin", CODEC_NAMES[codec]);
        size_t n;
        uint8_t *p = ut_fixture_load("kafka/records", name, &n);
        for (int to = 0; to <= 1; to++) {
            out.len = 0;
            ck_assert_int_eq(kz_records_down_convert(p, n, to, 0, &out), KZ_REC_NONE);
            ck_assert_int_eq(check_set(out.base, out.len, to, 0), NREC); /* uncompressed: one entry each */
        }
        free(p);
    }
    /* round trip: v2 at offset 1000 -> v1 -> v2 (keeping offsets) is the same
     * batch without headers; a control batch in between disappears; legacy
     * entries at or below the target pass unchanged */
    in.len = out.len = 0;
    build_v2(&in, KZ_CODEC_SNAPPY, 1000, NULL);
    ck_assert_int_eq(kz_ctrl_build_marker(&in, 1007, 0, 1, 0, false, 0, 5), KZ_REC_NONE);
    build_legacy(&in, 0, KZ_CODEC_GZIP, 1008);
    ck_assert_int_eq(kz_records_down_convert(in.base, in.len, 1, 0, &out), KZ_REC_NONE);
    kz_wr again = KZ_WR_INIT;
    ck_assert_int_eq(kz_records_up_convert(out.base, out.len, &uo, &again), KZ_REC_NONE);
    kz_wr scratch = KZ_WR_INIT;
    kz_rec_iter_init(&it, again.base, again.len, &scratch, 0, KZ_RI_CHECK_CRC);
    for (int i = 0; i < 2 * NREC; i++) {
        ck_assert(kz_rec_iter_next(&it, &r));
        int k = i % NREC;
        ck_assert_int_eq(r.offset, i < NREC ? 1000 + i : 1008 + k);
        ck_assert_int_eq(r.timestamp, i < NREC ? E[k].ts : -1);
        ck_assert(kz_str_eq(r.key, E[k].key) && kz_str_eq(r.value, E[k].value));
    }
    ck_assert(!kz_rec_iter_next(&it, &r));
    ck_assert_int_eq(it.err, KZ_REC_NONE);
    /* the v0 wrapper went through byte for byte */
    kz_wr v0 = KZ_WR_INIT;
    build_legacy(&v0, 0, KZ_CODEC_GZIP, 1008);
    ck_assert(memcmp(out.base + out.len - v0.len, v0.base, v0.len) == 0);
    /* LogAppendTime batches keep their time and flag in v1 */
    kz_bb_opts bo = KZ_BB_OPTS_INIT;
    bo.log_append_time = true;
    bo.log_append_ts = 424242;
    in.len = out.len = 0;
    build_v2(&in, KZ_CODEC_NONE, 0, &bo);
    ck_assert_int_eq(kz_records_down_convert(in.base, in.len, 1, 0, &out), KZ_REC_NONE);
    ck_assert_int_eq(out.base[17], 0x08);
    ck_assert_int_eq((int64_t)kz_load_be64(out.base + 18), 424242);
    ck_assert_int_eq(kz_records_down_convert(in.base, in.len, 2, 0, &out), KZ_REC_INVALID_RECORD);
    /* a torn tail is dropped */
    out.len = 0;
    ck_assert_int_eq(kz_records_down_convert(in.base, in.len - 1, 0, 0, &out), KZ_REC_NONE);
    ck_assert_uint_eq(out.len, 0);
    kz_wr_free(&v0);
    kz_wr_free(&scratch);
    kz_wr_free(&again);
    kz_wr_free(&in);
    kz_wr_free(&out);
}
END_TEST

/* 7. control records. */
START_TEST(t07_control)
{
    kz_wr w = KZ_WR_INIT;
    ck_assert_int_eq(kz_ctrl_build_marker(&w, 77, 3, 4242, 5, true, 11, 999), KZ_REC_NONE);
    kz_batch_hdr h;
    ck_assert_int_eq(kz_batch_peek(w.base, w.len, 0, &h), KZ_BATCH_OK);
    ck_assert(kz_batch_is_control(&h));
    ck_assert_int_eq(h.attributes, KZ_BATCH_CONTROL | KZ_BATCH_TRANSACTIONAL);
    ck_assert_int_eq(h.base_offset, 77);
    ck_assert_int_eq(h.leader_epoch, 3);
    ck_assert_int_eq(h.producer_id, 4242);
    ck_assert_int_eq(h.producer_epoch, 5);
    ck_assert_int_eq(h.base_seq, -1);
    ck_assert_int_eq(h.count, 1);
    ck_assert(kz_batch_crc_ok(w.base, &h));
    kz_rec_iter it;
    kz_record r;
    kz_rec_iter_init(&it, w.base, w.len, NULL, 0, KZ_RI_CHECK_CRC);
    ck_assert(kz_rec_iter_next(&it, &r));
    ck_assert_int_eq(r.offset, 77);
    ck_assert_int_eq(r.timestamp, 999);
    ck_assert(r.key.len == 4 && memcmp(r.key.s, "\0\0\0\1", 4) == 0);
    ck_assert(r.value.len == 6 && memcmp(r.value.s, "\0\0\0\0\0\x0b", 6) == 0);
    kz_ctrl c;
    ck_assert_int_eq(kz_ctrl_parse(&r, &c), KZ_REC_NONE);
    ck_assert_int_eq(c.type, KZ_CTRL_COMMIT);
    ck_assert(c.is_txn_marker);
    ck_assert_int_eq(c.coordinator_epoch, 11);
    w.len = 0;
    ck_assert_int_eq(kz_ctrl_build_marker(&w, 0, 0, 1, 0, false, 2, 0), KZ_REC_NONE);
    kz_rec_iter_init(&it, w.base, w.len, NULL, 0, 0);
    ck_assert(kz_rec_iter_next(&it, &r));
    ck_assert_int_eq(kz_ctrl_parse(&r, &c), KZ_REC_NONE);
    ck_assert_int_eq(c.type, KZ_CTRL_ABORT);
    /* ordinary batches are not control batches */
    kz_wr plain = KZ_WR_INIT;
    build_v2(&plain, KZ_CODEC_NONE, 0, NULL);
    ck_assert_int_eq(kz_batch_peek(plain.base, plain.len, 0, &h), KZ_BATCH_OK);
    ck_assert(!kz_batch_is_control(&h));
    kz_wr_free(&plain);
    /* parse errors and an unknown type */
    kz_record k = r;
    k.key = (kz_str){ "\0\0\0", 3 };
    ck_assert_int_eq(kz_ctrl_parse(&k, &c), KZ_REC_INVALID_RECORD);
    k.key = (kz_str){ "\xff\xff\0\1", 4 };
    ck_assert_int_eq(kz_ctrl_parse(&k, &c), KZ_REC_INVALID_RECORD);
    k.key = (kz_str){ "\0\0\0\1", 4 };
    k.value = (kz_str){ "\0\0\0\0\0", 5 };
    ck_assert_int_eq(kz_ctrl_parse(&k, &c), KZ_REC_INVALID_RECORD);
    k.value = (kz_str){ "\x80\0\0\0\0\0", 6 };
    ck_assert_int_eq(kz_ctrl_parse(&k, &c), KZ_REC_INVALID_RECORD);
    k.key = (kz_str){ "\0\0\0\3", 4 };
    k.value = KZ_STR_NULL;
    ck_assert_int_eq(kz_ctrl_parse(&k, &c), KZ_REC_NONE);
    ck_assert_int_eq(c.type, 3);
    ck_assert(!c.is_txn_marker);
    kz_wr_free(&w);
}
END_TEST

/* 8. iteration across entries, torn tails, LogAppendTime. */
START_TEST(t08_iteration)
{
    kz_wr w = KZ_WR_INIT;
    build_v2(&w, KZ_CODEC_NONE, 0, NULL);
    size_t first = w.len;
    build_v2(&w, KZ_CODEC_GZIP, 7, NULL);
    size_t second = w.len;
    build_v2(&w, KZ_CODEC_LZ4, 14, NULL);
    /* all of the third batch but its last byte */
    kz_wr scratch = KZ_WR_INIT;
    kz_rec_iter it;
    kz_record r;
    kz_rec_iter_init(&it, w.base, w.len - 1, &scratch, 0, KZ_RI_CHECK_CRC);
    int i = 0;
    while (kz_rec_iter_next(&it, &r)) {
        check_rec(&r, i % NREC, 2, i);
        ck_assert_int_eq(it.batch.base_offset, i / NREC * NREC);
        i++;
    }
    ck_assert_int_eq(it.err, KZ_REC_NONE);
    ck_assert_int_eq(i, 2 * NREC);
    ck_assert(it.partial);
    ck_assert_uint_eq(it.consumed, second);
    /* the same bytes validate as "one batch, the rest is a torn tail"? No:
     * Kafka refuses a second v2 batch */
    kz_rv_opts o = KZ_RV_OPTS_INIT;
    ck_assert_int_eq(validate(w.base, w.len - 1, &o, NULL), KZ_REC_INVALID_RECORD);
    ck_assert_int_eq(validate(w.base, first + 20, &o, NULL), KZ_REC_NONE);
    /* an error stays: further calls return false */
    w.base[first + 30] ^= 1;
    kz_rec_iter_init(&it, w.base, w.len, &scratch, 0, KZ_RI_CHECK_CRC);
    for (i = 0; kz_rec_iter_next(&it, &r); i++)
        ;
    ck_assert_int_eq(i, NREC);
    ck_assert_int_eq(it.err, KZ_REC_CORRUPT_MESSAGE);
    ck_assert(!kz_rec_iter_next(&it, &r));
    ck_assert_int_eq(it.err, KZ_REC_CORRUPT_MESSAGE);
    /* without a scratch writer, a compressed batch cannot be opened */
    kz_rec_iter_init(&it, w.base + first, second - first, NULL, 0, 0);
    ck_assert(!kz_rec_iter_next(&it, &r));
    ck_assert_int_eq(it.err, KZ_REC_UNKNOWN);
    /* An empty batch's records are never opened (Kafka's iterator returns
     * nothing for count 0): a "gzip" batch with no stream at all is fine. */
    kz_bb_opts eo = KZ_BB_OPTS_INIT;
    kz_bb *eb = kz_bb_new(&eo);
    w.len = 0;
    ck_assert_int_eq(kz_bb_finish(eb, &w), KZ_REC_NONE);
    kz_bb_free(eb);
    w.base[22] = KZ_CODEC_GZIP;
    recrc(w.base);
    kz_rec_iter_init(&it, w.base, w.len, &scratch, 0, KZ_RI_CHECK_CRC);
    ck_assert(!kz_rec_iter_next(&it, &r));
    ck_assert_int_eq(it.err, KZ_REC_NONE);
    ck_assert_uint_eq(it.consumed, 61);
    /* LogAppendTime: every record takes the batch's maxTimestamp */
    kz_bb_opts bo = KZ_BB_OPTS_INIT;
    bo.log_append_time = true;
    bo.log_append_ts = 123456;
    w.len = 0;
    build_v2(&w, KZ_CODEC_ZSTD, 0, &bo);
    kz_rec_iter_init(&it, w.base, w.len, &scratch, 0, KZ_RI_CHECK_CRC);
    for (i = 0; kz_rec_iter_next(&it, &r); i++) {
        ck_assert_int_eq(r.timestamp, 123456);
        ck_assert(r.log_append_time);
    }
    ck_assert_int_eq(i, NREC);
    ck_assert_int_eq(it.batch.first_ts, E[0].ts);
    kz_wr_free(&scratch);
    kz_wr_free(&w);
}
END_TEST

/* 9. kafka-python reads what we build. */
START_TEST(t09_kafka_python_reads_ours)
{
    if (system("/usr/bin/python3 -c 'import kafka.record, lz4.frame, snappy, zstandard' >/dev/null 2>&1") != 0) {
        fprintf(stderr, "t09: python3 with kafka-python and its codecs not found, skipped\n");
        return;
    }
    char dir[64], path[256];
    mktmp_prefix(dir, "kzrec");
    for (int magic = 0; magic <= 2; magic++) {
        for (int codec = 0; codec <= (magic == 2 ? 4 : 3); codec++) {
            kz_wr w = KZ_WR_INIT;
            if (magic == 2)
                build_v2(&w, codec, 0, NULL);
            else
                build_legacy(&w, magic, codec, 0);
            snprintf(path, sizeof path, "%s/ours_v%d_%s.bin", dir, magic, CODEC_NAMES[codec]);
            FILE *f = fopen(path, "wb");
            ck_assert_ptr_nonnull(f);
            ck_assert_uint_eq(fwrite(w.base, 1, w.len, f), w.len);
            fclose(f);
            kz_wr_free(&w);
        }
    }
    const char *base = getenv("KZ_FIXTURES");
    char cmd[768];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/kafka/records/gen.py --check %s >%s/check.log 2>&1",
             base && *base ? base : "test/fixtures", dir, dir);
    int rc = system(cmd);
    if (rc != 0) {
        snprintf(cmd, sizeof cmd, "cat %s/check.log >&2", dir);
        int shown = system(cmd);
        ck_assert_int_eq(shown, 0);
    }
    rmtree(dir);
    ck_assert_msg(rc == 0, "kafka-python could not read our batches (see above)");
}
END_TEST

static Suite *records_suite(void)
{
    Suite *s = suite_create("records");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, exp_init, NULL);
    tcase_add_test(tc, t01_kafka_python_fixtures);
    tcase_add_test(tc, t02_builder);
    tcase_add_test(tc, t03_legacy);
    tcase_add_test(tc, t04_corruption);
    tcase_add_test(tc, t05_validator_rules);
    tcase_add_test(tc, t06_conversion);
    tcase_add_test(tc, t07_control);
    tcase_add_test(tc, t08_iteration);
    tcase_add_test(tc, t09_kafka_python_reads_ours);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ut_run(records_suite());
}
