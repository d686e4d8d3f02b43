/* test/unit/check_vec.c -- array growth (common/kz_vec.h).
 *
 *  01 growth: the first capacity, doubling, a need past the double, room already there
 *  02 contents survive every growth; elements of any size
 *  03 refusals: a size that would overflow leaves the array and its capacity as they were */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "kz_vec.h"
#include "unit_util.h"

START_TEST(t01_growth)
{
    int64_t *v = NULL;
    size_t cap = 0;
    ck_assert_int_eq(KZ_VEC_RESERVE(v, cap, 1, 16), 0);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(cap, 16);
    int64_t *before = v;
    ck_assert_int_eq(KZ_VEC_RESERVE(v, cap, 16, 16), 0); /* room already: nothing changes */
    ck_assert_ptr_eq(v, before);
    ck_assert_uint_eq(cap, 16);
    ck_assert_int_eq(KZ_VEC_RESERVE(v, cap, 17, 16), 0);
    ck_assert_uint_eq(cap, 32);
    ck_assert_int_eq(KZ_VEC_RESERVE(v, cap, 100, 16), 0); /* doubled until it holds 100 */
    ck_assert_uint_eq(cap, 128);
    ck_assert_int_eq(KZ_VEC_RESERVE(v, cap, 0, 16), 0);
    ck_assert_uint_eq(cap, 128);
    free(v);

    /* a first capacity of 0 still makes room */
    char *c = NULL;
    size_t ccap = 0;
    ck_assert_int_eq(KZ_VEC_RESERVE(c, ccap, 1, 0), 0);
    ck_assert_uint_eq(ccap, 1);
    ck_assert_int_eq(KZ_VEC_RESERVE(c, ccap, 3, 0), 0);
    ck_assert_uint_eq(ccap, 4);
    free(c);
}
END_TEST

typedef struct big {
    char name[40];
    int32_t id;
} big;

START_TEST(t02_contents)
{
    big *v = NULL;
    size_t n = 0, cap = 0;
    for (int32_t i = 0; i < 1000; i++) {
        ck_assert_int_eq(KZ_VEC_RESERVE(v, cap, n + 1, 4), 0);
        ck_assert_uint_ge(cap, n + 1);
        v[n] = (big){ .id = i };
        snprintf(v[n].name, sizeof v[n].name, "entry-%d", i);
        n++;
    }
    ck_assert_uint_eq(cap, 1024);
    for (int32_t i = 0; i < 1000; i++) {
        char want[40];
        snprintf(want, sizeof want, "entry-%d", i);
        ck_assert_int_eq(v[i].id, i);
        ck_assert_str_eq(v[i].name, want);
    }
    free(v);
}
END_TEST

START_TEST(t03_refusals)
{
    int64_t *v = NULL;
    size_t cap = 0;
    ck_assert_int_eq(KZ_VEC_RESERVE(v, cap, 2, 2), 0);
    v[0] = 7;
    v[1] = 9;
    int64_t *before = v;
    /* SIZE_MAX / 4 elements of 8 bytes: the byte size overflows */
    ck_assert_int_eq(KZ_VEC_RESERVE(v, cap, SIZE_MAX / 4, 2), -ENOMEM);
    ck_assert_ptr_eq(v, before);
    ck_assert_uint_eq(cap, 2);
    /* a need no doubling reaches */
    ck_assert_int_eq(KZ_VEC_RESERVE(v, cap, SIZE_MAX, 2), -ENOMEM);
    ck_assert_ptr_eq(v, before);
    ck_assert_uint_eq(cap, 2);
    ck_assert_int_eq(v[0], 7);
    ck_assert_int_eq(v[1], 9);
    free(v);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vec");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, t01_growth);
    tcase_add_test(tc, t02_contents);
    tcase_add_test(tc, t03_refusals);
    suite_add_tcase(s, tc);
    return ut_run(s);
}
