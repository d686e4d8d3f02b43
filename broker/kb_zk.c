/* broker/kb_zk.c -- see kb_zk.h.
 *
 * Key orders. Every encoder lists its keys in the order Kafka's code put them
 * into its map and names the map kind (kz_json_order), which fixes the
 * bytes:
 *   broker registration   mutable.HashMap: version, host, port, endpoints,
 *                         jmx_port, timestamp, [rack], [listener_security_
 *                         protocol_map (v4+)], [features (v5)]; the protocol
 *                         map an immutable Map of the endpoints' listeners
 *   topic assignment v2   Map4 (insertion order); v3 (with topic_id) a
 *                         mutable.HashMap; each partition map a
 *                         mutable.HashMap keyed by the partition in decimal
 *   partition state       immutable Map of 5: version, leader, leader_epoch,
 *                         controller_epoch, isr
 *   topic/client config   Map2 holding a java.util.Properties (Java 9+)
 *   /feature              mutable.HashMap: version, status, features
 *   every other znode     Map1..Map4 or a case class: insertion order
 * For the registration these give
 *   v4 {"listener_security_protocol_map":..,"endpoints":..,"jmx_port":..,
 *       "host":..,"timestamp":..,"port":..,"version":4}  (as in zk-01)
 *   v5 {"listener_security_protocol_map":..,"endpoints":..,"jmx_port":..,
 *       "features":{},"host":..,"timestamp":..,"port":..,"version":5}
 * (rack, when set, comes right after endpoints).
 *
 * Operations are small state machines over kz_zkc calls; each keeps its
 * state in one heap struct that it frees before calling the user, so the
 * user may free the kz_zkc from the callback. */
#include "kb_zk.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "kz_json.h"
#include "kz_log.h"
#include "kz_time.h"

#define KB_ZK_LOG "kafka.zk.KafkaZkClient"
#define N_(a) (sizeof(a) / sizeof((a)[0]))

/* ================================================================ paths */

const char *const kb_zk_config_types[] = { "topics", "clients", "users", "brokers", "ips", NULL };

const char *const kb_zk_persistent_paths[] = {
    KB_ZK_CONSUMERS,       KB_ZK_BROKER_IDS,        KB_ZK_BROKER_TOPICS,
    KB_ZK_CONFIG_CHANGES,  KB_ZK_DELETE_TOPICS,     KB_ZK_BROKER_SEQID,
    KB_ZK_ISR_CHANGE,      KB_ZK_PRODUCER_ID_BLOCK, KB_ZK_LOG_DIR_EVENT,
    "/config/topics",      "/config/clients",       "/config/users",
    "/config/brokers",     "/config/ips",           NULL,
};

static bool kb_zk_name_ok(const char *s) { return s && *s; }

static int kb_zk_fmt(char *buf, size_t n, int w)
{
    if (w < 0 || (size_t)w >= n) {
        if (n)
            buf[0] = '\0';
        return -1;
    }
    return w;
}

int kb_zk_path_broker(char *buf, size_t n, int32_t id)
{
    if (id < 0)
        return kb_zk_fmt(buf, n, -1);
    return kb_zk_fmt(buf, n, snprintf(buf, n, KB_ZK_BROKER_IDS "/%" PRId32, id));
}

int kb_zk_path_topic(char *buf, size_t n, const char *t)
{
    if (!kb_zk_name_ok(t))
        return kb_zk_fmt(buf, n, -1);
    return kb_zk_fmt(buf, n, snprintf(buf, n, KB_ZK_BROKER_TOPICS "/%s", t));
}

int kb_zk_path_partitions(char *buf, size_t n, const char *t)
{
    if (!kb_zk_name_ok(t))
        return kb_zk_fmt(buf, n, -1);
    return kb_zk_fmt(buf, n, snprintf(buf, n, KB_ZK_BROKER_TOPICS "/%s/partitions", t));
}

int kb_zk_path_partition(char *buf, size_t n, const char *t, int32_t p)
{
    if (!kb_zk_name_ok(t) || p < 0)
        return kb_zk_fmt(buf, n, -1);
    return kb_zk_fmt(buf, n, snprintf(buf, n, KB_ZK_BROKER_TOPICS "/%s/partitions/%" PRId32, t, p));
}

int kb_zk_path_partition_state(char *buf, size_t n, const char *t, int32_t p)
{
    if (!kb_zk_name_ok(t) || p < 0)
        return kb_zk_fmt(buf, n, -1);
    return kb_zk_fmt(buf, n,
                     snprintf(buf, n, KB_ZK_BROKER_TOPICS "/%s/partitions/%" PRId32 "/state", t, p));
}

int kb_zk_path_config(char *buf, size_t n, const char *type, const char *name)
{
    if (!kb_zk_name_ok(type) || !kb_zk_name_ok(name))
        return kb_zk_fmt(buf, n, -1);
    return kb_zk_fmt(buf, n, snprintf(buf, n, KB_ZK_CONFIG "/%s/%s", type, name));
}

int kb_zk_path_delete_topic(char *buf, size_t n, const char *t)
{
    if (!kb_zk_name_ok(t))
        return kb_zk_fmt(buf, n, -1);
    return kb_zk_fmt(buf, n, snprintf(buf, n, KB_ZK_DELETE_TOPICS "/%s", t));
}

const char *kb_zk_seq_suffix(const char *name, const char *prefix)
{
    size_t l = strlen(prefix);
    return strncmp(name, prefix, l) == 0 ? name + l : NULL;
}

/* ================================================================ uuids */

static const char kb_b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void kb_zk_uuid_str(const kz_uuid *u, char out[23])
{
    const uint8_t *b = u->b;
    int o = 0;
    for (int i = 0; i < 15; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 | b[i + 2];
        out[o++] = kb_b64url[v >> 18 & 63];
        out[o++] = kb_b64url[v >> 12 & 63];
        out[o++] = kb_b64url[v >> 6 & 63];
        out[o++] = kb_b64url[v & 63];
    }
    out[o++] = kb_b64url[b[15] >> 2];
    out[o++] = kb_b64url[(b[15] & 3) << 4];
    out[o] = '\0';
}

static int kb_b64url_val(char c)
{
    const char *p = c ? strchr(kb_b64url, c) : NULL;
    return p ? (int)(p - kb_b64url) : -1;
}

int kb_zk_uuid_parse(const char *s, kz_uuid *u)
{
    if (!s || strlen(s) != 22)
        return -1;
    int v[22];
    for (int i = 0; i < 22; i++)
        if ((v[i] = kb_b64url_val(s[i])) < 0)
            return -1;
    if (v[21] & 15)
        return -1; /* bits past the 128th */
    for (int i = 0, o = 0; i < 20; i += 4, o += 3) {
        uint32_t x = (uint32_t)v[i] << 18 | (uint32_t)v[i + 1] << 12 | (uint32_t)v[i + 2] << 6 | (uint32_t)v[i + 3];
        u->b[o] = (uint8_t)(x >> 16);
        u->b[o + 1] = (uint8_t)(x >> 8);
        u->b[o + 2] = (uint8_t)x;
    }
    u->b[15] = (uint8_t)(v[20] << 2 | v[21] >> 4);
    return 0;
}

static void kb_zk_random(uint8_t *b, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(b + got, n - got, 0);
        if (r > 0) {
            got += (size_t)r;
        } else if (r < 0 && errno != EINTR) {
            FILE *f = fopen("/dev/urandom", "rb"); /* kernels without getrandom */
            size_t m = f ? fread(b + got, 1, n - got, f) : 0;
            if (f)
                fclose(f);
            if (m != n - got) {
                kz_log_write(KZ_LOG_FATAL, KB_ZK_LOG, "no source of random bytes: %s", strerror(errno));
                abort();
            }
            got = n;
        }
    }
}

void kb_zk_uuid_random(kz_uuid *u)
{
    for (;;) {
        kb_zk_random(u->b, sizeof u->b);
        u->b[6] = (uint8_t)((u->b[6] & 0x0f) | 0x40); /* version 4 */
        u->b[8] = (uint8_t)((u->b[8] & 0x3f) | 0x80); /* IETF variant */
        char s[23];
        kb_zk_uuid_str(u, s);
        if (s[0] != '-') /* the version bits make the all-zero id impossible */
            return;
    }
}

/* ======================================================= codec plumbing */

static char *kb_zk_emit(json_t *o, size_t *len)
{
    if (!o)
        return NULL;
    size_t l = 0;
    char *s = kz_json_dump(o, &l);
    json_decref(o);
    if (s && len)
        *len = l;
    return s;
}

#define KB_OBJ(how, keys, vals) kz_json_object_ordered((how), (keys), (vals), N_(keys))

static json_t *kb_zk_i32_array(const int32_t *v, int32_t n)
{
    json_t *a = json_array();
    for (int32_t i = 0; a && i < n; i++) {
        if (json_array_append_new(a, json_integer(v[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

static json_t *kb_zk_i64_string(int64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "%" PRId64, v);
    return json_string(b);
}

/* Parses @data as an object; NULL with @err set. */
static json_t *kb_zk_parse(const void *data, size_t len, char *err, size_t errlen)
{
    json_t *doc = kz_json_parse(data, len, err, errlen);
    if (doc && !json_is_object(doc)) {
        snprintf(err, errlen, "expected a JSON object");
        json_decref(doc);
        doc = NULL;
    }
    return doc;
}

/* The common end of a decoder: frees @doc, turns a reader error into
 * KB_ZK_EBADJSON with its message. */
static int kb_zk_decoded(json_t *doc, const kz_jrd *r, char *err, size_t errlen)
{
    json_decref(doc);
    if (!r->err)
        return 0;
    snprintf(err, errlen, "%s", r->msg);
    return KB_ZK_EBADJSON;
}

static void *kb_zk_alloc(kz_jrd *r, kz_arena *a, size_t n, size_t size)
{
    if (r->err || n == 0)
        return NULL;
    void *p = kz_arena_alloc(a, n * size);
    if (!p)
        kz_jrd_fail(r, "out of memory");
    return p;
}

/* Strict decimal int32 (a partition key, /controller_epoch). */
static bool kb_zk_parse_i32(const char *s, size_t len, int32_t *out)
{
    size_t i = len && s[0] == '-' ? 1 : 0;
    if (i == len)
        return false;
    int64_t v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (int64_t)INT32_MAX + 1)
            return false;
        v = v * 10 + (s[i] - '0');
    }
    v = s[0] == '-' ? -v : v;
    if (v < INT32_MIN || v > INT32_MAX)
        return false;
    *out = (int32_t)v;
    return true;
}

/* ================================================ broker registration */

static bool kb_zk_protocol_ok(const char *p)
{
    static const char *const known[] = { "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL" };
    for (size_t i = 0; p && i < N_(known); i++)
        if (strcmp(p, known[i]) == 0)
            return true;
    return false;
}

/* "LISTENER://host:port", IPv6 hosts in brackets (Kafka's connectionString). */
static json_t *kb_zk_endpoint_str(const kb_zk_endpoint *e)
{
    char b[512];
    const char *h = e->host && *e->host ? e->host : "";
    bool v6 = strchr(h, ':') != NULL;
    int w = snprintf(b, sizeof b, "%s://%s%s%s:%" PRId32, e->listener, v6 ? "[" : "", h, v6 ? "]" : "",
                     e->port);
    return w > 0 && (size_t)w < sizeof b ? json_string(b) : NULL;
}

static json_t *kb_zk_features_json(const kb_zk_feature *f, int32_t n, const char *kmin,
                                   const char *kmax)
{
    const char **keys = malloc((n > 0 ? (size_t)n : 1) * sizeof *keys);
    json_t **vals = malloc((n > 0 ? (size_t)n : 1) * sizeof *vals);
    json_t *o = NULL;
    if (keys && vals) {
        for (int32_t i = 0; i < n; i++) {
            const char *rk[] = { kmin, kmax };
            json_t *rv[] = { json_integer(f[i].min_version), json_integer(f[i].max_version) };
            keys[i] = f[i].name;
            vals[i] = KB_OBJ(KZ_JSON_ORDER_INSERT, rk, rv); /* a LinkedHashMap */
        }
        o = kz_json_object_ordered(KZ_JSON_ORDER_JAVA_CHM, keys, vals, (size_t)n);
    }
    free(keys);
    free(vals);
    return o;
}

char *kb_zk_broker_encode(const kb_zk_broker *b, size_t *len)
{
    if (b->version < 4 || b->version > 5 || b->n_endpoints < 0)
        return NULL;
    const kb_zk_endpoint *plain = NULL;
    json_t *eps = json_array();
    const char **lk = malloc(((size_t)b->n_endpoints + 1) * sizeof *lk);
    json_t **lv = malloc(((size_t)b->n_endpoints + 1) * sizeof *lv);
    size_t nl = 0;
    bool ok = eps && lk && lv;
    for (int32_t i = 0; ok && i < b->n_endpoints; i++) {
        const kb_zk_endpoint *e = &b->endpoints[i];
        ok = e->listener && kb_zk_protocol_ok(e->protocol) &&
             json_array_append_new(eps, kb_zk_endpoint_str(e)) == 0;
        if (!plain && ok && strcmp(e->protocol, "PLAINTEXT") == 0)
            plain = e;
        bool dup = false;
        for (size_t j = 0; j < nl; j++)
            dup = dup || strcmp(lk[j], e->listener) == 0;
        if (ok && !dup) {
            lk[nl] = e->listener;
            lv[nl++] = json_string(e->protocol);
        }
    }
    json_t *lspm = ok ? kz_json_object_ordered(KZ_JSON_ORDER_SCALA_IMMUTABLE, lk, lv, nl) : NULL;
    if (!ok)
        for (size_t j = 0; j < nl; j++)
            json_decref(lv[j]);
    free(lk);
    free(lv);
    if (!ok || !lspm) {
        json_decref(eps);
        json_decref(lspm);
        return NULL;
    }
    const char *h = plain && plain->host && *plain->host ? plain->host : NULL;
    const char *keys[9] = { "version", "host", "port", "endpoints", "jmx_port", "timestamp" };
    json_t *vals[9] = { json_integer(b->version), h ? json_string(h) : json_null(),
                        json_integer(plain ? plain->port : -1), eps, json_integer(b->jmx_port),
                        kb_zk_i64_string(b->timestamp) };
    size_t n = 6;
    if (b->rack) {
        keys[n] = "rack";
        vals[n++] = json_string(b->rack);
    }
    keys[n] = "listener_security_protocol_map";
    vals[n++] = lspm;
    if (b->version >= 5) {
        keys[n] = "features";
        vals[n++] = kb_zk_features_json(b->features, b->n_features, "min_version", "max_version");
    }
    return kb_zk_emit(kz_json_object_ordered(KZ_JSON_ORDER_SCALA_MUTABLE, keys, vals, n), len);
}

/* Parses "LISTENER://host:port" into @e (host NULL when empty). */
static void kb_zk_endpoint_parse(kz_jrd *r, kz_arena *a, const char *s, kb_zk_endpoint *e)
{
    const char *sep = strstr(s, "://");
    const char *hs = sep ? sep + 3 : NULL, *he = NULL, *ps = NULL;
    if (hs && *hs == '[') {
        he = strchr(++hs, ']');
        ps = he && he[1] == ':' ? he + 2 : NULL;
    } else if (hs) {
        he = strrchr(hs, ':');
        ps = he ? he + 1 : NULL;
    }
    int32_t port = 0;
    if (!sep || sep == s || !ps || !kb_zk_parse_i32(ps, strlen(ps), &port)) {
        kz_jrd_fail(r, "invalid endpoint '%s'", s);
        return;
    }
    for (const char *c = hs; c < he; c++) {
        if (!(*c == '-' || *c == '%' || *c == '.' || *c == '_' || *c == ':' ||
              (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z'))) {
            kz_jrd_fail(r, "invalid host in endpoint '%s'", s);
            return;
        }
    }
    kz_str l = kz_arena_strdup(a, (kz_str){ s, (int32_t)(sep - s) });
    kz_str h = he > hs ? kz_arena_strdup(a, (kz_str){ hs, (int32_t)(he - hs) }) : KZ_STR_NULL;
    if (!l.s || (he > hs && !h.s)) {
        kz_jrd_fail(r, "out of memory");
        return;
    }
    e->listener = l.s;
    e->host = h.s;
    e->port = port;
}

static void kb_zk_features_parse(kz_jrd *r, kz_arena *a, const json_t *obj, const char *kmin,
                                 const char *kmax, kb_zk_feature **out, int32_t *n)
{
    *out = NULL;
    *n = 0;
    if (!obj || r->err)
        return;
    size_t cnt = json_object_size(obj), i = 0;
    kb_zk_feature *f = kb_zk_alloc(r, a, cnt, sizeof *f);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        f[i].name = kz_jrd_dup(r, a, k);
        f[i].min_version = kz_jrd_i32(r, v, kmin);
        f[i].max_version = kz_jrd_i32(r, v, kmax);
        i++;
        if (r->err)
            return;
    }
    *out = f;
    *n = (int32_t)cnt;
}

int kb_zk_broker_decode(const void *data, size_t len, kz_arena *a, kb_zk_broker *out,
                        char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    json_t *doc = kb_zk_parse(data, len, err, errlen);
    if (!doc)
        return KB_ZK_EBADJSON;
    kz_jrd r = KZ_JRD_INIT;
    out->version = kz_jrd_i32(&r, doc, "version");
    if (!r.err && out->version < 1)
        kz_jrd_fail(&r, "unsupported version of broker registration: %" PRId32, out->version);
    out->jmx_port = kz_jrd_i32_or(&r, doc, "jmx_port", -1);
    out->timestamp = kz_jrd_numstr(&r, doc, "timestamp", false, 0);
    out->host = kz_jrd_dup(&r, a, kz_jrd_str(&r, doc, "host", out->version == 1));
    out->port = out->version == 1 ? kz_jrd_i32(&r, doc, "port") : kz_jrd_i32_or(&r, doc, "port", -1);
    out->rack = kz_jrd_dup(&r, a, kz_jrd_str(&r, doc, "rack", false));
    if (out->version == 1 && !r.err) {
        kb_zk_endpoint *e = kb_zk_alloc(&r, a, 1, sizeof *e);
        if (e) {
            *e = (kb_zk_endpoint){ "PLAINTEXT", out->host, out->port, "PLAINTEXT" };
            out->endpoints = e;
            out->n_endpoints = 1;
        }
    } else if (!r.err) {
        json_t *eps = kz_jrd_arr(&r, doc, "endpoints", true);
        json_t *map = kz_jrd_obj(&r, doc, "listener_security_protocol_map", false);
        size_t cnt = eps ? json_array_size(eps) : 0;
        kb_zk_endpoint *e = kb_zk_alloc(&r, a, cnt, sizeof *e);
        for (size_t i = 0; i < cnt && !r.err; i++) {
            const char *s = json_string_value(json_array_get(eps, i));
            if (!s) {
                kz_jrd_fail(&r, "endpoint %zu is not a string", i);
                break;
            }
            kb_zk_endpoint_parse(&r, a, s, &e[i]);
            const char *proto = map ? kz_jrd_str(&r, map, e[i].listener ? e[i].listener : "", true)
                                    : e[i].listener;
            if (!r.err && !kb_zk_protocol_ok(proto))
                kz_jrd_fail(&r, "unknown security protocol for listener %s", e[i].listener);
            e[i].protocol = kz_jrd_dup(&r, a, proto);
        }
        out->endpoints = e;
        out->n_endpoints = r.err ? 0 : (int32_t)cnt;
    }
    kb_zk_features_parse(&r, a, kz_jrd_obj(&r, doc, "features", false), "min_version",
                         "max_version", &out->features, &out->n_features);
    return kb_zk_decoded(doc, &r, err, errlen);
}

/* ================================================ controller and epoch */

char *kb_zk_controller_encode(int32_t broker_id, int64_t timestamp, size_t *len)
{
    const char *keys[] = { "version", "brokerid", "timestamp" };
    json_t *vals[] = { json_integer(1), json_integer(broker_id), kb_zk_i64_string(timestamp) };
    return kb_zk_emit(KB_OBJ(KZ_JSON_ORDER_INSERT, keys, vals), len);
}

int kb_zk_controller_decode(const void *data, size_t len, kb_zk_controller *out, char *err,
                            size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (data && kb_zk_parse_i32(data, len, &out->broker_id))
        return 0; /* the bare id of the first ZooKeeper-based versions */
    json_t *doc = kb_zk_parse(data, len, err, errlen);
    if (!doc)
        return KB_ZK_EBADJSON;
    kz_jrd r = KZ_JRD_INIT;
    out->version = kz_jrd_i32_or(&r, doc, "version", 1);
    out->broker_id = kz_jrd_i32(&r, doc, "brokerid");
    out->timestamp = kz_jrd_numstr(&r, doc, "timestamp", false, 0);
    return kb_zk_decoded(doc, &r, err, errlen);
}

char *kb_zk_epoch_encode(int32_t epoch, size_t *len)
{
    char *s = malloc(16);
    if (s) {
        int w = snprintf(s, 16, "%" PRId32, epoch);
        if (len)
            *len = (size_t)w;
    }
    return s;
}

int kb_zk_epoch_decode(const void *data, size_t len, int32_t *epoch, char *err, size_t errlen)
{
    if (!data || !kb_zk_parse_i32(data, len, epoch)) {
        snprintf(err, errlen, "controller epoch is not a decimal integer");
        return KB_ZK_EBADJSON;
    }
    return 0;
}

/* ================================================== topic assignment */

/* {"<partition>": [ids], ...} for the partitions of @t with @which (0
 * replicas, 1 adding, 2 removing) non-empty, in mutable.HashMap order. */
static json_t *kb_zk_assign_map(const kb_zk_topic *t, int which)
{
    size_t m = t->n_parts > 0 ? (size_t)t->n_parts : 1, n = 0;
    char (*names)[12] = malloc(m * sizeof *names);
    const char **keys = malloc(m * sizeof *keys);
    json_t **vals = malloc(m * sizeof *vals);
    json_t *o = NULL;
    if (names && keys && vals) {
        for (int32_t i = 0; i < t->n_parts; i++) {
            const kb_zk_part_assign *p = &t->parts[i];
            const int32_t *v = which == 0 ? p->replicas : which == 1 ? p->adding : p->removing;
            int32_t c = which == 0 ? p->n_replicas : which == 1 ? p->n_adding : p->n_removing;
            if (which && c <= 0)
                continue;
            snprintf(names[n], sizeof names[n], "%" PRId32, p->partition);
            keys[n] = names[n];
            vals[n++] = kb_zk_i32_array(v, c);
        }
        o = kz_json_object_ordered(KZ_JSON_ORDER_SCALA_MUTABLE, keys, vals, n);
    }
    free(names);
    free(keys);
    free(vals);
    return o;
}

char *kb_zk_topic_encode(const kb_zk_topic *t, size_t *len)
{
    json_t *parts = kb_zk_assign_map(t, 0), *add = kb_zk_assign_map(t, 1),
           *rem = kb_zk_assign_map(t, 2);
    if (!t->has_id) {
        const char *keys[] = { "version", "partitions", "adding_replicas", "removing_replicas" };
        json_t *vals[] = { json_integer(2), parts, add, rem };
        return kb_zk_emit(KB_OBJ(KZ_JSON_ORDER_INSERT, keys, vals), len);
    }
    char id[23];
    kb_zk_uuid_str(&t->id, id);
    const char *keys[] = { "version", "partitions", "adding_replicas", "removing_replicas", "topic_id" };
    json_t *vals[] = { json_integer(3), parts, add, rem, json_string(id) };
    return kb_zk_emit(KB_OBJ(KZ_JSON_ORDER_SCALA_MUTABLE, keys, vals), len);
}

static int kb_zk_part_cmp(const void *a, const void *b)
{
    int32_t x = ((const kb_zk_part_assign *)a)->partition, y = ((const kb_zk_part_assign *)b)->partition;
    return (x > y) - (x < y);
}

int kb_zk_topic_decode(const void *data, size_t len, kz_arena *a, kb_zk_topic *out, char *err,
                       size_t errlen)
{
    memset(out, 0, sizeof *out);
    json_t *doc = kb_zk_parse(data, len, err, errlen);
    if (!doc)
        return KB_ZK_EBADJSON;
    kz_jrd r = KZ_JRD_INIT;
    out->version = kz_jrd_i32_or(&r, doc, "version", 1);
    const char *id = kz_jrd_str(&r, doc, "topic_id", false);
    if (id && !r.err) {
        out->has_id = true;
        if (kb_zk_uuid_parse(id, &out->id) != 0)
            kz_jrd_fail(&r, "invalid topic_id '%s'", id);
    }
    json_t *parts = kz_jrd_obj(&r, doc, "partitions", false);
    json_t *add = kz_jrd_obj(&r, doc, "adding_replicas", false);
    json_t *rem = kz_jrd_obj(&r, doc, "removing_replicas", false);
    size_t cnt = parts ? json_object_size(parts) : 0, i = 0;
    kb_zk_part_assign *p = kb_zk_alloc(&r, a, cnt, sizeof *p);
    const char *k;
    json_t *v;
    if (parts && p) {
        json_object_foreach(parts, k, v) {
            kb_zk_part_assign *e = &p[i++];
            if (!kb_zk_parse_i32(k, strlen(k), &e->partition) || e->partition < 0) {
                kz_jrd_fail(&r, "invalid partition '%s'", k);
                break;
            }
            char what[48];
            snprintf(what, sizeof what, "replicas of partition %s", k);
            e->replicas = kz_jrd_i32s(&r, v, a, &e->n_replicas, what);
            json_t *x = add ? json_object_get(add, k) : NULL;
            if (x && !json_is_null(x))
                e->adding = kz_jrd_i32s(&r, x, a, &e->n_adding, what);
            x = rem ? json_object_get(rem, k) : NULL;
            if (x && !json_is_null(x))
                e->removing = kz_jrd_i32s(&r, x, a, &e->n_removing, what);
            if (r.err)
                break;
        }
    }
    if (!r.err && cnt) {
        qsort(p, cnt, sizeof *p, kb_zk_part_cmp);
        out->parts = p;
        out->n_parts = (int32_t)cnt;
    }
    return kb_zk_decoded(doc, &r, err, errlen);
}

/* ==================================================== partition state */

char *kb_zk_pstate_encode(const kb_zk_pstate *s, size_t *len)
{
    const char *keys[] = { "version", "leader", "leader_epoch", "controller_epoch", "isr" };
    json_t *vals[] = { json_integer(1), json_integer(s->leader), json_integer(s->leader_epoch),
                       json_integer(s->controller_epoch), kb_zk_i32_array(s->isr, s->n_isr) };
    return kb_zk_emit(KB_OBJ(KZ_JSON_ORDER_SCALA_IMMUTABLE, keys, vals), len);
}

int kb_zk_pstate_decode(const void *data, size_t len, kz_arena *a, kb_zk_pstate *out,
                        char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    json_t *doc = kb_zk_parse(data, len, err, errlen);
    if (!doc)
        return KB_ZK_EBADJSON;
    kz_jrd r = KZ_JRD_INIT;
    out->version = kz_jrd_i32_or(&r, doc, "version", 1);
    out->leader = kz_jrd_i32(&r, doc, "leader");
    out->leader_epoch = kz_jrd_i32(&r, doc, "leader_epoch");
    out->controller_epoch = kz_jrd_i32(&r, doc, "controller_epoch");
    out->isr = kz_jrd_i32s(&r, kz_jrd_arr(&r, doc, "isr", true), a, &out->n_isr, "isr");
    return kb_zk_decoded(doc, &r, err, errlen);
}

/* ============================================================ configs */

char *kb_zk_config_encode(const kb_zk_kv *kv, int32_t n, size_t *len)
{
    size_t m = n > 0 ? (size_t)n : 1;
    const char **keys = malloc(m * sizeof *keys);
    json_t **vals = malloc(m * sizeof *vals);
    json_t *cfg = NULL;
    if (keys && vals && n >= 0) {
        for (int32_t i = 0; i < n; i++) {
            keys[i] = kv[i].key;
            vals[i] = kv[i].value ? json_string(kv[i].value) : NULL;
        }
        cfg = kz_json_object_ordered(KZ_JSON_ORDER_JAVA_CHM, keys, vals, (size_t)n);
    }
    free(keys);
    free(vals);
    if (!cfg)
        return NULL;
    const char *k2[] = { "version", "config" };
    json_t *v2[] = { json_integer(1), cfg };
    return kb_zk_emit(KB_OBJ(KZ_JSON_ORDER_INSERT, k2, v2), len);
}

int kb_zk_config_decode(const void *data, size_t len, kz_arena *a, kb_zk_config *out, char *err,
                        size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!data)
        return 0; /* a null znode: no overrides */
    json_t *doc = kb_zk_parse(data, len, err, errlen);
    if (!doc)
        return KB_ZK_EBADJSON;
    kz_jrd r = KZ_JRD_INIT;
    out->version = kz_jrd_i32_or(&r, doc, "version", 1);
    json_t *cfg = kz_jrd_obj(&r, doc, "config", false);
    size_t cnt = cfg ? json_object_size(cfg) : 0, i = 0;
    kb_zk_kv *kv = kb_zk_alloc(&r, a, cnt, sizeof *kv);
    const char *k;
    json_t *v;
    if (cfg && kv) {
        json_object_foreach(cfg, k, v) {
            if (!json_is_string(v)) {
                kz_jrd_fail(&r, "config value of '%s' is not a string", k);
                break;
            }
            kv[i].key = kz_jrd_dup(&r, a, k);
            kv[i++].value = kz_jrd_dup(&r, a, json_string_value(v));
        }
    }
    if (!r.err) {
        out->entries = kv;
        out->n = (int32_t)cnt;
    }
    return kb_zk_decoded(doc, &r, err, errlen);
}

char *kb_zk_config_change_encode(const char *entity_path, size_t *len)
{
    const char *keys[] = { "version", "entity_path" };
    json_t *vals[] = { json_integer(2), entity_path ? json_string(entity_path) : NULL };
    return kb_zk_emit(KB_OBJ(KZ_JSON_ORDER_INSERT, keys, vals), len);
}

int kb_zk_config_change_decode(const void *data, size_t len, kz_arena *a,
                               kb_zk_config_change *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    json_t *doc = kb_zk_parse(data, len, err, errlen);
    if (!doc)
        return KB_ZK_EBADJSON;
    kz_jrd r = KZ_JRD_INIT;
    out->version = kz_jrd_i32(&r, doc, "version");
    if (!r.err && out->version == 1) {
        const char *t = kz_jrd_str(&r, doc, "entity_type", true);
        const char *n = kz_jrd_str(&r, doc, "entity_name", true);
        if (!r.err) {
            size_t l = strlen(t) + strlen(n) + 2;
            char *p = kb_zk_alloc(&r, a, l, 1);
            if (p) {
                snprintf(p, l, "%s/%s", t, n);
                out->entity_path = p;
            }
        }
    } else if (!r.err && out->version == 2) {
        out->entity_path = kz_jrd_dup(&r, a, kz_jrd_str(&r, doc, "entity_path", true));
    } else if (!r.err) {
        kz_jrd_fail(&r, "unsupported config change notification version %" PRId32, out->version);
    }
    const char *slash = out->entity_path ? strchr(out->entity_path, '/') : NULL;
    if (!r.err && (!slash || slash == out->entity_path || !slash[1]))
        kz_jrd_fail(&r, "invalid entity_path '%s'", out->entity_path);
    if (!r.err) {
        kz_str t = kz_arena_strdup(a, (kz_str){ out->entity_path, (int32_t)(slash - out->entity_path) });
        if (!t.s)
            kz_jrd_fail(&r, "out of memory");
        out->entity_type = t.s;
        out->entity_name = slash + 1;
    }
    return kb_zk_decoded(doc, &r, err, errlen);
}

/* ========================================================= cluster id */

char *kb_zk_cluster_id_encode(const char *id, size_t *len)
{
    const char *keys[] = { "version", "id" };
    json_t *vals[] = { json_string("1"), id ? json_string(id) : NULL };
    return kb_zk_emit(KB_OBJ(KZ_JSON_ORDER_INSERT, keys, vals), len);
}

int kb_zk_cluster_id_decode(const void *data, size_t len, kz_arena *a, const char **id,
                            char *err, size_t errlen)
{
    *id = NULL;
    json_t *doc = kb_zk_parse(data, len, err, errlen);
    if (!doc)
        return KB_ZK_EBADJSON;
    kz_jrd r = KZ_JRD_INIT;
    *id = kz_jrd_dup(&r, a, kz_jrd_str(&r, doc, "id", true));
    return kb_zk_decoded(doc, &r, err, errlen);
}

/* ================================================ topic-partition lists */

/* One entry of a partition list: element @i of the array @v as a JSON object, or the JSON
 * object @e decoded into element @i of @v (strings from @a, errors through @r). */
typedef json_t *kb_zk_plist_enc_fn(const void *v, int32_t i);
typedef void kb_zk_plist_dec_fn(kz_jrd *r, json_t *e, kz_arena *a, void *v, size_t i);

/* {"version":1,"partitions":[<entry>...]}: the form shared by the partition lists of
 * /admin/preferred_replica_election, /isr_change_notification and
 * /admin/reassign_partitions; @enc builds each entry of the @n elements of @v. */
static char *kb_zk_plist_encode(const void *v, int32_t n, kb_zk_plist_enc_fn *enc, size_t *len)
{
    json_t *arr = json_array();
    for (int32_t i = 0; arr && i < n; i++) {
        if (json_array_append_new(arr, enc(v, i)) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    const char *keys[] = { "version", "partitions" };
    json_t *vals[] = { json_integer(1), arr };
    return kb_zk_emit(KB_OBJ(KZ_JSON_ORDER_INSERT, keys, vals), len);
}

/* Reads a list written by kb_zk_plist_encode: *@out an arena array of *@n elements of @esize
 * bytes, each filled by @dec (NULL and 0 on error or for an empty list). Returns 0 or
 * KB_ZK_EBADJSON with @err. */
static int kb_zk_plist_decode(const void *data, size_t len, kz_arena *a, size_t esize, kb_zk_plist_dec_fn *dec,
                              void **out, int32_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    json_t *doc = kb_zk_parse(data, len, err, errlen);
    if (!doc)
        return KB_ZK_EBADJSON;
    kz_jrd r = KZ_JRD_INIT;
    json_t *arr = kz_jrd_arr(&r, doc, "partitions", true);
    size_t cnt = arr ? json_array_size(arr) : 0;
    void *v = kb_zk_alloc(&r, a, cnt, esize);
    for (size_t i = 0; v && i < cnt && !r.err; i++)
        dec(&r, json_array_get(arr, i), a, v, i);
    if (!r.err) {
        *out = v;
        *n = (int32_t)cnt;
    }
    return kb_zk_decoded(doc, &r, err, errlen);
}

static json_t *kb_zk_tp_enc(const void *v, int32_t i)
{
    const kb_zk_tp *tp = (const kb_zk_tp *)v + i;
    const char *keys[] = { "topic", "partition" };
    json_t *vals[] = { tp->topic ? json_string(tp->topic) : NULL, json_integer(tp->partition) };
    return KB_OBJ(KZ_JSON_ORDER_INSERT, keys, vals);
}

static void kb_zk_tp_dec(kz_jrd *r, json_t *e, kz_arena *a, void *v, size_t i)
{
    kb_zk_tp *tp = (kb_zk_tp *)v + i;
    tp->topic = kz_jrd_dup(r, a, kz_jrd_str(r, e, "topic", true));
    tp->partition = kz_jrd_i32(r, e, "partition");
}

char *kb_zk_tp_list_encode(const kb_zk_tp *tps, int32_t n, size_t *len)
{
    return kb_zk_plist_encode(tps, n, kb_zk_tp_enc, len);
}

int kb_zk_tp_list_decode(const void *data, size_t len, kz_arena *a, kb_zk_tp **tps, int32_t *n,
                         char *err, size_t errlen)
{
    void *v;
    int rc = kb_zk_plist_decode(data, len, a, sizeof **tps, kb_zk_tp_dec, &v, n, err, errlen);
    *tps = v;
    return rc;
}

static json_t *kb_zk_reassign_enc(const void *v, int32_t i)
{
    const kb_zk_reassign *ra = (const kb_zk_reassign *)v + i;
    const char *keys[] = { "topic", "partition", "replicas" };
    json_t *vals[] = { ra->topic ? json_string(ra->topic) : NULL, json_integer(ra->partition),
                       kb_zk_i32_array(ra->replicas, ra->n_replicas) };
    return KB_OBJ(KZ_JSON_ORDER_INSERT, keys, vals);
}

static void kb_zk_reassign_dec(kz_jrd *r, json_t *e, kz_arena *a, void *v, size_t i)
{
    kb_zk_reassign *ra = (kb_zk_reassign *)v + i;
    ra->topic = kz_jrd_dup(r, a, kz_jrd_str(r, e, "topic", true));
    ra->partition = kz_jrd_i32(r, e, "partition");
    ra->replicas = kz_jrd_i32s(r, kz_jrd_arr(r, e, "replicas", true), a, &ra->n_replicas, "replicas");
}

char *kb_zk_reassign_encode(const kb_zk_reassign *ra, int32_t n, size_t *len)
{
    return kb_zk_plist_encode(ra, n, kb_zk_reassign_enc, len);
}

int kb_zk_reassign_decode(const void *data, size_t len, kz_arena *a, kb_zk_reassign **ra,
                          int32_t *n, char *err, size_t errlen)
{
    void *v;
    int rc = kb_zk_plist_decode(data, len, a, sizeof **ra, kb_zk_reassign_dec, &v, n, err, errlen);
    *ra = v;
    return rc;
}

/* =============================================== small notification nodes */

char *kb_zk_log_dir_event_encode(int32_t broker_id, size_t *len)
{
    const char *keys[] = { "version", "broker", "event" };
    json_t *vals[] = { json_integer(1), json_integer(broker_id), json_integer(1) };
    return kb_zk_emit(KB_OBJ(KZ_JSON_ORDER_INSERT, keys, vals), len);
}

int kb_zk_log_dir_event_decode(const void *data, size_t len, int32_t *broker_id, char *err,
                               size_t errlen)
{
    json_t *doc = kb_zk_parse(data, len, err, errlen);
    if (!doc)
        return KB_ZK_EBADJSON;
    kz_jrd r = KZ_JRD_INIT;
    *broker_id = kz_jrd_i32(&r, doc, "broker");
    return kb_zk_decoded(doc, &r, err, errlen);
}

char *kb_zk_pid_block_encode(const kb_zk_pid_block *b, size_t *len)
{
    const char *keys[] = { "version", "broker", "block_start", "block_end" };
    json_t *vals[] = { json_integer(1), json_integer(b->broker_id), kb_zk_i64_string(b->block_start),
                       kb_zk_i64_string(b->block_end) };
    return kb_zk_emit(KB_OBJ(KZ_JSON_ORDER_INSERT, keys, vals), len);
}

int kb_zk_pid_block_decode(const void *data, size_t len, kb_zk_pid_block *out, char *err,
                           size_t errlen)
{
    memset(out, 0, sizeof *out);
    json_t *doc = kb_zk_parse(data, len, err, errlen);
    if (!doc)
        return KB_ZK_EBADJSON;
    kz_jrd r = KZ_JRD_INIT;
    out->version = kz_jrd_i32_or(&r, doc, "version", 1);
    out->broker_id = kz_jrd_i32(&r, doc, "broker");
    out->block_start = kz_jrd_numstr(&r, doc, "block_start", true, 0);
    out->block_end = kz_jrd_numstr(&r, doc, "block_end", true, 0);
    if (!r.err && out->block_end < out->block_start)
        kz_jrd_fail(&r, "block_end %" PRId64 " is below block_start %" PRId64, out->block_end,
                    out->block_start);
    return kb_zk_decoded(doc, &r, err, errlen);
}

char *kb_zk_feature_encode(const kb_zk_feature_node *f, size_t *len)
{
    const char *keys[] = { "version", "status", "features" };
    json_t *vals[] = { json_integer(1), json_integer(f->status),
                       kb_zk_features_json(f->features, f->n_features, "min_version_level",
                                           "max_version_level") };
    return kb_zk_emit(KB_OBJ(KZ_JSON_ORDER_SCALA_MUTABLE, keys, vals), len);
}

int kb_zk_feature_decode(const void *data, size_t len, kz_arena *a, kb_zk_feature_node *out,
                         char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    json_t *doc = kb_zk_parse(data, len, err, errlen);
    if (!doc)
        return KB_ZK_EBADJSON;
    kz_jrd r = KZ_JRD_INIT;
    out->version = kz_jrd_i32(&r, doc, "version");
    out->status = kz_jrd_i32(&r, doc, "status");
    if (!r.err && out->status != 0 && out->status != 1)
        kz_jrd_fail(&r, "invalid feature status %" PRId32, out->status);
    kb_zk_features_parse(&r, a, kz_jrd_obj(&r, doc, "features", false), "min_version_level",
                         "max_version_level", &out->features, &out->n_features);
    return kb_zk_decoded(doc, &r, err, errlen);
}

/* ========================================================== operations */

/* A request that failed without an answer (the connection dropped): Kafka
 * sends it again once connected (retryRequestUntilConnected); the library
 * queues it until then. A reply lost after the server applied the request
 * is why the steps below also recognise their own earlier success. */
static bool kb_zk_retriable(int rc)
{
    return rc == KZ_ZCONNECTIONLOSS || rc == KZ_ZOPERATIONTIMEOUT;
}

/* ---- persistent paths: every ensure at once, count the answers */

typedef struct kb_zk_ensure_op {
    kb_zk_done_fn *fn;
    void *ctx;
    int pending, rc;
} kb_zk_ensure_op;

static void kb_zk_ensure_step(kb_zk_ensure_op *o)
{
    if (--o->pending > 0)
        return;
    kb_zk_done_fn *fn = o->fn;
    void *ctx = o->ctx;
    int rc = o->rc;
    free(o);
    fn(ctx, rc);
}

static void kb_zk_ensure_done(void *ctx, const kz_zkc_result *res)
{
    kb_zk_ensure_op *o = ctx;
    if (res->rc != KZ_ZOK && !o->rc) {
        kz_log_write(KZ_LOG_ERROR, KB_ZK_LOG, "Cannot create %s: %s", res->path,
                     kz_zkc_strerror(res->rc));
        o->rc = res->rc;
    }
    kb_zk_ensure_step(o);
}

int kb_zk_ensure_persistent_paths(kz_zkc *z, kb_zk_done_fn *fn, void *ctx)
{
    kb_zk_ensure_op *o = calloc(1, sizeof *o);
    if (!o)
        return KZ_ZSYSTEMERROR;
    *o = (kb_zk_ensure_op){ fn, ctx, 0, 0 };
    for (size_t i = 0; kb_zk_persistent_paths[i]; i++) {
        int rc = kz_zkc_ensure_path(z, kb_zk_persistent_paths[i], kb_zk_ensure_done, o);
        if (rc != 0) {
            if (o->pending == 0) { /* nothing sent: no callback */
                free(o);
                return rc;
            }
            o->rc = rc;
            break;
        }
        o->pending++;
    }
    return 0; /* the last answer calls fn */
}

/* ---- cluster id: get, else create, else (lost a race) get again */

typedef struct kb_zk_cid_op {
    kz_zkc *z;
    kb_zk_cluster_id_fn *fn;
    void *ctx;
    int attempts;
    char id[23];
} kb_zk_cid_op;

static void kb_zk_cid_got(void *ctx, const kz_zkc_result *res);

static void kb_zk_cid_finish(kb_zk_cid_op *o, int rc, const char *id)
{
    kb_zk_cluster_id_fn *fn = o->fn;
    void *uctx = o->ctx;
    char copy[256] = "";
    if (id)
        snprintf(copy, sizeof copy, "%s", id);
    free(o);
    fn(uctx, rc, rc == KZ_ZOK ? copy : NULL);
}

static void kb_zk_cid_created(void *ctx, const kz_zkc_result *res)
{
    kb_zk_cid_op *o = ctx;
    if (res->rc == KZ_ZOK) {
        kz_log_write(KZ_LOG_INFO, "kafka.server.KafkaServer", "Cluster ID = %s", o->id);
        kb_zk_cid_finish(o, KZ_ZOK, o->id);
        return;
    }
    int rc = res->rc;
    if (rc == KZ_ZNODEEXISTS && o->attempts++ < 3) /* another broker was first: take its id */
        rc = kz_zkc_get(o->z, KB_ZK_CLUSTER_ID, NULL, NULL, kb_zk_cid_got, o);
    if (rc != KZ_ZOK)
        kb_zk_cid_finish(o, rc, NULL);
}

static void kb_zk_cid_got(void *ctx, const kz_zkc_result *res)
{
    kb_zk_cid_op *o = ctx;
    if (res->rc == KZ_ZNONODE && o->attempts++ < 3) {
        kz_uuid u;
        kb_zk_uuid_random(&u);
        kb_zk_uuid_str(&u, o->id);
        size_t len = 0;
        char *js = kb_zk_cluster_id_encode(o->id, &len);
        int rc = js ? kz_zkc_create(o->z, KB_ZK_CLUSTER_ID, js, (int32_t)len,
                                    KZ_ZKC_PERSISTENT | KZ_ZKC_PARENTS, kb_zk_cid_created, o)
                    : KZ_ZSYSTEMERROR;
        free(js);
        if (rc != KZ_ZOK)
            kb_zk_cid_finish(o, rc, NULL);
        return;
    }
    if (res->rc != KZ_ZOK) {
        kb_zk_cid_finish(o, res->rc, NULL);
        return;
    }
    kz_arena a = KZ_ARENA_INIT;
    const char *id = NULL;
    char err[200];
    int rc = kb_zk_cluster_id_decode(res->data, res->data ? (size_t)res->data_len : 0, &a, &id,
                                     err, sizeof err);
    if (rc != 0)
        kz_log_write(KZ_LOG_ERROR, KB_ZK_LOG, "Invalid %s: %s", KB_ZK_CLUSTER_ID, err);
    kb_zk_cid_finish(o, rc, id);
    kz_arena_reset(&a);
}

int kb_zk_get_or_create_cluster_id(kz_zkc *z, kb_zk_cluster_id_fn *fn, void *ctx)
{
    kb_zk_cid_op *o = calloc(1, sizeof *o);
    if (!o)
        return KZ_ZSYSTEMERROR;
    o->z = z;
    o->fn = fn;
    o->ctx = ctx;
    int rc = kz_zkc_get(z, KB_ZK_CLUSTER_ID, NULL, NULL, kb_zk_cid_got, o);
    if (rc != 0)
        free(o);
    return rc;
}

/* ---- broker registration (Kafka's checked ephemeral create) */

typedef struct kb_zk_reg_op {
    kz_zkc *z;
    kb_zk_register_fn *fn;
    void *ctx;
    char path[32]; /* /brokers/ids/<int32> */
    char *json;
    size_t len;
    int attempts;
} kb_zk_reg_op;

static void kb_zk_reg_finish(kb_zk_reg_op *o, int rc, int64_t epoch, const char *msg)
{
    kb_zk_register_fn *fn = o->fn;
    void *ctx = o->ctx;
    free(o->json);
    free(o);
    fn(ctx, rc, epoch, msg);
}

static int kb_zk_reg_send(kb_zk_reg_op *o);

static void kb_zk_reg_got(void *ctx, const kz_zkc_result *res)
{
    kb_zk_reg_op *o = ctx;
    char msg[400];
    if (res->rc == KZ_ZNONODE && o->attempts < 3) {
        kz_log_write(KZ_LOG_INFO, KB_ZK_LOG,
                     "The ephemeral node at %s went away while reading it, attempting create() again",
                     o->path);
        int rc = kb_zk_reg_send(o);
        if (rc != KZ_ZOK)
            kb_zk_reg_finish(o, rc, 0, kz_zkc_strerror(rc));
        return;
    }
    if (res->rc != KZ_ZOK) {
        snprintf(msg, sizeof msg, "Error while creating ephemeral at %s, node already exists and "
                 "could not be read: %s", o->path, kz_zkc_strerror(res->rc));
        kz_log_write(KZ_LOG_ERROR, KB_ZK_LOG, "%s", msg);
        kb_zk_reg_finish(o, res->rc, 0, msg);
        return;
    }
    int64_t sid = kz_zkc_session_id(o->z);
    if (res->stat.ephemeral_owner != sid) {
        snprintf(msg, sizeof msg, "Error while creating ephemeral at %s, node already exists and "
                 "owner '%" PRId64 "' does not match current session '%" PRId64 "'",
                 o->path, res->stat.ephemeral_owner, sid);
        kz_log_write(KZ_LOG_ERROR, KB_ZK_LOG, "%s", msg);
        kb_zk_reg_finish(o, KZ_ZNODEEXISTS, 0, msg);
        return;
    }
    kb_zk_reg_finish(o, KZ_ZOK, res->stat.czxid, NULL); /* ours already (a retried create) */
}

static void kb_zk_reg_created(void *ctx, const kz_zkc_result *res)
{
    kb_zk_reg_op *o = ctx;
    if (res->rc == KZ_ZOK) {
        int64_t epoch = res->ops[1].stat.czxid;
        kz_log_write(KZ_LOG_INFO, KB_ZK_LOG, "Registered broker at path %s, czxid (broker epoch): %" PRId64,
                     o->path, epoch);
        kb_zk_reg_finish(o, KZ_ZOK, epoch, NULL);
        return;
    }
    int rc = res->rc;
    if (kb_zk_retriable(rc) && o->attempts < 5) /* the same request again, as Kafka does */
        rc = kb_zk_reg_send(o);
    else if (rc == KZ_ZNODEEXISTS)
        rc = kz_zkc_get(o->z, o->path, NULL, NULL, kb_zk_reg_got, o);
    if (rc != KZ_ZOK) {
        char msg[300];
        snprintf(msg, sizeof msg, "Error while creating ephemeral at %s with return code: %s",
                 o->path, kz_zkc_strerror(rc));
        kz_log_write(KZ_LOG_ERROR, KB_ZK_LOG, "%s", msg);
        kb_zk_reg_finish(o, rc, 0, msg);
    }
}

static int kb_zk_reg_send(kb_zk_reg_op *o)
{
    o->attempts++;
    kz_zkc_op ops[2] = {
        { .type = KZ_ZKC_OP_CREATE, .path = o->path, .data = NULL, .len = -1, .flags = KZ_ZKC_EPHEMERAL },
        { .type = KZ_ZKC_OP_SET, .path = o->path, .data = o->json, .len = (int32_t)o->len, .version = 0 },
    };
    return kz_zkc_multi(o->z, ops, 2, kb_zk_reg_created, o);
}

int kb_zk_register_broker(kz_zkc *z, int32_t broker_id, const kb_zk_broker *info,
                          kb_zk_register_fn *fn, void *ctx)
{
    kb_zk_reg_op *o = calloc(1, sizeof *o);
    if (!o)
        return KZ_ZSYSTEMERROR;
    *o = (kb_zk_reg_op){ .z = z, .fn = fn, .ctx = ctx };
    kb_zk_broker b = *info;
    if (!b.timestamp)
        b.timestamp = kz_wall_ms();
    if (kb_zk_path_broker(o->path, sizeof o->path, broker_id) < 0) {
        free(o);
        return KZ_ZBADARGUMENTS;
    }
    o->json = kb_zk_broker_encode(&b, &o->len);
    int rc = o->json ? kb_zk_reg_send(o) : KZ_ZBADARGUMENTS;
    if (rc != 0) {
        free(o->json);
        free(o);
    }
    return rc;
}

/* ---- controller election */

typedef struct kb_zk_elect_op {
    kz_zkc *z;
    kb_zk_elect_fn *fn;
    void *ctx;
    int32_t me;
    int32_t new_epoch;
    int32_t epoch_zkv; /* version of /controller_epoch the multi expects */
    int attempts, sends;
} kb_zk_elect_op;

static void kb_zk_elect_finish(kb_zk_elect_op *o, kb_zk_election res)
{
    kb_zk_elect_fn *fn = o->fn;
    void *ctx = o->ctx;
    free(o);
    fn(ctx, &res);
}

static void kb_zk_elect_fail(kb_zk_elect_op *o, int rc)
{
    kb_zk_elect_finish(o, (kb_zk_election){ .rc = rc, .controller_id = -1 });
}

/* The next step was started with result @rc: when it could not be, the round ends with it. */
static void kb_zk_elect_sent(kb_zk_elect_op *o, int rc)
{
    if (rc != KZ_ZOK)
        kb_zk_elect_fail(o, rc);
}

/* A read answered @res. Returns whether it found the node; otherwise the round ends with the
 * read's error. */
static bool kb_zk_elect_read_ok(kb_zk_elect_op *o, const kz_zkc_result *res)
{
    if (res->rc == KZ_ZOK)
        return true;
    kb_zk_elect_fail(o, res->rc);
    return false;
}

/* The data of @path did not decode (@err says why): logged, and the round ends with
 * KB_ZK_EBADJSON. */
static void kb_zk_elect_bad(kb_zk_elect_op *o, const char *path, const char *err)
{
    kz_log_write(KZ_LOG_ERROR, KB_ZK_LOG, "Invalid %s: %s", path, err);
    kb_zk_elect_fail(o, KB_ZK_EBADJSON);
}

static void kb_zk_elect_epoch_read(void *ctx, const kz_zkc_result *res);
static void kb_zk_elect_check_controller(void *ctx, const kz_zkc_result *res);
static int kb_zk_elect_send(kb_zk_elect_op *o);

/* The multi's answer: won, or go and see who did. */
static void kb_zk_elect_multi_done(void *ctx, const kz_zkc_result *res)
{
    kb_zk_elect_op *o = ctx;
    if (res->rc == KZ_ZOK) {
        kb_zk_elect_finish(o, (kb_zk_election){ .rc = KZ_ZOK, .won = true, .epoch = o->new_epoch,
                                                .epoch_zk_version = res->ops[1].stat.version,
                                                .controller_id = o->me });
        return;
    }
    int rc = res->rc;
    if (kb_zk_retriable(rc) && o->sends < 5)
        rc = kb_zk_elect_send(o); /* same epoch, same expected version */
    else if (rc == KZ_ZNODEEXISTS || rc == KZ_ZBADVERSION)
        rc = kz_zkc_get(o->z, KB_ZK_CONTROLLER, NULL, NULL, kb_zk_elect_check_controller, o);
    kb_zk_elect_sent(o, rc);
}

/* /controller_epoch read after the controller turned out to be us: won only
 * if the epoch is the one this round wrote (our multi did apply although its
 * reply was lost). Any other epoch means this broker's claim is from an
 * earlier round: Kafka aborts with ControllerMovedException there, and so
 * do we (rc KB_ZK_ECONTROLLER_MOVED). */
static void kb_zk_elect_check_epoch(void *ctx, const kz_zkc_result *res)
{
    kb_zk_elect_op *o = ctx;
    int32_t epoch = -1;
    char err[100];
    if (res->rc == KZ_ZOK && res->data &&
        kb_zk_epoch_decode(res->data, (size_t)res->data_len, &epoch, err, sizeof err) == 0 &&
        epoch == o->new_epoch) {
        kb_zk_elect_finish(o, (kb_zk_election){ .rc = KZ_ZOK, .won = true, .epoch = epoch,
                                                .epoch_zk_version = res->stat.version,
                                                .controller_id = o->me });
        return;
    }
    kb_zk_elect_fail(o, res->rc != KZ_ZOK && res->rc != KZ_ZNONODE ? res->rc
                                                                    : KB_ZK_ECONTROLLER_MOVED);
}

static void kb_zk_elect_check_controller(void *ctx, const kz_zkc_result *res)
{
    kb_zk_elect_op *o = ctx;
    if (res->rc == KZ_ZNONODE) { /* went away meanwhile: the caller's watch re-elects */
        kb_zk_elect_finish(o, (kb_zk_election){ .rc = KZ_ZOK, .controller_id = -1 });
        return;
    }
    if (!kb_zk_elect_read_ok(o, res))
        return;
    kb_zk_controller c;
    char err[200];
    if (kb_zk_controller_decode(res->data, res->data ? (size_t)res->data_len : 0, &c, err, sizeof err) != 0) {
        kb_zk_elect_bad(o, KB_ZK_CONTROLLER, err);
        return;
    }
    if (c.broker_id == o->me) {
        kb_zk_elect_sent(o, kz_zkc_get(o->z, KB_ZK_CONTROLLER_EPOCH, NULL, NULL, kb_zk_elect_check_epoch, o));
        return;
    }
    kb_zk_elect_finish(o, (kb_zk_election){ .rc = KZ_ZOK, .controller_id = c.broker_id });
}

/* Sends the election multi for o->new_epoch at o->epoch_zkv. */
static int kb_zk_elect_send(kb_zk_elect_op *o)
{
    o->sends++;
    size_t clen = 0, elen = 0;
    char *cj = kb_zk_controller_encode(o->me, kz_wall_ms(), &clen);
    char *ej = kb_zk_epoch_encode(o->new_epoch, &elen);
    int rc = KZ_ZSYSTEMERROR;
    if (cj && ej) {
        kz_zkc_op ops[2] = {
            { .type = KZ_ZKC_OP_CREATE, .path = KB_ZK_CONTROLLER, .data = cj, .len = (int32_t)clen,
              .flags = KZ_ZKC_EPHEMERAL },
            { .type = KZ_ZKC_OP_SET, .path = KB_ZK_CONTROLLER_EPOCH, .data = ej, .len = (int32_t)elen,
              .version = o->epoch_zkv },
        };
        rc = kz_zkc_multi(o->z, ops, 2, kb_zk_elect_multi_done, o);
    }
    free(cj);
    free(ej);
    return rc;
}

/* The current epoch and its version are known: try to take the next one. */
static void kb_zk_elect_try(kb_zk_elect_op *o, int32_t epoch, int32_t zk_version)
{
    o->new_epoch = epoch + 1;
    o->epoch_zkv = zk_version;
    kb_zk_elect_sent(o, kb_zk_elect_send(o));
}

static void kb_zk_elect_epoch_created(void *ctx, const kz_zkc_result *res)
{
    kb_zk_elect_op *o = ctx;
    if (res->rc == KZ_ZOK) {
        kb_zk_elect_try(o, 0, 0);
        return;
    }
    int rc = res->rc;
    if (rc == KZ_ZNODEEXISTS && o->attempts++ < 3) /* created by another broker: read it */
        rc = kz_zkc_get(o->z, KB_ZK_CONTROLLER_EPOCH, NULL, NULL, kb_zk_elect_epoch_read, o);
    kb_zk_elect_sent(o, rc);
}

static void kb_zk_elect_epoch_read(void *ctx, const kz_zkc_result *res)
{
    kb_zk_elect_op *o = ctx;
    if (res->rc == KZ_ZNONODE && o->attempts++ < 3) {
        kb_zk_elect_sent(o, kz_zkc_create(o->z, KB_ZK_CONTROLLER_EPOCH, "0", 1, KZ_ZKC_PERSISTENT,
                                          kb_zk_elect_epoch_created, o));
        return;
    }
    if (!kb_zk_elect_read_ok(o, res))
        return;
    int32_t epoch;
    char err[100];
    if (kb_zk_epoch_decode(res->data, res->data ? (size_t)res->data_len : 0, &epoch, err, sizeof err) != 0) {
        kb_zk_elect_bad(o, KB_ZK_CONTROLLER_EPOCH, err);
        return;
    }
    kb_zk_elect_try(o, epoch, res->stat.version);
}

int kb_zk_elect_controller(kz_zkc *z, int32_t broker_id, kb_zk_elect_fn *fn, void *ctx)
{
    kb_zk_elect_op *o = calloc(1, sizeof *o);
    if (!o)
        return KZ_ZSYSTEMERROR;
    *o = (kb_zk_elect_op){ .z = z, .fn = fn, .ctx = ctx, .me = broker_id };
    int rc = kz_zkc_get(z, KB_ZK_CONTROLLER_EPOCH, NULL, NULL, kb_zk_elect_epoch_read, o);
    if (rc != 0)
        free(o);
    return rc;
}

/* ---- controller writes fenced by the epoch znode's version */

typedef struct kb_zk_cw_op {
    kz_zkc_done_fn *fn;
    void *ctx;
} kb_zk_cw_op;

static void kb_zk_cw_done(void *ctx, const kz_zkc_result *res)
{
    kb_zk_cw_op o = *(kb_zk_cw_op *)ctx;
    free(ctx);
    kz_zkc_result r = *res;
    if (res->n_ops > 0) {
        int check = res->ops[0].rc;
        if (check == KZ_ZBADVERSION)
            r.rc = KB_ZK_ECONTROLLER_MOVED;
        else if (check != KZ_ZOK && check != KZ_ZRUNTIMEINCONSISTENCY)
            r.rc = check;
        r.ops = res->ops + 1;
        r.n_ops = res->n_ops - 1;
    }
    o.fn(o.ctx, &r);
}

int kb_zk_controller_multi(kz_zkc *z, int32_t epoch_zk_version, const kz_zkc_op *ops, int n,
                           kz_zkc_done_fn *fn, void *ctx)
{
    if (n <= 0 || !ops)
        return KZ_ZBADARGUMENTS;
    kz_zkc_op *all = malloc(((size_t)n + 1) * sizeof *all);
    kb_zk_cw_op *o = malloc(sizeof *o);
    int rc = KZ_ZSYSTEMERROR;
    if (all && o) {
        all[0] = (kz_zkc_op){ .type = KZ_ZKC_OP_CHECK, .path = KB_ZK_CONTROLLER_EPOCH,
                              .version = epoch_zk_version };
        memcpy(all + 1, ops, (size_t)n * sizeof *ops);
        *o = (kb_zk_cw_op){ fn, ctx };
        rc = kz_zkc_multi(z, all, n + 1, kb_zk_cw_done, o);
    }
    free(all);
    if (rc != 0)
        free(o);
    return rc;
}
