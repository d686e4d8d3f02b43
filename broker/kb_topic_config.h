/* broker/kb_topic_config.h -- per-topic configs of Kafka 2.8 (LogConfig): the table of topic
 * config names with their type, broker-level synonym and Kafka default; validation of values
 * as CreateTopics / AlterConfigs / IncrementalAlterConfigs need it (INVALID_CONFIG with Kafka's
 * exact message); the effective typed config of a topic (broker values overridden by the
 * topic's /config/topics/<t> entries); and DescribeConfigs entries for a TOPIC resource.
 *
 * Also the value syntaxes shared with kb_config: Kafka LIST splitting, Java doubles (parse and
 * Double.toString) and the ApiVersion names of message.format.version and
 * inter.broker.protocol.version.
 *
 * Stateless apart from immutable tables; safe from any thread. */
#ifndef KB_TOPIC_CONFIG_H
#define KB_TOPIC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kb_config.h"
#include "kz_buf.h"

/* One topic config override, as stored in /config/topics/<t> or sent in a request. */
typedef struct kb_cfg_pair {
    const char *name;
    const char *value;
} kb_cfg_pair;

/* One topic config of the table. */
typedef struct kb_topic_cfg_def {
    const char *name;    /* "retention.ms" */
    kb_cfg_dtype type;   /* KB_CT_LONG */
    const char *synonym; /* broker config of highest priority ("log.retention.ms"), NULL if none */
    const char *def;     /* Kafka's default as DescribeConfigs prints it ("604800000") */
} kb_topic_cfg_def;

/* The table in name order: kb_topic_cfg_at(0 .. kb_topic_cfg_count()-1). */
size_t kb_topic_cfg_count(void);
const kb_topic_cfg_def *kb_topic_cfg_at(size_t i);
/* The entry named @name exactly, or NULL. */
const kb_topic_cfg_def *kb_topic_cfg_find(const char *name);

/* Validate one value for topic config @name (ConfigDef.parse + the validators of LogConfig).
 * Returns 0, or -1 with Kafka's message in @err, e.g.
 *   "Unknown topic config name: foo"
 *   "Invalid value abc for configuration retention.ms: Not a number of type LONG"
 *   "Invalid value 0 for configuration segment.ms: Value must be at least 1"
 * The caller answers INVALID_CONFIG (40) with that message. */
int kb_topic_cfg_validate(const char *name, const char *value, char *err, size_t errlen);

/* LogConfig.validate of a whole set: every name known, every value valid, and
 * min.compaction.lag.ms <= max.compaction.lag.ms (Kafka defaults for the one not given).
 * 0 or -1 with Kafka's message in @err. */
int kb_topic_cfg_validate_all(const kb_cfg_pair *p, size_t n, char *err, size_t errlen);

/* Effective, typed config of one topic. */
typedef struct kb_topic_cfg {
    int32_t segment_bytes;
    int64_t segment_ms;
    int64_t segment_jitter_ms;
    int32_t segment_index_bytes;
    int64_t flush_messages;
    int64_t flush_ms;
    int64_t retention_bytes;   /* -1 = unlimited */
    int64_t retention_ms;      /* -1 = unlimited */
    int32_t max_message_bytes;
    int32_t index_interval_bytes;
    int64_t delete_retention_ms;
    int64_t min_compaction_lag_ms;
    int64_t max_compaction_lag_ms;
    int64_t file_delete_delay_ms;
    double min_cleanable_dirty_ratio;
    unsigned cleanup;          /* KB_CLEANUP_* */
    bool unclean_leader_election_enable;
    int32_t min_insync_replicas;
    kb_comp_type compression_type;
    bool preallocate;
    const char *message_format_version; /* full version name, static ("2.8-IV1") */
    int message_format_magic;           /* 0, 1 or 2 */
    kb_ts_type message_timestamp_type;
    int64_t message_timestamp_difference_max_ms;
    bool message_downconversion_enable;
} kb_topic_cfg;

/* The effective config of a topic: the broker's values from @bc (LogConfig.extractLogConfigMap)
 * overridden by @ov[0..n) in order (last wins). Unknown names are skipped, as a LogConfig
 * ignores them. 0, or -1 with Kafka's message when an override is invalid. */
int kb_topic_cfg_resolve(kb_topic_cfg *out, const kb_config *bc, const kb_cfg_pair *ov, size_t n,
                         char *err, size_t errlen);

/* DescribeConfigs of a TOPIC resource (ConfigHelper.createTopicConfigEntry): one entry per
 * topic config in name order; the value is the override (normalised as Kafka prints a parsed
 * value) or the broker's effective value; synonyms are the override (TOPIC_CONFIG), then the
 * broker synonyms from the file (STATIC_BROKER_CONFIG) and Kafka's defaults (DEFAULT_CONFIG);
 * the source is that of the first synonym, DEFAULT_CONFIG when there is none. Entries are not
 * read-only and not sensitive. The array and strings live in @a. 0, or -1 when out of memory. */
int kb_topic_cfg_describe(const kb_config *bc, const kb_cfg_pair *ov, size_t n, kz_arena *a,
                          kb_cfg_entry **out, size_t *nout);

/* ---- value syntaxes shared with kb_config ---- */

/* ConfigDef LIST of an already trimmed value: "" -> no element; otherwise split on \s*,\s*
 * keeping empty elements (Java split with limit -1). Calls @fn(ctx, element, length) for each
 * element; stops at and returns the first non-zero return. */
int kb_cfg_list_each(const char *s, int (*fn)(void *ctx, const char *e, size_t n), void *ctx);

/* Double.parseDouble subset: decimal and exponent forms with an optional trailing d/D/f/F,
 * "NaN", "[+-]Infinity". 0 or -1. */
int kb_parse_double(const char *s, double *out);

/* Java's Double.toString of @d into @buf: "0.5", "100.0", "1.0E7", "1.7976931348623157E308".
 * Returns @buf. */
const char *kb_fmt_double(double d, char *buf, size_t len);

/* ApiVersion lookup of Kafka 2.8: "2.1", "2.1-IV2", "2.1.1", "0.10.0.1" style strings (first
 * three dot-separated parts for 0.x, else two). Returns the full version name ("2.1" ->
 * "2.1-IV2") and sets *magic (if not NULL) to its RecordBatch magic; NULL if not a version. */
const char *kb_api_version_lookup(const char *s, int *magic);

#endif
