/* test/unit/check_log_segment.c -- one log segment (broker/kb_log_segment.c).
 *
 *  01 appends: bytes on disk, index entries every index.interval.bytes (computed here
 *     independently), roll finalisation; a rebuild gives byte-identical indexes
 *  02 find and span: batch holding an offset, max_bytes, max_offset, min_one
 *  03 truncate_to: cut at the batch start, indexes and max timestamp follow
 *  04 find_ts: record-level answers in plain, LogAppendTime and gzip batches
 *  05 legacy (magic 1) entries: CRC-32 checked by recovery, offsets read
 *  06 load: tail walk, corrupt tail and missing indexes are reported */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "kb_log_segment.h"
#include "kb_log_test.h"
#include "kz_compress.h"

static void mktmp(char *buf) { mktmp_prefix(buf, "kb_seg_"); }

static kb_log_cfg small_cfg(void)
{
    kb_log_cfg c;
    kb_log_cfg_defaults(&c);
    c.index_interval_bytes = 100;
    c.segment_index_bytes = 4096;
    return c;
}

/* Appends batch @i (offsets base.., 1 + i % 3 records, values 10 + 7 * (i % 5) bytes). Returns
 * its size; *@last its last offset. */
static size_t seg_add(kb_segment *s, const kb_log_cfg *c, int64_t base, int i, int64_t ts, int64_t *last)
{
    kz_wr w = KZ_WR_INIT;
    int n = 1 + i % 3;
    size_t sz = tb_batch(&w, base, n, ts, 5, 10 + 7 * (size_t)(i % 5), (uint8_t)i);
    *last = base + n - 1;
    ck_assert_int_eq(kb_segment_append(s, c, w.base, w.len, *last, ts + 5 * (n - 1), *last), 0);
    kz_wr_free(&w);
    return sz;
}

START_TEST(t01_append_index)
{
    char dir[64], p[PATH_MAX];
    mktmp(dir);
    kb_log_cfg c = small_cfg();
    c.index_interval_bytes = 250; /* an entry every second or third batch */
    kb_segment *s;
    ck_assert_int_eq(kb_segment_open(&s, dir, 1000, &c, true, 0), 0);
    ck_assert_int_eq(tb_fsize(tb_seg(p, dir, 1000, ".index")), 4096);
    ck_assert_int_eq(tb_fsize(tb_seg(p, dir, 1000, ".timeindex")), 4092);

    int64_t exp_off[64], exp_pos[64], exp_ts[64], exp_toff[64];
    int nexp = 0, ntexp = 0;
    int64_t off = 1000, pos = 0, since = 0, max_ts = -1, max_off = -1;
    for (int i = 0; i < 40; i++) {
        int64_t ts = 5000 + (i % 7) * 100 + i; /* not monotonic */
        int64_t last;
        size_t sz = seg_add(s, &c, off, i, ts, &last);
        int64_t bmax = ts + 5 * (i % 3);
        if (bmax > max_ts) {
            max_ts = bmax;
            max_off = last;
        }
        if (since > 250) {
            exp_off[nexp] = last;
            exp_pos[nexp++] = pos;
            if (ntexp == 0 || max_ts > exp_ts[ntexp - 1]) {
                exp_ts[ntexp] = max_ts;
                exp_toff[ntexp++] = max_off;
            }
            since = 0;
        }
        since += (int64_t)sz;
        pos += (int64_t)sz;
        off = last + 1;
    }
    ck_assert_int_eq(kb_segment_size(s), pos);
    ck_assert_int_eq(kb_segment_next_offset(s), off);
    ck_assert_int_eq(kb_segment_max_ts(s), max_ts);
    ck_assert_int_eq(kb_segment_max_ts_offset(s), max_off);
    const kb_index *oi = kb_segment_offset_index(s), *ti = kb_segment_time_index(s);
    ck_assert_int_gt(nexp, 5);
    ck_assert_uint_eq(kb_index_entries(oi), (size_t)nexp);
    for (int k = 0; k < nexp; k++) {
        int64_t o;
        int32_t ps;
        kb_oindex_entry(oi, (size_t)k, &o, &ps);
        ck_assert_int_eq(o, exp_off[k]);
        ck_assert_int_eq(ps, exp_pos[k]);
    }
    ck_assert_uint_eq(kb_index_entries(ti), (size_t)ntexp);
    for (int k = 0; k < ntexp; k++) {
        int64_t t, o;
        kb_tindex_entry(ti, (size_t)k, &t, &o);
        ck_assert_int_eq(t, exp_ts[k]);
        ck_assert_int_eq(o, exp_toff[k]);
    }

    /* roll finalisation: last time entry, trimmed files */
    ck_assert_int_eq(kb_segment_deactivate(s), 0);
    int64_t t, o;
    kb_tindex_last(ti, &t, &o);
    ck_assert_int_eq(t, max_ts);
    ck_assert_int_eq(o, max_off);
    ck_assert_int_eq(tb_fsize(tb_seg(p, dir, 1000, ".index")), 8 * nexp);
    size_t n1, n2, m1, m2;
    uint8_t *oidx = tb_slurp(tb_seg(p, dir, 1000, ".index"), &n1);
    uint8_t *tidx = tb_slurp(tb_seg(p, dir, 1000, ".timeindex"), &n2);
    ck_assert_int_eq(tb_be32(oidx), (int32_t)(exp_off[0] - 1000));
    ck_assert_int_eq(tb_be32(oidx + 4), (int32_t)exp_pos[0]);

    /* a rebuild from the .log gives the same bytes */
    int64_t cut = -1;
    ck_assert_int_eq(kb_segment_recover(s, &cut), 0);
    ck_assert_int_eq(cut, 0);
    ck_assert_int_eq(kb_segment_next_offset(s), off);
    ck_assert_int_eq(kb_segment_max_ts(s), max_ts);
    kb_segment_unpin(s);
    uint8_t *oidx2 = tb_slurp(tb_seg(p, dir, 1000, ".index"), &m1);
    uint8_t *tidx2 = tb_slurp(tb_seg(p, dir, 1000, ".timeindex"), &m2);
    ck_assert_uint_eq(n1, m1);
    ck_assert_uint_eq(n2, m2);
    ck_assert_mem_eq(oidx, oidx2, n1);
    ck_assert_mem_eq(tidx, tidx2, n2);
    free(oidx);
    free(tidx);
    free(oidx2);
    free(tidx2);
    rmtree(dir);
}
END_TEST

START_TEST(t02_find_span)
{
    char dir[64];
    mktmp(dir);
    kb_log_cfg c = small_cfg();
    kb_segment *s;
    ck_assert_int_eq(kb_segment_open(&s, dir, 0, &c, true, 0), 0);
    int64_t starts[30], firsts[30], lasts[30], sizes[30], off = 0, pos = 0;
    for (int i = 0; i < 30; i++) {
        int64_t last;
        sizes[i] = (int64_t)seg_add(s, &c, off, i, 1000 + i, &last);
        starts[i] = pos;
        firsts[i] = off;
        lasts[i] = last;
        pos += sizes[i];
        off = last + 1;
    }
    for (int i = 0; i < 30; i++) {
        for (int64_t o = firsts[i]; o <= lasts[i]; o++) {
            int64_t fpos;
            kz_batch_hdr h;
            ck_assert_int_eq(kb_segment_find(s, o, &fpos, &h), 1);
            ck_assert_int_eq(fpos, starts[i]);
            ck_assert_int_eq(h.base_offset, firsts[i]);
        }
    }
    int64_t fpos;
    kz_batch_hdr h;
    ck_assert_int_eq(kb_segment_find(s, off, &fpos, &h), 0);
    ck_assert_int_eq(fpos, pos);

    int64_t len, next;
    /* exactly three batches fit */
    int32_t three = (int32_t)(sizes[5] + sizes[6] + sizes[7]);
    ck_assert_int_eq(kb_segment_span(s, starts[5], three, INT64_MAX, false, &len, &next), 0);
    ck_assert_int_eq(len, three);
    ck_assert_int_eq(next, lasts[7] + 1);
    ck_assert_int_eq(kb_segment_span(s, starts[5], three - 1, INT64_MAX, false, &len, &next), 0);
    ck_assert_int_eq(len, sizes[5] + sizes[6]);
    /* max_offset is exclusive and cuts at a batch */
    ck_assert_int_eq(kb_segment_span(s, starts[5], 1 << 20, lasts[8], false, &len, &next), 0);
    ck_assert_int_eq(len, sizes[5] + sizes[6] + sizes[7]);
    ck_assert_int_eq(kb_segment_span(s, starts[5], 1 << 20, lasts[8] + 1, false, &len, &next), 0);
    ck_assert_int_eq(len, sizes[5] + sizes[6] + sizes[7] + sizes[8]);
    /* min_one: a first batch larger than max_bytes comes whole */
    next = -7;
    ck_assert_int_eq(kb_segment_span(s, starts[5], 10, INT64_MAX, false, &len, &next), 0);
    ck_assert_int_eq(len, 0);
    ck_assert_int_eq(next, -7);
    ck_assert_int_eq(kb_segment_span(s, starts[5], 10, INT64_MAX, true, &len, &next), 0);
    ck_assert_int_eq(len, sizes[5]);
    ck_assert_int_eq(next, lasts[5] + 1);
    /* to the end */
    ck_assert_int_eq(kb_segment_span(s, starts[25], INT32_MAX, INT64_MAX, false, &len, &next), 0);
    ck_assert_int_eq(len, pos - starts[25]);
    ck_assert_int_eq(next, off);
    kb_segment_unpin(s);
    rmtree(dir);
}
END_TEST

START_TEST(t03_truncate)
{
    char dir[64];
    mktmp(dir);
    kb_log_cfg c = small_cfg();
    kb_segment *s;
    ck_assert_int_eq(kb_segment_open(&s, dir, 0, &c, true, 0), 0);
    int64_t starts[30], firsts[30], off = 0, pos = 0, maxts[30], mx = -1;
    for (int i = 0; i < 30; i++) {
        int64_t last;
        int64_t ts = 1000 + (i * 37) % 101;
        size_t sz = seg_add(s, &c, off, i, ts, &last);
        if (ts + 5 * (i % 3) > mx)
            mx = ts + 5 * (i % 3);
        maxts[i] = mx;
        starts[i] = pos;
        firsts[i] = off;
        pos += (int64_t)sz;
        off = last + 1;
    }
    /* an offset inside batch 20 cuts the file at its start */
    int64_t mid = firsts[20] + (firsts[21] - firsts[20] > 1 ? 1 : 0);
    ck_assert_int_eq(kb_segment_truncate_to(s, mid), pos - starts[20]);
    ck_assert_int_eq(kb_segment_size(s), starts[20]);
    ck_assert_int_eq(kb_segment_next_offset(s), firsts[20]);
    ck_assert_int_eq(kb_segment_max_ts(s), maxts[19]);
    const kb_index *oi = kb_segment_offset_index(s), *ti = kb_segment_time_index(s);
    for (size_t k = 0; k < kb_index_entries(oi); k++) {
        int64_t o;
        int32_t ps;
        kb_oindex_entry(oi, k, &o, &ps);
        ck_assert_int_lt(o, firsts[20]);
        ck_assert_int_lt(ps, starts[20]);
    }
    for (size_t k = 0; k < kb_index_entries(ti); k++) {
        int64_t t, o;
        kb_tindex_entry(ti, k, &t, &o);
        ck_assert_int_lt(o, firsts[20]);
    }
    ck_assert_int_eq(tb_fsize(kb_index_path(oi)) >= 0, 1);
    /* nothing at or after the end: no change */
    ck_assert_int_eq(kb_segment_truncate_to(s, firsts[20]), 0);
    ck_assert_int_eq(kb_segment_truncate_to(s, 0), starts[20]);
    ck_assert_int_eq(kb_segment_size(s), 0);
    ck_assert_int_eq(kb_segment_next_offset(s), 0);
    ck_assert_int_eq(kb_segment_max_ts(s), -1);
    ck_assert_uint_eq(kb_index_entries(oi), 0);
    ck_assert_uint_eq(kb_index_entries(ti), 0);
    kb_segment_unpin(s);
    rmtree(dir);
}
END_TEST

START_TEST(t04_find_ts)
{
    char dir[64];
    mktmp(dir);
    kb_log_cfg c = small_cfg();
    kb_segment *s;
    ck_assert_int_eq(kb_segment_open(&s, dir, 0, &c, true, 0), 0);
    /* batch A: offsets 0-4, ts 100,110,..,140; batch B: offsets 5-9, ts 50,60,..,90 (older);
     * batch C: offsets 10-14, LogAppendTime 500; batch D: gzip, offsets 15-19, ts 200..240 */
    kz_wr w = KZ_WR_INIT;
    tb_batch(&w, 0, 5, 100, 10, 20, 1);
    ck_assert_int_eq(kb_segment_append(s, &c, w.base, w.len, 4, 140, 4), 0);
    w.len = 0;
    tb_batch(&w, 5, 5, 50, 10, 20, 2);
    ck_assert_int_eq(kb_segment_append(s, &c, w.base, w.len, 9, 90, 9), 0);
    w.len = 0;
    size_t csz = tb_batch_attr(&w, 10, 5, 300, 1, 20, 3, 0x08);
    kz_store_be64(w.base + 35, 500); /* LogAppendTime: the batch max timestamp is every record's */
    kz_wr_patch_i32(&w, 17, (int32_t)kz_crc32c(0, w.base + 21, csz - 21));
    ck_assert_int_eq(kb_segment_append(s, &c, w.base, w.len, 14, 500, 14), 0);
    w.len = 0;
    /* gzip: build plain, then compress the records section */
    kz_wr plain = KZ_WR_INIT, z = KZ_WR_INIT;
    size_t psz = tb_batch(&plain, 15, 5, 200, 10, 20, 4);
    kz_wr_bytes(&z, plain.base, 61);
    ck_assert_int_eq(kz_compress(KZ_CODEC_GZIP, plain.base + 61, psz - 61, 0, &z), 0);
    kz_store_be16(z.base + 21, 1);
    kz_wr_patch_i32(&z, 8, (int32_t)(z.len - 12));
    kz_wr_patch_i32(&z, 17, (int32_t)kz_crc32c(0, z.base + 21, z.len - 21));
    ck_assert_int_eq(kb_segment_append(s, &c, z.base, z.len, 19, 240, 19), 0);

    static const struct {
        int64_t ts, start, off, found;
    } cases[] = {
        { 0, 0, 0, 100 },     /* before everything: the first record */
        { 100, 0, 0, 100 },
        { 101, 0, 1, 110 },
        { 140, 0, 4, 140 },
        { 141, 0, 10, 500 },  /* B is older than 141; C carries 500 */
        { 80, 0, 0, 100 },    /* A's first record already qualifies */
        { 80, 5, 8, 80 },     /* from offset 5 on: B's record at 80 */
        { 499, 0, 10, 500 },
        { 500, 11, 11, 500 }, /* LogAppendTime records from the start offset */
        { 501, 0, -1, -1 },   /* nothing that late */
        { 215, 15, 17, 220 }, /* inside the gzip batch */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t off = -1, found = -1;
        int rc = kb_segment_find_ts(s, cases[i].ts, cases[i].start, &off, &found);
        ck_assert_int_eq(rc, cases[i].off >= 0 ? 1 : 0);
        if (rc == 1) {
            ck_assert_int_eq(off, cases[i].off);
            ck_assert_int_eq(found, cases[i].found);
        }
    }
    kz_wr_free(&w);
    kz_wr_free(&plain);
    kz_wr_free(&z);
    kb_segment_unpin(s);
    rmtree(dir);
}
END_TEST

/* A magic-1 message: offset, size, crc, magic 1, attributes 0, timestamp, null key, value. */
static size_t legacy_v1(kz_wr *w, int64_t off, int64_t ts, const char *val)
{
    size_t start = w->len, vl = strlen(val);
    kz_wr_i64(w, off);
    kz_wr_i32(w, (int32_t)(4 + 1 + 1 + 8 + 4 + 4 + vl));
    kz_wr_i32(w, 0);
    kz_wr_u8(w, 1);
    kz_wr_u8(w, 0);
    kz_wr_i64(w, ts);
    kz_wr_i32(w, -1);
    kz_wr_i32(w, (int32_t)vl);
    kz_wr_bytes(w, val, vl);
    uLong crc = crc32(0L, w->base + start + 16, (uInt)(w->len - start - 16));
    kz_wr_patch_i32(w, start + 12, (int32_t)crc);
    return w->len - start;
}

START_TEST(t05_legacy)
{
    char dir[64], p[PATH_MAX];
    mktmp(dir);
    kb_log_cfg c = small_cfg();
    kz_wr w = KZ_WR_INIT;
    size_t a = legacy_v1(&w, 0, 1000, "one");
    size_t b = legacy_v1(&w, 1, 2000, "two");
    legacy_v1(&w, 2, 1500, "three");
    w.base[w.len - 1] ^= 0x20; /* the third one's CRC no longer matches */
    tb_spit(tb_seg(p, dir, 0, ".log"), w.base, w.len);
    kb_segment *s;
    ck_assert_int_eq(kb_segment_open(&s, dir, 0, &c, false, 0), 0);
    ck_assert(kb_segment_needs_recovery(s));
    int64_t cut;
    ck_assert_int_eq(kb_segment_recover(s, &cut), 0);
    ck_assert_int_eq(cut, (int64_t)(w.len - a - b));
    ck_assert_int_eq(kb_segment_size(s), (int64_t)(a + b));
    ck_assert_int_eq(kb_segment_next_offset(s), 2);
    ck_assert_int_eq(kb_segment_max_ts(s), 2000);
    ck_assert_int_eq(kb_segment_max_ts_offset(s), 1);
    int64_t pos, off, ts;
    kz_batch_hdr h;
    ck_assert_int_eq(kb_segment_find(s, 1, &pos, &h), 1);
    ck_assert_int_eq(pos, (int64_t)a);
    ck_assert_int_eq(kb_segment_find_ts(s, 1500, 0, &off, &ts), 1);
    ck_assert_int_eq(off, 1);
    ck_assert_int_eq(ts, 2000);
    kb_segment_unpin(s);
    ck_assert_int_eq(tb_fsize(p), (int64_t)(a + b));
    kz_wr_free(&w);
    rmtree(dir);
}
END_TEST

START_TEST(t06_load)
{
    char dir[64], p[PATH_MAX];
    mktmp(dir);
    kb_log_cfg c = small_cfg();
    kb_segment *s;
    ck_assert_int_eq(kb_segment_open(&s, dir, 50, &c, true, 0), 0);
    int64_t off = 50, last = 0;
    for (int i = 0; i < 12; i++) {
        seg_add(s, &c, off, i, 100 + i, &last);
        off = last + 1;
    }
    int64_t size = kb_segment_size(s);
    ck_assert_int_eq(kb_segment_deactivate(s), 0);
    kb_segment_unpin(s);

    /* a clean load finds the end offset and the max timestamp from the indexes and the tail */
    ck_assert_int_eq(kb_segment_open(&s, dir, 50, &c, false, 0), 0);
    ck_assert(!kb_segment_needs_recovery(s));
    ck_assert_int_eq(kb_segment_load(s), 0);
    ck_assert_int_eq(kb_segment_next_offset(s), off);
    ck_assert_int_eq(kb_segment_max_ts(s), 111 + 5 * (11 % 3));
    ck_assert_int_eq(kb_segment_size(s), size);
    kb_segment_unpin(s);

    /* garbage after the last batch: the tail walk reports it */
    int fd = open(tb_seg(p, dir, 50, ".log"), O_WRONLY | O_APPEND);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "\0\0\0\0\0\0\0\x40\0\0\0\x30", 12), 12);
    close(fd);
    ck_assert_int_eq(kb_segment_open(&s, dir, 50, &c, false, 0), 0);
    ck_assert_int_eq(kb_segment_load(s), KB_LOG_ECORRUPT);
    int64_t cut;
    ck_assert_int_eq(kb_segment_recover(s, &cut), 0);
    ck_assert_int_eq(cut, 12);
    ck_assert_int_eq(kb_segment_next_offset(s), off);
    kb_segment_unpin(s);

    /* a missing time index asks for a rebuild */
    ck_assert_int_eq(unlink(tb_seg(p, dir, 50, ".timeindex")), 0);
    ck_assert_int_eq(kb_segment_open(&s, dir, 50, &c, false, 0), 0);
    ck_assert(kb_segment_needs_recovery(s));
    kb_segment_unpin(s);
    rmtree(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("log_segment");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, t01_append_index);
    tcase_add_test(tc, t02_find_span);
    tcase_add_test(tc, t03_truncate);
    tcase_add_test(tc, t04_find_ts);
    tcase_add_test(tc, t05_legacy);
    tcase_add_test(tc, t06_load);
    suite_add_tcase(s, tc);
    return ut_run(s);
}
