/* broker/kb_api_epoch.c -- OffsetsForLeaderEpoch (23), versions 0-4.
 *
 * A follower asks where a leader epoch ended in the leader's log, to know where to truncate
 * its own before fetching (KIP-101, KIP-279); a consumer asks the same to detect truncation
 * after a leader change (KIP-320). Each partition is answered from the leader epoch cache of
 * the log (kb_log_end_offset_for_epoch): (largest known epoch <= the one asked, the offset where
 * the next epoch starts, or the LEO for the latest epoch), or (-1, -1) when unknown.
 *
 * Checks per partition, in Kafka 2.8's order (ReplicaManager.lastOffsetForLeaderEpoch,
 * Partition.getLocalLog):
 *   not hosted here      -> UNKNOWN_TOPIC_OR_PARTITION when the metadata cache does not know
 *                           the partition, else NOT_LEADER_OR_FOLLOWER;
 *   log failed           -> KAFKA_STORAGE_ERROR (Kafka's offline partition);
 *   current_leader_epoch (v2+, -1 = no check) older than ours -> FENCED_LEADER_EPOCH, newer ->
 *                           UNKNOWN_LEADER_EPOCH (as Fetch and ListOffsets);
 *   not the leader       -> NOT_LEADER_OR_FOLLOWER, whatever replica_id says: Kafka 2.8 always
 *                           asks for the leader here (fetchOnlyFromLeader = true), also for the
 *                           debugging replica id -2 that v0-v2 requests decode to.
 * v0 responses carry no leader epoch (the schema drops it); throttle_time_ms is 0.
 * Locality: broker loop thread only. */
#include <string.h>

#include "kb_apis.h"
#include "kb_log.h"
#include "kb_replica_mgr.h"
#include "kz_kmsgs.h"

/* The answer for one partition of @topic. */
static void kb_epoch_answer(kb_server *s, kz_str topic, const kz_OffsetForLeaderPartition *rp, int16_t ver,
                            kz_OffsetForLeaderEpochResponseEpochEndOffset *o)
{
    memset(o, 0, sizeof *o);
    o->partition = rp->partition;
    o->leader_epoch = -1;
    o->end_offset = -1;
    kb_part *p = kb_rm_get(s->rm, topic.s, topic.len, rp->partition);
    if (!p || !p->log) {
        o->error_code = p || kb_mdc_part(s->mdc, topic.s, topic.len, rp->partition)
                            ? KB_ERR_NOT_LEADER_OR_FOLLOWER : KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    if (kb_log_error(p->log) != 0) {
        o->error_code = KB_ERR_KAFKA_STORAGE_ERROR;
        return;
    }
    if (ver >= 2 && rp->current_leader_epoch >= 0 && rp->current_leader_epoch != p->leader_epoch) {
        o->error_code = rp->current_leader_epoch < p->leader_epoch ? KB_ERR_FENCED_LEADER_EPOCH
                                                                   : KB_ERR_UNKNOWN_LEADER_EPOCH;
        return;
    }
    if (!p->is_leader) {
        o->error_code = KB_ERR_NOT_LEADER_OR_FOLLOWER;
        return;
    }
    kb_log_end_offset_for_epoch(p->log, rp->leader_epoch, &o->leader_epoch, &o->end_offset);
}

void kb_api_offsets_for_leader_epoch(kb_server *s, kb_req *req, const void *body, int16_t ver)
{
    const kz_OffsetForLeaderEpochRequest *rq = body;
    kz_OffsetForLeaderEpochResponse *r = kz_arena_alloc(&req->arena, sizeof *r);
    if (!r)
        goto oom;
    memset(r, 0, sizeof *r);
    r->throttle_time_ms = 0;
    r->topics.n = rq->topics.n > 0 ? rq->topics.n : 0;
    r->topics.v = kz_arena_alloc(&req->arena, (size_t)(r->topics.n ? r->topics.n : 1) * sizeof *r->topics.v);
    if (!r->topics.v)
        goto oom;
    for (int32_t t = 0; t < r->topics.n; t++) {
        const kz_OffsetForLeaderTopic *rt = &rq->topics.v[t];
        kz_OffsetForLeaderTopicResult *tr = &r->topics.v[t];
        memset(tr, 0, sizeof *tr);
        tr->topic = rt->topic;
        tr->partitions.n = rt->partitions.n > 0 ? rt->partitions.n : 0;
        tr->partitions.v =
            kz_arena_alloc(&req->arena, (size_t)(tr->partitions.n ? tr->partitions.n : 1) * sizeof *tr->partitions.v);
        if (!tr->partitions.v)
            goto oom;
        for (int32_t i = 0; i < tr->partitions.n; i++)
            kb_epoch_answer(s, rt->topic, &rt->partitions.v[i], ver, &tr->partitions.v[i]);
    }
    kb_req_reply(req, &kz_kmsg_OffsetForLeaderEpochResponse, ver, r);
    return;
oom:
    kb_req_close(req, "out of memory");
}
