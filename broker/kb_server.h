/* broker/kb_server.h -- the broker as a whole: the composition root that owns
 * every subsystem, and the start/stop order.
 *
 * Start (as KafkaServer.startup): ZooKeeper session -> chroot and persistent
 * paths -> /cluster/id -> log manager (dir locks, recovery, meta.properties)
 * -> listeners -> /brokers/ids/<id> (its czxid is our broker epoch) ->
 * controller election. Stop: first a controlled shutdown when
 * controlled.shutdown.enable (the controller moves leadership away while this
 * broker keeps serving; retried controlled.shutdown.max.retries times; a
 * second signal skips it), then the controller resigns, listeners close,
 * replica fetchers stop, logs are flushed and checkpointed with the
 * clean-shutdown marker, ZooKeeper session closed (the ephemeral
 * registration vanishes).
 *
 * The struct is visible to the request handlers (kb_api_*.c), which are the
 * server's own parts; everything else goes through each module's API.
 * Locality: broker loop thread only. */
#ifndef KB_SERVER_H
#define KB_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "kb_config.h"
#include "kb_metadata_cache.h"
#include "kb_network.h"

typedef struct kz_zkc kz_zkc;
typedef struct kb_admin kb_admin;
typedef struct kb_ctl kb_ctl;
typedef struct kb_log_mgr kb_log_mgr;
typedef struct kb_rm kb_rm;
typedef struct kb_dyncfg kb_dyncfg;
typedef struct kb_waiter kb_waiter;

typedef struct kb_server {
    struct event_base *base;
    kb_config *cfg;
    kb_net *net;
    kb_mdc *mdc;
    kz_zkc *zk;
    kb_admin *admin;
    kb_ctl *ctl;
    kb_log_mgr *logs;
    kb_rm *rm;
    kb_dyncfg *dyncfg;           /* topic config overrides */

    int32_t broker_id;
    char cluster_id[64];
    char meta_cluster_id[64];    /* from meta.properties, "" when none yet */
    int64_t broker_epoch;        /* czxid of our /brokers/ids/<id> */
    int32_t controller_epoch;    /* highest controller epoch seen in requests */
    bool registered;
    bool starting;               /* the start-up chain is under way */
    int64_t zk_session;          /* the ZooKeeper session we registered in */
    bool offsets_topic_creating; /* __consumer_offsets requested, not yet confirmed */
    bool stopping;
    int exit_code;

    kb_waiter *waiters;          /* requests waiting on metadata changes (create/delete topics) */
    struct kb_delayed_produce *produce_waiting; /* acks=-1 produces (kb_api_produce.c) */
    struct kb_delayed_fetch *fetch_waiting;     /* long-poll fetches (kb_api_fetch.c) */
    struct event *retention_ev;  /* log.retention.check.interval.ms */
    struct event *checkpoint_ev; /* recovery points and high watermarks */
    struct event *flush_ev;      /* flush.ms */
    struct event *sig_ev[2];
    struct event *start_timer;   /* zookeeper.connection.timeout.ms for the first session */
} kb_server;

/* Builds the broker from a loaded configuration (taken over: freed by
 * kb_server_free). Returns NULL with a message in @err. */
kb_server *kb_server_new(struct event_base *base, kb_config *cfg, char *err, size_t errlen);
/* Starts the start-up sequence; the loop does the rest. Returns 0 or -1 (message logged). */
int kb_server_start(kb_server *s);
/* Orderly shutdown; the loop exits when done. */
void kb_server_stop(kb_server *s, int exit_code);
void kb_server_free(kb_server *s);

/* Called by the UpdateMetadata handler: re-checks requests waiting for the
 * cluster view to reach a state (topic created with leaders, topic gone). */
void kb_server_metadata_changed(kb_server *s);

/* A request waiting (with a deadline) for the metadata cache to satisfy
 * @ready; @done runs once with timed_out set accordingly. */
typedef bool kb_waiter_ready_fn(kb_server *s, void *ctx);
typedef void kb_waiter_done_fn(kb_server *s, void *ctx, bool timed_out);
void kb_server_wait_metadata(kb_server *s, int32_t timeout_ms, kb_waiter_ready_fn *ready,
                             kb_waiter_done_fn *done, void *ctx);

#endif
