/* test/unit/check_kbnet.c -- the broker's connection layer and metadata cache.
 *
 * kb_network: a real listener on 127.0.0.1 (port 0) and a blocking client
 * socket, driven by running the event loop until a bounded condition holds.
 * Checked: pipelined requests are dispatched one at a time and answered in
 * order; a request answered later (from a timer) holds back the next one;
 * parked requests let the next ones through, and answers given out of order
 * still leave in request order, also when the client goes away first; a
 * frame above socket.request.max.bytes, a negative or tiny size close the
 * connection; acks=0-style finishes send nothing; responses with file ranges
 * carry the file's bytes.
 * kb_metadata_cache: UpdateMetadata v7 and v4 shapes, LeaderDuringDelete. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "kb_metadata_cache.h"
#include "kb_network.h"
#include "kz_kmsgs.h"
#include "unit_util.h"

/* ---- a test server: answers ApiVersions-shaped bodies, defers on request ---- */

typedef struct tsrv {
    struct event_base *base;
    kb_net *net;
    int port;
    int dispatched;
    int32_t order[64];     /* correlation ids in dispatch order */
    kb_req *deferred;      /* a request answered by the timer */
    struct event *timer;
    kb_req *parked[8];     /* parked requests, answered last first by park_timer */
    int nparked;
    struct event *park_timer;
    int file_fd;           /* for the file-range response */
} tsrv;

static void tsrv_answer(kb_req *req)
{
    kz_ApiVersionsResponse r;
    memset(&r, 0, sizeof r);
    kz_ApiVersion v = { 18, 0, 3, 0 };
    r.api_keys.n = 1;
    r.api_keys.v = &v;
    r.error_code = (int16_t)(req->hdr.corr_id & 0x7fff);
    kb_req_reply(req, &kz_kmsg_ApiVersionsResponse, 0, &r);
}

static void tsrv_on_timer(evutil_socket_t fd, short what, void *arg)
{
    tsrv *t = arg;
    (void)fd;
    (void)what;
    kb_req *req = t->deferred;
    t->deferred = NULL;
    tsrv_answer(req);
}

/* Answers the parked requests, the newest first. */
static void tsrv_on_park_timer(evutil_socket_t fd, short what, void *arg)
{
    tsrv *t = arg;
    (void)fd;
    (void)what;
    while (t->nparked > 0)
        tsrv_answer(t->parked[--t->nparked]);
}

/* corr 1000..1999: deferred by 50 ms; 2000..: finished without an answer;
 * 3000..: answered with records from t->file_fd; 4000..: parked, answered
 * by the park timer (armed by the caller). */
static void tsrv_dispatch(void *ctx, kb_req *req)
{
    tsrv *t = ctx;
    kz_rd r = kz_rd_init(req->frame, req->frame_len);
    ck_assert_int_eq(kz_kreq_hdr_decode(&r, 1, &req->hdr), 0);
    t->order[t->dispatched++ % 64] = req->hdr.corr_id;
    ck_assert_ptr_null(t->deferred); /* one request at a time per connection */
    if (req->hdr.corr_id >= 4000) {
        ck_assert_int_lt(t->nparked, 8);
        t->parked[t->nparked++] = req;
        kb_req_park(req);
    } else if (req->hdr.corr_id >= 3000) {
        kz_FetchResponse fr;
        kz_FetchableTopicResponse tr;
        kz_FetchablePartitionResponse pr;
        memset(&fr, 0, sizeof fr);
        memset(&tr, 0, sizeof tr);
        memset(&pr, 0, sizeof pr);
        tr.topic = KZ_STR_LIT("t");
        tr.partition_responses.n = 1;
        tr.partition_responses.v = &pr;
        pr.record_set.fd = t->file_fd;
        pr.record_set.foff = 2;
        pr.record_set.flen = 5;
        pr.aborted_transactions.n = -1;
        fr.responses.n = 1;
        fr.responses.v = &tr;
        kb_req_reply(req, &kz_kmsg_FetchResponse, 4, &fr);
    } else if (req->hdr.corr_id >= 2000) {
        kb_req_finish(req);
    } else if (req->hdr.corr_id >= 1000) {
        t->deferred = req;
        struct timeval tv = { 0, 50000 };
        evtimer_add(t->timer, &tv);
    } else {
        tsrv_answer(req);
    }
}

static void tsrv_init(tsrv *t, int32_t max_bytes)
{
    memset(t, 0, sizeof *t);
    t->base = event_base_new();
    kb_net_cfg cfg = { max_bytes, -1, -1, 0 };
    t->net = kb_net_new(t->base, &cfg, tsrv_dispatch, t);
    char err[128];
    ck_assert_int_eq(kb_net_listen(t->net, "PLAINTEXT", "127.0.0.1", 0, &t->port, err, sizeof err), 0);
    ck_assert_int_gt(t->port, 0);
    t->timer = evtimer_new(t->base, tsrv_on_timer, t);
    t->park_timer = evtimer_new(t->base, tsrv_on_park_timer, t);
    t->file_fd = -1;
}

static void tsrv_free(tsrv *t)
{
    kb_net_free(t->net);
    while (t->nparked > 0) /* their connections are gone: answers are dropped */
        tsrv_answer(t->parked[--t->nparked]);
    event_free(t->timer);
    event_free(t->park_timer);
    event_base_free(t->base);
    if (t->file_fd >= 0)
        close(t->file_fd);
}

static int client_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

static void send_frame(int fd, int32_t corr, int32_t size_override)
{
    kz_wr w = KZ_WR_INIT;
    kz_kreq_hdr h = { 18, 0, corr, KZ_STR_LIT("t") };
    kz_wr_i32(&w, 0);
    kz_kreq_hdr_encode(&w, 1, &h);
    kz_wr_patch_i32(&w, 0, size_override ? size_override : (int32_t)(w.len - 4));
    ck_assert_int_eq(write(fd, w.base, w.len), (ssize_t)w.len);
    kz_wr_free(&w);
}

/* Runs the loop until @want bytes arrived at @fd, or EOF, or 5 s. */
static size_t pump_read(tsrv *t, int fd, uint8_t *buf, size_t want, bool *eof)
{
    size_t got = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    *eof = false;
    while (got < want) {
        event_base_loop(t->base, EVLOOP_NONBLOCK);
        ssize_t n = read(fd, buf + got, want - got);
        if (n > 0)
            got += (size_t)n;
        else if (n == 0) {
            *eof = true;
            break;
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec > 5)
            break;
        if (n < 0)
            poll(NULL, 0, 1);
    }
    return got;
}

/* One ApiVersions v0 answer with our test body is 4 + 4 + 2 + 4 + 6 = 20 bytes. */
#define ANSWER_LEN 20

START_TEST(pipelined_in_order)
{
    tsrv t;
    tsrv_init(&t, 1 << 20);
    int fd = client_connect(t.port);
    /* 5 frames in one write burst, the middle one deferred by a timer. */
    send_frame(fd, 1, 0);
    send_frame(fd, 2, 0);
    send_frame(fd, 1003, 0);
    send_frame(fd, 4, 0);
    send_frame(fd, 5, 0);
    uint8_t buf[5 * ANSWER_LEN];
    bool eof;
    ck_assert_uint_eq(pump_read(&t, fd, buf, sizeof buf, &eof), sizeof buf);
    int32_t want[] = { 1, 2, 1003, 4, 5 };
    for (int i = 0; i < 5; i++) {
        const uint8_t *a = buf + i * ANSWER_LEN;
        ck_assert_int_eq((int32_t)kz_load_be32(a), ANSWER_LEN - 4);
        ck_assert_int_eq((int32_t)kz_load_be32(a + 4), want[i]);       /* correlation id */
        ck_assert_int_eq((int16_t)kz_load_be16(a + 8), want[i] & 0x7fff); /* our marker */
        ck_assert_int_eq(t.order[i], want[i]);
    }
    ck_assert_int_eq(t.dispatched, 5);
    close(fd);
    tsrv_free(&t);
}
END_TEST

START_TEST(parked_let_next_through)
{
    tsrv t;
    tsrv_init(&t, 1 << 20);
    int fd = client_connect(t.port);
    send_frame(fd, 4001, 0);
    send_frame(fd, 4002, 0);
    send_frame(fd, 5, 0);
    send_frame(fd, 4003, 0);
    /* all four are taken while the parked ones wait; the plain one is answered at once,
     * yet nothing leaves before the first request's answer */
    for (int i = 0; i < 2000 && t.dispatched < 4; i++) {
        event_base_loop(t.base, EVLOOP_NONBLOCK);
        poll(NULL, 0, 1);
    }
    ck_assert_int_eq(t.dispatched, 4);
    ck_assert_int_eq(t.nparked, 3);
    uint8_t buf[4 * ANSWER_LEN];
    ck_assert_int_eq(read(fd, buf, sizeof buf), -1);
    ck_assert_int_eq(errno, EAGAIN);
    struct timeval tv = { 0, 20000 };
    evtimer_add(t.park_timer, &tv); /* answers 4003, 4002, 4001 in that order */
    bool eof;
    ck_assert_uint_eq(pump_read(&t, fd, buf, sizeof buf, &eof), sizeof buf);
    int32_t want[] = { 4001, 4002, 5, 4003 };
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq((int32_t)kz_load_be32(buf + i * ANSWER_LEN + 4), want[i]);
    /* parked requests whose client left are answered into the void */
    send_frame(fd, 4004, 0);
    send_frame(fd, 4005, 0);
    for (int i = 0; i < 2000 && t.dispatched < 6; i++) {
        event_base_loop(t.base, EVLOOP_NONBLOCK);
        poll(NULL, 0, 1);
    }
    ck_assert_int_eq(t.dispatched, 6);
    close(fd);
    for (int i = 0; i < 50 && kb_net_conn_count(t.net) > 0; i++) {
        event_base_loop(t.base, EVLOOP_NONBLOCK);
        poll(NULL, 0, 2);
    }
    ck_assert_int_eq(kb_net_conn_count(t.net), 0);
    tsrv_on_park_timer(-1, 0, &t);
    tsrv_free(&t);
}
END_TEST

/* Writes @n bytes to the non-blocking @fd, running the server's loop
 * whenever the socket is full. */
static void write_pumping(tsrv *t, int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k > 0) {
            p += k;
            n -= (size_t)k;
            continue;
        }
        ck_assert(k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
        event_base_loop(t->base, EVLOOP_NONBLOCK);
    }
}

/* A frame far above the direct-read threshold, sent in pieces with the loop
 * running in between, then a small one right behind it. */
START_TEST(large_frame_in_pieces)
{
    tsrv t;
    tsrv_init(&t, 4 << 20);
    int fd = client_connect(t.port);
    size_t size = 3 * 1024 * 1024 + 17;
    uint8_t *f = calloc(1, 4 + size);
    kz_wr w = KZ_WR_INIT;
    kz_kreq_hdr h = { 18, 0, 42, KZ_STR_LIT("big") };
    kz_kreq_hdr_encode(&w, 1, &h);
    kz_store_be32(f, (uint32_t)size);
    memcpy(f + 4, w.base, w.len);
    kz_wr_free(&w);
    size_t cuts[] = { 3, 100, 70000, 1500000, 4 + size };
    size_t at = 0;
    for (int i = 0; i < 5; i++) {
        write_pumping(&t, fd, f + at, cuts[i] - at);
        at = cuts[i];
        for (int k = 0; k < 20; k++)
            event_base_loop(t.base, EVLOOP_NONBLOCK);
        ck_assert_int_eq(t.dispatched, i == 4 ? 1 : 0);
    }
    free(f);
    send_frame(fd, 43, 0);
    uint8_t buf[2 * ANSWER_LEN];
    bool eof;
    ck_assert_uint_eq(pump_read(&t, fd, buf, sizeof buf, &eof), sizeof buf);
    ck_assert_int_eq((int32_t)kz_load_be32(buf + 4), 42);
    ck_assert_int_eq((int32_t)kz_load_be32(buf + ANSWER_LEN + 4), 43);
    ck_assert_int_eq(t.dispatched, 2);
    close(fd);
    tsrv_free(&t);
}
END_TEST

START_TEST(finish_sends_nothing)
{
    tsrv t;
    tsrv_init(&t, 1 << 20);
    int fd = client_connect(t.port);
    send_frame(fd, 2001, 0);
    send_frame(fd, 7, 0);
    uint8_t buf[ANSWER_LEN];
    bool eof;
    ck_assert_uint_eq(pump_read(&t, fd, buf, sizeof buf, &eof), sizeof buf);
    ck_assert_int_eq((int32_t)kz_load_be32(buf + 4), 7); /* only the second one answered */
    ck_assert_int_eq(t.dispatched, 2);
    close(fd);
    tsrv_free(&t);
}
END_TEST

START_TEST(bad_sizes_close)
{
    int32_t sizes[] = { 1 << 20, -5, 3 };
    for (int i = 0; i < 3; i++) {
        tsrv t;
        tsrv_init(&t, 1000);
        int fd = client_connect(t.port);
        send_frame(fd, 9, sizes[i]);
        uint8_t buf[8];
        bool eof;
        ck_assert_uint_eq(pump_read(&t, fd, buf, sizeof buf, &eof), 0);
        ck_assert(eof);
        ck_assert_int_eq(t.dispatched, 0);
        ck_assert_int_eq(kb_net_conn_count(t.net), 0);
        close(fd);
        tsrv_free(&t);
    }
}
END_TEST

START_TEST(file_ranges_are_sent)
{
    tsrv t;
    tsrv_init(&t, 1 << 20);
    char path[] = "/tmp/kbnetXXXXXX";
    t.file_fd = mkstemp(path);
    ck_assert_int_ge(t.file_fd, 0);
    unlink(path);
    ck_assert_int_eq(write(t.file_fd, "..HELLO..", 9), 9);
    int fd = client_connect(t.port);
    send_frame(fd, 3000, 0);
    /* Expected: the same response encoded with the bytes in memory. */
    kz_FetchResponse fr;
    kz_FetchableTopicResponse tr;
    kz_FetchablePartitionResponse pr;
    memset(&fr, 0, sizeof fr);
    memset(&tr, 0, sizeof tr);
    memset(&pr, 0, sizeof pr);
    tr.topic = KZ_STR_LIT("t");
    tr.partition_responses.n = 1;
    tr.partition_responses.v = &pr;
    pr.record_set.mem = KZ_STR_LIT("HELLO");
    pr.aborted_transactions.n = -1;
    fr.responses.n = 1;
    fr.responses.v = &tr;
    kz_wr w = KZ_WR_INIT;
    kz_wr_i32(&w, 0);
    kz_kresp_hdr_encode(&w, 0, 3000);
    kz_kmsg_encode(&kz_kmsg_FetchResponse, 4, &fr, &w);
    kz_wr_patch_i32(&w, 0, (int32_t)(w.len - 4));
    uint8_t buf[256];
    bool eof;
    ck_assert_uint_lt(w.len, sizeof buf);
    ck_assert_uint_eq(pump_read(&t, fd, buf, w.len, &eof), w.len);
    ck_assert_mem_eq(buf, w.base, w.len);
    kz_wr_free(&w);
    close(fd);
    tsrv_free(&t);
}
END_TEST

/* ---- metadata cache ---- */

START_TEST(mdc_update_v7_and_delete)
{
    kb_mdc *c = kb_mdc_new();
    kz_UpdateMetadataRequest rq;
    memset(&rq, 0, sizeof rq);
    kz_UpdateMetadataEndpoint ep[2] = {
        { 9092, KZ_STR_LIT("h1"), KZ_STR_LIT("PLAINTEXT"), 0, 0 },
        { 9093, KZ_STR_LIT("h2"), KZ_STR_LIT("PLAINTEXT"), 0, 0 },
    };
    kz_UpdateMetadataBroker b[2];
    memset(b, 0, sizeof b);
    b[0].id = 2;
    b[0].endpoints.n = 1;
    b[0].endpoints.v = &ep[1];
    b[0].rack = KZ_STR_NULL;
    b[1].id = 1;
    b[1].endpoints.n = 1;
    b[1].endpoints.v = &ep[0];
    b[1].rack = KZ_STR_LIT("r1");
    int32_t reps[] = { 1, 2 }, isr[] = { 1 };
    kz_UpdateMetadataPartitionState ps[2];
    memset(ps, 0, sizeof ps);
    for (int i = 0; i < 2; i++) {
        ps[i].partition_index = 1 - i;
        ps[i].leader = 1;
        ps[i].leader_epoch = 3;
        ps[i].replicas = (kz_kai32){ 2, reps };
        ps[i].isr = (kz_kai32){ 1, isr };
    }
    kz_UpdateMetadataTopicState ts;
    memset(&ts, 0, sizeof ts);
    ts.topic_name = KZ_STR_LIT("orders");
    ts.topic_id.b[0] = 7;
    ts.partition_states.n = 2;
    ts.partition_states.v = ps;
    rq.controller_id = 2;
    rq.live_brokers.n = 2;
    rq.live_brokers.v = b;
    rq.topic_states.n = 1;
    rq.topic_states.v = &ts;
    ck_assert_int_eq(kb_mdc_update(c, &rq, 7), 0);
    ck_assert_int_eq(kb_mdc_controller(c), 2);
    ck_assert_int_eq(kb_mdc_broker_count(c), 2);
    ck_assert_int_eq(kb_mdc_broker_at(c, 0)->id, 1); /* sorted by id */
    ck_assert_str_eq(kb_mdc_broker_at(c, 0)->rack, "r1");
    ck_assert_str_eq(kb_mdc_endpoint(kb_mdc_broker(c, 2), "PLAINTEXT")->host, "h2");
    ck_assert_ptr_null(kb_mdc_endpoint(kb_mdc_broker(c, 2), "SSL"));
    const kb_md_topic *t = kb_mdc_topic(c, "orders", 6);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->nparts, 2);
    ck_assert_int_eq(t->id.b[0], 7);
    const kb_md_part *p = kb_mdc_part(c, "orders", 6, 1);
    ck_assert_int_eq(p->leader_epoch, 3);
    ck_assert_int_eq(p->replicas.n, 2);
    ck_assert_int_eq(p->isr.v[0], 1);
    ck_assert_ptr_null(kb_mdc_part(c, "orders", 6, 2));
    ck_assert_ptr_null(kb_mdc_topic(c, "order", 5));
    /* A broker leaves; partition 0 goes to LeaderDuringDelete, then 1: topic gone. */
    rq.live_brokers.n = 1;
    ps[1].leader = -2;
    ts.partition_states.n = 1;
    ts.partition_states.v = &ps[1];
    ck_assert_int_eq(kb_mdc_update(c, &rq, 7), 0);
    ck_assert_int_eq(kb_mdc_broker_count(c), 1);
    ck_assert(!kb_mdc_alive(c, 1));
    ck_assert_ptr_null(kb_mdc_part(c, "orders", 6, 0));
    ck_assert_ptr_nonnull(kb_mdc_part(c, "orders", 6, 1));
    ts.partition_states.v = &ps[0];
    ps[0].leader = -2;
    ck_assert_int_eq(kb_mdc_update(c, &rq, 7), 0);
    ck_assert_ptr_null(kb_mdc_topic(c, "orders", 6));
    ck_assert_int_eq(kb_mdc_topic_count(c), 0);
    kb_mdc_free(c);
}
END_TEST

START_TEST(mdc_update_v4_ungrouped)
{
    kb_mdc *c = kb_mdc_new();
    kz_UpdateMetadataRequest rq;
    memset(&rq, 0, sizeof rq);
    kz_UpdateMetadataEndpoint ep = { 9092, KZ_STR_LIT("h"), KZ_STR_NULL, 0, 0 };
    kz_UpdateMetadataBroker b;
    memset(&b, 0, sizeof b);
    b.id = 5;
    b.endpoints.n = 1;
    b.endpoints.v = &ep;
    kz_UpdateMetadataPartitionState ps[3];
    memset(ps, 0, sizeof ps);
    const char *names[3] = { "b", "a", "b" };
    for (int i = 0; i < 3; i++) {
        ps[i].topic_name = kz_str_c(names[i]);
        ps[i].partition_index = i == 2 ? 3 : 0;
        ps[i].leader = 5;
    }
    rq.live_brokers.n = 1;
    rq.live_brokers.v = &b;
    rq.ungrouped_partition_states.n = 3;
    rq.ungrouped_partition_states.v = ps;
    ck_assert_int_eq(kb_mdc_update(c, &rq, 2), 0);
    /* before v3 the listener is named after the security protocol */
    ck_assert_ptr_nonnull(kb_mdc_endpoint(kb_mdc_broker(c, 5), "PLAINTEXT"));
    ck_assert_int_eq(kb_mdc_topic_count(c), 2);
    ck_assert_str_eq(kb_mdc_topic_at(c, 0)->name, "a"); /* listed by name */
    const kb_md_topic *t = kb_mdc_topic(c, "b", 1);
    ck_assert_int_eq(t->nparts, 4);
    ck_assert(t->parts[0].present && !t->parts[1].present && t->parts[3].present);
    ck_assert_ptr_null(kb_mdc_part(c, "b", 1, 1));
    kb_mdc_free(c);
}
END_TEST

static Suite *kbnet_suite(void)
{
    Suite *s = suite_create("kbnet");
    TCase *tc = tcase_create("network");
    tcase_add_test(tc, pipelined_in_order);
    tcase_add_test(tc, parked_let_next_through);
    tcase_add_test(tc, large_frame_in_pieces);
    tcase_add_test(tc, finish_sends_nothing);
    tcase_add_test(tc, bad_sizes_close);
    tcase_add_test(tc, file_ranges_are_sent);
    suite_add_tcase(s, tc);
    tc = tcase_create("metadata_cache");
    tcase_add_test(tc, mdc_update_v7_and_delete);
    tcase_add_test(tc, mdc_update_v4_ungrouped);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ut_run(kbnet_suite());
}
