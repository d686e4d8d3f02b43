/* broker/kb_ctl_state.c -- the ZooKeeper side of the controller's partition
 * and replica state machines (the decisions are kb_ctl_sm.c's), and the
 * helpers the event handlers share: partition lists, continuations, znode
 * decoding.
 *
 * Partition writes (one guarded multi per partition, conditional on the
 * state znode's version):
 *   PW_NEW      New -> Online: ensure .../partitions/<p>, then create state
 *   PW_ELECT    Offline/Online -> Online: offline-partition election
 *   PW_ISR      OfflineReplica: remove a dead or shutting-down broker from the ISR
 *   PW_PREF     preferred replica election
 *   PW_CSHUT    controlled shutdown: a new leader for a partition led by a
 *               broker that is shutting down
 * Every kind but PW_NEW reads the state znode first (leaders change ISRs in
 * ZooKeeper too) and refuses to go on when a newer controller wrote it.
 * PW_ELECT first looks for a leader in the ISR only; with no live ISR member
 * (and some live replica) it reads the topic's /config/topics/<t> and elects
 * uncleanly when the topic's unclean.leader.election.enable says true, or,
 * without that key, when server.properties does (Kafka's
 * collectUncleanLeaderElectionState over the topic's LogConfig).
 * ElectLeaders(UNCLEAN) asks for an unclean election outright (PWF_UNCLEAN). A
 * write whose znode version moved meanwhile (BADVERSION) reads and decides
 * again, up to PW_ATTEMPTS times; a write fenced by the controller epoch
 * makes this broker resign. Each success updates the context and queues
 * LeaderAndIsr (and with it UpdateMetadata) in the batch.
 * Locality: broker loop thread only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kb_ctl_int.h"

#define PW_ATTEMPTS 5

enum { PW_NEW, PW_ELECT, PW_ISR, PW_PREF, PW_CSHUT };

/* PW_ELECT flags (the op's arg). */
enum {
    PWF_UNCLEAN = 1,        /* unclean election asked (ElectLeaders UNCLEAN) */
    PWF_TOPIC_READ = 2,     /* the topic's config was read ... */
    PWF_TOPIC_UNCLEAN = 4,  /* ... and allows unclean election (override, else the default) */
};

static const char *const pw_strategy[] = {
    [PW_NEW] = "", [PW_ELECT] = "OfflinePartitionLeaderElectionStrategy", [PW_ISR] = "",
    [PW_PREF] = "PreferredReplicaPartitionLeaderElectionStrategy",
    [PW_CSHUT] = "ControlledShutdownPartitionLeaderElectionStrategy",
};

/* ------------------------------------------------------------- plists */

void ctl_plist_add(ctl_plist *l, const char *topic, int32_t p)
{
    if (l->n == l->cap) {
        int32_t cap = l->cap ? l->cap * 2 : 16;
        char **nt = realloc(l->topic, (size_t)cap * sizeof *nt);
        KB_CTL_ASSERT(nt != NULL, "out of memory");
        l->topic = nt;
        int32_t *np = realloc(l->part, (size_t)cap * sizeof *np);
        KB_CTL_ASSERT(np != NULL, "out of memory");
        l->part = np;
        l->cap = cap;
    }
    l->topic[l->n] = strdup(topic);
    KB_CTL_ASSERT(l->topic[l->n] != NULL, "out of memory");
    l->part[l->n++] = p;
}

void ctl_plist_free(ctl_plist *l)
{
    for (int32_t i = 0; i < l->n; i++)
        free(l->topic[i]);
    free(l->topic);
    free(l->part);
    memset(l, 0, sizeof *l);
}

void ctl_plist_free_fn(void *l)
{
    if (l) {
        ctl_plist_free(l);
        free(l);
    }
}

void ctl_plist_offline(kb_ctl *c, ctl_plist *l)
{
    for (size_t i = 0; i < c->x.ntopics; i++) {
        kb_ctl_topic *t = c->x.topics[i];
        if (t->queued_delete)
            continue;
        for (int32_t p = 0; p < t->nparts; p++)
            if (t->parts[p].pstate == KB_PS_NEW || t->parts[p].pstate == KB_PS_OFFLINE)
                ctl_plist_add(l, t->name, p);
    }
}

/* "t-0,t-1" of a list, for the log; malloc'd. */
char *ctl_plist_str(const ctl_plist *l)
{
    size_t cap = 16;
    for (int32_t i = 0; i < l->n; i++)
        cap += strlen(l->topic[i]) + 14;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    size_t off = 0;
    s[0] = '\0';
    for (int32_t i = 0; i < l->n && off < cap; i++)
        off += (size_t)snprintf(s + off, cap - off, "%s%s-%d", i ? "," : "", l->topic[i], l->part[i]);
    return s;
}

ctl_next *ctl_next_new(ctl_cont_fn *cont, void *arg, ctl_free_fn *arg_free)
{
    ctl_next *n = malloc(sizeof *n);
    KB_CTL_ASSERT(n != NULL, "out of memory");
    *n = (ctl_next){ cont, arg, arg_free };
    return n;
}

void ctl_next_free(void *p)
{
    ctl_next *n = p;
    if (n && n->arg_free)
        n->arg_free(n->arg);
    free(n);
}

/* Runs the wrapped continuation and frees the wrapper. */
void ctl_next_run(kb_ctl *c, void *p)
{
    ctl_next n = *(ctl_next *)p;
    free(p);
    n.cont(c, n.arg);
}

/* ------------------------------------------------------ znode decoding */

static int16_t proto_id(const char *name)
{
    static const char *const names[] = { "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL" };
    for (int16_t i = 0; i < 4; i++)
        if (name && strcmp(name, names[i]) == 0)
            return i;
    return 0;
}

int ctl_broker_parse(kb_ctl *c, int32_t id, const kz_zkc_result *res, kb_ctl_broker *out)
{
    memset(out, 0, sizeof *out);
    kz_arena a = KZ_ARENA_INIT;
    kb_zk_broker zb;
    char err[160];
    if (!res->data || kb_zk_broker_decode(res->data, (size_t)res->data_len, &a, &zb, err, sizeof err) != 0) {
        ctl_error(c, "Cannot read the registration of broker %d: %s", id, res->data ? err : "null data");
        kz_arena_reset(&a);
        return -1;
    }
    out->id = id;
    out->epoch = res->stat.czxid;
    out->eps = calloc((size_t)(zb.n_endpoints ? zb.n_endpoints : 1), sizeof *out->eps);
    bool ok = out->eps != NULL;
    if (ok && zb.rack)
        ok = (out->rack = strdup(zb.rack)) != NULL;
    for (int32_t i = 0; ok && i < zb.n_endpoints; i++) {
        kb_ctl_ep *e = &out->eps[i];
        e->listener = strdup(zb.endpoints[i].listener ? zb.endpoints[i].listener : "");
        e->host = strdup(zb.endpoints[i].host ? zb.endpoints[i].host : "");
        e->port = zb.endpoints[i].port;
        e->proto = proto_id(zb.endpoints[i].protocol);
        out->nep = i + 1;
        ok = e->listener && e->host;
    }
    kz_arena_reset(&a);
    if (!ok) {
        kb_ctl_broker_clear(out);
        ctl_error(c, "Out of memory reading broker %d", id);
        return -1;
    }
    return 0;
}

int32_t ctl_topic_assign(kb_ctl *c, kb_ctl_topic *t, const kb_zk_topic *zt)
{
    for (int32_t i = 0; i < zt->n_parts; i++) {
        if (zt->parts[i].partition != i) {
            ctl_error(c, "Topic %s: partition ids of the assignment are not 0..%d", t->name, zt->n_parts - 1);
            return -1;
        }
        if (zt->parts[i].n_replicas <= 0 || zt->parts[i].n_replicas > KB_CTL_MAX_RF) {
            ctl_error(c, "Topic %s partition %d: %d replicas is not supported (1..%d)", t->name, i,
                      zt->parts[i].n_replicas, KB_CTL_MAX_RF);
            return -1;
        }
    }
    if (zt->has_id) {
        t->id = zt->id;
        t->has_id = true;
    }
    int32_t old = t->nparts;
    if (kb_ctl_topic_grow(t, zt->n_parts) != 0)
        return -1;
    for (int32_t p = old; p < zt->n_parts; p++) {
        kb_ctl_part *part = &t->parts[p];
        part->replicas.n = zt->parts[p].n_replicas;
        memcpy(part->replicas.v, zt->parts[p].replicas, (size_t)part->replicas.n * sizeof(int32_t));
    }
    return t->nparts;
}

int ctl_topic_decode(kb_ctl *c, const char *topic, const kz_zkc_result *res, kz_arena *a, kb_zk_topic *zt)
{
    char err[160];
    if (!res->data || kb_zk_topic_decode(res->data, (size_t)res->data_len, a, zt, err, sizeof err) != 0) {
        ctl_error(c, "Cannot read the assignment of topic %s: %s", topic, res->data ? err : "null data");
        kz_arena_reset(a);
        return -1;
    }
    return 0;
}

void ctl_topic_write(kb_ctl *c, ctl_join *j, const char *name, const kb_zk_topic *zt, int32_t version)
{
    size_t len = 0;
    char *json = kb_zk_topic_encode(zt, &len);
    char path[KB_ZK_PATH_MAX];
    if (json && kb_zk_path_topic(path, sizeof path, name) >= 0) {
        ctl_op *o = ctl_op_new(c, j, NULL, name, -1);
        kz_zkc_op set = { .type = KZ_ZKC_OP_SET, .path = path, .data = json, .len = (int32_t)len,
                          .version = version };
        ctl_zk_write(c, o, &set, 1);
    }
    free(json);
}

void ctl_topic_ensure_id(kb_ctl *c, ctl_join *j, kb_ctl_topic *t, int32_t version)
{
    if (t->has_id || !c->cfg.write_topic_ids)
        return;
    kb_zk_uuid_random(&t->id);
    t->has_id = true;
    kb_zk_part_assign *pa = calloc((size_t)(t->nparts ? t->nparts : 1), sizeof *pa);
    if (!pa)
        return;
    for (int32_t p = 0; p < t->nparts; p++)
        pa[p] = (kb_zk_part_assign){ .partition = p, .replicas = t->parts[p].replicas.v,
                                     .n_replicas = t->parts[p].replicas.n };
    kb_zk_topic zt = { .version = 3, .has_id = true, .id = t->id, .parts = pa, .n_parts = t->nparts };
    ctl_topic_write(c, j, t->name, &zt, version);
    free(pa);
}

void ctl_apply_state(kb_ctl *c, kb_ctl_topic *t, int32_t p, const kz_zkc_result *res)
{
    kz_arena a = KZ_ARENA_INIT;
    kb_zk_pstate zs;
    char err[160];
    if (!res->data || kb_zk_pstate_decode(res->data, (size_t)res->data_len, &a, &zs, err, sizeof err) != 0) {
        ctl_error(c, "Cannot read the state of partition %s-%d: %s", t->name, p, res->data ? err : "null data");
        kz_arena_reset(&a);
        return;
    }
    kb_ctl_part *part = &t->parts[p];
    kb_ctl_lai l = { .leader = zs.leader, .leader_epoch = zs.leader_epoch, .ctl_epoch = zs.controller_epoch,
                     .zk_version = res->stat.version };
    /* keep only replicas, once each: the invariants hold whatever was read */
    for (int32_t i = 0; i < zs.n_isr && l.isr.n < KB_CTL_MAX_RF; i++)
        if (kb_ctl_ids_has(&part->replicas, zs.isr[i]) && !kb_ctl_ids_has(&l.isr, zs.isr[i]))
            l.isr.v[l.isr.n++] = zs.isr[i];
    if (l.isr.n != zs.n_isr)
        ctl_warn(c, "Partition %s-%d: ISR of the state znode lists brokers that are not replicas", t->name, p);
    if (l.leader >= 0 && !kb_ctl_ids_has(&l.isr, l.leader)) {
        if (l.isr.n < KB_CTL_MAX_RF && kb_ctl_ids_has(&part->replicas, l.leader))
            l.isr.v[l.isr.n++] = l.leader;
        else
            l.leader = KB_CTL_NO_LEADER;
    }
    if (l.isr.n == 0 && part->replicas.n > 0) { /* never written so by Kafka; keep the shape legal */
        l.isr.v[l.isr.n++] = part->replicas.v[0];
        l.leader = KB_CTL_NO_LEADER;
    }
    part->lai = l;
    part->has_lai = true;
    kz_arena_reset(&a);
}

/* ------------------------------------------------- partition writes */

/* The state znode JSON of @l (malloc'd) or NULL. */
static char *pw_json(const kb_ctl_lai *l, size_t *len)
{
    kb_zk_pstate s = { .version = 1, .leader = l->leader, .leader_epoch = l->leader_epoch,
                       .controller_epoch = l->ctl_epoch, .isr = (int32_t *)l->isr.v, .n_isr = l->isr.n };
    return kb_zk_pstate_encode(&s, len);
}

/* Whether a PW_ELECT with flags @arg may pick a replica out of the ISR: when
 * asked to, or as the topic's config says once it was read. */
static bool pw_unclean_allowed(int32_t arg)
{
    return (arg & (PWF_UNCLEAN | PWF_TOPIC_UNCLEAN)) != 0;
}

/* What @kind would make of @t-@p now; false when nothing is to be written.
 * Elections see the live brokers that are not shutting down. */
static bool pw_decide(kb_ctl *c, kb_ctl_topic *t, int32_t p, int kind, int32_t arg, kb_ctl_lai *out,
                      bool *unclean)
{
    kb_ctl_part *part = &t->parts[p];
    kb_ctl_live live = kb_ctl_ctx_live(&c->x);
    kb_ctl_live shutting = kb_ctl_ctx_shutting(&c->x);
    *unclean = false;
    switch (kind) {
    case PW_NEW: return kb_ctl_elect_new(&part->replicas, &live, c->x.epoch, out);
    case PW_ELECT:
        return part->has_lai && kb_ctl_elect_offline(&part->replicas, &part->lai, &live,
                                                     pw_unclean_allowed(arg), c->x.epoch, out, unclean);
    case PW_ISR: return part->has_lai && kb_ctl_isr_remove(&part->lai, arg, c->x.epoch, out);
    case PW_PREF: return part->has_lai && kb_ctl_elect_preferred(&part->replicas, &part->lai, &live, c->x.epoch, out);
    case PW_CSHUT:
        return part->has_lai && kb_ctl_elect_cshut(&part->replicas, &part->lai, &live, &shutting, c->x.epoch, out);
    default: return false;
    }
}

static void pw_issue(kb_ctl *c, ctl_join *j, kb_ctl_topic *t, int32_t p, int kind, int32_t arg, int attempt);
static void pw_write(kb_ctl *c, ctl_join *j, kb_ctl_topic *t, int32_t p, int kind, int32_t arg, int attempt);

static kb_ctl_lai *pw_lai_dup(const kb_ctl_lai *l)
{
    kb_ctl_lai *d = malloc(sizeof *d);
    KB_CTL_ASSERT(d != NULL, "out of memory");
    *d = *l;
    return d;
}

/* Logs a partition that could not be moved online. */
static void pw_failed(kb_ctl *c, kb_ctl_topic *t, int32_t p, int kind, int32_t arg)
{
    char reps[256], live[256];
    kb_ctl_part *part = &t->parts[p];
    kb_ctl_ids_str(part->replicas.v, part->replicas.n, reps, sizeof reps);
    kb_ctl_ids_str(c->x.live_ids, (int32_t)c->x.nbrokers, live, sizeof live);
    if (kind == PW_NEW)
        kz_error("state.change.logger", "[Controller id=%d epoch=%d] Controller %d epoch %d failed to change "
                 "state for partition %s-%d from NewPartition to OnlinePartition: assigned replicas are [%s], "
                 "live brokers are [%s]. No assigned replica is alive.", c->cfg.broker_id, c->x.epoch,
                 c->cfg.broker_id, c->x.epoch, t->name, p, reps, live);
    else if (kind == PW_ELECT)
        kz_error("state.change.logger", "[Controller id=%d epoch=%d] Controller %d epoch %d failed to change "
                 "state for partition %s-%d from OfflinePartition to OnlinePartition: Failed to elect leader "
                 "for partition %s-%d under strategy OfflinePartitionLeaderElectionStrategy(%s)",
                 c->cfg.broker_id, c->x.epoch, c->cfg.broker_id, c->x.epoch, t->name, p, t->name, p,
                 pw_unclean_allowed(arg) ? "true" : "false");
    else if (kind == PW_PREF || kind == PW_CSHUT)
        kz_error("state.change.logger", "[Controller id=%d epoch=%d] Controller %d epoch %d failed to change "
                 "state for partition %s-%d from %s to OnlinePartition: Failed to elect leader for partition "
                 "%s-%d under strategy %s", c->cfg.broker_id, c->x.epoch, c->cfg.broker_id, c->x.epoch, t->name,
                 p, kb_ctl_pstate_name((kb_ctl_pstate)part->pstate), t->name, p, pw_strategy[kind]);
}

/* The write of @kind succeeded with znode version @zkv: apply it. */
static void pw_apply(kb_ctl *c, kb_ctl_topic *t, int32_t p, int kind, int32_t arg, const kb_ctl_lai *nl)
{
    kb_ctl_part *part = &t->parts[p];
    const char *bad = kb_ctl_lai_check(nl, &part->replicas);
    KB_CTL_ASSERT(bad == NULL, bad);
    part->lai = *nl;
    part->has_lai = true;
    int32_t to[KB_CTL_MAX_RF], n = 0;
    switch (kind) {
    case PW_NEW:
        kb_ctl_part_set(t, p, KB_PS_ONLINE);
        kb_ctl_batch_lai(&c->batch, &c->x, nl->isr.v, nl->isr.n, t, p, true);
        break;
    case PW_ELECT:
    case PW_PREF:
    case PW_CSHUT:
        /* to the live replicas; a controlled shutdown's also to those shutting down, which
         * become followers of the new leader until they stop */
        kb_ctl_part_set(t, p, KB_PS_ONLINE);
        for (int32_t i = 0; i < part->replicas.n; i++)
            if (kind == PW_CSHUT ? kb_ctl_ctx_is_live(&c->x, part->replicas.v[i])
                                 : kb_ctl_ctx_is_up(&c->x, part->replicas.v[i]))
                to[n++] = part->replicas.v[i];
        kb_ctl_batch_lai(&c->batch, &c->x, to, n, t, p, false);
        break;
    case PW_ISR:
        if (t->queued_delete)
            break;
        for (int32_t i = 0; i < part->replicas.n; i++)
            if (part->replicas.v[i] != arg)
                to[n++] = part->replicas.v[i];
        kb_ctl_batch_lai(&c->batch, &c->x, to, n, t, p, false);
        break;
    default:
        break;
    }
}

static void pw_on_reread(kb_ctl *c, ctl_op *o, const kz_zkc_result *res)
{
    kb_ctl_topic *t = kb_ctl_ctx_topic(&c->x, o->topic);
    if (!t || o->part >= t->nparts)
        return;
    if (res->rc == KZ_ZNONODE) {
        ctl_error(c, "Failed to update the state of partition %s-%d since the LeaderAndIsr path is empty",
                  o->topic, o->part);
        return;
    }
    if (res->rc != KZ_ZOK) {
        ctl_error(c, "Cannot read the state of partition %s-%d: %s", o->topic, o->part, kz_zkc_strerror(res->rc));
        return;
    }
    ctl_apply_state(c, t, o->part, res);
    if (t->parts[o->part].lai.ctl_epoch > c->x.epoch) {
        ctl_error(c, "Aborted leader election for partition %s-%d since the LeaderAndIsr path was already "
                  "written by another controller. This probably means that the current controller went "
                  "through a soft failure and another controller was elected with epoch %d.", o->topic,
                  o->part, t->parts[o->part].lai.ctl_epoch);
        return;
    }
    pw_write(c, o->join, t, o->part, o->kind, o->arg, o->attempt);
}

/* The znode version moved under a write: read again and decide again. */
static void pw_reread(kb_ctl *c, ctl_op *o)
{
    kb_ctl_topic *t = kb_ctl_ctx_topic(&c->x, o->topic);
    if (!t || o->part >= t->nparts)
        return;
    if (o->attempt + 1 >= PW_ATTEMPTS) {
        ctl_error(c, "Giving up updating the state of partition %s-%d after %d attempts", o->topic, o->part,
                  o->attempt + 1);
        return;
    }
    pw_issue(c, o->join, t, o->part, o->kind, o->arg, o->attempt + 1);
}

/* A New partition whose state znode already existed: adopt it. */
static void pw_on_existing(kb_ctl *c, ctl_op *o, const kz_zkc_result *res)
{
    kb_ctl_topic *t = kb_ctl_ctx_topic(&c->x, o->topic);
    if (!t || o->part >= t->nparts || res->rc != KZ_ZOK)
        return;
    ctl_apply_state(c, t, o->part, res);
    kb_ctl_part *part = &t->parts[o->part];
    if (!part->has_lai)
        return;
    bool led = kb_ctl_ctx_is_live(&c->x, part->lai.leader);
    kb_ctl_part_set(t, o->part, led ? KB_PS_ONLINE : KB_PS_OFFLINE);
    if (led)
        kb_ctl_batch_lai(&c->batch, &c->x, part->lai.isr.v, part->lai.isr.n, t, o->part, true);
}

/* A read-only state read (ctl_read_states). */
static void rs_on_state(kb_ctl *c, ctl_op *o, const kz_zkc_result *res)
{
    kb_ctl_topic *t = kb_ctl_ctx_topic(&c->x, o->topic);
    if (t && o->part < t->nparts && res->rc == KZ_ZOK)
        ctl_apply_state(c, t, o->part, res);
}

static void pw_on_write(kb_ctl *c, ctl_op *o, const kz_zkc_result *res)
{
    kb_ctl_topic *t = kb_ctl_ctx_topic(&c->x, o->topic);
    if (res->rc == KB_ZK_ECONTROLLER_MOVED) {
        ctl_moved(c, "updating partition states");
        return;
    }
    if (!t || o->part >= t->nparts)
        return;
    if (res->rc == KZ_ZOK) {
        kb_ctl_lai nl = *(const kb_ctl_lai *)o->own; /* what was written */
        bool unclean = o->arg2 != 0;
        nl.zk_version = o->kind == PW_NEW ? 0 : (res->n_ops > 0 && res->ops[0].has_stat ? res->ops[0].stat.version
                                                                                         : nl.zk_version + 1);
        if (unclean) {
            char live[256];
            kb_ctl_ids up = { 0 };
            const kb_ctl_part *part = &t->parts[o->part];
            for (int32_t i = 0; i < part->replicas.n; i++)
                if (kb_ctl_ctx_is_up(&c->x, part->replicas.v[i]))
                    up.v[up.n++] = part->replicas.v[i];
            ctl_warn(c, "No broker in ISR is alive for %s-%d. Elect leader %d from live brokers %s. There's "
                     "potential data loss.", o->topic, o->part, nl.leader, kb_ctl_ids_str(up.v, up.n, live,
                                                                                          sizeof live));
        }
        pw_apply(c, t, o->part, o->kind, o->arg, &nl);
        return;
    }
    if (o->kind == PW_NEW && res->rc == KZ_ZNODEEXISTS) {
        /* a state is already there: take it as it is */
        ctl_warn(c, "State of partition %s-%d already exists; reading it", o->topic, o->part);
        char path[KB_ZK_PATH_MAX];
        if (kb_zk_path_partition_state(path, sizeof path, o->topic, o->part) < 0)
            return;
        ctl_op *r = ctl_op_new(c, o->join, pw_on_existing, o->topic, o->part);
        ctl_op_read(c, r, CTL_READ_GET, path, -1);
        return;
    }
    if (res->rc == KZ_ZBADVERSION || res->rc == KZ_ZNONODE) {
        pw_reread(c, o);
        return;
    }
    ctl_error(c, "Error updating the state of partition %s-%d: %s", o->topic, o->part, kz_zkc_strerror(res->rc));
}

/* PW_NEW step 2, after .../partitions/<p> exists: create the state node. */
static void pw_on_parent(kb_ctl *c, ctl_op *o, const kz_zkc_result *res)
{
    kb_ctl_topic *t = kb_ctl_ctx_topic(&c->x, o->topic);
    if (!t || o->part >= t->nparts)
        return;
    if (res->rc != KZ_ZOK) {
        ctl_error(c, "Cannot create the znode of partition %s-%d: %s", o->topic, o->part, kz_zkc_strerror(res->rc));
        return;
    }
    kb_ctl_lai nl;
    bool unclean;
    if (!pw_decide(c, t, o->part, PW_NEW, 0, &nl, &unclean)) {
        pw_failed(c, t, o->part, PW_NEW, 0);
        return;
    }
    size_t len = 0;
    char *json = pw_json(&nl, &len);
    char path[KB_ZK_PATH_MAX];
    if (!json || kb_zk_path_partition_state(path, sizeof path, o->topic, o->part) < 0) {
        free(json);
        return;
    }
    ctl_op *w = ctl_op_new(c, o->join, pw_on_write, o->topic, o->part);
    w->kind = PW_NEW;
    w->own = pw_lai_dup(&nl);
    kz_zkc_op op = { .type = KZ_ZKC_OP_CREATE, .path = path, .data = json, .len = (int32_t)len };
    ctl_zk_write(c, w, &op, 1);
    free(json);
}

/* Changes the state of @t-@p: New partitions create it; every other kind
 * first reads the current state from ZooKeeper (leaders change ISRs there
 * too), as Kafka's state machines do, then decides and writes. */
static void pw_issue(kb_ctl *c, ctl_join *j, kb_ctl_topic *t, int32_t p, int kind, int32_t arg, int attempt)
{
    char path[KB_ZK_PATH_MAX];
    if (kind == PW_NEW) {
        pw_write(c, j, t, p, kind, arg, attempt);
        return;
    }
    if (kb_zk_path_partition_state(path, sizeof path, t->name, p) < 0)
        return;
    ctl_op *r = ctl_op_new(c, j, pw_on_reread, t->name, p);
    r->kind = kind;
    r->arg = arg;
    r->attempt = attempt;
    ctl_op_read(c, r, CTL_READ_GET, path, -1);
}

/* The topic's config override read for an unclean decision: decide again. */
static void pw_on_topic_config(kb_ctl *c, ctl_op *o, const kz_zkc_result *res)
{
    kb_ctl_topic *t = kb_ctl_ctx_topic(&c->x, o->topic);
    if (!t || o->part >= t->nparts)
        return;
    int32_t arg = o->arg | PWF_TOPIC_READ;
    bool unclean = c->cfg.unclean_leader_election; /* without an override: the broker's default */
    if (res->rc == KZ_ZOK) {
        kz_arena a = KZ_ARENA_INIT;
        kb_zk_config cfg;
        char err[160];
        if (kb_zk_config_decode(res->data, res->data ? (size_t)res->data_len : 0, &a, &cfg, err, sizeof err) != 0) {
            ctl_error(c, "Cannot read the config of topic %s: %s", o->topic, err);
            kz_arena_reset(&a);
            pw_failed(c, t, o->part, PW_ELECT, arg);
            return;
        }
        for (int32_t i = 0; i < cfg.n; i++)
            if (strcmp(cfg.entries[i].key, "unclean.leader.election.enable") == 0 && cfg.entries[i].value)
                unclean = strcasecmp(cfg.entries[i].value, "true") == 0;
        kz_arena_reset(&a);
    } else if (res->rc != KZ_ZNONODE) {
        ctl_error(c, "Cannot read the config of topic %s: %s", o->topic, kz_zkc_strerror(res->rc));
        pw_failed(c, t, o->part, PW_ELECT, arg);
        return;
    }
    if (unclean)
        arg |= PWF_TOPIC_UNCLEAN;
    pw_write(c, o->join, t, o->part, o->kind, arg, o->attempt);
}

/* Whether some replica of @part is live (an unclean election could find a leader). */
static bool pw_any_up(const kb_ctl *c, const kb_ctl_part *part)
{
    for (int32_t i = 0; i < part->replicas.n; i++)
        if (kb_ctl_ctx_is_up(&c->x, part->replicas.v[i]))
            return true;
    return false;
}

static void pw_write(kb_ctl *c, ctl_join *j, kb_ctl_topic *t, int32_t p, int kind, int32_t arg, int attempt)
{
    kb_ctl_lai nl;
    bool unclean;
    char path[KB_ZK_PATH_MAX];
    if (!pw_decide(c, t, p, kind, arg, &nl, &unclean)) {
        if (kind == PW_ELECT && !(arg & (PWF_UNCLEAN | PWF_TOPIC_READ)) && t->parts[p].has_lai &&
            pw_any_up(c, &t->parts[p]) && kb_zk_path_config(path, sizeof path, "topics", t->name) >= 0) {
            /* no live ISR member: the topic may allow an unclean election */
            ctl_op *r = ctl_op_new(c, j, pw_on_topic_config, t->name, p);
            r->kind = kind;
            r->arg = arg;
            r->attempt = attempt;
            ctl_op_read(c, r, CTL_READ_GET, path, -1);
            return;
        }
        const kb_ctl_part *part = &t->parts[p];
        bool pref_leads = kind == PW_PREF && part->has_lai && part->lai.leader == part->replicas.v[0];
        if (kind != PW_ISR && !pref_leads)
            pw_failed(c, t, p, kind, arg);
        return;
    }
    if (kind == PW_NEW) {
        if (kb_zk_path_partition(path, sizeof path, t->name, p) < 0)
            return;
        ctl_op *o = ctl_op_new(c, j, pw_on_parent, t->name, p);
        ctl_op_submitted(c, o, kz_zkc_ensure_path(c->zk, path, ctl_op_cb, o));
        return;
    }
    size_t len = 0;
    char *json = pw_json(&nl, &len);
    if (!json || kb_zk_path_partition_state(path, sizeof path, t->name, p) < 0) {
        free(json);
        return;
    }
    ctl_op *o = ctl_op_new(c, j, pw_on_write, t->name, p);
    o->kind = kind;
    o->arg = arg;
    o->arg2 = unclean;
    o->attempt = attempt;
    o->own = pw_lai_dup(&nl);
    kz_zkc_op op = { .type = KZ_ZKC_OP_SET, .path = path, .data = json, .len = (int32_t)len,
                     .version = t->parts[p].lai.zk_version };
    ctl_zk_write(c, o, &op, 1);
    free(json);
}

void ctl_psm_online(kb_ctl *c, ctl_plist *l, ctl_cont_fn *cont, void *arg, ctl_free_fn *arg_free)
{
    ctl_join *j = ctl_join_new(c, cont, arg, arg_free);
    for (int32_t i = 0; i < l->n; i++) {
        kb_ctl_topic *t = kb_ctl_ctx_topic(&c->x, l->topic[i]);
        int32_t p = l->part[i];
        if (!t || p >= t->nparts || t->queued_delete)
            continue;
        kb_ctl_part *part = &t->parts[p];
        if (part->pstate == KB_PS_NEW) {
            pw_issue(c, j, t, p, PW_NEW, 0, 0);
        } else if (part->pstate == KB_PS_OFFLINE || part->pstate == KB_PS_ONLINE) {
            if (part->pstate == KB_PS_ONLINE && part->has_lai && !kb_ctl_ctx_is_live(&c->x, part->lai.leader))
                kb_ctl_part_set(t, p, KB_PS_OFFLINE);
            pw_issue(c, j, t, p, PW_ELECT, 0, 0);
        }
    }
    ctl_join_arm(c, j);
}

void ctl_read_states(kb_ctl *c, ctl_plist *l, ctl_cont_fn *cont, void *arg, ctl_free_fn *arg_free)
{
    ctl_join *j = ctl_join_new(c, cont, arg, arg_free);
    char path[KB_ZK_PATH_MAX];
    for (int32_t i = 0; i < l->n; i++) {
        kb_ctl_topic *t = kb_ctl_ctx_topic(&c->x, l->topic[i]);
        if (!t || l->part[i] >= t->nparts ||
            kb_zk_path_partition_state(path, sizeof path, l->topic[i], l->part[i]) < 0)
            continue;
        ctl_op *o = ctl_op_new(c, j, rs_on_state, l->topic[i], l->part[i]);
        ctl_op_read(c, o, CTL_READ_GET, path, -1);
    }
    ctl_join_arm(c, j);
}

/* ------------------------------------------------------ replica offline */

typedef struct rsm_job {
    int32_t *dead;
    int32_t n, i;
    ctl_next *next;
} rsm_job;

static void rsm_free(void *p)
{
    rsm_job *r = p;
    if (r) {
        ctl_next_free(r->next);
        free(r->dead);
        free(r);
    }
}

/* One dead broker at a time (Kafka groups the OfflineReplica changes by
 * replica id): every partition where it is in the ISR gets a write. */
static void rsm_step(kb_ctl *c, void *p)
{
    rsm_job *r = p;
    if (r->i >= r->n) {
        ctl_next *n = r->next;
        r->next = NULL;
        rsm_free(r);
        ctl_next_run(c, n);
        return;
    }
    int32_t id = r->dead[r->i++];
    ctl_join *j = ctl_join_new(c, rsm_step, r, rsm_free);
    for (size_t ti = 0; ti < c->x.ntopics; ti++) {
        kb_ctl_topic *t = c->x.topics[ti];
        if (t->queued_delete)
            continue;
        for (int32_t pi = 0; pi < t->nparts; pi++) {
            kb_ctl_part *part = &t->parts[pi];
            int32_t ri = kb_ctl_part_replica_index(part, id);
            if (ri < 0)
                continue;
            if (part->rstate[ri] != KB_RS_OFFLINE && kb_ctl_repl_ok[part->rstate[ri]][KB_RS_OFFLINE])
                kb_ctl_repl_set(t, pi, ri, KB_RS_OFFLINE);
            if (part->has_lai) /* the ISR is checked against a fresh read */
                pw_issue(c, j, t, pi, PW_ISR, id, 0);
        }
    }
    ctl_join_arm(c, j);
}

void ctl_rsm_offline(kb_ctl *c, const int32_t *dead, int32_t n, ctl_cont_fn *cont, void *arg,
                     ctl_free_fn *arg_free)
{
    rsm_job *r = calloc(1, sizeof *r);
    KB_CTL_ASSERT(r != NULL, "out of memory");
    r->dead = malloc((size_t)(n ? n : 1) * sizeof *r->dead);
    KB_CTL_ASSERT(r->dead != NULL, "out of memory");
    if (n > 0)
        memcpy(r->dead, dead, (size_t)n * sizeof *dead);
    r->n = n;
    r->next = ctl_next_new(cont, arg, arg_free);
    rsm_step(c, r);
}

/* ------------------------------------------------------ new partitions */

static void np_after_online(kb_ctl *c, void *p)
{
    ctl_plist *l = ((void **)p)[0];
    ctl_next *n = ((void **)p)[1];
    free(p);
    for (int32_t i = 0; i < l->n; i++) {
        kb_ctl_topic *t = kb_ctl_ctx_topic(&c->x, l->topic[i]);
        if (!t || l->part[i] >= t->nparts)
            continue;
        kb_ctl_part *part = &t->parts[l->part[i]];
        for (int32_t r = 0; r < part->replicas.n; r++)
            if (part->rstate[r] == KB_RS_NEW)
                kb_ctl_repl_set(t, l->part[i], r, KB_RS_ONLINE);
    }
    ctl_plist_free_fn(l);
    ctl_batch_flush(c);
    ctl_next_run(c, n);
}

static void np_free(void *p)
{
    if (!p)
        return;
    ctl_plist_free_fn(((void **)p)[0]);
    ctl_next_free(((void **)p)[1]);
    free(p);
}

void ctl_new_partitions(kb_ctl *c, ctl_plist *l, ctl_cont_fn *cont, void *arg, ctl_free_fn *arg_free)
{
    char *s = ctl_plist_str(l);
    ctl_info(c, "New partition creation callback for %s", s ? s : "");
    free(s);
    ctl_plist *copy = calloc(1, sizeof *copy);
    void **pair = malloc(2 * sizeof *pair);
    KB_CTL_ASSERT(copy && pair, "out of memory");
    for (int32_t i = 0; i < l->n; i++) {
        kb_ctl_topic *t = kb_ctl_ctx_topic(&c->x, l->topic[i]);
        int32_t p = l->part[i];
        if (!t || p >= t->nparts || t->parts[p].pstate != KB_PS_NONEXISTENT)
            continue;
        kb_ctl_part_set(t, p, KB_PS_NEW);
        for (int32_t r = 0; r < t->parts[p].replicas.n; r++)
            kb_ctl_repl_set(t, p, r, KB_RS_NEW);
        ctl_plist_add(copy, l->topic[i], p);
    }
    pair[0] = copy;
    pair[1] = ctl_next_new(cont, arg, arg_free);
    ctl_psm_online(c, copy, np_after_online, pair, np_free);
}

void ctl_pref_elect(kb_ctl *c, ctl_join *j, kb_ctl_topic *t, int32_t p)
{
    pw_issue(c, j, t, p, PW_PREF, 0, 0);
}

void ctl_cshut_elect(kb_ctl *c, ctl_join *j, kb_ctl_topic *t, int32_t p)
{
    pw_issue(c, j, t, p, PW_CSHUT, 0, 0);
}

void ctl_unclean_elect(kb_ctl *c, ctl_join *j, kb_ctl_topic *t, int32_t p)
{
    pw_issue(c, j, t, p, PW_ELECT, PWF_UNCLEAN, 0);
}

void ctl_isr_remove(kb_ctl *c, ctl_join *j, kb_ctl_topic *t, int32_t p, int32_t broker)
{
    pw_issue(c, j, t, p, PW_ISR, broker, 0);
}
