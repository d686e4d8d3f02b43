/* test/unit/check_flusher.c -- the background sync thread (broker/kb_flusher.c).
 *
 *  01 jobs run in order on the flusher thread (data descriptors, then the directory), their
 *     completions run on the loop in order, the descriptors end up closed
 *  02 a failing sync: the job reports the first error, its other descriptors are still synced
 *  03 free with jobs queued: every queued job is synced, completions are dropped (drop called)
 *  04 the default sync function: fdatasync of a file succeeds, of a pipe fails with -EINVAL
 *  05 drain waits for the job the thread holds, then runs its completion on the caller */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kb_flusher.h"
#include "kb_flusher_test.h"
#include "kz_time.h"
#include "unit_util.h"

/* What the completions saw. */
typedef struct done_log {
    int n, drops;
    int order[16];
    int rc[16];
} done_log;

typedef struct done_ctx {
    done_log *dl;
    int id;
} done_ctx;

static void on_done(void *ctx, int rc)
{
    done_ctx *c = ctx;
    c->dl->order[c->dl->n] = c->id;
    c->dl->rc[c->dl->n++] = rc;
}

static void on_drop(void *ctx)
{
    done_ctx *c = ctx;
    c->dl->drops++;
}

/* A file <dir>/<name> holding a few bytes, opened read-write; its path in @path. */
static int mkfile(const char *dir, const char *name, char *path)
{
    snprintf(path, PATH_MAX, "%s/%s", dir, name);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, name, strlen(name)), (ssize_t)strlen(name));
    return fd;
}

/* A malloc'd array of the @n descriptors. */
static int *fdv(size_t n, const int *fds)
{
    int *v = malloc(n * sizeof *v);
    ck_assert_ptr_nonnull(v);
    memcpy(v, fds, n * sizeof *v);
    return v;
}

static void assert_closed(int fd)
{
    errno = 0;
    ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
    ck_assert_int_eq(errno, EBADF);
}

static void assert_call(sync_rec *r, int i, const char *path, bool dir)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_msg(r->calls[i].ino == st.st_ino && r->calls[i].dev == st.st_dev, "call %d is not %s", i, path);
    ck_assert(r->calls[i].dir == dir);
    ck_assert(r->calls[i].is_dir == dir);
    ck_assert(!r->calls[i].on_main);
}

START_TEST(t01_order)
{
    char d[64], pa[PATH_MAX], pb[PATH_MAX], pc[PATH_MAX];
    mktmp_prefix(d, "kb_fl_");
    struct event *tick;
    struct event_base *base = ut_base_new(&tick);
    kb_flusher *f;
    ck_assert_int_eq(kb_flusher_new(&f, base), 0);
    sync_rec r;
    sr_init(&r);
    r.hold = true;
    kb_flusher_set_sync_fn(f, sr_sync, &r);
    int a = mkfile(d, "a", pa), b = mkfile(d, "b", pb), c = mkfile(d, "c", pc);
    int dir1 = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC), dir3 = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert(dir1 >= 0 && dir3 >= 0);
    done_log dl = { 0 };
    done_ctx c1 = { &dl, 1 }, c2 = { &dl, 2 }, c3 = { &dl, 3 };
    ck_assert_int_eq(kb_flusher_submit(f, fdv(2, (int[]){ a, b }), 2, dir1, on_done, on_drop, &c1), 0);
    ck_assert_int_eq(kb_flusher_submit(f, fdv(1, (int[]){ c }), 1, -1, on_done, on_drop, &c2), 0);
    ck_assert_int_eq(kb_flusher_submit(f, NULL, 0, dir3, on_done, on_drop, &c3), 0);
    ck_assert_uint_eq(kb_flusher_pending(f), 3);

    /* the thread sits in the first sync: the loop runs on, nothing completes */
    sr_wait_entered(&r, 1);
    ut_spin(base, 30);
    ck_assert_int_eq(dl.n, 0);
    ck_assert_uint_eq(kb_flusher_pending(f), 3);
    ck_assert_int_eq(sr_count(&r), 0);

    sr_set_hold(&r, false);
    UT_WAIT_FOR(base, dl.n == 3, 5000); /* completions arrive through the loop's own wakeup */
    ck_assert_uint_eq(kb_flusher_pending(f), 0);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(dl.order[i], i + 1);
        ck_assert_int_eq(dl.rc[i], 0);
    }
    ck_assert_int_eq(sr_count(&r), 5);
    assert_call(&r, 0, pa, false);
    assert_call(&r, 1, pb, false);
    assert_call(&r, 2, d, true);
    assert_call(&r, 3, pc, false);
    assert_call(&r, 4, d, true);
    int all[] = { a, b, c, dir1, dir3 };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        assert_closed(all[i]);
    ck_assert_uint_eq(kb_flusher_drain(f), 0);
    kb_flusher_free(f);
    ck_assert_int_eq(dl.drops, 0);
    sr_destroy(&r);
    ut_base_free(base, tick);
    rmtree(d);
}
END_TEST

/* Work jobs (the checkpoint files): run on the thread, in queue order behind a held sync,
 * their result reported like a sync's. */
typedef struct work_ctx {
    done_ctx dc;
    int ran;
    bool on_loop;
    pthread_t loop;
} work_ctx;

static int work_fn(void *ctx)
{
    work_ctx *w = ctx;
    w->ran++;
    w->on_loop = pthread_equal(pthread_self(), w->loop);
    return w->dc.id == 2 ? -EIO : 0;
}

static void work_done(void *ctx, int rc) { on_done(&((work_ctx *)ctx)->dc, rc); }

START_TEST(t06_work_jobs)
{
    char d[64], pa[PATH_MAX];
    mktmp_prefix(d, "kb_fl_");
    struct event *tick;
    struct event_base *base = ut_base_new(&tick);
    kb_flusher *f;
    ck_assert_int_eq(kb_flusher_new(&f, base), 0);
    sync_rec r;
    sr_init(&r);
    r.hold = true;
    kb_flusher_set_sync_fn(f, sr_sync, &r);
    int a = mkfile(d, "a", pa);
    done_log dl = { 0 };
    done_ctx c0 = { &dl, 0 };
    work_ctx w1 = { { &dl, 1 }, 0, true, pthread_self() }, w2 = { { &dl, 2 }, 0, true, pthread_self() };
    ck_assert_int_eq(kb_flusher_submit(f, fdv(1, (int[]){ a }), 1, -1, on_done, on_drop, &c0), 0);
    ck_assert_int_eq(kb_flusher_run(f, work_fn, work_done, NULL, &w1), 0);
    ck_assert_int_eq(kb_flusher_run(f, work_fn, work_done, NULL, &w2), 0);
    ck_assert_uint_eq(kb_flusher_pending(f), 3);
    sr_wait_entered(&r, 1);
    ut_spin(base, 30);
    ck_assert_int_eq(w1.ran + w2.ran, 0); /* queued behind the held sync */
    sr_set_hold(&r, false);
    UT_WAIT_FOR(base, dl.n == 3, 5000);
    ck_assert_int_eq(w1.ran, 1);
    ck_assert_int_eq(w2.ran, 1);
    ck_assert(!w1.on_loop && !w2.on_loop);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(dl.order[i], i);
    ck_assert_int_eq(dl.rc[1], 0);
    ck_assert_int_eq(dl.rc[2], -EIO);
    kb_flusher_free(f);
    sr_destroy(&r);
    ut_base_free(base, tick);
    rmtree(d);
}
END_TEST

START_TEST(t02_error)
{
    char d[64], p[PATH_MAX];
    mktmp_prefix(d, "kb_fl_");
    struct event *tick;
    struct event_base *base = ut_base_new(&tick);
    kb_flusher *f;
    ck_assert_int_eq(kb_flusher_new(&f, base), 0);
    sync_rec r;
    sr_init(&r);
    r.fail_at = 1;
    r.fail_rc = -EIO;
    kb_flusher_set_sync_fn(f, sr_sync, &r);
    int fds[3] = { mkfile(d, "a", p), mkfile(d, "b", p), mkfile(d, "c", p) };
    int dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int e = mkfile(d, "e", p);
    done_log dl = { 0 };
    done_ctx c1 = { &dl, 1 }, c2 = { &dl, 2 };
    ck_assert_int_eq(kb_flusher_submit(f, fdv(3, fds), 3, dfd, on_done, on_drop, &c1), 0);
    ck_assert_int_eq(kb_flusher_submit(f, fdv(1, &e), 1, -1, on_done, on_drop, &c2), 0);
    ck_assert_uint_eq(kb_flusher_drain(f), 2);
    ck_assert_int_eq(dl.n, 2);
    ck_assert_int_eq(dl.order[0], 1);
    ck_assert_int_eq(dl.rc[0], -EIO);
    ck_assert_int_eq(dl.order[1], 2);
    ck_assert_int_eq(dl.rc[1], 0);
    ck_assert_int_eq(sr_count(&r), 5); /* c and the directory after the failure, then e */
    ck_assert(r.calls[3].dir && r.calls[3].is_dir);
    assert_call(&r, 4, p, false);
    kb_flusher_free(f);
    sr_destroy(&r);
    ut_base_free(base, tick);
    rmtree(d);
}
END_TEST

START_TEST(t03_free_with_queue)
{
    char d[64], p1[PATH_MAX], p2[PATH_MAX];
    mktmp_prefix(d, "kb_fl_");
    struct event *tick;
    struct event_base *base = ut_base_new(&tick);
    kb_flusher *f;
    ck_assert_int_eq(kb_flusher_new(&f, base), 0);
    sync_rec r;
    sr_init(&r);
    r.delay_ms = 50;
    kb_flusher_set_sync_fn(f, sr_sync, &r);
    int a = mkfile(d, "a", p1), b = mkfile(d, "b", p2);
    done_log dl = { 0 };
    done_ctx c1 = { &dl, 1 }, c2 = { &dl, 2 };
    ck_assert_int_eq(kb_flusher_submit(f, fdv(1, &a), 1, -1, on_done, on_drop, &c1), 0);
    ck_assert_int_eq(kb_flusher_submit(f, fdv(1, &b), 1, -1, on_done, on_drop, &c2), 0);
    kb_flusher_free(f); /* at once: the second job is still queued */
    ck_assert_int_eq(sr_count(&r), 2);
    assert_call(&r, 0, p1, false);
    assert_call(&r, 1, p2, false);
    ck_assert_int_eq(dl.n, 0);
    ck_assert_int_eq(dl.drops, 2);
    assert_closed(a);
    assert_closed(b);
    sr_destroy(&r);
    ut_base_free(base, tick);
    rmtree(d);
}
END_TEST

START_TEST(t04_default_sync)
{
    char d[64], p[PATH_MAX];
    mktmp_prefix(d, "kb_fl_");
    struct event *tick;
    struct event_base *base = ut_base_new(&tick);
    kb_flusher *f;
    ck_assert_int_eq(kb_flusher_new(&f, base), 0);
    int a = mkfile(d, "a", p), pfd[2];
    ck_assert_int_eq(pipe(pfd), 0);
    done_log dl = { 0 };
    done_ctx c1 = { &dl, 1 }, c2 = { &dl, 2 };
    ck_assert_int_eq(kb_flusher_submit(f, fdv(1, &a), 1, open(d, O_RDONLY | O_DIRECTORY), on_done, on_drop, &c1), 0);
    ck_assert_int_eq(kb_flusher_submit(f, fdv(1, &pfd[0]), 1, -1, on_done, on_drop, &c2), 0);
    ck_assert_uint_eq(kb_flusher_drain(f), 2);
    ck_assert_int_eq(dl.rc[0], 0);
    ck_assert_int_eq(dl.rc[1], -EINVAL); /* a pipe cannot be synced */
    assert_closed(pfd[0]);
    close(pfd[1]);
    kb_flusher_free(f);
    ut_base_free(base, tick);
    rmtree(d);
}
END_TEST

static void *release_later(void *arg)
{
    usleep(100 * 1000);
    sr_set_hold(arg, false);
    return NULL;
}

START_TEST(t05_drain_waits)
{
    char d[64], p[PATH_MAX];
    mktmp_prefix(d, "kb_fl_");
    struct event *tick;
    struct event_base *base = ut_base_new(&tick);
    kb_flusher *f;
    ck_assert_int_eq(kb_flusher_new(&f, base), 0);
    sync_rec r;
    sr_init(&r);
    r.hold = true;
    kb_flusher_set_sync_fn(f, sr_sync, &r);
    int a = mkfile(d, "a", p);
    done_log dl = { 0 };
    done_ctx c1 = { &dl, 1 };
    ck_assert_int_eq(kb_flusher_submit(f, fdv(1, &a), 1, -1, on_done, on_drop, &c1), 0);
    sr_wait_entered(&r, 1);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, release_later, &r), 0);
    int64_t t0 = kz_mono_ms();
    ck_assert_uint_eq(kb_flusher_drain(f), 1);
    ck_assert_int_ge(kz_mono_ms() - t0, 80);
    ck_assert_int_eq(dl.n, 1);
    ck_assert_int_eq(dl.rc[0], 0);
    ck_assert(!r.calls[0].on_main);
    ck_assert_uint_eq(kb_flusher_pending(f), 0);
    pthread_join(th, NULL);
    kb_flusher_free(f);
    sr_destroy(&r);
    ut_base_free(base, tick);
    rmtree(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("flusher");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, t01_order);
    tcase_add_test(tc, t02_error);
    tcase_add_test(tc, t03_free_with_queue);
    tcase_add_test(tc, t04_default_sync);
    tcase_add_test(tc, t05_drain_waits);
    tcase_add_test(tc, t06_work_jobs);
    suite_add_tcase(s, tc);
    return ut_run(s);
}
