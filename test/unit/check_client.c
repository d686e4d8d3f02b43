/* test/unit/check_client.c -- kb_client against a tiny Kafka-speaking
 * listener on 127.0.0.1 (fake_broker.h) run by the test on the same event
 * loop.
 *
 * The listener records every request frame it reads and answers according
 * to a per-test script (reply, reply with a wrong correlation id, close,
 * stay silent, announce an oversized frame, send an undecodable body), so
 * each test checks the bytes the client framed, the correlation ids, the
 * order of completions, and what a drop does to pending requests. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "kb_client.h"
#include "kz_kmsgs.h"
#include "kz_log.h"
#include "unit_util.h"
#include "fake_broker.h"

/* ------------------------------------------------------ scripted server */

typedef enum { ACT_REPLY, ACT_BADCORR, ACT_CLOSE, ACT_IGNORE, ACT_HUGE, ACT_GARBAGE } srv_act;

#define SRV_MAXREQ 64

/* A fake_broker.h listener whose answers follow a script. */
typedef struct srv {
    fbroker fb;                 /* requests received: fb.frame, fb.len, fb.conn, fb.n */
    srv_act script[SRV_MAXREQ]; /* action for request #i (ACT_REPLY past nscript) */
    int nscript;
} srv;

/* ApiVersions: api_keys[0] tells the client which request (index @idx) and
 * corr this was; UpdateMetadata: error code 100 + @idx. */
static void srv_reply(struct bufferevent *bev, int16_t key, int16_t ver, int32_t corr, int idx)
{
    if (key == 18) {
        kz_ApiVersion av = { .api_key = 18, .min_version = (int16_t)idx, .max_version = (int16_t)corr };
        kz_ApiVersionsResponse r = { .error_code = 0 };
        r.api_keys.n = 1;
        r.api_keys.v = &av;
        r.finalized_features_epoch = -1;
        fb_reply(bev, key, ver, corr, &r);
    } else if (key == 6) {
        kz_UpdateMetadataResponse r = { .error_code = (int16_t)(100 + idx) };
        fb_reply(bev, key, ver, corr, &r);
    } else {
        fb_reply(bev, key, ver, corr, NULL);
    }
}

static bool srv_on_frame(fbroker *fb, struct bufferevent *bev, int idx, int16_t key, int16_t ver, int32_t corr)
{
    srv *s = fb->ctx;
    srv_act act = idx < s->nscript ? s->script[idx] : ACT_REPLY;
    switch (act) {
    case ACT_REPLY: srv_reply(bev, key, ver, corr, idx); break;
    case ACT_BADCORR: srv_reply(bev, key, ver, corr + 1000, idx); break;
    case ACT_IGNORE: break;
    case ACT_CLOSE: fb_close(fb, bev); return false;
    case ACT_HUGE: {
        uint8_t b[8];
        kz_store_be32(b, 1u << 30);
        kz_store_be32(b + 4, (uint32_t)corr);
        bufferevent_write(bev, b, 8);
        break;
    }
    case ACT_GARBAGE: { /* right header, body cut short (ApiVersions v0 wants >= 6 bytes) */
        uint8_t b[4 + 4 + 3] = { 0, 0, 0, 7 };
        kz_store_be32(b + 4, (uint32_t)corr);
        b[8] = 0;
        b[9] = 0;
        b[10] = 0;
        bufferevent_write(bev, b, sizeof b);
        break;
    }
    }
    return true;
}

/* Listens on 127.0.0.1:@port (0 = any free port); the script is kept. */
static void srv_start(srv *s, struct event_base *base, int port) { fb_start(&s->fb, base, port, srv_on_frame, s); }

static void srv_stop(srv *s) { fb_stop(&s->fb); }

/* ------------------------------------------------------------ client side */

typedef struct done_rec {
    int n;
    int err[SRV_MAXREQ];
    int16_t a[SRV_MAXREQ], b[SRV_MAXREQ]; /* ApiVersions: server index and corr; UM: error code */
    int tag[SRV_MAXREQ];                  /* which send (ctx) completed, in completion order */
} done_rec;

typedef struct send_ctx {
    done_rec *rec;
    int tag;
    kb_client **free_me; /* free the client from inside the completion */
    kb_client *send_more;
} send_ctx;

static void on_av(void *ctx, int err, const void *resp)
{
    send_ctx *sc = ctx;
    done_rec *d = sc->rec;
    int i = d->n++;
    d->err[i] = err;
    d->tag[i] = sc->tag;
    if (err == KB_CLIENT_OK) {
        const kz_ApiVersionsResponse *r = resp;
        ck_assert_int_eq(r->api_keys.n, 1);
        d->a[i] = r->api_keys.v[0].min_version;
        d->b[i] = r->api_keys.v[0].max_version;
    } else {
        ck_assert_ptr_null(resp);
    }
    if (sc->free_me) {
        kb_client_free(*sc->free_me);
        *sc->free_me = NULL;
    }
}

static void on_um(void *ctx, int err, const void *resp)
{
    send_ctx *sc = ctx;
    done_rec *d = sc->rec;
    int i = d->n++;
    d->err[i] = err;
    d->tag[i] = sc->tag;
    if (err == KB_CLIENT_OK)
        d->a[i] = ((const kz_UpdateMetadataResponse *)resp)->error_code;
}

static int send_av(kb_client *c, int16_t ver, send_ctx *sc)
{
    kz_ApiVersionsRequest rq = { .client_software_name = KZ_STR_LIT("kz"),
                                 .client_software_version = KZ_STR_LIT("1") };
    return kb_client_send(c, &kz_kmsg_ApiVersionsRequest, &kz_kmsg_ApiVersionsResponse, ver, &rq, on_av, sc);
}

static void stop_loop(evutil_socket_t fd, short w, void *arg)
{
    (void)fd;
    (void)w;
    event_base_loopbreak(arg);
}

/* Runs the loop until *@n reaches @want or @ms pass. */
static void run_until(struct event_base *base, const int *n, int want, int ms)
{
    struct event *t = evtimer_new(base, stop_loop, base);
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    evtimer_add(t, &tv);
    int64_t guard = 0;
    while (*n < want && evtimer_pending(t, NULL) && guard++ < 1000000)
        event_base_loop(base, EVLOOP_ONCE);
    event_free(t);
}

static void run_for(struct event_base *base, int ms)
{
    int never = 0;
    run_until(base, &never, 1, ms);
}

static kb_client_cfg base_cfg(int port, bool resend)
{
    return (kb_client_cfg){ .host = "127.0.0.1", .port = port, .client_id = "controller-1-to-broker-2",
                            .max_frame = 1 << 20, .backoff_ms = 10, .backoff_max_ms = 40,
                            .resend = resend };
}

/* ---------------------------------------------------------------- tests */

/* Exact request framing (header v2 of a flexible version: int16 client id,
 * then an empty tag section) and the decoded answer. */
START_TEST(frames_and_decodes)
{
    struct event_base *base = event_base_new();
    srv s = { 0 };
    srv_start(&s, base, 0);
    kb_client_cfg cfg = base_cfg(s.fb.port, false);
    kb_client *c = kb_client_new(base, NULL, &cfg);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(kb_client_get_state(c), KB_CLIENT_IDLE);
    done_rec d = { 0 };
    send_ctx sc = { &d, 7, NULL, NULL };
    ck_assert_int_eq(send_av(c, 3, &sc), KB_CLIENT_OK);
    ck_assert_int_eq(d.n, 0); /* never completes inside send */
    ck_assert_int_eq(kb_client_pending(c), 1);
    run_until(base, &d.n, 1, 3000);
    ck_assert_int_eq(d.n, 1);
    ck_assert_int_eq(d.err[0], KB_CLIENT_OK);
    ck_assert_int_eq(d.tag[0], 7);
    ck_assert_int_eq(d.a[0], 0);      /* the server's first request */
    ck_assert_int_eq(d.b[0], 0);      /* correlation ids start at 0 */
    ck_assert_int_eq(kb_client_pending(c), 0);
    ck_assert_int_eq(kb_client_get_state(c), KB_CLIENT_UP);

    static const uint8_t want[] = {
        0, 18, 0, 3, 0, 0, 0, 0,                       /* key 18, v3, corr 0 */
        0, 24, 'c', 'o', 'n', 't', 'r', 'o', 'l', 'l', 'e', 'r', '-', '1', '-',
        't', 'o', '-', 'b', 'r', 'o', 'k', 'e', 'r', '-', '2',
        0,                                              /* header tags */
        3, 'k', 'z', 2, '1', 0,                         /* compact strings, body tags */
    };
    ck_assert_int_eq(s.fb.len[0], sizeof want);
    ck_assert_mem_eq(s.fb.frame[0], want, sizeof want);

    /* UpdateMetadata v7: header v2 too, response header v1 (tags) */
    kz_UpdateMetadataRequest um = { .controller_id = 1, .controller_epoch = 5, .broker_epoch = 77 };
    ck_assert_int_eq(kb_client_send(c, &kz_kmsg_UpdateMetadataRequest, &kz_kmsg_UpdateMetadataResponse, 7,
                                    &um, on_um, &sc), KB_CLIENT_OK);
    run_until(base, &d.n, 2, 3000);
    ck_assert_int_eq(d.err[1], KB_CLIENT_OK);
    ck_assert_int_eq(d.a[1], 101); /* error code 100 + request index 1 */
    kz_rd r = kz_rd_init(s.fb.frame[1], s.fb.len[1]);
    kz_kreq_hdr h;
    ck_assert_int_eq(kz_kreq_hdr_decode(&r, 2, &h), 0);
    ck_assert_int_eq(h.api_key, 6);
    ck_assert_int_eq(h.api_version, 7);
    ck_assert_int_eq(h.corr_id, 1);
    ck_assert(str_is(h.client_id, "controller-1-to-broker-2"));
    kz_arena a = KZ_ARENA_INIT;
    kz_UpdateMetadataRequest got;
    ck_assert_int_eq(kz_kmsg_decode(&kz_kmsg_UpdateMetadataRequest, 7, &r, &got, &a), 0);
    ck_assert_int_eq(kz_rd_left(&r), 0);
    ck_assert_int_eq(got.controller_epoch, 5);
    ck_assert_int_eq(got.broker_epoch, 77);
    kz_arena_reset(&a);

    ck_assert_int_eq(kb_client_connects(c), 1);
    kb_client_free(c);
    srv_stop(&s);
    event_base_free(base);
}
END_TEST

/* Pipelined requests complete in order; max_inflight 1 holds the second
 * back until the first is answered. */
START_TEST(pipelined_in_order)
{
    for (int win = 0; win <= 1; win++) {
        struct event_base *base = event_base_new();
        srv s = { 0 };
        srv_start(&s, base, 0);
        kb_client_cfg cfg = base_cfg(s.fb.port, false);
        cfg.max_inflight = win;
        kb_client *c = kb_client_new(base, NULL, &cfg);
        done_rec d = { 0 };
        send_ctx sc[5];
        for (int i = 0; i < 5; i++) {
            sc[i] = (send_ctx){ &d, i, NULL, NULL };
            ck_assert_int_eq(send_av(c, (int16_t)(i % 4), &sc[i]), KB_CLIENT_OK);
        }
        ck_assert_int_eq(kb_client_pending(c), 5);
        run_until(base, &d.n, 5, 3000);
        ck_assert_int_eq(d.n, 5);
        for (int i = 0; i < 5; i++) {
            ck_assert_int_eq(d.err[i], KB_CLIENT_OK);
            ck_assert_int_eq(d.tag[i], i);
            ck_assert_int_eq(d.a[i], i);
            ck_assert_int_eq(d.b[i], i);
            ck_assert_int_eq(fb_corr(&s.fb, i), i);
            ck_assert_int_eq(kz_load_be16(s.fb.frame[i] + 2), i % 4); /* the version asked for */
        }
        kb_client_free(c);
        srv_stop(&s);
        event_base_free(base);
    }
}
END_TEST

/* A wrong correlation id drops the connection; with resend the request is
 * written again on a new connection with a new correlation id. */
START_TEST(bad_corr_resends)
{
    struct event_base *base = event_base_new();
    srv s = { 0 };
    s.script[0] = ACT_BADCORR;
    s.nscript = 1;
    srv_start(&s, base, 0);
    kb_client_cfg cfg = base_cfg(s.fb.port, true);
    kb_client *c = kb_client_new(base, NULL, &cfg);
    done_rec d = { 0 };
    send_ctx sc = { &d, 1, NULL, NULL };
    ck_assert_int_eq(send_av(c, 1, &sc), KB_CLIENT_OK);
    run_until(base, &d.n, 1, 3000);
    ck_assert_int_eq(d.n, 1);
    ck_assert_int_eq(d.err[0], KB_CLIENT_OK);
    ck_assert_int_eq(s.fb.n, 2);
    ck_assert_int_eq(s.fb.conn[0], 0);
    ck_assert_int_eq(s.fb.conn[1], 1);
    ck_assert_int_eq(fb_corr(&s.fb, 0), 0);
    ck_assert_int_eq(fb_corr(&s.fb, 1), 1);
    /* same request bytes apart from the correlation id */
    ck_assert_int_eq(s.fb.len[0], s.fb.len[1]);
    ck_assert_mem_eq(s.fb.frame[0], s.fb.frame[1], 4);
    ck_assert_mem_eq(s.fb.frame[0] + 8, s.fb.frame[1] + 8, s.fb.len[0] - 8);
    ck_assert_int_eq(d.a[0], 1);
    ck_assert_int_eq(kb_client_connects(c), 2);
    kb_client_free(c);
    srv_stop(&s);
    event_base_free(base);
}
END_TEST

/* The peer closes with three requests pending: without resend all three
 * fail (in order) with EDISCONNECTED; with resend all three are answered. */
START_TEST(peer_close)
{
    for (int resend = 0; resend <= 1; resend++) {
        struct event_base *base = event_base_new();
        srv s = { 0 };
        s.script[0] = ACT_IGNORE;
        s.script[1] = ACT_CLOSE;
        s.nscript = 2;
        srv_start(&s, base, 0);
        kb_client_cfg cfg = base_cfg(s.fb.port, resend);
        kb_client *c = kb_client_new(base, NULL, &cfg);
        done_rec d = { 0 };
        send_ctx sc[3];
        for (int i = 0; i < 3; i++) {
            sc[i] = (send_ctx){ &d, i, NULL, NULL };
            ck_assert_int_eq(send_av(c, 0, &sc[i]), KB_CLIENT_OK);
        }
        run_until(base, &d.n, 3, 3000);
        ck_assert_int_eq(d.n, 3);
        for (int i = 0; i < 3; i++) {
            ck_assert_int_eq(d.tag[i], i);
            ck_assert_int_eq(d.err[i], resend ? KB_CLIENT_OK : KB_CLIENT_EDISCONNECTED);
        }
        if (resend) {
            /* the second connection saw the three again, corr ids continuing */
            ck_assert_int_ge(s.fb.n, 5);
            int first2 = -1;
            for (int i = 0; i < s.fb.n; i++)
                if (s.fb.conn[i] == 1 && first2 < 0)
                    first2 = i;
            ck_assert_int_ge(first2, 2);
            ck_assert_int_eq(fb_corr(&s.fb, first2), 3);
            ck_assert_int_eq(d.b[0], 3);
            ck_assert_int_eq(d.b[2], 5);
            ck_assert_int_eq(kb_client_get_state(c), KB_CLIENT_UP);
        } else {
            ck_assert_int_eq(kb_client_pending(c), 0);
            ck_assert_int_eq(kb_client_get_state(c), KB_CLIENT_IDLE);
            /* a later send reconnects */
            send_ctx again = { &d, 9, NULL, NULL };
            ck_assert_int_eq(send_av(c, 0, &again), KB_CLIENT_OK);
            run_until(base, &d.n, 4, 3000);
            ck_assert_int_eq(d.err[3], KB_CLIENT_OK);
            ck_assert_int_eq(kb_client_connects(c), 2);
        }
        kb_client_free(c);
        srv_stop(&s);
        event_base_free(base);
    }
}
END_TEST

/* A response announcing more than max_frame bytes drops the connection. */
START_TEST(oversized_frame)
{
    struct event_base *base = event_base_new();
    srv s = { 0 };
    s.script[0] = ACT_HUGE;
    s.nscript = 1;
    srv_start(&s, base, 0);
    kb_client_cfg cfg = base_cfg(s.fb.port, false);
    kb_client *c = kb_client_new(base, NULL, &cfg);
    done_rec d = { 0 };
    send_ctx sc = { &d, 0, NULL, NULL };
    ck_assert_int_eq(send_av(c, 0, &sc), KB_CLIENT_OK);
    run_until(base, &d.n, 1, 3000);
    ck_assert_int_eq(d.err[0], KB_CLIENT_EDISCONNECTED);
    ck_assert_int_eq(kb_client_get_state(c), KB_CLIENT_IDLE);
    kb_client_free(c);
    srv_stop(&s);
    event_base_free(base);
}
END_TEST

/* A frame whose body does not decode completes with EDECODE; the stream
 * stays in step, so the next request on the same connection succeeds. */
START_TEST(undecodable_body)
{
    struct event_base *base = event_base_new();
    srv s = { 0 };
    s.script[0] = ACT_GARBAGE;
    s.nscript = 1;
    srv_start(&s, base, 0);
    kb_client_cfg cfg = base_cfg(s.fb.port, false);
    kb_client *c = kb_client_new(base, NULL, &cfg);
    done_rec d = { 0 };
    send_ctx sc[2] = { { &d, 0, NULL, NULL }, { &d, 1, NULL, NULL } };
    ck_assert_int_eq(send_av(c, 0, &sc[0]), KB_CLIENT_OK);
    ck_assert_int_eq(send_av(c, 0, &sc[1]), KB_CLIENT_OK);
    run_until(base, &d.n, 2, 3000);
    ck_assert_int_eq(d.err[0], KB_CLIENT_EDECODE);
    ck_assert_int_eq(d.err[1], KB_CLIENT_OK);
    ck_assert_int_eq(d.b[1], 1);
    ck_assert_int_eq(kb_client_connects(c), 1);
    kb_client_free(c);
    srv_stop(&s);
    event_base_free(base);
}
END_TEST

/* Nothing listens at first: the client backs off and retries until a
 * listener appears on the port, then the queued request goes through. */
START_TEST(reconnect_backoff)
{
    struct event_base *base = event_base_new();
    srv probe = { 0 };
    srv_start(&probe, base, 0);
    int port = probe.fb.port;
    srv_stop(&probe);
    kb_client_cfg cfg = base_cfg(port, true);
    kb_client *c = kb_client_new(base, NULL, &cfg);
    done_rec d = { 0 };
    send_ctx sc = { &d, 0, NULL, NULL };
    ck_assert_int_eq(send_av(c, 0, &sc), KB_CLIENT_OK);
    run_for(base, 150);
    ck_assert_int_eq(d.n, 0);
    ck_assert_int_eq(kb_client_connects(c), 0);
    kb_client_state st = kb_client_get_state(c);
    ck_assert(st == KB_CLIENT_BACKOFF || st == KB_CLIENT_CONNECTING);
    srv s = { 0 };
    srv_start(&s, base, port);
    run_until(base, &d.n, 1, 3000);
    ck_assert_int_eq(d.err[0], KB_CLIENT_OK);
    ck_assert_int_eq(kb_client_connects(c), 1);
    ck_assert_int_eq(s.fb.n, 1);
    kb_client_free(c);
    srv_stop(&s);
    event_base_free(base);
}
END_TEST

/* A request left unanswered past request_timeout_ms drops the connection. */
START_TEST(request_timeout)
{
    struct event_base *base = event_base_new();
    srv s = { 0 };
    s.script[0] = ACT_IGNORE;
    s.nscript = 1;
    srv_start(&s, base, 0);
    kb_client_cfg cfg = base_cfg(s.fb.port, false);
    cfg.request_timeout_ms = 100;
    kb_client *c = kb_client_new(base, NULL, &cfg);
    done_rec d = { 0 };
    send_ctx sc = { &d, 0, NULL, NULL };
    ck_assert_int_eq(send_av(c, 0, &sc), KB_CLIENT_OK);
    run_for(base, 50);
    ck_assert_int_eq(d.n, 0);
    run_until(base, &d.n, 1, 3000);
    ck_assert_int_eq(d.err[0], KB_CLIENT_EDISCONNECTED);
    kb_client_free(c);
    srv_stop(&s);
    event_base_free(base);
}
END_TEST

/* Freeing with pending requests completes them with ECLOSED, in order;
 * freeing from inside a completion is deferred safely (ASan checks it). */
START_TEST(free_pending_and_from_callback)
{
    struct event_base *base = event_base_new();
    srv s = { 0 };
    s.script[1] = ACT_IGNORE;
    s.nscript = 2;
    srv_start(&s, base, 0);
    kb_client_cfg cfg = base_cfg(s.fb.port, false);
    kb_client *c = kb_client_new(base, NULL, &cfg);
    done_rec d = { 0 };
    send_ctx sc[3] = { { &d, 0, &c, NULL }, { &d, 1, NULL, NULL }, { &d, 2, NULL, NULL } };
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(send_av(c, 0, &sc[i]), KB_CLIENT_OK);
    /* the first completion frees the client; the two others then get ECLOSED */
    run_until(base, &d.n, 3, 3000);
    ck_assert_int_eq(d.n, 3);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(d.err[0], KB_CLIENT_OK);
    ck_assert_int_eq(d.err[1], KB_CLIENT_ECLOSED);
    ck_assert_int_eq(d.err[2], KB_CLIENT_ECLOSED);
    ck_assert_int_eq(d.tag[1], 1);
    ck_assert_int_eq(d.tag[2], 2);

    /* free outside any callback, one request never answered */
    kb_client *c2 = kb_client_new(base, NULL, &cfg);
    done_rec d2 = { 0 };
    send_ctx s2 = { &d2, 0, NULL, NULL };
    s.script[s.fb.n] = ACT_IGNORE;
    s.nscript = s.fb.n + 1;
    ck_assert_int_eq(send_av(c2, 0, &s2), KB_CLIENT_OK);
    int before = s.fb.n;
    run_until(base, &s.fb.n, before + 1, 3000);
    ck_assert_int_eq(d2.n, 0);
    kb_client_free(c2);
    ck_assert_int_eq(d2.n, 1);
    ck_assert_int_eq(d2.err[0], KB_CLIENT_ECLOSED);
    srv_stop(&s);
    event_base_free(base);
}
END_TEST

START_TEST(bad_arguments)
{
    struct event_base *base = event_base_new();
    kb_client_cfg cfg = base_cfg(1, false);
    kb_client *c = kb_client_new(base, NULL, &cfg);
    done_rec d = { 0 };
    send_ctx sc = { &d, 0, NULL, NULL };
    ck_assert_int_eq(send_av(c, 4, &sc), KB_CLIENT_EINVAL); /* ApiVersions has 0..3 */
    ck_assert_int_eq(send_av(c, -1, &sc), KB_CLIENT_EINVAL);
    ck_assert_int_eq(kb_client_send(c, &kz_kmsg_ApiVersion, &kz_kmsg_ApiVersionsResponse, 0, &sc, on_av, &sc),
                     KB_CLIENT_EINVAL); /* a struct, not a request */
    ck_assert_int_eq(kb_client_pending(c), 0);
    ck_assert_int_eq(kb_client_get_state(c), KB_CLIENT_IDLE);
    kb_client_free(c);
    kb_client_free(NULL);
    ck_assert_int_eq(d.n, 0);
    event_base_free(base);
}
END_TEST

static Suite *client_suite(void)
{
    Suite *s = suite_create("client");
    TCase *tc = tcase_create("loopback");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, frames_and_decodes);
    tcase_add_test(tc, pipelined_in_order);
    tcase_add_test(tc, bad_corr_resends);
    tcase_add_test(tc, peer_close);
    tcase_add_test(tc, oversized_frame);
    tcase_add_test(tc, undecodable_body);
    tcase_add_test(tc, reconnect_backoff);
    tcase_add_test(tc, request_timeout);
    tcase_add_test(tc, free_pending_and_from_callback);
    tcase_add_test(tc, bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    kz_log_set_level(KZ_LOG_WARN);
    return ut_run(client_suite());
}
