/* common/kz_map.c -- see kz_map.h. */
#include "kz_map.h"

#include <stdlib.h>

#include "kz_buf.h"

static size_t kz_map_hash(int64_t k, size_t cap)
{
    uint64_t x = (uint64_t)k;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return (size_t)x & (cap - 1);
}

void kz_map_free(kz_map *m)
{
    free(m->slots);
    *m = KZ_MAP_INIT;
}

static int kz_map_grow(kz_map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    kz_map_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return KZ_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].used)
            continue;
        size_t j = kz_map_hash(m->slots[i].key, ncap);
        while (ns[j].used)
            j = (j + 1) & (ncap - 1);
        ns[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

int kz_map_put(kz_map *m, int64_t key, uint64_t val)
{
    if ((m->n + 1) * 4 > m->cap * 3 && kz_map_grow(m))
        return KZ_ENOMEM;
    size_t j = kz_map_hash(key, m->cap);
    while (m->slots[j].used) {
        if (m->slots[j].key == key) {
            m->slots[j].val = val;
            return 0;
        }
        j = (j + 1) & (m->cap - 1);
    }
    m->slots[j] = (kz_map_slot){ key, val, true };
    m->n++;
    return 0;
}

bool kz_map_get(const kz_map *m, int64_t key, uint64_t *val)
{
    if (!m->cap)
        return false;
    size_t j = kz_map_hash(key, m->cap);
    while (m->slots[j].used) {
        if (m->slots[j].key == key) {
            if (val)
                *val = m->slots[j].val;
            return true;
        }
        j = (j + 1) & (m->cap - 1);
    }
    return false;
}

bool kz_map_del(kz_map *m, int64_t key, uint64_t *val)
{
    if (!m->cap)
        return false;
    size_t mask = m->cap - 1, j = kz_map_hash(key, m->cap);
    while (m->slots[j].used && m->slots[j].key != key)
        j = (j + 1) & mask;
    if (!m->slots[j].used)
        return false;
    if (val)
        *val = m->slots[j].val;
    /* Backward-shift: pull later entries of the probe run into the hole. */
    size_t hole = j;
    for (size_t k = (j + 1) & mask; m->slots[k].used; k = (k + 1) & mask) {
        size_t home = kz_map_hash(m->slots[k].key, m->cap);
        bool movable = hole <= k ? (home <= hole || home > k) : (home <= hole && home > k);
        if (movable) {
            m->slots[hole] = m->slots[k];
            hole = k;
        }
    }
    m->slots[hole].used = false;
    m->n--;
    return true;
}

bool kz_map_next(const kz_map *m, size_t *it, int64_t *key, uint64_t *val)
{
    for (; *it < m->cap; (*it)++) {
        if (m->slots[*it].used) {
            if (key)
                *key = m->slots[*it].key;
            if (val)
                *val = m->slots[*it].val;
            (*it)++;
            return true;
        }
    }
    return false;
}
