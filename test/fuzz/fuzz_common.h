/* test/fuzz/fuzz_common.h -- helpers shared by the libFuzzer harnesses:
 * a fatal check macro, a per-process scratch directory, the datatree
 * invariant checker and a tree comparator.
 *
 * Header-only (static functions) because the Makefile builds each harness
 * from its one .c file plus the project sources.
 *
 * Datatree invariants checked by fz_dt_check (zkd_datatree.h):
 *   - a pre-order walk from "/" reaches exactly zkd_dt_node_count nodes, and
 *     each is found again by zkd_dt_get(path) (hash and links agree);
 *   - every node but the root has the parent that zkd_dt_get(parent path)
 *     returns, and sits at kids[idx_in_parent] of it; every kid points back;
 *     the kids arrays together hold node_count - 1 entries (numChildren of
 *     each node equals the number of nodes whose parent it is);
 *   - ephemeral, container and TTL nodes are exactly the members of the
 *     per-session / container / TTL sets, at their recorded indexes;
 *     zkd_dt_ephemeral_count and the ephemeral walk agree;
 *   - zkd_dt_approx_size is the sum of path and data lengths;
 *   - with FZ_DT_STRICT_ACL (trees built only by txns): every node's ACL
 *     index resolves and the ACL cache holds exactly the indexes in use (so
 *     reference counts neither leak nor drop an entry early). */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kz_buf.h"
#include "zkd_datatree.h"

#define FZ_CHECK(cond, ...)                                                                       \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "fuzz: check failed: %s (%s:%d): ", #cond, __FILE__, __LINE__);        \
            fprintf(stderr, __VA_ARGS__);                                                         \
            fputc('\n', stderr);                                                                  \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

#define FZ_UNUSED __attribute__((unused))

/* ------------------------------------------------------- scratch directory */

static int fz_rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(p);
    return 0;
}

/* rm -rf @path (best effort). */
static FZ_UNUSED void fz_rm_rf(const char *path) { nftw(path, fz_rm_cb, 16, FTW_DEPTH | FTW_PHYS); }

/* Removes every entry inside @dir, keeping @dir. */
static FZ_UNUSED void fz_empty_dir(const char *dir)
{
    fz_rm_rf(dir);
    FZ_CHECK(mkdir(dir, 0755) == 0, "mkdir %s: %s", dir, strerror(errno));
}

/* Creates a fresh directory for this process under $TMPDIR (or /tmp) into
 * @out. The caller registers its own atexit cleanup if it wants one
 * (test/fuzz/run.sh points TMPDIR at a directory it removes). */
static FZ_UNUSED void fz_make_tmpdir(char *out, size_t cap, const char *tag)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    snprintf(out, cap, "%s/zkd-%s-XXXXXX", base, tag);
    FZ_CHECK(mkdtemp(out) != NULL, "mkdtemp %s: %s", out, strerror(errno));
}

/* Writes @len bytes to @path (created or truncated). */
static FZ_UNUSED void fz_write_file(const char *path, const uint8_t *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    FZ_CHECK(f != NULL, "fopen %s: %s", path, strerror(errno));
    FZ_CHECK(len == 0 || fwrite(p, 1, len, f) == len, "fwrite %s", path);
    FZ_CHECK(fclose(f) == 0, "fclose %s", path);
}

/* ------------------------------------------------------ datatree checking */

enum { FZ_DT_STRICT_ACL = 1 };

typedef struct fz_walk {
    const zkd_datatree *dt;
    int flags;
    size_t nodes, kids_total, eph, containers, ttls;
    int64_t data_size;
    int64_t *acls; /* distinct ACL indexes in use (>= 0) */
    size_t nacls, acls_cap;
    uint32_t sink;
} fz_walk;

static size_t fz_parent_len(const char *p, size_t len)
{
    while (len > 0 && p[len - 1] != '/')
        len--;
    return len > 1 ? len - 1 : 1;
}

static void fz_walk_acl(fz_walk *w, int64_t idx)
{
    if (idx < 0)
        return;
    for (size_t i = 0; i < w->nacls; i++)
        if (w->acls[i] == idx)
            return;
    if (w->nacls == w->acls_cap) {
        w->acls_cap = w->acls_cap ? w->acls_cap * 2 : 16;
        w->acls = realloc(w->acls, w->acls_cap * sizeof *w->acls);
        FZ_CHECK(w->acls != NULL, "out of memory");
    }
    w->acls[w->nacls++] = idx;
}

static int fz_walk_node(void *ctx, const zkd_node *n)
{
    fz_walk *w = ctx;
    const zkd_datatree *dt = w->dt;
    w->nodes++;
    FZ_CHECK(n->path && n->path[n->path_len] == '\0', "node path not terminated");
    FZ_CHECK(zkd_dt_get(dt, n->path, n->path_len) == n, "node %.*s not found by its path", (int)n->path_len, n->path);
    if (w->nodes == 1) {
        FZ_CHECK(n->parent == NULL && n->path_len == 1 && n->path[0] == '/', "walk does not start at the root");
    } else {
        FZ_CHECK(n->parent != NULL, "node %.*s has no parent", (int)n->path_len, n->path);
        FZ_CHECK(n->idx_in_parent < n->parent->nkids && n->parent->kids[n->idx_in_parent] == n,
                 "node %.*s not at its index in the parent", (int)n->path_len, n->path);
        FZ_CHECK(zkd_dt_get(dt, n->path, fz_parent_len(n->path, n->path_len)) == n->parent,
                 "node %.*s: parent is not the node of its parent path", (int)n->path_len, n->path);
    }
    FZ_CHECK(n->nkids <= n->kids_cap, "nkids > kids_cap");
    for (uint32_t i = 0; i < n->nkids; i++)
        FZ_CHECK(n->kids[i]->parent == n && n->kids[i]->idx_in_parent == i, "kid %u of %.*s does not point back", i,
                 (int)n->path_len, n->path);
    w->kids_total += n->nkids;
    zkd_Stat st;
    zkd_node_stat(n, &st);
    FZ_CHECK(st.numChildren == (int32_t)n->nkids, "numChildren");
    FZ_CHECK(n->data_len >= -1, "data_len %d", n->data_len);
    FZ_CHECK(st.dataLength == (n->data_len > 0 ? n->data_len : 0), "dataLength");
    FZ_CHECK(n->data_len <= 0 || n->data != NULL, "data missing");
    for (int32_t i = 0; i < n->data_len; i++) /* every data byte is readable */
        w->sink += n->data[i];
    w->data_size += (int64_t)n->path_len + (n->data_len > 0 ? n->data_len : 0);

    int64_t owner = n->stat.ephemeralOwner;
    if (zkd_owner_is_session(owner)) {
        size_t k;
        zkd_node *const *v = zkd_dt_ephemerals(dt, owner, &k);
        FZ_CHECK(n->eph_idx >= 0 && (size_t)n->eph_idx < k && v[n->eph_idx] == n,
                 "ephemeral %.*s not in its session's set", (int)n->path_len, n->path);
        w->eph++;
    } else if (owner == ZKD_OWNER_CONTAINER || zkd_owner_is_ttl(owner)) {
        size_t k;
        zkd_node *const *v = owner == ZKD_OWNER_CONTAINER ? zkd_dt_containers(dt, &k) : zkd_dt_ttls(dt, &k);
        FZ_CHECK(n->set_idx >= 0 && (size_t)n->set_idx < k && v[n->set_idx] == n,
                 "container/TTL node %.*s not in its set", (int)n->path_len, n->path);
        if (owner == ZKD_OWNER_CONTAINER)
            w->containers++;
        else
            w->ttls++;
    }
    if (w->flags & FZ_DT_STRICT_ACL) {
        FZ_CHECK(n->acl == ZKD_ACL_OPEN_UNSAFE || zkd_dt_acl_get(dt, n->acl) != NULL,
                 "node %.*s has unknown ACL index %lld", (int)n->path_len, n->path, (long long)n->acl);
        fz_walk_acl(w, n->acl);
    }
    return 0;
}

static int fz_eph_cb(void *ctx, int64_t sid, zkd_node *const *nodes, size_t n)
{
    size_t *total = ctx;
    FZ_CHECK(n > 0, "empty ephemeral set kept for session %lld", (long long)sid);
    for (size_t i = 0; i < n; i++)
        FZ_CHECK(nodes[i]->stat.ephemeralOwner == sid && nodes[i]->eph_idx == (int32_t)i,
                 "ephemeral set of %lld lists a node it does not own", (long long)sid);
    *total += n;
    return 0;
}

static FZ_UNUSED void fz_dt_check(const zkd_datatree *dt, int flags)
{
    fz_walk w = { .dt = dt, .flags = flags };
    FZ_CHECK(zkd_dt_walk(dt, fz_walk_node, &w) == 0, "walk failed");
    FZ_CHECK(w.nodes == zkd_dt_node_count(dt), "walk reached %zu nodes, tree has %zu", w.nodes,
             zkd_dt_node_count(dt));
    FZ_CHECK(w.kids_total + 1 == w.nodes, "children arrays hold %zu nodes, expected %zu", w.kids_total, w.nodes - 1);
    FZ_CHECK(w.eph == zkd_dt_ephemeral_count(dt), "ephemerals: %zu nodes, count %zu", w.eph,
             zkd_dt_ephemeral_count(dt));
    size_t eph_walk = 0;
    zkd_dt_ephemeral_walk(dt, fz_eph_cb, &eph_walk);
    FZ_CHECK(eph_walk == w.eph, "ephemeral walk %zu, nodes %zu", eph_walk, w.eph);
    size_t nc, nt;
    zkd_dt_containers(dt, &nc);
    zkd_dt_ttls(dt, &nt);
    FZ_CHECK(nc == w.containers && nt == w.ttls, "container/TTL sets %zu/%zu, nodes %zu/%zu", nc, nt, w.containers,
             w.ttls);
    FZ_CHECK(w.data_size == zkd_dt_approx_size(dt), "approx size %lld, sum %lld", (long long)zkd_dt_approx_size(dt),
             (long long)w.data_size);
    if (flags & FZ_DT_STRICT_ACL)
        FZ_CHECK(w.nacls == zkd_dt_acl_count(dt), "ACL cache holds %zu lists, nodes use %zu", zkd_dt_acl_count(dt),
                 w.nacls);
    free(w.acls);
}

/* --------------------------------------------------------- tree compare */

/* Whether the ACL lists are equal by value (NULL only equals NULL). */
static bool fz_acl_eq(const kz_jvec *a, const kz_jvec *b)
{
    if (!a || !b)
        return a == b;
    int32_t na = a->n < 0 ? 0 : a->n, nb = b->n < 0 ? 0 : b->n;
    if (na != nb)
        return false;
    const zkd_ACL *x = a->v, *y = b->v;
    for (int32_t i = 0; i < na; i++)
        if (x[i].perms != y[i].perms || !kz_str_eq(x[i].id.scheme, y[i].id.scheme) || !kz_str_eq(x[i].id.id, y[i].id.id))
            return false;
    return true;
}

enum { FZ_EQ_ACL_INDEX = 1, FZ_EQ_SESSIONS = 2 };

typedef struct fz_cmp {
    const zkd_datatree *a, *b;
    int flags;
    size_t matched;
} fz_cmp;

static int fz_cmp_node(void *ctx, const zkd_node *n)
{
    fz_cmp *c = ctx;
    const zkd_node *m = zkd_dt_get(c->b, n->path, n->path_len);
    FZ_CHECK(m != NULL, "node %.*s missing from the other tree", (int)n->path_len, n->path);
    FZ_CHECK(m->data_len == n->data_len && (n->data_len <= 0 || memcmp(m->data, n->data, (size_t)n->data_len) == 0),
             "node %.*s: data differs (%d vs %d bytes)", (int)n->path_len, n->path, n->data_len, m->data_len);
    const zkd_StatPersisted *x = &n->stat, *y = &m->stat;
    FZ_CHECK(x->czxid == y->czxid && x->mzxid == y->mzxid && x->ctime == y->ctime && x->mtime == y->mtime &&
                 x->version == y->version && x->cversion == y->cversion && x->aversion == y->aversion &&
                 x->ephemeralOwner == y->ephemeralOwner && x->pzxid == y->pzxid,
             "node %.*s: stat differs", (int)n->path_len, n->path);
    FZ_CHECK(m->nkids == n->nkids, "node %.*s: %u vs %u children", (int)n->path_len, n->path, n->nkids, m->nkids);
    FZ_CHECK(fz_acl_eq(zkd_dt_acl_get(c->a, n->acl), zkd_dt_acl_get(c->b, m->acl)), "node %.*s: ACL differs",
             (int)n->path_len, n->path);
    if (c->flags & FZ_EQ_ACL_INDEX)
        FZ_CHECK(n->acl == m->acl, "node %.*s: ACL index %lld vs %lld", (int)n->path_len, n->path, (long long)n->acl,
                 (long long)m->acl);
    c->matched++;
    return 0;
}

static int fz_sess_cb(void *ctx, int64_t sid, int32_t timeout)
{
    const zkd_datatree *b = ctx;
    int32_t t;
    FZ_CHECK(zkd_dt_session_get(b, sid, &t) && t == timeout, "session %lld differs", (long long)sid);
    return 0;
}

/* Checks that @a and @b hold the same paths with the same data, stat,
 * children count and ACL (by value; also by index with FZ_EQ_ACL_INDEX), and
 * with FZ_EQ_SESSIONS the same session table. */
static FZ_UNUSED void fz_dt_equal(const zkd_datatree *a, const zkd_datatree *b, int flags)
{
    fz_cmp c = { a, b, flags, 0 };
    FZ_CHECK(zkd_dt_walk(a, fz_cmp_node, &c) == 0, "walk failed");
    FZ_CHECK(zkd_dt_node_count(b) == c.matched, "trees have %zu and %zu nodes", c.matched, zkd_dt_node_count(b));
    if (flags & FZ_EQ_SESSIONS) {
        FZ_CHECK(zkd_dt_session_count(a) == zkd_dt_session_count(b), "session tables differ in size (%zu vs %zu)",
                 zkd_dt_session_count(a), zkd_dt_session_count(b));
        zkd_dt_session_walk(a, fz_sess_cb, (void *)b);
    }
}

/* Whether @dt still has the four system nodes as plain persistent nodes: a
 * snapshot of it then restores onto zkd_dt_new (ZooKeeper's own trees
 * always do; only hand-made txns can delete them). */
static FZ_UNUSED bool fz_dt_system_intact(const zkd_datatree *dt)
{
    static const char *const sys[] = { "/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config" };
    for (size_t i = 0; i < sizeof sys / sizeof *sys; i++) {
        const zkd_node *n = zkd_dt_get(dt, sys[i], strlen(sys[i]));
        if (!n || n->stat.ephemeralOwner != 0)
            return false;
    }
    return true;
}

#endif
