/* broker/kb_ctl.h -- the Kafka controller in ZooKeeper mode (KafkaController
 * of Kafka 2.8, NOTES.md 12): election on /controller, and while active the
 * cluster's partition and replica state machines, topic creation and
 * deletion, broker failure handling, and the channel that sends
 * LeaderAndIsr / UpdateMetadata / StopReplica to every live broker
 * (this one included) over its inter-broker listener.
 *
 * Every broker runs one kb_ctl. It watches /controller; when the node is
 * absent it tries the multi {create /controller (E), setData
 * /controller_epoch = epoch + 1 at the version read}; the winner becomes
 * active ("Elected as the controller ...") and loads the cluster state.
 * Losing (NODEEXISTS/BADVERSION, or /controller naming another broker), a
 * guarded write failing on its /controller_epoch check, or a session loss
 * makes an active controller resign: it drops its state and its broker
 * connections, and goes back to watching.
 *
 * Every ZooKeeper write of an active controller is a multi starting with
 * check(/controller_epoch, version won) (kb_zk_controller_multi), so a
 * deposed controller cannot write. If /controller still names this broker
 * (this session) when its epoch has moved on, the claim is deleted so that
 * a clean election follows.
 *
 * Leadership moves asked from outside (kb_ctl_leaders.c), each a controller
 * event answered once its writes are done: ControlledShutdown (a broker about
 * to stop hands its leaderships over), ElectLeaders (preferred or unclean
 * election of given partitions), and the periodic auto leader rebalance
 * (auto.leader.rebalance.enable). The other side of controlled shutdown, the
 * stopping broker asking the controller, is here too (kb_ctl_shutdown.c): it
 * is this broker's own conversation with the controller.
 *
 * Locality: broker loop thread only; ZooKeeper completions and watches come
 * back on that thread through kz_zkc. */
#ifndef KB_CTL_H
#define KB_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
typedef struct kz_zkc kz_zkc;
typedef struct kb_config kb_config;
typedef struct kb_ctl kb_ctl;

/* What the controller needs from server.properties. Strings are copied. */
typedef struct kb_ctl_cfg {
    int32_t broker_id;
    const char *inter_broker_listener;  /* listener name to reach brokers, e.g. "PLAINTEXT" */
    bool delete_topic_enable;           /* delete.topic.enable */
    bool unclean_leader_election;       /* unclean.leader.election.enable */
    int16_t leader_and_isr_version;     /* by IBP (NOTES.md 6): 5 for 2.8 */
    int16_t update_metadata_version;    /* 7 for 2.8 */
    int16_t stop_replica_version;       /* 3 for 2.8 */
    bool write_topic_ids;               /* IBP >= 2.8-IV0: give topics without one an id */
    int32_t request_timeout_ms;         /* controller.socket.timeout.ms (30000) */
    int32_t max_frame_bytes;            /* bound on response frames from brokers */
    bool auto_leader_rebalance;         /* auto.leader.rebalance.enable */
    int32_t leader_imbalance_pct;       /* leader.imbalance.per.broker.percentage (10) */
    int64_t rebalance_interval_ms;      /* leader.imbalance.check.interval.seconds * 1000 */
    int32_t rebalance_first_delay_ms;   /* first check after failover (Kafka: 5 s); 0 -> 5000 */
} kb_ctl_cfg;

/* Fills @out from server.properties: broker.id, the inter-broker listener,
 * delete.topic.enable, unclean.leader.election.enable,
 * controller.socket.timeout.ms, socket.request.max.bytes, the auto leader
 * rebalance keys, and the request versions inter.broker.protocol.version
 * calls for (NOTES.md 6). The strings point into @cfg. */
void kb_ctl_cfg_init(kb_ctl_cfg *out, const kb_config *cfg);

/* The LeaderAndIsr / UpdateMetadata / StopReplica versions of an IBP given as
 * a full version name ("2.8-IV1", "2.4-IV0", "0.10.2-IV0"); unknown or NULL
 * means the newest. Also whether topic ids are written (IBP >= 2.8-IV0). */
void kb_ctl_ibp_versions(const char *ibp, int16_t *lai, int16_t *um, int16_t *sr, bool *topic_ids);

/* Called on the loop thread when this broker becomes or stops being the
 * active controller, and whenever the known controller id changes. */
typedef void kb_ctl_change_fn(void *ctx, bool active, int32_t controller_id, int32_t epoch);

/* @base and @zkc are borrowed and must outlive the controller. Returns NULL
 * when out of memory. */
kb_ctl *kb_ctl_new(struct event_base *base, kz_zkc *zkc, const kb_ctl_cfg *cfg);
/* Optional observer (one). */
void kb_ctl_set_listener(kb_ctl *c, kb_ctl_change_fn *fn, void *ctx);

/* Starts watching /controller and campaigns. Call after this broker's
 * /brokers/ids/<id> registration succeeded. Returns 0. */
int kb_ctl_start(kb_ctl *c);

/* A new ZooKeeper session was established after the old one expired (the
 * ephemerals are gone, watches too): resign if active and re-elect. The
 * caller re-registers /brokers/ids/<id> first. */
void kb_ctl_on_session(kb_ctl *c);

/* The session expired / the client is closing: resign now (no ZK writes). */
void kb_ctl_on_session_lost(kb_ctl *c);

bool kb_ctl_is_active(const kb_ctl *c);
/* The broker id in /controller as last seen, -1 when none. */
int32_t kb_ctl_controller_id(const kb_ctl *c);
/* The epoch won when active, else the last epoch seen (0 when unknown). */
int32_t kb_ctl_epoch(const kb_ctl *c);

/* ------------------------------------------- leadership moves (controller) */

/* Kafka error codes of the answers below (Errors.java). */
enum {
    KB_CTL_E_NONE = 0,
    KB_CTL_E_UNKNOWN_TOPIC_OR_PARTITION = 3,
    KB_CTL_E_BROKER_NOT_AVAILABLE = 8,
    KB_CTL_E_INVALID_TOPIC = 17,               /* ElectLeaders: the topic is being deleted */
    KB_CTL_E_NOT_CONTROLLER = 41,
    KB_CTL_E_STALE_BROKER_EPOCH = 77,
    KB_CTL_E_PREFERRED_LEADER_NOT_AVAILABLE = 80,
    KB_CTL_E_ELIGIBLE_LEADERS_NOT_AVAILABLE = 83,
    KB_CTL_E_ELECTION_NOT_NEEDED = 84,
};

/* ElectLeaders election types. */
enum { KB_CTL_ELECT_PREFERRED = 0, KB_CTL_ELECT_UNCLEAN = 1 };

typedef struct kb_ctl_tp {
    const char *topic;
    int32_t partition;
} kb_ctl_tp;

/* The answer to a controlled shutdown: @error, and the partitions (of more
 * than one replica) the broker still leads. Borrowed for the call. */
typedef void kb_ctl_cs_reply_fn(void *ctx, int16_t error, const kb_ctl_tp *remaining, int32_t n);

/* ControlledShutdown of broker @broker_id (Kafka's doControlledShutdown), run
 * as a controller event: @broker_epoch (-1: unknown, accepted) older than
 * the registration's czxid -> STALE_BROKER_EPOCH; a broker that is not
 * live -> BROKER_NOT_AVAILABLE; else the broker joins the shutting-down set
 * (no longer eligible as leader or ISR member until its registration goes or
 * is renewed), the partitions it leads get a new leader from the rest of
 * their ISR, and it leaves the ISR of those it follows (StopReplica to it).
 * @fn runs exactly once, from the loop and never inside this call; with
 * NOT_CONTROLLER when this broker is not (or stops being) the controller or
 * the controller is freed first. */
void kb_ctl_controlled_shutdown(kb_ctl *c, int32_t broker_id, int64_t broker_epoch, kb_ctl_cs_reply_fn *fn,
                                void *ctx);

/* One partition's ElectLeaders outcome: an error code with a message (a
 * static string, NULL when none), and on success the leader elected. */
typedef struct kb_ctl_elect_res {
    int16_t error;
    const char *message;
    int32_t leader;
} kb_ctl_elect_res;

/* The results, @res[i] for the i-th partition asked. Borrowed for the call. */
typedef void kb_ctl_elect_fn(void *ctx, const kb_ctl_elect_res *res, int32_t n);

/* ElectLeaders of @tps[0..n) (copied) with election @type, as a controller
 * event (Kafka's processReplicaLeaderElection, AdminClientTriggered): per
 * partition NONE (elected; res.leader), ELECTION_NOT_NEEDED (the preferred
 * replica leads already / a live leader exists), PREFERRED_LEADER_NOT_AVAILABLE
 * or ELIGIBLE_LEADERS_NOT_AVAILABLE (no replica could be elected),
 * UNKNOWN_TOPIC_OR_PARTITION, INVALID_TOPIC (being deleted). @fn runs
 * exactly once, as for kb_ctl_controlled_shutdown (NOT_CONTROLLER for every
 * partition when not the controller). */
void kb_ctl_elect_leaders(kb_ctl *c, int type, const kb_ctl_tp *tps, int32_t n, kb_ctl_elect_fn *fn, void *ctx);

/* ------------------------------ controlled shutdown (the stopping broker) */

typedef struct kb_ctl_cs_cfg {
    int64_t broker_epoch;        /* our registration's czxid */
    int32_t max_retries;         /* controlled.shutdown.max.retries: attempts in all */
    int64_t backoff_ms;          /* controlled.shutdown.retry.backoff.ms */
    int32_t timeout_ms;          /* an attempt's bound, connect included */
} kb_ctl_cs_cfg;

/* Where broker @id takes inter-broker requests: its host copied into @host,
 * its port into *@port; returns 0, or -1 when it is not known. */
typedef int kb_ctl_cs_locate_fn(void *ctx, int32_t id, char *host, size_t hostlen, int32_t *port);
/* The controlled shutdown is over: @ok when the controller moved every
 * leadership away. */
typedef void kb_ctl_cs_done_fn(void *ctx, bool ok);

/* Starts this broker's controlled shutdown (KafkaServer.controlledShutdown):
 * up to @cfg->max_retries attempts, each sending ControlledShutdown v3 to the
 * controller known to @c (found through @locate), over its own connection;
 * an error, remaining partitions, no known controller or a failed attempt
 * wait @cfg->backoff_ms before the next one. The loop keeps running
 * meanwhile. @done runs once, from the loop, when it is over (never inside
 * this call). Returns 0, or -1 (nothing started) when one is running
 * already or memory ran out. */
int kb_ctl_shutdown_begin(kb_ctl *c, const kb_ctl_cs_cfg *cfg, kb_ctl_cs_locate_fn *locate,
                          kb_ctl_cs_done_fn *done, void *ctx);
bool kb_ctl_shutdown_running(const kb_ctl *c);
/* Gives up the running controlled shutdown: @done(false) runs now. */
void kb_ctl_shutdown_abort(kb_ctl *c);

/* Resigns (no ZK writes), closes broker connections, frees. Call once no
 * ZooKeeper completion or watch can reach it any more: after kz_zkc_free(zkc),
 * or after the loop stopped for good (kz_zkc delivers on the loop only).
 * Everything still waiting on ZooKeeper is released; requests still
 * waiting for an answer get NOT_CONTROLLER; a controlled shutdown under way
 * is dropped without calling its @done. NULL-safe. */
void kb_ctl_free(kb_ctl *c);

#endif
