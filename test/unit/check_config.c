/* test/unit/check_config.c -- Check suite for common/kz_config (.properties syntax, typed key
 * tables) and coordinator/zkd_config (zoo.cfg semantics of ZooKeeper 3.8, server.N, myid,
 * session timeouts, 4lw whitelist). zkd tests write real files under mkdtemp() dirs in /tmp
 * and remove them; log output is captured with open_memstream to check warnings. */
#include "kz_config.h"
#include "kz_log.h"
#include "zkd_config.h"
#include "unit_util.h"

#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers: collect parsed pairs ---- */

#define MAXP 16
typedef struct {
    int n;
    char key[MAXP][64];
    char val[MAXP][128];
    int line[MAXP];
} pairs;

static int collect(void *ctx, const char *key, const char *value, int lineno)
{
    pairs *p = ctx;
    ck_assert_int_lt(p->n, MAXP);
    snprintf(p->key[p->n], sizeof p->key[0], "%s", key);
    snprintf(p->val[p->n], sizeof p->val[0], "%s", value);
    p->line[p->n++] = lineno;
    return 0;
}

static int parse(const char *text, pairs *p, char *err)
{
    memset(p, 0, sizeof *p);
    return kz_props_parse(text, strlen(text), collect, p, err, 256);
}

/* The parse produced exactly the @n2/2 pairs kv[0]=kv[1], kv[2]=kv[3], ... in order. */
static void ck_pairs(const pairs *p, const char *const *kv, size_t n2)
{
    ck_assert_int_eq(p->n, (int)(n2 / 2));
    for (size_t i = 0; i < n2 / 2; i++) {
        ck_assert_str_eq(p->key[i], kv[2 * i]);
        ck_assert_str_eq(p->val[i], kv[2 * i + 1]);
    }
}
#define CK_PAIRS(p, ...)                                                  \
    ck_pairs(p, (const char *const[]){ __VA_ARGS__ },                     \
             sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(char *))

/* Expected integer fields: CKF(c.tick_time, 3000) records the name for the failure message. */
typedef struct {
    const char *name;
    int64_t got, want;
} ckf;
#define CKF(field, v) { #field, (int64_t)(field), (v) }
#define CK_FIELDS(...)                                                            \
    ck_fields((const ckf[]){ __VA_ARGS__ }, sizeof((const ckf[]){ __VA_ARGS__ }) / sizeof(ckf))

static void ck_fields(const ckf *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(f[i].got == f[i].want, "%s: got %lld, want %lld", f[i].name,
                      (long long)f[i].got, (long long)f[i].want);
}

/* ---- 1. properties syntax ---- */

START_TEST(props_comments_and_blanks)
{
    pairs p;
    char err[256];
    ck_assert_int_eq(parse("# comment\n   ! bang comment\n\n \t \nk=v\n#x=y\n", &p, err), 0);
    CK_PAIRS(&p, "k", "v");
    ck_assert_int_eq(p.line[0], 5);
    /* a comment line ending in a backslash is not continued */
    ck_assert_int_eq(parse("# c \\\nk=v\n", &p, err), 0);
    CK_PAIRS(&p, "k", "v");
}
END_TEST

START_TEST(props_separators)
{
    pairs p;
    char err[256];
    const char *t = "a=1\nb:2\nc 3\nd = 4\n  e\t:\t5\nf\t\t6\ng=\nh\ni==7\nj: =8\nk = v  \n";
    ck_assert_int_eq(parse(t, &p, err), 0);
    /* last one: trailing blanks kept, as Java */
    CK_PAIRS(&p, "a", "1", "b", "2", "c", "3", "d", "4", "e", "5", "f", "6", "g", "", "h", "",
             "i", "=7", "j", "=8", "k", "v  ");
    /* escaped separators belong to the key */
    ck_assert_int_eq(parse("a\\=b=c\nx\\:y:z\nsp\\ ace val\n", &p, err), 0);
    CK_PAIRS(&p, "a=b", "c", "x:y", "z", "sp ace", "val");
}
END_TEST

START_TEST(props_continuation)
{
    pairs p;
    char err[256];
    ck_assert_int_eq(parse("k = one \\\n     two\\\n\tthree\nnext=1\n", &p, err), 0);
    CK_PAIRS(&p, "k", "one twothree", "next", "1");
    ck_assert_int_eq(p.line[0], 1);
    ck_assert_int_eq(p.line[1], 4);
    /* even backslashes: escaped backslash, no continuation; odd: continuation */
    ck_assert_int_eq(parse("a=x\\\\\nb=y\\\\\\\nz\n", &p, err), 0);
    CK_PAIRS(&p, "a", "x\\", "b", "y\\z");
    /* continued line starting with '#' is content; blank continuation ends the line */
    ck_assert_int_eq(parse("a=1\\\n  #2\nb=3\\\n   \nc=4\n", &p, err), 0);
    CK_PAIRS(&p, "a", "1#2", "b", "3", "c", "4");
    /* continuation at EOF: backslash dropped; key split across lines */
    ck_assert_int_eq(parse("ke\\\n  y=v\\", &p, err), 0);
    CK_PAIRS(&p, "key", "v");
    /* a lone "\" line has begun nothing: the next line may be a comment (JDK 9+) */
    ck_assert_int_eq(parse("  \\\n # c\nk=v\n\\\r\n", &p, err), 0);
    CK_PAIRS(&p, "k", "v");
}
END_TEST

START_TEST(props_line_endings)
{
    pairs p;
    char err[256];
    ck_assert_int_eq(parse("a=1\r\nb=2\rc=3\n\r\nd=4\\\r\n  5", &p, err), 0);
    CK_PAIRS(&p, "a", "1", "b", "2", "c", "3", "d", "45");
    ck_assert_int_eq(p.line[2], 3);
    ck_assert_int_eq(p.line[3], 5);
}
END_TEST

START_TEST(props_escapes)
{
    pairs p;
    char err[256];
    ck_assert_int_eq(parse("k=\\t\\n\\r\\f\\\\\\q\\=\\:\\#\n"
                           "e=caf\\u00e9\n"
                           "eur=\\u20AC\n"
                           "emoji=\\ud83d\\ude00\n"
                           "lone=\\ud800x\n"
                           "\\u006bey=v\n",
                           &p, err), 0);
    CK_PAIRS(&p, "k", "\t\n\r\f\\q=:#", "e", "caf\xc3\xa9", "eur", "\xe2\x82\xac",
             "emoji", "\xf0\x9f\x98\x80", "lone", "\xef\xbf\xbdx", "key", "v");
    /* raw UTF-8 passes through */
    ck_assert_int_eq(parse("n=\xc3\xa9t\xc3\xa9\n", &p, err), 0);
    CK_PAIRS(&p, "n", "\xc3\xa9t\xc3\xa9");
}
END_TEST

START_TEST(props_errors)
{
    pairs p;
    char err[256];
    ck_assert_int_eq(parse("a=1\nb=\\u12\n", &p, err), -1);
    ck_assert_str_eq(err, "line 2: malformed \\uxxxx encoding");
    ck_assert_int_eq(parse("a=\\uzzzz", &p, err), -1);
    ck_assert_int_eq(parse("a=\\u0000", &p, err), -1);
    ck_assert_int_eq(kz_props_parse("a=1\0b", 5, collect, &p, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "NUL"));
    ck_assert_int_eq(kz_props_parse_file("/nonexistent/x.properties", collect, &p, err,
                                         sizeof err), -1);
    ck_assert_str_eq(err, "cannot read /nonexistent/x.properties: No such file or directory");
}
END_TEST

static int stop_at_b(void *ctx, const char *key, const char *value, int lineno)
{
    (void)value;
    (void)lineno;
    ++*(int *)ctx;
    return strcmp(key, "b") == 0 ? 7 : 0;
}

START_TEST(props_callback_stops)
{
    int calls = 0;
    char err[256] = "";
    ck_assert_int_eq(kz_props_parse("a=1\nb=2\nc=3\n", 12, stop_at_b, &calls, err, sizeof err), 7);
    ck_assert_int_eq(calls, 2);
}
END_TEST

/* ---- 2. typed tables ---- */

typedef struct {
    char *name;
    int32_t n;
    int64_t big;
    bool flag;
    int32_t need;
    int custom;
    char *other;
} tobj;

static const char *parse_color(const kz_cfg_key *k, void *field, const char *v)
{
    (void)k;
    if (strcmp(v, "red") == 0)
        *(int *)field = 1;
    else if (strcmp(v, "blue") == 0)
        *(int *)field = 2;
    else
        return "not a color";
    return NULL;
}

static const kz_cfg_key tkeys[] = {
    { "name",  KZ_CFG_STR,    offsetof(tobj, name),   "anon", kz_cfg_required, NULL },
    { "n",     KZ_CFG_I32,    offsetof(tobj, n),      "5",    kz_cfg_ge0,      NULL },
    { "big",   KZ_CFG_I64,    offsetof(tobj, big),    "-1",   kz_cfg_ge_m1,    NULL },
    { "flag",  KZ_CFG_BOOL,   offsetof(tobj, flag),   "false", NULL,           NULL },
    { "need",  KZ_CFG_I32,    offsetof(tobj, need),   NULL,   kz_cfg_required, NULL },
    { "color", KZ_CFG_CUSTOM, offsetof(tobj, custom), "red",  NULL,            parse_color },
    { "other", KZ_CFG_STR,    offsetof(tobj, other),  NULL,   NULL,            NULL },
    { "skip",  KZ_CFG_IGNORE, 0,                      NULL,   NULL,            NULL },
};
#define NT (sizeof tkeys / sizeof tkeys[0])

static int tload(tobj *o, const char *text, char *err)
{
    memset(o, 0, sizeof *o);
    return kz_cfg_load_mem(tkeys, NT, o, text, strlen(text), "t.properties", NULL, NULL, err,
                           256);
}

START_TEST(cfg_defaults_and_values)
{
    tobj o;
    char err[256];
    ck_assert_int_eq(tload(&o, "need=1\n", err), 0);
    ck_assert_str_eq(o.name, "anon");
    CK_FIELDS(CKF(o.n, 5), CKF(o.big, -1), CKF(o.flag, 0), CKF(o.need, 1), CKF(o.custom, 1));
    ck_assert_ptr_null(o.other);
    kz_cfg_free(tkeys, NT, &o);
    ck_assert_ptr_null(o.name);

    ck_assert_int_eq(tload(&o, "name =  bob  \nn=+42\nbig=9223372036854775807\nflag=TRUE\n"
                               "need= -3 \ncolor=blue\nname=alice\nother= x y \nskip=whatever\n",
                           err), 0);
    ck_assert_str_eq(o.name, "alice"); /* last wins, trimmed */
    CK_FIELDS(CKF(o.n, 42), CKF(o.big, INT64_MAX), CKF(o.flag, 1), CKF(o.need, -3),
              CKF(o.custom, 2));
    ck_assert_str_eq(o.other, "x y");
    kz_cfg_free(tkeys, NT, &o);
    kz_cfg_free(tkeys, NT, &o); /* idempotent */

    ck_assert_int_eq(tload(&o, "need=0\nbig=-1\nflag=False\n", err), 0);
    CK_FIELDS(CKF(o.big, -1), CKF(o.flag, 0));
    kz_cfg_free(tkeys, NT, &o);
    /* the shared integer parsers at their limits */
    int64_t v;
    int32_t w;
    ck_assert_int_eq(kz_cfg_parse_i64("-9223372036854775808", &v), 0);
    ck_assert_int_eq(v, INT64_MIN);
    ck_assert_int_eq(kz_cfg_parse_i64("-9223372036854775809", &v), -2);
    ck_assert_int_eq(kz_cfg_parse_i64("+", &v), -1);
    ck_assert_int_eq(kz_cfg_parse_i64("1e3", &v), -1);
    ck_assert_int_eq(kz_cfg_parse_i32("-2147483648", &w), 0);
    ck_assert_int_eq(w, INT32_MIN);
    ck_assert_int_eq(kz_cfg_parse_i32("-2147483649", &w), -2);
}
END_TEST

START_TEST(cfg_invalid_values)
{
    static const struct {
        const char *text, *want; /* the whole message */
    } cases[] = {
        { "need=1\nn = abc \n", "invalid value 'abc' for n: not an integer (t.properties:2)" },
        { "need=1\nn=-1\n", "invalid value '-1' for n: must be >= 0 (t.properties:2)" },
        { "need=2147483648\n",
          "invalid value '2147483648' for need: out of range for a 32-bit integer (t.properties:1)" },
        { "need=1\nbig=9223372036854775808\n", "invalid value '9223372036854775808' for big: "
                                               "out of range for a 64-bit integer (t.properties:2)" },
        { "need=1\nbig=-2\n", "invalid value '-2' for big: must be >= -1 (t.properties:2)" },
        { "need=1\nflag=yes\n",
          "invalid value 'yes' for flag: not a boolean (true or false) (t.properties:2)" },
        { "need=1\ncolor=green\n", "invalid value 'green' for color: not a color (t.properties:2)" },
        { "need=1 2\n", "invalid value '1 2' for need: not an integer (t.properties:1)" },
        { "need=\n", "invalid value '' for need: not an integer (t.properties:1)" },
        { "need=1\nname=\n", "invalid value '' for name: must not be empty (t.properties:2)" },
        { "n=1\n", "need is not set in t.properties" }, /* required, no default, absent */
    };
    tobj o;
    char err[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(tload(&o, cases[i].text, err), -1);
        ck_assert_str_eq(err, cases[i].want);
        kz_cfg_free(tkeys, NT, &o);
    }
}
END_TEST

START_TEST(cfg_invalid_default)
{
    static const kz_cfg_key bad[] = {
        { "x", KZ_CFG_I32, 0, "ten", NULL, NULL },
    };
    int32_t x = 0;
    char err[256];
    ck_assert_int_eq(kz_cfg_load_mem(bad, 1, &x, "", 0, "src", NULL, NULL, err, sizeof err), -1);
    ck_assert_str_eq(err, "invalid default 'ten' for x: not an integer");
}
END_TEST

typedef struct {
    int n;          /* calls */
    char last[64];  /* "key=value@src:line" of the last call */
} ucount;

static int unknown_cb(void *ctx, const char *key, const char *value, const char *src, int lineno,
                      char *err, size_t errlen)
{
    ucount *u = ctx;
    u->n++;
    snprintf(u->last, sizeof u->last, "%s=%s@%s:%d", key, value, src, lineno);
    if (strcmp(key, "fatal") == 0) {
        snprintf(err, errlen, "fatal key");
        return -1;
    }
    return 0;
}

START_TEST(cfg_unknown_keys)
{
    tobj o;
    char err[256];
    ucount u = { 0 };
    const char *t = "need=1\n  extra.key  =  some value \n";
    memset(&o, 0, sizeof o);
    ck_assert_int_eq(kz_cfg_load_mem(tkeys, NT, &o, t, strlen(t), "u.cfg", unknown_cb, &u, err,
                                     sizeof err), 0);
    ck_assert_int_eq(u.n, 1);
    ck_assert_str_eq(u.last, "extra.key=some value@u.cfg:2");
    kz_cfg_free(tkeys, NT, &o);

    t = "need=1\nfatal=1\n";
    ck_assert_int_eq(kz_cfg_load_mem(tkeys, NT, &o, t, strlen(t), "u.cfg", unknown_cb, &u, err,
                                     sizeof err), -1);
    ck_assert_str_eq(err, "fatal key");
    kz_cfg_free(tkeys, NT, &o);

    /* no callback: a warning, the load succeeds */
    ut_logcap l;
    ut_log_start(&l);
    ck_assert_int_eq(tload(&o, "need=1\nmystery=1\n", err), 0);
    char *log = ut_log_stop(&l);
    ck_assert_ptr_nonnull(strstr(log, "WARN Unknown key 'mystery' in t.properties ignored"));
    free(log);
    kz_cfg_free(tkeys, NT, &o);
}
END_TEST

/* ---- 3. zkd_config ---- */

typedef struct {
    char dir[64], cfg[128]; /* mkdtemp dir, its zoo.cfg */
} tdir;

static void td_write(const tdir *t, const char *name, const char *text)
{
    char path[192];
    snprintf(path, sizeof path, "%s/%s", t->dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void td_init(tdir *t)
{
    snprintf(t->dir, sizeof t->dir, "/tmp/zkdcfg.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(t->dir));
    snprintf(t->cfg, sizeof t->cfg, "%s/zoo.cfg", t->dir);
}

static void td_done(tdir *t)
{
    char path[192];
    snprintf(path, sizeof path, "%s/myid", t->dir);
    unlink(path);
    unlink(t->cfg);
    ck_assert_int_eq(rmdir(t->dir), 0);
}

/* Write zoo.cfg = "dataDir=<dir>\n" + @body and myid = @myid (NULL: no myid file); load. */
static int zload(tdir *t, zkd_config *c, const char *body, const char *myid, char *err)
{
    char text[2048], path[192];
    snprintf(text, sizeof text, "dataDir=%s\n%s", t->dir, body);
    td_write(t, "zoo.cfg", text);
    snprintf(path, sizeof path, "%s/myid", t->dir);
    if (myid)
        td_write(t, "myid", myid);
    else
        unlink(path);
    return zkd_config_load(c, t->cfg, err, 256);
}

START_TEST(zkd_defaults)
{
    tdir t;
    zkd_config c;
    char err[256];
    td_init(&t);
    ck_assert_int_eq(zload(&t, &c, "clientPort=2181\n", NULL, err), 0);
    ck_assert_str_eq(c.data_dir, t.dir);
    ck_assert_str_eq(c.data_log_dir, t.dir);
    ck_assert_str_eq(c.path, t.cfg);
    CK_FIELDS(CKF(c.tick_time, 3000), CKF(c.init_limit, 0), CKF(c.sync_limit, 0),
              CKF(c.client_port, 2181));
    ck_assert_ptr_null(c.client_port_address);
    CK_FIELDS(CKF(c.client_port_listen_backlog, -1), CKF(c.max_client_cnxns, 60),
              CKF(c.max_cnxns, 0), CKF(c.min_session_timeout, 6000),
              CKF(c.max_session_timeout, 60000), CKF(c.admin_enable_server, 1));
    ck_assert_str_eq(c.flw_whitelist, "srvr");
    CK_FIELDS(CKF(c.autopurge_snap_retain_count, 3), CKF(c.autopurge_purge_interval, 0),
              CKF(c.snap_count, 100000), CKF(c.pre_alloc_size, 65536),
              CKF(c.jute_max_buffer, 0xfffff), CKF(c.extended_types_enabled, 0),
              CKF(c.container_check_interval_ms, 60000), CKF(c.container_max_per_minute, 10000),
              CKF(c.global_outstanding_limit, 1000), CKF(c.sync_enabled, 1),
              CKF(c.peer_type, ZKD_PEER_PARTICIPANT), CKF(c.election_alg, 3),
              CKF(c.standalone_enabled, 1));
    ck_assert(zkd_config_standalone(&c));
    CK_FIELDS(CKF(c.myid, 0), CKF(c.n_servers, 0));
    ck_assert_ptr_null(zkd_config_self(&c));
    zkd_config_free(&c);
    ck_assert_ptr_null(c.data_dir);
    zkd_config_free(&c);
    td_done(&t);
}
END_TEST

START_TEST(zkd_kafka_stock_file)
{
    tdir t;
    zkd_config c;
    char err[256];
    ut_logcap l;
    td_init(&t);
    ut_log_start(&l);
    int rc = zload(&t, &c,
                   "# the port at which the clients will connect\n"
                   "clientPort=2181\n"
                   "# disable the per-ip limit on the number of connections since this is a "
                   "non-production config\n"
                   "maxClientCnxns=0\n"
                   "# Disable the adminserver by default to avoid port conflicts.\n"
                   "admin.enableServer=false\n"
                   "# admin.serverPort=8080\n"
                   "electionAlg=3\nquorumListenOnAllIPs=false\nstandaloneEnabled=true\n"
                   "reconfigEnabled=false\nsecureClientPort=2281\nsecureClientPortAddress=x\n"
                   "clientPortListenBacklog=128\nlocalSessionsEnabled=true\n"
                   "localSessionsUpgradingEnabled=true\nmaxCnxns=500\n"
                   "metricsProvider.className=org.x.Prom\nmetricsProvider.httpPort=7000\n"
                   "audit.enable=true\n4lw.commands.whitelist=stat\nadmin.serverPort=8080\n"
                   "admin.serverAddress=0.0.0.0\ndynamicConfigFile=/etc/zk/dyn\n",
                   NULL, err);
    char *log = ut_log_stop(&l);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_str_eq(log, ""); /* every key known: no warning at all */
    free(log);
    ck_assert_int_eq(c.max_client_cnxns, 0);
    ck_assert(!c.admin_enable_server);
    ck_assert_int_eq(c.client_port_listen_backlog, 128);
    ck_assert_int_eq(c.max_cnxns, 500);
    ck_assert(c.local_sessions_enabled);
    ck_assert(c.local_sessions_upgrading_enabled);
    ck_assert_str_eq(c.dynamic_config_file, "/etc/zk/dyn");
    zkd_config_free(&c);
    td_done(&t);
}
END_TEST

START_TEST(zkd_values_and_timeouts)
{
    tdir t;
    zkd_config c;
    char err[256];
    td_init(&t);
    ck_assert_int_eq(zload(&t, &c, "tickTime = 2000 \nclientPort=2182\nclientPortAddress=127.0.0.1\n"
                                   "dataLogDir=/var/zk/log\nsyncEnabled=false\nsnapCount=500\n"
                                   "preAllocSize=1024\njute.maxbuffer=4194304\n"
                                   "extendedTypesEnabled=true\nzookeeper.extendedTypesEnabled=false\n"
                                   "znode.container.checkIntervalMs=1000\n"
                                   "znode.container.maxPerMinute=5\nglobalOutstandingLimit=10\n"
                                   "autopurge.purgeInterval=24\nautopurge.snapRetainCount=7\n"
                                   "tickTime=2500\n",
                     NULL, err), 0);
    /* tickTime given twice and both extendedTypesEnabled spellings: the last one wins */
    CK_FIELDS(CKF(c.tick_time, 2500), CKF(c.min_session_timeout, 5000),
              CKF(c.max_session_timeout, 50000), CKF(c.client_port, 2182));
    ck_assert_str_eq(c.client_port_address, "127.0.0.1");
    ck_assert_str_eq(c.data_log_dir, "/var/zk/log");
    CK_FIELDS(CKF(c.sync_enabled, 0), CKF(c.snap_count, 500), CKF(c.pre_alloc_size, 1024),
              CKF(c.jute_max_buffer, 4194304), CKF(c.extended_types_enabled, 0),
              CKF(c.container_check_interval_ms, 1000), CKF(c.container_max_per_minute, 5),
              CKF(c.global_outstanding_limit, 10), CKF(c.autopurge_purge_interval, 24),
              CKF(c.autopurge_snap_retain_count, 7));
    zkd_config_free(&c);

    ck_assert_int_eq(zload(&t, &c, "tickTime=2000\nclientPort=1\nminSessionTimeout=5000\n", NULL,
                           err), 0);
    CK_FIELDS(CKF(c.min_session_timeout, 5000), CKF(c.max_session_timeout, 40000));
    zkd_config_free(&c);

    ut_logcap l;
    ut_log_start(&l);
    ck_assert_int_eq(zload(&t, &c, "clientPort=1\nautopurge.snapRetainCount=1\nsnapCount=1\n",
                           NULL, err), 0);
    char *log = ut_log_stop(&l);
    CK_FIELDS(CKF(c.autopurge_snap_retain_count, 3), CKF(c.snap_count, 2));
    ck_assert_ptr_nonnull(strstr(log, "Invalid autopurge.snapRetainCount: 1. Defaulting to 3"));
    free(log);
    zkd_config_free(&c);
    td_done(&t);
}
END_TEST

/* Every line is its own case: dataDir=<tmp> + body (+ myid) must fail naming the cause. */
#define Q "initLimit=5\nsyncLimit=2\nclientPort=2181\n"
#define ENSEMBLE                                          \
    "initLimit=5\nsyncLimit=2\n"                          \
    "server.1=127.0.0.1:2888:3888\n"                      \
    "server.2 = 127.0.0.2:2888:3888:participant;2182 \n"  \
    "server.3=[::1]:2889:3889:observer;127.0.0.3:2183\n"

START_TEST(zkd_errors)
{
    static const struct {
        const char *body, *myid, *want;
    } cases[] = {
        { "clientPort=2181\ntickTime=abc\n", NULL, "invalid value 'abc' for tickTime: not an integer" },
        { "clientPort=2181\ntickTime=0\n", NULL, "invalid value '0' for tickTime: must be > 0" },
        { "clientPort=70000\n", NULL, "invalid value '70000' for clientPort: not a port" },
        { "clientPort=1\nsyncEnabled=yes\n", NULL, "invalid value 'yes' for syncEnabled: not a boolean" },
        { "clientPort=1\npeerType=leader\n", NULL, "invalid value 'leader' for peerType: unrecognised" },
        { "clientPort=1\nelectionAlg=1\n", NULL, "invalid value '1' for electionAlg: only 3" },
        { "clientPort=1\nmaxClientCnxns=-1\n", NULL, "for maxClientCnxns: must be >= 0" },
        { "clientPort=1\nminSessionTimeout=-2\n", NULL, "for minSessionTimeout: must be >= -1" },
        { "clientPort=1\njute.maxbuffer=0x100\n", NULL, "for jute.maxbuffer: not an integer" },
        { "clientPort=1\ndataLogDir=\n", NULL, "for dataLogDir: must not be empty" },
        { "clientPort=1\nsnapCount=\\u00e9\n", NULL, "invalid value '\xc3\xa9' for snapCount" },
        { "tickTime=2000\n", NULL, "clientPort is not set" },
        { "tickTime=2000\nclientPort=1\nmaxSessionTimeout=3000\n", NULL,
          "minSessionTimeout (4000) must not be larger than maxSessionTimeout (3000)" },
        /* server.N */
        { Q "server.1=h:2888\n", "1", "invalid value 'h:2888' for server.1: expected host:quorumPort" },
        { Q "server.1=h:2888:2888\n", "1", "for server.1: quorum and election ports must be different" },
        { Q "server.1=h:x:3888\n", "1", "for server.1: quorum port is not a port" },
        { Q "server.1=h:1:0\n", "1", "for server.1: election port is not a port" },
        { Q "server.1=h:1:2:leader\n", "1", "for server.1: unrecognised peer type" },
        { Q "server.1=h:1:2:observer:x\n", "1", "for server.1: too many" },
        { Q "server.1=h:1:2;a;b\n", "1", "for server.1: more than one ';'" },
        { Q "server.1=h:1:2;h:x\n", "1", "for server.1: client port is not a port" },
        { Q "server.1=h:1:2;a:b:3\n", "1", "for server.1: too many" },
        { Q "server.1=h:1:2|g:1:2\n", "1", "multiple addresses" },
        { Q "server.1=[::1:1:2\n", "1", "no matching ']'" },
        { Q "server.1=:1:2\n", "1", "empty host" },
        { Q "server.x=h:1:2\n", "1", "invalid server id in key 'server.x'" },
        { Q "server.256=h:1:2\n", "1", "invalid server id in key 'server.256'" },
        /* quorum rules and myid */
        { ENSEMBLE, NULL, "myid file is missing: cannot read /tmp/zkdcfg." },
        { ENSEMBLE, "abc\n", "/myid: 'abc' is not a number" },
        { ENSEMBLE, "", "/myid: '' is not a number" },
        { ENSEMBLE, "9", "My id 9 not in the peer list" },
        { ENSEMBLE, "1", "clientPort is not set" }, /* no ";port" on server.1, no clientPort */
        { ENSEMBLE "clientPort=2181\n", "2", "differ from the client address on server.2" },
        { "syncLimit=2\nserver.1=h:1:2;2181\n", "1", "initLimit is not set" },
        { "initLimit=2\nserver.1=h:1:2;2181\n", "1", "syncLimit is not set" },
        { "initLimit=2\nsyncLimit=2\nserver.1=h:1:2:observer;2181\n", "1",
          "Observers w/o participants" },
        { "initLimit=2\nsyncLimit=2\nextendedTypesEnabled=true\nserver.255=h:1:2;2181\n", "255",
          "cannot be greater than 254 when extendedTypesEnabled" },
    };
    tdir t;
    zkd_config c;
    char err[256];
    td_init(&t);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(zload(&t, &c, cases[i].body, cases[i].myid, err), -1);
        ck_assert_msg(strstr(err, cases[i].want), "case %zu: got '%s'", i, err);
        ck_assert_msg(!strchr(err, '\n'), "one line");
        ck_assert_ptr_null(c.data_dir); /* freed and zeroed on failure */
    }
    /* no dataDir at all; no file */
    td_write(&t, "zoo.cfg", "clientPort=2181\n");
    ck_assert_int_eq(zkd_config_load(&c, t.cfg, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "dataDir is not set"));
    ck_assert_int_eq(zkd_config_load(&c, "/nonexistent/zoo.cfg", err, sizeof err), -1);
    ck_assert_str_eq(err, "cannot read /nonexistent/zoo.cfg: No such file or directory");
    td_done(&t);
}
END_TEST

START_TEST(zkd_unknown_key_warns)
{
    tdir t;
    zkd_config c;
    char err[256], want[256];
    ut_logcap l;
    td_init(&t);
    ut_log_start(&l);
    int rc = zload(&t, &c, "clientPort=2181\nfooBar = 1\nsslQuorum=true\n", NULL, err);
    char *log = ut_log_stop(&l);
    ck_assert_int_eq(rc, 0);
    snprintf(want, sizeof want, "WARN Unknown key 'fooBar' in %s ignored (zkd_config)", t.cfg);
    ck_assert_msg(strstr(log, want), "log: %s", log);
    ck_assert_ptr_nonnull(strstr(log, "Unknown key 'sslQuorum'"));
    free(log);
    ck_assert_int_eq(c.client_port, 2181);
    zkd_config_free(&c);
    td_done(&t);
}
END_TEST

static void ck_server(const zkd_server_def *s, int64_t id, const char *host, int qport, int eport,
                      bool observer, const char *chost, int cport)
{
    CK_FIELDS(CKF(s->id, id), CKF(s->quorum_port, qport), CKF(s->election_port, eport),
              CKF(s->observer, observer), CKF(s->client_port, cport));
    ck_assert_str_eq(s->host, host);
    if (chost)
        ck_assert_str_eq(s->client_host, chost);
    else
        ck_assert_ptr_null(s->client_host);
}

START_TEST(zkd_servers)
{
    tdir t;
    zkd_config c;
    char err[256];
    td_init(&t);
    ck_assert_msg(zload(&t, &c, ENSEMBLE, "2\n", err) == 0, "%s", err);
    ck_assert(!zkd_config_standalone(&c));
    CK_FIELDS(CKF(c.myid, 2), CKF(c.n_servers, 3));
    const zkd_server_def *s = c.servers; /* sorted by id */
    ck_server(&s[0], 1, "127.0.0.1", 2888, 3888, false, NULL, 0);
    ck_server(&s[1], 2, "127.0.0.2", 2888, 3888, false, NULL, 2182);
    ck_server(&s[2], 3, "::1", 2889, 3889, true, "127.0.0.3", 2183);
    ck_assert_ptr_eq(zkd_config_self(&c), &s[1]);
    ck_assert_int_eq(c.client_port, 2182); /* from ";2182", no clientPort key */
    ck_assert_ptr_null(c.client_port_address);
    CK_FIELDS(CKF(c.peer_type, ZKD_PEER_PARTICIPANT), CKF(c.init_limit, 5), CKF(c.sync_limit, 2));
    zkd_config_free(&c);

    /* the observer: role and client address come from its server line */
    ut_logcap l;
    ut_log_start(&l);
    ck_assert_int_eq(zload(&t, &c, ENSEMBLE, " 3 \n", err), 0);
    char *log = ut_log_stop(&l);
    ck_assert_ptr_nonnull(strstr(log, "Peer type from servers list (OBSERVER) doesn't match"));
    free(log);
    CK_FIELDS(CKF(c.peer_type, ZKD_PEER_OBSERVER), CKF(c.client_port, 2183));
    ck_assert_str_eq(c.client_port_address, "127.0.0.3");
    zkd_config_free(&c);

    /* no ";port" on our line: the clientPort key; myid: first line only */
    ck_assert_int_eq(zload(&t, &c, ENSEMBLE "clientPort=2181\n", "1\r\ngarbage\n", err), 0);
    CK_FIELDS(CKF(c.client_port, 2181), CKF(c.myid, 1));
    ck_assert_ptr_null(zkd_config_self(&c)->client_host);
    zkd_config_free(&c);
    /* clientPort equal to our ";port" is fine */
    ck_assert_int_eq(zload(&t, &c, ENSEMBLE "clientPort=2182\n", "2", err), 0);
    zkd_config_free(&c);
    /* same id twice: last wins */
    ck_assert_int_eq(zload(&t, &c, ENSEMBLE "server.1=h9:1:2;9000\n", "1", err), 0);
    CK_FIELDS(CKF(c.n_servers, 3), CKF(c.client_port, 9000));
    ck_assert_str_eq(c.servers[0].host, "h9");
    zkd_config_free(&c);
    /* a single participant is a quorum of one for zkd */
    ck_assert_int_eq(zload(&t, &c, "initLimit=2\nsyncLimit=2\nserver.7=h:1:2;2181\n", "7", err), 0);
    ck_assert(!zkd_config_standalone(&c));
    ck_assert_int_eq(c.myid, 7);
    zkd_config_free(&c);
    /* standalone ignores a myid file */
    ck_assert_int_eq(zload(&t, &c, "clientPort=2181\n", "5", err), 0);
    ck_assert_int_eq(c.myid, 0);
    zkd_config_free(&c);
    td_done(&t);
}
END_TEST

/* Every word in @yes (space-separated) is allowed, every word in @no is not. */
static void ck_flw(const zkd_config *c, const char *yes, const char *no)
{
    for (const char *w = yes; *w; w += w[4] ? 5 : 4)
        ck_assert_msg(zkd_config_flw_allowed(c, w), "%.4s should be allowed", w);
    for (const char *w = no; *w; w += w[4] ? 5 : 4)
        ck_assert_msg(!zkd_config_flw_allowed(c, w), "%.4s should not be allowed", w);
}

START_TEST(zkd_whitelist)
{
    tdir t;
    zkd_config c;
    char err[256];
    td_init(&t);
    /* default: srvr only */
    ck_assert_int_eq(zload(&t, &c, "clientPort=2181\n", NULL, err), 0);
    ck_flw(&c, "srvr", "stat ruok conf");
    CK_FIELDS(CKF(c.flw_count, 1), CKF(c.flw_all, 0));
    zkd_config_free(&c);
    /* a list: trimmed; srvr stays enabled as in ZooKeeper 3.8 */
    ck_assert_int_eq(zload(&t, &c, "clientPort=2181\n4lw.commands.whitelist=stat, ruok\n", NULL,
                           err), 0);
    ck_assert_str_eq(c.flw_whitelist, "stat, ruok");
    ck_flw(&c, "stat ruok srvr", "conf dump mntr");
    CK_FIELDS(CKF(c.flw_count, 3), CKF(c.flw_all, 0));
    ck_assert(zkd_config_flw_allowed(&c, "ruokXX")); /* only 4 bytes compared */
    zkd_config_free(&c);
    /* everything, also after other words */
    ck_assert_int_eq(zload(&t, &c, "clientPort=2181\n4lw.commands.whitelist=*\n", NULL, err), 0);
    ck_flw(&c, "dump wchc conf srvr", "");
    zkd_config_free(&c);
    ck_assert_int_eq(zload(&t, &c, "clientPort=2181\n4lw.commands.whitelist=stat , *\n", NULL,
                           err), 0);
    ck_assert(c.flw_all);
    zkd_config_free(&c);
    /* empty items skipped, long words warned and dropped, duplicates merged */
    ut_logcap l;
    ut_log_start(&l);
    ck_assert_int_eq(zload(&t, &c, "clientPort=2181\n4lw.commands.whitelist= , mntr,,statistics,"
                                   "mntr,srvr\n",
                           NULL, err), 0);
    char *log = ut_log_stop(&l);
    ck_assert_ptr_nonnull(strstr(log, "'statistics' is not a four-letter word"));
    free(log);
    ck_assert_int_eq(c.flw_count, 2);
    ck_flw(&c, "mntr srvr", "stat stat");
    zkd_config_free(&c);
    td_done(&t);
}
END_TEST

static Suite *config_suite(void)
{
    const TTest *props[] = { props_comments_and_blanks, props_separators, props_continuation,
                             props_line_endings, props_escapes, props_errors,
                             props_callback_stops };
    const TTest *typed[] = { cfg_defaults_and_values, cfg_invalid_values, cfg_invalid_default,
                             cfg_unknown_keys };
    const TTest *zkd[] = { zkd_defaults, zkd_kafka_stock_file, zkd_values_and_timeouts,
                           zkd_errors, zkd_unknown_key_warns, zkd_servers, zkd_whitelist };
    const struct {
        const char *name;
        const TTest **tests;
        size_t n;
    } cases[] = {
        { "props", props, sizeof props / sizeof props[0] },
        { "typed", typed, sizeof typed / sizeof typed[0] },
        { "zkd", zkd, sizeof zkd / sizeof zkd[0] },
    };
    Suite *s = suite_create("config");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = tcase_create(cases[i].name);
        for (size_t j = 0; j < cases[i].n; j++)
            tcase_add_test(tc, cases[i].tests[j]);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    return ut_run(config_suite());
}
