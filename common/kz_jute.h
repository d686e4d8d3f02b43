/* common/kz_jute.h -- ZooKeeper's jute records described as data.
 *
 * A record is a table of fields (name, type, offset into a C struct, and for
 * nested records and vectors the element schema). One engine walks the
 * table to decode from a bounded cursor or encode into a writer, so there is
 * no per-record serialisation code. Records are declared once in an X-macro
 * `.def` file; KZ_JUTE_DECLARE/KZ_JUTE_DEFINE expand it into the C structs and
 * the schema tables (see coordinator/zkd_records.h).
 *
 * Encoding (BinaryOutputArchive): bool/byte 1 byte, int 4, long 8 (big-endian),
 * ustring/buffer int32 length (-1 null) + bytes, vector int32 count (-1 null)
 * + elements, records inline.
 *
 * Decoded strings and buffers point into the input bytes (zero copy); vectors
 * are allocated from the caller's arena. Vector counts are bounded by the
 * bytes left, so a hostile count cannot make us allocate more than the frame
 * could describe. */
#ifndef KZ_JUTE_H
#define KZ_JUTE_H

#include <stddef.h>
#include <stdint.h>

#include "kz_buf.h"

typedef enum {
    KZ_JT_BOOL,
    KZ_JT_BYTE,
    KZ_JT_INT,
    KZ_JT_LONG,
    KZ_JT_STR,  /* ustring and buffer: kz_str */
    KZ_JT_REC,  /* nested record, inline in the struct */
    KZ_JT_VEC,  /* kz_jvec of elements of type `elem` */
} kz_jtype;

typedef struct kz_jrec kz_jrec;

typedef struct kz_jfield {
    const char *name;
    uint8_t type;       /* kz_jtype */
    uint8_t elem;       /* element kz_jtype for KZ_JT_VEC */
    uint32_t off;       /* offsetof in the C struct */
    const kz_jrec *rec; /* record schema for KZ_JT_REC or vectors of records */
} kz_jfield;

struct kz_jrec {
    const char *name;
    uint32_t size; /* sizeof the C struct */
    uint32_t nfields;
    const kz_jfield *fields;
};

/* A jute vector: n < 0 means null. Elements are C values of the element type
 * (bool, int8_t, int32_t, int64_t, kz_str, or the record struct). */
typedef struct kz_jvec {
    int32_t n;
    void *v;
} kz_jvec;

/* Decodes one record into @out (sizeof = s->size, zeroed first). Returns
 * KZ_OK, or the cursor's error (KZ_ESHORT/KZ_ECORRUPT) or KZ_ENOMEM.
 * @out borrows from the input bytes and from @a. */
int kz_jute_decode(const kz_jrec *s, kz_rd *r, void *out, kz_arena *a);
/* Appends the encoding of @in to @w (errors are sticky in w->err). */
void kz_jute_encode(const kz_jrec *s, const void *in, kz_wr *w);
/* Exact encoded size of @in. */
size_t kz_jute_size(const kz_jrec *s, const void *in);

/* X-macro support. A .def file lists records as
 *   JREC(Name)  JINT(Name, f) JLONG(Name, f) JBOOL(Name, f) JSTR(Name, f)
 *   JBUF(Name, f) JSUB(Name, f, Rec) JVSTR(Name, f) JVREC(Name, f, Rec)
 *   JEND(Name)
 * and a record may only refer to records listed above it. The including
 * module defines the macros twice: once to emit structs, once for schemas. */

#endif
