/* broker/kb_flusher.h -- a background thread that fdatasync()s files for the loop thread
 * (the flush that Kafka's scheduler runs when a segment rolls), so that the loop never waits
 * on the disk.
 *
 * A job is a set of duplicated descriptors: the thread fdatasync()s the data descriptors in
 * order, then fsync()s the directory descriptor, closes them all (a last close of a deleted
 * file frees its blocks there too, off the loop) and posts the job's completion to the loop
 * through a kz_loopq. Jobs run one at a time, in submission order; completions run on the loop
 * thread in the same order. The first failing sync gives the job's result (-errno); the other
 * descriptors are still synced and closed.
 *
 * Lifecycle:
 *   kb_flusher_new --> submit* --> kb_flusher_drain (optional) --> kb_flusher_free
 * kb_flusher_drain waits until the thread has finished every job submitted so far and runs
 * their completions on the calling thread; kb_flusher_free drains the queue (every queued job
 * is still synced, as a shutdown needs), joins the thread, and drops the completions that have
 * not run (their drop callbacks release the contexts).
 *
 * Test hook: kb_flusher_set_sync_fn replaces fdatasync/fsync for the jobs taken after the
 * call, so that a test can see which descriptors are synced on which thread, hold the thread,
 * or make a sync fail.
 * Locality: new/submit/drain/free/set_sync_fn on the loop thread that owns @base; the sync
 * function runs on the flusher thread and touches nothing but its descriptor. */
#ifndef KB_FLUSHER_H
#define KB_FLUSHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;

typedef struct kb_flusher kb_flusher;

/* Runs on the loop thread when a job is done: @rc is 0 or the first -errno of its syncs. */
typedef void kb_flusher_done_fn(void *ctx, int rc);
/* Releases the context of a job whose completion will never run (kb_flusher_free); may run
 * on any thread, so it must only free memory. */
typedef void kb_flusher_drop_fn(void *ctx);
/* Syncs @fd (@dir: a directory, else a data file). Returns 0 or -errno. Flusher thread. */
typedef int kb_flusher_sync_fn(void *ctx, int fd, bool dir);

/* Starts the thread; completions run on @base. Returns 0, -ENOMEM, or -errno of the eventfd
 * or of pthread_create. */
int kb_flusher_new(kb_flusher **out, struct event_base *base);

/* Queues a job. Takes ownership of @fds (malloc'd, may be NULL when @nfds is 0), of the
 * @nfds descriptors in it and of @dir_fd (-1: none) on success and on failure. On success
 * done(ctx, rc) runs later on the loop thread, or drop(ctx) if the flusher goes first; on
 * failure (-ENOMEM) neither runs and @ctx stays the caller's. */
int kb_flusher_submit(kb_flusher *f, int *fds, size_t nfds, int dir_fd, kb_flusher_done_fn *done,
                      kb_flusher_drop_fn *drop, void *ctx);

/* Work to run on the thread, after every job queued before it (same queue, same order):
 * returns 0 or -errno, handed to @done on the loop thread like a sync job's result. Used for
 * the checkpoint files, which are written durably (fsync) and so must not block the loop.
 * Returns 0 or -ENOMEM (then nothing runs and @ctx stays the caller's). */
typedef int kb_flusher_work_fn(void *ctx);
int kb_flusher_run(kb_flusher *f, kb_flusher_work_fn *work, kb_flusher_done_fn *done,
                   kb_flusher_drop_fn *drop, void *ctx);

/* Waits until every job submitted so far has been synced, then runs the completions that are
 * waiting (on this thread). Returns how many ran. Not from inside a completion. */
size_t kb_flusher_drain(kb_flusher *f);

/* Jobs submitted whose completion has not run yet (queued, syncing, or waiting for the loop). */
size_t kb_flusher_pending(const kb_flusher *f);

/* Replaces the sync function (NULL: fdatasync for data, fsync for directories) for the jobs
 * the thread takes from now on. */
void kb_flusher_set_sync_fn(kb_flusher *f, kb_flusher_sync_fn *fn, void *ctx);

/* Syncs what is still queued, stops and joins the thread, drops the completions that have not
 * run, frees @f. NULL-safe. */
void kb_flusher_free(kb_flusher *f);

#endif
