/* broker/kb_checkpoint.c -- offset checkpoint files (format and reading rules in kb_checkpoint.h).
 *
 * The reader takes the whole file in memory (kz_fs_read_small; a checkpoint holds one short line
 * per partition, bounded below by KB_CKPT_MAX_FILE) and walks it line by line with explicit
 * bounds (kb_checkpoint_parse, shared with the leader epoch file); numbers go through the strict
 * decimal parsers of kz_config, never sscanf. */
#include "kb_checkpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kz_buf.h"
#include "kz_config.h"
#include "kz_fs.h"
#include "kz_vec.h"

#define KB_CKPT_MAX_FILE (256u << 20) /* far above any real checkpoint */
#define KB_CKPT_MAX_ITEM 512          /* a topic name is at most 249 bytes */

/* ---------------------------------------------------------------- reading */

/* A line cursor over the file text, as BufferedReader.readLine: lines end at "\n", "\r" or
 * "\r\n"; the last line may lack a terminator. */
typedef struct kb_lines {
    const char *p, *end;
} kb_lines;

/* The next line as [*s, *s + *n), or false at the end of the text. */
static bool kb_lines_next(kb_lines *l, const char **s, size_t *n)
{
    if (l->p >= l->end)
        return false;
    const char *q = l->p;
    while (q < l->end && *q != '\n' && *q != '\r')
        q++;
    *s = l->p;
    *n = (size_t)(q - l->p);
    if (q < l->end)
        q += (*q == '\r' && q + 1 < l->end && q[1] == '\n') ? 2 : 1;
    l->p = q;
    return true;
}

/* Copies [s, s+n) into @buf (cap @cap) as a C string; false when it does not fit. */
static bool kb_copy_item(char *buf, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return true;
}

static bool kb_is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

bool kb_checkpoint_num(const char *s, size_t n, int64_t *v)
{
    char tmp[32];
    return kb_copy_item(tmp, sizeof tmp, s, n) && kz_cfg_parse_i64(tmp, v) == 0;
}

/* Splits line [s, s+n) into @it as Java's line.split("\\s+") (see kb_ckpt_items): every run of
 * blanks separates two items, so a leading run yields an empty first item; the items up to the
 * last non-empty one count. */
static void kb_split_line(const char *s, size_t n, kb_ckpt_items *it)
{
    size_t k = 0, i = 0;
    it->n = 0;
    for (;;) {
        size_t start = i;
        while (i < n && !kb_is_ws(s[i]))
            i++;
        if (k < KB_CKPT_MAX_ITEMS) {
            it->s[k] = s + start;
            it->len[k] = i - start;
        }
        k++;
        if (i > start)
            it->n = k;
        if (i == n)
            break;
        while (i < n && kb_is_ws(s[i]))
            i++;
    }
}

int kb_checkpoint_parse(const char *text, size_t len, kb_ckpt_line_fn *fn, void *ctx)
{
    kb_lines l = { text, text + len };
    const char *s;
    size_t sl;
    int64_t version, expect, cnt = 0;
    if (!kb_lines_next(&l, &s, &sl))
        return 0; /* empty file: no entries */
    if (!kb_checkpoint_num(s, sl, &version) || version != 0)
        return -EBADMSG;
    if (!kb_lines_next(&l, &s, &sl))
        return 0;
    if (!kb_checkpoint_num(s, sl, &expect) || expect < 0 || expect > INT32_MAX)
        return -EBADMSG;
    while (kb_lines_next(&l, &s, &sl)) {
        kb_ckpt_items it;
        kb_split_line(s, sl, &it);
        int rc = fn(ctx, &it);
        if (rc)
            return rc;
        cnt++;
    }
    return cnt == expect ? 0 : -EBADMSG;
}

/* An offset checkpoint entry: exactly three items, the first (the topic) non-empty. */
static int kb_parse_entry(const kb_ckpt_items *it, kb_ckpt_entry *e)
{
    if (it->n != 3 || it->len[0] == 0 || it->len[0] > KB_CKPT_MAX_ITEM)
        return -EBADMSG;
    char num[32];
    int32_t part;
    int64_t off;
    if (!kb_copy_item(num, sizeof num, it->s[1], it->len[1]) || kz_cfg_parse_i32(num, &part) != 0)
        return -EBADMSG;
    if (!kb_checkpoint_num(it->s[2], it->len[2], &off))
        return -EBADMSG;
    if (!(e->topic = strndup(it->s[0], it->len[0])))
        return -ENOMEM;
    e->partition = part;
    e->offset = off;
    return 0;
}

/* The entries read so far. */
typedef struct kb_ckpt_acc {
    kb_ckpt_entry *v;
    size_t n, cap;
} kb_ckpt_acc;

/* kb_ckpt_line_fn of kb_checkpoint_read. */
static int kb_ckpt_take(void *ctx, const kb_ckpt_items *it)
{
    kb_ckpt_acc *a = ctx;
    int rc = KZ_VEC_RESERVE(a->v, a->cap, a->n + 1, 16);
    if (rc == 0 && (rc = kb_parse_entry(it, &a->v[a->n])) == 0)
        a->n++;
    return rc;
}

int kb_checkpoint_read(const char *path, kb_ckpt_entry **out, size_t *n)
{
    char *text = NULL;
    size_t len = 0;
    kb_ckpt_acc acc = { NULL, 0, 0 };
    *out = NULL;
    *n = 0;
    int rc = kz_fs_read_small(path, KB_CKPT_MAX_FILE, &text, &len);
    if (rc)
        return rc;
    if ((rc = kb_checkpoint_parse(text, len, kb_ckpt_take, &acc)) == 0) {
        *out = acc.v;
        *n = acc.n;
        acc.v = NULL;
        acc.n = 0;
    }
    kb_checkpoint_free(acc.v, acc.n);
    free(text);
    return rc;
}

void kb_checkpoint_free(kb_ckpt_entry *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i].topic);
    free(v);
}

/* ---------------------------------------------------------------- writing */

int kb_checkpoint_write(const char *path, const kb_ckpt_entry *v, size_t n)
{
    kz_wr w = KZ_WR_INIT;
    char line[64];
    int k = snprintf(line, sizeof line, "0\n%zu\n", n);
    kz_wr_bytes(&w, line, (size_t)k);
    for (size_t i = 0; i < n; i++) {
        kz_wr_bytes(&w, v[i].topic, strlen(v[i].topic));
        k = snprintf(line, sizeof line, " %" PRId32 " %" PRId64 "\n", v[i].partition, v[i].offset);
        kz_wr_bytes(&w, line, (size_t)k);
    }
    int rc = w.err ? -ENOMEM : kz_fs_write_durable(path, w.base, w.len);
    kz_wr_free(&w);
    return rc;
}

/* ------------------------------------------------------------------ lookup */

static int kb_ckpt_cmp_key(const char *ta, int32_t pa, const char *tb, int32_t pb)
{
    int c = strcmp(ta, tb);
    if (c)
        return c;
    return pa < pb ? -1 : pa > pb;
}

static int kb_ckpt_cmp(const void *a, const void *b)
{
    const kb_ckpt_entry *x = a, *y = b;
    return kb_ckpt_cmp_key(x->topic, x->partition, y->topic, y->partition);
}

void kb_checkpoint_sort(kb_ckpt_entry *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof *v, kb_ckpt_cmp);
}

int64_t kb_checkpoint_find(const kb_ckpt_entry *v, size_t n, const char *topic, int32_t partition, int64_t dflt)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = kb_ckpt_cmp_key(v[mid].topic, v[mid].partition, topic, partition);
        if (c == 0)
            return v[mid].offset;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return dflt;
}
