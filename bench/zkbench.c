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
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <zookeeper/zookeeper.h>

#define KT_PATH_MAX        512
#define KT_ROOT_MAX        256
#define KT_MAX_SESSIONS    1024
#define KT_MAX_OUTSTANDING 65536
#define KT_MAX_DATA        (1000 * 1000)    /* below jute.maxbuffer (0xfffff) */
#define KT_MAX_COUNT       100000000L
#define KT_CONNECT_SECS    15
#define KT_RECV_TIMEOUT_MS 10000
#define KT_WAIT_SLICE_MS   200
#define KT_EBADDATA        (-10000)         /* our code: getData returned wrong length */

typedef enum { KT_OP_CREATE, KT_OP_SET, KT_OP_GET, KT_OP_EXISTS, KT_OP_DELETE, KT_OP__NUM } kt_op;

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
    /* configuration, immutable after kt_bench_parse() */
    char host[256];
    int nsess, outstanding, data_len, stall_secs;
    bool verbose;            /* -v: let the client library log errors to stderr */
    long count;
    char root[KT_ROOT_MAX];
    bool phase_on[KT_OP__NUM];
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
    return zoo_acreate(zh, path, b->data, b->data_len, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
                       kt_done_string, sl);
}

static int kt_submit_set(kt_bench *b, zhandle_t *zh, const char *path, kt_slot *sl)
{
    return zoo_aset(zh, path, b->data, b->data_len, -1, kt_done_stat, sl);
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

static const struct {
    const char *name;
    kt_submit_fn *submit;
} kt_ops[KT_OP__NUM] = {
    [KT_OP_CREATE] = { "create",  kt_submit_create },
    [KT_OP_SET]    = { "setData", kt_submit_set },
    [KT_OP_GET]    = { "getData", kt_submit_get },
    [KT_OP_EXISTS] = { "exists",  kt_submit_exists },
    [KT_OP_DELETE] = { "delete",  kt_submit_delete },
};

static int64_t kt_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void kt_node_path(const kt_bench *b, int sess, long idx, char *out, size_t cap)
{
    snprintf(out, cap, "%s/s%d-%ld", b->root, sess, idx);
}

/* CPU time (user + system) this process has used so far, all threads, in seconds. */
static double kt_cpu_secs(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0.0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static const char *kt_rc_str(int rc)
{
    return rc == KT_EBADDATA ? "getData returned a value of the wrong length" : zerror(rc);
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
    if (d == b->count) {
        atomic_store(&b->t_end_ns, kt_now_ns());
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
    kt_submit_fn *submit = kt_ops[atomic_load(&b->op)].submit;
    char path[KT_PATH_MAX];

    for (long pass = 0; pass < s->quota; pass++) {
        if (atomic_load(&b->lost))
            return;
        long idx = atomic_fetch_add(&s->next, 1);
        if (idx >= s->quota)
            return;
        kt_node_path(b, s->id, idx, path, sizeof path);
        sl->idx = idx;
        sl->t_submit_ns = kt_now_ns();
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
    int64_t now = kt_now_ns();
    kt_slot *sl = (kt_slot *)(uintptr_t)data;
    kt_sess *s = sl->s;
    kt_bench *b = s->b;
    int64_t us = (now - sl->t_submit_ns) / 1000;
    long k = atomic_fetch_add(&s->nlat, 1);

    if (k < s->quota)
        s->lat_us[k] = us < 0 ? 0 : (us > UINT32_MAX ? UINT32_MAX : (uint32_t)us);
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
    if (rc == ZOK && len != sl->s->b->data_len)
        rc = KT_EBADDATA;
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

static int kt_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted @v[n]; @p in (0,1]. */
static uint32_t kt_pct(const uint32_t *v, long n, double p)
{
    long r;
    if (n <= 0)
        return 0;
    r = (long)(p * (double)n + 0.999999999);
    if (r < 1)
        r = 1;
    if (r > n)
        r = n;
    return v[r - 1];
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
static int kt_phase_run(kt_bench *b, kt_op op, uint32_t *all)
{
    int64_t t0, t_prog;
    double cpu0;
    long last_done = 0;
    int why = 0;                   /* 0 done, 1 lost, 2 stalled */

    atomic_store(&b->op, (int)op);
    atomic_store(&b->done, 0);
    atomic_store(&b->errors, 0);
    atomic_store(&b->first_rc, 0);
    atomic_store(&b->t_end_ns, 0);
    for (int k = 0; k < b->nsess; k++) {
        atomic_store(&b->sess[k].next, 0);
        atomic_store(&b->sess[k].nlat, 0);
    }

    cpu0 = kt_cpu_secs();
    t0 = kt_now_ns();
    for (int k = 0; k < b->nsess; k++)
        for (int j = 0; j < b->outstanding && j < b->sess[k].quota; j++)
            kt_slot_submit(&b->sess[k].slots[j]);

    /* Bounded wait: each slice either sees progress or moves toward the stall limit. */
    t_prog = kt_now_ns();
    pthread_mutex_lock(&b->mu);
    for (;;) {
        long d = atomic_load(&b->done);
        int64_t now = kt_now_ns();
        if (d >= b->count)
            break;
        if (atomic_load(&b->lost)) {
            why = 1;
            break;
        }
        if (d != last_done) {
            last_done = d;
            t_prog = now;
        } else if (now - t_prog > (int64_t)b->stall_secs * 1000000000) {
            why = 2;
            break;
        }
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_nsec += KT_WAIT_SLICE_MS * 1000000L;
        dl.tv_sec += dl.tv_nsec / 1000000000L;
        dl.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&b->cv, &b->mu, &dl);
    }
    pthread_mutex_unlock(&b->mu);
    double cpu = kt_cpu_secs() - cpu0;

    if (why) {
        long d = atomic_load(&b->done);
        if (why == 1) {
            const kt_sess *s = &b->sess[atomic_load(&b->lost) - 1];
            fprintf(stderr, "zkbench: phase %s aborted: lost the server %s (session %d: %s) "
                    "after %ld of %ld ops\n", kt_ops[op].name, b->host, s->id,
                    kt_state_str(atomic_load(&s->state)), d, b->count);
        } else {
            fprintf(stderr, "zkbench: phase %s aborted: no progress for %d s at %ld of %ld ops "
                    "(server %s)\n", kt_ops[op].name, b->stall_secs, d, b->count, b->host);
        }
        return -1;
    }

    long n = 0;
    for (int k = 0; k < b->nsess; k++) {
        long m = atomic_load(&b->sess[k].nlat);
        if (m > b->sess[k].quota)
            m = b->sess[k].quota;
        memcpy(all + n, b->sess[k].lat_us, (size_t)m * sizeof *all);
        n += m;
    }
    qsort(all, (size_t)n, sizeof *all, kt_cmp_u32);

    double secs = (double)(atomic_load(&b->t_end_ns) - t0) / 1e9;
    long errs = atomic_load(&b->errors);
    printf("phase=%s ops=%ld secs=%.3f ops_per_sec=%.0f p50_us=%" PRIu32 " p99_us=%" PRIu32
           " p999_us=%" PRIu32 " max_us=%" PRIu32 " errors=%ld client_cpu_s=%.2f\n",
           kt_ops[op].name, b->count, secs, secs > 0 ? (double)b->count / secs : 0.0,
           kt_pct(all, n, 0.50), kt_pct(all, n, 0.99), kt_pct(all, n, 0.999),
           n ? all[n - 1] : 0, errs, cpu);
    fflush(stdout);
    if (errs) {
        char path[KT_PATH_MAX];
        int rc = atomic_load(&b->first_rc);
        kt_node_path(b, atomic_load(&b->first_sess), atomic_load(&b->first_idx), path,
                     sizeof path);
        fprintf(stderr, "zkbench: phase %s: %ld errors, first: %s (rc=%d) on %s\n",
                kt_ops[op].name, errs, kt_rc_str(rc), rc, path);
    }
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

/* Waits up to KT_CONNECT_SECS for @w; returns its rc, or ZOPERATIONTIMEOUT. */
static int kt_sync_wait(kt_sync *w)
{
    int64_t deadline = kt_now_ns() + (int64_t)KT_CONNECT_SECS * 1000000000;
    pthread_mutex_lock(&w->b->mu);
    while (!atomic_load(&w->done) && kt_now_ns() < deadline) {
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_nsec += KT_WAIT_SLICE_MS * 1000000L;
        dl.tv_sec += dl.tv_nsec / 1000000000L;
        dl.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&w->b->cv, &w->b->mu, &dl);
    }
    pthread_mutex_unlock(&w->b->mu);
    return atomic_load(&w->done) ? atomic_load(&w->rc) : ZOPERATIONTIMEOUT;
}

/* Creates @b->root and its ancestors; an existing node is fine. Main thread only. */
static int kt_root_create(kt_bench *b)
{
    char p[KT_ROOT_MAX];
    size_t len = strlen(b->root);
    for (size_t i = 1; i <= len; i++) {
        if (i < len && b->root[i] != '/')
            continue;
        memcpy(p, b->root, i);
        p[i] = '\0';
        kt_sync *w = kt_sync_begin(b);
        int rc = zoo_acreate(b->sess[0].zh, p, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
                             kt_sync_string, w);
        if (rc == ZOK)
            rc = kt_sync_wait(w);
        if (rc != ZOK && rc != ZNODEEXISTS) {
            fprintf(stderr, "zkbench: create %s: %s\n", p, zerror(rc));
            return -1;
        }
    }
    return 0;
}

/* Deletes @b->root (not its ancestors); best effort, it fails if not empty. */
static void kt_root_delete(kt_bench *b)
{
    kt_sync *w = kt_sync_begin(b);
    if (zoo_adelete(b->sess[0].zh, b->root, -1, kt_sync_void, w) == ZOK)
        kt_sync_wait(w);
}

static int kt_sessions_connect(kt_bench *b)
{
    int64_t deadline = kt_now_ns() + (int64_t)KT_CONNECT_SECS * 1000000000;
    for (int k = 0; k < b->nsess; k++) {
        b->sess[k].zh = zookeeper_init(b->host, kt_watcher, KT_RECV_TIMEOUT_MS, NULL,
                                       &b->sess[k], 0);
        if (!b->sess[k].zh) {
            fprintf(stderr, "zkbench: zookeeper_init(%s): %s\n", b->host, strerror(errno));
            return -1;
        }
    }
    pthread_mutex_lock(&b->mu);
    while (atomic_load(&b->connected) < b->nsess && kt_now_ns() < deadline) {
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_nsec += KT_WAIT_SLICE_MS * 1000000L;
        dl.tv_sec += dl.tv_nsec / 1000000000L;
        dl.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&b->cv, &b->mu, &dl);
    }
    pthread_mutex_unlock(&b->mu);
    if (atomic_load(&b->connected) < b->nsess) {
        fprintf(stderr, "zkbench: only %d of %d sessions connected to %s within %d s\n",
                atomic_load(&b->connected), b->nsess, b->host, KT_CONNECT_SECS);
        return -1;
    }
    return 0;
}

static void kt_usage(FILE *f)
{
    fprintf(f,
            "usage: zkbench [-s HOST:PORT] [-n SESSIONS] [-o OUTSTANDING] [-c COUNT] [-d BYTES]\n"
            "               [-p PHASES] [-r ROOT] [-t STALL_SECS] [-v]\n"
            "  -s  server (default 127.0.0.1:2181)\n"
            "  -n  sessions (default 16)\n"
            "  -o  requests in flight per session (default 32)\n"
            "  -c  operations per phase, over all sessions (default 100000)\n"
            "  -d  znode data size in bytes (default 100)\n"
            "  -p  comma list of create,setData,getData,exists,delete (default: all, in order)\n"
            "  -r  root path of the benchmark nodes (default /zkbench)\n"
            "  -t  abort a phase after this many seconds without progress (default 30)\n"
            "  -v  show the client library's error log (silenced by default)\n");
}

/* Parses a decimal integer in [lo, hi]; returns false on junk or range error. */
static bool kt_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool kt_parse_phases(kt_bench *b, const char *arg)
{
    char buf[256];
    char *save = NULL;
    if (strlen(arg) >= sizeof buf)
        return false;
    strcpy(buf, arg);
    memset(b->phase_on, 0, sizeof b->phase_on);
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int i = 0;
        while (i < KT_OP__NUM && strcasecmp(t, kt_ops[i].name) != 0)
            i++;
        if (i == KT_OP__NUM) {
            fprintf(stderr, "zkbench: unknown phase '%s'\n", t);
            return false;
        }
        b->phase_on[i] = true;
    }
    return true;
}

static int kt_bench_parse(kt_bench *b, int argc, char **argv)
{
    long v;
    int c;
    snprintf(b->host, sizeof b->host, "127.0.0.1:2181");
    snprintf(b->root, sizeof b->root, "/zkbench");
    b->nsess = 16;
    b->outstanding = 32;
    b->count = 100000;
    b->data_len = 100;
    b->stall_secs = 30;
    for (int i = 0; i < KT_OP__NUM; i++)
        b->phase_on[i] = true;

    while ((c = getopt(argc, argv, "s:n:o:c:d:p:r:t:vh")) != -1) {
        switch (c) {
        case 's':
            if (strlen(optarg) >= sizeof b->host)
                goto bad;
            snprintf(b->host, sizeof b->host, "%s", optarg);
            break;
        case 'n':
            if (!kt_parse_long(optarg, 1, KT_MAX_SESSIONS, &v))
                goto bad;
            b->nsess = (int)v;
            break;
        case 'o':
            if (!kt_parse_long(optarg, 1, KT_MAX_OUTSTANDING, &v))
                goto bad;
            b->outstanding = (int)v;
            break;
        case 'c':
            if (!kt_parse_long(optarg, 1, KT_MAX_COUNT, &v))
                goto bad;
            b->count = v;
            break;
        case 'd':
            if (!kt_parse_long(optarg, 0, KT_MAX_DATA, &v))
                goto bad;
            b->data_len = (int)v;
            break;
        case 'p':
            if (!kt_parse_phases(b, optarg))
                goto bad;
            break;
        case 'r': {
            size_t n = strlen(optarg);
            while (n > 1 && optarg[n - 1] == '/')
                n--;
            if (optarg[0] != '/' || n < 2 || n >= sizeof b->root)
                goto bad;
            memcpy(b->root, optarg, n);
            b->root[n] = '\0';
            break;
        }
        case 't':
            if (!kt_parse_long(optarg, 1, 86400, &v))
                goto bad;
            b->stall_secs = (int)v;
            break;
        case 'v':
            b->verbose = true;
            break;
        case 'h':
            kt_usage(stdout);
            exit(0);
        default:
            goto bad;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "zkbench: unexpected argument '%s'\n", argv[optind]);
        kt_usage(stderr);
        return -1;
    }
    return 0;
bad:
    if (c != '?')
        fprintf(stderr, "zkbench: bad value for -%c\n", c);
    kt_usage(stderr);
    return -1;
}

static int kt_bench_init(kt_bench *b)
{
    if (pthread_mutex_init(&b->mu, NULL) || pthread_cond_init(&b->cv, NULL))
        return -1;
    b->data = malloc((size_t)b->data_len + 1);
    b->sess = calloc((size_t)b->nsess, sizeof *b->sess);
    if (!b->data || !b->sess)
        return -1;
    for (int i = 0; i < b->data_len; i++)
        b->data[i] = (char)('a' + i % 26);
    for (int k = 0; k < b->nsess; k++) {
        kt_sess *s = &b->sess[k];
        s->b = b;
        s->id = k;
        s->quota = b->count / b->nsess + (k < b->count % b->nsess ? 1 : 0);
        atomic_init(&s->state, 0);
        s->slots = calloc((size_t)b->outstanding, sizeof *s->slots);
        s->lat_us = malloc(((size_t)s->quota + 1) * sizeof *s->lat_us);
        if (!s->slots || !s->lat_us)
            return -1;
        for (int j = 0; j < b->outstanding; j++)
            s->slots[j].s = s;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static kt_bench bench;     /* static: large, and zero-initialised */
    kt_bench *b = &bench;
    uint32_t *all;

    if (kt_bench_parse(b, argc, argv))
        return 1;
    /* The client logs every failed reconnect, per session; our own messages say
     * what went wrong, so its log goes to /dev/null unless -v. */
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    if (!b->verbose) {
        FILE *devnull = fopen("/dev/null", "w");   /* kept open: the library holds it */
        if (devnull)
            zoo_set_log_stream(devnull);
    }
    if (kt_bench_init(b) || !(all = malloc((size_t)b->count * sizeof *all))) {
        fprintf(stderr, "zkbench: out of memory\n");
        return 1;
    }
    printf("# zkbench server=%s sessions=%d outstanding=%d count=%ld data=%d root=%s\n",
           b->host, b->nsess, b->outstanding, b->count, b->data_len, b->root);
    fflush(stdout);
    if (kt_sessions_connect(b) || kt_root_create(b)) {
        fflush(stdout);
        _exit(1);              /* handles may be half-connected; skip zookeeper_close */
    }

    for (int op = 0; op < KT_OP__NUM; op++) {
        if (!b->phase_on[op])
            continue;
        if (kt_phase_run(b, (kt_op)op, all)) {
            fflush(stdout);
            fflush(stderr);
            _exit(2);          /* requests may still be in flight: do not tear down */
        }
    }

    if (b->phase_on[KT_OP_DELETE])
        kt_root_delete(b);
    for (int k = 0; k < b->nsess; k++)
        zookeeper_close(b->sess[k].zh);
    for (int k = 0; k < b->nsess; k++) {
        free(b->sess[k].slots);
        free(b->sess[k].lat_us);
    }
    free(b->sess);
    free(b->data);
    free(all);
    return 0;
}
