/* broker/kb_server.c -- start-up, shutdown and the glue between subsystems
 * (see kb_server.h).
 *
 * Start-up is a chain of ZooKeeper completions on the loop:
 *
 *   connect --CONNECTED--> persistent paths --> /cluster/id --> logs + meta.properties
 *     --> listeners --> /brokers/ids/<id> --> controller campaign --> serving
 *
 * A session that expires later re-enters at "register" (the paths and the
 * cluster id are still there); the controller resigns and campaigns again.
 * Locality: broker loop thread only. */
#include "kb_server.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kb_admin.h"
#include "kb_apis.h"
#include "kb_ctl.h"
#include "kb_dyncfg.h"
#include "kb_log.h"
#include "kb_log_mgr.h"
#include "kb_replica_mgr.h"
#include "kb_zk.h"
#include "kz_log.h"
#include "kz_time.h"
#include "kz_zkc.h"

#define KB_SRV_LOG "kafka.server.KafkaServer"

struct kb_waiter {
    kb_waiter_ready_fn *ready;
    kb_waiter_done_fn *done;
    void *ctx;
    struct event *timer;
    kb_server *s;
    kb_waiter *next;
};


static void kb_server_register(kb_server *s);

/* ---- waiting on metadata ---- */

static void kb_waiter_unlink(kb_server *s, kb_waiter *w)
{
    for (kb_waiter **pp = &s->waiters; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    if (w->timer)
        event_free(w->timer);
    free(w);
}

static void kb_waiter_on_timeout(evutil_socket_t fd, short what, void *arg)
{
    kb_waiter *w = arg;
    (void)fd;
    (void)what;
    kb_server *s = w->s;
    kb_waiter_done_fn *done = w->done;
    void *ctx = w->ctx;
    kb_waiter_unlink(s, w);
    done(s, ctx, true);
}

void kb_server_wait_metadata(kb_server *s, int32_t timeout_ms, kb_waiter_ready_fn *ready,
                             kb_waiter_done_fn *done, void *ctx)
{
    if (ready(s, ctx)) {
        done(s, ctx, false);
        return;
    }
    kb_waiter *w = calloc(1, sizeof *w);
    if (w)
        w->timer = evtimer_new(s->base, kb_waiter_on_timeout, w);
    if (!w || !w->timer) {
        free(w);
        done(s, ctx, true);
        return;
    }
    w->ready = ready;
    w->done = done;
    w->ctx = ctx;
    w->s = s;
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    evtimer_add(w->timer, &tv);
    w->next = s->waiters;
    s->waiters = w;
}

void kb_server_metadata_changed(kb_server *s)
{
    kb_waiter *w = s->waiters, *next;
    for (; w; w = next) {
        next = w->next;
        if (!w->ready(s, w->ctx))
            continue;
        kb_waiter_done_fn *done = w->done;
        void *ctx = w->ctx;
        kb_waiter_unlink(s, w);
        done(s, ctx, false);
        next = s->waiters; /* the callback may have changed the list: start over */
    }
}

/* Appends and role changes wake the delayed produces and fetches. */
static void kb_server_on_append(void *ctx, kb_part *p)
{
    kb_server *s = ctx;
    kb_produce_check_delayed(s, p);
    kb_fetch_check_delayed(s, p);
}

/* ---- periodic work ---- */

static void kb_server_on_retention(evutil_socket_t fd, short what, void *arg)
{
    kb_server *s = arg;
    (void)fd;
    (void)what;
    kb_log_mgr_retention_all(s->logs, kz_wall_ms());
}

static void kb_server_on_checkpoint(evutil_socket_t fd, short what, void *arg)
{
    kb_server *s = arg;
    (void)fd;
    (void)what;
    kb_log_mgr_checkpoint(s->logs);
}

static void kb_server_on_flush(evutil_socket_t fd, short what, void *arg)
{
    kb_server *s = arg;
    (void)fd;
    (void)what;
    kb_log_mgr_flush_due(s->logs, kz_wall_ms());
}

static int kb_server_timers(kb_server *s)
{
    /* log.flush.interval.ms (or a topic's flush.ms): checked every
     * log.flush.scheduler.interval.ms, at most every second. */
    int64_t f = s->cfg->log_flush_scheduler_interval_ms;
    if (f <= 0 || f > 1000)
        f = 1000;
    struct timeval ftv = { (time_t)(f / 1000), (suseconds_t)(f % 1000) * 1000 };
    s->flush_ev = event_new(s->base, -1, EV_PERSIST, kb_server_on_flush, s);
    if (!s->flush_ev)
        return -1;
    event_add(s->flush_ev, &ftv);
    int64_t r = s->cfg->log_retention_check_interval_ms;
    int64_t c = s->cfg->replica_high_watermark_checkpoint_interval_ms;
    struct timeval rtv = { (time_t)(r / 1000), (suseconds_t)(r % 1000) * 1000 };
    struct timeval ctv = { (time_t)(c / 1000), (suseconds_t)(c % 1000) * 1000 };
    s->retention_ev = event_new(s->base, -1, EV_PERSIST, kb_server_on_retention, s);
    s->checkpoint_ev = event_new(s->base, -1, EV_PERSIST, kb_server_on_checkpoint, s);
    if (!s->retention_ev || !s->checkpoint_ev)
        return -1;
    event_add(s->retention_ev, &rtv);
    event_add(s->checkpoint_ev, &ctv);
    return 0;
}

/* ---- start-up chain ---- */

static void kb_server_fatal(kb_server *s, const char *msg)
{
    kz_error(KB_SRV_LOG, "[KafkaServer id=%d] Fatal error during KafkaServer startup. Prepare to shutdown: %s",
             s->broker_id, msg);
    kb_server_stop(s, 1);
}

static int kb_server_listen(kb_server *s, char *err, size_t errlen)
{
    for (size_t i = 0; i < s->cfg->n_listeners; i++) {
        const kb_endpoint *e = &s->cfg->listeners[i];
        int bound;
        if (kb_net_listen(s->net, e->name, e->host, e->port, &bound, err, errlen) != 0)
            return -1;
        kz_info("kafka.network.SocketServer", "[SocketServer listenerType=ZK_BROKER, nodeId=%d] "
                "Created data-plane acceptor and processors for endpoint : ListenerName(%s)",
                s->broker_id, e->name);
    }
    return 0;
}

static void kb_server_on_controller_change(void *ctx, bool active, int32_t id, int32_t epoch)
{
    kb_server *s = ctx;
    (void)active;
    (void)epoch;
    kb_mdc_set_controller(s->mdc, id);
}

static void kb_server_on_registered(void *ctx, int rc, int64_t czxid, const char *msg)
{
    kb_server *s = ctx;
    if (rc != 0) {
        kb_server_fatal(s, msg ? msg : "broker registration failed");
        return;
    }
    bool first = !s->registered;
    s->broker_epoch = czxid;
    s->registered = true;
    kz_info("kafka.zk.KafkaZkClient", "Registered broker %d at path /brokers/ids/%d with addresses: %s, "
            "czxid (broker epoch): %lld", s->broker_id, s->broker_id,
            s->cfg->n_advertised ? s->cfg->advertised[0].host : "", (long long)czxid);
    kb_dyncfg_start(s->dyncfg); /* watches do not survive a session */
    if (first) {
        kb_ctl_start(s->ctl);
        kz_info(KB_SRV_LOG, "[KafkaServer id=%d] started", s->broker_id);
    } else {
        kb_ctl_on_session(s->ctl);
    }
}

/* /brokers/ids/<id> with the advertised endpoints (Kafka's v5 JSON). */
static void kb_server_register(kb_server *s)
{
    const kb_config *cfg = s->cfg;
    kb_zk_endpoint eps[16];
    int32_t n = 0;
    for (size_t i = 0; i < cfg->n_advertised && n < 16; i++, n++)
        eps[n] = (kb_zk_endpoint){ cfg->advertised[i].name, cfg->advertised[i].host, cfg->advertised[i].port,
                                   kb_sec_proto_name(cfg->advertised[i].proto) };
    kb_zk_broker info = { .version = 5, .endpoints = eps, .n_endpoints = n, .jmx_port = -1,
                          .rack = cfg->broker_rack };
    if (kb_zk_register_broker(s->zk, s->broker_id, &info, kb_server_on_registered, s) != 0)
        kb_server_fatal(s, "cannot register the broker in ZooKeeper");
}

static void kb_server_on_cluster_id(void *ctx, int rc, const char *cluster_id)
{
    kb_server *s = ctx;
    char err[512];
    if (rc != 0) {
        snprintf(err, sizeof err, "cannot read or create /cluster/id: %s", kz_zkc_strerror(rc));
        kb_server_fatal(s, err);
        return;
    }
    if (s->meta_cluster_id[0] && strcmp(s->meta_cluster_id, cluster_id) != 0) {
        snprintf(err, sizeof err, "The Cluster ID %s doesn't match stored clusterId Some(%s) in "
                 "meta.properties. The broker is trying to join the wrong cluster. Configured "
                 "zookeeper.connect may be wrong.", cluster_id, s->meta_cluster_id);
        kb_server_fatal(s, err);
        return;
    }
    snprintf(s->cluster_id, sizeof s->cluster_id, "%s", cluster_id);
    kz_info(KB_SRV_LOG, "Cluster ID = %s", s->cluster_id);
    if (kb_log_mgr_write_meta(s->logs, s->broker_id, s->cluster_id, err, sizeof err) != 0) {
        kb_server_fatal(s, err);
        return;
    }
    if (kb_server_listen(s, err, sizeof err) != 0) {
        kb_server_fatal(s, err);
        return;
    }
    kb_server_register(s);
}

static void kb_server_on_paths(void *ctx, int rc)
{
    kb_server *s = ctx;
    if (rc != 0) {
        char err[256];
        snprintf(err, sizeof err, "cannot create Kafka's persistent znodes: %s", kz_zkc_strerror(rc));
        kb_server_fatal(s, err);
        return;
    }
    if (kb_zk_get_or_create_cluster_id(s->zk, kb_server_on_cluster_id, s) != 0)
        kb_server_fatal(s, "cannot read /cluster/id");
}

static void kb_server_on_session(void *ctx, kz_zkc_session_event ev, int64_t session_id)
{
    kb_server *s = ctx;
    if (s->stopping)
        return;
    switch (ev) {
    case KZ_ZKC_CONNECTED:
        kz_info("kafka.zookeeper.ZooKeeperClient", "[ZooKeeperClient Kafka server] Connected. "
                "(session 0x%llx)", (unsigned long long)session_id);
        if (s->start_timer) {
            event_free(s->start_timer);
            s->start_timer = NULL;
        }
        if (!s->cluster_id[0]) {
            if (!s->starting) {
                s->starting = true;
                kb_zk_ensure_persistent_paths(s->zk, kb_server_on_paths, s);
            }
        } else if (s->registered && session_id != s->zk_session) {
            kb_server_register(s); /* a new session after expiry: our ephemerals are gone */
        }
        /* Otherwise the same session came back through another server (or the
         * same one): registration and watches are intact, as in Kafka. */
        s->zk_session = session_id;
        break;
    case KZ_ZKC_EXPIRED:
        kz_warn("kafka.zookeeper.ZooKeeperClient", "[ZooKeeperClient Kafka server] Session expired.");
        kb_ctl_on_session_lost(s->ctl);
        break;
    case KZ_ZKC_CONNECT_TIMEOUT:
        if (!s->cluster_id[0]) {
            kz_error(KB_SRV_LOG, "[KafkaServer id=%d] Fatal error during KafkaServer startup. Prepare "
                     "to shutdown: Timed out waiting for connection while in state: CONNECTING",
                     s->broker_id);
            kb_server_stop(s, 1);
        }
        break;
    case KZ_ZKC_AUTH_FAILED:
        kb_server_fatal(s, "ZooKeeper authentication failed");
        break;
    case KZ_ZKC_DISCONNECTED:
        kz_info("kafka.zookeeper.ZooKeeperClient", "[ZooKeeperClient Kafka server] Disconnected; "
                "the client library reconnects.");
        break;
    }
}

static void kb_server_on_signal(evutil_socket_t sig, short what, void *arg)
{
    kb_server *s = arg;
    (void)what;
    if (s->ctl && kb_ctl_shutdown_running(s->ctl))
        kz_info(KB_SRV_LOG, "[KafkaServer id=%d] signal %d during the controlled shutdown: shutting down now",
                s->broker_id, (int)sig);
    else
        kz_info(KB_SRV_LOG, "[KafkaServer id=%d] shutting down (signal %d)", s->broker_id, (int)sig);
    kb_server_stop(s, 0);
}

kb_server *kb_server_new(struct event_base *base, kb_config *cfg, char *err, size_t errlen)
{
    kb_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->base = base;
    s->cfg = cfg;
    s->broker_id = cfg->broker_id;
    s->broker_epoch = -1;
    kb_net_cfg nc = { cfg->socket_request_max_bytes, cfg->socket_send_buffer_bytes,
                      cfg->socket_receive_buffer_bytes, cfg->connections_max_idle_ms };
    s->net = kb_net_new(base, &nc, kb_apis_dispatch, s);
    s->mdc = kb_mdc_new();
    s->rm = kb_rm_new(s);
    if (!s->net || !s->mdc || !s->rm || kb_rm_isr_start(s->rm) != 0) {
        snprintf(err, errlen, "out of memory");
        kb_server_free(s);
        return NULL;
    }
    kb_rm_set_append_listener(s->rm, kb_server_on_append, s);
    kb_log_cfg lc;
    kb_log_cfg_defaults(&lc);
    lc.segment_bytes = cfg->log_segment_bytes;
    lc.segment_ms = cfg->log_roll_ms;
    lc.retention_ms = cfg->log_retention_ms;
    lc.retention_bytes = cfg->log_retention_bytes;
    lc.index_interval_bytes = cfg->log_index_interval_bytes;
    lc.segment_index_bytes = cfg->log_index_size_max_bytes;
    lc.flush_messages = cfg->log_flush_interval_messages;
    lc.flush_ms = cfg->log_flush_interval_ms;
    lc.file_delete_delay_ms = cfg->log_segment_delete_delay_ms;
    lc.cleanup_delete = (cfg->log_cleanup & KB_CLEANUP_DELETE) != 0;
    kb_log_mgr_meta meta;
    if (kb_log_mgr_open(&s->logs, base, (const char *const *)cfg->log_dirs, (int)cfg->n_log_dirs, &lc, &meta,
                        err, errlen) != 0) {
        kb_server_free(s);
        return NULL;
    }
    if (meta.broker_id >= 0 && meta.broker_id != cfg->broker_id) {
        snprintf(err, errlen, "Configured broker.id %d doesn't match stored broker.id Some(%d) in "
                 "meta.properties. If you moved your data, make sure your configured broker.id "
                 "matches. If you intend to create a new broker, you should remove all data in your "
                 "data directories (log.dirs).", cfg->broker_id, meta.broker_id);
        kb_server_free(s);
        return NULL;
    }
    snprintf(s->meta_cluster_id, sizeof s->meta_cluster_id, "%s", meta.cluster_id);
    if (!(s->dyncfg = kb_dyncfg_new(s))) {
        snprintf(err, errlen, "cannot resolve the topic defaults of server.properties");
        kb_server_free(s);
        return NULL;
    }
    return s;
}

int kb_server_start(kb_server *s)
{
    kb_config *cfg = s->cfg;
    s->zk = kz_zkc_new(s->base, cfg->zk_connect, cfg->zk_session_timeout_ms, cfg->zk_connection_timeout_ms,
                       kb_server_on_session, s);
    if (!s->zk) {
        kz_error(KB_SRV_LOG, "cannot create the ZooKeeper client for %s", cfg->zk_connect);
        return -1;
    }
    kb_admin_cfg ac;
    kb_admin_cfg_init(&ac, cfg, s->base);
    s->admin = kb_admin_new(s->zk, &ac);
    kb_ctl_cfg cc;
    kb_ctl_cfg_init(&cc, cfg);
    s->ctl = kb_ctl_new(s->base, s->zk, &cc);
    if (!s->admin || !s->ctl || kb_server_timers(s) != 0) {
        kz_error(KB_SRV_LOG, "out of memory starting the broker");
        return -1;
    }
    kb_ctl_set_listener(s->ctl, kb_server_on_controller_change, s);
    s->sig_ev[0] = evsignal_new(s->base, SIGTERM, kb_server_on_signal, s);
    s->sig_ev[1] = evsignal_new(s->base, SIGINT, kb_server_on_signal, s);
    for (int i = 0; i < 2; i++)
        if (s->sig_ev[i])
            evsignal_add(s->sig_ev[i], NULL);
    return 0;
}

/* ---- stopping ---- */

/* The stop sequence proper: the controller resigns, the listeners close,
 * the loop exits (kb_server_free does the rest). */
static void kb_server_stop_now(kb_server *s)
{
    if (s->stopping)
        return;
    s->stopping = true;
    if (s->ctl)
        kb_ctl_on_session_lost(s->ctl);
    kb_net_close_all(s->net);
    event_base_loopexit(s->base, NULL);
}

/* kb_ctl_cs_locate_fn: the inter-broker endpoint of broker @id, from the metadata cache. */
static int kb_server_locate_broker(void *ctx, int32_t id, char *host, size_t hostlen, int32_t *port)
{
    kb_server *s = ctx;
    const kb_md_broker *b = kb_mdc_broker(s->mdc, id);
    const kb_md_ep *ep = b ? kb_mdc_endpoint(b, s->cfg->inter_broker_listener) : NULL;
    if (!ep || !ep->host)
        return -1;
    snprintf(host, hostlen, "%s", ep->host);
    *port = ep->port;
    return 0;
}

/* kb_ctl_cs_done_fn: the controlled shutdown is over (it logged how): stop. */
static void kb_server_on_controlled_shutdown(void *ctx, bool ok)
{
    (void)ok;
    kb_server_stop_now(ctx);
}

/* Starts the controlled shutdown of a registered broker (controlled.shutdown.*);
 * 0 when started (kb_server_on_controlled_shutdown follows), else -1. */
static int kb_server_controlled_shutdown(kb_server *s)
{
    const kb_config *cfg = s->cfg;
    if (!cfg->controlled_shutdown_enable || !s->registered || !s->ctl)
        return -1;
    kb_ctl_cs_cfg cc = {
        .broker_epoch = s->broker_epoch,
        .max_retries = cfg->controlled_shutdown_max_retries,
        .backoff_ms = cfg->controlled_shutdown_retry_backoff_ms,
        .timeout_ms = cfg->controller_socket_timeout_ms > cfg->request_timeout_ms ? cfg->controller_socket_timeout_ms
                                                                                  : cfg->request_timeout_ms,
    };
    return kb_ctl_shutdown_begin(s->ctl, &cc, kb_server_locate_broker, kb_server_on_controlled_shutdown, s);
}

/* Before anything closes, a registered broker hands its leaderships over
 * (controlled shutdown, the loop serving meanwhile); a second call during it
 * (another signal, a fatal error) skips the rest of it. */
void kb_server_stop(kb_server *s, int exit_code)
{
    if (s->stopping)
        return;
    if (s->ctl && kb_ctl_shutdown_running(s->ctl)) {
        if (exit_code != 0)
            s->exit_code = exit_code;
        kb_ctl_shutdown_abort(s->ctl); /* its callback stops now */
        return;
    }
    s->exit_code = exit_code;
    if (kb_server_controlled_shutdown(s) == 0)
        return;
    kb_server_stop_now(s);
}

void kb_server_free(kb_server *s)
{
    if (!s)
        return;
    kb_net_free(s->net); /* first: pending requests lose their connections */
    kb_produce_drop_all(s);
    kb_fetch_drop_all(s);
    /* The ZooKeeper client answers its pending requests as it closes: their
     * owners (controller, admin, topic configs) must still be there, and the
     * controller out of office so that no answer starts new work. */
    if (s->ctl)
        kb_ctl_on_session_lost(s->ctl);
    kz_zkc_free(s->zk);
    kb_ctl_free(s->ctl);
    kb_admin_free(s->admin);
    kb_dyncfg_free(s->dyncfg);
    while (s->waiters) { /* answered as timed out: their requests are released */
        kb_waiter *w = s->waiters;
        kb_waiter_done_fn *done = w->done;
        void *ctx = w->ctx;
        kb_waiter_unlink(s, w);
        done(s, ctx, true);
    }
    kb_rm_free(s->rm);
    if (s->logs)
        kb_log_mgr_close(s->logs);
    kb_mdc_free(s->mdc);
    for (int i = 0; i < 2; i++)
        if (s->sig_ev[i])
            event_free(s->sig_ev[i]);
    if (s->retention_ev)
        event_free(s->retention_ev);
    if (s->checkpoint_ev)
        event_free(s->checkpoint_ev);
    if (s->flush_ev)
        event_free(s->flush_ev);
    if (s->start_timer)
        event_free(s->start_timer);
    free(s);
}
