/* test/unit/check_ctl_repl.c -- the controller's leadership moves asked from
 * outside: controlled shutdown, ElectLeaders, the auto leader rebalance,
 * per-topic unclean election, and the stopping broker's side of controlled
 * shutdown.
 * "pure": the ControlledShutdown election, the shutting-down set of the
 * context, which partitions a controlled shutdown acts on and which remain,
 * the imbalance ratio and the rebalance candidates, the ElectLeaders codes.
 * "zk": the controller against a real zkd with recording stand-in brokers
 * (state znodes and requests checked), and the broker side against a
 * stand-in controller.
 *
 * Expected values follow Kafka 2.8's KafkaController (NOTES.md 12). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "kb_admin.h"
#include "kb_ctl.h"
#include "kb_ctl_ctx.h"
#include "kb_ctl_int.h"
#include "kb_ctl_sm.h"
#include "kb_zk.h"
#include "kz_kmsgs.h"
#include "kz_log.h"
#include "kz_zkc.h"
#include "unit_util.h"
#include "ctl_fixture.h"
#include "fake_broker.h"

/* --------------------------------------------------------- decisions */

START_TEST(elect_cshut_decision)
{
    static const int32_t up23[] = { 2, 3 }, sd1[] = { 1 }, up3[] = { 3 }, sd12[] = { 1, 2 }, up2[] = { 2 };
    kb_ctl_live up = { up23, 2 }, sd = { sd1, 1 };
    kb_ctl_ids r = ids(3, 1, 2, 3);
    kb_ctl_lai cur = { .leader = 1, .leader_epoch = 4, .ctl_epoch = 1, .zk_version = 7, .isr = ids(3, 1, 2, 3) };
    kb_ctl_lai l;
    /* the first replica in assignment order that is live, not shutting down and in the ISR */
    ck_assert(kb_ctl_elect_cshut(&r, &cur, &up, &sd, 3, &l));
    ck_assert_int_eq(l.leader, 2);
    ck_assert_int_eq(l.leader_epoch, 5);
    ck_assert_int_eq(l.ctl_epoch, 3);
    ck_assert_int_eq(l.zk_version, 7);
    expect_ids(&l.isr, 2, (int32_t[]){ 2, 3 });
    ck_assert_ptr_null(kb_ctl_lai_check(&l, &r));
    /* not in the ISR: skipped */
    cur.isr = ids(2, 3, 1);
    ck_assert(kb_ctl_elect_cshut(&r, &cur, &up, &sd, 3, &l));
    ck_assert_int_eq(l.leader, 3);
    expect_ids(&l.isr, 1, (int32_t[]){ 3 });
    /* two brokers shutting down: both leave the ISR */
    kb_ctl_live up_3 = { up3, 1 }, sd_12 = { sd12, 2 };
    cur.isr = ids(3, 1, 2, 3);
    ck_assert(kb_ctl_elect_cshut(&r, &cur, &up_3, &sd_12, 3, &l));
    ck_assert_int_eq(l.leader, 3);
    expect_ids(&l.isr, 1, (int32_t[]){ 3 });
    /* a dead ISR member is not chosen but stays in the ISR (only shutting-down brokers leave) */
    kb_ctl_live up_2 = { up2, 1 };
    cur.isr = ids(3, 1, 3, 2);
    ck_assert(kb_ctl_elect_cshut(&r, &cur, &up_2, &sd, 3, &l));
    ck_assert_int_eq(l.leader, 2);
    expect_ids(&l.isr, 2, (int32_t[]){ 3, 2 });
    /* nobody else in the ISR: nothing to write */
    cur.isr = ids(1, 1);
    l.leader = 99;
    ck_assert(!kb_ctl_elect_cshut(&r, &cur, &up, &sd, 3, &l));
    ck_assert_int_eq(l.leader, 99);
    /* preferred replica eligibility: live and in the ISR */
    cur.isr = ids(2, 2, 1);
    ck_assert(!kb_ctl_preferred_eligible(&r, &cur, &up)); /* 1 is not live (shutting down) */
    kb_ctl_ids r2 = ids(3, 2, 1, 3);
    ck_assert(kb_ctl_preferred_eligible(&r2, &cur, &up));
    cur.isr = ids(1, 1);
    ck_assert(!kb_ctl_preferred_eligible(&r2, &cur, &up)); /* live, not in the ISR */
}
END_TEST

START_TEST(imbalance_ratio)
{
    double ratio = -1;
    ck_assert(!kb_ctl_imbalanced(1, 10, 10, &ratio)); /* exactly 10 %: not above */
    ck_assert(ratio > 0.0999 && ratio < 0.1001);
    ck_assert(kb_ctl_imbalanced(2, 10, 10, &ratio));
    ck_assert(ratio > 0.1999 && ratio < 0.2001);
    ck_assert(!kb_ctl_imbalanced(0, 0, 10, &ratio));
    ck_assert(ratio == 0.0);
    ck_assert(kb_ctl_imbalanced(1, 3, 0, &ratio));
    ck_assert(!kb_ctl_imbalanced(3, 3, 100, &ratio));
}
END_TEST

/* ------------------------------------------------------------ context */

static void add_broker(kb_ctl_ctx *x, int32_t id, int64_t epoch)
{
    kb_ctl_broker b = { .id = id, .epoch = epoch, .nep = 1 };
    b.eps = calloc(1, sizeof *b.eps);
    char host[32];
    snprintf(host, sizeof host, "127.0.0.%d", id);
    b.eps[0] = (kb_ctl_ep){ strdup("PLAINTEXT"), strdup(host), 9092, 0 };
    ck_assert_ptr_nonnull(kb_ctl_ctx_put_broker(x, &b));
}

static void set_lai(kb_ctl_topic *t, int32_t p, int32_t leader, kb_ctl_ids isr)
{
    t->parts[p].has_lai = true;
    t->parts[p].lai = (kb_ctl_lai){ .leader = leader, .leader_epoch = 1, .ctl_epoch = 1, .isr = isr };
    t->parts[p].pstate = KB_PS_ONLINE;
}

/* @x initialised with the live brokers 1, 2 and 3 (epochs 10, 20, 30). */
static void ctx_brokers_123(kb_ctl_ctx *x)
{
    kb_ctl_ctx_init(x);
    for (int32_t b = 1; b <= 3; b++)
        add_broker(x, b, b * 10);
}

static bool plist_has(const ctl_plist *l, const char *t, int32_t p)
{
    for (int32_t i = 0; i < l->n; i++)
        if (l->part[i] == p && strcmp(l->topic[i], t) == 0)
            return true;
    return false;
}

START_TEST(context_shutting_down)
{
    kb_ctl_ctx x;
    kb_ctl_ctx_init(&x);
    add_broker(&x, 1, 10);
    add_broker(&x, 2, 20);
    add_broker(&x, 3, 30);
    ck_assert_int_eq(kb_ctl_ctx_add_shutting(&x, 2), 0);
    ck_assert_int_eq(kb_ctl_ctx_add_shutting(&x, 2), 0); /* once */
    ck_assert_int_eq(kb_ctl_ctx_add_shutting(&x, 7), -1); /* not live */
    ck_assert(kb_ctl_ctx_is_shutting(&x, 2));
    ck_assert(kb_ctl_ctx_is_live(&x, 2));   /* still gets requests */
    ck_assert(!kb_ctl_ctx_is_up(&x, 2));    /* but elections skip it */
    ck_assert(kb_ctl_ctx_is_up(&x, 3));
    kb_ctl_live up = kb_ctl_ctx_live(&x);
    ck_assert_int_eq(up.n, 2);
    ck_assert_int_eq(up.ids[0], 1);
    ck_assert_int_eq(up.ids[1], 3);
    ck_assert_ptr_null(kb_ctl_ctx_check(&x));
    /* UpdateMetadata lists it among the offline replicas (Kafka's !isReplicaOnline) */
    static const int32_t rows[] = { 1, 2, 3 };
    kb_ctl_topic *t = add_topic(&x, "t", 1, rows, 3);
    kb_ctl_ids off;
    kb_ctl_part_offline(&x, &t->parts[0], &off);
    expect_ids(&off, 1, (int32_t[]){ 2 });
    /* a new broker keeps the set; a second member sorts in */
    add_broker(&x, 0, 5);
    ck_assert_int_eq(kb_ctl_ctx_add_shutting(&x, 0), 0);
    kb_ctl_live sd = kb_ctl_ctx_shutting(&x);
    ck_assert_int_eq(sd.n, 2);
    ck_assert_int_eq(sd.ids[0], 0);
    ck_assert_int_eq(sd.ids[1], 2);
    ck_assert_int_eq(kb_ctl_ctx_live(&x).n, 2);
    /* its registration gone: out of the set too */
    kb_ctl_ctx_del_broker(&x, 2);
    ck_assert(!kb_ctl_ctx_is_shutting(&x, 2));
    ck_assert_int_eq(kb_ctl_ctx_shutting(&x).n, 1);
    ck_assert_int_eq(kb_ctl_ctx_live(&x).n, 2); /* 1 and 3 */
    ck_assert_ptr_null(kb_ctl_ctx_check(&x));
    /* back again: a plain live broker */
    add_broker(&x, 2, 25);
    ck_assert(kb_ctl_ctx_is_up(&x, 2));
    ck_assert_int_eq(kb_ctl_ctx_live(&x).n, 3);
    ck_assert_ptr_null(kb_ctl_ctx_check(&x));
    kb_ctl_ctx_clear(&x);
}
END_TEST

/* Brokers 1..3, broker 1 shutting down:
 *   a [1,2,3] led by 1       -> acted on, led
 *   b [1]     led by 1       -> not acted on (one replica)
 *   c [2,1]   led by 2       -> acted on, followed
 *   d [2,3]   led by 2       -> not acted on (1 not a replica)
 *   e [1,2]   led by 1, queued for deletion -> not acted on
 *   f [1,3]   no state yet   -> not acted on */
START_TEST(cshut_plan_and_remaining)
{
    kb_ctl_ctx x;
    ctx_brokers_123(&x);
    static const int32_t ra[] = { 1, 2, 3 }, rb[] = { 1 }, rc[] = { 2, 1 }, rd[] = { 2, 3 }, re[] = { 1, 2 },
                         rf[] = { 1, 3 };
    set_lai(add_topic(&x, "a", 1, ra, 3), 0, 1, ids(3, 1, 2, 3));
    set_lai(add_topic(&x, "b", 1, rb, 1), 0, 1, ids(1, 1));
    set_lai(add_topic(&x, "c", 1, rc, 2), 0, 2, ids(2, 2, 1));
    set_lai(add_topic(&x, "d", 1, rd, 2), 0, 2, ids(2, 2, 3));
    kb_ctl_topic *e = add_topic(&x, "e", 1, re, 2);
    set_lai(e, 0, 1, ids(2, 1, 2));
    e->queued_delete = true;
    add_topic(&x, "f", 1, rf, 2);
    ctl_plist led = { 0 }, followed = { 0 }, rem = { 0 };
    ctl_cshut_plan(&x, 1, &led, &followed);
    ck_assert_int_eq(led.n, 1);
    ck_assert(plist_has(&led, "a", 0));
    ck_assert_int_eq(followed.n, 1);
    ck_assert(plist_has(&followed, "c", 0));
    ctl_cshut_remaining(&x, 1, &rem);
    ck_assert_int_eq(rem.n, 1); /* a-0: b has one replica, e is being deleted */
    ck_assert(plist_has(&rem, "a", 0));
    ctl_plist_free(&rem);
    /* once a-0 moved, nothing remains */
    set_lai(x.topics[0], 0, 2, ids(2, 2, 3));
    ctl_cshut_remaining(&x, 1, &rem);
    ck_assert_int_eq(rem.n, 0);
    ctl_plist_free(&rem);
    ctl_plist_free(&led);
    ctl_plist_free(&followed);
    kb_ctl_ctx_clear(&x);
}
END_TEST

/* Brokers 1..3. Broker 1 is the preferred replica of p0..p3 of "r":
 *   p0 led by 1; p1 led by 2, 1 in ISR; p2 led by 3, 1 in ISR; p3 led by 2, 1 not in ISR
 * -> 3 of 4 not led by it (75 %): p1 and p2 are candidates (p3 is not in the ISR).
 * Broker 2 is the preferred replica of "s"-0, led by 3 with 2 in the ISR: 100 %.
 * Broker 3 is the preferred replica of "q"-0..9, one led by 1: 10 %, not above 10 %. */
START_TEST(rebalance_candidates)
{
    kb_ctl_ctx x;
    ctx_brokers_123(&x);
    static const int32_t rr[] = { 1, 2, 3, 1, 2, 3, 1, 3, 2, 1, 2, 3 }, rs[] = { 2, 3 };
    kb_ctl_topic *r = add_topic(&x, "r", 4, rr, 3);
    set_lai(r, 0, 1, ids(3, 1, 2, 3));
    set_lai(r, 1, 2, ids(2, 2, 1));
    set_lai(r, 2, 3, ids(3, 3, 2, 1));
    set_lai(r, 3, 2, ids(2, 2, 3));
    kb_ctl_topic *s = add_topic(&x, "s", 1, rs, 2);
    set_lai(s, 0, 3, ids(2, 3, 2));
    int32_t rq[20];
    for (int i = 0; i < 10; i++) {
        rq[2 * i] = 3;
        rq[2 * i + 1] = 1;
    }
    kb_ctl_topic *q = add_topic(&x, "q", 10, rq, 2);
    for (int32_t p = 0; p < 10; p++)
        set_lai(q, p, p == 4 ? 1 : 3, ids(2, 3, 1));
    ctl_plist out = { 0 };
    ctl_rebalance_plan(&x, 1, 10, &out);
    ck_assert_int_eq(out.n, 3);
    ck_assert(plist_has(&out, "r", 1));
    ck_assert(plist_has(&out, "r", 2));
    ck_assert(plist_has(&out, "s", 0));
    ctl_plist_free(&out);
    /* 11 % for broker 3 now (q-4 and q-5 away): both candidates */
    set_lai(q, 5, 1, ids(2, 1, 3));
    ctl_rebalance_plan(&x, 1, 10, &out);
    ck_assert_int_eq(out.n, 5);
    ck_assert(plist_has(&out, "q", 4));
    ck_assert(plist_has(&out, "q", 5));
    ctl_plist_free(&out);
    /* a shutting-down preferred replica is no candidate; topics being deleted do not count */
    ck_assert_int_eq(kb_ctl_ctx_add_shutting(&x, 1), 0);
    q->queued_delete = true;
    ctl_rebalance_plan(&x, 1, 10, &out);
    ck_assert_int_eq(out.n, 1);
    ck_assert(plist_has(&out, "s", 0));
    ctl_plist_free(&out);
    /* a higher threshold: nothing */
    ctl_rebalance_plan(&x, 1, 100, &out);
    ck_assert_int_eq(out.n, 0);
    kb_ctl_ctx_clear(&x);
}
END_TEST

START_TEST(elect_leaders_codes)
{
    kb_ctl_ctx x;
    ctx_brokers_123(&x);
    static const int32_t rows[] = { 1, 2, 2, 1, 3, 1, 1, 2 };
    kb_ctl_topic *t = add_topic(&x, "t", 4, rows, 2);
    set_lai(t, 0, 1, ids(2, 1, 2));  /* preferred leads; live leader */
    set_lai(t, 1, 1, ids(2, 2, 1));  /* preferred 2 does not lead */
    set_lai(t, 2, -1, ids(1, 3));    /* no leader */
    /* t-3: no state */
    kb_ctl_topic *d = add_topic(&x, "d", 1, rows, 2);
    set_lai(d, 0, 2, ids(2, 1, 2));
    d->queued_delete = true;
    const char *msg;
    int32_t leader;
    ck_assert_int_eq(ctl_elect_check(&x, KB_CTL_ELECT_PREFERRED, "t", 0, &msg), KB_CTL_E_ELECTION_NOT_NEEDED);
    ck_assert_int_eq(ctl_elect_check(&x, KB_CTL_ELECT_PREFERRED, "t", 1, &msg), 0);
    ck_assert_int_eq(ctl_elect_check(&x, KB_CTL_ELECT_PREFERRED, "t", 3, &msg), 0);
    ck_assert_int_eq(ctl_elect_check(&x, KB_CTL_ELECT_PREFERRED, "t", 4, &msg), KB_CTL_E_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_str_eq(msg, "The partition does not exist.");
    ck_assert_int_eq(ctl_elect_check(&x, KB_CTL_ELECT_PREFERRED, "nope", 0, &msg),
                     KB_CTL_E_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(ctl_elect_check(&x, KB_CTL_ELECT_PREFERRED, "d", 0, &msg), KB_CTL_E_INVALID_TOPIC);
    ck_assert_str_eq(msg, "The topic is being deleted");
    ck_assert_int_eq(ctl_elect_check(&x, KB_CTL_ELECT_UNCLEAN, "t", 0, &msg), KB_CTL_E_ELECTION_NOT_NEEDED);
    ck_assert_int_eq(ctl_elect_check(&x, KB_CTL_ELECT_UNCLEAN, "t", 2, &msg), 0);
    /* a leader shutting down counts as gone for an unclean election */
    ck_assert_int_eq(kb_ctl_ctx_add_shutting(&x, 1), 0);
    ck_assert_int_eq(ctl_elect_check(&x, KB_CTL_ELECT_UNCLEAN, "t", 0, &msg), 0);
    /* outcomes read back from the context */
    ck_assert_int_eq(ctl_elect_outcome(&x, KB_CTL_ELECT_PREFERRED, "t", 1, &leader, &msg),
                     KB_CTL_E_PREFERRED_LEADER_NOT_AVAILABLE);
    ck_assert_int_eq(leader, -1);
    ck_assert_ptr_nonnull(msg);
    set_lai(t, 1, 2, ids(2, 2, 1));
    ck_assert_int_eq(ctl_elect_outcome(&x, KB_CTL_ELECT_PREFERRED, "t", 1, &leader, &msg), 0);
    ck_assert_int_eq(leader, 2);
    ck_assert_ptr_null(msg);
    ck_assert_int_eq(ctl_elect_outcome(&x, KB_CTL_ELECT_UNCLEAN, "t", 2, &leader, &msg),
                     KB_CTL_E_ELIGIBLE_LEADERS_NOT_AVAILABLE);
    set_lai(t, 2, 3, ids(1, 3));
    ck_assert_int_eq(ctl_elect_outcome(&x, KB_CTL_ELECT_UNCLEAN, "t", 2, &leader, &msg), 0);
    ck_assert_int_eq(leader, 3);
    ck_assert_int_eq(ctl_elect_outcome(&x, KB_CTL_ELECT_UNCLEAN, "t", 0, &leader, &msg),
                     KB_CTL_E_ELIGIBLE_LEADERS_NOT_AVAILABLE); /* its leader 1 is shutting down */
    kb_ctl_ctx_clear(&x);
}
END_TEST

/* ================================================= against a real zkd
 *
 * zkd built by this tree on a free 127.0.0.1 port; the controller runs on
 * the test's event loop (fixtures and clients in ctl_fixture.h); "brokers"
 * are fake_broker.h listeners that record every request and answer with an
 * empty success. */

static bool isr_is(const kb_zk_pstate *st, int n, const int32_t *want)
{
    if (st->n_isr != n)
        return false;
    for (int i = 0; i < n; i++)
        if (st->isr[i] != want[i])
            return false;
    return true;
}

/* Plays a partition leader changing its ISR: the state znode rewritten
 * (leader and leader epoch kept, conditional on its version) and an ISR
 * change notification, as Kafka's leaders do in ZooKeeper mode. */
static void zset_isr(kz_zkc *z, const char *t, int32_t p, int n, const int32_t *isr)
{
    kz_arena a = KZ_ARENA_INIT;
    kb_zk_pstate st;
    int32_t zkv;
    ck_assert(zstate(z, t, p, &st, &a, &zkv));
    st.isr = (int32_t *)isr;
    st.n_isr = n;
    size_t len;
    char *json = kb_zk_pstate_encode(&st, &len);
    char path[256];
    snprintf(path, sizeof path, "/brokers/topics/%s/partitions/%d/state", t, p);
    zres r = { 0 };
    ck_assert_int_eq(kz_zkc_set(z, path, json, (int32_t)len, zkv, zres_cb, &r), 0);
    WAIT_FOR(r.calls == 1, 20000);
    ck_assert_int_eq(r.rc, KZ_ZOK);
    free(json);
    kb_zk_tp tp = { t, p };
    json = kb_zk_tp_list_encode(&tp, 1, &len);
    memset(&r, 0, sizeof r);
    ck_assert_int_eq(kz_zkc_create(z, KB_ZK_ISR_CHANGE_SEQ, json, (int32_t)len, KZ_ZKC_SEQUENTIAL, zres_cb, &r), 0);
    WAIT_FOR(r.calls == 1, 20000);
    ck_assert_int_eq(r.rc, KZ_ZOK);
    free(json);
    kz_arena_reset(&a);
    /* the controller has read it once it deleted the notification */
    WAIT_FOR(zchildren(z, KB_ZK_ISR_CHANGE, &r) == KZ_ZOK && r.nchildren == 0, 20000);
}

/* Whether @fb got StopReplica(delete=@del) for @topic-@p (from request #@from on). */
static bool fb_got_stop(const fbroker *fb, int from, const char *topic, int32_t p, bool del, kz_arena *a)
{
    for (int i = from; i < fb->n; i++) {
        if (fb->key[i] != 5)
            continue;
        kz_StopReplicaRequest sr;
        fb_decode(fb, i, &sr, a, NULL);
        for (int32_t t = 0; t < sr.topic_states.n; t++)
            for (int32_t k = 0; k < sr.topic_states.v[t].partition_states.n; k++) {
                const kz_StopReplicaPartitionState *sp = &sr.topic_states.v[t].partition_states.v[k];
                if (str_is(sr.topic_states.v[t].topic_name, topic) && sp->partition_index == p &&
                    sp->delete_partition == del)
                    return true;
            }
    }
    return false;
}

/* ---- completions */

typedef struct csdone {
    int calls;
    int16_t err;
    int32_t n;
    char rem[8][64];
} csdone;

static void cs_cb(void *ctx, int16_t err, const kb_ctl_tp *rem, int32_t n)
{
    csdone *d = ctx;
    d->calls++;
    d->err = err;
    d->n = n;
    for (int32_t i = 0; i < n && i < 8; i++)
        snprintf(d->rem[i], sizeof d->rem[i], "%s-%d", rem[i].topic, rem[i].partition);
}

typedef struct eldone {
    int calls;
    int32_t n;
    kb_ctl_elect_res res[8];
} eldone;

static void el_cb(void *ctx, const kb_ctl_elect_res *res, int32_t n)
{
    eldone *d = ctx;
    d->calls++;
    d->n = n;
    for (int32_t i = 0; i < n && i < 8; i++)
        d->res[i] = res[i];
}

/* A cluster of two recording brokers (1: @z1, 2: @z2) with the controller on broker 1. */
typedef struct cl {
    fbroker fb1, fb2;
    int c1, c2;
    kz_zkc *z1, *z2;
    int64_t epoch2;
    kb_ctl *ctl;
    kb_admin *adm;
} cl;

static void cl_start(cl *k, const kb_ctl_cfg *cc)
{
    memset(k, 0, sizeof *k);
    fb_start(&k->fb1, base, 0, NULL, NULL);
    fb_start(&k->fb2, base, 0, NULL, NULL);
    k->z1 = zk_connect(&k->c1);
    k->z2 = zk_connect(&k->c2);
    int paths = 0;
    kb_zk_ensure_persistent_paths(k->z1, done_zk, &paths);
    WAIT_FOR(paths != 0, 20000);
    zregister(k->z1, 1, k->fb1.port);
    k->epoch2 = zregister(k->z2, 2, k->fb2.port);
    k->ctl = kb_ctl_new(base, k->z1, cc);
    ck_assert_ptr_nonnull(k->ctl);
    ck_assert_int_eq(kb_ctl_start(k->ctl), 0);
    WAIT_FOR(kb_ctl_is_active(k->ctl), 20000);
    kb_admin_cfg ac = { .num_partitions = 1, .default_replication = 1, .delete_topic_enable = true,
                        .write_topic_id = true, .base = base };
    k->adm = kb_admin_new(k->z1, &ac);
}

/* Creates @name with partitions on @rows (two replicas each) and waits for the state of the last. */
static void cl_topic(cl *k, const char *name, int32_t nparts, int32_t (*rows)[2], const char *unclean)
{
    kb_admin_replicas asg[4];
    for (int32_t p = 0; p < nparts; p++)
        asg[p] = (kb_admin_replicas){ 2, rows[p] };
    kb_cfg_pair cfg[] = { { "unclean.leader.election.enable", unclean } };
    kb_admin_topic_spec spec = { .name = name, .num_partitions = -1, .replication_factor = -1, .n_assign = nparts,
                                 .assign = asg, .n_configs = unclean ? 1 : 0, .configs = cfg };
    kb_assign_broker bs[] = { { 1, NULL }, { 2, NULL } };
    adone d = { 0 };
    kb_admin_create_topic(k->adm, &spec, bs, 2, false, adone_cb, &d);
    WAIT_FOR(d.calls == 1, 20000);
    ck_assert_int_eq(d.err, 0);
    kz_arena a = KZ_ARENA_INIT;
    kb_zk_pstate st;
    for (int32_t p = 0; p < nparts; p++)
        WAIT_FOR(zstate(k->z1, name, p, &st, &a, NULL), 20000);
    kz_arena_reset(&a);
}

static void cl_stop(cl *k)
{
    if (k->z2)
        kz_zkc_free(k->z2);
    kz_zkc_free(k->z1);
    kb_ctl_free(k->ctl);
    kb_admin_free(k->adm);
    fb_stop(&k->fb1);
    fb_stop(&k->fb2);
}

/* Controlled shutdown of broker 2 with partitions "cs" p0 [2,1] (led by 2)
 * and p1 [1,2] (followed by 2): p0 moves to 1 with ISR [1], p1 drops 2 from
 * its ISR, broker 2 gets StopReplica(delete=false) for p1 and a LeaderAndIsr
 * making it a follower of p0; nothing remains. Then the epoch check, an
 * unknown broker, and the shutting-down broker kept from leadership until
 * its registration is renewed. */
START_TEST(controlled_shutdown_moves_leaders)
{
    kz_log_set_level(KZ_LOG_WARN);
    cl k;
    kb_ctl_cfg cc = ctl_cfg();
    cl_start(&k, &cc);
    int32_t rows[][2] = { { 2, 1 }, { 1, 2 } };
    cl_topic(&k, "cs", 2, rows, NULL);
    kz_arena a = KZ_ARENA_INIT;
    kb_zk_pstate st;
    ck_assert(zstate(k.z1, "cs", 0, &st, &a, NULL));
    ck_assert_int_eq(st.leader, 2);
    ck_assert(isr_is(&st, 2, (int32_t[]){ 2, 1 }));
    int from2 = k.fb2.n;

    csdone d = { 0 };
    kb_ctl_controlled_shutdown(k.ctl, 2, k.epoch2, cs_cb, &d);
    ck_assert_int_eq(d.calls, 0); /* never inside the call */
    WAIT_FOR(d.calls == 1, 20000);
    ck_assert_int_eq(d.err, 0);
    ck_assert_int_eq(d.n, 0);
    int32_t zkv;
    ck_assert(zstate(k.z1, "cs", 0, &st, &a, &zkv));
    ck_assert_int_eq(st.leader, 1);
    ck_assert_int_eq(st.leader_epoch, 1);
    ck_assert_int_eq(st.controller_epoch, 1);
    ck_assert(isr_is(&st, 1, (int32_t[]){ 1 }));
    ck_assert_int_eq(zkv, 1);
    ck_assert(zstate(k.z1, "cs", 1, &st, &a, NULL));
    ck_assert_int_eq(st.leader, 1);
    ck_assert_int_eq(st.leader_epoch, 1);
    ck_assert(isr_is(&st, 1, (int32_t[]){ 1 }));
    /* requests: broker 2 follows 1 on p0 and stops p1; broker 1 leads both */
    WAIT_FOR(fb_got_stop(&k.fb2, from2, "cs", 1, false, &a), 20000);
    ck_assert(!fb_got_stop(&k.fb2, from2, "cs", 0, false, &a));
    WAIT_FOR(fb_last_lai(&k.fb2, "cs", 0, &a, NULL) && fb_last_lai(&k.fb2, "cs", 0, &a, NULL)->leader == 1, 20000);
    const kz_LeaderAndIsrPartitionState *ps = fb_last_lai(&k.fb2, "cs", 0, &a, NULL);
    ck_assert_int_eq(ps->leader_epoch, 1);
    ck_assert_int_eq(ps->isr.n, 1);
    WAIT_FOR(fb_last_lai(&k.fb1, "cs", 1, &a, NULL) && fb_last_lai(&k.fb1, "cs", 1, &a, NULL)->leader_epoch == 1,
             20000);
    ps = fb_last_lai(&k.fb1, "cs", 1, &a, NULL);
    ck_assert_int_eq(ps->leader, 1);
    ck_assert_int_eq(ps->isr.n, 1);
    ck_assert_int_eq(ps->isr.v[0], 1);

    /* an older broker epoch is refused; an unknown broker is not available */
    memset(&d, 0, sizeof d);
    kb_ctl_controlled_shutdown(k.ctl, 2, k.epoch2 - 1, cs_cb, &d);
    WAIT_FOR(d.calls == 1, 20000);
    ck_assert_int_eq(d.err, KB_CTL_E_STALE_BROKER_EPOCH);
    memset(&d, 0, sizeof d);
    kb_ctl_controlled_shutdown(k.ctl, 9, -1, cs_cb, &d);
    WAIT_FOR(d.calls == 1, 20000);
    ck_assert_int_eq(d.err, KB_CTL_E_BROKER_NOT_AVAILABLE);

    /* 2 back in the ISR of p0 (its leader says so): still shutting down, so
     * the preferred replica cannot lead */
    zset_isr(k.z1, "cs", 0, 2, (int32_t[]){ 1, 2 });
    eldone e = { 0 };
    kb_ctl_tp tps[] = { { "cs", 0 }, { "cs", 1 }, { "nope", 0 } };
    kb_ctl_elect_leaders(k.ctl, KB_CTL_ELECT_PREFERRED, tps, 3, el_cb, &e);
    WAIT_FOR(e.calls == 1, 20000);
    ck_assert_int_eq(e.n, 3);
    ck_assert_int_eq(e.res[0].error, KB_CTL_E_PREFERRED_LEADER_NOT_AVAILABLE);
    ck_assert_int_eq(e.res[1].error, KB_CTL_E_ELECTION_NOT_NEEDED);
    ck_assert_int_eq(e.res[2].error, KB_CTL_E_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert(zstate(k.z1, "cs", 0, &st, &a, NULL));
    ck_assert_int_eq(st.leader, 1);

    /* broker 2 registers again (a new session): out of the shutting-down set */
    kz_zkc_free(k.z2);
    k.z2 = NULL;
    int c3 = 0;
    kz_zkc *z3 = zk_connect(&c3);
    WAIT_FOR(!kb_ctl_ctx_is_live(&k.ctl->x, 2), 20000);
    ck_assert(!kb_ctl_ctx_is_shutting(&k.ctl->x, 2));
    /* gone: out of the ISR of p0 again (OfflineReplica) */
    WAIT_FOR(zstate(k.z1, "cs", 0, &st, &a, NULL) && isr_is(&st, 1, (int32_t[]){ 1 }), 20000);
    int64_t epoch2b = zregister(z3, 2, k.fb2.port);
    ck_assert_int_gt(epoch2b, k.epoch2);
    WAIT_FOR(kb_ctl_ctx_is_up(&k.ctl->x, 2), 20000);
    /* the restarted broker catches up: its leader adds it to the ISR again */
    zset_isr(k.z1, "cs", 0, 2, (int32_t[]){ 1, 2 });
    ck_assert(zstate(k.z1, "cs", 0, &st, &a, NULL));
    int32_t le = st.leader_epoch;
    memset(&e, 0, sizeof e);
    kb_ctl_elect_leaders(k.ctl, KB_CTL_ELECT_PREFERRED, tps, 1, el_cb, &e);
    WAIT_FOR(e.calls == 1, 20000);
    ck_assert_int_eq(e.res[0].error, 0);
    ck_assert_int_eq(e.res[0].leader, 2);
    ck_assert(zstate(k.z1, "cs", 0, &st, &a, NULL));
    ck_assert_int_eq(st.leader, 2);
    ck_assert_int_eq(st.leader_epoch, le + 1);
    ck_assert(isr_is(&st, 2, (int32_t[]){ 1, 2 }));

    kz_zkc_free(z3);
    cl_stop(&k);
    kz_arena_reset(&a);
}
END_TEST

/* Unclean election by topic config. Run 0: the cluster default is false,
 * "uc" allows it in /config/topics, "uc2" has no override. Run 1: the
 * default is true, "uc" forbids it, "uc2" has no override. Both [2,1] with
 * only 2 in the ISR lose broker 2: the one allowed ("uc" in run 0, "uc2" in
 * run 1, named @yes below) elects 1 with ISR [1] (Kafka's warning logged),
 * the other (@no) stays without a leader until ElectLeaders(UNCLEAN) asks.
 * A broker that is not the controller answers NOT_CONTROLLER. */
START_TEST(unclean_by_topic_config)
{
    kz_log_set_level(KZ_LOG_WARN);
    cl k;
    kb_ctl_cfg cc = ctl_cfg();
    cc.unclean_leader_election = _i == 1;
    cl_start(&k, &cc);
    int32_t rows[][2] = { { 2, 1 } };
    cl_topic(&k, "uc", 1, rows, _i == 0 ? "true" : "false");
    cl_topic(&k, "uc2", 1, rows, NULL);
    const char *yes = _i == 0 ? "uc" : "uc2", *no = _i == 0 ? "uc2" : "uc";
    char want[160], nowarn[64];
    snprintf(want, sizeof want, "No broker in ISR is alive for %s-0. Elect leader 1 from live brokers 1. "
             "There's potential data loss.", yes);
    snprintf(nowarn, sizeof nowarn, "No broker in ISR is alive for %s-0", no);
    zset_isr(k.z1, "uc", 0, 1, (int32_t[]){ 2 });
    zset_isr(k.z1, "uc2", 0, 1, (int32_t[]){ 2 });
    kz_arena a = KZ_ARENA_INIT;
    kb_zk_pstate st;

    ut_logcap lc;
    ut_log_start(&lc);
    kz_zkc_free(k.z2);
    k.z2 = NULL;
    WAIT_FOR(zstate(k.z1, yes, 0, &st, &a, NULL) && st.leader == 1, 20000);
    ck_assert(isr_is(&st, 1, (int32_t[]){ 1 }));
    ck_assert_int_eq(st.leader_epoch, 1);
    WAIT_FOR(zstate(k.z1, no, 0, &st, &a, NULL) && st.leader == -1, 20000);
    ck_assert(isr_is(&st, 1, (int32_t[]){ 2 })); /* the last ISR member is kept */
    char *log = ut_log_stop(&lc);
    ck_assert_ptr_nonnull(strstr(log, want));
    ck_assert_ptr_null(strstr(log, nowarn));
    ck_assert_ptr_nonnull(strstr(log, "OfflinePartitionLeaderElectionStrategy(false)"));
    free(log);

    eldone e = { 0 };
    kb_ctl_tp tps[] = { { no, 0 }, { yes, 0 }, { "uc", 1 } };
    kb_ctl_elect_leaders(k.ctl, KB_CTL_ELECT_UNCLEAN, tps, 3, el_cb, &e);
    WAIT_FOR(e.calls == 1, 20000);
    ck_assert_int_eq(e.res[0].error, 0);
    ck_assert_int_eq(e.res[0].leader, 1);
    ck_assert_int_eq(e.res[1].error, KB_CTL_E_ELECTION_NOT_NEEDED);
    ck_assert_int_eq(e.res[2].error, KB_CTL_E_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert(zstate(k.z1, no, 0, &st, &a, NULL));
    ck_assert_int_eq(st.leader, 1);
    ck_assert(isr_is(&st, 1, (int32_t[]){ 1 }));

    /* not the controller */
    kb_ctl_cfg c2 = ctl_cfg();
    c2.broker_id = 2;
    kb_ctl *other = kb_ctl_new(base, k.z1, &c2);
    ck_assert_ptr_nonnull(other);
    memset(&e, 0, sizeof e);
    kb_ctl_elect_leaders(other, KB_CTL_ELECT_PREFERRED, tps, 2, el_cb, &e);
    csdone d = { 0 };
    kb_ctl_controlled_shutdown(other, 1, -1, cs_cb, &d);
    WAIT_FOR(e.calls == 1 && d.calls == 1, 20000);
    ck_assert_int_eq(e.n, 2);
    ck_assert_int_eq(e.res[0].error, KB_CTL_E_NOT_CONTROLLER);
    ck_assert_int_eq(e.res[1].error, KB_CTL_E_NOT_CONTROLLER);
    ck_assert_int_eq(d.err, KB_CTL_E_NOT_CONTROLLER);
    ck_assert_int_eq(d.n, 0);
    /* requests still queued when the controller goes are answered too */
    memset(&d, 0, sizeof d);
    kb_ctl_controlled_shutdown(other, 1, -1, cs_cb, &d);
    kb_ctl_free(other);
    ck_assert_int_eq(d.calls, 1);
    ck_assert_int_eq(d.err, KB_CTL_E_NOT_CONTROLLER);

    cl_stop(&k);
    kz_arena_reset(&a);
}
END_TEST

/* Auto leader rebalance: "ar" p0 [2,1] moved to 1 by a controlled shutdown of
 * 2 goes back to 2 by itself once 2 is a live ISR member again, and not
 * while it is shutting down. */
START_TEST(auto_rebalance_restores_preferred)
{
    kz_log_set_level(KZ_LOG_WARN);
    cl k;
    kb_ctl_cfg cc = ctl_cfg();
    cc.auto_leader_rebalance = true;
    cc.leader_imbalance_pct = 10;
    cc.rebalance_first_delay_ms = 100;
    cc.rebalance_interval_ms = 200;
    cl_start(&k, &cc);
    int32_t rows[][2] = { { 2, 1 }, { 1, 2 } };
    cl_topic(&k, "ar", 2, rows, NULL);
    csdone d = { 0 };
    kb_ctl_controlled_shutdown(k.ctl, 2, k.epoch2, cs_cb, &d);
    WAIT_FOR(d.calls == 1, 20000);
    ck_assert_int_eq(d.err, 0);
    kz_arena a = KZ_ARENA_INIT;
    kb_zk_pstate st;
    ck_assert(zstate(k.z1, "ar", 0, &st, &a, NULL));
    ck_assert_int_eq(st.leader, 1);
    /* in the ISR, but shutting down: no move */
    zset_isr(k.z1, "ar", 0, 2, (int32_t[]){ 1, 2 });
    ut_spin(base, 800);
    ck_assert(zstate(k.z1, "ar", 0, &st, &a, NULL));
    ck_assert_int_eq(st.leader, 1);
    /* a new registration and the ISR again: the check moves p0 back */
    ut_logcap lc;
    ut_log_start(&lc);
    kz_log_set_level(KZ_LOG_INFO);
    kz_zkc_free(k.z2);
    k.z2 = NULL;
    WAIT_FOR(!kb_ctl_ctx_is_live(&k.ctl->x, 2), 20000);
    int c3 = 0;
    kz_zkc *z3 = zk_connect(&c3);
    zregister(z3, 2, k.fb2.port);
    WAIT_FOR(kb_ctl_ctx_is_up(&k.ctl->x, 2), 20000);
    WAIT_FOR(zstate(k.z1, "ar", 0, &st, &a, NULL) && isr_is(&st, 1, (int32_t[]){ 1 }), 20000);
    zset_isr(k.z1, "ar", 0, 2, (int32_t[]){ 1, 2 });
    WAIT_FOR(zstate(k.z1, "ar", 0, &st, &a, NULL) && st.leader == 2, 20000);
    ck_assert(isr_is(&st, 2, (int32_t[]){ 1, 2 }));
    ck_assert(zstate(k.z1, "ar", 1, &st, &a, NULL));
    ck_assert_int_eq(st.leader, 1); /* its preferred replica leads already */
    kz_log_set_level(KZ_LOG_WARN);
    char *log = ut_log_stop(&lc);
    ck_assert_ptr_nonnull(strstr(log, "Processing automatic preferred replica leader election"));
    ck_assert_ptr_nonnull(strstr(log, "Starting replica leader election (PREFERRED) for partitions ar-0 "
                                      "triggered by AutoTriggered"));
    ck_assert_ptr_nonnull(strstr(log, "Removed 2 from list of shutting down brokers."));
    free(log);
    /* resigning stops the timer */
    kb_ctl_on_session_lost(k.ctl);
    ck_assert(!kb_ctl_is_active(k.ctl));
    ck_assert(!evtimer_pending(k.ctl->rebalance, NULL));
    kz_zkc_free(z3);
    cl_stop(&k);
    kz_arena_reset(&a);
}
END_TEST

/* ------------------------------------------- the stopping broker's side */

typedef struct csclient {
    int calls;
    bool ok;
    int port;
} csclient;

static int cs_locate(void *ctx, int32_t id, char *host, size_t hostlen, int32_t *port)
{
    csclient *cc = ctx;
    if (id != 7)
        return -1;
    snprintf(host, hostlen, "127.0.0.1");
    *port = cc->port;
    return 0;
}

static void cs_done(void *ctx, bool ok)
{
    csclient *cc = ctx;
    cc->calls++;
    cc->ok = ok;
}

/* How the stand-in controller answers ControlledShutdown. */
typedef struct cs_answer {
    int16_t error;
    int remaining; /* partitions "t-0".. listed as remaining (4 at the most) */
    bool silent;   /* no answer at all */
} cs_answer;

/* fb_frame_fn of the stand-in controller: ControlledShutdown as its
 * cs_answer says, anything else a zeroed success. */
static bool cs_on_frame(fbroker *fb, struct bufferevent *bev, int i, int16_t key, int16_t ver, int32_t corr)
{
    (void)i;
    const cs_answer *ans = fb->ctx;
    if (key != 7) {
        fb_reply(bev, key, ver, corr, NULL);
        return true;
    }
    if (ans->silent)
        return true;
    kz_ControlledShutdownResponseRemainingPartition rem[4];
    kz_ControlledShutdownResponse r = { .error_code = ans->error };
    for (int k = 0; k < ans->remaining && k < 4; k++)
        rem[k] = (kz_ControlledShutdownResponseRemainingPartition){ .topic_name = KZ_STR_LIT("t"),
                                                                    .partition_index = k };
    r.remaining_partitions.n = ans->remaining;
    r.remaining_partitions.v = rem;
    fb_reply(bev, key, ver, corr, &r);
    return true;
}

/* Against a stand-in controller (broker 7): success at once; remaining
 * partitions and errors retried max.retries times with the backoff; no
 * controller known; no answer within the attempt's bound; abort. */
START_TEST(shutdown_client_attempts)
{
    kz_log_set_level(KZ_LOG_WARN);
    fbroker fc;
    cs_answer ans = { 0 };
    fb_start(&fc, base, 0, cs_on_frame, &ans);
    kb_ctl_cfg cfg = ctl_cfg();
    kb_ctl *c = kb_ctl_new(base, NULL, &cfg); /* never started: no ZooKeeper needed */
    ck_assert_ptr_nonnull(c);
    c->controller_id = 7;
    csclient cc = { .port = fc.port };
    kb_ctl_cs_cfg sc = { .broker_epoch = 42, .max_retries = 3, .backoff_ms = 50, .timeout_ms = 5000 };
    kz_arena a = KZ_ARENA_INIT;

    /* success: one request, v3, our id and epoch */
    ck_assert_int_eq(kb_ctl_shutdown_begin(c, &sc, cs_locate, cs_done, &cc), 0);
    ck_assert(kb_ctl_shutdown_running(c));
    ck_assert_int_eq(kb_ctl_shutdown_begin(c, &sc, cs_locate, cs_done, &cc), -1); /* one at a time */
    ck_assert_int_eq(cc.calls, 0);
    WAIT_FOR(cc.calls == 1, 10000);
    ck_assert(cc.ok);
    ck_assert(!kb_ctl_shutdown_running(c));
    ck_assert_int_eq(fb_count(&fc, 7), 1);
    ck_assert_int_eq(fc.ver[0], 3);
    kz_ControlledShutdownRequest rq;
    kz_str cid;
    fb_decode(&fc, 0, &rq, &a, &cid);
    ck_assert_int_eq(rq.broker_id, 1);
    ck_assert_int_eq(rq.broker_epoch, 42);
    ck_assert(str_is(cid, "1"));

    /* partitions remain every time: three attempts, then give up */
    ans.remaining = 2;
    ut_logcap lc;
    ut_log_start(&lc);
    kz_log_set_level(KZ_LOG_INFO);
    memset(&cc, 0, sizeof cc);
    cc.port = fc.port;
    int64_t t0 = kz_mono_ms();
    ck_assert_int_eq(kb_ctl_shutdown_begin(c, &sc, cs_locate, cs_done, &cc), 0);
    WAIT_FOR(cc.calls == 1, 10000);
    ck_assert(!cc.ok);
    ck_assert_int_ge(kz_mono_ms() - t0, 100); /* two backoffs */
    ck_assert_int_eq(fb_count(&fc, 7), 4);
    /* an error from the controller: the same */
    ans.remaining = 0;
    ans.error = KB_CTL_E_NOT_CONTROLLER;
    memset(&cc, 0, sizeof cc);
    cc.port = fc.port;
    ck_assert_int_eq(kb_ctl_shutdown_begin(c, &sc, cs_locate, cs_done, &cc), 0);
    WAIT_FOR(cc.calls == 1, 10000);
    ck_assert(!cc.ok);
    ck_assert_int_eq(fb_count(&fc, 7), 7);
    kz_log_set_level(KZ_LOG_WARN);
    char *log = ut_log_stop(&lc);
    ck_assert_ptr_nonnull(strstr(log, "Starting controlled shutdown"));
    ck_assert_ptr_nonnull(strstr(log, "Remaining partitions to move: t-0,t-1"));
    ck_assert_ptr_nonnull(strstr(log, "Retrying controlled shutdown (2 retries remaining)"));
    ck_assert_ptr_nonnull(strstr(log, "Retrying controlled shutdown (1 retries remaining)"));
    ck_assert_ptr_null(strstr(log, "Retrying controlled shutdown (0 retries remaining)"));
    ck_assert_ptr_nonnull(strstr(log, "Error from controller: NOT_CONTROLLER"));
    ck_assert_ptr_nonnull(strstr(log, "Proceeding to do an unclean shutdown as all the controlled shutdown "
                                      "attempts failed"));
    free(log);

    /* no controller known: attempts fail without a request */
    ans.error = 0;
    c->controller_id = -1;
    memset(&cc, 0, sizeof cc);
    cc.port = fc.port;
    sc.max_retries = 2;
    ck_assert_int_eq(kb_ctl_shutdown_begin(c, &sc, cs_locate, cs_done, &cc), 0);
    WAIT_FOR(cc.calls == 1, 10000);
    ck_assert(!cc.ok);
    ck_assert_int_eq(fb_count(&fc, 7), 7);
    /* a controller whose endpoint is unknown: the same */
    c->controller_id = 8;
    memset(&cc, 0, sizeof cc);
    ck_assert_int_eq(kb_ctl_shutdown_begin(c, &sc, cs_locate, cs_done, &cc), 0);
    WAIT_FOR(cc.calls == 1, 10000);
    ck_assert(!cc.ok);
    /* no answer within the attempt's bound */
    c->controller_id = 7;
    ans.silent = true;
    memset(&cc, 0, sizeof cc);
    cc.port = fc.port;
    sc.max_retries = 1;
    sc.timeout_ms = 200;
    t0 = kz_mono_ms();
    ck_assert_int_eq(kb_ctl_shutdown_begin(c, &sc, cs_locate, cs_done, &cc), 0);
    WAIT_FOR(cc.calls == 1, 10000);
    ck_assert(!cc.ok);
    ck_assert_int_ge(kz_mono_ms() - t0, 190);
    ck_assert_int_eq(fb_count(&fc, 7), 8);
    /* aborted while waiting: done at once */
    memset(&cc, 0, sizeof cc);
    cc.port = fc.port;
    sc.timeout_ms = 10000;
    ck_assert_int_eq(kb_ctl_shutdown_begin(c, &sc, cs_locate, cs_done, &cc), 0);
    WAIT_FOR(fb_count(&fc, 7) == 9, 10000);
    kb_ctl_shutdown_abort(c);
    ck_assert_int_eq(cc.calls, 1);
    ck_assert(!cc.ok);
    ck_assert(!kb_ctl_shutdown_running(c));
    ut_spin(base, 50);
    ck_assert_int_eq(cc.calls, 1);
    /* no attempts allowed: over at once (from the loop) */
    sc.max_retries = 0;
    memset(&cc, 0, sizeof cc);
    ck_assert_int_eq(kb_ctl_shutdown_begin(c, &sc, cs_locate, cs_done, &cc), 0);
    ck_assert_int_eq(cc.calls, 0);
    WAIT_FOR(cc.calls == 1, 10000);
    ck_assert(!cc.ok);
    ck_assert_int_eq(fb_count(&fc, 7), 9);
    /* freed while running: no callback */
    sc.max_retries = 3;
    memset(&cc, 0, sizeof cc);
    cc.port = fc.port;
    ck_assert_int_eq(kb_ctl_shutdown_begin(c, &sc, cs_locate, cs_done, &cc), 0);
    WAIT_FOR(fb_count(&fc, 7) == 10, 10000);
    kb_ctl_free(c);
    ut_spin(base, 50);
    ck_assert_int_eq(cc.calls, 0);
    fb_stop(&fc);
    kz_arena_reset(&a);
}
END_TEST

static Suite *ctl_repl_suite(void)
{
    Suite *s = suite_create("ctl_repl");
    TCase *tc = tcase_create("pure");
    tcase_add_test(tc, elect_cshut_decision);
    tcase_add_test(tc, imbalance_ratio);
    tcase_add_test(tc, context_shutting_down);
    tcase_add_test(tc, cshut_plan_and_remaining);
    tcase_add_test(tc, rebalance_candidates);
    tcase_add_test(tc, elect_leaders_codes);
    suite_add_tcase(s, tc);
    TCase *tl = tcase_create("loop");
    tcase_add_checked_fixture(tl, loop_setup, loop_teardown);
    tcase_set_timeout(tl, 60);
    tcase_add_test(tl, shutdown_client_attempts);
    suite_add_tcase(s, tl);
    TCase *tz = tcase_create("zk");
    tcase_add_checked_fixture(tz, zk_setup, zk_teardown);
    tcase_set_timeout(tz, 120);
    tcase_add_test(tz, controlled_shutdown_moves_leaders);
    tcase_add_loop_test(tz, unclean_by_topic_config, 0, 2);
    tcase_add_test(tz, auto_rebalance_restores_preferred);
    suite_add_tcase(s, tz);
    return s;
}

int main(void)
{
    kz_log_set_level(KZ_LOG_ERROR);
    return ut_run(ctl_repl_suite());
}
