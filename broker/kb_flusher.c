/* broker/kb_flusher.c -- the background sync thread of the log manager (contract in
 * kb_flusher.h).
 *
 * Shared state (under mu): the FIFO of queued jobs, `busy` (the thread holds a job, from the
 * moment it takes it until its completion has been posted), `stopping` and the sync function.
 * The job itself belongs to the thread while busy and to the loop once posted; the embedded
 * kz_loopq_item makes the post allocation-free, so a completion is never lost to ENOMEM.
 * Invariants: jobs are taken in queue order and posted in that order; !head && !busy means
 * every job submitted so far has its completion in the loopq (or already run): that is what
 * kb_flusher_drain waits for, on idle_cv.
 * submitted/completed belong to the loop thread. */
#include "kb_flusher.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "kz_loopq.h"

typedef struct kb_fl_job {
    struct kb_fl_job *next; /* queue link, under mu */
    kb_flusher *f;
    int *fds;
    size_t nfds;
    int dir_fd;
    kb_flusher_work_fn *work; /* instead of syncing descriptors */
    int rc;
    kb_flusher_done_fn *done;
    kb_flusher_drop_fn *drop;
    void *ctx;
    kz_loopq_item item;
} kb_fl_job;

struct kb_flusher {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t work_cv;  /* the thread waits for a job or the stop */
    pthread_cond_t idle_cv;  /* drain waits for !head && !busy */
    kb_fl_job *head, *tail;  /* mu */
    bool busy;               /* mu */
    bool stopping;           /* mu */
    kb_flusher_sync_fn *sync; /* mu */
    void *sync_ctx;          /* mu */
    kz_loopq *q;
    uint64_t submitted, completed; /* loop thread */
};

static int kb_fl_sync_default(void *ctx, int fd, bool dir)
{
    (void)ctx;
    /* fdatasync writes the data and the size a read needs; the directory gets a full fsync so
     * that the names created in it stay. */
    int r = dir ? fsync(fd) : fdatasync(fd);
    return r != 0 ? -errno : 0;
}

static void kb_fl_job_free(kb_fl_job *j)
{
    for (size_t i = 0; i < j->nfds; i++)
        close(j->fds[i]);
    if (j->dir_fd >= 0)
        close(j->dir_fd);
    free(j->fds);
    free(j);
}

/* Loop thread: the job's completion. */
static void kb_fl_on_done(void *arg)
{
    kb_fl_job *j = arg;
    j->f->completed++;
    kb_flusher_done_fn *done = j->done;
    void *ctx = j->ctx;
    int rc = j->rc;
    kb_fl_job_free(j);
    done(ctx, rc);
}

/* kz_loopq_free (or a refused post): the completion will not run. */
static void kb_fl_on_drop(void *arg)
{
    kb_fl_job *j = arg;
    if (j->drop)
        j->drop(j->ctx);
    kb_fl_job_free(j);
}

/* Flusher thread: syncs every descriptor of @j (data in order, then the directory), closes
 * them, and records the first error. */
static void kb_fl_run(kb_fl_job *j, kb_flusher_sync_fn *sync, void *sync_ctx)
{
    if (j->work) {
        j->rc = j->work(j->ctx);
        return;
    }
    int rc = 0, r;
    for (size_t i = 0; i < j->nfds; i++)
        if ((r = sync(sync_ctx, j->fds[i], false)) != 0 && !rc)
            rc = r;
    if (j->dir_fd >= 0 && (r = sync(sync_ctx, j->dir_fd, true)) != 0 && !rc)
        rc = r;
    for (size_t i = 0; i < j->nfds; i++)
        close(j->fds[i]);
    if (j->dir_fd >= 0)
        close(j->dir_fd);
    free(j->fds);
    j->fds = NULL;
    j->nfds = 0;
    j->dir_fd = -1;
    j->rc = rc;
}

static void *kb_fl_main(void *arg)
{
    kb_flusher *f = arg;
    pthread_setname_np(pthread_self(), "log-flusher");
    pthread_mutex_lock(&f->mu);
    for (;;) {
        while (!f->head && !f->stopping)
            pthread_cond_wait(&f->work_cv, &f->mu);
        kb_fl_job *j = f->head;
        if (!j)
            break; /* stopping, and every queued job is done */
        if (!(f->head = j->next))
            f->tail = NULL;
        f->busy = true;
        kb_flusher_sync_fn *sync = f->sync;
        void *sync_ctx = f->sync_ctx;
        pthread_mutex_unlock(&f->mu);

        kb_fl_run(j, sync, sync_ctx);
        j->item = (kz_loopq_item){ .fn = kb_fl_on_done, .drop = kb_fl_on_drop, .ctx = j };
        if (kz_loopq_post_item(f->q, &j->item) != 0)
            kb_fl_on_drop(j); /* cannot happen: the queue is freed after the join */

        pthread_mutex_lock(&f->mu);
        f->busy = false;
        if (!f->head)
            pthread_cond_broadcast(&f->idle_cv);
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

int kb_flusher_new(kb_flusher **out, struct event_base *base)
{
    int rc;
    *out = NULL;
    kb_flusher *f = calloc(1, sizeof *f);
    if (!f)
        return -ENOMEM;
    f->sync = kb_fl_sync_default;
    errno = 0;
    if (!(f->q = kz_loopq_new(base))) {
        rc = errno ? -errno : -ENOMEM;
        free(f);
        return rc;
    }
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->work_cv, NULL);
    pthread_cond_init(&f->idle_cv, NULL);
    /* The thread blocks every signal: they belong to the loop thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&f->th, NULL, kb_fl_main, f);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&f->idle_cv);
        pthread_cond_destroy(&f->work_cv);
        pthread_mutex_destroy(&f->mu);
        kz_loopq_free(f->q);
        free(f);
        return -rc;
    }
    *out = f;
    return 0;
}

/* Loop thread: queues @j for the thread. */
static void kb_fl_enqueue(kb_flusher *f, kb_fl_job *j)
{
    f->submitted++;
    pthread_mutex_lock(&f->mu);
    if (f->tail)
        f->tail->next = j;
    else
        f->head = j;
    f->tail = j;
    pthread_cond_signal(&f->work_cv);
    pthread_mutex_unlock(&f->mu);
}

int kb_flusher_submit(kb_flusher *f, int *fds, size_t nfds, int dir_fd, kb_flusher_done_fn *done,
                      kb_flusher_drop_fn *drop, void *ctx)
{
    kb_fl_job *j = calloc(1, sizeof *j);
    if (!j) {
        for (size_t i = 0; i < nfds; i++)
            close(fds[i]);
        if (dir_fd >= 0)
            close(dir_fd);
        free(fds);
        return -ENOMEM;
    }
    *j = (kb_fl_job){ .f = f, .fds = fds, .nfds = nfds, .dir_fd = dir_fd, .done = done, .drop = drop, .ctx = ctx };
    kb_fl_enqueue(f, j);
    return 0;
}

int kb_flusher_run(kb_flusher *f, kb_flusher_work_fn *work, kb_flusher_done_fn *done,
                   kb_flusher_drop_fn *drop, void *ctx)
{
    kb_fl_job *j = calloc(1, sizeof *j);
    if (!j)
        return -ENOMEM;
    *j = (kb_fl_job){ .f = f, .dir_fd = -1, .work = work, .done = done, .drop = drop, .ctx = ctx };
    kb_fl_enqueue(f, j);
    return 0;
}

size_t kb_flusher_drain(kb_flusher *f)
{
    pthread_mutex_lock(&f->mu);
    while (f->head || f->busy)
        pthread_cond_wait(&f->idle_cv, &f->mu);
    pthread_mutex_unlock(&f->mu);
    return kz_loopq_run(f->q);
}

size_t kb_flusher_pending(const kb_flusher *f) { return (size_t)(f->submitted - f->completed); }

void kb_flusher_set_sync_fn(kb_flusher *f, kb_flusher_sync_fn *fn, void *ctx)
{
    pthread_mutex_lock(&f->mu);
    f->sync = fn ? fn : kb_fl_sync_default;
    f->sync_ctx = fn ? ctx : NULL;
    pthread_mutex_unlock(&f->mu);
}

void kb_flusher_free(kb_flusher *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->mu);
    f->stopping = true;
    pthread_cond_signal(&f->work_cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->th, NULL);
    kz_loopq_free(f->q); /* completions that have not run: dropped */
    pthread_cond_destroy(&f->idle_cv);
    pthread_cond_destroy(&f->work_cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
}
