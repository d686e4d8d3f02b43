/* common/kz_loopq.h -- a thread-safe FIFO of (fn, ctx) items that wakes one
 * event_base, so that foreign threads (the libzookeeper_mt completion and
 * I/O threads, sync threads) hand work to the loop thread that owns state.
 *
 * Contract:
 *   - kz_loopq_post / kz_loopq_post_item may be called from any thread. Items
 *     run on the loop thread, one at a time, in the order they were posted
 *     (one FIFO under one mutex, so the order of two posts made by the same
 *     thread is always kept).
 *   - Wakeup is an eventfd registered on the base: a post that finds the
 *     queue idle writes it once, the loop callback drains everything queued
 *     (coalesced wakeups; no libevent locking is required, so this works
 *     whether or not evthread_use_pthreads() was called).
 *   - kz_loopq_free runs on the loop thread, after every producer is known
 *     to have stopped. Items still queued are not run: their drop callback
 *     (if any) releases them. It may be called from inside an item: then the
 *     rest of the batch is dropped too and the queue goes away when the
 *     current item returns.
 * Locality: posting from any thread; kz_loopq_new/free/run on the loop thread. */
#ifndef KZ_LOOPQ_H
#define KZ_LOOPQ_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;

typedef struct kz_loopq kz_loopq;
typedef void kz_loopq_fn(void *ctx);

/* An item the caller embeds in its own message so that posting never
 * allocates (used where an allocation failure would lose a completion).
 * Set @fn, @drop and @ctx; @next belongs to the queue until the item runs. */
typedef struct kz_loopq_item {
    struct kz_loopq_item *next;
    kz_loopq_fn *fn;   /* runs on the loop thread; owns @ctx from then on */
    kz_loopq_fn *drop; /* at kz_loopq_free instead of @fn; may be NULL */
    void *ctx;
    bool heap;         /* allocated by kz_loopq_post (internal) */
} kz_loopq_item;

/* Error from a post to a queue whose kz_loopq_free has begun. */
#define KZ_LOOPQ_ECLOSED (-32)

/* A queue whose items run on @base. NULL when out of memory or out of file
 * descriptors (errno set). */
kz_loopq *kz_loopq_new(struct event_base *base);

/* Queue fn(ctx). Returns 0, KZ_ENOMEM (nothing queued: the caller still
 * owns @ctx) or KZ_LOOPQ_ECLOSED. */
int kz_loopq_post(kz_loopq *q, kz_loopq_fn *fn, kz_loopq_fn *drop, void *ctx);

/* Queue a caller-owned item. Returns 0 or KZ_LOOPQ_ECLOSED (not queued). */
int kz_loopq_post_item(kz_loopq *q, kz_loopq_item *it);

/* Runs every item queued so far on the calling (loop) thread, as the wakeup
 * callback does. Returns how many ran. For tests and for draining at
 * shutdown. Must not be called from inside an item. */
size_t kz_loopq_run(kz_loopq *q);

/* Items queued and not yet run (a snapshot; any thread). */
size_t kz_loopq_pending(kz_loopq *q);

/* Drops what is queued (drop callbacks) and frees @q. NULL-safe. */
void kz_loopq_free(kz_loopq *q);

#endif
