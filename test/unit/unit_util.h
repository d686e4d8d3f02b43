/* test/unit/unit_util.h -- small helpers shared by the unit suites that use
 * scratch directories and check on-disk checksums. Header-only: each suite
 * is its own program. */
#ifndef UNIT_UTIL_H
#define UNIT_UTIL_H

#include <check.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#endif
