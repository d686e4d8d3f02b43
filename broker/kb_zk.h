/* broker/kb_zk.h -- Kafka 2.x's ZooKeeper layout: znode paths, the JSON of
 * each znode, and the ZooKeeper operations the broker runs at start-up.
 *
 * Format (NOTES.md section 11, ZNODES.md and the znode dumps zk-*.txt): JSON
 * is compact UTF-8 and each encoder writes Kafka's exact bytes, keys in the
 * order Kafka's JVM maps iterate (kz_json.h explains how that order is
 * reproduced). Decoders accept any key order, extra keys and every older
 * version Kafka reads; a malformed payload is an error with a message,
 * never a crash. Encoders return malloc'd NUL-terminated text (length in
 * *len) or NULL when out of memory or given an impossible value. Decoders
 * fill @out with pointers into the caller's arena (free it to release) and
 * return 0 or KB_ZK_EBADJSON with a one-line reason in @err.
 *
 * Operations run on a kz_zkc and report on the loop thread. Like kz_zkc's,
 * each returns 0 when started (its callback then runs exactly once, later)
 * or a KZ_Z* error (nothing started, no callback). The registration and
 * election writes are sent again (up to 5 times) when the connection drops
 * before their answer, as Kafka's retryRequestUntilConnected does, and they
 * recognise their own earlier success. Controller logic is not here: only
 * the ZooKeeper steps it is built from.
 * Locality: codecs anywhere; operations on the kz_zkc's loop thread. */
#ifndef KB_ZK_H
#define KB_ZK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kz_buf.h"
#include "kz_kmsg.h"
#include "kz_zkc.h"

#define KB_ZK_EBADJSON (-1001)          /* a znode's payload could not be decoded */
#define KB_ZK_ECONTROLLER_MOVED (-1002) /* the controller epoch check of a write failed */

/* ================================================================ paths */

#define KB_ZK_PATH_MAX 512 /* fits every path below with a 249-byte topic name */

#define KB_ZK_CONTROLLER         "/controller"
#define KB_ZK_CONTROLLER_EPOCH   "/controller_epoch"
#define KB_ZK_BROKERS            "/brokers"
#define KB_ZK_BROKER_IDS         "/brokers/ids"
#define KB_ZK_BROKER_TOPICS      "/brokers/topics"
#define KB_ZK_BROKER_SEQID       "/brokers/seqid"
#define KB_ZK_CONFIG             "/config"
#define KB_ZK_CONFIG_CHANGES     "/config/changes"
#define KB_ZK_CONFIG_CHANGE_SEQ  "/config/changes/config_change_"
#define KB_ZK_ADMIN              "/admin"
#define KB_ZK_DELETE_TOPICS      "/admin/delete_topics"
#define KB_ZK_REASSIGN           "/admin/reassign_partitions"
#define KB_ZK_PREFERRED_ELECTION "/admin/preferred_replica_election"
#define KB_ZK_ISR_CHANGE         "/isr_change_notification"
#define KB_ZK_ISR_CHANGE_SEQ     "/isr_change_notification/isr_change_"
#define KB_ZK_LOG_DIR_EVENT      "/log_dir_event_notification"
#define KB_ZK_LOG_DIR_EVENT_SEQ  "/log_dir_event_notification/log_dir_event_"
#define KB_ZK_CLUSTER            "/cluster"
#define KB_ZK_CLUSTER_ID         "/cluster/id"
#define KB_ZK_FEATURE            "/feature"
#define KB_ZK_PRODUCER_ID_BLOCK  "/latest_producer_id_block"
#define KB_ZK_CONSUMERS          "/consumers"

/* Config entity types (Kafka's ConfigType), NULL-terminated:
 * "topics", "clients", "users", "brokers", "ips". */
extern const char *const kb_zk_config_types[];

/* The paths created (persistent, null data) at every broker start, in
 * Kafka's order, NULL-terminated. */
extern const char *const kb_zk_persistent_paths[];

/* Path builders: write a NUL-terminated path into @buf (@n bytes) and return
 * its length, or -1 when it does not fit or an argument is invalid (NULL or
 * empty name, negative id). */
int kb_zk_path_broker(char *buf, size_t n, int32_t broker_id);           /* /brokers/ids/<id> */
int kb_zk_path_topic(char *buf, size_t n, const char *topic);            /* /brokers/topics/<t> */
int kb_zk_path_partitions(char *buf, size_t n, const char *topic);       /* .../<t>/partitions */
int kb_zk_path_partition(char *buf, size_t n, const char *topic, int32_t p); /* .../partitions/<p> */
int kb_zk_path_partition_state(char *buf, size_t n, const char *topic, int32_t p); /* .../<p>/state */
int kb_zk_path_config(char *buf, size_t n, const char *type, const char *name); /* /config/<type>/<name> */
int kb_zk_path_delete_topic(char *buf, size_t n, const char *topic);     /* /admin/delete_topics/<t> */

/* The sequence suffix of a sequential node's name ("isr_change_0000000002"
 * with prefix "isr_change_" -> "0000000002"), or NULL if @name does not
 * start with @prefix. */
const char *kb_zk_seq_suffix(const char *name, const char *prefix);

/* ================================================================ uuids */

/* Kafka's Uuid.randomUuid: 16 random bytes with the version-4 and IETF
 * variant bits, re-drawn while the id is all zeros or its text starts with
 * '-' (Kafka avoids ids a command line would take for an option). */
void kb_zk_uuid_random(kz_uuid *u);
/* 22 characters of URL-safe base64 without padding, NUL-terminated. */
void kb_zk_uuid_str(const kz_uuid *u, char out[23]);
/* The inverse; 0, or -1 unless @s is exactly 22 URL-safe base64 characters
 * whose last one carries no stray bits. */
int kb_zk_uuid_parse(const char *s, kz_uuid *u);

/* ================================================================ codecs */

/* /brokers/ids/<id>: broker registration. Versions 1-5 are read; 4 and 5
 * are written (Kafka 2.8 writes 5 from inter.broker.protocol.version 2.7).
 * On encode, "host"/"port" are those of the first PLAINTEXT endpoint (null
 * and -1 without one), "listener_security_protocol_map" maps each endpoint's
 * listener to its protocol, "timestamp" is @timestamp as a string and "rack"
 * is written only when set. On decode, version 1 gives one PLAINTEXT
 * endpoint from host/port; without a protocol map the listener name is the
 * protocol (as in Kafka). */
typedef struct kb_zk_endpoint {
    const char *listener; /* e.g. "PLAINTEXT", "INTERNAL" */
    const char *host;     /* NULL or "" for all interfaces */
    int32_t port;
    const char *protocol; /* PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL */
} kb_zk_endpoint;

typedef struct kb_zk_feature {
    const char *name;
    int32_t min_version, max_version;
} kb_zk_feature;

typedef struct kb_zk_broker {
    int32_t version;
    kb_zk_endpoint *endpoints;
    int32_t n_endpoints;
    const char *host; /* decoded only (legacy fields) */
    int32_t port;
    int32_t jmx_port; /* -1 if none */
    int64_t timestamp; /* registration time, ms */
    const char *rack;  /* NULL if none */
    kb_zk_feature *features; /* v5 */
    int32_t n_features;
} kb_zk_broker;

char *kb_zk_broker_encode(const kb_zk_broker *b, size_t *len);
int kb_zk_broker_decode(const void *data, size_t len, kz_arena *a, kb_zk_broker *out,
                        char *err, size_t errlen);

/* /controller: {"version":1,"brokerid":<id>,"timestamp":"<ms>"}. The decoder
 * also takes the pre-JSON form, a bare broker id. */
typedef struct kb_zk_controller {
    int32_t version;
    int32_t broker_id;
    int64_t timestamp;
} kb_zk_controller;

char *kb_zk_controller_encode(int32_t broker_id, int64_t timestamp, size_t *len);
int kb_zk_controller_decode(const void *data, size_t len, kb_zk_controller *out, char *err,
                            size_t errlen);

/* /controller_epoch: the epoch in decimal ASCII (not JSON). */
char *kb_zk_epoch_encode(int32_t epoch, size_t *len);
int kb_zk_epoch_decode(const void *data, size_t len, int32_t *epoch, char *err, size_t errlen);

/* /brokers/topics/<t>: replica assignment. Encoded as version 2 (keys
 * version, partitions, adding_replicas, removing_replicas) or, with a topic
 * id, as version 3 with "topic_id". Partitions are listed in Kafka's map
 * order for the given insertion order (@parts order); adding/removing list
 * only partitions under reassignment. Decoded partitions come sorted by id;
 * version 1 (no adding/removing) and a missing "partitions" are accepted. */
typedef struct kb_zk_part_assign {
    int32_t partition;
    int32_t *replicas;
    int32_t n_replicas;
    int32_t *adding;
    int32_t n_adding;
    int32_t *removing;
    int32_t n_removing;
} kb_zk_part_assign;

typedef struct kb_zk_topic {
    int32_t version;
    bool has_id;
    kz_uuid id;
    kb_zk_part_assign *parts;
    int32_t n_parts;
} kb_zk_topic;

char *kb_zk_topic_encode(const kb_zk_topic *t, size_t *len);
int kb_zk_topic_decode(const void *data, size_t len, kz_arena *a, kb_zk_topic *out, char *err,
                       size_t errlen);

/* .../partitions/<p>/state:
 * {"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1,2,3]}.
 * The znode's stat.version is the "zkVersion" of LeaderAndIsr. */
typedef struct kb_zk_pstate {
    int32_t version; /* decoded; 1 is written */
    int32_t leader;  /* -1: none */
    int32_t leader_epoch;
    int32_t controller_epoch;
    int32_t *isr;
    int32_t n_isr;
} kb_zk_pstate;

char *kb_zk_pstate_encode(const kb_zk_pstate *s, size_t *len);
int kb_zk_pstate_decode(const void *data, size_t len, kz_arena *a, kb_zk_pstate *out,
                        char *err, size_t errlen);

/* /config/<type>/<name>: {"version":1,"config":{"k":"v",...}}, values are
 * strings. The order of @kv is the order the properties were set. A null
 * znode decodes as an empty config (Kafka reads it so). */
typedef struct kb_zk_kv {
    const char *key, *value;
} kb_zk_kv;

typedef struct kb_zk_config {
    int32_t version;
    kb_zk_kv *entries;
    int32_t n;
} kb_zk_config;

char *kb_zk_config_encode(const kb_zk_kv *kv, int32_t n, size_t *len);
int kb_zk_config_decode(const void *data, size_t len, kz_arena *a, kb_zk_config *out, char *err,
                        size_t errlen);

/* /config/changes/config_change_<seq>: {"version":2,"entity_path":"topics/foo"}.
 * Version 1 ({"version":1,"entity_type":"topics","entity_name":"foo"}) is
 * read too. Decoding gives the path and its two halves (the type is the part
 * before the first '/', as Kafka splits it). */
typedef struct kb_zk_config_change {
    int32_t version;
    const char *entity_path; /* "topics/foo", "users/u1/clients/c1" */
    const char *entity_type; /* "topics", "users" */
    const char *entity_name; /* "foo", "u1/clients/c1" */
} kb_zk_config_change;

char *kb_zk_config_change_encode(const char *entity_path, size_t *len);
int kb_zk_config_change_decode(const void *data, size_t len, kz_arena *a,
                               kb_zk_config_change *out, char *err, size_t errlen);

/* /cluster/id: {"version":"1","id":"<22-char uuid>"} (version is a string). */
char *kb_zk_cluster_id_encode(const char *id, size_t *len);
int kb_zk_cluster_id_decode(const void *data, size_t len, kz_arena *a, const char **id,
                            char *err, size_t errlen);

/* Topic-partition lists: /isr_change_notification/isr_change_<seq> and
 * /admin/preferred_replica_election:
 * {"version":1,"partitions":[{"topic":"t","partition":0},...]}. */
typedef struct kb_zk_tp {
    const char *topic;
    int32_t partition;
} kb_zk_tp;

char *kb_zk_tp_list_encode(const kb_zk_tp *tps, int32_t n, size_t *len);
int kb_zk_tp_list_decode(const void *data, size_t len, kz_arena *a, kb_zk_tp **tps, int32_t *n,
                         char *err, size_t errlen);

/* /admin/reassign_partitions (the pre-2.4 tool's form):
 * {"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[2,3]}]};
 * extra keys such as "log_dirs" are ignored on read. */
typedef struct kb_zk_reassign {
    const char *topic;
    int32_t partition;
    int32_t *replicas;
    int32_t n_replicas;
} kb_zk_reassign;

char *kb_zk_reassign_encode(const kb_zk_reassign *r, int32_t n, size_t *len);
int kb_zk_reassign_decode(const void *data, size_t len, kz_arena *a, kb_zk_reassign **r,
                          int32_t *n, char *err, size_t errlen);

/* /log_dir_event_notification/log_dir_event_<seq>:
 * {"version":1,"broker":<id>,"event":1} (1 = log directory failure). */
char *kb_zk_log_dir_event_encode(int32_t broker_id, size_t *len);
int kb_zk_log_dir_event_decode(const void *data, size_t len, int32_t *broker_id, char *err,
                               size_t errlen);

/* /latest_producer_id_block:
 * {"version":1,"broker":2,"block_start":"2000","block_end":"2999"}. */
typedef struct kb_zk_pid_block {
    int32_t version;
    int32_t broker_id;
    int64_t block_start, block_end; /* inclusive */
} kb_zk_pid_block;

char *kb_zk_pid_block_encode(const kb_zk_pid_block *b, size_t *len);
int kb_zk_pid_block_decode(const void *data, size_t len, kb_zk_pid_block *out, char *err,
                           size_t errlen);

/* /feature: {"features":{...},"status":1,"version":1} with features
 * {"<name>":{"min_version_level":a,"max_version_level":b}}; status 1 =
 * enabled, 0 = disabled. */
typedef struct kb_zk_feature_node {
    int32_t version;
    int32_t status;
    kb_zk_feature *features; /* min/max version levels */
    int32_t n_features;
} kb_zk_feature_node;

char *kb_zk_feature_encode(const kb_zk_feature_node *f, size_t *len);
int kb_zk_feature_decode(const void *data, size_t len, kz_arena *a, kb_zk_feature_node *out,
                         char *err, size_t errlen);

/* ============================================================ operations */

typedef void kb_zk_done_fn(void *ctx, int rc);

/* Creates every path of kb_zk_persistent_paths that is missing (with its
 * parents). rc KZ_ZOK, or the first failure. */
int kb_zk_ensure_persistent_paths(kz_zkc *z, kb_zk_done_fn *fn, void *ctx);

/* Reads /cluster/id, creating it with a fresh id if absent (a race with
 * another broker is resolved by reading the winner's). @cluster_id is
 * borrowed for the call. rc KZ_ZOK, KB_ZK_EBADJSON or a ZooKeeper error. */
typedef void kb_zk_cluster_id_fn(void *ctx, int rc, const char *cluster_id);
int kb_zk_get_or_create_cluster_id(kz_zkc *z, kb_zk_cluster_id_fn *fn, void *ctx);

/* Registers the broker: multi{create /brokers/ids/<id> ephemeral with null
 * data, setData(JSON of @info, version 0)}. If the node exists and this
 * session owns it, that counts as registered; otherwise rc KZ_ZNODEEXISTS
 * and @msg is Kafka's "Error while creating ephemeral at /brokers/ids/<id>,
 * node already exists and owner '<owner>' does not match current session
 * '<session>'" (also logged). On success @broker_epoch is the node's czxid.
 * @info->timestamp 0 means now. @msg is NULL on success, borrowed. */
typedef void kb_zk_register_fn(void *ctx, int rc, int64_t broker_epoch, const char *msg);
int kb_zk_register_broker(kz_zkc *z, int32_t broker_id, const kb_zk_broker *info,
                          kb_zk_register_fn *fn, void *ctx);

/* One controller election round: read /controller_epoch (creating it as
 * "0" when missing), then multi{create /controller (ephemeral, this
 * broker), setData /controller_epoch = epoch + 1 at the version read}.
 * won: @epoch is the new epoch and @epoch_zk_version the epoch znode's new
 * version (the fencing token for kb_zk_controller_multi). Lost (the node
 * exists, or the epoch moved): @controller_id is the current controller
 * read from /controller, -1 if it has gone meanwhile. A retry after a lost
 * reply that in fact succeeded is recognised as won, as Kafka does; if
 * /controller names this broker but for another epoch, rc is
 * KB_ZK_ECONTROLLER_MOVED. */
typedef struct kb_zk_election {
    int rc; /* KZ_ZOK when the round completed, won or lost */
    bool won;
    int32_t epoch;
    int32_t epoch_zk_version;
    int32_t controller_id;
} kb_zk_election;

typedef void kb_zk_elect_fn(void *ctx, const kb_zk_election *res);
int kb_zk_elect_controller(kz_zkc *z, int32_t broker_id, kb_zk_elect_fn *fn, void *ctx);

/* A controller write: multi{check(/controller_epoch, @epoch_zk_version),
 * @ops...}. The callback sees the results of @ops only (the check is taken
 * off); rc is KB_ZK_ECONTROLLER_MOVED when the check failed (another
 * controller was elected since), else the multi's code. */
int kb_zk_controller_multi(kz_zkc *z, int32_t epoch_zk_version, const kz_zkc_op *ops, int n,
                           kz_zkc_done_fn *fn, void *ctx);

#endif
