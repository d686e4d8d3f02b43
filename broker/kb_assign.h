/* broker/kb_assign.h -- Kafka's default replica assignment
 * (AdminUtils.assignReplicasToBrokers of Kafka 2.8), rack-unaware and
 * rack-aware.
 *
 * Rack-unaware, over brokers sorted by id (n of them):
 *   partition p (counting from the first new partition id) has its first
 *   replica at index (p + start) % n; the shift s starts at a value of its
 *   own and grows by one each time p reaches a multiple of n (p > 0); the
 *   j-th follower (j = 0..rf-2) is at (first + 1 + (s + j) % (n - 1)) % n.
 *   So followers never repeat and the first replicas (preferred leaders) are
 *   spread round-robin.
 * Rack-aware (every broker has a rack): the brokers are re-ordered to
 *   alternate racks (racks sorted by name, brokers of a rack by id, one from
 *   each rack in turn), then the same walk with the shift multiplied by the
 *   number of racks, skipping a candidate whose rack already holds a replica
 *   (while some rack holds none) or that already holds one (while some broker
 *   holds none).
 * Kafka picks start and shift at random in [0, n); the _fixed variant takes
 * them from the caller (tests, and Kafka's fixedStartIndex which sets both).
 *
 * Pure functions; no state. Locality: any thread. */
#ifndef KB_ASSIGN_H
#define KB_ASSIGN_H

#include <stddef.h>
#include <stdint.h>

/* A live broker as the assignment sees it. @rack NULL = none. */
typedef struct kb_assign_broker {
    int32_t id;
    const char *rack;
} kb_assign_broker;

enum {
    KB_ASSIGN_OK = 0,
    KB_ASSIGN_EBAD_RF = -1,      /* rf <= 0, or rf > number of brokers */
    KB_ASSIGN_EBAD_PARTS = -2,   /* nparts <= 0 */
    KB_ASSIGN_ENO_RACK = -3,     /* some brokers have a rack and some do not */
    KB_ASSIGN_ENOMEM = -4,
};

/* Random start and shift in [0, n) (from the process PRNG seeded once). The
 * result is written to @out: nparts rows of rf broker ids, row-major
 * (out[p * rf + j] = replica j of partition first_part + p); @out must hold
 * nparts * rf entries. @first_part is the id of the first partition to place
 * (0 for a new topic, the current count when adding partitions); it only
 * moves the walk, as Kafka's startPartitionId. @brokers need not be sorted.
 * Returns KB_ASSIGN_OK or a negative KB_ASSIGN_E*. */
int kb_assign_replicas(const kb_assign_broker *brokers, size_t nbrokers, int32_t nparts,
                       int32_t rf, int32_t first_part, int32_t *out);

/* As kb_assign_replicas with start index @start and initial shift @shift
 * (each >= 0; Kafka's fixedStartIndex sets both to the same value). */
int kb_assign_replicas_fixed(const kb_assign_broker *brokers, size_t nbrokers, int32_t nparts,
                             int32_t rf, int32_t first_part, int32_t start, int32_t shift,
                             int32_t *out);

/* The index of the first broker (in id order) whose id is >= @id, or 0 when
 * none: AdminZkClient's start index when adding partitions (it keeps the
 * round-robin going from partition 0's first replica). */
int32_t kb_assign_start_index(const kb_assign_broker *brokers, size_t nbrokers, int32_t id);

/* Kafka's message for an error of kb_assign_replicas ("Replication factor: 3
 * larger than available brokers: 1.") written into @buf. */
const char *kb_assign_strerror(int err, int32_t rf, size_t nbrokers, char *buf, size_t len);

#endif
