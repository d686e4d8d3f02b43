/* test/unit/check_epoch_cache.c -- the leader epoch cache and its checkpoint file
 * (broker/kb_epoch_cache.c).
 *
 *  01 file bytes after assigns, no temp file left, reload gives the same entries
 *  02 assign: negative epoch, repeated latest epoch, same epoch at a lower start
 *  03 assign of a stale entry removes the conflicting ones, with Kafka's warning; an epoch that
 *     never got data is replaced silently
 *  04 truncate_from_end
 *  05 truncate_from_start, truncate_fully
 *  06 end_offset_for: every branch
 *  07 malformed files start empty with a warning; valid variants load
 *  08 hold/release: one write at the release, none when nothing changed, forced write
 *  09 a failed write returns -errno and keeps the change in memory; the next change writes
 *  10 persistence across reopen; start_offset lookup */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kb_epoch_cache.h"
#include "kb_log_test.h"
#include "kz_log.h"

static void mktmp(char *buf) { mktmp_prefix(buf, "kb_epoch_"); }

/* The checkpoint's text (NULL when missing); the caller frees it. */
static char *ckpt_text(const char *dir)
{
    char p[PATH_MAX];
    size_t n;
    return (char *)tb_slurp(tb_path(p, dir, KB_EPOCH_CHECKPOINT_FILE), &n);
}

static void ck_text(const char *dir, const char *expect)
{
    char *t = ckpt_text(dir);
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(t, expect);
    free(t);
}

static void write_text(const char *dir, const char *text)
{
    char p[PATH_MAX];
    tb_spit(tb_path(p, dir, KB_EPOCH_CHECKPOINT_FILE), text, strlen(text));
}

static void remove_ckpt(const char *dir)
{
    char p[PATH_MAX];
    ck_assert_int_eq(unlink(tb_path(p, dir, KB_EPOCH_CHECKPOINT_FILE)), 0);
}

/* The entries must be exactly @exp (pairs epoch, start), @n of them. */
static void ck_entries(const kb_epoch_cache *c, const int64_t (*exp)[2], size_t n)
{
    size_t got;
    const kb_epoch_entry *v = kb_epoch_cache_entries(c, &got);
    ck_assert_uint_eq(got, n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(v[i].epoch, exp[i][0]);
        ck_assert_int_eq(v[i].start_offset, exp[i][1]);
    }
}

/* Assigns (@epoch, @start) and checks what that logged: a text holding @want, or nothing at
 * all when @want is "". */
static void assign_logs(kb_epoch_cache *c, int32_t epoch, int64_t start, const char *want)
{
    ut_logcap cap;
    ut_log_start(&cap);
    ck_assert_int_eq(kb_epoch_cache_assign(c, epoch, start), 0);
    char *log = ut_log_stop(&cap);
    if (*want)
        ck_assert_msg(strstr(log, want) != NULL, "logged: %s", log);
    else
        ck_assert_str_eq(log, "");
    free(log);
}

static kb_epoch_cache *open_ok(const char *dir, kb_epoch_file_state expect)
{
    kb_epoch_cache *c;
    kb_epoch_file_state st;
    ck_assert_int_eq(kb_epoch_cache_open(&c, dir, "t-0", &st), 0);
    ck_assert_int_eq(st, expect);
    return c;
}

START_TEST(t01_file_bytes)
{
    char dir[64], p[PATH_MAX];
    mktmp(dir);
    kb_epoch_cache *c = open_ok(dir, KB_EPOCH_FILE_MISSING);
    ck_assert_str_eq(kb_epoch_cache_path(c), tb_path(p, dir, "leader-epoch-checkpoint"));
    ck_assert_int_eq(kb_epoch_cache_latest_epoch(c), -1);
    ck_assert(!tb_exists(p)); /* nothing written until something changes */
    ck_assert_int_eq(kb_epoch_cache_assign(c, 0, 0), 0);
    ck_text(dir, "0\n1\n0 0\n");
    ck_assert_int_eq(kb_epoch_cache_assign(c, 2, 5), 0);
    ck_assert_int_eq(kb_epoch_cache_assign(c, 7, 1234567890123LL), 0);
    ck_text(dir, "0\n3\n0 0\n2 5\n7 1234567890123\n");
    ck_assert(!tb_exists(tb_path(p, dir, "leader-epoch-checkpoint.tmp")));
    ck_assert_int_eq(kb_epoch_cache_latest_epoch(c), 7);
    kb_epoch_cache_free(c);

    c = open_ok(dir, KB_EPOCH_FILE_LOADED);
    static const int64_t exp[][2] = { { 0, 0 }, { 2, 5 }, { 7, 1234567890123LL } };
    ck_entries(c, exp, 3);
    kb_epoch_cache_free(c);
    rmtree(dir);
}
END_TEST

START_TEST(t02_assign_noop)
{
    char dir[64];
    mktmp(dir);
    kb_epoch_cache *c = open_ok(dir, KB_EPOCH_FILE_MISSING);
    ck_assert_int_eq(kb_epoch_cache_assign(c, -1, 0), 0); /* no epoch: ignored, nothing written */
    ck_assert_ptr_null(ckpt_text(dir));
    ck_assert_int_eq(kb_epoch_cache_assign(c, 3, -5), 0); /* no offset either */
    ck_assert_ptr_null(ckpt_text(dir));
    ck_assert_int_eq(kb_epoch_cache_assign(c, 3, 10), 0);
    ck_text(dir, "0\n1\n3 10\n");
    /* the latest epoch again at or above its start: no change, no write */
    remove_ckpt(dir);
    ck_assert_int_eq(kb_epoch_cache_assign(c, 3, 10), 0);
    ck_assert_int_eq(kb_epoch_cache_assign(c, 3, 50), 0);
    ck_assert_ptr_null(ckpt_text(dir));
    /* the latest epoch at a lower start: it moves down (Kafka's isUpdateNeeded) */
    ck_assert_int_eq(kb_epoch_cache_assign(c, 3, 7), 0);
    ck_text(dir, "0\n1\n3 7\n");
    /* a newer epoch at the same start as the latest replaces it: that epoch never got data */
    ck_assert_int_eq(kb_epoch_cache_assign(c, 4, 7), 0);
    ck_text(dir, "0\n1\n4 7\n");
    kb_epoch_cache_free(c);
    rmtree(dir);
}
END_TEST

START_TEST(t03_assign_conflicts)
{
    char dir[64];
    mktmp(dir);
    kb_epoch_cache *c = open_ok(dir, KB_EPOCH_FILE_MISSING);
    for (int e = 1; e <= 5; e++)
        ck_assert_int_eq(kb_epoch_cache_assign(c, e * 2, e * 100), 0); /* (2,100) .. (10,500) */
    kz_log_set_level(KZ_LOG_WARN);
    /* an older epoch: every entry with epoch >= 6 goes, whatever its offset */
    assign_logs(c, 6, 450, "WARN [LeaderEpochCache t-0] New epoch entry EpochEntry(epoch=6, startOffset=450) "
                           "caused truncation of conflicting entries ListBuffer(EpochEntry(epoch=10, "
                           "startOffset=500), EpochEntry(epoch=8, startOffset=400), EpochEntry(epoch=6, "
                           "startOffset=300)). Cache now contains 3 entries.");
    ck_text(dir, "0\n3\n2 100\n4 200\n6 450\n");
    /* a newer epoch below the latest start: entries starting at or above it go */
    assign_logs(c, 9, 150, "ListBuffer(EpochEntry(epoch=6, startOffset=450), EpochEntry(epoch=4, "
                           "startOffset=200)). Cache now contains 2 entries.");
    ck_text(dir, "0\n2\n2 100\n9 150\n");
    /* an older epoch below everything: the cache is that entry alone */
    assign_logs(c, 1, 0, "ListBuffer(EpochEntry(epoch=9, startOffset=150), EpochEntry(epoch=2, "
                         "startOffset=100)). Cache now contains 1 entries.");
    ck_text(dir, "0\n1\n1 0\n");
    /* replacing the latest epoch at its own start offset is no conflict worth a warning */
    ck_assert_int_eq(kb_epoch_cache_assign(c, 5, 20), 0);
    assign_logs(c, 4, 20, "");
    ck_text(dir, "0\n2\n1 0\n4 20\n");
    kz_log_set_level(KZ_LOG_ERROR);
    kb_epoch_cache_free(c);
    rmtree(dir);
}
END_TEST

START_TEST(t04_truncate_from_end)
{
    char dir[64];
    mktmp(dir);
    kb_epoch_cache *c = open_ok(dir, KB_EPOCH_FILE_MISSING);
    ck_assert_int_eq(kb_epoch_cache_assign(c, 1, 0), 0);
    ck_assert_int_eq(kb_epoch_cache_assign(c, 3, 10), 0);
    ck_assert_int_eq(kb_epoch_cache_assign(c, 4, 20), 0);
    remove_ckpt(dir);
    ck_assert_int_eq(kb_epoch_cache_truncate_from_end(c, 21), 0); /* above every start: nothing */
    ck_assert_int_eq(kb_epoch_cache_truncate_from_end(c, -1), 0);
    ck_assert_ptr_null(ckpt_text(dir));
    ck_assert_int_eq(kb_epoch_cache_truncate_from_end(c, 20), 0); /* at a start: that entry goes */
    ck_text(dir, "0\n2\n1 0\n3 10\n");
    ck_assert_int_eq(kb_epoch_cache_truncate_from_end(c, 5), 0);
    ck_text(dir, "0\n1\n1 0\n");
    ck_assert_int_eq(kb_epoch_cache_latest_epoch(c), 1);
    ck_assert_int_eq(kb_epoch_cache_truncate_from_end(c, 0), 0);
    ck_text(dir, "0\n0\n");
    ck_assert_int_eq(kb_epoch_cache_latest_epoch(c), -1);
    kb_epoch_cache_free(c);
    rmtree(dir);
}
END_TEST

START_TEST(t05_truncate_from_start)
{
    char dir[64];
    mktmp(dir);
    kb_epoch_cache *c = open_ok(dir, KB_EPOCH_FILE_MISSING);
    ck_assert_int_eq(kb_epoch_cache_assign(c, 1, 5), 0);
    ck_assert_int_eq(kb_epoch_cache_assign(c, 3, 10), 0);
    ck_assert_int_eq(kb_epoch_cache_assign(c, 4, 20), 0);
    ck_assert_int_eq(kb_epoch_cache_assign(c, 6, 30), 0);
    remove_ckpt(dir);
    ck_assert_int_eq(kb_epoch_cache_truncate_from_start(c, 2), 0); /* below the first: nothing */
    ck_assert_int_eq(kb_epoch_cache_truncate_from_start(c, 5), 0); /* at the first: nothing */
    ck_assert_ptr_null(ckpt_text(dir));
    ck_assert_int_eq(kb_epoch_cache_truncate_from_start(c, 7), 0); /* inside epoch 1 */
    ck_text(dir, "0\n4\n1 7\n3 10\n4 20\n6 30\n");
    ck_assert_int_eq(kb_epoch_cache_truncate_from_start(c, 20), 0); /* exactly at epoch 4's start */
    ck_text(dir, "0\n2\n4 20\n6 30\n");
    ck_assert_int_eq(kb_epoch_cache_truncate_from_start(c, 25), 0);
    ck_text(dir, "0\n2\n4 25\n6 30\n");
    ck_assert_int_eq(kb_epoch_cache_truncate_from_start(c, 99), 0); /* past every start */
    ck_text(dir, "0\n1\n6 99\n");
    ck_assert_int_eq(kb_epoch_cache_truncate_fully(c), 0);
    ck_text(dir, "0\n0\n");
    remove_ckpt(dir);
    ck_assert_int_eq(kb_epoch_cache_truncate_fully(c), 0); /* already empty: no write */
    ck_assert_int_eq(kb_epoch_cache_truncate_from_start(c, 5), 0);
    ck_assert_ptr_null(ckpt_text(dir));
    kb_epoch_cache_free(c);
    rmtree(dir);
}
END_TEST

START_TEST(t06_end_offset_for)
{
    char dir[64];
    mktmp(dir);
    kb_epoch_cache *c = open_ok(dir, KB_EPOCH_FILE_MISSING);
    int32_t e;
    int64_t off;
    kb_epoch_cache_end_offset_for(c, 0, 100, &e, &off); /* empty */
    ck_assert_int_eq(e, -1);
    ck_assert_int_eq(off, -1);
    ck_assert_int_eq(kb_epoch_cache_assign(c, 2, 10), 0);
    ck_assert_int_eq(kb_epoch_cache_assign(c, 5, 40), 0);
    ck_assert_int_eq(kb_epoch_cache_assign(c, 7, 70), 0);
    static const struct {
        int32_t req;
        int32_t epoch;
        int64_t end;
    } cases[] = {
        { -1, -1, -1 }, /* UNDEFINED_EPOCH */
        { 7, 7, 100 },  /* the latest: the LEO */
        { 8, -1, -1 },  /* above every epoch */
        { 1000, -1, -1 },
        { 0, 0, 10 },   /* below the first: the requested epoch, the first start */
        { 1, 1, 10 },
        { 2, 2, 40 },   /* a known epoch: where the next one starts */
        { 3, 2, 40 },   /* unknown, between: the floor's epoch */
        { 4, 2, 40 },
        { 5, 5, 70 },
        { 6, 5, 70 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kb_epoch_cache_end_offset_for(c, cases[i].req, 100, &e, &off);
        ck_assert_msg(e == cases[i].epoch && off == cases[i].end, "epoch %d: got (%d, %lld)", cases[i].req, e,
                      (long long)off);
    }
    kb_epoch_cache_free(c);
    rmtree(dir);
}
END_TEST

START_TEST(t07_malformed)
{
    static const char *const bad[] = {
        "1\n0\n",              /* version */
        "x\n",
        "0\nabc\n",            /* count */
        "0\n-1\n",
        "0\n2\n0 0\n",         /* fewer entries than counted */
        "0\n1\n0 0\n1 5\n",    /* more */
        "0\n1\n0\n",           /* one item */
        "0\n1\n0 0 0\n",       /* three items */
        "0\n1\n 0 0\n",        /* a leading blank makes an empty first item */
        "0\n1\na 0\n",
        "0\n1\n0 x\n",
        "0\n1\n2147483648 0\n", /* epoch beyond i32 */
        "0\n1\n\n",            /* an empty line */
        "0\n2\n3 10\n2 20\n",  /* epochs going back */
        "0\n2\n2 10\n3 10\n",  /* offsets not increasing */
        "0\n1\n-2 10\n",       /* negative epoch */
        "0\n1\n2 -10\n",       /* negative offset */
        " 0\n0\n",
    };
    kz_log_set_level(KZ_LOG_WARN);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char dir[64];
        mktmp(dir);
        write_text(dir, bad[i]);
        ut_logcap cap;
        ut_log_start(&cap);
        kb_epoch_cache *c = open_ok(dir, KB_EPOCH_FILE_MALFORMED);
        char *log = ut_log_stop(&cap);
        ck_assert_msg(strstr(log, "WARN [LeaderEpochCache t-0] Malformed line in checkpoint file") != NULL,
                      "case %zu: %s", i, log);
        free(log);
        size_t n;
        kb_epoch_cache_entries(c, &n);
        ck_assert_uint_eq(n, 0);
        ck_assert_int_eq(kb_epoch_cache_latest_epoch(c), -1);
        kb_epoch_cache_free(c);
        rmtree(dir);
    }
    kz_log_set_level(KZ_LOG_ERROR);

    static const struct {
        const char *text;
        size_t n;
        int64_t last_epoch, last_start;
    } good[] = {
        { "", 0, -1, -1 },                      /* empty file: no entries */
        { "0\n", 0, -1, -1 },                   /* version only */
        { "0\n0\n", 0, -1, -1 },
        { "0\r\n2\r\n1 0\r\n4 9\r\n", 2, 4, 9 }, /* CRLF lines */
        { "0\n2\n1 0\n4\t\t9  \n", 2, 4, 9 },   /* runs of blanks; trailing ones dropped */
        { "0\n1\n+3 10", 1, 3, 10 },            /* a sign; no final newline */
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char dir[64];
        mktmp(dir);
        write_text(dir, good[i].text);
        kb_epoch_cache *c = open_ok(dir, KB_EPOCH_FILE_LOADED);
        size_t n;
        const kb_epoch_entry *v = kb_epoch_cache_entries(c, &n);
        ck_assert_uint_eq(n, good[i].n);
        if (n > 0) {
            ck_assert_int_eq(v[n - 1].epoch, good[i].last_epoch);
            ck_assert_int_eq(v[n - 1].start_offset, good[i].last_start);
        }
        kb_epoch_cache_free(c);
        rmtree(dir);
    }

    /* a directory in the file's place: not readable as a checkpoint, but not fatal */
    char dir[64], p[PATH_MAX];
    mktmp(dir);
    ck_assert_int_eq(mkdir(tb_path(p, dir, KB_EPOCH_CHECKPOINT_FILE), 0755), 0);
    kb_epoch_cache *c = open_ok(dir, KB_EPOCH_FILE_MALFORMED);
    kb_epoch_cache_free(c);
    rmtree(dir);
}
END_TEST

START_TEST(t08_hold)
{
    char dir[64];
    mktmp(dir);
    kb_epoch_cache *c = open_ok(dir, KB_EPOCH_FILE_MISSING);
    kb_epoch_cache_hold(c);
    ck_assert_int_eq(kb_epoch_cache_assign(c, 1, 0), 0);
    ck_assert_int_eq(kb_epoch_cache_assign(c, 2, 5), 0);
    kb_epoch_cache_hold(c); /* nested */
    ck_assert_int_eq(kb_epoch_cache_assign(c, 3, 9), 0);
    ck_assert_int_eq(kb_epoch_cache_release(c, false), 0);
    ck_assert_ptr_null(ckpt_text(dir));
    ck_assert_int_eq(kb_epoch_cache_truncate_from_end(c, 9), 0);
    ck_assert_ptr_null(ckpt_text(dir));
    ck_assert_int_eq(kb_epoch_cache_release(c, false), 0);
    ck_text(dir, "0\n2\n1 0\n2 5\n");
    remove_ckpt(dir);
    kb_epoch_cache_hold(c); /* nothing changes: nothing written */
    ck_assert_int_eq(kb_epoch_cache_assign(c, 2, 6), 0);
    ck_assert_int_eq(kb_epoch_cache_release(c, false), 0);
    ck_assert_ptr_null(ckpt_text(dir));
    kb_epoch_cache_hold(c);
    ck_assert_int_eq(kb_epoch_cache_release(c, true), 0); /* forced */
    ck_text(dir, "0\n2\n1 0\n2 5\n");
    kb_epoch_cache_free(c);
    rmtree(dir);
}
END_TEST

START_TEST(t09_write_failure)
{
    char dir[64], p[PATH_MAX];
    mktmp(dir);
    kb_epoch_cache *c = open_ok(dir, KB_EPOCH_FILE_MISSING);
    ck_assert_int_eq(kb_epoch_cache_assign(c, 1, 0), 0);
    /* a directory where the temp file goes: the write fails even for root */
    ck_assert_int_eq(mkdir(tb_path(p, dir, "leader-epoch-checkpoint.tmp"), 0755), 0);
    ut_logcap cap;
    ut_log_start(&cap);
    ck_assert_int_eq(kb_epoch_cache_assign(c, 2, 10), -EISDIR);
    char *log = ut_log_stop(&cap);
    ck_assert_ptr_nonnull(strstr(log, "ERROR [LeaderEpochCache t-0] Error while writing to checkpoint file"));
    free(log);
    ck_assert_int_eq(kb_epoch_cache_latest_epoch(c), 2); /* in memory */
    ck_text(dir, "0\n1\n1 0\n");                        /* the old file is intact */
    ck_assert_int_eq(rmdir(p), 0);
    ck_assert_int_eq(kb_epoch_cache_assign(c, 3, 20), 0);
    ck_text(dir, "0\n3\n1 0\n2 10\n3 20\n");
    kb_epoch_cache_free(c);
    rmtree(dir);
}
END_TEST

START_TEST(t10_reopen)
{
    char dir[64];
    mktmp(dir);
    kb_epoch_cache *c = open_ok(dir, KB_EPOCH_FILE_MISSING);
    ck_assert_int_eq(kb_epoch_cache_assign(c, 0, 0), 0);
    ck_assert_int_eq(kb_epoch_cache_assign(c, 4, 33), 0);
    kb_epoch_cache_free(c);
    c = open_ok(dir, KB_EPOCH_FILE_LOADED);
    ck_assert_int_eq(kb_epoch_cache_latest_epoch(c), 4);
    ck_assert_int_eq(kb_epoch_cache_start_offset(c, 4), 33);
    ck_assert_int_eq(kb_epoch_cache_start_offset(c, 0), 0);
    ck_assert_int_eq(kb_epoch_cache_start_offset(c, 2), -1);
    ck_assert_int_eq(kb_epoch_cache_truncate_from_end(c, 33), 0);
    ck_assert_int_eq(kb_epoch_cache_assign(c, 5, 40), 0);
    kb_epoch_cache_free(c);
    c = open_ok(dir, KB_EPOCH_FILE_LOADED);
    static const int64_t exp[][2] = { { 0, 0 }, { 5, 40 } };
    ck_entries(c, exp, 2);
    kb_epoch_cache_free(c);

    /* the parser on its own */
    kb_epoch_entry *v;
    size_t n;
    static const char text[] = "0\n2\n3 4\n5 6\n";
    ck_assert_int_eq(kb_epoch_cache_parse(text, sizeof text - 1, &v, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(v[1].epoch, 5);
    ck_assert_int_eq(v[1].start_offset, 6);
    free(v);
    ck_assert_int_eq(kb_epoch_cache_parse(text, sizeof text - 3, &v, &n), -EBADMSG); /* "5" alone */
    ck_assert_ptr_null(v);
    ck_assert_uint_eq(n, 0);
    rmtree(dir);
}
END_TEST

int main(void)
{
    kz_log_set_level(KZ_LOG_ERROR);
    Suite *s = suite_create("epoch_cache");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, t01_file_bytes);
    tcase_add_test(tc, t02_assign_noop);
    tcase_add_test(tc, t03_assign_conflicts);
    tcase_add_test(tc, t04_truncate_from_end);
    tcase_add_test(tc, t05_truncate_from_start);
    tcase_add_test(tc, t06_end_offset_for);
    tcase_add_test(tc, t07_malformed);
    tcase_add_test(tc, t08_hold);
    tcase_add_test(tc, t09_write_failure);
    tcase_add_test(tc, t10_reopen);
    suite_add_tcase(s, tc);
    return ut_run(s);
}
