/* bench/zkbench.c -- closed-loop load generator for a ZooKeeper-protocol server.
 *
 * Usage: zkbench [-s HOST:PORT] [-n SESSIONS] [-o OUTSTANDING] [-c COUNT] [-d BYTES]
 *                [-p PHASES] [-r ROOT] [-t STALL_SECS] [-v]
 *
 * Drives libzookeeper_mt's asynchronous API. Each phase runs one operation type
 * (create, setData, getData, exists, delete) COUNT times in total, split evenly over
 * SESSIONS sessions; every session keeps OUTSTANDING requests in flight (a new
 * request is submitted from the completion of the previous one) until its share is
 * done. Session k works on the nodes ROOT/s<k>-<i>, i in [0, share_k): create makes
 * them, setData/getData/exists/delete reuse them, so the phases only make sense in
 * the default order (a phase whose nodes are missing just counts errors).
 *
 * Output, one line per phase on stdout (machine-readable key=value, no spaces inside
 * values; lines starting with '#' are comments):
 *   phase=create ops=100000 secs=1.234 ops_per_sec=81037 p50_us=.. p99_us=.. \
 *     p999_us=.. max_us=.. errors=0 client_cpu_s=..
 * ops counts completed operations including failed ones; errors counts completions
 * with rc != ZOK, requests the client refused to queue, and getData replies whose
 * length differs from -d. Latency is per operation, from just before the zoo_a*()
 * call to the start of its completion, CLOCK_MONOTONIC, microseconds; percentiles
 * are nearest-rank over a sorted array of every latency of the phase. client_cpu_s
 * is the CPU time zkbench itself used during the phase's load: when client and
 * server share a machine, it shows how much of it the load generator took.
 *
 * Exit status: 0 all phases ran (even with errors), 1 usage or connect failure,
 * 2 a phase was aborted (session lost, or no progress for STALL_SECS).
 *
 * Threads and ownership: libzookeeper_mt gives every session an I/O thread and a
 * completion thread. Completions of session k run only on its completion thread,
 * which also submits that session's next request. The main thread submits the
 * initial window, then sleeps on kt_bench.mu/cv until the phase is done, a session
 * is lost, or progress stalls. Shared counters are C11 atomics; the per-session
 * latency array is written at an index claimed with an atomic fetch-add and read by
 * the main thread only after kt_bench.done reached COUNT (every completion bumps
 * done as its last action, so no callback touches the phase state afterwards).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zookeeper/zookeeper.h>

#include "lib/zkb_common.h"

static const zkb_prog kt_prog = {
    .name = "zkbench",
    .help_s = "server HOST:PORT (default 127.0.0.1:2181), or a comma list of them:\n"
              "      libzookeeper_mt gives each session a random one of the list",
    .help_n = "sessions (default 16)",
    .help_v = "show the client library's error log (silenced by default)",
    .cpu_decimals = 2,
};

typedef struct kt_bench kt_bench;
typedef struct kt_sess kt_sess;

/* One blocking call in progress (kt_sync_wait). Lives in kt_bench, not on a stack,
 * so a completion that arrives after a timed-out wait writes to valid memory. */
typedef struct {
    kt_bench *b;
    atomic_int done;
    atomic_int rc;
} kt_sync;

/* One request slot of a session's window; reused by the next request once its
 * completion has run. Written by whichever thread submits into it. */
typedef struct {
    kt_sess *s;
    long idx;                /* node index of the request in flight */
    int64_t t_submit_ns;
} kt_slot;

struct kt_sess {
    kt_bench *b;
    int id;
    zhandle_t *zh;
    kt_slot *slots;          /* [outstanding] */
    uint32_t *lat_us;        /* [quota], see file header */
    long quota;              /* ops of this session per phase */
    atomic_long next;        /* next node index to submit */
    atomic_long nlat;        /* latencies recorded this phase */
    atomic_int state;        /* last ZOO_*_STATE seen by the watcher */
};

struct kt_bench {
    zkb_config cfg;          /* options, immutable after zkb_parse_args() */
    char *data;              /* data_len bytes sent by create and setData */
    kt_sess *sess;           /* [nsess] */
    /* phase state */
    atomic_int op;
    atomic_long done, errors;
    atomic_int first_rc;     /* first error of the phase, 0 if none */
    atomic_long first_idx;
    atomic_int first_sess;
    atomic_int connected;    /* sessions that reached CONNECTED */
    atomic_int lost;         /* 1 + id of the first session lost after connecting, or 0 */
    atomic_llong t_end_ns;
    pthread_mutex_t mu;
    pthread_cond_t cv;       /* signalled on phase end, connect, and loss */
    kt_sync sync;            /* main thread's one blocking call */
};

typedef int kt_submit_fn(kt_bench *b, zhandle_t *zh, const char *path, kt_slot *sl);

static void kt_done_string(int rc, const char *value, const void *data);
static void kt_done_stat(int rc, const struct Stat *st, const void *data);
static void kt_done_data(int rc, const char *value, int len, const struct Stat *st,
                         const void *data);
static void kt_done_void(int rc, const void *data);

static int kt_submit_create(kt_bench *b, zhandle_t *zh, const char *path, kt_slot *sl)
{
    return zoo_acreate(zh, path, b->data, b->cfg.data_len, &ZOO_OPEN_ACL_UNSAFE,
                       ZOO_PERSISTENT, kt_done_string, sl);
}

static int kt_submit_set(kt_bench *b, zhandle_t *zh, const char *path, kt_slot *sl)
{
    return zoo_aset(zh, path, b->data, b->cfg.data_len, -1, kt_done_stat, sl);
}

static int kt_submit_get(kt_bench *b, zhandle_t *zh, const char *path, kt_slot *sl)
{
    (void)b;
    return zoo_aget(zh, path, 0, kt_done_data, sl);
}

static int kt_submit_exists(kt_bench *b, zhandle_t *zh, const char *path, kt_slot *sl)
{
    (void)b;
    return zoo_aexists(zh, path, 0, kt_done_stat, sl);
}

static int kt_submit_delete(kt_bench *b, zhandle_t *zh, const char *path, kt_slot *sl)
{
    (void)b;
    return zoo_adelete(zh, path, -1, kt_done_void, sl);
}

static kt_submit_fn *const kt_submit[ZKB_OP__NUM] = {
    [ZKB_OP_CREATE] = kt_submit_create,
    [ZKB_OP_SET]    = kt_submit_set,
    [ZKB_OP_GET]    = kt_submit_get,
    [ZKB_OP_EXISTS] = kt_submit_exists,
    [ZKB_OP_DELETE] = kt_submit_delete,
};

static void kt_node_path(const kt_bench *b, int sess, long idx, char *out, size_t cap)
{
    snprintf(out, cap, "%s/s%d-%ld", b->cfg.root, sess, idx);
}

static const char *kt_rc_str(int rc)
{
    return rc == ZKB_EBADDATA ? ZKB_EBADDATA_STR : zerror(rc);
}

static void kt_signal(kt_bench *b)
{
    pthread_mutex_lock(&b->mu);
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

/* Counts one finished op (completed or refused). Must be the last thing a completion
 * does with the phase state; the op that reaches COUNT stamps the end time. */
static void kt_op_finish(kt_bench *b)
{
    long d = atomic_fetch_add(&b->done, 1) + 1;
    if (d == b->cfg.count) {
        atomic_store(&b->t_end_ns, zkb_now_ns());
        kt_signal(b);
    }
}

static void kt_op_error(kt_bench *b, const kt_sess *s, long idx, int rc)
{
    int zero = 0;
    atomic_fetch_add(&b->errors, 1);
    if (atomic_compare_exchange_strong(&b->first_rc, &zero, rc)) {
        atomic_store(&b->first_idx, idx);
        atomic_store(&b->first_sess, s->id);
    }
}

static void kt_mark_lost(kt_bench *b, const kt_sess *s)
{
    int zero = 0;
    if (atomic_compare_exchange_strong(&b->lost, &zero, s->id + 1))
        kt_signal(b);
}

/* Submits the session's next request into @sl, if the session has ops left. A
 * request the client refuses synchronously (it then never completes) is counted
 * as a finished error and the next index is tried; each pass consumes one index,
 * so the loop runs at most quota times. Called on the main thread for the first
 * window and on the session's completion thread afterwards. */
static void kt_slot_submit(kt_slot *sl)
{
    kt_sess *s = sl->s;
    kt_bench *b = s->b;
    kt_submit_fn *submit = kt_submit[atomic_load(&b->op)];
    char path[ZKB_PATH_MAX];

    for (long pass = 0; pass < s->quota; pass++) {
        if (atomic_load(&b->lost))
            return;
        long idx = atomic_fetch_add(&s->next, 1);
        if (idx >= s->quota)
            return;
        kt_node_path(b, s->id, idx, path, sizeof path);
        sl->idx = idx;
        sl->t_submit_ns = zkb_now_ns();
        int rc = submit(b, s->zh, path, sl);
        if (rc == ZOK)
            return;
        kt_op_error(b, s, idx, rc);
        if (rc == ZINVALIDSTATE)
            kt_mark_lost(b, s);
        kt_op_finish(b);
    }
}

/* Common tail of every completion: record latency and outcome, refill the window,
 * then count the op. @data is the kt_slot passed at submit (const only in the API). */
static void kt_complete(const void *data, int rc)
{
    int64_t now = zkb_now_ns();
    kt_slot *sl = (kt_slot *)(uintptr_t)data;
    kt_sess *s = sl->s;
    kt_bench *b = s->b;
    long k = atomic_fetch_add(&s->nlat, 1);

    if (k < s->quota)
        s->lat_us[k] = zkb_lat_us(sl->t_submit_ns, now);
    if (rc != ZOK)
        kt_op_error(b, s, sl->idx, rc);
    kt_slot_submit(sl);
    kt_op_finish(b);
}

static void kt_done_string(int rc, const char *value, const void *data)
{
    (void)value;
    kt_complete(data, rc);
}

static void kt_done_stat(int rc, const struct Stat *st, const void *data)
{
    (void)st;
    kt_complete(data, rc);
}

static void kt_done_data(int rc, const char *value, int len, const struct Stat *st,
                         const void *data)
{
    const kt_slot *sl = data;
    (void)value;
    (void)st;
    if (rc == ZOK && len != sl->s->b->cfg.data_len)
        rc = ZKB_EBADDATA;
    kt_complete(data, rc);
}

static void kt_done_void(int rc, const void *data)
{
    kt_complete(data, rc);
}

/* Session watcher (I/O-side completion thread): tracks connection state. Any state
 * other than CONNECTED after a session has connected means the server went away or
 * the session expired; the benchmark then aborts rather than measure reconnects. */
static void kt_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    kt_sess *s = ctx;
    int prev;
    (void)zh;
    (void)path;
    if (type != ZOO_SESSION_EVENT)
        return;
    prev = atomic_exchange(&s->state, state);
    if (state == ZOO_CONNECTED_STATE) {
        if (prev != ZOO_CONNECTED_STATE) {
            atomic_fetch_add(&s->b->connected, 1);
            kt_signal(s->b);
        }
    } else if (prev == ZOO_CONNECTED_STATE) {
        kt_mark_lost(s->b, s);
    } else if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE) {
        kt_mark_lost(s->b, s);
    }
}

static const char *kt_state_str(int st)
{
    if (st == ZOO_CONNECTING_STATE)      return "connecting";
    if (st == ZOO_ASSOCIATING_STATE)     return "associating";
    if (st == ZOO_CONNECTED_STATE)       return "connected";
    if (st == ZOO_EXPIRED_SESSION_STATE) return "session expired";
    if (st == ZOO_AUTH_FAILED_STATE)     return "auth failed";
    if (st == ZOO_NOTCONNECTED_STATE)    return "not connected";
    return "unknown";
}

/* Runs one phase to completion. Returns 0, or -1 after printing why it aborted. */
static int kt_phase_run(kt_bench *b, zkb_op op, uint32_t *all)
{
    zkb_phase ph = { .op = op, .lat = all };
    zkb_progress pr;
    double cpu0;
    int why = 0;                   /* 0 done, 1 lost, 2 stalled */

    atomic_store(&b->op, (int)op);
    atomic_store(&b->done, 0);
    atomic_store(&b->errors, 0);
    atomic_store(&b->first_rc, 0);
    atomic_store(&b->t_end_ns, 0);
    for (int k = 0; k < b->cfg.nsess; k++) {
        atomic_store(&b->sess[k].next, 0);
        atomic_store(&b->sess[k].nlat, 0);
    }

    cpu0 = zkb_cpu_secs();
    ph.t0_ns = zkb_now_ns();
    for (int k = 0; k < b->cfg.nsess; k++)
        for (int j = 0; j < b->cfg.outstanding && j < b->sess[k].quota; j++)
            kt_slot_submit(&b->sess[k].slots[j]);

    /* Bounded wait: each slice either sees progress or moves toward the stall limit. */
    zkb_progress_start(&pr, zkb_now_ns());
    pthread_mutex_lock(&b->mu);
    for (;;) {
        long d = atomic_load(&b->done);
        int64_t now = zkb_now_ns();
        if (d >= b->cfg.count)
            break;
        if (atomic_load(&b->lost)) {
            why = 1;
            break;
        }
        if (zkb_stalled(&pr, d, now, b->cfg.stall_secs)) {
            why = 2;
            break;
        }
        struct timespec dl = zkb_deadline_ms(ZKB_WAIT_SLICE_MS);
        pthread_cond_timedwait(&b->cv, &b->mu, &dl);
    }
    pthread_mutex_unlock(&b->mu);
    ph.cpu_s = zkb_cpu_secs() - cpu0;

    if (why) {
        const kt_sess *s = why == 1 ? &b->sess[atomic_load(&b->lost) - 1] : NULL;
        zkb_phase_aborted(&kt_prog, &b->cfg, op, atomic_load(&b->done), s ? s->id : 0,
                          s ? kt_state_str(atomic_load(&s->state)) : NULL);
        return -1;
    }

    for (int k = 0; k < b->cfg.nsess; k++) {
        long m = atomic_load(&b->sess[k].nlat);
        if (m > b->sess[k].quota)
            m = b->sess[k].quota;
        memcpy(all + ph.nlat, b->sess[k].lat_us, (size_t)m * sizeof *all);
        ph.nlat += m;
    }
    ph.t_end_ns = atomic_load(&b->t_end_ns);
    ph.errors = atomic_load(&b->errors);
    ph.first_rc = atomic_load(&b->first_rc);
    ph.first_str = kt_rc_str(ph.first_rc);
    ph.first_sess = atomic_load(&b->first_sess);
    ph.first_idx = atomic_load(&b->first_idx);
    zkb_phase_report(&kt_prog, &b->cfg, &ph);
    return 0;
}

/* A blocking call built on the async API: zoo_create/zoo_delete exist only when
 * the client headers are compiled with THREADED, which the project build does not set. */
static void kt_sync_done(kt_sync *w, int rc)
{
    atomic_store(&w->rc, rc);
    atomic_store(&w->done, 1);
    kt_signal(w->b);
}

static void kt_sync_string(int rc, const char *value, const void *data)
{
    (void)value;
    kt_sync_done((kt_sync *)(uintptr_t)data, rc);
}

static void kt_sync_void(int rc, const void *data)
{
    kt_sync_done((kt_sync *)(uintptr_t)data, rc);
}

/* Resets and returns the bench's blocking-call slot. */
static kt_sync *kt_sync_begin(kt_bench *b)
{
    b->sync.b = b;
    atomic_store(&b->sync.done, 0);
    atomic_store(&b->sync.rc, 0);
    return &b->sync;
}

/* Waits up to ZKB_CONNECT_SECS for @w; returns its rc, or ZOPERATIONTIMEOUT. */
static int kt_sync_wait(kt_sync *w)
{
    int64_t deadline = zkb_now_ns() + (int64_t)ZKB_CONNECT_SECS * 1000000000;
    pthread_mutex_lock(&w->b->mu);
    while (!atomic_load(&w->done) && zkb_now_ns() < deadline) {
        struct timespec dl = zkb_deadline_ms(ZKB_WAIT_SLICE_MS);
        pthread_cond_timedwait(&w->b->cv, &w->b->mu, &dl);
    }
    pthread_mutex_unlock(&w->b->mu);
    return atomic_load(&w->done) ? atomic_load(&w->rc) : ZOPERATIONTIMEOUT;
}

/* Creates the node @p, the root or one of its ancestors (zkb_root_walk); an
 * existing node is fine. Main thread only. */
static int kt_root_create_one(void *ctx, const char *p)
{
    kt_bench *b = ctx;
    kt_sync *w = kt_sync_begin(b);
    int rc = zoo_acreate(b->sess[0].zh, p, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
                         kt_sync_string, w);
    if (rc == ZOK)
        rc = kt_sync_wait(w);
    if (rc != ZOK && rc != ZNODEEXISTS) {
        fprintf(stderr, "zkbench: create %s: %s\n", p, zerror(rc));
        return -1;
    }
    return 0;
}

/* Deletes @b->cfg.root (not its ancestors); best effort, it fails if not empty. */
static void kt_root_delete(kt_bench *b)
{
    kt_sync *w = kt_sync_begin(b);
    if (zoo_adelete(b->sess[0].zh, b->cfg.root, -1, kt_sync_void, w) == ZOK)
        kt_sync_wait(w);
}

static int kt_sessions_connect(kt_bench *b)
{
    int64_t deadline = zkb_now_ns() + (int64_t)ZKB_CONNECT_SECS * 1000000000;
    for (int k = 0; k < b->cfg.nsess; k++) {
        b->sess[k].zh = zookeeper_init(b->cfg.host, kt_watcher, ZKB_SESSION_MS, NULL,
                                       &b->sess[k], 0);
        if (!b->sess[k].zh) {
            fprintf(stderr, "zkbench: zookeeper_init(%s): %s\n", b->cfg.host, strerror(errno));
            return -1;
        }
    }
    pthread_mutex_lock(&b->mu);
    while (atomic_load(&b->connected) < b->cfg.nsess && zkb_now_ns() < deadline) {
        struct timespec dl = zkb_deadline_ms(ZKB_WAIT_SLICE_MS);
        pthread_cond_timedwait(&b->cv, &b->mu, &dl);
    }
    pthread_mutex_unlock(&b->mu);
    if (atomic_load(&b->connected) < b->cfg.nsess) {
        fprintf(stderr, "zkbench: only %d of %d sessions connected to %s within %d s\n",
                atomic_load(&b->connected), b->cfg.nsess, b->cfg.host, ZKB_CONNECT_SECS);
        return -1;
    }
    return 0;
}

static int kt_bench_init(kt_bench *b)
{
    if (pthread_mutex_init(&b->mu, NULL) || pthread_cond_init(&b->cv, NULL))
        return -1;
    b->data = zkb_make_data(&b->cfg);
    b->sess = calloc((size_t)b->cfg.nsess, sizeof *b->sess);
    if (!b->data || !b->sess)
        return -1;
    for (int k = 0; k < b->cfg.nsess; k++) {
        kt_sess *s = &b->sess[k];
        s->b = b;
        s->id = k;
        s->quota = zkb_quota(&b->cfg, k);
        atomic_init(&s->state, 0);
        s->slots = calloc((size_t)b->cfg.outstanding, sizeof *s->slots);
        s->lat_us = malloc(((size_t)s->quota + 1) * sizeof *s->lat_us);
        if (!s->slots || !s->lat_us)
            return -1;
        for (int j = 0; j < b->cfg.outstanding; j++)
            s->slots[j].s = s;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static kt_bench bench;     /* static: large, and zero-initialised */
    kt_bench *b = &bench;
    uint32_t *all;

    if (zkb_parse_args(&b->cfg, &kt_prog, argc, argv))
        return 1;
    /* The client logs every failed reconnect, per session; our own messages say
     * what went wrong, so its log goes to /dev/null unless -v. */
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    if (!b->cfg.verbose) {
        FILE *devnull = fopen("/dev/null", "w");   /* kept open: the library holds it */
        if (devnull)
            zoo_set_log_stream(devnull);
    }
    if (kt_bench_init(b) || !(all = malloc((size_t)b->cfg.count * sizeof *all))) {
        fprintf(stderr, "zkbench: out of memory\n");
        return 1;
    }
    zkb_print_header(&kt_prog, &b->cfg);
    if (kt_sessions_connect(b) || zkb_root_walk(&b->cfg, kt_root_create_one, b)) {
        fflush(stdout);
        _exit(1);              /* handles may be half-connected; skip zookeeper_close */
    }

    for (int op = 0; op < ZKB_OP__NUM; op++) {
        if (!b->cfg.phase_on[op])
            continue;
        if (kt_phase_run(b, (zkb_op)op, all)) {
            fflush(stdout);
            fflush(stderr);
            _exit(2);          /* requests may still be in flight: do not tear down */
        }
    }

    if (b->cfg.phase_on[ZKB_OP_DELETE])
        kt_root_delete(b);
    for (int k = 0; k < b->cfg.nsess; k++)
        zookeeper_close(b->sess[k].zh);
    for (int k = 0; k < b->cfg.nsess; k++) {
        free(b->sess[k].slots);
        free(b->sess[k].lat_us);
    }
    free(b->sess);
    free(b->data);
    free(all);
    return 0;
}
