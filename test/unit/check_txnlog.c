/* test/unit/check_txnlog.c -- txn log files and the sync thread.
 *
 *  01 golden bytes of a two-entry log (header, checksum, length, 'B')
 *  02 preallocation sizes follow FilePadding (16 + k * prealloc)
 *  03 iteration across rolled files, from any zxid; last logged zxid
 *  04 recovery from a log cut at every byte offset, then append + recover
 *  05 corruption inside a non-last file: skipped, later files still read
 *  06 truncate-to-zxid (ZAB TRUNC): cut inside a file, later files removed
 *  07 listing of zxid-named files (hex parsing, suffixes, order)
 *  08 sync thread: group commit, durable callback on the loop, roll, stop
 *  09 sync thread: an I/O error reports zxid -1 and refuses later txns
 *  10 bad chunks in the middle of the last file: torn tail cut there */
#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kz_buf.h"
#include "kz_log.h"
#include "zkd_records.h"
#include "zkd_sync.h"
#include "zkd_txnlog.h"
#include "unit_util.h"

/* ------------------------------------------------------------- helpers */

static void mktmp(char *buf) { mktmp_prefix(buf, "zkd_txnlog_"); }

/* A realistic txn: TxnHeader + CreateTxn for /n<zxid> with @dlen data bytes. */
static uint8_t *mk_txn(int64_t zxid, size_t dlen, size_t *len)
{
    kz_wr w = KZ_WR_INIT;
    zkd_TxnHeader h = { 0x1234, (int32_t)zxid, zxid, 1700000000000 + zxid, 1 };
    char path[32], data[4096];
    snprintf(path, sizeof path, "/n%" PRId64, zxid);
    ck_assert_uint_le(dlen, sizeof data);
    for (size_t i = 0; i < dlen; i++)
        data[i] = (char)('a' + (zxid + (int64_t)i) % 26);
    zkd_ACL acl = { 31, { KZ_STR_LIT("world"), KZ_STR_LIT("anyone") } };
    zkd_CreateTxn c = { kz_str_c(path), { data, (int32_t)dlen }, { 1, &acl }, false, 1 };
    zkd_encode(TxnHeader, &h, &w);
    zkd_encode(CreateTxn, &c, &w);
    ck_assert_int_eq(w.err, 0);
    return kz_wr_steal(&w, len);
}

static int64_t fsize(const char *dir, const char *name)
{
    char p[PATH_MAX];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0 ? (int64_t)st.st_size : -1;
}

static uint8_t *slurp(const char *dir, const char *name, size_t *n)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)sz + 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    *n = (size_t)sz;
    return b;
}

/* Removes every file of @dir (not the directory). */
static void clear_dir(const char *dir)
{
    zkd_zxid_file *f;
    size_t n;
    char p[PATH_MAX];
    ck_assert_int_eq(zkd_zxid_files(dir, "log", &f, &n), 0);
    for (size_t i = 0; i < n; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, f[i].name);
        ck_assert_int_eq(unlink(p), 0);
    }
    free(f);
}

static void spit(const char *dir, const char *name, const uint8_t *b, size_t n)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    fclose(f);
}

/* Writes txns lo..hi (data size varies with the zxid) with @prealloc;
 * fdatasync()s unless @prealloc is 0 (the fast path of the cut test). */
static void write_range(const char *dir, int64_t lo, int64_t hi, int64_t prealloc)
{
    zkd_txnlog *l;
    ck_assert_int_eq(zkd_txnlog_open(&l, dir, prealloc), 0);
    for (int64_t z = lo; z <= hi; z++) {
        size_t len;
        uint8_t *t = mk_txn(z, (size_t)(z * 7 % 50), &len);
        ck_assert_int_eq(zkd_txnlog_append(l, z, t, len), 0);
        free(t);
    }
    ck_assert_int_eq(zkd_txnlog_flush(l, prealloc != 0, NULL), 0);
    zkd_txnlog_close(l);
}

/* Iterates @dir from @from and checks the zxids are exactly lo..hi with
 * the bytes mk_txn produces. */
static void expect_range(const char *dir, int64_t from, int64_t lo, int64_t hi)
{
    zkd_txnlog_iter *it;
    zkd_txnlog_entry e;
    ck_assert_int_eq(zkd_txnlog_iter_open(&it, dir, from), 0);
    int64_t z = lo;
    int rc;
    while ((rc = zkd_txnlog_iter_next(it, &e)) == 1) {
        ck_assert_int_le(z, hi);
        ck_assert_int_eq(e.zxid, z);
        size_t len;
        uint8_t *t = mk_txn(z, (size_t)(z * 7 % 50), &len);
        ck_assert_uint_eq(e.len, len);
        ck_assert_mem_eq(e.txn, t, len);
        free(t);
        z++;
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(z, hi + 1);
    zkd_txnlog_iter_close(it);
}

/* ------------------------------------------------------------- 01 golden */

static const uint8_t golden_txn1[] = {
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* clientId */
    0x00, 0x00, 0x00, 0x07,                         /* cxid */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* zxid */
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* time 1700000000000 */
    0x00, 0x00, 0x00, 0x01,                         /* type create */
    0x00, 0x00, 0x00, 0x02, '/', 'a',               /* path */
    0x00, 0x00, 0x00, 0x02, 'x', 'y',               /* data */
    0x00, 0x00, 0x00, 0x01,                         /* acl count */
    0x00, 0x00, 0x00, 0x1f,                         /* perms ALL */
    0x00, 0x00, 0x00, 0x05, 'w', 'o', 'r', 'l', 'd',
    0x00, 0x00, 0x00, 0x06, 'a', 'n', 'y', 'o', 'n', 'e',
    0x00,                                           /* ephemeral */
    0x00, 0x00, 0x00, 0x01,                         /* parentCVersion */
};
static const uint8_t golden_txn2[] = {
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x00, 0x00, 0x00, 0x08,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x01, 0x8b,
    0xcf, 0xe5, 0x68, 0x01, 0x00, 0x00, 0x00, 0x05,                  /* setData */
    0x00, 0x00, 0x00, 0x02, '/', 'a', 0x00, 0x00, 0x00, 0x01, 'z',
    0x00, 0x00, 0x00, 0x01,                                          /* version */
};

START_TEST(t01_golden)
{
    char dir[64];
    mktmp(dir);
    ck_assert_uint_eq(t_adler((const uint8_t *)"Wikipedia", 9), 0x11E60398u);
    ck_assert_uint_eq(t_adler(golden_txn1, sizeof golden_txn1), 0x0c270939u); /* python zlib */
    ck_assert_uint_eq(t_adler(golden_txn2, sizeof golden_txn2), 0x4c1f03ebu);

    zkd_txnlog *l;
    ck_assert_int_eq(zkd_txnlog_open(&l, dir, 0), 0);
    ck_assert_int_eq(zkd_txnlog_append(l, 1, golden_txn1, sizeof golden_txn1), 0);
    ck_assert_int_eq(zkd_txnlog_append(l, 2, golden_txn2, sizeof golden_txn2), 0);
    ck_assert_int_eq(fsize(dir, "log.1"), 0); /* buffered until flush */
    int64_t ns = -1;
    ck_assert_int_eq(zkd_txnlog_flush(l, true, &ns), 0);
    ck_assert_int_ge(ns, 0);
    ck_assert_int_eq(zkd_txnlog_last_appended(l), 2);
    zkd_txnlog_close(l);

    static const uint8_t expect_hdr[16] = { 'Z', 'K', 'L', 'G', 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0 };
    uint8_t expect[256];
    size_t n = 0;
    memcpy(expect, expect_hdr, 16);
    n = 16;
    const uint8_t e1[12] = { 0, 0, 0, 0, 0x0c, 0x27, 0x09, 0x39, 0, 0, 0, sizeof golden_txn1 };
    memcpy(expect + n, e1, 12);
    n += 12;
    memcpy(expect + n, golden_txn1, sizeof golden_txn1);
    n += sizeof golden_txn1;
    expect[n++] = 'B';
    const uint8_t e2[12] = { 0, 0, 0, 0, 0x4c, 0x1f, 0x03, 0xeb, 0, 0, 0, sizeof golden_txn2 };
    memcpy(expect + n, e2, 12);
    n += 12;
    memcpy(expect + n, golden_txn2, sizeof golden_txn2);
    n += sizeof golden_txn2;
    expect[n++] = 'B';

    size_t got_n;
    uint8_t *got = slurp(dir, "log.1", &got_n);
    ck_assert_uint_eq(got_n, n);
    ck_assert_mem_eq(got, expect, n);
    free(got);

    int64_t last;
    ck_assert_int_eq(zkd_txnlog_last_zxid(dir, &last), 0);
    ck_assert_int_eq(last, 2);
    zkd_txnlog_iter *it;
    zkd_txnlog_entry e;
    ck_assert_int_eq(zkd_txnlog_iter_open(&it, dir, 0), 0);
    ck_assert_int_eq(zkd_txnlog_iter_next(it, &e), 1);
    ck_assert_int_eq(e.zxid, 1);
    ck_assert_int_eq(e.offset, 16);
    ck_assert_str_eq(e.file, "log.1");
    ck_assert_mem_eq(e.txn, golden_txn1, sizeof golden_txn1);
    ck_assert_int_eq(zkd_txnlog_iter_next(it, &e), 1);
    ck_assert_int_eq(e.zxid, 2);
    ck_assert_int_eq(e.offset, 16 + 13 + (int64_t)sizeof golden_txn1);
    ck_assert_int_eq(zkd_txnlog_iter_next(it, &e), 0);
    zkd_txnlog_iter_close(it);

    /* An empty txn is refused (ZooKeeper: "Faulty serialization"). */
    ck_assert_int_eq(zkd_txnlog_open(&l, dir, 0), 0);
    ck_assert_int_eq(zkd_txnlog_append(l, 3, golden_txn1, 0), -EINVAL);
    zkd_txnlog_close(l);
    rmtree(dir);
}
END_TEST

/* ------------------------------------------------------- 02 preallocation */

static int64_t zk_padded(int64_t pos, int64_t size, int64_t pre)
{
    if (pre > 0 && pos + 4096 >= size)
        return pos > size ? (pos + pre) - (pos + pre) % pre : size + pre;
    return size;
}

START_TEST(t02_prealloc)
{
    char dir[64];
    mktmp(dir);
    const int64_t pre = 64 * 1024;
    zkd_txnlog *l;
    ck_assert_int_eq(zkd_txnlog_open(&l, dir, pre), 0);
    int64_t pos = 16, size = 16;
    for (int64_t z = 1; z <= 400; z++) {
        size_t len;
        uint8_t *t = mk_txn(z, z == 300 ? 3000 : 300, &len);
        size = zk_padded(pos, size, pre);
        ck_assert_int_eq(zkd_txnlog_append(l, z, t, len), 0);
        pos += 13 + (int64_t)len;
        free(t);
        if (z % 50 == 0) {
            ck_assert_int_eq(zkd_txnlog_flush(l, false, NULL), 0);
            ck_assert_int_eq(fsize(dir, "log.1"), size);
            ck_assert_int_eq(zkd_txnlog_file_size(l), size);
        }
    }
    ck_assert_int_eq(zkd_txnlog_flush(l, true, NULL), 0);
    ck_assert_int_eq(size % pre, 16); /* ZooKeeper's 67108880 with 64 MiB */
    /* One txn larger than the preallocation: position passes the size. */
    uint8_t *big = calloc(1, 3 * (size_t)pre);
    zkd_TxnHeader h = { 1, 1, 401, 0, 5 };
    kz_wr w = KZ_WR_INIT;
    zkd_encode(TxnHeader, &h, &w);
    memcpy(big, w.base, w.len);
    kz_wr_free(&w);
    size = zk_padded(pos, size, pre);
    ck_assert_int_eq(zkd_txnlog_append(l, 401, big, 3 * (size_t)pre), 0);
    pos += 13 + 3 * pre;
    size_t len;
    uint8_t *t = mk_txn(402, 10, &len);
    ck_assert_int_gt(pos, size); /* the "position > size" branch comes next */
    size = zk_padded(pos, size, pre);
    ck_assert_int_eq(zkd_txnlog_append(l, 402, t, len), 0);
    free(t);
    ck_assert_int_eq(zkd_txnlog_flush(l, true, NULL), 0);
    ck_assert_int_eq(fsize(dir, "log.1"), size);
    ck_assert_int_eq(size % pre, 0);
    zkd_txnlog_close(l);
    free(big);
    int64_t last;
    ck_assert_int_eq(zkd_txnlog_recover(dir, &last), 0);
    ck_assert_int_eq(last, 402);
    ck_assert_int_eq(fsize(dir, "log.1"), size); /* clean: untouched */
    rmtree(dir);
}
END_TEST

/* ------------------------------------------------------- 03 iteration */

START_TEST(t03_iterate_roll)
{
    char dir[64];
    mktmp(dir);
    zkd_txnlog *l;
    ck_assert_int_eq(zkd_txnlog_open(&l, dir, 65536), 0);
    for (int64_t z = 1; z <= 12; z++) {
        size_t len;
        uint8_t *t = mk_txn(z, (size_t)(z * 7 % 50), &len);
        ck_assert_int_eq(zkd_txnlog_append(l, z, t, len), 0);
        free(t);
        if (z == 5)
            ck_assert_int_eq(zkd_txnlog_roll(l), 0); /* roll with bytes buffered */
        if (z == 8)
            ck_assert_int_eq(zkd_txnlog_flush(l, true, NULL), 0);
        if (z == 10) {
            ck_assert_int_eq(zkd_txnlog_flush(l, true, NULL), 0);
            ck_assert_int_eq(zkd_txnlog_roll(l), 0);
            ck_assert_int_eq(zkd_txnlog_roll(l), 0); /* double roll is one */
        }
    }
    ck_assert_int_eq(zkd_txnlog_flush(l, true, NULL), 0);
    zkd_txnlog_close(l);
    ck_assert_int_eq(fsize(dir, "log.1"), 16 + 65536);
    ck_assert_int_eq(fsize(dir, "log.6"), 16 + 65536);
    ck_assert_int_eq(fsize(dir, "log.b"), 16 + 65536);
    expect_range(dir, 0, 1, 12);
    expect_range(dir, 1, 1, 12);
    expect_range(dir, 6, 6, 12);
    expect_range(dir, 7, 7, 12);
    expect_range(dir, 11, 11, 12);
    expect_range(dir, 12, 12, 12);
    expect_range(dir, 13, 13, 12); /* nothing */
    int64_t last;
    ck_assert_int_eq(zkd_txnlog_last_zxid(dir, &last), 0);
    ck_assert_int_eq(last, 12);
    /* A new writer always starts a new file. */
    write_range(dir, 13, 14, 65536);
    ck_assert_int_eq(fsize(dir, "log.d"), 16 + 65536);
    expect_range(dir, 0, 1, 14);
    /* Empty and missing directories. */
    char empty[64];
    mktmp(empty);
    ck_assert_int_eq(zkd_txnlog_last_zxid(empty, &last), 0);
    ck_assert_int_eq(last, -1);
    expect_range(empty, 0, 0, -1);
    strcat(empty, "/nope");
    ck_assert_int_eq(zkd_txnlog_recover(empty, &last), 0);
    ck_assert_int_eq(last, -1);
    empty[strlen(empty) - 5] = '\0';
    rmtree(empty);
    rmtree(dir);
}
END_TEST

/* ------------------------------------------------ 04 cut at every offset */

START_TEST(t04_cut_every_offset)
{
    char src[64], dir[64];
    mktmp(src);
    mktmp(dir);
    enum { N = 6, PAD = 40 };
    write_range(src, 1, N, 0);
    size_t full_n;
    uint8_t *full = slurp(src, "log.1", &full_n);
    full = realloc(full, full_n + PAD); /* stands for the preallocated zeros */
    memset(full + full_n, 0, PAD);
    full_n += PAD;
    int64_t ends[N + 1];
    ends[0] = 16;
    for (int i = 1; i <= N; i++)
        ends[i] = ends[i - 1] + 13 + (int64_t)(kz_load_be32(full + ends[i - 1] + 8));
    ck_assert_uint_gt(full_n, (size_t)ends[N]); /* padding follows the data */
    kz_log_set_level(KZ_LOG_ERROR);             /* one warning per torn cut otherwise */

    for (size_t k = 0; k <= full_n; k++) {
        spit(dir, "log.1", full, k);
        int expect = 0;
        while (expect < N && ends[expect + 1] <= (int64_t)k)
            expect++;
        int64_t last = -2;
        bool torn = k < 16;
        for (size_t i = (size_t)ends[expect]; i < k && !torn; i++)
            torn = full[i] != 0;
        bool removed = expect == 0;
        if (k % 2 == 0) {
            ck_assert_int_eq(zkd_txnlog_recover(dir, &last), 0);
        } else { /* the iterator + repair path zkd_db uses */
            zkd_txnlog_iter *it;
            zkd_txnlog_entry e;
            ck_assert_int_eq(zkd_txnlog_iter_open(&it, dir, 1), 0);
            int got = 0, rc;
            while ((rc = zkd_txnlog_iter_next(it, &e)) == 1)
                ck_assert_int_eq(e.zxid, ++got);
            ck_assert_int_eq(rc, 0);
            ck_assert_int_eq(got, expect);
            bool cut = false;
            ck_assert_int_eq(zkd_txnlog_iter_repair(it, &cut), 0);
            ck_assert_int_eq(cut, torn || removed);
            last = zkd_txnlog_iter_last_zxid(it);
            zkd_txnlog_iter_close(it);
        }
        ck_assert_msg(last == (expect ? expect : -1), "cut %zu: last %" PRId64 " want %d", k, last, expect);
        if (removed) {
            ck_assert_int_eq(fsize(dir, "log.1"), -1); /* nothing good: removed */
        } else {
            ck_assert_int_eq(fsize(dir, "log.1"), (int64_t)k); /* zeros refill the cut */
            size_t m;
            uint8_t *now = slurp(dir, "log.1", &m);
            ck_assert_mem_eq(now, full, (size_t)ends[expect]);
            for (size_t i = (size_t)ends[expect]; i < m; i++)
                ck_assert_msg(now[i] == 0 || !torn, "cut %zu: byte %zu not cleared", k, i);
            free(now);
        }
        /* Appending after recovery works and a second recovery sees all. */
        write_range(dir, expect + 1, expect + 2, 0);
        int64_t last2;
        ck_assert_int_eq(zkd_txnlog_recover(dir, &last2), 0);
        ck_assert_int_eq(last2, expect + 2);
        expect_range(dir, 0, 1, expect + 2);
        clear_dir(dir);
    }
    kz_log_set_level(KZ_LOG_INFO);
    free(full);
    rmtree(src);
    rmtree(dir);
}
END_TEST

/* ------------------------------------------ 05 corrupt non-last file */

START_TEST(t05_corrupt_middle_file)
{
    char dir[64];
    mktmp(dir);
    write_range(dir, 1, 5, 4096);
    write_range(dir, 6, 8, 4096);
    size_t n;
    uint8_t *b = slurp(dir, "log.1", &n);
    /* flip a byte inside entry 3's txn bytes */
    int64_t off = 16;
    for (int i = 0; i < 2; i++)
        off += 13 + kz_load_be32(b + off + 8);
    b[off + 12 + 20] ^= 0x40;
    spit(dir, "log.1", b, n);
    zkd_txnlog_iter *it;
    zkd_txnlog_entry e;
    ck_assert_int_eq(zkd_txnlog_iter_open(&it, dir, 0), 0);
    int64_t want[] = { 1, 2, 6, 7, 8 };
    for (size_t i = 0; i < 5; i++) {
        ck_assert_int_eq(zkd_txnlog_iter_next(it, &e), 1);
        ck_assert_int_eq(e.zxid, want[i]);
    }
    ck_assert_int_eq(zkd_txnlog_iter_next(it, &e), 0);
    bool cut = true;
    ck_assert_int_eq(zkd_txnlog_iter_repair(it, &cut), 0);
    ck_assert(!cut); /* only the last file is ever cut */
    zkd_txnlog_iter_close(it);
    ck_assert_int_eq(fsize(dir, "log.1"), (int64_t)n);
    free(b);
    rmtree(dir);
}
END_TEST

/* ------------------------------------------------------- 06 truncate */

START_TEST(t06_truncate)
{
    char dir[64];
    mktmp(dir);
    write_range(dir, 1, 5, 65536);
    write_range(dir, 6, 10, 65536);
    write_range(dir, 11, 12, 65536);
    ck_assert_int_eq(zkd_txnlog_truncate(dir, 7), 0);
    ck_assert_int_eq(fsize(dir, "log.b"), -1);
    ck_assert_int_eq(fsize(dir, "log.1"), 16 + 65536);
    expect_range(dir, 0, 1, 7);
    write_range(dir, 8, 9, 65536); /* the leader resends from there */
    expect_range(dir, 0, 1, 9);
    ck_assert_int_eq(zkd_txnlog_truncate(dir, 5), 0); /* at a file's end */
    ck_assert_int_eq(fsize(dir, "log.6"), -1);
    ck_assert_int_eq(fsize(dir, "log.8"), -1);
    expect_range(dir, 0, 1, 5);
    ck_assert_int_eq(zkd_txnlog_truncate(dir, 100), 0); /* nothing after */
    expect_range(dir, 0, 1, 5);
    ck_assert_int_eq(zkd_txnlog_truncate(dir, 0), 0); /* everything */
    ck_assert_int_eq(fsize(dir, "log.1"), -1);
    expect_range(dir, 0, 0, -1);
    write_range(dir, 1, 3, 65536);
    expect_range(dir, 0, 1, 3);
    rmtree(dir);
}
END_TEST

/* ----------------------------------------------------- 07 file listing */

START_TEST(t07_listing)
{
    char dir[64];
    mktmp(dir);
    const char *names[] = { "log.1", "log.A", "log.10", "log.zz", "log.", "logx.1", "log.1.tmp",
                            "snapshot.5", "log.fffffffffffffffff", "log.8000000000000000", "log.7fffffffffffffff" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        spit(dir, names[i], (const uint8_t *)"", 0);
    zkd_zxid_file *f;
    size_t n;
    ck_assert_int_eq(zkd_zxid_files(dir, "log", &f, &n), 0);
    ck_assert_uint_eq(n, 5);
    ck_assert_str_eq(f[0].name, "log.1");
    ck_assert_str_eq(zkd_zxid_file_suffix(&f[0]), "");
    ck_assert_str_eq(f[1].name, "log.1.tmp");
    ck_assert_str_eq(zkd_zxid_file_suffix(&f[1]), ".tmp");
    ck_assert_int_eq(f[2].zxid, 10);
    ck_assert_int_eq(f[3].zxid, 16);
    ck_assert_int_eq(f[4].zxid, INT64_MAX);
    ck_assert_uint_eq(zkd_zxid_files_start(f, n, 0), 0);
    ck_assert_uint_eq(zkd_zxid_files_start(f, n, 12), 2);
    ck_assert_uint_eq(zkd_zxid_files_start(f, n, 16), 3);
    free(f);
    /* Zero-length log files (a crash before the header) are removed. */
    int64_t last;
    ck_assert_int_eq(zkd_txnlog_recover(dir, &last), 0);
    ck_assert_int_eq(last, -1);
    ck_assert_int_eq(fsize(dir, "log.7fffffffffffffff"), -1);
    rmtree(dir);
}
END_TEST

/* ------------------------------------------------------- 08 sync thread */

typedef struct sync_ctx {
    struct event_base *base;
    int64_t want, got;
    int calls;
    bool failed;
} sync_ctx;

static void on_durable(void *ctx, int64_t zxid)
{
    sync_ctx *c = ctx;
    c->calls++;
    if (zxid < 0) {
        c->failed = true;
        event_base_loopbreak(c->base);
        return;
    }
    ck_assert_int_gt(zxid, c->got); /* strictly increasing */
    c->got = zxid;
    if (zxid >= c->want)
        event_base_loopbreak(c->base);
}

START_TEST(t08_sync_thread)
{
    char dir[64];
    mktmp(dir);
    sync_ctx c = { event_base_new(), 0, -1, 0, false };
    zkd_sync *s = zkd_sync_start(c.base, dir, 8192, true, on_durable, &c);
    ck_assert_ptr_nonnull(s);
    for (int64_t z = 1; z <= 300; z++) {
        size_t len;
        uint8_t *t = mk_txn(z, (size_t)(z * 7 % 50), &len);
        ck_assert_int_eq(zkd_sync_append(s, z, t, len), 0);
        if (z == 200)
            zkd_sync_roll(s);
    }
    c.want = 300;
    event_base_dispatch(c.base);
    ck_assert_int_eq(c.got, 300);
    ck_assert_int_le(c.calls, 300); /* batches coalesce */
    ck_assert_uint_eq(zkd_sync_pending(s), 0);
    zkd_sync_stats st;
    zkd_sync_get_stats(s, &st);
    ck_assert_int_eq(st.txns, 300);
    ck_assert_int_ge(st.count, 1);
    ck_assert_int_le(st.count, st.batches);
    ck_assert(st.min_ms <= st.avg_ms && st.avg_ms <= st.max_ms);
    ck_assert_int_eq((fsize(dir, "log.1") - 16) % 8192, 0);
    ck_assert_int_gt(fsize(dir, "log.c9"), 0); /* rolled at 201 */
    /* Txns queued right before stop are written and reported by stop. */
    for (int64_t z = 301; z <= 310; z++) {
        size_t len;
        uint8_t *t = mk_txn(z, (size_t)(z * 7 % 50), &len);
        ck_assert_int_eq(zkd_sync_append(s, z, t, len), 0);
    }
    ck_assert_int_eq(zkd_sync_append(s, 311, NULL, 0), -EINVAL);
    zkd_sync_stop(s);
    ck_assert_int_eq(c.got, 310);
    expect_range(dir, 0, 1, 310);
    event_base_free(c.base);

    /* forceSync=no: no fsync stats, still reported. */
    rmtree(dir);
    mktmp(dir);
    c = (sync_ctx){ event_base_new(), 5, -1, 0, false };
    s = zkd_sync_start(c.base, dir, 0, false, on_durable, &c);
    for (int64_t z = 1; z <= 5; z++) {
        size_t len;
        uint8_t *t = mk_txn(z, 5, &len);
        ck_assert_int_eq(zkd_sync_append(s, z, t, len), 0);
    }
    event_base_dispatch(c.base);
    ck_assert_int_eq(c.got, 5);
    zkd_sync_get_stats(s, &st);
    ck_assert_int_eq(st.count, 0);
    zkd_sync_stop(s);
    event_base_free(c.base);
    rmtree(dir);
}
END_TEST

START_TEST(t09_sync_io_error)
{
    sync_ctx c = { event_base_new(), 100, -1, 0, false };
    kz_log_set_level(KZ_LOG_FATAL);
    zkd_sync *s = zkd_sync_start(c.base, "/nonexistent/zkd/dir", 0, true, on_durable, &c);
    ck_assert_ptr_nonnull(s);
    size_t len;
    uint8_t *t = mk_txn(1, 5, &len);
    ck_assert_int_eq(zkd_sync_append(s, 1, t, len), 0);
    event_base_dispatch(c.base);
    ck_assert(c.failed);
    ck_assert_int_eq(c.got, -1);
    t = mk_txn(2, 5, &len);
    ck_assert_int_eq(zkd_sync_append(s, 2, t, len), -EIO); /* freed by the call */
    zkd_sync_stop(s);
    ck_assert_int_eq(c.calls, 1);
    kz_log_set_level(KZ_LOG_INFO);
    event_base_free(c.base);
}
END_TEST

/* ----------------------------------------- 10 garbage in the last file */

START_TEST(t10_bad_entries_last_file)
{
    char dir[64];
    mktmp(dir);
    write_range(dir, 1, 4, 4096);
    size_t n;
    uint8_t *b = slurp(dir, "log.1", &n);
    int64_t off3 = 16;
    for (int i = 0; i < 2; i++)
        off3 += 13 + kz_load_be32(b + off3 + 8);
    int64_t len3 = kz_load_be32(b + off3 + 8);
    struct {
        int64_t at;
        uint8_t val;
    } cases[] = {
        { off3 + 12 + len3, 'X' },       /* missing 'B' */
        { off3 + 3, 0x7f },              /* checksum */
        { off3 + 8, 0x80 },              /* negative length */
        { off3 + 12 + 14, 0xee },        /* txn bytes */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint8_t *c = malloc(n);
        memcpy(c, b, n);
        c[cases[i].at] = cases[i].val;
        spit(dir, "log.1", c, n);
        int64_t last;
        kz_log_set_level(KZ_LOG_ERROR);
        ck_assert_int_eq(zkd_txnlog_recover(dir, &last), 0);
        kz_log_set_level(KZ_LOG_INFO);
        ck_assert_int_eq(last, 2);
        expect_range(dir, 0, 1, 2);
        ck_assert_int_eq(fsize(dir, "log.1"), (int64_t)n);
        free(c);
    }
    free(b);
    rmtree(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("txnlog");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, t01_golden);
    tcase_add_test(tc, t02_prealloc);
    tcase_add_test(tc, t03_iterate_roll);
    tcase_add_test(tc, t04_cut_every_offset);
    tcase_add_test(tc, t05_corrupt_middle_file);
    tcase_add_test(tc, t06_truncate);
    tcase_add_test(tc, t07_listing);
    tcase_add_test(tc, t08_sync_thread);
    tcase_add_test(tc, t09_sync_io_error);
    tcase_add_test(tc, t10_bad_entries_last_file);
    suite_add_tcase(s, tc);
    return ut_run(s);
}
