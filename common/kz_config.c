/* common/kz_config.c -- java.util.Properties parser and typed key tables (see kz_config.h).
 *
 * The parser follows Properties.load() (LineReader + load0 + loadConvert of the JDK) step by
 * step, so a file means here what it means to ZooKeeper and Kafka:
 *   natural line   bytes up to \n, \r or \r\n
 *   logical line   natural line(s) with leading blanks removed; a segment ending in an odd run
 *                  of backslashes loses its last backslash and is joined with the next natural
 *                  line (leading blanks dropped; a blank-only continuation line ends it). Only
 *                  the first natural line of a logical line can be a comment or blank (a
 *                  logical line still empty after a lone "\" counts as not yet begun, as in
 *                  the LineReader of JDK 9 and later; JDK 8 differed in that corner).
 *   key / value    key = up to the first unescaped '=', ':' or blank; then blanks, at most one
 *                  '=' or ':', blanks; value = the rest, trailing blanks kept.
 * Invariant: unescaping never grows text (\uXXXX is 6 bytes in, <= 3 out; a surrogate pair
 * 12 in, 4 out), so a key or value fits in a buffer as long as the logical line. */
#include "kz_config.h"
#include "kz_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define KZ_PROPS_MAX_FILE (16u << 20) /* a config file larger than this is a mistake */

/* ---- growable byte buffer for logical lines ---- */

typedef struct {
    char *p;
    size_t len, cap;
} kz_pbuf;

/* Append @n bytes; 0 or -1 when out of memory (buffer unchanged). */
static int kz_pbuf_put(kz_pbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np)
            return -1;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

static int kz_props_blank(char c) { return c == ' ' || c == '\t' || c == '\f'; }

/* Natural line at @pos: sets *eol to the index of its terminator (or @len) and returns the
 * index just after the terminator ("\r\n" counts as one). */
static size_t kz_props_eol(const char *t, size_t len, size_t pos, size_t *eol)
{
    size_t i = pos;
    while (i < len && t[i] != '\n' && t[i] != '\r')
        i++;
    *eol = i;
    if (i == len)
        return len;
    if (t[i] == '\r' && i + 1 < len && t[i + 1] == '\n')
        return i + 2;
    return i + 1;
}

/* 4 hex digits at @s (with @n bytes left) into *cp; -1 if fewer or not hex. */
static int kz_props_hex4(const char *s, size_t n, unsigned *cp)
{
    if (n < 4)
        return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *cp = v;
    return 0;
}

/* UTF-8 encode @cp (<= 0x10FFFF, not a surrogate) at @out; returns bytes written (1..4). */
static size_t kz_utf8_put(char *out, unsigned cp)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* loadConvert: unescape @n bytes of @s into @out (room for @n bytes + NUL), NUL-terminate.
 * A surrogate pair written as two \u escapes becomes one code point; a lone surrogate becomes
 * U+FFFD (what Java's UTF-8 encoder would not write either). Returns 0, or -1 with *why. */
static int kz_props_unescape(const char *s, size_t n, char *out, const char **why)
{
    size_t i = 0, o = 0;
    while (i < n) {
        char c = s[i++];
        if (c != '\\') {
            out[o++] = c;
            continue;
        }
        if (i == n) /* cannot happen after continuation handling; drop it like Java's EOF */
            break;
        c = s[i++];
        unsigned cp, lo;
        switch (c) {
        case 't': out[o++] = '\t'; break;
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 'f': out[o++] = '\f'; break;
        case 'u':
            if (kz_props_hex4(s + i, n - i, &cp) != 0) {
                *why = "malformed \\uxxxx encoding";
                return -1;
            }
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && n - i >= 6 && s[i] == '\\' && s[i + 1] == 'u' &&
                kz_props_hex4(s + i + 2, n - i - 2, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            } else if (cp >= 0xD800 && cp <= 0xDFFF) {
                cp = 0xFFFD;
            }
            if (cp == 0) { /* would silently cut the C string */
                *why = "\\u0000 is not supported";
                return -1;
            }
            o += kz_utf8_put(out + o, cp);
            break;
        default: out[o++] = c; break;
        }
    }
    out[o] = '\0';
    return 0;
}

/* The parser proper; @src (may be NULL) prefixes syntax error messages. */
static int kz_props_parse_src(const char *text, size_t len, const char *src, kz_props_fn *fn,
                              void *ctx, char *err, size_t errlen)
{
    kz_pbuf line = { 0 };
    char *out = NULL;
    size_t outcap = 0, pos = 0;
    int lineno = 0, rc = 0;
    const char *why = NULL;

    if (memchr(text, '\0', len)) {
        snprintf(err, errlen, "%s%sNUL byte in properties text", src ? src : "", src ? ": " : "");
        return -1;
    }
    while (pos < len) {
        size_t eol, next = kz_props_eol(text, len, pos, &eol), p = pos;
        lineno++;
        while (p < eol && kz_props_blank(text[p]))
            p++;
        if (p == eol || text[p] == '#' || text[p] == '!') {
            pos = next;
            continue;
        }
        int start = lineno;
        line.len = 0;
        for (;;) { /* gather one logical line */
            if (kz_pbuf_put(&line, text + p, eol - p) != 0) {
                why = "out of memory";
                goto syntax;
            }
            size_t nbs = 0;
            while (nbs < eol - p && line.p[line.len - 1 - nbs] == '\\')
                nbs++;
            pos = next;
            if (nbs % 2 == 0)
                break;
            line.len--; /* the continuation backslash */
            /* Nothing gathered yet: the next line starts afresh (JDK 9+), except that the
             * JDK keeps the empty line when a one-byte terminator is the last byte. */
            if (line.len == 0 && eol + 1 < len)
                goto next_line;
            if (pos >= len)
                break;
            next = kz_props_eol(text, len, pos, &eol);
            lineno++;
            p = pos;
            while (p < eol && kz_props_blank(text[p]))
                p++;
            if (p == eol) { /* blank continuation line ends the logical line */
                pos = next;
                break;
            }
        }

        /* load0: split key and value on the still-escaped text */
        const char *L = line.p;
        size_t n = line.len, klen = 0, vstart = n;
        int has_sep = 0, bs = 0;
        while (klen < n) {
            char c = L[klen];
            if ((c == '=' || c == ':') && !bs) {
                vstart = klen + 1;
                has_sep = 1;
                break;
            }
            if (kz_props_blank(c) && !bs) {
                vstart = klen + 1;
                break;
            }
            bs = c == '\\' ? !bs : 0;
            klen++;
        }
        while (vstart < n) {
            char c = L[vstart];
            if (!kz_props_blank(c)) {
                if (!has_sep && (c == '=' || c == ':'))
                    has_sep = 1;
                else
                    break;
            }
            vstart++;
        }
        if (n + 2 > outcap) {
            char *no = realloc(out, n + 2);
            if (!no) {
                why = "out of memory";
                goto syntax;
            }
            out = no;
            outcap = n + 2;
        }
        char *key = out, *val;
        if (kz_props_unescape(L, klen, key, &why) != 0)
            goto syntax;
        val = key + strlen(key) + 1;
        if (kz_props_unescape(L + vstart, n - vstart, val, &why) != 0)
            goto syntax;
        if ((rc = fn(ctx, key, val, start)) != 0)
            goto done;
    next_line:
        continue;
    syntax:
        snprintf(err, errlen, "%s%sline %d: %s", src ? src : "", src ? ": " : "", lineno, why);
        rc = -1;
        goto done;
    }
done:
    free(line.p);
    free(out);
    return rc;
}

int kz_props_parse(const char *text, size_t len, kz_props_fn *fn, void *ctx, char *err,
                   size_t errlen)
{
    return kz_props_parse_src(text, len, NULL, fn, ctx, err, errlen);
}

/* Read all of @path into a malloc'd buffer (*out, *len). 0, or -1 with @err. */
static int kz_read_file(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *buf = NULL;
    size_t n = 0, cap = 0;
    if (fd < 0)
        goto ioerr;
    for (;;) {
        if (n == cap) {
            if (cap >= KZ_PROPS_MAX_FILE) {
                snprintf(err, errlen, "cannot read %s: larger than %u bytes", path,
                         KZ_PROPS_MAX_FILE);
                goto fail;
            }
            cap = cap ? cap * 2 : 4096;
            char *nb = realloc(buf, cap);
            if (!nb) {
                errno = ENOMEM;
                goto ioerr;
            }
            buf = nb;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto ioerr;
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    *out = buf;
    *len = n;
    return 0;
ioerr:
    snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
fail:
    if (fd >= 0)
        close(fd);
    free(buf);
    return -1;
}

int kz_props_parse_file(const char *path, kz_props_fn *fn, void *ctx, char *err, size_t errlen)
{
    char *text;
    size_t len;
    if (kz_read_file(path, &text, &len, err, errlen) != 0)
        return -1;
    int rc = kz_props_parse_src(text, len, path, fn, ctx, err, errlen);
    free(text);
    return rc;
}

/* ---- typed layer ---- */

char *kz_cfg_trim(char *s)
{
    size_t n = strlen(s), a = 0;
    while (n > 0 && (unsigned char)s[n - 1] <= ' ')
        n--;
    while (a < n && (unsigned char)s[a] <= ' ')
        a++;
    memmove(s, s + a, n - a);
    s[n - a] = '\0';
    return s;
}

int kz_cfg_parse_i64(const char *s, int64_t *out)
{
    const char *p = s;
    int neg = 0;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (*p == '\0')
        return -1;
    /* accumulate negatively so INT64_MIN parses */
    int64_t v = 0;
    int range = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        int d = *p - '0';
        if (v < (INT64_MIN + d) / 10)
            range = 1;
        else
            v = v * 10 - d;
    }
    if (range || (!neg && v == INT64_MIN))
        return -2;
    *out = neg ? v : -v;
    return 0;
}

int kz_cfg_parse_i32(const char *s, int32_t *out)
{
    int64_t v;
    int rc = kz_cfg_parse_i64(s, &v);
    if (rc == 0 && (v < INT32_MIN || v > INT32_MAX))
        rc = -2;
    if (rc == 0)
        *out = (int32_t)v;
    return rc;
}

int64_t kz_cfg_int(const kz_cfg_key *k, const void *field)
{
    switch (k->type) {
    case KZ_CFG_I32: return *(const int32_t *)field;
    case KZ_CFG_I64: return *(const int64_t *)field;
    case KZ_CFG_BOOL: return *(const bool *)field;
    default: return 0;
    }
}

const char *kz_cfg_required(const kz_cfg_key *k, const void *field, const char *raw)
{
    if (!raw)
        return "required";
    if (k->type == KZ_CFG_STR && **(char *const *)field == '\0')
        return "must not be empty";
    return NULL;
}

const char *kz_cfg_ge0(const kz_cfg_key *k, const void *field, const char *raw)
{
    return raw && kz_cfg_int(k, field) < 0 ? "must be >= 0" : NULL;
}

const char *kz_cfg_gt0(const kz_cfg_key *k, const void *field, const char *raw)
{
    return raw && kz_cfg_int(k, field) <= 0 ? "must be > 0" : NULL;
}

const char *kz_cfg_ge_m1(const kz_cfg_key *k, const void *field, const char *raw)
{
    return raw && kz_cfg_int(k, field) < -1 ? "must be >= -1" : NULL;
}

const char *kz_cfg_port(const kz_cfg_key *k, const void *field, const char *raw)
{
    int64_t v = kz_cfg_int(k, field);
    return raw && (v < 1 || v > 65535) ? "not a port (1..65535)" : NULL;
}

const char *kz_cfg_port0(const kz_cfg_key *k, const void *field, const char *raw)
{
    int64_t v = kz_cfg_int(k, field);
    return raw && (v < 0 || v > 65535) ? "not a port (0..65535)" : NULL;
}

/* One load in progress. */
typedef struct {
    const kz_cfg_key *keys;
    size_t nkeys;
    char *obj;
    bool *set; /* set[i]: key i got a value (default or file) */
    const char *src;
    kz_cfg_unknown_fn *unknown;
    void *uctx;
    char *err;
    size_t errlen;
} kz_cfg_ld;

/* Store trimmed @raw into key @i's field and check it. @lineno 0 = the default. 0 or -1. */
static int kz_cfg_apply(kz_cfg_ld *ld, size_t i, const char *raw, int lineno)
{
    const kz_cfg_key *k = &ld->keys[i];
    void *f = ld->obj + k->off;
    const char *why = NULL;
    int rc;

    switch (k->type) {
    case KZ_CFG_STR: {
        char *d = strdup(raw);
        if (!d) {
            why = "out of memory";
            break;
        }
        free(*(char **)f);
        *(char **)f = d;
        break;
    }
    case KZ_CFG_I32:
        if ((rc = kz_cfg_parse_i32(raw, f)) != 0)
            why = rc == -2 ? "out of range for a 32-bit integer" : "not an integer";
        break;
    case KZ_CFG_I64:
        if ((rc = kz_cfg_parse_i64(raw, f)) != 0)
            why = rc == -2 ? "out of range for a 64-bit integer" : "not an integer";
        break;
    case KZ_CFG_BOOL:
        if (strcasecmp(raw, "true") == 0)
            *(bool *)f = true;
        else if (strcasecmp(raw, "false") == 0)
            *(bool *)f = false;
        else
            why = "not a boolean (true or false)";
        break;
    case KZ_CFG_CUSTOM:
        why = k->parse ? k->parse(k, f, raw) : "no parser for this key";
        break;
    case KZ_CFG_IGNORE:
        ld->set[i] = true;
        return 0;
    }
    if (!why && k->check)
        why = k->check(k, f, raw);
    if (why) {
        if (lineno > 0)
            snprintf(ld->err, ld->errlen, "invalid value '%s' for %s: %s (%s:%d)", raw, k->name,
                     why, ld->src, lineno);
        else
            snprintf(ld->err, ld->errlen, "invalid default '%s' for %s: %s", raw, k->name, why);
        return -1;
    }
    ld->set[i] = true;
    return 0;
}

/* kz_props_fn: route one pair to its key or to the unknown-key callback. */
static int kz_cfg_on_pair(void *ctx, const char *key, const char *value, int lineno)
{
    kz_cfg_ld *ld = ctx;
    char *k = strdup(key), *v = strdup(value);
    int rc = 0;
    if (!k || !v) {
        snprintf(ld->err, ld->errlen, "%s:%d: out of memory", ld->src, lineno);
        rc = -1;
        goto out;
    }
    kz_cfg_trim(k);
    kz_cfg_trim(v);
    size_t i = 0;
    while (i < ld->nkeys && strcmp(ld->keys[i].name, k) != 0)
        i++;
    if (i < ld->nkeys)
        rc = kz_cfg_apply(ld, i, v, lineno);
    else if (ld->unknown)
        rc = ld->unknown(ld->uctx, k, v, ld->src, lineno, ld->err, ld->errlen) ? -1 : 0;
    else
        kz_warn("kz_config", "Unknown key '%s' in %s ignored", k, ld->src);
out:
    free(k);
    free(v);
    return rc;
}

int kz_cfg_load_mem(const kz_cfg_key *keys, size_t nkeys, void *obj, const char *text,
                    size_t len, const char *src, kz_cfg_unknown_fn *unknown, void *ctx,
                    char *err, size_t errlen)
{
    kz_cfg_ld ld = { keys, nkeys, obj, NULL, src, unknown, ctx, err, errlen };
    int rc = 0;
    if (!(ld.set = calloc(nkeys ? nkeys : 1, sizeof *ld.set))) {
        snprintf(err, errlen, "%s: out of memory", src);
        return -1;
    }
    for (size_t i = 0; i < nkeys && rc == 0; i++)
        if (keys[i].def)
            rc = kz_cfg_apply(&ld, i, keys[i].def, 0);
    if (rc == 0)
        rc = kz_props_parse_src(text, len, src, kz_cfg_on_pair, &ld, err, errlen) ? -1 : 0;
    for (size_t i = 0; i < nkeys && rc == 0; i++) {
        if (ld.set[i] || !keys[i].check || keys[i].type == KZ_CFG_IGNORE)
            continue;
        if (keys[i].check(&keys[i], ld.obj + keys[i].off, NULL)) {
            snprintf(err, errlen, "%s is not set in %s", keys[i].name, src);
            rc = -1;
        }
    }
    free(ld.set);
    return rc;
}

int kz_cfg_load(const kz_cfg_key *keys, size_t nkeys, void *obj, const char *path,
                kz_cfg_unknown_fn *unknown, void *ctx, char *err, size_t errlen)
{
    char *text;
    size_t len;
    if (kz_read_file(path, &text, &len, err, errlen) != 0)
        return -1;
    int rc = kz_cfg_load_mem(keys, nkeys, obj, text, len, path, unknown, ctx, err, errlen);
    free(text);
    return rc;
}

void kz_cfg_free(const kz_cfg_key *keys, size_t nkeys, void *obj)
{
    for (size_t i = 0; i < nkeys; i++) {
        if (keys[i].type != KZ_CFG_STR)
            continue;
        char **f = (char **)((char *)obj + keys[i].off);
        free(*f);
        *f = NULL;
    }
}
