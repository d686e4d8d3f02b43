/* bench/lib/zkb_common.h -- what the two load generators (zkbench, zkload) share.
 *
 * Both take the same options, run the same phases on the same nodes and print the
 * same lines, which bench/run.sh parses; this is the one copy of that part:
 *   - the options (-s -n -o -c -d -p -r -t -v -h), their limits and the usage text;
 *   - the phase list (create, setData, getData, exists, delete, in that order);
 *   - the node naming ROOT/s<k>-<i> and the split of COUNT over the sessions;
 *   - clocks (CLOCK_MONOTONIC ns, process CPU time, condvar deadlines);
 *   - latency samples (microseconds, clamped to uint32), nearest-rank percentiles,
 *     and the per-phase report: the `phase=... ops=...` line on stdout and the
 *     abort / first-error messages on stderr.
 * How requests are sent and completions collected stays in each program.
 */
#ifndef ZKB_COMMON_H
#define ZKB_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define ZKB_PATH_MAX        512
#define ZKB_ROOT_MAX        256
#define ZKB_HOST_MAX        1024             /* -s: one HOST:PORT or a comma list */
#define ZKB_MAX_SESSIONS    1024
#define ZKB_MAX_OUTSTANDING 65536
#define ZKB_MAX_DATA        (1000 * 1000)    /* below jute.maxbuffer (0xfffff) */
#define ZKB_MAX_COUNT       100000000L
#define ZKB_MAX_STALL_SECS  86400
#define ZKB_CONNECT_SECS    15               /* bound of connecting and of a set-up call */
#define ZKB_SESSION_MS      10000            /* session timeout asked of the server */
#define ZKB_WAIT_SLICE_MS   200              /* one bounded wait of a main loop */
#define ZKB_EBADDATA        (-10000)         /* our code: getData returned wrong length */
#define ZKB_EBADDATA_STR    "getData returned a value of the wrong length"

/* The phases, in the order they run. */
typedef enum {
    ZKB_OP_CREATE, ZKB_OP_SET, ZKB_OP_GET, ZKB_OP_EXISTS, ZKB_OP_DELETE, ZKB_OP__NUM
} zkb_op;

/* What differs between the programs in the shared text. */
typedef struct {
    const char *name;        /* "zkbench": message prefix and usage line */
    const char *help_s;      /* the -s line of the usage, after "-s  " */
    const char *help_n;      /* the -n line of the usage, after "-n  " */
    const char *help_v;      /* the -v line of the usage, after "-v  " */
    int cpu_decimals;        /* digits after the point of client_cpu_s */
} zkb_prog;

/* The options; immutable after zkb_parse_args(). */
typedef struct {
    char host[ZKB_HOST_MAX];
    int nsess, outstanding, data_len, stall_secs;
    bool verbose;
    long count;
    char root[ZKB_ROOT_MAX];
    bool phase_on[ZKB_OP__NUM];
} zkb_config;

/* The outcome of one phase, as the report needs it. */
typedef struct {
    zkb_op op;
    int64_t t0_ns, t_end_ns; /* start, and completion of the COUNT-th op */
    double cpu_s;            /* process CPU time used by the phase */
    uint32_t *lat;           /* [nlat] latencies in us; sorted by zkb_phase_report */
    long nlat;
    long errors;
    int first_rc;            /* first error: code, its text, session and node index */
    const char *first_str;
    int first_sess;
    long first_idx;
} zkb_phase;

const char *zkb_op_name(zkb_op op);

/* Parses a decimal integer in [lo, hi]; returns false on junk or range error. */
bool zkb_parse_long(const char *s, long lo, long hi, long *out);
/* Sets @cfg from the command line (defaults first). -h prints the usage to stdout
 * and exits 0; returns -1 after printing what was wrong and the usage to stderr. */
int zkb_parse_args(zkb_config *cfg, const zkb_prog *prog, int argc, char **argv);
void zkb_usage(const zkb_prog *prog, FILE *f);

/* Ops of session @k per phase: COUNT split evenly, the first ones take the rest. */
long zkb_quota(const zkb_config *cfg, int k);
/* The data sent by create and setData: data_len bytes of a-z (malloc'd, +1 byte). */
char *zkb_make_data(const zkb_config *cfg);
/* Calls @fn on every prefix of @cfg->root that names a node, shortest first ("/a",
 * "/a/b", ...); stops at and returns the first nonzero result, else 0. */
int zkb_root_walk(const zkb_config *cfg, int (*fn)(void *ctx, const char *path), void *ctx);
/* "# NAME server=... root=..." on stdout, flushed. */
void zkb_print_header(const zkb_prog *prog, const zkb_config *cfg);

int64_t zkb_now_ns(void);
/* CPU time (user + system) this process has used so far, all threads, in seconds. */
double zkb_cpu_secs(void);
/* The CLOCK_REALTIME instant @ms from now, for pthread_cond_timedwait. */
struct timespec zkb_deadline_ms(int ms);

/* Stall detection of a phase's wait loop. */
typedef struct {
    long last_done;
    int64_t t_prog_ns;       /* when done last moved */
} zkb_progress;
void zkb_progress_start(zkb_progress *p, int64_t now_ns);
/* Notes @done at @now_ns; true once it has not moved for more than @stall_secs. */
bool zkb_stalled(zkb_progress *p, long done, int64_t now_ns, int stall_secs);

/* One latency sample: @t_ns - @t0_ns in microseconds, clamped to [0, UINT32_MAX]. */
static inline uint32_t zkb_lat_us(int64_t t0_ns, int64_t t_ns)
{
    int64_t us = (t_ns - t0_ns) / 1000;
    return us < 0 ? 0 : (us > UINT32_MAX ? UINT32_MAX : (uint32_t)us);
}
/* Nearest-rank percentile of sorted @v[n]; @p in (0,1]. */
uint32_t zkb_pct(const uint32_t *v, long n, double p);

/* Sorts @ph->lat and prints the phase line (stdout, flushed), then, if there were
 * errors, the first one (stderr). */
void zkb_phase_report(const zkb_prog *prog, const zkb_config *cfg, zkb_phase *ph);
/* The stderr line of a phase aborted after @done ops: the server was lost (@sess,
 * @why) or, with @why NULL, no progress for stall_secs. */
void zkb_phase_aborted(const zkb_prog *prog, const zkb_config *cfg, zkb_op op, long done,
                       int sess, const char *why);

#endif
