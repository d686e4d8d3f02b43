/* common/kz_vec.h -- growth of a malloc'd array kept as (pointer, count, capacity).
 *
 * The capacity starts at a size the caller picks for its workload and doubles, so appending
 * costs amortized O(1) and the array is never shrunk. The count belongs to the caller: this
 * only makes room. On failure nothing changes (the old array and capacity stay valid), so the
 * caller decides what an allocation failure means: an error code, a dropped item, an abort.
 * Locality: none (plain values; callers own them). */
#ifndef KZ_VEC_H
#define KZ_VEC_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Makes room for @need elements of @elem bytes in the array whose pointer is stored at @arrp
 * (a T **, passed as void * so that any element type fits) with capacity *@cap: when
 * *@cap < @need the capacity becomes @first (for an empty array) or *@cap, doubled until it
 * holds @need, and the array is realloc'd. Returns 0, or -ENOMEM with the array and *@cap
 * unchanged (also when the size would overflow). Use it through KZ_VEC_RESERVE. */
static inline int kz_vec_reserve(void *arrp, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : (first ? first : 1);
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return -ENOMEM;
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / elem)
        return -ENOMEM;
    void *old, *nv;
    memcpy(&old, arrp, sizeof old); /* the T * at @arrp, read without a T ** cast */
    if (!(nv = realloc(old, ncap * elem)))
        return -ENOMEM;
    memcpy(arrp, &nv, sizeof nv);
    *cap = ncap;
    return 0;
}

/* kz_vec_reserve for the array lvalue @v (a T *) and the size_t lvalue @cap: room for @need
 * elements, a first capacity of @first. Evaluates to 0 or -ENOMEM. */
#define KZ_VEC_RESERVE(v, cap, need, first) kz_vec_reserve(&(v), &(cap), (need), sizeof *(v), (first))

#endif
