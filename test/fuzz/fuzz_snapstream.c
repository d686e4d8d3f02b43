/* test/fuzz/fuzz_snapstream.c -- libFuzzer harness for the SNAP sync stream
 * (coordinator/zkd_snap.c: zkd_snap_scan_feed, zkd_snap_decode_stream and
 * zkd_snap_encode_stream). Nothing touches the disk.
 *
 * Byte 0 seeds the chunk sizes; the rest is the stream as a leader would
 * send it after the SNAP packet (body + "BenWasHere" + whatever follows).
 * The stream has no checksum, so mutations reach the decoder directly.
 * Checks:
 *   - the scanner fed everything at once and fed in chunks (through a
 *     buffer that moves at every step) gives the same answer, never
 *     answers before the bytes it needs are there, and a delimited stream
 *     ends in the signature (i32 10 "BenWasHere");
 *   - a stream the scanner refuses or cannot finish does not decode;
 *   - a delimited stream either fails to decode (-EBADMSG) or gives a tree
 *     that passes fz_dt_check; that tree re-encoded with its signature
 *     scans to exactly its length and decodes to an equal tree (ACL
 *     indexes and sessions included). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "kz_buf.h"
#include "kz_log.h"
#include "zkd_datatree.h"
#include "zkd_snap.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    kz_log_set_level(KZ_LOG_FATAL); /* malformed streams are logged at ERROR */
    return 0;
}

/* Scans @p[0..@len) in chunks of 1..(seed-derived) bytes, copying into a
 * fresh block each time as a receiver growing its buffer would. */
static long fz_scan_chunked(const uint8_t *p, size_t len, uint8_t seed)
{
    zkd_snap_scan sc;
    zkd_snap_scan_init(&sc);
    uint8_t *buf = NULL;
    size_t have = 0, maxchunk = (seed & 0x80) ? 1 + (size_t)(seed & 0x7f) * 64 : 1 + (seed & 0x0f);
    uint32_t x = seed;
    long r = zkd_snap_scan_feed(&sc, p, 0); /* an empty buffer first */
    FZ_CHECK(r == 0, "empty feed: %ld", r);
    while (have < len && r == 0) {
        x = x * 1103515245u + 12345u;
        size_t k = 1 + (x >> 8) % maxchunk;
        if (k > len - have)
            k = len - have;
        uint8_t *nb = malloc(have + k);
        FZ_CHECK(nb, "out of memory");
        if (have)
            memcpy(nb, buf, have);
        memcpy(nb + have, p + have, k);
        free(buf);
        buf = nb;
        have += k;
        size_t before = sc.pos;
        r = zkd_snap_scan_feed(&sc, buf, have);
        FZ_CHECK(sc.pos >= before && sc.pos <= have, "position %zu after %zu, %zu bytes", sc.pos, before, have);
        FZ_CHECK(r <= 0 || (size_t)r <= have, "answer %ld with %zu bytes", r, have);
        FZ_CHECK(r <= 0 || (size_t)r > have - k, "answer %ld came late (%zu bytes)", r, have);
    }
    FZ_CHECK(zkd_snap_scan_feed(&sc, buf ? buf : p, have) == r, "result not sticky");
    free(buf);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t seed = data[0];
    const uint8_t *p = data + 1;
    size_t len = size - 1;

    zkd_snap_scan sc;
    zkd_snap_scan_init(&sc);
    long whole = zkd_snap_scan_feed(&sc, p, len);
    FZ_CHECK(whole == 0 || whole == -EBADMSG || (whole > 0 && (size_t)whole <= len), "scan: %ld", whole);
    long chunked = fz_scan_chunked(p, len, seed);
    FZ_CHECK(chunked == whole, "chunked scan %ld, whole %ld", chunked, whole);

    zkd_datatree *dt = zkd_dt_new();
    FZ_CHECK(dt, "out of memory");
    if (whole <= 0) {
        int rc = zkd_snap_decode_stream(dt, p, len);
        FZ_CHECK(rc == -EBADMSG, "scan %ld but decode %d", whole, rc);
        zkd_dt_free(dt);
        return 0;
    }
    static const uint8_t sig[14] = { 0, 0, 0, 10, 'B', 'e', 'n', 'W', 'a', 's', 'H', 'e', 'r', 'e' };
    FZ_CHECK(whole >= 14 + 4 + 5 && memcmp(p + whole - 14, sig, 14) == 0, "delimited stream without signature");
    int rc = zkd_snap_decode_stream(dt, p, (size_t)whole);
    FZ_CHECK(rc == 0 || rc == -EBADMSG, "decode %d", rc);
    if (rc == 0) {
        fz_dt_check(dt, 0);
        kz_wr w = KZ_WR_INIT;
        FZ_CHECK(zkd_snap_encode_stream(dt, &w) == 0, "encode");
        kz_wr_str(&w, KZ_STR_LIT(ZKD_SNAP_SIGNATURE));
        FZ_CHECK(w.err == 0, "out of memory");
        zkd_snap_scan_init(&sc);
        long again = zkd_snap_scan_feed(&sc, w.base, w.len);
        FZ_CHECK(again == (long)w.len, "re-encoded stream of %zu bytes scans to %ld", w.len, again);
        zkd_datatree *dt2 = zkd_dt_new();
        FZ_CHECK(dt2, "out of memory");
        rc = zkd_snap_decode_stream(dt2, w.base, w.len);
        FZ_CHECK(rc == 0, "re-encoded stream does not decode: %d", rc);
        fz_dt_equal(dt, dt2, FZ_EQ_ACL_INDEX | FZ_EQ_SESSIONS);
        zkd_dt_free(dt2);
        kz_wr_free(&w);
    }
    zkd_dt_free(dt);
    return 0;
}
