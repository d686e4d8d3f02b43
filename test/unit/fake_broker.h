/* test/unit/fake_broker.h -- a stand-in Kafka peer for the unit suites
 * (check_client.c, check_ctl.c, check_ctl_repl.c): a listener on 127.0.0.1
 * run on the test's event loop that records every request frame it reads
 * and answers it.
 *
 * Frames: int32 size, then the request (header and body); what is recorded
 * is the frame without its size, with the api key and version peeked from
 * its header and the number of the accepted connection that carried it.
 * By default a request is answered with the response of its key and
 * version whose every field is zero (error 0, empty arrays); a suite's
 * frame hook answers otherwise (another body, a wrong correlation id, raw
 * bytes, nothing) or closes the connection.
 *
 * Locality: everything runs on the event loop given to fb_start; the
 * fbroker must stay put (its address is the callbacks' context) until
 * fb_stop. Header-only: each suite is its own program. */
#ifndef FAKE_BROKER_H
#define FAKE_BROKER_H

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "kz_buf.h"
#include "kz_kmsg.h"
#include "kz_kmsgs.h"
#include "unit_util.h"

#define FB_MAX 512     /* requests recorded at the most */
#define FB_MAXCONN 64  /* connections accepted at the most */

typedef struct fbroker fbroker;

/* Called for request #@i (recorded already) read on @bev, of api @key,
 * version @ver and correlation id @corr: answers as the suite wants
 * (fb_reply, raw bytes, nothing). Returns false when it closed @bev with
 * fb_close (nothing more is read from it), true otherwise. */
typedef bool fb_frame_fn(fbroker *fb, struct bufferevent *bev, int i, int16_t key, int16_t ver, int32_t corr);

struct fbroker {
    struct event_base *base;
    struct evconnlistener *lis;
    int port;
    int n;                            /* requests recorded */
    int16_t key[FB_MAX], ver[FB_MAX];
    uint8_t *frame[FB_MAX];           /* each without its size; owned */
    size_t len[FB_MAX];
    int conn[FB_MAX];                 /* the connection (0, 1, ... in accept order) that carried it */
    struct bufferevent *conns[FB_MAXCONN]; /* NULL once closed */
    int nconns;
    fb_frame_fn *on_frame;            /* NULL: fb_reply with a zeroed body */
    void *ctx;                        /* for on_frame */
    const char *client_id;            /* when set, fb_decode fails on a request from another client */
};

/* Writes the response to request @key/@ver with correlation id @corr on
 * @bev: size, response header of that version, then @body (a kz_<Name>
 * response struct of kz_kmsg_responses[@key]) encoded; NULL @body encodes
 * the struct with every field zero. */
static inline void fb_reply(struct bufferevent *bev, int16_t key, int16_t ver, int32_t corr, const void *body)
{
    kz_wr w = KZ_WR_INIT;
    kz_wr_i32(&w, 0);
    const kz_kmsg *m = kz_kmsg_responses[key];
    ck_assert_ptr_nonnull(m);
    kz_kresp_hdr_encode(&w, kz_kresp_hdr_version(m, ver), corr);
    _Alignas(max_align_t) uint8_t zero[256] = { 0 };
    if (!body) {
        ck_assert_uint_le(m->size, sizeof zero);
        body = zero;
    }
    kz_kmsg_encode(m, ver, body, &w);
    ck_assert_int_eq(w.err, 0);
    kz_wr_patch_i32(&w, 0, (int32_t)(w.len - 4));
    bufferevent_write(bev, w.base, w.len);
    kz_wr_free(&w);
}

/* Closes @bev, a connection of @fb, and forgets it. */
static inline void fb_close(fbroker *fb, struct bufferevent *bev)
{
    for (int i = 0; i < fb->nconns; i++)
        if (fb->conns[i] == bev)
            fb->conns[i] = NULL;
    bufferevent_free(bev);
}

/* Reads every whole frame buffered on @bev, records it, and hands it to
 * the frame hook (else answers it with a zeroed body). */
static inline void fb_on_read(struct bufferevent *bev, void *arg)
{
    fbroker *fb = arg;
    int cn = -1;
    for (int i = 0; i < fb->nconns; i++)
        if (fb->conns[i] == bev)
            cn = i;
    struct evbuffer *in = bufferevent_get_input(bev);
    for (;;) {
        uint8_t szb[4];
        if (evbuffer_copyout(in, szb, 4) != 4)
            return;
        uint32_t n = kz_load_be32(szb);
        if (evbuffer_get_length(in) < 4 + (size_t)n)
            return;
        uint8_t *f = malloc(n ? n : 1);
        ck_assert_ptr_nonnull(f);
        evbuffer_drain(in, 4);
        evbuffer_remove(in, f, n);
        int16_t key, ver;
        int32_t corr;
        ck_assert_int_eq(kz_kreq_peek(f, n, &key, &ver, &corr), 0);
        ck_assert_int_lt(fb->n, FB_MAX);
        int i = fb->n++;
        fb->key[i] = key;
        fb->ver[i] = ver;
        fb->frame[i] = f;
        fb->len[i] = n;
        fb->conn[i] = cn;
        if (!fb->on_frame)
            fb_reply(bev, key, ver, corr, NULL);
        else if (!fb->on_frame(fb, bev, i, key, ver, corr))
            return;
    }
}

static inline void fb_on_event(struct bufferevent *bev, short what, void *arg)
{
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        fb_close(arg, bev);
}

static inline void fb_on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                                void *arg)
{
    (void)l;
    (void)sa;
    (void)len;
    fbroker *fb = arg;
    struct bufferevent *bev = bufferevent_socket_new(fb->base, fd, BEV_OPT_CLOSE_ON_FREE);
    ck_assert_ptr_nonnull(bev);
    ck_assert_int_lt(fb->nconns, FB_MAXCONN);
    fb->conns[fb->nconns++] = bev;
    bufferevent_setcb(bev, fb_on_read, NULL, fb_on_event, fb);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* Clears @fb and listens on 127.0.0.1:@port (0: any free port, read back
 * into fb->port) on @evb; requests go to @on_frame with @ctx in fb->ctx
 * (NULL @on_frame: answered with zeroed bodies). */
static inline void fb_start(fbroker *fb, struct event_base *evb, int port, fb_frame_fn *on_frame, void *ctx)
{
    memset(fb, 0, sizeof *fb);
    fb->base = evb;
    fb->on_frame = on_frame;
    fb->ctx = ctx;
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fb->lis = evconnlistener_new_bind(evb, fb_on_accept, fb, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
                                      (struct sockaddr *)&sin, sizeof sin);
    ck_assert_ptr_nonnull(fb->lis);
    struct sockaddr_in got;
    socklen_t gl = sizeof got;
    getsockname(evconnlistener_get_fd(fb->lis), (struct sockaddr *)&got, &gl);
    fb->port = ntohs(got.sin_port);
}

/* Stops listening, closes the connections and frees the frames; @fb may
 * be started again. */
static inline void fb_stop(fbroker *fb)
{
    if (fb->lis)
        evconnlistener_free(fb->lis);
    fb->lis = NULL;
    for (int i = 0; i < fb->nconns; i++)
        if (fb->conns[i])
            bufferevent_free(fb->conns[i]);
    fb->nconns = 0;
    for (int i = 0; i < fb->n; i++)
        free(fb->frame[i]);
    fb->n = 0;
}

/* The correlation id of request #@i. */
static inline int32_t fb_corr(const fbroker *fb, int i) { return (int32_t)kz_load_be32(fb->frame[i] + 4); }

/* How many requests of api @key @fb recorded. */
static inline int fb_count(const fbroker *fb, int16_t key)
{
    int c = 0;
    for (int i = 0; i < fb->n; i++)
        c += fb->key[i] == key;
    return c;
}

/* Decodes request #@i (its header skipped) into @out, a kz_<Name> request
 * struct, with whole consumption; the header's client id in *@cid (when
 * not NULL; it points into the frame). */
static inline void fb_decode(const fbroker *fb, int i, void *out, kz_arena *a, kz_str *cid)
{
    const kz_kmsg *m = kz_kmsg_requests[fb->key[i]];
    ck_assert_ptr_nonnull(m);
    kz_rd r = kz_rd_init(fb->frame[i], fb->len[i]);
    kz_kreq_hdr h;
    ck_assert_int_eq(kz_kreq_hdr_decode(&r, kz_kreq_hdr_version(m, fb->ver[i]), &h), 0);
    if (fb->client_id)
        ck_assert(str_is(h.client_id, fb->client_id));
    ck_assert_int_eq(kz_kmsg_decode(m, fb->ver[i], &r, out, a), 0);
    ck_assert_int_eq(kz_rd_left(&r), 0);
    if (cid)
        *cid = h.client_id;
}

/* The state of @topic-@p in the last LeaderAndIsr request @fb got that
 * holds it; NULL if none. The request is decoded into @req (NULL: into
 * @a), its arrays into @a. */
static inline const kz_LeaderAndIsrPartitionState *fb_last_lai(const fbroker *fb, const char *topic, int32_t p,
                                                               kz_arena *a, kz_LeaderAndIsrRequest *req)
{
    if (!req)
        req = kz_arena_alloc(a, sizeof *req);
    for (int i = fb->n - 1; i >= 0; i--) {
        if (fb->key[i] != 4)
            continue;
        fb_decode(fb, i, req, a, NULL);
        for (int32_t t = 0; t < req->topic_states.n; t++) {
            if (!str_is(req->topic_states.v[t].topic_name, topic))
                continue;
            for (int32_t k = 0; k < req->topic_states.v[t].partition_states.n; k++)
                if (req->topic_states.v[t].partition_states.v[k].partition_index == p)
                    return &req->topic_states.v[t].partition_states.v[k];
        }
    }
    return NULL;
}

#endif
