/* test/unit/unit_util.h -- small helpers shared by the unit suites: scratch
 * directories, an independent Adler-32, a deterministic PRNG, exact-size heap
 * copies for ASan, fixture files, log capture, an event loop that waits on
 * callbacks, loopback ports, a real zkd child process, and the main() that
 * runs a suite. Header-only: each suite is its own program. */
#ifndef UNIT_UTIL_H
#define UNIT_UTIL_H

#include <arpa/inet.h>
#include <check.h>
#include <event2/event.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kz_buf.h"
#include "kz_log.h"
#include "kz_time.h"

static int ut_rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* rm -rf @dir */
static inline void rmtree(const char *dir) { nftw(dir, ut_rm_cb, 16, FTW_DEPTH | FTW_PHYS); }

/* A new directory /tmp/<prefix>XXXXXX in @buf (at least 64 bytes). */
static inline void mktmp_prefix(char *buf, const char *prefix)
{
    snprintf(buf, 64, "/tmp/%sXXXXXX", prefix);
    ck_assert_ptr_nonnull(mkdtemp(buf));
}

/* Test-local Adler-32, independent of the code under test. */
static inline uint32_t t_adler(const uint8_t *p, size_t n)
{
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < n; i++) {
        a = (a + p[i]) % 65521;
        b = (b + a) % 65521;
    }
    return b << 16 | a;
}

/* xorshift64*: a deterministic pseudo-random sequence (seed rnd_state). */
static uint64_t rnd_state;
static inline uint64_t rnd(void)
{
    rnd_state ^= rnd_state >> 12;
    rnd_state ^= rnd_state << 25;
    rnd_state ^= rnd_state >> 27;
    return rnd_state * 2685821657736338717ULL;
}

/* Whether @s holds exactly the C string @lit. */
static inline bool str_is(kz_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == (int32_t)n && s.s && memcmp(s.s, lit, n) == 0;
}

/* A heap block of exactly @n bytes holding @src, so ASan sees overreads. */
static inline uint8_t *dup_exact(const void *src, size_t n)
{
    uint8_t *b = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(b);
    if (n)
        memcpy(b, src, n);
    return b;
}

/* The fixture file @dir/@name under $KZ_FIXTURES (else test/fixtures, from the repository
 * root) in a heap block of exactly its size (*@n bytes), so ASan sees overreads. */
static inline uint8_t *ut_fixture_load(const char *dir, const char *name, size_t *n)
{
    const char *base = getenv("KZ_FIXTURES");
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s", base && *base ? base : "test/fixtures", dir, name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "fixture %s missing (run from the repository root or set KZ_FIXTURES)", path);
    kz_wr w = KZ_WR_INIT;
    uint8_t buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        kz_wr_bytes(&w, buf, got);
    fclose(f);
    ck_assert_int_eq(w.err, 0);
    uint8_t *data = kz_wr_steal(&w, n);
    uint8_t *exact = dup_exact(data, *n);
    free(data);
    return exact;
}

/* Log lines captured in memory (kz_log's sink redirected to an open_memstream). */
typedef struct ut_logcap {
    FILE *f;
    char *buf;
    size_t len;
} ut_logcap;

static inline void ut_log_start(ut_logcap *l)
{
    l->f = open_memstream(&l->buf, &l->len);
    ck_assert_ptr_nonnull(l->f);
    kz_log_set_file(l->f);
}

/* Stops capturing; returns the text (the caller frees it). */
static inline char *ut_log_stop(ut_logcap *l)
{
    kz_log_set_file(NULL);
    fclose(l->f);
    return l->buf;
}

/* Runs @s with the default runner; the exit status of a suite program (0: all passed). */
static inline int ut_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* --------------------------------------------------------------- event loop */

static inline void ut_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

/* A new event base with a persistent 10 ms tick (*@tick), so that one EVLOOP_ONCE round never
 * blocks longer than that and the waits below see their deadline. */
static inline struct event_base *ut_base_new(struct event **tick)
{
    struct event_base *base = event_base_new();
    ck_assert_ptr_nonnull(base);
    *tick = event_new(base, -1, EV_PERSIST, ut_tick_cb, NULL);
    ck_assert_ptr_nonnull(*tick);
    struct timeval tv = { 0, 10000 };
    event_add(*tick, &tv);
    return base;
}

/* Frees what ut_base_new made (both NULL-safe). */
static inline void ut_base_free(struct event_base *base, struct event *tick)
{
    if (tick)
        event_free(tick);
    if (base)
        event_base_free(base);
}

/* Runs @base for about @ms whatever happens. */
static inline void ut_spin(struct event_base *base, int ms)
{
    int64_t end = kz_mono_ms() + ms;
    while (kz_mono_ms() < end)
        event_base_loop(base, EVLOOP_ONCE);
}

/* Runs @base until @cond holds; fails the test when it does not within @ms. */
#define UT_WAIT_FOR(base, cond, ms)                                               \
    do {                                                                          \
        int64_t end_ = kz_mono_ms() + (ms);                                       \
        while (!(cond) && kz_mono_ms() < end_)                                    \
            event_base_loop((base), EVLOOP_ONCE);                                 \
        ck_assert_msg((cond), "timed out waiting for: %s", #cond);                \
    } while (0)

/* ------------------------------------------------------------ loopback ports */

/* A TCP port of 127.0.0.1 that was free a moment ago (bound, read back, closed). */
static inline int ut_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t l = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* Whether something accepts connections on 127.0.0.1:@port. */
static inline bool ut_port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* ------------------------------------------------------------------ real zkd */

/* A standalone zkd child process on a free 127.0.0.1 port. */
typedef struct ut_zkd {
    pid_t pid;          /* 0 when not running */
    int port;
    char dir[64];       /* scratch: zoo.cfg, data/, zkd.log */
    char hostport[64];  /* "127.0.0.1:<port>" */
} ut_zkd;

/* Starts zkd (ZKD_BIN, else build/release/zkd) with tickTime 200 and its data in a new
 * /tmp/<prefix>XXXXXX, @extra_cfg (lines, may be "") appended to its config, and waits up
 * to 15 s until it listens. Fails the test when the binary is missing or zkd exits. */
static inline void ut_zkd_start(ut_zkd *z, const char *prefix, const char *extra_cfg)
{
    const char *bin = getenv("ZKD_BIN");
    if (!bin || !*bin)
        bin = "build/release/zkd";
    ck_assert_msg(access(bin, X_OK) == 0, "zkd binary %s not found (set ZKD_BIN or build it)", bin);
    mktmp_prefix(z->dir, prefix);
    z->port = ut_free_port();
    snprintf(z->hostport, sizeof z->hostport, "127.0.0.1:%d", z->port);
    char cfg[128], data[96], log[96];
    snprintf(cfg, sizeof cfg, "%s/zoo.cfg", z->dir);
    snprintf(data, sizeof data, "%s/data", z->dir);
    snprintf(log, sizeof log, "%s/zkd.log", z->dir);
    mkdir(data, 0755);
    FILE *f = fopen(cfg, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "tickTime=200\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\n"
               "maxClientCnxns=0\nadmin.enableServer=false\n%s",
            data, z->port, extra_cfg);
    fclose(f);
    z->pid = fork();
    ck_assert_int_ge(z->pid, 0);
    if (z->pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(bin, bin, cfg, (char *)NULL);
        _exit(127);
    }
    int64_t end = kz_mono_ms() + 15000;
    while (!ut_port_open(z->port)) {
        int st;
        ck_assert_msg(waitpid(z->pid, &st, WNOHANG) == 0, "zkd exited; see %s", log);
        ck_assert_msg(kz_mono_ms() < end, "zkd did not listen on %d", z->port);
        usleep(20000);
    }
}

/* Stops zkd (SIGTERM, SIGKILL after 10 s) and removes its directory; nothing when not running. */
static inline void ut_zkd_stop(ut_zkd *z)
{
    if (z->pid <= 0)
        return;
    kill(z->pid, SIGTERM);
    int st;
    int64_t end = kz_mono_ms() + 10000;
    while (waitpid(z->pid, &st, WNOHANG) == 0) {
        if (kz_mono_ms() > end) {
            kill(z->pid, SIGKILL);
            waitpid(z->pid, &st, 0);
            break;
        }
        usleep(20000);
    }
    z->pid = 0;
    rmtree(z->dir);
}

#endif
