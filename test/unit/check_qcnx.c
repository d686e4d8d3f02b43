/* test/unit/check_qcnx.c -- QuorumPacket framing (zkd_qcnx): packets that
 * arrive a byte at a time, auth vectors, null data, the raw snapshot mode,
 * and malformed streams that must close the connection. */
#include <check.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kz_buf.h"
#include "zkd_qcnx.h"
#include "unit_util.h"

#define MAXP 64

typedef struct rx {
    int n;
    int32_t type[MAXP];
    int64_t zxid[MAXP];
    size_t len[MAXP];
    bool null[MAXP];
    char data[MAXP][64];
    size_t auth_len[MAXP];
    bool closed;
    char why[64];
    size_t raw_want; /* raw mode: bytes to take before leaving it */
    size_t raw_got;
} rx;

static void on_packet(void *ctx, zkd_qcnx *q, const zkd_qpkt *p)
{
    rx *r = ctx;
    (void)q;
    ck_assert_int_lt(r->n, MAXP);
    r->type[r->n] = p->type;
    r->zxid[r->n] = p->zxid;
    r->len[r->n] = p->len;
    r->null[r->n] = p->data_null;
    memcpy(r->data[r->n], p->data, p->len < 63 ? p->len : 63);
    r->auth_len[r->n] = p->auth_len;
    r->n++;
    if (p->type == ZKD_QP_SNAP)
        zkd_qcnx_set_raw(q, true);
}

static long on_raw(void *ctx, zkd_qcnx *q, const uint8_t *p, size_t len)
{
    rx *r = ctx;
    (void)p;
    size_t take = r->raw_want - r->raw_got;
    if (len < take) {
        r->raw_got += len;
        return (long)len;
    }
    r->raw_got += take;
    zkd_qcnx_set_raw(q, false);
    return (long)take;
}

static void on_close(void *ctx, zkd_qcnx *q, const char *why)
{
    rx *r = ctx;
    (void)q;
    r->closed = true;
    snprintf(r->why, sizeof r->why, "%s", why);
}

static void put_pkt(kz_wr *w, int32_t type, int64_t zxid, const char *data, int32_t len, int32_t nauth)
{
    kz_wr_i32(w, type);
    kz_wr_i64(w, zxid);
    kz_wr_i32(w, len);
    if (len > 0)
        kz_wr_bytes(w, data, (size_t)len);
    kz_wr_i32(w, nauth);
    for (int32_t i = 0; i < nauth; i++) {
        kz_wr_str(w, KZ_STR_LIT("digest"));
        kz_wr_str(w, KZ_STR_LIT("user:hash"));
    }
}

/* Feeds @w to a zkd_qcnx, @step bytes per loop turn, and collects. */
static void feed(const kz_wr *w, size_t step, rx *r, size_t max_packet)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct event_base *base = event_base_new();
    zkd_qcnx_cb cb = { on_packet, on_raw, on_close, r };
    zkd_qcnx *q = zkd_qcnx_new(base, sv[0], &cb, max_packet);
    ck_assert_ptr_nonnull(q);
    for (size_t off = 0; off < w->len && !r->closed; off += step) {
        size_t n = w->len - off < step ? w->len - off : step;
        ck_assert_int_eq(write(sv[1], w->base + off, n), (ssize_t)n);
        event_base_loop(base, EVLOOP_NONBLOCK);
        event_base_loop(base, EVLOOP_NONBLOCK);
    }
    close(sv[1]);
    for (int i = 0; i < 10 && !r->closed; i++)
        event_base_loop(base, EVLOOP_NONBLOCK);
    zkd_qcnx_free(q);
    event_base_free(base);
}

START_TEST(t01_byte_at_a_time)
{
    kz_wr w = KZ_WR_INIT;
    put_pkt(&w, ZKD_QP_PROPOSAL, 0x100000001LL, "txn-bytes", 9, 0);
    put_pkt(&w, ZKD_QP_COMMIT, 0x100000001LL, NULL, -1, 0);
    put_pkt(&w, ZKD_QP_REQUEST, -1, "req", 3, 2);
    put_pkt(&w, ZKD_QP_PING, 7, "", 0, -1);
    size_t steps[] = { 1, 3, 7, 1000 };
    for (size_t k = 0; k < 4; k++) {
        rx r = { 0 };
        feed(&w, steps[k], &r, 1024);
        ck_assert_int_eq(r.n, 4);
        ck_assert_int_eq(r.type[0], ZKD_QP_PROPOSAL);
        ck_assert(r.zxid[0] == 0x100000001LL);
        ck_assert_int_eq(r.len[0], 9);
        ck_assert_str_eq(r.data[0], "txn-bytes");
        ck_assert_int_eq(r.type[1], ZKD_QP_COMMIT);
        ck_assert(r.null[1] && r.len[1] == 0);
        ck_assert_int_eq(r.type[2], ZKD_QP_REQUEST);
        ck_assert(r.zxid[2] == -1);
        ck_assert_int_eq(r.auth_len[2], 4 + 2 * (4 + 6 + 4 + 9));
        ck_assert_int_eq(r.type[3], ZKD_QP_PING);
        ck_assert(!r.null[3] && r.len[3] == 0);
        ck_assert(r.closed); /* the peer closed after the last packet */
        ck_assert_str_eq(r.why, "connection closed by peer");
    }
    kz_wr_free(&w);
}
END_TEST

START_TEST(t02_raw_snapshot_then_packets)
{
    kz_wr w = KZ_WR_INIT;
    put_pkt(&w, ZKD_QP_SNAP, 0x200000005LL, NULL, -1, 0);
    for (int i = 0; i < 300; i++)
        kz_wr_u8(&w, (uint8_t)i);
    put_pkt(&w, ZKD_QP_NEWLEADER, 0x300000000LL, "server.1=x", 10, 0);
    size_t steps[] = { 1, 50, 4096 };
    for (size_t k = 0; k < 3; k++) {
        rx r = { .raw_want = 300 };
        feed(&w, steps[k], &r, 1024);
        ck_assert_int_eq(r.raw_got, 300);
        ck_assert_int_eq(r.n, 2);
        ck_assert_int_eq(r.type[1], ZKD_QP_NEWLEADER);
        ck_assert_str_eq(r.data[1], "server.1=x");
    }
    kz_wr_free(&w);
}
END_TEST

START_TEST(t03_malformed_closes)
{
    struct {
        int32_t len, nauth;
    } bad[] = { { -2, 0 }, { 5000, 0 }, { 0, -2 }, { 0, 100000 } };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        kz_wr w = KZ_WR_INIT;
        put_pkt(&w, ZKD_QP_PING, 1, "", 0, 0); /* a good one first */
        kz_wr_i32(&w, ZKD_QP_ACK);
        kz_wr_i64(&w, 2);
        kz_wr_i32(&w, bad[k].len);
        for (int i = 0; i < 8; i++)
            kz_wr_i32(&w, bad[k].nauth);
        rx r = { 0 };
        feed(&w, 5, &r, 1024);
        ck_assert_int_eq(r.n, 1);
        ck_assert(r.closed);
        ck_assert_str_eq(r.why, "malformed quorum packet");
        kz_wr_free(&w);
    }
    /* an Id string of a negative length below -1 */
    kz_wr w = KZ_WR_INIT;
    kz_wr_i32(&w, ZKD_QP_REQUEST);
    kz_wr_i64(&w, -1);
    kz_wr_i32(&w, 0);
    kz_wr_i32(&w, 1);
    kz_wr_i32(&w, -7);
    rx r = { 0 };
    feed(&w, 1, &r, 1024);
    ck_assert_int_eq(r.n, 0);
    ck_assert_str_eq(r.why, "malformed quorum packet");
    kz_wr_free(&w);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("qcnx");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, t01_byte_at_a_time);
    tcase_add_test(tc, t02_raw_snapshot_then_packets);
    tcase_add_test(tc, t03_malformed_closes);
    suite_add_tcase(s, tc);
    return ut_run(s);
}
