/* coordinator/zkd_server.h -- the standalone server's state and the
 * interfaces between its stages (internal to coordinator/).
 *
 *   zkd_cnxn   client connections: framing, handshake, four-letter words,
 *              per-connection request queue, replies and watch events
 *   zkd_prep   write requests -> txns (validation against the tree plus the
 *              outstanding changes of txns not yet applied), zxid assignment
 *   zkd_sync   (thread) txn log append + group fsync, durable zxid back
 *   zkd_final  apply durable txns in zxid order, reply; serve reads
 *   zkd_session session table, ids/passwords, tick-bucket expiry
 *   zkd_acl    ACL checks, ACL fix-up, digest/ip authentication
 *   zkd_flw    four-letter words
 *
 * Ordering: replies leave a connection in request order. A read executes
 * when every earlier request of its connection has completed; a write's
 * reply is sent right after the txn is applied. Watch events are written
 * to a connection as they fire, hence before any later reply reflecting the
 * change. Locality: everything here belongs to the loop thread. */
#ifndef ZKD_SERVER_H
#define ZKD_SERVER_H

#include <event2/event.h>
#include <event2/bufferevent.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "kz_buf.h"
#include "kz_map.h"
#include "zkd_config.h"
#include "zkd_datatree.h"
#include "zkd_proto.h"
#include "zkd_records.h"
#include "zkd_watch.h"

typedef struct zkd_server zkd_server;
typedef struct zkd_conn zkd_conn;
typedef struct zkd_session zkd_session;
typedef struct zkd_req zkd_req;
typedef struct zkd_sync zkd_sync;
typedef struct zkd_quorum zkd_quorum;

/* What this server is doing (QuorumPeer.ServerState plus standalone). */
typedef enum {
    ZKD_ROLE_STANDALONE,
    ZKD_ROLE_LOOKING,
    ZKD_ROLE_LEADING,
    ZKD_ROLE_FOLLOWING,
    ZKD_ROLE_OBSERVING,
} zkd_role;

/* Latency and counters shown by srvr/stat/cons/mntr. */
typedef struct zkd_lat {
    int64_t min, max, total, count;
} zkd_lat;

void zkd_lat_reset(zkd_lat *l);
void zkd_lat_add(zkd_lat *l, int64_t v);

/* Authentication id of a connection (scheme:id), e.g. ip:127.0.0.1. */
typedef struct zkd_auth_id {
    char *scheme;
    char *id;
} zkd_auth_id;

struct zkd_session {
    int64_t id;
    int32_t timeout;         /* negotiated, ms */
    int64_t expire_at;       /* ms, a multiple of tickTime */
    zkd_session *bnext, *bprev; /* expiry bucket list */
    zkd_conn *conn;          /* current connection, or NULL */
    bool closing;            /* closeSession submitted */
};

struct zkd_req {
    zkd_req *next;           /* connection queue */
    zkd_req *tnext;          /* pending-txn queue (global, zxid order) */
    zkd_conn *conn;          /* NULL once the connection has gone */
    int32_t xid;
    int32_t type;            /* opcode */
    int64_t session_id;
    int64_t zxid;            /* txn zxid, 0 for reads */
    int64_t recv_us;         /* arrival time (latency) */
    int32_t err;             /* prep error of a non-txn request */
    bool is_txn;             /* has a txn in the log pipeline */
    bool applied;
    uint8_t *payload;        /* request record bytes (owned) */
    size_t payload_len;
    uint8_t *txn;            /* serialized txn (owned until handed to sync) */
    size_t txn_len;
    zkd_ConnectRequest connect; /* for createSession */
    bool connect_ro;
    int64_t sync_zxid;       /* leader: a sync waits until this zxid is applied */
};

struct zkd_conn {
    zkd_server *srv;
    struct bufferevent *bev;
    int fd;
    uint64_t cid;            /* unique id */
    struct sockaddr_storage peer;
    char peer_str[64];       /* "/127.0.0.1:5555" */
    char peer_ip[48];
    zkd_conn *next, *prev;   /* server list */
    zkd_session *session;    /* after the handshake */
    bool handshake_done;
    bool closing;            /* close after the output drains */
    bool free_scheduled;
    bool lingering;          /* FIN sent, discarding input until the peer closes */
    bool throttled;          /* paused by globalOutstandingLimit */
    bool flw;                /* answering a four-letter word */
    bool ro_flag_sent;       /* client sent the readOnly byte */
    bool revalidating;       /* learner: waiting for the leader's REVALIDATE answer */
    int32_t reval_timeout;
    zkd_req *qhead, *qtail;  /* requests not yet answered, in order */
    uint32_t qlen;
    zkd_auth_id *auth;
    uint32_t nauth;
    int64_t established_ms;
    /* statistics (cons) */
    int64_t packets_received, packets_sent;
    int64_t last_cxid, last_zxid, last_resp_ms, last_latency;
    char last_op[8];
    zkd_lat lat;
};

/* Server-wide statistics (srvr, mntr). */
typedef struct zkd_stats {
    int64_t packets_received, packets_sent;
    zkd_lat lat;
    int64_t last_resp_size, min_resp_size, max_resp_size;
    int64_t auth_failed;
    int64_t bytes_received;
    int64_t connection_rejected;
    int64_t fsync_count, fsync_ms_total, fsync_ms_max;
    int64_t snap_count;
    int64_t started_ms;
} zkd_stats;

struct zkd_server {
    zkd_config *cfg;
    struct event_base *base;
    struct evconnlistener *listener;
    zkd_datatree *dt;
    zkd_watch_mgr *watches;
    zkd_sync *sync;
    zkd_stats stats;
    bool serving;
    zkd_quorum *q;           /* ensemble mode, NULL when standalone */
    /* connections */
    zkd_conn *conns;
    size_t nconns;
    uint64_t next_cid;
    kz_map conns_per_ip;     /* ip hash -> count, for maxClientCnxns */
    /* sessions */
    kz_map sessions;         /* id -> zkd_session* */
    kz_map buckets;          /* expire_at -> zkd_session* (bucket head) */
    int64_t next_session_id;
    int64_t next_expire;     /* next bucket to check */
    struct event *tick_ev;
    /* write pipeline */
    int64_t next_zxid;       /* last zxid handed out */
    int64_t durable_zxid;    /* highest zxid on disk */
    zkd_req *txq_head, *txq_tail; /* txns waiting to become durable, zxid order */
    size_t outstanding;      /* requests received but not answered */
    size_t nthrottled;       /* connections paused by globalOutstandingLimit */
    struct zkd_changes *changes; /* outstanding changes of unapplied txns */
    /* snapshots */
    int64_t txns_since_snap;
    int64_t snap_threshold;  /* randomized snapCount/2 + rand(snapCount/2) */
    pid_t snap_pid;
    int64_t snap_zxid;
    struct event *snap_ev;
    struct event *purge_ev;
    struct event *container_ev;
    struct event *sigint_ev, *sigterm_ev;
    /* super user digest "super:<base64 sha1>" or NULL */
    char *super_digest;
    kz_wr out;               /* scratch writer for replies */
    kz_arena scratch;        /* per-request scratch, reset after each */
};

/* ---- zkd_server.c */
int zkd_server_init(zkd_server *s, zkd_config *cfg);
int zkd_server_run(zkd_server *s);
void zkd_server_fini(zkd_server *s);
/* Queues @req (with its txn) in the pending-txn queue and hands a copy of
 * the txn to the sync thread. */
void zkd_server_log_txn(zkd_server *s, zkd_req *req);
/* The write path: standalone and leader prepare the txn and log (and
 * propose) it; a learner forwards the request to the leader. @ids NULL:
 * an internal request (super). Returns 0, or an error for a request that
 * cannot be decoded (the caller closes the connection). */
int zkd_server_submit(zkd_server *s, zkd_req *req, const zkd_auth_id *ids, uint32_t nids);
/* A sync request in ensemble mode: true when it must wait (it is then
 * answered later through the connection's queue). */
bool zkd_server_sync(zkd_server *s, zkd_req *req);
zkd_role zkd_server_role(const zkd_server *s);
/* Standalone or leading: the server that expires sessions and containers. */
bool zkd_server_is_master(const zkd_server *s);
/* Closes the client connections and reloads the database from disk, first
 * cutting the txn log after @truncate_to unless it is negative. Restarts
 * the sync thread. Returns 0 or -1 (logged; the server cannot go on). */
int zkd_server_db_reload(zkd_server *s, int64_t truncate_to);
/* Replaces the tree (a learner's SNAP): sessions are rebuilt from it. */
int zkd_server_db_replace(zkd_server *s, zkd_datatree *dt);
/* Writes a snapshot of the current tree now (synchronously). */
int zkd_server_snapshot_now(zkd_server *s);
void zkd_server_set_serving(zkd_server *s, bool on);
/* Learner: a session was used by one of our clients (reported in PINGs). */
void zkd_server_session_touched(zkd_server *s, int64_t sid, int32_t timeout);

/* ---- zkd_cnxn.c */
int zkd_cnxn_listen(zkd_server *s);
void zkd_cnxn_close(zkd_conn *c, const char *why);
/* Shutdown: frees every connection now (the loop must not run again). */
void zkd_cnxn_close_all(zkd_server *s);
/* Sends a ReplyHeader + optional body (encoded with @rec). */
void zkd_cnxn_reply(zkd_conn *c, int32_t xid, int64_t zxid, int32_t err, const kz_jrec *rec, const void *body);
/* Sends raw pre-encoded body bytes after the header. */
void zkd_cnxn_reply_raw(zkd_conn *c, int32_t xid, int64_t zxid, int32_t err, const uint8_t *body, size_t len);
void zkd_cnxn_send_event(zkd_conn *c, int type, const char *path, uint32_t len);
/* Answers the queued requests of @c that can be answered now. */
void zkd_cnxn_pump(zkd_conn *c);
void zkd_cnxn_add_auth(zkd_conn *c, const char *scheme, const char *id);
/* Closes every client connection (leaving the serving state). */
void zkd_cnxn_close_clients(zkd_server *s);
/* The leader's answer about the session @c asked to reattach. */
void zkd_cnxn_revalidated(zkd_conn *c, int64_t sid, bool valid);

/* ---- zkd_session.c */
int zkd_session_init(zkd_server *s);
void zkd_session_fini(zkd_server *s);
int64_t zkd_session_next_id(zkd_server *s);
/* The 16-byte password of a session (java.util.Random seeded with id ^ 0xB3415C00). */
void zkd_session_passwd(int64_t id, uint8_t out[16]);
zkd_session *zkd_session_get(zkd_server *s, int64_t id);
zkd_session *zkd_session_add(zkd_server *s, int64_t id, int32_t timeout);
void zkd_session_remove(zkd_server *s, int64_t id);
void zkd_session_touch(zkd_server *s, zkd_session *se);
int32_t zkd_session_negotiate(const zkd_server *s, int32_t requested);

/* ---- zkd_prep.c */
int zkd_prep_init(zkd_server *s);
void zkd_prep_fini(zkd_server *s);
bool zkd_prep_is_write(int32_t type);
/* Builds req->txn (possibly an error txn) and assigns req->zxid.
 * Returns 0, or a ZooKeeper error code when the request cannot become a txn
 * (bad encoding: the connection is then closed). */
int zkd_prep_request(zkd_server *s, zkd_req *req, zkd_conn *c);
/* Builds a txn for an internal request (session expiry, container cleanup). */
int zkd_prep_internal(zkd_server *s, zkd_req *req);
/* Builds a txn with the given requester's auth ids (forwarded requests). */
int zkd_prep_with_ids(zkd_server *s, zkd_req *req, const zkd_auth_id *ids, uint32_t nids);
/* Forgets outstanding changes of txns up to @zxid (they are in the tree). */
void zkd_prep_applied(zkd_server *s, int64_t zxid);

/* ---- zkd_final.c */
/* Applies every txn up to @durable_zxid in order and replies. */
void zkd_final_durable(zkd_server *s, int64_t durable_zxid);
/* Executes a read (or other non-txn request) now and replies. */
void zkd_final_read(zkd_server *s, zkd_req *req);
void zkd_req_free(zkd_req *req);

/* ---- zkd_acl.c */
/* 0 if @c may do @perm on a node with @acl, else ZKD_ERR_NOAUTH. */
int zkd_acl_check(const zkd_server *s, const zkd_auth_id *ids, uint32_t nids, const kz_jvec *acl, int perm);
/* ZooKeeper's fixupACL: validates @in, expands auth:, drops duplicates.
 * Output vector in @a. Returns 0 or ZKD_ERR_INVALIDACL. */
int zkd_acl_fixup(const zkd_auth_id *ids, uint32_t nids, const kz_jvec *in, kz_jvec *out, kz_arena *a);
/* Handles an AuthPacket: adds ids to @c; returns 0 or ZKD_ERR_AUTHFAILED. */
int zkd_acl_authenticate(zkd_server *s, zkd_conn *c, kz_str scheme, kz_str auth);
/* "user:" + base64(sha1("user:password")), malloc'd. */
char *zkd_acl_digest(const char *user_password, size_t len);
/* The order in which ZooKeeper lists a connection's ids (@order gets @n indexes). */
void zkd_acl_ids_order(const zkd_auth_id *ids, uint32_t n, uint32_t *order);
/* Validates a path like PathUtils.validatePath; 0 or ZKD_ERR_BADARGUMENTS. */
int zkd_path_validate(const char *p, int32_t len);

/* ---- zkd_flw.c */
/* If @word is a four-letter word, writes its reply into @out and returns
 * true. @out gets the "not in the whitelist" text when disallowed. */
bool zkd_flw_run(zkd_server *s, zkd_conn *self, const char word[4], kz_wr *out);
/* Whether the first four bytes of a connection are a four-letter word
 * (otherwise they are the length of a ConnectRequest). */
bool zkd_flw_known(const char word[4]);
/* "3.8.0-zkd, built on 2026-11-21 10:00 UTC" (Version.getFullVersion()). */
const char *zkd_flw_version(void);

#endif
