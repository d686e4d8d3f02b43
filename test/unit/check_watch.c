/* test/unit/check_watch.c -- zkd_watch: exact delivery sequences of the
 * ZooKeeper 3.8 WatchManager rules (one-shot, persistent, recursive, the
 * NodeDeleted suppression between the data and child tables), removal by
 * WatcherType, connection close, statistics and the wchc/wchp walks.
 *
 * Deliveries are recorded as "wN EVENT PATH" lines joined by "; " and
 * compared as whole strings, so order and count are both checked. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kz_buf.h"
#include "zkd_datatree.h"
#include "zkd_watch.h"
#include "unit_util.h"

/* Watchers are addresses in this array; wN is &W[N]. */
static char W[64];
#define WP(i) ((void *)&W[(i)])

typedef struct rec_log {
    char buf[8192];
    size_t len;
    int calls;
    bool unterminated;      /* some delivered path had path[len] != '\0' */
    zkd_watch_mgr *m;
    void *remove_on_call;   /* remove_watcher(this) during the first call */
    void *add_on_call;      /* add a data watch on /new for this watcher */
} rec_log;

static const char *ev_name(int ev)
{
    switch (ev) {
    case ZKD_EV_CREATED:          return "created";
    case ZKD_EV_DELETED:          return "deleted";
    case ZKD_EV_DATA_CHANGED:     return "changed";
    case ZKD_EV_CHILDREN_CHANGED: return "children";
    default:                      return "?";
    }
}

static void deliver(void *ctx, void *watcher, int event, const char *path, uint32_t len)
{
    rec_log *l = ctx;
    int wi = (int)((char *)watcher - W);
    if (path[len] != '\0')
        l->unterminated = true;
    l->len += (size_t)snprintf(l->buf + l->len, sizeof l->buf - l->len, "%sw%d %s %.*s",
                               l->len ? "; " : "", wi, ev_name(event), (int)len, path);
    l->calls++;
    if (l->remove_on_call) {
        zkd_watch_remove_watcher(l->m, l->remove_on_call);
        l->remove_on_call = NULL;
    }
    if (l->add_on_call) {
        ck_assert_int_eq(zkd_watch_add(l->m, l->add_on_call, ZKD_WATCH_DATA, "/new", 4), 0);
        l->add_on_call = NULL;
    }
}

static rec_log L;
static zkd_watch_mgr *M;

static void setup(void)
{
    memset(&L, 0, sizeof L);
    M = zkd_watch_new(deliver, &L);
    ck_assert_ptr_nonnull(M);
    L.m = M;
}

static void teardown(void)
{
    zkd_watch_free(M);
    M = NULL;
}

/* Returns the log so far and clears it. */
static const char *take(void)
{
    static char out[8192];
    memcpy(out, L.buf, L.len + 1);
    L.len = 0;
    L.buf[0] = '\0';
    return out;
}

static void add(int w, zkd_watch_kind k, const char *path)
{
    ck_assert_int_eq(zkd_watch_add(M, WP(w), k, path, (uint32_t)strlen(path)), 0);
}

static void trig(int ev, const char *path)
{
    zkd_watch_trigger(M, ev, path, (uint32_t)strlen(path));
}

static bool has(int w, const char *path, int wtype)
{
    return zkd_watch_contains(M, WP(w), path, (uint32_t)strlen(path), wtype);
}

static bool rm(int w, const char *path, int wtype)
{
    return zkd_watch_remove(M, WP(w), path, (uint32_t)strlen(path), wtype);
}

/* 1. create: exists watch fires NodeCreated, parent child watch fires
 *    NodeChildrenChanged on "/", a data watch on the parent hears nothing;
 *    one-shot: a second create delivers nothing. */
START_TEST(t01_create)
{
    add(1, ZKD_WATCH_DATA, "/a");
    add(2, ZKD_WATCH_CHILD, "/");
    add(3, ZKD_WATCH_DATA, "/");
    add(4, ZKD_WATCH_CHILD, "/a");
    ck_assert_uint_eq(zkd_watch_total(M), 4);
    trig(ZKD_EV_CREATED, "/a");
    ck_assert_str_eq(take(), "w1 created /a; w2 children /");
    ck_assert(!L.unterminated);
    ck_assert_uint_eq(zkd_watch_total(M), 2);
    ck_assert(!has(1, "/a", ZKD_WTYPE_ANY));
    ck_assert(has(3, "/", ZKD_WTYPE_DATA));
    ck_assert(has(4, "/a", ZKD_WTYPE_CHILDREN));
    trig(ZKD_EV_CREATED, "/a");
    ck_assert_str_eq(take(), "");
    /* deeper parent */
    add(5, ZKD_WATCH_CHILD, "/a");
    trig(ZKD_EV_CREATED, "/a/b");
    ck_assert_str_eq(take(), "w4 children /a; w5 children /a");
}
END_TEST

/* 2. delete: data table fires NodeDeleted first; the child table fires
 *    NodeDeleted to watchers the data table did not tell (w1 held both kinds
 *    and hears one event, and its child watch is gone too); then the parent's
 *    NodeChildrenChanged. */
START_TEST(t02_delete_suppression)
{
    add(1, ZKD_WATCH_DATA, "/a/b");
    add(2, ZKD_WATCH_CHILD, "/a/b");
    add(1, ZKD_WATCH_CHILD, "/a/b");
    add(3, ZKD_WATCH_CHILD, "/a");
    add(4, ZKD_WATCH_DATA, "/a/b");
    add(1, ZKD_WATCH_CHILD, "/a");
    trig(ZKD_EV_DELETED, "/a/b");
    ck_assert_str_eq(take(), "w1 deleted /a/b; w4 deleted /a/b; w2 deleted /a/b; w3 children /a; w1 children /a");
    ck_assert_uint_eq(zkd_watch_total(M), 0);
    ck_assert(!has(1, "/a/b", ZKD_WTYPE_CHILDREN));
    trig(ZKD_EV_DELETED, "/a/b");
    ck_assert_str_eq(take(), "");
    /* deleting a child of the root notifies "/" */
    add(6, ZKD_WATCH_CHILD, "/");
    trig(ZKD_EV_DELETED, "/x");
    ck_assert_str_eq(take(), "w6 children /");
}
END_TEST

/* 3. setData fires only the data table; child watches stay. */
START_TEST(t03_set_data)
{
    add(1, ZKD_WATCH_DATA, "/a");
    add(2, ZKD_WATCH_CHILD, "/a");
    add(3, ZKD_WATCH_DATA, "/a/b");
    trig(ZKD_EV_DATA_CHANGED, "/a");
    ck_assert_str_eq(take(), "w1 changed /a");
    trig(ZKD_EV_DATA_CHANGED, "/a");
    ck_assert_str_eq(take(), "");
    ck_assert_uint_eq(zkd_watch_total(M), 2);
    ck_assert(has(2, "/a", ZKD_WTYPE_CHILDREN));
    /* a direct NodeChildrenChanged trigger uses the child table on the path */
    trig(ZKD_EV_CHILDREN_CHANGED, "/a");
    ck_assert_str_eq(take(), "w2 children /a");
    ck_assert_uint_eq(zkd_watch_total(M), 1);
}
END_TEST

/* 4. persistent (addWatch mode 0): both tables, exact path only, never removed;
 *    a delete is heard once. */
START_TEST(t04_persistent)
{
    add(1, ZKD_WATCH_PERSISTENT, "/a");
    ck_assert_uint_eq(zkd_watch_total(M), 2);
    ck_assert_uint_eq(zkd_watch_data_total(M), 1);
    trig(ZKD_EV_CREATED, "/a");
    trig(ZKD_EV_DATA_CHANGED, "/a");
    trig(ZKD_EV_DATA_CHANGED, "/a");
    ck_assert_str_eq(take(), "w1 created /a; w1 changed /a; w1 changed /a");
    trig(ZKD_EV_CREATED, "/a/b");
    trig(ZKD_EV_CREATED, "/a/b/c");
    trig(ZKD_EV_DATA_CHANGED, "/a/b");
    ck_assert_str_eq(take(), "w1 children /a");
    trig(ZKD_EV_DELETED, "/a/b");
    trig(ZKD_EV_DELETED, "/a");
    ck_assert_str_eq(take(), "w1 children /a; w1 deleted /a");
    ck_assert_uint_eq(zkd_watch_total(M), 2);
    /* adding it again is a no-op */
    add(1, ZKD_WATCH_PERSISTENT, "/a");
    ck_assert_uint_eq(zkd_watch_total(M), 2);
}
END_TEST

/* 5. standard and persistent on the same path by the same watcher coexist:
 *    one event per trigger, and the trigger removes only the standard one. */
START_TEST(t05_standard_plus_persistent)
{
    add(1, ZKD_WATCH_PERSISTENT, "/a");
    add(1, ZKD_WATCH_DATA, "/a");
    add(1, ZKD_WATCH_CHILD, "/a");
    ck_assert_uint_eq(zkd_watch_total(M), 2);
    trig(ZKD_EV_DATA_CHANGED, "/a");
    ck_assert_str_eq(take(), "w1 changed /a");
    trig(ZKD_EV_DATA_CHANGED, "/a");
    trig(ZKD_EV_CREATED, "/a/x");
    trig(ZKD_EV_CREATED, "/a/y");
    ck_assert_str_eq(take(), "w1 changed /a; w1 children /a; w1 children /a");
    ck_assert(has(1, "/a", ZKD_WTYPE_DATA));
    ck_assert(has(1, "/a", ZKD_WTYPE_CHILDREN));
    /* the other order: a standard watch first, then persistent */
    add(2, ZKD_WATCH_DATA, "/b");
    add(2, ZKD_WATCH_PERSISTENT, "/b");
    trig(ZKD_EV_DATA_CHANGED, "/b");
    trig(ZKD_EV_DATA_CHANGED, "/b");
    ck_assert_str_eq(take(), "w2 changed /b; w2 changed /b");
    /* standard + recursive */
    add(3, ZKD_WATCH_PERSISTENT_RECURSIVE, "/c");
    add(3, ZKD_WATCH_DATA, "/c");
    trig(ZKD_EV_DATA_CHANGED, "/c");
    trig(ZKD_EV_DATA_CHANGED, "/c");
    trig(ZKD_EV_DATA_CHANGED, "/c/d");
    ck_assert_str_eq(take(), "w3 changed /c; w3 changed /c; w3 changed /c/d");
}
END_TEST

/* 6. persistent recursive: the path and every descendant, every event but
 *    NodeChildrenChanged; the event names the descendant. */
START_TEST(t06_recursive)
{
    add(1, ZKD_WATCH_PERSISTENT_RECURSIVE, "/a");
    ck_assert_uint_eq(zkd_watch_total(M), 2);
    trig(ZKD_EV_CREATED, "/a");
    trig(ZKD_EV_CREATED, "/a/b");
    trig(ZKD_EV_CREATED, "/a/b/c");
    trig(ZKD_EV_DATA_CHANGED, "/a/b/c");
    trig(ZKD_EV_DATA_CHANGED, "/a");
    ck_assert_str_eq(take(), "w1 created /a; w1 created /a/b; w1 created /a/b/c; w1 changed /a/b/c; w1 changed /a");
    trig(ZKD_EV_CHILDREN_CHANGED, "/a");
    trig(ZKD_EV_CREATED, "/ab");      /* a sibling sharing the prefix */
    trig(ZKD_EV_CREATED, "/b/a");
    trig(ZKD_EV_DATA_CHANGED, "/");
    ck_assert_str_eq(take(), "");
    trig(ZKD_EV_DELETED, "/a/b/c");
    trig(ZKD_EV_DELETED, "/a/b");
    trig(ZKD_EV_DELETED, "/a");
    ck_assert_str_eq(take(), "w1 deleted /a/b/c; w1 deleted /a/b; w1 deleted /a");
    ck_assert_uint_eq(zkd_watch_total(M), 2);
    /* on "/" it sees everything */
    add(2, ZKD_WATCH_PERSISTENT_RECURSIVE, "/");
    trig(ZKD_EV_CREATED, "/z");
    trig(ZKD_EV_DATA_CHANGED, "/a/q");
    ck_assert_str_eq(take(), "w2 created /z; w2 changed /a/q; w1 changed /a/q");
}
END_TEST

/* 7. delivery order: the path's own watchers in insertion order, then the
 *    recursive watchers of ancestors from "/" down; each watcher once. */
START_TEST(t07_order_and_dedup)
{
    add(5, ZKD_WATCH_PERSISTENT_RECURSIVE, "/a");
    add(2, ZKD_WATCH_DATA, "/a/b/c");
    add(4, ZKD_WATCH_PERSISTENT_RECURSIVE, "/a/b");
    add(3, ZKD_WATCH_PERSISTENT_RECURSIVE, "/");
    add(1, ZKD_WATCH_DATA, "/a/b/c");
    add(2, ZKD_WATCH_PERSISTENT_RECURSIVE, "/a"); /* also hears via ancestor */
    add(6, ZKD_WATCH_CHILD, "/a/b");
    trig(ZKD_EV_CREATED, "/a/b/c");
    ck_assert_str_eq(take(), "w2 created /a/b/c; w1 created /a/b/c; w3 created /a/b/c; w5 created /a/b/c; "
                             "w4 created /a/b/c; w6 children /a/b");
    trig(ZKD_EV_CREATED, "/a/b/c");
    ck_assert_str_eq(take(), "w3 created /a/b/c; w5 created /a/b/c; w2 created /a/b/c; w4 created /a/b/c");
    /* delete: recursive watchers of ancestors are in the child table too but
     * were told by the data table */
    add(7, ZKD_WATCH_CHILD, "/a/b/c");
    trig(ZKD_EV_DELETED, "/a/b/c");
    ck_assert_str_eq(take(), "w3 deleted /a/b/c; w5 deleted /a/b/c; w2 deleted /a/b/c; w4 deleted /a/b/c; "
                             "w7 deleted /a/b/c");
}
END_TEST

/* 8. checkWatches / removeWatches by WatcherType. */
START_TEST(t08_contains_remove)
{
    add(1, ZKD_WATCH_DATA, "/a");
    add(1, ZKD_WATCH_CHILD, "/a");
    add(2, ZKD_WATCH_DATA, "/b");
    ck_assert(has(1, "/a", ZKD_WTYPE_CHILDREN));
    ck_assert(has(1, "/a", ZKD_WTYPE_DATA));
    ck_assert(has(1, "/a", ZKD_WTYPE_ANY));
    ck_assert(!has(1, "/b", ZKD_WTYPE_ANY));  /* only w2 watches /b */
    ck_assert(!has(2, "/a", ZKD_WTYPE_ANY));
    ck_assert(!has(1, "/a", 0));
    ck_assert(!has(1, "/a", 4));
    ck_assert(!has(9, "/a", ZKD_WTYPE_ANY));
    ck_assert(!has(1, "/nope", ZKD_WTYPE_ANY));
    ck_assert(rm(1, "/a", ZKD_WTYPE_CHILDREN));
    ck_assert(!has(1, "/a", ZKD_WTYPE_CHILDREN));
    ck_assert(has(1, "/a", ZKD_WTYPE_DATA));
    ck_assert(!rm(1, "/a", ZKD_WTYPE_CHILDREN));
    ck_assert(!rm(2, "/a", ZKD_WTYPE_ANY));
    ck_assert(rm(1, "/a", ZKD_WTYPE_ANY));
    ck_assert(!has(1, "/a", ZKD_WTYPE_ANY));
    ck_assert(!rm(1, "/a", ZKD_WTYPE_ANY));
    ck_assert_uint_eq(zkd_watch_total(M), 1);
    trig(ZKD_EV_DATA_CHANGED, "/a");
    trig(ZKD_EV_CREATED, "/a/x");
    ck_assert_str_eq(take(), "");

    /* persistent: in both tables; DATA / CHILDREN remove one table's entry */
    add(3, ZKD_WATCH_PERSISTENT, "/p");
    ck_assert(has(3, "/p", ZKD_WTYPE_DATA));
    ck_assert(has(3, "/p", ZKD_WTYPE_CHILDREN));
    ck_assert(rm(3, "/p", ZKD_WTYPE_DATA));
    ck_assert(!has(3, "/p", ZKD_WTYPE_DATA));
    ck_assert(has(3, "/p", ZKD_WTYPE_ANY));
    trig(ZKD_EV_DATA_CHANGED, "/p");
    trig(ZKD_EV_CREATED, "/p/x");
    trig(ZKD_EV_CREATED, "/p/y");
    ck_assert_str_eq(take(), "w3 children /p; w3 children /p");
    ck_assert(rm(3, "/p", ZKD_WTYPE_ANY));
    ck_assert(!has(3, "/p", ZKD_WTYPE_ANY));

    /* removal drops every mode of the table's entry at once */
    add(4, ZKD_WATCH_PERSISTENT_RECURSIVE, "/r");
    add(4, ZKD_WATCH_DATA, "/r");
    ck_assert(rm(4, "/r", ZKD_WTYPE_ANY));
    ck_assert_uint_eq(zkd_watch_total(M), 1);
    trig(ZKD_EV_CREATED, "/r/s");
    trig(ZKD_EV_DATA_CHANGED, "/r");
    ck_assert_str_eq(take(), "");

    /* recursive removed from the data table only: the child-table copy never
     * fires on its own (no NodeChildrenChanged, deletes come from data) */
    add(5, ZKD_WATCH_PERSISTENT_RECURSIVE, "/q");
    ck_assert(rm(5, "/q", ZKD_WTYPE_DATA));
    ck_assert(has(5, "/q", ZKD_WTYPE_CHILDREN));
    trig(ZKD_EV_CREATED, "/q/a");
    trig(ZKD_EV_DATA_CHANGED, "/q/a");
    ck_assert_str_eq(take(), "");
    trig(ZKD_EV_DELETED, "/q/a");   /* child table, ancestor recursive, not told */
    ck_assert_str_eq(take(), "w5 deleted /q/a");
}
END_TEST

/* 9. connection close drops every watch of the watcher and nothing else. */
START_TEST(t09_remove_watcher)
{
    char p[32];
    for (int i = 0; i < 50; i++) {
        snprintf(p, sizeof p, "/n%d", i);
        add(1, ZKD_WATCH_DATA, p);
        add(1, ZKD_WATCH_CHILD, p);
        if (i % 10 == 0)
            add(2, ZKD_WATCH_DATA, p);
    }
    add(1, ZKD_WATCH_PERSISTENT_RECURSIVE, "/");
    add(1, ZKD_WATCH_PERSISTENT, "/n3");
    /* the persistent watch on /n3 merges into w1's existing nodes there */
    ck_assert_uint_eq(zkd_watch_total(M), 50 + 50 + 5 + 2);
    ck_assert_uint_eq(zkd_watch_data_watchers(M), 2);
    zkd_watch_remove_watcher(M, WP(1));
    ck_assert_uint_eq(zkd_watch_total(M), 5);
    ck_assert_uint_eq(zkd_watch_data_total(M), 5);
    ck_assert_uint_eq(zkd_watch_data_paths(M), 5);
    ck_assert_uint_eq(zkd_watch_data_watchers(M), 1);
    ck_assert(!has(1, "/n3", ZKD_WTYPE_ANY));
    trig(ZKD_EV_DATA_CHANGED, "/n3");
    trig(ZKD_EV_DATA_CHANGED, "/n10");
    trig(ZKD_EV_DELETED, "/n20");
    ck_assert_str_eq(take(), "w2 changed /n10; w2 deleted /n20");
    zkd_watch_remove_watcher(M, WP(1)); /* unknown: no-op */
    zkd_watch_remove_watcher(M, WP(2));
    ck_assert_uint_eq(zkd_watch_total(M), 0);
    ck_assert_uint_eq(zkd_watch_data_watchers(M), 0);
    ck_assert_uint_eq(zkd_watch_data_paths(M), 0);
    /* the watcher can come back */
    add(1, ZKD_WATCH_DATA, "/n3");
    trig(ZKD_EV_DATA_CHANGED, "/n3");
    ck_assert_str_eq(take(), "w1 changed /n3");
}
END_TEST

typedef struct walk_acc {
    char buf[2048];
    size_t len;
    int stop_after; /* return 7 after this many calls (0: never) */
    int calls;
} walk_acc;

static int by_path_cb(void *ctx, const char *path, void *const *ws, size_t n)
{
    walk_acc *a = ctx;
    a->len += (size_t)snprintf(a->buf + a->len, sizeof a->buf - a->len, "%s%s:", a->len ? " " : "", path);
    for (size_t i = 0; i < n; i++)
        a->len += (size_t)snprintf(a->buf + a->len, sizeof a->buf - a->len, "%sw%d", i ? "," : "",
                                   (int)((char *)ws[i] - W));
    return ++a->calls == a->stop_after ? 7 : 0;
}

static int by_watcher_cb(void *ctx, void *w, const char *const *paths, size_t n)
{
    walk_acc *a = ctx;
    a->len += (size_t)snprintf(a->buf + a->len, sizeof a->buf - a->len, "%sw%d:", a->len ? " " : "",
                               (int)((char *)w - W));
    for (size_t i = 0; i < n; i++)
        a->len += (size_t)snprintf(a->buf + a->len, sizeof a->buf - a->len, "%s%s", i ? "," : "", paths[i]);
    return ++a->calls == a->stop_after ? 7 : 0;
}

/* 10. wchs / mntr counts, as the reference capture: one session with a data
 *     watch, an exists watch on a missing node and a child watch ->
 *     "1 connections watching 2 paths / Total watches:2", zk_watch_count 3. */
START_TEST(t10_counts)
{
    add(1, ZKD_WATCH_DATA, "/ref-demo/a");
    add(1, ZKD_WATCH_DATA, "/ref-demo/missing-1");
    add(1, ZKD_WATCH_CHILD, "/ref-demo");
    ck_assert_uint_eq(zkd_watch_data_watchers(M), 1);
    ck_assert_uint_eq(zkd_watch_data_paths(M), 2);
    ck_assert_uint_eq(zkd_watch_data_total(M), 2);
    ck_assert_uint_eq(zkd_watch_total(M), 3);
    add(2, ZKD_WATCH_DATA, "/ref-demo/a");
    add(3, ZKD_WATCH_CHILD, "/ref-demo/a");  /* child-only watcher: not in wchs */
    ck_assert_uint_eq(zkd_watch_data_watchers(M), 2);
    ck_assert_uint_eq(zkd_watch_data_paths(M), 2);
    ck_assert_uint_eq(zkd_watch_data_total(M), 3);
    ck_assert_uint_eq(zkd_watch_total(M), 5);
    /* persistent and recursive count once per table */
    add(4, ZKD_WATCH_PERSISTENT, "/p");
    add(4, ZKD_WATCH_PERSISTENT_RECURSIVE, "/r");
    ck_assert_uint_eq(zkd_watch_data_total(M), 5);
    ck_assert_uint_eq(zkd_watch_total(M), 9);
    ck_assert_uint_eq(zkd_watch_data_paths(M), 4);
    ck_assert_uint_eq(zkd_watch_data_watchers(M), 3);
    zkd_watch_remove_watcher(M, WP(4));
    /* after the data watches fire, ZooKeeper still lists the session (its
     * watch2Paths set is empty, not removed) until the connection closes */
    trig(ZKD_EV_DELETED, "/ref-demo/a");
    ck_assert_str_eq(take(), "w1 deleted /ref-demo/a; w2 deleted /ref-demo/a; w3 deleted /ref-demo/a; "
                             "w1 children /ref-demo");
    ck_assert_uint_eq(zkd_watch_data_watchers(M), 2);
    ck_assert_uint_eq(zkd_watch_data_paths(M), 1);
    ck_assert_uint_eq(zkd_watch_data_total(M), 1);
    ck_assert_uint_eq(zkd_watch_total(M), 1);
    walk_acc a = { .len = 0 };
    ck_assert_int_eq(zkd_watch_walk_by_watcher(M, by_watcher_cb, &a), 0);
    ck_assert_str_eq(a.buf, "w1:/ref-demo/missing-1 w2:");
    zkd_watch_remove_watcher(M, WP(2));
    ck_assert_uint_eq(zkd_watch_data_watchers(M), 1);
    zkd_watch_remove_watcher(M, WP(3));
    ck_assert_uint_eq(zkd_watch_data_watchers(M), 1);
}
END_TEST

/* 11. wchp (by path, sorted) and wchc (by watcher) walks list data-table
 *     watches only; a non-zero callback result stops the walk. */
START_TEST(t11_walks)
{
    add(2, ZKD_WATCH_DATA, "/b");
    add(1, ZKD_WATCH_DATA, "/a/x");
    add(1, ZKD_WATCH_DATA, "/b");
    add(3, ZKD_WATCH_CHILD, "/c");
    add(3, ZKD_WATCH_PERSISTENT, "/a");
    add(1, ZKD_WATCH_CHILD, "/z");
    walk_acc a = { .len = 0 };
    ck_assert_int_eq(zkd_watch_walk_by_path(M, by_path_cb, &a), 0);
    ck_assert_str_eq(a.buf, "/a:w3 /a/x:w1 /b:w2,w1");
    walk_acc b = { .len = 0 };
    ck_assert_int_eq(zkd_watch_walk_by_watcher(M, by_watcher_cb, &b), 0);
    ck_assert_str_eq(b.buf, "w2:/b w1:/a/x,/b w3:/a");
    walk_acc c = { .stop_after = 2 };
    ck_assert_int_eq(zkd_watch_walk_by_path(M, by_path_cb, &c), 7);
    ck_assert_str_eq(c.buf, "/a:w3 /a/x:w1");
    walk_acc d = { .stop_after = 1 };
    ck_assert_int_eq(zkd_watch_walk_by_watcher(M, by_watcher_cb, &d), 7);
    ck_assert_str_eq(d.buf, "w2:/b");
    /* empty manager */
    zkd_watch_mgr *e = zkd_watch_new(deliver, &L);
    walk_acc z = { .len = 0 };
    ck_assert_int_eq(zkd_watch_walk_by_path(e, by_path_cb, &z), 0);
    ck_assert_int_eq(zkd_watch_walk_by_watcher(e, by_watcher_cb, &z), 0);
    ck_assert_int_eq(z.calls, 0);
    ck_assert_uint_eq(zkd_watch_total(e), 0);
    zkd_watch_trigger(e, ZKD_EV_DELETED, "/a", 2);
    zkd_watch_free(e);
    zkd_watch_free(NULL);
}
END_TEST

/* 12. the deliver callback may close another connection (it hears no more
 *     of this trigger) and may add watches (not heard by this trigger). */
START_TEST(t12_reentrant_callbacks)
{
    add(1, ZKD_WATCH_DATA, "/a");
    add(2, ZKD_WATCH_DATA, "/a");
    add(3, ZKD_WATCH_PERSISTENT, "/a");
    L.remove_on_call = WP(3);
    L.add_on_call = WP(9);
    trig(ZKD_EV_DATA_CHANGED, "/a");
    ck_assert_str_eq(take(), "w1 changed /a; w2 changed /a");
    ck_assert(!has(3, "/a", ZKD_WTYPE_ANY));
    ck_assert(has(9, "/new", ZKD_WTYPE_DATA));
    ck_assert_uint_eq(zkd_watch_total(M), 1);
    /* removing the only watcher of the path from its own delivery */
    add(4, ZKD_WATCH_PERSISTENT, "/b");
    L.remove_on_call = WP(4);
    trig(ZKD_EV_DELETED, "/b");
    ck_assert_str_eq(take(), "w4 deleted /b");
    ck_assert_uint_eq(zkd_watch_total(M), 1);
    trig(ZKD_EV_DELETED, "/b");
    ck_assert_str_eq(take(), "");
}
END_TEST

/* 13. the path handed to deliver is NUL-terminated at len even when the
 *     trigger's path is not (the parent of "/a/b" is a prefix). */
START_TEST(t13_paths_not_terminated)
{
    const char buf[] = "/a/bXYZ";
    add(1, ZKD_WATCH_CHILD, "/a");
    add(2, ZKD_WATCH_DATA, "/a/b");
    zkd_watch_trigger(M, ZKD_EV_CREATED, buf, 4);
    ck_assert(!L.unterminated);
    ck_assert_str_eq(take(), "w2 created /a/b; w1 children /a");
    /* "/" as a path and as the parent */
    add(3, ZKD_WATCH_DATA, "/");
    add(3, ZKD_WATCH_CHILD, "/");
    trig(ZKD_EV_DATA_CHANGED, "/");
    trig(ZKD_EV_CREATED, "/q");
    ck_assert_str_eq(take(), "w3 changed /; w3 children /");
    trig(ZKD_EV_NONE, "/q");
    trig(99, "/q");
    ck_assert_str_eq(take(), "");
}
END_TEST

/* 14. scale: many watchers on one path and many paths per watcher (hash
 *     growth on both sides); counts stay exact through close and triggers. */
START_TEST(t14_scale)
{
    char p[32];
    enum { NW = 60, NP = 300 };
    for (int w = 0; w < NW; w++) {
        for (int i = 0; i < NP; i++) {
            snprintf(p, sizeof p, "/s/%d", i);
            add(w, (i + w) % 2 ? ZKD_WATCH_DATA : ZKD_WATCH_CHILD, p);
        }
        add(w, ZKD_WATCH_DATA, "/hot");
        add(w, ZKD_WATCH_DATA, "/hot"); /* duplicate: no-op */
    }
    ck_assert_uint_eq(zkd_watch_total(M), (size_t)NW * NP + NW);
    ck_assert_uint_eq(zkd_watch_data_total(M), (size_t)NW * NP / 2 + NW);
    ck_assert_uint_eq(zkd_watch_data_paths(M), NP + 1);
    ck_assert_uint_eq(zkd_watch_data_watchers(M), NW);
    for (int w = 0; w < NW; w += 2)
        zkd_watch_remove_watcher(M, WP(w));
    ck_assert_uint_eq(zkd_watch_total(M), (size_t)NW / 2 * (NP + 1));
    trig(ZKD_EV_DATA_CHANGED, "/hot");
    ck_assert_int_eq(L.calls, NW / 2);
    ck_assert_str_eq(strstr(take(), "w59 changed /hot") ? "found" : "missing", "found");
    L.calls = 0;
    /* deleting /s/1: odd watchers hold a child watch there (w+1 even) ->
     * NodeDeleted via the child table; none hold a data watch */
    trig(ZKD_EV_DELETED, "/s/1");
    ck_assert_int_eq(L.calls, NW / 2);
    take();
    for (int w = 1; w < NW; w += 2)
        zkd_watch_remove_watcher(M, WP(w));
    ck_assert_uint_eq(zkd_watch_total(M), 0);
    ck_assert_uint_eq(zkd_watch_data_paths(M), 0);
}
END_TEST

static Suite *watch_suite(void)
{
    Suite *s = suite_create("watch");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, t01_create);
    tcase_add_test(tc, t02_delete_suppression);
    tcase_add_test(tc, t03_set_data);
    tcase_add_test(tc, t04_persistent);
    tcase_add_test(tc, t05_standard_plus_persistent);
    tcase_add_test(tc, t06_recursive);
    tcase_add_test(tc, t07_order_and_dedup);
    tcase_add_test(tc, t08_contains_remove);
    tcase_add_test(tc, t09_remove_watcher);
    tcase_add_test(tc, t10_counts);
    tcase_add_test(tc, t11_walks);
    tcase_add_test(tc, t12_reentrant_callbacks);
    tcase_add_test(tc, t13_paths_not_terminated);
    tcase_add_test(tc, t14_scale);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ut_run(watch_suite());
}
