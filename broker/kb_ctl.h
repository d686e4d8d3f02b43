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
 * Locality: broker loop thread only; ZooKeeper completions and watches come
 * back on that thread through kz_zkc. */
#ifndef KB_CTL_H
#define KB_CTL_H

#include <stdbool.h>
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
} kb_ctl_cfg;

/* Fills @out from server.properties: broker.id, the inter-broker listener,
 * delete.topic.enable, unclean.leader.election.enable,
 * controller.socket.timeout.ms, socket.request.max.bytes, and the request
 * versions inter.broker.protocol.version calls for (NOTES.md 6). The strings
 * point into @cfg. */
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

/* Resigns (no ZK writes), closes broker connections, frees. Call once no
 * ZooKeeper completion or watch can reach it any more: after kz_zkc_free(zkc),
 * or after the loop stopped for good (kz_zkc delivers on the loop only).
 * Everything still waiting on ZooKeeper is released. NULL-safe. */
void kb_ctl_free(kb_ctl *c);

#endif
