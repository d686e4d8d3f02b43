/* coordinator/zkd_config.c -- zoo.cfg / zookeeper.properties + myid loader (see zkd_config.h).
 *
 * Flow: zeroed struct -> kz_cfg_load() over zkd_cfg_keys (defaults, typed values, range
 * checks; server.N lines go through the unknown-key callback into c->servers) -> finish():
 * derived values and cross-key rules in the order QuorumPeerConfig applies them
 * (snapRetainCount floor, dataLogDir, server list, myid, client port, session timeouts,
 * whitelist). Any error frees everything and reports one line naming the key.
 *
 * myid file format (ZooKeeper's): the server id in decimal on the first line; we also accept
 * surrounding blanks. Read only when server.N lines exist. */
#include "zkd_config.h"

#include "kz_buf.h"
#include "kz_config.h"
#include "kz_log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define ZKD_MIN_SNAP_RETAIN 3   /* QuorumPeerConfig.MIN_SNAP_RETAIN_COUNT */
#define ZKD_MAX_SERVER_ID   255 /* the id is the top byte of every session id */

static const char *zkd_cfg_parse_peer(const kz_cfg_key *k, void *field, const char *value);
static const char *zkd_cfg_nonempty(const kz_cfg_key *k, const void *field, const char *raw);
static const char *zkd_cfg_eq3(const kz_cfg_key *k, const void *field, const char *raw);

#define ZO(f) offsetof(zkd_config, f)
static const char *zkd_cfg_parse_yesno(const kz_cfg_key *k, void *field, const char *value);
static const kz_cfg_key zkd_cfg_keys[] = {
    /* name                              type           offset                                 default        check, parse */
    { "tickTime",                        KZ_CFG_I32,    ZO(tick_time),                         "3000",        kz_cfg_gt0, NULL },
    { "initLimit",                       KZ_CFG_I32,    ZO(init_limit),                        "0",           kz_cfg_ge0, NULL },
    { "syncLimit",                       KZ_CFG_I32,    ZO(sync_limit),                        "0",           kz_cfg_ge0, NULL },
    { "dataDir",                         KZ_CFG_STR,    ZO(data_dir),                          NULL,          kz_cfg_required, NULL },
    { "dataLogDir",                      KZ_CFG_STR,    ZO(data_log_dir),                      NULL,          zkd_cfg_nonempty, NULL },
    { "clientPort",                      KZ_CFG_I32,    ZO(client_port),                       "0",           kz_cfg_port0, NULL },
    { "clientPortAddress",               KZ_CFG_STR,    ZO(client_port_address),               NULL,          zkd_cfg_nonempty, NULL },
    { "clientPortListenBacklog",         KZ_CFG_I32,    ZO(client_port_listen_backlog),        "-1",          kz_cfg_ge_m1, NULL },
    { "maxClientCnxns",                  KZ_CFG_I32,    ZO(max_client_cnxns),                  "60",          kz_cfg_ge0, NULL },
    { "maxCnxns",                        KZ_CFG_I32,    ZO(max_cnxns),                         "0",           kz_cfg_ge0, NULL },
    { "minSessionTimeout",               KZ_CFG_I32,    ZO(min_session_timeout),               "-1",          kz_cfg_ge_m1, NULL },
    { "maxSessionTimeout",               KZ_CFG_I32,    ZO(max_session_timeout),               "-1",          kz_cfg_ge_m1, NULL },
    { "admin.enableServer",              KZ_CFG_BOOL,   ZO(admin_enable_server),               "true",        NULL, NULL },
    { "4lw.commands.whitelist",          KZ_CFG_STR,    ZO(flw_whitelist),                     "srvr",        NULL, NULL },
    { "autopurge.snapRetainCount",       KZ_CFG_I32,    ZO(autopurge_snap_retain_count),       "3",           NULL, NULL },
    { "autopurge.purgeInterval",         KZ_CFG_I32,    ZO(autopurge_purge_interval),          "0",           NULL, NULL },
    { "snapCount",                       KZ_CFG_I32,    ZO(snap_count),                        "100000",      kz_cfg_gt0, NULL },
    { "preAllocSize",                    KZ_CFG_I32,    ZO(pre_alloc_size),                    "65536",       kz_cfg_gt0, NULL },
    { "jute.maxbuffer",                  KZ_CFG_I32,    ZO(jute_max_buffer),                   "1048575",     kz_cfg_gt0, NULL },
    { "extendedTypesEnabled",            KZ_CFG_BOOL,   ZO(extended_types_enabled),            "false",       NULL, NULL },
    { "zookeeper.extendedTypesEnabled",  KZ_CFG_BOOL,   ZO(extended_types_enabled),            NULL,          NULL, NULL },
    { "znode.container.checkIntervalMs", KZ_CFG_I32,    ZO(container_check_interval_ms),       "60000",       kz_cfg_gt0, NULL },
    { "znode.container.maxPerMinute",    KZ_CFG_I32,    ZO(container_max_per_minute),          "10000",       kz_cfg_gt0, NULL },
    { "globalOutstandingLimit",          KZ_CFG_I32,    ZO(global_outstanding_limit),          "1000",        kz_cfg_gt0, NULL },
    { "syncEnabled",                     KZ_CFG_BOOL,   ZO(sync_enabled),                      "true",        NULL, NULL },
    { "forceSync",                       KZ_CFG_CUSTOM, ZO(force_sync),                        "yes",         NULL, zkd_cfg_parse_yesno },
    { "zookeeper.forceSync",             KZ_CFG_CUSTOM, ZO(force_sync),                        NULL,          NULL, zkd_cfg_parse_yesno },
    { "DigestAuthenticationProvider.superDigest", KZ_CFG_STR, ZO(super_digest),               NULL,          zkd_cfg_nonempty, NULL },
    { "zookeeper.DigestAuthenticationProvider.superDigest", KZ_CFG_STR, ZO(super_digest),     NULL,          zkd_cfg_nonempty, NULL },
    { "peerType",                        KZ_CFG_CUSTOM, ZO(peer_type),                         "participant", NULL, zkd_cfg_parse_peer },
    { "electionAlg",                     KZ_CFG_I32,    ZO(election_alg),                      "3",           zkd_cfg_eq3, NULL },
    { "standaloneEnabled",               KZ_CFG_BOOL,   ZO(standalone_enabled),                "true",        NULL, NULL },
    { "reconfigEnabled",                 KZ_CFG_BOOL,   ZO(reconfig_enabled),                  "false",       NULL, NULL },
    { "quorumListenOnAllIPs",            KZ_CFG_BOOL,   ZO(quorum_listen_on_all_ips),          "false",       NULL, NULL },
    { "localSessionsEnabled",            KZ_CFG_BOOL,   ZO(local_sessions_enabled),            "false",       NULL, NULL },
    { "localSessionsUpgradingEnabled",   KZ_CFG_BOOL,   ZO(local_sessions_upgrading_enabled),  "false",       NULL, NULL },
    { "dynamicConfigFile",               KZ_CFG_STR,    ZO(dynamic_config_file),               NULL,          NULL, NULL },
    /* ZooKeeper keys zkd accepts without acting on them (no TLS, metrics or admin server) */
    { "secureClientPort",                KZ_CFG_IGNORE, 0,                                     NULL,          NULL, NULL },
    { "secureClientPortAddress",         KZ_CFG_IGNORE, 0,                                     NULL,          NULL, NULL },
    { "metricsProvider.className",       KZ_CFG_IGNORE, 0,                                     NULL,          NULL, NULL },
    { "audit.enable",                    KZ_CFG_IGNORE, 0,                                     NULL,          NULL, NULL },
    { "admin.serverPort",                KZ_CFG_IGNORE, 0,                                     NULL,          NULL, NULL },
    { "admin.serverAddress",             KZ_CFG_IGNORE, 0,                                     NULL,          NULL, NULL },
};
#define ZKD_NKEYS (sizeof zkd_cfg_keys / sizeof zkd_cfg_keys[0])

/* forceSync: "no" turns fsync of the txn log off (ZooKeeper's system
 * property zookeeper.forceSync); anything else keeps it on. */
static const char *zkd_cfg_parse_yesno(const kz_cfg_key *k, void *field, const char *value)
{
    (void)k;
    *(bool *)field = strcasecmp(value, "no") != 0;
    return NULL;
}

/* peerType: observer | participant, any case (QuorumPeerConfig lower-cases it). */
static const char *zkd_cfg_parse_peer(const kz_cfg_key *k, void *field, const char *value)
{
    (void)k;
    if (strcasecmp(value, "observer") == 0)
        *(zkd_peer_type *)field = ZKD_PEER_OBSERVER;
    else if (strcasecmp(value, "participant") == 0)
        *(zkd_peer_type *)field = ZKD_PEER_PARTICIPANT;
    else
        return "unrecognised peer type (observer or participant)";
    return NULL;
}

/* A path or address that is given must not be empty. */
static const char *zkd_cfg_nonempty(const kz_cfg_key *k, const void *field, const char *raw)
{
    (void)k;
    return raw && **(char *const *)field == '\0' ? "must not be empty" : NULL;
}

static const char *zkd_cfg_eq3(const kz_cfg_key *k, const void *field, const char *raw)
{
    return raw && kz_cfg_int(k, field) != 3 ? "only 3 (fast leader election) is supported" : NULL;
}

/* ---- server.N ---- */

/* ConfigUtils.getHostAndPort: split "host:a:b" or "[v6addr]:a:b" in place into at most @maxf
 * fields (@f[0] = host without brackets). Returns the count, or -1 with *why. */
static int zkd_split_hostport(char *s, char **f, int maxf, const char **why)
{
    int n = 0;
    char *p = s;
    if (*s == '[') {
        char *e = strchr(s, ']');
        if (!e) {
            *why = "starts with '[' but has no matching ']'";
            return -1;
        }
        *e = '\0';
        f[n++] = s + 1;
        if (e[1] == '\0')
            return n;
        if (e[1] != ':' || e[2] == '\0') {
            *why = "no port after ']:'";
            return -1;
        }
        p = e + 2;
    }
    for (;;) {
        if (n == maxf) {
            *why = "too many ':' separated fields";
            return -1;
        }
        f[n++] = p;
        char *c = strchr(p, ':');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

/* Strict port 1..65535 (Integer.parseInt + InetSocketAddress). */
static int zkd_parse_port(const char *s, int32_t *out)
{
    return kz_cfg_parse_i32(s, out) == 0 && *out >= 1 && *out <= 65535 ? 0 : -1;
}

/* QuorumServer(sid, addressStr) of ZooKeeper 3.8, minus multi-address ('|'). Fills @sd (its
 * strings malloc'd) from trimmed @value. Returns NULL or the reason it is malformed. */
static const char *zkd_server_parse(zkd_server_def *sd, const char *value)
{
    char *cp = strdup(value), *client = NULL, *f[4], *g[2];
    const char *why = NULL;
    int n, m;
    if (!cp)
        return "out of memory";
    char *semi = strchr(cp, ';');
    if (semi) {
        *semi = '\0';
        client = semi + 1;
        if (strchr(client, ';')) {
            why = "more than one ';'";
            goto out;
        }
        if (*client == '\0') /* Java's split(";") drops a trailing empty part */
            client = NULL;
    }
    if (strchr(cp, '|')) {
        why = "multiple addresses ('|') are not supported";
        goto out;
    }
    if ((n = zkd_split_hostport(cp, f, 4, &why)) < 0)
        goto out;
    if (n < 3) {
        why = "expected host:quorumPort:electionPort[:participant|:observer][;[clientHost:]clientPort]";
        goto out;
    }
    if (f[0][0] == '\0') {
        why = "empty host";
        goto out;
    }
    if (zkd_parse_port(f[1], &sd->quorum_port) != 0) {
        why = "quorum port is not a port (1..65535)";
        goto out;
    }
    if (zkd_parse_port(f[2], &sd->election_port) != 0) {
        why = "election port is not a port (1..65535)";
        goto out;
    }
    if (sd->quorum_port == sd->election_port) {
        why = "quorum and election ports must be different";
        goto out;
    }
    if (n == 4) {
        kz_cfg_trim(f[3]);
        if (strcasecmp(f[3], "observer") == 0)
            sd->observer = true;
        else if (strcasecmp(f[3], "participant") != 0) {
            why = "unrecognised peer type (observer or participant)";
            goto out;
        }
    }
    if (client) {
        if ((m = zkd_split_hostport(client, g, 2, &why)) < 0)
            goto out;
        if (zkd_parse_port(g[m - 1], &sd->client_port) != 0) {
            why = "client port is not a port (1..65535)";
            goto out;
        }
        if (m == 2 && g[0][0] == '\0') {
            why = "empty client host";
            goto out;
        }
        if (m == 2 && !(sd->client_host = strdup(g[0]))) {
            why = "out of memory";
            goto out;
        }
    }
    if (!(sd->host = strdup(f[0])))
        why = "out of memory";
out:
    free(cp);
    return why;
}

static void zkd_server_def_free(zkd_server_def *sd)
{
    free(sd->host);
    free(sd->client_host);
    sd->host = sd->client_host = NULL;
}

/* Unknown-key callback: server.N lines into c->servers (same id again: last wins),
 * metricsProvider.* accepted silently, anything else warned about. */
static int zkd_cfg_unknown(void *ctx, const char *key, const char *value, const char *src,
                           int lineno, char *err, size_t errlen)
{
    zkd_config *c = ctx;
    if (strncmp(key, "metricsProvider.", 16) == 0)
        return 0;
    if (strncmp(key, "server.", 7) != 0) {
        kz_warn("zkd_config", "Unknown key '%s' in %s ignored", key, src);
        return 0;
    }
    int64_t id;
    if (kz_cfg_parse_i64(key + 7, &id) != 0 || id < 0 || id > ZKD_MAX_SERVER_ID) {
        snprintf(err, errlen, "invalid server id in key '%s': must be 0..%d (%s:%d)", key,
                 ZKD_MAX_SERVER_ID, src, lineno);
        return -1;
    }
    zkd_server_def sd = { .id = id };
    const char *why = zkd_server_parse(&sd, value);
    if (why) {
        zkd_server_def_free(&sd);
        snprintf(err, errlen, "invalid value '%s' for %s: %s (%s:%d)", value, key, why, src,
                 lineno);
        return -1;
    }
    for (size_t i = 0; i < c->n_servers; i++) {
        if (c->servers[i].id == id) {
            zkd_server_def_free(&c->servers[i]);
            c->servers[i] = sd;
            return 0;
        }
    }
    zkd_server_def *ns = realloc(c->servers, (c->n_servers + 1) * sizeof *ns);
    if (!ns) {
        zkd_server_def_free(&sd);
        snprintf(err, errlen, "%s:%d: out of memory", src, lineno);
        return -1;
    }
    c->servers = ns;
    c->servers[c->n_servers++] = sd;
    return 0;
}

static int zkd_server_cmp(const void *a, const void *b)
{
    int64_t x = ((const zkd_server_def *)a)->id, y = ((const zkd_server_def *)b)->id;
    return (x > y) - (x < y);
}

/* ---- myid ---- */

/* Read <dataDir>/myid into c->myid: first line, blanks trimmed, decimal. 0 or -1 with @err. */
static int zkd_read_myid(zkd_config *c, char *err, size_t errlen)
{
    char path[4096], buf[128];
    int n = snprintf(path, sizeof path, "%s/myid", c->data_dir);
    if (n < 0 || (size_t)n >= sizeof path) {
        snprintf(err, errlen, "dataDir too long: %s", c->data_dir);
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "myid file is missing: cannot read %s: %s (required when server.N "
                 "lines are given)", path, strerror(errno));
        return -1;
    }
    ssize_t r;
    do
        r = read(fd, buf, sizeof buf - 1);
    while (r < 0 && errno == EINTR);
    int saved = errno;
    close(fd);
    if (r < 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(saved));
        return -1;
    }
    buf[r] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    kz_cfg_trim(buf);
    if (kz_cfg_parse_i64(buf, &c->myid) != 0) {
        snprintf(err, errlen, "invalid myid file %s: '%s' is not a number", path, buf);
        return -1;
    }
    return 0;
}

/* ---- whitelist ---- */

/* Add a 4-byte word unless present. 0, or -1 when the table is full. */
static int zkd_flw_add(zkd_config *c, const char *w)
{
    for (int i = 0; i < c->flw_count; i++)
        if (memcmp(c->flw_words[i], w, 4) == 0)
            return 0;
    if (c->flw_count == ZKD_FLW_MAX)
        return -1;
    memcpy(c->flw_words[c->flw_count++], w, 4);
    return 0;
}

/* FourLetterCommands.initializeWhitelist: comma-separated, trimmed, empty items skipped, "*"
 * enables all, "srvr" always enabled. Words that are not 4 bytes can never match: warned and
 * dropped. 0 or -1 with @err. */
static int zkd_flw_parse(zkd_config *c, char *err, size_t errlen)
{
    char *s = strdup(c->flw_whitelist), *p = s;
    int rc = 0;
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    zkd_flw_add(c, "srvr");
    while (p) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        kz_cfg_trim(p);
        if (strcmp(p, "*") == 0) {
            c->flw_all = true;
            break;
        }
        if (*p && strlen(p) != 4) {
            kz_warn("zkd_config", "4lw.commands.whitelist: '%s' is not a four-letter word, ignored",
                    p);
        } else if (*p && zkd_flw_add(c, p) != 0) {
            snprintf(err, errlen, "invalid value '%s' for 4lw.commands.whitelist: more than %d "
                     "words", c->flw_whitelist, ZKD_FLW_MAX);
            rc = -1;
            break;
        }
        p = comma ? comma + 1 : NULL;
    }
    free(s);
    return rc;
}

/* ---- cross-key rules ---- */

/* Same client host: NULL and "0.0.0.0" both mean all addresses. */
static bool zkd_same_host(const char *a, const char *b)
{
    bool any_a = !a || strcmp(a, "0.0.0.0") == 0, any_b = !b || strcmp(b, "0.0.0.0") == 0;
    return any_a || any_b ? any_a == any_b : strcmp(a, b) == 0;
}

/* Quorum rules: participants exist, limits set, myid read and listed, role and client
 * address taken from this server's line. 0 or -1 with @err. */
static int zkd_config_quorum(zkd_config *c, char *err, size_t errlen)
{
    size_t voters = 0;
    qsort(c->servers, c->n_servers, sizeof *c->servers, zkd_server_cmp);
    for (size_t i = 0; i < c->n_servers; i++)
        voters += !c->servers[i].observer;
    if (voters == 0) {
        snprintf(err, errlen, "Observers w/o participants is an invalid configuration (%s)",
                 c->path);
        return -1;
    }
    if (voters == 1 && voters < c->n_servers && c->standalone_enabled) {
        snprintf(err, errlen, "Observers w/o quorum is an invalid configuration (%s)", c->path);
        return -1;
    }
    if (c->init_limit <= 0 || c->sync_limit <= 0) {
        snprintf(err, errlen, "%s is not set in %s (must be > 0 when server.N lines are given)",
                 c->init_limit <= 0 ? "initLimit" : "syncLimit", c->path);
        return -1;
    }
    if (zkd_read_myid(c, err, errlen) != 0)
        return -1;
    const zkd_server_def *self = zkd_config_self(c);
    if (!self) {
        snprintf(err, errlen, "My id %lld not in the peer list: no server.%lld line in %s",
                 (long long)c->myid, (long long)c->myid, c->path);
        return -1;
    }
    if (c->extended_types_enabled && c->myid > 254) {
        snprintf(err, errlen, "myid %lld: server id cannot be greater than 254 when "
                 "extendedTypesEnabled is true", (long long)c->myid);
        return -1;
    }
    zkd_peer_type role = self->observer ? ZKD_PEER_OBSERVER : ZKD_PEER_PARTICIPANT;
    if (role != c->peer_type) {
        kz_warn("zkd_config", "Peer type from servers list (%s) doesn't match peerType (%s). "
                "Defaulting to servers list.", self->observer ? "OBSERVER" : "PARTICIPANT",
                c->peer_type == ZKD_PEER_OBSERVER ? "OBSERVER" : "PARTICIPANT");
        c->peer_type = role;
    }
    if (self->client_port == 0)
        return 0;
    if (c->client_port != 0 && (c->client_port != self->client_port ||
                                !zkd_same_host(c->client_port_address, self->client_host))) {
        snprintf(err, errlen, "clientPort/clientPortAddress (%s:%d) differ from the client "
                 "address on server.%lld (%s:%d) in %s",
                 c->client_port_address ? c->client_port_address : "0.0.0.0", c->client_port,
                 (long long)self->id, self->client_host ? self->client_host : "0.0.0.0",
                 self->client_port, c->path);
        return -1;
    }
    char *addr = NULL;
    if (self->client_host && !(addr = strdup(self->client_host))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    free(c->client_port_address);
    c->client_port_address = addr;
    c->client_port = self->client_port;
    return 0;
}

/* Derived values and cross-key rules after the table load. 0 or -1 with @err. */
static int zkd_config_finish(zkd_config *c, char *err, size_t errlen)
{
    if (c->autopurge_snap_retain_count < ZKD_MIN_SNAP_RETAIN) {
        kz_warn("zkd_config", "Invalid autopurge.snapRetainCount: %d. Defaulting to %d",
                c->autopurge_snap_retain_count, ZKD_MIN_SNAP_RETAIN);
        c->autopurge_snap_retain_count = ZKD_MIN_SNAP_RETAIN;
    }
    if (c->autopurge_purge_interval < 0) /* <= 0: purge task not scheduled */
        c->autopurge_purge_interval = 0;
    if (c->snap_count < 2) {
        kz_warn("zkd_config", "SnapCount should be 2 or more. Now, snapCount is reset to 2");
        c->snap_count = 2;
    }
    if (!c->data_log_dir && !(c->data_log_dir = strdup(c->data_dir))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (c->n_servers > 0 && zkd_config_quorum(c, err, errlen) != 0)
        return -1;
    if (c->client_port == 0) {
        snprintf(err, errlen, "clientPort is not set in %s (set clientPort, or ';port' on this "
                 "server's server.N line)", c->path);
        return -1;
    }
    int64_t lo = c->min_session_timeout, hi = c->max_session_timeout;
    if (lo == -1)
        lo = 2 * (int64_t)c->tick_time;
    if (hi == -1)
        hi = 20 * (int64_t)c->tick_time;
    c->min_session_timeout = lo > INT32_MAX ? INT32_MAX : (int32_t)lo;
    c->max_session_timeout = hi > INT32_MAX ? INT32_MAX : (int32_t)hi;
    if (c->min_session_timeout > c->max_session_timeout) {
        snprintf(err, errlen, "minSessionTimeout (%d) must not be larger than maxSessionTimeout "
                 "(%d) in %s", c->min_session_timeout, c->max_session_timeout, c->path);
        return -1;
    }
    return zkd_flw_parse(c, err, errlen);
}

int zkd_config_load(zkd_config *c, const char *path, char *err, size_t errlen)
{
    int rc;
    memset(c, 0, sizeof *c);
    if (!(c->path = strdup(path))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rc = kz_cfg_load(zkd_cfg_keys, ZKD_NKEYS, c, path, zkd_cfg_unknown, c, err, errlen);
    if (rc == 0)
        rc = zkd_config_finish(c, err, errlen);
    if (rc != 0)
        zkd_config_free(c);
    return rc;
}

void zkd_config_free(zkd_config *c)
{
    if (!c)
        return;
    kz_cfg_free(zkd_cfg_keys, ZKD_NKEYS, c);
    for (size_t i = 0; i < c->n_servers; i++)
        zkd_server_def_free(&c->servers[i]);
    free(c->servers);
    free(c->path);
    memset(c, 0, sizeof *c);
}

bool zkd_config_standalone(const zkd_config *c) { return c->n_servers == 0; }

const zkd_server_def *zkd_config_self(const zkd_config *c)
{
    for (size_t i = 0; i < c->n_servers; i++)
        if (c->servers[i].id == c->myid)
            return &c->servers[i];
    return NULL;
}

bool zkd_config_flw_allowed(const zkd_config *c, const char *word4)
{
    if (c->flw_all)
        return true;
    for (int i = 0; i < c->flw_count; i++)
        if (memcmp(c->flw_words[i], word4, 4) == 0)
            return true;
    return false;
}

/* Java HashMap<Long,...> bucket of @id for a table of @cap buckets. */
static uint32_t zkd_config_hash_bucket(int64_t id, uint32_t cap)
{
    uint32_t h = (uint32_t)((uint64_t)id ^ ((uint64_t)id >> 32));
    return (h ^ (h >> 16)) & (cap - 1);
}

/* QuorumMaj.toString() of the static configuration: servers in the order a
 * java.util.HashMap iterates Long keys (bucket, then id within a bucket). */
char *zkd_config_membership(const zkd_config *cfg, size_t *len)
{
    uint32_t cap = 16;
    while (cfg->n_servers > (size_t)cap * 3 / 4)
        cap *= 2;
    size_t *ord = malloc(cfg->n_servers * sizeof *ord);
    if (!ord)
        return NULL;
    for (size_t i = 0; i < cfg->n_servers; i++) {
        size_t j = i;
        uint32_t bi = zkd_config_hash_bucket(cfg->servers[i].id, cap);
        while (j > 0) {
            const zkd_server_def *o = &cfg->servers[ord[j - 1]];
            uint32_t bo = zkd_config_hash_bucket(o->id, cap);
            if (bo < bi || (bo == bi && o->id < cfg->servers[i].id))
                break;
            ord[j] = ord[j - 1];
            j--;
        }
        ord[j] = i;
    }
    kz_wr w = KZ_WR_INIT;
    char line[700], a[300];
    for (size_t k = 0; k < cfg->n_servers; k++) {
        const zkd_server_def *s = &cfg->servers[ord[k]];
        int n = snprintf(line, sizeof line, strchr(s->host, ':') ? "server.%" PRId64 "=[%s]:%d:%d:%s"
                                                                  : "server.%" PRId64 "=%s:%d:%d:%s",
                         s->id, s->host, s->quorum_port, s->election_port,
                         s->observer ? "observer" : "participant");
        if (s->client_port > 0) {
            snprintf(a, sizeof a, strchr(s->client_host ? s->client_host : "", ':') ? "[%s]:%d" : "%s:%d",
                     s->client_host ? s->client_host : "0.0.0.0", s->client_port);
            n += snprintf(line + n, sizeof line - (size_t)n, ";%s", a);
        }
        kz_wr_bytes(&w, line, (size_t)n);
        kz_wr_u8(&w, '\n');
    }
    kz_wr_bytes(&w, "version=0", 10); /* NUL included, not counted */
    free(ord);
    if (w.err) {
        kz_wr_free(&w);
        return NULL;
    }
    char *t = (char *)kz_wr_steal(&w, len);
    *len -= 1;
    return t;
}
