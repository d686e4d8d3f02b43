/* broker/kb_admin.h -- the ZooKeeper side of topic administration, as any
 * broker does it (Kafka's AdminZkClient + ZkAdminManager): create a topic,
 * add partitions, queue a topic for deletion, replace a topic's config.
 *
 * Every operation validates first (names, counts, assignments, configs), then
 * writes the znodes in Kafka's order and completes once, on the loop thread,
 * through (fn, ctx) with a Kafka error code (0 = NONE) and, on error, a
 * message in Kafka's wording. With validate_only nothing is written. The
 * controller reacts to the znodes (it watches them); these calls never talk to
 * the controller directly.
 *
 * Znodes written (NOTES.md 11):
 *   create:     /config/topics/T = {"version":1,"config":{...}}   (setOrCreate)
 *               then /brokers/topics/T = {"version":3,"partitions":{...},
 *               "adding_replicas":{},"removing_replicas":{},"topic_id":"<id>"}
 *   partitions: /brokers/topics/T setData with the extended assignment
 *               (conditional on the version read)
 *   delete:     /admin/delete_topics/T (null data)
 *   config:     /config/topics/T setData, then the sequential notification
 *               /config/changes/config_change_ = {"version":2,"entity_path":"topics/T"}
 *
 * Locality: broker loop thread only; completions run on the loop thread and
 * never from inside the call that started the operation.
 * Ownership: every input is copied before the call returns. */
#ifndef KB_ADMIN_H
#define KB_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kb_assign.h"
#include "kb_topic_config.h"

struct event_base;
typedef struct kz_zkc kz_zkc;
typedef struct kb_config kb_config;
typedef struct kb_admin kb_admin;

/* Kafka error codes these operations complete with (NOTES.md 7). */
enum {
    KB_ADMIN_NONE = 0,
    KB_ADMIN_UNKNOWN_SERVER_ERROR = -1,
    KB_ADMIN_UNKNOWN_TOPIC_OR_PARTITION = 3,
    KB_ADMIN_BROKER_NOT_AVAILABLE = 8,
    KB_ADMIN_INVALID_TOPIC_EXCEPTION = 17,
    KB_ADMIN_TOPIC_ALREADY_EXISTS = 36,
    KB_ADMIN_INVALID_PARTITIONS = 37,
    KB_ADMIN_INVALID_REPLICATION_FACTOR = 38,
    KB_ADMIN_INVALID_REPLICA_ASSIGNMENT = 39,
    KB_ADMIN_INVALID_CONFIG = 40,
    KB_ADMIN_INVALID_REQUEST = 42,
    KB_ADMIN_REASSIGNMENT_IN_PROGRESS = 60,
    KB_ADMIN_TOPIC_DELETION_DISABLED = 73,
};

/* Broker defaults the admin path applies (server.properties). */
typedef struct kb_admin_cfg {
    int32_t num_partitions;          /* num.partitions */
    int16_t default_replication;     /* default.replication.factor */
    bool delete_topic_enable;        /* delete.topic.enable */
    bool write_topic_id;             /* IBP >= 2.8-IV0: topic znode v3 with topic_id */
    struct event_base *base;         /* the loop: completions of requests refused before
                                        reaching ZooKeeper are deferred on it. Without it
                                        they go through a ZooKeeper round trip. */
} kb_admin_cfg;

/* Fills @out from server.properties (num.partitions,
 * default.replication.factor, delete.topic.enable, and topic ids from
 * inter.broker.protocol.version >= 2.8-IV0) and @base. */
void kb_admin_cfg_init(kb_admin_cfg *out, const kb_config *cfg, struct event_base *base);

/* A manual replica list for one partition (index = partition id). */
typedef struct kb_admin_replicas {
    int32_t n;
    const int32_t *ids;
} kb_admin_replicas;

typedef struct kb_admin_topic_spec {
    const char *name;
    int32_t num_partitions;          /* -1: num.partitions */
    int16_t replication_factor;      /* -1: default.replication.factor */
    int32_t n_assign;                /* > 0: manual assignment, partition p -> assign[p] */
    const kb_admin_replicas *assign; /* (then num_partitions/replication_factor must be -1) */
    size_t n_configs;                /* overrides (all values are strings in ZooKeeper); */
    const kb_cfg_pair *configs;      /* a NULL value is INVALID_REQUEST, as CreateTopics says */
} kb_admin_topic_spec;

/* What a successful (or validated) creation resolved to: CreateTopics v5+
 * reports these. */
typedef struct kb_admin_result {
    int32_t num_partitions;
    int16_t replication_factor;
    uint8_t topic_id[16];            /* all zero when no id was written */
} kb_admin_result;

/* Completion of every operation. @err is a Kafka error code; @msg is NULL on
 * success, else a message valid during the call; @res is non-NULL only for
 * kb_admin_create_topic and kb_admin_create_partitions successes. */
typedef void kb_admin_done_fn(void *ctx, int16_t err, const char *msg, const kb_admin_result *res);

/* @zkc is borrowed and must outlive the admin handle. */
kb_admin *kb_admin_new(kz_zkc *zkc, const kb_admin_cfg *cfg);
/* Call once no ZooKeeper completion can reach it any more (after
 * kz_zkc_free(zkc), or after the loop stopped for good): the operations still
 * waiting are released without their callbacks (their callers are being torn
 * down too). NULL-safe. */
void kb_admin_free(kb_admin *a);

/* Validates the topic name alone, Kafka's Topic.validate: non-empty, not "."
 * or "..", at most 249 bytes, only [a-zA-Z0-9._-]. Returns 0 or
 * INVALID_TOPIC_EXCEPTION with the message in @msg (if non-NULL). Pure. */
int16_t kb_admin_validate_topic_name(const char *name, char *msg, size_t msglen);

/* Whether two names collide once '.' and '_' are taken as equal (metrics
 * names would clash). Pure. */
bool kb_admin_topics_collide(const char *a, const char *b);

/* Creates topic @spec with replicas on @brokers (the live brokers; the
 * auto-assignment sorts them by id and goes rack-aware when every broker has
 * a rack). Checks, in Kafka's order: the name, null configs, both a count and
 * a manual assignment, counts (INVALID_PARTITIONS "Number of partitions must
 * be larger than 0.", INVALID_REPLICATION_FACTOR "Replication factor: 3
 * larger than available brokers: 1."), then against ZooKeeper: queued for
 * deletion or existing (TOPIC_ALREADY_EXISTS), '.'/'_' collision
 * (INVALID_TOPIC_EXCEPTION), the assignment (INVALID_REPLICA_ASSIGNMENT), the
 * configs (INVALID_CONFIG). Then writes /config/topics/T and /brokers/topics/T
 * (a concurrent creation ends with TOPIC_ALREADY_EXISTS). */
void kb_admin_create_topic(kb_admin *a, const kb_admin_topic_spec *spec,
                           const kb_assign_broker *brokers, size_t nbrokers, bool validate_only,
                           kb_admin_done_fn *done, void *ctx);

/* Grows topic @topic to @total partitions. @assign (n_assign entries, may be
 * NULL) gives the replicas of the new partitions only, else they are computed
 * as Kafka does (start index at the first broker whose id >= partition 0's
 * first replica, replication factor of partition 0). Errors, with
 * ZkAdminManager's messages: UNKNOWN_TOPIC_OR_PARTITION, REASSIGNMENT_IN_PROGRESS,
 * INVALID_PARTITIONS ("Topic already has 3 partitions.", "Topic currently has
 * 8 partitions, which is higher than the requested 4."),
 * INVALID_REPLICA_ASSIGNMENT (unknown brokers, wrong count, empty, duplicates,
 * size unlike partition 0's), BROKER_NOT_AVAILABLE, INVALID_REPLICATION_FACTOR.
 * The topic znode is rewritten with the combined assignment (topic id kept). */
void kb_admin_create_partitions(kb_admin *a, const char *topic, int32_t total,
                                const kb_admin_replicas *assign, int32_t n_assign,
                                const kb_assign_broker *brokers, size_t nbrokers,
                                bool validate_only, kb_admin_done_fn *done, void *ctx);

/* Queues @topic for deletion by creating /admin/delete_topics/T. Errors:
 * UNKNOWN_TOPIC_OR_PARTITION when /brokers/topics/T does not exist,
 * TOPIC_DELETION_DISABLED when delete.topic.enable is false (checked here as
 * the DeleteTopics handler does). Already queued completes with NONE. */
void kb_admin_delete_topic(kb_admin *a, const char *topic, kb_admin_done_fn *done, void *ctx);

/* Replaces the whole override set of @topic with @kv[0..n) (AlterConfigs
 * semantics; IncrementalAlterConfigs merges before calling). Errors:
 * UNKNOWN_TOPIC_OR_PARTITION, INVALID_CONFIG, INVALID_REQUEST (null value).
 * Writes /config/topics/T then the /config/changes notification. */
void kb_admin_alter_topic_config(kb_admin *a, const char *topic, const kb_cfg_pair *kv, size_t n,
                                 bool validate_only, kb_admin_done_fn *done, void *ctx);

#endif
