/* common/kz_kmsg.h -- Kafka protocol messages described as data, and the one
 * engine that decodes and encodes them.
 *
 * Each message of Kafka's `message/<Name>.json` is declared once in the X-macro
 * file kz_kmsgs.def. kz_kmsgs.h expands it into C structs and kz_kmsgs.c into
 * schema tables; kz_kmsg_decode/kz_kmsg_encode walk a table for a given
 * version. Nothing here is per-message or per-version code.
 *
 * Wire rules (NOTES.md sections 1-3):
 *   - a field is on the wire only in versions [since, until];
 *   - in a flexible version (>= the message's `flex`) strings, bytes, records
 *     and arrays use the compact forms (uvarint N+1, 0 = null), and every
 *     struct, top level or array element, ends with a tagged-field section;
 *   - tagged fields (tag >= 0) are written only when they differ from their
 *     default, in tag order; unknown tags are skipped when reading.
 *
 * C types by field type (KZ_KCT_<TYPE> below): BOOL bool, I8 int8_t, I16
 * int16_t, U16 uint16_t, I32 int32_t, I64 int64_t, F64 double, UUID kz_uuid,
 * STR/BYTES kz_str (len -1 = null), RECS kz_krecs, AI32/AI64/ASTR arrays of
 * int32/int64/string, ARR an array of a struct, SUB a struct held inline.
 * Every array is { int32_t n; T *v; } with n = -1 for null.
 *
 * Decoding: strings, bytes and records point into the input (zero copy);
 * arrays come from the caller's arena. Counts are bounded by the bytes left
 * divided by the smallest encoding of one element, so a hostile count cannot
 * make us allocate more than the frame could describe. Fields absent from a
 * version get their default (numbers), null (nullable strings and arrays) or
 * empty (the others).
 * Locality: none (tables are immutable, state is the caller's). */
#ifndef KZ_KMSG_H
#define KZ_KMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kz_buf.h"

#define KV_MAX  0x7fff  /* "N+": open-ended upper version */
#define KV_NONE 0x7fff  /* never (nullable / flexible since) */

typedef enum {
    KZ_KT_BOOL, KZ_KT_I8, KZ_KT_I16, KZ_KT_U16, KZ_KT_I32, KZ_KT_I64, KZ_KT_F64, KZ_KT_UUID,
    KZ_KT_STR, KZ_KT_BYTES, KZ_KT_RECS,
    KZ_KT_AI32, KZ_KT_AI64, KZ_KT_ASTR,
    KZ_KT_ARR, KZ_KT_SUB,
} kz_ktype;

typedef struct kz_uuid { uint8_t b[16]; } kz_uuid;

/* A records field. Decoded: @mem points into the frame (len -1 = null).
 * To encode log bytes without copying them, set @flen > 0 with @fd/@foff
 * (and leave @mem empty): the encoder writes the length prefix and reports
 * the file range through the hole callback of kz_kmsg_encode_holes. */
typedef struct kz_krecs {
    kz_str mem;
    int fd;
    int64_t foff;
    int64_t flen;
} kz_krecs;

typedef struct { int32_t n; int32_t *v; } kz_kai32;
typedef struct { int32_t n; int64_t *v; } kz_kai64;
typedef struct { int32_t n; kz_str *v; } kz_kastr;
typedef struct { int32_t n; void *v; } kz_kvec;   /* the engine's view of any array */

#define KZ_KCT_BOOL  bool
#define KZ_KCT_I8    int8_t
#define KZ_KCT_I16   int16_t
#define KZ_KCT_U16   uint16_t
#define KZ_KCT_I32   int32_t
#define KZ_KCT_I64   int64_t
#define KZ_KCT_F64   double
#define KZ_KCT_UUID  kz_uuid
#define KZ_KCT_STR   kz_str
#define KZ_KCT_BYTES kz_str
#define KZ_KCT_RECS  kz_krecs
#define KZ_KCT_AI32  kz_kai32
#define KZ_KCT_AI64  kz_kai64
#define KZ_KCT_ASTR  kz_kastr

typedef struct kz_kmsg kz_kmsg;

typedef struct kz_kfield {
    const char *name;
    uint8_t type;          /* kz_ktype */
    uint32_t off;          /* offsetof in the C struct */
    int16_t since, until;  /* versions that carry the field */
    int16_t null_since;    /* first version where null is allowed (KV_NONE: never) */
    int32_t tag;           /* tagged field number, -1 for a regular field */
    int64_t def;           /* default of a number or bool */
    const kz_kmsg *sub;    /* element/struct schema for ARR and SUB */
} kz_kfield;

struct kz_kmsg {
    const char *name;
    uint32_t size;         /* sizeof the C struct */
    int16_t api_key;       /* -1 for structs that are not a request/response */
    int16_t lo, hi;        /* validVersions */
    int16_t flex;          /* first flexible version (KV_NONE: none); of the top level */
    uint16_t nfields;
    const kz_kfield *fields;
};

/* Decodes one message of version @ver into @out (s->size bytes, zeroed
 * first). Returns KZ_OK, the cursor's error (KZ_ESHORT / KZ_ECORRUPT: a
 * malformed frame), KZ_ECORRUPT for a null where the version forbids it, or
 * KZ_ENOMEM. Trailing bytes are left in @r for the caller to judge. */
int kz_kmsg_decode(const kz_kmsg *m, int16_t ver, kz_rd *r, void *out, kz_arena *a);

/* Appends the encoding of @in at version @ver to @w (errors are sticky in
 * w->err). A null in a field that cannot be null at @ver is written as empty,
 * as Kafka's writers would refuse it; callers must not rely on that. */
void kz_kmsg_encode(const kz_kmsg *m, int16_t ver, const void *in, kz_wr *w);

/* A records field that refers to a file range: @at is w->len where the bytes
 * belong (after their length prefix). The callee remembers the range; the
 * caller later interleaves the encoded bytes with the file ranges. */
typedef void kz_khole_fn(void *ctx, size_t at, const kz_krecs *recs);
void kz_kmsg_encode_holes(const kz_kmsg *m, int16_t ver, const void *in, kz_wr *w,
                          kz_khole_fn *hole, void *ctx);

static inline bool kz_kmsg_flexible(const kz_kmsg *m, int16_t ver) { return ver >= m->flex; }

/* ---- headers (RequestHeader.json / ResponseHeader.json, NOTES.md 2) ---- */

typedef struct kz_kreq_hdr {
    int16_t api_key, api_version;
    int32_t corr_id;
    kz_str client_id;      /* null for header v0 and when sent as null */
} kz_kreq_hdr;

/* Reads api_key, api_version, correlation id and (unless @hdr_ver is 0) the
 * client id, which keeps the int16 length form in every header version; then,
 * for @hdr_ver 2, skips the tagged section. The caller learns api_key and
 * api_version first with kz_kreq_peek to choose @hdr_ver. */
int kz_kreq_hdr_decode(kz_rd *r, int hdr_ver, kz_kreq_hdr *h);
/* api_key, api_version and correlation id of a frame, without consuming it;
 * -1 when fewer than 8 bytes. */
int kz_kreq_peek(const uint8_t *p, size_t n, int16_t *key, int16_t *ver, int32_t *corr);
void kz_kreq_hdr_encode(kz_wr *w, int hdr_ver, const kz_kreq_hdr *h);

/* Header versions for a message version: request 2 if flexible else 1 (0 for
 * ControlledShutdown v0); response 1 if flexible else 0, and always 0 for
 * ApiVersions (KIP-511). */
int kz_kreq_hdr_version(const kz_kmsg *req, int16_t ver);
int kz_kresp_hdr_version(const kz_kmsg *resp, int16_t ver);
void kz_kresp_hdr_encode(kz_wr *w, int hdr_ver, int32_t corr_id);
int kz_kresp_hdr_decode(kz_rd *r, int hdr_ver, int32_t *corr_id);

/* ---- X-macro vocabulary of kz_kmsgs.def ----
 *   KREQ(Name, api_key, lo, hi, flex)   a request (top level; flex = first flexible version)
 *   KRESP(Name, api_key, lo, hi, flex)  a response
 *   KDATA(Name, lo, hi, flex)            a versioned record that is no API (e.g. __consumer_offsets keys)
 *   KSTRUCT(Name)                        a struct used by arrays/fields; must be
 *                                        declared before the struct that uses it
 *   KF(Name, field, TYPE, since, until, null_since, def)
 *   KA(Name, field, Sub, since, until, null_since)       array of struct Sub
 *   KS(Name, field, Sub, since, until)                    struct Sub inline
 *   KTF(Name, field, TYPE, tag, since, until, def)       tagged scalar/string
 *   KTA(Name, field, Sub, tag, since, until)             tagged array of Sub
 *   KTS(Name, field, Sub, tag, since, until)             tagged struct Sub
 *   KEND(Name)
 * Field order is wire order. C names are kz_<Name>; tables kz_kmsg_<Name>. */

#endif
