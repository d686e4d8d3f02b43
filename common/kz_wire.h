/* common/kz_wire.h -- big-endian integer load/store on raw byte pointers.
 *
 * These are the primitives under the bounded cursor (kz_buf.h): they do no
 * bounds checking themselves, the caller has already checked the length.
 * Every protocol this project speaks (jute, Kafka, the quorum packets) is
 * big-endian on the wire. */
#ifndef KZ_WIRE_H
#define KZ_WIRE_H

#include <stdint.h>

static inline uint16_t kz_load_be16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t kz_load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t kz_load_be64(const uint8_t *p)
{
    return (uint64_t)kz_load_be32(p) << 32 | kz_load_be32(p + 4);
}

static inline void kz_store_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void kz_store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void kz_store_be64(uint8_t *p, uint64_t v)
{
    kz_store_be32(p, (uint32_t)(v >> 32));
    kz_store_be32(p + 4, (uint32_t)v);
}

#endif
