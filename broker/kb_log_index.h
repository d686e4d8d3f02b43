/* broker/kb_log_index.h -- the two sparse indexes of a log segment, as Kafka lays them out.
 *
 * Offset index (<base>.index, OffsetIndex.scala): entries of 8 bytes, big-endian
 *     i32 relative offset (offset - base)   i32 byte position in <base>.log
 * Relative offsets strictly increase. An entry (O, P) says that the batch(es) appended at
 * position P end at offset O, so the batch holding any offset T >= O starts at or after P.
 * Lookup(T) = the greatest entry with offset <= T, or (base, 0) when there is none.
 *
 * Time index (<base>.timeindex, TimeIndex.scala): entries of 12 bytes, big-endian
 *     i64 timestamp   i32 relative offset
 * Timestamps strictly increase, offsets never decrease. (T, O) says that T is the largest
 * timestamp seen in the segment up to offset O. Lookup(T) = the greatest entry with
 * timestamp <= T, or (-1, base) when there is none.
 *
 * Files are memory-mapped and preallocated (sparse) to the configured segment.index.bytes
 * rounded down to a whole entry; kb_index_trim() cuts them to the bytes in use when a segment
 * is rolled or closed. An existing file is taken to hold size / entry-size entries (Kafka's
 * rule), minus a tail of all-zero entries that a preallocated file left by a crash carries
 * (a real entry other than the first always has a non-zero relative offset or timestamp).
 * The files carry no checksum: kb_index_sanity() applies Kafka's checks, and the segment
 * rebuilds an index that fails them.
 * Locality: the broker loop thread that owns the log. */
#ifndef KB_LOG_INDEX_H
#define KB_LOG_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kb_index kb_index;

typedef enum { KB_INDEX_OFFSET = 0, KB_INDEX_TIME = 1 } kb_index_kind;

#define KB_OINDEX_ENTRY 8
#define KB_TINDEX_ENTRY 12

/* Opens @path as an index of @kind for a segment starting at @base, creating an empty file when
 * it does not exist (*@created is then true). The file is resized to @max_bytes (rounded down to
 * a whole entry, never below the entries in use) when @prealloc, else left at its size.
 * Returns 0 or -errno. */
int kb_index_open(kb_index **out, const char *path, kb_index_kind kind, int64_t base, int32_t max_bytes,
                  bool prealloc, bool *created);

/* Unmaps and closes (NULL-safe). The file keeps its current size: trim first if wanted. */
void kb_index_close(kb_index *ix);

/* Kafka's sanity check plus bounds against the log: the file length is a whole number of
 * entries; the last relative offset is >= 0; the last time-index timestamp is >= the first;
 * offset-index positions are < @log_size (and there are no entries when it is 0).
 * Returns 0 or -EBADMSG. */
int kb_index_sanity(const kb_index *ix, int64_t log_size);

/* Resizes the file (and mapping) to @max_bytes rounded down to a whole entry, but never below
 * the entries in use; sets the capacity used by kb_index_full. Returns 0 or -errno. */
int kb_index_resize(kb_index *ix, int64_t max_bytes);

/* Cuts the file to the entries in use (trimToValidSize). Returns 0 or -errno. */
int kb_index_trim(kb_index *ix);

/* Forgets every entry (for a rebuild); the file keeps its size. */
void kb_index_reset(kb_index *ix);

/* Drops the entries whose offset is >= @offset (both kinds; truncateTo). */
void kb_index_truncate_to(kb_index *ix, int64_t offset);

/* msync + fsync of the file. Returns 0 or -errno. */
int kb_index_flush(kb_index *ix);

/* The file's descriptor (borrowed; for dup(): on Linux an fsync of any descriptor of the file
 * also writes back the pages dirtied through the shared mapping). */
int kb_index_fd(const kb_index *ix);

/* Renames the file (the mapping is unaffected). Returns 0 or -errno. */
int kb_index_rename(kb_index *ix, const char *newpath);

/* Removes the file (the mapping stays valid until close). Returns 0 or -errno. */
int kb_index_unlink(kb_index *ix);

size_t kb_index_entries(const kb_index *ix);
size_t kb_index_max_entries(const kb_index *ix);
bool kb_index_full(const kb_index *ix);
int64_t kb_index_base(const kb_index *ix);
const char *kb_index_path(const kb_index *ix);
/* Current length of the file in bytes. */
int64_t kb_index_file_size(const kb_index *ix);

/* ---- offset index ---- */

/* Appends (@offset, @pos). Returns 0, -ENOSPC when full, -EINVAL when @offset is not above the
 * last entry or does not fit a relative offset. */
int kb_oindex_append(kb_index *ix, int64_t offset, int32_t pos);
/* Greatest entry with offset <= @target, or (base, 0). */
void kb_oindex_lookup(const kb_index *ix, int64_t target, int64_t *off, int32_t *pos);
/* Entry @i (< entries). */
void kb_oindex_entry(const kb_index *ix, size_t i, int64_t *off, int32_t *pos);
/* Last entry, or (base, 0) when empty. */
void kb_oindex_last(const kb_index *ix, int64_t *off, int32_t *pos);

/* ---- time index ---- */

/* Appends (@ts, @offset) when @ts is above the last timestamp (the first entry needs @ts >= 0,
 * as Kafka's empty index answers (-1, base)). With @skip_full_check a full index grows by one
 * entry instead of refusing (the final entry written on roll/close). Returns 0 (also when
 * nothing was appended), -ENOSPC when full, -EINVAL when @offset is below the last entry's or
 * @ts below the last timestamp. */
int kb_tindex_maybe_append(kb_index *ix, int64_t ts, int64_t offset, bool skip_full_check);
/* Greatest entry with timestamp <= @ts, or (-1, base). */
void kb_tindex_lookup(const kb_index *ix, int64_t ts, int64_t *found_ts, int64_t *off);
/* Entry @i (< entries). */
void kb_tindex_entry(const kb_index *ix, size_t i, int64_t *ts, int64_t *off);
/* Last entry, or (-1, base) when empty. */
void kb_tindex_last(const kb_index *ix, int64_t *ts, int64_t *off);

#endif
