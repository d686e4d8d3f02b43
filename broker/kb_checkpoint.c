/* broker/kb_checkpoint.c -- offset checkpoint files and durable file replacement (format and
 * reading rules in kb_checkpoint.h).
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

#define KB_CKPT_MAX_FILE (256u << 20) /* far above any real checkpoint */
#define KB_CKPT_MAX_ITEM 512          /* a topic name is at most 249 bytes */

/* ------------------------------------------------------------ durable files */

int kb_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) != 0 ? -errno : 0;
    close(fd);
    return rc;
}

int kb_fsync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return kb_fsync_dir(".");
    if (slash == path)
        return kb_fsync_dir("/");
    size_t n = (size_t)(slash - path);
    char *dir = malloc(n + 1);
    if (!dir)
        return -ENOMEM;
    memcpy(dir, path, n);
    dir[n] = '\0';
    int rc = kb_fsync_dir(dir);
    free(dir);
    return rc;
}

/* Writes all of @len bytes at the current position, retrying short writes and EINTR. */
static int kb_write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int kb_file_write_durable(const char *path, const void *data, size_t len)
{
    int rc = 0, fd = -1;
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp)
        return -ENOMEM;
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        rc = -errno;
        goto out;
    }
    if ((rc = kb_write_all(fd, data, len)) != 0)
        goto out;
    if (fsync(fd) != 0) {
        rc = -errno;
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = -errno;
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        rc = -errno;
        goto out;
    }
    rc = kb_fsync_parent(path);
out:
    if (fd >= 0)
        close(fd);
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc;
}

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
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            kb_ckpt_entry *nv = realloc(v, ncap * sizeof *nv);
            if (!nv) {
                rc = -ENOMEM;
                goto out;
            }
            v = nv;
            cap = ncap;
        }
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
    int rc = w.err ? -ENOMEM : kb_file_write_durable(path, w.base, w.len);
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
