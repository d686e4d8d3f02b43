/* broker/kb_api_produce.c -- Produce (0).
 *
 * Per partition: find the partition (UNKNOWN_TOPIC_OR_PARTITION /
 * NOT_LEADER_OR_FOLLOWER), validate the record set (kz_records: CRC-32C,
 * sizes against message.max.bytes, record structure; v0-v2 message sets are
 * converted to RecordBatch v2 first), check min.insync.replicas for acks=-1,
 * append (offsets and leader epoch assigned in place, no recompression).
 * acks=0 gets no response at all; if a partition failed the connection is
 * closed instead, so the client notices, as Kafka does. acks=-1 waits until
 * the high watermark passes the appended records or the request times out,
 * without blocking the loop; the request is parked meanwhile (kb_req_park),
 * so a producer's next requests on the connection go on being appended.
 * Locality: broker loop thread only. */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "kb_apis.h"
#include "kb_dyncfg.h"
#include "kb_replica_mgr.h"
#include "kz_batch.h"
#include "kz_kmsgs.h"
#include "kz_log.h"
#include "kz_records.h"
#include "kz_time.h"

#define KB_PRODUCE_LOG "kafka.server.ReplicaManager"

/* A produce with acks=-1 waiting for its partitions' high watermarks. */
struct kb_delayed_produce {
    kb_server *s;
    kb_req *req;
    int16_t ver;
    kz_ProduceResponse *resp;
    int64_t *required;           /* per response partition: hw needed, -1 = done */
    kb_part **parts;
    kz_PartitionProduceResponse **outs;
    int32_t n;
    struct event *timer;
    struct kb_delayed_produce *next;
};
typedef struct kb_delayed_produce kb_delayed_produce;

static void kb_produce_reply(kb_delayed_produce *d, bool timed_out)
{
    int32_t k = 0;
    for (int32_t t = 0; t < d->resp->responses.n; t++) {
        kz_TopicProduceResponse *tr = &d->resp->responses.v[t];
        for (int32_t i = 0; i < tr->partition_responses.n; i++, k++)
            if (d->required[k] >= 0 && timed_out)
                tr->partition_responses.v[i].error_code = KB_ERR_REQUEST_TIMED_OUT;
    }
    for (kb_delayed_produce **pp = &d->s->produce_waiting; *pp; pp = &(*pp)->next)
        if (*pp == d) {
            *pp = d->next;
            break;
        }
    if (d->timer)
        event_free(d->timer);
    /* last: @d lives in the request's arena, which the reply releases */
    kb_req_reply(d->req, &kz_kmsg_ProduceResponse, d->ver, d->resp);
}

/* Kafka's checkEnoughReplicasReachOffset per waiting partition: done once the high watermark
 * passed its records (NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR shrank below
 * min.insync.replicas meanwhile), or at once with NOT_LEADER_OR_FOLLOWER when this broker
 * stopped leading it: the records may never be replicated, so they are not acknowledged. */
static bool kb_produce_satisfied(kb_delayed_produce *d)
{
    bool all = true;
    for (int32_t k = 0; k < d->n; k++) {
        if (d->required[k] < 0)
            continue;
        kb_part *p = d->parts[k];
        if (!p->is_leader) {
            d->outs[k]->error_code = KB_ERR_NOT_LEADER_OR_FOLLOWER;
        } else if (p->hw >= d->required[k]) {
            const kb_topic_cfg *tc = kb_dyncfg_topic(d->s->dyncfg, p->topic, (int32_t)strlen(p->topic));
            if (p->isr.n < tc->min_insync_replicas)
                d->outs[k]->error_code = KB_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND;
        } else {
            all = false;
            continue;
        }
        d->required[k] = -1;
        d->parts[k] = NULL;
    }
    return all;
}

static void kb_produce_on_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    kb_produce_reply(arg, true);
}

/* Called when any partition's high watermark may have moved. A partition
 * that went away (StopReplica) is detected by the role check. */
void kb_produce_check_delayed(kb_server *s, kb_part *p)
{
    kb_delayed_produce *d = s->produce_waiting, *next;
    for (; d; d = next) {
        next = d->next;
        bool mine = false;
        for (int32_t k = 0; k < d->n && !mine; k++)
            mine = d->parts[k] == p;
        if (!mine)
            continue;
        if (kb_produce_satisfied(d))
            kb_produce_reply(d, false);
    }
}

/* Validates and appends one partition's records; fills @o. Returns the hw
 * needed for acks=-1, or -1 when nothing to wait for. */
static int64_t kb_produce_partition(kb_server *s, const kz_ProduceRequest *rq, int16_t ver, kz_str topic,
                                    const kz_PartitionProduceData *pd, kz_PartitionProduceResponse *o,
                                    kb_part **out_part, kb_req *req)
{
    o->index = pd->index;
    o->base_offset = -1;
    o->log_append_time_ms = -1;
    o->log_start_offset = -1;
    o->error_message = KZ_STR_NULL;
    *out_part = NULL;
    kb_part *p = kb_rm_get(s->rm, topic.s, topic.len, pd->index);
    if (!p || !p->is_leader) {
        o->error_code = p || kb_mdc_part(s->mdc, topic.s, topic.len, pd->index)
                            ? KB_ERR_NOT_LEADER_OR_FOLLOWER : KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        return -1;
    }
    kz_str recs = pd->records.mem;
    if (recs.len <= 0) {
        o->error_code = ver >= 8 ? KB_ERR_INVALID_RECORD : KB_ERR_CORRUPT_MESSAGE;
        return -1;
    }
    uint8_t *buf = (uint8_t *)recs.s; /* the frame is ours: batches are rewritten in place */
    size_t len = (size_t)recs.len;
    const kb_topic_cfg *tc = kb_dyncfg_topic(s->dyncfg, topic.s, topic.len);
    kz_rv_opts vo = KZ_RV_OPTS_INIT;
    vo.max_batch_size = (size_t)tc->max_message_bytes;
    vo.now_ms = kz_wall_ms();
    vo.log_append_time = tc->message_timestamp_type == KB_TS_LOG_APPEND_TIME;
    vo.ts_diff_max_ms = tc->message_timestamp_difference_max_ms;
    vo.compacted = (tc->cleanup & KB_CLEANUP_COMPACT) != 0;
    vo.produce_version = ver;
    kz_rv_info val;
    int16_t err = (int16_t)kz_records_validate(buf, len, &vo, &val);
    if (err == 0 && val.magic < 2) {
        /* Message sets of old producers become RecordBatch v2 (format 2.8). */
        kz_wr conv = KZ_WR_INIT;
        kz_upconv_opts uo = { .now_ms = vo.now_ms, .log_append_time = vo.log_append_time };
        err = (int16_t)kz_records_up_convert(buf, len, &uo, &conv);
        if (err == 0) {
            uint8_t *mem = kz_arena_alloc(&req->arena, conv.len);
            if (!mem)
                err = KB_ERR_UNKNOWN_SERVER_ERROR;
            else {
                memcpy(mem, conv.base, conv.len);
                buf = mem;
                len = conv.len;
            }
        }
        kz_wr_free(&conv);
    }
    if (err != 0) {
        o->error_code = err;
        kz_debug(KB_PRODUCE_LOG, "[Broker id=%d] Rejected produce to %s-%d: error %d", s->broker_id,
                 p->topic, p->index, err);
        return -1;
    }
    int32_t min_isr = tc->min_insync_replicas;
    if (rq->acks == -1 && p->isr.n < min_isr) {
        o->error_code = KB_ERR_NOT_ENOUGH_REPLICAS;
        return -1;
    }
    if (vo.log_append_time) {
        /* LogAppendTime topics: the broker's clock becomes every batch's max
         * timestamp (the CRC covers it, so each batch is re-summed). */
        kz_batch_hdr h;
        for (size_t at = 0; at < len && kz_batch_peek(buf + at, len - at, 0, &h) == KZ_BATCH_OK;
             at += kz_batch_size(&h))
            if (h.magic == 2)
                kz_batch_set_log_append_time(buf + at, kz_batch_size(&h), vo.now_ms);
    }
    int64_t base, ts;
    o->error_code = kb_rm_append(s->rm, p, buf, len, &base, &ts);
    if (o->error_code)
        return -1;
    o->base_offset = base;
    if (vo.log_append_time)
        o->log_append_time_ms = vo.now_ms;
    o->log_start_offset = kb_part_log_start(p);
    *out_part = p;
    int64_t end = kb_part_leo(p);
    return rq->acks == -1 && p->hw < end ? end : -1;
}

void kb_api_produce(kb_server *s, kb_req *req, const void *body, int16_t ver)
{
    const kz_ProduceRequest *rq = body;
    kz_ProduceResponse *r = kz_arena_alloc(&req->arena, sizeof *r);
    int32_t total = 0;
    for (int32_t t = 0; t < rq->topic_data.n; t++)
        total += rq->topic_data.v[t].partition_data.n > 0 ? rq->topic_data.v[t].partition_data.n : 0;
    /* The waiting state lives in the request's arena: no allocation of its own. */
    kb_delayed_produce *d = kz_arena_alloc(&req->arena, sizeof *d);
    if (d) {
        d->required = kz_arena_alloc(&req->arena, (size_t)(total ? total : 1) * sizeof *d->required);
        d->parts = kz_arena_alloc(&req->arena, (size_t)(total ? total : 1) * sizeof *d->parts);
        d->outs = kz_arena_alloc(&req->arena, (size_t)(total ? total : 1) * sizeof *d->outs);
    }
    if (!r || !d || !d->required || !d->parts || !d->outs)
        goto oom;
    r->responses.n = rq->topic_data.n > 0 ? rq->topic_data.n : 0;
    r->responses.v = kz_arena_alloc(&req->arena, (size_t)(r->responses.n ? r->responses.n : 1) * sizeof *r->responses.v);
    if (!r->responses.v)
        goto oom;
    bool acks_ok = rq->acks == 0 || rq->acks == 1 || rq->acks == -1;
    bool failed = false, wait = false;
    int32_t k = 0;
    for (int32_t t = 0; t < r->responses.n; t++) {
        const kz_TopicProduceData *td = &rq->topic_data.v[t];
        kz_TopicProduceResponse *tr = &r->responses.v[t];
        tr->name = td->name;
        tr->partition_responses.n = td->partition_data.n > 0 ? td->partition_data.n : 0;
        tr->partition_responses.v = kz_arena_alloc(
            &req->arena, (size_t)(tr->partition_responses.n ? tr->partition_responses.n : 1) * sizeof *tr->partition_responses.v);
        if (!tr->partition_responses.v)
            goto oom;
        for (int32_t i = 0; i < tr->partition_responses.n; i++, k++) {
            kz_PartitionProduceResponse *o = &tr->partition_responses.v[i];
            d->required[k] = -1;
            d->outs[k] = o;
            if (!acks_ok) {
                o->index = td->partition_data.v[i].index;
                o->error_code = KB_ERR_INVALID_REQUIRED_ACKS;
                o->base_offset = o->log_append_time_ms = o->log_start_offset = -1;
                failed = true;
                continue;
            }
            d->required[k] = kb_produce_partition(s, rq, ver, td->name, &td->partition_data.v[i], o,
                                                  &d->parts[k], req);
            failed |= o->error_code != 0;
            wait |= d->required[k] >= 0;
        }
    }
    if (rq->acks == 0) {
        if (failed)
            kb_req_close(req, "produce with acks=0 failed");
        else
            kb_req_finish(req);
        return;
    }
    d->s = s;
    d->req = req;
    d->ver = ver;
    d->resp = r;
    d->n = total;
    if (!wait) {
        kb_produce_reply(d, false);
        return;
    }
    int32_t timeout = rq->timeout_ms > 0 ? rq->timeout_ms : 0;
    struct timeval tv = { timeout / 1000, (timeout % 1000) * 1000 };
    d->timer = evtimer_new(s->base, kb_produce_on_timeout, d);
    if (!d->timer)
        goto oom;
    evtimer_add(d->timer, &tv);
    d->next = s->produce_waiting;
    s->produce_waiting = d;
    kb_req_park(req); /* the connection's next produces append and replicate meanwhile */
    return;
oom:
    kb_req_close(req, "out of memory");
}

/* Shutdown: forget waiting produces (their connections are closed already). */
void kb_produce_drop_all(kb_server *s)
{
    while (s->produce_waiting) {
        kb_delayed_produce *d = s->produce_waiting;
        s->produce_waiting = d->next;
        if (d->timer)
            event_free(d->timer);
        kb_req_finish(d->req); /* releases @d with the request's arena */
    }
}
