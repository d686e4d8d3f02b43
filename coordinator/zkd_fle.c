/* coordinator/zkd_fle.c -- the election port (QuorumCnxManager) and Fast
 * Leader Election (FastLeaderElection.lookForLeader + WorkerReceiver) of
 * ZooKeeper 3.8, on the loop thread (see zkd_fle.h).
 *
 * Wire (big-endian):
 *   connection header, sent once by the initiator:
 *     long -65536 (V1; -65535 = V2 accepted), long sid, int len (1..2048),
 *     len bytes "host:port" of its election address ('|'-joined in V2);
 *     legacy: a first long >= 0 is the sid and nothing follows.
 *   then frames in both directions: int len (1..512 KiB) + notification
 *     {int state, long leader, long zxid, long electionEpoch, long peerEpoch,
 *      int version = 2, int cfgLen, cfgLen bytes of config text}.
 *   The config text is QuorumMaj.toString() of the static configuration:
 *     "server.N=host:quorumPort:electionPort:participant|observer[;chost:cport]\n"
 *     per server in java.util.HashMap<Long,...> iteration order, then
 *     "version=0" (no newline). The ";chost:cport" part appears only when the
 *     server.N line had a client part (";port" alone prints as 0.0.0.0).
 *
 * Connections (one usable per pair of servers: the one the larger sid opened):
 *
 *   accept -> HELLO --header, sid > mine---------------------> OPEN
 *                  \--header, sid < mine: close, dial back--> (closed)
 *   dial   -> DIALING --connected, header sent, sid < mine---> OPEN
 *                    \--connected, header sent, sid > mine--> LINGER --flushed--> (closed)
 *
 * A peer has at most one OPEN conn (peer->conn) and one DIALING (peer->dial).
 * Messages to a peer without a usable conn wait in peer->pending (capacity
 * one: the newest replaces the older, as QuorumCnxManager's SEND_CAPACITY);
 * when a conn opens it carries the pending message, or else the last one
 * sent (SendWorker does the same, so a notification lost with a dropped
 * connection is repeated).
 *
 * Election (one round per zkd_fle_look; "recvset" and "outofelection" are the
 * recv/oute slots of the voter peers, self included):
 *
 *   LOOKING --quorum agrees with proposal--> finalizing (200 ms quiet)
 *      ^  \                                   |  better notification: back
 *      |   \--FOLLOWING/LEADING quorum + checkLeader--> decided
 *      |                                      v
 *   zkd_fle_look <----------------- FOLLOWING / LEADING / OBSERVING
 *
 * Our own notifications reach us through a queue drained by an event, as
 * QuorumCnxManager loops them back through its receive queue; decided() is
 * also called from an event, never from inside a read callback, so it may
 * call zkd_fle_look or zkd_fle_free.
 * Invariants: peer->conn is OPEN and peer->dial is DIALING; every conn is in
 * f->conns; finalizing implies LOOKING; timers run only while LOOKING.
 * Locality: loop thread only. */
#include "zkd_fle.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kz_buf.h"
#include "kz_log.h"
#include "kz_time.h"
#include "kz_vec.h"

#define ZKD_FLE_COMP "FastLeaderElection"
#define ZKD_QCM_COMP "QuorumCnxManager"

#define ZKD_FLE_PROTO_V1     (-65536LL)     /* PROTOCOL_VERSION_V1 */
#define ZKD_FLE_PROTO_V2     (-65535LL)     /* PROTOCOL_VERSION_V2 (multi-address) */
#define ZKD_FLE_MAX_ADDR     2048           /* QuorumCnxManager.maxBuffer */
#define ZKD_FLE_MAX_PACKET   (512 * 1024)   /* PACKETMAXSIZE */
#define ZKD_FLE_VERSION      2              /* Notification.CURRENTVERSION */
#define ZKD_FLE_FINALIZE_MS  200            /* finalizeWait */
#define ZKD_FLE_MIN_NOTIF_MS 200            /* minNotificationInterval */
#define ZKD_FLE_MAX_NOTIF_MS 60000          /* maxNotificationInterval */
#define ZKD_FLE_RECONNECT_MS 1000           /* redial of unconnected voters while LOOKING */
#define ZKD_FLE_DIAL_GAP_MS  100            /* at most one dial per peer per gap (on send) */
#define ZKD_FLE_CONNECT_MS   5000           /* cnxTO */
#define ZKD_FLE_OUT_HIGH     (256 * 1024)   /* queued output above which messages wait as pending */
#define ZKD_FLE_OBSERVER_ID  INT64_MAX      /* QuorumPeer.OBSERVER_ID (legacy observers) */

typedef enum { ZKD_FC_DIALING, ZKD_FC_HELLO, ZKD_FC_OPEN, ZKD_FC_LINGER } zkd_fle_cstate;

typedef struct zkd_fle_peer zkd_fle_peer;

typedef struct zkd_fle_conn {
    zkd_fle *f;
    struct bufferevent *bev;
    zkd_fle_cstate st;
    int64_t sid;           /* known once the header is read (accepted) or from the peer (dialed) */
    zkd_fle_peer *peer;    /* NULL: a sid that is not in our configuration */
    char addr[320];        /* "/host:port" of the other end, for logs */
    struct zkd_fle_conn *prev, *next;
} zkd_fle_conn;

typedef struct zkd_fle_vote {
    int64_t id, zxid, election_epoch, peer_epoch;
    int32_t version;
    zkd_peer_state state;
} zkd_fle_vote;

typedef struct zkd_fle_slot {
    bool set;
    zkd_fle_vote v;
} zkd_fle_slot;

struct zkd_fle_peer {
    int64_t sid;
    const zkd_server_def *def;
    bool voter;            /* participant */
    bool self;
    zkd_fle_conn *conn;    /* OPEN, usable */
    zkd_fle_conn *dial;    /* DIALING */
    uint8_t *pending;      /* framed message waiting for a conn (owned) */
    size_t pending_len;
    uint8_t *last;         /* last framed message written (owned) */
    size_t last_len;
    int64_t last_dial_ms;
    bool warned;           /* a failed dial was logged at WARN since the last success */
    zkd_fle_slot recv;     /* recvset */
    zkd_fle_slot oute;     /* outofelection */
};

typedef struct zkd_fle_selfmsg {
    int64_t leader, zxid, election_epoch, peer_epoch;
    zkd_peer_state state;
} zkd_fle_selfmsg;

struct zkd_fle {
    struct event_base *base;
    const zkd_config *cfg;
    zkd_fle_decided_fn *decided;
    void *ctx;
    int64_t myid;
    bool participant;
    zkd_fle_peer *peers;   /* one per server.N line, in cfg order (sorted by id); self included */
    size_t npeers, nvoters;
    zkd_fle_peer *me;
    zkd_fle_conn *conns;
    struct evconnlistener *listener;
    struct evdns_base *dns; /* only when a host is not an IP literal */
    char *cfgtext;
    size_t cfgtext_len;
    char my_addr[300];     /* "host:port" sent in the connection header */
    int64_t observer_counter;
    /* election */
    zkd_peer_state state;
    bool started;          /* zkd_fle_look was called at least once */
    bool finalizing;
    int64_t clock;         /* logicalclock */
    int64_t prop_leader, prop_zxid, prop_epoch;
    int64_t init_zxid, init_epoch;
    zkd_fle_vote cur;      /* the vote we stand by outside a round (QuorumPeer.currentVote) */
    int not_timeout_ms;
    struct event *ev_notify, *ev_finalize, *ev_reconnect, *ev_self, *ev_decided;
    zkd_fle_selfmsg *selfq;
    size_t selfq_n, selfq_cap;
    zkd_peer_state dec_state;
    int64_t dec_leader, dec_epoch;
};

static void zkd_fle_conn_read_cb(struct bufferevent *bev, void *arg);
static void zkd_fle_conn_write_cb(struct bufferevent *bev, void *arg);
static void zkd_fle_conn_event_cb(struct bufferevent *bev, short what, void *arg);
static void zkd_fle_receive(zkd_fle *f, int64_t sid, const zkd_notification *n);

/* ------------------------------------------------------------ helpers */

static const char *zkd_fle_state_name(int32_t st)
{
    static const char *const names[] = { "LOOKING", "FOLLOWING", "LEADING", "OBSERVING" };
    return st >= 0 && st <= 3 ? names[st] : "UNKNOWN";
}

static void zkd_fle_timer(struct event *ev, int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    evtimer_add(ev, &tv);
}

/* Java's zxid >> 32 (arithmetic shift), without relying on the C
 * implementation-defined shift of negative values. */
static int64_t zkd_fle_epoch_of(int64_t zxid)
{
    return zxid < 0 ? ~(~zxid >> 32) : zxid >> 32;
}

/* "host:port", with IPv6 literals bracketed (NetUtils.formatInetAddr). */
static void zkd_fle_fmt_addr(char *buf, size_t len, const char *host, int port)
{
    snprintf(buf, len, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
}

static zkd_fle_peer *zkd_fle_peer_by_sid(const zkd_fle *f, int64_t sid)
{
    for (size_t i = 0; i < f->npeers; i++)
        if (f->peers[i].sid == sid)
            return &f->peers[i];
    return NULL;
}

/* validVoter(): a participant of our (static) configuration. */
static bool zkd_fle_is_voter(const zkd_fle *f, int64_t sid)
{
    const zkd_fle_peer *p = zkd_fle_peer_by_sid(f, sid);
    return p && p->voter;
}

/* ------------------------------------------------------------ wire */

/* Java accepts: 28 bytes (no peerEpoch: derived from the zxid), 40 bytes
 * (peerEpoch, the trailing int ignored), otherwise >= 40 with a version; a
 * version > 1 carries an int config length (0..message length) and the text.
 * Bytes after the config are ignored, as ByteBuffer reads do. */
int zkd_fle_decode(const uint8_t *p, size_t len, zkd_notification *n)
{
    memset(n, 0, sizeof *n);
    if (len < 28)
        return -EBADMSG;
    kz_rd r = kz_rd_init(p, len);
    n->state = kz_rd_i32(&r);
    n->leader = kz_rd_i64(&r);
    n->zxid = kz_rd_i64(&r);
    n->election_epoch = kz_rd_i64(&r);
    if (len == 28) {
        n->peer_epoch = zkd_fle_epoch_of(n->zxid);
        return 0;
    }
    n->peer_epoch = kz_rd_i64(&r);
    if (len == 40)
        return r.err ? -EBADMSG : 0;
    n->version = kz_rd_i32(&r);
    if (!r.err && n->version > 1) {
        int32_t cl = kz_rd_i32(&r);
        if (!r.err && (cl < 0 || (size_t)cl > len))
            r.err = KZ_ECORRUPT;
        const uint8_t *c = r.err ? NULL : kz_rd_take(&r, (size_t)cl);
        if (c) {
            n->config = (const char *)c;
            n->config_len = cl;
        }
    }
    if (r.err) {
        memset(n, 0, sizeof *n);
        return -EBADMSG;
    }
    return 0;
}

/* One framed notification (int32 length first) in a malloc'd buffer, or NULL. */
static uint8_t *zkd_fle_frame(const zkd_fle *f, zkd_peer_state state, int64_t leader, int64_t zxid,
                              int64_t election_epoch, int64_t peer_epoch, size_t *len)
{
    kz_wr w = KZ_WR_INIT;
    kz_wr_i32(&w, 0);
    kz_wr_i32(&w, (int32_t)state);
    kz_wr_i64(&w, leader);
    kz_wr_i64(&w, zxid);
    kz_wr_i64(&w, election_epoch);
    kz_wr_i64(&w, peer_epoch);
    kz_wr_i32(&w, ZKD_FLE_VERSION);
    kz_wr_i32(&w, (int32_t)f->cfgtext_len);
    kz_wr_bytes(&w, f->cfgtext, f->cfgtext_len);
    kz_wr_patch_i32(&w, 0, (int32_t)(w.len - 4));
    if (w.err) {
        kz_wr_free(&w);
        return NULL;
    }
    return kz_wr_steal(&w, len);
}

/* The "version=<hex>" line of a received config text (0 when absent), for
 * the log line only: a static configuration never adopts another. Returns
 * -1 when the value is not hex. */
static int zkd_fle_cfg_version(const char *p, int32_t len, int64_t *out)
{
    *out = 0;
    const char *end = p + len;
    while (p && p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;
        while (p < le && (*p == ' ' || *p == '\t'))
            p++;
        if (le - p > 8 && memcmp(p, "version=", 8) == 0) {
            uint64_t v = 0;
            const char *q = p + 8;
            for (; q < le && *q != '\r'; q++) {
                int d = *q >= '0' && *q <= '9' ? *q - '0'
                      : *q >= 'a' && *q <= 'f' ? *q - 'a' + 10
                      : *q >= 'A' && *q <= 'F' ? *q - 'A' + 10 : -1;
                if (d < 0 || v >> 60)
                    return -1;
                v = v << 4 | (uint64_t)d;
            }
            *out = (int64_t)v;
            return 0;
        }
        p = eol ? eol + 1 : end;
    }
    return 0;
}

/* QuorumMaj.toString() of the static configuration (zkd_config). */
static int zkd_fle_build_cfgtext(zkd_fle *f)
{
    f->cfgtext = zkd_config_membership(f->cfg, &f->cfgtext_len);
    return f->cfgtext ? 0 : -ENOMEM;
}

/* ------------------------------------------------------------ connections */

static zkd_fle_conn *zkd_fle_conn_new(zkd_fle *f, struct bufferevent *bev, zkd_fle_cstate st)
{
    zkd_fle_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->f = f;
    c->bev = bev;
    c->st = st;
    c->sid = -1;
    c->next = f->conns;
    if (f->conns)
        f->conns->prev = c;
    f->conns = c;
    bufferevent_setcb(bev, zkd_fle_conn_read_cb, zkd_fle_conn_write_cb, zkd_fle_conn_event_cb, c);
    return c;
}

/* Unlinks and frees @c (its bufferevent closes the socket). */
static void zkd_fle_conn_close(zkd_fle_conn *c)
{
    zkd_fle *f = c->f;
    if (c->peer) {
        if (c->peer->conn == c)
            c->peer->conn = NULL;
        if (c->peer->dial == c)
            c->peer->dial = NULL;
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        f->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    bufferevent_free(c->bev);
    free(c);
}

/* Writes framed @msg on an OPEN conn. */
static void zkd_fle_conn_write(zkd_fle_conn *c, const uint8_t *msg, size_t len)
{
    bufferevent_write(c->bev, msg, len);
}

static bool zkd_fle_conn_full(const zkd_fle_conn *c)
{
    return evbuffer_get_length(bufferevent_get_output(c->bev)) > ZKD_FLE_OUT_HIGH;
}

/* Sends the pending message of @p if its conn has room; it becomes the last sent. */
static void zkd_fle_peer_flush(zkd_fle_peer *p)
{
    if (!p->pending || !p->conn || zkd_fle_conn_full(p->conn))
        return;
    zkd_fle_conn_write(p->conn, p->pending, p->pending_len);
    free(p->last);
    p->last = p->pending;
    p->last_len = p->pending_len;
    p->pending = NULL;
    p->pending_len = 0;
}

static void zkd_fle_dial(zkd_fle *f, zkd_fle_peer *p, bool force);

/* @c (OPEN) becomes the conn of @p, replacing an older one; it carries the
 * pending message, or repeats the last one sent. */
static void zkd_fle_peer_attach(zkd_fle_peer *p, zkd_fle_conn *c)
{
    if (p->conn && p->conn != c) {
        kz_debug(ZKD_QCM_COMP, "Replacing the connection to server %" PRId64, p->sid);
        zkd_fle_conn_close(p->conn);
    }
    p->conn = c;
    c->peer = p;
    p->warned = false;
    if (p->pending)
        zkd_fle_peer_flush(p);
    else if (p->last)
        zkd_fle_conn_write(c, p->last, p->last_len);
}

/* toSend(): takes ownership of framed @msg. */
static void zkd_fle_peer_send(zkd_fle *f, zkd_fle_peer *p, uint8_t *msg, size_t len)
{
    free(p->pending);
    p->pending = msg;
    p->pending_len = len;
    if (p->conn)
        zkd_fle_peer_flush(p);
    else
        zkd_fle_dial(f, p, false);
}

/* Sends a notification to @sid: ourselves through the loop-back queue, a
 * configured peer through its queue, an unconfigured one only over an OPEN
 * conn it opened to us. */
static void zkd_fle_send(zkd_fle *f, int64_t sid, zkd_peer_state state, int64_t leader, int64_t zxid,
                         int64_t election_epoch, int64_t peer_epoch)
{
    if (sid == f->myid) {
        if (KZ_VEC_RESERVE(f->selfq, f->selfq_cap, f->selfq_n + 1, 8) != 0)
            return;
        f->selfq[f->selfq_n++] = (zkd_fle_selfmsg){ leader, zxid, election_epoch, peer_epoch, state };
        event_active(f->ev_self, EV_TIMEOUT, 1);
        return;
    }
    size_t len;
    uint8_t *msg = zkd_fle_frame(f, state, leader, zxid, election_epoch, peer_epoch, &len);
    if (!msg)
        return;
    zkd_fle_peer *p = zkd_fle_peer_by_sid(f, sid);
    if (p) {
        zkd_fle_peer_send(f, p, msg, len);
        return;
    }
    for (zkd_fle_conn *c = f->conns; c; c = c->next)
        if (c->st == ZKD_FC_OPEN && !c->peer && c->sid == sid) {
            zkd_fle_conn_write(c, msg, len);
            break;
        }
    free(msg);
}

/* A dial failed or a conn broke: the message stays pending (or last) and is
 * sent when a conn opens again. */
static void zkd_fle_dial_failed(zkd_fle_conn *c, const char *why)
{
    zkd_fle_peer *p = c->peer;
    char a[300];
    zkd_fle_fmt_addr(a, sizeof a, p->def->host, p->def->election_port);
    if (!p->warned) {
        kz_warn(ZKD_QCM_COMP, "Cannot open channel to %" PRId64 " at election address /%s: %s", p->sid, a, why);
        p->warned = true;
    } else {
        kz_debug(ZKD_QCM_COMP, "Cannot open channel to %" PRId64 " at election address /%s: %s", p->sid, a, why);
    }
    zkd_fle_conn_close(c);
}

/* connectOne(): starts a non-blocking connect to @p unless it has a conn or
 * a dial in progress; without @force at most one dial per ZKD_FLE_DIAL_GAP_MS. */
static void zkd_fle_dial(zkd_fle *f, zkd_fle_peer *p, bool force)
{
    if (p->self || p->conn || p->dial)
        return;
    int64_t now = kz_mono_ms();
    if (!force && p->last_dial_ms && now - p->last_dial_ms < ZKD_FLE_DIAL_GAP_MS)
        return;
    p->last_dial_ms = now;
    const zkd_server_def *d = p->def;
    char spec[300];
    zkd_fle_fmt_addr(spec, sizeof spec, d->host, d->election_port);
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    bool literal = evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss, &sl) == 0;
    evutil_socket_t fd = -1;
    if (literal) {
        fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            kz_warn(ZKD_QCM_COMP, "Cannot open channel to %" PRId64 ": socket: %s", p->sid, strerror(errno));
            return;
        }
    } else if (!f->dns) {
        kz_warn(ZKD_QCM_COMP, "Cannot open channel to %" PRId64 ": no resolver for %s", p->sid, d->host);
        return;
    }
    struct bufferevent *bev = bufferevent_socket_new(f->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        if (fd >= 0)
            close(fd);
        return;
    }
    zkd_fle_conn *c = zkd_fle_conn_new(f, bev, ZKD_FC_DIALING);
    if (!c) {
        bufferevent_free(bev);
        return;
    }
    c->sid = p->sid;
    c->peer = p;
    p->dial = c;
    snprintf(c->addr, sizeof c->addr, "/%s", spec);
    struct timeval tv = { ZKD_FLE_CONNECT_MS / 1000, (ZKD_FLE_CONNECT_MS % 1000) * 1000 };
    bufferevent_set_timeouts(bev, &tv, &tv); /* a connect times out as a write */
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    kz_debug(ZKD_QCM_COMP, "Opening channel to server %" PRId64, p->sid);
    /* Do not touch @c after this: a failure may be reported (and @c closed) at once. */
    int rc = literal ? bufferevent_socket_connect(bev, (struct sockaddr *)&ss, sl)
                     : bufferevent_socket_connect_hostname(bev, f->dns, AF_UNSPEC, d->host, d->election_port);
    if (rc != 0 && p->dial == c)
        zkd_fle_dial_failed(c, "connect failed");
}

/* Connected: send the header; keep the conn only if our sid is the larger. */
static void zkd_fle_on_connected(zkd_fle_conn *c)
{
    zkd_fle *f = c->f;
    zkd_fle_peer *p = c->peer;
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    p->dial = NULL;
    size_t alen = strlen(f->my_addr);
    uint8_t hdr[20];
    kz_store_be64(hdr, (uint64_t)ZKD_FLE_PROTO_V1);
    kz_store_be64(hdr + 8, (uint64_t)f->myid);
    kz_store_be32(hdr + 16, (uint32_t)alen);
    bufferevent_write(c->bev, hdr, sizeof hdr);
    bufferevent_write(c->bev, f->my_addr, alen);
    if (p->sid > f->myid) {
        kz_info(ZKD_QCM_COMP, "Have smaller server identifier, so dropping the connection: (myId:%" PRId64
                " --> sid:%" PRId64 ")", f->myid, p->sid);
        c->st = ZKD_FC_LINGER; /* closed once the header is flushed (write callback) */
        c->peer = NULL;
        return;
    }
    kz_debug(ZKD_QCM_COMP, "Have larger server identifier, so keeping the connection: (myId:%" PRId64
             " --> sid:%" PRId64 ")", f->myid, p->sid);
    c->st = ZKD_FC_OPEN;
    bufferevent_set_timeouts(c->bev, NULL, NULL);
    zkd_fle_peer_attach(p, c);
}

/* Java's ConfigUtils.getHostAndPort + Integer.parseInt, loosely: the first
 * address of the header must be "host:port" or "[v6]:port". */
static bool zkd_fle_addr_ok(const char *a, size_t n)
{
    const char *bar = memchr(a, '|', n);
    if (bar)
        n = (size_t)(bar - a);
    size_t i = n;
    while (i > 0 && a[i - 1] >= '0' && a[i - 1] <= '9')
        i--;
    return i > 1 && i < n && n - i <= 5 && a[i - 1] == ':';
}

/* The header of an accepted conn is complete: apply the tie-break. Returns
 * 0 when @c stays open, -1 when it was closed. */
static int zkd_fle_hello_done(zkd_fle_conn *c, int64_t sid)
{
    zkd_fle *f = c->f;
    if (sid == ZKD_FLE_OBSERVER_ID) {
        sid = f->observer_counter--;
        kz_info(ZKD_QCM_COMP, "Setting arbitrary identifier to observer: %" PRId64, sid);
    }
    c->sid = sid;
    zkd_fle_peer *p = zkd_fle_peer_by_sid(f, sid);
    if (sid < f->myid) {
        /* The smaller side only dials when it has no conn to us: ours is stale. */
        if (p && p->conn)
            zkd_fle_conn_close(p->conn);
        kz_debug(ZKD_QCM_COMP, "Create new connection to server: %" PRId64, sid);
        zkd_fle_conn_close(c);
        if (p)
            zkd_fle_dial(f, p, true);
        else
            kz_warn(ZKD_QCM_COMP, "Invalid server id: %" PRId64 " ", sid);
        return -1;
    }
    if (sid == f->myid) {
        kz_warn(ZKD_QCM_COMP, "We got a connection request from a server with our own ID. "
                "This should be either a configuration error, or a bug.");
        zkd_fle_conn_close(c);
        return -1;
    }
    c->st = ZKD_FC_OPEN;
    bufferevent_set_timeouts(c->bev, NULL, NULL);
    if (p) {
        zkd_fle_peer_attach(p, c);
    } else {
        for (zkd_fle_conn *o = f->conns, *nx; o; o = nx) {
            nx = o->next;
            if (o != c && o->st == ZKD_FC_OPEN && !o->peer && o->sid == sid)
                zkd_fle_conn_close(o);
        }
    }
    return 0;
}

/* Reads the connection header of an accepted conn. Returns 1 when more
 * bytes are needed, 0 when @c is OPEN, -1 when it was closed. */
static int zkd_fle_hello(zkd_fle_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t have = evbuffer_get_length(in);
    uint8_t h[20];
    if (have < 8)
        return 1;
    evbuffer_copyout(in, h, 8);
    int64_t first = (int64_t)kz_load_be64(h), sid;
    if (first >= 0) { /* legacy: the sid alone */
        evbuffer_drain(in, 8);
        return zkd_fle_hello_done(c, first);
    }
    if (first != ZKD_FLE_PROTO_V1 && first != ZKD_FLE_PROTO_V2) {
        kz_error(ZKD_QCM_COMP, "Initial message parsing error! Got unrecognized protocol version %" PRId64
                 " from %s", first, c->addr);
        zkd_fle_conn_close(c);
        return -1;
    }
    if (have < 20)
        return 1;
    evbuffer_copyout(in, h, 20);
    sid = (int64_t)kz_load_be64(h + 8);
    int32_t alen = (int32_t)kz_load_be32(h + 16);
    if (alen <= 0 || alen > ZKD_FLE_MAX_ADDR) {
        kz_error(ZKD_QCM_COMP, "Initial message parsing error! Unreasonable buffer length: %d from %s", alen,
                 c->addr);
        zkd_fle_conn_close(c);
        return -1;
    }
    if (have < 20 + (size_t)alen)
        return 1;
    const char *a = (const char *)evbuffer_pullup(in, 20 + alen) + 20;
    if (!zkd_fle_addr_ok(a, (size_t)alen)) {
        kz_error(ZKD_QCM_COMP, "Initial message parsing error! Badly formed address: %.*s", (int)alen, a);
        zkd_fle_conn_close(c);
        return -1;
    }
    kz_debug(ZKD_QCM_COMP, "Initial message parsed: sid=%" PRId64 ", electionAddr=%.*s", sid, (int)alen, a);
    evbuffer_drain(in, 20 + (size_t)alen);
    return zkd_fle_hello_done(c, sid);
}

/* Frames of an OPEN conn: a length outside 1..512 KiB or a notification that
 * does not decode closes the conn. */
static void zkd_fle_frames(zkd_fle_conn *c)
{
    zkd_fle *f = c->f;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    for (;;) {
        size_t have = evbuffer_get_length(in);
        uint8_t h[4];
        if (have < 4)
            return;
        evbuffer_copyout(in, h, 4);
        int32_t len = (int32_t)kz_load_be32(h);
        if (len <= 0 || len > ZKD_FLE_MAX_PACKET) {
            kz_warn(ZKD_QCM_COMP, "Connection broken for id %" PRId64 ", my id = %" PRId64
                    ": Received packet with invalid packet: %d", c->sid, f->myid, len);
            zkd_fle_conn_close(c);
            return;
        }
        if (have < 4 + (size_t)len)
            return;
        const uint8_t *p = evbuffer_pullup(in, 4 + (ssize_t)len) + 4;
        zkd_notification n;
        if ((size_t)len < 28) {
            kz_error(ZKD_FLE_COMP, "Got a short response from server %" PRId64 ": %d", c->sid, len);
            zkd_fle_conn_close(c);
            return;
        }
        if (zkd_fle_decode(p, (size_t)len, &n) != 0) {
            kz_warn(ZKD_FLE_COMP, "Skipping the processing of a partial / malformed response message sent by "
                    "sid=%" PRId64 " (message length: %d)", c->sid, len);
            zkd_fle_conn_close(c);
            return;
        }
        /* Handling never closes @c: sends only queue output, decided() is deferred. */
        zkd_fle_receive(f, c->sid, &n);
        evbuffer_drain(in, 4 + (size_t)len);
    }
}

static void zkd_fle_conn_read_cb(struct bufferevent *bev, void *arg)
{
    zkd_fle_conn *c = arg;
    if (c->st == ZKD_FC_HELLO && zkd_fle_hello(c) != 0)
        return;
    if (c->st == ZKD_FC_OPEN)
        zkd_fle_frames(c);
    else
        evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
}

/* Output drained: a LINGER conn has delivered its header; an OPEN one can
 * take the pending message. */
static void zkd_fle_conn_write_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    zkd_fle_conn *c = arg;
    if (c->st == ZKD_FC_LINGER)
        zkd_fle_conn_close(c);
    else if (c->st == ZKD_FC_OPEN && c->peer)
        zkd_fle_peer_flush(c->peer);
}

static void zkd_fle_conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    zkd_fle_conn *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        if (c->st == ZKD_FC_DIALING)
            zkd_fle_on_connected(c);
        return;
    }
    const char *why = what & BEV_EVENT_TIMEOUT ? "timed out"
                    : what & BEV_EVENT_EOF ? "connection closed by peer"
                    : bufferevent_socket_get_dns_error(bev) ? evutil_gai_strerror(bufferevent_socket_get_dns_error(bev))
                    : evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR());
    switch (c->st) {
    case ZKD_FC_DIALING:
        zkd_fle_dial_failed(c, why);
        return;
    case ZKD_FC_HELLO:
        kz_warn(ZKD_QCM_COMP, "Exception reading or writing challenge from %s: %s", c->addr, why);
        break;
    case ZKD_FC_OPEN:
        kz_warn(ZKD_QCM_COMP, "Connection broken for id %" PRId64 ", my id = %" PRId64 ": %s", c->sid,
                c->f->myid, why);
        break;
    case ZKD_FC_LINGER:
        break;
    }
    zkd_fle_conn_close(c);
}

static void zkd_fle_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
    (void)l;
    (void)salen;
    zkd_fle *f = arg;
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        port = ntohs(in6->sin6_port);
    }
    struct bufferevent *bev = bufferevent_socket_new(f->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        close(fd);
        return;
    }
    zkd_fle_conn *c = zkd_fle_conn_new(f, bev, ZKD_FC_HELLO);
    if (!c) {
        bufferevent_free(bev);
        return;
    }
    snprintf(c->addr, sizeof c->addr, "/%s:%d", ip, port);
    kz_info(ZKD_QCM_COMP, "Received connection request from %s", c->addr);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int64_t ms = (int64_t)f->cfg->tick_time * f->cfg->init_limit; /* socketTimeout */
    if (ms <= 0)
        ms = ZKD_FLE_CONNECT_MS;
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
    bufferevent_set_timeouts(bev, &tv, NULL);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void zkd_fle_accept_error(struct evconnlistener *l, void *arg)
{
    (void)l;
    (void)arg;
    kz_warn(ZKD_QCM_COMP, "accept on the election port failed: %s", strerror(errno));
}

/* Binds the election port: our server line's host (resolved once, at start-up),
 * or every address with quorumListenOnAllIPs. */
static int zkd_fle_listen(zkd_fle *f)
{
    const zkd_server_def *me = f->me->def;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", me->election_port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int rc = getaddrinfo(me->host, portstr, &hints, &res);
    if (rc != 0 || !res) {
        kz_error(ZKD_QCM_COMP, "Cannot resolve election address %s: %s", me->host, gai_strerror(rc));
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = (socklen_t)res->ai_addrlen;
    memcpy(&ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (f->cfg->quorum_listen_on_all_ips) {
        if (ss.ss_family == AF_INET6)
            ((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_any;
        else
            ((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_ANY);
    }
    char a[300];
    zkd_fle_fmt_addr(a, sizeof a, f->cfg->quorum_listen_on_all_ips ? (ss.ss_family == AF_INET6 ? "::" : "0.0.0.0")
                                                                   : me->host, me->election_port);
    f->listener = evconnlistener_new_bind(f->base, zkd_fle_accept, f,
                                          LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 64,
                                          (struct sockaddr *)&ss, (int)sl);
    if (!f->listener) {
        kz_error(ZKD_QCM_COMP, "Exception while listening to address %s: %s", a, strerror(errno));
        return -1;
    }
    evconnlistener_set_error_cb(f->listener, zkd_fle_accept_error);
    kz_info(ZKD_QCM_COMP, "%" PRId64 " is accepting connections now, my election bind port: /%s", f->myid, a);
    return 0;
}

/* ------------------------------------------------------------ election */

/* totalOrderPredicate(): higher peerEpoch, then zxid, then sid (QuorumMaj
 * gives every server weight 1, so no vote is excluded by weight). */
static bool zkd_fle_better(int64_t id, int64_t zxid, int64_t epoch, int64_t cid, int64_t czxid, int64_t cepoch)
{
    return epoch > cepoch || (epoch == cepoch && (zxid > czxid || (zxid == czxid && id > cid)));
}

/* Vote.equals(): a LOOKING vote matches on everything; votes of servers out
 * of election match on id and peerEpoch (only id when one of them carries
 * no version, ZOOKEEPER-1732). */
static bool zkd_fle_vote_eq(const zkd_fle_vote *a, const zkd_fle_vote *b)
{
    if (a->state == ZKD_LOOKING || b->state == ZKD_LOOKING)
        return a->id == b->id && a->zxid == b->zxid && a->election_epoch == b->election_epoch &&
               a->peer_epoch == b->peer_epoch;
    if ((a->version > 0) != (b->version > 0))
        return a->id == b->id;
    return a->id == b->id && a->peer_epoch == b->peer_epoch;
}

static zkd_fle_slot *zkd_fle_slot_of(zkd_fle_peer *p, bool oute) { return oute ? &p->oute : &p->recv; }

/* getVoteTracker().hasAllQuorums(): more than half of the voters hold @ref. */
static size_t zkd_fle_agreeing(zkd_fle *f, bool oute, const zkd_fle_vote *ref)
{
    size_t acks = 0;
    for (size_t i = 0; i < f->npeers; i++) {
        zkd_fle_slot *s = zkd_fle_slot_of(&f->peers[i], oute);
        if (f->peers[i].voter && s->set && zkd_fle_vote_eq(ref, &s->v))
            acks++;
    }
    return acks;
}

static bool zkd_fle_has_quorum(zkd_fle *f, bool oute, const zkd_fle_vote *ref)
{
    return zkd_fle_agreeing(f, oute, ref) > f->nvoters / 2;
}

/* checkLeader(): the leader itself must have said LEADING (or, if it is us,
 * the votes must be of our round). */
static bool zkd_fle_check_leader(zkd_fle *f, bool oute, int64_t leader, int64_t election_epoch)
{
    if (leader != f->myid) {
        zkd_fle_peer *p = zkd_fle_peer_by_sid(f, leader);
        zkd_fle_slot *s = p ? zkd_fle_slot_of(p, oute) : NULL;
        return s && s->set && s->v.state == ZKD_LEADING;
    }
    return f->clock == election_epoch;
}

static void zkd_fle_set_slot(zkd_fle *f, int64_t sid, bool oute, zkd_fle_vote v)
{
    zkd_fle_peer *p = zkd_fle_peer_by_sid(f, sid);
    if (p)
        *zkd_fle_slot_of(p, oute) = (zkd_fle_slot){ true, v };
}

static void zkd_fle_clear_slots(zkd_fle *f, bool oute)
{
    for (size_t i = 0; i < f->npeers; i++)
        zkd_fle_slot_of(&f->peers[i], oute)->set = false;
}

/* sendNotifications(): our proposal to every voter, ourselves included. */
static void zkd_fle_send_notifications(zkd_fle *f)
{
    for (size_t i = 0; i < f->npeers; i++) {
        zkd_fle_peer *p = &f->peers[i];
        if (!p->voter)
            continue;
        kz_debug(ZKD_FLE_COMP, "Sending Notification: %" PRId64 " (n.leader), 0x%" PRIx64 " (n.zxid), 0x%" PRIx64
                 " (n.round), %" PRId64 " (recipient), %" PRId64 " (myid), 0x%" PRIx64 " (n.peerEpoch) ",
                 f->prop_leader, (uint64_t)f->prop_zxid, (uint64_t)f->clock, p->sid, f->myid,
                 (uint64_t)f->prop_epoch);
        zkd_fle_send(f, p->sid, ZKD_LOOKING, f->prop_leader, f->prop_zxid, f->clock, f->prop_epoch);
    }
}

static void zkd_fle_update_proposal(zkd_fle *f, int64_t leader, int64_t zxid, int64_t epoch)
{
    kz_debug(ZKD_FLE_COMP, "Updating proposal: %" PRId64 " (newleader), 0x%" PRIx64 " (newzxid), %" PRId64
             " (oldleader), 0x%" PRIx64 " (oldzxid)", leader, (uint64_t)zxid, f->prop_leader, (uint64_t)f->prop_zxid);
    f->prop_leader = leader;
    f->prop_zxid = zxid;
    f->prop_epoch = epoch;
}

static int64_t zkd_fle_init_id(const zkd_fle *f) { return f->participant ? f->myid : INT64_MIN; }

/* Stops everything that belongs to a round (timers, finalizing, the loop-back
 * queue: leaveInstance clears the receive queue). */
static void zkd_fle_stop_round(zkd_fle *f)
{
    evtimer_del(f->ev_notify);
    evtimer_del(f->ev_finalize);
    evtimer_del(f->ev_reconnect);
    event_del(f->ev_self);
    f->finalizing = false;
    f->selfq_n = 0;
}

/* The round is over: @leader won with the given vote. */
static void zkd_fle_decide(zkd_fle *f, int64_t leader, int64_t zxid, int64_t election_epoch, int64_t peer_epoch)
{
    zkd_peer_state st = leader == f->myid ? ZKD_LEADING : f->participant ? ZKD_FOLLOWING : ZKD_OBSERVING;
    zkd_fle_stop_round(f);
    f->state = st;
    f->cur = (zkd_fle_vote){ leader, zxid, election_epoch, peer_epoch, 0, st };
    kz_info(ZKD_FLE_COMP, "About to leave FLE instance: leader=%" PRId64 ", zxid=0x%" PRIx64 ", my id=%" PRId64
            ", my state=%s", leader, (uint64_t)zxid, f->myid, zkd_fle_state_name(st));
    f->dec_state = st;
    f->dec_leader = leader;
    f->dec_epoch = peer_epoch;
    event_active(f->ev_decided, EV_TIMEOUT, 1);
}

/* receivedFollowingNotification() (LEADING ones too: QuorumMaj needs no oracle). */
static void zkd_fle_following(zkd_fle *f, int64_t sid, const zkd_notification *n)
{
    zkd_peer_state st = (zkd_peer_state)n->state;
    zkd_fle_vote ref = { n->leader, n->zxid, n->election_epoch, n->peer_epoch, n->version, st };
    if (n->election_epoch == f->clock) {
        zkd_fle_set_slot(f, sid, false, (zkd_fle_vote){ n->leader, n->zxid, n->election_epoch, n->peer_epoch, 0, st });
        if (zkd_fle_has_quorum(f, false, &ref) && zkd_fle_check_leader(f, false, n->leader, n->election_epoch)) {
            zkd_fle_decide(f, n->leader, n->zxid, n->election_epoch, n->peer_epoch);
            return;
        }
    }
    /* Before joining an established ensemble, a quorum must follow the same leader. */
    zkd_fle_set_slot(f, sid, true, ref);
    if (zkd_fle_has_quorum(f, true, &ref) && zkd_fle_check_leader(f, true, n->leader, n->election_epoch)) {
        f->clock = n->election_epoch;
        zkd_fle_decide(f, n->leader, n->zxid, n->election_epoch, n->peer_epoch);
    }
}

/* One pass of lookForLeader's loop for a notification from voter @sid. */
static void zkd_fle_process(zkd_fle *f, int64_t sid, const zkd_notification *n)
{
    if (f->finalizing) {
        /* Only a better vote interrupts the finalize wait; anything else is
         * dropped and the wait starts over. */
        if (!zkd_fle_better(n->leader, n->zxid, n->peer_epoch, f->prop_leader, f->prop_zxid, f->prop_epoch)) {
            zkd_fle_vote ref = { f->prop_leader, f->prop_zxid, f->clock, f->prop_epoch, 0, ZKD_LOOKING };
            if (n->state == ZKD_LOOKING && n->election_epoch == f->clock)
                zkd_fle_set_slot(f, sid, false,
                                 (zkd_fle_vote){ n->leader, n->zxid, n->election_epoch, n->peer_epoch, 0, ZKD_LOOKING });
            if (zkd_fle_agreeing(f, false, &ref) == f->nvoters) {
                f->finalizing = false; /* every voter agrees: nothing better can come */
                zkd_fle_decide(f, f->prop_leader, f->prop_zxid, f->clock, f->prop_epoch);
                return;
            }
            zkd_fle_timer(f->ev_finalize, ZKD_FLE_FINALIZE_MS);
            return;
        }
        f->finalizing = false;
        evtimer_del(f->ev_finalize);
    }
    zkd_fle_timer(f->ev_notify, f->not_timeout_ms);
    if (!zkd_fle_is_voter(f, n->leader)) {
        kz_warn(ZKD_FLE_COMP, "Ignoring notification for non-cluster member sid %" PRId64 " from sid %" PRId64,
                n->leader, sid);
        return;
    }
    switch (n->state) {
    case ZKD_LOOKING:
        if (f->init_zxid == -1) {
            kz_debug(ZKD_FLE_COMP, "Ignoring notification as our zxid is -1");
            return;
        }
        if (n->zxid == -1) {
            kz_debug(ZKD_FLE_COMP, "Ignoring notification from member with -1 zxid %" PRId64, sid);
            return;
        }
        if (n->election_epoch > f->clock) {
            f->clock = n->election_epoch;
            zkd_fle_clear_slots(f, false);
            if (zkd_fle_better(n->leader, n->zxid, n->peer_epoch, zkd_fle_init_id(f), f->init_zxid, f->init_epoch))
                zkd_fle_update_proposal(f, n->leader, n->zxid, n->peer_epoch);
            else
                zkd_fle_update_proposal(f, zkd_fle_init_id(f), f->init_zxid, f->init_epoch);
            zkd_fle_send_notifications(f);
        } else if (n->election_epoch < f->clock) {
            kz_debug(ZKD_FLE_COMP, "Notification election epoch is smaller than logicalclock. n.electionEpoch = 0x%"
                     PRIx64 ", logicalclock=0x%" PRIx64, (uint64_t)n->election_epoch, (uint64_t)f->clock);
            return;
        } else if (zkd_fle_better(n->leader, n->zxid, n->peer_epoch, f->prop_leader, f->prop_zxid, f->prop_epoch)) {
            zkd_fle_update_proposal(f, n->leader, n->zxid, n->peer_epoch);
            zkd_fle_send_notifications(f);
        }
        zkd_fle_set_slot(f, sid, false,
                         (zkd_fle_vote){ n->leader, n->zxid, n->election_epoch, n->peer_epoch, 0, ZKD_LOOKING });
        zkd_fle_vote ref = { f->prop_leader, f->prop_zxid, f->clock, f->prop_epoch, 0, ZKD_LOOKING };
        if (zkd_fle_agreeing(f, false, &ref) == f->nvoters) {
            /* Every voter of this round proposes the same leader: no better
             * vote can come, so the finalize wait would only cost time. */
            zkd_fle_decide(f, f->prop_leader, f->prop_zxid, f->clock, f->prop_epoch);
        } else if (zkd_fle_has_quorum(f, false, &ref)) {
            f->finalizing = true;
            evtimer_del(f->ev_notify);
            zkd_fle_timer(f->ev_finalize, ZKD_FLE_FINALIZE_MS);
        }
        return;
    case ZKD_OBSERVING:
        kz_debug(ZKD_FLE_COMP, "Notification from observer: %" PRId64, sid);
        return;
    case ZKD_FOLLOWING:
    case ZKD_LEADING:
        zkd_fle_following(f, sid, n);
        return;
    }
}

/* WorkerReceiver: every notification, whatever our state. */
static void zkd_fle_receive(zkd_fle *f, int64_t sid, const zkd_notification *n)
{
    if (!f->started) {
        kz_debug(ZKD_FLE_COMP, "Notification from %" PRId64 " before the first election: ignored", sid);
        return;
    }
    int64_t cfgver = 0;
    if (n->version > 1)
        kz_debug(ZKD_FLE_COMP, "Config from %" PRId64 ": %.*s", sid, (int)n->config_len, n->config ? n->config : "");
    if (n->version > 1 && zkd_fle_cfg_version(n->config, n->config_len, &cfgver) != 0)
        kz_error(ZKD_FLE_COMP, "Something went wrong while processing config received from %" PRId64, sid);
    else if (cfgver > 0)
        kz_debug(ZKD_FLE_COMP, "%" PRId64 " Received version: %" PRIx64 " my version: 0", f->myid, (uint64_t)cfgver);
    if (!zkd_fle_is_voter(f, sid)) {
        /* An observer (or a server we do not know): tell it what we stand by. */
        zkd_fle_send(f, sid, f->state, f->cur.id, f->cur.zxid, f->clock, f->cur.peer_epoch);
        return;
    }
    if (n->state < ZKD_LOOKING || n->state > ZKD_OBSERVING)
        return;
    kz_info(ZKD_FLE_COMP, "Notification: my state:%s; n.sid:%" PRId64 ", n.state:%s, n.leader:%" PRId64
            ", n.round:0x%" PRIx64 ", n.peerEpoch:0x%" PRIx64 ", n.zxid:0x%" PRIx64
            ", message format version:0x%" PRIx32 ", n.config version:0x%" PRIx64,
            zkd_fle_state_name(f->state), sid, zkd_fle_state_name(n->state), n->leader,
            (uint64_t)n->election_epoch, (uint64_t)n->peer_epoch, (uint64_t)n->zxid, (uint32_t)n->version,
            (uint64_t)cfgver);
    if (f->state == ZKD_LOOKING) {
        /* A LOOKING peer in an older round gets our proposal at once. */
        if (n->state == ZKD_LOOKING && n->election_epoch < f->clock)
            zkd_fle_send(f, sid, ZKD_LOOKING, f->prop_leader, f->prop_zxid, f->clock, f->prop_epoch);
        zkd_fle_process(f, sid, n);
    } else if (n->state == ZKD_LOOKING) {
        kz_debug(ZKD_FLE_COMP, "Sending new notification. My id =%" PRId64 " recipient=%" PRId64 " zxid=0x%" PRIx64
                 " leader=%" PRId64 " config version = 0", f->myid, sid, (uint64_t)f->cur.zxid, f->cur.id);
        zkd_fle_send(f, sid, f->state, f->cur.id, f->cur.zxid, f->cur.election_epoch, f->cur.peer_epoch);
    }
}

/* Our own notifications, looped back. */
static void zkd_fle_self_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    zkd_fle *f = arg;
    size_t i = 0;
    /* Processing may queue more (a changed proposal) or end the round (n = 0). */
    while (i < f->selfq_n && f->state == ZKD_LOOKING) {
        zkd_fle_selfmsg m = f->selfq[i++];
        zkd_notification n = { (int32_t)m.state, m.leader, m.zxid, m.election_epoch, m.peer_epoch,
                               ZKD_FLE_VERSION, f->cfgtext, (int32_t)f->cfgtext_len };
        zkd_fle_receive(f, f->myid, &n);
    }
    f->selfq_n = 0;
}

/* No notification for notTimeout: repeat our proposal if a peer's queue is
 * empty (it got the last one), else retry the connections; back off. */
static void zkd_fle_notify_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    zkd_fle *f = arg;
    bool delivered = false;
    for (size_t i = 0; i < f->npeers; i++)
        if (f->peers[i].voter && !f->peers[i].self && !f->peers[i].pending)
            delivered = true;
    if (delivered) {
        zkd_fle_send_notifications(f);
    } else {
        for (size_t i = 0; i < f->npeers; i++)
            if (f->peers[i].voter)
                zkd_fle_dial(f, &f->peers[i], false);
    }
    f->not_timeout_ms = f->not_timeout_ms * 2 < ZKD_FLE_MAX_NOTIF_MS ? f->not_timeout_ms * 2 : ZKD_FLE_MAX_NOTIF_MS;
    kz_info(ZKD_FLE_COMP, "Notification time out: %d ms", f->not_timeout_ms);
    zkd_fle_timer(f->ev_notify, f->not_timeout_ms);
}

static void zkd_fle_finalize_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    zkd_fle *f = arg;
    f->finalizing = false;
    zkd_fle_decide(f, f->prop_leader, f->prop_zxid, f->clock, f->prop_epoch);
}

/* While LOOKING: dial every voter (and anyone we owe a message) without a conn. */
static void zkd_fle_reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    zkd_fle *f = arg;
    for (size_t i = 0; i < f->npeers; i++)
        if (f->peers[i].voter || f->peers[i].pending)
            zkd_fle_dial(f, &f->peers[i], false);
}

static void zkd_fle_decided_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    zkd_fle *f = arg;
    if (f->decided)
        f->decided(f->ctx, f->dec_state, f->dec_leader, f->dec_epoch); /* may free @f: nothing after */
}

/* ------------------------------------------------------------ API */

void zkd_fle_look(zkd_fle *f, int64_t zxid, int64_t current_epoch)
{
    zkd_fle_stop_round(f);
    event_del(f->ev_decided);
    zkd_fle_clear_slots(f, false);
    zkd_fle_clear_slots(f, true);
    if (!f->started) /* QuorumPeer.startLeaderElection: the vote we stand by until a round ends */
        f->cur = (zkd_fle_vote){ f->myid, zxid, -1, current_epoch, 0, ZKD_LOOKING };
    f->started = true;
    f->state = ZKD_LOOKING;
    f->init_zxid = f->participant ? zxid : INT64_MIN;
    f->init_epoch = f->participant ? current_epoch : INT64_MIN;
    f->clock++;
    zkd_fle_update_proposal(f, zkd_fle_init_id(f), f->init_zxid, f->init_epoch);
    kz_info(ZKD_FLE_COMP, "New election. My id = %" PRId64 ", proposed zxid=0x%" PRIx64, f->myid,
            (uint64_t)f->prop_zxid);
    f->not_timeout_ms = ZKD_FLE_MIN_NOTIF_MS;
    zkd_fle_send_notifications(f);
    zkd_fle_timer(f->ev_notify, f->not_timeout_ms);
    zkd_fle_timer(f->ev_reconnect, ZKD_FLE_RECONNECT_MS);
}

void zkd_fle_set_state(zkd_fle *f, zkd_peer_state state)
{
    f->state = state;
    f->cur.state = state;
}

void zkd_fle_update_epoch(zkd_fle *f, int64_t peer_epoch) { f->cur.peer_epoch = peer_epoch; }

zkd_peer_state zkd_fle_state(const zkd_fle *f) { return f->state; }

zkd_fle *zkd_fle_new(struct event_base *base, const zkd_config *cfg, zkd_fle_decided_fn *decided, void *ctx)
{
    const zkd_server_def *self = zkd_config_self(cfg);
    if (!self || cfg->n_servers == 0) {
        kz_error(ZKD_QCM_COMP, "No server.%" PRId64 " line: leader election needs the server list", cfg->myid);
        return NULL;
    }
    zkd_fle *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->base = base;
    f->cfg = cfg;
    f->decided = decided;
    f->ctx = ctx;
    f->myid = cfg->myid;
    f->participant = !self->observer;
    f->state = ZKD_LOOKING;
    f->observer_counter = -1;
    f->not_timeout_ms = ZKD_FLE_MIN_NOTIF_MS;
    zkd_fle_fmt_addr(f->my_addr, sizeof f->my_addr, self->host, self->election_port);
    f->peers = calloc(cfg->n_servers, sizeof *f->peers);
    if (!f->peers)
        goto fail;
    f->npeers = cfg->n_servers;
    bool need_dns = false;
    for (size_t i = 0; i < cfg->n_servers; i++) {
        zkd_fle_peer *p = &f->peers[i];
        const zkd_server_def *d = &cfg->servers[i];
        p->sid = d->id;
        p->def = d;
        p->voter = !d->observer;
        p->self = d->id == f->myid;
        if (p->self)
            f->me = p;
        f->nvoters += p->voter;
        struct sockaddr_storage ss;
        int sl = sizeof ss;
        char spec[300];
        zkd_fle_fmt_addr(spec, sizeof spec, d->host, d->election_port);
        if (!p->self && evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss, &sl) != 0)
            need_dns = true;
    }
    if (zkd_fle_build_cfgtext(f) != 0)
        goto fail;
    if (need_dns && !(f->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS)))
        kz_warn(ZKD_QCM_COMP, "No DNS resolver: servers given by host name are unreachable");
    f->ev_notify = evtimer_new(base, zkd_fle_notify_cb, f);
    f->ev_finalize = evtimer_new(base, zkd_fle_finalize_cb, f);
    f->ev_reconnect = event_new(base, -1, EV_PERSIST, zkd_fle_reconnect_cb, f);
    f->ev_self = event_new(base, -1, 0, zkd_fle_self_cb, f);
    f->ev_decided = event_new(base, -1, 0, zkd_fle_decided_cb, f);
    if (!f->ev_notify || !f->ev_finalize || !f->ev_reconnect || !f->ev_self || !f->ev_decided)
        goto fail;
    if (zkd_fle_listen(f) != 0)
        goto fail;
    return f;
fail:
    zkd_fle_free(f);
    return NULL;
}

void zkd_fle_free(zkd_fle *f)
{
    if (!f)
        return;
    while (f->conns)
        zkd_fle_conn_close(f->conns);
    if (f->listener)
        evconnlistener_free(f->listener);
    if (f->dns)
        evdns_base_free(f->dns, 0);
    struct event *evs[] = { f->ev_notify, f->ev_finalize, f->ev_reconnect, f->ev_self, f->ev_decided };
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
        if (evs[i])
            event_free(evs[i]);
    for (size_t i = 0; i < f->npeers; i++) {
        free(f->peers[i].pending);
        free(f->peers[i].last);
    }
    free(f->peers);
    free(f->selfq);
    free(f->cfgtext);
    free(f);
}
