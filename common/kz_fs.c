/* common/kz_fs.c -- see kz_fs.h.
 *
 * Paths built here (the temp name, the parent directory) live in PATH_MAX stack buffers, so
 * nothing but kz_fs_read_small allocates: zkd writes snapshots from a forked child. */
#include "kz_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* write(2) (@off < 0) or pwrite(2) at @off, until all @len bytes are written. */
static int kz_fs_write_loop(int fd, const uint8_t *b, size_t len, int64_t off)
{
    while (len > 0) {
        ssize_t w = off < 0 ? write(fd, b, len) : pwrite(fd, b, len, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        b += w;
        len -= (size_t)w;
        if (off >= 0)
            off += w;
    }
    return 0;
}

int kz_fs_write_all(int fd, const void *p, size_t len) { return kz_fs_write_loop(fd, p, len, -1); }

int kz_fs_pwrite_all(int fd, const void *p, size_t len, int64_t off)
{
    return off < 0 ? -EINVAL : kz_fs_write_loop(fd, p, len, off);
}

int kz_fs_read_small(const char *path, size_t max, char **out, size_t *len)
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
    if (!S_ISREG(st.st_mode)) {
        rc = -EISDIR;
        goto out;
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > max) {
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

int kz_fs_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) != 0 ? -errno : 0;
    close(fd);
    return rc;
}

int kz_fs_fsync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return kz_fs_fsync_dir(".");
    if (slash == path)
        return kz_fs_fsync_dir("/");
    char dir[PATH_MAX];
    size_t n = (size_t)(slash - path);
    if (n >= sizeof dir)
        return -ENAMETOOLONG;
    memcpy(dir, path, n);
    dir[n] = '\0';
    return kz_fs_fsync_dir(dir);
}

int kz_fs_join(char *buf, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(buf, cap, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int kz_fs_mkdirs(const char *path)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf)
        return -ENAMETOOLONG;
    memcpy(buf, path, len + 1);
    /* each prefix that ends before a '/' (and the whole path), shortest first */
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -errno;
        buf[i] = c;
    }
    struct stat st;
    if (stat(path, &st) != 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int kz_fs_replace(const char *path, kz_fs_fill_fn *fill, void *ctx)
{
    char tmp[PATH_MAX];
    size_t plen = strlen(path);
    int rc = 0, fd = -1;
    if (plen + sizeof ".tmp" > sizeof tmp)
        return -ENAMETOOLONG;
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", sizeof ".tmp");
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        rc = -errno;
        goto out;
    }
    if ((rc = fill(ctx, fd)) != 0)
        goto out;
    if (fsync(fd) != 0) {
        rc = -errno;
        goto out;
    }
    /* close can report a delayed write error (NFS): the file is not known good before it */
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
    rc = kz_fs_fsync_parent(path);
out:
    if (fd >= 0)
        close(fd);
    if (rc)
        unlink(tmp); /* after a failed fsync of the directory the name is gone already */
    return rc;
}

typedef struct kz_fs_bytes {
    const void *p;
    size_t len;
} kz_fs_bytes;

/* kz_fs_fill_fn for kz_fs_write_durable: the whole buffer. */
static int kz_fs_fill_bytes(void *ctx, int fd)
{
    const kz_fs_bytes *b = ctx;
    return kz_fs_write_all(fd, b->p, b->len);
}

int kz_fs_write_durable(const char *path, const void *data, size_t len)
{
    kz_fs_bytes b = { data, len };
    return kz_fs_replace(path, kz_fs_fill_bytes, &b);
}
