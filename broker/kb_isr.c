/* broker/kb_isr.c -- the leader's side of replication: what it knows of each
 * follower, the high watermark, and the in-sync replica set, as Kafka 2.x's
 * Partition does it in ZooKeeper mode (the leader writes the ISR itself).
 *
 * Follower state: each follower fetch reports the follower's log end offset
 * (its fetch offset) and may mark it caught up (kb_follower). The high
 * watermark is the smallest LEO of the ISR (the leader's included); it
 * never goes down while this broker leads.
 *
 * ISR changes: a follower outside the ISR whose LEO reaches the high
 * watermark and this leader epoch's start offset joins; an ISR follower not
 * caught up for replica.lag.time.max.ms (and not at the leader's LEO) leaves,
 * checked every half of that time. Either change is written to
 * /brokers/topics/<t>/partitions/<p>/state as
 * {"controller_epoch":C,"leader":me,"version":1,"leader_epoch":E,"isr":[...]}
 * conditional on the znode version the controller last gave us (one write
 * in flight per partition); on success the new version is kept, on
 * BADVERSION the change is dropped (the controller knows better and will
 * send a LeaderAndIsr). Changed partitions are announced to the controller
 * with a sequential /isr_change_notification/isr_change_ znode, at most every
 * 2.5 s, once 5 s passed without a new change or 60 s since the last
 * announcement (Kafka's ReplicaManager.maybePropagateIsrChanges).
 * Locality: broker loop thread only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "kb_log.h"
#include "kb_rm_int.h"
#include "kb_server.h"
#include "kb_zk.h"
#include "kz_log.h"
#include "kz_time.h"
#include "kz_vec.h"
#include "kz_zkc.h"

#define KB_PART_LOG "kafka.cluster.Partition"
#define KB_ISR_PROP_INTERVAL_MS 2500
#define KB_ISR_PROP_BLACKOUT_MS 5000
#define KB_ISR_PROP_MAX_MS 60000

bool kb_ids_has(const kb_md_ids *ids, int32_t id)
{
    for (int32_t i = 0; i < ids->n; i++)
        if (ids->v[i] == id)
            return true;
    return false;
}

const char *kb_ids_str(const kb_md_ids *ids, char *buf, size_t n)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int32_t i = 0; i < ids->n && at < n; i++) {
        int w = snprintf(buf + at, n - at, i ? ",%d" : "%d", ids->v[i]);
        if (w < 0)
            break;
        at += (size_t)w;
    }
    return buf;
}

static kb_follower *kb_part_follower(kb_part *p, int32_t id)
{
    for (int32_t i = 0; i < p->nfollowers; i++)
        if (p->followers[i].id == id)
            return &p->followers[i];
    return NULL;
}

bool kb_part_update_hw(kb_part *p)
{
    if (!p->is_leader)
        return false;
    int64_t hw = kb_log_end_offset(p->log);
    for (int32_t i = 0; i < p->nfollowers; i++)
        if (kb_ids_has(&p->isr, p->followers[i].id) && p->followers[i].leo < hw)
            hw = p->followers[i].leo;
    if (hw <= p->hw)
        return false;
    p->hw = hw;
    kb_log_set_high_watermark(p->log, hw);
    return true;
}

int kb_part_reset_followers(kb_part *p, int32_t self, bool keep)
{
    int64_t now = kz_mono_ms();
    kb_follower *fol = calloc((size_t)(p->replicas.n ? p->replicas.n : 1), sizeof *fol);
    if (!fol)
        return KZ_ENOMEM;
    int32_t n = 0;
    for (int32_t i = 0; i < p->replicas.n; i++) {
        int32_t id = p->replicas.v[i];
        if (id == self)
            continue;
        kb_follower *old = keep ? kb_part_follower(p, id) : NULL;
        if (old) {
            fol[n++] = *old; /* same leader, new epoch: what we knew still holds */
            continue;
        }
        /* Kafka's makeLeader: LEO unknown until it fetches; ISR members count as caught up
         * now so that they are not dropped before they had a chance to fetch. */
        fol[n++] = (kb_follower){
            .id = id, .leo = -1, .caught_up_ms = kb_ids_has(&p->isr, id) ? now : 0,
            .last_fetch_ms = now, .last_fetch_leader_leo = p->epoch_start_offset,
        };
    }
    free(p->followers);
    p->followers = fol;
    p->nfollowers = n;
    return 0;
}

/* ---- ISR writes ---- */

typedef struct isr_write {
    kb_rm *rm;
    char *topic;
    int32_t partition;
    int32_t leader_epoch;
    kb_md_ids isr;
} isr_write;

static void isr_write_free(isr_write *w)
{
    free(w->topic);
    free(w->isr.v);
    free(w);
}

void kb_rm_isr_changed(kb_rm *rm, const kb_part *p)
{
    rm->last_chg_ms = kz_mono_ms();
    for (size_t i = 0; i < rm->nchg; i++)
        if (rm->chg[i].partition == p->index && strcmp(rm->chg[i].topic, p->topic) == 0)
            return;
    char *t = strdup(p->topic);
    if (!t || KZ_VEC_RESERVE(rm->chg, rm->capchg, rm->nchg + 1, 16) != 0) {
        free(t);
        return; /* the controller learns it from the next LeaderAndIsr round instead */
    }
    rm->chg[rm->nchg++] = (kb_isr_chg){ t, p->index };
}

static void isr_write_done(void *ctx, const kz_zkc_result *res)
{
    isr_write *w = ctx;
    kb_rm *rm = w->rm;
    kb_part *p = kb_rm_get(rm, w->topic, (int32_t)strlen(w->topic), w->partition);
    if (!p || !p->is_leader || p->leader_epoch != w->leader_epoch) {
        if (p)
            p->isr_writing = false;
        isr_write_free(w);
        return;
    }
    p->isr_writing = false;
    char buf[256];
    if (res->rc == KZ_ZOK) {
        free(p->isr.v);
        p->isr = w->isr;
        w->isr.v = NULL;
        p->zk_version = res->stat.version;
        kz_info(KB_PART_LOG, "[Partition %s-%d broker=%d] ISR updated to %s and zkVersion updated to [%d]",
                p->topic, p->index, rm->s->broker_id, kb_ids_str(&p->isr, buf, sizeof buf), p->zk_version);
        kb_rm_isr_changed(rm, p);
        kb_part_update_hw(p);
        kb_rm_notify_later(rm, p); /* waiting produces re-check (high watermark, ISR size) */
    } else if (res->rc == KZ_ZBADVERSION) {
        kz_info(KB_PART_LOG, "[Partition %s-%d broker=%d] Cached zkVersion %d not equal to that in "
                "zookeeper, skip updating ISR", p->topic, p->index, rm->s->broker_id, p->zk_version);
    } else {
        kz_warn(KB_PART_LOG, "[Partition %s-%d broker=%d] Failed to update ISR to %s: %s", p->topic,
                p->index, rm->s->broker_id, kb_ids_str(&w->isr, buf, sizeof buf), kz_zkc_strerror(res->rc));
    }
    isr_write_free(w);
}

/* Writes @isr (@n ids) as @p's new ISR; the change applies when ZooKeeper took it. */
static void isr_write_start(kb_rm *rm, kb_part *p, const int32_t *isr, int32_t n)
{
    kb_server *s = rm->s;
    isr_write *w = calloc(1, sizeof *w);
    char path[KB_ZK_PATH_MAX];
    if (!w || !(w->topic = strdup(p->topic)) || !(w->isr.v = malloc((size_t)(n ? n : 1) * sizeof(int32_t))))
        goto fail;
    w->rm = rm;
    w->partition = p->index;
    w->leader_epoch = p->leader_epoch;
    memcpy(w->isr.v, isr, (size_t)n * sizeof(int32_t));
    w->isr.n = n;
    kb_zk_pstate st = { .version = 1, .leader = s->broker_id, .leader_epoch = p->leader_epoch,
                        .controller_epoch = p->controller_epoch, .isr = w->isr.v, .n_isr = n };
    size_t len;
    char *data = kb_zk_pstate_encode(&st, &len);
    if (!data || kb_zk_path_partition_state(path, sizeof path, p->topic, p->index) < 0) {
        free(data);
        goto fail;
    }
    int rc = kz_zkc_set(s->zk, path, data, (int32_t)len, p->zk_version, isr_write_done, w);
    free(data);
    if (rc != KZ_ZOK) {
        kz_warn(KB_PART_LOG, "[Partition %s-%d broker=%d] Cannot update ISR now: %s", p->topic, p->index,
                s->broker_id, kz_zkc_strerror(rc));
        goto fail;
    }
    p->isr_writing = true;
    return;
fail:
    kz_error(KB_PART_LOG, "[Partition %s-%d broker=%d] Cannot update the ISR: out of memory or bad name",
             p->topic, p->index, s->broker_id);
    if (w)
        isr_write_free(w);
}

/* ---- follower fetches ---- */

void kb_rm_follower_fetch(kb_rm *rm, kb_part *p, int32_t replica, int64_t fetch_offset)
{
    kb_follower *f = p->is_leader ? kb_part_follower(p, replica) : NULL;
    if (!f)
        return;
    int64_t now = kz_mono_ms();
    int64_t leo = kb_part_leo(p);
    if (fetch_offset >= leo) {
        if (now > f->caught_up_ms)
            f->caught_up_ms = now;
    } else if (fetch_offset >= f->last_fetch_leader_leo && f->last_fetch_ms > f->caught_up_ms) {
        f->caught_up_ms = f->last_fetch_ms;
    }
    f->leo = fetch_offset;
    f->last_fetch_leader_leo = leo;
    f->last_fetch_ms = now;
    if (!kb_ids_has(&p->isr, replica) && !p->isr_writing && fetch_offset >= p->hw &&
        fetch_offset >= p->epoch_start_offset) {
        int32_t n = p->isr.n;
        int32_t *isr = malloc((size_t)(n + 1) * sizeof *isr);
        if (isr) {
            char a[256], b[256];
            memcpy(isr, p->isr.v, (size_t)n * sizeof *isr);
            isr[n] = replica;
            kb_md_ids next = { .v = isr, .n = n + 1 };
            kz_info(KB_PART_LOG, "[Partition %s-%d broker=%d] Expanding ISR from %s to %s", p->topic, p->index,
                    rm->s->broker_id, kb_ids_str(&p->isr, a, sizeof a), kb_ids_str(&next, b, sizeof b));
            isr_write_start(rm, p, isr, n + 1);
            free(isr);
        }
    }
    if (kb_part_update_hw(p))
        kb_rm_notify_later(rm, p);
}

void kb_rm_isr_expire(kb_rm *rm)
{
    int64_t now = kz_mono_ms();
    int64_t lag = rm->s->cfg->replica_lag_time_max_ms;
    for (int i = 0; i < rm->n; i++) {
        kb_part *p = rm->all[i];
        if (!p->is_leader || p->isr_writing || p->isr.n <= 1)
            continue;
        int64_t leo = kb_part_leo(p);
        int32_t *keep = malloc((size_t)p->isr.n * sizeof *keep);
        if (!keep)
            return;
        int32_t nk = 0;
        char out[512];
        size_t at = 0;
        out[0] = '\0';
        for (int32_t k = 0; k < p->isr.n; k++) {
            kb_follower *f = kb_part_follower(p, p->isr.v[k]);
            if (f && f->leo != leo && now - f->caught_up_ms > lag) {
                int w = snprintf(out + at, sizeof out - at, "%s(brokerId: %d, endOffset: %lld)", at ? ", " : "",
                                 f->id, (long long)f->leo);
                if (w > 0 && (size_t)w < sizeof out - at)
                    at += (size_t)w;
                continue;
            }
            keep[nk++] = p->isr.v[k];
        }
        if (nk < p->isr.n) {
            char a[256], b[256];
            kb_md_ids next = { .v = keep, .n = nk };
            kz_info(KB_PART_LOG, "[Partition %s-%d broker=%d] Shrinking ISR from %s to %s. Leader: "
                    "(highWatermark: %lld, endOffset: %lld). Out of sync replicas: %s.", p->topic, p->index,
                    rm->s->broker_id, kb_ids_str(&p->isr, a, sizeof a), kb_ids_str(&next, b, sizeof b),
                    (long long)p->hw, (long long)leo, out);
            isr_write_start(rm, p, keep, nk);
        }
        free(keep);
    }
}

/* ---- propagation to the controller ---- */

static void isr_prop_done(void *ctx, const kz_zkc_result *res)
{
    (void)ctx;
    if (res->rc != KZ_ZOK)
        kz_warn("kafka.server.ReplicaManager", "Failed to write an ISR change notification: %s", kz_zkc_strerror(res->rc));
}

static void kb_rm_isr_propagate(kb_rm *rm, int64_t now)
{
    if (rm->nchg == 0)
        return;
    if (now - rm->last_chg_ms < KB_ISR_PROP_BLACKOUT_MS && now - rm->last_prop_ms < KB_ISR_PROP_MAX_MS)
        return;
    kb_zk_tp *tps = malloc(rm->nchg * sizeof *tps);
    if (!tps)
        return;
    for (size_t i = 0; i < rm->nchg; i++)
        tps[i] = (kb_zk_tp){ rm->chg[i].topic, rm->chg[i].partition };
    size_t len;
    char *data = kb_zk_tp_list_encode(tps, (int32_t)rm->nchg, &len);
    free(tps);
    if (!data)
        return;
    int rc = kz_zkc_create(rm->s->zk, KB_ZK_ISR_CHANGE_SEQ, data, (int32_t)len, KZ_ZKC_SEQUENTIAL,
                           isr_prop_done, NULL);
    free(data);
    if (rc != KZ_ZOK)
        return; /* kept for the next turn */
    for (size_t i = 0; i < rm->nchg; i++)
        free(rm->chg[i].topic);
    rm->nchg = 0;
    rm->last_prop_ms = now;
}

static void kb_rm_on_isr_expire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    kb_rm_isr_expire(arg);
}

static void kb_rm_on_isr_prop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    kb_rm_isr_propagate(arg, kz_mono_ms());
}

int kb_rm_isr_start(kb_rm *rm)
{
    kb_server *s = rm->s;
    int64_t half = s->cfg->replica_lag_time_max_ms / 2;
    if (half < 1)
        half = 1;
    rm->isr_expire_ev = event_new(s->base, -1, EV_PERSIST, kb_rm_on_isr_expire, rm);
    rm->isr_prop_ev = event_new(s->base, -1, EV_PERSIST, kb_rm_on_isr_prop, rm);
    if (!rm->isr_expire_ev || !rm->isr_prop_ev)
        return KZ_ENOMEM;
    struct timeval e = { (time_t)(half / 1000), (suseconds_t)(half % 1000) * 1000 };
    struct timeval pr = { KB_ISR_PROP_INTERVAL_MS / 1000, (KB_ISR_PROP_INTERVAL_MS % 1000) * 1000 };
    event_add(rm->isr_expire_ev, &e);
    event_add(rm->isr_prop_ev, &pr);
    rm->last_prop_ms = kz_mono_ms();
    return 0;
}

void kb_isr_free(kb_rm *rm)
{
    if (rm->isr_expire_ev)
        event_free(rm->isr_expire_ev);
    if (rm->isr_prop_ev)
        event_free(rm->isr_prop_ev);
    for (size_t i = 0; i < rm->nchg; i++)
        free(rm->chg[i].topic);
    free(rm->chg);
}
