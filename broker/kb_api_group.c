/* broker/kb_api_group.c -- FindCoordinator (10).
 *
 * A group's coordinator is the leader of partition
 * abs(javaHashCode(group)) % offsets.topic.num.partitions of
 * __consumer_offsets. The first lookup creates that topic (compacted,
 * offsets.topic.replication.factor replicas, as Kafka's
 * createInternalTopic), and until its partitions have leaders the answer is
 * COORDINATOR_NOT_AVAILABLE, which clients retry. With fewer live brokers
 * than the replication factor the topic is not created, with Kafka's message.
 * Transaction coordinators (key type 1) are not available on this broker.
 * Locality: broker loop thread only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kb_admin.h"
#include "kb_apis.h"
#include "kz_json.h"
#include "kz_kmsgs.h"
#include "kz_log.h"

#define KB_GRP_LOG "kafka.server.KafkaApis"
#define KB_OFFSETS_TOPIC "__consumer_offsets"
#define KB_ERR_COORDINATOR_NOT_AVAILABLE 15

/* Kafka's Utils.abs: abs(INT_MIN) is 0 there, not INT_MIN. */
static int32_t kb_grp_abs(int32_t v) { return v == INT32_MIN ? 0 : v < 0 ? -v : v; }

static void kb_grp_created(void *ctx, int16_t err, const char *msg, const kb_admin_result *res)
{
    kb_server *s = ctx;
    (void)res;
    s->offsets_topic_creating = false;
    if (err != 0 && err != KB_ERR_TOPIC_ALREADY_EXISTS)
        kz_warn(KB_GRP_LOG, "[KafkaApi-%d] Auto creation of topic %s failed: %s", s->broker_id,
                KB_OFFSETS_TOPIC, msg ? msg : "");
}

/* Starts creating __consumer_offsets; returns a message when it cannot be. */
static const char *kb_grp_create_offsets_topic(kb_server *s, char *buf, size_t len)
{
    int nb = kb_mdc_broker_count(s->mdc);
    int16_t rf = s->cfg->offsets_topic_replication_factor;
    if (nb < rf) {
        snprintf(buf, len, "Number of alive brokers '%d' does not meet the required replication factor "
                 "'%d' for the offsets topic (configured via 'offsets.topic.replication.factor'). This "
                 "error can be ignored if the cluster is starting up and not all brokers are up yet.",
                 nb, rf);
        return buf;
    }
    if (s->offsets_topic_creating)
        return NULL;
    kb_assign_broker *bs = calloc((size_t)nb, sizeof *bs);
    if (!bs)
        return "out of memory";
    for (int i = 0; i < nb; i++) {
        const kb_md_broker *b = kb_mdc_broker_at(s->mdc, i);
        bs[i] = (kb_assign_broker){ b->id, b->rack };
    }
    char seg[24];
    snprintf(seg, sizeof seg, "%d", s->cfg->offsets_topic_segment_bytes);
    kb_cfg_pair cfgs[] = { { "cleanup.policy", "compact" }, { "compression.type", "producer" },
                           { "segment.bytes", seg } };
    kb_admin_topic_spec spec = { .name = KB_OFFSETS_TOPIC,
                                 .num_partitions = s->cfg->offsets_topic_num_partitions,
                                 .replication_factor = rf, .n_configs = 3, .configs = cfgs };
    s->offsets_topic_creating = true;
    kb_admin_create_topic(s->admin, &spec, bs, (size_t)nb, false, kb_grp_created, s);
    free(bs);
    return NULL;
}

void kb_api_find_coordinator(kb_server *s, kb_req *req, const void *body, int16_t ver)
{
    const kz_FindCoordinatorRequest *rq = body;
    kz_FindCoordinatorResponse *r = kz_arena_alloc(&req->arena, sizeof *r);
    if (!r) {
        kb_req_close(req, "out of memory");
        return;
    }
    r->node_id = -1;
    r->port = -1;
    r->host = (kz_str){ "", 0 };
    r->error_message = KZ_STR_NULL;
    if (rq->key_type != 0) {
        r->error_code = rq->key_type == 1 ? KB_ERR_COORDINATOR_NOT_AVAILABLE : KB_ERR_INVALID_REQUEST;
        kb_req_reply(req, &kz_kmsg_FindCoordinatorResponse, ver, r);
        return;
    }
    kz_str key = kz_arena_strdup(&req->arena, rq->key);
    const kb_md_topic *t = kb_mdc_topic(s->mdc, KB_OFFSETS_TOPIC, (int32_t)strlen(KB_OFFSETS_TOPIC));
    r->error_code = KB_ERR_COORDINATOR_NOT_AVAILABLE;
    if (!t) {
        char msg[384];
        const char *why = kb_grp_create_offsets_topic(s, msg, sizeof msg);
        if (why)
            r->error_message = kz_arena_strdup(&req->arena, kz_str_c(why));
        kb_req_reply(req, &kz_kmsg_FindCoordinatorResponse, ver, r);
        return;
    }
    int32_t n = t->nparts > 0 ? t->nparts : 1;
    int32_t p = kb_grp_abs(kz_json_java_hash(key.s ? key.s : "")) % n;
    const kb_md_part *mp = kb_mdc_part(s->mdc, KB_OFFSETS_TOPIC, (int32_t)strlen(KB_OFFSETS_TOPIC), p);
    const kb_md_broker *b = mp && mp->leader >= 0 ? kb_mdc_broker(s->mdc, mp->leader) : NULL;
    const kb_md_ep *ep = b ? kb_mdc_endpoint(b, req->listener ? req->listener : "PLAINTEXT") : NULL;
    if (ep) {
        r->error_code = 0;
        r->node_id = b->id;
        r->host = kz_str_c(ep->host ? ep->host : "");
        r->port = ep->port;
    }
    kb_req_reply(req, &kz_kmsg_FindCoordinatorResponse, ver, r);
}
