/* coordinator/zkd_quorum.h -- ensemble mode: the peer's role state machine
 * and the ZAB roles (leader, follower, observer), internal to coordinator/.
 *
 *            start
 *              |
 *              v        decided (FLE)        synced quorum (NEWLEADER acks)
 *   +----> LOOKING ---------------------> LEADING --------------------> serving
 *   |          |                              | lost the synced quorum
 *   |          | decided: FOLLOWING/OBSERVING  v
 *   |          +------------> learner ---- UPTODATE ----> serving
 *   |                            | leader lost (read timeout, error)
 *   +----------------------------+-----------------------------------------+
 *
 * Entering LOOKING closes the client connections, stops serving and reloads
 * the database from disk (snapshot + log, which holds every proposal this
 * server logged, committed or not, as ZooKeeper's history does), so the vote
 * is (currentEpoch, last logged zxid, myid).
 *
 * Write path by role (zkd_quorum_submit):
 *   leader:   prep -> txn -> local log + PROPOSAL to followers; the txn is
 *             committed once the leader's own log and a quorum of voters
 *             (leader included) have it; then COMMIT / INFORM and apply.
 *   learner:  REQUEST to the leader; the request waits in the forwarded
 *             FIFO until the matching commit (same session id and cxid in
 *             the TxnHeader) is applied here, then it is answered.
 * Follower: PROPOSAL -> local log -> ACK; COMMIT -> apply (+ reply).
 * Observer: INFORM -> local log + apply.
 * Locality: loop thread. */
#ifndef ZKD_QUORUM_H
#define ZKD_QUORUM_H

#include <stdbool.h>
#include <stdint.h>

#include "kz_map.h"
#include "zkd_fle.h"
#include "zkd_qcnx.h"
#include "zkd_server.h"

typedef struct zkd_leader zkd_leader;
typedef struct zkd_learner zkd_learner;

/* Statistics shown by the four-letter words in ensemble mode. */
typedef struct zkd_qstats {
    int64_t proposal_last, proposal_min, proposal_max; /* bytes; -1 before the first */
    int64_t elections;        /* rounds started */
    int64_t last_election_ms; /* duration of the last election */
} zkd_qstats;

struct zkd_quorum {
    zkd_server *s;
    zkd_fle *fle;
    zkd_role role;
    int64_t myid;
    bool observer;           /* this server's server.N line says :observer */
    int nvoters;             /* participants */
    int64_t leader_id;       /* the decided leader, -1 while looking */
    int64_t accepted_epoch;
    int64_t current_epoch;
    zkd_leader *leader;
    zkd_learner *learner;
    struct event *defer_ev;  /* transitions run from here, never inside a callback */
    bool want_looking;
    int64_t look_started_us;
    zkd_qstats st;
};

/* ---- zkd_quorum.c */
int zkd_quorum_start(zkd_server *s);  /* reads epochs, starts FLE, looks */
void zkd_quorum_stop(zkd_server *s);
/* Leaves the current role (asynchronously) and starts a new election. */
void zkd_quorum_relook(zkd_quorum *q, const char *why);
bool zkd_quorum_is_voter(const zkd_quorum *q, int64_t sid);
/* Writes acceptedEpoch / currentEpoch (exits on failure: the files are the
 * protocol's memory). */
void zkd_quorum_set_accepted_epoch(zkd_quorum *q, int64_t e);
void zkd_quorum_set_current_epoch(zkd_quorum *q, int64_t e);
void zkd_quorum_proposal_size(zkd_quorum *q, size_t len);

/* ---- zkd_leader.c */
zkd_leader *zkd_leader_start(zkd_quorum *q);
void zkd_leader_free(zkd_leader *l);
int zkd_leader_submit(zkd_leader *l, zkd_req *req, const zkd_auth_id *ids, uint32_t nids);
bool zkd_leader_sync(zkd_leader *l, zkd_req *req);
void zkd_leader_durable(zkd_leader *l, int64_t zxid);
/* What the four-letter words show about a leader. */
typedef struct zkd_leader_info {
    int learners;            /* connected learners (getLearners) */
    int synced_followers;    /* followers past NEWLEADER (getForwardingFollowers) */
    int synced_observers;    /* observers past NEWLEADER */
    int pending_syncs;       /* learners' syncs waiting for a commit */
    int64_t uptime_ms;       /* since this peer took office */
    int64_t served[256];     /* sids of every learner served, ascending */
    size_t nserved;
} zkd_leader_info;
void zkd_leader_stats(const zkd_leader *l, zkd_leader_info *out);

/* ---- zkd_learner.c */
zkd_learner *zkd_learner_start(zkd_quorum *q, bool observer);
void zkd_learner_free(zkd_learner *l);
int zkd_learner_submit(zkd_learner *l, zkd_req *req, const zkd_auth_id *ids, uint32_t nids);
void zkd_learner_sync(zkd_learner *l, zkd_req *req);
void zkd_learner_durable(zkd_learner *l, int64_t zxid);
void zkd_learner_touch(zkd_learner *l, int64_t sid, int32_t timeout);
/* Asks the leader whether @sid is alive; zkd_cnxn_revalidated(c, ...) later. */
void zkd_learner_revalidate(zkd_learner *l, zkd_conn *c, int64_t sid, int32_t timeout);
void zkd_learner_conn_gone(zkd_learner *l, zkd_conn *c);

#endif
