/* common/kz_json.c -- see kz_json.h.
 *
 * The JVM map orders, as the Scala 2.12 and Java 9+ libraries define them:
 *
 * scala.collection.mutable.HashMap (HashTable): 16 buckets, load factor
 *   0.75 (resize to twice the size when the size exceeds 3/4 of it), seed
 *   = bitCount(16 - 1) = 4 fixed at construction. Bucket of hash h:
 *   i = byteswap32(h) = bswap(h * 0x9e3775cd) * 0x9e3775cd, rotated right by
 *   the seed, top log2(size) bits. A new entry goes to the head of its
 *   chain; a resize walks the old buckets from the last to the first, each
 *   chain from its head, pushing every entry onto the head of its new chain.
 *   Iteration: from the highest non-empty bucket down to 0, chain order.
 * scala.collection.immutable.Map: Map1..Map4 keep insertion order; from 5
 *   keys a hash trie keyed by improve(h) five bits at a time from the low
 *   end, each level in ascending index, so the order is the sort on those
 *   5-bit digits (low digit first).
 * java.util.concurrent.ConcurrentHashMap (java.util.Properties since Java 9
 *   keeps its entries in one, created for 8 entries: 16 bins). Bin of hash
 *   h: (h ^ h >>> 16) & (n - 1); new entries append to their bin; when the
 *   count reaches 3/4 of n the table doubles and each bin splits into bin i
 *   and i + n: the longest tail run whose entries go the same way keeps its
 *   order, the entries before it are pushed in front of it one by one
 *   (reversed). Iteration: bins in ascending order, bin order. Treeified
 *   bins (8+ collisions in one bin) are not modelled.
 */
#include "kz_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- hashing */

int32_t kz_json_java_hash(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t h = 0;
    while (*p) {
        uint32_t cp = *p, need = 0;
        if (cp >= 0xf0 && cp < 0xf5)
            cp &= 0x07, need = 3;
        else if (cp >= 0xe0 && cp < 0xf0)
            cp &= 0x0f, need = 2;
        else if (cp >= 0xc2 && cp < 0xe0)
            cp &= 0x1f, need = 1;
        uint32_t i = 1;
        for (; i <= need && (p[i] & 0xc0) == 0x80; i++)
            cp = cp << 6 | (p[i] & 0x3f);
        if (i <= need) { /* invalid sequence: the lead byte alone, as Latin-1 */
            cp = *p;
            i = 1;
        }
        p += i;
        if (cp >= 0x10000) { /* a surrogate pair, as String holds it */
            cp -= 0x10000;
            h = 31 * h + (0xd800 + (cp >> 10));
            h = 31 * h + (0xdc00 + (cp & 0x3ff));
        } else {
            h = 31 * h + cp;
        }
    }
    return (int32_t)h;
}

/* --------------------------------------- scala.collection.mutable.HashMap */

static uint32_t kz_sc_bucket(uint32_t h, size_t size)
{
    uint32_t v = h * 0x9e3775cdu;
    v = __builtin_bswap32(v) * 0x9e3775cdu;
    const int seed = 4; /* bitCount(16 - 1): computed once, for the initial table */
    v = v >> seed | v << (32 - seed);
    int bits = __builtin_ctzll((unsigned long long)size);
    return v >> (32 - bits);
}

static int kz_order_scala_mutable(const uint32_t *hash, size_t n, size_t *perm)
{
    size_t size = 16;
    while (size * 3 / 4 < n)
        size *= 2;
    long *head = malloc(size * sizeof *head), *tmp = malloc(size * sizeof *tmp);
    long *next = malloc((n ? n : 1) * sizeof *next);
    if (!head || !tmp || !next) {
        free(head), free(tmp), free(next);
        return KZ_ENOMEM;
    }
    size_t cur = 16;
    for (size_t b = 0; b < cur; b++)
        head[b] = -1;
    for (size_t e = 0; e < n; e++) {
        uint32_t b = kz_sc_bucket(hash[e], cur);
        next[e] = head[b];
        head[b] = (long)e;
        if (e + 1 > cur * 750 / 1000) { /* tableSize > threshold */
            size_t nsz = cur * 2;
            for (size_t i = 0; i < nsz; i++)
                tmp[i] = -1;
            for (size_t i = cur; i-- > 0;) {
                for (long x = head[i]; x >= 0;) {
                    long x1 = next[x];
                    uint32_t nb = kz_sc_bucket(hash[x], nsz);
                    next[x] = tmp[nb];
                    tmp[nb] = x;
                    x = x1;
                }
            }
            memcpy(head, tmp, nsz * sizeof *head);
            cur = nsz;
        }
    }
    size_t k = 0;
    for (size_t i = cur; i-- > 0;)
        for (long x = head[i]; x >= 0; x = next[x])
            perm[k++] = (size_t)x;
    free(head), free(tmp), free(next);
    return 0;
}

/* -------------------------------------- scala.collection.immutable.Map */

static uint32_t kz_sc_improve(uint32_t h)
{
    h = h + ~(h << 9);
    h = h ^ (h >> 14);
    h = h + (h << 4);
    return h ^ (h >> 10);
}

/* Whether trie position @a comes before @b: 5-bit digits, low digit first. */
static bool kz_trie_before(uint32_t a, uint32_t b)
{
    for (int sh = 0; sh < 32; sh += 5) {
        uint32_t da = (a >> sh) & 31, db = (b >> sh) & 31;
        if (da != db)
            return da < db;
    }
    return false;
}

static void kz_order_scala_immutable(const uint32_t *hash, size_t n, size_t *perm)
{
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    if (n <= 4)
        return; /* Map1..Map4 */
    /* Insertion sort: stable, so equal hashes keep insertion order. */
    for (size_t i = 1; i < n; i++) {
        size_t x = perm[i], j = i;
        uint32_t hx = kz_sc_improve(hash[x]);
        while (j > 0 && kz_trie_before(hx, kz_sc_improve(hash[perm[j - 1]]))) {
            perm[j] = perm[j - 1];
            j--;
        }
        perm[j] = x;
    }
}

/* ------------------------------------ java.util.concurrent.ConcurrentHashMap */

static uint32_t kz_chm_spread(uint32_t h) { return (h ^ (h >> 16)) & 0x7fffffffu; }

static int kz_order_java_chm(const uint32_t *hash, size_t n, size_t *perm)
{
    size_t size = 16;
    while (n >= size - size / 4)
        size *= 2;
    long *head = malloc(size * 2 * sizeof *head), *next = malloc((n ? n : 1) * sizeof *next);
    if (!head || !next) {
        free(head), free(next);
        return KZ_ENOMEM;
    }
    size_t cur = 16, sizectl = 12;
    for (size_t b = 0; b < cur; b++)
        head[b] = -1;
    for (size_t e = 0; e < n; e++) {
        uint32_t h = kz_chm_spread(hash[e]);
        long *link = &head[h & (cur - 1)];
        while (*link >= 0)
            link = &next[*link];
        *link = (long)e;
        next[e] = -1;
        if (e + 1 >= sizectl) { /* addCount: s >= sizeCtl */
            for (size_t i = 0; i < cur; i++) {
                long ln = -1, hn = -1, first = head[i];
                if (first < 0) {
                    head[i + cur] = -1;
                    continue;
                }
                uint32_t runbit = kz_chm_spread(hash[first]) & cur;
                long last = first;
                for (long p = next[first]; p >= 0; p = next[p]) {
                    uint32_t b = kz_chm_spread(hash[p]) & cur;
                    if (b != runbit) {
                        runbit = b;
                        last = p;
                    }
                }
                if (runbit == 0)
                    ln = last;
                else
                    hn = last;
                for (long p = first; p != last;) {
                    long pn = next[p];
                    if (kz_chm_spread(hash[p]) & cur) {
                        next[p] = hn;
                        hn = p;
                    } else {
                        next[p] = ln;
                        ln = p;
                    }
                    p = pn;
                }
                head[i] = ln;
                head[i + cur] = hn;
            }
            sizectl = (cur << 1) - (cur >> 1);
            cur *= 2;
        }
    }
    size_t k = 0;
    for (size_t i = 0; i < cur; i++)
        for (long x = head[i]; x >= 0; x = next[x])
            perm[k++] = (size_t)x;
    free(head), free(next);
    return 0;
}

int kz_json_order_keys(kz_json_order how, const char *const *keys, size_t n, size_t *perm)
{
    uint32_t *hash = malloc((n ? n : 1) * sizeof *hash);
    if (!hash)
        return KZ_ENOMEM;
    for (size_t i = 0; i < n; i++)
        hash[i] = (uint32_t)kz_json_java_hash(keys[i]);
    int rc = 0;
    switch (how) {
    case KZ_JSON_ORDER_SCALA_MUTABLE:
        rc = kz_order_scala_mutable(hash, n, perm);
        break;
    case KZ_JSON_ORDER_SCALA_IMMUTABLE:
        kz_order_scala_immutable(hash, n, perm);
        break;
    case KZ_JSON_ORDER_JAVA_CHM:
        rc = kz_order_java_chm(hash, n, perm);
        break;
    case KZ_JSON_ORDER_INSERT:
    default:
        for (size_t i = 0; i < n; i++)
            perm[i] = i;
        break;
    }
    free(hash);
    return rc;
}

json_t *kz_json_object_ordered(kz_json_order how, const char *const *keys, json_t *const *vals,
                               size_t n)
{
    json_t *o = NULL;
    size_t *perm = malloc((n ? n : 1) * sizeof *perm);
    bool ok = perm && kz_json_order_keys(how, keys, n, perm) == 0;
    for (size_t i = 0; ok && i < n; i++)
        ok = vals[i] != NULL;
    if (ok)
        o = json_object();
    for (size_t i = 0; o && i < n; i++) {
        size_t k = perm[i];
        if (json_object_set(o, keys[k], vals[k]) != 0) { /* set: we drop our references below */
            json_decref(o);
            o = NULL;
        }
    }
    for (size_t i = 0; i < n; i++)
        json_decref(vals[i]);
    free(perm);
    return o;
}

char *kz_json_dump(const json_t *v, size_t *len)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s && len)
        *len = strlen(s);
    return s;
}

/* ------------------------------------------------------------- reading */

json_t *kz_json_parse(const void *data, size_t len, char *err, size_t errlen)
{
    if (!data) {
        snprintf(err, errlen, "no data (null znode)");
        return NULL;
    }
    json_error_t je;
    json_t *v = json_loadb(data, len, 0, &je);
    if (!v)
        snprintf(err, errlen, "invalid JSON at line %d column %d: %s", je.line, je.column, je.text);
    return v;
}

void kz_jrd_fail(kz_jrd *r, const char *fmt, ...)
{
    if (r->err)
        return;
    r->err = KZ_ECORRUPT;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
}

json_t *kz_jrd_get(kz_jrd *r, const json_t *obj, const char *key, bool required)
{
    if (r->err)
        return NULL;
    if (!json_is_object(obj)) {
        kz_jrd_fail(r, "expected a JSON object holding '%s'", key);
        return NULL;
    }
    json_t *v = json_object_get(obj, key);
    if (v && json_is_null(v))
        v = NULL;
    if (!v && required)
        kz_jrd_fail(r, "missing key '%s'", key);
    return v;
}

static int64_t kz_jrd_int(kz_jrd *r, const json_t *v, const char *what, int64_t lo, int64_t hi)
{
    if (r->err)
        return 0;
    if (!json_is_integer(v)) {
        kz_jrd_fail(r, "%s is not an integer", what);
        return 0;
    }
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi) {
        kz_jrd_fail(r, "%s is out of range: %lld", what, (long long)x);
        return 0;
    }
    return x;
}

int32_t kz_jrd_as_i32(kz_jrd *r, const json_t *v, const char *what)
{
    return (int32_t)kz_jrd_int(r, v, what, INT32_MIN, INT32_MAX);
}

int32_t kz_jrd_i32_or(kz_jrd *r, const json_t *obj, const char *key, int32_t def)
{
    json_t *v = kz_jrd_get(r, obj, key, false);
    if (!v)
        return def;
    char what[80];
    snprintf(what, sizeof what, "key '%s'", key);
    return kz_jrd_as_i32(r, v, what);
}

int32_t kz_jrd_i32(kz_jrd *r, const json_t *obj, const char *key)
{
    if (!kz_jrd_get(r, obj, key, true))
        return 0;
    return kz_jrd_i32_or(r, obj, key, 0);
}

int64_t kz_jrd_i64_or(kz_jrd *r, const json_t *obj, const char *key, int64_t def)
{
    json_t *v = kz_jrd_get(r, obj, key, false);
    if (!v)
        return def;
    char what[80];
    snprintf(what, sizeof what, "key '%s'", key);
    return kz_jrd_int(r, v, what, INT64_MIN, INT64_MAX);
}

int64_t kz_jrd_numstr(kz_jrd *r, const json_t *obj, const char *key, bool required, int64_t def)
{
    json_t *v = kz_jrd_get(r, obj, key, required);
    if (!v)
        return def;
    if (json_is_integer(v))
        return json_integer_value(v);
    const char *s = json_string_value(v);
    const char *p = s && (*s == '-' || *s == '+') ? s + 1 : s;
    bool ok = p && *p;
    int64_t x = 0;
    for (; ok && *p; p++) {
        int d = *p - '0';
        if (d < 0 || d > 9 || x > (INT64_MAX - d) / 10)
            ok = false;
        else
            x = x * 10 + d;
    }
    if (!ok) {
        kz_jrd_fail(r, "key '%s' is not a decimal number", key);
        return 0;
    }
    return *s == '-' ? -x : x;
}

const char *kz_jrd_str(kz_jrd *r, const json_t *obj, const char *key, bool required)
{
    json_t *v = kz_jrd_get(r, obj, key, required);
    if (!v)
        return NULL;
    if (!json_is_string(v)) {
        kz_jrd_fail(r, "key '%s' is not a string", key);
        return NULL;
    }
    return json_string_value(v);
}

json_t *kz_jrd_obj(kz_jrd *r, const json_t *obj, const char *key, bool required)
{
    json_t *v = kz_jrd_get(r, obj, key, required);
    if (v && !json_is_object(v)) {
        kz_jrd_fail(r, "key '%s' is not an object", key);
        return NULL;
    }
    return v;
}

json_t *kz_jrd_arr(kz_jrd *r, const json_t *obj, const char *key, bool required)
{
    json_t *v = kz_jrd_get(r, obj, key, required);
    if (v && !json_is_array(v)) {
        kz_jrd_fail(r, "key '%s' is not an array", key);
        return NULL;
    }
    return v;
}

int32_t *kz_jrd_i32s(kz_jrd *r, const json_t *arr, kz_arena *a, int32_t *n, const char *what)
{
    *n = 0;
    if (r->err)
        return NULL;
    if (!json_is_array(arr)) {
        kz_jrd_fail(r, "%s is not an array", what);
        return NULL;
    }
    size_t cnt = json_array_size(arr);
    if (cnt == 0)
        return NULL;
    if (cnt > INT32_MAX / sizeof(int32_t)) {
        kz_jrd_fail(r, "%s is too long", what);
        return NULL;
    }
    int32_t *v = kz_arena_alloc(a, cnt * sizeof *v);
    if (!v) {
        kz_jrd_fail(r, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < cnt; i++)
        v[i] = kz_jrd_as_i32(r, json_array_get(arr, i), what);
    if (r->err)
        return NULL;
    *n = (int32_t)cnt;
    return v;
}

const char *kz_jrd_dup(kz_jrd *r, kz_arena *a, const char *s)
{
    if (!s || r->err)
        return NULL;
    kz_str d = kz_arena_strdup(a, kz_str_c(s));
    if (!d.s)
        kz_jrd_fail(r, "out of memory");
    return d.s;
}
