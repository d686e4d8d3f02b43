/* common/kz_zkc.h -- libzookeeper_mt wrapper whose every result arrives on
 * the loop thread.
 *
 * libzookeeper_mt runs its own I/O and completion threads. Its callbacks here
 * only copy what they were given (rc, path, data, stat, children, multi
 * results) into a heap message and post it through a kz_loopq; the user's
 * (fn, ctx) then runs on the thread of the event_base given to kz_zkc_new.
 * No user state is ever touched from a library thread.
 *
 * Calls and callbacks:
 *   - Every operation returns 0 when it was submitted: its completion then
 *     runs exactly once, later, on the loop thread (never from inside the
 *     call). Any other return (a KZ_Z* code: KZ_ZINVALIDSTATE,
 *     KZ_ZCONNECTIONLOSS while the session is being replaced or the chroot
 *     created, KZ_ZSYSTEMERROR when out of memory, KZ_ZBADARGUMENTS) means
 *     nothing was sent and the completion will not run.
 *   - Results are borrowed: valid during the completion only.
 *   - Watches are one-shot and per call: (wfn, wctx) runs once on the loop
 *     thread with the event type and path, unless the session expires first
 *     (then it never runs: the EXPIRED session event tells the user to set
 *     watches again). A watch that the server did not set (get or children
 *     of a missing node, any failed call) is forgotten at its completion.
 *   - kz_zkc_free answers every request still pending before it returns
 *     (queued results as they came, the rest with KZ_ZCLOSING) and runs no
 *     watch; after it returns no callback of any kind runs. Requests made
 *     from those completions fail at once with KZ_ZCLOSING. kz_zkc_free may
 *     be called from inside any callback; then results already queued
 *     behind that callback are dropped unanswered.
 *
 * Session (on_session, loop thread):
 *
 *     new --> [chroot bootstrap] --> CONNECTING --CONNECTED--> connected
 *                                      ^   |                    |   ^
 *             CONNECT_TIMEOUT (once) --+   |         DISCONNECTED   | CONNECTED
 *                                          |                    v   | (same session)
 *                                          +------------------- reconnecting
 *     reconnecting --EXPIRED--> a fresh handle is created --> CONNECTING ...
 *
 *   KZ_ZKC_CONNECTED     a session is usable (@session_id); after EXPIRED
 *                        this is a new session: register ephemerals and
 *                        watches again
 *   KZ_ZKC_DISCONNECTED  connection lost; the session may still be alive and
 *                        the library reconnects by itself
 *   KZ_ZKC_EXPIRED       the session is gone; the wrapper has already opened
 *                        a new handle (operations submitted from here on go
 *                        to it); CONNECTED follows
 *   KZ_ZKC_AUTH_FAILED   authentication failed; the handle is dead
 *   KZ_ZKC_CONNECT_TIMEOUT the first connection was not made within the
 *                        connection timeout (zookeeper.connection.timeout.ms):
 *                        Kafka then stops with "Timed out waiting for
 *                        connection while in state: <kz_zkc_state_name>".
 *                        The wrapper keeps trying until freed.
 *
 * Chroot: "host:port,host:port/kafka" is supported as the C client does, and,
 * as Kafka does at start-up, the chroot path is first created (with its
 * parents) through a handle without the chroot, before the real handle is
 * opened. No event is reported for that bootstrap handle.
 * ACLs: every node is created world:anyone with all permissions (Kafka's
 * default without zookeeper.set.acl).
 * Logging: the C client's own lines go to kz_log at WARN (its ERROR lines at
 * ERROR); its level is set to WARN.
 * Locality: every function runs on the loop thread of @base. */
#ifndef KZ_ZKC_H
#define KZ_ZKC_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;

typedef struct kz_zkc kz_zkc;

/* ZooKeeper's result codes (the values of the C client's ZOO_ERRORS). */
enum {
    KZ_ZOK = 0,
    KZ_ZSYSTEMERROR = -1,
    KZ_ZRUNTIMEINCONSISTENCY = -2,
    KZ_ZDATAINCONSISTENCY = -3,
    KZ_ZCONNECTIONLOSS = -4,
    KZ_ZMARSHALLINGERROR = -5,
    KZ_ZUNIMPLEMENTED = -6,
    KZ_ZOPERATIONTIMEOUT = -7,
    KZ_ZBADARGUMENTS = -8,
    KZ_ZINVALIDSTATE = -9,
    KZ_ZAPIERROR = -100,
    KZ_ZNONODE = -101,
    KZ_ZNOAUTH = -102,
    KZ_ZBADVERSION = -103,
    KZ_ZNOCHILDRENFOREPHEMERALS = -108,
    KZ_ZNODEEXISTS = -110,
    KZ_ZNOTEMPTY = -111,
    KZ_ZSESSIONEXPIRED = -112,
    KZ_ZINVALIDCALLBACK = -113,
    KZ_ZINVALIDACL = -114,
    KZ_ZAUTHFAILED = -115,
    KZ_ZCLOSING = -116,
    KZ_ZNOTHING = -117,
    KZ_ZSESSIONMOVED = -118,
};

/* Watch event types (the values of ZOO_*_EVENT). */
enum {
    KZ_ZKC_EV_CREATED = 1,
    KZ_ZKC_EV_DELETED = 2,
    KZ_ZKC_EV_CHANGED = 3,
    KZ_ZKC_EV_CHILD = 4,
    KZ_ZKC_EV_NOTWATCHING = -2,
};

/* Create flags. */
enum {
    KZ_ZKC_PERSISTENT = 0,
    KZ_ZKC_EPHEMERAL = 1,
    KZ_ZKC_SEQUENTIAL = 2,   /* ZooKeeper appends a 10-digit counter */
    KZ_ZKC_PARENTS = 0x100,  /* create: on NONODE, create the missing ancestors
                                (persistent, null data) and retry once */
};

typedef enum {
    KZ_ZKC_CONNECTED,
    KZ_ZKC_DISCONNECTED,
    KZ_ZKC_EXPIRED,
    KZ_ZKC_AUTH_FAILED,
    KZ_ZKC_CONNECT_TIMEOUT,
} kz_zkc_session_event;

/* A znode's Stat. */
typedef struct kz_zkc_stat {
    int64_t czxid, mzxid, ctime, mtime;
    int32_t version, cversion, aversion;
    int64_t ephemeral_owner;
    int32_t data_length, num_children;
    int64_t pzxid;
} kz_zkc_stat;

/* One operation of a multi. Inputs are copied at submission. */
typedef enum { KZ_ZKC_OP_CREATE, KZ_ZKC_OP_DELETE, KZ_ZKC_OP_SET, KZ_ZKC_OP_CHECK } kz_zkc_op_type;
typedef struct kz_zkc_op {
    kz_zkc_op_type type;
    const char *path;
    const void *data; /* CREATE, SET; NULL with len -1 for a null value */
    int32_t len;
    int flags;        /* CREATE: KZ_ZKC_EPHEMERAL / KZ_ZKC_SEQUENTIAL */
    int32_t version;  /* DELETE, SET, CHECK; -1 = any (not for CHECK) */
} kz_zkc_op;

typedef struct kz_zkc_op_result {
    int rc;
    const char *path;  /* CREATE: the created path (with its sequence) */
    kz_zkc_stat stat;  /* SET: the new stat */
    bool has_stat;
} kz_zkc_op_result;

/* What an operation returns; fields not produced by it are zero/NULL. */
typedef struct kz_zkc_result {
    int rc;
    const char *path;         /* the operation's path; create: the created path */
    const char *data;         /* get: the value, NULL for a null znode */
    int32_t data_len;         /* -1 for null */
    kz_zkc_stat stat;         /* exists, get, set, children, create */
    bool has_stat;
    const char *const *children; /* children: names (not paths), server order */
    int32_t n_children;
    const kz_zkc_op_result *ops; /* multi: one per op, in order */
    int32_t n_ops;
} kz_zkc_result;

typedef void kz_zkc_done_fn(void *ctx, const kz_zkc_result *res);
typedef void kz_zkc_watch_fn(void *ctx, int type, const char *path);
typedef void kz_zkc_session_fn(void *ctx, kz_zkc_session_event ev, int64_t session_id);

/* Opens a session to @connect ("h:p[,h:p...][/chroot]") on @base.
 * @session_timeout_ms: requested session timeout (zookeeper.session.timeout.ms).
 * @connection_timeout_ms: time allowed for the first connection; <= 0 uses
 * @session_timeout_ms (Kafka's default for zookeeper.connection.timeout.ms).
 * Returns NULL (logged) on a bad connect string or when out of memory. */
kz_zkc *kz_zkc_new(struct event_base *base, const char *connect, int session_timeout_ms,
                   int connection_timeout_ms, kz_zkc_session_fn *on_session, void *ctx);

/* Closes the session (ephemerals go at once) and frees everything. Pending
 * requests are answered during the call (KZ_ZCLOSING unless their result had
 * already arrived), so their owners must still be alive; watches are dropped
 * without being called. Blocks for the close handshake (bounded by the
 * library). NULL-safe. */
void kz_zkc_free(kz_zkc *z);

/* Whether a session is currently connected, its id (0 when none) and, for
 * tests, its 16-byte password. */
bool kz_zkc_connected(const kz_zkc *z);
int64_t kz_zkc_session_id(const kz_zkc *z);
void kz_zkc_session_passwd(const kz_zkc *z, char passwd[16]);
/* The negotiated session timeout (0 until connected). */
int kz_zkc_session_timeout(const kz_zkc *z);
/* The connection state as Java's ZooKeeper.States names it: "CONNECTING",
 * "CONNECTED", "AUTH_FAILED", "CLOSED", ... */
const char *kz_zkc_state_name(const kz_zkc *z);

/* The C client's text for a KZ_Z* code. */
const char *kz_zkc_strerror(int rc);

/* ---- operations (see the contract at the top) ---- */

/* Creates @path with @len bytes of @data (NULL with -1: a null value).
 * Result: path = the created path, stat when available. */
int kz_zkc_create(kz_zkc *z, const char *path, const void *data, int32_t len, int flags,
                  kz_zkc_done_fn *fn, void *ctx);
/* Creates @path persistent with null data and its missing ancestors;
 * NODEEXISTS on @path counts as success (rc KZ_ZOK). */
int kz_zkc_ensure_path(kz_zkc *z, const char *path, kz_zkc_done_fn *fn, void *ctx);
int kz_zkc_delete(kz_zkc *z, const char *path, int32_t version, kz_zkc_done_fn *fn, void *ctx);
/* Result: rc KZ_ZOK with stat, or KZ_ZNONODE. A watch is set in both cases
 * (CREATED fires for a missing node). @wfn may be NULL. */
int kz_zkc_exists(kz_zkc *z, const char *path, kz_zkc_watch_fn *wfn, void *wctx,
                  kz_zkc_done_fn *fn, void *ctx);
int kz_zkc_get(kz_zkc *z, const char *path, kz_zkc_watch_fn *wfn, void *wctx,
               kz_zkc_done_fn *fn, void *ctx);
int kz_zkc_set(kz_zkc *z, const char *path, const void *data, int32_t len, int32_t version,
               kz_zkc_done_fn *fn, void *ctx);
int kz_zkc_children(kz_zkc *z, const char *path, kz_zkc_watch_fn *wfn, void *wctx,
                    kz_zkc_done_fn *fn, void *ctx);
/* All of @ops or none. rc is the first failing op's code (KZ_ZOK if all
 * applied); ops[i].rc tells which one failed. */
int kz_zkc_multi(kz_zkc *z, const kz_zkc_op *ops, int n, kz_zkc_done_fn *fn, void *ctx);
/* Deletes @path and everything below it, depth first; a node that is already
 * gone counts as deleted (rc KZ_ZOK also when @path does not exist). When
 * @guard is a CHECK op, every delete is sent as multi{guard, delete}, so a
 * controller that lost its epoch deletes nothing (rc = the guard's error). */
int kz_zkc_delete_recursive(kz_zkc *z, const char *path, const kz_zkc_op *guard,
                            kz_zkc_done_fn *fn, void *ctx);

#endif
