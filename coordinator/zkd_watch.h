/* coordinator/zkd_watch.h -- ZooKeeper 3.8 watch manager.
 *
 * Two tables as in ZooKeeper: data watches (getData/exists, incl. exists on a
 * missing node) and child watches (getChildren). Persistent and
 * persistent-recursive watches (addWatch) live in both tables with their
 * mode. A watcher is an opaque owner pointer (the client connection).
 *
 * Trigger semantics (WatchManager.triggerWatch):
 *   node created:        data table fires NodeCreated(path); child table fires
 *                        NodeChildrenChanged(parent)
 *   node deleted:        data table fires NodeDeleted(path); child table fires
 *                        NodeDeleted(path) to watchers not already told by the
 *                        data table; then NodeChildrenChanged(parent)
 *   data changed:        data table fires NodeDataChanged(path)
 * Standard watches fire once and are removed; persistent ones stay; a
 * recursive watch on an ancestor (or the path itself) fires for every event
 * except NodeChildrenChanged. Each watcher hears at most one event per
 * table trigger. Delivery is synchronous through the deliver callback.
 * Locality: zkd loop thread only. */
#ifndef ZKD_WATCH_H
#define ZKD_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    ZKD_WATCH_DATA,                 /* getData / exists */
    ZKD_WATCH_CHILD,                /* getChildren */
    ZKD_WATCH_PERSISTENT,           /* addWatch mode 0 */
    ZKD_WATCH_PERSISTENT_RECURSIVE, /* addWatch mode 1 */
} zkd_watch_kind;

/* WatcherType of checkWatches/removeWatches requests. */
enum { ZKD_WTYPE_CHILDREN = 1, ZKD_WTYPE_DATA = 2, ZKD_WTYPE_ANY = 3 };

/* Called for each notification: @watcher is the owner given to add. */
typedef void zkd_watch_deliver_fn(void *ctx, void *watcher, int event, const char *path, uint32_t len);

typedef struct zkd_watch_mgr zkd_watch_mgr;

zkd_watch_mgr *zkd_watch_new(zkd_watch_deliver_fn *deliver, void *ctx);
void zkd_watch_free(zkd_watch_mgr *m);

/* Adds a watch; returns 0 or KZ_ENOMEM. Adding the same watch twice is a no-op. */
int zkd_watch_add(zkd_watch_mgr *m, void *watcher, zkd_watch_kind kind, const char *path, uint32_t len);
/* A datatree event (ZKD_EV_* of zkd_datatree.h): applies the rules above. */
void zkd_watch_trigger(zkd_watch_mgr *m, int event, const char *path, uint32_t len);
/* checkWatches: does @watcher have a watch of @wtype on @path? */
bool zkd_watch_contains(const zkd_watch_mgr *m, void *watcher, const char *path, uint32_t len, int wtype);
/* removeWatches: removes them; true if anything was removed. */
bool zkd_watch_remove(zkd_watch_mgr *m, void *watcher, const char *path, uint32_t len, int wtype);
/* Drops every watch of @watcher (connection closed). */
void zkd_watch_remove_watcher(zkd_watch_mgr *m, void *watcher);

/* Statistics for the four-letter words. */
size_t zkd_watch_total(const zkd_watch_mgr *m);          /* data + child watches (mntr zk_watch_count) */
size_t zkd_watch_data_total(const zkd_watch_mgr *m);     /* data table only (wchs "Total watches") */
size_t zkd_watch_data_paths(const zkd_watch_mgr *m);     /* paths in the data table */
size_t zkd_watch_data_watchers(const zkd_watch_mgr *m);  /* distinct watchers in the data table */
/* Data-table listings, as wchc (by watcher) and wchp (by path) print them. */
int zkd_watch_walk_by_path(const zkd_watch_mgr *m,
                           int (*fn)(void *ctx, const char *path, void *const *watchers, size_t n), void *ctx);
int zkd_watch_walk_by_watcher(const zkd_watch_mgr *m,
                              int (*fn)(void *ctx, void *watcher, const char *const *paths, size_t n), void *ctx);

#endif
