/* broker/kb_ctl_chan.c -- what the controller sends to brokers
 * (ControllerBrokerRequestBatch + ControllerChannelManager of Kafka 2.8).
 *
 * A batch gathers, while one event runs, LeaderAndIsr and StopReplica
 * entries per destination and one set of partitions for UpdateMetadata; at
 * the end the batch is turned into requests, per destination in Kafka's
 * order: LeaderAndIsr, UpdateMetadata, StopReplica. Partition states are
 * taken from the context at that moment (the newest).
 *
 * Requests (NOTES.md 6 and the message definitions):
 *   LeaderAndIsr v5: controller id/epoch, broker epoch of the destination,
 *     type 0, per topic (name, id) the partition states (controller epoch of
 *     the state znode, leader, leader epoch, ISR, zk version, replicas, no
 *     adding/removing, is_new), and the live leaders' inter-broker endpoints.
 *   UpdateMetadata v7: per topic (name, id) the partition states with offline
 *     replicas; a topic queued for deletion gets leader -2, leader epoch 0 and
 *     zk version 0 (LeaderAndIsr.duringDelete); every live broker with every
 *     endpoint and its rack.
 *   StopReplica v3: per partition the leader epoch (-2 while the topic is
 *     being deleted) and the delete flag; v1/v2 carry one flag per request.
 *
 * Each live broker has one kb_client (resend on reconnect, one request in
 * flight, as Kafka's RequestSendThread). Responses: LeaderAndIsr and
 * UpdateMetadata errors are logged; StopReplica answers to deletions become
 * CEV_STOP_REPLICA_RESP events.
 * Locality: broker loop thread only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kb_client.h"
#include "kb_ctl_int.h"
#include "kz_vec.h"

/* -------------------------------------------------------------- batches */

void kb_ctl_batch_init(kb_ctl_batch *b) { memset(b, 0, sizeof *b); }

void kb_ctl_batch_clear(kb_ctl_batch *b)
{
    free(b->e);
    free(b->um_to);
    free(b->um_parts);
    memset(b, 0, sizeof *b);
}

void kb_ctl_batch_reset(kb_ctl_batch *b)
{
    b->n = b->num = b->nump = 0;
    b->oom = false;
    b->sorted = true;
}

bool kb_ctl_batch_empty(const kb_ctl_batch *b) { return b->n == 0 && b->num == 0; }

static void batch_add(kb_ctl_batch *b, int32_t broker, kb_ctl_topic *t, int32_t p, uint8_t kind, bool flag)
{
    if (KZ_VEC_RESERVE(b->e, b->cap, b->n + 1, 32) != 0) {
        b->oom = true;
        return;
    }
    b->e[b->n++] = (ctl_bent){ broker, t, p, kind, flag };
    b->sorted = false;
}

static void batch_um_part(kb_ctl_batch *b, kb_ctl_topic *t, int32_t p)
{
    if (KZ_VEC_RESERVE(b->um_parts, b->capump, b->nump + 1, 32) != 0) {
        b->oom = true;
        return;
    }
    b->um_parts[b->nump++] = (ctl_btp){ t, p };
    b->sorted = false;
}

void kb_ctl_batch_um(kb_ctl_batch *b, const kb_ctl_ctx *x, const int32_t *to, size_t n,
                     kb_ctl_topic *t, int32_t p)
{
    for (size_t i = 0; i < n; i++) {
        if (to[i] < 0 || !kb_ctl_ctx_is_live(x, to[i]))
            continue;
        if (KZ_VEC_RESERVE(b->um_to, b->capum, b->num + 1, 32) != 0) {
            b->oom = true;
            return;
        }
        b->um_to[b->num++] = to[i];
        b->sorted = false;
    }
    if (t)
        batch_um_part(b, t, p);
}

void kb_ctl_batch_lai(kb_ctl_batch *b, const kb_ctl_ctx *x, const int32_t *to, int32_t n,
                      kb_ctl_topic *t, int32_t p, bool is_new)
{
    for (int32_t i = 0; i < n; i++)
        if (to[i] >= 0 && kb_ctl_ctx_is_live(x, to[i]))
            batch_add(b, to[i], t, p, CB_LAI, is_new);
    kb_ctl_batch_um(b, x, x->live_ids, x->nbrokers, t, p);
}

void kb_ctl_batch_stop(kb_ctl_batch *b, int32_t broker, kb_ctl_topic *t, int32_t p, bool del)
{
    batch_add(b, broker, t, p, CB_STOP, del);
}

static int cmp_tp(const kb_ctl_topic *ta, int32_t pa, const kb_ctl_topic *tb, int32_t pb)
{
    int c = ta == tb ? 0 : strcmp(ta->name, tb->name);
    return c ? c : (pa > pb) - (pa < pb);
}

static int cmp_bent(const void *a, const void *b)
{
    const ctl_bent *x = a, *y = b;
    if (x->broker != y->broker)
        return (x->broker > y->broker) - (x->broker < y->broker);
    if (x->kind != y->kind)
        return (x->kind > y->kind) - (x->kind < y->kind);
    return cmp_tp(x->t, x->p, y->t, y->p);
}

static int cmp_btp(const void *a, const void *b)
{
    const ctl_btp *x = a, *y = b;
    return cmp_tp(x->t, x->p, y->t, y->p);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

void kb_ctl_batch_finish(kb_ctl_batch *b)
{
    if (b->sorted)
        return;
    if (b->n) {
        qsort(b->e, b->n, sizeof *b->e, cmp_bent);
        size_t k = 0;
        for (size_t i = 0; i < b->n; i++) {
            ctl_bent *e = &b->e[i];
            if (k && b->e[k - 1].broker == e->broker && b->e[k - 1].kind == e->kind &&
                b->e[k - 1].t == e->t && b->e[k - 1].p == e->p) {
                /* is_new stays once set; a later delete request wins over a plain stop */
                b->e[k - 1].flag = b->e[k - 1].flag || e->flag;
                continue;
            }
            b->e[k++] = *e;
        }
        b->n = k;
    }
    if (b->num) {
        qsort(b->um_to, b->num, sizeof *b->um_to, cmp_i32);
        size_t k = 0;
        for (size_t i = 0; i < b->num; i++)
            if (!k || b->um_to[k - 1] != b->um_to[i])
                b->um_to[k++] = b->um_to[i];
        b->num = k;
    }
    if (b->nump) {
        qsort(b->um_parts, b->nump, sizeof *b->um_parts, cmp_btp);
        size_t k = 0;
        for (size_t i = 0; i < b->nump; i++)
            if (!k || b->um_parts[k - 1].t != b->um_parts[i].t || b->um_parts[k - 1].p != b->um_parts[i].p)
                b->um_parts[k++] = b->um_parts[i];
        b->nump = k;
    }
    b->sorted = true;
}

size_t kb_ctl_batch_dests(kb_ctl_batch *b, int32_t *out)
{
    kb_ctl_batch_finish(b);
    size_t n = 0, i = 0, j = 0;
    /* merge the sorted entry destinations with the sorted UM destinations */
    while (i < b->n || j < b->num) {
        int32_t v;
        if (j >= b->num || (i < b->n && b->e[i].broker <= b->um_to[j]))
            v = b->e[i++].broker;
        else
            v = b->um_to[j++];
        if (!n || out[n - 1] != v)
            out[n++] = v;
    }
    return n;
}

/* Entries [*lo, *hi) of @kind for @broker (entries are sorted). */
static void batch_range(const kb_ctl_batch *b, int32_t broker, uint8_t kind, size_t *lo, size_t *hi)
{
    size_t i = 0;
    while (i < b->n && (b->e[i].broker < broker || (b->e[i].broker == broker && b->e[i].kind < kind)))
        i++;
    size_t j = i;
    while (j < b->n && b->e[j].broker == broker && b->e[j].kind == kind)
        j++;
    *lo = i;
    *hi = j;
}

/* ------------------------------------------------------------ builders */

static kz_kai32 ids_copy(kz_arena *a, const int32_t *v, int32_t n)
{
    kz_kai32 r = { n, NULL };
    if (n > 0) {
        r.v = kz_arena_alloc(a, (size_t)n * sizeof *r.v);
        if (r.v)
            memcpy(r.v, v, (size_t)n * sizeof *r.v);
        else
            r.n = 0;
    }
    return r;
}

/* A run of consecutive partition states of one topic in a request. */
typedef struct ctl_trun {
    const kb_ctl_topic *t;
    size_t first, n;
} ctl_trun;

/* Groups @n partition states, whose topics are @tops[0..n) in request order, into runs of one
 * topic each (the topic entries of LeaderAndIsr v2+, UpdateMetadata v5+ and StopReplica v1+
 * point into the partition arrays). Returns the runs (from @a) and their count in *@nruns, or NULL when out
 * of memory. */
static ctl_trun *topic_runs(kz_arena *a, const kb_ctl_topic *const *tops, size_t n, size_t *nruns)
{
    ctl_trun *r = kz_arena_alloc(a, (n ? n : 1) * sizeof *r);
    size_t k = 0;
    for (size_t i = 0; r && i < n; i++) {
        if (k == 0 || r[k - 1].t != tops[i])
            r[k++] = (ctl_trun){ tops[i], i, 0 };
        r[k - 1].n++;
    }
    *nruns = k;
    return r;
}

/* Fills the @nt topic states @ts from @runs over the partition states @ps. A macro because
 * the LeaderAndIsr and UpdateMetadata topic states are distinct generated types with the same
 * fields (topic_name, topic_id, partition_states). */
#define CTL_TOPIC_STATES_FILL(ts, runs, nt, ps)                        \
    do {                                                               \
        for (size_t r_ = 0; r_ < (nt); r_++) {                         \
            (ts)[r_].topic_name = kz_str_c((runs)[r_].t->name);        \
            if ((runs)[r_].t->has_id)                                  \
                (ts)[r_].topic_id = (runs)[r_].t->id;                  \
            (ts)[r_].partition_states.v = &(ps)[(runs)[r_].first];     \
            (ts)[r_].partition_states.n = (int32_t)(runs)[r_].n;       \
        }                                                              \
    } while (0)

static int64_t dest_epoch(const kb_ctl_ctx *x, int32_t broker)
{
    for (size_t i = 0; i < x->nbrokers; i++)
        if (x->brokers[i].id == broker)
            return x->brokers[i].epoch;
    return -1;
}

int32_t kb_ctl_build_lai(const kb_ctl_ctx *x, kb_ctl_batch *b, int32_t ctl_id, int32_t broker,
                         int16_t ver, const char *listener, kz_arena *a, kz_LeaderAndIsrRequest *out)
{
    memset(out, 0, sizeof *out);
    kb_ctl_batch_finish(b);
    size_t lo, hi;
    batch_range(b, broker, CB_LAI, &lo, &hi);
    size_t n = 0;
    for (size_t i = lo; i < hi; i++)
        n += b->e[i].t->parts[b->e[i].p].has_lai;
    if (n == 0)
        return 0;
    out->controller_id = ctl_id;
    out->controller_epoch = x->epoch;
    out->broker_epoch = dest_epoch(x, broker);
    out->type = 0;
    kz_LeaderAndIsrPartitionState *ps = kz_arena_alloc(a, n * sizeof *ps);
    int32_t *leaders = kz_arena_alloc(a, n * sizeof *leaders);
    const kb_ctl_topic **tops = kz_arena_alloc(a, n * sizeof *tops);
    if (!ps || !leaders || !tops)
        return 0;
    size_t k = 0, nleaders = 0;
    for (size_t i = lo; i < hi; i++) {
        const kb_ctl_topic *t = b->e[i].t;
        const kb_ctl_part *part = &t->parts[b->e[i].p];
        if (!part->has_lai)
            continue;
        tops[k] = t;
        kz_LeaderAndIsrPartitionState *s = &ps[k++];
        s->topic_name = kz_str_c(t->name);
        s->partition_index = b->e[i].p;
        s->controller_epoch = part->lai.ctl_epoch;
        s->leader = part->lai.leader;
        s->leader_epoch = part->lai.leader_epoch;
        s->isr = ids_copy(a, part->lai.isr.v, part->lai.isr.n);
        s->zk_version = part->lai.zk_version;
        s->replicas = ids_copy(a, part->replicas.v, part->replicas.n);
        s->adding_replicas = (kz_kai32){ 0, NULL };
        s->removing_replicas = (kz_kai32){ 0, NULL };
        s->is_new = b->e[i].flag;
        bool seen = false;
        for (size_t j = 0; j < nleaders; j++)
            seen = seen || leaders[j] == s->leader;
        if (!seen && s->leader >= 0)
            leaders[nleaders++] = s->leader;
    }
    if (ver >= 2) {
        size_t nt = 0;
        const ctl_trun *runs = topic_runs(a, tops, n, &nt);
        kz_LeaderAndIsrTopicState *ts = runs ? kz_arena_alloc(a, (nt ? nt : 1) * sizeof *ts) : NULL;
        if (!ts)
            return 0;
        CTL_TOPIC_STATES_FILL(ts, runs, nt, ps);
        out->topic_states.n = (int32_t)nt;
        out->topic_states.v = ts;
        out->ungrouped_partition_states.n = 0;
    } else {
        out->ungrouped_partition_states.n = (int32_t)n;
        out->ungrouped_partition_states.v = ps;
        out->topic_states.n = 0;
    }
    /* live leaders: the leaders of these partitions that are alive, at their
     * inter-broker endpoint */
    kz_LeaderAndIsrLiveLeader *ll = kz_arena_alloc(a, (nleaders ? nleaders : 1) * sizeof *ll);
    size_t nl = 0;
    for (size_t j = 0; ll && j < nleaders; j++) {
        for (size_t i = 0; i < x->nbrokers; i++) {
            if (x->brokers[i].id != leaders[j])
                continue;
            const kb_ctl_ep *ep = kb_ctl_broker_ep(&x->brokers[i], listener);
            if (ep)
                ll[nl++] = (kz_LeaderAndIsrLiveLeader){ .broker_id = leaders[j], .host_name = kz_str_c(ep->host),
                                                         .port = ep->port };
        }
    }
    out->live_leaders.n = (int32_t)nl;
    out->live_leaders.v = ll;
    return (int32_t)n;
}

static bool um_is_dest(const kb_ctl_batch *b, int32_t broker)
{
    for (size_t i = 0; i < b->num; i++)
        if (b->um_to[i] == broker)
            return true;
    return false;
}

int32_t kb_ctl_build_um(const kb_ctl_ctx *x, kb_ctl_batch *b, int32_t ctl_id, int32_t broker,
                        int16_t ver, kz_arena *a, kz_UpdateMetadataRequest *out)
{
    memset(out, 0, sizeof *out);
    kb_ctl_batch_finish(b);
    if (!um_is_dest(b, broker))
        return -1;
    out->controller_id = ctl_id;
    out->controller_epoch = x->epoch;
    out->broker_epoch = dest_epoch(x, broker);
    size_t n = 0;
    for (size_t i = 0; i < b->nump; i++)
        n += b->um_parts[i].t->parts[b->um_parts[i].p].has_lai;
    kz_UpdateMetadataPartitionState *ps = kz_arena_alloc(a, (n ? n : 1) * sizeof *ps);
    const kb_ctl_topic **tops = kz_arena_alloc(a, (n ? n : 1) * sizeof *tops);
    if (!ps || !tops)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < b->nump; i++) {
        const kb_ctl_topic *t = b->um_parts[i].t;
        const kb_ctl_part *part = &t->parts[b->um_parts[i].p];
        if (!part->has_lai)
            continue; /* "Leader not yet assigned": Kafka skips it too */
        tops[k] = t;
        kz_UpdateMetadataPartitionState *s = &ps[k++];
        s->topic_name = kz_str_c(t->name);
        s->partition_index = b->um_parts[i].p;
        s->controller_epoch = part->lai.ctl_epoch;
        if (t->queued_delete) {
            s->leader = KB_CTL_LEADER_DURING_DELETE;
            s->leader_epoch = 0;
            s->zk_version = 0;
        } else {
            s->leader = part->lai.leader;
            s->leader_epoch = part->lai.leader_epoch;
            s->zk_version = part->lai.zk_version;
        }
        s->isr = ids_copy(a, part->lai.isr.v, part->lai.isr.n);
        s->replicas = ids_copy(a, part->replicas.v, part->replicas.n);
        kb_ctl_ids off;
        kb_ctl_part_offline(x, part, &off);
        s->offline_replicas = ids_copy(a, off.v, off.n);
    }
    if (ver >= 5) {
        size_t nt = 0;
        const ctl_trun *runs = topic_runs(a, tops, k, &nt);
        kz_UpdateMetadataTopicState *ts = runs ? kz_arena_alloc(a, (nt ? nt : 1) * sizeof *ts) : NULL;
        if (!ts)
            return -1;
        CTL_TOPIC_STATES_FILL(ts, runs, nt, ps);
        out->topic_states.n = (int32_t)nt;
        out->topic_states.v = ts;
    } else {
        out->ungrouped_partition_states.n = (int32_t)k;
        out->ungrouped_partition_states.v = ps;
    }
    kz_UpdateMetadataBroker *lb = kz_arena_alloc(a, (x->nbrokers ? x->nbrokers : 1) * sizeof *lb);
    if (!lb)
        return -1;
    for (size_t i = 0; i < x->nbrokers; i++) {
        const kb_ctl_broker *br = &x->brokers[i];
        kz_UpdateMetadataBroker *o = &lb[i];
        o->id = br->id;
        o->rack = br->rack ? kz_str_c(br->rack) : KZ_STR_NULL;
        o->v0_host = KZ_STR_LIT("");
        o->v0_port = -1;
        kz_UpdateMetadataEndpoint *eps = kz_arena_alloc(a, (br->nep ? (size_t)br->nep : 1) * sizeof *eps);
        if (!eps)
            return -1;
        for (int32_t j = 0; j < br->nep; j++) {
            eps[j] = (kz_UpdateMetadataEndpoint){ .port = br->eps[j].port, .host = kz_str_c(br->eps[j].host),
                                                  .listener = kz_str_c(br->eps[j].listener),
                                                  .security_protocol = br->eps[j].proto };
            if (br->eps[j].proto == 0 && o->v0_port < 0) {
                o->v0_host = kz_str_c(br->eps[j].host);
                o->v0_port = br->eps[j].port;
            }
        }
        o->endpoints.n = br->nep;
        o->endpoints.v = eps;
    }
    out->live_brokers.n = (int32_t)x->nbrokers;
    out->live_brokers.v = lb;
    return (int32_t)k;
}

int32_t kb_ctl_build_stop(const kb_ctl_ctx *x, kb_ctl_batch *b, int32_t ctl_id, int32_t broker,
                          int16_t ver, int del, kz_arena *a, kz_StopReplicaRequest *out)
{
    memset(out, 0, sizeof *out);
    kb_ctl_batch_finish(b);
    size_t lo, hi;
    batch_range(b, broker, CB_STOP, &lo, &hi);
    size_t n = 0;
    for (size_t i = lo; i < hi; i++)
        n += del < 0 || b->e[i].flag == (del == 1);
    if (n == 0)
        return 0;
    out->controller_id = ctl_id;
    out->controller_epoch = x->epoch;
    out->broker_epoch = dest_epoch(x, broker);
    out->delete_partitions = del == 1;
    /* the selected entries in batch order, where each topic's entries are together */
    const ctl_bent **sel = kz_arena_alloc(a, n * sizeof *sel);
    const kb_ctl_topic **tops = kz_arena_alloc(a, n * sizeof *tops);
    if (!sel || !tops)
        return 0;
    size_t k = 0;
    for (size_t i = lo; i < hi; i++)
        if (del < 0 || b->e[i].flag == (del == 1)) {
            sel[k] = &b->e[i];
            tops[k++] = b->e[i].t;
        }
    size_t nt = 0;
    const ctl_trun *runs = topic_runs(a, tops, n, &nt);
    if (!runs)
        return 0;
    if (ver >= 3) {
        kz_StopReplicaTopicState *ts = kz_arena_alloc(a, nt * sizeof *ts);
        kz_StopReplicaPartitionState *ps = kz_arena_alloc(a, n * sizeof *ps);
        if (!ts || !ps)
            return 0;
        for (size_t i = 0; i < n; i++) {
            const ctl_bent *e = sel[i];
            const kb_ctl_part *part = &e->t->parts[e->p];
            int32_t le = e->t->queued_delete ? KB_CTL_EPOCH_DURING_DELETE
                         : part->has_lai ? part->lai.leader_epoch : -1;
            ps[i] = (kz_StopReplicaPartitionState){ .partition_index = e->p, .leader_epoch = le,
                                                    .delete_partition = e->flag };
        }
        for (size_t r = 0; r < nt; r++) {
            ts[r].topic_name = kz_str_c(runs[r].t->name);
            ts[r].partition_states.v = &ps[runs[r].first];
            ts[r].partition_states.n = (int32_t)runs[r].n;
        }
        out->topic_states.n = (int32_t)nt;
        out->topic_states.v = ts;
    } else if (ver >= 1) {
        kz_StopReplicaTopicV1 *tv = kz_arena_alloc(a, nt * sizeof *tv);
        int32_t *idx = kz_arena_alloc(a, n * sizeof *idx);
        if (!tv || !idx)
            return 0;
        for (size_t i = 0; i < n; i++)
            idx[i] = sel[i]->p;
        for (size_t r = 0; r < nt; r++) {
            tv[r].name = kz_str_c(runs[r].t->name);
            tv[r].partition_indexes.v = &idx[runs[r].first];
            tv[r].partition_indexes.n = (int32_t)runs[r].n;
        }
        out->topics.n = (int32_t)nt;
        out->topics.v = tv;
    } else {
        kz_StopReplicaPartitionV0 *pv = kz_arena_alloc(a, n * sizeof *pv);
        if (!pv)
            return 0;
        for (size_t i = 0; i < n; i++)
            pv[i] = (kz_StopReplicaPartitionV0){ .topic_name = kz_str_c(sel[i]->t->name),
                                                 .partition_index = sel[i]->p };
        out->ungrouped_partitions.n = (int32_t)n;
        out->ungrouped_partitions.v = pv;
    }
    return (int32_t)n;
}

/* ------------------------------------------------------------ channels */

/* What a response callback needs: who asked, when, and for StopReplica the
 * partitions asked about (names copied: the topic may be gone by then). */
typedef struct ctl_req {
    kb_ctl *c;
    uint64_t gen;
    int32_t broker;
    int16_t api;
    bool deleting;
    int32_t ntp;
    ctl_tp_err *tp;
} ctl_req;

static void req_free(ctl_req *r)
{
    for (int32_t i = 0; i < r->ntp; i++)
        free(r->tp[i].topic);
    free(r->tp);
    free(r);
}

typedef struct ctl_chan_ctx {
    kb_ctl *c;
    int32_t broker;
} ctl_chan_ctx;

static void chan_state_cb(void *ctx, kb_client_state st)
{
    ctl_chan_ctx *cc = ctx;
    kb_ctl *c = cc->c;
    if (st != KB_CLIENT_UP || !c->active)
        return;
    kb_ctl_broker *b = kb_ctl_ctx_broker(&c->x, cc->broker);
    const kb_ctl_ep *ep = b ? kb_ctl_broker_ep(b, c->cfg.inter_broker_listener) : NULL;
    if (ep)
        kz_info(KB_CTL_CHAN_COMP, "[RequestSendThread controllerId=%d] Controller %d connected to %s:%d "
                "(id: %d rack: %s) for sending state change requests", c->cfg.broker_id, c->cfg.broker_id,
                ep->host, ep->port, b->id, b->rack ? b->rack : "null");
}

void ctl_chan_add(kb_ctl *c, kb_ctl_broker *b)
{
    if (b->chan)
        return;
    const kb_ctl_ep *ep = kb_ctl_broker_ep(b, c->cfg.inter_broker_listener);
    if (!ep || !ep->host || !ep->host[0]) {
        ctl_error(c, "Broker %d has no endpoint for listener %s; cannot send it state change requests",
                  b->id, c->cfg.inter_broker_listener);
        return;
    }
    char cid[32];
    snprintf(cid, sizeof cid, "%d", c->cfg.broker_id); /* Kafka's controller channel client id */
    kb_client_cfg cc = {
        .host = ep->host, .port = ep->port, .client_id = cid,
        .max_frame = c->cfg.max_frame_bytes > 0 ? c->cfg.max_frame_bytes : 100 * 1024 * 1024,
        .backoff_ms = 100, .backoff_max_ms = 1000,
        .request_timeout_ms = c->cfg.request_timeout_ms, .max_inflight = 1, .resend = true,
    };
    b->chan = kb_client_new(c->base, NULL, &cc);
    if (!b->chan) {
        ctl_error(c, "Out of memory creating the channel to broker %d", b->id);
        return;
    }
    ctl_chan_ctx *x = malloc(sizeof *x);
    if (x) {
        *x = (ctl_chan_ctx){ c, b->id };
        kb_client_set_state_cb(b->chan, chan_state_cb, x);
        b->chan_ctx = x; /* released with the channel */
    }
    kb_client_connect(b->chan);
}

static void chan_free(kb_ctl_broker *b)
{
    kb_client *cli = b->chan;
    void *x = b->chan_ctx;
    b->chan = NULL;
    b->chan_ctx = NULL;
    kb_client_free(cli); /* pending requests complete with ECLOSED (ignored) */
    free(x);
}

void ctl_chan_remove(kb_ctl *c, int32_t broker)
{
    kb_ctl_broker *b = kb_ctl_ctx_broker(&c->x, broker);
    if (b && b->chan)
        chan_free(b);
}

void ctl_chan_close_all(kb_ctl *c)
{
    for (size_t i = 0; i < c->x.nbrokers; i++)
        if (c->x.brokers[i].chan)
            chan_free(&c->x.brokers[i]);
}

static void chan_on_resp(void *ctx, int err, const void *resp)
{
    ctl_req *r = ctx;
    kb_ctl *c = r->c;
    if (c->freeing || r->gen != c->gen || !c->active || err == KB_CLIENT_ECLOSED) {
        req_free(r);
        return;
    }
    if (err) {
        ctl_warn(c, "Request %d to broker %d failed: %d", r->api, r->broker, err);
        req_free(r);
        return;
    }
    if (r->api == 4) {
        const kz_LeaderAndIsrResponse *lr = resp;
        if (lr->error_code)
            ctl_warn(c, "LeaderAndIsr request to broker %d failed with error %d", r->broker, lr->error_code);
    } else if (r->api == 6) {
        const kz_UpdateMetadataResponse *ur = resp;
        if (ur->error_code)
            ctl_warn(c, "UpdateMetadata request to broker %d failed with error %d", r->broker, ur->error_code);
    } else if (r->api == 5 && r->deleting) {
        const kz_StopReplicaResponse *sr = resp;
        ctl_ev *ev = calloc(1, sizeof *ev);
        if (!ev) {
            req_free(r);
            return;
        }
        ev->type = CEV_STOP_REPLICA_RESP;
        ev->broker = r->broker;
        ev->error = sr->error_code;
        /* errors per asked partition, from the answer's list */
        for (int32_t i = 0; i < r->ntp; i++) {
            r->tp[i].error = sr->error_code;
            for (int32_t j = 0; j < sr->partition_errors.n; j++) {
                const kz_StopReplicaPartitionError *pe = &sr->partition_errors.v[j];
                if (pe->partition_index == r->tp[i].partition && kz_str_eq(pe->topic_name, kz_str_c(r->tp[i].topic))) {
                    if (!sr->error_code)
                        r->tp[i].error = pe->error_code;
                    break;
                }
            }
        }
        ev->ntp = r->ntp;
        ev->tp = r->tp;
        r->ntp = 0;
        r->tp = NULL;
        ctl_enqueue_ev(c, ev);
    }
    req_free(r);
}

/* Sends one request to @b; the context @r is taken. */
static void chan_send(kb_ctl *c, kb_ctl_broker *b, const kz_kmsg *req, const kz_kmsg *resp, int16_t ver,
                      const void *body, ctl_req *r)
{
    if (!b->chan || kb_client_send(b->chan, req, resp, ver, body, chan_on_resp, r) != KB_CLIENT_OK) {
        ctl_warn(c, "Cannot send %s to broker %d", req->name, b->id);
        req_free(r);
    }
}

static ctl_req *req_new(kb_ctl *c, int32_t broker, int16_t api)
{
    ctl_req *r = calloc(1, sizeof *r);
    if (r)
        *r = (ctl_req){ .c = c, .gen = c->gen, .broker = broker, .api = api };
    return r;
}

/* The StopReplica partitions for @broker with flag @del (-1 any) into @r. */
static void req_take_stops(kb_ctl_batch *b, int32_t broker, int del, ctl_req *r)
{
    size_t lo, hi;
    batch_range(b, broker, CB_STOP, &lo, &hi);
    r->tp = calloc(hi - lo ? hi - lo : 1, sizeof *r->tp);
    if (!r->tp)
        return;
    for (size_t i = lo; i < hi; i++) {
        if (del >= 0 && b->e[i].flag != (del == 1))
            continue;
        r->tp[r->ntp].topic = strdup(b->e[i].t->name);
        r->tp[r->ntp].partition = b->e[i].p;
        r->deleting = r->deleting || b->e[i].t->queued_delete;
        if (r->tp[r->ntp].topic)
            r->ntp++;
    }
}

void ctl_chan_send_batch(kb_ctl *c)
{
    kb_ctl_batch *b = &c->batch;
    if (b->oom)
        ctl_error(c, "Out of memory gathering state change requests; some were dropped");
    kb_ctl_batch_finish(b);
    int32_t *dests = malloc((b->n + b->num + 1) * sizeof *dests);
    if (!dests) {
        kb_ctl_batch_reset(b);
        return;
    }
    size_t nd = kb_ctl_batch_dests(b, dests);
    for (size_t d = 0; d < nd; d++) {
        kb_ctl_broker *br = kb_ctl_ctx_broker(&c->x, dests[d]);
        if (!br)
            continue; /* not live any more */
        kz_arena_rewind(&c->arena);
        kz_LeaderAndIsrRequest lai;
        if (kb_ctl_build_lai(&c->x, b, c->cfg.broker_id, br->id, c->cfg.leader_and_isr_version,
                             c->cfg.inter_broker_listener, &c->arena, &lai) > 0) {
            ctl_req *r = req_new(c, br->id, 4);
            if (r)
                chan_send(c, br, &kz_kmsg_LeaderAndIsrRequest, &kz_kmsg_LeaderAndIsrResponse,
                          c->cfg.leader_and_isr_version, &lai, r);
        }
        kz_arena_rewind(&c->arena);
        kz_UpdateMetadataRequest um;
        if (kb_ctl_build_um(&c->x, b, c->cfg.broker_id, br->id, c->cfg.update_metadata_version, &c->arena,
                            &um) >= 0) {
            ctl_req *r = req_new(c, br->id, 6);
            if (r)
                chan_send(c, br, &kz_kmsg_UpdateMetadataRequest, &kz_kmsg_UpdateMetadataResponse,
                          c->cfg.update_metadata_version, &um, r);
        }
        int16_t sv = c->cfg.stop_replica_version;
        /* v3 carries the flag per partition: one request; older: one per flag */
        for (int del = sv >= 3 ? -1 : 0; del <= (sv >= 3 ? -1 : 1); del++) {
            kz_arena_rewind(&c->arena);
            kz_StopReplicaRequest sr;
            if (kb_ctl_build_stop(&c->x, b, c->cfg.broker_id, br->id, sv, del, &c->arena, &sr) > 0) {
                ctl_req *r = req_new(c, br->id, 5);
                if (!r)
                    continue;
                req_take_stops(b, br->id, del, r);
                chan_send(c, br, &kz_kmsg_StopReplicaRequest, &kz_kmsg_StopReplicaResponse, sv, &sr, r);
            }
        }
    }
    free(dests);
    kb_ctl_batch_reset(b);
}
