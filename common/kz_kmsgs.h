/* common/kz_kmsgs.h -- C structs and schema tables of the Kafka messages in
 * kz_kmsgs.def (see kz_kmsg.h for the vocabulary and the C types).
 * Locality: none. */
#ifndef KZ_KMSGS_H
#define KZ_KMSGS_H

#include "kz_kmsg.h"

/* Pass 1: names. */
#define KREQ(N, key, lo, hi, flex) typedef struct kz_##N kz_##N; extern const kz_kmsg kz_kmsg_##N;
#define KRESP(N, key, lo, hi, flex) typedef struct kz_##N kz_##N; extern const kz_kmsg kz_kmsg_##N;
#define KDATA(N, lo, hi, flex) typedef struct kz_##N kz_##N; extern const kz_kmsg kz_kmsg_##N;
#define KSTRUCT(N)                 typedef struct kz_##N kz_##N; extern const kz_kmsg kz_kmsg_##N;
#define KF(N, f, T, s, u, ns, d)
#define KA(N, f, S, s, u, ns)
#define KS(N, f, S, s, u)
#define KTF(N, f, T, tag, s, u, d)
#define KTA(N, f, S, tag, s, u)
#define KTS(N, f, S, tag, s, u)
#define KEND(N)
#include "kz_kmsgs.def"
#undef KREQ
#undef KRESP
#undef KDATA
#undef KSTRUCT
#undef KF
#undef KA
#undef KS
#undef KTF
#undef KTA
#undef KTS
#undef KEND

/* Pass 2: struct bodies. kz_end_ keeps field-less messages legal C. */
#define KREQ(N, key, lo, hi, flex) struct kz_##N {
#define KRESP(N, key, lo, hi, flex) struct kz_##N {
#define KDATA(N, lo, hi, flex) struct kz_##N {
#define KSTRUCT(N)                 struct kz_##N {
#define KF(N, f, T, s, u, ns, d)   KZ_KCT_##T f;
#define KA(N, f, S, s, u, ns)      struct { int32_t n; kz_##S *v; } f;
#define KS(N, f, S, s, u)          kz_##S f;
#define KTF(N, f, T, tag, s, u, d) KZ_KCT_##T f;
#define KTA(N, f, S, tag, s, u)    struct { int32_t n; kz_##S *v; } f;
#define KTS(N, f, S, tag, s, u)    kz_##S f;
#define KEND(N)                    uint8_t kz_end_; };
#include "kz_kmsgs.def"
#undef KREQ
#undef KRESP
#undef KDATA
#undef KSTRUCT
#undef KF
#undef KA
#undef KS
#undef KTF
#undef KTA
#undef KTS
#undef KEND

/* Every request schema, indexed by API key (NULL where none); same for responses. */
#define KZ_KAPI_MAX 68
extern const kz_kmsg *const kz_kmsg_requests[KZ_KAPI_MAX];
extern const kz_kmsg *const kz_kmsg_responses[KZ_KAPI_MAX];

#endif
