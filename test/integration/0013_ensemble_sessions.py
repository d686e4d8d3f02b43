"""0013: sessions in a three-node ensemble (every node ZK_IMPL; zkensemble.py).

A kazoo session moves to another node when its node stops (follower to follower, then
follower to leader) and keeps its id and ephemerals; a session re-attaches on another node
by id and password (raw connection, then kazoo), a wrong password is refused there; a
session on a follower stays alive past its timeout while it pings, and once its client is
gone it expires: its ephemeral disappears and watchers fire on every node; sync() then
read sees every prior write from any node, and a client reads its own writes on a
follower without sync; watches set on one node fire for writes through another.
"""

import threading
import time

import pytest
from kazoo.protocol.states import EventType, KazooState

import jute as J
from zkharness import wait_until

pytestmark = pytest.mark.ensemble

TICK = 500


@pytest.fixture(scope="module")
def ens(ensembles):
    return ensembles.new(tick_time=TICK)


@pytest.fixture(autouse=True)
def healthy(ens):
    ens.start()
    yield
    ens.close_clients()


def exists_everywhere(ens, path):
    """{sid: Stat or None} for path, read through a client bound to each node after sync."""
    out = {}
    for n in ens.running():
        c = ens.kazoo(n)
        c.sync(path)
        out[n.sid] = c.exists(path)
        c.stop()
        c.close()
    return out


def test_session_moves_with_its_ephemeral_when_its_node_stops(ens):
    leader = ens.wait_for_quorum()
    a, b = ens.followers()
    states = []
    c = ens.kazoo(nodes=[a.sid, b.sid, leader.sid], randomize_hosts=False, timeout=10)
    c.add_listener(states.append)
    sid, pw = c.client_id
    c.create("/mv", b"")
    c.create("/mv/eph", b"e", ephemeral=True)
    for gone, target in ((a, b), (b, leader)):
        seen = len(states)
        ens.stop(gone)
        wait_until(lambda: len(states) > seen and states[-1] == KazooState.CONNECTED, 30,
                   what="the client reconnected")
        assert c.client_id == (sid, pw)
        # the connection is on the next node in the host list now
        peer = c._connection._socket.getpeername()[0]
        assert peer == target.host, (peer, target)
        c.create("/mv/after-%d" % gone.sid, b"")
        ens.start([gone])
    assert KazooState.LOST not in states, states
    for n, st in exists_everywhere(ens, "/mv/eph").items():
        assert st is not None and st.ephemeralOwner == sid, n
    c.stop()
    for n, st in exists_everywhere(ens, "/mv/eph").items():
        assert st is None, n


def test_session_reattaches_on_other_nodes_by_id_and_password(ens):
    ens.wait_for_quorum()
    s1 = ens.raw(1, timeout_ms=10000)
    assert s1.create("/ra", b"")[0] == 0
    assert s1.create("/ra/eph1", b"1", flags=J.EPHEMERAL)[0] == 0
    sid, pw = s1.session_id, s1.passwd
    s1.drop()
    # the same session on node 2: same id and timeout, its ephemeral still there
    s2 = ens.raw(2, timeout_ms=10000, session_id=sid, passwd=pw)
    assert (s2.session_id, s2.timeout, s2.passwd) == (sid, 10000, pw)
    err, st = s2.exists("/ra/eph1")
    assert err == 0 and st.ephemeralOwner == sid
    assert s2.create("/ra/eph2", b"2", flags=J.EPHEMERAL)[0] == 0
    s2.drop()
    # a wrong password is refused on node 1: timeOut 0, then the connection closes
    bad = ens.raw(1, session_id=sid, passwd=bytes(16))
    assert bad.connect_response["timeOut"] == 0
    assert J.wait_closed(bad.sock, 5)
    bad.drop()
    # and kazoo takes the session over on node 3
    c3 = ens.kazoo(3, client_id=(sid, pw))
    assert c3.client_id[0] == sid
    assert sorted(c3.get_children("/ra")) == ["eph1", "eph2"]
    for p in ("/ra/eph1", "/ra/eph2"):
        assert c3.exists(p).ephemeralOwner == sid
    c3.stop()  # closeSession: the ephemerals go on every node
    for p in ("/ra/eph1", "/ra/eph2"):
        assert all(st is None for st in exists_everywhere(ens, p).values()), p


def test_follower_session_lives_while_pinging_then_expires_everywhere(ens):
    ens.wait_for_quorum()
    f = ens.followers()[0]
    timeout_ms = 4 * TICK
    s = ens.raw(f, timeout_ms=timeout_ms)
    assert s.timeout == timeout_ms
    assert s.create("/ex", b"")[0] == 0
    assert s.create("/ex/eph", b"e", flags=J.EPHEMERAL)[0] == 0
    # the follower passes the session's pings on to the leader, which expires sessions:
    # pinging through the follower keeps it alive well past its timeout
    t_end = time.monotonic() + 2.25 * timeout_ms / 1000
    while time.monotonic() < t_end:
        assert s.ping().err == 0
        time.sleep(0.4)
    watchers = {n.sid: ens.kazoo(n) for n in ens}
    deleted = {sid: threading.Event() for sid in watchers}
    for sid, c in watchers.items():
        c.sync("/ex")
        st = c.exists("/ex/eph", watch=lambda ev, sid=sid: (
            ev.type == EventType.DELETED and deleted[sid].set()))
        assert st is not None and st.ephemeralOwner == s.session_id, sid
    assert s.ping().err == 0
    t0 = time.monotonic()
    s.drop()  # the client is gone: no ping, no closeSession
    bound = timeout_ms / 1000 + 2 * TICK / 1000 + 5
    for sid, ev in deleted.items():
        assert ev.wait(max(0.1, t0 + bound - time.monotonic())), \
            "no NodeDeleted on node %d within %.1fs" % (sid, bound)
    elapsed = time.monotonic() - t0
    assert elapsed >= 0.75 * timeout_ms / 1000, "expired after %.2fs" % elapsed
    for sid, c in watchers.items():
        assert c.exists("/ex/eph") is None, sid
    # the expired session cannot be re-attached anywhere
    for n in ens:
        again = ens.raw(n, session_id=s.session_id, passwd=s.passwd)
        assert again.connect_response["timeOut"] == 0, n
        again.drop()


def test_sync_then_read_sees_prior_writes(ens):
    ens.wait_for_quorum()
    clients = [ens.kazoo(n) for n in ens]
    clients[0].create("/sy", b"")
    clients[0].create("/sy/x", b"-1")
    for i in range(150):
        w, r = clients[i % 3], clients[(i + 1) % 3]
        v = str(i).encode()
        w.set("/sy/x", v)
        assert w.get("/sy/x")[0] == v  # own write, no sync needed
        r.sync("/sy/x")
        assert r.get("/sy/x")[0] == v, "node %d read a stale value after sync" % ((i + 1) % 3 + 1)
    for i in range(30):
        w, r = clients[(i + 2) % 3], clients[i % 3]
        w.create("/sy/c%d" % i, b"")
        r.sync("/sy")
        assert r.exists("/sy/c%d" % i) is not None, i
    assert len(clients[1].get_children("/sy")) == 31


def test_watch_on_one_node_fires_for_write_through_another(ens):
    ens.wait_for_quorum()
    clients = {n.sid: ens.kazoo(n) for n in ens}
    clients[1].create("/wt", b"0")
    clients[1].sync("/wt")
    events = {sid: [] for sid in clients}
    got = {sid: threading.Event() for sid in clients}
    for sid, c in clients.items():
        c.sync("/wt")

        def cb(ev, sid=sid):
            events[sid].append(ev)
            got[sid].set()
        assert c.get("/wt", watch=cb)[0] == b"0"
    clients[3].set("/wt", b"1")
    for sid, ev in got.items():
        assert ev.wait(10), "no watch event on node %d" % sid
    time.sleep(0.3)
    for sid, evs in events.items():
        assert [(e.type, e.path) for e in evs] == [(EventType.CHANGED, "/wt")], sid
