/* coordinator/zkd_config.h -- zkd configuration: ZooKeeper 3.8 zoo.cfg / zookeeper.properties
 * plus <dataDir>/myid, loaded once at start-up into a typed struct.
 *
 * Semantics follow QuorumPeerConfig.parseProperties() of ZooKeeper 3.8: values are trimmed,
 * booleans must be true/false, dataDir is required, dataLogDir defaults to dataDir, session
 * timeouts default to 2*tickTime and 20*tickTime, autopurge.snapRetainCount < 3 becomes 3 (with
 * a warning), the whitelist always admits "srvr" (zkServer.sh needs it), and the server list
 * overrides peerType. Where zkd is stricter: any server.N line makes the ensemble distributed
 * (myid required, initLimit/syncLimit > 0), server ids must be 0..255, and a client port is
 * required (clientPort, or ";port" on this server's server.N line).
 * Unknown keys are logged as warnings ("Unknown key 'x' in <path> ignored") and skipped.
 *
 * Owned by the start-up thread; read-only afterwards. */
#ifndef ZKD_CONFIG_H
#define ZKD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZKD_FLW_MAX 32 /* distinct words in 4lw.commands.whitelist */

typedef enum { ZKD_PEER_PARTICIPANT = 0, ZKD_PEER_OBSERVER = 1 } zkd_peer_type;

/* server.N=host:quorumPort:electionPort[:participant|:observer][;[clientHost:]clientPort] */
typedef struct zkd_server_def {
    int64_t id;            /* N */
    char *host;            /* quorum/election host; IPv6 without brackets */
    int32_t quorum_port;   /* 2888 */
    int32_t election_port; /* 3888 */
    bool observer;
    char *client_host;     /* NULL = all addresses (";port" form) */
    int32_t client_port;   /* 0 = not given on the line */
} zkd_server_def;

typedef struct zkd_config {
    char *path;                       /* the file loaded */
    int32_t tick_time;                /* tickTime, ms, > 0, default 3000 */
    int32_t init_limit;               /* initLimit, ticks; > 0 required when distributed */
    int32_t sync_limit;               /* syncLimit, ticks; > 0 required when distributed */
    char *data_dir;                   /* dataDir, required */
    char *data_log_dir;               /* dataLogDir, default = data_dir */
    int32_t client_port;              /* clientPort or this server's ";port"; resolved, > 0 */
    char *client_port_address;        /* clientPortAddress; NULL = all addresses */
    int32_t client_port_listen_backlog; /* clientPortListenBacklog, -1 = system default */
    int32_t max_client_cnxns;         /* maxClientCnxns per client IP, 0 = unlimited, def 60 */
    int32_t max_cnxns;                /* maxCnxns total, 0 = unlimited */
    int32_t min_session_timeout;      /* ms; resolved (-1 in file = 2*tick_time) */
    int32_t max_session_timeout;      /* ms; resolved (-1 in file = 20*tick_time) */
    bool admin_enable_server;         /* admin.enableServer: accepted, no AdminServer in zkd */
    char *flw_whitelist;              /* 4lw.commands.whitelist as given, default "srvr" */
    bool flw_all;                     /* whitelist contains "*" */
    int flw_count;                    /* words in flw_words (always includes "srvr") */
    char flw_words[ZKD_FLW_MAX][4];   /* 4 bytes each, not NUL-terminated */
    int32_t autopurge_snap_retain_count; /* autopurge.snapRetainCount, >= 3, default 3 */
    int32_t autopurge_purge_interval; /* autopurge.purgeInterval, hours, 0 = off */
    int32_t snap_count;               /* snapCount, txns between snapshots, >= 2 */
    int32_t pre_alloc_size;           /* preAllocSize, KiB of txn log preallocation */
    int32_t jute_max_buffer;          /* jute.maxbuffer, bytes, default 0xfffff */
    bool extended_types_enabled;      /* [zookeeper.]extendedTypesEnabled (TTL nodes) */
    int32_t container_check_interval_ms; /* znode.container.checkIntervalMs, default 60000 */
    int32_t container_max_per_minute; /* znode.container.maxPerMinute, default 10000 */
    int32_t global_outstanding_limit; /* globalOutstandingLimit, default 1000 */
    bool force_sync;                  /* forceSync=no: no fsync of the txn log (default yes) */
    char *super_digest;               /* DigestAuthenticationProvider.superDigest "super:<b64 sha1>" */
    bool sync_enabled;                /* syncEnabled: false = no fsync of the txn log */
    zkd_peer_type peer_type;          /* peerType, overridden by this server's server.N line */
    int32_t election_alg;             /* electionAlg, only 3 accepted */
    bool standalone_enabled;          /* standaloneEnabled, accepted (default true) */
    bool reconfig_enabled;            /* reconfigEnabled, accepted (default false) */
    bool quorum_listen_on_all_ips;    /* quorumListenOnAllIPs */
    bool local_sessions_enabled;      /* localSessionsEnabled, accepted */
    bool local_sessions_upgrading_enabled; /* localSessionsUpgradingEnabled, accepted */
    char *dynamic_config_file;        /* dynamicConfigFile, accepted, not read */
    zkd_server_def *servers;          /* sorted by id; NULL when standalone */
    size_t n_servers;
    int64_t myid;                     /* <dataDir>/myid when servers exist, else 0 */
} zkd_config;

/* Load @path into @c (any prior content is overwritten, not freed). Returns 0, or -1 with a
 * one-line message naming the offending key in @err; on failure @c is left zeroed. */
int zkd_config_load(zkd_config *c, const char *path, char *err, size_t errlen);

/* Free everything zkd_config_load allocated and zero @c. NULL-safe and idempotent. */
void zkd_config_free(zkd_config *c);

/* True when no server.N line was given (myid 0, no quorum). */
bool zkd_config_standalone(const zkd_config *c);

/* Whether the four-letter word at @word4 (exactly 4 bytes, need not be NUL-terminated) is
 * enabled by 4lw.commands.whitelist. Does not know which words exist: zkd_flw does. */
bool zkd_config_flw_allowed(const zkd_config *c, const char *word4);

/* The membership text ZooKeeper's QuorumMaj.toString() prints for the
 * static configuration: "server.N=host:quorumPort:electionPort:participant"
 * (or ":observer", plus ";clientHost:clientPort" when the line had a client
 * part) in java.util.HashMap order, '\n'-separated, then "version=0" with no
 * newline. malloc'd and NUL-terminated; *len excludes the NUL. NULL when
 * out of memory. */
char *zkd_config_membership(const zkd_config *c, size_t *len);

/* This server's entry in c->servers, or NULL when standalone. */
const zkd_server_def *zkd_config_self(const zkd_config *c);

#endif
