/* common/kz_map.h -- open-addressing hash map from int64 keys to uint64
 * values (pointers are stored through uintptr_t). Linear probing with
 * backward-shift deletion, so there are no tombstones; grows at 3/4 load.
 * Iteration order is unspecified. Locality: owner's thread only. */
#ifndef KZ_MAP_H
#define KZ_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kz_map_slot {
    int64_t key;
    uint64_t val;
    bool used;
} kz_map_slot;

typedef struct kz_map {
    kz_map_slot *slots;
    size_t cap; /* power of two, or 0 */
    size_t n;
} kz_map;

#define KZ_MAP_INIT ((kz_map){ NULL, 0, 0 })

void kz_map_free(kz_map *m);
/* Inserts or replaces. Returns 0, or KZ_ENOMEM. */
int kz_map_put(kz_map *m, int64_t key, uint64_t val);
/* Returns true and sets *val (if non-NULL) when present. */
bool kz_map_get(const kz_map *m, int64_t key, uint64_t *val);
/* Returns true when the key was present (and sets *val if non-NULL). */
bool kz_map_del(kz_map *m, int64_t key, uint64_t *val);
static inline size_t kz_map_size(const kz_map *m) { return m->n; }

/* for (size_t i = 0; kz_map_next(m, &i, &k, &v); ) ... ; no changes while iterating */
bool kz_map_next(const kz_map *m, size_t *it, int64_t *key, uint64_t *val);

#endif
