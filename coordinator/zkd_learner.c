/* coordinator/zkd_learner.c -- follower and observer (Learner.java,
 * Follower.java, Observer.java).
 *
 *   CONNECT  -> FOLLOWERINFO/OBSERVERINFO {acceptedEpoch << 32, LearnerInfo}
 *   LEADERINFO -> persist acceptedEpoch, ACKEPOCH {last zxid, currentEpoch}
 *   SYNC     DIFF | TRUNC (cut the log, reload) | SNAP (raw snapshot body +
 *            "BenWasHere"), then PROPOSAL/COMMIT pairs and in-flight
 *            PROPOSALs are logged (and applied when committed)
 *   NEWLEADER -> snapshot if we took a SNAP, currentEpoch, and once every
 *            txn received so far is on disk: ACK(NEWLEADER)
 *   UPTODATE -> serve clients, ACK(newEpoch << 32)
 *   RUNNING  PROPOSAL -> log -> ACK; COMMIT -> apply + answer our client;
 *            INFORM (observer) -> log + apply; PING -> PING with the
 *            sessions our clients touched; REVALIDATE and SYNC answers.
 * No packet may reach the leader between ACKEPOCH and the NEWLEADER ACK
 * (ZooKeeper's leader reads that ACK as the next packet), so ACKs of the
 * proposals received while synchronising wait until then.
 * Any failure (leader gone, read timeout of initLimit/syncLimit ticks,
 * protocol error) sends the peer back to LOOKING.
 * Locality: loop thread. */
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "kz_log.h"
#include "kz_time.h"
#include "kz_vec.h"
#include "zkd_quorum.h"
#include "zkd_snap.h"

#define ZKD_COMP "Learner"
#define ZKD_MAX_PACKET (64u << 20)
#define ZKD_CONNECT_RETRY_MS 20 /* first retry of a refused connection */

enum { LN_INFO, LN_SYNC, LN_SNAP, LN_NEWLEADER, LN_RUNNING };

struct zkd_learner {
    zkd_quorum *q;
    zkd_server *s;
    bool observer;
    bool dead;
    const zkd_server_def *ldef;
    zkd_qcnx *cx;
    int st;
    int tries;
    int64_t started_ms;
    struct event *retry_ev;
    struct event *sweep_ev;
    zkd_qcnx *old_cx;        /* failed connection, freed from the sweep */
    int64_t new_epoch;
    int64_t newleader_zxid;
    bool snapshot_needed;
    bool newleader_pending;  /* NEWLEADER ACK waits for the log */
    bool acks_on;
    int64_t last_logged;     /* highest zxid handed to the log */
    int64_t sync_logged;     /* last_logged when NEWLEADER came */
    int64_t committed;
    int64_t *ackq;           /* logged zxids to ACK, FIFO */
    size_t ack_head, ack_n, ack_cap;
    zkd_req *fwd_head, *fwd_tail;   /* forwarded writes (linked by tnext) */
    zkd_req *sync_head, *sync_tail; /* forwarded syncs */
    zkd_conn **reval;        /* connections waiting for REVALIDATE */
    size_t nreval, reval_cap;
    kz_map touched;          /* session id -> timeout, for the next PING */
    zkd_snap_scan scan;
    kz_wr snapbuf;
    int64_t snap_zxid;
};

static int64_t zkd_learner_limit(const zkd_learner *l, int32_t ticks)
{
    return (int64_t)ticks * l->s->cfg->tick_time;
}

static void zkd_learner_fail(zkd_learner *l, const char *why)
{
    if (l->dead)
        return;
    l->dead = true;
    kz_warn(l->observer ? "Observer" : "Follower", "Exception when %s leader: %s",
            l->observer ? "observing" : "following", why);
    zkd_quorum_relook(l->q, why);
}

/* -------------------------------------------------------------- queues */

static void zkd_learner_fifo_push(zkd_req **head, zkd_req **tail, zkd_req *r)
{
    r->tnext = NULL;
    if (*tail)
        (*tail)->tnext = r;
    else
        *head = r;
    *tail = r;
}

static zkd_req *zkd_learner_fifo_pop(zkd_req **head, zkd_req **tail)
{
    zkd_req *r = *head;
    if (r) {
        *head = r->tnext;
        if (!*head)
            *tail = NULL;
        r->tnext = NULL;
    }
    return r;
}

static void zkd_learner_ack_push(zkd_learner *l, int64_t zxid)
{
    if (l->ack_head + l->ack_n == l->ack_cap) {
        if (l->ack_head > 0) {
            memmove(l->ackq, l->ackq + l->ack_head, l->ack_n * sizeof *l->ackq);
            l->ack_head = 0;
        }
        if (KZ_VEC_RESERVE(l->ackq, l->ack_cap, l->ack_n + 1, 256) != 0) {
            zkd_learner_fail(l, "out of memory");
            return;
        }
    }
    l->ackq[l->ack_head + l->ack_n++] = zxid;
}

/* Sends the ACKs of every logged proposal up to @durable. */
static void zkd_learner_send_acks(zkd_learner *l, int64_t durable)
{
    while (l->ack_n && l->ackq[l->ack_head] <= durable) {
        int64_t z = l->ackq[l->ack_head++];
        l->ack_n--;
        /* Every proposal of the broadcast phase is acked, committed or not:
         * ZooKeeper's leader drops a learner that skips one (SyncLimitCheck).
         * Only the committed DIFF pairs of the synchronisation need none. */
        if (l->acks_on && !l->observer && (z > l->sync_logged || z > l->committed))
            zkd_qcnx_send_null(l->cx, ZKD_QP_ACK, z);
    }
    if (!l->ack_n)
        l->ack_head = 0;
}

static void zkd_learner_newleader_ack(zkd_learner *l)
{
    l->newleader_pending = false;
    zkd_qcnx_send_null(l->cx, ZKD_QP_ACK, l->newleader_zxid);
    l->acks_on = true;
    zkd_learner_send_acks(l, l->s->durable_zxid);
}

void zkd_learner_durable(zkd_learner *l, int64_t zxid)
{
    if (l->dead)
        return;
    if (l->newleader_pending && zxid >= l->last_logged)
        zkd_learner_newleader_ack(l);
    else if (l->acks_on)
        zkd_learner_send_acks(l, zxid);
}

/* ------------------------------------------------------------ packets */

static void zkd_learner_send_info(zkd_learner *l)
{
    uint8_t b[20];
    kz_store_be64(b, (uint64_t)l->q->myid);
    kz_store_be32(b + 8, ZKD_PROTOCOL_VERSION);
    kz_store_be64(b + 12, 0); /* configVersion: static membership */
    zkd_qcnx_send(l->cx, l->observer ? ZKD_QP_OBSERVERINFO : ZKD_QP_FOLLOWERINFO, l->q->accepted_epoch << 32, b,
                  sizeof b);
}

static void zkd_learner_leaderinfo(zkd_learner *l, const zkd_qpkt *p)
{
    int64_t e = p->zxid >> 32;
    int32_t reply;
    if (e > l->q->accepted_epoch) {
        reply = (int32_t)l->q->current_epoch;
        zkd_quorum_set_accepted_epoch(l->q, e);
    } else if (e == l->q->accepted_epoch) {
        reply = -1;
    } else {
        kz_error(ZKD_COMP, "Leaders epoch, %lld is less than accepted epoch, %lld", (long long)e,
                 (long long)l->q->accepted_epoch);
        zkd_learner_fail(l, "the leader's epoch is behind ours");
        return;
    }
    l->new_epoch = e;
    uint8_t b[4];
    kz_store_be32(b, (uint32_t)reply);
    zkd_qcnx_send(l->cx, ZKD_QP_ACKEPOCH, zkd_dt_last_zxid(l->s->dt), b, 4);
    l->st = LN_SYNC;
}

/* Logs a txn from the leader; a forwarded request of ours gets it. */
static void zkd_learner_log(zkd_learner *l, int64_t zxid, const uint8_t *txn, size_t len)
{
    kz_rd r = kz_rd_init(txn, len);
    int64_t client = kz_rd_i64(&r);
    int32_t cxid = kz_rd_i32(&r);
    (void)kz_rd_i64(&r);
    (void)kz_rd_i64(&r);
    int32_t type = kz_rd_i32(&r);
    if (r.err) {
        zkd_learner_fail(l, "malformed txn from the leader");
        return;
    }
    zkd_req *req = NULL;
    if (l->fwd_head && l->fwd_head->session_id == client && l->fwd_head->xid == cxid) {
        req = zkd_learner_fifo_pop(&l->fwd_head, &l->fwd_tail);
    } else {
        req = calloc(1, sizeof *req);
        if (!req) {
            zkd_learner_fail(l, "out of memory");
            return;
        }
        req->session_id = client;
        req->xid = cxid;
        req->type = type;
        req->recv_us = kz_mono_us();
        req->is_txn = true;
    }
    free(req->txn);
    if (!(req->txn = malloc(len))) {
        zkd_req_free(req); /* not reachable from a connection: only temp requests get here without conn */
        zkd_learner_fail(l, "out of memory");
        return;
    }
    memcpy(req->txn, txn, len);
    req->txn_len = len;
    req->zxid = zxid;
    zkd_server_log_txn(l->s, req);
    if (zxid > l->s->next_zxid)
        l->s->next_zxid = zxid;
    l->last_logged = zxid;
    zkd_quorum_proposal_size(l->q, len);
    zkd_learner_ack_push(l, zxid);
}

static void zkd_learner_commit(zkd_learner *l, int64_t zxid)
{
    zkd_server *s = l->s;
    if (!s->txq_head || s->txq_head->zxid > zxid) {
        kz_warn(ZKD_COMP, "Committing 0x%llx, which is not the next pending txn", (unsigned long long)zxid);
        return;
    }
    zkd_final_durable(s, zxid);
    if (zxid > l->committed)
        l->committed = zxid;
}

static void zkd_learner_ping(zkd_learner *l, const zkd_qpkt *p)
{
    kz_wr w = KZ_WR_INIT;
    int64_t k;
    uint64_t v;
    for (size_t it = 0; kz_map_next(&l->touched, &it, &k, &v);) {
        kz_wr_i64(&w, k);
        kz_wr_i32(&w, (int32_t)v);
    }
    kz_map_free(&l->touched);
    zkd_qcnx_send(l->cx, ZKD_QP_PING, p->zxid, w.base, w.err ? 0 : w.len);
    kz_wr_free(&w);
}

static void zkd_learner_revalidated(zkd_learner *l, const zkd_qpkt *p)
{
    kz_rd r = kz_rd_init(p->data, p->len);
    int64_t sid = kz_rd_i64(&r);
    bool valid = kz_rd_u8(&r) != 0;
    if (r.err)
        return;
    if (!l->nreval)
        return;
    zkd_conn *c = l->reval[0]; /* answers come in request order */
    memmove(l->reval, l->reval + 1, (l->nreval - 1) * sizeof *l->reval);
    l->nreval--;
    if (c && c->revalidating)
        zkd_cnxn_revalidated(c, sid, valid);
}

static void zkd_learner_synced_sync(zkd_learner *l)
{
    zkd_req *r = zkd_learner_fifo_pop(&l->sync_head, &l->sync_tail);
    if (!r)
        return;
    r->is_txn = false;
    if (r->conn)
        zkd_cnxn_pump(r->conn);
    else
        zkd_req_free(r);
}

static void zkd_learner_newleader(zkd_learner *l, const zkd_qpkt *p)
{
    zkd_server *s = l->s;
    l->newleader_zxid = p->zxid;
    if (l->snapshot_needed) {
        if (zkd_server_snapshot_now(s) != 0) {
            zkd_learner_fail(l, "cannot write the snapshot received from the leader");
            return;
        }
        l->snapshot_needed = false;
    }
    zkd_quorum_set_current_epoch(l->q, p->zxid >> 32);
    l->sync_logged = l->last_logged;
    zkd_qcnx_set_timeout(l->cx, zkd_learner_limit(l, s->cfg->sync_limit));
    l->st = LN_NEWLEADER;
    if (s->durable_zxid >= l->last_logged)
        zkd_learner_newleader_ack(l);
    else
        l->newleader_pending = true;
}

static void zkd_learner_uptodate(zkd_learner *l)
{
    kz_info(ZKD_COMP, "Learner received UPTODATE message");
    l->st = LN_RUNNING;
    zkd_fle_set_state(l->q->fle, l->observer ? ZKD_OBSERVING : ZKD_FOLLOWING);
    zkd_fle_update_epoch(l->q->fle, l->new_epoch);
    zkd_server_set_serving(l->s, true);
    zkd_qcnx_send_null(l->cx, ZKD_QP_ACK, l->new_epoch << 32);
    kz_info(l->observer ? "Observer" : "Follower", "%s - LEADER ELECTION TOOK - %lld MS",
            l->observer ? "OBSERVING" : "FOLLOWING", (long long)((kz_mono_us() - l->q->look_started_us) / 1000));
}

static void zkd_learner_on_packet(void *ctx, zkd_qcnx *q, const zkd_qpkt *p)
{
    (void)q;
    zkd_learner *l = ctx;
    if (l->dead)
        return;
    zkd_server *s = l->s;
    if (l->st == LN_INFO) {
        if (p->type != ZKD_QP_LEADERINFO) {
            zkd_learner_fail(l, "First packet should have been LEADERINFO");
            return;
        }
        zkd_learner_leaderinfo(l, p);
        return;
    }
    switch (p->type) {
    case ZKD_QP_DIFF:
        kz_info(ZKD_COMP, "Getting a diff from the leader 0x%llx", (unsigned long long)p->zxid);
        l->snapshot_needed = false;
        break;
    case ZKD_QP_TRUNC:
        kz_warn(ZKD_COMP, "Truncating log to get in sync with the leader 0x%llx", (unsigned long long)p->zxid);
        if (zkd_server_db_reload(s, p->zxid) != 0) {
            kz_error(ZKD_COMP, "Not able to truncate the log 0x%llx", (unsigned long long)p->zxid);
            exit(13);
        }
        l->last_logged = zkd_dt_last_zxid(s->dt);
        break;
    case ZKD_QP_SNAP:
        kz_info(ZKD_COMP, "Getting a snapshot from leader 0x%llx", (unsigned long long)p->zxid);
        l->snap_zxid = p->zxid;
        l->snapbuf.len = 0;
        zkd_snap_scan_init(&l->scan);
        l->st = LN_SNAP;
        zkd_qcnx_set_raw(l->cx, true);
        break;
    case ZKD_QP_PROPOSAL:
    case ZKD_QP_COMMIT:
        /* Synchronisation sends PROPOSAL/COMMIT pairs to observers too; once
         * running they only get INFORM (Observer.processPacket ignores these). */
        if (l->observer && l->st == LN_RUNNING) {
            kz_warn("Observer", "Ignoring %s 0x%llx", p->type == ZKD_QP_PROPOSAL ? "proposal" : "commit",
                    (unsigned long long)p->zxid);
        } else if (p->type == ZKD_QP_PROPOSAL) {
            zkd_learner_log(l, p->zxid, p->data, p->len);
        } else {
            zkd_learner_commit(l, p->zxid);
        }
        break;
    case ZKD_QP_INFORM:
        if (!s->txq_tail || s->txq_tail->zxid < p->zxid) /* not already had as a PROPOSAL */
            zkd_learner_log(l, p->zxid, p->data, p->len);
        if (!l->dead)
            zkd_learner_commit(l, p->zxid);
        break;
    case ZKD_QP_NEWLEADER:
        zkd_learner_newleader(l, p);
        break;
    case ZKD_QP_UPTODATE:
        if (l->st != LN_NEWLEADER || l->newleader_pending) {
            zkd_learner_fail(l, "UPTODATE before our NEWLEADER ACK");
            return;
        }
        zkd_learner_uptodate(l);
        break;
    case ZKD_QP_PING:
        zkd_learner_ping(l, p);
        break;
    case ZKD_QP_REVALIDATE:
        zkd_learner_revalidated(l, p);
        break;
    case ZKD_QP_SYNC:
        zkd_learner_synced_sync(l);
        break;
    default:
        kz_warn(ZKD_COMP, "Unknown packet type: %d", p->type);
        break;
    }
}

/* The snapshot body after SNAP: collected until its signature. */
static long zkd_learner_on_raw(void *ctx, zkd_qcnx *q, const uint8_t *p, size_t len)
{
    zkd_learner *l = ctx;
    size_t before = l->snapbuf.len;
    kz_wr_bytes(&l->snapbuf, p, len);
    if (l->snapbuf.err)
        return -1;
    long end = zkd_snap_scan_feed(&l->scan, l->snapbuf.base, l->snapbuf.len);
    if (end < 0)
        return -1;
    if (end == 0)
        return (long)len;
    zkd_datatree *dt = zkd_dt_new();
    if (!dt || zkd_snap_decode_stream(dt, l->snapbuf.base, (size_t)end) != 0) {
        zkd_dt_free(dt);
        return -1;
    }
    zkd_dt_set_last_zxid(dt, l->snap_zxid);
    if (zkd_server_db_replace(l->s, dt) != 0) {
        zkd_learner_fail(l, "cannot load the snapshot from the leader");
        return (long)len;
    }
    l->last_logged = l->snap_zxid;
    l->s->durable_zxid = l->snap_zxid; /* by the snapshot written at NEWLEADER */
    l->snapshot_needed = true;
    l->st = LN_SYNC;
    kz_wr_free(&l->snapbuf);
    zkd_qcnx_set_raw(q, false);
    return end - (long)before;
}

static void zkd_learner_connect(zkd_learner *l);

static void zkd_learner_on_close(void *ctx, zkd_qcnx *q, const char *why)
{
    zkd_learner *l = ctx;
    if (l->dead)
        return;
    if (!zkd_qcnx_connected(q) && l->st == LN_INFO &&
        kz_wall_ms() - l->started_ms < zkd_learner_limit(l, l->s->cfg->init_limit)) {
        /* The leader may not listen yet (it decided a moment after us):
         * retry soon, backing off to once a second, within initLimit. */
        int64_t ms = ZKD_CONNECT_RETRY_MS << (l->tries < 6 ? l->tries : 6);
        l->tries++;
        kz_warn(ZKD_COMP, "Unexpected exception, tries=%d, remaining init limit=%lld, connecting to %s:%d: %s",
                l->tries - 1, (long long)(zkd_learner_limit(l, l->s->cfg->init_limit) - (kz_wall_ms() - l->started_ms)),
                l->ldef->host, l->ldef->quorum_port, why);
        l->old_cx = l->cx;
        l->cx = NULL;
        event_active(l->sweep_ev, EV_TIMEOUT, 0);
        if (ms > 1000)
            ms = 1000;
        struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
        event_add(l->retry_ev, &tv);
        return;
    }
    zkd_learner_fail(l, why);
}

static void zkd_learner_sweep(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    zkd_learner *l = arg;
    zkd_qcnx_free(l->old_cx);
    l->old_cx = NULL;
}

static void zkd_learner_connect(zkd_learner *l)
{
    zkd_qcnx_cb cb = { zkd_learner_on_packet, zkd_learner_on_raw, zkd_learner_on_close, l };
    l->cx = zkd_qcnx_connect(l->s->base, l->ldef->host, l->ldef->quorum_port, &cb, ZKD_MAX_PACKET);
    if (!l->cx) {
        zkd_learner_fail(l, "cannot connect to the leader");
        return;
    }
    zkd_qcnx_set_timeout(l->cx, zkd_learner_limit(l, l->s->cfg->init_limit));
    zkd_learner_send_info(l);
}

static void zkd_learner_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    zkd_learner *l = arg;
    if (!l->dead && !l->cx)
        zkd_learner_connect(l);
}

zkd_learner *zkd_learner_start(zkd_quorum *q, bool observer)
{
    zkd_server *s = q->s;
    const zkd_server_def *ldef = NULL;
    for (size_t i = 0; i < s->cfg->n_servers; i++)
        if (s->cfg->servers[i].id == q->leader_id)
            ldef = &s->cfg->servers[i];
    if (!ldef) {
        kz_error(ZKD_COMP, "the elected leader %lld is not in the configuration", (long long)q->leader_id);
        return NULL;
    }
    zkd_learner *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->q = q;
    l->s = s;
    l->observer = observer;
    l->ldef = ldef;
    l->started_ms = kz_wall_ms();
    l->last_logged = zkd_dt_last_zxid(s->dt);
    l->committed = l->last_logged;
    l->snapbuf = KZ_WR_INIT;
    if (!(l->retry_ev = event_new(s->base, -1, 0, zkd_learner_retry, l)) ||
        !(l->sweep_ev = event_new(s->base, -1, 0, zkd_learner_sweep, l))) {
        zkd_learner_free(l);
        return NULL;
    }
    kz_info(observer ? "Observer" : "Follower", "%s - leader is %lld at %s:%d", observer ? "OBSERVING" : "FOLLOWING",
            (long long)q->leader_id, ldef->host, ldef->quorum_port);
    zkd_learner_connect(l);
    return l;
}

static void zkd_learner_drop_fifo(zkd_req **head, zkd_req **tail)
{
    zkd_req *r;
    while ((r = zkd_learner_fifo_pop(head, tail))) {
        r->is_txn = false;
        if (!r->conn)
            zkd_req_free(r); /* else the connection's queue frees it */
    }
}

void zkd_learner_free(zkd_learner *l)
{
    if (!l)
        return;
    zkd_qcnx_free(l->cx);
    zkd_qcnx_free(l->old_cx);
    zkd_learner_drop_fifo(&l->fwd_head, &l->fwd_tail);
    zkd_learner_drop_fifo(&l->sync_head, &l->sync_tail);
    for (size_t i = 0; i < l->nreval; i++)
        if (l->reval[i])
            l->reval[i]->revalidating = false;
    free(l->reval);
    free(l->ackq);
    kz_map_free(&l->touched);
    kz_wr_free(&l->snapbuf);
    if (l->retry_ev)
        event_free(l->retry_ev);
    if (l->sweep_ev)
        event_free(l->sweep_ev);
    free(l);
}

/* ------------------------------------------------------- client requests */

/* REQUEST {long sessionId, int cxid, int type, request bytes}, authinfo =
 * the requester's ids. */
static void zkd_learner_forward(zkd_learner *l, const zkd_req *req, const uint8_t *body, size_t blen,
                                const zkd_auth_id *ids, uint32_t nids)
{
    kz_wr w = KZ_WR_INIT, a = KZ_WR_INIT;
    kz_wr_i64(&w, req->session_id);
    kz_wr_i32(&w, req->xid);
    kz_wr_i32(&w, req->type);
    kz_wr_bytes(&w, body, blen);
    kz_wr_i32(&a, (int32_t)nids);
    for (uint32_t i = 0; i < nids; i++) {
        kz_wr_str(&a, kz_str_c(ids[i].scheme));
        kz_wr_str(&a, kz_str_c(ids[i].id));
    }
    if (w.err || a.err)
        zkd_learner_fail(l, "out of memory");
    else
        zkd_qcnx_send_auth(l->cx, ZKD_QP_REQUEST, -1, w.base, w.len, a.base, a.len);
    kz_wr_free(&w);
    kz_wr_free(&a);
}

int zkd_learner_submit(zkd_learner *l, zkd_req *req, const zkd_auth_id *ids, uint32_t nids)
{
    if (l->dead || l->st != LN_RUNNING)
        return ZKD_ERR_CONNECTIONLOSS;
    if (!req->conn)
        return ZKD_ERR_CONNECTIONLOSS; /* internal jobs belong to the leader */
    if (ids && nids == 1 && strcmp(ids[0].scheme, "super") == 0 && ids[0].id[0] == 0)
        nids = 0; /* createSession: no requester ids */
    uint8_t to[4];
    const uint8_t *body = req->payload;
    size_t blen = req->payload_len;
    if (req->type == ZKD_OP_CREATE_SESSION) {
        kz_store_be32(to, (uint32_t)req->connect.timeOut);
        body = to;
        blen = 4;
    }
    req->is_txn = true;
    zkd_learner_fifo_push(&l->fwd_head, &l->fwd_tail, req);
    zkd_learner_forward(l, req, body, blen, ids, nids);
    return 0;
}

void zkd_learner_sync(zkd_learner *l, zkd_req *req)
{
    req->is_txn = true;
    zkd_learner_fifo_push(&l->sync_head, &l->sync_tail, req);
    if (!l->dead && l->st == LN_RUNNING)
        zkd_learner_forward(l, req, req->payload, req->payload_len, NULL, 0);
}

void zkd_learner_touch(zkd_learner *l, int64_t sid, int32_t timeout)
{
    kz_map_put(&l->touched, sid, (uint64_t)(uint32_t)timeout);
}

void zkd_learner_revalidate(zkd_learner *l, zkd_conn *c, int64_t sid, int32_t timeout)
{
    if (KZ_VEC_RESERVE(l->reval, l->reval_cap, l->nreval + 1, 16) != 0) {
        zkd_cnxn_close(c, "out of memory");
        return;
    }
    l->reval[l->nreval++] = c;
    uint8_t b[12];
    kz_store_be64(b, (uint64_t)sid);
    kz_store_be32(b + 8, (uint32_t)timeout);
    zkd_qcnx_send(l->cx, ZKD_QP_REVALIDATE, -1, b, sizeof b);
}

void zkd_learner_conn_gone(zkd_learner *l, zkd_conn *c)
{
    for (size_t i = 0; i < l->nreval; i++)
        if (l->reval[i] == c)
            l->reval[i] = NULL; /* keeps the FIFO aligned with the answers */
}
