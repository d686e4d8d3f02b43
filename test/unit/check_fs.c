/* test/unit/check_fs.c -- file-system helpers (common/kz_fs.c).
 *
 *  01 durable write: exact bytes and mode, replaces a longer file, a stale temp file is
 *     truncated and gone afterwards
 *  02 replace: the fill callback sees an empty file at offset 0; its error, a missing
 *     directory, a directory in the way and a too long name leave the old file and no temp
 *  03 fsync of directories: dir, missing, not a directory; parent of nested, bare, root names
 *  04 mkdir -p: nested creation, existing paths, a file in the way, empty and too long paths
 *  05 write loops: position and offsets, short writes continued until the error (RLIMIT_FSIZE),
 *     bad descriptors
 *  06 join: exact result, the last byte that fits, one too many
 *  07 bounded read: exact bytes and a NUL after them, an empty file, the bound itself and one
 *     byte more, a missing file, a directory; the output untouched on errors */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kz_fs.h"
#include "unit_util.h"

static void mktmp(char *buf) { mktmp_prefix(buf, "kz_fs_"); }

/* "<dir>/<name>" for the test's own use (independent of kz_fs_join). */
static const char *path_of(char *buf, const char *dir, const char *name)
{
    int n = snprintf(buf, PATH_MAX, "%s/%s", dir, name);
    ck_assert(n > 0 && n < PATH_MAX);
    return buf;
}

/* Whole file into @buf (cap @cap); returns its size, -1 when it cannot be opened. */
static ssize_t read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap);
    close(fd);
    return n;
}

static void write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static bool exists(const char *path) { return access(path, F_OK) == 0; }

START_TEST(t01_write_durable)
{
    char dir[64], p[PATH_MAX], tmp[PATH_MAX], buf[256];
    mktmp(dir);
    path_of(p, dir, "meta.properties");
    path_of(tmp, dir, "meta.properties.tmp");
    mode_t old = umask(022);

    ck_assert_int_eq(kz_fs_write_durable(p, "version=0\n", 10), 0);
    ck_assert_int_eq(read_file(p, buf, sizeof buf), 10);
    ck_assert_mem_eq(buf, "version=0\n", 10);
    ck_assert(!exists(tmp));
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0644);

    /* a shorter content replaces the whole file; a longer stale temp file is truncated first */
    write_file(tmp, "stale content longer than the new one");
    ck_assert_int_eq(kz_fs_write_durable(p, "7", 1), 0);
    ck_assert_int_eq(read_file(p, buf, sizeof buf), 1);
    ck_assert_int_eq(buf[0], '7');
    ck_assert(!exists(tmp));

    /* empty content is a valid file */
    ck_assert_int_eq(kz_fs_write_durable(p, "", 0), 0);
    ck_assert_int_eq(read_file(p, buf, sizeof buf), 0);
    umask(old);
    rmtree(dir);
}
END_TEST

typedef struct fill_probe {
    off_t pos;
    off_t size;
    int rc;           /* what the fill returns */
    const char *text; /* written before returning */
    int calls;
} fill_probe;

static int fill_cb(void *ctx, int fd)
{
    fill_probe *f = ctx;
    struct stat st;
    f->calls++;
    f->pos = lseek(fd, 0, SEEK_CUR);
    f->size = fstat(fd, &st) == 0 ? st.st_size : -1;
    if (f->text && write(fd, f->text, strlen(f->text)) != (ssize_t)strlen(f->text))
        return -EIO;
    return f->rc;
}

START_TEST(t02_replace)
{
    char dir[64], p[PATH_MAX], tmp[PATH_MAX], q[PATH_MAX], buf[256];
    mktmp(dir);
    path_of(p, dir, "snapshot.10");
    path_of(tmp, dir, "snapshot.10.tmp");
    write_file(p, "old");
    write_file(tmp, "stale temp");

    fill_probe f = { .text = "new body", .rc = 0 };
    ck_assert_int_eq(kz_fs_replace(p, fill_cb, &f), 0);
    ck_assert_int_eq(f.calls, 1);
    ck_assert_int_eq(f.pos, 0);
    ck_assert_int_eq(f.size, 0); /* the stale temp file was truncated */
    ck_assert_int_eq(read_file(p, buf, sizeof buf), 8);
    ck_assert_mem_eq(buf, "new body", 8);
    ck_assert(!exists(tmp));

    /* the fill's error comes back unchanged; the old file stays, the temp file goes */
    f = (fill_probe){ .text = "partial", .rc = -EPROTO };
    ck_assert_int_eq(kz_fs_replace(p, fill_cb, &f), -EPROTO);
    ck_assert_int_eq(read_file(p, buf, sizeof buf), 8);
    ck_assert_mem_eq(buf, "new body", 8);
    ck_assert(!exists(tmp));

    /* a missing directory: open fails, the fill never runs */
    f = (fill_probe){ .rc = 0 };
    ck_assert_int_eq(kz_fs_replace(path_of(q, dir, "nodir/file"), fill_cb, &f), -ENOENT);
    ck_assert_int_eq(f.calls, 0);

    /* a non-empty directory where the file should go: rename fails, nothing is left behind */
    char sub[PATH_MAX], inner[PATH_MAX], subtmp[PATH_MAX];
    path_of(sub, dir, "taken");
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    write_file(path_of(inner, sub, "x"), "x");
    f = (fill_probe){ .text = "data", .rc = 0 };
    int rc = kz_fs_replace(sub, fill_cb, &f);
    ck_assert(rc == -EISDIR || rc == -ENOTEMPTY || rc == -EEXIST);
    ck_assert(!exists(path_of(subtmp, dir, "taken.tmp")));
    ck_assert(exists(inner));

    /* "<path>.tmp" must fit in PATH_MAX */
    char *longp = malloc(PATH_MAX);
    ck_assert_ptr_nonnull(longp);
    memset(longp, 'a', PATH_MAX - 4);
    longp[PATH_MAX - 4] = '\0'; /* strlen PATH_MAX - 4: with ".tmp" and NUL one byte too many */
    f = (fill_probe){ .rc = 0 };
    ck_assert_int_eq(kz_fs_replace(longp, fill_cb, &f), -ENAMETOOLONG);
    ck_assert_int_eq(f.calls, 0);
    free(longp);

    /* kz_fs_write_durable reports the same errors */
    ck_assert_int_eq(kz_fs_write_durable(path_of(q, dir, "nodir/file"), "x", 1), -ENOENT);
    rmtree(dir);
}
END_TEST

START_TEST(t03_fsync_dir)
{
    char dir[64], p[PATH_MAX];
    mktmp(dir);
    ck_assert_int_eq(kz_fs_fsync_dir(dir), 0);
    ck_assert_int_eq(kz_fs_fsync_dir(path_of(p, dir, "missing")), -ENOENT);
    write_file(path_of(p, dir, "file"), "x");
    ck_assert_int_eq(kz_fs_fsync_dir(p), -ENOTDIR);

    /* the parent is the part before the last '/' */
    ck_assert_int_eq(kz_fs_fsync_parent(path_of(p, dir, "not-yet-created")), 0);
    ck_assert_int_eq(kz_fs_fsync_parent(path_of(p, dir, "missing/child")), -ENOENT);
    ck_assert_int_eq(kz_fs_fsync_parent(path_of(p, dir, "file/child")), -ENOTDIR);
    ck_assert_int_eq(kz_fs_fsync_parent("bare-name"), 0); /* "." */
    ck_assert_int_eq(kz_fs_fsync_parent("/etc"), 0);      /* "/" */

    char *longp = malloc(PATH_MAX + 8);
    ck_assert_ptr_nonnull(longp);
    memset(longp, 'd', PATH_MAX + 2);
    longp[PATH_MAX + 2] = '/';
    longp[PATH_MAX + 3] = 'f';
    longp[PATH_MAX + 4] = '\0';
    ck_assert_int_eq(kz_fs_fsync_parent(longp), -ENAMETOOLONG);
    free(longp);
    rmtree(dir);
}
END_TEST

START_TEST(t04_mkdirs)
{
    char dir[64], p[PATH_MAX], q[PATH_MAX];
    struct stat st;
    mktmp(dir);
    mode_t old = umask(022);
    ck_assert_int_eq(kz_fs_mkdirs(path_of(p, dir, "a/b/c")), 0);
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_int_eq(st.st_mode & 07777, 0755);
    ck_assert_int_eq(stat(path_of(q, dir, "a/b"), &st), 0);
    ck_assert(S_ISDIR(st.st_mode));

    ck_assert_int_eq(kz_fs_mkdirs(p), 0);                           /* exists already */
    ck_assert_int_eq(kz_fs_mkdirs(path_of(p, dir, "a/d/")), 0);     /* trailing slash */
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_int_eq(kz_fs_mkdirs(path_of(p, dir, "a//e")), 0);     /* doubled slash */
    ck_assert_int_eq(stat(p, &st), 0);

    write_file(path_of(q, dir, "a/file"), "x");
    ck_assert_int_eq(kz_fs_mkdirs(q), -ENOTDIR);                    /* the path is a file */
    ck_assert_int_eq(kz_fs_mkdirs(path_of(p, dir, "a/file/x")), -ENOTDIR);
    ck_assert(!exists(p));

    ck_assert_int_eq(kz_fs_mkdirs(""), -ENAMETOOLONG);
    char *longp = malloc(PATH_MAX + 1);
    ck_assert_ptr_nonnull(longp);
    memset(longp, 'z', PATH_MAX);
    longp[PATH_MAX] = '\0';
    ck_assert_int_eq(kz_fs_mkdirs(longp), -ENAMETOOLONG);
    free(longp);
    umask(old);
    rmtree(dir);
}
END_TEST

START_TEST(t05_write_loops)
{
    char dir[64], p[PATH_MAX], buf[64];
    mktmp(dir);
    path_of(p, dir, "data");
    int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(kz_fs_write_all(fd, "0123456789", 10), 0);
    ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), 10);
    ck_assert_int_eq(kz_fs_pwrite_all(fd, "AB", 2, 3), 0);
    ck_assert_int_eq(kz_fs_pwrite_all(fd, "Z", 1, 14), 0); /* past the end: a hole */
    ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), 10);            /* pwrite leaves the position */
    ck_assert_int_eq(kz_fs_pwrite_all(fd, "!", 1, -1), -EINVAL);
    ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), 10);
    ck_assert_int_eq(kz_fs_write_all(fd, "xy", 2), 0);
    ck_assert_int_eq(kz_fs_write_all(fd, NULL, 0), 0);
    ck_assert_int_eq(pread(fd, buf, sizeof buf, 0), 15);
    ck_assert_mem_eq(buf, "012AB56789xy\0\0Z", 15);
    close(fd);

    /* RLIMIT_FSIZE makes the first write short and the next one fail: the loop keeps going
     * after the short write and then reports the error */
    fd = open(p, O_WRONLY | O_TRUNC);
    ck_assert_int_ge(fd, 0);
    struct rlimit old, lim;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 5;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = kz_fs_write_all(fd, "abcdefgh", 8);
    int prc = kz_fs_pwrite_all(fd, "ijkl", 4, 3);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    ck_assert_int_eq(rc, -EFBIG);
    ck_assert_int_eq(prc, -EFBIG);
    close(fd);
    ck_assert_int_eq(read_file(p, buf, sizeof buf), 5);
    ck_assert_mem_eq(buf, "abcij", 5);

    ck_assert_int_eq(kz_fs_write_all(-1, "x", 1), -EBADF);
    ck_assert_int_eq(kz_fs_pwrite_all(-1, "x", 1, 0), -EBADF);
    int pfd[2];
    ck_assert_int_eq(pipe(pfd), 0);
    ck_assert_int_eq(kz_fs_pwrite_all(pfd[1], "x", 1, 0), -ESPIPE);
    ck_assert_int_eq(kz_fs_write_all(pfd[1], "pipe", 4), 0);
    ck_assert_int_eq(read(pfd[0], buf, sizeof buf), 4);
    ck_assert_mem_eq(buf, "pipe", 4);
    close(pfd[0]);
    close(pfd[1]);
    rmtree(dir);
}
END_TEST

START_TEST(t06_join)
{
    char buf[16];
    ck_assert_int_eq(kz_fs_join(buf, sizeof buf, "/d", "name"), 0);
    ck_assert_str_eq(buf, "/d/name");
    ck_assert_int_eq(kz_fs_join(buf, sizeof buf, "/dir/xx", "1234567"), 0); /* 15 bytes + NUL */
    ck_assert_str_eq(buf, "/dir/xx/1234567");
    ck_assert_int_eq(kz_fs_join(buf, sizeof buf, "/dir/xx", "12345678"), -ENAMETOOLONG);
    ck_assert_int_eq(kz_fs_join(buf, sizeof buf, "", "x"), 0);
    ck_assert_str_eq(buf, "/x");
}
END_TEST

START_TEST(t07_read_small)
{
    char dir[64], p[PATH_MAX];
    mktmp(dir);
    path_of(p, dir, "ckpt");
    write_file(p, "0\n2\nab");
    char *buf = NULL;
    size_t len = 99;
    ck_assert_int_eq(kz_fs_read_small(p, 1024, &buf, &len), 0);
    ck_assert_uint_eq(len, 6);
    ck_assert_mem_eq(buf, "0\n2\nab\0", 7);
    free(buf);
    /* exactly the bound passes; one byte less is -EFBIG */
    write_file(p, "0123456789");
    buf = NULL;
    ck_assert_int_eq(kz_fs_read_small(p, 10, &buf, &len), 0);
    ck_assert_uint_eq(len, 10);
    ck_assert_str_eq(buf, "0123456789");
    free(buf);
    char *keep = (char *)"untouched";
    buf = keep;
    len = 7;
    ck_assert_int_eq(kz_fs_read_small(p, 9, &buf, &len), -EFBIG);
    ck_assert_ptr_eq(buf, keep);
    ck_assert_uint_eq(len, 7);
    /* empty: a buffer holding only the NUL */
    write_file(p, "");
    buf = NULL;
    ck_assert_int_eq(kz_fs_read_small(p, 0, &buf, &len), 0);
    ck_assert_uint_eq(len, 0);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(buf[0], '\0');
    free(buf);
    /* missing, a directory */
    buf = keep;
    len = 7;
    ck_assert_int_eq(kz_fs_read_small(path_of(p, dir, "missing"), 1024, &buf, &len), -ENOENT);
    ck_assert_int_eq(kz_fs_read_small(dir, 1024, &buf, &len), -EISDIR);
    ck_assert_ptr_eq(buf, keep);
    ck_assert_uint_eq(len, 7);
    rmtree(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fs");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, t01_write_durable);
    tcase_add_test(tc, t02_replace);
    tcase_add_test(tc, t03_fsync_dir);
    tcase_add_test(tc, t04_mkdirs);
    tcase_add_test(tc, t05_write_loops);
    tcase_add_test(tc, t06_join);
    tcase_add_test(tc, t07_read_small);
    suite_add_tcase(s, tc);
    return ut_run(s);
}
