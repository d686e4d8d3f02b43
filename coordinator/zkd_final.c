/* coordinator/zkd_final.c -- apply durable txns and answer the writes
 * (FinalRequestProcessor, write half; reads are in zkd_read.c).
 *
 * Writes: once the sync thread reports a zxid durable, every queued txn up
 * to it is applied to the tree in zxid order (firing watches), its
 * outstanding-change views are dropped, and its reply is sent; the
 * connection then answers the reads queued behind it.
 * Reply zxid = the tree's last applied zxid.
 * Locality: zkd loop thread only. */
#include <event2/bufferevent.h>
#include <stdlib.h>
#include <string.h>

#include "kz_log.h"
#include "kz_time.h"
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
    /* The timeout comes from the txn: on a learner the request may be
     * another server's (TxnHeader is 32 bytes, then CreateSessionTxn). */
    int32_t timeout = req->connect.timeOut;
    if (req->txn && req->txn_len >= 36)
        timeout = (int32_t)kz_load_be32(req->txn + 32);
    zkd_session *se = zkd_session_add(s, req->session_id, timeout);
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
            int64_t lat = (kz_mono_us() - req->recv_us) / 1000;
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
