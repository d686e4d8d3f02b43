/* test/unit/check_acl.c -- zkd_acl.c: digest ids, authentication, ACL
 * checks, fixupACL, the order of a connection's ids, and path validation.
 *
 * Every expected value was produced independently of zkd: digests with
 * python3 hashlib/base64 and DigestAuthenticationProvider.generateDigest;
 * id orders with a Collections.newSetFromMap(new ConcurrentHashMap<>()) of
 * jute Ids in a JVM (and a Python model of its bucket index
 * (h ^ h>>>16) & (cap-1)); IP validity/matching, fixupACL results and path
 * verdicts by running the classes of the ZooKeeper 3.8.0 jar
 * (IPAuthenticationProvider, PrepRequestProcessor.fixupACL,
 * PathUtils.validatePath on new String(bytes, UTF_8)). Notable 3.8 facts
 * pinned here: IP ACLs are IPv4 only; numbers are read by Integer.parseInt
 * ("010", "+1" accepted); a digest id is valid when id.split(":") has two
 * parts (":b" and "a:b:" are valid, "a:" is not); duplicates are removed
 * before auth is expanded; paths with non-BMP characters or bytes that are
 * not UTF-8 are rejected. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kz_buf.h"
#include "zkd_proto.h"
#include "zkd_records.h"
#include "zkd_server.h"
#include "unit_util.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

#define D_ALICE "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=" /* alice:secret */
#define D_BOB "bob:ikIaKsbtGweaHnb/jKn7OHqbunM="     /* bob:pw */
#define D_SUPER "super:D/InIHSb7yEEbrWz8b9l71RjZJU=" /* super:test */

#define R ZKD_PERM_READ
#define W ZKD_PERM_WRITE
#define C ZKD_PERM_CREATE
#define D ZKD_PERM_DELETE
#define A ZKD_PERM_ADMIN
#define ALL ZKD_PERM_ALL

static zkd_ACL acl_e(int32_t perms, const char *scheme, const char *id)
{
    return (zkd_ACL){ perms, { kz_str_c(scheme), kz_str_c(id) } };
}

static char *digest_of(const char *up)
{
    char *d = zkd_acl_digest(up, strlen(up));
    ck_assert_ptr_nonnull(d);
    return d;
}

/* 1. digest = user part + ":" + base64(sha1(whole "user:password")). */
START_TEST(t01_digest)
{
    static const char *cases[][2] = {
        { "alice:secret", D_ALICE },
        { "bob:pw", D_BOB },
        { "super:test", D_SUPER },
        { "nocolon", "nocolon:Ra+cHr2ZoHvBjtNArFGNGlVie4g=" },
        { "u:", "u:IX23jg4I7W2/R//KoV8VL1UfuBM=" },
        { "a:b:c", "a:cLzgnoJ6mP5qz3w+mwvPE2vDgu0=" }, /* split(":", 2): user "a" */
        { "", ":2jmj7l5rSw0yVb/vlWAYkK/YBwk=" },
        { "jos\xc3\xa9:pw", "jos\xc3\xa9:brFK3NIHUrID/tYOCgeJIzLVLEg=" }, /* UTF-8 bytes hashed */
    };
    for (size_t i = 0; i < N_(cases); i++) {
        char *d = digest_of(cases[i][0]);
        ck_assert_str_eq(d, cases[i][1]);
        free(d);
    }
    /* only @len bytes are hashed */
    char *d = zkd_acl_digest("alice:secretXYZ", 12);
    ck_assert_str_eq(d, D_ALICE);
    free(d);
}
END_TEST

static void free_auth(zkd_conn *c)
{
    for (uint32_t i = 0; i < c->nauth; i++) {
        free(c->auth[i].scheme);
        free(c->auth[i].id);
    }
    free(c->auth);
    c->auth = NULL;
    c->nauth = 0;
}

static void expect_ids(const zkd_conn *c, const char *const *want, uint32_t n)
{
    ck_assert_uint_eq(c->nauth, n);
    for (uint32_t i = 0; i < n; i++) {
        char got[128];
        snprintf(got, sizeof got, "%s:%s", c->auth[i].scheme, c->auth[i].id);
        ck_assert_str_eq(got, want[i]);
    }
}

/* 2. AuthPacket handling: digest adds digest:<user:b64>, a matching super
 *    password adds super:"" first, ip adds the peer address, repeated ids
 *    are not added twice, unknown schemes fail and add nothing. */
START_TEST(t02_authenticate)
{
    zkd_server s;
    zkd_conn c;
    memset(&s, 0, sizeof s);
    memset(&c, 0, sizeof c);
    strcpy(c.peer_ip, "127.0.0.1");
    s.super_digest = (char *)D_SUPER;

    ck_assert_int_eq(zkd_acl_authenticate(&s, &c, KZ_STR_LIT("digest"), KZ_STR_LIT("alice:secret")), 0);
    static const char *const w1[] = { "digest:" D_ALICE };
    expect_ids(&c, w1, 1);
    ck_assert_int_eq(zkd_acl_authenticate(&s, &c, KZ_STR_LIT("digest"), KZ_STR_LIT("alice:secret")), 0);
    expect_ids(&c, w1, 1);
    ck_assert_int_eq(zkd_acl_authenticate(&s, &c, KZ_STR_LIT("digest"), KZ_STR_LIT("super:wrong")), 0);
    ck_assert_uint_eq(c.nauth, 2);
    ck_assert_str_eq(c.auth[1].id, "super:nXindoZMsrhmm0JDlDwACbCSBn0=");
    ck_assert_int_eq(zkd_acl_authenticate(&s, &c, KZ_STR_LIT("digest"), KZ_STR_LIT("super:test")), 0);
    ck_assert_int_eq(zkd_acl_authenticate(&s, &c, KZ_STR_LIT("ip"), KZ_STR_LIT("10.9.9.9")), 0);
    ck_assert_int_eq(zkd_acl_authenticate(&s, &c, KZ_STR_LIT("foo"), KZ_STR_LIT("x")), ZKD_ERR_AUTHFAILED);
    ck_assert_int_eq(zkd_acl_authenticate(&s, &c, KZ_STR_LIT("Digest"), KZ_STR_LIT("x:y")), ZKD_ERR_AUTHFAILED);
    ck_assert_int_eq(zkd_acl_authenticate(&s, &c, KZ_STR_LIT("world"), KZ_STR_LIT("anyone")), ZKD_ERR_AUTHFAILED);
    static const char *const w2[] = { "digest:" D_ALICE, "digest:super:nXindoZMsrhmm0JDlDwACbCSBn0=", "super:",
                                      "digest:" D_SUPER, "ip:127.0.0.1" };
    expect_ids(&c, w2, 5);
    free_auth(&c);

    /* without a configured super digest "super:test" is an ordinary user */
    s.super_digest = NULL;
    ck_assert_int_eq(zkd_acl_authenticate(&s, &c, KZ_STR_LIT("digest"), KZ_STR_LIT("super:test")), 0);
    static const char *const w3[] = { "digest:" D_SUPER };
    expect_ids(&c, w3, 1);
    free_auth(&c);
    /* an empty auth is the digest of "" */
    ck_assert_int_eq(zkd_acl_authenticate(&s, &c, KZ_STR_LIT("digest"), KZ_STR_LIT("")), 0);
    static const char *const w4[] = { "digest::2jmj7l5rSw0yVb/vlWAYkK/YBwk=" };
    expect_ids(&c, w4, 1);
    free_auth(&c);
}
END_TEST

static int check(const zkd_auth_id *ids, uint32_t n, const zkd_ACL *acl, int32_t nacl, int perm)
{
    zkd_server s;
    memset(&s, 0, sizeof s);
    kz_jvec v = { nacl, (void *)acl };
    return zkd_acl_check(&s, ids, n, &v, perm);
}

#define OK 0
#define NO ZKD_ERR_NOAUTH

/* 3. world, digest, super, empty ACL, unknown schemes, perm bits. */
START_TEST(t03_check_basic)
{
    zkd_auth_id none[1] = { { (char *)"ip", (char *)"127.0.0.1" } };
    zkd_auth_id alice[2] = { { (char *)"ip", (char *)"127.0.0.1" }, { (char *)"digest", (char *)D_ALICE } };
    zkd_auth_id super[2] = { { (char *)"ip", (char *)"127.0.0.1" }, { (char *)"super", (char *)"" } };

    zkd_ACL world[1] = { acl_e(ALL, "world", "anyone") };
    for (int p = 1; p <= 16; p <<= 1)
        ck_assert_int_eq(check(none, 0, world, 1, p), OK);
    zkd_ACL world_r[1] = { acl_e(R, "world", "anyone") };
    ck_assert_int_eq(check(none, 1, world_r, 1, R), OK);
    ck_assert_int_eq(check(none, 1, world_r, 1, W), NO);
    zkd_ACL world_other[1] = { acl_e(ALL, "world", "someone") };
    ck_assert_int_eq(check(none, 1, world_other, 1, R), NO);

    /* empty and null ACL lists allow everything */
    ck_assert_int_eq(check(none, 0, NULL, 0, A), OK);
    ck_assert_int_eq(check(none, 0, NULL, -1, A), OK);
    ck_assert_int_eq(zkd_acl_check(NULL, none, 0, NULL, A), OK);

    /* digest: exact id match only */
    zkd_ACL dig[1] = { acl_e(ALL, "digest", D_ALICE) };
    ck_assert_int_eq(check(alice, 2, dig, 1, W), OK);
    ck_assert_int_eq(check(none, 1, dig, 1, W), NO);
    zkd_auth_id bob[1] = { { (char *)"digest", (char *)D_BOB } };
    ck_assert_int_eq(check(bob, 1, dig, 1, W), NO);
    zkd_auth_id alice_pfx[1] = { { (char *)"digest", (char *)"alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E" } };
    ck_assert_int_eq(check(alice_pfx, 1, dig, 1, W), NO);
    zkd_auth_id alice_ip[1] = { { (char *)"ip", (char *)D_ALICE } }; /* scheme must match too */
    ck_assert_int_eq(check(alice_ip, 1, dig, 1, W), NO);

    /* READ|ADMIN grants read and admin, nothing else; a request bit set
     * that the entry has also matches (perms & perm != 0) */
    zkd_ACL ra[1] = { acl_e(R | A, "digest", D_ALICE) };
    ck_assert_int_eq(check(alice, 2, ra, 1, R), OK);
    ck_assert_int_eq(check(alice, 2, ra, 1, A), OK);
    ck_assert_int_eq(check(alice, 2, ra, 1, W), NO);
    ck_assert_int_eq(check(alice, 2, ra, 1, C), NO);
    ck_assert_int_eq(check(alice, 2, ra, 1, D), NO);
    ck_assert_int_eq(check(alice, 2, ra, 1, W | R), OK);
    ck_assert_int_eq(check(alice, 2, ra, 1, W | C), NO);
    ck_assert_int_eq(check(bob, 1, ra, 1, R), NO);

    /* the matching entry can be anywhere; entries without the perm are skipped */
    zkd_ACL mixed[3] = { acl_e(W, "world", "anyone"), acl_e(R, "digest", D_BOB), acl_e(R | D, "digest", D_ALICE) };
    ck_assert_int_eq(check(alice, 2, mixed, 3, R), OK);
    ck_assert_int_eq(check(alice, 2, mixed, 3, D), OK);
    ck_assert_int_eq(check(bob, 1, mixed, 3, R), OK);
    ck_assert_int_eq(check(bob, 1, mixed, 3, D), NO);
    ck_assert_int_eq(check(none, 1, mixed, 3, W), OK);
    ck_assert_int_eq(check(none, 1, mixed, 3, A), NO);

    /* super passes every check, whatever the ACL */
    zkd_ACL nobody[1] = { acl_e(R, "digest", D_BOB) };
    ck_assert_int_eq(check(super, 2, nobody, 1, A), OK);
    ck_assert_int_eq(check(super, 2, dig, 1, D), OK);
    ck_assert_int_eq(check(super, 1, nobody, 1, A), NO); /* only the ip id counted */

    /* unknown schemes never match, even with an identical id */
    zkd_ACL foo[2] = { acl_e(ALL, "foo", "bar"), acl_e(ALL, "super", "") };
    zkd_auth_id foo_id[1] = { { (char *)"foo", (char *)"bar" } };
    ck_assert_int_eq(check(foo_id, 1, foo, 1, R), NO);
    ck_assert_int_eq(check(none, 1, foo + 1, 1, R), NO);
    zkd_ACL auth_acl[1] = { acl_e(ALL, "auth", "") };
    zkd_auth_id auth_id[1] = { { (char *)"auth", (char *)"" } };
    ck_assert_int_eq(check(auth_id, 1, auth_acl, 1, R), NO);
}
END_TEST

/* 4. ip: exact address and CIDR /0 /8 /16 /24 /30 /32, invalid masks,
 *    and no IPv6 in 3.8. */
START_TEST(t04_check_ip)
{
    static const struct {
        const char *client, *acl;
        int rc;
    } cases[] = {
        { "10.1.2.3", "10.1.2.3", OK },
        { "10.1.2.4", "10.1.2.3", NO },
        { "10.1.2.3", "10.0.0.0/8", OK },
        { "11.1.2.3", "10.0.0.0/8", NO },
        { "10.1.2.3", "10.1.0.0/16", OK },
        { "10.2.2.3", "10.1.0.0/16", NO },
        { "10.1.2.3", "10.1.2.0/24", OK },
        { "10.1.3.3", "10.1.2.0/24", NO },
        { "10.1.2.3", "10.1.2.3/32", OK },
        { "10.1.2.4", "10.1.2.3/32", NO },
        { "10.1.2.3", "0.0.0.0/0", OK },
        { "255.255.255.255", "1.2.3.4/0", OK },
        { "10.1.2.3", "10.1.2.7/30", NO },
        { "10.1.2.4", "10.1.2.7/30", OK }, /* host bits of the ACL are ignored */
        { "10.1.2.8", "10.1.2.7/30", NO },
        { "10.1.2.3", "10.1.2.3/33", NO },
        { "10.1.2.3", "10.1.2.3/-1", NO },
        { "10.1.2.3", "10.1.2.3/", NO },
        { "10.1.2.3", "010.001.2.0/+24", OK }, /* Integer.parseInt */
        { "10.1.2.3", "10.1.2", NO },
        { "10.1.2.3", "not-an-ip", NO },
        { "10.1.2.3", "", NO },
        { "::1", "::1", NO },                   /* IPv6: invalid in 3.8 */
        { "fe80::1", "fe80::/64", NO },
        { "0:0:0:0:0:0:0:1", "0:0:0:0:0:0:0:1", NO },
        { "::1", "0.0.0.0/0", NO },
        { "10.1.2.3", "::/0", NO },
    };
    for (size_t i = 0; i < N_(cases); i++) {
        zkd_auth_id ids[2] = { { (char *)"digest", (char *)D_ALICE }, { (char *)"ip", (char *)cases[i].client } };
        zkd_ACL acl[1] = { acl_e(R, "ip", cases[i].acl) };
        ck_assert_msg(check(ids, 2, acl, 1, R) == cases[i].rc, "client %s acl ip:%s: expected %d", cases[i].client,
                      cases[i].acl, cases[i].rc);
    }
    /* a null ip id in a stored ACL matches nothing and reads nothing */
    zkd_auth_id ids[1] = { { (char *)"ip", (char *)"10.1.2.3" } };
    zkd_ACL nul[1] = { { R, { KZ_STR_LIT("ip"), KZ_STR_NULL } } };
    ck_assert_int_eq(check(ids, 1, nul, 1, R), NO);
}
END_TEST

/* Runs fixup and formats the result as "perms scheme:id; ..." or "INVALID". */
static const char *fixup(const zkd_auth_id *ids, uint32_t n, const zkd_ACL *in, int32_t nin)
{
    static char out[1024];
    kz_arena a = KZ_ARENA_INIT;
    kz_jvec v = { nin, (void *)in }, res = { 99, NULL };
    int rc = zkd_acl_fixup(ids, n, &v, &res, &a);
    if (rc) {
        ck_assert_int_eq(rc, ZKD_ERR_INVALIDACL);
        snprintf(out, sizeof out, "INVALID");
    } else {
        size_t len = 0;
        out[0] = '\0';
        const zkd_ACL *r = res.v;
        for (int32_t i = 0; i < res.n; i++)
            len += (size_t)snprintf(out + len, sizeof out - len, "%s%d %.*s:%.*s", i ? "; " : "", r[i].perms,
                                    (int)r[i].id.scheme.len, r[i].id.scheme.s, (int)r[i].id.id.len, r[i].id.id.s);
    }
    kz_arena_reset(&a);
    return out;
}

/* 5. fixupACL: validation and expansion (results from the 3.8.0 jar). */
START_TEST(t05_fixup)
{
    zkd_auth_id ip_only[1] = { { (char *)"ip", (char *)"127.0.0.1" } };
    zkd_auth_id three[3] = { { (char *)"ip", (char *)"127.0.0.1" }, { (char *)"digest", (char *)D_ALICE },
                             { (char *)"digest", (char *)D_BOB } };
    zkd_auth_id bob_first[3] = { { (char *)"digest", (char *)D_BOB }, { (char *)"ip", (char *)"127.0.0.1" },
                                 { (char *)"digest", (char *)D_ALICE } };
    zkd_auth_id super_alice[2] = { { (char *)"super", (char *)"" }, { (char *)"digest", (char *)D_ALICE } };

    zkd_ACL world[1] = { acl_e(ALL, "world", "anyone") };
    ck_assert_str_eq(fixup(NULL, 0, world, 1), "31 world:anyone");
    zkd_ACL someone[1] = { acl_e(ALL, "world", "someone") };
    ck_assert_str_eq(fixup(NULL, 0, someone, 1), "INVALID");

    /* auth: the connection's digest ids in id-set order; ip and super are
     * not "authenticated" ids */
    zkd_ACL auth[1] = { acl_e(R | C, "auth", "") };
    ck_assert_str_eq(fixup(three, 3, auth, 1), "5 digest:" D_ALICE "; 5 digest:" D_BOB);
    ck_assert_str_eq(fixup(bob_first, 3, auth, 1), "5 digest:" D_BOB "; 5 digest:" D_ALICE);
    ck_assert_str_eq(fixup(ip_only, 1, auth, 1), "INVALID");
    ck_assert_str_eq(fixup(NULL, 0, auth, 1), "INVALID");
    ck_assert_str_eq(fixup(super_alice, 2, auth, 1), "5 digest:" D_ALICE);
    zkd_ACL auth_null[1] = { { ALL, { KZ_STR_LIT("auth"), KZ_STR_NULL } } }; /* null id is fine for auth */
    ck_assert_str_eq(fixup(super_alice, 2, auth_null, 1), "31 digest:" D_ALICE);
    zkd_ACL auth_x[1] = { acl_e(A, "auth", "whatever") };
    ck_assert_str_eq(fixup(super_alice, 2, auth_x, 1), "16 digest:" D_ALICE);
    zkd_ACL null_scheme[1] = { { ALL, { KZ_STR_NULL, KZ_STR_LIT("x") } } };
    ck_assert_str_eq(fixup(super_alice, 2, null_scheme, 1), "INVALID");

    /* duplicates (same perms and id) are removed, keeping the first */
    zkd_ACL dups[5] = { acl_e(ALL, "world", "anyone"), acl_e(R, "digest", "x:y"), acl_e(ALL, "world", "anyone"),
                        acl_e(R, "digest", "x:y"), acl_e(W, "digest", "x:y") };
    ck_assert_str_eq(fixup(NULL, 0, dups, 5), "31 world:anyone; 1 digest:x:y; 2 digest:x:y");
    /* ... before auth is expanded, so the expansion may repeat an id */
    zkd_ACL rep[3] = { acl_e(ALL, "auth", ""), acl_e(ALL, "digest", D_ALICE), acl_e(ALL, "auth", "") };
    ck_assert_str_eq(fixup(super_alice, 2, rep, 3), "31 digest:" D_ALICE "; 31 digest:" D_ALICE);

    /* digest ids: id.split(":").length == 2 */
    static const struct {
        const char *id;
        bool ok;
    } dig[] = {
        { "x:y", true }, { ":y", true }, { "x:y:", true }, { "x:y::", true }, { D_ALICE, true },
        { "x:", false }, { "xy", false }, { "x:y:z", false }, { "::y", false }, { ":", false },
        { "", false },   { "x::", false },
    };
    for (size_t i = 0; i < N_(dig); i++) {
        zkd_ACL e[1] = { acl_e(ALL, "digest", dig[i].id) };
        char want[128];
        snprintf(want, sizeof want, "31 digest:%s", dig[i].id);
        ck_assert_msg(strcmp(fixup(NULL, 0, e, 1), dig[i].ok ? want : "INVALID") == 0, "digest:%s", dig[i].id);
    }
    zkd_ACL dnull[1] = { { ALL, { KZ_STR_LIT("digest"), KZ_STR_NULL } } };
    ck_assert_str_eq(fixup(NULL, 0, dnull, 1), "INVALID");

    /* ip ids: IPAuthenticationProvider.isValid of 3.8.0 */
    static const struct {
        const char *id;
        bool ok;
    } ipv[] = {
        { "10.0.0.1", true },        { "10.0.0.0/8", true },   { "1.2.3.4/0", true },  { "1.2.3.4/32", true },
        { "10.0.0.01", true },       { "+1.2.3.4", true },     { "-0.0.0.0", true },   { "1.2.3.4/-0", true },
        { "1.2.3.4/008", true },     { "001.002.003.004", true },
        { "10.0.0.256", false },     { "10.0.0", false },      { "10.0.0.1/33", false }, { "10.0.0.1/-1", false },
        { "10.0.0.1/", false },      { "1.2.3.4/8/9", false }, { "1.2.3.4 ", false },  { " 1.2.3.4", false },
        { "1..3.4", false },         { "1.2.3.4.", false },    { "0x1.2.3.4", false }, { "a.b.c.d", false },
        { "1.2.3.4/2147483648", false }, { "", false },        { "::1", false },       { "fe80::1/64", false },
        { "not-an-ip", false },
    };
    for (size_t i = 0; i < N_(ipv); i++) {
        zkd_ACL e[1] = { acl_e(R, "ip", ipv[i].id) };
        char want[128];
        snprintf(want, sizeof want, "1 ip:%s", ipv[i].id);
        ck_assert_msg(strcmp(fixup(NULL, 0, e, 1), ipv[i].ok ? want : "INVALID") == 0, "ip:%s", ipv[i].id);
    }

    /* unknown schemes, super, and an empty or null list are invalid */
    zkd_ACL foo[1] = { acl_e(ALL, "foo", "bar") };
    ck_assert_str_eq(fixup(NULL, 0, foo, 1), "INVALID");
    zkd_ACL sup[1] = { acl_e(ALL, "super", "") };
    ck_assert_str_eq(fixup(NULL, 0, sup, 1), "INVALID");
    ck_assert_str_eq(fixup(three, 3, NULL, 0), "INVALID");
    ck_assert_str_eq(fixup(three, 3, NULL, -1), "INVALID");
    kz_arena ar = KZ_ARENA_INIT;
    kz_jvec outv = { 7, NULL };
    ck_assert_int_eq(zkd_acl_fixup(three, 3, NULL, &outv, &ar), ZKD_ERR_INVALIDACL);
    ck_assert_ptr_null(ar.head);
    /* one bad entry spoils the list */
    zkd_ACL one_bad[3] = { acl_e(ALL, "world", "anyone"), acl_e(R, "ip", "10.0.0.1"), acl_e(R, "ip", "10.0.0.1/40") };
    ck_assert_str_eq(fixup(NULL, 0, one_bad, 3), "INVALID");
    ck_assert_str_eq(fixup(NULL, 0, one_bad, 2), "31 world:anyone; 1 ip:10.0.0.1");
}
END_TEST

static void expect_order(const zkd_auth_id *ids, uint32_t n, const uint32_t *want)
{
    uint32_t got[32];
    memset(got, 0xff, sizeof got);
    zkd_acl_ids_order(ids, n, got);
    for (uint32_t i = 0; i < n; i++)
        ck_assert_msg(got[i] == want[i], "position %u: got %u want %u", i, got[i], want[i]);
    ck_assert_uint_eq(got[n], 0xffffffffu); /* nothing written past n */
}

/* 6. ids are listed in ConcurrentHashMap bucket order (orders taken from a
 *    JVM holding the same Ids). */
START_TEST(t06_ids_order)
{
    zkd_auth_id a[3] = { { (char *)"ip", (char *)"127.0.0.1" }, { (char *)"digest", (char *)D_ALICE },
                         { (char *)"digest", (char *)D_BOB } };
    static const uint32_t wa[] = { 1, 2, 0 }; /* alice, bob, ip */
    expect_order(a, 3, wa);

    zkd_auth_id b[3] = { { (char *)"digest", (char *)D_BOB }, { (char *)"ip", (char *)"127.0.0.1" },
                         { (char *)"digest", (char *)D_ALICE } };
    static const uint32_t wb[] = { 0, 2, 1 }; /* bob and alice share a bucket: insertion order */
    expect_order(b, 3, wb);

    zkd_auth_id c[4] = { { (char *)"super", (char *)"" }, { (char *)"digest", (char *)D_ALICE },
                         { (char *)"ip", (char *)"10.1.2.3" }, { (char *)"digest", (char *)D_BOB } };
    static const uint32_t wc[] = { 1, 3, 0, 2 };
    expect_order(c, 4, wc);

    /* non-ASCII ids hash as Java strings (UTF-16 units), not bytes */
    zkd_auth_id d[5] = { { (char *)"digest", (char *)"jos\xc3\xa9:brFK3NIHUrID/tYOCgeJIzLVLEg=" },
                         { (char *)"digest", (char *)"zo\xc3\xab:C44/LraD8IuUL6lokON/4d5ok1U=" },
                         { (char *)"ip", (char *)"127.0.0.1" },
                         { (char *)"digest", (char *)"\xe2\x82\xac:x" },
                         { (char *)"digest", (char *)"a:b" } };
    static const uint32_t wd[] = { 4, 3, 1, 2, 0 };
    expect_order(d, 5, wd);

    /* 13 ids: the table has grown to 32 buckets */
    static char names[13][16];
    zkd_auth_id e[13];
    for (int i = 0; i < 13; i++) {
        snprintf(names[i], sizeof names[i], "u%d:x", i);
        e[i] = (zkd_auth_id){ (char *)"digest", names[i] };
    }
    static const uint32_t we[] = { 3, 2, 5, 4, 7, 6, 10, 9, 8, 1, 0, 11, 12 };
    expect_order(e, 13, we);

    static const uint32_t w1[] = { 0 };
    expect_order(a + 2, 1, w1);
    expect_order(a, 0, NULL);
}
END_TEST

/* 7. PathUtils.validatePath on the request bytes (verdicts from 3.8.0
 *    decoding the same bytes as UTF-8). */
START_TEST(t07_path_validate)
{
    static const struct {
        const char *p;
        int len; /* -1: strlen */
        bool ok;
    } cases[] = {
        { "/", -1, true },
        { "/a", -1, true },
        { "/a/b/c", -1, true },
        { "/a.b", -1, true },
        { "/..a", -1, true },
        { "/a..", -1, true },
        { "/.a", -1, true },
        { "/a.", -1, true },
        { "/...", -1, true },
        { "/a~ -_", -1, true },
        { "/zookeeper/quota", -1, true },
        { "", -1, false },
        { "a", -1, false },
        { ".", -1, false },
        { "/a/", -1, false },
        { "//", -1, false },
        { "/a//b", -1, false },
        { "/.", -1, false },
        { "/..", -1, false },
        { "/a/.", -1, false },
        { "/a/..", -1, false },
        { "/./a", -1, false },
        { "/../a", -1, false },
        { "/a/./b", -1, false },
        { "/a\0b", 4, false },
        { "/a\0", 3, false },
        { "/a\x01", -1, false },
        { "/a\x1f", -1, false },
        { "/\n", -1, false },
        { "/a\x7f", -1, false },
        { "/a\x7e", -1, true },
        /* 2-byte UTF-8 */
        { "/\xc3\xa9", -1, true },           /* é */
        { "/\xc3\xa9\xc3\xa9", -1, true },
        { "/a/\xc3\xa9/b", -1, true },
        { "/\xc2\x80", -1, false },          /* U+0080 (C1) */
        { "/\xc2\x9f", -1, false },          /* U+009F */
        { "/\xc2\xa0", -1, true },           /* U+00A0 */
        /* 3-byte */
        { "/\xe2\x82\xac", -1, true },       /* € */
        { "/\xe0\xa0\x80", -1, true },       /* U+0800 */
        { "/\xed\x9f\xbf", -1, true },       /* U+D7FF */
        { "/\xed\xa0\x80", -1, false },      /* U+D800 surrogate */
        { "/\xed\xbf\xbf", -1, false },      /* U+DFFF */
        { "/\xee\x80\x80", -1, false },      /* U+E000 private use */
        { "/\xef\xa3\xbf", -1, false },      /* U+F8FF */
        { "/\xef\xa4\x80", -1, true },       /* U+F900 */
        { "/\xef\xbf\xaf", -1, true },       /* U+FFEF */
        { "/\xef\xbf\xb0", -1, false },      /* U+FFF0 */
        { "/\xef\xbf\xbd", -1, false },      /* U+FFFD */
        { "/\xef\xbf\xbf", -1, false },      /* U+FFFF */
        /* outside the BMP: a surrogate pair in Java */
        { "/\xf0\x9f\x98\x80", -1, false },
        { "/\xf4\x80\x80\x80", -1, false },
        /* not UTF-8: Java decodes to U+FFFD */
        { "/\xc0\x80", -1, false },          /* overlong NUL */
        { "/\xc1\xbf", -1, false },
        { "/\xe0\x80\x80", -1, false },      /* overlong */
        { "/\xff", -1, false },
        { "/\x80", -1, false },              /* lone continuation */
        { "/\xc3", -1, false },              /* cut short */
        { "/a\xc3", -1, false },
        { "/\xe2\x82", -1, false },
        { "/a\xc3/b", -1, false },
        { "/\xc2\xff", -1, false },
    };
    for (size_t i = 0; i < N_(cases); i++) {
        int32_t len = cases[i].len >= 0 ? cases[i].len : (int32_t)strlen(cases[i].p);
        /* exact-size copy so that ASan sees any read past @len */
        char *b = malloc(len ? (size_t)len : 1);
        memcpy(b, cases[i].p, (size_t)len);
        int rc = zkd_path_validate(b, len);
        free(b);
        ck_assert_msg(rc == (cases[i].ok ? 0 : ZKD_ERR_BADARGUMENTS), "case %zu: rc %d", i, rc);
    }
    /* only @len bytes count */
    ck_assert_int_eq(zkd_path_validate("/a/", 2), 0);
    ck_assert_int_eq(zkd_path_validate("/a\xc3\xa9", 3), ZKD_ERR_BADARGUMENTS);
    ck_assert_int_eq(zkd_path_validate("/", 0), ZKD_ERR_BADARGUMENTS);
    ck_assert_int_eq(zkd_path_validate("/", -1), ZKD_ERR_BADARGUMENTS);
}
END_TEST

static Suite *acl_suite(void)
{
    Suite *s = suite_create("acl");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, t01_digest);
    tcase_add_test(tc, t02_authenticate);
    tcase_add_test(tc, t03_check_basic);
    tcase_add_test(tc, t04_check_ip);
    tcase_add_test(tc, t05_fixup);
    tcase_add_test(tc, t06_ids_order);
    tcase_add_test(tc, t07_path_validate);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ut_run(acl_suite());
}
