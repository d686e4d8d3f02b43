/* coordinator/zkd_leader.c -- the ZAB leader (Leader.java + LearnerHandler).
 *
 * Phases:
 *   DISCOVERY  learners connect and send FOLLOWERINFO (acceptedEpoch); once
 *              a quorum of voters, the leader included, is connected the new
 *              epoch is max(acceptedEpoch) + 1 and every learner gets
 *              LEADERINFO.
 *   SYNC       once a quorum has answered ACKEPOCH (none of them ahead of
 *              us), currentEpoch = the new epoch and each learner that acked
 *              is synchronised: DIFF / TRUNC / SNAP + missing txns, then
 *              NEWLEADER. A quorum of NEWLEADER ACKs starts the service.
 *   BROADCAST  UPTODATE to each synced learner (late joiners get it once they
 *              ack NEWLEADER); writes become PROPOSALs; a txn commits when
 *              the leader's own log and a quorum of voters have it; COMMIT to
 *              followers, INFORM to observers, then it is applied here.
 * Discovery and sync must complete within initLimit ticks; afterwards a
 * learner silent for syncLimit ticks, or one that leaves a proposal un-acked
 * that long, is dropped, and the leader steps down when the learners still
 * in touch no longer make a quorum with it.
 * Locality: loop thread. Learner handlers are freed from the sweep event,
 * never inside their own connection's callbacks. */
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "kz_log.h"
#include "kz_time.h"
#include "kz_vec.h"
#include "zkd_db.h"
#include "zkd_quorum.h"
#include "zkd_snap.h"
#include "zkd_sync.h"
#include "zkd_txnlog.h"

#define ZKD_COMP "Leader"
#define ZKD_MAX_PACKET (64u << 20)
#define ZKD_DIFF_MAX_TXNS 500000
#define ZKD_DIFF_MAX_BYTES ((size_t)256 << 20)

typedef enum {
    LH_INFO,      /* waiting for FOLLOWERINFO / OBSERVERINFO */
    LH_EPOCH,     /* LEADERINFO sent (or to be sent), waiting for ACKEPOCH */
    LH_ACKED,     /* ACKEPOCH received, waiting for the epoch quorum */
    LH_NEWLEADER, /* synchronised, NEWLEADER sent, waiting for its ACK */
    LH_RUNNING,   /* NEWLEADER acked */
} zkd_lh_state;

typedef struct zkd_lh {
    zkd_leader *l;
    zkd_qcnx *cx;
    struct zkd_lh *next;
    zkd_lh_state st;
    int64_t sid;
    bool observer;
    bool info_seen;
    bool forwarding;         /* gets PROPOSAL+COMMIT / INFORM */
    bool uptodate_sent;
    bool dead;
    int64_t accepted_epoch;  /* FOLLOWERINFO */
    int64_t last_zxid;       /* ACKEPOCH */
    int32_t peer_epoch;      /* ACKEPOCH data: currentEpoch or -1 */
    int64_t acked;           /* highest ACKed zxid */
    int64_t last_heard_ms;
} zkd_lh;

typedef struct zkd_lsync {
    zkd_lh *lh;              /* NULL once that learner is gone */
    int64_t zxid;
} zkd_lsync;

enum { PH_DISCOVERY, PH_SYNC, PH_BROADCAST };

struct zkd_leader {
    zkd_quorum *q;
    zkd_server *s;
    struct evconnlistener *lst;
    zkd_lh *lhs;
    int phase;
    int64_t epoch;           /* the new epoch (PH_SYNC onwards) */
    int64_t max_accepted;
    int64_t started_us;      /* monotonic, when it took office */
    uint64_t served[4];      /* bitmap of the sids of learners served */
    int64_t committed;
    int64_t last_proposed;
    bool stepping_down;
    struct event *tick_ev;   /* tickTime / 2 */
    struct event *sweep_ev;
    struct event *limit_ev;  /* initLimit for discovery + sync */
    unsigned half_ticks;
    zkd_req *syncs_head, *syncs_tail; /* local clients' syncs, sync_zxid order */
    zkd_lsync *lsyncs;       /* learners' syncs, FIFO */
    size_t nlsyncs, lsyncs_cap;
    char *config_text;       /* membership, for NEWLEADER */
    size_t config_len;
};

static int64_t zkd_leader_tick_ms(const zkd_leader *l) { return l->s->cfg->tick_time; }

static void zkd_leader_step_down(zkd_leader *l, const char *why)
{
    if (l->stepping_down)
        return;
    l->stepping_down = true;
    zkd_quorum_relook(l->q, why);
}

static int zkd_leader_count(const zkd_leader *l, bool (*pred)(const zkd_lh *))
{
    int n = 1; /* ourselves */
    for (const zkd_lh *h = l->lhs; h; h = h->next)
        if (!h->dead && !h->observer && zkd_quorum_is_voter(l->q, h->sid) && pred(h))
            n++;
    return n;
}

static bool zkd_leader_has_quorum(const zkd_leader *l, int n) { return n > l->q->nvoters / 2; }

static bool zkd_lh_info(const zkd_lh *h) { return h->info_seen; }
static bool zkd_lh_acked_epoch(const zkd_lh *h) { return h->st >= LH_ACKED; }
static bool zkd_lh_running(const zkd_lh *h) { return h->st == LH_RUNNING; }

/* ----------------------------------------------------------- life cycle */

static void zkd_lh_kill(zkd_lh *h, const char *why)
{
    if (h->dead)
        return;
    h->dead = true;
    kz_warn("LearnerHandler", "******* GOODBYE %s ******** (sid %lld: %s)", zkd_qcnx_peer(h->cx), (long long)h->sid,
            why);
    for (size_t i = 0; i < h->l->nlsyncs; i++)
        if (h->l->lsyncs[i].lh == h)
            h->l->lsyncs[i].lh = NULL;
    event_active(h->l->sweep_ev, EV_TIMEOUT, 0);
}

static void zkd_leader_sweep(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    zkd_leader *l = arg;
    for (zkd_lh **pp = &l->lhs; *pp;) {
        zkd_lh *h = *pp;
        if (!h->dead) {
            pp = &h->next;
            continue;
        }
        *pp = h->next;
        zkd_qcnx_free(h->cx);
        free(h);
    }
}

/* ------------------------------------------------------------- sending */

static void zkd_leader_send_int(zkd_qcnx *cx, int32_t type, int64_t zxid, int32_t v)
{
    uint8_t b[4];
    kz_store_be32(b, (uint32_t)v);
    zkd_qcnx_send(cx, type, zxid, b, 4);
}

/* Appends the packets that bring @h from its last zxid to ours: DIFF,
 * TRUNC (+ txns), or SNAP; then the proposals in flight. */
static void zkd_leader_sync_learner(zkd_leader *l, zkd_lh *h)
{
    zkd_server *s = l->s;
    int64_t peer = h->last_zxid, last = zkd_dt_last_zxid(s->dt);
    const char *mode = "DIFF";
    bool snap = false;
    if (peer == last) {
        zkd_qcnx_send_null(h->cx, ZKD_QP_DIFF, last);
    } else if (peer > last) {
        mode = "TRUNC";
        zkd_qcnx_send_null(h->cx, ZKD_QP_TRUNC, last);
    } else if (peer <= 0) {
        snap = true;
    } else {
        /* Walk our log from the start of the peer's epoch: find the peer's
         * zxid (or the last one before it, to truncate to), then send every
         * later txn up to what we have applied. */
        char dir[PATH_MAX];
        zkd_db_cfg dc = { s->cfg->data_dir, s->cfg->data_log_dir, false };
        zkd_txnlog_iter *it = NULL;
        kz_wr w = KZ_WR_INIT;
        int64_t prev = -1, seen = -1;
        bool found = false, started = false;
        size_t n = 0;
        snap = true;
        if (zkd_db_dirs(&dc, NULL, dir) == 0 && zkd_txnlog_iter_open(&it, dir, (peer >> 32) << 32) == 0) {
            zkd_txnlog_entry e;
            int rc;
            while ((rc = zkd_txnlog_iter_next(it, &e)) == 1 && e.zxid <= last) {
                seen = e.zxid;
                if (!started) {
                    if (e.zxid < peer) {
                        prev = e.zxid;
                        continue;
                    }
                    if (e.zxid == peer) {
                        found = true;
                        continue;
                    }
                    if (!found && (peer & 0xffffffffLL) == 0)
                        found = true; /* a new-epoch zxid: nothing to cut */
                    /* A TRUNC may not cross an epoch boundary (ZooKeeper's
                     * learner cannot take it): those peers get a SNAP. */
                    if (!found && (prev < 0 || (e.zxid >> 32) != (peer >> 32)))
                        break;
                    started = true;
                }
                if (++n > ZKD_DIFF_MAX_TXNS || w.len > ZKD_DIFF_MAX_BYTES)
                    break;
                /* PROPOSAL + COMMIT pairs, framed as zkd_qcnx frames them */
                kz_wr_i32(&w, ZKD_QP_PROPOSAL);
                kz_wr_i64(&w, e.zxid);
                kz_wr_i32(&w, (int32_t)e.len);
                kz_wr_bytes(&w, e.txn, e.len);
                kz_wr_i32(&w, 0);
                kz_wr_i32(&w, ZKD_QP_COMMIT);
                kz_wr_i64(&w, e.zxid);
                kz_wr_i32(&w, -1);
                kz_wr_i32(&w, 0);
            }
            if (rc >= 0 && !w.err && n <= ZKD_DIFF_MAX_TXNS && w.len <= ZKD_DIFF_MAX_BYTES &&
                seen == last && (found || prev >= 0)) {
                snap = false;
                if (found) {
                    zkd_qcnx_send_null(h->cx, ZKD_QP_DIFF, last);
                } else {
                    mode = "TRUNC+DIFF";
                    zkd_qcnx_send_null(h->cx, ZKD_QP_TRUNC, prev);
                }
                zkd_qcnx_write_raw(h->cx, w.base, w.len);
            }
        }
        zkd_txnlog_iter_close(it);
        kz_wr_free(&w);
    }
    if (snap) {
        mode = "SNAP";
        kz_wr w = KZ_WR_INIT;
        zkd_qcnx_send_null(h->cx, ZKD_QP_SNAP, last);
        if (zkd_snap_encode_stream(s->dt, &w) == 0) {
            kz_wr_str(&w, KZ_STR_LIT("BenWasHere"));
            zkd_qcnx_write_raw(h->cx, w.base, w.len);
        }
        kz_wr_free(&w);
    }
    kz_info("LearnerHandler", "Synchronizing with Learner sid: %lld maxCommittedLog=0x%llx peerLastZxid=0x%llx: %s",
            (long long)h->sid, (unsigned long long)last, (unsigned long long)peer, mode);
    /* Proposals still in flight follow, then NEWLEADER. */
    h->forwarding = true;
    for (zkd_req *r = s->txq_head; r; r = r->tnext) {
        if (h->observer)
            continue; /* observers get INFORM once committed */
        zkd_qcnx_send(h->cx, ZKD_QP_PROPOSAL, r->zxid, r->txn, r->txn_len);
    }
    zkd_qcnx_send(h->cx, ZKD_QP_NEWLEADER, l->epoch << 32, l->config_text, l->config_len);
    h->st = LH_NEWLEADER;
}

/* ----------------------------------------------------------- discovery */

static void zkd_leader_start_serving(zkd_leader *l)
{
    l->phase = PH_BROADCAST;
    if (l->limit_ev)
        event_del(l->limit_ev);
    kz_info(ZKD_COMP, "LEADING - LEADER ELECTION TOOK - %lld MS",
            (long long)((kz_mono_us() - l->q->look_started_us) / 1000));
    zkd_fle_set_state(l->q->fle, ZKD_LEADING);
    zkd_fle_update_epoch(l->q->fle, l->epoch);
    /* Sessions restart their timeouts under the new leader. */
    int64_t k;
    uint64_t v;
    for (size_t it = 0; kz_map_next(&l->s->sessions, &it, &k, &v);)
        zkd_session_touch(l->s, (zkd_session *)(uintptr_t)v);
    zkd_server_set_serving(l->s, true);
    for (zkd_lh *h = l->lhs; h; h = h->next)
        if (!h->dead && h->st == LH_RUNNING && !h->uptodate_sent) {
            zkd_qcnx_send_null(h->cx, ZKD_QP_UPTODATE, -1);
            h->uptodate_sent = true;
        }
}

static void zkd_leader_check_epoch_acks(zkd_leader *l)
{
    if (l->phase != PH_SYNC || l->q->current_epoch == l->epoch)
        return;
    if (!zkd_leader_has_quorum(l, zkd_leader_count(l, zkd_lh_acked_epoch)))
        return;
    zkd_quorum_set_current_epoch(l->q, l->epoch);
    l->s->next_zxid = l->epoch << 32;
    l->last_proposed = l->committed = l->epoch << 32;
    for (zkd_lh *h = l->lhs; h; h = h->next)
        if (!h->dead && h->st == LH_ACKED)
            zkd_leader_sync_learner(l, h);
    if (l->q->nvoters == 1)
        zkd_leader_start_serving(l);
}

static void zkd_leader_learner_info(zkd_leader *l, zkd_lh *h, const zkd_qpkt *p)
{
    kz_rd r = kz_rd_init(p->data, p->len);
    int64_t sid = kz_rd_i64(&r);
    if (r.err) {
        zkd_lh_kill(h, "short LearnerInfo");
        return;
    }
    h->sid = sid;
    h->observer = p->type == ZKD_QP_OBSERVERINFO;
    h->info_seen = true;
    h->accepted_epoch = p->zxid >> 32;
    if (sid >= 0 && sid < 256)
        l->served[sid / 64] |= 1ull << (sid % 64);
    for (zkd_lh *o = l->lhs; o; o = o->next)
        if (o != h && !o->dead && o->sid == sid)
            zkd_lh_kill(o, "replaced by a new connection from the same server");
    if (!h->observer && !zkd_quorum_is_voter(l->q, sid)) {
        zkd_lh_kill(h, "not a voting member");
        return;
    }
    kz_info("LearnerHandler", "Follower sid: %lld : info : %s", (long long)sid, zkd_qcnx_peer(h->cx));
    h->st = LH_EPOCH;
    if (l->phase == PH_DISCOVERY) {
        if (!h->observer && h->accepted_epoch > l->max_accepted)
            l->max_accepted = h->accepted_epoch;
        if (!zkd_leader_has_quorum(l, zkd_leader_count(l, zkd_lh_info)))
            return;
        l->epoch = l->max_accepted + 1;
        zkd_quorum_set_accepted_epoch(l->q, l->epoch);
        l->phase = PH_SYNC;
        for (zkd_lh *o = l->lhs; o; o = o->next)
            if (!o->dead && o->st == LH_EPOCH)
                zkd_leader_send_int(o->cx, ZKD_QP_LEADERINFO, l->epoch << 32, ZKD_PROTOCOL_VERSION);
        return;
    }
    zkd_leader_send_int(h->cx, ZKD_QP_LEADERINFO, l->epoch << 32, ZKD_PROTOCOL_VERSION);
}

static void zkd_leader_ackepoch(zkd_leader *l, zkd_lh *h, const zkd_qpkt *p)
{
    kz_rd r = kz_rd_init(p->data, p->len);
    h->peer_epoch = kz_rd_i32(&r);
    h->last_zxid = p->zxid;
    if (r.err) {
        zkd_lh_kill(h, "short ACKEPOCH");
        return;
    }
    zkd_server *s = l->s;
    int64_t mine = zkd_dt_last_zxid(s->dt);
    if (l->phase == PH_SYNC && l->q->current_epoch != l->epoch && h->peer_epoch != -1 &&
        (h->peer_epoch > l->q->current_epoch || (h->peer_epoch == l->q->current_epoch && h->last_zxid > mine))) {
        kz_error(ZKD_COMP, "Follower is ahead of the leader, leader summary: %lld (current epoch), 0x%llx (last zxid)",
                 (long long)l->q->current_epoch, (unsigned long long)mine);
        zkd_leader_step_down(l, "a follower is ahead of the leader");
        return;
    }
    h->st = LH_ACKED;
    if (l->q->current_epoch == l->epoch)
        zkd_leader_sync_learner(l, h); /* the epoch quorum is complete */
    else
        zkd_leader_check_epoch_acks(l);
}

/* ----------------------------------------------------------- broadcast */

static void zkd_leader_sync_done(zkd_leader *l)
{
    while (l->syncs_head && l->syncs_head->sync_zxid <= l->committed) {
        zkd_req *r = l->syncs_head;
        l->syncs_head = r->tnext;
        if (!l->syncs_head)
            l->syncs_tail = NULL;
        r->tnext = NULL;
        r->is_txn = false;
        if (r->conn)
            zkd_cnxn_pump(r->conn);
        else
            zkd_req_free(r);
    }
    size_t i = 0;
    while (i < l->nlsyncs && l->lsyncs[i].zxid <= l->committed) {
        if (l->lsyncs[i].lh)
            zkd_qcnx_send_null(l->lsyncs[i].lh->cx, ZKD_QP_SYNC, 0);
        i++;
    }
    if (i) {
        memmove(l->lsyncs, l->lsyncs + i, (l->nlsyncs - i) * sizeof *l->lsyncs);
        l->nlsyncs -= i;
    }
}

static int zkd_leader_cmp_desc(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Commits what the leader's log and a quorum of voters have. */
static void zkd_leader_try_commit(zkd_leader *l)
{
    zkd_server *s = l->s;
    if (l->phase != PH_BROADCAST || !s->txq_head)
        return;
    int64_t acks[256];
    int n = 0;
    acks[n++] = s->durable_zxid;
    for (zkd_lh *h = l->lhs; h && n < 256; h = h->next)
        if (!h->dead && h->forwarding && !h->observer && zkd_quorum_is_voter(l->q, h->sid))
            acks[n++] = h->acked;
    int need = l->q->nvoters / 2 + 1;
    if (n < need)
        return;
    qsort(acks, (size_t)n, sizeof *acks, zkd_leader_cmp_desc);
    int64_t c = acks[need - 1];
    if (c > s->durable_zxid)
        c = s->durable_zxid; /* the leader's own log is part of every quorum */
    if (c > l->last_proposed)
        c = l->last_proposed;
    if (c <= l->committed)
        return;
    for (zkd_req *r = s->txq_head; r && r->zxid <= c; r = r->tnext)
        for (zkd_lh *h = l->lhs; h; h = h->next) {
            if (h->dead || !h->forwarding)
                continue;
            if (h->observer)
                zkd_qcnx_send(h->cx, ZKD_QP_INFORM, r->zxid, r->txn, r->txn_len);
            else
                zkd_qcnx_send_null(h->cx, ZKD_QP_COMMIT, r->zxid);
        }
    l->committed = c;
    zkd_final_durable(s, c);
    zkd_leader_sync_done(l);
}

static void zkd_leader_propose(zkd_leader *l, zkd_req *req)
{
    zkd_server_log_txn(l->s, req);
    l->last_proposed = req->zxid;
    zkd_quorum_proposal_size(l->q, req->txn_len);
    for (zkd_lh *h = l->lhs; h; h = h->next)
        if (!h->dead && h->forwarding && !h->observer)
            zkd_qcnx_send(h->cx, ZKD_QP_PROPOSAL, req->zxid, req->txn, req->txn_len);
}

int zkd_leader_submit(zkd_leader *l, zkd_req *req, const zkd_auth_id *ids, uint32_t nids)
{
    if (l->phase != PH_BROADCAST)
        return ZKD_ERR_CONNECTIONLOSS;
    int rc = zkd_prep_with_ids(l->s, req, ids, nids);
    if (rc)
        return rc;
    zkd_leader_propose(l, req);
    return 0;
}

bool zkd_leader_sync(zkd_leader *l, zkd_req *req)
{
    if (!l->s->txq_head)
        return false;
    req->sync_zxid = l->last_proposed;
    req->tnext = NULL;
    if (l->syncs_tail)
        l->syncs_tail->tnext = req;
    else
        l->syncs_head = req;
    l->syncs_tail = req;
    return true;
}

void zkd_leader_durable(zkd_leader *l, int64_t zxid)
{
    (void)zxid;
    zkd_leader_try_commit(l);
}

static char *zkd_leader_cstr(kz_arena *a, kz_str v)
{
    size_t n = v.len < 0 ? 0 : (size_t)v.len;
    char *p = kz_arena_alloc(a, n + 1);
    if (p) {
        if (n)
            memcpy(p, v.s, n);
        p[n] = 0;
    }
    return p;
}

/* A learner's REQUEST: {long sessionId, int cxid, int type, request bytes}. */
static void zkd_leader_request(zkd_leader *l, zkd_lh *h, const zkd_qpkt *p)
{
    kz_rd r = kz_rd_init(p->data, p->len);
    int64_t sid = kz_rd_i64(&r);
    int32_t cxid = kz_rd_i32(&r), type = kz_rd_i32(&r);
    if (r.err) {
        zkd_lh_kill(h, "short REQUEST");
        return;
    }
    if (type == ZKD_OP_SYNC) {
        if (!l->s->txq_head) {
            zkd_qcnx_send_null(h->cx, ZKD_QP_SYNC, 0);
            return;
        }
        if (KZ_VEC_RESERVE(l->lsyncs, l->lsyncs_cap, l->nlsyncs + 1, 16) != 0) {
            zkd_lh_kill(h, "out of memory");
            return;
        }
        l->lsyncs[l->nlsyncs++] = (zkd_lsync){ h, l->last_proposed };
        return;
    }
    /* The requester's auth ids travel in authinfo. */
    kz_arena *a = &l->s->scratch;
    kz_rd ar = kz_rd_init(p->auth, p->auth_len);
    int32_t nauth = kz_rd_i32(&ar);
    zkd_auth_id *ids = NULL;
    if (nauth > 0 && !(ids = kz_arena_alloc(a, (size_t)nauth * sizeof *ids)))
        nauth = 0;
    for (int32_t i = 0; i < nauth; i++) {
        kz_str sc = kz_rd_str(&ar), id = kz_rd_str(&ar);
        ids[i].scheme = zkd_leader_cstr(a, sc);
        ids[i].id = zkd_leader_cstr(a, id);
        if (ar.err || !ids[i].scheme || !ids[i].id) {
            nauth = i;
            break;
        }
    }
    zkd_req *req = calloc(1, sizeof *req);
    size_t plen = kz_rd_left(&r);
    if (!req || (plen && !(req->payload = malloc(plen)))) {
        free(req);
        zkd_lh_kill(h, "out of memory");
        return;
    }
    if (plen)
        memcpy(req->payload, r.p, plen);
    req->payload_len = plen;
    req->session_id = sid;
    req->xid = cxid;
    req->type = type;
    req->recv_us = kz_mono_us();
    if (type == ZKD_OP_CREATE_SESSION)
        req->connect.timeOut = plen >= 4 ? (int32_t)kz_load_be32(req->payload) : 0;
    static const zkd_auth_id none[1];
    int rc = zkd_leader_submit(l, req, nauth > 0 ? ids : none, nauth > 0 ? (uint32_t)nauth : 0);
    kz_arena_rewind(a);
    if (rc) {
        kz_warn(ZKD_COMP, "cannot process a request from sid %lld: %d", (long long)h->sid, rc);
        zkd_req_free(req);
    }
}

/* REVALIDATE {long sessionId, int timeout} -> {long sessionId, bool valid}. */
static void zkd_leader_revalidate(zkd_leader *l, zkd_lh *h, const zkd_qpkt *p)
{
    kz_rd r = kz_rd_init(p->data, p->len);
    int64_t sid = kz_rd_i64(&r);
    int32_t timeout = kz_rd_i32(&r);
    if (r.err) {
        zkd_lh_kill(h, "short REVALIDATE");
        return;
    }
    zkd_session *se = zkd_session_get(l->s, sid);
    bool valid = se && !se->closing;
    if (valid) {
        se->timeout = timeout;
        zkd_session_touch(l->s, se);
    }
    uint8_t b[9];
    kz_store_be64(b, (uint64_t)sid);
    b[8] = valid;
    zkd_qcnx_send(h->cx, ZKD_QP_REVALIDATE, p->zxid, b, sizeof b);
}

/* A learner's PING answer: repeated {long sessionId, int timeout} touched. */
static void zkd_leader_ping(zkd_leader *l, const zkd_qpkt *p)
{
    kz_rd r = kz_rd_init(p->data, p->len);
    while (kz_rd_left(&r) >= 12) {
        int64_t sid = kz_rd_i64(&r);
        int32_t timeout = kz_rd_i32(&r);
        zkd_session *se = zkd_session_get(l->s, sid);
        if (se && !se->closing) {
            (void)timeout;
            zkd_session_touch(l->s, se);
        }
    }
}

static void zkd_leader_ack(zkd_leader *l, zkd_lh *h, const zkd_qpkt *p)
{
    if (h->st == LH_NEWLEADER && p->zxid != l->epoch << 32) {
        /* A ZooKeeper learner acks the txns it logged while synchronising,
         * possibly before NEWLEADER: count them and wait for that ACK. */
        if (p->zxid > h->acked)
            h->acked = p->zxid;
        return;
    }
    if (h->st == LH_NEWLEADER) {
        h->st = LH_RUNNING;
        zkd_qcnx_set_timeout(h->cx, (int64_t)l->s->cfg->sync_limit * zkd_leader_tick_ms(l));
        if (l->phase == PH_SYNC) {
            if (zkd_leader_has_quorum(l, zkd_leader_count(l, zkd_lh_running)))
                zkd_leader_start_serving(l);
        } else if (l->phase == PH_BROADCAST && !h->uptodate_sent) {
            zkd_qcnx_send_null(h->cx, ZKD_QP_UPTODATE, -1);
            h->uptodate_sent = true;
        }
        return;
    }
    if (p->zxid > h->acked)
        h->acked = p->zxid;
    zkd_leader_try_commit(l);
}

static void zkd_leader_on_packet(void *ctx, zkd_qcnx *q, const zkd_qpkt *p)
{
    (void)q;
    zkd_lh *h = ctx;
    zkd_leader *l = h->l;
    if (h->dead || l->stepping_down)
        return;
    h->last_heard_ms = kz_wall_ms();
    switch (p->type) {
    case ZKD_QP_FOLLOWERINFO:
    case ZKD_QP_OBSERVERINFO:
        if (h->st != LH_INFO)
            zkd_lh_kill(h, "second LearnerInfo");
        else
            zkd_leader_learner_info(l, h, p);
        break;
    case ZKD_QP_ACKEPOCH:
        if (h->st != LH_EPOCH || l->phase == PH_DISCOVERY)
            zkd_lh_kill(h, "unexpected ACKEPOCH");
        else
            zkd_leader_ackepoch(l, h, p);
        break;
    case ZKD_QP_ACK:
        if (h->st < LH_NEWLEADER)
            zkd_lh_kill(h, "ACK before synchronisation");
        else if (!h->observer || h->st == LH_NEWLEADER)
            zkd_leader_ack(l, h, p);
        break;
    case ZKD_QP_REQUEST:
        if (h->st == LH_RUNNING)
            zkd_leader_request(l, h, p);
        break;
    case ZKD_QP_PING:
        zkd_leader_ping(l, p);
        break;
    case ZKD_QP_REVALIDATE:
        zkd_leader_revalidate(l, h, p);
        break;
    default:
        kz_warn("LearnerHandler", "unexpected packet type %d from sid %lld", p->type, (long long)h->sid);
        break;
    }
}

static void zkd_leader_on_close(void *ctx, zkd_qcnx *q, const char *why)
{
    (void)q;
    zkd_lh_kill(ctx, why);
}

static void zkd_leader_accept(struct evconnlistener *lst, evutil_socket_t fd, struct sockaddr *sa, int salen,
                              void *arg)
{
    (void)lst;
    (void)sa;
    (void)salen;
    zkd_leader *l = arg;
    zkd_lh *h = calloc(1, sizeof *h);
    if (!h) {
        evutil_closesocket(fd);
        return;
    }
    h->l = l;
    h->sid = -1;
    h->acked = -1;
    h->last_heard_ms = kz_wall_ms();
    zkd_qcnx_cb cb = { zkd_leader_on_packet, NULL, zkd_leader_on_close, h };
    if (!(h->cx = zkd_qcnx_new(l->s->base, fd, &cb, ZKD_MAX_PACKET))) {
        free(h);
        return;
    }
    zkd_qcnx_set_timeout(h->cx, (int64_t)l->s->cfg->init_limit * zkd_leader_tick_ms(l));
    h->next = l->lhs;
    l->lhs = h;
}

/* ---------------------------------------------------------------- ticks */

static void zkd_leader_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    zkd_leader *l = arg;
    zkd_server *s = l->s;
    if (l->stepping_down || l->phase != PH_BROADCAST)
        return;
    int64_t now = kz_wall_ms(), limit = (int64_t)s->cfg->sync_limit * zkd_leader_tick_ms(l);
    /* The oldest proposal not yet committed: learners that have not acked
     * it within syncLimit are dropped (LearnerHandler.ping). */
    const zkd_req *oldest = s->txq_head;
    int64_t oldest_age = oldest ? (kz_mono_us() - oldest->recv_us) / 1000 : 0;
    for (zkd_lh *h = l->lhs; h; h = h->next) {
        if (h->dead || h->st != LH_RUNNING)
            continue;
        if (!h->observer && oldest && h->acked < oldest->zxid && oldest_age > limit) {
            zkd_lh_kill(h, "Closing connection to peer due to transaction timeout.");
            continue;
        }
        zkd_qcnx_send_null(h->cx, ZKD_QP_PING, l->last_proposed);
    }
    if (++l->half_ticks % 2)
        return;
    int synced = 1;
    char ids[256];
    int off = snprintf(ids, sizeof ids, "%lld", (long long)l->q->myid);
    for (zkd_lh *h = l->lhs; h; h = h->next)
        if (!h->dead && h->st == LH_RUNNING && !h->observer && zkd_quorum_is_voter(l->q, h->sid) &&
            now - h->last_heard_ms <= limit) {
            synced++;
            if (off < (int)sizeof ids - 24)
                off += snprintf(ids + off, sizeof ids - (size_t)off, ",%lld", (long long)h->sid);
        }
    if (!zkd_leader_has_quorum(l, synced)) {
        kz_info(ZKD_COMP, "Shutting down: Not sufficient followers synced, only synced with sids: [ %s ]", ids);
        zkd_leader_step_down(l, "Not sufficient followers synced");
    }
}

static void zkd_leader_limit(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    zkd_leader *l = arg;
    if (l->phase == PH_BROADCAST)
        return;
    kz_warn(ZKD_COMP, "%s", l->phase == PH_DISCOVERY ? "Timeout while waiting for epoch from quorum"
                                                      : "Timeout while waiting for NEWLEADER to be acked by quorum");
    zkd_leader_step_down(l, "initLimit exceeded");
}

zkd_leader *zkd_leader_start(zkd_quorum *q)
{
    zkd_server *s = q->s;
    const zkd_server_def *self = zkd_config_self(s->cfg);
    zkd_leader *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->q = q;
    l->s = s;
    l->max_accepted = q->accepted_epoch;
    l->started_us = kz_mono_us();
    l->config_text = zkd_config_membership(s->cfg, &l->config_len);
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    char spec[300];
    const char *host = s->cfg->quorum_listen_on_all_ips ? "0.0.0.0" : self->host;
    snprintf(spec, sizeof spec, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, self->quorum_port);
    int64_t half = s->cfg->tick_time / 2, lim = (int64_t)s->cfg->init_limit * s->cfg->tick_time;
    struct timeval htv = { (time_t)(half / 1000), (suseconds_t)((half % 1000) * 1000) };
    struct timeval ltv = { (time_t)(lim / 1000), (suseconds_t)((lim % 1000) * 1000) };
    if (!l->config_text || evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss, &sl) != 0 ||
        !(l->lst = evconnlistener_new_bind(s->base, zkd_leader_accept, l,
                                           LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 64,
                                           (struct sockaddr *)&ss, sl)) ||
        !(l->tick_ev = event_new(s->base, -1, EV_PERSIST, zkd_leader_tick, l)) ||
        !(l->sweep_ev = event_new(s->base, -1, 0, zkd_leader_sweep, l)) ||
        !(l->limit_ev = event_new(s->base, -1, 0, zkd_leader_limit, l)) || event_add(l->tick_ev, &htv) ||
        event_add(l->limit_ev, &ltv)) {
        kz_error(ZKD_COMP, "cannot lead: quorum port %s: %s", spec, strerror(errno));
        zkd_leader_free(l);
        return NULL;
    }
    kz_info(ZKD_COMP, "LEADING - leader on %s, last zxid 0x%llx", spec, (unsigned long long)zkd_dt_last_zxid(s->dt));
    if (q->nvoters == 1) { /* a quorum of one: no one to wait for */
        l->epoch = l->max_accepted + 1;
        zkd_quorum_set_accepted_epoch(q, l->epoch);
        l->phase = PH_SYNC;
        zkd_leader_check_epoch_acks(l);
    }
    return l;
}

void zkd_leader_free(zkd_leader *l)
{
    if (!l)
        return;
    while (l->lhs) {
        zkd_lh *h = l->lhs;
        l->lhs = h->next;
        zkd_qcnx_free(h->cx);
        free(h);
    }
    while (l->syncs_head) {
        zkd_req *r = l->syncs_head;
        l->syncs_head = r->tnext;
        r->is_txn = false;
        if (!r->conn)
            zkd_req_free(r);
    }
    if (l->lst)
        evconnlistener_free(l->lst);
    struct event *evs[] = { l->tick_ev, l->sweep_ev, l->limit_ev };
    for (size_t i = 0; i < 3; i++)
        if (evs[i])
            event_free(evs[i]);
    free(l->lsyncs);
    free(l->config_text);
    free(l);
}

void zkd_leader_stats(const zkd_leader *l, zkd_leader_info *out)
{
    memset(out, 0, sizeof *out);
    for (const zkd_lh *h = l->lhs; h; h = h->next) {
        if (h->dead || !h->info_seen)
            continue;
        out->learners++;
        if (h->st == LH_RUNNING) {
            if (h->observer)
                out->synced_observers++;
            else
                out->synced_followers++;
        }
    }
    out->pending_syncs = (int)l->nlsyncs;
    out->uptime_ms = (kz_mono_us() - l->started_us) / 1000;
    for (int sid = 0; sid < 256; sid++)
        if (l->served[sid / 64] & (1ull << (sid % 64)))
            out->served[out->nserved++] = sid;
}
