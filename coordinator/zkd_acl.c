/* coordinator/zkd_acl.c -- ACL checks and authentication providers.
 *
 * Schemes: world (anyone), auth (expands to the creator's authenticated
 * ids), digest (user:base64(sha1(user:password))), ip (address or CIDR),
 * super (set by a digest matching DigestAuthenticationProvider.superDigest;
 * passes every check). Follows ZooKeeperServer.checkACL and
 * PrepRequestProcessor.fixupACL of ZooKeeper 3.8.
 * Locality: zkd loop thread only. */
#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "kz_log.h"
#include "zkd_server.h"

static bool zkd_str_is(kz_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == (int32_t)n && memcmp(s.s, lit, n) == 0;
}

char *zkd_acl_digest(const char *user_password, size_t len)
{
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)user_password, len, md);
    const char *colon = memchr(user_password, ':', len);
    size_t ulen = colon ? (size_t)(colon - user_password) : len;
    char *out = malloc(ulen + 1 + 4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1);
    if (!out)
        return NULL;
    memcpy(out, user_password, ulen);
    out[ulen] = ':';
    EVP_EncodeBlock((unsigned char *)out + ulen + 1, md, SHA_DIGEST_LENGTH);
    return out;
}

/* Parses "a.b.c.d[/bits]" (or IPv6); returns the family or 0. */
static int zkd_ip_parse(const char *s, size_t len, unsigned char addr[16], int *bits)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *slash = strchr(buf, '/');
    if (slash)
        *slash++ = '\0';
    int fam = strchr(buf, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(fam, buf, addr) != 1)
        return 0;
    int max = fam == AF_INET ? 32 : 128;
    *bits = max;
    if (slash) {
        char *end;
        long b = strtol(slash, &end, 10);
        if (*slash == '\0' || *end || b < 0 || b > max)
            return 0;
        *bits = (int)b;
    }
    return fam;
}

static bool zkd_ip_matches(const char *client, kz_str acl_id)
{
    unsigned char a[16], c[16];
    int abits, cbits;
    int fam = zkd_ip_parse(acl_id.s, (size_t)acl_id.len, a, &abits);
    if (!fam || zkd_ip_parse(client, strlen(client), c, &cbits) != fam)
        return false;
    for (int i = 0; i < abits; i++) {
        int byte = i / 8, bit = 7 - i % 8;
        if (((a[byte] >> bit) & 1) != ((c[byte] >> bit) & 1))
            return false;
    }
    return true;
}

static bool zkd_scheme_known(kz_str scheme)
{
    return zkd_str_is(scheme, "digest") || zkd_str_is(scheme, "ip");
}

/* java.lang.String.hashCode over UTF-16 code units (ASCII/BMP input). */
static uint32_t zkd_java_hash(const char *s)
{
    uint32_t h = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp = *p++;
        if (cp >= 0xC0 && (*p & 0xC0) == 0x80) { /* two/three-byte UTF-8 to one unit */
            int extra = cp >= 0xE0 ? 2 : 1;
            cp &= extra == 2 ? 0x0F : 0x1F;
            for (int i = 0; i < extra && (*p & 0xC0) == 0x80; i++)
                cp = cp << 6 | (*p++ & 0x3F);
        }
        h = 31 * h + cp;
    }
    return h;
}

void zkd_acl_ids_order(const zkd_auth_id *ids, uint32_t n, uint32_t *order)
{
    /* ZooKeeper keeps a connection's ids in a ConcurrentHashMap-backed set:
     * clients (whoAmI, the auth ACL scheme) see them in bucket order, and
     * in insertion order within a bucket. Id.hashCode is jute's 17/37 mix. */
    uint32_t cap = 16;
    while (n >= cap * 3 / 4)
        cap *= 2;
    uint32_t k = 0;
    for (uint32_t b = 0; b < cap; b++)
        for (uint32_t i = 0; i < n; i++) {
            uint32_t h = 17;
            h = 37 * h + zkd_java_hash(ids[i].scheme);
            h = 37 * h + zkd_java_hash(ids[i].id);
            if (((h ^ (h >> 16)) & 0x7fffffff & (cap - 1)) == b)
                order[k++] = i;
        }
}

int zkd_acl_check(const zkd_server *s, const zkd_auth_id *ids, uint32_t nids, const kz_jvec *acl, int perm)
{
    (void)s;
    if (!acl || acl->n <= 0)
        return 0;
    for (uint32_t i = 0; i < nids; i++)
        if (strcmp(ids[i].scheme, "super") == 0)
            return 0;
    const zkd_ACL *a = acl->v;
    for (int32_t k = 0; k < acl->n; k++) {
        if (!(a[k].perms & perm))
            continue;
        kz_str scheme = a[k].id.scheme, id = a[k].id.id;
        if (zkd_str_is(scheme, "world") && zkd_str_is(id, "anyone"))
            return 0;
        if (!zkd_scheme_known(scheme))
            continue;
        for (uint32_t i = 0; i < nids; i++) {
            if (!zkd_str_is(scheme, ids[i].scheme))
                continue;
            if (zkd_str_is(scheme, "ip") ? zkd_ip_matches(ids[i].id, id) : zkd_str_is(id, ids[i].id))
                return 0;
        }
    }
    return ZKD_ERR_NOAUTH;
}

static bool zkd_acl_valid_id(kz_str scheme, kz_str id)
{
    if (zkd_str_is(scheme, "digest")) {
        /* Java's id.split(":").length == 2 */
        const char *c = id.len > 0 ? memchr(id.s, ':', (size_t)id.len) : NULL;
        return c && c > id.s && !memchr(c + 1, ':', (size_t)(id.s + id.len - c - 1)) && c + 1 < id.s + id.len;
    }
    if (zkd_str_is(scheme, "ip")) {
        unsigned char a[16];
        int bits;
        return id.len > 0 && zkd_ip_parse(id.s, (size_t)id.len, a, &bits) != 0;
    }
    return false;
}

static bool zkd_acl_same(const zkd_ACL *x, const zkd_ACL *y)
{
    return x->perms == y->perms && kz_str_eq(x->id.scheme, y->id.scheme) && kz_str_eq(x->id.id, y->id.id);
}

int zkd_acl_fixup(const zkd_auth_id *ids, uint32_t nids, const kz_jvec *in, kz_jvec *out, kz_arena *a)
{
    if (!in || in->n <= 0)
        return ZKD_ERR_INVALIDACL;
    /* At most every entry plus every auth id per "auth" entry. */
    size_t cap = (size_t)in->n * (nids + 1);
    zkd_ACL *rv = kz_arena_alloc(a, cap * sizeof *rv);
    if (!rv)
        return ZKD_ERR_SYSTEMERROR;
    size_t n = 0;
    const zkd_ACL *src = in->v;
    for (int32_t k = 0; k < in->n; k++) {
        const zkd_ACL *e = &src[k];
        if (e->id.scheme.len < 0) /* a null id is fine for auth (kazoo sends "" as null) */
            return ZKD_ERR_INVALIDACL;
        if (zkd_str_is(e->id.scheme, "world") && zkd_str_is(e->id.id, "anyone")) {
            rv[n++] = *e;
        } else if (zkd_str_is(e->id.scheme, "auth")) {
            bool any = false;
            uint32_t order[64];
            uint32_t m = nids < 64 ? nids : 64;
            zkd_acl_ids_order(ids, m, order);
            for (uint32_t oi = 0; oi < m; oi++) {
                uint32_t i = order[oi];
                if (strcmp(ids[i].scheme, "digest") != 0) /* only digest ids are "authenticated" */
                    continue;
                any = true;
                rv[n++] = (zkd_ACL){ e->perms, { kz_str_c(ids[i].scheme), kz_str_c(ids[i].id) } };
            }
            if (!any)
                return ZKD_ERR_INVALIDACL;
        } else {
            if (!zkd_acl_valid_id(e->id.scheme, e->id.id))
                return ZKD_ERR_INVALIDACL;
            rv[n++] = *e;
        }
    }
    /* Drop duplicates, keeping the first of each. */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        bool dup = false;
        for (size_t j = 0; j < m && !dup; j++)
            dup = zkd_acl_same(&rv[i], &rv[j]);
        if (!dup)
            rv[m++] = rv[i];
    }
    *out = (kz_jvec){ (int32_t)m, rv };
    return 0;
}

int zkd_acl_authenticate(zkd_server *s, zkd_conn *c, kz_str scheme, kz_str auth)
{
    if (zkd_str_is(scheme, "digest")) {
        char *digest = zkd_acl_digest(auth.len > 0 ? auth.s : "", auth.len > 0 ? (size_t)auth.len : 0);
        if (!digest)
            return ZKD_ERR_AUTHFAILED;
        if (s->super_digest && strcmp(digest, s->super_digest) == 0)
            zkd_cnxn_add_auth(c, "super", "");
        zkd_cnxn_add_auth(c, "digest", digest);
        free(digest);
        return 0;
    }
    if (zkd_str_is(scheme, "ip")) {
        zkd_cnxn_add_auth(c, "ip", c->peer_ip);
        return 0;
    }
    return ZKD_ERR_AUTHFAILED;
}

int zkd_path_validate(const char *p, int32_t len)
{
    if (len <= 0 || p[0] != '/')
        return ZKD_ERR_BADARGUMENTS;
    if (len == 1)
        return 0;
    if (p[len - 1] == '/')
        return ZKD_ERR_BADARGUMENTS;
    for (int32_t i = 1; i < len; i++) {
        unsigned char ch = (unsigned char)p[i];
        char last = p[i - 1];
        if (ch == 0)
            return ZKD_ERR_BADARGUMENTS;
        if (ch == '/' && last == '/')
            return ZKD_ERR_BADARGUMENTS;
        if (ch == '.' && last == '.') {
            if (p[i - 2] == '/' && (i + 1 == len || p[i + 1] == '/'))
                return ZKD_ERR_BADARGUMENTS;
        } else if (ch == '.') {
            if (last == '/' && (i + 1 == len || p[i + 1] == '/'))
                return ZKD_ERR_BADARGUMENTS;
        }
        /* PathUtils rejects U+0001-U+001F, U+007F-U+009F, U+D800-U+F8FF,
         * U+FFF0-U+FFFF; on UTF-8 bytes: controls and the C1 range (C2 80-9F). */
        if ((ch > 0 && ch < 0x20) || ch == 0x7f)
            return ZKD_ERR_BADARGUMENTS;
        if (ch == 0xC2 && i + 1 < len && (unsigned char)p[i + 1] >= 0x80 && (unsigned char)p[i + 1] <= 0x9F)
            return ZKD_ERR_BADARGUMENTS;
        if (ch == 0xED && i + 1 < len && (unsigned char)p[i + 1] >= 0xA0) /* surrogates */
            return ZKD_ERR_BADARGUMENTS;
        if (ch == 0xEE || (ch == 0xEF && i + 1 < len && (unsigned char)p[i + 1] < 0xA4)) /* U+E000-U+F8FF */
            return ZKD_ERR_BADARGUMENTS;
        if (ch == 0xEF && i + 2 < len && (unsigned char)p[i + 1] == 0xBF && (unsigned char)p[i + 2] >= 0xB0)
            return ZKD_ERR_BADARGUMENTS;
    }
    return 0;
}
