/* broker/kb_dyncfg.c -- topic config overrides from ZooKeeper (see kb_dyncfg.h). */
#include "kb_dyncfg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kb_log.h"
#include "kb_log_mgr.h"
#include "kb_server.h"
#include "kb_zk.h"
#include "kz_log.h"
#include "kz_zkc.h"

#define KB_DYN_LOG "kafka.server.DynamicConfigManager"

typedef struct kb_dyn_topic {
    char *name;
    kb_topic_cfg cfg;
    struct kb_dyn_topic *next;
} kb_dyn_topic;

struct kb_dyncfg {
    kb_server *s;
    kb_topic_cfg defaults;
    kb_dyn_topic *topics;        /* a list: a broker hosts few enough topics */
    int64_t last_change;         /* highest config_change_ sequence handled */
    bool started;
};

/* A pending ZooKeeper read: carries the topic name; ignored if the manager
 * went away meanwhile (kz_zkc drops callbacks after kz_zkc_free, which the
 * server calls before kb_dyncfg_free). */
typedef struct kb_dyn_req {
    kb_dyncfg *d;
    char topic[256];
} kb_dyn_req;

kb_dyncfg *kb_dyncfg_new(kb_server *s)
{
    kb_dyncfg *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->s = s;
    d->last_change = -1;
    char err[256];
    if (kb_topic_cfg_resolve(&d->defaults, s->cfg, NULL, 0, err, sizeof err) != 0) {
        kz_error(KB_DYN_LOG, "broker defaults do not resolve to a topic config: %s", err);
        free(d);
        return NULL;
    }
    return d;
}

void kb_dyncfg_free(kb_dyncfg *d)
{
    if (!d)
        return;
    while (d->topics) {
        kb_dyn_topic *t = d->topics;
        d->topics = t->next;
        free(t->name);
        free(t);
    }
    free(d);
}

static kb_dyn_topic *kb_dyn_find(const kb_dyncfg *d, const char *name, int32_t len)
{
    for (kb_dyn_topic *t = d->topics; t; t = t->next)
        if ((int32_t)strlen(t->name) == len && memcmp(t->name, name, (size_t)len) == 0)
            return t;
    return NULL;
}

const kb_topic_cfg *kb_dyncfg_topic(const kb_dyncfg *d, const char *topic, int32_t len)
{
    const kb_dyn_topic *t = d && len >= 0 ? kb_dyn_find(d, topic, len) : NULL;
    return t ? &t->cfg : d ? &d->defaults : NULL;
}

/* Applies a topic's znode contents (NULL data: no overrides). */
static void kb_dyn_apply(kb_dyncfg *d, const char *topic, const char *data, int32_t len)
{
    kz_arena a = KZ_ARENA_INIT;
    kb_zk_config zc = { 0 };
    char err[256];
    kb_cfg_pair *pairs = NULL;
    if (data && len > 0 && kb_zk_config_decode(data, (size_t)len, &a, &zc, err, sizeof err) != 0) {
        kz_warn(KB_DYN_LOG, "Ignoring the config of topic %s: %s", topic, err);
        goto out;
    }
    if (zc.n > 0 && !(pairs = kz_arena_alloc(&a, (size_t)zc.n * sizeof *pairs)))
        goto out;
    for (int32_t i = 0; i < zc.n; i++)
        pairs[i] = (kb_cfg_pair){ zc.entries[i].key, zc.entries[i].value };
    kb_topic_cfg cfg;
    if (kb_topic_cfg_resolve(&cfg, d->s->cfg, pairs, (size_t)(zc.n > 0 ? zc.n : 0), err, sizeof err) != 0) {
        kz_warn(KB_DYN_LOG, "Ignoring the config of topic %s: %s", topic, err);
        goto out;
    }
    kb_dyn_topic *t = kb_dyn_find(d, topic, (int32_t)strlen(topic));
    if (!t) {
        t = calloc(1, sizeof *t);
        if (!t || !(t->name = strdup(topic))) {
            free(t);
            goto out;
        }
        t->next = d->topics;
        d->topics = t;
    }
    t->cfg = cfg;
    kb_log_cfg lc;
    kb_log_cfg_from_topic(&lc, &cfg);
    kb_log_mgr_set_topic_cfg(d->s->logs, topic, zc.n > 0 ? &lc : NULL);
    if (zc.n > 0)
        kz_info(KB_DYN_LOG, "Processing override for entityPath: topics/%s with config: %d override(s)",
                topic, zc.n);
out:
    kz_arena_reset(&a);
}

static void kb_dyn_on_topic_config(void *ctx, const kz_zkc_result *res)
{
    kb_dyn_req *r = ctx;
    if (res->rc == KZ_ZOK)
        kb_dyn_apply(r->d, r->topic, res->data, res->data_len);
    else if (res->rc == KZ_ZNONODE)
        kb_dyn_apply(r->d, r->topic, NULL, -1);
    free(r);
}

static void kb_dyn_read(kb_dyncfg *d, const char *topic)
{
    kb_dyn_req *r = calloc(1, sizeof *r);
    char path[512];
    if (!r || strlen(topic) >= sizeof r->topic || kb_zk_path_config(path, sizeof path, "topics", topic) < 0) {
        free(r);
        return;
    }
    r->d = d;
    snprintf(r->topic, sizeof r->topic, "%s", topic);
    if (kz_zkc_get(d->s->zk, path, NULL, NULL, kb_dyn_on_topic_config, r) != 0)
        free(r);
}

void kb_dyncfg_load_topic(kb_dyncfg *d, const char *topic)
{
    if (!d || kb_dyn_find(d, topic, (int32_t)strlen(topic)))
        return;
    /* Known from now on (with the defaults) so a burst of partitions reads once. */
    kb_dyn_topic *t = calloc(1, sizeof *t);
    if (!t || !(t->name = strdup(topic))) {
        free(t);
        return;
    }
    t->cfg = d->defaults;
    t->next = d->topics;
    d->topics = t;
    kb_dyn_read(d, topic);
}

/* ---- /config/changes ---- */

static void kb_dyn_watch_changes(kb_dyncfg *d);

typedef struct kb_dyn_change {
    kb_dyncfg *d;
    int64_t seq;
} kb_dyn_change;

static void kb_dyn_on_change(void *ctx, const kz_zkc_result *res)
{
    kb_dyn_change *c = ctx;
    kb_dyncfg *d = c->d;
    if (res->rc == KZ_ZOK && res->data && res->data_len > 0) {
        kz_arena a = KZ_ARENA_INIT;
        kb_zk_config_change ch;
        char err[256];
        if (kb_zk_config_change_decode(res->data, (size_t)res->data_len, &a, &ch, err, sizeof err) == 0 &&
            strcmp(ch.entity_type, "topics") == 0 &&
            kb_dyn_find(d, ch.entity_name, (int32_t)strlen(ch.entity_name)))
            kb_dyn_read(d, ch.entity_name);
        kz_arena_reset(&a);
    }
    free(c);
}

static void kb_dyn_on_children(void *ctx, const kz_zkc_result *res)
{
    kb_dyncfg *d = ctx;
    if (res->rc != KZ_ZOK)
        return;
    int64_t max = d->last_change;
    for (int32_t i = 0; i < res->n_children; i++) {
        const char *seq = kb_zk_seq_suffix(res->children[i], "config_change_");
        if (!seq)
            continue;
        int64_t n = strtoll(seq, NULL, 10);
        if (n > max)
            max = n;
        if (!d->started || n <= d->last_change)
            continue; /* the first listing only sets the mark: configs are read fresh */
        kb_dyn_change *c = calloc(1, sizeof *c);
        char path[256];
        snprintf(path, sizeof path, "/config/changes/%s", res->children[i]);
        if (c) {
            c->d = d;
            c->seq = n;
            if (kz_zkc_get(d->s->zk, path, NULL, NULL, kb_dyn_on_change, c) != 0)
                free(c);
        }
    }
    d->last_change = max;
    d->started = true;
}

static void kb_dyn_on_watch(void *ctx, int type, const char *path)
{
    (void)path;
    if (type == KZ_ZKC_EV_CHILD)
        kb_dyn_watch_changes(ctx);
}

static void kb_dyn_watch_changes(kb_dyncfg *d)
{
    kz_zkc_children(d->s->zk, "/config/changes", kb_dyn_on_watch, d, kb_dyn_on_children, d);
}

void kb_dyncfg_start(kb_dyncfg *d)
{
    if (d)
        kb_dyn_watch_changes(d);
}
