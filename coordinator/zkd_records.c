/* coordinator/zkd_records.c -- schema tables for zkd_records.def. */
#include "zkd_records.h"

#include <stddef.h>

#define JF(N, f, t, e, r) { #f, t, e, (uint32_t)offsetof(zkd_##N, f), r },
#define JREC(N)          static const kz_jfield zkd_##N##_fields[] = {
#define JINT(N, f)       JF(N, f, KZ_JT_INT, 0, NULL)
#define JLONG(N, f)      JF(N, f, KZ_JT_LONG, 0, NULL)
#define JBOOL(N, f)      JF(N, f, KZ_JT_BOOL, 0, NULL)
#define JSTR(N, f)       JF(N, f, KZ_JT_STR, 0, NULL)
#define JBUF(N, f)       JF(N, f, KZ_JT_STR, 0, NULL)
#define JSUB(N, f, R)    JF(N, f, KZ_JT_REC, 0, &zkd_##R##_rec)
#define JVSTR(N, f)      JF(N, f, KZ_JT_VEC, KZ_JT_STR, NULL)
#define JVREC(N, f, R)   JF(N, f, KZ_JT_VEC, KZ_JT_REC, &zkd_##R##_rec)
#define JEND(N)                                                                     \
    };                                                                              \
    const kz_jrec zkd_##N##_rec = { #N, (uint32_t)sizeof(zkd_##N),                  \
                                    (uint32_t)(sizeof zkd_##N##_fields / sizeof zkd_##N##_fields[0]), \
                                    zkd_##N##_fields };
#include "zkd_records.def"
