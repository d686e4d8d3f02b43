"""0002: sessions. Timeout negotiation, expiry (ephemerals vanish, watchers see NodeDeleted),
re-attaching a session on a new connection, wrong password, closeSession.

The module server runs with tickTime=500 so that the session timeout range is
[1000, 10000] ms and expiry is quick.  Sessions that must expire are raw jute sessions
(jute.RawSession) that simply stop pinging; nothing else is timing-dependent.
"""

import threading
import time

import pytest
from kazoo.client import KazooClient
from kazoo.protocol.states import EventType, KazooState

import jute as J
from zkharness import wait_until

TICK = 500
SERVER_KW = dict(tick_time=TICK)


def java_random_bytes(seed, n):
    """java.util.Random(seed).nextBytes(n)."""
    mask = (1 << 48) - 1
    seed = (seed ^ 0x5DEECE66D) & mask
    out = bytearray()
    while len(out) < n:
        seed = (seed * 0x5DEECE66D + 0xB) & mask
        r = seed >> 16
        for _ in range(min(n - len(out), 4)):
            out.append(r & 0xFF)
            r >>= 8
    return bytes(out)


@pytest.mark.parametrize("asked,granted", [(1, 1000), (999, 1000), (1000, 1000), (3000, 3000),
                                           (9999, 9999), (10000, 10000), (10001, 10000),
                                           (600000, 10000)])
def test_timeout_negotiation_clamped(server, asked, granted):
    s = server.raw(timeout_ms=asked)
    try:
        assert s.timeout == granted
        assert s.connect_response["protocolVersion"] == 0
        assert s.connect_response["readOnly"] is False
        assert len(s.passwd) == 16
    finally:
        s.close()


def test_timeout_bounds_from_config(servers):
    srv = servers.new(name="minmax", tick_time=TICK,
                      extra={"minSessionTimeout": 3000, "maxSessionTimeout": 6000})
    for asked, granted in [(1000, 3000), (4500, 4500), (30000, 6000)]:
        s = srv.raw(timeout_ms=asked)
        assert s.timeout == granted
        s.close()
    conf = srv.four("conf").decode()
    assert "minSessionTimeout=3000\n" in conf and "maxSessionTimeout=6000\n" in conf
    assert "tickTime=%d\n" % TICK in conf
    srv.shutdown()


def test_kazoo_session_timeout_negotiated(server):
    zk = server.kazoo(timeout=0.2)  # asks for 200 ms, gets 2 * tickTime
    try:
        zk.create("/s0", ephemeral=True)
        # kazoo pings at 1/3 of the negotiated timeout; the session must survive 2 s
        t_end = time.monotonic() + 2.0
        while time.monotonic() < t_end:
            assert zk.exists("/s0") is not None
            time.sleep(0.2)
        assert zk.state == KazooState.CONNECTED
    finally:
        zk.stop()
        zk.close()


def test_session_ids_and_passwords(server):
    a = server.raw()
    b = server.raw()
    try:
        # standalone: server id 1 in the top byte; ids handed out consecutively
        assert a.session_id >> 56 == 1 and b.session_id >> 56 == 1
        assert b.session_id == a.session_id + 1
        # password = java.util.Random(sessionId ^ 0xB3415C00).nextBytes(16), so that a
        # session created on one server validates on another (mixed ensembles)
        for s in (a, b):
            assert s.passwd == java_random_bytes(s.session_id ^ 0xB3415C00, 16)
    finally:
        a.close()
        b.close()


def test_ping_keeps_session_alive(server, zk):
    s = server.raw(timeout_ms=1000)
    try:
        s.create("/s1", b"", flags=J.EPHEMERAL)
        t_end = time.monotonic() + 3.0
        while time.monotonic() < t_end:
            rep = s.ping()
            assert rep.err == 0 and rep.xid == J.XID_PING
            time.sleep(0.25)
        st = zk.exists("/s1")
        assert st is not None and st.ephemeralOwner == s.session_id
    finally:
        s.close()
    assert zk.exists("/s1") is None


def test_expiry_removes_ephemerals_and_fires_watch(server, zk):
    s = server.raw(timeout_ms=1000)
    assert s.timeout == 1000
    err, path, _ = s.create("/s2", b"e", flags=J.EPHEMERAL)
    assert err == 0
    s.create("/s2-seq-", b"", flags=J.EPHEMERAL_SEQUENTIAL)
    events = []
    got = threading.Event()

    def watch(ev):
        events.append(ev)
        got.set()

    assert zk.exists("/s2", watch=watch).ephemeralOwner == s.session_id
    rep = s.ping()  # last sign of life
    t0 = time.monotonic()
    assert rep.err == 0
    assert got.wait(1000 / 1000 + 2 * TICK / 1000 + 5), "no NodeDeleted within bound"
    elapsed = time.monotonic() - t0
    assert events[0].type == EventType.DELETED and events[0].path == "/s2"
    # expiry happens on a tick boundary after the timeout: not before ~timeout
    assert elapsed >= 0.8, "session expired after %.2fs, timeout is 1 s" % elapsed
    assert zk.exists("/s2") is None
    assert [c for c in zk.get_children("/") if c.startswith("s2-seq-")] == []
    # the server closed the expired session's connection
    assert J.wait_closed(s.sock, 5)
    # and re-attaching the expired session is refused: timeOut 0, id 0, zero password, close
    again = J.RawSession(server.host, server.port, session_id=s.session_id, passwd=s.passwd)
    try:
        cr = again.connect_response
        assert (cr["timeOut"], cr["sessionId"], cr["passwd"]) == (0, 0, b"\0" * 16)
        assert J.wait_closed(again.sock, 5)
    finally:
        again.drop()


def test_reattach_same_session_keeps_ephemerals(server, zk):
    s = server.raw(timeout_ms=10000)
    s.create("/s3", b"x", flags=J.EPHEMERAL)
    sid, pw = s.session_id, s.passwd
    last = s.last_zxid
    s.drop()  # connection gone, session alive
    assert zk.exists("/s3").ephemeralOwner == sid
    k = KazooClient(hosts=server.hostport, client_id=(sid, pw), timeout=10)
    server.clients.append(k)
    k.start(timeout=15)
    try:
        assert k.client_id[0] == sid and k.client_id[1] == pw
        st = k.exists("/s3")
        assert st is not None and st.ephemeralOwner == sid and st.czxid <= last
        k.create("/s3b", ephemeral=True)
        assert zk.exists("/s3b").ephemeralOwner == sid
    finally:
        k.stop()  # closeSession: both ephemerals are gone at once
        k.close()
    assert zk.exists("/s3") is None and zk.exists("/s3b") is None


def test_reattach_raw_same_session(server, zk):
    s = server.raw(timeout_ms=4000)
    s.create("/s4", b"", flags=J.EPHEMERAL)
    s.drop()
    s2 = server.raw(timeout_ms=7000, session_id=s.session_id, passwd=s.passwd,
                    last_zxid=s.last_zxid)
    try:
        assert s2.session_id == s.session_id and s2.passwd == s.passwd
        assert s2.timeout == 7000  # renegotiated on re-attach
        assert s2.exists("/s4")[1].ephemeralOwner == s.session_id
    finally:
        s2.close()
    assert zk.exists("/s4") is None


def test_wrong_password_is_expired_but_session_survives(server, zk):
    s = server.raw(timeout_ms=10000)
    s.create("/s5", b"", flags=J.EPHEMERAL)
    bad = bytes(b ^ 0xFF for b in s.passwd)
    w = J.RawSession(server.host, server.port, session_id=s.session_id, passwd=bad)
    try:
        cr = w.connect_response
        assert (cr["timeOut"], cr["sessionId"], cr["passwd"]) == (0, 0, b"\0" * 16)
        assert J.wait_closed(w.sock, 5)
    finally:
        w.drop()
    # unknown session id: the same answer
    u = J.RawSession(server.host, server.port, session_id=0x01FF00FF00FF00FF, passwd=s.passwd)
    try:
        assert u.connect_response["timeOut"] == 0 and u.connect_response["sessionId"] == 0
        assert J.wait_closed(u.sock, 5)
    finally:
        u.drop()
    # ZooKeeper closes the session's current connection as soon as a ConnectRequest names
    # that session id (before checking the password), but the session itself survives
    assert J.wait_closed(s.sock, 5)
    s.drop()
    s = server.raw(timeout_ms=10000, session_id=s.session_id, passwd=s.passwd)
    assert s.ping().err == 0
    assert zk.exists("/s5").ephemeralOwner == s.session_id
    # kazoo with a wrong password gets "expired" and silently starts a new session
    k = KazooClient(hosts=server.hostport, client_id=(s.session_id, bad), timeout=10)
    server.clients.append(k)
    try:
        k.start(timeout=15)
        wait_until(lambda: k.connected and k.client_id[0] not in (0, s.session_id), 15,
                   what="kazoo new session")
    finally:
        k.stop()
        k.close()
    assert zk.exists("/s5").ephemeralOwner == s.session_id
    s.drop()
    s = server.raw(timeout_ms=10000, session_id=s.session_id, passwd=s.passwd)
    s.close()
    assert zk.exists("/s5") is None


def test_close_session_removes_ephemerals_immediately(server, zk):
    s = server.raw(timeout_ms=10000)
    for i in range(3):
        s.create("/s6-%d" % i, b"", flags=J.EPHEMERAL)
    fired = threading.Event()
    zk.exists("/s6-1", watch=lambda ev: fired.set())
    rep = s.close_session()
    assert rep.err == 0 and rep.xid == s.xid
    assert J.wait_closed(s.sock, 5)  # the server closes the connection after the reply
    for i in range(3):
        assert zk.exists("/s6-%d" % i) is None
    assert fired.wait(5)
    # the closed session cannot be re-attached
    again = J.RawSession(server.host, server.port, session_id=s.session_id, passwd=s.passwd)
    assert again.connect_response["timeOut"] == 0
    again.drop()
