/* test/unit/check_datatree.c -- zkd_datatree as ZooKeeper 3.8's DataTree.
 *
 * Every change goes through zkd_dt_apply with txns serialized by hand from
 * the jute records (TxnHeader + body), exactly the bytes of a txn-log entry.
 * Stats are compared as one formatted string per node so a failure shows all
 * fields. Expected values are what DataTree/DataNode of 3.8 produce:
 *   - wire cversion = stored cversion * 2 - numChildren (DataNode.copyStat),
 *   - create takes parentCVersion from the txn and only moves the parent's
 *     cversion/pzxid forward; delete moves pzxid forward only,
 *   - the ACL cache is reference counted; setACL drops the old reference
 *     before interning the new list,
 *   - multi with an ErrorTxn applies nothing: results 0 / code / -2.
 * Watch triggers are observed both raw (hook log) and through a real
 * zkd_watch manager wired to the hook. */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kz_buf.h"
#include "zkd_datatree.h"
#include "zkd_proto.h"
#include "zkd_records.h"
#include "zkd_watch.h"
#include "unit_util.h"

#define ZX(n) ((int64_t)0x100000000LL + (n)) /* epoch 1 */
#define S1 ((int64_t)0x1000001234560001LL)
#define S2 ((int64_t)0x1000001234560002LL)

static zkd_datatree *DT;
static kz_arena A;
static zkd_apply_result RES;

/* Raw hook events: "E:path" joined by "; ". */
static char HOOKS[4096];
static size_t HOOKS_LEN;

static void hook(void *ctx, int ev, const char *path, uint32_t len)
{
    (void)ctx;
    HOOKS_LEN += (size_t)snprintf(HOOKS + HOOKS_LEN, sizeof HOOKS - HOOKS_LEN, "%s%d:%.*s",
                                  HOOKS_LEN ? "; " : "", ev, (int)len, path);
}

static const char *hooks_take(void)
{
    static char out[4096];
    memcpy(out, HOOKS, HOOKS_LEN + 1);
    HOOKS_LEN = 0;
    HOOKS[0] = '\0';
    return out;
}

static void setup(void)
{
    DT = zkd_dt_new();
    ck_assert_ptr_nonnull(DT);
    A = KZ_ARENA_INIT;
    HOOKS_LEN = 0;
    HOOKS[0] = '\0';
    zkd_dt_hooks h = { hook, NULL };
    zkd_dt_set_hooks(DT, &h);
}

static void teardown(void)
{
    zkd_dt_free(DT);
    DT = NULL;
    kz_arena_reset(&A);
}

/* ------------------------------------------------------------ txn builders */

static const zkd_ACL OPEN = { ZKD_PERM_ALL, { KZ_STR_LIT("world"), KZ_STR_LIT("anyone") } };
static const zkd_ACL READ = { ZKD_PERM_READ, { KZ_STR_LIT("world"), KZ_STR_LIT("anyone") } };
static const zkd_ACL DIGEST = { ZKD_PERM_ALL, { KZ_STR_LIT("digest"), KZ_STR_LIT("u:0BvWI2kVhVsS3Tpp2xtDx0nKnYQ=") } };
static const zkd_ACL IPACL = { ZKD_PERM_READ | ZKD_PERM_WRITE, { KZ_STR_LIT("ip"), KZ_STR_LIT("10.0.0.1") } };

static kz_jvec acl_of(const zkd_ACL *a) { return (kz_jvec){ 1, (void *)a }; }

static kz_str str_or_null(const char *s) { return s ? kz_str_c(s) : KZ_STR_NULL; }

static void put_hdr(kz_wr *w, int64_t sid, int64_t zxid, int64_t time, int32_t type)
{
    zkd_TxnHeader h = { sid, 7, zxid, time, type };
    zkd_encode(TxnHeader, &h, w);
}

static int apply_wr(kz_wr *w)
{
    ck_assert_int_eq(w->err, 0);
    int rc = zkd_dt_apply(DT, w->base, w->len, &RES, &A);
    kz_wr_free(w);
    return rc;
}

/* Body encoders (also used for multi sub-txns). */
static void body_create(kz_wr *w, const char *path, const char *data, const zkd_ACL *acl, bool eph, int32_t pcv)
{
    zkd_CreateTxn t = { kz_str_c(path), str_or_null(data), acl ? acl_of(acl) : (kz_jvec){ -1, NULL }, eph, pcv };
    zkd_encode(CreateTxn, &t, w);
}
static void body_delete(kz_wr *w, const char *path)
{
    zkd_DeleteTxn t = { kz_str_c(path) };
    zkd_encode(DeleteTxn, &t, w);
}
static void body_setdata(kz_wr *w, const char *path, const char *data, int32_t version)
{
    zkd_SetDataTxn t = { kz_str_c(path), str_or_null(data), version };
    zkd_encode(SetDataTxn, &t, w);
}
static void body_error(kz_wr *w, int32_t err)
{
    zkd_ErrorTxn t = { err };
    zkd_encode(ErrorTxn, &t, w);
}

static int tx_create_t(int32_t type, int64_t sid, int64_t zxid, int64_t time, const char *path, const char *data,
                       const zkd_ACL *acl, bool eph, int32_t pcv)
{
    kz_wr w = KZ_WR_INIT;
    put_hdr(&w, sid, zxid, time, type);
    body_create(&w, path, data, acl, eph, pcv);
    return apply_wr(&w);
}
static int tx_create(int64_t zxid, int64_t time, const char *path, const char *data, int32_t pcv)
{
    return tx_create_t(ZKD_OP_CREATE, S1, zxid, time, path, data, &OPEN, false, pcv);
}
static int tx_delete(int64_t zxid, const char *path)
{
    kz_wr w = KZ_WR_INIT;
    put_hdr(&w, S1, zxid, 5000, ZKD_OP_DELETE);
    body_delete(&w, path);
    return apply_wr(&w);
}
static int tx_setdata(int64_t zxid, int64_t time, const char *path, const char *data, int32_t version)
{
    kz_wr w = KZ_WR_INIT;
    put_hdr(&w, S1, zxid, time, ZKD_OP_SET_DATA);
    body_setdata(&w, path, data, version);
    return apply_wr(&w);
}
static int tx_setacl(int64_t zxid, const char *path, const zkd_ACL *acl, int n, int32_t version)
{
    kz_wr w = KZ_WR_INIT;
    put_hdr(&w, S1, zxid, 6000, ZKD_OP_SET_ACL);
    zkd_SetACLTxn t = { kz_str_c(path), { n, (void *)acl }, version };
    zkd_encode(SetACLTxn, &t, &w);
    return apply_wr(&w);
}
static int tx_session(int64_t sid, int64_t zxid, int32_t timeout)
{
    kz_wr w = KZ_WR_INIT;
    put_hdr(&w, sid, zxid, 100, ZKD_OP_CREATE_SESSION);
    zkd_CreateSessionTxn t = { timeout };
    zkd_encode(CreateSessionTxn, &t, &w);
    return apply_wr(&w);
}
/* @paths: NULL-terminated list, or NULL for a txn without a body (old logs). */
static int tx_close(int64_t sid, int64_t zxid, const char *const *paths)
{
    kz_wr w = KZ_WR_INIT;
    put_hdr(&w, sid, zxid, 200, ZKD_OP_CLOSE_SESSION);
    if (paths) {
        kz_str v[16];
        int n = 0;
        while (paths[n])
            v[n] = kz_str_c(paths[n]), n++;
        zkd_CloseSessionTxn t = { { n, v } };
        zkd_encode(CloseSessionTxn, &t, &w);
    }
    return apply_wr(&w);
}

/* ------------------------------------------------------------ inspection */

static const char *stat_str(const zkd_Stat *s)
{
    static char b[512];
    snprintf(b, sizeof b,
             "cz=%" PRIx64 " mz=%" PRIx64 " ct=%" PRId64 " mt=%" PRId64 " v=%d cv=%d av=%d eo=%" PRIx64
             " dl=%d nc=%d pz=%" PRIx64,
             (uint64_t)s->czxid, (uint64_t)s->mzxid, s->ctime, s->mtime, s->version, s->cversion, s->aversion,
             (uint64_t)s->ephemeralOwner, s->dataLength, s->numChildren, (uint64_t)s->pzxid);
    return b;
}

static const char *stat_of(const char *path)
{
    zkd_node *n = zkd_dt_get(DT, path, strlen(path));
    if (!n)
        return "(none)";
    zkd_Stat s;
    zkd_node_stat(n, &s);
    return stat_str(&s);
}

static zkd_node *node(const char *path)
{
    zkd_node *n = zkd_dt_get(DT, path, strlen(path));
    ck_assert_msg(n != NULL, "no node %s", path);
    return n;
}

static const char *acl_str(int64_t idx)
{
    static char b[512];
    const kz_jvec *v = zkd_dt_acl_get(DT, idx);
    if (!v)
        return "(none)";
    size_t len = 0;
    b[0] = '\0';
    for (int32_t i = 0; i < v->n; i++) {
        const zkd_ACL *a = &((const zkd_ACL *)v->v)[i];
        len += (size_t)snprintf(b + len, sizeof b - len, "%s%d:%.*s:%.*s", i ? "," : "", a->perms,
                                a->id.scheme.len, a->id.scheme.s, a->id.id.len, a->id.id.s);
    }
    return b;
}

static int walk_cb(void *ctx, const zkd_node *n)
{
    char *b = ctx;
    size_t l = strlen(b);
    snprintf(b + l, 1024 - l, "%s%s", l ? " " : "", n->path);
    return 0;
}

static const char *walk_str(void)
{
    static char b[1024];
    b[0] = '\0';
    ck_assert_int_eq(zkd_dt_walk(DT, walk_cb, b), 0);
    return b;
}

static const char *eph_str(int64_t sid)
{
    static char b[512];
    size_t n, len = 0;
    zkd_node *const *v = zkd_dt_ephemerals(DT, sid, &n);
    b[0] = '\0';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(b + len, sizeof b - len, "%s%s", i ? "," : "", v[i]->path);
    return b;
}

/* 1. The initial tree (DataTree constructor): "/", /zookeeper, /zookeeper/quota,
 *    /zookeeper/config with world:anyone READ and aversion -1. */
START_TEST(t01_initial_tree)
{
    ck_assert_uint_eq(zkd_dt_node_count(DT), 4);
    ck_assert_str_eq(stat_of("/"), "cz=0 mz=0 ct=0 mt=0 v=0 cv=-1 av=0 eo=0 dl=0 nc=1 pz=0");
    ck_assert_str_eq(stat_of("/zookeeper"), "cz=0 mz=0 ct=0 mt=0 v=0 cv=-2 av=0 eo=0 dl=0 nc=2 pz=0");
    ck_assert_str_eq(stat_of("/zookeeper/quota"), "cz=0 mz=0 ct=0 mt=0 v=0 cv=0 av=0 eo=0 dl=0 nc=0 pz=0");
    ck_assert_str_eq(stat_of("/zookeeper/config"), "cz=0 mz=0 ct=0 mt=0 v=0 cv=0 av=-1 eo=0 dl=0 nc=0 pz=0");
    ck_assert_ptr_eq(zkd_dt_get(DT, "", 0), node("/"));
    ck_assert_int_eq(node("/")->acl, ZKD_ACL_OPEN_UNSAFE);
    ck_assert_int_eq(node("/zookeeper")->acl, ZKD_ACL_OPEN_UNSAFE);
    ck_assert_int_eq(node("/zookeeper/config")->acl, 1);
    ck_assert_str_eq(acl_str(1), "1:world:anyone");
    ck_assert_str_eq(acl_str(ZKD_ACL_OPEN_UNSAFE), "31:world:anyone");
    ck_assert_uint_eq(zkd_dt_acl_count(DT), 1);
    /* "" (0) + "/" (1) + "/zookeeper" (10) + "/zookeeper/quota" (16) + "/zookeeper/config" (17) */
    ck_assert_int_eq(zkd_dt_approx_size(DT), 44);
    ck_assert_int_eq(zkd_dt_last_zxid(DT), 0);
    ck_assert_str_eq(walk_str(), "/ /zookeeper /zookeeper/quota /zookeeper/config");
    ck_assert_uint_eq(zkd_dt_session_count(DT), 0);
    ck_assert_uint_eq(zkd_dt_ephemeral_count(DT), 0);
    ck_assert_ptr_null(zkd_dt_get(DT, "/zookeeper/", 11));
    ck_assert_ptr_null(zkd_dt_get(DT, "/nope", 5));
}
END_TEST

/* 2. create: czxid=mzxid=pzxid=zxid, ctime=mtime=time; the parent takes
 *    cversion from the txn and pzxid=zxid; events NodeCreated + parent. */
START_TEST(t02_create)
{
    ck_assert_int_eq(tx_create(ZX(1), 1000, "/a", "hello", 1), 0);
    ck_assert_int_eq(RES.r.type, ZKD_OP_CREATE);
    ck_assert_int_eq(RES.r.err, 0);
    ck_assert_int_eq(RES.r.path.len, 2);
    ck_assert_mem_eq(RES.r.path.s, "/a", 2);
    ck_assert_str_eq(stat_str(&RES.r.stat), "cz=100000001 mz=100000001 ct=1000 mt=1000 v=0 cv=0 av=0 eo=0 dl=5 nc=0 pz=100000001");
    ck_assert_str_eq(stat_of("/a"), "cz=100000001 mz=100000001 ct=1000 mt=1000 v=0 cv=0 av=0 eo=0 dl=5 nc=0 pz=100000001");
    /* root: stored cversion 1, two children -> 0 */
    ck_assert_str_eq(stat_of("/"), "cz=0 mz=0 ct=0 mt=0 v=0 cv=0 av=0 eo=0 dl=0 nc=2 pz=100000001");
    ck_assert_str_eq(hooks_take(), "1:/a");
    ck_assert_int_eq(zkd_dt_last_zxid(DT), ZX(1));
    ck_assert_int_eq(zkd_dt_approx_size(DT), 44 + 2 + 5);
    ck_assert_uint_eq(zkd_dt_node_count(DT), 5);
    ck_assert_int_eq(node("/a")->data_len, 5);
    ck_assert_mem_eq(node("/a")->data, "hello", 5);

    /* null data: dataLength 0, stored as null */
    ck_assert_int_eq(tx_create(ZX(2), 1001, "/a/n", NULL, 1), 0);
    ck_assert_int_eq(node("/a/n")->data_len, -1);
    ck_assert_str_eq(stat_of("/a"), "cz=100000001 mz=100000001 ct=1000 mt=1000 v=0 cv=1 av=0 eo=0 dl=5 nc=1 pz=100000002");
    /* parentCVersion -1 (old txns): the parent's cversion + 1 */
    ck_assert_int_eq(tx_create(ZX(3), 1002, "/a/m", "", -1), 0);
    ck_assert_int_eq(node("/a")->stat.cversion, 2);
    ck_assert_str_eq(stat_of("/a"), "cz=100000001 mz=100000001 ct=1000 mt=1000 v=0 cv=2 av=0 eo=0 dl=5 nc=2 pz=100000003");
    /* a parentCVersion that does not move forward leaves cversion and pzxid */
    ck_assert_int_eq(tx_create(ZX(4), 1003, "/a/o", "", 2), 0);
    ck_assert_str_eq(stat_of("/a"), "cz=100000001 mz=100000001 ct=1000 mt=1000 v=0 cv=1 av=0 eo=0 dl=5 nc=3 pz=100000003");
    /* one that jumps ahead is taken as is */
    ck_assert_int_eq(tx_create(ZX(5), 1004, "/a/p", "", 10), 0);
    ck_assert_str_eq(stat_of("/a"), "cz=100000001 mz=100000001 ct=1000 mt=1000 v=0 cv=16 av=0 eo=0 dl=5 nc=4 pz=100000005");
    ck_assert_str_eq(walk_str(), "/ /zookeeper /zookeeper/quota /zookeeper/config /a /a/n /a/m /a/o /a/p");

    /* errors: no parent, bad path */
    ck_assert_int_eq(tx_create(ZX(6), 1005, "/x/y", "", 1), 0);
    ck_assert_int_eq(RES.r.err, ZKD_ERR_NONODE);
    ck_assert_int_eq(zkd_dt_last_zxid(DT), ZX(6));
    ck_assert_str_eq(hooks_take(), "1:/a/n; 1:/a/m; 1:/a/o; 1:/a/p");
}
END_TEST

/* 3. NODEEXISTS while replaying (fuzzy snapshot): DataTree.processTxn moves
 *    the parent's cversion/pzxid for OpCode.create only; create2 does not. */
START_TEST(t03_create_exists)
{
    ck_assert_int_eq(tx_create(ZX(1), 1000, "/a", "x", 1), 0);
    hooks_take();
    ck_assert_int_eq(tx_create(ZX(2), 1001, "/a", "y", 5), 0);
    ck_assert_int_eq(RES.r.err, ZKD_ERR_NODEEXISTS);
    ck_assert_int_eq(node("/")->stat.cversion, 5);
    ck_assert_int_eq(node("/")->stat.pzxid, ZX(2));
    ck_assert_str_eq(stat_of("/a"), "cz=100000001 mz=100000001 ct=1000 mt=1000 v=0 cv=0 av=0 eo=0 dl=1 nc=0 pz=100000001");
    ck_assert_str_eq(hooks_take(), "");
    ck_assert_int_eq(tx_create_t(ZKD_OP_CREATE2, S1, ZX(3), 1002, "/a", "y", &OPEN, false, 9), 0);
    ck_assert_int_eq(RES.r.err, ZKD_ERR_NODEEXISTS);
    ck_assert_int_eq(node("/")->stat.cversion, 5);
    ck_assert_int_eq(node("/")->stat.pzxid, ZX(2));
}
END_TEST

/* 4. delete: the parent's pzxid moves forward only; stored cversion stays,
 *    so the wire cversion counts the delete (2 creates + 1 delete -> 3). */
START_TEST(t04_delete)
{
    ck_assert_int_eq(tx_create(ZX(1), 1000, "/p", "", 1), 0);
    ck_assert_int_eq(tx_create(ZX(2), 1001, "/p/x", "abc", 1), 0);
    ck_assert_int_eq(tx_create(ZX(3), 1002, "/p/y", "", 2), 0);
    hooks_take();
    ck_assert_int_eq(tx_delete(ZX(4), "/p/x"), 0);
    ck_assert_int_eq(RES.r.err, 0);
    ck_assert_int_eq(RES.r.type, ZKD_OP_DELETE);
    ck_assert_str_eq(stat_of("/p"), "cz=100000001 mz=100000001 ct=1000 mt=1000 v=0 cv=3 av=0 eo=0 dl=0 nc=1 pz=100000004");
    ck_assert_str_eq(stat_of("/p/x"), "(none)");
    ck_assert_str_eq(hooks_take(), "2:/p/x");
    ck_assert_int_eq(zkd_dt_approx_size(DT), 44 + 2 + 4);
    ck_assert_uint_eq(zkd_dt_node_count(DT), 6);
    /* NOTEMPTY and NONODE */
    ck_assert_int_eq(tx_delete(ZX(5), "/p"), 0);
    ck_assert_int_eq(RES.r.err, ZKD_ERR_NOTEMPTY);
    ck_assert_int_eq(tx_delete(ZX(6), "/q"), 0);
    ck_assert_int_eq(RES.r.err, ZKD_ERR_NONODE);
    ck_assert_str_eq(hooks_take(), "");
    /* replaying an older delete does not move pzxid back */
    ck_assert_int_eq(tx_create(ZX(7), 1003, "/p/z", "", 3), 0);
    ck_assert_int_eq(tx_delete(ZX(2), "/p/z"), 0);
    ck_assert_str_eq(stat_of("/p"), "cz=100000001 mz=100000001 ct=1000 mt=1000 v=0 cv=5 av=0 eo=0 dl=0 nc=1 pz=100000007");
    /* deleting the last child of "/" children */
    ck_assert_int_eq(tx_delete(ZX(8), "/p/y"), 0);
    ck_assert_int_eq(tx_delete(ZX(9), "/p"), 0);
    ck_assert_str_eq(stat_of("/"), "cz=0 mz=0 ct=0 mt=0 v=0 cv=1 av=0 eo=0 dl=0 nc=1 pz=100000009");
    ck_assert_str_eq(walk_str(), "/ /zookeeper /zookeeper/quota /zookeeper/config");
    ck_assert_int_eq(zkd_dt_approx_size(DT), 44);
}
END_TEST

/* 5. DataTree.deleteNode updates the parent's pzxid before it finds the child
 *    missing (fuzzy snapshot replay), then fails with NONODE. */
START_TEST(t05_delete_missing_child_pzxid)
{
    ck_assert_int_eq(tx_create(ZX(1), 1000, "/p", "", 1), 0);
    ck_assert_int_eq(tx_delete(ZX(5), "/p/gone"), 0);
    ck_assert_int_eq(RES.r.err, ZKD_ERR_NONODE);
    ck_assert_str_eq(stat_of("/p"), "cz=100000001 mz=100000001 ct=1000 mt=1000 v=0 cv=0 av=0 eo=0 dl=0 nc=0 pz=100000005");
}
END_TEST

/* 6. setData: version from the txn, mzxid/mtime; ctime/czxid kept. */
START_TEST(t06_set_data)
{
    ck_assert_int_eq(tx_create(ZX(1), 1000, "/a", "hello", 1), 0);
    hooks_take();
    ck_assert_int_eq(tx_setdata(ZX(2), 2000, "/a", "hi", 1), 0);
    ck_assert_int_eq(RES.r.err, 0);
    ck_assert_int_eq(RES.r.type, ZKD_OP_SET_DATA);
    ck_assert_str_eq(stat_str(&RES.r.stat), "cz=100000001 mz=100000002 ct=1000 mt=2000 v=1 cv=0 av=0 eo=0 dl=2 nc=0 pz=100000001");
    ck_assert_str_eq(stat_of("/a"), "cz=100000001 mz=100000002 ct=1000 mt=2000 v=1 cv=0 av=0 eo=0 dl=2 nc=0 pz=100000001");
    ck_assert_str_eq(hooks_take(), "3:/a");
    ck_assert_int_eq(zkd_dt_approx_size(DT), 44 + 2 + 2);
    ck_assert_int_eq(tx_setdata(ZX(3), 3000, "/a", NULL, 2), 0);
    ck_assert_str_eq(stat_of("/a"), "cz=100000001 mz=100000003 ct=1000 mt=3000 v=2 cv=0 av=0 eo=0 dl=0 nc=0 pz=100000001");
    ck_assert_int_eq(node("/a")->data_len, -1);
    ck_assert_int_eq(zkd_dt_approx_size(DT), 44 + 2);
    ck_assert_int_eq(tx_setdata(ZX(4), 4000, "/b", "x", 1), 0);
    ck_assert_int_eq(RES.r.err, ZKD_ERR_NONODE);
    /* data on "/" itself */
    ck_assert_int_eq(tx_setdata(ZX(5), 5000, "/", "root", 1), 0);
    ck_assert_str_eq(stat_of("/"), "cz=0 mz=100000005 ct=0 mt=5000 v=1 cv=0 av=0 eo=0 dl=4 nc=2 pz=100000001");
    ck_assert_str_eq(hooks_take(), "3:/a; 3:/");
}
END_TEST

/* 7. ACL cache: identical lists share an index, references are counted, an
 *    unused list is dropped, indexes are never reused. */
START_TEST(t07_acl_cache)
{
    kz_jvec dv = acl_of(&DIGEST), rv = acl_of(&READ);
    ck_assert_int_eq(zkd_dt_acl_intern(DT, NULL), ZKD_ACL_OPEN_UNSAFE);
    kz_jvec nullv = { -1, NULL };
    ck_assert_int_eq(zkd_dt_acl_intern(DT, &nullv), ZKD_ACL_OPEN_UNSAFE);
    ck_assert_int_eq(zkd_dt_acl_intern(DT, &rv), 1); /* the config node's list */
    zkd_dt_acl_unref(DT, 1);
    ck_assert_str_eq(acl_str(1), "1:world:anyone");

    ck_assert_int_eq(tx_create_t(ZKD_OP_CREATE, S1, ZX(1), 1000, "/a", "", &DIGEST, false, 1), 0);
    ck_assert_int_eq(tx_create_t(ZKD_OP_CREATE, S1, ZX(2), 1000, "/b", "", &DIGEST, false, 2), 0);
    ck_assert_int_eq(tx_create_t(ZKD_OP_CREATE, S1, ZX(3), 1000, "/c", "", NULL, false, 3), 0);
    ck_assert_int_eq(node("/a")->acl, 2);
    ck_assert_int_eq(node("/b")->acl, 2);
    ck_assert_int_eq(node("/c")->acl, ZKD_ACL_OPEN_UNSAFE);
    ck_assert_uint_eq(zkd_dt_acl_count(DT), 2);
    ck_assert_str_eq(acl_str(2), "31:digest:u:0BvWI2kVhVsS3Tpp2xtDx0nKnYQ=");
    ck_assert_int_eq(zkd_dt_acl_intern(DT, &dv), 2);
    zkd_dt_acl_unref(DT, 2);

    /* setACL: aversion from the txn, new list interned */
    zkd_ACL two[2] = { IPACL, READ };
    ck_assert_int_eq(tx_setacl(ZX(4), "/a", two, 2, 1), 0);
    ck_assert_int_eq(RES.r.err, 0);
    ck_assert_int_eq(RES.r.type, ZKD_OP_SET_ACL);
    ck_assert_str_eq(stat_str(&RES.r.stat), "cz=100000001 mz=100000001 ct=1000 mt=1000 v=0 cv=0 av=1 eo=0 dl=0 nc=0 pz=100000001");
    ck_assert_int_eq(node("/a")->acl, 3);
    ck_assert_str_eq(acl_str(3), "3:ip:10.0.0.1,1:world:anyone");
    ck_assert_uint_eq(zkd_dt_acl_count(DT), 3);
    /* the last user of index 2 goes: the list is dropped */
    ck_assert_int_eq(tx_delete(ZX(5), "/b"), 0);
    ck_assert_str_eq(acl_str(2), "(none)");
    ck_assert_uint_eq(zkd_dt_acl_count(DT), 2);
    /* the same list again gets a fresh index (indexes are not reused) */
    ck_assert_int_eq(tx_create_t(ZKD_OP_CREATE, S1, ZX(6), 1000, "/d", "", &DIGEST, false, 5), 0);
    ck_assert_int_eq(node("/d")->acl, 4);
    /* setACL to world:anyone READ shares the config node's entry */
    ck_assert_int_eq(tx_setacl(ZX(7), "/d", &READ, 1, 1), 0);
    ck_assert_int_eq(node("/d")->acl, 1);
    ck_assert_str_eq(acl_str(4), "(none)");
    /* ZooKeeper's setACL removes the old usage first: re-setting the list a
     * node is the only user of drops it and interns it under a new index */
    ck_assert_int_eq(tx_setacl(ZX(8), "/a", two, 2, 2), 0);
    ck_assert_int_eq(node("/a")->acl, 5);
    ck_assert_str_eq(acl_str(3), "(none)");
    ck_assert_str_eq(acl_str(5), "3:ip:10.0.0.1,1:world:anyone");
    ck_assert_int_eq(node("/a")->stat.aversion, 2);
    /* ...while a shared list keeps its index */
    ck_assert_int_eq(tx_setacl(ZX(9), "/d", &READ, 1, 2), 0);
    ck_assert_int_eq(node("/d")->acl, 1);
    ck_assert_uint_eq(zkd_dt_acl_count(DT), 2);
    ck_assert_int_eq(tx_setacl(ZX(10), "/zz", &READ, 1, 1), 0);
    ck_assert_int_eq(RES.r.err, ZKD_ERR_NONODE);
    ck_assert_str_eq(hooks_take(), "1:/a; 1:/b; 1:/c; 2:/b; 1:/d");
}
END_TEST

/* 8. Sessions and ephemerals; closeSession deletes the paths of its
 *    CloseSessionTxn in txn order, then any other ephemerals of the session. */
START_TEST(t08_sessions_ephemerals)
{
    ck_assert_int_eq(tx_session(S1, ZX(1), 30000), 0);
    ck_assert_int_eq(tx_session(S2, ZX(2), 4000), 0);
    int32_t to = 0;
    ck_assert(zkd_dt_session_get(DT, S1, &to));
    ck_assert_int_eq(to, 30000);
    ck_assert_uint_eq(zkd_dt_session_count(DT), 2);
    ck_assert_int_eq(tx_create(ZX(3), 1000, "/app", "", 1), 0);
    ck_assert_int_eq(tx_create_t(ZKD_OP_CREATE, S1, ZX(4), 1001, "/app/e1", "1", &OPEN, true, 1), 0);
    ck_assert_int_eq(tx_create_t(ZKD_OP_CREATE2, S1, ZX(5), 1002, "/app/e2", "22", &OPEN, true, 2), 0);
    ck_assert_int_eq(tx_create_t(ZKD_OP_CREATE, S1, ZX(6), 1003, "/e3", "", &OPEN, true, 2), 0);
    ck_assert_int_eq(tx_create_t(ZKD_OP_CREATE, S2, ZX(7), 1004, "/app/f1", "", &OPEN, true, 3), 0);
    ck_assert_str_eq(stat_of("/app/e2"), "cz=100000005 mz=100000005 ct=1002 mt=1002 v=0 cv=0 av=0 eo=1000001234560001 dl=2 nc=0 pz=100000005");
    ck_assert_str_eq(eph_str(S1), "/app/e1,/app/e2,/e3");
    ck_assert_str_eq(eph_str(S2), "/app/f1");
    ck_assert_uint_eq(zkd_dt_ephemeral_count(DT), 4);
    hooks_take();

    const char *const del[] = { "/e3", "/app/e2", "/app/e1", NULL };
    ck_assert_int_eq(tx_close(S1, ZX(8), del), 0);
    ck_assert_int_eq(RES.r.err, 0);
    ck_assert_int_eq(RES.r.type, ZKD_OP_CLOSE_SESSION);
    ck_assert_str_eq(hooks_take(), "2:/e3; 2:/app/e2; 2:/app/e1");
    ck_assert_str_eq(eph_str(S1), "");
    ck_assert_str_eq(eph_str(S2), "/app/f1");
    ck_assert_uint_eq(zkd_dt_ephemeral_count(DT), 1);
    ck_assert(!zkd_dt_session_get(DT, S1, NULL));
    ck_assert_uint_eq(zkd_dt_session_count(DT), 1);
    ck_assert_str_eq(stat_of("/app"), "cz=100000003 mz=100000003 ct=1000 mt=1000 v=0 cv=5 av=0 eo=0 dl=0 nc=1 pz=100000008");
    ck_assert_str_eq(stat_of("/"), "cz=0 mz=0 ct=0 mt=0 v=0 cv=2 av=0 eo=0 dl=0 nc=2 pz=100000008");

    /* no body (old logs): the session's own list */
    ck_assert_int_eq(tx_close(S2, ZX(9), NULL), 0);
    ck_assert_str_eq(hooks_take(), "2:/app/f1");
    ck_assert_uint_eq(zkd_dt_ephemeral_count(DT), 0);
    ck_assert_uint_eq(zkd_dt_session_count(DT), 0);
    ck_assert_int_eq(zkd_dt_last_zxid(DT), ZX(9));
}
END_TEST

/* 9. A CloseSessionTxn listing only some of the session's ephemerals: the
 *    listed ones go first (missing ones ignored), then the rest. */
START_TEST(t09_close_partial_list)
{
    ck_assert_int_eq(tx_create_t(ZKD_OP_CREATE, S1, ZX(1), 1001, "/e1", "", &OPEN, true, 1), 0);
    ck_assert_int_eq(tx_create_t(ZKD_OP_CREATE, S1, ZX(2), 1002, "/e2", "", &OPEN, true, 2), 0);
    hooks_take();
    const char *const del[] = { "/missing", "/e2", NULL };
    ck_assert_int_eq(tx_close(S1, ZX(3), del), 0);
    ck_assert_str_eq(hooks_take(), "2:/e2; 2:/e1");
    ck_assert_uint_eq(zkd_dt_ephemeral_count(DT), 0);
    ck_assert_str_eq(stat_of("/"), "cz=0 mz=0 ct=0 mt=0 v=0 cv=3 av=0 eo=0 dl=0 nc=1 pz=100000003");
}
END_TEST

/* Multi builder: appends sub-txn records. */
typedef struct multi_b {
    zkd_Txn txns[8];
    kz_wr bodies[8];
    int n;
} multi_b;

static kz_wr *multi_add(multi_b *m, int32_t type)
{
    m->txns[m->n].type = type;
    m->bodies[m->n] = KZ_WR_INIT;
    return &m->bodies[m->n++];
}

static int multi_apply(multi_b *m, int64_t zxid)
{
    for (int i = 0; i < m->n; i++)
        m->txns[i].data = (kz_str){ (const char *)m->bodies[i].base, (int32_t)m->bodies[i].len };
    kz_wr w = KZ_WR_INIT;
    put_hdr(&w, S1, zxid, 7000, ZKD_OP_MULTI);
    zkd_MultiTxn mt = { { m->n, m->txns } };
    zkd_encode(MultiTxn, &mt, &w);
    for (int i = 0; i < m->n; i++)
        kz_wr_free(&m->bodies[i]);
    return apply_wr(&w);
}

/* 10. multi: all sub-txns applied under the multi's zxid; with an ErrorTxn
 *     nothing is applied and the results are 0 / code / -2 (all type -1). */
START_TEST(t10_multi)
{
    multi_b m = { .n = 0 };
    body_create(multi_add(&m, ZKD_OP_CREATE), "/m", "d", &OPEN, false, 1);
    body_setdata(multi_add(&m, ZKD_OP_SET_DATA), "/m", "dd", 1);
    body_create(multi_add(&m, ZKD_OP_CREATE2), "/m/c", "", &OPEN, false, 1);
    zkd_CheckVersionTxn cv = { KZ_STR_LIT("/m"), 1 };
    zkd_encode(CheckVersionTxn, &cv, multi_add(&m, ZKD_OP_CHECK));
    ck_assert_int_eq(multi_apply(&m, ZX(1)), 0);
    ck_assert_int_eq(RES.r.type, ZKD_OP_MULTI);
    ck_assert_int_eq(RES.r.err, 0);
    ck_assert_int_eq(RES.nmulti, 4);
    int32_t types[] = { ZKD_OP_CREATE, ZKD_OP_SET_DATA, ZKD_OP_CREATE2, ZKD_OP_CHECK };
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(RES.multi[i].type, types[i]);
        ck_assert_int_eq(RES.multi[i].err, 0);
    }
    ck_assert_str_eq(stat_of("/m"), "cz=100000001 mz=100000001 ct=7000 mt=7000 v=1 cv=1 av=0 eo=0 dl=2 nc=1 pz=100000001");
    ck_assert_str_eq(hooks_take(), "1:/m; 3:/m; 1:/m/c");
    ck_assert_int_eq(zkd_dt_last_zxid(DT), ZX(1));

    /* failed multi as PrepRequestProcessor logs it: ops before the failure
     * keep their txn, the failed op is ErrorTxn(code), later ones ErrorTxn(-2) */
    multi_b f = { .n = 0 };
    body_create(multi_add(&f, ZKD_OP_CREATE), "/x", "", &OPEN, false, 2);
    body_setdata(multi_add(&f, ZKD_OP_SET_DATA), "/m", "zzz", 2);
    body_error(multi_add(&f, ZKD_OP_ERROR), ZKD_ERR_NODEEXISTS);
    body_error(multi_add(&f, ZKD_OP_ERROR), ZKD_ERR_RUNTIMEINCONSISTENCY);
    body_delete(multi_add(&f, ZKD_OP_DELETE), "/m/c");
    ck_assert_int_eq(multi_apply(&f, ZX(2)), 0);
    ck_assert_int_eq(RES.r.type, ZKD_OP_MULTI);
    ck_assert_int_eq(RES.r.err, ZKD_ERR_NODEEXISTS);
    ck_assert_int_eq(RES.nmulti, 5);
    int32_t errs[] = { 0, 0, ZKD_ERR_NODEEXISTS, ZKD_ERR_RUNTIMEINCONSISTENCY, ZKD_ERR_RUNTIMEINCONSISTENCY };
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(RES.multi[i].type, ZKD_OP_ERROR);
        ck_assert_int_eq(RES.multi[i].err, errs[i]);
    }
    ck_assert_str_eq(stat_of("/x"), "(none)");
    ck_assert_str_eq(stat_of("/m"), "cz=100000001 mz=100000001 ct=7000 mt=7000 v=1 cv=1 av=0 eo=0 dl=2 nc=1 pz=100000001");
    ck_assert_str_eq(stat_of("/m/c"), "cz=100000001 mz=100000001 ct=7000 mt=7000 v=0 cv=0 av=0 eo=0 dl=0 nc=0 pz=100000001");
    ck_assert_str_eq(hooks_take(), "");
    ck_assert_int_eq(zkd_dt_last_zxid(DT), ZX(2));

    /* empty multi */
    multi_b e = { .n = 0 };
    ck_assert_int_eq(multi_apply(&e, ZX(3)), 0);
    ck_assert_int_eq(RES.nmulti, 0);
    ck_assert_int_eq(RES.r.err, 0);
}
END_TEST

/* 11. container and TTL nodes: their own sets, ephemeralOwner 0 on the wire. */
START_TEST(t11_container_ttl)
{
    kz_wr w = KZ_WR_INIT;
    put_hdr(&w, S1, ZX(1), 1000, ZKD_OP_CREATE_CONTAINER);
    zkd_CreateContainerTxn ct = { KZ_STR_LIT("/c"), KZ_STR_LIT("x"), acl_of(&OPEN), 1 };
    zkd_encode(CreateContainerTxn, &ct, &w);
    ck_assert_int_eq(apply_wr(&w), 0);
    ck_assert_int_eq(RES.r.err, 0);
    ck_assert_int_eq(RES.r.type, ZKD_OP_CREATE_CONTAINER);

    w = KZ_WR_INIT;
    put_hdr(&w, S1, ZX(2), 1001, ZKD_OP_CREATE_TTL);
    zkd_CreateTTLTxn tt = { KZ_STR_LIT("/t"), KZ_STR_LIT(""), acl_of(&OPEN), 2, 5000 };
    zkd_encode(CreateTTLTxn, &tt, &w);
    ck_assert_int_eq(apply_wr(&w), 0);
    ck_assert_int_eq(RES.r.err, 0);

    ck_assert_str_eq(stat_of("/c"), "cz=100000001 mz=100000001 ct=1000 mt=1000 v=0 cv=0 av=0 eo=0 dl=1 nc=0 pz=100000001");
    ck_assert_str_eq(stat_of("/t"), "cz=100000002 mz=100000002 ct=1001 mt=1001 v=0 cv=0 av=0 eo=0 dl=0 nc=0 pz=100000002");
    ck_assert_int_eq(node("/c")->stat.ephemeralOwner, ZKD_OWNER_CONTAINER);
    ck_assert_int_eq(node("/t")->stat.ephemeralOwner, (int64_t)0xFF00000000001388LL);
    size_t n;
    zkd_node *const *v = zkd_dt_containers(DT, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_ptr_eq(v[0], node("/c"));
    v = zkd_dt_ttls(DT, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_ptr_eq(v[0], node("/t"));
    ck_assert_uint_eq(zkd_dt_ephemeral_count(DT), 0);

    /* children of a container are plain nodes; deleteContainer removes it */
    ck_assert_int_eq(tx_create(ZX(3), 1002, "/c/k", "", 1), 0);
    ck_assert_int_eq(tx_delete(ZX(4), "/c/k"), 0);
    w = KZ_WR_INIT;
    put_hdr(&w, 0, ZX(5), 1003, ZKD_OP_DELETE_CONTAINER);
    body_delete(&w, "/c");
    ck_assert_int_eq(apply_wr(&w), 0);
    ck_assert_int_eq(RES.r.err, 0);
    zkd_dt_containers(DT, &n);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(tx_delete(ZX(6), "/t"), 0);
    zkd_dt_ttls(DT, &n);
    ck_assert_uint_eq(n, 0);
    ck_assert_str_eq(hooks_take(), "1:/c; 1:/t; 1:/c/k; 2:/c/k; 2:/c; 2:/t");
}
END_TEST

typedef struct copy_ctx {
    zkd_datatree *to;
    int rc;
} copy_ctx;

static int copy_node(void *ctx, const zkd_node *n)
{
    copy_ctx *c = ctx;
    kz_str path = n == zkd_dt_get(DT, "/", 1) ? KZ_STR_LIT("") : (kz_str){ n->path, (int32_t)n->path_len };
    kz_str data = { (const char *)n->data, n->data_len };
    return c->rc = zkd_dt_restore_node(c->to, path, data, n->acl, &n->stat);
}

static int copy_acl(void *ctx, int64_t idx, const kz_jvec *acl)
{
    return zkd_dt_acl_restore(ctx, idx, acl);
}

/* 12. snapshot restore: ACL entries first, then nodes in pre-order with the
 *     root as ""; system nodes take the stored state; the restored tree walks
 *     and reports exactly like the original. */
START_TEST(t12_restore)
{
    ck_assert_int_eq(tx_session(S1, ZX(1), 30000), 0);
    ck_assert_int_eq(tx_create_t(ZKD_OP_CREATE, S1, ZX(2), 1000, "/a", "data-a", &DIGEST, false, 1), 0);
    ck_assert_int_eq(tx_create_t(ZKD_OP_CREATE, S1, ZX(3), 1001, "/a/b", "", &DIGEST, true, 1), 0);
    ck_assert_int_eq(tx_create(ZX(4), 1002, "/a/c", NULL, 2), 0);
    ck_assert_int_eq(tx_delete(ZX(5), "/a/c"), 0);
    ck_assert_int_eq(tx_setdata(ZX(6), 1003, "/zookeeper/config", "server.1=x", -1), 0);
    kz_wr w = KZ_WR_INIT;
    put_hdr(&w, S1, ZX(7), 1004, ZKD_OP_CREATE_CONTAINER);
    zkd_CreateContainerTxn ct = { KZ_STR_LIT("/ctr"), KZ_STR_NULL, acl_of(&IPACL), 2 };
    zkd_encode(CreateContainerTxn, &ct, &w);
    ck_assert_int_eq(apply_wr(&w), 0);
    ck_assert_int_eq(tx_setdata(ZX(8), 1005, "/", "r", 1), 0);

    zkd_datatree *orig = DT;
    char want[1024];
    snprintf(want, sizeof want, "%s", walk_str());

    zkd_datatree *copy = zkd_dt_new();
    ck_assert_ptr_nonnull(copy);
    ck_assert_int_eq(zkd_dt_acl_walk(orig, copy_acl, copy), 0);
    copy_ctx c = { copy, 0 };
    ck_assert_int_eq(zkd_dt_walk(orig, copy_node, &c), 0);
    ck_assert_int_eq(c.rc, 0);

    DT = copy;
    ck_assert_str_eq(walk_str(), want);
    ck_assert_str_eq(want, "/ /zookeeper /zookeeper/quota /zookeeper/config /a /a/b /ctr");
    const char *paths[] = { "/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config", "/a", "/a/b", "/ctr" };
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        char s_copy[512];
        snprintf(s_copy, sizeof s_copy, "%s", stat_of(paths[i]));
        DT = orig;
        ck_assert_str_eq(s_copy, stat_of(paths[i]));
        int64_t acl = node(paths[i])->acl;
        DT = copy;
        ck_assert_int_eq(node(paths[i])->acl, acl);
    }
    ck_assert_str_eq(stat_of("/a"), "cz=100000002 mz=100000002 ct=1000 mt=1000 v=0 cv=3 av=0 eo=0 dl=6 nc=1 pz=100000005");
    ck_assert_str_eq(stat_of("/"), "cz=0 mz=100000008 ct=0 mt=1005 v=1 cv=1 av=0 eo=0 dl=1 nc=3 pz=100000007");
    ck_assert_uint_eq(zkd_dt_node_count(copy), zkd_dt_node_count(orig));
    ck_assert_int_eq(zkd_dt_approx_size(copy), zkd_dt_approx_size(orig));
    ck_assert_str_eq(eph_str(S1), "/a/b");
    ck_assert_uint_eq(zkd_dt_ephemeral_count(copy), 1);
    size_t n;
    zkd_dt_containers(copy, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(zkd_dt_acl_count(copy), 3);
    ck_assert_str_eq(acl_str(1), "1:world:anyone");
    ck_assert_str_eq(acl_str(2), "31:digest:u:0BvWI2kVhVsS3Tpp2xtDx0nKnYQ=");
    ck_assert_str_eq(acl_str(3), "(none)"); /* /a/c's world:anyone ALL, gone with it */
    ck_assert_str_eq(acl_str(4), "3:ip:10.0.0.1");
    ck_assert_int_eq(node("/zookeeper/config")->data_len, 10);

    /* the restored reference counts are right: dropping the users of the
     * digest list drops it, and the config node's list survives */
    ck_assert_int_eq(tx_delete(ZX(9), "/a/b"), 0);
    ck_assert_str_eq(acl_str(2), "31:digest:u:0BvWI2kVhVsS3Tpp2xtDx0nKnYQ=");
    ck_assert_int_eq(tx_delete(ZX(10), "/a"), 0);
    ck_assert_str_eq(acl_str(2), "(none)");
    ck_assert_str_eq(acl_str(1), "1:world:anyone");
    ck_assert_uint_eq(zkd_dt_acl_count(copy), 2);
    /* a new list continues after the highest restored index */
    ck_assert_int_eq(tx_create_t(ZKD_OP_CREATE, S1, ZX(11), 1006, "/n", "", &READ, false, 5), 0);
    ck_assert_int_eq(node("/n")->acl, 1);
    zkd_ACL both[2] = { READ, IPACL };
    ck_assert_int_eq(tx_setacl(ZX(12), "/n", both, 2, 1), 0);
    ck_assert_int_eq(node("/n")->acl, 5);

    /* a restore that names a missing parent is refused */
    zkd_StatPersisted st = { 0 };
    ck_assert_int_ne(zkd_dt_restore_node(copy, KZ_STR_LIT("/no/parent"), KZ_STR_NULL, -1, &st), 0);
    DT = orig;
    zkd_dt_free(copy);
}
END_TEST

/* Deliveries of a real watch manager wired to the datatree hook. */
static char DLV[4096];
static size_t DLV_LEN;

static void dlv(void *ctx, void *watcher, int ev, const char *path, uint32_t len)
{
    (void)ctx;
    DLV_LEN += (size_t)snprintf(DLV + DLV_LEN, sizeof DLV - DLV_LEN, "%s%s %d %.*s", DLV_LEN ? "; " : "",
                                (const char *)watcher, ev, (int)len, path);
}

static void to_watch(void *ctx, int ev, const char *path, uint32_t len)
{
    zkd_watch_trigger(ctx, ev, path, len);
}

static const char *dlv_take(void)
{
    static char out[4096];
    memcpy(out, DLV, DLV_LEN + 1);
    DLV_LEN = 0;
    DLV[0] = '\0';
    return out;
}

/* 13. end to end: the hook drives zkd_watch_trigger; a persistent watcher on
 *     the parent hears exactly one NodeChildrenChanged per create/delete, and
 *     closeSession notifies like deletes do. */
START_TEST(t13_hooks_to_watches)
{
    static char wa[] = "A", wb[] = "B", wc[] = "C";
    zkd_watch_mgr *m = zkd_watch_new(dlv, NULL);
    ck_assert_ptr_nonnull(m);
    DLV_LEN = 0;
    DLV[0] = '\0';
    zkd_dt_hooks h = { to_watch, m };
    zkd_dt_set_hooks(DT, &h);
    ck_assert_int_eq(zkd_watch_add(m, wa, ZKD_WATCH_PERSISTENT, "/", 1), 0);
    ck_assert_int_eq(zkd_watch_add(m, wb, ZKD_WATCH_DATA, "/e", 2), 0);
    ck_assert_int_eq(zkd_watch_add(m, wc, ZKD_WATCH_PERSISTENT_RECURSIVE, "/", 1), 0);
    ck_assert_int_eq(tx_create_t(ZKD_OP_CREATE, S1, ZX(1), 1000, "/e", "", &OPEN, true, 1), 0);
    ck_assert_str_eq(dlv_take(), "B 1 /e; C 1 /e; A 4 /");
    ck_assert_int_eq(zkd_watch_add(m, wb, ZKD_WATCH_DATA, "/e", 2), 0);
    ck_assert_int_eq(tx_setdata(ZX(2), 1001, "/e", "v", 1), 0);
    ck_assert_str_eq(dlv_take(), "B 3 /e; C 3 /e");
    ck_assert_int_eq(zkd_watch_add(m, wb, ZKD_WATCH_DATA, "/e", 2), 0);
    ck_assert_int_eq(tx_close(S1, ZX(3), NULL), 0);
    ck_assert_str_eq(dlv_take(), "B 2 /e; C 2 /e; A 4 /");
    zkd_dt_set_hooks(DT, NULL);
    ck_assert_int_eq(tx_create(ZX(4), 1002, "/f", "", 2), 0);
    ck_assert_str_eq(dlv_take(), "");
    zkd_watch_free(m);
}
END_TEST

/* 14. undecodable bytes are KZ_ECORRUPT and change nothing. */
START_TEST(t14_corrupt)
{
    kz_wr w = KZ_WR_INIT;
    put_hdr(&w, S1, ZX(1), 1000, ZKD_OP_SET_DATA);
    ck_assert_int_eq(apply_wr(&w), KZ_ECORRUPT); /* header only */
    w = KZ_WR_INIT;
    put_hdr(&w, S1, ZX(2), 1000, 999);
    body_delete(&w, "/zookeeper");
    ck_assert_int_eq(apply_wr(&w), KZ_ECORRUPT); /* unknown type */
    uint8_t shortb[10] = { 0 };
    ck_assert_int_eq(zkd_dt_apply(DT, shortb, sizeof shortb, &RES, &A), KZ_ECORRUPT);
    ck_assert_int_eq(zkd_dt_last_zxid(DT), 0);
    ck_assert_uint_eq(zkd_dt_node_count(DT), 4);
    w = KZ_WR_INIT;
    put_hdr(&w, S2, ZX(3), 1234, ZKD_OP_CREATE);
    zkd_TxnHeader h;
    ck_assert_int_eq(zkd_txn_header(w.base, w.len, &h), 0);
    ck_assert_int_eq(h.clientId, S2);
    ck_assert_int_eq(h.cxid, 7);
    ck_assert_int_eq(h.zxid, ZX(3));
    ck_assert_int_eq(h.time, 1234);
    ck_assert_int_eq(h.type, ZKD_OP_CREATE);
    ck_assert_int_ne(zkd_txn_header(w.base, w.len - 1, &h), 0);
    kz_wr_free(&w);
    /* an old CreateTxn without parentCVersion (CreateTxnV0) */
    w = KZ_WR_INIT;
    put_hdr(&w, S1, ZX(4), 1000, ZKD_OP_CREATE);
    zkd_CreateTxnV0 v0 = { KZ_STR_LIT("/old"), KZ_STR_LIT("o"), acl_of(&OPEN), false };
    zkd_encode(CreateTxnV0, &v0, &w);
    ck_assert_int_eq(apply_wr(&w), 0);
    ck_assert_int_eq(RES.r.err, 0);
    ck_assert_str_eq(stat_of("/"), "cz=0 mz=0 ct=0 mt=0 v=0 cv=0 av=0 eo=0 dl=0 nc=2 pz=100000004");
}
END_TEST

static Suite *dt_suite(void)
{
    Suite *s = suite_create("datatree");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, t01_initial_tree);
    tcase_add_test(tc, t02_create);
    tcase_add_test(tc, t03_create_exists);
    tcase_add_test(tc, t04_delete);
    tcase_add_test(tc, t05_delete_missing_child_pzxid);
    tcase_add_test(tc, t06_set_data);
    tcase_add_test(tc, t07_acl_cache);
    tcase_add_test(tc, t08_sessions_ephemerals);
    tcase_add_test(tc, t09_close_partial_list);
    tcase_add_test(tc, t10_multi);
    tcase_add_test(tc, t11_container_ttl);
    tcase_add_test(tc, t12_restore);
    tcase_add_test(tc, t13_hooks_to_watches);
    tcase_add_test(tc, t14_corrupt);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ut_run(dt_suite());
}
