/* test/fuzz/fuzz_request.c -- libFuzzer harness for the client request path
 * of the real server: framing and handshake (zkd_cnxn), prep (zkd_prep), the
 * sync thread and txn log (zkd_sync, zkd_txnlog), apply and replies
 * (zkd_final, zkd_datatree), watches (zkd_watch), ACLs and auth (zkd_acl),
 * sessions and four-letter words (zkd_flw).
 *
 * Set-up (once, LLVMFuzzerInitialize): a zoo.cfg in a scratch directory
 * (under $TMPDIR), zkd_server_init on it with clientPort 0 on 127.0.0.1,
 * forceSync=no, all four-letter words, TTL nodes on, a super digest. The
 * signal events zkd_server_init adds are removed again (libFuzzer owns
 * SIGINT). The harness drives the server's event loop itself.
 *
 * One input = TCP connections from 127.0.0.1, written, read until the
 * server is idle, then reset (RST, so no TIME_WAIT piles up). Byte 0 is the
 * mode:
 *   mode & 3 == 0  one connection; the rest is sent verbatim (handshake,
 *                  four-letter words, garbage);
 *   mode & 3 == 1  a valid ConnectRequest (+ readOnly byte if mode & 4),
 *                  then the rest verbatim;
 *   mode & 3 == 2  the ConnectRequest, then the rest as requests
 *                  u8 op | u16 len | len payload bytes, each sent as the frame
 *                  {xid = 1, 2, ...; type = fz_ops[op % n]; payload};
 *   mode & 3 == 3  two clients, each with its own session, and the same
 *                  request format where bit 7 of op picks the client and
 *                  op & 0x7f past the table is a connection step for it:
 *                  reconnect to the other client's session, to a new one,
 *                  to the other's with a wrong password, or close (a later
 *                  request reconnects to its own session). The server is
 *                  let go idle after every step, so cross-connection effects
 *                  (watches, session moves) happen in input order.
 *
 * Between inputs the server gets a fresh tree (zkd_dt_new, as on a fresh
 * dataDir) and no sessions, so every input starts from the same state; the
 * txn log keeps growing in zxid order, one file per input (older files are
 * deleted).
 *
 * Checks, beyond sanitizers:
 *   - the server never logs at ERROR (the request path logs ERROR only for
 *     its own inconsistencies, e.g. "cannot apply txn", or fatal I/O);
 *   - it never stalls: bytes it has not read while no txn is pending means a
 *     lost wake-up (10 s deadline);
 *   - once the connections are gone: no outstanding request, no connection,
 *     no watch, no pending txn, every zxid handed out is durable;
 *   - the live tree passes fz_dt_check (strict ACLs);
 *   - replaying this input's txns from the log onto a fresh tree decodes
 *     every txn, and every txn prep accepted (not an ErrorTxn, and a multi
 *     without error sub-txns) applies without error, as in ZooKeeper where
 *     PrepRequestProcessor's checks make apply succeed; the replayed tree
 *     equals the live one; zxids are consecutive;
 *   - replies (modes 1-3): a ConnectResponse first, then well-formed frames;
 *     watch events decode with a known type; in modes 2-3 replies come in
 *     request order (xids increase; auth and SASL are answered at once, as
 *     ZooKeeper does) and reply zxids never go down.
 * FUZZ_REQUEST_TRACE=1 prints every reply (to see what a seed does). */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/sockios.h>
#include <poll.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "kz_buf.h"
#include "kz_log.h"
#include "zkd_config.h"
#include "zkd_datatree.h"
#include "zkd_proto.h"
#include "zkd_records.h"
#include "zkd_server.h"
#include "zkd_sync.h"
#include "zkd_txnlog.h"
#include "zkd_watch.h"

#define FZ_MAX_REQS     256
#define FZ_DEADLINE_NS  (10LL * 1000 * 1000 * 1000)

/* Opcodes a mode 2-3 request can carry: every one zkd knows, plus unknown
 * ones (test/fuzz/make_corpus.py reads this table). */
static const int32_t fz_ops[] = {
    ZKD_OP_CREATE,         ZKD_OP_DELETE,          ZKD_OP_EXISTS,          ZKD_OP_GET_DATA,
    ZKD_OP_SET_DATA,       ZKD_OP_GET_ACL,         ZKD_OP_SET_ACL,         ZKD_OP_GET_CHILDREN,
    ZKD_OP_SYNC,           ZKD_OP_PING,            ZKD_OP_GET_CHILDREN2,   ZKD_OP_CHECK,
    ZKD_OP_MULTI,          ZKD_OP_CREATE2,         ZKD_OP_RECONFIG,        ZKD_OP_CHECK_WATCHES,
    ZKD_OP_REMOVE_WATCHES, ZKD_OP_CREATE_CONTAINER, ZKD_OP_DELETE_CONTAINER, ZKD_OP_CREATE_TTL,
    ZKD_OP_MULTI_READ,     ZKD_OP_AUTH,            ZKD_OP_SET_WATCHES,     ZKD_OP_SASL,
    ZKD_OP_GET_EPHEMERALS, ZKD_OP_GET_ALL_CHILDREN_NUMBER, ZKD_OP_SET_WATCHES2, ZKD_OP_ADD_WATCH,
    ZKD_OP_WHO_AM_I,       ZKD_OP_CREATE_SESSION,  ZKD_OP_CLOSE_SESSION,   ZKD_OP_ERROR,
    ZKD_OP_NOTIFICATION,   10,                     999,
};
#define FZ_NOPS (sizeof fz_ops / sizeof fz_ops[0])

/* The one server of this process and what the harness needs around it. */
static zkd_config fz_cfg;
static zkd_server fz_srv;
static char fz_dir[512], fz_logdir[700];
static struct sockaddr_in fz_addr;
static struct event *fz_tick; /* bounds each blocking loop turn to 1 ms */
static int64_t fz_next_session; /* session ids restart here for every input */
static bool fz_trace;           /* FUZZ_REQUEST_TRACE=1: print every reply */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ------------------------------------------------------------------ set-up */

/* Log sink: an ERROR or FATAL line is a failure (see the file comment). */
static ssize_t fz_log_sink(void *cookie, const char *buf, size_t n)
{
    (void)cookie;
    if (memmem(buf, n, "] ERROR ", 8) || memmem(buf, n, "] FATAL ", 8)) {
        fprintf(stderr, "fuzz_request: server logged: %.*s", (int)n, buf);
        abort();
    }
    return (ssize_t)n;
}

static void fz_noop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

static void fz_cleanup(void)
{
    zkd_server_fini(&fz_srv);
    zkd_config_free(&fz_cfg);
    fz_rm_rf(fz_dir);
}

/* The hook zkd_server_init installs (zkd_server_trigger), for the fresh trees. */
static void fz_trigger(void *ctx, int event, const char *path, uint32_t len)
{
    zkd_server *s = ctx;
    zkd_watch_trigger(s->watches, event, path, len);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    cookie_io_functions_t io = { NULL, fz_log_sink, NULL, NULL };
    FILE *sink = fopencookie(NULL, "w", io);
    FZ_CHECK(sink != NULL, "fopencookie");
    setvbuf(sink, NULL, _IOFBF, 8192);
    kz_log_set_file(sink);
    kz_log_set_level(KZ_LOG_ERROR);

    fz_make_tmpdir(fz_dir, sizeof fz_dir, "fuzz-request");
    char cfgpath[700], *super = zkd_acl_digest("super:secret", 12);
    FZ_CHECK(super != NULL, "out of memory");
    snprintf(cfgpath, sizeof cfgpath, "%s/zoo.cfg", fz_dir);
    FILE *f = fopen(cfgpath, "w");
    FZ_CHECK(f != NULL, "fopen %s", cfgpath);
    fprintf(f,
            "tickTime=2000\n"
            "dataDir=%s/data\n"
            "clientPort=2181\n"
            "clientPortAddress=127.0.0.1\n"
            "maxClientCnxns=0\n"
            "4lw.commands.whitelist=*\n"
            "snapCount=2000000000\n"
            "preAllocSize=4\n"
            "forceSync=no\n"
            "extendedTypesEnabled=true\n"
            "znode.container.checkIntervalMs=86400000\n"
            "DigestAuthenticationProvider.superDigest=%s\n",
            fz_dir, super);
    fclose(f);
    free(super);
    char err[256];
    FZ_CHECK(zkd_config_load(&fz_cfg, cfgpath, err, sizeof err) == 0, "config: %s", err);
    fz_cfg.client_port = 0; /* any free port */
    FZ_CHECK(zkd_server_init(&fz_srv, &fz_cfg) == 0, "zkd_server_init failed");
    event_del(fz_srv.sigint_ev); /* restores libFuzzer's handlers */
    event_del(fz_srv.sigterm_ev);
    snprintf(fz_logdir, sizeof fz_logdir, "%s/data/version-2", fz_dir);

    socklen_t alen = sizeof fz_addr;
    FZ_CHECK(getsockname(evconnlistener_get_fd(fz_srv.listener), (struct sockaddr *)&fz_addr, &alen) == 0,
             "getsockname");
    fz_tick = event_new(fz_srv.base, -1, EV_PERSIST, fz_noop, NULL);
    struct timeval ms = { 0, 1000 };
    FZ_CHECK(fz_tick && event_add(fz_tick, &ms) == 0, "tick event");
    fz_next_session = (int64_t)((uint64_t)1 << 56) - 1;
    fz_trace = getenv("FUZZ_REQUEST_TRACE") != NULL;
    atexit(fz_cleanup);
    return 0;
}

/* ------------------------------------------------------------ the driver */

static int64_t fz_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One loop turn: blocking (at most ~1 ms, fz_tick) when the sync thread
 * owes us a durable report, else only what is ready. */
static void fz_pump(void)
{
    zkd_server *s = &fz_srv;
    bool wait = s->txq_head != NULL;
    event_base_loop(s->base, wait ? EVLOOP_ONCE : EVLOOP_NONBLOCK);
}

/* One client connection of an input (a slot that can be reopened). */
typedef struct fz_client {
    int fd;                 /* -1: no connection */
    kz_wr rx;               /* what the server sent on this connection */
    bool eof;               /* the server closed it */
    bool parse;             /* the stream starts with our handshake: check it */
    bool ordered;           /* harness-made xids: check reply order */
    int32_t next_xid;
    int32_t types[FZ_MAX_REQS + 1]; /* opcode of each xid */
    int64_t sid;            /* session of the last ConnectResponse (0: none) */
    uint8_t passwd[16];
} fz_client;

#define FZ_CLIENTS 2

/* Reads what the server sent; sets c->eof when it closed. */
static void fz_drain(fz_client *c)
{
    while (c->fd >= 0) {
        uint8_t *p = kz_wr_reserve(&c->rx, 65536);
        FZ_CHECK(p != NULL, "out of memory");
        ssize_t n = recv(c->fd, p, 65536, MSG_DONTWAIT);
        if (n > 0) {
            c->rx.len += (size_t)n;
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            c->eof = true;
        return;
    }
}

static void fz_drain_all(fz_client *cl)
{
    for (int i = 0; i < FZ_CLIENTS; i++)
        fz_drain(&cl[i]);
}

static void fz_deadline(int64_t t0, const char *what)
{
    zkd_server *s = &fz_srv;
    if (fz_now_ns() - t0 < FZ_DEADLINE_NS)
        return;
    fprintf(stderr, "fuzz_request: server stalled %s: conns %zu, txq %s, sync pending %zu, outstanding %zu\n",
            what, s->nconns, s->txq_head ? "busy" : "empty", zkd_sync_pending(s->sync), s->outstanding);
    for (zkd_conn *c = s->conns; c; c = c->next)
        fprintf(stderr, "  conn %s: closing %d, handshake %d, qlen %u, read enabled %d, input %zu, output %zu\n",
                c->peer_str, c->closing, c->handshake_done, c->qlen, (bufferevent_get_enabled(c->bev) & EV_READ) != 0,
                evbuffer_get_length(bufferevent_get_input(c->bev)), evbuffer_get_length(bufferevent_get_output(c->bev)));
    abort();
}

/* Whether the server has done all it can with what the clients sent. */
static bool fz_idle(const fz_client *cl)
{
    zkd_server *s = &fz_srv;
    if (s->txq_head || zkd_sync_pending(s->sync))
        return false;
    for (int i = 0; i < FZ_CLIENTS; i++) {
        int outq = 0;
        if (cl[i].fd >= 0 && (ioctl(cl[i].fd, SIOCOUTQ, &outq) != 0 || outq != 0))
            return false;
    }
    for (zkd_conn *c = s->conns; c; c = c->next) {
        if (evbuffer_get_length(bufferevent_get_output(c->bev)) != 0)
            return false;
        int inq = 0;
        if (!c->closing && !c->free_scheduled && (ioctl(c->fd, FIONREAD, &inq) != 0 || inq != 0))
            return false;
    }
    return true;
}

/* Runs the loop until the server is idle. */
static void fz_settle(fz_client *cl, int64_t t0)
{
    for (;;) {
        fz_pump();
        fz_drain_all(cl);
        if (fz_idle(cl))
            break;
        fz_deadline(t0, "processing the input");
    }
    fz_drain_all(cl);
}

/* Connects client @c; returns once the server has accepted it. */
static void fz_open(fz_client *c, int64_t t0)
{
    zkd_server *s = &fz_srv;
    size_t before = s->nconns;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    FZ_CHECK(c->fd >= 0, "socket: %s", strerror(errno));
    /* libFuzzer's timer signals may interrupt a blocking connect; the
     * connection then completes in the background: wait for it. */
    int crc = connect(c->fd, (struct sockaddr *)&fz_addr, sizeof fz_addr);
    if (crc != 0 && errno == EINTR) {
        struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };
        int err = 0;
        socklen_t el = sizeof err;
        while (poll(&pfd, 1, 1000) < 0 && errno == EINTR)
            ;
        crc = getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0 ? 0 : -1;
        errno = err;
    }
    FZ_CHECK(crc == 0, "connect: %s", strerror(errno));
    FZ_CHECK(fcntl(c->fd, F_SETFL, O_NONBLOCK) == 0, "fcntl");
    struct linger lg = { 1, 0 }; /* close() sends RST: no TIME_WAIT */
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    c->rx.len = 0;
    c->eof = false;
    c->next_xid = 0;
    while (s->nconns == before) {
        event_base_loop(s->base, EVLOOP_ONCE);
        fz_deadline(t0, "accepting");
    }
}

/* Sends @n bytes on @c, running the loop while the socket is full. */
static void fz_send(fz_client *cl, fz_client *c, const uint8_t *p, size_t n, int64_t t0)
{
    size_t off = 0;
    while (off < n && c->fd >= 0 && !c->eof) {
        ssize_t k = send(c->fd, p + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k > 0)
            off += (size_t)k;
        else if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            break;
        fz_pump();
        fz_drain_all(cl);
        fz_deadline(t0, "reading the input");
    }
}

static void fz_check_replies(const fz_client *c);

/* Checks what @c received, resets it, and waits until the server has
 * released the connection. */
static void fz_close(fz_client *cl, fz_client *c, int64_t t0)
{
    zkd_server *s = &fz_srv;
    if (c->fd < 0)
        return;
    fz_drain(c);
    fz_check_replies(c);
    close(c->fd);
    c->fd = -1;
    size_t open = 0;
    for (int i = 0; i < FZ_CLIENTS; i++)
        open += cl[i].fd >= 0;
    while (s->nconns > open || s->txq_head || zkd_sync_pending(s->sync)) {
        event_base_loop(s->base, EVLOOP_ONCE);
        fz_drain_all(cl);
        fz_deadline(t0, "closing a connection");
    }
}

/* ------------------------------------------------------------- the input */

/* A ConnectRequest frame: a new session (@sid 0) or a reconnect. */
static void fz_connect_request(kz_wr *w, int64_t sid, const uint8_t passwd[16], bool ro)
{
    static const uint8_t zeros[16];
    zkd_ConnectRequest cr = { 0, 0, 30000, sid, { (const char *)(passwd ? passwd : zeros), 16 } };
    size_t at = w->len;
    kz_wr_i32(w, 0);
    zkd_encode(ConnectRequest, &cr, w);
    if (ro)
        kz_wr_u8(w, 0);
    kz_wr_patch_i32(w, at, (int32_t)(w->len - at - 4));
}

/* Opens @c and performs a handshake; remembers the session it got. */
static void fz_handshake(fz_client *cl, fz_client *c, int64_t sid, const uint8_t passwd[16], bool ro, int64_t t0)
{
    kz_wr w = KZ_WR_INIT;
    fz_open(c, t0);
    c->parse = true;
    fz_connect_request(&w, sid, passwd, ro);
    FZ_CHECK(!w.err, "out of memory");
    fz_send(cl, c, w.base, w.len, t0);
    kz_wr_free(&w);
    fz_settle(cl, t0);
    if (c->rx.len >= 4 + 36) { /* ConnectResponse: i32 proto, i32 timeout, i64 sid, buffer(16) */
        int64_t got = (int64_t)kz_load_be64(c->rx.base + 12);
        if (got != 0) {
            c->sid = got;
            memcpy(c->passwd, c->rx.base + 24, 16);
        }
    }
}

/* Appends one harness-made request {xid, type, payload} of @c to @w. */
static void fz_request(fz_client *c, int32_t type, const uint8_t *p, size_t n, kz_wr *w)
{
    if (c->next_xid >= FZ_MAX_REQS)
        return;
    int32_t xid = ++c->next_xid;
    c->types[xid] = type;
    kz_wr_i32(w, (int32_t)(8 + n));
    kz_wr_i32(w, xid);
    kz_wr_i32(w, type);
    kz_wr_bytes(w, p, n);
    FZ_CHECK(!w->err, "out of memory");
}

/* Runs one input against the server (modes in the file comment). */
static void fz_run(const uint8_t *data, size_t size, fz_client *cl)
{
    int64_t t0 = fz_now_ns();
    uint8_t mode = data[0];
    kz_rd r = kz_rd_init(data + 1, size - 1);
    fz_client *a = &cl[0], *b = &cl[1];
    switch (mode & 3) {
    case 0: /* raw */
    case 1: /* handshake + raw */
        fz_open(a, t0);
        if (mode & 1) {
            kz_wr w = KZ_WR_INIT;
            a->parse = true;
            fz_connect_request(&w, 0, NULL, (mode & 4) != 0);
            FZ_CHECK(!w.err, "out of memory");
            fz_send(cl, a, w.base, w.len, t0);
            kz_wr_free(&w);
        }
        fz_send(cl, a, r.p, kz_rd_left(&r), t0);
        break;
    case 2: { /* one client, harness-made requests, pipelined in one write */
        kz_wr w = KZ_WR_INIT;
        fz_handshake(cl, a, 0, NULL, (mode & 4) != 0, t0);
        a->ordered = true;
        for (int n = 0; n < FZ_MAX_REQS && kz_rd_left(&r) >= 3; n++) {
            int32_t type = fz_ops[kz_rd_u8(&r) % FZ_NOPS];
            size_t len = (uint16_t)kz_rd_i16(&r);
            if (len > kz_rd_left(&r))
                len = kz_rd_left(&r);
            fz_request(a, type, kz_rd_take(&r, len), len, &w);
        }
        fz_send(cl, a, w.base, w.len, t0);
        kz_wr_free(&w);
        break;
    }
    default: /* two clients, settled after every step */
        fz_handshake(cl, a, 0, NULL, false, t0);
        fz_handshake(cl, b, 0, NULL, false, t0);
        a->ordered = b->ordered = true;
        for (int n = 0; n < FZ_MAX_REQS && kz_rd_left(&r) >= 3; n++) {
            uint8_t op = kz_rd_u8(&r);
            size_t len = (uint16_t)kz_rd_i16(&r);
            if (len > kz_rd_left(&r))
                len = kz_rd_left(&r);
            const uint8_t *p = kz_rd_take(&r, len);
            fz_client *c = &cl[op >> 7], *other = &cl[!(op >> 7)];
            unsigned idx = op & 0x7f;
            if (c->fd >= 0 && c->eof) /* the server closed it */
                fz_close(cl, c, t0);
            if (idx < FZ_NOPS) {
                kz_wr w = KZ_WR_INIT;
                if (c->fd < 0) /* reconnect to its own session first */
                    fz_handshake(cl, c, c->sid, c->passwd, false, t0);
                fz_request(c, fz_ops[idx], p, len, &w);
                fz_send(cl, c, w.base, w.len, t0);
                kz_wr_free(&w);
            } else {
                uint8_t bad[16];
                fz_close(cl, c, t0);
                switch ((idx - FZ_NOPS) % 4) {
                case 0: /* take over the other client's session */
                    fz_handshake(cl, c, other->sid, other->passwd, false, t0);
                    break;
                case 1: /* a new session */
                    fz_handshake(cl, c, 0, NULL, false, t0);
                    break;
                case 2: /* the other's session with a wrong password */
                    memcpy(bad, other->passwd, 16);
                    bad[len % 16] ^= 1;
                    fz_handshake(cl, c, other->sid, bad, false, t0);
                    break;
                default: /* stay closed until its next request */
                    break;
                }
            }
            fz_settle(cl, t0);
        }
        break;
    }
    fz_settle(cl, t0);
    for (int i = 0; i < FZ_CLIENTS; i++)
        fz_close(cl, &cl[i], t0);
}

/* Checks what a client received (modes 1-3): a ConnectResponse first, then
 * well-formed replies and events; with harness-made xids, replies in request
 * order except auth and SASL, which ZooKeeper answers at once, outside the
 * pipeline (processPacket), and reply zxids that never go down. */
static void fz_check_replies(const fz_client *c)
{
    if (!c->parse)
        return;
    kz_rd r = kz_rd_init(c->rx.base, c->rx.len);
    kz_arena a = KZ_ARENA_INIT;
    int32_t last_xid = 0;
    int64_t last_zxid = 0;
    for (int k = 0; kz_rd_left(&r) >= 4; k++) {
        int32_t len = kz_rd_i32(&r);
        FZ_CHECK(len >= 0, "reply frame length %d", len);
        if ((size_t)len > kz_rd_left(&r))
            break; /* cut by our reset */
        kz_rd f = kz_rd_init(kz_rd_take(&r, (size_t)len), (size_t)len);
        if (k == 0) {
            zkd_ConnectResponse cr;
            FZ_CHECK(zkd_decode(ConnectResponse, &f, &cr, &a) == 0 && kz_rd_left(&f) <= 1 && cr.passwd.len == 16,
                     "first frame is not a ConnectResponse (%d bytes)", len);
            continue;
        }
        zkd_ReplyHeader h;
        FZ_CHECK(zkd_decode(ReplyHeader, &f, &h, &a) == 0, "reply %d: short header (%d bytes)", k, len);
        bool known = c->ordered && h.xid >= 1 && h.xid <= c->next_xid;
        if (fz_trace)
            fprintf(stderr, "client %d: reply xid %d (op %d) zxid 0x%" PRIx64 " err %d, %zu body bytes\n", c->fd,
                    h.xid, known ? c->types[h.xid] : 0, (uint64_t)h.zxid, h.err, kz_rd_left(&f));
        /* (With raw xids a request may use -1 too; an unknown opcode is even
         * answered with zxid -1, but never with err 0.) */
        if (h.xid == ZKD_XID_NOTIFICATION && (c->ordered || (h.zxid == -1 && h.err == 0))) {
            zkd_WatcherEvent ev;
            FZ_CHECK(h.zxid == -1 && h.err == 0, "notification header");
            FZ_CHECK(zkd_decode(WatcherEvent, &f, &ev, &a) == 0 && kz_rd_left(&f) == 0, "notification body");
            FZ_CHECK(ev.type >= ZKD_EV_CREATED && ev.type <= ZKD_EV_CHILDREN_CHANGED && ev.state == 3 &&
                         ev.path.len > 0,
                     "watch event type %d state %d", ev.type, ev.state);
            continue;
        }
        if (!c->ordered)
            continue;
        FZ_CHECK(known, "reply to unknown xid %d", h.xid);
        if (c->types[h.xid] == ZKD_OP_AUTH || c->types[h.xid] == ZKD_OP_SASL)
            continue;
        FZ_CHECK(h.xid > last_xid, "reply xid %d after %d: replies out of request order", h.xid, last_xid);
        last_xid = h.xid;
        if (h.zxid > 0) {
            FZ_CHECK(h.zxid >= last_zxid, "reply zxid 0x%" PRIx64 " after 0x%" PRIx64, (uint64_t)h.zxid,
                     (uint64_t)last_zxid);
            last_zxid = h.zxid;
        }
    }
    kz_arena_reset(&a);
}

/* Replays this input's txns (zxid > @start) from the log onto a fresh tree
 * and compares with the live one. */
static void fz_check_log(int64_t start)
{
    zkd_server *s = &fz_srv;
    zkd_txnlog_iter *it = NULL;
    FZ_CHECK(zkd_txnlog_iter_open(&it, fz_logdir, start + 1) == 0, "iter_open");
    zkd_datatree *dt = zkd_dt_new();
    FZ_CHECK(dt != NULL, "out of memory");
    zkd_dt_set_last_zxid(dt, start);
    int64_t want = start + 1;
    for (;;) {
        zkd_txnlog_entry e;
        int rc = zkd_txnlog_iter_next(it, &e);
        FZ_CHECK(rc == 0 || rc == 1, "iter_next %d", rc);
        if (rc == 0)
            break;
        FZ_CHECK(e.zxid == want, "logged zxid 0x%" PRIx64 ", expected 0x%" PRIx64, (uint64_t)e.zxid,
                 (uint64_t)want);
        want++;
        zkd_TxnHeader h;
        FZ_CHECK(zkd_txn_header(e.txn, e.len, &h) == 0, "header");
        zkd_apply_result res;
        kz_arena a = KZ_ARENA_INIT;
        rc = zkd_dt_apply(dt, e.txn, e.len, &res, &a);
        FZ_CHECK(rc == 0, "our own txn 0x%" PRIx64 " (type %d) does not apply: %d", (uint64_t)e.zxid, h.type, rc);
        bool prep_ok = h.type != ZKD_OP_ERROR;
        for (int32_t i = 0; i < res.nmulti; i++)
            if (res.multi[i].type == ZKD_OP_ERROR)
                prep_ok = false;
        FZ_CHECK(!prep_ok || res.r.err == 0, "txn 0x%" PRIx64 " (type %d) passed prep but fails to apply: %d",
                 (uint64_t)e.zxid, h.type, res.r.err);
        for (int32_t i = 0; prep_ok && i < res.nmulti; i++)
            FZ_CHECK(res.multi[i].err == 0, "multi 0x%" PRIx64 " op %d passed prep but fails: %d", (uint64_t)e.zxid,
                     i, res.multi[i].err);
        kz_arena_reset(&a);
    }
    zkd_txnlog_iter_close(it);
    FZ_CHECK(want == s->next_zxid + 1, "logged up to 0x%" PRIx64 ", handed out up to 0x%" PRIx64,
             (uint64_t)(want - 1), (uint64_t)s->next_zxid);
    fz_dt_equal(s->dt, dt, FZ_EQ_ACL_INDEX | FZ_EQ_SESSIONS);
    if (fz_trace)
        fprintf(stderr, "replayed %" PRId64 " txns from the log: same tree (%zu nodes)\n", want - start - 1,
                zkd_dt_node_count(dt));
    zkd_dt_free(dt);
}

/* Deletes every log file but the newest (the writer may still hold it). */
static void fz_prune_logs(void)
{
    zkd_zxid_file *v = NULL;
    size_t n = 0;
    FZ_CHECK(zkd_zxid_files(fz_logdir, "log", &v, &n) == 0, "listing logs");
    for (size_t i = 0; i + 1 < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", fz_logdir, v[i].name);
        unlink(path);
    }
    free(v);
}

/* Back to the state of a fresh server: new tree, no sessions. */
static void fz_reset(void)
{
    zkd_server *s = &fz_srv;
    int64_t k;
    uint64_t v;
    int64_t ids[64];
    for (;;) {
        size_t n = 0;
        for (size_t it = 0; n < 64 && kz_map_next(&s->sessions, &it, &k, &v);)
            ids[n++] = k;
        if (n == 0)
            break;
        for (size_t i = 0; i < n; i++)
            zkd_session_remove(s, ids[i]);
    }
    zkd_prep_applied(s, INT64_MAX);
    zkd_dt_free(s->dt);
    s->dt = zkd_dt_new();
    FZ_CHECK(s->dt != NULL, "out of memory");
    zkd_dt_hooks hooks = { fz_trigger, s };
    zkd_dt_set_hooks(s->dt, &hooks);
    zkd_dt_set_last_zxid(s->dt, s->next_zxid);
    s->next_session_id = fz_next_session;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zkd_server *s = &fz_srv;
    if (size < 1)
        return 0;
    fz_reset();
    zkd_sync_roll(s->sync); /* this input's txns go to a file of their own */
    int64_t start = s->next_zxid;

    fz_client cl[FZ_CLIENTS];
    memset(cl, 0, sizeof cl);
    for (int i = 0; i < FZ_CLIENTS; i++)
        cl[i].fd = -1;
    fz_run(data, size, cl);
    for (int i = 0; i < FZ_CLIENTS; i++)
        kz_wr_free(&cl[i].rx);

    FZ_CHECK(s->nconns == 0 && s->conns == NULL, "connection not released");
    FZ_CHECK(s->outstanding == 0, "%zu requests still outstanding", s->outstanding);
    FZ_CHECK(zkd_watch_total(s->watches) == 0, "%zu watches left after the connections closed",
             zkd_watch_total(s->watches));
    FZ_CHECK(s->durable_zxid == s->next_zxid, "durable 0x%" PRIx64 ", handed out 0x%" PRIx64,
             (uint64_t)s->durable_zxid, (uint64_t)s->next_zxid);
    fz_dt_check(s->dt, FZ_DT_STRICT_ACL);
    fz_check_log(start);
    fz_prune_logs();
    return 0;
}
