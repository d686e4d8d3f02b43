/* broker/kb_ctl_topic_del.c -- topic deletion (Kafka 2.8's
 * TopicDeletionManager, NOTES.md 12).
 *
 * A topic named under /admin/delete_topics is queued. When every replica's
 * broker is alive (and no replica failed to delete since the last broker
 * start), deletion starts:
 *   1. its partitions go Offline -> NonExistent (no ZooKeeper writes);
 *   2. UpdateMetadata to every live broker with leader -2 for them
 *      (brokers drop the topic from their metadata);
 *   3. each live replica goes Offline -> ReplicaDeletionStarted and its
 *      broker gets StopReplica(delete_partition = true, leader epoch -2);
 *   4. each answer moves the replica to ReplicaDeletionSuccessful or, on an
 *      error, ReplicaDeletionIneligible (deletion then waits for a broker
 *      start);
 *   5. once every replica succeeded: /brokers/topics/T (recursively),
 *      /config/topics/T and /admin/delete_topics/T are deleted, each with a
 *      controller-epoch guard, and the topic is forgotten.
 * A replica on a dead broker is ReplicaDeletionIneligible: the deletion
 * waits for the broker to come back. With delete.topic.enable=false only
 * the /admin/delete_topics/T node is removed.
 *
 * Simplification against Kafka: the first StopReplica(delete=false) of the
 * OfflineReplica step and its ISR shrink writes are not sent; the single
 * StopReplica(delete=true) stops and deletes at once.
 * Locality: broker loop thread only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kb_ctl_int.h"

#define del_info(c, fmt, ...) \
    kz_info(KB_CTL_DEL_COMP, "[Topic Deletion Manager %d] " fmt, (c)->cfg.broker_id, ##__VA_ARGS__)

/* Whether every replica of @t is in state @st. */
static bool all_replicas(const kb_ctl_topic *t, kb_ctl_rstate st)
{
    for (int32_t p = 0; p < t->nparts; p++)
        for (int32_t r = 0; r < t->parts[p].replicas.n; r++)
            if (t->parts[p].rstate[r] != st)
                return false;
    return true;
}

static bool any_replica(const kb_ctl_topic *t, kb_ctl_rstate st)
{
    for (int32_t p = 0; p < t->nparts; p++)
        for (int32_t r = 0; r < t->parts[p].replicas.n; r++)
            if (t->parts[p].rstate[r] == st)
                return true;
    return false;
}

static bool replicas_live(const kb_ctl_ctx *x, const kb_ctl_topic *t)
{
    for (int32_t p = 0; p < t->nparts; p++)
        for (int32_t r = 0; r < t->parts[p].replicas.n; r++)
            if (!kb_ctl_ctx_is_live(x, t->parts[p].replicas.v[r]) && t->parts[p].rstate[r] != KB_RS_DEL_OK)
                return false;
    return true;
}

/* Moves replica @r of @t-@p to @to through OfflineReplica when needed. */
static void repl_move(kb_ctl_topic *t, int32_t p, int32_t r, kb_ctl_rstate to)
{
    uint8_t st = t->parts[p].rstate[r];
    if (st == to)
        return;
    if (!kb_ctl_repl_ok[st][to] && kb_ctl_repl_ok[st][KB_RS_OFFLINE] && st != KB_RS_OFFLINE)
        kb_ctl_repl_set(t, p, r, KB_RS_OFFLINE);
    if (kb_ctl_repl_ok[t->parts[p].rstate[r]][to])
        kb_ctl_repl_set(t, p, r, to);
}

/* onTopicDeletion for one topic: UpdateMetadata (leader -2), StopReplica. */
static void start_deletion(kb_ctl *c, kb_ctl_topic *t)
{
    if (!t->delete_started) {
        for (int32_t p = 0; p < t->nparts; p++) {
            uint8_t st = t->parts[p].pstate;
            if (st != KB_PS_OFFLINE && kb_ctl_part_ok[st][KB_PS_OFFLINE])
                kb_ctl_part_set(t, p, KB_PS_OFFLINE);
            if (t->parts[p].pstate == KB_PS_OFFLINE)
                kb_ctl_part_set(t, p, KB_PS_NONEXISTENT);
        }
        t->delete_started = true;
    }
    for (int32_t p = 0; p < t->nparts; p++)
        kb_ctl_batch_um(&c->batch, &c->x, c->x.live_ids, c->x.nbrokers, t, p);
    for (int32_t p = 0; p < t->nparts; p++) {
        kb_ctl_part *part = &t->parts[p];
        for (int32_t r = 0; r < part->replicas.n; r++) {
            int32_t b = part->replicas.v[r];
            if (part->rstate[r] == KB_RS_DEL_OK)
                continue;
            if (!kb_ctl_ctx_is_live(&c->x, b)) {
                repl_move(t, p, r, KB_RS_DEL_INELIGIBLE);
                continue;
            }
            repl_move(t, p, r, KB_RS_DEL_STARTED);
            if (part->rstate[r] == KB_RS_DEL_STARTED)
                kb_ctl_batch_stop(&c->batch, b, t, p, true);
        }
    }
}

/* ------------------------------------------------- completing deletions */

typedef struct del_job {
    char **done;             /* topics whose znodes are being removed */
    int32_t ndone;
    ctl_cont_fn *cont;
    void *arg;
    ctl_free_fn *arg_free;
} del_job;

static void del_job_free(void *p)
{
    del_job *d = p;
    if (!d)
        return;
    for (int32_t i = 0; i < d->ndone; i++)
        free(d->done[i]);
    free(d->done);
    if (d->arg_free)
        d->arg_free(d->arg);
    free(d);
}

static void del_finish(kb_ctl *c, void *p)
{
    del_job *d = p;
    for (int32_t i = 0; i < d->ndone; i++) {
        kb_ctl_topic *t = kb_ctl_ctx_topic(&c->x, d->done[i]);
        if (!t || !t->delete_done)
            continue; /* a step failed; logged */
        kb_ctl_ctx_del_topic(&c->x, d->done[i]);
        del_info(c, "Deletion of topic %s successfully completed", d->done[i]);
    }
    ctl_cont_fn *cont = d->cont;
    void *arg = d->arg;
    d->arg_free = NULL;
    del_job_free(d);
    cont(c, arg);
}

/* Step 3 of completing: /admin/delete_topics/T. */
static void del_on_config(kb_ctl *c, ctl_op *o, const kz_zkc_result *res)
{
    if (res->rc == KB_ZK_ECONTROLLER_MOVED) {
        ctl_moved(c, "deleting a topic");
        return;
    }
    if (res->rc != KZ_ZOK && res->rc != KZ_ZNONODE) {
        ctl_error(c, "Cannot delete the config of topic %s: %s", o->topic, kz_zkc_strerror(res->rc));
        return;
    }
    char path[KB_ZK_PATH_MAX];
    if (kb_zk_path_delete_topic(path, sizeof path, o->topic) < 0)
        return;
    kb_ctl_topic *t = kb_ctl_ctx_topic(&c->x, o->topic);
    if (t)
        t->delete_done = true;
    ctl_op *d = ctl_op_new(c, o->join, NULL, o->topic, -1);
    kz_zkc_op del = { .type = KZ_ZKC_OP_DELETE, .path = path, .version = -1 };
    ctl_zk_write(c, d, &del, 1);
}

/* Step 2: /config/topics/T. */
static void del_on_topic_tree(kb_ctl *c, ctl_op *o, const kz_zkc_result *res)
{
    if (res->rc == KZ_ZBADVERSION || res->rc == KZ_ZNONODE || res->rc == KB_ZK_ECONTROLLER_MOVED) {
        ctl_moved(c, "deleting a topic");
        return;
    }
    if (res->rc != KZ_ZOK) {
        ctl_error(c, "Cannot delete the znodes of topic %s: %s", o->topic, kz_zkc_strerror(res->rc));
        return;
    }
    char path[KB_ZK_PATH_MAX];
    if (kb_zk_path_config(path, sizeof path, "topics", o->topic) < 0)
        return;
    ctl_op *d = ctl_op_new(c, o->join, del_on_config, o->topic, -1);
    kz_zkc_op del = { .type = KZ_ZKC_OP_DELETE, .path = path, .version = -1 };
    ctl_zk_write(c, d, &del, 1);
}

/* completeDeleteTopic: replicas -> NonExistent, then the znodes. */
static void complete_deletion(kb_ctl *c, ctl_join *j, kb_ctl_topic *t)
{
    for (int32_t p = 0; p < t->nparts; p++)
        for (int32_t r = 0; r < t->parts[p].replicas.n; r++)
            kb_ctl_repl_set(t, p, r, KB_RS_NONEXISTENT);
    char path[KB_ZK_PATH_MAX], epoch_path[] = KB_ZK_CONTROLLER_EPOCH;
    if (kb_zk_path_topic(path, sizeof path, t->name) < 0)
        return;
    kz_zkc_op guard = { .type = KZ_ZKC_OP_CHECK, .path = epoch_path, .version = c->x.epoch_zkv };
    ctl_op *o = ctl_op_new(c, j, del_on_topic_tree, t->name, -1);
    ctl_op_submitted(c, o, kz_zkc_delete_recursive(c->zk, path, &guard, ctl_op_cb, o));
}

void ctl_resume_deletions(kb_ctl *c, ctl_cont_fn *cont, void *arg, ctl_free_fn *arg_free)
{
    del_job *d = calloc(1, sizeof *d);
    KB_CTL_ASSERT(d != NULL, "out of memory");
    d->cont = cont;
    d->arg = arg;
    d->arg_free = arg_free;
    if (!c->cfg.delete_topic_enable) {
        del_finish(c, d);
        return;
    }
    d->done = calloc(c->x.ntopics + 1, sizeof *d->done);
    KB_CTL_ASSERT(d->done != NULL, "out of memory");
    size_t cap = 64;
    char *started = malloc(cap);
    KB_CTL_ASSERT(started != NULL, "out of memory");
    size_t off = 0;
    started[0] = '\0';
    for (size_t i = 0; i < c->x.ntopics; i++) {
        kb_ctl_topic *t = c->x.topics[i];
        if (!t->queued_delete || t->delete_done)
            continue;
        if (t->delete_started && all_replicas(t, KB_RS_DEL_OK)) {
            d->done[d->ndone] = strdup(t->name);
            KB_CTL_ASSERT(d->done[d->ndone] != NULL, "out of memory");
            d->ndone++;
            continue;
        }
        if (any_replica(t, KB_RS_DEL_STARTED) || t->delete_blocked || !replicas_live(&c->x, t))
            continue; /* answers pending, or waiting for a broker */
        size_t need = off + strlen(t->name) + 2;
        if (need > cap) {
            cap = need * 2;
            char *ns = realloc(started, cap);
            KB_CTL_ASSERT(ns != NULL, "out of memory");
            started = ns;
        }
        off += (size_t)snprintf(started + off, cap - off, "%s%s", off ? "," : "", t->name);
        start_deletion(c, t);
    }
    if (off)
        del_info(c, "Topic deletion callback for %s", started);
    free(started);
    ctl_batch_flush(c);
    ctl_join *j = ctl_join_new(c, del_finish, d, del_job_free);
    for (int32_t i = 0; i < d->ndone; i++) {
        kb_ctl_topic *t = kb_ctl_ctx_topic(&c->x, d->done[i]);
        if (t)
            complete_deletion(c, j, t);
    }
    ctl_join_arm(c, j);
}

/* ---------------------------------------------------------------- events */

static void td_done(kb_ctl *c, void *arg)
{
    (void)arg;
    ctl_ev_done(c);
}

static void td_on_children(kb_ctl *c, ctl_op *o, const kz_zkc_result *res)
{
    if (res->rc != KZ_ZOK) {
        if (res->rc != KZ_ZNONODE)
            ctl_error(c, "Cannot read the topics to delete: %s", kz_zkc_strerror(res->rc));
        return;
    }
    char path[KB_ZK_PATH_MAX];
    for (int32_t i = 0; i < res->n_children; i++) {
        const char *name = res->children[i];
        kb_ctl_topic *t = kb_ctl_ctx_topic(&c->x, name);
        if (t && c->cfg.delete_topic_enable) {
            if (!t->queued_delete) {
                ctl_info(c, "Starting topic deletion for topics %s", name);
                t->queued_delete = true;
            }
            continue;
        }
        if (t)
            ctl_info(c, "Removing %s since delete topic is disabled", name);
        else
            ctl_warn(c, "Ignoring request to delete non-existing topics %s", name);
        if (kb_zk_path_delete_topic(path, sizeof path, name) < 0)
            continue;
        ctl_op *d = ctl_op_new(c, o->join, NULL, NULL, -1);
        kz_zkc_op del = { .type = KZ_ZKC_OP_DELETE, .path = path, .version = -1 };
        ctl_zk_write(c, d, &del, 1);
    }
}

static void td_after_read(kb_ctl *c, void *arg)
{
    ctl_resume_deletions(c, td_done, arg, NULL);
}

void ctl_on_topic_deletion(kb_ctl *c, ctl_ev *ev)
{
    (void)ev;
    ctl_job_start(c, NULL, td_after_read, NULL, td_on_children, NULL, CTL_READ_CHILDREN, KB_ZK_DELETE_TOPICS,
                  CW_DELETES);
}

void ctl_on_stop_replica_resp(kb_ctl *c, ctl_ev *ev)
{
    for (int32_t i = 0; i < ev->ntp; i++) {
        kb_ctl_topic *t = kb_ctl_ctx_topic(&c->x, ev->tp[i].topic);
        int32_t p = ev->tp[i].partition;
        if (!t || !t->queued_delete || p < 0 || p >= t->nparts)
            continue;
        int32_t r = kb_ctl_part_replica_index(&t->parts[p], ev->broker);
        if (r < 0 || t->parts[p].rstate[r] != KB_RS_DEL_STARTED)
            continue;
        if (ev->tp[i].error) {
            ctl_warn(c, "Deletion of replica %s-%d on broker %d failed with error %d", t->name, p, ev->broker,
                     ev->tp[i].error);
            kb_ctl_repl_set(t, p, r, KB_RS_DEL_INELIGIBLE);
            t->delete_blocked = true;
        } else {
            kb_ctl_repl_set(t, p, r, KB_RS_DEL_OK);
        }
    }
    ctl_resume_deletions(c, td_done, NULL, NULL);
}
