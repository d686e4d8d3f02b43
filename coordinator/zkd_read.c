/* coordinator/zkd_read.c -- requests answered from the tree without a txn
 * (FinalRequestProcessor, read half): exists, getData, getChildren(2),
 * getACL, getAllChildrenNumber, getEphemerals, sync, ping, the watch
 * requests (checkWatches, removeWatches, addWatch, setWatches(2)),
 * multiRead and whoAmI.
 *
 * A read runs when it reaches the head of its connection's queue, so it
 * sees every write its session made before it. One table maps opcodes to
 * handlers; a handler decodes its record, appends the response body to
 * @w and returns a ZooKeeper error code (0: success, body sent).
 * An undecodable body answers MARSHALLINGERROR and the connection stays;
 * an unknown opcode answers UNIMPLEMENTED with zxid -1 and the connection
 * closes (UnimplementedRequestProcessor). Reply zxid = last applied zxid.
 * Locality: zkd loop thread only. */
#include <stdlib.h>
#include <string.h>

#include "zkd_server.h"

typedef struct zkd_read_ctx {
    zkd_server *s;
    zkd_conn *c;
    zkd_req *req;
    kz_rd *r;
    kz_wr *w;
    kz_arena *a;
    bool body; /* the handler produced a response record */
} zkd_read_ctx;

typedef int zkd_read_fn(zkd_read_ctx *x);

/* Decodes a {path} record; a null path makes ZooKeeper throw while
 * handling, which it reports as MARSHALLINGERROR. "" names the root. */
static int zkd_read_path(zkd_read_ctx *x, kz_str *path)
{
    zkd_PathRequest q;
    if (zkd_decode(PathRequest, x->r, &q, x->a) || q.path.len < 0)
        return ZKD_ERR_MARSHALLINGERROR;
    *path = q.path;
    return 0;
}

static int zkd_read_path_watch(zkd_read_ctx *x, zkd_PathWatchRequest *q)
{
    return zkd_decode(PathWatchRequest, x->r, q, x->a) || q->path.len < 0 ? ZKD_ERR_MARSHALLINGERROR : 0;
}

/* The node at @path if it exists and the connection has @perm on it. */
static int zkd_read_node(zkd_read_ctx *x, kz_str path, int perm, zkd_node **out)
{
    zkd_node *n = zkd_dt_get(x->s->dt, path.s, (size_t)path.len);
    if (!n)
        return ZKD_ERR_NONODE;
    *out = n;
    return zkd_acl_check(x->s, x->c->auth, x->c->nauth, zkd_dt_acl_get(x->s->dt, n->acl), perm);
}

static int zkd_read_done(zkd_read_ctx *x)
{
    x->body = true;
    return 0;
}

static int zkd_rd_ping(zkd_read_ctx *x)
{
    (void)x;
    return 0;
}

static int zkd_rd_exists(zkd_read_ctx *x)
{
    zkd_PathWatchRequest q;
    int err = zkd_read_path_watch(x, &q);
    if (err)
        return err;
    if (memchr(q.path.s, '\0', (size_t)q.path.len))
        return ZKD_ERR_BADARGUMENTS;
    /* The watch is set whether or not the node exists (NodeCreated). */
    if (q.watch)
        zkd_watch_add(x->s->watches, x->c, ZKD_WATCH_DATA, q.path.s, (uint32_t)q.path.len);
    zkd_node *n = zkd_dt_get(x->s->dt, q.path.s, (size_t)q.path.len);
    if (!n)
        return ZKD_ERR_NONODE;
    zkd_StatResponse rs;
    zkd_node_stat(n, &rs.stat);
    zkd_encode(StatResponse, &rs, x->w);
    return zkd_read_done(x);
}

static void zkd_children_vec(const zkd_node *n, kz_jvec *out, kz_arena *a)
{
    kz_str *v = n->nkids ? kz_arena_alloc(a, n->nkids * sizeof *v) : NULL;
    for (uint32_t i = 0; v && i < n->nkids; i++)
        v[i] = kz_str_c(zkd_node_name(n->kids[i]));
    *out = (kz_jvec){ v ? (int32_t)n->nkids : 0, v };
}

/* getData / getChildren / getChildren2, also the sub-ops of multiRead. */
static int zkd_do_get(zkd_read_ctx *x, int32_t op, const zkd_PathWatchRequest *q, kz_wr *w)
{
    zkd_node *n;
    int err = zkd_read_node(x, q->path, ZKD_PERM_READ, &n);
    if (err)
        return err;
    if (q->watch)
        zkd_watch_add(x->s->watches, x->c, op == ZKD_OP_GET_DATA ? ZKD_WATCH_DATA : ZKD_WATCH_CHILD, n->path,
                      n->path_len);
    zkd_Stat st;
    zkd_node_stat(n, &st);
    if (op == ZKD_OP_GET_DATA) {
        zkd_GetDataResponse rs = { { (const char *)n->data, n->data_len }, st };
        zkd_encode(GetDataResponse, &rs, w);
    } else if (op == ZKD_OP_GET_CHILDREN) {
        zkd_StringsResponse rs;
        zkd_children_vec(n, &rs.strings, x->a);
        zkd_encode(StringsResponse, &rs, w);
    } else {
        zkd_GetChildren2Response rs;
        zkd_children_vec(n, &rs.children, x->a);
        rs.stat = st;
        zkd_encode(GetChildren2Response, &rs, w);
    }
    return 0;
}

static int zkd_rd_get(zkd_read_ctx *x)
{
    zkd_PathWatchRequest q;
    int err = zkd_read_path_watch(x, &q);
    if (!err)
        err = zkd_do_get(x, x->req->type, &q, x->w);
    return err ? err : zkd_read_done(x);
}

/* getACL needs READ or ADMIN; without ADMIN digest ids show as user:x. */
static int zkd_rd_get_acl(zkd_read_ctx *x)
{
    kz_str path;
    zkd_node *n;
    int err = zkd_read_path(x, &path);
    if (err || (err = zkd_read_node(x, path, ZKD_PERM_READ | ZKD_PERM_ADMIN, &n)) != 0)
        return err;
    zkd_GetACLResponse rs;
    const kz_jvec *acl = zkd_dt_acl_get(x->s->dt, n->acl);
    if (!acl) /* restore rejects snapshots naming unknown ACLs */
        return ZKD_ERR_SYSTEMERROR;
    rs.acl = *acl;
    zkd_node_stat(n, &rs.stat);
    zkd_node *same;
    if (rs.acl.n > 0 && zkd_read_node(x, path, ZKD_PERM_ADMIN, &same) != 0) {
        zkd_ACL *red = kz_arena_alloc(x->a, sizeof *red * (size_t)rs.acl.n);
        const zkd_ACL *src = rs.acl.v;
        for (int32_t i = 0; red && i < rs.acl.n; i++) {
            red[i] = src[i];
            if (!kz_str_eq(src[i].id.scheme, KZ_STR_LIT("digest")) || src[i].id.id.len < 0)
                continue;
            const char *colon = memchr(src[i].id.id.s, ':', (size_t)src[i].id.id.len);
            int32_t ul = colon ? (int32_t)(colon - src[i].id.id.s) : src[i].id.id.len;
            char *id = kz_arena_alloc(x->a, (size_t)ul + 3);
            if (id) {
                memcpy(id, src[i].id.id.s, (size_t)ul);
                memcpy(id + ul, ":x", 3);
                red[i].id.id = (kz_str){ id, ul + 2 };
            }
        }
        if (red)
            rs.acl.v = red;
    }
    zkd_encode(GetACLResponse, &rs, x->w);
    return zkd_read_done(x);
}

static int32_t zkd_count_descendants(const zkd_node *n)
{
    int32_t total = 0;
    for (uint32_t i = 0; i < n->nkids; i++)
        total += 1 + zkd_count_descendants(n->kids[i]);
    return total;
}

static int zkd_rd_all_children_number(zkd_read_ctx *x)
{
    kz_str path;
    zkd_node *n;
    int err = zkd_read_path(x, &path);
    if (err || (err = zkd_read_node(x, path, ZKD_PERM_READ, &n)) != 0)
        return err;
    /* ZooKeeper counts map keys with the path prefix; for "/" that includes "/". */
    zkd_IntResponse rs = { zkd_count_descendants(n) + (n->path_len == 1 ? 1 : 0) };
    zkd_encode(IntResponse, &rs, x->w);
    return zkd_read_done(x);
}

static int zkd_rd_ephemerals(zkd_read_ctx *x)
{
    kz_str prefix;
    int err = zkd_read_path(x, &prefix);
    if (err)
        return err;
    size_t ne;
    zkd_node *const *eph = zkd_dt_ephemerals(x->s->dt, x->req->session_id, &ne);
    kz_str *v = ne ? kz_arena_alloc(x->a, ne * sizeof *v) : NULL;
    int32_t k = 0;
    bool all = prefix.len == 0 || (prefix.len == 1 && prefix.s[0] == '/');
    for (size_t i = 0; v && i < ne; i++)
        if (all || (eph[i]->path_len >= (uint32_t)prefix.len &&
                    memcmp(eph[i]->path, prefix.s, (size_t)prefix.len) == 0))
            v[k++] = (kz_str){ eph[i]->path, (int32_t)eph[i]->path_len };
    zkd_StringsResponse rs = { { k, v } };
    zkd_encode(StringsResponse, &rs, x->w);
    return zkd_read_done(x);
}

/* Standalone: every committed write is applied, so sync just answers. */
static int zkd_rd_sync(zkd_read_ctx *x)
{
    zkd_PathResponse rs;
    int err = zkd_read_path(x, &rs.path);
    if (err)
        return err;
    zkd_encode(PathResponse, &rs, x->w);
    return zkd_read_done(x);
}

static int zkd_rd_watches(zkd_read_ctx *x)
{
    zkd_PathTypeRequest q;
    if (zkd_decode(PathTypeRequest, x->r, &q, x->a) || q.path.len < 0)
        return ZKD_ERR_MARSHALLINGERROR;
    zkd_watch_mgr *m = x->s->watches;
    bool ok = x->req->type == ZKD_OP_CHECK_WATCHES
                  ? zkd_watch_contains(m, x->c, q.path.s, (uint32_t)q.path.len, q.type)
                  : zkd_watch_remove(m, x->c, q.path.s, (uint32_t)q.path.len, q.type);
    return ok ? 0 : ZKD_ERR_NOWATCHER;
}

static int zkd_rd_add_watch(zkd_read_ctx *x)
{
    zkd_PathTypeRequest q;
    if (zkd_decode(PathTypeRequest, x->r, &q, x->a) || q.path.len < 0)
        return ZKD_ERR_MARSHALLINGERROR;
    if (q.type != 0 && q.type != 1)
        return ZKD_ERR_BADARGUMENTS;
    zkd_watch_add(x->s->watches, x->c, q.type ? ZKD_WATCH_PERSISTENT_RECURSIVE : ZKD_WATCH_PERSISTENT, q.path.s,
                  (uint32_t)q.path.len);
    zkd_ErrorResponse rs = { 0 };
    zkd_encode(ErrorResponse, &rs, x->w);
    return zkd_read_done(x);
}

/* SetWatches(2) after a reconnect: fire what changed since relativeZxid
 * (before the reply, in the order data, exist, child), re-arm the rest. */
static int zkd_rd_set_watches(zkd_read_ctx *x)
{
    zkd_SetWatches2 sw = { 0 };
    if (x->req->type == ZKD_OP_SET_WATCHES) {
        zkd_SetWatches o;
        if (zkd_decode(SetWatches, x->r, &o, x->a))
            return ZKD_ERR_MARSHALLINGERROR;
        sw = (zkd_SetWatches2){ o.relativeZxid, o.dataWatches, o.existWatches, o.childWatches, { 0, NULL },
                                { 0, NULL } };
    } else if (zkd_decode(SetWatches2, x->r, &sw, x->a)) {
        return ZKD_ERR_MARSHALLINGERROR;
    }
    const kz_jvec *lists[5] = { &sw.dataWatches, &sw.existWatches, &sw.childWatches, &sw.persistentWatches,
                                &sw.persistentRecursiveWatches };
    zkd_server *s = x->s;
    zkd_conn *c = x->c;
    for (int k = 0; k < 5; k++) {
        const kz_str *p = lists[k]->v;
        for (int32_t i = 0; i < lists[k]->n; i++) {
            if (p[i].len <= 0)
                continue;
            const char *path = p[i].s;
            uint32_t len = (uint32_t)p[i].len;
            zkd_node *n = zkd_dt_get(s->dt, path, len);
            int fire = ZKD_EV_NONE;
            zkd_watch_kind kind = ZKD_WATCH_DATA;
            switch (k) {
            case 0:
                fire = !n ? ZKD_EV_DELETED : n->stat.mzxid > sw.relativeZxid ? ZKD_EV_DATA_CHANGED : ZKD_EV_NONE;
                break;
            case 1:
                fire = n ? ZKD_EV_CREATED : ZKD_EV_NONE;
                break;
            case 2:
                fire = !n ? ZKD_EV_DELETED : n->stat.pzxid > sw.relativeZxid ? ZKD_EV_CHILDREN_CHANGED : ZKD_EV_NONE;
                kind = ZKD_WATCH_CHILD;
                break;
            case 3:
                kind = ZKD_WATCH_PERSISTENT;
                break;
            default:
                kind = ZKD_WATCH_PERSISTENT_RECURSIVE;
                break;
            }
            if (fire != ZKD_EV_NONE)
                zkd_cnxn_send_event(c, fire, path, len);
            else
                zkd_watch_add(s->watches, c, kind, path, len);
        }
    }
    return 0;
}

static int zkd_rd_multi_read(zkd_read_ctx *x)
{
    for (;;) {
        zkd_MultiHeader mh;
        if (zkd_decode(MultiHeader, x->r, &mh, x->a))
            return ZKD_ERR_MARSHALLINGERROR;
        if (mh.done)
            break;
        zkd_PathWatchRequest q;
        if ((mh.type != ZKD_OP_GET_CHILDREN && mh.type != ZKD_OP_GET_DATA) || zkd_read_path_watch(x, &q))
            return ZKD_ERR_MARSHALLINGERROR;
        kz_wr one = KZ_WR_INIT;
        int err = zkd_do_get(x, mh.type, &q, &one);
        zkd_MultiHeader rh = { err ? ZKD_OP_ERROR : mh.type, false, err };
        zkd_encode(MultiHeader, &rh, x->w);
        if (err) {
            zkd_ErrorResponse er = { err };
            zkd_encode(ErrorResponse, &er, x->w);
        } else {
            kz_wr_bytes(x->w, one.base, one.len);
        }
        kz_wr_free(&one);
    }
    zkd_MultiHeader end = { -1, true, -1 };
    zkd_encode(MultiHeader, &end, x->w);
    return zkd_read_done(x);
}

/* Digest ids are reported by user name only, in ZooKeeper's order. */
static int zkd_rd_who_am_i(zkd_read_ctx *x)
{
    zkd_conn *c = x->c;
    uint32_t n = c->nauth;
    zkd_ClientInfo *ci = n ? kz_arena_alloc(x->a, n * sizeof *ci) : NULL;
    uint32_t *order = n ? kz_arena_alloc(x->a, n * sizeof *order) : NULL;
    if (n && (!ci || !order))
        return ZKD_ERR_SYSTEMERROR;
    if (n)
        zkd_acl_ids_order(c->auth, n, order);
    for (uint32_t k = 0; k < n; k++) {
        const zkd_auth_id *id = &c->auth[order[k]];
        const char *colon = strcmp(id->scheme, "digest") == 0 ? strchr(id->id, ':') : NULL;
        size_t ulen = colon ? (size_t)(colon - id->id) : strlen(id->id);
        ci[k] = (zkd_ClientInfo){ kz_str_c(id->scheme), { id->id, (int32_t)ulen } };
    }
    zkd_WhoAmIResponse rs = { { (int32_t)n, ci } };
    zkd_encode(WhoAmIResponse, &rs, x->w);
    return zkd_read_done(x);
}

typedef struct zkd_read_ent {
    int32_t op;
    const char name[8]; /* cons "lop" */
    zkd_read_fn *fn;
} zkd_read_ent;

static const zkd_read_ent zkd_reads[] = {
    { ZKD_OP_PING, "PING", zkd_rd_ping },
    { ZKD_OP_EXISTS, "EXIS", zkd_rd_exists },
    { ZKD_OP_GET_DATA, "GETD", zkd_rd_get },
    { ZKD_OP_GET_CHILDREN, "GETC", zkd_rd_get },
    { ZKD_OP_GET_CHILDREN2, "GETC", zkd_rd_get },
    { ZKD_OP_GET_ACL, "GETA", zkd_rd_get_acl },
    { ZKD_OP_GET_ALL_CHILDREN_NUMBER, "GETACN", zkd_rd_all_children_number },
    { ZKD_OP_GET_EPHEMERALS, "GETE", zkd_rd_ephemerals },
    { ZKD_OP_SYNC, "SYNC", zkd_rd_sync },
    { ZKD_OP_CHECK_WATCHES, "CHKW", zkd_rd_watches },
    { ZKD_OP_REMOVE_WATCHES, "REMW", zkd_rd_watches },
    { ZKD_OP_ADD_WATCH, "ADDW", zkd_rd_add_watch },
    { ZKD_OP_SET_WATCHES, "SETW", zkd_rd_set_watches },
    { ZKD_OP_SET_WATCHES2, "STW2", zkd_rd_set_watches },
    { ZKD_OP_MULTI_READ, "MLTR", zkd_rd_multi_read },
    { ZKD_OP_WHO_AM_I, "HOMI", zkd_rd_who_am_i },
};

void zkd_final_read(zkd_server *s, zkd_req *req)
{
    zkd_conn *c = req->conn;
    const zkd_read_ent *ent = NULL;
    for (size_t i = 0; i < sizeof zkd_reads / sizeof *zkd_reads && !ent; i++)
        if (zkd_reads[i].op == req->type)
            ent = &zkd_reads[i];
    if (!ent) {
        snprintf(c->last_op, sizeof c->last_op, "NA");
        zkd_cnxn_reply_raw(c, req->xid, -1, ZKD_ERR_UNIMPLEMENTED, NULL, 0);
        zkd_cnxn_close(c, "unknown request type");
        return;
    }
    snprintf(c->last_op, sizeof c->last_op, "%s", ent->name);
    kz_rd r = kz_rd_init(req->payload, req->payload_len);
    kz_wr w = KZ_WR_INIT;
    zkd_read_ctx x = { s, c, req, &r, &w, &s->scratch, false };
    int err = ent->fn(&x);
    int64_t zxid = zkd_dt_last_zxid(s->dt);
    c->last_cxid = req->xid;
    if (!err && x.body && w.err)
        err = ZKD_ERR_SYSTEMERROR;
    zkd_cnxn_reply_raw(c, req->xid, zxid, err, !err && x.body ? w.base : NULL, !err && x.body ? w.len : 0);
    kz_wr_free(&w);
    kz_arena_rewind(&s->scratch);
}
