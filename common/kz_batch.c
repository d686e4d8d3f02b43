/* common/kz_batch.c -- RecordBatch v2 header and entry walking (see kz_batch.h). */
#include "kz_batch.h"

#include "kz_crc32c.h"
#include "kz_wire.h"

/* Smallest valid entry per magic: the v2 header, or a legacy message with
 * null key and value (crc 4 + magic 1 + attributes 1 [+ timestamp 8] + 4 + 4). */
static const size_t kz_batch_min_len[3] = { 14, 22, KZ_BATCH_HDR_SIZE - KZ_BATCH_LOG_OVERHEAD };

kz_batch_rc kz_batch_peek(const uint8_t *p, size_t n, size_t max_size, kz_batch_hdr *h)
{
    if (n < 17) /* offset, length, epoch/crc, magic */
        return KZ_BATCH_PARTIAL;
    h->base_offset = (int64_t)kz_load_be64(p);
    h->length = (int32_t)kz_load_be32(p + 8);
    h->magic = (int8_t)p[16];
    if (h->magic < 0 || h->magic > 2 || h->length < 0 || (size_t)h->length < kz_batch_min_len[h->magic])
        return KZ_BATCH_CORRUPT;
    if (max_size && kz_batch_size(h) > max_size)
        return KZ_BATCH_CORRUPT;
    if (h->magic < 2)
        return n < kz_batch_size(h) ? KZ_BATCH_PARTIAL : KZ_BATCH_OK;
    if (n < KZ_BATCH_HDR_SIZE)
        return KZ_BATCH_PARTIAL;
    h->leader_epoch = (int32_t)kz_load_be32(p + 12);
    h->crc = kz_load_be32(p + 17);
    h->attributes = (int16_t)kz_load_be16(p + 21);
    h->last_offset_delta = (int32_t)kz_load_be32(p + 23);
    h->first_ts = (int64_t)kz_load_be64(p + 27);
    h->max_ts = (int64_t)kz_load_be64(p + 35);
    h->producer_id = (int64_t)kz_load_be64(p + 43);
    h->producer_epoch = (int16_t)kz_load_be16(p + 51);
    h->base_seq = (int32_t)kz_load_be32(p + 53);
    h->count = (int32_t)kz_load_be32(p + 57);
    if (h->last_offset_delta < 0 || h->count < 0)
        return KZ_BATCH_CORRUPT;
    return n < kz_batch_size(h) ? KZ_BATCH_PARTIAL : KZ_BATCH_OK;
}

bool kz_batch_crc_ok(const uint8_t *p, const kz_batch_hdr *h)
{
    size_t size = kz_batch_size(h);
    return kz_crc32c(0, p + KZ_BATCH_CRC_START, size - KZ_BATCH_CRC_START) == h->crc;
}

void kz_batch_set_base_offset(uint8_t *p, int64_t off) { kz_store_be64(p, (uint64_t)off); }

void kz_batch_set_leader_epoch(uint8_t *p, int32_t epoch) { kz_store_be32(p + 12, (uint32_t)epoch); }

void kz_batch_set_log_append_time(uint8_t *p, size_t size, int64_t ts)
{
    uint16_t attr = kz_load_be16(p + 21);
    kz_store_be16(p + 21, (uint16_t)(attr | KZ_BATCH_TS_LOGAPPEND));
    kz_store_be64(p + 35, (uint64_t)ts);
    kz_store_be32(p + 17, kz_crc32c(0, p + KZ_BATCH_CRC_START, size - KZ_BATCH_CRC_START));
}
