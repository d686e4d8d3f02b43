/* coordinator/zkd_final.c -- apply durable txns and answer requests
 * (FinalRequestProcessor).
 *
 * Writes: once the sync thread reports a zxid durable, every queued txn up
 * to it is applied to the tree in zxid order (firing watches), its
 * outstanding-change views are dropped, and its reply is sent; the
 * connection then answers the reads queued behind it.
 * Reads run against the tree when they reach the head of their
 * connection's queue. Reply zxid = the tree's last applied zxid.
 * Locality: zkd loop thread only. */
#include <event2/bufferevent.h>
#include <stdlib.h>
#include <string.h>

#include "kz_log.h"
#include "zkd_server.h"

#define ZKD_COMP "FinalRequestProcessor"

void zkd_req_free(zkd_req *req)
{
    if (!req)
        return;
    free(req->payload);
    free(req->txn);
    free(req);
}

/* Encodes a MultiResponse body for the results of an applied multi. */
static void zkd_final_multi_body(const zkd_apply_result *res, kz_wr *w)
{
    for (int32_t i = 0; i < res->nmulti; i++) {
        const zkd_op_result *o = &res->multi[i];
        int32_t type = o->type, err = 0;
        if (o->err && type != ZKD_OP_ERROR)
            type = ZKD_OP_ERROR;
        if (type == ZKD_OP_ERROR)
            err = o->err;
        if (type == ZKD_OP_CREATE_TTL || type == ZKD_OP_CREATE_CONTAINER)
            type = ZKD_OP_CREATE2;
        zkd_MultiHeader mh = { type, false, err };
        zkd_encode(MultiHeader, &mh, w);
        switch (type) {
        case ZKD_OP_CREATE: {
            zkd_PathResponse r = { o->path };
            zkd_encode(PathResponse, &r, w);
            break;
        }
        case ZKD_OP_CREATE2: {
            zkd_Create2Response r = { o->path, o->stat };
            zkd_encode(Create2Response, &r, w);
            break;
        }
        case ZKD_OP_SET_DATA: {
            zkd_StatResponse r = { o->stat };
            zkd_encode(StatResponse, &r, w);
            break;
        }
        case ZKD_OP_ERROR: {
            zkd_ErrorResponse r = { err };
            zkd_encode(ErrorResponse, &r, w);
            break;
        }
        default:
            break;
        }
    }
    zkd_MultiHeader end = { -1, true, -1 };
    zkd_encode(MultiHeader, &end, w);
}

/* Sends the reply of an applied txn. */
static void zkd_final_reply_txn(zkd_server *s, zkd_req *req, const zkd_apply_result *res)
{
    zkd_conn *c = req->conn;
    int64_t zxid = zkd_dt_last_zxid(s->dt);
    const zkd_op_result *o = &res->r;
    if (!c)
        return;
    if (o->err && o->type != ZKD_OP_MULTI) { /* an applied multi reports per op */
        zkd_cnxn_reply(c, req->xid, zxid, o->err, NULL, NULL);
        return;
    }
    switch (req->type) {
    case ZKD_OP_CREATE: {
        zkd_PathResponse r = { o->path };
        zkd_cnxn_reply(c, req->xid, zxid, 0, &zkd_PathResponse_rec, &r);
        break;
    }
    case ZKD_OP_CREATE2:
    case ZKD_OP_CREATE_TTL:
    case ZKD_OP_CREATE_CONTAINER: {
        zkd_Create2Response r = { o->path, o->stat };
        zkd_cnxn_reply(c, req->xid, zxid, 0, &zkd_Create2Response_rec, &r);
        break;
    }
    case ZKD_OP_SET_DATA:
    case ZKD_OP_SET_ACL: {
        zkd_StatResponse r = { o->stat };
        zkd_cnxn_reply(c, req->xid, zxid, 0, &zkd_StatResponse_rec, &r);
        break;
    }
    case ZKD_OP_MULTI: {
        kz_wr w = KZ_WR_INIT;
        zkd_final_multi_body(res, &w);
        zkd_cnxn_reply_raw(c, req->xid, zxid, w.err ? ZKD_ERR_SYSTEMERROR : 0, w.base, w.err ? 0 : w.len);
        kz_wr_free(&w);
        break;
    }
    default: /* delete, check, closeSession: header only */
        zkd_cnxn_reply(c, req->xid, zxid, 0, NULL, NULL);
        break;
    }
}

static void zkd_final_connected(zkd_server *s, zkd_req *req)
{
    zkd_conn *c = req->conn;
    zkd_session *se = zkd_session_add(s, req->session_id, req->connect.timeOut);
    if (!se) {
        if (c)
            zkd_cnxn_close(c, "out of memory");
        return;
    }
    if (!c)
        return; /* the client went away; the session expires on its own */
    uint8_t pw[16];
    zkd_session_passwd(se->id, pw);
    se->conn = c;
    c->session = se;
    c->handshake_done = true;
    zkd_ConnectResponse r = { 0, se->timeout, se->id, { (const char *)pw, 16 } };
    kz_wr w = KZ_WR_INIT;
    zkd_encode(ConnectResponse, &r, &w);
    if (c->ro_flag_sent)
        kz_wr_u8(&w, 0);
    if (!w.err) {
        uint8_t len[4];
        kz_store_be32(len, (uint32_t)w.len);
        bufferevent_write(c->bev, len, 4);
        bufferevent_write(c->bev, w.base, w.len);
        c->packets_sent++;
        s->stats.packets_sent++;
    }
    kz_wr_free(&w);
    kz_info("ZooKeeperServer", "Established session 0x%llx with negotiated timeout %d for client %s",
            (unsigned long long)se->id, se->timeout, c->peer_str);
}

void zkd_final_durable(zkd_server *s, int64_t durable_zxid)
{
    kz_arena a = KZ_ARENA_INIT; /* one chunk reused for the whole batch */
    while (s->txq_head && s->txq_head->zxid <= durable_zxid) {
        zkd_req *req = s->txq_head;
        s->txq_head = req->tnext;
        if (!s->txq_head)
            s->txq_tail = NULL;
        zkd_apply_result res;
        int rc = zkd_dt_apply(s->dt, req->txn, req->txn_len, &res, &a);
        if (rc) {
            /* Our own txn failed to decode: a bug; the tree may be off. */
            kz_error(ZKD_COMP, "cannot apply txn 0x%llx of type %d: %d", (unsigned long long)req->zxid,
                     req->type, rc);
            res.r.err = ZKD_ERR_SYSTEMERROR;
        }
        zkd_prep_applied(s, req->zxid);
        req->applied = true;
        s->txns_since_snap++;
        /* Take the request off its connection queue before replying: a
         * closeSession reply closes the connection. */
        zkd_conn *c = req->conn;
        if (c) {
            if (c->qhead == req) {
                c->qhead = req->next;
                if (!c->qhead)
                    c->qtail = NULL;
                c->qlen--;
                s->outstanding--;
            } else {
                kz_error(ZKD_COMP, "txn 0x%llx is not at the head of its connection queue",
                         (unsigned long long)req->zxid);
            }
            int64_t lat = (zkd_mono_us() - req->recv_us) / 1000;
            zkd_lat_add(&c->lat, lat);
            zkd_lat_add(&s->stats.lat, lat);
            c->last_latency = lat;
        }
        switch (req->type) {
        case ZKD_OP_CREATE_SESSION:
            zkd_final_connected(s, req);
            break;
        case ZKD_OP_CLOSE_SESSION: {
            zkd_session *se = zkd_session_get(s, req->session_id);
            zkd_conn *sc = c ? c : (se ? se->conn : NULL);
            zkd_session_remove(s, req->session_id);
            if (c)
                zkd_cnxn_reply(c, req->xid, zkd_dt_last_zxid(s->dt), 0, NULL, NULL);
            if (sc)
                zkd_cnxn_close(sc, "closeSession");
            break;
        }
        default:
            zkd_final_reply_txn(s, req, &res);
            break;
        }
        kz_arena_rewind(&a);
        zkd_req_free(req);
        if (c)
            zkd_cnxn_pump(c);
    }
    kz_arena_reset(&a);
}

/* ------------------------------------------------------------------ reads */

static int zkd_read_path(kz_rd *r, zkd_PathWatchRequest *q, kz_arena *a)
{
    /* A null path makes ZooKeeper throw while handling: MARSHALLINGERROR. */
    return zkd_decode(PathWatchRequest, r, q, a) || q->path.len < 0 ? ZKD_ERR_MARSHALLINGERROR : 0;
}

static const kz_jvec *zkd_node_acl(zkd_server *s, const zkd_node *n) { return zkd_dt_acl_get(s->dt, n->acl); }

static int zkd_check_read(zkd_server *s, zkd_conn *c, const zkd_node *n, int perm)
{
    return zkd_acl_check(s, c->auth, c->nauth, zkd_node_acl(s, n), perm);
}

static void zkd_children_vec(const zkd_node *n, kz_jvec *out, kz_arena *a)
{
    kz_str *v = n->nkids ? kz_arena_alloc(a, n->nkids * sizeof *v) : NULL;
    for (uint32_t i = 0; v && i < n->nkids; i++)
        v[i] = kz_str_c(zkd_node_name(n->kids[i]));
    *out = (kz_jvec){ v ? (int32_t)n->nkids : 0, v };
}

/* getData / getChildren(2) as used by plain requests and multiRead. Encodes
 * the response into @w; returns a ZooKeeper error (0: success). */
static int zkd_do_get(zkd_server *s, zkd_conn *c, int32_t op, const zkd_PathWatchRequest *q, kz_wr *w, kz_arena *a)
{
    zkd_node *n = q->path.len >= 0 ? zkd_dt_get(s->dt, q->path.s, (size_t)q->path.len) : NULL;
    if (!n)
        return ZKD_ERR_NONODE;
    int rc = zkd_check_read(s, c, n, ZKD_PERM_READ);
    if (rc)
        return rc;
    if (q->watch)
        zkd_watch_add(s->watches, c, op == ZKD_OP_GET_DATA ? ZKD_WATCH_DATA : ZKD_WATCH_CHILD, n->path, n->path_len);
    zkd_Stat st;
    zkd_node_stat(n, &st);
    if (op == ZKD_OP_GET_DATA) {
        zkd_GetDataResponse r = { { (const char *)n->data, n->data_len }, st };
        zkd_encode(GetDataResponse, &r, w);
    } else if (op == ZKD_OP_GET_CHILDREN) {
        zkd_StringsResponse r;
        zkd_children_vec(n, &r.strings, a);
        zkd_encode(StringsResponse, &r, w);
    } else {
        zkd_GetChildren2Response r;
        zkd_children_vec(n, &r.children, a);
        r.stat = st;
        zkd_encode(GetChildren2Response, &r, w);
    }
    return 0;
}

static int zkd_do_multi_read(zkd_server *s, zkd_conn *c, kz_rd *r, kz_wr *w, kz_arena *a)
{
    for (;;) {
        zkd_MultiHeader mh;
        if (zkd_decode(MultiHeader, r, &mh, a))
            return ZKD_ERR_MARSHALLINGERROR;
        if (mh.done)
            break;
        if (mh.type != ZKD_OP_GET_CHILDREN && mh.type != ZKD_OP_GET_DATA)
            return ZKD_ERR_MARSHALLINGERROR;
        zkd_PathWatchRequest q;
        if (zkd_read_path(r, &q, a))
            return ZKD_ERR_MARSHALLINGERROR;
        kz_wr one = KZ_WR_INIT;
        int err = zkd_do_get(s, c, mh.type, &q, &one, a);
        zkd_MultiHeader rh = { err ? ZKD_OP_ERROR : mh.type, false, err };
        zkd_encode(MultiHeader, &rh, w);
        if (err) {
            zkd_ErrorResponse er = { err };
            zkd_encode(ErrorResponse, &er, w);
        } else {
            kz_wr_bytes(w, one.base, one.len);
        }
        kz_wr_free(&one);
    }
    zkd_MultiHeader end = { -1, true, -1 };
    zkd_encode(MultiHeader, &end, w);
    return 0;
}

/* Counts descendants of @n (getAllChildrenNumber). */
static int32_t zkd_count_descendants(const zkd_node *n)
{
    int32_t total = 0;
    for (uint32_t i = 0; i < n->nkids; i++)
        total += 1 + zkd_count_descendants(n->kids[i]);
    return total;
}

/* SetWatches(2): re-arm watches, firing what changed since relativeZxid. */
static void zkd_do_set_watches(zkd_server *s, zkd_conn *c, const zkd_SetWatches2 *sw)
{
    const kz_jvec *lists[5] = { &sw->dataWatches, &sw->existWatches, &sw->childWatches, &sw->persistentWatches,
                                &sw->persistentRecursiveWatches };
    for (int k = 0; k < 5; k++) {
        const kz_str *p = lists[k]->v;
        for (int32_t i = 0; i < lists[k]->n; i++) {
            if (p[i].len <= 0)
                continue;
            zkd_node *n = zkd_dt_get(s->dt, p[i].s, (size_t)p[i].len);
            switch (k) {
            case 0:
                if (!n)
                    zkd_cnxn_send_event(c, ZKD_EV_DELETED, p[i].s, (uint32_t)p[i].len);
                else if (n->stat.mzxid > sw->relativeZxid)
                    zkd_cnxn_send_event(c, ZKD_EV_DATA_CHANGED, p[i].s, (uint32_t)p[i].len);
                else
                    zkd_watch_add(s->watches, c, ZKD_WATCH_DATA, p[i].s, (uint32_t)p[i].len);
                break;
            case 1:
                if (n)
                    zkd_cnxn_send_event(c, ZKD_EV_CREATED, p[i].s, (uint32_t)p[i].len);
                else
                    zkd_watch_add(s->watches, c, ZKD_WATCH_DATA, p[i].s, (uint32_t)p[i].len);
                break;
            case 2:
                if (!n)
                    zkd_cnxn_send_event(c, ZKD_EV_DELETED, p[i].s, (uint32_t)p[i].len);
                else if (n->stat.pzxid > sw->relativeZxid)
                    zkd_cnxn_send_event(c, ZKD_EV_CHILDREN_CHANGED, p[i].s, (uint32_t)p[i].len);
                else
                    zkd_watch_add(s->watches, c, ZKD_WATCH_CHILD, p[i].s, (uint32_t)p[i].len);
                break;
            case 3:
                zkd_watch_add(s->watches, c, ZKD_WATCH_PERSISTENT, p[i].s, (uint32_t)p[i].len);
                break;
            default:
                zkd_watch_add(s->watches, c, ZKD_WATCH_PERSISTENT_RECURSIVE, p[i].s, (uint32_t)p[i].len);
                break;
            }
        }
    }
}

static const char *zkd_op_name(int32_t type)
{
    switch (type) {
    case ZKD_OP_PING: return "PING";
    case ZKD_OP_EXISTS: return "EXIS";
    case ZKD_OP_GET_DATA: return "GETD";
    case ZKD_OP_GET_CHILDREN: return "GETC";
    case ZKD_OP_GET_CHILDREN2: return "GETC";
    case ZKD_OP_GET_ACL: return "GETA";
    case ZKD_OP_SYNC: return "SYNC";
    case ZKD_OP_SET_WATCHES: return "SETW";
    case ZKD_OP_SET_WATCHES2: return "STW2";
    case ZKD_OP_ADD_WATCH: return "ADDW";
    case ZKD_OP_MULTI_READ: return "MLTR";
    case ZKD_OP_WHO_AM_I: return "HOMI";
    case ZKD_OP_GET_EPHEMERALS: return "GETE";
    case ZKD_OP_GET_ALL_CHILDREN_NUMBER: return "GETACN";
    case ZKD_OP_CHECK_WATCHES: return "CHKW";
    case ZKD_OP_REMOVE_WATCHES: return "REMW";
    case ZKD_OP_CREATE: return "CREA";
    case ZKD_OP_DELETE: return "DELE";
    case ZKD_OP_SET_DATA: return "SETD";
    case ZKD_OP_SET_ACL: return "SETA";
    case ZKD_OP_MULTI: return "MULT";
    default: return "NA";
    }
}

void zkd_final_read(zkd_server *s, zkd_req *req)
{
    zkd_conn *c = req->conn;
    kz_arena *a = &s->scratch;
    kz_rd r = kz_rd_init(req->payload, req->payload_len);
    kz_wr w = KZ_WR_INIT;
    int err = 0;
    bool body = false, close_after = false;
    snprintf(c->last_op, sizeof c->last_op, "%s", zkd_op_name(req->type));
    switch (req->type) {
    case ZKD_OP_PING:
        break;
    case ZKD_OP_EXISTS: {
        zkd_PathWatchRequest q;
        if ((err = zkd_read_path(&r, &q, a)) != 0)
            break;
        if (q.path.len < 0 || memchr(q.path.s, '\0', (size_t)q.path.len)) {
            err = ZKD_ERR_BADARGUMENTS;
            break;
        }
        zkd_node *n = zkd_dt_get(s->dt, q.path.s, (size_t)q.path.len);
        if (q.watch)
            zkd_watch_add(s->watches, c, ZKD_WATCH_DATA, q.path.s, (uint32_t)q.path.len);
        if (!n) {
            err = ZKD_ERR_NONODE;
            break;
        }
        zkd_StatResponse rs;
        zkd_node_stat(n, &rs.stat);
        zkd_encode(StatResponse, &rs, &w);
        body = true;
        break;
    }
    case ZKD_OP_GET_DATA:
    case ZKD_OP_GET_CHILDREN:
    case ZKD_OP_GET_CHILDREN2: {
        zkd_PathWatchRequest q;
        if ((err = zkd_read_path(&r, &q, a)) != 0)
            break;
        err = zkd_do_get(s, c, req->type, &q, &w, a);
        body = !err;
        break;
    }
    case ZKD_OP_GET_ACL: {
        zkd_PathRequest q;
        if (zkd_decode(PathRequest, &r, &q, a) || q.path.len < 0) {
            err = ZKD_ERR_MARSHALLINGERROR;
            break;
        }
        zkd_node *n = q.path.len >= 0 ? zkd_dt_get(s->dt, q.path.s, (size_t)q.path.len) : NULL;
        if (!n) {
            err = ZKD_ERR_NONODE;
            break;
        }
        if ((err = zkd_check_read(s, c, n, ZKD_PERM_READ | ZKD_PERM_ADMIN)) != 0)
            break;
        zkd_GetACLResponse rs;
        rs.acl = *zkd_node_acl(s, n);
        zkd_node_stat(n, &rs.stat);
        if (zkd_check_read(s, c, n, ZKD_PERM_ADMIN) != 0 && rs.acl.n > 0) {
            /* Without ADMIN, digest ids are shown as user:x. */
            zkd_ACL *red = kz_arena_alloc(a, sizeof *red * (size_t)rs.acl.n);
            const zkd_ACL *src = rs.acl.v;
            for (int32_t i = 0; red && i < rs.acl.n; i++) {
                red[i] = src[i];
                if (kz_str_eq(src[i].id.scheme, KZ_STR_LIT("digest"))) {
                    const char *colon = memchr(src[i].id.id.s, ':', (size_t)src[i].id.id.len);
                    int32_t ul = colon ? (int32_t)(colon - src[i].id.id.s) : src[i].id.id.len;
                    char *x = kz_arena_alloc(a, (size_t)ul + 3);
                    if (x) {
                        memcpy(x, src[i].id.id.s, (size_t)ul);
                        memcpy(x + ul, ":x", 3);
                        red[i].id.id = (kz_str){ x, ul + 2 };
                    }
                }
            }
            if (red)
                rs.acl.v = red;
        }
        zkd_encode(GetACLResponse, &rs, &w);
        body = true;
        break;
    }
    case ZKD_OP_GET_ALL_CHILDREN_NUMBER: {
        zkd_PathRequest q;
        if (zkd_decode(PathRequest, &r, &q, a) || q.path.len < 0) {
            err = ZKD_ERR_MARSHALLINGERROR;
            break;
        }
        zkd_node *n = q.path.len >= 0 ? zkd_dt_get(s->dt, q.path.s, (size_t)q.path.len) : NULL;
        if (!n) {
            err = ZKD_ERR_NONODE;
            break;
        }
        if ((err = zkd_check_read(s, c, n, ZKD_PERM_READ)) != 0)
            break;
        /* ZooKeeper counts map keys with the path prefix; for "/" that includes "/". */
        zkd_IntResponse rs = { zkd_count_descendants(n) + (n->path_len == 1 ? 1 : 0) };
        zkd_encode(IntResponse, &rs, &w);
        body = true;
        break;
    }
    case ZKD_OP_GET_EPHEMERALS: {
        zkd_PathRequest q;
        if (zkd_decode(PathRequest, &r, &q, a)) {
            err = ZKD_ERR_MARSHALLINGERROR;
            break;
        }
        size_t ne;
        zkd_node *const *eph = zkd_dt_ephemerals(s->dt, req->session_id, &ne);
        kz_str *v = ne ? kz_arena_alloc(a, ne * sizeof *v) : NULL;
        int32_t k = 0;
        bool all = q.path.len <= 0 || (q.path.len == 1 && q.path.s[0] == '/');
        for (size_t i = 0; v && i < ne; i++)
            if (all || (eph[i]->path_len >= (uint32_t)q.path.len && memcmp(eph[i]->path, q.path.s, (size_t)q.path.len) == 0))
                v[k++] = (kz_str){ eph[i]->path, (int32_t)eph[i]->path_len };
        zkd_StringsResponse rs = { { k, v } };
        zkd_encode(StringsResponse, &rs, &w);
        body = true;
        break;
    }
    case ZKD_OP_SYNC: {
        zkd_PathRequest q;
        if (zkd_decode(PathRequest, &r, &q, a)) {
            err = ZKD_ERR_MARSHALLINGERROR;
            break;
        }
        zkd_PathResponse rs = { q.path };
        zkd_encode(PathResponse, &rs, &w);
        body = true;
        break;
    }
    case ZKD_OP_CHECK_WATCHES:
    case ZKD_OP_REMOVE_WATCHES: {
        zkd_PathTypeRequest q;
        if (zkd_decode(PathTypeRequest, &r, &q, a) || q.path.len < 0) {
            err = ZKD_ERR_MARSHALLINGERROR;
            break;
        }
        bool ok = req->type == ZKD_OP_CHECK_WATCHES
                      ? zkd_watch_contains(s->watches, c, q.path.s, (uint32_t)q.path.len, q.type)
                      : zkd_watch_remove(s->watches, c, q.path.s, (uint32_t)q.path.len, q.type);
        err = ok ? 0 : ZKD_ERR_NOWATCHER;
        break;
    }
    case ZKD_OP_ADD_WATCH: {
        zkd_PathTypeRequest q;
        if (zkd_decode(PathTypeRequest, &r, &q, a) || q.path.len < 0) {
            err = ZKD_ERR_MARSHALLINGERROR;
            break;
        }
        if (q.type != 0 && q.type != 1) {
            err = ZKD_ERR_BADARGUMENTS;
            break;
        }
        zkd_watch_add(s->watches, c, q.type ? ZKD_WATCH_PERSISTENT_RECURSIVE : ZKD_WATCH_PERSISTENT, q.path.s,
                      (uint32_t)q.path.len);
        zkd_ErrorResponse rs = { 0 };
        zkd_encode(ErrorResponse, &rs, &w);
        body = true;
        break;
    }
    case ZKD_OP_SET_WATCHES:
    case ZKD_OP_SET_WATCHES2: {
        zkd_SetWatches2 sw = { 0 };
        if (req->type == ZKD_OP_SET_WATCHES) {
            zkd_SetWatches o;
            if (zkd_decode(SetWatches, &r, &o, a)) {
                err = ZKD_ERR_MARSHALLINGERROR;
                break;
            }
            sw = (zkd_SetWatches2){ o.relativeZxid, o.dataWatches, o.existWatches, o.childWatches, { 0, NULL },
                                    { 0, NULL } };
        } else if (zkd_decode(SetWatches2, &r, &sw, a)) {
            err = ZKD_ERR_MARSHALLINGERROR;
            break;
        }
        zkd_do_set_watches(s, c, &sw);
        break;
    }
    case ZKD_OP_MULTI_READ:
        err = zkd_do_multi_read(s, c, &r, &w, a);
        body = !err;
        break;
    case ZKD_OP_WHO_AM_I: {
        zkd_ClientInfo *ci = c->nauth ? kz_arena_alloc(a, c->nauth * sizeof *ci) : NULL;
        uint32_t *order = c->nauth ? kz_arena_alloc(a, c->nauth * sizeof *order) : NULL;
        int32_t k = 0;
        if (order)
            zkd_acl_ids_order(c->auth, c->nauth, order);
        for (uint32_t oi = 0; ci && order && oi < c->nauth; oi++) {
            uint32_t i = order[oi];
            const char *id = c->auth[i].id;
            size_t ulen = strlen(id);
            if (strcmp(c->auth[i].scheme, "digest") == 0 && strchr(id, ':'))
                ulen = (size_t)(strchr(id, ':') - id);
            ci[k++] = (zkd_ClientInfo){ kz_str_c(c->auth[i].scheme), { id, (int32_t)ulen } };
        }
        zkd_WhoAmIResponse rs = { { k, ci } };
        zkd_encode(WhoAmIResponse, &rs, &w);
        body = true;
        break;
    }
    default:
        err = ZKD_ERR_UNIMPLEMENTED;
        close_after = true;
        break;
    }
    /* An undecodable body gets MARSHALLINGERROR and the connection stays;
     * an unknown opcode gets UNIMPLEMENTED with zxid -1, then the
     * connection is closed (UnimplementedRequestProcessor). */
    if (close_after) {
        zkd_cnxn_reply_raw(c, req->xid, -1, err, NULL, 0);
        kz_wr_free(&w);
        kz_arena_rewind(a);
        zkd_cnxn_close(c, "unknown request type");
        return;
    }
    c->last_cxid = req->xid;
    c->last_zxid = zkd_dt_last_zxid(s->dt);
    zkd_cnxn_reply_raw(c, req->xid, zkd_dt_last_zxid(s->dt), err, body && !w.err ? w.base : NULL,
                       body && !w.err ? w.len : 0);
    kz_wr_free(&w);
    kz_arena_rewind(a);
}
