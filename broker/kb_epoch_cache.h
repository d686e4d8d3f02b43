/* broker/kb_epoch_cache.h -- the leader epoch cache of one partition replica
 * (LeaderEpochFileCache.scala): which leader epoch started at which offset, persisted in
 * <log dir>/<topic>-<partition>/leader-epoch-checkpoint.
 *
 * Entries (epoch, start_offset) are strictly increasing in both fields: epoch E holds the
 * offsets [start of E, start of the next entry), the latest epoch runs to the log end offset.
 *
 * File format (CheckpointFile.scala with LeaderEpochCheckpointFile's line format), text, "\n"
 * ends every line:
 *     0                        format version
 *     <count>                  number of entries
 *     <epoch> <startOffset>    x count, one space, oldest first
 * Reading follows Kafka's reader: an empty file, or one holding only the version line, has no
 * entries; lines end at "\n", "\r" or "\r\n"; the version must be 0; an entry line splits on runs
 * of blanks into exactly two decimal numbers (a leading blank makes an empty first item); the
 * count must equal the number of entry lines. Beyond Kafka, entries must also be strictly
 * increasing with epoch >= 0 and offset >= 0, since the lookups below rely on it. A file that
 * breaks any rule is "malformed": the cache starts empty (the log rebuilds it from its batches).
 *
 * Every change is written at once (Kafka does the same; changes come once per leader change):
 * "<file>.tmp", fsync, rename over the file, fsync of the directory (kz_fs_write_durable), so a
 * crash leaves the old or the new list. Between kb_epoch_cache_hold() and
 * kb_epoch_cache_release() changes are only remembered and written once at the release (used
 * while a log is opened). A failed write leaves the new list in memory and returns -errno; the
 * owner (kb_log) makes that error sticky.
 * Locality: the broker loop thread of the log that owns it; no threads, no callbacks. */
#ifndef KB_EPOCH_CACHE_H
#define KB_EPOCH_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KB_EPOCH_CHECKPOINT_FILE "leader-epoch-checkpoint"

/* No epoch / no offset (RecordBatch.NO_PARTITION_LEADER_EPOCH, EpochEndOffset.UNDEFINED_*). */
#define KB_EPOCH_UNDEFINED (-1)
#define KB_EPOCH_UNDEFINED_OFFSET (-1)

typedef struct kb_epoch_entry {
    int32_t epoch;
    int64_t start_offset;
} kb_epoch_entry;

typedef struct kb_epoch_cache kb_epoch_cache;

/* What kb_epoch_cache_open found on disk. */
typedef enum {
    KB_EPOCH_FILE_LOADED = 0, /* read (possibly with no entries) */
    KB_EPOCH_FILE_MISSING,    /* no file: the cache starts empty */
    KB_EPOCH_FILE_MALFORMED,  /* unreadable content: warned, the cache starts empty */
} kb_epoch_file_state;

/* Opens the cache of partition directory @dir (which must exist) and reads its checkpoint.
 * @name ("<topic>-<partition>") prefixes log lines. *@state (may be NULL) tells what was found.
 * A malformed file is not an error (see the file comment). Returns 0, -ENOMEM, or the -errno of
 * a failed read (other than a missing file). */
int kb_epoch_cache_open(kb_epoch_cache **out, const char *dir, const char *name, kb_epoch_file_state *state);

/* Frees the cache (NULL-safe). Writes nothing: every change was written when made (a held
 * cache loses what it held). */
void kb_epoch_cache_free(kb_epoch_cache *c);

/* Assigns @epoch to the offsets from @start_offset on (LeaderEpochFileCache.assign): a negative
 * @epoch is ignored; so is the latest epoch again at or above its start offset. An older epoch, or
 * a start below the latest one's, first removes every entry with epoch >= @epoch or start >=
 * @start_offset (a warning names them), then appends. Returns 0, or -errno when the write of the
 * change failed (the change stays in memory). */
int kb_epoch_cache_assign(kb_epoch_cache *c, int32_t epoch, int64_t start_offset);

/* Removes the entries starting at or above @end_offset (the log was cut at @end_offset;
 * truncateFromEnd). A negative @end_offset changes nothing. Returns 0 or the write's -errno. */
int kb_epoch_cache_truncate_from_end(kb_epoch_cache *c, int64_t end_offset);

/* The log now starts at @start_offset (truncateFromStart): the last entry starting at or below
 * it stays, moved to start at @start_offset; the entries before it go. Returns 0 or -errno. */
int kb_epoch_cache_truncate_from_start(kb_epoch_cache *c, int64_t start_offset);

/* Removes every entry (clearAndFlush, when the log restarts empty). Returns 0 or -errno. */
int kb_epoch_cache_truncate_fully(kb_epoch_cache *c);

/* From now on changes are only remembered (nests: one hold, one release). */
void kb_epoch_cache_hold(kb_epoch_cache *c);
/* Ends a hold: writes the list when it changed during the hold, or when @force. Returns 0 or
 * -errno. */
int kb_epoch_cache_release(kb_epoch_cache *c, bool force);

/* The latest epoch, or KB_EPOCH_UNDEFINED when empty. */
int32_t kb_epoch_cache_latest_epoch(const kb_epoch_cache *c);

/* The start offset of @epoch, or -1 when it has no entry. */
int64_t kb_epoch_cache_start_offset(const kb_epoch_cache *c, int32_t epoch);

/* Where @requested ends, for a log whose end offset is @leo (endOffsetFor, OffsetsForLeaderEpoch):
 *   @requested == -1, or an empty cache              -> (-1, -1)
 *   @requested == the latest epoch                   -> (latest, @leo)
 *   no entry with epoch > @requested                 -> (-1, -1)
 *   otherwise, with H the first entry above it, and
 *     no entry at or below @requested                -> (@requested, H.start)
 *     F the last entry at or below @requested        -> (F.epoch, H.start)
 * into *@epoch_out and *@end_out. Never fails. */
void kb_epoch_cache_end_offset_for(const kb_epoch_cache *c, int32_t requested, int64_t leo, int32_t *epoch_out,
                                   int64_t *end_out);

/* The entries, oldest first (borrowed: valid until the next change), and their number. */
const kb_epoch_entry *kb_epoch_cache_entries(const kb_epoch_cache *c, size_t *n);

/* The checkpoint file's path. */
const char *kb_epoch_cache_path(const kb_epoch_cache *c);

/* Parses checkpoint text @text of @len bytes into a malloc'd array (*@out, *@n; NULL and 0 when
 * there are no entries). Returns 0, -EBADMSG when malformed, or -ENOMEM. */
int kb_epoch_cache_parse(const char *text, size_t len, kb_epoch_entry **out, size_t *n);

#endif
