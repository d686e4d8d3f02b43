/* test/unit/check_kbconfig.c -- Check suite for broker/kb_config (server.properties of Kafka
 * 2.8: defaults, every key, synonym precedence, listeners, zookeeper.connect, error messages,
 * unknown keys, the KafkaConfig dump, broker DescribeConfigs, the stock etc/ files) and
 * broker/kb_topic_config (topic config table, validation messages, effective values,
 * DescribeConfigs of a topic, Java number syntax, ApiVersion names).
 * Configs are loaded from memory under the source name "t.properties" unless a test is about
 * files; log output is captured with open_memstream to check warnings. */
#include "kb_config.h"
#include "kb_topic_config.h"
#include "kz_log.h"

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit_util.h"

#define ZK "zookeeper.connect=zk1:2181\n"

static int load(kb_config *c, const char *text, char *err)
{
    err[0] = '\0';
    return kb_config_load_mem(c, text, strlen(text), "t.properties", err, 512);
}

/* Loading @text succeeds; @c must be freed by the caller. */
static void load_ok(kb_config *c, const char *text)
{
    char err[512];
    int rc = load(c, text, err);
    ck_assert_msg(rc == 0, "load failed: %s", err);
}

/* Loading @text fails with exactly @want; @c is zeroed afterwards. */
static void load_fails(const char *text, const char *want)
{
    kb_config c;
    char err[512];
    ck_assert_int_eq(load(&c, text, err), -1);
    ck_assert_str_eq(err, want);
    ck_assert_ptr_null(c.props);
    ck_assert_ptr_null(c.zk_connect);
    ck_assert_ptr_null(c.listeners);
}

typedef struct {
    const char *name;
    int64_t got, want;
} ckf;
#define CKF(field, v) { #field, (int64_t)(field), (int64_t)(v) }
#define CK_FIELDS(...) \
    ck_fields((const ckf[]){ __VA_ARGS__ }, sizeof((const ckf[]){ __VA_ARGS__ }) / sizeof(ckf))

static void ck_fields(const ckf *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(f[i].got == f[i].want, "%s: got %lld, want %lld", f[i].name,
                      (long long)f[i].got, (long long)f[i].want);
}

/* The repository root, from this file's path as the compiler saw it (make runs from it). */
static void repo_path(char *out, size_t len, const char *rel)
{
    const char *me = __FILE__, *tail = strstr(me, "test/unit/check_kbconfig.c");
    int root = tail ? (int)(tail - me) : 0;
    snprintf(out, len, "%.*s%s", root, me, rel);
}

/* ---- 1. defaults ---- */

START_TEST(defaults)
{
    kb_config c;
    load_ok(&c, ZK);
    CK_FIELDS(CKF(c.broker_id, -1), CKF(c.broker_id_generation_enable, 1),
              CKF(c.reserved_broker_max_id, 1000), CKF(c.zk_session_timeout_ms, 18000),
              CKF(c.zk_connection_timeout_ms, 18000), CKF(c.zk_sync_time_ms, 2000),
              CKF(c.zk_set_acl, 0), CKF(c.zk_max_in_flight_requests, 10),
              CKF(c.num_network_threads, 3), CKF(c.num_io_threads, 8),
              CKF(c.num_recovery_threads_per_data_dir, 1), CKF(c.num_replica_fetchers, 1),
              CKF(c.background_threads, 10), CKF(c.socket_send_buffer_bytes, 102400),
              CKF(c.socket_receive_buffer_bytes, 102400),
              CKF(c.socket_request_max_bytes, 104857600), CKF(c.num_partitions, 1),
              CKF(c.default_replication_factor, 1), CKF(c.min_insync_replicas, 1),
              CKF(c.message_max_bytes, 1048588), CKF(c.replica_fetch_max_bytes, 1048576),
              CKF(c.replica_fetch_wait_max_ms, 500), CKF(c.replica_fetch_min_bytes, 1),
              CKF(c.replica_lag_time_max_ms, 30000), CKF(c.replica_socket_timeout_ms, 30000),
              CKF(c.replica_high_watermark_checkpoint_interval_ms, 5000),
              CKF(c.log_segment_bytes, 1073741824), CKF(c.log_roll_ms, 604800000),
              CKF(c.log_roll_jitter_ms, 0), CKF(c.log_retention_ms, 604800000),
              CKF(c.log_retention_bytes, -1), CKF(c.log_retention_check_interval_ms, 300000),
              CKF(c.log_segment_delete_delay_ms, 60000),
              CKF(c.log_index_size_max_bytes, 10485760), CKF(c.log_index_interval_bytes, 4096),
              CKF(c.log_flush_interval_messages, INT64_MAX),
              CKF(c.log_flush_interval_ms, INT64_MAX),
              CKF(c.log_flush_scheduler_interval_ms, INT64_MAX),
              CKF(c.log_flush_offset_checkpoint_interval_ms, 60000),
              CKF(c.log_flush_start_offset_checkpoint_interval_ms, 60000),
              CKF(c.log_cleaner_enable, 1), CKF(c.log_cleanup, KB_CLEANUP_DELETE),
              CKF(c.log_message_timestamp_type, KB_TS_CREATE_TIME),
              CKF(c.log_message_format_magic, 2), CKF(c.compression_type, KB_COMP_PRODUCER),
              CKF(c.auto_create_topics_enable, 1), CKF(c.delete_topic_enable, 1),
              CKF(c.offsets_topic_replication_factor, 3), CKF(c.offsets_topic_num_partitions, 50),
              CKF(c.offsets_retention_minutes, 10080), CKF(c.offsets_commit_timeout_ms, 5000),
              CKF(c.transaction_state_log_replication_factor, 3),
              CKF(c.transaction_state_log_min_isr, 2),
              CKF(c.transaction_state_log_num_partitions, 50),
              CKF(c.group_initial_rebalance_delay_ms, 3000),
              CKF(c.group_min_session_timeout_ms, 6000),
              CKF(c.group_max_session_timeout_ms, 1800000),
              CKF(c.unclean_leader_election_enable, 0), CKF(c.auto_leader_rebalance_enable, 1),
              CKF(c.leader_imbalance_check_interval_seconds, 300),
              CKF(c.leader_imbalance_per_broker_percentage, 10),
              CKF(c.controlled_shutdown_enable, 1), CKF(c.controlled_shutdown_max_retries, 3),
              CKF(c.controlled_shutdown_retry_backoff_ms, 5000),
              CKF(c.request_timeout_ms, 30000), CKF(c.connections_max_idle_ms, 600000),
              CKF(c.queued_max_requests, 500), CKF(c.max_connections_per_ip, INT32_MAX),
              CKF(c.fetch_max_bytes, 57671680), CKF(c.inter_broker_proto, KB_SEC_PLAINTEXT));
    ck_assert(c.log_cleaner_min_cleanable_ratio == 0.5);
    ck_assert_str_eq(c.zk_connect, "zk1:2181");
    ck_assert_str_eq(c.zk_hosts, "zk1:2181");
    ck_assert_ptr_null(c.zk_chroot);
    ck_assert_ptr_null(c.broker_rack);
    ck_assert_uint_eq(c.n_log_dirs, 1);
    ck_assert_str_eq(c.log_dirs[0], "/tmp/kafka-logs");
    ck_assert_str_eq(c.log_message_format_version, "2.8-IV1");
    ck_assert_str_eq(c.inter_broker_protocol_version, "2.8-IV1");
    ck_assert_str_eq(c.inter_broker_protocol, "2.8-IV1");
    /* listeners default "PLAINTEXT://:9092": all interfaces, advertised with the host name */
    ck_assert_uint_eq(c.n_listeners, 1);
    ck_assert_str_eq(c.listeners[0].name, "PLAINTEXT");
    ck_assert_str_eq(c.listeners[0].host, "");
    ck_assert_int_eq(c.listeners[0].port, 9092);
    char host[256] = "";
    ck_assert_int_eq(gethostname(host, sizeof host), 0);
    ck_assert_uint_eq(c.n_advertised, 1);
    ck_assert_str_eq(c.advertised[0].host, host);
    ck_assert_int_eq(c.advertised[0].port, 9092);
    ck_assert_str_eq(c.inter_broker_listener, "PLAINTEXT");
    ck_assert_uint_eq(c.n_proto_map, 4);
    ck_assert_str_eq(c.proto_map[2].name, "SASL_PLAINTEXT");
    ck_assert_int_eq(c.proto_map[2].proto, KB_SEC_SASL_PLAINTEXT);
    ck_assert_uint_eq(c.n_props, 1);
    ck_assert_str_eq(kb_config_original(&c, "zookeeper.connect"), "zk1:2181");
    ck_assert_ptr_null(kb_config_original(&c, "broker.id"));
    kb_config_free(&c);
    ck_assert_ptr_null(c.zk_connect);
    kb_config_free(&c); /* idempotent */
    kb_config_free(NULL);
}
END_TEST

/* ---- 2. every key ---- */

static const char *all_keys =
    "zookeeper.connect = a:1,b:2/kafka\n"
    "zookeeper.session.timeout.ms=7000\n"
    "zookeeper.connection.timeout.ms=9000\n"
    "zookeeper.sync.time.ms=300\n"
    "zookeeper.set.acl=TRUE\n"
    "zookeeper.max.in.flight.requests=4\n"
    "broker.id=7\n"
    "broker.id.generation.enable=false\n"
    "reserved.broker.max.id=2000\n"
    "broker.rack=  rack-a  \n"
    "listeners=PLAINTEXT://127.0.0.1:19092,internal://:19093\n"
    "advertised.listeners=PLAINTEXT://h1:29092,INTERNAL://h2:29093\n"
    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:ssl\n"
    "inter.broker.listener.name=internal\n"
    "log.dirs=/d1, /d2 ,/d3\n"
    "log.dir=/ignored\n"
    "num.network.threads=5\n"
    "num.io.threads=9\n"
    "num.recovery.threads.per.data.dir=2\n"
    "num.replica.fetchers=3\n"
    "background.threads=11\n"
    "socket.send.buffer.bytes=-1\n"
    "socket.receive.buffer.bytes=65536\n"
    "socket.request.max.bytes=2000000\n"
    "num.partitions=6\n"
    "default.replication.factor=3\n"
    "min.insync.replicas=2\n"
    "message.max.bytes=2000000\n"
    "replica.fetch.max.bytes=3000000\n"
    "replica.fetch.wait.max.ms=400\n"
    "replica.fetch.min.bytes=10\n"
    "replica.lag.time.max.ms=20000\n"
    "replica.socket.timeout.ms=25000\n"
    "replica.high.watermark.checkpoint.interval.ms=6000\n"
    "log.segment.bytes=14\n"
    "log.roll.hours=2\n"
    "log.retention.hours=5\n"
    "log.retention.bytes=123456789012\n"
    "log.retention.check.interval.ms=1000\n"
    "log.segment.delete.delay.ms=0\n"
    "log.index.size.max.bytes=4\n"
    "log.index.interval.bytes=0\n"
    "log.flush.interval.messages=10000\n"
    "log.flush.interval.ms=1000\n"
    "log.flush.offset.checkpoint.interval.ms=1\n"
    "log.flush.start.offset.checkpoint.interval.ms=2\n"
    "log.cleaner.enable=false\n"
    "log.cleanup.policy=compact, delete\n"
    "log.message.timestamp.type=LogAppendTime\n"
    "log.message.format.version=2.1\n"
    "inter.broker.protocol.version=2.7\n"
    "auto.create.topics.enable=false\n"
    "delete.topic.enable=false\n"
    "offsets.topic.replication.factor=2\n"
    "offsets.topic.num.partitions=10\n"
    "offsets.retention.minutes=60\n"
    "offsets.commit.timeout.ms=2500\n"
    "transaction.state.log.replication.factor=2\n"
    "transaction.state.log.min.isr=1\n"
    "transaction.state.log.num.partitions=8\n"
    "group.initial.rebalance.delay.ms=0\n"
    "group.min.session.timeout.ms=1000\n"
    "group.max.session.timeout.ms=60000\n"
    "unclean.leader.election.enable=true\n"
    "auto.leader.rebalance.enable=false\n"
    "leader.imbalance.check.interval.seconds=30\n"
    "leader.imbalance.per.broker.percentage=20\n"
    "controlled.shutdown.enable=false\n"
    "controlled.shutdown.max.retries=5\n"
    "controlled.shutdown.retry.backoff.ms=100\n"
    "request.timeout.ms=15000\n"
    "connections.max.idle.ms=-1\n"
    "queued.max.requests=100\n"
    "compression.type=GZIP\n"
    "log.cleaner.min.cleanable.ratio=0.25\n"
    "log.preallocate=true\n";

START_TEST(every_key)
{
    kb_config c;
    load_ok(&c, all_keys);
    CK_FIELDS(CKF(c.zk_session_timeout_ms, 7000), CKF(c.zk_connection_timeout_ms, 9000),
              CKF(c.zk_sync_time_ms, 300), CKF(c.zk_set_acl, 1),
              CKF(c.zk_max_in_flight_requests, 4), CKF(c.broker_id, 7),
              CKF(c.broker_id_generation_enable, 0), CKF(c.reserved_broker_max_id, 2000),
              CKF(c.num_network_threads, 5), CKF(c.num_io_threads, 9),
              CKF(c.num_recovery_threads_per_data_dir, 2), CKF(c.num_replica_fetchers, 3),
              CKF(c.background_threads, 11), CKF(c.socket_send_buffer_bytes, -1),
              CKF(c.socket_receive_buffer_bytes, 65536),
              CKF(c.socket_request_max_bytes, 2000000), CKF(c.num_partitions, 6),
              CKF(c.default_replication_factor, 3), CKF(c.min_insync_replicas, 2),
              CKF(c.message_max_bytes, 2000000), CKF(c.replica_fetch_max_bytes, 3000000),
              CKF(c.replica_fetch_wait_max_ms, 400), CKF(c.replica_fetch_min_bytes, 10),
              CKF(c.replica_lag_time_max_ms, 20000), CKF(c.replica_socket_timeout_ms, 25000),
              CKF(c.replica_high_watermark_checkpoint_interval_ms, 6000),
              CKF(c.log_segment_bytes, 14), CKF(c.log_roll_ms, 7200000),
              CKF(c.log_retention_ms, 18000000), CKF(c.log_retention_bytes, 123456789012LL),
              CKF(c.log_retention_check_interval_ms, 1000),
              CKF(c.log_segment_delete_delay_ms, 0), CKF(c.log_index_size_max_bytes, 4),
              CKF(c.log_index_interval_bytes, 0), CKF(c.log_flush_interval_messages, 10000),
              CKF(c.log_flush_interval_ms, 1000),
              CKF(c.log_flush_offset_checkpoint_interval_ms, 1),
              CKF(c.log_flush_start_offset_checkpoint_interval_ms, 2),
              CKF(c.log_cleaner_enable, 0),
              CKF(c.log_cleanup, KB_CLEANUP_COMPACT | KB_CLEANUP_DELETE),
              CKF(c.log_message_timestamp_type, KB_TS_LOG_APPEND_TIME),
              CKF(c.log_message_format_magic, 2), CKF(c.auto_create_topics_enable, 0),
              CKF(c.delete_topic_enable, 0), CKF(c.offsets_topic_replication_factor, 2),
              CKF(c.offsets_topic_num_partitions, 10), CKF(c.offsets_retention_minutes, 60),
              CKF(c.offsets_commit_timeout_ms, 2500),
              CKF(c.transaction_state_log_replication_factor, 2),
              CKF(c.transaction_state_log_min_isr, 1),
              CKF(c.transaction_state_log_num_partitions, 8),
              CKF(c.group_initial_rebalance_delay_ms, 0),
              CKF(c.group_min_session_timeout_ms, 1000),
              CKF(c.group_max_session_timeout_ms, 60000),
              CKF(c.unclean_leader_election_enable, 1), CKF(c.auto_leader_rebalance_enable, 0),
              CKF(c.leader_imbalance_check_interval_seconds, 30),
              CKF(c.leader_imbalance_per_broker_percentage, 20),
              CKF(c.controlled_shutdown_enable, 0), CKF(c.controlled_shutdown_max_retries, 5),
              CKF(c.controlled_shutdown_retry_backoff_ms, 100), CKF(c.request_timeout_ms, 15000),
              CKF(c.connections_max_idle_ms, -1), CKF(c.queued_max_requests, 100),
              CKF(c.compression_type, KB_COMP_GZIP), CKF(c.log_preallocate, 1),
              CKF(c.inter_broker_proto, KB_SEC_SSL));
    ck_assert(c.log_cleaner_min_cleanable_ratio == 0.25);
    ck_assert_str_eq(c.zk_connect, "a:1,b:2/kafka");
    ck_assert_str_eq(c.zk_hosts, "a:1,b:2");
    ck_assert_str_eq(c.zk_chroot, "/kafka");
    ck_assert_str_eq(c.broker_rack, "rack-a");
    ck_assert_uint_eq(c.n_log_dirs, 3);
    ck_assert_str_eq(c.log_dirs[0], "/d1");
    ck_assert_str_eq(c.log_dirs[1], "/d2");
    ck_assert_str_eq(c.log_dirs[2], "/d3");
    ck_assert_str_eq(c.log_message_format_version, "2.1");
    ck_assert_str_eq(c.log_message_format, "2.1-IV2");
    ck_assert_str_eq(c.inter_broker_protocol, "2.7-IV2");
    ck_assert_uint_eq(c.n_listeners, 2);
    ck_assert_str_eq(c.listeners[0].name, "PLAINTEXT");
    ck_assert_str_eq(c.listeners[0].host, "127.0.0.1");
    ck_assert_int_eq(c.listeners[0].port, 19092);
    ck_assert_int_eq(c.listeners[0].proto, KB_SEC_PLAINTEXT);
    ck_assert_str_eq(c.listeners[1].name, "INTERNAL");
    ck_assert_str_eq(c.listeners[1].host, "");
    ck_assert_int_eq(c.listeners[1].port, 19093);
    ck_assert_int_eq(c.listeners[1].proto, KB_SEC_SSL);
    ck_assert_uint_eq(c.n_advertised, 2);
    const kb_endpoint *ib = kb_config_advertised(&c, "INTERNAL");
    ck_assert_ptr_nonnull(ib);
    ck_assert_str_eq(ib->host, "h2");
    ck_assert_int_eq(ib->port, 29093);
    ck_assert_ptr_null(kb_config_advertised(&c, "internal"));
    ck_assert_str_eq(c.inter_broker_listener, "INTERNAL");
    ck_assert_str_eq(c.raw.log_dir, "/ignored");
    kb_config_free(&c);
}
END_TEST

/* ---- 3. precedence ---- */

START_TEST(roll_precedence)
{
    kb_config c;
    load_ok(&c, ZK "log.roll.hours=1\n");
    ck_assert_int_eq(c.log_roll_ms, 3600000);
    kb_config_free(&c);
    load_ok(&c, ZK "log.roll.ms=1234\nlog.roll.hours=1\n");
    ck_assert_int_eq(c.log_roll_ms, 1234);
    kb_config_free(&c);
    load_ok(&c, ZK "log.roll.hours=2\nlog.roll.ms=99\n"); /* order does not matter */
    ck_assert_int_eq(c.log_roll_ms, 99);
    kb_config_free(&c);
    load_ok(&c, ZK "log.roll.jitter.hours=1\n");
    ck_assert_int_eq(c.log_roll_jitter_ms, 3600000);
    kb_config_free(&c);
    load_ok(&c, ZK "log.roll.jitter.hours=1\nlog.roll.jitter.ms=5\n");
    ck_assert_int_eq(c.log_roll_jitter_ms, 5);
    kb_config_free(&c);
    /* flush interval: ms, else the scheduler interval */
    load_ok(&c, ZK "log.flush.scheduler.interval.ms=777\n");
    ck_assert_int_eq(c.log_flush_interval_ms, 777);
    kb_config_free(&c);
    load_ok(&c, ZK "log.flush.scheduler.interval.ms=777\nlog.flush.interval.ms=5\n");
    ck_assert_int_eq(c.log_flush_interval_ms, 5);
    kb_config_free(&c);
    /* connection timeout: given, else the session timeout */
    load_ok(&c, ZK "zookeeper.session.timeout.ms=6000\n");
    ck_assert_int_eq(c.zk_connection_timeout_ms, 6000);
    kb_config_free(&c);
}
END_TEST

START_TEST(retention_precedence)
{
    kb_config c;
    load_ok(&c, ZK "log.retention.hours=1\n");
    ck_assert_int_eq(c.log_retention_ms, 3600000);
    kb_config_free(&c);
    load_ok(&c, ZK "log.retention.hours=1\nlog.retention.minutes=2\n");
    ck_assert_int_eq(c.log_retention_ms, 120000);
    kb_config_free(&c);
    load_ok(&c, ZK "log.retention.ms=5000\nlog.retention.hours=1\nlog.retention.minutes=2\n");
    ck_assert_int_eq(c.log_retention_ms, 5000);
    kb_config_free(&c);
    /* any negative effective value means unlimited */
    load_ok(&c, ZK "log.retention.hours=-5\n");
    ck_assert_int_eq(c.log_retention_ms, -1);
    kb_config_free(&c);
    load_ok(&c, ZK "log.retention.ms=-1\nlog.retention.hours=0\n");
    ck_assert_int_eq(c.log_retention_ms, -1);
    kb_config_free(&c);
    load_fails(ZK "log.retention.minutes=0\n",
               "invalid value '0' for log.retention.minutes: log.retention.ms must be unlimited "
               "(-1) or, greater than or equal to 1 (t.properties:2)");
    load_fails(ZK "log.retention.hours=0\n",
               "invalid value '0' for log.retention.hours: log.retention.ms must be unlimited "
               "(-1) or, greater than or equal to 1 (t.properties:2)");
}
END_TEST

START_TEST(log_dirs_precedence)
{
    kb_config c;
    load_ok(&c, ZK "log.dir=/only\n");
    ck_assert_uint_eq(c.n_log_dirs, 1);
    ck_assert_str_eq(c.log_dirs[0], "/only");
    kb_config_free(&c);
    load_ok(&c, ZK "log.dirs=/a,,/b,\nlog.dir=/x\n"); /* empty items dropped */
    ck_assert_uint_eq(c.n_log_dirs, 2);
    ck_assert_str_eq(c.log_dirs[0], "/a");
    ck_assert_str_eq(c.log_dirs[1], "/b");
    kb_config_free(&c);
    load_fails(ZK "log.dirs= , \n", "invalid value ',' for log.dirs: At least one log directory "
               "must be defined via log.dirs or log.dir. (t.properties:2)");
    load_fails(ZK "log.dir=\n", "invalid value '' for log.dir: At least one log directory must "
               "be defined via log.dirs or log.dir. (t.properties:2)");
}
END_TEST

/* ---- 4. listeners ---- */

START_TEST(listeners_parse)
{
    kb_config c;
    char host[256] = "";
    ck_assert_int_eq(gethostname(host, sizeof host), 0);
    /* IPv6, case of names, 0.0.0.0 bind with an explicit advertised host */
    load_ok(&c, ZK "listeners=plaintext://[::1]:9092, SSL://0.0.0.0:9093\n"
                "advertised.listeners=PLAINTEXT://[fe80::1]:9092,SSL://pub.example:443\n");
    ck_assert_uint_eq(c.n_listeners, 2);
    ck_assert_str_eq(c.listeners[0].name, "PLAINTEXT");
    ck_assert_str_eq(c.listeners[0].host, "::1");
    ck_assert_str_eq(c.listeners[1].host, "0.0.0.0");
    ck_assert_int_eq(c.listeners[1].proto, KB_SEC_SSL);
    ck_assert_str_eq(c.advertised[0].host, "fe80::1");
    ck_assert_str_eq(c.advertised[1].host, "pub.example");
    ck_assert_int_eq(c.advertised[1].port, 443);
    kb_config_free(&c);
    /* advertised defaults to listeners, empty host -> host name; port 0 = ephemeral */
    load_ok(&c, ZK "listeners=PLAINTEXT://:0\n");
    ck_assert_int_eq(c.listeners[0].port, 0);
    ck_assert_str_eq(c.listeners[0].host, "");
    ck_assert_str_eq(c.advertised[0].host, host);
    kb_config_free(&c);
    /* advertised.listeners may repeat a port, and names only a subset */
    load_ok(&c, ZK "listeners=A://:1,B://:2,PLAINTEXT://:3\n"
                "listener.security.protocol.map=A:PLAINTEXT,B:SASL_SSL,PLAINTEXT:PLAINTEXT\n"
                "advertised.listeners=PLAINTEXT://x:5,A://x:5\n");
    ck_assert_uint_eq(c.n_advertised, 2);
    ck_assert_int_eq(c.listeners[1].proto, KB_SEC_SASL_SSL);
    kb_config_free(&c);
    /* deprecated host.name/port and advertised.host.name/advertised.port */
    load_ok(&c, ZK "host.name=10.0.0.1\nport=9999\nadvertised.host.name=pub\n");
    ck_assert_str_eq(c.listeners[0].host, "10.0.0.1");
    ck_assert_int_eq(c.listeners[0].port, 9999);
    ck_assert_str_eq(c.advertised[0].host, "pub");
    ck_assert_int_eq(c.advertised[0].port, 9999);
    kb_config_free(&c);
    load_ok(&c, ZK "advertised.port=19092\n");
    ck_assert_int_eq(c.listeners[0].port, 9092);
    ck_assert_str_eq(c.advertised[0].host, host);
    ck_assert_int_eq(c.advertised[0].port, 19092);
    kb_config_free(&c);
    /* inter-broker listener from security.inter.broker.protocol */
    load_ok(&c, ZK "listeners=PLAINTEXT://:1,SSL://:2\nsecurity.inter.broker.protocol=ssl\n");
    ck_assert_str_eq(c.inter_broker_listener, "SSL");
    ck_assert_int_eq(c.inter_broker_proto, KB_SEC_SSL);
    kb_config_free(&c);
}
END_TEST

START_TEST(listeners_errors)
{
    load_fails(ZK "listeners=PLAINTEXT://:99999\n",
               "invalid value 'PLAINTEXT://:99999' for listeners: port 99999 of "
               "PLAINTEXT://:99999 is not a port (0..65535) (t.properties:2)");
    load_fails(ZK "listeners=PLAINTEXT://:-1\n",
               "invalid value 'PLAINTEXT://:-1' for listeners: port -1 of PLAINTEXT://:-1 is not "
               "a port (0..65535) (t.properties:2)");
    load_fails(ZK "listeners=PLAINTEXT://host:http\n",
               "invalid value 'PLAINTEXT://host:http' for listeners: Unable to parse "
               "PLAINTEXT://host:http to a broker endpoint (t.properties:2)");
    load_fails(ZK "listeners=PLAINTEXT:9092\n",
               "invalid value 'PLAINTEXT:9092' for listeners: Unable to parse PLAINTEXT:9092 to a "
               "broker endpoint (t.properties:2)");
    load_fails(ZK "listeners=PLAINTEXT://bad host:1\n",
               "invalid value 'PLAINTEXT://bad host:1' for listeners: Unable to parse "
               "PLAINTEXT://bad host:1 to a broker endpoint (t.properties:2)");
    load_fails(ZK "listeners=FOO://:9092\n",
               "invalid value 'FOO://:9092' for listeners: No security protocol defined for "
               "listener FOO (t.properties:2)");
    load_fails(ZK "listeners=PLAINTEXT://:1,plaintext://:2\n",
               "invalid value 'PLAINTEXT://:1,plaintext://:2' for listeners: Each listener must "
               "have a different name (PLAINTEXT twice) (t.properties:2)");
    load_fails(ZK "listeners=PLAINTEXT://a:1,SSL://b:1\n",
               "invalid value 'PLAINTEXT://a:1,SSL://b:1' for listeners: Each listener must have "
               "a different port (1 twice) (t.properties:2)");
    load_fails(ZK "listeners= , \n", "invalid value ',' for listeners: no listener defined "
               "(t.properties:2)");
    load_fails(ZK "advertised.listeners=PLAINTEXT://h:1,PLAINTEXT://g:2\n",
               "invalid value 'PLAINTEXT://h:1,PLAINTEXT://g:2' for advertised.listeners: Each "
               "listener must have a different name (PLAINTEXT twice) (t.properties:2)");
    load_fails(ZK "advertised.listeners=SSL://h:1\n",
               "invalid value 'SSL://h:1' for advertised.listeners: advertised.listeners listener "
               "names must be equal to or a subset of the ones defined in listeners. Found SSL. "
               "The valid options based on the current configuration are PLAINTEXT "
               "(t.properties:2)");
    load_fails(ZK "listeners=PLAINTEXT://0.0.0.0:9092\n",
               "invalid value 'PLAINTEXT://0.0.0.0:9092' for listeners: advertised.listeners "
               "cannot use the nonroutable meta-address 0.0.0.0. Use a routable IP address. "
               "(t.properties:2)");
    load_fails(ZK "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,X:TLS\n",
               "invalid value 'PLAINTEXT:PLAINTEXT,X:TLS' for listener.security.protocol.map: "
               "Invalid security protocol `TLS` defined in listener.security.protocol.map "
               "(t.properties:2)");
    load_fails(ZK "listener.security.protocol.map=PLAINTEXT\n",
               "invalid value 'PLAINTEXT' for listener.security.protocol.map: 'PLAINTEXT' is not "
               "NAME:PROTOCOL (t.properties:2)");
    load_fails(ZK "security.inter.broker.protocol=TLS\n",
               "invalid value 'TLS' for security.inter.broker.protocol: not a security protocol "
               "(PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL) (t.properties:2)");
    load_fails(ZK "security.inter.broker.protocol=SSL\n",
               "invalid value 'SSL' for security.inter.broker.protocol: inter.broker.listener.name "
               "must be a listener name defined in advertised.listeners. The valid options based "
               "on currently configured listeners are PLAINTEXT (t.properties:2)");
    load_fails(ZK "inter.broker.listener.name=PLAINTEXT\nsecurity.inter.broker.protocol=PLAINTEXT\n",
               "invalid value 'PLAINTEXT' for inter.broker.listener.name: Only one of "
               "inter.broker.listener.name and security.inter.broker.protocol should be set. "
               "(t.properties:2)");
    load_fails(ZK "inter.broker.listener.name=REPL\n",
               "invalid value 'REPL' for inter.broker.listener.name: Listener with name REPL "
               "defined in inter.broker.listener.name not found in "
               "listener.security.protocol.map. (t.properties:2)");
    load_fails(ZK "listeners=PLAINTEXT://:1,SSL://:2\ncontrol.plane.listener.name=plaintext\n",
               "invalid value 'plaintext' for control.plane.listener.name: should have a "
               "different value from the inter broker listener name (t.properties:3)");
    load_fails(ZK "port=70000\n", "invalid value 'PLAINTEXT://:70000' for port: port 70000 of "
               "PLAINTEXT://:70000 is not a port (0..65535) (t.properties:2)");
}
END_TEST

/* ---- 5. zookeeper.connect ---- */

START_TEST(zk_chroot)
{
    kb_config c;
    load_ok(&c, "zookeeper.connect=h1:2181,h2:2182,[::1]:2183/kafka/prod\n");
    ck_assert_str_eq(c.zk_hosts, "h1:2181,h2:2182,[::1]:2183");
    ck_assert_str_eq(c.zk_chroot, "/kafka/prod");
    kb_config_free(&c);
    load_ok(&c, "zookeeper.connect=h1/\n"); /* "/" alone: no chroot; port optional */
    ck_assert_str_eq(c.zk_hosts, "h1");
    ck_assert_ptr_null(c.zk_chroot);
    kb_config_free(&c);
    load_ok(&c, "zookeeper.connect=h1:2181,,h2:2181\n"); /* empty items skipped */
    ck_assert_str_eq(c.zk_hosts, "h1:2181,,h2:2181");
    kb_config_free(&c);
    load_fails("zookeeper.connect=h1:2181/kafka/\n",
               "invalid value 'h1:2181/kafka/' for zookeeper.connect: chroot must not end with / "
               "(t.properties:1)");
    load_fails("zookeeper.connect=h1:2181/a//b\n",
               "invalid value 'h1:2181/a//b' for zookeeper.connect: chroot has an empty node name "
               "(t.properties:1)");
    load_fails("zookeeper.connect=h1:2181/a/../b\n",
               "invalid value 'h1:2181/a/../b' for zookeeper.connect: chroot has a relative path "
               "component (t.properties:1)");
    load_fails("zookeeper.connect=h1:x\n",
               "invalid value 'h1:x' for zookeeper.connect: h1:x: bad port (t.properties:1)");
    load_fails("zookeeper.connect=:2181\n",
               "invalid value ':2181' for zookeeper.connect: :2181: empty host (t.properties:1)");
    load_fails("zookeeper.connect= , /kafka\n",
               "invalid value ', /kafka' for zookeeper.connect: no server address "
               "(t.properties:1)");
    load_fails("broker.id=1\n", "Missing required configuration `zookeeper.connect` which has no "
               "default value (t.properties)");
}
END_TEST

/* ---- 6. invalid values ---- */

START_TEST(invalid_values)
{
    load_fails(ZK "broker.id=abc\n",
               "invalid value 'abc' for broker.id: not an integer (t.properties:2)");
    load_fails(ZK "num.partitions=0\n",
               "invalid value '0' for num.partitions: must be at least 1 (t.properties:2)");
    load_fails(ZK "log.segment.bytes=13\n",
               "invalid value '13' for log.segment.bytes: must be at least 14 (t.properties:2)");
    load_fails(ZK "log.roll.ms=0\n",
               "invalid value '0' for log.roll.ms: must be at least 1 (t.properties:2)");
    load_fails(ZK "log.roll.hours=0\n",
               "invalid value '0' for log.roll.hours: must be at least 1 (t.properties:2)");
    load_fails(ZK "fetch.max.bytes=1023\n",
               "invalid value '1023' for fetch.max.bytes: must be at least 1024 (t.properties:2)");
    load_fails(ZK "message.max.bytes=3000000000\n", "invalid value '3000000000' for "
               "message.max.bytes: out of range for a 32-bit integer (t.properties:2)");
    load_fails(ZK "offsets.topic.replication.factor=40000\n", "invalid value '40000' for "
               "offsets.topic.replication.factor: out of range for a 16-bit integer "
               "(t.properties:2)");
    load_fails(ZK "offsets.topic.replication.factor=0\n", "invalid value '0' for "
               "offsets.topic.replication.factor: must be at least 1 (t.properties:2)");
    load_fails(ZK "auto.create.topics.enable=yes\n", "invalid value 'yes' for "
               "auto.create.topics.enable: not a boolean (true or false) (t.properties:2)");
    load_fails(ZK "log.cleaner.min.cleanable.ratio=half\n", "invalid value 'half' for "
               "log.cleaner.min.cleanable.ratio: not a number (t.properties:2)");
    load_fails(ZK "log.message.timestamp.type=createtime\n", "invalid value 'createtime' for "
               "log.message.timestamp.type: must be one of: CreateTime, LogAppendTime "
               "(t.properties:2)");
    load_fails(ZK "log.cleanup.policy=delete,remove\n", "invalid value 'delete,remove' for "
               "log.cleanup.policy: must be a list of: compact, delete (t.properties:2)");
    load_fails(ZK "compression.type=brotli\n", "invalid value 'brotli' for compression.type: "
               "must be one of: uncompressed, zstd, lz4, snappy, gzip, producer "
               "(t.properties:2)");
    load_fails(ZK "inter.broker.protocol.version=3.9\n", "invalid value '3.9' for "
               "inter.broker.protocol.version: not a valid version (t.properties:2)");
    load_fails(ZK "log.message.format.version=0.11.0\ninter.broker.protocol.version=0.10.2\n",
               "invalid value '0.11.0' for log.message.format.version: log.message.format.version "
               "0.11.0 can only be used when inter.broker.protocol.version is set to version "
               "0.11.0 or higher (t.properties:2)");
    load_fails(ZK "broker.id=1001\n", "invalid value '1001' for broker.id: must be greater than "
               "or equal to -1 and not greater than reserved.broker.max.id (1000) "
               "(t.properties:2)");
    load_fails(ZK "broker.id.generation.enable=false\n", "invalid value '-1' for broker.id: must "
               "be greater than or equal to 0 when broker.id.generation.enable is false "
               "(t.properties)");
    load_fails(ZK "replica.fetch.wait.max.ms=40000\n", "invalid value '30000' for "
               "replica.socket.timeout.ms: replica.socket.timeout.ms should always be at least "
               "replica.fetch.wait.max.ms (40000) to prevent unnecessary socket timeouts "
               "(t.properties)");
    load_fails(ZK "replica.fetch.wait.max.ms=600\nreplica.lag.time.max.ms=500\n",
               "invalid value '600' for replica.fetch.wait.max.ms: replica.fetch.wait.max.ms "
               "should always be less than or equal to replica.lag.time.max.ms (500) to prevent "
               "frequent changes in ISR (t.properties:2)");
    load_fails(ZK "offsets.commit.required.acks=4\n", "invalid value '4' for "
               "offsets.commit.required.acks: must be greater or equal -1 and less or equal to "
               "offsets.topic.replication.factor (t.properties:2)");
    load_fails(ZK "queued.max.request.bytes=1000\n", "invalid value '1000' for "
               "queued.max.request.bytes: must be larger or equal to socket.request.max.bytes "
               "(t.properties:2)");
    load_fails(ZK "process.roles=broker\n", "invalid value 'broker' for process.roles: KRaft "
               "mode is not supported: kafkad runs with ZooKeeper (leave it empty) "
               "(t.properties:2)");
    load_fails(ZK "log.cleaner.dedupe.buffer.size=1048576\n", "invalid value '1048576' for "
               "log.cleaner.dedupe.buffer.size: must be at least 1MB per cleaner thread "
               "(t.properties:2)");
    /* values are trimmed before they are checked */
    load_fails(ZK "num.io.threads = 0  \n",
               "invalid value '0' for num.io.threads: must be at least 1 (t.properties:2)");
    /* syntax errors of the properties file itself */
    load_fails(ZK "bad\\u12=1\n", "t.properties: line 2: malformed \\uxxxx encoding");
}
END_TEST

/* ---- 7. unknown keys ---- */

START_TEST(unknown_keys)
{
    kb_config c;
    ut_logcap l;
    ut_log_start(&l);
    load_ok(&c, ZK "no.such.key=1\nlistener.name.internal.ssl.keystore.location=/k\n"
                "ssl.keystore.location=/ks\nsasl.enabled.mechanisms=PLAIN\nanother.key = x \n");
    char *out = ut_log_stop(&l);
    ck_assert_ptr_nonnull(strstr(out, "WARN The configuration 'no.such.key' was supplied but "
                                      "isn't a known config. (kafka.server.KafkaConfig)\n"));
    ck_assert_ptr_nonnull(strstr(out, "The configuration 'another.key' was supplied but isn't a "
                                      "known config."));
    /* Kafka configs kafkad does not act on, and per-listener overrides: no warning */
    ck_assert_ptr_null(strstr(out, "ssl.keystore.location"));
    ck_assert_ptr_null(strstr(out, "sasl.enabled.mechanisms"));
    ck_assert_ptr_null(strstr(out, "listener.name"));
    free(out);
    /* everything is kept among the originals, trimmed */
    ck_assert_str_eq(kb_config_original(&c, "another.key"), "x");
    ck_assert_str_eq(kb_config_original(&c, "ssl.keystore.location"), "/ks");
    ck_assert_str_eq(kb_config_original(&c, "listener.name.internal.ssl.keystore.location"),
                     "/k");
    ck_assert_uint_eq(c.n_props, 6);
    kb_config_free(&c);
}
END_TEST

/* ---- 8. stock files ---- */

START_TEST(etc_files)
{
    char path[512], err[512];
    kb_config c;
    ut_logcap l;
    repo_path(path, sizeof path, "etc/server.properties");
    ut_log_start(&l);
    int rc = kb_config_load(&c, path, &err[0], sizeof err);
    char *out = ut_log_stop(&l);
    ck_assert_msg(rc == 0, "%s: %s", path, err);
    ck_assert_str_eq(out, ""); /* no unknown key */
    free(out);
    ck_assert_int_eq(c.broker_id, 0);
    ck_assert_str_eq(c.zk_hosts, "localhost:2181");
    ck_assert_str_eq(c.log_dirs[0], "/tmp/kafka-logs");
    ck_assert_int_eq(c.offsets_topic_replication_factor, 1);
    ck_assert_int_eq(c.transaction_state_log_min_isr, 1);
    ck_assert_int_eq(c.group_initial_rebalance_delay_ms, 0);
    ck_assert_int_eq(c.log_retention_ms, 168LL * 3600000);
    ck_assert_int_eq(c.zk_connection_timeout_ms, 18000);
    ck_assert_int_eq(c.listeners[0].port, 9092);
    ck_assert_str_eq(c.path, path);
    kb_config_free(&c);

    for (int n = 1; n <= 3; n++) {
        char rel[64], want[32];
        snprintf(rel, sizeof rel, "etc/hosts/%d/server.properties", n);
        repo_path(path, sizeof path, rel);
        ut_log_start(&l);
        rc = kb_config_load(&c, path, err, sizeof err);
        out = ut_log_stop(&l);
        ck_assert_msg(rc == 0, "%s: %s", path, err);
        ck_assert_str_eq(out, "");
        free(out);
        ck_assert_int_eq(c.broker_id, n);
        snprintf(want, sizeof want, "127.0.0.%d", n);
        ck_assert_uint_eq(c.n_listeners, 1);
        ck_assert_str_eq(c.listeners[0].host, want);
        ck_assert_int_eq(c.listeners[0].port, 9092);
        ck_assert_str_eq(c.advertised[0].host, want);
        ck_assert_str_eq(c.zk_hosts, "127.0.0.1:2181,127.0.0.2:2181,127.0.0.3:2181");
        ck_assert_ptr_null(c.zk_chroot);
        ck_assert_str_eq(c.log_dirs[0], "/var/lib/kafka/data");
        CK_FIELDS(CKF(c.default_replication_factor, 3), CKF(c.min_insync_replicas, 2),
                  CKF(c.offsets_topic_replication_factor, 3),
                  CKF(c.transaction_state_log_replication_factor, 3),
                  CKF(c.transaction_state_log_min_isr, 2));
        kb_config_free(&c);
    }
    ck_assert_int_eq(kb_config_load(&c, "/nonexistent/server.properties", err, sizeof err), -1);
    ck_assert_str_eq(err, "cannot read /nonexistent/server.properties: No such file or "
                          "directory");
}
END_TEST

/* ---- 9. the KafkaConfig dump ---- */

START_TEST(dump)
{
    kb_config c;
    load_ok(&c, ZK "log.dirs=/a,/b\nlog.cleanup.policy=compact,delete\nssl.key.password=s3cret\n"
                "log.cleaner.io.buffer.load.factor=2e7\n");
    char *d = kb_config_dump(&c);
    ck_assert_ptr_nonnull(d);
    ck_assert(strncmp(d, "KafkaConfig values: \n\t", 22) == 0);
    ck_assert_ptr_nonnull(strstr(d, "\tadvertised.listeners = null\n"));
    ck_assert_ptr_nonnull(strstr(d, "\tbroker.id = -1\n"));
    ck_assert_ptr_nonnull(strstr(d, "\tlog.dirs = /a,/b\n"));
    ck_assert_ptr_nonnull(strstr(d, "\tlog.cleanup.policy = [compact, delete]\n"));
    ck_assert_ptr_nonnull(strstr(d, "\tlog.roll.ms = null\n"));
    ck_assert_ptr_nonnull(strstr(d, "\tlog.roll.hours = 168\n"));
    ck_assert_ptr_nonnull(strstr(d, "\tlog.cleaner.min.cleanable.ratio = 0.5\n"));
    ck_assert_ptr_nonnull(strstr(d, "\tlog.cleaner.io.buffer.load.factor = 2.0E7\n"));
    ck_assert_ptr_nonnull(strstr(d, "\tlog.cleaner.io.max.bytes.per.second = "
                                    "1.7976931348623157E308\n"));
    ck_assert_ptr_nonnull(strstr(d, "\tssl.key.password = [hidden]\n"));
    ck_assert_ptr_nonnull(strstr(d, "\tssl.keystore.password = null\n"));
    ck_assert_ptr_nonnull(strstr(d, "\tssl.enabled.protocols = [TLSv1.2, TLSv1.3]\n"));
    ck_assert_ptr_nonnull(strstr(d, "\tzookeeper.connect = zk1:2181\n"));
    ck_assert_ptr_null(strstr(d, "s3cret"));
    /* sorted by key, one line each, newline-terminated */
    const char *prev = NULL;
    size_t lines = 0;
    for (char *p = strchr(d, '\n') + 1; *p; p = strchr(p, '\n') + 1) {
        ck_assert_int_eq(*p, '\t');
        char *eq = strstr(p, " = ");
        ck_assert_ptr_nonnull(eq);
        if (prev)
            ck_assert_int_lt(strncmp(prev, p + 1, (size_t)(eq - p - 1) + 1), 0);
        prev = p + 1;
        lines++;
    }
    ck_assert_uint_gt(lines, 200);
    ck_assert_int_eq(d[strlen(d) - 1], '\n');
    free(d);
    kb_config_free(&c);
}
END_TEST

/* ---- 10. broker DescribeConfigs ---- */

static const kb_cfg_entry *find_entry(const kb_cfg_entry *e, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].name, name) == 0)
            return &e[i];
    return NULL;
}

START_TEST(broker_describe)
{
    kb_config c;
    kz_arena a = KZ_ARENA_INIT;
    kb_cfg_entry *e;
    size_t n;
    ut_logcap l;
    ut_log_start(&l);
    load_ok(&c, ZK "log.retention.hours=24\nssl.keystore.password=pw\nmystery=1\n"
                "log.cleanup.policy=compact , delete\n");
    free(ut_log_stop(&l));
    ck_assert_int_eq(kb_config_describe(&c, &a, &e, &n), 0);
    const kb_cfg_entry *x = find_entry(e, n, "log.retention.hours");
    ck_assert_ptr_nonnull(x);
    ck_assert_str_eq(x->value, "24");
    ck_assert_int_eq(x->source, KB_CS_STATIC_BROKER);
    ck_assert(!x->is_default && !x->is_sensitive && x->read_only);
    ck_assert_int_eq(x->type, KB_CT_INT);
    ck_assert_uint_eq(x->n_synonyms, 2);
    ck_assert_str_eq(x->synonyms[0].name, "log.retention.hours");
    ck_assert_str_eq(x->synonyms[0].value, "24");
    ck_assert_int_eq(x->synonyms[0].source, KB_CS_STATIC_BROKER);
    ck_assert_str_eq(x->synonyms[1].value, "168");
    ck_assert_int_eq(x->synonyms[1].source, KB_CS_DEFAULT);
    /* log.retention.ms: null, its synonym run starts with itself, so none */
    x = find_entry(e, n, "log.retention.ms");
    ck_assert_ptr_null(x->value);
    ck_assert_uint_eq(x->n_synonyms, 0);
    ck_assert_int_eq(x->source, KB_CS_DEFAULT);
    ck_assert(x->is_default);
    x = find_entry(e, n, "log.cleanup.policy");
    ck_assert_str_eq(x->value, "compact,delete");
    ck_assert_int_eq(x->type, KB_CT_LIST);
    x = find_entry(e, n, "ssl.keystore.password");
    ck_assert(x->is_sensitive);
    ck_assert_ptr_null(x->value);
    ck_assert_ptr_null(x->synonyms[0].value);
    x = find_entry(e, n, "num.io.threads");
    ck_assert_str_eq(x->value, "8");
    ck_assert_uint_eq(x->n_synonyms, 1);
    ck_assert_int_eq(x->synonyms[0].source, KB_CS_DEFAULT);
    x = find_entry(e, n, "mystery");
    ck_assert_ptr_nonnull(x);
    ck_assert(x->is_sensitive);
    ck_assert_int_eq(x->type, KB_CT_UNKNOWN);
    ck_assert_int_eq(x->source, KB_CS_STATIC_BROKER);
    for (size_t i = 1; i + 1 < n; i++) /* known keys sorted, unknown last */
        if (strcmp(e[i].name, "mystery") != 0 && strcmp(e[i - 1].name, "mystery") != 0)
            ck_assert_int_lt(strcmp(e[i - 1].name, e[i].name), 0);
    char buf[64];
    ck_assert_str_eq(kb_config_value(&c, "log.retention.hours", buf, sizeof buf), "24");
    ck_assert_ptr_null(kb_config_value(&c, "log.retention.ms", buf, sizeof buf));
    ck_assert_ptr_null(kb_config_value(&c, "mystery", buf, sizeof buf));
    const char *syn[4];
    ck_assert_uint_eq(kb_config_broker_synonyms("log.retention.ms", syn), 3);
    ck_assert_str_eq(syn[2], "log.retention.hours");
    ck_assert_uint_eq(kb_config_broker_synonyms("num.io.threads", syn), 1);
    kz_arena_reset(&a);
    kb_config_free(&c);
}
END_TEST

/* ---- 11. topic configs ---- */

START_TEST(topic_table)
{
    ck_assert_uint_eq(kb_topic_cfg_count(), 26);
    for (size_t i = 1; i < kb_topic_cfg_count(); i++)
        ck_assert_int_lt(strcmp(kb_topic_cfg_at(i - 1)->name, kb_topic_cfg_at(i)->name), 0);
    ck_assert_ptr_null(kb_topic_cfg_at(kb_topic_cfg_count()));
    const kb_topic_cfg_def *d = kb_topic_cfg_find("retention.ms");
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d->synonym, "log.retention.ms");
    ck_assert_str_eq(d->def, "604800000");
    ck_assert_int_eq(d->type, KB_CT_LONG);
    d = kb_topic_cfg_find("max.message.bytes");
    ck_assert_str_eq(d->synonym, "message.max.bytes");
    ck_assert_str_eq(d->def, "1048588");
    d = kb_topic_cfg_find("leader.replication.throttled.replicas");
    ck_assert_ptr_null(d->synonym);
    ck_assert_int_eq(d->type, KB_CT_LIST);
    ck_assert_ptr_null(kb_topic_cfg_find("log.retention.ms"));
}
END_TEST

/* @name=@value validates with @want ("" = valid). */
static void ck_topic(const char *name, const char *value, const char *want)
{
    char err[512] = "";
    int rc = kb_topic_cfg_validate(name, value, err, sizeof err);
    if (!*want) {
        ck_assert_msg(rc == 0, "%s=%s: %s", name, value, err);
    } else {
        ck_assert_int_eq(rc, -1);
        ck_assert_str_eq(err, want);
    }
}

START_TEST(topic_validate)
{
    ck_topic("retention.ms", "-1", "");
    ck_topic("retention.ms", " 1000 ", "");
    ck_topic("retention.ms", "-2",
             "Invalid value -2 for configuration retention.ms: Value must be at least -1");
    ck_topic("retention.ms", "1d",
             "Invalid value 1d for configuration retention.ms: Not a number of type LONG");
    ck_topic("segment.bytes", "13",
             "Invalid value 13 for configuration segment.bytes: Value must be at least 14");
    ck_topic("segment.bytes", "3000000000", "Invalid value 3000000000 for configuration "
             "segment.bytes: Not a number of type INT");
    ck_topic("segment.ms", "0",
             "Invalid value 0 for configuration segment.ms: Value must be at least 1");
    ck_topic("min.insync.replicas", "0",
             "Invalid value 0 for configuration min.insync.replicas: Value must be at least 1");
    ck_topic("max.message.bytes", "-5",
             "Invalid value -5 for configuration max.message.bytes: Value must be at least 0");
    ck_topic("retention.bytes", "-100", "");
    ck_topic("cleanup.policy", "compact,delete", "");
    ck_topic("cleanup.policy", "", "");
    ck_topic("cleanup.policy", "compact, remove", "Invalid value remove for configuration "
             "cleanup.policy: String must be one of: compact, delete");
    ck_topic("cleanup.policy", "Compact", "Invalid value Compact for configuration "
             "cleanup.policy: String must be one of: compact, delete");
    ck_topic("unclean.leader.election.enable", "TRUE", "");
    ck_topic("unclean.leader.election.enable", "yes", "Invalid value yes for configuration "
             "unclean.leader.election.enable: Expected value to be either true or false");
    ck_topic("message.timestamp.type", "LogAppendTime", "");
    ck_topic("message.timestamp.type", "logappendtime", "Invalid value logappendtime for "
             "configuration message.timestamp.type: String must be one of: CreateTime, "
             "LogAppendTime");
    ck_topic("compression.type", "zstd", "");
    ck_topic("compression.type", "ZSTD", "Invalid value ZSTD for configuration compression.type: "
             "String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer");
    ck_topic("min.cleanable.dirty.ratio", "0.75", "");
    ck_topic("min.cleanable.dirty.ratio", "1.5", "Invalid value 1.5 for configuration "
             "min.cleanable.dirty.ratio: Value must be no more than 1");
    ck_topic("min.cleanable.dirty.ratio", "-0.5", "Invalid value -0.5 for configuration "
             "min.cleanable.dirty.ratio: Value must be at least 0");
    ck_topic("min.cleanable.dirty.ratio", "x", "Invalid value x for configuration "
             "min.cleanable.dirty.ratio: Not a number of type DOUBLE");
    ck_topic("message.format.version", "0.10.2", "");
    ck_topic("message.format.version", "2.8-IV1", "");
    ck_topic("message.format.version", "9.9", "Invalid value 9.9 for configuration "
             "message.format.version: Version `9.9` is not a valid version");
    ck_topic("leader.replication.throttled.replicas", "*", "");
    ck_topic("leader.replication.throttled.replicas", "0:1, 1:2", "");
    ck_topic("follower.replication.throttled.replicas", "0:1,x", "Invalid value [0:1, x] for "
             "configuration follower.replication.throttled.replicas: "
             "follower.replication.throttled.replicas must be the literal '*' or a list of "
             "replicas in the following format: [partitionId]:[brokerId],[partitionId]:"
             "[brokerId],...");
    ck_topic("no.such.config", "1", "Unknown topic config name: no.such.config");
    ck_topic("log.retention.ms", "1", "Unknown topic config name: log.retention.ms");

    char err[256];
    kb_cfg_pair ok[] = { { "retention.ms", "1" }, { "min.compaction.lag.ms", "5" },
                         { "max.compaction.lag.ms", "5" } };
    ck_assert_int_eq(kb_topic_cfg_validate_all(ok, 3, err, sizeof err), 0);
    kb_cfg_pair lag[] = { { "max.compaction.lag.ms", "10" }, { "min.compaction.lag.ms", "20" } };
    ck_assert_int_eq(kb_topic_cfg_validate_all(lag, 2, err, sizeof err), -1);
    ck_assert_str_eq(err, "conflict topic config setting min.compaction.lag.ms (20) > "
                          "max.compaction.lag.ms (10)");
    kb_cfg_pair names[] = { { "segment.ms", "x" }, { "bogus", "1" } }; /* names checked first */
    ck_assert_int_eq(kb_topic_cfg_validate_all(names, 2, err, sizeof err), -1);
    ck_assert_str_eq(err, "Unknown topic config name: bogus");
}
END_TEST

START_TEST(topic_resolve)
{
    kb_config c;
    kb_topic_cfg t;
    char err[256];
    load_ok(&c, ZK "log.roll.hours=1\nlog.retention.minutes=10\nmin.insync.replicas=2\n"
                "log.cleanup.policy=compact\ncompression.type=lz4\n"
                "log.message.format.version=0.10.2\nlog.message.timestamp.type=LogAppendTime\n");
    ck_assert_int_eq(kb_topic_cfg_resolve(&t, &c, NULL, 0, err, sizeof err), 0);
    CK_FIELDS(CKF(t.segment_ms, 3600000), CKF(t.retention_ms, 600000),
              CKF(t.min_insync_replicas, 2), CKF(t.cleanup, KB_CLEANUP_COMPACT),
              CKF(t.compression_type, KB_COMP_LZ4), CKF(t.message_format_magic, 1),
              CKF(t.message_timestamp_type, KB_TS_LOG_APPEND_TIME),
              CKF(t.segment_bytes, 1073741824), CKF(t.max_message_bytes, 1048588),
              CKF(t.flush_ms, INT64_MAX), CKF(t.retention_bytes, -1),
              CKF(t.max_compaction_lag_ms, INT64_MAX), CKF(t.message_downconversion_enable, 1));
    ck_assert_str_eq(t.message_format_version, "0.10.2-IV0");
    ck_assert(t.min_cleanable_dirty_ratio == 0.5);
    kb_cfg_pair ov[] = { { "segment.ms", "100" },           { "retention.ms", "-1" },
                         { "cleanup.policy", "delete,compact" }, { "compression.type", "gzip" },
                         { "message.format.version", "2.8" }, { "min.insync.replicas", "3" },
                         { "min.cleanable.dirty.ratio", "0.1" }, { "preallocate", "true" },
                         { "unknown.key", "x" },            { "retention.ms", "5000" },
                         { "message.timestamp.type", "CreateTime" } };
    ck_assert_int_eq(kb_topic_cfg_resolve(&t, &c, ov, sizeof ov / sizeof ov[0], err, sizeof err),
                     0);
    CK_FIELDS(CKF(t.segment_ms, 100), CKF(t.retention_ms, 5000), CKF(t.min_insync_replicas, 3),
              CKF(t.cleanup, KB_CLEANUP_COMPACT | KB_CLEANUP_DELETE),
              CKF(t.compression_type, KB_COMP_GZIP), CKF(t.message_format_magic, 2),
              CKF(t.preallocate, 1), CKF(t.message_timestamp_type, KB_TS_CREATE_TIME));
    ck_assert_str_eq(t.message_format_version, "2.8-IV1");
    ck_assert(t.min_cleanable_dirty_ratio == 0.1);
    kb_cfg_pair badov[] = { { "segment.bytes", "1" } };
    ck_assert_int_eq(kb_topic_cfg_resolve(&t, &c, badov, 1, err, sizeof err), -1);
    ck_assert_str_eq(err, "Invalid value 1 for configuration segment.bytes: Value must be at "
                          "least 14");
    kb_config_free(&c);
}
END_TEST

START_TEST(topic_describe)
{
    kb_config c;
    kz_arena a = KZ_ARENA_INIT;
    kb_cfg_entry *e;
    size_t n;
    /* the stock file's style: log.retention.hours and log.segment.bytes set */
    load_ok(&c, ZK "log.retention.hours=168\nlog.segment.bytes=1073741824\nlog.roll.ms=5000\n");
    kb_cfg_pair ov[] = { { "cleanup.policy", " compact , delete " }, { "retention.bytes", "+10" },
                         { "min.cleanable.dirty.ratio", ".25" } };
    ck_assert_int_eq(kb_topic_cfg_describe(&c, ov, 3, &a, &e, &n), 0);
    ck_assert_uint_eq(n, kb_topic_cfg_count());
    /* retention.ms: effective value, synonyms={} (the run must start with log.retention.ms) */
    const kb_cfg_entry *x = find_entry(e, n, "retention.ms");
    ck_assert_str_eq(x->value, "604800000");
    ck_assert_uint_eq(x->n_synonyms, 0);
    ck_assert_int_eq(x->source, KB_CS_DEFAULT);
    ck_assert(x->is_default && !x->read_only && !x->is_sensitive);
    /* segment.bytes: STATIC then DEFAULT synonyms */
    x = find_entry(e, n, "segment.bytes");
    ck_assert_str_eq(x->value, "1073741824");
    ck_assert_int_eq(x->source, KB_CS_STATIC_BROKER);
    ck_assert_uint_eq(x->n_synonyms, 2);
    ck_assert_str_eq(x->synonyms[0].name, "log.segment.bytes");
    ck_assert_int_eq(x->synonyms[0].source, KB_CS_STATIC_BROKER);
    ck_assert_int_eq(x->synonyms[1].source, KB_CS_DEFAULT);
    ck_assert(!x->is_default);
    /* segment.ms from log.roll.ms=5000: STATIC log.roll.ms, then DEFAULT log.roll.hours */
    x = find_entry(e, n, "segment.ms");
    ck_assert_str_eq(x->value, "5000");
    ck_assert_uint_eq(x->n_synonyms, 2);
    ck_assert_str_eq(x->synonyms[0].name, "log.roll.ms");
    ck_assert_str_eq(x->synonyms[0].value, "5000");
    ck_assert_str_eq(x->synonyms[1].name, "log.roll.hours");
    ck_assert_str_eq(x->synonyms[1].value, "168");
    /* topic overrides come first, normalised as Kafka prints a parsed value */
    x = find_entry(e, n, "cleanup.policy");
    ck_assert_str_eq(x->value, "compact,delete");
    ck_assert_int_eq(x->source, KB_CS_TOPIC);
    ck_assert_uint_eq(x->n_synonyms, 2);
    ck_assert_str_eq(x->synonyms[0].name, "cleanup.policy");
    ck_assert_str_eq(x->synonyms[1].name, "log.cleanup.policy");
    ck_assert_str_eq(x->synonyms[1].value, "delete");
    ck_assert_int_eq(x->synonyms[1].source, KB_CS_DEFAULT);
    x = find_entry(e, n, "retention.bytes");
    ck_assert_str_eq(x->value, "10");
    x = find_entry(e, n, "min.cleanable.dirty.ratio");
    ck_assert_str_eq(x->value, "0.25");
    ck_assert_int_eq(x->type, KB_CT_DOUBLE);
    /* defaults of the broker and topic-only configs */
    x = find_entry(e, n, "flush.ms");
    ck_assert_str_eq(x->value, "9223372036854775807");
    ck_assert_uint_eq(x->n_synonyms, 0);
    x = find_entry(e, n, "max.message.bytes");
    ck_assert_str_eq(x->value, "1048588");
    ck_assert_uint_eq(x->n_synonyms, 1);
    ck_assert_str_eq(x->synonyms[0].name, "message.max.bytes");
    x = find_entry(e, n, "message.format.version");
    ck_assert_str_eq(x->value, "2.8-IV1");
    x = find_entry(e, n, "leader.replication.throttled.replicas");
    ck_assert_str_eq(x->value, "");
    ck_assert_uint_eq(x->n_synonyms, 0);
    x = find_entry(e, n, "compression.type");
    ck_assert_str_eq(x->value, "producer");
    kz_arena_reset(&a);
    kb_config_free(&c);
}
END_TEST

/* ---- 12. value syntaxes ---- */

START_TEST(java_numbers)
{
    static const struct {
        double d;
        const char *s;
    } cases[] = {
        { 0.5, "0.5" },       { 1.0, "1.0" },         { 100.0, "100.0" },
        { 0.001, "0.001" },   { 0.0001, "1.0E-4" },   { 1e7, "1.0E7" },
        { 9999999.0, "9999999.0" },                   { 123.456, "123.456" },
        { -2.5, "-2.5" },     { 0.0, "0.0" },         { 1.7976931348623157e308, "1.7976931348623157E308" },
        { 0.1, "0.1" },       { 1.5e-10, "1.5E-10" }, { 12345678.9, "1.23456789E7" },
    };
    char buf[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_str_eq(kb_fmt_double(cases[i].d, buf, sizeof buf), cases[i].s);
    double d;
    ck_assert_int_eq(kb_parse_double("1.5e3", &d), 0);
    ck_assert(d == 1500.0);
    ck_assert_int_eq(kb_parse_double("2d", &d), 0);
    ck_assert(d == 2.0);
    ck_assert_int_eq(kb_parse_double(".5", &d), 0);
    ck_assert(d == 0.5);
    ck_assert_int_eq(kb_parse_double("-Infinity", &d), 0);
    ck_assert(d < -1e308);
    ck_assert_int_eq(kb_parse_double("0x10", &d), -1);
    ck_assert_int_eq(kb_parse_double("inf", &d), -1);
    ck_assert_int_eq(kb_parse_double("1e", &d), -1);
    ck_assert_int_eq(kb_parse_double("", &d), -1);
    ck_assert_int_eq(kb_parse_double(".", &d), -1);
}
END_TEST

START_TEST(api_versions)
{
    int magic = -1;
    ck_assert_str_eq(kb_api_version_lookup("2.8", &magic), "2.8-IV1");
    ck_assert_int_eq(magic, 2);
    ck_assert_str_eq(kb_api_version_lookup("2.8.2", NULL), "2.8-IV1");
    ck_assert_str_eq(kb_api_version_lookup("2.7-IV1", NULL), "2.7-IV1");
    ck_assert_str_eq(kb_api_version_lookup("0.10.0", &magic), "0.10.0-IV1");
    ck_assert_int_eq(magic, 1);
    ck_assert_str_eq(kb_api_version_lookup("0.10.0.1", NULL), "0.10.0-IV1");
    ck_assert_str_eq(kb_api_version_lookup("0.8.2", &magic), "0.8.2");
    ck_assert_int_eq(magic, 0);
    ck_assert_str_eq(kb_api_version_lookup("1.0", NULL), "1.0-IV0");
    ck_assert_ptr_null(kb_api_version_lookup("2.8-IV2", NULL));
    ck_assert_ptr_null(kb_api_version_lookup("3.0", NULL));
    ck_assert_ptr_null(kb_api_version_lookup("2", NULL));
    ck_assert_ptr_null(kb_api_version_lookup("", NULL));
    ck_assert_str_eq(kb_sec_proto_name(KB_SEC_SASL_SSL), "SASL_SSL");
}
END_TEST

static Suite *kbconfig_suite(void)
{
    Suite *s = suite_create("kbconfig");
    TCase *tc = tcase_create("broker");
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, every_key);
    tcase_add_test(tc, roll_precedence);
    tcase_add_test(tc, retention_precedence);
    tcase_add_test(tc, log_dirs_precedence);
    tcase_add_test(tc, listeners_parse);
    tcase_add_test(tc, listeners_errors);
    tcase_add_test(tc, zk_chroot);
    tcase_add_test(tc, invalid_values);
    tcase_add_test(tc, unknown_keys);
    tcase_add_test(tc, etc_files);
    tcase_add_test(tc, dump);
    tcase_add_test(tc, broker_describe);
    suite_add_tcase(s, tc);
    TCase *tt = tcase_create("topic");
    tcase_add_test(tt, topic_table);
    tcase_add_test(tt, topic_validate);
    tcase_add_test(tt, topic_resolve);
    tcase_add_test(tt, topic_describe);
    tcase_add_test(tt, java_numbers);
    tcase_add_test(tt, api_versions);
    suite_add_tcase(s, tt);
    return s;
}

int main(void)
{
    return ut_run(kbconfig_suite());
}
