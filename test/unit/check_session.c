/* test/unit/check_session.c -- zkd_session.c: passwords, timeout
 * negotiation, session ids, and the tick-bucket expiry structure.
 *
 * Passwords are java.util.Random(id ^ 0xB3415C00).nextBytes(16); the
 * expected bytes were printed by a JVM (and agree with a Python model of
 * the 48-bit LCG). Buckets follow ZooKeeper's ExpiryQueue: a session's
 * deadline is roundToNextInterval(now + timeout) = (t / tick + 1) * tick and
 * sessions sharing a deadline form one list, whose head is s->buckets[at].
 * The server is a zeroed zkd_server with a zkd_config on the stack (tick
 * 100 ms) and a real event_base; it never serves, so the tick timer only
 * unlinks due buckets and nothing goes through the txn pipeline. Deadlines
 * depend on the wall clock: where two adds must share a deadline the test
 * retries when a tick boundary fell between them. Leaks are caught by
 * `make unit SAN=1`. */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kz_map.h"
#include "kz_time.h"
#include "zkd_config.h"
#include "zkd_server.h"
#include "unit_util.h"

#define TICK 100

static zkd_config CFG;
static zkd_server S;

static void setup(void)
{
    memset(&CFG, 0, sizeof CFG);
    CFG.tick_time = TICK;
    CFG.min_session_timeout = 2 * TICK;
    CFG.max_session_timeout = 20 * TICK;
    memset(&S, 0, sizeof S);
    S.cfg = &CFG;
    S.serving = false;
    S.base = event_base_new();
    ck_assert_ptr_nonnull(S.base);
    ck_assert_int_eq(zkd_session_init(&S), 0);
    ck_assert_ptr_nonnull(S.tick_ev);
}

static void teardown(void)
{
    zkd_session_fini(&S);
    event_base_free(S.base);
    S.base = NULL;
}

static int64_t round_up(int64_t t) { return (t / TICK + 1) * TICK; }

/* Ids of bucket @at in list order, "-" when there is no such bucket. */
static const char *bucket(int64_t at)
{
    static char out[1024];
    uint64_t v;
    if (!kz_map_get(&S.buckets, at, &v))
        return "-";
    size_t len = 0;
    out[0] = '\0';
    const zkd_session *prev = NULL;
    for (const zkd_session *se = (const zkd_session *)(uintptr_t)v; se; prev = se, se = se->bnext) {
        ck_assert_ptr_eq(se->bprev, prev);
        ck_assert_int_eq(se->expire_at, at);
        len += (size_t)snprintf(out + len, sizeof out - len, "%s%" PRId64, len ? " " : "", se->id);
    }
    return out;
}

/* Every bucket is a well-linked list of live sessions with that deadline,
 * and every live session with a deadline is in exactly its bucket. */
static void check_invariants(void)
{
    size_t linked = 0, with_deadline = 0;
    int64_t at;
    uint64_t v;
    for (size_t it = 0; kz_map_next(&S.buckets, &it, &at, &v);) {
        ck_assert_int_eq(at % TICK, 0);
        ck_assert_int_ne(v, 0);
        const zkd_session *prev = NULL;
        for (const zkd_session *se = (const zkd_session *)(uintptr_t)v; se; prev = se, se = se->bnext) {
            ck_assert_ptr_eq(se->bprev, prev);
            ck_assert_int_eq(se->expire_at, at);
            ck_assert_ptr_eq(zkd_session_get(&S, se->id), se);
            linked++;
            ck_assert_uint_le(linked, kz_map_size(&S.sessions));
        }
    }
    int64_t id;
    for (size_t it = 0; kz_map_next(&S.sessions, &it, &id, &v);) {
        const zkd_session *se = (const zkd_session *)(uintptr_t)v;
        ck_assert_int_eq(se->id, id);
        if (se->expire_at)
            with_deadline++;
        else
            ck_assert(!se->bnext && !se->bprev);
    }
    ck_assert_uint_eq(linked, with_deadline);
}

/* Adds @se with @timeout and checks its deadline against the clock. */
static zkd_session *add_checked(int64_t id, int32_t timeout)
{
    int64_t before = kz_wall_ms();
    zkd_session *se = zkd_session_add(&S, id, timeout);
    int64_t after = kz_wall_ms();
    ck_assert_ptr_nonnull(se);
    ck_assert_int_eq(se->id, id);
    ck_assert_int_eq(se->timeout, timeout);
    ck_assert_int_eq(se->expire_at % TICK, 0);
    ck_assert_int_gt(se->expire_at, before + timeout);     /* strictly after the timeout */
    ck_assert_int_le(se->expire_at, after + timeout + TICK); /* by at most one tick */
    ck_assert_int_ge(se->expire_at, round_up(before + timeout));
    ck_assert_int_le(se->expire_at, round_up(after + timeout));
    ck_assert_ptr_eq(zkd_session_get(&S, id), se);
    return se;
}

/* Adds sessions @ids (timeout @timeout) so that they share one deadline,
 * retrying when a tick boundary falls in between. Returns the deadline. */
static int64_t add_group(const int64_t *ids, int n, int32_t timeout)
{
    for (int tries = 0; tries < 50; tries++) {
        bool same = true;
        for (int i = 0; i < n; i++) {
            zkd_session *se = add_checked(ids[i], timeout);
            same = same && se->expire_at == zkd_session_get(&S, ids[0])->expire_at;
        }
        if (same)
            return zkd_session_get(&S, ids[0])->expire_at;
        for (int i = 0; i < n; i++)
            zkd_session_remove(&S, ids[i]);
    }
    ck_abort_msg("could not add %d sessions within one tick", n);
    return 0;
}

/* Sets the timeout of @id and touches it; checks the new deadline. */
static zkd_session *retouch(int64_t id, int32_t timeout)
{
    zkd_session *se = zkd_session_get(&S, id);
    ck_assert_ptr_nonnull(se);
    se->timeout = timeout;
    int64_t before = kz_wall_ms();
    zkd_session_touch(&S, se);
    int64_t after = kz_wall_ms();
    ck_assert_int_ge(se->expire_at, round_up(before + timeout));
    ck_assert_int_le(se->expire_at, round_up(after + timeout));
    return se;
}

/* 1. java.util.Random(id ^ 0xB3415C00).nextBytes(16), 16 bytes exactly. */
START_TEST(t01_passwd)
{
    static const struct {
        int64_t id;
        uint8_t pw[16];
    } cases[] = {
        { 0, { 0xf2, 0x2a, 0xcd, 0x4a, 0x97, 0xe6, 0x9d, 0x6d, 0x20, 0xa4, 0x9b, 0xb6, 0x38, 0xea, 0xdb, 0x38 } },
        { 1, { 0x05, 0x4c, 0xc7, 0x4a, 0x37, 0x32, 0x7d, 0xb2, 0x15, 0xe7, 0x02, 0xe2, 0x0c, 0x73, 0xf0, 0x05 } },
        { 0x100000b0c9a20000LL,
          { 0xac, 0x5e, 0x08, 0x05, 0xc9, 0x08, 0xc4, 0xe4, 0x6a, 0x1f, 0xa9, 0x96, 0xba, 0xe4, 0x95, 0x8f } },
        { INT64_MAX, { 0x20, 0xf6, 0x2c, 0xb5, 0x64, 0x8d, 0xc2, 0xd7, 0x71, 0x47, 0x1c, 0x8a, 0x24, 0x86, 0xa9, 0xee } },
        /* the seed keeps 48 bits: -1 and INT64_MAX give the same password */
        { -1, { 0x20, 0xf6, 0x2c, 0xb5, 0x64, 0x8d, 0xc2, 0xd7, 0x71, 0x47, 0x1c, 0x8a, 0x24, 0x86, 0xa9, 0xee } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t out[20];
        memset(out, 0xcc, sizeof out);
        zkd_session_passwd(cases[i].id, out);
        ck_assert_msg(memcmp(out, cases[i].pw, 16) == 0, "password of 0x%" PRIx64, (uint64_t)cases[i].id);
        for (int k = 16; k < 20; k++)
            ck_assert_uint_eq(out[k], 0xcc);
    }
}
END_TEST

/* 2. the requested timeout is clamped into [min, max]. */
START_TEST(t02_negotiate)
{
    zkd_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.tick_time = 2000;
    cfg.min_session_timeout = 4000;
    cfg.max_session_timeout = 40000;
    zkd_server s;
    memset(&s, 0, sizeof s);
    s.cfg = &cfg;
    static const int32_t in[] = { INT32_MIN, -5, 0, 1, 3999, 4000, 4001, 30000, 39999, 40000, 40001, INT32_MAX };
    static const int32_t out[] = { 4000, 4000, 4000, 4000, 4000, 4000, 4001, 30000, 39999, 40000, 40000, 40000 };
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        ck_assert_int_eq(zkd_session_negotiate(&s, in[i]), out[i]);
    cfg.min_session_timeout = cfg.max_session_timeout = 6000;
    ck_assert_int_eq(zkd_session_negotiate(&s, 1), 6000);
    ck_assert_int_eq(zkd_session_negotiate(&s, 6000), 6000);
    ck_assert_int_eq(zkd_session_negotiate(&s, 99999), 6000);
}
END_TEST

/* 3. ids: (serverId << 56) | ((elapsed ms << 24) >>> 8), then +1 each;
 *    a standalone server uses server id 1. */
START_TEST(t03_ids)
{
    /* the fixture initialised S just before: re-init to bracket the clock */
    zkd_session_fini(&S);
    int64_t before = kz_mono_us() / 1000;
    ck_assert_int_eq(zkd_session_init(&S), 0);
    int64_t after = kz_mono_us() / 1000;
    int64_t id = zkd_session_next_id(&S);
    ck_assert_int_eq((uint64_t)id >> 56, 1);
    ck_assert_int_eq(id & 0xffff, 0);
    uint64_t ms = ((uint64_t)id >> 16) & ((1ULL << 40) - 1);
    ck_assert_uint_ge(ms, (uint64_t)before & ((1ULL << 40) - 1));
    ck_assert_uint_le(ms, (uint64_t)after & ((1ULL << 40) - 1));
    ck_assert_int_eq(zkd_session_next_id(&S), id + 1);
    ck_assert_int_eq(zkd_session_next_id(&S), id + 2);

    /* in an ensemble the top byte is myid (255 makes ids negative) */
    static const int64_t myids[] = { 5, 255 };
    for (size_t i = 0; i < 2; i++) {
        zkd_session_fini(&S);
        CFG.n_servers = 3; /* zkd_config_standalone() only looks at the count */
        CFG.myid = myids[i];
        ck_assert_int_eq(zkd_session_init(&S), 0);
        id = zkd_session_next_id(&S);
        ck_assert_uint_eq((uint64_t)id >> 56, (uint64_t)myids[i]);
        ck_assert_int_eq(id & 0xffff, 0);
    }
    ck_assert_int_lt(id, 0);
    CFG.n_servers = 0;
    CFG.myid = 0;
}
END_TEST

/* 4. add: deadline rounding, lookup, re-adding an existing id. */
START_TEST(t04_add_get)
{
    ck_assert_ptr_null(zkd_session_get(&S, 1));
    zkd_session *a = add_checked(1, 1000);
    zkd_session *b = add_checked(-7, 1550);
    zkd_session *c = add_checked(0x100000b0c9a20000LL, 0);
    ck_assert_ptr_ne(a, b);
    ck_assert_ptr_null(a->conn);
    ck_assert(!a->closing);
    ck_assert_uint_eq(kz_map_size(&S.sessions), 3);
    ck_assert_ptr_eq(zkd_session_get(&S, -7), b);
    ck_assert_ptr_eq(zkd_session_get(&S, 0x100000b0c9a20000LL), c);
    ck_assert_ptr_null(zkd_session_get(&S, 2));
    ck_assert_int_ne(a->expire_at, b->expire_at); /* 550 ms apart */
    check_invariants();
    /* the same id again: same session, new timeout, new deadline */
    zkd_session *a2 = add_checked(1, 1900);
    ck_assert_ptr_eq(a2, a);
    ck_assert_uint_eq(kz_map_size(&S.sessions), 3);
    ck_assert_int_eq(a->timeout, 1900);
    ck_assert_str_eq(bucket(a->expire_at), "1");
    check_invariants();
}
END_TEST

/* 5. sessions sharing a deadline share one bucket, newest first; a
 *    different deadline is a different bucket. */
START_TEST(t05_same_bucket)
{
    static const int64_t ids[] = { 11, 12, 13 };
    int64_t at = add_group(ids, 3, 1000);
    ck_assert_str_eq(bucket(at), "13 12 11");
    ck_assert_uint_eq(kz_map_size(&S.buckets), 1);
    zkd_session *d = add_checked(14, 1500);
    ck_assert_int_ge(d->expire_at, at + 400);
    ck_assert_str_eq(bucket(d->expire_at), "14");
    ck_assert_uint_eq(kz_map_size(&S.buckets), 2);
    ck_assert_str_eq(bucket(at), "13 12 11");
    ck_assert_str_eq(bucket(at + TICK * 1000), "-");
    check_invariants();
}
END_TEST

/* 6. touch moves a session to its new bucket, unlinking it from the
 *    middle, the head, and finally as the only member of the old one. */
START_TEST(t06_touch_moves)
{
    static const int64_t ids[] = { 1, 2, 3 };
    int64_t at = add_group(ids, 3, 1000);
    ck_assert_str_eq(bucket(at), "3 2 1");

    zkd_session *two = retouch(2, 2000); /* middle */
    ck_assert_int_ge(two->expire_at, at + 900);
    ck_assert_str_eq(bucket(at), "3 1");
    ck_assert_str_eq(bucket(two->expire_at), "2");
    check_invariants();

    zkd_session *three = retouch(3, 3000); /* head: the map points at 1 now */
    ck_assert_int_ge(three->expire_at, two->expire_at + 900);
    ck_assert_str_eq(bucket(at), "1");
    uint64_t v;
    ck_assert(kz_map_get(&S.buckets, at, &v));
    ck_assert_ptr_eq((zkd_session *)(uintptr_t)v, zkd_session_get(&S, 1));
    ck_assert_str_eq(bucket(three->expire_at), "3");
    check_invariants();

    zkd_session *one = retouch(1, 4000); /* only member: the bucket goes */
    ck_assert_str_eq(bucket(at), "-");
    ck_assert_str_eq(bucket(one->expire_at), "1");
    ck_assert_uint_eq(kz_map_size(&S.buckets), 3);
    check_invariants();

    /* joining an existing bucket puts the session at its head */
    zkd_session *n = add_checked(9, 4000);
    if (n->expire_at == one->expire_at)
        ck_assert_str_eq(bucket(one->expire_at), "9 1");
    else /* a tick passed since 1 was touched */
        ck_assert_str_eq(bucket(n->expire_at), "9");
    check_invariants();

    /* touching again within the same tick changes nothing */
    for (int tries = 0; tries < 50; tries++) {
        zkd_session *s9 = zkd_session_get(&S, 9);
        int64_t at9 = s9->expire_at, t0 = kz_wall_ms();
        zkd_session_touch(&S, s9);
        int64_t t1 = kz_wall_ms();
        if (round_up(t0 + 4000) != at9 || round_up(t1 + 4000) != at9)
            continue; /* a tick boundary passed: try again */
        ck_assert_int_eq(s9->expire_at, at9);
        ck_assert_ptr_null(s9->bprev); /* still the head */
        break;
    }
    check_invariants();
}
END_TEST

/* 7. remove unlinks from any position, forgets the session, detaches its
 *    connection; unknown ids are ignored. */
START_TEST(t07_remove)
{
    static const int64_t ids[] = { 21, 22, 23, 24 };
    int64_t at = add_group(ids, 4, 1200);
    ck_assert_str_eq(bucket(at), "24 23 22 21");
    zkd_conn c;
    memset(&c, 0, sizeof c);
    zkd_session *s23 = zkd_session_get(&S, 23);
    c.session = s23;
    s23->conn = &c;

    zkd_session_remove(&S, 23); /* middle */
    ck_assert_ptr_null(c.session);
    ck_assert_ptr_null(zkd_session_get(&S, 23));
    ck_assert_str_eq(bucket(at), "24 22 21");
    check_invariants();
    zkd_session_remove(&S, 21); /* tail */
    ck_assert_str_eq(bucket(at), "24 22");
    zkd_session_remove(&S, 24); /* head */
    ck_assert_str_eq(bucket(at), "22");
    check_invariants();
    zkd_session_remove(&S, 999); /* unknown */
    zkd_session_remove(&S, 24);  /* already gone */
    ck_assert_uint_eq(kz_map_size(&S.sessions), 1);
    zkd_session_remove(&S, 22); /* last */
    ck_assert_str_eq(bucket(at), "-");
    ck_assert_uint_eq(kz_map_size(&S.buckets), 0);
    ck_assert_uint_eq(kz_map_size(&S.sessions), 0);
    check_invariants();
    /* the id can be used again */
    add_checked(22, 300);
    check_invariants();
}
END_TEST

/* 8. a closing session keeps its deadline whatever touches it. */
START_TEST(t08_closing)
{
    zkd_session *se = add_checked(31, 1000);
    int64_t at = se->expire_at;
    se->closing = true;
    se->timeout = 5000;
    zkd_session_touch(&S, se);
    ck_assert_int_eq(se->expire_at, at);
    ck_assert_str_eq(bucket(at), "31");
    check_invariants();
}
END_TEST

/* 9. the tick on a server that is not serving unlinks the due bucket but
 *    expires nothing: the session stays, without a deadline, until the
 *    next touch. */
START_TEST(t09_tick_not_serving)
{
    zkd_session *due = add_checked(41, 0); /* the next tick boundary */
    zkd_session *later = add_checked(42, 5000);
    int64_t at = due->expire_at, later_at = later->expire_at;
    int64_t deadline = kz_wall_ms() + 2000;
    while (due->expire_at && kz_wall_ms() < deadline)
        event_base_loop(S.base, EVLOOP_ONCE);
    ck_assert_int_eq(due->expire_at, 0);
    ck_assert_ptr_eq(zkd_session_get(&S, 41), due);
    ck_assert(!due->closing);
    ck_assert_str_eq(bucket(at), "-");
    ck_assert_int_gt(S.next_expire, at);
    ck_assert_int_eq(S.next_expire % TICK, 0);
    ck_assert_int_eq(later->expire_at, later_at);
    ck_assert_str_eq(bucket(later_at), "42");
    ck_assert_uint_eq(kz_map_size(&S.buckets), 1);
    check_invariants();
    /* touched again, it is scheduled again */
    due->timeout = 1000;
    zkd_session_touch(&S, due);
    ck_assert_int_gt(due->expire_at, kz_wall_ms());
    ck_assert_str_eq(bucket(due->expire_at), "41");
    check_invariants();
    zkd_session_remove(&S, 41);
    check_invariants();
}
END_TEST

/* 10. many sessions across many buckets; fini frees them all (ASan/LSan)
 *     and leaves empty maps; a second fini is harmless. */
START_TEST(t10_many_and_fini)
{
    for (int64_t id = 1; id <= 3000; id++)
        ck_assert_ptr_nonnull(zkd_session_add(&S, id * 977 - 100000, (int32_t)(200 + (id % 37) * 50)));
    ck_assert_uint_eq(kz_map_size(&S.sessions), 3000);
    /* one bucket per distinct deadline: timeouts span 1800 ms, so at least 18 */
    kz_map seen = KZ_MAP_INIT;
    int64_t key;
    uint64_t v;
    for (size_t it = 0; kz_map_next(&S.sessions, &it, &key, &v);)
        ck_assert_int_eq(kz_map_put(&seen, ((const zkd_session *)(uintptr_t)v)->expire_at, 1), 0);
    ck_assert_uint_eq(kz_map_size(&S.buckets), kz_map_size(&seen));
    ck_assert_uint_ge(kz_map_size(&seen), 18);
    kz_map_free(&seen);
    check_invariants();
    for (int64_t id = 1; id <= 3000; id += 3)
        zkd_session_remove(&S, id * 977 - 100000);
    for (int64_t id = 2; id <= 3000; id += 3)
        retouch(id * 977 - 100000, 9000);
    ck_assert_uint_eq(kz_map_size(&S.sessions), 2000);
    check_invariants();
    zkd_session_fini(&S);
    ck_assert_uint_eq(kz_map_size(&S.sessions), 0);
    ck_assert_uint_eq(kz_map_size(&S.buckets), 0);
    ck_assert_ptr_null(S.sessions.slots);
    ck_assert_ptr_null(S.buckets.slots);
    ck_assert_ptr_null(S.tick_ev);
    zkd_session_fini(&S);
}
END_TEST

static Suite *session_suite(void)
{
    Suite *s = suite_create("session");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, t01_passwd);
    tcase_add_test(tc, t02_negotiate);
    tcase_add_test(tc, t03_ids);
    tcase_add_test(tc, t04_add_get);
    tcase_add_test(tc, t05_same_bucket);
    tcase_add_test(tc, t06_touch_moves);
    tcase_add_test(tc, t07_remove);
    tcase_add_test(tc, t08_closing);
    tcase_add_test(tc, t09_tick_not_serving);
    tcase_add_test(tc, t10_many_and_fini);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ut_run(session_suite());
}
