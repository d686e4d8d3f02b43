/* common/kz_crc32c.c -- CRC-32C, hardware (SSE4.2) and slice-by-8 (see
 * kz_crc32c.h).
 *
 * Notation. R(x, M) is the CRC register (reflected, no pre/post inversion)
 * after feeding the bytes M to the register value x; the API's CRC of M
 * continuing from c is ~R(~c, M). 0^L is L zero bytes.
 *
 * Slice-by-8: tab[0] is the classic byte table; tab[k][b] is the CRC of
 * byte b followed by k zero bytes, so one step folds 8 input bytes with 8
 * lookups. Input words are assembled little-endian byte by byte (no
 * alignment or host byte order assumptions; compilers turn it into a load).
 *
 * Hardware: the crc32 instruction computes R for 1 or 8 bytes. It has a
 * latency of 3 cycles and a throughput of 1 per cycle, so a single dependent
 * chain (8 bytes / 3 cycles) uses a third of the unit. Long inputs are
 * therefore cut into three equal consecutive blocks A, B, C of L bytes and
 * three chains run interleaved in one loop, each from register 0, giving
 * R(0, A), R(0, B), R(0, C). They are joined to the incoming register x with
 * two facts:
 *   - one byte step x' = f(x ^ byte) with f linear over GF(2) (a shift and a
 *     conditional xor of the polynomial, eight times), so R(x, M) is linear
 *     in the pair (x, M), and splitting the pair as (x, 0^|M|) ^ (0, M):
 *         R(x, M) = R(x, 0^|M|) ^ R(0, M);
 *   - R(x, M || N) = R(R(x, M), N) (the register is the whole state).
 * With Z_L(y) = R(y, 0^L), "y shifted over L zero bytes", a linear map of y:
 *     R(x, A)       = Z_L(x) ^ R(0, A)
 *     R(x, A||B)    = R(R(x, A), B) = Z_L(R(x, A)) ^ R(0, B)
 *     R(x, A||B||C) = Z_L(Z_L(Z_L(x) ^ R(0, A)) ^ R(0, B)) ^ R(0, C).
 * Starting all three chains from 0 (rather than A from x) keeps this join,
 * three dependent table steps, off the chains: the next group's chains start
 * at once and the join of the previous one completes alongside them.
 * Z_L being linear, it is the xor of its values on the four bytes of y:
 *     Z_L(y) = S[0][y & 0xff] ^ S[1][y >> 8 & 0xff] ^ S[2][y >> 16 & 0xff] ^ S[3][y >> 24]
 * with S[k][b] = Z_L(b << 8k): four 256-entry tables (4 KiB) per block length
 * L. They are built at start-up from the polynomial: the one-zero-bit step
 * y -> (y >> 1) ^ (y & 1 ? P : 0) is a 32x32 bit matrix, kept as its 32
 * columns (the images of the one-bit registers); Z_L is that matrix raised
 * to the power 8L by repeated squaring (composing two linear maps = applying
 * the first to each column of the second), and S[k][b] is the xor of the
 * columns 8k..8k+7 selected by the bits of b.
 *
 * Block lengths are a table (kz_crc32c_blk[], longest first): each is used
 * while at least three blocks remain, and what is left (less than three of
 * the shortest) runs through the single chain. Long blocks make the joins
 * (12 table loads) rare; short ones keep medium inputs (a 10 KiB record
 * batch, a few hundred bytes) mostly on three streams.
 *
 * Locality: any thread. The tables are written once under pthread_once and
 * only read afterwards. */
#include "kz_crc32c.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KZ_CRC32C_X86 1
#include <nmmintrin.h>
#endif

#define KZ_CRC32C_POLY 0x82F63B78u /* 0x1EDC6F41 bit-reversed */

/* Block lengths of the three-stream hardware loop, longest first, each a
 * multiple of 8 (whole crc32q words per stream). */
static const size_t kz_crc32c_blk[] = { 8192, 256, 64 };
#define KZ_CRC32C_NBLK (sizeof kz_crc32c_blk / sizeof kz_crc32c_blk[0])

/* Written once by kz_crc32c_tab_init() under pthread_once, read-only after.
 * kz_crc32c_shift[i][k][b] = Z_L(b << 8k) for L = kz_crc32c_blk[i] (see the
 * file comment). */
static uint32_t kz_crc32c_tab[8][256];
static uint32_t kz_crc32c_shift[KZ_CRC32C_NBLK][4][256];
static pthread_once_t kz_crc32c_tab_once = PTHREAD_ONCE_INIT;

/* A linear map of 32-bit registers over GF(2): col[i] is the image of the
 * register 1u << i. */
typedef struct kz_crc32c_mat {
    uint32_t col[32];
} kz_crc32c_mat;

/* The image of @y under @m: the xor of the columns selected by y's bits. */
static uint32_t kz_crc32c_mat_apply(const kz_crc32c_mat *m, uint32_t y)
{
    uint32_t r = 0;
    for (int i = 0; y; i++, y >>= 1)
        if (y & 1)
            r ^= m->col[i];
    return r;
}

/* *@out = the map "@b, then @a" (@out may alias either). */
static void kz_crc32c_mat_mul(kz_crc32c_mat *out, const kz_crc32c_mat *a, const kz_crc32c_mat *b)
{
    kz_crc32c_mat t;
    for (int i = 0; i < 32; i++)
        t.col[i] = kz_crc32c_mat_apply(a, b->col[i]);
    *out = t;
}

/* *@z = Z_@len, the register shifted over @len zero bytes: the one-zero-bit
 * step raised to the power 8 * @len by square-and-multiply (all factors are
 * powers of the same map, so their order does not matter). */
static void kz_crc32c_zeros_mat(kz_crc32c_mat *z, size_t len)
{
    kz_crc32c_mat sq; /* one zero bit, then 2, 4, 8, ... */
    sq.col[0] = KZ_CRC32C_POLY;
    for (int i = 1; i < 32; i++)
        sq.col[i] = 1u << (i - 1);
    for (int i = 0; i < 32; i++)
        z->col[i] = 1u << i;
    for (uint64_t bits = (uint64_t)len * 8; bits; bits >>= 1) {
        if (bits & 1)
            kz_crc32c_mat_mul(z, &sq, z);
        if (bits > 1)
            kz_crc32c_mat_mul(&sq, &sq, &sq);
    }
}

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
    for (size_t i = 0; i < KZ_CRC32C_NBLK; i++) {
        kz_crc32c_mat z;
        kz_crc32c_zeros_mat(&z, kz_crc32c_blk[i]);
        for (int k = 0; k < 4; k++)
            for (uint32_t b = 0; b < 256; b++)
                kz_crc32c_shift[i][k][b] = kz_crc32c_mat_apply(&z, b << (8 * k));
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
/* Z_L(@y) through the four tables @s of one block length L. */
static inline uint32_t kz_crc32c_shift_by(const uint32_t (*s)[256], uint32_t y)
{
    return s[0][y & 0xff] ^ s[1][(y >> 8) & 0xff] ^ s[2][(y >> 16) & 0xff] ^ s[3][y >> 24];
}

/* The 8 bytes at @p as the instruction wants them (host, little-endian). */
static inline uint64_t kz_crc32c_ld64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Feeds the register @c with groups of three @blk-byte blocks from *@pp as
 * long as *@np holds one: three chains from 0, interleaved, then
 * c = Z(Z(Z(c) ^ A) ^ B) ^ C through the shift tables @s of @blk. The chains
 * of the next group do not wait for that join, so it overlaps with them.
 * Advances *@pp and *@np; returns the register. */
__attribute__((target("sse4.2"))) static inline uint32_t kz_crc32c_x3(uint32_t c, const uint8_t **pp, size_t *np,
                                                                       size_t blk, const uint32_t (*s)[256])
{
    const uint8_t *p = *pp;
    size_t n = *np;
    while (n >= 3 * blk) {
        const uint8_t *q = p + blk, *r = p + 2 * blk;
        uint64_t ca = 0, cb = 0, cc = 0;
        for (size_t i = 0; i < blk; i += 8) {
            ca = _mm_crc32_u64(ca, kz_crc32c_ld64(p + i));
            cb = _mm_crc32_u64(cb, kz_crc32c_ld64(q + i));
            cc = _mm_crc32_u64(cc, kz_crc32c_ld64(r + i));
        }
        c = kz_crc32c_shift_by(s, c) ^ (uint32_t)ca;
        c = kz_crc32c_shift_by(s, c) ^ (uint32_t)cb;
        c = kz_crc32c_shift_by(s, c) ^ (uint32_t)cc;
        p += 3 * blk;
        n -= 3 * blk;
    }
    *pp = p;
    *np = n;
    return c;
}

__attribute__((target("sse4.2"))) static uint32_t kz_crc32c_sse42(uint32_t crc, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    uint32_t c = ~crc;
    /* Align to 8 so that the word loads do not straddle cache lines. */
    while (n && ((uintptr_t)p & 7)) {
        c = _mm_crc32_u8(c, *p++);
        n--;
    }
    if (n >= 3 * kz_crc32c_blk[KZ_CRC32C_NBLK - 1]) {
        pthread_once(&kz_crc32c_tab_once, kz_crc32c_tab_init);
        for (size_t i = 0; i < KZ_CRC32C_NBLK; i++)
            c = kz_crc32c_x3(c, &p, &n, kz_crc32c_blk[i], (const uint32_t (*)[256])kz_crc32c_shift[i]);
    }
    uint64_t c64 = c;
    while (n >= 8) {
        c64 = _mm_crc32_u64(c64, kz_crc32c_ld64(p));
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
