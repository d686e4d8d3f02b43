/* coordinator/zkd_acl.c -- ACL checks and authentication providers.
 *
 * Schemes: world (anyone), auth (expands to the creator's authenticated
 * ids), digest (user:base64(sha1(user:password))), ip (address or CIDR),
 * super (set by a digest matching DigestAuthenticationProvider.superDigest;
 * passes every check). Follows ZooKeeperServer.checkACL and
 * PrepRequestProcessor.fixupACL of ZooKeeper 3.8.
 * Locality: zkd loop thread only. */
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

/* Integer.parseInt on ASCII text: an optional sign, then one or more digits.
 * Values beyond @max saturate to @max + 1 (Java would overflow or range-fail:
 * either way the caller rejects them). */
static bool zkd_java_parse_int(const char *s, size_t len, long max, long *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i == len)
        return false;
    long v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
        if (v > max)
            v = max + 1;
    }
    *out = neg ? -v : v;
    return true;
}

/* IPAuthenticationProvider.addr2Bytes + the "/bits" suffix, as in ZooKeeper
 * 3.8: IPv4 only (3.8 has no IPv6 ACLs: such ids are invalid and never
 * match), four dot-separated numbers 0..255 read by Integer.parseInt (so
 * "010" and "+1" are accepted), bits 0..32. */
static bool zkd_ip_parse(const char *s, size_t len, unsigned char addr[4], int *bits)
{
    const char *slash = memchr(s, '/', len);
    size_t alen = slash ? (size_t)(slash - s) : len;
    const char *p = s, *end = s + alen;
    for (int k = 0; k < 4; k++) {
        const char *dot = k < 3 ? memchr(p, '.', (size_t)(end - p)) : end;
        long v;
        if (!dot || !zkd_java_parse_int(p, (size_t)(dot - p), 255, &v) || v < 0 || v > 255)
            return false;
        addr[k] = (unsigned char)v;
        p = dot + 1;
    }
    *bits = 32;
    if (slash) {
        long b;
        if (!zkd_java_parse_int(slash + 1, len - alen - 1, 32, &b) || b < 0 || b > 32)
            return false;
        *bits = (int)b;
    }
    return true;
}

static bool zkd_ip_matches(const char *client, kz_str acl_id)
{
    unsigned char a[4], c[4];
    int abits, cbits;
    if (acl_id.len < 0 || !zkd_ip_parse(acl_id.s, (size_t)acl_id.len, a, &abits) ||
        !zkd_ip_parse(client, strlen(client), c, &cbits))
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
        /* Java's id.split(":").length == 2: split drops trailing empty parts
         * ("a:b:" is valid) but keeps a leading one (":b" is valid). */
        if (id.len <= 0)
            return false;
        size_t n = (size_t)id.len, colons = 0;
        while (n > 0 && id.s[n - 1] == ':')
            n--;
        for (size_t i = 0; i < n; i++)
            colons += id.s[i] == ':';
        return colons == 1;
    }
    if (zkd_str_is(scheme, "ip")) {
        unsigned char a[4];
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
        /* removeDuplicates runs on the request's list, before auth is
         * expanded: the expansion may repeat an id, as in ZooKeeper. */
        bool dup = false;
        for (int32_t j = 0; j < k && !dup; j++)
            dup = zkd_acl_same(e, &src[j]);
        if (dup)
            continue;
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
    *out = (kz_jvec){ (int32_t)n, rv };
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

/* Length of the well-formed UTF-8 sequence of a BMP character other than a
 * surrogate at @p (at most @left bytes), with its code point in *cp; 0 when
 * the bytes are malformed, overlong, a surrogate or outside the BMP. Java
 * decodes malformed bytes to U+FFFD and a non-BMP character to a surrogate
 * pair, and PathUtils rejects both, so 0 always means "invalid path". */
static int zkd_utf8_bmp(const unsigned char *p, int32_t left, uint32_t *cp)
{
    if (p[0] < 0xC2 || p[0] >= 0xF0)
        return 0;
    int n = p[0] < 0xE0 ? 2 : 3;
    if (left < n)
        return 0;
    for (int k = 1; k < n; k++)
        if ((p[k] & 0xC0) != 0x80)
            return 0;
    if (n == 2) {
        *cp = (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F);
        return 2;
    }
    *cp = (uint32_t)(p[0] & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
    if (*cp < 0x800 || (*cp >= 0xD800 && *cp <= 0xDFFF))
        return 0;
    return 3;
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
        /* PathUtils rejects U+0001-U+001F, U+007F-U+009F, U+D800-U+F8FF
         * (surrogates and private use), U+FFF0-U+FFFF; on the UTF-8 bytes
         * also anything Java would not decode to one BMP character. */
        if (ch < 0x20 || ch == 0x7f)
            return ZKD_ERR_BADARGUMENTS;
        if (ch < 0x80)
            continue;
        uint32_t cp;
        int n = zkd_utf8_bmp((const unsigned char *)p + i, len - i, &cp);
        if (!n || cp <= 0x9F || (cp >= 0xD800 && cp <= 0xF8FF) || cp >= 0xFFF0)
            return ZKD_ERR_BADARGUMENTS;
        i += n - 1;
    }
    return 0;
}
