/* broker/kb_topic_config.c -- per-topic configs and shared value syntaxes (see
 * kb_topic_config.h).
 *
 * The table kb_tc_defs (name order) holds, for each LogConfig key of Kafka 2.8: its ConfigDef
 * type and validator, the broker config that supplies its value when the topic has no override
 * (LogConfig.TopicConfigSynonyms) and where kb_config keeps that broker value, and where
 * kb_topic_cfg keeps the typed result. Validation follows ConfigDef.parseType (values trimmed;
 * numbers strict; booleans true/false in any case; lists split on commas) and then the
 * validator, and words its errors as ConfigException does:
 *   "Invalid value <value> for configuration <name>: <reason>".
 * The value in that message is the parsed one for range and string checks, as Kafka prints it
 * (a number, a trimmed string, a list as "[a, b]"), and the raw text for parse errors. */
#include "kb_topic_config.h"

#include "kz_config.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Validators of LogConfig. */
typedef enum {
    KB_TV_NONE,
    KB_TV_MIN,       /* Range.atLeast(lo) */
    KB_TV_BETWEEN,   /* Range.between(lo, hi) */
    KB_TV_TS,        /* ValidString.in(CreateTime, LogAppendTime) */
    KB_TV_COMP,      /* ValidString.in(brokerCompressionOptions) */
    KB_TV_CLEANUP,   /* ValidList.in(compact, delete) */
    KB_TV_APIVER,    /* ApiVersionValidator */
    KB_TV_THROTTLED  /* ThrottledReplicaListValidator */
} kb_tc_valid;

/* Where the broker's value for a topic config lives in kb_config. */
typedef enum {
    KB_TB_NONE, /* topic-only config: the Kafka default */
    KB_TB_I32,
    KB_TB_I64,
    KB_TB_BOOL,
    KB_TB_DBL,
    KB_TB_TEXT  /* char * / const char * */
} kb_tc_bkind;

#define KB_NO_FIELD ((size_t)-1)

typedef struct kb_tc_def {
    kb_topic_cfg_def pub;
    kb_tc_valid valid;
    int64_t lo, hi;
    size_t toff;       /* field of kb_topic_cfg for INT/LONG/BOOLEAN/DOUBLE, else KB_NO_FIELD */
    kb_tc_bkind bkind;
    size_t boff;       /* broker value in kb_config */
} kb_tc_def;

#define KB_TO(f) offsetof(kb_topic_cfg, f)
#define KB_BO(f) offsetof(kb_config, f)
#define KB_LMAX  "9223372036854775807"

/* clang-format off */
static const kb_tc_def kb_tc_defs[] = {
    { { "cleanup.policy", KB_CT_LIST, "log.cleanup.policy", "delete" },
      KB_TV_CLEANUP, 0, 0, KB_NO_FIELD, KB_TB_TEXT, KB_BO(raw.log_cleanup_policy) },
    { { "compression.type", KB_CT_STRING, "compression.type", "producer" },
      KB_TV_COMP, 0, 0, KB_NO_FIELD, KB_TB_TEXT, KB_BO(raw.compression_type) },
    { { "delete.retention.ms", KB_CT_LONG, "log.cleaner.delete.retention.ms", "86400000" },
      KB_TV_MIN, 0, 0, KB_TO(delete_retention_ms), KB_TB_I64, KB_BO(log_cleaner_delete_retention_ms) },
    { { "file.delete.delay.ms", KB_CT_LONG, "log.segment.delete.delay.ms", "60000" },
      KB_TV_MIN, 0, 0, KB_TO(file_delete_delay_ms), KB_TB_I64, KB_BO(log_segment_delete_delay_ms) },
    { { "flush.messages", KB_CT_LONG, "log.flush.interval.messages", KB_LMAX },
      KB_TV_MIN, 0, 0, KB_TO(flush_messages), KB_TB_I64, KB_BO(log_flush_interval_messages) },
    { { "flush.ms", KB_CT_LONG, "log.flush.interval.ms", KB_LMAX },
      KB_TV_MIN, 0, 0, KB_TO(flush_ms), KB_TB_I64, KB_BO(log_flush_interval_ms) },
    { { "follower.replication.throttled.replicas", KB_CT_LIST, NULL, "" },
      KB_TV_THROTTLED, 0, 0, KB_NO_FIELD, KB_TB_NONE, 0 },
    { { "index.interval.bytes", KB_CT_INT, "log.index.interval.bytes", "4096" },
      KB_TV_MIN, 0, 0, KB_TO(index_interval_bytes), KB_TB_I32, KB_BO(log_index_interval_bytes) },
    { { "leader.replication.throttled.replicas", KB_CT_LIST, NULL, "" },
      KB_TV_THROTTLED, 0, 0, KB_NO_FIELD, KB_TB_NONE, 0 },
    { { "max.compaction.lag.ms", KB_CT_LONG, "log.cleaner.max.compaction.lag.ms", KB_LMAX },
      KB_TV_MIN, 1, 0, KB_TO(max_compaction_lag_ms), KB_TB_I64, KB_BO(log_cleaner_max_compaction_lag_ms) },
    { { "max.message.bytes", KB_CT_INT, "message.max.bytes", "1048588" },
      KB_TV_MIN, 0, 0, KB_TO(max_message_bytes), KB_TB_I32, KB_BO(message_max_bytes) },
    { { "message.downconversion.enable", KB_CT_BOOLEAN, "log.message.downconversion.enable", "true" },
      KB_TV_NONE, 0, 0, KB_TO(message_downconversion_enable), KB_TB_BOOL, KB_BO(log_message_downconversion_enable) },
    { { "message.format.version", KB_CT_STRING, "log.message.format.version", "2.8-IV1" },
      KB_TV_APIVER, 0, 0, KB_NO_FIELD, KB_TB_TEXT, KB_BO(log_message_format) },
    { { "message.timestamp.difference.max.ms", KB_CT_LONG, "log.message.timestamp.difference.max.ms", KB_LMAX },
      KB_TV_MIN, 0, 0, KB_TO(message_timestamp_difference_max_ms), KB_TB_I64, KB_BO(log_message_timestamp_difference_max_ms) },
    { { "message.timestamp.type", KB_CT_STRING, "log.message.timestamp.type", "CreateTime" },
      KB_TV_TS, 0, 0, KB_NO_FIELD, KB_TB_TEXT, KB_BO(raw.log_message_timestamp_type) },
    { { "min.cleanable.dirty.ratio", KB_CT_DOUBLE, "log.cleaner.min.cleanable.ratio", "0.5" },
      KB_TV_BETWEEN, 0, 1, KB_TO(min_cleanable_dirty_ratio), KB_TB_DBL, KB_BO(log_cleaner_min_cleanable_ratio) },
    { { "min.compaction.lag.ms", KB_CT_LONG, "log.cleaner.min.compaction.lag.ms", "0" },
      KB_TV_MIN, 0, 0, KB_TO(min_compaction_lag_ms), KB_TB_I64, KB_BO(log_cleaner_min_compaction_lag_ms) },
    { { "min.insync.replicas", KB_CT_INT, "min.insync.replicas", "1" },
      KB_TV_MIN, 1, 0, KB_TO(min_insync_replicas), KB_TB_I32, KB_BO(min_insync_replicas) },
    { { "preallocate", KB_CT_BOOLEAN, "log.preallocate", "false" },
      KB_TV_NONE, 0, 0, KB_TO(preallocate), KB_TB_BOOL, KB_BO(log_preallocate) },
    { { "retention.bytes", KB_CT_LONG, "log.retention.bytes", "-1" },
      KB_TV_NONE, 0, 0, KB_TO(retention_bytes), KB_TB_I64, KB_BO(log_retention_bytes) },
    { { "retention.ms", KB_CT_LONG, "log.retention.ms", "604800000" },
      KB_TV_MIN, -1, 0, KB_TO(retention_ms), KB_TB_I64, KB_BO(log_retention_ms) },
    { { "segment.bytes", KB_CT_INT, "log.segment.bytes", "1073741824" },
      KB_TV_MIN, 14, 0, KB_TO(segment_bytes), KB_TB_I32, KB_BO(log_segment_bytes) },
    { { "segment.index.bytes", KB_CT_INT, "log.index.size.max.bytes", "10485760" },
      KB_TV_MIN, 0, 0, KB_TO(segment_index_bytes), KB_TB_I32, KB_BO(log_index_size_max_bytes) },
    { { "segment.jitter.ms", KB_CT_LONG, "log.roll.jitter.ms", "0" },
      KB_TV_MIN, 0, 0, KB_TO(segment_jitter_ms), KB_TB_I64, KB_BO(log_roll_jitter_ms) },
    { { "segment.ms", KB_CT_LONG, "log.roll.ms", "604800000" },
      KB_TV_MIN, 1, 0, KB_TO(segment_ms), KB_TB_I64, KB_BO(log_roll_ms) },
    { { "unclean.leader.election.enable", KB_CT_BOOLEAN, "unclean.leader.election.enable", "false" },
      KB_TV_NONE, 0, 0, KB_TO(unclean_leader_election_enable), KB_TB_BOOL, KB_BO(unclean_leader_election_enable) },
};
/* clang-format on */
#define KB_NTC (sizeof kb_tc_defs / sizeof kb_tc_defs[0])

size_t kb_topic_cfg_count(void) { return KB_NTC; }

const kb_topic_cfg_def *kb_topic_cfg_at(size_t i) { return i < KB_NTC ? &kb_tc_defs[i].pub : NULL; }

static const kb_tc_def *kb_tc_find(const char *name)
{
    for (size_t i = 0; i < KB_NTC; i++)
        if (strcmp(kb_tc_defs[i].pub.name, name) == 0)
            return &kb_tc_defs[i];
    return NULL;
}

const kb_topic_cfg_def *kb_topic_cfg_find(const char *name)
{
    const kb_tc_def *d = kb_tc_find(name);
    return d ? &d->pub : NULL;
}

/* ---- value syntaxes ---- */

int kb_cfg_list_each(const char *s, int (*fn)(void *ctx, const char *e, size_t n), void *ctx)
{
    if (*s == '\0')
        return 0;
    for (;;) {
        const char *c = strchr(s, ',');
        const char *end = c ? c : s + strlen(s);
        const char *e = end;
        while (e > s && isspace((unsigned char)e[-1]))
            e--;
        int rc = fn(ctx, s, (size_t)(e - s));
        if (rc || !c)
            return rc;
        s = c + 1;
        while (isspace((unsigned char)*s))
            s++;
    }
}

int kb_parse_double(const char *s, double *out)
{
    const char *p = s;
    char buf[128];
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof buf)
        return -1;
    if (*p == '+' || *p == '-')
        p++;
    if (strcmp(p, "NaN") == 0 || strcmp(p, "Infinity") == 0) {
        double v = p[0] == 'N' ? NAN : INFINITY;
        *out = s[0] == '-' ? -v : v;
        return 0;
    }
    size_t digits = 0;
    while (isdigit((unsigned char)*p))
        p++, digits++;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p))
            p++, digits++;
    }
    if (digits == 0)
        return -1;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p))
            p++;
    }
    size_t body = (size_t)(p - s);
    if (*p && strchr("dDfF", *p))
        p++;
    if (*p)
        return -1;
    memcpy(buf, s, body);
    buf[body] = '\0';
    *out = strtod(buf, NULL);
    return 0;
}

/* Double.toString: the shortest digits that read back as @d; plain notation with at least one
 * fraction digit for 1e-3 <= |d| < 1e7, else "d.dddE<exp>". */
const char *kb_fmt_double(double d, char *buf, size_t len)
{
    if (isnan(d) || isinf(d) || d == 0) {
        snprintf(buf, len, "%s", isnan(d) ? "NaN" : isinf(d) ? (d < 0 ? "-Infinity" : "Infinity")
                                  : signbit(d) ? "-0.0" : "0.0");
        return buf;
    }
    char e[40], dig[24], out[64];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, d);
        if (strtod(e, NULL) == d)
            break;
    }
    const char *p = e; /* [-]D[.DDD]e[+-]XX */
    size_t nd = 0, o = 0;
    if (*p == '-')
        p++;
    for (; *p && *p != 'e'; p++)
        if (isdigit((unsigned char)*p) && nd < sizeof dig - 1)
            dig[nd++] = *p;
    int ex = atoi(p + 1);
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;
    dig[nd] = '\0';
    if (d < 0)
        out[o++] = '-';
    double a = fabs(d);
    if (a >= 1e-3 && a < 1e7) {
        if (ex >= 0) {
            for (int i = 0; i <= ex; i++)
                out[o++] = (size_t)i < nd ? dig[i] : '0';
            out[o++] = '.';
            if ((size_t)ex + 1 >= nd)
                out[o++] = '0';
            for (size_t i = (size_t)ex + 1; i < nd; i++)
                out[o++] = dig[i];
        } else {
            out[o++] = '0';
            out[o++] = '.';
            for (int i = 0; i < -ex - 1; i++)
                out[o++] = '0';
            for (size_t i = 0; i < nd; i++)
                out[o++] = dig[i];
        }
        out[o] = '\0';
    } else {
        out[o++] = dig[0];
        out[o++] = '.';
        if (nd == 1)
            out[o++] = '0';
        for (size_t i = 1; i < nd; i++)
            out[o++] = dig[i];
        snprintf(out + o, sizeof out - o, "E%d", ex);
    }
    snprintf(buf, len, "%s", out);
    return buf;
}

typedef struct {
    const char *version; /* full name */
    int magic;           /* RecordVersion of its message format */
} kb_apiver;

/* In order; a short version ("2.1") names the last entry of its group. */
static const kb_apiver kb_apivers[] = {
    { "0.8.0", 0 },      { "0.8.1", 0 },      { "0.8.2", 0 },      { "0.9.0", 0 },
    { "0.10.0-IV0", 1 }, { "0.10.0-IV1", 1 }, { "0.10.1-IV0", 1 }, { "0.10.1-IV1", 1 },
    { "0.10.1-IV2", 1 }, { "0.10.2-IV0", 1 }, { "0.11.0-IV0", 2 }, { "0.11.0-IV1", 2 },
    { "0.11.0-IV2", 2 }, { "1.0-IV0", 2 },    { "1.1-IV0", 2 },    { "2.0-IV0", 2 },
    { "2.0-IV1", 2 },    { "2.1-IV0", 2 },    { "2.1-IV1", 2 },    { "2.1-IV2", 2 },
    { "2.2-IV0", 2 },    { "2.2-IV1", 2 },    { "2.3-IV0", 2 },    { "2.3-IV1", 2 },
    { "2.4-IV0", 2 },    { "2.4-IV1", 2 },    { "2.5-IV0", 2 },    { "2.6-IV0", 2 },
    { "2.7-IV0", 2 },    { "2.7-IV1", 2 },    { "2.7-IV2", 2 },    { "2.8-IV0", 2 },
    { "2.8-IV1", 2 },
};

const char *kb_api_version_lookup(const char *s, int *magic)
{
    char key[32];
    int want = strncmp(s, "0.", 2) == 0 ? 3 : 2, seg = 1;
    size_t n = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '.' && ++seg > want)
            break;
        if (n == sizeof key - 1)
            return NULL;
        key[n++] = *p;
    }
    key[n] = '\0';
    const kb_apiver *hit = NULL;
    for (size_t i = 0; i < sizeof kb_apivers / sizeof kb_apivers[0]; i++) {
        const char *v = kb_apivers[i].version, *dash = strchr(v, '-');
        size_t shortlen = dash ? (size_t)(dash - v) : strlen(v);
        if (strcmp(v, key) == 0) {
            hit = &kb_apivers[i];
            break;
        }
        if (n == shortlen && strncmp(v, key, n) == 0)
            hit = &kb_apivers[i]; /* keep going: the last of the group wins */
    }
    if (hit && magic)
        *magic = hit->magic;
    return hit ? hit->version : NULL;
}

/* ---- validation ---- */

/* A parsed value; @text is the trimmed text, malloc'd (kb_tc_parsed_free). */
typedef struct {
    int64_t i;
    double d;
    bool b;
    char *text;
} kb_tc_parsed;

static void kb_tc_parsed_free(kb_tc_parsed *v)
{
    free(v->text);
    v->text = NULL;
}

/* Java's String.trim of @s, malloc'd; NULL when out of memory. */
static char *kb_trim_dup(const char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (unsigned char)s[n - 1] <= ' ')
        n--;
    while (n > 0 && (unsigned char)*s <= ' ')
        s++, n--;
    return strndup(s, n);
}

typedef struct {
    char *buf;
    size_t len, o, n;
} kb_tc_join;

/* kb_cfg_list_each callback: "[a, b]" list text for messages. */
static int kb_tc_join_put(void *ctx, const char *e, size_t n)
{
    kb_tc_join *j = ctx;
    int w = snprintf(j->buf + j->o, j->len - j->o, "%s%.*s", j->n++ ? ", " : "", (int)n, e);
    if (w > 0)
        j->o = j->o + (size_t)w < j->len ? j->o + (size_t)w : j->len - 1;
    return 0;
}

static const char *kb_tc_list_text(const char *s, char *buf, size_t len)
{
    kb_tc_join j = { buf, len, 0, 0 };
    j.o = (size_t)snprintf(buf, len, "[");
    kb_cfg_list_each(s, kb_tc_join_put, &j);
    snprintf(buf + j.o, len - j.o, "]");
    return buf;
}

static int kb_tc_cleanup_elem(void *ctx, const char *e, size_t n)
{
    const char **bad = ctx;
    if ((n == 6 && memcmp(e, "delete", 6) == 0) || (n == 7 && memcmp(e, "compact", 7) == 0))
        return 0;
    *bad = e; /* the first element not allowed; its length travels in the callback return */
    return (int)n + 1;
}

/* ThrottledReplicaListValidator: every element "" or "<digits>:<digits>", or the whole list
 * the literal "*". */
static int kb_tc_throttled_elem(void *ctx, const char *e, size_t n)
{
    (void)ctx;
    size_t i = 0, a = 0, b = 0;
    if (n == 0)
        return 0;
    while (i < n && isdigit((unsigned char)e[i]))
        i++, a++;
    if (i < n && e[i] == ':')
        i++;
    else
        return 1;
    while (i < n && isdigit((unsigned char)e[i]))
        i++, b++;
    return i == n && a && b ? 0 : 1;
}

static const char *const kb_tc_comp_opts[] = { "uncompressed", "zstd", "lz4", "snappy", "gzip",
                                               "producer" };

/* ConfigDef.parseType + validator for @d. 0, or -1 with ConfigException's message. Either
 * way the caller releases @v with kb_tc_parsed_free. */
static int kb_tc_parse(const kb_tc_def *d, const char *raw, kb_tc_parsed *v, char *err,
                       size_t errlen)
{
    const char *name = d->pub.name;
    char num[40], lst[600];
    int32_t i32;
    memset(v, 0, sizeof *v);
    if (!(v->text = kb_trim_dup(raw))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    switch (d->pub.type) {
    case KB_CT_BOOLEAN:
        if (strcasecmp(v->text, "true") != 0 && strcasecmp(v->text, "false") != 0)
            goto bad_bool;
        v->b = strcasecmp(v->text, "true") == 0;
        break;
    case KB_CT_INT:
        if (kz_cfg_parse_i32(v->text, &i32) != 0)
            goto bad_num;
        v->i = i32;
        break;
    case KB_CT_LONG:
        if (kz_cfg_parse_i64(v->text, &v->i) != 0)
            goto bad_num;
        break;
    case KB_CT_DOUBLE:
        if (kb_parse_double(v->text, &v->d) != 0)
            goto bad_num;
        break;
    default: break; /* STRING, LIST: the trimmed text */
    }

    const char *bad = NULL;
    int rc;
    switch (d->valid) {
    case KB_TV_NONE: return 0;
    case KB_TV_MIN:
        if (v->i < d->lo) {
            snprintf(err, errlen, "Invalid value %lld for configuration %s: Value must be at "
                     "least %lld", (long long)v->i, name, (long long)d->lo);
            return -1;
        }
        return 0;
    case KB_TV_BETWEEN:
        if (v->d < (double)d->lo || v->d > (double)d->hi || isnan(v->d)) {
            snprintf(err, errlen, "Invalid value %s for configuration %s: Value must be %s %lld",
                     kb_fmt_double(v->d, num, sizeof num), name,
                     v->d < (double)d->lo ? "at least" : "no more than",
                     (long long)(v->d < (double)d->lo ? d->lo : d->hi));
            return -1;
        }
        return 0;
    case KB_TV_TS:
        if (strcmp(v->text, "CreateTime") == 0 || strcmp(v->text, "LogAppendTime") == 0)
            return 0;
        snprintf(err, errlen, "Invalid value %s for configuration %s: String must be one of: "
                 "CreateTime, LogAppendTime", v->text, name);
        return -1;
    case KB_TV_COMP:
        for (size_t i = 0; i < sizeof kb_tc_comp_opts / sizeof kb_tc_comp_opts[0]; i++)
            if (strcmp(v->text, kb_tc_comp_opts[i]) == 0)
                return 0;
        snprintf(err, errlen, "Invalid value %s for configuration %s: String must be one of: "
                 "uncompressed, zstd, lz4, snappy, gzip, producer", v->text, name);
        return -1;
    case KB_TV_CLEANUP:
        if ((rc = kb_cfg_list_each(v->text, kb_tc_cleanup_elem, &bad)) == 0)
            return 0;
        snprintf(err, errlen, "Invalid value %.*s for configuration %s: String must be one of: "
                 "compact, delete", rc - 1, bad, name);
        return -1;
    case KB_TV_APIVER:
        if (kb_api_version_lookup(v->text, NULL))
            return 0;
        snprintf(err, errlen, "Invalid value %s for configuration %s: Version `%s` is not a "
                 "valid version", v->text, name, v->text);
        return -1;
    case KB_TV_THROTTLED:
        if (kb_cfg_list_each(v->text, kb_tc_throttled_elem, NULL) == 0 ||
            strcmp(v->text, "*") == 0)
            return 0;
        snprintf(err, errlen, "Invalid value %s for configuration %s: %s must be the literal '*' "
                 "or a list of replicas in the following format: [partitionId]:[brokerId],"
                 "[partitionId]:[brokerId],...", kb_tc_list_text(v->text, lst, sizeof lst), name,
                 name);
        return -1;
    }
    return 0;
bad_bool:
    snprintf(err, errlen, "Invalid value %s for configuration %s: Expected value to be either "
             "true or false", raw, name);
    return -1;
bad_num:
    snprintf(err, errlen, "Invalid value %s for configuration %s: Not a number of type %s", raw,
             name, d->pub.type == KB_CT_INT ? "INT" : d->pub.type == KB_CT_LONG ? "LONG"
                                                                                : "DOUBLE");
    return -1;
}

int kb_topic_cfg_validate(const char *name, const char *value, char *err, size_t errlen)
{
    const kb_tc_def *d = kb_tc_find(name);
    kb_tc_parsed v;
    if (!d) {
        snprintf(err, errlen, "Unknown topic config name: %s", name);
        return -1;
    }
    int rc = kb_tc_parse(d, value, &v, err, errlen);
    kb_tc_parsed_free(&v);
    return rc;
}

int kb_topic_cfg_validate_all(const kb_cfg_pair *p, size_t n, char *err, size_t errlen)
{
    int64_t lag_min = 0, lag_max = INT64_MAX; /* LogConfig defaults */
    kb_tc_parsed v;
    for (size_t i = 0; i < n; i++) {
        if (!kb_tc_find(p[i].name)) {
            snprintf(err, errlen, "Unknown topic config name: %s", p[i].name);
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const kb_tc_def *d = kb_tc_find(p[i].name);
        int rc = kb_tc_parse(d, p[i].value, &v, err, errlen);
        kb_tc_parsed_free(&v);
        if (rc != 0)
            return -1;
        if (d->toff == KB_TO(min_compaction_lag_ms))
            lag_min = v.i;
        else if (d->toff == KB_TO(max_compaction_lag_ms))
            lag_max = v.i;
    }
    if (lag_min > lag_max) {
        snprintf(err, errlen, "conflict topic config setting min.compaction.lag.ms (%lld) > "
                 "max.compaction.lag.ms (%lld)", (long long)lag_min, (long long)lag_max);
        return -1;
    }
    return 0;
}

/* ---- effective config ---- */

static int kb_tc_cleanup_bits(void *ctx, const char *e, size_t n)
{
    unsigned *bits = ctx;
    *bits |= n == 6 && memcmp(e, "delete", 6) == 0 ? KB_CLEANUP_DELETE : KB_CLEANUP_COMPACT;
    return 0;
}

/* Store a validated override @v of @d into @out. */
static void kb_tc_store(const kb_tc_def *d, const kb_tc_parsed *v, kb_topic_cfg *out)
{
    char *f = (char *)out + d->toff;
    switch (d->valid) {
    case KB_TV_CLEANUP:
        out->cleanup = 0;
        kb_cfg_list_each(v->text, kb_tc_cleanup_bits, &out->cleanup);
        return;
    case KB_TV_COMP:
        for (int i = 0; i < 6; i++) {
            static const kb_comp_type ids[] = { KB_COMP_NONE,   KB_COMP_ZSTD, KB_COMP_LZ4,
                                                KB_COMP_SNAPPY, KB_COMP_GZIP, KB_COMP_PRODUCER };
            if (strcmp(v->text, kb_tc_comp_opts[i]) == 0)
                out->compression_type = ids[i];
        }
        return;
    case KB_TV_TS:
        out->message_timestamp_type =
            strcmp(v->text, "LogAppendTime") == 0 ? KB_TS_LOG_APPEND_TIME : KB_TS_CREATE_TIME;
        return;
    case KB_TV_APIVER:
        out->message_format_version = kb_api_version_lookup(v->text, &out->message_format_magic);
        return;
    case KB_TV_THROTTLED: return; /* replication quotas are not kept here */
    default: break;
    }
    switch (d->pub.type) {
    case KB_CT_INT: *(int32_t *)f = (int32_t)v->i; break;
    case KB_CT_LONG: *(int64_t *)f = v->i; break;
    case KB_CT_BOOLEAN: *(bool *)f = v->b; break;
    case KB_CT_DOUBLE: *(double *)f = v->d; break;
    default: break;
    }
}

int kb_topic_cfg_resolve(kb_topic_cfg *out, const kb_config *bc, const kb_cfg_pair *ov, size_t n,
                         char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < KB_NTC; i++) { /* numbers and booleans straight from the broker */
        const kb_tc_def *d = &kb_tc_defs[i];
        const char *b = (const char *)bc + d->boff;
        char *f = (char *)out + d->toff;
        if (d->toff == KB_NO_FIELD)
            continue;
        switch (d->bkind) {
        case KB_TB_I32: *(int32_t *)f = *(const int32_t *)b; break;
        case KB_TB_I64: *(int64_t *)f = *(const int64_t *)b; break;
        case KB_TB_BOOL: *(bool *)f = *(const bool *)b; break;
        case KB_TB_DBL: *(double *)f = *(const double *)b; break;
        default: break;
        }
    }
    out->cleanup = bc->log_cleanup;
    out->compression_type = bc->compression_type;
    out->message_format_version = bc->log_message_format;
    out->message_format_magic = bc->log_message_format_magic;
    out->message_timestamp_type = bc->log_message_timestamp_type;
    for (size_t i = 0; i < n; i++) {
        const kb_tc_def *d = kb_tc_find(ov[i].name);
        kb_tc_parsed v;
        if (!d)
            continue;
        int rc = kb_tc_parse(d, ov[i].value, &v, err, errlen);
        if (rc == 0)
            kb_tc_store(d, &v, out);
        kb_tc_parsed_free(&v);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* ---- DescribeConfigs ---- */

static int kb_tc_join_comma(void *ctx, const char *e, size_t n)
{
    kb_tc_join *j = ctx;
    int w = snprintf(j->buf + j->o, j->len - j->o, "%s%.*s", j->n++ ? "," : "", (int)n, e);
    if (w > 0)
        j->o = j->o + (size_t)w < j->len ? j->o + (size_t)w : j->len - 1;
    return 0;
}

/* ConfigDef.convertToString of the parsed override @raw of @d into @buf (room for
 * strlen(@raw) + 48: the canonical form is never longer): numbers and booleans as parsed,
 * doubles as Java prints them, lists joined with ",", strings trimmed. An invalid value
 * (written to ZooKeeper by someone else) is shown trimmed. */
static const char *kb_tc_canon(const kb_tc_def *d, const char *raw, char *buf, size_t len)
{
    kb_tc_parsed v;
    char err[8];
    if (kb_tc_parse(d, raw, &v, err, sizeof err) != 0) {
        snprintf(buf, len, "%s", v.text ? v.text : "");
        kb_tc_parsed_free(&v);
        return buf;
    }
    switch (d->pub.type) {
    case KB_CT_INT:
    case KB_CT_LONG: snprintf(buf, len, "%lld", (long long)v.i); break;
    case KB_CT_BOOLEAN: snprintf(buf, len, "%s", v.b ? "true" : "false"); break;
    case KB_CT_DOUBLE: kb_fmt_double(v.d, buf, len); break;
    case KB_CT_LIST: {
        kb_tc_join j = { buf, len, 0, 0 };
        buf[0] = '\0';
        kb_cfg_list_each(v.text, kb_tc_join_comma, &j);
        break;
    }
    default: snprintf(buf, len, "%s", v.text); break;
    }
    kb_tc_parsed_free(&v);
    return buf;
}

/* The broker's effective value for @d (what a topic without an override uses). */
static const char *kb_tc_broker_value(const kb_tc_def *d, const kb_config *bc, char *buf,
                                      size_t len)
{
    const char *b = (const char *)bc + d->boff;
    switch (d->bkind) {
    case KB_TB_NONE: snprintf(buf, len, "%s", d->pub.def); break;
    case KB_TB_I32: snprintf(buf, len, "%d", *(const int32_t *)b); break;
    case KB_TB_I64: snprintf(buf, len, "%lld", (long long)*(const int64_t *)b); break;
    case KB_TB_BOOL: snprintf(buf, len, "%s", *(const bool *)b ? "true" : "false"); break;
    case KB_TB_DBL: kb_fmt_double(*(const double *)b, buf, len); break;
    case KB_TB_TEXT: {
        const char *s = *(const char *const *)b;
        if (d->pub.type == KB_CT_LIST) {
            kb_tc_join j = { buf, len, 0, 0 };
            buf[0] = '\0';
            kb_cfg_list_each(s ? s : "", kb_tc_join_comma, &j);
        } else {
            snprintf(buf, len, "%s", s ? s : d->pub.def);
        }
        break;
    }
    }
    return buf;
}

int kb_topic_cfg_describe(const kb_config *bc, const kb_cfg_pair *ov, size_t n, kz_arena *a,
                          kb_cfg_entry **out, size_t *nout)
{
    kb_cfg_entry *e = kz_arena_alloc(a, KB_NTC * sizeof *e);
    if (!e)
        return -1;
    for (size_t i = 0; i < KB_NTC; i++) {
        const kb_tc_def *d = &kb_tc_defs[i];
        kb_cfg_entry *x = &e[i];
        const char *over = NULL, *val;
        char buf[256];
        for (size_t k = 0; k < n; k++) /* the last override of this name wins */
            if (strcmp(ov[k].name, d->pub.name) == 0)
                over = ov[k].value;
        x->name = d->pub.name;
        x->type = d->pub.type;
        x->read_only = false;
        x->is_sensitive = false;
        if (over) {
            size_t len = strlen(over) + 48;
            char *cb = kz_arena_alloc(a, len);
            if (!cb)
                return -1;
            val = kb_tc_canon(d, over, cb, len);
        } else {
            kz_str v = kz_arena_strdup(a, kz_str_c(kb_tc_broker_value(d, bc, buf, sizeof buf)));
            if (!(val = v.s))
                return -1;
        }
        x->value = val;
        if (over)
            x->synonyms[x->n_synonyms++] = (kb_cfg_synonym){ x->name, x->value, KB_CS_TOPIC };
        if (d->pub.synonym && kb_config_add_synonyms(bc, d->pub.synonym, false, a, x) != 0)
            return -1;
        x->source = x->n_synonyms ? x->synonyms[0].source : KB_CS_DEFAULT;
        x->is_default = x->source == KB_CS_DEFAULT;
    }
    *out = e;
    *nout = KB_NTC;
    return 0;
}
