/* broker/kb_admin.c -- topic administration on ZooKeeper (see kb_admin.h for
 * the contract; Kafka 2.8's AdminZkClient and ZkAdminManager are the
 * reference behaviour, messages included).
 *
 * Each call becomes one adm_op that walks its steps through ZooKeeper
 * completions:
 *   create:     validate -> {exists delete marker, exists topic, [children]}
 *               -> set-or-create /config/topics/T -> create /brokers/topics/T
 *   partitions: {get /brokers/topics/T} -> validate and assign -> setData
 *   delete:     exists /brokers/topics/T -> create /admin/delete_topics/T
 *   config:     exists /brokers/topics/T -> set-or-create /config/topics/T
 *               -> create /config/changes/config_change_ (sequential)
 * and ends in adm_finish, which defers the user's callback to the loop.
 *
 * Ops still in flight are listed in the handle; kb_admin_free (after
 * kz_zkc_free: no completion can come) releases them.
 * Locality: broker loop thread only. */
#include "kb_admin.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "kb_config.h"
#include "kb_ctl.h"
#include "kb_zk.h"
#include "kz_log.h"
#include "kz_zkc.h"

#define ADM_COMP "kafka.zk.AdminZkClient"
#define ADM_MAX_TOPIC 249

struct kb_admin {
    kz_zkc *zk;
    kb_admin_cfg cfg;
    struct adm_op *ops;
};

enum { OP_CREATE, OP_PARTS, OP_DELETE, OP_ALTER };

typedef struct adm_op {
    struct adm_op *prev, *next;
    kb_admin *a;
    int kind;
    int pending;              /* parallel calls outstanding */
    kb_admin_done_fn *done;
    void *ctx;
    char *topic;
    bool validate_only;
    /* create / partitions: the assignment (rows of @rf), total partitions */
    int32_t nparts, rf;
    int32_t *rows;
    int32_t *row_len;         /* replicas per row (manual assignments may differ) */
    int32_t first_new;        /* partitions: first partition to add */
    /* checks of create */
    bool marked, exists;
    char *collide;
    int zk_rc;                /* first unexpected ZooKeeper error */
    /* config JSON for set-or-create and the topic JSON */
    char *cfg_json;
    size_t cfg_len;
    char *cfg_desc;           /* "k=v, k=v" for the log */
    int16_t late_err;         /* create: assignment shape / config error, reported */
    char *late_msg;           /* after the ZooKeeper checks, in Kafka's order */
    kz_uuid id;
    bool has_id;
    /* partitions: brokers available and the manual assignment */
    kb_assign_broker *brokers;
    size_t nbrokers;
    int32_t total;
    int32_t n_manual;
    /* result */
    int16_t err;
    char msg[768];
    kb_admin_result res;
    bool has_res;
    struct event *ev;         /* deferred completion */
} adm_op;

/* ------------------------------------------------------------ helpers */

int16_t kb_admin_validate_topic_name(const char *name, char *msg, size_t msglen)
{
    char dummy[8];
    if (!msg) {
        msg = dummy;
        msglen = sizeof dummy;
    }
    size_t n = name ? strlen(name) : 0;
    if (n == 0) {
        snprintf(msg, msglen, "Topic name is illegal, it can't be empty");
        return KB_ADMIN_INVALID_TOPIC_EXCEPTION;
    }
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        snprintf(msg, msglen, "Topic name cannot be \".\" or \"..\"");
        return KB_ADMIN_INVALID_TOPIC_EXCEPTION;
    }
    if (n > ADM_MAX_TOPIC) {
        snprintf(msg, msglen, "Topic name is illegal, it can't be longer than %d characters, topic name: %s",
                 ADM_MAX_TOPIC, name);
        return KB_ADMIN_INVALID_TOPIC_EXCEPTION;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                  ch == '_' || ch == '-';
        if (!ok) {
            snprintf(msg, msglen, "Topic name \"%s\" is illegal, it contains a character other than ASCII "
                     "alphanumerics, '.', '_' and '-'", name);
            return KB_ADMIN_INVALID_TOPIC_EXCEPTION;
        }
    }
    return KB_ADMIN_NONE;
}

bool kb_admin_topics_collide(const char *a, const char *b)
{
    size_t n = strlen(a);
    if (n != strlen(b))
        return false;
    for (size_t i = 0; i < n; i++) {
        char x = a[i] == '.' ? '_' : a[i], y = b[i] == '.' ? '_' : b[i];
        if (x != y)
            return false;
    }
    return true;
}

static bool has_collision_chars(const char *t) { return strchr(t, '.') || strchr(t, '_'); }

void kb_admin_cfg_init(kb_admin_cfg *out, const kb_config *cfg, struct event_base *base)
{
    memset(out, 0, sizeof *out);
    out->num_partitions = cfg->num_partitions;
    out->default_replication = (int16_t)cfg->default_replication_factor;
    out->delete_topic_enable = cfg->delete_topic_enable;
    int16_t lai, um, sr;
    bool ids = true;
    kb_ctl_ibp_versions(cfg->inter_broker_protocol, &lai, &um, &sr, &ids);
    out->write_topic_id = ids;
    out->base = base;
}

kb_admin *kb_admin_new(kz_zkc *zkc, const kb_admin_cfg *cfg)
{
    kb_admin *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->zk = zkc;
    a->cfg = *cfg;
    return a;
}

static void brokers_free(adm_op *o);

static void op_free(adm_op *o)
{
    if (!o)
        return;
    if (o->ev)
        event_free(o->ev);
    free(o->topic);
    free(o->rows);
    free(o->row_len);
    free(o->collide);
    free(o->cfg_json);
    free(o->cfg_desc);
    free(o->late_msg);
    brokers_free(o);
    free(o);
}

static void op_unlink(adm_op *o)
{
    kb_admin *a = o->a;
    if (o->prev)
        o->prev->next = o->next;
    else if (a->ops == o)
        a->ops = o->next;
    if (o->next)
        o->next->prev = o->prev;
    o->prev = o->next = NULL;
}

void kb_admin_free(kb_admin *a)
{
    if (!a)
        return;
    while (a->ops) {
        adm_op *o = a->ops;
        op_unlink(o);
        op_free(o);
    }
    free(a);
}

/* A new operation on @topic, listed in @a. Returns NULL when out of memory, after calling
 * @done with UNKNOWN_SERVER_ERROR (nothing else can report it). */
static adm_op *op_new(kb_admin *a, int kind, const char *topic, bool validate_only, kb_admin_done_fn *done,
                      void *ctx)
{
    adm_op *o = calloc(1, sizeof *o);
    if (!o || !(o->topic = strdup(topic ? topic : ""))) {
        free(o);
        done(ctx, KB_ADMIN_UNKNOWN_SERVER_ERROR, "Out of memory", NULL);
        return NULL;
    }
    o->a = a;
    o->kind = kind;
    o->validate_only = validate_only;
    o->done = done;
    o->ctx = ctx;
    o->next = a->ops;
    if (a->ops)
        a->ops->prev = o;
    a->ops = o;
    return o;
}

static void op_deliver(adm_op *o)
{
    op_unlink(o);
    o->done(o->ctx, o->err, o->err ? o->msg : NULL, o->err == 0 && o->has_res ? &o->res : NULL);
    op_free(o);
}

static void op_on_deferred(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    op_deliver(arg);
}

static void op_on_bounce(void *ctx, const kz_zkc_result *res)
{
    (void)res;
    op_deliver(ctx);
}

/* Ends @o with @err and a printf-style message, from the loop. */
__attribute__((format(printf, 3, 4))) static void op_finish(adm_op *o, int16_t err, const char *fmt, ...)
{
    o->err = err;
    o->msg[0] = '\0';
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(o->msg, sizeof o->msg, fmt, ap);
        va_end(ap);
    }
    if (o->a->cfg.base) {
        o->ev = event_new(o->a->cfg.base, -1, 0, op_on_deferred, o);
        if (o->ev) {
            event_active(o->ev, EV_TIMEOUT, 0);
            return;
        }
    }
    if (kz_zkc_exists(o->a->zk, "/", NULL, NULL, op_on_bounce, o) != KZ_ZOK)
        op_deliver(o); /* nothing can defer it: complete now */
}

/* A ZooKeeper failure nobody expects (connection loss, ...). */
static void op_zk_fail(adm_op *o, const char *what, int rc)
{
    kz_error(ADM_COMP, "Error while %s for topic %s: %s", what, o->topic, kz_zkc_strerror(rc));
    op_finish(o, KB_ADMIN_UNKNOWN_SERVER_ERROR, "Error while %s: %s", what, kz_zkc_strerror(rc));
}

/* Submits a call; when it cannot be submitted, the op fails at once. */
static bool op_submitted(adm_op *o, int rc, const char *what)
{
    if (rc == KZ_ZOK)
        return true;
    op_zk_fail(o, what, rc);
    return false;
}

/* Ends @o with INVALID_REQUEST when a config of @kv (@n pairs) has a null value, as
 * ZkAdminManager does for CreateTopics and AlterConfigs; returns whether it did. */
static bool op_null_configs(adm_op *o, const kb_cfg_pair *kv, size_t n)
{
    char buf[512];
    size_t at = 0;
    for (size_t i = 0; i < n && at < sizeof buf; i++)
        if (!kv[i].value)
            at += (size_t)snprintf(buf + at, sizeof buf - at, "%s%s", at ? "," : "", kv[i].name);
    if (at)
        op_finish(o, KB_ADMIN_INVALID_REQUEST, "Null value not supported for topic configs : %s", buf);
    return at > 0;
}

/* Records the topic's result (@nparts partitions, replication factor @rf, o's id) once the
 * checks passed. A validate-only request ends there: returns whether @o ended. */
static bool op_checked(adm_op *o, int32_t nparts, int32_t rf)
{
    o->res.num_partitions = nparts;
    o->res.replication_factor = (int16_t)rf;
    if (o->has_id)
        memcpy(o->res.topic_id, o->id.b, 16);
    o->has_res = true;
    if (o->validate_only)
        op_finish(o, KB_ADMIN_NONE, NULL);
    return o->validate_only;
}

/* "HashMap(0 -> ArrayBuffer(1, 2, 3), 1 -> ...)" of rows [from, to). */
static void rows_str(const adm_op *o, int32_t from, int32_t to, char *buf, size_t len)
{
    size_t off = (size_t)snprintf(buf, len, "HashMap(");
    for (int32_t p = from; p < to && off < len; p++) {
        off += (size_t)snprintf(buf + off, len - off, "%s%d -> ArrayBuffer(", p > from ? ", " : "", p);
        for (int32_t j = 0; j < o->row_len[p] && off < len; j++)
            off += (size_t)snprintf(buf + off, len - off, "%s%d", j ? ", " : "", o->rows[(size_t)p * (size_t)o->rf + (size_t)j]);
        if (off < len)
            off += (size_t)snprintf(buf + off, len - off, ")");
    }
    if (off < len)
        snprintf(buf + off, len - off, ")");
}

/* The topic znode JSON of @o's rows [0, nparts). */
static char *topic_json(const adm_op *o, size_t *len)
{
    kb_zk_part_assign *pa = calloc((size_t)(o->nparts ? o->nparts : 1), sizeof *pa);
    if (!pa)
        return NULL;
    for (int32_t p = 0; p < o->nparts; p++)
        pa[p] = (kb_zk_part_assign){ .partition = p, .replicas = o->rows + (size_t)p * (size_t)o->rf,
                                     .n_replicas = o->row_len[p] };
    kb_zk_topic t = { .version = o->has_id ? 3 : 2, .has_id = o->has_id, .id = o->id, .parts = pa,
                      .n_parts = o->nparts };
    char *j = kb_zk_topic_encode(&t, len);
    free(pa);
    return j;
}

/* Writes @o's assignment to /brokers/topics/<topic>: a create (parents too) with @create,
 * else a set of any version; @done takes the answer. */
static void topic_send(adm_op *o, bool create, kz_zkc_done_fn *done)
{
    size_t len = 0;
    char *json = topic_json(o, &len);
    char path[KB_ZK_PATH_MAX];
    if (!json || kb_zk_path_topic(path, sizeof path, o->topic) < 0) {
        free(json);
        op_finish(o, KB_ADMIN_UNKNOWN_SERVER_ERROR, "Cannot encode the assignment of topic %s", o->topic);
        return;
    }
    int rc = create ? kz_zkc_create(o->a->zk, path, json, (int32_t)len, KZ_ZKC_PERSISTENT | KZ_ZKC_PARENTS, done, o)
                    : kz_zkc_set(o->a->zk, path, json, (int32_t)len, -1, done, o);
    free(json);
    op_submitted(o, rc, create ? "creating the topic assignment" : "writing the topic assignment");
}

/* Allocates @o's rows for @nparts partitions of at most @rf replicas. */
static bool rows_alloc(adm_op *o, int32_t nparts, int32_t rf)
{
    o->nparts = nparts;
    o->rf = rf;
    o->rows = calloc((size_t)nparts * (size_t)(rf ? rf : 1), sizeof *o->rows);
    o->row_len = calloc((size_t)(nparts ? nparts : 1), sizeof *o->row_len);
    return o->rows && o->row_len;
}

/* Copies the brokers with their racks (the caller's are borrowed for the
 * call only). */
static bool brokers_copy(adm_op *o, const kb_assign_broker *b, size_t n)
{
    o->brokers = calloc(n ? n : 1, sizeof *o->brokers);
    if (!o->brokers)
        return false;
    o->nbrokers = n;
    for (size_t i = 0; i < n; i++) {
        o->brokers[i].id = b[i].id;
        if (b[i].rack && !(o->brokers[i].rack = strdup(b[i].rack)))
            return false;
    }
    return true;
}

static void brokers_free(adm_op *o)
{
    for (size_t i = 0; o->brokers && i < o->nbrokers; i++)
        free((char *)o->brokers[i].rack);
    free(o->brokers);
}

/* ------------------------------------------------ set-or-create config */

static void cfg_written(adm_op *o);
static void cfg_on_set(void *ctx, const kz_zkc_result *res);
static void cfg_on_create(void *ctx, const kz_zkc_result *res);

/* Writes o->cfg_json to /config/topics/<topic>: a set of any version, or with @create a
 * create (parents too); cfg_on_set / cfg_on_create take the answer. */
static void cfg_send(adm_op *o, bool create)
{
    char path[KB_ZK_PATH_MAX];
    kb_zk_path_config(path, sizeof path, "topics", o->topic);
    if (create)
        op_submitted(o, kz_zkc_create(o->a->zk, path, o->cfg_json, (int32_t)o->cfg_len,
                                      KZ_ZKC_PERSISTENT | KZ_ZKC_PARENTS, cfg_on_create, o),
                     "creating the topic config");
    else
        op_submitted(o, kz_zkc_set(o->a->zk, path, o->cfg_json, (int32_t)o->cfg_len, -1, cfg_on_set, o),
                     "writing the topic config");
}

static void cfg_on_set(void *ctx, const kz_zkc_result *res)
{
    adm_op *o = ctx;
    if (res->rc == KZ_ZOK) {
        cfg_written(o);
        return;
    }
    if (res->rc == KZ_ZNONODE) {
        cfg_send(o, true);
        return;
    }
    op_zk_fail(o, "writing the topic config", res->rc);
}

static void cfg_on_create(void *ctx, const kz_zkc_result *res)
{
    adm_op *o = ctx;
    if (res->rc == KZ_ZOK) {
        cfg_written(o);
        return;
    }
    if (res->rc == KZ_ZNODEEXISTS) { /* created meanwhile: set it */
        cfg_send(o, false);
        return;
    }
    op_zk_fail(o, "creating the topic config", res->rc);
}

/* ------------------------------------------------------------- create */

static void create_on_topic(void *ctx, const kz_zkc_result *res)
{
    adm_op *o = ctx;
    if (res->rc == KZ_ZNODEEXISTS) {
        op_finish(o, KB_ADMIN_TOPIC_ALREADY_EXISTS, "Topic '%s' already exists.", o->topic);
        return;
    }
    if (res->rc != KZ_ZOK) {
        op_zk_fail(o, "creating the topic assignment", res->rc);
        return;
    }
    op_finish(o, KB_ADMIN_NONE, NULL);
}

static void cfg_written(adm_op *o)
{
    if (o->kind == OP_ALTER) {
        /* the notification brokers watch: {"version":2,"entity_path":"topics/T"} */
        char ep[KB_ZK_PATH_MAX];
        snprintf(ep, sizeof ep, "topics/%s", o->topic);
        size_t len = 0;
        char *json = kb_zk_config_change_encode(ep, &len);
        if (!json) {
            op_finish(o, KB_ADMIN_UNKNOWN_SERVER_ERROR, "Out of memory");
            return;
        }
        int rc = kz_zkc_create(o->a->zk, KB_ZK_CONFIG_CHANGE_SEQ, json, (int32_t)len,
                               KZ_ZKC_PERSISTENT | KZ_ZKC_SEQUENTIAL | KZ_ZKC_PARENTS, create_on_topic, o);
        free(json);
        op_submitted(o, rc, "creating the config change notification");
        return;
    }
    topic_send(o, true, create_on_topic);
}

static void create_checked(adm_op *o)
{
    if (o->zk_rc) {
        op_zk_fail(o, "checking the topic", o->zk_rc);
        return;
    }
    if (o->marked) {
        op_finish(o, KB_ADMIN_TOPIC_ALREADY_EXISTS, "Topic '%s' is marked for deletion.", o->topic);
        return;
    }
    if (o->exists) {
        op_finish(o, KB_ADMIN_TOPIC_ALREADY_EXISTS, "Topic '%s' already exists.", o->topic);
        return;
    }
    if (o->collide) {
        op_finish(o, KB_ADMIN_INVALID_TOPIC_EXCEPTION, "Topic '%s' collides with existing topic: %s", o->topic,
                  o->collide);
        return;
    }
    if (o->late_err) {
        op_finish(o, o->late_err, "%s", o->late_msg ? o->late_msg : "");
        return;
    }
    if (op_checked(o, o->nparts, o->rf))
        return;
    char rows[2048];
    rows_str(o, 0, o->nparts, rows, sizeof rows);
    kz_info(ADM_COMP, "Creating topic %s with configuration {%s} and initial partition assignment %s", o->topic,
            o->cfg_desc ? o->cfg_desc : "", rows);
    /* the config JSON was encoded at validation; write it, then the topic */
    cfg_send(o, false);
}

static void create_on_check(void *ctx, const kz_zkc_result *res, int which)
{
    adm_op *o = ctx;
    if (which == 2 && res->rc == KZ_ZOK) { /* children of /brokers/topics */
        for (int32_t i = 0; i < res->n_children; i++) {
            if (strcmp(res->children[i], o->topic) == 0)
                o->exists = true;
            else if (!o->collide && kb_admin_topics_collide(o->topic, res->children[i]))
                o->collide = strdup(res->children[i]);
        }
    } else if (res->rc == KZ_ZOK) {
        if (which == 0)
            o->marked = true;
        else
            o->exists = true;
    } else if (res->rc != KZ_ZNONODE && !o->zk_rc) {
        o->zk_rc = res->rc;
    }
    if (--o->pending == 0)
        create_checked(o);
}

static void create_on_marked(void *ctx, const kz_zkc_result *res) { create_on_check(ctx, res, 0); }
static void create_on_exists(void *ctx, const kz_zkc_result *res) { create_on_check(ctx, res, 1); }
static void create_on_children(void *ctx, const kz_zkc_result *res) { create_on_check(ctx, res, 2); }

/* Records the first error found before the ZooKeeper checks that Kafka
 * reports after them. */
__attribute__((format(printf, 3, 4))) static void late_error(adm_op *o, int16_t err, const char *fmt, ...)
{
    if (o->late_err)
        return;
    char buf[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    o->late_err = err;
    o->late_msg = strdup(buf);
}

/* The shape of a manual assignment (AdminZkClient.validateTopicCreate):
 * one replication factor, no broker twice in a partition. */
static void manual_check(adm_op *o, const kb_admin_topic_spec *spec)
{
    int32_t rf = spec->assign[0].n;
    for (int32_t p = 0; p < spec->n_assign; p++)
        if (spec->assign[p].n != rf) {
            late_error(o, KB_ADMIN_INVALID_REPLICA_ASSIGNMENT, "All partitions should have the same number of replicas");
            return;
        }
    for (int32_t p = 0; p < spec->n_assign; p++)
        for (int32_t i = 0; i < spec->assign[p].n; i++)
            for (int32_t j = 0; j < i; j++)
                if (spec->assign[p].ids[i] == spec->assign[p].ids[j]) {
                    late_error(o, KB_ADMIN_INVALID_REPLICA_ASSIGNMENT, "Duplicate replica assignment found: "
                               "partition %d lists broker %d twice", p, spec->assign[p].ids[i]);
                    return;
                }
}

void kb_admin_create_topic(kb_admin *a, const kb_admin_topic_spec *spec, const kb_assign_broker *brokers,
                           size_t nbrokers, bool validate_only, kb_admin_done_fn *done, void *ctx)
{
    adm_op *o = op_new(a, OP_CREATE, spec->name, validate_only, done, ctx);
    if (!o)
        return;
    /* null configs, then both forms given (ZkAdminManager) */
    if (op_null_configs(o, spec->configs, spec->n_configs))
        return;
    char buf[512];
    if (spec->n_assign > 0 && (spec->num_partitions != -1 || spec->replication_factor != -1)) {
        op_finish(o, KB_ADMIN_INVALID_REQUEST, "Both numPartitions or replicationFactor and replicasAssignments "
                  "were set. Both cannot be used at the same time.");
        return;
    }
    /* the assignment */
    if (spec->n_assign > 0) {
        manual_check(o, spec);
        int32_t rf = 0;
        for (int32_t p = 0; p < spec->n_assign; p++)
            if (spec->assign[p].n > rf)
                rf = spec->assign[p].n;
        if (!rows_alloc(o, spec->n_assign, rf)) {
            op_finish(o, KB_ADMIN_UNKNOWN_SERVER_ERROR, "Out of memory");
            return;
        }
        for (int32_t p = 0; p < spec->n_assign; p++) {
            if (spec->assign[p].n > 0)
                memcpy(o->rows + (size_t)p * (size_t)rf, spec->assign[p].ids, (size_t)spec->assign[p].n * sizeof(int32_t));
            o->row_len[p] = spec->assign[p].n > 0 ? spec->assign[p].n : 0;
        }
        o->rf = spec->assign[0].n;
    } else {
        int32_t np = spec->num_partitions == -1 ? a->cfg.num_partitions : spec->num_partitions;
        int32_t rf = spec->replication_factor == -1 ? a->cfg.default_replication : spec->replication_factor;
        if (np <= 0) {
            op_finish(o, KB_ADMIN_INVALID_PARTITIONS, "Number of partitions must be larger than 0.");
            return;
        }
        if (rf <= 0 || (size_t)rf > nbrokers) {
            op_finish(o, KB_ADMIN_INVALID_REPLICATION_FACTOR, "%s",
                      kb_assign_strerror(KB_ASSIGN_EBAD_RF, rf, nbrokers, buf, sizeof buf));
            return;
        }
        if (!rows_alloc(o, np, rf)) {
            op_finish(o, KB_ADMIN_UNKNOWN_SERVER_ERROR, "Out of memory");
            return;
        }
        int rc = kb_assign_replicas(brokers, nbrokers, np, rf, 0, o->rows);
        if (rc != KB_ASSIGN_OK) {
            op_finish(o, rc == KB_ASSIGN_EBAD_PARTS ? KB_ADMIN_INVALID_PARTITIONS
                         : rc == KB_ASSIGN_EBAD_RF  ? KB_ADMIN_INVALID_REPLICATION_FACTOR
                                                    : KB_ADMIN_UNKNOWN_SERVER_ERROR,
                      "%s", kb_assign_strerror(rc, rf, nbrokers, buf, sizeof buf));
            return;
        }
        for (int32_t p = 0; p < np; p++)
            o->row_len[p] = rf;
    }
    /* validateTopicCreate: name, then (from ZooKeeper) deletion marker,
     * existence, collisions; the configs last */
    int16_t e = kb_admin_validate_topic_name(spec->name, buf, sizeof buf);
    if (e) {
        op_finish(o, e, "%s", buf);
        return;
    }
    if (kb_topic_cfg_validate_all(spec->configs, spec->n_configs, buf, sizeof buf) != 0)
        late_error(o, KB_ADMIN_INVALID_CONFIG, "%s", buf);
    kb_zk_kv *z = calloc(spec->n_configs ? spec->n_configs : 1, sizeof *z);
    if (!z) {
        op_finish(o, KB_ADMIN_UNKNOWN_SERVER_ERROR, "Out of memory");
        return;
    }
    size_t dl = 1;
    for (size_t i = 0; i < spec->n_configs; i++) {
        z[i] = (kb_zk_kv){ spec->configs[i].name, spec->configs[i].value };
        dl += strlen(spec->configs[i].name) + strlen(spec->configs[i].value) + 3;
    }
    o->cfg_json = kb_zk_config_encode(z, (int32_t)spec->n_configs, &o->cfg_len);
    free(z);
    o->cfg_desc = malloc(dl);
    if (o->cfg_desc) {
        size_t off = 0;
        o->cfg_desc[0] = '\0';
        for (size_t i = 0; i < spec->n_configs; i++)
            off += (size_t)snprintf(o->cfg_desc + off, dl - off, "%s%s=%s", i ? ", " : "", spec->configs[i].name,
                                    spec->configs[i].value);
    }
    if (!o->cfg_json) {
        op_finish(o, KB_ADMIN_UNKNOWN_SERVER_ERROR, "Out of memory");
        return;
    }
    if (a->cfg.write_topic_id && !validate_only) {
        kb_zk_uuid_random(&o->id);
        o->has_id = true;
    }
    char path[KB_ZK_PATH_MAX];
    o->pending = 1; /* guard */
    if (kb_zk_path_delete_topic(path, sizeof path, o->topic) >= 0) {
        o->pending++;
        if (kz_zkc_exists(a->zk, path, NULL, NULL, create_on_marked, o) != KZ_ZOK) {
            o->pending--;
            o->zk_rc = KZ_ZCONNECTIONLOSS;
        }
    }
    if (kb_zk_path_topic(path, sizeof path, o->topic) >= 0) {
        o->pending++;
        if (kz_zkc_exists(a->zk, path, NULL, NULL, create_on_exists, o) != KZ_ZOK) {
            o->pending--;
            o->zk_rc = KZ_ZCONNECTIONLOSS;
        }
    }
    if (has_collision_chars(o->topic)) {
        o->pending++;
        if (kz_zkc_children(a->zk, KB_ZK_BROKER_TOPICS, NULL, NULL, create_on_children, o) != KZ_ZOK) {
            o->pending--;
            o->zk_rc = KZ_ZCONNECTIONLOSS;
        }
    }
    if (--o->pending == 0)
        create_checked(o); /* nothing was submitted: fails through op_finish (deferred) */
}

/* ---------------------------------------------------------- partitions */

static void parts_on_set(void *ctx, const kz_zkc_result *res)
{
    adm_op *o = ctx;
    if (res->rc != KZ_ZOK) {
        op_zk_fail(o, "writing the topic assignment", res->rc);
        return;
    }
    op_finish(o, KB_ADMIN_NONE, NULL);
}

static bool id_in(const adm_op *o, int32_t id)
{
    for (size_t i = 0; i < o->nbrokers; i++)
        if (o->brokers[i].id == id)
            return true;
    return false;
}

/* "1, 2, 3" of @v. */
static const char *ids_str(const int32_t *v, int32_t n, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int32_t i = 0; i < n && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%d", i ? ", " : "", v[i]);
    return buf;
}

static void parts_on_get(void *ctx, const kz_zkc_result *res)
{
    adm_op *o = ctx;
    if (res->rc == KZ_ZNONODE) {
        op_finish(o, KB_ADMIN_UNKNOWN_TOPIC_OR_PARTITION, "The topic '%s' does not exist.", o->topic);
        return;
    }
    if (res->rc != KZ_ZOK) {
        op_zk_fail(o, "reading the topic assignment", res->rc);
        return;
    }
    kz_arena ar = KZ_ARENA_INIT;
    kb_zk_topic zt;
    char err[256];
    if (!res->data || kb_zk_topic_decode(res->data, (size_t)res->data_len, &ar, &zt, err, sizeof err) != 0 ||
        zt.n_parts == 0) {
        kz_arena_reset(&ar);
        op_finish(o, KB_ADMIN_UNKNOWN_TOPIC_OR_PARTITION, "The topic '%s' does not exist.", o->topic);
        return;
    }
    for (int32_t p = 0; p < zt.n_parts; p++)
        if (zt.parts[p].n_adding > 0 || zt.parts[p].n_removing > 0) {
            kz_arena_reset(&ar);
            op_finish(o, KB_ADMIN_REASSIGNMENT_IN_PROGRESS, "A partition reassignment is in progress for the "
                      "topic '%s'.", o->topic);
            return;
        }
    int32_t old = zt.n_parts, inc = o->total - old;
    if (inc < 0) {
        kz_arena_reset(&ar);
        op_finish(o, KB_ADMIN_INVALID_PARTITIONS, "Topic currently has %d partitions, which is higher than the "
                  "requested %d.", old, o->total);
        return;
    }
    if (inc == 0) {
        kz_arena_reset(&ar);
        op_finish(o, KB_ADMIN_INVALID_PARTITIONS, "Topic already has %d partitions.", old);
        return;
    }
    int32_t rf0 = zt.parts[0].n_replicas;
    int32_t maxrf = rf0;
    for (int32_t p = 0; p < zt.n_parts; p++)
        if (zt.parts[p].n_replicas > maxrf)
            maxrf = zt.parts[p].n_replicas;
    if (o->n_manual > 0) {
        /* unknown brokers first, then the count (ZkAdminManager) */
        char buf[512];
        size_t off = 0;
        for (int32_t p = 0; p < o->n_manual; p++)
            for (int32_t j = 0; j < o->row_len[p]; j++) {
                int32_t id = o->rows[(size_t)p * (size_t)o->rf + (size_t)j];
                if (!id_in(o, id) && off < sizeof buf)
                    off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%d", off ? ", " : "", id);
            }
        if (off) {
            kz_arena_reset(&ar);
            op_finish(o, KB_ADMIN_INVALID_REPLICA_ASSIGNMENT, "Unknown broker(s) in replica assignment: %s.", buf);
            return;
        }
        if (o->n_manual != inc) {
            kz_arena_reset(&ar);
            op_finish(o, KB_ADMIN_INVALID_REPLICA_ASSIGNMENT, "Increasing the number of partitions by %d but %d "
                      "assignments provided.", inc, o->n_manual);
            return;
        }
        for (int32_t k = 0; k < o->n_manual; k++) {
            int32_t p = old + k;
            const int32_t *r = o->rows + (size_t)k * (size_t)o->rf;
            int32_t n = o->row_len[k];
            char rs[512], av[512];
            if (n == 0) {
                kz_arena_reset(&ar);
                op_finish(o, KB_ADMIN_INVALID_REPLICA_ASSIGNMENT, "Cannot have replication factor of 0 for "
                          "partition id %d.", p);
                return;
            }
            for (int32_t i = 0; i < n; i++)
                for (int32_t j2 = 0; j2 < i; j2++)
                    if (r[i] == r[j2]) {
                        kz_arena_reset(&ar);
                        op_finish(o, KB_ADMIN_INVALID_REPLICA_ASSIGNMENT, "Duplicate brokers not allowed in "
                                  "replica assignment: %s for partition id %d.", ids_str(r, n, rs, sizeof rs), p);
                        return;
                    }
            for (int32_t i = 0; i < n; i++)
                if (!id_in(o, r[i])) {
                    int32_t *ids = calloc(o->nbrokers ? o->nbrokers : 1, sizeof *ids);
                    for (size_t b = 0; ids && b < o->nbrokers; b++)
                        ids[b] = o->brokers[b].id;
                    ids_str(ids, (int32_t)o->nbrokers, av, sizeof av);
                    free(ids);
                    kz_arena_reset(&ar);
                    op_finish(o, KB_ADMIN_BROKER_NOT_AVAILABLE, "Some brokers specified for partition id %d are "
                              "not available. Specified brokers: %s, available brokers: %s.", p,
                              ids_str(r, n, rs, sizeof rs), av);
                    return;
                }
            if (n != rf0) {
                kz_arena_reset(&ar);
                op_finish(o, KB_ADMIN_INVALID_REPLICA_ASSIGNMENT, "Inconsistent replication factor between "
                          "partitions, partition 0 has %d while partitions [%d] has replicas of size %d.", rf0, p, n);
                return;
            }
        }
    }
    /* the combined assignment: existing rows, then the new ones */
    int32_t rfw = maxrf > o->rf ? maxrf : o->rf;
    if (rfw < rf0)
        rfw = rf0;
    int32_t *rows = calloc((size_t)o->total * (size_t)rfw, sizeof *rows);
    int32_t *lens = calloc((size_t)o->total, sizeof *lens);
    if (!rows || !lens) {
        free(rows);
        free(lens);
        kz_arena_reset(&ar);
        op_finish(o, KB_ADMIN_UNKNOWN_SERVER_ERROR, "Out of memory");
        return;
    }
    for (int32_t p = 0; p < old; p++) {
        if (zt.parts[p].n_replicas > 0)
            memcpy(rows + (size_t)p * (size_t)rfw, zt.parts[p].replicas, (size_t)zt.parts[p].n_replicas * sizeof *rows);
        lens[p] = zt.parts[p].n_replicas;
    }
    if (o->n_manual > 0) {
        for (int32_t k = 0; k < o->n_manual; k++) {
            memcpy(rows + (size_t)(old + k) * (size_t)rfw, o->rows + (size_t)k * (size_t)o->rf,
                   (size_t)o->row_len[k] * sizeof *rows);
            lens[old + k] = o->row_len[k];
        }
    } else {
        char buf[256];
        if ((size_t)rf0 > o->nbrokers || rf0 <= 0) {
            free(rows);
            free(lens);
            kz_arena_reset(&ar);
            op_finish(o, KB_ADMIN_INVALID_REPLICATION_FACTOR, "%s",
                      kb_assign_strerror(KB_ASSIGN_EBAD_RF, rf0, o->nbrokers, buf, sizeof buf));
            return;
        }
        int32_t *fresh = calloc((size_t)inc * (size_t)rf0, sizeof *fresh);
        int32_t start = kb_assign_start_index(o->brokers, o->nbrokers, zt.parts[0].replicas[0]);
        int rc = fresh ? kb_assign_replicas_fixed(o->brokers, o->nbrokers, inc, rf0, old, start, start, fresh)
                       : KB_ASSIGN_ENOMEM;
        if (rc != KB_ASSIGN_OK) {
            free(fresh);
            free(rows);
            free(lens);
            kz_arena_reset(&ar);
            op_finish(o, rc == KB_ASSIGN_EBAD_RF ? KB_ADMIN_INVALID_REPLICATION_FACTOR : KB_ADMIN_UNKNOWN_SERVER_ERROR,
                      "%s", kb_assign_strerror(rc, rf0, o->nbrokers, buf, sizeof buf));
            return;
        }
        for (int32_t k = 0; k < inc; k++) {
            memcpy(rows + (size_t)(old + k) * (size_t)rfw, fresh + (size_t)k * (size_t)rf0, (size_t)rf0 * sizeof *rows);
            lens[old + k] = rf0;
        }
        free(fresh);
    }
    free(o->rows);
    free(o->row_len);
    o->rows = rows;
    o->row_len = lens;
    o->rf = rfw;
    o->nparts = o->total;
    o->has_id = zt.has_id;
    o->id = zt.id;
    kz_arena_reset(&ar);
    if (op_checked(o, o->total, rf0))
        return;
    char rs[2048];
    rows_str(o, old, o->total, rs, sizeof rs);
    kz_info(ADM_COMP, "Creating %d partitions for '%s' with the following replica assignment: %s.", inc, o->topic, rs);
    topic_send(o, false, parts_on_set);
}

void kb_admin_create_partitions(kb_admin *a, const char *topic, int32_t total, const kb_admin_replicas *assign,
                                int32_t n_assign, const kb_assign_broker *brokers, size_t nbrokers,
                                bool validate_only, kb_admin_done_fn *done, void *ctx)
{
    adm_op *o = op_new(a, OP_PARTS, topic, validate_only, done, ctx);
    if (!o)
        return;
    o->total = total;
    if (!brokers_copy(o, brokers, nbrokers)) {
        op_finish(o, KB_ADMIN_UNKNOWN_SERVER_ERROR, "Out of memory");
        return;
    }
    if (assign && n_assign > 0) {
        int32_t rf = 0;
        for (int32_t k = 0; k < n_assign; k++)
            if (assign[k].n > rf)
                rf = assign[k].n;
        if (!rows_alloc(o, n_assign, rf)) {
            op_finish(o, KB_ADMIN_UNKNOWN_SERVER_ERROR, "Out of memory");
            return;
        }
        for (int32_t k = 0; k < n_assign; k++) {
            if (assign[k].n > 0)
                memcpy(o->rows + (size_t)k * (size_t)rf, assign[k].ids, (size_t)assign[k].n * sizeof(int32_t));
            o->row_len[k] = assign[k].n > 0 ? assign[k].n : 0;
        }
        o->n_manual = n_assign;
    }
    char path[KB_ZK_PATH_MAX];
    if (kb_zk_path_topic(path, sizeof path, topic) < 0) {
        op_finish(o, KB_ADMIN_UNKNOWN_TOPIC_OR_PARTITION, "The topic '%s' does not exist.", topic);
        return;
    }
    op_submitted(o, kz_zkc_get(a->zk, path, NULL, NULL, parts_on_get, o), "reading the topic assignment");
}

/* --------------------------------------------------------------- delete */

static void delete_on_create(void *ctx, const kz_zkc_result *res)
{
    adm_op *o = ctx;
    if (res->rc == KZ_ZOK || res->rc == KZ_ZNODEEXISTS) { /* already marked: still a success */
        op_finish(o, KB_ADMIN_NONE, NULL);
        return;
    }
    op_zk_fail(o, "marking the topic for deletion", res->rc);
}

static void delete_on_exists(void *ctx, const kz_zkc_result *res)
{
    adm_op *o = ctx;
    if (res->rc == KZ_ZNONODE) {
        op_finish(o, KB_ADMIN_UNKNOWN_TOPIC_OR_PARTITION, "Topic `%s` to delete does not exist", o->topic);
        return;
    }
    if (res->rc != KZ_ZOK) {
        op_zk_fail(o, "checking the topic", res->rc);
        return;
    }
    char path[KB_ZK_PATH_MAX];
    kb_zk_path_delete_topic(path, sizeof path, o->topic);
    op_submitted(o, kz_zkc_create(o->a->zk, path, NULL, -1, KZ_ZKC_PERSISTENT | KZ_ZKC_PARENTS, delete_on_create, o),
                 "marking the topic for deletion");
}

void kb_admin_delete_topic(kb_admin *a, const char *topic, kb_admin_done_fn *done, void *ctx)
{
    adm_op *o = op_new(a, OP_DELETE, topic, false, done, ctx);
    if (!o)
        return;
    if (!a->cfg.delete_topic_enable) {
        op_finish(o, KB_ADMIN_TOPIC_DELETION_DISABLED, "Topic deletion is disabled.");
        return;
    }
    char path[KB_ZK_PATH_MAX], marker[KB_ZK_PATH_MAX];
    if (kb_zk_path_delete_topic(marker, sizeof marker, topic) < 0 || kb_zk_path_topic(path, sizeof path, topic) < 0) {
        op_finish(o, KB_ADMIN_UNKNOWN_TOPIC_OR_PARTITION, "Topic `%s` to delete does not exist", topic);
        return;
    }
    op_submitted(o, kz_zkc_exists(a->zk, path, NULL, NULL, delete_on_exists, o), "checking the topic");
}

/* --------------------------------------------------------------- config */

static void alter_on_exists(void *ctx, const kz_zkc_result *res)
{
    adm_op *o = ctx;
    if (res->rc == KZ_ZNONODE) {
        op_finish(o, KB_ADMIN_UNKNOWN_TOPIC_OR_PARTITION, "Topic '%s' does not exist.", o->topic);
        return;
    }
    if (res->rc != KZ_ZOK) {
        op_zk_fail(o, "checking the topic", res->rc);
        return;
    }
    if (o->validate_only) {
        op_finish(o, KB_ADMIN_NONE, NULL);
        return;
    }
    cfg_send(o, false);
}

void kb_admin_alter_topic_config(kb_admin *a, const char *topic, const kb_cfg_pair *kv, size_t n,
                                 bool validate_only, kb_admin_done_fn *done, void *ctx)
{
    adm_op *o = op_new(a, OP_ALTER, topic, validate_only, done, ctx);
    if (!o)
        return;
    if (op_null_configs(o, kv, n))
        return;
    char buf[512];
    int16_t e = kb_admin_validate_topic_name(topic, buf, sizeof buf);
    if (e) {
        op_finish(o, e, "%s", buf);
        return;
    }
    if (kb_topic_cfg_validate_all(kv, n, buf, sizeof buf) != 0) {
        op_finish(o, KB_ADMIN_INVALID_CONFIG, "%s", buf);
        return;
    }
    kb_zk_kv *z = calloc(n ? n : 1, sizeof *z);
    if (!z) {
        op_finish(o, KB_ADMIN_UNKNOWN_SERVER_ERROR, "Out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++)
        z[i] = (kb_zk_kv){ kv[i].name, kv[i].value };
    o->cfg_json = kb_zk_config_encode(z, (int32_t)n, &o->cfg_len);
    free(z);
    char path[KB_ZK_PATH_MAX];
    if (!o->cfg_json || kb_zk_path_topic(path, sizeof path, topic) < 0) {
        op_finish(o, KB_ADMIN_UNKNOWN_SERVER_ERROR, "Out of memory");
        return;
    }
    op_submitted(o, kz_zkc_exists(a->zk, path, NULL, NULL, alter_on_exists, o), "checking the topic");
}
