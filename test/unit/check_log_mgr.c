/* test/unit/check_log_mgr.c -- checkpoint files (broker/kb_checkpoint.c) and the log manager
 * (broker/kb_log_mgr.c).
 *
 *  01 offset checkpoint: exact bytes, reading rules of Kafka's reader, malformed files
 *  02 meta.properties: content, read back, never rewritten, inconsistency and version refused
 *  03 the .lock of a log dir refuses a second open, in this process and in another one
 *  04 logs across dirs: placement by fewest partitions, get, delete, leftovers, duplicates
 *  05 clean shutdown: marker, exact checkpoint files, state restored; unclean: recovery
 *  06 per-topic configuration and retention of every log
 *  07 opening from a server.properties configuration */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "kb_checkpoint.h"
#include "kb_config.h"
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
    ck_assert_int_eq(kb_log_mgr_open(&m, dirs, 2, &c, &meta, err, sizeof err), 0);
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

    ck_assert_int_eq(kb_log_mgr_open(&m, dirs, 2, &c, &meta, err, sizeof err), 0);
    ck_assert_int_eq(meta.ndirs_with_meta, 2);
    ck_assert_int_eq(meta.broker_id, 7);
    ck_assert_str_eq(meta.cluster_id, "x7GvU0e1T9q2a_b-cdEfgh");
    ck_assert_int_eq(kb_log_mgr_get_meta(m)->broker_id, 7);
    ck_assert_int_eq(kb_log_mgr_close(m), 0);

    /* a directory that says something else */
    kz_log_set_level(KZ_LOG_FATAL);
    put_text(d2, "meta.properties", "#\n#Thu Jan 01 00:00:00 UTC 2026\nbroker.id=9\nversion=0\n"
                                    "cluster.id=x7GvU0e1T9q2a_b-cdEfgh\n");
    ck_assert_int_eq(kb_log_mgr_open(&m, dirs, 2, &c, &meta, err, sizeof err), KB_LOG_EMETA);
    ck_assert_ptr_nonnull(strstr(err, "BrokerMetadata is not consistent across log.dirs"));
    ck_assert_ptr_nonnull(strstr(err, d2));
    /* version 1 is KRaft's; a missing version is 0 */
    put_text(d2, "meta.properties", "version=1\nnode.id=7\ncluster.id=x7GvU0e1T9q2a_b-cdEfgh\n");
    ck_assert_int_eq(kb_log_mgr_open(&m, dirs, 2, &c, &meta, err, sizeof err), KB_LOG_EMETA);
    ck_assert_ptr_nonnull(strstr(err, "Found unexpected version"));
    put_text(d2, "meta.properties", "broker.id=7\ncluster.id=x7GvU0e1T9q2a_b-cdEfgh\n");
    ck_assert_int_eq(kb_log_mgr_open(&m, dirs, 2, &c, &meta, err, sizeof err), 0);
    ck_assert_int_eq(meta.broker_id, 7);
    ck_assert_int_eq(kb_log_mgr_close(m), 0);
    put_text(d2, "meta.properties", "broker.id=seven\n");
    ck_assert_int_eq(kb_log_mgr_open(&m, dirs, 2, &c, &meta, err, sizeof err), KB_LOG_EMETA);
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
    ck_assert_int_eq(kb_log_mgr_open(&m, dirs, 2, &c, NULL, err, sizeof err), 0);
    ck_assert(tb_exists(tb_path(want, d1, ".lock")));
    kz_log_set_level(KZ_LOG_FATAL);
    ck_assert_int_eq(kb_log_mgr_open(&m2, dirs + 1, 1, &c, NULL, err, sizeof err), KB_LOG_ELOCKED);
    snprintf(want, sizeof want, "Failed to acquire lock on file .lock in %s. A Kafka instance in another process "
             "or thread is using this directory.", kb_log_mgr_dir(m, 1));
    ck_assert_str_eq(err, want);
    ck_assert_ptr_null(m2);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char e2[512];
        kb_log_mgr *mc;
        _exit(kb_log_mgr_open(&mc, dirs, 1, &c, NULL, e2, sizeof e2) == KB_LOG_ELOCKED ? 0 : 1);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    kz_log_set_level(KZ_LOG_INFO);
    ck_assert_int_eq(kb_log_mgr_close(m), 0);
    ck_assert_int_eq(kb_log_mgr_open(&m2, dirs + 1, 1, &c, NULL, err, sizeof err), 0);
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
    ck_assert_int_eq(kb_log_mgr_open(&m, dirs, 2, &c, NULL, err, sizeof err), 0);
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
    ck_assert_int_eq(kb_log_mgr_open(&m, dirs, 2, &c, NULL, err, sizeof err), 0);
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
    ck_assert_int_eq(kb_log_mgr_open(&m, dirs, 2, &c, NULL, err, sizeof err), KB_LOG_EDUP);
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
    ck_assert_int_eq(kb_log_mgr_open(&m, dirs, 1, &c, NULL, err, sizeof err), 0);
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

    ck_assert_int_eq(kb_log_mgr_open(&m, dirs, 1, &c, NULL, err, sizeof err), 0);
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
    ck_assert_int_eq(kb_log_mgr_open(&m, dirs, 1, &c, NULL, err, sizeof err), 0);
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
    ck_assert_int_eq(kb_log_mgr_open(&m, dirs, 1, &c, NULL, err, sizeof err), 0);
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
    ck_assert_msg(kb_log_mgr_open_cfg(&m, &bc, err, sizeof err) == 0, "%s", err);
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
    suite_add_tcase(s, tc);
    return ut_run(s);
}
