/* test/unit/check_ctl.c -- the controller's pure parts: state-machine
 * tables, leader election and ISR decisions, the context, the requests
 * built for brokers (checked field by field and by a wire round trip), the
 * IBP version table, and the admin path's name rules.
 *
 * Expected values come from Kafka 2.8's rules (NOTES.md 6 and 12) and, where
 * named, from the znodes of a real cluster (../shared/ref/kafka/zk-*.txt). */
#include <check.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "kb_admin.h"
#include "kb_ctl.h"
#include "kb_ctl_ctx.h"
#include "kb_ctl_int.h"
#include "kb_ctl_sm.h"
#include "kz_kmsgs.h"
#include "unit_util.h"

static kb_ctl_ids ids(int n, ...)
{
    kb_ctl_ids r = { 0 };
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        r.v[r.n++] = va_arg(ap, int32_t);
    va_end(ap);
    return r;
}

static void expect_ids(const kb_ctl_ids *got, int n, const int32_t *want)
{
    ck_assert_int_eq(got->n, n);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(got->v[i], want[i]);
}

/* ----------------------------------------------------- state machines */

START_TEST(state_tables)
{
    /* partition: Kafka's validPreviousStates */
    ck_assert(kb_ctl_part_ok[KB_PS_NONEXISTENT][KB_PS_NEW]);
    ck_assert(kb_ctl_part_ok[KB_PS_NEW][KB_PS_ONLINE]);
    ck_assert(kb_ctl_part_ok[KB_PS_ONLINE][KB_PS_ONLINE]);
    ck_assert(kb_ctl_part_ok[KB_PS_OFFLINE][KB_PS_NONEXISTENT]);
    ck_assert(!kb_ctl_part_ok[KB_PS_NONEXISTENT][KB_PS_ONLINE]);
    ck_assert(!kb_ctl_part_ok[KB_PS_ONLINE][KB_PS_NONEXISTENT]);
    ck_assert(!kb_ctl_part_ok[KB_PS_ONLINE][KB_PS_NEW]);
    ck_assert(!kb_ctl_part_ok[KB_PS_NEW][KB_PS_NONEXISTENT]);
    int legal = 0;
    for (int a = 0; a < KB_PS__N; a++)
        for (int b = 0; b < KB_PS__N; b++)
            legal += kb_ctl_part_ok[a][b];
    ck_assert_int_eq(legal, 8);
    /* replica */
    ck_assert(kb_ctl_repl_ok[KB_RS_NONEXISTENT][KB_RS_NEW]);
    ck_assert(kb_ctl_repl_ok[KB_RS_OFFLINE][KB_RS_DEL_STARTED]);
    ck_assert(kb_ctl_repl_ok[KB_RS_DEL_STARTED][KB_RS_DEL_OK]);
    ck_assert(kb_ctl_repl_ok[KB_RS_DEL_OK][KB_RS_NONEXISTENT]);
    ck_assert(kb_ctl_repl_ok[KB_RS_DEL_INELIGIBLE][KB_RS_ONLINE]);
    ck_assert(!kb_ctl_repl_ok[KB_RS_ONLINE][KB_RS_DEL_STARTED]);
    ck_assert(!kb_ctl_repl_ok[KB_RS_DEL_OK][KB_RS_ONLINE]);
    ck_assert(!kb_ctl_repl_ok[KB_RS_NEW][KB_RS_DEL_STARTED]);
    ck_assert_str_eq(kb_ctl_pstate_name(KB_PS_OFFLINE), "OfflinePartition");
    ck_assert_str_eq(kb_ctl_rstate_name(KB_RS_DEL_INELIGIBLE), "ReplicaDeletionIneligible");
}
END_TEST

/* ------------------------------------------------------------ elections */

static const int32_t LIVE123[] = { 1, 2, 3 };
static const int32_t LIVE23[] = { 2, 3 };

START_TEST(elect_new_partition)
{
    kb_ctl_live live = { LIVE23, 2 };
    kb_ctl_ids r = ids(3, 1, 2, 3);
    kb_ctl_lai l;
    ck_assert(kb_ctl_elect_new(&r, &live, 7, &l));
    ck_assert_int_eq(l.leader, 2);
    ck_assert_int_eq(l.leader_epoch, 0);
    ck_assert_int_eq(l.ctl_epoch, 7);
    ck_assert_int_eq(l.zk_version, 0);
    expect_ids(&l.isr, 2, (int32_t[]){ 2, 3 });
    /* assignment order, not id order: zk-01 bs-compact "1":[2,3,1] -> isr [2,3,1] */
    kb_ctl_live all = { LIVE123, 3 };
    r = ids(3, 2, 3, 1);
    ck_assert(kb_ctl_elect_new(&r, &all, 1, &l));
    ck_assert_int_eq(l.leader, 2);
    expect_ids(&l.isr, 3, (int32_t[]){ 2, 3, 1 });
    /* nobody alive: stays New */
    kb_ctl_live none = { NULL, 0 };
    l.leader = 99;
    ck_assert(!kb_ctl_elect_new(&r, &none, 1, &l));
    ck_assert_int_eq(l.leader, 99);
}
END_TEST

START_TEST(elect_offline_partition)
{
    kb_ctl_ids r = ids(3, 1, 2, 3);
    kb_ctl_lai cur = { .leader = 1, .leader_epoch = 4, .ctl_epoch = 1, .zk_version = 9, .isr = ids(3, 3, 1, 2) };
    kb_ctl_live live = { LIVE23, 2 };
    kb_ctl_lai l;
    bool unclean = true;
    /* first in assignment order that is live and in the ISR: 2 (not 3, first in the ISR) */
    ck_assert(kb_ctl_elect_offline(&r, &cur, &live, false, 2, &l, &unclean));
    ck_assert(!unclean);
    ck_assert_int_eq(l.leader, 2);
    ck_assert_int_eq(l.leader_epoch, 5);
    ck_assert_int_eq(l.ctl_epoch, 2);
    ck_assert_int_eq(l.zk_version, 9);       /* the write is conditional on it */
    expect_ids(&l.isr, 2, (int32_t[]){ 3, 2 }); /* ISR order kept, dead dropped */

    /* only a dead broker in the ISR: no clean leader */
    cur.isr = ids(1, 1);
    ck_assert(!kb_ctl_elect_offline(&r, &cur, &live, false, 2, &l, &unclean));
    ck_assert(!unclean);
    /* unclean allowed: the first live replica, ISR = [leader] */
    ck_assert(kb_ctl_elect_offline(&r, &cur, &live, true, 2, &l, &unclean));
    ck_assert(unclean);
    ck_assert_int_eq(l.leader, 2);
    expect_ids(&l.isr, 1, (int32_t[]){ 2 });
    ck_assert_int_eq(l.leader_epoch, 5);
    /* unclean allowed but nobody alive */
    kb_ctl_live none = { NULL, 0 };
    ck_assert(!kb_ctl_elect_offline(&r, &cur, &none, true, 2, &l, &unclean));
}
END_TEST

/* zk-02-broker3-down: broker 3 stopped, partitions it was only a follower of
 * went from {"leader":1,"leader_epoch":0,"isr":[1,2,3]} to
 * {"leader":1,"leader_epoch":1,"isr":[1,2]}. */
START_TEST(isr_remove_follower_and_leader)
{
    kb_ctl_lai cur = { .leader = 1, .leader_epoch = 0, .ctl_epoch = 1, .zk_version = 0, .isr = ids(3, 1, 2, 3) };
    kb_ctl_lai l;
    ck_assert(kb_ctl_isr_remove(&cur, 3, 1, &l));
    ck_assert_int_eq(l.leader, 1);
    ck_assert_int_eq(l.leader_epoch, 1);
    ck_assert_int_eq(l.ctl_epoch, 1);
    expect_ids(&l.isr, 2, (int32_t[]){ 1, 2 });
    /* the leader itself: leader -1 */
    ck_assert(kb_ctl_isr_remove(&cur, 1, 3, &l));
    ck_assert_int_eq(l.leader, KB_CTL_NO_LEADER);
    expect_ids(&l.isr, 2, (int32_t[]){ 2, 3 });
    ck_assert_int_eq(l.ctl_epoch, 3);
    /* the last ISR member stays (Kafka keeps the last ISR) */
    kb_ctl_lai last = { .leader = 3, .leader_epoch = 6, .isr = ids(1, 3) };
    ck_assert(kb_ctl_isr_remove(&last, 3, 2, &l));
    ck_assert_int_eq(l.leader, KB_CTL_NO_LEADER);
    ck_assert_int_eq(l.leader_epoch, 7);
    expect_ids(&l.isr, 1, (int32_t[]){ 3 });
    /* not in the ISR: nothing to write */
    ck_assert(!kb_ctl_isr_remove(&cur, 4, 1, &l));
    /* ... and the kept ISR lets the broker lead again cleanly once back */
    kb_ctl_ids r = ids(2, 3, 1);
    kb_ctl_live live = { LIVE123, 3 };
    bool unclean;
    ck_assert(kb_ctl_elect_offline(&r, &l, &live, false, 2, &l, &unclean));
    ck_assert_int_eq(l.leader, 3);
    ck_assert(!unclean);
}
END_TEST

START_TEST(elect_preferred)
{
    kb_ctl_ids r = ids(3, 1, 2, 3);
    kb_ctl_lai cur = { .leader = 2, .leader_epoch = 3, .ctl_epoch = 1, .zk_version = 4, .isr = ids(2, 2, 1) };
    kb_ctl_live live = { LIVE123, 3 };
    kb_ctl_lai l;
    ck_assert(kb_ctl_elect_preferred(&r, &cur, &live, 5, &l));
    ck_assert_int_eq(l.leader, 1);
    ck_assert_int_eq(l.leader_epoch, 4);
    ck_assert_int_eq(l.ctl_epoch, 5);
    ck_assert_int_eq(l.zk_version, 4);
    expect_ids(&l.isr, 2, (int32_t[]){ 2, 1 });
    kb_ctl_live l23 = { LIVE23, 2 };
    ck_assert(!kb_ctl_elect_preferred(&r, &cur, &l23, 5, &l));      /* preferred dead */
    cur.isr = ids(2, 2, 3);
    ck_assert(!kb_ctl_elect_preferred(&r, &cur, &live, 5, &l));     /* not in ISR */
    cur.leader = 1;
    cur.isr = ids(2, 1, 2);
    ck_assert(!kb_ctl_elect_preferred(&r, &cur, &live, 5, &l));     /* already leader */
}
END_TEST

START_TEST(lai_invariants)
{
    kb_ctl_ids r = ids(3, 1, 2, 3);
    kb_ctl_lai ok = { .leader = 2, .isr = ids(2, 2, 3) };
    ck_assert_ptr_null(kb_ctl_lai_check(&ok, &r));
    kb_ctl_lai noleader = { .leader = -1, .isr = ids(1, 3) };
    ck_assert_ptr_null(kb_ctl_lai_check(&noleader, &r));
    kb_ctl_lai bad1 = { .leader = 1, .isr = ids(2, 2, 3) };
    ck_assert_str_eq(kb_ctl_lai_check(&bad1, &r), "leader not in ISR");
    kb_ctl_lai bad2 = { .leader = 2, .isr = ids(2, 2, 4) };
    ck_assert_str_eq(kb_ctl_lai_check(&bad2, &r), "ISR member not a replica");
    kb_ctl_lai bad3 = { .leader = 2, .isr = ids(2, 2, 2) };
    ck_assert_str_eq(kb_ctl_lai_check(&bad3, &r), "duplicate ISR member");
    kb_ctl_lai bad4 = { .leader = -1, .isr = { 0 } };
    ck_assert_ptr_nonnull(kb_ctl_lai_check(&bad4, &r));
    char buf[32];
    ck_assert_str_eq(kb_ctl_ids_str(r.v, r.n, buf, sizeof buf), "1,2,3");
    ck_assert_str_eq(kb_ctl_ids_str(r.v, 0, buf, sizeof buf), "");
}
END_TEST

/* -------------------------------------------------------------- context */

/* A broker with one PLAINTEXT endpoint at 127.0.0.<id>:9092 and, for id 2,
 * a second listener. */
static void add_broker(kb_ctl_ctx *x, int32_t id, int64_t epoch)
{
    kb_ctl_broker b = { .id = id, .epoch = epoch };
    b.nep = id == 2 ? 2 : 1;
    b.eps = calloc((size_t)b.nep, sizeof *b.eps);
    char host[32];
    snprintf(host, sizeof host, "127.0.0.%d", id);
    b.eps[0] = (kb_ctl_ep){ strdup("PLAINTEXT"), strdup(host), 9092, 0 };
    if (id == 2)
        b.eps[1] = (kb_ctl_ep){ strdup("SSL"), strdup(host), 9093, 1 };
    if (id == 3)
        b.rack = strdup("r3");
    ck_assert_ptr_nonnull(kb_ctl_ctx_put_broker(x, &b));
    ck_assert_ptr_null(b.eps); /* taken */
}

static kb_ctl_topic *add_topic(kb_ctl_ctx *x, const char *name, int32_t nparts, const int32_t *rows, int rf)
{
    kb_ctl_topic *t = kb_ctl_ctx_add_topic(x, name, nparts);
    ck_assert_ptr_nonnull(t);
    for (int32_t p = 0; p < nparts; p++) {
        t->parts[p].replicas.n = rf;
        memcpy(t->parts[p].replicas.v, rows + p * rf, (size_t)rf * sizeof(int32_t));
    }
    return t;
}

START_TEST(context_order_and_lookup)
{
    kb_ctl_ctx x;
    kb_ctl_ctx_init(&x);
    add_broker(&x, 3, 30);
    add_broker(&x, 1, 10);
    add_broker(&x, 2, 20);
    ck_assert_int_eq(x.nbrokers, 3);
    ck_assert_int_eq(x.live_ids[0], 1);
    ck_assert_int_eq(x.live_ids[2], 3);
    ck_assert(kb_ctl_ctx_is_live(&x, 2));
    ck_assert(!kb_ctl_ctx_is_live(&x, 4));
    /* replacing keeps one entry and takes the new epoch */
    add_broker(&x, 2, 25);
    ck_assert_int_eq(x.nbrokers, 3);
    ck_assert_int_eq(kb_ctl_ctx_broker(&x, 2)->epoch, 25);
    ck_assert_int_eq(kb_ctl_broker_ep(kb_ctl_ctx_broker(&x, 2), "SSL")->port, 9093);
    ck_assert_ptr_null(kb_ctl_broker_ep(kb_ctl_ctx_broker(&x, 1), "SSL"));
    kb_ctl_ctx_del_broker(&x, 2);
    ck_assert_int_eq(x.nbrokers, 2);
    ck_assert(!kb_ctl_ctx_is_live(&x, 2));
    ck_assert_int_eq(x.live_ids[1], 3);

    static const int32_t rows[] = { 1, 3 };
    add_topic(&x, "zeta", 1, rows, 2);
    add_topic(&x, "alpha", 1, rows, 2);
    add_topic(&x, "mid", 1, rows, 2);
    ck_assert_ptr_null(kb_ctl_ctx_add_topic(&x, "mid", 1));
    ck_assert_str_eq(x.topics[0]->name, "alpha");
    ck_assert_str_eq(x.topics[2]->name, "zeta");
    ck_assert_ptr_nonnull(kb_ctl_ctx_topic(&x, "mid"));
    kb_ctl_ctx_del_topic(&x, "mid");
    ck_assert_ptr_null(kb_ctl_ctx_topic(&x, "mid"));
    ck_assert_int_eq(x.ntopics, 2);
    kb_ctl_topic *t = kb_ctl_ctx_topic(&x, "zeta");
    ck_assert_int_eq(kb_ctl_topic_grow(t, 3), 0);
    ck_assert_int_eq(t->nparts, 3);
    ck_assert_int_eq(t->parts[2].pstate, KB_PS_NONEXISTENT);
    ck_assert_int_eq(t->parts[0].replicas.n, 2); /* kept */

    /* offline replicas: 2 is gone */
    kb_ctl_ids off;
    t->parts[1].replicas = ids(3, 1, 2, 3);
    kb_ctl_part_offline(&x, &t->parts[1], &off);
    expect_ids(&off, 1, (int32_t[]){ 2 });

    /* state moves follow the tables */
    kb_ctl_part_set(t, 0, KB_PS_NEW);
    kb_ctl_part_set(t, 0, KB_PS_ONLINE);
    ck_assert_int_eq(t->parts[0].pstate, KB_PS_ONLINE);
    kb_ctl_repl_set(t, 0, 1, KB_RS_NEW);
    kb_ctl_repl_set(t, 0, 1, KB_RS_ONLINE);
    ck_assert_int_eq(t->parts[0].rstate[1], KB_RS_ONLINE);
    ck_assert_int_eq(kb_ctl_part_replica_index(&t->parts[0], 3), 1);
    ck_assert_int_eq(kb_ctl_part_replica_index(&t->parts[0], 2), -1);
    ck_assert_ptr_null(kb_ctl_ctx_check(&x));
    t->parts[0].has_lai = true;
    t->parts[0].lai = (kb_ctl_lai){ .leader = 3, .isr = ids(1, 1) };
    ck_assert_str_eq(kb_ctl_ctx_check(&x), "leader not in ISR");
    kb_ctl_ctx_clear(&x);
}
END_TEST

/* An illegal move stops the process (KB_CTL_ASSERT stays on in release). */
START_TEST(illegal_move_aborts)
{
    kb_ctl_ctx x;
    kb_ctl_ctx_init(&x);
    static const int32_t rows[] = { 1 };
    kb_ctl_topic *t = add_topic(&x, "t", 1, rows, 1);
    kb_ctl_part_set(t, 0, KB_PS_ONLINE); /* NonExistent -> Online: refused */
}
END_TEST

/* ------------------------------------------------------------- requests */

/* Brokers 1, 2, 3 (3 has a rack); topic "t" with partitions
 *   0: replicas [1,2,3], leader 1, isr [1,2,3], leader epoch 0, zkv 0
 *   1: replicas [2,3,1], leader 2, isr [2,3],   leader epoch 4, zkv 6, ctl epoch 3
 *   2: replicas [3,1,2], no state yet. */
static void req_fixture(kb_ctl_ctx *x, kb_ctl_topic **tout)
{
    kb_ctl_ctx_init(x);
    x->epoch = 5;
    x->epoch_zkv = 5;
    add_broker(x, 1, 100);
    add_broker(x, 2, 200);
    add_broker(x, 3, 300);
    static const int32_t rows[] = { 1, 2, 3, 2, 3, 1, 3, 1, 2 };
    kb_ctl_topic *t = add_topic(x, "t", 3, rows, 3);
    for (int i = 0; i < 16; i++)
        t->id.b[i] = (uint8_t)(i + 1);
    t->has_id = true;
    t->parts[0].has_lai = true;
    t->parts[0].lai = (kb_ctl_lai){ .leader = 1, .leader_epoch = 0, .ctl_epoch = 5, .zk_version = 0, .isr = ids(3, 1, 2, 3) };
    t->parts[1].has_lai = true;
    t->parts[1].lai = (kb_ctl_lai){ .leader = 2, .leader_epoch = 4, .ctl_epoch = 3, .zk_version = 6, .isr = ids(2, 2, 3) };
    *tout = t;
}

/* Encodes @m at @ver, decodes it back and checks both agree on the size. */
static void wire_roundtrip(const kz_kmsg *m, int16_t ver, const void *in, void *out, kz_arena *a)
{
    kz_wr w = KZ_WR_INIT;
    kz_kmsg_encode(m, ver, in, &w);
    ck_assert_int_eq(w.err, 0);
    kz_rd r = kz_rd_init(w.base, w.len);
    ck_assert_int_eq(kz_kmsg_decode(m, ver, &r, out, a), 0);
    ck_assert_int_eq(kz_rd_left(&r), 0);
    kz_wr_free(&w);
}

START_TEST(leader_and_isr_v5)
{
    kb_ctl_ctx x;
    kb_ctl_topic *t;
    req_fixture(&x, &t);
    kb_ctl_batch b;
    kb_ctl_batch_init(&b);
    /* p1 to its replicas, p0 to broker 2 twice (is_new once), p2 (no state) */
    kb_ctl_batch_lai(&b, &x, t->parts[1].replicas.v, 3, t, 1, false);
    kb_ctl_batch_lai(&b, &x, (int32_t[]){ 2 }, 1, t, 0, true);
    kb_ctl_batch_lai(&b, &x, (int32_t[]){ 2, 9 }, 2, t, 0, false); /* 9 is not live: dropped */
    kb_ctl_batch_lai(&b, &x, (int32_t[]){ 2 }, 1, t, 2, false);
    kz_arena a = KZ_ARENA_INIT;
    kz_LeaderAndIsrRequest req;
    ck_assert_int_eq(kb_ctl_build_lai(&x, &b, 1, 2, 5, "PLAINTEXT", &a, &req), 2);
    ck_assert_int_eq(req.controller_id, 1);
    ck_assert_int_eq(req.controller_epoch, 5);
    ck_assert_int_eq(req.broker_epoch, 200);
    ck_assert_int_eq(req.type, 0);
    ck_assert_int_eq(req.topic_states.n, 1);
    const kz_LeaderAndIsrTopicState *ts = &req.topic_states.v[0];
    ck_assert(str_is(ts->topic_name, "t"));
    ck_assert_int_eq(ts->topic_id.b[0], 1);
    ck_assert_int_eq(ts->topic_id.b[15], 16);
    ck_assert_int_eq(ts->partition_states.n, 2);
    const kz_LeaderAndIsrPartitionState *p0 = &ts->partition_states.v[0], *p1 = &ts->partition_states.v[1];
    ck_assert_int_eq(p0->partition_index, 0);
    ck_assert(p0->is_new); /* or-ed over the duplicates */
    ck_assert_int_eq(p0->leader, 1);
    ck_assert_int_eq(p0->isr.n, 3);
    ck_assert_int_eq(p0->controller_epoch, 5);
    ck_assert_int_eq(p1->partition_index, 1);
    ck_assert(!p1->is_new);
    ck_assert_int_eq(p1->controller_epoch, 3); /* of the state znode, not ours */
    ck_assert_int_eq(p1->leader_epoch, 4);
    ck_assert_int_eq(p1->zk_version, 6);
    ck_assert_int_eq(p1->replicas.n, 3);
    ck_assert_int_eq(p1->replicas.v[0], 2);
    ck_assert_int_eq(p1->isr.v[1], 3);
    ck_assert_int_eq(p1->adding_replicas.n, 0);
    /* live leaders 1 and 2 at their inter-broker endpoints */
    ck_assert_int_eq(req.live_leaders.n, 2);
    ck_assert_int_eq(req.live_leaders.v[0].broker_id, 1);
    ck_assert(str_is(req.live_leaders.v[0].host_name, "127.0.0.1"));
    ck_assert_int_eq(req.live_leaders.v[1].port, 9092);
    /* on the wire and back */
    kz_LeaderAndIsrRequest back;
    wire_roundtrip(&kz_kmsg_LeaderAndIsrRequest, 5, &req, &back, &a);
    ck_assert_int_eq(back.topic_states.v[0].partition_states.v[1].zk_version, 6);
    ck_assert_int_eq(back.topic_states.v[0].topic_id.b[7], 8);
    ck_assert_int_eq(back.broker_epoch, 200);
    /* the SSL listener gives the other port */
    ck_assert_int_eq(kb_ctl_build_lai(&x, &b, 1, 2, 5, "SSL", &a, &req), 2);
    ck_assert_int_eq(req.live_leaders.n, 1); /* only broker 2 has SSL */
    ck_assert_int_eq(req.live_leaders.v[0].port, 9093);
    /* broker 3 gets p1 only; broker 9 nothing */
    ck_assert_int_eq(kb_ctl_build_lai(&x, &b, 1, 3, 5, "PLAINTEXT", &a, &req), 1);
    ck_assert_int_eq(kb_ctl_build_lai(&x, &b, 1, 9, 5, "PLAINTEXT", &a, &req), 0);
    /* v1 is ungrouped with topic names */
    ck_assert_int_eq(kb_ctl_build_lai(&x, &b, 1, 2, 1, "PLAINTEXT", &a, &req), 2);
    ck_assert_int_eq(req.topic_states.n, 0);
    ck_assert_int_eq(req.ungrouped_partition_states.n, 2);
    ck_assert(str_is(req.ungrouped_partition_states.v[1].topic_name, "t"));
    wire_roundtrip(&kz_kmsg_LeaderAndIsrRequest, 1, &req, &back, &a);
    ck_assert_int_eq(back.ungrouped_partition_states.v[1].leader, 2);
    /* destinations: LeaderAndIsr entries and UpdateMetadata to all live */
    int32_t d[16];
    ck_assert_int_eq(kb_ctl_batch_dests(&b, d), 3);
    ck_assert_int_eq(d[0], 1);
    ck_assert_int_eq(d[2], 3);
    kz_arena_reset(&a);
    kb_ctl_batch_clear(&b);
    kb_ctl_ctx_clear(&x);
}
END_TEST

START_TEST(update_metadata_v7)
{
    kb_ctl_ctx x;
    kb_ctl_topic *t;
    req_fixture(&x, &t);
    kb_ctl_batch b;
    kb_ctl_batch_init(&b);
    /* brokers only to 1; then the three partitions (p2 has no state) */
    kb_ctl_batch_um(&b, &x, (int32_t[]){ 1 }, 1, NULL, 0);
    kz_arena a = KZ_ARENA_INIT;
    kz_UpdateMetadataRequest req;
    ck_assert_int_eq(kb_ctl_build_um(&x, &b, 1, 1, 7, &a, &req), 0);
    ck_assert_int_eq(req.topic_states.n, 0);
    ck_assert_int_eq(req.live_brokers.n, 3);
    ck_assert_int_eq(kb_ctl_build_um(&x, &b, 1, 2, 7, &a, &req), -1); /* not a destination */
    for (int32_t p = 0; p < 3; p++)
        kb_ctl_batch_um(&b, &x, x.live_ids, x.nbrokers, t, p);
    kb_ctl_ctx_del_broker(&x, 3); /* now offline */
    ck_assert_int_eq(kb_ctl_build_um(&x, &b, 1, 2, 7, &a, &req), 2);
    ck_assert_int_eq(req.controller_epoch, 5);
    ck_assert_int_eq(req.broker_epoch, 200);
    ck_assert_int_eq(req.topic_states.n, 1);
    const kz_UpdateMetadataPartitionState *s1 = &req.topic_states.v[0].partition_states.v[1];
    ck_assert_int_eq(s1->partition_index, 1);
    ck_assert_int_eq(s1->leader, 2);
    ck_assert_int_eq(s1->zk_version, 6);
    ck_assert_int_eq(s1->offline_replicas.n, 1);
    ck_assert_int_eq(s1->offline_replicas.v[0], 3);
    ck_assert_int_eq(req.live_brokers.n, 2);
    const kz_UpdateMetadataBroker *b2 = &req.live_brokers.v[1];
    ck_assert_int_eq(b2->id, 2);
    ck_assert_int_eq(b2->endpoints.n, 2);
    ck_assert(str_is(b2->endpoints.v[1].listener, "SSL"));
    ck_assert_int_eq(b2->endpoints.v[1].security_protocol, 1);
    ck_assert_int_eq(b2->rack.len, -1);
    kz_UpdateMetadataRequest back;
    wire_roundtrip(&kz_kmsg_UpdateMetadataRequest, 7, &req, &back, &a);
    ck_assert_int_eq(back.topic_states.v[0].partition_states.v[0].isr.n, 3);
    ck_assert_int_eq(back.live_brokers.v[0].endpoints.v[0].port, 9092);
    /* a topic queued for deletion: leader -2, epoch 0, zk version 0 (duringDelete) */
    t->queued_delete = true;
    ck_assert_int_eq(kb_ctl_build_um(&x, &b, 1, 1, 7, &a, &req), 2);
    s1 = &req.topic_states.v[0].partition_states.v[1];
    ck_assert_int_eq(s1->leader, KB_CTL_LEADER_DURING_DELETE);
    ck_assert_int_eq(s1->leader_epoch, 0);
    ck_assert_int_eq(s1->zk_version, 0);
    ck_assert_int_eq(s1->isr.n, 2);
    /* v4: ungrouped, v0 host/port of the PLAINTEXT endpoint kept */
    ck_assert_int_eq(kb_ctl_build_um(&x, &b, 1, 1, 4, &a, &req), 2);
    ck_assert_int_eq(req.ungrouped_partition_states.n, 2);
    ck_assert(str_is(req.ungrouped_partition_states.v[0].topic_name, "t"));
    wire_roundtrip(&kz_kmsg_UpdateMetadataRequest, 4, &req, &back, &a);
    ck_assert_int_eq(back.ungrouped_partition_states.v[1].leader, -2);
    kz_arena_reset(&a);
    kb_ctl_batch_clear(&b);
    kb_ctl_ctx_clear(&x);
}
END_TEST

START_TEST(stop_replica_versions)
{
    kb_ctl_ctx x;
    kb_ctl_topic *t;
    req_fixture(&x, &t);
    static const int32_t rows[] = { 2 };
    kb_ctl_topic *u = add_topic(&x, "u", 1, rows, 1);
    kb_ctl_batch b;
    kb_ctl_batch_init(&b);
    kb_ctl_batch_stop(&b, 2, t, 1, false);
    kb_ctl_batch_stop(&b, 2, t, 0, true);
    kb_ctl_batch_stop(&b, 2, u, 0, false);
    kb_ctl_batch_stop(&b, 2, t, 1, true); /* delete wins over the plain stop */
    kz_arena a = KZ_ARENA_INIT;
    kz_StopReplicaRequest req, back;
    ck_assert_int_eq(kb_ctl_build_stop(&x, &b, 1, 2, 3, -1, &a, &req), 3);
    ck_assert_int_eq(req.topic_states.n, 2);
    ck_assert(str_is(req.topic_states.v[0].topic_name, "t"));
    const kz_StopReplicaPartitionState *ps = req.topic_states.v[0].partition_states.v;
    ck_assert_int_eq(req.topic_states.v[0].partition_states.n, 2);
    ck_assert_int_eq(ps[0].partition_index, 0);
    ck_assert(ps[0].delete_partition);
    ck_assert_int_eq(ps[0].leader_epoch, 0);
    ck_assert(ps[1].delete_partition);
    ck_assert_int_eq(ps[1].leader_epoch, 4);
    ck_assert_int_eq(req.topic_states.v[1].partition_states.v[0].leader_epoch, -1); /* no state */
    t->queued_delete = true;
    ck_assert_int_eq(kb_ctl_build_stop(&x, &b, 1, 2, 3, -1, &a, &req), 3);
    ck_assert_int_eq(req.topic_states.v[0].partition_states.v[1].leader_epoch, KB_CTL_EPOCH_DURING_DELETE);
    wire_roundtrip(&kz_kmsg_StopReplicaRequest, 3, &req, &back, &a);
    ck_assert_int_eq(back.broker_epoch, 200);
    ck_assert_int_eq(back.topic_states.v[0].partition_states.v[1].leader_epoch, -2);
    /* v1: one request per flag */
    ck_assert_int_eq(kb_ctl_build_stop(&x, &b, 1, 2, 1, 1, &a, &req), 2);
    ck_assert(req.delete_partitions);
    ck_assert_int_eq(req.topics.n, 1);
    ck_assert_int_eq(req.topics.v[0].partition_indexes.n, 2);
    ck_assert_int_eq(kb_ctl_build_stop(&x, &b, 1, 2, 1, 0, &a, &req), 1);
    ck_assert(!req.delete_partitions);
    ck_assert(str_is(req.topics.v[0].name, "u"));
    wire_roundtrip(&kz_kmsg_StopReplicaRequest, 1, &req, &back, &a);
    ck_assert_int_eq(back.topics.v[0].partition_indexes.v[0], 0);
    ck_assert_int_eq(kb_ctl_build_stop(&x, &b, 1, 3, 3, -1, &a, &req), 0);
    kb_ctl_batch_reset(&b);
    ck_assert(kb_ctl_batch_empty(&b));
    kz_arena_reset(&a);
    kb_ctl_batch_clear(&b);
    kb_ctl_ctx_clear(&x);
}
END_TEST

/* --------------------------------------------------------------- config */

START_TEST(ibp_versions)
{
    static const struct { const char *ibp; int16_t lai, um, sr; bool ids; } tab[] = {
        { "2.8-IV1", 5, 7, 3, true }, { "2.8-IV0", 4, 6, 3, true }, { "2.8", 5, 7, 3, true },
        { "2.7-IV2", 4, 6, 3, false }, { "2.6-IV0", 4, 6, 3, false }, { "2.5-IV0", 4, 6, 2, false },
        { "2.4-IV1", 4, 6, 2, false }, { "2.4-IV0", 3, 5, 1, false }, { "2.3-IV1", 2, 5, 1, false },
        { "2.2-IV0", 2, 5, 1, false }, { "2.1-IV2", 1, 4, 0, false }, { "1.0-IV0", 1, 4, 0, false },
        { "0.11.0-IV2", 0, 3, 0, false }, { "0.10.2-IV0", 0, 3, 0, false }, { "0.10.1-IV2", 0, 2, 0, false },
        { "0.9.0", 0, 1, 0, false }, { "0.8.2", 0, 0, 0, false }, { NULL, 5, 7, 3, true },
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        int16_t lai, um, sr;
        bool tid;
        kb_ctl_ibp_versions(tab[i].ibp, &lai, &um, &sr, &tid);
        ck_assert_msg(lai == tab[i].lai && um == tab[i].um && sr == tab[i].sr && tid == tab[i].ids,
                      "%s: got %d/%d/%d/%d", tab[i].ibp ? tab[i].ibp : "NULL", lai, um, sr, tid);
    }
}
END_TEST

START_TEST(admin_topic_names)
{
    char msg[512];
    ck_assert_int_eq(kb_admin_validate_topic_name("ok.name_-9", msg, sizeof msg), 0);
    ck_assert_int_eq(kb_admin_validate_topic_name("", msg, sizeof msg), KB_ADMIN_INVALID_TOPIC_EXCEPTION);
    ck_assert_str_eq(msg, "Topic name is illegal, it can't be empty");
    ck_assert_int_eq(kb_admin_validate_topic_name("..", msg, sizeof msg), KB_ADMIN_INVALID_TOPIC_EXCEPTION);
    ck_assert_str_eq(msg, "Topic name cannot be \".\" or \"..\"");
    ck_assert_int_eq(kb_admin_validate_topic_name("a b", msg, sizeof msg), KB_ADMIN_INVALID_TOPIC_EXCEPTION);
    ck_assert_str_eq(msg, "Topic name \"a b\" is illegal, it contains a character other than ASCII "
                          "alphanumerics, '.', '_' and '-'");
    char longname[251];
    memset(longname, 'x', 250);
    longname[250] = '\0';
    ck_assert_int_eq(kb_admin_validate_topic_name(longname, msg, sizeof msg), KB_ADMIN_INVALID_TOPIC_EXCEPTION);
    char want[600];
    snprintf(want, sizeof want, "Topic name is illegal, it can't be longer than 249 characters, topic name: %s",
             longname);
    ck_assert_str_eq(msg, want);
    longname[249] = '\0';
    ck_assert_int_eq(kb_admin_validate_topic_name(longname, NULL, 0), 0);
    ck_assert(kb_admin_topics_collide("a.b", "a_b"));
    ck_assert(kb_admin_topics_collide("a.b_c", "a_b.c"));
    ck_assert(!kb_admin_topics_collide("a.b", "a.bc"));
    ck_assert(!kb_admin_topics_collide("a-b", "a_b"));
}
END_TEST

static Suite *ctl_suite(void)
{
    Suite *s = suite_create("ctl");
    TCase *tc = tcase_create("pure");
    tcase_add_test(tc, state_tables);
    tcase_add_test(tc, elect_new_partition);
    tcase_add_test(tc, elect_offline_partition);
    tcase_add_test(tc, isr_remove_follower_and_leader);
    tcase_add_test(tc, elect_preferred);
    tcase_add_test(tc, lai_invariants);
    tcase_add_test(tc, context_order_and_lookup);
    tcase_add_test_raise_signal(tc, illegal_move_aborts, SIGABRT);
    tcase_add_test(tc, leader_and_isr_v5);
    tcase_add_test(tc, update_metadata_v7);
    tcase_add_test(tc, stop_replica_versions);
    tcase_add_test(tc, ibp_versions);
    tcase_add_test(tc, admin_topic_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    kz_log_set_level(KZ_LOG_ERROR);
    SRunner *sr = srunner_create(ctl_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
