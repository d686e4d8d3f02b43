/* coordinator/zkd_datatree.h -- the in-memory znode tree (no I/O).
 *
 * Holds every znode (path -> node hash, parent/children links), the
 * reference-counted ACL cache (as ZooKeeper's snapshot stores it), the
 * ephemeral nodes of each session, container and TTL node sets, and the
 * table of live sessions with their timeouts (createSession/closeSession are
 * txns and the snapshot carries the table).
 *
 * The tree changes only by applying serialized txns (TxnHeader + body, the
 * bytes of a txn-log entry): the request pipeline, log replay and (later)
 * quorum followers all go through zkd_dt_apply, so replay is the live path.
 * Watch triggers are reported through the hook in zkd_dt_hooks.
 *
 * Invariants: every node but "/" has its parent in the tree; a parent's
 * kids[] holds exactly its children; node->stat never changes outside apply.
 * Locality: zkd loop thread only (a forked child may read it for snapshots). */
#ifndef ZKD_DATATREE_H
#define ZKD_DATATREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zkd_records.h"

/* Node-level special ephemeralOwner values (EphemeralType.java). */
#define ZKD_OWNER_CONTAINER ((int64_t)0x8000000000000000ULL)
#define ZKD_TTL_MASK        ((int64_t)0xFFFFFFFFFFLL) /* TTL value bits */
static inline bool zkd_owner_is_ttl(int64_t owner) { return ((uint64_t)owner >> 56) == 0xFF; }
static inline bool zkd_owner_is_session(int64_t owner)
{
    return owner != 0 && owner != ZKD_OWNER_CONTAINER && !zkd_owner_is_ttl(owner);
}
static inline int64_t zkd_owner_ttl(int64_t ttl) { return (int64_t)(0xFF00000000000000ULL | (uint64_t)(ttl & ZKD_TTL_MASK)); }
static inline int64_t zkd_owner_ttl_value(int64_t owner) { return owner & ZKD_TTL_MASK; }

#define ZKD_ACL_OPEN_UNSAFE (-1) /* acl index of world:anyone ALL, never stored */

typedef struct zkd_node zkd_node;
struct zkd_node {
    char *path;          /* full path, NUL-terminated; "" never (root is "/") */
    uint32_t path_len;
    uint32_t hash;
    zkd_node *hnext;     /* hash chain */
    zkd_node *parent;
    zkd_node **kids;
    uint32_t nkids, kids_cap;
    uint32_t idx_in_parent;
    int32_t eph_idx;     /* index in the owner's ephemeral list, or -1 */
    int32_t set_idx;     /* index in the container/TTL list, or -1 */
    uint8_t *data;
    int32_t data_len;    /* -1: null data */
    int64_t acl;         /* ACL cache index */
    zkd_StatPersisted stat;
};

/* Name of @n within its parent (points into n->path). */
static inline const char *zkd_node_name(const zkd_node *n)
{
    const char *p = n->path + n->path_len;
    while (p > n->path && p[-1] != '/')
        p--;
    return p;
}

/* Watch trigger kinds reported by apply (Watcher.Event.EventType values). */
enum {
    ZKD_EV_NONE = -1,
    ZKD_EV_CREATED = 1,
    ZKD_EV_DELETED = 2,
    ZKD_EV_DATA_CHANGED = 3,
    ZKD_EV_CHILDREN_CHANGED = 4,
};

typedef struct zkd_dt_hooks {
    /* A node event: the watch manager decides who hears it. May be NULL. */
    void (*trigger)(void *ctx, int event, const char *path, uint32_t path_len);
    void *ctx;
} zkd_dt_hooks;

typedef struct zkd_datatree zkd_datatree;

/* A new tree with "/", "/zookeeper", "/zookeeper/quota" and "/zookeeper/config"
 * as ZooKeeper 3.8 creates them. NULL on out of memory. */
zkd_datatree *zkd_dt_new(void);
void zkd_dt_free(zkd_datatree *dt);
void zkd_dt_set_hooks(zkd_datatree *dt, const zkd_dt_hooks *h);

zkd_node *zkd_dt_get(const zkd_datatree *dt, const char *path, size_t len);
size_t zkd_dt_node_count(const zkd_datatree *dt);
/* Sum of path lengths + data lengths (ZooKeeper's approximate data size). */
int64_t zkd_dt_approx_size(const zkd_datatree *dt);
int64_t zkd_dt_last_zxid(const zkd_datatree *dt);
void zkd_dt_set_last_zxid(zkd_datatree *dt, int64_t zxid);
/* Wire Stat of @n (adds dataLength and numChildren). */
void zkd_node_stat(const zkd_node *n, zkd_Stat *out);

/* ACL cache. intern returns the index of an identical list (adding one if
 * new) and takes a reference; an index of -1 is world:anyone ALL only when
 * the list is null. Returns -2 on out of memory. */
int64_t zkd_dt_acl_intern(zkd_datatree *dt, const kz_jvec *acl);
void zkd_dt_acl_unref(zkd_datatree *dt, int64_t idx);
/* The ACL list of @idx (world:anyone ALL for -1); NULL if unknown. */
const kz_jvec *zkd_dt_acl_get(const zkd_datatree *dt, int64_t idx);
/* Snapshot access: number of cached lists and iteration in index order. */
size_t zkd_dt_acl_count(const zkd_datatree *dt);
int zkd_dt_acl_walk(const zkd_datatree *dt, int (*fn)(void *ctx, int64_t idx, const kz_jvec *acl), void *ctx);

/* Sessions table (session id -> negotiated timeout). */
int zkd_dt_session_put(zkd_datatree *dt, int64_t sid, int32_t timeout);
bool zkd_dt_session_get(const zkd_datatree *dt, int64_t sid, int32_t *timeout);
size_t zkd_dt_session_count(const zkd_datatree *dt);
int zkd_dt_session_walk(const zkd_datatree *dt, int (*fn)(void *ctx, int64_t sid, int32_t timeout), void *ctx);
/* Ephemeral nodes of @sid (borrowed; valid until the next apply). */
zkd_node *const *zkd_dt_ephemerals(const zkd_datatree *dt, int64_t sid, size_t *n);
/* All sessions owning ephemerals, for dump and mntr. */
int zkd_dt_ephemeral_walk(const zkd_datatree *dt, int (*fn)(void *ctx, int64_t sid, zkd_node *const *nodes, size_t n), void *ctx);
size_t zkd_dt_ephemeral_count(const zkd_datatree *dt);
/* Container and TTL nodes, for the container manager. */
zkd_node *const *zkd_dt_containers(const zkd_datatree *dt, size_t *n);
zkd_node *const *zkd_dt_ttls(const zkd_datatree *dt, size_t *n);

/* Snapshot restore: add a node under its (already restored) parent; the
 * root arrives as path "" or "/" and replaces the initial root's data/stat.
 * Children counts come from the links. Returns 0 or a KZ_E* code. */
/* Ensemble mode: /zookeeper/config holds the membership text, set outside
 * the txn stream as ZooKeeper's initConfigInZKDatabase does. 0 or KZ_E*. */
int zkd_dt_set_config(zkd_datatree *dt, const char *text, size_t len, int64_t mtime);
int zkd_dt_restore_node(zkd_datatree *dt, kz_str path, kz_str data, int64_t acl, const zkd_StatPersisted *st);
/* Snapshot restore of one ACL cache entry (index as stored). */
int zkd_dt_acl_restore(zkd_datatree *dt, int64_t idx, const kz_jvec *acl);
/* After the last node of a snapshot: drops the ACL entries no node uses
 * (ZooKeeper's ReferenceCountedACLCache.purgeUnused). Until then restore
 * keeps entries whose count drops to zero. */
void zkd_dt_acl_purge_unused(zkd_datatree *dt);
/* Pre-order walk (parent before children), the order snapshots use. */
int zkd_dt_walk(const zkd_datatree *dt, int (*fn)(void *ctx, const zkd_node *n), void *ctx);

/* Result of applying one txn (or one op of a multi). */
typedef struct zkd_op_result {
    int32_t type;  /* txn type applied (opcode), -1 for error */
    int32_t err;   /* ZooKeeper error code, 0 on success */
    kz_str path;   /* created path (arena copy) */
    zkd_Stat stat; /* node stat after create/setData/setACL */
} zkd_op_result;

typedef struct zkd_apply_result {
    zkd_op_result r;       /* the txn itself */
    zkd_op_result *multi;  /* per-op results of a multi (arena) */
    int32_t nmulti;
} zkd_apply_result;

/* Applies one serialized txn: TxnHeader, the record for its type, and an
 * optional TxnDigest (ignored). Sets last zxid to the header's zxid.
 * Returns 0 when applied (res->r.err may still carry the txn's own error,
 * e.g. NODEEXISTS while replaying over a fuzzy snapshot), or KZ_ECORRUPT
 * when the bytes cannot be decoded. @a holds result strings. */
int zkd_dt_apply(zkd_datatree *dt, const uint8_t *txn, size_t len, zkd_apply_result *res, kz_arena *a);

/* Decoded header of a serialized txn (for logs and tools). */
int zkd_txn_header(const uint8_t *txn, size_t len, zkd_TxnHeader *hdr);

#endif
