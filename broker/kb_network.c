/* broker/kb_network.c -- listeners, connections and framing (see kb_network.h).
 *
 * Connection states:
 *
 *     reading --(whole frame buffered)--> busy --(reply/finish)--> reading
 *        |                                 |
 *        +----(EOF, error, bad frame)------+--> closed (a busy request is orphaned:
 *                                               req->conn = NULL, freed at its finish)
 *
 * Invariant: at most one request per connection is being handled and not
 * parked (c->active), and EV_READ is disabled while it is. Every request not
 * yet written out is on the connection's queue (c->qhead..c->qtail, oldest
 * first); answers are written from the head while the head is answered.
 * Locality: broker loop thread only. */
#include "kb_network.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "kz_log.h"
#include "kz_time.h"
#include "kz_vec.h"

#define KB_NET_LOG "kafka.network.SocketServer"

struct kb_conn {
    kb_net *net;
    struct bufferevent *bev;
    kb_req *active;        /* handled now, not parked */
    kb_req *qhead, *qtail; /* not yet written out, oldest first */
    int nparked;
    kb_conn *prev, *next;
    char peer[64];
    const char *listener;
    bool closing;          /* close once the output drains */
    struct event *resume;  /* takes the next frame on a fresh loop turn */
    struct event *direct;  /* reads the rest of a large frame straight from the socket */
    uint8_t *dframe;       /* that frame: dgot of dsize bytes so far */
    size_t dsize, dgot;
    bool in_frame;         /* kb_conn_try_frame is on the stack: defer frees */
    bool dead;             /* freed when kb_conn_try_frame unwinds */
};

typedef struct kb_listener {
    struct evconnlistener *l;
    kb_net *net;
    char name[64];
    struct kb_listener *next;
} kb_listener;

struct kb_net {
    struct event_base *base;
    kb_net_cfg cfg;
    kb_net_req_fn *fn;
    void *ctx;
    kb_listener *listeners;
    kb_conn *conns;
    int nconns;
};

static void kb_conn_try_frame(kb_conn *c);

static void kb_req_free(kb_req *req)
{
    if (req->held)
        evbuffer_free(req->held);
    free(req->frame);
    kz_arena_reset(&req->arena);
    free(req);
}

/* The connection goes away: answered requests on its queue are freed, the
 * others lose it (their owners free them when they finish). */
static void kb_conn_orphan_all(kb_conn *c)
{
    for (kb_req *r = c->qhead, *next; r; r = next) {
        next = r->qnext;
        r->qnext = NULL;
        r->conn = NULL;
        if (r->answered)
            kb_req_free(r);
    }
    c->qhead = c->qtail = NULL;
    c->active = NULL;
    c->nparked = 0;
}

static void kb_conn_free(kb_conn *c)
{
    kb_net *n = c->net;
    if (c->in_frame) { /* the frame loop below us still looks at @c */
        c->dead = true;
        bufferevent_disable(c->bev, EV_READ | EV_WRITE);
        return;
    }
    kb_conn_orphan_all(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        n->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    n->nconns--;
    if (c->direct)
        event_free(c->direct);
    free(c->dframe);
    bufferevent_free(c->bev);
    if (c->resume)
        event_free(c->resume);
    free(c);
}

static void kb_conn_on_write(struct bufferevent *bev, void *arg)
{
    kb_conn *c = arg;
    (void)bev;
    if (c->closing && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        kb_conn_free(c);
}

static void kb_conn_on_event(struct bufferevent *bev, short what, void *arg)
{
    kb_conn *c = arg;
    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        if (what & BEV_EVENT_ERROR)
            kz_debug(KB_NET_LOG, "Connection to %s closed: %s", c->peer, strerror(errno));
        kb_conn_free(c);
    }
}

/* Closes after pending output is written (a reply that explains, if any). */
static void kb_conn_close_soon(kb_conn *c)
{
    c->closing = true;
    bufferevent_disable(c->bev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        kb_conn_free(c);
}

/* Takes one frame out of the input if a whole one is there; returns false
 * when there is none (or the connection is going away). */
/* Hands a whole frame (owned, @size bytes) to the dispatcher and mutes the
 * connection until the request is answered. */
static bool kb_conn_dispatch(kb_conn *c, uint8_t *frame, size_t size)
{
    kb_req *req = calloc(1, sizeof *req);
    if (!req) {
        free(frame);
        kz_error(KB_NET_LOG, "Out of memory reading a %zu-byte request from %s", size, c->peer);
        kb_conn_free(c);
        return false;
    }
    req->frame = frame;
    req->frame_len = size;
    req->conn = c;
    req->recv_us = kz_mono_us();
    snprintf(req->peer, sizeof req->peer, "%s", c->peer);
    req->listener = c->listener;
    if (c->qtail)
        c->qtail->qnext = req;
    else
        c->qhead = req;
    c->qtail = req;
    c->active = req;
    bufferevent_disable(c->bev, EV_READ); /* muted until answered */
    c->net->fn(c->net->ctx, req);
    return true;
}

/* Frames at least this large are read past the bufferevent: libevent 2.1
 * reads a socket 4 KiB per call, which turns a 1 MiB produce into 256 loop
 * turns and a copy out of the input buffer. */
#define KB_NET_DIRECT_MIN (64 * 1024)

static void kb_conn_on_direct(evutil_socket_t fd, short what, void *arg)
{
    kb_conn *c = arg;
    (void)what;
    while (c->dgot < c->dsize) {
        ssize_t n = read(fd, c->dframe + c->dgot, c->dsize - c->dgot);
        if (n > 0) {
            c->dgot += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return; /* more later */
        kz_debug(KB_NET_LOG, "Connection from %s closed in the middle of a %zu-byte request",
                 c->peer, c->dsize);
        kb_conn_free(c);
        return;
    }
    event_del(c->direct);
    uint8_t *frame = c->dframe;
    size_t size = c->dsize;
    c->dframe = NULL;
    c->dsize = c->dgot = 0;
    c->in_frame = true;
    kb_conn_dispatch(c, frame, size);
    c->in_frame = false;
    if (c->dead)
        kb_conn_free(c);
    else if (!c->active)
        kb_conn_try_frame(c);
}

/* Starts reading the rest of a @size-byte frame whose first @have bytes
 * (after the size) are buffered. */
static bool kb_conn_read_direct(kb_conn *c, struct evbuffer *in, size_t have, size_t size)
{
    uint8_t *frame = malloc(size);
    if (!c->direct)
        c->direct = event_new(c->net->base, bufferevent_getfd(c->bev), EV_READ | EV_PERSIST,
                              kb_conn_on_direct, c);
    if (!frame || !c->direct) {
        free(frame);
        kz_error(KB_NET_LOG, "Out of memory reading a %zu-byte request from %s", size, c->peer);
        kb_conn_free(c);
        return false;
    }
    evbuffer_drain(in, 4);
    c->dgot = (size_t)evbuffer_remove(in, frame, have);
    c->dframe = frame;
    c->dsize = size;
    bufferevent_disable(c->bev, EV_READ);
    bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
    event_add(c->direct, NULL);
    return false;
}

/* Takes one frame out of the input if a whole one is there; returns false
 * when there is none (or the connection is going away). */
static bool kb_conn_next_frame(kb_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t have = evbuffer_get_length(in);
    uint8_t szb[4];
    if (have < 4) {
        bufferevent_enable(c->bev, EV_READ);
        return false;
    }
    evbuffer_copyout(in, szb, 4);
    int32_t size = (int32_t)kz_load_be32(szb);
    if (size < 8 || size > c->net->cfg.max_request_bytes) {
        kz_warn(KB_NET_LOG, "Closing connection from %s: frame size %d outside [8, %d] "
                "(socket.request.max.bytes)", c->peer, size, c->net->cfg.max_request_bytes);
        kb_conn_free(c);
        return false;
    }
    if (have < 4 + (size_t)size) {
        if ((size_t)size - (have - 4) >= KB_NET_DIRECT_MIN)
            return kb_conn_read_direct(c, in, have - 4, (size_t)size);
        /* Read the rest; the watermark wakes us when it is all there. */
        bufferevent_setwatermark(c->bev, EV_READ, 4 + (size_t)size, 0);
        bufferevent_enable(c->bev, EV_READ);
        return false;
    }
    bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
    uint8_t *frame = malloc((size_t)size);
    if (!frame) {
        kz_error(KB_NET_LOG, "Out of memory reading a %d-byte request from %s", size, c->peer);
        kb_conn_free(c);
        return false;
    }
    evbuffer_drain(in, 4);
    evbuffer_remove(in, frame, (size_t)size);
    return kb_conn_dispatch(c, frame, (size_t)size);
}

/* Dispatches buffered frames while requests complete synchronously; a loop
 * rather than recursion, so a burst of pipelined acks=0 produces cannot grow
 * the stack. */
static void kb_conn_try_frame(kb_conn *c)
{
    if (c->in_frame)
        return; /* the loop further up the stack continues */
    c->in_frame = true;
    while (!c->dead && !c->active && !c->closing && !c->dframe && kb_conn_next_frame(c))
        ;
    c->in_frame = false;
    if (c->dead)
        kb_conn_free(c);
}

static void kb_conn_on_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    kb_conn_try_frame(arg);
}

static void kb_conn_on_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    kb_conn_try_frame(arg);
}

/* The request is done: release it and look at the next frame. Answered
 * within its own dispatch, the frame loop continues; answered later (a
 * timer, another connection's append), the next frame waits for a fresh
 * loop turn, so no handler ever runs nested inside another one. */
static void kb_req_done(kb_req *req)
{
    kb_conn *c = req->conn;
    if (!c) {
        kb_req_free(req);
        return;
    }
    req->answered = true;
    if (req->parked)
        c->nparked--;
    bool was_active = c->active == req;
    if (was_active)
        c->active = NULL;
    /* write out the answered requests at the head, in order */
    struct evbuffer *out = bufferevent_get_output(c->bev);
    while (c->qhead && c->qhead->answered) {
        kb_req *h = c->qhead;
        if (!(c->qhead = h->qnext))
            c->qtail = NULL;
        if (h->held)
            evbuffer_add_buffer(out, h->held);
        kb_req_free(h);
    }
    if (was_active && !c->in_frame)
        event_active(c->resume, 0, 0);
}

void kb_req_park(kb_req *req)
{
    kb_conn *c = req->conn;
    if (!c || req->parked || c->active != req || c->nparked >= KB_NET_MAX_PARKED)
        return;
    req->parked = true;
    c->nparked++;
    c->active = NULL;
    if (!c->in_frame)
        event_active(c->resume, 0, 0);
}

/* ---- writing responses with file holes ---- */

typedef struct kb_hole {
    size_t at;
    int fd;
    int64_t off, len;
} kb_hole;

typedef struct kb_holes {
    kb_hole *v;
    size_t n, cap;
    int64_t bytes;
    bool oom;
} kb_holes;

static void kb_holes_add(void *ctx, size_t at, const kz_krecs *recs)
{
    kb_holes *h = ctx;
    if (KZ_VEC_RESERVE(h->v, h->cap, h->n + 1, 8) != 0) {
        h->oom = true;
        return;
    }
    h->v[h->n++] = (kb_hole){ at, recs->fd, recs->foff, recs->flen };
    h->bytes += recs->flen;
}

/* Adds @len bytes of @fd at @off as a sendfile segment; its own descriptor
 * keeps the file alive even if retention unlinks the segment meanwhile. */
static int kb_out_add_file(struct evbuffer *out, int fd, int64_t off, int64_t len)
{
    int dfd = dup(fd);
    if (dfd < 0)
        return -1;
    struct evbuffer_file_segment *seg =
        evbuffer_file_segment_new(dfd, off, len, EVBUF_FS_CLOSE_ON_FREE | EVBUF_FS_DISABLE_MMAP);
    if (!seg) {
        close(dfd);
        return -1;
    }
    int rc = evbuffer_add_file_segment(out, seg, 0, len);
    evbuffer_file_segment_free(seg); /* the buffer holds its own reference */
    return rc;
}

void kb_req_reply(kb_req *req, const kz_kmsg *schema, int16_t ver, const void *resp)
{
    kb_conn *c = req->conn;
    if (!c) {
        kb_req_done(req);
        return;
    }
    kz_wr w = KZ_WR_INIT;
    kb_holes holes = { 0 };
    kz_wr_i32(&w, 0); /* size, patched below */
    kz_kresp_hdr_encode(&w, kz_kresp_hdr_version(schema, ver), req->hdr.corr_id);
    kz_kmsg_encode_holes(schema, ver, resp, &w, kb_holes_add, &holes);
    int64_t total = (int64_t)w.len - 4 + holes.bytes;
    if (w.err || holes.oom || total > INT32_MAX) {
        kz_error(KB_NET_LOG, "Cannot encode %s v%d for %s; closing the connection", schema->name, ver, c->peer);
        kz_wr_free(&w);
        free(holes.v);
        kb_req_close(req, "response encoding failed");
        return;
    }
    kz_wr_patch_i32(&w, 0, (int32_t)total);
    /* behind an unanswered earlier request, the answer is held until that one's is out */
    struct evbuffer *out = c->qhead == req ? bufferevent_get_output(c->bev) : (req->held = evbuffer_new());
    if (!out) {
        kz_wr_free(&w);
        free(holes.v);
        kb_req_close(req, "out of memory");
        return;
    }
    size_t from = 0;
    int rc = 0;
    for (size_t i = 0; i < holes.n && rc == 0; i++) {
        rc |= evbuffer_add(out, w.base + from, holes.v[i].at - from);
        rc |= kb_out_add_file(out, holes.v[i].fd, holes.v[i].off, holes.v[i].len);
        from = holes.v[i].at;
    }
    if (rc == 0)
        rc = evbuffer_add(out, w.base + from, w.len - from);
    kz_wr_free(&w);
    free(holes.v);
    if (rc != 0) {
        kb_req_close(req, "cannot queue the response");
        return;
    }
    kb_req_done(req);
}

void kb_req_finish(kb_req *req) { kb_req_done(req); }

void kb_req_close(kb_req *req, const char *why)
{
    kb_conn *c = req->conn;
    if (c) {
        kz_info(KB_NET_LOG, "Closing connection from %s: %s", c->peer, why);
        req->answered = false; /* freed below, not with the queue */
        kb_conn_orphan_all(c);
        kb_conn_close_soon(c);
    }
    kb_req_free(req);
}

/* ---- accepting ---- */

static void kb_net_on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                             int salen, void *arg)
{
    kb_listener *kl = arg;
    kb_net *n = kl->net;
    (void)l;
    kb_conn *c = calloc(1, sizeof *c);
    struct bufferevent *bev = bufferevent_socket_new(n->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c || !bev) {
        free(c);
        if (bev)
            bufferevent_free(bev);
        else
            close(fd);
        return;
    }
    char host[INET6_ADDRSTRLEN] = "?", port[8] = "?";
    getnameinfo(sa, (socklen_t)salen, host, sizeof host, port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(c->peer, sizeof c->peer, "%s:%s", host, port);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (n->cfg.send_buffer > 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &n->cfg.send_buffer, sizeof n->cfg.send_buffer);
    if (n->cfg.recv_buffer > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &n->cfg.recv_buffer, sizeof n->cfg.recv_buffer);
    c->net = n;
    c->bev = bev;
    c->listener = kl->name;
    c->resume = event_new(n->base, -1, 0, kb_conn_on_resume, c);
    if (!c->resume) {
        bufferevent_free(bev);
        free(c);
        return;
    }
    c->next = n->conns;
    if (n->conns)
        n->conns->prev = c;
    n->conns = c;
    n->nconns++;
    bufferevent_setcb(bev, kb_conn_on_read, kb_conn_on_write, kb_conn_on_event, c);
    /* libevent reads and writes 16 KiB per call by default: too little for
     * megabyte produce batches and fetch responses. */
    bufferevent_set_max_single_read(bev, 1 << 20);
    bufferevent_set_max_single_write(bev, 1 << 20);
    if (n->cfg.idle_ms > 0) {
        struct timeval tv = { (time_t)(n->cfg.idle_ms / 1000), (suseconds_t)(n->cfg.idle_ms % 1000) * 1000 };
        bufferevent_set_timeouts(bev, &tv, NULL);
    }
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

kb_net *kb_net_new(struct event_base *base, const kb_net_cfg *cfg, kb_net_req_fn *fn, void *ctx)
{
    kb_net *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->base = base;
    n->cfg = *cfg;
    n->fn = fn;
    n->ctx = ctx;
    return n;
}

int kb_net_listen(kb_net *n, const char *name, const char *host, int port, int *bound,
                  char *err, size_t errlen)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
    struct addrinfo *res = NULL;
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%d", port);
    int grc = getaddrinfo(host && *host ? host : NULL, portstr, &hints, &res);
    if (grc != 0) {
        snprintf(err, errlen, "cannot resolve listener host '%s': %s", host ? host : "", gai_strerror(grc));
        return -EINVAL;
    }
    kb_listener *kl = calloc(1, sizeof *kl);
    if (!kl) {
        freeaddrinfo(res);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    kl->net = n;
    snprintf(kl->name, sizeof kl->name, "%s", name);
    struct evconnlistener *l = evconnlistener_new_bind(
        n->base, kb_net_on_accept, kl, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 512,
        res->ai_addr, (int)res->ai_addrlen);
    int e = errno;
    if (!l) {
        free(kl);
        snprintf(err, errlen, "Socket server failed to bind to %s:%d: %s.", host && *host ? host : "0.0.0.0",
                 port, strerror(e));
        freeaddrinfo(res);
        return -e;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (bound) {
        *bound = port;
        if (getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&ss, &sl) == 0)
            *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                    : ((struct sockaddr_in *)&ss)->sin_port);
    }
    kl->l = l;
    kl->next = n->listeners;
    n->listeners = kl;
    return 0;
}

void kb_net_close_all(kb_net *n)
{
    while (n->listeners) {
        kb_listener *kl = n->listeners;
        n->listeners = kl->next;
        evconnlistener_free(kl->l);
        free(kl);
    }
    while (n->conns)
        kb_conn_free(n->conns);
}

void kb_net_free(kb_net *n)
{
    if (!n)
        return;
    kb_net_close_all(n);
    free(n);
}

int kb_net_conn_count(const kb_net *n) { return n->nconns; }
