/* broker/kb_log_index.c -- offset and time indexes of a segment (formats in kb_log_index.h).
 *
 * One mapped file per index. The mapping always covers the whole file; the file is sparse
 * beyond the entries in use. Entries dropped by a truncation or a reset are zeroed at once, so
 * a preallocated file left by a crash never shows stale entries after the valid ones: what
 * follows them reads as the all-zero tail that kb_index_open() discards.
 * Locality: the broker loop thread that owns the log. */
#include "kb_log_index.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kz_wire.h"

struct kb_index {
    kb_index_kind kind;
    unsigned esize;     /* KB_OINDEX_ENTRY or KB_TINDEX_ENTRY */
    int fd;
    char *path;
    int64_t base;       /* base offset of the segment */
    uint8_t *map;       /* whole file, or NULL when it is empty */
    size_t map_len;     /* = file length */
    size_t entries;     /* in use */
    size_t max_entries; /* capacity of the file */
    bool bad_len;       /* the file length was not a whole number of entries at open */
};

static const unsigned kb_index_esize[2] = { [KB_INDEX_OFFSET] = KB_OINDEX_ENTRY, [KB_INDEX_TIME] = KB_TINDEX_ENTRY };

/* ---------------------------------------------------------- raw entries */

static inline const uint8_t *kb_ent(const kb_index *ix, size_t i) { return ix->map + i * ix->esize; }

/* Offset of entry @i (both kinds). */
static inline int64_t kb_ent_off(const kb_index *ix, size_t i)
{
    const uint8_t *p = kb_ent(ix, i);
    int32_t rel = (int32_t)kz_load_be32(ix->kind == KB_INDEX_OFFSET ? p : p + 8);
    return ix->base + rel;
}

static inline int32_t kb_ent_pos(const kb_index *ix, size_t i) { return (int32_t)kz_load_be32(kb_ent(ix, i) + 4); }

static inline int64_t kb_ent_ts(const kb_index *ix, size_t i) { return (int64_t)kz_load_be64(kb_ent(ix, i)); }

/* The lookup key: offset (offset index) or timestamp (time index). */
static inline int64_t kb_ent_key(const kb_index *ix, size_t i)
{
    return ix->kind == KB_INDEX_OFFSET ? kb_ent_off(ix, i) : kb_ent_ts(ix, i);
}

/* Whether entry @i is all zero bytes. */
static bool kb_ent_zero(const kb_index *ix, size_t i)
{
    const uint8_t *p = kb_ent(ix, i);
    for (unsigned k = 0; k < ix->esize; k++)
        if (p[k])
            return false;
    return true;
}

/* Whether entry @i (>= 1) belongs to the zero tail of a preallocated file: a real entry past
 * the first has a relative offset > 0 (offsets strictly increase) or, in the time index, a
 * timestamp > 0 (timestamps strictly increase from a first one >= 0). Monotone in @i. */
static bool kb_ent_is_tail(const kb_index *ix, size_t i)
{
    if (ix->kind == KB_INDEX_OFFSET)
        return kz_load_be32(kb_ent(ix, i)) == 0;
    return kb_ent_ts(ix, i) == 0;
}

/* Index of the greatest entry whose key is <= @key, or -1 when none (keys increase). */
static ssize_t kb_floor_slot(const kb_index *ix, int64_t key)
{
    size_t lo = 0, hi = ix->entries;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (kb_ent_key(ix, mid) <= key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (ssize_t)lo - 1;
}

/* ------------------------------------------------------------ file/map */

/* Maps the whole file of @len bytes (nothing when 0). */
static int kb_index_map(kb_index *ix, size_t len)
{
    ix->map = NULL;
    ix->map_len = len;
    if (len == 0)
        return 0;
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, ix->fd, 0);
    if (m == MAP_FAILED) {
        int e = errno;
        ix->map_len = 0;
        return -e;
    }
    ix->map = m;
    return 0;
}

static void kb_index_unmap(kb_index *ix)
{
    if (ix->map)
        munmap(ix->map, ix->map_len);
    ix->map = NULL;
    ix->map_len = 0;
}

int kb_index_open(kb_index **out, const char *path, kb_index_kind kind, int64_t base, int32_t max_bytes,
                  bool prealloc, bool *created)
{
    int rc = 0;
    *out = NULL;
    kb_index *ix = calloc(1, sizeof *ix);
    if (!ix)
        return -ENOMEM;
    ix->kind = kind;
    ix->esize = kb_index_esize[kind];
    ix->base = base;
    ix->fd = -1;
    if (!(ix->path = strdup(path))) {
        rc = -ENOMEM;
        goto out;
    }
    bool made = false;
    ix->fd = open(path, O_RDWR | O_CLOEXEC);
    if (ix->fd < 0 && errno == ENOENT) {
        ix->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        made = true;
    }
    if (ix->fd < 0) {
        rc = -errno;
        goto out;
    }
    struct stat st;
    if (fstat(ix->fd, &st) != 0) {
        rc = -errno;
        goto out;
    }
    size_t len = (size_t)st.st_size;
    if ((rc = kb_index_map(ix, len)) != 0)
        goto out;
    ix->bad_len = len % ix->esize != 0;
    ix->entries = len / ix->esize;
    ix->max_entries = ix->entries;
    if (ix->entries > 1 && kb_ent_is_tail(ix, ix->entries - 1)) {
        /* first tail slot in [1, entries) */
        size_t lo = 1, hi = ix->entries - 1;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (kb_ent_is_tail(ix, mid))
                hi = mid;
            else
                lo = mid + 1;
        }
        ix->entries = lo;
    }
    if (ix->entries == 1 && kb_ent_zero(ix, 0))
        ix->entries = 0;
    if (prealloc && (rc = kb_index_resize(ix, max_bytes)) != 0)
        goto out;
    if (created)
        *created = made;
    *out = ix;
    ix = NULL;
out:
    kb_index_close(ix);
    return rc;
}

void kb_index_close(kb_index *ix)
{
    if (!ix)
        return;
    kb_index_unmap(ix);
    if (ix->fd >= 0)
        close(ix->fd);
    free(ix->path);
    free(ix);
}

int kb_index_resize(kb_index *ix, int64_t max_bytes)
{
    size_t want = max_bytes > 0 ? (size_t)max_bytes / ix->esize : 0;
    if (want < ix->entries)
        want = ix->entries;
    size_t len = want * ix->esize;
    if (len == ix->map_len && !ix->bad_len) {
        ix->max_entries = want;
        return 0;
    }
    kb_index_unmap(ix);
    if (ftruncate(ix->fd, (off_t)len) != 0) {
        int e = errno;
        /* keep what was there usable */
        struct stat st;
        if (fstat(ix->fd, &st) == 0 && kb_index_map(ix, (size_t)st.st_size) == 0) {
            ix->max_entries = ix->map_len / ix->esize;
            if (ix->entries > ix->max_entries)
                ix->entries = ix->max_entries;
        } else {
            ix->entries = ix->max_entries = 0;
        }
        return -e;
    }
    ix->bad_len = false;
    int rc = kb_index_map(ix, len);
    if (rc) {
        ix->entries = ix->max_entries = 0;
        return rc;
    }
    ix->max_entries = want;
    return 0;
}

int kb_index_trim(kb_index *ix) { return kb_index_resize(ix, (int64_t)(ix->entries * ix->esize)); }

/* Zeroes entries [@from, entries) and forgets them. */
static void kb_index_drop_from(kb_index *ix, size_t from)
{
    if (from >= ix->entries)
        return;
    memset(ix->map + from * ix->esize, 0, (ix->entries - from) * ix->esize);
    ix->entries = from;
}

void kb_index_reset(kb_index *ix) { kb_index_drop_from(ix, 0); }

void kb_index_truncate_to(kb_index *ix, int64_t offset)
{
    /* first entry whose offset is >= @offset (offsets never decrease) */
    size_t lo = 0, hi = ix->entries;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (kb_ent_off(ix, mid) < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    kb_index_drop_from(ix, lo);
}

int kb_index_flush(kb_index *ix)
{
    if (ix->map && msync(ix->map, ix->map_len, MS_SYNC) != 0)
        return -errno;
    return fsync(ix->fd) != 0 ? -errno : 0;
}

int kb_index_rename(kb_index *ix, const char *newpath)
{
    char *p = strdup(newpath);
    if (!p)
        return -ENOMEM;
    if (rename(ix->path, newpath) != 0) {
        int e = errno;
        free(p);
        return -e;
    }
    free(ix->path);
    ix->path = p;
    return 0;
}

int kb_index_unlink(kb_index *ix) { return unlink(ix->path) != 0 && errno != ENOENT ? -errno : 0; }

int kb_index_sanity(const kb_index *ix, int64_t log_size)
{
    if (ix->bad_len)
        return -EBADMSG;
    if (ix->entries == 0)
        return 0;
    size_t last = ix->entries - 1;
    if (kb_ent_off(ix, last) < ix->base || kb_ent_off(ix, 0) < ix->base)
        return -EBADMSG;
    if (ix->kind == KB_INDEX_TIME)
        return kb_ent_ts(ix, last) < kb_ent_ts(ix, 0) ? -EBADMSG : 0;
    if (kb_ent_off(ix, last) < kb_ent_off(ix, 0) || kb_ent_pos(ix, last) < kb_ent_pos(ix, 0))
        return -EBADMSG;
    if (kb_ent_pos(ix, 0) < 0 || kb_ent_pos(ix, last) >= log_size)
        return -EBADMSG;
    return 0;
}

size_t kb_index_entries(const kb_index *ix) { return ix->entries; }
size_t kb_index_max_entries(const kb_index *ix) { return ix->max_entries; }
bool kb_index_full(const kb_index *ix) { return ix->entries >= ix->max_entries; }
int64_t kb_index_base(const kb_index *ix) { return ix->base; }
const char *kb_index_path(const kb_index *ix) { return ix->path; }
int kb_index_fd(const kb_index *ix) { return ix->fd; }
int64_t kb_index_file_size(const kb_index *ix) { return (int64_t)ix->map_len; }

/* Whether @offset can be stored as a relative offset of this index. */
static bool kb_rel_ok(const kb_index *ix, int64_t offset)
{
    return offset >= ix->base && offset - ix->base <= INT32_MAX;
}

/* ---------------------------------------------------------- offset index */

int kb_oindex_append(kb_index *ix, int64_t offset, int32_t pos)
{
    if (kb_index_full(ix))
        return -ENOSPC;
    if (!kb_rel_ok(ix, offset) || pos < 0 || (ix->entries && offset <= kb_ent_off(ix, ix->entries - 1)))
        return -EINVAL;
    uint8_t *p = ix->map + ix->entries * ix->esize;
    kz_store_be32(p, (uint32_t)(offset - ix->base));
    kz_store_be32(p + 4, (uint32_t)pos);
    ix->entries++;
    return 0;
}

void kb_oindex_entry(const kb_index *ix, size_t i, int64_t *off, int32_t *pos)
{
    *off = kb_ent_off(ix, i);
    *pos = kb_ent_pos(ix, i);
}

/* Entry @s of an offset index, or {base, 0} when @s < 0 (no such entry). */
static void kb_oindex_slot(const kb_index *ix, ssize_t s, int64_t *off, int32_t *pos)
{
    if (s < 0) {
        *off = ix->base;
        *pos = 0;
        return;
    }
    kb_oindex_entry(ix, (size_t)s, off, pos);
}

void kb_oindex_lookup(const kb_index *ix, int64_t target, int64_t *off, int32_t *pos)
{
    kb_oindex_slot(ix, kb_floor_slot(ix, target), off, pos);
}

void kb_oindex_last(const kb_index *ix, int64_t *off, int32_t *pos)
{
    kb_oindex_slot(ix, (ssize_t)ix->entries - 1, off, pos);
}

/* ------------------------------------------------------------ time index */

int kb_tindex_maybe_append(kb_index *ix, int64_t ts, int64_t offset, bool skip_full_check)
{
    if (!skip_full_check && kb_index_full(ix))
        return -ENOSPC;
    int64_t last_ts, last_off;
    kb_tindex_last(ix, &last_ts, &last_off);
    if (ix->entries && (offset < last_off || ts < last_ts))
        return -EINVAL;
    if (ts <= last_ts)
        return 0;
    if (!kb_rel_ok(ix, offset))
        return -EINVAL;
    if (kb_index_full(ix)) {
        int rc = kb_index_resize(ix, (int64_t)((ix->entries + 1) * ix->esize));
        if (rc)
            return rc;
    }
    uint8_t *p = ix->map + ix->entries * ix->esize;
    kz_store_be64(p, (uint64_t)ts);
    kz_store_be32(p + 8, (uint32_t)(offset - ix->base));
    ix->entries++;
    return 0;
}

void kb_tindex_entry(const kb_index *ix, size_t i, int64_t *ts, int64_t *off)
{
    *ts = kb_ent_ts(ix, i);
    *off = kb_ent_off(ix, i);
}

/* Entry @s of a time index, or {-1, base} when @s < 0 (no such entry). */
static void kb_tindex_slot(const kb_index *ix, ssize_t s, int64_t *ts, int64_t *off)
{
    if (s < 0) {
        *ts = -1;
        *off = ix->base;
        return;
    }
    kb_tindex_entry(ix, (size_t)s, ts, off);
}

void kb_tindex_lookup(const kb_index *ix, int64_t ts, int64_t *found_ts, int64_t *off)
{
    kb_tindex_slot(ix, kb_floor_slot(ix, ts), found_ts, off);
}

void kb_tindex_last(const kb_index *ix, int64_t *ts, int64_t *off)
{
    kb_tindex_slot(ix, (ssize_t)ix->entries - 1, ts, off);
}
