/* test/unit/check_fle.c -- Fast Leader Election and the election port
 * (coordinator/zkd_fle.c).
 *
 *  01 notification decoding: the 28/40/41-43/>=44 byte forms, every prefix,
 *     bad config lengths, trailing bytes
 *  02 three zkd_fle on one event_base elect the highest (zxid, sid); the
 *     leader is freed, the other two elect the next one
 *  03 a raw peer on the wire: the header our dial sends and drops (smaller
 *     sid), the exact notification bytes and config text, adopting a better
 *     vote, answers while FOLLOWING (v2, 28- and 40-byte requests, legacy
 *     header), and bad frames closing only that connection
 *  04 a smaller sid connecting (legacy header) is closed and dialed back; a
 *     LOOKING peer in an older round gets our proposal at once
 *  05 an observer learns the leader from the voters and decides OBSERVING
 *
 * Servers live on 127.X.Y.1-4 with random X, Y in 100..250 and free ports.
 * Every wait runs the event loop against a deadline; nothing sleeps.
 * Set FLE_TEST_LOG=1 to see the log. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kz_log.h"
#include "kz_wire.h"
#include "zkd_config.h"
#include "zkd_fle.h"
#include "unit_util.h"

/* ------------------------------------------------------------- helpers */

static void log_setup(void)
{
    const char *e = getenv("FLE_TEST_LOG");
    kz_log_set_level(e && *e == '1' ? KZ_LOG_DEBUG : KZ_LOG_FATAL);
}

/* 127.X.Y.0 base for this test, X and Y random in 100..250. */
static void pick_net(char *prefix, size_t len)
{
    srandom((unsigned)(kz_mono_ms() ^ getpid()));
    snprintf(prefix, len, "127.%ld.%ld.", 100 + random() % 151, 100 + random() % 151);
}

static int free_port(const char *ip)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    ck_assert_int_eq(inet_pton(AF_INET, ip, &a.sin_addr), 1);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t sl = sizeof a;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &sl), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* Loads @body (server lines etc.) as zoo.cfg of server @myid through the real
 * config loader; the scratch dataDir is removed afterwards. Without
 * @client_port the server line of @myid must give the client port. */
static void load_cfg(zkd_config *c, int myid, const char *body, bool client_port)
{
    char dir[64], p[128], err[256];
    mktmp_prefix(dir, "zkd_fle_");
    snprintf(p, sizeof p, "%s/myid", dir);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%d\n", myid);
    fclose(f);
    snprintf(p, sizeof p, "%s/zoo.cfg", dir);
    f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "tickTime=2000\ninitLimit=5\nsyncLimit=2\n%sdataDir=%s\n%s", client_port ? "clientPort=2181\n" : "",
            dir, body);
    fclose(f);
    int rc = zkd_config_load(c, p, err, sizeof err);
    ck_assert_msg(rc == 0, "config: %s", err);
    rmtree(dir);
}

typedef struct {
    zkd_fle *f;
    int n;                /* decisions */
    zkd_peer_state st;
    int64_t leader, epoch;
} dec_rec;

static void on_decided(void *ctx, zkd_peer_state st, int64_t leader, int64_t epoch)
{
    dec_rec *r = ctx;
    ck_assert_int_eq(zkd_fle_state(r->f), st);
    r->n++;
    r->st = st;
    r->leader = leader;
    r->epoch = epoch;
    zkd_fle_set_state(r->f, st); /* as the server does once it joined the quorum */
}

static void tick_cb(evutil_socket_t fd, short w, void *arg)
{
    (void)fd;
    (void)w;
    (void)arg;
}

/* Runs @b until @pred(@arg) holds or @ms pass; returns the predicate. */
static bool run_until(struct event_base *b, bool (*pred)(void *), void *arg, int ms)
{
    struct event *tick = event_new(b, -1, EV_PERSIST, tick_cb, NULL);
    struct timeval tv = { 0, 5000 };
    evtimer_add(tick, &tv);
    int64_t deadline = kz_mono_ms() + ms;
    bool ok;
    while (!(ok = pred(arg)) && kz_mono_ms() < deadline)
        event_base_loop(b, EVLOOP_ONCE);
    event_free(tick);
    return ok;
}

static bool pred_never(void *arg)
{
    (void)arg;
    return false;
}

/* Lets the loop run for @ms (e.g. to let frees settle). */
static void run_for(struct event_base *b, int ms) { run_until(b, pred_never, NULL, ms); }

/* ---- a raw peer: plain sockets, polled while the loop runs */

typedef struct {
    int fd;
    uint8_t buf[4096];
    size_t len;        /* bytes collected */
    size_t want;
    bool eof;
} raw_rd;

static bool raw_pred(void *arg)
{
    raw_rd *r = arg;
    while (r->len < r->want && !r->eof) {
        ssize_t n = recv(r->fd, r->buf + r->len, r->want - r->len, MSG_DONTWAIT);
        if (n > 0)
            r->len += (size_t)n;
        else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            r->eof = true;
        else
            break;
    }
    return r->len >= r->want || r->eof;
}

/* Reads exactly @n bytes into @out within @ms; false on EOF or timeout. */
static bool raw_read(struct event_base *b, int fd, void *out, size_t n, int ms)
{
    raw_rd r = { .fd = fd, .want = n };
    ck_assert_uint_le(n, sizeof r.buf);
    run_until(b, raw_pred, &r, ms);
    if (r.len < n)
        return false;
    memcpy(out, r.buf, n);
    return true;
}

/* True when the other end closes @fd within @ms (anything before is discarded). */
static bool raw_wait_eof(struct event_base *b, int fd, int ms)
{
    int64_t deadline = kz_mono_ms() + ms;
    while (kz_mono_ms() < deadline) {
        raw_rd r = { .fd = fd, .want = sizeof r.buf };
        run_until(b, raw_pred, &r, 50);
        if (r.eof)
            return true;
    }
    return false;
}

/* Discards whatever already arrived on @fd. */
static void raw_drain(int fd)
{
    uint8_t b[4096];
    while (recv(fd, b, sizeof b, MSG_DONTWAIT) > 0)
        ;
}

static int raw_connect(const char *ip, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, ip, &a.sin_addr);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0); /* the listener's backlog answers */
    return fd;
}

static int raw_listen(const char *ip, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    ck_assert_int_ge(fd, 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, ip, &a.sin_addr);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, 8), 0);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

typedef struct {
    int lfd, fd;
} raw_acc;

static bool accept_pred(void *arg)
{
    raw_acc *a = arg;
    if (a->fd < 0)
        a->fd = accept(a->lfd, NULL, NULL);
    return a->fd >= 0;
}

static int raw_accept(struct event_base *b, int lfd, int ms)
{
    raw_acc a = { lfd, -1 };
    run_until(b, accept_pred, &a, ms);
    return a.fd;
}

static void raw_write(int fd, const void *p, size_t n)
{
    ck_assert_int_eq(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* The V1 connection header (or the legacy one when @addr is NULL). */
static void raw_hello(int fd, int64_t sid, const char *addr)
{
    uint8_t h[300];
    size_t n = 0;
    if (addr) {
        kz_store_be64(h, (uint64_t)-65536);
        kz_store_be64(h + 8, (uint64_t)sid);
        kz_store_be32(h + 16, (uint32_t)strlen(addr));
        memcpy(h + 20, addr, strlen(addr));
        n = 20 + strlen(addr);
    } else {
        kz_store_be64(h, (uint64_t)sid);
        n = 8;
    }
    raw_write(fd, h, n);
}

/* Test-local notification encoder: @len selects the form (28, 40 or full).
 * Returns the payload length written to @p. */
static size_t t_notif(uint8_t *p, int32_t st, int64_t leader, int64_t zxid, int64_t ee, int64_t pe, int32_t ver,
                      const char *cfg, size_t form)
{
    kz_store_be32(p, (uint32_t)st);
    kz_store_be64(p + 4, (uint64_t)leader);
    kz_store_be64(p + 12, (uint64_t)zxid);
    kz_store_be64(p + 20, (uint64_t)ee);
    if (form == 28)
        return 28;
    kz_store_be64(p + 28, (uint64_t)pe);
    kz_store_be32(p + 36, (uint32_t)ver);
    if (form == 40)
        return 40;
    size_t cl = cfg ? strlen(cfg) : 0;
    kz_store_be32(p + 40, (uint32_t)cl);
    memcpy(p + 44, cfg ? cfg : "", cl);
    return 44 + cl;
}

/* Sends one framed notification. */
static void raw_notif(int fd, int32_t st, int64_t leader, int64_t zxid, int64_t ee, int64_t pe, size_t form)
{
    uint8_t b[600];
    size_t n = t_notif(b + 4, st, leader, zxid, ee, pe, form == 40 ? 1 : 2, "version=0", form);
    kz_store_be32(b, (uint32_t)n);
    raw_write(fd, b, n + 4);
}

/* The last frame raw_expect read (each test runs in its own process). */
static uint8_t last_frame[2048];
static size_t last_len;

/* Reads one framed notification from @fd and checks its fields and config.
 * With @skip_dup, frames equal to the previous one are skipped first: while
 * LOOKING, a notification timeout repeats the proposal at any moment. */
static void raw_expect(struct event_base *b, int fd, bool skip_dup, int32_t st, int64_t leader, int64_t zxid,
                       int64_t ee, int64_t pe, const char *cfg)
{
    uint8_t h[4], p[2048];
    uint32_t len;
    for (;;) {
        ck_assert_msg(raw_read(b, fd, h, 4, 3000), "no notification arrived");
        len = kz_load_be32(h);
        ck_assert_uint_le(len, sizeof p);
        ck_assert(raw_read(b, fd, p, len, 3000));
        if (!skip_dup || len != last_len || memcmp(p, last_frame, len) != 0)
            break;
    }
    memcpy(last_frame, p, len);
    last_len = len;
    ck_assert_uint_eq(len, 44 + strlen(cfg));
    zkd_notification n;
    ck_assert_int_eq(zkd_fle_decode(p, len, &n), 0);
    ck_assert_int_eq(n.state, st);
    ck_assert_int_eq(n.leader, leader);
    ck_assert_int_eq(n.zxid, zxid);
    ck_assert_int_eq(n.election_epoch, ee);
    ck_assert_int_eq(n.peer_epoch, pe);
    ck_assert_int_eq(n.version, 2);
    ck_assert_int_eq(n.config_len, (int32_t)strlen(cfg));
    ck_assert_mem_eq(n.config, cfg, strlen(cfg));
}

/* ------------------------------------------------------------- 01 decode */

START_TEST(fle_01_decode)
{
    uint8_t b[256];
    zkd_notification n;
    const char *cfg = "server.1=127.0.0.1:2888:3888:participant\nversion=0";
    size_t full = t_notif(b, 1, 3, 0x200000007LL, 5, 2, 2, cfg, 0);
    ck_assert_uint_eq(full, 44 + strlen(cfg));

    ck_assert_int_eq(zkd_fle_decode(b, full, &n), 0);
    ck_assert_int_eq(n.state, 1);
    ck_assert_int_eq(n.leader, 3);
    ck_assert_int_eq(n.zxid, 0x200000007LL);
    ck_assert_int_eq(n.election_epoch, 5);
    ck_assert_int_eq(n.peer_epoch, 2);
    ck_assert_int_eq(n.version, 2);
    ck_assert_int_eq(n.config_len, (int32_t)strlen(cfg));
    ck_assert_ptr_eq(n.config, (const char *)b + 44);

    /* Trailing bytes after the config are ignored. */
    ck_assert_int_eq(zkd_fle_decode(b, full + 3, &n), 0);
    ck_assert_int_eq(n.config_len, (int32_t)strlen(cfg));

    /* Every prefix: only the legacy sizes decode. */
    for (size_t len = 0; len < full; len++) {
        int rc = zkd_fle_decode(b, len, &n);
        if (len == 28) {
            ck_assert_int_eq(rc, 0);
            ck_assert_int_eq(n.peer_epoch, 2); /* from the zxid */
            ck_assert_int_eq(n.version, 0);
            ck_assert_ptr_null(n.config);
        } else if (len == 40) {
            ck_assert_int_eq(rc, 0);
            ck_assert_int_eq(n.peer_epoch, 2);
            ck_assert_int_eq(n.version, 0);
            ck_assert_ptr_null(n.config);
        } else {
            ck_assert_msg(rc == -EBADMSG, "prefix %zu decoded", len);
        }
    }

    /* 28 bytes: the epoch of a negative zxid is an arithmetic shift. */
    t_notif(b, 0, 1, -1, 1, 0, 0, NULL, 28);
    ck_assert_int_eq(zkd_fle_decode(b, 28, &n), 0);
    ck_assert_int_eq(n.peer_epoch, -1);

    /* 41..43 bytes and >= 44 without config: accepted when version <= 1. */
    t_notif(b, 0, 1, 7, 1, 9, 1, NULL, 40);
    for (size_t len = 41; len <= 50; len++) {
        ck_assert_int_eq(zkd_fle_decode(b, len, &n), 0);
        ck_assert_int_eq(n.version, 1);
        ck_assert_int_eq(n.peer_epoch, 9);
        ck_assert_ptr_null(n.config);
    }

    /* Bad config lengths. */
    t_notif(b, 0, 1, 7, 1, 9, 2, "abc", 0);
    kz_store_be32(b + 40, (uint32_t)-1);
    ck_assert_int_eq(zkd_fle_decode(b, 47, &n), -EBADMSG);
    kz_store_be32(b + 40, 4);
    ck_assert_int_eq(zkd_fle_decode(b, 47, &n), -EBADMSG);
    kz_store_be32(b + 40, 1000);
    ck_assert_int_eq(zkd_fle_decode(b, sizeof b, &n), -EBADMSG);
    kz_store_be32(b + 40, 0x7fffffff);
    ck_assert_int_eq(zkd_fle_decode(b, 47, &n), -EBADMSG);
    kz_store_be32(b + 40, 0);
    ck_assert_int_eq(zkd_fle_decode(b, 47, &n), 0);
    ck_assert_int_eq(n.config_len, 0);
}
END_TEST

/* ------------------------------------------------------------- 02 election of three */

typedef struct {
    dec_rec *r;
    int n;
    int want; /* decisions each live instance must have made */
} all_dec;

static bool all_decided(void *arg)
{
    all_dec *a = arg;
    for (int i = 0; i < a->n; i++)
        if (a->r[i].f && a->r[i].n < a->want)
            return false;
    return true;
}

START_TEST(fle_02_three_elect)
{
    log_setup();
    char pre[32], ip[3][48], body[1024];
    pick_net(pre, sizeof pre);
    int ep[3];
    size_t off = 0;
    for (int i = 0; i < 3; i++) {
        snprintf(ip[i], sizeof ip[i], "%s%d", pre, i + 1);
        ep[i] = free_port(ip[i]);
        off += (size_t)snprintf(body + off, sizeof body - off, "server.%d=%s:%d:%d\n", i + 1, ip[i],
                                free_port(ip[i]), ep[i]);
    }
    struct event_base *b = event_base_new();
    zkd_config cfg[3];
    dec_rec r[3];
    memset(r, 0, sizeof r);
    for (int i = 0; i < 3; i++) {
        load_cfg(&cfg[i], i + 1, body, true);
        r[i].f = zkd_fle_new(b, &cfg[i], on_decided, &r[i]);
        ck_assert_ptr_nonnull(r[i].f);
        ck_assert_int_eq(zkd_fle_state(r[i].f), ZKD_LOOKING);
    }
    /* Highest zxid wins: server 2. */
    const int64_t zx[3] = { 0x100000005LL, 0x100000007LL, 0x100000006LL };
    for (int i = 0; i < 3; i++)
        zkd_fle_look(r[i].f, zx[i], 1);
    all_dec a = { r, 3, 1 };
    ck_assert_msg(run_until(b, all_decided, &a, 10000), "no decision within 10 s");
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(r[i].n, 1);
        ck_assert_int_eq(r[i].leader, 2);
        ck_assert_int_eq(r[i].epoch, 1);
        ck_assert_int_eq(r[i].st, i == 1 ? ZKD_LEADING : ZKD_FOLLOWING);
        ck_assert_int_eq(zkd_fle_state(r[i].f), r[i].st);
    }

    /* The leader goes away; the others look again with equal zxids: sid 3 wins. */
    zkd_fle_free(r[1].f);
    r[1].f = NULL;
    zkd_fle_look(r[0].f, 0x100000009LL, 1);
    zkd_fle_look(r[2].f, 0x100000009LL, 1);
    ck_assert_int_eq(zkd_fle_state(r[0].f), ZKD_LOOKING);
    a.want = 2;
    ck_assert_msg(run_until(b, all_decided, &a, 10000), "no second decision within 10 s");
    ck_assert_int_eq(r[0].leader, 3);
    ck_assert_int_eq(r[2].leader, 3);
    ck_assert_int_eq(r[0].st, ZKD_FOLLOWING);
    ck_assert_int_eq(r[2].st, ZKD_LEADING);
    run_for(b, 50); /* nothing decides twice */
    ck_assert_int_eq(r[0].n, 2);
    ck_assert_int_eq(r[2].n, 2);

    zkd_fle_free(r[0].f);
    zkd_fle_free(r[2].f);
    run_for(b, 20);
    for (int i = 0; i < 3; i++)
        zkd_config_free(&cfg[i]);
    event_base_free(b);
}
END_TEST

/* ------------------------------------------------------------- 03 a raw peer */

static bool decided_once(void *arg) { return ((dec_rec *)arg)->n >= 1; }

START_TEST(fle_03_raw_peer)
{
    log_setup();
    char pre[32], ip[3][48], body[1024], want_cfg[1024], addr3[64], addr1[64];
    pick_net(pre, sizeof pre);
    int ep[3], qp[3];
    for (int i = 0; i < 3; i++) {
        snprintf(ip[i], sizeof ip[i], "%s%d", pre, i + 1);
        ep[i] = free_port(ip[i]);
        qp[i] = free_port(ip[i]);
    }
    /* Client parts: "host:port" kept, ";port" alone prints 0.0.0.0, none: nothing. */
    snprintf(body, sizeof body,
             "server.1=%s:%d:%d;%s:2181\nserver.2=%s:%d:%d:participant;2182\nserver.3=%s:%d:%d\n",
             ip[0], qp[0], ep[0], ip[0], ip[1], qp[1], ep[1], ip[2], qp[2], ep[2]);
    snprintf(want_cfg, sizeof want_cfg,
             "server.1=%s:%d:%d:participant;%s:2181\nserver.2=%s:%d:%d:participant;0.0.0.0:2182\n"
             "server.3=%s:%d:%d:participant\nversion=0",
             ip[0], qp[0], ep[0], ip[0], ip[1], qp[1], ep[1], ip[2], qp[2], ep[2]);
    snprintf(addr1, sizeof addr1, "%s:%d", ip[0], ep[0]);
    snprintf(addr3, sizeof addr3, "%s:%d", ip[2], ep[2]);

    struct event_base *b = event_base_new();
    zkd_config cfg;
    load_cfg(&cfg, 1, body, false);
    dec_rec r = { 0 };
    int l3 = raw_listen(ip[2], ep[2]); /* we play server 3 */
    r.f = zkd_fle_new(b, &cfg, on_decided, &r);
    ck_assert_ptr_nonnull(r.f);
    const int64_t Z = 0x300000004LL, E = 3;
    zkd_fle_look(r.f, Z, E);

    /* 1 < 3: server 1 dials us, sends its header and drops the connection. */
    int d = raw_accept(b, l3, 3000);
    ck_assert_int_ge(d, 0);
    uint8_t h[128];
    ck_assert(raw_read(b, d, h, 20 + strlen(addr1), 3000));
    ck_assert_int_eq((int64_t)kz_load_be64(h), -65536);
    ck_assert_int_eq((int64_t)kz_load_be64(h + 8), 1);
    ck_assert_uint_eq(kz_load_be32(h + 16), strlen(addr1));
    ck_assert_mem_eq(h + 20, addr1, strlen(addr1));
    ck_assert(raw_wait_eof(b, d, 3000));
    close(d);

    /* We connect as 3 (the larger sid): kept, and our pending notification arrives. */
    int fd = raw_connect(ip[0], ep[0]);
    raw_hello(fd, 3, addr3);
    raw_expect(b, fd, true, 0, 1, Z, 1, E, want_cfg);

    /* A better vote: server 1 adopts it, tells everyone, and with its own vote
     * and ours a quorum (2 of 3) decides after finalizeWait. */
    raw_notif(fd, 0, 3, Z + 10, 1, E, 0);
    raw_expect(b, fd, true, 0, 3, Z + 10, 1, E, want_cfg);
    int64_t t0 = kz_mono_ms();
    ck_assert(run_until(b, decided_once, &r, 5000));
    ck_assert_int_ge(kz_mono_ms() - t0, 150); /* the 200 ms finalize wait */
    ck_assert_int_eq(r.st, ZKD_FOLLOWING);
    ck_assert_int_eq(r.leader, 3);
    ck_assert_int_eq(r.epoch, E);
    raw_drain(fd); /* a repeat of the proposal may have crossed the decision */

    /* Not LOOKING: LOOKING notifications (any form) are answered with the vote decided. */
    raw_notif(fd, 0, 3, Z + 10, 7, E, 0);
    raw_expect(b, fd, false, 1, 3, Z + 10, 1, E, want_cfg);
    raw_notif(fd, 0, 2, 5, 7, 0, 28);
    raw_expect(b, fd, false, 1, 3, Z + 10, 1, E, want_cfg);
    raw_notif(fd, 0, 2, 5, 7, 0, 40);
    raw_expect(b, fd, false, 1, 3, Z + 10, 1, E, want_cfg);
    /* A FOLLOWING notification is not answered. */
    raw_notif(fd, 1, 3, Z + 10, 1, E, 0);
    run_for(b, 100);
    ck_assert_int_eq(recv(fd, h, sizeof h, MSG_DONTWAIT), -1);

    /* Bad frames close that connection only; each new connection (legacy
     * header too) first gets the last message again. */
    static const struct {
        uint32_t len;
        size_t body;
    } bad[] = { { 0, 0 }, { 0x80000000u, 0 }, { 512 * 1024 + 1, 0 }, { 10, 10 }, { 39, 39 } };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t fr[64] = { 0 };
        kz_store_be32(fr, bad[i].len);
        raw_write(fd, fr, 4 + bad[i].body);
        ck_assert_msg(raw_wait_eof(b, fd, 3000), "bad frame %zu did not close", i);
        close(fd);
        fd = raw_connect(ip[0], ep[0]);
        raw_hello(fd, 3, i % 2 ? NULL : addr3);
        raw_expect(b, fd, false, 1, 3, Z + 10, 1, E, want_cfg);
    }
    ck_assert_int_eq(zkd_fle_state(r.f), ZKD_FOLLOWING);
    ck_assert_int_eq(r.n, 1);

    /* Headers that do not parse are closed without harm. */
    static const uint8_t junk[][20] = {
        { 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 0 },                                       /* unknown version */
        { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0x10, 0 }, /* len 4096 */
        { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff } /* len -1 */
    };
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        int j = raw_connect(ip[0], ep[0]);
        raw_write(j, junk[i], 20);
        ck_assert_msg(raw_wait_eof(b, j, 3000), "junk header %zu not closed", i);
        close(j);
    }
    /* The connection of server 3 survived all that. */
    raw_notif(fd, 0, 3, Z + 10, 8, E, 0);
    raw_expect(b, fd, false, 1, 3, Z + 10, 1, E, want_cfg);

    close(fd);
    close(l3);
    zkd_fle_free(r.f);
    run_for(b, 20);
    zkd_config_free(&cfg);
    event_base_free(b);
}
END_TEST

/* ------------------------------------------------------------- 04 connect back */

START_TEST(fle_04_connect_back)
{
    log_setup();
    char pre[32], ip[3][48], body[1024], want_cfg[1024], addr3[64];
    pick_net(pre, sizeof pre);
    int ep[3], qp[3];
    for (int i = 0; i < 3; i++) {
        snprintf(ip[i], sizeof ip[i], "%s%d", pre, i + 1);
        ep[i] = free_port(ip[i]);
        qp[i] = free_port(ip[i]);
    }
    snprintf(body, sizeof body, "server.1=%s:%d:%d\nserver.2=%s:%d:%d\nserver.3=%s:%d:%d\n", ip[0], qp[0], ep[0],
             ip[1], qp[1], ep[1], ip[2], qp[2], ep[2]);
    snprintf(want_cfg, sizeof want_cfg,
             "server.1=%s:%d:%d:participant\nserver.2=%s:%d:%d:participant\nserver.3=%s:%d:%d:participant\n"
             "version=0",
             ip[0], qp[0], ep[0], ip[1], qp[1], ep[1], ip[2], qp[2], ep[2]);
    snprintf(addr3, sizeof addr3, "%s:%d", ip[2], ep[2]);

    struct event_base *b = event_base_new();
    zkd_config cfg;
    load_cfg(&cfg, 3, body, true);
    dec_rec r = { 0 };
    r.f = zkd_fle_new(b, &cfg, on_decided, &r);
    ck_assert_ptr_nonnull(r.f);
    int l1 = raw_listen(ip[0], ep[0]); /* we play server 1 */

    /* 1 < 3 with the legacy header: closed, and 3 dials 1 with its V1 header. */
    int fd = raw_connect(ip[2], ep[2]);
    raw_hello(fd, 1, NULL);
    ck_assert(raw_wait_eof(b, fd, 3000));
    close(fd);
    int c = raw_accept(b, l1, 3000);
    ck_assert_int_ge(c, 0);
    uint8_t h[128];
    ck_assert(raw_read(b, c, h, 20 + strlen(addr3), 3000));
    ck_assert_int_eq((int64_t)kz_load_be64(h), -65536);
    ck_assert_int_eq((int64_t)kz_load_be64(h + 8), 3);
    ck_assert_uint_eq(kz_load_be32(h + 16), strlen(addr3));
    ck_assert_mem_eq(h + 20, addr3, strlen(addr3));

    /* The connection stays: the election's notifications travel on it. */
    zkd_fle_look(r.f, 0x500000001LL, 5);
    raw_expect(b, c, true, 0, 3, 0x500000001LL, 1, 5, want_cfg);
    zkd_fle_look(r.f, 0x500000002LL, 5); /* a second round: logical clock 2 */
    raw_expect(b, c, true, 0, 3, 0x500000002LL, 2, 5, want_cfg);

    /* A LOOKING peer in an older round gets our proposal at once. */
    raw_notif(c, 0, 1, 0x100, 1, 0, 0);
    raw_expect(b, c, false, 0, 3, 0x500000002LL, 2, 5, want_cfg);
    /* A peer in a newer round with a worse vote: we jump to its round and
     * send our own vote again; its vote and ours (both for 3) make a quorum. */
    raw_notif(c, 0, 1, 0x100, 9, 0, 0);
    raw_expect(b, c, true, 0, 3, 0x500000002LL, 9, 5, want_cfg);
    ck_assert_int_eq(r.n, 0); /* server 1 still votes for itself */
    raw_notif(c, 0, 3, 0x500000002LL, 9, 5, 0);
    ck_assert(run_until(b, decided_once, &r, 5000));
    ck_assert_int_eq(r.st, ZKD_LEADING);
    ck_assert_int_eq(r.leader, 3);
    ck_assert_int_eq(r.epoch, 5);

    close(c);
    close(l1);
    zkd_fle_free(r.f);
    run_for(b, 20);
    zkd_config_free(&cfg);
    event_base_free(b);
}
END_TEST

/* ------------------------------------------------------------- 05 observer */

START_TEST(fle_05_observer)
{
    log_setup();
    char pre[32], ip[4][48], body[1024];
    pick_net(pre, sizeof pre);
    size_t off = 0;
    for (int i = 0; i < 4; i++) {
        snprintf(ip[i], sizeof ip[i], "%s%d", pre, i + 1);
        off += (size_t)snprintf(body + off, sizeof body - off, "server.%d=%s:%d:%d%s\n", i + 1, ip[i],
                                free_port(ip[i]), free_port(ip[i]), i == 3 ? ":observer" : "");
    }
    struct event_base *b = event_base_new();
    zkd_config cfg[4];
    dec_rec r[4];
    memset(r, 0, sizeof r);
    for (int i = 0; i < 4; i++) {
        load_cfg(&cfg[i], i + 1, body, true);
        r[i].f = zkd_fle_new(b, &cfg[i], on_decided, &r[i]);
        ck_assert_ptr_nonnull(r[i].f);
    }
    for (int i = 0; i < 4; i++) /* the observer has the highest zxid: it must not matter */
        zkd_fle_look(r[i].f, i == 3 ? 0x900000000LL : 0x100000001LL, i == 3 ? 9 : 1);
    all_dec a = { r, 4, 1 };
    ck_assert_msg(run_until(b, all_decided, &a, 15000), "no decision within 15 s");
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(r[i].leader, 3);
        ck_assert_int_eq(r[i].epoch, 1);
    }
    ck_assert_int_eq(r[3].st, ZKD_OBSERVING);
    ck_assert_int_eq(r[2].st, ZKD_LEADING);
    ck_assert_int_eq(r[0].st, ZKD_FOLLOWING);
    for (int i = 0; i < 4; i++)
        zkd_fle_free(r[i].f);
    run_for(b, 20);
    for (int i = 0; i < 4; i++)
        zkd_config_free(&cfg[i]);
    event_base_free(b);
}
END_TEST

static Suite *fle_suite(void)
{
    Suite *s = suite_create("fle");
    TCase *tc = tcase_create("wire");
    tcase_add_test(tc, fle_01_decode);
    suite_add_tcase(s, tc);
    tc = tcase_create("election");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, fle_02_three_elect);
    tcase_add_test(tc, fle_03_raw_peer);
    tcase_add_test(tc, fle_04_connect_back);
    tcase_add_test(tc, fle_05_observer);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ut_run(fle_suite());
}
