/* test/unit/check_log_mgr.c -- checkpoint files (broker/kb_checkpoint.c) and the log manager
 * (broker/kb_log_mgr.c).
 *
 *  01 offset checkpoint: exact bytes, reading rules of Kafka's reader, malformed files
 *  02 meta.properties: content, read back, never rewritten, inconsistency and version refused
 *  03 the .lock of a log dir refuses a second open, in this process and in another one
 *  04 logs across dirs: placement by fewest partitions, get, delete, leftovers, duplicates
 *  05 clean shutdown: marker, exact checkpoint files, state restored; unclean: recovery
 *  06 per-topic configuration and retention of every log
 *  07 opening from a server.properties configuration
 *  08 background flush: a checkpoint only queues the rolled segments (the loop goes on while
 *     the flusher thread holds them); the recovery point moves to the covered offset once the
 *     job completed, and the next checkpoint writes it
 *  09 a log deleted (and created again) while its flush is pending: the completion is ignored
 *  10 a log truncated while its flush is pending: the recovery point stays
 *  11 close drains the flusher's queue, then writes the clean-shutdown marker
 *  12 a failed background sync: the log stops taking writes, no marker, recovery at open
 *  13 flush.ms through the flusher (active segment included); flush.messages stays synchronous */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "kb_checkpoint.h"
#include "kb_config.h"
#include "kb_flusher_test.h"
#include "kb_log_mgr.h"
#include "kb_log_test.h"
#include "kz_log.h"

static void mktmp(char *buf) { mktmp_prefix(buf, "kb_mgr_"); }

static kb_log_cfg cfg_small(void)
{
    kb_log_cfg c;
    kb_log_cfg_defaults(&c);
    c.segment_bytes = 600;
    c.index_interval_bytes = 64;
    c.segment_index_bytes = 1024;
    c.file_delete_delay_ms = 0;
    return c;
}

static void app(kb_log *log, int n, int64_t ts)
{
    kz_wr w = KZ_WR_INIT;
    tb_batch(&w, 0, n, ts, 1, 30, 'v');
    kb_log_append_info info;
    ck_assert_int_eq(kb_log_append(log, w.base, w.len, 1, ts, &info), 0);
    kz_wr_free(&w);
}

/* The text of <dir>/<name> (NUL-terminated), or NULL. */
static char *text_of(const char *dir, const char *name)
{
    char p[PATH_MAX];
    size_t n;
    return (char *)tb_slurp(tb_path(p, dir, name), &n);
}

static void put_text(const char *dir, const char *name, const char *text)
{
    char p[PATH_MAX];
    tb_spit(tb_path(p, dir, name), text, strlen(text));
}

START_TEST(t01_checkpoint)
{
    char dir[64], p[PATH_MAX];
    mktmp(dir);
    tb_path(p, dir, "recovery-point-offset-checkpoint");
    kb_ckpt_entry in[3] = { { "orders", 1, 5 }, { "a-b.c_d", 0, 1234567890123LL }, { "orders", 0, 0 } };
    ck_assert_int_eq(kb_checkpoint_write(p, in, 3), 0);
    char *t = text_of(dir, "recovery-point-offset-checkpoint");
    ck_assert_str_eq(t, "0\n3\norders 1 5\na-b.c_d 0 1234567890123\norders 0 0\n");
    free(t);
    ck_assert(!tb_exists(tb_path(p, dir, "recovery-point-offset-checkpoint.tmp")));

    kb_ckpt_entry *v;
    size_t n;
    tb_path(p, dir, "recovery-point-offset-checkpoint");
    ck_assert_int_eq(kb_checkpoint_read(p, &v, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(v[1].topic, "a-b.c_d");
    ck_assert_int_eq(v[1].offset, 1234567890123LL);
    kb_checkpoint_sort(v, n);
    ck_assert_str_eq(v[0].topic, "a-b.c_d");
    ck_assert_int_eq(v[1].partition, 0);
    ck_assert_int_eq(kb_checkpoint_find(v, n, "orders", 1, -1), 5);
    ck_assert_int_eq(kb_checkpoint_find(v, n, "orders", 2, -1), -1);
    kb_checkpoint_free(v, n);

    ck_assert_int_eq(kb_checkpoint_write(p, NULL, 0), 0);
    t = text_of(dir, "recovery-point-offset-checkpoint");
    ck_assert_str_eq(t, "0\n0\n");
    free(t);

    static const struct {
        const char *text;
        int rc;
        size_t n;
    } cases[] = {
        { "", 0, 0 },                          /* empty file: no entries */
        { "0\n", 0, 0 },                       /* version only */
        { "0\r\n1\r\nt 0 7\r\n", 0, 1 },       /* CRLF lines */
        { "0\n1\nt\t0   7  \n", 0, 1 },        /* runs of blanks, trailing blanks dropped */
        { "0\n1\nt 0 +7\n", 0, 1 },
        { "1\n1\nt 0 7\n", -EBADMSG, 0 },      /* unknown version */
        { "0\n2\nt 0 7\n", -EBADMSG, 0 },      /* fewer entries than counted */
        { "0\n1\nt 0 7\nu 0 1\n", -EBADMSG, 0 },
        { "0\n1\nt 0\n", -EBADMSG, 0 },
        { "0\n1\nt 0 7 9\n", -EBADMSG, 0 },
        { "0\n1\n t 0 7\n", -EBADMSG, 0 },     /* a leading blank makes an empty first item */
        { "0\n1\nt x 7\n", -EBADMSG, 0 },
        { "0\n1\nt 0 99999999999999999999\n", -EBADMSG, 0 },
        { "0\n1\nt 0 7\n\n", -EBADMSG, 0 },    /* an empty line is a malformed entry */
        { " 0\n0\n", -EBADMSG, 0 },
        { "0\nx\n", -EBADMSG, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        put_text(dir, "c", cases[i].text);
        int rc = kb_checkpoint_read(tb_path(p, dir, "c"), &v, &n);
        ck_assert_msg(rc == cases[i].rc, "case %zu: rc %d", i, rc);
        ck_assert_uint_eq(n, cases[i].n);
        if (n) {
            ck_assert_str_eq(v[0].topic, "t");
            ck_assert_int_eq(v[0].offset, 7);
        }
        kb_checkpoint_free(v, n);
    }
    ck_assert_int_eq(kb_checkpoint_read(tb_path(p, dir, "missing"), &v, &n), -ENOENT);
    ck_assert_ptr_null(v);
    rmtree(dir);
}
END_TEST

/* Whether @line is a Java Date.toString() comment: "#Www Mmm dd HH:MM:SS ZZZ yyyy". */
static bool is_date_comment(const char *line, size_t len)
{
    static const char *const days[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
    static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    if (len < 29 || line[0] != '#' || line[4] != ' ' || line[8] != ' ' || line[11] != ' ')
        return false;
    bool d = false, m = false;
    for (int i = 0; i < 7; i++)
        d |= memcmp(line + 1, days[i], 3) == 0;
    for (int i = 0; i < 12; i++)
        m |= memcmp(line + 5, months[i], 3) == 0;
    return d && m && line[14] == ':' && line[17] == ':' && line[20] == ' ' && line[len - 5] == ' ';
}

START_TEST(t02_meta)
{
    char d1[64], d2[64], err[512];
    mktmp(d1);
    mktmp(d2);
    const char *dirs[2] = { d1, d2 };
    kb_log_cfg c = cfg_small();
    kb_log_mgr *m;
    kb_log_mgr_meta meta;
    ck_assert_int_eq(kb_log_mgr_open(&m, NULL, dirs, 2, &c, &meta, err, sizeof err), 0);
    ck_assert_int_eq(meta.ndirs_with_meta, 0);
    ck_assert_int_eq(meta.broker_id, -1);
    ck_assert_str_eq(meta.cluster_id, "");
    ck_assert_int_eq(kb_log_mgr_write_meta(m, 7, "x7GvU0e1T9q2a_b-cdEfgh", err, sizeof err), 0);
    for (int i = 0; i < 2; i++) {
        char *t = text_of(dirs[i], "meta.properties");
        ck_assert_ptr_nonnull(t);
        ck_assert(t[0] == '#' && t[1] == '\n');
        char *nl = strchr(t + 2, '\n');
        ck_assert_ptr_nonnull(nl);
        ck_assert_msg(is_date_comment(t + 2, (size_t)(nl - t - 2)), "date line: %.*s", (int)(nl - t - 2), t + 2);
        ck_assert_str_eq(nl + 1, "broker.id=7\nversion=0\ncluster.id=x7GvU0e1T9q2a_b-cdEfgh\n");
        free(t);
    }
    /* present files are never rewritten */
    ck_assert_int_eq(kb_log_mgr_write_meta(m, 8, "other", err, sizeof err), 0);
    char *t = text_of(d2, "meta.properties");
    ck_assert_ptr_nonnull(strstr(t, "broker.id=7\n"));
    free(t);
    ck_assert_int_eq(kb_log_mgr_close(m), 0);

    ck_assert_int_eq(kb_log_mgr_open(&m, NULL, dirs, 2, &c, &meta, err, sizeof err), 0);
    ck_assert_int_eq(meta.ndirs_with_meta, 2);
    ck_assert_int_eq(meta.broker_id, 7);
    ck_assert_str_eq(meta.cluster_id, "x7GvU0e1T9q2a_b-cdEfgh");
    ck_assert_int_eq(kb_log_mgr_get_meta(m)->broker_id, 7);
    ck_assert_int_eq(kb_log_mgr_close(m), 0);

    /* a directory that says something else */
    kz_log_set_level(KZ_LOG_FATAL);
    put_text(d2, "meta.properties", "#\n#Thu Jan 01 00:00:00 UTC 2026\nbroker.id=9\nversion=0\n"
                                    "cluster.id=x7GvU0e1T9q2a_b-cdEfgh\n");
    ck_assert_int_eq(kb_log_mgr_open(&m, NULL, dirs, 2, &c, &meta, err, sizeof err), KB_LOG_EMETA);
    ck_assert_ptr_nonnull(strstr(err, "BrokerMetadata is not consistent across log.dirs"));
    ck_assert_ptr_nonnull(strstr(err, d2));
    /* version 1 is KRaft's; a missing version is 0 */
    put_text(d2, "meta.properties", "version=1\nnode.id=7\ncluster.id=x7GvU0e1T9q2a_b-cdEfgh\n");
    ck_assert_int_eq(kb_log_mgr_open(&m, NULL, dirs, 2, &c, &meta, err, sizeof err), KB_LOG_EMETA);
    ck_assert_ptr_nonnull(strstr(err, "Found unexpected version"));
    put_text(d2, "meta.properties", "broker.id=7\ncluster.id=x7GvU0e1T9q2a_b-cdEfgh\n");
    ck_assert_int_eq(kb_log_mgr_open(&m, NULL, dirs, 2, &c, &meta, err, sizeof err), 0);
    ck_assert_int_eq(meta.broker_id, 7);
    ck_assert_int_eq(kb_log_mgr_close(m), 0);
    put_text(d2, "meta.properties", "broker.id=seven\n");
    ck_assert_int_eq(kb_log_mgr_open(&m, NULL, dirs, 2, &c, &meta, err, sizeof err), KB_LOG_EMETA);
    kz_log_set_level(KZ_LOG_INFO);
    rmtree(d1);
    rmtree(d2);
}
END_TEST

START_TEST(t03_lock)
{
    char d1[64], d2[64], err[512], want[256];
    mktmp(d1);
    mktmp(d2);
    const char *dirs[2] = { d1, d2 };
    kb_log_cfg c = cfg_small();
    kb_log_mgr *m, *m2;
    ck_assert_int_eq(kb_log_mgr_open(&m, NULL, dirs, 2, &c, NULL, err, sizeof err), 0);
    ck_assert(tb_exists(tb_path(want, d1, ".lock")));
    kz_log_set_level(KZ_LOG_FATAL);
    ck_assert_int_eq(kb_log_mgr_open(&m2, NULL, dirs + 1, 1, &c, NULL, err, sizeof err), KB_LOG_ELOCKED);
    snprintf(want, sizeof want, "Failed to acquire lock on file .lock in %s. A Kafka instance in another process "
             "or thread is using this directory.", kb_log_mgr_dir(m, 1));
    ck_assert_str_eq(err, want);
    ck_assert_ptr_null(m2);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char e2[512];
        kb_log_mgr *mc;
        _exit(kb_log_mgr_open(&mc, NULL, dirs, 1, &c, NULL, e2, sizeof e2) == KB_LOG_ELOCKED ? 0 : 1);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    kz_log_set_level(KZ_LOG_INFO);
    ck_assert_int_eq(kb_log_mgr_close(m), 0);
    ck_assert_int_eq(kb_log_mgr_open(&m2, NULL, dirs + 1, 1, &c, NULL, err, sizeof err), 0);
    ck_assert_int_eq(kb_log_mgr_close(m2), 0);
    rmtree(d1);
    rmtree(d2);
}
END_TEST

START_TEST(t04_logs)
{
    char d1[64], d2[64], err[512], p[PATH_MAX];
    mktmp(d1);
    mktmp(d2);
    const char *dirs[2] = { d1, d2 };
    kb_log_cfg c = cfg_small();
    kb_log_mgr *m;
    ck_assert_int_eq(kb_log_mgr_open(&m, NULL, dirs, 2, &c, NULL, err, sizeof err), 0);
    static const struct {
        const char *topic;
        int32_t part;
        int dir;
    } place[] = { { "t", 0, 0 }, { "t", 1, 1 }, { "t", 2, 0 }, { "u", 0, 1 }, { "u", 1, 0 } };
    kb_log *logs[5];
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(kb_log_mgr_get_or_create(m, place[i].topic, place[i].part, &logs[i], err, sizeof err), 0);
        ck_assert_str_eq(kb_log_parent_dir(logs[i]), kb_log_mgr_dir(m, place[i].dir));
        app(logs[i], i + 1, 100);
    }
    for (int i = 0; i < 5; i++) {
        kb_log *l;
        ck_assert_ptr_eq(kb_log_mgr_get(m, place[i].topic, place[i].part), logs[i]);
        ck_assert_int_eq(kb_log_mgr_get_or_create(m, place[i].topic, place[i].part, &l, err, sizeof err), 0);
        ck_assert_ptr_eq(l, logs[i]);
    }
    ck_assert_ptr_null(kb_log_mgr_get(m, "t", 3));
    ck_assert_ptr_null(kb_log_mgr_get(m, "v", 0));
    ck_assert_uint_eq(kb_log_mgr_count(m), 5);
    int seen = 0;
    kb_log *l;
    for (size_t it = 0; (l = kb_log_mgr_next(m, &it));)
        seen++;
    ck_assert_int_eq(seen, 5);

    /* delete: the directory goes, the dir's checkpoints are rewritten without it */
    ck_assert_int_eq(kb_log_mgr_delete(m, logs[1]), 0);
    ck_assert_ptr_null(kb_log_mgr_get(m, "t", 1));
    ck_assert_uint_eq(kb_log_mgr_count(m), 4);
    ck_assert(!tb_exists(tb_path(p, d2, "t-1")));
    DIR *dh = opendir(d2);
    struct dirent *de;
    while ((de = readdir(dh)) != NULL)
        ck_assert_ptr_null(strstr(de->d_name, "-delete"));
    closedir(dh);
    char *t = text_of(d2, "recovery-point-offset-checkpoint");
    ck_assert_str_eq(t, "0\n1\nu 0 0\n");
    free(t);
    /* a log that is not one of the manager's is refused and left alone */
    char d3[64];
    mktmp(d3);
    kb_log *other;
    ck_assert_int_eq(kb_log_open(&other, d3, "t", 0, &c, 0, 0, true), 0);
    ck_assert_int_eq(kb_log_mgr_delete(m, other), KB_LOG_ENOENT);
    ck_assert(tb_exists(kb_log_dir(other)));
    kb_log_close(other);
    rmtree(d3);
    for (int i = 0; i < 5; i++)
        if (i != 1)
            ck_assert_ptr_eq(kb_log_mgr_get(m, place[i].topic, place[i].part), logs[i]);
    ck_assert_int_eq(kb_log_mgr_close(m), 0);

    /* leftovers: a -delete dir is removed, an unrelated dir stays */
    snprintf(p, sizeof p, "%s/t-7.0123456789abcdef0123456789abcdef-delete", d1);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    put_text(p, "00000000000000000000.log", "junk");
    snprintf(p, sizeof p, "%s/lost+found", d1);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    kz_log_set_level(KZ_LOG_ERROR);
    ck_assert_int_eq(kb_log_mgr_open(&m, NULL, dirs, 2, &c, NULL, err, sizeof err), 0);
    ck_assert_uint_eq(kb_log_mgr_count(m), 4);
    ck_assert(!tb_exists(tb_path(p, d1, "t-7.0123456789abcdef0123456789abcdef-delete")));
    ck_assert(tb_exists(tb_path(p, d1, "lost+found")));
    ck_assert_int_eq(kb_log_end_offset(kb_log_mgr_get(m, "u", 1)), 5);
    ck_assert_int_eq(kb_log_mgr_close(m), 0);

    /* partition directory names */
    static const struct {
        const char *name, *topic;
        int32_t part;
    } names[] = {
        { "t-0", "t", 0 }, { "a-b-12", "a-b", 12 }, { "x.y_z-2147483647", "x.y_z", 2147483647 },
        { "t-", NULL, 0 }, { "-1", NULL, 0 }, { "t-01", NULL, 0 }, { "t-+1", NULL, 0 }, { "t-1x", NULL, 0 },
        { "t-2147483648", NULL, 0 }, { "nodash", NULL, 0 },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char topic[64];
        int32_t part = -1;
        int rc = kb_log_parse_dir_name(names[i].name, topic, sizeof topic, &part);
        ck_assert_msg(rc == (names[i].topic ? 0 : -EINVAL), "%s", names[i].name);
        if (names[i].topic) {
            ck_assert_str_eq(topic, names[i].topic);
            ck_assert_int_eq(part, names[i].part);
        }
    }

    /* the same partition in two directories */
    snprintf(p, sizeof p, "%s/t-0", d2);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    kz_log_set_level(KZ_LOG_FATAL);
    ck_assert_int_eq(kb_log_mgr_open(&m, NULL, dirs, 2, &c, NULL, err, sizeof err), KB_LOG_EDUP);
    ck_assert_ptr_nonnull(strstr(err, "Duplicate log directories for t-0"));
    kz_log_set_level(KZ_LOG_INFO);
    rmtree(d1);
    rmtree(d2);
}
END_TEST

START_TEST(t05_shutdown)
{
    char d[64], err[512], p[PATH_MAX], want[256];
    mktmp(d);
    const char *dirs[1] = { d };
    kb_log_cfg c = cfg_small();
    kb_log_mgr *m;
    ck_assert_int_eq(kb_log_mgr_open(&m, NULL, dirs, 1, &c, NULL, err, sizeof err), 0);
    ck_assert(!kb_log_mgr_dir_was_clean(m, 0));
    kb_log *a, *b;
    ck_assert_int_eq(kb_log_mgr_get_or_create(m, "t", 1, &a, err, sizeof err), 0);
    ck_assert_int_eq(kb_log_mgr_get_or_create(m, "t", 0, &b, err, sizeof err), 0);
    ck_assert_int_eq(kb_log_high_watermark(a), 0); /* a new log starts at high watermark 0 */
    for (int i = 0; i < 10; i++)
        app(a, 2, 100 + i);
    for (int i = 0; i < 3; i++)
        app(b, 1, 100 + i);
    ck_assert_uint_gt(kb_log_num_segments(a), 2);
    ck_assert_int_eq(kb_log_delete_records_before(a, 5), KB_LOG_EOFFSET); /* above the HW */
    kb_log_set_high_watermark(a, 12);
    kb_log_set_high_watermark(b, 2);
    ck_assert_int_eq(kb_log_delete_records_before(a, 5), 0);

    /* the periodic checkpoint: rolled segments flushed, recovery point at the active base */
    ck_assert_int_eq(kb_log_mgr_checkpoint(m), 0);
    int64_t active = kb_segment_base(kb_log_segment_at(a, kb_log_num_segments(a) - 1));
    char *t = text_of(d, "recovery-point-offset-checkpoint");
    snprintf(want, sizeof want, "0\n2\nt 0 0\nt 1 %lld\n", (long long)active);
    ck_assert_str_eq(t, want);
    free(t);
    t = text_of(d, "log-start-offset-checkpoint");
    ck_assert_str_eq(t, "0\n1\nt 1 5\n");
    free(t);
    t = text_of(d, "replication-offset-checkpoint");
    ck_assert_str_eq(t, "0\n2\nt 0 2\nt 1 12\n");
    free(t);
    ck_assert(!tb_exists(tb_path(p, d, ".kafka_cleanshutdown")));

    ck_assert_int_eq(kb_log_mgr_close(m), 0);
    ck_assert(tb_exists(tb_path(p, d, ".kafka_cleanshutdown")));
    ck_assert_int_eq(tb_fsize(p), 0);
    t = text_of(d, "recovery-point-offset-checkpoint");
    ck_assert_str_eq(t, "0\n2\nt 0 3\nt 1 20\n");
    free(t);

    ck_assert_int_eq(kb_log_mgr_open(&m, NULL, dirs, 1, &c, NULL, err, sizeof err), 0);
    ck_assert(kb_log_mgr_dir_was_clean(m, 0));
    ck_assert(!tb_exists(tb_path(p, d, ".kafka_cleanshutdown")));
    a = kb_log_mgr_get(m, "t", 1);
    b = kb_log_mgr_get(m, "t", 0);
    ck_assert_int_eq(kb_log_end_offset(a), 20);
    ck_assert_int_eq(kb_log_start_offset(a), 5);
    ck_assert_int_eq(kb_log_high_watermark(a), 12);
    ck_assert_int_eq(kb_log_recovery_point(a), 20);
    ck_assert_int_eq(kb_log_end_offset(b), 3);
    ck_assert_int_eq(kb_log_high_watermark(b), 2);
    int64_t size_a = kb_log_size(a);
    int64_t abase = kb_segment_base(kb_log_segment_at(a, kb_log_num_segments(a) - 1));
    ck_assert_int_eq(kb_log_mgr_close(m), 0);

    /* a crash: no marker, a torn batch at the end of t-1 */
    ck_assert_int_eq(unlink(tb_path(p, d, ".kafka_cleanshutdown")), 0);
    char pd[PATH_MAX];
    snprintf(pd, sizeof pd, "%s/t-1", d);
    int fd = open(tb_seg(p, pd, abase, ".log"), O_WRONLY | O_APPEND);
    ck_assert_int_ge(fd, 0);
    kz_wr w = KZ_WR_INIT;
    tb_batch(&w, 20, 3, 500, 1, 30, 'x');
    ck_assert_int_eq(write(fd, w.base, w.len - 5), (ssize_t)(w.len - 5));
    close(fd);
    kz_wr_free(&w);
    kz_log_set_level(KZ_LOG_ERROR);
    ck_assert_int_eq(kb_log_mgr_open(&m, NULL, dirs, 1, &c, NULL, err, sizeof err), 0);
    kz_log_set_level(KZ_LOG_INFO);
    ck_assert(!kb_log_mgr_dir_was_clean(m, 0));
    a = kb_log_mgr_get(m, "t", 1);
    ck_assert_int_eq(kb_log_end_offset(a), 20);
    ck_assert_int_eq(kb_log_size(a), size_a);
    ck_assert_int_eq(kb_log_mgr_close(m), 0);
    rmtree(d);
}
END_TEST

START_TEST(t06_topic_cfg)
{
    char d[64], err[512];
    mktmp(d);
    const char *dirs[1] = { d };
    kb_log_cfg c = cfg_small();
    kb_log_mgr *m;
    ck_assert_int_eq(kb_log_mgr_open(&m, NULL, dirs, 1, &c, NULL, err, sizeof err), 0);
    kb_log *t0, *u0, *t1;
    ck_assert_int_eq(kb_log_mgr_get_or_create(m, "t", 0, &t0, err, sizeof err), 0);
    ck_assert_int_eq(kb_log_mgr_get_or_create(m, "u", 0, &u0, err, sizeof err), 0);
    for (int i = 0; i < 10; i++) {
        app(t0, 2, 1000 + i);
        app(u0, 2, 1000 + i);
    }
    /* the partition layer keeps the high watermark that bounds retention */
    kb_log_set_high_watermark(t0, kb_log_end_offset(t0));
    kb_log_set_high_watermark(u0, kb_log_end_offset(u0));
    size_t nt = kb_log_num_segments(t0), nu = kb_log_num_segments(u0);
    ck_assert_uint_gt(nt, 2);
    kb_log_cfg tc = c;
    tc.retention_ms = 5000;
    ck_assert_int_eq(kb_log_mgr_set_topic_cfg(m, "t", &tc), 0);
    ck_assert_int_eq(kb_log_cfg_get(t0)->retention_ms, 5000);
    ck_assert_int_eq(kb_log_cfg_get(u0)->retention_ms, c.retention_ms);
    ck_assert_int_eq(kb_log_mgr_get_or_create(m, "t", 1, &t1, err, sizeof err), 0);
    ck_assert_int_eq(kb_log_cfg_get(t1)->retention_ms, 5000);
    ck_assert_int_eq(kb_log_mgr_topic_cfg(m, "u")->retention_ms, c.retention_ms);
    /* every segment of t-0 is older than 5 s at 20000: all go, an empty one is rolled */
    ck_assert_int_eq(kb_log_mgr_retention_all(m, 20000), (int)nt);
    ck_assert_uint_eq(kb_log_num_segments(t0), 1);
    ck_assert_int_eq(kb_log_start_offset(t0), 20);
    ck_assert_uint_eq(kb_log_num_segments(u0), nu);
    ck_assert_int_eq(kb_log_mgr_set_topic_cfg(m, "t", NULL), 0);
    ck_assert_int_eq(kb_log_cfg_get(t0)->retention_ms, c.retention_ms);
    kb_log_cfg nd = c;
    nd.retention_bytes = 1;
    kb_log_mgr_set_defaults(m, &nd);
    ck_assert_int_eq(kb_log_cfg_get(u0)->retention_bytes, 1);
    ck_assert_int_eq(kb_log_mgr_retention_all(m, 20000), (int)nu - 1);
    ck_assert_uint_eq(kb_log_num_segments(u0), 1);
    ck_assert_int_eq(kb_log_mgr_close(m), 0);
    rmtree(d);
}
END_TEST

START_TEST(t07_open_cfg)
{
    char d[64], err[512], text[512];
    mktmp(d);
    snprintf(text, sizeof text, "broker.id=3\nzookeeper.connect=127.0.0.1:2181\nlog.dirs=%s/a,%s/b\n"
             "log.segment.bytes=123456\nlog.retention.ms=777\nlog.index.interval.bytes=99\n"
             "log.cleanup.policy=compact\nlog.segment.delete.delay.ms=5\n", d, d);
    kb_config bc;
    memset(&bc, 0, sizeof bc);
    kz_log_set_level(KZ_LOG_ERROR);
    ck_assert_msg(kb_config_load_mem(&bc, text, strlen(text), "test", err, sizeof err) == 0, "%s", err);
    kb_log_mgr *m;
    ck_assert_msg(kb_log_mgr_open_cfg(&m, NULL, &bc, err, sizeof err) == 0, "%s", err);
    kz_log_set_level(KZ_LOG_INFO);
    ck_assert_int_eq(kb_log_mgr_ndirs(m), 2);
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/b", d);
    ck_assert_str_eq(kb_log_mgr_dir(m, 1), p);
    kb_log *l;
    ck_assert_int_eq(kb_log_mgr_get_or_create(m, "t", 0, &l, err, sizeof err), 0);
    const kb_log_cfg *lc = kb_log_cfg_get(l);
    ck_assert_int_eq(lc->segment_bytes, 123456);
    ck_assert_int_eq(lc->retention_ms, 777);
    ck_assert_int_eq(lc->index_interval_bytes, 99);
    ck_assert_int_eq(lc->file_delete_delay_ms, 5);
    ck_assert(!lc->cleanup_delete);
    ck_assert_int_eq(kb_log_mgr_close(m), 0);
    kb_config_free(&bc);
    rmtree(d);
}
END_TEST

/* ------------------------------------------------------ background flushing */

/* A manager over the one directory @d whose flusher runs on @base, with the recorder @r as
 * its sync function. */
static kb_log_mgr *open_bg(const char *d, struct event_base *base, const kb_log_cfg *c, sync_rec *r)
{
    const char *dirs[1] = { d };
    char err[512];
    kb_log_mgr *m;
    ck_assert_msg(kb_log_mgr_open(&m, base, dirs, 1, c, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert_ptr_nonnull(kb_log_mgr_flusher(m));
    kb_flusher_set_sync_fn(kb_log_mgr_flusher(m), sr_sync, r);
    return m;
}

static kb_log *mklog(kb_log_mgr *m, const char *topic, int nbatches)
{
    char err[512];
    kb_log *l;
    ck_assert_int_eq(kb_log_mgr_get_or_create(m, topic, 0, &l, err, sizeof err), 0);
    for (int i = 0; i < nbatches; i++)
        app(l, 2, 100 + i);
    return l;
}

static int64_t active_base(const kb_log *l) { return kb_segment_base(kb_log_segment_at(l, kb_log_num_segments(l) - 1)); }

/* Asserts that the recorder saw exactly the .log/.index/.timeindex of segments [from, to) of
 * @l (in order) and then its directory, all off the main thread, starting at call @at. */
static void assert_synced(sync_rec *r, int at, const kb_log *l, size_t from, size_t to)
{
    static const char *const sfx[3] = { ".log", ".index", ".timeindex" };
    char p[PATH_MAX];
    for (size_t i = from; i < to; i++)
        for (int k = 0; k < 3; k++) {
            tb_seg(p, kb_log_dir(l), kb_segment_base(kb_log_segment_at(l, i)), sfx[k]);
            int want = at + (int)(i - from) * 3 + k;
            int got = sr_find_from(r, p, at);
            ck_assert_msg(got == want, "%s synced as call %d, expected %d", p, got, want);
        }
    int dir_at = at + (int)(to - from) * 3;
    ck_assert_int_eq(sr_find_from(r, kb_log_dir(l), at), dir_at);
    ck_assert_int_ge(sr_count(r), dir_at + 1);
    ck_assert(r->calls[dir_at].dir && r->calls[dir_at].is_dir);
    for (int i = at; i <= dir_at; i++)
        ck_assert(!r->calls[i].on_main);
}

static void assert_rp_file(const char *d, const char *want)
{
    char *t = text_of(d, "recovery-point-offset-checkpoint");
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(t, want);
    free(t);
}

START_TEST(t08_bg_checkpoint)
{
    char d[64], p[PATH_MAX], want[128];
    mktmp(d);
    struct event *tick;
    struct event_base *base = ut_base_new(&tick);
    kb_log_cfg c = cfg_small();
    sync_rec r;
    sr_init(&r);
    r.hold = true;
    kb_log_mgr *m = open_bg(d, base, &c, &r);
    kb_flusher *f = kb_log_mgr_flusher(m);
    kb_log *a = mklog(m, "t", 10);
    size_t nseg = kb_log_num_segments(a);
    ck_assert_uint_gt(nseg, 2);
    int64_t act = active_base(a);
    ck_assert_int_eq(kb_log_recovery_point(a), 0);

    /* the checkpoint returns while the flusher thread is held inside the sync: the loop never
     * waits on it. The checkpoint files are the thread's work too, queued behind the sync:
     * untouched until it is released, then written with the recovery point as it was */
    char *before = text_of(d, "recovery-point-offset-checkpoint");
    ck_assert_int_eq(kb_log_mgr_checkpoint(m), 0);
    ck_assert_uint_eq(kb_flusher_pending(f), 2); /* the segments' sync, the files */
    ck_assert_int_eq(kb_log_recovery_point(a), 0);
    sr_wait_entered(&r, 1);
    char *held = text_of(d, "recovery-point-offset-checkpoint");
    ck_assert(before == held || (before && held && strcmp(before, held) == 0));
    free(before);
    free(held);
    /* more rolls meanwhile; a second checkpoint queues no sync while the log has one, only
     * the files again */
    for (int i = 0; i < 5; i++)
        app(a, 2, 200 + i);
    ck_assert_int_gt(active_base(a), act);
    ck_assert_int_eq(kb_log_mgr_checkpoint(m), 0);
    ck_assert_uint_eq(kb_flusher_pending(f), 3);
    ut_spin(base, 30);
    ck_assert_int_eq(kb_log_recovery_point(a), 0);

    /* released: the completion comes through the loop, the recovery point is what the job
     * covered (the active base of the time), not the current active base; both file jobs
     * recorded the recovery point of their time (0) */
    sr_set_hold(&r, false);
    UT_WAIT_FOR(base, kb_flusher_pending(f) == 0, 5000);
    ck_assert_int_eq(kb_log_recovery_point(a), act);
    ck_assert_int_eq(sr_count(&r), (int)(nseg - 1) * 3 + 1);
    assert_synced(&r, 0, a, 0, nseg - 1);
    ck_assert_int_eq(sr_find(&r, tb_seg(p, kb_log_dir(a), act, ".log")), -1); /* then active: not synced */
    assert_rp_file(d, "0\n1\nt 0 0\n");

    /* the next checkpoint writes it and queues the segments rolled since */
    size_t nseg2 = kb_log_num_segments(a);
    int64_t act2 = active_base(a);
    ck_assert_int_eq(kb_log_mgr_checkpoint(m), 0);
    ck_assert_uint_eq(kb_flusher_pending(f), 2);
    UT_WAIT_FOR(base, kb_flusher_pending(f) == 0, 5000);
    snprintf(want, sizeof want, "0\n1\nt 0 %lld\n", (long long)act);
    assert_rp_file(d, want);
    ck_assert_int_eq(kb_log_recovery_point(a), act2);
    assert_synced(&r, (int)(nseg - 1) * 3 + 1, a, nseg - 1, nseg2 - 1);
    ck_assert_int_eq(kb_log_mgr_checkpoint(m), 0);
    ck_assert_uint_eq(kb_flusher_pending(f), 1); /* nothing rolled since: the files only */
    UT_WAIT_FOR(base, kb_flusher_pending(f) == 0, 5000);
    snprintf(want, sizeof want, "0\n1\nt 0 %lld\n", (long long)act2);
    assert_rp_file(d, want);

    ck_assert_int_eq(kb_log_mgr_close(m), 0);
    ck_assert(tb_exists(tb_path(p, d, ".kafka_cleanshutdown")));
    sr_destroy(&r);
    ut_base_free(base, tick);
    rmtree(d);
}
END_TEST

START_TEST(t09_bg_delete_pending)
{
    char d[64], p[PATH_MAX];
    mktmp(d);
    struct event *tick;
    struct event_base *base = ut_base_new(&tick);
    kb_log_cfg c = cfg_small();
    sync_rec r;
    sr_init(&r);
    r.hold = true;
    kb_log_mgr *m = open_bg(d, base, &c, &r);
    kb_flusher *f = kb_log_mgr_flusher(m);
    kb_log *a = mklog(m, "t", 10), *b = mklog(m, "u", 10);
    size_t na = kb_log_num_segments(a), nb = kb_log_num_segments(b);
    int64_t bact = active_base(b);
    ck_assert_int_eq(kb_log_mgr_checkpoint(m), 0);
    ck_assert_uint_eq(kb_flusher_pending(f), 3); /* two logs' syncs, the files */
    sr_wait_entered(&r, 1);

    /* t-0 goes while its job is queued or running, and a new t-0 takes its place with data */
    ck_assert_int_eq(kb_log_mgr_delete(m, a), 0);
    ck_assert(!tb_exists(tb_path(p, d, "t-0")));
    kb_log *a2 = mklog(m, "t", 2);
    ck_assert_int_eq(kb_log_end_offset(a2), 4);
    ck_assert_int_eq(kb_log_recovery_point(a2), 0);

    sr_set_hold(&r, false);
    UT_WAIT_FOR(base, kb_flusher_pending(f) == 0, 5000);
    /* both jobs ran to the end (the deleted files through their duplicates) */
    ck_assert_int_eq(sr_count(&r), (int)(na - 1 + nb - 1) * 3 + 2);
    /* the old t-0's result (an offset above 4) did not reach the new log */
    ck_assert_int_eq(kb_log_recovery_point(a2), 0);
    ck_assert_int_eq(kb_log_recovery_point(b), bact);
    ck_assert_ptr_eq(kb_log_mgr_get(m, "t", 0), a2);
    ck_assert_int_eq(kb_log_mgr_close(m), 0);
    sr_destroy(&r);
    ut_base_free(base, tick);
    rmtree(d);
}
END_TEST

START_TEST(t10_bg_truncate_pending)
{
    char d[64];
    mktmp(d);
    struct event *tick;
    struct event_base *base = ut_base_new(&tick);
    kb_log_cfg c = cfg_small();
    sync_rec r;
    sr_init(&r);
    r.hold = true;
    kb_log_mgr *m = open_bg(d, base, &c, &r);
    kb_flusher *f = kb_log_mgr_flusher(m);
    kb_log *a = mklog(m, "t", 10);
    int64_t act = active_base(a);
    ck_assert_int_eq(kb_log_mgr_checkpoint(m), 0);
    sr_wait_entered(&r, 1);
    /* a follower truncation below the covered offset, then new (unsynced) data past it */
    ck_assert_int_eq(kb_log_truncate_to(a, 3), 0);
    ck_assert_int_eq(kb_log_end_offset(a), 2);
    for (int i = 0; i < 10; i++)
        app(a, 2, 300 + i);
    ck_assert_int_gt(kb_log_end_offset(a), act);
    sr_set_hold(&r, false);
    UT_WAIT_FOR(base, kb_flusher_pending(f) == 0, 5000);
    ck_assert_int_eq(kb_log_recovery_point(a), 0);
    ck_assert_int_eq(kb_log_error(a), 0);
    /* the next round covers the new segments */
    int64_t act2 = active_base(a);
    ck_assert_int_eq(kb_log_mgr_checkpoint(m), 0);
    UT_WAIT_FOR(base, kb_flusher_pending(f) == 0, 5000);
    ck_assert_int_eq(kb_log_recovery_point(a), act2);
    ck_assert_int_eq(kb_log_mgr_close(m), 0);
    sr_destroy(&r);
    ut_base_free(base, tick);
    rmtree(d);
}
END_TEST

START_TEST(t11_bg_close_drains)
{
    char d[64], p[PATH_MAX], err[512], want[128];
    mktmp(d);
    struct event *tick;
    struct event_base *base = ut_base_new(&tick);
    kb_log_cfg c = cfg_small();
    sync_rec r;
    sr_init(&r);
    r.delay_ms = 20;
    kb_log_mgr *m = open_bg(d, base, &c, &r);
    kb_log *a = mklog(m, "t", 10), *b = mklog(m, "u", 10);
    size_t na = kb_log_num_segments(a), nb = kb_log_num_segments(b);
    ck_assert_int_eq(kb_log_mgr_checkpoint(m), 0);
    ck_assert_uint_eq(kb_flusher_pending(kb_log_mgr_flusher(m)), 3); /* two syncs, the files */
    int before = sr_count(&r);
    ck_assert_int_lt(before, (int)(na - 1 + nb - 1) * 3 + 2); /* still at work */
    ck_assert_int_eq(kb_log_mgr_close(m), 0);
    /* every queued sync ran before the thread went; the rest was synchronous */
    ck_assert_int_eq(sr_count(&r), (int)(na - 1 + nb - 1) * 3 + 2);
    ck_assert(tb_exists(tb_path(p, d, ".kafka_cleanshutdown")));
    assert_rp_file(d, "0\n2\nt 0 20\nu 0 20\n");

    const char *dirs[1] = { d };
    ck_assert_int_eq(kb_log_mgr_open(&m, NULL, dirs, 1, &c, NULL, err, sizeof err), 0);
    ck_assert(kb_log_mgr_dir_was_clean(m, 0));
    ck_assert_ptr_null(kb_log_mgr_flusher(m));
    a = kb_log_mgr_get(m, "t", 0);
    ck_assert_int_eq(kb_log_end_offset(a), 20);
    ck_assert_int_eq(kb_log_recovery_point(a), 20);
    ck_assert_int_eq(kb_log_mgr_close(m), 0);
    snprintf(want, sizeof want, "0\n2\nt 0 20\nu 0 20\n");
    assert_rp_file(d, want);
    sr_destroy(&r);
    ut_base_free(base, tick);
    rmtree(d);
}
END_TEST

START_TEST(t12_bg_sync_error)
{
    char d[64], p[PATH_MAX], err[512];
    mktmp(d);
    struct event *tick;
    struct event_base *base = ut_base_new(&tick);
    kb_log_cfg c = cfg_small();
    sync_rec r;
    sr_init(&r);
    r.fail_at = 0;
    r.fail_rc = -EIO;
    kz_log_set_level(KZ_LOG_FATAL);
    kb_log_mgr *m = open_bg(d, base, &c, &r);
    kb_log *a = mklog(m, "t", 10), *b = mklog(m, "u", 1);
    ck_assert_int_eq(kb_log_mgr_checkpoint(m), 0);
    UT_WAIT_FOR(base, kb_flusher_pending(kb_log_mgr_flusher(m)) == 0, 5000);
    ck_assert_int_eq(kb_log_recovery_point(a), 0);
    ck_assert_int_eq(kb_log_error(a), -EIO);
    kz_wr w = KZ_WR_INIT;
    tb_batch(&w, 0, 1, 500, 1, 30, 'z');
    ck_assert_int_eq(kb_log_append(a, w.base, w.len, 1, 500, NULL), -EIO);
    kz_wr_free(&w);
    ck_assert_int_eq(kb_log_end_offset(a), 20);
    app(b, 1, 600); /* the other log is fine */
    ck_assert_int_eq(kb_log_mgr_checkpoint(m), -EIO);
    assert_rp_file(d, "0\n2\nt 0 0\nu 0 0\n");
    ck_assert_int_eq(kb_log_mgr_close(m), -EIO);
    ck_assert(!tb_exists(tb_path(p, d, ".kafka_cleanshutdown")));

    /* the next open recovers from the recovery point that was written */
    const char *dirs[1] = { d };
    ck_assert_int_eq(kb_log_mgr_open(&m, NULL, dirs, 1, &c, NULL, err, sizeof err), 0);
    kz_log_set_level(KZ_LOG_INFO);
    ck_assert(!kb_log_mgr_dir_was_clean(m, 0));
    ck_assert_int_eq(kb_log_end_offset(kb_log_mgr_get(m, "t", 0)), 20);
    ck_assert_int_eq(kb_log_end_offset(kb_log_mgr_get(m, "u", 0)), 3);
    ck_assert_int_eq(kb_log_mgr_close(m), 0);
    sr_destroy(&r);
    ut_base_free(base, tick);
    rmtree(d);
}
END_TEST

START_TEST(t13_bg_flush_ms)
{
    char d[64], p[PATH_MAX];
    mktmp(d);
    struct event *tick;
    struct event_base *base = ut_base_new(&tick);
    kb_log_cfg c = cfg_small();
    c.flush_ms = 1000;
    sync_rec r;
    sr_init(&r);
    kb_log_mgr *m = open_bg(d, base, &c, &r);
    kb_flusher *f = kb_log_mgr_flusher(m);
    kb_log *a = mklog(m, "t", 3);
    ck_assert_uint_eq(kb_log_num_segments(a), 1);
    ck_assert_int_eq(kb_log_mgr_flush_due(m, kz_wall_ms()), 0); /* not yet due */
    ck_assert_uint_eq(kb_flusher_pending(f), 0);
    ck_assert_int_eq(kb_log_mgr_flush_due(m, kz_wall_ms() + 2000), 0);
    ck_assert_uint_eq(kb_flusher_pending(f), 1);
    ck_assert_int_eq(kb_log_recovery_point(a), 0);
    UT_WAIT_FOR(base, kb_flusher_pending(f) == 0, 5000);
    ck_assert_int_eq(kb_log_recovery_point(a), 6);
    assert_synced(&r, 0, a, 0, 1); /* the active segment */
    ck_assert_int_eq(kb_log_mgr_flush_due(m, kz_wall_ms() + 2000), 0); /* nothing unflushed */
    ck_assert_uint_eq(kb_flusher_pending(f), 0);

    /* flush.messages: the append that crosses it flushes before returning, on this thread */
    kb_log_cfg fm = c;
    fm.flush_messages = 2;
    ck_assert_int_eq(kb_log_mgr_set_topic_cfg(m, "t", &fm), 0);
    int before = sr_count(&r);
    app(a, 2, 700);
    ck_assert_int_eq(kb_log_recovery_point(a), 8);
    ck_assert_uint_eq(kb_flusher_pending(f), 0);
    ck_assert_int_eq(sr_count(&r), before);
    ck_assert_int_eq(kb_log_mgr_close(m), 0);
    ck_assert(tb_exists(tb_path(p, d, ".kafka_cleanshutdown")));
    sr_destroy(&r);
    ut_base_free(base, tick);
    rmtree(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("log_mgr");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, t01_checkpoint);
    tcase_add_test(tc, t02_meta);
    tcase_add_test(tc, t03_lock);
    tcase_add_test(tc, t04_logs);
    tcase_add_test(tc, t05_shutdown);
    tcase_add_test(tc, t06_topic_cfg);
    tcase_add_test(tc, t07_open_cfg);
    tcase_add_test(tc, t08_bg_checkpoint);
    tcase_add_test(tc, t09_bg_delete_pending);
    tcase_add_test(tc, t10_bg_truncate_pending);
    tcase_add_test(tc, t11_bg_close_drains);
    tcase_add_test(tc, t12_bg_sync_error);
    tcase_add_test(tc, t13_bg_flush_ms);
    suite_add_tcase(s, tc);
    return ut_run(s);
}
