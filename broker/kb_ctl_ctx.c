/* broker/kb_ctl_ctx.c -- the controller context: brokers, topics, partitions
 * and their state-machine states (see kb_ctl_ctx.h).
 * Locality: broker loop thread only. */
#include "kb_ctl_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kz_log.h"
#include "kz_vec.h"

_Noreturn void kb_ctl_assert_fail(const char *cond, const char *what, const char *file, int line)
{
    kz_log_write(KZ_LOG_FATAL, "kafka.controller.KafkaController", "assertion %s failed (%s) at %s:%d",
                 cond, what ? what : "", file, line);
    abort();
}

void kb_ctl_ctx_init(kb_ctl_ctx *x) { memset(x, 0, sizeof *x); }

void kb_ctl_broker_clear(kb_ctl_broker *b)
{
    for (int32_t i = 0; i < b->nep; i++) {
        free(b->eps[i].listener);
        free(b->eps[i].host);
    }
    free(b->eps);
    free(b->rack);
    b->eps = NULL;
    b->rack = NULL;
    b->nep = 0;
}

static void ctx_topic_free(kb_ctl_topic *t)
{
    if (t) {
        free(t->name);
        free(t->parts);
        free(t);
    }
}

void kb_ctl_ctx_clear(kb_ctl_ctx *x)
{
    for (size_t i = 0; i < x->nbrokers; i++)
        kb_ctl_broker_clear(&x->brokers[i]);
    free(x->brokers);
    free(x->live_ids);
    free(x->up_ids);
    free(x->shutting);
    for (size_t i = 0; i < x->ntopics; i++)
        ctx_topic_free(x->topics[i]);
    free(x->topics);
    memset(x, 0, sizeof *x);
}

/* ------------------------------------------------------------- brokers */

/* Index of the first broker with id >= @id. */
static size_t ctx_broker_pos(const kb_ctl_ctx *x, int32_t id)
{
    size_t lo = 0, hi = x->nbrokers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (x->brokers[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

kb_ctl_broker *kb_ctl_ctx_broker(kb_ctl_ctx *x, int32_t id)
{
    size_t i = ctx_broker_pos(x, id);
    return i < x->nbrokers && x->brokers[i].id == id ? &x->brokers[i] : NULL;
}

static bool ids_sorted_has(const int32_t *v, size_t n, int32_t id)
{
    kb_ctl_live l = { v, n };
    return kb_ctl_live_has(&l, id);
}

/* Rebuilds @live_ids and @up_ids from @brokers and @shutting, and drops
 * shutting-down ids that are no broker any more. Both arrays have room for
 * every broker (capbrokers). */
static void ctx_sync_live(kb_ctl_ctx *x)
{
    size_t k = 0;
    for (size_t i = 0; i < x->nshutting; i++)
        if (kb_ctl_ctx_broker(x, x->shutting[i]))
            x->shutting[k++] = x->shutting[i];
    x->nshutting = k;
    x->nup = 0;
    for (size_t i = 0; i < x->nbrokers; i++) {
        x->live_ids[i] = x->brokers[i].id;
        if (!ids_sorted_has(x->shutting, x->nshutting, x->brokers[i].id))
            x->up_ids[x->nup++] = x->brokers[i].id;
    }
}

kb_ctl_broker *kb_ctl_ctx_put_broker(kb_ctl_ctx *x, kb_ctl_broker *b)
{
    size_t i = ctx_broker_pos(x, b->id);
    if (i < x->nbrokers && x->brokers[i].id == b->id) {
        kb_ctl_broker *o = &x->brokers[i];
        kb_client *chan = o->chan;
        void *chan_ctx = o->chan_ctx;
        kb_ctl_broker_clear(o);
        *o = *b;
        o->chan = chan;
        o->chan_ctx = chan_ctx;
        memset(b, 0, sizeof *b);
        return o;
    }
    if (x->nbrokers == x->capbrokers) {
        size_t cap = x->capbrokers ? x->capbrokers * 2 : 8;
        kb_ctl_broker *nb = realloc(x->brokers, cap * sizeof *nb);
        if (!nb)
            return NULL;
        x->brokers = nb;
        int32_t *nl = realloc(x->live_ids, cap * sizeof *nl);
        if (!nl)
            return NULL;
        x->live_ids = nl;
        int32_t *nu = realloc(x->up_ids, cap * sizeof *nu);
        if (!nu)
            return NULL;
        x->up_ids = nu;
        x->capbrokers = cap;
    }
    memmove(&x->brokers[i + 1], &x->brokers[i], (x->nbrokers - i) * sizeof *x->brokers);
    x->brokers[i] = *b;
    memset(b, 0, sizeof *b);
    x->nbrokers++;
    ctx_sync_live(x);
    return &x->brokers[i];
}

void kb_ctl_ctx_del_broker(kb_ctl_ctx *x, int32_t id)
{
    size_t i = ctx_broker_pos(x, id);
    if (i >= x->nbrokers || x->brokers[i].id != id)
        return;
    KB_CTL_ASSERT(x->brokers[i].chan == NULL, "channel still open");
    kb_ctl_broker_clear(&x->brokers[i]);
    memmove(&x->brokers[i], &x->brokers[i + 1], (x->nbrokers - i - 1) * sizeof *x->brokers);
    x->nbrokers--;
    ctx_sync_live(x);
}

kb_ctl_live kb_ctl_ctx_live(const kb_ctl_ctx *x) { return (kb_ctl_live){ x->up_ids, x->nup }; }

bool kb_ctl_ctx_is_up(const kb_ctl_ctx *x, int32_t id) { return ids_sorted_has(x->up_ids, x->nup, id); }

bool kb_ctl_ctx_is_live(const kb_ctl_ctx *x, int32_t id) { return ids_sorted_has(x->live_ids, x->nbrokers, id); }

kb_ctl_live kb_ctl_ctx_shutting(const kb_ctl_ctx *x) { return (kb_ctl_live){ x->shutting, x->nshutting }; }

bool kb_ctl_ctx_is_shutting(const kb_ctl_ctx *x, int32_t id)
{
    return ids_sorted_has(x->shutting, x->nshutting, id);
}

int kb_ctl_ctx_add_shutting(kb_ctl_ctx *x, int32_t id)
{
    if (!kb_ctl_ctx_broker(x, id))
        return -1;
    if (kb_ctl_ctx_is_shutting(x, id))
        return 0;
    if (KZ_VEC_RESERVE(x->shutting, x->capshutting, x->nshutting + 1, 8) != 0)
        return -1;
    size_t i = x->nshutting;
    while (i > 0 && x->shutting[i - 1] > id) {
        x->shutting[i] = x->shutting[i - 1];
        i--;
    }
    x->shutting[i] = id;
    x->nshutting++;
    ctx_sync_live(x);
    return 0;
}

const kb_ctl_ep *kb_ctl_broker_ep(const kb_ctl_broker *b, const char *listener)
{
    for (int32_t i = 0; i < b->nep; i++)
        if (strcmp(b->eps[i].listener, listener) == 0)
            return &b->eps[i];
    return NULL;
}

/* -------------------------------------------------------------- topics */

/* Index of the first topic whose name is >= @name. */
static size_t ctx_topic_pos(const kb_ctl_ctx *x, const char *name)
{
    size_t lo = 0, hi = x->ntopics;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(x->topics[mid]->name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

kb_ctl_topic *kb_ctl_ctx_topic(const kb_ctl_ctx *x, const char *name)
{
    size_t i = ctx_topic_pos(x, name);
    return i < x->ntopics && strcmp(x->topics[i]->name, name) == 0 ? x->topics[i] : NULL;
}

int kb_ctl_topic_grow(kb_ctl_topic *t, int32_t nparts)
{
    if (nparts <= t->nparts)
        return 0;
    kb_ctl_part *np = realloc(t->parts, (size_t)nparts * sizeof *np);
    if (!np)
        return -1;
    memset(np + t->nparts, 0, (size_t)(nparts - t->nparts) * sizeof *np);
    t->parts = np;
    t->nparts = nparts;
    return 0;
}

kb_ctl_topic *kb_ctl_ctx_add_topic(kb_ctl_ctx *x, const char *name, int32_t nparts)
{
    size_t i = ctx_topic_pos(x, name);
    if (i < x->ntopics && strcmp(x->topics[i]->name, name) == 0)
        return NULL;
    if (KZ_VEC_RESERVE(x->topics, x->captopics, x->ntopics + 1, 16) != 0)
        return NULL;
    kb_ctl_topic *t = calloc(1, sizeof *t);
    if (!t || !(t->name = strdup(name)) || kb_ctl_topic_grow(t, nparts) != 0) {
        ctx_topic_free(t);
        return NULL;
    }
    memmove(&x->topics[i + 1], &x->topics[i], (x->ntopics - i) * sizeof *x->topics);
    x->topics[i] = t;
    x->ntopics++;
    return t;
}

void kb_ctl_ctx_del_topic(kb_ctl_ctx *x, const char *name)
{
    size_t i = ctx_topic_pos(x, name);
    if (i >= x->ntopics || strcmp(x->topics[i]->name, name) != 0)
        return;
    ctx_topic_free(x->topics[i]);
    memmove(&x->topics[i], &x->topics[i + 1], (x->ntopics - i - 1) * sizeof *x->topics);
    x->ntopics--;
}

/* ------------------------------------------------------ state machines */

void kb_ctl_part_set(kb_ctl_topic *t, int32_t p, kb_ctl_pstate to)
{
    KB_CTL_ASSERT(p >= 0 && p < t->nparts, t->name);
    kb_ctl_part *part = &t->parts[p];
    KB_CTL_ASSERT(kb_ctl_part_ok[part->pstate][to], kb_ctl_pstate_name(to));
    kz_debug("state.change.logger", "Changed partition %s-%d state from %s to %s", t->name, p,
             kb_ctl_pstate_name((kb_ctl_pstate)part->pstate), kb_ctl_pstate_name(to));
    part->pstate = (uint8_t)to;
}

void kb_ctl_repl_set(kb_ctl_topic *t, int32_t p, int32_t i, kb_ctl_rstate to)
{
    KB_CTL_ASSERT(p >= 0 && p < t->nparts, t->name);
    kb_ctl_part *part = &t->parts[p];
    KB_CTL_ASSERT(i >= 0 && i < part->replicas.n, t->name);
    KB_CTL_ASSERT(kb_ctl_repl_ok[part->rstate[i]][to], kb_ctl_rstate_name(to));
    part->rstate[i] = (uint8_t)to;
}

int32_t kb_ctl_part_replica_index(const kb_ctl_part *part, int32_t id)
{
    for (int32_t i = 0; i < part->replicas.n; i++)
        if (part->replicas.v[i] == id)
            return i;
    return -1;
}

void kb_ctl_part_offline(const kb_ctl_ctx *x, const kb_ctl_part *part, kb_ctl_ids *out)
{
    out->n = 0;
    for (int32_t i = 0; i < part->replicas.n; i++)
        if (!kb_ctl_ctx_is_up(x, part->replicas.v[i]))
            out->v[out->n++] = part->replicas.v[i];
}

const char *kb_ctl_ctx_check(const kb_ctl_ctx *x)
{
    for (size_t i = 1; i < x->nbrokers; i++)
        if (x->brokers[i - 1].id >= x->brokers[i].id)
            return "brokers not sorted by id";
    for (size_t i = 0; i < x->nbrokers; i++)
        if (x->live_ids[i] != x->brokers[i].id)
            return "live ids out of step";
    for (size_t i = 0; i < x->nshutting; i++)
        if ((i && x->shutting[i - 1] >= x->shutting[i]) || !kb_ctl_ctx_is_live(x, x->shutting[i]))
            return "shutting-down brokers not sorted or not live";
    if (x->nup + x->nshutting != x->nbrokers)
        return "up ids out of step";
    for (size_t i = 0; i < x->ntopics; i++) {
        const kb_ctl_topic *t = x->topics[i];
        if (i && strcmp(x->topics[i - 1]->name, t->name) >= 0)
            return "topics not sorted by name";
        for (int32_t p = 0; p < t->nparts; p++) {
            const kb_ctl_part *part = &t->parts[p];
            if (part->pstate >= KB_PS__N)
                return "bad partition state";
            if (part->has_lai && kb_ctl_lai_check(&part->lai, &part->replicas))
                return kb_ctl_lai_check(&part->lai, &part->replicas);
            for (int32_t r = 0; r < part->replicas.n; r++)
                if (part->rstate[r] >= KB_RS__N)
                    return "bad replica state";
        }
    }
    return NULL;
}
