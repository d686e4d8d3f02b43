/* broker/kb_api_ctl.c -- the controller's requests to this broker:
 * LeaderAndIsr (4), StopReplica (5), UpdateMetadata (6).
 *
 * Fencing (NOTES.md 6): a request from a controller epoch older than the
 * newest one seen is refused with STALE_CONTROLLER_EPOCH; from the versions
 * that carry it, a broker epoch older than our registration's czxid (-1 is
 * "unknown" and accepted) with STALE_BROKER_EPOCH.
 * Locality: broker loop thread only. */
#include <stdlib.h>
#include <string.h>

#include "kb_apis.h"
#include "kb_replica_mgr.h"
#include "kz_kmsgs.h"
#include "kz_log.h"

#define KB_CTLREQ_LOG "state.change.logger"

/* Common checks; returns the top-level error code. */
static int16_t kb_ctlreq_fence(kb_server *s, const char *what, int32_t ctl_id, int32_t ctl_epoch,
                               int64_t broker_epoch)
{
    if (ctl_epoch < s->controller_epoch) {
        kz_warn(KB_CTLREQ_LOG, "[Broker id=%d] Ignoring %s request from controller %d with correlation "
                "epoch %d since its controller epoch is older than %d", s->broker_id, what, ctl_id,
                ctl_epoch, s->controller_epoch);
        return KB_ERR_STALE_CONTROLLER_EPOCH;
    }
    if (broker_epoch != -1 && broker_epoch < s->broker_epoch) {
        kz_info(KB_CTLREQ_LOG, "[Broker id=%d] Ignoring %s request from controller %d: broker epoch "
                "%lld is older than the current broker epoch %lld", s->broker_id, what, ctl_id,
                (long long)broker_epoch, (long long)s->broker_epoch);
        return KB_ERR_STALE_BROKER_EPOCH;
    }
    s->controller_epoch = ctl_epoch;
    return 0;
}

static bool kb_ctlreq_hosts(const kz_kai32 *replicas, int32_t id)
{
    for (int32_t i = 0; i < replicas->n; i++)
        if (replicas->v[i] == id)
            return true;
    return false;
}

/* Where a follower of a partition led by @leader fetches from: the request's
 * live leaders list (host copied into @buf); host NULL when absent. */
static kb_rm_leader_ep kb_ctlreq_leader(const kz_LeaderAndIsrRequest *rq, int32_t leader, char *buf, size_t n)
{
    for (int32_t i = 0; i < rq->live_leaders.n; i++) {
        const kz_LeaderAndIsrLiveLeader *l = &rq->live_leaders.v[i];
        if (l->broker_id != leader || l->host_name.len <= 0 || (size_t)l->host_name.len >= n)
            continue;
        memcpy(buf, l->host_name.s, (size_t)l->host_name.len);
        buf[l->host_name.len] = '\0';
        return (kb_rm_leader_ep){ buf, l->port };
    }
    return (kb_rm_leader_ep){ NULL, -1 };
}

void kb_api_leader_and_isr(kb_server *s, kb_req *req, const void *body, int16_t ver)
{
    char host[256];
    kb_rm_leader_ep ep;
    const kz_LeaderAndIsrRequest *rq = body;
    kz_LeaderAndIsrResponse *r = kz_arena_alloc(&req->arena, sizeof *r);
    if (!r)
        goto oom;
    r->error_code = kb_ctlreq_fence(s, "LeaderAndIsr", rq->controller_id, rq->controller_epoch,
                                    ver >= 2 ? rq->broker_epoch : -1);
    int32_t total = rq->ungrouped_partition_states.n > 0 ? rq->ungrouped_partition_states.n : 0;
    for (int32_t t = 0; t < rq->topic_states.n; t++)
        total += rq->topic_states.v[t].partition_states.n > 0 ? rq->topic_states.v[t].partition_states.n : 0;
    kz_LeaderAndIsrPartitionError *errs = kz_arena_alloc(&req->arena, (size_t)(total ? total : 1) * sizeof *errs);
    kz_LeaderAndIsrTopicError *terrs =
        kz_arena_alloc(&req->arena, (size_t)(rq->topic_states.n > 0 ? rq->topic_states.n : 1) * sizeof *terrs);
    if (!errs || !terrs)
        goto oom;
    int32_t k = 0;
    if (r->error_code == 0) {
        for (int32_t i = 0; i < rq->ungrouped_partition_states.n; i++) {
            const kz_LeaderAndIsrPartitionState *ps = &rq->ungrouped_partition_states.v[i];
            if (!kb_ctlreq_hosts(&ps->replicas, s->broker_id))
                continue;
            errs[k] = (kz_LeaderAndIsrPartitionError){ .topic_name = ps->topic_name,
                                                       .partition_index = ps->partition_index };
            ep = kb_ctlreq_leader(rq, ps->leader, host, sizeof host);
            errs[k++].error_code = kb_rm_become(s->rm, ps->topic_name, NULL, ps, &ep);
        }
        for (int32_t t = 0; t < rq->topic_states.n; t++) {
            const kz_LeaderAndIsrTopicState *ts = &rq->topic_states.v[t];
            kz_LeaderAndIsrTopicError *te = &terrs[t];
            te->topic_id = ts->topic_id;
            te->partition_errors.v = &errs[k];
            te->partition_errors.n = 0;
            for (int32_t i = 0; i < ts->partition_states.n; i++) {
                const kz_LeaderAndIsrPartitionState *ps = &ts->partition_states.v[i];
                if (!kb_ctlreq_hosts(&ps->replicas, s->broker_id))
                    continue;
                errs[k] = (kz_LeaderAndIsrPartitionError){ .topic_name = ts->topic_name,
                                                           .partition_index = ps->partition_index };
                ep = kb_ctlreq_leader(rq, ps->leader, host, sizeof host);
                errs[k++].error_code = kb_rm_become(s->rm, ts->topic_name, ver >= 5 ? &ts->topic_id : NULL, ps, &ep);
                te->partition_errors.n++;
            }
        }
    }
    r->partition_errors.n = k;
    r->partition_errors.v = errs;
    r->topics.n = r->error_code == 0 && rq->topic_states.n > 0 ? rq->topic_states.n : 0;
    r->topics.v = terrs;
    kb_req_reply(req, &kz_kmsg_LeaderAndIsrResponse, ver, r);
    return;
oom:
    kb_req_close(req, "out of memory");
}

void kb_api_update_metadata(kb_server *s, kb_req *req, const void *body, int16_t ver)
{
    const kz_UpdateMetadataRequest *rq = body;
    kz_UpdateMetadataResponse *r = kz_arena_alloc(&req->arena, sizeof *r);
    if (!r) {
        kb_req_close(req, "out of memory");
        return;
    }
    r->error_code = kb_ctlreq_fence(s, "UpdateMetadata", rq->controller_id, rq->controller_epoch,
                                    ver >= 5 ? rq->broker_epoch : -1);
    if (r->error_code == 0) {
        if (kb_mdc_update(s->mdc, rq, ver) != 0)
            r->error_code = KB_ERR_UNKNOWN_SERVER_ERROR;
        kb_server_metadata_changed(s);
    }
    kb_req_reply(req, &kz_kmsg_UpdateMetadataResponse, ver, r);
}

void kb_api_stop_replica(kb_server *s, kb_req *req, const void *body, int16_t ver)
{
    const kz_StopReplicaRequest *rq = body;
    kz_StopReplicaResponse *r = kz_arena_alloc(&req->arena, sizeof *r);
    if (!r)
        goto oom;
    r->error_code = kb_ctlreq_fence(s, "StopReplica", rq->controller_id, rq->controller_epoch,
                                    ver >= 1 ? rq->broker_epoch : -1);
    int32_t total = rq->ungrouped_partitions.n > 0 ? rq->ungrouped_partitions.n : 0;
    for (int32_t t = 0; t < rq->topics.n; t++)
        total += rq->topics.v[t].partition_indexes.n > 0 ? rq->topics.v[t].partition_indexes.n : 0;
    for (int32_t t = 0; t < rq->topic_states.n; t++)
        total += rq->topic_states.v[t].partition_states.n > 0 ? rq->topic_states.v[t].partition_states.n : 0;
    kz_StopReplicaPartitionError *errs = kz_arena_alloc(&req->arena, (size_t)(total ? total : 1) * sizeof *errs);
    if (!errs)
        goto oom;
    int32_t k = 0;
    if (r->error_code == 0) {
        for (int32_t i = 0; i < rq->ungrouped_partitions.n; i++) {
            const kz_StopReplicaPartitionV0 *p = &rq->ungrouped_partitions.v[i];
            errs[k] = (kz_StopReplicaPartitionError){ .topic_name = p->topic_name, .partition_index = p->partition_index };
            errs[k++].error_code = kb_rm_stop(s->rm, p->topic_name, p->partition_index, rq->delete_partitions);
        }
        for (int32_t t = 0; t < rq->topics.n; t++) {
            const kz_StopReplicaTopicV1 *tp = &rq->topics.v[t];
            for (int32_t i = 0; i < tp->partition_indexes.n; i++) {
                errs[k] = (kz_StopReplicaPartitionError){ .topic_name = tp->name,
                                                          .partition_index = tp->partition_indexes.v[i] };
                errs[k++].error_code = kb_rm_stop(s->rm, tp->name, tp->partition_indexes.v[i], rq->delete_partitions);
            }
        }
        for (int32_t t = 0; t < rq->topic_states.n; t++) {
            const kz_StopReplicaTopicState *ts = &rq->topic_states.v[t];
            for (int32_t i = 0; i < ts->partition_states.n; i++) {
                const kz_StopReplicaPartitionState *ps = &ts->partition_states.v[i];
                errs[k] = (kz_StopReplicaPartitionError){ .topic_name = ts->topic_name,
                                                          .partition_index = ps->partition_index };
                kb_part *p = kb_rm_get(s->rm, ts->topic_name.s, ts->topic_name.len, ps->partition_index);
                /* v3: only a newer epoch, or the sentinels -1 (none) and -2 (deletion), stop us. */
                if (p && ps->leader_epoch >= 0 && ps->leader_epoch <= p->leader_epoch)
                    errs[k++].error_code = KB_ERR_FENCED_LEADER_EPOCH;
                else
                    errs[k++].error_code = kb_rm_stop(s->rm, ts->topic_name, ps->partition_index, ps->delete_partition);
            }
        }
    }
    r->partition_errors.n = k;
    r->partition_errors.v = errs;
    kb_req_reply(req, &kz_kmsg_StopReplicaResponse, ver, r);
    return;
oom:
    kb_req_close(req, "out of memory");
}
