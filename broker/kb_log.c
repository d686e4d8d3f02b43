/* broker/kb_log.c -- one partition's log (contract and invariants in kb_log.h).
 *
 * Segments live in a sorted array; lookups by offset are binary searches on base offsets.
 * Every path that removes segments goes through kb_log_retire(), which implements the
 * asynchronous delete of Kafka (rename to *.deleted, unlink after file.delete.delay.ms) and
 * drops the log's reference, so that a reader's pin keeps the fd alive.
 * A failed I/O that leaves the segment list in doubt sets log->err; every later mutating call
 * returns it (Kafka takes the log directory offline in that case). A failed background sync
 * (kb_log_sync_done) and a failed write of the leader epoch checkpoint do the same.
 *
 * The leader epoch cache (kb_epoch_cache) is the log's alone: it is told about every append
 * (before the bytes are written, as Log.append does), every truncation and every rise of the
 * log start offset, and made consistent with the segments at open (see kb_log_epochs_load).
 * Locality: the broker loop thread. */
#include "kb_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kb_epoch_cache.h"
#include "kz_batch.h"
#include "kz_config.h"
#include "kz_fs.h"
#include "kz_log.h"
#include "kz_time.h"
#include "kz_vec.h"
#include "kz_wire.h"

#define KB_LOG_COMP "kafka.log.Log"

typedef struct kb_log_del {
    kb_segment *seg;
    int64_t due_ms;
} kb_log_del;

struct kb_log {
    char *parent; /* the log directory */
    char *dir;    /* parent/topic-partition */
    char *topic;
    int32_t partition;
    kb_log_cfg cfg;
    kb_segment **segs; /* sorted by base offset, never empty once open */
    size_t nsegs, segcap;
    int64_t log_start;
    int64_t recovery_point;
    int64_t hw; /* < 0: not tracked */
    int64_t last_flush_ms;
    kb_log_del *dels; /* segments renamed to .deleted, waiting for their delay */
    size_t ndels, delcap;
    int err; /* sticky: the segment list is in doubt after a failed I/O, or a sync failed */
    uint64_t gen; /* truncation generation: bumped whenever data at the tail is dropped */
    kb_epoch_cache *epochs; /* leader-epoch-checkpoint; NULL only while opening */
};

#define KB_LOG_WARN(log, fmt, ...)                                                                                \
    kz_warn(KB_LOG_COMP, "[Log partition=%s-%" PRId32 ", dir=%s] " fmt, (log)->topic, (log)->partition,          \
            (log)->parent, __VA_ARGS__)

/* ------------------------------------------------------------------ helpers */

/* Removes @name under directory fd @dfd, recursing into directories. */
static int kb_rm_at(int dfd, const char *name)
{
    if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR && errno != EPERM)
        return -errno;
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        return -e;
    }
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        int r = kb_rm_at(dirfd(d), de->d_name);
        if (r && !rc)
            rc = r;
    }
    closedir(d);
    if (unlinkat(dfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT && !rc)
        rc = -errno;
    return rc;
}

int kb_rm_rf(const char *path) { return kb_rm_at(AT_FDCWD, path); }

int kb_log_parse_dir_name(const char *name, char *topic, size_t cap, int32_t *partition)
{
    const char *dash = strrchr(name, '-');
    if (!dash || dash == name || dash[1] == '\0' || (dash[1] == '0' && dash[2] != '\0'))
        return -EINVAL; /* "t-07" would not be the directory of partition 7 */
    for (const char *p = dash + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return -EINVAL;
    size_t tl = (size_t)(dash - name);
    if (tl >= cap || kz_cfg_parse_i32(dash + 1, partition) != 0)
        return -EINVAL;
    memcpy(topic, name, tl);
    topic[tl] = '\0';
    return 0;
}

/* Parses "<digits><suffix>" exactly; returns the base offset or -1. */
static int64_t kb_parse_base(const char *name, const char *suffix)
{
    size_t n = strlen(name), sl = strlen(suffix);
    if (n <= sl || n - sl > 20 || strcmp(name + n - sl, suffix) != 0)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n - sl; i++) {
        if (name[i] < '0' || name[i] > '9' || v > (INT64_MAX - (name[i] - '0')) / 10)
            return -1;
        v = v * 10 + (name[i] - '0');
    }
    return v;
}

static bool kb_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), sl = strlen(suffix);
    return n >= sl && strcmp(s + n - sl, suffix) == 0;
}

static inline kb_segment *kb_active(const kb_log *log) { return log->segs[log->nsegs - 1]; }

int64_t kb_log_end_offset(const kb_log *log) { return kb_segment_next_offset(kb_active(log)); }

/* Index of the last segment whose base is <= @offset, or -1. */
static ssize_t kb_log_floor(const kb_log *log, int64_t offset)
{
    size_t lo = 0, hi = log->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (kb_segment_base(log->segs[mid]) <= offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (ssize_t)lo - 1;
}

static int kb_log_push(kb_log *log, kb_segment *s)
{
    if (KZ_VEC_RESERVE(log->segs, log->segcap, log->nsegs + 1, 8) != 0)
        return -ENOMEM;
    log->segs[log->nsegs++] = s;
    return 0;
}

/* Drops segments [@from, @from + @n) from the array (the caller owns their references). */
static void kb_log_cut(kb_log *log, size_t from, size_t n)
{
    memmove(log->segs + from, log->segs + from + n, (log->nsegs - from - n) * sizeof *log->segs);
    log->nsegs -= n;
}

/* Deletes segment @s, already out of the array: renamed to *.deleted and unlinked after the
 * delay, or unlinked now. Drops the log's reference. */
static void kb_log_retire(kb_log *log, kb_segment *s, int64_t now_ms)
{
    if (log->cfg.file_delete_delay_ms > 0 && kb_segment_mark_deleted(s) == 0) {
        if (KZ_VEC_RESERVE(log->dels, log->delcap, log->ndels + 1, 8) == 0) {
            log->dels[log->ndels++] = (kb_log_del){ s, now_ms + log->cfg.file_delete_delay_ms };
            return;
        }
    }
    kb_segment_unlink(s);
    kb_segment_unpin(s);
}

void kb_log_delete_expired(kb_log *log, int64_t now_ms)
{
    size_t k = 0;
    for (size_t i = 0; i < log->ndels; i++) {
        if (log->dels[i].due_ms <= now_ms) {
            kb_segment_unlink(log->dels[i].seg);
            kb_segment_unpin(log->dels[i].seg);
        } else {
            log->dels[k++] = log->dels[i];
        }
    }
    log->ndels = k;
}

/* Keeps hw within [log start, LEO] when tracked. */
static void kb_log_clamp(kb_log *log)
{
    int64_t leo = kb_log_end_offset(log);
    if (log->log_start > leo)
        log->log_start = leo;
    if (log->recovery_point > leo)
        log->recovery_point = leo;
    if (log->hw >= 0) {
        if (log->hw > leo)
            log->hw = leo;
        if (log->hw < log->log_start)
            log->hw = log->log_start;
    }
}

/* ---------------------------------------------------------- leader epochs */

/* The result @rc of a change to the epoch cache: a failure (the checkpoint could not be written,
 * or no memory) makes the log's error sticky, as Kafka takes the log directory offline when a
 * checkpoint write fails. Returns @rc. */
static int kb_log_epochs_check(kb_log *log, int rc)
{
    if (rc && !log->err) {
        kz_error(KB_LOG_COMP, "[Log partition=%s-%" PRId32 ", dir=%s] Error while updating the leader epoch cache: "
                 "%s; the log takes no more writes", log->topic, log->partition, log->parent, kb_log_strerror(rc));
        log->err = rc;
    }
    return rc;
}

/* The first bytes of a batch header that say where it starts, how long it is, its leader epoch
 * and its magic (kz_batch.h): baseOffset, batchLength, partitionLeaderEpoch, magic. */
#define KB_LOG_EPOCH_HDR (KZ_BATCH_LOG_OVERHEAD + 4 + 1)
#define KB_LOG_SCAN_CHUNK (64 * 1024)

/* Walks the batch headers of segments [@from, nsegs) and assigns every v2 batch's epoch that is
 * newer than the latest cached one from the batch's base offset (what LogSegment.recover does
 * for the batches it re-validates). Only headers matter; the file is read through a 64 KiB
 * window that serves every header inside it, so small batches cost one read per window and
 * batches larger than it one read each. Legacy entries carry no epoch and are skipped.
 * Returns 0 or a negative error. */
static int kb_log_epochs_scan(kb_log *log, size_t from)
{
    int rc = 0;
    uint8_t *buf = malloc(KB_LOG_SCAN_CHUNK);
    if (!buf)
        return -ENOMEM;
    for (size_t i = from; i < log->nsegs && rc == 0; i++) {
        kb_segment *s = log->segs[i];
        int fd = kb_segment_fd(s);
        int64_t size = kb_segment_size(s), pos = 0, wpos = 0, wlen = 0;
        while (pos + KB_LOG_EPOCH_HDR <= size) {
            if (pos < wpos || pos + KB_LOG_EPOCH_HDR > wpos + wlen) {
                size_t want = size - pos < KB_LOG_SCAN_CHUNK ? (size_t)(size - pos) : KB_LOG_SCAN_CHUNK;
                ssize_t r = pread(fd, buf, want, pos);
                if (r < 0 && errno == EINTR)
                    continue;
                if (r < KB_LOG_EPOCH_HDR) {
                    rc = r < 0 ? -errno : KB_LOG_ECORRUPT;
                    break;
                }
                wpos = pos;
                wlen = r;
            }
            const uint8_t *h = buf + (pos - wpos);
            int64_t base = (int64_t)kz_load_be64(h);
            int32_t length = (int32_t)kz_load_be32(h + 8);
            int32_t epoch = (int32_t)kz_load_be32(h + 12);
            if (length < KB_LOG_EPOCH_HDR - KZ_BATCH_LOG_OVERHEAD) {
                rc = KB_LOG_ECORRUPT; /* the segment was validated: this cannot be */
                break;
            }
            if (h[16] >= 2 && epoch >= 0 && epoch > kb_epoch_cache_latest_epoch(log->epochs) &&
                (rc = kb_epoch_cache_assign(log->epochs, epoch, base)) != 0)
                break;
            pos += (int64_t)length + KZ_BATCH_LOG_OVERHEAD;
        }
    }
    free(buf);
    return rc;
}

/* Loads the leader epoch cache and makes it agree with the segments just loaded, as Log's
 * initialization does: when the checkpoint is missing or malformed and the log holds data, the
 * cache is rebuilt from every batch header (this also covers logs written before the cache
 * existed); otherwise the epochs of the segments that recovery re-validated (from index
 * @recovered on; nsegs after a clean shutdown) are added when newer. Then entries at or above the
 * LEO go (recovery may have cut the log) and the first one is moved up to the log start.
 * @wiped: the segments were all deleted at open (LEO below the log start): the cache is emptied
 * (clearAndFlush). The checkpoint is written at most once, also to replace a malformed file.
 * Returns 0 or a negative error. */
static int kb_log_epochs_load(kb_log *log, size_t recovered, bool wiped)
{
    kb_epoch_file_state st;
    const char *slash = strrchr(log->dir, '/');
    int rc = kb_epoch_cache_open(&log->epochs, log->dir, slash ? slash + 1 : log->dir, &st);
    if (rc)
        return rc;
    bool has_data = kb_log_size(log) > 0;
    kb_epoch_cache_hold(log->epochs);
    if (wiped) {
        rc = kb_epoch_cache_truncate_fully(log->epochs);
    } else if (st != KB_EPOCH_FILE_LOADED && has_data) {
        KB_LOG_WARN(log, "The leader epoch checkpoint is %s: rebuilding it from the log",
                    st == KB_EPOCH_FILE_MISSING ? "missing" : "malformed");
        rc = kb_log_epochs_scan(log, 0);
    } else if (recovered < log->nsegs) {
        rc = kb_log_epochs_scan(log, recovered);
    }
    if (rc == 0)
        rc = kb_epoch_cache_truncate_from_end(log->epochs, kb_log_end_offset(log));
    if (rc == 0)
        rc = kb_epoch_cache_truncate_from_start(log->epochs, log->log_start);
    bool force = st == KB_EPOCH_FILE_MALFORMED || (st == KB_EPOCH_FILE_MISSING && has_data);
    int wrc = kb_epoch_cache_release(log->epochs, force && rc == 0);
    return rc ? rc : wrc;
}

/* The log start offset rose: the first epoch entry follows it (truncateFromStart). */
static int kb_log_epochs_start_moved(kb_log *log)
{
    return kb_log_epochs_check(log, kb_epoch_cache_truncate_from_start(log->epochs, log->log_start));
}

/* ------------------------------------------------------------------- open */

typedef struct kb_i64v {
    int64_t *v;
    size_t n, cap;
} kb_i64v;

static int kb_i64v_add(kb_i64v *a, int64_t x)
{
    if (KZ_VEC_RESERVE(a->v, a->cap, a->n + 1, 16) != 0)
        return -ENOMEM;
    a->v[a->n++] = x;
    return 0;
}

static int kb_i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static bool kb_i64v_has(const kb_i64v *a, int64_t x)
{
    return a->n > 0 && bsearch(&x, a->v, a->n, sizeof x, kb_i64_cmp) != NULL;
}

/* Lists the segment files of the partition directory: collects .log bases (sorted), removes
 * *.deleted / *.cleaned leftovers and index files whose .log is gone (Log.loadSegmentFiles). */
static int kb_log_scan_dir(kb_log *log, kb_i64v *bases)
{
    int rc = 0;
    kb_i64v idx = { 0 };
    DIR *d = opendir(log->dir);
    if (!d)
        return -errno;
    struct dirent *de;
    static const char *const index_sfx[] = { ".index", ".timeindex", ".txnindex" };
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        if (kb_ends_with(n, ".deleted") || kb_ends_with(n, ".cleaned")) {
            unlinkat(dirfd(d), n, 0);
            continue;
        }
        if (kb_ends_with(n, ".swap")) {
            KB_LOG_WARN(log, "Leaving %s alone: swap files are not recovered", n);
            continue;
        }
        int64_t b = kb_parse_base(n, ".log");
        if (b >= 0) {
            if ((rc = kb_i64v_add(bases, b)) != 0)
                goto out;
            continue;
        }
        for (size_t k = 0; k < sizeof index_sfx / sizeof *index_sfx; k++)
            if ((b = kb_parse_base(n, index_sfx[k])) >= 0 && (rc = kb_i64v_add(&idx, b)) != 0)
                goto out;
    }
    if (bases->n > 1)
        qsort(bases->v, bases->n, sizeof *bases->v, kb_i64_cmp);
    for (size_t i = 0; i < idx.n; i++) {
        if (kb_i64v_has(bases, idx.v[i]))
            continue;
        char p[PATH_MAX];
        for (size_t k = 0; k < sizeof index_sfx / sizeof *index_sfx; k++)
            if (kb_segment_path(p, sizeof p, log->dir, idx.v[i], index_sfx[k]) == 0)
                unlink(p);
    }
out:
    closedir(d);
    free(idx.v);
    return rc;
}

/* Recovers segment @s, logging what was cut. */
static int kb_log_recover_seg(kb_log *log, kb_segment *s, int64_t *cut)
{
    int rc = kb_segment_recover(s, cut);
    if (rc == 0 && *cut > 0)
        KB_LOG_WARN(log, "Corruption found in segment %" PRId64 ", truncating to offset %" PRId64 " (%" PRId64
                    " bytes cut)", kb_segment_base(s), kb_segment_next_offset(s), *cut);
    return rc;
}

/* Deletes every segment (files unlinked at once) and starts an empty one at @offset. */
static int kb_log_start_over(kb_log *log, int64_t offset, bool async, int64_t now_ms)
{
    log->gen++;
    while (log->nsegs > 0) {
        kb_segment *s = log->segs[--log->nsegs];
        if (async) {
            kb_log_retire(log, s, now_ms);
        } else {
            kb_segment_unlink(s);
            kb_segment_unpin(s);
        }
    }
    kb_segment *s;
    int rc = kb_segment_open(&s, log->dir, offset, &log->cfg, true, now_ms);
    if (rc == 0 && (rc = kb_log_push(log, s)) != 0)
        kb_segment_unpin(s);
    if (rc)
        log->err = rc;
    return rc;
}

int kb_log_open(kb_log **out, const char *dir, const char *topic, int32_t partition, const kb_log_cfg *cfg,
                int64_t recovery_point, int64_t log_start_offset, bool clean_shutdown)
{
    int rc = 0;
    kb_i64v bases = { 0 };
    int64_t now = kz_wall_ms();
    *out = NULL;
    if (partition < 0 || !topic[0])
        return -EINVAL;
    kb_log *log = calloc(1, sizeof *log);
    if (!log)
        return -ENOMEM;
    log->cfg = *cfg;
    log->partition = partition;
    log->hw = -1;
    log->last_flush_ms = now;
    size_t dl = strlen(dir) + strlen(topic) + 16;
    if (!(log->parent = strdup(dir)) || !(log->topic = strdup(topic)) || !(log->dir = malloc(dl))) {
        rc = -ENOMEM;
        goto out;
    }
    snprintf(log->dir, dl, "%s/%s-%" PRId32, dir, topic, partition);
    if (mkdir(log->dir, 0755) == 0) {
        kz_fs_fsync_dir(dir);
    } else if (errno != EEXIST) {
        rc = -errno;
        goto out;
    }
    if ((rc = kb_log_scan_dir(log, &bases)) != 0)
        goto out;

    /* segments from the one holding the recovery point on are recovered after a crash */
    size_t first_unflushed = bases.n;
    if (!clean_shutdown) {
        first_unflushed = 0;
        for (size_t i = 0; i < bases.n; i++)
            if (bases.v[i] <= recovery_point)
                first_unflushed = i;
    }
    bool truncated = false;
    for (size_t i = 0; i < bases.n; i++) {
        kb_segment *s;
        if ((rc = kb_segment_open(&s, log->dir, bases.v[i], cfg, false, now)) != 0)
            goto out;
        if (truncated) { /* after a cut in the recovery pass: later data goes */
            kb_segment_unlink(s);
            kb_segment_unpin(s);
            continue;
        }
        int64_t cut = 0;
        if (i >= first_unflushed) {
            rc = kb_log_recover_seg(log, s, &cut);
            truncated = cut > 0;
        } else if (kb_segment_needs_recovery(s)) {
            KB_LOG_WARN(log, "Could not find index files of segment %" PRId64 ", rebuilding them", bases.v[i]);
            rc = kb_log_recover_seg(log, s, &cut);
        } else if ((rc = kb_segment_load(s)) == KB_LOG_ECORRUPT) {
            KB_LOG_WARN(log, "Found a corrupted index or log tail in segment %" PRId64 ", rebuilding", bases.v[i]);
            rc = kb_log_recover_seg(log, s, &cut);
        }
        if (rc == 0)
            rc = kb_log_push(log, s);
        if (rc) {
            kb_segment_unpin(s);
            goto out;
        }
    }

    bool wiped = false;
    if (log->nsegs > 0 && kb_log_end_offset(log) < log_start_offset) {
        KB_LOG_WARN(log, "Deleting all segments because logEndOffset (%" PRId64 ") is smaller than logStartOffset (%"
                    PRId64 ")", kb_log_end_offset(log), log_start_offset);
        if ((rc = kb_log_start_over(log, log_start_offset, false, now)) != 0)
            goto out;
        wiped = true;
    }
    if (log->nsegs == 0 && (rc = kb_log_start_over(log, log_start_offset > 0 ? log_start_offset : 0, false, now)))
        goto out;
    int64_t first = kb_segment_base(log->segs[0]);
    log->log_start = log_start_offset > first ? log_start_offset : first;
    if ((rc = kb_segment_activate(kb_active(log), cfg)) != 0)
        goto out;
    int64_t leo = kb_log_end_offset(log);
    log->recovery_point = clean_shutdown ? leo : recovery_point < leo ? recovery_point : leo;
    if (log->recovery_point < 0)
        log->recovery_point = 0;
    kb_log_clamp(log);
    /* the segments recovered above keep their indexes in log->segs unless all were wiped */
    if ((rc = kb_log_epochs_load(log, clean_shutdown || wiped ? log->nsegs : first_unflushed, wiped)) != 0)
        goto out;
    *out = log;
    log = NULL;
out:
    free(bases.v);
    if (log) {
        log->err = rc;
        kb_log_close(log);
    }
    return rc;
}

/* ------------------------------------------------------------------- close */

void kb_log_close(kb_log *log)
{
    if (!log)
        return;
    if (log->nsegs > 0 && !log->err)
        kb_segment_deactivate(kb_active(log));
    for (size_t i = 0; i < log->ndels; i++) {
        kb_segment_unlink(log->dels[i].seg);
        kb_segment_unpin(log->dels[i].seg);
    }
    for (size_t i = 0; i < log->nsegs; i++)
        kb_segment_unpin(log->segs[i]);
    kb_epoch_cache_free(log->epochs);
    free(log->dels);
    free(log->segs);
    free(log->parent);
    free(log->dir);
    free(log->topic);
    free(log);
}

int kb_log_delete(kb_log *log)
{
    uint8_t r[16];
    char hex[33], *dst = NULL;
    int rc = 0;
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        for (size_t i = 0; i < sizeof r; i++) /* uniqueness, not secrecy, is what matters here */
            r[i] = (uint8_t)(kz_wall_ms() >> (i % 8) ^ (uint64_t)(uintptr_t)log >> i);
    }
    r[6] = (uint8_t)((r[6] & 0x0f) | 0x40); /* a version-4 UUID, printed without dashes */
    r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);
    for (size_t i = 0; i < sizeof r; i++)
        snprintf(hex + 2 * i, 3, "%02x", r[i]);
    /* Log.logDeleteDirName: the topic is shortened so that the name fits 255 bytes */
    char suffix[64];
    snprintf(suffix, sizeof suffix, "-%" PRId32 ".%s-delete", log->partition, hex);
    size_t tl = strlen(log->topic), sl = strlen(suffix);
    if (tl > 255 - sl)
        tl = 255 - sl;
    size_t cap = strlen(log->parent) + tl + sl + 2;
    if (!(dst = malloc(cap))) {
        rc = -ENOMEM;
        goto out;
    }
    snprintf(dst, cap, "%s/%.*s%s", log->parent, (int)tl, log->topic, suffix);
    for (size_t i = 0; i < log->ndels; i++)
        kb_segment_unpin(log->dels[i].seg);
    log->ndels = 0;
    if (rename(log->dir, dst) != 0) {
        rc = -errno;
        kb_rm_rf(log->dir);
        goto out;
    }
    kz_fs_fsync_dir(log->parent);
    rc = kb_rm_rf(dst);
out:
    free(dst);
    log->err = log->err ? log->err : -ENOENT; /* no deactivate on files that are gone */
    kb_log_close(log);
    return rc;
}

/* ------------------------------------------------------------------ append */

/* Starts a new active segment at @base (>= LEO). An empty active segment at that base is kept. */
static int kb_log_roll(kb_log *log, int64_t base, int64_t now_ms)
{
    kb_segment *old = kb_active(log), *s;
    if (kb_segment_base(old) == base && kb_segment_size(old) == 0)
        return 0;
    if (base < kb_segment_next_offset(old))
        return KB_LOG_EORDER;
    int rc = kb_segment_open(&s, log->dir, base, &log->cfg, true, now_ms);
    if (rc)
        return rc;
    if ((rc = kb_log_push(log, s)) != 0) {
        kb_segment_unlink(s);
        kb_segment_unpin(s);
        return rc;
    }
    /* No writeback is started here: on a busy disk even starting it
     * (sync_file_range) blocks the loop; the flusher thread syncs rolled
     * segments at the next checkpoint. */
    kb_segment_deactivate(old);
    return 0;
}

/* What a walk over the input batches found. */
typedef struct kb_in_scan {
    int32_t batches;
    int64_t count;        /* offsets covered, sum of lastOffsetDelta + 1 (leader) */
    int64_t first, last;  /* follower: offsets as stored */
    int64_t max_ts;
    int32_t max_ts_batch; /* index of the first batch carrying max_ts */
    int64_t max_ts_lod;   /* its lastOffsetDelta + offset-from-first (leader) */
    bool log_append_time;
} kb_in_scan;

/* Checks that @buf is whole magic-2 batches; for a follower also that offsets increase from
 * @leo on. */
static int kb_log_scan_input(const uint8_t *buf, size_t len, bool follower, int64_t leo, kb_in_scan *sc)
{
    *sc = (kb_in_scan){ .first = -1, .last = -1, .max_ts = -1, .max_ts_batch = -1 };
    size_t off = 0;
    int64_t rel = 0;
    while (off < len) {
        kz_batch_hdr h;
        if (kz_batch_peek(buf + off, len - off, 0, &h) != KZ_BATCH_OK || h.magic != 2)
            return KB_LOG_EBATCH;
        if (follower) {
            if (h.base_offset < (sc->batches ? sc->last + 1 : leo))
                return KB_LOG_EORDER;
            if (!sc->batches)
                sc->first = h.base_offset;
            sc->last = kz_batch_last_offset(&h);
        } else if (!sc->batches) {
            sc->log_append_time = h.attributes & KZ_BATCH_TS_LOGAPPEND;
        }
        rel += (int64_t)h.last_offset_delta + 1;
        if (h.max_ts > sc->max_ts) { /* Kafka keeps the first batch with the largest timestamp */
            sc->max_ts = h.max_ts;
            sc->max_ts_batch = sc->batches;
            sc->max_ts_lod = follower ? kz_batch_last_offset(&h) : rel - 1;
        }
        sc->batches++;
        off += kz_batch_size(&h);
    }
    sc->count = rel;
    return 0;
}

/* Records the epochs an append brings in the epoch cache, before the bytes are written (as
 * Log.append does): the leader's @epoch from @first on; for a follower the epoch of each batch
 * of @buf from its base offset. kb_epoch_cache_assign ignores the latest epoch repeated, so
 * this costs one comparison per batch unless the epoch changes. Returns 0 or the sticky error. */
static int kb_log_epochs_append(kb_log *log, const uint8_t *buf, size_t len, bool leader, int32_t epoch,
                                int64_t first)
{
    int rc = 0;
    if (leader)
        return kb_log_epochs_check(log, kb_epoch_cache_assign(log->epochs, epoch, first));
    for (size_t off = 0; off < len && rc == 0;) {
        kz_batch_hdr h;
        kz_batch_peek(buf + off, len - off, 0, &h); /* checked by kb_log_scan_input */
        rc = kb_epoch_cache_assign(log->epochs, h.leader_epoch, h.base_offset);
        off += kz_batch_size(&h);
    }
    return kb_log_epochs_check(log, rc);
}

/* The append both roles share: @assign rewrites offsets/epochs in @buf. */
static int kb_log_append_common(kb_log *log, uint8_t *buf, const uint8_t *cbuf, size_t len, bool assign,
                                int32_t epoch, int64_t now_ms, kb_log_append_info *info)
{
    if (log->err)
        return log->err;
    kb_log_append_info dummy;
    if (!info)
        info = &dummy;
    int64_t leo = kb_log_end_offset(log);
    *info = (kb_log_append_info){ .first_offset = -1, .last_offset = -1, .max_ts = -1, .max_ts_offset = -1,
                                  .log_append_time = -1, .log_start_offset = log->log_start };
    kb_in_scan sc;
    int rc = kb_log_scan_input(cbuf, len, !assign, leo, &sc);
    if (rc)
        return rc;
    if (len == 0)
        return 0;
    if (len > (size_t)log->cfg.segment_bytes)
        return KB_LOG_ETOOBIG;
    int64_t first = assign ? leo : sc.first;
    int64_t last = assign ? leo + sc.count - 1 : sc.last;
    int64_t max_ts_off = sc.max_ts_batch < 0 ? -1 : assign ? leo + sc.max_ts_lod : sc.max_ts_lod;
    if (kb_segment_should_roll(kb_active(log), &log->cfg, len, sc.max_ts, last, now_ms)) {
        if ((rc = kb_log_roll(log, first, now_ms)) != 0)
            return rc;
        info->rolled = true;
    }
    if (assign) {
        size_t off = 0;
        int64_t next = leo;
        while (off < len) {
            kz_batch_hdr h;
            kz_batch_peek(buf + off, len - off, 0, &h);
            kz_batch_set_base_offset(buf + off, next);
            kz_batch_set_leader_epoch(buf + off, epoch);
            next += (int64_t)h.last_offset_delta + 1;
            off += kz_batch_size(&h);
        }
    }
    if ((rc = kb_log_epochs_append(log, cbuf, len, assign, epoch, first)) != 0)
        return rc;
    if ((rc = kb_segment_append(kb_active(log), &log->cfg, cbuf, len, last, sc.max_ts, max_ts_off)) != 0)
        return rc;
    info->first_offset = first;
    info->last_offset = last;
    info->max_ts = sc.max_ts;
    info->max_ts_offset = max_ts_off;
    info->log_append_time = assign && sc.log_append_time ? now_ms : -1;
    info->batches = sc.batches;
    info->log_start_offset = log->log_start;
    if (kb_log_end_offset(log) - log->recovery_point >= log->cfg.flush_messages)
        return kb_log_flush(log);
    return 0;
}

int kb_log_append(kb_log *log, uint8_t *batches, size_t len, int32_t leader_epoch, int64_t now_ms,
                  kb_log_append_info *info)
{
    return kb_log_append_common(log, batches, batches, len, true, leader_epoch, now_ms, info);
}

int kb_log_append_as_follower(kb_log *log, const uint8_t *batches, size_t len, int64_t now_ms,
                              kb_log_append_info *info)
{
    return kb_log_append_common(log, NULL, batches, len, false, 0, now_ms, info);
}

/* -------------------------------------------------------------------- read */

int kb_log_read(kb_log *log, int64_t offset, int32_t max_bytes, int64_t max_offset, bool min_one,
                kb_log_read_info *info)
{
    int64_t leo = kb_log_end_offset(log);
    kb_segment *act = kb_active(log);
    *info = (kb_log_read_info){ .seg = act, .fd = kb_segment_fd(act), .pos = kb_segment_size(act),
                                .first_offset = offset, .next_offset = offset, .leo = leo,
                                .log_start = log->log_start };
    if (offset < log->log_start || offset > leo)
        return KB_LOG_EOFFSET;
    if (offset == leo)
        return 0;
    ssize_t i = kb_log_floor(log, offset);
    for (size_t k = i < 0 ? 0 : (size_t)i; k < log->nsegs; k++) {
        kb_segment *s = log->segs[k];
        int64_t pos;
        kz_batch_hdr h;
        int rc = kb_segment_find(s, offset, &pos, &h);
        if (rc < 0)
            return rc;
        if (rc == 0)
            continue;
        int64_t len = 0, next = offset;
        if ((rc = kb_segment_span(s, pos, max_bytes, max_offset, min_one, &len, &next)) != 0)
            return rc;
        info->seg = s;
        info->fd = kb_segment_fd(s);
        info->pos = pos;
        info->len = len;
        if (len > 0)
            info->first_offset = h.base_offset;
        info->next_offset = next;
        return 0;
    }
    return 0;
}

int kb_log_offset_for_time(kb_log *log, int64_t ts, int64_t *offset, int64_t *found_ts)
{
    *found_ts = -1;
    if (ts == KB_LOG_TS_EARLIEST) {
        *offset = log->log_start;
        return 0;
    }
    if (ts == KB_LOG_TS_LATEST) {
        *offset = kb_log_end_offset(log);
        return 0;
    }
    *offset = -1;
    for (size_t i = 0; i < log->nsegs; i++) {
        kb_segment *s = log->segs[i];
        if (kb_segment_next_offset(s) <= log->log_start || kb_segment_largest_ts(s) < ts)
            continue;
        int rc = kb_segment_find_ts(s, ts, log->log_start, offset, found_ts);
        if (rc < 0)
            return rc;
        if (rc == 1)
            return 0;
    }
    *offset = -1;
    *found_ts = -1;
    return 0;
}

/* --------------------------------------------------------------- deletion */

/* Which segments a retention rule lets go, oldest first (Log.deletableSegments). */
typedef bool kb_del_pred(kb_log *log, kb_segment *s, kb_segment *next, int64_t now_ms, int64_t *state);

static bool kb_pred_time(kb_log *log, kb_segment *s, kb_segment *next, int64_t now_ms, int64_t *state)
{
    (void)next;
    (void)state;
    return now_ms - kb_segment_largest_ts(s) > log->cfg.retention_ms;
}

static bool kb_pred_size(kb_log *log, kb_segment *s, kb_segment *next, int64_t now_ms, int64_t *diff)
{
    (void)log;
    (void)next;
    (void)now_ms;
    if (*diff - kb_segment_size(s) < 0)
        return false;
    *diff -= kb_segment_size(s);
    return true;
}

static bool kb_pred_start(kb_log *log, kb_segment *s, kb_segment *next, int64_t now_ms, int64_t *state)
{
    (void)s;
    (void)now_ms;
    (void)state;
    return next && kb_segment_base(next) <= log->log_start;
}

/* Deletes the oldest segments @pred accepts, never past the high watermark (or LEO), never an
 * empty active segment; rolls first when all would go. Returns how many went. */
static int kb_log_delete_old(kb_log *log, kb_del_pred *pred, int64_t now_ms, int64_t state)
{
    if (log->err)
        return log->err;
    int64_t leo = kb_log_end_offset(log);
    int64_t bound = log->hw >= 0 ? log->hw : leo;
    size_t n = 0;
    for (size_t i = 0; i < log->nsegs; i++) {
        kb_segment *s = log->segs[i], *next = i + 1 < log->nsegs ? log->segs[i + 1] : NULL;
        int64_t upper = next ? kb_segment_base(next) : leo;
        bool last_and_empty = !next && kb_segment_size(s) == 0;
        if (bound < upper || last_and_empty || !pred(log, s, next, now_ms, &state))
            break;
        n++;
    }
    if (n == 0)
        return 0;
    if (n == log->nsegs) {
        int rc = kb_log_roll(log, leo, now_ms);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < n; i++)
        kb_log_retire(log, log->segs[i], now_ms);
    kb_log_cut(log, 0, n);
    int64_t first = kb_segment_base(log->segs[0]);
    if (log->log_start < first)
        log->log_start = first;
    kb_log_clamp(log);
    int rc = kb_log_epochs_start_moved(log);
    return rc ? rc : (int)n;
}

int kb_log_retention(kb_log *log, int64_t now_ms)
{
    kb_log_delete_expired(log, now_ms);
    int total = 0, rc;
    if (log->cfg.cleanup_delete && log->cfg.retention_ms >= 0) {
        if ((rc = kb_log_delete_old(log, kb_pred_time, now_ms, 0)) < 0)
            return rc;
        total += rc;
    }
    if (log->cfg.cleanup_delete && log->cfg.retention_bytes >= 0 && kb_log_size(log) >= log->cfg.retention_bytes) {
        if ((rc = kb_log_delete_old(log, kb_pred_size, now_ms, kb_log_size(log) - log->cfg.retention_bytes)) < 0)
            return rc;
        total += rc;
    }
    if ((rc = kb_log_delete_old(log, kb_pred_start, now_ms, 0)) < 0)
        return rc;
    return total + rc;
}

int kb_log_delete_records_before(kb_log *log, int64_t offset)
{
    if (log->err)
        return log->err;
    int64_t bound = log->hw >= 0 ? log->hw : kb_log_end_offset(log);
    if (offset > bound || offset < 0)
        return KB_LOG_EOFFSET;
    if (offset <= log->log_start)
        return 0;
    log->log_start = offset;
    int n = kb_log_delete_old(log, kb_pred_start, kz_wall_ms(), 0);
    if (n < 0)
        return n;
    int rc = kb_log_epochs_start_moved(log);
    return rc ? rc : n;
}

/* --------------------------------------------------------------- truncation */

int kb_log_truncate_fully(kb_log *log, int64_t offset)
{
    if (log->err)
        return log->err;
    if (offset < 0)
        return -EINVAL;
    int rc = kb_log_start_over(log, offset, true, kz_wall_ms());
    if (rc)
        return rc;
    log->log_start = offset;
    log->recovery_point = log->recovery_point < offset ? log->recovery_point : offset;
    if (log->hw >= 0)
        log->hw = offset;
    kb_log_clamp(log);
    return kb_log_epochs_check(log, kb_epoch_cache_truncate_fully(log->epochs));
}

int kb_log_truncate_to(kb_log *log, int64_t offset)
{
    if (log->err)
        return log->err;
    if (offset < 0)
        return -EINVAL;
    if (offset >= kb_log_end_offset(log))
        return 0;
    if (offset < kb_segment_base(log->segs[0]))
        return kb_log_truncate_fully(log, offset);
    int64_t now = kz_wall_ms();
    log->gen++; /* a sync taken before this no longer says anything about [offset, LEO) */
    while (kb_segment_base(kb_active(log)) > offset) {
        kb_segment *s = kb_active(log);
        log->nsegs--;
        kb_log_retire(log, s, now);
    }
    kb_segment *act = kb_active(log);
    int64_t cut = kb_segment_truncate_to(act, offset);
    if (cut < 0)
        return log->err = (int)cut;
    int rc = kb_segment_activate(act, &log->cfg);
    if (rc)
        return log->err = rc;
    if (log->log_start > offset)
        log->log_start = offset;
    kb_log_clamp(log);
    return kb_log_epochs_check(log, kb_epoch_cache_truncate_from_end(log->epochs, offset));
}

/* ------------------------------------------------------------------- flush */

/* fsyncs segments [0, @to) that hold data at or above the recovery point (and the active one
 * when included), then the directory. */
static int kb_log_flush_range(kb_log *log, size_t to)
{
    int rc;
    for (size_t i = 0; i < to; i++) {
        kb_segment *s = log->segs[i];
        if (kb_segment_next_offset(s) <= log->recovery_point && i + 1 < log->nsegs)
            continue;
        if ((rc = kb_segment_flush(s)) != 0)
            return rc;
    }
    return kz_fs_fsync_dir(log->dir);
}

int kb_log_flush(kb_log *log)
{
    if (log->err)
        return log->err;
    int rc = kb_log_flush_range(log, log->nsegs);
    if (rc)
        return rc;
    log->recovery_point = kb_log_end_offset(log);
    log->last_flush_ms = kz_wall_ms();
    return 0;
}

int kb_log_flush_rolled(kb_log *log)
{
    if (log->err)
        return log->err;
    int64_t base = kb_segment_base(kb_active(log));
    if (base <= log->recovery_point)
        return 0;
    int rc = kb_log_flush_range(log, log->nsegs - 1);
    if (rc)
        return rc;
    log->recovery_point = base;
    return 0;
}

bool kb_log_flush_is_due(const kb_log *log, int64_t now_ms)
{
    return log->cfg.flush_ms != INT64_MAX && kb_log_end_offset(log) > log->recovery_point &&
           now_ms - log->last_flush_ms >= log->cfg.flush_ms;
}

int kb_log_flush_due(kb_log *log, int64_t now_ms)
{
    return kb_log_flush_is_due(log, now_ms) ? kb_log_flush(log) : 0;
}

void kb_log_sync_release(kb_log_sync *sync)
{
    if (!sync)
        return;
    for (size_t i = 0; i < sync->nfds; i++)
        close(sync->fds[i]);
    free(sync->fds);
    sync->fds = NULL;
    sync->nfds = 0;
    if (sync->dir_fd >= 0)
        close(sync->dir_fd);
    sync->dir_fd = -1;
}

/* The same choice of segments as kb_log_flush_range, as descriptors: segments [0, to) holding
 * data at or above the recovery point (the active one always, when included). */
int kb_log_sync_begin(kb_log *log, bool include_active, kb_log_sync *out)
{
    *out = (kb_log_sync){ .dir_fd = -1, .gen = log->gen, .active = include_active };
    if (log->err)
        return log->err;
    size_t to = include_active ? log->nsegs : log->nsegs - 1;
    out->upto = include_active ? kb_log_end_offset(log) : kb_segment_base(kb_active(log));
    if (out->upto <= log->recovery_point)
        return 0;
    int rc = 0;
    size_t n = 0;
    for (size_t i = 0; i < to; i++)
        n += kb_segment_next_offset(log->segs[i]) > log->recovery_point || i + 1 == log->nsegs;
    if (n > 0 && !(out->fds = calloc(n * 3, sizeof *out->fds))) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < to; i++) {
        kb_segment *s = log->segs[i];
        if (kb_segment_next_offset(s) <= log->recovery_point && i + 1 < log->nsegs)
            continue;
        if ((rc = kb_segment_dup_fds(s, out->fds + out->nfds)) != 0)
            goto out;
        out->nfds += 3;
    }
    if ((out->dir_fd = open(log->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        rc = -errno;
out:
    if (rc) {
        kb_log_sync_release(out);
        return rc;
    }
    return 1;
}

void kb_log_sync_done(kb_log *log, const kb_log_sync *sync, int rc)
{
    if (rc) {
        kz_error(KB_LOG_COMP, "[Log partition=%s-%" PRId32 ", dir=%s] Error while flushing log up to offset %"
                 PRId64 ": %s; the log takes no more writes", log->topic, log->partition, log->parent, sync->upto,
                 kb_log_strerror(rc));
        if (!log->err)
            log->err = rc;
        return;
    }
    if (log->err || sync->gen != log->gen)
        return;
    int64_t leo = kb_log_end_offset(log), upto = sync->upto < leo ? sync->upto : leo;
    if (upto > log->recovery_point)
        log->recovery_point = upto;
    if (sync->active)
        log->last_flush_ms = kz_wall_ms();
}

/* --------------------------------------------------------------- accessors */

void kb_log_assign_epoch(kb_log *log, int32_t epoch, int64_t start_offset)
{
    if (!log->err)
        kb_log_epochs_check(log, kb_epoch_cache_assign(log->epochs, epoch, start_offset));
}

int32_t kb_log_latest_epoch(const kb_log *log) { return kb_epoch_cache_latest_epoch(log->epochs); }

void kb_log_end_offset_for_epoch(const kb_log *log, int32_t epoch, int32_t *epoch_out, int64_t *end_out)
{
    kb_epoch_cache_end_offset_for(log->epochs, epoch, kb_log_end_offset(log), epoch_out, end_out);
}

int64_t kb_log_epoch_start_offset(const kb_log *log, int32_t epoch)
{
    return kb_epoch_cache_start_offset(log->epochs, epoch);
}

void kb_log_set_cfg(kb_log *log, const kb_log_cfg *cfg) { log->cfg = *cfg; }
const kb_log_cfg *kb_log_cfg_get(const kb_log *log) { return &log->cfg; }

void kb_log_set_high_watermark(kb_log *log, int64_t hw)
{
    log->hw = hw < 0 ? -1 : hw;
    kb_log_clamp(log);
}

int64_t kb_log_high_watermark(const kb_log *log) { return log->hw; }
int64_t kb_log_start_offset(const kb_log *log) { return log->log_start; }
int64_t kb_log_recovery_point(const kb_log *log) { return log->recovery_point; }
int kb_log_error(const kb_log *log) { return log->err; }
size_t kb_log_num_segments(const kb_log *log) { return log->nsegs; }
kb_segment *kb_log_segment_at(const kb_log *log, size_t i) { return i < log->nsegs ? log->segs[i] : NULL; }
const char *kb_log_topic(const kb_log *log) { return log->topic; }
int32_t kb_log_partition(const kb_log *log) { return log->partition; }
const char *kb_log_dir(const kb_log *log) { return log->dir; }
const char *kb_log_parent_dir(const kb_log *log) { return log->parent; }

int64_t kb_log_size(const kb_log *log)
{
    int64_t n = 0;
    for (size_t i = 0; i < log->nsegs; i++)
        n += kb_segment_size(log->segs[i]);
    return n;
}
