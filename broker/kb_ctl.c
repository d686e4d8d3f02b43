/* broker/kb_ctl.c -- the controller's lifecycle: election on /controller,
 * the event queue, the asynchronous plumbing (ops, joins, watches), failover
 * and resignation. See kb_ctl.h for the contract and kb_ctl_int.h for the
 * event model.
 *
 * Election (every broker, NOTES.md 12):
 *
 *     idle --start--> CEV_ELECT: exists(/controller, watch)
 *                       exists, other id  -> follower (active: resign)
 *                       exists, our id    -> elect again (a lost reply of ours)
 *                       absent            -> kb_zk_elect_controller
 *                                              won  -> active, CEV_FAILOVER
 *                                              lost -> follower
 *     /controller watch fired ---------------> CEV_ELECT
 *     guarded write fenced / session lost ---> resign, CEV_ELECT
 *
 * Failover (CEV_FAILOVER), Kafka's onControllerFailover in four steps:
 *   F1 children of /brokers/ids, /brokers/topics, /admin/delete_topics,
 *      /isr_change_notification (all watched), exists(preferred election);
 *   F2 every broker registration (epoch = czxid) and topic assignment
 *      (data watch); the pending ISR notifications are deleted;
 *   F3 topic ids written where missing, every partition state read;
 *   F4 states initialised, UpdateMetadata + LeaderAndIsr for all live
 *      replicas, OfflineReplica for the others (ISR shrink, leader -1),
 *      leaders elected for New/Offline partitions, deletions resumed.
 * Locality: broker loop thread only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <event2/event.h>

#include "kb_client.h"
#include "kb_config.h"
#include "kz_config.h"
#include "kb_ctl_int.h"
#include "kz_vec.h"

/* --------------------------------------------------------- configuration */

void kb_ctl_ibp_versions(const char *ibp, int16_t *lai, int16_t *um, int16_t *sr, bool *topic_ids)
{
    /* (major, minor, patch, IV) compared as a tuple; 0.x versions use
     * three numbers, later ones two. Unknown -> the newest. */
    int a = 99, b = 0, p = 0, iv = 9;
    if (ibp) {
        int n1 = 0, n2 = 0, n3 = 0, v = 0;
        if (sscanf(ibp, "0.%d.%d-IV%d", &n1, &n2, &v) == 3) {
            a = 0, b = n1, p = n2, iv = v;
        } else if (sscanf(ibp, "%d.%d-IV%d", &n1, &n2, &v) == 3) {
            a = n1, b = n2, p = 0, iv = v;
        } else if (sscanf(ibp, "%d.%d.%d", &n1, &n2, &n3) >= 2) {
            a = n1, b = n2, p = n1 == 0 ? n3 : 0, iv = 9;
        }
    }
#define IBP_GE(A, B, P, I) (a != (A) ? a > (A) : b != (B) ? b > (B) : p != (P) ? p > (P) : iv >= (I))
    static const struct { int a, b, p, iv; int16_t lai, um, sr; } tab[] = {
        { 2, 8, 0, 1, 5, 7, 3 }, { 2, 6, 0, 0, 4, 6, 3 }, { 2, 4, 0, 1, 4, 6, 2 },
        { 2, 4, 0, 0, 3, 5, 1 }, { 2, 2, 0, 0, 2, 5, 1 }, { 1, 0, 0, 0, 1, 4, 0 },
        { 0, 10, 2, 0, 0, 3, 0 }, { 0, 10, 0, 1, 0, 2, 0 }, { 0, 9, 0, 0, 0, 1, 0 },
    };
    *lai = 0, *um = 0, *sr = 0;
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (IBP_GE(tab[i].a, tab[i].b, tab[i].p, tab[i].iv)) {
            *lai = tab[i].lai, *um = tab[i].um, *sr = tab[i].sr;
            break;
        }
    if (topic_ids)
        *topic_ids = IBP_GE(2, 8, 0, 0);
#undef IBP_GE
}

void kb_ctl_cfg_init(kb_ctl_cfg *out, const kb_config *cfg)
{
    memset(out, 0, sizeof *out);
    out->broker_id = cfg->broker_id;
    out->inter_broker_listener = cfg->inter_broker_listener;
    out->delete_topic_enable = cfg->delete_topic_enable;
    out->unclean_leader_election = cfg->unclean_leader_election_enable;
    out->request_timeout_ms = cfg->controller_socket_timeout_ms;
    out->max_frame_bytes = cfg->socket_request_max_bytes;
    out->auto_leader_rebalance = cfg->auto_leader_rebalance_enable;
    out->leader_imbalance_pct = cfg->leader_imbalance_per_broker_percentage;
    out->rebalance_interval_ms = cfg->leader_imbalance_check_interval_seconds * 1000;
    out->rebalance_first_delay_ms = 5000;
    kb_ctl_ibp_versions(cfg->inter_broker_protocol, &out->leader_and_isr_version,
                        &out->update_metadata_version, &out->stop_replica_version, &out->write_topic_ids);
}

/* ------------------------------------------------------------- plumbing */

ctl_join *ctl_join_new(kb_ctl *c, ctl_cont_fn *cont, void *arg, ctl_free_fn *arg_free)
{
    ctl_join *j = calloc(1, sizeof *j);
    KB_CTL_ASSERT(j != NULL, "out of memory");
    j->gen = c->gen;
    j->pending = 1;
    j->cont = cont;
    j->arg = arg;
    j->arg_free = arg_free;
    j->next = c->joins;
    if (c->joins)
        c->joins->prev = j;
    c->joins = j;
    return j;
}

static void join_unlink(kb_ctl *c, ctl_join *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        c->joins = j->next;
    if (j->next)
        j->next->prev = j->prev;
}

static void join_dec(kb_ctl *c, ctl_join *j)
{
    if (--j->pending > 0)
        return;
    join_unlink(c, j);
    if (!c->freeing && j->gen == c->gen)
        j->cont(c, j->arg);
    else if (j->arg_free)
        j->arg_free(j->arg);
    free(j);
}

void ctl_join_arm(kb_ctl *c, ctl_join *j) { join_dec(c, j); }

ctl_op *ctl_op_new(kb_ctl *c, ctl_join *j, ctl_op_fn *fn, const char *topic, int32_t part)
{
    ctl_op *o = calloc(1, sizeof *o);
    KB_CTL_ASSERT(o != NULL, "out of memory");
    o->c = c;
    o->gen = c->gen;
    o->join = j;
    o->fn = fn;
    o->part = part;
    if (topic) {
        o->topic = strdup(topic);
        KB_CTL_ASSERT(o->topic != NULL, "out of memory");
    }
    if (j)
        j->pending++;
    o->next = c->ops;
    if (c->ops)
        c->ops->prev = o;
    c->ops = o;
    return o;
}

static void op_unlink(kb_ctl *c, ctl_op *o)
{
    if (o->prev)
        o->prev->next = o->next;
    else
        c->ops = o->next;
    if (o->next)
        o->next->prev = o->prev;
}

static void watch_unlink(kb_ctl *c, ctl_watch *w);

static void op_free(ctl_op *o)
{
    free(o->topic);
    free(o->own);
    free(o);
}

void ctl_op_cb(void *ctx, const kz_zkc_result *res)
{
    ctl_op *o = ctx;
    kb_ctl *c = o->c;
    op_unlink(c, o);
    /* a call that failed set no watch (exists sets one on a missing node) */
    if (o->watch && res->rc != KZ_ZOK && !(o->watch_exists && res->rc == KZ_ZNONODE)) {
        if (o->watch->kind == CW_CONTROLLER)
            c->controller_watch = false;
        watch_unlink(c, o->watch);
        free(o->watch);
        o->watch = NULL;
    }
    if (!c->freeing && o->gen == c->gen && o->fn)
        o->fn(c, o, res);
    ctl_join *j = o->join;
    op_free(o);
    if (j)
        join_dec(c, j);
}

void ctl_op_submitted(kb_ctl *c, ctl_op *o, int rc)
{
    (void)c;
    if (rc == KZ_ZOK)
        return;
    kz_zkc_result res = { .rc = rc, .data_len = -1 };
    ctl_op_cb(o, &res);
}

/* kb_zk_controller_multi reports through the same trampoline. */
void ctl_zk_write(kb_ctl *c, ctl_op *o, const kz_zkc_op *ops, int n)
{
    ctl_op_submitted(c, o, kb_zk_controller_multi(c->zk, c->x.epoch_zkv, ops, n, ctl_op_cb, o));
}

/* A watch record of @kind (CW_*), on the list until it fires or the controller is freed. */
static ctl_watch *ctl_watch_new(kb_ctl *c, int kind)
{
    ctl_watch *w = calloc(1, sizeof *w);
    KB_CTL_ASSERT(w != NULL, "out of memory");
    w->c = c;
    w->gen = c->gen;
    w->kind = kind;
    w->next = c->watches;
    if (c->watches)
        c->watches->prev = w;
    c->watches = w;
    return w;
}

static void watch_unlink(kb_ctl *c, ctl_watch *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        c->watches = w->next;
    if (w->next)
        w->next->prev = w->prev;
}

/* A new session: the old session's watches should never fire, but their
 * records stay allocated until they do or kb_ctl_free runs, so a late
 * delivery finds a valid record that says it is to be ignored. */
static void watches_orphan(kb_ctl *c)
{
    for (ctl_watch *w = c->watches; w; w = w->next)
        w->orphan = true;
    c->controller_watch = false;
}

/* Frees every watch record (kb_ctl_free: nothing is delivered any more). */
static void watches_clear(kb_ctl *c)
{
    while (c->watches) {
        ctl_watch *w = c->watches;
        watch_unlink(c, w);
        free(w);
    }
    c->controller_watch = false;
}

/* kz_zkc_watch_fn of every controller watch (@ctx a ctl_watch): turns the event into a
 * controller event, unless the record is orphaned, stale or the controller inactive. */
static void ctl_watch_cb(void *ctx, int type, const char *path)
{
    ctl_watch *w = ctx;
    kb_ctl *c = w->c;
    int kind = w->kind;
    bool stale = w->gen != c->gen;
    bool orphan = w->orphan;
    watch_unlink(c, w);
    free(w);
    if (c->freeing || orphan || type == KZ_ZKC_EV_NOTWATCHING)
        return;
    if (kind == CW_CONTROLLER) { /* kept across activations */
        c->controller_watch = false;
        ctl_enqueue(c, CEV_ELECT, NULL);
        return;
    }
    if (stale || !c->active)
        return;
    switch (kind) {
    case CW_BROKERS: ctl_enqueue(c, CEV_BROKER_CHANGE, NULL); break;
    case CW_TOPICS: ctl_enqueue(c, CEV_TOPIC_CHANGE, NULL); break;
    case CW_TOPIC: {
        const char *slash = path ? strrchr(path, '/') : NULL;
        if (type == KZ_ZKC_EV_CHANGED && slash && slash[1])
            ctl_enqueue(c, CEV_PARTITION_MOD, slash + 1);
        break;
    }
    case CW_DELETES: ctl_enqueue(c, CEV_TOPIC_DELETION, NULL); break;
    case CW_ISR: ctl_enqueue(c, CEV_ISR_CHANGE, NULL); break;
    case CW_PREFERRED: ctl_enqueue(c, CEV_PREFERRED, NULL); break;
    default: break;
    }
}

void ctl_op_read(kb_ctl *c, ctl_op *o, ctl_read_how how, const char *path, int watch_kind)
{
    ctl_watch *w = NULL;
    if (watch_kind >= 0) {
        w = ctl_watch_new(c, watch_kind);
        /* tied to the op, so a call that fails (and so sets no watch) releases it */
        o->watch = w;
        o->watch_exists = how == CTL_READ_EXISTS;
    }
    kz_zkc_watch_fn *wfn = w ? ctl_watch_cb : NULL;
    int rc;
    switch (how) {
    case CTL_READ_CHILDREN: rc = kz_zkc_children(c->zk, path, wfn, w, ctl_op_cb, o); break;
    case CTL_READ_EXISTS: rc = kz_zkc_exists(c->zk, path, wfn, w, ctl_op_cb, o); break;
    default: rc = kz_zkc_get(c->zk, path, wfn, w, ctl_op_cb, o); break;
    }
    ctl_op_submitted(c, o, rc);
}

void ctl_job_start(kb_ctl *c, void *job, ctl_cont_fn *cont, ctl_free_fn *job_free, ctl_op_fn *fn,
                   const char *topic, ctl_read_how how, const char *path, int watch_kind)
{
    ctl_join *j = ctl_join_new(c, cont, job, job_free);
    ctl_op *o = ctl_op_new(c, j, fn, topic, -1);
    o->ptr = job;
    ctl_op_read(c, o, how, path, watch_kind);
    ctl_join_arm(c, j);
}

/* ---------------------------------------------------------------- queue */

static ctl_event_fn ctl_on_elect, ctl_on_failover;

static ctl_event_fn *const ctl_handlers[CEV__N] = {
    [CEV_ELECT] = ctl_on_elect,
    [CEV_FAILOVER] = ctl_on_failover,
    [CEV_BROKER_CHANGE] = ctl_on_broker_change,
    [CEV_TOPIC_CHANGE] = ctl_on_topic_change,
    [CEV_PARTITION_MOD] = ctl_on_partition_mod,
    [CEV_TOPIC_DELETION] = ctl_on_topic_deletion,
    [CEV_ISR_CHANGE] = ctl_on_isr_change,
    [CEV_PREFERRED] = ctl_on_preferred,
    [CEV_STOP_REPLICA_RESP] = ctl_on_stop_replica_resp,
    [CEV_CONTROLLED_SHUTDOWN] = ctl_on_controlled_shutdown,
    [CEV_ELECT_LEADERS] = ctl_on_elect_leaders,
    [CEV_AUTO_REBALANCE] = ctl_on_auto_rebalance,
};

/* Events that only an active controller runs (dropped on resignation). */
static bool ctl_ev_needs_active(ctl_ev_type t) { return t != CEV_ELECT; }

void ctl_ev_free(ctl_ev *ev)
{
    if (!ev)
        return;
    ctl_ev_answer_dropped(ev);
    for (int32_t i = 0; i < ev->ntp; i++)
        free(ev->tp[i].topic);
    free(ev->tp);
    free(ev->topic);
    free(ev);
}

static void ctl_kick(kb_ctl *c)
{
    if (c->kick && !c->freeing)
        event_active(c->kick, EV_TIMEOUT, 0);
}

void ctl_enqueue_ev(kb_ctl *c, ctl_ev *ev)
{
    if (ev->type == CEV_FAILOVER) { /* runs before anything queued */
        ev->next = c->q_head;
        c->q_head = ev;
        if (!c->q_tail)
            c->q_tail = ev;
    } else {
        ev->next = NULL;
        if (c->q_tail)
            c->q_tail->next = ev;
        else
            c->q_head = ev;
        c->q_tail = ev;
    }
    ctl_kick(c);
}

void ctl_enqueue(kb_ctl *c, ctl_ev_type type, const char *topic)
{
    /* a queued event of the same kind (same topic) covers this one: each
     * handler re-reads the current state */
    for (ctl_ev *e = c->q_head; e; e = e->next)
        if (e->type == type && type != CEV_STOP_REPLICA_RESP &&
            (type != CEV_PARTITION_MOD || (topic && e->topic && strcmp(topic, e->topic) == 0)))
            return;
    ctl_ev *ev = calloc(1, sizeof *ev);
    if (!ev || (topic && !(ev->topic = strdup(topic)))) {
        ctl_ev_free(ev);
        ctl_error(c, "Out of memory queueing controller event %d", type);
        return;
    }
    ev->type = type;
    ctl_enqueue_ev(c, ev);
}

void ctl_ev_done(kb_ctl *c)
{
    ctl_ev_free(c->cur);
    c->cur = NULL;
    ctl_kick(c);
}

/* Runs queued events one at a time; an event that finishes synchronously
 * lets the loop here take the next one. */
static void ctl_pump(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    kb_ctl *c = arg;
    while (!c->cur && c->q_head && !c->freeing) {
        ctl_ev *ev = c->q_head;
        c->q_head = ev->next;
        if (!c->q_head)
            c->q_tail = NULL;
        ev->next = NULL;
        if (ctl_ev_needs_active(ev->type) && !c->active) {
            ctl_ev_free(ev);
            continue;
        }
        c->cur = ev;
        ctl_handlers[ev->type](c, ev);
    }
}

/* ------------------------------------------------------------- election */

static void ctl_notify(kb_ctl *c)
{
    if (c->on_change)
        c->on_change(c->on_change_ctx, c->active, c->controller_id, c->epoch);
}

void ctl_resign(kb_ctl *c, const char *why)
{
    if (!c->active)
        return;
    ctl_info(c, "Resigning (%s)", why);
    c->active = false;
    c->gen++;
    ctl_rebalance_stop(c);
    ctl_chan_close_all(c);
    kb_ctl_ctx_clear(&c->x);
    kb_ctl_batch_reset(&c->batch);
    if (c->cur && ctl_ev_needs_active(c->cur->type)) {
        ctl_ev_free(c->cur); /* its pending steps are stale now */
        c->cur = NULL;
    }
    ctl_ev **pp = &c->q_head;
    c->q_tail = NULL;
    while (*pp) {
        if (ctl_ev_needs_active((*pp)->type)) {
            ctl_ev *e = *pp;
            *pp = e->next;
            ctl_ev_free(e);
        } else {
            c->q_tail = *pp;
            pp = &(*pp)->next;
        }
    }
    if (c->controller_id == c->cfg.broker_id)
        c->controller_id = -1;
    ctl_info(c, "Resigned");
    ctl_notify(c);
    ctl_kick(c);
}

void ctl_moved(kb_ctl *c, const char *what)
{
    ctl_warn(c, "Controller moved to another broker when %s; resigning", what);
    ctl_resign(c, "controller epoch check failed");
    ctl_enqueue(c, CEV_ELECT, NULL);
}

static void ctl_retry_elect(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ctl_enqueue(arg, CEV_ELECT, NULL);
}

static void ctl_schedule_retry(kb_ctl *c)
{
    struct timeval tv = { 1, 0 };
    event_add(c->retry, &tv);
}

static void elect_done(void *ctx, const kb_zk_election *res)
{
    ctl_op *o = ctx;
    kb_ctl *c = o->c;
    kz_zkc_result dummy = { .rc = res->rc };
    /* run the generic bookkeeping; the real work is here while current */
    bool current = !c->freeing && o->gen == c->gen;
    o->fn = NULL;
    ctl_op_cb(o, &dummy);
    if (!current)
        return;
    if (res->rc == KB_ZK_ECONTROLLER_MOVED) {
        /* /controller is ours but the epoch moved past our claim (a fenced
         * write said so): give the claim up so that a clean election
         * follows (Kafka's triggerControllerMove); our watch sees it go */
        ctl_warn(c, "Controller epoch moved past our claim on /controller; deleting it to trigger a new "
                 "election");
        ctl_op *d = ctl_op_new(c, NULL, NULL, NULL, -1);
        ctl_op_submitted(c, d, kz_zkc_delete(c->zk, KB_ZK_CONTROLLER, -1, ctl_op_cb, d));
        ctl_ev_done(c);
        return;
    }
    if (res->rc != KZ_ZOK) {
        ctl_warn(c, "Error while electing or becoming controller: %s; retrying", kz_zkc_strerror(res->rc));
        ctl_schedule_retry(c);
        ctl_ev_done(c);
        return;
    }
    if (!res->won) {
        c->controller_id = res->controller_id;
        if (res->controller_id >= 0)
            ctl_debug(c, "Broker %d was elected as controller instead of broker %d", res->controller_id,
                      c->cfg.broker_id);
        else
            ctl_warn(c, "A controller has been elected but just resigned, this will result in another "
                     "round of election");
        ctl_notify(c);
        ctl_ev_done(c);
        return;
    }
    c->active = true;
    c->gen++;
    c->epoch = res->epoch;
    c->controller_id = c->cfg.broker_id;
    kb_ctl_ctx_clear(&c->x);
    c->x.epoch = res->epoch;
    c->x.epoch_zkv = res->epoch_zk_version;
    ctl_info(c, "%d successfully elected as the controller. Epoch incremented to %d and epoch zk version is "
             "now %d", c->cfg.broker_id, res->epoch, res->epoch_zk_version);
    ctl_notify(c);
    ctl_enqueue(c, CEV_FAILOVER, NULL);
    ctl_ev_done(c);
}

static void elect_now(kb_ctl *c)
{
    ctl_op *o = ctl_op_new(c, NULL, NULL, NULL, -1);
    int rc = kb_zk_elect_controller(c->zk, c->cfg.broker_id, elect_done, o);
    if (rc != KZ_ZOK) {
        kb_zk_election res = { .rc = rc, .controller_id = -1 };
        elect_done(o, &res);
    }
}

static void elect_on_controller(kb_ctl *c, ctl_op *o, const kz_zkc_result *res)
{
    (void)o;
    if (res->rc != KZ_ZOK) {
        ctl_warn(c, "Cannot read /controller: %s; retrying", kz_zkc_strerror(res->rc));
        ctl_schedule_retry(c);
        ctl_ev_done(c);
        return;
    }
    kb_zk_controller zc;
    char err[128];
    if (res->data == NULL || kb_zk_controller_decode(res->data, (size_t)res->data_len, &zc, err, sizeof err) != 0) {
        ctl_error(c, "Malformed /controller: %s", res->data ? err : "null");
        ctl_ev_done(c);
        return;
    }
    if (zc.broker_id == c->cfg.broker_id && res->stat.ephemeral_owner == kz_zkc_session_id(c->zk)) {
        if (!c->active)
            elect_now(c); /* ours: a reply of an earlier round got lost */
        else
            ctl_ev_done(c);
        return;
    }
    if (c->active && zc.broker_id != c->cfg.broker_id)
        ctl_resign(c, "another broker is the controller");
    if (c->controller_id != zc.broker_id) {
        c->controller_id = zc.broker_id;
        ctl_notify(c);
    }
    ctl_ev_done(c);
}

static void elect_on_exists(kb_ctl *c, ctl_op *o, const kz_zkc_result *res)
{
    (void)o;
    if (res->rc == KZ_ZOK) {
        ctl_op *g = ctl_op_new(c, NULL, elect_on_controller, NULL, -1);
        ctl_op_read(c, g, CTL_READ_GET, KB_ZK_CONTROLLER, -1);
        return;
    }
    if (res->rc == KZ_ZNONODE) {
        if (c->active)
            ctl_resign(c, "the /controller node is gone");
        if (c->controller_id != -1) {
            c->controller_id = -1;
            ctl_notify(c);
        }
        elect_now(c);
        return;
    }
    ctl_warn(c, "Cannot check /controller: %s; retrying", kz_zkc_strerror(res->rc));
    ctl_schedule_retry(c);
    ctl_ev_done(c);
}

static void ctl_on_elect(kb_ctl *c, ctl_ev *ev)
{
    (void)ev;
    ctl_op *o = ctl_op_new(c, NULL, elect_on_exists, NULL, -1);
    int watch = c->controller_watch ? -1 : CW_CONTROLLER;
    c->controller_watch = true;
    ctl_op_read(c, o, CTL_READ_EXISTS, KB_ZK_CONTROLLER, watch);
}

/* ------------------------------------------------------------- failover */

typedef struct ctl_fo {
    char **brokers, **topics, **deletes, **isr;
    int32_t nbrokers, ntopics, ndeletes, nisr;
    bool preferred;
    char *errs;      /* first failure, for the log */
} ctl_fo;

static void fo_names_free(char **v, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void fo_free(void *arg)
{
    ctl_fo *fo = arg;
    if (!fo)
        return;
    fo_names_free(fo->brokers, fo->nbrokers);
    fo_names_free(fo->topics, fo->ntopics);
    fo_names_free(fo->deletes, fo->ndeletes);
    fo_names_free(fo->isr, fo->nisr);
    free(fo);
}

/* Copies the children of @res into (@v, @n). */
static void fo_take_children(const kz_zkc_result *res, char ***v, int32_t *n)
{
    *v = NULL;
    *n = 0;
    if (res->rc != KZ_ZOK || res->n_children <= 0)
        return;
    *v = calloc((size_t)res->n_children, sizeof **v);
    if (!*v)
        return;
    for (int32_t i = 0; i < res->n_children; i++)
        if (((*v)[*n] = strdup(res->children[i])) != NULL)
            (*n)++;
}

static void fo_fail(kb_ctl *c, const char *what, int rc)
{
    ctl_error(c, "Error during controller failover (%s): %s; resigning", what, kz_zkc_strerror(rc));
    ctl_resign(c, "failover failed");
    ctl_enqueue(c, CEV_ELECT, NULL);
}

static void fo_on_children(kb_ctl *c, ctl_op *o, const kz_zkc_result *res)
{
    ctl_fo *fo = o->ptr;
    if (res->rc != KZ_ZOK && res->rc != KZ_ZNONODE) {
        fo_fail(c, "reading children", res->rc);
        return;
    }
    switch (o->kind) {
    case CW_BROKERS: fo_take_children(res, &fo->brokers, &fo->nbrokers); break;
    case CW_TOPICS: fo_take_children(res, &fo->topics, &fo->ntopics); break;
    case CW_DELETES: fo_take_children(res, &fo->deletes, &fo->ndeletes); break;
    case CW_ISR: fo_take_children(res, &fo->isr, &fo->nisr); break;
    case CW_PREFERRED: fo->preferred = res->rc == KZ_ZOK; break;
    default: break;
    }
}

static void fo_watch_children(kb_ctl *c, ctl_join *j, ctl_fo *fo, const char *path, int kind)
{
    ctl_op *o = ctl_op_new(c, j, fo_on_children, NULL, -1);
    o->kind = kind;
    o->ptr = fo;
    ctl_op_read(c, o, kind == CW_PREFERRED ? CTL_READ_EXISTS : CTL_READ_CHILDREN, path, kind);
}

static void fo_step2(kb_ctl *c, void *arg);
static void fo_step3(kb_ctl *c, void *arg);
static void fo_step4(kb_ctl *c, void *arg);

static void ctl_on_failover(kb_ctl *c, ctl_ev *ev)
{
    (void)ev;
    ctl_info(c, "Registering handlers");
    ctl_fo *fo = calloc(1, sizeof *fo);
    KB_CTL_ASSERT(fo != NULL, "out of memory");
    ctl_join *j = ctl_join_new(c, fo_step2, fo, fo_free);
    fo_watch_children(c, j, fo, KB_ZK_BROKER_IDS, CW_BROKERS);
    fo_watch_children(c, j, fo, KB_ZK_BROKER_TOPICS, CW_TOPICS);
    fo_watch_children(c, j, fo, KB_ZK_DELETE_TOPICS, CW_DELETES);
    fo_watch_children(c, j, fo, KB_ZK_ISR_CHANGE, CW_ISR);
    fo_watch_children(c, j, fo, KB_ZK_PREFERRED_ELECTION, CW_PREFERRED);
    ctl_join_arm(c, j);
}

static void fo_on_broker(kb_ctl *c, ctl_op *o, const kz_zkc_result *res)
{
    if (res->rc == KZ_ZNONODE)
        return; /* gone meanwhile: the children watch brings the change */
    if (res->rc != KZ_ZOK) {
        fo_fail(c, "reading a broker registration", res->rc);
        return;
    }
    kb_ctl_broker b;
    if (ctl_broker_parse(c, o->part, res, &b) != 0)
        return;
    if (!kb_ctl_ctx_put_broker(&c->x, &b)) {
        kb_ctl_broker_clear(&b);
        ctl_error(c, "Out of memory adding broker %d", o->part);
    }
}

static void fo_on_topic(kb_ctl *c, ctl_op *o, const kz_zkc_result *res)
{
    if (res->rc == KZ_ZNONODE)
        return;
    if (res->rc != KZ_ZOK) {
        fo_fail(c, "reading a topic assignment", res->rc);
        return;
    }
    kz_arena a = KZ_ARENA_INIT;
    kb_zk_topic zt;
    if (ctl_topic_decode(c, o->topic, res, &a, &zt) != 0)
        return;
    kb_ctl_topic *t = kb_ctl_ctx_add_topic(&c->x, o->topic, 0);
    if (t && ctl_topic_assign(c, t, &zt) < 0)
        kb_ctl_ctx_del_topic(&c->x, o->topic);
    kz_arena_reset(&a);
}

static void fo_step2(kb_ctl *c, void *arg)
{
    ctl_fo *fo = arg;
    ctl_info(c, "Deleting isr change notifications");
    ctl_info(c, "Initializing controller context");
    ctl_join *j = ctl_join_new(c, fo_step3, fo, fo_free);
    char path[KB_ZK_PATH_MAX];
    for (int32_t i = 0; i < fo->nbrokers; i++) {
        int32_t id;
        if (kz_cfg_parse_i32(fo->brokers[i], &id) != 0 || kb_zk_path_broker(path, sizeof path, id) < 0)
            continue;
        ctl_op *o = ctl_op_new(c, j, fo_on_broker, NULL, id);
        ctl_op_read(c, o, CTL_READ_GET, path, -1);
    }
    for (int32_t i = 0; i < fo->ntopics; i++) {
        if (kb_zk_path_topic(path, sizeof path, fo->topics[i]) < 0)
            continue;
        ctl_op *o = ctl_op_new(c, j, fo_on_topic, fo->topics[i], -1);
        ctl_op_read(c, o, CTL_READ_GET, path, CW_TOPIC);
    }
    /* pending ISR notifications are stale: the states are read below */
    for (int32_t i = 0; i < fo->nisr; i++) {
        snprintf(path, sizeof path, "%s/%s", KB_ZK_ISR_CHANGE, fo->isr[i]);
        ctl_op *o = ctl_op_new(c, j, NULL, NULL, -1);
        kz_zkc_op del = { .type = KZ_ZKC_OP_DELETE, .path = path, .version = -1 };
        ctl_zk_write(c, o, &del, 1);
    }
    ctl_join_arm(c, j);
}

static void fo_on_state(kb_ctl *c, ctl_op *o, const kz_zkc_result *res);

static void fo_step3(kb_ctl *c, void *arg)
{
    ctl_fo *fo = arg;
    ctl_join *j = ctl_join_new(c, fo_step4, fo, fo_free);
    char path[KB_ZK_PATH_MAX];
    for (size_t i = 0; i < c->x.ntopics; i++) {
        kb_ctl_topic *t = c->x.topics[i];
        ctl_topic_ensure_id(c, j, t, -1);
        for (int32_t p = 0; p < t->nparts; p++) {
            if (kb_zk_path_partition_state(path, sizeof path, t->name, p) < 0)
                continue;
            ctl_op *o = ctl_op_new(c, j, fo_on_state, t->name, p);
            ctl_op_read(c, o, CTL_READ_GET, path, -1);
        }
    }
    ctl_join_arm(c, j);
}

/* Decodes a state znode into the partition's leader/ISR. */
static void fo_on_state(kb_ctl *c, ctl_op *o, const kz_zkc_result *res)
{
    kb_ctl_topic *t = kb_ctl_ctx_topic(&c->x, o->topic);
    if (!t || o->part >= t->nparts || res->rc == KZ_ZNONODE)
        return;
    if (res->rc != KZ_ZOK) {
        fo_fail(c, "reading a partition state", res->rc);
        return;
    }
    ctl_apply_state(c, t, o->part, res);
}

/* Logs the loaded context as Kafka does at failover (epochs, brokers, topics). */
static void fo_log_context(kb_ctl *c, const ctl_fo *fo)
{
    size_t cap = 64 + c->x.nbrokers * 40 + c->x.ntopics * 64;
    char *buf = malloc(cap);
    if (!buf)
        return;
    size_t off = 0;
    for (size_t i = 0; i < c->x.nbrokers && off < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%s%d -> %lld", i ? ", " : "", c->x.brokers[i].id,
                                (long long)c->x.brokers[i].epoch);
    ctl_info(c, "Initialized broker epochs cache: HashMap(%s)", buf);
    off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < c->x.nbrokers && off < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%s%d", i ? ", " : "", c->x.live_ids[i]);
    ctl_info(c, "Currently active brokers in the cluster: Set(%s)", buf);
    off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < c->x.ntopics && off < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%s%s", i ? ", " : "", c->x.topics[i]->name);
    ctl_info(c, "Current list of topics in the cluster: HashSet(%s)", buf);
    off = 0;
    buf[0] = '\0';
    for (int32_t i = 0; i < fo->ndeletes && off < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%s%s", i ? "," : "", fo->deletes[i]);
    ctl_info(c, "List of topics to be deleted: %s", buf);
    free(buf);
}

static void fo_step4b(kb_ctl *c, void *arg);
static void fo_step5(kb_ctl *c, void *arg);
static void fo_step6(kb_ctl *c, void *arg);

static int fo_cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static void fo_step4(kb_ctl *c, void *arg)
{
    ctl_fo *fo = arg;
    kb_ctl_live live = kb_ctl_ctx_live(&c->x);
    /* initial states (initializePartitionState / initializeReplicaState) */
    for (size_t i = 0; i < c->x.ntopics; i++) {
        kb_ctl_topic *t = c->x.topics[i];
        for (int32_t p = 0; p < t->nparts; p++) {
            kb_ctl_part *part = &t->parts[p];
            part->pstate = !part->has_lai ? KB_PS_NEW
                           : kb_ctl_live_has(&live, part->lai.leader) ? KB_PS_ONLINE : KB_PS_OFFLINE;
            for (int32_t r = 0; r < part->replicas.n; r++)
                part->rstate[r] = kb_ctl_live_has(&live, part->replicas.v[r]) ? KB_RS_ONLINE
                                                                              : KB_RS_DEL_INELIGIBLE;
        }
    }
    fo_log_context(c, fo);
    /* topic deletions: queue known ones; drop requests for unknown topics,
     * and every request when deletion is disabled */
    char path[KB_ZK_PATH_MAX];
    for (int32_t i = 0; i < fo->ndeletes; i++) {
        kb_ctl_topic *t = kb_ctl_ctx_topic(&c->x, fo->deletes[i]);
        if (t && c->cfg.delete_topic_enable) {
            t->queued_delete = true;
            continue;
        }
        if (t)
            ctl_info(c, "Removing %s since delete topic is disabled", fo->deletes[i]);
        else
            ctl_warn(c, "Ignoring request to delete non-existing topics %s", fo->deletes[i]);
        if (kb_zk_path_delete_topic(path, sizeof path, fo->deletes[i]) < 0)
            continue;
        ctl_op *o = ctl_op_new(c, NULL, NULL, NULL, -1);
        kz_zkc_op del = { .type = KZ_ZKC_OP_DELETE, .path = path, .version = -1 };
        ctl_zk_write(c, o, &del, 1);
    }
    for (size_t i = 0; i < c->x.nbrokers; i++)
        ctl_chan_add(c, &c->x.brokers[i]);
    /* UpdateMetadata with the live brokers to all ... */
    ctl_info(c, "Sending update metadata request");
    kb_ctl_batch_um(&c->batch, &c->x, c->x.live_ids, c->x.nbrokers, NULL, 0);
    /* ... the replica state machine's start: LeaderAndIsr to every live
     * replica of a partition that has a leader/ISR ... */
    for (size_t i = 0; i < c->x.ntopics; i++) {
        kb_ctl_topic *t = c->x.topics[i];
        for (int32_t p = 0; p < t->nparts; p++) {
            kb_ctl_part *part = &t->parts[p];
            if (!part->has_lai)
                continue;
            for (int32_t r = 0; r < part->replicas.n; r++)
                if (part->rstate[r] == KB_RS_ONLINE)
                    kb_ctl_batch_lai(&c->batch, &c->x, &part->replicas.v[r], 1, t, p, false);
        }
    }
    ctl_batch_flush(c);
    /* ... then its offline replicas (replicas on brokers not alive):
     * removed from the ISR, the partitions they led left without leader */
    int32_t *dead = NULL;
    int32_t ndead = 0;
    size_t cap = 0;
    for (size_t i = 0; i < c->x.ntopics; i++) {
        kb_ctl_topic *t = c->x.topics[i];
        for (int32_t p = 0; p < t->nparts; p++)
            for (int32_t r = 0; r < t->parts[p].replicas.n; r++) {
                int32_t id = t->parts[p].replicas.v[r];
                bool seen = kb_ctl_live_has(&live, id);
                for (int32_t k = 0; k < ndead && !seen; k++)
                    seen = dead[k] == id;
                if (seen)
                    continue;
                int grown = KZ_VEC_RESERVE(dead, cap, (size_t)ndead + 1, 8);
                KB_CTL_ASSERT(grown == 0, "out of memory");
                dead[ndead++] = id;
            }
    }
    if (ndead)
        qsort(dead, (size_t)ndead, sizeof *dead, fo_cmp_i32);
    ctl_rsm_offline(c, dead, ndead, fo_step4b, fo, fo_free);
    free(dead);
}

/* ... and the partition state machine's: leaders for New/Offline. */
static void fo_step4b(kb_ctl *c, void *arg)
{
    ctl_batch_flush(c);
    ctl_plist *l = calloc(1, sizeof *l);
    KB_CTL_ASSERT(l != NULL, "out of memory");
    ctl_plist_offline(c, l);
    ctl_psm_online(c, l, fo_step5, arg, fo_free);
    ctl_plist_free_fn(l);
}

static void fo_step5(kb_ctl *c, void *arg)
{
    ctl_batch_flush(c);
    ctl_resume_deletions(c, fo_step6, arg, fo_free);
}

static void fo_step6(kb_ctl *c, void *arg)
{
    ctl_fo *fo = arg;
    ctl_batch_flush(c);
    if (fo->preferred)
        ctl_enqueue(c, CEV_PREFERRED, NULL);
    ctl_info(c, "Ready to serve as the new controller with epoch %d", c->epoch);
    ctl_rebalance_schedule(c, c->cfg.rebalance_first_delay_ms > 0 ? c->cfg.rebalance_first_delay_ms : 5000);
    fo_free(fo);
    ctl_ev_done(c);
}

void ctl_batch_flush(kb_ctl *c)
{
    if (c->active && !kb_ctl_batch_empty(&c->batch))
        ctl_chan_send_batch(c);
    else
        kb_ctl_batch_reset(&c->batch);
}

/* ------------------------------------------------------------ public API */

kb_ctl *kb_ctl_new(struct event_base *base, kz_zkc *zkc, const kb_ctl_cfg *cfg)
{
    kb_ctl *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->base = base;
    c->zk = zkc;
    c->cfg = *cfg;
    c->cfg.inter_broker_listener = strdup(cfg->inter_broker_listener ? cfg->inter_broker_listener : "PLAINTEXT");
    c->controller_id = -1;
    c->gen = 1;
    kb_ctl_ctx_init(&c->x);
    kb_ctl_batch_init(&c->batch);
    c->kick = event_new(base, -1, 0, ctl_pump, c);
    c->retry = event_new(base, -1, 0, ctl_retry_elect, c);
    if (!c->cfg.inter_broker_listener || !c->kick || !c->retry) {
        kb_ctl_free(c);
        return NULL;
    }
    return c;
}

void kb_ctl_set_listener(kb_ctl *c, kb_ctl_change_fn *fn, void *ctx)
{
    c->on_change = fn;
    c->on_change_ctx = ctx;
}

int kb_ctl_start(kb_ctl *c)
{
    if (c->started)
        return 0;
    c->started = true;
    ctl_enqueue(c, CEV_ELECT, NULL);
    return 0;
}

void kb_ctl_on_session_lost(kb_ctl *c)
{
    ctl_resign(c, "ZooKeeper session expired or closed");
}

void kb_ctl_on_session(kb_ctl *c)
{
    ctl_resign(c, "new ZooKeeper session");
    watches_orphan(c);
    if (c->started)
        ctl_enqueue(c, CEV_ELECT, NULL);
}

bool kb_ctl_is_active(const kb_ctl *c) { return c->active; }
int32_t kb_ctl_controller_id(const kb_ctl *c) { return c->controller_id; }
int32_t kb_ctl_epoch(const kb_ctl *c) { return c->epoch; }

void kb_ctl_free(kb_ctl *c)
{
    if (!c)
        return;
    c->on_change = NULL;
    ctl_resign(c, "shutting down");
    c->freeing = true;
    ctl_chan_close_all(c);
    kb_ctl_ctx_clear(&c->x);
    kb_ctl_batch_clear(&c->batch);
    kz_arena_reset(&c->arena);
    ctl_ev_free(c->cur);
    while (c->q_head) {
        ctl_ev *e = c->q_head;
        c->q_head = e->next;
        ctl_ev_free(e);
    }
    while (c->ops) {
        ctl_op *o = c->ops;
        op_unlink(c, o);
        op_free(o);
    }
    while (c->joins) {
        ctl_join *j = c->joins;
        join_unlink(c, j);
        if (j->arg_free)
            j->arg_free(j->arg);
        free(j);
    }
    watches_clear(c);
    ctl_shutdown_free(c);
    if (c->rebalance)
        event_free(c->rebalance);
    if (c->kick)
        event_free(c->kick);
    if (c->retry)
        event_free(c->retry);
    free((char *)c->cfg.inter_broker_listener);
    free(c);
}
