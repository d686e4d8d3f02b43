/* test/unit/check_kbzk.c -- Kafka's znode layout: paths, uuids, and every
 * JSON codec of broker/kb_zk.c, with the JVM key orders of common/kz_json.c.
 *
 * Golden strings marked "zk-0N" are znode values copied from the dumps of a
 * live Kafka 2.4.0 cluster (../shared/ref/kafka/zk-*.txt); each encoder must
 * reproduce them byte for byte. Strings marked "derived" have no capture
 * (Kafka 2.7+ forms): they follow from the same map orders, which the
 * captured strings pin down (seven-key registration, 1- to 50-partition
 * assignments, five-key partition state, three-key topic config).
 * Decoders are fed the goldens, reordered documents with extra keys, older
 * versions, and broken input: every prefix of every golden and random byte
 * mutations must give an error or a value, never a crash (run under
 * ASan/UBSan with make SAN=1). */
#include <check.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kb_zk.h"
#include "kz_buf.h"
#include "kz_json.h"
#include "unit_util.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

/* ---- goldens ---- */
static const char G_STATE[] = /* zk-01 */
    "{\"controller_epoch\":1,\"leader\":1,\"version\":1,\"leader_epoch\":0,\"isr\":[1,2,3]}";
static const char G_STATE_SHRUNK[] = /* zk-02, after broker 3 stopped */
    "{\"controller_epoch\":1,\"leader\":1,\"version\":1,\"leader_epoch\":1,\"isr\":[1,2]}";
static const char G_REG4[] = /* zk-01 */
    "{\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\"},\"endpoints\":"
    "[\"PLAINTEXT://127.0.0.1:9092\"],\"jmx_port\":-1,\"host\":\"127.0.0.1\",\"timestamp\":"
    "\"1795227670557\",\"port\":9092,\"version\":4}";
static const char G_REG5[] = /* derived */
    "{\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\"},\"endpoints\":"
    "[\"PLAINTEXT://127.0.0.1:9092\"],\"jmx_port\":-1,\"features\":{},\"host\":\"127.0.0.1\","
    "\"timestamp\":\"1795227670557\",\"port\":9092,\"version\":5}";
static const char G_CONTROLLER[] = /* zk-01 */
    "{\"version\":1,\"brokerid\":3,\"timestamp\":\"1795227670650\"}";
static const char G_CLUSTER[] = "{\"version\":\"1\",\"id\":\"pfqLH6wURz-ByQuqgoru5Q\"}"; /* zk-00 */
static const char G_T1[] = /* zk-01 bs-defaults */
    "{\"version\":2,\"partitions\":{\"0\":[1]},\"adding_replicas\":{},\"removing_replicas\":{}}";
static const char G_T2[] = /* zk-01 bs-compact */
    "{\"version\":2,\"partitions\":{\"1\":[2,3,1],\"0\":[1,2,3]},\"adding_replicas\":{},"
    "\"removing_replicas\":{}}";
static const char G_T3[] = /* zk-01 zk-assigned */
    "{\"version\":2,\"partitions\":{\"2\":[3,1],\"1\":[2,3],\"0\":[1,2]},\"adding_replicas\":{},"
    "\"removing_replicas\":{}}";
static const char G_T6[] = /* zk-01 zk-six */
    "{\"version\":2,\"partitions\":{\"2\":[1,2,3],\"5\":[1,3,2],\"1\":[3,1,2],\"4\":[3,2,1],"
    "\"0\":[2,3,1],\"3\":[2,1,3]},\"adding_replicas\":{},\"removing_replicas\":{}}";
static const char G_T8[] = /* zk-05 zk-six after --alter --partitions 8 */
    "{\"version\":2,\"partitions\":{\"2\":[1,2,3],\"5\":[1,3,2],\"7\":[3,1,2],\"1\":[3,1,2],"
    "\"4\":[3,2,1],\"6\":[2,3,1],\"0\":[2,3,1],\"3\":[2,1,3]},\"adding_replicas\":{},"
    "\"removing_replicas\":{}}";
static const char G_T50[] = /* zk-05 __consumer_offsets */
    "{\"version\":2,\"partitions\":{\"30\":[3,1,2],\"39\":[3,2,1],\"45\":[3,2,1],\"2\":[2,3,1],"
    "\"5\":[2,1,3],\"48\":[3,1,2],\"33\":[3,2,1],\"27\":[3,2,1],\"12\":[3,1,2],\"8\":[2,3,1],"
    "\"15\":[3,2,1],\"42\":[3,1,2],\"36\":[3,1,2],\"21\":[3,2,1],\"18\":[3,1,2],\"24\":[3,1,2],"
    "\"35\":[2,1,3],\"41\":[2,1,3],\"7\":[1,2,3],\"17\":[2,1,3],\"1\":[1,2,3],\"44\":[2,3,1],"
    "\"23\":[2,1,3],\"38\":[2,3,1],\"47\":[2,1,3],\"4\":[1,3,2],\"26\":[2,3,1],\"11\":[2,1,3],"
    "\"32\":[2,3,1],\"14\":[2,3,1],\"20\":[2,3,1],\"29\":[2,1,3],\"46\":[1,3,2],\"34\":[1,3,2],"
    "\"28\":[1,3,2],\"6\":[3,1,2],\"40\":[1,3,2],\"49\":[1,2,3],\"9\":[3,2,1],\"43\":[1,2,3],"
    "\"0\":[3,1,2],\"22\":[1,3,2],\"16\":[1,3,2],\"37\":[1,2,3],\"19\":[1,2,3],\"3\":[3,2,1],"
    "\"10\":[1,3,2],\"31\":[1,2,3],\"25\":[1,2,3],\"13\":[1,2,3]},\"adding_replicas\":{},"
    "\"removing_replicas\":{}}";
/* The order in which Kafka filled the partition map of G_T50: the iteration
 * order of its immutable Map keyed by TopicPartition("__consumer_offsets", p)
 * (hash 31 * (31 + p) + "__consumer_offsets".hashCode()). With 50 entries
 * the map was resized three times, so this also pins the resize rules. */
static const int32_t G_T50_INSERTION[50] = {
    22, 30, 8, 21, 4, 27, 7, 9, 46, 25, 35, 41, 33, 23, 49, 47, 16, 28, 31, 36, 42, 3, 18, 37, 15,
    24, 38, 17, 48, 19, 11, 13, 2, 43, 6, 14, 20, 0, 44, 39, 12, 45, 1, 5, 26, 29, 34, 10, 32, 40,
};
static const char G_CFG_EMPTY[] = "{\"version\":1,\"config\":{}}"; /* zk-01 */
static const char G_CFG2[] = /* zk-01 zk-compact */
    "{\"version\":1,\"config\":{\"cleanup.policy\":\"compact\",\"retention.ms\":\"86400000\"}}";
static const char G_CFG3[] = /* zk-01 __consumer_offsets */
    "{\"version\":1,\"config\":{\"compression.type\":\"producer\",\"cleanup.policy\":\"compact\","
    "\"segment.bytes\":\"104857600\"}}";
static const char G_CFG_MISR[] = /* zk-01 bs-compact */
    "{\"version\":1,\"config\":{\"cleanup.policy\":\"compact\",\"min.insync.replicas\":\"2\"}}";
static const char G_CHANGE[] = "{\"version\":2,\"entity_path\":\"topics/zk-one\"}"; /* transient */
static const char G_PID[] = /* zk-01 */
    "{\"version\":1,\"broker\":2,\"block_start\":\"2000\",\"block_end\":\"2999\"}";
static const char G_REASSIGN[] = /* transient */
    "{\"version\":1,\"partitions\":[{\"topic\":\"zk-assigned\",\"partition\":0,\"replicas\":[2,3]}]}";
static const char G_ISR[] = /* transient, first three entries of isr_change_0000000002 */
    "{\"version\":1,\"partitions\":[{\"topic\":\"__consumer_offsets\",\"partition\":41},"
    "{\"topic\":\"__consumer_offsets\",\"partition\":43},{\"topic\":\"zk-assigned\",\"partition\":0}]}";
static const char G_LOGDIR[] = "{\"version\":1,\"broker\":1,\"event\":1}"; /* NOTES.md */
static const char G_FEATURE[] = "{\"features\":{},\"status\":1,\"version\":1}"; /* derived */

/* Owns an encoder's output and compares it with @want (and its length). */
static void expect_json(char *got, const size_t *len, const char *want)
{
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, want);
    ck_assert_uint_eq(*len, strlen(want));
    free(got);
}

/* ============================================================== kz_json */

/* 1. Java's String.hashCode, including non-ASCII (UTF-16 units) and
 *    surrogate pairs. Values computed with the JVM's definition by hand:
 *    s[0]*31^(n-1) + ... modulo 2^32. */
START_TEST(t01_java_hash)
{
    ck_assert_int_eq(kz_json_java_hash(""), 0);
    ck_assert_int_eq(kz_json_java_hash("a"), 97);
    ck_assert_int_eq(kz_json_java_hash("ab"), 97 * 31 + 98);
    ck_assert_int_eq(kz_json_java_hash("version"), 351608024);
    ck_assert_int_eq(kz_json_java_hash("listener_security_protocol_map"), 740874377);
    ck_assert_int_eq(kz_json_java_hash("\xc3\xa9"), 0xe9);                       /* é: one unit */
    ck_assert_int_eq(kz_json_java_hash("\xf0\x9f\x98\x80"), 0xd83d * 31 + 0xde00); /* U+1F600 */
    ck_assert_int_eq(kz_json_java_hash("\xff"), 0xff); /* invalid UTF-8: Latin-1 */
}
END_TEST

static void order_of(kz_json_order how, const char *const *keys, size_t n, const char *want)
{
    size_t perm[64];
    char got[512] = "";
    ck_assert_int_eq(kz_json_order_keys(how, keys, n, perm), 0);
    for (size_t i = 0; i < n; i++) {
        strcat(got, keys[perm[i]]);
        if (i + 1 < n)
            strcat(got, ",");
    }
    ck_assert_str_eq(got, want);
}

/* 2. each map kind on key sets whose order the dumps show. */
START_TEST(t02_map_orders)
{
    const char *six[] = { "0", "1", "2", "3", "4", "5" };
    order_of(KZ_JSON_ORDER_SCALA_MUTABLE, six, 6, "2,5,1,4,0,3");
    order_of(KZ_JSON_ORDER_INSERT, six, 6, "0,1,2,3,4,5");
    const char *reg[] = { "version", "host", "port", "endpoints", "jmx_port", "timestamp",
                          "listener_security_protocol_map" };
    order_of(KZ_JSON_ORDER_SCALA_MUTABLE, reg, 7,
             "listener_security_protocol_map,endpoints,jmx_port,host,timestamp,port,version");
    const char *st[] = { "version", "leader", "leader_epoch", "controller_epoch", "isr" };
    order_of(KZ_JSON_ORDER_SCALA_IMMUTABLE, st, 5, "controller_epoch,leader,version,leader_epoch,isr");
    order_of(KZ_JSON_ORDER_SCALA_IMMUTABLE, st, 4, "version,leader,leader_epoch,controller_epoch");
    const char *cfg[] = { "cleanup.policy", "segment.bytes", "compression.type" };
    order_of(KZ_JSON_ORDER_JAVA_CHM, cfg, 3, "compression.type,cleanup.policy,segment.bytes");
    const char *cfg2[] = { "retention.ms", "cleanup.policy" };
    order_of(KZ_JSON_ORDER_JAVA_CHM, cfg2, 2, "cleanup.policy,retention.ms");

    /* Large inputs (resizes) stay permutations. */
    char names[40][16];
    const char *many[40];
    for (int i = 0; i < 40; i++) {
        snprintf(names[i], sizeof names[i], "k%d", i);
        many[i] = names[i];
    }
    for (int how = 0; how <= KZ_JSON_ORDER_JAVA_CHM; how++) {
        size_t perm[40];
        int seen[40] = { 0 };
        ck_assert_int_eq(kz_json_order_keys(how, many, 40, perm), 0);
        for (int i = 0; i < 40; i++) {
            ck_assert_uint_lt(perm[i], 40);
            seen[perm[i]]++;
        }
        for (int i = 0; i < 40; i++)
            ck_assert_int_eq(seen[i], 1);
    }
}
END_TEST

/* 3. dump: compact, insertion order, Jackson's escaping (control characters
 *    escaped, '/' and UTF-8 left alone). */
START_TEST(t03_dump_format)
{
    const char *keys[] = { "z", "a/b", "n" };
    json_t *vals[] = { json_string("\xc3\xa9\n\"\\\x01"), json_integer(-5), json_null() };
    json_t *o = kz_json_object_ordered(KZ_JSON_ORDER_INSERT, keys, vals, 3);
    size_t len = 0;
    char *s = kz_json_dump(o, &len);
    json_decref(o);
    expect_json(s, &len, "{\"z\":\"\xc3\xa9\\n\\\"\\\\\\u0001\",\"a/b\":-5,\"n\":null}");
    /* a NULL value fails the whole object and releases the others */
    json_t *bad[] = { json_string("x"), NULL, json_integer(1) };
    ck_assert_ptr_null(kz_json_object_ordered(KZ_JSON_ORDER_INSERT, keys, bad, 3));
}
END_TEST

/* 4. the reader: typed getters, defaults, first error kept. */
START_TEST(t04_reader)
{
    char err[128];
    const char doc[] = "{\"i\":7,\"big\":4294967296,\"s\":\"x\",\"n\":null,\"ns\":\"-12\",\"f\":1.0,"
                       "\"a\":[1,2,3],\"o\":{}}";
    json_t *j = kz_json_parse(doc, strlen(doc), err, sizeof err);
    ck_assert_ptr_nonnull(j);
    kz_jrd r = KZ_JRD_INIT;
    ck_assert_int_eq(kz_jrd_i32(&r, j, "i"), 7);
    ck_assert_int_eq(kz_jrd_i32_or(&r, j, "missing", -1), -1);
    ck_assert_int_eq(kz_jrd_i32_or(&r, j, "n", 9), 9);
    ck_assert_int_eq(kz_jrd_i64_or(&r, j, "big", 0), 4294967296LL);
    ck_assert_int_eq(kz_jrd_numstr(&r, j, "ns", true, 0), -12);
    ck_assert_int_eq(kz_jrd_numstr(&r, j, "i", true, 0), 7);
    ck_assert_str_eq(kz_jrd_str(&r, j, "s", true), "x");
    ck_assert_ptr_null(kz_jrd_str(&r, j, "n", false));
    kz_arena a = KZ_ARENA_INIT;
    int32_t n;
    int32_t *v = kz_jrd_i32s(&r, kz_jrd_arr(&r, j, "a", true), &a, &n, "a");
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(v[2], 3);
    ck_assert_int_eq(r.err, 0);
    /* first error kept, later calls are no-ops */
    ck_assert_int_eq(kz_jrd_i32(&r, j, "big"), 0);
    ck_assert_int_eq(r.err, KZ_ECORRUPT);
    ck_assert_str_eq(r.msg, "key 'big' is out of range: 4294967296");
    (void)kz_jrd_i32(&r, j, "f");
    ck_assert_str_eq(r.msg, "key 'big' is out of range: 4294967296");

    kz_jrd r2 = KZ_JRD_INIT;
    (void)kz_jrd_i32(&r2, j, "f");
    ck_assert_str_eq(r2.msg, "key 'f' is not an integer");
    kz_jrd r3 = KZ_JRD_INIT;
    (void)kz_jrd_str(&r3, j, "nope", true);
    ck_assert_str_eq(r3.msg, "missing key 'nope'");
    kz_jrd r4 = KZ_JRD_INIT;
    (void)kz_jrd_numstr(&r4, j, "s", true, 0);
    ck_assert_str_eq(r4.msg, "key 's' is not a decimal number");
    kz_jrd r5 = KZ_JRD_INIT;
    (void)kz_jrd_i32(&r5, kz_jrd_arr(&r5, j, "a", true), "x");
    ck_assert_str_eq(r5.msg, "expected a JSON object holding 'x'");
    json_decref(j);
    kz_arena_reset(&a);

    ck_assert_ptr_null(kz_json_parse("{\"a\":", 5, err, sizeof err));
    ck_assert(strstr(err, "invalid JSON") == err);
    ck_assert_ptr_null(kz_json_parse("{} x", 4, err, sizeof err));
    ck_assert_ptr_null(kz_json_parse(NULL, 0, err, sizeof err));
}
END_TEST

/* ================================================================ paths */

/* 5. builders, the start-up list and sequence suffixes. */
START_TEST(t05_paths)
{
    char b[KB_ZK_PATH_MAX];
    ck_assert_int_eq(kb_zk_path_broker(b, sizeof b, 1), 14);
    ck_assert_str_eq(b, "/brokers/ids/1");
    ck_assert_int_gt(kb_zk_path_topic(b, sizeof b, "zk-six"), 0);
    ck_assert_str_eq(b, "/brokers/topics/zk-six");
    kb_zk_path_partitions(b, sizeof b, "t");
    ck_assert_str_eq(b, "/brokers/topics/t/partitions");
    kb_zk_path_partition(b, sizeof b, "t", 7);
    ck_assert_str_eq(b, "/brokers/topics/t/partitions/7");
    ck_assert_int_eq(kb_zk_path_partition_state(b, sizeof b, "dotted.name", 0),
                     (int)strlen("/brokers/topics/dotted.name/partitions/0/state"));
    ck_assert_str_eq(b, "/brokers/topics/dotted.name/partitions/0/state");
    kb_zk_path_config(b, sizeof b, "topics", "t");
    ck_assert_str_eq(b, "/config/topics/t");
    kb_zk_path_delete_topic(b, sizeof b, "t");
    ck_assert_str_eq(b, "/admin/delete_topics/t");
    /* a 249-byte topic name fits */
    char name[250];
    memset(name, 'x', 249);
    name[249] = '\0';
    ck_assert_int_gt(kb_zk_path_partition_state(b, sizeof b, name, 2147483647), 0);
    /* refusals: too small, bad arguments */
    char small[10];
    ck_assert_int_eq(kb_zk_path_topic(small, sizeof small, "abc"), -1);
    ck_assert_str_eq(small, "");
    ck_assert_int_eq(kb_zk_path_broker(b, sizeof b, -1), -1);
    ck_assert_int_eq(kb_zk_path_topic(b, sizeof b, ""), -1);
    ck_assert_int_eq(kb_zk_path_topic(b, sizeof b, NULL), -1);
    ck_assert_int_eq(kb_zk_path_partition(b, sizeof b, "t", -1), -1);

    static const char *const want[] = {
        "/consumers", "/brokers/ids", "/brokers/topics", "/config/changes", "/admin/delete_topics",
        "/brokers/seqid", "/isr_change_notification", "/latest_producer_id_block",
        "/log_dir_event_notification", "/config/topics", "/config/clients", "/config/users",
        "/config/brokers", "/config/ips",
    };
    size_t i = 0;
    for (; kb_zk_persistent_paths[i]; i++) {
        ck_assert_uint_lt(i, N_(want));
        ck_assert_str_eq(kb_zk_persistent_paths[i], want[i]);
    }
    ck_assert_uint_eq(i, N_(want));
    ck_assert_str_eq(kb_zk_config_types[4], "ips");
    ck_assert_ptr_null(kb_zk_config_types[5]);

    ck_assert_str_eq(kb_zk_seq_suffix("isr_change_0000000002", "isr_change_"), "0000000002");
    ck_assert_ptr_null(kb_zk_seq_suffix("config_change_0000000001", "isr_change_"));
}
END_TEST

/* ================================================================ uuids */

/* 6. random ids: 22 URL-safe characters, version 4 and IETF variant bits,
 *    never a leading '-', all distinct; parse/format round trips; bad text
 *    refused. */
START_TEST(t06_uuids)
{
    enum { N = 2000 };
    static char seen[N][23];
    for (int i = 0; i < N; i++) {
        kz_uuid u, back;
        kb_zk_uuid_random(&u);
        ck_assert_int_eq(u.b[6] >> 4, 4);
        ck_assert_int_eq(u.b[8] >> 6, 2);
        kb_zk_uuid_str(&u, seen[i]);
        ck_assert_uint_eq(strlen(seen[i]), 22);
        ck_assert_int_ne(seen[i][0], '-');
        ck_assert_uint_eq(strspn(seen[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 22);
        ck_assert_int_eq(kb_zk_uuid_parse(seen[i], &back), 0);
        ck_assert_mem_eq(back.b, u.b, 16);
    }
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            ck_assert_str_ne(seen[i], seen[j]);

    /* the cluster id of the dumps */
    kz_uuid u;
    char s[23];
    ck_assert_int_eq(kb_zk_uuid_parse("pfqLH6wURz-ByQuqgoru5Q", &u), 0);
    ck_assert_int_eq(u.b[0], 0xa5);
    ck_assert_int_eq(u.b[1], 0xfa);
    ck_assert_int_eq(u.b[6] >> 4, 4); /* a v4 id, as Kafka generates */
    kb_zk_uuid_str(&u, s);
    ck_assert_str_eq(s, "pfqLH6wURz-ByQuqgoru5Q");
    kz_uuid zero = { { 0 } };
    kb_zk_uuid_str(&zero, s);
    ck_assert_str_eq(s, "AAAAAAAAAAAAAAAAAAAAAA");

    ck_assert_int_eq(kb_zk_uuid_parse("pfqLH6wURz-ByQuqgoru5", &u), -1);  /* 21 */
    ck_assert_int_eq(kb_zk_uuid_parse("pfqLH6wURz-ByQuqgoru5QQ", &u), -1); /* 23 */
    ck_assert_int_eq(kb_zk_uuid_parse("pfqLH6wURz+ByQuqgoru5Q", &u), -1);  /* not URL-safe */
    ck_assert_int_eq(kb_zk_uuid_parse("AAAAAAAAAAAAAAAAAAAAAB", &u), -1);  /* stray low bits */
    ck_assert_int_eq(kb_zk_uuid_parse(NULL, &u), -1);
}
END_TEST

/* ===================================================== partition state */

/* 7. encoder byte-exact; decoder with reordered and extra keys. */
START_TEST(t07_pstate)
{
    int32_t isr[] = { 1, 2, 3 };
    kb_zk_pstate st = { .leader = 1, .leader_epoch = 0, .controller_epoch = 1, .isr = isr, .n_isr = 3 };
    size_t len;
    expect_json(kb_zk_pstate_encode(&st, &len), &len, G_STATE);
    st.leader_epoch = 1;
    st.n_isr = 2;
    expect_json(kb_zk_pstate_encode(&st, &len), &len, G_STATE_SHRUNK);
    st = (kb_zk_pstate){ .leader = -1, .leader_epoch = 5, .controller_epoch = 3, .isr = NULL, .n_isr = 0 };
    expect_json(kb_zk_pstate_encode(&st, &len), &len,
                "{\"controller_epoch\":3,\"leader\":-1,\"version\":1,\"leader_epoch\":5,\"isr\":[]}");

    kz_arena a = KZ_ARENA_INIT;
    char err[160];
    kb_zk_pstate d;
    ck_assert_int_eq(kb_zk_pstate_decode(G_STATE, strlen(G_STATE), &a, &d, err, sizeof err), 0);
    ck_assert_int_eq(d.leader, 1);
    ck_assert_int_eq(d.controller_epoch, 1);
    ck_assert_int_eq(d.leader_epoch, 0);
    ck_assert_int_eq(d.version, 1);
    ck_assert_int_eq(d.n_isr, 3);
    ck_assert_int_eq(d.isr[0], 1);
    ck_assert_int_eq(d.isr[2], 3);
    const char re[] = "{\"isr\":[3,2],\"future\":{\"x\":[1]},\"leader_epoch\":9,\"leader\":3,"
                      "\"controller_epoch\":4}";
    ck_assert_int_eq(kb_zk_pstate_decode(re, strlen(re), &a, &d, err, sizeof err), 0);
    ck_assert_int_eq(d.leader, 3);
    ck_assert_int_eq(d.leader_epoch, 9);
    ck_assert_int_eq(d.controller_epoch, 4);
    ck_assert_int_eq(d.version, 1);
    ck_assert_int_eq(d.n_isr, 2);
    ck_assert_int_eq(d.isr[1], 2);

    const char nol[] = "{\"controller_epoch\":1,\"version\":1,\"leader_epoch\":0,\"isr\":[1]}";
    ck_assert_int_eq(kb_zk_pstate_decode(nol, strlen(nol), &a, &d, err, sizeof err), KB_ZK_EBADJSON);
    ck_assert_str_eq(err, "missing key 'leader'");
    const char badisr[] = "{\"controller_epoch\":1,\"leader\":1,\"leader_epoch\":0,\"isr\":[1,\"2\"]}";
    ck_assert_int_eq(kb_zk_pstate_decode(badisr, strlen(badisr), &a, &d, err, sizeof err),
                     KB_ZK_EBADJSON);
    ck_assert_str_eq(err, "isr is not an integer");
    ck_assert_int_eq(kb_zk_pstate_decode("[1]", 3, &a, &d, err, sizeof err), KB_ZK_EBADJSON);
    ck_assert_str_eq(err, "expected a JSON object");
    kz_arena_reset(&a);
}
END_TEST

/* ================================================ broker registration */

/* 8. v4 as captured, v5 derived, rack, several listeners, IPv6, no
 *    PLAINTEXT listener, features; impossible input refused. */
START_TEST(t08_broker_encode)
{
    kb_zk_endpoint ep = { "PLAINTEXT", "127.0.0.1", 9092, "PLAINTEXT" };
    kb_zk_broker b = { .version = 4, .endpoints = &ep, .n_endpoints = 1, .jmx_port = -1,
                       .timestamp = 1795227670557LL };
    size_t len;
    expect_json(kb_zk_broker_encode(&b, &len), &len, G_REG4);
    b.version = 5;
    expect_json(kb_zk_broker_encode(&b, &len), &len, G_REG5);

    b.rack = "r1";
    expect_json(kb_zk_broker_encode(&b, &len), &len,
                "{\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\"},\"endpoints\":"
                "[\"PLAINTEXT://127.0.0.1:9092\"],\"rack\":\"r1\",\"jmx_port\":-1,\"features\":{},"
                "\"host\":\"127.0.0.1\",\"timestamp\":\"1795227670557\",\"port\":9092,\"version\":5}");

    kb_zk_endpoint eps[] = { { "EXTERNAL", "::1", 9093, "SSL" },
                             { "INTERNAL", "10.0.0.1", 9092, "PLAINTEXT" },
                             { "REPL", NULL, 9094, "PLAINTEXT" } };
    kb_zk_feature f = { "fx", 1, 2 };
    kb_zk_broker m = { .version = 5, .endpoints = eps, .n_endpoints = 3, .jmx_port = 9999,
                       .timestamp = 1, .features = &f, .n_features = 1 };
    expect_json(kb_zk_broker_encode(&m, &len), &len,
                "{\"listener_security_protocol_map\":{\"EXTERNAL\":\"SSL\",\"INTERNAL\":\"PLAINTEXT\","
                "\"REPL\":\"PLAINTEXT\"},\"endpoints\":[\"EXTERNAL://[::1]:9093\","
                "\"INTERNAL://10.0.0.1:9092\",\"REPL://:9094\"],\"jmx_port\":9999,\"features\":"
                "{\"fx\":{\"min_version\":1,\"max_version\":2}},\"host\":\"10.0.0.1\",\"timestamp\":"
                "\"1\",\"port\":9092,\"version\":5}");

    kb_zk_endpoint ssl = { "SSL", "h", 9093, "SSL" };
    kb_zk_broker s = { .version = 4, .endpoints = &ssl, .n_endpoints = 1, .jmx_port = -1, .timestamp = 5 };
    expect_json(kb_zk_broker_encode(&s, &len), &len,
                "{\"listener_security_protocol_map\":{\"SSL\":\"SSL\"},\"endpoints\":[\"SSL://h:9093\"],"
                "\"jmx_port\":-1,\"host\":null,\"timestamp\":\"5\",\"port\":-1,\"version\":4}");

    kb_zk_endpoint bad = { "X", "h", 1, "NOPE" };
    kb_zk_broker bb = { .version = 4, .endpoints = &bad, .n_endpoints = 1 };
    ck_assert_ptr_null(kb_zk_broker_encode(&bb, &len));
    b.version = 3;
    ck_assert_ptr_null(kb_zk_broker_encode(&b, &len));
}
END_TEST

/* 9. decoding every version, reordered keys, extra keys; errors. */
START_TEST(t09_broker_decode)
{
    kz_arena a = KZ_ARENA_INIT;
    char err[160];
    kb_zk_broker d;
    ck_assert_int_eq(kb_zk_broker_decode(G_REG4, strlen(G_REG4), &a, &d, err, sizeof err), 0);
    ck_assert_int_eq(d.version, 4);
    ck_assert_int_eq(d.n_endpoints, 1);
    ck_assert_str_eq(d.endpoints[0].listener, "PLAINTEXT");
    ck_assert_str_eq(d.endpoints[0].host, "127.0.0.1");
    ck_assert_int_eq(d.endpoints[0].port, 9092);
    ck_assert_str_eq(d.endpoints[0].protocol, "PLAINTEXT");
    ck_assert_int_eq(d.jmx_port, -1);
    ck_assert_int_eq(d.timestamp, 1795227670557LL);
    ck_assert_ptr_null(d.rack);
    ck_assert_int_eq(d.n_features, 0);

    const char v1[] = "{\"jmx_port\":9999,\"timestamp\":\"2233345666\",\"port\":9092,\"host\":\"old\",\"version\":1}";
    ck_assert_int_eq(kb_zk_broker_decode(v1, strlen(v1), &a, &d, err, sizeof err), 0);
    ck_assert_int_eq(d.n_endpoints, 1);
    ck_assert_str_eq(d.endpoints[0].host, "old");
    ck_assert_str_eq(d.endpoints[0].protocol, "PLAINTEXT");
    ck_assert_int_eq(d.endpoints[0].port, 9092);
    ck_assert_int_eq(d.jmx_port, 9999);

    /* v2/v3: no protocol map, the listener is the protocol; rack */
    const char v3[] = "{\"version\":3,\"host\":\"h\",\"port\":9092,\"jmx_port\":-1,\"timestamp\":\"1\","
                      "\"endpoints\":[\"PLAINTEXT://h:9092\",\"SSL://[fe80::1%eth0]:9093\"],\"rack\":\"dc1\"}";
    ck_assert_int_eq(kb_zk_broker_decode(v3, strlen(v3), &a, &d, err, sizeof err), 0);
    ck_assert_int_eq(d.n_endpoints, 2);
    ck_assert_str_eq(d.endpoints[1].listener, "SSL");
    ck_assert_str_eq(d.endpoints[1].protocol, "SSL");
    ck_assert_str_eq(d.endpoints[1].host, "fe80::1%eth0");
    ck_assert_int_eq(d.endpoints[1].port, 9093);
    ck_assert_str_eq(d.rack, "dc1");

    /* v5 reordered with an unknown key and features; empty host */
    const char v5[] = "{\"version\":5,\"future\":[1,2],\"features\":{\"f\":{\"max_version\":3,"
                      "\"min_version\":1}},\"endpoints\":[\"CLIENT://:9092\"],\"jmx_port\":-1,"
                      "\"listener_security_protocol_map\":{\"CLIENT\":\"SASL_SSL\"},\"rack\":null}";
    ck_assert_int_eq(kb_zk_broker_decode(v5, strlen(v5), &a, &d, err, sizeof err), 0);
    ck_assert_ptr_null(d.endpoints[0].host);
    ck_assert_str_eq(d.endpoints[0].protocol, "SASL_SSL");
    ck_assert_int_eq(d.n_features, 1);
    ck_assert_str_eq(d.features[0].name, "f");
    ck_assert_int_eq(d.features[0].min_version, 1);
    ck_assert_int_eq(d.features[0].max_version, 3);
    ck_assert_ptr_null(d.rack);
    ck_assert_int_eq(d.port, -1);

    /* round trip: decode what we encode */
    kb_zk_endpoint eps[] = { { "A", "h1", 1, "SSL" }, { "B", "h2", 2, "PLAINTEXT" } };
    kb_zk_broker in = { .version = 5, .endpoints = eps, .n_endpoints = 2, .jmx_port = 7,
                        .timestamp = 42, .rack = "r" };
    size_t len;
    char *js = kb_zk_broker_encode(&in, &len);
    ck_assert_int_eq(kb_zk_broker_decode(js, len, &a, &d, err, sizeof err), 0);
    free(js);
    ck_assert_int_eq(d.n_endpoints, 2);
    ck_assert_str_eq(d.endpoints[0].listener, "A");
    ck_assert_str_eq(d.endpoints[1].protocol, "PLAINTEXT");
    ck_assert_str_eq(d.host, "h2");
    ck_assert_int_eq(d.port, 2);
    ck_assert_int_eq(d.timestamp, 42);
    ck_assert_str_eq(d.rack, "r");

    static const struct {
        const char *doc, *msg;
    } bad[] = {
        { "{\"version\":4,\"jmx_port\":-1}", "missing key 'endpoints'" },
        { "{\"version\":0,\"endpoints\":[]}", "unsupported version of broker registration: 0" },
        { "{\"version\":2,\"endpoints\":[\"PLAINTEXT:9092\"]}", "invalid endpoint 'PLAINTEXT:9092'" },
        { "{\"version\":2,\"endpoints\":[\"PLAINTEXT://h:x\"]}", "invalid endpoint 'PLAINTEXT://h:x'" },
        { "{\"version\":2,\"endpoints\":[\"PLAINTEXT://h h:1\"]}", "invalid host in endpoint 'PLAINTEXT://h h:1'" },
        { "{\"version\":2,\"endpoints\":[\"FOO://h:1\"]}", "unknown security protocol for listener FOO" },
        { "{\"version\":4,\"endpoints\":[\"A://h:1\"],\"listener_security_protocol_map\":{}}", "missing key 'A'" },
        { "{\"version\":2,\"endpoints\":[7]}", "endpoint 0 is not a string" },
        { "{\"version\":1,\"port\":1}", "missing key 'host'" },
        { "{\"version\":\"4\"}", "key 'version' is not an integer" },
    };
    for (size_t i = 0; i < N_(bad); i++) {
        ck_assert_int_eq(kb_zk_broker_decode(bad[i].doc, strlen(bad[i].doc), &a, &d, err, sizeof err),
                         KB_ZK_EBADJSON);
        ck_assert_str_eq(err, bad[i].msg);
    }
    kz_arena_reset(&a);
}
END_TEST

/* ============================================================= topics */

/* Encodes the partitions of @golden in the order of @order (or ascending). */
static void topic_roundtrip(const char *golden, const int32_t *order)
{
    kz_arena a = KZ_ARENA_INIT;
    char err[160];
    kb_zk_topic t;
    ck_assert_int_eq(kb_zk_topic_decode(golden, strlen(golden), &a, &t, err, sizeof err), 0);
    for (int32_t i = 0; i < t.n_parts; i++)
        ck_assert_int_eq(t.parts[i].partition, i); /* sorted, dense */
    kb_zk_topic in = t;
    kb_zk_part_assign *p = calloc(t.n_parts > 0 ? (size_t)t.n_parts : 1, sizeof *p);
    for (int32_t i = 0; i < t.n_parts; i++)
        p[i] = t.parts[order ? order[i] : i];
    in.parts = p;
    size_t len;
    expect_json(kb_zk_topic_encode(&in, &len), &len, golden);
    free(p);
    kz_arena_reset(&a);
}

/* 10. assignments of 1, 2, 3, 6, 8 and 50 partitions as captured. */
START_TEST(t10_topic_goldens)
{
    topic_roundtrip(G_T1, NULL);
    topic_roundtrip(G_T2, NULL);
    topic_roundtrip(G_T3, NULL);
    topic_roundtrip(G_T6, NULL);
    topic_roundtrip(G_T8, NULL);
    topic_roundtrip(G_T50, G_T50_INSERTION);
}
END_TEST

/* 11. reassignment fields, topic ids (v3), old and odd documents. */
START_TEST(t11_topic_forms)
{
    int32_t r0[] = { 1, 2 }, r1[] = { 1, 2, 3 }, add[] = { 3 }, rem[] = { 1 };
    kb_zk_part_assign p[] = { { 0, r0, 2, NULL, 0, NULL, 0 }, { 1, r1, 3, add, 1, rem, 1 } };
    kb_zk_topic t = { .parts = p, .n_parts = 2 };
    size_t len;
    expect_json(kb_zk_topic_encode(&t, &len), &len,
                "{\"version\":2,\"partitions\":{\"1\":[1,2,3],\"0\":[1,2]},\"adding_replicas\":"
                "{\"1\":[3]},\"removing_replicas\":{\"1\":[1]}}");
    t.has_id = true;
    ck_assert_int_eq(kb_zk_uuid_parse("pfqLH6wURz-ByQuqgoru5Q", &t.id), 0);
    t.n_parts = 1;
    /* derived: 2.8's v3 is a mutable.HashMap of five keys */
    expect_json(kb_zk_topic_encode(&t, &len), &len,
                "{\"removing_replicas\":{},\"partitions\":{\"0\":[1,2]},\"topic_id\":"
                "\"pfqLH6wURz-ByQuqgoru5Q\",\"adding_replicas\":{},\"version\":3}");

    kz_arena a = KZ_ARENA_INIT;
    char err[160];
    kb_zk_topic d;
    char *js = kb_zk_topic_encode(&(kb_zk_topic){ .has_id = true, .id = t.id, .parts = p, .n_parts = 2 }, &len);
    ck_assert_int_eq(kb_zk_topic_decode(js, len, &a, &d, err, sizeof err), 0);
    free(js);
    ck_assert_int_eq(d.version, 3);
    ck_assert(d.has_id);
    ck_assert_mem_eq(d.id.b, t.id.b, 16);
    ck_assert_int_eq(d.n_parts, 2);
    ck_assert_int_eq(d.parts[1].n_adding, 1);
    ck_assert_int_eq(d.parts[1].adding[0], 3);
    ck_assert_int_eq(d.parts[1].removing[0], 1);
    ck_assert_int_eq(d.parts[0].n_adding, 0);

    const char v1[] = "{\"version\":1,\"partitions\":{\"10\":[5],\"2\":[1,2]}}";
    ck_assert_int_eq(kb_zk_topic_decode(v1, strlen(v1), &a, &d, err, sizeof err), 0);
    ck_assert_int_eq(d.version, 1);
    ck_assert(!d.has_id);
    ck_assert_int_eq(d.n_parts, 2);
    ck_assert_int_eq(d.parts[0].partition, 2);
    ck_assert_int_eq(d.parts[1].partition, 10);
    ck_assert_int_eq(d.parts[1].replicas[0], 5);
    const char none[] = "{\"version\":2,\"x\":1}";
    ck_assert_int_eq(kb_zk_topic_decode(none, strlen(none), &a, &d, err, sizeof err), 0);
    ck_assert_int_eq(d.n_parts, 0);

    static const struct {
        const char *doc, *msg;
    } bad[] = {
        { "{\"partitions\":{\"x\":[1]}}", "invalid partition 'x'" },
        { "{\"partitions\":{\"-1\":[1]}}", "invalid partition '-1'" },
        { "{\"partitions\":{\"0\":1}}", "replicas of partition 0 is not an array" },
        { "{\"partitions\":[]}", "key 'partitions' is not an object" },
        { "{\"topic_id\":\"short\",\"partitions\":{}}", "invalid topic_id 'short'" },
    };
    for (size_t i = 0; i < N_(bad); i++) {
        ck_assert_int_eq(kb_zk_topic_decode(bad[i].doc, strlen(bad[i].doc), &a, &d, err, sizeof err),
                         KB_ZK_EBADJSON);
        ck_assert_str_eq(err, bad[i].msg);
    }
    kz_arena_reset(&a);
}
END_TEST

/* ================================================ controller, epoch, id */

/* 12. /controller, /controller_epoch and /cluster/id. */
START_TEST(t12_controller_epoch_cluster)
{
    size_t len;
    expect_json(kb_zk_controller_encode(3, 1795227670650LL, &len), &len, G_CONTROLLER);
    char err[160];
    kb_zk_controller c;
    const char re[] = "{\"timestamp\":\"5\",\"brokerid\":7,\"version\":1,\"extra\":true}";
    ck_assert_int_eq(kb_zk_controller_decode(re, strlen(re), &c, err, sizeof err), 0);
    ck_assert_int_eq(c.broker_id, 7);
    ck_assert_int_eq(c.timestamp, 5);
    ck_assert_int_eq(kb_zk_controller_decode("12", 2, &c, err, sizeof err), 0); /* pre-JSON */
    ck_assert_int_eq(c.broker_id, 12);
    ck_assert_int_eq(kb_zk_controller_decode("{\"version\":1}", 13, &c, err, sizeof err), KB_ZK_EBADJSON);
    ck_assert_str_eq(err, "missing key 'brokerid'");

    char *e = kb_zk_epoch_encode(0, &len);
    ck_assert_str_eq(e, "0");
    ck_assert_uint_eq(len, 1);
    free(e);
    e = kb_zk_epoch_encode(2147483647, &len);
    ck_assert_str_eq(e, "2147483647");
    free(e);
    int32_t ep;
    ck_assert_int_eq(kb_zk_epoch_decode("15", 2, &ep, err, sizeof err), 0);
    ck_assert_int_eq(ep, 15);
    ck_assert_int_eq(kb_zk_epoch_decode("15", 1, &ep, err, sizeof err), 0); /* length-bounded */
    ck_assert_int_eq(ep, 1);
    ck_assert_int_eq(kb_zk_epoch_decode("1x", 2, &ep, err, sizeof err), KB_ZK_EBADJSON);
    ck_assert_int_eq(kb_zk_epoch_decode("", 0, &ep, err, sizeof err), KB_ZK_EBADJSON);
    ck_assert_int_eq(kb_zk_epoch_decode("2147483648", 10, &ep, err, sizeof err), KB_ZK_EBADJSON);
    ck_assert_int_eq(kb_zk_epoch_decode(NULL, 0, &ep, err, sizeof err), KB_ZK_EBADJSON);

    expect_json(kb_zk_cluster_id_encode("pfqLH6wURz-ByQuqgoru5Q", &len), &len, G_CLUSTER);
    kz_arena a = KZ_ARENA_INIT;
    const char *id;
    ck_assert_int_eq(kb_zk_cluster_id_decode(G_CLUSTER, strlen(G_CLUSTER), &a, &id, err, sizeof err), 0);
    ck_assert_str_eq(id, "pfqLH6wURz-ByQuqgoru5Q");
    const char re2[] = "{\"id\":\"abc\",\"version\":1}";
    ck_assert_int_eq(kb_zk_cluster_id_decode(re2, strlen(re2), &a, &id, err, sizeof err), 0);
    ck_assert_str_eq(id, "abc");
    ck_assert_int_eq(kb_zk_cluster_id_decode("{\"id\":1}", 8, &a, &id, err, sizeof err), KB_ZK_EBADJSON);
    ck_assert_str_eq(err, "key 'id' is not a string");
    kz_arena_reset(&a);
}
END_TEST

/* ============================================================= configs */

/* 13. topic configs (order of java.util.Properties), change notifications. */
START_TEST(t13_configs)
{
    size_t len;
    expect_json(kb_zk_config_encode(NULL, 0, &len), &len, G_CFG_EMPTY);
    kb_zk_kv c2[] = { { "retention.ms", "86400000" }, { "cleanup.policy", "compact" } };
    expect_json(kb_zk_config_encode(c2, 2, &len), &len, G_CFG2);
    kb_zk_kv c3[] = { { "cleanup.policy", "compact" }, { "segment.bytes", "104857600" },
                      { "compression.type", "producer" } };
    expect_json(kb_zk_config_encode(c3, 3, &len), &len, G_CFG3);
    kb_zk_kv c4[] = { { "min.insync.replicas", "2" }, { "cleanup.policy", "compact" } };
    expect_json(kb_zk_config_encode(c4, 2, &len), &len, G_CFG_MISR);
    kb_zk_kv nul[] = { { "a", NULL } };
    ck_assert_ptr_null(kb_zk_config_encode(nul, 1, &len));

    kz_arena a = KZ_ARENA_INIT;
    char err[160];
    kb_zk_config d;
    ck_assert_int_eq(kb_zk_config_decode(G_CFG3, strlen(G_CFG3), &a, &d, err, sizeof err), 0);
    ck_assert_int_eq(d.n, 3);
    ck_assert_str_eq(d.entries[0].key, "compression.type");
    ck_assert_str_eq(d.entries[2].value, "104857600");
    ck_assert_int_eq(kb_zk_config_decode(NULL, 0, &a, &d, err, sizeof err), 0);
    ck_assert_int_eq(d.n, 0);
    const char re[] = "{\"config\":{\"k\":\"v\"},\"version\":1,\"other\":{}}";
    ck_assert_int_eq(kb_zk_config_decode(re, strlen(re), &a, &d, err, sizeof err), 0);
    ck_assert_int_eq(d.n, 1);
    ck_assert_str_eq(d.entries[0].value, "v");
    const char nonstr[] = "{\"version\":1,\"config\":{\"k\":5}}";
    ck_assert_int_eq(kb_zk_config_decode(nonstr, strlen(nonstr), &a, &d, err, sizeof err), KB_ZK_EBADJSON);
    ck_assert_str_eq(err, "config value of 'k' is not a string");

    expect_json(kb_zk_config_change_encode("topics/zk-one", &len), &len, G_CHANGE);
    kb_zk_config_change ch;
    ck_assert_int_eq(kb_zk_config_change_decode(G_CHANGE, strlen(G_CHANGE), &a, &ch, err, sizeof err), 0);
    ck_assert_int_eq(ch.version, 2);
    ck_assert_str_eq(ch.entity_path, "topics/zk-one");
    ck_assert_str_eq(ch.entity_type, "topics");
    ck_assert_str_eq(ch.entity_name, "zk-one");
    const char v1[] = "{\"entity_name\":\"u1\",\"version\":1,\"entity_type\":\"users\"}";
    ck_assert_int_eq(kb_zk_config_change_decode(v1, strlen(v1), &a, &ch, err, sizeof err), 0);
    ck_assert_str_eq(ch.entity_path, "users/u1");
    ck_assert_str_eq(ch.entity_type, "users");
    const char nested[] = "{\"version\":2,\"entity_path\":\"users/u1/clients/c1\"}";
    ck_assert_int_eq(kb_zk_config_change_decode(nested, strlen(nested), &a, &ch, err, sizeof err), 0);
    ck_assert_str_eq(ch.entity_type, "users");
    ck_assert_str_eq(ch.entity_name, "u1/clients/c1");
    const char v3[] = "{\"version\":3,\"entity_path\":\"topics/a\"}";
    ck_assert_int_eq(kb_zk_config_change_decode(v3, strlen(v3), &a, &ch, err, sizeof err), KB_ZK_EBADJSON);
    ck_assert_str_eq(err, "unsupported config change notification version 3");
    const char noslash[] = "{\"version\":2,\"entity_path\":\"topics\"}";
    ck_assert_int_eq(kb_zk_config_change_decode(noslash, strlen(noslash), &a, &ch, err, sizeof err),
                     KB_ZK_EBADJSON);
    ck_assert_str_eq(err, "invalid entity_path 'topics'");
    kz_arena_reset(&a);
}
END_TEST

/* ================================================ lists and small nodes */

/* 14. ISR change / preferred election lists, reassignment, log-dir event,
 *     producer-id block, /feature. */
START_TEST(t14_small_nodes)
{
    size_t len;
    kb_zk_tp tps[] = { { "__consumer_offsets", 41 }, { "__consumer_offsets", 43 }, { "zk-assigned", 0 } };
    expect_json(kb_zk_tp_list_encode(tps, 3, &len), &len, G_ISR);
    kz_arena a = KZ_ARENA_INIT;
    char err[160];
    kb_zk_tp *out;
    int32_t n;
    ck_assert_int_eq(kb_zk_tp_list_decode(G_ISR, strlen(G_ISR), &a, &out, &n, err, sizeof err), 0);
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(out[2].topic, "zk-assigned");
    ck_assert_int_eq(out[1].partition, 43);
    const char bad_tp[] = "{\"version\":1,\"partitions\":[{\"topic\":\"t\"}]}";
    ck_assert_int_eq(kb_zk_tp_list_decode(bad_tp, strlen(bad_tp), &a, &out, &n, err, sizeof err),
                     KB_ZK_EBADJSON);
    ck_assert_str_eq(err, "missing key 'partition'");

    int32_t reps[] = { 2, 3 };
    kb_zk_reassign ra = { "zk-assigned", 0, reps, 2 };
    expect_json(kb_zk_reassign_encode(&ra, 1, &len), &len, G_REASSIGN);
    kb_zk_reassign *rd;
    const char with_dirs[] = "{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":2,"
                             "\"replicas\":[3,1],\"log_dirs\":[\"any\",\"any\"]}]}";
    ck_assert_int_eq(kb_zk_reassign_decode(with_dirs, strlen(with_dirs), &a, &rd, &n, err, sizeof err), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(rd[0].topic, "t");
    ck_assert_int_eq(rd[0].partition, 2);
    ck_assert_int_eq(rd[0].n_replicas, 2);
    ck_assert_int_eq(rd[0].replicas[1], 1);

    expect_json(kb_zk_log_dir_event_encode(1, &len), &len, G_LOGDIR);
    int32_t broker;
    ck_assert_int_eq(kb_zk_log_dir_event_decode(G_LOGDIR, strlen(G_LOGDIR), &broker, err, sizeof err), 0);
    ck_assert_int_eq(broker, 1);

    kb_zk_pid_block pb = { .broker_id = 2, .block_start = 2000, .block_end = 2999 };
    expect_json(kb_zk_pid_block_encode(&pb, &len), &len, G_PID);
    kb_zk_pid_block pd;
    ck_assert_int_eq(kb_zk_pid_block_decode(G_PID, strlen(G_PID), &pd, err, sizeof err), 0);
    ck_assert_int_eq(pd.broker_id, 2);
    ck_assert_int_eq(pd.block_start, 2000);
    ck_assert_int_eq(pd.block_end, 2999);
    const char inv[] = "{\"version\":1,\"broker\":2,\"block_start\":\"3000\",\"block_end\":\"2999\"}";
    ck_assert_int_eq(kb_zk_pid_block_decode(inv, strlen(inv), &pd, err, sizeof err), KB_ZK_EBADJSON);
    ck_assert_str_eq(err, "block_end 2999 is below block_start 3000");

    kb_zk_feature_node fn = { .status = 1 };
    expect_json(kb_zk_feature_encode(&fn, &len), &len, G_FEATURE);
    kb_zk_feature fs[] = { { "a", 1, 2 } };
    fn.features = fs;
    fn.n_features = 1;
    fn.status = 0;
    expect_json(kb_zk_feature_encode(&fn, &len), &len,
                "{\"features\":{\"a\":{\"min_version_level\":1,\"max_version_level\":2}},\"status\":0,"
                "\"version\":1}");
    kb_zk_feature_node fd;
    const char fdoc[] = "{\"version\":1,\"status\":1,\"features\":{\"x\":{\"max_version_level\":4,"
                        "\"min_version_level\":2}}}";
    ck_assert_int_eq(kb_zk_feature_decode(fdoc, strlen(fdoc), &a, &fd, err, sizeof err), 0);
    ck_assert_int_eq(fd.status, 1);
    ck_assert_int_eq(fd.n_features, 1);
    ck_assert_str_eq(fd.features[0].name, "x");
    ck_assert_int_eq(fd.features[0].min_version, 2);
    ck_assert_int_eq(fd.features[0].max_version, 4);
    const char fbad[] = "{\"version\":1,\"status\":7}";
    ck_assert_int_eq(kb_zk_feature_decode(fbad, strlen(fbad), &a, &fd, err, sizeof err), KB_ZK_EBADJSON);
    ck_assert_str_eq(err, "invalid feature status 7");
    kz_arena_reset(&a);
}
END_TEST

/* ======================================================= hostile input */

typedef int decode_fn(const uint8_t *p, size_t n, kz_arena *a, char *err, size_t el);

static int d_pstate(const uint8_t *p, size_t n, kz_arena *a, char *e, size_t el)
{
    kb_zk_pstate o;
    return kb_zk_pstate_decode(p, n, a, &o, e, el);
}
static int d_broker(const uint8_t *p, size_t n, kz_arena *a, char *e, size_t el)
{
    kb_zk_broker o;
    return kb_zk_broker_decode(p, n, a, &o, e, el);
}
static int d_topic(const uint8_t *p, size_t n, kz_arena *a, char *e, size_t el)
{
    kb_zk_topic o;
    return kb_zk_topic_decode(p, n, a, &o, e, el);
}
static int d_ctl(const uint8_t *p, size_t n, kz_arena *a, char *e, size_t el)
{
    (void)a;
    kb_zk_controller o;
    return kb_zk_controller_decode(p, n, &o, e, el);
}
static int d_cfg(const uint8_t *p, size_t n, kz_arena *a, char *e, size_t el)
{
    kb_zk_config o;
    return kb_zk_config_decode(p, n, a, &o, e, el);
}
static int d_change(const uint8_t *p, size_t n, kz_arena *a, char *e, size_t el)
{
    kb_zk_config_change o;
    return kb_zk_config_change_decode(p, n, a, &o, e, el);
}
static int d_cluster(const uint8_t *p, size_t n, kz_arena *a, char *e, size_t el)
{
    const char *id;
    return kb_zk_cluster_id_decode(p, n, a, &id, e, el);
}
static int d_tps(const uint8_t *p, size_t n, kz_arena *a, char *e, size_t el)
{
    kb_zk_tp *t;
    int32_t c;
    return kb_zk_tp_list_decode(p, n, a, &t, &c, e, el);
}
static int d_reassign(const uint8_t *p, size_t n, kz_arena *a, char *e, size_t el)
{
    kb_zk_reassign *t;
    int32_t c;
    return kb_zk_reassign_decode(p, n, a, &t, &c, e, el);
}
static int d_pid(const uint8_t *p, size_t n, kz_arena *a, char *e, size_t el)
{
    (void)a;
    kb_zk_pid_block o;
    return kb_zk_pid_block_decode(p, n, &o, e, el);
}
static int d_feature(const uint8_t *p, size_t n, kz_arena *a, char *e, size_t el)
{
    kb_zk_feature_node o;
    return kb_zk_feature_decode(p, n, a, &o, e, el);
}
static int d_logdir(const uint8_t *p, size_t n, kz_arena *a, char *e, size_t el)
{
    (void)a;
    int32_t b;
    return kb_zk_log_dir_event_decode(p, n, &b, e, el);
}

/* 15. every strict prefix of every golden is refused with a message (but
 *     no data at all is an empty config), and 300 random mutations of each
 *     decode or fail cleanly; each input sits in an exact-size heap block. */
START_TEST(t15_hostile)
{
    static const struct {
        const char *doc;
        decode_fn *fn;
    } g[] = {
        { G_STATE, d_pstate },   { G_REG4, d_broker },      { G_REG5, d_broker },
        { G_T6, d_topic },       { G_T50, d_topic },        { G_CONTROLLER, d_ctl },
        { G_CFG3, d_cfg },       { G_CHANGE, d_change },    { G_CLUSTER, d_cluster },
        { G_ISR, d_tps },        { G_REASSIGN, d_reassign }, { G_PID, d_pid },
        { G_FEATURE, d_feature }, { G_LOGDIR, d_logdir },
    };
    rnd_state = 0x5eed1234abcdULL;
    char err[160];
    for (size_t k = 0; k < N_(g); k++) {
        size_t n = strlen(g[k].doc);
        kz_arena a = KZ_ARENA_INIT;
        uint8_t *full = dup_exact(g[k].doc, n);
        ck_assert_int_eq(g[k].fn(full, n, &a, err, sizeof err), 0);
        free(full);
        for (size_t cut = 0; cut < n; cut++) {
            uint8_t *p = dup_exact(g[k].doc, cut);
            err[0] = '\0';
            int rc = g[k].fn(cut ? p : NULL, cut, &a, err, sizeof err);
            if (cut == 0 && g[k].fn == d_cfg) { /* a null config znode: no overrides */
                ck_assert_int_eq(rc, 0);
                free(p);
                continue;
            }
            ck_assert_msg(rc == KB_ZK_EBADJSON, "golden %zu prefix %zu decoded", k, cut);
            ck_assert_uint_gt(strlen(err), 0);
            free(p);
        }
        for (int m = 0; m < 300; m++) {
            uint8_t *p = dup_exact(g[k].doc, n);
            int flips = 1 + (int)(rnd() % 3);
            for (int f = 0; f < flips; f++)
                p[rnd() % n] = (uint8_t)rnd();
            int rc = g[k].fn(p, n, &a, err, sizeof err);
            ck_assert(rc == 0 || rc == KB_ZK_EBADJSON);
            free(p);
        }
        kz_arena_reset(&a);
    }
}
END_TEST

static Suite *kbzk_suite(void)
{
    Suite *s = suite_create("kbzk");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, t01_java_hash);
    tcase_add_test(tc, t02_map_orders);
    tcase_add_test(tc, t03_dump_format);
    tcase_add_test(tc, t04_reader);
    tcase_add_test(tc, t05_paths);
    tcase_add_test(tc, t06_uuids);
    tcase_add_test(tc, t07_pstate);
    tcase_add_test(tc, t08_broker_encode);
    tcase_add_test(tc, t09_broker_decode);
    tcase_add_test(tc, t10_topic_goldens);
    tcase_add_test(tc, t11_topic_forms);
    tcase_add_test(tc, t12_controller_epoch_cluster);
    tcase_add_test(tc, t13_configs);
    tcase_add_test(tc, t14_small_nodes);
    tcase_add_test(tc, t15_hostile);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ut_run(kbzk_suite());
}
