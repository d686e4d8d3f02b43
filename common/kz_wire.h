/* common/kz_wire.h -- big-endian integer load/store and Kafka varints on raw
 * byte pointers.
 *
 * These are the primitives under the bounded cursor (kz_buf.h). The
 * fixed-width ones do no bounds checking themselves, the caller has already
 * checked the length; the varint decoder, whose length is not known in
 * advance, takes the number of bytes available and never looks past them.
 * Every protocol this project speaks (jute, Kafka, the quorum packets) is
 * big-endian on the wire.
 *
 * Kafka varints (ByteUtils, the record format and flexible versions):
 * unsigned LEB128, 7 bits per byte, least significant group first, high bit
 * set on every byte but the last. A 32-bit value takes at most 5 bytes, a
 * 64-bit one at most 10. Signed values are zigzag-mapped first
 * (0,-1,1,-2.. -> 0,1,2,3..). Decoding rejects a continuation bit on the
 * last allowed byte and payload bits above the width (for 32 bits the fifth
 * byte must be <= 0x0f, for 64 bits the tenth <= 0x01; Kafka silently drops
 * those bits, no encoder emits them). Non-minimal encodings within the byte
 * limit (0x80 0x00 for 0) are accepted, as Kafka and protobuf accept them. */
#ifndef KZ_WIRE_H
#define KZ_WIRE_H

#include <stddef.h>
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

/* ---------------------------------------------------------------- varints */

enum { KZ_UVARINT32_MAX = 5, KZ_UVARINT64_MAX = 10 };

static inline uint32_t kz_zigzag32(int32_t v) { return ((uint32_t)v << 1) ^ (uint32_t)(0 - ((uint32_t)v >> 31)); }
static inline int32_t kz_unzigzag32(uint32_t u) { return (int32_t)((u >> 1) ^ (0u - (u & 1))); }
static inline uint64_t kz_zigzag64(int64_t v) { return ((uint64_t)v << 1) ^ (0 - ((uint64_t)v >> 63)); }
static inline int64_t kz_unzigzag64(uint64_t u) { return (int64_t)((u >> 1) ^ (0 - (u & 1))); }

/* Bytes the unsigned varint encoding of @v takes (1..10). */
static inline size_t kz_uvarint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}
static inline size_t kz_varint_size(int32_t v) { return kz_uvarint_size(kz_zigzag32(v)); }
static inline size_t kz_varlong_size(int64_t v) { return kz_uvarint_size(kz_zigzag64(v)); }

/* Writes the unsigned varint of @v at @p (room for kz_uvarint_size(v), at
 * most KZ_UVARINT64_MAX bytes) and returns the bytes written. */
static inline size_t kz_store_uvarint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Decodes an unsigned varint of @bits (32 or 64) from the @avail bytes at
 * @p into *@out. Returns the bytes consumed (1..5 or 1..10); 0 when the
 * input ends inside the varint (truncated); -1 when the encoding is longer
 * than the width allows or carries bits above it (corrupt). Reads only
 * p[0..avail-1]; *@out is set only on success. */
static inline int kz_load_uvarint(const uint8_t *p, size_t avail, unsigned bits, uint64_t *out)
{
    const size_t max = bits == 32 ? KZ_UVARINT32_MAX : KZ_UVARINT64_MAX;
    const unsigned last_bits = bits == 32 ? 4 : 1; /* payload bits of the last byte */
    uint64_t v = 0;
    for (size_t i = 0; i < max; i++) {
        if (i == avail)
            return 0;
        uint8_t b = p[i];
        if (i == max - 1 && b >> last_bits)
            return -1; /* continuation bit or overflow on the last byte */
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return (int)i + 1;
        }
    }
    return -1; /* not reached: the last byte either ends or fails above */
}

#endif
