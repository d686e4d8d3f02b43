/* coordinator/zkd_txnlog.c -- ZooKeeper transaction log files (format, padding
 * and recovery rules in zkd_txnlog.h).
 *
 * Writer: entries are encoded into one growable buffer and written with one
 * pwrite per flush (group commit); the sync thread owns the writer. Files
 * left by a roll stay open until the next flush has fdatasync()ed them, and
 * the directory is fsync()ed once after a new file was created so that its
 * name survives a crash too.
 * Reader: one buffered window per file read with read(2); every field is
 * bounded by the file size before it is read, so a hostile length costs at
 * most a failed allocation, never an over-read. */
#include "zkd_txnlog.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "kz_buf.h"
#include "kz_fs.h"
#include "kz_log.h"
#include "kz_time.h"
#include "kz_vec.h"
#include "zkd_proto.h"
#include "zkd_records.h"

#define ZKD_TL_COMP   "FileTxnLog"
#define ZKD_TL_MARGIN 4096 /* FilePadding: extend when this close to the end */
#define ZKD_TL_ENTRY_OVERHEAD 13 /* i64 checksum + i32 len + 'B' */
#define ZKD_TL_MAX_OLD 8

/* ------------------------------------------------------------------------ */
/* helpers shared with zkd_snap / zkd_db                                     */

uint32_t zkd_adler32(uint32_t adler, const void *p, size_t len)
{
    const Bytef *b = p;
    while (len > 0) {
        uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;
        adler = (uint32_t)adler32(adler, b, chunk);
        b += chunk;
        len -= chunk;
    }
    return adler;
}

int64_t zkd_zxid_from_name(const char *name, const char *prefix, size_t *suffix_at)
{
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl) != 0 || name[pl] != '.')
        return -1;
    const char *p = name + pl + 1;
    uint64_t v = 0;
    size_t nd = 0;
    for (; *p && *p != '.'; p++, nd++) {
        int d;
        if (*p >= '0' && *p <= '9')
            d = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            d = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F')
            d = *p - 'A' + 10;
        else
            return -1;
        if (nd >= 16)
            return -1;
        v = v << 4 | (uint64_t)d;
    }
    if (nd == 0 || v > (uint64_t)INT64_MAX)
        return -1;
    *suffix_at = (size_t)(p - name);
    return (int64_t)v;
}

static int zkd_zxid_file_cmp(const void *a, const void *b)
{
    const zkd_zxid_file *x = a, *y = b;
    if (x->zxid != y->zxid)
        return x->zxid < y->zxid ? -1 : 1;
    return strcmp(x->name, y->name);
}

int zkd_zxid_files(const char *dir, const char *prefix, zkd_zxid_file **out, size_t *n)
{
    int rc = 0;
    size_t cnt = 0, cap = 0;
    zkd_zxid_file *v = NULL;
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno)
                rc = -errno;
            break;
        }
        size_t sfx;
        int64_t z = zkd_zxid_from_name(de->d_name, prefix, &sfx);
        if (z < 0 || strlen(de->d_name) >= sizeof v->name)
            continue;
        if ((rc = KZ_VEC_RESERVE(v, cap, cnt + 1, 16)) != 0)
            break;
        zkd_zxid_file *f = &v[cnt++];
        f->zxid = z;
        snprintf(f->name, sizeof f->name, "%s", de->d_name);
        f->sfx = (uint16_t)sfx;
    }
    closedir(d);
    if (rc) {
        free(v);
        return rc;
    }
    if (cnt > 1)
        qsort(v, cnt, sizeof *v, zkd_zxid_file_cmp);
    *out = v;
    *n = cnt;
    return 0;
}

size_t zkd_zxid_files_start(const zkd_zxid_file *f, size_t n, int64_t zxid)
{
    size_t start = 0;
    for (size_t i = 0; i < n && f[i].zxid <= zxid; i++)
        start = i;
    return start;
}

/* ------------------------------------------------------------------------ */
/* writer                                                                    */

struct zkd_txnlog {
    char dir[PATH_MAX];
    int fd;              /* current file, -1 between files */
    int64_t prealloc;
    int64_t written;     /* bytes of the current file already written */
    int64_t size;        /* padded size of the current file */
    int64_t last_zxid;
    kz_wr buf;           /* entries not yet written (start at offset written) */
    int old[ZKD_TL_MAX_OLD]; /* rolled files awaiting their fdatasync */
    int nold;
    bool dir_dirty;      /* a file was created since the last directory fsync */
    bool failed;
};

int zkd_txnlog_open(zkd_txnlog **out, const char *dir, int64_t prealloc_bytes)
{
    *out = NULL;
    if (prealloc_bytes < 0 || strlen(dir) >= PATH_MAX - 32)
        return -EINVAL;
    zkd_txnlog *l = calloc(1, sizeof *l);
    if (!l)
        return -ENOMEM;
    snprintf(l->dir, sizeof l->dir, "%s", dir);
    l->fd = -1;
    l->prealloc = prealloc_bytes;
    l->last_zxid = -1;
    l->buf = KZ_WR_INIT;
    *out = l;
    return 0;
}

/* FilePadding.calculateFileSizeWithPadding, verbatim. */
static int64_t zkd_tl_padded_size(int64_t pos, int64_t size, int64_t prealloc)
{
    if (prealloc > 0 && pos + ZKD_TL_MARGIN >= size) {
        if (pos > size) {
            size = pos + prealloc;
            size -= size % prealloc;
        } else {
            size += prealloc;
        }
    }
    return size;
}

/* Grows the file to @size with zeros the way FilePadding does: one zero byte
 * at the new end, leaving a sparse tail (same size and disk use as
 * ZooKeeper's files; fallocate would pin 64 MiB of disk per log file). */
static int zkd_tl_extend(int fd, int64_t size)
{
    static const uint8_t zero = 0;
    return kz_fs_pwrite_all(fd, &zero, 1, size - 1);
}

static int zkd_tl_write_buffered(zkd_txnlog *l)
{
    if (l->buf.err)
        return -ENOMEM;
    if (l->buf.len == 0 || l->fd < 0)
        return 0;
    int rc = kz_fs_pwrite_all(l->fd, l->buf.base, l->buf.len, l->written);
    if (rc)
        return rc;
    l->written += (int64_t)l->buf.len;
    l->buf.len = 0;
    return 0;
}

static int zkd_tl_fail(zkd_txnlog *l, int rc, const char *what)
{
    l->failed = true;
    kz_error(ZKD_TL_COMP, "txn log %s failed in %s: %s", l->dir, what, strerror(-rc));
    return rc;
}

static int zkd_tl_new_file(zkd_txnlog *l, int64_t zxid)
{
    char path[PATH_MAX];
    char name[32];
    snprintf(name, sizeof name, "log.%" PRIx64, (uint64_t)zxid);
    int rc = kz_fs_join(path, sizeof path, l->dir, name);
    if (rc)
        return rc;
    kz_info(ZKD_TL_COMP, "Creating new log file: log.%" PRIx64, (uint64_t)zxid);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST) {
        /* Only possible when recovery was skipped; ZooKeeper overwrites too. */
        kz_warn(ZKD_TL_COMP, "log file %s exists, overwriting it", path);
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    }
    if (fd < 0)
        return -errno;
    l->fd = fd;
    l->written = 0;
    l->dir_dirty = true;
    zkd_FileHeader fh = { ZKD_LOG_MAGIC, ZKD_PERSIST_VERSION, 0 };
    zkd_encode(FileHeader, &fh, &l->buf);
    l->size = ZKD_TXNLOG_HDR_LEN; /* FilePadding.setCurrentSize(header end) */
    return l->buf.err ? -ENOMEM : 0;
}

int zkd_txnlog_append(zkd_txnlog *l, int64_t zxid, const uint8_t *txn, size_t len)
{
    int rc;
    if (l->failed)
        return -EIO;
    if (len == 0 || len > INT32_MAX)
        return -EINVAL;
    if (zxid <= l->last_zxid)
        kz_warn(ZKD_TL_COMP, "Current zxid 0x%" PRIx64 " is <= 0x%" PRIx64, (uint64_t)zxid,
                (uint64_t)l->last_zxid);
    if (l->fd < 0 && (rc = zkd_tl_new_file(l, zxid)) != 0)
        return zkd_tl_fail(l, rc, "create");
    int64_t pos = l->written + (int64_t)l->buf.len;
    int64_t nsize = zkd_tl_padded_size(pos, l->size, l->prealloc);
    if (nsize != l->size) {
        if ((rc = zkd_tl_extend(l->fd, nsize)) != 0)
            return zkd_tl_fail(l, rc, "preallocate");
        l->size = nsize;
    }
    kz_wr_i64(&l->buf, (int64_t)zkd_adler32(1, txn, len));
    kz_wr_i32(&l->buf, (int32_t)len);
    kz_wr_bytes(&l->buf, txn, len);
    kz_wr_u8(&l->buf, 'B');
    if (l->buf.err)
        return zkd_tl_fail(l, -ENOMEM, "append");
    l->last_zxid = zxid;
    return 0;
}

int zkd_txnlog_flush(zkd_txnlog *l, bool sync, int64_t *sync_ns)
{
    int rc = 0;
    int64_t t0 = 0;
    if (sync_ns)
        *sync_ns = 0;
    if (l->failed)
        return -EIO;
    if ((rc = zkd_tl_write_buffered(l)) != 0)
        return zkd_tl_fail(l, rc, "write");
    if (sync)
        t0 = kz_mono_ns();
    while (l->nold > 0) {
        int fd = l->old[--l->nold];
        rc = sync && fdatasync(fd) != 0 ? -errno : 0;
        close(fd);
        if (rc)
            return zkd_tl_fail(l, rc, "fdatasync");
    }
    if (sync && l->fd >= 0 && fdatasync(l->fd) != 0)
        return zkd_tl_fail(l, -errno, "fdatasync");
    if (sync && l->dir_dirty) {
        if ((rc = kz_fs_fsync_dir(l->dir)) != 0)
            return zkd_tl_fail(l, rc, "fsync(dir)");
        l->dir_dirty = false;
    }
    if (sync && sync_ns)
        *sync_ns = kz_mono_ns() - t0;
    return 0;
}

int zkd_txnlog_roll(zkd_txnlog *l)
{
    int rc;
    if (l->failed)
        return -EIO;
    if (l->fd < 0)
        return 0;
    if ((rc = zkd_tl_write_buffered(l)) != 0)
        return zkd_tl_fail(l, rc, "write");
    if (l->nold == ZKD_TL_MAX_OLD) { /* many rolls without a flush: sync now */
        if ((rc = zkd_txnlog_flush(l, true, NULL)) != 0)
            return rc;
    }
    l->old[l->nold++] = l->fd;
    l->fd = -1;
    l->size = 0;
    l->written = 0;
    return 0;
}

int64_t zkd_txnlog_last_appended(const zkd_txnlog *l) { return l->last_zxid; }
int64_t zkd_txnlog_file_size(const zkd_txnlog *l) { return l->fd < 0 ? 0 : l->size; }

void zkd_txnlog_close(zkd_txnlog *l)
{
    if (!l)
        return;
    if (!l->failed && zkd_tl_write_buffered(l) != 0)
        kz_error(ZKD_TL_COMP, "txn log %s: write at close failed: %s", l->dir, strerror(errno));
    while (l->nold > 0)
        close(l->old[--l->nold]);
    if (l->fd >= 0)
        close(l->fd);
    kz_wr_free(&l->buf);
    free(l);
}

/* ------------------------------------------------------------------------ */
/* reader                                                                    */

/* One open log file with a read window. Bytes [beg, end) of buf are the file
 * bytes at [off, off + end - beg). */
typedef struct zkd_tl_file {
    int fd;
    uint8_t *buf;
    size_t cap, beg, end;
    int64_t off, fsize;
} zkd_tl_file;

/* How a file's valid part ended. */
enum { ZKD_TL_CLEAN = 0, ZKD_TL_TORN = 1 };

static int zkd_tl_file_open(zkd_tl_file *f, const char *path)
{
    memset(f, 0, sizeof *f);
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0)
        return -errno;
    struct stat st;
    if (fstat(f->fd, &st) != 0) {
        int rc = -errno;
        close(f->fd);
        f->fd = -1;
        return rc;
    }
    f->fsize = st.st_size;
    return 0;
}

static void zkd_tl_file_close(zkd_tl_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    free(f->buf);
    memset(f, 0, sizeof *f);
    f->fd = -1;
}

/* Makes @need bytes available at buf + beg. 0 when they are, 1 when the
 * file ends first (what exists up to EOF is then buffered), or -errno. */
static int zkd_tl_fill(zkd_tl_file *f, size_t need)
{
    if (f->end - f->beg >= need)
        return 0;
    if (f->fsize - f->off < (int64_t)need) {
        if (f->fsize - f->off > (1 << 16)) /* far too short anyway: skip reading */
            return 1;
        need = (size_t)(f->fsize - f->off);
        if (f->end - f->beg >= need)
            return 1;
        int rc = zkd_tl_fill(f, need);
        return rc < 0 ? rc : 1;
    }
    if (f->beg > 0) {
        memmove(f->buf, f->buf + f->beg, f->end - f->beg);
        f->end -= f->beg;
        f->beg = 0;
    }
    if (need > f->cap) {
        size_t ncap = need < (1u << 16) ? (1u << 16) : need;
        uint8_t *nb = realloc(f->buf, ncap);
        if (!nb)
            return -ENOMEM;
        f->buf = nb;
        f->cap = ncap;
    }
    while (f->end < need) {
        ssize_t r = read(f->fd, f->buf + f->end, f->cap - f->end);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return 1; /* the file shrank under us */
        f->end += (size_t)r;
    }
    return 0;
}

static void zkd_tl_consume(zkd_tl_file *f, size_t n)
{
    f->beg += n;
    f->off += (int64_t)n;
}

static bool zkd_all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Reads and checks the FileHeader. 0 ok, 1 bad (*why set), -errno. */
static int zkd_tl_read_header(zkd_tl_file *f, const char **why)
{
    int rc = zkd_tl_fill(f, ZKD_TXNLOG_HDR_LEN);
    if (rc < 0)
        return rc;
    if (rc > 0) {
        *why = "short file header";
        return 1;
    }
    zkd_FileHeader fh;
    kz_rd r = kz_rd_init(f->buf + f->beg, ZKD_TXNLOG_HDR_LEN);
    kz_arena a = KZ_ARENA_INIT;
    if (zkd_decode(FileHeader, &r, &fh, &a) != 0 || fh.magic != ZKD_LOG_MAGIC) {
        *why = "invalid magic number";
        return 1;
    }
    zkd_tl_consume(f, ZKD_TXNLOG_HDR_LEN);
    return 0;
}

/* Reads the next entry. 1 with *e filled (txn borrowed from the window), 0 at
 * the end of the valid part (*kind CLEAN or TORN, *why), or -errno. */
static int zkd_tl_read_entry(zkd_tl_file *f, zkd_txnlog_entry *e, int *kind, const char **why)
{
    *kind = ZKD_TL_TORN;
    int rc = zkd_tl_fill(f, 12);
    if (rc < 0)
        return rc;
    if (rc > 0) {
        bool zero = zkd_all_zero(f->buf + f->beg, f->end - f->beg);
        *kind = zero ? ZKD_TL_CLEAN : ZKD_TL_TORN;
        *why = zero ? "end of file" : "short entry header";
        return 0;
    }
    kz_rd r = kz_rd_init(f->buf + f->beg, 12);
    int64_t crc = kz_rd_i64(&r);
    int32_t len = kz_rd_i32(&r);
    if (len == 0 && crc == 0) {
        *kind = ZKD_TL_CLEAN;
        *why = "padding";
        return 0;
    }
    if (len <= 0) {
        *why = "bad entry length";
        return 0;
    }
    size_t total = (size_t)len + ZKD_TL_ENTRY_OVERHEAD;
    if (f->fsize - f->off < (int64_t)total) {
        *why = "short entry";
        return 0;
    }
    if ((rc = zkd_tl_fill(f, total)) != 0) {
        *why = "short entry";
        return rc < 0 ? rc : 0;
    }
    const uint8_t *txn = f->buf + f->beg + 12;
    if (txn[len] != 'B') {
        *why = "missing end-of-record marker";
        return 0;
    }
    if ((uint64_t)crc != zkd_adler32(1, txn, (size_t)len)) {
        *why = "checksum mismatch";
        return 0;
    }
    zkd_TxnHeader h;
    kz_rd tr = kz_rd_init(txn, (size_t)len);
    kz_arena a = KZ_ARENA_INIT;
    if (zkd_decode(TxnHeader, &tr, &h, &a) != 0) {
        *why = "txn too short for a TxnHeader";
        return 0;
    }
    e->zxid = h.zxid;
    e->txn = txn;
    e->len = (size_t)len;
    e->offset = f->off;
    zkd_tl_consume(f, total);
    return 1;
}

/* Summary of one file. */
typedef struct zkd_tl_scan {
    int64_t entries, last_zxid, good_end, fsize;
    int kind;
    const char *why;
} zkd_tl_scan;

/* Scans a whole file; stops early after the last entry <= @upto. */
static int zkd_tl_scan_file(const char *dir, const char *name, int64_t upto, zkd_tl_scan *s)
{
    char path[PATH_MAX];
    zkd_tl_file f;
    *s = (zkd_tl_scan){ 0, -1, 0, 0, ZKD_TL_CLEAN, NULL };
    int rc = kz_fs_join(path, sizeof path, dir, name);
    if (rc || (rc = zkd_tl_file_open(&f, path)) != 0)
        return rc;
    s->fsize = f.fsize;
    rc = zkd_tl_read_header(&f, &s->why);
    if (rc != 0) {
        s->kind = ZKD_TL_TORN;
        rc = rc < 0 ? rc : 0;
        goto out;
    }
    s->good_end = f.off;
    for (;;) {
        zkd_txnlog_entry e;
        rc = zkd_tl_read_entry(&f, &e, &s->kind, &s->why);
        if (rc <= 0)
            break;
        if (e.zxid > upto) {
            s->kind = ZKD_TL_CLEAN;
            rc = 0;
            break;
        }
        s->entries++;
        s->last_zxid = e.zxid;
        s->good_end = f.off;
    }
out:
    zkd_tl_file_close(&f);
    return rc;
}

/* Cuts a torn tail of @name: remove it when it holds no entry (torn or not:
 * a new writer will reuse the name), else cut after the good part and refill
 * its old length with zeros. */
static int zkd_tl_repair_file(const char *dir, const char *name, const zkd_tl_scan *s)
{
    char path[PATH_MAX];
    int rc = kz_fs_join(path, sizeof path, dir, name);
    if (rc)
        return rc;
    if (s->entries == 0) {
        kz_warn(ZKD_TL_COMP, "txn log %s: no complete txn (%s), removing it", path, s->why);
        if (unlink(path) != 0)
            return -errno;
        return kz_fs_fsync_dir(dir);
    }
    kz_warn(ZKD_TL_COMP, "txn log %s: torn tail at offset %" PRId64 " (%s), truncating", path,
            s->good_end, s->why);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (ftruncate(fd, (off_t)s->good_end) != 0 ||
        (s->fsize > s->good_end && ftruncate(fd, (off_t)s->fsize) != 0) || fdatasync(fd) != 0)
        rc = -errno;
    close(fd);
    return rc;
}

static int zkd_tl_list(const char *dir, zkd_zxid_file **files, size_t *n)
{
    int rc = zkd_zxid_files(dir, "log", files, n);
    if (rc)
        return rc;
    size_t k = 0; /* only plain log.<hex> names */
    for (size_t i = 0; i < *n; i++)
        if (zkd_zxid_file_suffix(&(*files)[i])[0] == '\0')
            (*files)[k++] = (*files)[i];
    *n = k;
    return 0;
}

static int zkd_tl_last(const char *dir, bool repair, int64_t *zxid)
{
    zkd_zxid_file *files = NULL;
    size_t n = 0;
    *zxid = -1;
    int rc = zkd_tl_list(dir, &files, &n);
    for (size_t i = n; rc == 0 && i-- > 0;) {
        zkd_tl_scan s;
        if ((rc = zkd_tl_scan_file(dir, files[i].name, INT64_MAX, &s)) != 0)
            break;
        if (repair && i == n - 1 && (s.kind == ZKD_TL_TORN || s.entries == 0))
            rc = zkd_tl_repair_file(dir, files[i].name, &s);
        if (rc == 0 && s.entries > 0) {
            *zxid = s.last_zxid;
            break;
        }
    }
    free(files);
    return rc;
}

int zkd_txnlog_last_zxid(const char *dir, int64_t *zxid) { return zkd_tl_last(dir, false, zxid); }
int zkd_txnlog_recover(const char *dir, int64_t *zxid) { return zkd_tl_last(dir, true, zxid); }

int zkd_txnlog_truncate(const char *dir, int64_t zxid)
{
    zkd_zxid_file *files = NULL;
    size_t n = 0;
    int rc = zkd_tl_list(dir, &files, &n);
    if (rc || n == 0)
        goto out;
    size_t start = zkd_zxid_files_start(files, n, zxid);
    size_t del_from = start;
    if (files[start].zxid <= zxid) {
        zkd_tl_scan s;
        char path[PATH_MAX];
        if ((rc = zkd_tl_scan_file(dir, files[start].name, zxid, &s)) != 0)
            goto out;
        if ((rc = kz_fs_join(path, sizeof path, dir, files[start].name)) != 0)
            goto out;
        if (s.good_end > 0 && truncate(path, (off_t)s.good_end) != 0) {
            rc = -errno;
            goto out;
        }
        kz_info(ZKD_TL_COMP, "truncated %s after zxid 0x%" PRIx64 " (offset %" PRId64 ")", path,
                (uint64_t)zxid, s.good_end);
        del_from = start + 1;
    }
    for (size_t i = del_from; i < n; i++) {
        char path[PATH_MAX];
        if ((rc = kz_fs_join(path, sizeof path, dir, files[i].name)) != 0)
            goto out;
        kz_info(ZKD_TL_COMP, "removing %s (after zxid 0x%" PRIx64 ")", path, (uint64_t)zxid);
        if (unlink(path) != 0) {
            rc = -errno;
            goto out;
        }
    }
    rc = kz_fs_fsync_dir(dir);
out:
    free(files);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* iterator                                                                  */

struct zkd_txnlog_iter {
    char dir[PATH_MAX];
    zkd_zxid_file *files;
    size_t n, cur;        /* cur: index of the open file, or of the next one */
    bool open, ended;
    zkd_tl_file f;
    int64_t from, last_zxid;
    zkd_tl_scan tail;     /* state of the file being read (the last one at the end) */
};

int zkd_txnlog_iter_open(zkd_txnlog_iter **out, const char *dir, int64_t from)
{
    *out = NULL;
    if (strlen(dir) >= PATH_MAX - 32)
        return -EINVAL;
    zkd_txnlog_iter *it = calloc(1, sizeof *it);
    if (!it)
        return -ENOMEM;
    snprintf(it->dir, sizeof it->dir, "%s", dir);
    it->from = from;
    it->last_zxid = -1;
    it->f.fd = -1;
    int rc = zkd_tl_list(dir, &it->files, &it->n);
    if (rc) {
        free(it);
        return rc;
    }
    it->cur = it->n ? zkd_zxid_files_start(it->files, it->n, from) : 0;
    *out = it;
    return 0;
}

static void zkd_tl_iter_file_done(zkd_txnlog_iter *it)
{
    const char *name = it->files[it->cur].name;
    if (it->tail.kind == ZKD_TL_TORN && it->cur + 1 < it->n)
        kz_warn(ZKD_TL_COMP, "txn log %s/%s: %s at offset %" PRId64 "; continuing with the next file",
                it->dir, name, it->tail.why, it->tail.good_end);
    zkd_tl_file_close(&it->f);
    it->open = false;
    if (it->cur + 1 < it->n)
        it->cur++;
    else
        it->ended = true;
}

int zkd_txnlog_iter_next(zkd_txnlog_iter *it, zkd_txnlog_entry *e)
{
    int rc;
    while (!it->ended && it->n > 0) {
        if (!it->open) {
            char path[PATH_MAX];
            if ((rc = kz_fs_join(path, sizeof path, it->dir, it->files[it->cur].name)) != 0 ||
                (rc = zkd_tl_file_open(&it->f, path)) != 0)
                return rc;
            it->open = true;
            it->tail = (zkd_tl_scan){ 0, -1, 0, it->f.fsize, ZKD_TL_CLEAN, NULL };
            if ((rc = zkd_tl_read_header(&it->f, &it->tail.why)) != 0) {
                if (rc < 0)
                    return rc;
                it->tail.kind = ZKD_TL_TORN;
                zkd_tl_iter_file_done(it);
                continue;
            }
            it->tail.good_end = it->f.off;
        }
        rc = zkd_tl_read_entry(&it->f, e, &it->tail.kind, &it->tail.why);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            zkd_tl_iter_file_done(it);
            continue;
        }
        it->tail.entries++;
        it->tail.last_zxid = e->zxid;
        it->tail.good_end = it->f.off;
        it->last_zxid = e->zxid;
        if (e->zxid < it->from)
            continue;
        e->file = it->files[it->cur].name;
        return 1;
    }
    return 0;
}

int zkd_txnlog_iter_repair(zkd_txnlog_iter *it, bool *truncated)
{
    if (truncated)
        *truncated = false;
    if (!it->ended || (it->tail.kind != ZKD_TL_TORN && it->tail.entries > 0))
        return 0;
    int rc = zkd_tl_repair_file(it->dir, it->files[it->n - 1].name, &it->tail);
    if (rc == 0) {
        it->tail.kind = ZKD_TL_CLEAN;
        if (truncated)
            *truncated = true;
    }
    return rc;
}

int64_t zkd_txnlog_iter_last_zxid(const zkd_txnlog_iter *it) { return it->last_zxid; }

void zkd_txnlog_iter_close(zkd_txnlog_iter *it)
{
    if (!it)
        return;
    if (it->open)
        zkd_tl_file_close(&it->f);
    free(it->files);
    free(it);
}
