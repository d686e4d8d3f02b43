/* broker/kb_assign.c -- Kafka's default replica assignment (see kb_assign.h
 * for the algorithm in words; AdminUtils.scala of Kafka 2.8 is the
 * reference behaviour).
 * Pure functions. The random start uses a PRNG seeded once per process from
 * the clock and pid, which is all Kafka's scala.util.Random gives as well.
 * Locality: any thread (the PRNG state is per thread). */
#include "kb_assign.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int assign_cmp_id(const void *a, const void *b)
{
    int32_t x = ((const kb_assign_broker *)a)->id, y = ((const kb_assign_broker *)b)->id;
    return (x > y) - (x < y);
}

/* Kafka's replicaIndex: the position of follower @j of a partition whose
 * first replica is at @first, with shift @shift, among @n brokers. */
static int32_t assign_follower(int32_t first, int64_t shift, int32_t j, int32_t n)
{
    int64_t s = 1 + (shift + j) % (n - 1);
    return (int32_t)((first + s) % n);
}

/* Brokers sorted by id into a new array (the caller frees). */
static kb_assign_broker *assign_sorted(const kb_assign_broker *b, size_t n)
{
    kb_assign_broker *s = malloc((n ? n : 1) * sizeof *s);
    if (!s)
        return NULL;
    memcpy(s, b, n * sizeof *s);
    qsort(s, n, sizeof *s, assign_cmp_id);
    return s;
}

static void assign_unaware(const kb_assign_broker *sorted, int32_t n, int32_t nparts, int32_t rf,
                           int32_t first_part, int32_t start, int32_t shift0, int32_t *out)
{
    int64_t shift = shift0;
    int32_t p = first_part > 0 ? first_part : 0;
    for (int32_t i = 0; i < nparts; i++, p++) {
        if (p > 0 && p % n == 0)
            shift++;
        int32_t first = (int32_t)(((int64_t)p + start) % n);
        int32_t *row = out + (size_t)i * (size_t)rf;
        row[0] = sorted[first].id;
        for (int32_t j = 0; j < rf - 1; j++)
            row[j + 1] = sorted[assign_follower(first, shift, j, n)].id;
    }
}

static int assign_cmp_rack(const void *a, const void *b)
{
    const kb_assign_broker *x = a, *y = b;
    int c = strcmp(x->rack, y->rack);
    return c ? c : assign_cmp_id(a, b);
}

/* getRackAlternatedBrokerList: racks in name order, brokers of each rack in
 * id order, one broker of each rack in turn. @out gets n brokers. Returns the
 * number of racks. */
static int32_t assign_rack_alternate(const kb_assign_broker *b, int32_t n, kb_assign_broker *out,
                                     kb_assign_broker *scratch)
{
    memcpy(scratch, b, (size_t)n * sizeof *scratch);
    qsort(scratch, (size_t)n, sizeof *scratch, assign_cmp_rack);
    /* rack r spans scratch[rs[r] .. rs[r+1]) */
    int32_t *rs = malloc(((size_t)n + 1) * sizeof *rs), *pos = malloc(((size_t)n + 1) * sizeof *pos);
    int32_t nracks = 0;
    if (!rs || !pos) {
        free(rs);
        free(pos);
        return -1;
    }
    for (int32_t i = 0; i < n; i++)
        if (i == 0 || strcmp(scratch[i].rack, scratch[i - 1].rack) != 0)
            rs[nracks++] = i;
    rs[nracks] = n;
    for (int32_t r = 0; r < nracks; r++)
        pos[r] = rs[r];
    int32_t k = 0;
    for (int32_t r = 0; k < n; r = (r + 1) % nracks)
        if (pos[r] < rs[r + 1])
            out[k++] = scratch[pos[r]++];
    free(rs);
    free(pos);
    return nracks;
}

/* For each position of @arr (n brokers), a small number naming its rack
 * (0..nracks-1, in order of first appearance). */
static void assign_rack_numbers(const kb_assign_broker *arr, int32_t n, int32_t *rack_of)
{
    int32_t next = 0;
    for (int32_t i = 0; i < n; i++) {
        rack_of[i] = -1;
        for (int32_t j = 0; j < i && rack_of[i] < 0; j++)
            if (strcmp(arr[j].rack, arr[i].rack) == 0)
                rack_of[i] = rack_of[j];
        if (rack_of[i] < 0)
            rack_of[i] = next++;
    }
}

static int assign_aware(const kb_assign_broker *b, int32_t n, int32_t nparts, int32_t rf,
                        int32_t first_part, int32_t start, int32_t shift0, int32_t *out)
{
    kb_assign_broker *arr = malloc((size_t)n * sizeof *arr), *scratch = malloc((size_t)n * sizeof *scratch);
    int32_t *rack_of = malloc((size_t)n * sizeof *rack_of);
    bool *has_b = calloc((size_t)n, sizeof *has_b), *has_r = calloc((size_t)n, sizeof *has_r);
    int rc = KB_ASSIGN_ENOMEM;
    if (!arr || !scratch || !rack_of || !has_b || !has_r)
        goto out;
    int32_t nracks = assign_rack_alternate(b, n, arr, scratch);
    if (nracks < 0)
        goto out;
    assign_rack_numbers(arr, n, rack_of);
    int64_t shift = shift0;
    int32_t p = first_part > 0 ? first_part : 0;
    for (int32_t i = 0; i < nparts; i++, p++) {
        if (p > 0 && p % n == 0)
            shift++;
        int32_t first = (int32_t)(((int64_t)p + start) % n);
        int32_t *row = out + (size_t)i * (size_t)rf;
        memset(has_b, 0, (size_t)n * sizeof *has_b);
        memset(has_r, 0, (size_t)n * sizeof *has_r);
        row[0] = arr[first].id;
        has_b[first] = true;
        has_r[rack_of[first]] = true;
        int32_t nb = 1, nr = 1, k = 0;
        for (int32_t j = 1; j < rf; j++) {
            /* Terminates: while nb < rf <= n some broker holds no replica,
             * and the walk visits every position but the first. */
            for (;;) {
                int32_t x = assign_follower(first, shift * nracks, k++, n);
                /* Take it unless its rack has a replica while another rack
                 * has none, or it has one while another broker has none. */
                if ((!has_r[rack_of[x]] || nr == nracks) && (!has_b[x] || nb == n)) {
                    row[j] = arr[x].id;
                    nr += !has_r[rack_of[x]];
                    nb += !has_b[x];
                    has_r[rack_of[x]] = has_b[x] = true;
                    break;
                }
            }
        }
    }
    rc = KB_ASSIGN_OK;
out:
    free(arr);
    free(scratch);
    free(rack_of);
    free(has_b);
    free(has_r);
    return rc;
}

int kb_assign_replicas_fixed(const kb_assign_broker *brokers, size_t nbrokers, int32_t nparts,
                             int32_t rf, int32_t first_part, int32_t start, int32_t shift,
                             int32_t *out)
{
    if (nparts <= 0)
        return KB_ASSIGN_EBAD_PARTS;
    if (rf <= 0 || (size_t)rf > nbrokers || nbrokers > INT32_MAX)
        return KB_ASSIGN_EBAD_RF;
    size_t with_rack = 0;
    for (size_t i = 0; i < nbrokers; i++)
        with_rack += brokers[i].rack != NULL;
    if (with_rack && with_rack != nbrokers)
        return KB_ASSIGN_ENO_RACK;
    int32_t n = (int32_t)nbrokers;
    if (start < 0)
        start = 0;
    if (shift < 0)
        shift = 0;
    if (with_rack)
        return assign_aware(brokers, n, nparts, rf, first_part, start, shift, out);
    kb_assign_broker *s = assign_sorted(brokers, nbrokers);
    if (!s)
        return KB_ASSIGN_ENOMEM;
    assign_unaware(s, n, nparts, rf, first_part, start, shift, out);
    free(s);
    return KB_ASSIGN_OK;
}

static _Thread_local uint64_t assign_rng;

/* Uniform enough in [0, n) for placing replicas; n > 0. */
static int32_t assign_rand(int32_t n)
{
    if (!assign_rng) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        assign_rng = ((uint64_t)ts.tv_sec * 1000000007u) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
        if (!assign_rng)
            assign_rng = 0x9e3779b97f4a7c15ULL;
    }
    assign_rng ^= assign_rng >> 12;
    assign_rng ^= assign_rng << 25;
    assign_rng ^= assign_rng >> 27;
    return (int32_t)(((assign_rng * 2685821657736338717ULL) >> 33) % (uint64_t)n);
}

int kb_assign_replicas(const kb_assign_broker *brokers, size_t nbrokers, int32_t nparts,
                       int32_t rf, int32_t first_part, int32_t *out)
{
    if (nbrokers == 0 || nbrokers > INT32_MAX)
        return kb_assign_replicas_fixed(brokers, nbrokers, nparts, rf, first_part, 0, 0, out);
    int32_t start = assign_rand((int32_t)nbrokers);
    int32_t shift = assign_rand((int32_t)nbrokers);
    return kb_assign_replicas_fixed(brokers, nbrokers, nparts, rf, first_part, start, shift, out);
}

int32_t kb_assign_start_index(const kb_assign_broker *brokers, size_t nbrokers, int32_t id)
{
    int32_t idx = 0; /* count of brokers with a smaller id = index in id order */
    bool any = false;
    for (size_t i = 0; i < nbrokers; i++) {
        if (brokers[i].id >= id)
            any = true;
        else
            idx++;
    }
    return any ? idx : 0;
}

const char *kb_assign_strerror(int err, int32_t rf, size_t nbrokers, char *buf, size_t len)
{
    switch (err) {
    case KB_ASSIGN_OK:
        snprintf(buf, len, "ok");
        break;
    case KB_ASSIGN_EBAD_RF:
        if (rf <= 0)
            snprintf(buf, len, "Replication factor must be larger than 0.");
        else
            snprintf(buf, len, "Replication factor: %d larger than available brokers: %zu.", rf, nbrokers);
        break;
    case KB_ASSIGN_EBAD_PARTS:
        snprintf(buf, len, "Number of partitions must be larger than 0.");
        break;
    case KB_ASSIGN_ENO_RACK:
        snprintf(buf, len, "Not all brokers have rack information for replica rack aware assignment.");
        break;
    default:
        snprintf(buf, len, "Out of memory while assigning replicas.");
        break;
    }
    return buf;
}
