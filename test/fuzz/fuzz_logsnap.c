/* test/fuzz/fuzz_logsnap.c -- libFuzzer harness for the on-disk readers:
 * the txn log (coordinator/zkd_txnlog.c), snapshots (coordinator/zkd_snap.c)
 * and start-up restore (coordinator/zkd_db.c), on files made of the input
 * bytes in a scratch directory (under $TMPDIR; /dev/shm keeps it fast).
 *
 * Byte 0 selects the mode (low 2 bits) and options (higher bits), byte 1 is a
 * parameter; the rest is the payload. Checksums would stop almost every
 * mutation at the first check, so two options repair them before the files
 * are written: 0x08 gives every log entry the layout walk finds its right
 * Adler-32, 0x10 appends the seal (Adler-32 + "/") to a snapshot payload.
 *
 *   0  log read.  Payload = one file log.1, or with option 0x04 two files:
 *      u16 n | n bytes of log.1 | the rest as log.186a0. Checks:
 *      - every entry the iterator returns lies in a file, decodes a
 *        TxnHeader with the entry's zxid, and replays through zkd_dt_apply
 *        into a tree that passes fz_dt_check (strict ACLs);
 *      - zkd_txnlog_last_zxid = the last entry of the newest file having one;
 *      - after zkd_txnlog_iter_repair, a second pass returns the same
 *        entries and has nothing to repair, and zkd_txnlog_recover agrees;
 *      - zkd_txnlog_truncate(T) (T from an entry picked by byte 1) leaves
 *        exactly what FileTxnLog.truncate would: every file before the one
 *        that can hold T, that file's longest prefix of entries <= T, and no
 *        later file.
 *   1  log write.  Payload = chunks of u8 ctl | u16 len | len bytes. Each
 *      chunk becomes a txn (padded to a TxnHeader, header zxid rewritten to
 *      grow strictly) appended with zkd_txnlog_append; ctl bit 0 rolls
 *      first, bit 1 flushes after. Preallocation is (byte 1 % 4) * 4 KiB.
 *      Reading back must give exactly the txns appended, in order, and
 *      zkd_txnlog_recover must find nothing to cut.
 *   2  snapshot read.  Payload = snapshot.<zxid> (zxid from byte 1, among
 *      a few including 0 and INT64_MAX). zkd_snap_looks_valid agrees with
 *      zkd_snap_list; a snapshot that reads passes fz_dt_check, and writing
 *      the tree out and reading it again gives an equal tree.
 *   3  restore.  Payload = u16 n | snapshot bytes (n) | log bytes (rest)
 *      in <dir>/version-2/. zkd_db_restore either fails or gives a tree
 *      that passes fz_dt_check; a second restore of the same directory (now
 *      repaired) gives the same result and an equal tree. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "kz_buf.h"
#include "kz_log.h"
#include "zkd_datatree.h"
#include "zkd_db.h"
#include "zkd_proto.h"
#include "zkd_snap.h"
#include "zkd_txnlog.h"

#define FZ_MAX_ENTRIES 512

/* Scratch directory, made once per process. */
static char fz_dir[512];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_cleanup(void) { fz_rm_rf(fz_dir); }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    kz_log_set_level(KZ_LOG_FATAL); /* corrupt files are reported at WARN/ERROR */
    fz_make_tmpdir(fz_dir, sizeof fz_dir, "fuzz-logsnap");
    atexit(fz_cleanup);
    return 0;
}

static void fz_path(char *out, size_t cap, const char *name)
{
    FZ_CHECK((size_t)snprintf(out, cap, "%s/%s", fz_dir, name) < cap, "path too long");
}

/* Writes a txn log file; with @fix, each entry found by walking the layout
 * from offset 16 (i64 checksum, i32 len, len bytes, 'B') gets its checksum. */
static void fz_write_log(const char *path, const uint8_t *p, size_t len, bool fix)
{
    uint8_t *b = malloc(len ? len : 1);
    FZ_CHECK(b, "out of memory");
    if (len)
        memcpy(b, p, len);
    for (size_t off = ZKD_TXNLOG_HDR_LEN; fix && off + 12 <= len;) {
        int32_t n = (int32_t)kz_load_be32(b + off + 8);
        if (n <= 0 || (size_t)n > len - off - 12)
            break;
        kz_store_be64(b + off, zkd_adler32(1, b + off + 12, (size_t)n));
        off += 12 + (size_t)n + 1;
    }
    fz_write_file(path, b, len);
    free(b);
}

/* Writes a snapshot file; with @seal, followed by i64 Adler-32 of the bytes
 * and the ustring "/". */
static void fz_write_snap(const char *path, const uint8_t *p, size_t len, bool seal)
{
    uint8_t *b = malloc(len + 13);
    FZ_CHECK(b, "out of memory");
    if (len)
        memcpy(b, p, len);
    if (seal) {
        kz_store_be64(b + len, zkd_adler32(1, p, len));
        kz_store_be32(b + len + 8, 1);
        b[len + 12] = '/';
    }
    fz_write_file(path, b, seal ? len + 13 : len);
    free(b);
}

/* ------------------------------------------------------------- log read */

typedef struct fz_entry {
    int64_t zxid;
    int file; /* index into the sorted file list */
    size_t len;
    uint8_t *txn;
} fz_entry;

typedef struct fz_entries {
    fz_entry v[FZ_MAX_ENTRIES];
    size_t n;
    bool more; /* stopped at FZ_MAX_ENTRIES */
} fz_entries;

static void fz_entries_free(fz_entries *es)
{
    for (size_t i = 0; i < es->n; i++)
        free(es->v[i].txn);
    es->n = 0;
}

static const char *const fz_log_names[] = { "log.1", "log.186a0" };

/* Reads every entry of fz_dir into @es; with @apply, replays them into a
 * fresh tree that must stay consistent. Returns the iterator (not closed). */
static zkd_txnlog_iter *fz_read_all(fz_entries *es, bool apply)
{
    zkd_txnlog_iter *it = NULL;
    int rc = zkd_txnlog_iter_open(&it, fz_dir, INT64_MIN);
    FZ_CHECK(rc == 0 && it, "iter_open: %d", rc);
    zkd_datatree *dt = apply ? zkd_dt_new() : NULL;
    FZ_CHECK(!apply || dt, "out of memory");
    es->n = 0;
    es->more = false;
    for (;;) {
        zkd_txnlog_entry e;
        rc = zkd_txnlog_iter_next(it, &e);
        FZ_CHECK(rc == 0 || rc == 1, "iter_next: %d", rc);
        if (rc == 0)
            break;
        if (es->n == FZ_MAX_ENTRIES) {
            es->more = true;
            break;
        }
        FZ_CHECK(e.txn && e.len >= ZKD_TXN_HDR_LEN && e.file && e.offset >= ZKD_TXNLOG_HDR_LEN, "entry fields");
        zkd_TxnHeader h;
        FZ_CHECK(zkd_txn_header(e.txn, e.len, &h) == 0 && h.zxid == e.zxid, "entry header");
        int file = -1;
        for (int i = 0; i < 2; i++)
            if (strcmp(e.file, fz_log_names[i]) == 0)
                file = i;
        FZ_CHECK(file >= 0, "entry from unknown file %s", e.file);
        FZ_CHECK(es->n == 0 || es->v[es->n - 1].file <= file, "files out of order");
        fz_entry *x = &es->v[es->n++];
        x->zxid = e.zxid;
        x->file = file;
        x->len = e.len;
        x->txn = malloc(e.len);
        FZ_CHECK(x->txn, "out of memory");
        memcpy(x->txn, e.txn, e.len);
        if (dt) {
            zkd_apply_result res;
            kz_arena a = KZ_ARENA_INIT;
            int arc = zkd_dt_apply(dt, e.txn, e.len, &res, &a);
            FZ_CHECK(arc == 0 || arc == KZ_ECORRUPT || arc == KZ_ENOMEM, "apply rc %d", arc);
            kz_arena_reset(&a);
            fz_dt_check(dt, FZ_DT_STRICT_ACL);
        }
    }
    zkd_dt_free(dt);
    return it;
}

static void fz_entries_same(const fz_entries *a, const fz_entries *b, const char *what)
{
    FZ_CHECK(a->n == b->n, "%s: %zu entries, then %zu", what, a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        FZ_CHECK(a->v[i].zxid == b->v[i].zxid && a->v[i].file == b->v[i].file && a->v[i].len == b->v[i].len &&
                     memcmp(a->v[i].txn, b->v[i].txn, a->v[i].len) == 0,
                 "%s: entry %zu differs", what, i);
}

static void fz_log_read(uint8_t opt, uint8_t param, const uint8_t *p, size_t len)
{
    char path[600];
    int nfiles = 1;
    fz_path(path, sizeof path, fz_log_names[0]);
    if (opt & 0x04) {
        kz_rd r = kz_rd_init(p, len);
        size_t n = (uint16_t)kz_rd_i16(&r);
        if (r.err)
            return;
        if (n > kz_rd_left(&r))
            n = kz_rd_left(&r);
        fz_write_log(path, r.p, n, opt & 0x08);
        fz_path(path, sizeof path, fz_log_names[1]);
        fz_write_log(path, r.p + n, kz_rd_left(&r) - n, opt & 0x08);
        nfiles = 2;
    } else {
        fz_write_log(path, p, len, opt & 0x08);
    }

    static fz_entries first, second; /* large: kept off the stack */
    zkd_txnlog_iter *it = fz_read_all(&first, true);
    if (!first.more) {
        int64_t want = -1, got;
        for (size_t i = 0; i < first.n; i++)
            want = first.v[i].zxid; /* the newest file with entries wins: entries come in file order */
        FZ_CHECK(zkd_txnlog_last_zxid(fz_dir, &got) == 0 && got == want, "last_zxid %" PRId64 ", want %" PRId64,
                 got, want);
    }
    /* Repair until nothing is cut: once per file at most (removing an
     * empty last file exposes the previous one as the last), and no pass may
     * lose an entry. */
    bool cut = false;
    int passes = 0;
    FZ_CHECK(zkd_txnlog_iter_repair(it, &cut) == 0, "repair");
    zkd_txnlog_iter_close(it);
    while (cut) {
        FZ_CHECK(++passes <= nfiles, "repair keeps cutting");
        it = fz_read_all(&second, false);
        fz_entries_same(&first, &second, "after repair");
        FZ_CHECK(zkd_txnlog_iter_repair(it, &cut) == 0, "repair");
        zkd_txnlog_iter_close(it);
        fz_entries_free(&second);
    }
    int64_t z;
    FZ_CHECK(zkd_txnlog_recover(fz_dir, &z) == 0, "recover");
    if (first.more || first.n == 0) {
        fz_entries_free(&first);
        return;
    }
    FZ_CHECK(z == first.v[first.n - 1].zxid, "recover: last zxid %" PRId64, z);

    /* Truncate at (or just before) one entry's zxid. */
    int64_t t = first.v[param % first.n].zxid;
    if ((param & 0x80) && t > INT64_MIN)
        t--;
    static const int64_t fzx[2] = { 1, 0x186a0 };
    /* FileTxnLog.getLogFiles over the files still there (repair may have
     * removed empty ones): the last one starting at or before t, else the
     * first. Entries keep their file index. */
    int start = -1, first_present = -1;
    for (int i = 0; i < nfiles; i++) {
        fz_path(path, sizeof path, fz_log_names[i]);
        if (access(path, F_OK) != 0)
            continue;
        if (first_present < 0)
            first_present = i;
        if (fzx[i] <= t)
            start = i;
    }
    FZ_CHECK(first_present >= 0, "entries but no file");
    if (start < 0)
        start = first_present;
    size_t keep = 0;
    if (fzx[start] <= t) {
        while (keep < first.n && first.v[keep].file < start)
            keep++;
        while (keep < first.n && first.v[keep].file == start && first.v[keep].zxid <= t)
            keep++;
    }
    FZ_CHECK(zkd_txnlog_truncate(fz_dir, t) == 0, "truncate");
    it = fz_read_all(&second, false);
    zkd_txnlog_iter_close(it);
    FZ_CHECK(second.n == keep, "truncate at %" PRId64 ": %zu entries left, want %zu", t, second.n, keep);
    for (size_t i = 0; i < keep; i++)
        FZ_CHECK(second.v[i].zxid == first.v[i].zxid && second.v[i].len == first.v[i].len &&
                     memcmp(second.v[i].txn, first.v[i].txn, first.v[i].len) == 0,
                 "truncate: entry %zu differs", i);
    fz_entries_free(&second);
    fz_entries_free(&first);
}

/* ------------------------------------------------------------ log write */

static void fz_log_write(uint8_t param, const uint8_t *p, size_t len)
{
    zkd_txnlog *l = NULL;
    int rc = zkd_txnlog_open(&l, fz_dir, (int64_t)(param % 4) * 4096);
    FZ_CHECK(rc == 0, "txnlog_open: %d", rc);
    static fz_entries want, got;
    want.n = 0;
    kz_rd r = kz_rd_init(p, len);
    int64_t zxid = 0;
    while (kz_rd_left(&r) >= 3 && want.n < 64) {
        uint8_t ctl = kz_rd_u8(&r);
        size_t n = (uint16_t)kz_rd_i16(&r);
        if (n > kz_rd_left(&r))
            n = kz_rd_left(&r);
        const uint8_t *src = kz_rd_take(&r, n);
        size_t tl = n < ZKD_TXN_HDR_LEN ? ZKD_TXN_HDR_LEN : n;
        fz_entry *x = &want.v[want.n++];
        x->txn = calloc(1, tl);
        FZ_CHECK(x->txn, "out of memory");
        memcpy(x->txn, src, n);
        zxid += 1 + (ctl >> 4);
        kz_store_be64(x->txn + 12, (uint64_t)zxid); /* TxnHeader.zxid */
        x->zxid = zxid;
        x->len = tl;
        if (ctl & 1)
            FZ_CHECK(zkd_txnlog_roll(l) == 0, "roll");
        FZ_CHECK(zkd_txnlog_append(l, zxid, x->txn, tl) == 0, "append");
        if (ctl & 2)
            FZ_CHECK(zkd_txnlog_flush(l, false, NULL) == 0, "flush");
    }
    FZ_CHECK(zkd_txnlog_flush(l, false, NULL) == 0, "final flush");
    FZ_CHECK(zkd_txnlog_last_appended(l) == (want.n ? zxid : -1), "last appended");
    zkd_txnlog_close(l);

    /* Read back across however many files the rolls made. */
    zkd_txnlog_iter *it = NULL;
    FZ_CHECK(zkd_txnlog_iter_open(&it, fz_dir, INT64_MIN) == 0, "iter_open");
    got.n = 0;
    for (;;) {
        zkd_txnlog_entry e;
        rc = zkd_txnlog_iter_next(it, &e);
        FZ_CHECK(rc == 0 || rc == 1, "iter_next %d", rc);
        if (rc == 0)
            break;
        FZ_CHECK(got.n < want.n, "more entries read than written");
        const fz_entry *x = &want.v[got.n++];
        FZ_CHECK(e.zxid == x->zxid && e.len == x->len && memcmp(e.txn, x->txn, x->len) == 0,
                 "entry %zu read back differs", got.n - 1);
    }
    bool cut = true;
    FZ_CHECK(zkd_txnlog_iter_repair(it, &cut) == 0 && !cut, "a log we wrote needed repair");
    zkd_txnlog_iter_close(it);
    FZ_CHECK(got.n == want.n, "wrote %zu entries, read %zu", want.n, got.n);
    int64_t z;
    FZ_CHECK(zkd_txnlog_recover(fz_dir, &z) == 0 && z == (want.n ? zxid : -1), "recover %" PRId64, z);
    fz_entries_free(&want);
}

/* ------------------------------------------------------------- snapshot */

static const int64_t fz_snap_zxids[] = { 0, 5, 0x100000001LL, INT64_MAX };

static void fz_snap_read(uint8_t opt, uint8_t param, const uint8_t *p, size_t len)
{
    char name[64], path[600];
    int64_t zxid = fz_snap_zxids[param % (sizeof fz_snap_zxids / sizeof fz_snap_zxids[0])];
    snprintf(name, sizeof name, "snapshot.%" PRIx64, zxid);
    fz_path(path, sizeof path, name);
    fz_write_snap(path, p, len, opt & 0x10);

    zkd_zxid_file f = { 0 };
    snprintf(f.name, sizeof f.name, "%s", name);
    f.zxid = zxid;
    f.sfx = (uint16_t)strlen(name);
    bool valid = zkd_snap_looks_valid(fz_dir, &f);
    zkd_zxid_file *list = NULL;
    size_t n = 0;
    FZ_CHECK(zkd_snap_list(fz_dir, 0, &list, &n) == 0, "snap_list");
    FZ_CHECK(n == (valid ? 1u : 0u) && (!n || strcmp(list[0].name, name) == 0), "snap_list disagrees");
    free(list);

    zkd_datatree *dt = zkd_dt_new();
    FZ_CHECK(dt, "out of memory");
    int64_t z = zkd_snap_read(dt, path);
    FZ_CHECK(z == zxid || z < 0, "snap_read returned %" PRId64, z);
    if (z >= 0) {
        /* (A snapshot that reads may still fail looks_valid: bytes after
         * the seal are ignored by the reader.) */
        FZ_CHECK(zkd_dt_last_zxid(dt) == zxid, "last zxid");
        fz_dt_check(dt, 0); /* a snapshot may name ACL indexes it does not define */
        /* Round trip through our writer. */
        fz_empty_dir(fz_dir);
        FZ_CHECK(zkd_snap_write(dt, fz_dir, 7) == 0, "snap_write");
        fz_path(path, sizeof path, "snapshot.7");
        zkd_datatree *back = zkd_dt_new();
        FZ_CHECK(back, "out of memory");
        FZ_CHECK(zkd_snap_read(back, path) == 7, "re-read of our snapshot failed");
        fz_dt_check(back, 0);
        fz_dt_equal(dt, back, FZ_EQ_ACL_INDEX | FZ_EQ_SESSIONS);
        zkd_dt_free(back);
    }
    zkd_dt_free(dt);
}

/* -------------------------------------------------------------- restore */

static void fz_restore(uint8_t opt, uint8_t param, const uint8_t *p, size_t len)
{
    char v2[600], path[700], name[64];
    kz_rd r = kz_rd_init(p, len);
    size_t n = (uint16_t)kz_rd_i16(&r);
    if (r.err)
        return;
    if (n > kz_rd_left(&r))
        n = kz_rd_left(&r);
    fz_path(v2, sizeof v2, "version-2");
    FZ_CHECK(mkdir(v2, 0755) == 0, "mkdir %s", v2);
    int64_t zxid = fz_snap_zxids[param % (sizeof fz_snap_zxids / sizeof fz_snap_zxids[0])];
    if (n > 0) {
        snprintf(name, sizeof name, "snapshot.%" PRIx64, zxid);
        snprintf(path, sizeof path, "%s/%s", v2, name);
        fz_write_snap(path, r.p, n, opt & 0x10);
    }
    if (kz_rd_left(&r) > n) {
        snprintf(path, sizeof path, "%s/log.%" PRIx64, v2, (param & 0x80) ? zxid + (zxid < INT64_MAX) : (int64_t)1);
        fz_write_log(path, r.p + n, kz_rd_left(&r) - n, opt & 0x08);
    }
    zkd_db_cfg cfg = { fz_dir, NULL, (param & 0x40) != 0 };
    zkd_datatree *dt = NULL, *dt2 = NULL;
    zkd_db_info info, info2;
    int rc = zkd_db_restore(&cfg, &dt, &info);
    FZ_CHECK((rc == 0) == (dt != NULL), "restore rc %d with tree %p", rc, (void *)dt);
    if (dt) {
        FZ_CHECK(zkd_dt_last_zxid(dt) == info.last_zxid, "last zxid");
        fz_dt_check(dt, 0);
    }
    int rc2 = zkd_db_restore(&cfg, &dt2, &info2);
    FZ_CHECK((rc2 == 0) == (rc == 0), "second restore rc %d, first %d", rc2, rc);
    if (dt) {
        FZ_CHECK(!info2.log_truncated, "second restore cut the log again");
        FZ_CHECK(info2.last_zxid == info.last_zxid, "second restore: last zxid");
        fz_dt_equal(dt, dt2, FZ_EQ_ACL_INDEX | FZ_EQ_SESSIONS);
    }
    zkd_dt_free(dt2);
    zkd_dt_free(dt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    fz_empty_dir(fz_dir);
    uint8_t mode = data[0], param = data[1];
    const uint8_t *p = data + 2;
    size_t len = size - 2;
    switch (mode & 3) {
    case 0: fz_log_read(mode, param, p, len); break;
    case 1: fz_log_write(param, p, len); break;
    case 2: fz_snap_read(mode, param, p, len); break;
    default: fz_restore(mode, param, p, len); break;
    }
    return 0;
}
