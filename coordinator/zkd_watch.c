/* coordinator/zkd_watch.c -- ZooKeeper 3.8 watch manager (see zkd_watch.h).
 *
 * Layout. One node (zw_watch) per (watcher, path, table), carrying the mode
 * bits {STD, PERSIST, REC} that the watcher holds on that path in that table.
 * Each node sits on three lists at once:
 *   - its path entry's list for the table (zw_ent.t[tab]), in insertion order:
 *     a trigger walks it and delivers in that order;
 *   - its watcher's list (zw_rec), so closing a connection costs O(own watches);
 *   - a chain of the global (watcher, entry, table) hash, so add / contains /
 *     remove find the node in O(1) however many watchers share the path.
 * Paths live in a chained hash of zw_ent (FNV-1a 64 then a mix); the hash of
 * every prefix falls out of one pass over the path, which is how ancestors
 * are looked up for persistent-recursive watches. That walk only happens when
 * the table holds at least one recursive watch (m->nrec[tab]), and ancestor
 * entries without recursive watches (ent->t[tab].nrec == 0) are skipped.
 *
 * Semantics follow WatchManager/DataTree of 3.8 (addWatch puts persistent and
 * persistent-recursive watches in both tables), with two deliberate choices:
 *   - modes are bits: a standard watch added on a path where the watcher has a
 *     persistent one keeps both (3.8.0 replaced the mode, ZOOKEEPER-4466; this
 *     is the 3.9 behaviour). A trigger delivers once and clears only STD.
 *   - contains() answers for this watcher only; 3.8.0's containsWatcher said
 *     yes when any watcher watched the path.
 * Kept from 3.8 on purpose: a watcher that ever held a data-table watch stays
 * listed in the data-table statistics until zkd_watch_remove_watcher (Java
 * keeps its empty watch2Paths set), so wchs counts it among "connections" and
 * wchc prints its session with no paths, as ZooKeeper does.
 *
 * Delivery: a table trigger first collects the watchers (each at most once:
 * rec->stamp), removes fired one-shot watches, then calls deliver for each in
 * collection order: the path's own watchers in insertion order, then those of
 * recursive watches on ancestors from "/" downwards. The deliver callback may
 * add or remove watches (a watcher it removes gets no further call from the
 * same trigger) but must not call zkd_watch_trigger.
 * Locality: zkd loop thread only. */
#include "zkd_watch.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "kz_buf.h"
#include "kz_map.h"
#include "kz_vec.h"
#include "zkd_datatree.h"

enum { ZW_DATA = 0, ZW_CHILD = 1, ZW_NTAB = 2 };
enum { ZW_STD = 1u, ZW_PERSIST = 2u, ZW_REC = 4u };

#define ZW_POOL_MAX 4096 /* freed watch nodes kept for reuse */

typedef struct zw_rec zw_rec;
typedef struct zw_ent zw_ent;
typedef struct zw_watch zw_watch;

struct zw_watch {
    zw_watch *enext, *eprev; /* entry's list for this table */
    zw_watch *rnext, *rprev; /* watcher's list (both tables) */
    zw_watch *hnext;         /* global hash chain; pool link when free */
    zw_rec *rec;
    zw_ent *ent;
    uint8_t tab, mode;
};

typedef struct zw_list {
    zw_watch *head, *tail;
    uint32_t n;    /* nodes */
    uint32_t nrec; /* nodes with ZW_REC */
} zw_list;

struct zw_ent {
    zw_ent *hnext;
    zw_list t[ZW_NTAB];
    uint32_t hash, len;
    uint32_t pins; /* > 0 while a trigger still uses ->path for delivery */
    char path[];   /* NUL-terminated */
};

struct zw_rec {
    void *watcher;
    zw_rec *next, *prev; /* m->recs, creation order */
    zw_watch *head, *tail;
    uint32_t nwatch, ndata;
    bool data_seen;      /* counted in data_watchers (see file comment) */
    uint64_t stamp;      /* last table trigger that collected this watcher */
};

struct zkd_watch_mgr {
    zkd_watch_deliver_fn *deliver;
    void *ctx;
    zw_ent **ents;
    size_t ents_cap, nents;
    zw_watch **wh;
    size_t wh_cap, nw;
    kz_map by_watcher; /* (intptr_t)watcher -> zw_rec * */
    zw_rec *recs, *recs_tail;
    size_t nrecs;
    size_t n[ZW_NTAB];    /* watch nodes per table */
    size_t nrec[ZW_NTAB]; /* nodes with ZW_REC per table */
    size_t data_paths;    /* entries with t[ZW_DATA].n > 0 */
    size_t data_watchers; /* recs with data_seen */
    void **out;           /* collected watchers; out_cap >= nrecs always */
    size_t out_cap, out_n, out_pos;
    uint64_t stamp;
    bool firing;
    zw_watch *pool;
    size_t npool;
};

/* ---- hashing ---- */

#define ZW_FNV_OFF   0xcbf29ce484222325ULL
#define ZW_FNV_PRIME 0x100000001b3ULL

static inline uint64_t zw_step(uint64_t h, char c) { return (h ^ (uint8_t)c) * ZW_FNV_PRIME; }
static inline uint32_t zw_fin(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return (uint32_t)h;
}
static uint32_t zw_hash(const char *p, uint32_t len)
{
    uint64_t h = ZW_FNV_OFF;
    for (uint32_t i = 0; i < len; i++)
        h = zw_step(h, p[i]);
    return zw_fin(h);
}

static inline size_t zw_wslot(size_t cap, const zw_rec *r, const zw_ent *e, unsigned tab)
{
    uint64_t x = (uint64_t)(uintptr_t)r * 0x9e3779b97f4a7c15ULL;
    x ^= ((uint64_t)(uintptr_t)e + tab) * 0xc2b2ae3d27d4eb4fULL;
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 29;
    return (size_t)x & (cap - 1);
}

/* ---- path entries ---- */

static zw_ent *zw_ent_find(const zkd_watch_mgr *m, const char *p, uint32_t len, uint32_t h)
{
    if (!m->ents_cap)
        return NULL;
    for (zw_ent *e = m->ents[h & (m->ents_cap - 1)]; e; e = e->hnext)
        if (e->hash == h && e->len == len && memcmp(e->path, p, len) == 0)
            return e;
    return NULL;
}

static int zw_ents_grow(zkd_watch_mgr *m)
{
    size_t ncap = m->ents_cap ? m->ents_cap * 2 : 64;
    zw_ent **nb = calloc(ncap, sizeof *nb);
    if (!nb)
        return KZ_ENOMEM;
    for (size_t i = 0; i < m->ents_cap; i++) {
        for (zw_ent *e = m->ents[i], *nx; e; e = nx) {
            nx = e->hnext;
            size_t j = e->hash & (ncap - 1);
            e->hnext = nb[j];
            nb[j] = e;
        }
    }
    free(m->ents);
    m->ents = nb;
    m->ents_cap = ncap;
    return 0;
}

static zw_ent *zw_ent_get(zkd_watch_mgr *m, const char *p, uint32_t len)
{
    uint32_t h = zw_hash(p, len);
    zw_ent *e = zw_ent_find(m, p, len, h);
    if (e)
        return e;
    if (m->nents + 1 > m->ents_cap && zw_ents_grow(m))
        return NULL;
    e = calloc(1, sizeof *e + (size_t)len + 1);
    if (!e)
        return NULL;
    memcpy(e->path, p, len);
    e->path[len] = '\0';
    e->len = len;
    e->hash = h;
    size_t j = h & (m->ents_cap - 1);
    e->hnext = m->ents[j];
    m->ents[j] = e;
    m->nents++;
    return e;
}

/* Frees @e once it holds no watch and no trigger is using it. */
static void zw_ent_release(zkd_watch_mgr *m, zw_ent *e)
{
    if (e->t[ZW_DATA].n || e->t[ZW_CHILD].n || e->pins)
        return;
    zw_ent **pp = &m->ents[e->hash & (m->ents_cap - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    m->nents--;
    free(e);
}

/* ---- watchers ---- */

static zw_rec *zw_rec_find(const zkd_watch_mgr *m, const void *watcher)
{
    uint64_t v;
    return kz_map_get(&m->by_watcher, (int64_t)(intptr_t)watcher, &v) ? (zw_rec *)(uintptr_t)v : NULL;
}

static zw_rec *zw_rec_get(zkd_watch_mgr *m, void *watcher)
{
    zw_rec *r = zw_rec_find(m, watcher);
    if (r)
        return r;
    if (KZ_VEC_RESERVE(m->out, m->out_cap, m->nrecs + 1, 16) != 0)
        return NULL;
    r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (kz_map_put(&m->by_watcher, (int64_t)(intptr_t)watcher, (uint64_t)(uintptr_t)r)) {
        free(r);
        return NULL;
    }
    r->watcher = watcher;
    r->prev = m->recs_tail;
    if (m->recs_tail)
        m->recs_tail->next = r;
    else
        m->recs = r;
    m->recs_tail = r;
    m->nrecs++;
    return r;
}

static void zw_rec_free(zkd_watch_mgr *m, zw_rec *r)
{
    kz_map_del(&m->by_watcher, (int64_t)(intptr_t)r->watcher, NULL);
    if (r->prev)
        r->prev->next = r->next;
    else
        m->recs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        m->recs_tail = r->prev;
    if (r->data_seen)
        m->data_watchers--;
    m->nrecs--;
    free(r);
}

/* Frees @r when nothing refers to it any more. */
static void zw_rec_release(zkd_watch_mgr *m, zw_rec *r)
{
    if (r->nwatch == 0 && !r->data_seen)
        zw_rec_free(m, r);
}

/* ---- watch nodes ---- */

static zw_watch *zw_watch_find(const zkd_watch_mgr *m, const zw_rec *r, const zw_ent *e, unsigned tab)
{
    if (!m->wh_cap)
        return NULL;
    for (zw_watch *w = m->wh[zw_wslot(m->wh_cap, r, e, tab)]; w; w = w->hnext)
        if (w->rec == r && w->ent == e && w->tab == tab)
            return w;
    return NULL;
}

/* Makes room in the node hash for @more nodes. */
static int zw_wh_reserve(zkd_watch_mgr *m, size_t more)
{
    if (m->nw + more <= m->wh_cap)
        return 0;
    size_t ncap = m->wh_cap ? m->wh_cap : 256;
    while (ncap < m->nw + more)
        ncap *= 2;
    zw_watch **nb = calloc(ncap, sizeof *nb);
    if (!nb)
        return KZ_ENOMEM;
    for (size_t i = 0; i < m->wh_cap; i++) {
        for (zw_watch *w = m->wh[i], *nx; w; w = nx) {
            nx = w->hnext;
            size_t j = zw_wslot(ncap, w->rec, w->ent, w->tab);
            w->hnext = nb[j];
            nb[j] = w;
        }
    }
    free(m->wh);
    m->wh = nb;
    m->wh_cap = ncap;
    return 0;
}

static zw_watch *zw_watch_alloc(zkd_watch_mgr *m)
{
    zw_watch *w = m->pool;
    if (w) {
        m->pool = w->hnext;
        m->npool--;
        return w;
    }
    return malloc(sizeof *w);
}

static void zw_watch_dispose(zkd_watch_mgr *m, zw_watch *w)
{
    if (m->npool < ZW_POOL_MAX) {
        w->hnext = m->pool;
        m->pool = w;
        m->npool++;
    } else {
        free(w);
    }
}

/* Links a fresh node; the hash has room (zw_wh_reserve). */
static void zw_link(zkd_watch_mgr *m, zw_watch *w, zw_rec *r, zw_ent *e, unsigned tab, uint8_t mode)
{
    zw_list *l = &e->t[tab];
    *w = (zw_watch){ .rec = r, .ent = e, .tab = (uint8_t)tab, .mode = mode };
    w->eprev = l->tail;
    if (l->tail)
        l->tail->enext = w;
    else
        l->head = w;
    l->tail = w;
    if (l->n++ == 0 && tab == ZW_DATA)
        m->data_paths++;
    w->rprev = r->tail;
    if (r->tail)
        r->tail->rnext = w;
    else
        r->head = w;
    r->tail = w;
    r->nwatch++;
    if (tab == ZW_DATA) {
        r->ndata++;
        if (!r->data_seen) {
            r->data_seen = true;
            m->data_watchers++;
        }
    }
    size_t j = zw_wslot(m->wh_cap, r, e, tab);
    w->hnext = m->wh[j];
    m->wh[j] = w;
    m->nw++;
    m->n[tab]++;
    if (mode & ZW_REC) {
        l->nrec++;
        m->nrec[tab]++;
    }
}

/* Unlinks and disposes of @w; the caller releases its entry and watcher. */
static void zw_unlink(zkd_watch_mgr *m, zw_watch *w)
{
    zw_ent *e = w->ent;
    zw_rec *r = w->rec;
    unsigned tab = w->tab;
    zw_list *l = &e->t[tab];
    if (w->eprev)
        w->eprev->enext = w->enext;
    else
        l->head = w->enext;
    if (w->enext)
        w->enext->eprev = w->eprev;
    else
        l->tail = w->eprev;
    if (--l->n == 0 && tab == ZW_DATA)
        m->data_paths--;
    if (w->rprev)
        w->rprev->rnext = w->rnext;
    else
        r->head = w->rnext;
    if (w->rnext)
        w->rnext->rprev = w->rprev;
    else
        r->tail = w->rprev;
    r->nwatch--;
    if (tab == ZW_DATA)
        r->ndata--;
    zw_watch **pp = &m->wh[zw_wslot(m->wh_cap, r, e, tab)];
    while (*pp != w)
        pp = &(*pp)->hnext;
    *pp = w->hnext;
    m->nw--;
    m->n[tab]--;
    if (w->mode & ZW_REC) {
        l->nrec--;
        m->nrec[tab]--;
    }
    zw_watch_dispose(m, w);
}

static void zw_set_mode(zkd_watch_mgr *m, zw_watch *w, uint8_t mode)
{
    if ((mode & ZW_REC) && !(w->mode & ZW_REC)) {
        w->ent->t[w->tab].nrec++;
        m->nrec[w->tab]++;
    } else if (!(mode & ZW_REC) && (w->mode & ZW_REC)) {
        w->ent->t[w->tab].nrec--;
        m->nrec[w->tab]--;
    }
    w->mode = mode;
}

/* ---- lifecycle ---- */

zkd_watch_mgr *zkd_watch_new(zkd_watch_deliver_fn *deliver, void *ctx)
{
    zkd_watch_mgr *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->deliver = deliver;
    m->ctx = ctx;
    m->by_watcher = KZ_MAP_INIT;
    return m;
}

void zkd_watch_free(zkd_watch_mgr *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->wh_cap; i++) {
        for (zw_watch *w = m->wh[i], *nx; w; w = nx) {
            nx = w->hnext;
            free(w);
        }
    }
    for (zw_watch *w = m->pool, *nx; w; w = nx) {
        nx = w->hnext;
        free(w);
    }
    for (size_t i = 0; i < m->ents_cap; i++) {
        for (zw_ent *e = m->ents[i], *nx; e; e = nx) {
            nx = e->hnext;
            free(e);
        }
    }
    for (zw_rec *r = m->recs, *nx; r; r = nx) {
        nx = r->next;
        free(r);
    }
    kz_map_free(&m->by_watcher);
    free(m->wh);
    free(m->ents);
    free(m->out);
    free(m);
}

/* ---- add / contains / remove ---- */

int zkd_watch_add(zkd_watch_mgr *m, void *watcher, zkd_watch_kind kind, const char *path, uint32_t len)
{
    unsigned tabs;
    uint8_t bit;
    switch (kind) {
    case ZKD_WATCH_DATA:                 tabs = 1u << ZW_DATA; bit = ZW_STD; break;
    case ZKD_WATCH_CHILD:                tabs = 1u << ZW_CHILD; bit = ZW_STD; break;
    case ZKD_WATCH_PERSISTENT:           tabs = 3u; bit = ZW_PERSIST; break;
    case ZKD_WATCH_PERSISTENT_RECURSIVE: tabs = 3u; bit = ZW_REC; break;
    default:                             return 0;
    }
    assert(watcher != NULL);
    zw_rec *r = zw_rec_get(m, watcher);
    if (!r)
        return KZ_ENOMEM;
    zw_ent *e = zw_ent_get(m, path, len);
    if (!e) {
        zw_rec_release(m, r);
        return KZ_ENOMEM;
    }
    /* Allocate everything first so a failure leaves no half-added watch. */
    zw_watch *have[ZW_NTAB] = { NULL, NULL }, *fresh[ZW_NTAB] = { NULL, NULL };
    size_t need = 0;
    for (unsigned t = 0; t < ZW_NTAB; t++) {
        if (!(tabs & (1u << t)))
            continue;
        if ((have[t] = zw_watch_find(m, r, e, t)) == NULL) {
            if ((fresh[t] = zw_watch_alloc(m)) == NULL)
                goto nomem;
            need++;
        }
    }
    if (zw_wh_reserve(m, need))
        goto nomem;
    for (unsigned t = 0; t < ZW_NTAB; t++) {
        if (have[t])
            zw_set_mode(m, have[t], (uint8_t)(have[t]->mode | bit));
        else if (fresh[t])
            zw_link(m, fresh[t], r, e, t, bit);
    }
    return 0;
nomem:
    for (unsigned t = 0; t < ZW_NTAB; t++)
        if (fresh[t])
            zw_watch_dispose(m, fresh[t]);
    zw_ent_release(m, e);
    zw_rec_release(m, r);
    return KZ_ENOMEM;
}

/* Tables named by a WatcherType: CHILDREN (1) -> child, DATA (2) -> data, ANY (3) -> both. */
static unsigned zw_wtype_tabs(int wtype)
{
    switch (wtype) {
    case ZKD_WTYPE_CHILDREN: return 1u << ZW_CHILD;
    case ZKD_WTYPE_DATA:     return 1u << ZW_DATA;
    case ZKD_WTYPE_ANY:      return 3u;
    default:                 return 0;
    }
}

bool zkd_watch_contains(const zkd_watch_mgr *m, void *watcher, const char *path, uint32_t len, int wtype)
{
    zw_rec *r = zw_rec_find(m, watcher);
    if (!r || !r->nwatch)
        return false;
    zw_ent *e = zw_ent_find(m, path, len, zw_hash(path, len));
    if (!e)
        return false;
    unsigned tabs = zw_wtype_tabs(wtype);
    for (unsigned t = 0; t < ZW_NTAB; t++)
        if ((tabs & (1u << t)) && zw_watch_find(m, r, e, t))
            return true;
    return false;
}

bool zkd_watch_remove(zkd_watch_mgr *m, void *watcher, const char *path, uint32_t len, int wtype)
{
    zw_rec *r = zw_rec_find(m, watcher);
    if (!r || !r->nwatch)
        return false;
    zw_ent *e = zw_ent_find(m, path, len, zw_hash(path, len));
    if (!e)
        return false;
    unsigned tabs = zw_wtype_tabs(wtype);
    bool removed = false;
    for (unsigned t = 0; t < ZW_NTAB; t++) {
        zw_watch *w = (tabs & (1u << t)) ? zw_watch_find(m, r, e, t) : NULL;
        if (w) {
            zw_unlink(m, w);
            removed = true;
        }
    }
    zw_ent_release(m, e);
    zw_rec_release(m, r);
    return removed;
}

void zkd_watch_remove_watcher(zkd_watch_mgr *m, void *watcher)
{
    zw_rec *r = zw_rec_find(m, watcher);
    if (!r)
        return;
    while (r->head) {
        zw_ent *e = r->head->ent;
        zw_unlink(m, r->head);
        zw_ent_release(m, e);
    }
    /* Called from a deliver callback: no later call for this watcher. */
    if (m->firing)
        for (size_t i = m->out_pos + 1; i < m->out_n; i++)
            if (m->out[i] == watcher)
                m->out[i] = NULL;
    zw_rec_free(m, r);
}

/* ---- triggers ---- */

/* Puts @r's watcher in m->out unless it is already there (this trigger's
 * @stamp) or was told by the trigger @told (the data-table delete). */
static inline void zw_take(zkd_watch_mgr *m, zw_rec *r, uint64_t stamp, uint64_t told)
{
    if (r->stamp == stamp)
        return;
    bool suppressed = told != 0 && r->stamp == told;
    r->stamp = stamp;
    if (!suppressed)
        m->out[m->out_n++] = r->watcher;
}

/* Recursive watches of the ancestor entry (@p, @len) fire. */
static void zw_take_ancestor(zkd_watch_mgr *m, unsigned tab, const char *p, uint32_t len, uint32_t h,
                             uint64_t stamp, uint64_t told)
{
    zw_ent *e = zw_ent_find(m, p, len, h);
    if (!e || !e->t[tab].nrec)
        return;
    uint32_t left = e->t[tab].nrec;
    for (zw_watch *w = e->t[tab].head; w && left; w = w->enext) {
        if (w->mode & ZW_REC) {
            zw_take(m, w->rec, stamp, told);
            left--;
        }
    }
}

/* One table trigger (WatchManager.triggerWatch): collects who hears @event on
 * @path, drops fired one-shot watches, then delivers. @told is the stamp of
 * an earlier trigger whose watchers must not hear this one (0: none).
 * Returns this trigger's stamp. */
static uint64_t zw_fire(zkd_watch_mgr *m, unsigned tab, int event, const char *path, uint32_t len, uint64_t told)
{
    uint64_t stamp = ++m->stamp;
    assert(!m->firing);
    m->out_n = 0;
    zw_ent *e = zw_ent_find(m, path, len, zw_hash(path, len));
    if (e && e->t[tab].n) {
        e->pins++;
        for (zw_watch *w = e->t[tab].head, *nx; w; w = nx) {
            nx = w->enext;
            zw_rec *r = w->rec;
            if ((w->mode & (ZW_STD | ZW_PERSIST)) || ((w->mode & ZW_REC) && event != ZKD_EV_CHILDREN_CHANGED))
                zw_take(m, r, stamp, told);
            if (w->mode == ZW_STD) {
                zw_unlink(m, w);
                zw_rec_release(m, r);
            } else if (w->mode & ZW_STD) {
                zw_set_mode(m, w, (uint8_t)(w->mode & ~ZW_STD));
            }
        }
    } else {
        e = NULL;
    }
    /* Recursive watches on ancestors: never for NodeChildrenChanged. */
    if (m->nrec[tab] && event != ZKD_EV_CHILDREN_CHANGED && len > 1) {
        uint64_t h = zw_step(ZW_FNV_OFF, path[0]);
        zw_take_ancestor(m, tab, path, 1, zw_fin(h), stamp, told);
        for (uint32_t i = 1; i < len; i++) {
            if (path[i] == '/' && i > 1)
                zw_take_ancestor(m, tab, path, i, zw_fin(h), stamp, told);
            h = zw_step(h, path[i]);
        }
    }
    /* Deliver with the entry's own NUL-terminated copy of the path. */
    const char *dp = e ? e->path : path;
    size_t n = m->out_n;
    m->firing = true;
    for (m->out_pos = 0; m->out_pos < n; m->out_pos++) {
        void *w = m->out[m->out_pos];
        if (w)
            m->deliver(m->ctx, w, event, dp, len);
    }
    m->firing = false;
    m->out_n = 0;
    if (e) {
        e->pins--;
        zw_ent_release(m, e);
    }
    return stamp;
}

/* Length of the parent of @path ("/a" -> "/"), or 0 for "/" itself. */
static uint32_t zw_parent_len(const char *path, uint32_t len)
{
    uint32_t i = len;
    while (i > 0 && path[i - 1] != '/')
        i--;
    if (i == 0 || len <= 1)
        return 0;
    return i == 1 ? 1 : i - 1;
}

void zkd_watch_trigger(zkd_watch_mgr *m, int event, const char *path, uint32_t len)
{
    if (m->nw == 0)
        return;
    uint32_t plen = zw_parent_len(path, len);
    uint64_t told;
    switch (event) {
    case ZKD_EV_CREATED:
        zw_fire(m, ZW_DATA, ZKD_EV_CREATED, path, len, 0);
        if (plen)
            zw_fire(m, ZW_CHILD, ZKD_EV_CHILDREN_CHANGED, path, plen, 0);
        break;
    case ZKD_EV_DELETED:
        told = zw_fire(m, ZW_DATA, ZKD_EV_DELETED, path, len, 0);
        zw_fire(m, ZW_CHILD, ZKD_EV_DELETED, path, len, told);
        if (plen)
            zw_fire(m, ZW_CHILD, ZKD_EV_CHILDREN_CHANGED, path, plen, 0);
        break;
    case ZKD_EV_DATA_CHANGED:
        zw_fire(m, ZW_DATA, ZKD_EV_DATA_CHANGED, path, len, 0);
        break;
    case ZKD_EV_CHILDREN_CHANGED: /* only the child table, on @path itself */
        zw_fire(m, ZW_CHILD, ZKD_EV_CHILDREN_CHANGED, path, len, 0);
        break;
    default:
        break;
    }
}

/* ---- statistics ---- */

size_t zkd_watch_total(const zkd_watch_mgr *m) { return m->n[ZW_DATA] + m->n[ZW_CHILD]; }
size_t zkd_watch_data_total(const zkd_watch_mgr *m) { return m->n[ZW_DATA]; }
size_t zkd_watch_data_paths(const zkd_watch_mgr *m) { return m->data_paths; }
size_t zkd_watch_data_watchers(const zkd_watch_mgr *m) { return m->data_watchers; }

static int zw_ent_cmp(const void *a, const void *b)
{
    const zw_ent *x = *(const zw_ent *const *)a, *y = *(const zw_ent *const *)b;
    uint32_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->path, y->path, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Paths sorted by bytes; watchers in each path's insertion order. @fn must
 * not change the manager; a non-zero return stops the walk and is returned. */
int zkd_watch_walk_by_path(const zkd_watch_mgr *m,
                           int (*fn)(void *ctx, const char *path, void *const *watchers, size_t n), void *ctx)
{
    if (!m->data_paths)
        return 0;
    zw_ent **ents = malloc(m->data_paths * sizeof *ents);
    size_t ne = 0, maxn = 0;
    if (!ents)
        return KZ_ENOMEM;
    for (size_t i = 0; i < m->ents_cap; i++) {
        for (zw_ent *e = m->ents[i]; e; e = e->hnext) {
            if (!e->t[ZW_DATA].n)
                continue;
            ents[ne++] = e;
            if (e->t[ZW_DATA].n > maxn)
                maxn = e->t[ZW_DATA].n;
        }
    }
    qsort(ents, ne, sizeof *ents, zw_ent_cmp);
    void **ws = malloc(maxn * sizeof *ws);
    int rc = ws ? 0 : KZ_ENOMEM;
    for (size_t i = 0; i < ne && rc == 0; i++) {
        size_t k = 0;
        for (zw_watch *w = ents[i]->t[ZW_DATA].head; w; w = w->enext)
            ws[k++] = w->rec->watcher;
        rc = fn(ctx, ents[i]->path, ws, k);
    }
    free(ws);
    free(ents);
    return rc;
}

/* Watchers in the order they first added a watch, paths in the order each
 * watcher added them; includes watchers whose data watches all fired (n 0).
 * @fn must not change the manager; a non-zero return stops the walk. */
int zkd_watch_walk_by_watcher(const zkd_watch_mgr *m,
                              int (*fn)(void *ctx, void *watcher, const char *const *paths, size_t n), void *ctx)
{
    size_t maxn = 1;
    for (const zw_rec *r = m->recs; r; r = r->next)
        if (r->ndata > maxn)
            maxn = r->ndata;
    const char **ps = malloc(maxn * sizeof *ps);
    if (!ps)
        return KZ_ENOMEM;
    int rc = 0;
    for (const zw_rec *r = m->recs; r && rc == 0; r = r->next) {
        if (!r->data_seen)
            continue;
        size_t k = 0;
        for (const zw_watch *w = r->head; w; w = w->rnext)
            if (w->tab == ZW_DATA)
                ps[k++] = w->ent->path;
        rc = fn(ctx, r->watcher, ps, k);
    }
    free(ps);
    return rc;
}
