/* bench/zkload.c -- closed-loop load generator speaking the ZooKeeper wire protocol itself.
 *
 * Usage: zkload [-s HOST:PORT[,HOST:PORT...]] [-n SESSIONS] [-o OUTSTANDING] [-c COUNT]
 *               [-d BYTES] [-p PHASES] [-r ROOT] [-t STALL_SECS] [-v]
 *
 * The same load, options and output as zkbench, without libzookeeper_mt: that client
 * spends 30-45 us of CPU per operation (two threads per session, a pipe wake-up per
 * request), which on a small machine makes the client, not the server, the ceiling.
 * zkload is one thread, one epoll loop and one TCP connection per session; it keeps
 * OUTSTANDING requests pipelined on each connection, and after every read it encodes
 * all the requests that refill the windows into one buffer and sends it with one
 * syscall, so its cost per operation is a small fraction of the server's.
 *
 * Each phase runs one operation type (create, setData, getData, exists, delete) COUNT
 * times in total, split evenly over SESSIONS sessions; session k works on the nodes
 * ROOT/s<k>-<i>, i in [0, share_k), exactly as zkbench does, so the two can be
 * compared and either can clean up after the other (the phases only make sense in the
 * default order: a phase whose nodes are missing counts errors).
 *
 * Servers: -s takes one HOST:PORT or a comma list of up to KL_MAX_SERVERS (an ensemble);
 * session k connects to the (k mod N)-th, so the sessions are spread round-robin over
 * the list and stay there (no reconnects: a lost connection aborts the run, as with one
 * server). Each entry uses the first address its name resolves to. The set-up requests
 * (creating ROOT and its ancestors, deleting ROOT at the end) go through session 0,
 * i.e. the first server; every session only reads nodes it wrote itself, so the
 * per-session ordering of ZooKeeper suffices on any member of an ensemble.
 *
 * Wire protocol (jute, big-endian, every frame prefixed by an int32 length):
 *   ConnectRequest  {int protocolVersion=0, long lastZxidSeen=0, int timeOut,
 *                    long sessionId=0, buffer passwd=16 zero bytes} + bool readOnly=0
 *   ConnectResponse {int protocolVersion, int timeOut, long sessionId, buffer passwd}
 *                    [+ bool readOnly]; timeOut <= 0 means the session was refused
 *   request         RequestHeader{int xid, int type} + record
 *   reply           ReplyHeader{int xid, long zxid, int err} + record (none if err != 0)
 *   create  (1)     {ustring path, buffer data, vector<ACL> acl, int flags}; acl is
 *                   [{perms=31, Id{"world","anyone"}}] (OPEN_ACL_UNSAFE), flags 0
 *   delete  (2)     {ustring path, int version=-1}
 *   exists  (3)     {ustring path, bool watch=false}
 *   getData (4)     {ustring path, bool watch=false}  -> {buffer data, Stat}
 *   setData (5)     {ustring path, buffer data, int version=-1}
 *   ping    (11)    xid -2, no record; sent on a connection idle for a third of the
 *                   negotiated session timeout (as the real clients do)
 *   close   (-11)   no record; sent to every session at the end
 * The server answers a connection's requests in order: replies are matched against a
 * FIFO of the requests in flight by xid, and a mismatch aborts the run. xid -2 (ping
 * reply) and -1 (watch event; none are set) are outside that order.
 *
 * Output, one line per phase on stdout, the same as zkbench (lines starting with '#'
 * are comments):
 *   phase=create ops=100000 secs=1.234 ops_per_sec=81037 p50_us=.. p99_us=.. \
 *     p999_us=.. max_us=.. errors=0 client_cpu_s=..
 * ops counts completed operations including failed ones; errors counts replies with
 * err != 0 and getData replies whose length differs from -d. Latency is per operation,
 * from the moment the request is encoded into the connection's send buffer (the send
 * follows within the same loop iteration) to the return of the read that brought its
 * reply, CLOCK_MONOTONIC, microseconds; percentiles are nearest-rank over a sorted
 * array of every latency of the phase. client_cpu_s is zkload's CPU time during the
 * phase (three decimals here, two in zkbench: zkload's is that small).
 *
 * Exit status: 0 all phases ran (even with errors), 1 usage, connect or set-up
 * failure, 2 a phase was aborted (server closed or reset a connection, protocol error,
 * or no progress for STALL_SECS). Every wait is bounded.
 *
 * Single-threaded: no locks, no atomics. Buffers: one shared read buffer (256 KiB per
 * recv plus room for one partial frame); a partial frame left at the end of a read is
 * kept in the connection's small carry buffer and copied in front of the next read.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kz_buf.h"
#include "lib/zkb_common.h"

#define KL_CLOSE_SECS      5
#define KL_READ_CHUNK      (256 * 1024)
#define KL_FRAME_SLACK     65536            /* frame bound: data size + this */
#define KL_ETIMEOUT        (-10001)         /* our code: a set-up request got no reply */
#define KL_MAX_SERVERS     64               /* entries of -s */

/* ZooKeeper opcodes and xids */
enum {
    KL_ZOP_CREATE = 1, KL_ZOP_DELETE = 2, KL_ZOP_EXISTS = 3, KL_ZOP_GETDATA = 4,
    KL_ZOP_SETDATA = 5, KL_ZOP_PING = 11, KL_ZOP_CLOSE = -11,
};
enum { KL_XID_WATCH = -1, KL_XID_PING = -2 };
enum { KL_ZNODEEXISTS = -110 };

static const zkb_prog kl_prog = {
    .name = "zkload",
    .help_s = "server HOST:PORT (default 127.0.0.1:2181), or a comma list of them:\n"
              "      session k connects to the (k mod N)-th (round-robin)",
    .help_n = "sessions, one TCP connection each (default 16)",
    .help_v = "report sessions that did not confirm closeSession",
    .cpu_decimals = 3,                       /* zkbench: 2; zkload's is that small */
};

static const int32_t kl_zop[ZKB_OP__NUM] = {
    [ZKB_OP_CREATE] = KL_ZOP_CREATE,
    [ZKB_OP_SET]    = KL_ZOP_SETDATA,
    [ZKB_OP_GET]    = KL_ZOP_GETDATA,
    [ZKB_OP_EXISTS] = KL_ZOP_EXISTS,
    [ZKB_OP_DELETE] = KL_ZOP_DELETE,
};

typedef enum { KL_P_BENCH, KL_P_CTRL, KL_P_CLOSE } kl_pkind;

/* One request in flight on a connection, in the order it was sent. */
typedef struct {
    int32_t xid;
    int32_t kind;            /* kl_pkind */
    long idx;                /* node index (KL_P_BENCH) */
    int64_t t_ns;            /* when it was encoded */
} kl_pend;

typedef enum {
    KL_C_CONNECTING,         /* non-blocking connect() in progress */
    KL_C_HANDSHAKE,          /* ConnectRequest sent, waiting for the response */
    KL_C_READY,
    KL_C_CLOSING,            /* closeSession sent: EOF is expected */
    KL_C_CLOSED,             /* fd closed (closed by us, lost, or close finished) */
} kl_cstate;

typedef struct {
    int id;
    int srv;                 /* index into kl_bench.srv: the server of this session */
    int fd;
    kl_cstate st;
    int64_t session_id;
    int32_t timeout_ms;      /* negotiated */
    int64_t ping_ns;         /* idle time after which a ping is sent */
    int64_t last_send_ns;    /* last frame encoded */
    kz_wr out;               /* encoded, not yet sent: out.base[out_off .. out.len) */
    size_t out_off;
    bool epoll_out;          /* EPOLLOUT currently requested */
    uint8_t *carry;          /* partial frame left by the last read */
    size_t carry_len, carry_cap;
    kl_pend *ring;           /* FIFO of requests in flight */
    unsigned head, n, cap;
    int32_t next_xid;
    long quota;              /* ops of this session per phase */
    long next;               /* next node index to submit */
    char prefix[ZKB_PATH_MAX];/* "ROOT/s<k>-" */
    size_t prefix_len;
} kl_conn;

/* One entry of -s, resolved. */
typedef struct {
    char name[ZKB_HOST_MAX]; /* HOST:PORT as given */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int family;
} kl_server;

typedef struct {
    zkb_config cfg;          /* options, immutable after zkb_parse_args() */
    kl_server srv[KL_MAX_SERVERS];
    int nsrv;
    char *data;              /* data_len bytes sent by create and setData */
    size_t max_frame;
    /* run state */
    int ep;
    kl_conn *conns;          /* [nsess] */
    uint8_t *scratch;        /* shared read buffer */
    size_t scratch_cap;
    int64_t last_ping_check_ns;
    long pings;              /* pings sent, reported at the end */
    /* phase state */
    bool active;             /* a phase is running: replies refill the windows */
    zkb_op op;
    long done, errors;
    int first_rc;
    long first_idx;
    int first_sess;
    int64_t t_end_ns;
    uint32_t *lat;           /* [count] */
    long nlat;
    /* the one set-up request in flight (KL_P_CTRL) */
    bool ctrl_done;
    int ctrl_rc;
    /* first connection lost: 1 + id, and why */
    int lost;
    char lost_why[256];
} kl_bench;

static const char *kl_rc_str(int rc)
{
    switch (rc) {
    case 0:            return "ok";
    case ZKB_EBADDATA: return ZKB_EBADDATA_STR;
    case KL_ETIMEOUT:  return "no reply in time";
    case -1:           return "system error";
    case -2:           return "runtime inconsistency";
    case -3:           return "data inconsistency";
    case -4:           return "connection loss";
    case -5:           return "marshalling error";
    case -6:           return "unimplemented";
    case -7:           return "operation timeout";
    case -8:           return "bad arguments";
    case -13:          return "new config no quorum";
    case -14:          return "reconfig in progress";
    case -101:         return "no node";
    case -102:         return "not authenticated";
    case -103:         return "bad version";
    case -108:         return "no children for ephemerals";
    case -110:         return "node exists";
    case -111:         return "not empty";
    case -112:         return "session expired";
    case -113:         return "invalid callback";
    case -114:         return "invalid ACL";
    case -115:         return "auth failed";
    case -118:         return "session moved";
    case -119:         return "not a read-only call";
    case -120:         return "ephemeral on local session";
    case -121:         return "no watcher";
    case -122:         return "request timeout";
    case -123:         return "reconfig disabled";
    case -124:         return "session closed for reconfig";
    case -125:         return "quota exceeded";
    case -127:         return "throttled";
    default:           return "unknown error";
    }
}

/* ---- connection plumbing ------------------------------------------------------------ */

static void kl_epoll_set(kl_bench *b, kl_conn *c, bool want_out)
{
    struct epoll_event ev = { .events = EPOLLIN | (want_out ? EPOLLOUT : 0u), .data.ptr = c };
    if (c->epoll_out == want_out)
        return;
    c->epoll_out = want_out;
    epoll_ctl(b->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void kl_conn_close(kl_bench *b, kl_conn *c)
{
    if (c->st == KL_C_CLOSED)
        return;
    epoll_ctl(b->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->st = KL_C_CLOSED;
    c->out.len = c->out_off = 0;
    c->carry_len = 0;
}

/* The server went away or broke the protocol on @c: remember the first such event
 * (the running phase aborts on it) and drop the connection. */
static void kl_lost(kl_bench *b, kl_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void kl_lost(kl_bench *b, kl_conn *c, const char *fmt, ...)
{
    if (!b->lost) {
        va_list ap;
        int n = 0;
        if (b->nsrv > 1)
            n = snprintf(b->lost_why, sizeof b->lost_why, "%s: ", b->srv[c->srv].name);
        if (n < 0 || (size_t)n >= sizeof b->lost_why)
            n = 0;
        va_start(ap, fmt);
        vsnprintf(b->lost_why + n, sizeof b->lost_why - (size_t)n, fmt, ap);
        va_end(ap);
        b->lost = c->id + 1;
    }
    kl_conn_close(b, c);
}

/* Sends what is buffered, as far as the socket takes it. */
static void kl_flush(kl_bench *b, kl_conn *c)
{
    if (c->st == KL_C_CLOSED || c->st == KL_C_CONNECTING)
        return;
    if (c->out.err) {
        fprintf(stderr, "zkload: out of memory\n");
        exit(1);
    }
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.base + c->out_off, c->out.len - c->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            kl_epoll_set(b, c, true);
            return;
        }
        if (c->st == KL_C_CLOSING) {     /* the server may close first: fine */
            kl_conn_close(b, c);
            return;
        }
        kl_lost(b, c, "send failed: %s", n < 0 ? strerror(errno) : "no progress");
        return;
    }
    c->out.len = c->out_off = 0;
    kl_epoll_set(b, c, false);
}

static void kl_push(kl_conn *c, int32_t xid, kl_pkind kind, long idx, int64_t t_ns)
{
    kl_pend *p = &c->ring[(c->head + c->n) % c->cap];
    p->xid = xid;
    p->kind = (int32_t)kind;
    p->idx = idx;
    p->t_ns = t_ns;
    c->n++;
}

/* Starts a frame with RequestHeader{xid, type}; returns the length field's offset. */
static size_t kl_frame_begin(kl_conn *c, int32_t xid, int32_t type, int64_t now)
{
    size_t off = c->out.len;
    kz_wr_i32(&c->out, 0);
    kz_wr_i32(&c->out, xid);
    kz_wr_i32(&c->out, type);
    c->last_send_ns = now;
    return off;
}

static void kl_frame_end(kl_conn *c, size_t off)
{
    kz_wr_patch_i32(&c->out, off, (int32_t)(c->out.len - off - 4));
}

static void kl_wr_open_acl(kz_wr *w)
{
    kz_wr_i32(w, 1);                         /* vector<ACL> of one */
    kz_wr_i32(w, 31);                        /* perms: ALL */
    kz_wr_str(w, KZ_STR_LIT("world"));
    kz_wr_str(w, KZ_STR_LIT("anyone"));
}

/* Encodes the benchmark request for node @idx of @c's session. */
static void kl_encode_op(kl_bench *b, kl_conn *c, long idx, int64_t now)
{
    char path[ZKB_PATH_MAX + 24];
    int32_t xid = c->next_xid++;
    int32_t zop = kl_zop[b->op];
    size_t off = kl_frame_begin(c, xid, zop, now);
    kz_wr *w = &c->out;
    char digits[24];
    int nd = 0;
    unsigned long v = (unsigned long)idx;

    do {
        digits[nd++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    memcpy(path, c->prefix, c->prefix_len);
    for (int i = 0; i < nd; i++)
        path[c->prefix_len + (size_t)i] = digits[nd - 1 - i];
    kz_wr_str(w, (kz_str){ path, (int32_t)(c->prefix_len + (size_t)nd) });

    switch (zop) {
    case KL_ZOP_CREATE:
        kz_wr_str(w, (kz_str){ b->data, b->cfg.data_len });
        kl_wr_open_acl(w);
        kz_wr_i32(w, 0);                     /* flags: persistent */
        break;
    case KL_ZOP_SETDATA:
        kz_wr_str(w, (kz_str){ b->data, b->cfg.data_len });
        kz_wr_i32(w, -1);
        break;
    case KL_ZOP_GETDATA:
    case KL_ZOP_EXISTS:
        kz_wr_u8(w, 0);                      /* watch: false */
        break;
    case KL_ZOP_DELETE:
        kz_wr_i32(w, -1);
        break;
    default:
        break;
    }
    kl_frame_end(c, off);
    kl_push(c, xid, KL_P_BENCH, idx, now);
}

/* Tops @c's window up to OUTSTANDING requests while its share lasts. */
static void kl_refill(kl_bench *b, kl_conn *c)
{
    if (!b->active || c->st != KL_C_READY || c->next >= c->quota ||
        c->n >= (unsigned)b->cfg.outstanding)
        return;
    int64_t now = zkb_now_ns();
    while (c->n < (unsigned)b->cfg.outstanding && c->next < c->quota)
        kl_encode_op(b, c, c->next++, now);
}

static void kl_op_error(kl_bench *b, const kl_conn *c, long idx, int rc)
{
    if (b->errors++ == 0) {
        b->first_rc = rc;
        b->first_idx = idx;
        b->first_sess = c->id;
    }
}

static void kl_on_connect_response(kl_bench *b, kl_conn *c, const uint8_t *p, size_t len)
{
    kz_rd r = kz_rd_init(p, len);
    (void)kz_rd_i32(&r);                     /* protocolVersion */
    int32_t to = kz_rd_i32(&r);
    int64_t sid = kz_rd_i64(&r);
    (void)kz_rd_str(&r);                     /* passwd; a readOnly byte may follow */
    if (r.err) {
        kl_lost(b, c, "malformed ConnectResponse (%zu bytes)", len);
        return;
    }
    if (to <= 0) {
        kl_lost(b, c, "the server refused the session (timeOut %d)", to);
        return;
    }
    c->session_id = sid;
    c->timeout_ms = to;
    c->ping_ns = (int64_t)to * 1000000 / 3;
    c->st = KL_C_READY;
}

static void kl_on_reply(kl_bench *b, kl_conn *c, const uint8_t *p, size_t len, int64_t now)
{
    kz_rd r = kz_rd_init(p, len);
    int32_t xid = kz_rd_i32(&r);
    (void)kz_rd_i64(&r);                     /* zxid */
    int32_t err = kz_rd_i32(&r);
    if (r.err) {
        kl_lost(b, c, "reply shorter than a ReplyHeader (%zu bytes)", len);
        return;
    }
    if (xid == KL_XID_PING || xid == KL_XID_WATCH)
        return;
    if (c->n == 0) {
        kl_lost(b, c, "reply with xid %d but no request in flight", xid);
        return;
    }
    kl_pend *pd = &c->ring[c->head];
    if (pd->xid != xid) {
        kl_lost(b, c, "reply out of order: xid %d, expected %d", xid, pd->xid);
        return;
    }
    c->head = (c->head + 1) % c->cap;
    c->n--;

    switch ((kl_pkind)pd->kind) {
    case KL_P_BENCH: {
        int rc = err;
        if (rc == 0 && b->op == ZKB_OP_GET) {
            kz_str d = kz_rd_str(&r);
            if (r.err || d.len != b->cfg.data_len)
                rc = ZKB_EBADDATA;
        }
        if (b->nlat < b->cfg.count)
            b->lat[b->nlat++] = zkb_lat_us(pd->t_ns, now);
        if (rc != 0)
            kl_op_error(b, c, pd->idx, rc);
        if (++b->done == b->cfg.count)
            b->t_end_ns = now;
        break;
    }
    case KL_P_CTRL:
        b->ctrl_done = true;
        b->ctrl_rc = err;
        break;
    case KL_P_CLOSE:
        kl_conn_close(b, c);                 /* session closed: done with it */
        break;
    }
}

static void kl_readable(kl_bench *b, kl_conn *c)
{
    size_t have = c->carry_len;
    if (have)
        memcpy(b->scratch, c->carry, have);
    ssize_t n = recv(c->fd, b->scratch + have, KL_READ_CHUNK, MSG_DONTWAIT);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        if (c->st == KL_C_CLOSING)
            kl_conn_close(b, c);
        else
            kl_lost(b, c, "connection error: %s", strerror(errno));
        return;
    }
    if (n == 0) {
        if (c->st == KL_C_CLOSING)
            kl_conn_close(b, c);
        else
            kl_lost(b, c, "connection closed by the server%s",
                    c->st == KL_C_HANDSHAKE ? " during the handshake" : "");
        return;
    }
    int64_t now = zkb_now_ns();
    size_t len = have + (size_t)n, off = 0;
    while (len - off >= 4) {
        uint32_t fl = kz_load_be32(b->scratch + off);
        if (fl > b->max_frame) {
            kl_lost(b, c, "frame of %" PRIu32 " bytes (limit %zu): not the ZooKeeper protocol?",
                    fl, b->max_frame);
            return;
        }
        if (len - off - 4 < fl)
            break;
        if (c->st == KL_C_HANDSHAKE)
            kl_on_connect_response(b, c, b->scratch + off + 4, fl);
        else
            kl_on_reply(b, c, b->scratch + off + 4, fl, now);
        if (c->st == KL_C_CLOSED)
            return;
        off += 4 + fl;
    }
    c->carry_len = len - off;
    if (c->carry_len) {
        if (c->carry_cap < c->carry_len) {
            size_t cap = c->carry_len < 4096 ? 4096 : c->carry_len;
            uint8_t *nc = realloc(c->carry, cap);
            if (!nc) {
                fprintf(stderr, "zkload: out of memory\n");
                exit(1);
            }
            c->carry = nc;
            c->carry_cap = cap;
        }
        memcpy(c->carry, b->scratch + off, c->carry_len);
    }
    kl_refill(b, c);
    kl_flush(b, c);
}

static void kl_send_connect(kl_bench *b, kl_conn *c)
{
    static const char zero16[16];
    size_t off = c->out.len;
    kz_wr_i32(&c->out, 0);
    kz_wr_i32(&c->out, 0);                   /* protocolVersion */
    kz_wr_i64(&c->out, 0);                   /* lastZxidSeen */
    kz_wr_i32(&c->out, ZKB_SESSION_MS);       /* timeOut */
    kz_wr_i64(&c->out, 0);                   /* sessionId */
    kz_wr_str(&c->out, (kz_str){ zero16, 16 });
    kz_wr_u8(&c->out, 0);                    /* readOnly */
    kl_frame_end(c, off);
    c->last_send_ns = zkb_now_ns();
    c->st = KL_C_HANDSHAKE;
    kl_flush(b, c);
}

static void kl_event(kl_bench *b, kl_conn *c, uint32_t events)
{
    if (c->st == KL_C_CLOSED)
        return;
    if (c->st == KL_C_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof err;
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
            err = errno;
        if (err) {
            kl_lost(b, c, "connect: %s", strerror(err));
            return;
        }
        c->epoll_out = true;                 /* registered with EPOLLOUT */
        kl_send_connect(b, c);
        return;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        kl_readable(b, c);
    if (c->st != KL_C_CLOSED && (events & EPOLLOUT))
        kl_flush(b, c);
}

/* Pings every ready connection idle for a third of its session timeout. */
static void kl_pings(kl_bench *b, int64_t now)
{
    if (now - b->last_ping_check_ns < 100 * 1000000LL)
        return;
    b->last_ping_check_ns = now;
    for (int k = 0; k < b->cfg.nsess; k++) {
        kl_conn *c = &b->conns[k];
        if (c->st != KL_C_READY || now - c->last_send_ns < c->ping_ns)
            continue;
        size_t off = kl_frame_begin(c, KL_XID_PING, KL_ZOP_PING, now);
        kl_frame_end(c, off);
        b->pings++;
        kl_flush(b, c);
    }
}

/* One round of the event loop: waits up to @ms for events and handles them. */
static void kl_poll(kl_bench *b, int ms)
{
    struct epoll_event evs[256];
    int n = epoll_wait(b->ep, evs, 256, ms);
    if (n < 0 && errno != EINTR) {
        fprintf(stderr, "zkload: epoll_wait: %s\n", strerror(errno));
        exit(1);
    }
    for (int i = 0; i < n; i++)
        kl_event(b, evs[i].data.ptr, evs[i].events);
    kl_pings(b, zkb_now_ns());
}

/* ---- set-up, phases, tear-down ------------------------------------------------------ */

/* Resolves one HOST:PORT ([V6ADDR]:PORT for IPv6 literals) of @len bytes at @spec into
 * @sv. Returns -1 after printing why not. */
static int kl_resolve_one(kl_server *sv, const char *spec, size_t len)
{
    char host[ZKB_HOST_MAX];
    const char *colon, *port;
    size_t hl;
    struct addrinfo *ai;

    memcpy(sv->name, spec, len);
    sv->name[len] = '\0';
    colon = strrchr(sv->name, ':');
    if (!colon || colon == sv->name || !colon[1]) {
        fprintf(stderr, "zkload: -s wants HOST:PORT[,HOST:PORT...] (got '%s')\n", sv->name);
        return -1;
    }
    hl = (size_t)(colon - sv->name);
    if (sv->name[0] == '[' && hl >= 2 && sv->name[hl - 1] == ']') {
        memcpy(host, sv->name + 1, hl - 2);
        host[hl - 2] = '\0';
    } else {
        memcpy(host, sv->name, hl);
        host[hl] = '\0';
    }
    port = colon + 1;
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc) {
        fprintf(stderr, "zkload: %s: %s\n", sv->name, gai_strerror(rc));
        return -1;
    }
    memcpy(&sv->addr, ai->ai_addr, ai->ai_addrlen);
    sv->addrlen = ai->ai_addrlen;
    sv->family = ai->ai_family;
    freeaddrinfo(ai);
    return 0;
}

/* Splits -s at the commas and resolves every entry into b->srv[]. */
static int kl_resolve(kl_bench *b)
{
    const char *p = b->cfg.host;
    b->nsrv = 0;
    for (;;) {
        size_t len = strcspn(p, ",");
        if (b->nsrv == KL_MAX_SERVERS) {
            fprintf(stderr, "zkload: -s lists more than %d servers\n", KL_MAX_SERVERS);
            return -1;
        }
        if (kl_resolve_one(&b->srv[b->nsrv], p, len))
            return -1;
        b->nsrv++;
        if (!p[len])
            return 0;
        p += len + 1;
    }
}

/* Connects session k to server k mod nsrv, and waits (bounded) for all handshakes. */
static int kl_connect_all(kl_bench *b)
{
    int64_t deadline = zkb_now_ns() + (int64_t)ZKB_CONNECT_SECS * 1000000000;

    if (kl_resolve(b))
        return -1;
    for (int k = 0; k < b->cfg.nsess; k++) {
        kl_conn *c = &b->conns[k];
        int one = 1;
        c->srv = k % b->nsrv;
        const kl_server *sv = &b->srv[c->srv];
        c->fd = socket(sv->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->fd < 0) {
            fprintf(stderr, "zkload: socket: %s\n", strerror(errno));
            return -1;
        }
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->st = KL_C_CONNECTING;
        struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
        if (epoll_ctl(b->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
            fprintf(stderr, "zkload: epoll_ctl: %s\n", strerror(errno));
            return -1;
        }
        if (connect(c->fd, (const struct sockaddr *)&sv->addr, sv->addrlen) != 0 &&
            errno != EINPROGRESS) {
            fprintf(stderr, "zkload: connect to %s: %s\n", sv->name, strerror(errno));
            return -1;
        }
    }

    for (;;) {
        int ready = 0;
        for (int k = 0; k < b->cfg.nsess; k++)
            ready += b->conns[k].st == KL_C_READY;
        if (b->lost) {
            /* with several servers, lost_why starts with the server's name */
            fprintf(stderr, "zkload: session %d%s%s: %s\n", b->lost - 1,
                    b->nsrv > 1 ? "" : " to ", b->nsrv > 1 ? "" : b->srv[0].name,
                    b->lost_why);
            return -1;
        }
        if (ready == b->cfg.nsess)
            return 0;
        if (zkb_now_ns() > deadline) {
            fprintf(stderr, "zkload: only %d of %d sessions connected to %s within %d s\n",
                    ready, b->cfg.nsess, b->cfg.host, ZKB_CONNECT_SECS);
            for (int k = 0; k < b->cfg.nsess; k++)
                if (b->conns[k].st != KL_C_READY)
                    fprintf(stderr, "zkload:   session %d (%s) not connected\n", k,
                            b->srv[b->conns[k].srv].name);
            return -1;
        }
        kl_poll(b, ZKB_WAIT_SLICE_MS);
    }
}

/* Sends one set-up request on session 0 and waits (bounded) for its reply; returns
 * the reply's err, KL_ETIMEOUT, or -4 (connection loss) if the server went away. */
static int kl_ctrl(kl_bench *b, int32_t zop, const char *path, bool create)
{
    kl_conn *c = &b->conns[0];
    int64_t now = zkb_now_ns(), deadline = now + (int64_t)ZKB_CONNECT_SECS * 1000000000;
    if (c->st != KL_C_READY)
        return -4;
    int32_t xid = c->next_xid++;
    size_t off = kl_frame_begin(c, xid, zop, now);
    kz_wr_str(&c->out, kz_str_c(path));
    if (create) {
        kz_wr_str(&c->out, KZ_STR_NULL);     /* no data */
        kl_wr_open_acl(&c->out);
        kz_wr_i32(&c->out, 0);
    } else {
        kz_wr_i32(&c->out, -1);              /* delete: any version */
    }
    kl_frame_end(c, off);
    kl_push(c, xid, KL_P_CTRL, 0, now);
    b->ctrl_done = false;
    kl_flush(b, c);
    while (!b->ctrl_done && !b->lost && zkb_now_ns() < deadline)
        kl_poll(b, ZKB_WAIT_SLICE_MS);
    if (b->ctrl_done)
        return b->ctrl_rc;
    return b->lost ? -4 : KL_ETIMEOUT;
}

/* Creates the node @p, the root or one of its ancestors (zkb_root_walk); an
 * existing node is fine. */
static int kl_root_create_one(void *ctx, const char *p)
{
    kl_bench *b = ctx;
    int rc = kl_ctrl(b, KL_ZOP_CREATE, p, true);
    if (rc != 0 && rc != KL_ZNODEEXISTS) {
        fprintf(stderr, "zkload: create %s: %s (rc=%d)%s%s\n", p, kl_rc_str(rc), rc,
                b->lost ? ": " : "", b->lost ? b->lost_why : "");
        return -1;
    }
    return 0;
}

/* Runs one phase to completion. Returns 0, or -1 after printing why it aborted. */
static int kl_phase_run(kl_bench *b, zkb_op op)
{
    zkb_phase ph = { .op = op, .lat = b->lat };
    zkb_progress pr;
    double cpu0;

    b->op = op;
    b->done = b->errors = b->nlat = 0;
    b->first_rc = 0;
    b->t_end_ns = 0;
    for (int k = 0; k < b->cfg.nsess; k++)
        b->conns[k].next = 0;

    cpu0 = zkb_cpu_secs();
    ph.t0_ns = zkb_now_ns();
    b->active = true;
    for (int k = 0; k < b->cfg.nsess; k++) {
        kl_refill(b, &b->conns[k]);
        kl_flush(b, &b->conns[k]);
    }
    zkb_progress_start(&pr, zkb_now_ns());
    while (b->done < b->cfg.count && !b->lost) {
        kl_poll(b, ZKB_WAIT_SLICE_MS);
        if (zkb_stalled(&pr, b->done, zkb_now_ns(), b->cfg.stall_secs))
            break;
    }
    b->active = false;
    ph.cpu_s = zkb_cpu_secs() - cpu0;

    if (b->done < b->cfg.count) {
        zkb_phase_aborted(&kl_prog, &b->cfg, op, b->done, b->lost - 1,
                          b->lost ? b->lost_why : NULL);
        return -1;
    }

    ph.nlat = b->nlat;
    ph.t_end_ns = b->t_end_ns;
    ph.errors = b->errors;
    ph.first_rc = b->first_rc;
    ph.first_str = kl_rc_str(b->first_rc);
    ph.first_sess = b->first_sess;
    ph.first_idx = b->first_idx;
    zkb_phase_report(&kl_prog, &b->cfg, &ph);
    /* A lost connection after the last reply still counts against the next phase. */
    return 0;
}

/* Sends closeSession on every session and waits (bounded) for the replies or EOF. */
static void kl_close_all(kl_bench *b)
{
    int64_t now = zkb_now_ns(), deadline = now + (int64_t)KL_CLOSE_SECS * 1000000000;
    for (int k = 0; k < b->cfg.nsess; k++) {
        kl_conn *c = &b->conns[k];
        if (c->st != KL_C_READY)
            continue;
        int32_t xid = c->next_xid++;
        size_t off = kl_frame_begin(c, xid, KL_ZOP_CLOSE, now);
        kl_frame_end(c, off);
        kl_push(c, xid, KL_P_CLOSE, 0, now);
        c->st = KL_C_CLOSING;
        kl_flush(b, c);
    }
    for (;;) {
        int open = 0;
        for (int k = 0; k < b->cfg.nsess; k++)
            open += b->conns[k].st != KL_C_CLOSED;
        if (!open)
            break;
        if (zkb_now_ns() > deadline) {
            if (b->cfg.verbose)
                fprintf(stderr, "zkload: %d sessions did not confirm closeSession within %d s\n",
                        open, KL_CLOSE_SECS);
            break;
        }
        kl_poll(b, ZKB_WAIT_SLICE_MS);
    }
    for (int k = 0; k < b->cfg.nsess; k++)
        kl_conn_close(b, &b->conns[k]);
}

static int kl_init(kl_bench *b)
{
    b->ep = epoll_create1(EPOLL_CLOEXEC);
    if (b->ep < 0) {
        fprintf(stderr, "zkload: epoll_create1: %s\n", strerror(errno));
        return -1;
    }
    b->max_frame = (size_t)b->cfg.data_len + KL_FRAME_SLACK;
    b->scratch_cap = b->max_frame + 4 + KL_READ_CHUNK;
    b->scratch = malloc(b->scratch_cap);
    b->data = zkb_make_data(&b->cfg);
    b->conns = calloc((size_t)b->cfg.nsess, sizeof *b->conns);
    b->lat = malloc((size_t)b->cfg.count * sizeof *b->lat);
    if (!b->scratch || !b->data || !b->conns || !b->lat)
        goto oom;
    for (int k = 0; k < b->cfg.nsess; k++) {
        kl_conn *c = &b->conns[k];
        int n;
        c->id = k;
        c->fd = -1;
        c->st = KL_C_CLOSED;
        c->out = KZ_WR_INIT;
        c->next_xid = 1;
        c->quota = zkb_quota(&b->cfg, k);
        c->cap = (unsigned)b->cfg.outstanding + 2;   /* + a set-up request, + closeSession */
        c->ring = calloc(c->cap, sizeof *c->ring);
        if (!c->ring)
            goto oom;
        n = snprintf(c->prefix, sizeof c->prefix, "%s/s%d-", b->cfg.root, k);
        c->prefix_len = (size_t)n;
    }
    return 0;
oom:
    fprintf(stderr, "zkload: out of memory\n");
    return -1;
}

int main(int argc, char **argv)
{
    static kl_bench bench;     /* static: zero-initialised */
    kl_bench *b = &bench;

    if (zkb_parse_args(&b->cfg, &kl_prog, argc, argv) || kl_init(b))
        return 1;
    zkb_print_header(&kl_prog, &b->cfg);
    if (kl_connect_all(b) || zkb_root_walk(&b->cfg, kl_root_create_one, b))
        return 1;

    for (int op = 0; op < ZKB_OP__NUM; op++) {
        if (!b->cfg.phase_on[op])
            continue;
        if (kl_phase_run(b, (zkb_op)op))
            return 2;
    }

    if (b->cfg.phase_on[ZKB_OP_DELETE])
        (void)kl_ctrl(b, KL_ZOP_DELETE, b->cfg.root, false);   /* best effort */
    kl_close_all(b);
    printf("# zkload done: %ld pings sent\n", b->pings);
    for (int k = 0; k < b->cfg.nsess; k++) {
        kz_wr_free(&b->conns[k].out);
        free(b->conns[k].carry);
        free(b->conns[k].ring);
    }
    free(b->conns);
    free(b->scratch);
    free(b->data);
    free(b->lat);
    close(b->ep);
    return 0;
}
