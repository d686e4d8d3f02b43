/* broker/kb_log_segment.c -- one log segment: .log + .index + .timeindex (contract in
 * kb_log_segment.h).
 *
 * Reading the .log goes through kb_walk, a window over the file filled with pread(): entry
 * headers are decoded from the window, and every length is bounded by the file size before
 * anything is read, so a corrupt length costs a rejected entry, never an over-read or a large
 * allocation. CRCs are computed by streaming the entry through the window.
 * Locality: the broker loop thread that owns the log (kb_segment_dup_fds hands out duplicates
 * for syncing elsewhere). */
#include "kb_log_segment.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "kz_buf.h"
#include "kz_compress.h"
#include "kz_crc32c.h"
#include "kz_fs.h"
#include "kz_wire.h"

#define KB_TS_UNLOADED INT64_MIN   /* roll_ts not read from the file yet */
#define KB_WALK_HDR_AHEAD 4096     /* bytes read at once when only a header is wanted */
#define KB_WALK_READ_BUF 8192      /* window of the read paths (on the stack) */
#define KB_WALK_RECOVER_BUF 65536  /* window of recovery (CRC streaming) */
#define KB_FIND_TS_MAX_BATCH (64 << 20)  /* record-level timestamp search up to this batch size */
#define KB_FIND_TS_MAX_INFLATE (256 << 20) /* and up to this many decompressed bytes */

struct kb_segment {
    int refs;
    int fd;
    char *log_path;      /* current name of the .log (changes when marked deleted) */
    int64_t base;
    int64_t size;        /* bytes in the .log */
    int64_t next_offset; /* last offset + 1, or base when empty */
    kb_index *oidx, *tidx;
    int64_t max_ts, max_ts_off;
    int64_t roll_ts;     /* max timestamp of the first batch (-1 none), or KB_TS_UNLOADED */
    int64_t created_ms;
    int64_t since_index; /* bytes appended since the last offset-index entry */
    int32_t index_interval;
    int32_t index_bytes;
    bool need_recovery;
};

/* ------------------------------------------------------------ config/errors */

void kb_log_cfg_defaults(kb_log_cfg *cfg)
{
    *cfg = (kb_log_cfg){
        .segment_bytes = 1073741824,
        .segment_ms = 604800000,
        .retention_ms = 604800000,
        .retention_bytes = -1,
        .index_interval_bytes = 4096,
        .segment_index_bytes = 10485760,
        .flush_messages = INT64_MAX,
        .flush_ms = INT64_MAX,
        .file_delete_delay_ms = 60000,
        .cleanup_delete = true,
    };
}

static const struct {
    int code;
    const char *text;
} kb_log_errs[] = {
    { KB_LOG_ECORRUPT, "corrupt log file" },
    { KB_LOG_EOFFSET, "offset out of range" },
    { KB_LOG_ETOOBIG, "record batch larger than the segment size" },
    { KB_LOG_EBATCH, "not a sequence of whole v2 record batches" },
    { KB_LOG_EORDER, "offsets below the log end offset or out of order" },
    { KB_LOG_ELOCKED, "log directory locked by another process" },
    { KB_LOG_EMETA, "bad or inconsistent meta.properties" },
    { KB_LOG_EDUP, "duplicate log directories for a partition" },
    { KB_LOG_EEXIST, "log already exists" },
    { KB_LOG_ENOENT, "no such log" },
};

const char *kb_log_strerror(int rc)
{
    for (size_t i = 0; i < sizeof kb_log_errs / sizeof kb_log_errs[0]; i++)
        if (kb_log_errs[i].code == rc)
            return kb_log_errs[i].text;
    return rc < 0 && rc > -4096 ? strerror(-rc) : "unknown error";
}

/* ------------------------------------------------------------------ walker */

typedef struct kb_walk {
    int fd;
    int64_t end;  /* file size: nothing past it is read */
    uint8_t *buf;
    size_t cap;
    int64_t wpos; /* file position of buf[0] */
    size_t wlen;  /* valid bytes in buf */
} kb_walk;

static kb_walk kb_walk_init(const kb_segment *s, uint8_t *buf, size_t cap)
{
    return (kb_walk){ s->fd, s->size, buf, cap, 0, 0 };
}

/* Points *@p at [@pos, @pos + @n) of the file (@n <= cap, @pos + @n <= end), reading at least
 * @ahead bytes (bounded by cap and the file) when the window does not hold them. */
static int kb_walk_at(kb_walk *w, int64_t pos, size_t n, size_t ahead, const uint8_t **p)
{
    if (pos >= w->wpos && pos + (int64_t)n <= w->wpos + (int64_t)w->wlen) {
        *p = w->buf + (pos - w->wpos);
        return 0;
    }
    size_t want = ahead > n ? ahead : n;
    if (want > w->cap)
        want = w->cap;
    if ((int64_t)want > w->end - pos)
        want = (size_t)(w->end - pos);
    size_t got = 0;
    while (got < want) {
        ssize_t r = pread(w->fd, w->buf + got, want - got, pos + (int64_t)got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            w->wlen = 0;
            return -errno;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    w->wpos = pos;
    w->wlen = got;
    if (got < n)
        return KB_LOG_ECORRUPT; /* the file shrank under us */
    *p = w->buf;
    return 0;
}

/* Decodes the header of the entry at @pos (< end). Returns KZ_BATCH_OK when the header is
 * sane and the whole entry lies in the file, KZ_BATCH_PARTIAL when it runs past the end (a
 * torn tail), KZ_BATCH_CORRUPT, or a negative error. Legacy entries get last_offset_delta 0
 * (their offset field is their last offset), attributes from the message and max_ts from the
 * v1 timestamp (-1 for v0). */
static int kb_walk_hdr(kb_walk *w, int64_t pos, kz_batch_hdr *h)
{
    int64_t left = w->end - pos;
    size_t n = left < KZ_BATCH_HDR_SIZE ? (size_t)left : KZ_BATCH_HDR_SIZE;
    const uint8_t *p;
    int rc = kb_walk_at(w, pos, n, KB_WALK_HDR_AHEAD, &p);
    if (rc)
        return rc;
    memset(h, 0, sizeof *h);
    kz_batch_rc r = kz_batch_peek(p, n, 0, h);
    if (r == KZ_BATCH_CORRUPT)
        return KZ_BATCH_CORRUPT;
    if (n < 17 || (h->magic == 2 && n < KZ_BATCH_HDR_SIZE))
        return KZ_BATCH_PARTIAL;
    if ((int64_t)kz_batch_size(h) > left)
        return KZ_BATCH_PARTIAL;
    if (h->magic < 2) {
        /* legacy: crc 12..16, magic 16, attributes 17, [timestamp 18..26 in v1] */
        h->attributes = p[17];
        h->last_offset_delta = 0;
        h->max_ts = h->magic == 1 ? (int64_t)kz_load_be64(p + 18) : -1;
        h->first_ts = h->max_ts;
        h->producer_id = -1;
        h->count = 1;
    }
    return KZ_BATCH_OK;
}

/* kb_walk_hdr where the entry must be whole and sane (data below the end of a checked
 * segment): 0 with the header, KB_LOG_ECORRUPT for a torn or bad entry, or a negative
 * error. */
static int kb_walk_whole(kb_walk *w, int64_t pos, kz_batch_hdr *h)
{
    int rc = kb_walk_hdr(w, pos, h);
    if (rc < 0)
        return rc;
    return rc == KZ_BATCH_OK ? 0 : KB_LOG_ECORRUPT;
}

/* Whether the stored checksum of the entry at @pos matches its bytes: CRC-32C of
 * attributes..end for v2, CRC-32 of magic..end for legacy. */
static int kb_walk_crc(kb_walk *w, int64_t pos, const kz_batch_hdr *h, bool *ok)
{
    int64_t end = pos + (int64_t)kz_batch_size(h);
    int64_t off = pos + (h->magic == 2 ? KZ_BATCH_CRC_START : 16);
    uint32_t want;
    const uint8_t *p;
    int rc;
    if (h->magic == 2) {
        want = h->crc;
    } else {
        if ((rc = kb_walk_at(w, pos + 12, 4, 4, &p)) != 0)
            return rc;
        want = kz_load_be32(p);
    }
    uint32_t c = 0;
    uLong z = crc32(0L, Z_NULL, 0);
    while (off < end) {
        size_t n = end - off > (int64_t)w->cap ? w->cap : (size_t)(end - off);
        if ((rc = kb_walk_at(w, off, n, n, &p)) != 0)
            return rc;
        if (h->magic == 2)
            c = kz_crc32c(c, p, n);
        else
            z = crc32(z, p, (uInt)n);
        off += (int64_t)n;
    }
    *ok = h->magic == 2 ? c == want : (uint32_t)z == want;
    return 0;
}

static inline int64_t kb_hdr_last(const kz_batch_hdr *h) { return kz_batch_last_offset(h); }
/* First offset an entry may hold: the base offset (legacy: its last offset, the only known). */
static inline int64_t kb_hdr_first(const kz_batch_hdr *h) { return h->base_offset; }

/* ------------------------------------------------------------- open/close */

int kb_segment_path(char *buf, size_t cap, const char *dir, int64_t base, const char *suffix)
{
    int n = snprintf(buf, cap, "%s/%020" PRId64 "%s", dir, base, suffix);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int kb_segment_open(kb_segment **out, const char *dir, int64_t base, const kb_log_cfg *cfg, bool create,
                    int64_t now_ms)
{
    int rc = 0;
    char path[PATH_MAX];
    bool made_o = false, made_t = false;
    *out = NULL;
    kb_segment *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->refs = 1;
    s->fd = -1;
    s->base = base;
    s->next_offset = base;
    s->max_ts = -1;
    s->max_ts_off = base;
    s->roll_ts = create ? -1 : KB_TS_UNLOADED;
    s->created_ms = now_ms;
    s->index_interval = cfg->index_interval_bytes;
    s->index_bytes = cfg->segment_index_bytes;
    if ((rc = kb_segment_path(path, sizeof path, dir, base, ".log")) != 0)
        goto out;
    if (!(s->log_path = strdup(path))) {
        rc = -ENOMEM;
        goto out;
    }
    s->fd = open(path, create ? O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC : O_RDWR | O_CLOEXEC, 0644);
    if (s->fd < 0) {
        rc = -errno;
        goto out;
    }
    struct stat st;
    if (fstat(s->fd, &st) != 0) {
        rc = -errno;
        goto out;
    }
    s->size = st.st_size;
    static const char *const sfx[2] = { ".index", ".timeindex" };
    for (int k = 0; k < 2; k++) {
        if ((rc = kb_segment_path(path, sizeof path, dir, base, sfx[k])) != 0)
            goto out;
        if (create && unlink(path) != 0 && errno != ENOENT) {
            rc = -errno;
            goto out;
        }
        rc = kb_index_open(k == 0 ? &s->oidx : &s->tidx, path, k == 0 ? KB_INDEX_OFFSET : KB_INDEX_TIME, base,
                           cfg->segment_index_bytes, create, k == 0 ? &made_o : &made_t);
        if (rc)
            goto out;
    }
    s->need_recovery = !create && s->size > 0 && (made_o || made_t);
    *out = s;
    s = NULL;
out:
    if (s)
        kb_segment_unpin(s);
    return rc;
}

void kb_segment_pin(kb_segment *s) { s->refs++; }

void kb_segment_unpin(kb_segment *s)
{
    if (!s || --s->refs > 0)
        return;
    kb_index_close(s->oidx);
    kb_index_close(s->tidx);
    if (s->fd >= 0)
        close(s->fd);
    free(s->log_path);
    free(s);
}

bool kb_segment_needs_recovery(const kb_segment *s) { return s->need_recovery; }

/* Walks from @from (an entry start) to the end of the file: sets next_offset (when an entry is
 * seen), raises max_ts with what it finds. Checks headers only (no CRC): offsets must not go
 * back and must fit a relative offset. KB_LOG_ECORRUPT on a torn or bad entry. */
static int kb_segment_scan_tail(kb_segment *s, int64_t from)
{
    uint8_t buf[KB_WALK_READ_BUF];
    kb_walk w = kb_walk_init(s, buf, sizeof buf);
    int64_t pos = from, next = -1;
    kz_batch_hdr h;
    while (pos < s->size) {
        int rc = kb_walk_whole(&w, pos, &h);
        if (rc)
            return rc;
        int64_t last = kb_hdr_last(&h);
        if (kb_hdr_first(&h) < s->base || (next >= 0 && kb_hdr_first(&h) < next) || last - s->base > INT32_MAX)
            return KB_LOG_ECORRUPT;
        if (h.max_ts > s->max_ts) {
            s->max_ts = h.max_ts;
            s->max_ts_off = last;
        }
        next = last + 1;
        pos += (int64_t)kz_batch_size(&h);
    }
    if (next >= 0)
        s->next_offset = next;
    else if (from == 0)
        s->next_offset = s->base;
    return 0;
}

int kb_segment_load(kb_segment *s)
{
    if (kb_index_sanity(s->oidx, s->size) != 0 || kb_index_sanity(s->tidx, s->size) != 0)
        return KB_LOG_ECORRUPT;
    int64_t ooff, toff, ts;
    int32_t opos;
    kb_oindex_last(s->oidx, &ooff, &opos);
    kb_tindex_last(s->tidx, &ts, &toff);
    s->max_ts = ts;
    s->max_ts_off = toff;
    if (kb_index_entries(s->oidx) > 0) {
        /* the append indexed last starts at opos and its first batch begins at or before ooff */
        uint8_t buf[KZ_BATCH_HDR_SIZE];
        kb_walk w = kb_walk_init(s, buf, sizeof buf);
        kz_batch_hdr h;
        int rc = kb_walk_whole(&w, opos, &h);
        if (rc)
            return rc;
        if (kb_hdr_first(&h) > ooff)
            return KB_LOG_ECORRUPT;
    }
    s->next_offset = s->base;
    int rc = kb_segment_scan_tail(s, opos);
    if (rc)
        return rc;
    if (kb_index_entries(s->oidx) > 0 && ooff >= s->next_offset)
        return KB_LOG_ECORRUPT;
    if (kb_index_entries(s->tidx) > 0 && toff >= s->next_offset)
        return KB_LOG_ECORRUPT;
    s->since_index = s->size - opos;
    return 0;
}

/* ---------------------------------------------------------------- recover */

int kb_segment_recover(kb_segment *s, int64_t *truncated)
{
    int rc = 0;
    *truncated = 0;
    uint8_t *buf = malloc(KB_WALK_RECOVER_BUF);
    if (!buf)
        return -ENOMEM;
    kb_index_reset(s->oidx);
    kb_index_reset(s->tidx);
    if ((rc = kb_index_resize(s->oidx, s->index_bytes)) != 0 || (rc = kb_index_resize(s->tidx, s->index_bytes)) != 0)
        goto out;
    kb_walk w = kb_walk_init(s, buf, KB_WALK_RECOVER_BUF);
    int64_t valid = 0, last_entry = 0, next = s->base, max_ts = -1, max_ts_off = s->base;
    kz_batch_hdr h;
    while (valid < s->size) {
        int r = kb_walk_hdr(&w, valid, &h);
        if (r < 0) {
            rc = r;
            goto out;
        }
        if (r != KZ_BATCH_OK)
            break;
        bool ok = false;
        if ((rc = kb_walk_crc(&w, valid, &h, &ok)) != 0)
            goto out;
        int64_t last = kb_hdr_last(&h);
        if (!ok || kb_hdr_first(&h) < next || last - s->base > INT32_MAX)
            break;
        if (h.max_ts > max_ts) {
            max_ts = h.max_ts;
            max_ts_off = last;
        }
        if (valid - last_entry > s->index_interval) {
            kb_oindex_append(s->oidx, last, (int32_t)valid);
            kb_tindex_maybe_append(s->tidx, max_ts, max_ts_off, false);
            last_entry = valid;
        }
        valid += (int64_t)kz_batch_size(&h);
        next = last + 1;
    }
    if (valid < s->size) {
        if (ftruncate(s->fd, valid) != 0) {
            rc = -errno;
            goto out;
        }
        *truncated = s->size - valid;
        s->size = valid;
    }
    kb_tindex_maybe_append(s->tidx, max_ts, max_ts_off, true);
    if ((rc = kb_index_trim(s->oidx)) != 0 || (rc = kb_index_trim(s->tidx)) != 0)
        goto out;
    s->next_offset = next;
    s->max_ts = max_ts;
    s->max_ts_off = max_ts_off;
    s->since_index = valid - last_entry;
    s->roll_ts = KB_TS_UNLOADED;
    s->need_recovery = false;
out:
    free(buf);
    return rc;
}

int kb_segment_activate(kb_segment *s, const kb_log_cfg *cfg)
{
    s->index_interval = cfg->index_interval_bytes;
    s->index_bytes = cfg->segment_index_bytes;
    int rc = kb_index_resize(s->oidx, cfg->segment_index_bytes);
    return rc ? rc : kb_index_resize(s->tidx, cfg->segment_index_bytes);
}

int kb_segment_deactivate(kb_segment *s)
{
    kb_tindex_maybe_append(s->tidx, s->max_ts, s->max_ts_off, true);
    int rc = kb_index_trim(s->oidx);
    return rc ? rc : kb_index_trim(s->tidx);
}

/* ------------------------------------------------------------------ append */

/* The max timestamp of the first batch, read once from the file (-1 when empty/none). */
static int64_t kb_segment_roll_ts(kb_segment *s)
{
    if (s->roll_ts != KB_TS_UNLOADED)
        return s->roll_ts;
    s->roll_ts = -1;
    if (s->size > 0) {
        uint8_t buf[KZ_BATCH_HDR_SIZE];
        kb_walk w = kb_walk_init(s, buf, sizeof buf);
        kz_batch_hdr h;
        if (kb_walk_hdr(&w, 0, &h) == KZ_BATCH_OK)
            s->roll_ts = h.max_ts;
    }
    return s->roll_ts;
}

bool kb_segment_should_roll(kb_segment *s, const kb_log_cfg *cfg, size_t len, int64_t max_ts, int64_t last_offset,
                            int64_t now_ms)
{
    if (s->size > (int64_t)cfg->segment_bytes - (int64_t)len)
        return true;
    if (s->size > 0) {
        int64_t t0 = kb_segment_roll_ts(s);
        int64_t waited = t0 >= 0 ? max_ts - t0 : now_ms - s->created_ms;
        if (waited > cfg->segment_ms)
            return true;
    }
    if (kb_index_full(s->oidx) || kb_index_full(s->tidx))
        return true;
    return last_offset < s->base || last_offset - s->base > INT32_MAX;
}

int kb_segment_append(kb_segment *s, const kb_log_cfg *cfg, const uint8_t *buf, size_t len, int64_t last_offset,
                      int64_t max_ts, int64_t max_ts_off)
{
    if (len == 0)
        return 0;
    int64_t pos = s->size;
    int rc = kz_fs_pwrite_all(s->fd, buf, len, pos);
    if (rc) {
        if (ftruncate(s->fd, pos) != 0) { /* nothing more to do: the log is unusable */
        }
        return rc;
    }
    s->size = pos + (int64_t)len;
    s->next_offset = last_offset + 1;
    if (pos == 0)
        s->roll_ts = max_ts;
    if (max_ts > s->max_ts) {
        s->max_ts = max_ts;
        s->max_ts_off = max_ts_off;
    }
    s->index_interval = cfg->index_interval_bytes;
    if (s->since_index > s->index_interval) {
        /* both refuse only when full or out of order, which the roll check rules out */
        kb_oindex_append(s->oidx, last_offset, (int32_t)pos);
        kb_tindex_maybe_append(s->tidx, s->max_ts, s->max_ts_off, false);
        s->since_index = 0;
    }
    s->since_index += (int64_t)len;
    return 0;
}

/* -------------------------------------------------------------------- read */

int kb_segment_find(kb_segment *s, int64_t offset, int64_t *pos, kz_batch_hdr *h)
{
    uint8_t buf[KB_WALK_READ_BUF];
    kb_walk w = kb_walk_init(s, buf, sizeof buf);
    int64_t ioff;
    int32_t ipos;
    kb_oindex_lookup(s->oidx, offset, &ioff, &ipos);
    int64_t p = ipos;
    while (p < s->size) {
        int rc = kb_walk_whole(&w, p, h);
        if (rc)
            return rc;
        if (kb_hdr_last(h) >= offset) {
            *pos = p;
            return 1;
        }
        p += (int64_t)kz_batch_size(h);
    }
    *pos = s->size;
    return 0;
}

int kb_segment_span(kb_segment *s, int64_t pos, int32_t max_bytes, int64_t max_offset, bool min_one, int64_t *len,
                    int64_t *next)
{
    uint8_t buf[KB_WALK_READ_BUF];
    kb_walk w = kb_walk_init(s, buf, sizeof buf);
    int64_t total = 0, p = pos;
    kz_batch_hdr h;
    while (p < s->size) {
        int rc = kb_walk_whole(&w, p, &h);
        if (rc)
            return rc;
        int64_t sz = (int64_t)kz_batch_size(&h);
        if (kb_hdr_last(&h) >= max_offset)
            break;
        if (total + sz > (int64_t)max_bytes && !(total == 0 && min_one))
            break;
        total += sz;
        *next = kb_hdr_last(&h) + 1;
        p += sz;
        if (total > (int64_t)max_bytes)
            break; /* the one oversized first entry */
    }
    *len = total;
    return 0;
}

/* Scans the records of the v2 batch at @pos (decompressed first when needed) for the first one
 * with timestamp >= @ts and offset >= @start. Returns 1 (found), 0 (none, or records that do
 * not decode), or a negative error. */
static int kb_segment_scan_records(kb_segment *s, int64_t pos, const kz_batch_hdr *h, int64_t ts, int64_t start,
                                   int64_t *off, int64_t *found_ts)
{
    size_t size = kz_batch_size(h);
    uint8_t *b = malloc(size);
    if (!b)
        return -ENOMEM;
    int rc = 0;
    kz_wr inflated = KZ_WR_INIT;
    kb_walk w = kb_walk_init(s, b, size);
    const uint8_t *p;
    if ((rc = kb_walk_at(&w, pos, size, size, &p)) != 0)
        goto out;
    kz_rd r = kz_rd_init(p + KZ_BATCH_HDR_SIZE, size - KZ_BATCH_HDR_SIZE);
    if (kz_batch_codec(h) != KZ_CODEC_NONE) {
        if (kz_decompress(kz_batch_codec(h), p + KZ_BATCH_HDR_SIZE, size - KZ_BATCH_HDR_SIZE, 0,
                          KB_FIND_TS_MAX_INFLATE, &inflated) != KZ_CZ_OK)
            goto out;
        r = kz_rd_init(inflated.base, inflated.len);
    }
    bool log_append = h->attributes & KZ_BATCH_TS_LOGAPPEND;
    for (int32_t i = 0; i < h->count && !r.err; i++) {
        int32_t rlen = kz_rd_varint(&r);
        if (r.err || rlen < 0 || (size_t)rlen > kz_rd_left(&r))
            break;
        kz_rd rec = kz_rd_init(r.p, (size_t)rlen);
        r.p += rlen;
        (void)kz_rd_u8(&rec); /* attributes */
        int64_t tsd = kz_rd_varlong(&rec);
        int32_t od = kz_rd_varint(&rec);
        if (rec.err)
            break;
        int64_t rts = log_append ? h->max_ts : h->first_ts + tsd;
        int64_t roff = h->base_offset + od;
        if (rts >= ts && roff >= start) {
            *off = roff;
            *found_ts = rts;
            rc = 1;
            goto out;
        }
    }
out:
    kz_wr_free(&inflated);
    free(b);
    return rc;
}

int kb_segment_find_ts(kb_segment *s, int64_t ts, int64_t start_offset, int64_t *off, int64_t *found_ts)
{
    uint8_t buf[KB_WALK_READ_BUF];
    kb_walk w = kb_walk_init(s, buf, sizeof buf);
    int64_t tts, toff, ioff;
    int32_t ipos;
    kb_tindex_lookup(s->tidx, ts, &tts, &toff);
    kb_oindex_lookup(s->oidx, toff > start_offset ? toff : start_offset, &ioff, &ipos);
    int64_t p = ipos;
    kz_batch_hdr h;
    while (p < s->size) {
        int rc = kb_walk_whole(&w, p, &h);
        if (rc)
            return rc;
        if (h.max_ts >= ts && kb_hdr_last(&h) >= start_offset) {
            if (h.magic == 2 && kz_batch_size(&h) <= KB_FIND_TS_MAX_BATCH) {
                rc = kb_segment_scan_records(s, p, &h, ts, start_offset, off, found_ts);
                if (rc != 0)
                    return rc;
            } else {
                *off = kb_hdr_first(&h) > start_offset ? kb_hdr_first(&h) : start_offset;
                *found_ts = h.max_ts;
                return 1;
            }
        }
        p += (int64_t)kz_batch_size(&h);
    }
    return 0;
}

/* ---------------------------------------------------------------- truncate */

int64_t kb_segment_truncate_to(kb_segment *s, int64_t offset)
{
    int64_t pos;
    kz_batch_hdr h;
    int rc = kb_segment_find(s, offset, &pos, &h);
    if (rc <= 0)
        return rc;
    if (ftruncate(s->fd, pos) != 0)
        return -errno;
    int64_t cut = s->size - pos;
    s->size = pos;
    kb_index_truncate_to(s->oidx, kb_hdr_first(&h));
    kb_index_truncate_to(s->tidx, kb_hdr_first(&h));
    /* LogSegment.loadLargestTimestamp: the last time entry, then a scan after it */
    int64_t ts, toff, ioff;
    int32_t ipos;
    kb_tindex_last(s->tidx, &ts, &toff);
    s->max_ts = ts;
    s->max_ts_off = toff;
    kb_oindex_lookup(s->oidx, toff, &ioff, &ipos);
    s->next_offset = s->base;
    if ((rc = kb_segment_scan_tail(s, ipos)) != 0)
        return rc;
    kb_oindex_last(s->oidx, &ioff, &ipos);
    s->since_index = s->size - ipos;
    s->roll_ts = KB_TS_UNLOADED;
    return cut;
}

/* ------------------------------------------------------------------- files */

int kb_segment_flush(kb_segment *s)
{
    if (fsync(s->fd) != 0)
        return -errno;
    int rc = kb_index_flush(s->oidx);
    return rc ? rc : kb_index_flush(s->tidx);
}


int kb_segment_dup_fds(const kb_segment *s, int fds[3])
{
    const int src[3] = { s->fd, kb_index_fd(s->oidx), kb_index_fd(s->tidx) };
    for (int i = 0; i < 3; i++) {
        if ((fds[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 0)) < 0) {
            int rc = -errno;
            while (i-- > 0)
                close(fds[i]);
            return rc;
        }
    }
    return 0;
}

/* "<path><suffix>" into @buf. */
static int kb_suffixed(char *buf, size_t cap, const char *path, const char *suffix)
{
    int n = snprintf(buf, cap, "%s%s", path, suffix);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int kb_segment_mark_deleted(kb_segment *s)
{
    char p[PATH_MAX];
    int rc = kb_suffixed(p, sizeof p, s->log_path, ".deleted");
    if (rc)
        return rc;
    char *np = strdup(p);
    if (!np)
        return -ENOMEM;
    if (rename(s->log_path, np) != 0) {
        rc = -errno;
        free(np);
        return rc;
    }
    free(s->log_path);
    s->log_path = np;
    kb_index *ix[2] = { s->oidx, s->tidx };
    for (int k = 0; k < 2; k++) {
        if ((rc = kb_suffixed(p, sizeof p, kb_index_path(ix[k]), ".deleted")) != 0)
            return rc;
        int r = kb_index_rename(ix[k], p);
        if (r && r != -ENOENT)
            rc = r;
    }
    return rc;
}

int kb_segment_unlink(kb_segment *s)
{
    int rc = unlink(s->log_path) != 0 && errno != ENOENT ? -errno : 0;
    int r1 = kb_index_unlink(s->oidx), r2 = kb_index_unlink(s->tidx);
    return rc ? rc : r1 ? r1 : r2;
}

/* --------------------------------------------------------------- accessors */

int64_t kb_segment_base(const kb_segment *s) { return s->base; }
int64_t kb_segment_size(const kb_segment *s) { return s->size; }
int64_t kb_segment_next_offset(const kb_segment *s) { return s->next_offset; }
int kb_segment_fd(const kb_segment *s) { return s->fd; }
int64_t kb_segment_max_ts(const kb_segment *s) { return s->max_ts; }
int64_t kb_segment_max_ts_offset(const kb_segment *s) { return s->max_ts_off; }
const kb_index *kb_segment_offset_index(const kb_segment *s) { return s->oidx; }
const kb_index *kb_segment_time_index(const kb_segment *s) { return s->tidx; }

int64_t kb_segment_largest_ts(const kb_segment *s)
{
    if (s->max_ts >= 0)
        return s->max_ts;
    struct stat st;
    if (fstat(s->fd, &st) != 0)
        return 0;
    return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}
