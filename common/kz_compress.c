/* common/kz_compress.c -- Kafka's compression codecs over zlib, libsnappy,
 * liblz4 and libzstd (contract and framings in kz_compress.h).
 *
 * One table maps a codec id to its encoder and decoder. Every decoder appends
 * into the caller's kz_wr through cz_room(), which hands out at most one step
 * of space beyond the limit, so the limit bounds the memory a hostile stream
 * can make us allocate; the wrapper kz_decompress() restores the writer's
 * length on any failure.
 * Locality: any thread. */
#define ZLIB_CONST
#include "kz_compress.h"

#include <limits.h>
#include <lz4.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

enum { CZ_STEP = 64 * 1024 };

/* ------------------------------------------------------------- xxHash32 */

#define XXH_P1 0x9E3779B1u
#define XXH_P2 0x85EBCA77u
#define XXH_P3 0xC2B2AE3Du
#define XXH_P4 0x27D4EB2Fu
#define XXH_P5 0x165667B1u

static inline uint32_t xxh_rotl(uint32_t v, unsigned r) { return (v << r) | (v >> (32 - r)); }
static inline uint32_t xxh_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint32_t xxh_round(uint32_t acc, uint32_t lane) { return xxh_rotl(acc + lane * XXH_P2, 13) * XXH_P1; }

/* The algorithm as specified by xxHash's xxhash_spec.md: four lanes over
 * 16-byte stripes, then the remaining words and bytes, then the avalanche. */
uint32_t kz_xxh32(const void *data, size_t n, uint32_t seed)
{
    const uint8_t *p = data, *end = p ? p + n : p;
    uint32_t h;
    if (n >= 16) {
        uint32_t v1 = seed + XXH_P1 + XXH_P2, v2 = seed + XXH_P2, v3 = seed, v4 = seed - XXH_P1;
        const uint8_t *limit = end - 16;
        do {
            v1 = xxh_round(v1, xxh_le32(p));
            v2 = xxh_round(v2, xxh_le32(p + 4));
            v3 = xxh_round(v3, xxh_le32(p + 8));
            v4 = xxh_round(v4, xxh_le32(p + 12));
            p += 16;
        } while (p <= limit);
        h = xxh_rotl(v1, 1) + xxh_rotl(v2, 7) + xxh_rotl(v3, 12) + xxh_rotl(v4, 18);
    } else {
        h = seed + XXH_P5;
    }
    h += (uint32_t)n;
    for (; end - p >= 4; p += 4)
        h = xxh_rotl(h + xxh_le32(p) * XXH_P3, 17) * XXH_P4;
    for (; p < end; p++)
        h = xxh_rotl(h + *p * XXH_P5, 11) * XXH_P1;
    h ^= h >> 15;
    h *= XXH_P2;
    h ^= h >> 13;
    h *= XXH_P3;
    h ^= h >> 16;
    return h;
}

/* ---------------------------------------------------------------- helpers */

/* Room for the next step of output: at most @want bytes and never more than
 * one byte past @limit counted from @start (that byte only detects a stream
 * that goes on). Sets *@got; returns NULL with *@got == 0 when the limit is
 * already exceeded, NULL with *@got != 0 when out of memory. */
static uint8_t *cz_room(kz_wr *out, size_t start, size_t limit, size_t want, size_t *got)
{
    size_t produced = out->len - start;
    size_t budget = produced > limit ? 0 : limit - produced;
    budget = budget == SIZE_MAX ? budget : budget + 1;
    *got = want < budget ? want : budget;
    if (*got == 0)
        return NULL;
    return kz_wr_reserve(out, *got);
}

static int cz_over(const kz_wr *out, size_t start, size_t limit)
{
    return out->len - start > limit ? KZ_CZ_ELIMIT : KZ_CZ_OK;
}

/* ------------------------------------------------------------------- none */

static int cz_none_enc(const uint8_t *src, size_t n, unsigned flags, kz_wr *out)
{
    (void)flags;
    kz_wr_bytes(out, src, n);
    return out->err ? KZ_CZ_ENOMEM : KZ_CZ_OK;
}

static int cz_none_dec(const uint8_t *src, size_t n, unsigned flags, size_t limit, kz_wr *out)
{
    (void)flags;
    if (n > limit)
        return KZ_CZ_ELIMIT;
    kz_wr_bytes(out, src, n);
    return out->err ? KZ_CZ_ENOMEM : KZ_CZ_OK;
}

/* ------------------------------------------------------------------- gzip */

/* zlib counts in uInt: feed it at most this much per call. */
static inline uInt cz_uint_chunk(size_t n) { return n > UINT_MAX ? UINT_MAX : (uInt)n; }

static int cz_gzip_enc(const uint8_t *src, size_t n, unsigned flags, kz_wr *out)
{
    (void)flags;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return KZ_CZ_ENOMEM;
    int rc = KZ_CZ_OK;
    size_t left = n;
    zs.next_in = src;
    for (;;) {
        if (zs.avail_in == 0 && left) {
            zs.avail_in = cz_uint_chunk(left);
            left -= zs.avail_in;
        }
        uint8_t *p = kz_wr_reserve(out, CZ_STEP);
        if (!p) {
            rc = KZ_CZ_ENOMEM;
            break;
        }
        zs.next_out = p;
        zs.avail_out = CZ_STEP;
        int zr = deflate(&zs, left || zs.avail_in ? Z_NO_FLUSH : Z_FINISH);
        out->len += CZ_STEP - zs.avail_out;
        if (zr == Z_STREAM_END)
            break;
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            rc = KZ_CZ_ENOMEM;
            break;
        }
    }
    deflateEnd(&zs);
    return rc;
}

static int cz_gzip_dec(const uint8_t *src, size_t n, unsigned flags, size_t limit, kz_wr *out)
{
    (void)flags;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return KZ_CZ_ENOMEM;
    int rc = KZ_CZ_OK;
    const size_t start = out->len;
    size_t left = n;
    zs.next_in = src;
    for (;;) {
        if (zs.avail_in == 0 && left) {
            zs.avail_in = cz_uint_chunk(left);
            left -= zs.avail_in;
        }
        size_t room;
        uint8_t *p = cz_room(out, start, limit, CZ_STEP, &room);
        if (!p) {
            rc = room ? KZ_CZ_ENOMEM : KZ_CZ_ELIMIT;
            break;
        }
        zs.next_out = p;
        zs.avail_out = (uInt)room;
        int zr = inflate(&zs, Z_NO_FLUSH);
        out->len += room - zs.avail_out;
        if ((rc = cz_over(out, start, limit)) != KZ_CZ_OK)
            break;
        if (zr == Z_STREAM_END) {
            /* Another member follows (concatenated gzip)? Anything else
             * after a member is ignored, as GZIPInputStream does. */
            size_t rest = zs.avail_in + left;
            if (rest >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b) {
                inflateReset(&zs);
                continue;
            }
            break;
        }
        if (zr == Z_BUF_ERROR && zs.avail_in == 0 && left == 0) {
            rc = KZ_CZ_ECORRUPT; /* the stream ends inside a member */
            break;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            rc = zr == Z_MEM_ERROR ? KZ_CZ_ENOMEM : KZ_CZ_ECORRUPT;
            break;
        }
    }
    inflateEnd(&zs);
    return rc;
}

/* ----------------------------------------------------------------- snappy */

static const uint8_t cz_xerial_magic[8] = { 0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0 };
enum { CZ_XERIAL_HDR = 16, CZ_XERIAL_BLOCK = 32 * 1024 };

/* Appends one raw snappy block: n bytes at src compressed. */
static int cz_snappy_block_enc(const uint8_t *src, size_t n, kz_wr *out)
{
    size_t cap = snappy_max_compressed_length(n);
    uint8_t *p = kz_wr_reserve(out, cap);
    if (!p)
        return KZ_CZ_ENOMEM;
    if (snappy_compress((const char *)src, n, (char *)p, &cap) != SNAPPY_OK)
        return KZ_CZ_ENOMEM;
    out->len += cap;
    return KZ_CZ_OK;
}

static int cz_snappy_enc(const uint8_t *src, size_t n, unsigned flags, kz_wr *out)
{
    if (flags & KZ_CZ_SNAPPY_RAW)
        return cz_snappy_block_enc(src, n, out);
    kz_wr_bytes(out, cz_xerial_magic, sizeof cz_xerial_magic);
    kz_wr_i32(out, 1); /* version */
    kz_wr_i32(out, 1); /* minimum compatible version */
    /* An empty input is the header alone; readers end cleanly after it. */
    for (size_t off = 0, chunk; off < n; off += chunk) {
        chunk = n - off < CZ_XERIAL_BLOCK ? n - off : CZ_XERIAL_BLOCK;
        size_t at = out->len;
        kz_wr_i32(out, 0); /* length, patched below */
        int rc = cz_snappy_block_enc(src + off, chunk, out);
        if (rc != KZ_CZ_OK)
            return rc;
        kz_wr_patch_i32(out, at, (int32_t)(out->len - at - 4));
    }
    return out->err ? KZ_CZ_ENOMEM : KZ_CZ_OK;
}

/* Decodes one raw snappy block of n bytes. The uncompressed length is read
 * from the block's preamble and checked against the limit before any
 * allocation. */
static int cz_snappy_block_dec(const uint8_t *src, size_t n, size_t start, size_t limit, kz_wr *out)
{
    size_t ulen;
    if (n == 0 || snappy_uncompressed_length((const char *)src, n, &ulen) != SNAPPY_OK)
        return KZ_CZ_ECORRUPT;
    size_t produced = out->len - start;
    if (ulen > limit - produced)
        return KZ_CZ_ELIMIT;
    char one;
    char *p = ulen ? (char *)kz_wr_reserve(out, ulen) : &one;
    if (!p)
        return KZ_CZ_ENOMEM;
    size_t got = ulen;
    if (snappy_uncompress((const char *)src, n, p, &got) != SNAPPY_OK || got != ulen)
        return KZ_CZ_ECORRUPT;
    out->len += ulen;
    return KZ_CZ_OK;
}

static int cz_snappy_dec(const uint8_t *src, size_t n, unsigned flags, size_t limit, kz_wr *out)
{
    (void)flags;
    const size_t start = out->len;
    if (n < sizeof cz_xerial_magic || memcmp(src, cz_xerial_magic, sizeof cz_xerial_magic) != 0)
        return cz_snappy_block_dec(src, n, start, limit, out);
    size_t pos = 0;
    for (;;) {
        /* A stream header: at the start, and again where streams were concatenated. */
        if (n - pos >= sizeof cz_xerial_magic && memcmp(src + pos, cz_xerial_magic, sizeof cz_xerial_magic) == 0) {
            if (n - pos < CZ_XERIAL_HDR || (int32_t)kz_load_be32(src + pos + 8) < 1)
                return KZ_CZ_ECORRUPT; /* truncated header, or a version below 1 */
            pos += CZ_XERIAL_HDR;
            continue;
        }
        if (n - pos < 4)
            break; /* snappy-java stops at fewer than 4 bytes (a clean end at 0) */
        int32_t clen = (int32_t)kz_load_be32(src + pos);
        pos += 4;
        if (clen <= 0 || (size_t)clen > n - pos)
            return KZ_CZ_ECORRUPT;
        int rc = cz_snappy_block_dec(src + pos, (size_t)clen, start, limit, out);
        if (rc != KZ_CZ_OK)
            return rc;
        pos += (size_t)clen;
    }
    return KZ_CZ_OK;
}

/* -------------------------------------------------------------------- lz4 */

enum {
    LZ4_MAGIC = 0x184D2204,
    LZ4_FLG_VERSION_MASK = 0xC0, LZ4_FLG_VERSION_01 = 0x40, LZ4_FLG_INDEP = 0x20,
    LZ4_FLG_BLOCK_CSUM = 0x10, LZ4_FLG_CONTENT_SIZE = 0x08, LZ4_FLG_CONTENT_CSUM = 0x04,
    LZ4_FLG_RESERVED = 0x03, /* bit 1 reserved, bit 0 dictionary id: both rejected by Kafka */
    LZ4_BD_RESERVED = 0x8F,
    LZ4_BLOCK_UNCOMPRESSED = (int)0x80000000u,
};

static int cz_lz4_enc(const uint8_t *src, size_t n, unsigned flags, kz_wr *out)
{
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof prefs);
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
    prefs.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
    prefs.frameInfo.frameType = LZ4F_frame;
    prefs.frameInfo.contentSize = 0;
    size_t cap = LZ4F_compressFrameBound(n, &prefs);
    uint8_t *p = kz_wr_reserve(out, cap);
    if (!p)
        return KZ_CZ_ENOMEM;
    size_t got = LZ4F_compressFrame(p, cap, src, n, &prefs);
    if (LZ4F_isError(got) || got < 7)
        return KZ_CZ_ENOMEM;
    if (flags & KZ_CZ_LZ4_BROKEN_HC) /* Kafka <= 0.9 hashed magic + FLG + BD */
        p[6] = (uint8_t)(kz_xxh32(p, 6, 0) >> 8);
    out->len += got;
    return KZ_CZ_OK;
}

static int cz_lz4_dec(const uint8_t *src, size_t n, unsigned flags, size_t limit, kz_wr *out)
{
    static const size_t block_max[8] = { 0, 0, 0, 0, 64 << 10, 256 << 10, 1 << 20, 4 << 20 };
    const size_t start = out->len;
    kz_rd r = kz_rd_init(src, n);
    const uint8_t *magic = kz_rd_take(&r, 4);
    if (!magic || xxh_le32(magic) != LZ4_MAGIC)
        return KZ_CZ_ECORRUPT;
    const uint8_t *desc = r.p;
    uint8_t flg = kz_rd_u8(&r), bd = kz_rd_u8(&r);
    if (r.err || (flg & LZ4_FLG_VERSION_MASK) != LZ4_FLG_VERSION_01 || (flg & LZ4_FLG_RESERVED) ||
        !(flg & LZ4_FLG_INDEP) || (bd & LZ4_BD_RESERVED) || block_max[bd >> 4 & 7] == 0)
        return KZ_CZ_ECORRUPT;
    const size_t bmax = block_max[bd >> 4 & 7];
    if (flg & LZ4_FLG_CONTENT_SIZE)
        (void)kz_rd_take(&r, 8); /* skipped: Kafka does not use it */
    size_t desc_len = (size_t)(r.p - desc);
    uint8_t hc = kz_rd_u8(&r);
    if (r.err)
        return KZ_CZ_ECORRUPT;
    if (!(flags & KZ_CZ_LZ4_BROKEN_HC) && hc != (uint8_t)(kz_xxh32(desc, desc_len, 0) >> 8))
        return KZ_CZ_ECORRUPT;
    for (;;) {
        const uint8_t *szp = kz_rd_take(&r, 4);
        if (!szp)
            return KZ_CZ_ECORRUPT; /* no end mark */
        uint32_t word = xxh_le32(szp);
        size_t bsize = word & 0x7fffffffu;
        if (bsize == 0) {
            if (flg & LZ4_FLG_CONTENT_CSUM)
                (void)kz_rd_take(&r, 4); /* present but not verified, as in Kafka */
            return r.err ? KZ_CZ_ECORRUPT : KZ_CZ_OK;
        }
        const uint8_t *blk = bsize <= bmax ? kz_rd_take(&r, bsize) : NULL;
        if (!blk)
            return KZ_CZ_ECORRUPT;
        if (flg & LZ4_FLG_BLOCK_CSUM) {
            const uint8_t *cs = kz_rd_take(&r, 4);
            if (!cs || xxh_le32(cs) != kz_xxh32(blk, bsize, 0))
                return KZ_CZ_ECORRUPT;
        }
        size_t produced = out->len - start;
        if (word & (uint32_t)LZ4_BLOCK_UNCOMPRESSED) {
            if (bsize > limit - produced)
                return KZ_CZ_ELIMIT;
            kz_wr_bytes(out, blk, bsize);
            if (out->err)
                return KZ_CZ_ENOMEM;
            continue;
        }
        /* Decode into room for a whole block; the limit is checked after,
         * so the output outgrows it by less than one block. */
        uint8_t *p = kz_wr_reserve(out, bmax);
        if (!p)
            return KZ_CZ_ENOMEM;
        int got = LZ4_decompress_safe((const char *)blk, (char *)p, (int)bsize, (int)bmax);
        if (got < 0)
            return KZ_CZ_ECORRUPT;
        out->len += (size_t)got;
        if (cz_over(out, start, limit) != KZ_CZ_OK)
            return KZ_CZ_ELIMIT;
    }
}

/* ------------------------------------------------------------------- zstd */

enum { CZ_ZSTD_LEVEL = 3 };

static int cz_zstd_enc(const uint8_t *src, size_t n, unsigned flags, kz_wr *out)
{
    (void)flags;
    size_t cap = ZSTD_compressBound(n);
    uint8_t *p = kz_wr_reserve(out, cap);
    if (!p)
        return KZ_CZ_ENOMEM;
    size_t got = ZSTD_compress(p, cap, src, n, CZ_ZSTD_LEVEL);
    if (ZSTD_isError(got))
        return KZ_CZ_ENOMEM;
    out->len += got;
    return KZ_CZ_OK;
}

/* The largest window a frame may ask for: enough for the output limit and
 * at least 8 MiB (2^23, the most any level up to 19 uses, so every normal
 * producer's frames decode), at most zstd's own default cap of 2^27. Without
 * it a frame could make the decoder allocate a 128 MiB window whatever the
 * limit. */
static int cz_zstd_window_log(size_t limit)
{
    int log = 23;
    while (log < 27 && ((size_t)1 << log) < limit)
        log++;
    return log;
}

static int cz_zstd_dec(const uint8_t *src, size_t n, unsigned flags, size_t limit, kz_wr *out)
{
    (void)flags;
    ZSTD_DCtx *d = ZSTD_createDCtx();
    if (!d)
        return KZ_CZ_ENOMEM;
    if (ZSTD_isError(ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, cz_zstd_window_log(limit)))) {
        ZSTD_freeDCtx(d);
        return KZ_CZ_ENOMEM;
    }
    const size_t start = out->len;
    ZSTD_inBuffer in = { src, n, 0 };
    int rc = KZ_CZ_OK;
    for (;;) {
        size_t room;
        uint8_t *p = cz_room(out, start, limit, CZ_STEP, &room);
        if (!p) {
            rc = room ? KZ_CZ_ENOMEM : KZ_CZ_ELIMIT;
            break;
        }
        ZSTD_outBuffer ob = { p, room, 0 };
        size_t zr = ZSTD_decompressStream(d, &ob, &in);
        out->len += ob.pos;
        if (ZSTD_isError(zr)) {
            rc = ZSTD_getErrorCode(zr) == ZSTD_error_memory_allocation ? KZ_CZ_ENOMEM : KZ_CZ_ECORRUPT;
            break;
        }
        if ((rc = cz_over(out, start, limit)) != KZ_CZ_OK)
            break;
        if (in.pos == in.size) {
            if (zr == 0)
                break; /* the last frame is complete */
            if (ob.pos < ob.size) {
                rc = KZ_CZ_ECORRUPT; /* the decoder wants input that is not there */
                break;
            }
        }
    }
    ZSTD_freeDCtx(d);
    return rc;
}

/* ------------------------------------------------------------------ table */

typedef struct cz_codec {
    const char *name;
    int (*enc)(const uint8_t *src, size_t n, unsigned flags, kz_wr *out);
    int (*dec)(const uint8_t *src, size_t n, unsigned flags, size_t limit, kz_wr *out);
} cz_codec;

static const cz_codec cz_codecs[] = {
    [KZ_CODEC_NONE] = { "none", cz_none_enc, cz_none_dec },
    [KZ_CODEC_GZIP] = { "gzip", cz_gzip_enc, cz_gzip_dec },
    [KZ_CODEC_SNAPPY] = { "snappy", cz_snappy_enc, cz_snappy_dec },
    [KZ_CODEC_LZ4] = { "lz4", cz_lz4_enc, cz_lz4_dec },
    [KZ_CODEC_ZSTD] = { "zstd", cz_zstd_enc, cz_zstd_dec },
};
#define CZ_NCODECS ((int)(sizeof cz_codecs / sizeof cz_codecs[0]))

int kz_compress(int codec, const void *src, size_t n, unsigned flags, kz_wr *out)
{
    if (codec < 0 || codec >= CZ_NCODECS)
        return KZ_CZ_EUNSUPPORTED;
    if (out->err)
        return KZ_CZ_ENOMEM;
    const size_t start = out->len;
    int rc = cz_codecs[codec].enc(n ? src : NULL, n, flags, out);
    if (rc != KZ_CZ_OK && !out->err)
        out->len = start;
    return rc;
}

int kz_decompress(int codec, const void *src, size_t n, unsigned flags, size_t limit, kz_wr *out)
{
    if (codec < 0 || codec >= CZ_NCODECS)
        return KZ_CZ_EUNSUPPORTED;
    if (out->err)
        return KZ_CZ_ENOMEM;
    if (n == 0 && codec != KZ_CODEC_NONE)
        return KZ_CZ_ECORRUPT;
    const size_t start = out->len;
    int rc = cz_codecs[codec].dec(src, n, flags, limit, out);
    if (rc != KZ_CZ_OK && !out->err)
        out->len = start;
    return rc;
}

const char *kz_codec_name(int codec)
{
    return codec >= 0 && codec < CZ_NCODECS ? cz_codecs[codec].name : NULL;
}

const char *kz_cz_strerror(int rc)
{
    switch (rc) {
    case KZ_CZ_OK: return "ok";
    case KZ_CZ_EUNSUPPORTED: return "unsupported compression codec";
    case KZ_CZ_ECORRUPT: return "corrupt compressed data";
    case KZ_CZ_ELIMIT: return "decompressed data exceeds the size limit";
    case KZ_CZ_ENOMEM: return "out of memory";
    default: return "unknown error";
    }
}
