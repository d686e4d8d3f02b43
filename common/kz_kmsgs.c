/* common/kz_kmsgs.c -- schema tables expanded from kz_kmsgs.def. */
#include "kz_kmsgs.h"


/* Pass 3: field tables; each ends with a sentinel so no table is empty. */
#define KREQ(N, key, lo, hi, flex) static const kz_kfield kz_kf_##N[] = {
#define KRESP(N, key, lo, hi, flex) static const kz_kfield kz_kf_##N[] = {
#define KDATA(N, lo, hi, flex) static const kz_kfield kz_kf_##N[] = {
#define KSTRUCT(N)                 static const kz_kfield kz_kf_##N[] = {
#define KF(N, f, T, s, u, ns, d) \
    { #f, KZ_KT_##T, (uint32_t)offsetof(kz_##N, f), s, u, ns, -1, (int64_t)(d), NULL },
#define KA(N, f, S, s, u, ns) \
    { #f, KZ_KT_ARR, (uint32_t)offsetof(kz_##N, f), s, u, ns, -1, 0, &kz_kmsg_##S },
#define KS(N, f, S, s, u) \
    { #f, KZ_KT_SUB, (uint32_t)offsetof(kz_##N, f), s, u, KV_NONE, -1, 0, &kz_kmsg_##S },
#define KTF(N, f, T, tag, s, u, d) \
    { #f, KZ_KT_##T, (uint32_t)offsetof(kz_##N, f), s, u, 0, tag, (int64_t)(d), NULL },
#define KTA(N, f, S, tag, s, u) \
    { #f, KZ_KT_ARR, (uint32_t)offsetof(kz_##N, f), s, u, KV_NONE, tag, 0, &kz_kmsg_##S },
#define KTS(N, f, S, tag, s, u) \
    { #f, KZ_KT_SUB, (uint32_t)offsetof(kz_##N, f), s, u, KV_NONE, tag, 0, &kz_kmsg_##S },
#define KEND(N)                    { NULL, 0, 0, 0, 0, 0, 0, 0, NULL } };
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

/* Pass 4: the schemas. */
#define KZ_KF_COUNT(N) ((uint16_t)(sizeof kz_kf_##N / sizeof kz_kf_##N[0] - 1))
#define KREQ(N, key, lo, hi, flex) \
    const kz_kmsg kz_kmsg_##N = { #N, sizeof(kz_##N), key, lo, hi, flex, KZ_KF_COUNT(N), kz_kf_##N };
#define KRESP(N, key, lo, hi, flex) \
    const kz_kmsg kz_kmsg_##N = { #N, sizeof(kz_##N), key, lo, hi, flex, KZ_KF_COUNT(N), kz_kf_##N };
#define KDATA(N, lo, hi, flex) \
    const kz_kmsg kz_kmsg_##N = { #N, sizeof(kz_##N), -1, lo, hi, flex, KZ_KF_COUNT(N), kz_kf_##N };
#define KSTRUCT(N) \
    const kz_kmsg kz_kmsg_##N = { #N, sizeof(kz_##N), -1, 0, KV_MAX, KV_NONE, KZ_KF_COUNT(N), kz_kf_##N };
#define KF(N, f, T, s, u, ns, d)
#define KA(N, f, S, s, u, ns)
#define KS(N, f, S, s, u)
#define KTF(N, f, T, tag, s, u, d)
#define KTA(N, f, S, tag, s, u)
#define KTS(N, f, S, tag, s, u)
#define KEND(N)
#include "kz_kmsgs.def"

/* Pass 5: the per-key indexes. */
#undef KREQ
#undef KRESP
#undef KDATA
#undef KSTRUCT
#define KREQ(N, key, lo, hi, flex) [key] = &kz_kmsg_##N,
#define KRESP(N, key, lo, hi, flex)
#define KDATA(N, lo, hi, flex)
#define KSTRUCT(N)
const kz_kmsg *const kz_kmsg_requests[KZ_KAPI_MAX] = {
#include "kz_kmsgs.def"
};
#undef KREQ
#undef KRESP
#define KREQ(N, key, lo, hi, flex)
#define KRESP(N, key, lo, hi, flex) [key] = &kz_kmsg_##N,
const kz_kmsg *const kz_kmsg_responses[KZ_KAPI_MAX] = {
#include "kz_kmsgs.def"
};
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
