/* test/unit/check_fetcher.c -- where a follower truncates its log after a leader change
 * (kb_fetcher_truncation, Kafka's getOffsetTruncationState), one case per rule, each with the
 * histories of leader and follower that lead to it.
 *
 *  01 both know the leader's epoch: the smaller of the two ends
 *  02 the follower lacks the leader's epoch: cut to its own end of it and ask again
 *  03 the leader knows no end for our epoch: truncate to the high watermark
 *  04 an answer without an epoch: the leader's end offset bounds the log
 *  05 the follower has no entry at or below the epoch: the leader's end, within our LEO */
#include <check.h>
#include <stdint.h>

#include "kb_fetcher.h"
#include "unit_util.h"

START_TEST(t01_same_epoch)
{
    /* Leader and follower both wrote epoch 3; the leader's epoch 3 ended at 120 when epoch 4
     * began, the follower (old leader) went on to 150 in epoch 3: it cuts its 30 extra. */
    kb_trunc t = kb_fetcher_truncation(3, 120, 3, 150, 150, 100);
    ck_assert_int_eq(t.offset, 120);
    ck_assert(t.done);
    /* The follower is behind the leader's end of the epoch: nothing to cut (offset = its end). */
    t = kb_fetcher_truncation(3, 120, 3, 90, 90, 80);
    ck_assert_int_eq(t.offset, 90);
    ck_assert(t.done);
}
END_TEST

START_TEST(t02_unknown_epoch_here)
{
    /* We asked about our latest epoch 5; the leader never had 5 and answers its largest epoch
     * below it, 2, ending at 40. Our cache has nothing for 2 itself but 1 (floor) whose end is
     * where our 5 started (60): cut to 60 and ask again with epoch 1. */
    kb_trunc t = kb_fetcher_truncation(2, 40, 1, 60, 75, 30);
    ck_assert_int_eq(t.offset, 60);
    ck_assert(!t.done);
    /* never above our own LEO */
    t = kb_fetcher_truncation(2, 40, 1, 90, 75, 30);
    ck_assert_int_eq(t.offset, 75);
    ck_assert(!t.done);
}
END_TEST

START_TEST(t03_leader_without_end)
{
    kb_trunc t = kb_fetcher_truncation(-1, -1, -1, -1, 75, 30);
    ck_assert_int_eq(t.offset, 30);
    ck_assert(t.done);
    t = kb_fetcher_truncation(-1, -1, -1, -1, 20, 30); /* hw above LEO cannot raise it */
    ck_assert_int_eq(t.offset, 20);
}
END_TEST

START_TEST(t04_answer_without_epoch)
{
    kb_trunc t = kb_fetcher_truncation(-1, 50, -1, -1, 75, 30);
    ck_assert_int_eq(t.offset, 50);
    ck_assert(t.done);
    t = kb_fetcher_truncation(-1, 80, -1, -1, 75, 30);
    ck_assert_int_eq(t.offset, 75);
}
END_TEST

START_TEST(t05_no_local_entry)
{
    kb_trunc t = kb_fetcher_truncation(4, 50, -1, -1, 75, 30);
    ck_assert_int_eq(t.offset, 50);
    ck_assert(t.done);
    t = kb_fetcher_truncation(4, 500, -1, -1, 75, 30);
    ck_assert_int_eq(t.offset, 75);
    ck_assert(t.done);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fetcher");
    TCase *tc = tcase_create("truncation");
    tcase_add_test(tc, t01_same_epoch);
    tcase_add_test(tc, t02_unknown_epoch_here);
    tcase_add_test(tc, t03_leader_without_end);
    tcase_add_test(tc, t04_answer_without_epoch);
    tcase_add_test(tc, t05_no_local_entry);
    suite_add_tcase(s, tc);
    return ut_run(s);
}
