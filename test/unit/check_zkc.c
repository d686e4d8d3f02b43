/* test/unit/check_zkc.c -- kz_zkc and the kb_zk operations against a real
 * zkd built by this tree (ZKD_BIN, else build/release/zkd), started once on a
 * free 127.0.0.1 port with its own data directory and killed by PID at the
 * end.
 *
 * Everything the code under test claims is checked from outside through a
 * separate plain libzookeeper_mt handle (synchronous calls from the test
 * thread): node data, stat versions, czxid, ephemeral owners. Disconnection,
 * session expiry and connection timeouts are provoked with a small TCP proxy
 * (a thread) between the client and zkd that can drop every connection and
 * refuse new ones. Waits are bounded loops on a condition; to show that a
 * watch did NOT fire, the test makes one more round trip on the same session
 * after the change: ZooKeeper delivers a watch event before any later reply. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#define THREADED 1 /* the synchronous API of libzookeeper_mt */
#include <zookeeper/zookeeper.h>

#include "kb_zk.h"
#include "kz_log.h"
#include "kz_zkc.h"
#include "unit_util.h"

#define WAIT_MS 20000

/* LeakSanitizer's hook for built-in suppressions (SAN builds). libzookeeper_mt
 * 3.8 does not process the completions it fakes (ZCLOSING) for requests still
 * pending at zookeeper_close: its completion thread has stopped by then, so
 * those list entries are never freed. kz_zkc releases its own side of such
 * requests (t08 checks it); only allocations made inside the library are
 * suppressed here. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libzookeeper_mt.so\n"; }

/* ============================================================ the server */

static ut_zkd srv;

static void srv_start(void) { ut_zkd_start(&srv, "kzzkc", "4lw.commands.whitelist=*\n"); }

static void srv_stop(void) { ut_zkd_stop(&srv); }

/* ============================================================= the proxy */

typedef struct proxy {
    int lfd, port;
    pthread_t th;
    atomic_int blackhole, stop;
} proxy;

static void *proxy_main(void *arg)
{
    proxy *p = arg;
    int pair[16][2];
    int np = 0;
    char buf[65536];
    while (!atomic_load(&p->stop)) {
        if (atomic_load(&p->blackhole)) {
            for (int i = 0; i < np; i++)
                close(pair[i][0]), close(pair[i][1]);
            np = 0;
        }
        struct pollfd pf[33];
        pf[0] = (struct pollfd){ .fd = p->lfd, .events = POLLIN };
        for (int i = 0; i < np; i++) {
            pf[1 + 2 * i] = (struct pollfd){ .fd = pair[i][0], .events = POLLIN };
            pf[2 + 2 * i] = (struct pollfd){ .fd = pair[i][1], .events = POLLIN };
        }
        if (poll(pf, (nfds_t)(1 + 2 * np), 20) <= 0)
            continue;
        for (int i = np - 1; i >= 0; i--) {
            for (int d = 0; d < 2; d++) {
                if (!(pf[1 + 2 * i + d].revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                ssize_t n = recv(pair[i][d], buf, sizeof buf, 0);
                bool ok = n > 0;
                for (ssize_t off = 0; ok && off < n;) {
                    ssize_t w = send(pair[i][1 - d], buf + off, (size_t)(n - off), MSG_NOSIGNAL);
                    ok = w > 0;
                    off += w > 0 ? w : 0;
                }
                if (!ok) {
                    close(pair[i][0]);
                    close(pair[i][1]);
                    pair[i][0] = pair[np - 1][0];
                    pair[i][1] = pair[np - 1][1];
                    np--;
                    break;
                }
            }
        }
        if (pf[0].revents & POLLIN) {
            int c = accept(p->lfd, NULL, NULL);
            if (c < 0)
                continue;
            if (atomic_load(&p->blackhole) || np == 16) {
                close(c);
                continue;
            }
            int s = socket(AF_INET, SOCK_STREAM, 0);
            struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port),
                                     .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
            if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
                close(c);
                close(s);
                continue;
            }
            pair[np][0] = c;
            pair[np][1] = s;
            np++;
        }
    }
    for (int i = 0; i < np; i++)
        close(pair[i][0]), close(pair[i][1]);
    return NULL;
}

static void proxy_start(proxy *p, bool blackhole)
{
    memset(p, 0, sizeof *p);
    p->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t l = sizeof a;
    ck_assert_int_eq(bind(p->lfd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(p->lfd, 16), 0);
    getsockname(p->lfd, (struct sockaddr *)&a, &l);
    p->port = ntohs(a.sin_port);
    atomic_store(&p->blackhole, blackhole);
    ck_assert_int_eq(pthread_create(&p->th, NULL, proxy_main, p), 0);
}

static void proxy_stop(proxy *p)
{
    atomic_store(&p->stop, 1);
    pthread_join(p->th, NULL);
    close(p->lfd);
}

/* ================================================ raw handle (the oracle) */

static zhandle_t *raw_open(void)
{
    zhandle_t *zh = zookeeper_init(srv.hostport, NULL, 4000, NULL, NULL, 0);
    ck_assert_ptr_nonnull(zh);
    int64_t end = kz_mono_ms() + WAIT_MS;
    while (zoo_state(zh) != ZOO_CONNECTED_STATE) {
        ck_assert_msg(kz_mono_ms() < end, "raw handle did not connect");
        usleep(5000);
    }
    return zh;
}

/* Data of @path as a C string ("<null>" for a null znode); rc returned. */
static int raw_get(zhandle_t *zh, const char *path, char *buf, int cap, struct Stat *st)
{
    int len = cap - 1;
    int rc = zoo_get(zh, path, 0, buf, &len, st);
    if (rc == ZOK) {
        if (len < 0)
            snprintf(buf, (size_t)cap, "<null>");
        else
            buf[len] = '\0';
    }
    return rc;
}

static int raw_exists(zhandle_t *zh, const char *path) { return zoo_exists(zh, path, 0, NULL); }

/* ======================================================= the event loop */

static struct event_base *base;
static struct event *tick;

static void loop_setup(void) { base = ut_base_new(&tick); }

static void loop_teardown(void) { ut_base_free(base, tick); }

#define WAIT_FOR(cond, ms) UT_WAIT_FOR(base, cond, ms)

/* ---- session events */

typedef struct sess_log {
    int n;
    kz_zkc_session_event ev[64];
    int64_t sid[64];
    kz_zkc **free_on_connect; /* frees this client from the CONNECTED callback */
} sess_log;

static void on_session(void *ctx, kz_zkc_session_event ev, int64_t sid)
{
    sess_log *l = ctx;
    if (l->n < 64) {
        l->ev[l->n] = ev;
        l->sid[l->n] = sid;
    }
    l->n++;
    if (ev == KZ_ZKC_CONNECTED && l->free_on_connect && *l->free_on_connect) {
        kz_zkc_free(*l->free_on_connect);
        *l->free_on_connect = NULL;
    }
}

static int count_ev(const sess_log *l, kz_zkc_session_event ev)
{
    int c = 0;
    for (int i = 0; i < l->n && i < 64; i++)
        c += l->ev[i] == ev;
    return c;
}

static kz_zkc *connect_to(const char *conn, int timeout, sess_log *log)
{
    kz_zkc *z = kz_zkc_new(base, conn, timeout, 0, on_session, log);
    ck_assert_ptr_nonnull(z);
    WAIT_FOR(count_ev(log, KZ_ZKC_CONNECTED) > 0, WAIT_MS);
    ck_assert(kz_zkc_connected(z));
    ck_assert_int_ne(kz_zkc_session_id(z), 0);
    return z;
}

/* ---- results */

typedef struct box {
    int calls, rc;
    char path[256];
    char data[2048];
    int32_t data_len;
    bool has_stat;
    kz_zkc_stat stat;
    int n_children;
    char kids[64][64];
    int n_ops;
    int op_rc[8];
    char op_path[8][256];
    bool op_has_stat[8];
    kz_zkc_stat op_stat[8];
    kz_zkc **free_me; /* frees this client from the callback */
} box;

static void box_cb(void *ctx, const kz_zkc_result *r)
{
    box *b = ctx;
    b->calls++;
    b->rc = r->rc;
    snprintf(b->path, sizeof b->path, "%s", r->path ? r->path : "");
    b->data_len = r->data_len;
    if (r->data && r->data_len >= 0 && (size_t)r->data_len < sizeof b->data) {
        memcpy(b->data, r->data, (size_t)r->data_len);
        b->data[r->data_len] = '\0';
    }
    b->has_stat = r->has_stat;
    b->stat = r->stat;
    b->n_children = r->n_children;
    for (int i = 0; i < r->n_children && i < 64; i++)
        snprintf(b->kids[i], sizeof b->kids[i], "%s", r->children[i]);
    b->n_ops = r->n_ops;
    for (int i = 0; i < r->n_ops && i < 8; i++) {
        b->op_rc[i] = r->ops[i].rc;
        snprintf(b->op_path[i], sizeof b->op_path[i], "%s", r->ops[i].path ? r->ops[i].path : "");
        b->op_has_stat[i] = r->ops[i].has_stat;
        b->op_stat[i] = r->ops[i].stat;
    }
    if (b->free_me && *b->free_me) {
        kz_zkc_free(*b->free_me);
        *b->free_me = NULL;
    }
}

#define BOX_WAIT(b) WAIT_FOR((b)->calls > 0, WAIT_MS)

/* Synchronous conveniences over the asynchronous API (box reset each time). */
static int s_create(kz_zkc *z, const char *path, const char *data, int32_t len, int flags, box *b)
{
    memset(b, 0, sizeof *b);
    ck_assert_int_eq(kz_zkc_create(z, path, data, len, flags, box_cb, b), 0);
    BOX_WAIT(b);
    ck_assert_int_eq(b->calls, 1);
    return b->rc;
}

static int s_get(kz_zkc *z, const char *path, box *b)
{
    memset(b, 0, sizeof *b);
    ck_assert_int_eq(kz_zkc_get(z, path, NULL, NULL, box_cb, b), 0);
    BOX_WAIT(b);
    return b->rc;
}

/* One round trip on @z: afterwards every watch event caused before it has
 * been delivered (ZooKeeper orders events before later replies). */
static void barrier(kz_zkc *z)
{
    box b = { 0 };
    ck_assert_int_eq(kz_zkc_exists(z, "/", NULL, NULL, box_cb, &b), 0);
    BOX_WAIT(&b);
}

/* ---- watches */

typedef struct wbox {
    int fired, type;
    char path[256];
} wbox;

static void wbox_cb(void *ctx, int type, const char *path)
{
    wbox *w = ctx;
    w->fired++;
    w->type = type;
    snprintf(w->path, sizeof w->path, "%s", path);
}

/* ================================================================ tests */

/* 1. create / get / set / children / exists / delete, with stats, null and
 *    empty data, sequential names, missing parents; argument errors are
 *    returned without a callback. */
START_TEST(t01_crud)
{
    sess_log log = { 0 };
    kz_zkc *z = connect_to(srv.hostport, 4000, &log);
    zhandle_t *raw = raw_open();
    box b;
    char buf[512];
    struct Stat st;

    ck_assert_int_eq(s_create(z, "/t01", "hello", 5, KZ_ZKC_PERSISTENT, &b), KZ_ZOK);
    ck_assert_str_eq(b.path, "/t01");
    ck_assert(b.has_stat);
    ck_assert_int_eq(b.stat.version, 0);
    ck_assert_int_eq(b.stat.data_length, 5);
    ck_assert_int_eq(raw_get(raw, "/t01", buf, sizeof buf, &st), ZOK);
    ck_assert_str_eq(buf, "hello");
    ck_assert_int_eq(st.czxid, b.stat.czxid);
    ck_assert_int_eq(s_create(z, "/t01", "x", 1, KZ_ZKC_PERSISTENT, &b), KZ_ZNODEEXISTS);

    ck_assert_int_eq(s_get(z, "/t01", &b), KZ_ZOK);
    ck_assert_int_eq(b.data_len, 5);
    ck_assert_str_eq(b.data, "hello");
    ck_assert_int_eq(b.stat.version, 0);
    ck_assert_int_eq(b.stat.ephemeral_owner, 0);

    memset(&b, 0, sizeof b);
    ck_assert_int_eq(kz_zkc_set(z, "/t01", "world!", 6, 0, box_cb, &b), 0);
    BOX_WAIT(&b);
    ck_assert_int_eq(b.rc, KZ_ZOK);
    ck_assert_int_eq(b.stat.version, 1);
    ck_assert_int_eq(b.stat.data_length, 6);
    memset(&b, 0, sizeof b);
    kz_zkc_set(z, "/t01", "no", 2, 0, box_cb, &b);
    BOX_WAIT(&b);
    ck_assert_int_eq(b.rc, KZ_ZBADVERSION);
    ck_assert_int_eq(raw_get(raw, "/t01", buf, sizeof buf, &st), ZOK);
    ck_assert_str_eq(buf, "world!");
    ck_assert_int_eq(st.version, 1);

    ck_assert_int_eq(s_create(z, "/t01/a", NULL, -1, KZ_ZKC_PERSISTENT, &b), KZ_ZOK);
    ck_assert_int_eq(s_get(z, "/t01/a", &b), KZ_ZOK);
    ck_assert_int_eq(b.data_len, -1);
    ck_assert_int_eq(s_create(z, "/t01/b", "", 0, KZ_ZKC_PERSISTENT, &b), KZ_ZOK);
    ck_assert_int_eq(s_get(z, "/t01/b", &b), KZ_ZOK);
    ck_assert_int_eq(b.data_len, 0);
    ck_assert_int_eq(s_create(z, "/t01/seq-", "s", 1, KZ_ZKC_SEQUENTIAL, &b), KZ_ZOK);
    ck_assert_str_eq(b.path, "/t01/seq-0000000002"); /* parent's cversion was 2 */

    memset(&b, 0, sizeof b);
    ck_assert_int_eq(kz_zkc_children(z, "/t01", NULL, NULL, box_cb, &b), 0);
    BOX_WAIT(&b);
    ck_assert_int_eq(b.rc, KZ_ZOK);
    ck_assert_int_eq(b.n_children, 3);
    ck_assert_int_eq(b.stat.num_children, 3);
    int seen = 0;
    for (int i = 0; i < 3; i++)
        seen |= strcmp(b.kids[i], "a") == 0 ? 1 : strcmp(b.kids[i], "b") == 0 ? 2
               : strcmp(b.kids[i], "seq-0000000002") == 0 ? 4 : 8;
    ck_assert_int_eq(seen, 7);

    memset(&b, 0, sizeof b);
    kz_zkc_exists(z, "/t01/none", NULL, NULL, box_cb, &b);
    BOX_WAIT(&b);
    ck_assert_int_eq(b.rc, KZ_ZNONODE);
    ck_assert(!b.has_stat);

    /* missing parents */
    ck_assert_int_eq(s_create(z, "/t01/x/y/z", "leaf", 4, KZ_ZKC_PERSISTENT, &b), KZ_ZNONODE);
    ck_assert_int_eq(s_create(z, "/t01/x/y/z", "leaf", 4, KZ_ZKC_PERSISTENT | KZ_ZKC_PARENTS, &b), KZ_ZOK);
    ck_assert_str_eq(b.path, "/t01/x/y/z");
    ck_assert_int_eq(raw_get(raw, "/t01/x/y", buf, sizeof buf, &st), ZOK);
    ck_assert_str_eq(buf, "<null>");
    ck_assert_int_eq(raw_get(raw, "/t01/x/y/z", buf, sizeof buf, &st), ZOK);
    ck_assert_str_eq(buf, "leaf");
    memset(&b, 0, sizeof b);
    ck_assert_int_eq(kz_zkc_ensure_path(z, "/t01/x/y/z", box_cb, &b), 0); /* exists: fine */
    BOX_WAIT(&b);
    ck_assert_int_eq(b.rc, KZ_ZOK);
    memset(&b, 0, sizeof b);
    kz_zkc_ensure_path(z, "/t01/e1/e2", box_cb, &b);
    BOX_WAIT(&b);
    ck_assert_int_eq(b.rc, KZ_ZOK);
    ck_assert_int_eq(raw_exists(raw, "/t01/e1/e2"), ZOK);

    /* delete with versions */
    memset(&b, 0, sizeof b);
    kz_zkc_delete(z, "/t01/a", 5, box_cb, &b);
    BOX_WAIT(&b);
    ck_assert_int_eq(b.rc, KZ_ZBADVERSION);
    memset(&b, 0, sizeof b);
    kz_zkc_delete(z, "/t01/a", -1, box_cb, &b);
    BOX_WAIT(&b);
    ck_assert_int_eq(b.rc, KZ_ZOK);
    ck_assert_int_eq(raw_exists(raw, "/t01/a"), ZNONODE);
    memset(&b, 0, sizeof b);
    kz_zkc_delete(z, "/t01", -1, box_cb, &b);
    BOX_WAIT(&b);
    ck_assert_int_eq(b.rc, KZ_ZNOTEMPTY);

    /* ephemeral: owned by this session */
    ck_assert_int_eq(s_create(z, "/t01/eph", "e", 1, KZ_ZKC_EPHEMERAL, &b), KZ_ZOK);
    ck_assert_int_eq(raw_get(raw, "/t01/eph", buf, sizeof buf, &st), ZOK);
    ck_assert_int_eq(st.ephemeralOwner, kz_zkc_session_id(z));
    ck_assert_int_eq(s_create(z, "/t01/eph/child", "c", 1, 0, &b), KZ_ZNOCHILDRENFOREPHEMERALS);

    /* refused at once, no callback */
    memset(&b, 0, sizeof b);
    ck_assert_int_eq(kz_zkc_create(z, "relative", "x", 1, 0, box_cb, &b), KZ_ZBADARGUMENTS);
    ck_assert_int_eq(kz_zkc_get(z, NULL, NULL, NULL, box_cb, &b), KZ_ZBADARGUMENTS);
    ck_assert_int_eq(kz_zkc_multi(z, NULL, 0, box_cb, &b), KZ_ZBADARGUMENTS);
    barrier(z);
    ck_assert_int_eq(b.calls, 0);

    kz_zkc_free(z);
    /* the session is closed at once: its ephemeral is gone */
    ck_assert_int_eq(raw_exists(raw, "/t01/eph"), ZNONODE);
    zookeeper_close(raw);
    ck_assert_int_eq(count_ev(&log, KZ_ZKC_CONNECTED), 1);
    ck_assert_int_eq(log.n, 1);
}
END_TEST

/* 2. one-shot watches: exists on a missing node fires CREATED, data watches
 *    CHANGED and DELETED, child watches CHILD; each fires once; a watch the
 *    server did not set (get of a missing node) never fires. */
START_TEST(t02_watches)
{
    sess_log log = { 0 };
    kz_zkc *z = connect_to(srv.hostport, 4000, &log);
    zhandle_t *raw = raw_open();
    box b;
    wbox w1 = { 0 }, w2 = { 0 }, w3 = { 0 }, w4 = { 0 }, w5 = { 0 };

    memset(&b, 0, sizeof b);
    ck_assert_int_eq(kz_zkc_exists(z, "/t02", wbox_cb, &w1, box_cb, &b), 0);
    BOX_WAIT(&b);
    ck_assert_int_eq(b.rc, KZ_ZNONODE);
    ck_assert_int_eq(zoo_create(raw, "/t02", "v0", 2, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZOK);
    WAIT_FOR(w1.fired == 1, WAIT_MS);
    ck_assert_int_eq(w1.type, KZ_ZKC_EV_CREATED);
    ck_assert_str_eq(w1.path, "/t02");

    memset(&b, 0, sizeof b);
    kz_zkc_get(z, "/t02", wbox_cb, &w2, box_cb, &b);
    BOX_WAIT(&b);
    ck_assert_str_eq(b.data, "v0");
    memset(&b, 0, sizeof b);
    kz_zkc_children(z, "/t02", wbox_cb, &w3, box_cb, &b);
    BOX_WAIT(&b);
    ck_assert_int_eq(b.n_children, 0);
    ck_assert_int_eq(zoo_set(raw, "/t02", "v1", 2, -1), ZOK);
    WAIT_FOR(w2.fired == 1, WAIT_MS);
    ck_assert_int_eq(w2.type, KZ_ZKC_EV_CHANGED);
    ck_assert_int_eq(zoo_create(raw, "/t02/c", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZOK);
    WAIT_FOR(w3.fired == 1, WAIT_MS);
    ck_assert_int_eq(w3.type, KZ_ZKC_EV_CHILD);
    ck_assert_str_eq(w3.path, "/t02");

    /* one shot: further changes do not fire them again */
    ck_assert_int_eq(zoo_set(raw, "/t02", "v2", 2, -1), ZOK);
    ck_assert_int_eq(zoo_create(raw, "/t02/d", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZOK);
    barrier(z);
    ck_assert_int_eq(w1.fired, 1);
    ck_assert_int_eq(w2.fired, 1);
    ck_assert_int_eq(w3.fired, 1);

    /* deletion seen by an exists watch */
    memset(&b, 0, sizeof b);
    kz_zkc_exists(z, "/t02/c", wbox_cb, &w4, box_cb, &b);
    BOX_WAIT(&b);
    ck_assert_int_eq(b.rc, KZ_ZOK);
    ck_assert_int_eq(zoo_delete(raw, "/t02/c", -1), ZOK);
    WAIT_FOR(w4.fired == 1, WAIT_MS);
    ck_assert_int_eq(w4.type, KZ_ZKC_EV_DELETED);
    ck_assert_str_eq(w4.path, "/t02/c");

    /* not set by the server: never fires */
    memset(&b, 0, sizeof b);
    kz_zkc_get(z, "/t02/later", wbox_cb, &w5, box_cb, &b);
    BOX_WAIT(&b);
    ck_assert_int_eq(b.rc, KZ_ZNONODE);
    ck_assert_int_eq(zoo_create(raw, "/t02/later", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZOK);
    barrier(z);
    ck_assert_int_eq(w5.fired, 0);

    kz_zkc_free(z);
    zookeeper_close(raw);
}
END_TEST

/* 3. multi: all ops applied with per-op results (created path, set stat);
 *    a failing op applies nothing and says which op failed. */
START_TEST(t03_multi)
{
    sess_log log = { 0 };
    kz_zkc *z = connect_to(srv.hostport, 4000, &log);
    zhandle_t *raw = raw_open();
    char buf[256];
    struct Stat st;
    kz_zkc_op ops[] = {
        { .type = KZ_ZKC_OP_CREATE, .path = "/t03", .data = "a", .len = 1 },
        { .type = KZ_ZKC_OP_CREATE, .path = "/t03/s-", .data = NULL, .len = -1, .flags = KZ_ZKC_SEQUENTIAL },
        { .type = KZ_ZKC_OP_SET, .path = "/t03", .data = "b", .len = 1, .version = 0 },
        { .type = KZ_ZKC_OP_CHECK, .path = "/t03", .version = 1 },
    };
    box b = { 0 };
    ck_assert_int_eq(kz_zkc_multi(z, ops, 4, box_cb, &b), 0);
    BOX_WAIT(&b);
    ck_assert_int_eq(b.rc, KZ_ZOK);
    ck_assert_int_eq(b.n_ops, 4);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(b.op_rc[i], KZ_ZOK);
    ck_assert_str_eq(b.op_path[0], "/t03");
    ck_assert_str_eq(b.op_path[1], "/t03/s-0000000000");
    ck_assert(b.op_has_stat[2]);
    ck_assert_int_eq(b.op_stat[2].version, 1);
    ck_assert_int_eq(raw_get(raw, "/t03", buf, sizeof buf, &st), ZOK);
    ck_assert_str_eq(buf, "b");
    ck_assert_int_eq(st.version, 1);
    ck_assert_int_eq(st.mzxid, b.op_stat[2].mzxid);

    kz_zkc_op bad[] = {
        { .type = KZ_ZKC_OP_CREATE, .path = "/t03/n", .data = "n", .len = 1 },
        { .type = KZ_ZKC_OP_SET, .path = "/t03", .data = "c", .len = 1, .version = 0 },
        { .type = KZ_ZKC_OP_DELETE, .path = "/t03/s-0000000000", .version = -1 },
    };
    memset(&b, 0, sizeof b);
    kz_zkc_multi(z, bad, 3, box_cb, &b);
    BOX_WAIT(&b);
    ck_assert_int_eq(b.rc, KZ_ZBADVERSION);
    ck_assert_int_eq(b.n_ops, 3);
    ck_assert_int_eq(b.op_rc[0], KZ_ZOK); /* would have applied */
    ck_assert_int_eq(b.op_rc[1], KZ_ZBADVERSION);
    ck_assert_int_eq(b.op_rc[2], KZ_ZRUNTIMEINCONSISTENCY);
    ck_assert_str_eq(b.op_path[0], ""); /* nothing was created */
    ck_assert_int_eq(raw_exists(raw, "/t03/n"), ZNONODE);
    ck_assert_int_eq(raw_exists(raw, "/t03/s-0000000000"), ZOK);
    ck_assert_int_eq(raw_get(raw, "/t03", buf, sizeof buf, &st), ZOK);
    ck_assert_str_eq(buf, "b");

    kz_zkc_free(z);
    zookeeper_close(raw);
}
END_TEST

/* 4. recursive delete of a tree, of a missing node, and guarded by a check
 *    op: a wrong version deletes nothing. */
START_TEST(t04_delete_recursive)
{
    sess_log log = { 0 };
    kz_zkc *z = connect_to(srv.hostport, 4000, &log);
    zhandle_t *raw = raw_open();
    box b;
    static const char *const tree[] = { "/t04/a/b/c", "/t04/a/d", "/t04/e", "/t04/a/b/f" };
    for (size_t i = 0; i < sizeof tree / sizeof *tree; i++)
        ck_assert_int_eq(s_create(z, tree[i], "x", 1, KZ_ZKC_PARENTS, &b), KZ_ZOK);
    memset(&b, 0, sizeof b);
    ck_assert_int_eq(kz_zkc_delete_recursive(z, "/t04", NULL, box_cb, &b), 0);
    BOX_WAIT(&b);
    ck_assert_int_eq(b.rc, KZ_ZOK);
    ck_assert_int_eq(b.calls, 1);
    ck_assert_int_eq(raw_exists(raw, "/t04"), ZNONODE);

    memset(&b, 0, sizeof b);
    kz_zkc_delete_recursive(z, "/t04/none", NULL, box_cb, &b);
    BOX_WAIT(&b);
    ck_assert_int_eq(b.rc, KZ_ZOK);

    ck_assert_int_eq(s_create(z, "/t04g/x/y", "x", 1, KZ_ZKC_PARENTS, &b), KZ_ZOK);
    ck_assert_int_eq(s_create(z, "/t04guard", "g", 1, 0, &b), KZ_ZOK);
    kz_zkc_op guard = { .type = KZ_ZKC_OP_CHECK, .path = "/t04guard", .version = 3 };
    memset(&b, 0, sizeof b);
    kz_zkc_delete_recursive(z, "/t04g", &guard, box_cb, &b);
    BOX_WAIT(&b);
    ck_assert_int_eq(b.rc, KZ_ZBADVERSION);
    ck_assert_int_eq(raw_exists(raw, "/t04g/x/y"), ZOK);
    guard.version = 0;
    memset(&b, 0, sizeof b);
    kz_zkc_delete_recursive(z, "/t04g", &guard, box_cb, &b);
    BOX_WAIT(&b);
    ck_assert_int_eq(b.rc, KZ_ZOK);
    ck_assert_int_eq(raw_exists(raw, "/t04g"), ZNONODE);
    kz_zkc_op notcheck = { .type = KZ_ZKC_OP_DELETE, .path = "/t04guard" };
    ck_assert_int_eq(kz_zkc_delete_recursive(z, "/t04guard", &notcheck, box_cb, &b), KZ_ZBADARGUMENTS);

    kz_zkc_free(z);
    zookeeper_close(raw);
}
END_TEST

/* 5. a chroot in the connect string is created first, then used. */
START_TEST(t05_chroot)
{
    zhandle_t *raw = raw_open();
    ck_assert_int_eq(raw_exists(raw, "/kzc"), ZNONODE);
    char conn[128];
    snprintf(conn, sizeof conn, "%s/kzc/root/x/", srv.hostport);
    sess_log log = { 0 };
    kz_zkc *z = connect_to(conn, 4000, &log);
    ck_assert_int_eq(log.n, 1); /* nothing reported for the bootstrap handle */
    ck_assert_int_eq(raw_exists(raw, "/kzc/root/x"), ZOK);
    box b;
    ck_assert_int_eq(s_create(z, "/n", "in", 2, 0, &b), KZ_ZOK);
    ck_assert_str_eq(b.path, "/n");
    char buf[64];
    struct Stat st;
    ck_assert_int_eq(raw_get(raw, "/kzc/root/x/n", buf, sizeof buf, &st), ZOK);
    ck_assert_str_eq(buf, "in");
    memset(&b, 0, sizeof b);
    kz_zkc_children(z, "/", NULL, NULL, box_cb, &b);
    BOX_WAIT(&b);
    ck_assert_int_eq(b.n_children, 1);
    ck_assert_str_eq(b.kids[0], "n");
    kz_zkc_free(z);

    /* an existing chroot is fine too */
    memset(&log, 0, sizeof log);
    z = connect_to(conn, 4000, &log);
    ck_assert_int_eq(s_get(z, "/n", &b), KZ_ZOK);
    ck_assert_str_eq(b.data, "in");
    kz_zkc_free(z);
    zookeeper_close(raw);
}
END_TEST

/* 6. session expiry: the proxy cuts the client off until the server has
 *    expired the session (its ephemeral disappears), then lets it back: the
 *    client reports DISCONNECTED, EXPIRED, then CONNECTED with a new
 *    session; watches of the old session never fire; the new one works. */
START_TEST(t06_expiry)
{
    proxy px;
    proxy_start(&px, false);
    char conn[64];
    snprintf(conn, sizeof conn, "127.0.0.1:%d", px.port);
    sess_log log = { 0 };
    kz_zkc *z = connect_to(conn, 1000, &log);
    int64_t sid1 = kz_zkc_session_id(z);
    ck_assert_int_eq(log.sid[0], sid1);
    ck_assert_int_le(kz_zkc_session_timeout(z), 1000);
    zhandle_t *raw = raw_open();
    box b;
    wbox w = { 0 };
    ck_assert_int_eq(s_create(z, "/t06e", "e", 1, KZ_ZKC_EPHEMERAL, &b), KZ_ZOK);
    memset(&b, 0, sizeof b);
    kz_zkc_exists(z, "/t06w", wbox_cb, &w, box_cb, &b);
    BOX_WAIT(&b);
    ck_assert_int_eq(b.rc, KZ_ZNONODE);

    atomic_store(&px.blackhole, 1);
    WAIT_FOR(count_ev(&log, KZ_ZKC_DISCONNECTED) == 1, WAIT_MS);
    ck_assert(!kz_zkc_connected(z));
    /* wait (bounded) until the server has expired the session */
    int64_t end = kz_mono_ms() + WAIT_MS;
    while (raw_exists(raw, "/t06e") == ZOK) {
        ck_assert_msg(kz_mono_ms() < end, "server did not expire the session");
        ut_spin(base, 50);
    }
    ck_assert_int_eq(count_ev(&log, KZ_ZKC_EXPIRED), 0);
    atomic_store(&px.blackhole, 0);
    WAIT_FOR(count_ev(&log, KZ_ZKC_CONNECTED) == 2, WAIT_MS);
    ck_assert_int_eq(log.n, 4);
    ck_assert_int_eq(log.ev[0], KZ_ZKC_CONNECTED);
    ck_assert_int_eq(log.ev[1], KZ_ZKC_DISCONNECTED);
    ck_assert_int_eq(log.ev[2], KZ_ZKC_EXPIRED);
    ck_assert_int_eq(log.sid[2], sid1);
    ck_assert_int_eq(log.ev[3], KZ_ZKC_CONNECTED);
    int64_t sid2 = kz_zkc_session_id(z);
    ck_assert_int_eq(log.sid[3], sid2);
    ck_assert_int_ne(sid2, sid1);

    /* the old session's watch is gone for good */
    ck_assert_int_eq(zoo_create(raw, "/t06w", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZOK);
    barrier(z);
    ck_assert_int_eq(w.fired, 0);

    /* the new session registers its ephemeral again */
    ck_assert_int_eq(s_create(z, "/t06e", "e2", 2, KZ_ZKC_EPHEMERAL, &b), KZ_ZOK);
    struct Stat st;
    char buf[32];
    ck_assert_int_eq(raw_get(raw, "/t06e", buf, sizeof buf, &st), ZOK);
    ck_assert_int_eq(st.ephemeralOwner, sid2);

    kz_zkc_free(z);
    zookeeper_close(raw);
    proxy_stop(&px);
}
END_TEST

/* 7. no connection within the connection timeout: CONNECT_TIMEOUT, state
 *    CONNECTING; the client keeps trying and connects once it can. */
START_TEST(t07_connect_timeout)
{
    proxy px;
    proxy_start(&px, true);
    char conn[64];
    snprintf(conn, sizeof conn, "127.0.0.1:%d", px.port);
    sess_log log = { 0 };
    int64_t t0 = kz_mono_ms();
    kz_zkc *z = kz_zkc_new(base, conn, 4000, 500, on_session, &log);
    ck_assert_ptr_nonnull(z);
    WAIT_FOR(log.n == 1, WAIT_MS);
    ck_assert_int_eq(log.ev[0], KZ_ZKC_CONNECT_TIMEOUT);
    ck_assert_int_ge(kz_mono_ms() - t0, 450);
    ck_assert_str_eq(kz_zkc_state_name(z), "CONNECTING");
    ck_assert(!kz_zkc_connected(z));
    atomic_store(&px.blackhole, 0);
    WAIT_FOR(count_ev(&log, KZ_ZKC_CONNECTED) == 1, WAIT_MS);
    ck_assert_str_eq(kz_zkc_state_name(z), "CONNECTED");
    kz_zkc_free(z);
    proxy_stop(&px);

    /* bad connect strings */
    ck_assert_ptr_null(kz_zkc_new(base, "", 4000, 0, on_session, &log));
    ck_assert_ptr_null(kz_zkc_new(base, "/chroot-only", 4000, 0, on_session, &log));
}
END_TEST

/* Completions counted apart from watches, and whether kz_zkc_free was
 * still on the stack when they ran. */
static int late_calls, late_watches, calls_in_free;
static bool in_free;
static void late_cb(void *ctx, const kz_zkc_result *r)
{
    (void)ctx, (void)r;
    late_calls++;
    calls_in_free += in_free;
}
static void late_watch(void *ctx, int type, const char *path)
{
    (void)ctx, (void)type, (void)path;
    late_watches++;
}

/* 8. kz_zkc_free with requests, helpers and watches in flight, and from
 *    inside callbacks: every request still owed an answer gets exactly one
 *    during the call (so its owner can release what it holds), no watch runs,
 *    and nothing at all runs afterwards (ASan sees no leak or use after free). */
START_TEST(t08_free_semantics)
{
    sess_log log = { 0 };
    kz_zkc *z = connect_to(srv.hostport, 4000, &log);
    box b;
    ck_assert_int_eq(s_create(z, "/t08/a/b", "x", 1, KZ_ZKC_PARENTS, &b), KZ_ZOK);
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(kz_zkc_get(z, "/t08/a/b", late_watch, NULL, late_cb, NULL), 0);
    ck_assert_int_eq(kz_zkc_create(z, "/t08/p/q/r", "x", 1, KZ_ZKC_PARENTS, late_cb, NULL), 0);
    ck_assert_int_eq(kz_zkc_delete_recursive(z, "/t08/a", NULL, late_cb, NULL), 0);
    ck_assert_int_eq(kz_zkc_exists(z, "/t08/none", late_watch, NULL, late_cb, NULL), 0);
    in_free = true;
    kz_zkc_free(z);
    in_free = false;
    ck_assert_int_eq(late_calls, 53);
    ck_assert_int_eq(calls_in_free, 53);
    ut_spin(base, 300);
    ck_assert_int_eq(late_calls, 53);
    ck_assert_int_eq(late_watches, 0);

    /* from a completion: requests not answered yet get KZ_ZCLOSING inside
     * that call; results already queued behind it are dropped; none later */
    late_calls = calls_in_free = 0;
    memset(&log, 0, sizeof log);
    z = connect_to(srv.hostport, 4000, &log);
    box first = { 0 };
    first.free_me = &z;
    ck_assert_int_eq(kz_zkc_get(z, "/t08", NULL, NULL, box_cb, &first), 0);
    for (int i = 0; i < 20; i++)
        kz_zkc_get(z, "/t08", late_watch, NULL, late_cb, NULL);
    WAIT_FOR(first.calls == 1, WAIT_MS);
    ck_assert_ptr_null(z);
    int answered = late_calls;
    ck_assert_int_le(answered, 20);
    ck_assert_int_eq(calls_in_free, 0); /* in_free was false: counted by late_calls only */
    ut_spin(base, 300);
    ck_assert_int_eq(late_calls, answered);
    ck_assert_int_eq(late_watches, 0);
    ck_assert_int_eq(first.calls, 1);

    /* from the session callback */
    memset(&log, 0, sizeof log);
    kz_zkc *z2 = kz_zkc_new(base, srv.hostport, 4000, 0, on_session, &log);
    log.free_on_connect = &z2;
    WAIT_FOR(z2 == NULL, WAIT_MS);
    ut_spin(base, 200);
    ck_assert_int_eq(log.n, 1);
}
END_TEST

static void done_cb(void *ctx, int rc)
{
    box *b = ctx;
    b->calls++;
    b->rc = rc;
}

typedef struct cid_box {
    int calls, rc;
    char id[64];
} cid_box;

static void cid_cb(void *ctx, int rc, const char *id)
{
    cid_box *c = ctx;
    c->calls++;
    c->rc = rc;
    snprintf(c->id, sizeof c->id, "%s", id ? id : "");
}

/* 9. broker start-up: the persistent paths (null data) and /cluster/id,
 *    created once and then read back. */
START_TEST(t09_startup_paths)
{
    sess_log log = { 0 };
    kz_zkc *z = connect_to(srv.hostport, 4000, &log);
    zhandle_t *raw = raw_open();
    box b = { 0 };
    ck_assert_int_eq(kb_zk_ensure_persistent_paths(z, done_cb, &b), 0);
    BOX_WAIT(&b);
    ck_assert_int_eq(b.rc, KZ_ZOK);
    ck_assert_int_eq(b.calls, 1);
    char buf[256];
    struct Stat st;
    for (size_t i = 0; kb_zk_persistent_paths[i]; i++) {
        ck_assert_int_eq(raw_get(raw, kb_zk_persistent_paths[i], buf, sizeof buf, &st), ZOK);
        ck_assert_str_eq(buf, "<null>");
        ck_assert_int_eq(st.ephemeralOwner, 0);
    }
    memset(&b, 0, sizeof b); /* again: all exist */
    kb_zk_ensure_persistent_paths(z, done_cb, &b);
    BOX_WAIT(&b);
    ck_assert_int_eq(b.rc, KZ_ZOK);

    cid_box c1 = { 0 }, c2 = { 0 };
    ck_assert_int_eq(kb_zk_get_or_create_cluster_id(z, cid_cb, &c1), 0);
    WAIT_FOR(c1.calls == 1, WAIT_MS);
    ck_assert_int_eq(c1.rc, KZ_ZOK);
    ck_assert_uint_eq(strlen(c1.id), 22);
    kz_uuid u;
    ck_assert_int_eq(kb_zk_uuid_parse(c1.id, &u), 0);
    ck_assert_int_eq(raw_get(raw, "/cluster/id", buf, sizeof buf, &st), ZOK);
    char want[128];
    snprintf(want, sizeof want, "{\"version\":\"1\",\"id\":\"%s\"}", c1.id);
    ck_assert_str_eq(buf, want);
    ck_assert_int_eq(raw_get(raw, "/cluster", buf, sizeof buf, &st), ZOK);
    ck_assert_str_eq(buf, "<null>");
    ck_assert_int_eq(kb_zk_get_or_create_cluster_id(z, cid_cb, &c2), 0);
    WAIT_FOR(c2.calls == 1, WAIT_MS);
    ck_assert_str_eq(c2.id, c1.id);
    kz_zkc_free(z);
    zookeeper_close(raw);
}
END_TEST

typedef struct reg_box {
    int calls, rc;
    int64_t epoch;
    char msg[400];
} reg_box;

static void reg_cb(void *ctx, int rc, int64_t epoch, const char *msg)
{
    reg_box *r = ctx;
    r->calls++;
    r->rc = rc;
    r->epoch = epoch;
    snprintf(r->msg, sizeof r->msg, "%s", msg ? msg : "");
}

/* 10. broker registration: the node holds the encoder's bytes with stat
 *     version 1 (create + setData), its czxid is the epoch; registering
 *     again in the same session is fine; another session is refused with
 *     Kafka's message. */
START_TEST(t10_register)
{
    sess_log l1 = { 0 }, l2 = { 0 };
    kz_zkc *z1 = connect_to(srv.hostport, 4000, &l1);
    kz_zkc *z2 = connect_to(srv.hostport, 4000, &l2);
    zhandle_t *raw = raw_open();
    box b = { 0 };
    kb_zk_ensure_persistent_paths(z1, done_cb, &b);
    BOX_WAIT(&b);
    kb_zk_endpoint ep = { "PLAINTEXT", "127.0.0.1", 9092, "PLAINTEXT" };
    kb_zk_broker info = { .version = 5, .endpoints = &ep, .n_endpoints = 1, .jmx_port = -1,
                          .timestamp = 1795227670557LL };
    reg_box r = { 0 };
    ck_assert_int_eq(kb_zk_register_broker(z1, 1, &info, reg_cb, &r), 0);
    WAIT_FOR(r.calls == 1, WAIT_MS);
    ck_assert_int_eq(r.rc, KZ_ZOK);
    ck_assert_str_eq(r.msg, "");
    char buf[1024];
    struct Stat st;
    ck_assert_int_eq(raw_get(raw, "/brokers/ids/1", buf, sizeof buf, &st), ZOK);
    size_t len;
    char *want = kb_zk_broker_encode(&info, &len);
    ck_assert_str_eq(buf, want);
    free(want);
    ck_assert_int_eq(st.version, 1);
    ck_assert_int_eq(st.czxid, r.epoch);
    ck_assert_int_eq(st.ephemeralOwner, kz_zkc_session_id(z1));

    reg_box again = { 0 };
    kb_zk_register_broker(z1, 1, &info, reg_cb, &again);
    WAIT_FOR(again.calls == 1, WAIT_MS);
    ck_assert_int_eq(again.rc, KZ_ZOK);
    ck_assert_int_eq(again.epoch, r.epoch);

    reg_box other = { 0 };
    kb_zk_register_broker(z2, 1, &info, reg_cb, &other);
    WAIT_FOR(other.calls == 1, WAIT_MS);
    ck_assert_int_eq(other.rc, KZ_ZNODEEXISTS);
    char msg[400];
    snprintf(msg, sizeof msg,
             "Error while creating ephemeral at /brokers/ids/1, node already exists and owner "
             "'%" PRId64 "' does not match current session '%" PRId64 "'",
             kz_zkc_session_id(z1), kz_zkc_session_id(z2));
    ck_assert_str_eq(other.msg, msg);
    ck_assert_int_eq(raw_get(raw, "/brokers/ids/1", buf, sizeof buf, &st), ZOK);
    ck_assert_int_eq(st.ephemeralOwner, kz_zkc_session_id(z1));

    /* once the first broker's session is gone, the id is free again */
    kz_zkc_free(z1);
    reg_box takeover = { 0 };
    kb_zk_register_broker(z2, 1, &info, reg_cb, &takeover);
    WAIT_FOR(takeover.calls == 1, WAIT_MS);
    ck_assert_int_eq(takeover.rc, KZ_ZOK);
    ck_assert_int_gt(takeover.epoch, r.epoch);

    ck_assert_int_eq(kb_zk_register_broker(z2, -1, &info, reg_cb, &takeover), KZ_ZBADARGUMENTS);
    kz_zkc_free(z2);
    zookeeper_close(raw);
}
END_TEST

typedef struct elect_box {
    int calls;
    kb_zk_election e;
} elect_box;

static void elect_cb(void *ctx, const kb_zk_election *e)
{
    elect_box *b = ctx;
    b->calls++;
    b->e = *e;
}

/* 11. two brokers race for the controller: exactly one wins with epoch 1
 *     (epoch znode version 1), the other learns who won; when the winner's
 *     session ends the other wins epoch 2; controller writes with the stale
 *     fencing token fail and apply nothing. */
START_TEST(t11_election)
{
    zhandle_t *raw = raw_open();
    ck_assert_int_eq(raw_exists(raw, "/controller_epoch"), ZNONODE);
    sess_log l1 = { 0 }, l2 = { 0 };
    kz_zkc *z1 = connect_to(srv.hostport, 4000, &l1);
    kz_zkc *z2 = connect_to(srv.hostport, 4000, &l2);
    elect_box e1 = { 0 }, e2 = { 0 };
    ck_assert_int_eq(kb_zk_elect_controller(z1, 1, elect_cb, &e1), 0);
    ck_assert_int_eq(kb_zk_elect_controller(z2, 2, elect_cb, &e2), 0);
    WAIT_FOR(e1.calls == 1 && e2.calls == 1, WAIT_MS);
    ck_assert_int_eq(e1.e.rc, KZ_ZOK);
    ck_assert_int_eq(e2.e.rc, KZ_ZOK);
    ck_assert_int_eq(e1.e.won + e2.e.won, 1);
    elect_box *win = e1.e.won ? &e1 : &e2, *lose = e1.e.won ? &e2 : &e1;
    int32_t winner = e1.e.won ? 1 : 2;
    kz_zkc *zw = e1.e.won ? z1 : z2, *zl = e1.e.won ? z2 : z1;
    ck_assert_int_eq(win->e.epoch, 1);
    ck_assert_int_eq(win->e.epoch_zk_version, 1);
    ck_assert_int_eq(win->e.controller_id, winner);
    ck_assert_int_eq(lose->e.controller_id, winner);

    char buf[256];
    struct Stat st;
    ck_assert_int_eq(raw_get(raw, "/controller_epoch", buf, sizeof buf, &st), ZOK);
    ck_assert_str_eq(buf, "1");
    ck_assert_int_eq(st.version, 1);
    ck_assert_int_eq(raw_get(raw, "/controller", buf, sizeof buf, &st), ZOK);
    kb_zk_controller c;
    char err[128];
    ck_assert_int_eq(kb_zk_controller_decode(buf, strlen(buf), &c, err, sizeof err), 0);
    ck_assert_int_eq(c.broker_id, winner);
    ck_assert_int_eq(st.ephemeralOwner, kz_zkc_session_id(zw));
    ck_assert_ptr_nonnull(strstr(buf, "{\"version\":1,\"brokerid\":"));

    /* electing again while a controller exists: lost, told who it is */
    elect_box again = { 0 };
    kb_zk_elect_controller(zl, winner == 1 ? 2 : 1, elect_cb, &again);
    WAIT_FOR(again.calls == 1, WAIT_MS);
    ck_assert(!again.e.won);
    ck_assert_int_eq(again.e.controller_id, winner);

    /* the loser watches /controller; the winner goes away */
    wbox w = { 0 };
    box b = { 0 };
    kz_zkc_exists(zl, "/controller", wbox_cb, &w, box_cb, &b);
    BOX_WAIT(&b);
    ck_assert_int_eq(b.rc, KZ_ZOK);
    kz_zkc_free(zw);
    WAIT_FOR(w.fired == 1, WAIT_MS);
    ck_assert_int_eq(w.type, KZ_ZKC_EV_DELETED);
    elect_box next = { 0 };
    int32_t me = winner == 1 ? 2 : 1;
    kb_zk_elect_controller(zl, me, elect_cb, &next);
    WAIT_FOR(next.calls == 1, WAIT_MS);
    ck_assert(next.e.won);
    ck_assert_int_eq(next.e.epoch, 2);
    ck_assert_int_eq(next.e.epoch_zk_version, 2);

    /* fenced writes */
    kz_zkc_op op = { .type = KZ_ZKC_OP_CREATE, .path = "/t11fenced", .data = "x", .len = 1 };
    memset(&b, 0, sizeof b);
    ck_assert_int_eq(kb_zk_controller_multi(zl, 1, &op, 1, box_cb, &b), 0);
    BOX_WAIT(&b);
    ck_assert_int_eq(b.rc, KB_ZK_ECONTROLLER_MOVED);
    ck_assert_int_eq(b.n_ops, 1);
    ck_assert_int_eq(raw_exists(raw, "/t11fenced"), ZNONODE);
    memset(&b, 0, sizeof b);
    kb_zk_controller_multi(zl, next.e.epoch_zk_version, &op, 1, box_cb, &b);
    BOX_WAIT(&b);
    ck_assert_int_eq(b.rc, KZ_ZOK);
    ck_assert_int_eq(b.n_ops, 1);
    ck_assert_str_eq(b.op_path[0], "/t11fenced");
    ck_assert_int_eq(raw_exists(raw, "/t11fenced"), ZOK);
    /* a failing op behind a good check keeps its own code */
    memset(&b, 0, sizeof b);
    kb_zk_controller_multi(zl, next.e.epoch_zk_version, &op, 1, box_cb, &b);
    BOX_WAIT(&b);
    ck_assert_int_eq(b.rc, KZ_ZNODEEXISTS);
    ck_assert_int_eq(b.op_rc[0], KZ_ZNODEEXISTS);

    kz_zkc_free(zl);
    zookeeper_close(raw);
}
END_TEST

static void setup_each(void) { loop_setup(); }
static void teardown_each(void) { loop_teardown(); }

static Suite *zkc_suite(void)
{
    Suite *s = suite_create("zkc");
    TCase *tc = tcase_create("live");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, srv_start, srv_stop);
    tcase_add_checked_fixture(tc, setup_each, teardown_each);
    tcase_add_test(tc, t01_crud);
    tcase_add_test(tc, t02_watches);
    tcase_add_test(tc, t03_multi);
    tcase_add_test(tc, t04_delete_recursive);
    tcase_add_test(tc, t05_chroot);
    tcase_add_test(tc, t06_expiry);
    tcase_add_test(tc, t07_connect_timeout);
    tcase_add_test(tc, t08_free_semantics);
    tcase_add_test(tc, t09_startup_paths);
    tcase_add_test(tc, t10_register);
    tcase_add_test(tc, t11_election);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();
    kz_log_set_level(KZ_LOG_WARN);
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    return ut_run(zkc_suite());
}
