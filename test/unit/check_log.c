/* test/unit/check_log.c -- one partition's log (broker/kb_log.c).
 *
 *  01 append assigns offsets and epochs in place; bytes on disk; reads
 *  02 roll by size: names, trimmed and preallocated indexes, oversized appends refused
 *  03 roll by time: by batch timestamps, by creation time without timestamps
 *  04 close + reopen: same LEO, data and index bytes
 *  05 recovery of a .log cut at every byte offset: ends at the last whole batch, indexes as
 *     a log that only ever had those batches, appends continue at the right offset
 *  06 recovery across segments: from the recovery point on; later segments deleted after a cut
 *  07 a flipped byte in the CRC range of the last batch truncates it; not in the epoch
 *  08 missing or inconsistent index files are rebuilt byte-identical
 *  09 retention by time: .deleted files and their delay, rolling when all expire, HW bound
 *  10 retention by size
 *  11 DeleteRecords: log start offset, segments below it, bounds
 *  12 truncate_to: at a boundary, inside a batch, below the first segment
 *  13 offset for time across segments, earliest and latest
 *  14 a pinned segment stays readable after retention deleted it
 *  15 follower appends: offsets kept, order checked, gaps, roll on relative-offset overflow
 *  16 malformed input appends nothing
 *  17 flush.messages and flush of rolled segments move the recovery point */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kb_log.h"
#include "kb_log_test.h"
#include "kz_log.h"
#include "kz_time.h"

static void mktmp(char *buf) { mktmp_prefix(buf, "kb_log_"); }

/* Appends one batch of @n records (timestamps @ts, @ts+1, ..) as the leader. */
static kb_log_append_info app(kb_log *log, int n, int64_t ts, size_t vlen, uint8_t fill)
{
    kz_wr w = KZ_WR_INIT;
    tb_batch(&w, 0, n, ts, 1, vlen, fill);
    kb_log_append_info info;
    ck_assert_int_eq(kb_log_append(log, w.base, w.len, 3, ts + n, &info), 0);
    kz_wr_free(&w);
    return info;
}

/* The bytes a read returned. */
static uint8_t *read_bytes(const kb_log_read_info *ri)
{
    uint8_t *b = malloc((size_t)ri->len + 1);
    ck_assert_ptr_nonnull(b);
    tb_pread(ri->fd, b, (size_t)ri->len, ri->pos);
    return b;
}

static int count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    int n = 0;
    size_t sl = strlen(suffix);
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l > sl && !strcmp(de->d_name + l - sl, suffix))
            n++;
    }
    closedir(d);
    return n;
}

START_TEST(t01_append_read)
{
    char dir[64], p[PATH_MAX];
    mktmp(dir);
    kb_log_cfg c = tb_log_cfg();
    kb_log *log;
    ck_assert_int_eq(kb_log_open(&log, dir, "orders", 3, &c, 0, 0, true), 0);
    snprintf(p, sizeof p, "%s/orders-3", dir);
    ck_assert_str_eq(kb_log_dir(log), p);
    ck_assert_int_eq(tb_fsize(tb_seg(p, kb_log_dir(log), 0, ".log")), 0);
    ck_assert_int_eq(tb_fsize(tb_seg(p, kb_log_dir(log), 0, ".index")), 1024);
    ck_assert_int_eq(tb_fsize(tb_seg(p, kb_log_dir(log), 0, ".timeindex")), 1020);
    ck_assert_int_eq(kb_log_end_offset(log), 0);

    kz_wr w = KZ_WR_INIT;
    size_t s1 = tb_batch(&w, 0, 3, 1000, 10, 8, 'a');
    size_t s2 = tb_batch(&w, 0, 2, 900, 10, 8, 'b');
    size_t s3 = tb_batch(&w, 0, 4, 1100, 10, 8, 'c');
    uint32_t crc2 = (uint32_t)tb_be32(w.base + s1 + 17);
    kb_log_append_info info;
    ck_assert_int_eq(kb_log_append(log, w.base, s1, 7, 5000, &info), 0);
    ck_assert_int_eq(info.first_offset, 0);
    ck_assert_int_eq(info.last_offset, 2);
    ck_assert_int_eq(info.max_ts, 1020);
    ck_assert_int_eq(info.max_ts_offset, 2);
    ck_assert_int_eq(info.log_append_time, -1);
    ck_assert_int_eq(info.batches, 1);
    ck_assert_int_eq(tb_be32(w.base + 12), 7); /* epoch written in place */
    /* two batches with one write */
    ck_assert_int_eq(kb_log_append(log, w.base + s1, s2 + s3, 8, 5000, &info), 0);
    ck_assert_int_eq(info.first_offset, 3);
    ck_assert_int_eq(info.last_offset, 8);
    ck_assert_int_eq(info.max_ts, 1130);
    ck_assert_int_eq(info.max_ts_offset, 8);
    ck_assert_int_eq(info.batches, 2);
    ck_assert_int_eq(tb_be64(w.base + s1), 3);
    ck_assert_int_eq(tb_be64(w.base + s1 + s2), 5);
    ck_assert_int_eq(tb_be32(w.base + s1 + 12), 8);
    ck_assert_uint_eq((uint32_t)tb_be32(w.base + s1 + 17), crc2); /* outside the CRC */
    ck_assert_int_eq(kb_log_end_offset(log), 9);
    ck_assert_int_eq(kb_log_size(log), (int64_t)w.len);

    size_t n;
    uint8_t *file = tb_slurp(tb_seg(p, kb_log_dir(log), 0, ".log"), &n);
    ck_assert_uint_eq(n, w.len);
    ck_assert_mem_eq(file, w.base, n);
    free(file);

    kb_log_read_info ri;
    ck_assert_int_eq(kb_log_read(log, 0, 1 << 20, INT64_MAX, false, &ri), 0);
    ck_assert_int_eq(ri.pos, 0);
    ck_assert_int_eq(ri.len, (int64_t)w.len);
    ck_assert_int_eq(ri.first_offset, 0);
    ck_assert_int_eq(ri.next_offset, 9);
    uint8_t *b = read_bytes(&ri);
    ck_assert_mem_eq(b, w.base, w.len);
    free(b);
    ck_assert_int_eq(kb_log_read(log, 4, 1 << 20, INT64_MAX, false, &ri), 0);
    ck_assert_int_eq(ri.pos, (int64_t)s1);
    ck_assert_int_eq(ri.first_offset, 3);
    ck_assert_int_eq(kb_log_read(log, 5, (int32_t)s3 - 1, INT64_MAX, false, &ri), 0);
    ck_assert_int_eq(ri.len, 0);
    ck_assert_int_eq(ri.next_offset, 5);
    ck_assert_int_eq(kb_log_read(log, 5, (int32_t)s3 - 1, INT64_MAX, true, &ri), 0);
    ck_assert_int_eq(ri.len, (int64_t)s3);
    ck_assert_int_eq(kb_log_read(log, 0, 1 << 20, 5, false, &ri), 0); /* high watermark 5 */
    ck_assert_int_eq(ri.len, (int64_t)(s1 + s2));
    ck_assert_int_eq(ri.next_offset, 5);
    ck_assert_int_eq(kb_log_read(log, 9, 1 << 20, INT64_MAX, false, &ri), 0);
    ck_assert_int_eq(ri.len, 0);
    ck_assert_int_eq(ri.leo, 9);
    ck_assert_int_eq(kb_log_read(log, 10, 1 << 20, INT64_MAX, false, &ri), KB_LOG_EOFFSET);
    ck_assert_int_eq(kb_log_read(log, -1, 1 << 20, INT64_MAX, false, &ri), KB_LOG_EOFFSET);

    /* LogAppendTime batches report the append time */
    w.len = 0;
    tb_batch_attr(&w, 0, 1, 1, 0, 4, 'd', 0x08);
    ck_assert_int_eq(kb_log_append(log, w.base, w.len, 8, 123456, &info), 0);
    ck_assert_int_eq(info.log_append_time, 123456);
    ck_assert_int_eq(info.first_offset, 9);
    kz_wr_free(&w);
    kb_log_close(log);
    rmtree(dir);
}
END_TEST

START_TEST(t02_roll_size)
{
    char dir[64], p[PATH_MAX];
    mktmp(dir);
    kb_log_cfg c = tb_log_cfg();
    c.segment_bytes = 1000;
    kb_log *log;
    ck_assert_int_eq(kb_log_open(&log, dir, "t", 0, &c, 0, 0, true), 0);
    int64_t expected_bases[16];
    int nb = 1;
    expected_bases[0] = 0;
    int64_t seg_size = 0;
    for (int i = 0; i < 20; i++) {
        kz_wr w = KZ_WR_INIT;
        size_t sz = tb_batch(&w, 0, 2, 100 + i, 1, 60, (uint8_t)i);
        int64_t leo = kb_log_end_offset(log);
        kb_log_append_info info;
        ck_assert_int_eq(kb_log_append(log, w.base, w.len, 0, 0, &info), 0);
        if (seg_size + (int64_t)sz > 1000) {
            ck_assert(info.rolled);
            expected_bases[nb++] = leo;
            seg_size = 0;
        } else {
            ck_assert(!info.rolled);
        }
        seg_size += (int64_t)sz;
        kz_wr_free(&w);
    }
    ck_assert_uint_eq(kb_log_num_segments(log), (size_t)nb);
    for (int i = 0; i < nb; i++) {
        kb_segment *s = kb_log_segment_at(log, (size_t)i);
        ck_assert_int_eq(kb_segment_base(s), expected_bases[i]);
        ck_assert_int_le(kb_segment_size(s), 1000);
        ck_assert_int_eq(tb_fsize(tb_seg(p, kb_log_dir(log), expected_bases[i], ".log")), kb_segment_size(s));
        int64_t isz = tb_fsize(tb_seg(p, kb_log_dir(log), expected_bases[i], ".index"));
        int64_t tsz = tb_fsize(tb_seg(p, kb_log_dir(log), expected_bases[i], ".timeindex"));
        if (i < nb - 1) { /* rolled: trimmed to the entries */
            ck_assert_int_eq(isz, 8 * (int64_t)kb_index_entries(kb_segment_offset_index(s)));
            ck_assert_int_eq(tsz, 12 * (int64_t)kb_index_entries(kb_segment_time_index(s)));
            ck_assert_int_gt(tsz, 0);
        } else {
            ck_assert_int_eq(isz, 1024);
            ck_assert_int_eq(tsz, 1020);
        }
    }
    ck_assert_int_eq(count_files(kb_log_dir(log), ".log"), nb);
    /* reads cross segment boundaries one segment at a time */
    kb_log_read_info ri;
    ck_assert_int_eq(kb_log_read(log, expected_bases[1] - 1, 1 << 20, INT64_MAX, false, &ri), 0);
    ck_assert_ptr_eq(ri.seg, kb_log_segment_at(log, 0));
    ck_assert_int_eq(ri.next_offset, expected_bases[1]);
    ck_assert_int_eq(kb_log_read(log, expected_bases[1], 1 << 20, INT64_MAX, false, &ri), 0);
    ck_assert_ptr_eq(ri.seg, kb_log_segment_at(log, 1));
    ck_assert_int_eq(ri.pos, 0);

    /* an append larger than a segment is refused and leaves nothing */
    int64_t before = kb_log_size(log), leo = kb_log_end_offset(log);
    kz_wr w = KZ_WR_INIT;
    tb_batch(&w, 0, 1, 1, 0, 1000, 'x');
    kb_log_append_info info;
    ck_assert_int_eq(kb_log_append(log, w.base, w.len, 0, 0, &info), KB_LOG_ETOOBIG);
    ck_assert_int_eq(kb_log_size(log), before);
    ck_assert_int_eq(kb_log_end_offset(log), leo);
    kz_wr_free(&w);
    kb_log_close(log);
    rmtree(dir);
}
END_TEST

START_TEST(t03_roll_time)
{
    char dir[64];
    mktmp(dir);
    kb_log_cfg c = tb_log_cfg();
    c.segment_ms = 1000;
    kb_log *log;
    ck_assert_int_eq(kb_log_open(&log, dir, "t", 0, &c, 0, 0, true), 0);
    kb_log_append_info i1 = app(log, 1, 10000, 4, 'a'); /* first batch max ts 10000 */
    ck_assert(!i1.rolled);
    kb_log_append_info i2 = app(log, 1, 10999, 4, 'b');
    ck_assert(!i2.rolled);
    kb_log_append_info i3 = app(log, 1, 11000, 4, 'c'); /* 1000 later: not more than segment.ms */
    ck_assert(!i3.rolled);
    kb_log_append_info i4 = app(log, 1, 11001, 4, 'd');
    ck_assert(i4.rolled);
    ck_assert_uint_eq(kb_log_num_segments(log), 2);
    ck_assert_int_eq(kb_segment_base(kb_log_segment_at(log, 1)), 3);
    /* the new segment measures from its own first batch */
    ck_assert(!app(log, 1, 11900, 4, 'e').rolled);
    ck_assert(app(log, 1, 12002, 4, 'f').rolled);
    ck_assert_uint_eq(kb_log_num_segments(log), 3);

    /* a batch without timestamp never rolls a segment whose first batch has one */
    kz_wr w = KZ_WR_INIT;
    tb_batch(&w, 0, 1, -1, 0, 4, 'g');
    kb_log_append_info info;
    ck_assert_int_eq(kb_log_append(log, w.base, w.len, 0, kz_wall_ms() + 100000, &info), 0);
    ck_assert(!info.rolled);
    kb_log_close(log);

    /* without timestamps the creation time counts, against the append's now */
    ck_assert_int_eq(kb_log_open(&log, dir, "u", 0, &c, 0, 0, true), 0);
    int64_t now = kz_wall_ms();
    w.len = 0;
    tb_batch(&w, 0, 1, -1, 0, 4, 'g');
    ck_assert_int_eq(kb_log_append(log, w.base, w.len, 0, now + 100000, &info), 0);
    ck_assert(!info.rolled); /* an empty segment never rolls by time */
    w.len = 0;
    tb_batch(&w, 0, 1, -1, 0, 4, 'h');
    ck_assert_int_eq(kb_log_append(log, w.base, w.len, 0, now + 500, &info), 0);
    ck_assert(!info.rolled);
    w.len = 0;
    tb_batch(&w, 0, 1, -1, 0, 4, 'i');
    ck_assert_int_eq(kb_log_append(log, w.base, w.len, 0, now + 5000, &info), 0);
    ck_assert(info.rolled);
    ck_assert_uint_eq(kb_log_num_segments(log), 2);
    kz_wr_free(&w);
    kb_log_close(log);
    rmtree(dir);
}
END_TEST

/* Builds a log of @nbatches one-batch appends with rolls at @segbytes. */
static void build_log(const char *dir, int nbatches, int32_t segbytes, int64_t *ends)
{
    kb_log_cfg c = tb_log_cfg();
    c.segment_bytes = segbytes;
    kb_log *log;
    ck_assert_int_eq(kb_log_open(&log, dir, "t", 0, &c, 0, 0, true), 0);
    for (int i = 0; i < nbatches; i++) {
        app(log, 1 + i % 4, 1000 + 10 * i, 5 + (size_t)(i * 13) % 40, (uint8_t)i);
        if (ends)
            ends[i] = kb_log_size(log);
    }
    kb_log_close(log);
}

/* The bytes of file <dir>/t-0/<base><suffix>. */
static uint8_t *seg_file(const char *dir, int64_t base, const char *suffix, size_t *n)
{
    char pd[PATH_MAX], p[PATH_MAX];
    snprintf(pd, sizeof pd, "%s/t-0", dir);
    uint8_t *b = tb_slurp(tb_seg(p, pd, base, suffix), n);
    ck_assert_ptr_nonnull(b);
    return b;
}

START_TEST(t04_reopen)
{
    char dir[64];
    mktmp(dir);
    build_log(dir, 30, 900, NULL);
    kb_log_cfg c = tb_log_cfg();
    c.segment_bytes = 900;
    kb_log *log;
    ck_assert_int_eq(kb_log_open(&log, dir, "t", 0, &c, 0, 0, true), 0);
    size_t nseg = kb_log_num_segments(log);
    ck_assert_uint_gt(nseg, 3);
    int64_t leo = kb_log_end_offset(log), size = kb_log_size(log);
    int64_t bases[64];
    uint8_t *idx[64], *tidx[64];
    size_t ilen[64], tlen[64];
    for (size_t i = 0; i < nseg; i++)
        bases[i] = kb_segment_base(kb_log_segment_at(log, i));
    kb_log_read_info ri;
    ck_assert_int_eq(kb_log_read(log, bases[1], 1 << 20, INT64_MAX, false, &ri), 0);
    uint8_t *before = read_bytes(&ri);
    int64_t before_len = ri.len;
    kb_log_close(log);
    for (size_t i = 0; i < nseg; i++) {
        idx[i] = seg_file(dir, bases[i], ".index", &ilen[i]);
        tidx[i] = seg_file(dir, bases[i], ".timeindex", &tlen[i]);
    }

    ck_assert_int_eq(kb_log_open(&log, dir, "t", 0, &c, leo, 0, true), 0);
    ck_assert_int_eq(kb_log_end_offset(log), leo);
    ck_assert_int_eq(kb_log_size(log), size);
    ck_assert_int_eq(kb_log_recovery_point(log), leo);
    ck_assert_uint_eq(kb_log_num_segments(log), nseg);
    ck_assert_int_eq(kb_log_read(log, bases[1], 1 << 20, INT64_MAX, false, &ri), 0);
    ck_assert_int_eq(ri.len, before_len);
    uint8_t *after = read_bytes(&ri);
    ck_assert_mem_eq(before, after, (size_t)before_len);
    /* the active segment's indexes are preallocated again */
    char p[PATH_MAX];
    ck_assert_int_eq(tb_fsize(tb_seg(p, kb_log_dir(log), bases[nseg - 1], ".index")), 1024);
    kb_log_append_info info = app(log, 2, 5000, 10, 'z');
    ck_assert_int_eq(info.first_offset, leo);
    kb_log_close(log);
    /* closed segments' index files did not change */
    for (size_t i = 0; i + 1 < nseg; i++) {
        size_t n;
        uint8_t *b = seg_file(dir, bases[i], ".index", &n);
        ck_assert_uint_eq(n, ilen[i]);
        ck_assert_mem_eq(b, idx[i], n);
        free(b);
        b = seg_file(dir, bases[i], ".timeindex", &n);
        ck_assert_uint_eq(n, tlen[i]);
        ck_assert_mem_eq(b, tidx[i], n);
        free(b);
    }
    for (size_t i = 0; i < nseg; i++) {
        free(idx[i]);
        free(tidx[i]);
    }
    free(before);
    free(after);
    rmtree(dir);
}
END_TEST

START_TEST(t05_recover_every_cut)
{
    enum { NB = 9 };
    char ref[64], work[64], p[PATH_MAX];
    mktmp(ref);
    int64_t ends[NB];
    build_log(ref, NB, 1 << 20, ends);
    size_t loglen, ilen, tlen;
    uint8_t *logb = seg_file(ref, 0, ".log", &loglen);
    uint8_t *idxb = seg_file(ref, 0, ".index", &ilen);
    uint8_t *tidxb = seg_file(ref, 0, ".timeindex", &tlen);
    ck_assert_int_eq((int64_t)loglen, ends[NB - 1]);
    ck_assert_uint_gt(ilen, 8); /* the reference has index entries to go stale */
    /* reference indexes of the logs made of the first k batches */
    uint8_t *ridx[NB + 1], *rtidx[NB + 1];
    size_t rilen[NB + 1], rtlen[NB + 1];
    int64_t leo_k[NB + 1];
    for (int k = 0; k <= NB; k++) {
        char d[64];
        mktmp(d);
        build_log(d, k, 1 << 20, NULL);
        ridx[k] = seg_file(d, 0, ".index", &rilen[k]);
        rtidx[k] = seg_file(d, 0, ".timeindex", &rtlen[k]);
        leo_k[k] = 0;
        for (int i = 0; i < k; i++)
            leo_k[k] += 1 + i % 4;
        rmtree(d);
    }
    kb_log_cfg c = tb_log_cfg();
    for (size_t cut = 0; cut <= loglen; cut++) {
        int k = 0;
        while (k < NB && ends[k] <= (int64_t)cut)
            k++;
        int64_t valid = k ? ends[k - 1] : 0;
        mktmp(work);
        snprintf(p, sizeof p, "%s/t-0", work);
        ck_assert_int_eq(mkdir(p, 0755), 0);
        char f[PATH_MAX];
        tb_spit(tb_seg(f, p, 0, ".log"), logb, cut);
        tb_spit(tb_seg(f, p, 0, ".index"), idxb, ilen);     /* stale, as after a crash */
        tb_spit(tb_seg(f, p, 0, ".timeindex"), tidxb, tlen);
        kb_log *log;
        ck_assert_int_eq(kb_log_open(&log, work, "t", 0, &c, 0, 0, false), 0);
        ck_assert_int_eq(kb_log_end_offset(log), leo_k[k]);
        ck_assert_int_eq(kb_log_size(log), valid);
        ck_assert_int_eq(tb_fsize(tb_seg(f, p, 0, ".log")), valid);
        ck_assert_int_eq(kb_log_recovery_point(log), 0);
        kb_log_close(log);
        size_t n;
        uint8_t *b = tb_slurp(tb_seg(f, p, 0, ".index"), &n);
        ck_assert_uint_eq(n, rilen[k]);
        ck_assert(n == 0 || memcmp(b, ridx[k], n) == 0);
        free(b);
        b = tb_slurp(tb_seg(f, p, 0, ".timeindex"), &n);
        ck_assert_uint_eq(n, rtlen[k]);
        ck_assert(n == 0 || memcmp(b, rtidx[k], n) == 0);
        free(b);
        /* appends continue right after the last whole batch */
        ck_assert_int_eq(kb_log_open(&log, work, "t", 0, &c, leo_k[k], 0, true), 0);
        kb_log_append_info info = app(log, 2, 7777, 6, 'n');
        ck_assert_int_eq(info.first_offset, leo_k[k]);
        kb_log_read_info ri;
        ck_assert_int_eq(kb_log_read(log, leo_k[k], 1 << 20, INT64_MAX, false, &ri), 0);
        ck_assert_int_eq(ri.pos, valid);
        ck_assert_int_eq(ri.next_offset, leo_k[k] + 2);
        if (k > 0) {
            ck_assert_int_eq(kb_log_read(log, 0, 1 << 20, INT64_MAX, false, &ri), 0);
            uint8_t *rb = read_bytes(&ri);
            ck_assert_mem_eq(rb, logb, (size_t)valid);
            free(rb);
        }
        kb_log_close(log);
        rmtree(work);
    }
    for (int k = 0; k <= NB; k++) {
        free(ridx[k]);
        free(rtidx[k]);
    }
    free(logb);
    free(idxb);
    free(tidxb);
    rmtree(ref);
}
END_TEST

/* Flips one byte of <dir>/t-0/<base>.log at @off. */
static void flip(const char *dir, int64_t base, int64_t off)
{
    char pd[PATH_MAX], p[PATH_MAX];
    snprintf(pd, sizeof pd, "%s/t-0", dir);
    int fd = open(tb_seg(p, pd, base, ".log"), O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint8_t b;
    tb_pread(fd, &b, 1, off);
    b ^= 0x01;
    ck_assert_int_eq(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

START_TEST(t06_recover_segments)
{
    char dir[64], p[PATH_MAX];
    mktmp(dir);
    build_log(dir, 30, 800, NULL);
    kb_log_cfg c = tb_log_cfg();
    c.segment_bytes = 800;
    kb_log *log;
    ck_assert_int_eq(kb_log_open(&log, dir, "t", 0, &c, 0, 0, true), 0);
    size_t nseg = kb_log_num_segments(log);
    ck_assert_uint_ge(nseg, 4);
    int64_t bases[64], leo = kb_log_end_offset(log);
    for (size_t i = 0; i < nseg; i++)
        bases[i] = kb_segment_base(kb_log_segment_at(log, i));
    /* second batch of segment 1 */
    kb_log_read_info ri;
    ck_assert_int_eq(kb_log_read(log, bases[1], 1, INT64_MAX, true, &ri), 0);
    int64_t second = ri.len, second_off = ri.next_offset;
    kb_log_close(log);

    /* a bad CRC in segment 1, recovery point in segment 2: flushed data is trusted */
    flip(dir, bases[1], second + 30);
    ck_assert_int_eq(kb_log_open(&log, dir, "t", 0, &c, bases[2] + 1, 0, false), 0);
    ck_assert_int_eq(kb_log_end_offset(log), leo);
    ck_assert_uint_eq(kb_log_num_segments(log), nseg);
    kb_log_close(log);

    /* recovery point in segment 1: cut there, later segments deleted */
    ck_assert_int_eq(kb_log_open(&log, dir, "t", 0, &c, bases[1], 0, false), 0);
    ck_assert_int_eq(kb_log_end_offset(log), second_off);
    ck_assert_uint_eq(kb_log_num_segments(log), 2);
    ck_assert_int_eq(kb_segment_size(kb_log_segment_at(log, 1)), second);
    ck_assert_int_eq(kb_log_recovery_point(log), bases[1]);
    snprintf(p, sizeof p, "%s", kb_log_dir(log));
    ck_assert_int_eq(count_files(p, ".log"), 2);
    ck_assert_int_eq(count_files(p, ".index"), 2);
    ck_assert_int_eq(count_files(p, ".timeindex"), 2);
    /* the active segment is segment 1 again, preallocated */
    char f[PATH_MAX];
    ck_assert_int_eq(tb_fsize(tb_seg(f, p, bases[1], ".index")), 1024);
    ck_assert_int_eq(app(log, 1, 1, 1, 'q').first_offset, second_off);
    kb_log_close(log);
    rmtree(dir);
}
END_TEST

START_TEST(t07_flip_crc)
{
    char ref[64], work[64], p[PATH_MAX], f[PATH_MAX];
    mktmp(ref);
    int64_t ends[4];
    build_log(ref, 4, 1 << 20, ends);
    size_t loglen;
    uint8_t *logb = seg_file(ref, 0, ".log", &loglen);
    kb_log_cfg c = tb_log_cfg();
    int64_t last_start = ends[2], leo3 = 1 + 2 + 3; /* batches of 1, 2, 3, 4 records */
    for (int64_t i = last_start + 12; i < (int64_t)loglen; i++) {
        if (i == last_start + 16)
            continue; /* the magic byte: a different format, not a CRC matter */
        mktmp(work);
        snprintf(p, sizeof p, "%s/t-0", work);
        ck_assert_int_eq(mkdir(p, 0755), 0);
        logb[i] ^= 0x40;
        tb_spit(tb_seg(f, p, 0, ".log"), logb, loglen);
        logb[i] ^= 0x40;
        kb_log *log;
        ck_assert_int_eq(kb_log_open(&log, work, "t", 0, &c, 0, 0, false), 0);
        if (i < last_start + 16) { /* partitionLeaderEpoch: not covered by the CRC */
            ck_assert_int_eq(kb_log_end_offset(log), leo3 + 4);
            ck_assert_int_eq(kb_log_size(log), (int64_t)loglen);
        } else {
            ck_assert_int_eq(kb_log_end_offset(log), leo3);
            ck_assert_int_eq(kb_log_size(log), last_start);
        }
        kb_log_close(log);
        rmtree(work);
    }
    free(logb);
    rmtree(ref);
}
END_TEST

START_TEST(t08_index_rebuild)
{
    char dir[64], p[PATH_MAX];
    mktmp(dir);
    build_log(dir, 30, 900, NULL);
    kb_log_cfg c = tb_log_cfg();
    c.segment_bytes = 900;
    kb_log *log;
    ck_assert_int_eq(kb_log_open(&log, dir, "t", 0, &c, 0, 0, true), 0);
    int64_t b0 = kb_segment_base(kb_log_segment_at(log, 0)), b1 = kb_segment_base(kb_log_segment_at(log, 1));
    int64_t b2 = kb_segment_base(kb_log_segment_at(log, 2));
    snprintf(p, sizeof p, "%s", kb_log_dir(log));
    kb_log_close(log);
    size_t n0, n1, n2, t2;
    uint8_t *i0 = seg_file(dir, b0, ".index", &n0), *i1 = seg_file(dir, b1, ".index", &n1);
    uint8_t *i2 = seg_file(dir, b2, ".index", &n2), *ti2 = seg_file(dir, b2, ".timeindex", &t2);
    ck_assert_uint_gt(n1, 8);
    char f[PATH_MAX];
    /* segment 0: index gone; segment 1: a partial entry; segment 2: entries past the log */
    ck_assert_int_eq(unlink(tb_seg(f, p, b0, ".index")), 0);
    uint8_t *junk = malloc(n1 + 3);
    memcpy(junk, i1, n1);
    memset(junk + n1, 0x11, 3);
    tb_spit(tb_seg(f, p, b1, ".index"), junk, n1 + 3);
    free(junk);
    uint8_t far[8] = { 0, 0, 0x7f, 0, 0, 0x7f, 0, 0 };
    uint8_t *i2b = malloc(n2 + 8);
    memcpy(i2b, i2, n2);
    memcpy(i2b + n2, far, 8);
    tb_spit(tb_seg(f, p, b2, ".index"), i2b, n2 + 8);
    ck_assert_int_eq(unlink(tb_seg(f, p, b2, ".timeindex")), 0);
    ck_assert_int_eq(kb_log_open(&log, dir, "t", 0, &c, 0, 0, true), 0);
    kb_log_close(log);
    size_t m;
    uint8_t *b = seg_file(dir, b0, ".index", &m);
    ck_assert_uint_eq(m, n0);
    ck_assert_mem_eq(b, i0, m);
    free(b);
    b = seg_file(dir, b1, ".index", &m);
    ck_assert_uint_eq(m, n1);
    ck_assert_mem_eq(b, i1, m);
    free(b);
    b = seg_file(dir, b2, ".index", &m);
    ck_assert_uint_eq(m, n2);
    ck_assert_mem_eq(b, i2, m);
    free(b);
    b = seg_file(dir, b2, ".timeindex", &m);
    ck_assert_uint_eq(m, t2);
    ck_assert_mem_eq(b, ti2, m);
    free(b);
    free(i0);
    free(i1);
    free(i2);
    free(i2b);
    free(ti2);
    rmtree(dir);
}
END_TEST

/* A log with segments of batches at the given timestamps, one segment per row. */
static kb_log *ts_log(const char *dir, kb_log_cfg *c, const int64_t ts[][3], int nseg)
{
    kb_log *log;
    c->segment_ms = INT64_MAX;
    ck_assert_int_eq(kb_log_open(&log, dir, "t", 0, c, 0, 0, true), 0);
    for (int s = 0; s < nseg; s++) {
        if (s > 0) { /* force a roll: a batch over the remaining space */
            c->segment_bytes = (int32_t)kb_segment_size(kb_log_segment_at(log, (size_t)s - 1)) + 1;
            kb_log_set_cfg(log, c);
        }
        for (int k = 0; k < 3; k++) {
            app(log, 2, ts[s][k], 30, (uint8_t)(s * 3 + k));
            if (k == 0) {
                c->segment_bytes = 1 << 20;
                kb_log_set_cfg(log, c);
            }
        }
    }
    ck_assert_uint_eq(kb_log_num_segments(log), (size_t)nseg);
    return log;
}

START_TEST(t09_retention_time)
{
    char dir[64], f[PATH_MAX];
    mktmp(dir);
    kb_log_cfg c = tb_log_cfg();
    static const int64_t ts[4][3] = { { 1000, 1100, 1050 }, { 2000, 2100, 2200 }, { 3000, 3300, 3100 },
                                      { 4000, 4100, 4200 } };
    kb_log *log = ts_log(dir, &c, ts, 4);
    int64_t b1 = kb_segment_base(kb_log_segment_at(log, 1)), b2 = kb_segment_base(kb_log_segment_at(log, 2));
    int64_t leo = kb_log_end_offset(log);
    c.retention_ms = 1000;
    c.file_delete_delay_ms = 60000;
    kb_log_set_cfg(log, &c);
    /* segment 0's largest timestamp is 1101: 2101 - 1101 = 1000 is not more than 1000 */
    ck_assert_int_eq(kb_log_retention(log, 2101), 0);
    ck_assert_int_eq(kb_log_retention(log, 2102), 1);
    ck_assert_int_eq(kb_log_start_offset(log), b1);
    ck_assert_uint_eq(kb_log_num_segments(log), 3);
    ck_assert(tb_exists(tb_seg(f, kb_log_dir(log), 0, ".log.deleted")));
    ck_assert(tb_exists(tb_seg(f, kb_log_dir(log), 0, ".index.deleted")));
    ck_assert(tb_exists(tb_seg(f, kb_log_dir(log), 0, ".timeindex.deleted")));
    ck_assert(!tb_exists(tb_seg(f, kb_log_dir(log), 0, ".log")));
    kb_log_read_info ri;
    ck_assert_int_eq(kb_log_read(log, b1 - 1, 100, INT64_MAX, true, &ri), KB_LOG_EOFFSET);
    kb_log_delete_expired(log, 2102 + 59999);
    ck_assert(tb_exists(tb_seg(f, kb_log_dir(log), 0, ".log.deleted")));
    kb_log_delete_expired(log, 2102 + 60000);
    ck_assert(!tb_exists(tb_seg(f, kb_log_dir(log), 0, ".log.deleted")));
    ck_assert(!tb_exists(tb_seg(f, kb_log_dir(log), 0, ".timeindex.deleted")));

    /* the high watermark holds back segments above it */
    kb_log_set_high_watermark(log, b2);
    ck_assert_int_eq(kb_log_retention(log, 100000), 1); /* segment 1 ends at b2 <= hw */
    ck_assert_int_eq(kb_log_start_offset(log), b2);
    kb_log_set_high_watermark(log, -1);

    /* everything expired: an empty active segment is rolled first */
    c.file_delete_delay_ms = 0;
    kb_log_set_cfg(log, &c);
    ck_assert_int_eq(kb_log_retention(log, 100000), 2);
    ck_assert_uint_eq(kb_log_num_segments(log), 1);
    ck_assert_int_eq(kb_segment_base(kb_log_segment_at(log, 0)), leo);
    ck_assert_int_eq(kb_segment_size(kb_log_segment_at(log, 0)), 0);
    ck_assert_int_eq(kb_log_end_offset(log), leo);
    ck_assert_int_eq(kb_log_start_offset(log), leo);
    ck_assert_int_eq(count_files(kb_log_dir(log), ".log"), 1);
    ck_assert_int_eq(count_files(kb_log_dir(log), ".deleted"), 3); /* segment 1, due at 160000 */
    ck_assert_int_eq(kb_log_retention(log, 200000), 0); /* the empty active segment stays */
    ck_assert_int_eq(count_files(kb_log_dir(log), ".deleted"), 0);
    ck_assert_int_eq(app(log, 1, 5, 1, 'x').first_offset, leo);
    kb_log_close(log);
    rmtree(dir);
}
END_TEST

START_TEST(t10_retention_size)
{
    char dir[64];
    mktmp(dir);
    kb_log_cfg c = tb_log_cfg();
    static const int64_t ts[4][3] = { { 1, 2, 3 }, { 4, 5, 6 }, { 7, 8, 9 }, { 10, 11, 12 } };
    kb_log *log = ts_log(dir, &c, ts, 4);
    int64_t sz[4];
    for (int i = 0; i < 4; i++)
        sz[i] = kb_segment_size(kb_log_segment_at(log, (size_t)i));
    int64_t total = sz[0] + sz[1] + sz[2] + sz[3];
    /* keep at least retention.bytes: total - sz0 - sz1 >= limit only up to segment 1 */
    c.retention_bytes = sz[2] + sz[3];
    kb_log_set_cfg(log, &c);
    ck_assert_int_eq(kb_log_retention(log, 0), 2);
    ck_assert_int_eq(kb_log_size(log), total - sz[0] - sz[1]);
    c.retention_bytes = sz[3] + 1;
    kb_log_set_cfg(log, &c);
    ck_assert_int_eq(kb_log_retention(log, 0), 0);
    c.retention_bytes = sz[3];
    kb_log_set_cfg(log, &c);
    ck_assert_int_eq(kb_log_retention(log, 0), 1);
    ck_assert_uint_eq(kb_log_num_segments(log), 1);
    ck_assert_int_eq(kb_log_start_offset(log), kb_segment_base(kb_log_segment_at(log, 0)));
    kb_log_close(log);
    rmtree(dir);
}
END_TEST

START_TEST(t11_delete_records)
{
    char dir[64];
    mktmp(dir);
    kb_log_cfg c = tb_log_cfg();
    static const int64_t ts[3][3] = { { 1, 2, 3 }, { 4, 5, 6 }, { 7, 8, 9 } };
    kb_log *log = ts_log(dir, &c, ts, 3);
    int64_t b1 = kb_segment_base(kb_log_segment_at(log, 1)), leo = kb_log_end_offset(log);
    ck_assert_int_eq(kb_log_delete_records_before(log, leo + 1), KB_LOG_EOFFSET);
    ck_assert_int_eq(kb_log_delete_records_before(log, b1 - 1), 0); /* inside segment 0 */
    ck_assert_int_eq(kb_log_start_offset(log), b1 - 1);
    ck_assert_uint_eq(kb_log_num_segments(log), 3);
    kb_log_read_info ri;
    ck_assert_int_eq(kb_log_read(log, b1 - 2, 100, INT64_MAX, true, &ri), KB_LOG_EOFFSET);
    ck_assert_int_eq(kb_log_read(log, b1 - 1, 1 << 20, INT64_MAX, true, &ri), 0);
    ck_assert_int_eq(ri.next_offset, b1);
    ck_assert_int_eq(kb_log_delete_records_before(log, b1 + 1), 1);
    ck_assert_uint_eq(kb_log_num_segments(log), 2);
    ck_assert_int_eq(kb_log_start_offset(log), b1 + 1);
    ck_assert_int_eq(kb_log_delete_records_before(log, b1), 0); /* never lowers it */
    ck_assert_int_eq(kb_log_start_offset(log), b1 + 1);
    kb_log_set_high_watermark(log, b1 + 3);
    ck_assert_int_eq(kb_log_delete_records_before(log, b1 + 4), KB_LOG_EOFFSET);
    ck_assert_int_eq(kb_log_delete_records_before(log, b1 + 3), 0);
    ck_assert_int_eq(kb_log_start_offset(log), b1 + 3);
    ck_assert_int_eq(kb_log_delete_records_before(log, kb_log_end_offset(log)), KB_LOG_EOFFSET);
    kb_log_set_high_watermark(log, -1);
    ck_assert_int_eq(kb_log_delete_records_before(log, leo), 1); /* up to the active segment */
    ck_assert_int_eq(kb_log_start_offset(log), leo);
    ck_assert_uint_eq(kb_log_num_segments(log), 1);
    ck_assert_int_eq(kb_log_read(log, leo, 100, INT64_MAX, true, &ri), 0);
    ck_assert_int_eq(ri.len, 0);
    kb_log_close(log);
    rmtree(dir);
}
END_TEST

START_TEST(t12_truncate)
{
    char dir[64], f[PATH_MAX];
    mktmp(dir);
    kb_log_cfg c = tb_log_cfg();
    static const int64_t ts[3][3] = { { 1, 2, 3 }, { 4, 5, 6 }, { 7, 8, 9 } };
    kb_log *log = ts_log(dir, &c, ts, 3);
    int64_t b1 = kb_segment_base(kb_log_segment_at(log, 1)), b2 = kb_segment_base(kb_log_segment_at(log, 2));
    int64_t leo = kb_log_end_offset(log);
    ck_assert_int_eq(kb_log_truncate_to(log, leo), 0);
    ck_assert_int_eq(kb_log_end_offset(log), leo);
    /* at a batch boundary inside segment 1 (batches of 2 records) */
    ck_assert_int_eq(kb_log_truncate_to(log, b1 + 2), 0);
    ck_assert_int_eq(kb_log_end_offset(log), b1 + 2);
    ck_assert_uint_eq(kb_log_num_segments(log), 2);
    ck_assert(!tb_exists(tb_seg(f, kb_log_dir(log), b2, ".log")));
    ck_assert_int_eq(tb_fsize(tb_seg(f, kb_log_dir(log), b1, ".index")), 1024);
    ck_assert_int_eq(app(log, 2, 10, 30, 'u').first_offset, b1 + 2);
    /* inside a batch: the whole batch goes */
    ck_assert_int_eq(kb_log_truncate_to(log, b1 + 3), 0);
    ck_assert_int_eq(kb_log_end_offset(log), b1 + 2);
    ck_assert_int_eq(kb_log_truncate_to(log, b1), 0);
    ck_assert_int_eq(kb_log_end_offset(log), b1);
    ck_assert_uint_eq(kb_log_num_segments(log), 2);
    ck_assert_int_eq(kb_segment_size(kb_log_segment_at(log, 1)), 0);
    ck_assert_int_eq(app(log, 1, 11, 30, 'v').first_offset, b1);
    /* below the first segment: start over there */
    ck_assert_int_eq(kb_log_delete_records_before(log, b1), 1);
    ck_assert_int_eq(kb_log_truncate_to(log, 2), 0);
    ck_assert_int_eq(kb_log_end_offset(log), 2);
    ck_assert_int_eq(kb_log_start_offset(log), 2);
    ck_assert_uint_eq(kb_log_num_segments(log), 1);
    ck_assert_int_eq(count_files(kb_log_dir(log), ".log"), 1);
    ck_assert(tb_exists(tb_seg(f, kb_log_dir(log), 2, ".log")));
    ck_assert_int_eq(app(log, 1, 12, 30, 'w').first_offset, 2);
    kb_log_close(log);
    rmtree(dir);
}
END_TEST

START_TEST(t13_offset_for_time)
{
    char dir[64];
    mktmp(dir);
    kb_log_cfg c = tb_log_cfg();
    /* batches of 2 records at ts, ts+1 */
    static const int64_t ts[3][3] = { { 100, 300, 200 }, { 400, 350, 500 }, { 600, 700, 650 } };
    kb_log *log = ts_log(dir, &c, ts, 3);
    int64_t b1 = kb_segment_base(kb_log_segment_at(log, 1)), b2 = kb_segment_base(kb_log_segment_at(log, 2));
    static const struct {
        int64_t ts;
        int seg, rel;  /* expected: segment, offset within it */
        int64_t found;
    } cases[] = {
        { 0, 0, 0, 100 },   { 100, 0, 0, 100 }, { 101, 0, 1, 101 }, { 102, 0, 2, 300 },
        { 301, 0, 3, 301 }, { 302, 1, 0, 400 }, { 402, 1, 4, 500 }, { 501, 1, 5, 501 },
        { 502, 2, 0, 600 }, { 701, 2, 3, 701 }, { 702, -1, 0, -1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t off, found;
        ck_assert_int_eq(kb_log_offset_for_time(log, cases[i].ts, &off, &found), 0);
        int64_t base = cases[i].seg == 0 ? 0 : cases[i].seg == 1 ? b1 : b2;
        ck_assert_int_eq(off, cases[i].seg < 0 ? -1 : base + cases[i].rel);
        ck_assert_int_eq(found, cases[i].found);
    }
    int64_t off, found;
    ck_assert_int_eq(kb_log_offset_for_time(log, KB_LOG_TS_LATEST, &off, &found), 0);
    ck_assert_int_eq(off, kb_log_end_offset(log));
    ck_assert_int_eq(found, -1);
    ck_assert_int_eq(kb_log_delete_records_before(log, 3), 0);
    ck_assert_int_eq(kb_log_offset_for_time(log, KB_LOG_TS_EARLIEST, &off, &found), 0);
    ck_assert_int_eq(off, 3);
    ck_assert_int_eq(kb_log_offset_for_time(log, 0, &off, &found), 0); /* from the log start on */
    ck_assert_int_eq(off, 3);
    ck_assert_int_eq(found, 301);
    kb_log_close(log);
    rmtree(dir);
}
END_TEST

START_TEST(t14_pin)
{
    char dir[64], f[PATH_MAX];
    mktmp(dir);
    kb_log_cfg c = tb_log_cfg();
    static const int64_t ts[2][3] = { { 1, 2, 3 }, { 4, 5, 6 } };
    kb_log *log = ts_log(dir, &c, ts, 2);
    kb_log_read_info ri;
    ck_assert_int_eq(kb_log_read(log, 0, 1 << 20, INT64_MAX, false, &ri), 0);
    uint8_t *expect = read_bytes(&ri);
    kb_segment_pin(ri.seg);
    c.retention_ms = 10;
    kb_log_set_cfg(log, &c);
    ck_assert_int_eq(kb_log_retention(log, 1000), 2); /* both, a new empty active segment rolled */
    ck_assert(!tb_exists(tb_seg(f, kb_log_dir(log), 0, ".log")));
    uint8_t *got = read_bytes(&ri); /* the fd still reads the unlinked file */
    ck_assert_mem_eq(got, expect, (size_t)ri.len);
    kb_log_close(log); /* the pinned segment outlives the log */
    free(got);
    got = read_bytes(&ri);
    ck_assert_mem_eq(got, expect, (size_t)ri.len);
    kb_segment_unpin(ri.seg);
    free(got);
    free(expect);
    rmtree(dir);
}
END_TEST

START_TEST(t15_follower)
{
    char dir[64], f[PATH_MAX];
    mktmp(dir);
    kb_log_cfg c = tb_log_cfg();
    kb_log *log;
    ck_assert_int_eq(kb_log_open(&log, dir, "t", 0, &c, 0, 0, true), 0);
    kz_wr w = KZ_WR_INIT;
    size_t s1 = tb_batch(&w, 0, 3, 10, 1, 5, 'a');
    kz_store_be32(w.base + 12, 4); /* the leader's epoch stays */
    tb_batch(&w, 3, 2, 20, 1, 5, 'b');
    kb_log_append_info info;
    ck_assert_int_eq(kb_log_append_as_follower(log, w.base, w.len, 0, &info), 0);
    ck_assert_int_eq(info.first_offset, 0);
    ck_assert_int_eq(info.last_offset, 4);
    ck_assert_int_eq(info.max_ts, 21);
    ck_assert_int_eq(info.max_ts_offset, 4);
    ck_assert_int_eq(kb_log_end_offset(log), 5);
    size_t n;
    uint8_t *file = tb_slurp(tb_seg(f, kb_log_dir(log), 0, ".log"), &n);
    ck_assert_mem_eq(file, w.base, n);
    ck_assert_int_eq(tb_be32(file + 12), 4);
    free(file);
    /* below the LEO, or going back inside the input: refused, nothing written */
    w.len = 0;
    tb_batch(&w, 4, 1, 30, 1, 5, 'c');
    ck_assert_int_eq(kb_log_append_as_follower(log, w.base, w.len, 0, &info), KB_LOG_EORDER);
    w.len = 0;
    tb_batch(&w, 5, 2, 30, 1, 5, 'c');
    tb_batch(&w, 6, 1, 30, 1, 5, 'd');
    ck_assert_int_eq(kb_log_append_as_follower(log, w.base, w.len, 0, &info), KB_LOG_EORDER);
    ck_assert_int_eq(kb_log_end_offset(log), 5);
    ck_assert_int_eq(kb_log_size(log), (int64_t)n);
    /* a gap is fine; a read inside it gets the next batch */
    w.len = 0;
    tb_batch(&w, 15, 5, 40, 1, 5, 'e');
    ck_assert_int_eq(kb_log_append_as_follower(log, w.base, w.len, 0, &info), 0);
    ck_assert_int_eq(kb_log_end_offset(log), 20);
    kb_log_read_info ri;
    ck_assert_int_eq(kb_log_read(log, 12, 1 << 20, INT64_MAX, false, &ri), 0);
    ck_assert_int_eq(ri.pos, (int64_t)n);
    ck_assert_int_eq(ri.first_offset, 15);
    /* offsets too far for a relative offset start a new segment at the batch */
    int64_t far = 20 + 3000000000LL;
    w.len = 0;
    tb_batch(&w, far, 1, 50, 1, 5, 'f');
    ck_assert_int_eq(kb_log_append_as_follower(log, w.base, w.len, 0, &info), 0);
    ck_assert(info.rolled);
    ck_assert_uint_eq(kb_log_num_segments(log), 2);
    ck_assert(tb_exists(tb_seg(f, kb_log_dir(log), far, ".log")));
    snprintf(f, sizeof f, "%s/00000000003000000020.log", kb_log_dir(log));
    ck_assert(tb_exists(f));
    ck_assert_int_eq(kb_log_end_offset(log), far + 1);
    (void)s1;
    kz_wr_free(&w);
    kb_log_close(log);
    rmtree(dir);
}
END_TEST

START_TEST(t16_bad_input)
{
    char dir[64];
    mktmp(dir);
    kb_log_cfg c = tb_log_cfg();
    kb_log *log;
    ck_assert_int_eq(kb_log_open(&log, dir, "t", 0, &c, 0, 0, true), 0);
    app(log, 2, 1, 5, 'a');
    int64_t size = kb_log_size(log);
    kz_wr w = KZ_WR_INIT;
    size_t s1 = tb_batch(&w, 0, 2, 1, 1, 5, 'b');
    tb_batch(&w, 0, 2, 1, 1, 5, 'c');
    kb_log_append_info info;
    /* a torn second batch */
    ck_assert_int_eq(kb_log_append(log, w.base, w.len - 1, 0, 0, &info), KB_LOG_EBATCH);
    /* a legacy magic */
    w.base[s1 + 16] = 1;
    ck_assert_int_eq(kb_log_append(log, w.base, w.len, 0, 0, &info), KB_LOG_EBATCH);
    ck_assert_int_eq(kb_log_size(log), size);
    ck_assert_int_eq(kb_log_end_offset(log), 2);
    /* nothing at all is a no-op */
    ck_assert_int_eq(kb_log_append(log, w.base, 0, 0, 0, &info), 0);
    ck_assert_int_eq(info.first_offset, -1);
    ck_assert_int_eq(kb_log_end_offset(log), 2);
    kz_wr_free(&w);
    kb_log_close(log);
    rmtree(dir);
}
END_TEST

START_TEST(t17_flush)
{
    char dir[64];
    mktmp(dir);
    kb_log_cfg c = tb_log_cfg();
    c.flush_messages = 5;
    c.segment_bytes = 300;
    kb_log *log;
    ck_assert_int_eq(kb_log_open(&log, dir, "t", 0, &c, 0, 0, true), 0);
    app(log, 2, 1, 5, 'a');
    ck_assert_int_eq(kb_log_recovery_point(log), 0);
    app(log, 2, 1, 5, 'a');
    ck_assert_int_eq(kb_log_recovery_point(log), 0);
    app(log, 2, 1, 5, 'a');
    ck_assert_int_eq(kb_log_recovery_point(log), 6);
    c.flush_messages = INT64_MAX;
    kb_log_set_cfg(log, &c);
    while (kb_log_num_segments(log) < 3)
        app(log, 2, 1, 40, 'b');
    ck_assert_int_eq(kb_log_recovery_point(log), 6);
    ck_assert_int_eq(kb_log_flush_rolled(log), 0);
    ck_assert_int_eq(kb_log_recovery_point(log), kb_segment_base(kb_log_segment_at(log, 2)));
    ck_assert_int_eq(kb_log_flush_due(log, kz_wall_ms() + 1000000), 0); /* flush.ms unset */
    ck_assert_int_lt(kb_log_recovery_point(log), kb_log_end_offset(log));
    c.flush_ms = 1000;
    kb_log_set_cfg(log, &c);
    ck_assert_int_eq(kb_log_flush_due(log, kz_wall_ms() + 1000000), 0);
    ck_assert_int_eq(kb_log_recovery_point(log), kb_log_end_offset(log));
    ck_assert_int_eq(kb_log_flush(log), 0);
    kb_log_close(log);
    rmtree(dir);
}
END_TEST

int main(void)
{
    kz_log_set_level(KZ_LOG_ERROR); /* recovery warnings are expected here */
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, t01_append_read);
    tcase_add_test(tc, t02_roll_size);
    tcase_add_test(tc, t03_roll_time);
    tcase_add_test(tc, t04_reopen);
    tcase_add_test(tc, t05_recover_every_cut);
    tcase_add_test(tc, t06_recover_segments);
    tcase_add_test(tc, t07_flip_crc);
    tcase_add_test(tc, t08_index_rebuild);
    tcase_add_test(tc, t09_retention_time);
    tcase_add_test(tc, t10_retention_size);
    tcase_add_test(tc, t11_delete_records);
    tcase_add_test(tc, t12_truncate);
    tcase_add_test(tc, t13_offset_for_time);
    tcase_add_test(tc, t14_pin);
    tcase_add_test(tc, t15_follower);
    tcase_add_test(tc, t16_bad_input);
    tcase_add_test(tc, t17_flush);
    suite_add_tcase(s, tc);
    return ut_run(s);
}
