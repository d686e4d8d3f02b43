/* test/unit/unit_util.h -- small helpers shared by the unit suites: scratch
 * directories, an independent Adler-32, a deterministic PRNG, exact-size heap
 * copies for ASan. Header-only: each suite is its own program. */
#ifndef UNIT_UTIL_H
#define UNIT_UTIL_H

#include <check.h>
#include <stdbool.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kz_buf.h"

static int ut_rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* rm -rf @dir */
static inline void rmtree(const char *dir) { nftw(dir, ut_rm_cb, 16, FTW_DEPTH | FTW_PHYS); }

/* A new directory /tmp/<prefix>XXXXXX in @buf (at least 64 bytes). */
static inline void mktmp_prefix(char *buf, const char *prefix)
{
    snprintf(buf, 64, "/tmp/%sXXXXXX", prefix);
    ck_assert_ptr_nonnull(mkdtemp(buf));
}

/* Test-local Adler-32, independent of the code under test. */
static inline uint32_t t_adler(const uint8_t *p, size_t n)
{
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < n; i++) {
        a = (a + p[i]) % 65521;
        b = (b + a) % 65521;
    }
    return b << 16 | a;
}

/* xorshift64*: a deterministic pseudo-random sequence (seed rnd_state). */
static uint64_t rnd_state;
static inline uint64_t rnd(void)
{
    rnd_state ^= rnd_state >> 12;
    rnd_state ^= rnd_state << 25;
    rnd_state ^= rnd_state >> 27;
    return rnd_state * 2685821657736338717ULL;
}

/* Whether @s holds exactly the C string @lit. */
static inline bool str_is(kz_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == (int32_t)n && s.s && memcmp(s.s, lit, n) == 0;
}

/* A heap block of exactly @n bytes holding @src, so ASan sees overreads. */
static inline uint8_t *dup_exact(const void *src, size_t n)
{
    uint8_t *b = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(b);
    if (n)
        memcpy(b, src, n);
    return b;
}

#endif
