/* coordinator/zkd_db.h -- the on-disk database: start-up restore (snapshot +
 * txn log replay), autopurge, and the quorum epoch files.
 *
 * Layout (FileTxnSnapLog.java): snapshots and the epoch files in
 * <dataDir>/version-2/, txn logs in <dataLogDir>/version-2/ (dataLogDir
 * defaults to dataDir).
 *
 * Restore (ZKDatabase.loadDataBase / FileTxnSnapLog.restore):
 *   1. create the version-2 directories (and their parents) when missing;
 *   2. load the newest snapshot that reads and seals correctly, falling
 *      back to older ones (at most 100 are tried, like ZooKeeper);
 *   3. replay every logged txn with zxid > the snapshot's zxid through
 *      zkd_dt_apply in zxid order; a txn's own error (NODEEXISTS, NONODE...)
 *      is ignored, as ZooKeeper does over its fuzzy snapshots; a txn that
 *      cannot be decoded stops the restore;
 *   4. cut the torn tail of the last log file;
 *   5. with neither snapshot nor log: a fresh tree, zxid 0, and snapshot.0
 *      written at once (as ZooKeeper does) so the dataDir is valid for it.
 * Snapshots that exist but all fail, or logs without any snapshot, stop the
 * restore (ZooKeeper: "No snapshot found, but there are log entries.
 * Something is broken!") unless trust_empty_snapshot is set.
 *
 * Epoch files acceptedEpoch / currentEpoch: decimal ASCII without newline,
 * written to <name>.tmp, fsync, rename, fsync(dir).
 *
 * Error convention: 0 or a negative errno (-EBADMSG: corrupt content).
 * Locality: loop thread at start-up (restore); purge runs wherever the
 * server schedules it (it only unlinks files no reader uses). */
#ifndef ZKD_DB_H
#define ZKD_DB_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "zkd_datatree.h"

typedef struct zkd_db_cfg {
    const char *data_dir;      /* dataDir (required) */
    const char *log_dir;       /* dataLogDir; NULL or "" = data_dir */
    bool trust_empty_snapshot; /* zookeeper.snapshot.trust.empty */
} zkd_db_cfg;

typedef struct zkd_db_info {
    int64_t snap_zxid;   /* zxid of the snapshot loaded (0 for a fresh db) */
    int64_t last_zxid;   /* last applied zxid after replay */
    int64_t replayed;    /* txns applied from the log */
    int64_t txn_errors;  /* of those, how many carried their own error */
    bool fresh;          /* nothing on disk: snapshot.0 was written */
    bool log_truncated;  /* a torn log tail was cut */
    char snap_dir[PATH_MAX]; /* <dataDir>/version-2 */
    char log_dir[PATH_MAX];  /* <dataLogDir>/version-2 */
} zkd_db_info;

/* The version-2 directories for @cfg, created (with parents) if missing.
 * Either output may be NULL. Returns 0 or -errno. */
int zkd_db_dirs(const zkd_db_cfg *cfg, char snap_dir[PATH_MAX], char log_dir[PATH_MAX]);

/* Restores the database (see the file comment). On success *dt is a new
 * tree the caller owns, with its last zxid set, and @info (may be NULL) says
 * what happened. Returns 0 or -errno; *dt is NULL on failure. */
int zkd_db_restore(const zkd_db_cfg *cfg, zkd_datatree **dt, zkd_db_info *info);

/* Autopurge (PurgeTxnLog.purge): keeps the newest @retain valid snapshots
 * (>= 1) and every log file needed to replay from the oldest of them (the
 * file that can hold its zxid and all later ones); removes snapshot.* and
 * log.* files with a smaller zxid. Nothing is removed when no valid
 * snapshot exists. Returns the number of files removed or -errno. */
int zkd_db_purge(const zkd_db_cfg *cfg, int retain);

/* Epoch files in <dataDir>/version-2: @name is "acceptedEpoch" or
 * "currentEpoch". read: 0 with *epoch set, -ENOENT when missing, -EBADMSG
 * when not a decimal number. write: 0 or -errno (durable on success). */
#define ZKD_ACCEPTED_EPOCH "acceptedEpoch"
#define ZKD_CURRENT_EPOCH  "currentEpoch"
int zkd_db_epoch_read(const zkd_db_cfg *cfg, const char *name, int64_t *epoch);
int zkd_db_epoch_write(const zkd_db_cfg *cfg, const char *name, int64_t epoch);

#endif
