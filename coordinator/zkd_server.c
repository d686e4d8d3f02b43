/* coordinator/zkd_server.c -- wires the standalone server together.
 *
 * Start-up: restore the database (snapshot + log replay), re-arm the
 * sessions found there, start the sync thread, open clientPort.
 * Steady state: requests -> prep -> sync thread -> durable -> final.
 * Every ~snapCount txns (randomised as ZooKeeper does, so the servers of an
 * ensemble do not snapshot together) the log is rolled and a forked child
 * writes a snapshot of the tree as applied at that moment; the loop never
 * waits for it. Containers and TTL nodes are checked on a timer and removed
 * through the same pipeline as client writes.
 * Locality: zkd loop thread (the sync thread and the snapshot child only
 * see what they are handed). */
#include "zkd_server.h"

#include <errno.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "kz_log.h"
#include "kz_time.h"
#include "zkd_db.h"
#include "zkd_quorum.h"
#include "zkd_snap.h"
#include "zkd_sync.h"

#define ZKD_COMP "ZooKeeperServer"

void zkd_lat_reset(zkd_lat *l) { *l = (zkd_lat){ INT64_MAX, 0, 0, 0 }; }

void zkd_lat_add(zkd_lat *l, int64_t v)
{
    if (v < l->min)
        l->min = v;
    if (v > l->max)
        l->max = v;
    l->total += v;
    l->count++;
}

static void zkd_server_watch_deliver(void *ctx, void *watcher, int event, const char *path, uint32_t len)
{
    (void)ctx;
    zkd_cnxn_send_event(watcher, event, path, len);
}

static void zkd_server_trigger(void *ctx, int event, const char *path, uint32_t len)
{
    zkd_server *s = ctx;
    zkd_watch_trigger(s->watches, event, path, len);
}

static zkd_db_cfg zkd_server_db_cfg(const zkd_server *s)
{
    return (zkd_db_cfg){ s->cfg->data_dir, s->cfg->data_log_dir, false };
}

static void zkd_server_new_snap_threshold(zkd_server *s)
{
    int64_t half = s->cfg->snap_count / 2;
    s->snap_threshold = half + (half > 0 ? random() % half : 0);
}

/* ------------------------------------------------------------ snapshots */

static void zkd_server_snap_check(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    zkd_server *s = arg;
    if (s->snap_pid <= 0)
        return;
    int rc = zkd_snap_poll(s->snap_pid);
    if (rc == 1 || rc == -EAGAIN) { /* still running */
        struct timeval tv = { 0, 50000 };
        event_add(s->snap_ev, &tv);
        return;
    }
    if (rc == 0) {
        s->stats.snap_count++;
        kz_info("FileTxnSnapLog", "Snapshot of zxid 0x%llx written", (unsigned long long)s->snap_zxid);
    } else {
        kz_error("FileTxnSnapLog", "Snapshot of zxid 0x%llx failed (%d)", (unsigned long long)s->snap_zxid, rc);
    }
    s->snap_pid = 0;
}

static void zkd_server_maybe_snapshot(zkd_server *s)
{
    if (s->txns_since_snap < s->snap_threshold || s->snap_pid > 0)
        return;
    char dir[PATH_MAX];
    zkd_db_cfg dc = zkd_server_db_cfg(s);
    if (zkd_db_dirs(&dc, dir, NULL))
        return;
    zkd_sync_roll(s->sync);
    s->snap_zxid = zkd_dt_last_zxid(s->dt);
    pid_t pid = zkd_snap_fork(s->dt, dir, s->snap_zxid);
    s->txns_since_snap = 0;
    zkd_server_new_snap_threshold(s);
    if (pid <= 0) {
        kz_error("FileTxnSnapLog", "cannot start a snapshot: %s", strerror(pid < 0 ? (int)-pid : EAGAIN));
        return;
    }
    s->snap_pid = pid;
    struct timeval tv = { 0, 50000 };
    event_add(s->snap_ev, &tv);
}

static void zkd_server_purge(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    zkd_server *s = arg;
    zkd_db_cfg dc = zkd_server_db_cfg(s);
    int n = zkd_db_purge(&dc, s->cfg->autopurge_snap_retain_count);
    if (n < 0)
        kz_warn("DatadirCleanupManager", "purge failed: %s", strerror(-n));
    else
        kz_info("DatadirCleanupManager", "Purge task completed, %d files removed", n);
}

/* ------------------------------------------------------- write pipeline */

void zkd_server_log_txn(zkd_server *s, zkd_req *req)
{
    uint8_t *copy = malloc(req->txn_len);
    if (!copy) {
        kz_error(ZKD_COMP, "out of memory logging txn 0x%llx", (unsigned long long)req->zxid);
        exit(2);
    }
    memcpy(copy, req->txn, req->txn_len);
    if (s->txq_tail)
        s->txq_tail->tnext = req;
    else
        s->txq_head = req;
    s->txq_tail = req;
    if (zkd_sync_append(s->sync, req->zxid, copy, req->txn_len) != 0) {
        kz_error(ZKD_COMP, "Severe unrecoverable error: cannot log txn 0x%llx, exiting",
                 (unsigned long long)req->zxid);
        exit(2);
    }
}

static void zkd_server_durable(void *ctx, int64_t zxid)
{
    zkd_server *s = ctx;
    if (zxid < 0) {
        kz_error(ZKD_COMP, "Severe unrecoverable error: the txn log failed, exiting");
        exit(2);
    }
    s->durable_zxid = zxid;
    if ((!s->sync && s->q) || (!s->q && !zkd_config_standalone(s->cfg)))
        return; /* closing the database, or shutting down: a peer only applies what its quorum committed */
    if (s->q && s->q->leader)
        zkd_leader_durable(s->q->leader, zxid); /* commits need a quorum */
    else if (s->q && s->q->learner)
        zkd_learner_durable(s->q->learner, zxid); /* ACKs; commits come from the leader */
    else if (!s->q)
        zkd_final_durable(s, zxid);
    zkd_server_maybe_snapshot(s);
}

zkd_role zkd_server_role(const zkd_server *s) { return s->q ? s->q->role : ZKD_ROLE_STANDALONE; }

bool zkd_server_is_master(const zkd_server *s)
{
    zkd_role r = zkd_server_role(s);
    return s->serving && (r == ZKD_ROLE_STANDALONE || r == ZKD_ROLE_LEADING);
}

int zkd_server_submit(zkd_server *s, zkd_req *req, const zkd_auth_id *ids, uint32_t nids)
{
    zkd_auth_id su = { "super", "" };
    if (!ids) {
        ids = &su;
        nids = 1;
    }
    if (s->q && s->q->learner)
        return zkd_learner_submit(s->q->learner, req, ids, nids);
    if (s->q && s->q->leader)
        return zkd_leader_submit(s->q->leader, req, ids, nids);
    if (s->q) { /* looking: nothing can be written */
        req->is_txn = false;
        req->err = ZKD_ERR_CONNECTIONLOSS;
        return ZKD_ERR_CONNECTIONLOSS;
    }
    int rc = zkd_prep_with_ids(s, req, ids, nids);
    if (rc)
        return rc;
    zkd_server_log_txn(s, req);
    return 0;
}

bool zkd_server_sync(zkd_server *s, zkd_req *req)
{
    if (s->q && s->q->learner) {
        zkd_learner_sync(s->q->learner, req);
        return true;
    }
    if (s->q && s->q->leader)
        return zkd_leader_sync(s->q->leader, req);
    return false;
}

void zkd_server_session_touched(zkd_server *s, int64_t sid, int32_t timeout)
{
    if (s->q && s->q->learner)
        zkd_learner_touch(s->q->learner, sid, timeout);
}

void zkd_server_set_serving(zkd_server *s, bool on)
{
    if (s->serving == on)
        return;
    s->serving = on;
    if (!on)
        zkd_cnxn_close_clients(s);
}

int zkd_server_snapshot_now(zkd_server *s)
{
    char dir[PATH_MAX];
    zkd_db_cfg dc = zkd_server_db_cfg(s);
    int rc = zkd_db_dirs(&dc, dir, NULL);
    if (rc == 0)
        rc = zkd_snap_write(s->dt, dir, zkd_dt_last_zxid(s->dt));
    if (rc == 0) {
        s->txns_since_snap = 0;
        zkd_sync_roll(s->sync);
    }
    return rc;
}

/* ----------------------------------------------- containers and TTL nodes */

static void zkd_server_delete_container(zkd_server *s, const zkd_node *n)
{
    zkd_req *req = calloc(1, sizeof *req);
    if (!req || !(req->payload = malloc(n->path_len))) {
        free(req);
        return;
    }
    memcpy(req->payload, n->path, n->path_len); /* raw path, as ContainerManager sends it */
    req->payload_len = n->path_len;
    req->type = ZKD_OP_DELETE_CONTAINER;
    req->recv_us = kz_mono_us();
    if (zkd_server_submit(s, req, NULL, 0))
        zkd_req_free(req);
}

/* ContainerManager.getCandidates: empty containers that once had a child,
 * and childless TTL nodes not modified for their TTL. */
static void zkd_server_container_check(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    zkd_server *s = arg;
    size_t n, budget = zkd_server_is_master(s) ? (size_t)s->cfg->container_max_per_minute : 0;
    int64_t now = kz_wall_ms();
    zkd_node *const *v = zkd_dt_containers(s->dt, &n);
    /* Collect first: deleting changes the sets (after apply, not here, but
     * keep the loop independent of that). */
    zkd_node **cand = malloc((n + 1) * sizeof *cand);
    size_t k = 0;
    for (size_t i = 0; cand && i < n && k < budget; i++)
        if (v[i]->nkids == 0 && v[i]->stat.cversion > 0)
            cand[k++] = v[i];
    for (size_t i = 0; i < k; i++)
        zkd_server_delete_container(s, cand[i]);
    free(cand);
    if (s->cfg->extended_types_enabled) {
        v = zkd_dt_ttls(s->dt, &n);
        cand = malloc((n + 1) * sizeof *cand);
        k = 0;
        for (size_t i = 0; cand && i < n && k < budget; i++) {
            int64_t ttl = zkd_owner_ttl_value(v[i]->stat.ephemeralOwner);
            if (v[i]->nkids == 0 && ttl > 0 && now - v[i]->stat.mtime > ttl)
                cand[k++] = v[i];
        }
        for (size_t i = 0; i < k; i++)
            zkd_server_delete_container(s, cand[i]);
        free(cand);
    }
    int64_t iv = s->cfg->container_check_interval_ms;
    struct timeval tv = { (time_t)(iv / 1000), (suseconds_t)((iv % 1000) * 1000) };
    event_add(s->container_ev, &tv);
}

/* ------------------------------------------------------------ life cycle */

static void zkd_server_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    zkd_server *s = arg;
    kz_info(ZKD_COMP, "Received signal %d, shutting down", (int)sig);
    event_base_loopexit(s->base, NULL);
}

static int zkd_server_restore_sessions_cb(void *ctx, int64_t sid, int32_t timeout)
{
    zkd_server *s = ctx;
    return zkd_session_add(s, sid, timeout) ? 0 : KZ_ENOMEM;
}

/* A tree just loaded: watch hooks, sessions, and in ensemble mode the
 * membership in /zookeeper/config (QuorumPeer.initConfigInZKDatabase). */
static int zkd_server_tree_ready(zkd_server *s)
{
    zkd_dt_hooks hooks = { zkd_server_trigger, s };
    zkd_dt_set_hooks(s->dt, &hooks);
    if (zkd_dt_session_walk(s->dt, zkd_server_restore_sessions_cb, s))
        return -1;
    if (zkd_config_standalone(s->cfg))
        return 0;
    size_t len;
    char *text = zkd_config_membership(s->cfg, &len);
    int rc = text ? zkd_dt_set_config(s->dt, text, len, kz_wall_ms()) : KZ_ENOMEM;
    free(text);
    return rc ? -1 : 0;
}

/* Restores the tree from disk, rebuilds the sessions and the pipeline
 * state from it and starts the sync thread. */
static int zkd_server_db_open(zkd_server *s)
{
    zkd_db_cfg dc = zkd_server_db_cfg(s);
    zkd_db_info info;
    int64_t t0 = kz_mono_us();
    int rc = zkd_db_restore(&dc, &s->dt, &info);
    if (rc) {
        kz_error(ZKD_COMP, "Unable to load database on disk: %s", strerror(-rc));
        return -1;
    }
    kz_info(ZKD_COMP, "Loaded snapshot 0x%llx and %lld txns in %lld ms, last zxid 0x%llx",
            (unsigned long long)info.snap_zxid, (long long)info.replayed, (long long)(kz_mono_us() - t0) / 1000,
            (unsigned long long)info.last_zxid);
    s->next_zxid = s->durable_zxid = info.last_zxid;
    if (zkd_prep_init(s) || zkd_session_init(s))
        return -1;
    if (zkd_server_tree_ready(s))
        return -1;
    s->sync = zkd_sync_start(s->base, info.log_dir, (int64_t)s->cfg->pre_alloc_size * 1024, s->cfg->force_sync,
                             zkd_server_durable, s);
    return s->sync ? 0 : -1;
}

/* Drops the txns in flight, the sessions and the outstanding changes, which
 * all describe the current tree, and replaces the tree with @dt. */
static void zkd_server_drop_tree(zkd_server *s, zkd_datatree *dt)
{
    while (s->txq_head) {
        zkd_req *r = s->txq_head;
        s->txq_head = r->tnext;
        zkd_req_free(r);
    }
    s->txq_tail = NULL;
    zkd_session_fini(s);
    zkd_prep_fini(s);
    zkd_dt_free(s->dt);
    s->dt = dt;
}

/* Stops the sync thread (everything queued is written) and drops the tree,
 * the sessions and the txns in flight. Client connections must be gone. */
static void zkd_server_db_close(zkd_server *s)
{
    zkd_sync *sy = s->sync;
    s->sync = NULL; /* the final report of zkd_sync_stop only records */
    zkd_sync_stop(sy);
    if (s->snap_pid > 0) {
        zkd_snap_wait(s->snap_pid);
        s->snap_pid = 0;
    }
    zkd_server_drop_tree(s, NULL);
}

int zkd_server_db_reload(zkd_server *s, int64_t truncate_to)
{
    zkd_cnxn_close_clients(s);
    zkd_server_db_close(s);
    if (truncate_to >= 0) {
        char dir[PATH_MAX];
        zkd_db_cfg dc = zkd_server_db_cfg(s);
        int rc = zkd_db_dirs(&dc, NULL, dir);
        if (rc == 0)
            rc = zkd_txnlog_truncate(dir, truncate_to);
        if (rc) {
            kz_error(ZKD_COMP, "Unable to truncate the txn log to 0x%llx: %s", (unsigned long long)truncate_to,
                     strerror(-rc));
            return -1;
        }
    }
    return zkd_server_db_open(s);
}

int zkd_server_db_replace(zkd_server *s, zkd_datatree *dt)
{
    zkd_server_drop_tree(s, dt);
    s->next_zxid = zkd_dt_last_zxid(dt);
    if (zkd_prep_init(s) || zkd_session_init(s))
        return -1;
    return zkd_server_tree_ready(s);
}

int zkd_server_init(zkd_server *s, zkd_config *cfg)
{
    memset(s, 0, sizeof *s);
    s->cfg = cfg;
    s->stats.started_ms = kz_wall_ms();
    s->stats.min_resp_size = -1;
    s->stats.last_resp_size = -1;
    s->stats.max_resp_size = -1;
    zkd_lat_reset(&s->stats.lat);
    srandom((unsigned)(kz_mono_us() ^ getpid()));
    signal(SIGPIPE, SIG_IGN);
    if (evthread_use_pthreads() != 0 || !(s->base = event_base_new())) {
        kz_error(ZKD_COMP, "cannot create the event loop");
        return -1;
    }
    if (cfg->super_digest)
        s->super_digest = strdup(cfg->super_digest);
    if (!(s->watches = zkd_watch_new(zkd_server_watch_deliver, s)) || zkd_server_db_open(s))
        return -1;
    zkd_server_new_snap_threshold(s);
    s->snap_ev = event_new(s->base, -1, 0, zkd_server_snap_check, s);
    s->container_ev = event_new(s->base, -1, 0, zkd_server_container_check, s);
    s->sigint_ev = evsignal_new(s->base, SIGINT, zkd_server_signal, s);
    s->sigterm_ev = evsignal_new(s->base, SIGTERM, zkd_server_signal, s);
    if (!s->snap_ev || !s->container_ev || !s->sigint_ev || !s->sigterm_ev)
        return -1;
    event_add(s->sigint_ev, NULL);
    event_add(s->sigterm_ev, NULL);
    int64_t iv = cfg->container_check_interval_ms;
    struct timeval tv = { (time_t)(iv / 1000), (suseconds_t)((iv % 1000) * 1000) };
    event_add(s->container_ev, &tv);
    if (cfg->autopurge_purge_interval > 0) {
        s->purge_ev = event_new(s->base, -1, EV_PERSIST, zkd_server_purge, s);
        struct timeval ptv = { (time_t)cfg->autopurge_purge_interval * 3600, 0 };
        if (!s->purge_ev || event_add(s->purge_ev, &ptv))
            return -1;
        kz_info("DatadirCleanupManager", "autopurge.snapRetainCount set to %d, purgeInterval %d hours",
                cfg->autopurge_snap_retain_count, cfg->autopurge_purge_interval);
    }
    if (zkd_cnxn_listen(s)) {
        kz_error("NIOServerCnxnFactory", "cannot bind to %s:%d: %s",
                 cfg->client_port_address ? cfg->client_port_address : "0.0.0.0", cfg->client_port, strerror(errno));
        return -1;
    }
    kz_info("NIOServerCnxnFactory", "binding to port %s:%d",
            cfg->client_port_address ? cfg->client_port_address : "0.0.0.0", cfg->client_port);
    if (!zkd_config_standalone(cfg))
        return zkd_quorum_start(s); /* serves once it leads or follows */
    s->serving = true;
    return 0;
}

int zkd_server_run(zkd_server *s)
{
    return event_base_dispatch(s->base) < 0 ? -1 : 0;
}

void zkd_server_fini(zkd_server *s)
{
    if (s->listener)
        evconnlistener_free(s->listener);
    s->listener = NULL;
    s->serving = false;
    zkd_quorum_stop(s);
    /* Flush what is queued so acknowledged-to-be writes are not lost. */
    zkd_sync_stop(s->sync);
    s->sync = NULL;
    if (s->snap_pid > 0)
        zkd_snap_wait(s->snap_pid);
    zkd_cnxn_close_all(s);
    while (s->txq_head) {
        zkd_req *r = s->txq_head;
        s->txq_head = r->tnext;
        zkd_req_free(r);
    }
    zkd_session_fini(s);
    zkd_prep_fini(s);
    zkd_watch_free(s->watches);
    zkd_dt_free(s->dt);
    kz_map_free(&s->conns_per_ip);
    kz_wr_free(&s->out);
    kz_arena_reset(&s->scratch);
    free(s->super_digest);
    struct event **evs[] = { &s->snap_ev, &s->purge_ev, &s->container_ev, &s->sigint_ev, &s->sigterm_ev };
    for (size_t i = 0; i < sizeof evs / sizeof *evs; i++)
        if (*evs[i]) {
            event_free(*evs[i]);
            *evs[i] = NULL;
        }
    if (s->base)
        event_base_free(s->base);
    s->base = NULL;
}
