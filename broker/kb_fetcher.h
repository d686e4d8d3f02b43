/* broker/kb_fetcher.h -- follower replica fetchers (Kafka's ReplicaFetcherManager and
 * ReplicaFetcherThread, on the broker's loop instead of threads).
 *
 * Partitions this broker follows are spread over fetchers by (leader, fetcher id), the id
 * being a hash of (topic, partition) modulo num.replica.fetchers; each fetcher is one
 * kb_client connection to its leader with one request in flight. A partition moves through
 *
 *     TRUNCATE --OffsetsForLeaderEpoch--> FETCH --OFFSET_OUT_OF_RANGE--> RESET --ListOffsets--> FETCH
 *        ^  (repeats while the leader's epoch is unknown here)                 |
 *        +------------------ kb_fetchers_add (every new leader epoch) ---------+
 *
 * TRUNCATE: the latest epoch of the local leader epoch cache is sent; the answer (epoch E, end
 * offset X) truncates the log to min(X, local end of E) when E is known here, else to the
 * local end of the largest epoch below E and asks again. Without any local epoch the log is
 * truncated to the high watermark (Kafka's rule for logs without epochs).
 * FETCH: Fetch v12 from the log end offset with replica.fetch.* limits; whole batches are
 * CRC-checked and appended with their offsets and epochs; the follower's high watermark
 * becomes min(leader's, LEO); the log start follows the leader's.
 * RESET (the leader's log does not hold our LEO): to the leader's LEO when that is smaller
 * (the log is truncated), else to the leader's log start when ours is behind it (the log
 * starts over there).
 * Errors (not leader, fenced or unknown epoch, storage) pause the partition for
 * replica.fetch.backoff.ms; a lost connection pauses all of the fetcher's partitions.
 * Locality: broker loop thread only. */
#ifndef KB_FETCHER_H
#define KB_FETCHER_H

#include <stdbool.h>
#include <stdint.h>

typedef struct kb_server kb_server;
typedef struct kb_part kb_part;
typedef struct kb_rm kb_rm;
typedef struct kb_fetchers kb_fetchers;

kb_fetchers *kb_fetchers_new(kb_server *s, kb_rm *rm);
/* Closes every connection; no completion touches a partition afterwards. NULL-safe. */
void kb_fetchers_free(kb_fetchers *f);

/* @p (a follower) replicates from broker @leader at @host:@port from now on, starting with
 * truncation. Re-adding a partition restarts it (a response already under way is ignored).
 * Returns 0 or KZ_ENOMEM. */
int kb_fetchers_add(kb_fetchers *f, kb_part *p, int32_t leader, const char *host, int32_t port);
/* Stops replicating @p (leader now, stopped, or no leader). No-op when not fetching. */
void kb_fetchers_remove(kb_fetchers *f, kb_part *p);

/* Where a follower truncates (Kafka's getOffsetTruncationState): the leader answered
 * OffsetsForLeaderEpoch with (@leader_epoch, @leader_end) for our latest epoch; @mine_epoch /
 * @mine_end are our own cache's answer for @leader_epoch (-1/-1 when unknown); @leo and @hw are
 * ours. done = false: truncate, then ask again with the (now lower) latest epoch. */
typedef struct kb_trunc {
    int64_t offset;
    bool done;
} kb_trunc;
kb_trunc kb_fetcher_truncation(int32_t leader_epoch, int64_t leader_end, int32_t mine_epoch, int64_t mine_end,
                               int64_t leo, int64_t hw);

/* Partitions being fetched, and fetchers (connections) open. */
int kb_fetchers_count(const kb_fetchers *f, int *nconn);

#endif
