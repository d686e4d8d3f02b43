/* broker/kb_replica_mgr.c -- hosted partitions, their roles and high
 * watermarks (see kb_replica_mgr.h). */
#include "kb_replica_mgr.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "kb_dyncfg.h"
#include "kb_log.h"
#include "kb_log_mgr.h"
#include "kb_network.h"
#include "kb_rm_int.h"
#include "kb_server.h"
#include "kz_log.h"
#include "kz_map.h"
#include "kz_time.h"
#include "kz_vec.h"

#define KB_RM_LOG "kafka.server.ReplicaManager"

static int64_t kb_rm_hash(const char *t, int32_t len, int32_t p)
{
    uint64_t h = 1469598103934665603ULL;
    for (int32_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)t[i]) * 1099511628211ULL;
    h = (h ^ (uint32_t)p) * 1099511628211ULL;
    return (int64_t)h;
}

static void kb_rm_on_notify(evutil_socket_t fd, short what, void *arg)
{
    kb_rm *rm = arg;
    (void)fd;
    (void)what;
    while (rm->notify_head) {
        kb_part *p = rm->notify_head;
        rm->notify_head = p->notify_next;
        p->notify_next = NULL;
        p->notify_queued = false;
        if (rm->on_append)
            rm->on_append(rm->on_append_ctx, p);
    }
}

void kb_rm_notify_later(kb_rm *rm, kb_part *p)
{
    if (p->notify_queued)
        return;
    p->notify_queued = true;
    p->notify_next = rm->notify_head;
    rm->notify_head = p;
    event_active(rm->notify_ev, EV_TIMEOUT, 0);
}

static void kb_rm_unqueue(kb_rm *rm, kb_part *p)
{
    for (kb_part **pp = &rm->notify_head; *pp; pp = &(*pp)->notify_next)
        if (*pp == p) {
            *pp = p->notify_next;
            break;
        }
    p->notify_queued = false;
}

kb_rm *kb_rm_new(kb_server *s)
{
    kb_rm *rm = calloc(1, sizeof *rm);
    if (!rm)
        return NULL;
    rm->s = s;
    rm->notify_ev = event_new(s->base, -1, 0, kb_rm_on_notify, rm);
    rm->fetchers = kb_fetchers_new(s, rm);
    if (!rm->notify_ev || !rm->fetchers) {
        kb_rm_free(rm);
        return NULL;
    }
    return rm;
}

static void kb_part_free(kb_part *p)
{
    free(p->topic);
    free(p->replicas.v);
    free(p->isr.v);
    free(p->followers);
    free(p);
}

void kb_rm_free(kb_rm *rm)
{
    if (!rm)
        return;
    kb_fetchers_free(rm->fetchers); /* first: no fetch completion reaches a partition after this */
    kb_isr_free(rm);
    for (int i = 0; i < rm->n; i++)
        kb_part_free(rm->all[i]);
    free(rm->all);
    kz_map_free(&rm->by_hash);
    if (rm->notify_ev)
        event_free(rm->notify_ev);
    free(rm);
}

void kb_rm_set_append_listener(kb_rm *rm, kb_rm_append_fn *fn, void *ctx)
{
    rm->on_append = fn;
    rm->on_append_ctx = ctx;
}

kb_part *kb_rm_get(kb_rm *rm, const char *topic, int32_t len, int32_t partition)
{
    uint64_t v;
    if (len < 0 || !kz_map_get(&rm->by_hash, kb_rm_hash(topic, len, partition), &v))
        return NULL;
    for (kb_part *p = (kb_part *)(uintptr_t)v; p; p = p->hnext)
        if (p->index == partition && (int32_t)strlen(p->topic) == len && memcmp(p->topic, topic, (size_t)len) == 0)
            return p;
    return NULL;
}

int kb_rm_count(const kb_rm *rm) { return rm->n; }
kb_part *kb_rm_at(kb_rm *rm, int i) { return rm->all[i]; }

int64_t kb_part_leo(const kb_part *p) { return kb_log_end_offset(p->log); }
int64_t kb_part_log_start(const kb_part *p) { return kb_log_start_offset(p->log); }

static int kb_rm_add(kb_rm *rm, kb_part *p)
{
    if (KZ_VEC_RESERVE(rm->all, rm->cap, (size_t)rm->n + 1, 64) != 0)
        return KZ_ENOMEM;
    int64_t h = kb_rm_hash(p->topic, (int32_t)strlen(p->topic), p->index);
    uint64_t head = 0;
    kz_map_get(&rm->by_hash, h, &head);
    p->hnext = (kb_part *)(uintptr_t)head;
    if (kz_map_put(&rm->by_hash, h, (uint64_t)(uintptr_t)p) != 0)
        return KZ_ENOMEM;
    rm->all[rm->n++] = p;
    return 0;
}

static void kb_rm_remove(kb_rm *rm, kb_part *p)
{
    int64_t h = kb_rm_hash(p->topic, (int32_t)strlen(p->topic), p->index);
    uint64_t head = 0;
    kz_map_get(&rm->by_hash, h, &head);
    kb_part *first = (kb_part *)(uintptr_t)head;
    if (first == p)
        first = p->hnext;
    else
        for (kb_part *it = first; it && it->hnext; it = it->hnext)
            if (it->hnext == p) {
                it->hnext = p->hnext;
                break;
            }
    if (first)
        kz_map_put(&rm->by_hash, h, (uint64_t)(uintptr_t)first);
    else
        kz_map_del(&rm->by_hash, h, NULL);
    for (int i = 0; i < rm->n; i++)
        if (rm->all[i] == p) {
            rm->all[i] = rm->all[--rm->n];
            break;
        }
}

static int kb_ids_copy(kb_md_ids *dst, const kz_kai32 *src)
{
    free(dst->v);
    dst->v = NULL;
    dst->n = 0;
    if (src->n <= 0)
        return 0;
    if (!(dst->v = malloc((size_t)src->n * sizeof(int32_t))))
        return KZ_ENOMEM;
    memcpy(dst->v, src->v, (size_t)src->n * sizeof(int32_t));
    dst->n = src->n;
    return 0;
}

int16_t kb_rm_become(kb_rm *rm, kz_str topic, const kz_uuid *topic_id,
                     const kz_LeaderAndIsrPartitionState *ps, const kb_rm_leader_ep *ep)
{
    kb_server *s = rm->s;
    kb_part *p = kb_rm_get(rm, topic.s, topic.len, ps->partition_index);
    if (p && ps->leader_epoch <= p->leader_epoch) {
        kz_info(KB_RM_LOG, "[Broker id=%d] Ignoring LeaderAndIsr request from controller for partition "
                "%s-%d since its associated leader epoch %d is not higher than the current leader epoch %d",
                s->broker_id, p->topic, p->index, ps->leader_epoch, p->leader_epoch);
        return 11; /* STALE_CONTROLLER_EPOCH, as Kafka answers */
    }
    if (!p) {
        p = calloc(1, sizeof *p);
        if (!p || !(p->topic = strndup(topic.s, (size_t)topic.len))) {
            free(p);
            return -1;
        }
        p->index = ps->partition_index;
        p->leader_epoch = -1;
        char err[256];
        if (kb_log_mgr_get_or_create(s->logs, p->topic, p->index, &p->log, err, sizeof err) != 0) {
            kz_error(KB_RM_LOG, "[Broker id=%d] Error creating log for %s-%d: %s", s->broker_id, p->topic,
                     p->index, err);
            kb_part_free(p);
            return 56; /* KAFKA_STORAGE_ERROR */
        }
        p->hw = kb_log_high_watermark(p->log); /* from replication-offset-checkpoint */
        if (p->hw < kb_log_start_offset(p->log))
            p->hw = kb_log_start_offset(p->log);
        kb_dyncfg_load_topic(s->dyncfg, p->topic);
        if (kb_rm_add(rm, p) != 0) {
            kb_part_free(p);
            return -1;
        }
    }
    if (topic_id)
        p->topic_id = *topic_id;
    bool was_leader = p->is_leader;
    int32_t prev_epoch = p->leader_epoch;
    p->leader = ps->leader;
    p->leader_epoch = ps->leader_epoch;
    p->zk_version = ps->zk_version;
    p->controller_epoch = ps->controller_epoch;
    p->is_leader = ps->leader == s->broker_id;
    if (kb_ids_copy(&p->replicas, &ps->replicas) || kb_ids_copy(&p->isr, &ps->isr))
        return -1;
    int64_t leo = kb_log_end_offset(p->log);
    char isrs[256];
    if (p->is_leader) {
        kb_fetchers_remove(rm->fetchers, p);
        if (p->hw > leo)
            p->hw = leo;
        /* Kafka 2.8's makeLeader: this epoch starts at our LEO, in the epoch cache too, so
         * that followers asking for the previous epoch's end learn where it stopped. */
        p->epoch_start_offset = leo;
        kb_log_assign_epoch(p->log, p->leader_epoch, leo);
        if (kb_part_reset_followers(p, s->broker_id, was_leader) != 0)
            return -1;
        kb_part_update_hw(p);
        kz_info("kafka.cluster.Partition", "[Partition %s-%d broker=%d] Leader %s-%d starts at leader epoch "
                "%d from offset %lld with high watermark %lld ISR [%s]. Previous leader epoch was %d.",
                p->topic, p->index, s->broker_id, p->topic, p->index, p->leader_epoch, (long long)leo,
                (long long)p->hw, kb_ids_str(&p->isr, isrs, sizeof isrs), prev_epoch);
    } else {
        free(p->followers);
        p->followers = NULL;
        p->nfollowers = 0;
        p->isr_writing = false;
        if (ps->leader >= 0 && ep && ep->host) {
            if (kb_fetchers_add(rm->fetchers, p, ps->leader, ep->host, ep->port) != 0)
                return -1;
            kz_info(KB_RM_LOG, "[Broker id=%d] Follower %s-%d starts at leader epoch %d from offset %lld "
                    "with high watermark %lld. Previous leader epoch was %d. Current leader is %d.",
                    s->broker_id, p->topic, p->index, p->leader_epoch, (long long)leo, (long long)p->hw,
                    prev_epoch, p->leader);
        } else {
            kb_fetchers_remove(rm->fetchers, p);
            kz_warn(KB_RM_LOG, "[Broker id=%d] Follower %s-%d has no live leader (leader %d) at leader "
                    "epoch %d: not fetching", s->broker_id, p->topic, p->index, ps->leader, p->leader_epoch);
        }
    }
    if (rm->on_append)
        rm->on_append(rm->on_append_ctx, p); /* waiters re-check: the role changed */
    return 0;
}

int16_t kb_rm_stop(kb_rm *rm, kz_str topic, int32_t partition, bool delete)
{
    kb_part *p = kb_rm_get(rm, topic.s, topic.len, partition);
    if (!p)
        return 0;
    p->is_leader = false;
    kb_fetchers_remove(rm->fetchers, p);
    if (rm->on_append)
        rm->on_append(rm->on_append_ctx, p);
    kb_rm_unqueue(rm, p);
    kb_rm_remove(rm, p);
    if (delete) {
        kz_info(KB_RM_LOG, "[Broker id=%d] Deleting log of %s-%d", rm->s->broker_id, p->topic, p->index);
        kb_log_mgr_delete(rm->s->logs, p->log);
        p->log = NULL;
    }
    kb_part_free(p);
    return 0;
}

int16_t kb_rm_append(kb_rm *rm, kb_part *p, uint8_t *buf, size_t len, int64_t *base_offset,
                     int64_t *append_time)
{
    kb_log_append_info info;
    int64_t now = kz_wall_ms();
    int rc = kb_log_append(p->log, buf, len, p->leader_epoch, now, &info);
    if (rc != 0) {
        kz_error(KB_RM_LOG, "[Broker id=%d] Error appending to %s-%d: %s", rm->s->broker_id, p->topic,
                 p->index, kb_log_strerror(rc));
        return 56; /* KAFKA_STORAGE_ERROR */
    }
    *base_offset = info.first_offset;
    *append_time = now;
    kb_part_update_hw(p);
    if (rm->on_append)
        rm->on_append(rm->on_append_ctx, p);
    return 0;
}
