/* common/kz_records.h -- Kafka record sets: RecordBatch v2 and legacy message
 * sets (magic 0 and 1): validation of a leader append, iteration, building,
 * conversion between the formats, control records.
 *
 * Formats (NOTES.md 8.1-8.4; the fixed v2 header is in kz_batch.h):
 *   v2 record:  varint length | i8 attributes | varlong timestampDelta |
 *               varint offsetDelta | varint keyLen (-1 null) | key |
 *               varint valueLen (-1 null) | value | varint headerCount |
 *               headers (varint keyLen >= 0 | key | varint valueLen | value)
 *               (zigzag varints). In a compressed batch everything after
 *               recordsCount is one compressed stream of the records.
 *   legacy:     i64 offset | i32 size | u32 crc (CRC-32 IEEE of magic..end) |
 *               i8 magic | i8 attributes (codec bits 0-2, v1 timestamp type
 *               bit 3) | [v1: i64 timestamp] | i32 keyLen + key |
 *               i32 valueLen + value. A compressed message set is one wrapper
 *               message (null key) whose value is the compressed inner set.
 *               v0 inner offsets are absolute; v1 inner offsets are relative
 *               and the wrapper carries the absolute offset of the last one
 *               (0 meaning "not assigned": the inner offsets are used as-is).
 *               A v1 wrapper with LogAppendTime gives its timestamp to every
 *               inner message.
 *   control:    a v2 batch with the control (and transactional) attribute and
 *               one record: key = i16 version, i16 type (0 ABORT, 1 COMMIT);
 *               value for ABORT/COMMIT = i16 version, i32 coordinatorEpoch.
 *
 * Errors are Kafka error codes (kz_rec_err) so the broker passes them on
 * unchanged. Which check gives which code follows Kafka 2.8's produce path
 * (ProduceRequest.validateRecords, Log.analyzeAndValidateRecords,
 * LogValidator): broken framing and CRC -> CORRUPT_MESSAGE, an oversized
 * batch -> MESSAGE_TOO_LARGE, bad record structure or batch fields ->
 * INVALID_RECORD, out-of-range timestamps -> INVALID_TIMESTAMP, unknown or
 * disallowed codecs -> UNSUPPORTED_COMPRESSION_TYPE.
 *
 * Memory: nothing here keeps pointers into the caller's buffers past a call,
 * except iterators (which borrow the input and their scratch writer, see
 * kz_rec_iter) and kz_record fields (which point into one of those two).
 * Locality: none; plain functions over caller memory. */
#ifndef KZ_RECORDS_H
#define KZ_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kz_batch.h"
#include "kz_buf.h"

typedef enum kz_rec_err {
    KZ_REC_UNKNOWN = -1, /* UNKNOWN_SERVER_ERROR: out of memory */
    KZ_REC_NONE = 0,
    KZ_REC_CORRUPT_MESSAGE = 2,
    KZ_REC_MESSAGE_TOO_LARGE = 10,
    KZ_REC_INVALID_TIMESTAMP = 32,
    KZ_REC_UNSUPPORTED_COMPRESSION_TYPE = 76,
    KZ_REC_INVALID_RECORD = 87,
} kz_rec_err;

/* Kafka's name of the code ("CORRUPT_MESSAGE"...), for log lines. */
const char *kz_rec_strerror(int err);

#define KZ_REC_NO_TIMESTAMP (-1LL)
/* Decompressed size allowed per batch when a caller passes 0. */
#define KZ_REC_INFLATE_DEFAULT ((size_t)256 << 20)

/* ---------------------------------------------------------------- records */

/* One record, whatever its format. key/value/headers point into the input
 * or into the iterator's scratch writer (compressed sets). */
typedef struct kz_record {
    int64_t offset;        /* absolute (as far as the input has them assigned) */
    int64_t timestamp;     /* KZ_REC_NO_TIMESTAMP for magic 0 */
    int8_t magic;
    int8_t attributes;     /* v2: the record's (unused) byte; legacy: the message's */
    bool log_append_time;  /* the timestamp is the broker's append time */
    kz_str key, value;     /* len -1: null */
    int32_t header_count;  /* v2 only; the encoded headers follow */
    const uint8_t *headers;
    size_t headers_len;
} kz_record;

typedef struct kz_rec_header {
    kz_str key;            /* never null */
    kz_str value;          /* len -1: null */
} kz_rec_header;

/* Walks the headers of a record that an iterator returned (so they are known
 * to be well formed). */
typedef struct kz_rec_hdr_iter {
    kz_rd r;
    int32_t left;
} kz_rec_hdr_iter;
static inline kz_rec_hdr_iter kz_record_headers(const kz_record *rec)
{
    return (kz_rec_hdr_iter){ kz_rd_init(rec->headers, rec->headers_len), rec->header_count };
}
/* Fills @h with the next header; false after the last one. */
bool kz_rec_hdr_next(kz_rec_hdr_iter *it, kz_rec_header *h);

/* ------------------------------------------------------------- iteration */

/* iterator flags */
#define KZ_RI_CHECK_CRC   0x1u /* verify batch CRCs (v2) and message CRCs (legacy, inner too) */
#define KZ_RI_MATCH_MAGIC 0x2u /* inner legacy messages must have the wrapper's magic */

/* Walks every record of a buffer of entries (batches or legacy messages, in
 * any mix), decompressing compressed entries into @scratch. The struct is a
 * value type so it can live on the stack; fields below "private" are not for
 * callers. Borrowed: the input and @scratch must outlive the iteration; the
 * key/value of a record from a compressed entry are valid until the iterator
 * moves to the next entry (the scratch writer is reused). A torn last entry
 * (the input ends inside it, as a size-capped fetch can) ends the iteration
 * cleanly with @partial set. Record checks: v2 record framing, the batch's
 * record count, legacy framing; never offset gaps (compaction makes them). */
typedef struct kz_rec_iter {
    /* read-only for callers */
    kz_batch_hdr batch;    /* the current entry; for legacy entries only base_offset
                            * (the entry's offset field), length, magic, attributes
                            * (the message's), max_ts (its timestamp, -1 for v0) */
    const uint8_t *entry;  /* the current entry's bytes (kz_batch_size(&batch) of them) */
    int err;               /* kz_rec_err after next() returned false; KZ_REC_NONE at the end */
    bool partial;          /* the input ended inside an entry */
    size_t consumed;       /* bytes of the whole entries opened so far */
    /* private */
    kz_rd in, recs;
    kz_wr *scratch;
    size_t limit;
    unsigned flags;
    int state;
    int32_t left, idx;
    int64_t lg_base, lg_ts;
    bool lg_lat;
} kz_rec_iter;

/* Starts walking the @n bytes at @p. @scratch (may be NULL when the input
 * holds no compressed entry: one would then fail with UNKNOWN) receives
 * decompressed data, at most @limit bytes per entry (0: the default). */
void kz_rec_iter_init(kz_rec_iter *it, const uint8_t *p, size_t n, kz_wr *scratch, size_t limit, unsigned flags);

/* The next record into @rec: true, or false at the end or on an error
 * (it->err says which; it stays set). */
bool kz_rec_iter_next(kz_rec_iter *it, kz_record *rec);

/* ------------------------------------------------------------ validation */

typedef struct kz_rv_opts {
    size_t max_batch_size;    /* max.message.bytes, compared with whole entries; 0: none */
    size_t inflate_limit;     /* per decompressed batch; 0: KZ_REC_INFLATE_DEFAULT */
    int64_t now_ms;           /* wall clock for timestamp checks */
    int64_t ts_diff_max_ms;   /* message.timestamp.difference.max.ms (INT64_MAX: no check) */
    bool log_append_time;     /* message.timestamp.type is LogAppendTime */
    bool compacted;           /* cleanup.policy includes compact: keys required */
    bool from_client;         /* a producer's append (not the coordinators') */
    bool deep;                /* also decompress v2 batches and check their records */
    int16_t produce_version;  /* >= 0: also the ProduceRequest checks of that version */
} kz_rv_opts;

/* Defaults: no size limit, no timestamp limit, CreateTime, a client append,
 * shallow v2 checks, no request checks. */
#define KZ_RV_OPTS_INIT                                                                         \
    ((kz_rv_opts){ .max_batch_size = 0, .inflate_limit = 0, .now_ms = 0, .ts_diff_max_ms = INT64_MAX, \
                   .log_append_time = false, .compacted = false, .from_client = true, .deep = false, \
                   .produce_version = -1 })

typedef struct kz_rv_info {
    int8_t magic;             /* of the first entry */
    int codec;                /* source codec: the last non-none one seen */
    int32_t batches;          /* whole entries (legacy: outer messages) */
    int64_t records;          /* records in them (v2 batches not walked: their count) */
    int64_t max_ts;           /* max record timestamp (now_ms for LogAppendTime), or -1 */
    int64_t max_ts_index;     /* 0-based index among the payload's records of the
                               * record to index with max_ts, or -1 */
    size_t valid_bytes;       /* bytes of whole entries: what Kafka keeps of the payload */
} kz_rv_info;

/* Validates a produce payload for a leader append (Kafka 2.8 semantics):
 *  1. with o->produce_version >= 3: at least one batch, the first of magic 2,
 *     exactly one; zstd needs version 7 (UNSUPPORTED_COMPRESSION_TYPE);
 *  2. per whole entry: a length below the minimum or an unknown magic is
 *     CORRUPT_MESSAGE; size > max_batch_size is MESSAGE_TOO_LARGE; a CRC
 *     mismatch is CORRUPT_MESSAGE; codec ids 5-7 are
 *     UNSUPPORTED_COMPRESSION_TYPE. A torn tail is not an error: Kafka drops
 *     it (info->valid_bytes < n tells);
 *  3. v2 or compressed: exactly one entry; all entries of the first's magic;
 *     from a client: recordsCount == lastOffsetDelta + 1 > 0, a producer id
 *     needs a base sequence >= 0, no control batches (INVALID_RECORD);
 *  4. records of uncompressed entries, legacy compressed wrappers and, with
 *     o->deep, compressed v2 batches: well formed, the declared count, offset
 *     deltas 0..n-1 (Kafka checks this only for compressed batches, where it
 *     would otherwise rewrite them; no producer sends anything else), inner
 *     legacy messages uncompressed and of the wrapper's magic
 *     (INVALID_RECORD); inner legacy CRCs (CORRUPT_MESSAGE); then keys when
 *     compacted (INVALID_RECORD) and timestamps (INVALID_TIMESTAMP, which
 *     wins: CreateTime within ts_diff_max_ms of now, and no LogAppendTime
 *     set by the producer). A v2 batch that is not walked has its header's
 *     first and max timestamps checked instead.
 * Never modifies the payload. Returns KZ_REC_NONE or the error; @info is
 * filled as far as the walk went. */
int kz_records_validate(const uint8_t *p, size_t n, const kz_rv_opts *o, kz_rv_info *info);

/* --------------------------------------------------------------- building */

typedef struct kz_bb_opts {
    int64_t base_offset;
    int32_t leader_epoch;     /* partitionLeaderEpoch; -1 from producers */
    int codec;                /* KZ_CODEC_*: compresses the records section */
    bool log_append_time;     /* timestamp type LogAppendTime... */
    int64_t log_append_ts;    /* ...and the time, written as maxTimestamp */
    bool transactional;
    bool control;
    int64_t producer_id;      /* -1: none */
    int16_t producer_epoch;   /* -1: none */
    int32_t base_seq;         /* -1: none */
} kz_bb_opts;

#define KZ_BB_OPTS_INIT                                                                         \
    ((kz_bb_opts){ .base_offset = 0, .leader_epoch = -1, .codec = KZ_CODEC_NONE, .log_append_time = false, \
                   .log_append_ts = -1, .transactional = false, .control = false, .producer_id = -1, \
                   .producer_epoch = -1, .base_seq = -1 })

/* Builds one v2 batch. Owned by the caller: kz_bb_free. */
typedef struct kz_bb kz_bb;

/* A builder for @o (copied), or NULL when out of memory. */
kz_bb *kz_bb_new(const kz_bb_opts *o);
/* Adds a record at absolute @offset (>= base offset, above the previous
 * record's, within int32 of the base). firstTimestamp is the first record's
 * timestamp, maxTimestamp the largest (or log_append_ts). Returns KZ_REC_NONE,
 * INVALID_RECORD for an offset out of order, UNKNOWN when out of memory. */
int kz_bb_add(kz_bb *b, int64_t offset, int64_t ts, kz_str key, kz_str value, const kz_rec_header *hdrs,
              int32_t nhdrs);
/* Same, at the offset after the previous record (the base offset first). */
int kz_bb_append(kz_bb *b, int64_t ts, kz_str key, kz_str value, const kz_rec_header *hdrs, int32_t nhdrs);
int32_t kz_bb_count(const kz_bb *b);
/* Appends the finished batch (lengths, compression, CRC) to @out and empties
 * the builder for another batch with the same options. Returns KZ_REC_NONE,
 * UNSUPPORTED_COMPRESSION_TYPE, or UNKNOWN (out of memory). */
int kz_bb_finish(kz_bb *b, kz_wr *out);
void kz_bb_free(kz_bb *b); /* NULL-safe */

/* Appends a legacy message set of magic 0 or 1 holding the @n records to
 * @out: one message per record when @codec is none, else one wrapper
 * message (offset = the last record's, v1 timestamp = the largest, or the
 * append time when the records carry log_append_time) around the compressed
 * inner set (v0 absolute, v1 relative offsets; lz4 under magic 0 gets the old
 * header checksum). Uses each record's offset, timestamp (v1), key, value and
 * log_append_time; headers are dropped (the format has none). Returns
 * KZ_REC_NONE, UNSUPPORTED_COMPRESSION_TYPE (zstd or an unknown codec),
 * INVALID_RECORD (magic not 0/1) or UNKNOWN. */
int kz_legacy_build(kz_wr *out, int magic, int codec, const kz_record *recs, size_t n);

/* ------------------------------------------------------------- conversion */

typedef struct kz_upconv_opts {
    bool keep_offsets;        /* keep the messages' offsets (log data); else
                               * number the records 0..n-1 (a produce payload,
                               * whose offsets the leader assigns afterwards) */
    bool log_append_time;     /* write LogAppendTime batches stamped now_ms */
    int64_t now_ms;
    size_t inflate_limit;     /* 0: KZ_REC_INFLATE_DEFAULT */
} kz_upconv_opts;

/* Up-conversion (Kafka converts Produce v0-v2 payloads when the log is at
 * message format v2): appends to @out one v2 batch per run of uncompressed
 * legacy messages (uncompressed) and one per compressed wrapper (compressed
 * again with the same codec), in input order; v2 entries are copied as they
 * are. v0 records get no timestamp (-1). Producer fields are "none". A torn
 * tail is dropped. Returns KZ_REC_NONE, or the error of the input (as from
 * iteration with CRC checks) or of building. */
int kz_records_up_convert(const uint8_t *p, size_t n, const kz_upconv_opts *o, kz_wr *out);

/* Down-conversion for fetchers that only know magic @to_magic (0 or 1; Fetch
 * v0-v3): entries already at or below @to_magic are copied unchanged; every
 * other record becomes one uncompressed message of @to_magic with its
 * absolute offset (v1: its timestamp, with the LogAppendTime bit when the
 * batch has it). Kafka would recompress with the batch's codec; we send
 * uncompressed messages, which every client reads, and spend bandwidth
 * rather than CPU. Control batches are dropped (old clients cannot read
 * them), as are headers. A torn tail is dropped. Returns KZ_REC_NONE or the
 * iteration error. */
int kz_records_down_convert(const uint8_t *p, size_t n, int to_magic, size_t inflate_limit, kz_wr *out);

/* -------------------------------------------------------- control records */

enum { KZ_CTRL_ABORT = 0, KZ_CTRL_COMMIT = 1 };

typedef struct kz_ctrl {
    int16_t version;          /* key version */
    int16_t type;             /* KZ_CTRL_ABORT, KZ_CTRL_COMMIT, or another (ignored by readers) */
    bool is_txn_marker;       /* type is ABORT or COMMIT: the value fields are set */
    int16_t value_version;
    int32_t coordinator_epoch;
} kz_ctrl;

static inline bool kz_batch_is_control(const kz_batch_hdr *h)
{
    return h->magic >= 2 && (h->attributes & KZ_BATCH_CONTROL);
}

/* Reads the control record @rec of a control batch. Returns KZ_REC_NONE, or
 * INVALID_RECORD for a key shorter than 4 bytes, a negative key version, or
 * an end-transaction marker whose value is shorter than 6 bytes or has a
 * negative version (ControlRecordType / EndTransactionMarker rules). */
int kz_ctrl_parse(const kz_record *rec, kz_ctrl *out);

/* Appends an end-transaction marker batch (control + transactional, one
 * record at @base_offset, key version 0, value version 0) to @out. */
int kz_ctrl_build_marker(kz_wr *out, int64_t base_offset, int32_t leader_epoch, int64_t producer_id,
                         int16_t producer_epoch, bool commit, int32_t coordinator_epoch, int64_t ts);

#endif
