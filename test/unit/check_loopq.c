/* test/unit/check_loopq.c -- kz_loopq: items posted from foreign threads run
 * on the loop thread, all of them, each thread's in its posting order; the
 * wakeup is driven by a real event_base; destroy drops what is pending
 * (drop callbacks, never the run callbacks), also when called from inside
 * an item; posts after destroy began are refused. */
#include <check.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kz_buf.h"
#include "kz_loopq.h"
#include "unit_util.h"

#define NTHREADS 4
#define PER_THREAD 20000

/* Runs @base until *@done or @ms elapsed; returns whether *@done. */
static void tick_cb(evutil_socket_t fd, short w, void *a) { (void)fd, (void)w, (void)a; }
static bool run_until(struct event_base *base, volatile bool *done, int ms)
{
    struct event *tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
    struct timeval tv = { 0, 10000 };
    event_add(tick, &tv);
    int64_t end = kz_mono_ms() + ms;
    while (!*done && kz_mono_ms() < end)
        event_base_loop(base, EVLOOP_ONCE);
    event_free(tick);
    return *done;
}

/* ------------------------------------------------ many producers, one loop */

typedef struct {
    pthread_t loop_thread;
    int32_t last[NTHREADS]; /* last sequence number seen per producer */
    int64_t ran;
    int order_errors, thread_errors;
    volatile bool done;
} mp_state;

typedef struct {
    mp_state *st;
    int producer;
    int32_t seq;
} mp_item;

static void mp_run(void *arg)
{
    mp_item *it = arg;
    mp_state *st = it->st;
    if (!pthread_equal(pthread_self(), st->loop_thread))
        st->thread_errors++;
    if (it->seq != st->last[it->producer] + 1)
        st->order_errors++;
    st->last[it->producer] = it->seq;
    if (++st->ran == (int64_t)NTHREADS * PER_THREAD)
        st->done = true;
    free(it);
}

typedef struct {
    kz_loopq *q;
    mp_state *st;
    int producer;
    int failures;
} producer_arg;

static void *producer_main(void *arg)
{
    producer_arg *pa = arg;
    for (int32_t i = 0; i < PER_THREAD; i++) {
        mp_item *it = malloc(sizeof *it);
        *it = (mp_item){ pa->st, pa->producer, i };
        if (kz_loopq_post(pa->q, mp_run, free, it) != 0) {
            pa->failures++;
            free(it);
        }
    }
    return NULL;
}

/* 1. four threads post 20000 items each while the loop runs: every item
 *    runs exactly once, on the loop thread, each producer's in order. */
START_TEST(t01_four_producers)
{
    struct event_base *base = event_base_new();
    kz_loopq *q = kz_loopq_new(base);
    ck_assert_ptr_nonnull(q);
    mp_state st = { .loop_thread = pthread_self() };
    for (int i = 0; i < NTHREADS; i++)
        st.last[i] = -1;
    pthread_t th[NTHREADS];
    producer_arg pa[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        pa[i] = (producer_arg){ q, &st, i, 0 };
        ck_assert_int_eq(pthread_create(&th[i], NULL, producer_main, &pa[i]), 0);
    }
    ck_assert(run_until(base, &st.done, 30000));
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(pa[i].failures, 0);
        ck_assert_int_eq(st.last[i], PER_THREAD - 1);
    }
    ck_assert_int_eq(st.ran, (int64_t)NTHREADS * PER_THREAD);
    ck_assert_int_eq(st.order_errors, 0);
    ck_assert_int_eq(st.thread_errors, 0);
    ck_assert_uint_eq(kz_loopq_pending(q), 0);
    kz_loopq_free(q);
    event_base_free(base);
}
END_TEST

/* ------------------------------------------------------ dropping at free */

typedef struct {
    int ran, dropped;
    int seen[8];
    int nseen;
} cnt_state;

typedef struct {
    cnt_state *st;
    int id;
    kz_loopq *q;       /* for items that act on the queue */
    bool free_queue;   /* this item frees the queue */
    int post_rc;       /* what a post after that returned */
    kz_loopq_item item;
} cnt_item;

static void cnt_run(void *arg)
{
    cnt_item *it = arg;
    it->st->ran++;
    it->st->seen[it->st->nseen++] = it->id;
    if (it->free_queue) {
        kz_loopq_free(it->q);
        static cnt_item late;
        late = (cnt_item){ .st = it->st, .id = 99 };
        late.item = (kz_loopq_item){ .fn = cnt_run, .ctx = &late };
        it->post_rc = kz_loopq_post_item(it->q, &late.item);
    }
}

static void cnt_drop(void *arg)
{
    cnt_item *it = arg;
    it->st->dropped++;
}

/* 2. items still queued at kz_loopq_free are dropped, not run. */
START_TEST(t02_free_drops_pending)
{
    struct event_base *base = event_base_new();
    kz_loopq *q = kz_loopq_new(base);
    cnt_state st = { 0 };
    cnt_item items[5];
    for (int i = 0; i < 5; i++) {
        items[i] = (cnt_item){ .st = &st, .id = i };
        items[i].item = (kz_loopq_item){ .fn = cnt_run, .drop = cnt_drop, .ctx = &items[i] };
        ck_assert_int_eq(kz_loopq_post_item(q, &items[i].item), 0);
    }
    /* and two heap items whose ctx the drop callback frees (ASan checks) */
    ck_assert_int_eq(kz_loopq_post(q, cnt_run, free, malloc(16)), 0);
    ck_assert_int_eq(kz_loopq_post(q, cnt_run, free, malloc(16)), 0);
    ck_assert_uint_eq(kz_loopq_pending(q), 7);
    kz_loopq_free(q);
    ck_assert_int_eq(st.ran, 0);
    ck_assert_int_eq(st.dropped, 5);
    event_base_free(base);
}
END_TEST

/* 3. kz_loopq_free from inside an item: the items after it in the batch are
 *    dropped, a post made afterwards is refused, the queue goes away when
 *    the item returns (ASan: no use after free, no leak). */
START_TEST(t03_free_inside_item)
{
    struct event_base *base = event_base_new();
    kz_loopq *q = kz_loopq_new(base);
    cnt_state st = { 0 };
    cnt_item items[4];
    for (int i = 0; i < 4; i++) {
        items[i] = (cnt_item){ .st = &st, .id = i, .q = q, .free_queue = i == 1 };
        items[i].item = (kz_loopq_item){ .fn = cnt_run, .drop = cnt_drop, .ctx = &items[i] };
        ck_assert_int_eq(kz_loopq_post_item(q, &items[i].item), 0);
    }
    /* through the event loop, as in production */
    volatile bool never = false;
    run_until(base, &never, 200);
    ck_assert_int_eq(st.ran, 2);
    ck_assert_int_eq(st.seen[0], 0);
    ck_assert_int_eq(st.seen[1], 1);
    ck_assert_int_eq(st.dropped, 2);
    ck_assert_int_eq(items[1].post_rc, KZ_LOOPQ_ECLOSED);
    event_base_free(base);
}
END_TEST

/* ---------------------------------------------------- re-posting from items */

typedef struct {
    kz_loopq *q;
    int next_expected, errors, runs, batches_seen;
    volatile bool done;
} chain_state;

typedef struct {
    chain_state *st;
    int n;
} chain_item;

static void chain_run(void *arg)
{
    chain_item *it = arg;
    chain_state *st = it->st;
    if (it->n != st->next_expected)
        st->errors++;
    st->next_expected = it->n + 1;
    st->runs++;
    if (it->n % 2 == 0 && it->n < 200) {
        /* two follow-ups posted from the loop thread itself */
        chain_item *c = malloc(sizeof *c);
        *c = (chain_item){ st, it->n + 1 };
        ck_assert_int_eq(kz_loopq_post(st->q, chain_run, free, c), 0);
        c = malloc(sizeof *c);
        *c = (chain_item){ st, it->n + 2 };
        ck_assert_int_eq(kz_loopq_post(st->q, chain_run, free, c), 0);
    }
    if (it->n == 200)
        st->done = true;
    free(it);
}

/* 4. items posted by items (from the loop thread) run later, in order, and
 *    the loop keeps waking for them. */
START_TEST(t04_post_from_loop)
{
    struct event_base *base = event_base_new();
    chain_state st = { 0 };
    st.q = kz_loopq_new(base);
    chain_item *c = malloc(sizeof *c);
    *c = (chain_item){ &st, 0 };
    ck_assert_int_eq(kz_loopq_post(st.q, chain_run, free, c), 0);
    ck_assert(run_until(base, &st.done, 5000));
    ck_assert_int_eq(st.errors, 0);
    ck_assert_int_eq(st.runs, 201);
    kz_loopq_free(st.q);
    event_base_free(base);
}
END_TEST

/* 5. kz_loopq_run drains synchronously and reports the count; a second run
 *    finds nothing. */
START_TEST(t05_run_counts)
{
    struct event_base *base = event_base_new();
    kz_loopq *q = kz_loopq_new(base);
    cnt_state st = { 0 };
    cnt_item items[3];
    for (int i = 0; i < 3; i++) {
        items[i] = (cnt_item){ .st = &st, .id = 10 + i };
        items[i].item = (kz_loopq_item){ .fn = cnt_run, .drop = cnt_drop, .ctx = &items[i] };
        kz_loopq_post_item(q, &items[i].item);
    }
    ck_assert_uint_eq(kz_loopq_run(q), 3);
    ck_assert_uint_eq(kz_loopq_run(q), 0);
    ck_assert_int_eq(st.seen[0], 10);
    ck_assert_int_eq(st.seen[2], 12);
    kz_loopq_free(q);
    ck_assert_int_eq(st.dropped, 0);
    event_base_free(base);
}
END_TEST

static Suite *loopq_suite(void)
{
    Suite *s = suite_create("loopq");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, t01_four_producers);
    tcase_add_test(tc, t02_free_drops_pending);
    tcase_add_test(tc, t03_free_inside_item);
    tcase_add_test(tc, t04_post_from_loop);
    tcase_add_test(tc, t05_run_counts);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    evthread_use_pthreads();
    return ut_run(loopq_suite());
}
