/* broker/kb_apis.h -- the table of Kafka APIs this broker serves, and the
 * dispatch of a request frame to its handler.
 *
 * Each entry pairs an API key with its handler; the version range is the one
 * of the request schema (kz_kmsgs.def), so ApiVersions advertises exactly what
 * the decoder accepts. Dispatch: read key and version, pick the entry (an
 * unknown key closes the connection, as Kafka does), check the version (an
 * unsupported ApiVersions version is answered with UNSUPPORTED_VERSION in the
 * v0 form so the client can retry lower, KIP-511; any other unsupported
 * version closes the connection), decode header and body (a malformed body
 * closes the connection) and call the handler, which answers with
 * kb_req_reply now or later.
 * Locality: broker loop thread only. */
#ifndef KB_APIS_H
#define KB_APIS_H

#include "kb_network.h"
#include "kb_server.h"

/* A handler owns @req from here on; @body is the decoded request (in
 * req->arena) of version @ver. */
typedef void kb_api_fn(kb_server *s, kb_req *req, const void *body, int16_t ver);

/* kb_net callback: @ctx is the kb_server. */
void kb_apis_dispatch(void *ctx, kb_req *req);

/* Fills @out->api_keys (from @a) with every served API and its range. */
int kb_apis_versions(kz_ApiVersionsResponse *out, kz_arena *a);

/* Kafka error codes the handlers use (Errors.java). */
enum {
    KB_ERR_UNKNOWN_SERVER_ERROR = -1,
    KB_ERR_NONE = 0,
    KB_ERR_OFFSET_OUT_OF_RANGE = 1,
    KB_ERR_CORRUPT_MESSAGE = 2,
    KB_ERR_UNKNOWN_TOPIC_OR_PARTITION = 3,
    KB_ERR_LEADER_NOT_AVAILABLE = 5,
    KB_ERR_NOT_LEADER_OR_FOLLOWER = 6,
    KB_ERR_REQUEST_TIMED_OUT = 7,
    KB_ERR_REPLICA_NOT_AVAILABLE = 9,
    KB_ERR_MESSAGE_TOO_LARGE = 10,
    KB_ERR_STALE_CONTROLLER_EPOCH = 11,
    KB_ERR_NETWORK_EXCEPTION = 13,
    KB_ERR_INVALID_TOPIC_EXCEPTION = 17,
    KB_ERR_RECORD_LIST_TOO_LARGE = 18,
    KB_ERR_NOT_ENOUGH_REPLICAS = 19,
    KB_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND = 20,
    KB_ERR_INVALID_REQUIRED_ACKS = 21,
    KB_ERR_INVALID_TIMESTAMP = 32,
    KB_ERR_UNSUPPORTED_VERSION = 35,
    KB_ERR_TOPIC_ALREADY_EXISTS = 36,
    KB_ERR_INVALID_PARTITIONS = 37,
    KB_ERR_INVALID_REPLICATION_FACTOR = 38,
    KB_ERR_INVALID_CONFIG = 40,
    KB_ERR_NOT_CONTROLLER = 41,
    KB_ERR_INVALID_REQUEST = 42,
    KB_ERR_POLICY_VIOLATION = 44,
    KB_ERR_KAFKA_STORAGE_ERROR = 56,
    KB_ERR_LOG_DIR_NOT_FOUND = 57,
    KB_ERR_UNKNOWN_PRODUCER_ID = 59,
    KB_ERR_TOPIC_DELETION_DISABLED = 73,
    KB_ERR_FENCED_LEADER_EPOCH = 74,
    KB_ERR_UNKNOWN_LEADER_EPOCH = 75,
    KB_ERR_UNSUPPORTED_COMPRESSION_TYPE = 76,
    KB_ERR_STALE_BROKER_EPOCH = 77,
    KB_ERR_INVALID_RECORD = 87,
};

/* Handlers, by family (kb_api_<family>.c). */
kb_api_fn kb_api_api_versions, kb_api_metadata, kb_api_describe_cluster;
kb_api_fn kb_api_produce;
kb_api_fn kb_api_fetch, kb_api_list_offsets;
kb_api_fn kb_api_leader_and_isr, kb_api_update_metadata, kb_api_stop_replica;
kb_api_fn kb_api_create_topics, kb_api_delete_topics, kb_api_create_partitions;
kb_api_fn kb_api_describe_configs, kb_api_alter_configs, kb_api_incremental_alter_configs;
kb_api_fn kb_api_delete_records, kb_api_describe_log_dirs;
kb_api_fn kb_api_find_coordinator;
kb_api_fn kb_api_controlled_shutdown, kb_api_elect_leaders;
kb_api_fn kb_api_offsets_for_leader_epoch;

/* Delayed operations: an append or role change of @p may complete waiting
 * acks=-1 produces and long-poll fetches; at shutdown they are dropped. */
typedef struct kb_part kb_part;
void kb_produce_check_delayed(kb_server *s, kb_part *p);
void kb_fetch_check_delayed(kb_server *s, kb_part *p);
void kb_produce_drop_all(kb_server *s);
void kb_fetch_drop_all(kb_server *s);

#endif
