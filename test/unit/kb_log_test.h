/* test/unit/kb_log_test.h -- helpers shared by the log storage suites (check_log_index,
 * check_log_segment, check_log, check_log_epoch, check_log_mgr, check_epoch_cache): a writer
 * of valid RecordBatch v2 batches (uncompressed records, CRC-32C computed here with
 * kz_crc32c), file helpers and a batch walker that is independent of the code under test, and
 * a small log configuration. Header-only: each suite is its own program. */
#ifndef KB_LOG_TEST_H
#define KB_LOG_TEST_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kb_log_segment.h"
#include "kz_buf.h"
#include "kz_crc32c.h"
#include "kz_wire.h"
#include "unit_util.h"

#define TB_UNUSED __attribute__((unused))

/* Appends to @w one v2 batch: base offset @base, @n records with timestamps @ts0 + i * @dts,
 * null keys, values of @vlen bytes filled with @fill + i, producer fields -1, epoch -1,
 * attributes @attr (0: uncompressed CreateTime). Returns its size. */
static TB_UNUSED size_t tb_batch_attr(kz_wr *w, int64_t base, int n, int64_t ts0, int64_t dts, size_t vlen,
                                      uint8_t fill, int16_t attr)
{
    size_t start = w->len;
    int64_t max_ts = ts0;
    for (int i = 0; i < n; i++)
        if (ts0 + i * dts > max_ts)
            max_ts = ts0 + i * dts;
    kz_wr_i64(w, base);
    kz_wr_i32(w, 0);  /* batchLength, patched */
    kz_wr_i32(w, -1); /* partitionLeaderEpoch */
    kz_wr_u8(w, 2);
    kz_wr_i32(w, 0);  /* crc, patched */
    kz_wr_i16(w, attr);
    kz_wr_i32(w, n - 1);
    kz_wr_i64(w, ts0);
    kz_wr_i64(w, max_ts);
    kz_wr_i64(w, -1);
    kz_wr_i16(w, -1);
    kz_wr_i32(w, -1);
    kz_wr_i32(w, n);
    for (int i = 0; i < n; i++) {
        kz_wr r = KZ_WR_INIT;
        kz_wr_u8(&r, 0);
        kz_wr_varlong(&r, i * dts);
        kz_wr_varint(&r, i);
        kz_wr_varint(&r, -1);
        kz_wr_varint(&r, (int32_t)vlen);
        for (size_t k = 0; k < vlen; k++)
            kz_wr_u8(&r, (uint8_t)(fill + i));
        kz_wr_varint(&r, 0);
        ck_assert_int_eq(r.err, 0);
        kz_wr_varint(w, (int32_t)r.len);
        kz_wr_bytes(w, r.base, r.len);
        kz_wr_free(&r);
    }
    ck_assert_int_eq(w->err, 0);
    size_t size = w->len - start;
    kz_wr_patch_i32(w, start + 8, (int32_t)(size - 12));
    uint32_t crc = kz_crc32c(0, w->base + start + 21, size - 21);
    kz_wr_patch_i32(w, start + 17, (int32_t)crc);
    return size;
}

static TB_UNUSED size_t tb_batch(kz_wr *w, int64_t base, int n, int64_t ts0, int64_t dts, size_t vlen, uint8_t fill)
{
    return tb_batch_attr(w, base, n, ts0, dts, vlen, fill, 0);
}

/* Big-endian loads of test data, independent of kz_wire. */
static TB_UNUSED int64_t tb_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return (int64_t)v;
}
static TB_UNUSED int32_t tb_be32(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

/* Whole file into a malloc'd buffer (NULL when missing); *@n its size. */
static TB_UNUSED uint8_t *tb_slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *n = 0;
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)sz + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(fread(b, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    b[sz] = 0;
    *n = (size_t)sz;
    return b;
}

static TB_UNUSED void tb_spit(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(n ? fwrite(p, 1, n, f) : 0, n);
    ck_assert_int_eq(fclose(f), 0);
}

static TB_UNUSED int64_t tb_fsize(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static TB_UNUSED bool tb_exists(const char *path) { return access(path, F_OK) == 0; }

/* "<dir>/<name>" in a static-free caller buffer. */
static TB_UNUSED const char *tb_path(char *buf, const char *dir, const char *name)
{
    int n = snprintf(buf, PATH_MAX, "%s/%s", dir, name);
    ck_assert(n > 0 && n < PATH_MAX);
    return buf;
}

/* "<dir>/<20-digit base><suffix>" */
static TB_UNUSED const char *tb_seg(char *buf, const char *dir, int64_t base, const char *suffix)
{
    int n = snprintf(buf, PATH_MAX, "%s/%020lld%s", dir, (long long)base, suffix);
    ck_assert(n > 0 && n < PATH_MAX);
    return buf;
}

/* Reads @n bytes at @off of fd @fd. */
static TB_UNUSED void tb_pread(int fd, void *buf, size_t n, int64_t off)
{
    ck_assert_int_eq(pread(fd, buf, n, off), (ssize_t)n);
}

/* The defaults with small files: 1 MiB segments, 1 KiB indexes with an entry every 64 bytes,
 * deletion without delay, no time retention. */
static TB_UNUSED kb_log_cfg tb_log_cfg(void)
{
    kb_log_cfg c;
    kb_log_cfg_defaults(&c);
    c.segment_bytes = 1 << 20;
    c.index_interval_bytes = 64;
    c.segment_index_bytes = 1024;
    c.file_delete_delay_ms = 0;
    c.retention_ms = -1;
    return c;
}

#endif
