/* common/kz_zkc.c -- see kz_zkc.h.
 *
 * Threads. libzookeeper_mt calls three kinds of functions of ours on its own
 * threads, and each only copies and posts:
 *   - completions (zkc_cb_*): the request message (zkc_req, allocated on the
 *     loop thread at submission and handed to the library as its data) gets
 *     the rc and copies of the results, then is posted through the kz_loopq
 *     item embedded in it, so posting cannot fail for lack of memory. The
 *     library calls a completion at most once: zookeeper_close may drop the
 *     completions of requests still pending. So the loop keeps every request
 *     the library accepted on z->inflight until its message runs, and after
 *     zookeeper_close (all library threads joined) answers the ones never
 *     completed itself: with an error through the queue when a handle is
 *     replaced, by releasing them silently in kz_zkc_free.
 *   - per-call watchers (zkc_on_watch): their context is not a pointer but a
 *     watch id (an integer that is never reused); they post (id, type, path).
 *     The loop looks the id up in @watches: a watch forgotten since (its
 *     session expired, or the client was freed) is simply not found. This is
 *     what makes a late or duplicate delivery harmless. Session events, which
 *     the library also sends to every registered watcher, are ignored there.
 *   - the handle's global watcher (zkc_on_session) gets session events; its
 *     context is the handle's zkc_hctx (loopq, owner, generation), which lives
 *     as long as the kz_zkc so that it is never freed under a library thread.
 *     A message from a handle that has since been replaced (older
 *     generation) is ignored.
 *
 * Handles. z->zh is the current handle, z->gen its generation. It is the
 * chroot bootstrap handle while z->bootstrap (user operations are refused
 * then), and it is NULL only while zookeeper_init keeps failing (a 1 s retry
 * timer runs). On EXPIRED the loop closes the old handle (its pending
 * requests are answered with ZSESSIONEXPIRED), forgets every watch and
 * opens a new handle.
 *
 * Freeing. kz_zkc_free closes the handle (joining the library's threads),
 * then frees the kz_loopq, which drops, without running them, the messages
 * still queued; internal helpers (create-with-parents, recursive delete)
 * release their state from the drop callbacks of their requests. Every
 * message handler calls the user last and does not touch the kz_zkc after
 * that, so a user callback may free it.
 * Locality: the loop thread, except the zkc_cb_* and zkc_on_* functions. */
#include "kz_zkc.h"

#include <errno.h>
#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zookeeper/zookeeper.h>

#include "kz_buf.h"
#include "kz_log.h"
#include "kz_loopq.h"
#include "kz_map.h"

#define ZKC_COMP "kafka.zookeeper.ZooKeeperClient"
#define ZKC_PFX "[ZooKeeperClient Kafka server] "

#define ZKC_SAME(x) ((int)KZ_Z##x == (int)Z##x)
_Static_assert(ZKC_SAME(OK) &&
               ZKC_SAME(SYSTEMERROR) &&
               ZKC_SAME(CONNECTIONLOSS) &&
               ZKC_SAME(INVALIDSTATE) &&
               ZKC_SAME(NONODE) &&
               ZKC_SAME(BADVERSION) &&
               ZKC_SAME(NODEEXISTS) &&
               ZKC_SAME(NOTEMPTY) &&
               ZKC_SAME(SESSIONEXPIRED) &&
               ZKC_SAME(CLOSING) &&
               ZKC_SAME(AUTHFAILED) &&
               ZKC_SAME(BADARGUMENTS) &&
               ZKC_SAME(RUNTIMEINCONSISTENCY) &&
               ZKC_SAME(NOCHILDRENFOREPHEMERALS) &&
               ZKC_SAME(OPERATIONTIMEOUT) &&
               ZKC_SAME(NOAUTH) &&
               ZKC_SAME(APIERROR) &&
               ZKC_SAME(MARSHALLINGERROR) &&
               ZKC_SAME(SESSIONMOVED) &&
               ZKC_SAME(NOTHING) &&
               ZKC_SAME(INVALIDACL) &&
               ZKC_SAME(INVALIDCALLBACK) &&
               ZKC_SAME(DATAINCONSISTENCY) &&
               ZKC_SAME(UNIMPLEMENTED),
               "KZ_Z* codes are ZooKeeper's");

typedef struct zkc_hctx {
    kz_loopq *q;
    kz_zkc *z;
    uint64_t gen;
    struct zkc_hctx *next;
} zkc_hctx;

struct kz_zkc {
    struct event_base *base;
    kz_loopq *q;
    char *hosts;  /* "h:p,h:p" */
    char *chroot; /* "/kafka", or NULL */
    int session_timeout_ms, conn_timeout_ms;
    kz_zkc_session_fn *on_session;
    void *ctx;
    zhandle_t *zh;
    uint64_t gen;
    zkc_hctx *hctxs; /* every handle context used so far */
    bool bootstrap;
    uint64_t boot_gen; /* handle generation the chroot create was sent on */
    bool connected, ever_connected, auth_failed;
    int64_t sid;
    char passwd[16];
    int timeout;
    struct event *conn_timer, *retry_timer;
    kz_map watches; /* watch id -> zkc_watch * */
    uint64_t next_wid;
    struct zkc_req *inflight; /* requests the library holds (see zkc_track) */
    bool closing;             /* kz_zkc_free under way: nothing new is sent */
};

typedef struct zkc_watch {
    kz_zkc_watch_fn *fn;
    void *ctx;
} zkc_watch;

typedef enum { R_CREATE, R_DELETE, R_EXISTS, R_GET, R_SET, R_CHILDREN, R_MULTI } zkc_kind;

typedef struct zkc_req {
    kz_loopq_item item; /* how the completion posts it home */
    kz_loopq *q;
    kz_zkc *z;          /* loop side only */
    struct zkc_req *prev, *next; /* z->inflight, loop thread only */
    bool linked;
    bool completed;     /* set by the completion before it posts */
    zkc_kind kind;
    uint64_t wid;       /* watch id sent with it, 0 if none */
    kz_zkc_done_fn *fn;
    void *ctx;
    kz_loopq_fn *release; /* releases an internal @ctx when dropped */
    /* inputs */
    char *path;
    char *data;
    int32_t len, version;
    int flags;
    bool retried, exists_ok;
    /* results, written by the completion */
    int rc;
    char *rpath;
    char *rdata;
    int32_t rlen;
    struct Stat st;
    bool has_stat;
    char **kids;
    int32_t nkids;
    /* multi */
    int nops;
    zoo_op_t *ops;
    zoo_op_result_t *res;
    struct Stat *stats;
    char **bufs;
    kz_zkc_op_result *ures;
} zkc_req;

typedef struct zkc_wmsg {
    kz_loopq_item item;
    kz_zkc *z;
    uint64_t wid;
    int type;
    char path[];
} zkc_wmsg;

typedef struct zkc_smsg {
    kz_loopq_item item;
    zkc_hctx *h;
    int state;
    int64_t sid;
    char passwd[16];
    int timeout;
} zkc_smsg;

static int zkc_open(kz_zkc *z);
static int zkc_send(kz_zkc *z, zkc_req *r);
static void zkc_req_deliver(zkc_req *r);

/* ------------------------------------------------------------ helpers */

static kz_zkc_stat zkc_stat(const struct Stat *s)
{
    return (kz_zkc_stat){ s->czxid, s->mzxid, s->ctime, s->mtime, s->version, s->cversion,
                          s->aversion, s->ephemeralOwner, s->dataLength, s->numChildren,
                          s->pzxid };
}

static int zkc_mode(int flags)
{
    bool eph = flags & KZ_ZKC_EPHEMERAL, seq = flags & KZ_ZKC_SEQUENTIAL;
    return eph ? (seq ? ZOO_EPHEMERAL_SEQUENTIAL : ZOO_EPHEMERAL)
               : (seq ? ZOO_PERSISTENT_SEQUENTIAL : ZOO_PERSISTENT);
}

const char *kz_zkc_strerror(int rc) { return zerror(rc); }

/* The C client's log lines: "<time>:<pid>(<tid>):ZOO_WARN@fn@line: text". */
static void zkc_log_cb(const char *msg)
{
    const char *p = strstr(msg, "ZOO_");
    kz_log_level lvl = p && strncmp(p, "ZOO_ERROR", 9) == 0 ? KZ_LOG_ERROR : KZ_LOG_WARN;
    const char *s = p ? p : msg;
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    kz_log_write(lvl, "org.apache.zookeeper.ClientCnxn", "%.*s", (int)n, s);
}

/* ---------------------------------------------------- request messages */

/* Requests the library accepted are kept on z->inflight until their message
 * runs or is dropped. zookeeper_close does not always call the completions
 * of requests still pending (its close path can discard them), so
 * kz_zkc_free releases whatever is left there once the library's threads are
 * gone. */
static void zkc_track(kz_zkc *z, struct zkc_req *r);
static void zkc_untrack(struct zkc_req *r);

static void zkc_req_free(zkc_req *r)
{
    if (!r)
        return;
    zkc_untrack(r);
    free(r->path);
    free(r->data);
    free(r->rpath);
    free(r->rdata);
    free(r->kids);
    if (r->bufs)
        for (int i = 0; i < r->nops; i++)
            free(r->bufs[i]);
    free(r->bufs);
    free(r->ops);
    free(r->res);
    free(r->stats);
    free(r->ures);
    free(r);
}

static void zkc_track(kz_zkc *z, zkc_req *r)
{
    r->prev = NULL;
    r->next = z->inflight;
    if (z->inflight)
        z->inflight->prev = r;
    z->inflight = r;
    r->linked = true;
}

static void zkc_untrack(zkc_req *r)
{
    if (!r->linked)
        return;
    if (r->prev)
        r->prev->next = r->next;
    else
        r->z->inflight = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->linked = false;
}

static zkc_req *zkc_req_new(kz_zkc *z, zkc_kind kind, const char *path, kz_zkc_done_fn *fn,
                            void *ctx)
{
    zkc_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->z = z;
    r->q = z->q;
    r->kind = kind;
    r->fn = fn;
    r->ctx = ctx;
    r->rlen = -1;
    r->version = -1;
    if (path && !(r->path = strdup(path))) {
        free(r);
        return NULL;
    }
    return r;
}

static void zkc_post(zkc_req *r);

/* Completions, on a library thread: copy, then post. */
static void zkc_cb_void(int rc, const void *data)
{
    zkc_req *r = (zkc_req *)data;
    r->rc = rc;
    zkc_post(r);
}

/* Records a completion's @rc and, when it succeeded, its @st (may be NULL); returns whether
 * it succeeded. */
static bool zkc_done_stat(zkc_req *r, int rc, const struct Stat *st)
{
    r->rc = rc;
    if (rc == ZOK && st) {
        r->st = *st;
        r->has_stat = true;
    }
    return rc == ZOK;
}

static void zkc_cb_stat(int rc, const struct Stat *st, const void *data)
{
    zkc_req *r = (zkc_req *)data;
    zkc_done_stat(r, rc, st);
    zkc_post(r);
}

static void zkc_cb_data(int rc, const char *v, int vlen, const struct Stat *st, const void *data)
{
    zkc_req *r = (zkc_req *)data;
    if (zkc_done_stat(r, rc, st) && v && vlen >= 0) {
        r->rdata = malloc((size_t)vlen + 1);
        if (r->rdata) {
            memcpy(r->rdata, v, (size_t)vlen);
            r->rdata[vlen] = '\0'; /* convenience for text payloads */
            r->rlen = vlen;
        } else {
            r->rc = ZSYSTEMERROR;
        }
    }
    zkc_post(r);
}

static void zkc_cb_string_stat(int rc, const char *v, const struct Stat *st, const void *data)
{
    zkc_req *r = (zkc_req *)data;
    if (zkc_done_stat(r, rc, st) && v && !(r->rpath = strdup(v)))
        r->rc = ZSYSTEMERROR;
    zkc_post(r);
}

static void zkc_cb_strings_stat(int rc, const struct String_vector *sv, const struct Stat *st,
                                const void *data)
{
    zkc_req *r = (zkc_req *)data;
    if (zkc_done_stat(r, rc, st)) {
        int32_t n = sv && sv->count > 0 ? sv->count : 0;
        size_t bytes = (size_t)n * sizeof(char *);
        for (int32_t i = 0; i < n; i++)
            bytes += strlen(sv->data[i]) + 1;
        r->kids = malloc(bytes ? bytes : 1);
        if (r->kids) {
            char *p = (char *)(r->kids + n);
            for (int32_t i = 0; i < n; i++) {
                size_t l = strlen(sv->data[i]) + 1;
                memcpy(p, sv->data[i], l);
                r->kids[i] = p;
                p += l;
            }
            r->nkids = n;
        } else {
            r->rc = ZSYSTEMERROR;
        }
    }
    zkc_post(r);
}

/* The watch-id registry (loop thread). */
static void zkc_watch_forget(kz_zkc *z, uint64_t wid)
{
    uint64_t v;
    if (wid && kz_map_del(&z->watches, (int64_t)wid, &v))
        free((zkc_watch *)(uintptr_t)v);
}

static void zkc_watches_clear(kz_zkc *z)
{
    int64_t k;
    uint64_t v;
    for (size_t it = 0; kz_map_next(&z->watches, &it, &k, &v);)
        free((zkc_watch *)(uintptr_t)v);
    kz_map_free(&z->watches);
    z->watches = KZ_MAP_INIT;
}

/* Whether the server keeps the watch sent with @r (the C client's rule:
 * exists watches on OK and NONODE, data and child watches on OK). */
static bool zkc_watch_set(const zkc_req *r)
{
    return r->rc == ZOK || (r->kind == R_EXISTS && r->rc == ZNONODE);
}

static void zkc_parents_start(zkc_req *r);

/* A completion message on the loop thread. */
static void zkc_req_run(void *arg)
{
    zkc_req *r = arg;
    zkc_untrack(r);
    if (r->wid && !zkc_watch_set(r))
        zkc_watch_forget(r->z, r->wid);
    if (r->kind == R_CREATE && r->rc == ZNONODE && (r->flags & KZ_ZKC_PARENTS) && !r->retried) {
        zkc_parents_start(r); /* delivers later */
        return;
    }
    zkc_req_deliver(r);
}

static void zkc_req_drop(void *arg)
{
    zkc_req *r = arg;
    if (r->release)
        r->release(r->ctx);
    zkc_req_free(r);
}

static void zkc_post(zkc_req *r)
{
    r->completed = true;
    r->item = (kz_loopq_item){ .fn = zkc_req_run, .drop = zkc_req_drop, .ctx = r };
    if (kz_loopq_post_item(r->q, &r->item) != 0)
        zkc_req_free(r); /* only after kz_zkc_free began: nobody waits for it */
}

/* Builds the user's view of @r, calls the user, frees @r. */
static void zkc_req_deliver(zkc_req *r)
{
    kz_zkc_result res = { .rc = r->rc, .path = r->rpath ? r->rpath : r->path };
    if (r->exists_ok && res.rc == ZNODEEXISTS)
        res.rc = ZOK;
    res.data = r->rdata;
    res.data_len = r->rdata ? r->rlen : -1;
    if (r->has_stat) {
        res.stat = zkc_stat(&r->st);
        res.has_stat = true;
    }
    res.children = (const char *const *)r->kids;
    res.n_children = r->nkids;
    if (r->kind == R_MULTI && r->ures) {
        /* A failure before any reply (connection loss, closing, expiry)
         * leaves the per-op codes unset: report the overall code then. */
        bool replied = r->rc == ZOK || (r->rc <= ZAPIERROR && r->rc != ZSESSIONEXPIRED &&
                                        r->rc != ZCLOSING && r->rc != ZSESSIONMOVED &&
                                        r->rc != ZAUTHFAILED && r->rc != ZINVALIDCALLBACK);
        for (int i = 0; i < r->nops; i++) {
            kz_zkc_op_result *u = &r->ures[i];
            u->rc = replied ? r->res[i].err : r->rc;
            /* In a failed multi the ops before the failing one say OK
             * ("would have applied") but produced nothing. */
            if (r->rc == ZOK && r->ops[i].type == ZOO_CREATE_OP)
                u->path = r->bufs[i];
            if (r->rc == ZOK && r->ops[i].type == ZOO_SETDATA_OP) {
                u->stat = zkc_stat(&r->stats[i]);
                u->has_stat = true;
            }
        }
        res.ops = r->ures;
        res.n_ops = r->nops;
    }
    r->fn(r->ctx, &res); /* may free r->z */
    zkc_req_free(r);
}

/* ------------------------------------------------------------ watches */

static void zkc_wmsg_run(void *arg)
{
    zkc_wmsg *m = arg;
    uint64_t v;
    if (kz_map_del(&m->z->watches, (int64_t)m->wid, &v)) {
        zkc_watch w = *(zkc_watch *)(uintptr_t)v;
        free((zkc_watch *)(uintptr_t)v);
        w.fn(w.ctx, m->type, m->path);
    }
    free(m);
}

static void zkc_wmsg_drop(void *arg) { free(arg); }

static void zkc_on_watch(zhandle_t *zh, int type, int state, const char *path, void *wctx)
{
    (void)state;
    if (type == ZOO_SESSION_EVENT)
        return; /* sent to every watcher on each state change: not ours to act on */
    const zkc_hctx *h = zoo_get_context(zh);
    int t = type == ZOO_CREATED_EVENT   ? KZ_ZKC_EV_CREATED
            : type == ZOO_DELETED_EVENT ? KZ_ZKC_EV_DELETED
            : type == ZOO_CHANGED_EVENT ? KZ_ZKC_EV_CHANGED
            : type == ZOO_CHILD_EVENT   ? KZ_ZKC_EV_CHILD
                                        : KZ_ZKC_EV_NOTWATCHING;
    size_t l = path ? strlen(path) : 0;
    zkc_wmsg *m = malloc(sizeof *m + l + 1);
    if (!m) {
        kz_log_write(KZ_LOG_ERROR, ZKC_COMP, ZKC_PFX "out of memory: lost a watch event on %s",
                     path ? path : "");
        return;
    }
    m->z = h->z;
    m->wid = (uint64_t)(uintptr_t)wctx;
    m->type = t;
    memcpy(m->path, path ? path : "", l + 1);
    m->item = (kz_loopq_item){ .fn = zkc_wmsg_run, .drop = zkc_wmsg_drop, .ctx = m };
    if (kz_loopq_post_item(h->q, &m->item) != 0)
        free(m);
}

/* Registers (wfn, wctx) for @r; 0 or KZ_ZSYSTEMERROR. */
static int zkc_watch_add(kz_zkc *z, zkc_req *r, kz_zkc_watch_fn *wfn, void *wctx)
{
    if (!wfn)
        return 0;
    zkc_watch *w = malloc(sizeof *w);
    if (!w)
        return ZSYSTEMERROR;
    *w = (zkc_watch){ wfn, wctx };
    uint64_t id = ++z->next_wid;
    if (kz_map_put(&z->watches, (int64_t)id, (uint64_t)(uintptr_t)w) != 0) {
        free(w);
        return ZSYSTEMERROR;
    }
    r->wid = id;
    return 0;
}

/* ------------------------------------------------------------ session */

static void zkc_smsg_drop(void *arg) { free(arg); }

static void zkc_session_run(void *arg);

static void zkc_on_session(zhandle_t *zh, int type, int state, const char *path, void *hctx)
{
    (void)path;
    if (type != ZOO_SESSION_EVENT)
        return;
    zkc_hctx *h = hctx;
    zkc_smsg *m = calloc(1, sizeof *m);
    if (!m) {
        kz_log_write(KZ_LOG_ERROR, ZKC_COMP, ZKC_PFX "out of memory: lost a session event (state %d)",
                     state);
        return;
    }
    m->h = h;
    m->state = state;
    if (state == ZOO_CONNECTED_STATE || state == ZOO_READONLY_STATE) {
        const clientid_t *cid = zoo_client_id(zh);
        if (cid) {
            m->sid = cid->client_id;
            memcpy(m->passwd, cid->passwd, sizeof m->passwd);
        }
        m->timeout = zoo_recv_timeout(zh);
    }
    m->item = (kz_loopq_item){ .fn = zkc_session_run, .drop = zkc_smsg_drop, .ctx = m };
    if (kz_loopq_post_item(h->q, &m->item) != 0)
        free(m);
}

static void zkc_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    zkc_open(arg);
}

/* Opens a handle for the current phase (bootstrap: without the chroot).
 * Returns 0, or -1 after arming the retry timer. */
static int zkc_open(kz_zkc *z)
{
    zkc_hctx *h = calloc(1, sizeof *h);
    char *conn = NULL;
    if (!h)
        goto retry;
    h->q = z->q;
    h->z = z;
    h->gen = ++z->gen;
    h->next = z->hctxs;
    z->hctxs = h;
    size_t n = strlen(z->hosts) + (z->chroot ? strlen(z->chroot) : 0) + 1;
    if (!(conn = malloc(n)))
        goto retry;
    snprintf(conn, n, "%s%s", z->hosts, z->chroot && !z->bootstrap ? z->chroot : "");
    kz_log_write(KZ_LOG_INFO, ZKC_COMP, ZKC_PFX "Initializing a new session to %s.", conn);
    z->zh = zookeeper_init2(conn, zkc_on_session, z->session_timeout_ms, NULL, h, 0, zkc_log_cb);
    if (!z->zh) {
        kz_log_write(KZ_LOG_ERROR, ZKC_COMP, ZKC_PFX "Cannot create a session to %s: %s", conn,
                     strerror(errno));
        goto retry;
    }
    free(conn);
    return 0;
retry:
    free(conn);
    struct timeval tv = { 1, 0 };
    evtimer_add(z->retry_timer, &tv);
    return -1;
}

/* Closes the current handle and forgets its watches. Its pending requests
 * are answered with @rc through the queue (later, in order) when the library
 * did not complete them itself, so that every completion still runs once. */
static void zkc_close_handle(kz_zkc *z, int rc)
{
    if (z->zh) {
        zhandle_t *zh = z->zh;
        z->zh = NULL;
        zookeeper_close(zh);
    }
    for (zkc_req *r = z->inflight, *next; r; r = next) {
        next = r->next;
        if (!r->completed) {
            zkc_untrack(r);
            r->rc = rc;
            zkc_post(r);
        }
    }
    zkc_watches_clear(z);
    z->connected = false;
}

static void zkc_bootstrap_done(void *ctx, const kz_zkc_result *res)
{
    kz_zkc *z = ctx;
    if (z->closing || !z->bootstrap || z->boot_gen != z->gen)
        return; /* closing, or answered for a bootstrap handle replaced since */
    if (res->rc == ZCONNECTIONLOSS || res->rc == ZOPERATIONTIMEOUT) {
        z->connected = false; /* try again on the next CONNECTED */
        return;
    }
    if (res->rc == ZOK)
        kz_log_write(KZ_LOG_INFO, "kafka.server.KafkaServer", "Created zookeeper path %s", z->chroot);
    else
        kz_log_write(KZ_LOG_ERROR, ZKC_COMP, ZKC_PFX "Cannot create the chroot %s: %s", z->chroot,
                     zerror(res->rc));
    zkc_close_handle(z, ZCLOSING);
    z->bootstrap = false;
    zkc_open(z);
}

static void zkc_bootstrap_event(kz_zkc *z, int state)
{
    if (state == ZOO_CONNECTED_STATE && !z->connected) {
        z->connected = true;
        z->boot_gen = z->gen;
        zkc_req *r = zkc_req_new(z, R_CREATE, z->chroot, zkc_bootstrap_done, z);
        if (r) {
            r->flags = KZ_ZKC_PERSISTENT | KZ_ZKC_PARENTS;
            r->exists_ok = true;
            int rc = zkc_send(z, r);
            if (rc == 0)
                return;
            r->rc = rc;
            zkc_req_deliver(r);
        }
    } else if (state == ZOO_EXPIRED_SESSION_STATE) {
        zkc_close_handle(z, ZSESSIONEXPIRED);
        zkc_open(z);
    }
}

static void zkc_session_run(void *arg)
{
    zkc_smsg m = *(zkc_smsg *)arg;
    free(arg);
    kz_zkc *z = m.h->z;
    if (m.h->gen != z->gen)
        return; /* from a handle replaced since */
    if (z->bootstrap) {
        zkc_bootstrap_event(z, m.state);
        return;
    }
    if (m.state == ZOO_CONNECTED_STATE || m.state == ZOO_READONLY_STATE) {
        if (z->connected && z->sid == m.sid)
            return;
        z->connected = z->ever_connected = true;
        z->sid = m.sid;
        memcpy(z->passwd, m.passwd, sizeof z->passwd);
        z->timeout = m.timeout;
        evtimer_del(z->conn_timer);
        kz_log_write(KZ_LOG_INFO, ZKC_COMP, ZKC_PFX "Connected.");
        z->on_session(z->ctx, KZ_ZKC_CONNECTED, m.sid);
    } else if (m.state == ZOO_EXPIRED_SESSION_STATE) {
        int64_t old = z->sid;
        kz_log_write(KZ_LOG_INFO, ZKC_COMP, ZKC_PFX "Session expired.");
        zkc_close_handle(z, ZSESSIONEXPIRED);
        z->sid = 0;
        z->timeout = 0;
        zkc_open(z);
        z->on_session(z->ctx, KZ_ZKC_EXPIRED, old);
    } else if (m.state == ZOO_AUTH_FAILED_STATE) {
        z->connected = false;
        z->auth_failed = true;
        kz_log_write(KZ_LOG_ERROR, ZKC_COMP, ZKC_PFX "Auth failed.");
        z->on_session(z->ctx, KZ_ZKC_AUTH_FAILED, z->sid);
    } else if (z->connected) { /* CONNECTING, ASSOCIATING, NOTCONNECTED */
        z->connected = false;
        z->on_session(z->ctx, KZ_ZKC_DISCONNECTED, z->sid);
    }
}

static void zkc_conn_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    kz_zkc *z = arg;
    if (z->ever_connected)
        return;
    kz_log_write(KZ_LOG_WARN, ZKC_COMP, ZKC_PFX "Timed out waiting for connection while in state: %s",
                 kz_zkc_state_name(z));
    z->on_session(z->ctx, KZ_ZKC_CONNECT_TIMEOUT, 0);
}

kz_zkc *kz_zkc_new(struct event_base *base, const char *connect, int session_timeout_ms,
                   int connection_timeout_ms, kz_zkc_session_fn *on_session, void *ctx)
{
    if (!connect || !*connect || *connect == '/' || session_timeout_ms <= 0 || !on_session) {
        kz_log_write(KZ_LOG_ERROR, ZKC_COMP, ZKC_PFX "invalid connect string '%s'",
                     connect ? connect : "");
        return NULL;
    }
    kz_zkc *z = calloc(1, sizeof *z);
    if (!z)
        return NULL;
    z->base = base;
    z->session_timeout_ms = session_timeout_ms;
    z->conn_timeout_ms = connection_timeout_ms > 0 ? connection_timeout_ms : session_timeout_ms;
    z->on_session = on_session;
    z->ctx = ctx;
    z->watches = KZ_MAP_INIT;
    const char *slash = strchr(connect, '/');
    z->hosts = slash ? strndup(connect, (size_t)(slash - connect)) : strdup(connect);
    /* Kafka takes everything from the first '/' as the chroot; "/" alone is none. */
    if (slash && strcmp(slash, "/") != 0) {
        size_t l = strlen(slash);
        while (l > 1 && slash[l - 1] == '/')
            l--;
        z->chroot = strndup(slash, l);
    }
    z->q = kz_loopq_new(base);
    z->conn_timer = evtimer_new(base, zkc_conn_timeout_cb, z);
    z->retry_timer = evtimer_new(base, zkc_retry_cb, z);
    if (!z->hosts || (slash && strcmp(slash, "/") != 0 && !z->chroot) || !z->q || !z->conn_timer ||
        !z->retry_timer) {
        kz_zkc_free(z);
        return NULL;
    }
    zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
    z->bootstrap = z->chroot != NULL;
    struct timeval tv = { z->conn_timeout_ms / 1000, (z->conn_timeout_ms % 1000) * 1000 };
    evtimer_add(z->conn_timer, &tv);
    kz_log_write(KZ_LOG_INFO, ZKC_COMP, ZKC_PFX "Waiting until connected.");
    zkc_open(z);
    return z;
}

void kz_zkc_free(kz_zkc *z)
{
    if (!z)
        return;
    if (z->closing)
        return; /* called again from a completion delivered below */
    z->closing = true;
    if (z->conn_timer)
        event_free(z->conn_timer);
    if (z->retry_timer)
        event_free(z->retry_timer);
    if (z->zh) {
        kz_log_write(KZ_LOG_INFO, ZKC_COMP, ZKC_PFX "Closing.");
        zookeeper_close(z->zh);
        z->zh = NULL;
    }
    /* The library's threads are gone. As the C client's own close does,
     * every request still owed an answer gets one now, so its owner can let
     * go of what it holds: the completions already queued with their real
     * results, the others with KZ_ZCLOSING. Watches are not delivered. */
    zkc_watches_clear(z);
    kz_loopq_run(z->q);
    while (z->inflight) {
        zkc_req *r = z->inflight;
        zkc_untrack(r);
        if (r->completed)
            continue; /* its message was queued after the run above: dropped below */
        r->rc = ZCLOSING;
        zkc_req_deliver(r);
    }
    kz_loopq_free(z->q);
    zkc_watches_clear(z);
    while (z->hctxs) {
        zkc_hctx *h = z->hctxs;
        z->hctxs = h->next;
        free(h);
    }
    free(z->hosts);
    free(z->chroot);
    free(z);
}

bool kz_zkc_connected(const kz_zkc *z) { return z->connected && !z->bootstrap; }
int64_t kz_zkc_session_id(const kz_zkc *z) { return z->bootstrap ? 0 : z->sid; }
int kz_zkc_session_timeout(const kz_zkc *z) { return z->bootstrap ? 0 : z->timeout; }
void kz_zkc_session_passwd(const kz_zkc *z, char passwd[16]) { memcpy(passwd, z->passwd, 16); }

const char *kz_zkc_state_name(const kz_zkc *z)
{
    if (z->auth_failed)
        return "AUTH_FAILED";
    int st = z->zh ? zoo_state(z->zh) : 0;
    if (z->bootstrap && st == ZOO_CONNECTED_STATE)
        return "CONNECTING"; /* creating the chroot: not usable yet */
    if (st == ZOO_CONNECTED_STATE)
        return "CONNECTED";
    if (st == ZOO_READONLY_STATE)
        return "CONNECTEDREADONLY";
    if (st == ZOO_ASSOCIATING_STATE)
        return "ASSOCIATING";
    if (st == ZOO_EXPIRED_SESSION_STATE)
        return "CLOSED";
    if (st == ZOO_AUTH_FAILED_STATE)
        return "AUTH_FAILED";
    return "CONNECTING";
}

/* ----------------------------------------------------------- operations */

static int zkc_send_raw(kz_zkc *z, zkc_req *r);

/* Sends @r on the current handle. 0, or a ZooKeeper error (nothing sent). */
static int zkc_send(kz_zkc *z, zkc_req *r)
{
    if (z->closing)
        return ZCLOSING;
    if (!z->zh)
        return ZCONNECTIONLOSS;
    r->completed = false;
    int rc = zkc_send_raw(z, r);
    if (rc == 0 && !r->linked)
        zkc_track(z, r);
    return rc;
}

static int zkc_send_raw(kz_zkc *z, zkc_req *r)
{
    watcher_fn w = r->wid ? zkc_on_watch : NULL;
    void *wc = (void *)(uintptr_t)r->wid;
    switch (r->kind) {
    case R_CREATE:
        return zoo_acreate2(z->zh, r->path, r->data, r->len, &ZOO_OPEN_ACL_UNSAFE, zkc_mode(r->flags),
                            zkc_cb_string_stat, r);
    case R_DELETE:
        return zoo_adelete(z->zh, r->path, r->version, zkc_cb_void, r);
    case R_EXISTS:
        return zoo_awexists(z->zh, r->path, w, wc, zkc_cb_stat, r);
    case R_GET:
        return zoo_awget(z->zh, r->path, w, wc, zkc_cb_data, r);
    case R_SET:
        return zoo_aset(z->zh, r->path, r->data, r->len, r->version, zkc_cb_stat, r);
    case R_CHILDREN:
        return zoo_awget_children2(z->zh, r->path, w, wc, zkc_cb_strings_stat, r);
    case R_MULTI:
        return zoo_amulti(z->zh, r->nops, r->ops, r->res, zkc_cb_void, r);
    }
    return ZBADARGUMENTS;
}

/* The common tail of every public operation: refuse while no usable handle,
 * send, and clean up when nothing was sent. */
static int zkc_submit(kz_zkc *z, zkc_req *r)
{
    int rc = z->bootstrap && !z->closing ? ZCONNECTIONLOSS : zkc_send(z, r);
    if (rc != 0) {
        zkc_watch_forget(z, r->wid);
        zkc_req_free(r);
    }
    return rc;
}

static bool zkc_path_ok(const char *path) { return path && path[0] == '/'; }

/* A request of @kind on @path for the public calls: NULL with *@rc ZBADARGUMENTS (no absolute
 * path or no callback) or ZSYSTEMERROR (out of memory). */
static zkc_req *zkc_req_checked(kz_zkc *z, zkc_kind kind, const char *path, kz_zkc_done_fn *fn, void *ctx,
                                int *rc)
{
    if (!zkc_path_ok(path) || !fn) {
        *rc = ZBADARGUMENTS;
        return NULL;
    }
    zkc_req *r = zkc_req_new(z, kind, path, fn, ctx);
    *rc = r ? ZOK : ZSYSTEMERROR;
    return r;
}

/* Submits @r with a copy of @len bytes of @data (NULL or a negative @len: null data); when
 * the copy cannot be made, frees @r and returns ZSYSTEMERROR. */
static int zkc_submit_data(kz_zkc *z, zkc_req *r, const void *data, int32_t len)
{
    r->len = -1;
    if (data && len >= 0) {
        if (!(r->data = malloc(len ? (size_t)len : 1))) {
            zkc_req_free(r);
            return ZSYSTEMERROR;
        }
        if (len)
            memcpy(r->data, data, (size_t)len);
        r->len = len;
    }
    return zkc_submit(z, r);
}

int kz_zkc_create(kz_zkc *z, const char *path, const void *data, int32_t len, int flags,
                  kz_zkc_done_fn *fn, void *ctx)
{
    int rc;
    zkc_req *r = zkc_req_checked(z, R_CREATE, path, fn, ctx, &rc);
    if (!r)
        return rc;
    r->flags = flags;
    return zkc_submit_data(z, r, data, len);
}

int kz_zkc_ensure_path(kz_zkc *z, const char *path, kz_zkc_done_fn *fn, void *ctx)
{
    int rc;
    zkc_req *r = zkc_req_checked(z, R_CREATE, path, fn, ctx, &rc);
    if (!r)
        return rc;
    r->flags = KZ_ZKC_PERSISTENT | KZ_ZKC_PARENTS;
    r->len = -1;
    r->exists_ok = true;
    return zkc_submit(z, r);
}

int kz_zkc_delete(kz_zkc *z, const char *path, int32_t version, kz_zkc_done_fn *fn, void *ctx)
{
    int rc;
    zkc_req *r = zkc_req_checked(z, R_DELETE, path, fn, ctx, &rc);
    if (!r)
        return rc;
    r->version = version;
    return zkc_submit(z, r);
}

static int zkc_read_op(kz_zkc *z, zkc_kind kind, const char *path, kz_zkc_watch_fn *wfn,
                       void *wctx, kz_zkc_done_fn *fn, void *ctx)
{
    int rc;
    zkc_req *r = zkc_req_checked(z, kind, path, fn, ctx, &rc);
    if (!r)
        return rc;
    if (zkc_watch_add(z, r, wfn, wctx) != 0) {
        zkc_req_free(r);
        return ZSYSTEMERROR;
    }
    return zkc_submit(z, r);
}

int kz_zkc_exists(kz_zkc *z, const char *path, kz_zkc_watch_fn *wfn, void *wctx,
                  kz_zkc_done_fn *fn, void *ctx)
{
    return zkc_read_op(z, R_EXISTS, path, wfn, wctx, fn, ctx);
}

int kz_zkc_get(kz_zkc *z, const char *path, kz_zkc_watch_fn *wfn, void *wctx,
               kz_zkc_done_fn *fn, void *ctx)
{
    return zkc_read_op(z, R_GET, path, wfn, wctx, fn, ctx);
}

int kz_zkc_children(kz_zkc *z, const char *path, kz_zkc_watch_fn *wfn, void *wctx,
                    kz_zkc_done_fn *fn, void *ctx)
{
    return zkc_read_op(z, R_CHILDREN, path, wfn, wctx, fn, ctx);
}

int kz_zkc_set(kz_zkc *z, const char *path, const void *data, int32_t len, int32_t version,
               kz_zkc_done_fn *fn, void *ctx)
{
    int rc;
    zkc_req *r = zkc_req_checked(z, R_SET, path, fn, ctx, &rc);
    if (!r)
        return rc;
    r->version = version;
    return zkc_submit_data(z, r, data, len);
}

/* A multi request for @ops; NULL when out of memory or on a bad op. */
static zkc_req *zkc_multi_req(kz_zkc *z, const kz_zkc_op *ops, int n, kz_zkc_done_fn *fn,
                              void *ctx)
{
    zkc_req *r = zkc_req_new(z, R_MULTI, NULL, fn, ctx);
    if (!r)
        return NULL;
    r->nops = n;
    size_t m = n > 0 ? (size_t)n : 1;
    r->ops = calloc(m, sizeof *r->ops);
    r->res = calloc(m, sizeof *r->res);
    r->stats = calloc(m, sizeof *r->stats);
    r->bufs = calloc(m, sizeof *r->bufs);
    r->ures = calloc(m, sizeof *r->ures);
    if (!r->ops || !r->res || !r->stats || !r->bufs || !r->ures)
        goto fail;
    /* Paths and data are serialised by zoo_amulti itself; only the result
     * buffers (created paths, set stats) must live until the completion. */
    for (int i = 0; i < n; i++) {
        const kz_zkc_op *o = &ops[i];
        int32_t len = o->data ? o->len : -1;
        if (!zkc_path_ok(o->path))
            goto fail;
        switch (o->type) {
        case KZ_ZKC_OP_CREATE: {
            size_t bl = strlen(o->path) + 16; /* room for a 10-digit sequence */
            if (!(r->bufs[i] = calloc(1, bl)))
                goto fail;
            zoo_create_op_init(&r->ops[i], o->path, o->data, len, &ZOO_OPEN_ACL_UNSAFE,
                               zkc_mode(o->flags), r->bufs[i], (int)bl);
            break;
        }
        case KZ_ZKC_OP_DELETE:
            zoo_delete_op_init(&r->ops[i], o->path, o->version);
            break;
        case KZ_ZKC_OP_SET:
            zoo_set_op_init(&r->ops[i], o->path, o->data, len, o->version, &r->stats[i]);
            break;
        case KZ_ZKC_OP_CHECK:
            zoo_check_op_init(&r->ops[i], o->path, o->version);
            break;
        default:
            goto fail;
        }
    }
    return r;
fail:
    zkc_req_free(r);
    return NULL;
}

int kz_zkc_multi(kz_zkc *z, const kz_zkc_op *ops, int n, kz_zkc_done_fn *fn, void *ctx)
{
    if (n <= 0 || !ops || !fn)
        return ZBADARGUMENTS;
    zkc_req *r = zkc_multi_req(z, ops, n, fn, ctx);
    if (!r)
        return ZSYSTEMERROR;
    return zkc_submit(z, r);
}

/* --------------------------------------------- create with missing parents */

/* @orig failed with NONODE: create every ancestor of its path (all sent at
 * once: one session keeps them in order), then send @orig again. */
typedef struct zkc_parents {
    zkc_req *orig;
    int pending; /* sub-requests in flight, plus one while sending them */
    int rc;      /* first failure other than NODEEXISTS */
} zkc_parents;

static void zkc_parents_release(void *arg)
{
    zkc_parents *p = arg;
    if (--p->pending > 0)
        return;
    zkc_req_drop(p->orig);
    free(p);
}

static void zkc_parents_step(zkc_parents *p)
{
    if (--p->pending > 0)
        return;
    zkc_req *r = p->orig;
    int rc = p->rc;
    free(p);
    if (rc == 0) {
        r->retried = true;
        r->rc = 0;
        free(r->rpath);
        r->rpath = NULL;
        r->has_stat = false;
        rc = zkc_send(r->z, r);
        if (rc == 0)
            return;
    }
    r->rc = rc;
    zkc_req_deliver(r);
}

static void zkc_parents_done(void *ctx, const kz_zkc_result *res)
{
    zkc_parents *p = ctx;
    if (res->rc != ZOK && res->rc != ZNODEEXISTS && !p->rc)
        p->rc = res->rc;
    zkc_parents_step(p);
}

static void zkc_parents_start(zkc_req *r)
{
    kz_zkc *z = r->z;
    zkc_parents *p = calloc(1, sizeof *p);
    if (!p) {
        r->rc = ZSYSTEMERROR;
        zkc_req_deliver(r);
        return;
    }
    p->orig = r;
    p->pending = 1;
    for (char *s = strchr(r->path + 1, '/'); s && !p->rc; s = strchr(s + 1, '/')) {
        *s = '\0';
        zkc_req *a = zkc_req_new(z, R_CREATE, r->path, zkc_parents_done, p);
        *s = '/';
        int rc = ZSYSTEMERROR;
        if (a) {
            a->release = zkc_parents_release;
            a->len = -1;
            rc = zkc_send(z, a);
            if (rc != 0)
                zkc_req_free(a);
        }
        if (rc != 0)
            p->rc = rc;
        else
            p->pending++;
    }
    zkc_parents_step(p);
}

/* ------------------------------------------------------ recursive delete */

/* One node of the tree being deleted: list its children, delete each child's
 * subtree (all at once), then delete the node. A node that appears to be
 * gone counts as deleted; NOTEMPTY (a child appeared meanwhile) starts the
 * node over, a few times. */
typedef struct zkc_rm_root {
    kz_zkc *z;
    kz_zkc_done_fn *fn;
    void *ctx;
    kz_zkc_op guard;
    char *guard_path; /* NULL: unguarded */
} zkc_rm_root;

typedef struct zkc_rm_node {
    struct zkc_rm_node *parent;
    zkc_rm_root *root;
    char *path;
    int kids;    /* live child nodes, plus one while spawning them */
    bool busy;   /* an operation of this node is in flight */
    int rc;      /* first failure below */
    int retries; /* NOTEMPTY restarts left */
} zkc_rm_node;

static void zkc_rm_free_root(zkc_rm_root *root)
{
    free(root->guard_path);
    free(root);
}

static zkc_rm_node *zkc_rm_node_new(zkc_rm_node *parent, zkc_rm_root *root, char *path)
{
    zkc_rm_node *n = calloc(1, sizeof *n);
    if (!n) {
        free(path);
        return NULL;
    }
    *n = (zkc_rm_node){ .parent = parent, .root = root, .path = path, .retries = 3 };
    return n;
}

/* A request of @arg was dropped (kz_zkc_free): free the node and every
 * ancestor left with nothing to wait for. Nobody is called. */
static void zkc_rm_release(void *arg)
{
    zkc_rm_node *n = arg;
    n->busy = false;
    while (n && !n->busy && n->kids == 0) {
        zkc_rm_node *p = n->parent;
        if (!p)
            zkc_rm_free_root(n->root);
        free(n->path);
        free(n);
        n = p;
        if (n)
            n->kids--;
    }
}

static void zkc_rm_list(zkc_rm_node *n);
static void zkc_rm_delete(zkc_rm_node *n);

/* @n is done with @rc: tell its parent, or the user at the top. */
static void zkc_rm_finish(zkc_rm_node *n, int rc)
{
    zkc_rm_node *p = n->parent;
    if (!p) {
        zkc_rm_root *root = n->root;
        kz_zkc_result res = { .rc = rc, .path = n->path };
        kz_zkc_done_fn *fn = root->fn;
        void *ctx = root->ctx;
        zkc_rm_free_root(root);
        fn(ctx, &res); /* may free the client: touch nothing of it after */
        free(n->path);
        free(n);
        return;
    }
    free(n->path);
    free(n);
    if (rc && !p->rc)
        p->rc = rc;
    if (--p->kids > 0)
        return;
    if (p->rc)
        zkc_rm_finish(p, p->rc);
    else
        zkc_rm_delete(p);
}

/* Sends @r for @n, or finishes @n with the error. */
static void zkc_rm_send(zkc_rm_node *n, zkc_req *r)
{
    int rc = r ? zkc_send(n->root->z, r) : ZSYSTEMERROR;
    if (rc != 0) {
        zkc_req_free(r);
        zkc_rm_finish(n, rc);
        return;
    }
    r->release = zkc_rm_release;
    n->busy = true;
}

static void zkc_rm_deleted(void *ctx, const kz_zkc_result *res)
{
    zkc_rm_node *n = ctx;
    n->busy = false;
    int rc = res->rc;
    if (res->n_ops == 2) /* guarded: the guard's code first, then the delete's */
        rc = res->ops[0].rc != ZOK ? res->ops[0].rc : res->ops[1].rc;
    if (rc == ZNOTEMPTY && n->retries-- > 0) {
        zkc_rm_list(n);
        return;
    }
    zkc_rm_finish(n, rc == ZNONODE ? ZOK : rc);
}

static void zkc_rm_delete(zkc_rm_node *n)
{
    kz_zkc *z = n->root->z;
    zkc_req *r;
    if (n->root->guard_path) {
        kz_zkc_op ops[2] = { n->root->guard,
                             { .type = KZ_ZKC_OP_DELETE, .path = n->path, .version = -1 } };
        r = zkc_multi_req(z, ops, 2, zkc_rm_deleted, n);
    } else {
        r = zkc_req_new(z, R_DELETE, n->path, zkc_rm_deleted, n);
    }
    zkc_rm_send(n, r);
}

static void zkc_rm_listed(void *ctx, const kz_zkc_result *res)
{
    zkc_rm_node *n = ctx;
    n->busy = false;
    if (res->rc != ZOK) {
        zkc_rm_finish(n, res->rc == ZNONODE ? ZOK : res->rc);
        return;
    }
    n->kids = 1; /* held while spawning, so that no child finishes us early */
    for (int32_t i = 0; i < res->n_children; i++) {
        size_t l = strlen(n->path) + strlen(res->children[i]) + 2;
        char *cp = malloc(l);
        zkc_rm_node *c = cp ? zkc_rm_node_new(n, n->root, cp) : NULL;
        if (!c) {
            if (!n->rc)
                n->rc = ZSYSTEMERROR;
            break;
        }
        snprintf(cp, l, "%s%s%s", n->path, strcmp(n->path, "/") == 0 ? "" : "/", res->children[i]);
        n->kids++;
        zkc_rm_list(c);
    }
    if (--n->kids > 0)
        return;
    if (n->rc)
        zkc_rm_finish(n, n->rc);
    else
        zkc_rm_delete(n);
}

static void zkc_rm_list(zkc_rm_node *n)
{
    zkc_rm_send(n, zkc_req_new(n->root->z, R_CHILDREN, n->path, zkc_rm_listed, n));
}

int kz_zkc_delete_recursive(kz_zkc *z, const char *path, const kz_zkc_op *guard,
                            kz_zkc_done_fn *fn, void *ctx)
{
    if (!zkc_path_ok(path) || !fn ||
        (guard && (guard->type != KZ_ZKC_OP_CHECK || !zkc_path_ok(guard->path))))
        return ZBADARGUMENTS;
    if (z->bootstrap || !z->zh)
        return ZCONNECTIONLOSS;
    zkc_rm_root *root = calloc(1, sizeof *root);
    if (!root)
        return ZSYSTEMERROR;
    if (guard && !(root->guard_path = strdup(guard->path))) {
        free(root);
        return ZSYSTEMERROR;
    }
    char *p = strdup(path);
    zkc_rm_node *n = p ? zkc_rm_node_new(NULL, root, p) : NULL; /* frees p on failure */
    if (!n) {
        zkc_rm_free_root(root);
        return ZSYSTEMERROR;
    }
    *root = (zkc_rm_root){ .z = z, .fn = fn, .ctx = ctx, .guard_path = root->guard_path };
    if (guard) {
        root->guard = *guard;
        root->guard.path = root->guard_path;
    }
    zkc_req *r = zkc_req_new(z, R_CHILDREN, path, zkc_rm_listed, n);
    int rc = r ? zkc_send(z, r) : ZSYSTEMERROR;
    if (rc != 0) {
        zkc_req_free(r);
        zkc_rm_free_root(root);
        free(n->path);
        free(n);
        return rc;
    }
    r->release = zkc_rm_release;
    n->busy = true;
    return 0;
}
