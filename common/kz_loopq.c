/* common/kz_loopq.c -- see kz_loopq.h.
 *
 * State: a singly linked FIFO (head, tail) under @mu; @signaled is true from
 * the post that wrote the eventfd until the loop takes the batch, so a burst
 * of posts costs one write(2). The loop callback reads the eventfd first and
 * then takes the whole list, so an item posted after the take always finds
 * @signaled false and writes again: no item is ever left without a wakeup.
 * Invariants: n == length(head..tail); closed => no further item is accepted. */
#include "kz_loopq.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kz_buf.h"

struct kz_loopq {
    pthread_mutex_t mu;
    kz_loopq_item *head, *tail; /* under mu */
    size_t n;                   /* under mu */
    bool signaled;              /* under mu: the eventfd holds a pending wakeup */
    bool closed;                /* under mu: kz_loopq_free has begun */
    int efd;
    struct event *ev;
    int running;                /* loop thread: kz_loopq_run calls on the stack */
    bool free_pending;          /* loop thread: kz_loopq_free called from an item */
};

/* Drops the items of the list starting at @it (their drop callbacks). */
static void kz_loopq_drop_list(kz_loopq_item *it)
{
    while (it) {
        kz_loopq_item *next = it->next;
        bool heap = it->heap;
        if (it->drop)
            it->drop(it->ctx); /* may free the memory holding a caller item */
        if (heap)
            free(it);
        it = next;
    }
}

static void kz_loopq_destroy(kz_loopq *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = true;
    kz_loopq_item *rest = q->head;
    q->head = q->tail = NULL;
    q->n = 0;
    pthread_mutex_unlock(&q->mu);
    kz_loopq_drop_list(rest);
    if (q->ev)
        event_free(q->ev);
    if (q->efd >= 0)
        close(q->efd);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

size_t kz_loopq_run(kz_loopq *q)
{
    pthread_mutex_lock(&q->mu);
    kz_loopq_item *it = q->head;
    q->head = q->tail = NULL;
    q->n = 0;
    q->signaled = false;
    pthread_mutex_unlock(&q->mu);

    size_t ran = 0;
    q->running++; /* a depth: an item may run the queue again (kz_zkc_free does) */
    while (it) {
        kz_loopq_item *next = it->next;
        bool heap = it->heap;
        it->fn(it->ctx); /* may free the memory holding a caller item */
        if (heap)
            free(it);
        ran++;
        it = next;
        if (q->free_pending) {
            kz_loopq_drop_list(it);
            break;
        }
    }
    if (--q->running == 0 && q->free_pending)
        kz_loopq_destroy(q);
    return ran;
}

static void kz_loopq_on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    uint64_t cnt;
    /* Reset the counter before taking the batch (see the file comment). */
    while (read(fd, &cnt, sizeof cnt) < 0 && errno == EINTR)
        ;
    kz_loopq_run(arg);
}

kz_loopq *kz_loopq_new(struct event_base *base)
{
    kz_loopq *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->efd = -1;
    if (pthread_mutex_init(&q->mu, NULL) != 0) {
        free(q);
        return NULL;
    }
    q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (q->efd < 0)
        goto fail;
    q->ev = event_new(base, q->efd, EV_READ | EV_PERSIST, kz_loopq_on_wake, q);
    if (!q->ev || event_add(q->ev, NULL) != 0)
        goto fail;
    return q;
fail:
    kz_loopq_destroy(q);
    return NULL;
}

int kz_loopq_post_item(kz_loopq *q, kz_loopq_item *it)
{
    it->next = NULL;
    pthread_mutex_lock(&q->mu);
    if (q->closed) {
        pthread_mutex_unlock(&q->mu);
        return KZ_LOOPQ_ECLOSED;
    }
    if (q->tail)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    q->n++;
    if (!q->signaled) {
        /* Under the lock, so that kz_loopq_free (which takes it to close)
         * never races with a write to the descriptor it is closing. An
         * eventfd write cannot block: the counter is far from its limit. */
        uint64_t one = 1;
        q->signaled = true;
        while (write(q->efd, &one, sizeof one) < 0 && errno == EINTR)
            ;
    }
    pthread_mutex_unlock(&q->mu);
    return 0;
}

int kz_loopq_post(kz_loopq *q, kz_loopq_fn *fn, kz_loopq_fn *drop, void *ctx)
{
    kz_loopq_item *it = malloc(sizeof *it);
    if (!it)
        return KZ_ENOMEM;
    *it = (kz_loopq_item){ .fn = fn, .drop = drop, .ctx = ctx, .heap = true };
    int rc = kz_loopq_post_item(q, it);
    if (rc != 0)
        free(it);
    return rc;
}

size_t kz_loopq_pending(kz_loopq *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->n;
    pthread_mutex_unlock(&q->mu);
    return n;
}

void kz_loopq_free(kz_loopq *q)
{
    if (!q)
        return;
    if (q->running > 0) {
        /* Called from an item: refuse new posts now, finish when it returns. */
        pthread_mutex_lock(&q->mu);
        q->closed = true;
        pthread_mutex_unlock(&q->mu);
        q->free_pending = true;
        return;
    }
    kz_loopq_destroy(q);
}
