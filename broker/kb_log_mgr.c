/* broker/kb_log_mgr.c -- the broker's logs across log.dirs (contract and file formats in
 * kb_log_mgr.h).
 *
 * Logs are found by (topic, partition) in an open-addressing table of entries {kb_log, id,
 * syncing} (linear probing, backward-shift deletion, grown at 3/4 load); a log knows its
 * directory, so per-directory work (checkpoints, partition counts) filters the table by
 * kb_log_parent_dir().
 *
 * Background flushing (with an event_base): the checkpoint and flush.ms timers never fsync.
 * For each log they take a kb_log_sync (duplicated descriptors, the offset it covers, the
 * log's truncation generation), hand it to the kb_flusher thread, and mark the entry
 * `syncing` so that a log has at most one job under way. The job's context names the log by
 * (topic, partition, id), never by pointer: when the completion runs on the loop, a log that
 * was deleted meanwhile has no entry (or one with another id) and the result is dropped;
 * otherwise kb_log_sync_done raises the recovery point. The checkpoint that posts a job thus
 * writes the recovery point of the previous jobs: the file only ever names synced offsets.
 * flush.messages stays synchronous, inside the append that crosses it (as in Kafka, where
 * the producing request waits for that flush). Closing drains the flusher, joins it, and
 * flushes the rest synchronously before writing the clean-shutdown marker.
 * Locality: the broker loop thread (the flusher thread only sees descriptors and its own
 * copies of checkpoint contents). */
#include "kb_log_mgr.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kb_checkpoint.h"
#include "kb_flusher.h"
#include "kz_buf.h"
#include "kz_config.h"
#include "kz_fs.h"
#include "kz_log.h"
#include "kz_vec.h"

#define KB_MGR_COMP "kafka.log.LogManager"

typedef struct kb_mgr_dir {
    char *path;
    int lock_fd;
    bool was_clean;
} kb_mgr_dir;

typedef struct kb_mgr_tcfg {
    char *topic;
    kb_log_cfg cfg;
} kb_mgr_tcfg;

/* A slot of the log table. @id tells a log from a later log of the same partition, so that a
 * flusher completion for a deleted log never touches its successor. */
typedef struct kb_mgr_ent {
    kb_log *log;  /* NULL: free slot */
    uint64_t id;  /* unique within the manager */
    bool syncing; /* a flusher job of this log is queued or running */
} kb_mgr_ent;

struct kb_log_mgr {
    kb_log_cfg defaults;
    kb_log_mgr_meta meta;
    kb_mgr_dir *dirs;
    int ndirs;
    kb_mgr_ent *slots; /* open addressing */
    size_t cap, n;
    uint64_t next_id;
    kb_mgr_tcfg *tcfg;
    size_t ntcfg, tcfg_cap;
    kb_flusher *flusher; /* NULL: rolled segments are fsynced on the calling thread */
};

static void kb_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void kb_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------- log table */

static uint64_t kb_tp_hash(const char *topic, int32_t partition)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)topic; *p; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    h ^= (uint64_t)(uint32_t)partition * 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 29);
}

static bool kb_tp_is(const kb_log *log, const char *topic, int32_t partition)
{
    return kb_log_partition(log) == partition && strcmp(kb_log_topic(log), topic) == 0;
}

/* Slot holding the log, or the free slot where it would go (cap > 0). */
static size_t kb_tab_slot(const kb_log_mgr *m, const char *topic, int32_t partition)
{
    size_t mask = m->cap - 1, i = (size_t)kb_tp_hash(topic, partition) & mask;
    while (m->slots[i].log && !kb_tp_is(m->slots[i].log, topic, partition))
        i = (i + 1) & mask;
    return i;
}

/* Adds @log (absent from the table) under a new id. */
static int kb_tab_put(kb_log_mgr *m, kb_log *log)
{
    if ((m->n + 1) * 4 > m->cap * 3) {
        size_t ncap = m->cap ? m->cap * 2 : 64;
        kb_mgr_ent *ns = calloc(ncap, sizeof *ns), *old = m->slots;
        if (!ns)
            return -ENOMEM;
        size_t ocap = m->cap;
        m->slots = ns;
        m->cap = ncap;
        for (size_t i = 0; i < ocap; i++)
            if (old[i].log)
                m->slots[kb_tab_slot(m, kb_log_topic(old[i].log), kb_log_partition(old[i].log))] = old[i];
        free(old);
    }
    size_t i = kb_tab_slot(m, kb_log_topic(log), kb_log_partition(log));
    if (!m->slots[i].log)
        m->n++;
    m->slots[i] = (kb_mgr_ent){ log, ++m->next_id, false };
    return 0;
}

/* Removes the entry at slot @i, shifting the rest of its cluster back. */
static void kb_tab_del_slot(kb_log_mgr *m, size_t i)
{
    size_t mask = m->cap - 1, j = i;
    m->slots[i] = (kb_mgr_ent){ 0 };
    m->n--;
    for (;;) {
        j = (j + 1) & mask;
        kb_log *l = m->slots[j].log;
        if (!l)
            return;
        size_t home = (size_t)kb_tp_hash(kb_log_topic(l), kb_log_partition(l)) & mask;
        /* move l into the hole at i when its home is not within (i, j] cyclically */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            m->slots[i] = m->slots[j];
            m->slots[j] = (kb_mgr_ent){ 0 };
            i = j;
        }
    }
}

/* The entry of @topic/@partition, or NULL. */
static kb_mgr_ent *kb_tab_find(const kb_log_mgr *m, const char *topic, int32_t partition)
{
    if (m->cap == 0)
        return NULL;
    kb_mgr_ent *e = &m->slots[kb_tab_slot(m, topic, partition)];
    return e->log ? e : NULL;
}

kb_log *kb_log_mgr_get(const kb_log_mgr *m, const char *topic, int32_t partition)
{
    kb_mgr_ent *e = kb_tab_find(m, topic, partition);
    return e ? e->log : NULL;
}

kb_log *kb_log_mgr_next(const kb_log_mgr *m, size_t *it)
{
    for (; *it < m->cap; (*it)++)
        if (m->slots[*it].log)
            return m->slots[(*it)++].log;
    return NULL;
}

size_t kb_log_mgr_count(const kb_log_mgr *m) { return m->n; }
int kb_log_mgr_ndirs(const kb_log_mgr *m) { return m->ndirs; }
const char *kb_log_mgr_dir(const kb_log_mgr *m, int i) { return i >= 0 && i < m->ndirs ? m->dirs[i].path : NULL; }
bool kb_log_mgr_dir_was_clean(const kb_log_mgr *m, int i) { return i >= 0 && i < m->ndirs && m->dirs[i].was_clean; }

/* ------------------------------------------------------------ topic config */

const kb_log_cfg *kb_log_mgr_topic_cfg(const kb_log_mgr *m, const char *topic)
{
    for (size_t i = 0; i < m->ntcfg; i++)
        if (!strcmp(m->tcfg[i].topic, topic))
            return &m->tcfg[i].cfg;
    return &m->defaults;
}

/* Applies the current configuration of @topic (all topics when NULL) to the open logs. */
static void kb_mgr_apply_cfg(kb_log_mgr *m, const char *topic)
{
    kb_log *log;
    for (size_t it = 0; (log = kb_log_mgr_next(m, &it));)
        if (!topic || !strcmp(kb_log_topic(log), topic))
            kb_log_set_cfg(log, kb_log_mgr_topic_cfg(m, kb_log_topic(log)));
}

int kb_log_mgr_set_topic_cfg(kb_log_mgr *m, const char *topic, const kb_log_cfg *cfg)
{
    size_t i = 0;
    while (i < m->ntcfg && strcmp(m->tcfg[i].topic, topic))
        i++;
    if (!cfg) {
        if (i < m->ntcfg) {
            free(m->tcfg[i].topic);
            m->tcfg[i] = m->tcfg[--m->ntcfg];
        }
    } else if (i < m->ntcfg) {
        m->tcfg[i].cfg = *cfg;
    } else {
        if (KZ_VEC_RESERVE(m->tcfg, m->tcfg_cap, m->ntcfg + 1, 8) != 0)
            return -ENOMEM;
        char *t = strdup(topic);
        if (!t)
            return -ENOMEM;
        m->tcfg[m->ntcfg++] = (kb_mgr_tcfg){ t, *cfg };
    }
    kb_mgr_apply_cfg(m, topic);
    return 0;
}

void kb_log_mgr_set_defaults(kb_log_mgr *m, const kb_log_cfg *cfg)
{
    m->defaults = *cfg;
    kb_mgr_apply_cfg(m, NULL);
}

/* ---------------------------------------------------------- meta.properties */

typedef struct kb_meta_rd {
    int32_t version, broker_id;
    char cluster_id[64];
    const char *bad; /* first problem found */
} kb_meta_rd;

static int kb_meta_prop(void *ctx, const char *key, const char *value, int lineno)
{
    kb_meta_rd *r = ctx;
    (void)lineno;
    if (!strcmp(key, "version")) {
        if (kz_cfg_parse_i32(value, &r->version) != 0)
            r->bad = "version is not a number";
    } else if (!strcmp(key, "broker.id")) {
        if (kz_cfg_parse_i32(value, &r->broker_id) != 0)
            r->bad = "broker.id is not a number";
    } else if (!strcmp(key, "cluster.id")) {
        if (strlen(value) >= sizeof r->cluster_id)
            r->bad = "cluster.id is too long";
        else
            strcpy(r->cluster_id, value);
    }
    return 0;
}

/* Reads <dir>/meta.properties. Returns 1 when read, 0 when absent, KB_LOG_EMETA on a bad file. */
static int kb_meta_read(const char *dir, kb_meta_rd *r, char *err, size_t errlen)
{
    char path[PATH_MAX], perr[256];
    *r = (kb_meta_rd){ .version = 0, .broker_id = -1 };
    if (kz_fs_join(path, sizeof path, dir, KB_META_FILE) != 0)
        return -ENAMETOOLONG;
    if (access(path, F_OK) != 0)
        return errno == ENOENT ? 0 : -errno;
    if (kz_props_parse_file(path, kb_meta_prop, r, perr, sizeof perr) != 0) {
        kb_errf(err, errlen, "Failed to read %s: %s", path, perr);
        return KB_LOG_EMETA;
    }
    if (r->bad) {
        kb_errf(err, errlen, "Failed to read %s: %s", path, r->bad);
        return KB_LOG_EMETA;
    }
    return 1;
}

/* Java Properties.saveConvert for a key or value: \, blanks, = : # ! and control characters
 * escaped (a leading space only, in a value). */
static void kb_props_escape(kz_wr *w, const char *s, bool is_key)
{
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        switch (c) {
        case '\\': kz_wr_bytes(w, "\\\\", 2); break;
        case '\t': kz_wr_bytes(w, "\\t", 2); break;
        case '\n': kz_wr_bytes(w, "\\n", 2); break;
        case '\r': kz_wr_bytes(w, "\\r", 2); break;
        case '\f': kz_wr_bytes(w, "\\f", 2); break;
        case '=': case ':': case '#': case '!': kz_wr_u8(w, '\\'); kz_wr_u8(w, c); break;
        case ' ':
            if (p == s || is_key)
                kz_wr_u8(w, '\\');
            kz_wr_u8(w, ' ');
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                char u[8];
                snprintf(u, sizeof u, "\\u%04X", c);
                kz_wr_bytes(w, u, 6);
            } else {
                kz_wr_u8(w, c);
            }
        }
    }
}

static void kb_props_line(kz_wr *w, const char *key, const char *value)
{
    kb_props_escape(w, key, true);
    kz_wr_u8(w, '=');
    kb_props_escape(w, value, false);
    kz_wr_u8(w, '\n');
}

int kb_log_mgr_write_meta(kb_log_mgr *m, int32_t broker_id, const char *cluster_id, char *err, size_t errlen)
{
    int rc = 0;
    for (int d = 0; d < m->ndirs && !rc; d++) {
        char path[PATH_MAX], num[16], date[64];
        if ((rc = kz_fs_join(path, sizeof path, m->dirs[d].path, KB_META_FILE)) != 0)
            break;
        if (access(path, F_OK) == 0)
            continue;
        /* Properties.store(out, ""): "#" + comment, "#" + new Date().toString(), then the
         * entries in the order Kafka 2.8 on Java 11 writes them */
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(date, sizeof date, "%a %b %d %H:%M:%S %Z %Y", &tm);
        kz_wr w = KZ_WR_INIT;
        kz_wr_bytes(&w, "#\n#", 3);
        kz_wr_bytes(&w, date, strlen(date));
        kz_wr_u8(&w, '\n');
        snprintf(num, sizeof num, "%" PRId32, broker_id);
        kb_props_line(&w, "broker.id", num);
        kb_props_line(&w, "version", "0");
        if (cluster_id)
            kb_props_line(&w, "cluster.id", cluster_id);
        rc = w.err ? -ENOMEM : kz_fs_write_durable(path, w.base, w.len);
        kz_wr_free(&w);
        if (rc)
            kb_errf(err, errlen, "Failed to write %s: %s", path, kb_log_strerror(rc));
    }
    return rc;
}

/* Reads every directory's meta.properties and checks they agree. */
static int kb_mgr_read_meta(kb_log_mgr *m, kb_log_mgr_meta *meta, char *err, size_t errlen)
{
    kb_meta_rd first = { 0 }, r;
    int first_dir = -1, rc;
    kb_log_mgr_meta out = { .version = 0, .broker_id = -1 };
    for (int d = 0; d < m->ndirs; d++) {
        if ((rc = kb_meta_read(m->dirs[d].path, &r, err, errlen)) < 0)
            return rc;
        if (rc == 0)
            continue;
        out.ndirs_with_meta++;
        if (r.version != 0) {
            kb_errf(err, errlen, "Found unexpected version in %s/" KB_META_FILE ": %" PRId32 ". Zk-based brokers only "
                    "support version 0 (which is implicit when the `version` field is missing).", m->dirs[d].path,
                    r.version);
            return KB_LOG_EMETA;
        }
        if (first_dir < 0) {
            first = r;
            first_dir = d;
            continue;
        }
        if (r.broker_id != first.broker_id || strcmp(r.cluster_id, first.cluster_id) != 0) {
            kb_errf(err, errlen, "BrokerMetadata is not consistent across log.dirs. This could happen if multiple "
                    "brokers shared a log directory (log.dirs) or partial data was manually copied from another "
                    "broker. Found: %s -> {broker.id=%" PRId32 ", cluster.id=%s}, %s -> {broker.id=%" PRId32
                    ", cluster.id=%s}", m->dirs[first_dir].path, first.broker_id, first.cluster_id, m->dirs[d].path,
                    r.broker_id, r.cluster_id);
            return KB_LOG_EMETA;
        }
    }
    if (first_dir >= 0) {
        out.broker_id = first.broker_id;
        memcpy(out.cluster_id, first.cluster_id, sizeof out.cluster_id);
    }
    m->meta = out;
    if (meta)
        *meta = out;
    return 0;
}

/* ------------------------------------------------------------------ locking */

static int kb_dir_lock(const char *dir, int *out_fd, char *err, size_t errlen)
{
    char path[PATH_MAX];
    int rc = kz_fs_join(path, sizeof path, dir, KB_LOCK_FILE);
    if (rc)
        return rc;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
        kb_errf(err, errlen, "Failed to create lock file %s: %s", path, strerror(errno));
        return rc;
    }
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
    if (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
        rc = errno == EAGAIN || errno == EACCES ? KB_LOG_ELOCKED : -errno;
        kb_errf(err, errlen, "Failed to acquire lock on file .lock in %s. A Kafka instance in another process or "
                "thread is using this directory.", dir);
        close(fd);
        return rc;
    }
    *out_fd = fd;
    return 0;
}

/* -------------------------------------------------------------------- load */

/* Reads a checkpoint for loading: a missing or unreadable file counts as empty (Kafka resets to
 * 0 with a warning); entries come back sorted for kb_checkpoint_find. */
static void kb_mgr_read_ckpt(const char *dir, const char *name, kb_ckpt_entry **v, size_t *n)
{
    char path[PATH_MAX];
    *v = NULL;
    *n = 0;
    if (kz_fs_join(path, sizeof path, dir, name) != 0)
        return;
    int rc = kb_checkpoint_read(path, v, n);
    if (rc && rc != -ENOENT)
        kz_warn(KB_MGR_COMP, "Error occurred while reading %s of directory %s, resetting it: %s", name, dir,
                kb_log_strerror(rc));
    kb_checkpoint_sort(*v, *n);
}

static int kb_mgr_load_dir(kb_log_mgr *m, int d, char *err, size_t errlen)
{
    int rc = 0;
    const char *dir = m->dirs[d].path;
    char path[PATH_MAX];
    kb_ckpt_entry *rp = NULL, *ls = NULL, *hw = NULL;
    size_t nrp = 0, nls = 0, nhw = 0;
    DIR *dh = NULL;
    if ((rc = kz_fs_join(path, sizeof path, dir, KB_CLEAN_SHUTDOWN_FILE)) != 0)
        return rc;
    bool clean = access(path, F_OK) == 0;
    m->dirs[d].was_clean = clean;
    kb_mgr_read_ckpt(dir, KB_RECOVERY_POINT_FILE, &rp, &nrp);
    kb_mgr_read_ckpt(dir, KB_LOG_START_FILE, &ls, &nls);
    kb_mgr_read_ckpt(dir, KB_REPLICATION_OFFSET_FILE, &hw, &nhw);
    if (!(dh = opendir(dir))) {
        rc = -errno;
        kb_errf(err, errlen, "Failed to list %s: %s", dir, strerror(errno));
        goto out;
    }
    struct dirent *de;
    while ((de = readdir(dh)) != NULL) {
        const char *name = de->d_name;
        struct stat st;
        if (name[0] == '.' || fstatat(dirfd(dh), name, &st, 0) != 0 || !S_ISDIR(st.st_mode))
            continue;
        if (kz_fs_join(path, sizeof path, dir, name) != 0)
            continue;
        size_t nl = strlen(name);
        if (nl > 7 && !strcmp(name + nl - 7, "-delete")) {
            kb_rm_rf(path);
            continue;
        }
        if (nl > 7 && !strcmp(name + nl - 7, "-future")) {
            kz_warn(KB_MGR_COMP, "Leaving future log directory %s alone", path);
            continue;
        }
        char topic[256];
        int32_t part;
        if (kb_log_parse_dir_name(name, topic, sizeof topic, &part) != 0) {
            kz_warn(KB_MGR_COMP, "Ignoring %s: not in the form of topic-partition", path);
            continue;
        }
        kb_log *prev = kb_log_mgr_get(m, topic, part), *log;
        if (prev) {
            kb_errf(err, errlen, "Duplicate log directories for %s-%" PRId32 " are found in both %s and %s", topic,
                    part, path, kb_log_dir(prev));
            rc = KB_LOG_EDUP;
            goto out;
        }
        rc = kb_log_open(&log, dir, topic, part, kb_log_mgr_topic_cfg(m, topic),
                         kb_checkpoint_find(rp, nrp, topic, part, 0), kb_checkpoint_find(ls, nls, topic, part, 0),
                         clean);
        if (rc) {
            kb_errf(err, errlen, "Failed to load log %s: %s", path, kb_log_strerror(rc));
            goto out;
        }
        kb_log_set_high_watermark(log, kb_checkpoint_find(hw, nhw, topic, part, 0));
        if ((rc = kb_tab_put(m, log)) != 0) {
            kb_log_close(log);
            goto out;
        }
    }
    if (clean) {
        kz_fs_join(path, sizeof path, dir, KB_CLEAN_SHUTDOWN_FILE);
        if (unlink(path) != 0 || (rc = kz_fs_fsync_dir(dir)) != 0) {
            rc = rc ? rc : -errno;
            kb_errf(err, errlen, "Failed to remove %s: %s", path, kb_log_strerror(rc));
        }
    }
out:
    if (dh)
        closedir(dh);
    kb_checkpoint_free(rp, nrp);
    kb_checkpoint_free(ls, nls);
    kb_checkpoint_free(hw, nhw);
    return rc;
}

/* Stops the flusher (syncing what it still holds), closes every log and releases every lock
 * (no flush, no marker). */
static void kb_mgr_free(kb_log_mgr *m)
{
    kb_flusher_free(m->flusher);
    m->flusher = NULL;
    for (size_t i = 0; i < m->cap; i++)
        kb_log_close(m->slots[i].log);
    for (int d = 0; d < m->ndirs; d++) {
        if (m->dirs[d].lock_fd >= 0)
            close(m->dirs[d].lock_fd);
        free(m->dirs[d].path);
    }
    for (size_t i = 0; i < m->ntcfg; i++)
        free(m->tcfg[i].topic);
    free(m->tcfg);
    free(m->dirs);
    free(m->slots);
    free(m);
}

int kb_log_mgr_open(kb_log_mgr **out, struct event_base *base, const char *const *dirs, int ndirs,
                    const kb_log_cfg *defaults, kb_log_mgr_meta *meta, char *err, size_t errlen)
{
    int rc = 0;
    *out = NULL;
    kb_errf(err, errlen, "%s", "");
    if (ndirs <= 0) {
        kb_errf(err, errlen, "log.dirs is empty");
        return -EINVAL;
    }
    kb_log_mgr *m = calloc(1, sizeof *m);
    if (!m || !(m->dirs = calloc((size_t)ndirs, sizeof *m->dirs))) {
        free(m);
        return -ENOMEM;
    }
    m->defaults = *defaults;
    for (int d = 0; d < ndirs; d++) {
        m->dirs[d].lock_fd = -1;
        char real[PATH_MAX];
        if ((rc = kz_fs_mkdirs(dirs[d])) != 0) {
            kb_errf(err, errlen, "Failed to create log directory %s: %s", dirs[d], kb_log_strerror(rc));
            goto out;
        }
        if (!realpath(dirs[d], real)) {
            rc = -errno;
            kb_errf(err, errlen, "Failed to resolve log directory %s: %s", dirs[d], strerror(errno));
            goto out;
        }
        for (int e = 0; e < m->ndirs; e++)
            if (!strcmp(m->dirs[e].path, real)) {
                kb_errf(err, errlen, "Duplicate log directory found: %s", real);
                rc = -EINVAL;
                goto out;
            }
        if (!(m->dirs[d].path = strdup(real))) {
            rc = -ENOMEM;
            goto out;
        }
        m->ndirs = d + 1;
        if ((rc = kb_dir_lock(real, &m->dirs[d].lock_fd, err, errlen)) != 0)
            goto out;
    }
    if ((rc = kb_mgr_read_meta(m, meta, err, errlen)) != 0)
        goto out;
    for (int d = 0; d < m->ndirs; d++)
        if ((rc = kb_mgr_load_dir(m, d, err, errlen)) != 0)
            goto out;
    if (base && (rc = kb_flusher_new(&m->flusher, base)) != 0) {
        kb_errf(err, errlen, "Failed to start the log flusher thread: %s", kb_log_strerror(rc));
        goto out;
    }
    *out = m;
    m = NULL;
out:
    if (m) {
        if (rc)
            kz_error(KB_MGR_COMP, "%s", err && errlen ? err : kb_log_strerror(rc));
        kb_mgr_free(m);
    }
    return rc;
}

int kb_log_mgr_open_cfg(kb_log_mgr **out, struct event_base *base, const kb_config *cfg, char *err, size_t errlen)
{
    kb_topic_cfg tc;
    kb_log_cfg lc;
    if (kb_topic_cfg_resolve(&tc, cfg, NULL, 0, err, errlen) != 0)
        return -EINVAL;
    kb_log_cfg_from_topic(&lc, &tc);
    if (cfg->n_log_dirs > INT32_MAX)
        return -EINVAL;
    return kb_log_mgr_open(out, base, (const char *const *)cfg->log_dirs, (int)cfg->n_log_dirs, &lc, NULL, err,
                           errlen);
}

const kb_log_mgr_meta *kb_log_mgr_get_meta(const kb_log_mgr *m) { return &m->meta; }

void kb_log_cfg_from_topic(kb_log_cfg *out, const kb_topic_cfg *tc)
{
    kb_log_cfg_defaults(out);
    out->segment_bytes = tc->segment_bytes;
    out->segment_ms = tc->segment_ms;
    out->retention_ms = tc->retention_ms;
    out->retention_bytes = tc->retention_bytes;
    out->index_interval_bytes = tc->index_interval_bytes;
    out->segment_index_bytes = tc->segment_index_bytes;
    out->flush_messages = tc->flush_messages;
    out->flush_ms = tc->flush_ms;
    out->file_delete_delay_ms = tc->file_delete_delay_ms;
    out->cleanup_delete = (tc->cleanup & KB_CLEANUP_DELETE) != 0;
}

/* ---------------------------------------------------------- get/create/delete */

int kb_log_mgr_get_or_create(kb_log_mgr *m, const char *topic, int32_t partition, kb_log **out, char *err,
                             size_t errlen)
{
    kb_log *log = kb_log_mgr_get(m, topic, partition);
    if (log) {
        *out = log;
        return 0;
    }
    /* the directory with the fewest partitions (LogManager.nextLogDirs) */
    int best = 0;
    size_t best_n = SIZE_MAX;
    for (int d = 0; d < m->ndirs; d++) {
        size_t n = 0;
        kb_log *l;
        for (size_t it = 0; (l = kb_log_mgr_next(m, &it));)
            n += strcmp(kb_log_parent_dir(l), m->dirs[d].path) == 0;
        if (n < best_n) {
            best_n = n;
            best = d;
        }
    }
    int rc = kb_log_open(&log, m->dirs[best].path, topic, partition, kb_log_mgr_topic_cfg(m, topic), 0, 0, true);
    if (rc) {
        kb_errf(err, errlen, "Failed to create log %s-%" PRId32 " in %s: %s", topic, partition, m->dirs[best].path,
                kb_log_strerror(rc));
        return rc;
    }
    kb_log_set_high_watermark(log, 0);
    if ((rc = kb_tab_put(m, log)) != 0) {
        kb_errf(err, errlen, "out of memory");
        kb_log_close(log);
        return rc;
    }
    *out = log;
    return 0;
}

/* Writes the recovery-point and log-start checkpoints of directory @d. */
/* The three checkpoint files of one directory, as the flusher thread writes
 * them: paths and entries are the job's own copies. */
typedef struct kb_ckpt_job {
    char path[3][PATH_MAX];
    kb_ckpt_entry *v[3];
    size_t n[3];
} kb_ckpt_job;

static void kb_ckpt_job_free(void *ctx)
{
    kb_ckpt_job *j = ctx;
    for (int i = 0; i < 3; i++)
        kb_checkpoint_free(j->v[i], j->n[i]);
    free(j);
}

/* Either thread: writes the files in order (recovery points, log start offsets, high
 * watermarks), each durably. */
static int kb_ckpt_job_write(void *ctx)
{
    kb_ckpt_job *j = ctx;
    for (int i = 0; i < 3; i++) {
        int rc = kb_checkpoint_write(j->path[i], j->v[i], j->n[i]);
        if (rc)
            return rc;
    }
    return 0;
}

static void kb_ckpt_job_done(void *ctx, int rc)
{
    kb_ckpt_job *j = ctx;
    if (rc)
        kz_warn(KB_MGR_COMP, "Cannot write the checkpoint %s: %s", j->path[0], kb_log_strerror(rc));
    kb_ckpt_job_free(j);
}

/* Copies @n borrowed entries (topics included) into *@out, sorted. */
static int kb_ckpt_copy(const kb_ckpt_entry *src, size_t n, kb_ckpt_entry **out)
{
    *out = calloc(n ? n : 1, sizeof **out);
    if (!*out)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        (*out)[i] = src[i];
        if (!((*out)[i].topic = strdup(src[i].topic))) {
            kb_checkpoint_free(*out, i);
            *out = NULL;
            return -ENOMEM;
        }
    }
    kb_checkpoint_sort(*out, n);
    return 0;
}

/* Writes the checkpoints of directory @d from the logs' current values: on the flusher
 * thread when there is one (their fsync must not stall the loop; the thread's queue keeps
 * the files in the order of the calls), else at once. */
static int kb_mgr_checkpoint_dir(kb_log_mgr *m, int d)
{
    int rc = 0;
    size_t n[3] = { 0, 0, 0 };
    kb_ckpt_entry *e[3];
    for (int i = 0; i < 3; i++)
        e[i] = calloc(m->n ? m->n : 1, sizeof *e[i]);
    kb_ckpt_job *j = calloc(1, sizeof *j);
    if (!e[0] || !e[1] || !e[2] || !j) {
        rc = -ENOMEM;
        goto out;
    }
    kb_log *log;
    for (size_t it = 0; (log = kb_log_mgr_next(m, &it));) {
        if (strcmp(kb_log_parent_dir(log), m->dirs[d].path) != 0)
            continue;
        /* entries borrow the topic strings of the logs until copied below */
        char *t = (char *)kb_log_topic(log);
        int32_t p = kb_log_partition(log);
        e[0][n[0]++] = (kb_ckpt_entry){ t, p, kb_log_recovery_point(log) };
        if (kb_log_start_offset(log) > kb_segment_base(kb_log_segment_at(log, 0)))
            e[1][n[1]++] = (kb_ckpt_entry){ t, p, kb_log_start_offset(log) };
        if (kb_log_high_watermark(log) >= 0)
            e[2][n[2]++] = (kb_ckpt_entry){ t, p, kb_log_high_watermark(log) };
    }
    static const char *const names[3] = { KB_RECOVERY_POINT_FILE, KB_LOG_START_FILE,
                                          KB_REPLICATION_OFFSET_FILE };
    for (int i = 0; i < 3 && rc == 0; i++) {
        rc = kz_fs_join(j->path[i], sizeof j->path[i], m->dirs[d].path, names[i]);
        if (rc == 0 && (rc = kb_ckpt_copy(e[i], n[i], &j->v[i])) == 0)
            j->n[i] = n[i];
    }
    if (rc)
        goto out;
    if (m->flusher && kb_flusher_run(m->flusher, kb_ckpt_job_write, kb_ckpt_job_done, kb_ckpt_job_free, j) == 0) {
        j = NULL; /* the thread's now */
        goto out;
    }
    rc = kb_ckpt_job_write(j);
out:
    for (int i = 0; i < 3; i++)
        free(e[i]);
    if (j)
        kb_ckpt_job_free(j);
    return rc;
}

int kb_log_mgr_delete(kb_log_mgr *m, kb_log *log)
{
    if (m->cap == 0 || !log)
        return KB_LOG_ENOENT;
    size_t i = kb_tab_slot(m, kb_log_topic(log), kb_log_partition(log));
    if (m->slots[i].log != log)
        return KB_LOG_ENOENT;
    int d = 0;
    while (d < m->ndirs && strcmp(kb_log_parent_dir(log), m->dirs[d].path) != 0)
        d++;
    kb_tab_del_slot(m, i); /* a pending sync of the log finds no entry with its id: ignored */
    int rc = kb_log_delete(log);
    int r2 = d < m->ndirs ? kb_mgr_checkpoint_dir(m, d) : 0;
    return rc ? rc : r2;
}

/* ------------------------------------------------------------ periodic work */

int kb_log_mgr_retention_all(kb_log_mgr *m, int64_t now_ms)
{
    int total = 0, first_err = 0;
    kb_log *log;
    for (size_t it = 0; (log = kb_log_mgr_next(m, &it));) {
        int rc = kb_log_retention(log, now_ms);
        if (rc < 0 && !first_err)
            first_err = rc;
        else if (rc > 0)
            total += rc;
    }
    return first_err ? first_err : total;
}

/* A sync job of one log, from kb_mgr_sync_post to its completion on the loop. */
typedef struct kb_mgr_sync {
    kb_log_mgr *m;
    uint64_t id;       /* the entry it was taken from */
    int32_t partition;
    kb_log_sync sync;  /* its descriptors went to the flusher: upto/gen/active remain */
    char topic[];
} kb_mgr_sync;

/* Loop thread: the flusher finished the job of @ctx. The log may have been deleted (no entry)
 * or deleted and created again (another id) meanwhile: then there is nothing to update. */
static void kb_mgr_sync_done(void *ctx, int rc)
{
    kb_mgr_sync *c = ctx;
    kb_mgr_ent *e = kb_tab_find(c->m, c->topic, c->partition);
    if (e && e->id == c->id) {
        e->syncing = false;
        kb_log_sync_done(e->log, &c->sync, rc);
        kz_debug(KB_MGR_COMP, "Flushed %s-%" PRId32 " up to offset %" PRId64 " (%s), recovery point %" PRId64,
                 c->topic, c->partition, c->sync.upto, rc ? kb_log_strerror(rc) : "ok", kb_log_recovery_point(e->log));
    }
    free(c);
}

/* Hands the flush of @e's rolled segments (and of its active one with @include_active) to the
 * flusher, unless a job of the log is already under way (the next call covers what this one
 * would have). Returns 0 (also when there was nothing to flush) or a negative error. */
static int kb_mgr_sync_post(kb_log_mgr *m, kb_mgr_ent *e, bool include_active)
{
    if (e->syncing)
        return 0;
    kb_log_sync sync;
    int rc = kb_log_sync_begin(e->log, include_active, &sync);
    if (rc <= 0)
        return rc;
    const char *topic = kb_log_topic(e->log);
    size_t tl = strlen(topic);
    kb_mgr_sync *c = malloc(sizeof *c + tl + 1);
    if (!c) {
        kb_log_sync_release(&sync);
        return -ENOMEM;
    }
    *c = (kb_mgr_sync){ .m = m, .id = e->id, .partition = kb_log_partition(e->log), .sync = sync };
    c->sync.fds = NULL;
    c->sync.nfds = 0;
    c->sync.dir_fd = -1;
    memcpy(c->topic, topic, tl + 1);
    if ((rc = kb_flusher_submit(m->flusher, sync.fds, sync.nfds, sync.dir_fd, kb_mgr_sync_done, free, c)) != 0) {
        free(c); /* the flusher closed the descriptors */
        return rc;
    }
    e->syncing = true;
    return 0;
}

int kb_log_mgr_flush_due(kb_log_mgr *m, int64_t now_ms)
{
    int first_err = 0, rc;
    for (size_t i = 0; i < m->cap; i++) {
        kb_mgr_ent *e = &m->slots[i];
        if (!e->log)
            continue;
        if (!m->flusher)
            rc = kb_log_flush_due(e->log, now_ms);
        else
            rc = kb_log_flush_is_due(e->log, now_ms) ? kb_mgr_sync_post(m, e, true) : 0;
        if (rc && !first_err)
            first_err = rc;
    }
    return first_err;
}

int kb_log_mgr_checkpoint(kb_log_mgr *m)
{
    int first_err = 0, rc;
    for (size_t i = 0; i < m->cap; i++) {
        kb_mgr_ent *e = &m->slots[i];
        if (!e->log)
            continue;
        rc = m->flusher ? kb_mgr_sync_post(m, e, false) : kb_log_flush_rolled(e->log);
        if (rc && !first_err)
            first_err = rc;
    }
    for (int d = 0; d < m->ndirs; d++)
        if ((rc = kb_mgr_checkpoint_dir(m, d)) != 0 && !first_err)
            first_err = rc;
    return first_err;
}

kb_flusher *kb_log_mgr_flusher(const kb_log_mgr *m) { return m->flusher; }

int kb_log_mgr_close(kb_log_mgr *m)
{
    if (!m)
        return 0;
    int first_err = 0, rc;
    if (m->flusher) {
        /* Every queued sync finishes and reports (the recovery points it earned count), then
         * the thread goes: what follows is synchronous. */
        kb_flusher_drain(m->flusher);
        kb_flusher_free(m->flusher);
        m->flusher = NULL;
    }
    bool *dirty = calloc((size_t)m->ndirs, sizeof *dirty);
    if (!dirty) {
        kb_mgr_free(m);
        return -ENOMEM;
    }
    kb_log *log;
    for (size_t it = 0; (log = kb_log_mgr_next(m, &it));) {
        if ((rc = kb_log_flush(log)) == 0)
            continue;
        if (!first_err)
            first_err = rc;
        for (int d = 0; d < m->ndirs; d++)
            if (!strcmp(kb_log_parent_dir(log), m->dirs[d].path))
                dirty[d] = true;
    }
    for (int d = 0; d < m->ndirs; d++) {
        if ((rc = kb_mgr_checkpoint_dir(m, d)) != 0) {
            dirty[d] = true;
            if (!first_err)
                first_err = rc;
        }
    }
    for (size_t i = 0; i < m->cap; i++) {
        kb_log_close(m->slots[i].log);
        m->slots[i] = (kb_mgr_ent){ 0 };
    }
    m->n = 0;
    for (int d = 0; d < m->ndirs; d++) {
        char path[PATH_MAX];
        if (dirty[d] || kz_fs_join(path, sizeof path, m->dirs[d].path, KB_CLEAN_SHUTDOWN_FILE) != 0)
            continue;
        rc = 0;
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 || fsync(fd) != 0)
            rc = -errno;
        else
            rc = kz_fs_fsync_dir(m->dirs[d].path);
        if (rc && !first_err)
            first_err = rc;
        if (fd >= 0)
            close(fd);
    }
    free(dirty);
    kb_mgr_free(m);
    return first_err;
}
