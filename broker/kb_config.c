/* broker/kb_config.c -- server.properties loader, KafkaConfig dump and broker DescribeConfigs
 * (see kb_config.h).
 *
 * Flow: zeroed struct -> pass 1: kz_props_parse over the text keeps every pair as an original
 * (Kafka's AbstractConfig.originals: needed for "was this key set?", for precedence between
 * synonyms and for config sources) -> pass 2: kz_cfg_load over kb_cfg_keys (defaults, typed
 * values, per-key checks; unknown keys warned) -> kb_config_finish(): derived values and the
 * cross-key rules of KafkaConfig.validateValues() in Kafka's order. Any error frees everything
 * and reports one line naming the key and value.
 *
 * The key table is an X-macro (KB_CFG_TABLE) expanded twice: into the kz_cfg_key array the
 * loader walks and into a parallel kb_cfg_meta array (Kafka's ConfigDef type, check, lower
 * bound) indexed by the same position. A check callback finds its meta by pointer difference
 * from kb_cfg_keys, so both arrays always agree. */
#include "kb_config.h"
#include "kb_topic_config.h"

#include "kz_config.h"
#include "kz_log.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define KB_CFG_COMPONENT "kafka.server.KafkaConfig"
#define KB_DEFAULT_LISTENER_HOST_PORT "PLAINTEXT://%s:%d"

/* Storage kinds of the table (how the value is kept in kb_config). */
typedef enum { KB_K_STR, KB_K_I32, KB_K_I64, KB_K_BOOL, KB_K_I16, KB_K_DBL, KB_K_IGN } kb_kind;

/* Per-key checks beyond the type. */
typedef enum {
    KB_C_NONE,
    KB_C_MIN,      /* Range.atLeast(min) */
    KB_C_TS,       /* in("CreateTime", "LogAppendTime") */
    KB_C_CLEANUP,  /* ValidList.in("compact", "delete") */
    KB_C_APIVER,   /* ApiVersionValidator */
    KB_C_SECPROTO, /* SecurityProtocol.forName */
    KB_C_COMP,     /* BrokerCompressionCodec.isValid (case-insensitive) */
    KB_C_EMPTY     /* only the empty value (process.roles: no KRaft) */
} kb_chk;

typedef struct kb_cfg_meta {
    kb_kind kind;
    kb_cfg_dtype dtype;
    kb_chk chk;
    int64_t min;
    const char *why_min; /* "must be at least <min>" */
} kb_cfg_meta;

/* clang-format off */
/* X(name, kind, field, default, Kafka type, check, min). Defaults are Kafka 2.8's, written as
 * Kafka prints them; NULL = Kafka's null (unset). IGN keys are Kafka configs kafkad accepts and
 * does not act on: their field is unused (path stands in for offsetof). */
#define KB_CFG_TABLE(X) \
    /* ZooKeeper */ \
    X("zookeeper.connect",                        STR,  zk_connect,                         NULL,             STRING,   NONE,     0) \
    X("zookeeper.session.timeout.ms",             I32,  zk_session_timeout_ms,              "18000",          INT,      NONE,     0) \
    X("zookeeper.connection.timeout.ms",          I32,  raw.zk_connection_timeout_ms,       NULL,             INT,      NONE,     0) \
    X("zookeeper.sync.time.ms",                   I32,  zk_sync_time_ms,                    "2000",           INT,      NONE,     0) \
    X("zookeeper.set.acl",                        BOOL, zk_set_acl,                         "false",          BOOLEAN,  NONE,     0) \
    X("zookeeper.max.in.flight.requests",         I32,  zk_max_in_flight_requests,          "10",             INT,      MIN,      1) \
    X("zookeeper.ssl.client.enable",              IGN,  path,                               "false",          BOOLEAN,  NONE,     0) \
    X("zookeeper.clientCnxnSocket",               IGN,  path,                               NULL,             STRING,   NONE,     0) \
    X("zookeeper.ssl.keystore.location",          IGN,  path,                               NULL,             STRING,   NONE,     0) \
    X("zookeeper.ssl.keystore.password",          IGN,  path,                               NULL,             PASSWORD, NONE,     0) \
    X("zookeeper.ssl.keystore.type",              IGN,  path,                               NULL,             STRING,   NONE,     0) \
    X("zookeeper.ssl.truststore.location",        IGN,  path,                               NULL,             STRING,   NONE,     0) \
    X("zookeeper.ssl.truststore.password",        IGN,  path,                               NULL,             PASSWORD, NONE,     0) \
    X("zookeeper.ssl.truststore.type",            IGN,  path,                               NULL,             STRING,   NONE,     0) \
    X("zookeeper.ssl.protocol",                   IGN,  path,                               "TLSv1.2",        STRING,   NONE,     0) \
    X("zookeeper.ssl.enabled.protocols",          IGN,  path,                               NULL,             LIST,     NONE,     0) \
    X("zookeeper.ssl.cipher.suites",              IGN,  path,                               NULL,             LIST,     NONE,     0) \
    X("zookeeper.ssl.endpoint.identification.algorithm", IGN, path,                         "HTTPS",          STRING,   NONE,     0) \
    X("zookeeper.ssl.crl.enable",                 IGN,  path,                               "false",          BOOLEAN,  NONE,     0) \
    X("zookeeper.ssl.ocsp.enable",                IGN,  path,                               "false",          BOOLEAN,  NONE,     0) \
    /* general */ \
    X("broker.id.generation.enable",              BOOL, broker_id_generation_enable,        "true",           BOOLEAN,  NONE,     0) \
    X("reserved.broker.max.id",                   I32,  reserved_broker_max_id,             "1000",           INT,      MIN,      0) \
    X("broker.id",                                I32,  broker_id,                          "-1",             INT,      NONE,     0) \
    X("message.max.bytes",                        I32,  message_max_bytes,                  "1048588",        INT,      MIN,      0) \
    X("num.network.threads",                      I32,  num_network_threads,                "3",              INT,      MIN,      1) \
    X("num.io.threads",                           I32,  num_io_threads,                     "8",              INT,      MIN,      1) \
    X("num.replica.alter.log.dirs.threads",       IGN,  path,                               NULL,             INT,      NONE,     0) \
    X("background.threads",                       I32,  background_threads,                 "10",             INT,      MIN,      1) \
    X("queued.max.requests",                      I32,  queued_max_requests,                "500",            INT,      MIN,      1) \
    X("queued.max.request.bytes",                 I64,  queued_max_request_bytes,           "-1",             LONG,     NONE,     0) \
    X("request.timeout.ms",                       I32,  request_timeout_ms,                 "30000",          INT,      NONE,     0) \
    X("connection.setup.timeout.ms",              IGN,  path,                               "10000",          LONG,     NONE,     0) \
    X("connection.setup.timeout.max.ms",          IGN,  path,                               "127000",         LONG,     NONE,     0) \
    X("process.roles",                            STR,  raw.process_roles,                  "",               LIST,     EMPTY,    0) \
    X("node.id",                                  I32,  raw.node_id,                        "-1",             INT,      NONE,     0) \
    X("controller.listener.names",                IGN,  path,                               NULL,             STRING,   NONE,     0) \
    X("controller.quorum.voters",                 IGN,  path,                               "",               LIST,     NONE,     0) \
    X("metadata.log.dir",                         IGN,  path,                               NULL,             STRING,   NONE,     0) \
    X("authorizer.class.name",                    IGN,  path,                               "",               STRING,   NONE,     0) \
    /* socket server */ \
    X("port",                                     I32,  raw.port,                           "9092",           INT,      NONE,     0) \
    X("host.name",                                STR,  raw.host_name,                      "",               STRING,   NONE,     0) \
    X("listeners",                                STR,  raw.listeners,                      NULL,             STRING,   NONE,     0) \
    X("advertised.host.name",                     STR,  raw.advertised_host_name,           NULL,             STRING,   NONE,     0) \
    X("advertised.port",                          I32,  raw.advertised_port,                NULL,             INT,      NONE,     0) \
    X("advertised.listeners",                     STR,  raw.advertised_listeners,           NULL,             STRING,   NONE,     0) \
    X("listener.security.protocol.map",           STR,  raw.listener_security_protocol_map, \
      "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",                  STRING,   NONE,     0) \
    X("control.plane.listener.name",              STR,  raw.control_plane_listener_name,    NULL,             STRING,   NONE,     0) \
    X("inter.broker.listener.name",               STR,  raw.inter_broker_listener_name,     NULL,             STRING,   NONE,     0) \
    X("security.inter.broker.protocol",           STR,  raw.security_inter_broker_protocol, "PLAINTEXT",      STRING,   SECPROTO, 0) \
    X("socket.send.buffer.bytes",                 I32,  socket_send_buffer_bytes,           "102400",         INT,      NONE,     0) \
    X("socket.receive.buffer.bytes",              I32,  socket_receive_buffer_bytes,        "102400",         INT,      NONE,     0) \
    X("socket.request.max.bytes",                 I32,  socket_request_max_bytes,           "104857600",      INT,      MIN,      1) \
    X("max.connections.per.ip",                   I32,  max_connections_per_ip,             "2147483647",     INT,      MIN,      0) \
    X("max.connections.per.ip.overrides",         IGN,  path,                               "",               STRING,   NONE,     0) \
    X("max.connections",                          I32,  max_connections,                    "2147483647",     INT,      MIN,      0) \
    X("max.connection.creation.rate",             IGN,  path,                               "2147483647",     INT,      NONE,     0) \
    X("connections.max.idle.ms",                  I64,  connections_max_idle_ms,            "600000",         LONG,     NONE,     0) \
    X("failed.authentication.delay.ms",           IGN,  path,                               "100",            INT,      NONE,     0) \
    X("broker.rack",                              STR,  broker_rack,                        NULL,             STRING,   NONE,     0) \
    /* log */ \
    X("num.partitions",                           I32,  num_partitions,                     "1",              INT,      MIN,      1) \
    X("log.dir",                                  STR,  raw.log_dir,                        "/tmp/kafka-logs", STRING,  NONE,     0) \
    X("log.dirs",                                 STR,  raw.log_dirs,                       NULL,             STRING,   NONE,     0) \
    X("log.segment.bytes",                        I32,  log_segment_bytes,                  "1073741824",     INT,      MIN,      14) \
    X("log.roll.ms",                              I64,  raw.log_roll_ms,                    NULL,             LONG,     MIN,      1) \
    X("log.roll.hours",                           I32,  raw.log_roll_hours,                 "168",            INT,      MIN,      1) \
    X("log.roll.jitter.ms",                       I64,  raw.log_roll_jitter_ms,             NULL,             LONG,     MIN,      0) \
    X("log.roll.jitter.hours",                    I32,  raw.log_roll_jitter_hours,          "0",              INT,      MIN,      0) \
    X("log.retention.ms",                         I64,  raw.log_retention_ms,               NULL,             LONG,     NONE,     0) \
    X("log.retention.minutes",                    I32,  raw.log_retention_minutes,          NULL,             INT,      NONE,     0) \
    X("log.retention.hours",                      I32,  raw.log_retention_hours,            "168",            INT,      NONE,     0) \
    X("log.retention.bytes",                      I64,  log_retention_bytes,                "-1",             LONG,     NONE,     0) \
    X("log.retention.check.interval.ms",          I64,  log_retention_check_interval_ms,    "300000",         LONG,     MIN,      1) \
    X("log.cleanup.policy",                       STR,  raw.log_cleanup_policy,             "delete",         LIST,     CLEANUP,  0) \
    X("log.cleaner.threads",                      I32,  log_cleaner_threads,                "1",              INT,      MIN,      0) \
    X("log.cleaner.io.max.bytes.per.second",      DBL,  log_cleaner_io_max_bytes_per_second, "1.7976931348623157E308", DOUBLE, NONE, 0) \
    X("log.cleaner.dedupe.buffer.size",           I64,  log_cleaner_dedupe_buffer_size,     "134217728",      LONG,     NONE,     0) \
    X("log.cleaner.io.buffer.size",               I32,  log_cleaner_io_buffer_size,         "524288",         INT,      MIN,      0) \
    X("log.cleaner.io.buffer.load.factor",        DBL,  log_cleaner_io_buffer_load_factor,  "0.9",            DOUBLE,   NONE,     0) \
    X("log.cleaner.backoff.ms",                   I64,  log_cleaner_backoff_ms,             "15000",          LONG,     MIN,      0) \
    X("log.cleaner.min.cleanable.ratio",          DBL,  log_cleaner_min_cleanable_ratio,    "0.5",            DOUBLE,   NONE,     0) \
    X("log.cleaner.enable",                       BOOL, log_cleaner_enable,                 "true",           BOOLEAN,  NONE,     0) \
    X("log.cleaner.delete.retention.ms",          I64,  log_cleaner_delete_retention_ms,    "86400000",       LONG,     NONE,     0) \
    X("log.cleaner.min.compaction.lag.ms",        I64,  log_cleaner_min_compaction_lag_ms,  "0",              LONG,     NONE,     0) \
    X("log.cleaner.max.compaction.lag.ms",        I64,  log_cleaner_max_compaction_lag_ms,  "9223372036854775807", LONG, NONE,    0) \
    X("log.index.size.max.bytes",                 I32,  log_index_size_max_bytes,           "10485760",       INT,      MIN,      4) \
    X("log.index.interval.bytes",                 I32,  log_index_interval_bytes,           "4096",           INT,      MIN,      0) \
    X("log.flush.interval.messages",              I64,  log_flush_interval_messages,        "9223372036854775807", LONG, MIN,     1) \
    X("log.segment.delete.delay.ms",              I64,  log_segment_delete_delay_ms,        "60000",          LONG,     MIN,      0) \
    X("log.flush.scheduler.interval.ms",          I64,  log_flush_scheduler_interval_ms,    "9223372036854775807", LONG, NONE,    0) \
    X("log.flush.interval.ms",                    I64,  raw.log_flush_interval_ms,          NULL,             LONG,     NONE,     0) \
    X("log.flush.offset.checkpoint.interval.ms",  I32,  log_flush_offset_checkpoint_interval_ms, "60000",     INT,      MIN,      0) \
    X("log.flush.start.offset.checkpoint.interval.ms", I32, log_flush_start_offset_checkpoint_interval_ms, "60000", INT, MIN,   0) \
    X("log.preallocate",                          BOOL, log_preallocate,                    "false",          BOOLEAN,  NONE,     0) \
    X("num.recovery.threads.per.data.dir",        I32,  num_recovery_threads_per_data_dir,  "1",              INT,      MIN,      1) \
    X("auto.create.topics.enable",                BOOL, auto_create_topics_enable,          "true",           BOOLEAN,  NONE,     0) \
    X("min.insync.replicas",                      I32,  min_insync_replicas,                "1",              INT,      MIN,      1) \
    X("log.message.format.version",               STR,  log_message_format_version,         "2.8-IV1",        STRING,   APIVER,   0) \
    X("log.message.timestamp.type",               STR,  raw.log_message_timestamp_type,     "CreateTime",     STRING,   TS,       0) \
    X("log.message.timestamp.difference.max.ms",  I64,  log_message_timestamp_difference_max_ms, "9223372036854775807", LONG, NONE, 0) \
    X("log.message.downconversion.enable",        BOOL, log_message_downconversion_enable,  "true",           BOOLEAN,  NONE,     0) \
    X("create.topic.policy.class.name",           IGN,  path,                               NULL,             CLASS,    NONE,     0) \
    X("alter.config.policy.class.name",           IGN,  path,                               NULL,             CLASS,    NONE,     0) \
    X("compression.type",                         STR,  raw.compression_type,               "producer",       STRING,   COMP,     0) \
    X("delete.topic.enable",                      BOOL, delete_topic_enable,                "true",           BOOLEAN,  NONE,     0) \
    /* replication */ \
    X("controller.socket.timeout.ms",             I32,  controller_socket_timeout_ms,       "30000",          INT,      NONE,     0) \
    X("default.replication.factor",               I32,  default_replication_factor,         "1",              INT,      NONE,     0) \
    X("replica.lag.time.max.ms",                  I64,  replica_lag_time_max_ms,            "30000",          LONG,     NONE,     0) \
    X("replica.socket.timeout.ms",                I32,  replica_socket_timeout_ms,          "30000",          INT,      NONE,     0) \
    X("replica.socket.receive.buffer.bytes",      I32,  replica_socket_receive_buffer_bytes, "65536",         INT,      NONE,     0) \
    X("replica.fetch.max.bytes",                  I32,  replica_fetch_max_bytes,            "1048576",        INT,      MIN,      0) \
    X("replica.fetch.wait.max.ms",                I32,  replica_fetch_wait_max_ms,          "500",            INT,      NONE,     0) \
    X("replica.fetch.backoff.ms",                 I32,  replica_fetch_backoff_ms,           "1000",           INT,      MIN,      0) \
    X("replica.fetch.min.bytes",                  I32,  replica_fetch_min_bytes,            "1",              INT,      NONE,     0) \
    X("replica.fetch.response.max.bytes",         I32,  replica_fetch_response_max_bytes,   "10485760",       INT,      MIN,      0) \
    X("num.replica.fetchers",                     I32,  num_replica_fetchers,               "1",              INT,      NONE,     0) \
    X("replica.high.watermark.checkpoint.interval.ms", I64, replica_high_watermark_checkpoint_interval_ms, "5000", LONG, NONE,   0) \
    X("fetch.purgatory.purge.interval.requests",  I32,  fetch_purgatory_purge_interval_requests, "1000",      INT,      NONE,     0) \
    X("producer.purgatory.purge.interval.requests", I32, producer_purgatory_purge_interval_requests, "1000",  INT,      NONE,     0) \
    X("delete.records.purgatory.purge.interval.requests", IGN, path,                        "1",              INT,      NONE,     0) \
    X("auto.leader.rebalance.enable",             BOOL, auto_leader_rebalance_enable,       "true",           BOOLEAN,  NONE,     0) \
    X("leader.imbalance.per.broker.percentage",   I32,  leader_imbalance_per_broker_percentage, "10",         INT,      NONE,     0) \
    X("leader.imbalance.check.interval.seconds",  I64,  leader_imbalance_check_interval_seconds, "300",       LONG,     NONE,     0) \
    X("unclean.leader.election.enable",           BOOL, unclean_leader_election_enable,     "false",          BOOLEAN,  NONE,     0) \
    X("inter.broker.protocol.version",            STR,  inter_broker_protocol_version,      "2.8-IV1",        STRING,   APIVER,   0) \
    X("replica.selector.class",                   IGN,  path,                               NULL,             STRING,   NONE,     0) \
    X("controlled.shutdown.max.retries",          I32,  controlled_shutdown_max_retries,    "3",              INT,      NONE,     0) \
    X("controlled.shutdown.retry.backoff.ms",     I64,  controlled_shutdown_retry_backoff_ms, "5000",         LONG,     NONE,     0) \
    X("controlled.shutdown.enable",               BOOL, controlled_shutdown_enable,         "true",           BOOLEAN,  NONE,     0) \
    /* group coordinator, offsets */ \
    X("group.min.session.timeout.ms",             I32,  group_min_session_timeout_ms,       "6000",           INT,      NONE,     0) \
    X("group.max.session.timeout.ms",             I32,  group_max_session_timeout_ms,       "1800000",        INT,      NONE,     0) \
    X("group.initial.rebalance.delay.ms",         I32,  group_initial_rebalance_delay_ms,   "3000",           INT,      NONE,     0) \
    X("group.max.size",                           I32,  group_max_size,                     "2147483647",     INT,      MIN,      1) \
    X("offset.metadata.max.bytes",                I32,  offset_metadata_max_bytes,          "4096",           INT,      NONE,     0) \
    X("offsets.load.buffer.size",                 I32,  offsets_load_buffer_size,           "5242880",        INT,      MIN,      1) \
    X("offsets.topic.replication.factor",         I16,  offsets_topic_replication_factor,   "3",              SHORT,    MIN,      1) \
    X("offsets.topic.num.partitions",             I32,  offsets_topic_num_partitions,       "50",             INT,      MIN,      1) \
    X("offsets.topic.segment.bytes",              I32,  offsets_topic_segment_bytes,        "104857600",      INT,      MIN,      1) \
    X("offsets.topic.compression.codec",          I32,  offsets_topic_compression_codec,    "0",              INT,      NONE,     0) \
    X("offsets.retention.minutes",                I32,  offsets_retention_minutes,          "10080",          INT,      MIN,      1) \
    X("offsets.retention.check.interval.ms",      I64,  offsets_retention_check_interval_ms, "600000",        LONG,     MIN,      1) \
    X("offsets.commit.timeout.ms",                I32,  offsets_commit_timeout_ms,          "5000",           INT,      MIN,      1) \
    X("offsets.commit.required.acks",             I16,  offsets_commit_required_acks,       "-1",             SHORT,    NONE,     0) \
    /* transactions */ \
    X("transactional.id.expiration.ms",           I32,  transactional_id_expiration_ms,     "604800000",      INT,      MIN,      1) \
    X("transaction.max.timeout.ms",               I32,  transaction_max_timeout_ms,         "900000",         INT,      MIN,      1) \
    X("transaction.state.log.min.isr",            I32,  transaction_state_log_min_isr,      "2",              INT,      MIN,      1) \
    X("transaction.state.log.load.buffer.size",   I32,  transaction_state_log_load_buffer_size, "5242880",    INT,      MIN,      1) \
    X("transaction.state.log.replication.factor", I16,  transaction_state_log_replication_factor, "3",        SHORT,    MIN,      1) \
    X("transaction.state.log.num.partitions",     I32,  transaction_state_log_num_partitions, "50",           INT,      MIN,      1) \
    X("transaction.state.log.segment.bytes",      I32,  transaction_state_log_segment_bytes, "104857600",     INT,      MIN,      1) \
    X("transaction.abort.timed.out.transaction.cleanup.interval.ms", I32, \
      transaction_abort_timed_out_transaction_cleanup_interval_ms,                          "10000",          INT,      MIN,      1) \
    X("transaction.remove.expired.transaction.cleanup.interval.ms", I32, \
      transaction_remove_expired_transaction_cleanup_interval_ms,                           "3600000",        INT,      MIN,      1) \
    /* fetch sessions */ \
    X("max.incremental.fetch.session.cache.slots", I32, max_incremental_fetch_session_cache_slots, "1000",    INT,      MIN,      0) \
    X("fetch.max.bytes",                          I32,  fetch_max_bytes,                    "57671680",       INT,      MIN,      1024) \
    /* metrics and quotas: accepted */ \
    X("metrics.num.samples",                      IGN,  path,                               "2",              INT,      NONE,     0) \
    X("metrics.sample.window.ms",                 IGN,  path,                               "30000",          LONG,     NONE,     0) \
    X("metric.reporters",                         IGN,  path,                               "",               LIST,     NONE,     0) \
    X("metrics.recording.level",                  IGN,  path,                               "INFO",           STRING,   NONE,     0) \
    X("kafka.metrics.reporters",                  IGN,  path,                               "",               LIST,     NONE,     0) \
    X("kafka.metrics.polling.interval.secs",      IGN,  path,                               "10",             INT,      NONE,     0) \
    X("quota.window.num",                         IGN,  path,                               "11",             INT,      NONE,     0) \
    X("quota.window.size.seconds",                IGN,  path,                               "1",              INT,      NONE,     0) \
    X("replication.quota.window.num",             IGN,  path,                               "11",             INT,      NONE,     0) \
    X("replication.quota.window.size.seconds",    IGN,  path,                               "1",              INT,      NONE,     0) \
    X("alter.log.dirs.replication.quota.window.num", IGN, path,                             "11",             INT,      NONE,     0) \
    X("alter.log.dirs.replication.quota.window.size.seconds", IGN, path,                    "1",              INT,      NONE,     0) \
    X("controller.quota.window.num",              IGN,  path,                               "11",             INT,      NONE,     0) \
    X("controller.quota.window.size.seconds",     IGN,  path,                               "1",              INT,      NONE,     0) \
    X("client.quota.callback.class",              IGN,  path,                               NULL,             CLASS,    NONE,     0) \
    /* security: accepted and kept as originals */ \
    X("connections.max.reauth.ms",                IGN,  path,                               "0",              LONG,     NONE,     0) \
    X("security.providers",                       IGN,  path,                               NULL,             STRING,   NONE,     0) \
    X("principal.builder.class",                  IGN,  path,                               NULL,             CLASS,    NONE,     0) \
    X("ssl.protocol",                             IGN,  path,                               "TLSv1.3",        STRING,   NONE,     0) \
    X("ssl.provider",                             IGN,  path,                               NULL,             STRING,   NONE,     0) \
    X("ssl.enabled.protocols",                    IGN,  path,                               "TLSv1.2,TLSv1.3", LIST,    NONE,     0) \
    X("ssl.keystore.type",                        IGN,  path,                               "JKS",            STRING,   NONE,     0) \
    X("ssl.keystore.location",                    IGN,  path,                               NULL,             STRING,   NONE,     0) \
    X("ssl.keystore.password",                    IGN,  path,                               NULL,             PASSWORD, NONE,     0) \
    X("ssl.key.password",                         IGN,  path,                               NULL,             PASSWORD, NONE,     0) \
    X("ssl.keystore.key",                         IGN,  path,                               NULL,             PASSWORD, NONE,     0) \
    X("ssl.keystore.certificate.chain",           IGN,  path,                               NULL,             PASSWORD, NONE,     0) \
    X("ssl.truststore.type",                      IGN,  path,                               "JKS",            STRING,   NONE,     0) \
    X("ssl.truststore.location",                  IGN,  path,                               NULL,             STRING,   NONE,     0) \
    X("ssl.truststore.password",                  IGN,  path,                               NULL,             PASSWORD, NONE,     0) \
    X("ssl.truststore.certificates",              IGN,  path,                               NULL,             PASSWORD, NONE,     0) \
    X("ssl.keymanager.algorithm",                 IGN,  path,                               "SunX509",        STRING,   NONE,     0) \
    X("ssl.trustmanager.algorithm",               IGN,  path,                               "PKIX",           STRING,   NONE,     0) \
    X("ssl.endpoint.identification.algorithm",    IGN,  path,                               "https",          STRING,   NONE,     0) \
    X("ssl.secure.random.implementation",         IGN,  path,                               NULL,             STRING,   NONE,     0) \
    X("ssl.client.auth",                          IGN,  path,                               "none",           STRING,   NONE,     0) \
    X("ssl.cipher.suites",                        IGN,  path,                               "",               LIST,     NONE,     0) \
    X("ssl.principal.mapping.rules",              IGN,  path,                               "DEFAULT",        STRING,   NONE,     0) \
    X("ssl.engine.factory.class",                 IGN,  path,                               NULL,             CLASS,    NONE,     0) \
    X("sasl.mechanism.inter.broker.protocol",     IGN,  path,                               "GSSAPI",         STRING,   NONE,     0) \
    X("sasl.jaas.config",                         IGN,  path,                               NULL,             PASSWORD, NONE,     0) \
    X("sasl.enabled.mechanisms",                  IGN,  path,                               "GSSAPI",         LIST,     NONE,     0) \
    X("sasl.server.callback.handler.class",       IGN,  path,                               NULL,             CLASS,    NONE,     0) \
    X("sasl.client.callback.handler.class",       IGN,  path,                               NULL,             CLASS,    NONE,     0) \
    X("sasl.login.class",                         IGN,  path,                               NULL,             CLASS,    NONE,     0) \
    X("sasl.login.callback.handler.class",        IGN,  path,                               NULL,             CLASS,    NONE,     0) \
    X("sasl.kerberos.service.name",               IGN,  path,                               NULL,             STRING,   NONE,     0) \
    X("sasl.kerberos.kinit.cmd",                  IGN,  path,                               "/usr/bin/kinit", STRING,   NONE,     0) \
    X("sasl.kerberos.ticket.renew.window.factor", IGN,  path,                               "0.8",            DOUBLE,   NONE,     0) \
    X("sasl.kerberos.ticket.renew.jitter",        IGN,  path,                               "0.05",           DOUBLE,   NONE,     0) \
    X("sasl.kerberos.min.time.before.relogin",    IGN,  path,                               "60000",          LONG,     NONE,     0) \
    X("sasl.kerberos.principal.to.local.rules",   IGN,  path,                               "DEFAULT",        LIST,     NONE,     0) \
    X("sasl.login.refresh.window.factor",         IGN,  path,                               "0.8",            DOUBLE,   NONE,     0) \
    X("sasl.login.refresh.window.jitter",         IGN,  path,                               "0.05",           DOUBLE,   NONE,     0) \
    X("sasl.login.refresh.min.period.seconds",    IGN,  path,                               "60",             SHORT,    NONE,     0) \
    X("sasl.login.refresh.buffer.seconds",        IGN,  path,                               "300",            SHORT,    NONE,     0) \
    X("delegation.token.master.key",              IGN,  path,                               NULL,             PASSWORD, NONE,     0) \
    X("delegation.token.max.lifetime.ms",         IGN,  path,                               "604800000",      LONG,     NONE,     0) \
    X("delegation.token.expiry.time.ms",          IGN,  path,                               "86400000",       LONG,     NONE,     0) \
    X("delegation.token.expiry.check.interval.ms", IGN, path,                               "3600000",        LONG,     NONE,     0) \
    X("password.encoder.secret",                  IGN,  path,                               NULL,             PASSWORD, NONE,     0) \
    X("password.encoder.old.secret",              IGN,  path,                               NULL,             PASSWORD, NONE,     0) \
    X("password.encoder.keyfactory.algorithm",    IGN,  path,                               NULL,             STRING,   NONE,     0) \
    X("password.encoder.cipher.algorithm",        IGN,  path,                               "AES/CBC/PKCS5Padding", STRING, NONE,   0) \
    X("password.encoder.key.length",              IGN,  path,                               "128",            INT,      NONE,     0) \
    X("password.encoder.iterations",              IGN,  path,                               "4096",           INT,      NONE,     0)
/* clang-format on */

/* kz_cfg storage type and custom parser for each kind */
#define KB_KT_STR  KZ_CFG_STR
#define KB_KT_I32  KZ_CFG_I32
#define KB_KT_I64  KZ_CFG_I64
#define KB_KT_BOOL KZ_CFG_BOOL
#define KB_KT_I16  KZ_CFG_CUSTOM
#define KB_KT_DBL  KZ_CFG_CUSTOM
#define KB_KT_IGN  KZ_CFG_IGNORE
#define KB_KP_STR  NULL
#define KB_KP_I32  NULL
#define KB_KP_I64  NULL
#define KB_KP_BOOL NULL
#define KB_KP_I16  kb_cfg_parse_i16
#define KB_KP_DBL  kb_cfg_parse_dbl
#define KB_KP_IGN  NULL

static kz_cfg_parse_fn kb_cfg_parse_i16, kb_cfg_parse_dbl;
static kz_cfg_check_fn kb_cfg_check;

#define KB_X_KEY(name, kind, field, def, dt, chk, min) \
    { name, KB_KT_##kind, offsetof(kb_config, field), def, kb_cfg_check, KB_KP_##kind },
#define KB_X_META(name, kind, field, def, dt, chk, min) \
    { KB_K_##kind, KB_CT_##dt, KB_C_##chk, min, "must be at least " #min },

static const kz_cfg_key kb_cfg_keys[] = { KB_CFG_TABLE(KB_X_KEY) };
static const kb_cfg_meta kb_cfg_meta_tab[] = { KB_CFG_TABLE(KB_X_META) };
#define KB_NKEYS (sizeof kb_cfg_keys / sizeof kb_cfg_keys[0])
_Static_assert(sizeof kb_cfg_keys / sizeof kb_cfg_keys[0] ==
                   sizeof kb_cfg_meta_tab / sizeof kb_cfg_meta_tab[0],
               "key and meta tables expand from one list");

/* ---- small string builder ---- */

typedef struct {
    char *p;
    size_t len, cap;
    bool oom;
} kb_sb;

static void kb_sb_put(kb_sb *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void kb_sb_str(kb_sb *b, const char *s) { kb_sb_put(b, s, strlen(s)); }

__attribute__((format(printf, 2, 3))) static void kb_sb_fmt(kb_sb *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        b->oom = true;
    else
        kb_sb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* ---- per-key parsing and checks ---- */

/* Short.parseShort */
static const char *kb_cfg_parse_i16(const kz_cfg_key *k, void *field, const char *value)
{
    (void)k;
    int64_t v;
    int rc = kz_cfg_parse_i64(value, &v);
    if (rc == -1)
        return "not an integer";
    if (rc == -2 || v < INT16_MIN || v > INT16_MAX)
        return "out of range for a 16-bit integer";
    *(int16_t *)field = (int16_t)v;
    return NULL;
}

static const char *kb_cfg_parse_dbl(const kz_cfg_key *k, void *field, const char *value)
{
    (void)k;
    return kb_parse_double(value, field) == 0 ? NULL : "not a number";
}

static const char *const kb_sec_names[] = { "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL" };

const char *kb_sec_proto_name(kb_sec_proto p)
{
    return (unsigned)p < 4 ? kb_sec_names[p] : "UNKNOWN";
}

/* SecurityProtocol.forName: the name in any case. 0 or -1. */
static int kb_sec_parse(const char *s, kb_sec_proto *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, kb_sec_names[i]) == 0) {
            *out = (kb_sec_proto)i;
            return 0;
        }
    }
    return -1;
}

static const char *const kb_comp_names[] = { "uncompressed", "gzip", "snappy", "lz4", "zstd" };

/* BrokerCompressionCodec: a codec name or "producer", any case. 0 or -1. */
static int kb_comp_parse(const char *s, kb_comp_type *out)
{
    if (strcasecmp(s, "producer") == 0) {
        *out = KB_COMP_PRODUCER;
        return 0;
    }
    for (int i = 0; i < 5; i++) {
        if (strcasecmp(s, kb_comp_names[i]) == 0) {
            *out = (kb_comp_type)i;
            return 0;
        }
    }
    return -1;
}

static int kb_cleanup_elem(void *ctx, const char *e, size_t n)
{
    unsigned *bits = ctx;
    if (n == 6 && memcmp(e, "delete", 6) == 0)
        *bits |= KB_CLEANUP_DELETE;
    else if (n == 7 && memcmp(e, "compact", 7) == 0)
        *bits |= KB_CLEANUP_COMPACT;
    else
        return -1;
    return 0;
}

/* The one check callback of the table: type-specific rules from kb_cfg_meta_tab. */
static const char *kb_cfg_check(const kz_cfg_key *k, const void *field, const char *raw)
{
    const kb_cfg_meta *m = &kb_cfg_meta_tab[k - kb_cfg_keys];
    if (!raw)
        return NULL; /* unset: nothing to check here (requirements are in finish) */
    const char *s = m->kind == KB_K_STR ? *(char *const *)field : NULL;
    int64_t v = 0;
    switch (m->kind) {
    case KB_K_I32: v = *(const int32_t *)field; break;
    case KB_K_I64: v = *(const int64_t *)field; break;
    case KB_K_I16: v = *(const int16_t *)field; break;
    default: break;
    }
    unsigned bits = 0;
    kb_sec_proto sp;
    kb_comp_type ct;
    switch (m->chk) {
    case KB_C_NONE: return NULL;
    case KB_C_MIN: return v < m->min ? m->why_min : NULL;
    case KB_C_TS:
        return strcmp(s, "CreateTime") == 0 || strcmp(s, "LogAppendTime") == 0
                   ? NULL
                   : "must be one of: CreateTime, LogAppendTime";
    case KB_C_CLEANUP:
        return kb_cfg_list_each(s, kb_cleanup_elem, &bits) == 0 ? NULL
                                                            : "must be a list of: compact, delete";
    case KB_C_APIVER: return kb_api_version_lookup(s, NULL) ? NULL : "not a valid version";
    case KB_C_SECPROTO:
        return kb_sec_parse(s, &sp) == 0
                   ? NULL
                   : "not a security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)";
    case KB_C_COMP:
        return kb_comp_parse(s, &ct) == 0
                   ? NULL
                   : "must be one of: uncompressed, zstd, lz4, snappy, gzip, producer";
    case KB_C_EMPTY:
        return *s == '\0' ? NULL
                          : "KRaft mode is not supported: kafkad runs with ZooKeeper (leave it empty)";
    }
    return NULL;
}

/* ---- load context and originals ---- */

typedef struct {
    kb_config *c;
    const char *src;
    char *err;
    size_t errlen;
} kb_ld;

static int kb_table_index(const char *name)
{
    for (size_t i = 0; i < KB_NKEYS; i++)
        if (strcmp(kb_cfg_keys[i].name, name) == 0)
            return (int)i;
    return -1;
}

static const kb_cfg_prop *kb_prop_find(const kb_config *c, const char *key)
{
    for (size_t i = 0; i < c->n_props; i++)
        if (strcmp(c->props[i].key, key) == 0)
            return &c->props[i];
    return NULL;
}

const char *kb_config_original(const kb_config *c, const char *key)
{
    const kb_cfg_prop *p = kb_prop_find(c, key);
    return p ? p->value : NULL;
}

/* kz_props_fn of pass 1: keep the trimmed pair (last value wins, first position kept). */
static int kb_collect_prop(void *ctx, const char *key, const char *value, int lineno)
{
    kb_ld *ld = ctx;
    kb_config *c = ld->c;
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v)
        goto oom;
    kz_cfg_trim(k);
    kz_cfg_trim(v);
    for (size_t i = 0; i < c->n_props; i++) {
        if (strcmp(c->props[i].key, k) == 0) {
            free(c->props[i].value);
            c->props[i].value = v;
            c->props[i].lineno = lineno;
            free(k);
            return 0;
        }
    }
    kb_cfg_prop *np = realloc(c->props, (c->n_props + 1) * sizeof *np);
    if (!np)
        goto oom;
    c->props = np;
    c->props[c->n_props++] = (kb_cfg_prop){ k, v, lineno };
    return 0;
oom:
    free(k);
    free(v);
    snprintf(ld->err, ld->errlen, "%s:%d: out of memory", ld->src, lineno);
    return -1;
}

/* Unknown keys: warned as Kafka's AbstractConfig.logUnused words it. Per-listener overrides
 * ("listener.name.<listener>.<config>") are Kafka configs too: kept silently. */
static int kb_cfg_unknown(void *ctx, const char *key, const char *value, const char *src,
                          int lineno, char *err, size_t errlen)
{
    (void)ctx, (void)value, (void)src, (void)lineno, (void)err, (void)errlen;
    if (strncmp(key, "listener.name.", 14) == 0)
        return 0;
    kz_warn(KB_CFG_COMPONENT, "The configuration '%s' was supplied but isn't a known config.",
            key);
    return 0;
}

/* Fail the load for @key whose value is @value: "invalid value '<value>' for <key>: <why>
 * (<src>:<line>)", the line being where the file set @key (just "(<src>)" if it did not). */
__attribute__((format(printf, 4, 5))) static int kb_bad(kb_ld *ld, const char *key,
                                                        const char *value, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    const kb_cfg_prop *p = kb_prop_find(ld->c, key);
    if (p)
        snprintf(ld->err, ld->errlen, "invalid value '%s' for %s: %s (%s:%d)", value, key, why,
                 ld->src, p->lineno);
    else
        snprintf(ld->err, ld->errlen, "invalid value '%s' for %s: %s (%s)", value, key, why,
                 ld->src);
    return -1;
}

static int kb_oom(kb_ld *ld)
{
    snprintf(ld->err, ld->errlen, "%s: out of memory", ld->src);
    return -1;
}

static bool kb_is_set(const kb_ld *ld, const char *key) { return kb_prop_find(ld->c, key) != NULL; }

/* ---- zookeeper.connect ---- */

/* ZooKeeper's PathUtils.validatePath for a chroot: absolute, no empty, "." or ".." component,
 * no trailing '/', no control characters. NULL or the reason. */
static const char *kb_zk_path_check(const char *p)
{
    if (p[0] != '/')
        return "chroot must start with /";
    size_t n = strlen(p);
    if (n > 1 && p[n - 1] == '/')
        return "chroot must not end with /";
    for (const char *s = p; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch == 0x7f)
            return "chroot contains a control character";
        if (*s == '/') {
            const char *e = s + 1;
            size_t len = strcspn(e, "/");
            if (len == 0 && n > 1)
                return "chroot has an empty node name";
            if ((len == 1 && e[0] == '.') || (len == 2 && e[0] == '.' && e[1] == '.'))
                return "chroot has a relative path component";
        }
    }
    return NULL;
}

/* One "host[:port]" or "[v6]:port" of the server list (ConnectStringParser). */
static const char *kb_zk_host_check(const char *h, size_t n)
{
    char tmp[512];
    if (n == 0 || n >= sizeof tmp)
        return n ? "host too long" : "empty server address";
    memcpy(tmp, h, n);
    tmp[n] = '\0';
    char *host = tmp, *port = NULL;
    if (tmp[0] == '[') {
        char *e = strchr(tmp, ']');
        if (!e)
            return "'[' without ']'";
        *e = '\0';
        host = tmp + 1;
        if (e[1] == ':')
            port = e + 2;
        else if (e[1] != '\0')
            return "garbage after ']'";
    } else {
        char *c = strrchr(tmp, ':');
        if (c) {
            *c = '\0';
            port = c[1] ? c + 1 : NULL;
        }
    }
    if (*host == '\0')
        return "empty host";
    int32_t pv;
    if (port && (kz_cfg_parse_i32(port, &pv) != 0 || pv < 1 || pv > 65535))
        return "bad port";
    return NULL;
}

/* Split c->zk_connect into zk_hosts and zk_chroot, checking both. 0 or -1. */
static int kb_zk_connect(kb_ld *ld)
{
    kb_config *c = ld->c;
    const char *s = c->zk_connect, *slash = strchr(s, '/');
    size_t hn = slash ? (size_t)(slash - s) : strlen(s);
    const char *why = NULL;
    if (slash && strcmp(slash, "/") != 0 && (why = kb_zk_path_check(slash)))
        return kb_bad(ld, "zookeeper.connect", s, "%s", why);
    size_t count = 0;
    for (size_t i = 0; i < hn;) {
        size_t j = i;
        while (j < hn && s[j] != ',')
            j++;
        size_t a = i, b = j;
        while (a < b && isspace((unsigned char)s[a]))
            a++;
        while (b > a && isspace((unsigned char)s[b - 1]))
            b--;
        if (b > a) { /* empty items are skipped, as ZooKeeper's split does */
            if ((why = kb_zk_host_check(s + a, b - a)))
                return kb_bad(ld, "zookeeper.connect", s, "%.*s: %s", (int)(b - a), s + a, why);
            count++;
        }
        i = j + 1;
    }
    if (count == 0)
        return kb_bad(ld, "zookeeper.connect", s, "no server address");
    if (!(c->zk_hosts = strndup(s, hn)))
        return kb_oom(ld);
    if (slash && strcmp(slash, "/") != 0 && !(c->zk_chroot = strdup(slash)))
        return kb_oom(ld);
    return 0;
}

/* ---- listeners ---- */

static void kb_endpoints_free(kb_endpoint *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(e[i].name);
        free(e[i].host);
    }
    free(e);
}

/* ListenerName.normalised: upper-case (ASCII, Locale.ROOT). */
static char *kb_upper_dup(const char *s, size_t n)
{
    char *d = strndup(s, n);
    if (d)
        for (char *p = d; *p; p++)
            *p = (char)toupper((unsigned char)*p);
    return d;
}

static const kb_proto_map_ent *kb_map_find(const kb_config *c, const char *name)
{
    for (size_t i = 0; i < c->n_proto_map; i++)
        if (strcmp(c->proto_map[i].name, name) == 0)
            return &c->proto_map[i];
    return NULL;
}

/* listener.security.protocol.map (CoreUtils.parseCsvMap): "NAME:PROTO" items, split at the
 * last ':'; the name upper-cased, the protocol a SecurityProtocol in any case. Last wins. */
static int kb_parse_proto_map(kb_ld *ld)
{
    kb_config *c = ld->c;
    const char *key = "listener.security.protocol.map", *s = c->raw.listener_security_protocol_map;
    const char *p = s;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char item[256];
        if (n >= sizeof item)
            return kb_bad(ld, key, s, "entry too long");
        memcpy(item, p, n);
        item[n] = '\0';
        kz_cfg_trim(item);
        char *colon = strrchr(item, ':');
        if (!colon)
            return kb_bad(ld, key, s, "'%s' is not NAME:PROTOCOL", item);
        *colon = '\0';
        char *proto = colon + 1;
        kz_cfg_trim(item);
        kz_cfg_trim(proto);
        kb_sec_proto sp;
        if (kb_sec_parse(proto, &sp) != 0)
            return kb_bad(ld, key, s, "Invalid security protocol `%s` defined in %s", proto, key);
        char *name = kb_upper_dup(item, strlen(item));
        if (!name)
            return kb_oom(ld);
        kb_proto_map_ent *old = (kb_proto_map_ent *)kb_map_find(c, name);
        if (old) {
            old->proto = sp;
            free(name);
        } else {
            kb_proto_map_ent *nm = realloc(c->proto_map, (c->n_proto_map + 1) * sizeof *nm);
            if (!nm) {
                free(name);
                return kb_oom(ld);
            }
            c->proto_map = nm;
            c->proto_map[c->n_proto_map++] = (kb_proto_map_ent){ name, sp };
        }
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

/* EndPoint.createEndPoint: "NAME://host:port" or "NAME://[v6]:port"; host characters
 * [0-9A-Za-z-%._:], port an integer 0..65535. Fills @e (strings malloc'd). NULL or the reason
 * (in @why). */
static const char *kb_endpoint_parse(const kb_config *c, const char *s, size_t n, kb_endpoint *e,
                                     char *why, size_t whylen)
{
    char tmp[512];
    if (n >= sizeof tmp) {
        snprintf(why, whylen, "listener too long");
        return why;
    }
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *sep = strstr(tmp, "://"), *host, *port;
    if (!sep)
        goto unparsable;
    *sep = '\0';
    host = sep + 3;
    if (*host == '[') {
        char *rb = strchr(host, ']');
        if (!rb || rb[1] != ':')
            goto unparsable;
        *rb = '\0';
        host++;
        port = rb + 2;
    } else {
        char *colon = strrchr(host, ':');
        if (!colon)
            goto unparsable;
        *colon = '\0';
        port = colon + 1;
    }
    for (const char *h = host; *h; h++)
        if (!isalnum((unsigned char)*h) && !strchr("-%._:", *h))
            goto unparsable;
    int64_t pv;
    if (kz_cfg_parse_i64(port, &pv) == -1 || *port == '+')
        goto unparsable;
    if (pv < 0 || pv > 65535) {
        snprintf(why, whylen, "port %s of %.*s is not a port (0..65535)", port, (int)n, s);
        return why;
    }
    char *name = kb_upper_dup(tmp, strlen(tmp));
    if (!name) {
        snprintf(why, whylen, "out of memory");
        return why;
    }
    const kb_proto_map_ent *m = kb_map_find(c, name);
    if (!m) {
        snprintf(why, whylen, "No security protocol defined for listener %s", name);
        free(name);
        return why;
    }
    if (!(e->host = strdup(host))) {
        free(name);
        snprintf(why, whylen, "out of memory");
        return why;
    }
    e->name = name;
    e->port = (int32_t)pv;
    e->proto = m->proto;
    return NULL;
unparsable:
    snprintf(why, whylen, "Unable to parse %.*s to a broker endpoint", (int)n, s);
    return why;
}

/* CoreUtils.listenerListToEndPoints of @s (value of @key): comma list (empty items dropped),
 * distinct names, and distinct non-zero ports when @distinct_ports. 0 or -1. */
static int kb_parse_endpoints(kb_ld *ld, const char *key, const char *s, bool distinct_ports,
                              kb_endpoint **out, size_t *nout)
{
    kb_endpoint *eps = NULL;
    size_t n = 0;
    char why[600];
    const char *p = s;
    int rc = 0;
    while (*p) {
        while (isspace((unsigned char)*p))
            p++;
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len > 0 && isspace((unsigned char)p[len - 1]))
            len--;
        if (len > 0) {
            kb_endpoint e = { 0 }, *ne = realloc(eps, (n + 1) * sizeof *ne);
            if (!ne) {
                rc = kb_oom(ld);
                goto out;
            }
            eps = ne;
            if (kb_endpoint_parse(ld->c, p, len, &e, why, sizeof why)) {
                rc = kb_bad(ld, key, s, "%s", why);
                goto out;
            }
            eps[n++] = e;
        }
        if (!end)
            break;
        p = end + 1;
    }
    if (n == 0) {
        rc = kb_bad(ld, key, s, "no listener defined");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(eps[i].name, eps[j].name) == 0) {
                rc = kb_bad(ld, key, s, "Each listener must have a different name (%s twice)",
                            eps[i].name);
                goto out;
            }
            if (distinct_ports && eps[i].port != 0 && eps[i].port == eps[j].port) {
                rc = kb_bad(ld, key, s, "Each listener must have a different port (%d twice)",
                            eps[i].port);
                goto out;
            }
        }
    }
out:
    if (rc) {
        kb_endpoints_free(eps, n);
        eps = NULL;
        n = 0;
    }
    *out = eps;
    *nout = n;
    return rc;
}

static bool kb_has_endpoint(const kb_endpoint *e, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].name, name) == 0)
            return true;
    return false;
}

/* Names of @e joined with ',' into @buf (for messages). */
static const char *kb_endpoint_names(const kb_endpoint *e, size_t n, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? "," : "", e[i].name);
    return buf;
}

/* listeners, advertised.listeners (or the deprecated host/port forms), inter-broker and
 * control-plane listener names, in KafkaConfig's order. 0 or -1. */
static int kb_resolve_listeners(kb_ld *ld)
{
    kb_config *c = ld->c;
    kb_config_raw *r = &c->raw;
    char buf[600], lst[600], names[256], host[256];
    const char *s;
    if (kb_parse_proto_map(ld))
        return -1;

    snprintf(lst, sizeof lst, "%s", r->listeners ? r->listeners : "");
    if (r->listeners) {
        if (kb_parse_endpoints(ld, "listeners", r->listeners, true, &c->listeners,
                               &c->n_listeners))
            return -1;
    } else {
        snprintf(lst, sizeof lst, KB_DEFAULT_LISTENER_HOST_PORT, r->host_name, r->port);
        if (kb_parse_endpoints(ld, kb_is_set(ld, "port") ? "port" : "host.name", lst, true,
                               &c->listeners, &c->n_listeners))
            return -1;
    }

    const char *adv_key = "listeners", *adv_val = lst; /* where the advertised list came from */
    if (r->advertised_listeners) {
        adv_key = "advertised.listeners";
        adv_val = r->advertised_listeners;
        if (kb_parse_endpoints(ld, adv_key, adv_val, false, &c->advertised, &c->n_advertised))
            return -1;
    } else if (r->advertised_host_name || kb_is_set(ld, "advertised.port")) {
        adv_key = r->advertised_host_name ? "advertised.host.name" : "advertised.port";
        snprintf(buf, sizeof buf, KB_DEFAULT_LISTENER_HOST_PORT,
                 r->advertised_host_name ? r->advertised_host_name : r->host_name,
                 kb_is_set(ld, "advertised.port") ? r->advertised_port : r->port);
        adv_val = buf;
        if (kb_parse_endpoints(ld, adv_key, adv_val, false, &c->advertised, &c->n_advertised))
            return -1;
    } else {
        if (!(c->advertised = calloc(c->n_listeners, sizeof *c->advertised)))
            return kb_oom(ld);
        for (size_t i = 0; i < c->n_listeners; i++) {
            c->advertised[i] = c->listeners[i];
            c->advertised[i].name = strdup(c->listeners[i].name);
            c->advertised[i].host = strdup(c->listeners[i].host);
            c->n_advertised++;
            if (!c->advertised[i].name || !c->advertised[i].host)
                return kb_oom(ld);
        }
    }
    for (size_t i = 0; i < c->n_advertised; i++) {
        kb_endpoint *e = &c->advertised[i];
        if (strcmp(e->host, "0.0.0.0") == 0)
            return kb_bad(ld, adv_key, adv_val, "advertised.listeners cannot use the "
                          "nonroutable meta-address 0.0.0.0. Use a routable IP address.");
        if (e->host[0] == '\0') { /* all interfaces: advertise this host's name */
            if (gethostname(host, sizeof host) != 0)
                return kb_bad(ld, adv_key, adv_val, "gethostname: %s", strerror(errno));
            host[sizeof host - 1] = '\0';
            char *h = strdup(host);
            if (!h)
                return kb_oom(ld);
            free(e->host);
            e->host = h;
        }
        if (!kb_has_endpoint(c->listeners, c->n_listeners, e->name))
            return kb_bad(ld, adv_key, adv_val, "advertised.listeners listener names must be "
                          "equal to or a subset of the ones defined in listeners. Found %s. The "
                          "valid options based on the current configuration are %s",
                          e->name, kb_endpoint_names(c->listeners, c->n_listeners, names,
                                                     sizeof names));
    }

    if (r->inter_broker_listener_name) {
        s = r->inter_broker_listener_name;
        if (kb_is_set(ld, "security.inter.broker.protocol"))
            return kb_bad(ld, "inter.broker.listener.name", s, "Only one of "
                          "inter.broker.listener.name and security.inter.broker.protocol should "
                          "be set.");
        if (!(c->inter_broker_listener = kb_upper_dup(s, strlen(s))))
            return kb_oom(ld);
        const kb_proto_map_ent *m = kb_map_find(c, c->inter_broker_listener);
        if (!m)
            return kb_bad(ld, "inter.broker.listener.name", s, "Listener with name %s defined "
                          "in inter.broker.listener.name not found in "
                          "listener.security.protocol.map.", c->inter_broker_listener);
        c->inter_broker_proto = m->proto;
    } else {
        kb_sec_parse(r->security_inter_broker_protocol, &c->inter_broker_proto);
        if (!(c->inter_broker_listener = strdup(kb_sec_proto_name(c->inter_broker_proto))))
            return kb_oom(ld);
    }
    if (!kb_has_endpoint(c->advertised, c->n_advertised, c->inter_broker_listener))
        return kb_bad(ld, r->inter_broker_listener_name ? "inter.broker.listener.name"
                                                        : "security.inter.broker.protocol",
                      r->inter_broker_listener_name ? r->inter_broker_listener_name
                                                    : r->security_inter_broker_protocol,
                      "inter.broker.listener.name must be a listener name defined in "
                      "advertised.listeners. The valid options based on currently configured "
                      "listeners are %s",
                      kb_endpoint_names(c->advertised, c->n_advertised, names, sizeof names));

    if ((s = r->control_plane_listener_name)) {
        char *cp = kb_upper_dup(s, strlen(s));
        if (!cp)
            return kb_oom(ld);
        int bad = !kb_map_find(c, cp)                                     ? 1
                  : !kb_has_endpoint(c->advertised, c->n_advertised, cp) ? 2
                  : strcmp(cp, c->inter_broker_listener) == 0            ? 3
                                                                          : 0;
        free(cp);
        if (bad == 1)
            return kb_bad(ld, "control.plane.listener.name", s, "not found in "
                          "listener.security.protocol.map");
        if (bad == 2)
            return kb_bad(ld, "control.plane.listener.name", s, "must be a listener name "
                          "defined in advertised.listeners");
        if (bad == 3)
            return kb_bad(ld, "control.plane.listener.name", s, "should have a different value "
                          "from the inter broker listener name");
    }
    return 0;
}

/* ---- finish: derived values and cross-key rules ---- */

/* parseCsvList(log.dirs, else log.dir) into c->log_dirs. 0 or -1. */
static int kb_resolve_log_dirs(kb_ld *ld)
{
    kb_config *c = ld->c;
    const char *key = c->raw.log_dirs ? "log.dirs" : "log.dir";
    const char *s = c->raw.log_dirs ? c->raw.log_dirs : c->raw.log_dir;
    for (const char *p = s; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *a = p;
        while (n > 0 && isspace((unsigned char)*a))
            a++, n--;
        while (n > 0 && isspace((unsigned char)a[n - 1]))
            n--;
        if (n > 0) {
            char **nd = realloc(c->log_dirs, (c->n_log_dirs + 1) * sizeof *nd);
            if (!nd)
                return kb_oom(ld);
            c->log_dirs = nd;
            if (!(c->log_dirs[c->n_log_dirs] = strndup(a, n)))
                return kb_oom(ld);
            c->n_log_dirs++;
        }
        if (!end)
            break;
        p = end + 1;
    }
    if (c->n_log_dirs == 0)
        return kb_bad(ld, key, s, "At least one log directory must be defined via log.dirs or "
                      "log.dir.");
    return 0;
}

/* Precedence of the time synonyms, then the value checks KafkaConfig applies to the result. */
static int kb_resolve_times(kb_ld *ld)
{
    kb_config *c = ld->c;
    kb_config_raw *r = &c->raw;
    char v[32];
    c->zk_connection_timeout_ms = kb_is_set(ld, "zookeeper.connection.timeout.ms")
                                      ? r->zk_connection_timeout_ms
                                      : c->zk_session_timeout_ms;
    c->log_roll_ms = kb_is_set(ld, "log.roll.ms") ? r->log_roll_ms
                                                  : (int64_t)r->log_roll_hours * 3600000;
    c->log_roll_jitter_ms = kb_is_set(ld, "log.roll.jitter.ms")
                                ? r->log_roll_jitter_ms
                                : (int64_t)r->log_roll_jitter_hours * 3600000;
    const char *rk;
    int64_t ms;
    if (kb_is_set(ld, "log.retention.ms")) {
        rk = "log.retention.ms";
        ms = r->log_retention_ms;
    } else if (kb_is_set(ld, "log.retention.minutes")) {
        rk = "log.retention.minutes";
        ms = (int64_t)r->log_retention_minutes * 60000;
    } else {
        rk = "log.retention.hours";
        ms = (int64_t)r->log_retention_hours * 3600000;
    }
    if (ms == 0) {
        const char *given = kb_config_original(c, rk);
        return kb_bad(ld, rk, given ? given : "0", "log.retention.ms must be unlimited (-1) or, "
                      "greater than or equal to 1");
    }
    c->log_retention_ms = ms < 0 ? -1 : ms;
    c->log_flush_interval_ms = kb_is_set(ld, "log.flush.interval.ms")
                                   ? r->log_flush_interval_ms
                                   : c->log_flush_scheduler_interval_ms;
    if (c->replica_fetch_wait_max_ms > c->replica_socket_timeout_ms) {
        snprintf(v, sizeof v, "%d", c->replica_socket_timeout_ms);
        return kb_bad(ld, "replica.socket.timeout.ms", v, "replica.socket.timeout.ms should "
                      "always be at least replica.fetch.wait.max.ms (%d) to prevent unnecessary "
                      "socket timeouts", c->replica_fetch_wait_max_ms);
    }
    if (c->replica_fetch_wait_max_ms > c->replica_lag_time_max_ms) {
        snprintf(v, sizeof v, "%d", c->replica_fetch_wait_max_ms);
        return kb_bad(ld, "replica.fetch.wait.max.ms", v, "replica.fetch.wait.max.ms should "
                      "always be less than or equal to replica.lag.time.max.ms (%lld) to "
                      "prevent frequent changes in ISR", (long long)c->replica_lag_time_max_ms);
    }
    return 0;
}

static int kb_config_finish(kb_ld *ld)
{
    kb_config *c = ld->c;
    kb_config_raw *r = &c->raw;
    char v[32];
    int lmf_magic = 2, ibp_magic = 2;

    if (!c->zk_connect) {
        snprintf(ld->err, ld->errlen, "Missing required configuration `zookeeper.connect` which "
                 "has no default value (%s)", ld->src);
        return -1;
    }
    if (kb_zk_connect(ld))
        return -1;
    if (c->broker_id_generation_enable &&
        (c->broker_id < -1 || c->broker_id > c->reserved_broker_max_id)) {
        snprintf(v, sizeof v, "%d", c->broker_id);
        return kb_bad(ld, "broker.id", v, "must be greater than or equal to -1 and not greater "
                      "than reserved.broker.max.id (%d)", c->reserved_broker_max_id);
    }
    if (!c->broker_id_generation_enable && c->broker_id < 0) {
        snprintf(v, sizeof v, "%d", c->broker_id);
        return kb_bad(ld, "broker.id", v, "must be greater than or equal to 0 when "
                      "broker.id.generation.enable is false");
    }
    if (kb_resolve_times(ld) || kb_resolve_log_dirs(ld))
        return -1;
    if (c->log_cleaner_threads > 0 &&
        c->log_cleaner_dedupe_buffer_size / c->log_cleaner_threads <= 1024 * 1024) {
        snprintf(v, sizeof v, "%lld", (long long)c->log_cleaner_dedupe_buffer_size);
        return kb_bad(ld, "log.cleaner.dedupe.buffer.size", v, "must be at least 1MB per "
                      "cleaner thread");
    }
    if (c->offsets_commit_required_acks < -1 ||
        c->offsets_commit_required_acks > c->offsets_topic_replication_factor) {
        snprintf(v, sizeof v, "%d", c->offsets_commit_required_acks);
        return kb_bad(ld, "offsets.commit.required.acks", v, "must be greater or equal -1 and "
                      "less or equal to offsets.topic.replication.factor");
    }
    if (c->queued_max_request_bytes > 0 &&
        c->queued_max_request_bytes < c->socket_request_max_bytes) {
        snprintf(v, sizeof v, "%lld", (long long)c->queued_max_request_bytes);
        return kb_bad(ld, "queued.max.request.bytes", v, "must be larger or equal to "
                      "socket.request.max.bytes");
    }
    kb_cfg_list_each(r->log_cleanup_policy, kb_cleanup_elem, &c->log_cleanup);
    kb_comp_parse(r->compression_type, &c->compression_type);
    c->log_message_timestamp_type = strcmp(r->log_message_timestamp_type, "LogAppendTime") == 0
                                        ? KB_TS_LOG_APPEND_TIME
                                        : KB_TS_CREATE_TIME;
    c->log_message_format = kb_api_version_lookup(c->log_message_format_version, &lmf_magic);
    c->inter_broker_protocol = kb_api_version_lookup(c->inter_broker_protocol_version, &ibp_magic);
    c->log_message_format_magic = lmf_magic;
    if (ibp_magic < lmf_magic)
        return kb_bad(ld, "log.message.format.version", c->log_message_format_version,
                      "log.message.format.version %s can only be used when "
                      "inter.broker.protocol.version is set to version %s or higher",
                      c->log_message_format_version, lmf_magic == 2 ? "0.11.0" : "0.10.0");
    if (kb_resolve_listeners(ld))
        return -1;
    const char *authz = kb_config_original(c, "authorizer.class.name");
    if (authz && *authz)
        kz_warn(KB_CFG_COMPONENT, "authorizer.class.name=%s is not supported: no ACLs are "
                "enforced", authz);
    return 0;
}

/* ---- public: load, free ---- */

static int kb_config_load_text(kb_config *c, const char *text, size_t len, const char *src,
                               const char *path, char *err, size_t errlen)
{
    kb_ld ld = { c, src, err, errlen };
    memset(c, 0, sizeof *c);
    if (!(c->path = strdup(src)))
        return kb_oom(&ld);
    int rc = path ? kz_props_parse_file(path, kb_collect_prop, &ld, err, errlen)
                  : kz_props_parse(text, len, kb_collect_prop, &ld, err, errlen);
    if (rc != 0 && !path && strncmp(err, src, strlen(src)) != 0) { /* name the source */
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s", err);
        snprintf(err, errlen, "%s: %s", src, tmp);
    }
    if (rc == 0)
        rc = path ? kz_cfg_load(kb_cfg_keys, KB_NKEYS, c, path, kb_cfg_unknown, c, err, errlen)
                  : kz_cfg_load_mem(kb_cfg_keys, KB_NKEYS, c, text, len, src, kb_cfg_unknown, c,
                                    err, errlen);
    if (rc == 0)
        rc = kb_config_finish(&ld);
    if (rc != 0) {
        kb_config_free(c);
        return -1;
    }
    return 0;
}

int kb_config_load(kb_config *c, const char *path, char *err, size_t errlen)
{
    return kb_config_load_text(c, NULL, 0, path, path, err, errlen);
}

int kb_config_load_mem(kb_config *c, const char *text, size_t len, const char *src, char *err,
                       size_t errlen)
{
    return kb_config_load_text(c, text, len, src, NULL, err, errlen);
}

void kb_config_free(kb_config *c)
{
    if (!c)
        return;
    kz_cfg_free(kb_cfg_keys, KB_NKEYS, c);
    for (size_t i = 0; i < c->n_props; i++) {
        free(c->props[i].key);
        free(c->props[i].value);
    }
    free(c->props);
    free(c->path);
    free(c->zk_hosts);
    free(c->zk_chroot);
    kb_endpoints_free(c->listeners, c->n_listeners);
    kb_endpoints_free(c->advertised, c->n_advertised);
    for (size_t i = 0; i < c->n_proto_map; i++)
        free(c->proto_map[i].name);
    free(c->proto_map);
    free(c->inter_broker_listener);
    for (size_t i = 0; i < c->n_log_dirs; i++)
        free(c->log_dirs[i]);
    free(c->log_dirs);
    memset(c, 0, sizeof *c);
}

const kb_endpoint *kb_config_advertised(const kb_config *c, const char *name)
{
    for (size_t i = 0; i < c->n_advertised; i++)
        if (strcmp(c->advertised[i].name, name) == 0)
            return &c->advertised[i];
    return NULL;
}

/* ---- rendering: dump and DescribeConfigs ---- */

typedef enum { KB_R_DUMP, KB_R_DESCRIBE } kb_render_mode;

/* kb_list_each callback: append one element, after @sep unless it is the first. */
typedef struct {
    kb_sb *b;
    const char *sep;
    size_t n;
} kb_list_out;

static int kb_list_put(void *ctx, const char *e, size_t n)
{
    kb_list_out *o = ctx;
    if (o->n++)
        kb_sb_str(o->b, o->sep);
    kb_sb_put(o->b, e, n);
    return 0;
}

/* Text of a value given as a string (@s, NULL = null) of Kafka type @dt. Dump: lists as
 * "[a, b]", passwords "[hidden]", classes "class X". Describe: lists joined with ",". Returns
 * false for null. */
static bool kb_render_text(kb_sb *b, kb_cfg_dtype dt, const char *s, kb_render_mode mode)
{
    char d[40];
    double x;
    if (!s)
        return false;
    switch (dt) {
    case KB_CT_LIST: {
        kb_list_out o = { b, mode == KB_R_DUMP ? ", " : ",", 0 };
        if (mode == KB_R_DUMP)
            kb_sb_str(b, "[");
        kb_cfg_list_each(s, kb_list_put, &o);
        if (mode == KB_R_DUMP)
            kb_sb_str(b, "]");
        else if (o.n == 0)
            kb_sb_str(b, ""); /* an empty list is "", not null */
        return true;
    }
    case KB_CT_PASSWORD: kb_sb_str(b, "[hidden]"); return true;
    case KB_CT_CLASS:
        if (mode == KB_R_DUMP)
            kb_sb_str(b, "class ");
        kb_sb_str(b, s);
        return true;
    case KB_CT_DOUBLE:
        kb_sb_str(b, kb_parse_double(s, &x) == 0 ? kb_fmt_double(x, d, sizeof d) : s);
        return true;
    case KB_CT_BOOLEAN: kb_sb_str(b, strcasecmp(s, "true") == 0 ? "true" : "false"); return true;
    default: kb_sb_str(b, s); return true;
    }
}

/* The value of table key @i in @c. Returns false for null. */
static bool kb_render_key(const kb_config *c, size_t i, kb_sb *b, kb_render_mode mode)
{
    const kz_cfg_key *k = &kb_cfg_keys[i];
    const kb_cfg_meta *m = &kb_cfg_meta_tab[i];
    const char *orig = kb_config_original(c, k->name);
    const void *f = (const char *)c + k->off;
    char d[40];
    if (m->kind == KB_K_IGN)
        return kb_render_text(b, m->dtype, orig ? orig : k->def, mode);
    if (!k->def && !orig)
        return false; /* Kafka's null default, not set */
    switch (m->kind) {
    case KB_K_STR: return kb_render_text(b, m->dtype, *(char *const *)f, mode);
    case KB_K_I32: kb_sb_fmt(b, "%d", *(const int32_t *)f); return true;
    case KB_K_I16: kb_sb_fmt(b, "%d", *(const int16_t *)f); return true;
    case KB_K_I64: kb_sb_fmt(b, "%lld", (long long)*(const int64_t *)f); return true;
    case KB_K_BOOL: kb_sb_str(b, *(const bool *)f ? "true" : "false"); return true;
    case KB_K_DBL: kb_sb_str(b, kb_fmt_double(*(const double *)f, d, sizeof d)); return true;
    case KB_K_IGN: break;
    }
    return false;
}

static int kb_key_cmp(const void *a, const void *b)
{
    return strcmp(kb_cfg_keys[*(const size_t *)a].name, kb_cfg_keys[*(const size_t *)b].name);
}

/* Table indexes in name order (Kafka's TreeMap). */
static void kb_sorted(size_t idx[KB_NKEYS])
{
    for (size_t i = 0; i < KB_NKEYS; i++)
        idx[i] = i;
    qsort(idx, KB_NKEYS, sizeof idx[0], kb_key_cmp);
}

char *kb_config_dump(const kb_config *c)
{
    size_t idx[KB_NKEYS];
    kb_sb b = { 0 };
    kb_sorted(idx);
    kb_sb_str(&b, "KafkaConfig values: \n");
    for (size_t j = 0; j < KB_NKEYS; j++) {
        kb_sb_fmt(&b, "\t%s = ", kb_cfg_keys[idx[j]].name);
        if (!kb_render_key(c, idx[j], &b, KB_R_DUMP))
            kb_sb_str(&b, "null");
        kb_sb_str(&b, "\n");
    }
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

const char *kb_config_value(const kb_config *c, const char *name, char *buf, size_t len)
{
    int i = kb_table_index(name);
    kb_sb b = { 0 };
    const char *ret = NULL;
    if (i >= 0 && kb_render_key(c, (size_t)i, &b, KB_R_DESCRIBE) && !b.oom) {
        snprintf(buf, len, "%s", b.p ? b.p : "");
        ret = buf;
    }
    free(b.p);
    return ret;
}

size_t kb_config_broker_synonyms(const char *name, const char *out[4])
{
    static const char *const groups[][4] = {
        { "log.roll.ms", "log.roll.hours", NULL, NULL },
        { "log.roll.jitter.ms", "log.roll.jitter.hours", NULL, NULL },
        { "log.retention.ms", "log.retention.minutes", "log.retention.hours", NULL },
        { "log.flush.interval.ms", "log.flush.scheduler.interval.ms", NULL, NULL },
    };
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        if (strcmp(groups[g][0], name) == 0) {
            size_t n = 0;
            while (n < 4 && groups[g][n]) {
                out[n] = groups[g][n];
                n++;
            }
            return n;
        }
    }
    out[0] = name;
    return 1;
}

/* Copy @s into @a (NULL stays NULL); *fail set when out of memory. */
static const char *kb_adup(kz_arena *a, const char *s, bool *fail)
{
    if (!s)
        return NULL;
    kz_str d = kz_arena_strdup(a, kz_str_c(s));
    if (!d.s)
        *fail = true;
    return d.s;
}

int kb_config_add_synonyms(const kb_config *c, const char *name, bool sensitive, kz_arena *a,
                           kb_cfg_entry *e)
{
    const char *names[4];
    size_t n = kb_config_broker_synonyms(name, names);
    kb_cfg_synonym all[8];
    size_t na = 0;
    bool fail = false;
    for (size_t i = 0; i < n; i++) { /* the file: STATIC_BROKER_CONFIG */
        const char *v = kb_config_original(c, names[i]);
        if (v)
            all[na++] = (kb_cfg_synonym){ names[i], v, KB_CS_STATIC_BROKER };
    }
    for (size_t i = 0; i < n; i++) { /* Kafka's defaults that are not null: DEFAULT_CONFIG */
        int t = kb_table_index(names[i]);
        if (t >= 0 && kb_cfg_keys[t].def)
            all[na++] = (kb_cfg_synonym){ names[i], kb_cfg_keys[t].def, KB_CS_DEFAULT };
    }
    size_t first = 0; /* dropWhile(_.name != name) */
    while (first < na && strcmp(all[first].name, name) != 0)
        first++;
    for (size_t i = first; i < na && e->n_synonyms < KB_CFG_SYN_MAX; i++) {
        kb_cfg_synonym *s = &e->synonyms[e->n_synonyms++];
        s->name = kb_adup(a, all[i].name, &fail);
        s->value = sensitive ? NULL : kb_adup(a, all[i].value, &fail);
        s->source = all[i].source;
    }
    return fail ? -1 : 0;
}

int kb_config_describe(const kb_config *c, kz_arena *a, kb_cfg_entry **out, size_t *n)
{
    size_t idx[KB_NKEYS], nunk = 0, k = 0;
    bool fail = false;
    kb_sorted(idx);
    for (size_t i = 0; i < c->n_props; i++)
        nunk += kb_table_index(c->props[i].key) < 0;
    kb_cfg_entry *e = kz_arena_alloc(a, (KB_NKEYS + nunk) * sizeof *e);
    if (!e)
        return -1;
    for (size_t j = 0; j < KB_NKEYS; j++, k++) {
        size_t i = idx[j];
        kb_cfg_entry *x = &e[k];
        kb_sb b = { 0 };
        x->name = kb_cfg_keys[i].name;
        x->type = kb_cfg_meta_tab[i].dtype;
        x->is_sensitive = x->type == KB_CT_PASSWORD;
        x->read_only = true;
        if (!x->is_sensitive && kb_render_key(c, i, &b, KB_R_DESCRIBE))
            x->value = kb_adup(a, b.p ? b.p : "", &fail);
        fail |= b.oom;
        free(b.p);
        if (kb_config_add_synonyms(c, x->name, x->is_sensitive, a, x) != 0)
            fail = true;
        x->source = x->n_synonyms ? x->synonyms[0].source : KB_CS_DEFAULT;
        x->is_default = x->source == KB_CS_DEFAULT;
    }
    for (size_t i = 0; i < c->n_props; i++) { /* unknown keys: type unknown, so sensitive */
        if (kb_table_index(c->props[i].key) >= 0)
            continue;
        kb_cfg_entry *x = &e[k++];
        x->name = kb_adup(a, c->props[i].key, &fail);
        x->is_sensitive = true;
        x->read_only = true;
        x->type = KB_CT_UNKNOWN;
        x->source = KB_CS_STATIC_BROKER;
        x->n_synonyms = 1;
        x->synonyms[0] = (kb_cfg_synonym){ x->name, NULL, KB_CS_STATIC_BROKER };
    }
    if (fail)
        return -1;
    *out = e;
    *n = k;
    return 0;
}
