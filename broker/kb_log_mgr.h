/* broker/kb_log_mgr.h -- every partition log of the broker, across the directories of log.dirs
 * (LogManager.scala), and the per-directory files around them.
 *
 * Per log directory (formats: ../shared/spec/kafka/NOTES.md section 9, kb_checkpoint.h):
 *   .lock                               held with an exclusive lock while the broker runs
 *   meta.properties                     "#\n#<Date.toString()>\nbroker.id=N\nversion=0\ncluster.id=C\n"
 *                                       (java.util.Properties.store with an empty comment)
 *   recovery-point-offset-checkpoint    per partition: offset below which data was fsync()ed
 *   log-start-offset-checkpoint         per partition whose log start is above its first
 *                                       segment's base (DeleteRecords, retention)
 *   replication-offset-checkpoint       per partition: its high watermark (kb_log_set_high_
 *                                       watermark, kept current by the partition layer); read
 *                                       back into each log at open (0 when absent, clamped)
 *   .kafka_cleanshutdown                present after a clean shutdown; removed once loaded
 *   <topic>-<partition>/                one log (kb_log.h)
 *   <topic>-<partition>.<uuid>-delete/  a log being deleted: removed at open
 * Checkpoint entries are written sorted by topic, then partition.
 *
 * The lock is a write lock on the whole .lock file taken with fcntl(F_OFD_SETLK): it conflicts
 * with the fcntl lock that Kafka's FileChannel.tryLock takes, with another kafkad, and with a
 * second open in the same process (an open-file-description lock, unlike a classic POSIX one).
 *
 * Loading: with the marker present a directory's logs open without recovery; without it each
 * log recovers from its checkpointed recovery point. Leftover "-delete" directories are
 * removed, "-future" directories and names that are not <topic>-<partition> are left alone.
 * The same partition in two directories fails the open (KB_LOG_EDUP).
 *
 * Flushing: opened with an event_base, the manager owns a kb_flusher thread, and the periodic
 * calls never fsync on the loop thread: kb_log_mgr_checkpoint hands the rolled segments of
 * each log to the flusher (Kafka flushes a rolled segment on its scheduler thread), and
 * kb_log_mgr_flush_due does the same for the logs whose flush.ms has passed (active segment
 * included). A log's recovery point rises when its job has completed (the completion runs on
 * the loop), so every recovery-point checkpoint names only offsets that were fsynced; it lags
 * the roll by at most one checkpoint interval plus the sync. Deleting a log while its job is
 * pending is safe: the completion finds the log by (topic, partition, id) and ignores a log
 * that is gone. flush.messages stays synchronous in the append path (an explicit request
 * that the producing request waits for, as in Kafka). Opened without an event_base (tools,
 * tests) everything is synchronous, as before. kb_log_mgr_close always finishes the flusher's
 * jobs first, then flushes every log synchronously.
 * Locality: the broker loop thread (the one running @base); the flusher thread only syncs
 * duplicated descriptors. */
#ifndef KB_LOG_MGR_H
#define KB_LOG_MGR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kb_config.h"
#include "kb_flusher.h"
#include "kb_log.h"
#include "kb_topic_config.h"

struct event_base;

typedef struct kb_log_mgr kb_log_mgr;

#define KB_META_FILE "meta.properties"
#define KB_CLEAN_SHUTDOWN_FILE ".kafka_cleanshutdown"
#define KB_LOCK_FILE ".lock"
#define KB_RECOVERY_POINT_FILE "recovery-point-offset-checkpoint"
#define KB_LOG_START_FILE "log-start-offset-checkpoint"
#define KB_REPLICATION_OFFSET_FILE "replication-offset-checkpoint"
#define KB_CLEANER_OFFSET_FILE "cleaner-offset-checkpoint"

/* What meta.properties of the log directories said. */
typedef struct kb_log_mgr_meta {
    int ndirs_with_meta; /* directories that had the file */
    int32_t version;     /* 0 */
    int32_t broker_id;   /* -1 when absent */
    char cluster_id[64]; /* "" when absent */
} kb_log_mgr_meta;

/* Opens the @ndirs log directories (created when missing), locks them, reads meta.properties
 * (all present files must agree: KB_LOG_EMETA otherwise; version must be 0, the default when
 * missing) into *@meta when non-NULL (also kept for kb_log_mgr_get_meta), and loads every log with
 * @defaults. With @base, starts the flusher thread whose completions run on @base (the loop
 * that will call everything else); NULL @base: no thread, every flush is synchronous.
 * On failure returns a negative error with a one-line message in @err (e.g. "Failed to acquire
 * lock on file .lock in /d. A Kafka instance in another process or thread is using this
 * directory.") and releases everything. */
int kb_log_mgr_open(kb_log_mgr **out, struct event_base *base, const char *const *dirs, int ndirs,
                    const kb_log_cfg *defaults, kb_log_mgr_meta *meta, char *err, size_t errlen);

/* kb_log_mgr_open with the directories of log.dirs and the broker-level log defaults of @cfg
 * (kb_log_cfg_from_topic of the topic config with no override). */
int kb_log_mgr_open_cfg(kb_log_mgr **out, struct event_base *base, const kb_config *cfg, char *err,
                        size_t errlen);

/* What meta.properties said at open (borrowed). */
const kb_log_mgr_meta *kb_log_mgr_get_meta(const kb_log_mgr *m);

/* The log settings of an effective topic config (kb_topic_cfg_resolve). */
void kb_log_cfg_from_topic(kb_log_cfg *out, const kb_topic_cfg *tc);

/* Waits for the flusher's jobs (their completions run here) and stops its thread, flushes
 * every log, writes the checkpoints, closes the logs, writes the clean-shutdown marker in every
 * directory whose logs all flushed (a log whose background sync failed does not), releases the
 * locks, frees @m (NULL-safe). Returns 0 or the first error. Not from inside a loop callback
 * of the flusher (it runs the loop's pending completions itself). */
int kb_log_mgr_close(kb_log_mgr *m);

/* The log of @topic/@partition, or NULL. */
kb_log *kb_log_mgr_get(const kb_log_mgr *m, const char *topic, int32_t partition);

/* The existing log, or a new empty one in the directory holding the fewest logs (the first of
 * those on a tie) with the topic's configuration. On failure a one-line message goes to @err. */
int kb_log_mgr_get_or_create(kb_log_mgr *m, const char *topic, int32_t partition, kb_log **out, char *err,
                             size_t errlen);

/* Deletes @log (from kb_log_mgr_get; kb_log_delete frees it) and rewrites its directory's
 * checkpoints without it. KB_LOG_ENOENT when @log is not one of @m's. */
int kb_log_mgr_delete(kb_log_mgr *m, kb_log *log);

/* Per-topic configuration: @cfg replaces the broker defaults for @topic (NULL removes the
 * override) and is applied to its open logs at once. */
int kb_log_mgr_set_topic_cfg(kb_log_mgr *m, const char *topic, const kb_log_cfg *cfg);
/* Replaces the broker defaults; applied to every log without an override. */
void kb_log_mgr_set_defaults(kb_log_mgr *m, const kb_log_cfg *cfg);
/* The configuration a log of @topic gets (override or defaults); borrowed. */
const kb_log_cfg *kb_log_mgr_topic_cfg(const kb_log_mgr *m, const char *topic);

/* kb_log_retention on every log. Returns the segments deleted, or the first error. */
int kb_log_mgr_retention_all(kb_log_mgr *m, int64_t now_ms);
/* flush.ms: every log whose flush is due (kb_log_flush_is_due) is flushed, on the flusher
 * thread when there is one (recovery point = LEO of the time of the call, once synced), else
 * here (kb_log_flush_due). Returns 0 or the first error. */
int kb_log_mgr_flush_due(kb_log_mgr *m, int64_t now_ms);

/* Rolled segments above the recovery point: handed to the flusher thread when there is one
 * (one job per log at a time; the recovery point rises when it completes), else fsynced here
 * (kb_log_flush_rolled). Then, in every directory, recovery-point-offset-checkpoint,
 * log-start-offset-checkpoint and replication-offset-checkpoint with the values as they are.
 * Returns 0 or the first error. */
int kb_log_mgr_checkpoint(kb_log_mgr *m);

/* The flusher thread, or NULL when opened without an event_base (borrowed; for tests and
 * stats: kb_flusher_pending, kb_flusher_drain, kb_flusher_set_sync_fn). */
kb_flusher *kb_log_mgr_flusher(const kb_log_mgr *m);

/* Writes meta.properties (version 0, @broker_id, @cluster_id unless NULL) in every directory
 * that lacks one. Returns 0 or -errno with a message in @err. */
int kb_log_mgr_write_meta(kb_log_mgr *m, int32_t broker_id, const char *cluster_id, char *err, size_t errlen);

/* Iteration: for (size_t it = 0; (log = kb_log_mgr_next(m, &it)); ) ...; no create/delete
 * while iterating. */
kb_log *kb_log_mgr_next(const kb_log_mgr *m, size_t *it);
size_t kb_log_mgr_count(const kb_log_mgr *m);
int kb_log_mgr_ndirs(const kb_log_mgr *m);
/* Directory @i as resolved at open (realpath). */
const char *kb_log_mgr_dir(const kb_log_mgr *m, int i);
/* Whether directory @i had the clean-shutdown marker at open. */
bool kb_log_mgr_dir_was_clean(const kb_log_mgr *m, int i);

#endif
