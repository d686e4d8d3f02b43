/* test/unit/check_log_index.c -- offset and time indexes (broker/kb_log_index.c).
 *
 *  01 offset index: golden bytes, preallocation, lookup rules, refusals, trim
 *  02 time index: maybe-append rules, lookup, rounding of the size, growth past full, bytes
 *  03 reopen: trimmed file, preallocated file with a zero tail, truncate_to zeroes entries
 *  04 sanity checks: bad length, positions past the log, timestamps going back */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kb_log_index.h"
#include "kb_log_test.h"

static void mktmp(char *buf) { mktmp_prefix(buf, "kb_index_"); }

START_TEST(t01_offset_index)
{
    char dir[64], p[PATH_MAX];
    mktmp(dir);
    tb_path(p, dir, "00000000000000000100.index");
    kb_index *ix;
    bool created = false;
    ck_assert_int_eq(kb_index_open(&ix, p, KB_INDEX_OFFSET, 100, 84, true, &created), 0);
    ck_assert(created);
    ck_assert_int_eq(tb_fsize(p), 80); /* 84 rounded down to 10 entries */
    ck_assert_uint_eq(kb_index_max_entries(ix), 10);
    ck_assert_uint_eq(kb_index_entries(ix), 0);

    int64_t off;
    int32_t pos;
    kb_oindex_lookup(ix, 150, &off, &pos);
    ck_assert_int_eq(off, 100);
    ck_assert_int_eq(pos, 0);

    ck_assert_int_eq(kb_oindex_append(ix, 105, 4200), 0);
    ck_assert_int_eq(kb_oindex_append(ix, 110, 8500), 0);
    ck_assert_int_eq(kb_oindex_append(ix, 0x7fffffffLL + 100, 13000), 0);
    ck_assert_int_eq(kb_oindex_append(ix, 0x7fffffffLL + 101, 14000), -EINVAL); /* no relative offset */
    ck_assert_int_eq(kb_oindex_append(ix, 110, 9000), -EINVAL);                 /* not increasing */
    ck_assert_int_eq(kb_oindex_append(ix, 99, 9000), -EINVAL);                  /* below base */
    ck_assert_uint_eq(kb_index_entries(ix), 3);

    kb_oindex_lookup(ix, 104, &off, &pos);
    ck_assert_int_eq(off, 100);
    ck_assert_int_eq(pos, 0);
    kb_oindex_lookup(ix, 105, &off, &pos);
    ck_assert_int_eq(off, 105);
    ck_assert_int_eq(pos, 4200);
    kb_oindex_lookup(ix, 109, &off, &pos);
    ck_assert_int_eq(off, 105);
    ck_assert_int_eq(pos, 4200);
    kb_oindex_lookup(ix, 1000, &off, &pos);
    ck_assert_int_eq(off, 110);
    ck_assert_int_eq(pos, 8500);
    kb_oindex_last(ix, &off, &pos);
    ck_assert_int_eq(off, 0x7fffffffLL + 100);
    ck_assert_int_eq(pos, 13000);

    ck_assert(!kb_index_full(ix));
    kb_index_truncate_to(ix, 0x7fffffffLL + 100);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(kb_oindex_append(ix, 200 + i, 20000 + i), 0);
    ck_assert(kb_index_full(ix));
    ck_assert_int_eq(kb_oindex_append(ix, 300, 30000), -ENOSPC);

    ck_assert_int_eq(kb_index_trim(ix), 0);
    kb_index_close(ix);
    size_t n;
    uint8_t *b = tb_slurp(p, &n);
    ck_assert_uint_eq(n, 80);
    static const uint8_t head[16] = { 0, 0, 0, 5, 0, 0, 0x10, 0x68, 0, 0, 0, 10, 0, 0, 0x21, 0x34 };
    ck_assert_mem_eq(b, head, 16);
    ck_assert_int_eq(tb_be32(b + 16), 100);    /* 200 - base */
    ck_assert_int_eq(tb_be32(b + 20), 20000);
    ck_assert_int_eq(tb_be32(b + 72), 107);
    ck_assert_int_eq(tb_be32(b + 76), 20007);
    free(b);
    rmtree(dir);
}
END_TEST

START_TEST(t02_time_index)
{
    char dir[64], p[PATH_MAX];
    mktmp(dir);
    tb_path(p, dir, "00000000000000000050.timeindex");
    kb_index *ix;
    ck_assert_int_eq(kb_index_open(&ix, p, KB_INDEX_TIME, 50, 40, true, NULL), 0);
    ck_assert_int_eq(tb_fsize(p), 36); /* 3 entries of 12 */
    ck_assert_uint_eq(kb_index_max_entries(ix), 3);

    int64_t ts, off;
    kb_tindex_last(ix, &ts, &off);
    ck_assert_int_eq(ts, -1);
    ck_assert_int_eq(off, 50);
    ck_assert_int_eq(kb_tindex_maybe_append(ix, -1, 50, false), 0); /* not above (-1, base) */
    ck_assert_uint_eq(kb_index_entries(ix), 0);
    ck_assert_int_eq(kb_tindex_maybe_append(ix, 1000, 55, false), 0);
    ck_assert_int_eq(kb_tindex_maybe_append(ix, 1000, 57, false), 0); /* same timestamp: ignored */
    ck_assert_int_eq(kb_tindex_maybe_append(ix, 999, 58, false), -EINVAL);
    ck_assert_int_eq(kb_tindex_maybe_append(ix, 2000, 54, false), -EINVAL);
    ck_assert_int_eq(kb_tindex_maybe_append(ix, 2000, 55, false), 0); /* same offset, larger ts */
    ck_assert_int_eq(kb_tindex_maybe_append(ix, 3000, 70, false), 0);
    ck_assert_uint_eq(kb_index_entries(ix), 3);
    ck_assert(kb_index_full(ix));
    ck_assert_int_eq(kb_tindex_maybe_append(ix, 4000, 80, false), -ENOSPC);

    kb_tindex_lookup(ix, 999, &ts, &off);
    ck_assert_int_eq(ts, -1);
    ck_assert_int_eq(off, 50);
    kb_tindex_lookup(ix, 1000, &ts, &off);
    ck_assert_int_eq(ts, 1000);
    ck_assert_int_eq(off, 55);
    kb_tindex_lookup(ix, 2999, &ts, &off);
    ck_assert_int_eq(ts, 2000);
    ck_assert_int_eq(off, 55);
    kb_tindex_lookup(ix, INT64_MAX, &ts, &off);
    ck_assert_int_eq(ts, 3000);
    ck_assert_int_eq(off, 70);

    /* the final entry of a roll may go past the capacity */
    ck_assert_int_eq(kb_tindex_maybe_append(ix, 4000, 80, true), 0);
    ck_assert_uint_eq(kb_index_entries(ix), 4);
    ck_assert_int_eq(tb_fsize(p), 48);
    kb_index_close(ix);

    size_t n;
    uint8_t *b = tb_slurp(p, &n);
    ck_assert_uint_eq(n, 48);
    static const uint8_t e0[12] = { 0, 0, 0, 0, 0, 0, 0x03, 0xe8, 0, 0, 0, 5 };
    ck_assert_mem_eq(b, e0, 12);
    ck_assert_int_eq(tb_be64(b + 12), 2000);
    ck_assert_int_eq(tb_be32(b + 20), 5);
    ck_assert_int_eq(tb_be64(b + 36), 4000);
    ck_assert_int_eq(tb_be32(b + 44), 30);
    free(b);
    rmtree(dir);
}
END_TEST

START_TEST(t03_reopen)
{
    char dir[64], p[PATH_MAX], q[PATH_MAX];
    mktmp(dir);
    tb_path(p, dir, "00000000000000000000.index");
    kb_index *ix;
    ck_assert_int_eq(kb_index_open(&ix, p, KB_INDEX_OFFSET, 0, 4096, true, NULL), 0);
    for (int i = 1; i <= 6; i++)
        ck_assert_int_eq(kb_oindex_append(ix, i * 10, i * 1000), 0);
    kb_index_close(ix); /* left preallocated, as a crash would */
    ck_assert_int_eq(tb_fsize(p), 4096);

    /* reopen: the zero tail is not taken for entries */
    bool created = true;
    ck_assert_int_eq(kb_index_open(&ix, p, KB_INDEX_OFFSET, 0, 4096, false, &created), 0);
    ck_assert(!created);
    ck_assert_uint_eq(kb_index_entries(ix), 6);
    ck_assert_int_eq(kb_index_sanity(ix, 6001), 0);
    int64_t off;
    int32_t pos;
    kb_oindex_last(ix, &off, &pos);
    ck_assert_int_eq(off, 60);
    ck_assert_int_eq(pos, 6000);

    /* truncate: entries >= 35 go and their bytes are zeroed */
    kb_index_truncate_to(ix, 35);
    ck_assert_uint_eq(kb_index_entries(ix), 3);
    kb_index_truncate_to(ix, 30);
    ck_assert_uint_eq(kb_index_entries(ix), 2);
    kb_index_close(ix);
    size_t n;
    uint8_t *b = tb_slurp(p, &n);
    ck_assert_uint_eq(n, 4096);
    for (size_t i = 16; i < 64; i++)
        ck_assert_uint_eq(b[i], 0);
    free(b);
    ck_assert_int_eq(kb_index_open(&ix, p, KB_INDEX_OFFSET, 0, 4096, false, NULL), 0);
    ck_assert_uint_eq(kb_index_entries(ix), 2);
    ck_assert_int_eq(kb_index_trim(ix), 0);
    kb_index_close(ix);
    ck_assert_int_eq(tb_fsize(p), 16);

    /* a trimmed file: size / 8 entries, capacity the same until resized */
    ck_assert_int_eq(kb_index_open(&ix, p, KB_INDEX_OFFSET, 0, 4096, false, NULL), 0);
    ck_assert_uint_eq(kb_index_entries(ix), 2);
    ck_assert(kb_index_full(ix));
    ck_assert_int_eq(kb_index_resize(ix, 4096), 0);
    ck_assert_uint_eq(kb_index_max_entries(ix), 512);
    ck_assert_int_eq(tb_fsize(p), 4096);
    kb_index_close(ix);

    /* an all-zero preallocated time index has no entries */
    tb_path(q, dir, "00000000000000000000.timeindex");
    ck_assert_int_eq(kb_index_open(&ix, q, KB_INDEX_TIME, 0, 120, true, NULL), 0);
    kb_index_close(ix);
    ck_assert_int_eq(kb_index_open(&ix, q, KB_INDEX_TIME, 0, 120, false, NULL), 0);
    ck_assert_uint_eq(kb_index_entries(ix), 0);
    ck_assert_int_eq(kb_tindex_maybe_append(ix, 5, 3, false), 0);
    ck_assert_int_eq(kb_tindex_maybe_append(ix, 9, 4, false), 0);
    kb_index_close(ix);
    ck_assert_int_eq(kb_index_open(&ix, q, KB_INDEX_TIME, 0, 120, false, NULL), 0);
    ck_assert_uint_eq(kb_index_entries(ix), 2);
    kb_index_close(ix);
    rmtree(dir);
}
END_TEST

START_TEST(t04_sanity)
{
    char dir[64], p[PATH_MAX];
    mktmp(dir);
    tb_path(p, dir, "00000000000000000000.index");
    uint8_t bad[12] = { 0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 2 }; /* 1.5 entries */
    tb_spit(p, bad, sizeof bad);
    kb_index *ix;
    ck_assert_int_eq(kb_index_open(&ix, p, KB_INDEX_OFFSET, 0, 4096, false, NULL), 0);
    ck_assert_int_eq(kb_index_sanity(ix, 100), -EBADMSG);
    kb_index_close(ix);

    tb_spit(p, bad, 8); /* (1, 9) */
    ck_assert_int_eq(kb_index_open(&ix, p, KB_INDEX_OFFSET, 0, 4096, false, NULL), 0);
    ck_assert_int_eq(kb_index_sanity(ix, 10), 0);
    ck_assert_int_eq(kb_index_sanity(ix, 9), -EBADMSG); /* points at the end of the log */
    ck_assert_int_eq(kb_index_sanity(ix, 0), -EBADMSG);
    kb_index_close(ix);

    uint8_t neg[8] = { 0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 0 }; /* relative offset -16 */
    tb_spit(p, neg, 8);
    ck_assert_int_eq(kb_index_open(&ix, p, KB_INDEX_OFFSET, 0, 4096, false, NULL), 0);
    ck_assert_int_eq(kb_index_sanity(ix, 10), -EBADMSG);
    kb_index_close(ix);

    tb_path(p, dir, "00000000000000000000.timeindex");
    uint8_t tb[24] = { 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 2 };
    tb_spit(p, tb, sizeof tb);
    ck_assert_int_eq(kb_index_open(&ix, p, KB_INDEX_TIME, 0, 4096, false, NULL), 0);
    ck_assert_uint_eq(kb_index_entries(ix), 2);
    ck_assert_int_eq(kb_index_sanity(ix, 100), -EBADMSG); /* last timestamp below the first */
    kb_index_close(ix);
    rmtree(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("log_index");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, t01_offset_index);
    tcase_add_test(tc, t02_time_index);
    tcase_add_test(tc, t03_reopen);
    tcase_add_test(tc, t04_sanity);
    suite_add_tcase(s, tc);
    return ut_run(s);
}
