/* bench/lib/zkb_common.c -- options, phases, clocks and reports of the load
 * generators; see zkb_common.h. */
#include "zkb_common.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

static const char *const zkb_op_names[ZKB_OP__NUM] = {
    [ZKB_OP_CREATE] = "create",
    [ZKB_OP_SET]    = "setData",
    [ZKB_OP_GET]    = "getData",
    [ZKB_OP_EXISTS] = "exists",
    [ZKB_OP_DELETE] = "delete",
};

const char *zkb_op_name(zkb_op op)
{
    return zkb_op_names[op];
}

/* ---- options ------------------------------------------------------------------------ */

void zkb_usage(const zkb_prog *prog, FILE *f)
{
    /* The second line lines up under the first option: "usage: NAME ". */
    fprintf(f,
            "usage: %s [-s HOST:PORT] [-n SESSIONS] [-o OUTSTANDING] [-c COUNT] [-d BYTES]\n"
            "%*s[-p PHASES] [-r ROOT] [-t STALL_SECS] [-v]\n"
            "  -s  %s\n"
            "  -n  %s\n"
            "  -o  requests in flight per session (default 32)\n"
            "  -c  operations per phase, over all sessions (default 100000)\n"
            "  -d  znode data size in bytes (default 100)\n"
            "  -p  comma list of create,setData,getData,exists,delete (default: all, in order)\n"
            "  -r  root path of the benchmark nodes (default /zkbench)\n"
            "  -t  abort a phase after this many seconds without progress (default 30)\n"
            "  -v  %s\n",
            prog->name, (int)strlen(prog->name) + 8, "", prog->help_s, prog->help_n,
            prog->help_v);
}

bool zkb_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool zkb_parse_phases(zkb_config *cfg, const zkb_prog *prog, const char *arg)
{
    char buf[256];
    char *save = NULL;
    if (strlen(arg) >= sizeof buf)
        return false;
    strcpy(buf, arg);
    memset(cfg->phase_on, 0, sizeof cfg->phase_on);
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int i = 0;
        while (i < ZKB_OP__NUM && strcasecmp(t, zkb_op_names[i]) != 0)
            i++;
        if (i == ZKB_OP__NUM) {
            fprintf(stderr, "%s: unknown phase '%s'\n", prog->name, t);
            return false;
        }
        cfg->phase_on[i] = true;
    }
    return true;
}

int zkb_parse_args(zkb_config *cfg, const zkb_prog *prog, int argc, char **argv)
{
    long v;
    int c;
    snprintf(cfg->host, sizeof cfg->host, "127.0.0.1:2181");
    snprintf(cfg->root, sizeof cfg->root, "/zkbench");
    cfg->nsess = 16;
    cfg->outstanding = 32;
    cfg->count = 100000;
    cfg->data_len = 100;
    cfg->stall_secs = 30;
    cfg->verbose = false;
    for (int i = 0; i < ZKB_OP__NUM; i++)
        cfg->phase_on[i] = true;

    while ((c = getopt(argc, argv, "s:n:o:c:d:p:r:t:vh")) != -1) {
        switch (c) {
        case 's':
            if (strlen(optarg) >= sizeof cfg->host)
                goto bad;
            snprintf(cfg->host, sizeof cfg->host, "%s", optarg);
            break;
        case 'n':
            if (!zkb_parse_long(optarg, 1, ZKB_MAX_SESSIONS, &v))
                goto bad;
            cfg->nsess = (int)v;
            break;
        case 'o':
            if (!zkb_parse_long(optarg, 1, ZKB_MAX_OUTSTANDING, &v))
                goto bad;
            cfg->outstanding = (int)v;
            break;
        case 'c':
            if (!zkb_parse_long(optarg, 1, ZKB_MAX_COUNT, &v))
                goto bad;
            cfg->count = v;
            break;
        case 'd':
            if (!zkb_parse_long(optarg, 0, ZKB_MAX_DATA, &v))
                goto bad;
            cfg->data_len = (int)v;
            break;
        case 'p':
            if (!zkb_parse_phases(cfg, prog, optarg))
                goto bad;
            break;
        case 'r': {
            size_t n = strlen(optarg);
            while (n > 1 && optarg[n - 1] == '/')
                n--;
            if (optarg[0] != '/' || n < 2 || n >= sizeof cfg->root)
                goto bad;
            memcpy(cfg->root, optarg, n);
            cfg->root[n] = '\0';
            break;
        }
        case 't':
            if (!zkb_parse_long(optarg, 1, ZKB_MAX_STALL_SECS, &v))
                goto bad;
            cfg->stall_secs = (int)v;
            break;
        case 'v':
            cfg->verbose = true;
            break;
        case 'h':
            zkb_usage(prog, stdout);
            exit(0);
        default:
            goto bad;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", prog->name, argv[optind]);
        zkb_usage(prog, stderr);
        return -1;
    }
    return 0;
bad:
    if (c != '?')
        fprintf(stderr, "%s: bad value for -%c\n", prog->name, c);
    zkb_usage(prog, stderr);
    return -1;
}

/* ---- the load's shape --------------------------------------------------------------- */

long zkb_quota(const zkb_config *cfg, int k)
{
    return cfg->count / cfg->nsess + (k < cfg->count % cfg->nsess ? 1 : 0);
}

char *zkb_make_data(const zkb_config *cfg)
{
    char *data = malloc((size_t)cfg->data_len + 1);
    if (data)
        for (int i = 0; i < cfg->data_len; i++)
            data[i] = (char)('a' + i % 26);
    return data;
}

int zkb_root_walk(const zkb_config *cfg, int (*fn)(void *ctx, const char *path), void *ctx)
{
    char p[ZKB_ROOT_MAX];
    size_t len = strlen(cfg->root);
    for (size_t i = 1; i <= len; i++) {
        if (i < len && cfg->root[i] != '/')
            continue;
        memcpy(p, cfg->root, i);
        p[i] = '\0';
        int rc = fn(ctx, p);
        if (rc)
            return rc;
    }
    return 0;
}

void zkb_print_header(const zkb_prog *prog, const zkb_config *cfg)
{
    printf("# %s server=%s sessions=%d outstanding=%d count=%ld data=%d root=%s\n",
           prog->name, cfg->host, cfg->nsess, cfg->outstanding, cfg->count, cfg->data_len,
           cfg->root);
    fflush(stdout);
}

/* ---- clocks ------------------------------------------------------------------------- */

int64_t zkb_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double zkb_cpu_secs(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0.0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct timespec zkb_deadline_ms(int ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_nsec += ms * 1000000L;
    dl.tv_sec += dl.tv_nsec / 1000000000L;
    dl.tv_nsec %= 1000000000L;
    return dl;
}

void zkb_progress_start(zkb_progress *p, int64_t now_ns)
{
    p->last_done = 0;
    p->t_prog_ns = now_ns;
}

bool zkb_stalled(zkb_progress *p, long done, int64_t now_ns, int stall_secs)
{
    if (done != p->last_done) {
        p->last_done = done;
        p->t_prog_ns = now_ns;
        return false;
    }
    return now_ns - p->t_prog_ns > (int64_t)stall_secs * 1000000000;
}

/* ---- latencies and reports ---------------------------------------------------------- */

static int zkb_cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

uint32_t zkb_pct(const uint32_t *v, long n, double p)
{
    long r;
    if (n <= 0)
        return 0;
    r = (long)(p * (double)n + 0.999999999);
    if (r < 1)
        r = 1;
    if (r > n)
        r = n;
    return v[r - 1];
}

void zkb_phase_report(const zkb_prog *prog, const zkb_config *cfg, zkb_phase *ph)
{
    const char *name = zkb_op_name(ph->op);
    const uint32_t *lat = ph->lat;
    long n = ph->nlat;

    qsort(ph->lat, (size_t)n, sizeof *ph->lat, zkb_cmp_u32);
    double secs = (double)(ph->t_end_ns - ph->t0_ns) / 1e9;
    printf("phase=%s ops=%ld secs=%.3f ops_per_sec=%.0f p50_us=%" PRIu32 " p99_us=%" PRIu32
           " p999_us=%" PRIu32 " max_us=%" PRIu32 " errors=%ld client_cpu_s=%.*f\n",
           name, cfg->count, secs, secs > 0 ? (double)cfg->count / secs : 0.0,
           zkb_pct(lat, n, 0.50), zkb_pct(lat, n, 0.99), zkb_pct(lat, n, 0.999),
           n ? lat[n - 1] : 0, ph->errors, prog->cpu_decimals, ph->cpu_s);
    fflush(stdout);
    if (ph->errors)
        fprintf(stderr, "%s: phase %s: %ld errors, first: %s (rc=%d) on %s/s%d-%ld\n",
                prog->name, name, ph->errors, ph->first_str, ph->first_rc, cfg->root,
                ph->first_sess, ph->first_idx);
}

void zkb_phase_aborted(const zkb_prog *prog, const zkb_config *cfg, zkb_op op, long done,
                       int sess, const char *why)
{
    if (why)
        fprintf(stderr, "%s: phase %s aborted: lost the server %s (session %d: %s) "
                "after %ld of %ld ops\n", prog->name, zkb_op_name(op), cfg->host, sess, why,
                done, cfg->count);
    else
        fprintf(stderr, "%s: phase %s aborted: no progress for %d s at %ld of %ld ops "
                "(server %s)\n", prog->name, zkb_op_name(op), cfg->stall_secs, done,
                cfg->count, cfg->host);
}
