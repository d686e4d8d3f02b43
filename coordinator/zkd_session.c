/* coordinator/zkd_session.c -- sessions: ids, passwords, timeouts, expiry.
 *
 * Expiry works like ZooKeeper's ExpiryQueue: a session's deadline is rounded
 * up to the next multiple of tickTime, sessions sharing a deadline form one
 * bucket, and a timer firing on each tick boundary expires the due bucket by
 * submitting a closeSession txn (ephemerals then go through the normal
 * pipeline, watches fire, the txn is logged).
 * Locality: zkd loop thread only. */
#include <stdlib.h>
#include <string.h>

#include "kz_log.h"
#include "kz_time.h"
#include "zkd_server.h"

#define ZKD_COMP "SessionTrackerImpl"

int32_t zkd_session_negotiate(const zkd_server *s, int32_t requested)
{
    int32_t lo = s->cfg->min_session_timeout, hi = s->cfg->max_session_timeout;
    if (requested < lo)
        return lo;
    if (requested > hi)
        return hi;
    return requested;
}

/* java.util.Random(seed).nextBytes(16): a 48-bit LCG, so that any server
 * (ours or Apache ZooKeeper) derives the same password for a session id. */
void zkd_session_passwd(int64_t id, uint8_t out[16])
{
    const uint64_t mult = 0x5DEECE66DULL, mask = (1ULL << 48) - 1;
    uint64_t seed = ((uint64_t)(id ^ 0xB3415C00LL) ^ mult) & mask;
    for (int i = 0; i < 16;) {
        seed = (seed * mult + 0xBULL) & mask;
        int32_t rnd = (int32_t)(uint32_t)(seed >> 16);
        for (int n = 0; n < 4 && i < 16; n++, rnd >>= 8)
            out[i++] = (uint8_t)rnd;
    }
}

int64_t zkd_session_next_id(zkd_server *s) { return ++s->next_session_id; }

static int64_t zkd_round_up(const zkd_server *s, int64_t t)
{
    int64_t tick = s->cfg->tick_time;
    return (t / tick + 1) * tick;
}

static void zkd_bucket_unlink(zkd_server *s, zkd_session *se)
{
    if (!se->expire_at)
        return;
    if (se->bprev) {
        se->bprev->bnext = se->bnext;
    } else if (se->bnext) {
        kz_map_put(&s->buckets, se->expire_at, (uint64_t)(uintptr_t)se->bnext);
    } else {
        kz_map_del(&s->buckets, se->expire_at, NULL);
    }
    if (se->bnext)
        se->bnext->bprev = se->bprev;
    se->bnext = se->bprev = NULL;
    se->expire_at = 0;
}

static void zkd_bucket_link(zkd_server *s, zkd_session *se, int64_t at)
{
    uint64_t v;
    zkd_session *head = kz_map_get(&s->buckets, at, &v) ? (zkd_session *)(uintptr_t)v : NULL;
    if (kz_map_put(&s->buckets, at, (uint64_t)(uintptr_t)se)) {
        /* Out of memory: the session keeps no deadline until the next touch. */
        kz_error(ZKD_COMP, "out of memory scheduling session 0x%llx", (unsigned long long)se->id);
        return;
    }
    se->bnext = head;
    se->bprev = NULL;
    if (head)
        head->bprev = se;
    se->expire_at = at;
}

void zkd_session_touch(zkd_server *s, zkd_session *se)
{
    if (se->closing)
        return;
    if (s->q)
        zkd_server_session_touched(s, se->id, se->timeout);
    int64_t at = zkd_round_up(s, kz_wall_ms() + se->timeout);
    if (at == se->expire_at)
        return;
    zkd_bucket_unlink(s, se);
    zkd_bucket_link(s, se, at);
}

zkd_session *zkd_session_get(zkd_server *s, int64_t id)
{
    uint64_t v;
    return kz_map_get(&s->sessions, id, &v) ? (zkd_session *)(uintptr_t)v : NULL;
}

zkd_session *zkd_session_add(zkd_server *s, int64_t id, int32_t timeout)
{
    zkd_session *se = zkd_session_get(s, id);
    if (se) {
        se->timeout = timeout;
        zkd_session_touch(s, se);
        return se;
    }
    se = calloc(1, sizeof *se);
    if (!se || kz_map_put(&s->sessions, id, (uint64_t)(uintptr_t)se)) {
        free(se);
        return NULL;
    }
    se->id = id;
    se->timeout = timeout;
    zkd_session_touch(s, se);
    return se;
}

void zkd_session_remove(zkd_server *s, int64_t id)
{
    uint64_t v;
    if (!kz_map_del(&s->sessions, id, &v))
        return;
    zkd_session *se = (zkd_session *)(uintptr_t)v;
    zkd_bucket_unlink(s, se);
    if (se->conn)
        se->conn->session = NULL;
    free(se);
}

/* Submits closeSession for @se (expired). */
static void zkd_session_expire(zkd_server *s, zkd_session *se)
{
    kz_info(ZKD_COMP, "Expiring session 0x%llx, timeout of %dms exceeded", (unsigned long long)se->id, se->timeout);
    se->closing = true;
    zkd_req *req = calloc(1, sizeof *req);
    if (!req)
        return;
    req->type = ZKD_OP_CLOSE_SESSION;
    req->session_id = se->id;
    req->recv_us = kz_mono_us();
    /* The connection, if any, is closed once the txn is applied. */
    if (zkd_server_submit(s, req, NULL, 0) != 0)
        zkd_req_free(req);
}

static void zkd_session_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    zkd_server *s = arg;
    int64_t now = kz_wall_ms();
    while (s->next_expire <= now) {
        uint64_t v;
        while (kz_map_get(&s->buckets, s->next_expire, &v)) {
            zkd_session *se = (zkd_session *)(uintptr_t)v;
            zkd_bucket_unlink(s, se);
            if (zkd_server_is_master(s))
                zkd_session_expire(s, se); /* learners leave it to the leader */
        }
        s->next_expire += s->cfg->tick_time;
    }
    int64_t wait = s->next_expire - kz_wall_ms();
    struct timeval tv = { (time_t)(wait / 1000), (suseconds_t)((wait % 1000) * 1000) };
    if (wait < 0)
        tv = (struct timeval){ 0, 0 };
    event_add(s->tick_ev, &tv);
}

int zkd_session_init(zkd_server *s)
{
    int64_t now = kz_wall_ms();
    /* (serverId << 56) | ((elapsed ms << 24) >>> 8), as SessionTrackerImpl.
     * initializeNextSessionId; a standalone server uses id 1. */
    int64_t sid = zkd_config_standalone(s->cfg) ? 1 : s->cfg->myid;
    uint64_t elapsed = (uint64_t)(kz_mono_us() / 1000);
    s->next_session_id = (int64_t)((elapsed << 24) >> 8) | (int64_t)((uint64_t)sid << 56);
    s->next_session_id--; /* zkd_session_next_id pre-increments */
    s->next_expire = zkd_round_up(s, now);
    s->tick_ev = event_new(s->base, -1, 0, zkd_session_tick, s);
    if (!s->tick_ev)
        return KZ_ENOMEM;
    zkd_session_tick(-1, 0, s);
    return 0;
}

void zkd_session_fini(zkd_server *s)
{
    int64_t k;
    uint64_t v;
    for (size_t it = 0; kz_map_next(&s->sessions, &it, &k, &v);)
        free((zkd_session *)(uintptr_t)v);
    kz_map_free(&s->sessions);
    kz_map_free(&s->buckets);
    if (s->tick_ev)
        event_free(s->tick_ev);
    s->tick_ev = NULL;
}
