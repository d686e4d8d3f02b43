/* broker/kb_api_admin_util.c -- pure functions of the admin handlers (contract
 * in kb_api_admin_util.h). */
#include "kb_api_admin_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { KB_ADM_INVALID_CONFIG = 40, KB_ADM_INVALID_REQUEST = 42 };

const char *kb_adm_cstr(kz_arena *a, kz_str s)
{
    if (s.len < 0)
        return NULL;
    kz_str c = kz_arena_strdup(a, s);
    if (!c.s)
        return NULL;
    char *w = (char *)c.s;
    for (int32_t i = 0; i < s.len; i++)
        if (w[i] == '\0')
            w[i] = '?';
    return c.s;
}

kz_str kb_adm_msgf(kz_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return KZ_STR_NULL;
    char *buf = kz_arena_alloc(a, (size_t)n + 1);
    if (!buf)
        return KZ_STR_NULL;
    va_start(ap, fmt);
    vsnprintf(buf, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return (kz_str){ buf, n };
}

/* ------------------------------------------------------------ duplicates */

typedef struct kb_adm_name_ref {
    kz_str name;
    int32_t idx;
} kb_adm_name_ref;

static int kb_adm_name_cmp(const void *pa, const void *pb)
{
    const kb_adm_name_ref *a = pa, *b = pb;
    if (a->name.len != b->name.len)
        return a->name.len < b->name.len ? -1 : 1;
    int c = a->name.len > 0 ? memcmp(a->name.s, b->name.s, (size_t)a->name.len) : 0;
    if (c)
        return c;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

int kb_adm_mark_dups(const void *base, int32_t n, size_t stride, size_t name_off, uint8_t *dup)
{
    if (n <= 0)
        return 0;
    kb_adm_name_ref *refs = malloc((size_t)n * sizeof *refs);
    if (!refs)
        return KZ_ENOMEM;
    for (int32_t i = 0; i < n; i++) {
        const kz_str *s = (const kz_str *)((const char *)base + (size_t)i * stride + name_off);
        refs[i] = (kb_adm_name_ref){ *s, i };
        dup[i] = KB_ADM_UNIQUE;
    }
    qsort(refs, (size_t)n, sizeof *refs, kb_adm_name_cmp);
    for (int32_t i = 0; i < n;) {
        int32_t j = i + 1;
        while (j < n && refs[j].name.len == refs[i].name.len &&
               (refs[i].name.len <= 0 || memcmp(refs[j].name.s, refs[i].name.s, (size_t)refs[i].name.len) == 0))
            j++;
        if (j - i > 1 && refs[i].name.len >= 0) /* sorted by index within a run */
            for (int32_t k = i; k < j; k++)
                dup[refs[k].idx] = k == i ? KB_ADM_DUP_FIRST : KB_ADM_DUP_REPEAT;
        i = j;
    }
    free(refs);
    return 0;
}

/* ------------------------------------------------------------ renderings */

int kb_adm_parse_int(kz_str s, int32_t *out)
{
    if (s.len <= 0)
        return -1;
    int32_t i = 0;
    bool neg = false;
    if (s.s[0] == '-' || s.s[0] == '+') {
        neg = s.s[0] == '-';
        i = 1;
        if (s.len == 1)
            return -1;
    }
    int64_t v = 0;
    for (; i < s.len; i++) {
        if (s.s[i] < '0' || s.s[i] > '9')
            return -1;
        v = v * 10 + (s.s[i] - '0');
        if (v > (int64_t)INT32_MAX + 1)
            return -1;
    }
    if (neg)
        v = -v;
    if (v > INT32_MAX || v < INT32_MIN)
        return -1;
    *out = (int32_t)v;
    return 0;
}

const char *kb_adm_resource_type_name(int8_t type)
{
    switch (type) {
    case KB_RES_TOPIC: return "TOPIC";
    case KB_RES_BROKER: return "BROKER";
    case KB_RES_BROKER_LOGGER: return "BROKER_LOGGER";
    default: return "UNKNOWN";
    }
}

const char *kb_adm_resource_str(char *buf, size_t n, int8_t type, kz_str name)
{
    if (name.len < 0)
        snprintf(buf, n, "ConfigResource(type=%s, name='null')", kb_adm_resource_type_name(type));
    else
        snprintf(buf, n, "ConfigResource(type=%s, name='%.*s')", kb_adm_resource_type_name(type),
                 (int)name.len, name.s);
    return buf;
}

const char *kb_adm_set_str(char *buf, size_t n, const char *const *names, size_t count)
{
    size_t at = 0;
    if (n == 0)
        return buf;
    buf[0] = '\0';
    int w = snprintf(buf, n, "Set(");
    at = w > 0 ? (size_t)w : 0;
    for (size_t i = 0; i < count && at < n; i++) {
        w = snprintf(buf + at, n - at, "%s%s", i ? ", " : "", names[i]);
        at += w > 0 ? (size_t)w : 0;
    }
    if (at < n)
        snprintf(buf + at, n - at, ")");
    return buf;
}

const char *kb_adm_op_name(int8_t op)
{
    switch (op) {
    case KB_CFG_OP_SET: return "SET";
    case KB_CFG_OP_DELETE: return "DELETE";
    case KB_CFG_OP_APPEND: return "APPEND";
    case KB_CFG_OP_SUBTRACT: return "SUBTRACT";
    default: return NULL;
    }
}

/* ------------------------------------------------------- incremental merge */

int kb_adm_topic_kind(void *ctx, const char *name, const char **def)
{
    (void)ctx;
    const kb_topic_cfg_def *d = kb_topic_cfg_find(name);
    if (!d)
        return -1;
    if (d->type != KB_CT_LIST)
        return 0;
    *def = d->def ? d->def : "";
    return 1;
}

/* A list value cut at ',' (no trimming: Scala's String.split(",")), empty
 * elements dropped. Elements point into the arena copy of the text. */
typedef struct kb_adm_list {
    const char **v;
    size_t n;
} kb_adm_list;

static int kb_adm_split(kz_arena *a, const char *s, kb_adm_list *out)
{
    size_t len = strlen(s), cap = 1;
    for (size_t i = 0; i < len; i++)
        cap += s[i] == ',';
    char *copy = kz_arena_alloc(a, len + 1);
    out->v = kz_arena_alloc(a, cap * sizeof *out->v);
    out->n = 0;
    if (!copy || !out->v)
        return -1;
    memcpy(copy, s, len + 1);
    char *p = copy;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (*p)
            out->v[out->n++] = p;
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

/* @l->v[0..n) joined with ',' in the arena. */
static const char *kb_adm_join(kz_arena *a, const kb_adm_list *l)
{
    size_t len = 1;
    for (size_t i = 0; i < l->n; i++)
        len += strlen(l->v[i]) + 1;
    char *out = kz_arena_alloc(a, len);
    if (!out)
        return NULL;
    size_t at = 0;
    for (size_t i = 0; i < l->n; i++) {
        size_t k = strlen(l->v[i]);
        if (i)
            out[at++] = ',';
        memcpy(out + at, l->v[i], k);
        at += k;
    }
    out[at] = '\0';
    return out;
}

/* APPEND or SUBTRACT of @value to list @old; the result in *@res. */
static int kb_adm_list_op(kz_arena *a, int8_t op, const char *old, const char *value, const char **res)
{
    kb_adm_list cur, arg;
    if (kb_adm_split(a, old, &cur) != 0 || kb_adm_split(a, value, &arg) != 0)
        return -1;
    kb_adm_list r = { kz_arena_alloc(a, (cur.n + arg.n + 1) * sizeof *r.v), 0 };
    if (!r.v)
        return -1;
    if (op == KB_CFG_OP_APPEND) {
        for (size_t i = 0; i < cur.n; i++)
            r.v[r.n++] = cur.v[i];
        for (size_t i = 0; i < arg.n; i++)
            r.v[r.n++] = arg.v[i];
    } else {
        /* Scala's diff: each element of @arg removes the first remaining
         * occurrence of itself from @cur. */
        bool *gone = kz_arena_alloc(a, cur.n + 1);
        if (!gone)
            return -1;
        for (size_t j = 0; j < arg.n; j++)
            for (size_t i = 0; i < cur.n; i++)
                if (!gone[i] && strcmp(cur.v[i], arg.v[j]) == 0) {
                    gone[i] = true;
                    break;
                }
        for (size_t i = 0; i < cur.n; i++)
            if (!gone[i])
                r.v[r.n++] = cur.v[i];
    }
    return (*res = kb_adm_join(a, &r)) ? 0 : -1;
}

static ptrdiff_t kb_adm_find(const kb_cfg_pair *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0)
            return (ptrdiff_t)i;
    return -1;
}

int16_t kb_adm_apply_ops(kz_arena *a, const kb_cfg_pair *cur, size_t n, const kb_adm_op *ops,
                         size_t nops, kb_adm_kind_fn *kind, void *kctx, kb_cfg_pair **out,
                         size_t *nout, char *msg, size_t msglen)
{
    kb_cfg_pair *v = kz_arena_alloc(a, (n + nops + 1) * sizeof *v);
    if (!v)
        return -1;
    size_t nv = 0;
    for (size_t i = 0; i < n; i++) /* duplicates in @cur: the last one counts, as in Properties */
        if (kb_adm_find(cur + i + 1, n - i - 1, cur[i].name) < 0)
            v[nv++] = cur[i];
    for (size_t k = 0; k < nops; k++) {
        const kb_adm_op *o = &ops[k];
        const char *opname = kb_adm_op_name(o->op);
        if (!opname) {
            snprintf(msg, msglen, "Unknown config operation %d for config key: %s", o->op, o->name);
            return KB_ADM_INVALID_REQUEST;
        }
        if (!o->value && o->op != KB_CFG_OP_DELETE) {
            snprintf(msg, msglen, "Null value not supported for : %s:%s", opname, o->name);
            return KB_ADM_INVALID_REQUEST;
        }
        ptrdiff_t at = kb_adm_find(v, nv, o->name);
        switch (o->op) {
        case KB_CFG_OP_SET:
            if (at >= 0)
                v[at].value = o->value;
            else
                v[nv++] = (kb_cfg_pair){ o->name, o->value };
            break;
        case KB_CFG_OP_DELETE:
            if (at >= 0) {
                memmove(&v[at], &v[at + 1], (nv - (size_t)at - 1) * sizeof *v);
                nv--;
            }
            break;
        default: { /* APPEND, SUBTRACT */
            const char *def = NULL;
            int k2 = kind(kctx, o->name, &def);
            if (k2 < 0) {
                snprintf(msg, msglen, "Unknown topic config name: %s", o->name);
                return KB_ADM_INVALID_CONFIG;
            }
            if (k2 == 0) {
                snprintf(msg, msglen, "Config value %s is not allowed for config key: %s",
                         o->op == KB_CFG_OP_APPEND ? "append" : "subtract", o->name);
                return KB_ADM_INVALID_REQUEST;
            }
            const char *res;
            if (kb_adm_list_op(a, o->op, at >= 0 ? v[at].value : (def ? def : ""), o->value, &res) != 0)
                return -1;
            if (at >= 0)
                v[at].value = res;
            else
                v[nv++] = (kb_cfg_pair){ o->name, res };
            break;
        }
        }
    }
    *out = v;
    *nout = nv;
    return 0;
}
