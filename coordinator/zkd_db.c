/* coordinator/zkd_db.c -- start-up restore, autopurge and epoch files (see
 * zkd_db.h for the rules; formats in zkd_snap.h and zkd_txnlog.h). */
#include "zkd_db.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kz_buf.h"
#include "kz_fs.h"
#include "kz_log.h"
#include "zkd_snap.h"
#include "zkd_txnlog.h"

#define ZKD_DB_COMP      "FileTxnSnapLog"
#define ZKD_DB_MAX_SNAPS 100 /* FileSnap tries at most this many */

/* --------------------------------------------------------------- dirs */

static int zkd_db_v2(const char *base, char out[PATH_MAX])
{
    int n = snprintf(out, PATH_MAX, "%s/version-2", base);
    return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static const char *zkd_db_logbase(const zkd_db_cfg *cfg)
{
    return cfg->log_dir && cfg->log_dir[0] ? cfg->log_dir : cfg->data_dir;
}

int zkd_db_dirs(const zkd_db_cfg *cfg, char snap_dir[PATH_MAX], char log_dir[PATH_MAX])
{
    char s[PATH_MAX], l[PATH_MAX];
    int rc;
    if (!cfg->data_dir || !cfg->data_dir[0])
        return -EINVAL;
    if ((rc = zkd_db_v2(cfg->data_dir, s)) != 0 || (rc = zkd_db_v2(zkd_db_logbase(cfg), l)) != 0)
        return rc;
    if ((rc = kz_fs_mkdirs(s)) != 0 || (rc = kz_fs_mkdirs(l)) != 0)
        return rc;
    if (snap_dir)
        memcpy(snap_dir, s, sizeof s);
    if (log_dir)
        memcpy(log_dir, l, sizeof l);
    return 0;
}

/* ------------------------------------------------------------ restore */

/* Removes snapshot.<zxid>.tmp files a crash left behind. */
static void zkd_db_remove_stale_tmp(const char *snap_dir)
{
    zkd_zxid_file *v = NULL;
    size_t n = 0;
    if (zkd_zxid_files(snap_dir, "snapshot", &v, &n) != 0)
        return;
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        if (strcmp(zkd_zxid_file_suffix(&v[i]), ".tmp") != 0 ||
            kz_fs_join(path, sizeof path, snap_dir, v[i].name) != 0)
            continue;
        kz_info(ZKD_DB_COMP, "removing unfinished snapshot %s", path);
        unlink(path);
    }
    free(v);
}

/* Number of snapshot.* files other than .tmp ones (any we could not use). */
static size_t zkd_db_count_snapshots(const char *snap_dir)
{
    zkd_zxid_file *v = NULL;
    size_t n = 0, k = 0;
    if (zkd_zxid_files(snap_dir, "snapshot", &v, &n) != 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        k += strcmp(zkd_zxid_file_suffix(&v[i]), ".tmp") != 0;
    free(v);
    return k;
}

/* Loads the newest snapshot that works. 1 loaded, 0 none usable, -errno. */
static int zkd_db_load_snapshot(const char *snap_dir, zkd_datatree **out, int64_t *zxid)
{
    zkd_zxid_file *snaps = NULL;
    size_t n = 0;
    int rc = zkd_snap_list(snap_dir, ZKD_DB_MAX_SNAPS, &snaps, &n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        if ((rc = kz_fs_join(path, sizeof path, snap_dir, snaps[i].name)) != 0)
            break;
        zkd_datatree *dt = zkd_dt_new();
        if (!dt) {
            rc = -ENOMEM;
            break;
        }
        kz_info(ZKD_DB_COMP, "Reading snapshot %s", path);
        int64_t z = zkd_snap_read(dt, path);
        if (z >= 0) {
            *out = dt;
            *zxid = z;
            rc = 1;
            break;
        }
        zkd_dt_free(dt);
        if (z == -ENOMEM) {
            rc = -ENOMEM;
            break;
        }
        kz_warn(ZKD_DB_COMP, "problem reading snap file %s: %s; trying an older one", path,
                strerror((int)-z));
        rc = 0;
    }
    free(snaps);
    return rc;
}

/* Replays logged txns with zxid > dt's last zxid, then repairs the tail. */
static int zkd_db_replay(zkd_datatree *dt, const char *log_dir, int64_t snap_zxid, zkd_db_info *info)
{
    zkd_txnlog_iter *it = NULL;
    kz_arena a = KZ_ARENA_INIT;
    int64_t highest = snap_zxid;
    /* The first zxid after the snapshot (a snapshot named 0x7fffffffffffffff
     * has no successor: replay from it, its txn errors are ignored anyway). */
    int64_t next = snap_zxid < INT64_MAX ? snap_zxid + 1 : snap_zxid;
    int rc = zkd_txnlog_iter_open(&it, log_dir, next);
    if (rc)
        return rc;
    for (;;) {
        zkd_txnlog_entry e;
        if ((rc = zkd_txnlog_iter_next(it, &e)) <= 0)
            break;
        if (info->replayed == 0 && (e.zxid >> 32) == (snap_zxid >> 32) && e.zxid != next &&
            snap_zxid > 0)
            kz_warn(ZKD_DB_COMP, "first logged txn after snapshot 0x%" PRIx64 " is 0x%" PRIx64
                    " (missing log files?)", (uint64_t)snap_zxid, (uint64_t)e.zxid);
        if (e.zxid < highest)
            kz_error(ZKD_DB_COMP, "0x%" PRIx64 "(highestZxid) > 0x%" PRIx64 "(next log)",
                     (uint64_t)highest, (uint64_t)e.zxid);
        zkd_apply_result res;
        int arc = zkd_dt_apply(dt, e.txn, e.len, &res, &a);
        if (arc) {
            kz_error(ZKD_DB_COMP, "cannot apply txn 0x%" PRIx64 " from %s at offset %" PRId64 ": %s",
                     (uint64_t)e.zxid, e.file, e.offset, arc == KZ_ENOMEM ? "out of memory" : "undecodable");
            rc = arc == KZ_ENOMEM ? -ENOMEM : -EBADMSG;
            break;
        }
        if (res.r.err) {
            info->txn_errors++;
            kz_debug(ZKD_DB_COMP, "replay of 0x%" PRIx64 " (type %d): error %d ignored", (uint64_t)e.zxid,
                     (int)res.r.type, (int)res.r.err);
        }
        info->replayed++;
        if (e.zxid > highest)
            highest = e.zxid;
        if ((info->replayed & 1023) == 0)
            kz_arena_reset(&a);
    }
    kz_arena_reset(&a);
    if (rc == 0)
        rc = zkd_txnlog_iter_repair(it, &info->log_truncated);
    zkd_txnlog_iter_close(it);
    if (rc == 0) {
        zkd_dt_set_last_zxid(dt, highest);
        info->last_zxid = highest;
    }
    return rc;
}

int zkd_db_restore(const zkd_db_cfg *cfg, zkd_datatree **out, zkd_db_info *info_out)
{
    zkd_db_info *info = calloc(1, sizeof *info);
    zkd_datatree *dt = NULL;
    int64_t snap_zxid = 0;
    int rc;
    *out = NULL;
    if (!info)
        return -ENOMEM;
    if ((rc = zkd_db_dirs(cfg, info->snap_dir, info->log_dir)) != 0)
        goto out;
    zkd_db_remove_stale_tmp(info->snap_dir);
    if ((rc = zkd_db_load_snapshot(info->snap_dir, &dt, &snap_zxid)) < 0)
        goto out;
    if (rc == 0) {
        int64_t last = -1;
        if ((rc = zkd_txnlog_last_zxid(info->log_dir, &last)) != 0)
            goto out;
        if (zkd_db_count_snapshots(info->snap_dir) > 0) {
            kz_error(ZKD_DB_COMP, "Not able to find valid snapshots in %s", info->snap_dir);
            rc = -EBADMSG;
            goto out;
        }
        if (last >= 0 && !cfg->trust_empty_snapshot) {
            kz_error(ZKD_DB_COMP, "No snapshot found, but there are log entries (up to 0x%" PRIx64
                     ") in %s. Something is broken!", (uint64_t)last, info->log_dir);
            rc = -EBADMSG;
            goto out;
        }
        if (!(dt = zkd_dt_new())) {
            rc = -ENOMEM;
            goto out;
        }
        zkd_dt_set_last_zxid(dt, 0);
        if (last < 0) {
            info->fresh = true;
            kz_info(ZKD_DB_COMP, "no snapshot and no txn log: initialising an empty database");
            if ((rc = zkd_snap_write(dt, info->snap_dir, 0)) != 0)
                goto out;
        } else {
            kz_warn(ZKD_DB_COMP, "No snapshot found in %s; replaying the txn log from the start "
                    "(trust empty snapshot)", info->snap_dir);
        }
    }
    info->snap_zxid = snap_zxid;
    if ((rc = zkd_db_replay(dt, info->log_dir, snap_zxid, info)) != 0)
        goto out;
    kz_info(ZKD_DB_COMP, "restored snapshot 0x%" PRIx64 " + %" PRId64 " txns: last zxid 0x%" PRIx64
            ", %zu nodes, %zu sessions", (uint64_t)snap_zxid, info->replayed, (uint64_t)info->last_zxid,
            zkd_dt_node_count(dt), zkd_dt_session_count(dt));
out:
    if (rc) {
        kz_error(ZKD_DB_COMP, "restore of %s failed: %s", cfg->data_dir, strerror(-rc));
        zkd_dt_free(dt);
        dt = NULL;
    }
    *out = dt;
    if (info_out)
        *info_out = *info;
    free(info);
    return rc;
}

/* -------------------------------------------------------------- purge */

static int zkd_db_unlink(const char *dir, const char *name)
{
    char path[PATH_MAX];
    int rc = kz_fs_join(path, sizeof path, dir, name);
    if (rc)
        return rc;
    kz_info("PurgeTxnLog", "Removing file: %s", path);
    return unlink(path) == 0 || errno == ENOENT ? 0 : -errno;
}

int zkd_db_purge(const zkd_db_cfg *cfg, int retain)
{
    char snap_dir[PATH_MAX], log_dir[PATH_MAX];
    zkd_zxid_file *keep = NULL, *logs = NULL, *snaps = NULL;
    size_t nkeep = 0, nlogs = 0, nsnaps = 0;
    int rc, removed = 0;
    if (retain < 1)
        return -EINVAL;
    if ((rc = zkd_db_dirs(cfg, snap_dir, log_dir)) != 0)
        return rc;
    if ((rc = zkd_snap_list(snap_dir, (size_t)retain, &keep, &nkeep)) != 0 || nkeep == 0)
        goto out;
    int64_t least = keep[nkeep - 1].zxid;
    if ((rc = zkd_zxid_files(log_dir, "log", &logs, &nlogs)) != 0 ||
        (rc = zkd_zxid_files(snap_dir, "snapshot", &snaps, &nsnaps)) != 0)
        goto out;
    /* The log that can hold `least` and every later one replay the oldest
     * kept snapshot (FileTxnLog.getLogFiles). */
    size_t first_kept = nlogs ? zkd_zxid_files_start(logs, nlogs, least) : 0;
    for (size_t i = 0; i < first_kept && rc == 0; i++) {
        if (logs[i].zxid >= least)
            continue;
        if ((rc = zkd_db_unlink(log_dir, logs[i].name)) == 0)
            removed++;
    }
    for (size_t i = 0; i < nsnaps && rc == 0; i++) {
        if (snaps[i].zxid >= least)
            continue;
        if ((rc = zkd_db_unlink(snap_dir, snaps[i].name)) == 0)
            removed++;
    }
    if (removed > 0) {
        int r1 = kz_fs_fsync_dir(snap_dir), r2 = kz_fs_fsync_dir(log_dir);
        if (rc == 0)
            rc = r1 ? r1 : r2;
    }
out:
    free(keep);
    free(logs);
    free(snaps);
    return rc ? rc : removed;
}

/* -------------------------------------------------------------- epochs */

static int zkd_db_epoch_path(const zkd_db_cfg *cfg, const char *name, char dir[PATH_MAX], char path[PATH_MAX])
{
    int rc = zkd_db_v2(cfg->data_dir, dir);
    if (rc)
        return rc;
    if (strchr(name, '/'))
        return -EINVAL;
    return kz_fs_join(path, PATH_MAX, dir, name);
}

int zkd_db_epoch_read(const zkd_db_cfg *cfg, const char *name, int64_t *epoch)
{
    char dir[PATH_MAX], path[PATH_MAX], buf[32];
    int rc = zkd_db_epoch_path(cfg, name, dir, path);
    if (rc)
        return rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    rc = n < 0 ? -errno : 0;
    close(fd);
    if (rc)
        return rc;
    buf[n] = '\0';
    /* Long.parseLong of the first line: digits with an optional sign. */
    size_t len = strcspn(buf, "\r\n");
    buf[len] = '\0';
    char *end = NULL;
    errno = 0;
    long long v = len ? strtoll(buf, &end, 10) : 0;
    if (!len || errno || *end != '\0' || buf[0] == ' ' || buf[0] == '\t')
        return -EBADMSG;
    *epoch = v;
    return 0;
}

int zkd_db_epoch_write(const zkd_db_cfg *cfg, const char *name, int64_t epoch)
{
    char dir[PATH_MAX], path[PATH_MAX], buf[32];
    int rc = zkd_db_epoch_path(cfg, name, dir, path);
    if (rc)
        return rc;
    if ((rc = kz_fs_mkdirs(dir)) != 0)
        return rc;
    int len = snprintf(buf, sizeof buf, "%" PRId64, epoch);
    return kz_fs_write_durable(path, buf, (size_t)len);
}
