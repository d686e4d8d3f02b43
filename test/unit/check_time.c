/* test/unit/check_time.c -- the clocks of common/kz_time.h.
 *
 *  01 monotonic: never goes back, the three units agree, a sleep shows up in each
 *  02 wall: milliseconds since the epoch, in step with time(2) */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "kz_time.h"
#include "unit_util.h"

START_TEST(t01_monotonic)
{
    int64_t prev = kz_mono_ns();
    for (int i = 0; i < 100000; i++) {
        int64_t now = kz_mono_ns();
        ck_assert_int_ge(now, prev);
        prev = now;
    }
    /* taken in order ms, us, ns, ms: each later reading covers the earlier one */
    int64_t ms0 = kz_mono_ms(), us = kz_mono_us(), ns = kz_mono_ns(), ms1 = kz_mono_ms();
    ck_assert_int_ge(us / 1000, ms0);
    ck_assert_int_ge(ns / 1000, us);
    ck_assert_int_ge(ms1, ns / 1000000);
    ck_assert_int_lt(ms1 - ms0, 1000);

    int64_t t0 = kz_mono_ms(), u0 = kz_mono_us(), n0 = kz_mono_ns();
    struct timespec d = { 0, 30 * 1000000 };
    nanosleep(&d, NULL);
    int64_t t1 = kz_mono_ms(), u1 = kz_mono_us(), n1 = kz_mono_ns();
    ck_assert_int_ge(t1 - t0, 30);
    ck_assert_int_lt(t1 - t0, 5000);
    ck_assert_int_ge(u1 - u0, 30000);
    ck_assert_int_ge(n1 - n0, 30000000);
}
END_TEST

START_TEST(t02_wall)
{
    time_t before = time(NULL);
    int64_t ms = kz_wall_ms();
    time_t after = time(NULL);
    ck_assert_int_ge(ms / 1000, (int64_t)before);
    ck_assert_int_le(ms / 1000, (int64_t)after);
    ck_assert_int_gt(ms, INT64_C(1500000000000)); /* after 2017: milliseconds, not seconds */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("time");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, t01_monotonic);
    tcase_add_test(tc, t02_wall);
    suite_add_tcase(s, tc);
    return ut_run(s);
}
