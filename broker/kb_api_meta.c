/* broker/kb_api_meta.c -- Metadata (3) and DescribeCluster (60).
 *
 * Answers from the metadata cache only. Brokers are listed with their
 * endpoint for the listener the request came in on (a client on PLAINTEXT
 * gets PLAINTEXT addresses). A requested topic that does not exist is
 * auto-created when auto.create.topics.enable is on and the request allows it
 * (v4+ flag; always for older versions): its entry then says
 * LEADER_NOT_AVAILABLE until the controller has elected leaders, as Kafka
 * answers, and the client retries.
 * Locality: broker loop thread only. */
#include <stdlib.h>
#include <string.h>

#include "kb_admin.h"
#include "kb_apis.h"
#include "kz_kmsgs.h"
#include "kz_log.h"

#define KB_META_LOG "kafka.server.KafkaApis"

static bool kb_meta_internal(const char *name)
{
    return strcmp(name, "__consumer_offsets") == 0 || strcmp(name, "__transaction_state") == 0;
}

/* The live brokers that have an endpoint for the listener @req came in on
 * (a client on PLAINTEXT gets PLAINTEXT addresses), as parallel arrays in
 * the request arena. Returns how many, or -1 when out of memory. */
static int kb_meta_visible(kb_server *s, kb_req *req, const kb_md_broker ***bs, const kb_md_ep ***eps)
{
    int n = kb_mdc_broker_count(s->mdc), k = 0;
    *bs = kz_arena_alloc(&req->arena, (size_t)(n ? n : 1) * sizeof **bs);
    *eps = kz_arena_alloc(&req->arena, (size_t)(n ? n : 1) * sizeof **eps);
    if (!*bs || !*eps)
        return -1;
    for (int i = 0; i < n; i++) {
        const kb_md_broker *b = kb_mdc_broker_at(s->mdc, i);
        const kb_md_ep *ep = kb_mdc_endpoint(b, req->listener ? req->listener : "PLAINTEXT");
        if (ep) {
            (*bs)[k] = b;
            (*eps)[k++] = ep;
        }
    }
    return k;
}

static int kb_meta_brokers(kb_server *s, kb_req *req, kz_MetadataResponse *r)
{
    const kb_md_broker **bs;
    const kb_md_ep **eps;
    int n = kb_meta_visible(s, req, &bs, &eps);
    if (n < 0 || !(r->brokers.v = kz_arena_alloc(&req->arena, (size_t)(n ? n : 1) * sizeof *r->brokers.v)))
        return KZ_ENOMEM;
    r->brokers.n = n;
    for (int i = 0; i < n; i++)
        r->brokers.v[i] = (kz_MetadataResponseBroker){ .node_id = bs[i]->id, .port = eps[i]->port,
                                                       .host = kz_str_c(eps[i]->host ? eps[i]->host : ""),
                                                       .rack = kz_str_c(bs[i]->rack) };
    return 0;
}

static void kb_meta_ids(kz_kai32 *dst, const kb_md_ids *src)
{
    dst->n = src->n;
    dst->v = src->v;
}

/* Fills one topic entry from the cache; the arrays are borrowed from the
 * cache, which cannot change before the reply is encoded (same loop turn). */
static int kb_meta_topic(kb_server *s, kb_req *req, const kb_md_topic *t, int16_t ver,
                         kz_MetadataResponseTopic *o)
{
    o->name = kz_str_c(t->name);
    o->topic_id = t->id;
    o->is_internal = kb_meta_internal(t->name);
    o->topic_authorized_operations = INT32_MIN;
    int32_t n = 0;
    for (int32_t p = 0; p < t->nparts; p++)
        n += t->parts[p].present;
    o->partitions.v = kz_arena_alloc(&req->arena, (size_t)(n ? n : 1) * sizeof *o->partitions.v);
    if (!o->partitions.v)
        return KZ_ENOMEM;
    o->partitions.n = 0;
    for (int32_t p = 0; p < t->nparts; p++) {
        const kb_md_part *mp = &t->parts[p];
        if (!mp->present)
            continue;
        kz_MetadataResponsePartition *op = &o->partitions.v[o->partitions.n++];
        op->partition_index = p;
        op->leader_id = mp->leader;
        op->leader_epoch = mp->leader_epoch;
        kb_meta_ids(&op->replica_nodes, &mp->replicas);
        kb_meta_ids(&op->isr_nodes, &mp->isr);
        kb_meta_ids(&op->offline_replicas, &mp->offline);
        if (mp->leader < 0 || !kb_mdc_alive(s->mdc, mp->leader)) {
            op->error_code = KB_ERR_LEADER_NOT_AVAILABLE;
            op->leader_id = -1;
        } else if (ver == 0 && mp->offline.n > 0) {
            op->error_code = KB_ERR_REPLICA_NOT_AVAILABLE;
        }
    }
    return 0;
}

static void kb_meta_auto_created(void *ctx, int16_t err, const char *msg, const kb_admin_result *res)
{
    char *name = ctx;
    (void)res;
    if (err == 0)
        kz_info(KB_META_LOG, "Auto creation of topic %s with default settings succeeded", name);
    else if (err != KB_ERR_TOPIC_ALREADY_EXISTS)
        kz_warn(KB_META_LOG, "Auto creation of topic %s failed: %s", name, msg ? msg : "");
    free(name);
}

/* Kicks off the creation of @name with the broker defaults; returns the
 * error the topic's entry carries meanwhile. */
static int16_t kb_meta_auto_create(kb_server *s, const char *name)
{
    int16_t err = kb_admin_validate_topic_name(name, NULL, 0);
    if (err)
        return err;
    int nb = kb_mdc_broker_count(s->mdc);
    kb_assign_broker *bs = calloc((size_t)(nb ? nb : 1), sizeof *bs);
    char *ctx = strdup(name);
    if (!bs || !ctx) {
        free(bs);
        free(ctx);
        return KB_ERR_UNKNOWN_SERVER_ERROR;
    }
    for (int i = 0; i < nb; i++) {
        const kb_md_broker *b = kb_mdc_broker_at(s->mdc, i);
        bs[i] = (kb_assign_broker){ b->id, b->rack };
    }
    kb_admin_topic_spec spec = { .name = name, .num_partitions = -1, .replication_factor = -1 };
    kb_admin_create_topic(s->admin, &spec, bs, (size_t)nb, false, kb_meta_auto_created, ctx);
    free(bs);
    return KB_ERR_LEADER_NOT_AVAILABLE;
}

void kb_api_metadata(kb_server *s, kb_req *req, const void *body, int16_t ver)
{
    const kz_MetadataRequest *rq = body;
    kz_MetadataResponse *r = kz_arena_alloc(&req->arena, sizeof *r);
    if (!r || kb_meta_brokers(s, req, r) != 0)
        goto oom;
    r->cluster_id = kz_str_c(s->cluster_id[0] ? s->cluster_id : NULL);
    r->controller_id = kb_mdc_controller(s->mdc);
    r->cluster_authorized_operations = INT32_MIN;
    /* v0: an empty list means every topic; v1+: null does. */
    bool all = rq->topics.n < 0 || (ver == 0 && rq->topics.n == 0);
    if (all) {
        int n = kb_mdc_topic_count(s->mdc);
        r->topics.v = kz_arena_alloc(&req->arena, (size_t)(n ? n : 1) * sizeof *r->topics.v);
        if (!r->topics.v)
            goto oom;
        r->topics.n = n;
        for (int i = 0; i < n; i++)
            if (kb_meta_topic(s, req, kb_mdc_topic_at(s->mdc, i), ver, &r->topics.v[i]) != 0)
                goto oom;
        kb_req_reply(req, &kz_kmsg_MetadataResponse, ver, r);
        return;
    }
    int32_t n = rq->topics.n;
    r->topics.v = kz_arena_alloc(&req->arena, (size_t)(n ? n : 1) * sizeof *r->topics.v);
    if (!r->topics.v)
        goto oom;
    r->topics.n = n;
    bool may_create = s->cfg->auto_create_topics_enable && (ver < 4 || rq->allow_auto_topic_creation);
    for (int32_t i = 0; i < n; i++) {
        kz_str name = rq->topics.v[i].name;
        kz_MetadataResponseTopic *o = &r->topics.v[i];
        o->name = name;
        o->topic_authorized_operations = INT32_MIN;
        o->partitions.n = 0;
        const kb_md_topic *t = name.len >= 0 ? kb_mdc_topic(s->mdc, name.s, name.len) : NULL;
        if (t) {
            if (kb_meta_topic(s, req, t, ver, o) != 0)
                goto oom;
            continue;
        }
        kz_str z = kz_arena_strdup(&req->arena, name);
        if (name.len < 0 || !z.s) {
            o->error_code = KB_ERR_INVALID_TOPIC_EXCEPTION;
            continue;
        }
        if (kb_admin_validate_topic_name(z.s, NULL, 0) != 0)
            o->error_code = KB_ERR_INVALID_TOPIC_EXCEPTION;
        else if (may_create && !kb_meta_internal(z.s))
            o->error_code = kb_meta_auto_create(s, z.s);
        else
            o->error_code = KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    kb_req_reply(req, &kz_kmsg_MetadataResponse, ver, r);
    return;
oom:
    kb_req_close(req, "out of memory");
}

void kb_api_describe_cluster(kb_server *s, kb_req *req, const void *body, int16_t ver)
{
    (void)body;
    kz_DescribeClusterResponse *r = kz_arena_alloc(&req->arena, sizeof *r);
    const kb_md_broker **bs;
    const kb_md_ep **eps;
    int n = r ? kb_meta_visible(s, req, &bs, &eps) : -1;
    if (n < 0 || !(r->brokers.v = kz_arena_alloc(&req->arena, (size_t)(n ? n : 1) * sizeof *r->brokers.v))) {
        kb_req_close(req, "out of memory");
        return;
    }
    r->brokers.n = n;
    for (int i = 0; i < n; i++)
        r->brokers.v[i] = (kz_DescribeClusterBroker){ .broker_id = bs[i]->id, .port = eps[i]->port,
                                                      .host = kz_str_c(eps[i]->host ? eps[i]->host : ""),
                                                      .rack = kz_str_c(bs[i]->rack) };
    r->error_message = KZ_STR_NULL;
    r->cluster_id = kz_str_c(s->cluster_id);
    r->controller_id = kb_mdc_controller(s->mdc);
    r->cluster_authorized_operations = INT32_MIN;
    kb_req_reply(req, &kz_kmsg_DescribeClusterResponse, ver, r);
}
