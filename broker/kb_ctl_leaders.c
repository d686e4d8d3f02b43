/* broker/kb_ctl_leaders.c -- leadership moves asked from outside the
 * controller's watches, as Kafka 2.8's KafkaController runs them (NOTES.md 12):
 *
 *   CEV_CONTROLLED_SHUTDOWN (doControlledShutdown) for broker N:
 *     broker epoch older than N's registration -> STALE_BROKER_EPOCH
 *     "Shutting down broker N"; N not live      -> BROKER_NOT_AVAILABLE
 *     N joins the shutting-down set, then, over the partitions with N among
 *     more than one replica, a known leader/ISR and a topic not queued for
 *     deletion:
 *       C1 those N leads: ControlledShutdown election (first live replica in
 *          the ISR that is not shutting down; ISR without shutting-down
 *          brokers), LeaderAndIsr to the replicas, N included;
 *       C2 those N follows: StopReplica(delete=false) to N, its replica
 *          OfflineReplica (ISR removal, LeaderAndIsr to the other replicas);
 *     answer: the partitions (more than one replica) N still leads.
 *
 *   CEV_ELECT_LEADERS (processReplicaLeaderElection, AdminClientTriggered):
 *     unknown partitions, topics being deleted and partitions whose leader is
 *     already right (preferred: the first replica leads; unclean: a live
 *     leader) are answered as they are; the others are elected (preferred
 *     replica election, or offline election allowing an unclean leader) and
 *     the outcome is read back from the context once the writes are done.
 *
 *   CEV_AUTO_REBALANCE (checkAndTriggerAutoLeaderRebalance): per preferred
 *     broker, the share of its partitions led by someone else; above
 *     leader.imbalance.per.broker.percentage, those whose preferred replica
 *     is live and in the ISR get a preferred election. The timer fires first
 *     rebalance_first_delay_ms after failover, then every
 *     leader.imbalance.check.interval.seconds (re-armed after each run); it
 *     stops when the controller resigns.
 *
 * Locality: broker loop thread only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "kb_ctl_int.h"

static const char *elect_type_name(int type) { return type == KB_CTL_ELECT_UNCLEAN ? "UNCLEAN" : "PREFERRED"; }

/* ------------------------------------------------------------- answers */

/* Gives the controlled shutdown answer of @ev (once). */
static void cs_answer(ctl_ev *ev, int16_t err, const ctl_plist *remaining)
{
    kb_ctl_cs_reply_fn *fn = ev->cs_fn;
    if (!fn)
        return;
    ev->cs_fn = NULL;
    int32_t n = remaining ? remaining->n : 0;
    kb_ctl_tp *tps = calloc((size_t)(n ? n : 1), sizeof *tps);
    KB_CTL_ASSERT(tps != NULL, "out of memory");
    for (int32_t i = 0; i < n; i++)
        tps[i] = (kb_ctl_tp){ remaining->topic[i], remaining->part[i] };
    fn(ev->reply_ctx, err, tps, n);
    free(tps);
}

/* Gives the ElectLeaders answer of @ev (once): @res, or @err for every partition when NULL. */
static void elect_answer(ctl_ev *ev, const kb_ctl_elect_res *res, int16_t err)
{
    kb_ctl_elect_fn *fn = ev->elect_fn;
    if (!fn)
        return;
    ev->elect_fn = NULL;
    kb_ctl_elect_res *all = NULL;
    if (!res) {
        all = calloc((size_t)(ev->ntp ? ev->ntp : 1), sizeof *all);
        KB_CTL_ASSERT(all != NULL, "out of memory");
        for (int32_t i = 0; i < ev->ntp; i++)
            all[i] = (kb_ctl_elect_res){ err, NULL, -1 };
        res = all;
    }
    fn(ev->reply_ctx, res, ev->ntp);
    free(all);
}

void ctl_ev_answer_dropped(ctl_ev *ev)
{
    cs_answer(ev, KB_CTL_E_NOT_CONTROLLER, NULL);
    elect_answer(ev, NULL, KB_CTL_E_NOT_CONTROLLER);
}

/* ------------------------------------------------------- entry points */

void kb_ctl_controlled_shutdown(kb_ctl *c, int32_t broker_id, int64_t broker_epoch, kb_ctl_cs_reply_fn *fn,
                                void *ctx)
{
    ctl_ev *ev = calloc(1, sizeof *ev);
    KB_CTL_ASSERT(ev != NULL, "out of memory");
    ev->type = CEV_CONTROLLED_SHUTDOWN;
    ev->broker = broker_id;
    ev->broker_epoch = broker_epoch;
    ev->cs_fn = fn;
    ev->reply_ctx = ctx;
    ctl_enqueue_ev(c, ev); /* never merged with another: each has its own answer */
}

void kb_ctl_elect_leaders(kb_ctl *c, int type, const kb_ctl_tp *tps, int32_t n, kb_ctl_elect_fn *fn, void *ctx)
{
    ctl_ev *ev = calloc(1, sizeof *ev);
    KB_CTL_ASSERT(ev != NULL, "out of memory");
    ev->type = CEV_ELECT_LEADERS;
    ev->elect_type = type;
    ev->elect_fn = fn;
    ev->reply_ctx = ctx;
    ev->tp = calloc((size_t)(n > 0 ? n : 1), sizeof *ev->tp);
    KB_CTL_ASSERT(ev->tp != NULL, "out of memory");
    for (int32_t i = 0; i < n; i++) {
        ev->tp[i].topic = strdup(tps[i].topic ? tps[i].topic : "");
        KB_CTL_ASSERT(ev->tp[i].topic != NULL, "out of memory");
        ev->tp[i].partition = tps[i].partition;
        ev->ntp = i + 1;
    }
    ctl_enqueue_ev(c, ev);
}

/* ------------------------------------------------- pure decisions */

void ctl_cshut_plan(const kb_ctl_ctx *x, int32_t id, ctl_plist *led, ctl_plist *followed)
{
    for (size_t ti = 0; ti < x->ntopics; ti++) {
        const kb_ctl_topic *t = x->topics[ti];
        if (t->queued_delete)
            continue;
        for (int32_t p = 0; p < t->nparts; p++) {
            const kb_ctl_part *part = &t->parts[p];
            if (part->replicas.n <= 1 || !part->has_lai || kb_ctl_part_replica_index(part, id) < 0)
                continue;
            ctl_plist_add(part->lai.leader == id ? led : followed, t->name, p);
        }
    }
}

void ctl_cshut_remaining(const kb_ctl_ctx *x, int32_t id, ctl_plist *out)
{
    for (size_t ti = 0; ti < x->ntopics; ti++) {
        const kb_ctl_topic *t = x->topics[ti];
        if (t->queued_delete)
            continue;
        for (int32_t p = 0; p < t->nparts; p++)
            if (t->parts[p].replicas.n > 1 && t->parts[p].has_lai && t->parts[p].lai.leader == id)
                ctl_plist_add(out, t->name, p);
    }
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

void ctl_rebalance_plan(const kb_ctl_ctx *x, int32_t ctl_id, int32_t pct, ctl_plist *out)
{
    kz_debug(KB_CTL_COMP, "[Controller id=%d] Checking need to trigger auto leader balancing", ctl_id);
    /* the preferred replicas, once each, ascending */
    size_t cap = 0, npref = 0;
    for (size_t ti = 0; ti < x->ntopics; ti++)
        cap += (size_t)x->topics[ti]->nparts;
    int32_t *pref = malloc((cap ? cap : 1) * sizeof *pref);
    KB_CTL_ASSERT(pref != NULL, "out of memory");
    for (size_t ti = 0; ti < x->ntopics; ti++) {
        const kb_ctl_topic *t = x->topics[ti];
        for (int32_t p = 0; p < t->nparts && !t->queued_delete; p++)
            if (t->parts[p].replicas.n > 0)
                pref[npref++] = t->parts[p].replicas.v[0];
    }
    if (npref)
        qsort(pref, npref, sizeof *pref, cmp_i32);
    kb_ctl_live up = kb_ctl_ctx_live(x);
    for (size_t i = 0; i < npref; i++) {
        int32_t b = pref[i];
        if (i && pref[i - 1] == b)
            continue;
        ctl_plist off = { 0 };
        int32_t total = 0;
        for (size_t ti = 0; ti < x->ntopics; ti++) {
            const kb_ctl_topic *t = x->topics[ti];
            for (int32_t p = 0; p < t->nparts && !t->queued_delete; p++) {
                const kb_ctl_part *part = &t->parts[p];
                if (part->replicas.n == 0 || part->replicas.v[0] != b)
                    continue;
                total++;
                if (part->has_lai && part->lai.leader != b)
                    ctl_plist_add(&off, t->name, p);
            }
        }
        char *s = ctl_plist_str(&off);
        kz_debug(KB_CTL_COMP, "[Controller id=%d] Topics not in preferred replica for broker %d %s", ctl_id, b,
                 s ? s : "");
        free(s);
        double ratio;
        bool due = kb_ctl_imbalanced(off.n, total, pct, &ratio);
        kz_debug(KB_CTL_COMP, "[Controller id=%d] Leader imbalance ratio for broker %d is %f", ctl_id, b, ratio);
        if (due) {
            ctl_plist cand = { 0 };
            for (int32_t k = 0; k < off.n; k++) {
                const kb_ctl_topic *t = kb_ctl_ctx_topic(x, off.topic[k]);
                const kb_ctl_part *part = &t->parts[off.part[k]];
                if (kb_ctl_ctx_is_up(x, b) && kb_ctl_preferred_eligible(&part->replicas, &part->lai, &up))
                    ctl_plist_add(&cand, off.topic[k], off.part[k]);
            }
            s = ctl_plist_str(&cand);
            kz_info(KB_CTL_COMP, "[Controller id=%d] Starting replica leader election (PREFERRED) for partitions "
                    "%s triggered by AutoTriggered", ctl_id, s ? s : "");
            free(s);
            for (int32_t k = 0; k < cand.n; k++)
                ctl_plist_add(out, cand.topic[k], cand.part[k]);
            ctl_plist_free(&cand);
        }
        ctl_plist_free(&off);
    }
    free(pref);
}

int16_t ctl_elect_check(const kb_ctl_ctx *x, int type, const char *topic, int32_t p, const char **msg)
{
    *msg = NULL;
    const kb_ctl_topic *t = kb_ctl_ctx_topic(x, topic);
    if (!t || p < 0 || p >= t->nparts) {
        *msg = "The partition does not exist.";
        return KB_CTL_E_UNKNOWN_TOPIC_OR_PARTITION;
    }
    if (t->queued_delete) {
        *msg = "The topic is being deleted";
        return KB_CTL_E_INVALID_TOPIC;
    }
    const kb_ctl_part *part = &t->parts[p];
    if (!part->has_lai)
        return 0; /* no state yet: the election tells */
    if (type == KB_CTL_ELECT_PREFERRED)
        return part->replicas.n > 0 && part->lai.leader == part->replicas.v[0] ? KB_CTL_E_ELECTION_NOT_NEEDED : 0;
    return part->lai.leader >= 0 && kb_ctl_ctx_is_up(x, part->lai.leader) ? KB_CTL_E_ELECTION_NOT_NEEDED : 0;
}

int16_t ctl_elect_outcome(const kb_ctl_ctx *x, int type, const char *topic, int32_t p, int32_t *leader,
                          const char **msg)
{
    *msg = NULL;
    *leader = -1;
    const kb_ctl_topic *t = kb_ctl_ctx_topic(x, topic);
    if (!t || p < 0 || p >= t->nparts) { /* deleted meanwhile */
        *msg = "The partition does not exist.";
        return KB_CTL_E_UNKNOWN_TOPIC_OR_PARTITION;
    }
    const kb_ctl_part *part = &t->parts[p];
    if (type == KB_CTL_ELECT_PREFERRED) {
        if (part->has_lai && part->replicas.n > 0 && part->lai.leader == part->replicas.v[0]) {
            *leader = part->lai.leader;
            return 0;
        }
        *msg = "Failed to elect leader under strategy PreferredReplicaPartitionLeaderElectionStrategy";
        return KB_CTL_E_PREFERRED_LEADER_NOT_AVAILABLE;
    }
    if (part->has_lai && part->lai.leader >= 0 && kb_ctl_ctx_is_up(x, part->lai.leader)) {
        *leader = part->lai.leader;
        return 0;
    }
    *msg = "Failed to elect leader under strategy OfflinePartitionLeaderElectionStrategy(true)";
    return KB_CTL_E_ELIGIBLE_LEADERS_NOT_AVAILABLE;
}

/* ------------------------------------------------- controlled shutdown */

typedef struct cs_job {
    int32_t id;
    ctl_plist led, followed;
} cs_job;

static void cs_free(void *p)
{
    cs_job *j = p;
    if (!j)
        return;
    ctl_plist_free(&j->led);
    ctl_plist_free(&j->followed);
    free(j);
}

/* Resolves the topic of entry @i of @l; NULL when it went away meanwhile. */
static kb_ctl_topic *cs_topic(kb_ctl *c, const ctl_plist *l, int32_t i)
{
    kb_ctl_topic *t = kb_ctl_ctx_topic(&c->x, l->topic[i]);
    return t && l->part[i] < t->nparts ? t : NULL;
}

static void cs_after_followed(kb_ctl *c, void *p)
{
    cs_job *j = p;
    ctl_batch_flush(c);
    ctl_plist rem = { 0 };
    ctl_cshut_remaining(&c->x, j->id, &rem);
    if (rem.n) {
        char *s = ctl_plist_str(&rem);
        ctl_debug(c, "Partitions still led by broker %d: %s", j->id, s ? s : "");
        free(s);
    }
    KB_CTL_ASSERT(c->cur && c->cur->type == CEV_CONTROLLED_SHUTDOWN, "controlled shutdown event");
    cs_answer(c->cur, KB_CTL_E_NONE, &rem);
    ctl_plist_free(&rem);
    cs_free(j);
    ctl_ev_done(c);
}

/* C2: the followed partitions: StopReplica to the broker, then its replica
 * OfflineReplica (out of the ISR, LeaderAndIsr to the others). */
static void cs_after_led(kb_ctl *c, void *p)
{
    cs_job *j = p;
    ctl_batch_flush(c);
    for (int32_t i = 0; i < j->followed.n; i++) {
        kb_ctl_topic *t = cs_topic(c, &j->followed, i);
        if (t)
            kb_ctl_batch_stop(&c->batch, j->id, t, j->followed.part[i], false);
    }
    ctl_batch_flush(c);
    ctl_join *jn = ctl_join_new(c, cs_after_followed, j, cs_free);
    for (int32_t i = 0; i < j->followed.n; i++) {
        kb_ctl_topic *t = cs_topic(c, &j->followed, i);
        if (!t || t->queued_delete)
            continue;
        int32_t pi = j->followed.part[i];
        int32_t ri = kb_ctl_part_replica_index(&t->parts[pi], j->id);
        if (ri < 0)
            continue;
        uint8_t st = t->parts[pi].rstate[ri];
        if (st != KB_RS_OFFLINE && kb_ctl_repl_ok[st][KB_RS_OFFLINE])
            kb_ctl_repl_set(t, pi, ri, KB_RS_OFFLINE);
        ctl_isr_remove(c, jn, t, pi, j->id);
    }
    ctl_join_arm(c, jn);
}

void ctl_on_controlled_shutdown(kb_ctl *c, ctl_ev *ev)
{
    int32_t id = ev->broker;
    kb_ctl_broker *b = kb_ctl_ctx_broker(&c->x, id);
    if (ev->broker_epoch != -1 && b && ev->broker_epoch < b->epoch) {
        ctl_info(c, "Received controlled shutdown request from an old broker epoch %lld for broker %d. Current "
                 "broker epoch is %lld.", (long long)ev->broker_epoch, id, (long long)b->epoch);
        cs_answer(ev, KB_CTL_E_STALE_BROKER_EPOCH, NULL);
        ctl_ev_done(c);
        return;
    }
    ctl_info(c, "Shutting down broker %d", id);
    if (!b || kb_ctl_ctx_add_shutting(&c->x, id) != 0) {
        ctl_info(c, "Broker id %d does not exist.", id);
        cs_answer(ev, KB_CTL_E_BROKER_NOT_AVAILABLE, NULL);
        ctl_ev_done(c);
        return;
    }
    char s1[512], s2[512];
    kb_ctl_live sd = kb_ctl_ctx_shutting(&c->x), up = kb_ctl_ctx_live(&c->x);
    ctl_debug(c, "All shutting down brokers: %s", kb_ctl_ids_str(sd.ids, (int32_t)sd.n, s1, sizeof s1));
    ctl_debug(c, "Live brokers: %s", kb_ctl_ids_str(up.ids, (int32_t)up.n, s2, sizeof s2));
    cs_job *j = calloc(1, sizeof *j);
    KB_CTL_ASSERT(j != NULL, "out of memory");
    j->id = id;
    ctl_cshut_plan(&c->x, id, &j->led, &j->followed);
    /* C1: new leaders for the partitions it leads */
    ctl_join *jn = ctl_join_new(c, cs_after_led, j, cs_free);
    for (int32_t i = 0; i < j->led.n; i++) {
        kb_ctl_topic *t = cs_topic(c, &j->led, i);
        if (t)
            ctl_cshut_elect(c, jn, t, j->led.part[i]);
    }
    ctl_join_arm(c, jn);
}

/* ---------------------------------------------------------- ElectLeaders */

typedef struct el_job {
    int32_t n;
    int16_t *pre;             /* per partition asked: the answer known before the election, 0 if run */
    const char **msg;
} el_job;

static void el_free(void *p)
{
    el_job *j = p;
    if (j) {
        free(j->pre);
        free(j->msg);
        free(j);
    }
}

static void el_after(kb_ctl *c, void *p)
{
    el_job *j = p;
    ctl_batch_flush(c);
    ctl_ev *ev = c->cur;
    KB_CTL_ASSERT(ev && ev->type == CEV_ELECT_LEADERS && ev->ntp == j->n, "ElectLeaders event");
    kb_ctl_elect_res *res = calloc((size_t)(j->n ? j->n : 1), sizeof *res);
    KB_CTL_ASSERT(res != NULL, "out of memory");
    for (int32_t i = 0; i < j->n; i++) {
        if (j->pre[i]) {
            res[i] = (kb_ctl_elect_res){ j->pre[i], j->msg[i], -1 };
            continue;
        }
        res[i].error = ctl_elect_outcome(&c->x, ev->elect_type, ev->tp[i].topic, ev->tp[i].partition,
                                         &res[i].leader, &res[i].message);
    }
    elect_answer(ev, res, 0);
    free(res);
    el_free(j);
    ctl_ev_done(c);
}

void ctl_on_elect_leaders(kb_ctl *c, ctl_ev *ev)
{
    const char *tn = elect_type_name(ev->elect_type);
    el_job *j = calloc(1, sizeof *j);
    KB_CTL_ASSERT(j != NULL, "out of memory");
    j->n = ev->ntp;
    j->pre = calloc((size_t)(j->n ? j->n : 1), sizeof *j->pre);
    j->msg = calloc((size_t)(j->n ? j->n : 1), sizeof *j->msg);
    KB_CTL_ASSERT(j->pre && j->msg, "out of memory");
    ctl_plist run = { 0 };
    for (int32_t i = 0; i < j->n; i++) {
        const char *topic = ev->tp[i].topic;
        int32_t p = ev->tp[i].partition;
        j->pre[i] = ctl_elect_check(&c->x, ev->elect_type, topic, p, &j->msg[i]);
        if (j->pre[i] == KB_CTL_E_UNKNOWN_TOPIC_OR_PARTITION)
            ctl_info(c, "Skipping replica leader election (%s) for partition %s-%d by AdminClientTriggered since "
                     "it doesn't exist.", tn, topic, p);
        else if (j->pre[i] == KB_CTL_E_INVALID_TOPIC)
            ctl_warn(c, "Skipping replica leader election (%s) for partitions %s-%d by AdminClientTriggered since "
                     "the respective topics are being deleted", tn, topic, p);
        else if (j->pre[i] == 0)
            ctl_plist_add(&run, topic, p);
    }
    char *s = ctl_plist_str(&run);
    ctl_info(c, "Starting replica leader election (%s) for partitions %s triggered by AdminClientTriggered", tn,
             s ? s : "");
    free(s);
    ctl_join *jn = ctl_join_new(c, el_after, j, el_free);
    for (int32_t i = 0; i < run.n; i++) {
        kb_ctl_topic *t = kb_ctl_ctx_topic(&c->x, run.topic[i]);
        if (ev->elect_type == KB_CTL_ELECT_UNCLEAN)
            ctl_unclean_elect(c, jn, t, run.part[i]);
        else
            ctl_pref_elect(c, jn, t, run.part[i]);
    }
    ctl_plist_free(&run);
    ctl_join_arm(c, jn);
}

/* ----------------------------------------------------- auto rebalance */

static void rb_fire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    kb_ctl *c = arg;
    if (c->active && !c->freeing)
        ctl_enqueue(c, CEV_AUTO_REBALANCE, NULL);
}

void ctl_rebalance_schedule(kb_ctl *c, int64_t delay_ms)
{
    if (!c->cfg.auto_leader_rebalance || !c->active || c->freeing)
        return;
    if (!c->rebalance && !(c->rebalance = evtimer_new(c->base, rb_fire, c))) {
        ctl_error(c, "Out of memory arming the auto leader rebalance check");
        return;
    }
    if (delay_ms < 0)
        delay_ms = 0;
    struct timeval tv = { (time_t)(delay_ms / 1000), (suseconds_t)(delay_ms % 1000) * 1000 };
    evtimer_add(c->rebalance, &tv);
}

void ctl_rebalance_stop(kb_ctl *c)
{
    if (c->rebalance)
        evtimer_del(c->rebalance);
}

static void rb_done(kb_ctl *c, void *p)
{
    ctl_batch_flush(c);
    ctl_plist_free_fn(p);
    int64_t every = c->cfg.rebalance_interval_ms > 0 ? c->cfg.rebalance_interval_ms : 1000;
    ctl_rebalance_schedule(c, every);
    ctl_ev_done(c);
}

void ctl_on_auto_rebalance(kb_ctl *c, ctl_ev *ev)
{
    (void)ev;
    ctl_info(c, "Processing automatic preferred replica leader election");
    ctl_plist *l = calloc(1, sizeof *l);
    KB_CTL_ASSERT(l != NULL, "out of memory");
    ctl_rebalance_plan(&c->x, c->cfg.broker_id, c->cfg.leader_imbalance_pct, l);
    ctl_join *j = ctl_join_new(c, rb_done, l, ctl_plist_free_fn);
    for (int32_t i = 0; i < l->n; i++) {
        kb_ctl_topic *t = kb_ctl_ctx_topic(&c->x, l->topic[i]);
        if (t && l->part[i] < t->nparts)
            ctl_pref_elect(c, j, t, l->part[i]);
    }
    ctl_join_arm(c, j);
}
