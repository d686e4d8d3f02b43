/* test/fuzz/fuzz_logrecover.c -- libFuzzer harness for opening a partition log made of the
 * input bytes (broker/kb_log.c, kb_log_segment.c, kb_log_index.c), in a scratch directory
 * under $TMPDIR.
 *
 * Byte 0 holds options, the rest is the payload:
 *   bit 0     repair the CRC of every v2 batch found by walking the layout, so that mutations
 *             reach the offset, size and index rules instead of stopping at the checksum
 *   bit 1     payload = u16 n | n bytes of 00000000000000000000.index | the .log; else the
 *             whole payload is the .log (no index files: they are rebuilt)
 *   bit 2     open as after a clean shutdown (trusting the files) instead of recovering
 *   bits 3-4  index.interval.bytes: 0, 64, 100 or 4096
 *
 * Recovery (bit 2 clear) must give exactly what an independent walk of the input accepts:
 * the longest prefix of whole entries whose CRC matches (CRC-32C of attributes..end for
 * magic 2, CRC-32 of magic..end for magic 0/1) with offsets that never go back and fit a
 * relative offset; the file cut there and byte-identical to the input; LEO after the last
 * entry; every offset-index entry naming an entry start and that entry's last offset; a read
 * at each entry's last offset landing on it. Both modes then append one batch at the LEO,
 * close, reopen clean and find it there. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "fuzz_common.h"
#include "kb_log.h"
#include "kz_batch.h"
#include "kz_buf.h"
#include "kz_crc32c.h"
#include "kz_log.h"
#include "kz_wire.h"

#define FZ_MAX_CHECKED 64 /* entries whose reads are checked one by one */

static char fz_dir[512];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_cleanup(void) { fz_rm_rf(fz_dir); }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    kz_log_set_level(KZ_LOG_FATAL); /* recovery reports cuts at WARN */
    fz_make_tmpdir(fz_dir, sizeof fz_dir, "fuzz-logrecover");
    atexit(fz_cleanup);
    return 0;
}

typedef struct fz_ent {
    size_t pos, size;
    int64_t last;
} fz_ent;

/* The oracle: entries of the longest valid prefix of @p (rules in the file comment). */
static size_t fz_oracle(const uint8_t *p, size_t len, fz_ent *out, size_t cap, size_t *nout, int64_t *next_out)
{
    size_t pos = 0, n = 0;
    int64_t next = 0;
    while (pos < len) {
        kz_batch_hdr h;
        if (kz_batch_peek(p + pos, len - pos, 0, &h) != KZ_BATCH_OK)
            break;
        size_t sz = kz_batch_size(&h);
        int64_t first = h.base_offset, last;
        if (h.magic == 2) {
            if (!kz_batch_crc_ok(p + pos, &h))
                break;
            last = kz_batch_last_offset(&h);
        } else {
            if ((uint32_t)crc32(0L, p + pos + 16, (uInt)(sz - 16)) != kz_load_be32(p + pos + 12))
                break;
            last = first;
        }
        if (first < next || last > INT32_MAX)
            break;
        if (n < cap)
            out[n] = (fz_ent){ pos, sz, last };
        n++;
        next = last + 1;
        pos += sz;
    }
    *nout = n;
    *next_out = next;
    return pos;
}

/* Gives every v2 batch found by walking sizes its right CRC. */
static void fz_fix_crcs(uint8_t *p, size_t len)
{
    size_t pos = 0;
    while (pos + KZ_BATCH_HDR_SIZE <= len) {
        kz_batch_hdr h;
        kz_batch_rc r = kz_batch_peek(p + pos, len - pos, 0, &h);
        if (r != KZ_BATCH_OK || h.magic != 2)
            break;
        size_t sz = kz_batch_size(&h);
        kz_store_be32(p + pos + 17, kz_crc32c(0, p + pos + KZ_BATCH_CRC_START, sz - KZ_BATCH_CRC_START));
        pos += sz;
    }
}

static uint8_t *fz_slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    FZ_CHECK(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)sz + 1);
    FZ_CHECK(b != NULL, "out of memory");
    FZ_CHECK(fread(b, 1, (size_t)sz, f) == (size_t)sz, "short read of %s", path);
    fclose(f);
    *n = (size_t)sz;
    return b;
}

/* One small valid batch of @n records. */
static void fz_batch(kz_wr *w, int n)
{
    size_t start = w->len;
    kz_wr_i64(w, 0);
    kz_wr_i32(w, 0);
    kz_wr_i32(w, -1);
    kz_wr_u8(w, 2);
    kz_wr_i32(w, 0);
    kz_wr_i16(w, 0);
    kz_wr_i32(w, n - 1);
    kz_wr_i64(w, 1000);
    kz_wr_i64(w, 1000);
    kz_wr_i64(w, -1);
    kz_wr_i16(w, -1);
    kz_wr_i32(w, -1);
    kz_wr_i32(w, n);
    for (int i = 0; i < n; i++) {
        static const uint8_t rec[] = { 18, 0, 0, 0, 1, 6, 'f', 'u', 'z', 0 };
        kz_wr_bytes(w, rec, sizeof rec);
        w->base[w->len - 7] = (uint8_t)(2 * i); /* offsetDelta, zigzag */
    }
    FZ_CHECK(!w->err, "out of memory");
    size_t sz = w->len - start;
    kz_store_be32(w->base + start + 8, (uint32_t)(sz - 12));
    kz_store_be32(w->base + start + 17, kz_crc32c(0, w->base + start + 21, sz - 21));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t opt = data[0];
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    const uint8_t *idx = NULL;
    size_t idx_len = 0;
    if (opt & 0x02) {
        if (n < 2)
            return 0;
        idx_len = kz_load_be16(p);
        if (idx_len > n - 2)
            idx_len = n - 2;
        idx = p + 2;
        p += 2 + idx_len;
        n -= 2 + idx_len;
    }
    bool clean = opt & 0x04;
    static const int32_t intervals[4] = { 0, 64, 100, 4096 };
    uint8_t *logb = malloc(n ? n : 1);
    FZ_CHECK(logb != NULL, "out of memory");
    if (n)
        memcpy(logb, p, n);
    if (opt & 0x01)
        fz_fix_crcs(logb, n);

    char pd[600], path[700];
    FZ_CHECK((size_t)snprintf(pd, sizeof pd, "%s/t-0", fz_dir) < sizeof pd, "path");
    fz_rm_rf(pd);
    FZ_CHECK(mkdir(pd, 0755) == 0, "mkdir %s", pd);
    snprintf(path, sizeof path, "%s/00000000000000000000.log", pd);
    fz_write_file(path, logb, n);
    if (idx) {
        snprintf(path, sizeof path, "%s/00000000000000000000.index", pd);
        fz_write_file(path, idx, idx_len);
    }

    kb_log_cfg cfg;
    kb_log_cfg_defaults(&cfg);
    cfg.segment_bytes = 1 << 20;
    cfg.segment_index_bytes = 4096;
    cfg.index_interval_bytes = intervals[(opt >> 3) & 3];
    cfg.file_delete_delay_ms = 0;
    kb_log *log;
    int rc = kb_log_open(&log, fz_dir, "t", 0, &cfg, 0, 0, clean);
    FZ_CHECK(rc == 0, "open failed: %s", kb_log_strerror(rc));

    size_t got_len;
    snprintf(path, sizeof path, "%s/00000000000000000000.log", pd);
    uint8_t *got = fz_slurp(path, &got_len);
    FZ_CHECK((int64_t)got_len == kb_log_size(log), "file %zu bytes, log says %lld", got_len,
             (long long)kb_log_size(log));
    FZ_CHECK(got_len <= n && memcmp(got, logb, got_len) == 0, "the kept bytes differ from the input");

    if (!clean) {
        fz_ent ents[FZ_MAX_CHECKED];
        size_t nent;
        int64_t next;
        size_t valid = fz_oracle(logb, n, ents, FZ_MAX_CHECKED, &nent, &next);
        FZ_CHECK(got_len == valid, "recovered %zu bytes, the valid prefix is %zu", got_len, valid);
        FZ_CHECK(kb_log_end_offset(log) == next, "LEO %lld, expected %lld", (long long)kb_log_end_offset(log),
                 (long long)next);
        const kb_index *oi = kb_segment_offset_index(kb_log_segment_at(log, 0));
        int64_t prev = -1;
        for (size_t i = 0; i < kb_index_entries(oi); i++) {
            int64_t key;
            int32_t pos;
            kb_oindex_entry(oi, i, &key, &pos);
            FZ_CHECK(key > prev, "index keys do not increase");
            prev = key;
            bool found = false;
            for (size_t k = 0; k < nent && k < FZ_MAX_CHECKED; k++)
                if (ents[k].pos == (size_t)pos)
                    found = ents[k].last == key;
            FZ_CHECK(found || nent > FZ_MAX_CHECKED, "index entry (%lld, %d) names no entry", (long long)key, pos);
        }
        for (size_t k = 0; k < nent && k < FZ_MAX_CHECKED; k++) {
            kb_log_read_info ri;
            FZ_CHECK(kb_log_read(log, ents[k].last, 1, INT64_MAX, true, &ri) == 0, "read failed");
            FZ_CHECK(ri.pos == (int64_t)ents[k].pos && ri.len == (int64_t)ents[k].size,
                     "read of %lld at %lld+%lld, entry at %zu+%zu", (long long)ents[k].last, (long long)ri.pos,
                     (long long)ri.len, ents[k].pos, ents[k].size);
        }
    }

    int64_t leo = kb_log_end_offset(log), lsize = kb_log_size(log);
    kz_wr w = KZ_WR_INIT;
    fz_batch(&w, 3);
    kb_log_append_info info;
    rc = kb_log_append(log, w.base, w.len, 1, 1000, &info);
    FZ_CHECK(rc == 0, "append failed: %s", kb_log_strerror(rc));
    FZ_CHECK(info.first_offset == leo, "appended at %lld, LEO was %lld", (long long)info.first_offset,
             (long long)leo);
    kb_log_close(log);
    FZ_CHECK(kb_log_open(&log, fz_dir, "t", 0, &cfg, leo + 3, 0, true) == 0, "reopen failed");
    FZ_CHECK(kb_log_end_offset(log) == leo + 3, "LEO after reopen %lld, expected %lld",
             (long long)kb_log_end_offset(log), (long long)leo + 3);
    FZ_CHECK(kb_log_size(log) == lsize + (int64_t)w.len, "size after reopen");
    kb_log_read_info ri;
    FZ_CHECK(kb_log_read(log, leo, 1 << 20, INT64_MAX, false, &ri) == 0 && ri.len == (int64_t)w.len,
             "the appended batch does not read back");
    kb_log_close(log);
    kz_wr_free(&w);
    free(got);
    free(logb);
    return 0;
}
