/* coordinator/zkd_cnxn.c -- client connections on clientPort.
 *
 * Wire: every frame is int32 length + jute bytes (lengths above
 * jute.maxbuffer or negative close the connection). The first frame is a
 * ConnectRequest (+ optional readOnly byte), unless its first four bytes
 * spell a four-letter word, which is answered in plain text.
 *
 * Four-letter words close cleanly: after the reply is written we shut down
 * our sending side and keep reading until the client closes, so a client
 * that sent "stat\n" never sees a reset caused by an unread newline.
 *
 * Each connection keeps its unanswered requests in arrival order; the head
 * decides what can be answered (see zkd_server.h). Reading pauses while the
 * handshake is pending or too many requests are queued.
 * Locality: zkd loop thread only. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kz_log.h"
#include "kz_time.h"
#include "zkd_quorum.h"
#include "zkd_server.h"

#define ZKD_COMP       "NIOServerCnxn"
#define ZKD_QUEUE_HIGH 1000 /* per-connection requests before reading pauses */
#define ZKD_QUEUE_LOW  500
#define ZKD_SESSIONLESS_TIMEOUT_S 10
#define ZKD_LINGER_S   2

static void zkd_cnxn_read_cb(struct bufferevent *bev, void *arg);

static uint64_t zkd_ip_key(const char *ip)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *ip; ip++)
        h = (h ^ (uint8_t)*ip) * 1099511628211ULL;
    return h;
}

static void zkd_cnxn_send_frame(zkd_conn *c, kz_wr *w)
{
    zkd_server *s = c->srv;
    if (w->err || w->len < 4)
        return;
    kz_store_be32(w->base, (uint32_t)(w->len - 4));
    bufferevent_write(c->bev, w->base, w->len);
    int64_t size = (int64_t)w->len - 4;
    s->stats.last_resp_size = size;
    if (s->stats.min_resp_size < 0 || size < s->stats.min_resp_size)
        s->stats.min_resp_size = size;
    if (size > s->stats.max_resp_size)
        s->stats.max_resp_size = size;
}

/* Frames ReplyHeader + a body produced by @rec/@body or @raw into the
 * server's scratch writer and queues it on @c. */
static void zkd_cnxn_reply_any(zkd_conn *c, int32_t xid, int64_t zxid, int32_t err, const kz_jrec *rec,
                               const void *body, const uint8_t *raw, size_t len)
{
    if (c->closing && !c->session)
        return;
    kz_wr *w = &c->srv->out;
    w->len = 0;
    w->err = 0;
    kz_wr_i32(w, 0);
    zkd_ReplyHeader h = { xid, zxid, err };
    zkd_encode(ReplyHeader, &h, w);
    if (!err && rec)
        kz_jute_encode(rec, body, w);
    else if (raw && len)
        kz_wr_bytes(w, raw, len);
    if (w->err) { /* out of memory: say so rather than send half a reply */
        w->len = 0;
        w->err = 0;
        kz_wr_i32(w, 0);
        h.err = ZKD_ERR_SYSTEMERROR;
        zkd_encode(ReplyHeader, &h, w);
    }
    zkd_cnxn_send_frame(c, w);
    c->packets_sent++;
    c->srv->stats.packets_sent++;
    c->last_zxid = zxid;
    c->last_resp_ms = kz_wall_ms();
}

void zkd_cnxn_reply_raw(zkd_conn *c, int32_t xid, int64_t zxid, int32_t err, const uint8_t *body, size_t len)
{
    zkd_cnxn_reply_any(c, xid, zxid, err, NULL, NULL, body, len);
}

void zkd_cnxn_reply(zkd_conn *c, int32_t xid, int64_t zxid, int32_t err, const kz_jrec *rec, const void *body)
{
    zkd_cnxn_reply_any(c, xid, zxid, err, rec, body, NULL, 0);
}

void zkd_cnxn_send_event(zkd_conn *c, int type, const char *path, uint32_t len)
{
    kz_wr *w = &c->srv->out;
    w->len = 0;
    w->err = 0;
    kz_wr_i32(w, 0);
    zkd_ReplyHeader h = { ZKD_XID_NOTIFICATION, -1, 0 };
    zkd_encode(ReplyHeader, &h, w);
    zkd_WatcherEvent ev = { type, ZKD_STATE_SYNC_CONNECTED, { path, (int32_t)len } };
    zkd_encode(WatcherEvent, &ev, w);
    zkd_cnxn_send_frame(c, w);
    c->packets_sent++;
    c->srv->stats.packets_sent++;
}

void zkd_cnxn_add_auth(zkd_conn *c, const char *scheme, const char *id)
{
    for (uint32_t i = 0; i < c->nauth; i++)
        if (strcmp(c->auth[i].scheme, scheme) == 0 && strcmp(c->auth[i].id, id) == 0)
            return;
    zkd_auth_id *a = realloc(c->auth, (c->nauth + 1) * sizeof *a);
    if (!a)
        return;
    c->auth = a;
    a[c->nauth].scheme = strdup(scheme);
    a[c->nauth].id = strdup(id);
    if (!a[c->nauth].scheme || !a[c->nauth].id) {
        free(a[c->nauth].scheme);
        free(a[c->nauth].id);
        return;
    }
    c->nauth++;
}

static void zkd_cnxn_free(zkd_conn *c)
{
    zkd_server *s = c->srv;
    if (c->throttled)
        s->nthrottled--;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    uint64_t cnt;
    uint64_t key = zkd_ip_key(c->peer_ip);
    if (kz_map_get(&s->conns_per_ip, (int64_t)key, &cnt)) {
        if (cnt <= 1)
            kz_map_del(&s->conns_per_ip, (int64_t)key, NULL);
        else
            kz_map_put(&s->conns_per_ip, (int64_t)key, cnt - 1);
    }
    for (uint32_t i = 0; i < c->nauth; i++) {
        free(c->auth[i].scheme);
        free(c->auth[i].id);
    }
    free(c->auth);
    if (c->bev)
        bufferevent_free(c->bev);
    free(c);
}

/* Detaches @c from its session, watches and queued requests, then frees it
 * once its output has drained (or at once if @now). */
static void zkd_cnxn_detach(zkd_conn *c)
{
    zkd_server *s = c->srv;
    if (c->session && c->session->conn == c)
        c->session->conn = NULL;
    c->session = NULL;
    if (c->revalidating && s->q && s->q->learner)
        zkd_learner_conn_gone(s->q->learner, c);
    c->revalidating = false;
    zkd_watch_remove_watcher(s->watches, c);
    zkd_req *r = c->qhead;
    while (r) {
        zkd_req *next = r->next;
        s->outstanding--;
        if (r->is_txn && !r->applied)
            r->conn = NULL; /* still in the txn queue: freed when applied */
        else
            zkd_req_free(r);
        r = next;
    }
    c->qhead = c->qtail = NULL;
    c->qlen = 0;
}

void zkd_cnxn_close_clients(zkd_server *s)
{
    for (zkd_conn *c = s->conns; c; c = c->next)
        if (!c->closing && !c->flw)
            zkd_cnxn_close(c, "the server left the serving state");
}

void zkd_cnxn_close_all(zkd_server *s)
{
    while (s->conns) {
        zkd_conn *c = s->conns;
        if (!c->closing)
            zkd_cnxn_detach(c);
        zkd_cnxn_free(c);
    }
}

static void zkd_cnxn_free_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    zkd_cnxn_free(arg);
}

/* Frees @c on the next loop turn, never inside a call chain that may still
 * hold it. Its bufferevent stops calling back at once. */
static void zkd_cnxn_schedule_free(zkd_conn *c)
{
    if (c->free_scheduled)
        return;
    c->free_scheduled = true;
    bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    struct timeval now = { 0, 0 };
    if (event_base_once(c->srv->base, -1, EV_TIMEOUT, zkd_cnxn_free_cb, c, &now) != 0)
        kz_error(ZKD_COMP, "cannot schedule the release of connection %s", c->peer_str);
}

/* Output drained on a closing connection: send FIN, then keep reading (and
 * discarding) until the client closes too, for at most ZKD_LINGER_S. Closing
 * with unread input would make the kernel send a reset, and a reset can
 * destroy the last reply before the client reads it. */
static void zkd_cnxn_linger(zkd_conn *c)
{
    if (c->lingering || c->free_scheduled)
        return;
    c->lingering = true;
    shutdown(bufferevent_getfd(c->bev), SHUT_WR);
    struct timeval tv = { ZKD_LINGER_S, 0 };
    bufferevent_set_timeouts(c->bev, &tv, NULL);
    bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
    bufferevent_enable(c->bev, EV_READ);
}

static void zkd_cnxn_write_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    zkd_conn *c = arg;
    if (c->closing)
        zkd_cnxn_linger(c);
}

void zkd_cnxn_close(zkd_conn *c, const char *why)
{
    if (c->closing)
        return;
    kz_debug(ZKD_COMP, "Closing connection %s: %s", c->peer_str, why);
    zkd_cnxn_detach(c);
    c->closing = true;
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        zkd_cnxn_linger(c);
    /* else zkd_cnxn_write_cb lingers once the output has drained */
}

static void zkd_cnxn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    zkd_conn *c = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        if (!c->closing)
            zkd_cnxn_detach(c);
        c->closing = true;
        zkd_cnxn_schedule_free(c);
    }
}

/* ------------------------------------------------------------- handshake */

static void zkd_cnxn_connect_fail(zkd_conn *c)
{
    static const uint8_t zero[16];
    zkd_ConnectResponse r = { 0, 0, 0, { (const char *)zero, 16 } };
    kz_wr w = KZ_WR_INIT;
    kz_wr_i32(&w, 0);
    zkd_encode(ConnectResponse, &r, &w);
    if (c->ro_flag_sent)
        kz_wr_u8(&w, 0);
    zkd_cnxn_send_frame(c, &w);
    kz_wr_free(&w);
    zkd_cnxn_close(c, "session expired or invalid");
}

static void zkd_cnxn_attach(zkd_conn *c, zkd_session *se, int32_t timeout);

static void zkd_cnxn_handshake(zkd_conn *c, const uint8_t *p, size_t len)
{
    zkd_server *s = c->srv;
    kz_arena a = KZ_ARENA_INIT;
    kz_rd r = kz_rd_init(p, len);
    zkd_ConnectRequest cr;
    if (zkd_decode(ConnectRequest, &r, &cr, &a) || cr.passwd.len > 64) {
        kz_arena_reset(&a);
        zkd_cnxn_close(c, "malformed ConnectRequest");
        return;
    }
    c->ro_flag_sent = kz_rd_left(&r) >= 1;
    if (!s->serving) {
        kz_arena_reset(&a);
        zkd_cnxn_close(c, "ZooKeeperServer not running");
        return;
    }
    int64_t last = zkd_dt_last_zxid(s->dt);
    if (cr.lastZxidSeen > last) {
        kz_info("ZooKeeperServer", "Refusing session request for client %s as it has seen zxid 0x%llx our last zxid is 0x%llx client must try another server",
                c->peer_str, (unsigned long long)cr.lastZxidSeen, (unsigned long long)last);
        kz_arena_reset(&a);
        zkd_cnxn_close(c, "client is ahead");
        return;
    }
    int32_t timeout = zkd_session_negotiate(s, cr.timeOut);
    bufferevent_set_timeouts(c->bev, NULL, NULL);
    if (cr.sessionId == 0) {
        zkd_req *req = calloc(1, sizeof *req);
        if (!req) {
            kz_arena_reset(&a);
            zkd_cnxn_close(c, "out of memory");
            return;
        }
        req->type = ZKD_OP_CREATE_SESSION;
        req->session_id = zkd_session_next_id(s);
        req->connect = cr;
        req->connect.passwd = KZ_STR_NULL;
        req->connect.timeOut = timeout;
        req->conn = c;
        req->recv_us = kz_mono_us();
        req->is_txn = true;
        kz_arena_reset(&a);
        c->qhead = c->qtail = req;
        c->qlen = 1;
        s->outstanding++;
        bufferevent_disable(c->bev, EV_READ); /* nothing else until connected */
        if (zkd_server_submit(s, req, NULL, 0)) {
            zkd_cnxn_close(c, "cannot create session");
            return;
        }
        return;
    }
    zkd_session *se = zkd_session_get(s, cr.sessionId);
    /* Like ZooKeeper, a ConnectRequest naming a session closes the session's
     * current connection before the password is checked. */
    if (se && se->conn && se->conn != c)
        zkd_cnxn_close(se->conn, "session reconnecting on a new connection");
    uint8_t pw[16];
    zkd_session_passwd(cr.sessionId, pw);
    bool pw_ok = cr.passwd.len == 16 && memcmp(cr.passwd.s, pw, 16) == 0;
    kz_arena_reset(&a);
    if (pw_ok && s->q && s->q->learner) {
        /* Learner.validateSession: the leader owns the session table. */
        c->revalidating = true;
        c->reval_timeout = timeout;
        bufferevent_disable(c->bev, EV_READ);
        zkd_learner_revalidate(s->q->learner, c, cr.sessionId, timeout);
        return;
    }
    if (!pw_ok || !se || se->closing) {
        kz_info("ZooKeeperServer", "Invalid session 0x%llx for client %s, probably expired",
                (unsigned long long)cr.sessionId, c->peer_str);
        zkd_cnxn_connect_fail(c);
        return;
    }
    zkd_cnxn_attach(c, se, timeout);
}

void zkd_cnxn_revalidated(zkd_conn *c, int64_t sid, bool valid)
{
    zkd_server *s = c->srv;
    c->revalidating = false;
    zkd_session *se = valid ? zkd_session_get(s, sid) : NULL;
    if (valid && !se)
        se = zkd_session_add(s, sid, c->reval_timeout); /* its createSession is not applied here yet */
    if (!se || se->closing) {
        kz_info("ZooKeeperServer", "Invalid session 0x%llx for client %s, probably expired", (unsigned long long)sid,
                c->peer_str);
        zkd_cnxn_connect_fail(c);
        return;
    }
    if (se->conn && se->conn != c)
        zkd_cnxn_close(se->conn, "session reconnecting on a new connection");
    bufferevent_enable(c->bev, EV_READ);
    zkd_cnxn_attach(c, se, c->reval_timeout);
    if (evbuffer_get_length(bufferevent_get_input(c->bev)))
        zkd_cnxn_read_cb(c->bev, c);
}

/* Finishes a reconnect: @c now carries session @se. */
static void zkd_cnxn_attach(zkd_conn *c, zkd_session *se, int32_t timeout)
{
    zkd_server *s = c->srv;
    uint8_t pw[16];
    zkd_session_passwd(se->id, pw);
    se->conn = c;
    se->timeout = timeout;
    zkd_session_touch(s, se);
    c->session = se;
    c->handshake_done = true;
    zkd_ConnectResponse resp = { 0, timeout, se->id, { (const char *)pw, 16 } };
    kz_wr w = KZ_WR_INIT;
    kz_wr_i32(&w, 0);
    zkd_encode(ConnectResponse, &resp, &w);
    if (c->ro_flag_sent)
        kz_wr_u8(&w, 0);
    zkd_cnxn_send_frame(c, &w);
    kz_wr_free(&w);
    c->packets_sent++;
    s->stats.packets_sent++;
    kz_info("ZooKeeperServer", "Established session 0x%llx with negotiated timeout %d for client %s",
            (unsigned long long)se->id, timeout, c->peer_str);
}

/* -------------------------------------------------------------- requests */

/* globalOutstandingLimit: past it, connections that send stop being read
 * until the server has answered enough (ZooKeeper's throttling). */
static bool zkd_cnxn_over_global(const zkd_server *s)
{
    return s->outstanding >= (size_t)s->cfg->global_outstanding_limit;
}

/* Resumes the connections paused by the global limit once it has room. */
static void zkd_cnxn_unthrottle(zkd_server *s)
{
    if (!s->nthrottled || zkd_cnxn_over_global(s))
        return;
    for (zkd_conn *c = s->conns; c && s->nthrottled; c = c->next) {
        if (!c->throttled)
            continue;
        c->throttled = false;
        s->nthrottled--;
        if (!c->closing && c->qlen < ZKD_QUEUE_HIGH) {
            bufferevent_enable(c->bev, EV_READ);
            zkd_cnxn_read_cb(c->bev, c);
        }
    }
}

void zkd_cnxn_pump(zkd_conn *c)
{
    zkd_server *s = c->srv;
    while (c->qhead && !c->qhead->is_txn && !c->closing) {
        zkd_req *req = c->qhead;
        c->qhead = req->next;
        if (!c->qhead)
            c->qtail = NULL;
        c->qlen--;
        s->outstanding--;
        zkd_final_read(s, req);
        int64_t lat = (kz_mono_us() - req->recv_us) / 1000;
        zkd_lat_add(&c->lat, lat);
        zkd_lat_add(&s->stats.lat, lat);
        c->last_latency = lat;
        zkd_req_free(req);
    }
    if (!c->closing && c->handshake_done && c->qlen < ZKD_QUEUE_LOW && !zkd_cnxn_over_global(s) &&
        !(bufferevent_get_enabled(c->bev) & EV_READ)) {
        c->throttled = false;
        bufferevent_enable(c->bev, EV_READ);
        zkd_cnxn_read_cb(c->bev, c); /* frames already buffered */
    }
    zkd_cnxn_unthrottle(s);
}

static void zkd_cnxn_enqueue(zkd_conn *c, zkd_req *req)
{
    if (c->qtail)
        c->qtail->next = req;
    else
        c->qhead = req;
    c->qtail = req;
    c->qlen++;
    c->srv->outstanding++;
}

static void zkd_cnxn_request(zkd_conn *c, const uint8_t *p, size_t len)
{
    zkd_server *s = c->srv;
    kz_rd r = kz_rd_init(p, len);
    int32_t xid = kz_rd_i32(&r), type = kz_rd_i32(&r);
    if (r.err) {
        zkd_cnxn_close(c, "short request header");
        return;
    }
    if (!c->session) {
        zkd_cnxn_close(c, "request on a closed session");
        return;
    }
    zkd_session_touch(s, c->session);
    if (type == ZKD_OP_AUTH) {
        kz_arena a = KZ_ARENA_INIT;
        zkd_AuthPacket ap;
        int err = zkd_decode(AuthPacket, &r, &ap, &a) ? ZKD_ERR_AUTHFAILED
                                                       : zkd_acl_authenticate(s, c, ap.scheme, ap.auth);
        kz_arena_reset(&a);
        zkd_cnxn_reply(c, xid, 0, err, NULL, NULL);
        if (err) {
            s->stats.auth_failed++;
            kz_warn("ZooKeeperServer", "Authentication failed for scheme from %s", c->peer_str);
            zkd_cnxn_close(c, "auth failed");
        }
        return;
    }
    if (type == ZKD_OP_SASL) {
        zkd_cnxn_reply(c, xid, zkd_dt_last_zxid(s->dt), ZKD_ERR_AUTHFAILED, NULL, NULL);
        zkd_cnxn_close(c, "SASL not supported");
        return;
    }
    zkd_req *req = calloc(1, sizeof *req);
    size_t plen = kz_rd_left(&r);
    if (!req || (plen && !(req->payload = malloc(plen)))) {
        free(req);
        zkd_cnxn_close(c, "out of memory");
        return;
    }
    if (plen)
        memcpy(req->payload, r.p, plen);
    req->payload_len = plen;
    req->conn = c;
    req->xid = xid;
    req->type = type;
    req->session_id = c->session->id;
    req->recv_us = kz_mono_us();
    zkd_cnxn_enqueue(c, req);
    if (zkd_prep_is_write(type) && type != ZKD_OP_CREATE_SESSION) {
        snprintf(c->last_op, sizeof c->last_op, "%s",
                 type == ZKD_OP_CREATE || type == ZKD_OP_CREATE2 ? "CREA"
                 : type == ZKD_OP_DELETE                         ? "DELE"
                 : type == ZKD_OP_SET_DATA                       ? "SETD"
                 : type == ZKD_OP_MULTI                          ? "MULT"
                 : type == ZKD_OP_CLOSE_SESSION                  ? "CLOS"
                                                                 : "WRIT");
        c->last_cxid = xid;
        if (type == ZKD_OP_CLOSE_SESSION)
            c->session->closing = true;
        req->is_txn = true; /* answered once its txn is applied */
        if (zkd_server_submit(s, req, c->auth, c->nauth) != 0) {
            req->is_txn = false;
            zkd_cnxn_close(c, "undecodable write request");
            return;
        }
    } else if (type == ZKD_OP_SYNC && s->q) {
        req->is_txn = true;
        if (!zkd_server_sync(s, req)) {
            req->is_txn = false;
            zkd_cnxn_pump(c);
        }
    } else {
        zkd_cnxn_pump(c);
    }
    if (!c->closing && (c->qlen >= ZKD_QUEUE_HIGH || zkd_cnxn_over_global(s))) {
        bufferevent_disable(c->bev, EV_READ);
        if (!c->throttled && zkd_cnxn_over_global(s)) {
            c->throttled = true;
            s->nthrottled++;
        }
    }
}

/* A four-letter word: plain-text reply, then the connection closes. */
static void zkd_cnxn_flw(zkd_conn *c, const char word[4])
{
    zkd_server *s = c->srv;
    kz_wr w = KZ_WR_INIT;
    /* Counted like any packet, as ZooKeeper does (srvr shows them). */
    s->stats.packets_received++;
    s->stats.bytes_received += 4;
    zkd_flw_run(s, c, word, &w);
    s->stats.packets_sent++;
    c->flw = true;
    evbuffer_drain(bufferevent_get_input(c->bev), evbuffer_get_length(bufferevent_get_input(c->bev)));
    if (w.len && !w.err)
        bufferevent_write(c->bev, w.base, w.len);
    kz_wr_free(&w);
    zkd_cnxn_close(c, "four-letter word answered");
}

static void zkd_cnxn_read_cb(struct bufferevent *bev, void *arg)
{
    zkd_conn *c = arg;
    zkd_server *s = c->srv;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (c->closing) { /* lingering before the close: discard */
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    while (!c->closing) {
        size_t avail = evbuffer_get_length(in);
        if (avail < 4)
            return;
        uint8_t hdr[4];
        evbuffer_copyout(in, hdr, 4);
        if (!c->handshake_done && !c->qhead && c->packets_received == 0 && zkd_flw_known((const char *)hdr)) {
            c->packets_received++;
            zkd_cnxn_flw(c, (const char *)hdr);
            return;
        }
        int32_t len = (int32_t)kz_load_be32(hdr);
        if (len < 0 || len > s->cfg->jute_max_buffer) {
            kz_warn(ZKD_COMP, "Closing connection to %s: len error %d", c->peer_str, len);
            zkd_cnxn_close(c, "frame length out of range");
            return;
        }
        if (avail < (size_t)len + 4) {
            bufferevent_setwatermark(bev, EV_READ, (size_t)len + 4, 0);
            return;
        }
        bufferevent_setwatermark(bev, EV_READ, 0, 0);
        evbuffer_drain(in, 4);
        const uint8_t *p = len ? evbuffer_pullup(in, len) : (const uint8_t *)"";
        if (!p) {
            zkd_cnxn_close(c, "out of memory");
            return;
        }
        c->packets_received++;
        s->stats.packets_received++;
        s->stats.bytes_received += len + 4;
        if (!c->handshake_done) {
            if (c->qhead) { /* a second frame while the session is being created */
                zkd_cnxn_close(c, "request before the session was established");
                return;
            }
            zkd_cnxn_handshake(c, p, (size_t)len);
        } else {
            zkd_cnxn_request(c, p, (size_t)len);
        }
        if (c->closing)
            return;
        evbuffer_drain(in, (size_t)len);
        if (!(bufferevent_get_enabled(bev) & EV_READ))
            return; /* paused: handshake pending or queue full */
    }
}

static void zkd_cnxn_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
    (void)l;
    zkd_server *s = arg;
    zkd_conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->srv = s;
    c->fd = fd;
    c->cid = ++s->next_cid;
    memcpy(&c->peer, sa, (size_t)salen < sizeof c->peer ? (size_t)salen : sizeof c->peer);
    int port = 0;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, c->peer_ip, sizeof c->peer_ip);
        port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, c->peer_ip, sizeof c->peer_ip);
        port = ntohs(in6->sin6_port);
    }
    snprintf(c->peer_str, sizeof c->peer_str, "/%s:%d", c->peer_ip, port);
    c->established_ms = kz_wall_ms();
    c->last_cxid = -1;
    c->last_zxid = -1;
    c->last_latency = 0;
    snprintf(c->last_op, sizeof c->last_op, "NA");
    zkd_lat_reset(&c->lat);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    uint64_t key = zkd_ip_key(c->peer_ip), cnt = 0;
    kz_map_get(&s->conns_per_ip, (int64_t)key, &cnt);
    kz_map_put(&s->conns_per_ip, (int64_t)key, cnt + 1);
    c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        close(fd);
        zkd_cnxn_free(c);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    bufferevent_setcb(c->bev, zkd_cnxn_read_cb, zkd_cnxn_write_cb, zkd_cnxn_event_cb, c);
    if (s->cfg->max_client_cnxns > 0 && cnt + 1 > (uint64_t)s->cfg->max_client_cnxns) {
        kz_warn("NIOServerCnxnFactory", "Too many connections from %s - max is %d", c->peer_str + 1,
                s->cfg->max_client_cnxns);
        s->stats.connection_rejected++;
        c->closing = true;
        zkd_cnxn_schedule_free(c);
        return;
    }
    zkd_cnxn_add_auth(c, "ip", c->peer_ip);
    struct timeval tv = { ZKD_SESSIONLESS_TIMEOUT_S, 0 };
    bufferevent_set_timeouts(c->bev, &tv, NULL);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void zkd_cnxn_accept_error(struct evconnlistener *l, void *arg)
{
    (void)l;
    (void)arg;
    kz_warn("NIOServerCnxnFactory", "accept failed: %s", strerror(errno));
}

int zkd_cnxn_listen(zkd_server *s)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t slen;
    const char *host = s->cfg->client_port_address;
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (host && strchr(host, ':')) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)s->cfg->client_port);
        if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
            return -1;
        slen = sizeof *in6;
    } else {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)s->cfg->client_port);
        if (!host || !*host || strcmp(host, "0.0.0.0") == 0)
            in->sin_addr.s_addr = htonl(INADDR_ANY);
        else if (strcmp(host, "localhost") == 0)
            in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        else if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
            return -1;
        slen = sizeof *in;
    }
    int backlog = s->cfg->client_port_listen_backlog > 0 ? s->cfg->client_port_listen_backlog : 128;
    s->listener = evconnlistener_new_bind(s->base, zkd_cnxn_accept, s,
                                          LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
                                          backlog, (struct sockaddr *)&ss, (int)slen);
    if (!s->listener)
        return -1;
    evconnlistener_set_error_cb(s->listener, zkd_cnxn_accept_error);
    return 0;
}
