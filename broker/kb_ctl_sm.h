/* broker/kb_ctl_sm.h -- the controller's partition and replica state machines
 * and the pure decisions behind them (leader election, ISR changes), as
 * Kafka 2.8's PartitionStateMachine / ReplicaStateMachine /
 * PartitionLeaderElectionAlgorithms decide them. Nothing here touches
 * ZooKeeper or the network: kb_ctl feeds in what it read and writes out
 * what these functions return.
 *
 * Partition states:
 *
 *     NonExistent --> New --> Online <--> Offline --> NonExistent
 *                      |        ^  |__ Online (re-election)   ^
 *                      +--------+-------> Offline ------------+
 *
 *   New:      assignment known, no leader/ISR znode yet
 *   Online:   state znode written with a live leader
 *   Offline:  its leader died (or none could be elected)
 *   NonExistent: deleted (only from Offline, as the deletion path goes)
 *
 * Replica states (one per (partition, broker)):
 *
 *     NonExistent -> New -> Online <-> Offline -> DeletionStarted
 *                                ^        |            |      \
 *                                +-- DeletionIneligible <-+    DeletionSuccessful -> NonExistent
 *
 * The tables kb_ctl_part_ok / kb_ctl_repl_ok hold every legal edge (Kafka's
 * validPreviousStates); callers assert before they move.
 *
 * Invariants of a partition's leader/ISR (kb_ctl_lai_check): the ISR has no
 * duplicates and is a subset of the replicas; a leader >= 0 is in the ISR;
 * the ISR is never empty once written.
 * Locality: pure functions, any thread. */
#ifndef KB_CTL_SM_H
#define KB_CTL_SM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Replicas per partition the controller handles (a larger assignment is
 * refused when read). */
#define KB_CTL_MAX_RF 32

/* Leader sentinels of Kafka's LeaderAndIsr. */
#define KB_CTL_NO_LEADER (-1)
#define KB_CTL_LEADER_DURING_DELETE (-2)
#define KB_CTL_EPOCH_DURING_DELETE (-2)

typedef enum kb_ctl_pstate {
    KB_PS_NONEXISTENT, KB_PS_NEW, KB_PS_ONLINE, KB_PS_OFFLINE, KB_PS__N
} kb_ctl_pstate;

typedef enum kb_ctl_rstate {
    KB_RS_NONEXISTENT, KB_RS_NEW, KB_RS_ONLINE, KB_RS_OFFLINE,
    KB_RS_DEL_STARTED, KB_RS_DEL_OK, KB_RS_DEL_INELIGIBLE, KB_RS__N
} kb_ctl_rstate;

extern const bool kb_ctl_part_ok[KB_PS__N][KB_PS__N];  /* [from][to] */
extern const bool kb_ctl_repl_ok[KB_RS__N][KB_RS__N];
/* Kafka's names: "NewPartition", "OnlineReplica", ... */
const char *kb_ctl_pstate_name(kb_ctl_pstate s);
const char *kb_ctl_rstate_name(kb_ctl_rstate s);

/* A list of broker ids (replicas or ISR), in order. */
typedef struct kb_ctl_ids {
    int32_t n;
    int32_t v[KB_CTL_MAX_RF];
} kb_ctl_ids;

/* What a partition's state znode holds, plus its znode version
 * (LeaderIsrAndControllerEpoch with zkVersion). */
typedef struct kb_ctl_lai {
    int32_t leader;
    int32_t leader_epoch;
    int32_t ctl_epoch;   /* epoch of the controller that wrote it */
    int32_t zk_version;  /* of the state znode; 0 right after creation */
    kb_ctl_ids isr;
} kb_ctl_lai;

/* The live brokers: ids sorted ascending. */
typedef struct kb_ctl_live {
    const int32_t *ids;
    size_t n;
} kb_ctl_live;

bool kb_ctl_live_has(const kb_ctl_live *live, int32_t id);
bool kb_ctl_ids_has(const kb_ctl_ids *ids, int32_t id);

/* New -> Online (initializeLeaderAndIsrForPartitions): the live replicas in
 * assignment order become the ISR, the first of them the leader, leader
 * epoch 0, controller epoch @ctl_epoch, zk version 0. Returns false (and
 * leaves @out alone) when no replica is live: the partition stays New. */
bool kb_ctl_elect_new(const kb_ctl_ids *replicas, const kb_ctl_live *live, int32_t ctl_epoch,
                      kb_ctl_lai *out);

/* Offline/Online -> Online with the offline-partition strategy: the first
 * replica in assignment order that is live and in the ISR; failing that,
 * when @unclean, the first live replica. The new ISR is the old ISR without
 * dead brokers if the leader came from it, else just the leader (unclean).
 * Leader epoch + 1, controller epoch @ctl_epoch, zk version unchanged (the
 * write is conditional on it). Returns false when no leader can be elected
 * (the partition stays or goes Offline, nothing is written). *@unclean_used
 * (if non-NULL) tells whether an out-of-sync replica was chosen. */
bool kb_ctl_elect_offline(const kb_ctl_ids *replicas, const kb_ctl_lai *cur, const kb_ctl_live *live,
                          bool unclean, int32_t ctl_epoch, kb_ctl_lai *out, bool *unclean_used);

/* Preferred replica election: the first replica of the assignment when it is
 * live, in the ISR and not already leader. Same ISR, leader epoch + 1.
 * Returns false when nothing should change. */
bool kb_ctl_elect_preferred(const kb_ctl_ids *replicas, const kb_ctl_lai *cur, const kb_ctl_live *live,
                            int32_t ctl_epoch, kb_ctl_lai *out);

/* Online -> Online for a partition led by a broker that is shutting down
 * (ControlledShutdownPartitionLeaderElectionStrategy): the first replica in
 * assignment order that is live, not shutting down and in the ISR (@live
 * holds the live brokers that are not shutting down); the new ISR is the old
 * one without the brokers of @shutting. Leader epoch + 1, controller epoch
 * @ctl_epoch, zk version unchanged. Returns false when no replica qualifies
 * (the partition keeps its leader). */
bool kb_ctl_elect_cshut(const kb_ctl_ids *replicas, const kb_ctl_lai *cur, const kb_ctl_live *live,
                        const kb_ctl_live *shutting, int32_t ctl_epoch, kb_ctl_lai *out);

/* Whether the preferred replica (the first of @replicas) could lead now:
 * live and in the ISR (canPreferredReplicaBeLeader). */
bool kb_ctl_preferred_eligible(const kb_ctl_ids *replicas, const kb_ctl_lai *cur, const kb_ctl_live *live);

/* Leader imbalance of one broker (checkAndTriggerAutoLeaderRebalance):
 * @not_led of the @total partitions whose preferred replica it is are led by
 * another broker. *@ratio = not_led / total (0 when @total is 0). Returns
 * whether the ratio exceeds @percentage / 100, i.e. a preferred election of
 * those partitions is due. */
bool kb_ctl_imbalanced(int32_t not_led, int32_t total, int32_t percentage, double *ratio);

/* Replica -> Offline (removeReplicasFromIsr): when @broker is in the ISR, the
 * ISR loses it unless it is the last member (Kafka keeps the last ISR so
 * that the partition can come back clean), and a leader equal to @broker
 * becomes -1. Leader epoch + 1. Returns false when @broker is not in the ISR
 * (nothing to write). */
bool kb_ctl_isr_remove(const kb_ctl_lai *cur, int32_t broker, int32_t ctl_epoch, kb_ctl_lai *out);

/* Invariants of a leader/ISR against its replicas; NULL when they hold, else
 * what is wrong ("leader 4 not in ISR"). */
const char *kb_ctl_lai_check(const kb_ctl_lai *lai, const kb_ctl_ids *replicas);

/* "1,2,3" into @buf (Kafka's mkString(",")), for log lines. */
const char *kb_ctl_ids_str(const int32_t *v, int32_t n, char *buf, size_t len);

#endif
