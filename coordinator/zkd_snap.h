/* coordinator/zkd_snap.h -- ZooKeeper 3.8 snapshot files: write (synchronous
 * or in a forked child), read with seal validation, and listing.
 *
 * File <dataDir>/version-2/snapshot.<zxid hex, lower case, no padding>, jute
 * big-endian (FileSnap.java, SerializeUtils.java, DataTree.java):
 *
 *   FileHeader   i32 magic 0x5A4B534E "ZKSN" | i32 version 2 | i64 dbid -1
 *   sessions     i32 count, count x { i64 sessionId | i32 timeout }
 *   ACL cache    i32 count, count x { i64 index | i32 n | n x ACL{i32 perms,
 *                ustring scheme, ustring id} }
 *   nodes        pre-order (parent first), each: ustring path | buffer data
 *                | i64 aclIndex | StatPersisted{i64 czxid, mzxid, ctime,
 *                mtime, i32 version, cversion, aversion, i64 ephemeralOwner,
 *                pzxid}; the root's path is "" (empty)
 *   terminator   ustring "/"
 *   seal         i64 Adler-32 of every byte before it | ustring "/"
 *   [ZooKeeper only: ZxidDigest{i64 zxid, i32 version, i64 digest} + a second
 *    seal; zkd does not write it and ignores it when reading]
 *
 * The zxid in the name is the last applied zxid when the snapshot started;
 * zkd's snapshots are taken in a fork()ed child and so are exact, but they
 * are read like ZooKeeper's fuzzy ones (the db replays the log from the
 * snapshot's zxid + 1). Compressed snapshots (snapshot.<zxid>.gz / .snappy,
 * zookeeper.snapshot.compression.method) are not read: they are skipped
 * with a warning.
 *
 * Writing goes to snapshot.<zxid>.tmp (ZooKeeper's AtomicFileOutputStream
 * name), fsync, rename, fsync of the directory.
 *
 * SNAP synchronisation stream (LearnerHandler.run after syncFollower,
 * Learner.syncWithLeader case SNAP, ZKDatabase.serializeSnapshot and
 * deserializeSnapshot, SerializeUtils, DataTree.serialize): after the
 * QuorumPacket SNAP(zxid = the leader's last processed zxid) the leader
 * writes on the quorum stream, with no length prefix, no FileHeader and no
 * checksum, exactly the body above (sessions, ACL cache, nodes, terminator
 * "/"), then the ustring "BenWasHere" (i32 10 + 10 bytes). Nothing else:
 * the ZxidDigest and the seals are written only by FileSnap. The learner
 * clears its database, reads the body, checks the signature and sets its
 * last processed zxid to the SNAP packet's zxid; the next thing on the
 * stream is the NEWLEADER QuorumPacket.
 *
 * Error convention: 0 or a negative errno; -EBADMSG means a malformed file
 * or stream.
 * Locality: the loop thread forks; the child only reads the (copy-on-write)
 * tree and never logs (another thread may hold the log mutex at fork time).
 * The stream functions are plain code on caller-owned memory. */
#ifndef ZKD_SNAP_H
#define ZKD_SNAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kz_buf.h"
#include "zkd_datatree.h"
#include "zkd_txnlog.h"

/* Writes snapshot.<zxid> of @dt into @dir (the version-2 directory) durably.
 * Logs the outcome. Returns 0 or -errno. */
int zkd_snap_write(const zkd_datatree *dt, const char *dir, int64_t zxid);

/* Loads the snapshot at @path into @dt, which must be fresh from zkd_dt_new
 * (on failure @dt holds part of the file: free it). Checks the magic, every
 * length against the bytes left (and ZKD_SNAP_STREAM_MAX_STR), the parent
 * of each node, and the seal.
 * Sets the tree's last zxid. Returns the zxid from the file name (>= 0) or
 * -errno (-EBADMSG for a malformed or unsealed file, -EINVAL for a name that
 * is not snapshot.<hex>). */
int64_t zkd_snap_read(zkd_datatree *dt, const char *path);

/* ZooKeeper's quick validity test (SnapStream.isValidSnapshot): the name
 * parses and the file ends in the ustring "/" (i32 1, '/'). */
bool zkd_snap_looks_valid(const char *dir, const zkd_zxid_file *f);

/* Snapshots of @dir worth trying, newest first: plain snapshot.<hex> names
 * that pass zkd_snap_looks_valid; at most @max of them (0: no limit).
 * Compressed ones are logged and skipped. *out is malloc'd (free() it).
 * Returns 0 or -errno. */
int zkd_snap_list(const char *dir, size_t max, zkd_zxid_file **out, size_t *n);

/* Starts a child process that writes snapshot.<zxid> of @dt into @dir and
 * exits 0 on success or with the errno of the failure. Returns the child's
 * pid (> 0) or -errno. The caller must reap it with zkd_snap_poll/wait. */
pid_t zkd_snap_fork(const zkd_datatree *dt, const char *dir, int64_t zxid);

/* Non-blocking (WNOHANG): 1 while the child runs, 0 when it wrote the
 * snapshot, or -errno when it failed (its exit status, or -EINTR if a
 * signal killed it, or waitpid's error). Logs failures. For a timer on the
 * loop thread. */
int zkd_snap_poll(pid_t pid);

/* Blocking version of zkd_snap_poll (shutdown and tests). 0 or -errno. */
int zkd_snap_wait(pid_t pid);

/* ------------------------------------------------- SNAP sync stream */

#define ZKD_SNAP_SIGNATURE "BenWasHere" /* ends the SNAP body on the stream */
/* Longest ustring/buffer accepted in a stream (exclusive): bigger lengths
 * are taken as corruption rather than waited for. */
#define ZKD_SNAP_STREAM_MAX_STR (1L << 30)

/* Appends to @w the SNAP body of @dt (sessions, ACL cache, nodes, terminator
 * "/") as ZooKeeper's leader writes it: no FileHeader, no seal, and without
 * the "BenWasHere" signature, which the caller appends. Returns 0 or -ENOMEM
 * (@w->err is then set too). */
int zkd_snap_encode_stream(const zkd_datatree *dt, kz_wr *w);

/* Incremental scanner finding where body + signature end in a stream that
 * arrives in pieces. The receiver appends to one growing buffer and passes
 * the whole buffer each time (it may move: only offsets are kept); the
 * scanner resumes where it stopped, so the total work is linear in the
 * stream. Fixed-size records (sessions, node stats) are skipped in bulk.
 * Checks: counts >= 0; ustring/buffer lengths >= -1 and below
 * ZKD_SNAP_STREAM_MAX_STR; node paths and the signature not null; ACL
 * vectors not null (ZooKeeper's reader rejects them); the signature is
 * exactly "BenWasHere". It does not check the tree's shape (decode does). */
typedef struct zkd_snap_scan {
    size_t pos;    /* bytes consumed: everything before pos is checked */
    size_t limit;  /* 0: none; else the body + signature may not exceed it */
    int64_t left;  /* sessions or ACL cache entries still to come */
    int32_t acls;  /* ACLs still to come in the current cache entry */
    int32_t slen;  /* length of the ustring being skipped, or INT32_MIN */
    int state;     /* private */
    int err;       /* sticky result once negative */
} zkd_snap_scan;

/* Starts a scan at offset 0 with no limit (set sc->limit afterwards to bound
 * how far it may read, e.g. against a hostile leader). */
void zkd_snap_scan_init(zkd_snap_scan *sc);

/* Scans @buf[0..@len) from where the previous call stopped; @buf must hold
 * the same bytes as before plus any new ones (@len never shrinks). Returns
 * the total length of body + signature (> 0) once they are complete (bytes
 * after it belong to the next packets and are not looked at), 0 when more
 * bytes are needed, -EBADMSG when the stream is malformed, -EFBIG when it
 * would exceed sc->limit, -EINVAL when @len is less than what was already
 * consumed. Results are sticky: after > 0 or < 0, every call returns the
 * same. Never reads past @len. */
long zkd_snap_scan_feed(zkd_snap_scan *sc, const uint8_t *buf, size_t len);

/* Loads a complete SNAP body into @dt, fresh from zkd_dt_new (on failure it
 * holds part of the stream: free it). @p/@len is exactly what the scanner
 * delimited: the body AND the "BenWasHere" signature, nothing after it
 * (trailing bytes are rejected). Same checks as zkd_snap_read (lengths
 * against the bytes left and ZKD_SNAP_STREAM_MAX_STR, known ACL indexes,
 * parents before children) plus the signature; restores the sessions. Does
 * not set the last zxid: the caller takes it from the SNAP packet. Logs a
 * malformed stream. Returns 0, -EBADMSG or -ENOMEM. */
int zkd_snap_decode_stream(zkd_datatree *dt, const uint8_t *p, size_t len);

#endif
