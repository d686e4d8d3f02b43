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
 * Error convention: 0 or a negative errno; -EBADMSG means a malformed file.
 * Locality: the loop thread forks; the child only reads the (copy-on-write)
 * tree and never logs (another thread may hold the log mutex at fork time). */
#ifndef ZKD_SNAP_H
#define ZKD_SNAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "zkd_datatree.h"
#include "zkd_txnlog.h"

/* Writes snapshot.<zxid> of @dt into @dir (the version-2 directory) durably.
 * Logs the outcome. Returns 0 or -errno. */
int zkd_snap_write(const zkd_datatree *dt, const char *dir, int64_t zxid);

/* Loads the snapshot at @path into @dt, which must be fresh from zkd_dt_new
 * (on failure @dt holds part of the file: free it). Checks the magic, every
 * length against the bytes left, the parent of each node, and the seal.
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

#endif
