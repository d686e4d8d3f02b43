/* broker/kb_client.c -- one outbound Kafka connection (see kb_client.h for
 * the contract and the state diagram).
 *
 * Pending requests form one FIFO, oldest first. The first @ninflight of them
 * have been written on the current connection; @next_send is the first one
 * not written yet. Responses answer the head (Kafka answers in order).
 * Invariants: ninflight <= npending; next_send is the (ninflight)-th node;
 * st == UP iff bev is a connected socket; ninflight == 0 unless UP.
 *
 * Frames are kept whole (size prefix included) so a request can be written
 * again after a reconnect; only its correlation id (bytes 8..11) changes.
 * Locality: loop thread only. */
#include "kb_client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "kz_log.h"
#include "kz_time.h"

#define KB_CLIENT_READ_MAX (1 << 20)
#define KB_CLIENT_COMP "kafka.client"

typedef struct kb_creq {
    struct kb_creq *next;
    const kz_kmsg *resp;
    int16_t ver;
    int16_t api_key;
    int resp_hdr_ver;
    int32_t corr;            /* correlation id of the latest write */
    int64_t sent_us;         /* when written on the current connection */
    uint8_t *frame;          /* size prefix + header + body */
    size_t len;
    kb_client_done_fn *done;
    void *ctx;
} kb_creq;

struct kb_client {
    struct event_base *base;
    struct evdns_base *dns;
    char *host;
    int port;
    char *client_id;
    int32_t max_frame, backoff_ms, backoff_max_ms, timeout_ms, max_inflight;
    bool resend;

    kb_client_state st;
    struct bufferevent *bev;
    struct event *retry;     /* backoff timer, also the deferred "connect failed" kick */
    struct event *tmo;       /* deadline of the oldest written request */
    int32_t backoff_cur;

    kb_creq *head, *tail, *next_send;
    size_t npending, ninflight;
    int32_t next_corr;
    uint64_t nconnects;

    kz_arena arena;          /* decoded response of the completion running */
    int busy;                /* completions on the stack */
    bool dead;               /* kb_client_free was called during a completion */

    kb_client_state_fn *state_fn;
    void *state_ctx;
};

static void client_drop(kb_client *c, const char *why);
static void client_start_connect(kb_client *c);

static void client_set_state(kb_client *c, kb_client_state st)
{
    kb_client_state old = c->st;
    c->st = st;
    if (c->state_fn && old != st && (st == KB_CLIENT_UP || old == KB_CLIENT_UP)) {
        c->busy++;
        c->state_fn(c->state_ctx, st);
        c->busy--;
    }
}

static void creq_free(kb_creq *r)
{
    if (r) {
        free(r->frame);
        free(r);
    }
}

/* Runs @r's completion and frees @r (already unlinked). */
static void client_complete(kb_client *c, kb_creq *r, int err, const void *resp)
{
    c->busy++;
    r->done(r->ctx, err, resp);
    c->busy--;
    creq_free(r);
}

/* Fails every request of the detached list @r with @err. */
static void client_fail_list(kb_client *c, kb_creq *r, int err)
{
    while (r) {
        kb_creq *next = r->next;
        client_complete(c, r, err, NULL);
        r = next;
    }
}

static void client_really_free(kb_client *c)
{
    if (c->bev)
        bufferevent_free(c->bev);
    c->bev = NULL;
    if (c->retry)
        event_free(c->retry);
    if (c->tmo)
        event_free(c->tmo);
    kz_arena_reset(&c->arena);
    free(c->host);
    free(c->client_id);
    free(c);
}

/* --------------------------------------------------------------- timers */

/* Arms the timeout on the oldest written request (the head when any is in
 * flight: responses come in order), or disarms it. */
static void client_arm_timeout(kb_client *c)
{
    if (!c->tmo)
        return;
    if (c->timeout_ms <= 0 || c->ninflight == 0) {
        event_del(c->tmo);
        return;
    }
    int64_t left = c->head->sent_us + (int64_t)c->timeout_ms * 1000 - kz_mono_us();
    if (left < 0)
        left = 0;
    struct timeval tv = { (time_t)(left / 1000000), (suseconds_t)(left % 1000000) };
    event_add(c->tmo, &tv);
}

static void client_on_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    kb_client *c = arg;
    c->busy++;
    if (c->ninflight && kz_mono_us() - c->head->sent_us >= (int64_t)c->timeout_ms * 1000)
        client_drop(c, "request timed out");
    else
        client_arm_timeout(c);
    c->busy--;
    if (c->dead && c->busy == 0)
        kb_client_free(c);
}

static void client_on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    kb_client *c = arg;
    c->busy++;
    if (c->st == KB_CLIENT_CONNECTING && !c->bev) /* the kick of a connect that failed at once */
        client_drop(c, "connect failed");
    else if (c->st == KB_CLIENT_BACKOFF)
        client_start_connect(c);
    c->busy--;
    if (c->dead && c->busy == 0)
        kb_client_free(c);
}

/* ------------------------------------------------------------- sending */

/* Writes queued requests while the connection is up and the in-flight
 * window allows. */
static void client_flush(kb_client *c)
{
    if (c->st != KB_CLIENT_UP)
        return;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    bool armed = c->ninflight > 0;
    while (c->next_send && (c->max_inflight <= 0 || c->ninflight < (size_t)c->max_inflight)) {
        kb_creq *r = c->next_send;
        r->corr = c->next_corr++;
        if (c->next_corr < 0)
            c->next_corr = 0;
        kz_store_be32(r->frame + 8, (uint32_t)r->corr);
        r->sent_us = kz_mono_us();
        if (evbuffer_add(out, r->frame, r->len) != 0) {
            client_drop(c, "out of memory");
            return;
        }
        c->next_send = r->next;
        c->ninflight++;
    }
    if (!armed)
        client_arm_timeout(c);
}

int kb_client_send(kb_client *c, const kz_kmsg *req, const kz_kmsg *resp, int16_t ver,
                   const void *body, kb_client_done_fn *done, void *ctx)
{
    if (!c || c->dead || !req || !resp || !done || req->api_key < 0 || ver < req->lo || ver > req->hi ||
        ver < resp->lo || ver > resp->hi)
        return KB_CLIENT_EINVAL;
    kb_creq *r = calloc(1, sizeof *r);
    if (!r)
        return KB_CLIENT_ENOMEM;
    kz_wr w = KZ_WR_INIT;
    kz_wr_i32(&w, 0); /* size, patched below */
    kz_kreq_hdr h = { req->api_key, ver, 0, c->client_id ? kz_str_c(c->client_id) : KZ_STR_NULL };
    kz_kreq_hdr_encode(&w, kz_kreq_hdr_version(req, ver), &h);
    kz_kmsg_encode(req, ver, body, &w);
    if (w.err || w.len < 12 || w.len - 4 > (size_t)INT32_MAX) {
        kz_wr_free(&w);
        free(r);
        return KB_CLIENT_ENOMEM;
    }
    kz_wr_patch_i32(&w, 0, (int32_t)(w.len - 4));
    r->frame = kz_wr_steal(&w, &r->len);
    r->resp = resp;
    r->ver = ver;
    r->api_key = req->api_key;
    r->resp_hdr_ver = kz_kresp_hdr_version(resp, ver);
    r->done = done;
    r->ctx = ctx;
    if (c->tail)
        c->tail->next = r;
    else
        c->head = r;
    c->tail = r;
    if (!c->next_send)
        c->next_send = r;
    c->npending++;
    if (c->st == KB_CLIENT_IDLE)
        client_start_connect(c);
    else
        client_flush(c);
    return KB_CLIENT_OK;
}

/* ------------------------------------------------------------- receiving */

/* Handles one whole response frame (@p, @n: the bytes after the size).
 * Returns false when the connection was dropped or the client freed. */
static bool client_on_frame(kb_client *c, const uint8_t *p, size_t n)
{
    kb_creq *r = c->head;
    if (!r || c->ninflight == 0) {
        client_drop(c, "response without a request");
        return false;
    }
    kz_rd rd = kz_rd_init(p, n);
    int32_t corr = -1;
    if (kz_kresp_hdr_decode(&rd, r->resp_hdr_ver, &corr) != 0 || corr != r->corr) {
        kz_warn(KB_CLIENT_COMP, "Correlation id %d of the response from %s:%d does not match "
                "request %d (api %d); reconnecting", corr, c->host, c->port, r->corr, r->api_key);
        client_drop(c, "correlation id mismatch");
        return false;
    }
    c->head = r->next;
    if (!c->head)
        c->tail = NULL;
    r->next = NULL;
    c->npending--;
    c->ninflight--;
    client_arm_timeout(c);

    kz_arena_rewind(&c->arena);
    void *out = kz_arena_alloc(&c->arena, r->resp->size);
    int err = KB_CLIENT_ENOMEM;
    if (out) {
        err = kz_kmsg_decode(r->resp, r->ver, &rd, out, &c->arena);
        if (err == KZ_ENOMEM)
            err = KB_CLIENT_ENOMEM;
        else if (err != 0)
            err = KB_CLIENT_EDECODE;
    }
    if (err)
        kz_warn(KB_CLIENT_COMP, "Cannot decode %s v%d from %s:%d", r->resp->name, r->ver, c->host, c->port);
    client_complete(c, r, err, err ? NULL : out);
    if (c->dead)
        return false;
    client_flush(c);
    return c->st == KB_CLIENT_UP;
}

static void client_on_read(struct bufferevent *bev, void *arg)
{
    kb_client *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    c->busy++;
    for (;;) {
        size_t have = evbuffer_get_length(in);
        uint8_t sz[4];
        if (have < 4 || evbuffer_copyout(in, sz, 4) != 4)
            break;
        int32_t n = (int32_t)kz_load_be32(sz);
        if (n < 4 || n > c->max_frame) {
            kz_warn(KB_CLIENT_COMP, "Invalid response size %d from %s:%d (max %d)", n, c->host,
                    c->port, c->max_frame);
            client_drop(c, "bad frame size");
            break;
        }
        if (have - 4 < (size_t)n) {
            /* wake up again only once the whole frame is here */
            bufferevent_setwatermark(bev, EV_READ, (size_t)n + 4, 0);
            break;
        }
        bufferevent_setwatermark(bev, EV_READ, 0, 0);
        const uint8_t *p = evbuffer_pullup(in, (ssize_t)n + 4);
        if (!p) {
            client_drop(c, "out of memory");
            break;
        }
        /* The frame stays in @in during the completion: drain after. A drop
         * inside frees the bufferevent, so test the outcome first. */
        if (!client_on_frame(c, p + 4, (size_t)n))
            break;
        evbuffer_drain(in, (size_t)n + 4);
    }
    c->busy--;
    if (c->dead && c->busy == 0)
        kb_client_free(c);
}

static void client_on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    kb_client *c = arg;
    c->busy++;
    if (what & BEV_EVENT_CONNECTED) {
        c->nconnects++;
        c->backoff_cur = c->backoff_ms;
        kz_debug(KB_CLIENT_COMP, "Connected to %s:%d", c->host, c->port);
        bufferevent_enable(c->bev, EV_READ | EV_WRITE);
        client_set_state(c, KB_CLIENT_UP);
        if (!c->dead)
            client_flush(c);
    } else if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        client_drop(c, (what & BEV_EVENT_EOF) ? "connection closed by peer"
                       : c->st == KB_CLIENT_CONNECTING ? "connect failed" : "socket error");
    }
    c->busy--;
    if (c->dead && c->busy == 0)
        kb_client_free(c);
}

/* ---------------------------------------------------------- connecting */

/* IDLE/BACKOFF -> CONNECTING. A failure that shows at once is reported
 * through the retry event, so nothing here calls back into the caller. */
static void client_start_connect(kb_client *c)
{
    client_set_state(c, KB_CLIENT_CONNECTING);
    c->bev = bufferevent_socket_new(c->base, -1, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (c->bev) {
        bufferevent_setcb(c->bev, client_on_read, NULL, client_on_event, c);
        /* libevent reads 4 KiB per turn by default: a 1 MiB fetch response would take 256 */
        bufferevent_set_max_single_read(c->bev, KB_CLIENT_READ_MAX);
        if (bufferevent_socket_connect_hostname(c->bev, c->dns, AF_UNSPEC, c->host, c->port) == 0)
            return;
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
    event_active(c->retry, EV_TIMEOUT, 0);
}

/* Closes the connection. Unanswered requests go back to the queue (resend)
 * or fail with every queued one. Then BACKOFF when something is left to
 * send (or resend is on), else IDLE. */
static void client_drop(kb_client *c, const char *why)
{
    bool was_up = c->st == KB_CLIENT_UP;
    if (c->bev) {
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
    if (c->tmo)
        event_del(c->tmo);
    if (was_up || c->npending)
        kz_info(KB_CLIENT_COMP, "Connection to %s:%d %s: %s (%zu pending)", c->host, c->port,
                was_up ? "lost" : "failed", why, c->npending);
    c->ninflight = 0;
    kb_creq *failed = NULL;
    if (c->resend) {
        c->next_send = c->head;
    } else {
        failed = c->head;
        c->head = c->tail = c->next_send = NULL;
        c->npending = 0;
    }
    bool wait = c->npending > 0 || c->resend;
    client_set_state(c, wait ? KB_CLIENT_BACKOFF : KB_CLIENT_IDLE);
    if (wait && !c->dead) {
        struct timeval tv = { c->backoff_cur / 1000, (c->backoff_cur % 1000) * 1000 };
        event_add(c->retry, &tv);
        c->backoff_cur = c->backoff_cur > c->backoff_max_ms / 2 ? c->backoff_max_ms : c->backoff_cur * 2;
    }
    c->busy++;
    client_fail_list(c, failed, KB_CLIENT_EDISCONNECTED);
    c->busy--;
    /* A completion may have queued new requests while IDLE: that connected. */
}

/* ------------------------------------------------------------ lifecycle */

kb_client *kb_client_new(struct event_base *base, struct evdns_base *dns, const kb_client_cfg *cfg)
{
    kb_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->base = base;
    c->dns = dns;
    c->port = cfg->port;
    c->host = strdup(cfg->host ? cfg->host : "");
    c->client_id = cfg->client_id ? strdup(cfg->client_id) : NULL;
    c->max_frame = cfg->max_frame > 0 ? cfg->max_frame : 100 * 1024 * 1024;
    c->backoff_ms = cfg->backoff_ms > 0 ? cfg->backoff_ms : 50;
    c->backoff_max_ms = cfg->backoff_max_ms > 0 ? cfg->backoff_max_ms : 1000;
    if (c->backoff_max_ms < c->backoff_ms)
        c->backoff_max_ms = c->backoff_ms;
    c->backoff_cur = c->backoff_ms;
    c->timeout_ms = cfg->request_timeout_ms;
    c->max_inflight = cfg->max_inflight;
    c->resend = cfg->resend;
    c->retry = event_new(base, -1, 0, client_on_retry, c);
    c->tmo = event_new(base, -1, 0, client_on_timeout, c);
    if (!c->host || (cfg->client_id && !c->client_id) || !c->retry || !c->tmo) {
        client_really_free(c);
        return NULL;
    }
    return c;
}

void kb_client_set_state_cb(kb_client *c, kb_client_state_fn *fn, void *ctx)
{
    c->state_fn = fn;
    c->state_ctx = ctx;
}

void kb_client_connect(kb_client *c)
{
    if (c->st == KB_CLIENT_IDLE)
        client_start_connect(c);
    else if (c->st == KB_CLIENT_BACKOFF) {
        event_del(c->retry);
        client_start_connect(c);
    }
}

kb_client_state kb_client_get_state(const kb_client *c) { return c->st; }
size_t kb_client_pending(const kb_client *c) { return c->npending; }
uint64_t kb_client_connects(const kb_client *c) { return c->nconnects; }

void kb_client_free(kb_client *c)
{
    if (!c)
        return;
    c->dead = true;
    if (c->busy > 0)
        return; /* the outermost callback frame finishes the job */
    c->busy++;
    c->state_fn = NULL;
    if (c->bev) {
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
    event_del(c->retry);
    event_del(c->tmo);
    kb_creq *list = c->head;
    c->head = c->tail = c->next_send = NULL;
    c->npending = c->ninflight = 0;
    client_fail_list(c, list, KB_CLIENT_ECLOSED);
    /* Completions cannot add requests: sends on a dead client are refused. */
    client_really_free(c);
}
