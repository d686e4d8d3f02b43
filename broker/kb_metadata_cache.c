/* broker/kb_metadata_cache.c -- the cluster view fed by UpdateMetadata (see kb_metadata_cache.h). */
#include "kb_metadata_cache.h"

#include <stdlib.h>
#include <string.h>

#include "kz_map.h"
#include "kz_vec.h"

struct kb_mdc {
    kz_map by_hash;          /* fnv1a(name) -> kb_md_topic chain */
    kb_md_topic **sorted;    /* by name, for listing */
    int ntopics;
    size_t cap;
    kb_md_broker *brokers;   /* by id */
    int nbrokers;
    int32_t controller;
    uint64_t gen;
};

static int64_t kb_mdc_hash(const char *s, int32_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (int32_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ULL;
    return (int64_t)h;
}

kb_mdc *kb_mdc_new(void)
{
    kb_mdc *c = calloc(1, sizeof *c);
    if (c)
        c->controller = -1;
    return c;
}

static void kb_md_ids_free(kb_md_ids *ids) { free(ids->v); ids->v = NULL; ids->n = 0; }

static void kb_md_part_clear(kb_md_part *p)
{
    kb_md_ids_free(&p->replicas);
    kb_md_ids_free(&p->isr);
    kb_md_ids_free(&p->offline);
    memset(p, 0, sizeof *p);
}

static void kb_md_topic_free(kb_md_topic *t)
{
    for (int32_t i = 0; i < t->nparts; i++)
        kb_md_part_clear(&t->parts[i]);
    free(t->parts);
    free(t->name);
    free(t);
}

static void kb_mdc_free_brokers(kb_mdc *c)
{
    for (int i = 0; i < c->nbrokers; i++) {
        kb_md_broker *b = &c->brokers[i];
        for (int j = 0; j < b->nep; j++) {
            free(b->eps[j].listener);
            free(b->eps[j].host);
        }
        free(b->eps);
        free(b->rack);
    }
    free(c->brokers);
    c->brokers = NULL;
    c->nbrokers = 0;
}

void kb_mdc_free(kb_mdc *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->ntopics; i++)
        kb_md_topic_free(c->sorted[i]);
    free(c->sorted);
    kz_map_free(&c->by_hash);
    kb_mdc_free_brokers(c);
    free(c);
}

const kb_md_topic *kb_mdc_topic(const kb_mdc *c, const char *name, int32_t len)
{
    uint64_t v;
    if (len < 0 || !kz_map_get(&c->by_hash, kb_mdc_hash(name, len), &v))
        return NULL;
    for (kb_md_topic *t = (kb_md_topic *)(uintptr_t)v; t; t = t->hnext)
        if ((int32_t)strlen(t->name) == len && memcmp(t->name, name, (size_t)len) == 0)
            return t;
    return NULL;
}

const kb_md_part *kb_mdc_part(const kb_mdc *c, const char *topic, int32_t len, int32_t partition)
{
    const kb_md_topic *t = kb_mdc_topic(c, topic, len);
    if (!t || partition < 0 || partition >= t->nparts || !t->parts[partition].present)
        return NULL;
    return &t->parts[partition];
}

static int kb_mdc_cmp_topic(const void *a, const void *b)
{
    return strcmp((*(kb_md_topic *const *)a)->name, (*(kb_md_topic *const *)b)->name);
}

static kb_md_topic *kb_mdc_topic_get_or_add(kb_mdc *c, kz_str name)
{
    kb_md_topic *t = (kb_md_topic *)kb_mdc_topic(c, name.s, name.len);
    if (t)
        return t;
    if (KZ_VEC_RESERVE(c->sorted, c->cap, (size_t)c->ntopics + 1, 16) != 0)
        return NULL;
    t = calloc(1, sizeof *t);
    if (!t || !(t->name = strndup(name.s, (size_t)name.len))) {
        free(t);
        return NULL;
    }
    int64_t h = kb_mdc_hash(name.s, name.len);
    uint64_t head = 0;
    kz_map_get(&c->by_hash, h, &head);
    t->hnext = (kb_md_topic *)(uintptr_t)head;
    if (kz_map_put(&c->by_hash, h, (uint64_t)(uintptr_t)t) != 0) {
        kb_md_topic_free(t);
        return NULL;
    }
    c->sorted[c->ntopics++] = t;
    qsort(c->sorted, (size_t)c->ntopics, sizeof *c->sorted, kb_mdc_cmp_topic);
    return t;
}

static void kb_mdc_topic_remove(kb_mdc *c, kb_md_topic *t)
{
    int64_t h = kb_mdc_hash(t->name, (int32_t)strlen(t->name));
    uint64_t head = 0;
    kz_map_get(&c->by_hash, h, &head);
    kb_md_topic *first = (kb_md_topic *)(uintptr_t)head;
    if (first == t)
        first = t->hnext;
    else
        for (kb_md_topic *it = first; it && it->hnext; it = it->hnext)
            if (it->hnext == t) {
                it->hnext = t->hnext;
                break;
            }
    head = (uint64_t)(uintptr_t)first;
    if (head)
        kz_map_put(&c->by_hash, h, head);
    else
        kz_map_del(&c->by_hash, h, NULL);
    for (int i = 0; i < c->ntopics; i++)
        if (c->sorted[i] == t) {
            memmove(&c->sorted[i], &c->sorted[i + 1], (size_t)(c->ntopics - i - 1) * sizeof *c->sorted);
            c->ntopics--;
            break;
        }
    kb_md_topic_free(t);
}

static int kb_md_ids_set(kb_md_ids *dst, const kz_kai32 *src)
{
    kb_md_ids_free(dst);
    if (src->n <= 0)
        return 0;
    dst->v = malloc((size_t)src->n * sizeof(int32_t));
    if (!dst->v)
        return KZ_ENOMEM;
    memcpy(dst->v, src->v, (size_t)src->n * sizeof(int32_t));
    dst->n = src->n;
    return 0;
}

static int kb_mdc_apply_part(kb_mdc *c, kz_str topic, const kz_uuid *id, const kz_UpdateMetadataPartitionState *ps)
{
    if (ps->partition_index < 0 || topic.len <= 0)
        return 0;
    kb_md_topic *t = (kb_md_topic *)kb_mdc_topic(c, topic.s, topic.len);
    if (ps->leader == -2) { /* LeaderDuringDelete */
        if (!t || ps->partition_index >= t->nparts)
            return 0;
        kb_md_part_clear(&t->parts[ps->partition_index]);
        for (int32_t i = 0; i < t->nparts; i++)
            if (t->parts[i].present)
                return 0;
        kb_mdc_topic_remove(c, t);
        return 0;
    }
    if (!t && !(t = kb_mdc_topic_get_or_add(c, topic)))
        return KZ_ENOMEM;
    if (id)
        t->id = *id;
    if (ps->partition_index >= t->nparts) {
        int32_t n = ps->partition_index + 1;
        kb_md_part *v = realloc(t->parts, (size_t)n * sizeof *v);
        if (!v)
            return KZ_ENOMEM;
        memset(v + t->nparts, 0, (size_t)(n - t->nparts) * sizeof *v);
        t->parts = v;
        t->nparts = n;
    }
    kb_md_part *p = &t->parts[ps->partition_index];
    p->present = true;
    p->leader = ps->leader;
    p->leader_epoch = ps->leader_epoch;
    p->zk_version = ps->zk_version;
    p->controller_epoch = ps->controller_epoch;
    if (kb_md_ids_set(&p->replicas, &ps->replicas) || kb_md_ids_set(&p->isr, &ps->isr) ||
        kb_md_ids_set(&p->offline, &ps->offline_replicas))
        return KZ_ENOMEM;
    return 0;
}

static int kb_mdc_cmp_broker(const void *a, const void *b)
{
    int32_t x = ((const kb_md_broker *)a)->id, y = ((const kb_md_broker *)b)->id;
    return (x > y) - (x < y);
}

static char *kb_mdc_dup(kz_str s) { return s.len < 0 ? NULL : strndup(s.s, (size_t)s.len); }

static int kb_mdc_set_brokers(kb_mdc *c, const kz_UpdateMetadataRequest *req, int16_t ver)
{
    kb_mdc_free_brokers(c);
    int32_t n = req->live_brokers.n > 0 ? req->live_brokers.n : 0;
    if (n == 0)
        return 0;
    c->brokers = calloc((size_t)n, sizeof *c->brokers);
    if (!c->brokers)
        return KZ_ENOMEM;
    for (int32_t i = 0; i < n; i++) {
        const kz_UpdateMetadataBroker *src = &req->live_brokers.v[i];
        kb_md_broker *b = &c->brokers[c->nbrokers++];
        b->id = src->id;
        b->rack = src->rack.len > 0 ? kb_mdc_dup(src->rack) : NULL;
        int32_t ne = ver == 0 ? 1 : (src->endpoints.n > 0 ? src->endpoints.n : 0);
        if (ne == 0)
            continue;
        b->eps = calloc((size_t)ne, sizeof *b->eps);
        if (!b->eps)
            return KZ_ENOMEM;
        b->nep = ne;
        for (int32_t j = 0; j < ne; j++) {
            kb_md_ep *e = &b->eps[j];
            if (ver == 0) {
                e->listener = strdup("PLAINTEXT");
                e->host = kb_mdc_dup(src->v0_host);
                e->port = src->v0_port;
                continue;
            }
            const kz_UpdateMetadataEndpoint *se = &src->endpoints.v[j];
            static const char *const proto[] = { "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL" };
            e->security = se->security_protocol;
            /* Before v3 the listener is named after its security protocol. */
            if (ver >= 3)
                e->listener = kb_mdc_dup(se->listener);
            else
                e->listener = strdup(se->security_protocol >= 0 && se->security_protocol < 4
                                         ? proto[se->security_protocol] : "PLAINTEXT");
            e->host = kb_mdc_dup(se->host);
            e->port = se->port;
        }
    }
    qsort(c->brokers, (size_t)c->nbrokers, sizeof *c->brokers, kb_mdc_cmp_broker);
    return 0;
}

int kb_mdc_update(kb_mdc *c, const kz_UpdateMetadataRequest *req, int16_t ver)
{
    int rc = kb_mdc_set_brokers(c, req, ver);
    for (int32_t i = 0; rc == 0 && i < req->ungrouped_partition_states.n; i++) {
        const kz_UpdateMetadataPartitionState *ps = &req->ungrouped_partition_states.v[i];
        rc = kb_mdc_apply_part(c, ps->topic_name, NULL, ps);
    }
    for (int32_t i = 0; rc == 0 && i < req->topic_states.n; i++) {
        const kz_UpdateMetadataTopicState *ts = &req->topic_states.v[i];
        for (int32_t j = 0; rc == 0 && j < ts->partition_states.n; j++)
            rc = kb_mdc_apply_part(c, ts->topic_name, ver >= 7 ? &ts->topic_id : NULL,
                                   &ts->partition_states.v[j]);
    }
    c->controller = req->controller_id;
    c->gen++;
    return rc;
}

void kb_mdc_set_controller(kb_mdc *c, int32_t id) { c->controller = id; }
int32_t kb_mdc_controller(const kb_mdc *c) { return c->controller; }
int kb_mdc_topic_count(const kb_mdc *c) { return c->ntopics; }
const kb_md_topic *kb_mdc_topic_at(const kb_mdc *c, int i) { return c->sorted[i]; }
int kb_mdc_broker_count(const kb_mdc *c) { return c->nbrokers; }
const kb_md_broker *kb_mdc_broker_at(const kb_mdc *c, int i) { return &c->brokers[i]; }
uint64_t kb_mdc_generation(const kb_mdc *c) { return c->gen; }

const kb_md_broker *kb_mdc_broker(const kb_mdc *c, int32_t id)
{
    kb_md_broker key = { .id = id };
    return bsearch(&key, c->brokers, (size_t)c->nbrokers, sizeof *c->brokers, kb_mdc_cmp_broker);
}

bool kb_mdc_alive(const kb_mdc *c, int32_t id) { return kb_mdc_broker(c, id) != NULL; }

const kb_md_ep *kb_mdc_endpoint(const kb_md_broker *b, const char *listener)
{
    for (int i = 0; i < b->nep; i++)
        if (b->eps[i].listener && strcmp(b->eps[i].listener, listener) == 0)
            return &b->eps[i];
    return NULL;
}
