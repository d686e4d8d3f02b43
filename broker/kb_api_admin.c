/* broker/kb_api_admin.c -- CreateTopics (19), DeleteTopics (20),
 * CreatePartitions (37), DeleteRecords (21) and DescribeLogDirs (35), as
 * KafkaApis and ZkAdminManager of Kafka 2.8 answer them.
 *
 * CreateTopics, DeleteTopics and CreatePartitions are served by the active
 * controller only; any other broker answers NOT_CONTROLLER for every topic
 * (the client then looks the controller up in Metadata and retries). On the
 * controller each topic goes through kb_admin (ZooKeeper writes), then the
 * request waits, without blocking the loop, until the metadata cache shows
 * the result (Kafka's DelayedCreatePartitions / DelayedDeleteTopics):
 *
 *   decode -> per-topic checks -> kb_admin ops (async, counted) -> all done
 *     -> timeout_ms <= 0 / validate_only / nothing succeeded: reply now
 *        (successes then read REQUEST_TIMED_OUT, as Kafka answers)
 *     -> else kb_server_wait_metadata until every partition of every created
 *        topic has a leader (create) or every deleted topic is gone (delete),
 *        or timeout_ms: the topics not there yet get REQUEST_TIMED_OUT.
 *
 * The state of one request lives in req->arena (released by kb_req_reply),
 * and its response struct is filled in place as results come in.
 *
 * DeleteRecords raises the log start offset of partitions this broker leads
 * (offset -1 = the high watermark) and answers at once with the new low
 * watermark: the leader's log start offset. (Kafka waits until every live
 * follower has caught up with the new start offset; followers here learn it
 * from their next fetch.) DescribeLogDirs lists every log directory of this
 * broker with the partition logs it holds.
 * Locality: broker loop thread only. */
#include <stdlib.h>
#include <string.h>

#include "kb_admin.h"
#include "kb_api_admin_util.h"
#include "kb_apis.h"
#include "kb_ctl.h"
#include "kb_log.h"
#include "kb_log_mgr.h"
#include "kb_replica_mgr.h"
#include "kb_topic_config.h"
#include "kz_kmsgs.h"
#include "kz_log.h"

#define KB_ADM_LOG "kafka.server.ZkAdminManager"

enum {
    KB_ADM_INVALID_REPLICA_ASSIGNMENT = 39,
    KB_ADM_UNKNOWN_TOPIC_ID = 100,
};

static bool kb_adm_is_controller(const kb_server *s) { return s->ctl && kb_ctl_is_active(s->ctl); }

static bool kb_adm_topic_known(const kb_server *s, kz_str name)
{
    return name.len >= 0 && kb_mdc_topic(s->mdc, name.s, name.len) != NULL;
}

/* The live brokers of the metadata cache, as kb_admin wants them (sorted by
 * id, racks borrowed from the cache for the duration of the call). */
static kb_assign_broker *kb_adm_live_brokers(kb_server *s, kz_arena *a, size_t *n)
{
    int nb = kb_mdc_broker_count(s->mdc);
    kb_assign_broker *bs = kz_arena_alloc(a, (size_t)(nb > 0 ? nb : 1) * sizeof *bs);
    if (!bs)
        return NULL;
    for (int i = 0; i < nb; i++) {
        const kb_md_broker *b = kb_mdc_broker_at(s->mdc, i);
        bs[i] = (kb_assign_broker){ b->id, b->rack };
    }
    *n = (size_t)(nb > 0 ? nb : 0);
    return bs;
}

/* Whether partitions [0, @nparts) of @name all have a leader in the cache
 * (DelayedCreatePartitions.isMissingLeader: absent or leader -1 = missing). */
static bool kb_adm_has_leaders(const kb_server *s, const char *name, int32_t nparts)
{
    int32_t len = (int32_t)strlen(name);
    for (int32_t p = 0; p < nparts; p++) {
        const kb_md_part *mp = kb_mdc_part(s->mdc, name, len, p);
        if (!mp || mp->leader == -1)
            return false;
    }
    return true;
}

/* ======================================================== CreateTopics (19) */

typedef struct kb_ct kb_ct;

typedef struct kb_ct_topic {
    kb_ct *ct;
    kz_CreatableTopicResult *res;
    const char *name;
    const kb_cfg_pair *ov;   /* the request's configs, for the v5+ config list */
    size_t nov;
    int32_t nparts;          /* resolved partition count once created */
    bool ok;                 /* created (or validated) */
} kb_ct_topic;

struct kb_ct {
    kb_server *s;
    kb_req *req;
    int16_t ver;
    kz_CreateTopicsResponse *r;
    kb_ct_topic *t;
    int32_t n;
    int32_t pending;         /* kb_admin operations outstanding, + 1 while starting */
    int32_t timeout_ms;
    bool validate_only;
};

/* A failed topic carries no metadata (KafkaApis resets it). */
static void kb_ct_reset(kz_CreatableTopicResult *res)
{
    res->configs.n = 0;
    res->configs.v = NULL;
    res->num_partitions = -1;
    res->replication_factor = -1;
    res->topic_config_error_code = 0;
}

static void kb_ct_fail(kb_ct_topic *t, int16_t err, const char *msg)
{
    t->ok = false;
    t->res->error_code = err;
    t->res->error_message = msg ? kb_adm_msgf(&t->ct->req->arena, "%s", msg) : KZ_STR_NULL;
    kb_ct_reset(t->res);
    if (err != KB_ERR_TOPIC_ALREADY_EXISTS && err != KB_ERR_REQUEST_TIMED_OUT)
        kz_info(KB_ADM_LOG, "[Admin Manager on Broker %d]: Error processing create topic request for topic %s: %s",
                t->ct->s->broker_id, t->name ? t->name : "", msg ? msg : "");
}

/* The v5+ metadata of a created topic: counts and the config list
 * (createTopicConfigEntry without synonyms). */
static int kb_ct_fill_metadata(kb_ct_topic *t, const kb_admin_result *ar)
{
    kz_CreatableTopicResult *res = t->res;
    kz_arena *a = &t->ct->req->arena;
    res->num_partitions = ar->num_partitions;
    res->replication_factor = ar->replication_factor;
    memcpy(res->topic_id.b, ar->topic_id, sizeof res->topic_id.b);
    if (t->ct->ver < 5)
        return 0;
    kb_cfg_entry *e;
    size_t n;
    if (kb_topic_cfg_describe(t->ct->s->cfg, t->ov, t->nov, a, &e, &n) != 0)
        return KZ_ENOMEM;
    res->configs.v = kz_arena_alloc(a, (n ? n : 1) * sizeof *res->configs.v);
    if (!res->configs.v)
        return KZ_ENOMEM;
    res->configs.n = (int32_t)n;
    for (size_t i = 0; i < n; i++) {
        kz_CreatableTopicConfigs *c = &res->configs.v[i];
        c->name = kz_str_c(e[i].name);
        c->value = kz_str_c(e[i].value);
        c->read_only = e[i].read_only;
        c->config_source = (int8_t)e[i].source;
        c->is_sensitive = e[i].is_sensitive;
    }
    return 0;
}

static bool kb_ct_ready(kb_server *s, void *ctx)
{
    kb_ct *ct = ctx;
    for (int32_t i = 0; i < ct->n; i++)
        if (ct->t[i].ok && !kb_adm_has_leaders(s, ct->t[i].name, ct->t[i].nparts))
            return false;
    return true;
}

/* End of the wait (or no wait): topics still without leaders time out. */
static void kb_ct_waited(kb_server *s, void *ctx, bool timed_out)
{
    kb_ct *ct = ctx;
    (void)timed_out;
    for (int32_t i = 0; i < ct->n; i++) {
        kb_ct_topic *t = &ct->t[i];
        if (t->ok && !ct->validate_only && !kb_adm_has_leaders(s, t->name, t->nparts))
            kb_ct_fail(t, KB_ERR_REQUEST_TIMED_OUT, NULL);
    }
    kb_req_reply(ct->req, &kz_kmsg_CreateTopicsResponse, ct->ver, ct->r);
}

/* Every kb_admin call has completed: answer now or wait for the leaders. */
static void kb_ct_all_done(kb_ct *ct)
{
    bool any_ok = false;
    for (int32_t i = 0; i < ct->n; i++)
        any_ok |= ct->t[i].ok;
    if (ct->validate_only || !any_ok) {
        kb_ct_waited(ct->s, ct, false);
        return;
    }
    if (ct->timeout_ms <= 0) {
        for (int32_t i = 0; i < ct->n; i++)
            if (ct->t[i].ok)
                kb_ct_fail(&ct->t[i], KB_ERR_REQUEST_TIMED_OUT, NULL);
        kb_req_reply(ct->req, &kz_kmsg_CreateTopicsResponse, ct->ver, ct->r);
        return;
    }
    kb_server_wait_metadata(ct->s, ct->timeout_ms, kb_ct_ready, kb_ct_waited, ct);
}

static void kb_ct_release(kb_ct *ct)
{
    if (--ct->pending == 0)
        kb_ct_all_done(ct);
}

static void kb_ct_admin_done(void *ctx, int16_t err, const char *msg, const kb_admin_result *res)
{
    kb_ct_topic *t = ctx;
    if (err != 0 || !res) {
        kb_ct_fail(t, err ? err : KB_ERR_UNKNOWN_SERVER_ERROR, msg);
    } else {
        t->ok = true;
        t->nparts = res->num_partitions;
        t->res->error_code = 0;
        t->res->error_message = KZ_STR_NULL;
        if (kb_ct_fill_metadata(t, res) != 0)
            kb_ct_reset(t->res); /* out of memory: the topic exists, without the details */
    }
    kb_ct_release(t->ct);
}

/* Manual assignments as kb_admin takes them (index = partition). Kafka keeps
 * the last list given for a partition and wants the partitions to be
 * 0..n-1; anything else is INVALID_REPLICA_ASSIGNMENT. Returns the count, -1
 * for a bad sequence, -2 when out of memory. */
static int32_t kb_ct_assignments(kz_arena *a, const kz_CreatableTopic *ct, kb_admin_replicas **out)
{
    int32_t n = ct->assignments.n;
    const kz_CreatableReplicaAssignment **slot = kz_arena_alloc(a, (size_t)n * sizeof *slot);
    kb_admin_replicas *rep = kz_arena_alloc(a, (size_t)n * sizeof *rep);
    if (!slot || !rep)
        return -2;
    for (int32_t i = 0; i < n; i++) {
        const kz_CreatableReplicaAssignment *x = &ct->assignments.v[i];
        if (x->partition_index < 0 || x->partition_index >= n)
            return -1;
        slot[x->partition_index] = x;
    }
    int32_t m = 0;
    while (m < n && slot[m])
        m++;
    for (int32_t i = m; i < n; i++)
        if (slot[i])
            return -1;
    for (int32_t i = 0; i < m; i++)
        rep[i] = (kb_admin_replicas){ slot[i]->broker_ids.n > 0 ? slot[i]->broker_ids.n : 0,
                                      slot[i]->broker_ids.v };
    *out = rep;
    return m;
}

/* Checks one topic as ZkAdminManager.createTopics does before it reaches
 * ZooKeeper, then hands it to kb_admin. */
static void kb_ct_start(kb_ct *ct, kb_ct_topic *t, const kz_CreatableTopic *in,
                        const kb_assign_broker *bs, size_t nb)
{
    kb_server *s = ct->s;
    kz_arena *a = &ct->req->arena;
    char msg[512];
    if (kb_adm_topic_known(s, in->name)) {
        snprintf(msg, sizeof msg, "Topic '%s' already exists.", t->name);
        kb_ct_fail(t, KB_ERR_TOPIC_ALREADY_EXISTS, msg);
        return;
    }
    /* null config values: "Null value not supported for topic configs : a,b" */
    size_t at = (size_t)snprintf(msg, sizeof msg, "Null value not supported for topic configs : ");
    bool nulls = false;
    for (int32_t i = 0; i < in->configs.n && at < sizeof msg; i++)
        if (in->configs.v[i].value.len < 0) {
            at += (size_t)snprintf(msg + at, sizeof msg - at, "%s%.*s", nulls ? "," : "",
                                   (int)in->configs.v[i].name.len, in->configs.v[i].name.s);
            nulls = true;
        }
    if (nulls) {
        kb_ct_fail(t, KB_ERR_INVALID_REQUEST, msg);
        return;
    }
    if ((in->num_partitions != -1 || in->replication_factor != -1) && in->assignments.n > 0) {
        kb_ct_fail(t, KB_ERR_INVALID_REQUEST, "Both numPartitions or replicationFactor and replicasAssignments "
                   "were set. Both cannot be used at the same time.");
        return;
    }
    kb_admin_topic_spec spec = { .name = t->name, .num_partitions = in->num_partitions,
                                 .replication_factor = in->replication_factor };
    if (in->assignments.n > 0) {
        if (kb_admin_validate_topic_name(t->name, msg, sizeof msg) != 0) {
            kb_ct_fail(t, KB_ERR_INVALID_TOPIC_EXCEPTION, msg);
            return;
        }
        kb_admin_replicas *rep = NULL;
        int32_t m = kb_ct_assignments(a, in, &rep);
        if (m == -1) {
            kb_ct_fail(t, KB_ADM_INVALID_REPLICA_ASSIGNMENT,
                       "partitions should be a consecutive 0-based integer sequence");
            return;
        }
        if (m < 0)
            goto oom;
        spec.n_assign = m;
        spec.assign = rep;
    }
    int32_t nc = in->configs.n > 0 ? in->configs.n : 0;
    kb_cfg_pair *ov = kz_arena_alloc(a, (size_t)(nc ? nc : 1) * sizeof *ov);
    if (!ov)
        goto oom;
    for (int32_t i = 0; i < nc; i++) {
        const char *k = kb_adm_cstr(a, in->configs.v[i].name);
        const char *v = kb_adm_cstr(a, in->configs.v[i].value);
        if (!k || !v)
            goto oom;
        ov[i] = (kb_cfg_pair){ k, v };
    }
    spec.n_configs = (size_t)nc;
    spec.configs = ov;
    t->ov = ov;
    t->nov = (size_t)nc;
    ct->pending++;
    kb_admin_create_topic(s->admin, &spec, bs, nb, ct->validate_only, kb_ct_admin_done, t);
    return;
oom:
    kb_ct_fail(t, KB_ERR_UNKNOWN_SERVER_ERROR, NULL);
}

void kb_api_create_topics(kb_server *s, kb_req *req, const void *body, int16_t ver)
{
    const kz_CreateTopicsRequest *rq = body;
    kz_arena *a = &req->arena;
    int32_t n = rq->topics.n > 0 ? rq->topics.n : 0;
    kb_ct *ct = kz_arena_alloc(a, sizeof *ct);
    kz_CreateTopicsResponse *r = kz_arena_alloc(a, sizeof *r);
    uint8_t *dup = kz_arena_alloc(a, (size_t)n + 1);
    if (!ct || !r || !dup)
        goto oom;
    *ct = (kb_ct){ .s = s, .req = req, .ver = ver, .r = r, .n = n, .pending = 1,
                   .timeout_ms = rq->timeout_ms, .validate_only = rq->validate_only };
    ct->t = kz_arena_alloc(a, (size_t)(n ? n : 1) * sizeof *ct->t);
    r->topics.v = kz_arena_alloc(a, (size_t)(n ? n : 1) * sizeof *r->topics.v);
    if (!ct->t || !r->topics.v)
        goto oom;
    r->topics.n = n;
    for (int32_t i = 0; i < n; i++) {
        kz_CreatableTopicResult *res = &r->topics.v[i];
        res->name = rq->topics.v[i].name;
        res->error_message = KZ_STR_NULL;
        kb_ct_reset(res);
        ct->t[i] = (kb_ct_topic){ .ct = ct, .res = res, .name = kb_adm_cstr(a, rq->topics.v[i].name) };
        if (!ct->t[i].name)
            goto oom;
    }
    if (!kb_adm_is_controller(s)) {
        for (int32_t i = 0; i < n; i++)
            r->topics.v[i].error_code = KB_ERR_NOT_CONTROLLER;
        kb_req_reply(req, &kz_kmsg_CreateTopicsResponse, ver, r);
        return;
    }
    if (kb_adm_mark_dups(rq->topics.v, n, sizeof *rq->topics.v, offsetof(kz_CreatableTopic, name), dup) != 0)
        goto oom;
    size_t nb = 0;
    kb_assign_broker *bs = kb_adm_live_brokers(s, a, &nb);
    if (!bs)
        goto oom;
    for (int32_t i = 0; i < n; i++) {
        if (dup[i]) {
            r->topics.v[i].error_code = KB_ERR_INVALID_REQUEST;
            r->topics.v[i].error_message = kb_adm_msgf(a, "Found multiple entries for this topic.");
            continue;
        }
        kb_ct_start(ct, &ct->t[i], &rq->topics.v[i], bs, nb);
    }
    kb_ct_release(ct);
    return;
oom:
    kb_req_close(req, "out of memory");
}

/* ==================================================== CreatePartitions (37) */

typedef struct kb_cp kb_cp;

typedef struct kb_cp_topic {
    kb_cp *cp;
    kz_CreatePartitionsTopicResult *res;
    const char *name;
    int32_t total;
    bool ok;
} kb_cp_topic;

struct kb_cp {
    kb_server *s;
    kb_req *req;
    int16_t ver;
    kz_CreatePartitionsResponse *r;
    kb_cp_topic *t;
    int32_t n;
    int32_t pending;
    int32_t timeout_ms;
    bool validate_only;
};

static void kb_cp_set(kb_cp_topic *t, int16_t err, const char *msg)
{
    t->ok = err == 0;
    t->res->error_code = err;
    t->res->error_message = msg ? kb_adm_msgf(&t->cp->req->arena, "%s", msg) : KZ_STR_NULL;
    if (err && err != KB_ERR_REQUEST_TIMED_OUT)
        kz_info(KB_ADM_LOG, "[Admin Manager on Broker %d]: Error processing create partitions request for topic %s: %s",
                t->cp->s->broker_id, t->name, msg ? msg : "");
}

static bool kb_cp_ready(kb_server *s, void *ctx)
{
    kb_cp *cp = ctx;
    for (int32_t i = 0; i < cp->n; i++)
        if (cp->t[i].ok && !kb_adm_has_leaders(s, cp->t[i].name, cp->t[i].total))
            return false;
    return true;
}

static void kb_cp_waited(kb_server *s, void *ctx, bool timed_out)
{
    kb_cp *cp = ctx;
    (void)timed_out;
    for (int32_t i = 0; i < cp->n; i++)
        if (cp->t[i].ok && !cp->validate_only && !kb_adm_has_leaders(s, cp->t[i].name, cp->t[i].total))
            kb_cp_set(&cp->t[i], KB_ERR_REQUEST_TIMED_OUT, NULL);
    kb_req_reply(cp->req, &kz_kmsg_CreatePartitionsResponse, cp->ver, cp->r);
}

static void kb_cp_release(kb_cp *cp)
{
    if (--cp->pending > 0)
        return;
    bool any_ok = false;
    for (int32_t i = 0; i < cp->n; i++)
        any_ok |= cp->t[i].ok;
    if (cp->validate_only || !any_ok) {
        kb_cp_waited(cp->s, cp, false);
    } else if (cp->timeout_ms <= 0) {
        for (int32_t i = 0; i < cp->n; i++)
            if (cp->t[i].ok)
                kb_cp_set(&cp->t[i], KB_ERR_REQUEST_TIMED_OUT, NULL);
        kb_req_reply(cp->req, &kz_kmsg_CreatePartitionsResponse, cp->ver, cp->r);
    } else {
        kb_server_wait_metadata(cp->s, cp->timeout_ms, kb_cp_ready, kb_cp_waited, cp);
    }
}

static void kb_cp_admin_done(void *ctx, int16_t err, const char *msg, const kb_admin_result *res)
{
    kb_cp_topic *t = ctx;
    (void)res;
    kb_cp_set(t, err, err ? msg : NULL);
    kb_cp_release(t->cp);
}

void kb_api_create_partitions(kb_server *s, kb_req *req, const void *body, int16_t ver)
{
    const kz_CreatePartitionsRequest *rq = body;
    kz_arena *a = &req->arena;
    int32_t n = rq->topics.n > 0 ? rq->topics.n : 0;
    kb_cp *cp = kz_arena_alloc(a, sizeof *cp);
    kz_CreatePartitionsResponse *r = kz_arena_alloc(a, sizeof *r);
    uint8_t *dup = kz_arena_alloc(a, (size_t)n + 1);
    if (!cp || !r || !dup)
        goto oom;
    *cp = (kb_cp){ .s = s, .req = req, .ver = ver, .r = r, .pending = 1,
                   .timeout_ms = rq->timeout_ms, .validate_only = rq->validate_only };
    cp->t = kz_arena_alloc(a, (size_t)(n ? n : 1) * sizeof *cp->t);
    r->results.v = kz_arena_alloc(a, (size_t)(n ? n : 1) * sizeof *r->results.v);
    if (!cp->t || !r->results.v)
        goto oom;
    bool active = kb_adm_is_controller(s);
    if (active && kb_adm_mark_dups(rq->topics.v, n, sizeof *rq->topics.v,
                                   offsetof(kz_CreatePartitionsTopic, name), dup) != 0)
        goto oom;
    size_t nb = 0;
    kb_assign_broker *bs = active ? kb_adm_live_brokers(s, a, &nb) : NULL;
    if (active && !bs)
        goto oom;
    /* The response is a map by topic name in Kafka: a duplicated name is
     * answered once, with INVALID_REQUEST. */
    for (int32_t i = 0; i < n; i++) {
        const kz_CreatePartitionsTopic *in = &rq->topics.v[i];
        if (dup[i] == KB_ADM_DUP_REPEAT)
            continue;
        kb_cp_topic *t = &cp->t[cp->n];
        kz_CreatePartitionsTopicResult *res = &r->results.v[cp->n++];
        res->name = in->name;
        res->error_message = KZ_STR_NULL;
        *t = (kb_cp_topic){ .cp = cp, .res = res, .name = kb_adm_cstr(a, in->name), .total = in->count };
        if (!t->name)
            goto oom;
        if (!active) {
            res->error_code = KB_ERR_NOT_CONTROLLER;
            continue;
        }
        if (dup[i]) {
            kb_cp_set(t, KB_ERR_INVALID_REQUEST, "Duplicate topic in request.");
            continue;
        }
        /* null assignments: kb_admin computes them; an empty list is a
         * list of the wrong size (INVALID_REPLICA_ASSIGNMENT) */
        kb_admin_replicas *rep = NULL;
        int32_t nrep = in->assignments.n;
        if (nrep >= 0) {
            if (!(rep = kz_arena_alloc(a, (size_t)(nrep ? nrep : 1) * sizeof *rep)))
                goto oom;
            for (int32_t k = 0; k < nrep; k++)
                rep[k] = (kb_admin_replicas){ in->assignments.v[k].broker_ids.n > 0 ? in->assignments.v[k].broker_ids.n : 0,
                                              in->assignments.v[k].broker_ids.v };
        }
        cp->pending++;
        kb_admin_create_partitions(s->admin, t->name, in->count, rep, nrep >= 0 ? nrep : 0, bs, nb,
                                   cp->validate_only, kb_cp_admin_done, t);
    }
    r->results.n = cp->n;
    if (!active) {
        kb_req_reply(req, &kz_kmsg_CreatePartitionsResponse, ver, r);
        return;
    }
    kb_cp_release(cp);
    return;
oom:
    kb_req_close(req, "out of memory");
}

/* ======================================================== DeleteTopics (20) */

typedef struct kb_dt kb_dt;

typedef struct kb_dt_topic {
    kb_dt *dt;
    kz_DeletableTopicResult *res;
    const char *name;        /* resolved name, NULL when unknown */
    bool ok;                 /* queued for deletion: wait for it to go */
} kb_dt_topic;

struct kb_dt {
    kb_server *s;
    kb_req *req;
    int16_t ver;
    kz_DeleteTopicsResponse *r;
    kb_dt_topic *t;
    int32_t n;
    int32_t pending;
    int32_t timeout_ms;
};

static bool kb_dt_ready(kb_server *s, void *ctx)
{
    kb_dt *dt = ctx;
    for (int32_t i = 0; i < dt->n; i++)
        if (dt->t[i].ok && kb_adm_topic_known(s, kz_str_c(dt->t[i].name)))
            return false;
    return true;
}

static void kb_dt_waited(kb_server *s, void *ctx, bool timed_out)
{
    kb_dt *dt = ctx;
    (void)timed_out;
    for (int32_t i = 0; i < dt->n; i++)
        if (dt->t[i].ok && kb_adm_topic_known(s, kz_str_c(dt->t[i].name)))
            dt->t[i].res->error_code = KB_ERR_REQUEST_TIMED_OUT;
    kb_req_reply(dt->req, &kz_kmsg_DeleteTopicsResponse, dt->ver, dt->r);
}

static void kb_dt_release(kb_dt *dt)
{
    if (--dt->pending > 0)
        return;
    bool any_ok = false;
    for (int32_t i = 0; i < dt->n; i++)
        any_ok |= dt->t[i].ok;
    if (any_ok && dt->timeout_ms > 0) {
        kb_server_wait_metadata(dt->s, dt->timeout_ms, kb_dt_ready, kb_dt_waited, dt);
        return;
    }
    for (int32_t i = 0; i < dt->n; i++)
        if (dt->t[i].ok)
            dt->t[i].res->error_code = KB_ERR_REQUEST_TIMED_OUT;
    kb_req_reply(dt->req, &kz_kmsg_DeleteTopicsResponse, dt->ver, dt->r);
}

static void kb_dt_admin_done(void *ctx, int16_t err, const char *msg, const kb_admin_result *res)
{
    kb_dt_topic *t = ctx;
    (void)res;
    t->res->error_code = err;
    t->ok = err == 0;
    if (err)
        kz_error(KB_ADM_LOG, "[Admin Manager on Broker %d]: Error processing delete topic request for topic %s: %s",
                 t->dt->s->broker_id, t->name, msg ? msg : "");
    kb_dt_release(t->dt);
}

/* The name of the topic with id @id in the metadata cache, or NULL. */
static const char *kb_dt_name_of(const kb_server *s, const kz_uuid *id)
{
    int n = kb_mdc_topic_count(s->mdc);
    for (int i = 0; i < n; i++) {
        const kb_md_topic *t = kb_mdc_topic_at(s->mdc, i);
        if (memcmp(t->id.b, id->b, sizeof id->b) == 0)
            return t->name;
    }
    return NULL;
}

static bool kb_uuid_zero(const kz_uuid *u)
{
    static const kz_uuid zero;
    return memcmp(u->b, zero.b, sizeof zero.b) == 0;
}

void kb_api_delete_topics(kb_server *s, kb_req *req, const void *body, int16_t ver)
{
    const kz_DeleteTopicsRequest *rq = body;
    kz_arena *a = &req->arena;
    /* v6 names topics by name or id; older versions by name only */
    int32_t n = ver >= 6 ? rq->topics.n : rq->topic_names.n;
    if (n < 0)
        n = 0;
    kb_dt *dt = kz_arena_alloc(a, sizeof *dt);
    kz_DeleteTopicsResponse *r = kz_arena_alloc(a, sizeof *r);
    if (!dt || !r)
        goto oom;
    *dt = (kb_dt){ .s = s, .req = req, .ver = ver, .r = r, .n = n, .pending = 1, .timeout_ms = rq->timeout_ms };
    dt->t = kz_arena_alloc(a, (size_t)(n ? n : 1) * sizeof *dt->t);
    r->responses.v = kz_arena_alloc(a, (size_t)(n ? n : 1) * sizeof *r->responses.v);
    if (!dt->t || !r->responses.v)
        goto oom;
    r->responses.n = n;
    bool both = false;
    for (int32_t i = 0; i < n; i++) {
        kz_DeletableTopicResult *res = &r->responses.v[i];
        res->error_message = KZ_STR_NULL;
        if (ver >= 6) {
            res->name = rq->topics.v[i].name;
            res->topic_id = rq->topics.v[i].topic_id;
            both |= res->name.len >= 0 && !kb_uuid_zero(&res->topic_id);
        } else {
            res->name = rq->topic_names.v[i];
        }
        dt->t[i] = (kb_dt_topic){ .dt = dt, .res = res };
    }
    int16_t all_err = 0;
    if (!kb_adm_is_controller(s))
        all_err = KB_ERR_NOT_CONTROLLER;
    else if (!s->cfg->delete_topic_enable)
        all_err = ver < 3 ? KB_ERR_INVALID_REQUEST : KB_ERR_TOPIC_DELETION_DISABLED;
    else if (both) /* "Topic name and topic ID can not both be specified." fails the request */
        all_err = KB_ERR_INVALID_REQUEST;
    if (all_err) {
        for (int32_t i = 0; i < n; i++)
            r->responses.v[i].error_code = all_err;
        kb_req_reply(req, &kz_kmsg_DeleteTopicsResponse, ver, r);
        return;
    }
    for (int32_t i = 0; i < n; i++) {
        kb_dt_topic *t = &dt->t[i];
        kz_DeletableTopicResult *res = t->res;
        if (res->name.len < 0) { /* by id */
            if (kb_uuid_zero(&res->topic_id)) {
                res->error_code = KB_ERR_UNKNOWN_TOPIC_OR_PARTITION; /* neither name nor id */
                continue;
            }
            const char *name = kb_dt_name_of(s, &res->topic_id);
            if (!name) {
                res->error_code = KB_ADM_UNKNOWN_TOPIC_ID;
                continue;
            }
            res->name = kz_str_c(name);
        }
        if (!(t->name = kb_adm_cstr(a, res->name)))
            goto oom;
        /* the reply may go after the cache dropped the topic (and its name) */
        res->name = kz_str_c(t->name);
        if (!kb_adm_topic_known(s, res->name)) {
            res->error_code = KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            continue;
        }
        dt->pending++;
        kb_admin_delete_topic(s->admin, t->name, kb_dt_admin_done, t);
    }
    kb_dt_release(dt);
    return;
oom:
    kb_req_close(req, "out of memory");
}

/* ======================================================= DeleteRecords (21) */

/* One partition: the error, and the new low watermark in *@low. */
static int16_t kb_dr_partition(kb_server *s, kz_str topic, int32_t partition, int64_t offset, int64_t *low)
{
    *low = -1;
    if (topic.len < 0 || !kb_mdc_part(s->mdc, topic.s, topic.len, partition))
        return KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    kb_part *p = s->rm ? kb_rm_get(s->rm, topic.s, topic.len, partition) : NULL;
    if (!p || !p->is_leader || !p->log)
        return KB_ERR_NOT_LEADER_OR_FOLLOWER;
    const kb_log_cfg *lc = kb_log_cfg_get(p->log);
    if (lc && !lc->cleanup_delete)
        return KB_ERR_POLICY_VIOLATION; /* "can not be deleted due to the configured policy" */
    int64_t off = offset == -1 ? p->hw : offset; /* -1: up to the high watermark */
    if (off < 0 || off > p->hw)
        return KB_ERR_OFFSET_OUT_OF_RANGE;
    int64_t before = kb_log_start_offset(p->log);
    int rc = kb_log_delete_records_before(p->log, off);
    if (rc == KB_LOG_EOFFSET)
        return KB_ERR_OFFSET_OUT_OF_RANGE;
    if (rc < 0) {
        kz_error("kafka.server.ReplicaManager", "[ReplicaManager broker=%d] Error processing delete records "
                 "operation on partition %s-%d: %s", s->broker_id, p->topic, partition, kb_log_strerror(rc));
        return KB_ERR_KAFKA_STORAGE_ERROR;
    }
    *low = kb_log_start_offset(p->log);
    if (*low > before)
        kz_info("kafka.log.Log", "[Log partition=%s-%d, dir=%s] Incremented log start offset to %lld due to "
                "ClientRecordDeletion", p->topic, partition, kb_log_parent_dir(p->log), (long long)*low);
    return 0;
}

void kb_api_delete_records(kb_server *s, kb_req *req, const void *body, int16_t ver)
{
    const kz_DeleteRecordsRequest *rq = body;
    kz_arena *a = &req->arena;
    int32_t nt = rq->topics.n > 0 ? rq->topics.n : 0;
    kz_DeleteRecordsResponse *r = kz_arena_alloc(a, sizeof *r);
    if (!r || !(r->topics.v = kz_arena_alloc(a, (size_t)(nt ? nt : 1) * sizeof *r->topics.v)))
        goto oom;
    r->topics.n = nt;
    for (int32_t i = 0; i < nt; i++) {
        const kz_DeleteRecordsTopic *in = &rq->topics.v[i];
        kz_DeleteRecordsTopicResult *out = &r->topics.v[i];
        int32_t np = in->partitions.n > 0 ? in->partitions.n : 0;
        out->name = in->name;
        out->partitions.n = np;
        if (!(out->partitions.v = kz_arena_alloc(a, (size_t)(np ? np : 1) * sizeof *out->partitions.v)))
            goto oom;
        for (int32_t j = 0; j < np; j++) {
            kz_DeleteRecordsPartitionResult *pr = &out->partitions.v[j];
            pr->partition_index = in->partitions.v[j].partition_index;
            pr->error_code = kb_dr_partition(s, in->name, pr->partition_index, in->partitions.v[j].offset,
                                             &pr->low_watermark);
        }
    }
    kb_req_reply(req, &kz_kmsg_DeleteRecordsResponse, ver, r);
    return;
oom:
    kb_req_close(req, "out of memory");
}

/* ===================================================== DescribeLogDirs (35) */

static int kb_ld_log_cmp(const void *pa, const void *pb)
{
    const kb_log *a = *(kb_log *const *)pa, *b = *(kb_log *const *)pb;
    int c = strcmp(kb_log_topic(a), kb_log_topic(b));
    if (c)
        return c;
    int32_t x = kb_log_partition(a), y = kb_log_partition(b);
    return x < y ? -1 : x > y;
}

/* The logs the request asks about (all when topics is null), sorted by
 * topic and partition, without repeats. */
static kb_log **kb_ld_select(kb_server *s, const kz_DescribeLogDirsRequest *rq, kz_arena *a, size_t *n)
{
    size_t cap = kb_log_mgr_count(s->logs), k = 0;
    if (rq->topics.n >= 0) {
        cap = 0;
        for (int32_t i = 0; i < rq->topics.n; i++)
            cap += (size_t)(rq->topics.v[i].partition_index.n > 0 ? rq->topics.v[i].partition_index.n : 0);
    }
    kb_log **v = kz_arena_alloc(a, (cap ? cap : 1) * sizeof *v);
    if (!v)
        return NULL;
    if (rq->topics.n < 0) {
        kb_log *l;
        for (size_t it = 0; k < cap && (l = kb_log_mgr_next(s->logs, &it));)
            v[k++] = l;
    } else {
        for (int32_t i = 0; i < rq->topics.n; i++) {
            const kz_DescribableLogDirTopic *t = &rq->topics.v[i];
            const char *name = kb_adm_cstr(a, t->topic);
            if (!name)
                continue;
            for (int32_t j = 0; j < t->partition_index.n; j++) {
                kb_log *l = kb_log_mgr_get(s->logs, name, t->partition_index.v[j]);
                if (l)
                    v[k++] = l;
            }
        }
    }
    qsort(v, k, sizeof *v, kb_ld_log_cmp);
    size_t w = 0;
    for (size_t i = 0; i < k; i++)
        if (w == 0 || v[w - 1] != v[i])
            v[w++] = v[i];
    *n = w;
    return v;
}

/* Fills one directory's entry from the selected logs it holds. */
static int kb_ld_dir(kb_server *s, kz_arena *a, const char *dir, kb_log **logs, size_t n,
                     kz_DescribeLogDirsResult *out)
{
    out->error_code = 0;
    out->log_dir = kz_str_c(dir);
    size_t ntop = 0, nin = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(kb_log_parent_dir(logs[i]), dir) == 0) {
            ntop += nin == 0 || strcmp(kb_log_topic(logs[i]), kb_log_topic(logs[i - 1])) != 0 ||
                    strcmp(kb_log_parent_dir(logs[i - 1]), dir) != 0;
            nin++;
        }
    out->topics.v = kz_arena_alloc(a, (ntop ? ntop : 1) * sizeof *out->topics.v);
    kz_DescribeLogDirsPartition *parts = kz_arena_alloc(a, (nin ? nin : 1) * sizeof *parts);
    if (!out->topics.v || !parts)
        return KZ_ENOMEM;
    out->topics.n = 0;
    kz_DescribeLogDirsTopic *cur = NULL;
    for (size_t i = 0; i < n; i++) {
        kb_log *l = logs[i];
        if (strcmp(kb_log_parent_dir(l), dir) != 0)
            continue;
        if (!cur || strncmp(kb_log_topic(l), cur->name.s, (size_t)cur->name.len + 1) != 0) {
            cur = &out->topics.v[out->topics.n++];
            cur->name = kz_str_c(kb_log_topic(l));
            cur->partitions.v = parts;
            cur->partitions.n = 0;
        }
        kz_DescribeLogDirsPartition *p = &cur->partitions.v[cur->partitions.n++];
        parts++;
        p->partition_index = kb_log_partition(l);
        p->partition_size = kb_log_size(l);
        /* ReplicaManager.getLogEndOffsetLag: max(hw - leo, 0) for a hosted
         * partition, -1 for a log no partition holds */
        kb_part *hp = s->rm ? kb_rm_get(s->rm, cur->name.s, cur->name.len, p->partition_index) : NULL;
        int64_t lag = hp ? hp->hw - kb_log_end_offset(l) : -1;
        p->offset_lag = hp && lag < 0 ? 0 : lag;
        p->is_future_key = false;
    }
    return 0;
}

void kb_api_describe_log_dirs(kb_server *s, kb_req *req, const void *body, int16_t ver)
{
    const kz_DescribeLogDirsRequest *rq = body;
    kz_arena *a = &req->arena;
    kz_DescribeLogDirsResponse *r = kz_arena_alloc(a, sizeof *r);
    if (!r)
        goto oom;
    int nd = s->logs ? kb_log_mgr_ndirs(s->logs) : 0;
    r->results.v = kz_arena_alloc(a, (size_t)(nd > 0 ? nd : 1) * sizeof *r->results.v);
    if (!r->results.v)
        goto oom;
    r->results.n = nd;
    size_t n = 0;
    kb_log **logs = nd > 0 ? kb_ld_select(s, rq, a, &n) : NULL;
    if (nd > 0 && !logs)
        goto oom;
    for (int i = 0; i < nd; i++)
        if (kb_ld_dir(s, a, kb_log_mgr_dir(s->logs, i), logs, n, &r->results.v[i]) != 0)
            goto oom;
    kb_req_reply(req, &kz_kmsg_DescribeLogDirsResponse, ver, r);
    return;
oom:
    kb_req_close(req, "out of memory");
}
