/* coordinator/zkd_flw.c -- the four-letter words of ZooKeeper 3.8
 * (server/command/ *Command.java, NIOServerCnxn.checkFourLetterWord).
 *
 * A fresh connection whose first 4 bytes are a known word gets one plain-text
 * reply and is closed (zkd_cnxn does the socket side). Output is byte-for-byte
 * the layout of ZooKeeper 3.8 in standalone and in ensemble mode; the values
 * are ours:
 *   - words not in 4lw.commands.whitelist answer
 *     "<word> is not executed because it is not in the whitelist.\n";
 *   - while the server is not serving every word but ruok, envi, isro, gtmk and
 *     hash answers "This ZooKeeper instance is not currently serving requests\n"
 *     (isro then answers "null", hash the same text without the newline);
 *   - numbers print as Java prints them: longs plainly, doubles with
 *     Double.toString (at least one decimal, "1.0E-4" outside [1e-3, 1e7));
 *     averages are first rounded HALF_UP to 4 decimals (AvgMinMaxCounter);
 *   - session ids and zxids as Long.toHexString (lower case, no padding,
 *     two's complement for negatives); dates as java.util.Date.toString()
 *     ("Sat Nov 21 02:33:14 UTC 2026") in the local time zone.
 * Ensemble mode (s->q != NULL) differs from standalone only in:
 *   - srvr/stat: "Mode: leader|follower|observer"; the leader adds a last line
 *     "Proposal sizes last/min/max: L/MIN/MAX" (-1 before the first proposal
 *     and after srst, which resets them: StatResetCommand);
 *   - mntr: zk_peer_state and zk_quorum_size on every peer, the leader's
 *     gauges (LeaderZooKeeperServer.registerMetrics) and its per-learner
 *     learner_handler_qp_{size,time_ms} summary sets;
 *   - conf: QuorumZooKeeperServer.dumpConf, i.e. the standalone keys, then
 *     initLimit .. peerType, "membership: " and QuorumMaj.toString(), which
 *     ends with "version=0" and no newline;
 *   - dump: learners print LearnerSessionTracker's "Global Sessions(N):"
 *     (sorted ids and timeouts) instead of the leader's expiry buckets.
 * While a peer is looking or syncing it is not serving (see above).
 * Words are data (flw_words); mntr keys are data (flw_metrics), in the order
 * ZooKeeper 3.8 prints them (standalone, follower and leader keys in one
 * table), minus the per-namespace summaries (which depend on the client's
 * paths).
 * Not implemented: stmk (it reads 8 more bytes from the socket); zkd_flw_run
 * returns false for it, as for any unknown word.
 * Locality: zkd loop thread only. */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
#define FLW_HAVE_MALLINFO2 1
#endif

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "zkd_quorum.h"
#include "kz_time.h"
#include "zkd_server.h"

#ifndef ZKD_VERSION
#define ZKD_VERSION "3.8.0-zkd"
#endif

#define FLW_NOT_SERVING "This ZooKeeper instance is not currently serving requests"
#define FLW_TRACE_MASK 306   /* ZooTrace default: CLIENT_REQUEST|SERVER_PACKET|SESSION|WARNING */
#define FLW_CNXN_EXPIRY_MS 10000 /* zookeeper.nio.sessionlessCnxnTimeout: NIO expiry buckets */
#define FLW_DIR_DEPTH 8      /* recursion bound of the directory size walk */

/* ------------------------------------------------------------------ output */

static void flw_printf(kz_wr *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void flw_printf(kz_wr *w, const char *fmt, ...)
{
    enum { GUESS = 128 };
    va_list ap;
    va_start(ap, fmt);
    uint8_t *p = kz_wr_reserve(w, GUESS);
    int n = p ? vsnprintf((char *)p, GUESS, fmt, ap) : -1;
    va_end(ap);
    if (n >= GUESS) {
        va_start(ap, fmt);
        p = kz_wr_reserve(w, (size_t)n + 1);
        if (p)
            vsnprintf((char *)p, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    if (p && n > 0)
        w->len += (size_t)n;
}

static void flw_puts(kz_wr *w, const char *s) { kz_wr_bytes(w, s, strlen(s)); }

/* BigDecimal(v).setScale(4, HALF_UP).doubleValue(): printf rounds the exact
 * binary value correctly but breaks exact ties to even; a tie is exact only
 * when v*20000 is an odd integer with no rounding error (checked with fma). */
static double flw_round4(double v)
{
    if (!(fabs(v) < 1e15)) /* no fractional digits left (or not finite) */
        return v;
    double p = v * 20000.0;
    if (p == floor(p) && fmod(fabs(p), 2.0) == 1.0 && fma(v, 20000.0, -p) == 0.0)
        return (v < 0 ? -(floor(-v * 10000.0) + 1) : floor(v * 10000.0) + 1) / 10000.0;
    char b[64];
    snprintf(b, sizeof b, "%.4f", v);
    return strtod(b, NULL);
}

/* AvgMinMaxCounter.getAvg(): 0 without samples. */
static double flw_avg(int64_t total, int64_t count)
{
    return count > 0 ? flw_round4((double)total / (double)count) : 0.0;
}

/* Double.toString(v) for finite @v: the shortest digits that read back as @v,
 * plain in [1e-3, 1e7), else "d.dddE<exp>". @buf holds at least 32 bytes. */
static void flw_jdouble(char *buf, size_t n, double v)
{
    if (v == 0.0 || !isfinite(v)) {
        snprintf(buf, n, "%s", v == 0.0 ? (signbit(v) ? "-0.0" : "0.0") : isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
        return;
    }
    char e[40], dig[20];
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    snprintf(e, sizeof e, "%.*e", prec - 1, v);
    /* e: [-]d[.ddd]e[+-]xx */
    const char *p = e;
    bool neg = *p == '-';
    p += neg;
    size_t nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            dig[nd++] = *p;
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;
    dig[nd] = 0;
    int ex = *p == 'e' ? atoi(p + 1) : 0;
    double a = fabs(v);
    size_t o = 0;
    char *b = buf;
#define FLW_PUT(c) do { if (o + 1 < n) b[o++] = (c); } while (0)
    if (neg)
        FLW_PUT('-');
    if (a >= 1e-3 && a < 1e7) {
        if (ex >= 0) {
            for (int i = 0; i <= ex; i++)
                FLW_PUT((size_t)i < nd ? dig[i] : '0');
            FLW_PUT('.');
            if ((size_t)ex + 1 >= nd)
                FLW_PUT('0');
            for (size_t i = (size_t)ex + 1; i < nd; i++)
                FLW_PUT(dig[i]);
        } else {
            FLW_PUT('0');
            FLW_PUT('.');
            for (int i = 0; i < -ex - 1; i++)
                FLW_PUT('0');
            for (size_t i = 0; i < nd; i++)
                FLW_PUT(dig[i]);
        }
    } else {
        FLW_PUT(dig[0]);
        FLW_PUT('.');
        FLW_PUT(nd > 1 ? dig[1] : '0');
        for (size_t i = 2; i < nd; i++)
            FLW_PUT(dig[i]);
        char x[16];
        snprintf(x, sizeof x, "E%d", ex);
        for (const char *q = x; *q; q++)
            FLW_PUT(*q);
    }
#undef FLW_PUT
    b[o < n ? o : n - 1] = 0;
}

/* java.util.Date.toString(): "EEE MMM dd HH:mm:ss zzz yyyy", local zone.
 * Names are spelled out so that a setlocale() elsewhere cannot change them. */
static void flw_jdate(char *buf, size_t n, int64_t ms)
{
    static const char days[][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char mons[][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char zone[16] = "";
    tzset();
    if (!localtime_r(&t, &tm)) {
        snprintf(buf, n, "%" PRId64, ms);
        return;
    }
    strftime(zone, sizeof zone, "%Z", &tm);
    snprintf(buf, n, "%s %s %02d %02d:%02d:%02d %s %d", days[tm.tm_wday % 7], mons[tm.tm_mon % 12], tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, zone, tm.tm_year + 1900);
}

static unsigned long long flw_hex(int64_t v) { return (unsigned long long)(uint64_t)v; }

const char *zkd_flw_version(void)
{
    /* Written once on first use (loop thread), then read-only. ZKD_BUILD_DATE
     * ("YYYY-MM-DD HH:MM") overrides the compiler's __DATE__/__TIME__, which
     * honour SOURCE_DATE_EPOCH in reproducible builds. */
    static char v[96];
    if (!v[0]) {
#ifdef ZKD_BUILD_DATE
        snprintf(v, sizeof v, "%s, built on %s UTC", ZKD_VERSION, ZKD_BUILD_DATE);
#else
        static const char mons[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
        const char *d = __DATE__, *t = __TIME__; /* "Mmm dd yyyy", "hh:mm:ss" */
        int mon = 1;
        for (int i = 0; i < 12; i++)
            if (memcmp(mons + 3 * i, d, 3) == 0)
                mon = i + 1;
        snprintf(v, sizeof v, "%s, built on %.4s-%02d-%c%c %.5s UTC", ZKD_VERSION, d + 7, mon, d[4] == ' ' ? '0' : d[4],
                 d[5], t);
#endif
    }
    return v;
}

/* ------------------------------------------------------------ server facts */

/* The leader object while this peer leads (the leader-only lines and gauges
 * are printed only then, as ZooKeeper's gaugeWithLeader), else NULL. */
static const zkd_leader *flw_leader(const zkd_server *s)
{
    return s->q && zkd_server_role(s) == ZKD_ROLE_LEADING ? s->q->leader : NULL;
}

/* QuorumPeer.getDetailedPeerState(): "<state> - <zab state>", lower case.
 * The four-letter words that print it answer only while serving, which a
 * peer does in the broadcast phase. */
static const char *flw_peer_state(const zkd_server *s)
{
    switch (zkd_server_role(s)) {
    case ZKD_ROLE_LEADING:
        return "leading - broadcast";
    case ZKD_ROLE_FOLLOWING:
        return "following - broadcast";
    case ZKD_ROLE_OBSERVING:
        return "observing - broadcast";
    default:
        return "looking - election";
    }
}

/* ServerStats.getServerState(). */
static const char *flw_mode(const zkd_server *s)
{
    switch (zkd_server_role(s)) {
    case ZKD_ROLE_LEADING:
        return "leader";
    case ZKD_ROLE_FOLLOWING:
        return "follower";
    case ZKD_ROLE_OBSERVING:
        return "observer";
    case ZKD_ROLE_LOOKING:
        return "looking";
    default:
        return "standalone";
    }
}

/* DataTree.getNodeCount() is the size of its path map, which holds the root
 * twice (as "" and "/"): ZooKeeper shows one more than there are znodes. */
static size_t flw_node_count(const zkd_server *s) { return zkd_dt_node_count(s->dt) + 1; }

static int64_t flw_lat_min(const zkd_lat *l) { return l->count > 0 ? l->min : 0; }
static int64_t flw_lat_max(const zkd_lat *l) { return l->count > 0 ? l->max : 0; }

/* Sum of the sizes of the files under @name (relative to @dirfd), following
 * symlinks, as ZooKeeperServer.getDirSize(File); 0 when missing. */
static int64_t flw_tree_size(int dirfd, const char *name, int depth)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, 0) != 0)
        return 0;
    if (!S_ISDIR(st.st_mode))
        return (int64_t)st.st_size;
    if (depth >= FLW_DIR_DEPTH)
        return 0;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return 0;
    }
    int64_t sum = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            sum += flw_tree_size(fd, e->d_name, depth + 1);
    closedir(d);
    return sum;
}

/* Size of <dir>/version-2. ZooKeeper 3.8 swaps the two (getDataDirSize()
 * measures the txn log dir); zkd reports each under its own name, which is
 * the same number whenever dataLogDir is not set. */
static int64_t flw_ver2_size(const char *dir)
{
    char p[PATH_MAX];
    if (!dir || snprintf(p, sizeof p, "%s/version-2", dir) >= (int)sizeof p)
        return 0;
    return flw_tree_size(AT_FDCWD, p, 0);
}

/* new File(dir, "version-2").getAbsolutePath(): relative paths hang off the
 * working directory; repeated and trailing slashes collapse; no ".."
 * resolution. */
static void flw_put_ver2_path(kz_wr *out, const char *dir)
{
    char cwd[PATH_MAX] = "", raw[2 * PATH_MAX + 16];
    if (!dir)
        dir = "";
    if (dir[0] != '/' && !getcwd(cwd, sizeof cwd))
        cwd[0] = 0;
    snprintf(raw, sizeof raw, "%s/%s/version-2", cwd, dir);
    size_t o = 0;
    for (size_t i = 0; raw[i]; i++)
        if (!(raw[i] == '/' && o > 0 && raw[o - 1] == '/'))
            raw[o++] = raw[i];
    kz_wr_bytes(out, raw, o);
}

/* NIOServerCnxn.getInterestOps(): OP_READ 1, OP_WRITE 4; a connection
 * answering a four-letter word has left the selector (0). */
static int flw_interest_ops(const zkd_conn *c, const zkd_conn *self)
{
    if (c == self || c->flw || !c->bev)
        return 0;
    int ops = 0;
    if (bufferevent_get_enabled(c->bev) & EV_READ)
        ops |= 1;
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
        ops |= 4;
    return ops;
}

static int64_t flw_conn_sid(const zkd_conn *c) { return c && c->session ? c->session->id : 0; }

/* ServerCnxn.dumpConnectionInfo(pw, brief), without the line end. */
static void flw_conn_info(kz_wr *out, const zkd_conn *c, const zkd_conn *self, bool brief)
{
    flw_printf(out, " %s[%x](queued=%" PRIu32 ",recved=%" PRId64 ",sent=%" PRId64, c->peer_str,
               (unsigned)flw_interest_ops(c, self), c->qlen, c->packets_received, c->packets_sent);
    if (!brief && flw_conn_sid(c) != 0) {
        flw_printf(out, ",sid=0x%llx,lop=%s,est=%" PRId64 ",to=%" PRId32, flw_hex(c->session->id),
                   c->last_op[0] ? c->last_op : "NA", c->established_ms, c->session->timeout);
        if (c->last_cxid >= 0)
            flw_printf(out, ",lcxid=0x%llx", flw_hex(c->last_cxid));
        flw_printf(out, ",lzxid=0x%llx,lresp=%" PRId64 ",llat=%" PRId64 ",minlat=%" PRId64 ",avglat=%" PRId64
                   ",maxlat=%" PRId64, flw_hex(c->last_zxid), c->last_resp_ms, c->last_latency,
                   flw_lat_min(&c->lat), c->lat.count > 0 ? c->lat.total / c->lat.count : 0, flw_lat_max(&c->lat));
    }
    flw_puts(out, ")");
}

/* --------------------------------------------------------------- commands */

typedef void flw_fn(zkd_server *s, zkd_conn *self, kz_wr *out);

static void flw_ruok(zkd_server *s, zkd_conn *self, kz_wr *out)
{
    (void)s, (void)self;
    flw_puts(out, "imok");
}

static void flw_isro(zkd_server *s, zkd_conn *self, kz_wr *out)
{
    (void)self;
    flw_puts(out, s->serving ? "rw" : "null");
}

static void flw_gtmk(zkd_server *s, zkd_conn *self, kz_wr *out)
{
    (void)s, (void)self;
    flw_printf(out, "%d", FLW_TRACE_MASK);
}

/* DigestCommand: zkd keeps no digest history, so a serving server lists nothing. */
static void flw_hash(zkd_server *s, zkd_conn *self, kz_wr *out)
{
    (void)self;
    if (!s->serving)
        flw_puts(out, FLW_NOT_SERVING);
}

/* StatCommand (srvr and stat) = version, [clients], ServerStats.toString(),
 * node count, [the leader's proposal sizes]. */
static void flw_stat_common(zkd_server *s, zkd_conn *self, kz_wr *out, bool clients)
{
    char avg[32];
    flw_printf(out, "Zookeeper version: %s\n", zkd_flw_version());
    if (clients) {
        flw_puts(out, "Clients:\n");
        for (const zkd_conn *c = s->conns; c; c = c->next) {
            flw_conn_info(out, c, self, true);
            flw_puts(out, "\n");
        }
        flw_puts(out, "\n");
    }
    const zkd_lat *l = &s->stats.lat;
    flw_jdouble(avg, sizeof avg, flw_avg(l->total, l->count));
    flw_printf(out, "Latency min/avg/max: %" PRId64 "/%s/%" PRId64 "\n", flw_lat_min(l), avg, flw_lat_max(l));
    flw_printf(out, "Received: %" PRId64 "\nSent: %" PRId64 "\nConnections: %zu\nOutstanding: %zu\n",
               s->stats.packets_received, s->stats.packets_sent, s->nconns, s->outstanding);
    flw_printf(out, "Zxid: 0x%llx\nMode: %s\nNode count: %zu\n", flw_hex(s->next_zxid), flw_mode(s), /* hzxid */
               flw_node_count(s));
    if (flw_leader(s)) /* BufferStats.toString() */
        flw_printf(out, "Proposal sizes last/min/max: %" PRId64 "/%" PRId64 "/%" PRId64 "\n", s->q->st.proposal_last,
                   s->q->st.proposal_min, s->q->st.proposal_max);
}

static void flw_srvr(zkd_server *s, zkd_conn *self, kz_wr *out) { flw_stat_common(s, self, out, false); }
static void flw_stat(zkd_server *s, zkd_conn *self, kz_wr *out) { flw_stat_common(s, self, out, true); }

static void flw_cons(zkd_server *s, zkd_conn *self, kz_wr *out)
{
    for (const zkd_conn *c = s->conns; c; c = c->next) {
        flw_conn_info(out, c, self, false);
        flw_puts(out, "\n");
    }
    flw_puts(out, "\n");
}

/* CnxnStatResetCommand: ServerCnxn.resetStats() on every connection. */
static void flw_crst(zkd_server *s, zkd_conn *self, kz_wr *out)
{
    (void)self;
    for (zkd_conn *c = s->conns; c; c = c->next) {
        c->packets_received = c->packets_sent = 0;
        zkd_lat_reset(&c->lat);
        snprintf(c->last_op, sizeof c->last_op, "NA");
        c->last_cxid = c->last_zxid = -1;
        c->last_resp_ms = c->last_latency = 0;
    }
    flw_puts(out, "Connection stats reset.\n");
}

/* StatResetCommand: ServerStats.reset() = latency, packet counters, response
 * sizes (-1: none yet) and every ServerMetrics counter/summary (of the quorum
 * ones zkd keeps the election count and time); a leader also resets its
 * proposal sizes (BufferStats.reset: -1/-1/-1). */
static void flw_srst(zkd_server *s, zkd_conn *self, kz_wr *out)
{
    (void)self;
    zkd_stats *st = &s->stats;
    zkd_lat_reset(&st->lat);
    st->packets_received = st->packets_sent = 0;
    st->last_resp_size = st->min_resp_size = st->max_resp_size = -1;
    st->auth_failed = st->bytes_received = st->connection_rejected = 0;
    st->fsync_count = st->fsync_ms_total = st->fsync_ms_max = 0;
    st->snap_count = 0;
    if (s->q) {
        s->q->st.elections = 0; /* zk_looking_count, zk_*_election_time */
        if (flw_leader(s))
            s->q->st.proposal_last = s->q->st.proposal_min = s->q->st.proposal_max = -1;
    }
    flw_puts(out, "Server stats reset.\n");
}

/* ZooKeeperServer.dumpConf, plus QuorumZooKeeperServer.dumpConf in ensemble
 * mode: this peer's limits and ports, peerType (LearnerType ordinal) and the
 * membership, QuorumMaj.toString() (ends "version=0", no newline). */
static void flw_conf(zkd_server *s, zkd_conn *self, kz_wr *out)
{
    (void)self;
    const zkd_config *c = s->cfg;
    const zkd_server_def *me = s->q ? zkd_config_self(c) : NULL;
    flw_printf(out, "clientPort=%" PRId32 "\nsecureClientPort=-1\ndataDir=", c->client_port);
    flw_put_ver2_path(out, c->data_dir);
    flw_printf(out, "\ndataDirSize=%" PRId64 "\ndataLogDir=", flw_ver2_size(c->data_dir));
    flw_put_ver2_path(out, c->data_log_dir ? c->data_log_dir : c->data_dir);
    flw_printf(out, "\ndataLogSize=%" PRId64 "\n", flw_ver2_size(c->data_log_dir ? c->data_log_dir : c->data_dir));
    flw_printf(out, "tickTime=%" PRId32 "\nmaxClientCnxns=%" PRId32 "\nminSessionTimeout=%" PRId32
               "\nmaxSessionTimeout=%" PRId32 "\nclientPortListenBacklog=%" PRId32 "\nserverId=%" PRId64 "\n",
               c->tick_time, c->max_client_cnxns, c->min_session_timeout, c->max_session_timeout,
               c->client_port_listen_backlog, c->myid);
    if (!me)
        return;
    flw_printf(out, "initLimit=%" PRId32 "\nsyncLimit=%" PRId32 "\nelectionAlg=%" PRId32 "\nelectionPort=%" PRId32
               "\nquorumPort=%" PRId32 "\npeerType=%d\nmembership: \n", c->init_limit, c->sync_limit, c->election_alg,
               me->election_port, me->quorum_port, me->observer ? ZKD_PEER_OBSERVER : ZKD_PEER_PARTICIPANT);
    size_t members_len;
    char *members = zkd_config_membership(c, &members_len);
    if (!members) {
        out->err = KZ_ENOMEM;
        return;
    }
    flw_puts(out, members);
    free(members);
}

static void flw_dirs(zkd_server *s, zkd_conn *self, kz_wr *out)
{
    (void)self;
    const zkd_config *c = s->cfg;
    flw_printf(out, "datadir_size: %" PRId64 "\nlogdir_size: %" PRId64 "\n", flw_ver2_size(c->data_dir),
               flw_ver2_size(c->data_log_dir ? c->data_log_dir : c->data_dir));
}

/* ---- envi: Environment.list(). The java.* keys stay (scripts parse the key
 * set); zkd has no JVM, so they describe the zkd process instead:
 * java.home/java.class.path = the executable's directory/path, java.library.path
 * = LD_LIBRARY_PATH, java.io.tmpdir = TMPDIR or /tmp, the rest "<NA>".
 * os.memory.* (Runtime free/max/total heap) become: total = resident set,
 * free = bytes free inside malloc's arenas, max = RLIMIT_AS or physical RAM. */

static int64_t flw_rss_bytes(void)
{
    char b[128];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, b, sizeof b - 1);
    close(fd);
    if (n <= 0)
        return 0;
    b[n] = 0;
    char *p;
    strtoll(b, &p, 10);                 /* size */
    long long pages = strtoll(p, NULL, 10); /* resident */
    return (int64_t)pages * sysconf(_SC_PAGESIZE);
}

static void flw_kv(kz_wr *out, const char *k, const char *v) { flw_printf(out, "%s=%s\n", k, v && *v ? v : "<NA>"); }

static void flw_envi(zkd_server *s, zkd_conn *self, kz_wr *out)
{
    (void)s, (void)self;
    char host[256] = "", exe[PATH_MAX] = "", dir[PATH_MAX] = "", cwd[PATH_MAX] = "", pwbuf[4096];
    struct utsname u;
    struct passwd pw, *pwp = NULL;
    if (gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "localhost");
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    snprintf(dir, sizeof dir, "%s", exe);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = 0;
    if (uname(&u) != 0)
        memset(&u, 0, sizeof u);
    if (getpwuid_r(geteuid(), &pw, pwbuf, sizeof pwbuf, &pwp) != 0)
        pwp = NULL;
    if (!getcwd(cwd, sizeof cwd))
        cwd[0] = 0;
    const char *arch = u.machine;
    if (strcmp(arch, "x86_64") == 0)
        arch = "amd64";
    else if (arch[0] == 'i' && strcmp(arch + 2, "86") == 0)
        arch = "i386";
    const char *tmp = getenv("TMPDIR");

    flw_puts(out, "Environment:\n");
    flw_kv(out, "zookeeper.version", zkd_flw_version());
    flw_kv(out, "host.name", host);
    flw_kv(out, "java.version", NULL);
    flw_kv(out, "java.vendor", NULL);
    flw_kv(out, "java.home", dir);
    flw_kv(out, "java.class.path", exe);
    flw_kv(out, "java.library.path", getenv("LD_LIBRARY_PATH"));
    flw_kv(out, "java.io.tmpdir", tmp && *tmp ? tmp : "/tmp");
    flw_kv(out, "java.compiler", NULL);
    flw_kv(out, "os.name", u.sysname);
    flw_kv(out, "os.arch", arch);
    flw_kv(out, "os.version", u.release);
    flw_kv(out, "user.name", pwp ? pwp->pw_name : getenv("USER"));
    flw_kv(out, "user.home", pwp ? pwp->pw_dir : getenv("HOME"));
    flw_kv(out, "user.dir", cwd);

    const int64_t mb = 1024 * 1024;
    int64_t total = flw_rss_bytes(), freeb = 0;
    int64_t max = (int64_t)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE);
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (int64_t)rl.rlim_cur < max)
        max = (int64_t)rl.rlim_cur;
#ifdef FLW_HAVE_MALLINFO2
    freeb = (int64_t)mallinfo2().fordblks;
#endif
    flw_printf(out, "os.memory.free=%" PRId64 "MB\nos.memory.max=%" PRId64 "MB\nos.memory.total=%" PRId64 "MB\n",
               freeb / mb, max / mb, total / mb);
}

/* ---- wchs / wchc / wchp: data-table watches only (DataTree.dumpWatches*),
 * each followed by WatchCommand's empty println. */

static void flw_wchs(zkd_server *s, zkd_conn *self, kz_wr *out)
{
    (void)self;
    flw_printf(out, "%zu connections watching %zu paths\nTotal watches:%zu\n", zkd_watch_data_watchers(s->watches),
               zkd_watch_data_paths(s->watches), zkd_watch_data_total(s->watches));
}

static int flw_wchc_one(void *ctx, void *watcher, const char *const *paths, size_t n)
{
    kz_wr *out = ctx;
    flw_printf(out, "0x%llx\n", flw_hex(flw_conn_sid(watcher)));
    for (size_t i = 0; i < n; i++)
        flw_printf(out, "\t%s\n", paths[i]);
    return 0;
}

static int flw_wchp_one(void *ctx, const char *path, void *const *watchers, size_t n)
{
    kz_wr *out = ctx;
    flw_printf(out, "%s\n", path);
    for (size_t i = 0; i < n; i++)
        flw_printf(out, "\t0x%llx\n", flw_hex(flw_conn_sid(watchers[i])));
    return 0;
}

static void flw_wchc(zkd_server *s, zkd_conn *self, kz_wr *out)
{
    (void)self;
    if (zkd_watch_walk_by_watcher(s->watches, flw_wchc_one, out) == KZ_ENOMEM)
        out->err = KZ_ENOMEM;
    flw_puts(out, "\n");
}

static void flw_wchp(zkd_server *s, zkd_conn *self, kz_wr *out)
{
    (void)self;
    if (zkd_watch_walk_by_path(s->watches, flw_wchp_one, out) == KZ_ENOMEM)
        out->err = KZ_ENOMEM;
    flw_puts(out, "\n");
}

/* ---- dump: SessionTracker (ExpiryQueue.dump; a learner's global session
 * list), DataTree.dumpEphemerals, NIOServerCnxnFactory.dumpConnections. */

typedef struct flw_exp {
    int64_t at;
    uint64_t tie;
    const void *obj;
} flw_exp;

static int flw_exp_cmp(const void *a, const void *b)
{
    const flw_exp *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return (x->tie > y->tie) - (x->tie < y->tie);
}

/* Prints "Sets (B)/(N):" and each bucket of @v (sorted by deadline), one
 * element per line through @line. */
static void flw_exp_dump(kz_wr *out, flw_exp *v, size_t n, void (*line)(kz_wr *, const void *))
{
    qsort(v, n, sizeof *v, flw_exp_cmp);
    size_t nb = 0;
    for (size_t i = 0; i < n; i++)
        nb += i == 0 || v[i].at != v[i - 1].at;
    flw_printf(out, "Sets (%zu)/(%zu):\n", nb, n);
    for (size_t i = 0, j; i < n; i = j) {
        char date[64];
        for (j = i; j < n && v[j].at == v[i].at;)
            j++;
        flw_jdate(date, sizeof date, v[i].at);
        flw_printf(out, "%zu expire at %s:\n", j - i, date);
        for (size_t k = i; k < j; k++)
            line(out, v[k].obj);
    }
}

static void flw_session_line(kz_wr *out, const void *obj)
{
    flw_printf(out, "\t0x%llx\n", flw_hex(((const zkd_session *)obj)->id));
}

static void flw_cnxn_line(kz_wr *out, const void *obj)
{
    const zkd_conn *c = obj;
    flw_printf(out, "\tip: %s sessionId: 0x%llx\n", c->peer_str, flw_hex(flw_conn_sid(c)));
}

static int flw_sid_cmp(const void *a, const void *b)
{
    int64_t x = (*(const zkd_session *const *)a)->id, y = (*(const zkd_session *const *)b)->id;
    return (x > y) - (x < y);
}

/* LearnerSessionTracker.dumpSessions (followers, observers): every global
 * session with its timeout, by id (a TreeSet<Long>: signed order). */
static void flw_global_sessions(zkd_server *s, kz_wr *out)
{
    size_t n = 0, cap = kz_map_size(&s->sessions);
    const zkd_session **v = calloc(cap + 1, sizeof *v);
    if (!v) {
        out->err = KZ_ENOMEM;
        return;
    }
    int64_t id;
    uint64_t val;
    for (size_t it = 0; n < cap && kz_map_next(&s->sessions, &it, &id, &val);)
        v[n++] = (const zkd_session *)(uintptr_t)val;
    qsort(v, n, sizeof *v, flw_sid_cmp);
    flw_printf(out, "Global Sessions(%zu):\n", n);
    for (size_t i = 0; i < n; i++)
        flw_printf(out, "0x%llx\t%" PRId32 "ms\n", flw_hex(v[i]->id), v[i]->timeout);
    free(v);
}

static int flw_eph_count(void *ctx, int64_t sid, zkd_node *const *nodes, size_t n)
{
    (void)sid, (void)nodes, (void)n;
    ++*(size_t *)ctx;
    return 0;
}

static int flw_eph_line(void *ctx, int64_t sid, zkd_node *const *nodes, size_t n)
{
    kz_wr *out = ctx;
    flw_printf(out, "0x%llx:\n", flw_hex(sid));
    for (size_t i = 0; i < n; i++)
        flw_printf(out, "\t%s\n", nodes[i]->path);
    return 0;
}

static void flw_dump(zkd_server *s, zkd_conn *self, kz_wr *out)
{
    (void)self;
    size_t cap = kz_map_size(&s->sessions) + s->nconns + 1, n = 0;
    flw_exp *v = calloc(cap, sizeof *v);
    if (!v) {
        out->err = KZ_ENOMEM;
        return;
    }
    flw_puts(out, "SessionTracker dump:\n");
    if (s->q && !flw_leader(s)) {
        flw_global_sessions(s, out);
    } else { /* SessionTrackerImpl (standalone, and the leader's global tracker) */
        int64_t at;
        uint64_t head;
        for (size_t it = 0; kz_map_next(&s->buckets, &it, &at, &head);)
            for (const zkd_session *se = (const zkd_session *)(uintptr_t)head; se && n < cap; se = se->bnext)
                v[n++] = (flw_exp){ at, (uint64_t)se->id, se };
        flw_puts(out, "Session ");
        flw_exp_dump(out, v, n, flw_session_line);
    }

    size_t neph = 0;
    zkd_dt_ephemeral_walk(s->dt, flw_eph_count, &neph);
    flw_printf(out, "ephemeral nodes dump:\nSessions with Ephemerals (%zu):\n", neph);
    zkd_dt_ephemeral_walk(s->dt, flw_eph_line, out);

    /* ZooKeeper expires idle connections in 10 s buckets: one session timeout
     * after the last request, 10 s before the handshake. zkd has no such
     * queue; the deadline is estimated from the session's or the accept time. */
    n = 0;
    for (const zkd_conn *c = s->conns; c && n < cap; c = c->next) {
        int64_t t = c->session ? c->session->expire_at : c->established_ms + FLW_CNXN_EXPIRY_MS;
        v[n++] = (flw_exp){ (t / FLW_CNXN_EXPIRY_MS + 1) * FLW_CNXN_EXPIRY_MS, c->cid, c };
    }
    flw_puts(out, "Connections dump:\nConnections ");
    flw_exp_dump(out, v, n, flw_cnxn_line);
    free(v);
}

/* ---- mntr: ZooKeeperServer.dumpMonitorValues + the metrics provider dump.
 * The provider keeps its gauges, counters and summaries in hash maps; the
 * table below is the order ZooKeeper 3.8 prints them in, standalone keys
 * and quorum keys interleaved (FR_* says which peers print a row). */

typedef enum { FM_STR, FM_INT, FM_DBL, FM_SUM, FM_SUMX, FM_SET, FM_SETX } flw_mkind;

/* Integer sources (FM_INT), string sources (FM_STR: 0 version, 1 state,
 * 2 peer state), double sources (FM_DBL: 0 zero, 1 average latency),
 * summaries (FM_SUM*), per-learner summary sets (FM_SET*, all zero). */
enum {
    FV_ZERO, FV_EPHEMERALS, FV_CONNS, FV_OUTSTANDING, FV_ZNODES, FV_SESSIONS, FV_LAST_RESP, FV_SENT, FV_RECV,
    FV_MAX_RESP, FV_WATCHES, FV_AUTH_FAILED, FV_MIN_LAT, FV_MAX_FD, FV_DATA_SIZE, FV_OPEN_FD, FV_UPTIME,
    FV_MAX_LAT, FV_MIN_RESP, FV_REJECTED, FV_BYTES_RECV,
    /* ensemble */
    FV_QUORUM_SIZE, FV_LOOKING, FV_LEARNERS, FV_SYNCED_FOLLOWERS, FV_SYNCED_OBSERVERS, FV_PENDING_SYNCS,
    FV_LEADER_UPTIME, FV_PROP_LAST, FV_PROP_MIN, FV_PROP_MAX, FV__N
};
enum { FS_NONE, FS_FSYNC, FS_SNAPSHOT, FS_ELECTION };

/* Which peers print a row: everyone, ensemble peers (QuorumZooKeeperServer),
 * the leader only (LeaderZooKeeperServer). */
enum { FR_ALL, FR_QUORUM, FR_LEADER };

typedef struct flw_metric {
    const char *name; /* without "zk_"; summaries without the avg_/min_/... prefix */
    uint8_t kind, src, roles;
} flw_metric;

#define MI(n, src) { n, FM_INT, src, FR_ALL }
#define MZ(n) { n, FM_INT, FV_ZERO, FR_ALL }
#define MS(n, src) { n, FM_SUM, src, FR_ALL }
#define M0(n) { n, FM_SUM, FS_NONE, FR_ALL }
#define MX(n) { n, FM_SUMX, FS_NONE, FR_ALL }
#define MQ(n, src) { n, FM_INT, src, FR_QUORUM }
#define ML(n, src) { n, FM_INT, src, FR_LEADER }

static const flw_metric flw_metrics[] = {
    { "version", FM_STR, 0, FR_ALL }, { "server_state", FM_STR, 1, FR_ALL }, { "peer_state", FM_STR, 2, FR_QUORUM },
    MI("ephemerals_count", FV_EPHEMERALS), MI("num_alive_connections", FV_CONNS),
    { "avg_latency", FM_DBL, 1, FR_ALL }, ML("min_proposal_size", FV_PROP_MIN),
    MI("outstanding_requests", FV_OUTSTANDING), MI("znode_count", FV_ZNODES),
    MI("global_sessions", FV_SESSIONS), MZ("non_mtls_remote_conn_count"),
    MI("last_client_response_size", FV_LAST_RESP), MI("packets_sent", FV_SENT), MI("packets_received", FV_RECV),
    ML("max_proposal_size", FV_PROP_MAX), MI("max_client_response_size", FV_MAX_RESP),
    ML("synced_followers", FV_SYNCED_FOLLOWERS), { "connection_drop_probability", FM_DBL, 0, FR_ALL },
    MI("watch_count", FV_WATCHES), ML("synced_non_voting_followers", FV_ZERO),
    ML("synced_observers", FV_SYNCED_OBSERVERS), MI("auth_failed_count", FV_AUTH_FAILED),
    MI("min_latency", FV_MIN_LAT), MI("max_file_descriptor_count", FV_MAX_FD),
    MI("approximate_data_size", FV_DATA_SIZE), MI("open_file_descriptor_count", FV_OPEN_FD),
    ML("last_proposal_size", FV_PROP_LAST), ML("pending_syncs", FV_PENDING_SYNCS),
    ML("leader_uptime", FV_LEADER_UPTIME), MZ("local_sessions"), MI("uptime", FV_UPTIME),
    MI("max_latency", FV_MAX_LAT), MZ("outstanding_tls_handshake"), ML("learners", FV_LEARNERS),
    MI("min_client_response_size", FV_MIN_RESP), MZ("non_mtls_local_conn_count"),
    MQ("quorum_size", FV_QUORUM_SIZE), MZ("proposal_count"), MZ("watch_bytes"), MZ("outstanding_changes_removed"),
    MZ("throttled_ops"), MZ("stale_requests_dropped"), MZ("large_requests_rejected"), MZ("insecure_admin_count"),
    MI("connection_rejected", FV_REJECTED), MZ("cnxn_closed_without_zk_server_running"),
    MZ("sessionless_connections_expired"), MI("looking_count", FV_LOOKING), MZ("dead_watchers_queued"),
    MZ("stale_requests"),
    MZ("connection_drop_count"), MZ("learner_proposal_received_count"), MZ("digest_mismatches_count"),
    MZ("dead_watchers_cleared"), MZ("response_packet_cache_hits"), MI("bytes_received_count", FV_BYTES_RECV),
    MZ("add_dead_watcher_stall_time"), MZ("request_throttle_wait_count"),
    MZ("requests_not_forwarded_to_commit_processor"), MZ("response_packet_cache_misses"),
    MZ("ensemble_auth_success"), MZ("prep_processor_request_queued"), MZ("learner_commit_received_count"),
    MZ("stale_replies"), MZ("connection_request_count"), MZ("response_bytes"), MZ("ensemble_auth_fail"),
    MZ("diff_count"), MZ("response_packet_get_children_cache_misses"), MZ("connection_revalidate_count"),
    MZ("quit_leading_due_to_disloyal_voter"), MZ("snap_count"), MZ("unrecoverable_error_count"),
    MZ("unsuccessful_handshake"), MZ("commit_count"), MZ("stale_sessions_expired"),
    MZ("response_packet_get_children_cache_hits"), MZ("sync_processor_request_queued"),
    MZ("outstanding_changes_queued"), MZ("request_commit_queued"), MZ("ensemble_auth_skip"),
    MZ("skip_learner_request_to_next_processor_count"), MZ("tls_handshake_exceeded"), MZ("revalidate_count"),
    M0("socket_closing_time"), M0("proposal_process_time"), M0("leader_unavailable_time"),
    M0("node_created_watch_count"), M0("session_queues_drained"), M0("write_commit_proc_req_queued"),
    M0("connection_token_deficit"), M0("read_commit_proc_req_queued"), M0("node_deleted_watch_count"),
    M0("startup_txns_load_time"), M0("sync_processor_queue_size"), M0("follower_sync_time"),
    M0("prep_processor_queue_size"), MS("fsynctime", FS_FSYNC), M0("inflight_snap_count"),
    M0("reads_issued_from_session_queue"), M0("learner_request_processor_queue_size"),
    MS("snapshottime", FS_SNAPSHOT), M0("unavailable_time"), M0("startup_txns_loaded"),
    M0("reads_after_write_in_session_queue"), M0("requests_in_session_queue"), M0("write_commit_proc_issued"),
    M0("prep_process_time"), M0("pending_session_queue_size"),
    M0("time_waiting_empty_pool_in_commit_processor_read_ms"), M0("commit_process_time"), M0("dbinittime"),
    M0("inflight_diff_count"), M0("netty_queued_buffer_capacity"), MS("election_time", FS_ELECTION),
    M0("commit_commit_proc_req_queued"), M0("sync_processor_batch_size"), M0("node_children_watch_count"),
    M0("write_batch_time_in_commit_processor"), M0("read_commit_proc_issued"),
    M0("concurrent_request_processing_in_commit_processor"), M0("observer_sync_time"),
    M0("node_changed_watch_count"), M0("sync_process_time"), M0("startup_snap_load_time"),
    MX("prep_processor_queue_time_ms"), MX("jvm_pause_time_ms"), MX("close_session_prep_time"),
    MX("read_commitproc_time_ms"), MX("updatelatency"), MX("local_write_committed_time_ms"),
    MX("request_throttle_queue_time_ms"), MX("readlatency"), MX("quorum_ack_latency"),
    MX("om_commit_process_time_ms"), MX("read_final_proc_time_ms"), MX("commit_propagation_latency"),
    MX("dead_watchers_cleaner_latency"), MX("write_final_proc_time_ms"), MX("proposal_ack_creation_latency"),
    MX("proposal_latency"), MX("om_proposal_process_time_ms"), MX("sync_processor_queue_and_flush_time_ms"),
    MX("propagation_latency"), MX("server_write_committed_time_ms"), MX("sync_processor_queue_time_ms"),
    MX("sync_processor_queue_flush_time_ms"), MX("write_commitproc_time_ms"),
    /* (here ZooKeeper prints the per-namespace summary sets) */
    { "learner_handler_qp_size", FM_SET, 0, FR_LEADER }, { "learner_handler_qp_time_ms", FM_SETX, 0, FR_LEADER },
};

#undef MI
#undef MZ
#undef MS
#undef M0
#undef MX
#undef MQ
#undef ML

/* Entries of /proc/self/fd minus the one reading it (UnixOperatingSystemMXBean). */
static int64_t flw_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int64_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1;
}

static void flw_metric_values(const zkd_server *s, int64_t v[FV__N])
{
    const zkd_stats *st = &s->stats;
    struct rlimit rl;
    memset(v, 0, FV__N * sizeof *v);
    v[FV_EPHEMERALS] = (int64_t)zkd_dt_ephemeral_count(s->dt);
    v[FV_CONNS] = (int64_t)s->nconns;
    v[FV_OUTSTANDING] = (int64_t)s->outstanding;
    v[FV_ZNODES] = (int64_t)flw_node_count(s);
    v[FV_SESSIONS] = (int64_t)kz_map_size(&s->sessions);
    v[FV_LAST_RESP] = st->last_resp_size;
    v[FV_SENT] = st->packets_sent;
    v[FV_RECV] = st->packets_received;
    v[FV_MAX_RESP] = st->max_resp_size;
    v[FV_WATCHES] = (int64_t)zkd_watch_total(s->watches);
    v[FV_AUTH_FAILED] = st->auth_failed;
    v[FV_MIN_LAT] = flw_lat_min(&st->lat);
    v[FV_MAX_FD] = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (int64_t)rl.rlim_cur : -1;
    v[FV_DATA_SIZE] = zkd_dt_approx_size(s->dt);
    v[FV_OPEN_FD] = flw_open_fds();
    v[FV_UPTIME] = kz_wall_ms() - st->started_ms;
    v[FV_MAX_LAT] = flw_lat_max(&st->lat);
    v[FV_MIN_RESP] = st->min_resp_size;
    v[FV_REJECTED] = st->connection_rejected;
    v[FV_BYTES_RECV] = st->bytes_received;
    if (!s->q)
        return;
    const zkd_quorum *q = s->q;
    v[FV_QUORUM_SIZE] = q->nvoters;    /* QuorumPeer.getQuorumSize(): the voting view */
    v[FV_LOOKING] = q->st.elections;   /* LOOKING_COUNT */
    const zkd_leader *l = flw_leader(s);
    if (!l)
        return;
    zkd_leader_info li;
    zkd_leader_stats(l, &li);
    v[FV_LEARNERS] = li.learners;                 /* getLearners() */
    v[FV_SYNCED_FOLLOWERS] = li.synced_followers; /* getForwardingFollowers() */
    v[FV_SYNCED_OBSERVERS] = li.synced_observers; /* getObservingLearners() */
    v[FV_PENDING_SYNCS] = li.pending_syncs;
    v[FV_LEADER_UPTIME] = li.uptime_ms;
    v[FV_PROP_LAST] = q->st.proposal_last;
    v[FV_PROP_MIN] = q->st.proposal_min;
    v[FV_PROP_MAX] = q->st.proposal_max;
}

static bool flw_metric_shown(const zkd_server *s, const flw_metric *m)
{
    return m->roles == FR_ALL || (m->roles == FR_QUORUM && s->q) || (m->roles == FR_LEADER && flw_leader(s));
}

/* min/max/cnt/sum of a summary. zkd tracks no minimum fsync time (0, which
 * is what millisecond fsyncs mostly measure), only the number of snapshots
 * written, and only the duration of the last election (one sample, none
 * while looking or after srst). */
static void flw_summary(const zkd_server *s, int src, int64_t out[4])
{
    const zkd_stats *st = &s->stats;
    memset(out, 0, 4 * sizeof *out);
    if (src == FS_FSYNC) {
        out[1] = st->fsync_ms_max, out[2] = st->fsync_count, out[3] = st->fsync_ms_total;
    } else if (src == FS_SNAPSHOT) {
        out[2] = st->snap_count;
    } else if (src == FS_ELECTION && s->q && s->q->st.elections > 0 && zkd_server_role(s) != ZKD_ROLE_LOOKING) {
        int64_t ms = s->q->st.last_election_ms;
        out[0] = out[1] = out[3] = ms, out[2] = 1;
    }
}

/* A summary set of @sids with nothing recorded: "zk_avg_<sid>_<name>\t0.0",
 * then min, max, cnt, sum [, p50, p95, p99, p999] at 0 (zkd does not measure
 * the learner handlers' queues). */
static void flw_summary_set(kz_wr *out, const char *name, bool pct, const int64_t *sids, size_t n)
{
    static const char *const pfx[] = { "min", "max", "cnt", "sum", "p50", "p95", "p99", "p999" };
    for (size_t i = 0; i < n; i++) {
        flw_printf(out, "zk_avg_%" PRId64 "_%s\t0.0\n", sids[i], name);
        for (int k = 0; k < (pct ? 8 : 4); k++)
            flw_printf(out, "zk_%s_%" PRId64 "_%s\t0\n", pfx[k], sids[i], name);
    }
}

static const char *flw_version_of(const zkd_server *s)
{
    (void)s;
    return zkd_flw_version();
}

static void flw_mntr(zkd_server *s, zkd_conn *self, kz_wr *out)
{
    (void)self;
    static const char *const sum_pfx[] = { "min", "max", "cnt", "sum", "p50", "p95", "p99", "p999" };
    static const char *(*const str_src[])(const zkd_server *) = { flw_version_of, flw_mode, flw_peer_state };
    int64_t v[FV__N], sv[4];
    zkd_leader_info li = { 0 }; /* the learners served: keys of the per-learner sets */
    if (flw_leader(s))
        zkd_leader_stats(flw_leader(s), &li);
    char d[32];
    flw_metric_values(s, v);
    for (size_t i = 0; i < sizeof flw_metrics / sizeof *flw_metrics; i++) {
        const flw_metric *m = &flw_metrics[i];
        if (!flw_metric_shown(s, m))
            continue;
        switch (m->kind) {
        case FM_STR:
            flw_printf(out, "zk_%s\t%s\n", m->name, str_src[m->src](s));
            break;
        case FM_SET:
        case FM_SETX:
            flw_summary_set(out, m->name, m->kind == FM_SETX, li.served, li.nserved);
            break;
        case FM_INT:
            flw_printf(out, "zk_%s\t%" PRId64 "\n", m->name, v[m->src]);
            break;
        case FM_DBL:
            flw_jdouble(d, sizeof d, m->src ? flw_avg(s->stats.lat.total, s->stats.lat.count) : 0.0);
            flw_printf(out, "zk_%s\t%s\n", m->name, d);
            break;
        default: /* FM_SUM, FM_SUMX: avg, min, max, cnt, sum [, p50, p95, p99, p999] */
            flw_summary(s, m->src, sv);
            flw_jdouble(d, sizeof d, flw_avg(sv[3], sv[2]));
            flw_printf(out, "zk_avg_%s\t%s\n", m->name, d);
            for (int k = 0; k < (m->kind == FM_SUMX ? 8 : 4); k++)
                flw_printf(out, "zk_%s_%s\t%" PRId64 "\n", sum_pfx[k], m->name, k < 4 ? sv[k] : 0);
            break;
        }
    }
}

/* ------------------------------------------------------------------ table */

enum { FLW_SERVING = 1 }; /* answers FLW_NOT_SERVING while not serving */

typedef struct flw_word {
    const char *word; /* exactly 4 characters */
    unsigned flags;
    flw_fn *fn;
} flw_word;

static const flw_word flw_words[] = {
    { "ruok", 0, flw_ruok },           { "isro", 0, flw_isro },           { "gtmk", 0, flw_gtmk },
    { "hash", 0, flw_hash },           { "envi", 0, flw_envi },           { "srvr", FLW_SERVING, flw_srvr },
    { "stat", FLW_SERVING, flw_stat }, { "cons", FLW_SERVING, flw_cons }, { "crst", FLW_SERVING, flw_crst },
    { "srst", FLW_SERVING, flw_srst }, { "conf", FLW_SERVING, flw_conf }, { "dirs", FLW_SERVING, flw_dirs },
    { "dump", FLW_SERVING, flw_dump }, { "mntr", FLW_SERVING, flw_mntr }, { "wchs", FLW_SERVING, flw_wchs },
    { "wchc", FLW_SERVING, flw_wchc }, { "wchp", FLW_SERVING, flw_wchp },
};

static const flw_word *flw_find(const char word[4])
{
    for (size_t i = 0; i < sizeof flw_words / sizeof *flw_words; i++)
        if (memcmp(flw_words[i].word, word, 4) == 0)
            return &flw_words[i];
    return NULL;
}

bool zkd_flw_known(const char word[4])
{
    /* stmk is a word too (ZooKeeper reads 8 more bytes); zkd answers it with nothing. */
    return flw_find(word) || memcmp(word, "stmk", 4) == 0;
}

bool zkd_flw_run(zkd_server *s, zkd_conn *self, const char word[4], kz_wr *out)
{
    const flw_word *w = flw_find(word);
    if (!w)
        return false;
    if (!zkd_config_flw_allowed(s->cfg, word))
        flw_printf(out, "%s is not executed because it is not in the whitelist.\n", w->word);
    else if ((w->flags & FLW_SERVING) && !s->serving)
        flw_puts(out, FLW_NOT_SERVING "\n");
    else
        w->fn(s, self, out);
    return true;
}
