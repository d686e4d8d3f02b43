/* broker/kb_rm_int.h -- the replica manager's state, shared by its files:
 *   kb_replica_mgr.c  hosted partitions, roles (LeaderAndIsr / StopReplica), appends
 *   kb_isr.c          the leader's follower table, ISR shrink/expand in ZooKeeper,
 *                     /isr_change_notification
 *   kb_fetcher.c      follower replica fetchers (their own state, reached through @fetchers)
 * Locality: broker loop thread only. */
#ifndef KB_RM_INT_H
#define KB_RM_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "kb_fetcher.h"
#include "kb_replica_mgr.h"
#include "kz_map.h"

struct event;

/* One partition whose ISR changed, not yet announced. */
typedef struct kb_isr_chg {
    char *topic;
    int32_t partition;
} kb_isr_chg;

struct kb_rm {
    kb_server *s;
    kz_map by_hash;        /* hash(topic, partition) -> kb_part chain */
    kb_part **all;
    int n;
    size_t cap;
    kb_rm_append_fn *on_append;
    void *on_append_ctx;
    kb_fetchers *fetchers;

    kb_part *notify_head;  /* partitions waiting for kb_rm_notify_later's turn */
    struct event *notify_ev;

    struct event *isr_expire_ev;  /* every replica.lag.time.max.ms / 2 */
    struct event *isr_prop_ev;    /* every 2.5 s: announce ISR changes */
    kb_isr_chg *chg;
    size_t nchg, capchg;
    int64_t last_chg_ms, last_prop_ms;
};

void kb_isr_free(kb_rm *rm);
bool kb_ids_has(const kb_md_ids *ids, int32_t id);
/* "1,2,3" (Kafka's mkString(",")) into @buf. */
const char *kb_ids_str(const kb_md_ids *ids, char *buf, size_t n);

#endif
