/* coordinator/zkd_sync.c -- the group-commit sync thread (see zkd_sync.h).
 *
 * Shared state (everything under `mu`): the queue of pending items, the
 * stopping flag, the highest durable zxid, the failed flag and the stats.
 * The txn log writer belongs to the sync thread alone; the event, the
 * eventfd's read side and `reported` belong to the loop thread.
 * Invariants: items are appended and written in queue order; durable_zxid
 * only grows; reported <= durable_zxid. */
#include "zkd_sync.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kz_log.h"
#include "kz_vec.h"
#include "zkd_txnlog.h"

#define ZKD_SYNC_COMP "SyncThread"
#define ZKD_FSYNC_WARN_MS 1000 /* fsync.warningthresholdms */

typedef struct zkd_sync_item {
    int64_t zxid;
    uint8_t *txn; /* NULL: roll marker */
    size_t len;
} zkd_sync_item;

typedef struct zkd_sync_queue {
    zkd_sync_item *v;
    size_t n, cap;
} zkd_sync_queue;

struct zkd_sync {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    zkd_sync_queue q;        /* mu */
    size_t inflight;         /* mu: txns taken by the thread, not yet durable */
    bool stopping;           /* mu */
    bool failed;             /* mu */
    int64_t durable_zxid;    /* mu */
    zkd_sync_stats st;       /* mu */
    double sum_ms;           /* mu */
    zkd_txnlog *log;         /* sync thread */
    bool force_sync;
    int efd;
    struct event *ev;        /* loop thread */
    int64_t reported;        /* loop thread */
    bool fail_reported;      /* loop thread */
    zkd_sync_durable_fn *durable;
    void *ctx;
};

static int zkd_sync_push(zkd_sync_queue *q, zkd_sync_item it)
{
    if (KZ_VEC_RESERVE(q->v, q->cap, q->n + 1, 256) != 0)
        return -ENOMEM;
    q->v[q->n++] = it;
    return 0;
}

static void zkd_sync_post(zkd_sync *s)
{
    uint64_t one = 1;
    while (write(s->efd, &one, sizeof one) < 0 && errno == EINTR)
        ;
}

/* Appends and syncs one batch: 0 with *high the highest zxid written (-1
 * for none), or -errno. Frees every txn of the batch. */
static int zkd_sync_batch(zkd_sync *s, zkd_sync_queue *b, bool failed, int64_t *sync_ns, size_t *ntxn,
                          int64_t *high)
{
    int rc = failed ? -EIO : 0;
    *ntxn = 0;
    *high = -1;
    for (size_t i = 0; i < b->n; i++) {
        zkd_sync_item *it = &b->v[i];
        if (rc == 0) {
            if (!it->txn) {
                rc = zkd_txnlog_roll(s->log);
            } else if ((rc = zkd_txnlog_append(s->log, it->zxid, it->txn, it->len)) == 0) {
                *high = it->zxid > *high ? it->zxid : *high;
                (*ntxn)++;
            }
        }
        free(it->txn);
    }
    b->n = 0;
    if (rc == 0)
        rc = zkd_txnlog_flush(s->log, s->force_sync, sync_ns);
    return rc;
}

static void *zkd_sync_main(void *arg)
{
    zkd_sync *s = arg;
    zkd_sync_queue batch = { NULL, 0, 0 };
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (s->q.n == 0 && !s->stopping)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->q.n == 0)
            break; /* stopping and drained */
        zkd_sync_queue tmp = s->q; /* take everything queued */
        s->q = batch;
        batch = tmp;
        bool failed = s->failed;
        pthread_mutex_unlock(&s->mu);

        int64_t ns = 0, high = -1;
        size_t ntxn = 0;
        int rc = zkd_sync_batch(s, &batch, failed, &ns, &ntxn, &high);
        double ms = (double)ns / 1e6;
        if (rc == 0 && s->force_sync && ms >= ZKD_FSYNC_WARN_MS)
            kz_warn(ZKD_SYNC_COMP, "fsync-ing the write ahead log took %.0fms which will adversely effect "
                    "operation latency. File size is %" PRId64 " bytes. See the ZooKeeper troubleshooting guide",
                    ms, zkd_txnlog_file_size(s->log));

        pthread_mutex_lock(&s->mu);
        s->inflight -= ntxn <= s->inflight ? ntxn : s->inflight;
        if (rc != 0) {
            if (!failed)
                kz_error(ZKD_SYNC_COMP, "Severe unrecoverable error writing the txn log: %s; exiting",
                         strerror(-rc));
            s->failed = true;
            s->inflight = 0;
        } else {
            if (high > s->durable_zxid)
                s->durable_zxid = high;
            s->st.batches++;
            s->st.txns += (int64_t)ntxn;
            if (s->force_sync && ntxn > 0) {
                zkd_sync_stats *st = &s->st;
                st->last_ms = ms;
                st->min_ms = st->count == 0 || ms < st->min_ms ? ms : st->min_ms;
                st->max_ms = ms > st->max_ms ? ms : st->max_ms;
                st->count++;
                s->sum_ms += ms;
                st->avg_ms = s->sum_ms / (double)st->count;
            }
        }
        pthread_mutex_unlock(&s->mu);
        zkd_sync_post(s);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    free(batch.v);
    return NULL;
}

/* Loop thread: report what became durable (and a failure, once). */
static void zkd_sync_report(zkd_sync *s)
{
    pthread_mutex_lock(&s->mu);
    int64_t z = s->durable_zxid;
    bool failed = s->failed;
    pthread_mutex_unlock(&s->mu);
    if (z > s->reported) {
        s->reported = z;
        s->durable(s->ctx, z);
    }
    if (failed && !s->fail_reported) {
        s->fail_reported = true;
        s->durable(s->ctx, -1);
    }
}

static void zkd_sync_on_event(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    uint64_t cnt;
    while (read(fd, &cnt, sizeof cnt) < 0 && errno == EINTR)
        ;
    zkd_sync_report(arg);
}

zkd_sync *zkd_sync_start(struct event_base *base, const char *log_dir, int64_t prealloc_bytes,
                         bool force_sync, zkd_sync_durable_fn *durable, void *ctx)
{
    zkd_sync *s = calloc(1, sizeof *s);
    int rc;
    if (!s) {
        kz_error(ZKD_SYNC_COMP, "out of memory");
        return NULL;
    }
    s->efd = -1;
    s->durable_zxid = s->reported = -1;
    s->force_sync = force_sync;
    s->durable = durable;
    s->ctx = ctx;
    if ((rc = zkd_txnlog_open(&s->log, log_dir, prealloc_bytes)) != 0) {
        kz_error(ZKD_SYNC_COMP, "cannot open txn log in %s: %s", log_dir, strerror(-rc));
        free(s);
        return NULL;
    }
    if ((s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
        !(s->ev = event_new(base, s->efd, EV_READ | EV_PERSIST, zkd_sync_on_event, s)) ||
        event_add(s->ev, NULL) != 0) {
        kz_error(ZKD_SYNC_COMP, "cannot set up the sync notification: %s", strerror(errno));
        goto fail;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    /* The thread blocks every signal: they belong to the loop thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&s->th, NULL, zkd_sync_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        kz_error(ZKD_SYNC_COMP, "cannot start the sync thread: %s", strerror(rc));
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        goto fail;
    }
    return s;
fail:
    if (s->ev)
        event_free(s->ev);
    if (s->efd >= 0)
        close(s->efd);
    zkd_txnlog_close(s->log);
    free(s);
    return NULL;
}

static int zkd_sync_enqueue(zkd_sync *s, zkd_sync_item it)
{
    pthread_mutex_lock(&s->mu);
    int rc = s->failed ? -EIO : zkd_sync_push(&s->q, it);
    if (rc == 0) {
        if (it.txn)
            s->inflight++;
        pthread_cond_signal(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int zkd_sync_append(zkd_sync *s, int64_t zxid, uint8_t *txn, size_t len)
{
    if (!txn || len == 0) {
        free(txn);
        return -EINVAL;
    }
    int rc = zkd_sync_enqueue(s, (zkd_sync_item){ zxid, txn, len });
    if (rc)
        free(txn);
    return rc;
}

void zkd_sync_roll(zkd_sync *s)
{
    if (zkd_sync_enqueue(s, (zkd_sync_item){ -1, NULL, 0 }) == -ENOMEM)
        kz_error(ZKD_SYNC_COMP, "out of memory queueing a log roll");
}

size_t zkd_sync_pending(zkd_sync *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->inflight;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void zkd_sync_get_stats(zkd_sync *s, zkd_sync_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    pthread_mutex_unlock(&s->mu);
}

void zkd_sync_stop(zkd_sync *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->th, NULL);
    zkd_sync_report(s);
    event_free(s->ev);
    close(s->efd);
    zkd_txnlog_close(s->log);
    for (size_t i = 0; i < s->q.n; i++)
        free(s->q.v[i].txn);
    free(s->q.v);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
