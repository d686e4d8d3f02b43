/* test/unit/check_ctl.c -- the controller and the admin path.
 * "pure": state-machine tables, leader election and ISR decisions, the
 * context, the requests built for brokers (checked field by field and by a
 * wire round trip), the IBP version table, the admin path's name rules.
 * "zk": the controller and kb_admin against a real zkd, with recording
 * stand-in brokers (see the section header below).
 *
 * Expected values come from Kafka 2.8's rules (NOTES.md 6 and 12) and, where
 * named, from the znodes of a real cluster (../shared/ref/kafka/zk-*.txt). */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

/* ================================================= against a real zkd
 *
 * zkd built by this tree (ZKD_BIN, else build/release/zkd) on a free
 * 127.0.0.1 port; the controller and the admin path run on the test's
 * event loop over kz_zkc (fixtures and clients in ctl_fixture.h);
 * "brokers" are fake_broker.h listeners that record every request frame and
 * answer with an empty success. What the code claims is checked in the
 * znodes and in the decoded requests. */

static bool zexists(kz_zkc *z, const char *path)
{
    zres r;
    return zget(z, path, &r) == KZ_ZOK;
}

static void zset(kz_zkc *z, const char *path, const char *data, int32_t version)
{
    zres r = { 0 };
    ck_assert_int_eq(kz_zkc_set(z, path, data, (int32_t)strlen(data), version, zres_cb, &r), 0);
    WAIT_FOR(r.calls == 1, 20000);
    ck_assert_int_eq(r.rc, KZ_ZOK);
}

static bool has_um_with_brokers(const fbroker *fb, int nbrokers, kz_arena *a)
{
    for (int i = 0; i < fb->n; i++) {
        if (fb->key[i] != 6)
            continue;
        kz_UpdateMetadataRequest um;
        fb_decode(fb, i, &um, a, NULL);
        if (um.live_brokers.n == nbrokers)
            return true;
    }
    return false;
}

/* The controller end to end: election, topic creation, broker failure,
 * deletion paused and resumed, fenced writes. */
START_TEST(controller_lifecycle)
{
    kz_log_set_level(KZ_LOG_WARN);
    fbroker fb1, fb2;
    fb_start(&fb1, base, 0, NULL, NULL);
    fb_start(&fb2, base, 0, NULL, NULL);
    fb1.client_id = fb2.client_id = "1"; /* the controller's broker id, as Kafka's channel */
    int c1 = 0, c2 = 0;
    kz_zkc *z1 = zk_connect(&c1), *z2 = zk_connect(&c2);
    int paths = 0;
    kb_zk_ensure_persistent_paths(z1, done_zk, &paths);
    WAIT_FOR(paths != 0, 20000);
    zregister(z1, 1, fb1.port);
    zregister(z2, 2, fb2.port);

    kb_ctl_cfg cc = ctl_cfg();
    kb_ctl *ctl = kb_ctl_new(base, z1, &cc);
    ck_assert_ptr_nonnull(ctl);
    ck_assert_int_eq(kb_ctl_start(ctl), 0);
    WAIT_FOR(kb_ctl_is_active(ctl), 20000);
    ck_assert_int_eq(kb_ctl_controller_id(ctl), 1);
    ck_assert_int_eq(kb_ctl_epoch(ctl), 1);
    zres r;
    ck_assert_int_eq(zget(z2, "/controller_epoch", &r), KZ_ZOK);
    ck_assert_str_eq(r.data, "1");
    ck_assert_int_eq(zget(z2, "/controller", &r), KZ_ZOK);
    ck_assert_ptr_nonnull(strstr(r.data, "\"brokerid\":1"));
    kz_arena a = KZ_ARENA_INIT;
    /* both brokers hear about both (UpdateMetadata at failover) */
    WAIT_FOR(has_um_with_brokers(&fb1, 2, &a) && has_um_with_brokers(&fb2, 2, &a), 20000);

    /* a topic: p0 on [1,2], p1 on [2,1] */
    kb_admin_cfg ac = { .num_partitions = 1, .default_replication = 1, .delete_topic_enable = true,
                        .write_topic_id = true, .base = base };
    kb_admin *adm = kb_admin_new(z2, &ac);
    int32_t r0[] = { 1, 2 }, r1[] = { 2, 1 };
    kb_admin_replicas asg[] = { { 2, r0 }, { 2, r1 } };
    kb_admin_topic_spec spec = { .name = "t", .num_partitions = -1, .replication_factor = -1, .n_assign = 2,
                                 .assign = asg };
    kb_assign_broker bs[] = { { 1, NULL }, { 2, NULL } };
    adone d = { 0 };
    kb_admin_create_topic(adm, &spec, bs, 2, false, adone_cb, &d);
    WAIT_FOR(d.calls == 1, 20000);
    ck_assert_int_eq(d.err, 0);
    ck_assert_int_eq(d.res.num_partitions, 2);
    kb_zk_pstate st;
    int32_t zkv = -1;
    WAIT_FOR(zstate(z2, "t", 1, &st, &a, &zkv), 20000);
    ck_assert_int_eq(st.leader, 2);
    ck_assert_int_eq(st.leader_epoch, 0);
    ck_assert_int_eq(st.controller_epoch, 1);
    ck_assert_int_eq(st.n_isr, 2);
    ck_assert_int_eq(st.isr[0], 2);
    ck_assert_int_eq(st.isr[1], 1);
    ck_assert_int_eq(zkv, 0);
    ck_assert(zstate(z2, "t", 0, &st, &a, NULL));
    ck_assert_int_eq(st.leader, 1);
    /* LeaderAndIsr v5 to broker 1 for both partitions, new replicas */
    kz_LeaderAndIsrRequest lreq;
    WAIT_FOR(fb_last_lai(&fb1, "t", 1, &a, &lreq) && fb_last_lai(&fb1, "t", 0, &a, &lreq), 20000);
    const kz_LeaderAndIsrPartitionState *ps = fb_last_lai(&fb1, "t", 1, &a, &lreq);
    ck_assert(ps->is_new);
    ck_assert_int_eq(ps->leader, 2);
    ck_assert_int_eq(ps->zk_version, 0);
    ck_assert_int_eq(lreq.controller_id, 1);
    ck_assert_int_eq(lreq.controller_epoch, 1);
    bool leader2 = false;
    for (int32_t i = 0; i < lreq.live_leaders.n; i++)
        leader2 = leader2 || (lreq.live_leaders.v[i].broker_id == 2 && lreq.live_leaders.v[i].port == fb2.port);
    ck_assert(leader2);
    ck_assert_int_eq(zget(z2, "/brokers/topics/t", &r), KZ_ZOK);
    ck_assert_ptr_nonnull(strstr(r.data, "\"topic_id\":\""));

    /* broker 2 goes: p1 moves to 1 (epoch 1), p0 drops 2 from its ISR */
    kz_zkc_free(z2);
    z2 = NULL;
    int c3 = 0;
    kz_zkc *z3 = zk_connect(&c3);
    kb_admin_free(adm);
    ac.base = base;
    adm = kb_admin_new(z3, &ac);
    WAIT_FOR(zstate(z3, "t", 1, &st, &a, NULL) && st.leader == 1, 20000);
    ck_assert_int_eq(st.leader_epoch, 1);
    ck_assert_int_eq(st.n_isr, 1);
    ck_assert_int_eq(st.isr[0], 1);
    WAIT_FOR(zstate(z3, "t", 0, &st, &a, NULL) && st.n_isr == 1, 20000);
    ck_assert_int_eq(st.leader, 1);
    ck_assert_int_eq(st.leader_epoch, 1);
    WAIT_FOR(fb_last_lai(&fb1, "t", 1, &a, &lreq) && fb_last_lai(&fb1, "t", 1, &a, &lreq)->leader_epoch == 1, 20000);
    ck_assert_int_eq(fb_last_lai(&fb1, "t", 1, &a, &lreq)->leader, 1);

    /* deletion waits for broker 2 */
    memset(&d, 0, sizeof d);
    kb_admin_delete_topic(adm, "t", adone_cb, &d);
    ck_assert_int_eq(d.calls, 0);
    WAIT_FOR(d.calls == 1, 20000);
    ck_assert_int_eq(d.err, 0);
    ck_assert(zexists(z3, "/admin/delete_topics/t"));
    ut_spin(base, 500);
    ck_assert(zexists(z3, "/brokers/topics/t"));
    int stops_before = fb_count(&fb2, 5);
    zregister(z3, 2, fb2.port);
    WAIT_FOR(!zexists(z3, "/brokers/topics/t"), 20000);
    WAIT_FOR(!zexists(z3, "/config/topics/t"), 20000); /* deleted after the topic tree */
    WAIT_FOR(!zexists(z3, "/admin/delete_topics/t"), 20000);
    ck_assert_int_gt(fb_count(&fb2, 5), stops_before);
    /* the StopReplica v3 asked to delete both partitions, epoch -2 */
    int found = 0;
    for (int i = 0; i < fb2.n; i++) {
        if (fb2.key[i] != 5)
            continue;
        ck_assert_int_eq(fb2.ver[i], 3);
        kz_StopReplicaRequest sr;
        fb_decode(&fb2, i, &sr, &a, NULL);
        for (int32_t t = 0; t < sr.topic_states.n; t++)
            for (int32_t k = 0; k < sr.topic_states.v[t].partition_states.n; k++) {
                const kz_StopReplicaPartitionState *sp = &sr.topic_states.v[t].partition_states.v[k];
                ck_assert(sp->delete_partition);
                ck_assert_int_eq(sp->leader_epoch, -2);
                found++;
            }
    }
    ck_assert_int_eq(found, 2);

    /* a write fenced by a moved epoch: resign, then win again with epoch 2 */
    ck_assert_int_eq(zget(z3, "/controller_epoch", &r), KZ_ZOK);
    zset(z3, "/controller_epoch", r.data, r.stat.version);
    kb_admin_topic_spec s2 = { .name = "u", .num_partitions = 1, .replication_factor = 2 };
    memset(&d, 0, sizeof d);
    kb_admin_create_topic(adm, &s2, bs, 2, false, adone_cb, &d);
    WAIT_FOR(d.calls == 1, 20000);
    ck_assert_int_eq(d.err, 0);
    WAIT_FOR(zstate(z3, "u", 0, &st, &a, NULL), 20000);
    ck_assert_int_eq(st.controller_epoch, 2);
    WAIT_FOR(kb_ctl_is_active(ctl) && kb_ctl_epoch(ctl) == 2, 20000);
    ck_assert_int_eq(zget(z3, "/controller_epoch", &r), KZ_ZOK);
    ck_assert_str_eq(r.data, "2");

    kz_zkc_free(z3);
    kz_zkc_free(z1);
    kb_ctl_free(ctl);
    kb_admin_free(adm);
    kz_arena_reset(&a);
    fb_stop(&fb1);
    fb_stop(&fb2);
}
END_TEST

/* The admin path alone: its checks and messages, and the znodes it writes. */
START_TEST(admin_znodes_and_errors)
{
    kz_log_set_level(KZ_LOG_WARN);
    int c1 = 0;
    kz_zkc *z = zk_connect(&c1);
    int paths = 0;
    kb_zk_ensure_persistent_paths(z, done_zk, &paths);
    WAIT_FOR(paths != 0, 20000);
    kb_admin_cfg ac = { .num_partitions = 3, .default_replication = 2, .delete_topic_enable = true,
                        .write_topic_id = true, .base = base };
    kb_admin *adm = kb_admin_new(z, &ac);
    kb_assign_broker bs[] = { { 3, NULL }, { 1, NULL }, { 2, NULL } };
    kb_cfg_pair cfg[] = { { "retention.ms", "1000" } };
    adone d = { 0 };
    zres r;

    /* defaults: 3 partitions, RF 2; config written first */
    kb_admin_topic_spec s = { .name = "a.b", .num_partitions = -1, .replication_factor = -1, .n_configs = 1,
                              .configs = cfg };
    kb_admin_create_topic(adm, &s, bs, 3, false, adone_cb, &d);
    WAIT_FOR(d.calls == 1, 20000);
    ck_assert_msg(d.err == 0, "%d %s", d.err, d.msg);
    ck_assert_int_eq(d.res.num_partitions, 3);
    ck_assert_int_eq(d.res.replication_factor, 2);
    ck_assert_int_eq(zget(z, "/config/topics/a.b", &r), KZ_ZOK);
    ck_assert_str_eq(r.data, "{\"version\":1,\"config\":{\"retention.ms\":\"1000\"}}");
    ck_assert_int_eq(zget(z, "/brokers/topics/a.b", &r), KZ_ZOK);
    kz_arena a = KZ_ARENA_INIT;
    kb_zk_topic zt;
    char err[160];
    ck_assert_int_eq(kb_zk_topic_decode(r.data, (size_t)r.len, &a, &zt, err, sizeof err), 0);
    ck_assert_int_eq(zt.version, 3);
    ck_assert(zt.has_id);
    ck_assert_mem_eq(zt.id.b, d.res.topic_id, 16);
    ck_assert_int_eq(zt.n_parts, 3);
    for (int32_t p = 0; p < 3; p++) {
        ck_assert_int_eq(zt.parts[p].n_replicas, 2);
        ck_assert_int_ne(zt.parts[p].replicas[0], zt.parts[p].replicas[1]);
    }
    /* the first replicas go round-robin over the id-sorted brokers */
    ck_assert_int_eq((zt.parts[1].replicas[0] - zt.parts[0].replicas[0] + 3) % 3, 1);
    ck_assert_int_eq((zt.parts[2].replicas[0] - zt.parts[1].replicas[0] + 3) % 3, 1);
    int32_t p0first = zt.parts[0].replicas[0];
    kz_uuid id = zt.id;

    /* refusals, each completed later than the call */
    struct { kb_admin_topic_spec s; size_t nb; int16_t err; const char *msg; } bad[] = {
        { { .name = "a_b", .num_partitions = 1, .replication_factor = 1 }, 3, KB_ADMIN_INVALID_TOPIC_EXCEPTION,
          "Topic 'a_b' collides with existing topic: a.b" },
        { { .name = "a.b", .num_partitions = 1, .replication_factor = 1 }, 3, KB_ADMIN_TOPIC_ALREADY_EXISTS,
          "Topic 'a.b' already exists." },
        { { .name = "x", .num_partitions = 1, .replication_factor = 4 }, 3, KB_ADMIN_INVALID_REPLICATION_FACTOR,
          "Replication factor: 4 larger than available brokers: 3." },
        { { .name = "x", .num_partitions = 0, .replication_factor = 1 }, 3, KB_ADMIN_INVALID_PARTITIONS,
          "Number of partitions must be larger than 0." },
        { { .name = "x y", .num_partitions = 1, .replication_factor = 1 }, 3, KB_ADMIN_INVALID_TOPIC_EXCEPTION,
          "Topic name \"x y\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'" },
        { { .name = "x", .num_partitions = 1, .replication_factor = 1, .n_assign = 1,
            .assign = (kb_admin_replicas[]){ { 1, (int32_t[]){ 1 } } } }, 3, KB_ADMIN_INVALID_REQUEST,
          "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the "
          "same time." },
        { { .name = "x", .num_partitions = 1, .replication_factor = 1, .n_configs = 1,
            .configs = (kb_cfg_pair[]){ { "retention.ms", NULL } } }, 3, KB_ADMIN_INVALID_REQUEST,
          "Null value not supported for topic configs : retention.ms" },
        { { .name = "x", .num_partitions = -1, .replication_factor = -1, .n_assign = 2,
            .assign = (kb_admin_replicas[]){ { 1, (int32_t[]){ 1 } }, { 2, (int32_t[]){ 1, 2 } } } }, 3,
          KB_ADMIN_INVALID_REPLICA_ASSIGNMENT, "All partitions should have the same number of replicas" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&d, 0, sizeof d);
        kb_admin_create_topic(adm, &bad[i].s, bs, bad[i].nb, false, adone_cb, &d);
        ck_assert_int_eq(d.calls, 0);
        WAIT_FOR(d.calls == 1, 20000);
        ck_assert_msg(d.err == bad[i].err, "case %zu: err %d (%s)", i, d.err, d.msg);
        ck_assert_str_eq(d.msg, bad[i].msg);
        ck_assert(!d.has_res);
    }
    ck_assert(!zexists(z, "/brokers/topics/x"));
    ck_assert(!zexists(z, "/config/topics/x"));
    /* a bad config value: Kafka's message from the topic config table */
    kb_admin_topic_spec sc = { .name = "x", .num_partitions = 1, .replication_factor = 1, .n_configs = 1,
                               .configs = (kb_cfg_pair[]){ { "retention.ms", "abc" } } };
    memset(&d, 0, sizeof d);
    kb_admin_create_topic(adm, &sc, bs, 3, false, adone_cb, &d);
    WAIT_FOR(d.calls == 1, 20000);
    ck_assert_int_eq(d.err, KB_ADMIN_INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(d.msg, "retention.ms"));
    /* validate only writes nothing */
    kb_admin_topic_spec sv = { .name = "v", .num_partitions = 2, .replication_factor = 3 };
    memset(&d, 0, sizeof d);
    kb_admin_create_topic(adm, &sv, bs, 3, true, adone_cb, &d);
    WAIT_FOR(d.calls == 1, 20000);
    ck_assert_int_eq(d.err, 0);
    ck_assert_int_eq(d.res.num_partitions, 2);
    ck_assert_int_eq(d.res.replication_factor, 3);
    ck_assert(!zexists(z, "/brokers/topics/v"));
    ck_assert(!zexists(z, "/config/topics/v"));

    /* partitions: messages of ZkAdminManager, then growth as Kafka assigns */
    struct { const char *t; int32_t total; int32_t nman; kb_admin_replicas *man; int16_t err; const char *msg; } pc[] = {
        { "a.b", 2, 0, NULL, KB_ADMIN_INVALID_PARTITIONS,
          "Topic currently has 3 partitions, which is higher than the requested 2." },
        { "a.b", 3, 0, NULL, KB_ADMIN_INVALID_PARTITIONS, "Topic already has 3 partitions." },
        { "nope", 3, 0, NULL, KB_ADMIN_UNKNOWN_TOPIC_OR_PARTITION, "The topic 'nope' does not exist." },
        { "a.b", 5, 1, (kb_admin_replicas[]){ { 2, (int32_t[]){ 1, 9 } } }, KB_ADMIN_INVALID_REPLICA_ASSIGNMENT,
          "Unknown broker(s) in replica assignment: 9." },
        { "a.b", 5, 1, (kb_admin_replicas[]){ { 2, (int32_t[]){ 1, 2 } } }, KB_ADMIN_INVALID_REPLICA_ASSIGNMENT,
          "Increasing the number of partitions by 2 but 1 assignments provided." },
        { "a.b", 4, 1, (kb_admin_replicas[]){ { 2, (int32_t[]){ 2, 2 } } }, KB_ADMIN_INVALID_REPLICA_ASSIGNMENT,
          "Duplicate brokers not allowed in replica assignment: 2, 2 for partition id 3." },
        { "a.b", 4, 1, (kb_admin_replicas[]){ { 1, (int32_t[]){ 2 } } }, KB_ADMIN_INVALID_REPLICA_ASSIGNMENT,
          "Inconsistent replication factor between partitions, partition 0 has 2 while partitions [3] has "
          "replicas of size 1." },
    };
    for (size_t i = 0; i < sizeof pc / sizeof pc[0]; i++) {
        memset(&d, 0, sizeof d);
        kb_admin_create_partitions(adm, pc[i].t, pc[i].total, pc[i].man, pc[i].nman, bs, 3, false, adone_cb, &d);
        WAIT_FOR(d.calls == 1, 20000);
        ck_assert_msg(d.err == pc[i].err, "case %zu: err %d (%s)", i, d.err, d.msg);
        ck_assert_str_eq(d.msg, pc[i].msg);
    }
    memset(&d, 0, sizeof d);
    kb_admin_create_partitions(adm, "a.b", 5, NULL, 0, bs, 3, false, adone_cb, &d);
    WAIT_FOR(d.calls == 1, 20000);
    ck_assert_msg(d.err == 0, "%s", d.msg);
    ck_assert_int_eq(zget(z, "/brokers/topics/a.b", &r), KZ_ZOK);
    ck_assert_int_eq(kb_zk_topic_decode(r.data, (size_t)r.len, &a, &zt, err, sizeof err), 0);
    ck_assert_int_eq(zt.n_parts, 5);
    ck_assert_mem_eq(zt.id.b, id.b, 16); /* the id stays */
    int32_t want[4];
    int32_t start = kb_assign_start_index(bs, 3, p0first);
    ck_assert_int_eq(kb_assign_replicas_fixed(bs, 3, 2, 2, 3, start, start, want), 0);
    for (int k = 0; k < 2; k++)
        for (int j = 0; j < 2; j++)
            ck_assert_int_eq(zt.parts[3 + k].replicas[j], want[k * 2 + j]);

    /* config: replaced, then a change notification */
    kb_cfg_pair nc[] = { { "cleanup.policy", "compact" } };
    memset(&d, 0, sizeof d);
    kb_admin_alter_topic_config(adm, "nope", nc, 1, false, adone_cb, &d);
    WAIT_FOR(d.calls == 1, 20000);
    ck_assert_int_eq(d.err, KB_ADMIN_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_str_eq(d.msg, "Topic 'nope' does not exist.");
    memset(&d, 0, sizeof d);
    kb_admin_alter_topic_config(adm, "a.b", nc, 1, false, adone_cb, &d);
    WAIT_FOR(d.calls == 1, 20000);
    ck_assert_int_eq(d.err, 0);
    ck_assert_int_eq(zget(z, "/config/topics/a.b", &r), KZ_ZOK);
    ck_assert_str_eq(r.data, "{\"version\":1,\"config\":{\"cleanup.policy\":\"compact\"}}");
    ck_assert_int_eq(zchildren(z, "/config/changes", &r), KZ_ZOK);
    ck_assert_int_eq(r.nchildren, 1);
    ck_assert_str_eq(r.children[0], "config_change_0000000000");
    ck_assert_int_eq(zget(z, "/config/changes/config_change_0000000000", &r), KZ_ZOK);
    ck_assert_str_eq(r.data, "{\"version\":2,\"entity_path\":\"topics/a.b\"}");

    /* deletion marker: unknown topic, then twice (the second is fine too) */
    memset(&d, 0, sizeof d);
    kb_admin_delete_topic(adm, "nope", adone_cb, &d);
    WAIT_FOR(d.calls == 1, 20000);
    ck_assert_int_eq(d.err, KB_ADMIN_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_str_eq(d.msg, "Topic `nope` to delete does not exist");
    for (int k = 0; k < 2; k++) {
        memset(&d, 0, sizeof d);
        kb_admin_delete_topic(adm, "a.b", adone_cb, &d);
        WAIT_FOR(d.calls == 1, 20000);
        ck_assert_int_eq(d.err, 0);
        ck_assert(zexists(z, "/admin/delete_topics/a.b"));
    }
    /* a topic marked for deletion cannot be created again */
    memset(&d, 0, sizeof d);
    kb_admin_create_topic(adm, &s, bs, 3, false, adone_cb, &d);
    WAIT_FOR(d.calls == 1, 20000);
    ck_assert_int_eq(d.err, KB_ADMIN_TOPIC_ALREADY_EXISTS);
    ck_assert_str_eq(d.msg, "Topic 'a.b' is marked for deletion.");

    kz_zkc_free(z);
    kb_admin_free(adm);
    kz_arena_reset(&a);
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
    TCase *tz = tcase_create("zk");
    tcase_add_checked_fixture(tz, zk_setup, zk_teardown);
    tcase_set_timeout(tz, 120);
    tcase_add_test(tz, controller_lifecycle);
    tcase_add_test(tz, admin_znodes_and_errors);
    suite_add_tcase(s, tz);
    return s;
}

int main(void)
{
    kz_log_set_level(KZ_LOG_ERROR);
    return ut_run(ctl_suite());
}
