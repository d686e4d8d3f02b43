/* test/unit/check_assign.c -- Kafka's default replica assignment.
 *
 * Expected rows are worked out by hand from AdminUtils' walk (first replica
 * at (p + start) % n, follower j at first + 1 + (shift + j) % (n - 1), shift
 * + 1 every n partitions) and, where named, are the assignments a real Kafka
 * 2.4 cluster wrote (../shared/ref/kafka/zk-0*.txt: zk-six, bs-six, zk-one). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "kb_assign.h"
#include "unit_util.h"

static const kb_assign_broker B123[] = { { 1, NULL }, { 2, NULL }, { 3, NULL } };

static void expect_rows(const int32_t *got, const int32_t *want, int32_t nparts, int32_t rf)
{
    for (int32_t p = 0; p < nparts; p++)
        for (int32_t j = 0; j < rf; j++)
            ck_assert_msg(got[p * rf + j] == want[p * rf + j], "partition %d replica %d: got %d want %d",
                          p, j, got[p * rf + j], want[p * rf + j]);
}

/* bs-six: 6 partitions, RF 3 on brokers 1,2,3 with start 0, shift 0. */
START_TEST(unaware_3b_6p_rf3_start0)
{
    int32_t out[18];
    ck_assert_int_eq(kb_assign_replicas_fixed(B123, 3, 6, 3, 0, 0, 0, out), KB_ASSIGN_OK);
    static const int32_t want[18] = { 1, 2, 3, 2, 3, 1, 3, 1, 2, 1, 3, 2, 2, 1, 3, 3, 2, 1 };
    expect_rows(out, want, 6, 3);
}
END_TEST

/* zk-six: start index 1 (first replica of partition 0 is broker 2), shift 0. */
START_TEST(unaware_3b_6p_rf3_start1)
{
    int32_t out[18];
    ck_assert_int_eq(kb_assign_replicas_fixed(B123, 3, 6, 3, 0, 1, 0, out), KB_ASSIGN_OK);
    static const int32_t want[18] = { 2, 3, 1, 3, 1, 2, 1, 2, 3, 2, 1, 3, 3, 2, 1, 1, 3, 2 };
    expect_rows(out, want, 6, 3);
    /* shift 2 walks the same way with 3 brokers ((2 + j) % 2 == j % 2) */
    int32_t out2[18];
    ck_assert_int_eq(kb_assign_replicas_fixed(B123, 3, 6, 3, 0, 1, 2, out2), KB_ASSIGN_OK);
    expect_rows(out2, want, 6, 3);
}
END_TEST

/* Adding partitions 6 and 7 as AdminZkClient does: start index = index of
 * the first broker with id >= partition 0's first replica, which also fixes
 * the shift; startPartitionId = 6 bumps the shift at once. */
START_TEST(unaware_add_partitions)
{
    int32_t out[6];
    int32_t start = kb_assign_start_index(B123, 3, 1); /* bs-six p0 = [1,2,3] */
    ck_assert_int_eq(start, 0);
    ck_assert_int_eq(kb_assign_replicas_fixed(B123, 3, 2, 3, 6, start, start, out), KB_ASSIGN_OK);
    static const int32_t want_bs[6] = { 1, 3, 2, 2, 1, 3 }; /* bs-six "6":[1,3,2], "7":[2,1,3] */
    expect_rows(out, want_bs, 2, 3);

    start = kb_assign_start_index(B123, 3, 2); /* zk-six p0 = [2,3,1] */
    ck_assert_int_eq(start, 1);
    ck_assert_int_eq(kb_assign_replicas_fixed(B123, 3, 2, 3, 6, start, start, out), KB_ASSIGN_OK);
    static const int32_t want_zk[6] = { 2, 3, 1, 3, 1, 2 }; /* zk-six "6":[2,3,1], "7":[3,1,2] */
    expect_rows(out, want_zk, 2, 3);

    /* zk-one grew to 2 partitions while only brokers 2 and 3 were listed:
     * partition 0 = [3,1] -> start index 1 of [2,3] -> "1":[2,3]. */
    static const kb_assign_broker b23[] = { { 3, NULL }, { 2, NULL } }; /* unsorted on purpose */
    start = kb_assign_start_index(b23, 2, 3);
    ck_assert_int_eq(start, 1);
    ck_assert_int_eq(kb_assign_replicas_fixed(b23, 2, 1, 2, 1, start, start, out), KB_ASSIGN_OK);
    ck_assert_int_eq(out[0], 2);
    ck_assert_int_eq(out[1], 3);
    /* no broker with an id that large: index 0 */
    ck_assert_int_eq(kb_assign_start_index(B123, 3, 9), 0);
}
END_TEST

/* Brokers given out of order are sorted by id first; RF 1 and RF 2. */
START_TEST(unaware_sorting_and_small_rf)
{
    static const kb_assign_broker b[] = { { 30, NULL }, { 10, NULL }, { 20, NULL }, { 40, NULL } };
    int32_t out[8];
    ck_assert_int_eq(kb_assign_replicas_fixed(b, 4, 8, 1, 0, 2, 0, out), KB_ASSIGN_OK);
    static const int32_t want1[8] = { 30, 40, 10, 20, 30, 40, 10, 20 };
    expect_rows(out, want1, 8, 1);

    /* RF 2, n 4, start 0, shift 1: p0 first 0 follower 0+1+(1%3)=2; p4 shift 2 -> +3 */
    int32_t out2[16];
    ck_assert_int_eq(kb_assign_replicas_fixed(b, 4, 8, 2, 0, 0, 1, out2), KB_ASSIGN_OK);
    static const int32_t want2[16] = { 10, 30, 20, 40, 30, 10, 40, 20,
                                       10, 40, 20, 10, 30, 20, 40, 30 };
    expect_rows(out2, want2, 8, 2);
}
END_TEST

/* With 5 brokers and RF 3 the shift spreads followers over all distances,
 * and every row holds distinct brokers whose first replicas go round-robin. */
START_TEST(unaware_rows_distinct)
{
    static const kb_assign_broker b[] = { { 1, NULL }, { 2, NULL }, { 3, NULL }, { 4, NULL }, { 5, NULL } };
    int32_t out[30 * 3];
    ck_assert_int_eq(kb_assign_replicas_fixed(b, 5, 30, 3, 0, 3, 4, out), KB_ASSIGN_OK);
    int leaders[6] = { 0 };
    for (int p = 0; p < 30; p++) {
        int32_t *r = out + p * 3;
        ck_assert(r[0] != r[1] && r[0] != r[2] && r[1] != r[2]);
        ck_assert_int_eq(r[0], (p + 3) % 5 + 1);
        leaders[r[0]]++;
    }
    for (int i = 1; i <= 5; i++)
        ck_assert_int_eq(leaders[i], 6);
    /* p5 (shift 5): first index 3; followers (3+1+(5%4))%5 = 0 -> broker 1,
     * (3+1+(6%4))%5 = 1 -> broker 2 */
    ck_assert_int_eq(out[5 * 3 + 0], 4);
    ck_assert_int_eq(out[5 * 3 + 1], 1);
    ck_assert_int_eq(out[5 * 3 + 2], 2);
}
END_TEST

START_TEST(errors_and_messages)
{
    int32_t out[16];
    char buf[128];
    ck_assert_int_eq(kb_assign_replicas(B123, 3, 2, 4, 0, out), KB_ASSIGN_EBAD_RF);
    ck_assert_str_eq(kb_assign_strerror(KB_ASSIGN_EBAD_RF, 4, 3, buf, sizeof buf),
                     "Replication factor: 4 larger than available brokers: 3.");
    ck_assert_int_eq(kb_assign_replicas(B123, 3, 2, 0, 0, out), KB_ASSIGN_EBAD_RF);
    ck_assert_str_eq(kb_assign_strerror(KB_ASSIGN_EBAD_RF, 0, 3, buf, sizeof buf),
                     "Replication factor must be larger than 0.");
    ck_assert_int_eq(kb_assign_replicas(B123, 3, 0, 1, 0, out), KB_ASSIGN_EBAD_PARTS);
    ck_assert_str_eq(kb_assign_strerror(KB_ASSIGN_EBAD_PARTS, 1, 3, buf, sizeof buf),
                     "Number of partitions must be larger than 0.");
    ck_assert_int_eq(kb_assign_replicas(NULL, 0, 1, 1, 0, out), KB_ASSIGN_EBAD_RF);
    static const kb_assign_broker mixed[] = { { 1, "a" }, { 2, NULL } };
    ck_assert_int_eq(kb_assign_replicas(mixed, 2, 1, 1, 0, out), KB_ASSIGN_ENO_RACK);
    ck_assert_str_eq(kb_assign_strerror(KB_ASSIGN_ENO_RACK, 1, 2, buf, sizeof buf),
                     "Not all brokers have rack information for replica rack aware assignment.");
}
END_TEST

/* The random variant: whatever start and shift it drew, its output equals
 * the fixed variant for some start and shift in [0, n). */
START_TEST(random_is_some_fixed)
{
    static const kb_assign_broker b[] = { { 5, NULL }, { 6, NULL }, { 7, NULL }, { 8, NULL } };
    for (int round = 0; round < 20; round++) {
        int32_t got[12 * 3], want[12 * 3];
        ck_assert_int_eq(kb_assign_replicas(b, 4, 12, 3, 0, got), KB_ASSIGN_OK);
        bool found = false;
        for (int s = 0; s < 4 && !found; s++)
            for (int sh = 0; sh < 4 && !found; sh++) {
                ck_assert_int_eq(kb_assign_replicas_fixed(b, 4, 12, 3, 0, s, sh, want), KB_ASSIGN_OK);
                found = memcmp(got, want, sizeof got) == 0;
            }
        ck_assert(found);
    }
}
END_TEST

/* Rack-aware: racks a = {1,2}, b = {3,4}, c = {5,6} alternate as
 * [1,3,5,2,4,6]. With start 0, shift 0, RF 3 (hand-derived):
 *   p0 first idx0 (1, a); k0: 0+1+(0%5)=1 -> 3 (b) ok; k1: 2 -> 5 (c) ok  => [1,3,5]
 *   p1 first idx1 (3, b); k0: 2 -> 5 (c); k1: 3 -> 2 (a)                   => [3,5,2]
 *   p2 first idx2 (5, c); k0: 3 -> 2 (a); k1: 4 -> 4 (b)                   => [5,2,4]
 *   p6 shift 1 -> 3 (x numRacks); first idx0 (1); k0: 1+(3%5)=4 -> 4 (b);
 *      k1: 1+(4%5)=5 -> 6 (c)                                             => [1,4,6] */
START_TEST(rack_aware_three_racks)
{
    static const kb_assign_broker b[] = { { 6, "c" }, { 1, "a" }, { 4, "b" },
                                          { 2, "a" }, { 5, "c" }, { 3, "b" } };
    int32_t out[7 * 3];
    ck_assert_int_eq(kb_assign_replicas_fixed(b, 6, 7, 3, 0, 0, 0, out), KB_ASSIGN_OK);
    static const int32_t want0[9] = { 1, 3, 5, 3, 5, 2, 5, 2, 4 };
    expect_rows(out, want0, 3, 3);
    ck_assert_int_eq(out[6 * 3 + 0], 1);
    ck_assert_int_eq(out[6 * 3 + 1], 4);
    ck_assert_int_eq(out[6 * 3 + 2], 6);
    /* every row spans the three racks */
    for (int p = 0; p < 7; p++) {
        int mask = 0;
        for (int j = 0; j < 3; j++) {
            int32_t id = out[p * 3 + j];
            mask |= 1 << ((id - 1) / 2); /* 1,2 -> a; 3,4 -> b; 5,6 -> c */
        }
        ck_assert_int_eq(mask, 7);
    }
}
END_TEST

/* Two racks, RF 3: the third replica must reuse a rack, and the walk skips
 * a candidate only while some rack/broker is still empty.
 * Racks a = {1,2}, b = {3}: alternated [1,3,2]. start 0, shift 0:
 *   p0: first 1 (a); k0: 0+1+(0%2)=1 -> 3 (b) ok; k1: 0+1+(1%2)=2 -> 2 (a):
 *       racks full (2 == numRacks) and 2 holds nothing -> ok  => [1,3,2]
 *   p1: first idx1 = 3 (b); k0: 1+1+0=2 -> 2 (a) ok; k1: 1+1+1=3%3=0 -> 1 ok => [3,2,1] */
START_TEST(rack_aware_uneven)
{
    static const kb_assign_broker b[] = { { 2, "a" }, { 3, "b" }, { 1, "a" } };
    int32_t out[6];
    ck_assert_int_eq(kb_assign_replicas_fixed(b, 3, 2, 3, 0, 0, 0, out), KB_ASSIGN_OK);
    static const int32_t want[6] = { 1, 3, 2, 3, 2, 1 };
    expect_rows(out, want, 2, 3);
    /* RF 2 keeps the two replicas on different racks for every start */
    for (int s = 0; s < 3; s++) {
        int32_t o2[12 * 2];
        ck_assert_int_eq(kb_assign_replicas_fixed(b, 3, 12, 2, 0, s, s, o2), KB_ASSIGN_OK);
        for (int p = 0; p < 12; p++) {
            bool a0 = o2[p * 2] != 3, a1 = o2[p * 2 + 1] != 3;
            ck_assert(a0 != a1);
        }
    }
}
END_TEST

static Suite *assign_suite(void)
{
    Suite *s = suite_create("assign");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, unaware_3b_6p_rf3_start0);
    tcase_add_test(tc, unaware_3b_6p_rf3_start1);
    tcase_add_test(tc, unaware_add_partitions);
    tcase_add_test(tc, unaware_sorting_and_small_rf);
    tcase_add_test(tc, unaware_rows_distinct);
    tcase_add_test(tc, errors_and_messages);
    tcase_add_test(tc, random_is_some_fixed);
    tcase_add_test(tc, rack_aware_three_racks);
    tcase_add_test(tc, rack_aware_uneven);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ut_run(assign_suite());
}
