/* common/kz_batch.h -- the fixed header of a Kafka RecordBatch (magic 2), and
 * walking a buffer of concatenated batches (a produce payload, a .log file).
 *
 * Layout (wire and disk are identical; big-endian):
 *    0 i64 baseOffset        8 i32 batchLength (bytes after this field)
 *   12 i32 partitionLeaderEpoch (not covered by the CRC)
 *   16 i8  magic (2)        17 u32 crc (CRC-32C of bytes 21..end)
 *   21 i16 attributes       23 i32 lastOffsetDelta
 *   27 i64 firstTimestamp   35 i64 maxTimestamp
 *   43 i64 producerId       51 i16 producerEpoch
 *   53 i32 baseSequence     57 i32 recordsCount     61 records...
 * Legacy entries (magic 0/1) share the first 12 bytes (offset, size) and keep
 * their magic at byte 16 too, so one walker can tell them apart.
 * baseOffset and partitionLeaderEpoch sit outside the CRC: a leader assigns
 * them in place without touching the checksum.
 * Locality: none (plain functions over caller memory). */
#ifndef KZ_BATCH_H
#define KZ_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KZ_BATCH_LOG_OVERHEAD 12   /* baseOffset + batchLength */
#define KZ_BATCH_HDR_SIZE     61   /* through recordsCount */
#define KZ_BATCH_CRC_START    21   /* the CRC covers attributes..end */

/* attributes */
#define KZ_BATCH_CODEC_MASK   0x07
#define KZ_BATCH_TS_LOGAPPEND 0x08
#define KZ_BATCH_TRANSACTIONAL 0x10
#define KZ_BATCH_CONTROL      0x20

enum { KZ_CODEC_NONE = 0, KZ_CODEC_GZIP = 1, KZ_CODEC_SNAPPY = 2, KZ_CODEC_LZ4 = 3, KZ_CODEC_ZSTD = 4 };

typedef struct kz_batch_hdr {
    int64_t base_offset;
    int32_t length;          /* batchLength: total size is length + 12 */
    int32_t leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t first_ts, max_ts;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_seq;
    int32_t count;
} kz_batch_hdr;

/* Outcome of looking at the next entry in a buffer. */
typedef enum {
    KZ_BATCH_OK = 0,      /* a whole entry is there and its header is sane */
    KZ_BATCH_PARTIAL,     /* fewer bytes than the entry claims (a torn tail, or a fetch cut) */
    KZ_BATCH_CORRUPT,     /* size below the minimum for its magic, or an unknown magic */
} kz_batch_rc;

/* Reads the header of the entry at @p (@n bytes available). For magic 2 the
 * whole 61-byte header is decoded; for magic 0/1 only base_offset, length and
 * magic are set. Also checks that length + 12 <= @max_size when @max_size > 0
 * (KZ_BATCH_CORRUPT otherwise). Never reads past @n. */
kz_batch_rc kz_batch_peek(const uint8_t *p, size_t n, size_t max_size, kz_batch_hdr *h);

/* Total size of the entry (length + 12). */
static inline size_t kz_batch_size(const kz_batch_hdr *h) { return (size_t)h->length + KZ_BATCH_LOG_OVERHEAD; }
static inline int64_t kz_batch_last_offset(const kz_batch_hdr *h) { return h->base_offset + h->last_offset_delta; }
static inline int kz_batch_codec(const kz_batch_hdr *h) { return h->attributes & KZ_BATCH_CODEC_MASK; }

/* True when the stored CRC matches bytes 21..end of the magic-2 batch at @p
 * (@h from kz_batch_peek on the same bytes). */
bool kz_batch_crc_ok(const uint8_t *p, const kz_batch_hdr *h);

/* In-place rewrites of the fields outside the CRC. */
void kz_batch_set_base_offset(uint8_t *p, int64_t off);
void kz_batch_set_leader_epoch(uint8_t *p, int32_t epoch);
/* Rewrites maxTimestamp and sets the LogAppendTime attribute bit, then
 * recomputes the CRC (both fields are covered by it). */
void kz_batch_set_log_append_time(uint8_t *p, size_t size, int64_t ts);

#endif
