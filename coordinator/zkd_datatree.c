/* coordinator/zkd_datatree.c -- the znode tree and txn application
 * (see zkd_datatree.h for the contract).
 *
 * Stored versus wire cversion: like ZooKeeper's DataNode, the stored
 * cversion counts child creations only (it also names sequential children);
 * clients see stored*2 - numChildren, i.e. creations plus deletions.
 *
 * Memory: each node is one malloc for the struct plus its path and data;
 * children are an array of pointers with each child's index stored in it,
 * so removal is O(1) by swapping in the last child.
 * Locality: zkd loop thread only. */
#include "zkd_datatree.h"

#include <stdlib.h>
#include <string.h>

#include "kz_map.h"
#include "zkd_proto.h"

typedef struct zkd_acl_ent {
    int64_t idx;
    int64_t refs;
    kz_jvec acl;     /* elements are zkd_ACL pointing into `mem` */
    uint8_t *ser;    /* serialized list: identity for interning */
    size_t ser_len;
    kz_arena mem;
} zkd_acl_ent;

typedef struct zkd_nodeset {
    zkd_node **v;
    uint32_t n, cap;
} zkd_nodeset;

struct zkd_datatree {
    zkd_node **buckets;
    uint32_t nbuckets; /* power of two */
    size_t nnodes;
    int64_t data_size;
    zkd_node *root;
    int64_t last_zxid;
    kz_map acls;       /* idx -> zkd_acl_ent* */
    int64_t acl_next;  /* last index handed out */
    kz_map sessions;   /* sid -> timeout */
    kz_map ephemerals; /* sid -> zkd_nodeset* */
    size_t neph;
    zkd_nodeset containers, ttls;
    zkd_dt_hooks hooks;
};

/* ---------------------------------------------------------------- hashing */

static uint32_t zkd_path_hash(const char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 16777619u;
    return h;
}

zkd_node *zkd_dt_get(const zkd_datatree *dt, const char *path, size_t len)
{
    if (len == 0) /* ZooKeeper maps "" to the root too */
        return dt->root;
    uint32_t h = zkd_path_hash(path, len);
    for (zkd_node *n = dt->buckets[h & (dt->nbuckets - 1)]; n; n = n->hnext)
        if (n->hash == h && n->path_len == len && memcmp(n->path, path, len) == 0)
            return n;
    return NULL;
}

static int zkd_dt_rehash(zkd_datatree *dt)
{
    uint32_t nb = dt->nbuckets * 2;
    zkd_node **b = calloc(nb, sizeof *b);
    if (!b)
        return KZ_ENOMEM;
    for (uint32_t i = 0; i < dt->nbuckets; i++) {
        zkd_node *n = dt->buckets[i];
        while (n) {
            zkd_node *next = n->hnext;
            n->hnext = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
            n = next;
        }
    }
    free(dt->buckets);
    dt->buckets = b;
    dt->nbuckets = nb;
    return 0;
}

static void zkd_dt_hash_del(zkd_datatree *dt, zkd_node *n)
{
    zkd_node **pp = &dt->buckets[n->hash & (dt->nbuckets - 1)];
    while (*pp != n)
        pp = &(*pp)->hnext;
    *pp = n->hnext;
}

/* --------------------------------------------------------------- nodesets */

static int zkd_set_add(zkd_nodeset *s, zkd_node *n, int32_t *idx)
{
    if (s->n == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 4;
        zkd_node **v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return KZ_ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    *idx = (int32_t)s->n;
    s->v[s->n++] = n;
    return 0;
}

/* Removes the node at @idx; the moved last element gets its index fixed
 * through @fix (a pointer-to-member offset inside zkd_node). */
static void zkd_set_del(zkd_nodeset *s, int32_t idx, size_t fix)
{
    zkd_node *last = s->v[--s->n];
    if ((uint32_t)idx != s->n) {
        s->v[idx] = last;
        *(int32_t *)((char *)last + fix) = idx;
    }
}

/* -------------------------------------------------------------- ACL cache */

static void zkd_acl_ent_free(zkd_acl_ent *e)
{
    if (!e)
        return;
    free(e->ser);
    kz_arena_reset(&e->mem);
    free(e);
}

static zkd_acl_ent *zkd_acl_ent_new(int64_t idx, const kz_jvec *acl)
{
    zkd_acl_ent *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->idx = idx;
    kz_wr w = KZ_WR_INIT;
    kz_wr_i32(&w, acl->n < 0 ? 0 : acl->n);
    const zkd_ACL *src = acl->v;
    zkd_ACL *dst = acl->n > 0 ? kz_arena_alloc(&e->mem, sizeof *dst * (size_t)acl->n) : NULL;
    for (int32_t i = 0; i < acl->n; i++) {
        zkd_encode(ACL, &src[i], &w);
        if (!dst)
            break;
        dst[i].perms = src[i].perms;
        dst[i].id.scheme = kz_arena_strdup(&e->mem, src[i].id.scheme);
        dst[i].id.id = kz_arena_strdup(&e->mem, src[i].id.id);
    }
    if (w.err || (acl->n > 0 && !dst)) {
        kz_wr_free(&w);
        zkd_acl_ent_free(e);
        return NULL;
    }
    e->acl = (kz_jvec){ acl->n < 0 ? 0 : acl->n, dst };
    e->ser = kz_wr_steal(&w, &e->ser_len);
    return e;
}

int64_t zkd_dt_acl_intern(zkd_datatree *dt, const kz_jvec *acl)
{
    if (!acl || acl->n < 0)
        return ZKD_ACL_OPEN_UNSAFE;
    kz_wr w = KZ_WR_INIT;
    kz_wr_i32(&w, acl->n);
    for (int32_t i = 0; i < acl->n; i++)
        zkd_encode(ACL, &((const zkd_ACL *)acl->v)[i], &w);
    if (w.err) {
        kz_wr_free(&w);
        return -2;
    }
    int64_t k;
    uint64_t v;
    for (size_t it = 0; kz_map_next(&dt->acls, &it, &k, &v);) {
        zkd_acl_ent *e = (zkd_acl_ent *)(uintptr_t)v;
        if (e->ser_len == w.len && memcmp(e->ser, w.base, w.len) == 0) {
            kz_wr_free(&w);
            e->refs++;
            return e->idx;
        }
    }
    kz_wr_free(&w);
    zkd_acl_ent *e = zkd_acl_ent_new(dt->acl_next + 1, acl);
    if (!e || kz_map_put(&dt->acls, e->idx, (uint64_t)(uintptr_t)e)) {
        zkd_acl_ent_free(e);
        return -2;
    }
    dt->acl_next = e->idx;
    e->refs = 1;
    return e->idx;
}

int zkd_dt_acl_restore(zkd_datatree *dt, int64_t idx, const kz_jvec *acl)
{
    zkd_acl_ent *e = zkd_acl_ent_new(idx, acl);
    uint64_t old;
    if (!e)
        return KZ_ENOMEM;
    /* Replacing an entry of the initial tree (index 1, /zookeeper/config):
     * keep its references, which restore_node moves to the stored index. */
    if (kz_map_get(&dt->acls, idx, &old)) {
        e->refs = ((zkd_acl_ent *)(uintptr_t)old)->refs;
        zkd_acl_ent_free((zkd_acl_ent *)(uintptr_t)old);
    }
    if (kz_map_put(&dt->acls, idx, (uint64_t)(uintptr_t)e)) {
        zkd_acl_ent_free(e);
        return KZ_ENOMEM;
    }
    if (idx > dt->acl_next)
        dt->acl_next = idx;
    return 0;
}

/* setACL with the list the node already has: ZooKeeper's removeUsage runs
 * first, so when this node was its only user the entry is dropped and the
 * list comes back under a fresh index. Called after intern took a second
 * reference; drops one. Cannot fail: the map does not grow when a key is
 * deleted and another put right after. */
static int64_t zkd_dt_acl_renumber(zkd_datatree *dt, int64_t idx)
{
    uint64_t v;
    if (!kz_map_get(&dt->acls, idx, &v))
        return idx;
    zkd_acl_ent *e = (zkd_acl_ent *)(uintptr_t)v;
    if (--e->refs > 1 || !kz_map_del(&dt->acls, idx, NULL))
        return idx;
    e->idx = ++dt->acl_next;
    if (kz_map_put(&dt->acls, e->idx, v)) { /* not reached, see above */
        e->idx = idx;
        dt->acl_next--;
        kz_map_put(&dt->acls, idx, v);
    }
    return e->idx;
}

static void zkd_dt_acl_ref(zkd_datatree *dt, int64_t idx)
{
    uint64_t v;
    if (idx >= 0 && kz_map_get(&dt->acls, idx, &v))
        ((zkd_acl_ent *)(uintptr_t)v)->refs++;
}

void zkd_dt_acl_unref(zkd_datatree *dt, int64_t idx)
{
    uint64_t v;
    if (idx < 0 || !kz_map_get(&dt->acls, idx, &v))
        return;
    zkd_acl_ent *e = (zkd_acl_ent *)(uintptr_t)v;
    if (--e->refs <= 0) {
        kz_map_del(&dt->acls, idx, NULL);
        zkd_acl_ent_free(e);
    }
}

/* Snapshot restore: drops a reference but keeps the entry at zero, because
 * a node read later may still use an index the snapshot defines (ZooKeeper's
 * cache counts usage during the load and purges afterwards). */
static void zkd_dt_acl_unref_keep(zkd_datatree *dt, int64_t idx)
{
    uint64_t v;
    if (idx >= 0 && kz_map_get(&dt->acls, idx, &v))
        ((zkd_acl_ent *)(uintptr_t)v)->refs--;
}

void zkd_dt_acl_purge_unused(zkd_datatree *dt)
{
    int64_t k;
    uint64_t v;
    for (size_t it = 0; kz_map_next(&dt->acls, &it, &k, &v);) {
        zkd_acl_ent *e = (zkd_acl_ent *)(uintptr_t)v;
        if (e->refs > 0)
            continue;
        kz_map_del(&dt->acls, k, NULL); /* backward shift: look at this slot again */
        zkd_acl_ent_free(e);
        it = 0;
    }
}

const kz_jvec *zkd_dt_acl_get(const zkd_datatree *dt, int64_t idx)
{
    static const zkd_ACL open_acl = { ZKD_PERM_ALL, { { "world", 5 }, { "anyone", 6 } } };
    static const kz_jvec open_vec = { 1, (void *)&open_acl };
    uint64_t v;
    if (idx == ZKD_ACL_OPEN_UNSAFE)
        return &open_vec;
    if (!kz_map_get(&dt->acls, idx, &v))
        return NULL;
    return &((zkd_acl_ent *)(uintptr_t)v)->acl;
}

size_t zkd_dt_acl_count(const zkd_datatree *dt) { return kz_map_size(&dt->acls); }

static int zkd_i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int zkd_dt_acl_walk(const zkd_datatree *dt, int (*fn)(void *ctx, int64_t idx, const kz_jvec *acl), void *ctx)
{
    size_t n = kz_map_size(&dt->acls), i = 0;
    int64_t *keys = malloc((n ? n : 1) * sizeof *keys), k;
    if (!keys)
        return KZ_ENOMEM;
    for (size_t it = 0; kz_map_next(&dt->acls, &it, &k, NULL);)
        keys[i++] = k;
    qsort(keys, n, sizeof *keys, zkd_i64_cmp);
    int rc = 0;
    for (i = 0; i < n && !rc; i++)
        rc = fn(ctx, keys[i], zkd_dt_acl_get(dt, keys[i]));
    free(keys);
    return rc;
}

/* --------------------------------------------------------------- sessions */

int zkd_dt_session_put(zkd_datatree *dt, int64_t sid, int32_t timeout)
{
    return kz_map_put(&dt->sessions, sid, (uint64_t)(uint32_t)timeout);
}

bool zkd_dt_session_get(const zkd_datatree *dt, int64_t sid, int32_t *timeout)
{
    uint64_t v;
    if (!kz_map_get(&dt->sessions, sid, &v))
        return false;
    if (timeout)
        *timeout = (int32_t)(uint32_t)v;
    return true;
}

size_t zkd_dt_session_count(const zkd_datatree *dt) { return kz_map_size(&dt->sessions); }

int zkd_dt_session_walk(const zkd_datatree *dt, int (*fn)(void *ctx, int64_t sid, int32_t timeout), void *ctx)
{
    int64_t k;
    uint64_t v;
    int rc = 0;
    for (size_t it = 0; !rc && kz_map_next(&dt->sessions, &it, &k, &v);)
        rc = fn(ctx, k, (int32_t)(uint32_t)v);
    return rc;
}

zkd_node *const *zkd_dt_ephemerals(const zkd_datatree *dt, int64_t sid, size_t *n)
{
    uint64_t v;
    if (!kz_map_get(&dt->ephemerals, sid, &v)) {
        *n = 0;
        return NULL;
    }
    zkd_nodeset *s = (zkd_nodeset *)(uintptr_t)v;
    *n = s->n;
    return s->v;
}

int zkd_dt_ephemeral_walk(const zkd_datatree *dt, int (*fn)(void *, int64_t, zkd_node *const *, size_t), void *ctx)
{
    int64_t k;
    uint64_t v;
    int rc = 0;
    for (size_t it = 0; !rc && kz_map_next(&dt->ephemerals, &it, &k, &v);) {
        zkd_nodeset *s = (zkd_nodeset *)(uintptr_t)v;
        rc = fn(ctx, k, s->v, s->n);
    }
    return rc;
}

size_t zkd_dt_ephemeral_count(const zkd_datatree *dt) { return dt->neph; }

zkd_node *const *zkd_dt_containers(const zkd_datatree *dt, size_t *n)
{
    *n = dt->containers.n;
    return dt->containers.v;
}

zkd_node *const *zkd_dt_ttls(const zkd_datatree *dt, size_t *n)
{
    *n = dt->ttls.n;
    return dt->ttls.v;
}

/* ------------------------------------------------------------------ nodes */

static void zkd_node_free(zkd_node *n)
{
    if (!n)
        return;
    free(n->kids);
    free(n->data);
    free(n);
}

static int zkd_node_set_data(zkd_node *n, kz_str data)
{
    uint8_t *d = NULL;
    if (data.len > 0) {
        d = malloc((size_t)data.len);
        if (!d)
            return KZ_ENOMEM;
        memcpy(d, data.s, (size_t)data.len);
    }
    free(n->data);
    n->data = d;
    n->data_len = data.len < 0 ? -1 : data.len;
    return 0;
}

static int64_t zkd_node_size(const zkd_node *n)
{
    return (int64_t)n->path_len + (n->data_len > 0 ? n->data_len : 0);
}

/* Allocates a node with its path stored after the struct. */
static zkd_node *zkd_node_new(const char *path, size_t len)
{
    zkd_node *n = calloc(1, sizeof *n + len + 1);
    if (!n)
        return NULL;
    n->path = (char *)(n + 1);
    memcpy(n->path, path, len);
    n->path[len] = '\0';
    n->path_len = (uint32_t)len;
    n->hash = zkd_path_hash(path, len);
    n->eph_idx = -1;
    n->set_idx = -1;
    n->data_len = -1;
    return n;
}

static int zkd_node_add_child(zkd_node *parent, zkd_node *child)
{
    if (parent->nkids == parent->kids_cap) {
        uint32_t cap = parent->kids_cap ? parent->kids_cap * 2 : 4;
        zkd_node **k = realloc(parent->kids, cap * sizeof *k);
        if (!k)
            return KZ_ENOMEM;
        parent->kids = k;
        parent->kids_cap = cap;
    }
    child->parent = parent;
    child->idx_in_parent = parent->nkids;
    parent->kids[parent->nkids++] = child;
    return 0;
}

static void zkd_node_del_child(zkd_node *parent, zkd_node *child)
{
    zkd_node *last = parent->kids[--parent->nkids];
    if (child->idx_in_parent != parent->nkids) {
        parent->kids[child->idx_in_parent] = last;
        last->idx_in_parent = child->idx_in_parent;
    }
    child->parent = NULL;
}

void zkd_node_stat(const zkd_node *n, zkd_Stat *out)
{
    const zkd_StatPersisted *s = &n->stat;
    out->czxid = s->czxid;
    out->mzxid = s->mzxid;
    out->ctime = s->ctime;
    out->mtime = s->mtime;
    out->version = s->version;
    /* Java int arithmetic (DataNode.copyStat): wraps instead of overflowing. */
    out->cversion = (int32_t)((uint32_t)s->cversion * 2u - n->nkids);
    out->aversion = s->aversion;
    out->ephemeralOwner = zkd_owner_is_session(s->ephemeralOwner) ? s->ephemeralOwner : 0;
    out->dataLength = n->data_len > 0 ? n->data_len : 0;
    out->numChildren = (int32_t)n->nkids;
    out->pzxid = s->pzxid;
}

/* Links a fresh node (hash, parent, owner sets). On failure nothing changed. */
static int zkd_dt_link(zkd_datatree *dt, zkd_node *parent, zkd_node *n)
{
    if (dt->nnodes + 1 > (size_t)dt->nbuckets * 3 / 4 && zkd_dt_rehash(dt))
        return KZ_ENOMEM;
    if (zkd_node_add_child(parent, n))
        return KZ_ENOMEM;
    int64_t owner = n->stat.ephemeralOwner;
    int rc = 0;
    if (zkd_owner_is_session(owner)) {
        uint64_t v;
        zkd_nodeset *s;
        if (kz_map_get(&dt->ephemerals, owner, &v)) {
            s = (zkd_nodeset *)(uintptr_t)v;
        } else if (!(s = calloc(1, sizeof *s)) || kz_map_put(&dt->ephemerals, owner, (uint64_t)(uintptr_t)s)) {
            free(s);
            s = NULL;
        }
        rc = s ? zkd_set_add(s, n, &n->eph_idx) : KZ_ENOMEM;
        if (!rc)
            dt->neph++;
    } else if (owner == ZKD_OWNER_CONTAINER) {
        rc = zkd_set_add(&dt->containers, n, &n->set_idx);
    } else if (zkd_owner_is_ttl(owner)) {
        rc = zkd_set_add(&dt->ttls, n, &n->set_idx);
    }
    if (rc) {
        zkd_node_del_child(parent, n);
        return rc;
    }
    zkd_node **b = &dt->buckets[n->hash & (dt->nbuckets - 1)];
    n->hnext = *b;
    *b = n;
    dt->nnodes++;
    dt->data_size += zkd_node_size(n);
    return 0;
}

static void zkd_dt_unlink(zkd_datatree *dt, zkd_node *n)
{
    int64_t owner = n->stat.ephemeralOwner;
    if (zkd_owner_is_session(owner) && n->eph_idx >= 0) {
        uint64_t v;
        if (kz_map_get(&dt->ephemerals, owner, &v)) {
            zkd_nodeset *s = (zkd_nodeset *)(uintptr_t)v;
            zkd_set_del(s, n->eph_idx, offsetof(zkd_node, eph_idx));
            dt->neph--;
            if (s->n == 0) {
                kz_map_del(&dt->ephemerals, owner, NULL);
                free(s->v);
                free(s);
            }
        }
    } else if (owner == ZKD_OWNER_CONTAINER && n->set_idx >= 0) {
        zkd_set_del(&dt->containers, n->set_idx, offsetof(zkd_node, set_idx));
    } else if (zkd_owner_is_ttl(owner) && n->set_idx >= 0) {
        zkd_set_del(&dt->ttls, n->set_idx, offsetof(zkd_node, set_idx));
    }
    zkd_node_del_child(n->parent, n);
    zkd_dt_hash_del(dt, n);
    dt->nnodes--;
    dt->data_size -= zkd_node_size(n);
    zkd_dt_acl_unref(dt, n->acl);
}

/* ------------------------------------------------------------ life cycle */

static zkd_node *zkd_dt_add_system(zkd_datatree *dt, zkd_node *parent, const char *path, int64_t acl)
{
    zkd_node *n = zkd_node_new(path, strlen(path));
    if (!n)
        return NULL;
    n->data_len = 0;
    n->acl = acl;
    if (zkd_dt_link(dt, parent, n)) {
        zkd_node_free(n);
        return NULL;
    }
    return n;
}

zkd_datatree *zkd_dt_new(void)
{
    zkd_datatree *dt = calloc(1, sizeof *dt);
    if (!dt)
        return NULL;
    dt->nbuckets = 1024;
    dt->buckets = calloc(dt->nbuckets, sizeof *dt->buckets);
    dt->root = zkd_node_new("/", 1);
    if (!dt->buckets || !dt->root)
        goto fail;
    dt->root->data_len = 0;
    dt->root->acl = ZKD_ACL_OPEN_UNSAFE;
    zkd_node **b = &dt->buckets[dt->root->hash & (dt->nbuckets - 1)];
    dt->root->hnext = *b;
    *b = dt->root;
    dt->nnodes = 1;
    dt->data_size = 1;
    zkd_node *zk = zkd_dt_add_system(dt, dt->root, "/zookeeper", ZKD_ACL_OPEN_UNSAFE);
    if (!zk || !zkd_dt_add_system(dt, zk, "/zookeeper/quota", ZKD_ACL_OPEN_UNSAFE))
        goto fail;
    zkd_ACL ro = { ZKD_PERM_READ, { KZ_STR_LIT("world"), KZ_STR_LIT("anyone") } };
    kz_jvec rov = { 1, &ro };
    int64_t idx = zkd_dt_acl_intern(dt, &rov);
    zkd_node *cfg = idx >= 0 ? zkd_dt_add_system(dt, zk, "/zookeeper/config", idx) : NULL;
    if (!cfg)
        goto fail;
    cfg->stat.aversion = -1;
    return dt;
fail:
    zkd_dt_free(dt);
    return NULL;
}

void zkd_dt_free(zkd_datatree *dt)
{
    if (!dt)
        return;
    for (uint32_t i = 0; dt->buckets && i < dt->nbuckets; i++) {
        zkd_node *n = dt->buckets[i];
        while (n) {
            zkd_node *next = n->hnext;
            zkd_node_free(n);
            n = next;
        }
    }
    if (dt->root && dt->nnodes == 0)
        zkd_node_free(dt->root);
    free(dt->buckets);
    int64_t k;
    uint64_t v;
    for (size_t it = 0; kz_map_next(&dt->acls, &it, &k, &v);)
        zkd_acl_ent_free((zkd_acl_ent *)(uintptr_t)v);
    for (size_t it = 0; kz_map_next(&dt->ephemerals, &it, &k, &v);) {
        zkd_nodeset *s = (zkd_nodeset *)(uintptr_t)v;
        free(s->v);
        free(s);
    }
    kz_map_free(&dt->acls);
    kz_map_free(&dt->sessions);
    kz_map_free(&dt->ephemerals);
    free(dt->containers.v);
    free(dt->ttls.v);
    free(dt);
}

void zkd_dt_set_hooks(zkd_datatree *dt, const zkd_dt_hooks *h) { dt->hooks = h ? *h : (zkd_dt_hooks){ 0 }; }
size_t zkd_dt_node_count(const zkd_datatree *dt) { return dt->nnodes; }
int64_t zkd_dt_approx_size(const zkd_datatree *dt) { return dt->data_size; }
int64_t zkd_dt_last_zxid(const zkd_datatree *dt) { return dt->last_zxid; }
void zkd_dt_set_last_zxid(zkd_datatree *dt, int64_t zxid) { dt->last_zxid = zxid; }

/* ---------------------------------------------------------------- restore */

/* Length of the parent path of @p (0 for children of "/" means "/"). */
static size_t zkd_parent_len(const char *p, size_t len)
{
    while (len > 0 && p[len - 1] != '/')
        len--;
    return len > 1 ? len - 1 : 1;
}

int zkd_dt_set_config(zkd_datatree *dt, const char *text, size_t len, int64_t mtime)
{
    zkd_node *n = zkd_dt_get(dt, "/zookeeper/config", 17);
    if (!n)
        return KZ_ECORRUPT;
    dt->data_size -= zkd_node_size(n);
    int rc = zkd_node_set_data(n, (kz_str){ text, (int32_t)len });
    dt->data_size += zkd_node_size(n);
    if (rc)
        return KZ_ENOMEM;
    n->stat.version = -1; /* DataTree.setData(CONFIG_NODE, data, -1, version 0, now) */
    n->stat.mzxid = 0;
    n->stat.mtime = mtime;
    return 0;
}

int zkd_dt_restore_node(zkd_datatree *dt, kz_str path, kz_str data, int64_t acl, const zkd_StatPersisted *st)
{
    /* The ACL cache precedes the nodes in a snapshot: an index it does not
     * define makes the snapshot corrupt (an older one is tried instead). */
    if (path.len < 0 || !zkd_dt_acl_get(dt, acl))
        return KZ_ECORRUPT;
    if (path.len == 0 || (path.len == 1 && path.s[0] == '/')) {
        zkd_node *r = dt->root;
        /* Like the other initial nodes below: the root cannot become an
         * ephemeral, container or TTL node (it would sit in no owner set). */
        if (r->stat.ephemeralOwner != st->ephemeralOwner)
            return KZ_ECORRUPT;
        dt->data_size -= zkd_node_size(r);
        if (zkd_node_set_data(r, data))
            return KZ_ENOMEM;
        dt->data_size += zkd_node_size(r);
        zkd_dt_acl_ref(dt, acl);
        zkd_dt_acl_unref_keep(dt, r->acl);
        r->acl = acl;
        r->stat = *st;
        return 0;
    }
    if (path.s[0] != '/')
        return KZ_ECORRUPT;
    zkd_node *n = zkd_dt_get(dt, path.s, (size_t)path.len);
    if (n) { /* the system nodes exist already: take the stored state */
        dt->data_size -= zkd_node_size(n);
        if (zkd_node_set_data(n, data))
            return KZ_ENOMEM;
        dt->data_size += zkd_node_size(n);
        zkd_dt_acl_ref(dt, acl);
        zkd_dt_acl_unref_keep(dt, n->acl);
        n->acl = acl;
        if (n->stat.ephemeralOwner == st->ephemeralOwner) {
            n->stat = *st;
            return 0;
        }
        return KZ_ECORRUPT;
    }
    zkd_node *parent = zkd_dt_get(dt, path.s, zkd_parent_len(path.s, (size_t)path.len));
    if (!parent)
        return KZ_ECORRUPT;
    n = zkd_node_new(path.s, (size_t)path.len);
    if (!n || zkd_node_set_data(n, data)) {
        zkd_node_free(n);
        return KZ_ENOMEM;
    }
    n->acl = acl;
    n->stat = *st;
    if (zkd_dt_link(dt, parent, n)) {
        zkd_node_free(n);
        return KZ_ENOMEM;
    }
    zkd_dt_acl_ref(dt, acl);
    return 0;
}

int zkd_dt_walk(const zkd_datatree *dt, int (*fn)(void *ctx, const zkd_node *n), void *ctx)
{
    /* Iterative pre-order with an explicit stack: trees can be deep. */
    size_t cap = 64, top = 0;
    const zkd_node **stack = malloc(cap * sizeof *stack);
    if (!stack)
        return KZ_ENOMEM;
    stack[top++] = dt->root;
    int rc = 0;
    while (top && !rc) {
        const zkd_node *n = stack[--top];
        rc = fn(ctx, n);
        if (top + n->nkids > cap) {
            while (top + n->nkids > cap)
                cap *= 2;
            const zkd_node **s = realloc(stack, cap * sizeof *s);
            if (!s) {
                rc = KZ_ENOMEM;
                break;
            }
            stack = s;
        }
        for (uint32_t i = n->nkids; i-- > 0;)
            stack[top++] = n->kids[i];
    }
    free(stack);
    return rc;
}

/* ------------------------------------------------------------------ apply */

static void zkd_dt_fire(zkd_datatree *dt, int ev, const char *path, size_t len)
{
    if (dt->hooks.trigger)
        dt->hooks.trigger(dt->hooks.ctx, ev, path, (uint32_t)len);
}

typedef struct zkd_apply_ctx {
    zkd_datatree *dt;
    const zkd_TxnHeader *hdr;
    kz_arena *a;
} zkd_apply_ctx;

static int zkd_dt_create(zkd_apply_ctx *c, int32_t type, kz_str path, kz_str data, const kz_jvec *acl,
                         int64_t owner, int32_t parent_cversion, zkd_op_result *res)
{
    zkd_datatree *dt = c->dt;
    if (path.len <= 1 || path.s[0] != '/')
        return ZKD_ERR_BADARGUMENTS;
    size_t plen = zkd_parent_len(path.s, (size_t)path.len);
    zkd_node *parent = zkd_dt_get(dt, path.s, plen);
    if (!parent)
        return ZKD_ERR_NONODE;
    if (parent_cversion == -1)
        parent_cversion = (int32_t)((uint32_t)parent->stat.cversion + 1u); /* Java int: wraps */
    zkd_node *old = zkd_dt_get(dt, path.s, (size_t)path.len);
    if (old) {
        /* Replaying over a fuzzy snapshot: keep the parent's counters moving
         * (DataTree.processTxn does this for OpCode.create only). */
        if (type == ZKD_OP_CREATE && parent_cversion > parent->stat.cversion) {
            parent->stat.cversion = parent_cversion;
            parent->stat.pzxid = c->hdr->zxid;
        }
        return ZKD_ERR_NODEEXISTS;
    }
    zkd_node *n = zkd_node_new(path.s, (size_t)path.len);
    if (!n || zkd_node_set_data(n, data)) {
        zkd_node_free(n);
        return ZKD_ERR_SYSTEMERROR;
    }
    int64_t idx = zkd_dt_acl_intern(dt, acl);
    if (idx < -1) {
        zkd_node_free(n);
        return ZKD_ERR_SYSTEMERROR;
    }
    n->acl = idx;
    zkd_StatPersisted *s = &n->stat;
    s->czxid = s->mzxid = s->pzxid = c->hdr->zxid;
    s->ctime = s->mtime = c->hdr->time;
    s->ephemeralOwner = owner;
    if (zkd_dt_link(dt, parent, n)) {
        zkd_dt_acl_unref(dt, idx);
        zkd_node_free(n);
        return ZKD_ERR_SYSTEMERROR;
    }
    if (parent_cversion > parent->stat.cversion) {
        parent->stat.cversion = parent_cversion;
        parent->stat.pzxid = c->hdr->zxid;
    }
    res->path = kz_arena_strdup(c->a, path);
    zkd_node_stat(n, &res->stat);
    /* One node event: the watch manager also notifies the parent's child
     * watches (zkd_watch_trigger), so no separate NodeChildrenChanged. */
    zkd_dt_fire(dt, ZKD_EV_CREATED, n->path, n->path_len);
    return 0;
}

static int zkd_dt_delete(zkd_apply_ctx *c, kz_str path)
{
    zkd_datatree *dt = c->dt;
    if (path.len <= 1)
        return ZKD_ERR_BADARGUMENTS;
    zkd_node *n = zkd_dt_get(dt, path.s, (size_t)path.len);
    if (!n) {
        /* DataTree.deleteNode updates the parent's pzxid before it finds the
         * child missing (a fuzzy snapshot may already lack it). */
        zkd_node *p = zkd_dt_get(dt, path.s, zkd_parent_len(path.s, (size_t)path.len));
        if (p && c->hdr->zxid > p->stat.pzxid)
            p->stat.pzxid = c->hdr->zxid;
        return ZKD_ERR_NONODE;
    }
    if (n->nkids)
        return ZKD_ERR_NOTEMPTY;
    zkd_node *parent = n->parent;
    zkd_dt_unlink(dt, n);
    if (c->hdr->zxid > parent->stat.pzxid)
        parent->stat.pzxid = c->hdr->zxid;
    zkd_dt_fire(dt, ZKD_EV_DELETED, n->path, n->path_len); /* parent: see zkd_dt_create */
    zkd_node_free(n);
    return 0;
}

static int zkd_dt_apply_one(zkd_apply_ctx *c, int32_t type, kz_rd *r, zkd_op_result *res);

static int zkd_dt_apply_multi(zkd_apply_ctx *c, kz_rd *r, zkd_apply_result *out)
{
    zkd_MultiTxn mt;
    int rc = zkd_decode(MultiTxn, r, &mt, c->a);
    if (rc)
        return rc;
    const zkd_Txn *txns = mt.txns.v;
    int32_t n = mt.txns.n < 0 ? 0 : mt.txns.n;
    bool failed = false;
    for (int32_t i = 0; i < n; i++)
        failed |= txns[i].type == ZKD_OP_ERROR;
    out->multi = n ? kz_arena_alloc(c->a, sizeof *out->multi * (size_t)n) : NULL;
    if (n && !out->multi)
        return KZ_ENOMEM;
    out->nmulti = n;
    bool post_failed = false;
    for (int32_t i = 0; i < n; i++) {
        zkd_op_result *sub = &out->multi[i];
        kz_rd sr = kz_rd_init(txns[i].data.s, txns[i].data.len > 0 ? (size_t)txns[i].data.len : 0);
        if (failed && txns[i].type != ZKD_OP_ERROR) {
            sub->type = ZKD_OP_ERROR;
            sub->err = post_failed ? ZKD_ERR_RUNTIMEINCONSISTENCY : 0;
            continue;
        }
        if (txns[i].type == ZKD_OP_ERROR)
            post_failed = true;
        if ((rc = zkd_dt_apply_one(c, txns[i].type, &sr, sub)) != 0)
            return rc;
        if (sub->err && !out->r.err)
            out->r.err = sub->err;
    }
    return 0;
}

/* Applies a non-multi txn of @type from @r. Returns a decode error, or 0
 * with res->err set to the txn's own outcome. */
static int zkd_dt_apply_one(zkd_apply_ctx *c, int32_t type, kz_rd *r, zkd_op_result *res)
{
    zkd_datatree *dt = c->dt;
    kz_arena *a = c->a;
    int rc = 0;
    res->type = type;
    switch (type) {
    case ZKD_OP_CREATE:
    case ZKD_OP_CREATE2: {
        zkd_CreateTxn t;
        const uint8_t *start = r->p;
        rc = zkd_decode(CreateTxn, r, &t, a);
        if (rc) { /* legacy CreateTxnV0 without parentCVersion */
            zkd_CreateTxnV0 t0;
            *r = kz_rd_init(start, (size_t)(r->end - start));
            if ((rc = zkd_decode(CreateTxnV0, r, &t0, a)) != 0)
                return rc;
            t = (zkd_CreateTxn){ t0.path, t0.data, t0.acl, t0.ephemeral, -1 };
        }
        res->err = zkd_dt_create(c, type, t.path, t.data, &t.acl, t.ephemeral ? c->hdr->clientId : 0,
                                 t.parentCVersion, res);
        break;
    }
    case ZKD_OP_CREATE_CONTAINER: {
        zkd_CreateContainerTxn t;
        if ((rc = zkd_decode(CreateContainerTxn, r, &t, a)) != 0)
            return rc;
        res->err = zkd_dt_create(c, type, t.path, t.data, &t.acl, ZKD_OWNER_CONTAINER, t.parentCVersion, res);
        break;
    }
    case ZKD_OP_CREATE_TTL: {
        zkd_CreateTTLTxn t;
        if ((rc = zkd_decode(CreateTTLTxn, r, &t, a)) != 0)
            return rc;
        res->err = zkd_dt_create(c, type, t.path, t.data, &t.acl, zkd_owner_ttl(t.ttl), t.parentCVersion, res);
        break;
    }
    case ZKD_OP_DELETE:
    case ZKD_OP_DELETE_CONTAINER: {
        zkd_DeleteTxn t;
        if ((rc = zkd_decode(DeleteTxn, r, &t, a)) != 0)
            return rc;
        res->err = zkd_dt_delete(c, t.path);
        break;
    }
    case ZKD_OP_SET_DATA:
    case ZKD_OP_RECONFIG: {
        zkd_SetDataTxn t;
        if ((rc = zkd_decode(SetDataTxn, r, &t, a)) != 0)
            return rc;
        zkd_node *n = t.path.len > 0 ? zkd_dt_get(dt, t.path.s, (size_t)t.path.len) : NULL;
        if (!n) {
            res->err = ZKD_ERR_NONODE;
            break;
        }
        dt->data_size -= zkd_node_size(n);
        if (zkd_node_set_data(n, t.data)) {
            dt->data_size += zkd_node_size(n);
            res->err = ZKD_ERR_SYSTEMERROR;
            break;
        }
        dt->data_size += zkd_node_size(n);
        n->stat.mtime = c->hdr->time;
        n->stat.mzxid = c->hdr->zxid;
        n->stat.version = t.version;
        zkd_node_stat(n, &res->stat);
        zkd_dt_fire(dt, ZKD_EV_DATA_CHANGED, n->path, n->path_len);
        break;
    }
    case ZKD_OP_SET_ACL: {
        zkd_SetACLTxn t;
        if ((rc = zkd_decode(SetACLTxn, r, &t, a)) != 0)
            return rc;
        zkd_node *n = t.path.len > 0 ? zkd_dt_get(dt, t.path.s, (size_t)t.path.len) : NULL;
        if (!n) {
            res->err = ZKD_ERR_NONODE;
            break;
        }
        int64_t idx = zkd_dt_acl_intern(dt, &t.acl);
        if (idx < -1) {
            res->err = ZKD_ERR_SYSTEMERROR;
            break;
        }
        if (idx >= 0 && idx == n->acl)
            idx = zkd_dt_acl_renumber(dt, idx);
        else
            zkd_dt_acl_unref(dt, n->acl);
        n->acl = idx;
        n->stat.aversion = t.version;
        zkd_node_stat(n, &res->stat);
        break;
    }
    case ZKD_OP_CREATE_SESSION: {
        zkd_CreateSessionTxn t;
        if ((rc = zkd_decode(CreateSessionTxn, r, &t, a)) != 0)
            return rc;
        if (zkd_dt_session_put(dt, c->hdr->clientId, t.timeOut))
            res->err = ZKD_ERR_SYSTEMERROR;
        break;
    }
    case ZKD_OP_CLOSE_SESSION: {
        /* Older logs have no body: fall back to the ephemerals we know. */
        zkd_CloseSessionTxn t = { { 0, NULL } };
        if (kz_rd_left(r) > 0 && (rc = zkd_decode(CloseSessionTxn, r, &t, a)) != 0)
            return rc;
        /* DataTree.killSession: the paths of the txn first, in its order
         * (missing ones are ignored), then what the session still owns. */
        const kz_str *tp = t.paths2Delete.v;
        for (int32_t i = 0; i < t.paths2Delete.n; i++)
            if (tp[i].len > 0)
                zkd_dt_delete(c, tp[i]);
        size_t ne;
        zkd_node *const *eph = zkd_dt_ephemerals(dt, c->hdr->clientId, &ne);
        /* Copy the paths first: deleting changes the ephemeral list. */
        kz_str *paths = ne ? kz_arena_alloc(a, ne * sizeof *paths) : NULL;
        for (size_t i = 0; paths && i < ne; i++)
            paths[i] = kz_arena_strdup(a, (kz_str){ eph[i]->path, (int32_t)eph[i]->path_len });
        for (size_t i = 0; paths && i < ne; i++)
            zkd_dt_delete(c, paths[i]);
        kz_map_del(&dt->sessions, c->hdr->clientId, NULL);
        break;
    }
    case ZKD_OP_ERROR: {
        zkd_ErrorTxn t;
        if ((rc = zkd_decode(ErrorTxn, r, &t, a)) != 0)
            return rc;
        res->err = t.err;
        break;
    }
    case ZKD_OP_CHECK: {
        zkd_CheckVersionTxn t;
        if ((rc = zkd_decode(CheckVersionTxn, r, &t, a)) != 0)
            return rc;
        break;
    }
    default:
        return KZ_ECORRUPT;
    }
    return 0;
}

int zkd_txn_header(const uint8_t *txn, size_t len, zkd_TxnHeader *hdr)
{
    kz_rd r = kz_rd_init(txn, len);
    kz_arena a = KZ_ARENA_INIT; /* the header has no allocations */
    return zkd_decode(TxnHeader, &r, hdr, &a);
}

int zkd_dt_apply(zkd_datatree *dt, const uint8_t *txn, size_t len, zkd_apply_result *res, kz_arena *a)
{
    zkd_TxnHeader hdr;
    kz_rd r = kz_rd_init(txn, len);
    memset(res, 0, sizeof *res);
    if (zkd_decode(TxnHeader, &r, &hdr, a))
        return KZ_ECORRUPT;
    zkd_apply_ctx c = { dt, &hdr, a };
    int rc = hdr.type == ZKD_OP_MULTI ? zkd_dt_apply_multi(&c, &r, res)
                                      : zkd_dt_apply_one(&c, hdr.type, &r, &res->r);
    res->r.type = hdr.type;
    if (rc)
        return rc == KZ_ENOMEM ? rc : KZ_ECORRUPT;
    if (hdr.zxid > dt->last_zxid)
        dt->last_zxid = hdr.zxid;
    return 0;
}
