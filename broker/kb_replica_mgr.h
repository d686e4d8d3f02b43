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
struct kb_part {
    char *topic;
    int32_t index;
    kz_uuid topic_id;
    kb_log *log;
    bool is_leader;
    int32_t leader, leader_epoch, zk_version, controller_epoch;
    kb_md_ids replicas, isr;       /* owned copies */
    int64_t hw;
    int32_t nfollowers;            /* replicas other than us: their LEOs below */
    int32_t *follower_ids;
    int64_t *follower_leo;
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

/* Applies one partition state of a LeaderAndIsr request whose replicas
 * include this broker: creates the log when missing, and becomes leader or
 * follower if the leader epoch is newer than ours. Returns a Kafka error
 * code for the partition (0, STALE_CONTROLLER_EPOCH for an epoch that is not
 * newer, KAFKA_STORAGE_ERROR when the log cannot be created). */
int16_t kb_rm_become(kb_rm *rm, kz_str topic, const kz_uuid *topic_id,
                     const kz_LeaderAndIsrPartitionState *ps);

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

#endif
