/* broker/kb_config.h -- kafkad configuration: a Kafka 2.8 server.properties loaded once at
 * start-up into a typed struct.
 *
 * Semantics follow KafkaConfig of Kafka 2.8 (ZooKeeper mode): the same key names, defaults and
 * validation ranges; values are trimmed; booleans are true/false in any case. Derived values are
 * resolved at load time so that the rest of the broker reads one field:
 *   log.roll.ms > log.roll.hours, log.roll.jitter.ms > log.roll.jitter.hours,
 *   log.retention.ms > log.retention.minutes > log.retention.hours (any negative = -1, unlimited),
 *   log.flush.interval.ms > log.flush.scheduler.interval.ms, log.dirs > log.dir (comma lists),
 *   zookeeper.connection.timeout.ms defaults to zookeeper.session.timeout.ms,
 *   listeners defaults to "PLAINTEXT://<host.name>:<port>" (= "PLAINTEXT://:9092"),
 *   advertised.listeners defaults to advertised.host.name/advertised.port when one is set, else
 *   to listeners; an advertised endpoint with an empty host gets gethostname(),
 *   the inter-broker listener is inter.broker.listener.name, or the listener named after
 *   security.inter.broker.protocol (default PLAINTEXT); it must be advertised.
 * Listener names are upper-cased and mapped to security protocols by
 * listener.security.protocol.map (default PLAINTEXT:PLAINTEXT,SSL:SSL,
 * SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL).
 *
 * Unknown keys are logged as a warning with Kafka's wording ("The configuration 'x' was supplied
 * but isn't a known config.") and kept among the originals. Kafka keys that kafkad does not act
 * on (SSL/SASL details, quotas, metrics reporters, ...) are accepted silently and also kept
 * there, so a module that needs one reads it with kb_config_original(). Invalid values fail the
 * load with one line naming the key, the value and the file line:
 *   invalid value '0' for num.partitions: must be at least 1 (server.properties:12)
 *
 * Owned by the start-up thread; read-only afterwards (any thread may read it then). */
#ifndef KB_CONFIG_H
#define KB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kz_buf.h"

/* SecurityProtocol ids of Kafka. */
typedef enum kb_sec_proto {
    KB_SEC_PLAINTEXT = 0,
    KB_SEC_SSL = 1,
    KB_SEC_SASL_PLAINTEXT = 2,
    KB_SEC_SASL_SSL = 3
} kb_sec_proto;

/* TimestampType ids of Kafka (the timestamp-type bit of a RecordBatch). */
typedef enum kb_ts_type { KB_TS_CREATE_TIME = 0, KB_TS_LOG_APPEND_TIME = 1 } kb_ts_type;

/* compression.type: a codec id of RecordBatch attributes, or "producer" (keep the batch's). */
typedef enum kb_comp_type {
    KB_COMP_PRODUCER = -1,
    KB_COMP_NONE = 0, /* "uncompressed" */
    KB_COMP_GZIP = 1,
    KB_COMP_SNAPPY = 2,
    KB_COMP_LZ4 = 3,
    KB_COMP_ZSTD = 4
} kb_comp_type;

/* log.cleanup.policy / cleanup.policy bits. */
#define KB_CLEANUP_DELETE  1u
#define KB_CLEANUP_COMPACT 2u

/* ConfigType ids of DescribeConfigs v3+ (ConfigDef.Type of Kafka). */
typedef enum kb_cfg_dtype {
    KB_CT_UNKNOWN = 0,
    KB_CT_BOOLEAN = 1,
    KB_CT_STRING = 2,
    KB_CT_INT = 3,
    KB_CT_SHORT = 4,
    KB_CT_LONG = 5,
    KB_CT_DOUBLE = 6,
    KB_CT_LIST = 7,
    KB_CT_CLASS = 8,
    KB_CT_PASSWORD = 9
} kb_cfg_dtype;

/* ConfigSource ids of DescribeConfigs v1+. */
typedef enum kb_cfg_source {
    KB_CS_UNKNOWN = 0,
    KB_CS_TOPIC = 1,                  /* TOPIC_CONFIG (DYNAMIC_TOPIC_CONFIG) */
    KB_CS_DYNAMIC_BROKER = 2,
    KB_CS_DYNAMIC_DEFAULT_BROKER = 3,
    KB_CS_STATIC_BROKER = 4,          /* server.properties */
    KB_CS_DEFAULT = 5,                /* Kafka's built-in default */
    KB_CS_DYNAMIC_BROKER_LOGGER = 6
} kb_cfg_source;

/* One listener: "NAME://host:port". */
typedef struct kb_endpoint {
    char *name;         /* listener name, upper-case: "PLAINTEXT", "INTERNAL" */
    char *host;         /* "" = all interfaces (listeners only); IPv6 without brackets */
    int32_t port;       /* 0..65535; 0 = an ephemeral port */
    kb_sec_proto proto; /* from listener.security.protocol.map */
} kb_endpoint;

/* One listener.security.protocol.map entry. */
typedef struct kb_proto_map_ent {
    char *name; /* upper-case listener name */
    kb_sec_proto proto;
} kb_proto_map_ent;

/* One key = value pair of the file as given (trimmed), known or not. Last one wins. */
typedef struct kb_cfg_prop {
    char *key;
    char *value;
    int lineno;
} kb_cfg_prop;

/* Values exactly as loaded, before resolution; the broker reads the resolved fields of
 * kb_config instead. Unset optional integers are 0 (see kb_config_original to tell). */
typedef struct kb_config_raw {
    char *listeners;                  /* listeners, NULL = from host.name/port */
    char *host_name;                  /* host.name (2.x, deprecated), default "" */
    int32_t port;                     /* port (2.x, deprecated), default 9092 */
    char *advertised_listeners;
    char *advertised_host_name;       /* advertised.host.name (deprecated) */
    int32_t advertised_port;          /* advertised.port (deprecated) */
    char *listener_security_protocol_map;
    char *inter_broker_listener_name;
    char *security_inter_broker_protocol;
    char *control_plane_listener_name;
    char *log_dir;
    char *log_dirs;
    int64_t log_roll_ms;
    int32_t log_roll_hours;
    int64_t log_roll_jitter_ms;
    int32_t log_roll_jitter_hours;
    int64_t log_retention_ms;
    int32_t log_retention_minutes;
    int32_t log_retention_hours;
    int64_t log_flush_interval_ms;
    int32_t zk_connection_timeout_ms;
    char *log_cleanup_policy;
    char *compression_type;
    char *log_message_timestamp_type;
    char *process_roles;
    int32_t node_id;
} kb_config_raw;

typedef struct kb_config {
    char *path;                          /* the file loaded (or the source name) */
    kb_cfg_prop *props;                  /* originals, in first-seen order */
    size_t n_props;

    /* ---- ZooKeeper ---- */
    char *zk_connect;                    /* zookeeper.connect as given; required */
    char *zk_hosts;                      /* its "host:port,host:port" part */
    char *zk_chroot;                     /* its "/chroot" part, NULL if none (or "/") */
    int32_t zk_session_timeout_ms;       /* zookeeper.session.timeout.ms, 18000 */
    int32_t zk_connection_timeout_ms;    /* resolved: default = session timeout */
    int32_t zk_sync_time_ms;             /* zookeeper.sync.time.ms, 2000 */
    bool zk_set_acl;                     /* zookeeper.set.acl, false */
    int32_t zk_max_in_flight_requests;   /* zookeeper.max.in.flight.requests, 10, >= 1 */

    /* ---- general ---- */
    int32_t broker_id;                   /* broker.id, -1 = to be generated */
    bool broker_id_generation_enable;    /* broker.id.generation.enable, true */
    int32_t reserved_broker_max_id;      /* reserved.broker.max.id, 1000, >= 0 */
    char *broker_rack;                   /* broker.rack, NULL */
    int32_t message_max_bytes;           /* message.max.bytes, 1048588, >= 0 */
    int32_t num_network_threads;         /* 3, >= 1 */
    int32_t num_io_threads;              /* 8, >= 1 */
    int32_t background_threads;          /* 10, >= 1 */
    int32_t queued_max_requests;         /* 500, >= 1 */
    int64_t queued_max_request_bytes;    /* queued.max.request.bytes, -1 */
    int32_t request_timeout_ms;          /* 30000 */
    int64_t connections_max_idle_ms;     /* 600000 */
    bool delete_topic_enable;            /* true */
    bool auto_create_topics_enable;      /* true */

    /* ---- socket server ---- */
    kb_endpoint *listeners;              /* resolved, in the order given */
    size_t n_listeners;
    kb_endpoint *advertised;             /* resolved; every host non-empty */
    size_t n_advertised;
    kb_proto_map_ent *proto_map;         /* listener.security.protocol.map */
    size_t n_proto_map;
    char *inter_broker_listener;         /* resolved inter-broker listener name */
    kb_sec_proto inter_broker_proto;
    int32_t socket_send_buffer_bytes;    /* 102400; -1 = OS default */
    int32_t socket_receive_buffer_bytes; /* 102400; -1 = OS default */
    int32_t socket_request_max_bytes;    /* 104857600, >= 1 */
    int32_t max_connections_per_ip;      /* INT32_MAX, >= 0 */
    int32_t max_connections;             /* INT32_MAX, >= 0 */

    /* ---- log ---- */
    char **log_dirs;                     /* resolved from log.dirs / log.dir; n >= 1 */
    size_t n_log_dirs;
    int32_t num_partitions;              /* 1, >= 1 */
    int32_t num_recovery_threads_per_data_dir; /* 1, >= 1 */
    int32_t log_segment_bytes;           /* 1073741824, >= 14 */
    int64_t log_roll_ms;                 /* resolved, >= 1; 604800000 */
    int64_t log_roll_jitter_ms;          /* resolved, >= 0; 0 */
    int64_t log_retention_ms;            /* resolved; -1 = unlimited; 604800000 */
    int64_t log_retention_bytes;         /* -1 = unlimited */
    int64_t log_retention_check_interval_ms; /* 300000, >= 1 */
    int64_t log_segment_delete_delay_ms; /* 60000, >= 0 */
    int32_t log_index_size_max_bytes;    /* 10485760, >= 4 */
    int32_t log_index_interval_bytes;    /* 4096, >= 0 */
    int64_t log_flush_interval_messages; /* INT64_MAX, >= 1 */
    int64_t log_flush_scheduler_interval_ms; /* INT64_MAX */
    int64_t log_flush_interval_ms;       /* resolved: default = scheduler interval */
    int32_t log_flush_offset_checkpoint_interval_ms;       /* 60000, >= 0 */
    int32_t log_flush_start_offset_checkpoint_interval_ms; /* 60000, >= 0 */
    bool log_preallocate;                /* false */
    unsigned log_cleanup;                /* KB_CLEANUP_* from log.cleanup.policy ("delete") */
    bool log_cleaner_enable;             /* true */
    int32_t log_cleaner_threads;         /* 1, >= 0 */
    int64_t log_cleaner_dedupe_buffer_size; /* 134217728 */
    int32_t log_cleaner_io_buffer_size;  /* 524288, >= 0 */
    double log_cleaner_io_buffer_load_factor;    /* 0.9 */
    double log_cleaner_io_max_bytes_per_second;  /* Double.MAX_VALUE */
    double log_cleaner_min_cleanable_ratio;      /* 0.5 */
    int64_t log_cleaner_backoff_ms;      /* 15000, >= 0 */
    int64_t log_cleaner_delete_retention_ms;     /* 86400000 */
    int64_t log_cleaner_min_compaction_lag_ms;   /* 0 */
    int64_t log_cleaner_max_compaction_lag_ms;   /* INT64_MAX */
    kb_ts_type log_message_timestamp_type;       /* CreateTime */
    int64_t log_message_timestamp_difference_max_ms; /* INT64_MAX */
    bool log_message_downconversion_enable;      /* true */
    char *log_message_format_version;    /* as given, default "2.8-IV1" */
    const char *log_message_format;      /* the full version it names: "2.1" -> "2.1-IV2" */
    int log_message_format_magic;        /* its RecordBatch magic: 0, 1 or 2 */
    kb_comp_type compression_type;       /* compression.type, "producer" */
    int32_t min_insync_replicas;         /* 1, >= 1 */

    /* ---- replication ---- */
    int32_t default_replication_factor;  /* 1 */
    int32_t controller_socket_timeout_ms; /* 30000 */
    int64_t replica_lag_time_max_ms;     /* 30000 */
    int32_t replica_socket_timeout_ms;   /* 30000; >= replica.fetch.wait.max.ms */
    int32_t replica_socket_receive_buffer_bytes; /* 65536 */
    int32_t replica_fetch_max_bytes;     /* 1048576, >= 0 */
    int32_t replica_fetch_wait_max_ms;   /* 500 */
    int32_t replica_fetch_min_bytes;     /* 1 */
    int32_t replica_fetch_backoff_ms;    /* 1000, >= 0 */
    int32_t replica_fetch_response_max_bytes; /* 10485760, >= 0 */
    int32_t num_replica_fetchers;        /* 1 */
    int64_t replica_high_watermark_checkpoint_interval_ms; /* 5000 */
    int32_t fetch_purgatory_purge_interval_requests;    /* 1000 */
    int32_t producer_purgatory_purge_interval_requests; /* 1000 */
    bool auto_leader_rebalance_enable;   /* true */
    int32_t leader_imbalance_per_broker_percentage; /* 10 */
    int64_t leader_imbalance_check_interval_seconds; /* 300 */
    bool unclean_leader_election_enable; /* false */
    char *inter_broker_protocol_version; /* as given, default "2.8-IV1" */
    const char *inter_broker_protocol;   /* the full version it names */
    bool controlled_shutdown_enable;     /* true */
    int32_t controlled_shutdown_max_retries;     /* 3 */
    int64_t controlled_shutdown_retry_backoff_ms; /* 5000 */

    /* ---- group coordinator, offsets ---- */
    int32_t group_min_session_timeout_ms;     /* 6000 */
    int32_t group_max_session_timeout_ms;     /* 1800000 */
    int32_t group_initial_rebalance_delay_ms; /* 3000 */
    int32_t group_max_size;                   /* INT32_MAX, >= 1 */
    int32_t offset_metadata_max_bytes;        /* 4096 */
    int32_t offsets_load_buffer_size;         /* 5242880, >= 1 */
    int16_t offsets_topic_replication_factor; /* 3, >= 1 */
    int32_t offsets_topic_num_partitions;     /* 50, >= 1 */
    int32_t offsets_topic_segment_bytes;      /* 104857600, >= 1 */
    int32_t offsets_topic_compression_codec;  /* 0 */
    int32_t offsets_retention_minutes;        /* 10080, >= 1 */
    int64_t offsets_retention_check_interval_ms; /* 600000, >= 1 */
    int32_t offsets_commit_timeout_ms;        /* 5000, >= 1 */
    int16_t offsets_commit_required_acks;     /* -1 */

    /* ---- transactions ---- */
    int32_t transactional_id_expiration_ms;   /* 604800000, >= 1 */
    int32_t transaction_max_timeout_ms;       /* 900000, >= 1 */
    int32_t transaction_state_log_min_isr;    /* 2, >= 1 */
    int32_t transaction_state_log_load_buffer_size; /* 5242880, >= 1 */
    int16_t transaction_state_log_replication_factor; /* 3, >= 1 */
    int32_t transaction_state_log_num_partitions; /* 50, >= 1 */
    int32_t transaction_state_log_segment_bytes;  /* 104857600, >= 1 */
    int32_t transaction_abort_timed_out_transaction_cleanup_interval_ms; /* 10000, >= 1 */
    int32_t transaction_remove_expired_transaction_cleanup_interval_ms;  /* 3600000, >= 1 */

    /* ---- fetch sessions ---- */
    int32_t max_incremental_fetch_session_cache_slots; /* 1000, >= 0 */
    int32_t fetch_max_bytes;                  /* 57671680, >= 1024 */

    kb_config_raw raw;
} kb_config;

/* Load the properties file @path into @c (any prior content is overwritten, not freed).
 * Returns 0, or -1 with a one-line message naming the key and value in @err; on failure @c is
 * left zeroed. */
int kb_config_load(kb_config *c, const char *path, char *err, size_t errlen);

/* As kb_config_load, from @len bytes of @text; @src names the source in messages. */
int kb_config_load_mem(kb_config *c, const char *text, size_t len, const char *src, char *err,
                       size_t errlen);

/* Free everything kb_config_load allocated and zero @c. NULL-safe and idempotent. */
void kb_config_free(kb_config *c);

/* The value of @key as given in the file (trimmed), or NULL when the file did not set it. */
const char *kb_config_original(const kb_config *c, const char *key);

/* The advertised endpoint of listener @name (exact, upper-case), or NULL. */
const kb_endpoint *kb_config_advertised(const kb_config *c, const char *name);

/* "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL". */
const char *kb_sec_proto_name(kb_sec_proto p);

/* Kafka's "KafkaConfig values:" start-up text: the header line, then one "\t<key> = <value>"
 * line per known key in name order, each ending in '\n' (AbstractConfig.logAll). Values are
 * shown as Kafka shows them: null when unset, lists as "[a, b]", passwords as "[hidden]".
 * malloc'd, NUL-terminated; NULL when out of memory. */
char *kb_config_dump(const kb_config *c);

/* ---- DescribeConfigs ---- */

typedef struct kb_cfg_synonym {
    const char *name;
    const char *value;          /* NULL = null (sensitive) */
    kb_cfg_source source;
} kb_cfg_synonym;

#define KB_CFG_SYN_MAX 8

/* One DescribeConfigs result entry. Strings live in the arena given to the describe call. */
typedef struct kb_cfg_entry {
    const char *name;
    const char *value;          /* NULL = null (unset, or sensitive) */
    bool read_only;
    bool is_default;            /* v0 IsDefault: source == KB_CS_DEFAULT */
    bool is_sensitive;
    kb_cfg_source source;
    kb_cfg_dtype type;
    size_t n_synonyms;          /* most specific first; the first gives the source */
    kb_cfg_synonym synonyms[KB_CFG_SYN_MAX];
} kb_cfg_entry;

/* Every broker config of @c as DescribeConfigs (resource type BROKER, this broker) reports it:
 * the known keys in name order, then the file's unknown keys (sensitive, value null). kafkad
 * has no dynamic broker configs, so every entry is read-only and sources are STATIC_BROKER
 * (the file) or DEFAULT. The array and strings are allocated in @a. 0, or -1 when out of
 * memory. */
int kb_config_describe(const kb_config *c, kz_arena *a, kb_cfg_entry **out, size_t *n);

/* ---- shared with kb_topic_config ---- */

/* The synonyms Kafka lists for broker key @name, most specific first (DynamicBrokerConfig.
 * brokerConfigSynonyms): log.roll.ms -> log.roll.ms, log.roll.hours; log.retention.ms ->
 * log.retention.ms, log.retention.minutes, log.retention.hours; log.roll.jitter.ms and
 * log.flush.interval.ms likewise; anything else -> itself. Fills @out (room for 4); returns
 * the count. */
size_t kb_config_broker_synonyms(const char *name, const char *out[4]);

/* Append to @e the synonyms of broker key @name found in @c (the file: STATIC_BROKER) and in
 * Kafka's defaults (DEFAULT), for every name kb_config_broker_synonyms lists, keeping only the
 * run that starts at @name itself as Kafka does. @sensitive hides the values. Strings in @a.
 * 0, or -1 when out of memory. */
int kb_config_add_synonyms(const kb_config *c, const char *name, bool sensitive, kz_arena *a,
                           kb_cfg_entry *e);

/* The value of broker key @name as DescribeConfigs renders it (lists joined with ",", doubles
 * as Java prints them), for a key kafkad knows: into @buf. Returns @buf, or NULL when the key
 * is unknown or unset (null). */
const char *kb_config_value(const kb_config *c, const char *name, char *buf, size_t len);

#endif
