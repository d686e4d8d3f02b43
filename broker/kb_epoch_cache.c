/* broker/kb_epoch_cache.c -- leader epoch cache and its checkpoint file (contract and file
 * format in kb_epoch_cache.h).
 *
 * The entries sit in one array, oldest first; a replica sees a handful of leader changes, so
 * lookups are linear scans. Every mutation changes the array first and then calls
 * kb_epoch_cache_changed(), which writes the file unless a hold is in progress.
 * The reader takes the whole file in memory (kz_fs_read_small, bounded by KB_EPOCH_MAX_FILE) and
 * walks it with the offset checkpoints' reader (kb_checkpoint_parse), only the entry line being
 * its own.
 * Locality: the broker loop thread of the owning log. */
#include "kb_epoch_cache.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kb_checkpoint.h"
#include "kz_buf.h"
#include "kz_fs.h"
#include "kz_log.h"
#include "kz_vec.h"

#define KB_EPOCH_COMP "kafka.server.epoch.LeaderEpochFileCache"
#define KB_EPOCH_MAX_FILE (16u << 20) /* about 400,000 entries: far beyond any real history */

struct kb_epoch_cache {
    kb_epoch_entry *v; /* strictly increasing in epoch and start offset */
    size_t n, cap;
    char *path;        /* <dir>/leader-epoch-checkpoint */
    char *name;        /* <topic>-<partition>, for log lines */
    int holds;         /* > 0: changes are remembered, written at the last release */
    bool dirty;        /* changed during the hold */
};

/* ---------------------------------------------------------------- reading */

/* The entries read so far. */
typedef struct kb_epoch_acc {
    kb_epoch_entry *v;
    size_t n, cap;
} kb_epoch_acc;

/* kb_ckpt_line_fn of the epoch file: exactly two items, an i32 epoch >= 0 and an i64 offset
 * >= 0, both above those of the line before. */
static int kb_epoch_take(void *ctx, const kb_ckpt_items *it)
{
    kb_epoch_acc *a = ctx;
    int64_t epoch, off;
    if (it->n != 2 || !kb_checkpoint_num(it->s[0], it->len[0], &epoch) ||
        !kb_checkpoint_num(it->s[1], it->len[1], &off))
        return -EBADMSG;
    if (epoch < 0 || epoch > INT32_MAX || off < 0 ||
        (a->n > 0 && (epoch <= a->v[a->n - 1].epoch || off <= a->v[a->n - 1].start_offset)))
        return -EBADMSG;
    int rc = KZ_VEC_RESERVE(a->v, a->cap, a->n + 1, 8);
    if (rc)
        return rc;
    a->v[a->n++] = (kb_epoch_entry){ .epoch = (int32_t)epoch, .start_offset = off };
    return 0;
}

int kb_epoch_cache_parse(const char *text, size_t len, kb_epoch_entry **out, size_t *n)
{
    kb_epoch_acc acc = { NULL, 0, 0 };
    *out = NULL;
    *n = 0;
    int rc = kb_checkpoint_parse(text, len, kb_epoch_take, &acc);
    if (rc) {
        free(acc.v);
        return rc;
    }
    *out = acc.v;
    *n = acc.n;
    return 0;
}

/* ---------------------------------------------------------------- writing */

/* Writes the whole list durably. */
static int kb_epoch_cache_write(kb_epoch_cache *c)
{
    kz_wr w = KZ_WR_INIT;
    char line[64];
    int k = snprintf(line, sizeof line, "0\n%zu\n", c->n);
    kz_wr_bytes(&w, line, (size_t)k);
    for (size_t i = 0; i < c->n; i++) {
        k = snprintf(line, sizeof line, "%" PRId32 " %" PRId64 "\n", c->v[i].epoch, c->v[i].start_offset);
        kz_wr_bytes(&w, line, (size_t)k);
    }
    int rc = w.err ? -ENOMEM : kz_fs_write_durable(c->path, w.base, w.len);
    kz_wr_free(&w);
    if (rc)
        kz_error(KB_EPOCH_COMP, "[LeaderEpochCache %s] Error while writing to checkpoint file %s: %s", c->name,
                 c->path, strerror(-rc));
    return rc;
}

/* The list changed: written now, or at the end of the hold. */
static int kb_epoch_cache_changed(kb_epoch_cache *c)
{
    if (c->holds > 0) {
        c->dirty = true;
        return 0;
    }
    return kb_epoch_cache_write(c);
}

void kb_epoch_cache_hold(kb_epoch_cache *c) { c->holds++; }

int kb_epoch_cache_release(kb_epoch_cache *c, bool force)
{
    if (c->holds > 0 && --c->holds > 0)
        return 0;
    bool write = c->dirty || force;
    c->dirty = false;
    return write ? kb_epoch_cache_write(c) : 0;
}

/* ------------------------------------------------------------- lifecycle */

int kb_epoch_cache_open(kb_epoch_cache **out, const char *dir, const char *name, kb_epoch_file_state *state)
{
    int rc = 0;
    char *text = NULL;
    size_t len = 0;
    kb_epoch_file_state st = KB_EPOCH_FILE_LOADED;
    *out = NULL;
    kb_epoch_cache *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    size_t pl = strlen(dir) + sizeof "/" KB_EPOCH_CHECKPOINT_FILE;
    if (!(c->path = malloc(pl)) || !(c->name = strdup(name))) {
        rc = -ENOMEM;
        goto out;
    }
    snprintf(c->path, pl, "%s/%s", dir, KB_EPOCH_CHECKPOINT_FILE);
    rc = kz_fs_read_small(c->path, KB_EPOCH_MAX_FILE, &text, &len);
    if (rc == -ENOENT) {
        st = KB_EPOCH_FILE_MISSING;
        rc = 0;
        goto done;
    }
    if (rc == -EFBIG || rc == -EISDIR) {
        kz_warn(KB_EPOCH_COMP, "[LeaderEpochCache %s] Ignoring checkpoint file %s: %s; starting with an empty "
                "cache", name, c->path, rc == -EFBIG ? "too large" : "not a regular file");
        st = KB_EPOCH_FILE_MALFORMED;
        rc = 0;
        goto done;
    }
    if (rc)
        goto out;
    if ((rc = kb_epoch_cache_parse(text, len, &c->v, &c->n)) == -EBADMSG) {
        kz_warn(KB_EPOCH_COMP, "[LeaderEpochCache %s] Malformed line in checkpoint file (%s); starting with an "
                "empty cache", name, c->path);
        st = KB_EPOCH_FILE_MALFORMED;
        rc = 0;
    } else if (rc) {
        goto out;
    }
    c->cap = c->n;
done:
    if (state)
        *state = st;
    *out = c;
    c = NULL;
out:
    free(text);
    kb_epoch_cache_free(c);
    return rc;
}

void kb_epoch_cache_free(kb_epoch_cache *c)
{
    if (!c)
        return;
    free(c->v);
    free(c->path);
    free(c->name);
    free(c);
}

/* -------------------------------------------------------------- mutation */

/* "EpochEntry(epoch=E, startOffset=S)" as Kafka prints entries, appended to @buf. */
static void kb_epoch_fmt(char *buf, size_t cap, const kb_epoch_entry *e)
{
    size_t l = strlen(buf);
    if (l < cap)
        snprintf(buf + l, cap - l, "EpochEntry(epoch=%" PRId32 ", startOffset=%" PRId64 ")", e->epoch,
                 e->start_offset);
}

int kb_epoch_cache_assign(kb_epoch_cache *c, int32_t epoch, int64_t start_offset)
{
    if (epoch < 0 || start_offset < 0)
        return 0;
    if (c->n > 0) {
        const kb_epoch_entry *last = &c->v[c->n - 1];
        if (last->epoch == epoch && start_offset >= last->start_offset)
            return 0;
    }
    if (KZ_VEC_RESERVE(c->v, c->cap, c->n + 1, 8) != 0)
        return -ENOMEM;
    /* both fields increase along the array, so the conflicting entries are a suffix */
    size_t keep = c->n;
    while (keep > 0 && (c->v[keep - 1].epoch >= epoch || c->v[keep - 1].start_offset >= start_offset))
        keep--;
    kb_epoch_entry ne = { epoch, start_offset };
    size_t removed = c->n - keep;
    /* a single removed entry at the same offset is an epoch that never got data: expected */
    if (removed > 1 || (removed == 1 && c->v[keep].start_offset != start_offset)) {
        char what[512] = "", added[96] = "";
        kb_epoch_fmt(added, sizeof added, &ne);
        for (size_t i = c->n; i > keep; i--) { /* latest first, as Kafka lists them */
            size_t l = strlen(what);
            if (l + 4 >= sizeof what)
                break;
            if (i < c->n)
                snprintf(what + l, sizeof what - l, ", ");
            kb_epoch_fmt(what, sizeof what, &c->v[i - 1]);
        }
        kz_warn(KB_EPOCH_COMP, "[LeaderEpochCache %s] New epoch entry %s caused truncation of conflicting entries "
                "ListBuffer(%s). Cache now contains %zu entries.", c->name, added, what, keep + 1);
    }
    c->v[keep] = ne;
    c->n = keep + 1;
    return kb_epoch_cache_changed(c);
}

int kb_epoch_cache_truncate_from_end(kb_epoch_cache *c, int64_t end_offset)
{
    if (end_offset < 0)
        return 0;
    size_t keep = c->n;
    while (keep > 0 && c->v[keep - 1].start_offset >= end_offset)
        keep--;
    if (keep == c->n)
        return 0;
    c->n = keep;
    return kb_epoch_cache_changed(c);
}

int kb_epoch_cache_truncate_from_start(kb_epoch_cache *c, int64_t start_offset)
{
    size_t below = 0; /* entries starting at or below @start_offset */
    while (below < c->n && c->v[below].start_offset <= start_offset)
        below++;
    if (below == 0 || (below == 1 && c->v[0].start_offset == start_offset))
        return 0;
    kb_epoch_entry first = { c->v[below - 1].epoch, start_offset };
    memmove(c->v + 1, c->v + below, (c->n - below) * sizeof *c->v);
    c->v[0] = first;
    c->n -= below - 1;
    return kb_epoch_cache_changed(c);
}

int kb_epoch_cache_truncate_fully(kb_epoch_cache *c)
{
    if (c->n == 0)
        return 0;
    c->n = 0;
    return kb_epoch_cache_changed(c);
}

/* ---------------------------------------------------------------- lookup */

int32_t kb_epoch_cache_latest_epoch(const kb_epoch_cache *c)
{
    return c->n > 0 ? c->v[c->n - 1].epoch : KB_EPOCH_UNDEFINED;
}

int64_t kb_epoch_cache_start_offset(const kb_epoch_cache *c, int32_t epoch)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].epoch == epoch)
            return c->v[i].start_offset;
    return -1;
}

void kb_epoch_cache_end_offset_for(const kb_epoch_cache *c, int32_t requested, int64_t leo, int32_t *epoch_out,
                                   int64_t *end_out)
{
    *epoch_out = KB_EPOCH_UNDEFINED;
    *end_out = KB_EPOCH_UNDEFINED_OFFSET;
    if (requested == KB_EPOCH_UNDEFINED || c->n == 0)
        return;
    if (requested == c->v[c->n - 1].epoch) {
        *epoch_out = requested;
        *end_out = leo;
        return;
    }
    size_t hi = 0; /* first entry above @requested */
    while (hi < c->n && c->v[hi].epoch <= requested)
        hi++;
    if (hi == c->n)
        return;
    *epoch_out = hi == 0 ? requested : c->v[hi - 1].epoch;
    *end_out = c->v[hi].start_offset;
}

const kb_epoch_entry *kb_epoch_cache_entries(const kb_epoch_cache *c, size_t *n)
{
    *n = c->n;
    return c->v;
}

const char *kb_epoch_cache_path(const kb_epoch_cache *c) { return c->path; }
