/* broker/kb_ctl_int.h -- internals shared by the controller's files:
 *   kb_ctl.c           lifecycle, election, the event queue, failover
 *   kb_ctl_state.c     the ZooKeeper writes of the partition and replica state
 *                      machines, partition lists, znode decoding
 *   kb_ctl_events.c    broker / topic / partition / ISR / preferred events
 *   kb_ctl_topic_del.c topic deletion
 *   kb_ctl_chan.c      request batches and the channel to each broker
 *   kb_ctl_leaders.c   controlled shutdown, ElectLeaders, auto leader rebalance
 *   kb_ctl_shutdown.c  this broker's own controlled shutdown (the client side)
 *
 * Event model (Kafka's ControllerEventManager): watches and responses
 * become events in one FIFO; one event runs at a time. An event is a chain
 * of asynchronous ZooKeeper steps; parallel steps join on a ctl_join whose
 * continuation runs when its last operation completed. The event ends with
 * ctl_ev_done(), which starts the next one from the loop (never
 * recursively).
 *
 * Events that answer a request (controlled shutdown, ElectLeaders) carry
 * its callback; the handler answers before ctl_ev_done, and an event dropped
 * unanswered (resignation, kb_ctl_free) answers NOT_CONTROLLER as it is freed.
 *
 * Staleness: c->gen changes whenever the controller becomes active or
 * resigns. Every ZooKeeper completion, watch and broker response carries the
 * gen it was issued under; a stale one only releases its record. Resigning
 * drops the running event and every queued event that needs an active
 * controller.
 *
 * Records of calls still waiting on ZooKeeper (ops, joins, watches) are kept
 * in lists so kb_ctl_free (after kz_zkc_free) releases them.
 * Locality: broker loop thread only. */
#ifndef KB_CTL_INT_H
#define KB_CTL_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "kb_ctl.h"
#include "kb_ctl_ctx.h"
#include "kb_zk.h"
#include "kz_kmsgs.h"
#include "kz_log.h"
#include "kz_zkc.h"

#define KB_CTL_COMP "kafka.controller.KafkaController"
#define KB_CTL_DEL_COMP "kafka.controller.TopicDeletionManager"
#define KB_CTL_CHAN_COMP "kafka.controller.RequestSendThread"

#define ctl_info(c, fmt, ...) kz_info(KB_CTL_COMP, "[Controller id=%d] " fmt, (c)->cfg.broker_id, ##__VA_ARGS__)
#define ctl_warn(c, fmt, ...) kz_warn(KB_CTL_COMP, "[Controller id=%d] " fmt, (c)->cfg.broker_id, ##__VA_ARGS__)
#define ctl_error(c, fmt, ...) kz_error(KB_CTL_COMP, "[Controller id=%d] " fmt, (c)->cfg.broker_id, ##__VA_ARGS__)
#define ctl_debug(c, fmt, ...) kz_debug(KB_CTL_COMP, "[Controller id=%d] " fmt, (c)->cfg.broker_id, ##__VA_ARGS__)

/* ------------------------------------------------------------ events */

typedef enum ctl_ev_type {
    CEV_ELECT,            /* check /controller (re-arming its watch); elect when absent */
    CEV_FAILOVER,         /* just won: load the cluster and take over */
    CEV_BROKER_CHANGE,    /* /brokers/ids children */
    CEV_TOPIC_CHANGE,     /* /brokers/topics children */
    CEV_PARTITION_MOD,    /* /brokers/topics/<topic> data */
    CEV_TOPIC_DELETION,   /* /admin/delete_topics children */
    CEV_ISR_CHANGE,       /* /isr_change_notification children */
    CEV_PREFERRED,        /* /admin/preferred_replica_election exists */
    CEV_STOP_REPLICA_RESP,/* a StopReplica(delete) answer for topic deletion */
    CEV_CONTROLLED_SHUTDOWN, /* a ControlledShutdown request */
    CEV_ELECT_LEADERS,    /* an ElectLeaders request */
    CEV_AUTO_REBALANCE,   /* the leader imbalance check timer */
    CEV__N
} ctl_ev_type;

/* One (topic, partition, error) of a StopReplica answer. */
typedef struct ctl_tp_err {
    char *topic;
    int32_t partition;
    int16_t error;
} ctl_tp_err;

typedef struct ctl_ev {
    struct ctl_ev *next;
    ctl_ev_type type;
    char *topic;              /* CEV_PARTITION_MOD */
    int32_t broker;           /* CEV_STOP_REPLICA_RESP, CEV_CONTROLLED_SHUTDOWN */
    int16_t error;            /* CEV_STOP_REPLICA_RESP: top-level error */
    int32_t ntp;
    ctl_tp_err *tp;           /* CEV_STOP_REPLICA_RESP; CEV_ELECT_LEADERS: the partitions asked */
    int64_t broker_epoch;     /* CEV_CONTROLLED_SHUTDOWN */
    int elect_type;           /* CEV_ELECT_LEADERS */
    kb_ctl_cs_reply_fn *cs_fn;      /* CEV_CONTROLLED_SHUTDOWN: the answer, NULL once given */
    kb_ctl_elect_fn *elect_fn;      /* CEV_ELECT_LEADERS: the answer, NULL once given */
    void *reply_ctx;
} ctl_ev;

/* ------------------------------------------------------- batches */

enum { CB_LAI = 1, CB_STOP = 2 };

typedef struct ctl_bent {
    int32_t broker;
    kb_ctl_topic *t;
    int32_t p;
    uint8_t kind;             /* CB_LAI / CB_STOP */
    bool flag;                /* LAI: is_new; STOP: delete_partition */
} ctl_bent;

typedef struct ctl_btp {
    kb_ctl_topic *t;
    int32_t p;
} ctl_btp;

/* Requests gathered while an event runs (ControllerBrokerRequestBatch):
 * LeaderAndIsr and StopReplica entries per destination, and one
 * UpdateMetadata partition set sent to every UpdateMetadata destination.
 * Partition states are read from the context when the batch is built. */
typedef struct kb_ctl_batch {
    ctl_bent *e;
    size_t n, cap;
    int32_t *um_to;
    size_t num, capum;
    ctl_btp *um_parts;
    size_t nump, capump;
    bool oom;
    bool sorted;              /* entries sorted and merged (kb_ctl_batch_finish) */
} kb_ctl_batch;

void kb_ctl_batch_init(kb_ctl_batch *b);
void kb_ctl_batch_clear(kb_ctl_batch *b);   /* frees */
void kb_ctl_batch_reset(kb_ctl_batch *b);   /* empties, keeps memory */
bool kb_ctl_batch_empty(const kb_ctl_batch *b);
/* LeaderAndIsr of @t-@p to every live broker of @to[0..n) (Kafka's
 * addLeaderAndIsrRequestForBrokers), plus the partition in the
 * UpdateMetadata sent to every live broker. */
void kb_ctl_batch_lai(kb_ctl_batch *b, const kb_ctl_ctx *x, const int32_t *to, int32_t n,
                      kb_ctl_topic *t, int32_t p, bool is_new);
/* UpdateMetadata to every live broker of @to; @t NULL adds no partition. */
void kb_ctl_batch_um(kb_ctl_batch *b, const kb_ctl_ctx *x, const int32_t *to, size_t n,
                     kb_ctl_topic *t, int32_t p);
void kb_ctl_batch_stop(kb_ctl_batch *b, int32_t broker, kb_ctl_topic *t, int32_t p, bool del);

/* Sorts the entries (destination, topic name, partition) and merges
 * duplicates (flags or-ed); idempotent. The builders call it. */
void kb_ctl_batch_finish(kb_ctl_batch *b);
/* Every destination of the batch, ascending, into @out (room for b->n +
 * b->num); returns the count. */
size_t kb_ctl_batch_dests(kb_ctl_batch *b, int32_t *out);

/* Builders (pure): the request for destination @broker, in @a. Return the
 * number of partitions put in (0: nothing to send). */
int32_t kb_ctl_build_lai(const kb_ctl_ctx *x, kb_ctl_batch *b, int32_t ctl_id, int32_t broker,
                         int16_t ver, const char *listener, kz_arena *a, kz_LeaderAndIsrRequest *out);
/* UpdateMetadata for @broker, or -1 when @broker is no UpdateMetadata
 * destination; else the number of partition states (0 is a valid request:
 * brokers only). */
int32_t kb_ctl_build_um(const kb_ctl_ctx *x, kb_ctl_batch *b, int32_t ctl_id, int32_t broker,
                        int16_t ver, kz_arena *a, kz_UpdateMetadataRequest *out);
/* StopReplica for @broker; @del selects the delete flag for versions < 3
 * (which carry one flag per request); -1 takes every entry (version 3). */
int32_t kb_ctl_build_stop(const kb_ctl_ctx *x, kb_ctl_batch *b, int32_t ctl_id, int32_t broker,
                          int16_t ver, int del, kz_arena *a, kz_StopReplicaRequest *out);

/* --------------------------------------------------- async plumbing */

typedef struct kb_ctl kb_ctl;
typedef struct ctl_join ctl_join;
typedef struct ctl_op ctl_op;

typedef void ctl_cont_fn(kb_ctl *c, void *arg);
typedef void ctl_free_fn(void *arg);
typedef void ctl_op_fn(kb_ctl *c, ctl_op *o, const kz_zkc_result *res);

/* A set of parallel operations; @cont(c, arg) runs (if still current) once
 * all of them completed and the join was armed. */
struct ctl_join {
    ctl_join *prev, *next;
    uint64_t gen;
    int pending;              /* operations not completed + 1 until armed */
    ctl_cont_fn *cont;
    void *arg;                /* handed to @cont, which then owns it; */
    ctl_free_fn *arg_free;    /* released with this when @cont does not run */
};

/* One ZooKeeper call. @fn runs on completion while the gen is current. */
struct ctl_op {
    ctl_op *prev, *next;
    kb_ctl *c;
    uint64_t gen;
    ctl_join *join;           /* may be NULL */
    ctl_op_fn *fn;
    char *topic;              /* copied: the topic this call is about */
    int32_t part;
    int32_t kind;
    int32_t arg, arg2;
    int attempt;
    void *ptr;                /* borrowed: state of the step that issued it */
    void *own;                /* owned: freed with the op */
    struct ctl_watch *watch;  /* the watch this call sets, if any */
    bool watch_exists;        /* set by exists: it stays on a missing node */
};

/* A registered watch: which one, for which gen. */
typedef struct ctl_watch {
    struct ctl_watch *prev, *next;
    kb_ctl *c;
    uint64_t gen;
    int kind;
    bool orphan;  /* from a session that ended: freed when it fires, or at kb_ctl_free */
} ctl_watch;

enum { CW_CONTROLLER, CW_BROKERS, CW_TOPICS, CW_TOPIC, CW_DELETES, CW_ISR, CW_PREFERRED };

struct kb_ctl {
    struct event_base *base;
    kz_zkc *zk;
    kb_ctl_cfg cfg;           /* strings owned (listener) */
    kb_ctl_change_fn *on_change;
    void *on_change_ctx;

    bool started;
    bool freeing;
    bool active;
    int32_t controller_id;    /* from /controller, -1 none */
    int32_t epoch;            /* won, or last seen */
    uint64_t gen;
    bool controller_watch;    /* an exists watch on /controller is set */

    kb_ctl_ctx x;             /* valid while active */
    kb_ctl_batch batch;
    kz_arena arena;           /* request building */

    ctl_ev *q_head, *q_tail;
    ctl_ev *cur;
    struct event *kick;       /* runs the queue from the loop */
    struct event *retry;      /* election retry after a ZooKeeper error */
    struct event *rebalance;  /* auto leader rebalance check (armed while active) */
    struct ctl_cshut *cs;     /* this broker's controlled shutdown, while running */

    ctl_op *ops;
    ctl_join *joins;
    ctl_watch *watches;
};

/* kb_ctl.c */
void ctl_enqueue(kb_ctl *c, ctl_ev_type type, const char *topic);
void ctl_enqueue_ev(kb_ctl *c, ctl_ev *ev);       /* takes @ev */
void ctl_ev_done(kb_ctl *c);
void ctl_ev_free(ctl_ev *ev);
ctl_join *ctl_join_new(kb_ctl *c, ctl_cont_fn *cont, void *arg, ctl_free_fn *arg_free);
void ctl_join_arm(kb_ctl *c, ctl_join *j);
ctl_op *ctl_op_new(kb_ctl *c, ctl_join *j, ctl_op_fn *fn, const char *topic, int32_t part);
/* Completion trampoline for kz_zkc calls made with a ctl_op as ctx. Pass
 * the return of the kz_zkc call to ctl_op_submitted: when the call could not
 * be submitted, the op completes at once with that rc. */
void ctl_op_cb(void *ctx, const kz_zkc_result *res);
void ctl_op_submitted(kb_ctl *c, ctl_op *o, int rc);
/* Submits a read of @path for @o: its data, its children or whether it exists. With
 * @watch_kind >= 0 (a CW_* kind) the read also sets a watch of that kind, whose event becomes
 * a controller event; the watch record is tied to @o, so a call that fails (and so sets no
 * watch) releases it. The op's fn sees the result. */
typedef enum { CTL_READ_GET, CTL_READ_CHILDREN, CTL_READ_EXISTS } ctl_read_how;
void ctl_op_read(kb_ctl *c, ctl_op *o, ctl_read_how how, const char *path, int watch_kind);
/* Starts the job @job of an event: a join that calls @cont(@job) (or @job_free when the
 * controller goes away first) once the read of @path (as ctl_op_read does it) and all that
 * its handler @fn started have completed. @fn sees @job as o->ptr and @topic as o->topic. */
void ctl_job_start(kb_ctl *c, void *job, ctl_cont_fn *cont, ctl_free_fn *job_free, ctl_op_fn *fn,
                   const char *topic, ctl_read_how how, const char *path, int watch_kind);
/* Guarded write: multi{check epoch, @ops}; the op's fn sees kb_zk's result
 * (rc KB_ZK_ECONTROLLER_MOVED when fenced). */
void ctl_zk_write(kb_ctl *c, ctl_op *o, const kz_zkc_op *ops, int n);
/* A guarded write failed its fence: resign, then look at /controller again. */
void ctl_moved(kb_ctl *c, const char *what);
void ctl_resign(kb_ctl *c, const char *why);
/* Sends what the batch gathered and empties it. */
void ctl_batch_flush(kb_ctl *c);

/* kb_ctl_events.c */
typedef void ctl_event_fn(kb_ctl *c, ctl_ev *ev);
extern ctl_event_fn ctl_on_broker_change, ctl_on_topic_change, ctl_on_partition_mod,
    ctl_on_isr_change, ctl_on_preferred;
/* Broker failure / startup callbacks (onBrokerFailure / onBrokerStartup)
 * for the sorted ids @ids; the brokers are already out of / in the context. */
void ctl_broker_failure(kb_ctl *c, const int32_t *ids, int32_t n, ctl_cont_fn *cont, void *arg,
                        ctl_free_fn *arg_free);
void ctl_broker_startup(kb_ctl *c, const int32_t *ids, int32_t n, ctl_cont_fn *cont, void *arg,
                        ctl_free_fn *arg_free);

/* kb_ctl_state.c */
/* A continuation wrapped so that internal steps can hand it on. */
typedef struct ctl_next {
    ctl_cont_fn *cont;
    void *arg;
    ctl_free_fn *arg_free;
} ctl_next;
ctl_next *ctl_next_new(ctl_cont_fn *cont, void *arg, ctl_free_fn *arg_free);
void ctl_next_free(void *n);             /* ctl_free_fn: releases the wrapped arg too */
void ctl_next_run(kb_ctl *c, void *n);    /* ctl_cont_fn: runs and frees */
/* Lists of (topic name, partition). The ctl_* functions below copy what
 * they need from a list (the caller keeps it). Each continues with @cont
 * (@arg handed on, released with @arg_free if the controller resigned). */
typedef struct ctl_plist {
    int32_t n, cap;
    char **topic;
    int32_t *part;
} ctl_plist;
void ctl_plist_add(ctl_plist *l, const char *topic, int32_t p);
void ctl_plist_free(ctl_plist *l);
/* Every New/Offline partition of topics not queued for deletion
 * (triggerOnlinePartitionStateChange). */
void ctl_plist_offline(kb_ctl *c, ctl_plist *l);
void ctl_plist_free_fn(void *l);  /* ctl_free_fn for a malloc'd ctl_plist */
/* "t-0,t-1" for the log (malloc'd, NULL when out of memory). */
char *ctl_plist_str(const ctl_plist *l);
/* Preferred replica election of @t-@p, joining @j. */
void ctl_pref_elect(kb_ctl *c, ctl_join *j, kb_ctl_topic *t, int32_t p);
/* New -> Online (create the state znodes) or Offline/Online -> Online
 * (elect), adding LeaderAndIsr/UpdateMetadata to the batch. */
void ctl_psm_online(kb_ctl *c, ctl_plist *l, ctl_cont_fn *cont, void *arg, ctl_free_fn *arg_free);
/* OfflineReplica for every replica of @dead (sorted ids) on topics not being
 * deleted: ISR shrink writes, LeaderAndIsr to the other replicas. */
void ctl_rsm_offline(kb_ctl *c, const int32_t *dead, int32_t n, ctl_cont_fn *cont, void *arg,
                     ctl_free_fn *arg_free);
/* Reads the state znodes of the listed partitions into the context. */
void ctl_read_states(kb_ctl *c, ctl_plist *l, ctl_cont_fn *cont, void *arg, ctl_free_fn *arg_free);
/* New partitions: NonExistent -> New -> Online (onNewPartitionCreation). */
void ctl_new_partitions(kb_ctl *c, ctl_plist *l, ctl_cont_fn *cont, void *arg, ctl_free_fn *arg_free);
/* Stores a state znode read (@res: data and stat) as the leader/ISR of
 * @t-@p; a malformed one is logged and ignored. */
void ctl_apply_state(kb_ctl *c, kb_ctl_topic *t, int32_t p, const kz_zkc_result *res);
/* Parses a broker registration into @out (strings malloc'd); 0 or -1. */
int ctl_broker_parse(kb_ctl *c, int32_t id, const kz_zkc_result *res, kb_ctl_broker *out);
/* Sets a topic's replicas from a decoded assignment; partitions beyond the
 * current count are added (NonExistent). Returns the new partition count or
 * -1 when an assignment is unusable. */
int32_t ctl_topic_assign(kb_ctl *c, kb_ctl_topic *t, const kb_zk_topic *zt);
/* Decodes the assignment of topic @topic from its znode read @res into @zt (allocated from
 * @a). Returns 0, or -1 after logging why and resetting @a (no data, malformed JSON). */
int ctl_topic_decode(kb_ctl *c, const char *topic, const kz_zkc_result *res, kz_arena *a, kb_zk_topic *zt);
/* Writes @zt into the znode of topic @name (expected @version, -1 for any) with a guarded
 * write that is an op of @j. Nothing is written when the JSON cannot be built. */
void ctl_topic_write(kb_ctl *c, ctl_join *j, const char *name, const kb_zk_topic *zt, int32_t version);
/* setTopicIds: when @t has no topic id and the inter-broker protocol writes them, gives it a
 * random one and writes it with the assignment into the topic znode (expected @version). */
void ctl_topic_ensure_id(kb_ctl *c, ctl_join *j, kb_ctl_topic *t, int32_t version);

/* Elections of one partition joining @j, each reading the state znode
 * first: controlled shutdown (its leader is shutting down), unclean
 * (ElectLeaders UNCLEAN: the first live replica when no ISR member is live),
 * and the ISR removal of @broker (OfflineReplica). */
void ctl_cshut_elect(kb_ctl *c, ctl_join *j, kb_ctl_topic *t, int32_t p);
void ctl_unclean_elect(kb_ctl *c, ctl_join *j, kb_ctl_topic *t, int32_t p);
void ctl_isr_remove(kb_ctl *c, ctl_join *j, kb_ctl_topic *t, int32_t p, int32_t broker);

/* kb_ctl_leaders.c */
extern ctl_event_fn ctl_on_controlled_shutdown, ctl_on_elect_leaders, ctl_on_auto_rebalance;
/* ctl_ev_free of an event still owing an answer: NOT_CONTROLLER. */
void ctl_ev_answer_dropped(ctl_ev *ev);
/* Arms the auto leader rebalance check @delay_ms from now (when enabled). */
void ctl_rebalance_schedule(kb_ctl *c, int64_t delay_ms);
void ctl_rebalance_stop(kb_ctl *c);
/* Pure decisions over the context (no ZooKeeper, no batch), each adding to
 * the lists given:
 * - the partitions a controlled shutdown of @id acts on (more than one
 *   replica, leader/ISR known, topic not queued for deletion), split into
 *   those it leads and those it follows;
 * - the partitions @id still leads (the answer's remaining partitions);
 * - the partitions the auto rebalance elects: per preferred broker whose
 *   imbalance ratio exceeds @pct percent, those not led by it whose
 *   preferred replica is live and in the ISR (logs Kafka's lines). */
void ctl_cshut_plan(const kb_ctl_ctx *x, int32_t id, ctl_plist *led, ctl_plist *followed);
void ctl_cshut_remaining(const kb_ctl_ctx *x, int32_t id, ctl_plist *out);
void ctl_rebalance_plan(const kb_ctl_ctx *x, int32_t ctl_id, int32_t pct, ctl_plist *out);
/* ElectLeaders of @topic-@p with @type (KB_CTL_ELECT_*): before the
 * election, 0 when it is to be run, else the error code (and *@msg);
 * after it, the outcome (0 and *@leader, or the error code). */
int16_t ctl_elect_check(const kb_ctl_ctx *x, int type, const char *topic, int32_t p, const char **msg);
int16_t ctl_elect_outcome(const kb_ctl_ctx *x, int type, const char *topic, int32_t p, int32_t *leader,
                          const char **msg);

/* kb_ctl_shutdown.c */
/* kb_ctl_free: drops a running controlled shutdown without calling its done. */
void ctl_shutdown_free(kb_ctl *c);

/* kb_ctl_topic_del.c */
extern ctl_event_fn ctl_on_topic_deletion, ctl_on_stop_replica_resp;
/* Starts or resumes the deletion of every queued topic that can go on
 * (Kafka's resumeDeletions), finishing those whose replicas all answered. */
void ctl_resume_deletions(kb_ctl *c, ctl_cont_fn *cont, void *arg, ctl_free_fn *arg_free);

/* kb_ctl_chan.c */
/* Channel of broker @b: created when missing. */
void ctl_chan_add(kb_ctl *c, kb_ctl_broker *b);
void ctl_chan_send_batch(kb_ctl *c);
void ctl_chan_remove(kb_ctl *c, int32_t broker);
void ctl_chan_close_all(kb_ctl *c);

#endif
