/* bench/kperf.c -- Kafka producer and consumer load generator speaking the wire protocol itself.
 *
 * Usage:
 *   kperf produce --bootstrap-server H:P --topic T --num-records N --record-size S
 *         [--throughput -1] [--acks 1|0|-1] [--batch-bytes 1048576] [--inflight 8]
 *         [--partitions-spread] [--compression none|gzip|snappy|lz4|zstd] [--timeout-ms MS]
 *   kperf consume --bootstrap-server H:P --topic T --messages N [--fetch-max-bytes B]
 *         [--partition-max-bytes B] [--fetch-wait-ms MS] [--check-crc] [--timeout-ms MS]
 *   kperf create-topic --bootstrap-server H:P --topic T --partitions N [--replication-factor R]
 *   kperf probe --bootstrap-server H:P [--timeout-ms MS]
 *
 * The counterpart of kafka-producer-perf-test.sh and kafka-consumer-perf-test.sh for a
 * broker benchmark: one thread, one epoll loop, one TCP connection per partition leader,
 * so the client costs little next to the broker.
 *
 * produce: ApiVersions and Metadata on the bootstrap server (retried, bounded, until
 *   every partition has a leader), then one connection per leader. Each Produce request
 *   (the highest version both sides know, at most 8, at least 3) carries RecordBatch v2
 *   batches built once each with kz_bb: null keys, the same S random upper-case letters
 *   as value (as the Java tool does without --payload-file), one timestamp per batch.
 *   A batch holds as many records as fit in --batch-bytes (its exact v2 size, before
 *   compression). By default a request carries one batch and the connection's
 *   partitions take turns (Kafka's sticky partitioner); with --partitions-spread a
 *   request carries one batch for every partition of that leader, each of
 *   batch-bytes / partitions. Up to --inflight requests are pipelined per connection;
 *   responses are matched to requests in send order. Latency is per request, from
 *   encoding it into the connection's send buffer to the read that brought its
 *   response (acks=0: to the write that handed its last byte to the kernel); the
 *   summary weighs each request by its records, so "avg" and the percentiles are per
 *   record as in Kafka's tool, with the resolution of a request. MB = 2^20 bytes of
 *   record values, as Kafka's tool counts; wire_mb_per_sec counts the request bytes.
 *   --throughput caps records/s (-1: no cap).
 * consume: Metadata as above, then one Fetch (version <= 11, >= 4, no fetch session)
 *   in flight per leader, from offset 0 of every partition, until N records were read.
 *   Records are counted from the batch headers (recordsCount), not decoded: that is what
 *   a fast consumer pays; --check-crc also verifies every batch CRC. Legacy (magic 0/1)
 *   entries, which a v2 log does not hold, are walked record by record. Bytes are the
 *   bytes of the fetched batches (Kafka's tool sums keys and values: a little less).
 *   rebalance.time.ms is our set-up time (connect, ApiVersions, Metadata); fetch.time.ms
 *   the rest.
 * create-topic: CreateTopics (version <= 4), then Metadata until every partition has a
 *   leader. TOPIC_ALREADY_EXISTS is accepted.
 * probe: connect, ApiVersions, Metadata (no topics), retried every millisecond until a
 *   Metadata answer lists at least one broker; prints when (CLOCK_REALTIME, in us, so a
 *   script can subtract the instant it spawned the broker).
 *
 * Output (stdout): produce prints Kafka's summary line
 *   `N records sent, R records/sec (M MB/sec), A ms avg latency, X ms max latency,
 *    P50 ms 50th, P95 ms 95th, P99 ms 99th, P999 ms 99.9th.`
 * consume prints kafka-consumer-perf-test's header and CSV line. Every mode then prints
 * one `stats mode=... key=value...` line for scripts (bench/kafka.sh).
 *
 * Exit status: 0 done; 1 usage, or a set-up failure (connect, versions, metadata);
 * 2 the run failed (connection lost, an error code in a response, a malformed
 * response, no progress for --timeout-ms). Every wait is bounded by --timeout-ms.
 *
 * Wire: frames are an int32 size then the message; requests use the header of their
 * version (kz_kreq_hdr_version), client id "kperf"; messages are encoded and decoded
 * by the schema engine (common/kz_kmsg.h, tables in common/kz_kmsgs.def).
 * Single-threaded: no locks. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kz_batch.h"
#include "kz_buf.h"
#include "kz_compress.h"
#include "kz_kmsg.h"
#include "kz_kmsgs.h"
#include "kz_records.h"
#include "lib/zkb_common.h"

#define KP_HOST_MAX     256
#define KP_READ_CHUNK   (256 * 1024)     /* a read when no large frame is pending */
#define KP_MAX_PARTS    10000
#define KP_MAX_BROKERS  1024
#define KP_META_RETRY_NS (20 * 1000000LL) /* between Metadata attempts */
#define KP_PROBE_RETRY_NS (1000000LL)     /* between probe attempts */
#define KP_PRODUCE_TIMEOUT_MS 30000       /* the request's timeout_ms field */
#define KP_CLIENT_ID    "kperf"

enum { KP_EXIT_OK = 0, KP_EXIT_SETUP = 1, KP_EXIT_RUN = 2 };

/* ------------------------------------------------------------------ options */

enum { KP_M_PRODUCE = 1, KP_M_CONSUME = 2, KP_M_CREATE = 4, KP_M_PROBE = 8, KP_M_ALL = 15 };

typedef struct kp_opts {
    unsigned mode;
    const char *bootstrap, *topic;
    long num_records, record_size, throughput, acks, batch_bytes, inflight;
    long messages, fetch_max_bytes, partition_max_bytes, fetch_wait_ms;
    long partitions, replication_factor, timeout_ms;
    bool spread, check_crc;
    int codec;
} kp_opts;

typedef enum { KP_O_LONG, KP_O_STR, KP_O_FLAG, KP_O_CODEC } kp_otype;

typedef struct kp_optdef {
    const char *name;
    kp_otype type;
    size_t off;
    long lo, hi;
    unsigned modes;    /* where it is accepted */
    unsigned req;      /* where it is required */
    const char *help;
} kp_optdef;

#define KP_OFF(f) offsetof(kp_opts, f)
static const kp_optdef kp_optdefs[] = {
    { "--bootstrap-server", KP_O_STR, KP_OFF(bootstrap), 0, 0, KP_M_ALL, KP_M_ALL,
      "HOST:PORT[,HOST:PORT...] to ask for metadata" },
    { "--topic", KP_O_STR, KP_OFF(topic), 0, 0, KP_M_PRODUCE | KP_M_CONSUME | KP_M_CREATE,
      KP_M_PRODUCE | KP_M_CONSUME | KP_M_CREATE, "topic name" },
    { "--num-records", KP_O_LONG, KP_OFF(num_records), 1, 1000000000000L, KP_M_PRODUCE, KP_M_PRODUCE,
      "records to produce" },
    { "--record-size", KP_O_LONG, KP_OFF(record_size), 0, 100 << 20, KP_M_PRODUCE, KP_M_PRODUCE,
      "bytes of each record's value" },
    { "--throughput", KP_O_LONG, KP_OFF(throughput), -1, 1000000000000L, KP_M_PRODUCE, 0,
      "records/s cap, -1 none (default)" },
    { "--acks", KP_O_LONG, KP_OFF(acks), -1, 1, KP_M_PRODUCE, 0, "1 (default), 0 or -1" },
    { "--batch-bytes", KP_O_LONG, KP_OFF(batch_bytes), 128, 256 << 20, KP_M_PRODUCE, 0,
      "records bytes of a request's batches (default 1048576)" },
    { "--inflight", KP_O_LONG, KP_OFF(inflight), 1, 1024, KP_M_PRODUCE, 0,
      "requests in flight per connection (default 8)" },
    { "--partitions-spread", KP_O_FLAG, KP_OFF(spread), 0, 0, KP_M_PRODUCE, 0,
      "one batch per partition of the leader in every request" },
    { "--compression", KP_O_CODEC, KP_OFF(codec), 0, 0, KP_M_PRODUCE, 0,
      "none (default), gzip, snappy, lz4 or zstd" },
    { "--messages", KP_O_LONG, KP_OFF(messages), 1, 1000000000000L, KP_M_CONSUME, KP_M_CONSUME,
      "records to read" },
    { "--fetch-max-bytes", KP_O_LONG, KP_OFF(fetch_max_bytes), 1024, 1L << 30, KP_M_CONSUME, 0,
      "Fetch max_bytes (default 52428800)" },
    { "--partition-max-bytes", KP_O_LONG, KP_OFF(partition_max_bytes), 1024, 1L << 30, KP_M_CONSUME, 0,
      "Fetch partition_max_bytes (default 1048576)" },
    { "--fetch-wait-ms", KP_O_LONG, KP_OFF(fetch_wait_ms), 0, 60000, KP_M_CONSUME, 0,
      "Fetch max_wait_ms (default 500)" },
    { "--check-crc", KP_O_FLAG, KP_OFF(check_crc), 0, 0, KP_M_CONSUME, 0, "verify every batch CRC" },
    { "--partitions", KP_O_LONG, KP_OFF(partitions), 1, KP_MAX_PARTS, KP_M_CREATE, KP_M_CREATE,
      "partitions of the new topic" },
    { "--replication-factor", KP_O_LONG, KP_OFF(replication_factor), 1, 32767, KP_M_CREATE, 0,
      "replicas per partition (default 1)" },
    { "--timeout-ms", KP_O_LONG, KP_OFF(timeout_ms), 1, 86400000L, KP_M_ALL, 0,
      "bound of set-up and of any stretch without progress (default 30000)" },
};

static const struct { const char *name; unsigned mode; } kp_modes[] = {
    { "produce", KP_M_PRODUCE }, { "consume", KP_M_CONSUME },
    { "create-topic", KP_M_CREATE }, { "probe", KP_M_PROBE },
};

static void kp_usage(FILE *f)
{
    fprintf(f, "usage: kperf produce|consume|create-topic|probe --bootstrap-server HOST:PORT [options]\n");
    for (size_t i = 0; i < sizeof kp_optdefs / sizeof kp_optdefs[0]; i++) {
        const kp_optdef *d = &kp_optdefs[i];
        fprintf(f, "  %-22s %s [", d->name, d->help);
        const char *sep = "";
        for (size_t m = 0; m < sizeof kp_modes / sizeof kp_modes[0]; m++) {
            if (d->modes & kp_modes[m].mode) {
                fprintf(f, "%s%s%s", sep, kp_modes[m].name, d->req & kp_modes[m].mode ? "*" : "");
                sep = " ";
            }
        }
        fprintf(f, "]\n");
    }
    fprintf(f, "  (* required in that mode)\n");
}

/* Fills @o from argv. Returns 0, or -1 after printing what was wrong. */
static int kp_parse_args(kp_opts *o, int argc, char **argv)
{
    *o = (kp_opts){ .throughput = -1, .acks = 1, .batch_bytes = 1048576, .inflight = 8,
                    .fetch_max_bytes = 52428800, .partition_max_bytes = 1048576, .fetch_wait_ms = 500,
                    .replication_factor = 1, .timeout_ms = 30000, .codec = KZ_CODEC_NONE };
    unsigned seen[sizeof kp_optdefs / sizeof kp_optdefs[0]] = { 0 };
    if (argc < 2) {
        kp_usage(stderr);
        return -1;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        kp_usage(stdout);
        exit(0);
    }
    for (size_t m = 0; m < sizeof kp_modes / sizeof kp_modes[0]; m++)
        if (!strcmp(argv[1], kp_modes[m].name))
            o->mode = kp_modes[m].mode;
    if (!o->mode) {
        fprintf(stderr, "kperf: unknown mode '%s'\n", argv[1]);
        kp_usage(stderr);
        return -1;
    }
    for (int i = 2; i < argc; i++) {
        const kp_optdef *d = NULL;
        size_t k;
        for (k = 0; k < sizeof kp_optdefs / sizeof kp_optdefs[0]; k++)
            if (!strcmp(argv[i], kp_optdefs[k].name)) {
                d = &kp_optdefs[k];
                break;
            }
        if (!d || !(d->modes & o->mode)) {
            fprintf(stderr, "kperf %s: unknown option '%s'\n", argv[1], argv[i]);
            return -1;
        }
        seen[k] = 1;
        char *field = (char *)o + d->off;
        if (d->type == KP_O_FLAG) {
            *(bool *)field = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "kperf: %s needs a value\n", d->name);
            return -1;
        }
        const char *v = argv[++i];
        switch (d->type) {
        case KP_O_LONG:
            if (!zkb_parse_long(v, d->lo, d->hi, (long *)field)) {
                fprintf(stderr, "kperf: %s: '%s' is not an integer in [%ld, %ld]\n", d->name, v, d->lo, d->hi);
                return -1;
            }
            break;
        case KP_O_STR:
            if (!*v || strlen(v) >= KP_HOST_MAX) {
                fprintf(stderr, "kperf: %s: empty or longer than %d bytes\n", d->name, KP_HOST_MAX - 1);
                return -1;
            }
            *(const char **)field = v;
            break;
        case KP_O_CODEC: {
            int c;
            for (c = KZ_CODEC_NONE; c <= KZ_CODEC_ZSTD; c++)
                if (!strcmp(v, kz_codec_name(c)))
                    break;
            if (c > KZ_CODEC_ZSTD) {
                fprintf(stderr, "kperf: %s: unknown codec '%s'\n", d->name, v);
                return -1;
            }
            *(int *)field = c;
            break;
        }
        case KP_O_FLAG:
            break;
        }
    }
    for (size_t k = 0; k < sizeof kp_optdefs / sizeof kp_optdefs[0]; k++)
        if ((kp_optdefs[k].req & o->mode) && !seen[k]) {
            fprintf(stderr, "kperf %s: %s is required\n", argv[1], kp_optdefs[k].name);
            return -1;
        }
    if (o->throughput == 0) {
        fprintf(stderr, "kperf: --throughput must be positive or -1\n");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ run state */

/* The APIs we use: our version range of each, chosen against the broker's. */
enum { KP_API_PRODUCE, KP_API_FETCH, KP_API_METADATA, KP_API_CREATE, KP_API__N };
static const struct { int16_t key, lo, hi; const char *name; } kp_apis[KP_API__N] = {
    [KP_API_PRODUCE]  = { 0, 3, 8, "Produce" },   /* v3: RecordBatch v2; v9 is flexible */
    [KP_API_FETCH]    = { 1, 4, 11, "Fetch" },    /* v4: RecordBatch v2; v12 is flexible */
    [KP_API_METADATA] = { 3, 1, 8, "Metadata" },  /* v1: an empty topic list means none */
    [KP_API_CREATE]   = { 19, 0, 4, "CreateTopics" },
};
#define KP_APIVERSIONS_VER 2

/* One request in flight on a connection, in send order. */
typedef struct kp_req {
    int32_t corr;
    int32_t records;     /* produce: records it carries */
    int64_t t_ns;        /* when it was encoded */
    uint64_t end_pos;    /* the connection's byte count once it is fully written */
} kp_req;

typedef struct kp_run kp_run;

typedef struct kp_conn {
    kp_run *g;
    int fd;
    int32_t node;
    char addr[KP_HOST_MAX + 8];  /* host:port, for messages */
    int16_t ver[KP_API__N];  /* -1: the broker has none we know */
    int32_t next_corr;
    /* output: bytes out.base[out_off..out.len) are queued */
    kz_wr out;
    size_t out_off;
    uint64_t out_queued, out_sent;
    bool want_out;           /* EPOLLOUT registered */
    /* input: bytes in[in_off..in_len) received and not consumed */
    uint8_t *in;
    size_t in_off, in_len, in_cap;
    /* requests in flight: a ring of q_cap */
    kp_req *q;
    size_t q_head, q_n, q_cap;
    /* partitions led by this node: indexes into g->parts */
    int *parts;
    int nparts, rr;
    kz_PartitionProduceData *pd;   /* scratch for one request, nparts entries */
    kz_FetchPartition *fp;
    size_t *boff;                  /* batch offsets in g->batch, nparts + 1 */
} kp_conn;

typedef struct kp_part {
    int32_t id, leader;
    int64_t offset;          /* consume: next fetch offset */
    int64_t records;         /* produced to / consumed from it */
} kp_part;

typedef struct kp_broker {
    int32_t node;
    char host[KP_HOST_MAX];
    int32_t port;
} kp_broker;

typedef struct kp_lat {
    uint32_t us;
    int32_t records;
} kp_lat;

struct kp_run {
    kp_opts o;
    char err[768];
    int exit_code;
    int io_code;             /* exit code of an I/O failure: KP_EXIT_SETUP until the load runs */
    size_t max_frame;
    kz_arena arena;          /* decoded responses; rewound per response */
    kp_part *parts;
    int nparts;
    kp_broker *brokers;
    int nbrokers;
    kp_conn *conns;
    int nconns;
    int epfd;
    int64_t t_start_ns, t_ready_ns, t_end_ns;
    int64_t last_progress_ns;
    /* produce */
    kz_bb *bb;
    kz_wr batch;
    char *payload;
    int64_t next_rec, acked;
    kp_lat *lat;
    size_t nlat, cap_lat;
    uint64_t wire_bytes;
    long requests, batches;
    int64_t throttle_ns;     /* a request waits for the rate cap until then (0: none) */
    /* consume */
    int64_t consumed;
    uint64_t bytes;
    long fetches;
    kz_wr scratch;
};

/* The first error wins; later ones are usually its consequences. Returns -1. */
static int kp_err(kp_run *g, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int kp_err(kp_run *g, int code, const char *fmt, ...)
{
    if (!g->err[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(g->err, sizeof g->err, fmt, ap);
        va_end(ap);
        g->exit_code = code;
    }
    return -1;
}

static const struct { int16_t code; const char *name; } kp_errnames[] = {
    { -1, "UNKNOWN_SERVER_ERROR" }, { 1, "OFFSET_OUT_OF_RANGE" }, { 2, "CORRUPT_MESSAGE" },
    { 3, "UNKNOWN_TOPIC_OR_PARTITION" }, { 4, "INVALID_FETCH_SIZE" }, { 5, "LEADER_NOT_AVAILABLE" },
    { 6, "NOT_LEADER_OR_FOLLOWER" }, { 7, "REQUEST_TIMED_OUT" }, { 10, "MESSAGE_TOO_LARGE" },
    { 17, "INVALID_TOPIC_EXCEPTION" }, { 18, "RECORD_LIST_TOO_LARGE" }, { 19, "NOT_ENOUGH_REPLICAS" },
    { 20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND" }, { 21, "INVALID_REQUIRED_ACKS" }, { 32, "INVALID_TIMESTAMP" },
    { 35, "UNSUPPORTED_VERSION" }, { 36, "TOPIC_ALREADY_EXISTS" }, { 37, "INVALID_PARTITIONS" },
    { 38, "INVALID_REPLICATION_FACTOR" }, { 41, "NOT_CONTROLLER" }, { 42, "INVALID_REQUEST" },
    { 74, "FENCED_LEADER_EPOCH" }, { 76, "UNSUPPORTED_COMPRESSION_TYPE" }, { 87, "INVALID_RECORD" },
};

static const char *kp_errname(int16_t code)
{
    for (size_t i = 0; i < sizeof kp_errnames / sizeof kp_errnames[0]; i++)
        if (kp_errnames[i].code == code)
            return kp_errnames[i].name;
    return "error";
}

static int64_t kp_realtime_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---------------------------------------------------------- connections */

/* Splits "host:port" (the last colon; [v6] brackets allowed). */
static bool kp_split_hostport(const char *s, size_t n, char *host, int *port)
{
    const char *colon = NULL;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ':')
            colon = s + i;
    if (!colon || colon == s || (size_t)(colon - s) >= KP_HOST_MAX)
        return false;
    size_t hl = (size_t)(colon - s);
    const char *h = s;
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    memcpy(host, h, hl);
    host[hl] = 0;
    char pbuf[16];
    size_t pl = n - (size_t)(colon + 1 - s);
    if (pl == 0 || pl >= sizeof pbuf)
        return false;
    memcpy(pbuf, colon + 1, pl);
    pbuf[pl] = 0;
    long p;
    if (!zkb_parse_long(pbuf, 1, 65535, &p))
        return false;
    *port = (int)p;
    return true;
}

static int kp_ms_left(int64_t deadline_ns)
{
    int64_t left = deadline_ns - zkb_now_ns();
    if (left <= 0)
        return 0;
    return left / 1000000 > INT32_MAX ? INT32_MAX : (int)((left + 999999) / 1000000);
}

/* A connected, non-blocking TCP socket to @host:@port, or -1 with *errno_out set
 * (ETIMEDOUT at the deadline). */
static int kp_connect(const char *host, int port, int64_t deadline_ns, int *errno_out)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai = NULL;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    int rc = getaddrinfo(host, ps, &hints, &ai);
    if (rc != 0 || !ai) {
        *errno_out = EHOSTUNREACH;
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *errno_out = errno;
        freeaddrinfo(ai);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
        *errno_out = errno;
        goto fail;
    }
    freeaddrinfo(ai);
    ai = NULL;
    for (;;) {
        struct pollfd pf = { .fd = fd, .events = POLLOUT };
        int n = poll(&pf, 1, kp_ms_left(deadline_ns));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            *errno_out = n == 0 ? ETIMEDOUT : errno;
            goto fail;
        }
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr) {
            *errno_out = soerr;
            goto fail;
        }
        return fd;
    }
fail:
    if (ai)
        freeaddrinfo(ai);
    close(fd);
    return -1;
}

static int kp_conn_init(kp_run *g, kp_conn *c, int fd, int32_t node, const char *addr, size_t qcap)
{
    memset(c, 0, sizeof *c);
    c->g = g;
    c->fd = fd;
    c->node = node;
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    c->next_corr = 1;
    c->q_cap = qcap;
    c->q = calloc(qcap, sizeof *c->q);
    for (int i = 0; i < KP_API__N; i++)
        c->ver[i] = -1;
    return c->q ? 0 : kp_err(g, KP_EXIT_SETUP, "out of memory");
}

static void kp_conn_close(kp_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    kz_wr_free(&c->out);
    free(c->in);
    free(c->q);
    free(c->parts);
    free(c->pd);
    free(c->fp);
    free(c->boff);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

/* Appends a request frame (size, header of the version's kind, body) to c->out and
 * returns its correlation id. Errors stay in c->out.err. */
static int32_t kp_encode(kp_conn *c, const kz_kmsg *m, int16_t ver, const void *body)
{
    kz_wr *w = &c->out;
    size_t at = w->len;
    int32_t corr = c->next_corr++;
    kz_kreq_hdr h = { m->api_key, ver, corr, KZ_STR_LIT(KP_CLIENT_ID) };
    kz_wr_i32(w, 0);
    kz_kreq_hdr_encode(w, kz_kreq_hdr_version(m, ver), &h);
    kz_kmsg_encode(m, ver, body, w);
    kz_wr_patch_i32(w, at, (int32_t)(w->len - at - 4));
    if (!w->err)
        c->out_queued += w->len - at;
    return corr;
}

/* Writes what c->out holds until the socket is full. Returns bytes written (>= 0) or
 * -1 when the connection is gone. */
static long kp_flush(kp_conn *c)
{
    long total = 0;
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.base + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return kp_err(c->g, c->g->io_code, "%s: send: %s", c->addr, strerror(errno));
        }
        c->out_off += (size_t)n;
        c->out_sent += (uint64_t)n;
        total += n;
    }
    if (c->out_off == c->out.len) {
        c->out_off = c->out.len = 0;
    } else if (c->out_off > (1u << 20) && c->out_off > c->out.len / 2) {
        memmove(c->out.base, c->out.base + c->out_off, c->out.len - c->out_off);
        c->out.len -= c->out_off;
        c->out_off = 0;
    }
    return total;
}

/* Reads once into c->in. Room: the rest of the frame being received (its size is
 * known once 4 bytes are in), at least KP_READ_CHUNK. Returns bytes read, 0 when
 * nothing was there, -1 on EOF, error, or a frame above g->max_frame. */
static long kp_read(kp_conn *c)
{
    kp_run *g = c->g;
    size_t have = c->in_len - c->in_off, need = KP_READ_CHUNK;
    if (have >= 4) {
        uint32_t size = kz_load_be32(c->in + c->in_off);
        if (size > g->max_frame)
            return kp_err(g, g->io_code, "%s: response frame of %" PRIu32 " bytes (limit %zu)", c->addr, size,
                          g->max_frame);
        if (4 + (size_t)size > have && 4 + (size_t)size - have > need)
            need = 4 + (size_t)size - have;
    }
    if (c->in_cap - c->in_len < need) {
        if (c->in_off > 0) {
            memmove(c->in, c->in + c->in_off, have);
            c->in_off = 0;
            c->in_len = have;
        }
        if (c->in_cap - c->in_len < need) {
            size_t cap = c->in_len + need;
            uint8_t *p = realloc(c->in, cap);
            if (!p)
                return kp_err(g, g->io_code, "out of memory (read buffer of %zu bytes)", cap);
            c->in = p;
            c->in_cap = cap;
        }
    }
    for (;;) {
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
        if (n > 0) {
            c->in_len += (size_t)n;
            return n;
        }
        if (n == 0)
            return kp_err(g, g->io_code, "%s: the broker closed the connection", c->addr);
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return kp_err(g, g->io_code, "%s: recv: %s", c->addr, strerror(errno));
    }
}

/* The next whole frame in c->in (consumed): 1 with @p/@n set, 0 if incomplete. The
 * bytes stay valid until the next kp_read on @c. */
static int kp_frame(kp_conn *c, const uint8_t **p, size_t *n)
{
    size_t have = c->in_len - c->in_off;
    if (have < 4)
        return 0;
    size_t size = kz_load_be32(c->in + c->in_off);
    if (have - 4 < size)
        return 0;
    *p = c->in + c->in_off + 4;
    *n = size;
    c->in_off += 4 + size;
    if (c->in_off == c->in_len)
        c->in_off = c->in_len = 0; /* the frame's bytes stay in place until the next read */
    return 1;
}

/* Decodes a response frame of @m at @ver whose correlation id must be @corr. */
static int kp_decode(kp_conn *c, const kz_kmsg *m, int16_t ver, int32_t corr, const uint8_t *p, size_t n, void *out)
{
    kp_run *g = c->g;
    kz_rd r = kz_rd_init(p, n);
    int32_t got = 0;
    if (kz_kresp_hdr_decode(&r, kz_kresp_hdr_version(m, ver), &got) != 0)
        return kp_err(g, g->io_code, "%s: truncated response header", c->addr);
    if (got != corr)
        return kp_err(g, g->io_code, "%s: response with correlation id %d where %d was next", c->addr, got, corr);
    kz_arena_rewind(&g->arena);
    int rc = kz_kmsg_decode(m, ver, &r, out, &g->arena);
    if (rc != 0)
        return kp_err(g, g->io_code, "%s: malformed %s v%d (%d)", c->addr, m->name, ver, rc);
    return 0;
}

/* One request and its response, waiting at most until @deadline_ns. Set-up only: the
 * connection has nothing else in flight. */
static int kp_call(kp_conn *c, const kz_kmsg *req, const kz_kmsg *resp, int16_t ver, const void *body, void *out,
                   int64_t deadline_ns)
{
    kp_run *g = c->g;
    int32_t corr = kp_encode(c, req, ver, body);
    if (c->out.err)
        return kp_err(g, KP_EXIT_SETUP, "out of memory");
    while (c->out_off < c->out.len) {
        if (kp_flush(c) < 0)
            return -1;
        if (c->out_off == c->out.len)
            break;
        struct pollfd pf = { .fd = c->fd, .events = POLLOUT };
        if (poll(&pf, 1, kp_ms_left(deadline_ns)) == 0)
            return kp_err(g, KP_EXIT_SETUP, "%s: timed out sending %s", c->addr, req->name);
    }
    const uint8_t *p;
    size_t n;
    while (!kp_frame(c, &p, &n)) {
        struct pollfd pf = { .fd = c->fd, .events = POLLIN };
        int pr = poll(&pf, 1, kp_ms_left(deadline_ns));
        if (pr == 0)
            return kp_err(g, KP_EXIT_SETUP, "%s: no %s response within the timeout", c->addr, req->name);
        if (pr > 0 && kp_read(c) < 0)
            return -1;
    }
    return kp_decode(c, resp, ver, corr, p, n, out);
}

/* Connects @c to @host:@port and learns the broker's versions (ApiVersions). */
static int kp_open(kp_run *g, kp_conn *c, int32_t node, const char *host, int port, size_t qcap, int64_t deadline_ns)
{
    char addr[KP_HOST_MAX + 8];
    snprintf(addr, sizeof addr, "%s:%d", host, port);
    int e = 0, fd = kp_connect(host, port, deadline_ns, &e);
    if (fd < 0)
        return kp_err(g, KP_EXIT_SETUP, "%s: connect: %s", addr, strerror(e));
    if (kp_conn_init(g, c, fd, node, addr, qcap) < 0) {
        close(fd);
        return -1;
    }
    kz_ApiVersionsRequest req = { .client_software_name = KZ_STR_LIT(KP_CLIENT_ID),
                                  .client_software_version = KZ_STR_LIT("1") };
    kz_ApiVersionsResponse resp;
    if (kp_call(c, &kz_kmsg_ApiVersionsRequest, &kz_kmsg_ApiVersionsResponse, KP_APIVERSIONS_VER, &req, &resp,
                deadline_ns) < 0)
        return -1;
    if (resp.error_code != 0)
        return kp_err(g, KP_EXIT_SETUP, "%s: ApiVersions: %s (%d)", c->addr, kp_errname(resp.error_code),
                      resp.error_code);
    for (int32_t i = 0; i < resp.api_keys.n; i++) {
        const kz_ApiVersion *v = &resp.api_keys.v[i];
        for (int a = 0; a < KP_API__N; a++) {
            if (v->api_key != kp_apis[a].key)
                continue;
            int16_t hi = v->max_version < kp_apis[a].hi ? v->max_version : kp_apis[a].hi;
            c->ver[a] = hi >= kp_apis[a].lo && hi >= v->min_version ? hi : -1;
        }
    }
    return 0;
}

static int kp_need_api(kp_conn *c, int api)
{
    if (c->ver[api] >= 0)
        return 0;
    return kp_err(c->g, KP_EXIT_SETUP, "%s: the broker has no %s version in %d..%d", c->addr, kp_apis[api].name,
                  kp_apis[api].lo, kp_apis[api].hi);
}

/* Connects to the first bootstrap entry that answers ApiVersions. */
static int kp_bootstrap(kp_run *g, kp_conn *c, int64_t deadline_ns)
{
    const char *s = g->o.bootstrap;
    while (*s) {
        size_t n = strcspn(s, ",");
        char host[KP_HOST_MAX];
        int port;
        if (!kp_split_hostport(s, n, host, &port))
            return kp_err(g, KP_EXIT_SETUP, "--bootstrap-server: '%.*s' is not HOST:PORT", (int)n, s);
        g->err[0] = 0;
        if (kp_open(g, c, -1, host, port, 1, deadline_ns) == 0)
            return 0;
        kp_conn_close(c);
        s += n;
        if (*s == ',')
            s++;
    }
    return -1;
}

/* ------------------------------------------------------------- metadata */

/* Metadata for the topic until every partition has a leader, retried every
 * KP_META_RETRY_NS until @deadline_ns; with @topic NULL (the probe), one Metadata
 * call for no topic that must list a broker. Fills g->parts and g->brokers. */
static int kp_metadata(kp_run *g, kp_conn *c, const char *topic, int64_t deadline_ns)
{
    if (kp_need_api(c, KP_API_METADATA) < 0)
        return -1;
    int16_t ver = c->ver[KP_API_METADATA];
    kz_MetadataRequestTopic t = { .name = kz_str_c(topic) };
    kz_MetadataRequest req = { .allow_auto_topic_creation = true };
    req.topics.n = topic ? 1 : 0;
    req.topics.v = topic ? &t : NULL;
    char why[256] = "";
    for (;;) {
        kz_MetadataResponse resp;
        if (kp_call(c, &kz_kmsg_MetadataRequest, &kz_kmsg_MetadataResponse, ver, &req, &resp, deadline_ns) < 0)
            return -1;
        if (resp.brokers.n > KP_MAX_BROKERS)
            return kp_err(g, KP_EXIT_SETUP, "%s: %d brokers in Metadata", c->addr, resp.brokers.n);
        free(g->brokers);
        g->brokers = calloc((size_t)resp.brokers.n + 1, sizeof *g->brokers);
        if (!g->brokers)
            return kp_err(g, KP_EXIT_SETUP, "out of memory");
        g->nbrokers = resp.brokers.n;
        for (int32_t i = 0; i < resp.brokers.n; i++) {
            const kz_MetadataResponseBroker *b = &resp.brokers.v[i];
            g->brokers[i].node = b->node_id;
            g->brokers[i].port = b->port;
            snprintf(g->brokers[i].host, KP_HOST_MAX, "%.*s", b->host.len > 0 ? (int)b->host.len : 0,
                     b->host.len > 0 ? b->host.s : "");
        }
        if (!topic) { /* the probe: it retries by itself, on a new connection */
            if (g->nbrokers > 0)
                return 0;
            return kp_err(g, KP_EXIT_SETUP, "%s: Metadata lists no broker", c->addr);
        } else {
            const kz_MetadataResponseTopic *mt = NULL;
            for (int32_t i = 0; i < resp.topics.n; i++)
                if (kz_str_eq(resp.topics.v[i].name, t.name))
                    mt = &resp.topics.v[i];
            if (!mt) {
                snprintf(why, sizeof why, "topic not in the answer");
            } else if (mt->error_code != 0) {
                snprintf(why, sizeof why, "topic error %s (%d)", kp_errname(mt->error_code), mt->error_code);
                if (mt->error_code != 3 && mt->error_code != 5)
                    return kp_err(g, KP_EXIT_SETUP, "%s: Metadata for %s: %s", c->addr, topic, why);
            } else if (mt->partitions.n <= 0 || mt->partitions.n > KP_MAX_PARTS) {
                snprintf(why, sizeof why, "%d partitions", mt->partitions.n);
            } else {
                bool ok = true;
                for (int32_t i = 0; i < mt->partitions.n && ok; i++) {
                    const kz_MetadataResponsePartition *p = &mt->partitions.v[i];
                    bool known = false;
                    for (int b = 0; b < g->nbrokers; b++)
                        known |= g->brokers[b].node == p->leader_id;
                    if (p->error_code != 0 || p->leader_id < 0 || !known) {
                        snprintf(why, sizeof why, "partition %d: error %d, leader %d", p->partition_index,
                                 p->error_code, p->leader_id);
                        ok = false;
                    }
                }
                if (ok) {
                    free(g->parts);
                    g->parts = calloc((size_t)mt->partitions.n, sizeof *g->parts);
                    if (!g->parts)
                        return kp_err(g, KP_EXIT_SETUP, "out of memory");
                    g->nparts = mt->partitions.n;
                    for (int32_t i = 0; i < mt->partitions.n; i++) {
                        g->parts[i].id = mt->partitions.v[i].partition_index;
                        g->parts[i].leader = mt->partitions.v[i].leader_id;
                    }
                    return 0;
                }
            }
        }
        if (zkb_now_ns() + KP_META_RETRY_NS > deadline_ns)
            return kp_err(g, KP_EXIT_SETUP, "%s: Metadata%s%s not complete within %ld ms: %s", c->addr,
                          topic ? " for " : "", topic ? topic : "", g->o.timeout_ms, why);
        struct timespec ts = { 0, KP_META_RETRY_NS };
        nanosleep(&ts, NULL);
    }
}

/* One connection per partition leader, each with the list of its partitions and the
 * scratch arrays a request needs. */
static int kp_connect_leaders(kp_run *g, size_t qcap, int64_t deadline_ns)
{
    g->conns = calloc((size_t)g->nbrokers + 1, sizeof *g->conns);
    if (!g->conns)
        return kp_err(g, KP_EXIT_SETUP, "out of memory");
    for (int b = 0; b < g->nbrokers; b++) {
        int n = 0;
        for (int i = 0; i < g->nparts; i++)
            n += g->parts[i].leader == g->brokers[b].node;
        if (n == 0)
            continue;
        kp_conn *c = &g->conns[g->nconns];
        if (kp_open(g, c, g->brokers[b].node, g->brokers[b].host, g->brokers[b].port, qcap, deadline_ns) < 0)
            return -1;
        g->nconns++;
        c->parts = calloc((size_t)n, sizeof *c->parts);
        c->pd = calloc((size_t)n, sizeof *c->pd);
        c->fp = calloc((size_t)n, sizeof *c->fp);
        c->boff = calloc((size_t)n + 1, sizeof *c->boff);
        if (!c->parts || !c->pd || !c->fp || !c->boff)
            return kp_err(g, KP_EXIT_SETUP, "out of memory");
        for (int i = 0; i < g->nparts; i++)
            if (g->parts[i].leader == c->node)
                c->parts[c->nparts++] = i;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        if (epoll_ctl(g->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0)
            return kp_err(g, KP_EXIT_SETUP, "epoll_ctl: %s", strerror(errno));
    }
    return 0;
}

/* Registers EPOLLOUT exactly while output is queued. */
static int kp_want_out(kp_conn *c)
{
    bool want = c->out_off < c->out.len;
    if (want == c->want_out)
        return 0;
    struct epoll_event ev = { .events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c };
    if (epoll_ctl(c->g->epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0)
        return kp_err(c->g, KP_EXIT_RUN, "epoll_ctl: %s", strerror(errno));
    c->want_out = want;
    return 0;
}

static kp_req *kp_q_push(kp_conn *c)
{
    kp_req *r = &c->q[(c->q_head + c->q_n) % c->q_cap];
    c->q_n++;
    return r;
}
static kp_req *kp_q_head(kp_conn *c) { return c->q_n ? &c->q[c->q_head] : NULL; }
static void kp_q_pop(kp_conn *c)
{
    c->q_head = (c->q_head + 1) % c->q_cap;
    c->q_n--;
}

/* -------------------------------------------------------------- produce */

/* Adds records of the payload to g->bb until the v2 batch would pass @budget bytes
 * (one record at least) or none are left. Returns the count, or -1. The size is the
 * exact v2 encoding: every record has ts delta 0 (one timestamp per batch), a null
 * key and no headers. */
static int32_t kp_fill_batch(kp_run *g, size_t budget, int64_t ts)
{
    size_t size = KZ_BATCH_HDR_SIZE;
    int32_t n = 0;
    kz_str value = { g->payload, (int32_t)g->o.record_size };
    while (g->next_rec < g->o.num_records && n < INT32_MAX) {
        size_t body = 1 + 1 + kz_varint_size(n) + 1 + kz_varint_size(value.len) + (size_t)value.len + 1;
        size_t rec = kz_varint_size((int32_t)body) + body;
        if (n > 0 && size + rec > budget)
            break;
        if (kz_bb_append(g->bb, ts, KZ_STR_NULL, value, NULL, 0) != KZ_REC_NONE)
            return kp_err(g, KP_EXIT_RUN, "building a batch failed (out of memory)");
        size += rec;
        n++;
        g->next_rec++;
    }
    return n;
}

/* Builds one Produce request for @c and queues it. */
static int kp_produce_one(kp_run *g, kp_conn *c, int64_t now_ns)
{
    int np = g->o.spread ? c->nparts : 1, used = 0;
    size_t budget = (size_t)g->o.batch_bytes / (size_t)np;
    int64_t ts = kp_realtime_us() / 1000;
    int32_t total = 0;
    g->batch.len = 0;
    for (int k = 0; k < np && g->next_rec < g->o.num_records; k++) {
        int pi = g->o.spread ? c->parts[k] : c->parts[c->rr++ % c->nparts];
        int32_t n = kp_fill_batch(g, budget, ts);
        if (n < 0)
            return -1;
        c->boff[used] = g->batch.len;
        int rc = kz_bb_finish(g->bb, &g->batch);
        if (rc != KZ_REC_NONE)
            return kp_err(g, KP_EXIT_RUN, "building a batch failed: %s", kz_rec_strerror(rc));
        c->pd[used] = (kz_PartitionProduceData){ .index = g->parts[pi].id };
        g->parts[pi].records += n;
        total += n;
        used++;
    }
    c->boff[used] = g->batch.len;
    for (int k = 0; k < used; k++)
        c->pd[k].records.mem = (kz_str){ (const char *)g->batch.base + c->boff[k],
                                         (int32_t)(c->boff[k + 1] - c->boff[k]) };
    kz_TopicProduceData td = { .name = kz_str_c(g->o.topic) };
    td.partition_data.n = used;
    td.partition_data.v = c->pd;
    kz_ProduceRequest req = { .transactional_id = KZ_STR_NULL, .acks = (int16_t)g->o.acks,
                              .timeout_ms = KP_PRODUCE_TIMEOUT_MS };
    req.topic_data.n = 1;
    req.topic_data.v = &td;
    uint64_t before = c->out_queued;
    int32_t corr = kp_encode(c, &kz_kmsg_ProduceRequest, c->ver[KP_API_PRODUCE], &req);
    if (c->out.err)
        return kp_err(g, KP_EXIT_RUN, "out of memory (send buffer)");
    kp_req *r = kp_q_push(c);
    *r = (kp_req){ .corr = corr, .records = total, .t_ns = now_ns, .end_pos = c->out_queued };
    g->wire_bytes += c->out_queued - before;
    g->requests++;
    g->batches += used;
    return 0;
}

static int kp_lat_add(kp_run *g, int64_t t0_ns, int64_t t_ns, int32_t records)
{
    if (g->nlat == g->cap_lat) {
        size_t cap = g->cap_lat ? g->cap_lat * 2 : 1024;
        kp_lat *l = realloc(g->lat, cap * sizeof *l);
        if (!l)
            return kp_err(g, KP_EXIT_RUN, "out of memory");
        g->lat = l;
        g->cap_lat = cap;
    }
    g->lat[g->nlat++] = (kp_lat){ zkb_lat_us(t0_ns, t_ns), records };
    return 0;
}

/* A request is done: its records count as acknowledged. */
static int kp_produce_done(kp_run *g, kp_conn *c, int64_t now_ns)
{
    kp_req *r = kp_q_head(c);
    if (kp_lat_add(g, r->t_ns, now_ns, r->records) < 0)
        return -1;
    g->acked += r->records;
    g->last_progress_ns = now_ns;
    kp_q_pop(c);
    if (g->acked == g->o.num_records)
        g->t_end_ns = now_ns;
    return 0;
}

/* A ProduceResponse frame: the oldest request's; every partition must say NONE. */
static int kp_produce_resp(kp_run *g, kp_conn *c, const uint8_t *p, size_t n, int64_t now_ns)
{
    kp_req *r = kp_q_head(c);
    if (!r)
        return kp_err(g, KP_EXIT_RUN, "%s: a response with no request in flight", c->addr);
    kz_ProduceResponse resp;
    if (kp_decode(c, &kz_kmsg_ProduceResponse, c->ver[KP_API_PRODUCE], r->corr, p, n, &resp) < 0)
        return -1;
    int32_t parts = 0;
    for (int32_t i = 0; i < resp.responses.n; i++) {
        const kz_TopicProduceResponse *t = &resp.responses.v[i];
        for (int32_t j = 0; j < t->partition_responses.n; j++) {
            const kz_PartitionProduceResponse *pr = &t->partition_responses.v[j];
            if (pr->error_code != 0)
                return kp_err(g, KP_EXIT_RUN, "%s: produce to %.*s-%d: %s (%d)%s%.*s", c->addr,
                              t->name.len > 0 ? (int)t->name.len : 0, t->name.s ? t->name.s : "",
                              pr->index, kp_errname(pr->error_code), pr->error_code,
                              pr->error_message.len > 0 ? ": " : "",
                              pr->error_message.len > 0 ? (int)pr->error_message.len : 0,
                              pr->error_message.s ? pr->error_message.s : "");
            parts++;
        }
    }
    if (parts == 0)
        return kp_err(g, KP_EXIT_RUN, "%s: a ProduceResponse without partitions", c->addr);
    return kp_produce_done(g, c, now_ns);
}

/* Queues requests while the window and the rate cap allow, then writes. */
static int kp_produce_pump(kp_run *g, kp_conn *c, int64_t now_ns)
{
    while (c->q_n < c->q_cap && g->next_rec < g->o.num_records) {
        if (g->o.throughput > 0) {
            /* the records queued so far may not be ahead of throughput x elapsed */
            int64_t due = g->t_ready_ns + (int64_t)((double)g->next_rec * 1e9 / (double)g->o.throughput);
            if (due > now_ns) {
                if (!g->throttle_ns || due < g->throttle_ns)
                    g->throttle_ns = due;
                break;
            }
        }
        if (kp_produce_one(g, c, now_ns) < 0)
            return -1;
    }
    if (kp_flush(c) < 0)
        return -1;
    if (g->o.acks == 0) /* no response will come: a request is done once written */
        while (c->q_n && kp_q_head(c)->end_pos <= c->out_sent)
            if (kp_produce_done(g, c, zkb_now_ns()) < 0)
                return -1;
    return kp_want_out(c);
}

static int kp_cmp_lat(const void *x, const void *y)
{
    const kp_lat *a = x, *b = y;
    return a->us < b->us ? -1 : a->us > b->us;
}

/* The latency under which a share @p of the records was acknowledged (sorted). */
static uint32_t kp_lat_pct(const kp_run *g, double p)
{
    int64_t want = (int64_t)((double)g->acked * p + 0.999999), cum = 0;
    for (size_t i = 0; i < g->nlat; i++) {
        cum += g->lat[i].records;
        if (cum >= want)
            return g->lat[i].us;
    }
    return g->nlat ? g->lat[g->nlat - 1].us : 0;
}

static void kp_produce_report(kp_run *g, double cpu_s)
{
    double secs = (double)(g->t_end_ns - g->t_ready_ns) / 1e9, sum_us = 0;
    if (secs <= 0)
        secs = 1e-9;
    qsort(g->lat, g->nlat, sizeof *g->lat, kp_cmp_lat);
    for (size_t i = 0; i < g->nlat; i++)
        sum_us += (double)g->lat[i].us * g->lat[i].records;
    double rps = (double)g->acked / secs, mbps = rps * (double)g->o.record_size / (1024.0 * 1024.0);
    double avg_ms = g->acked ? sum_us / (double)g->acked / 1000.0 : 0;
    double max_ms = g->nlat ? g->lat[g->nlat - 1].us / 1000.0 : 0;
    printf("%" PRId64 " records sent, %.1f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max latency, "
           "%u ms 50th, %u ms 95th, %u ms 99th, %u ms 99.9th.\n",
           g->acked, rps, mbps, avg_ms, max_ms, kp_lat_pct(g, 0.5) / 1000, kp_lat_pct(g, 0.95) / 1000,
           kp_lat_pct(g, 0.99) / 1000, kp_lat_pct(g, 0.999) / 1000);
    printf("stats mode=produce records=%" PRId64 " record_size=%ld partitions=%d connections=%d version=%d "
           "secs=%.3f records_per_sec=%.1f mb_per_sec=%.2f wire_mb_per_sec=%.2f requests=%ld batches=%ld "
           "avg_ms=%.3f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f client_cpu_s=%.3f\n",
           g->acked, g->o.record_size, g->nparts, g->nconns, g->conns[0].ver[KP_API_PRODUCE], secs, rps, mbps,
           (double)g->wire_bytes / secs / (1024.0 * 1024.0), g->requests, g->batches, avg_ms,
           kp_lat_pct(g, 0.5) / 1000.0, kp_lat_pct(g, 0.99) / 1000.0, max_ms, cpu_s);
    fflush(stdout);
}

/* ------------------------------------------------------------- consume */

/* Sends the next Fetch of @c: every partition it leads, from its next offset. */
static int kp_fetch_send(kp_run *g, kp_conn *c, int64_t now_ns)
{
    for (int k = 0; k < c->nparts; k++) {
        const kp_part *pt = &g->parts[c->parts[k]];
        c->fp[k] = (kz_FetchPartition){ .partition = pt->id, .current_leader_epoch = -1,
                                        .fetch_offset = pt->offset, .last_fetched_epoch = -1,
                                        .log_start_offset = -1,
                                        .partition_max_bytes = (int32_t)g->o.partition_max_bytes };
    }
    kz_FetchTopic ft = { .topic = kz_str_c(g->o.topic) };
    ft.partitions.n = c->nparts;
    ft.partitions.v = c->fp;
    kz_FetchRequest req = { .cluster_id = KZ_STR_NULL, .replica_id = -1, .max_wait_ms = (int32_t)g->o.fetch_wait_ms,
                            .min_bytes = 1, .max_bytes = (int32_t)g->o.fetch_max_bytes, .isolation_level = 0,
                            .session_id = 0, .session_epoch = -1, .rack_id = KZ_STR_LIT("") };
    req.topics.n = 1;
    req.topics.v = &ft;
    req.forgotten_topics_data.n = 0;
    int32_t corr = kp_encode(c, &kz_kmsg_FetchRequest, c->ver[KP_API_FETCH], &req);
    if (c->out.err)
        return kp_err(g, KP_EXIT_RUN, "out of memory (send buffer)");
    *kp_q_push(c) = (kp_req){ .corr = corr, .t_ns = now_ns, .end_pos = c->out_queued };
    g->fetches++;
    if (kp_flush(c) < 0)
        return -1;
    return kp_want_out(c);
}

/* Counts the records of one partition's record set from offset @pt->offset on and
 * moves the offset past the last whole entry. A torn last entry (the size cap cut
 * it) is left for the next fetch. */
static int kp_count_records(kp_run *g, kp_conn *c, kp_part *pt, const uint8_t *p, size_t n)
{
    while (n > 0) {
        kz_batch_hdr h;
        kz_batch_rc rc = kz_batch_peek(p, n, 0, &h);
        if (rc == KZ_BATCH_PARTIAL)
            break;
        if (rc != KZ_BATCH_OK)
            return kp_err(g, KP_EXIT_RUN, "%s: corrupt entry in %s-%d at offset %" PRId64, c->addr, g->o.topic,
                          pt->id, pt->offset);
        size_t size = kz_batch_size(&h);
        if (h.magic >= 2) {
            if (g->o.check_crc && !kz_batch_crc_ok(p, &h))
                return kp_err(g, KP_EXIT_RUN, "%s: CRC mismatch in %s-%d, batch at offset %" PRId64, c->addr,
                              g->o.topic, pt->id, h.base_offset);
            int64_t last = kz_batch_last_offset(&h);
            if (last >= pt->offset && !kz_batch_is_control(&h)) {
                /* a batch that starts below the fetch offset: only its later records count */
                int64_t cnt = h.base_offset >= pt->offset ? h.count : last - pt->offset + 1;
                g->consumed += cnt;
                pt->records += cnt;
            }
            if (last + 1 > pt->offset)
                pt->offset = last + 1;
        } else {
            kz_rec_iter it;
            kz_record rec;
            g->scratch.len = 0;
            kz_rec_iter_init(&it, p, size, &g->scratch, 0, g->o.check_crc ? KZ_RI_CHECK_CRC : 0);
            while (kz_rec_iter_next(&it, &rec)) {
                if (rec.offset >= pt->offset) {
                    g->consumed++;
                    pt->records++;
                    pt->offset = rec.offset + 1;
                }
            }
            if (it.err != KZ_REC_NONE)
                return kp_err(g, KP_EXIT_RUN, "%s: bad legacy entry in %s-%d: %s", c->addr, g->o.topic, pt->id,
                              kz_rec_strerror(it.err));
        }
        g->bytes += size;
        p += size;
        n -= size;
    }
    return 0;
}

static int kp_fetch_resp(kp_run *g, kp_conn *c, const uint8_t *p, size_t n, int64_t now_ns)
{
    kp_req *r = kp_q_head(c);
    if (!r)
        return kp_err(g, KP_EXIT_RUN, "%s: a response with no request in flight", c->addr);
    kz_FetchResponse resp;
    if (kp_decode(c, &kz_kmsg_FetchResponse, c->ver[KP_API_FETCH], r->corr, p, n, &resp) < 0)
        return -1;
    kp_q_pop(c);
    if (resp.error_code != 0)
        return kp_err(g, KP_EXIT_RUN, "%s: Fetch: %s (%d)", c->addr, kp_errname(resp.error_code), resp.error_code);
    int64_t before = g->consumed;
    for (int32_t i = 0; i < resp.responses.n; i++) {
        const kz_FetchableTopicResponse *t = &resp.responses.v[i];
        for (int32_t j = 0; j < t->partition_responses.n; j++) {
            const kz_FetchablePartitionResponse *pr = &t->partition_responses.v[j];
            kp_part *pt = NULL;
            for (int k = 0; k < c->nparts; k++)
                if (g->parts[c->parts[k]].id == pr->partition)
                    pt = &g->parts[c->parts[k]];
            if (!pt || !kz_str_eq(t->topic, kz_str_c(g->o.topic)))
                return kp_err(g, KP_EXIT_RUN, "%s: Fetch answered for a partition not asked for", c->addr);
            if (pr->error_code != 0)
                return kp_err(g, KP_EXIT_RUN, "%s: fetch %s-%d at %" PRId64 ": %s (%d)", c->addr, g->o.topic,
                              pt->id, pt->offset, kp_errname(pr->error_code), pr->error_code);
            if (pr->record_set.mem.len > 0 &&
                kp_count_records(g, c, pt, (const uint8_t *)pr->record_set.mem.s, (size_t)pr->record_set.mem.len) < 0)
                return -1;
        }
    }
    if (g->consumed > before)
        g->last_progress_ns = now_ns;
    if (g->consumed >= g->o.messages) {
        if (!g->t_end_ns)
            g->t_end_ns = now_ns;
        return 0;
    }
    return kp_fetch_send(g, c, now_ns);
}

static void kp_fmt_time(char *buf, size_t n, int64_t us)
{
    time_t s = (time_t)(us / 1000000);
    struct tm tm;
    localtime_r(&s, &tm);
    size_t k = strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(buf + k, n - k, ":%03d", (int)(us / 1000 % 1000));
}

static void kp_consume_report(kp_run *g, int64_t start_us, double cpu_s)
{
    double total_s = (double)(g->t_end_ns - g->t_start_ns) / 1e9;
    double setup_ms = (double)(g->t_ready_ns - g->t_start_ns) / 1e6;
    double fetch_s = (double)(g->t_end_ns - g->t_ready_ns) / 1e9;
    if (total_s <= 0)
        total_s = 1e-9;
    if (fetch_s <= 0)
        fetch_s = 1e-9;
    double mb = (double)g->bytes / (1024.0 * 1024.0);
    char t0[64], t1[64];
    kp_fmt_time(t0, sizeof t0, start_us);
    kp_fmt_time(t1, sizeof t1, start_us + (g->t_end_ns - g->t_start_ns) / 1000);
    printf("start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
           "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n");
    printf("%s, %s, %.4f, %.4f, %" PRId64 ", %.4f, %.0f, %.0f, %.4f, %.4f\n", t0, t1, mb, mb / total_s, g->consumed,
           (double)g->consumed / total_s, setup_ms, fetch_s * 1000.0, mb / fetch_s, (double)g->consumed / fetch_s);
    printf("stats mode=consume records=%" PRId64 " bytes=%" PRIu64 " partitions=%d connections=%d version=%d "
           "secs=%.3f records_per_sec=%.1f mb_per_sec=%.2f setup_ms=%.1f fetches=%ld check_crc=%d "
           "client_cpu_s=%.3f\n",
           g->consumed, g->bytes, g->nparts, g->nconns, g->conns[0].ver[KP_API_FETCH], fetch_s,
           (double)g->consumed / fetch_s, mb / fetch_s, setup_ms, g->fetches, g->o.check_crc, cpu_s);
    fflush(stdout);
}

/* ------------------------------------------------------------ the loop */

static bool kp_done(const kp_run *g)
{
    if (g->o.mode == KP_M_PRODUCE)
        return g->acked >= g->o.num_records;
    return g->consumed >= g->o.messages;
}

/* Whatever arrived on @c: every whole frame is handled before the next read. */
static int kp_on_input(kp_run *g, kp_conn *c)
{
    if (kp_read(c) < 0)
        return -1;
    const uint8_t *p;
    size_t n;
    int64_t now = zkb_now_ns();
    while (!g->err[0] && kp_frame(c, &p, &n)) {
        int rc = g->o.mode == KP_M_PRODUCE ? kp_produce_resp(g, c, p, n, now) : kp_fetch_resp(g, c, p, n, now);
        if (rc < 0)
            return -1;
    }
    if (g->o.mode == KP_M_PRODUCE && g->o.acks == 0 && c->in_len > c->in_off)
        return kp_err(g, KP_EXIT_RUN, "%s: a response to an acks=0 request", c->addr);
    return 0;
}

/* Runs the produce or consume load until done, an error, or --timeout-ms without
 * progress. */
static int kp_loop(kp_run *g)
{
    struct epoll_event evs[64];
    int64_t now = zkb_now_ns();
    g->t_ready_ns = g->last_progress_ns = now;
    g->io_code = KP_EXIT_RUN;
    for (int i = 0; i < g->nconns; i++) {
        int rc = g->o.mode == KP_M_PRODUCE ? kp_produce_pump(g, &g->conns[i], now)
                                           : kp_fetch_send(g, &g->conns[i], now);
        if (rc < 0)
            return -1;
    }
    while (!kp_done(g)) {
        now = zkb_now_ns();
        int64_t stall_at = g->last_progress_ns + g->o.timeout_ms * 1000000LL;
        if (now >= stall_at) {
            if (g->o.mode == KP_M_PRODUCE)
                return kp_err(g, KP_EXIT_RUN, "no progress for %ld ms: %" PRId64 " of %ld records acknowledged",
                              g->o.timeout_ms, g->acked, g->o.num_records);
            return kp_err(g, KP_EXIT_RUN, "no progress for %ld ms: %" PRId64 " of %ld messages read",
                          g->o.timeout_ms, g->consumed, g->o.messages);
        }
        int64_t wake = stall_at;
        if (g->throttle_ns && g->throttle_ns < wake)
            wake = g->throttle_ns;
        int n = epoll_wait(g->epfd, evs, 64, kp_ms_left(wake));
        if (n < 0 && errno != EINTR)
            return kp_err(g, KP_EXIT_RUN, "epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            kp_conn *c = evs[i].data.ptr;
            if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && kp_on_input(g, c) < 0)
                return -1;
            if ((evs[i].events & EPOLLOUT) && g->o.mode == KP_M_CONSUME && (kp_flush(c) < 0 || kp_want_out(c) < 0))
                return -1;
        }
        if (g->o.mode == KP_M_PRODUCE) {
            now = zkb_now_ns();
            if (g->throttle_ns && now >= g->throttle_ns)
                g->throttle_ns = 0;
            for (int i = 0; i < g->nconns; i++)
                if (kp_produce_pump(g, &g->conns[i], now) < 0)
                    return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------- modes */

static int kp_run_load(kp_run *g)
{
    int64_t start_us = kp_realtime_us();
    double cpu0 = zkb_cpu_secs();
    g->t_start_ns = zkb_now_ns();
    int64_t deadline = g->t_start_ns + g->o.timeout_ms * 1000000LL;
    kp_conn boot;
    memset(&boot, 0, sizeof boot);
    boot.fd = -1;
    int rc = kp_bootstrap(g, &boot, deadline);
    if (rc == 0)
        rc = kp_metadata(g, &boot, g->o.topic, deadline);
    kp_conn_close(&boot);
    if (rc < 0)
        return -1;
    bool produce = g->o.mode == KP_M_PRODUCE;
    if ((g->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
        return kp_err(g, KP_EXIT_SETUP, "epoll_create1: %s", strerror(errno));
    if (kp_connect_leaders(g, produce ? (size_t)g->o.inflight : 1, deadline) < 0)
        return -1;
    size_t slack = 1u << 20;
    if (produce) {
        for (int i = 0; i < g->nconns; i++)
            if (kp_need_api(&g->conns[i], KP_API_PRODUCE) < 0)
                return -1;
        g->max_frame = slack + (size_t)g->nparts * 4096;
        kz_bb_opts bo = KZ_BB_OPTS_INIT;
        bo.codec = g->o.codec;
        g->bb = kz_bb_new(&bo);
        g->payload = malloc((size_t)g->o.record_size + 1);
        if (!g->bb || !g->payload)
            return kp_err(g, KP_EXIT_SETUP, "out of memory");
        uint64_t x = 0x9e3779b97f4a7c15ull ^ (uint64_t)start_us;
        for (long i = 0; i < g->o.record_size; i++) { /* xorshift: random upper-case letters */
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            g->payload[i] = (char)('A' + x % 26);
        }
    } else {
        for (int i = 0; i < g->nconns; i++)
            if (kp_need_api(&g->conns[i], KP_API_FETCH) < 0)
                return -1;
        /* a broker may pass max_bytes by one batch per partition */
        g->max_frame = slack + (size_t)g->o.fetch_max_bytes + (size_t)g->nparts * ((size_t)g->o.partition_max_bytes + 4096);
    }
    if (kp_loop(g) < 0)
        return -1;
    double cpu_s = zkb_cpu_secs() - cpu0;
    if (produce)
        kp_produce_report(g, cpu_s);
    else
        kp_consume_report(g, start_us, cpu_s);
    return 0;
}

static int kp_run_create(kp_run *g)
{
    g->t_start_ns = zkb_now_ns();
    int64_t deadline = g->t_start_ns + g->o.timeout_ms * 1000000LL;
    kp_conn c;
    memset(&c, 0, sizeof c);
    c.fd = -1;
    int rc = kp_bootstrap(g, &c, deadline);
    if (rc == 0)
        rc = kp_need_api(&c, KP_API_CREATE);
    if (rc == 0) {
        kz_CreatableTopic ct = { .name = kz_str_c(g->o.topic), .num_partitions = (int32_t)g->o.partitions,
                                 .replication_factor = (int16_t)g->o.replication_factor };
        kz_CreateTopicsRequest req = { .timeout_ms = (int32_t)g->o.timeout_ms };
        req.topics.n = 1;
        req.topics.v = &ct;
        kz_CreateTopicsResponse resp;
        rc = kp_call(&c, &kz_kmsg_CreateTopicsRequest, &kz_kmsg_CreateTopicsResponse, c.ver[KP_API_CREATE], &req,
                     &resp, deadline);
        if (rc == 0 && resp.topics.n != 1)
            rc = kp_err(g, KP_EXIT_SETUP, "%s: CreateTopics answered %d topics", c.addr, resp.topics.n);
        if (rc == 0 && resp.topics.v[0].error_code != 0 && resp.topics.v[0].error_code != 36) {
            const kz_CreatableTopicResult *t = &resp.topics.v[0];
            rc = kp_err(g, KP_EXIT_SETUP, "%s: CreateTopics %s: %s (%d)%s%.*s", c.addr, g->o.topic,
                        kp_errname(t->error_code), t->error_code, t->error_message.len > 0 ? ": " : "",
                        t->error_message.len > 0 ? (int)t->error_message.len : 0,
                        t->error_message.s ? t->error_message.s : "");
        }
    }
    if (rc == 0)
        rc = kp_metadata(g, &c, g->o.topic, deadline);
    kp_conn_close(&c);
    if (rc < 0)
        return -1;
    printf("stats mode=create-topic topic=%s partitions=%d ms=%.1f\n", g->o.topic, g->nparts,
           (double)(zkb_now_ns() - g->t_start_ns) / 1e6);
    fflush(stdout);
    return 0;
}

/* Retries connect + ApiVersions + Metadata every KP_PROBE_RETRY_NS until a Metadata
 * answer lists a broker or the deadline passes. */
static int kp_run_probe(kp_run *g)
{
    g->t_start_ns = zkb_now_ns();
    int64_t deadline = g->t_start_ns + g->o.timeout_ms * 1000000LL;
    long attempts = 0;
    char last[sizeof g->err] = "";
    for (;;) {
        attempts++;
        kp_conn c;
        memset(&c, 0, sizeof c);
        c.fd = -1;
        g->err[0] = 0;
        /* one attempt may not eat the whole budget: a broker that accepted but does not
         * answer yet gets another connection later */
        int64_t step = zkb_now_ns() + 2000 * 1000000LL;
        if (step > deadline)
            step = deadline;
        int rc = kp_bootstrap(g, &c, step);
        if (rc == 0)
            rc = kp_metadata(g, &c, NULL, step);
        kp_conn_close(&c);
        if (rc == 0) {
            int64_t at_us = kp_realtime_us();
            printf("stats mode=probe ms=%.1f attempts=%ld brokers=%d at_us=%" PRId64 "\n",
                   (double)(zkb_now_ns() - g->t_start_ns) / 1e6, attempts, g->nbrokers, at_us);
            fflush(stdout);
            return 0;
        }
        snprintf(last, sizeof last, "%s", g->err);
        if (zkb_now_ns() + KP_PROBE_RETRY_NS > deadline) {
            g->err[0] = 0;
            return kp_err(g, KP_EXIT_SETUP, "no Metadata answer within %ld ms (%ld attempts; last: %s)",
                          g->o.timeout_ms, attempts, last);
        }
        struct timespec ts = { 0, KP_PROBE_RETRY_NS };
        nanosleep(&ts, NULL);
    }
}

int main(int argc, char **argv)
{
    static kp_run run; /* zeroed; large enough not to want the stack */
    kp_run *g = &run;
    if (kp_parse_args(&g->o, argc, argv) < 0)
        return KP_EXIT_SETUP;
    g->epfd = -1;
    g->max_frame = 64u << 20; /* set-up answers; the load sets its own bound */
    g->io_code = KP_EXIT_SETUP;
    int rc;
    switch (g->o.mode) {
    case KP_M_CREATE: rc = kp_run_create(g); break;
    case KP_M_PROBE: rc = kp_run_probe(g); break;
    default: rc = kp_run_load(g); break;
    }
    if (rc < 0) {
        if (g->o.mode == KP_M_PRODUCE && g->acked > 0)
            fprintf(stderr, "kperf: %" PRId64 " of %ld records acknowledged before the failure\n", g->acked,
                    g->o.num_records);
        if (g->o.mode == KP_M_CONSUME && g->consumed > 0)
            fprintf(stderr, "kperf: %" PRId64 " of %ld messages read before the failure\n", g->consumed,
                    g->o.messages);
        fprintf(stderr, "kperf %s: %s\n", argv[1], g->err[0] ? g->err : "failed");
    }
    for (int i = 0; i < g->nconns; i++)
        kp_conn_close(&g->conns[i]);
    if (g->epfd >= 0)
        close(g->epfd);
    free(g->conns);
    free(g->parts);
    free(g->brokers);
    free(g->lat);
    free(g->payload);
    kz_bb_free(g->bb);
    kz_wr_free(&g->batch);
    kz_wr_free(&g->scratch);
    kz_arena_reset(&g->arena);
    return rc < 0 ? (g->exit_code ? g->exit_code : KP_EXIT_RUN) : KP_EXIT_OK;
}
