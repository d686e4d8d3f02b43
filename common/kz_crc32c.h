/* common/kz_crc32c.h -- CRC-32C (Castagnoli), the checksum of Kafka's
 * RecordBatch v2 (the `crc` field covers attributes..end of the batch).
 *
 * Polynomial 0x1EDC6F41 (reflected 0x82F63B78), initial value and final xor
 * 0xFFFFFFFF, as RFC 3720 and java.util.zip.CRC32C. The value passed in and
 * returned is the finished CRC, so calls chain like zlib's crc32():
 *     c = kz_crc32c(0, a, na); c = kz_crc32c(c, b, nb);
 * equals kz_crc32c(0, ab, na + nb).
 *
 * kz_crc32c() uses the SSE4.2 crc32 instruction when the CPU has it (checked
 * at run time; inputs of 192 bytes and more run as three interleaved streams
 * joined by table lookups, see kz_crc32c.c) and a slice-by-8 table
 * otherwise. Both are exposed so that tests can compare them.
 * Locality: any thread (the tables are built once, under pthread_once). */
#ifndef KZ_CRC32C_H
#define KZ_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CRC-32C of @n bytes at @p, continuing from @crc (0 to start). @p may be
 * NULL when @n is 0. Never fails. */
uint32_t kz_crc32c(uint32_t crc, const void *p, size_t n);

/* The portable slice-by-8 implementation. Same contract as kz_crc32c(). */
uint32_t kz_crc32c_sw(uint32_t crc, const void *p, size_t n);

/* True when this build and this CPU can use the crc32 instruction. */
bool kz_crc32c_hw_ok(void);

/* The hardware implementation; when !kz_crc32c_hw_ok() it falls back to
 * kz_crc32c_sw(), so it is always safe to call. Same contract. */
uint32_t kz_crc32c_hw(uint32_t crc, const void *p, size_t n);

#endif
