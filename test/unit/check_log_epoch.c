/* test/unit/check_log_epoch.c -- the leader epoch cache inside a partition's log
 * (broker/kb_log.c with broker/kb_epoch_cache.c): leader-epoch-checkpoint kept in step with
 * appends, truncation, log start offset moves, open and recovery.
 *
 *  01 leader appends: an entry per new epoch; the checkpoint's bytes; end offsets for epochs;
 *     kb_log_assign_epoch at the LEO; refused appends record nothing
 *  02 follower appends: each batch's own epoch from its base offset; an older epoch replaces
 *     the entries it conflicts with
 *  03 truncate_to drops entries at or above the cut; truncate_fully empties the cache
 *  04 DeleteRecords and retention move the first entry up to the log start
 *  05 a missing or malformed checkpoint is rebuilt from the batches at open, byte-identical;
 *     entries past the LEO or below the log start are trimmed at open
 *  06 recovery: a .log cut at every byte leaves exactly the epochs of the whole batches kept;
 *     after an unclean shutdown the epochs of recovered segments are added
 *  07 a log whose data ends below the log start offset starts with an empty cache
 *  08 a failed checkpoint write makes the log's error sticky; at open it fails the open */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kb_log.h"
#include "kb_log_test.h"
#include "kz_log.h"
#include "kz_time.h"

static void mktmp(char *buf) { mktmp_prefix(buf, "kb_logep_"); }

/* Opens the log t-0 under @dir with @c (recovery point 0, log start @log_start, after a clean
 * shutdown or not); fails the test when it does not open. */
static kb_log *open_t0(const char *dir, const kb_log_cfg *c, int64_t log_start, bool clean)
{
    kb_log *log;
    ck_assert_int_eq(kb_log_open(&log, dir, "t", 0, c, 0, log_start, clean), 0);
    return log;
}

/* Appends one batch of @n records as the leader with @epoch; returns its first offset. */
static int64_t lapp(kb_log *log, int n, int32_t epoch)
{
    kz_wr w = KZ_WR_INIT;
    tb_batch(&w, 0, n, 1000, 1, 20, 'a');
    kb_log_append_info info;
    ck_assert_int_eq(kb_log_append(log, w.base, w.len, epoch, 2000, &info), 0);
    kz_wr_free(&w);
    return info.first_offset;
}

/* Adds to @w a batch at @base of @n records carrying leader epoch @epoch (outside the CRC). */
static void fbatch(kz_wr *w, int64_t base, int n, int32_t epoch)
{
    size_t at = w->len;
    tb_batch(w, base, n, 1000, 1, 20, 'f');
    kz_store_be32(w->base + at + 12, (uint32_t)epoch);
}

/* The text of the log's leader-epoch-checkpoint (NULL when missing); the caller frees it. */
static char *ckpt(const kb_log *log)
{
    char p[PATH_MAX];
    size_t n;
    return (char *)tb_slurp(tb_path(p, kb_log_dir(log), "leader-epoch-checkpoint"), &n);
}

static void ck_ckpt(const kb_log *log, const char *expect)
{
    char *t = ckpt(log);
    ck_assert_msg(t != NULL, "no checkpoint, expected %s", expect);
    ck_assert_str_eq(t, expect);
    free(t);
}

static void ck_end(const kb_log *log, int32_t req, int32_t epoch, int64_t end)
{
    int32_t e;
    int64_t off;
    kb_log_end_offset_for_epoch(log, req, &e, &off);
    ck_assert_msg(e == epoch && off == end, "epoch %d: got (%d, %lld), expected (%d, %lld)", req, e,
                  (long long)off, epoch, (long long)end);
}

START_TEST(t01_leader)
{
    char dir[64], p[PATH_MAX];
    mktmp(dir);
    kb_log_cfg c = tb_log_cfg();
    kb_log *log = open_t0(dir, &c, 0, true);
    ck_assert_ptr_null(ckpt(log)); /* a new empty log has nothing to record */
    ck_assert_int_eq(kb_log_latest_epoch(log), -1);
    ck_end(log, 0, -1, -1);
    ck_assert_int_eq(lapp(log, 3, 0), 0);
    ck_ckpt(log, "0\n1\n0 0\n");
    ck_assert_int_eq(lapp(log, 2, 0), 3);
    ck_ckpt(log, "0\n1\n0 0\n");
    ck_assert_int_eq(lapp(log, 4, 2), 5);
    ck_ckpt(log, "0\n2\n0 0\n2 5\n");
    ck_assert(!tb_exists(tb_path(p, kb_log_dir(log), "leader-epoch-checkpoint.tmp")));
    ck_assert_int_eq(kb_log_latest_epoch(log), 2);
    ck_assert_int_eq(kb_log_end_offset(log), 9);
    ck_end(log, 0, 0, 5);
    ck_end(log, 1, 0, 5);  /* unknown epoch between two: the earlier one's end */
    ck_end(log, 2, 2, 9);  /* the latest: the LEO */
    ck_end(log, 3, -1, -1);
    ck_end(log, -1, -1, -1);

    /* becoming leader at epoch 5 before any append in it */
    kb_log_assign_epoch(log, 5, kb_log_end_offset(log));
    ck_ckpt(log, "0\n3\n0 0\n2 5\n5 9\n");
    ck_assert_int_eq(kb_log_epoch_start_offset(log, 5), 9);
    ck_assert_int_eq(kb_log_epoch_start_offset(log, 3), -1);
    ck_end(log, 2, 2, 9);
    ck_end(log, 4, 2, 9);
    ck_end(log, 5, 5, 9);
    ck_assert_int_eq(lapp(log, 1, 5), 9); /* the same epoch again: no new entry */
    ck_ckpt(log, "0\n3\n0 0\n2 5\n5 9\n");
    ck_end(log, 5, 5, 10);

    /* an append refused before writing records no epoch */
    kz_wr w = KZ_WR_INIT;
    tb_batch(&w, 0, 2, 1, 1, 5, 'x');
    ck_assert_int_eq(kb_log_append(log, w.base, w.len - 1, 6, 0, NULL), KB_LOG_EBATCH);
    c.segment_bytes = (int32_t)w.len - 1;
    kb_log_set_cfg(log, &c);
    ck_assert_int_eq(kb_log_append(log, w.base, w.len, 6, 0, NULL), KB_LOG_ETOOBIG);
    kz_wr_free(&w);
    ck_assert_int_eq(kb_log_latest_epoch(log), 5);
    c = tb_log_cfg();
    kb_log_set_cfg(log, &c);
    /* no epoch (-1): appended, not recorded */
    ck_assert_int_eq(lapp(log, 1, -1), 10);
    ck_ckpt(log, "0\n3\n0 0\n2 5\n5 9\n");
    kb_log_close(log);

    /* the file outlives the log object */
    log = open_t0(dir, &c, 0, true);
    ck_assert_int_eq(kb_log_latest_epoch(log), 5);
    ck_end(log, 2, 2, 9);
    ck_ckpt(log, "0\n3\n0 0\n2 5\n5 9\n");
    kb_log_close(log);
    rmtree(dir);
}
END_TEST

START_TEST(t02_follower)
{
    char dir[64];
    mktmp(dir);
    kb_log_cfg c = tb_log_cfg();
    kb_log *log = open_t0(dir, &c, 0, true);
    kz_wr w = KZ_WR_INIT;
    fbatch(&w, 0, 2, 3);
    fbatch(&w, 2, 3, 3);
    fbatch(&w, 5, 1, 5);
    ck_assert_int_eq(kb_log_append_as_follower(log, w.base, w.len, 0, NULL), 0);
    ck_ckpt(log, "0\n2\n3 0\n5 5\n");
    w.len = 0;
    fbatch(&w, 6, 1, 5);
    fbatch(&w, 7, 2, -1); /* no epoch: ignored */
    fbatch(&w, 9, 1, 6);
    ck_assert_int_eq(kb_log_append_as_follower(log, w.base, w.len, 0, NULL), 0);
    ck_ckpt(log, "0\n3\n3 0\n5 5\n6 9\n");
    ck_end(log, 5, 5, 9);
    ck_end(log, 6, 6, 10);
    /* out-of-order batches refused by the log record nothing */
    w.len = 0;
    fbatch(&w, 3, 1, 9);
    ck_assert_int_eq(kb_log_append_as_follower(log, w.base, w.len, 0, NULL), KB_LOG_EORDER);
    ck_assert_int_eq(kb_log_latest_epoch(log), 6);
    /* an older epoch than the latest: the conflicting entries go (Kafka's assign) */
    w.len = 0;
    fbatch(&w, 10, 1, 4);
    ck_assert_int_eq(kb_log_append_as_follower(log, w.base, w.len, 0, NULL), 0);
    ck_ckpt(log, "0\n2\n3 0\n4 10\n");
    kz_wr_free(&w);
    kb_log_close(log);
    rmtree(dir);
}
END_TEST

START_TEST(t03_truncate)
{
    char dir[64];
    mktmp(dir);
    kb_log_cfg c = tb_log_cfg();
    kb_log *log = open_t0(dir, &c, 0, true);
    lapp(log, 2, 1);
    lapp(log, 2, 2);
    lapp(log, 2, 4);
    ck_ckpt(log, "0\n3\n1 0\n2 2\n4 4\n");
    ck_assert_int_eq(kb_log_truncate_to(log, 6), 0); /* at the LEO: nothing */
    ck_ckpt(log, "0\n3\n1 0\n2 2\n4 4\n");
    ck_assert_int_eq(kb_log_truncate_to(log, 4), 0);
    ck_assert_int_eq(kb_log_end_offset(log), 4);
    ck_ckpt(log, "0\n2\n1 0\n2 2\n");
    ck_end(log, 2, 2, 4);
    ck_assert_int_eq(kb_log_truncate_to(log, 1), 0); /* inside the first batch */
    ck_assert_int_eq(kb_log_end_offset(log), 0);
    ck_ckpt(log, "0\n1\n1 0\n");
    lapp(log, 3, 7); /* epoch 1 kept no data: the new epoch replaces it at the same start */
    ck_ckpt(log, "0\n1\n7 0\n");
    ck_assert_int_eq(kb_log_truncate_fully(log, 50), 0);
    ck_ckpt(log, "0\n0\n");
    ck_assert_int_eq(kb_log_latest_epoch(log), -1);
    ck_assert_int_eq(lapp(log, 1, 8), 50);
    ck_ckpt(log, "0\n1\n8 50\n");
    kb_log_close(log);
    rmtree(dir);
}
END_TEST

START_TEST(t04_log_start)
{
    char dir[64];
    mktmp(dir);
    kb_log_cfg c = tb_log_cfg();
    c.segment_bytes = 150; /* one batch per segment */
    kb_log *log = open_t0(dir, &c, 0, true);
    static const int32_t epochs[] = { 1, 1, 2, 2, 3 };
    for (int i = 0; i < 5; i++)
        lapp(log, 1, epochs[i]);
    ck_assert_uint_eq(kb_log_num_segments(log), 5);
    ck_ckpt(log, "0\n3\n1 0\n2 2\n3 4\n");
    ck_assert_int_eq(kb_log_delete_records_before(log, 1), 1);
    ck_assert_int_eq(kb_log_start_offset(log), 1);
    ck_ckpt(log, "0\n3\n1 1\n2 2\n3 4\n");
    ck_assert_int_eq(kb_log_delete_records_before(log, 3), 2);
    ck_ckpt(log, "0\n2\n2 3\n3 4\n");
    ck_end(log, 1, 1, 3); /* below the first known epoch: its start */
    ck_end(log, 2, 2, 4);
    /* retention deletes everything: the log starts at the LEO, still in epoch 3 */
    c.retention_ms = 1000;
    kb_log_set_cfg(log, &c);
    ck_assert_int_eq(kb_log_retention(log, kz_wall_ms()), 2);
    ck_assert_int_eq(kb_log_start_offset(log), 5);
    ck_ckpt(log, "0\n1\n3 5\n");
    ck_assert_int_eq(kb_log_latest_epoch(log), 3);
    ck_assert_int_eq(lapp(log, 1, 3), 5);
    ck_ckpt(log, "0\n1\n3 5\n");
    kb_log_close(log);
    rmtree(dir);
}
END_TEST

/* A log of batches with epochs 0,0,2,2,5,5,9 (1, 2, 3, 1, 2, 3, 1 records) over several
 * segments; returns its checkpoint. */
static char *build_epochs(const char *dir, kb_log_cfg *c)
{
    *c = tb_log_cfg();
    c->segment_bytes = 400;
    kb_log *log = open_t0(dir, c, 0, true);
    static const int32_t epochs[] = { 0, 0, 2, 2, 5, 5, 9 };
    for (int i = 0; i < 7; i++)
        lapp(log, 1 + i % 3, epochs[i]);
    ck_assert_uint_ge(kb_log_num_segments(log), 3);
    char *t = ckpt(log);
    ck_assert_str_eq(t, "0\n4\n0 0\n2 3\n5 7\n9 12\n");
    kb_log_close(log);
    return t;
}

START_TEST(t05_rebuild)
{
    char dir[64], p[PATH_MAX], pd[PATH_MAX];
    mktmp(dir);
    kb_log_cfg c;
    char *orig = build_epochs(dir, &c);
    snprintf(pd, sizeof pd, "%s/t-0", dir);
    tb_path(p, pd, "leader-epoch-checkpoint");
    kb_log *log;

    /* missing: rebuilt from the batch headers and written */
    ck_assert_int_eq(unlink(p), 0);
    log = open_t0(dir, &c, 0, true);
    ck_assert(tb_exists(p));
    ck_ckpt(log, orig);
    ck_end(log, 3, 2, 7);
    kb_log_close(log);

    /* malformed: a warning, rebuilt, the file replaced */
    static const char junk[] = "0\n4\n0 0\n2 3\n5 6\n";
    tb_spit(p, junk, sizeof junk - 1);
    kz_log_set_level(KZ_LOG_WARN);
    ut_logcap cap;
    ut_log_start(&cap);
    log = open_t0(dir, &c, 0, true);
    char *text = ut_log_stop(&cap);
    kz_log_set_level(KZ_LOG_ERROR);
    ck_assert_ptr_nonnull(strstr(text, "Malformed line in checkpoint file"));
    ck_assert_ptr_nonnull(strstr(text, "The leader epoch checkpoint is malformed: rebuilding it from the log"));
    free(text);
    ck_ckpt(log, orig);
    kb_log_close(log);

    /* a valid file is trusted after a clean shutdown, but trimmed to the log: entries past the
     * LEO go, the first one moves up to the log start */
    static const char longer[] = "0\n5\n0 0\n2 3\n5 7\n9 12\n11 13\n";
    tb_spit(p, longer, sizeof longer - 1);
    log = open_t0(dir, &c, 4, true);
    ck_assert_int_eq(kb_log_end_offset(log), 13);
    ck_ckpt(log, "0\n3\n2 4\n5 7\n9 12\n");
    kb_log_close(log);

    /* a rebuild of a log whose start is above its first batch */
    ck_assert_int_eq(unlink(p), 0);
    log = open_t0(dir, &c, 7, true);
    ck_ckpt(log, "0\n2\n5 7\n9 12\n");
    kb_log_close(log);
    free(orig);
    rmtree(dir);
}
END_TEST

/* The bytes of <dir>/t-0/00000000000000000000.log. */
static uint8_t *seg_file_bytes(const char *dir, size_t *n)
{
    char pd[PATH_MAX], p[PATH_MAX];
    snprintf(pd, sizeof pd, "%s/t-0", dir);
    uint8_t *b = tb_slurp(tb_seg(p, pd, 0, ".log"), n);
    ck_assert_ptr_nonnull(b);
    return b;
}

START_TEST(t06_recovery)
{
    char ref[64], work[64], pd[PATH_MAX], f[PATH_MAX];
    mktmp(ref);
    kb_log_cfg c = tb_log_cfg();
    static const int32_t epochs[] = { 0, 2, 2, 4, 7 };
    static const int nrec[] = { 3, 2, 1, 2, 2 };
    int64_t ends[5], starts[5];
    kb_log *log = open_t0(ref, &c, 0, true);
    for (int i = 0; i < 5; i++) {
        starts[i] = lapp(log, nrec[i], epochs[i]);
        ends[i] = kb_log_size(log);
    }
    ck_ckpt(log, "0\n4\n0 0\n2 3\n4 6\n7 8\n");
    kb_log_close(log);
    size_t loglen, clen;
    uint8_t *logb = seg_file_bytes(ref, &loglen);
    snprintf(pd, sizeof pd, "%s/t-0", ref);
    uint8_t *ckb = tb_slurp(tb_path(f, pd, "leader-epoch-checkpoint"), &clen);

    /* cut at every byte: the cache keeps exactly the epochs of the whole batches left */
    for (size_t cut = 0; cut <= loglen; cut++) {
        int k = 0;
        while (k < 5 && ends[k] <= (int64_t)cut)
            k++;
        char expect[256];
        int n = 0, cnt = 0;
        char body[200] = "";
        for (int i = 0; i < k; i++)
            if (i == 0 || epochs[i] != epochs[i - 1]) {
                n += snprintf(body + n, sizeof body - (size_t)n, "%d %lld\n", epochs[i], (long long)starts[i]);
                cnt++;
            }
        snprintf(expect, sizeof expect, "0\n%d\n%s", cnt, body);
        mktmp(work);
        snprintf(pd, sizeof pd, "%s/t-0", work);
        ck_assert_int_eq(mkdir(pd, 0755), 0);
        tb_spit(tb_seg(f, pd, 0, ".log"), logb, cut);
        tb_spit(tb_path(f, pd, "leader-epoch-checkpoint"), ckb, clen);
        log = open_t0(work, &c, 0, false);
        ck_assert_int_eq(kb_log_end_offset(log), k ? starts[k - 1] + nrec[k - 1] : 0);
        ck_ckpt(log, expect);
        kb_log_close(log);
        rmtree(work);
    }

    /* the checkpoint lost the latest epochs (e.g. restored from an older copy): after an unclean
     * shutdown the recovered segments bring them back; after a clean one the file is trusted */
    mktmp(work);
    snprintf(pd, sizeof pd, "%s/t-0", work);
    ck_assert_int_eq(mkdir(pd, 0755), 0);
    tb_spit(tb_seg(f, pd, 0, ".log"), logb, loglen);
    static const char old[] = "0\n2\n0 0\n2 3\n";
    tb_spit(tb_path(f, pd, "leader-epoch-checkpoint"), old, sizeof old - 1);
    log = open_t0(work, &c, 0, true);
    ck_ckpt(log, old);
    kb_log_close(log);
    log = open_t0(work, &c, 0, false);
    ck_ckpt(log, "0\n4\n0 0\n2 3\n4 6\n7 8\n");
    kb_log_close(log);
    rmtree(work);
    free(logb);
    free(ckb);
    rmtree(ref);
}
END_TEST

START_TEST(t07_wiped)
{
    char dir[64];
    mktmp(dir);
    kb_log_cfg c;
    free(build_epochs(dir, &c));
    /* the log start checkpoint says 100, the data ends at 13: everything goes */
    kb_log *log = open_t0(dir, &c, 100, true);
    ck_assert_int_eq(kb_log_end_offset(log), 100);
    ck_ckpt(log, "0\n0\n");
    ck_assert_int_eq(kb_log_latest_epoch(log), -1);
    kb_log_close(log);
    rmtree(dir);
}
END_TEST

START_TEST(t08_write_failure)
{
    char dir[64], tmp[PATH_MAX];
    mktmp(dir);
    kb_log_cfg c = tb_log_cfg();
    kb_log *log = open_t0(dir, &c, 0, true);
    lapp(log, 2, 1);
    /* a directory where the temp file goes: the write fails even for root */
    ck_assert_int_eq(mkdir(tb_path(tmp, kb_log_dir(log), "leader-epoch-checkpoint.tmp"), 0755), 0);
    kz_wr w = KZ_WR_INIT;
    tb_batch(&w, 0, 1, 1, 1, 5, 'x');
    ut_logcap cap;
    ut_log_start(&cap);
    ck_assert_int_eq(kb_log_append(log, w.base, w.len, 2, 0, NULL), -EISDIR);
    char *text = ut_log_stop(&cap);
    ck_assert_ptr_nonnull(strstr(text, "ERROR [Log partition=t-0, dir="));
    ck_assert_ptr_nonnull(strstr(text, "Error while updating the leader epoch cache: Is a directory; the log takes "
                                       "no more writes (kafka.log.Log)"));
    free(text);
    ck_assert_int_eq(kb_log_error(log), -EISDIR);
    ck_assert_int_eq(kb_log_end_offset(log), 2); /* nothing appended */
    ck_assert_int_eq(rmdir(tmp), 0);
    ck_assert_int_eq(kb_log_append(log, w.base, w.len, 2, 0, NULL), -EISDIR); /* sticky */
    kb_log_assign_epoch(log, 3, 2);
    ck_ckpt(log, "0\n1\n1 0\n");
    kb_log_close(log);

    /* the same failure at open (a malformed file must be replaced) fails the open */
    ck_assert_int_eq(mkdir(tmp, 0755), 0);
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/t-0/leader-epoch-checkpoint", dir);
    tb_spit(p, "bad", 3);
    ut_log_start(&cap);
    ck_assert_int_eq(kb_log_open(&log, dir, "t", 0, &c, 0, 0, true), -EISDIR);
    text = ut_log_stop(&cap);
    ck_assert_ptr_nonnull(strstr(text, "Error while writing to checkpoint file"));
    free(text);
    ck_assert_int_eq(rmdir(tmp), 0);
    log = open_t0(dir, &c, 0, true);
    ck_ckpt(log, "0\n1\n1 0\n");
    kz_wr_free(&w);
    kb_log_close(log);
    rmtree(dir);
}
END_TEST

int main(void)
{
    kz_log_set_level(KZ_LOG_ERROR);
    Suite *s = suite_create("log_epoch");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, t01_leader);
    tcase_add_test(tc, t02_follower);
    tcase_add_test(tc, t03_truncate);
    tcase_add_test(tc, t04_log_start);
    tcase_add_test(tc, t05_rebuild);
    tcase_add_test(tc, t06_recovery);
    tcase_add_test(tc, t07_wiped);
    tcase_add_test(tc, t08_write_failure);
    suite_add_tcase(s, tc);
    return ut_run(s);
}
