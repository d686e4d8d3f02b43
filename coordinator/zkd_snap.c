/* coordinator/zkd_snap.c -- snapshot files (format in zkd_snap.h).
 *
 * Writer: the tree is serialized through one growable buffer that is
 * written out (and folded into the running Adler-32) every 256 KiB, so
 * memory stays flat whatever the tree size. It logs nothing itself because
 * it runs in a forked child; zkd_snap_write adds the log lines.
 * Reader: the file is mmap()ed read-only and decoded with the bounded cursor
 * (every count is bounded by the bytes left); node data and paths are copied
 * by the tree, so the mapping is dropped before returning.
 * The body between the FileHeader and the seal is also the SNAP sync
 * stream: one writer (zkd_snap_put_body) and one reader
 * (zkd_snap_decode_body) serve both; the stream adds an incremental scanner
 * that finds the body's end without decoding it into a tree. */
#include "zkd_snap.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kz_buf.h"
#include "kz_fs.h"
#include "kz_log.h"
#include "zkd_proto.h"
#include "zkd_records.h"

#define ZKD_SNAP_COMP  "FileSnap"
#define ZKD_SNAP_CHUNK (256u * 1024)

/* KZ_E* codes of the tree and the cursor to this module's errno values. */
static int zkd_snap_errno(int kz)
{
    if (kz == 0)
        return 0;
    return kz == KZ_ENOMEM ? -ENOMEM : -EBADMSG;
}

/* ------------------------------------------------------------------ write */

/* Where the body goes: with fd >= 0 the buffer is written out (and folded
 * into the Adler-32) every ZKD_SNAP_CHUNK bytes; with fd < 0 it only grows
 * (the stream encoder appends to the caller's buffer). */
typedef struct zkd_snap_out {
    int fd;
    kz_wr *w;
    uint32_t adler; /* over everything already written out */
    int rc;
} zkd_snap_out;

static int zkd_snap_out_drain(zkd_snap_out *o)
{
    if (o->rc)
        return o->rc;
    if (o->w->err)
        return o->rc = -ENOMEM;
    o->adler = zkd_adler32(o->adler, o->w->base, o->w->len);
    if ((o->rc = kz_fs_write_all(o->fd, o->w->base, o->w->len)) != 0)
        return o->rc;
    o->w->len = 0;
    return 0;
}

static int zkd_snap_out_maybe_drain(zkd_snap_out *o)
{
    if (o->fd < 0) /* memory only: stop the walks at the first failed write */
        return o->w->err ? (o->rc = -ENOMEM) : 0;
    return o->w->len >= ZKD_SNAP_CHUNK || o->w->err ? zkd_snap_out_drain(o) : o->rc;
}

static int zkd_snap_put_session(void *ctx, int64_t sid, int32_t timeout)
{
    zkd_snap_out *o = ctx;
    kz_wr_i64(o->w, sid);
    kz_wr_i32(o->w, timeout);
    return zkd_snap_out_maybe_drain(o);
}

static int zkd_snap_put_acl(void *ctx, int64_t idx, const kz_jvec *acl)
{
    zkd_snap_out *o = ctx;
    int32_t n = acl && acl->n > 0 ? acl->n : 0;
    kz_wr_i64(o->w, idx);
    kz_wr_i32(o->w, n); /* never null: ZooKeeper's reader rejects that */
    for (int32_t i = 0; i < n; i++)
        zkd_encode(ACL, &((const zkd_ACL *)acl->v)[i], o->w);
    return zkd_snap_out_maybe_drain(o);
}

static int zkd_snap_put_node(void *ctx, const zkd_node *n)
{
    zkd_snap_out *o = ctx;
    bool root = n->parent == NULL;
    kz_wr_str(o->w, root ? (kz_str){ "", 0 } : (kz_str){ n->path, (int32_t)n->path_len });
    kz_wr_str(o->w, n->data_len < 0 ? KZ_STR_NULL : (kz_str){ (const char *)n->data, n->data_len });
    kz_wr_i64(o->w, n->acl);
    zkd_encode(StatPersisted, &n->stat, o->w);
    return zkd_snap_out_maybe_drain(o);
}

/* The body shared by files and the SNAP stream (SerializeUtils.
 * serializeSnapshot): sessions, ACL cache, nodes in pre-order, "/". Returns
 * 0, o->rc, or a walk's own KZ_E* code. */
static int zkd_snap_put_body(const zkd_datatree *dt, zkd_snap_out *o)
{
    int rc;
    kz_wr_i32(o->w, (int32_t)zkd_dt_session_count(dt));
    if ((rc = zkd_dt_session_walk(dt, zkd_snap_put_session, o)) != 0)
        return rc;
    kz_wr_i32(o->w, (int32_t)zkd_dt_acl_count(dt));
    if ((rc = zkd_dt_acl_walk(dt, zkd_snap_put_acl, o)) != 0)
        return rc;
    if ((rc = zkd_dt_walk(dt, zkd_snap_put_node, o)) != 0)
        return rc;
    kz_wr_str(o->w, KZ_STR_LIT("/"));
    return 0;
}

/* The whole file into @fd; no logging (may run in a forked child). */
static int zkd_snap_serialize(const zkd_datatree *dt, int fd)
{
    kz_wr w = KZ_WR_INIT;
    zkd_snap_out o = { fd, &w, 1, 0 };
    zkd_FileHeader fh = { ZKD_SNAP_MAGIC, ZKD_PERSIST_VERSION, -1 };
    int rc;
    zkd_encode(FileHeader, &fh, &w);
    if ((rc = zkd_snap_put_body(dt, &o)) != 0)
        goto out;
    if ((rc = zkd_snap_out_drain(&o)) != 0) /* the seal covers all of this */
        goto out;
    kz_wr_i64(&w, (int64_t)o.adler);
    kz_wr_str(&w, KZ_STR_LIT("/"));
    rc = zkd_snap_out_drain(&o);
out:
    if (rc && !o.rc) /* a walk's own KZ_E* (the callbacks return o.rc) */
        rc = zkd_snap_errno(rc);
    kz_wr_free(&w);
    return rc;
}

int zkd_snap_encode_stream(const zkd_datatree *dt, kz_wr *w)
{
    zkd_snap_out o = { -1, w, 1, 0 };
    int rc = zkd_snap_put_body(dt, &o);
    if (rc && !o.rc)
        rc = zkd_snap_errno(rc);
    if (!rc && w->err)
        rc = -ENOMEM;
    return rc;
}

/* kz_fs_fill_fn: the whole snapshot of the tree @ctx into the temp file. */
static int zkd_snap_fill(void *ctx, int fd) { return zkd_snap_serialize(ctx, fd); }

/* Serialize into snapshot.<zxid>.tmp, fsync, rename, fsync(dir). No logging. */
static int zkd_snap_write_quiet(const zkd_datatree *dt, const char *dir, int64_t zxid)
{
    char path[PATH_MAX];
    int n = snprintf(path, PATH_MAX, "%s/snapshot.%" PRIx64, dir, (uint64_t)zxid);
    if (n < 0 || n >= PATH_MAX)
        return -ENAMETOOLONG;
    return kz_fs_replace(path, zkd_snap_fill, (void *)dt);
}

int zkd_snap_write(const zkd_datatree *dt, const char *dir, int64_t zxid)
{
    kz_info(ZKD_SNAP_COMP, "Snapshotting: 0x%" PRIx64 " to %s/snapshot.%" PRIx64, (uint64_t)zxid, dir,
            (uint64_t)zxid);
    int rc = zkd_snap_write_quiet(dt, dir, zxid);
    if (rc)
        kz_error(ZKD_SNAP_COMP, "snapshot 0x%" PRIx64 " in %s failed: %s", (uint64_t)zxid, dir,
                 strerror(-rc));
    return rc;
}

pid_t zkd_snap_fork(const zkd_datatree *dt, const char *dir, int64_t zxid)
{
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        int rc = zkd_snap_write_quiet(dt, dir, zxid);
        _exit(rc == 0 ? 0 : (-rc > 0 && -rc < 256 ? -rc : EIO));
    }
    kz_info(ZKD_SNAP_COMP, "Snapshotting: 0x%" PRIx64 " to %s/snapshot.%" PRIx64 " (child %d)",
            (uint64_t)zxid, dir, (uint64_t)zxid, (int)pid);
    return pid;
}

static int zkd_snap_status(pid_t pid, int st)
{
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    int rc = WIFEXITED(st) ? -WEXITSTATUS(st) : -EINTR;
    if (WIFEXITED(st))
        kz_error(ZKD_SNAP_COMP, "snapshot child %d failed: %s", (int)pid, strerror(-rc));
    else
        kz_error(ZKD_SNAP_COMP, "snapshot child %d killed by signal %d", (int)pid,
                 WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return rc;
}

int zkd_snap_poll(pid_t pid)
{
    int st = 0;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == 0)
        return 1;
    if (r < 0)
        return -errno;
    return zkd_snap_status(pid, st);
}

int zkd_snap_wait(pid_t pid)
{
    int st = 0;
    pid_t r;
    while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
        ;
    if (r < 0)
        return -errno;
    return zkd_snap_status(pid, st);
}

/* ------------------------------------------------------------------- read */

/* Smallest wire sizes, to bound counts by the bytes left. */
#define ZKD_SNAP_MIN_SESSION 12 /* i64 + i32 */
#define ZKD_SNAP_MIN_ACLENT  12 /* i64 + i32 */
#define ZKD_SNAP_MIN_ACL     12 /* i32 + 2 x i32 length */
#define ZKD_SNAP_NODE_TAIL   68 /* i64 aclIndex + StatPersisted (60) */

/* A ustring/buffer length the body may carry (-1 is null). */
static bool zkd_snap_len_ok(int32_t n)
{
    return n >= -1 && n < ZKD_SNAP_STREAM_MAX_STR;
}

static int zkd_snap_read_acls(zkd_datatree *dt, kz_rd *r)
{
    int32_t count = kz_rd_i32(r);
    if (r->err || count < 0 || (size_t)count > kz_rd_left(r) / ZKD_SNAP_MIN_ACLENT)
        return -EBADMSG;
    kz_arena a = KZ_ARENA_INIT;
    int rc = 0;
    for (int32_t i = 0; i < count && !rc; i++) {
        int64_t idx = kz_rd_i64(r);
        int32_t n = kz_rd_i32(r);
        if (r->err || n < 0 || (size_t)n > kz_rd_left(r) / ZKD_SNAP_MIN_ACL) {
            rc = -EBADMSG;
            break;
        }
        zkd_ACL *v = n ? kz_arena_alloc(&a, sizeof *v * (size_t)n) : NULL;
        if (n && !v) {
            rc = -ENOMEM;
            break;
        }
        for (int32_t k = 0; k < n && !rc; k++) {
            rc = zkd_snap_errno(zkd_decode(ACL, r, &v[k], &a));
            if (!rc && !(zkd_snap_len_ok(v[k].id.scheme.len) && zkd_snap_len_ok(v[k].id.id.len)))
                rc = -EBADMSG;
        }
        kz_jvec vec = { n, v };
        if (!rc)
            rc = zkd_snap_errno(zkd_dt_acl_restore(dt, idx, &vec));
        kz_arena_reset(&a);
    }
    kz_arena_reset(&a);
    return rc;
}

/* Decodes the body shared by files and the SNAP stream (SerializeUtils.
 * deserializeSnapshot): sessions, ACL cache, nodes up to and including the
 * terminator "/", leaving @r just after it. @what names the source in log
 * lines. Returns 0, -EBADMSG or -ENOMEM. */
static int zkd_snap_decode_body(zkd_datatree *dt, kz_rd *r, const char *what)
{
    kz_arena a = KZ_ARENA_INIT; /* no record below allocates; required by the API */
    int32_t nsess = kz_rd_i32(r);
    if (r->err || nsess < 0 || (size_t)nsess > kz_rd_left(r) / ZKD_SNAP_MIN_SESSION)
        return -EBADMSG;
    for (int32_t i = 0; i < nsess; i++) {
        int64_t sid = kz_rd_i64(r);
        int32_t to = kz_rd_i32(r);
        if (r->err)
            return -EBADMSG;
        if (zkd_dt_session_put(dt, sid, to))
            return -ENOMEM;
    }
    int rc = zkd_snap_read_acls(dt, r);
    if (rc)
        return rc;
    for (;;) {
        kz_str npath = kz_rd_str(r);
        if (r->err || npath.len < 0 || !zkd_snap_len_ok(npath.len))
            return -EBADMSG;
        if (npath.len == 1 && npath.s[0] == '/')
            break;
        kz_str data = kz_rd_str(r);
        int64_t acl = kz_rd_i64(r);
        zkd_StatPersisted st;
        if (zkd_decode(StatPersisted, r, &st, &a) != 0 || r->err || !zkd_snap_len_ok(data.len))
            return -EBADMSG;
        if ((rc = zkd_dt_restore_node(dt, npath, data, acl, &st)) != 0) {
            if (rc != KZ_ENOMEM)
                kz_error(ZKD_SNAP_COMP, "%s: invalid datatree at node %.*s (no parent?)", what,
                         npath.len, npath.s);
            return zkd_snap_errno(rc);
        }
    }
    zkd_dt_acl_purge_unused(dt);
    return 0;
}

/* Decodes the mapped file @p/@len into @dt. */
static int zkd_snap_decode(zkd_datatree *dt, const uint8_t *p, size_t len, const char *path)
{
    kz_rd r = kz_rd_init(p, len);
    kz_arena a = KZ_ARENA_INIT; /* FileHeader allocates nothing; required by the API */
    zkd_FileHeader fh;
    if (zkd_decode(FileHeader, &r, &fh, &a) != 0 || fh.magic != ZKD_SNAP_MAGIC) {
        kz_error(ZKD_SNAP_COMP, "%s: mismatching magic headers", path);
        return -EBADMSG;
    }
    int rc = zkd_snap_decode_body(dt, &r, path);
    if (rc)
        return rc;
    /* Seal: Adler-32 of everything before it, then "/". */
    uint32_t want = zkd_adler32(1, p, (size_t)(r.p - p));
    int64_t val = kz_rd_i64(&r);
    kz_str slash = kz_rd_str(&r);
    if (r.err || (uint64_t)val != want || slash.len != 1 || slash.s[0] != '/') {
        kz_error(ZKD_SNAP_COMP, "%s: CRC corruption (seal %s)", path, r.err ? "missing" : "mismatch");
        return -EBADMSG;
    }
    /* Anything after (ZooKeeper's ZxidDigest and second seal) is ignored. */
    return 0;
}

int64_t zkd_snap_read(zkd_datatree *dt, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t sfx = 0;
    int64_t zxid = strlen(base) < 256 ? zkd_zxid_from_name(base, "snapshot", &sfx) : -1;
    if (zxid >= 0 && base[sfx] != '\0') /* compressed or temporary */
        zxid = -1;
    if (zxid < 0)
        return -EINVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = 0;
    void *m = MAP_FAILED;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        goto out;
    }
    if (st.st_size < ZKD_TXNLOG_HDR_LEN) {
        rc = -EBADMSG;
        goto out;
    }
    m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
        rc = -errno;
        goto out;
    }
    rc = zkd_snap_decode(dt, m, (size_t)st.st_size, path);
out:
    if (m != MAP_FAILED)
        munmap(m, (size_t)st.st_size);
    close(fd);
    if (rc)
        return rc;
    zkd_dt_set_last_zxid(dt, zxid);
    return zxid;
}

/* ------------------------------------------------------------ SNAP stream */

/* Scanner states, in stream order. Each step consumes one element (or a run
 * of fixed-size sessions) once all its bytes are there:
 *
 *   SESS_N -> SESS* -> ACL_N -> { ACL_ENT -> (PERMS -> SCHEME -> ID)* }*
 *          -> { PATH -> DATA -> NODE_TAIL }* -> PATH "/" -> SIG -> DONE
 *
 * A ustring is read in two halves (length, then bytes) through sc->slen so
 * that a long one is skipped as soon as its bytes are in, without waiting
 * for the element after it. Invariant: pos <= limit when limit != 0. */
enum {
    ZKD_SCAN_SESS_N,
    ZKD_SCAN_SESS,
    ZKD_SCAN_ACL_N,
    ZKD_SCAN_ACL_ENT,
    ZKD_SCAN_ACL_PERMS,
    ZKD_SCAN_ACL_SCHEME,
    ZKD_SCAN_ACL_ID,
    ZKD_SCAN_PATH,
    ZKD_SCAN_DATA,
    ZKD_SCAN_NODE_TAIL,
    ZKD_SCAN_SIG,
    ZKD_SCAN_DONE,
};

#define ZKD_SCAN_NOLEN INT32_MIN /* slen: the length is not read yet */
#define ZKD_SIG_LEN    ((int32_t)(sizeof ZKD_SNAP_SIGNATURE - 1))

void zkd_snap_scan_init(zkd_snap_scan *sc)
{
    *sc = (zkd_snap_scan){ .slen = ZKD_SCAN_NOLEN, .state = ZKD_SCAN_SESS_N };
}

/* 1 when @n bytes are there at sc->pos, 0 when more are needed, -EFBIG when
 * they would pass the limit. */
static int zkd_scan_have(const zkd_snap_scan *sc, size_t avail, size_t n)
{
    if (sc->limit && n > sc->limit - sc->pos)
        return -EFBIG;
    return avail >= n;
}

/* One ustring whose length must lie in [@min, @max]. Returns 1 with @*s at
 * its bytes (NULL when null) and @*n its length once complete, else 0 or a
 * negative errno. */
static int zkd_scan_str(zkd_snap_scan *sc, const uint8_t *buf, size_t len, int32_t min, int32_t max,
                        const uint8_t **s, int32_t *n)
{
    int rc;
    if (sc->slen == ZKD_SCAN_NOLEN) {
        if ((rc = zkd_scan_have(sc, len - sc->pos, 4)) <= 0)
            return rc;
        int32_t l = (int32_t)kz_load_be32(buf + sc->pos);
        if (l < min || l > max)
            return -EBADMSG;
        sc->pos += 4;
        sc->slen = l;
    }
    size_t want = sc->slen > 0 ? (size_t)sc->slen : 0;
    if ((rc = zkd_scan_have(sc, len - sc->pos, want)) <= 0)
        return rc;
    *s = sc->slen >= 0 ? buf + sc->pos : NULL;
    *n = sc->slen;
    sc->pos += want;
    sc->slen = ZKD_SCAN_NOLEN;
    return 1;
}

/* One step of the machine above: 1 when it moved, 0 when it needs more
 * bytes, or a negative errno. */
static int zkd_scan_step(zkd_snap_scan *sc, const uint8_t *buf, size_t len)
{
    const int32_t maxs = (int32_t)(ZKD_SNAP_STREAM_MAX_STR - 1);
    size_t avail = len - sc->pos;
    const uint8_t *s = NULL;
    int32_t n = 0;
    int rc;
    switch (sc->state) {
    case ZKD_SCAN_SESS_N:
    case ZKD_SCAN_ACL_N:
        if ((rc = zkd_scan_have(sc, avail, 4)) <= 0)
            return rc;
        if ((n = (int32_t)kz_load_be32(buf + sc->pos)) < 0)
            return -EBADMSG;
        sc->pos += 4;
        sc->left = n;
        sc->state = sc->state == ZKD_SCAN_SESS_N ? ZKD_SCAN_SESS : ZKD_SCAN_ACL_ENT;
        return 1;
    case ZKD_SCAN_SESS: {
        if (sc->left == 0) {
            sc->state = ZKD_SCAN_ACL_N;
            return 1;
        }
        size_t room = sc->limit ? sc->limit - sc->pos : avail;
        size_t k = (avail < room ? avail : room) / ZKD_SNAP_MIN_SESSION;
        if (k == 0)
            return zkd_scan_have(sc, avail, ZKD_SNAP_MIN_SESSION); /* 0 or -EFBIG */
        if ((uint64_t)k > (uint64_t)sc->left)
            k = (size_t)sc->left;
        sc->pos += k * ZKD_SNAP_MIN_SESSION;
        sc->left -= (int64_t)k;
        return 1;
    }
    case ZKD_SCAN_ACL_ENT:
        if (sc->left == 0) {
            sc->state = ZKD_SCAN_PATH;
            return 1;
        }
        if ((rc = zkd_scan_have(sc, avail, ZKD_SNAP_MIN_ACLENT)) <= 0)
            return rc;
        if ((n = (int32_t)kz_load_be32(buf + sc->pos + 8)) < 0) /* null vector */
            return -EBADMSG;
        sc->pos += ZKD_SNAP_MIN_ACLENT;
        sc->left--;
        sc->acls = n;
        sc->state = ZKD_SCAN_ACL_PERMS;
        return 1;
    case ZKD_SCAN_ACL_PERMS:
        if (sc->acls == 0) {
            sc->state = ZKD_SCAN_ACL_ENT;
            return 1;
        }
        if ((rc = zkd_scan_have(sc, avail, 4)) <= 0)
            return rc;
        sc->pos += 4;
        sc->state = ZKD_SCAN_ACL_SCHEME;
        return 1;
    case ZKD_SCAN_ACL_SCHEME:
    case ZKD_SCAN_ACL_ID:
        if ((rc = zkd_scan_str(sc, buf, len, -1, maxs, &s, &n)) <= 0)
            return rc;
        if (sc->state == ZKD_SCAN_ACL_ID)
            sc->acls--;
        sc->state = sc->state == ZKD_SCAN_ACL_SCHEME ? ZKD_SCAN_ACL_ID : ZKD_SCAN_ACL_PERMS;
        return 1;
    case ZKD_SCAN_PATH:
        if ((rc = zkd_scan_str(sc, buf, len, 0, maxs, &s, &n)) <= 0)
            return rc;
        sc->state = n == 1 && s[0] == '/' ? ZKD_SCAN_SIG : ZKD_SCAN_DATA;
        return 1;
    case ZKD_SCAN_DATA:
        if ((rc = zkd_scan_str(sc, buf, len, -1, maxs, &s, &n)) <= 0)
            return rc;
        sc->state = ZKD_SCAN_NODE_TAIL;
        return 1;
    case ZKD_SCAN_NODE_TAIL:
        if ((rc = zkd_scan_have(sc, avail, ZKD_SNAP_NODE_TAIL)) <= 0)
            return rc;
        sc->pos += ZKD_SNAP_NODE_TAIL;
        sc->state = ZKD_SCAN_PATH;
        return 1;
    case ZKD_SCAN_SIG:
        if ((rc = zkd_scan_str(sc, buf, len, ZKD_SIG_LEN, ZKD_SIG_LEN, &s, &n)) <= 0)
            return rc;
        if (memcmp(s, ZKD_SNAP_SIGNATURE, (size_t)ZKD_SIG_LEN) != 0)
            return -EBADMSG;
        sc->state = ZKD_SCAN_DONE;
        return 1;
    default:
        return -EINVAL;
    }
}

long zkd_snap_scan_feed(zkd_snap_scan *sc, const uint8_t *buf, size_t len)
{
    if (sc->err)
        return sc->err;
    if (sc->state == ZKD_SCAN_DONE)
        return (long)sc->pos;
    if (len < sc->pos || (len > 0 && !buf))
        return sc->err = -EINVAL;
    int rc;
    while ((rc = zkd_scan_step(sc, buf, len)) > 0 && sc->state != ZKD_SCAN_DONE)
        ;
    if (rc < 0)
        return sc->err = rc;
    if (sc->state != ZKD_SCAN_DONE)
        return 0;
    if (sc->pos > (size_t)LONG_MAX)
        return sc->err = -EFBIG;
    return (long)sc->pos;
}

int zkd_snap_decode_stream(zkd_datatree *dt, const uint8_t *p, size_t len)
{
    static const char what[] = "SNAP stream from the leader";
    kz_rd r = kz_rd_init(p, len);
    int rc = zkd_snap_decode_body(dt, &r, what);
    if (rc) {
        if (rc == -EBADMSG)
            kz_error(ZKD_SNAP_COMP, "%s: malformed body", what);
        return rc;
    }
    kz_str sig = kz_rd_str(&r);
    if (r.err || !kz_str_eq(sig, KZ_STR_LIT(ZKD_SNAP_SIGNATURE))) {
        kz_error(ZKD_SNAP_COMP, "%s: missing signature", what);
        return -EBADMSG;
    }
    if (kz_rd_left(&r) != 0) {
        kz_error(ZKD_SNAP_COMP, "%s: %zu bytes after the signature", what, kz_rd_left(&r));
        return -EBADMSG;
    }
    return 0;
}

/* ---------------------------------------------------------------- listing */

bool zkd_snap_looks_valid(const char *dir, const zkd_zxid_file *f)
{
    char path[PATH_MAX];
    uint8_t tail[5];
    if (kz_fs_join(path, sizeof path, dir, f->name) != 0)
        return false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct stat st;
    bool ok = fstat(fd, &st) == 0 && st.st_size >= 10 &&
              pread(fd, tail, sizeof tail, st.st_size - 5) == (ssize_t)sizeof tail &&
              kz_load_be32(tail) == 1 && tail[4] == '/';
    close(fd);
    return ok;
}

int zkd_snap_list(const char *dir, size_t max, zkd_zxid_file **out, size_t *n)
{
    zkd_zxid_file *v = NULL, *keep = NULL;
    size_t cnt = 0, k = 0;
    int rc = zkd_zxid_files(dir, "snapshot", &v, &cnt);
    *out = NULL;
    *n = 0;
    if (rc || cnt == 0)
        return rc;
    if (!(keep = malloc(cnt * sizeof *keep))) {
        free(v);
        return -ENOMEM;
    }
    for (size_t i = cnt; i-- > 0;) { /* newest first */
        const char *sfx = zkd_zxid_file_suffix(&v[i]);
        if (strcmp(sfx, ".gz") == 0 || strcmp(sfx, ".snappy") == 0) {
            kz_warn(ZKD_SNAP_COMP, "%s/%s is a compressed snapshot (%s), which zkd does not read; skipping it",
                    dir, v[i].name, sfx + 1);
            continue;
        }
        if (sfx[0] != '\0' || (max && k >= max))
            continue;
        if (!zkd_snap_looks_valid(dir, &v[i])) {
            kz_warn(ZKD_SNAP_COMP, "%s/%s is not a valid snapshot (no seal at its end); skipping it", dir,
                    v[i].name);
            continue;
        }
        keep[k++] = v[i];
    }
    free(v);
    if (k == 0) {
        free(keep);
        keep = NULL;
    }
    *out = keep;
    *n = k;
    return 0;
}
