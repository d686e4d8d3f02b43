/* common/kz_compress.h -- the compression codecs of Kafka record batches and
 * legacy wrapper messages: whole-buffer compress and decompress.
 *
 * Codec ids are the attribute values of the record formats (kz_batch.h):
 * KZ_CODEC_GZIP 1, KZ_CODEC_SNAPPY 2, KZ_CODEC_LZ4 3, KZ_CODEC_ZSTD 4.
 * KZ_CODEC_NONE (0) copies the bytes. Framings (NOTES.md 8.5):
 *   gzip    RFC 1952 members. The reader takes concatenated members and, as
 *           java.util.zip.GZIPInputStream does, ignores trailing bytes that do
 *           not start another member.
 *   snappy  the writer uses snappy-java's stream framing, as the Java client
 *           and broker do: 0x82 "SNAPPY" 0x00, int32 BE version 1, int32 BE
 *           minimum compatible version 1, then chunks of int32 BE length + one
 *           raw snappy block of at most 32 KiB of input. The reader takes that
 *           framing (including concatenated streams, whose header reappears at
 *           a chunk boundary) or, when the magic is absent, the whole buffer as
 *           one raw snappy block (what librdkafka producers send).
 *           KZ_CZ_SNAPPY_RAW makes the writer emit one raw block instead.
 *   lz4     the LZ4 frame format. The writer (liblz4's LZ4F) uses Kafka's
 *           settings: independent blocks, 64 KiB blocks, no block or content
 *           checksum, no content size. The reader is Kafka's
 *           (KafkaLZ4BlockInputStream), written here over LZ4_decompress_safe
 *           because its rules differ from LZ4F's: version 01 only; reserved FLG
 *           bits (and the dictionary-id bit) and dependent blocks are rejected;
 *           an 8-byte content size is skipped; block checksums are verified; a
 *           content checksum is skipped, not verified; bytes after the end mark
 *           are ignored. The header checksum byte is (xxh32(FLG..last
 *           descriptor byte, 0) >> 8) & 0xff; Kafka 0.8/0.9 hashed from the
 *           magic number on. With KZ_CZ_LZ4_BROKEN_HC (magic-0 message sets)
 *           the writer produces that old checksum and the reader ignores the
 *           byte, as Kafka does for magic 0.
 *   zstd    Zstandard frames (level 3, the zstd-jni default Kafka uses),
 *           decompressed with the streaming API since frames may omit the
 *           content size; concatenated and skippable frames are accepted.
 *           A frame may not ask for a window above max(8 MiB, limit) (8 MiB
 *           covers every level up to 19): the decoder's memory stays bounded
 *           like its output.
 * An empty input is corrupt for every codec: none of the framings is empty.
 *
 * Output is appended to a kz_wr (out->len grows; bytes already there stay).
 * Decompression takes a hard limit on the bytes it may append: the output
 * never grows past the limit plus one block of the codec (at most 4 MiB for
 * lz4, one byte otherwise; the writer's capacity doubles, so allocation is at
 * most about twice that), and a stream that decodes to more than the limit
 * fails with KZ_CZ_ELIMIT, so a decompression bomb costs bounded memory.
 * On failure out->len is restored to its value at the call.
 * Locality: any thread; no shared state (the codecs' contexts are per call). */
#ifndef KZ_COMPRESS_H
#define KZ_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "kz_batch.h"
#include "kz_buf.h"

typedef enum kz_cz_rc {
    KZ_CZ_OK = 0,
    KZ_CZ_EUNSUPPORTED = -1, /* codec id not 0..4 */
    KZ_CZ_ECORRUPT = -2,     /* the input is not a valid stream of the codec */
    KZ_CZ_ELIMIT = -3,       /* decompressed data exceeds the caller's limit */
    KZ_CZ_ENOMEM = -4,       /* allocation failed (out->err may be set) */
} kz_cz_rc;

/* flags */
#define KZ_CZ_LZ4_BROKEN_HC 0x1u /* lz4 of magic-0 message sets: old header checksum */
#define KZ_CZ_SNAPPY_RAW    0x2u /* snappy writer: one raw block, no stream framing */

/* Compresses @n bytes at @src (NULL allowed when @n is 0) with @codec and
 * appends the framed result to @out. Returns KZ_CZ_OK, KZ_CZ_EUNSUPPORTED or
 * KZ_CZ_ENOMEM. */
int kz_compress(int codec, const void *src, size_t n, unsigned flags, kz_wr *out);

/* Decompresses the @n bytes at @src framed as @codec, appending at most
 * @limit bytes to @out. Returns KZ_CZ_OK, KZ_CZ_EUNSUPPORTED, KZ_CZ_ECORRUPT,
 * KZ_CZ_ELIMIT or KZ_CZ_ENOMEM; on error @out keeps its previous length. */
int kz_decompress(int codec, const void *src, size_t n, unsigned flags, size_t limit, kz_wr *out);

/* "none", "gzip", "snappy", "lz4", "zstd" (Kafka's compression.type
 * names), or NULL for an unknown id. */
const char *kz_codec_name(int codec);

/* A short text for a kz_cz_rc, for log lines. */
const char *kz_cz_strerror(int rc);

/* xxHash32 of @n bytes with @seed: the checksum of the LZ4 frame format.
 * Exposed for tests and for tools that inspect frames. */
uint32_t kz_xxh32(const void *p, size_t n, uint32_t seed);

#endif
