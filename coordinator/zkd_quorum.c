/* coordinator/zkd_quorum.c -- the peer's role state machine (see
 * zkd_quorum.h): election, then leader or learner, back to LOOKING on any
 * failure. Transitions out of a role run from a deferred event so that no
 * role object is freed inside its own callbacks.
 * Locality: loop thread. */
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kz_log.h"
#include "kz_time.h"
#include "zkd_db.h"
#include "zkd_quorum.h"

#define ZKD_COMP "QuorumPeer"

static zkd_db_cfg zkd_quorum_db_cfg(const zkd_quorum *q)
{
    return (zkd_db_cfg){ q->s->cfg->data_dir, q->s->cfg->data_log_dir, false };
}

static void zkd_quorum_write_epoch(zkd_quorum *q, const char *name, int64_t e)
{
    zkd_db_cfg dc = zkd_quorum_db_cfg(q);
    int rc = zkd_db_epoch_write(&dc, name, e);
    if (rc) {
        kz_error(ZKD_COMP, "cannot write %s: %s", name, strerror(-rc));
        exit(2);
    }
}

void zkd_quorum_set_accepted_epoch(zkd_quorum *q, int64_t e)
{
    q->accepted_epoch = e;
    zkd_quorum_write_epoch(q, ZKD_ACCEPTED_EPOCH, e);
}

void zkd_quorum_set_current_epoch(zkd_quorum *q, int64_t e)
{
    q->current_epoch = e;
    zkd_quorum_write_epoch(q, ZKD_CURRENT_EPOCH, e);
}

bool zkd_quorum_is_voter(const zkd_quorum *q, int64_t sid)
{
    const zkd_config *c = q->s->cfg;
    for (size_t i = 0; i < c->n_servers; i++)
        if (c->servers[i].id == sid)
            return !c->servers[i].observer;
    return false;
}

void zkd_quorum_proposal_size(zkd_quorum *q, size_t len)
{
    int64_t n = (int64_t)len;
    q->st.proposal_last = n;
    if (q->st.proposal_min < 0 || n < q->st.proposal_min)
        q->st.proposal_min = n;
    if (n > q->st.proposal_max)
        q->st.proposal_max = n;
}

/* ------------------------------------------------------------ roles */

static void zkd_quorum_look(zkd_quorum *q)
{
    q->role = ZKD_ROLE_LOOKING;
    q->leader_id = -1;
    q->st.elections++;
    q->look_started_us = kz_mono_us();
    int64_t zxid = zkd_dt_last_zxid(q->s->dt);
    kz_info(ZKD_COMP, "LOOKING");
    zkd_fle_look(q->fle, zxid, q->current_epoch);
}

static void zkd_quorum_decided(void *ctx, zkd_peer_state state, int64_t leader, int64_t peer_epoch)
{
    zkd_quorum *q = ctx;
    (void)peer_epoch;
    q->leader_id = leader;
    q->st.last_election_ms = (kz_mono_us() - q->look_started_us) / 1000;
    if (state == ZKD_LEADING) {
        q->role = ZKD_ROLE_LEADING;
        q->leader = zkd_leader_start(q);
        if (!q->leader)
            zkd_quorum_relook(q, "cannot lead");
        return;
    }
    q->role = state == ZKD_OBSERVING ? ZKD_ROLE_OBSERVING : ZKD_ROLE_FOLLOWING;
    q->learner = zkd_learner_start(q, state == ZKD_OBSERVING);
    if (!q->learner)
        zkd_quorum_relook(q, "cannot follow");
}

static void zkd_quorum_deferred(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    zkd_quorum *q = arg;
    if (!q->want_looking)
        return;
    q->want_looking = false;
    zkd_server *s = q->s;
    zkd_server_set_serving(s, false); /* closes the client connections first */
    zkd_leader_free(q->leader);
    q->leader = NULL;
    zkd_learner_free(q->learner);
    q->learner = NULL;
    if (zkd_server_db_reload(s, -1) != 0) {
        kz_error(ZKD_COMP, "Unable to reload the database, exiting");
        exit(2);
    }
    zkd_quorum_look(q);
}

void zkd_quorum_relook(zkd_quorum *q, const char *why)
{
    if (q->want_looking)
        return;
    kz_warn(ZKD_COMP, "PeerState set to LOOKING: %s", why);
    q->want_looking = true;
    event_active(q->defer_ev, EV_TIMEOUT, 0);
}

/* acceptedEpoch / currentEpoch, created from the last zxid when missing
 * (QuorumPeer.loadDataBase). */
static int zkd_quorum_load_epochs(zkd_quorum *q)
{
    zkd_db_cfg dc = zkd_quorum_db_cfg(q);
    int64_t last_epoch = zkd_dt_last_zxid(q->s->dt) >> 32;
    int rc = zkd_db_epoch_read(&dc, ZKD_CURRENT_EPOCH, &q->current_epoch);
    if (rc == -ENOENT) {
        kz_info(ZKD_COMP, "currentEpoch not found! Creating with a reasonable default of %lld. This should only "
                "happen when you are upgrading your installation", (long long)last_epoch);
        zkd_quorum_set_current_epoch(q, last_epoch);
    } else if (rc) {
        kz_error(ZKD_COMP, "Unable to load the currentEpoch file: %s", strerror(-rc));
        return -1;
    }
    if (q->current_epoch < last_epoch) {
        kz_error(ZKD_COMP, "The current epoch, %llx, is older than the last zxid, %llx",
                 (unsigned long long)q->current_epoch, (unsigned long long)zkd_dt_last_zxid(q->s->dt));
        return -1;
    }
    rc = zkd_db_epoch_read(&dc, ZKD_ACCEPTED_EPOCH, &q->accepted_epoch);
    if (rc == -ENOENT) {
        kz_info(ZKD_COMP, "acceptedEpoch not found! Creating with a reasonable default of %lld. This should only "
                "happen when you are upgrading your installation", (long long)last_epoch);
        zkd_quorum_set_accepted_epoch(q, last_epoch);
    } else if (rc) {
        kz_error(ZKD_COMP, "Unable to load the acceptedEpoch file: %s", strerror(-rc));
        return -1;
    }
    if (q->accepted_epoch < q->current_epoch) {
        kz_error(ZKD_COMP, "The accepted epoch, %llx is less than the current epoch, %llx",
                 (unsigned long long)q->accepted_epoch, (unsigned long long)q->current_epoch);
        return -1;
    }
    return 0;
}

int zkd_quorum_start(zkd_server *s)
{
    zkd_quorum *q = calloc(1, sizeof *q);
    if (!q)
        return -1;
    s->q = q;
    q->s = s;
    q->myid = s->cfg->myid;
    q->leader_id = -1;
    q->role = ZKD_ROLE_LOOKING;
    q->st.proposal_last = q->st.proposal_min = q->st.proposal_max = -1;
    const zkd_server_def *self = zkd_config_self(s->cfg);
    q->observer = self && self->observer;
    for (size_t i = 0; i < s->cfg->n_servers; i++)
        if (!s->cfg->servers[i].observer)
            q->nvoters++;
    if (zkd_quorum_load_epochs(q))
        return -1;
    if (!(q->defer_ev = event_new(s->base, -1, 0, zkd_quorum_deferred, q)))
        return -1;
    if (!(q->fle = zkd_fle_new(s->base, s->cfg, zkd_quorum_decided, q)))
        return -1;
    kz_info(ZKD_COMP, "myid=%lld, %d voters, currentEpoch=%lld, acceptedEpoch=%lld", (long long)q->myid, q->nvoters,
            (long long)q->current_epoch, (long long)q->accepted_epoch);
    zkd_quorum_look(q);
    return 0;
}

void zkd_quorum_stop(zkd_server *s)
{
    zkd_quorum *q = s->q;
    if (!q)
        return;
    zkd_leader_free(q->leader);
    zkd_learner_free(q->learner);
    zkd_fle_free(q->fle);
    if (q->defer_ev)
        event_free(q->defer_ev);
    free(q);
    s->q = NULL;
}
