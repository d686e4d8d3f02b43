/* broker/kb_log.h -- one partition replica's log: the segments of <log dir>/<topic>-<partition>/
 * (Log.scala).
 *
 * Offsets: log start offset (LSO) <= first offset readable; log end offset (LEO) = offset the
 * next appended record gets. The active segment is the last one; older segments never change
 * except by retention (whole segments go), truncation (replication) or recovery.
 *
 * Invariants (after every call):
 *   - segments are sorted by base offset; there is always at least one;
 *   - LEO = next offset of the active segment; log_start <= LEO;
 *   - recovery_point <= LEO: everything below it was fsync()ed (on-disk state that a crash
 *     cannot lose); opening after an unclean shutdown re-validates from there;
 *   - only the active segment has preallocated index files.
 *
 * Durability: segments are not fsync()ed on append unless flush.messages / flush.ms say so
 * (Kafka's default: replication is the durability). Rolling starts the writeback of the old
 * segment. Rolled segments become durable in one of two ways, both raising the recovery point
 * to the active segment's base only once their bytes were fsync()ed:
 *   - kb_log_flush_rolled(): fsync right here (no background thread, e.g. in tests);
 *   - kb_log_sync_begin() / kb_log_sync_done(): the log hands out duplicated descriptors of
 *     the segments, another thread fdatasync()s them, and the loop thread reports the result,
 *     which is Kafka's asynchronous flush on roll. The log keeps a truncation generation,
 *     bumped whenever data at the tail is dropped (truncate_to, truncate_fully): a sync taken
 *     before a truncation never moves the recovery point, since the offsets it covered may
 *     hold other, unsynced, bytes by then. A failed sync makes the log's error sticky (Kafka
 *     takes the log directory offline), because after a failed fsync a retry can report
 *     success for pages the kernel already dropped.
 *
 * Leader epochs (LeaderEpochFileCache): the log keeps which leader epoch started at which offset
 * in <log dir>/<topic>-<partition>/leader-epoch-checkpoint (format: kb_epoch_cache.h), and is
 * the only writer of that file. Appends add epochs (before their bytes are written, as Kafka
 * does), truncation drops the entries at or above the cut, a rising log start offset moves the
 * first entry up, a full truncation empties it. Invariant after open and after every call:
 * entries strictly increase in epoch and start offset, none starts below the log start offset,
 * and none starts above the LEO (the latest may start exactly at it: assigned there by
 * kb_log_assign_epoch, or left by a cut inside its first batch, as in Kafka). Each change
 * is written at once (temp file, fsync, rename, fsync of the directory); a failed write makes the
 * log's error sticky.
 *
 * Deleted segments (retention, DeleteRecords, truncation) are renamed to *.deleted and removed
 * file.delete.delay.ms later by kb_log_retention() / kb_log_delete_expired(), or at once when the
 * delay is 0. A segment pinned by a reader keeps its fd open until unpinned.
 * Time: every now_ms argument is the wall clock in milliseconds (kz_wall_ms), the clock of
 * record timestamps and of Kafka's time-based retention and rolling.
 * Locality: the broker loop thread; no internal threads, no callbacks (the descriptors of a
 * kb_log_sync are the only things another thread touches). */
#ifndef KB_LOG_H
#define KB_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kb_log_segment.h"

typedef struct kb_log kb_log;

/* Result of an append. */
typedef struct kb_log_append_info {
    int64_t first_offset;     /* base offset of the first batch */
    int64_t last_offset;      /* last offset of the last batch */
    int64_t max_ts;           /* largest batch maxTimestamp (-1 when none) */
    int64_t max_ts_offset;    /* last offset of the (first) batch carrying max_ts */
    int64_t log_append_time;  /* @now_ms when the batches use LogAppendTime, else -1 */
    int64_t log_start_offset; /* after the append */
    int32_t batches;          /* number of batches appended */
    bool rolled;              /* a new segment was started for this append */
} kb_log_append_info;

/* Result of a read: whole batches [pos, pos + len) of the segment's .log fd. */
typedef struct kb_log_read_info {
    kb_segment *seg;      /* borrowed: valid until the log changes; kb_segment_pin() to keep */
    int fd;               /* kb_segment_fd(seg) */
    int64_t pos;          /* file position of the first byte */
    int64_t len;          /* bytes (0: nothing to return yet) */
    int64_t first_offset; /* base offset of the first batch returned, else the offset asked */
    int64_t next_offset;  /* offset after the last batch returned, else the offset asked */
    int64_t leo;          /* log end offset at the time of the read */
    int64_t log_start;    /* log start offset at the time of the read */
} kb_log_read_info;

/* Special timestamps of kb_log_offset_for_time (ListOffsets). */
#define KB_LOG_TS_LATEST (-1)
#define KB_LOG_TS_EARLIEST (-2)

/* Opens (creating the directory and a first segment when needed) the log of @topic/@partition
 * under log directory @dir, i.e. <dir>/<topic>-<partition>/. Loads every segment: removes
 * *.deleted and *.cleaned leftovers and index files without a .log, runs the index sanity
 * checks and rebuilds an index that is missing or fails them. Unless @clean_shutdown, every
 * segment from the one holding @recovery_point on is recovered (CRC-checked, torn tail cut,
 * indexes rebuilt); after the first cut, later segments are deleted. The log start offset is
 * max(@log_start_offset, first segment base); a log whose data ends below it starts over empty
 * at it. The leader epoch checkpoint is loaded and made consistent with the segments: a missing
 * or malformed one (a warning, not an error) is rebuilt from the batch headers when the log holds
 * data; otherwise the epochs found in the segments recovered are added when newer; entries at or
 * above the LEO go and the first one moves up to the log start. @cfg is copied. Returns 0 or a
 * negative error (KB_LOG_* or -errno, also when the checkpoint cannot be read or written). */
int kb_log_open(kb_log **out, const char *dir, const char *topic, int32_t partition, const kb_log_cfg *cfg,
                int64_t recovery_point, int64_t log_start_offset, bool clean_shutdown);

/* Appends @len bytes of whole v2 batches as the leader: rewrites each batch's base offset (from
 * the LEO on) and partition leader epoch in place, rolls first when needed, writes them with
 * one write. Validation of the records is the caller's; this checks only that @batches is a
 * sequence of whole magic-2 batches (KB_LOG_EBATCH) no larger than segment.bytes
 * (KB_LOG_ETOOBIG). A @leader_epoch other than the latest one is added to the epoch cache from
 * the first offset appended (a negative one is not recorded). On any error nothing is appended.
 * May fsync per flush.*. */
int kb_log_append(kb_log *log, uint8_t *batches, size_t len, int32_t leader_epoch, int64_t now_ms,
                  kb_log_append_info *info);

/* As kb_log_append for a follower: keeps the offsets and epochs in the batches, which must
 * start at or above the LEO and increase (KB_LOG_EORDER otherwise). A roll starts the new
 * segment at the first batch's base offset. Each batch whose partition leader epoch differs
 * from the latest cached one is added to the epoch cache from its base offset. */
int kb_log_append_as_follower(kb_log *log, const uint8_t *batches, size_t len, int64_t now_ms,
                              kb_log_append_info *info);

/* Finds the batch holding @offset and returns whole batches from it in one segment: as many as
 * fit @max_bytes with last offset < @max_offset (exclusive bound, e.g. the high watermark); with
 * @min_one the first batch even when larger than @max_bytes. @offset == LEO gives len 0.
 * Returns 0, or KB_LOG_EOFFSET when @offset < log start or > LEO. */
int kb_log_read(kb_log *log, int64_t offset, int32_t max_bytes, int64_t max_offset, bool min_one,
                kb_log_read_info *info);

/* First offset whose record timestamp is >= @ts, and that timestamp (ListOffsets).
 * KB_LOG_TS_EARLIEST gives the log start offset, KB_LOG_TS_LATEST the LEO (*@found_ts -1).
 * *@offset = -1 when no record qualifies. Returns 0 or a negative error. */
int kb_log_offset_for_time(kb_log *log, int64_t ts, int64_t *offset, int64_t *found_ts);

/* Raises the log start offset to @offset (DeleteRecords) and deletes the segments wholly below
 * it. @offset above the high watermark (the LEO when none is set) is KB_LOG_EOFFSET; at or
 * below the current start it changes nothing. The first epoch entry follows the new start.
 * Returns the number of segments deleted, or a negative error. */
int kb_log_delete_records_before(kb_log *log, int64_t offset);

/* Drops every batch holding an offset >= @offset (replication). Segments above go; the LEO
 * becomes the end of the last batch kept; epoch entries starting at or above @offset go. Below
 * the first segment the log starts over empty at @offset (kb_log_truncate_fully). At or above
 * the LEO nothing happens. Returns 0 or a negative error. */
int kb_log_truncate_to(kb_log *log, int64_t offset);

/* Deletes every segment and starts an empty one at @offset; log start = LEO = @offset. The epoch
 * cache is emptied. */
int kb_log_truncate_fully(kb_log *log, int64_t offset);

/* Retention (Log.deleteOldSegments), with the delete cleanup policy: oldest segments whose
 * largest timestamp is more than retention.ms before @now_ms, then oldest segments while the
 * log stays >= retention.bytes without them; with any policy, segments wholly below the log
 * start offset. Never beyond the high watermark. When every segment goes, an empty active
 * segment is rolled first. Raises the log start offset (the first epoch entry follows it); also
 * removes due *.deleted files.
 * Returns the number of segments deleted, or a negative error. */
int kb_log_retention(kb_log *log, int64_t now_ms);

/* Removes the *.deleted files whose delay has passed at @now_ms. */
void kb_log_delete_expired(kb_log *log, int64_t now_ms);

/* fsync of every segment holding data at or above the recovery point, then recovery point =
 * LEO. Returns 0 or -errno. */
int kb_log_flush(kb_log *log);
/* fsync of rolled segments above the recovery point; recovery point = active segment base. */
int kb_log_flush_rolled(kb_log *log);
/* Flushes when flush.ms has passed since the last flush and data is unflushed. */
int kb_log_flush_due(kb_log *log, int64_t now_ms);
/* Whether kb_log_flush_due would flush at @now_ms. */
bool kb_log_flush_is_due(const kb_log *log, int64_t now_ms);

/* A flush to run on another thread: fdatasync of every descriptor of @fds, then fsync of
 * @dir_fd; after that, everything below @upto is on disk. */
typedef struct kb_log_sync {
    int *fds;     /* malloc'd: duplicated .log/.index/.timeindex descriptors, 3 per segment */
    size_t nfds;
    int dir_fd;   /* the partition directory (O_RDONLY | O_DIRECTORY) */
    int64_t upto; /* the recovery point once all of them are synced */
    uint64_t gen; /* the log's truncation generation when taken */
    bool active;  /* the active segment is included: a flush.ms flush, upto = LEO */
} kb_log_sync;

/* Prepares the flush of the segments that hold data at or above the recovery point: the
 * rolled ones (upto = active segment's base), and the active one too when @include_active
 * (upto = LEO). Nothing is synced here and the log does not change. Returns 1 with *@out
 * filled (release it with kb_log_sync_release, or hand its descriptors on), 0 when the
 * recovery point already reaches upto, or a negative error (the sticky log error, -ENOMEM,
 * -errno of dup/open) with *@out empty. */
int kb_log_sync_begin(kb_log *log, bool include_active, kb_log_sync *out);

/* The sync prepared by kb_log_sync_begin (its fds may be gone already) finished with @rc on
 * another thread. @rc == 0: the recovery point becomes max(itself, upto) unless the log was
 * truncated since (or has failed); with ->active the flush.ms clock restarts. @rc < 0: the
 * log's error becomes sticky (see the file comment) and the recovery point stays. */
void kb_log_sync_done(kb_log *log, const kb_log_sync *sync, int rc);

/* Closes the descriptors of @sync and frees its array (idempotent; NULL-safe). */
void kb_log_sync_release(kb_log_sync *sync);

/* Records that leader epoch @epoch starts at @start_offset (LeaderEpochFileCache.assign): the
 * leader calls it with (its leader epoch, LEO) on becoming leader, as Partition.makeLeader does,
 * so that a follower asking where the previous epoch ended gets the offset where this one
 * started even before anything was appended in it; @start_offset is then the LEO (never above
 * it, see the invariant in the file comment). A negative @epoch, or the latest epoch again
 * at or above its start, changes nothing; an older epoch or a lower start replaces the entries
 * that conflict with it (a warning). Does nothing once the log has failed; a failed write of the
 * checkpoint makes the error sticky (kb_log_error). */
void kb_log_assign_epoch(kb_log *log, int32_t epoch, int64_t start_offset);

/* The latest leader epoch of the log's data (or assigned), -1 when none is known. */
int32_t kb_log_latest_epoch(const kb_log *log);

/* Where leader epoch @epoch ends in this log (LeaderEpochFileCache.endOffsetFor with the LEO),
 * the answer to OffsetsForLeaderEpoch: *@epoch_out is the largest known epoch <= @epoch and
 * *@end_out the start offset of the first epoch above @epoch, or the LEO when @epoch is the
 * latest; (@epoch, start of the first epoch above) when no known epoch is <= @epoch; (-1, -1)
 * for @epoch -1, an empty cache, or an @epoch above every known one. Never fails. */
void kb_log_end_offset_for_epoch(const kb_log *log, int32_t epoch, int32_t *epoch_out, int64_t *end_out);

/* The offset where leader epoch @epoch starts in this log, or -1 when it has no entry. */
int64_t kb_log_epoch_start_offset(const kb_log *log, int32_t epoch);

/* The sticky error (0 when none): set after a failed I/O, every mutating call returns it. */
int kb_log_error(const kb_log *log);

/* Closes the log (NULL-safe): final time-index entry and trimmed indexes on the active
 * segment, pending *.deleted files removed. Does not fsync (kb_log_flush first if wanted). */
void kb_log_close(kb_log *log);

/* Removes the log: renames <topic>-<partition> to <topic>-<partition>.<uuid>-delete, then
 * deletes it (synchronously) and frees @log. Pinned segments keep working until unpinned.
 * Returns 0 or -errno (the log is freed either way). */
int kb_log_delete(kb_log *log);

/* Replaces the configuration (topic config change). A new segment.index.bytes applies from the
 * next roll. */
void kb_log_set_cfg(kb_log *log, const kb_log_cfg *cfg);
const kb_log_cfg *kb_log_cfg_get(const kb_log *log);

/* The high watermark bounds retention and DeleteRecords; < 0 means "not tracked" (the LEO
 * bounds them). Kept within [log start, LEO]. */
void kb_log_set_high_watermark(kb_log *log, int64_t hw);
int64_t kb_log_high_watermark(const kb_log *log);

int64_t kb_log_end_offset(const kb_log *log);
int64_t kb_log_start_offset(const kb_log *log);
int64_t kb_log_recovery_point(const kb_log *log);
int64_t kb_log_size(const kb_log *log);
size_t kb_log_num_segments(const kb_log *log);
/* Segment @i (0 = oldest), borrowed. */
kb_segment *kb_log_segment_at(const kb_log *log, size_t i);
const char *kb_log_topic(const kb_log *log);
int32_t kb_log_partition(const kb_log *log);
/* <log dir>/<topic>-<partition> */
const char *kb_log_dir(const kb_log *log);
/* The log directory that holds it. */
const char *kb_log_parent_dir(const kb_log *log);

/* Splits a partition directory name "<topic>-<partition>" (at the last '-'; the partition in
 * canonical decimal, no sign or leading zero). Returns 0 and fills @topic (cap bytes) and
 * *@partition, or -EINVAL. */
int kb_log_parse_dir_name(const char *name, char *topic, size_t cap, int32_t *partition);

/* Recursively removes @path (rm -rf). Returns 0 or -errno. */
int kb_rm_rf(const char *path);

#endif
