/* test/unit/check_api_admin.c -- the pure functions of the admin request
 * handlers (kb_api_admin_util): duplicate detection, broker ids, Kafka's
 * renderings in error messages, and the IncrementalAlterConfigs merge.
 *
 * Expected merge results follow ZkAdminManager.prepareIncrementalConfigs of
 * Kafka 2.8: APPEND/SUBTRACT start from the override, else from the config's
 * Kafka default ("delete" for cleanup.policy, the empty list for the
 * throttled-replica lists), SUBTRACT is Scala's multiset diff. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "kb_api_admin_util.h"
#include "unit_util.h"

/* ------------------------------------------------------------ duplicates */

typedef struct named {
    int32_t pad;
    kz_str name;
} named;

START_TEST(dups_marked_first_and_repeats)
{
    named v[] = { { 0, KZ_STR_LIT("a") }, { 0, KZ_STR_LIT("b") }, { 0, KZ_STR_LIT("a") },
                  { 0, KZ_STR_LIT("c") }, { 0, KZ_STR_LIT("b") }, { 0, KZ_STR_LIT("a") },
                  { 0, KZ_STR_LIT("ab") } };
    uint8_t d[7];
    memset(d, 0xee, sizeof d);
    ck_assert_int_eq(kb_adm_mark_dups(v, 7, sizeof v[0], offsetof(named, name), d), 0);
    static const uint8_t want[7] = { KB_ADM_DUP_FIRST, KB_ADM_DUP_FIRST, KB_ADM_DUP_REPEAT, KB_ADM_UNIQUE,
                                     KB_ADM_DUP_REPEAT, KB_ADM_DUP_REPEAT, KB_ADM_UNIQUE };
    for (int i = 0; i < 7; i++)
        ck_assert_msg(d[i] == want[i], "element %d: got %d want %d", i, d[i], want[i]);
}
END_TEST

START_TEST(dups_null_and_empty_names)
{
    /* nulls never collide; two empty names do; "a" and "a\0" differ by length */
    named v[] = { { 0, KZ_STR_NULL }, { 0, KZ_STR_NULL }, { 0, { "", 0 } }, { 0, { "", 0 } },
                  { 0, { "a", 1 } }, { 0, { "a\0", 2 } } };
    uint8_t d[6];
    ck_assert_int_eq(kb_adm_mark_dups(v, 6, sizeof v[0], offsetof(named, name), d), 0);
    ck_assert_int_eq(d[0], KB_ADM_UNIQUE);
    ck_assert_int_eq(d[1], KB_ADM_UNIQUE);
    ck_assert_int_eq(d[2], KB_ADM_DUP_FIRST);
    ck_assert_int_eq(d[3], KB_ADM_DUP_REPEAT);
    ck_assert_int_eq(d[4], KB_ADM_UNIQUE);
    ck_assert_int_eq(d[5], KB_ADM_UNIQUE);
    ck_assert_int_eq(kb_adm_mark_dups(v, 0, sizeof v[0], offsetof(named, name), d), 0);
}
END_TEST

/* Many copies of one name among unique ones: the first copy (lowest index) is
 * FIRST whatever order the sort sees them in. */
START_TEST(dups_large_input)
{
    enum { N = 20000 };
    named *v = calloc(N, sizeof *v);
    char (*buf)[16] = calloc(N, 16);
    uint8_t *d = calloc(N, 1);
    ck_assert(v && buf && d);
    for (int i = 0; i < N; i++) {
        int len = i % 3 == 0 ? snprintf(buf[i], 16, "same") : snprintf(buf[i], 16, "t%d", i);
        v[i].name = (kz_str){ buf[i], len };
    }
    ck_assert_int_eq(kb_adm_mark_dups(v, N, sizeof v[0], offsetof(named, name), d), 0);
    ck_assert_int_eq(d[0], KB_ADM_DUP_FIRST);
    for (int i = 1; i < N; i++)
        ck_assert_int_eq(d[i], i % 3 == 0 ? KB_ADM_DUP_REPEAT : KB_ADM_UNIQUE);
    free(v);
    free(buf);
    free(d);
}
END_TEST

/* ------------------------------------------------------------ renderings */

START_TEST(parse_int_as_java)
{
    int32_t v = 99;
    ck_assert_int_eq(kb_adm_parse_int(KZ_STR_LIT("1"), &v), 0);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(kb_adm_parse_int(KZ_STR_LIT("+7"), &v), 0);
    ck_assert_int_eq(v, 7);
    ck_assert_int_eq(kb_adm_parse_int(KZ_STR_LIT("-2147483648"), &v), 0);
    ck_assert_int_eq(v, INT32_MIN);
    ck_assert_int_eq(kb_adm_parse_int(KZ_STR_LIT("2147483647"), &v), 0);
    ck_assert_int_eq(v, INT32_MAX);
    ck_assert_int_eq(kb_adm_parse_int(KZ_STR_LIT("007"), &v), 0);
    ck_assert_int_eq(v, 7);
    v = 5;
    ck_assert_int_eq(kb_adm_parse_int(KZ_STR_LIT("2147483648"), &v), -1);
    ck_assert_int_eq(kb_adm_parse_int(KZ_STR_LIT("-2147483649"), &v), -1);
    ck_assert_int_eq(kb_adm_parse_int(KZ_STR_LIT("99999999999999999999"), &v), -1);
    ck_assert_int_eq(kb_adm_parse_int(KZ_STR_LIT(""), &v), -1);
    ck_assert_int_eq(kb_adm_parse_int(KZ_STR_LIT("-"), &v), -1);
    ck_assert_int_eq(kb_adm_parse_int(KZ_STR_LIT("1a"), &v), -1);
    ck_assert_int_eq(kb_adm_parse_int(KZ_STR_LIT(" 1"), &v), -1);
    ck_assert_int_eq(kb_adm_parse_int(KZ_STR_NULL, &v), -1);
    ck_assert_int_eq(v, 5); /* untouched on failure */
}
END_TEST

START_TEST(resource_and_set_strings)
{
    char b[128];
    ck_assert_str_eq(kb_adm_resource_str(b, sizeof b, KB_RES_TOPIC, KZ_STR_LIT("t1")),
                     "ConfigResource(type=TOPIC, name='t1')");
    ck_assert_str_eq(kb_adm_resource_str(b, sizeof b, KB_RES_BROKER, KZ_STR_LIT("")),
                     "ConfigResource(type=BROKER, name='')");
    ck_assert_str_eq(kb_adm_resource_str(b, sizeof b, 3, KZ_STR_LIT("g")), "ConfigResource(type=UNKNOWN, name='g')");
    ck_assert_str_eq(kb_adm_resource_str(b, 16, KB_RES_TOPIC, KZ_STR_LIT("t1")), "ConfigResource(");
    ck_assert_str_eq(kb_adm_resource_type_name(KB_RES_BROKER_LOGGER), "BROKER_LOGGER");
    ck_assert_str_eq(kb_adm_resource_type_name(-1), "UNKNOWN");

    const char *names[] = { "num.partitions", "log.dirs" };
    ck_assert_str_eq(kb_adm_set_str(b, sizeof b, names, 2), "Set(num.partitions, log.dirs)");
    ck_assert_str_eq(kb_adm_set_str(b, sizeof b, names, 1), "Set(num.partitions)");
    ck_assert_str_eq(kb_adm_set_str(b, sizeof b, names, 0), "Set()");
    ck_assert_str_eq(kb_adm_set_str(b, 10, names, 2), "Set(num.p");

    ck_assert_str_eq(kb_adm_op_name(KB_CFG_OP_SUBTRACT), "SUBTRACT");
    ck_assert_ptr_null(kb_adm_op_name(4));
}
END_TEST

START_TEST(cstr_and_msgf)
{
    kz_arena a = KZ_ARENA_INIT;
    const char *c = kb_adm_cstr(&a, (kz_str){ "a\0b", 3 });
    ck_assert_ptr_nonnull(c);
    ck_assert_mem_eq(c, "a?b", 4);
    ck_assert_ptr_null(kb_adm_cstr(&a, KZ_STR_NULL));
    ck_assert_str_eq(kb_adm_cstr(&a, (kz_str){ "", 0 }), "");
    kz_str m = kb_adm_msgf(&a, "Topic '%s' already exists.", "t");
    ck_assert(str_is(m, "Topic 't' already exists."));
    ck_assert_int_eq(m.s[m.len], '\0');
    kz_arena_reset(&a);
}
END_TEST

/* ------------------------------------------------------- incremental merge */

/* The value of @name in @v[0..n), NULL when absent; fails on duplicates. */
static const char *value_of(const kb_cfg_pair *v, size_t n, const char *name)
{
    const char *found = NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0) {
            ck_assert_msg(!found, "%s twice in the result", name);
            found = v[i].value;
        }
    return found;
}

typedef struct merge {
    kz_arena a;
    kb_cfg_pair *out;
    size_t n;
    char msg[256];
} merge;

static int16_t run(merge *m, const kb_cfg_pair *cur, size_t n, const kb_adm_op *ops, size_t nops)
{
    m->msg[0] = '\0';
    return kb_adm_apply_ops(&m->a, cur, n, ops, nops, kb_adm_topic_kind, NULL, &m->out, &m->n, m->msg,
                            sizeof m->msg);
}

START_TEST(merge_set_and_delete)
{
    merge m = { .a = KZ_ARENA_INIT };
    const kb_cfg_pair cur[] = { { "retention.ms", "1000" }, { "segment.bytes", "1048576" } };
    const kb_adm_op ops[] = {
        { "retention.ms", KB_CFG_OP_SET, "2000" },      /* replaces in place */
        { "cleanup.policy", KB_CFG_OP_SET, "compact" }, /* appended */
        { "segment.bytes", KB_CFG_OP_DELETE, NULL },
        { "max.message.bytes", KB_CFG_OP_DELETE, NULL }, /* absent: nothing */
    };
    ck_assert_int_eq(run(&m, cur, 2, ops, 4), 0);
    ck_assert_uint_eq(m.n, 2);
    ck_assert_str_eq(m.out[0].name, "retention.ms");
    ck_assert_str_eq(m.out[0].value, "2000");
    ck_assert_str_eq(m.out[1].name, "cleanup.policy");
    ck_assert_str_eq(m.out[1].value, "compact");
    /* the input is not modified */
    ck_assert_str_eq(cur[0].value, "1000");

    /* SET then DELETE of the same name in one request: gone */
    const kb_adm_op ops2[] = { { "min.insync.replicas", KB_CFG_OP_SET, "2" },
                               { "min.insync.replicas", KB_CFG_OP_DELETE, NULL } };
    ck_assert_int_eq(run(&m, cur, 2, ops2, 2), 0);
    ck_assert_uint_eq(m.n, 2);
    ck_assert_ptr_null(value_of(m.out, m.n, "min.insync.replicas"));

    /* duplicates in the stored set: the last one counts */
    const kb_cfg_pair twice[] = { { "retention.ms", "1" }, { "retention.ms", "2" } };
    ck_assert_int_eq(run(&m, twice, 2, NULL, 0), 0);
    ck_assert_uint_eq(m.n, 1);
    ck_assert_str_eq(value_of(m.out, m.n, "retention.ms"), "2");
    kz_arena_reset(&m.a);
}
END_TEST

START_TEST(merge_append_from_default_and_override)
{
    merge m = { .a = KZ_ARENA_INIT };
    /* no override: starts from Kafka's default "delete" */
    const kb_adm_op app[] = { { "cleanup.policy", KB_CFG_OP_APPEND, "compact" } };
    ck_assert_int_eq(run(&m, NULL, 0, app, 1), 0);
    ck_assert_uint_eq(m.n, 1);
    ck_assert_str_eq(value_of(m.out, m.n, "cleanup.policy"), "delete,compact");

    /* an override: starts from it */
    const kb_cfg_pair cur[] = { { "cleanup.policy", "compact" } };
    const kb_adm_op app2[] = { { "cleanup.policy", KB_CFG_OP_APPEND, "delete" } };
    ck_assert_int_eq(run(&m, cur, 1, app2, 1), 0);
    ck_assert_str_eq(value_of(m.out, m.n, "cleanup.policy"), "compact,delete");

    /* the empty default list: no leading comma; several elements at once */
    const kb_adm_op thr[] = { { "leader.replication.throttled.replicas", KB_CFG_OP_APPEND, "0:1,1:2" },
                              { "leader.replication.throttled.replicas", KB_CFG_OP_APPEND, "2:3" } };
    ck_assert_int_eq(run(&m, NULL, 0, thr, 2), 0);
    ck_assert_str_eq(value_of(m.out, m.n, "leader.replication.throttled.replicas"), "0:1,1:2,2:3");
    kz_arena_reset(&m.a);
}
END_TEST

START_TEST(merge_subtract_is_multiset_diff)
{
    merge m = { .a = KZ_ARENA_INIT };
    const kb_cfg_pair cur[] = { { "follower.replication.throttled.replicas", "1:1,2:2,1:1,3:3" } };
    const kb_adm_op sub[] = { { "follower.replication.throttled.replicas", KB_CFG_OP_SUBTRACT, "1:1,3:3,9:9" } };
    ck_assert_int_eq(run(&m, cur, 1, sub, 1), 0);
    /* one "1:1" goes (the first), "3:3" goes, "9:9" was not there */
    ck_assert_str_eq(value_of(m.out, m.n, "follower.replication.throttled.replicas"), "2:2,1:1");

    /* from the default: "delete" minus "delete" is the empty list, kept as "" */
    const kb_adm_op sub2[] = { { "cleanup.policy", KB_CFG_OP_SUBTRACT, "delete" } };
    ck_assert_int_eq(run(&m, NULL, 0, sub2, 1), 0);
    ck_assert_uint_eq(m.n, 1);
    ck_assert_str_eq(value_of(m.out, m.n, "cleanup.policy"), "");
    kz_arena_reset(&m.a);
}
END_TEST

START_TEST(merge_errors)
{
    merge m = { .a = KZ_ARENA_INIT };
    const kb_adm_op a1[] = { { "retention.ms", KB_CFG_OP_APPEND, "5" } };
    ck_assert_int_eq(run(&m, NULL, 0, a1, 1), 42);
    ck_assert_str_eq(m.msg, "Config value append is not allowed for config key: retention.ms");

    const kb_adm_op a2[] = { { "segment.bytes", KB_CFG_OP_SUBTRACT, "5" } };
    ck_assert_int_eq(run(&m, NULL, 0, a2, 1), 42);
    ck_assert_str_eq(m.msg, "Config value subtract is not allowed for config key: segment.bytes");

    const kb_adm_op a3[] = { { "no.such.config", KB_CFG_OP_APPEND, "x" } };
    ck_assert_int_eq(run(&m, NULL, 0, a3, 1), 40);
    ck_assert_str_eq(m.msg, "Unknown topic config name: no.such.config");

    const kb_adm_op a4[] = { { "retention.ms", 7, "1" } };
    ck_assert_int_eq(run(&m, NULL, 0, a4, 1), 42);
    ck_assert_str_eq(m.msg, "Unknown config operation 7 for config key: retention.ms");

    const kb_adm_op a5[] = { { "retention.ms", KB_CFG_OP_SET, NULL } };
    ck_assert_int_eq(run(&m, NULL, 0, a5, 1), 42);
    ck_assert_str_eq(m.msg, "Null value not supported for : SET:retention.ms");

    /* SET and DELETE do not look names up: LogConfig.validate does, later */
    const kb_adm_op a6[] = { { "no.such.config", KB_CFG_OP_SET, "1" } };
    ck_assert_int_eq(run(&m, NULL, 0, a6, 1), 0);
    ck_assert_str_eq(value_of(m.out, m.n, "no.such.config"), "1");
    kz_arena_reset(&m.a);
}
END_TEST

/* A caller-supplied kind function (broker configs use one). */
static int kind_all_lists(void *ctx, const char *name, const char **def)
{
    int *calls = ctx;
    (*calls)++;
    *def = strcmp(name, "with.default") == 0 ? "x,y" : "";
    return 1;
}

START_TEST(merge_custom_kind)
{
    merge m = { .a = KZ_ARENA_INIT };
    int calls = 0;
    const kb_adm_op ops[] = { { "with.default", KB_CFG_OP_SUBTRACT, "x" },
                              { "plain", KB_CFG_OP_APPEND, "a,,b," } };
    ck_assert_int_eq(kb_adm_apply_ops(&m.a, NULL, 0, ops, 2, kind_all_lists, &calls, &m.out, &m.n, m.msg,
                                      sizeof m.msg), 0);
    ck_assert_int_eq(calls, 2);
    ck_assert_uint_eq(m.n, 2);
    ck_assert_str_eq(value_of(m.out, m.n, "with.default"), "y");
    ck_assert_str_eq(value_of(m.out, m.n, "plain"), "a,b"); /* empty elements dropped */
    kz_arena_reset(&m.a);
}
END_TEST

START_TEST(topic_kind_table)
{
    const char *def = NULL;
    ck_assert_int_eq(kb_adm_topic_kind(NULL, "cleanup.policy", &def), 1);
    ck_assert_str_eq(def, "delete");
    ck_assert_int_eq(kb_adm_topic_kind(NULL, "leader.replication.throttled.replicas", &def), 1);
    ck_assert_str_eq(def, "");
    ck_assert_int_eq(kb_adm_topic_kind(NULL, "retention.ms", &def), 0);
    ck_assert_int_eq(kb_adm_topic_kind(NULL, "log.retention.ms", &def), -1);
}
END_TEST

static Suite *api_admin_suite(void)
{
    Suite *s = suite_create("api_admin");
    TCase *tc = tcase_create("util");
    tcase_add_test(tc, dups_marked_first_and_repeats);
    tcase_add_test(tc, dups_null_and_empty_names);
    tcase_add_test(tc, dups_large_input);
    tcase_add_test(tc, parse_int_as_java);
    tcase_add_test(tc, resource_and_set_strings);
    tcase_add_test(tc, cstr_and_msgf);
    suite_add_tcase(s, tc);
    tc = tcase_create("incremental");
    tcase_add_test(tc, merge_set_and_delete);
    tcase_add_test(tc, merge_append_from_default_and_override);
    tcase_add_test(tc, merge_subtract_is_multiset_diff);
    tcase_add_test(tc, merge_errors);
    tcase_add_test(tc, merge_custom_kind);
    tcase_add_test(tc, topic_kind_table);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ut_run(api_admin_suite());
}
