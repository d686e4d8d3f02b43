"""0003: watches. One-shot data/exists/child watches (kazoo), exact event sequences and
ordering against replies (raw sessions, where the order on the wire is observable),
persistent and persistent-recursive watches (addWatch, op 106: kazoo 2.8 has no API),
checkWatches/removeWatches (ops 17/18), and SetWatches/SetWatches2 after a reconnect
(kazoo 2.8 does not re-send watches on reconnect, so a raw session does it).

Events are written (type, state, path): NodeCreated 1, NodeDeleted 2, NodeDataChanged 3,
NodeChildrenChanged 4; state is always SyncConnected (3).
"""

import threading

import pytest
from kazoo.protocol.states import EventType

import jute as J

SC = J.STATE_SYNCCONNECTED


class Collector:
    def __init__(self):
        self.events = []
        self.cv = threading.Condition()

    def __call__(self, ev):
        with self.cv:
            self.events.append(ev)
            self.cv.notify_all()

    def wait(self, n=1, timeout=10.0):
        with self.cv:
            ok = self.cv.wait_for(lambda: len(self.events) >= n, timeout)
        assert ok, "expected %d watch events, got %r" % (n, self.events)
        return self.events


@pytest.fixture
def raw(server):
    s = server.raw()
    yield s
    s.close()


@pytest.fixture
def other(server):
    s = server.raw()
    yield s
    s.close()


def settle(s):
    """One round trip on s: every notification queued for it before now has arrived."""
    assert s.ping().err == 0
    ev = list(s.events)
    s.events.clear()
    return ev


# ---------------------------------------------------------------- kazoo one-shot watches
def test_data_watch_changed_then_deleted(zk, zk2):
    zk.create("/w1", b"a")
    c = Collector()
    zk2.get("/w1", watch=c)
    zk.set("/w1", b"b")
    ev = c.wait(1)[0]
    assert (ev.type, ev.path) == (EventType.CHANGED, "/w1")
    d = Collector()
    data, _ = zk2.get("/w1", watch=d)
    assert data == b"b"
    zk.delete("/w1")
    ev = d.wait(1)[0]
    assert (ev.type, ev.path) == (EventType.DELETED, "/w1")
    assert len(c.events) == 1


def test_exists_watch_on_missing_node_fires_created(zk, zk2):
    c = Collector()
    assert zk2.exists("/w2", watch=c) is None
    zk.create("/w2", b"")
    ev = c.wait(1)[0]
    assert (ev.type, ev.path) == (EventType.CREATED, "/w2")
    zk.delete("/w2")


def test_child_watch(zk, zk2):
    zk.create("/w3")
    c = Collector()
    assert zk2.get_children("/w3", watch=c) == []
    zk.set("/w3", b"data change is not a child change")
    zk.create("/w3/a")
    ev = c.wait(1)[0]
    assert (ev.type, ev.path) == (EventType.CHILD, "/w3")
    d = Collector()
    assert zk2.get_children("/w3", watch=d) == ["a"]
    zk.delete("/w3/a")
    ev = d.wait(1)[0]
    assert (ev.type, ev.path) == (EventType.CHILD, "/w3")
    zk.delete("/w3")


# ---------------------------------------------------------------- exact sequences (raw)
def test_one_shot_fires_once(raw, other):
    other.create("/w4", b"0")
    assert raw.get_data("/w4", watch=True)[0] == 0
    other.set_data("/w4", b"1")
    other.set_data("/w4", b"2")
    other.set_data("/w4", b"3")
    assert settle(raw) == [(J.EV_DATACHANGED, SC, "/w4")]
    other.delete("/w4")
    assert settle(raw) == []


def test_same_session_watch_kinds_merge(raw, other):
    # getData + exists + getChildren watches of one session on one node, then delete:
    # one NodeDeleted for the node (not one per watch) and NodeChildrenChanged for the parent
    other.create("/w5")
    other.create("/w5/c")
    raw.get_data("/w5/c", watch=True)
    raw.exists("/w5/c", watch=True)
    raw.get_children("/w5/c", watch=True)
    raw.get_children("/w5", watch=True)
    other.delete("/w5/c")
    assert settle(raw) == [(J.EV_DELETED, SC, "/w5/c"), (J.EV_CHILDCHANGED, SC, "/w5")]
    # getData on a missing node sets no watch (only exists does)
    assert raw.get_data("/w5/c", watch=True)[0] == J.NONODE
    other.create("/w5/c")
    assert settle(raw) == []
    assert raw.exists("/w5/nope", watch=True)[0] == J.NONODE
    other.create("/w5/nope")
    assert settle(raw) == [(J.EV_CREATED, SC, "/w5/nope")]
    # a data change of a child does not trigger the parent's child watch
    raw.get_children("/w5", watch=True)
    other.set_data("/w5/c", b"x")
    assert settle(raw) == []
    other.delete("/w5/c")
    other.delete("/w5/nope")
    assert settle(raw) == [(J.EV_CHILDCHANGED, SC, "/w5")]
    other.delete("/w5")


def test_event_precedes_reply_that_reflects_change(raw, other):
    other.create("/w6", b"old")
    raw.get_data("/w6", watch=True)
    other.set_data("/w6", b"new")
    raw.trace.clear()
    err, data, st = raw.get_data("/w6")
    assert data == b"new"
    assert raw.trace == [("event", J.EV_DATACHANGED, SC, "/w6"), ("reply", raw.xid)]
    # the writer's own watch: the event comes before the reply of its own setData
    raw.get_data("/w6", watch=True)
    raw.trace.clear()
    raw.set_data("/w6", b"mine")
    assert raw.trace == [("event", J.EV_DATACHANGED, SC, "/w6"), ("reply", raw.xid)]
    raw.events.clear()
    other.delete("/w6")


def test_watches_dropped_with_connection(server, other):
    other.create("/w7")
    s = server.raw()
    s.get_data("/w7", watch=True)
    s.exists("/w7-missing", watch=True)
    s2 = server.raw()
    s2.exists("/w7", watch=True)
    assert "/w7-missing" in server.four("wchp").decode()
    s.drop()  # connection gone, session alive: its watches go with the connection
    from zkharness import wait_until
    wait_until(lambda: "/w7-missing" not in server.four("wchp").decode(), 10,
               what="watches of a closed connection removed")
    other.set_data("/w7", b"x")
    assert settle(s2) == [(J.EV_DATACHANGED, SC, "/w7")]
    s2.close()
    server.raw(session_id=s.session_id, passwd=s.passwd).close()
    other.delete("/w7")


# ---------------------------------------------------------------- persistent (addWatch)
def test_persistent_watch(raw, other):
    other.create("/w8")
    assert raw.add_watch("/w8", J.ADDWATCH_PERSISTENT) == 0
    other.set_data("/w8", b"1")
    other.set_data("/w8", b"2")
    other.create("/w8/x")
    other.set_data("/w8/x", b"1")  # child data: not watched
    other.create("/w8/x/y")  # grandchild: not watched
    other.delete("/w8/x/y")
    other.delete("/w8/x")
    other.delete("/w8")
    other.create("/w8")
    assert settle(raw) == [(J.EV_DATACHANGED, SC, "/w8"), (J.EV_DATACHANGED, SC, "/w8"),
                           (J.EV_CHILDCHANGED, SC, "/w8"), (J.EV_CHILDCHANGED, SC, "/w8"),
                           (J.EV_DELETED, SC, "/w8"), (J.EV_CREATED, SC, "/w8")]
    # still armed
    other.set_data("/w8", b"3")
    assert settle(raw) == [(J.EV_DATACHANGED, SC, "/w8")]
    other.delete("/w8")
    settle(raw)


def test_persistent_recursive_watch(raw, other):
    other.create("/w9")
    assert raw.add_watch("/w9", J.ADDWATCH_PERSISTENT_RECURSIVE) == 0
    other.set_data("/w9", b"1")
    other.create("/w9/x")
    other.set_data("/w9/x", b"1")
    other.create("/w9/x/y")
    other.set_data("/w9/x/y", b"z")
    other.delete("/w9/x/y")
    other.delete("/w9/x")
    other.delete("/w9")
    other.create("/w9")
    # recursive watches never deliver NodeChildrenChanged
    assert settle(raw) == [(J.EV_DATACHANGED, SC, "/w9"), (J.EV_CREATED, SC, "/w9/x"),
                           (J.EV_DATACHANGED, SC, "/w9/x"), (J.EV_CREATED, SC, "/w9/x/y"),
                           (J.EV_DATACHANGED, SC, "/w9/x/y"), (J.EV_DELETED, SC, "/w9/x/y"),
                           (J.EV_DELETED, SC, "/w9/x"), (J.EV_DELETED, SC, "/w9"),
                           (J.EV_CREATED, SC, "/w9")]
    other.create("/w9/again")
    assert settle(raw) == [(J.EV_CREATED, SC, "/w9/again")]
    other.delete("/w9/again")
    other.delete("/w9")
    settle(raw)


def test_add_watch_on_missing_path(raw, other):
    assert raw.add_watch("/w10/a/b", J.ADDWATCH_PERSISTENT_RECURSIVE) == 0
    assert raw.add_watch("/w10", J.ADDWATCH_PERSISTENT) == 0
    other.create("/w10")
    other.create("/w10/a")
    other.create("/w10/a/b")
    other.create("/w10/a/b/c")
    assert settle(raw) == [(J.EV_CREATED, SC, "/w10"), (J.EV_CHILDCHANGED, SC, "/w10"),
                           (J.EV_CREATED, SC, "/w10/a/b"), (J.EV_CREATED, SC, "/w10/a/b/c")]
    for p in ("/w10/a/b/c", "/w10/a/b", "/w10/a", "/w10"):
        other.delete(p)
    settle(raw)


# ---------------------------------------------------------------- checkWatches/removeWatches
def check(s, path, wtype):
    return s.call(J.OP_CHECKWATCHES, J.ustring(path) + J.i32(wtype)).err


def remove(s, path, wtype):
    return s.call(J.OP_REMOVEWATCHES, J.ustring(path) + J.i32(wtype)).err


def test_check_and_remove_watches(raw, other):
    other.create("/w11")
    other.create("/w11/p")
    raw.get_data("/w11", watch=True)
    assert check(raw, "/w11", J.WATCHER_DATA) == 0
    assert check(raw, "/w11", J.WATCHER_ANY) == 0
    assert check(raw, "/w11", J.WATCHER_CHILDREN) == J.NOWATCHER
    assert check(raw, "/w11/nope", J.WATCHER_ANY) == J.NOWATCHER
    assert remove(raw, "/w11", J.WATCHER_CHILDREN) == J.NOWATCHER
    assert remove(raw, "/w11", J.WATCHER_DATA) == 0
    assert remove(raw, "/w11", J.WATCHER_DATA) == J.NOWATCHER
    assert check(raw, "/w11", J.WATCHER_ANY) == J.NOWATCHER
    other.set_data("/w11", b"x")
    assert settle(raw) == []  # removed, and the server sends no *WatchRemoved event
    raw.get_children("/w11", watch=True)
    raw.exists("/w11", watch=True)
    assert remove(raw, "/w11", J.WATCHER_ANY) == 0
    other.create("/w11/c")
    assert settle(raw) == []
    # persistent watches count as data and child watches, recursive ones too
    assert raw.add_watch("/w11/p", J.ADDWATCH_PERSISTENT) == 0
    assert check(raw, "/w11/p", J.WATCHER_DATA) == 0
    assert check(raw, "/w11/p", J.WATCHER_CHILDREN) == 0
    assert remove(raw, "/w11/p", J.WATCHER_ANY) == 0
    assert check(raw, "/w11/p", J.WATCHER_ANY) == J.NOWATCHER
    other.set_data("/w11/p", b"x")
    assert settle(raw) == []
    for p in ("/w11/c", "/w11/p", "/w11"):
        other.delete(p)


# ---------------------------------------------------------------- SetWatches after reconnect
def test_set_watches_after_reconnect(server, other):
    for p in ("/sw", "/sw/d", "/sw/c", "/sw/same", "/sw/gone"):
        other.create(p)
    a = server.raw(timeout_ms=10000)
    a.get_data("/sw/d", watch=True)
    a.exists("/sw/e", watch=True)
    a.get_children("/sw/c", watch=True)
    a.get_data("/sw/same", watch=True)
    a.get_data("/sw/gone", watch=True)
    rel = a.last_zxid
    a.drop()  # connection lost; the server forgets this connection's watches
    other.set_data("/sw/d", b"new")
    other.create("/sw/e")
    other.create("/sw/c/k")
    other.delete("/sw/gone")
    b = server.raw(timeout_ms=10000, session_id=a.session_id, passwd=a.passwd, last_zxid=rel)
    try:
        b.send(J.XID_SETWATCHES, J.OP_SETWATCHES,
               J.set_watches(rel, data=["/sw/d", "/sw/same", "/sw/gone"], exist=["/sw/e"],
                             child=["/sw/c"]))
        rep = b.wait_reply(J.XID_SETWATCHES)
        assert rep.err == 0
        # missed changes are delivered before the SetWatches reply, data, exist, child order
        assert b.trace == [("event", J.EV_DATACHANGED, SC, "/sw/d"),
                           ("event", J.EV_DELETED, SC, "/sw/gone"),
                           ("event", J.EV_CREATED, SC, "/sw/e"),
                           ("event", J.EV_CHILDCHANGED, SC, "/sw/c"),
                           ("reply", J.XID_SETWATCHES)]
        b.events.clear()
        # the unchanged one was re-armed
        other.set_data("/sw/same", b"later")
        assert settle(b) == [(J.EV_DATACHANGED, SC, "/sw/same")]
    finally:
        b.close()
    for p in ("/sw/c/k", "/sw/c", "/sw/d", "/sw/e", "/sw/same", "/sw"):
        other.delete(p)


def test_set_watches2_persistent_after_reconnect(server, other):
    other.create("/sw2")
    other.create("/sw2/p")
    other.create("/sw2/r")
    a = server.raw(timeout_ms=10000)
    a.add_watch("/sw2/p", J.ADDWATCH_PERSISTENT)
    a.add_watch("/sw2/r", J.ADDWATCH_PERSISTENT_RECURSIVE)
    rel = a.last_zxid
    a.drop()
    other.set_data("/sw2/p", b"missed")
    other.create("/sw2/r/q")
    b = server.raw(timeout_ms=10000, session_id=a.session_id, passwd=a.passwd, last_zxid=rel)
    try:
        b.send(J.XID_SETWATCHES, J.OP_SETWATCHES2,
               J.set_watches2(rel, persistent=["/sw2/p"], recursive=["/sw2/r"]))
        assert b.wait_reply(J.XID_SETWATCHES).err == 0
        # persistent watches are only re-armed: changes missed meanwhile are not replayed
        assert b.trace == [("reply", J.XID_SETWATCHES)]
        other.set_data("/sw2/p", b"y")
        other.set_data("/sw2/r/q", b"y")
        other.set_data("/sw2/p", b"z")
        assert settle(b) == [(J.EV_DATACHANGED, SC, "/sw2/p"), (J.EV_DATACHANGED, SC, "/sw2/r/q"),
                             (J.EV_DATACHANGED, SC, "/sw2/p")]
    finally:
        b.close()
    for p in ("/sw2/r/q", "/sw2/r", "/sw2/p", "/sw2"):
        other.delete(p)


def test_set_watches_relative_zxid_zero(server, other):
    other.create("/sw3")
    other.create("/sw3/x")
    s = server.raw()
    try:
        s.send(J.XID_SETWATCHES, J.OP_SETWATCHES,
               J.set_watches(0, data=["/sw3/x"], exist=["/sw3/missing"], child=["/sw3"]))
        assert s.wait_reply(J.XID_SETWATCHES).err == 0
        # everything is newer than zxid 0: data and child watches fire at once, the exist
        # watch on a missing node stays armed
        assert s.trace == [("event", J.EV_DATACHANGED, SC, "/sw3/x"),
                           ("event", J.EV_CHILDCHANGED, SC, "/sw3"),
                           ("reply", J.XID_SETWATCHES)]
        s.events.clear()
        other.create("/sw3/missing")
        assert settle(s) == [(J.EV_CREATED, SC, "/sw3/missing")]
    finally:
        s.close()
    for p in ("/sw3/missing", "/sw3/x", "/sw3"):
        other.delete(p)
