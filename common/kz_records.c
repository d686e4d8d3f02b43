/* common/kz_records.c -- record sets: entry framing, the record iterator,
 * leader-append validation, the v2 builder, legacy building, up- and
 * down-conversion, control records (contract and formats in kz_records.h).
 *
 * Layers, bottom up:
 *   rec_entry_next   one whole entry (v2 batch or legacy message) of a buffer,
 *                    framing checked as Kafka's ByteBufferLogInputStream does;
 *   v2_record / lg_parse   one record of either format from a bounded cursor;
 *   kz_rec_iter      entries -> records, decompressing into a scratch writer;
 *   kz_records_validate, the converters and tools use the iterator, so every
 *                    path reads records with the same checks.
 * Locality: none. */
#include "kz_records.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "kz_compress.h"
#include "kz_crc32c.h"
#include "kz_wire.h"

/* Legacy message layout, offsets from the start of the entry. */
enum {
    LG_CRC_OFF = 12,
    LG_MAGIC_OFF = 16,
    LG_ATTR_OFF = 17,
    LG_TS_OFF = 18,
    LG_ATTR_LAT = 0x08,
    LG_MIN_SIZE = 14, /* smallest size field of any entry (RECORD_OVERHEAD_V0) */
};
/* Smallest size field per magic: v0, v1 message; v2 batch header. */
static const int32_t rec_min_len[3] = { 14, 22, KZ_BATCH_HDR_SIZE - KZ_BATCH_LOG_OVERHEAD };
/* Smallest v2 record: length, attributes, two deltas, key and value lengths,
 * header count; one byte each. Bounds recordsCount by the bytes present. */
enum { V2_MIN_RECORD = 7 };

const char *kz_rec_strerror(int err)
{
    switch (err) {
    case KZ_REC_UNKNOWN: return "UNKNOWN_SERVER_ERROR";
    case KZ_REC_NONE: return "NONE";
    case KZ_REC_CORRUPT_MESSAGE: return "CORRUPT_MESSAGE";
    case KZ_REC_MESSAGE_TOO_LARGE: return "MESSAGE_TOO_LARGE";
    case KZ_REC_INVALID_TIMESTAMP: return "INVALID_TIMESTAMP";
    case KZ_REC_UNSUPPORTED_COMPRESSION_TYPE: return "UNSUPPORTED_COMPRESSION_TYPE";
    case KZ_REC_INVALID_RECORD: return "INVALID_RECORD";
    default: return "UNKNOWN";
    }
}

/* Java long arithmetic: wraps instead of overflowing. */
static inline int64_t add64(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
static inline int64_t sub64(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }

/* Maps a kz_compress result to the Kafka code of a record read: a stream
 * that does not decode is a corrupt message; one that inflates past the
 * limit is refused as too large. */
static int rec_cz_err(int rc)
{
    switch (rc) {
    case KZ_CZ_OK: return KZ_REC_NONE;
    case KZ_CZ_EUNSUPPORTED: return KZ_REC_UNSUPPORTED_COMPRESSION_TYPE;
    case KZ_CZ_ELIMIT: return KZ_REC_MESSAGE_TOO_LARGE;
    case KZ_CZ_ENOMEM: return KZ_REC_UNKNOWN;
    default: return KZ_REC_CORRUPT_MESSAGE;
    }
}

/* ---------------------------------------------------------------- entries */

typedef struct rec_entry {
    const uint8_t *p; /* NULL: no whole entry left */
    size_t size;
    kz_batch_hdr h;
} rec_entry;

/* Takes the next whole entry from @r. Returns KZ_REC_NONE with e->p set, or
 * with e->p NULL at the end (*@torn set when bytes were left over: the
 * input ends inside an entry), or CORRUPT_MESSAGE for a size field below
 * the minimum of its magic or an unknown magic. The checks and their order
 * are ByteBufferLogInputStream's: size before magic, and a truncated entry
 * is an end, not an error. For legacy entries the header gets the message's
 * attributes and timestamp and "none" producer fields. */
static int rec_entry_next(kz_rd *r, rec_entry *e, bool *torn)
{
    size_t left = kz_rd_left(r);
    e->p = NULL;
    if (left < KZ_BATCH_LOG_OVERHEAD) {
        *torn = left > 0;
        return KZ_REC_NONE;
    }
    const uint8_t *p = r->p;
    int32_t len = (int32_t)kz_load_be32(p + 8);
    if (len < LG_MIN_SIZE)
        return KZ_REC_CORRUPT_MESSAGE;
    if (left < LG_MAGIC_OFF + 1) {
        *torn = true;
        return KZ_REC_NONE;
    }
    int8_t magic = (int8_t)p[LG_MAGIC_OFF];
    if (magic < 0 || magic > 2)
        return KZ_REC_CORRUPT_MESSAGE;
    size_t size = (size_t)len + KZ_BATCH_LOG_OVERHEAD;
    if (left < size) {
        *torn = true;
        return KZ_REC_NONE;
    }
    if (len < rec_min_len[magic])
        return KZ_REC_CORRUPT_MESSAGE;
    memset(&e->h, 0, sizeof e->h);
    /* For magic 2, KZ_BATCH_CORRUPT can only mean a negative count or
     * lastOffsetDelta here, with the header decoded: those are
     * INVALID_RECORD to the validator, after the CRC, so they pass. */
    (void)kz_batch_peek(p, size, 0, &e->h);
    if (magic < 2) {
        e->h.crc = kz_load_be32(p + LG_CRC_OFF);
        e->h.attributes = p[LG_ATTR_OFF];
        e->h.leader_epoch = -1;
        e->h.first_ts = e->h.max_ts = magic == 1 ? (int64_t)kz_load_be64(p + LG_TS_OFF) : KZ_REC_NO_TIMESTAMP;
        e->h.producer_id = -1;
        e->h.producer_epoch = -1;
        e->h.base_seq = -1;
    }
    e->p = p;
    e->size = size;
    r->p += size;
    return KZ_REC_NONE;
}

static bool lg_crc_ok(const uint8_t *p, size_t size)
{
    return crc32(0L, p + LG_MAGIC_OFF, (uInt)(size - LG_MAGIC_OFF)) == kz_load_be32(p + LG_CRC_OFF);
}

/* ---------------------------------------------------------------- records */

/* A v2 varint-length byte string: -1 is null, below that is corrupt. */
static kz_str v2_bytes(kz_rd *b) { return kz_rd_str_body(b, kz_rd_varint(b)); }

/* Reads one v2 record of the batch @h from @r into @rec. The record must
 * fill its length exactly; header keys are never null. Kafka reads negative
 * key/value lengths below -1 as null; we refuse them (no client writes
 * them). Returns KZ_REC_NONE or INVALID_RECORD (DefaultRecord.readFrom's
 * failures). */
static int v2_record(kz_rd *r, const kz_batch_hdr *h, kz_record *rec)
{
    int32_t len = kz_rd_varint(r);
    if (r->err || len < 0 || (size_t)len > kz_rd_left(r))
        return KZ_REC_INVALID_RECORD;
    kz_rd b = kz_rd_init(r->p, (size_t)len);
    r->p += len;
    rec->magic = 2;
    rec->attributes = (int8_t)kz_rd_u8(&b);
    int64_t ts_delta = kz_rd_varlong(&b);
    int32_t off_delta = kz_rd_varint(&b);
    rec->key = v2_bytes(&b);
    rec->value = v2_bytes(&b);
    int32_t nh = kz_rd_varint(&b);
    if (b.err || nh < 0 || (size_t)nh > kz_rd_left(&b) / 2) /* a header takes >= 2 bytes */
        return KZ_REC_INVALID_RECORD;
    rec->headers = b.p;
    for (int32_t i = 0; i < nh && !b.err; i++) {
        int32_t klen = kz_rd_varint(&b);
        if (!b.err && klen < 0)
            return KZ_REC_INVALID_RECORD;
        (void)kz_rd_take(&b, (size_t)klen);
        (void)v2_bytes(&b);
    }
    if (b.err || kz_rd_left(&b) != 0)
        return KZ_REC_INVALID_RECORD;
    rec->headers_len = (size_t)(b.p - rec->headers);
    rec->header_count = nh;
    rec->offset = add64(h->base_offset, off_delta);
    rec->log_append_time = (h->attributes & KZ_BATCH_TS_LOGAPPEND) != 0;
    rec->timestamp = rec->log_append_time ? h->max_ts : add64(h->first_ts, ts_delta);
    return KZ_REC_NONE;
}

bool kz_rec_hdr_next(kz_rec_hdr_iter *it, kz_rec_header *h)
{
    if (it->left <= 0)
        return false;
    int32_t klen = kz_rd_varint(&it->r);
    const uint8_t *k = !it->r.err && klen >= 0 ? kz_rd_take(&it->r, (size_t)klen) : NULL;
    h->value = v2_bytes(&it->r);
    if (!k || it->r.err) {
        it->left = 0;
        return false;
    }
    h->key = (kz_str){ (const char *)k, klen };
    it->left--;
    return true;
}

/* Parses the whole legacy message entry at @p (@size bytes) into @rec:
 * offset field, magic, attributes, timestamp (v1; -1 for v0), key, value.
 * Key and value must fill the message exactly. Returns KZ_REC_NONE or
 * CORRUPT_MESSAGE. */
static int lg_parse(const uint8_t *p, size_t size, kz_record *rec)
{
    kz_rd r = kz_rd_init(p, size);
    rec->offset = kz_rd_i64(&r);
    (void)kz_rd_i32(&r); /* size: the caller framed the entry with it */
    (void)kz_rd_i32(&r); /* crc */
    rec->magic = (int8_t)kz_rd_u8(&r);
    rec->attributes = (int8_t)kz_rd_u8(&r);
    rec->timestamp = rec->magic >= 1 ? kz_rd_i64(&r) : KZ_REC_NO_TIMESTAMP;
    rec->log_append_time = rec->magic >= 1 && (rec->attributes & LG_ATTR_LAT);
    rec->key = kz_rd_str(&r);
    rec->value = kz_rd_str(&r);
    rec->header_count = 0;
    rec->headers = NULL;
    rec->headers_len = 0;
    if (r.err || kz_rd_left(&r) != 0 || rec->magic > 1)
        return KZ_REC_CORRUPT_MESSAGE;
    return KZ_REC_NONE;
}

/* ------------------------------------------------------------- iteration */

/* Iterator states. ENTRY: the next call opens an entry. */
enum { RI_ENTRY = 0, RI_V2, RI_LG_ONE, RI_LG_DEEP, RI_DONE };

void kz_rec_iter_init(kz_rec_iter *it, const uint8_t *p, size_t n, kz_wr *scratch, size_t limit, unsigned flags)
{
    memset(it, 0, sizeof *it);
    it->in = kz_rd_init(p, n);
    it->scratch = scratch;
    it->limit = limit ? limit : KZ_REC_INFLATE_DEFAULT;
    it->flags = flags;
    it->state = RI_ENTRY;
}

/* Decompresses @n bytes at @src into the (reset) scratch writer and points
 * it->recs at the result. */
static int ri_inflate(kz_rec_iter *it, int codec, const void *src, size_t n, unsigned czflags)
{
    if (!it->scratch)
        return KZ_REC_UNKNOWN;
    it->scratch->len = 0;
    int rc = rec_cz_err(kz_decompress(codec, src, n, czflags, it->limit, it->scratch));
    if (rc == KZ_REC_NONE)
        it->recs = kz_rd_init(it->scratch->base, it->scratch->len);
    return rc;
}

static int ri_open_v2(kz_rec_iter *it)
{
    const kz_batch_hdr *h = &it->batch;
    size_t size = kz_batch_size(h);
    if ((it->flags & KZ_RI_CHECK_CRC) && !kz_batch_crc_ok(it->entry, h))
        return KZ_REC_CORRUPT_MESSAGE;
    if (h->count < 0)
        return KZ_REC_INVALID_RECORD;
    if (h->count == 0) /* Kafka does not even open the records of an empty batch */
        return KZ_REC_NONE;
    const uint8_t *body = it->entry + KZ_BATCH_HDR_SIZE;
    size_t blen = size - KZ_BATCH_HDR_SIZE;
    int codec = kz_batch_codec(h);
    if (codec == KZ_CODEC_NONE) {
        it->recs = kz_rd_init(body, blen);
    } else {
        if (codec > KZ_CODEC_ZSTD)
            return KZ_REC_UNSUPPORTED_COMPRESSION_TYPE;
        int rc = ri_inflate(it, codec, body, blen, 0);
        if (rc != KZ_REC_NONE)
            return rc;
    }
    if ((size_t)h->count > kz_rd_left(&it->recs) / V2_MIN_RECORD)
        return KZ_REC_INVALID_RECORD; /* the declared records cannot fit */
    it->left = h->count;
    it->idx = 0;
    it->state = RI_V2;
    return KZ_REC_NONE;
}

static int ri_v2_next(kz_rec_iter *it, kz_record *rec, bool *got)
{
    if (it->left == 0) {
        if (kz_rd_left(&it->recs) != 0)
            return KZ_REC_INVALID_RECORD; /* bytes after the declared count */
        it->state = RI_ENTRY;
        return KZ_REC_NONE;
    }
    int rc = v2_record(&it->recs, &it->batch, rec);
    if (rc != KZ_REC_NONE)
        return rc;
    it->left--;
    it->idx++;
    *got = true;
    return KZ_REC_NONE;
}

/* Next inner message of a decompressed legacy wrapper, from @r. Sets *@got,
 * or leaves it false at the end: a torn inner tail ends the set, as Kafka's
 * DataLogInputStream treats it as end of stream. With @check, applies the
 * per-message checks (magic, CRC, no nested compression). */
static int lg_inner_next(const kz_rec_iter *it, kz_rd *r, bool check, kz_record *rec, bool *got)
{
    size_t left = kz_rd_left(r);
    if (left < KZ_BATCH_LOG_OVERHEAD)
        return KZ_REC_NONE;
    int32_t len = (int32_t)kz_load_be32(r->p + 8);
    if (len < LG_MIN_SIZE)
        return KZ_REC_CORRUPT_MESSAGE;
    if (left - KZ_BATCH_LOG_OVERHEAD < (size_t)len)
        return KZ_REC_NONE;
    const uint8_t *p = r->p;
    size_t size = (size_t)len + KZ_BATCH_LOG_OVERHEAD;
    r->p += size;
    if (check && (it->flags & KZ_RI_MATCH_MAGIC) && p[LG_MAGIC_OFF] != (uint8_t)it->batch.magic)
        return KZ_REC_INVALID_RECORD;
    int rc = lg_parse(p, size, rec);
    if (rc != KZ_REC_NONE)
        return rc;
    if (check && (it->flags & KZ_RI_CHECK_CRC) && !lg_crc_ok(p, size))
        return KZ_REC_CORRUPT_MESSAGE;
    if (check && (rec->attributes & KZ_BATCH_CODEC_MASK))
        return KZ_REC_INVALID_RECORD; /* inner messages must not be compressed */
    *got = true;
    return KZ_REC_NONE;
}

/* Opens a legacy entry: a plain message is its own record; a wrapper is
 * decompressed and its inner set walked once to check it, count it and find
 * the last inner offset (v1 offsets are relative to the wrapper's). */
static int ri_open_legacy(kz_rec_iter *it)
{
    const uint8_t *p = it->entry;
    size_t size = kz_batch_size(&it->batch);
    if ((it->flags & KZ_RI_CHECK_CRC) && !lg_crc_ok(p, size))
        return KZ_REC_CORRUPT_MESSAGE;
    int codec = it->batch.attributes & KZ_BATCH_CODEC_MASK;
    if (codec == KZ_CODEC_NONE) {
        it->state = RI_LG_ONE;
        return KZ_REC_NONE;
    }
    if (codec > KZ_CODEC_ZSTD)
        return KZ_REC_UNSUPPORTED_COMPRESSION_TYPE;
    if (codec == KZ_CODEC_ZSTD)
        return KZ_REC_INVALID_RECORD; /* zstd needs magic 2 */
    kz_record w;
    int rc = lg_parse(p, size, &w);
    if (rc != KZ_REC_NONE)
        return rc;
    if (w.value.len < 0)
        return KZ_REC_INVALID_RECORD;
    unsigned czf = it->batch.magic == 0 ? KZ_CZ_LZ4_BROKEN_HC : 0;
    if ((rc = ri_inflate(it, codec, w.value.s, (size_t)w.value.len, czf)) != KZ_REC_NONE)
        return rc;
    kz_rd scan = it->recs;
    int32_t count = 0;
    int64_t last = 0;
    for (;;) {
        kz_record in;
        bool got = false;
        if ((rc = lg_inner_next(it, &scan, true, &in, &got)) != KZ_REC_NONE)
            return rc;
        if (!got)
            break;
        if (count == INT32_MAX)
            return KZ_REC_INVALID_RECORD;
        count++;
        last = in.offset;
    }
    if (count == 0)
        return KZ_REC_INVALID_RECORD; /* a wrapper with no inner messages */
    it->lg_base = 0;
    if (it->batch.magic == 1 && w.offset != 0) { /* 0: not assigned (some librdkafka versions) */
        if (w.offset < last)
            return KZ_REC_INVALID_RECORD;
        it->lg_base = sub64(w.offset, last);
    }
    it->lg_ts = w.timestamp;
    it->lg_lat = w.log_append_time;
    it->left = count;
    it->state = RI_LG_DEEP;
    return KZ_REC_NONE;
}

static int ri_lg_deep_next(kz_rec_iter *it, kz_record *rec, bool *got)
{
    if (it->left == 0) {
        it->state = RI_ENTRY;
        return KZ_REC_NONE;
    }
    int rc = lg_inner_next(it, &it->recs, false, rec, got);
    if (rc != KZ_REC_NONE || !*got)
        return rc != KZ_REC_NONE ? rc : KZ_REC_CORRUPT_MESSAGE; /* the scan counted it */
    if (it->batch.magic == 1) {
        rec->offset = add64(it->lg_base, rec->offset);
        if (rec->magic == 1 && it->lg_lat) {
            rec->timestamp = it->lg_ts;
            rec->log_append_time = true;
        }
    }
    it->left--;
    return KZ_REC_NONE;
}

static int ri_open(kz_rec_iter *it)
{
    rec_entry e;
    bool torn = false;
    int rc = rec_entry_next(&it->in, &e, &torn);
    if (rc != KZ_REC_NONE)
        return rc;
    if (!e.p) {
        it->partial = torn;
        it->state = RI_DONE;
        return KZ_REC_NONE;
    }
    it->batch = e.h;
    it->entry = e.p;
    it->consumed += e.size;
    return e.h.magic == 2 ? ri_open_v2(it) : ri_open_legacy(it);
}

bool kz_rec_iter_next(kz_rec_iter *it, kz_record *rec)
{
    while (!it->err && it->state != RI_DONE) {
        bool got = false;
        int rc;
        switch (it->state) {
        case RI_ENTRY:
            rc = ri_open(it);
            break;
        case RI_V2:
            rc = ri_v2_next(it, rec, &got);
            break;
        case RI_LG_ONE:
            rc = lg_parse(it->entry, kz_batch_size(&it->batch), rec);
            got = rc == KZ_REC_NONE;
            it->state = RI_ENTRY;
            break;
        default:
            rc = ri_lg_deep_next(it, rec, &got);
            break;
        }
        if (rc != KZ_REC_NONE) {
            it->err = rc;
            it->state = RI_DONE;
            return false;
        }
        if (got)
            return true;
    }
    return false;
}

/* ------------------------------------------------------------ validation */

/* Kafka's CreateTime range check: |ts - now| > max, with -1 meaning "no
 * timestamp"; computed without overflow. */
static bool rv_ts_bad(const kz_rv_opts *o, int64_t ts)
{
    if (o->log_append_time || ts == KZ_REC_NO_TIMESTAMP)
        return false;
    uint64_t d = ts >= o->now_ms ? (uint64_t)ts - (uint64_t)o->now_ms : (uint64_t)o->now_ms - (uint64_t)ts;
    return o->ts_diff_max_ms < 0 || d > (uint64_t)o->ts_diff_max_ms;
}

/* Whether the entry's own timestamp type is LogAppendTime (set by a producer,
 * which Kafka refuses). */
static bool rv_entry_lat(const kz_batch_hdr *h)
{
    return h->magic == 2 ? (h->attributes & KZ_BATCH_TS_LOGAPPEND) != 0
                         : h->magic == 1 && (h->attributes & LG_ATTR_LAT);
}

typedef struct rv_state {
    const kz_rv_opts *o;
    kz_rv_info *info;
    kz_wr scratch;
    bool ts_bad, key_bad;
} rv_state;

/* Walks the records of one entry (LogValidator's per-record loop). */
static int rv_walk(rv_state *st, const rec_entry *e)
{
    const kz_rv_opts *o = st->o;
    kz_rv_info *info = st->info;
    const bool compressed = (e->h.attributes & KZ_BATCH_CODEC_MASK) != 0;
    unsigned flags = KZ_RI_MATCH_MAGIC | (e->h.magic < 2 ? KZ_RI_CHECK_CRC : 0); /* v2: checked already */
    kz_rec_iter it;
    kz_record rec;
    kz_rec_iter_init(&it, e->p, e->size, &st->scratch, o->inflate_limit, flags);
    int64_t idx = 0, max_ts = KZ_REC_NO_TIMESTAMP;
    while (kz_rec_iter_next(&it, &rec)) {
        /* Offsets 0..n-1: v2 by delta, compressed v1 by the absolute offset
         * the wrapper gives (Kafka's check); v0 and plain messages have
         * nothing to check. */
        if (e->h.magic == 2 && sub64(rec.offset, e->h.base_offset) != idx)
            return KZ_REC_INVALID_RECORD;
        if (e->h.magic == 1 && compressed && rec.offset != idx)
            return KZ_REC_INVALID_RECORD;
        if (o->compacted && rec.key.len < 0)
            st->key_bad = true;
        if (rv_ts_bad(o, rec.timestamp) || rv_entry_lat(&e->h))
            st->ts_bad = true;
        if (rec.magic > 0 && rec.timestamp > max_ts) {
            max_ts = rec.timestamp;
            if (max_ts > info->max_ts) {
                info->max_ts = max_ts;
                info->max_ts_index = info->records + idx;
            }
        }
        idx++;
    }
    if (it.err != KZ_REC_NONE)
        return it.err;
    if (compressed && idx > 0 && info->max_ts_index >= info->records)
        info->max_ts_index = info->records + idx - 1; /* in place: the batch's last offset */
    info->records += idx;
    return KZ_REC_NONE;
}

/* Pass 1, after framing: ProduceRequest.validateRecords for version >= 3. */
static int rv_produce_checks(const kz_rv_opts *o, int32_t nent, const rec_entry *first)
{
    if (o->produce_version < 3)
        return KZ_REC_NONE;
    if (nent == 0 || first->h.magic != 2)
        return KZ_REC_INVALID_RECORD;
    if (o->produce_version < 7 && kz_batch_codec(&first->h) == KZ_CODEC_ZSTD)
        return KZ_REC_UNSUPPORTED_COMPRESSION_TYPE;
    return nent > 1 ? KZ_REC_INVALID_RECORD : KZ_REC_NONE;
}

/* Pass 3 for one entry: LogValidator.validateBatch, then the records. */
static int rv_entry(rv_state *st, const rec_entry *e, const rec_entry *first)
{
    const kz_rv_opts *o = st->o;
    const kz_batch_hdr *h = &e->h;
    if (h->magic != first->h.magic)
        return KZ_REC_INVALID_RECORD;
    if (o->from_client) {
        if (h->magic == 2) {
            int64_t from_offsets = (int64_t)h->last_offset_delta + 1;
            if (from_offsets <= 0 || h->count <= 0 || from_offsets != h->count)
                return KZ_REC_INVALID_RECORD;
        }
        if (h->producer_id >= 0 && h->base_seq < 0)
            return KZ_REC_INVALID_RECORD;
        if (kz_batch_is_control(h))
            return KZ_REC_INVALID_RECORD;
    }
    st->ts_bad = st->key_bad = false;
    int rc;
    if (h->magic < 2 || kz_batch_codec(h) == KZ_CODEC_NONE || o->deep) {
        if ((rc = rv_walk(st, e)) != KZ_REC_NONE)
            return rc;
    } else if (h->count > 0) {
        /* Not walked: the header's timestamps stand for the records'. */
        if (rv_ts_bad(o, h->first_ts) || rv_ts_bad(o, h->max_ts) || rv_entry_lat(h))
            st->ts_bad = true;
        if (h->max_ts > st->info->max_ts) {
            st->info->max_ts = h->max_ts;
            st->info->max_ts_index = st->info->records + h->count - 1;
        }
        st->info->records += h->count;
    }
    if (st->ts_bad)
        return KZ_REC_INVALID_TIMESTAMP;
    return st->key_bad ? KZ_REC_INVALID_RECORD : KZ_REC_NONE;
}

int kz_records_validate(const uint8_t *p, size_t n, const kz_rv_opts *o, kz_rv_info *info)
{
    memset(info, 0, sizeof *info);
    info->magic = -1;
    info->max_ts = KZ_REC_NO_TIMESTAMP;
    info->max_ts_index = -1;
    rv_state st = { o, info, KZ_WR_INIT, false, false };
    rec_entry e, first = { 0 };
    bool torn = false;
    int32_t nent = 0;
    int rc;

    /* Pass 1: framing, then the request's checks. */
    kz_rd r = kz_rd_init(p, n);
    for (;;) {
        if ((rc = rec_entry_next(&r, &e, &torn)) != KZ_REC_NONE)
            goto out;
        if (!e.p)
            break;
        if (nent++ == 0)
            first = e;
        info->valid_bytes += e.size;
    }
    if ((rc = rv_produce_checks(o, nent, &first)) != KZ_REC_NONE)
        goto out;
    if (nent == 0)
        goto out;
    info->magic = first.h.magic;

    /* Pass 2: Log.analyzeAndValidateRecords -- size, CRC, codec per entry. */
    r = kz_rd_init(p, info->valid_bytes);
    while (rec_entry_next(&r, &e, &torn) == KZ_REC_NONE && e.p) {
        int codec = e.h.attributes & KZ_BATCH_CODEC_MASK;
        if (o->max_batch_size && e.size > o->max_batch_size) {
            rc = KZ_REC_MESSAGE_TOO_LARGE;
            goto out;
        }
        if (!(e.h.magic == 2 ? kz_batch_crc_ok(e.p, &e.h) : lg_crc_ok(e.p, e.size))) {
            rc = KZ_REC_CORRUPT_MESSAGE;
            goto out;
        }
        if (codec > KZ_CODEC_ZSTD) {
            rc = KZ_REC_UNSUPPORTED_COMPRESSION_TYPE;
            goto out;
        }
        if (codec != KZ_CODEC_NONE)
            info->codec = codec;
        info->batches++;
    }

    /* Pass 3: LogValidator. v2 and compressed sets hold exactly one entry. */
    if ((first.h.magic == 2 || (first.h.attributes & KZ_BATCH_CODEC_MASK)) && nent > 1) {
        rc = KZ_REC_INVALID_RECORD;
        goto out;
    }
    r = kz_rd_init(p, info->valid_bytes);
    while (rec_entry_next(&r, &e, &torn) == KZ_REC_NONE && e.p)
        if ((rc = rv_entry(&st, &e, &first)) != KZ_REC_NONE)
            goto out;
    if (o->log_append_time && info->records > 0) {
        info->max_ts = o->now_ms;
        info->max_ts_index = info->records - 1;
    }
out:
    kz_wr_free(&st.scratch);
    return rc;
}

/* --------------------------------------------------------------- building */

struct kz_bb {
    kz_bb_opts o;
    kz_wr recs; /* encoded records, uncompressed */
    int32_t count;
    int64_t first_ts, max_ts, last_offset;
};

kz_bb *kz_bb_new(const kz_bb_opts *o)
{
    kz_bb *b = calloc(1, sizeof *b);
    if (b)
        b->o = *o;
    return b;
}

void kz_bb_free(kz_bb *b)
{
    if (!b)
        return;
    kz_wr_free(&b->recs);
    free(b);
}

int32_t kz_bb_count(const kz_bb *b) { return b->count; }

static size_t bb_bytes_size(kz_str s) { return s.len < 0 ? 1 : kz_varint_size(s.len) + (size_t)s.len; }
static void bb_bytes(kz_wr *w, kz_str s)
{
    kz_wr_varint(w, s.len < 0 ? -1 : s.len);
    if (s.len > 0)
        kz_wr_bytes(w, s.s, (size_t)s.len);
}

int kz_bb_add(kz_bb *b, int64_t offset, int64_t ts, kz_str key, kz_str value, const kz_rec_header *hdrs,
              int32_t nhdrs)
{
    if (b->count > 0 ? offset <= b->last_offset : offset < b->o.base_offset)
        return KZ_REC_INVALID_RECORD;
    uint64_t delta = (uint64_t)offset - (uint64_t)b->o.base_offset;
    if (delta > INT32_MAX || b->count == INT32_MAX || nhdrs < 0 || (nhdrs > 0 && !hdrs))
        return KZ_REC_INVALID_RECORD;
    int64_t first = b->count ? b->first_ts : ts;
    int64_t ts_delta = sub64(ts, first);
    size_t body = 1 + kz_varlong_size(ts_delta) + kz_varint_size((int32_t)delta) + bb_bytes_size(key) +
                  bb_bytes_size(value) + kz_varint_size(nhdrs);
    for (int32_t i = 0; i < nhdrs; i++) {
        if (hdrs[i].key.len < 0)
            return KZ_REC_INVALID_RECORD; /* header keys are never null */
        body += bb_bytes_size(hdrs[i].key) + bb_bytes_size(hdrs[i].value);
    }
    if (body > INT32_MAX)
        return KZ_REC_INVALID_RECORD;
    kz_wr *w = &b->recs;
    kz_wr_varint(w, (int32_t)body);
    kz_wr_u8(w, 0); /* attributes: unused */
    kz_wr_varlong(w, ts_delta);
    kz_wr_varint(w, (int32_t)delta);
    bb_bytes(w, key);
    bb_bytes(w, value);
    kz_wr_varint(w, nhdrs);
    for (int32_t i = 0; i < nhdrs; i++) {
        bb_bytes(w, hdrs[i].key);
        bb_bytes(w, hdrs[i].value);
    }
    if (w->err)
        return KZ_REC_UNKNOWN;
    if (b->count == 0 || ts > b->max_ts)
        b->max_ts = ts;
    b->first_ts = first;
    b->last_offset = offset;
    b->count++;
    return KZ_REC_NONE;
}

int kz_bb_append(kz_bb *b, int64_t ts, kz_str key, kz_str value, const kz_rec_header *hdrs, int32_t nhdrs)
{
    int64_t off = b->count ? add64(b->last_offset, 1) : b->o.base_offset;
    return kz_bb_add(b, off, ts, key, value, hdrs, nhdrs);
}

int kz_bb_finish(kz_bb *b, kz_wr *out)
{
    const kz_bb_opts *o = &b->o;
    if (o->codec < KZ_CODEC_NONE || o->codec > KZ_CODEC_ZSTD)
        return KZ_REC_UNSUPPORTED_COMPRESSION_TYPE;
    if (out->err)
        return KZ_REC_UNKNOWN;
    int16_t attr = (int16_t)(o->codec | (o->log_append_time ? KZ_BATCH_TS_LOGAPPEND : 0) |
                             (o->transactional ? KZ_BATCH_TRANSACTIONAL : 0) | (o->control ? KZ_BATCH_CONTROL : 0));
    const size_t at = out->len;
    kz_wr_i64(out, o->base_offset);
    kz_wr_i32(out, 0); /* batchLength, patched below */
    kz_wr_i32(out, o->leader_epoch);
    kz_wr_u8(out, 2);
    kz_wr_i32(out, 0); /* crc, patched below */
    kz_wr_i16(out, attr);
    kz_wr_i32(out, b->count ? (int32_t)sub64(b->last_offset, o->base_offset) : 0);
    kz_wr_i64(out, b->count ? b->first_ts : KZ_REC_NO_TIMESTAMP);
    kz_wr_i64(out, o->log_append_time ? o->log_append_ts : b->count ? b->max_ts : KZ_REC_NO_TIMESTAMP);
    kz_wr_i64(out, o->producer_id);
    kz_wr_i16(out, o->producer_epoch);
    kz_wr_i32(out, o->base_seq);
    kz_wr_i32(out, b->count);
    int rc = KZ_REC_NONE;
    if (o->codec == KZ_CODEC_NONE)
        kz_wr_bytes(out, b->recs.base, b->recs.len);
    else
        rc = rec_cz_err(kz_compress(o->codec, b->recs.base, b->recs.len, 0, out));
    if (rc == KZ_REC_NONE && !out->err && out->len - at - KZ_BATCH_LOG_OVERHEAD > INT32_MAX)
        rc = KZ_REC_MESSAGE_TOO_LARGE;
    if (rc != KZ_REC_NONE || out->err) {
        if (!out->err)
            out->len = at;
        return rc != KZ_REC_NONE ? rc : KZ_REC_UNKNOWN;
    }
    size_t size = out->len - at;
    kz_wr_patch_i32(out, at + 8, (int32_t)(size - KZ_BATCH_LOG_OVERHEAD));
    kz_wr_patch_i32(out, at + 17, (int32_t)kz_crc32c(0, out->base + at + KZ_BATCH_CRC_START, size - KZ_BATCH_CRC_START));
    b->recs.len = 0;
    b->count = 0;
    return KZ_REC_NONE;
}

/* ----------------------------------------------------------------- legacy */

/* Appends one legacy message entry and fixes its size and CRC. */
static void lg_write(kz_wr *w, int magic, int64_t offset, int attr, int64_t ts, kz_str key, kz_str value)
{
    const size_t at = w->len;
    kz_wr_i64(w, offset);
    kz_wr_i32(w, 0); /* size */
    kz_wr_i32(w, 0); /* crc */
    kz_wr_u8(w, (uint8_t)magic);
    kz_wr_u8(w, (uint8_t)attr);
    if (magic == 1)
        kz_wr_i64(w, ts);
    kz_wr_str(w, key);
    kz_wr_str(w, value);
    if (w->err)
        return;
    size_t size = w->len - at;
    kz_wr_patch_i32(w, at + 8, (int32_t)(size - KZ_BATCH_LOG_OVERHEAD));
    uint32_t crc = (uint32_t)crc32(0L, w->base + at + LG_MAGIC_OFF, (uInt)(size - LG_MAGIC_OFF));
    kz_wr_patch_i32(w, at + LG_CRC_OFF, (int32_t)crc);
}

int kz_legacy_build(kz_wr *out, int magic, int codec, const kz_record *recs, size_t n)
{
    if (magic != 0 && magic != 1)
        return KZ_REC_INVALID_RECORD;
    if (codec < KZ_CODEC_NONE || codec > KZ_CODEC_LZ4)
        return KZ_REC_UNSUPPORTED_COMPRESSION_TYPE;
    const size_t at = out->len;
    if (codec == KZ_CODEC_NONE) {
        for (size_t i = 0; i < n; i++) {
            int attr = magic == 1 && recs[i].log_append_time ? LG_ATTR_LAT : 0;
            lg_write(out, magic, recs[i].offset, attr, recs[i].timestamp, recs[i].key, recs[i].value);
        }
        return out->err ? KZ_REC_UNKNOWN : KZ_REC_NONE;
    }
    if (n == 0)
        return KZ_REC_NONE; /* no wrapper around nothing */
    kz_wr inner = KZ_WR_INIT, comp = KZ_WR_INIT;
    int64_t ts = KZ_REC_NO_TIMESTAMP;
    bool lat = false;
    for (size_t i = 0; i < n; i++) {
        int64_t off = magic == 1 ? sub64(recs[i].offset, recs[0].offset) : recs[i].offset;
        lg_write(&inner, magic, off, 0, recs[i].timestamp, recs[i].key, recs[i].value);
        if (recs[i].log_append_time) {
            lat = true;
            ts = recs[i].timestamp;
        } else if (!lat && recs[i].timestamp > ts) {
            ts = recs[i].timestamp;
        }
    }
    int rc = inner.err ? KZ_REC_UNKNOWN : KZ_REC_NONE;
    if (rc == KZ_REC_NONE) {
        unsigned czf = magic == 0 ? KZ_CZ_LZ4_BROKEN_HC : 0;
        rc = rec_cz_err(kz_compress(codec, inner.base, inner.len, czf, &comp));
    }
    if (rc == KZ_REC_NONE && comp.len > INT32_MAX)
        rc = KZ_REC_MESSAGE_TOO_LARGE;
    if (rc == KZ_REC_NONE) {
        int attr = codec | (magic == 1 && lat ? LG_ATTR_LAT : 0);
        lg_write(out, magic, recs[n - 1].offset, attr, ts, KZ_STR_NULL,
                 (kz_str){ (const char *)comp.base, (int32_t)comp.len });
        if (out->err)
            rc = KZ_REC_UNKNOWN;
    }
    if (rc != KZ_REC_NONE && !out->err)
        out->len = at;
    kz_wr_free(&inner);
    kz_wr_free(&comp);
    return rc;
}

/* ------------------------------------------------------------- conversion */

typedef struct uc_state {
    const kz_upconv_opts *o;
    kz_wr *out;
    kz_bb *bb;        /* open batch, or NULL */
    int64_t next_off; /* renumbering counter */
} uc_state;

static int uc_flush(uc_state *st)
{
    int rc = KZ_REC_NONE;
    if (st->bb && kz_bb_count(st->bb) > 0)
        rc = kz_bb_finish(st->bb, st->out);
    kz_bb_free(st->bb);
    st->bb = NULL;
    return rc;
}

/* Adds the records of one legacy entry to the open batch (opening one with
 * @codec when there is none). */
static int uc_entry(uc_state *st, const rec_entry *e, int codec, kz_wr *scratch)
{
    kz_rec_iter it;
    kz_record rec;
    kz_rec_iter_init(&it, e->p, e->size, scratch, st->o->inflate_limit, KZ_RI_CHECK_CRC);
    while (kz_rec_iter_next(&it, &rec)) {
        int64_t off = st->o->keep_offsets ? rec.offset : st->next_off++;
        if (!st->bb) {
            kz_bb_opts bo = KZ_BB_OPTS_INIT;
            bo.base_offset = off;
            bo.codec = codec;
            bo.log_append_time = st->o->log_append_time;
            bo.log_append_ts = st->o->now_ms;
            if (!(st->bb = kz_bb_new(&bo)))
                return KZ_REC_UNKNOWN;
        }
        int rc = kz_bb_add(st->bb, off, rec.timestamp, rec.key, rec.value, NULL, 0);
        if (rc != KZ_REC_NONE)
            return rc;
    }
    return it.err;
}

int kz_records_up_convert(const uint8_t *p, size_t n, const kz_upconv_opts *o, kz_wr *out)
{
    uc_state st = { o, out, NULL, 0 };
    kz_wr scratch = KZ_WR_INIT;
    kz_rd r = kz_rd_init(p, n);
    const size_t at = out->len;
    rec_entry e;
    bool torn = false;
    int rc;
    for (;;) {
        if ((rc = rec_entry_next(&r, &e, &torn)) != KZ_REC_NONE || !e.p)
            break;
        int codec = e.h.attributes & KZ_BATCH_CODEC_MASK;
        if (e.h.magic == 2 || codec != KZ_CODEC_NONE) /* these never join a run */
            if ((rc = uc_flush(&st)) != KZ_REC_NONE)
                break;
        if (e.h.magic == 2) {
            kz_wr_bytes(out, e.p, e.size);
            continue;
        }
        if ((rc = uc_entry(&st, &e, codec, &scratch)) != KZ_REC_NONE)
            break;
        if (codec != KZ_CODEC_NONE && (rc = uc_flush(&st)) != KZ_REC_NONE)
            break;
    }
    int frc = uc_flush(&st);
    if (rc == KZ_REC_NONE)
        rc = frc;
    if (rc == KZ_REC_NONE && out->err)
        rc = KZ_REC_UNKNOWN;
    if (rc != KZ_REC_NONE && !out->err)
        out->len = at;
    kz_wr_free(&scratch);
    return rc;
}

int kz_records_down_convert(const uint8_t *p, size_t n, int to_magic, size_t inflate_limit, kz_wr *out)
{
    if (to_magic != 0 && to_magic != 1)
        return KZ_REC_INVALID_RECORD;
    kz_wr scratch = KZ_WR_INIT;
    kz_rd r = kz_rd_init(p, n);
    const size_t at = out->len;
    rec_entry e;
    bool torn = false;
    int rc;
    for (;;) {
        if ((rc = rec_entry_next(&r, &e, &torn)) != KZ_REC_NONE || !e.p)
            break;
        if (e.h.magic <= to_magic) {
            kz_wr_bytes(out, e.p, e.size);
            continue;
        }
        if (kz_batch_is_control(&e.h))
            continue;
        kz_rec_iter it;
        kz_record rec;
        kz_rec_iter_init(&it, e.p, e.size, &scratch, inflate_limit, 0);
        while (kz_rec_iter_next(&it, &rec)) {
            int attr = to_magic == 1 && rec.log_append_time ? LG_ATTR_LAT : 0;
            lg_write(out, to_magic, rec.offset, attr, rec.timestamp, rec.key, rec.value);
        }
        if ((rc = it.err) != KZ_REC_NONE)
            break;
    }
    if (rc == KZ_REC_NONE && out->err)
        rc = KZ_REC_UNKNOWN;
    if (rc != KZ_REC_NONE && !out->err)
        out->len = at;
    kz_wr_free(&scratch);
    return rc;
}

/* -------------------------------------------------------- control records */

int kz_ctrl_parse(const kz_record *rec, kz_ctrl *out)
{
    memset(out, 0, sizeof *out);
    if (rec->key.len < 4)
        return KZ_REC_INVALID_RECORD;
    const uint8_t *k = (const uint8_t *)rec->key.s;
    out->version = (int16_t)kz_load_be16(k);
    out->type = (int16_t)kz_load_be16(k + 2);
    if (out->version < 0)
        return KZ_REC_INVALID_RECORD;
    if (out->type != KZ_CTRL_ABORT && out->type != KZ_CTRL_COMMIT)
        return KZ_REC_NONE;
    if (rec->value.len < 6)
        return KZ_REC_INVALID_RECORD;
    const uint8_t *v = (const uint8_t *)rec->value.s;
    out->value_version = (int16_t)kz_load_be16(v);
    out->coordinator_epoch = (int32_t)kz_load_be32(v + 2);
    if (out->value_version < 0)
        return KZ_REC_INVALID_RECORD;
    out->is_txn_marker = true;
    return KZ_REC_NONE;
}

int kz_ctrl_build_marker(kz_wr *out, int64_t base_offset, int32_t leader_epoch, int64_t producer_id,
                         int16_t producer_epoch, bool commit, int32_t coordinator_epoch, int64_t ts)
{
    kz_bb_opts o = KZ_BB_OPTS_INIT;
    o.base_offset = base_offset;
    o.leader_epoch = leader_epoch;
    o.transactional = true;
    o.control = true;
    o.producer_id = producer_id;
    o.producer_epoch = producer_epoch;
    uint8_t key[4], value[6];
    kz_store_be16(key, 0);
    kz_store_be16(key + 2, commit ? KZ_CTRL_COMMIT : KZ_CTRL_ABORT);
    kz_store_be16(value, 0);
    kz_store_be32(value + 2, (uint32_t)coordinator_epoch);
    kz_bb *b = kz_bb_new(&o);
    if (!b)
        return KZ_REC_UNKNOWN;
    int rc = kz_bb_add(b, base_offset, ts, (kz_str){ (const char *)key, 4 }, (kz_str){ (const char *)value, 6 }, NULL, 0);
    if (rc == KZ_REC_NONE)
        rc = kz_bb_finish(b, out);
    kz_bb_free(b);
    return rc;
}
