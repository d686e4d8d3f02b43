/* test/unit/check_snap.c -- snapshots, start-up restore, purge, epochs.
 *
 *  01 round trip: tree from txns -> snapshot -> fresh tree; every node's
 *     path/data/acl/stat, the sessions and the ACL cache are equal
 *  02 file bytes: header, root path "", terminator, seal, "/" tail
 *  03 seal corruption, truncation and bad names are rejected
 *  04 ZooKeeper's digest section after the first seal is accepted
 *  05 snapshot in a forked child (fork + poll)
 *  06 restore = snapshot + log replay (exact and fuzzy snapshots)
 *  07 restore falls back to an older snapshot when the newest is corrupt
 *  08 fresh restore writes snapshot.0; logs without snapshots refuse
 *  09 restore cuts a torn log tail; separate dataLogDir
 *  10 purge keeps the newest N snapshots and the logs they need
 *  11 epoch files
 *  12 SNAP stream round trip: encode appends the file body byte for byte,
 *     scan finds body + signature, decode restores sessions/ACLs/nodes
 *  13 scanner fed byte by byte, in random chunks, from a moving buffer,
 *     never re-reading consumed bytes; a big tree with a 200 KB node
 *  14 truncated, corrupted and hand-made bad streams are rejected */
#include <check.h>
#include <errno.h>
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
#include "kz_fs.h"
#include "kz_log.h"
#include "zkd_datatree.h"
#include "zkd_db.h"
#include "zkd_proto.h"
#include "zkd_records.h"
#include "zkd_snap.h"
#include "zkd_txnlog.h"
#include "unit_util.h"

/* ------------------------------------------------------------- helpers */

static void mktmp(char *buf) { mktmp_prefix(buf, "zkd_snap_"); }

static char *pjoin(char *buf, const char *dir, const char *name)
{
    ck_assert_int_eq(kz_fs_join(buf, PATH_MAX, dir, name), 0);
    return buf;
}

static bool exists(const char *dir, const char *name)
{
    char p[PATH_MAX];
    return access(pjoin(p, dir, name), F_OK) == 0;
}

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)sz + 64);
    ck_assert_uint_eq(fread(b, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    *n = (size_t)sz;
    return b;
}

static void spit(const char *path, const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    fclose(f);
}

/* ------------------------------------------------------ the txn script */

#define NTXN 16
static const zkd_ACL acl_open = { ZKD_PERM_ALL, { { "world", 5 }, { "anyone", 6 } } };
static const zkd_ACL acl_read = { ZKD_PERM_READ, { { "world", 5 }, { "anyone", 6 } } };
static const zkd_ACL acl_digest[2] = {
    { ZKD_PERM_ALL, { { "digest", 6 }, { "bob:uvq2GoVmy8pCj3KvNbcaJUVw1oY=", 32 } } },
    { ZKD_PERM_READ, { { "ip", 2 }, { "127.0.0.1", 9 } } },
};

static void hdr(kz_wr *w, int64_t sid, int64_t zxid, int32_t type)
{
    zkd_TxnHeader h = { sid, (int32_t)zxid, zxid, 1700000000000 + zxid, type };
    zkd_encode(TxnHeader, &h, w);
}

static void create_body(kz_wr *w, const char *path, const char *data, const zkd_ACL *acl, int nacl,
                        bool eph, int32_t pcv)
{
    zkd_CreateTxn c = { kz_str_c(path), kz_str_c(data), { nacl, (void *)acl }, eph, pcv };
    zkd_encode(CreateTxn, &c, w);
}

/* Serialized txn number @i (1..NTXN), zxid = @i. */
static uint8_t *script_txn(int i, size_t *len)
{
    kz_wr w = KZ_WR_INIT;
    const int64_t s1 = 0x100, s2 = 0x200;
    switch (i) {
    case 1: {
        hdr(&w, s1, i, ZKD_OP_CREATE_SESSION);
        zkd_CreateSessionTxn t = { 30000 };
        zkd_encode(CreateSessionTxn, &t, &w);
        break;
    }
    case 2: hdr(&w, s1, i, ZKD_OP_CREATE); create_body(&w, "/a", "hello", &acl_open, 1, false, 1); break;
    case 3: hdr(&w, s1, i, ZKD_OP_CREATE2); create_body(&w, "/a/b", NULL, acl_digest, 2, false, 1); break;
    case 4: hdr(&w, s1, i, ZKD_OP_CREATE); create_body(&w, "/a/b/c", "deep", &acl_read, 1, false, 1); break;
    case 5: {
        hdr(&w, s2, i, ZKD_OP_CREATE_SESSION);
        zkd_CreateSessionTxn t = { 5000 };
        zkd_encode(CreateSessionTxn, &t, &w);
        break;
    }
    case 6: hdr(&w, s1, i, ZKD_OP_CREATE); create_body(&w, "/e", "eph", &acl_open, 1, true, 2); break;
    case 7: {
        hdr(&w, s1, i, ZKD_OP_SET_DATA);
        zkd_SetDataTxn t = { KZ_STR_LIT("/a"), KZ_STR_LIT("world!"), 1 };
        zkd_encode(SetDataTxn, &t, &w);
        break;
    }
    case 8: {
        hdr(&w, s1, i, ZKD_OP_SET_ACL);
        zkd_SetACLTxn t = { KZ_STR_LIT("/a"), { 2, (void *)acl_digest }, 1 };
        zkd_encode(SetACLTxn, &t, &w);
        break;
    }
    case 9: {
        hdr(&w, s1, i, ZKD_OP_CREATE_CONTAINER);
        zkd_CreateContainerTxn t = { KZ_STR_LIT("/cont"), KZ_STR_LIT(""), { 1, (void *)&acl_open }, 3 };
        zkd_encode(CreateContainerTxn, &t, &w);
        break;
    }
    case 10: {
        hdr(&w, s1, i, ZKD_OP_CREATE_TTL);
        zkd_CreateTTLTxn t = { KZ_STR_LIT("/ttl"), KZ_STR_LIT("t"), { 1, (void *)&acl_open }, 4, 5000 };
        zkd_encode(CreateTTLTxn, &t, &w);
        break;
    }
    case 11: {
        hdr(&w, s1, i, ZKD_OP_DELETE);
        zkd_DeleteTxn t = { KZ_STR_LIT("/a/b/c") };
        zkd_encode(DeleteTxn, &t, &w);
        break;
    }
    case 12: hdr(&w, s1, i, ZKD_OP_CREATE); create_body(&w, "/a/seq0000000002", "s", &acl_open, 1, false, 2); break;
    case 13: {
        hdr(&w, s1, i, ZKD_OP_MULTI);
        kz_wr b1 = KZ_WR_INIT, b2 = KZ_WR_INIT;
        create_body(&b1, "/m1", "one", &acl_open, 1, false, 6);
        create_body(&b2, "/m1/m2", "two", &acl_read, 1, false, 1);
        zkd_Txn ops[2] = { { ZKD_OP_CREATE, { (char *)b1.base, (int32_t)b1.len } },
                           { ZKD_OP_CREATE, { (char *)b2.base, (int32_t)b2.len } } };
        zkd_MultiTxn m = { { 2, ops } };
        zkd_encode(MultiTxn, &m, &w);
        kz_wr_free(&b1);
        kz_wr_free(&b2);
        break;
    }
    case 14: {
        hdr(&w, s2, i, ZKD_OP_CLOSE_SESSION);
        zkd_CloseSessionTxn t = { { 0, NULL } };
        zkd_encode(CloseSessionTxn, &t, &w);
        break;
    }
    case 15: hdr(&w, s1, i, ZKD_OP_CREATE); create_body(&w, "/z", "", &acl_open, 1, false, 7); break;
    case 16: {
        hdr(&w, s1, i, ZKD_OP_SET_DATA);
        zkd_SetDataTxn t = { KZ_STR_LIT("/zookeeper/config"), KZ_STR_LIT("server.1=x"), 0 };
        zkd_encode(SetDataTxn, &t, &w);
        break;
    }
    default: ck_abort_msg("no txn %d", i);
    }
    ck_assert_int_eq(w.err, 0);
    return kz_wr_steal(&w, len);
}

/* A tree with txns 1..@upto applied. */
static zkd_datatree *script_tree(int upto)
{
    zkd_datatree *dt = zkd_dt_new();
    kz_arena a = KZ_ARENA_INIT;
    ck_assert_ptr_nonnull(dt);
    for (int i = 1; i <= upto; i++) {
        size_t len;
        uint8_t *t = script_txn(i, &len);
        zkd_apply_result res;
        ck_assert_int_eq(zkd_dt_apply(dt, t, len, &res, &a), 0);
        ck_assert_msg(res.r.err == 0, "txn %d: err %d", i, res.r.err);
        free(t);
    }
    kz_arena_reset(&a);
    return dt;
}

/* Logs txns lo..hi into @dir (version-2 dir), one new file. */
static void script_log(const char *dir, int lo, int hi)
{
    zkd_txnlog *l;
    ck_assert_int_eq(zkd_txnlog_open(&l, dir, 65536), 0);
    for (int i = lo; i <= hi; i++) {
        size_t len;
        uint8_t *t = script_txn(i, &len);
        ck_assert_int_eq(zkd_txnlog_append(l, i, t, len), 0);
        free(t);
    }
    ck_assert_int_eq(zkd_txnlog_flush(l, true, NULL), 0);
    zkd_txnlog_close(l);
}

/* -------------------------------------------------------- tree compare */

typedef struct node_rec {
    char path[128];
    uint8_t data[64];
    int32_t data_len;
    int64_t acl;
    uint8_t acl_ser[256];
    size_t acl_len;
    zkd_StatPersisted st;
    uint32_t nkids;
} node_rec;

typedef struct node_list {
    const zkd_datatree *dt;
    node_rec v[64];
    size_t n;
} node_list;

static void ser_acl(const kz_jvec *acl, uint8_t *out, size_t *len)
{
    kz_wr w = KZ_WR_INIT;
    ck_assert_ptr_nonnull(acl);
    kz_wr_i32(&w, acl->n);
    for (int32_t i = 0; i < acl->n; i++)
        zkd_encode(ACL, &((const zkd_ACL *)acl->v)[i], &w);
    ck_assert_uint_le(w.len, 256);
    memcpy(out, w.base, w.len);
    *len = w.len;
    kz_wr_free(&w);
}

static int collect(void *ctx, const zkd_node *n)
{
    node_list *l = ctx;
    ck_assert_uint_lt(l->n, 64);
    node_rec *r = &l->v[l->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->path, sizeof r->path, "%s", n->path);
    r->data_len = n->data_len;
    if (n->data_len > 0)
        memcpy(r->data, n->data, (size_t)n->data_len);
    r->acl = n->acl;
    ser_acl(zkd_dt_acl_get(l->dt, n->acl), r->acl_ser, &r->acl_len);
    r->st = n->stat;
    r->nkids = n->nkids;
    return 0;
}

static int node_cmp(const void *a, const void *b)
{
    return strcmp(((const node_rec *)a)->path, ((const node_rec *)b)->path);
}

typedef struct sess_list {
    int64_t sid[16];
    int32_t to[16];
    size_t n;
} sess_list;

static int collect_sess(void *ctx, int64_t sid, int32_t to)
{
    sess_list *l = ctx;
    ck_assert_uint_lt(l->n, 16);
    size_t i = l->n++;
    while (i > 0 && l->sid[i - 1] > sid) { /* insertion sort */
        l->sid[i] = l->sid[i - 1];
        l->to[i] = l->to[i - 1];
        i--;
    }
    l->sid[i] = sid;
    l->to[i] = to;
    return 0;
}

typedef struct acl_list {
    int64_t idx[16];
    uint8_t ser[16][256];
    size_t len[16];
    size_t n;
} acl_list;

static int collect_acl(void *ctx, int64_t idx, const kz_jvec *acl)
{
    acl_list *l = ctx;
    ck_assert_uint_lt(l->n, 16);
    l->idx[l->n] = idx;
    ser_acl(acl, l->ser[l->n], &l->len[l->n]);
    l->n++;
    return 0;
}

/* Asserts @a and @b hold the same nodes, sessions and ACL cache. @same_acl_cache:
 * also compare the cache entry by entry (a replayed tree keeps unused ones). */
static void assert_trees_equal(const zkd_datatree *a, const zkd_datatree *b, bool same_acl_cache)
{
    static node_list la, lb;
    la.dt = a;
    la.n = 0;
    lb.dt = b;
    lb.n = 0;
    ck_assert_int_eq(zkd_dt_walk(a, collect, &la), 0);
    ck_assert_int_eq(zkd_dt_walk(b, collect, &lb), 0);
    ck_assert_uint_eq(la.n, lb.n);
    ck_assert_uint_eq(zkd_dt_node_count(a), zkd_dt_node_count(b));
    qsort(la.v, la.n, sizeof la.v[0], node_cmp);
    qsort(lb.v, lb.n, sizeof lb.v[0], node_cmp);
    for (size_t i = 0; i < la.n; i++) {
        node_rec *x = &la.v[i], *y = &lb.v[i];
        ck_assert_str_eq(x->path, y->path);
        ck_assert_msg(x->data_len == y->data_len && memcmp(x->data, y->data, sizeof x->data) == 0,
                      "%s: data differs", x->path);
        ck_assert_msg(x->acl == y->acl, "%s: acl index %" PRId64 " vs %" PRId64, x->path, x->acl, y->acl);
        ck_assert_msg(x->acl_len == y->acl_len && memcmp(x->acl_ser, y->acl_ser, x->acl_len) == 0,
                      "%s: acl list differs", x->path);
        ck_assert_msg(memcmp(&x->st, &y->st, sizeof x->st) == 0,
                      "%s: stat differs (czxid %" PRId64 "/%" PRId64 " mzxid %" PRId64 "/%" PRId64
                      " pzxid %" PRId64 "/%" PRId64 " cversion %d/%d version %d/%d aversion %d/%d owner %"
                      PRIx64 "/%" PRIx64 ")", x->path, x->st.czxid, y->st.czxid, x->st.mzxid, y->st.mzxid,
                      x->st.pzxid, y->st.pzxid, x->st.cversion, y->st.cversion, x->st.version,
                      y->st.version, x->st.aversion, y->st.aversion, (uint64_t)x->st.ephemeralOwner,
                      (uint64_t)y->st.ephemeralOwner);
        ck_assert_uint_eq(x->nkids, y->nkids);
    }
    sess_list sa = { .n = 0 }, sb = { .n = 0 };
    zkd_dt_session_walk(a, collect_sess, &sa);
    zkd_dt_session_walk(b, collect_sess, &sb);
    ck_assert_uint_eq(sa.n, sb.n);
    for (size_t i = 0; i < sa.n; i++) {
        ck_assert_int_eq(sa.sid[i], sb.sid[i]);
        ck_assert_int_eq(sa.to[i], sb.to[i]);
    }
    if (same_acl_cache) {
        static acl_list ca, cb;
        ca.n = cb.n = 0;
        zkd_dt_acl_walk(a, collect_acl, &ca);
        zkd_dt_acl_walk(b, collect_acl, &cb);
        ck_assert_uint_eq(ca.n, cb.n);
        for (size_t i = 0; i < ca.n; i++) {
            ck_assert_int_eq(ca.idx[i], cb.idx[i]);
            ck_assert_uint_eq(ca.len[i], cb.len[i]);
            ck_assert_mem_eq(ca.ser[i], cb.ser[i], ca.len[i]);
        }
    }
    ck_assert_int_eq(zkd_dt_ephemeral_count(a), zkd_dt_ephemeral_count(b));
    size_t na, nb;
    zkd_dt_containers(a, &na);
    zkd_dt_containers(b, &nb);
    ck_assert_uint_eq(na, nb);
    zkd_dt_ttls(a, &na);
    zkd_dt_ttls(b, &nb);
    ck_assert_uint_eq(na, nb);
}

/* ---------------------------------------------------------- 01 round trip */

START_TEST(t01_roundtrip)
{
    char dir[64], path[PATH_MAX];
    mktmp(dir);
    zkd_datatree *dt = script_tree(NTXN);
    ck_assert_uint_eq(zkd_dt_session_count(dt), 1);
    ck_assert_uint_eq(zkd_dt_ephemeral_count(dt), 1);
    ck_assert_int_eq(zkd_snap_write(dt, dir, NTXN), 0);
    ck_assert(exists(dir, "snapshot.10"));
    ck_assert(!exists(dir, "snapshot.10.tmp"));
    zkd_datatree *back = zkd_dt_new();
    ck_assert_int_eq(zkd_snap_read(back, pjoin(path, dir, "snapshot.10")), NTXN);
    ck_assert_int_eq(zkd_dt_last_zxid(back), NTXN);
    assert_trees_equal(dt, back, true);
    /* The restored tree keeps working: apply more txns on both. */
    /* A second snapshot of the restored tree is byte-identical except for
     * session order, so compare the snapshot of a snapshot. */
    ck_assert_int_eq(zkd_snap_write(back, dir, 0x20), 0);
    zkd_datatree *again = zkd_dt_new();
    ck_assert_int_eq(zkd_snap_read(again, pjoin(path, dir, "snapshot.20")), 0x20);
    assert_trees_equal(dt, again, true);
    zkd_dt_free(again);
    zkd_dt_free(back);
    zkd_dt_free(dt);
    rmtree(dir);
}
END_TEST

/* ------------------------------------------------------- 02 file bytes */

START_TEST(t02_bytes)
{
    char dir[64], path[PATH_MAX];
    mktmp(dir);
    zkd_datatree *dt = script_tree(NTXN);
    ck_assert_int_eq(zkd_snap_write(dt, dir, 0xabc), 0);
    size_t n;
    uint8_t *b = slurp(pjoin(path, dir, "snapshot.abc"), &n);
    static const uint8_t head[16] = { 'Z', 'K', 'S', 'N', 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff };
    ck_assert_mem_eq(b, head, 16);
    static const uint8_t slash[5] = { 0, 0, 0, 1, '/' };
    ck_assert_mem_eq(b + n - 5, slash, 5);         /* seal's "/" */
    ck_assert_mem_eq(b + n - 5 - 8 - 5, slash, 5); /* the node list terminator */
    ck_assert_uint_eq(kz_load_be64(b + n - 13), t_adler(b, n - 13));
    /* Walk the structure by hand: sessions, ACL cache, first node = "". */
    kz_rd r = kz_rd_init(b + 16, n - 16);
    int32_t ns = kz_rd_i32(&r);
    ck_assert_int_eq(ns, 1);
    ck_assert_int_eq(kz_rd_i64(&r), 0x100);
    ck_assert_int_eq(kz_rd_i32(&r), 30000);
    int32_t na = kz_rd_i32(&r);
    ck_assert_int_eq(na, (int32_t)zkd_dt_acl_count(dt));
    for (int32_t i = 0; i < na; i++) {
        kz_rd_i64(&r);
        int32_t k = kz_rd_i32(&r);
        for (int32_t j = 0; j < k; j++) {
            kz_rd_i32(&r);
            kz_rd_str(&r);
            kz_rd_str(&r);
        }
    }
    kz_str root = kz_rd_str(&r);
    ck_assert_int_eq(root.len, 0); /* the root is written as "" */
    kz_str rdata = kz_rd_str(&r);
    ck_assert_int_eq(rdata.len, 0);
    ck_assert_int_eq(kz_rd_i64(&r), ZKD_ACL_OPEN_UNSAFE);
    kz_rd_take(&r, 60); /* StatPersisted */
    kz_str first = kz_rd_str(&r);
    ck_assert_int_eq(r.err, 0);
    ck_assert_int_ge(first.len, 2);
    ck_assert_int_eq(first.s[0], '/');
    free(b);
    zkd_dt_free(dt);
    rmtree(dir);
}
END_TEST

/* -------------------------------------------------- 03 corruption */

START_TEST(t03_corruption)
{
    char dir[64], path[PATH_MAX], bad[PATH_MAX];
    mktmp(dir);
    zkd_datatree *dt = script_tree(NTXN);
    ck_assert_int_eq(zkd_snap_write(dt, dir, 5), 0);
    size_t n;
    uint8_t *b = slurp(pjoin(path, dir, "snapshot.5"), &n);
    pjoin(bad, dir, "snapshot.6");
    kz_log_set_level(KZ_LOG_FATAL);
    /* Every single-byte change before the seal's "/" is caught. */
    for (size_t i = 0; i < n - 5; i++) {
        b[i] ^= 0x01;
        spit(bad, b, n);
        zkd_datatree *t = zkd_dt_new();
        int64_t rc = zkd_snap_read(t, bad);
        ck_assert_msg(rc < 0, "flip at %zu accepted", i);
        zkd_dt_free(t);
        b[i] ^= 0x01;
    }
    /* Truncated at any point. */
    for (size_t k = 0; k < n; k += 7) {
        spit(bad, b, k);
        zkd_datatree *t = zkd_dt_new();
        ck_assert_int_lt(zkd_snap_read(t, bad), 0);
        zkd_dt_free(t);
    }
    zkd_zxid_file f6 = { 6, "snapshot.6", 10 };
    spit(bad, b, n - 1);
    ck_assert(!zkd_snap_looks_valid(dir, &f6));
    /* The name must be snapshot.<hex> exactly. */
    spit(bad, b, n);
    zkd_datatree *t = zkd_dt_new();
    ck_assert_int_eq(zkd_snap_read(t, bad), 6);
    zkd_dt_free(t);
    t = zkd_dt_new();
    ck_assert_int_eq(zkd_snap_read(t, pjoin(bad, dir, "snapshot.6.gz")), -EINVAL);
    ck_assert_int_eq(zkd_snap_read(t, pjoin(bad, dir, "snapshot.xyz")), -EINVAL);
    ck_assert_int_eq(zkd_snap_read(t, pjoin(bad, dir, "snapshot.7")), -ENOENT);
    zkd_dt_free(t);
    /* A compressed snapshot is listed as skipped, never read. */
    spit(pjoin(bad, dir, "snapshot.9.gz"), b, n);
    spit(pjoin(bad, dir, "snapshot.8.tmp"), b, n);
    spit(pjoin(bad, dir, "snapshot.7"), b, n - 1); /* no "/" tail */
    zkd_zxid_file *v;
    size_t nv;
    ck_assert_int_eq(zkd_snap_list(dir, 0, &v, &nv), 0);
    ck_assert_uint_eq(nv, 2);
    ck_assert_str_eq(v[0].name, "snapshot.6");
    ck_assert_str_eq(v[1].name, "snapshot.5");
    free(v);
    ck_assert_int_eq(zkd_snap_list(dir, 1, &v, &nv), 0);
    ck_assert_uint_eq(nv, 1);
    free(v);
    kz_log_set_level(KZ_LOG_INFO);
    free(b);
    zkd_dt_free(dt);
    rmtree(dir);
}
END_TEST

/* ------------------------------------------------ 04 ZooKeeper's digest */

START_TEST(t04_digest_section)
{
    char dir[64], path[PATH_MAX];
    mktmp(dir);
    zkd_datatree *dt = script_tree(NTXN);
    ck_assert_int_eq(zkd_snap_write(dt, dir, 0x10), 0);
    size_t n;
    uint8_t *b = slurp(pjoin(path, dir, "snapshot.10"), &n);
    b = realloc(b, n + 64);
    kz_store_be64(b + n, 0x10); /* ZxidDigest{zxid, version 2, digest} */
    kz_store_be32(b + n + 8, 2);
    kz_store_be64(b + n + 12, 0x1234567890abcdefULL);
    n += 20;
    kz_store_be64(b + n, t_adler(b, n)); /* second seal */
    n += 8;
    kz_store_be32(b + n, 1);
    b[n + 4] = '/';
    n += 5;
    spit(path, b, n);
    zkd_datatree *back = zkd_dt_new();
    ck_assert_int_eq(zkd_snap_read(back, path), 0x10);
    assert_trees_equal(dt, back, true);
    zkd_dt_free(back);
    free(b);
    zkd_dt_free(dt);
    rmtree(dir);
}
END_TEST

/* ----------------------------------------------------------- 05 fork */

START_TEST(t05_fork)
{
    char dir[64], path[PATH_MAX];
    mktmp(dir);
    zkd_datatree *dt = script_tree(NTXN);
    pid_t pid = zkd_snap_fork(dt, dir, 0x77);
    ck_assert_int_gt(pid, 0);
    int rc;
    while ((rc = zkd_snap_poll(pid)) == 1)
        usleep(1000);
    ck_assert_int_eq(rc, 0);
    zkd_datatree *back = zkd_dt_new();
    ck_assert_int_eq(zkd_snap_read(back, pjoin(path, dir, "snapshot.77")), 0x77);
    assert_trees_equal(dt, back, true);
    zkd_dt_free(back);
    /* A child that fails reports its errno. */
    kz_log_set_level(KZ_LOG_FATAL);
    pid = zkd_snap_fork(dt, "/nonexistent/dir", 0x78);
    ck_assert_int_gt(pid, 0);
    ck_assert_int_eq(zkd_snap_wait(pid), -ENOENT);
    ck_assert_int_eq(zkd_snap_poll(pid), -ECHILD);
    kz_log_set_level(KZ_LOG_INFO);
    zkd_dt_free(dt);
    rmtree(dir);
}
END_TEST

/* ---------------------------------------------------------- 06 restore */

static void setup_db(char *base, zkd_db_cfg *cfg, char *v2)
{
    mktmp(base);
    *cfg = (zkd_db_cfg){ base, NULL, false };
    ck_assert_int_eq(zkd_db_dirs(cfg, v2, NULL), 0);
}

START_TEST(t06_restore_replay)
{
    char base[64], v2[PATH_MAX];
    zkd_db_cfg cfg;
    zkd_db_info info;
    setup_db(base, &cfg, v2);
    zkd_datatree *full = script_tree(NTXN);
    script_log(v2, 1, 6);
    script_log(v2, 7, NTXN);
    zkd_datatree *part = script_tree(8);
    ck_assert_int_eq(zkd_snap_write(part, v2, 8), 0);
    zkd_dt_free(part);
    zkd_datatree *dt = NULL;
    ck_assert_int_eq(zkd_db_restore(&cfg, &dt, &info), 0);
    ck_assert_int_eq(info.snap_zxid, 8);
    ck_assert_int_eq(info.last_zxid, NTXN);
    ck_assert_int_eq(info.replayed, NTXN - 8);
    ck_assert_int_eq(info.txn_errors, 0);
    ck_assert(!info.fresh);
    ck_assert_int_eq(zkd_dt_last_zxid(dt), NTXN);
    assert_trees_equal(full, dt, false);
    zkd_dt_free(dt);

    /* Fuzzy: snapshot.3 holds the state after txn 9 (as if the tree moved
     * while it was written); replaying 4..16 over it must converge. */
    rmtree(base);
    setup_db(base, &cfg, v2);
    script_log(v2, 1, NTXN);
    part = script_tree(9);
    ck_assert_int_eq(zkd_snap_write(part, v2, 3), 0);
    zkd_dt_free(part);
    ck_assert_int_eq(zkd_db_restore(&cfg, &dt, &info), 0);
    ck_assert_int_eq(info.snap_zxid, 3);
    ck_assert_int_eq(info.replayed, NTXN - 3);
    ck_assert_int_gt(info.txn_errors, 0); /* NODEEXISTS etc., ignored */
    assert_trees_equal(full, dt, false);
    zkd_dt_free(dt);
    zkd_dt_free(full);
    rmtree(base);
}
END_TEST

/* --------------------------------------------------------- 07 fallback */

START_TEST(t07_fallback)
{
    char base[64], v2[PATH_MAX], p[PATH_MAX];
    zkd_db_cfg cfg;
    zkd_db_info info;
    setup_db(base, &cfg, v2);
    zkd_datatree *full = script_tree(NTXN);
    script_log(v2, 1, NTXN);
    zkd_datatree *t5 = script_tree(5), *t9 = script_tree(9);
    ck_assert_int_eq(zkd_snap_write(t5, v2, 5), 0);
    ck_assert_int_eq(zkd_snap_write(t9, v2, 9), 0);
    /* corrupt snapshot.9 in the middle: its "/" tail still looks valid */
    size_t n;
    uint8_t *b = slurp(pjoin(p, v2, "snapshot.9"), &n);
    b[n / 2] ^= 0xff;
    spit(p, b, n);
    free(b);
    kz_log_set_level(KZ_LOG_FATAL);
    zkd_datatree *dt = NULL;
    ck_assert_int_eq(zkd_db_restore(&cfg, &dt, &info), 0);
    ck_assert_int_eq(info.snap_zxid, 5);
    ck_assert_int_eq(info.replayed, NTXN - 5);
    assert_trees_equal(full, dt, false);
    zkd_dt_free(dt);
    /* All snapshots bad: refuse rather than start from nothing. */
    b = slurp(pjoin(p, v2, "snapshot.5"), &n);
    b[20] ^= 0xff;
    spit(p, b, n);
    free(b);
    ck_assert_int_eq(zkd_db_restore(&cfg, &dt, &info), -EBADMSG);
    ck_assert_ptr_null(dt);
    kz_log_set_level(KZ_LOG_INFO);
    zkd_dt_free(t5);
    zkd_dt_free(t9);
    zkd_dt_free(full);
    rmtree(base);
}
END_TEST

/* ------------------------------------------------------------ 08 fresh */

START_TEST(t08_fresh)
{
    char base[64], v2[PATH_MAX];
    zkd_db_cfg cfg;
    zkd_db_info info;
    mktmp(base);
    strcat(base, "/data/dir"); /* parents are created too */
    cfg = (zkd_db_cfg){ base, NULL, false };
    zkd_datatree *dt = NULL;
    ck_assert_int_eq(zkd_db_restore(&cfg, &dt, &info), 0);
    ck_assert(info.fresh);
    ck_assert_int_eq(info.last_zxid, 0);
    ck_assert_int_eq(zkd_dt_last_zxid(dt), 0);
    ck_assert_ptr_nonnull(zkd_dt_get(dt, "/zookeeper/quota", 16));
    ck_assert_ptr_nonnull(zkd_dt_get(dt, "/zookeeper/config", 17));
    snprintf(v2, sizeof v2, "%s/version-2", base);
    ck_assert(exists(v2, "snapshot.0"));
    zkd_datatree *again = NULL;
    ck_assert_int_eq(zkd_db_restore(&cfg, &again, &info), 0);
    ck_assert(!info.fresh);
    ck_assert_int_eq(info.snap_zxid, 0);
    assert_trees_equal(dt, again, true);
    zkd_dt_free(again);
    zkd_dt_free(dt);
    base[strlen(base) - 9] = '\0';
    rmtree(base);

    /* Logs but no snapshot: ZooKeeper refuses unless trusted. */
    setup_db(base, &cfg, v2);
    script_log(v2, 1, 4);
    kz_log_set_level(KZ_LOG_FATAL);
    ck_assert_int_eq(zkd_db_restore(&cfg, &dt, &info), -EBADMSG);
    kz_log_set_level(KZ_LOG_INFO);
    cfg.trust_empty_snapshot = true;
    ck_assert_int_eq(zkd_db_restore(&cfg, &dt, &info), 0);
    ck_assert_int_eq(info.last_zxid, 4);
    zkd_datatree *t4 = script_tree(4);
    assert_trees_equal(t4, dt, false);
    zkd_dt_free(t4);
    zkd_dt_free(dt);
    rmtree(base);
}
END_TEST

/* --------------------------------------------------- 09 torn + log dir */

START_TEST(t09_torn_tail_logdir)
{
    char base[64], logbase[64], snapv2[PATH_MAX], logv2[PATH_MAX], p[PATH_MAX];
    mktmp(base);
    mktmp(logbase);
    zkd_db_cfg cfg = { base, logbase, false };
    zkd_db_info info;
    ck_assert_int_eq(zkd_db_dirs(&cfg, snapv2, logv2), 0);
    ck_assert_str_ne(snapv2, logv2);
    zkd_datatree *t0 = zkd_dt_new();
    ck_assert_int_eq(zkd_snap_write(t0, snapv2, 0), 0);
    zkd_dt_free(t0);
    script_log(logv2, 1, 10);
    /* tear the last entry: keep 10 bytes of it */
    zkd_txnlog_iter *it;
    zkd_txnlog_entry e;
    int64_t off10 = 0;
    ck_assert_int_eq(zkd_txnlog_iter_open(&it, logv2, 10), 0);
    ck_assert_int_eq(zkd_txnlog_iter_next(it, &e), 1);
    off10 = e.offset;
    zkd_txnlog_iter_close(it);
    ck_assert_int_eq(truncate(pjoin(p, logv2, "log.1"), off10 + 10), 0);
    zkd_datatree *dt = NULL;
    kz_log_set_level(KZ_LOG_ERROR);
    ck_assert_int_eq(zkd_db_restore(&cfg, &dt, &info), 0);
    kz_log_set_level(KZ_LOG_INFO);
    ck_assert(info.log_truncated);
    ck_assert_int_eq(info.last_zxid, 9);
    zkd_datatree *t9 = script_tree(9);
    assert_trees_equal(t9, dt, false);
    zkd_dt_free(t9);
    zkd_dt_free(dt);
    ck_assert_int_eq(zkd_db_restore(&cfg, &dt, &info), 0);
    ck_assert(!info.log_truncated);
    ck_assert_int_eq(info.last_zxid, 9);
    zkd_dt_free(dt);
    ck_assert(!exists(snapv2, "log.1"));
    rmtree(base);
    rmtree(logbase);
}
END_TEST

/* ------------------------------------------------------------ 10 purge */

static void touch_log(const char *dir, int64_t zxid)
{
    char name[64], p[PATH_MAX];
    snprintf(name, sizeof name, "log.%" PRIx64, zxid);
    static const uint8_t hdr16[16] = { 'Z', 'K', 'L', 'G', 0, 0, 0, 2 };
    spit(pjoin(p, dir, name), hdr16, 16);
}

START_TEST(t10_purge)
{
    char base[64], v2[PATH_MAX], p[PATH_MAX];
    zkd_db_cfg cfg;
    setup_db(base, &cfg, v2);
    zkd_datatree *dt = zkd_dt_new();
    for (int64_t z = 0x10; z <= 0x40; z += 0x10)
        ck_assert_int_eq(zkd_snap_write(dt, v2, z), 0);
    spit(pjoin(p, v2, "snapshot.45"), (const uint8_t *)"junk", 4); /* invalid: not counted */
    int64_t logs[] = { 0x1, 0x15, 0x25, 0x35, 0x41 };
    for (size_t i = 0; i < 5; i++)
        touch_log(v2, logs[i]);
    ck_assert_int_eq(zkd_db_epoch_write(&cfg, ZKD_CURRENT_EPOCH, 1), 0);
    kz_log_set_level(KZ_LOG_ERROR);
    ck_assert_int_eq(zkd_db_purge(&cfg, 2), 4);
    /* kept: snapshot.30, .40, (.45 is newer); log.25 holds 0x30's successors */
    ck_assert(!exists(v2, "snapshot.10"));
    ck_assert(!exists(v2, "snapshot.20"));
    ck_assert(exists(v2, "snapshot.30"));
    ck_assert(exists(v2, "snapshot.40"));
    ck_assert(exists(v2, "snapshot.45"));
    ck_assert(!exists(v2, "log.1"));
    ck_assert(!exists(v2, "log.15"));
    ck_assert(exists(v2, "log.25"));
    ck_assert(exists(v2, "log.35"));
    ck_assert(exists(v2, "log.41"));
    ck_assert(exists(v2, "currentEpoch"));
    ck_assert_int_eq(zkd_db_purge(&cfg, 2), 0); /* idempotent */
    /* A log that starts exactly at the oldest kept snapshot. */
    touch_log(v2, 0x40);
    ck_assert_int_eq(zkd_db_purge(&cfg, 1), 3); /* snapshot.30, log.25, log.35 */
    ck_assert(!exists(v2, "snapshot.30"));
    ck_assert(exists(v2, "snapshot.40"));
    ck_assert(!exists(v2, "log.25"));
    ck_assert(!exists(v2, "log.35"));
    ck_assert(exists(v2, "log.40"));
    ck_assert(exists(v2, "log.41"));
    ck_assert_int_eq(zkd_db_purge(&cfg, 0), -EINVAL);
    kz_log_set_level(KZ_LOG_INFO);
    zkd_dt_free(dt);
    rmtree(base);

    /* Without any valid snapshot nothing goes. */
    setup_db(base, &cfg, v2);
    touch_log(v2, 1);
    ck_assert_int_eq(zkd_db_purge(&cfg, 3), 0);
    ck_assert(exists(v2, "log.1"));
    rmtree(base);
}
END_TEST

/* ----------------------------------------------------------- 11 epochs */

START_TEST(t11_epochs)
{
    char base[64], v2[PATH_MAX], p[PATH_MAX];
    zkd_db_cfg cfg;
    setup_db(base, &cfg, v2);
    int64_t e = -7;
    ck_assert_int_eq(zkd_db_epoch_read(&cfg, ZKD_ACCEPTED_EPOCH, &e), -ENOENT);
    ck_assert_int_eq(zkd_db_epoch_write(&cfg, ZKD_ACCEPTED_EPOCH, 12345678901LL), 0);
    ck_assert_int_eq(zkd_db_epoch_read(&cfg, ZKD_ACCEPTED_EPOCH, &e), 0);
    ck_assert_int_eq(e, 12345678901LL);
    size_t n;
    uint8_t *b = slurp(pjoin(p, v2, "acceptedEpoch"), &n);
    ck_assert_uint_eq(n, 11);
    ck_assert_mem_eq(b, "12345678901", 11); /* no newline */
    free(b);
    ck_assert(!exists(v2, "acceptedEpoch.tmp"));
    ck_assert_int_eq(zkd_db_epoch_write(&cfg, ZKD_CURRENT_EPOCH, 0), 0);
    ck_assert_int_eq(zkd_db_epoch_read(&cfg, ZKD_CURRENT_EPOCH, &e), 0);
    ck_assert_int_eq(e, 0);
    pjoin(p, v2, "currentEpoch");
    spit(p, (const uint8_t *)"5\n", 2); /* readLine() tolerates the newline */
    ck_assert_int_eq(zkd_db_epoch_read(&cfg, ZKD_CURRENT_EPOCH, &e), 0);
    ck_assert_int_eq(e, 5);
    const char *bad[] = { "", "abc", "5x", " 5", "99999999999999999999" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        spit(p, (const uint8_t *)bad[i], strlen(bad[i]));
        ck_assert_int_eq(zkd_db_epoch_read(&cfg, ZKD_CURRENT_EPOCH, &e), -EBADMSG);
    }
    rmtree(base);
}
END_TEST


/* ------------------------------------------------------ 12 SNAP stream */

static const uint8_t sig_bytes[14] = { 0, 0, 0, 10, 'B', 'e', 'n', 'W', 'a', 's', 'H', 'e', 'r', 'e' };

/* Encodes @dt as the leader sends it: @pre junk bytes (the packets before),
 * body, signature, @post junk bytes (the packets after). *body_off and
 * *end give the body's start and the end of the signature. */
static uint8_t *stream_of(const zkd_datatree *dt, size_t pre, size_t post, size_t *body_off, size_t *end,
                          size_t *total)
{
    kz_wr w = KZ_WR_INIT;
    for (size_t i = 0; i < pre; i++)
        kz_wr_u8(&w, (uint8_t)(0xa0 + i));
    *body_off = w.len;
    ck_assert_int_eq(zkd_snap_encode_stream(dt, &w), 0);
    kz_wr_str(&w, KZ_STR_LIT(ZKD_SNAP_SIGNATURE));
    *end = w.len;
    for (size_t i = 0; i < post; i++)
        kz_wr_u8(&w, 0xee);
    ck_assert_int_eq(w.err, 0);
    return kz_wr_steal(&w, total);
}

START_TEST(t12_stream_roundtrip)
{
    char dir[64], path[PATH_MAX];
    mktmp(dir);
    for (int upto = 13; upto <= NTXN; upto += NTXN - 13) { /* 13: two sessions, 16: one */
        zkd_datatree *dt = script_tree(upto);
        size_t off, end, total;
        uint8_t *b = stream_of(dt, 7, 33, &off, &end, &total);
        ck_assert_uint_eq(off, 7);
        ck_assert_uint_eq(total, end + 33);
        ck_assert_mem_eq(b + end - 14, sig_bytes, 14);
        static const uint8_t slash[5] = { 0, 0, 0, 1, '/' };
        ck_assert_mem_eq(b + end - 19, slash, 5); /* terminator just before the signature */

        /* The body is the snapshot file minus FileHeader (16) and seal (13). */
        ck_assert_int_eq(zkd_snap_write(dt, dir, upto), 0);
        char name[32];
        snprintf(name, sizeof name, "snapshot.%x", upto);
        size_t n;
        uint8_t *f = slurp(pjoin(path, dir, name), &n);
        ck_assert_uint_eq(n - 16 - 13, end - 14 - off);
        ck_assert_mem_eq(f + 16, b + off, n - 29);
        free(f);

        /* Scan from the body's start; bytes after the signature are ignored. */
        zkd_snap_scan sc;
        zkd_snap_scan_init(&sc);
        long got = zkd_snap_scan_feed(&sc, b + off, total - off);
        ck_assert_int_eq(got, (long)(end - off));
        ck_assert_int_eq(zkd_snap_scan_feed(&sc, b + off, total - off), got); /* sticky */

        zkd_datatree *back = zkd_dt_new();
        ck_assert_int_eq(zkd_snap_decode_stream(back, b + off, (size_t)got), 0);
        assert_trees_equal(dt, back, true);
        ck_assert_uint_eq(zkd_dt_session_count(back), upto == 13 ? 2 : 1);
        int32_t to = 0;
        ck_assert(zkd_dt_session_get(back, 0x100, &to));
        ck_assert_int_eq(to, 30000);
        ck_assert_int_eq(zkd_dt_last_zxid(back), 0); /* the caller sets it from the SNAP packet */
        size_t ne;
        zkd_node *const *eph = zkd_dt_ephemerals(back, 0x100, &ne);
        ck_assert_uint_eq(ne, 1);
        ck_assert_str_eq(eph[0]->path, "/e");
        const zkd_node *a = zkd_dt_get(back, "/a", 2);
        ck_assert_ptr_nonnull(a);
        ck_assert_int_eq(a->data_len, 6);
        ck_assert_mem_eq(a->data, "world!", 6);
        const kz_jvec *acl = zkd_dt_acl_get(back, a->acl);
        ck_assert_ptr_nonnull(acl);
        ck_assert_int_eq(acl->n, 2);

        /* Re-encoding the restored tree gives a stream of the same length
         * that decodes to the same tree (session order may differ). */
        size_t off2, end2, total2;
        uint8_t *b2 = stream_of(back, 0, 0, &off2, &end2, &total2);
        ck_assert_uint_eq(end2, end - off);
        zkd_datatree *again = zkd_dt_new();
        ck_assert_int_eq(zkd_snap_decode_stream(again, b2, end2), 0);
        assert_trees_equal(dt, again, true);
        zkd_dt_free(again);
        free(b2);
        zkd_dt_free(back);
        free(b);
        zkd_dt_free(dt);
    }
    /* The empty tree of a fresh server. */
    zkd_datatree *dt = zkd_dt_new();
    size_t off, end, total;
    uint8_t *b = stream_of(dt, 0, 0, &off, &end, &total);
    zkd_snap_scan sc;
    zkd_snap_scan_init(&sc);
    ck_assert_int_eq(zkd_snap_scan_feed(&sc, b, total), (long)total);
    zkd_datatree *back = zkd_dt_new();
    ck_assert_int_eq(zkd_snap_decode_stream(back, b, total), 0);
    assert_trees_equal(dt, back, true);
    zkd_dt_free(back);
    free(b);
    /* A writer already out of memory stays so. */
    kz_wr w = KZ_WR_INIT;
    w.err = KZ_ENOMEM;
    ck_assert_int_eq(zkd_snap_encode_stream(dt, &w), -ENOMEM);
    ck_assert_uint_eq(w.len, 0);
    zkd_dt_free(dt);
    rmtree(dir);
}
END_TEST

/* --------------------------------------------- 13 incremental scanning */

/* The script tree plus /big with @nkids children (some ephemeral, some with
 * null data) and /big/huge holding @huge bytes. */
static zkd_datatree *big_tree(int nkids, size_t huge)
{
    zkd_datatree *dt = script_tree(NTXN);
    kz_arena a = KZ_ARENA_INIT;
    int64_t zxid = 100;
    char *blob = malloc(huge + 1);
    ck_assert_ptr_nonnull(blob);
    for (size_t i = 0; i < huge; i++)
        blob[i] = (char)('a' + i % 26);
    blob[huge] = '\0';
    for (int i = -2; i < nkids; i++) {
        char p[64], d[32];
        kz_wr w = KZ_WR_INIT;
        hdr(&w, 0x100, zxid++, ZKD_OP_CREATE);
        if (i == -2) {
            create_body(&w, "/big", "b", &acl_open, 1, false, 10);
        } else if (i == -1) {
            create_body(&w, "/big/huge", blob, &acl_read, 1, false, 1);
        } else {
            snprintf(p, sizeof p, "/big/n%05d", i);
            snprintf(d, sizeof d, "data-%d", i);
            create_body(&w, p, i % 7 == 0 ? NULL : d, i % 3 ? &acl_open : acl_digest, i % 3 ? 1 : 2,
                        i % 5 == 0, i + 2);
        }
        ck_assert_int_eq(w.err, 0);
        zkd_apply_result res;
        ck_assert_int_eq(zkd_dt_apply(dt, w.base, w.len, &res, &a), 0);
        ck_assert_int_eq(res.r.err, 0);
        kz_wr_free(&w);
        kz_arena_rewind(&a);
    }
    kz_arena_reset(&a);
    free(blob);
    return dt;
}

/* Feeds @b[0..@total) to a scanner through a buffer that grows by the chunk
 * sizes @next_chunk gives and is reallocated (so it moves) at each step, as
 * a receiver appending socket reads would. Asserts 0 until the end, then
 * @want exactly when the end arrives. */
static void feed_chunks(const uint8_t *b, size_t total, long want, uint32_t seed, size_t maxchunk)
{
    zkd_snap_scan sc;
    zkd_snap_scan_init(&sc);
    uint8_t *buf = NULL;
    size_t len = 0;
    long got = 0;
    uint32_t x = seed;
    while (len < total) {
        x = x * 1103515245u + 12345u;
        size_t k = maxchunk <= 1 ? 1 : 1 + (x >> 8) % maxchunk;
        if (k > total - len)
            k = total - len;
        uint8_t *nb = malloc(len + k); /* a fresh block: the old address dies */
        ck_assert_ptr_nonnull(nb);
        if (len)
            memcpy(nb, buf, len);
        memcpy(nb + len, b + len, k);
        free(buf);
        buf = nb;
        len += k;
        size_t before = sc.pos;
        got = zkd_snap_scan_feed(&sc, buf, len);
        ck_assert_uint_ge(sc.pos, before); /* never goes back */
        ck_assert_uint_le(sc.pos, len);
        if (got != 0)
            break;
    }
    ck_assert_int_eq(got, want);
    ck_assert_uint_ge(len, (size_t)want); /* it did not answer before the end arrived */
    ck_assert_uint_lt(len - (size_t)want, maxchunk > 1 ? maxchunk : 1);
    ck_assert_int_eq(zkd_snap_scan_feed(&sc, buf, len), want);
    free(buf);
}

START_TEST(t13_stream_incremental)
{
    zkd_datatree *dt = big_tree(400, 200000);
    size_t off, end, total;
    uint8_t *b = stream_of(dt, 0, 100, &off, &end, &total);
    ck_assert_uint_gt(end, 200000);
    long want = (long)end;

    /* Byte by byte: 0 at every length short of the end. */
    feed_chunks(b, total, want, 1, 1);
    /* Random chunk sizes, small and large. */
    for (uint32_t seed = 1; seed <= 20; seed++)
        feed_chunks(b, total, want, seed, seed % 2 ? 13 : 70001);

    /* Resumes instead of re-parsing: the bytes already consumed are not
     * looked at again (garbage there changes nothing). */
    uint8_t *c = malloc(total);
    ck_assert_ptr_nonnull(c);
    memcpy(c, b, total);
    zkd_snap_scan sc;
    zkd_snap_scan_init(&sc);
    ck_assert_int_eq(zkd_snap_scan_feed(&sc, c, end - 5000), 0); /* past the big node */
    ck_assert_uint_gt(sc.pos, end - 5000 - 100);
    memset(c, 0xff, sc.pos);
    ck_assert_int_eq(zkd_snap_scan_feed(&sc, c, total), want);
    free(c);

    /* The big node restores intact from what the scanner delimited. */
    zkd_datatree *back = zkd_dt_new();
    ck_assert_int_eq(zkd_snap_decode_stream(back, b, (size_t)want), 0);
    ck_assert_uint_eq(zkd_dt_node_count(back), zkd_dt_node_count(dt));
    const zkd_node *h = zkd_dt_get(back, "/big/huge", 9);
    ck_assert_ptr_nonnull(h);
    ck_assert_int_eq(h->data_len, 200000);
    ck_assert_int_eq(h->data[199999], 'a' + 199999 % 26);
    ck_assert_uint_eq(zkd_dt_ephemeral_count(back), zkd_dt_ephemeral_count(dt));
    const zkd_node *n7 = zkd_dt_get(back, "/big/n00007", 11);
    ck_assert_ptr_nonnull(n7);
    ck_assert_int_eq(n7->data_len, -1);
    zkd_dt_free(back);

    /* A limit: exactly the length passes, one byte less is -EFBIG (also
     * when the bytes have not arrived yet). */
    zkd_snap_scan_init(&sc);
    sc.limit = (size_t)want;
    ck_assert_int_eq(zkd_snap_scan_feed(&sc, b, total), want);
    zkd_snap_scan_init(&sc);
    sc.limit = (size_t)want - 1;
    ck_assert_int_eq(zkd_snap_scan_feed(&sc, b, total), -EFBIG);
    zkd_snap_scan_init(&sc);
    sc.limit = 100000; /* inside the big node's data, which has not come yet */
    long r = 0;
    for (size_t len = 0; len <= total && r == 0; len += 4096)
        r = zkd_snap_scan_feed(&sc, b, len);
    ck_assert_int_eq(r, -EFBIG);
    ck_assert_int_eq(zkd_snap_scan_feed(&sc, b, total), -EFBIG); /* sticky */
    free(b);
    zkd_dt_free(dt);
}
END_TEST

/* ------------------------------------------------- 14 bad streams */

/* A hand-made body: @nsess sessions, one ACL entry (index 1, @nacl ACLs of
 * world:anyone), root "", then the nodes @paths (NULL-terminated) with
 * ACL index @aclidx and data "d", the terminator and the signature. */
static uint8_t *hand_stream(int32_t nsess, int32_t nacl, int64_t aclidx, const char *const *paths, size_t *len)
{
    kz_wr w = KZ_WR_INIT;
    kz_wr_i32(&w, nsess);
    for (int32_t i = 0; i < nsess; i++) {
        kz_wr_i64(&w, 0x1000 + i);
        kz_wr_i32(&w, 4000 + i);
    }
    kz_wr_i32(&w, 1);
    kz_wr_i64(&w, 1);
    kz_wr_i32(&w, nacl);
    for (int32_t i = 0; i < nacl; i++)
        zkd_encode(ACL, &acl_open, &w);
    zkd_StatPersisted st = { 1, 2, 3, 4, 0, 0, 0, 0, 5 };
    kz_wr_str(&w, KZ_STR_LIT(""));
    kz_wr_str(&w, KZ_STR_NULL);
    kz_wr_i64(&w, ZKD_ACL_OPEN_UNSAFE);
    zkd_encode(StatPersisted, &st, &w);
    for (size_t i = 0; paths && paths[i]; i++) {
        kz_wr_str(&w, kz_str_c(paths[i]));
        kz_wr_str(&w, KZ_STR_LIT("d"));
        kz_wr_i64(&w, aclidx);
        zkd_encode(StatPersisted, &st, &w);
    }
    kz_wr_str(&w, KZ_STR_LIT("/"));
    kz_wr_str(&w, KZ_STR_LIT(ZKD_SNAP_SIGNATURE));
    ck_assert_int_eq(w.err, 0);
    return kz_wr_steal(&w, len);
}

static long scan_all(const uint8_t *b, size_t len)
{
    zkd_snap_scan sc;
    zkd_snap_scan_init(&sc);
    return zkd_snap_scan_feed(&sc, b, len);
}

static int decode_all(const uint8_t *b, size_t len)
{
    zkd_datatree *t = zkd_dt_new();
    ck_assert_ptr_nonnull(t);
    int rc = zkd_snap_decode_stream(t, b, len);
    zkd_dt_free(t);
    return rc;
}

/* Offsets in a hand_stream(nsess, nacl, ...) body. */
#define HS_ACL_N(ns)        (4 + 12 * (size_t)(ns))
#define HS_ACL_VEC(ns)      (HS_ACL_N(ns) + 4 + 8)
#define HS_ROOT(ns, na)     (HS_ACL_VEC(ns) + 4 + 23 * (size_t)(na)) /* ACL world:anyone = 4+9+10 */
#define HS_ROOT_DATA(ns, na) (HS_ROOT(ns, na) + 4)

START_TEST(t14_stream_bad)
{
    kz_log_set_level(KZ_LOG_FATAL);
    static const char *const good_paths[] = { "/x", "/x/y", "/zookeeper/z", NULL };
    size_t n;
    uint8_t *b = hand_stream(2, 1, 1, good_paths, &n);
    ck_assert_int_eq(scan_all(b, n), (long)n);
    zkd_datatree *t = zkd_dt_new();
    ck_assert_int_eq(zkd_snap_decode_stream(t, b, n), 0);
    ck_assert_ptr_nonnull(zkd_dt_get(t, "/x/y", 4));
    ck_assert_uint_eq(zkd_dt_session_count(t), 2);
    ck_assert_ptr_null(zkd_dt_get(t, "/", 1)->data);
    zkd_dt_free(t);

    /* Every truncation: the scanner waits (0), decode refuses. */
    for (size_t k = 0; k < n; k++) {
        ck_assert_int_eq(scan_all(b, k), 0);
        ck_assert_int_eq(decode_all(b, k), -EBADMSG);
    }
    /* Trailing bytes are not part of the body. */
    uint8_t *c = malloc(n + 1);
    memcpy(c, b, n);
    c[n] = 0;
    ck_assert_int_eq(scan_all(c, n + 1), (long)n);
    ck_assert_int_eq(decode_all(c, n + 1), -EBADMSG);

    /* Every single-bit flip: no crash, and scanner and decoder agree that a
     * stream the scanner refuses or cannot finish is not decoded. */
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(c, b, n);
            c[i] ^= (uint8_t)(1u << bit);
            long r = scan_all(c, n);
            int d = decode_all(c, r > 0 ? (size_t)r : n);
            if (r <= 0)
                ck_assert_int_eq(d, -EBADMSG);
            else
                ck_assert_msg(d == 0 || d == -EBADMSG, "flip %zu.%d: decode %d", i, bit, d);
            if (i >= n - 10) /* in the signature's bytes */
                ck_assert_int_eq(r, -EBADMSG);
        }
    }

    /* Exact rejections. */
    memcpy(c, b, n);
    kz_store_be32(c, (uint32_t)-1); /* session count */
    ck_assert_int_eq(scan_all(c, n), -EBADMSG);
    ck_assert_int_eq(decode_all(c, n), -EBADMSG);
    memcpy(c, b, n);
    kz_store_be32(c + HS_ACL_N(2), (uint32_t)-3); /* ACL cache count */
    ck_assert_int_eq(scan_all(c, n), -EBADMSG);
    memcpy(c, b, n);
    kz_store_be32(c + HS_ACL_VEC(2), (uint32_t)-1); /* null ACL vector */
    ck_assert_int_eq(scan_all(c, n), -EBADMSG);
    ck_assert_int_eq(decode_all(c, n), -EBADMSG);
    memcpy(c, b, n);
    kz_store_be32(c + HS_ROOT(2, 1), (uint32_t)-1); /* null path */
    ck_assert_int_eq(scan_all(c, n), -EBADMSG);
    ck_assert_int_eq(decode_all(c, n), -EBADMSG);
    memcpy(c, b, n);
    kz_store_be32(c + HS_ROOT_DATA(2, 1), (uint32_t)-2); /* data length < -1 */
    ck_assert_int_eq(scan_all(c, HS_ROOT_DATA(2, 1) + 4), -EBADMSG);
    ck_assert_int_eq(decode_all(c, n), -EBADMSG);
    memcpy(c, b, n);
    kz_store_be32(c + HS_ROOT_DATA(2, 1), 1u << 30); /* too long: refused before the bytes come */
    ck_assert_int_eq(scan_all(c, HS_ROOT_DATA(2, 1) + 4), -EBADMSG);
    ck_assert_int_eq(decode_all(c, n), -EBADMSG);
    kz_store_be32(c + HS_ROOT_DATA(2, 1), (1u << 30) - 1); /* the largest allowed: wait */
    ck_assert_int_eq(scan_all(c, n), 0);
    memcpy(c, b, n);
    kz_store_be32(c + n - 14, 11); /* signature length */
    ck_assert_int_eq(scan_all(c, n - 10), -EBADMSG);
    ck_assert_int_eq(decode_all(c, n), -EBADMSG);
    memcpy(c, b, n);
    c[n - 1] = 'f'; /* "BenWasHerf" */
    ck_assert_int_eq(scan_all(c, n), -EBADMSG);
    ck_assert_int_eq(decode_all(c, n), -EBADMSG);
    kz_store_be32(c + n - 14, (uint32_t)-1); /* null signature */
    ck_assert_int_eq(scan_all(c, n), -EBADMSG);
    free(c);
    free(b);

    /* A huge session count waits for its bytes, and a limit stops it. */
    uint8_t hs[4 + 12];
    memset(hs, 0, sizeof hs);
    kz_store_be32(hs, 0x7fffffff);
    ck_assert_int_eq(scan_all(hs, sizeof hs), 0);
    ck_assert_int_eq(decode_all(hs, sizeof hs), -EBADMSG);
    zkd_snap_scan sc;
    zkd_snap_scan_init(&sc);
    sc.limit = 1 << 20;
    ck_assert_int_eq(zkd_snap_scan_feed(&sc, hs, sizeof hs), 0);
    ck_assert_int_eq(sc.pos, 16);
    uint8_t *big = calloc(1, (1 << 20) + 16);
    kz_store_be32(big, 0x7fffffff);
    ck_assert_int_eq(zkd_snap_scan_feed(&sc, big, (1 << 20) + 16), -EFBIG);
    ck_assert_int_eq(zkd_snap_scan_feed(&sc, big, (1 << 20) + 16), -EFBIG);
    free(big);
    /* A shrinking buffer is a caller bug. */
    zkd_snap_scan_init(&sc);
    ck_assert_int_eq(zkd_snap_scan_feed(&sc, hs, 8), 0);
    ck_assert_int_eq(zkd_snap_scan_feed(&sc, hs, 2), -EINVAL);
    ck_assert_int_eq(zkd_snap_scan_feed(&sc, hs, 16), -EINVAL);

    /* Well-formed for the scanner, but not a tree: missing parent, unknown
     * ACL index, an ACL cache entry with no ACL. */
    static const char *const orphan[] = { "/x", "/q/y", NULL };
    static const char *const relative[] = { "x", NULL };
    b = hand_stream(0, 1, 1, orphan, &n);
    ck_assert_int_eq(scan_all(b, n), (long)n);
    ck_assert_int_eq(decode_all(b, n), -EBADMSG);
    free(b);
    b = hand_stream(0, 1, 7, good_paths, &n);
    ck_assert_int_eq(scan_all(b, n), (long)n);
    ck_assert_int_eq(decode_all(b, n), -EBADMSG);
    free(b);
    b = hand_stream(0, 1, 1, relative, &n);
    ck_assert_int_eq(scan_all(b, n), (long)n);
    ck_assert_int_eq(decode_all(b, n), -EBADMSG);
    free(b);
    b = hand_stream(0, 0, 1, good_paths, &n); /* empty ACL list: allowed */
    ck_assert_int_eq(scan_all(b, n), (long)n);
    ck_assert_int_eq(decode_all(b, n), 0);
    free(b);
    kz_log_set_level(KZ_LOG_INFO);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("snap");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, t01_roundtrip);
    tcase_add_test(tc, t02_bytes);
    tcase_add_test(tc, t03_corruption);
    tcase_add_test(tc, t04_digest_section);
    tcase_add_test(tc, t05_fork);
    tcase_add_test(tc, t06_restore_replay);
    tcase_add_test(tc, t07_fallback);
    tcase_add_test(tc, t08_fresh);
    tcase_add_test(tc, t09_torn_tail_logdir);
    tcase_add_test(tc, t10_purge);
    tcase_add_test(tc, t11_epochs);
    tcase_add_test(tc, t12_stream_roundtrip);
    tcase_add_test(tc, t13_stream_incremental);
    tcase_add_test(tc, t14_stream_bad);
    suite_add_tcase(s, tc);
    return ut_run(s);
}
