/* broker/kb_checkpoint.c -- offset checkpoint files (format and reading rules in kb_checkpoint.h).
 *
 * The reader takes the whole file in memory (a checkpoint holds one short line per partition,
 * bounded below by KB_CKPT_MAX_FILE) and walks it line by line with explicit bounds; numbers go
 * through the strict decimal parsers of kz_config, never sscanf. */
#include "kb_checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kz_buf.h"
#include "kz_config.h"
#include "kz_fs.h"
#include "kz_vec.h"

#define KB_CKPT_MAX_FILE (256u << 20) /* far above any real checkpoint */
#define KB_CKPT_MAX_ITEM 512          /* a topic name is at most 249 bytes */

/* ---------------------------------------------------------------- reading */

/* Reads the whole regular file @path into a malloc'd buffer (NUL-terminated). */
static int kb_slurp(const char *path, char **out, size_t *len)
{
    int rc = 0;
    char *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        goto out;
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > KB_CKPT_MAX_FILE) {
        rc = -EFBIG;
        goto out;
    }
    size_t cap = (size_t)st.st_size, n = 0;
    if (!(buf = malloc(cap + 1))) {
        rc = -ENOMEM;
        goto out;
    }
    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            goto out;
        }
        if (r == 0)
            break; /* shrank meanwhile: take what is there */
        n += (size_t)r;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return rc;
}

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

/* Parses a whole line as one int (Java String.toInt: no blanks allowed). */
static bool kb_line_i64(const char *s, size_t n, int64_t *v)
{
    char tmp[32];
    return kb_copy_item(tmp, sizeof tmp, s, n) && kz_cfg_parse_i64(tmp, v) == 0;
}

/* Splits an entry line like Java's line.split("\\s+"): every run of blanks separates two items
 * (so a leading run yields an empty first item) and trailing empty items are dropped. Exactly
 * three items, the first non-empty, are accepted. */
static int kb_parse_entry(const char *s, size_t n, kb_ckpt_entry *e)
{
    const char *item[3] = { NULL, NULL, NULL };
    size_t ilen[3] = { 0, 0, 0 };
    size_t k = 0, last_nonempty = 0, start = 0, i = 0;
    bool any = false;
    for (;;) {
        while (i < n && !kb_is_ws(s[i]))
            i++;
        if (k < 3) {
            item[k] = s + start;
            ilen[k] = i - start;
        }
        if (i > start) {
            last_nonempty = k;
            any = true;
        }
        k++;
        if (i == n)
            break;
        while (i < n && kb_is_ws(s[i]))
            i++;
        start = i;
    }
    if (!any || last_nonempty != 2 || ilen[0] == 0 || ilen[0] > KB_CKPT_MAX_ITEM)
        return -EBADMSG;
    char num[32];
    int32_t part;
    int64_t off;
    if (!kb_copy_item(num, sizeof num, item[1], ilen[1]) || kz_cfg_parse_i32(num, &part) != 0)
        return -EBADMSG;
    if (!kb_copy_item(num, sizeof num, item[2], ilen[2]) || kz_cfg_parse_i64(num, &off) != 0)
        return -EBADMSG;
    if (!(e->topic = strndup(item[0], ilen[0])))
        return -ENOMEM;
    e->partition = part;
    e->offset = off;
    return 0;
}

int kb_checkpoint_read(const char *path, kb_ckpt_entry **out, size_t *n)
{
    char *text = NULL;
    size_t len = 0, cnt = 0, cap = 0;
    kb_ckpt_entry *v = NULL;
    *out = NULL;
    *n = 0;
    int rc = kb_slurp(path, &text, &len);
    if (rc)
        return rc;
    kb_lines l = { text, text + len };
    const char *s;
    size_t sl;
    int64_t version, expect;
    if (!kb_lines_next(&l, &s, &sl))
        goto out; /* empty file: no entries */
    if (!kb_line_i64(s, sl, &version) || version != 0) {
        rc = -EBADMSG;
        goto out;
    }
    if (!kb_lines_next(&l, &s, &sl))
        goto out;
    if (!kb_line_i64(s, sl, &expect) || expect < 0) {
        rc = -EBADMSG;
        goto out;
    }
    while (kb_lines_next(&l, &s, &sl)) {
        if ((rc = KZ_VEC_RESERVE(v, cap, cnt + 1, 16)) != 0)
            goto out;
        if ((rc = kb_parse_entry(s, sl, &v[cnt])) != 0)
            goto out;
        cnt++;
    }
    if ((int64_t)cnt != expect) {
        rc = -EBADMSG;
        goto out;
    }
    *out = v;
    *n = cnt;
    v = NULL;
    cnt = 0;
out:
    kb_checkpoint_free(v, cnt);
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
