/* coordinator/zkd_records.h -- C structs and jute schemas of the ZooKeeper
 * records zkd reads and writes, expanded from zkd_records.def.
 * Struct zkd_X has the fields of jute class X in wire order; zkd_X_rec is its
 * schema for kz_jute_decode/encode. Vectors are kz_jvec (kz_str elements for
 * vector<ustring>, zkd_Rec elements for vector<Rec>). */
#ifndef ZKD_RECORDS_H
#define ZKD_RECORDS_H

#include <stdbool.h>
#include <stdint.h>

#include "kz_jute.h"

#define JREC(N)          typedef struct zkd_##N {
#define JINT(N, f)       int32_t f;
#define JLONG(N, f)      int64_t f;
#define JBOOL(N, f)      bool f;
#define JSTR(N, f)       kz_str f;
#define JBUF(N, f)       kz_str f;
#define JSUB(N, f, R)    zkd_##R f;
#define JVSTR(N, f)      kz_jvec f;
#define JVREC(N, f, R)   kz_jvec f;
#define JEND(N)          } zkd_##N; extern const kz_jrec zkd_##N##_rec;
#include "zkd_records.def"
#undef JREC
#undef JINT
#undef JLONG
#undef JBOOL
#undef JSTR
#undef JBUF
#undef JSUB
#undef JVSTR
#undef JVREC
#undef JEND

/* Decode/encode helpers that name the record: zkd_decode(Stat, &r, &st, arena). */
#define zkd_decode(R, rd, out, arena) kz_jute_decode(&zkd_##R##_rec, (rd), (out), (arena))
#define zkd_encode(R, in, wr)         kz_jute_encode(&zkd_##R##_rec, (in), (wr))

#endif
