/* common/kz_fs.h -- file-system helpers shared by zkd and kafkad: crash-safe replacement of a
 * whole file, bounded reading of a whole small file, fsync of directories, mkdir -p, path
 * joining, and write loops.
 *
 * Durable replacement (DESIGN.md "Durability rules"): every file that is not append-only
 * (snapshots, epoch files, offset checkpoints, meta.properties) is written to "<path>.tmp",
 * fsync()ed, closed, rename()d over <path>, and then the directory holding <path> is fsync()ed,
 * so that a crash leaves the old file or the new one, never a mix, and the new name survives.
 * On any failure the temp file is removed and <path> is left as it was (unless the failure is
 * the final fsync of the directory: the rename has happened then).
 * The temp name is fixed, so two writers of the same path must not run at once; readers that
 * list a directory should ignore (or remove) "*.tmp" left by a crash.
 * Errors are returned as -errno, never through errno; nothing here logs.
 * Locality: plain functions, any thread; apart from the buffer kz_fs_read_small returns they
 * allocate nothing (what a fill callback does aside), so zkd may call them in a forked child. */
#ifndef KZ_FS_H
#define KZ_FS_H

#include <stddef.h>
#include <stdint.h>

/* Writes all @len bytes at the current position of @fd, retrying short writes and EINTR.
 * Returns 0 or -errno (the bytes written before the error stay written). */
int kz_fs_write_all(int fd, const void *p, size_t len);

/* As kz_fs_write_all, at file offset @off with pwrite (the file position does not move);
 * -EINVAL for a negative @off. */
int kz_fs_pwrite_all(int fd, const void *p, size_t len, int64_t off);

/* Reads the whole regular file @path (at most @max bytes) into a malloc'd buffer *@out of
 * *@len bytes plus a NUL (so text can be walked as a C string); the caller frees it. For the
 * small files read at startup (checkpoints, epoch files), which are then parsed in memory.
 * A file that shrinks while read gives what was there. Returns 0, -ENOENT when it does not
 * exist, -EISDIR when it is not a regular file, -EFBIG when it holds more than @max bytes,
 * -ENOMEM, or another -errno (*@out untouched on any error). */
int kz_fs_read_small(const char *path, size_t max, char **out, size_t *len);

/* fsync() of directory @dir, so that names created, renamed or removed in it survive a crash.
 * Returns 0 or -errno (-ENOTDIR when @dir is not a directory). */
int kz_fs_fsync_dir(const char *dir);

/* fsync() of the directory that holds @path: the part before the last '/', "/" for "/name",
 * "." for a bare name. Returns 0 or -errno. */
int kz_fs_fsync_parent(const char *path);

/* "<dir>/<name>" into @buf of @cap bytes. Returns 0, or -ENAMETOOLONG when it does not fit. */
int kz_fs_join(char *buf, size_t cap, const char *dir, const char *name);

/* mkdir -p @path with mode 0755: creates every missing component, accepts components that
 * exist. Returns 0 when @path is a directory afterwards; -ENOTDIR when it (or a component) is
 * something else; -ENAMETOOLONG for "" or a path of PATH_MAX bytes or more; other -errno. */
int kz_fs_mkdirs(const char *path);

/* Writes the content of a temp file for kz_fs_replace: @fd is open for writing at offset 0 of
 * an empty file. Returns 0 or a negative code, which kz_fs_replace returns unchanged. */
typedef int kz_fs_fill_fn(void *ctx, int fd);

/* Replaces @path durably (see the file comment) with what @fill writes into the temp file,
 * created with mode 0644 (less the umask). Returns 0, @fill's error, or -errno (-ENAMETOOLONG when
 * "<path>.tmp" does not fit in PATH_MAX). */
int kz_fs_replace(const char *path, kz_fs_fill_fn *fill, void *ctx);

/* kz_fs_replace with @len bytes of @data as the new content. */
int kz_fs_write_durable(const char *path, const void *data, size_t len);

#endif
