/* coordinator/zkd_fle.h -- the election port: connections between voting
 * servers (QuorumCnxManager) and Fast Leader Election, as ZooKeeper 3.8.
 *
 * One TCP connection per pair of servers, kept only when initiated by the
 * larger sid; header {long -65536, long sid, int len, "host:port"}; then
 * int32-length-prefixed notifications {int state, long leader, long zxid,
 * long electionEpoch, long peerEpoch, int version 2, int len, config text}.
 * Everything runs on the loop thread (bufferevents and timers on @base).
 *
 * Life cycle: zkd_fle_new listens on this server's election port and keeps
 * connecting to the others for as long as it lives. zkd_fle_look starts a
 * round (LOOKING); when it concludes, decided() is called once with the
 * new state and the leader's sid. While not LOOKING, zkd_fle answers
 * LOOKING peers with the vote it decided (state as set by the server), as
 * ZooKeeper's WorkerReceiver does, so late joiners find the leader.
 * Observers never vote and never become leader; they learn the leader from
 * FOLLOWING/LEADING notifications. */
#ifndef ZKD_FLE_H
#define ZKD_FLE_H

#include <stdint.h>

#include "zkd_config.h"

struct event_base;
typedef struct zkd_fle zkd_fle;

/* Peer states as on the wire (QuorumPeer.ServerState ordinal). */
typedef enum {
    ZKD_LOOKING = 0,
    ZKD_FOLLOWING = 1,
    ZKD_LEADING = 2,
    ZKD_OBSERVING = 3,
} zkd_peer_state;

/* Called on the loop thread when a round concludes: @state is FOLLOWING,
 * LEADING or OBSERVING; @leader the elected sid; @peer_epoch the epoch of
 * the elected vote. zkd_fle is not LOOKING any more when this runs; the
 * callback may call zkd_fle_look again (e.g. when the leader is unusable). */
typedef void zkd_fle_decided_fn(void *ctx, zkd_peer_state state, int64_t leader, int64_t peer_epoch);

/* Starts listening on this server's election port (cfg->servers entry of
 * cfg->myid) and connecting to every other server. NULL on failure (logged,
 * e.g. the port is taken). @cfg must outlive the returned object. */
zkd_fle *zkd_fle_new(struct event_base *base, const zkd_config *cfg, zkd_fle_decided_fn *decided, void *ctx);

/* Starts a new election round voting for ourselves with our last logged
 * @zxid and @current_epoch (observers: just looking for the leader). */
void zkd_fle_look(zkd_fle *f, int64_t zxid, int64_t current_epoch);

/* The server's state after decided(): FOLLOWING/LEADING/OBSERVING once it
 * has really joined or formed the quorum. Notifications we send carry it. */
void zkd_fle_set_state(zkd_fle *f, zkd_peer_state state);

/* The epoch the decided vote reports once the new leader's epoch is
 * established (QuorumPeer.updateElectionVote, ZOOKEEPER-1732): every member
 * then answers newcomers with the same vote. */
void zkd_fle_update_epoch(zkd_fle *f, int64_t peer_epoch);

/* Current state (LOOKING while a round runs). */
zkd_peer_state zkd_fle_state(const zkd_fle *f);

/* Closes every connection and the listener. NULL-safe. */
void zkd_fle_free(zkd_fle *f);

/* ---- exposed for tests and fuzzing */
typedef struct zkd_notification {
    int32_t state;
    int64_t leader, zxid, election_epoch, peer_epoch;
    int32_t version;            /* 0 for the legacy 28/40-byte forms */
    const char *config;         /* points into the decoded buffer, not NUL-terminated */
    int32_t config_len;
} zkd_notification;

/* Decodes a notification payload (28, 40 or >= 44 bytes; like ZooKeeper, also
 * 41..43 bytes and longer ones whose version is <= 1, without config; bytes
 * after the config are ignored). 0 or -EBADMSG. */
int zkd_fle_decode(const uint8_t *p, size_t len, zkd_notification *n);

#endif
