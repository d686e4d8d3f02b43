/* coordinator/zkd_sync.h -- the sync thread: group commit of txn-log appends.
 *
 * The loop thread hands serialized txns to zkd_sync_append (in zxid order,
 * ownership moves to the sync thread). The sync thread takes everything
 * queued at once, appends it to the txn log (zkd_txnlog) with one write,
 * fdatasync()s once for the whole batch (unless forceSync=no), and posts the
 * highest zxid now durable back to the loop through an eventfd registered
 * on the loop's event_base. The durable callback therefore runs ON THE LOOP
 * THREAD, with strictly increasing zxids; several batches may be reported
 * by one call with the highest of them.
 *
 *   loop thread                       sync thread
 *   zkd_sync_append --> queue (mutex) --> txnlog append, write, fdatasync
 *   durable(ctx, zxid) <-- eventfd <-- durable_zxid = max of the batch
 *
 * An I/O error (write, preallocation, fdatasync) is fatal for durability,
 * as in ZooKeeper: it is logged at ERROR, every later txn is dropped, and
 * the callback is called with zxid -1 (after reporting what was durable
 * before the error) so the server can exit.
 * zkd_sync_roll queues a marker: the next txn after it starts a new log
 * file (called when a snapshot starts).
 * Locality: every function here is for the loop thread. The callback may
 * call zkd_sync_append/roll but not zkd_sync_stop. */
#ifndef ZKD_SYNC_H
#define ZKD_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
typedef struct zkd_sync zkd_sync;

typedef void zkd_sync_durable_fn(void *ctx, int64_t zxid);

/* Fsync latency in ms, as ZooKeeper's fsynctime metric (count 0 when
 * forceSync is off or nothing was synced yet). */
typedef struct zkd_sync_stats {
    int64_t count;     /* fdatasync calls */
    double last_ms, min_ms, max_ms, avg_ms;
    int64_t batches;   /* flushes */
    int64_t txns;      /* txns written */
} zkd_sync_stats;

/* Starts the thread. @log_dir: <dataLogDir>/version-2 (exists, recovered);
 * @prealloc_bytes: preAllocSize KiB * 1024; @force_sync: forceSync (fdatasync
 * per batch). Returns NULL on failure (logged). */
zkd_sync *zkd_sync_start(struct event_base *base, const char *log_dir, int64_t prealloc_bytes,
                         bool force_sync, zkd_sync_durable_fn *durable, void *ctx);

/* Queues @txn (malloc'd, ownership taken on success and failure) as the
 * entry for @zxid. Returns 0, or -EIO once the log has failed, -EINVAL for
 * an empty txn, -ENOMEM. */
int zkd_sync_append(zkd_sync *s, int64_t zxid, uint8_t *txn, size_t len);

/* The next appended txn starts a new log file. */
void zkd_sync_roll(zkd_sync *s);

/* Txns queued but not yet reported durable (for stats/backpressure). */
size_t zkd_sync_pending(zkd_sync *s);

void zkd_sync_get_stats(zkd_sync *s, zkd_sync_stats *out);

/* Writes and syncs everything queued, joins the thread, reports the last
 * durable zxid through the callback (synchronously, here), closes the log
 * and frees @s. NULL-safe. */
void zkd_sync_stop(zkd_sync *s);

#endif
