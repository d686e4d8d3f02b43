/* coordinator/zkd_txnlog.h -- ZooKeeper 3.8 transaction log files: writer,
 * reader/iterator, recovery (torn tail), truncate-to-zxid, and the listing
 * of zxid-named files shared with the snapshot and db modules.
 *
 * Files live in <dataLogDir>/version-2/ and are named log.<zxid>, the zxid of
 * their first txn in lower-case hex without padding. Byte layout (all
 * integers big-endian, FileTxnLog.java):
 *
 *   off 0  FileHeader  i32 magic 0x5A4B4C47 "ZKLG" | i32 version 2 | i64 dbid 0
 *   off 16 entry*      i64 checksum = Adler-32 of the txn bytes (high 32 bits 0)
 *                      i32 len (> 0) | len txn bytes | u8 0x42 'B'
 *          padding     zeros up to the preallocated size
 *
 * Txn bytes = TxnHeader{i64 clientId, i32 cxid, i64 zxid, i64 time, i32 type}
 * + the record of that type (+ an optional TxnDigest); this module does not
 * look past the header.
 *
 * Preallocation (FilePadding.java): before each entry, at logical position p
 * with padded size s (initially 16, the header), when p + 4096 >= s the file
 * grows to s + prealloc, or to (p + prealloc) rounded down to a multiple of
 * prealloc when p > s. So ZooKeeper's files are 16 + k*prealloc bytes
 * (67108880 with the 64 MiB default). Growing writes one zero byte at the
 * new end (a sparse tail, like ZooKeeper). prealloc 0 disables padding.
 *
 * End of a file's valid part: a zero length with a zero checksum, or a short
 * read whose remaining bytes are all zero, is padding (clean). Anything else
 * that stops the reader -- short read over non-zero bytes, a bad checksum, a
 * missing 'B', a non-positive length, a txn too short for a TxnHeader, a bad
 * file header -- is a torn/corrupt tail. Recovery truncates a torn tail in the
 * LAST file to the end of its last good entry (re-extending the file with
 * zeros to its old size, so it keeps its preallocation) or removes that file
 * when it holds no good entry (torn or merely empty: the next writer would
 * create a file of the same name). A torn non-last file is logged and the reader
 * moves on to the next file, as ZooKeeper's reader does at EOF.
 *
 * Error convention: functions return 0 (or a count) or a negative errno;
 * -EBADMSG means corrupt content, -ENOMEM out of memory.
 * Locality: a writer belongs to one thread (the sync thread); readers and
 * the free functions are used at start-up (and later by quorum sync) on any
 * single thread. No shared state. */
#ifndef ZKD_TXNLOG_H
#define ZKD_TXNLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZKD_PERSIST_VERSION   2
#define ZKD_TXNLOG_HDR_LEN    16
#define ZKD_TXN_HDR_LEN       32         /* serialized TxnHeader */
#define ZKD_PREALLOC_DEFAULT  (64LL * 1024 * 1024)

/* ---- zxid-named files (log.<hex>, snapshot.<hex>[.suffix]) ---- */

typedef struct zkd_zxid_file {
    int64_t zxid;
    char name[256];     /* file name within the directory */
    uint16_t sfx;       /* offset in name of the suffix ("" or ".gz", ".tmp"...) */
} zkd_zxid_file;

static inline const char *zkd_zxid_file_suffix(const zkd_zxid_file *f) { return f->name + f->sfx; }

/* "<prefix>.<1-16 hex digits>[.<anything>]" -> the zxid (<= INT64_MAX) and
 * in *suffix_at the offset of the suffix (the end of @name when none), or -1
 * when @name is not of that form. */
int64_t zkd_zxid_from_name(const char *name, const char *prefix, size_t *suffix_at);

/* Lists the files of @dir named "<prefix>.<hex>" optionally followed by
 * ".<suffix>", sorted by zxid ascending (ties by name). The hex part is 1-16
 * hex digits <= INT64_MAX (what Long.parseLong(s, 16) accepts for our files).
 * *out is malloc'd (free() it; NULL when *n is 0). A missing @dir lists
 * nothing. Returns 0 or -errno. */
int zkd_zxid_files(const char *dir, const char *prefix, zkd_zxid_file **out, size_t *n);

/* Index in sorted @f of the file with the largest zxid <= @zxid, or 0 when
 * none (every file starts after @zxid): the first file that can hold @zxid
 * (FileTxnLog.getLogFiles). Requires n > 0. */
size_t zkd_zxid_files_start(const zkd_zxid_file *f, size_t n, int64_t zxid);

/* Adler-32 (zlib) over @len bytes, any length. */
uint32_t zkd_adler32(uint32_t adler, const void *p, size_t len);

/* ---- writer (sync thread) ---- */

typedef struct zkd_txnlog zkd_txnlog;

/* Opens a writer on @dir (the version-2 directory, which must exist). No
 * file is created until the first append: every writer starts a new file,
 * as ZooKeeper does after a restart. @prealloc_bytes: preAllocSize * 1024
 * (0 disables padding). Returns 0 or -errno. */
int zkd_txnlog_open(zkd_txnlog **out, const char *dir, int64_t prealloc_bytes);

/* Buffers one entry for @txn (serialized TxnHeader + record, @len > 0,
 * borrowed: copied before return). Opens log.<zxid> when no file is open.
 * Nothing reaches the disk before zkd_txnlog_flush. @zxid should grow
 * strictly (a warning is logged otherwise, like ZooKeeper). Returns 0,
 * -EINVAL for an empty txn, or -errno (the writer is then failed: every
 * later call returns -EIO). */
int zkd_txnlog_append(zkd_txnlog *l, int64_t zxid, const uint8_t *txn, size_t len);

/* Writes everything buffered; with @sync, fdatasync()s the current file (and
 * files left by a roll, and the directory after a file was created). When
 * @sync_ns is not NULL it receives the time spent in fdatasync (0 without
 * @sync). Returns 0 or -errno (the writer is then failed). */
int zkd_txnlog_flush(zkd_txnlog *l, bool sync, int64_t *sync_ns);

/* Makes the next append start a new file. Buffered bytes go to the current
 * file now; its fdatasync happens at the next flush. 0 or -errno. */
int zkd_txnlog_roll(zkd_txnlog *l);

/* Zxid of the last appended entry (-1 if none), current file size (padded,
 * 0 when no file is open). */
int64_t zkd_txnlog_last_appended(const zkd_txnlog *l);
int64_t zkd_txnlog_file_size(const zkd_txnlog *l);

/* Writes what is buffered (no fdatasync: flush first for durability) and
 * closes. NULL-safe. */
void zkd_txnlog_close(zkd_txnlog *l);

/* ---- reader ---- */

typedef struct zkd_txnlog_iter zkd_txnlog_iter;

typedef struct zkd_txnlog_entry {
    int64_t zxid;
    const uint8_t *txn; /* serialized txn; borrowed until the next call */
    size_t len;
    const char *file;   /* log file name (borrowed) */
    int64_t offset;     /* file offset of the entry's checksum field */
} zkd_txnlog_entry;

/* Iterator over every txn with zxid >= @from in zxid order, starting in the
 * file that can hold @from. A missing or empty @dir iterates nothing.
 * Returns 0 or -errno. */
int zkd_txnlog_iter_open(zkd_txnlog_iter **out, const char *dir, int64_t from);

/* 1 with *e filled, 0 at the end of the logs, or -errno (I/O error). */
int zkd_txnlog_iter_next(zkd_txnlog_iter *it, zkd_txnlog_entry *e);

/* After next() returned 0: cuts a torn tail of the last file (see the file
 * comment) and makes that durable. *truncated (may be NULL) says whether
 * anything was cut. Returns 0 or -errno. */
int zkd_txnlog_iter_repair(zkd_txnlog_iter *it, bool *truncated);

/* Zxid of the last good entry seen so far (-1 if none). */
int64_t zkd_txnlog_iter_last_zxid(const zkd_txnlog_iter *it);

void zkd_txnlog_iter_close(zkd_txnlog_iter *it); /* NULL-safe */

/* Last logged zxid in @dir (-1 when there is none), read-only: scans files
 * newest first until one has a good entry. Returns 0 or -errno. */
int zkd_txnlog_last_zxid(const char *dir, int64_t *zxid);

/* Like zkd_txnlog_last_zxid, and repairs a torn tail of the last file first.
 * Call before opening a writer on @dir. Returns 0 or -errno. */
int zkd_txnlog_recover(const char *dir, int64_t *zxid);

/* Drops every entry with zxid > @zxid: the file that can hold @zxid is cut
 * after its last entry <= @zxid, later files are removed (ZooKeeper's
 * FileTxnLog.truncate, used for the leader's TRUNC). Files that start after
 * @zxid are all removed. Returns 0 or -errno. No writer may be open. */
int zkd_txnlog_truncate(const char *dir, int64_t zxid);

#endif
