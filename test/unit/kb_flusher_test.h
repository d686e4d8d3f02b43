/* test/unit/kb_flusher_test.h -- a sync function for kb_flusher_set_sync_fn that records what
 * the flusher thread syncs (inode, directory or not, on which thread), can hold the thread at
 * a gate, slow it down or make one call fail. Shared by check_flusher and check_log_mgr.
 * Header-only: each suite is its own program. */
#ifndef KB_FLUSHER_TEST_H
#define KB_FLUSHER_TEST_H

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kb_flusher.h"

#define SR_MAX 256

typedef struct sr_call {
    dev_t dev;
    ino_t ino;
    bool dir;     /* the flusher said "directory" */
    bool is_dir;  /* fstat says directory */
    bool on_main; /* ran on the thread that made the recorder */
} sr_call;

typedef struct sync_rec {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t main;
    bool hold;     /* calls wait at the gate while set */
    int entered;   /* calls that started (before the gate) */
    int n;         /* calls recorded (after the gate) */
    sr_call calls[SR_MAX];
    int fail_at;   /* index of the call (by start order) that returns fail_rc; -1: none */
    int fail_rc;
    int delay_ms;  /* sleep of every call after the gate */
} sync_rec;

static inline void sr_init(sync_rec *r)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->main = pthread_self();
    r->fail_at = -1;
}

static inline void sr_destroy(sync_rec *r)
{
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
}

/* The kb_flusher_sync_fn: record, wait at the gate, then really sync (or fail). */
static inline int sr_sync(void *ctx, int fd, bool dir)
{
    sync_rec *r = ctx;
    struct stat st;
    int ok = fstat(fd, &st);
    pthread_mutex_lock(&r->mu);
    int k = r->entered++;
    pthread_cond_broadcast(&r->cv);
    while (r->hold)
        pthread_cond_wait(&r->cv, &r->mu);
    if (r->n < SR_MAX)
        r->calls[r->n++] = (sr_call){ ok == 0 ? st.st_dev : 0, ok == 0 ? st.st_ino : 0, dir,
                                      ok == 0 && S_ISDIR(st.st_mode), pthread_equal(pthread_self(), r->main) != 0 };
    int delay = r->delay_ms, rc = k == r->fail_at ? r->fail_rc : 0;
    pthread_mutex_unlock(&r->mu);
    if (delay > 0) {
        struct timespec ts = { delay / 1000, (long)(delay % 1000) * 1000000L };
        nanosleep(&ts, NULL);
    }
    if (rc)
        return rc;
    return (dir ? fsync(fd) : fdatasync(fd)) != 0 ? -errno : 0;
}

static inline void sr_set_hold(sync_rec *r, bool hold)
{
    pthread_mutex_lock(&r->mu);
    r->hold = hold;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

/* Waits (up to 5 s) until at least @k calls have started; fails the test otherwise. */
static inline void sr_wait_entered(sync_rec *r, int k)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 5;
    pthread_mutex_lock(&r->mu);
    int rc = 0;
    while (r->entered < k && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&r->cv, &r->mu, &dl);
    int got = r->entered;
    pthread_mutex_unlock(&r->mu);
    ck_assert_msg(got >= k, "only %d of %d syncs started", got, k);
}

static inline int sr_count(sync_rec *r)
{
    pthread_mutex_lock(&r->mu);
    int n = r->n;
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* Index of the first recorded call from @from on that synced the file at @path, or -1. */
static inline int sr_find_from(sync_rec *r, const char *path, int from)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    pthread_mutex_lock(&r->mu);
    int at = -1;
    for (int i = from; i < r->n && at < 0; i++)
        if (r->calls[i].dev == st.st_dev && r->calls[i].ino == st.st_ino)
            at = i;
    pthread_mutex_unlock(&r->mu);
    return at;
}

static inline int sr_find(sync_rec *r, const char *path) { return sr_find_from(r, path, 0); }

#endif
