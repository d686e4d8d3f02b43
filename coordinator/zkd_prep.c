/* coordinator/zkd_prep.c -- write requests become txns (PrepRequestProcessor).
 *
 * Every write gets the next zxid, valid or not: a request that fails
 * validation becomes an error txn (type -1, ErrorTxn{err}) that is logged
 * like any other, exactly as ZooKeeper does, so zxids and replies match.
 *
 * Validation must see the effect of txns that are prepared but not yet
 * applied (they wait for fsync). Those effects are "outstanding changes":
 * per path, the latest view {exists, stat, child count, ACL}. A lookup takes
 * the outstanding view if there is one, else the tree. Views are dropped when
 * their txn is applied (zkd_prep_applied). A multi that fails rolls back the
 * views it added, restoring the ones they superseded.
 * Locality: zkd loop thread only. */
#include <stdlib.h>
#include <string.h>

#include "kz_log.h"
#include "kz_time.h"
#include "zkd_server.h"

#define ZKD_COMP "PrepRequestProcessor"

typedef struct zkd_change zkd_change;
struct zkd_change {
    zkd_change *fnext;   /* FIFO, zxid order */
    zkd_change *hnext;   /* chain of current views with the same hash */
    zkd_change *prev;    /* view this one superseded (rollback only) */
    bool current;
    int64_t zxid;
    uint64_t hash;
    char *path;
    uint32_t len;
    bool exists;
    zkd_StatPersisted stat;
    int32_t nkids;
    kz_jvec acl;
    /* path, ACL entries and their strings follow the struct (one malloc) */
};

struct zkd_changes {
    kz_map byhash;       /* hash -> zkd_change* (current views) */
    zkd_change *head, *tail;
};

/* A lookup result: from the tree or from an outstanding change. */
typedef struct zkd_view {
    bool exists;
    zkd_StatPersisted stat;
    int32_t nkids;
    const kz_jvec *acl;
} zkd_view;

typedef struct zkd_prep_ctx {
    zkd_server *s;
    const zkd_auth_id *ids;
    uint32_t nids;
    int64_t session_id;
    int64_t zxid;
    int64_t time;
    kz_arena *a;
} zkd_prep_ctx;

static uint64_t zkd_hash64(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 1099511628211ULL;
    return h;
}

int zkd_prep_init(zkd_server *s)
{
    s->changes = calloc(1, sizeof *s->changes);
    return s->changes ? 0 : KZ_ENOMEM;
}

static void zkd_change_free(zkd_change *c) { free(c); }

static void zkd_change_unhash(struct zkd_changes *ch, zkd_change *c)
{
    uint64_t v;
    if (!c->current || !kz_map_get(&ch->byhash, (int64_t)c->hash, &v))
        return;
    zkd_change *head = (zkd_change *)(uintptr_t)v;
    if (head == c) {
        if (c->hnext)
            kz_map_put(&ch->byhash, (int64_t)c->hash, (uint64_t)(uintptr_t)c->hnext);
        else
            kz_map_del(&ch->byhash, (int64_t)c->hash, NULL);
    } else {
        zkd_change *p = head;
        while (p->hnext && p->hnext != c)
            p = p->hnext;
        if (p->hnext == c)
            p->hnext = c->hnext;
    }
    c->hnext = NULL;
    c->current = false;
}

static void zkd_change_hash(struct zkd_changes *ch, zkd_change *c)
{
    uint64_t v;
    zkd_change *head = kz_map_get(&ch->byhash, (int64_t)c->hash, &v) ? (zkd_change *)(uintptr_t)v : NULL;
    c->hnext = head;
    c->current = true;
    if (kz_map_put(&ch->byhash, (int64_t)c->hash, (uint64_t)(uintptr_t)c)) {
        c->current = false; /* out of memory: validation falls back to the tree */
        c->hnext = NULL;
    }
}

static zkd_change *zkd_change_find(const struct zkd_changes *ch, const char *path, size_t len, uint64_t h)
{
    uint64_t v;
    if (!kz_map_get(&ch->byhash, (int64_t)h, &v))
        return NULL;
    for (zkd_change *c = (zkd_change *)(uintptr_t)v; c; c = c->hnext)
        if (c->len == len && memcmp(c->path, path, len) == 0)
            return c;
    return NULL;
}

void zkd_prep_applied(zkd_server *s, int64_t zxid)
{
    struct zkd_changes *ch = s->changes;
    while (ch->head && ch->head->zxid <= zxid) {
        zkd_change *c = ch->head;
        ch->head = c->fnext;
        if (!ch->head)
            ch->tail = NULL;
        zkd_change_unhash(ch, c);
        zkd_change_free(c);
    }
}

void zkd_prep_fini(zkd_server *s)
{
    if (!s->changes)
        return;
    zkd_prep_applied(s, INT64_MAX);
    kz_map_free(&s->changes->byhash);
    free(s->changes);
    s->changes = NULL;
}

/* The current view of @path (outstanding change first, then the tree). */
static zkd_view zkd_lookup(zkd_prep_ctx *p, const char *path, size_t len)
{
    zkd_view v = { 0 };
    zkd_change *c = zkd_change_find(p->s->changes, path, len, zkd_hash64(path, len));
    if (c) {
        v.exists = c->exists;
        v.stat = c->stat;
        v.nkids = c->nkids;
        v.acl = &c->acl;
        return v;
    }
    zkd_node *n = zkd_dt_get(p->s->dt, path, len);
    if (n) {
        v.exists = true;
        v.stat = n->stat;
        v.nkids = (int32_t)n->nkids;
        v.acl = zkd_dt_acl_get(p->s->dt, n->acl);
    }
    return v;
}

/* Records @v as the outstanding view of @path for the current txn. */
static int zkd_record(zkd_prep_ctx *p, const char *path, size_t len, const zkd_view *v)
{
    struct zkd_changes *ch = p->s->changes;
    int32_t nacl = v->acl && v->acl->n > 0 ? v->acl->n : 0;
    const zkd_ACL *src = nacl ? v->acl->v : NULL;
    size_t strs = 0;
    for (int32_t i = 0; i < nacl; i++)
        strs += (size_t)(src[i].id.scheme.len > 0 ? src[i].id.scheme.len : 0) +
                (size_t)(src[i].id.id.len > 0 ? src[i].id.id.len : 0);
    size_t aclsz = sizeof(zkd_ACL) * (size_t)nacl;
    zkd_change *c = malloc(sizeof *c + aclsz + len + 1 + strs);
    if (!c)
        return ZKD_ERR_SYSTEMERROR;
    memset(c, 0, sizeof *c);
    zkd_ACL *dst = (zkd_ACL *)(c + 1); /* zkd_ACL needs no more alignment than the struct */
    char *cur = (char *)(c + 1) + aclsz;
    c->path = cur;
    memcpy(cur, path, len);
    cur[len] = '\0';
    cur += len + 1;
    for (int32_t i = 0; i < nacl; i++) {
        kz_str parts[2] = { src[i].id.scheme, src[i].id.id };
        kz_str *out[2] = { &dst[i].id.scheme, &dst[i].id.id };
        dst[i].perms = src[i].perms;
        for (int k = 0; k < 2; k++) {
            if (parts[k].len < 0) {
                *out[k] = KZ_STR_NULL;
                continue;
            }
            memcpy(cur, parts[k].s, (size_t)parts[k].len);
            *out[k] = (kz_str){ cur, parts[k].len };
            cur += parts[k].len;
        }
    }
    c->acl = (kz_jvec){ nacl, nacl ? dst : NULL };
    c->len = (uint32_t)len;
    c->hash = zkd_hash64(path, len);
    c->zxid = p->zxid;
    c->exists = v->exists;
    c->stat = v->stat;
    c->nkids = v->nkids;
    zkd_change *old = zkd_change_find(ch, path, len, c->hash);
    if (old)
        zkd_change_unhash(ch, old);
    c->prev = old;
    zkd_change_hash(ch, c);
    if (ch->tail)
        ch->tail->fnext = c;
    else
        ch->head = c;
    ch->tail = c;
    return 0;
}

/* Undoes the views added for @zxid since @mark (the FIFO tail before them). */
static void zkd_rollback(zkd_server *s, zkd_change *mark)
{
    struct zkd_changes *ch = s->changes;
    zkd_change *c = mark ? mark->fnext : ch->head;
    if (mark) {
        mark->fnext = NULL;
        ch->tail = mark;
    } else {
        ch->head = ch->tail = NULL;
    }
    /* Collect then undo newest first so each prev is restored in order. */
    zkd_change *stack = NULL;
    while (c) {
        zkd_change *next = c->fnext;
        c->fnext = stack;
        stack = c;
        c = next;
    }
    while (stack) {
        zkd_change *next = stack->fnext;
        zkd_change_unhash(ch, stack);
        if (stack->prev && !stack->prev->current)
            zkd_change_hash(ch, stack->prev);
        zkd_change_free(stack);
        stack = next;
    }
}

static size_t zkd_parent_of(const char *p, size_t len)
{
    while (len > 0 && p[len - 1] != '/')
        len--;
    return len > 1 ? len - 1 : 1;
}

static bool zkd_is_special(kz_str p)
{
    static const char *const special[] = { "/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config" };
    for (size_t i = 0; i < sizeof special / sizeof *special; i++)
        if (kz_str_eq(p, kz_str_c(special[i])))
            return true;
    return false;
}

/* checkAndIncVersion */
static int zkd_check_version(int32_t current, int32_t expected, int32_t *next)
{
    if (expected != -1 && expected != current)
        return ZKD_ERR_BADVERSION;
    *next = (int32_t)((uint32_t)current + 1u); /* Java int: wraps */
    return 0;
}

static bool zkd_mode_valid(int32_t m) { return m >= ZKD_MODE_PERSISTENT && m <= ZKD_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL; }
static bool zkd_mode_seq(int32_t m)
{
    return m == ZKD_MODE_PERSISTENT_SEQUENTIAL || m == ZKD_MODE_EPHEMERAL_SEQUENTIAL ||
           m == ZKD_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL;
}
static bool zkd_mode_ttl(int32_t m)
{
    return m == ZKD_MODE_PERSISTENT_WITH_TTL || m == ZKD_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL;
}
static bool zkd_mode_eph(int32_t m) { return m == ZKD_MODE_EPHEMERAL || m == ZKD_MODE_EPHEMERAL_SEQUENTIAL; }

#define ZKD_MAX_TTL ((int64_t)0xFFFFFFFFFFLL) /* 40 bits (EphemeralType.TTL) */

/* create, create2, createContainer, createTTL (pRequest2TxnCreate).
 * Appends the txn body to @w and sets *txn_type. */
static int zkd_prep_create(zkd_prep_ctx *p, int32_t op, kz_rd *r, kz_wr *w, int32_t *txn_type)
{
    zkd_CreateTTLRequest cr = { 0 };
    int rc;
    if (op == ZKD_OP_CREATE_TTL) {
        rc = zkd_decode(CreateTTLRequest, r, &cr, p->a);
    } else {
        zkd_CreateRequest c0;
        rc = zkd_decode(CreateRequest, r, &c0, p->a);
        cr = (zkd_CreateTTLRequest){ c0.path, c0.data, c0.acl, c0.flags, -1 };
    }
    if (rc)
        return ZKD_ERR_MARSHALLINGERROR;
    /* The flags choose sequential/ephemeral/TTL; the opcode alone decides
     * container or TTL txns (create with the CONTAINER flag is persistent). */
    int32_t mode = cr.flags;
    if (!zkd_mode_valid(mode))
        return ZKD_ERR_BADARGUMENTS;
    if (zkd_mode_ttl(mode) && !p->s->cfg->extended_types_enabled)
        return ZKD_ERR_UNIMPLEMENTED;
    if (zkd_mode_ttl(mode) ? (cr.ttl <= 0 || cr.ttl > ZKD_MAX_TTL) : cr.ttl >= 0)
        return ZKD_ERR_BADARGUMENTS;
    kz_str path = cr.path;
    if (path.len <= 0)
        return ZKD_ERR_BADARGUMENTS;
    const char *slash = NULL;
    for (int32_t i = path.len; i-- > 0;)
        if (path.s[i] == '/') {
            slash = path.s + i;
            break;
        }
    if (!slash || memchr(path.s, '\0', (size_t)path.len))
        return ZKD_ERR_BADARGUMENTS;
    kz_jvec acl;
    if ((rc = zkd_acl_fixup(p->ids, p->nids, &cr.acl, &acl, p->a)) != 0)
        return rc;
    size_t plen = (size_t)(slash - path.s);
    const char *ppath = plen ? path.s : "/";
    plen = plen ? plen : 1;
    zkd_view parent = zkd_lookup(p, ppath, plen);
    if (!parent.exists)
        return ZKD_ERR_NONODE;
    if ((rc = zkd_acl_check(p->s, p->ids, p->nids, parent.acl, ZKD_PERM_CREATE)) != 0)
        return rc;
    int32_t cv = parent.stat.cversion;
    if (zkd_mode_seq(mode)) {
        char *np = kz_arena_alloc(p->a, (size_t)path.len + 12);
        if (!np)
            return ZKD_ERR_SYSTEMERROR;
        memcpy(np, path.s, (size_t)path.len);
        int k = snprintf(np + path.len, 12, "%010d", cv);
        path = (kz_str){ np, path.len + k };
    }
    if ((rc = zkd_path_validate(path.s, path.len)) != 0)
        return rc;
    if (zkd_lookup(p, path.s, (size_t)path.len).exists)
        return ZKD_ERR_NODEEXISTS;
    if (zkd_owner_is_session(parent.stat.ephemeralOwner))
        return ZKD_ERR_NOCHILDRENFOREPHEMERALS;
    int32_t newcv = (int32_t)((uint32_t)cv + 1u); /* Java int: wraps */
    int64_t owner = 0;
    if (op == ZKD_OP_CREATE_CONTAINER) {
        zkd_CreateContainerTxn t = { path, cr.data, acl, newcv };
        zkd_encode(CreateContainerTxn, &t, w);
        owner = ZKD_OWNER_CONTAINER;
    } else if (op == ZKD_OP_CREATE_TTL) {
        zkd_CreateTTLTxn t = { path, cr.data, acl, newcv, cr.ttl };
        zkd_encode(CreateTTLTxn, &t, w);
        owner = zkd_owner_ttl(cr.ttl);
    } else {
        zkd_CreateTxn t = { path, cr.data, acl, zkd_mode_eph(mode), newcv };
        zkd_encode(CreateTxn, &t, w);
        owner = zkd_mode_eph(mode) ? p->session_id : 0;
    }
    *txn_type = op;
    parent.nkids++;
    parent.stat.cversion = newcv;
    parent.stat.pzxid = p->zxid;
    if ((rc = zkd_record(p, ppath, plen, &parent)) != 0)
        return rc;
    zkd_view nv = { true, { 0 }, 0, &acl };
    nv.stat.czxid = nv.stat.mzxid = nv.stat.pzxid = p->zxid;
    nv.stat.ctime = nv.stat.mtime = p->time;
    nv.stat.ephemeralOwner = owner;
    return zkd_record(p, path.s, (size_t)path.len, &nv);
}

static int zkd_prep_delete(zkd_prep_ctx *p, kz_str path, int32_t version, kz_wr *w)
{
    if (path.len <= 0 || memchr(path.s, '\0', (size_t)path.len) || zkd_is_special(path))
        return ZKD_ERR_BADARGUMENTS;
    const char *slash = NULL;
    for (int32_t i = path.len; i-- > 0;)
        if (path.s[i] == '/') {
            slash = path.s + i;
            break;
        }
    if (!slash)
        return ZKD_ERR_BADARGUMENTS;
    size_t plen = zkd_parent_of(path.s, (size_t)path.len);
    const char *ppath = slash == path.s ? "/" : path.s;
    zkd_view parent = zkd_lookup(p, ppath, plen);
    if (!parent.exists)
        return ZKD_ERR_NONODE;
    int rc = zkd_acl_check(p->s, p->ids, p->nids, parent.acl, ZKD_PERM_DELETE);
    if (rc)
        return rc;
    zkd_view node = zkd_lookup(p, path.s, (size_t)path.len);
    if (!node.exists)
        return ZKD_ERR_NONODE;
    int32_t next;
    if ((rc = zkd_check_version(node.stat.version, version, &next)) != 0)
        return rc;
    if (node.nkids > 0)
        return ZKD_ERR_NOTEMPTY;
    zkd_DeleteTxn t = { path };
    zkd_encode(DeleteTxn, &t, w);
    parent.nkids--;
    parent.stat.pzxid = p->zxid;
    if ((rc = zkd_record(p, ppath, plen, &parent)) != 0)
        return rc;
    zkd_view gone = { 0 };
    return zkd_record(p, path.s, (size_t)path.len, &gone);
}

/* The common checks of setData, setACL and check, in ZooKeeper's order:
 * path, existence, permission @perm, then @expected against the node's
 * data version (or ACL version with @aversion). Fills *node and *next. */
static int zkd_prep_existing(zkd_prep_ctx *p, kz_str path, int perm, int32_t expected, bool aversion,
                             zkd_view *node, int32_t *next)
{
    int rc = zkd_path_validate(path.s, path.len);
    if (rc)
        return rc;
    *node = zkd_lookup(p, path.s, (size_t)path.len);
    if (!node->exists)
        return ZKD_ERR_NONODE;
    if ((rc = zkd_acl_check(p->s, p->ids, p->nids, node->acl, perm)) != 0)
        return rc;
    return zkd_check_version(aversion ? node->stat.aversion : node->stat.version, expected, next);
}

static int zkd_prep_set_data(zkd_prep_ctx *p, kz_rd *r, kz_wr *w)
{
    zkd_SetDataRequest q;
    if (zkd_decode(SetDataRequest, r, &q, p->a))
        return ZKD_ERR_MARSHALLINGERROR;
    zkd_view node;
    int32_t next;
    int rc = zkd_prep_existing(p, q.path, ZKD_PERM_WRITE, q.version, false, &node, &next);
    if (rc)
        return rc;
    zkd_SetDataTxn t = { q.path, q.data, next };
    zkd_encode(SetDataTxn, &t, w);
    node.stat.version = next;
    node.stat.mtime = p->time;
    node.stat.mzxid = p->zxid;
    return zkd_record(p, q.path.s, (size_t)q.path.len, &node);
}

static int zkd_prep_set_acl(zkd_prep_ctx *p, kz_rd *r, kz_wr *w)
{
    zkd_SetACLRequest q;
    if (zkd_decode(SetACLRequest, r, &q, p->a))
        return ZKD_ERR_MARSHALLINGERROR;
    /* The new list is checked before the node (fixupACL comes first). */
    int rc = zkd_path_validate(q.path.s, q.path.len);
    kz_jvec acl;
    if (rc || (rc = zkd_acl_fixup(p->ids, p->nids, &q.acl, &acl, p->a)) != 0)
        return rc;
    zkd_view node;
    int32_t next;
    if ((rc = zkd_prep_existing(p, q.path, ZKD_PERM_ADMIN, q.version, true, &node, &next)) != 0)
        return rc;
    zkd_SetACLTxn t = { q.path, acl, next };
    zkd_encode(SetACLTxn, &t, w);
    node.stat.aversion = next;
    node.acl = &acl;
    return zkd_record(p, q.path.s, (size_t)q.path.len, &node);
}

static int zkd_prep_check(zkd_prep_ctx *p, kz_rd *r, kz_wr *w)
{
    zkd_PathVersionRequest q;
    if (zkd_decode(PathVersionRequest, r, &q, p->a))
        return ZKD_ERR_MARSHALLINGERROR;
    zkd_view node;
    int32_t next;
    int rc = zkd_prep_existing(p, q.path, ZKD_PERM_READ, q.version, false, &node, &next);
    if (rc)
        return rc;
    zkd_CheckVersionTxn t = { q.path, q.version };
    zkd_encode(CheckVersionTxn, &t, w);
    return 0;
}

/* One non-multi write op. Appends the body to @w; on error @w is unspecified. */
static int zkd_prep_op(zkd_prep_ctx *p, int32_t op, kz_rd *r, kz_wr *w, int32_t *txn_type)
{
    *txn_type = op;
    switch (op) {
    case ZKD_OP_CREATE:
    case ZKD_OP_CREATE2:
    case ZKD_OP_CREATE_CONTAINER:
    case ZKD_OP_CREATE_TTL:
        return zkd_prep_create(p, op, r, w, txn_type);
    case ZKD_OP_DELETE: {
        zkd_PathVersionRequest q;
        if (zkd_decode(PathVersionRequest, r, &q, p->a))
            return ZKD_ERR_MARSHALLINGERROR;
        return zkd_prep_delete(p, q.path, q.version, w);
    }
    case ZKD_OP_DELETE_CONTAINER: {
        /* The body is the raw path (no jute length), as the container
         * manager sends it; a client's jute string therefore fails the
         * path check, like on ZooKeeper. */
        kz_str path = { (const char *)r->p, (int32_t)kz_rd_left(r) };
        r->p = r->end;
        int rc = zkd_path_validate(path.s, path.len);
        if (rc || path.len <= 1)
            return ZKD_ERR_BADARGUMENTS;
        zkd_view node = zkd_lookup(p, path.s, (size_t)path.len);
        if (!node.exists)
            return ZKD_ERR_NONODE;
        if (node.nkids > 0)
            return ZKD_ERR_NOTEMPTY;
        if (zkd_owner_is_session(node.stat.ephemeralOwner) || node.stat.ephemeralOwner == 0)
            return ZKD_ERR_BADVERSION;
        /* The server itself asks for it: no ACL applies. */
        zkd_prep_ctx super = *p;
        zkd_auth_id su = { "super", "" };
        super.ids = &su;
        super.nids = 1;
        *txn_type = ZKD_OP_DELETE_CONTAINER;
        return zkd_prep_delete(&super, path, -1, w);
    }
    case ZKD_OP_SET_DATA:
        return zkd_prep_set_data(p, r, w);
    case ZKD_OP_SET_ACL:
        return zkd_prep_set_acl(p, r, w);
    case ZKD_OP_CHECK:
        return zkd_prep_check(p, r, w);
    case ZKD_OP_RECONFIG:
        return ZKD_ERR_RECONFIGDISABLED;
    default:
        return ZKD_ERR_BADARGUMENTS;
    }
}

static bool zkd_multi_op_ok(int32_t t)
{
    return t == ZKD_OP_CREATE || t == ZKD_OP_CREATE2 || t == ZKD_OP_CREATE_TTL || t == ZKD_OP_CREATE_CONTAINER ||
           t == ZKD_OP_DELETE || t == ZKD_OP_SET_DATA || t == ZKD_OP_CHECK;
}

/* multi: a MultiTxn of sub-txns; after the first failure every op becomes an
 * error txn and the views added by earlier ops are rolled back. */
static int zkd_prep_multi(zkd_prep_ctx *p, kz_rd *r, kz_wr *w)
{
    zkd_change *mark = p->s->changes->tail;
    kz_wr subs = KZ_WR_INIT, one = KZ_WR_INIT;
    int32_t n = 0;
    int failed = 0;
    for (;;) {
        zkd_MultiHeader mh;
        if (zkd_decode(MultiHeader, r, &mh, p->a))
            goto bad;
        if (mh.done)
            break;
        if (!zkd_multi_op_ok(mh.type))
            goto bad;
        one.len = 0;
        int32_t tt;
        int rc = failed ? ZKD_ERR_RUNTIMEINCONSISTENCY : zkd_prep_op(p, mh.type, r, &one, &tt);
        if (failed) {
            /* Still consume the op's record so the stream stays aligned. */
            if (mh.type == ZKD_OP_CREATE_TTL) {
                zkd_CreateTTLRequest x;
                if (zkd_decode(CreateTTLRequest, r, &x, p->a)) goto bad;
            } else if (mh.type == ZKD_OP_DELETE || mh.type == ZKD_OP_CHECK) {
                zkd_PathVersionRequest x;
                if (zkd_decode(PathVersionRequest, r, &x, p->a)) goto bad;
            } else if (mh.type == ZKD_OP_SET_DATA) {
                zkd_SetDataRequest x;
                if (zkd_decode(SetDataRequest, r, &x, p->a)) goto bad;
            } else {
                zkd_CreateRequest x;
                if (zkd_decode(CreateRequest, r, &x, p->a)) goto bad;
            }
        } else if (rc == ZKD_ERR_MARSHALLINGERROR) {
            goto bad;
        }
        if (rc) {
            if (!failed) {
                failed = rc;
                zkd_rollback(p->s, mark);
            }
            one.len = 0;
            zkd_ErrorTxn et = { rc };
            zkd_encode(ErrorTxn, &et, &one);
            tt = ZKD_OP_ERROR;
        }
        kz_wr_i32(&subs, tt);
        kz_wr_str(&subs, (kz_str){ (const char *)one.base, (int32_t)one.len });
        n++;
    }
    if (one.err || subs.err)
        goto bad;
    kz_wr_i32(w, n);
    kz_wr_bytes(w, subs.base, subs.len);
    kz_wr_free(&subs);
    kz_wr_free(&one);
    return 0;
bad:
    zkd_rollback(p->s, mark);
    kz_wr_free(&subs);
    kz_wr_free(&one);
    return ZKD_ERR_MARSHALLINGERROR;
}

bool zkd_prep_is_write(int32_t t)
{
    switch (t) {
    case ZKD_OP_CREATE:
    case ZKD_OP_CREATE2:
    case ZKD_OP_CREATE_CONTAINER:
    case ZKD_OP_CREATE_TTL:
    case ZKD_OP_DELETE:
    case ZKD_OP_DELETE_CONTAINER:
    case ZKD_OP_SET_DATA:
    case ZKD_OP_SET_ACL:
    case ZKD_OP_CHECK:
    case ZKD_OP_MULTI:
    case ZKD_OP_RECONFIG:
    case ZKD_OP_CREATE_SESSION:
    case ZKD_OP_CLOSE_SESSION:
        return true;
    default:
        return false;
    }
}

/* closeSession: delete the session's ephemerals, including ones created by
 * txns still outstanding. */
static int zkd_prep_close(zkd_prep_ctx *p, kz_wr *w)
{
    size_t ne;
    zkd_node *const *eph = zkd_dt_ephemerals(p->s->dt, p->session_id, &ne);
    kz_str *paths = kz_arena_alloc(p->a, (ne + 1) * sizeof *paths);
    size_t n = 0, cap = ne + 1;
    if (!paths)
        return ZKD_ERR_SYSTEMERROR;
    for (size_t i = 0; i < ne; i++) {
        zkd_view v = zkd_lookup(p, eph[i]->path, eph[i]->path_len);
        if (v.exists && v.stat.ephemeralOwner == p->session_id)
            paths[n++] = (kz_str){ eph[i]->path, (int32_t)eph[i]->path_len };
    }
    for (zkd_change *c = p->s->changes->head; c; c = c->fnext) {
        if (!c->current || !c->exists || c->stat.ephemeralOwner != p->session_id)
            continue;
        if (zkd_dt_get(p->s->dt, c->path, c->len))
            continue; /* already listed from the tree */
        if (n == cap) {
            kz_str *np = kz_arena_alloc(p->a, cap * 2 * sizeof *np);
            if (!np)
                return ZKD_ERR_SYSTEMERROR;
            memcpy(np, paths, n * sizeof *np);
            paths = np;
            cap *= 2;
        }
        paths[n++] = (kz_str){ c->path, (int32_t)c->len };
    }
    zkd_CloseSessionTxn t = { { (int32_t)n, paths } };
    zkd_encode(CloseSessionTxn, &t, w);
    zkd_view gone = { 0 };
    for (size_t i = 0; i < n; i++) {
        /* Parent views keep their counts: the tree is authoritative once applied. */
        size_t plen = zkd_parent_of(paths[i].s, (size_t)paths[i].len);
        const char *pp = plen == 1 ? "/" : paths[i].s;
        zkd_view parent = zkd_lookup(p, pp, plen);
        if (parent.exists) {
            parent.nkids--;
            parent.stat.pzxid = p->zxid;
            zkd_record(p, pp, plen, &parent);
        }
        zkd_record(p, paths[i].s, (size_t)paths[i].len, &gone);
    }
    return 0;
}

/* Serializes TxnHeader + body into req->txn. */
static int zkd_prep_finish(zkd_server *s, zkd_req *req, int32_t type, int64_t time, const kz_wr *body)
{
    kz_wr w = KZ_WR_INIT;
    zkd_TxnHeader h = { req->session_id, req->xid, req->zxid, time, type };
    zkd_encode(TxnHeader, &h, &w);
    kz_wr_bytes(&w, body->base, body->len);
    if (w.err) {
        kz_wr_free(&w);
        return ZKD_ERR_SYSTEMERROR;
    }
    req->txn = kz_wr_steal(&w, &req->txn_len);
    req->is_txn = true;
    (void)s;
    return 0;
}

static int zkd_prep_any(zkd_server *s, zkd_req *req, const zkd_auth_id *ids, uint32_t nids)
{
    kz_arena *a = &s->scratch;
    req->zxid = ++s->next_zxid;
    zkd_prep_ctx p = { s, ids, nids, req->session_id, req->zxid, kz_wall_ms(), a };
    kz_rd r = kz_rd_init(req->payload, req->payload_len);
    kz_wr body = KZ_WR_INIT;
    int32_t type = req->type;
    zkd_change *mark = s->changes->tail;
    int rc;
    /* SessionTracker.checkSession (internal requests carry session 0) */
    bool check = req->type != ZKD_OP_CREATE_SESSION && req->session_id != 0;
    zkd_session *se = check ? zkd_session_get(s, req->session_id) : NULL;
    if (check && (!se || (se->closing && req->type != ZKD_OP_CLOSE_SESSION))) {
        rc = ZKD_ERR_SESSIONEXPIRED; /* SessionTracker.checkSession */
    } else switch (req->type) {
    case ZKD_OP_CREATE_SESSION: {
        zkd_CreateSessionTxn t = { req->connect.timeOut };
        zkd_encode(CreateSessionTxn, &t, &body);
        rc = 0;
        break;
    }
    case ZKD_OP_CLOSE_SESSION:
        rc = zkd_prep_close(&p, &body);
        break;
    case ZKD_OP_MULTI:
        rc = zkd_prep_multi(&p, &r, &body);
        break;
    default:
        rc = zkd_prep_op(&p, req->type, &r, &body, &type);
        break;
    }
    if (rc) {
        zkd_rollback(s, mark);
        body.len = 0;
        body.err = 0;
        zkd_ErrorTxn et = { rc };
        zkd_encode(ErrorTxn, &et, &body);
        type = ZKD_OP_ERROR;
        req->err = rc;
    }
    rc = zkd_prep_finish(s, req, type, p.time, &body);
    kz_wr_free(&body);
    kz_arena_rewind(a);
    return rc;
}

int zkd_prep_request(zkd_server *s, zkd_req *req, zkd_conn *c)
{
    return zkd_prep_any(s, req, c ? c->auth : NULL, c ? c->nauth : 0);
}

int zkd_prep_with_ids(zkd_server *s, zkd_req *req, const zkd_auth_id *ids, uint32_t nids)
{
    return zkd_prep_any(s, req, ids, nids);
}

int zkd_prep_internal(zkd_server *s, zkd_req *req)
{
    zkd_auth_id su = { "super", "" };
    return zkd_prep_any(s, req, &su, 1);
}
