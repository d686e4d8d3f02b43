/* test/fuzz/fuzz_records.c -- libFuzzer harness for record sets
 * (common/kz_records.c) and the compression codecs (common/kz_compress.c).
 *
 * Input: byte 0 picks the mode (bit 0) and options (bits 1-7); the rest is
 * the data, copied into an exactly sized heap block.
 *   mode 0, records: the data is a produce payload / log slice (RecordBatch
 *     v2 and legacy entries in any mix). It is validated, iterated,
 *     up-converted and down-converted. Checks:
 *       1. every call returns a Kafka code of kz_rec_err;
 *       2. a payload that validates (deep, not from a client) iterates with
 *          CRC checks over info.valid_bytes to exactly info.records records;
 *       3. when the input iterates cleanly, a successful down-conversion
 *          iterates cleanly too, and converting its output again copies it
 *          byte for byte (it is all legacy by then);
 *       4. when the input iterates cleanly with CRC checks, a successful
 *          up-conversion (keeping offsets) iterates to the same records:
 *          offsets, keys and values (compared through a running hash);
 *       5. the records of each v2 entry, rebuilt with kz_bb (uncompressed),
 *          iterate to the same records.
 *   mode 1, codecs: byte 1 picks the codec (mod 5) and flags; the rest is
 *     decompressed with a 1 MiB limit. Checks: the result is a kz_cz_rc;
 *     the output never exceeds the limit; a successful output compresses
 *     and decompresses back to itself.
 * Decompression is limited to 1 MiB per entry everywhere, so inputs cannot
 * make the harness allocate much. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "kz_buf.h"
#include "kz_compress.h"
#include "kz_crc32c.h"
#include "kz_records.h"

#define FZ_LIMIT ((size_t)1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool fz_rec_code(int rc)
{
    switch (rc) {
    case KZ_REC_UNKNOWN:
    case KZ_REC_NONE:
    case KZ_REC_CORRUPT_MESSAGE:
    case KZ_REC_MESSAGE_TOO_LARGE:
    case KZ_REC_INVALID_TIMESTAMP:
    case KZ_REC_UNSUPPORTED_COMPRESSION_TYPE:
    case KZ_REC_INVALID_RECORD:
        return true;
    default:
        return false;
    }
}

/* A running hash of what identifies a record across formats. */
static uint32_t fz_hash_str(uint32_t h, kz_str s)
{
    uint8_t len[4];
    kz_store_be32(len, (uint32_t)s.len);
    h = kz_crc32c(h, len, 4);
    return s.len > 0 ? kz_crc32c(h, s.s, (size_t)s.len) : h;
}
static uint32_t fz_hash_rec(uint32_t h, const kz_record *r)
{
    uint8_t off[8];
    kz_store_be64(off, (uint64_t)r->offset);
    h = kz_crc32c(h, off, 8);
    return fz_hash_str(fz_hash_str(h, r->key), r->value);
}

/* Walks @n bytes at @p; returns the iterator's error, the record count and
 * the hash of the records. */
static int fz_rec_walk(const uint8_t *p, size_t n, unsigned flags, int64_t *count, uint32_t *hash)
{
    kz_wr scratch = KZ_WR_INIT;
    kz_rec_iter it;
    kz_record r;
    kz_rec_iter_init(&it, p, n, &scratch, FZ_LIMIT, flags);
    *count = 0;
    *hash = 0;
    while (kz_rec_iter_next(&it, &r)) {
        FZ_CHECK(r.key.len >= -1 && r.value.len >= -1, "bad lengths");
        kz_rec_hdr_iter hi = kz_record_headers(&r);
        kz_rec_header h;
        int32_t nh = 0;
        while (kz_rec_hdr_next(&hi, &h))
            nh++;
        FZ_CHECK(nh == r.header_count, "headers: %d of %d", nh, r.header_count);
        (*count)++;
        *hash = fz_hash_rec(*hash, &r);
    }
    FZ_CHECK(fz_rec_code(it.err), "iterator: %d", it.err);
    kz_wr_free(&scratch);
    return it.err;
}

/* Check 5: each v2 entry rebuilt uncompressed holds the same records. */
static void fz_rebuild(const uint8_t *p, size_t n)
{
    size_t pos = 0;
    kz_wr scratch = KZ_WR_INIT, out = KZ_WR_INIT;
    while (pos < n) {
        kz_batch_hdr h;
        if (kz_batch_peek(p + pos, n - pos, 0, &h) != KZ_BATCH_OK)
            break;
        size_t sz = kz_batch_size(&h);
        if (h.magic == 2) {
            kz_bb_opts o = KZ_BB_OPTS_INIT;
            o.base_offset = h.base_offset;
            kz_bb *b = kz_bb_new(&o);
            FZ_CHECK(b != NULL, "out of memory");
            kz_rec_iter it;
            kz_record r;
            kz_rec_iter_init(&it, p + pos, sz, &scratch, FZ_LIMIT, 0);
            bool ok = true;
            int64_t cnt = 0;
            uint32_t hash = 0;
            while (kz_rec_iter_next(&it, &r)) {
                kz_rec_header hd[8];
                int32_t nh = 0;
                kz_rec_hdr_iter hi = kz_record_headers(&r);
                while (nh < 8 && kz_rec_hdr_next(&hi, &hd[nh]))
                    nh++;
                if (nh != r.header_count || kz_bb_add(b, r.offset, r.timestamp, r.key, r.value, hd, nh) != 0)
                    ok = false;
                cnt++;
                hash = fz_hash_rec(hash, &r);
            }
            if (ok && it.err == KZ_REC_NONE && cnt > 0) {
                out.len = 0;
                FZ_CHECK(kz_bb_finish(b, &out) == KZ_REC_NONE, "rebuild failed");
                int64_t c2;
                uint32_t h2;
                FZ_CHECK(fz_rec_walk(out.base, out.len, KZ_RI_CHECK_CRC, &c2, &h2) == KZ_REC_NONE, "rebuilt batch");
                FZ_CHECK(c2 == cnt && h2 == hash, "rebuilt batch differs: %lld/%lld", (long long)c2, (long long)cnt);
            }
            kz_bb_free(b);
        }
        pos += sz;
    }
    kz_wr_free(&scratch);
    kz_wr_free(&out);
}

static void fz_records(const uint8_t *p, size_t n, uint8_t opt)
{
    /* 1, 2: validation against iteration */
    kz_rv_opts o = KZ_RV_OPTS_INIT;
    o.inflate_limit = FZ_LIMIT;
    o.deep = true;
    o.from_client = false;
    o.compacted = opt & 0x10;
    o.produce_version = (opt & 0x20) ? 3 : -1;
    kz_rv_info info;
    int rc = kz_records_validate(p, n, &o, &info);
    FZ_CHECK(fz_rec_code(rc), "validate: %d", rc);
    FZ_CHECK(info.valid_bytes <= n, "valid_bytes");
    int64_t cnt;
    uint32_t hash;
    if (rc == KZ_REC_NONE) {
        int irc = fz_rec_walk(p, info.valid_bytes, KZ_RI_CHECK_CRC | KZ_RI_MATCH_MAGIC, &cnt, &hash);
        FZ_CHECK(irc == KZ_REC_NONE && cnt == info.records, "validated %lld records, iterated %lld (%d)",
                 (long long)info.records, (long long)cnt, irc);
    }
    o.from_client = true;
    o.deep = false;
    FZ_CHECK(fz_rec_code(kz_records_validate(p, n, &o, &info)), "validate (client)");

    /* 3: down-conversion (entries already old enough are copied unchecked,
     * so the output reads cleanly only when the input does) */
    int64_t in_cnt;
    uint32_t in_hash;
    int in_rc0 = fz_rec_walk(p, n, 0, &in_cnt, &in_hash);
    int to = (opt >> 2) & 1;
    kz_wr down = KZ_WR_INIT, again = KZ_WR_INIT;
    rc = kz_records_down_convert(p, n, to, FZ_LIMIT, &down);
    FZ_CHECK(fz_rec_code(rc), "down: %d", rc);
    if (rc == KZ_REC_NONE && in_rc0 == KZ_REC_NONE) {
        FZ_CHECK(fz_rec_walk(down.base, down.len, 0, &cnt, &hash) == KZ_REC_NONE, "down-converted set");
        FZ_CHECK(kz_records_down_convert(down.base, down.len, to, FZ_LIMIT, &again) == KZ_REC_NONE, "again");
        FZ_CHECK(again.len == down.len && (down.len == 0 || memcmp(again.base, down.base, down.len) == 0),
                 "down-conversion of legacy data changed it");
    }
    kz_wr_free(&down);
    kz_wr_free(&again);

    /* 4: up-conversion keeps the records */
    int in_rc = fz_rec_walk(p, n, KZ_RI_CHECK_CRC, &in_cnt, &in_hash);
    kz_upconv_opts uo = { true, (opt & 0x40) != 0, 1234, FZ_LIMIT };
    kz_wr up = KZ_WR_INIT;
    rc = kz_records_up_convert(p, n, &uo, &up);
    FZ_CHECK(fz_rec_code(rc), "up: %d", rc);
    if (rc == KZ_REC_NONE && in_rc == KZ_REC_NONE) {
        FZ_CHECK(fz_rec_walk(up.base, up.len, KZ_RI_CHECK_CRC, &cnt, &hash) == KZ_REC_NONE, "up-converted set");
        FZ_CHECK(cnt == in_cnt && hash == in_hash, "up-conversion changed the records");
    }
    kz_wr_free(&up);

    /* 5 */
    fz_rebuild(p, n);
}

static void fz_codec(const uint8_t *p, size_t n)
{
    if (n < 1)
        return;
    int codec = p[0] % 5;
    unsigned flags = (p[0] >> 3) & 3;
    kz_wr out = KZ_WR_INIT, c = KZ_WR_INIT, back = KZ_WR_INIT;
    int rc = kz_decompress(codec, p + 1, n - 1, flags, FZ_LIMIT, &out);
    FZ_CHECK(rc == KZ_CZ_OK || rc == KZ_CZ_ECORRUPT || rc == KZ_CZ_ELIMIT || rc == KZ_CZ_ENOMEM, "rc %d", rc);
    FZ_CHECK(out.len <= FZ_LIMIT, "output %zu over the limit", out.len);
    if (rc == KZ_CZ_OK) {
        FZ_CHECK(kz_compress(codec, out.base, out.len, flags, &c) == KZ_CZ_OK, "compress");
        FZ_CHECK(kz_decompress(codec, c.base, c.len, flags, out.len, &back) == KZ_CZ_OK, "decompress again");
        FZ_CHECK(back.len == out.len && (out.len == 0 || memcmp(back.base, out.base, out.len) == 0), "round trip");
    } else {
        FZ_CHECK(out.len == 0, "output left behind on error");
    }
    kz_wr_free(&out);
    kz_wr_free(&c);
    kz_wr_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n = size - 1;
    uint8_t *buf = malloc(n ? n : 1);
    FZ_CHECK(buf != NULL, "out of memory");
    if (n)
        memcpy(buf, data + 1, n);
    if (data[0] & 1)
        fz_codec(buf, n);
    else
        fz_records(buf, n, data[0]);
    free(buf);
    return 0;
}
