/* broker/kb_ctl_ctx.h -- the active controller's view of the cluster
 * (Kafka's ControllerContext): live brokers with their epochs and
 * endpoints, topics with ids and assignments, each partition's leader/ISR
 * and state-machine states, and the topics queued for deletion.
 *
 * Topics are kept sorted by name (binary search), brokers by id. A topic's
 * partitions are an array indexed by partition id (0..nparts-1: Kafka's
 * assignments are dense). Everything is owned by the context and freed with
 * it; pointers to topics stay valid until the topic is removed.
 * Brokers in controlled shutdown stay among the live brokers and are also
 * in the shutting-down set until their registration goes or is renewed.
 * Invariants (kb_ctl_ctx_check): names unique and sorted; ids unique and
 * sorted; the shutting-down set is a sorted subset of the live brokers, and
 * the "up" ids are the live ones without it; every partition's leader/ISR
 * satisfies kb_ctl_lai_check when set.
 * Locality: broker loop thread only. */
#ifndef KB_CTL_CTX_H
#define KB_CTL_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kb_ctl_sm.h"
#include "kz_kmsg.h"

typedef struct kb_client kb_client;

typedef struct kb_ctl_ep {
    char *listener;      /* upper-case listener name */
    char *host;
    int32_t port;
    int16_t proto;       /* SecurityProtocol id */
} kb_ctl_ep;

typedef struct kb_ctl_broker {
    int32_t id;
    int64_t epoch;       /* czxid of /brokers/ids/<id> */
    char *rack;          /* NULL when none */
    int32_t nep;
    kb_ctl_ep *eps;
    kb_client *chan;     /* the controller's connection to it (kb_ctl_chan) */
    void *chan_ctx;      /* its state-callback context, freed with it */
} kb_ctl_broker;

typedef struct kb_ctl_part {
    kb_ctl_ids replicas;
    uint8_t rstate[KB_CTL_MAX_RF];   /* kb_ctl_rstate of replicas.v[i] */
    uint8_t pstate;                  /* kb_ctl_pstate */
    bool has_lai;                    /* the state znode is known */
    kb_ctl_lai lai;
} kb_ctl_part;

typedef struct kb_ctl_topic {
    char *name;
    kz_uuid id;
    bool has_id;
    int32_t nparts;
    kb_ctl_part *parts;
    bool queued_delete;              /* in /admin/delete_topics */
    bool delete_started;             /* StopReplica(delete) sent */
    bool delete_done;                /* every replica answered: znodes being removed */
    bool delete_blocked;             /* a replica failed to delete: wait for a broker start */
} kb_ctl_topic;

typedef struct kb_ctl_ctx {
    kb_ctl_broker *brokers;          /* live brokers (shutting down ones too), by id */
    size_t nbrokers, capbrokers;
    int32_t *live_ids;               /* ids of @brokers: Kafka's liveOrShuttingDownBrokerIds */
    int32_t *up_ids;                 /* @live_ids without @shutting: Kafka's liveBrokerIds */
    size_t nup;
    int32_t *shutting;               /* brokers in controlled shutdown, ascending; a subset of @live_ids */
    size_t nshutting, capshutting;
    kb_ctl_topic **topics;           /* by name */
    size_t ntopics, captopics;
    int32_t epoch;                   /* controller epoch won */
    int32_t epoch_zkv;               /* /controller_epoch znode version (the fence) */
} kb_ctl_ctx;

void kb_ctl_ctx_init(kb_ctl_ctx *x);
/* Frees every broker (their channels must be gone already) and topic. */
void kb_ctl_ctx_clear(kb_ctl_ctx *x);

/* ---- brokers ---- */
kb_ctl_broker *kb_ctl_ctx_broker(kb_ctl_ctx *x, int32_t id);
/* Inserts (or replaces the endpoints/rack/epoch of) broker @b, taking its
 * strings (the caller's struct is zeroed). Returns the stored broker or
 * NULL when out of memory. The channel of a replaced broker is kept. */
kb_ctl_broker *kb_ctl_ctx_put_broker(kb_ctl_ctx *x, kb_ctl_broker *b);
/* Removes broker @id; its channel must have been closed already. */
void kb_ctl_ctx_del_broker(kb_ctl_ctx *x, int32_t id);
/* Liveness has two meanings, as in Kafka's ControllerContext. A broker in
 * controlled shutdown is still registered and still gets every request
 * (LeaderAndIsr, UpdateMetadata, StopReplica: "live or shutting down",
 * kb_ctl_ctx_is_live), but it counts as gone for every leader election and
 * ISR decision ("live", kb_ctl_ctx_live / kb_ctl_ctx_is_up). */
kb_ctl_live kb_ctl_ctx_live(const kb_ctl_ctx *x);          /* live, not shutting down */
bool kb_ctl_ctx_is_up(const kb_ctl_ctx *x, int32_t id);    /* live, not shutting down */
bool kb_ctl_ctx_is_live(const kb_ctl_ctx *x, int32_t id);  /* live or shutting down */
/* The brokers in controlled shutdown, ascending. */
kb_ctl_live kb_ctl_ctx_shutting(const kb_ctl_ctx *x);
bool kb_ctl_ctx_is_shutting(const kb_ctl_ctx *x, int32_t id);
/* Adds a live broker to the shutting-down set (0), or -1 when it is not
 * live or memory ran out. Removing broker @id from the context removes it
 * from the set too. */
int kb_ctl_ctx_add_shutting(kb_ctl_ctx *x, int32_t id);
/* The endpoint of @b for @listener, or NULL. */
const kb_ctl_ep *kb_ctl_broker_ep(const kb_ctl_broker *b, const char *listener);
void kb_ctl_broker_clear(kb_ctl_broker *b);

/* ---- topics ---- */
kb_ctl_topic *kb_ctl_ctx_topic(const kb_ctl_ctx *x, const char *name);
/* Adds topic @name with @nparts partitions in NonExistent/NonExistent
 * states (replicas to be filled by the caller). NULL when out of memory or
 * when it exists. */
kb_ctl_topic *kb_ctl_ctx_add_topic(kb_ctl_ctx *x, const char *name, int32_t nparts);
/* Grows topic @t to @nparts partitions (new ones NonExistent). 0 or -1. */
int kb_ctl_topic_grow(kb_ctl_topic *t, int32_t nparts);
void kb_ctl_ctx_del_topic(kb_ctl_ctx *x, const char *name);

/* ---- state machines (H6) ---- */
/* Moves partition @p to @to; the edge must be legal (asserted). */
void kb_ctl_part_set(kb_ctl_topic *t, int32_t p, kb_ctl_pstate to);
/* Moves replica #@i (index into replicas) of partition @p to @to (asserted). */
void kb_ctl_repl_set(kb_ctl_topic *t, int32_t p, int32_t i, kb_ctl_rstate to);
/* Index of broker @id in the replicas of @part, or -1. */
int32_t kb_ctl_part_replica_index(const kb_ctl_part *part, int32_t id);
/* Replicas of @part that are not live or are shutting down ("offline
 * replicas" of UpdateMetadata: Kafka's !isReplicaOnline). */
void kb_ctl_part_offline(const kb_ctl_ctx *x, const kb_ctl_part *part, kb_ctl_ids *out);

/* Every invariant of the context (H6); NULL or a description. Expensive:
 * callers run it under KZ_DEBUG only. */
const char *kb_ctl_ctx_check(const kb_ctl_ctx *x);

/* Aborts the process with @what when @cond is false (corruption of state
 * that must stop the broker; kept in release builds). */
#define KB_CTL_ASSERT(cond, what) \
    do { if (!(cond)) kb_ctl_assert_fail(#cond, (what), __FILE__, __LINE__); } while (0)
_Noreturn void kb_ctl_assert_fail(const char *cond, const char *what, const char *file, int line);

#endif
