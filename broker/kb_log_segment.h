/* broker/kb_log_segment.h -- one segment of a partition log: <base>.log + <base>.index +
 * <base>.timeindex in the partition directory (LogSegment.scala).
 *
 * Files: the name is the base offset, decimal, zero-padded to 20 digits. The .log holds record
 * batches back to back exactly as received (RecordBatch v2; legacy magic 0/1 entries found in
 * old logs are read too). Index formats: kb_log_index.h.
 *
 * Invariants of a segment S (after open/recover and after every call below):
 *   - S.size is the length of the .log; every byte of it belongs to a whole entry;
 *   - S.next_offset = last offset of the last entry + 1, or S.base when S is empty;
 *   - every index entry points at data inside the file (position < S.size, offset < next);
 *   - S.max_ts is the largest batch maxTimestamp in the file (-1 when none) and S.max_ts_off
 *     the last offset of the first batch that carries it.
 *
 * Index maintenance follows Kafka: on append, when more than index_interval_bytes were
 * appended since the last index entry, the chunk being appended gets an offset-index entry
 * (its last offset, its start position) and the time index gets (max timestamp so far, its
 * offset) if that grew; a rebuild (recover) applies the same rule batch by batch, so both give
 * the same bytes for one-batch appends. Rolling or closing a segment appends the final
 * time-index entry and trims both indexes to their used size.
 *
 * Lifetime: a segment is reference counted. The log holds one reference; a reader that hands
 * the .log fd to sendfile (evbuffer_add_file_segment without EVBUF_FS_CLOSE_ON_FREE) takes
 * another with kb_segment_pin() and drops it with kb_segment_unpin() from the file segment's
 * cleanup callback. Deleting a segment renames or unlinks its files; the fds stay open until
 * the last reference goes.
 * Locality: the broker loop thread that owns the log. The only I/O done elsewhere is the
 * fdatasync of descriptors duplicated with kb_segment_dup_fds (the log manager's flusher
 * thread); the segment itself is never touched off the loop thread. */
#ifndef KB_LOG_SEGMENT_H
#define KB_LOG_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kb_log_index.h"
#include "kz_batch.h"

/* Errors of the log storage layer. I/O failures are -errno; these sit below -4095 so that
 * they never collide with an errno value. */
enum {
    KB_LOG_ECORRUPT = -5001, /* a file does not hold what its format says */
    KB_LOG_EOFFSET = -5002,  /* offset out of range (OFFSET_OUT_OF_RANGE) */
    KB_LOG_ETOOBIG = -5003,  /* an append larger than segment.bytes (RECORD_BATCH_TOO_LARGE) */
    KB_LOG_EBATCH = -5004,   /* input is not a sequence of whole v2 batches (CORRUPT_MESSAGE) */
    KB_LOG_EORDER = -5005,   /* follower append below the log end offset or out of order */
    KB_LOG_ELOCKED = -5006,  /* the log directory is locked by another broker */
    KB_LOG_EMETA = -5007,    /* meta.properties missing fields, unsupported or inconsistent */
    KB_LOG_EDUP = -5008,     /* the same partition in two log directories */
    KB_LOG_EEXIST = -5009,   /* the log already exists */
    KB_LOG_ENOENT = -5010,   /* no such log */
};

/* A short description of any code above or of -errno. */
const char *kb_log_strerror(int rc);

/* Per-log configuration (topic-level names; broker-level log.* defaults feed it). */
typedef struct kb_log_cfg {
    int32_t segment_bytes;        /* segment.bytes: roll beyond this size (1073741824) */
    int64_t segment_ms;           /* segment.ms (log.roll.ms/hours): roll older segments (604800000) */
    int64_t retention_ms;         /* retention.ms: < 0 unlimited (604800000) */
    int64_t retention_bytes;      /* retention.bytes: < 0 unlimited (-1) */
    int32_t index_interval_bytes; /* index.interval.bytes (4096) */
    int32_t segment_index_bytes;  /* segment.index.bytes: index preallocation (10485760) */
    int64_t flush_messages;       /* flush.messages: fsync after this many unflushed (INT64_MAX) */
    int64_t flush_ms;             /* flush.ms: fsync when the last flush is older (INT64_MAX) */
    int64_t file_delete_delay_ms; /* file.delete.delay.ms: keep .deleted files this long (60000) */
    bool cleanup_delete;          /* cleanup.policy contains "delete" (true) */
} kb_log_cfg;

/* Kafka's defaults. */
void kb_log_cfg_defaults(kb_log_cfg *cfg);

typedef struct kb_segment kb_segment;

/* Writes "<dir>/<20-digit base><suffix>" into @buf (PATH_MAX). Returns 0 or -ENAMETOOLONG. */
int kb_segment_path(char *buf, size_t cap, const char *dir, int64_t base, const char *suffix);

/* Opens the segment at @base in partition directory @dir.
 * @create: a new empty segment (stale files with that name are replaced); the indexes are
 *   preallocated.
 * !@create: an existing .log; missing index files are created empty and the segment is marked
 *   as needing a rebuild (kb_segment_needs_recovery). Indexes keep their file size; the log
 *   calls kb_segment_activate() on its last segment.
 * @now_ms is the creation time used by time-based rolling when the segment has no timestamps.
 * Returns 0 or -errno. */
int kb_segment_open(kb_segment **out, const char *dir, int64_t base, const kb_log_cfg *cfg, bool create,
                    int64_t now_ms);

/* For an existing segment: runs the index sanity checks and reads the tail (from the last
 * index entries to the end of the file) to learn next_offset and max_ts. Returns 0, or
 * KB_LOG_ECORRUPT when an index fails its checks or the tail holds a torn or bad entry (the
 * caller then recovers the segment), or -errno. */
int kb_segment_load(kb_segment *s);

/* True when an index file was missing at open. */
bool kb_segment_needs_recovery(const kb_segment *s);

/* Rebuilds both indexes from the .log: walks the entries from position 0, checking sizes,
 * CRCs (CRC-32C for v2, CRC-32 for legacy), that offsets never go back and fit a relative
 * offset; cuts the file at the first entry that fails (a torn or corrupt tail) and stores the
 * bytes cut in *@truncated. Indexes end trimmed. Returns 0 or -errno. */
int kb_segment_recover(kb_segment *s, int64_t *truncated);

/* Makes @s the active segment: indexes preallocated to cfg->segment_index_bytes. */
int kb_segment_activate(kb_segment *s, const kb_log_cfg *cfg);

/* The segment stops being active: final time-index entry, indexes trimmed (onBecomeInactive). */
int kb_segment_deactivate(kb_segment *s);

/* Whether an append of @len bytes with offsets up to @last_offset and largest timestamp
 * @max_ts must go to a new segment (LogSegment.shouldRoll): the size would pass segment_bytes,
 * or the segment is non-empty and older than segment_ms (by the max timestamp of its first
 * batch compared with @max_ts, or by its creation time against @now_ms when it has no
 * timestamps), or an index is full, or @last_offset does not fit a relative offset. */
bool kb_segment_should_roll(kb_segment *s, const kb_log_cfg *cfg, size_t len, int64_t max_ts, int64_t last_offset,
                            int64_t now_ms);

/* Appends @len bytes of whole batches whose offsets end at @last_offset with largest timestamp
 * @max_ts at offset @max_ts_off (the last offset of the batch carrying it), with one write;
 * then updates the indexes every index_interval_bytes. On a write error the file is cut back
 * to its previous size and -errno returned. */
int kb_segment_append(kb_segment *s, const kb_log_cfg *cfg, const uint8_t *buf, size_t len, int64_t last_offset,
                      int64_t max_ts, int64_t max_ts_off);

/* Where the first entry whose last offset is >= @offset starts (offset index, then a scan).
 * Returns 1 with *@pos and the entry's header in *@h, 0 when the segment holds no such entry
 * (*@pos = size), or a negative error. */
int kb_segment_find(kb_segment *s, int64_t offset, int64_t *pos, kz_batch_hdr *h);

/* Whole entries from @pos (an entry start): as many as fit @max_bytes whose last offset is
 * below @max_offset; with @min_one the first one even when larger than @max_bytes. Returns the
 * byte count in *@len and the offset after the last entry taken in *@next (unchanged input
 * when nothing was taken). Returns 0 or a negative error. */
int kb_segment_span(kb_segment *s, int64_t pos, int32_t max_bytes, int64_t max_offset, bool min_one, int64_t *len,
                    int64_t *next);

/* The first record at or after @start_offset whose timestamp is >= @ts (LogSegment
 * findOffsetByTimestamp): time index, offset index, then a scan of batches, then of the
 * records of the first v2 batch whose max timestamp is >= @ts (decompressed when needed). A
 * legacy entry (or a batch over 64 MiB) answers with its first offset (>= @start_offset) and
 * its max timestamp. Returns 1 with *@off and *@found_ts set, 0 when none,
 * or a negative error. */
int kb_segment_find_ts(kb_segment *s, int64_t ts, int64_t start_offset, int64_t *off, int64_t *found_ts);

/* Cuts the segment before the entry holding @offset (every entry whose last offset is >=
 * @offset goes). Returns the bytes cut (>= 0) or a negative error. */
int64_t kb_segment_truncate_to(kb_segment *s, int64_t offset);

/* fsync of the .log and both indexes. */
int kb_segment_flush(kb_segment *s);
/* Duplicates (dup, close-on-exec) the descriptors of the .log, the .index and the .timeindex
 * into @fds, in that order, so that another thread can fdatasync them while the segment lives
 * on (or is deleted: the duplicates keep the files open). The caller closes them. Returns 0, or
 * -errno with nothing left open. */
int kb_segment_dup_fds(const kb_segment *s, int fds[3]);

/* Renames the three files to "<name>.deleted" (asynchronous delete). Returns 0 or -errno. */
int kb_segment_mark_deleted(kb_segment *s);
/* Removes the files (under their current names). Returns 0 or -errno (ENOENT ignored). */
int kb_segment_unlink(kb_segment *s);

/* References: a new segment has one (its owner's). unpin() closes and frees at zero. */
void kb_segment_pin(kb_segment *s);
void kb_segment_unpin(kb_segment *s);

int64_t kb_segment_base(const kb_segment *s);
int64_t kb_segment_size(const kb_segment *s);
int64_t kb_segment_next_offset(const kb_segment *s);
int kb_segment_fd(const kb_segment *s);
int64_t kb_segment_max_ts(const kb_segment *s);
int64_t kb_segment_max_ts_offset(const kb_segment *s);
/* max_ts when >= 0, else the .log's modification time in ms (Kafka's largestTimestamp). */
int64_t kb_segment_largest_ts(const kb_segment *s);
const kb_index *kb_segment_offset_index(const kb_segment *s);
const kb_index *kb_segment_time_index(const kb_segment *s);

#endif
