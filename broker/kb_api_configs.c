/* broker/kb_api_configs.c -- DescribeConfigs (32), AlterConfigs (33) and
 * IncrementalAlterConfigs (44), as Kafka 2.8 answers them in ZooKeeper mode
 * (ConfigHelper.describeConfigs, ZkAdminManager.alterConfigs and
 * incrementalAlterConfigs). Any broker serves them.
 *
 * Resources (ConfigResource.Type):
 *   TOPIC (2)          the overrides are /config/topics/<t> (kb_zk codec); a
 *                      topic must be in the metadata cache. Describe lists
 *                      every topic config with its effective value, source
 *                      and synonyms (kb_topic_cfg_describe). Alter replaces
 *                      the overrides, Incremental reads them first and merges
 *                      SET/DELETE/APPEND/SUBTRACT (kb_adm_apply_ops); both
 *                      validate (LogConfig.validate: unknown names
 *                      INVALID_CONFIG, bad values INVALID_REQUEST "Invalid
 *                      config value for resource ConfigResource(...): ...")
 *                      and write through kb_admin_alter_topic_config.
 *   BROKER (4)         this broker's id, or "" for the cluster default.
 *                      Describe: server.properties (kb_config_describe), the
 *                      default has no dynamic configs (empty list). kafkad
 *                      has no dynamic broker configs, so any alteration that
 *                      would leave one is refused as Kafka refuses a static
 *                      one ("Cannot update these configs dynamically: ...").
 *   BROKER_LOGGER (8)  one logger, "root", whose level is kz_log's; Describe
 *                      lists it, Incremental may SET it.
 * Another broker's id is INVALID_REQUEST with Kafka's message; other types
 * are INVALID_REQUEST.
 *
 * Flow: each resource is answered in place in the response struct (in
 * req->arena); ZooKeeper reads and kb_admin writes are counted, and the reply
 * goes when the last one completes.
 * Locality: broker loop thread only. */
#include <stdlib.h>
#include <string.h>

#include "kb_admin.h"
#include "kb_api_admin_util.h"
#include "kb_apis.h"
#include "kb_topic_config.h"
#include "kb_zk.h"
#include "kz_kmsgs.h"
#include "kz_log.h"
#include "kz_zkc.h"

#define KB_CFG_LOG "kafka.server.ZkAdminManager"

static const char *const kb_cfg_level_names[] = { "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL" };
#define KB_ROOT_LOGGER "root"

/* ============================================= reading /config/topics/<t> */

/* Completion of a read: 0 with the overrides (in the request arena), or an
 * error code. */
typedef void kb_cfgrd_fn(void *ctx, int16_t err, const kb_cfg_pair *ov, size_t n);

typedef struct kb_cfgrd {
    kz_arena *a;
    const char *topic;
    kb_cfgrd_fn *fn;
    void *ctx;
} kb_cfgrd;

static void kb_cfgrd_done(void *ctx, const kz_zkc_result *res)
{
    kb_cfgrd *rd = ctx;
    if (res->rc == KZ_ZNONODE) { /* fetchEntityConfig: no node, no overrides */
        rd->fn(rd->ctx, 0, NULL, 0);
        return;
    }
    kb_zk_config zc;
    char err[192];
    if (res->rc != KZ_ZOK) {
        kz_error(KB_CFG_LOG, "Reading the config of topic %s failed: %s", rd->topic, kz_zkc_strerror(res->rc));
        rd->fn(rd->ctx, KB_ERR_UNKNOWN_SERVER_ERROR, NULL, 0);
        return;
    }
    if (kb_zk_config_decode(res->data, res->data_len > 0 ? (size_t)res->data_len : 0, rd->a, &zc, err,
                            sizeof err) != 0) {
        kz_error(KB_CFG_LOG, "Invalid config of topic %s in ZooKeeper: %s", rd->topic, err);
        rd->fn(rd->ctx, KB_ERR_UNKNOWN_SERVER_ERROR, NULL, 0);
        return;
    }
    kb_cfg_pair *ov = kz_arena_alloc(rd->a, (size_t)(zc.n > 0 ? zc.n : 1) * sizeof *ov);
    if (!ov) {
        rd->fn(rd->ctx, KB_ERR_UNKNOWN_SERVER_ERROR, NULL, 0);
        return;
    }
    for (int32_t i = 0; i < zc.n; i++)
        ov[i] = (kb_cfg_pair){ zc.entries[i].key, zc.entries[i].value };
    rd->fn(rd->ctx, 0, ov, (size_t)(zc.n > 0 ? zc.n : 0));
}

/* Starts the read of @topic's overrides; @fn runs later, once. Returns 0, or
 * -1 when nothing could be sent (no ZooKeeper session): then @fn never runs. */
static int kb_cfgrd_start(kb_server *s, kz_arena *a, const char *topic, kb_cfgrd_fn *fn, void *ctx)
{
    char path[KB_ZK_PATH_MAX];
    kb_cfgrd *rd = kz_arena_alloc(a, sizeof *rd);
    if (!rd || !s->zk || kb_zk_path_config(path, sizeof path, "topics", topic) < 0)
        return -1;
    *rd = (kb_cfgrd){ a, topic, fn, ctx };
    return kz_zkc_get(s->zk, path, NULL, NULL, kb_cfgrd_done, rd) == 0 ? 0 : -1;
}

/* ====================================================== shared resource checks */

/* getBrokerId of ZkAdminManager for @name: 1 with *@id for a broker id, 0
 * for the default entity (empty or null name); -1 with the error set in
 * @msg for a name that is not our id. @expect_sep is Kafka's separator before
 * "but" (DescribeConfigs: " or empty string,", AlterConfigs: ","). */
static int kb_cfg_broker_id(const kb_server *s, kz_str name, const char *expect_sep, int32_t *id,
                            char *msg, size_t msglen)
{
    if (name.len <= 0)
        return 0;
    if (kb_adm_parse_int(name, id) != 0) {
        snprintf(msg, msglen, "Broker id must be an integer, but it is: %.*s", (int)name.len, name.s);
        return -1;
    }
    if (*id != s->broker_id) {
        snprintf(msg, msglen, "Unexpected broker id, expected %d%s but received %.*s", s->broker_id, expect_sep,
                 (int)name.len, name.s);
        return -1;
    }
    return 1;
}

static const char *kb_cfg_level_name(kz_log_level l)
{
    return (unsigned)l < sizeof kb_cfg_level_names / sizeof kb_cfg_level_names[0] ? kb_cfg_level_names[l] : "INFO";
}

/* =================================================== DescribeConfigs (32) */

typedef struct kb_dc kb_dc;

typedef struct kb_dc_res {
    kb_dc *dc;
    int32_t i;
    const char *topic;
} kb_dc_res;

struct kb_dc {
    kb_server *s;
    kb_req *req;
    int16_t ver;
    const kz_DescribeConfigsRequest *rq;
    kz_DescribeConfigsResponse *r;
    int32_t pending;
};

static void kb_dc_release(kb_dc *dc)
{
    if (--dc->pending == 0)
        kb_req_reply(dc->req, &kz_kmsg_DescribeConfigsResponse, dc->ver, dc->r);
}

static void kb_dc_error(kb_dc *dc, int32_t i, int16_t err, const char *msg)
{
    kz_DescribeConfigsResult *out = &dc->r->results.v[i];
    out->error_code = err;
    out->error_message = msg ? kb_adm_msgf(&dc->req->arena, "%s", msg) : KZ_STR_NULL;
    out->configs.n = 0;
    if (err != KB_ERR_UNKNOWN_TOPIC_OR_PARTITION)
        kz_info("kafka.server.ConfigHelper", "Error processing describe configs request for resource "
                "DescribeConfigsResource(resourceType=%d, resourceName='%.*s'): %s",
                dc->rq->resources.v[i].resource_type, (int)out->resource_name.len,
                out->resource_name.s ? out->resource_name.s : "", msg ? msg : "");
}

/* Whether @name is among the requested keys (all when the list is null). */
static bool kb_dc_wanted(const kz_DescribeConfigsResource *in, const char *name)
{
    if (in->configuration_keys.n < 0)
        return true;
    kz_str n = kz_str_c(name);
    for (int32_t k = 0; k < in->configuration_keys.n; k++)
        if (kz_str_eq(in->configuration_keys.v[k], n))
            return true;
    return false;
}

/* Puts entries @e[0..n) (filtered by the requested keys) into result @i. */
static int kb_dc_fill(kb_dc *dc, int32_t i, const kb_cfg_entry *e, size_t n)
{
    const kz_DescribeConfigsResource *in = &dc->rq->resources.v[i];
    kz_DescribeConfigsResult *out = &dc->r->results.v[i];
    kz_arena *a = &dc->req->arena;
    bool syn = dc->ver >= 1 && dc->rq->include_synonyms;
    out->configs.v = kz_arena_alloc(a, (n ? n : 1) * sizeof *out->configs.v);
    if (!out->configs.v)
        return KZ_ENOMEM;
    out->configs.n = 0;
    for (size_t k = 0; k < n; k++) {
        if (!kb_dc_wanted(in, e[k].name))
            continue;
        kz_DescribeConfigsResourceResult *c = &out->configs.v[out->configs.n++];
        c->name = kz_str_c(e[k].name);
        c->value = kz_str_c(e[k].value);
        c->read_only = e[k].read_only;
        c->is_default = e[k].is_default;
        c->config_source = (int8_t)e[k].source;
        c->is_sensitive = e[k].is_sensitive;
        c->config_type = (int8_t)e[k].type;
        c->documentation = KZ_STR_NULL; /* include_documentation: kafkad carries no docs */
        c->synonyms.n = 0;
        if (!syn || e[k].n_synonyms == 0)
            continue;
        c->synonyms.v = kz_arena_alloc(a, e[k].n_synonyms * sizeof *c->synonyms.v);
        if (!c->synonyms.v)
            return KZ_ENOMEM;
        for (size_t j = 0; j < e[k].n_synonyms; j++)
            c->synonyms.v[j] = (kz_DescribeConfigsSynonym){ .name = kz_str_c(e[k].synonyms[j].name),
                                                            .value = kz_str_c(e[k].synonyms[j].value),
                                                            .source = (int8_t)e[k].synonyms[j].source };
        c->synonyms.n = (int32_t)e[k].n_synonyms;
    }
    return 0;
}

static void kb_dc_topic_read(void *ctx, int16_t err, const kb_cfg_pair *ov, size_t n)
{
    kb_dc_res *x = ctx;
    kb_dc *dc = x->dc;
    kb_cfg_entry *e;
    size_t ne;
    if (err) {
        kb_dc_error(dc, x->i, err, NULL);
    } else if (kb_topic_cfg_describe(dc->s->cfg, ov, n, &dc->req->arena, &e, &ne) != 0 ||
               kb_dc_fill(dc, x->i, e, ne) != 0) {
        kb_dc_error(dc, x->i, KB_ERR_UNKNOWN_SERVER_ERROR, NULL);
    }
    kb_dc_release(dc);
}

static void kb_dc_topic(kb_dc *dc, int32_t i, kz_str name)
{
    char msg[512];
    kz_arena *a = &dc->req->arena;
    const char *topic = kb_adm_cstr(a, name);
    kb_dc_res *x = kz_arena_alloc(a, sizeof *x);
    if (!topic || !x) {
        kb_dc_error(dc, i, KB_ERR_UNKNOWN_SERVER_ERROR, NULL);
        return;
    }
    if (kb_admin_validate_topic_name(topic, msg, sizeof msg) != 0) {
        kb_dc_error(dc, i, KB_ERR_INVALID_TOPIC_EXCEPTION, msg);
        return;
    }
    if (!kb_mdc_topic(dc->s->mdc, name.s, name.len)) {
        kb_dc_error(dc, i, KB_ERR_UNKNOWN_TOPIC_OR_PARTITION, NULL);
        return;
    }
    *x = (kb_dc_res){ dc, i, topic };
    dc->pending++;
    if (kb_cfgrd_start(dc->s, a, topic, kb_dc_topic_read, x) != 0) {
        dc->pending--;
        kb_dc_error(dc, i, KB_ERR_UNKNOWN_SERVER_ERROR, NULL);
    }
}

static void kb_dc_broker(kb_dc *dc, int32_t i, kz_str name)
{
    char msg[512];
    int32_t id;
    int rc = kb_cfg_broker_id(dc->s, name, " or empty string,", &id, msg, sizeof msg);
    if (rc < 0) {
        kb_dc_error(dc, i, KB_ERR_INVALID_REQUEST, msg);
        return;
    }
    if (rc == 0) /* the cluster default: no dynamic default configs */
        return;
    kb_cfg_entry *e;
    size_t n;
    if (kb_config_describe(dc->s->cfg, &dc->req->arena, &e, &n) != 0 || kb_dc_fill(dc, i, e, n) != 0)
        kb_dc_error(dc, i, KB_ERR_UNKNOWN_SERVER_ERROR, NULL);
}

static void kb_dc_logger(kb_dc *dc, int32_t i, kz_str name)
{
    char msg[512];
    int32_t id;
    if (name.len <= 0) {
        kb_dc_error(dc, i, KB_ERR_INVALID_REQUEST, "Broker id must not be empty");
        return;
    }
    if (kb_cfg_broker_id(dc->s, name, "", &id, msg, sizeof msg) < 0) {
        kb_dc_error(dc, i, KB_ERR_INVALID_REQUEST, msg);
        return;
    }
    kb_cfg_entry root = { .name = KB_ROOT_LOGGER, .value = kb_cfg_level_name(kz_log_get_level()),
                          .source = KB_CS_DYNAMIC_BROKER_LOGGER, .type = KB_CT_UNKNOWN };
    if (kb_dc_fill(dc, i, &root, 1) != 0)
        kb_dc_error(dc, i, KB_ERR_UNKNOWN_SERVER_ERROR, NULL);
}

void kb_api_describe_configs(kb_server *s, kb_req *req, const void *body, int16_t ver)
{
    const kz_DescribeConfigsRequest *rq = body;
    kz_arena *a = &req->arena;
    int32_t n = rq->resources.n > 0 ? rq->resources.n : 0;
    kb_dc *dc = kz_arena_alloc(a, sizeof *dc);
    kz_DescribeConfigsResponse *r = kz_arena_alloc(a, sizeof *r);
    if (!dc || !r || !(r->results.v = kz_arena_alloc(a, (size_t)(n ? n : 1) * sizeof *r->results.v))) {
        kb_req_close(req, "out of memory");
        return;
    }
    *dc = (kb_dc){ .s = s, .req = req, .ver = ver, .rq = rq, .r = r, .pending = 1 };
    r->results.n = n;
    for (int32_t i = 0; i < n; i++) {
        const kz_DescribeConfigsResource *in = &rq->resources.v[i];
        kz_DescribeConfigsResult *out = &r->results.v[i];
        out->resource_type = in->resource_type;
        out->resource_name = in->resource_name;
        out->error_message = KZ_STR_NULL;
        switch (in->resource_type) {
        case KB_RES_TOPIC: kb_dc_topic(dc, i, in->resource_name); break;
        case KB_RES_BROKER: kb_dc_broker(dc, i, in->resource_name); break;
        case KB_RES_BROKER_LOGGER: kb_dc_logger(dc, i, in->resource_name); break;
        default: {
            char msg[64];
            snprintf(msg, sizeof msg, "Unsupported resource type: %s", kb_adm_resource_type_name(in->resource_type));
            kb_dc_error(dc, i, KB_ERR_INVALID_REQUEST, msg);
        }
        }
    }
    kb_dc_release(dc);
}

/* ====================================== AlterConfigs (33) and Incremental (44) */

typedef struct kb_ac kb_ac;

/* One resource being altered; its answer goes to *err / *msg. */
typedef struct kb_ac_res {
    kb_ac *ac;
    int8_t type;
    kz_str name;
    const char *topic;       /* C copy of a TOPIC resource's name */
    int16_t *err;
    kz_str *msg;
    const kb_adm_op *ops;    /* IncrementalAlterConfigs */
    size_t nops;
} kb_ac_res;

struct kb_ac {
    kb_server *s;
    kb_req *req;
    int16_t ver;
    const kz_kmsg *schema;   /* the response schema */
    void *resp;
    int32_t pending;
    bool validate_only;
};

static void kb_ac_release(kb_ac *ac)
{
    if (--ac->pending == 0)
        kb_req_reply(ac->req, ac->schema, ac->ver, ac->resp);
}

/* Sets the answer of @x to @err with @msg (NULL: no message), and logs it
 * as Kafka does, at INFO (client errors). */
static void kb_ac_fail(kb_ac_res *x, int16_t err, const char *msg)
{
    *x->err = err;
    *x->msg = msg ? kb_adm_msgf(&x->ac->req->arena, "%s", msg) : KZ_STR_NULL;
    char rs[320];
    kz_info(KB_CFG_LOG, "[Admin Manager on Broker %d]: Error processing alter configs request for resource %s: %s",
            x->ac->s->broker_id, kb_adm_resource_str(rs, sizeof rs, x->type, x->name), msg ? msg : "");
}

/* A ConfigException of Kafka: INVALID_REQUEST "Invalid config value for
 * resource ConfigResource(type=..., name='...'): <msg>". */
static void kb_ac_fail_value(kb_ac_res *x, const char *msg)
{
    char rs[320];
    kz_str full = kb_adm_msgf(&x->ac->req->arena, "Invalid config value for resource %s: %s",
                              kb_adm_resource_str(rs, sizeof rs, x->type, x->name), msg);
    kb_ac_fail(x, KB_ERR_INVALID_REQUEST, full.s);
}

static void kb_ac_admin_done(void *ctx, int16_t err, const char *msg, const kb_admin_result *res)
{
    kb_ac_res *x = ctx;
    (void)res;
    if (err)
        kb_ac_fail(x, err, msg);
    kb_ac_release(x->ac);
}

/* alterTopicConfigs: the topic must be known, then LogConfig.validate
 * (names, then values, then the cross checks), then the write. */
static void kb_ac_topic_write(kb_ac_res *x, const kb_cfg_pair *kv, size_t n)
{
    kb_ac *ac = x->ac;
    char msg[512];
    if (!kb_mdc_topic(ac->s->mdc, x->name.s, x->name.len)) {
        snprintf(msg, sizeof msg, "The topic '%s' does not exist.", x->topic);
        kb_ac_fail(x, KB_ERR_UNKNOWN_TOPIC_OR_PARTITION, msg);
        return;
    }
    /* Properties semantics: one value per name, the last one given. Unknown
     * names fail first, so the de-duplicated set is as small as the table. */
    kb_cfg_pair *set = kz_arena_alloc(&ac->req->arena, (kb_topic_cfg_count() + 1) * sizeof *set);
    size_t ns = 0;
    if (!set) {
        kb_ac_fail(x, KB_ERR_UNKNOWN_SERVER_ERROR, NULL);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!kb_topic_cfg_find(kv[i].name)) {
            snprintf(msg, sizeof msg, "Unknown topic config name: %s", kv[i].name);
            kb_ac_fail(x, KB_ERR_INVALID_CONFIG, msg);
            return;
        }
        size_t k = 0;
        while (k < ns && strcmp(set[k].name, kv[i].name) != 0)
            k++;
        set[k] = kv[i];
        ns += k == ns;
    }
    for (size_t i = 0; i < ns; i++)
        if (kb_topic_cfg_validate(set[i].name, set[i].value, msg, sizeof msg) != 0) {
            kb_ac_fail_value(x, msg);
            return;
        }
    if (kb_topic_cfg_validate_all(set, ns, msg, sizeof msg) != 0) {
        kb_ac_fail(x, KB_ERR_INVALID_CONFIG, msg);
        return;
    }
    ac->pending++;
    kb_admin_alter_topic_config(ac->s->admin, x->topic, set, ns, ac->validate_only, kb_ac_admin_done, x);
}

/* A broker resource: only our id or the default, and no configs left to
 * set, since none is dynamic here. @names are the configs that would be set. */
static void kb_ac_broker_write(kb_ac_res *x, const char *const *names, size_t n)
{
    char msg[1024], set[768];
    int32_t id;
    if (kb_cfg_broker_id(x->ac->s, x->name, ",", &id, msg, sizeof msg) < 0) {
        kb_ac_fail(x, KB_ERR_INVALID_REQUEST, msg);
        return;
    }
    if (n == 0)
        return;
    snprintf(msg, sizeof msg, "Cannot update these configs dynamically: %s", kb_adm_set_str(set, sizeof set, names, n));
    kb_ac_fail_value(x, msg);
}

/* "Null value not supported for : a,b" when some value is null. */
static bool kb_ac_nulls(kb_ac_res *x, const kz_str *names, const kz_str *values, const int8_t *ops,
                        int32_t n, size_t stride)
{
    char msg[1024];
    size_t at = (size_t)snprintf(msg, sizeof msg, "Null value not supported for : ");
    bool any = false;
    for (int32_t i = 0; i < n && at < sizeof msg; i++) {
        const kz_str *v = (const kz_str *)((const char *)values + (size_t)i * stride);
        const kz_str *k = (const kz_str *)((const char *)names + (size_t)i * stride);
        int8_t op = ops ? *(const int8_t *)((const char *)ops + (size_t)i * stride) : KB_CFG_OP_SET;
        if (v->len >= 0 || op == KB_CFG_OP_DELETE || !kb_adm_op_name(op))
            continue;
        at += (size_t)snprintf(msg + at, sizeof msg - at, "%s%s%s%.*s", any ? "," : "",
                               ops ? kb_adm_op_name(op) : "", ops ? ":" : "", (int)k->len, k->s);
        any = true;
    }
    if (any)
        kb_ac_fail(x, KB_ERR_INVALID_REQUEST, msg);
    return any;
}

static void kb_ac_unsupported(kb_ac_res *x)
{
    char msg[128];
    snprintf(msg, sizeof msg, "AlterConfigs is only supported for topics and brokers, but resource type is %s",
             kb_adm_resource_type_name(x->type));
    kb_ac_fail(x, KB_ERR_INVALID_REQUEST, msg);
}

/* The state of an (Incremental)AlterConfigs request that answers with @resp (@schema at @ver)
 * and, in *@xs, room for its @n resources (kb_ac_res_init each); both from the request arena.
 * NULL when out of memory. */
static kb_ac *kb_ac_new(kb_server *s, kb_req *req, int16_t ver, const kz_kmsg *schema, void *resp,
                        bool validate_only, int32_t n, kb_ac_res **xs)
{
    kb_ac *ac = kz_arena_alloc(&req->arena, sizeof *ac);
    if (!ac || !(*xs = kz_arena_alloc(&req->arena, (size_t)(n ? n : 1) * sizeof **xs)))
        return NULL;
    *ac = (kb_ac){ .s = s, .req = req, .ver = ver, .schema = schema, .resp = resp, .pending = 1,
                   .validate_only = validate_only };
    return ac;
}

/* Resource @x of @ac: @type and @name from the request; its answer goes to *@err and *@msg
 * (no message until a failure sets one). */
static void kb_ac_res_init(kb_ac_res *x, kb_ac *ac, int8_t type, kz_str name, int16_t *err, kz_str *msg)
{
    *msg = KZ_STR_NULL;
    *x = (kb_ac_res){ .ac = ac, .type = type, .name = name, .err = err, .msg = msg };
}

void kb_api_alter_configs(kb_server *s, kb_req *req, const void *body, int16_t ver)
{
    const kz_AlterConfigsRequest *rq = body;
    kz_arena *a = &req->arena;
    int32_t n = rq->resources.n > 0 ? rq->resources.n : 0;
    kz_AlterConfigsResponse *r = kz_arena_alloc(a, sizeof *r);
    kb_ac_res *xs = NULL;
    kb_ac *ac = r ? kb_ac_new(s, req, ver, &kz_kmsg_AlterConfigsResponse, r, rq->validate_only, n, &xs) : NULL;
    if (!ac || !(r->responses.v = kz_arena_alloc(a, (size_t)(n ? n : 1) * sizeof *r->responses.v)))
        goto oom;
    r->responses.n = n;
    for (int32_t i = 0; i < n; i++) {
        const kz_AlterConfigsRequestAlterConfigsResource *in = &rq->resources.v[i];
        kz_AlterConfigsResponseAlterConfigsResourceResponse *out = &r->responses.v[i];
        kb_ac_res *x = &xs[i];
        out->resource_type = in->resource_type;
        out->resource_name = in->resource_name;
        kb_ac_res_init(x, ac, in->resource_type, in->resource_name, &out->error_code, &out->error_message);
        int32_t nc = in->configs.n > 0 ? in->configs.n : 0;
        if (nc > 0 && kb_ac_nulls(x, &in->configs.v[0].name, &in->configs.v[0].value, NULL, nc,
                                  sizeof *in->configs.v))
            continue;
        kb_cfg_pair *kv = kz_arena_alloc(a, (size_t)(nc ? nc : 1) * sizeof *kv);
        if (!kv || !(x->topic = kb_adm_cstr(a, in->resource_name)))
            goto oom;
        for (int32_t k = 0; k < nc; k++) {
            kv[k] = (kb_cfg_pair){ kb_adm_cstr(a, in->configs.v[k].name), kb_adm_cstr(a, in->configs.v[k].value) };
            if (!kv[k].name || !kv[k].value)
                goto oom;
        }
        if (in->resource_type == KB_RES_TOPIC) {
            kb_ac_topic_write(x, kv, (size_t)nc);
        } else if (in->resource_type == KB_RES_BROKER) {
            const char **names = kz_arena_alloc(a, (size_t)(nc ? nc : 1) * sizeof *names);
            size_t nn = 0;
            if (!names)
                goto oom;
            for (int32_t k = 0; k < nc; k++) { /* a Set: each name once */
                size_t j = 0;
                while (j < nn && strcmp(names[j], kv[k].name) != 0)
                    j++;
                if (j == nn)
                    names[nn++] = kv[k].name;
            }
            kb_ac_broker_write(x, names, nn);
        } else {
            kb_ac_unsupported(x);
        }
    }
    kb_ac_release(ac);
    return;
oom:
    kb_req_close(req, "out of memory");
}

/* ----------------------------------------------- IncrementalAlterConfigs */

static void kb_ic_topic_merge(kb_ac_res *x, const kb_cfg_pair *cur, size_t n)
{
    char msg[512];
    kb_cfg_pair *out;
    size_t nout;
    int16_t err = kb_adm_apply_ops(&x->ac->req->arena, cur, n, x->ops, x->nops, kb_adm_topic_kind, NULL, &out,
                                   &nout, msg, sizeof msg);
    if (err < 0)
        kb_ac_fail(x, KB_ERR_UNKNOWN_SERVER_ERROR, NULL);
    else if (err)
        kb_ac_fail(x, err, msg);
    else
        kb_ac_topic_write(x, out, nout);
}

static void kb_ic_topic_read(void *ctx, int16_t err, const kb_cfg_pair *ov, size_t n)
{
    kb_ac_res *x = ctx;
    if (err)
        kb_ac_fail(x, err, NULL);
    else
        kb_ic_topic_merge(x, ov, n);
    kb_ac_release(x->ac);
}

/* Broker configs are LIST when kb_config_describe says so; unknown keys
 * count as plain values. */
typedef struct kb_ic_bkind {
    const kb_cfg_entry *e;
    size_t n;
} kb_ic_bkind;

static int kb_ic_broker_kind(void *ctx, const char *name, const char **def)
{
    const kb_ic_bkind *k = ctx;
    for (size_t i = 0; i < k->n; i++)
        if (strcmp(k->e[i].name, name) == 0 && k->e[i].type == KB_CT_LIST) {
            *def = "";
            return 1;
        }
    return 0;
}

static void kb_ic_broker(kb_ac_res *x)
{
    char msg[512];
    int32_t id;
    if (kb_cfg_broker_id(x->ac->s, x->name, ",", &id, msg, sizeof msg) < 0) {
        kb_ac_fail(x, KB_ERR_INVALID_REQUEST, msg);
        return;
    }
    kb_ic_bkind kind = { NULL, 0 };
    kb_cfg_entry *e;
    if (kb_config_describe(x->ac->s->cfg, &x->ac->req->arena, &e, &kind.n) == 0)
        kind.e = e;
    kb_cfg_pair *out;
    size_t nout;
    int16_t err = kb_adm_apply_ops(&x->ac->req->arena, NULL, 0, x->ops, x->nops, kb_ic_broker_kind, &kind, &out,
                                   &nout, msg, sizeof msg);
    if (err) {
        kb_ac_fail(x, err < 0 ? KB_ERR_UNKNOWN_SERVER_ERROR : err, err < 0 ? NULL : msg);
        return;
    }
    const char **names = kz_arena_alloc(&x->ac->req->arena, (nout ? nout : 1) * sizeof *names);
    if (!names) {
        kb_ac_fail(x, KB_ERR_UNKNOWN_SERVER_ERROR, NULL);
        return;
    }
    for (size_t i = 0; i < nout; i++)
        names[i] = out[i].name;
    kb_ac_broker_write(x, names, nout);
}

/* validateLogLevelConfigs, then the level change. The only logger is root. */
static void kb_ic_logger(kb_ac_res *x)
{
    char msg[512];
    int32_t id;
    if (kb_cfg_broker_id(x->ac->s, x->name, ",", &id, msg, sizeof msg) < 0) {
        kb_ac_fail(x, KB_ERR_INVALID_REQUEST, msg);
        return;
    }
    int level = -1;
    for (size_t i = 0; i < x->nops; i++) {
        const kb_adm_op *o = &x->ops[i];
        bool root = strcmp(o->name, KB_ROOT_LOGGER) == 0;
        if (o->op == KB_CFG_OP_APPEND || o->op == KB_CFG_OP_SUBTRACT) {
            snprintf(msg, sizeof msg, "%s operation is not allowed for the BROKER_LOGGER resource", kb_adm_op_name(o->op));
            kb_ac_fail(x, KB_ERR_INVALID_REQUEST, msg);
            return;
        }
        if (!kb_adm_op_name(o->op)) {
            snprintf(msg, sizeof msg, "Unknown config operation %d for config key: %s", o->op, o->name);
            kb_ac_fail(x, KB_ERR_INVALID_REQUEST, msg);
            return;
        }
        if (!root) {
            snprintf(msg, sizeof msg, "Logger %s does not exist!", o->name);
            kb_ac_fail_value(x, msg);
            return;
        }
        if (o->op == KB_CFG_OP_DELETE) {
            kb_ac_fail(x, KB_ERR_INVALID_REQUEST, "Removing the log level of the root logger is not allowed");
            return;
        }
        /* LogLevelConfig.VALID_LOG_LEVELS, upper case exactly */
        int l = -1;
        for (int k = 0; k < (int)(sizeof kb_cfg_level_names / sizeof kb_cfg_level_names[0]); k++)
            if (strcmp(o->value, kb_cfg_level_names[k]) == 0)
                l = k;
        if (l < 0) {
            snprintf(msg, sizeof msg, "Cannot set the log level of %s to %s as it is not a supported log level. "
                     "Valid log levels are FATAL, ERROR, WARN, INFO, DEBUG, TRACE", o->name, o->value);
            kb_ac_fail_value(x, msg);
            return;
        }
        level = l;
    }
    if (level >= 0 && !x->ac->validate_only) {
        kz_info("kafka.utils.Log4jController", "Changing the log level of root to %s", kb_cfg_level_names[level]);
        kz_log_set_level((kz_log_level)level);
    }
}

void kb_api_incremental_alter_configs(kb_server *s, kb_req *req, const void *body, int16_t ver)
{
    const kz_IncrementalAlterConfigsRequest *rq = body;
    kz_arena *a = &req->arena;
    int32_t n = rq->resources.n > 0 ? rq->resources.n : 0;
    kz_IncrementalAlterConfigsResponse *r = kz_arena_alloc(a, sizeof *r);
    kb_ac_res *xs = NULL;
    kb_ac *ac = r ? kb_ac_new(s, req, ver, &kz_kmsg_IncrementalAlterConfigsResponse, r, rq->validate_only, n, &xs)
                  : NULL;
    if (!ac || !(r->responses.v = kz_arena_alloc(a, (size_t)(n ? n : 1) * sizeof *r->responses.v)))
        goto oom;
    r->responses.n = n;
    for (int32_t i = 0; i < n; i++) {
        const kz_IncrementalAlterConfigsRequestAlterConfigsResource *in = &rq->resources.v[i];
        kz_IncrementalAlterConfigsResponseAlterConfigsResourceResponse *out = &r->responses.v[i];
        kb_ac_res *x = &xs[i];
        out->resource_type = in->resource_type;
        out->resource_name = in->resource_name;
        kb_ac_res_init(x, ac, in->resource_type, in->resource_name, &out->error_code, &out->error_message);
        int32_t nc = in->configs.n > 0 ? in->configs.n : 0;
        uint8_t *dup = kz_arena_alloc(a, (size_t)nc + 1);
        kb_adm_op *ops = kz_arena_alloc(a, (size_t)(nc ? nc : 1) * sizeof *ops);
        if (!dup || !ops || !(x->topic = kb_adm_cstr(a, in->resource_name)) ||
            kb_adm_mark_dups(in->configs.v, nc, sizeof *in->configs.v,
                             offsetof(kz_IncrementalAlterConfigsRequestAlterableConfig, name), dup) != 0)
            goto oom;
        for (int32_t k = 0; k < nc; k++) {
            const kz_IncrementalAlterConfigsRequestAlterableConfig *c = &in->configs.v[k];
            ops[k] = (kb_adm_op){ kb_adm_cstr(a, c->name), c->config_operation, kb_adm_cstr(a, c->value) };
            if (!ops[k].name || (c->value.len >= 0 && !ops[k].value))
                goto oom;
        }
        x->ops = ops;
        x->nops = (size_t)nc;
        /* "Error due to duplicate config keys : a,b" */
        char msg[1024];
        size_t at = (size_t)snprintf(msg, sizeof msg, "Error due to duplicate config keys : ");
        bool dups = false;
        for (int32_t k = 0; k < nc && at < sizeof msg; k++)
            if (dup[k] == KB_ADM_DUP_FIRST) {
                at += (size_t)snprintf(msg + at, sizeof msg - at, "%s%s", dups ? "," : "", ops[k].name);
                dups = true;
            }
        if (dups) {
            kb_ac_fail(x, KB_ERR_INVALID_REQUEST, msg);
            continue;
        }
        if (nc > 0 && kb_ac_nulls(x, &in->configs.v[0].name, &in->configs.v[0].value,
                                  &in->configs.v[0].config_operation, nc, sizeof *in->configs.v))
            continue;
        switch (in->resource_type) {
        case KB_RES_TOPIC:
            /* An unknown topic has no overrides to read: the merge still
             * runs (its errors come first, as in Kafka), then the write
             * reports the topic unknown. */
            if (!kb_mdc_topic(s->mdc, in->resource_name.s, in->resource_name.len)) {
                kb_ic_topic_merge(x, NULL, 0);
                break;
            }
            ac->pending++;
            if (kb_cfgrd_start(s, a, x->topic, kb_ic_topic_read, x) != 0) {
                ac->pending--;
                kb_ac_fail(x, KB_ERR_UNKNOWN_SERVER_ERROR, NULL);
            }
            break;
        case KB_RES_BROKER: kb_ic_broker(x); break;
        case KB_RES_BROKER_LOGGER: kb_ic_logger(x); break;
        default: kb_ac_unsupported(x);
        }
    }
    kb_ac_release(ac);
    return;
oom:
    kb_req_close(req, "out of memory");
}
