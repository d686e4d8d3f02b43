/* test/unit/ctl_fixture.h -- what the controller suites (check_ctl.c,
 * check_ctl_repl.c) share: broker id lists and topics of a controller
 * context built by hand; one real zkd and one event loop per test (the
 * file-scope srv, base and tick of the including suite, set up by the
 * checked fixtures below); ZooKeeper clients that wait for their answers
 * on that loop; broker registrations; the controller's configuration; the
 * admin completion recorder.
 *
 * Locality: everything runs on the test's thread and its loop `base`.
 * Header-only: each suite is its own program. */
#ifndef CTL_FIXTURE_H
#define CTL_FIXTURE_H

#include <check.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "kb_admin.h"
#include "kb_ctl.h"
#include "kb_ctl_ctx.h"
#include "kb_zk.h"
#include "kz_zkc.h"
#include "unit_util.h"

/* ------------------------------------------------------------- context */

/* The @n broker ids that follow, in order. */
static inline kb_ctl_ids ids(int n, ...)
{
    kb_ctl_ids r = { 0 };
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        r.v[r.n++] = va_arg(ap, int32_t);
    va_end(ap);
    return r;
}

/* Fails unless @got holds exactly the @n ids of @want, in order. */
static inline void expect_ids(const kb_ctl_ids *got, int n, const int32_t *want)
{
    ck_assert_int_eq(got->n, n);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(got->v[i], want[i]);
}

/* Topic @name in @x with one partition per row of @rows (@rf replicas each). */
static inline kb_ctl_topic *add_topic(kb_ctl_ctx *x, const char *name, int32_t nparts, const int32_t *rows, int rf)
{
    kb_ctl_topic *t = kb_ctl_ctx_add_topic(x, name, nparts);
    ck_assert_ptr_nonnull(t);
    for (int32_t p = 0; p < nparts; p++) {
        t->parts[p].replicas.n = rf;
        memcpy(t->parts[p].replicas.v, rows + p * rf, (size_t)rf * sizeof(int32_t));
    }
    return t;
}

/* ------------------------------------------------- zkd and the loop */

static ut_zkd srv;
static struct event_base *base;
static struct event *tick;

#define WAIT_FOR(cond, ms) UT_WAIT_FOR(base, cond, ms)

/* Checked fixtures: the loop alone, or zkd (in /tmp/kbctlXXXXXX) and the loop. */
static inline void loop_setup(void) { base = ut_base_new(&tick); }

static inline void loop_teardown(void)
{
    ut_base_free(base, tick);
    tick = NULL;
    base = NULL;
}

static inline void zk_setup(void)
{
    ut_zkd_start(&srv, "kbctl", "");
    loop_setup();
}

static inline void zk_teardown(void)
{
    ut_zkd_stop(&srv);
    loop_teardown();
}

/* LeakSanitizer: libzookeeper_mt keeps what it allocated for requests still
 * pending at zookeeper_close (see check_zkc). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libzookeeper_mt.so\n"; }

/* ------------------------------------------- ZooKeeper clients and reads */

static inline void sess_cb(void *ctx, kz_zkc_session_event ev, int64_t sid)
{
    (void)sid;
    if (ev == KZ_ZKC_CONNECTED)
        (*(int *)ctx)++;
}

/* A new session to srv; returns once it is connected (*@connected counts connections). */
static inline kz_zkc *zk_connect(int *connected)
{
    kz_zkc *z = kz_zkc_new(base, srv.hostport, 4000, 0, sess_cb, connected);
    ck_assert_ptr_nonnull(z);
    WAIT_FOR(*connected > 0, 20000);
    return z;
}

/* One answer: rc, data (NUL-terminated, empty when it does not fit), stat,
 * and the first 16 children. */
typedef struct zres {
    int calls, rc;
    char data[4096];
    int32_t len;
    kz_zkc_stat stat;
    int32_t nchildren;
    char children[16][64];
} zres;

static inline void zres_cb(void *ctx, const kz_zkc_result *r)
{
    zres *z = ctx;
    z->calls++;
    z->rc = r->rc;
    z->len = r->data_len;
    size_t n = r->data && r->data_len > 0 && (size_t)r->data_len < sizeof z->data ? (size_t)r->data_len : 0;
    if (n)
        memcpy(z->data, r->data, n);
    z->data[n] = '\0';
    z->stat = r->stat;
    z->nchildren = 0;
    for (int32_t i = 0; i < r->n_children && i < 16; i++)
        snprintf(z->children[z->nchildren++], 64, "%s", r->children[i]);
}

/* getData of @path: rc, data and stat in @out. */
static inline int zget(kz_zkc *z, const char *path, zres *out)
{
    memset(out, 0, sizeof *out);
    ck_assert_int_eq(kz_zkc_get(z, path, NULL, NULL, zres_cb, out), 0);
    WAIT_FOR(out->calls == 1, 20000);
    return out->rc;
}

/* getChildren of @path: rc and children in @out. */
static inline int zchildren(kz_zkc *z, const char *path, zres *out)
{
    memset(out, 0, sizeof *out);
    ck_assert_int_eq(kz_zkc_children(z, path, NULL, NULL, zres_cb, out), 0);
    WAIT_FOR(out->calls == 1, 20000);
    return out->rc;
}

/* The state znode of @t-@p decoded into @st (arrays in @a), its version in
 * *@zkv (when not NULL); false when missing. */
static inline bool zstate(kz_zkc *z, const char *t, int32_t p, kb_zk_pstate *st, kz_arena *a, int32_t *zkv)
{
    char path[256];
    zres r;
    snprintf(path, sizeof path, "/brokers/topics/%s/partitions/%d/state", t, p);
    if (zget(z, path, &r) != KZ_ZOK)
        return false;
    char err[128];
    ck_assert_int_eq(kb_zk_pstate_decode(r.data, (size_t)r.len, a, st, err, sizeof err), 0);
    if (zkv)
        *zkv = r.stat.version;
    return true;
}

/* kb_zk completion: *ctx = 1 on success, -1 on failure. */
static inline void done_zk(void *ctx, int rc)
{
    *(int *)ctx = rc == KZ_ZOK ? 1 : -1;
}

static inline void reg_done(void *ctx, int rc, int64_t epoch, const char *msg)
{
    (void)msg;
    *(int64_t *)ctx = rc == KZ_ZOK ? epoch : -2;
}

/* /brokers/ids/<id> for a broker listening on 127.0.0.1:@port; returns its
 * czxid (the broker epoch). */
static inline int64_t zregister(kz_zkc *z, int32_t id, int port)
{
    kb_zk_endpoint ep = { "PLAINTEXT", "127.0.0.1", port, "PLAINTEXT" };
    kb_zk_broker info = { .version = 5, .endpoints = &ep, .n_endpoints = 1, .jmx_port = -1 };
    int64_t epoch = -1;
    ck_assert_int_eq(kb_zk_register_broker(z, id, &info, reg_done, &epoch), 0);
    WAIT_FOR(epoch != -1, 20000);
    ck_assert_int_gt(epoch, 0);
    return epoch;
}

/* -------------------------------------------- controller and admin path */

/* Broker 1's controller: PLAINTEXT between brokers, IBP 2.8 request versions. */
static inline kb_ctl_cfg ctl_cfg(void)
{
    return (kb_ctl_cfg){ .broker_id = 1, .inter_broker_listener = "PLAINTEXT", .delete_topic_enable = true,
                         .leader_and_isr_version = 5, .update_metadata_version = 7, .stop_replica_version = 3,
                         .write_topic_ids = true, .request_timeout_ms = 30000, .max_frame_bytes = 1 << 20 };
}

/* What a kb_admin call completed with. */
typedef struct adone {
    int calls;
    int16_t err;
    char msg[512];
    kb_admin_result res;
    bool has_res;
} adone;

static inline void adone_cb(void *ctx, int16_t err, const char *msg, const kb_admin_result *res)
{
    adone *d = ctx;
    d->calls++;
    d->err = err;
    snprintf(d->msg, sizeof d->msg, "%s", msg ? msg : "");
    d->has_res = res != NULL;
    if (res)
        d->res = *res;
}

#endif
