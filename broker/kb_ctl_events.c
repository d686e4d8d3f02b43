/* broker/kb_ctl_events.c -- the controller's reactions to ZooKeeper watches
 * (NOTES.md 12), built from the state changes of kb_ctl_state.c:
 *   CEV_BROKER_CHANGE   new / dead / bounced brokers (by czxid):
 *                       onBrokerFailure (a dead or bounced broker also
 *                       leaves the shutting-down set), then onBrokerStartup
 *   CEV_TOPIC_CHANGE    new topics: NewPartition creation; gone topics forgotten
 *   CEV_PARTITION_MOD   partitions added to a topic
 *   CEV_ISR_CHANGE      notifications: re-read states, UpdateMetadata, delete
 *   CEV_PREFERRED       preferred leader election znode
 * Locality: broker loop thread only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kb_ctl_int.h"
#include "kz_config.h"
#include "kz_vec.h"

/* -------------------------------------------- broker failure / startup */

typedef struct bjob {
    int32_t *ids;
    int32_t n;
    bool had_offline_leaders;
    ctl_next *next;
} bjob;

static void bjob_free(void *p)
{
    bjob *b = p;
    if (b) {
        ctl_next_free(b->next);
        free(b->ids);
        free(b);
    }
}

static bjob *bjob_new(const int32_t *ids, int32_t n, ctl_cont_fn *cont, void *arg, ctl_free_fn *arg_free)
{
    bjob *b = calloc(1, sizeof *b);
    KB_CTL_ASSERT(b != NULL, "out of memory");
    b->ids = malloc((size_t)(n ? n : 1) * sizeof *b->ids);
    KB_CTL_ASSERT(b->ids != NULL, "out of memory");
    if (n > 0)
        memcpy(b->ids, ids, (size_t)n * sizeof *ids);
    b->n = n;
    b->next = ctl_next_new(cont, arg, arg_free);
    return b;
}

static void bjob_finish(kb_ctl *c, void *p)
{
    bjob *b = p;
    ctl_next *n = b->next;
    b->next = NULL;
    bjob_free(b);
    ctl_batch_flush(c);
    ctl_next_run(c, n);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static bool ids_has(const int32_t *v, int32_t n, int32_t id)
{
    for (int32_t i = 0; i < n; i++)
        if (v[i] == id)
            return true;
    return false;
}

static void bf_after_offline_replicas(kb_ctl *c, void *p)
{
    bjob *b = p;
    /* replicas of topics being deleted cannot be deleted now */
    for (size_t ti = 0; ti < c->x.ntopics; ti++) {
        kb_ctl_topic *t = c->x.topics[ti];
        if (!t->queued_delete)
            continue;
        for (int32_t pi = 0; pi < t->nparts; pi++)
            for (int32_t r = 0; r < t->parts[pi].replicas.n; r++) {
                if (!ids_has(b->ids, b->n, t->parts[pi].replicas.v[r]))
                    continue;
                uint8_t *st = &t->parts[pi].rstate[r];
                if (kb_ctl_repl_ok[*st][KB_RS_OFFLINE] && *st != KB_RS_OFFLINE)
                    kb_ctl_repl_set(t, pi, r, KB_RS_OFFLINE);
                if (kb_ctl_repl_ok[*st][KB_RS_DEL_INELIGIBLE])
                    kb_ctl_repl_set(t, pi, r, KB_RS_DEL_INELIGIBLE);
            }
    }
    /* no leader moved: still tell everyone which brokers are gone */
    if (!b->had_offline_leaders)
        kb_ctl_batch_um(&c->batch, &c->x, c->x.live_ids, c->x.nbrokers, NULL, 0);
    bjob_finish(c, b);
}

static void bf_after_elect(kb_ctl *c, void *p)
{
    bjob *b = p;
    ctl_batch_flush(c);
    ctl_rsm_offline(c, b->ids, b->n, bf_after_offline_replicas, b, bjob_free);
}

void ctl_broker_failure(kb_ctl *c, const int32_t *ids, int32_t n, ctl_cont_fn *cont, void *arg,
                        ctl_free_fn *arg_free)
{
    char buf[512];
    ctl_info(c, "Broker failure callback for %s", kb_ctl_ids_str(ids, n, buf, sizeof buf));
    bjob *b = bjob_new(ids, n, cont, arg, arg_free);
    /* partitions led by a dead broker go offline first */
    for (size_t ti = 0; ti < c->x.ntopics; ti++) {
        kb_ctl_topic *t = c->x.topics[ti];
        if (t->queued_delete)
            continue;
        for (int32_t p = 0; p < t->nparts; p++) {
            kb_ctl_part *part = &t->parts[p];
            if (part->has_lai && ids_has(ids, n, part->lai.leader) && part->pstate != KB_PS_NONEXISTENT) {
                if (part->pstate != KB_PS_OFFLINE)
                    kb_ctl_part_set(t, p, KB_PS_OFFLINE);
                b->had_offline_leaders = true;
            }
        }
    }
    ctl_plist l = { 0 };
    ctl_plist_offline(c, &l);
    ctl_psm_online(c, &l, bf_after_elect, b, bjob_free);
    ctl_plist_free(&l);
}

static void bs_after_elect(kb_ctl *c, void *p)
{
    bjob *b = p;
    ctl_batch_flush(c);
    ctl_next *n = b->next;
    b->next = NULL;
    bjob_free(b);
    /* deletions paused by these brokers' absence can go on */
    for (size_t ti = 0; ti < c->x.ntopics; ti++)
        c->x.topics[ti]->delete_blocked = false;
    ctl_resume_deletions(c, ctl_next_run, n, ctl_next_free);
}

void ctl_broker_startup(kb_ctl *c, const int32_t *ids, int32_t n, ctl_cont_fn *cont, void *arg,
                        ctl_free_fn *arg_free)
{
    char buf[512];
    ctl_info(c, "New broker startup callback for %s", kb_ctl_ids_str(ids, n, buf, sizeof buf));
    bjob *b = bjob_new(ids, n, cont, arg, arg_free);
    /* the others learn the new brokers (no partition states) ... */
    int32_t *old = malloc((c->x.nbrokers + 1) * sizeof *old);
    KB_CTL_ASSERT(old != NULL, "out of memory");
    size_t nold = 0;
    for (size_t i = 0; i < c->x.nbrokers; i++)
        if (!ids_has(ids, n, c->x.live_ids[i]))
            old[nold++] = c->x.live_ids[i];
    kb_ctl_batch_um(&c->batch, &c->x, old, nold, NULL, 0);
    free(old);
    ctl_batch_flush(c);
    /* ... the new ones get every partition state ... */
    kb_ctl_batch_um(&c->batch, &c->x, ids, (size_t)n, NULL, 0);
    for (size_t ti = 0; ti < c->x.ntopics; ti++) {
        kb_ctl_topic *t = c->x.topics[ti];
        for (int32_t p = 0; p < t->nparts; p++)
            if (t->parts[p].has_lai)
                kb_ctl_batch_um(&c->batch, &c->x, NULL, 0, t, p);
    }
    ctl_batch_flush(c);
    /* ... and LeaderAndIsr for every replica they host (OnlineReplica) */
    for (size_t ti = 0; ti < c->x.ntopics; ti++) {
        kb_ctl_topic *t = c->x.topics[ti];
        for (int32_t p = 0; p < t->nparts; p++) {
            kb_ctl_part *part = &t->parts[p];
            for (int32_t r = 0; r < part->replicas.n; r++) {
                if (!ids_has(ids, n, part->replicas.v[r]) || !kb_ctl_repl_ok[part->rstate[r]][KB_RS_ONLINE])
                    continue;
                kb_ctl_repl_set(t, p, r, KB_RS_ONLINE);
                if (part->has_lai)
                    kb_ctl_batch_lai(&c->batch, &c->x, &part->replicas.v[r], 1, t, p, false);
            }
        }
    }
    ctl_batch_flush(c);
    ctl_plist l = { 0 };
    ctl_plist_offline(c, &l);
    ctl_psm_online(c, &l, bs_after_elect, b, bjob_free);
    ctl_plist_free(&l);
}

/* ------------------------------------------------------------ event jobs */

/* One more read of the data of @path within the job of @o (same join, same o->ptr): @fn
 * sees it with @topic and @part as the op's. */
static void ev_get(kb_ctl *c, const ctl_op *o, ctl_op_fn *fn, const char *topic, int32_t part, const char *path,
                   int watch_kind)
{
    ctl_op *g = ctl_op_new(c, o->join, fn, topic, part);
    g->ptr = o->ptr;
    ctl_op_read(c, g, CTL_READ_GET, path, watch_kind);
}

/* --------------------------------------------------------- broker change */

typedef struct bc_job {
    kb_ctl_broker *seen;     /* registrations read, by id */
    int32_t nseen;
    size_t cap;
    int32_t *fail, *start;   /* dead + bounced / new + bounced */
    int32_t nfail, nstart;
} bc_job;

static void bc_free(void *p)
{
    bc_job *b = p;
    if (!b)
        return;
    for (int32_t i = 0; i < b->nseen; i++)
        kb_ctl_broker_clear(&b->seen[i]);
    free(b->seen);
    free(b->fail);
    free(b->start);
    free(b);
}

static void bc_on_broker(kb_ctl *c, ctl_op *o, const kz_zkc_result *res)
{
    bc_job *b = o->ptr;
    if (res->rc != KZ_ZOK)
        return; /* gone again: the next children event sees it */
    kb_ctl_broker br;
    if (ctl_broker_parse(c, o->part, res, &br) != 0)
        return;
    if (KZ_VEC_RESERVE(b->seen, b->cap, (size_t)b->nseen + 1, 8) != 0) {
        kb_ctl_broker_clear(&br);
        return;
    }
    b->seen[b->nseen++] = br;
}

static int cmp_broker(const void *a, const void *b)
{
    int32_t x = ((const kb_ctl_broker *)a)->id, y = ((const kb_ctl_broker *)b)->id;
    return (x > y) - (x < y);
}

static void bc_done(kb_ctl *c, void *p)
{
    bc_free(p);
    ctl_ev_done(c);
}

static void bc_startup(kb_ctl *c, void *p)
{
    bc_job *b = p;
    for (int32_t i = 0; i < b->nseen; i++) {
        if (!ids_has(b->start, b->nstart, b->seen[i].id))
            continue;
        kb_ctl_broker *nb = kb_ctl_ctx_put_broker(&c->x, &b->seen[i]);
        if (nb)
            ctl_chan_add(c, nb);
    }
    if (b->nstart)
        ctl_broker_startup(c, b->start, b->nstart, bc_done, b, bc_free);
    else
        bc_done(c, b);
}

static void bc_compare(kb_ctl *c, void *p)
{
    bc_job *b = p;
    if (b->nseen)
        qsort(b->seen, (size_t)b->nseen, sizeof *b->seen, cmp_broker);
    size_t cap = c->x.nbrokers + (size_t)b->nseen + 1;
    b->fail = malloc(cap * sizeof *b->fail);
    b->start = malloc(cap * sizeof *b->start);
    int32_t *added = malloc(cap * sizeof *added), *dead = malloc(cap * sizeof *dead),
            *bounced = malloc(cap * sizeof *bounced), *all = malloc(cap * sizeof *all);
    KB_CTL_ASSERT(b->fail && b->start && added && dead && bounced && all, "out of memory");
    int32_t na = 0, nd = 0, nbo = 0, nall = 0;
    for (int32_t i = 0; i < b->nseen; i++) {
        kb_ctl_broker *old = kb_ctl_ctx_broker(&c->x, b->seen[i].id);
        all[nall++] = b->seen[i].id;
        if (!old)
            added[na++] = b->seen[i].id;
        else if (b->seen[i].epoch > old->epoch)
            bounced[nbo++] = b->seen[i].id;
    }
    for (size_t i = 0; i < c->x.nbrokers; i++) {
        bool there = false;
        for (int32_t k = 0; k < b->nseen && !there; k++)
            there = b->seen[k].id == c->x.live_ids[i];
        if (!there)
            dead[nd++] = c->x.live_ids[i];
    }
    char s1[256], s2[256], s3[256], s4[512];
    ctl_info(c, "Newly added brokers: %s, deleted brokers: %s, bounced brokers: %s, all live brokers: %s",
             kb_ctl_ids_str(added, na, s1, sizeof s1), kb_ctl_ids_str(dead, nd, s2, sizeof s2),
             kb_ctl_ids_str(bounced, nbo, s3, sizeof s3), kb_ctl_ids_str(all, nall, s4, sizeof s4));
    /* failures first (dead and bounced), then startups (new and bounced) */
    b->nfail = 0;
    for (int32_t i = 0; i < nd; i++)
        b->fail[b->nfail++] = dead[i];
    for (int32_t i = 0; i < nbo; i++)
        b->fail[b->nfail++] = bounced[i];
    b->nstart = 0;
    for (int32_t i = 0; i < na; i++)
        b->start[b->nstart++] = added[i];
    for (int32_t i = 0; i < nbo; i++)
        b->start[b->nstart++] = bounced[i];
    if (b->nfail)
        qsort(b->fail, (size_t)b->nfail, sizeof *b->fail, cmp_i32);
    if (b->nstart)
        qsort(b->start, (size_t)b->nstart, sizeof *b->start, cmp_i32);
    free(added);
    free(bounced);
    free(all);
    /* a dead or bounced broker leaves the shutting-down set with its registration */
    int32_t nsd = 0;
    for (int32_t i = 0; i < b->nfail; i++) {
        if (kb_ctl_ctx_is_shutting(&c->x, b->fail[i]))
            dead[nsd++] = b->fail[i]; /* dead[] is copied to b->fail: reused for the log line */
        ctl_chan_remove(c, b->fail[i]);
        kb_ctl_ctx_del_broker(&c->x, b->fail[i]);
    }
    if (nsd)
        ctl_info(c, "Removed %s from list of shutting down brokers.", kb_ctl_ids_str(dead, nsd, s1, sizeof s1));
    free(dead);
    if (b->nfail)
        ctl_broker_failure(c, b->fail, b->nfail, bc_startup, b, bc_free);
    else
        bc_startup(c, b);
}

static void bc_on_children(kb_ctl *c, ctl_op *o, const kz_zkc_result *res)
{
    if (res->rc != KZ_ZOK) {
        ctl_error(c, "Cannot read the live brokers: %s", kz_zkc_strerror(res->rc));
        return;
    }
    char path[KB_ZK_PATH_MAX];
    for (int32_t i = 0; i < res->n_children; i++) {
        int32_t id;
        if (kz_cfg_parse_i32(res->children[i], &id) != 0 || kb_zk_path_broker(path, sizeof path, id) < 0)
            continue;
        ev_get(c, o, bc_on_broker, NULL, id, path, -1);
    }
}

void ctl_on_broker_change(kb_ctl *c, ctl_ev *ev)
{
    (void)ev;
    bc_job *b = calloc(1, sizeof *b);
    KB_CTL_ASSERT(b != NULL, "out of memory");
    ctl_job_start(c, b, bc_compare, bc_free, bc_on_children, NULL, CTL_READ_CHILDREN, KB_ZK_BROKER_IDS,
                  CW_BROKERS);
}

/* ---------------------------------------------------------- topic change */

typedef struct tc_job {
    ctl_plist added;          /* partitions of the new topics */
    char **names;
    int32_t nnames;
} tc_job;

static void tc_free(void *p)
{
    tc_job *t = p;
    if (!t)
        return;
    ctl_plist_free(&t->added);
    for (int32_t i = 0; i < t->nnames; i++)
        free(t->names[i]);
    free(t->names);
    free(t);
}

static void tc_done(kb_ctl *c, void *p)
{
    tc_free(p);
    ctl_ev_done(c);
}

static void tc_create(kb_ctl *c, void *p)
{
    tc_job *tj = p;
    if (tj->added.n == 0) {
        tc_done(c, tj);
        return;
    }
    ctl_new_partitions(c, &tj->added, tc_done, tj, tc_free);
}

/* Reads a new topic's assignment (and arms its data watch). */
static void tc_on_topic(kb_ctl *c, ctl_op *o, const kz_zkc_result *res)
{
    tc_job *tj = o->ptr;
    if (res->rc != KZ_ZOK)
        return;
    kz_arena a = KZ_ARENA_INIT;
    kb_zk_topic zt;
    if (ctl_topic_decode(c, o->topic, res, &a, &zt) != 0)
        return;
    kb_ctl_topic *t = kb_ctl_ctx_add_topic(&c->x, o->topic, 0);
    if (!t || ctl_topic_assign(c, t, &zt) < 0) {
        kb_ctl_ctx_del_topic(&c->x, o->topic);
        kz_arena_reset(&a);
        return;
    }
    kz_arena_reset(&a);
    ctl_topic_ensure_id(c, o->join, t, res->stat.version);
    for (int32_t p = 0; p < t->nparts; p++)
        ctl_plist_add(&tj->added, t->name, p);
}

static void tc_on_children(kb_ctl *c, ctl_op *o, const kz_zkc_result *res)
{
    if (res->rc != KZ_ZOK) {
        ctl_error(c, "Cannot read the topics: %s", kz_zkc_strerror(res->rc));
        return;
    }
    /* topics gone from ZooKeeper are forgotten */
    for (size_t i = c->x.ntopics; i-- > 0;) {
        bool there = false;
        for (int32_t k = 0; k < res->n_children && !there; k++)
            there = strcmp(res->children[k], c->x.topics[i]->name) == 0;
        if (!there)
            kb_ctl_ctx_del_topic(&c->x, c->x.topics[i]->name);
    }
    size_t cap = 64;
    char *news = malloc(cap);
    KB_CTL_ASSERT(news != NULL, "out of memory");
    size_t off = 0;
    news[0] = '\0';
    char path[KB_ZK_PATH_MAX];
    for (int32_t k = 0; k < res->n_children; k++) {
        const char *name = res->children[k];
        if (kb_ctl_ctx_topic(&c->x, name) || kb_zk_path_topic(path, sizeof path, name) < 0)
            continue;
        size_t need = off + strlen(name) + 3;
        if (need > cap) {
            cap = need * 2;
            char *nn = realloc(news, cap);
            KB_CTL_ASSERT(nn != NULL, "out of memory");
            news = nn;
        }
        off += (size_t)snprintf(news + off, cap - off, "%s%s", off ? "," : "", name);
        ev_get(c, o, tc_on_topic, name, -1, path, CW_TOPIC);
    }
    if (off)
        ctl_info(c, "New topics: [Set(%s)]", news);
    free(news);
}

void ctl_on_topic_change(kb_ctl *c, ctl_ev *ev)
{
    (void)ev;
    tc_job *tj = calloc(1, sizeof *tj);
    KB_CTL_ASSERT(tj != NULL, "out of memory");
    ctl_job_start(c, tj, tc_create, tc_free, tc_on_children, NULL, CTL_READ_CHILDREN, KB_ZK_BROKER_TOPICS,
                  CW_TOPICS);
}

/* ---------------------------------------------- partition modification */

static void pm_on_topic(kb_ctl *c, ctl_op *o, const kz_zkc_result *res)
{
    tc_job *tj = o->ptr;
    kb_ctl_topic *t = kb_ctl_ctx_topic(&c->x, o->topic);
    if (res->rc != KZ_ZOK || !t)
        return;
    kz_arena a = KZ_ARENA_INIT;
    kb_zk_topic zt;
    if (ctl_topic_decode(c, o->topic, res, &a, &zt) != 0)
        return;
    if (zt.n_parts <= t->nparts) {
        kz_arena_reset(&a);
        return;
    }
    if (t->queued_delete) {
        ctl_info(c, "Skipping adding partitions %d..%d for topic %s since it is currently being deleted",
                 t->nparts, zt.n_parts - 1, t->name);
        /* put the assignment back as it was */
        zt.n_parts = t->nparts;
        zt.has_id = t->has_id;
        zt.id = t->id;
        ctl_topic_write(c, o->join, t->name, &zt, res->stat.version);
        kz_arena_reset(&a);
        return;
    }
    int32_t old = t->nparts;
    if (ctl_topic_assign(c, t, &zt) < 0) {
        kz_arena_reset(&a);
        return;
    }
    kz_arena_reset(&a);
    for (int32_t p = old; p < t->nparts; p++)
        ctl_plist_add(&tj->added, t->name, p);
}

void ctl_on_partition_mod(kb_ctl *c, ctl_ev *ev)
{
    char path[KB_ZK_PATH_MAX];
    if (!kb_ctl_ctx_topic(&c->x, ev->topic) || kb_zk_path_topic(path, sizeof path, ev->topic) < 0) {
        ctl_ev_done(c);
        return;
    }
    tc_job *tj = calloc(1, sizeof *tj);
    KB_CTL_ASSERT(tj != NULL, "out of memory");
    ctl_job_start(c, tj, tc_create, tc_free, pm_on_topic, ev->topic, CTL_READ_GET, path, CW_TOPIC);
}

/* ----------------------------------------------------------- ISR change */

typedef struct ic_job {
    ctl_plist parts;
    char **nodes;
    int32_t nnodes;
    bool present;             /* preferred election: the znode exists */
} ic_job;

static void ic_free(void *p)
{
    ic_job *i = p;
    if (!i)
        return;
    ctl_plist_free(&i->parts);
    for (int32_t k = 0; k < i->nnodes; k++)
        free(i->nodes[k]);
    free(i->nodes);
    free(i);
}

/* Adds the (topic, partition) pairs of a notification or election znode
 * that the controller knows, once each. */
static void tp_list_take(kb_ctl *c, const kz_zkc_result *res, ctl_plist *l, const char *what)
{
    kz_arena a = KZ_ARENA_INIT;
    kb_zk_tp *tps = NULL;
    int32_t n = 0;
    char err[160];
    if (!res->data || kb_zk_tp_list_decode(res->data, (size_t)res->data_len, &a, &tps, &n, err, sizeof err) != 0) {
        ctl_error(c, "Cannot read %s: %s", what, res->data ? err : "null data");
        kz_arena_reset(&a);
        return;
    }
    for (int32_t i = 0; i < n; i++) {
        kb_ctl_topic *t = kb_ctl_ctx_topic(&c->x, tps[i].topic);
        if (!t || tps[i].partition < 0 || tps[i].partition >= t->nparts)
            continue;
        bool dup = false;
        for (int32_t k = 0; k < l->n && !dup; k++)
            dup = l->part[k] == tps[i].partition && strcmp(l->topic[k], tps[i].topic) == 0;
        if (!dup)
            ctl_plist_add(l, tps[i].topic, tps[i].partition);
    }
    kz_arena_reset(&a);
}

static void ic_on_node(kb_ctl *c, ctl_op *o, const kz_zkc_result *res)
{
    if (res->rc == KZ_ZOK)
        tp_list_take(c, res, &((ic_job *)o->ptr)->parts, "an ISR change notification");
}

static void ic_done(kb_ctl *c, void *p)
{
    ic_free(p);
    ctl_ev_done(c);
}

static void ic_after_states(kb_ctl *c, void *p)
{
    ic_job *i = p;
    for (int32_t k = 0; k < i->parts.n; k++) {
        kb_ctl_topic *t = kb_ctl_ctx_topic(&c->x, i->parts.topic[k]);
        if (t && i->parts.part[k] < t->nparts)
            kb_ctl_batch_um(&c->batch, &c->x, c->x.live_ids, c->x.nbrokers, t, i->parts.part[k]);
    }
    ctl_batch_flush(c);
    ctl_join *j = ctl_join_new(c, ic_done, i, ic_free);
    char path[KB_ZK_PATH_MAX];
    for (int32_t k = 0; k < i->nnodes; k++) {
        snprintf(path, sizeof path, "%s/%s", KB_ZK_ISR_CHANGE, i->nodes[k]);
        ctl_op *o = ctl_op_new(c, j, NULL, NULL, -1);
        kz_zkc_op del = { .type = KZ_ZKC_OP_DELETE, .path = path, .version = -1 };
        ctl_zk_write(c, o, &del, 1);
    }
    ctl_join_arm(c, j);
}

static void ic_after_nodes(kb_ctl *c, void *p)
{
    ic_job *i = p;
    ctl_read_states(c, &i->parts, ic_after_states, i, ic_free);
}

static void ic_on_children(kb_ctl *c, ctl_op *o, const kz_zkc_result *res)
{
    ic_job *i = o->ptr;
    if (res->rc != KZ_ZOK || res->n_children <= 0)
        return;
    i->nodes = calloc((size_t)res->n_children, sizeof *i->nodes);
    KB_CTL_ASSERT(i->nodes != NULL, "out of memory");
    char path[KB_ZK_PATH_MAX];
    for (int32_t k = 0; k < res->n_children; k++) {
        i->nodes[i->nnodes] = strdup(res->children[k]);
        KB_CTL_ASSERT(i->nodes[i->nnodes] != NULL, "out of memory");
        i->nnodes++;
        snprintf(path, sizeof path, "%s/%s", KB_ZK_ISR_CHANGE, res->children[k]);
        ev_get(c, o, ic_on_node, NULL, -1, path, -1);
    }
}

void ctl_on_isr_change(kb_ctl *c, ctl_ev *ev)
{
    (void)ev;
    ic_job *i = calloc(1, sizeof *i);
    KB_CTL_ASSERT(i != NULL, "out of memory");
    ctl_job_start(c, i, ic_after_nodes, ic_free, ic_on_children, NULL, CTL_READ_CHILDREN, KB_ZK_ISR_CHANGE, CW_ISR);
}

/* ------------------------------------------- preferred replica election */

static void pref_done(kb_ctl *c, void *p)
{
    ic_free(p);
    ctl_ev_done(c);
}

static void pref_after_elect(kb_ctl *c, void *p)
{
    ctl_batch_flush(c);
    ctl_join *j = ctl_join_new(c, pref_done, p, ic_free);
    ctl_op *o = ctl_op_new(c, j, NULL, NULL, -1);
    kz_zkc_op del = { .type = KZ_ZKC_OP_DELETE, .path = KB_ZK_PREFERRED_ELECTION, .version = -1 };
    ctl_zk_write(c, o, &del, 1);
    ctl_join_arm(c, j);
}

static void pref_on_data(kb_ctl *c, ctl_op *o, const kz_zkc_result *res)
{
    ic_job *i = o->ptr;
    if (res->rc != KZ_ZOK)
        return;
    tp_list_take(c, res, &i->parts, KB_ZK_PREFERRED_ELECTION);
    char *s = ctl_plist_str(&i->parts);
    ctl_info(c, "Starting replica leader election (PREFERRED) for partitions %s triggered by ZkTriggered",
             s ? s : "");
    free(s);
    for (int32_t k = 0; k < i->parts.n; k++) {
        kb_ctl_topic *t = kb_ctl_ctx_topic(&c->x, i->parts.topic[k]);
        if (!t)
            continue;
        if (t->queued_delete) {
            ctl_warn(c, "Skipping preferred replica election for partition %s-%d since the topic is being "
                     "deleted", t->name, i->parts.part[k]);
            continue;
        }
        ctl_pref_elect(c, o->join, t, i->parts.part[k]);
    }
}

static void pref_on_exists(kb_ctl *c, ctl_op *o, const kz_zkc_result *res)
{
    if (res->rc != KZ_ZOK)
        return; /* no election asked: the watch stays for its creation */
    ((ic_job *)o->ptr)->present = true;
    ev_get(c, o, pref_on_data, NULL, -1, KB_ZK_PREFERRED_ELECTION, -1);
}

static void pref_after_read(kb_ctl *c, void *p)
{
    ic_job *i = p;
    if (!i->present) {
        pref_done(c, i);
        return;
    }
    pref_after_elect(c, i);
}

void ctl_on_preferred(kb_ctl *c, ctl_ev *ev)
{
    (void)ev;
    ic_job *i = calloc(1, sizeof *i);
    KB_CTL_ASSERT(i != NULL, "out of memory");
    ctl_job_start(c, i, pref_after_read, ic_free, pref_on_exists, NULL, CTL_READ_EXISTS, KB_ZK_PREFERRED_ELECTION,
                  CW_PREFERRED);
}
