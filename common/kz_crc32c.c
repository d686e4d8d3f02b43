/* common/kz_crc32c.c -- CRC-32C, hardware (SSE4.2) and slice-by-8 (see
 * kz_crc32c.h).
 *
 * Slice-by-8: tab[0] is the classic byte table; tab[k][b] is the CRC of
 * byte b followed by k zero bytes, so one step folds 8 input bytes with 8
 * lookups. Input words are assembled little-endian byte by byte (no
 * alignment or host byte order assumptions; compilers turn it into a load).
 *
 * Hardware: the crc32 instruction computes exactly this reflected CRC
 * without the pre/post inversion. One dependent stream 8 bytes per
 * instruction (about 8 bytes / 3 cycles); interleaving three streams would
 * be faster for large batches but is not needed yet. */
#include "kz_crc32c.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KZ_CRC32C_X86 1
#include <nmmintrin.h>
#endif

#define KZ_CRC32C_POLY 0x82F63B78u /* 0x1EDC6F41 bit-reversed */

/* Written once by kz_crc32c_tab_init() under pthread_once, read-only after. */
static uint32_t kz_crc32c_tab[8][256];
static pthread_once_t kz_crc32c_tab_once = PTHREAD_ONCE_INIT;

static void kz_crc32c_tab_init(void)
{
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (KZ_CRC32C_POLY & (0u - (c & 1)));
        kz_crc32c_tab[0][b] = c;
    }
    for (uint32_t b = 0; b < 256; b++)
        for (int k = 1; k < 8; k++) {
            uint32_t c = kz_crc32c_tab[k - 1][b];
            kz_crc32c_tab[k][b] = (c >> 8) ^ kz_crc32c_tab[0][c & 0xff];
        }
}

static inline uint32_t kz_crc32c_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint32_t kz_crc32c_sw(uint32_t crc, const void *buf, size_t n)
{
    pthread_once(&kz_crc32c_tab_once, kz_crc32c_tab_init);
    const uint32_t (*t)[256] = (const uint32_t (*)[256])kz_crc32c_tab;
    const uint8_t *p = buf;
    uint32_t c = ~crc;
    while (n >= 8) {
        uint32_t lo = kz_crc32c_le32(p) ^ c, hi = kz_crc32c_le32(p + 4);
        c = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
            t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        c = (c >> 8) ^ t[0][(c ^ *p++) & 0xff];
    return ~c;
}

#ifdef KZ_CRC32C_X86
__attribute__((target("sse4.2"))) static uint32_t kz_crc32c_sse42(uint32_t crc, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    uint32_t c = ~crc;
    /* Align to 8 so that the word loads do not straddle cache lines. */
    while (n && ((uintptr_t)p & 7)) {
        c = _mm_crc32_u8(c, *p++);
        n--;
    }
    uint64_t c64 = c;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8); /* the instruction wants host (little-endian) order */
        c64 = _mm_crc32_u64(c64, v);
        p += 8;
        n -= 8;
    }
    c = (uint32_t)c64;
    while (n--)
        c = _mm_crc32_u8(c, *p++);
    return ~c;
}
#endif

bool kz_crc32c_hw_ok(void)
{
#ifdef KZ_CRC32C_X86
    return __builtin_cpu_supports("sse4.2");
#else
    return false;
#endif
}

uint32_t kz_crc32c_hw(uint32_t crc, const void *p, size_t n)
{
#ifdef KZ_CRC32C_X86
    if (__builtin_cpu_supports("sse4.2"))
        return kz_crc32c_sse42(crc, p, n);
#endif
    return kz_crc32c_sw(crc, p, n);
}

uint32_t kz_crc32c(uint32_t crc, const void *p, size_t n)
{
    /* __builtin_cpu_supports is one load and test of libgcc's cpu model,
     * initialised by a constructor before main(). */
    return kz_crc32c_hw(crc, p, n);
}
