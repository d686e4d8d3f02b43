/* broker/kb_replica_mgr.h -- the partitions this broker hosts (Kafka's
 * ReplicaManager + Partition): each with its log, its role (leader or
 * follower) with leader epoch, ISR and replicas as the controller last set
 * them through LeaderAndIsr, and its high watermark.
 *
 * Partition role, per LeaderAndIsr (only a newer leader epoch changes it):
 *
 *     (none) --LeaderAndIsr--> leader | follower --StopReplica--> (none)
 *                                 ^  \______/  |
 *                                 +--newer epoch+
 *
 * High watermark: on a leader, the smallest log end offset among the ISR
 * members (the leader's own LEO when it is alone in the ISR); consumers see
 * only offsets below it. Followers' LEOs are reported by their fetches.
 * Locality: broker loop thread only. */
#ifndef KB_REPLICA_MGR_H
#define KB_REPLICA_MGR_H

#include <stdbool.h>
#include <stdint.h>

#include "kb_metadata_cache.h"
#include "kz_kmsgs.h"

typedef struct kb_server kb_server;
typedef struct kb_log kb_log;
typedef struct kb_rm kb_rm;

typedef struct kb_part kb_part;
struct kb_fetcher;

/* What a leader knows of one follower (Kafka's Replica): its log end offset
 * as its last fetch reported it (-1 until it fetches), and the times that
 * decide ISR membership. A follower is "caught up" at a fetch that asks for
 * the leader's LEO, or for at least the LEO the leader had at the follower's
 * previous fetch (then at that previous fetch's time). */
typedef struct kb_follower {
    int32_t id;
    int64_t leo;
    int64_t caught_up_ms;           /* kz_mono_ms of the last time it was caught up */
    int64_t last_fetch_ms;
    int64_t last_fetch_leader_leo;  /* the leader's LEO at its last fetch */
} kb_follower;

struct kb_part {
    char *topic;
    int32_t index;
    kz_uuid topic_id;
    kb_log *log;
    bool is_leader;
    int32_t leader, leader_epoch, zk_version, controller_epoch;
    kb_md_ids replicas, isr;       /* owned copies */
    int64_t hw;
    int64_t epoch_start_offset;    /* leader: the LEO when it became leader in this epoch */
    int32_t nfollowers;            /* leader: replicas other than us */
    kb_follower *followers;
    bool isr_writing;              /* leader: an ISR update to ZooKeeper is in flight */
    bool notify_queued;            /* on the replica manager's notify list */
    kb_part *notify_next;
    struct kb_fetcher *fetcher;    /* follower: the fetcher that replicates it, NULL when none */
    kb_part *hnext;
};

/* Called after every successful append to a partition this broker leads, and
 * after the high watermark moved: delayed fetches and produces re-check. */
typedef void kb_rm_append_fn(void *ctx, kb_part *p);

kb_rm *kb_rm_new(kb_server *s);
void kb_rm_free(kb_rm *rm);
void kb_rm_set_append_listener(kb_rm *rm, kb_rm_append_fn *fn, void *ctx);

kb_part *kb_rm_get(kb_rm *rm, const char *topic, int32_t len, int32_t partition);
int kb_rm_count(const kb_rm *rm);
kb_part *kb_rm_at(kb_rm *rm, int i);

/* Where a follower fetches from: the leader's endpoint as the LeaderAndIsr
 * request's live leaders list gives it (host NULL: the leader is not live). */
typedef struct kb_rm_leader_ep {
    const char *host;
    int32_t port;
} kb_rm_leader_ep;

/* Applies one partition state of a LeaderAndIsr request whose replicas
 * include this broker: creates the log when missing, and becomes leader or
 * follower if the leader epoch is newer than ours. A new leader records the
 * epoch's start offset in the leader epoch cache and starts tracking its
 * followers; a follower (re)starts fetching from @ep, truncating first.
 * Returns a Kafka error code for the partition (0, STALE_CONTROLLER_EPOCH
 * for an epoch that is not newer, KAFKA_STORAGE_ERROR when the log cannot be
 * created). */
int16_t kb_rm_become(kb_rm *rm, kz_str topic, const kz_uuid *topic_id,
                     const kz_LeaderAndIsrPartitionState *ps, const kb_rm_leader_ep *ep);

/* Stops hosting (StopReplica); with @delete also deletes the log. Returns a
 * Kafka error code (0 also when the partition was unknown). */
int16_t kb_rm_stop(kb_rm *rm, kz_str topic, int32_t partition, bool delete);

/* Appends validated v2 batches (@len bytes at @buf, rewritten in place) to a
 * partition this broker leads. Returns 0 with the first offset and append
 * time, or a Kafka error code. */
int16_t kb_rm_append(kb_rm *rm, kb_part *p, uint8_t *buf, size_t len, int64_t *base_offset,
                     int64_t *append_time);

/* Recomputes the high watermark from the ISR's log end offsets; true when it moved. */
bool kb_part_update_hw(kb_part *p);
int64_t kb_part_leo(const kb_part *p);
int64_t kb_part_log_start(const kb_part *p);

/* Queues @p for the append listener on a later loop turn (no re-entry into
 * the caller's iteration of waiting requests). */
void kb_rm_notify_later(kb_rm *rm, kb_part *p);

/* ---- leader side of replication (kb_isr.c) ---- */

/* A fetch from follower @replica asking for @fetch_offset (its log end
 * offset) arrived at the leader of @p: records it, adds the follower to the
 * ISR once it has caught up to the high watermark and this epoch's start,
 * and advances the high watermark (waiters are told on a later turn). A
 * replica id that is not a follower of @p is ignored. */
void kb_rm_follower_fetch(kb_rm *rm, kb_part *p, int32_t replica, int64_t fetch_offset);

/* Resets the follower table of a partition that just became leader (or
 * whose replicas changed): ISR members count as caught up now. */
int kb_part_reset_followers(kb_part *p, int32_t self, bool keep);

/* Leaders drop followers that have not been caught up within
 * replica.lag.time.max.ms from the ISR (runs every half of it). */
void kb_rm_isr_expire(kb_rm *rm);

/* Starts the ISR timers (expiry, change propagation). */
int kb_rm_isr_start(kb_rm *rm);

/* Records that this broker changed @p's ISR, for the next
 * /isr_change_notification znode. */
void kb_rm_isr_changed(kb_rm *rm, const kb_part *p);

#endif
