"""0011: hostile and malformed input on raw sockets, while a healthy kazoo client keeps
working (checked after every test: same session, can write and read).

What ZooKeeper 3.8 does, and zkd must do:
  * frame length > jute.maxbuffer (1048575) or < 0, before or after the handshake: close
  * unparsable ConnectRequest, or a RequestHeader as first frame: close, no reply
  * ConnectRequest with lastZxidSeen ahead of the server: close, no reply
  * unknown opcode after the handshake: ReplyHeader{xid, zxid -1, err -6 UNIMPLEMENTED},
    then close (the session itself survives)
  * a request body that does not parse: ReplyHeader{xid, zxid, -5 MARSHALLINGERROR}, the
    connection stays open
  * path validation per operation: see PATH_MATRIX (writes validate, reads mostly do not)
"""

import socket
import struct

import pytest

import jute as J
from zkharness import wait_until

MAXBUF = 0xfffff


@pytest.fixture(scope="module")
def healthy(server):
    zk = server.kazoo(timeout=30)
    zk.create("/healthy", b"0", ephemeral=True)
    return zk


@pytest.fixture(autouse=True)
def check_healthy(healthy):
    sid = healthy.client_id[0]
    yield
    wait_until(lambda: healthy.connected, 10, what="healthy client connected")
    assert healthy.client_id[0] == sid
    st = healthy.set("/healthy", b"ok")
    assert healthy.get("/healthy")[0] == b"ok" and st.ephemeralOwner == sid


def sock(server):
    return J.connect_socket(server.host, server.port)


def closed_without_reply(s, timeout=5.0):
    """True if the peer closes and sends nothing."""
    data = b""
    s.settimeout(timeout)
    try:
        while True:
            c = s.recv(65536)
            if not c:
                break
            data += c
    except ConnectionResetError:
        pass
    except socket.timeout:
        return False
    finally:
        s.close()
    assert data == b"", "unexpected reply bytes %r" % data[:64]
    return True


@pytest.mark.parametrize("length", [MAXBUF + 1, 0x7fffffff, -1, -0x7fffffff, 0])
def test_bad_length_at_handshake(server, length):
    s = sock(server)
    s.sendall(struct.pack(">i", length))
    assert closed_without_reply(s)


def test_max_length_handshake_waits_for_body(server):
    # exactly jute.maxbuffer is a legal length: the server waits for the bytes
    s = sock(server)
    s.sendall(struct.pack(">i", MAXBUF))
    s.settimeout(1.0)
    with pytest.raises(socket.timeout):
        s.recv(1)
    s.close()


@pytest.mark.parametrize("length", [MAXBUF + 1, -1, -5])
def test_bad_length_after_handshake(server, length):
    r = server.raw(timeout_ms=30000)
    r.create("/bl-eph-%d" % (length & 0xffff), b"", flags=J.EPHEMERAL)
    r.sock.sendall(struct.pack(">i", length))
    assert J.wait_closed(r.sock, 5)
    # only the connection is gone: the session can be re-attached
    again = server.raw(session_id=r.session_id, passwd=r.passwd)
    assert again.timeout == 30000
    assert again.exists("/bl-eph-%d" % (length & 0xffff))[1].ephemeralOwner == r.session_id
    again.close()


@pytest.mark.parametrize("payload", [
    b"\x01\x02\x03garbage-garbage-garbage-garbage-garbage-garbage",
    J.connect_request(30000)[:20],  # truncated record
    J.i32(0) + J.i64(0) + J.i32(30000) + J.i64(0) + J.i32(0x7fffffff),  # passwd length huge
    J.i32(0) + J.i64(0) + J.i32(30000) + J.i64(0) + J.i32(-7),  # negative passwd length
    b"",
], ids=["garbage", "truncated", "passwd-huge", "passwd-negative", "empty"])
def test_garbage_connect_request(server, payload):
    s = sock(server)
    s.sendall(J.frame(payload))
    assert closed_without_reply(s)


def test_request_before_connect(server):
    s = sock(server)
    s.sendall(J.frame(J.request_header(1, J.OP_GETDATA) + J.path_watch("/healthy")))
    assert closed_without_reply(s)


def test_future_last_zxid_refused(server, healthy):
    s = sock(server)
    s.sendall(J.frame(J.connect_request(30000, last_zxid=healthy.last_zxid + 1000000)))
    assert closed_without_reply(s)


@pytest.mark.parametrize("variant", ["proto1", "timeout-neg", "passwd-empty", "passwd-null",
                                     "trailing-junk"])
def test_lenient_connect_request(server, variant):
    body = {
        "proto1": J.connect_request(30000, protocol_version=1),
        "timeout-neg": J.connect_request(-5),
        "passwd-empty": J.connect_request(30000, passwd=b""),
        "passwd-null": J.i32(0) + J.i64(0) + J.i32(30000) + J.i64(0) + J.i32(-1) + b"\0",
        "trailing-junk": J.connect_request(30000) + b"junkjunk",
    }[variant]
    s = sock(server)
    s.sendall(J.frame(body))
    resp = J.parse_connect_response(J.recv_frame(s, 5))
    assert resp["sessionId"] != 0 and len(resp["passwd"]) == 16
    assert resp["timeOut"] == (4000 if variant == "timeout-neg" else 30000)
    s.sendall(J.frame(J.request_header(J.XID_PING, J.OP_PING)))
    xid, _, err, _ = J.parse_reply_header(J.recv_frame(s, 5))
    assert (xid, err) == (J.XID_PING, 0)
    s.sendall(J.frame(J.request_header(1, J.OP_CLOSESESSION)))
    J.recv_frame(s, 5)
    s.close()


def test_connect_without_readonly_byte(server):
    s = sock(server)
    s.sendall(J.frame(J.connect_request(30000, with_readonly_byte=False)))
    payload = J.recv_frame(s, 5)
    assert len(payload) == 4 + 4 + 8 + 4 + 16  # no readOnly byte for an old client
    resp = J.parse_connect_response(payload)
    assert resp["readOnly"] is None and resp["timeOut"] == 30000
    s.close()


def test_truncated_frame_then_close(server, healthy):
    for n in range(5):
        s = sock(server)
        s.sendall(struct.pack(">i", 100) + b"0123456789")
        s.close()
        r = server.raw()
        r.sock.sendall(struct.pack(">i", 200) + J.request_header(1, J.OP_GETDATA)[:5])
        r.drop()
    assert healthy.exists("/healthy") is not None


@pytest.mark.parametrize("op", [0, 10, 23, 50, 99, 108, 200, 1000, -5])
def test_unknown_opcode(server, op):
    r = server.raw(timeout_ms=30000)
    r.create("/uo-%d" % (op & 0xffff), b"", flags=J.EPHEMERAL)
    r.send(7, op, b"")
    rep = r.read_one(5)
    assert (rep.xid, rep.zxid, rep.err) == (7, -1, J.UNIMPLEMENTED)
    assert J.wait_closed(r.sock, 5)
    again = server.raw(session_id=r.session_id, passwd=r.passwd)
    assert again.exists("/uo-%d" % (op & 0xffff))[0] == 0
    again.close()


def test_unparsable_bodies_get_marshalling_error(server):
    r = server.raw()
    try:
        cases = [
            (J.OP_GETDATA, b"\x00\x00\x00\x10ab"),  # string longer than the frame
            (J.OP_GETDATA, J.i32(-5) + J.boolean(False)),  # negative string length
            (J.OP_GETDATA, J.ustring(None) + J.boolean(False)),  # null path
            (J.OP_CREATE, J.ustring("/mx") + J.buffer(b"") + J.i32(1000000)),  # ACL count
            (J.OP_GETDATA, b""),
        ]
        for op, body in cases:
            r.xid += 1
            r.send(r.xid, op, body)
            rep = r.read_one(5)
            assert (rep.xid, rep.err) == (r.xid, J.MARSHALLINGERROR), (op, body)
            assert rep.zxid > 0
            assert r.ping().err == 0  # connection still usable
        # trailing bytes after a complete record are ignored
        r.xid += 1
        r.send(r.xid, J.OP_EXISTS, J.path_watch("/healthy") + b"extra")
        rep = r.read_one(5)
        assert rep.err == 0 and rep.r.stat().dataLength >= 1
        assert r.exists("/mx")[0] == J.NONODE
    finally:
        r.close()


def test_special_ops_from_clients(server):
    r = server.raw()
    try:
        r.create("/sp", b"")
        # deleteContainer is internal: BADARGUMENTS, the node stays
        assert r.call(J.OP_DELETECONTAINER, J.ustring("/sp")).err == J.BADARGUMENTS
        assert r.exists("/sp")[0] == 0
        # reconfig on a standalone server with reconfig disabled
        rep = r.call(J.OP_RECONFIG, J.ustring(None) + J.ustring(None)
                     + J.ustring("server.1=127.0.0.1:2888:3888") + J.i64(-1))
        assert rep.err == -123  # RECONFIGDISABLED
        # multi with a read sub-op is not a valid multi
        body = (J.i32(J.OP_GETDATA) + J.boolean(False) + J.i32(-1) + J.path_watch("/sp")
                + J.i32(-1) + J.boolean(True) + J.i32(-1))
        assert r.call(J.OP_MULTI, body).err == J.MARSHALLINGERROR
        # empty multi: just the end marker
        rep = r.call(J.OP_MULTI, J.i32(-1) + J.boolean(True) + J.i32(-1))
        assert rep.err == 0
        assert (rep.r.i32(), rep.r.boolean(), rep.r.i32()) == (-1, True, -1)
        # multiRead: per-op results, an error becomes header{-1, false, err} + ErrorResponse
        body = (J.i32(J.OP_GETDATA) + J.boolean(False) + J.i32(-1) + J.path_watch("/sp")
                + J.i32(J.OP_GETCHILDREN) + J.boolean(False) + J.i32(-1)
                + J.path_watch("/sp-nope") + J.i32(-1) + J.boolean(True) + J.i32(-1))
        rep = r.call(J.OP_MULTIREAD, body)
        assert rep.err == 0
        rd = rep.r
        assert (rd.i32(), rd.boolean(), rd.i32()) == (J.OP_GETDATA, False, 0)
        assert rd.buffer() == b"" and rd.stat().dataLength == 0
        assert (rd.i32(), rd.boolean(), rd.i32()) == (-1, False, J.NONODE)
        assert rd.i32() == J.NONODE
        assert (rd.i32(), rd.boolean(), rd.i32()) == (-1, True, -1)
        assert rd.remaining() == 0
        r.delete("/sp")
    finally:
        r.close()


def test_system_nodes(server):
    r = server.raw()
    try:
        assert r.create("/")[0] == J.NODEEXISTS
        for p in ("/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"):
            assert r.delete(p) == J.BADARGUMENTS, p
        # standalone /zookeeper/config: empty, world READ only, zero stat with aversion -1
        err, data, st = r.get_data("/zookeeper/config")
        assert (err, data) == (0, b"")
        assert (st.czxid, st.mzxid, st.ctime, st.version, st.aversion) == (0, 0, 0, 0, -1)
        rep = r.call(J.OP_GETACL, J.ustring("/zookeeper/config"))
        assert rep.r.vector(J.Reader.acl) == [(J.PERM_READ, "world", "anyone")]
        assert r.set_data("/zookeeper/config", b"x")[0] == J.NOAUTH
        assert r.create("/zookeeper/config/x")[0] == J.NOAUTH
        err, kids = r.get_children("/zookeeper")
        assert sorted(kids) == ["config", "quota"]
        # "" names the root for reads
        err, kids2 = r.get_children("")
        assert err == 0 and "zookeeper" in kids2
    finally:
        r.close()


# Path handling per operation, with /v and /v/a existing.  ZooKeeper validates the full
# path only for writes: create looks the parent up first (so a bad path under a missing
# parent is NONODE), delete only rejects a missing '/' or a NUL, setData/setACL validate
# first; reads just look the path up (exists also rejects NUL), sync accepts anything.
OPS = ["create", "create2", "delete", "setData", "setACL", "getData", "exists",
       "getChildren2", "getACL", "sync"]
PATH_MATRIX = {
    # path:          create create2 delete setData setACL getData exists getCh2 getACL sync
    "a":            (-8, -8, -8, -8, -8, -101, -101, -101, -101, 0),
    "/v/a/":        (-8, -8, -101, -8, -8, -101, -101, -101, -101, 0),
    "//":           (-8, -8, -101, -8, -8, -101, -101, -101, -101, 0),
    "/v//a":        (-101, -101, -101, -8, -8, -101, -101, -101, -101, 0),
    "/v/a/./b":     (-101, -101, -101, -8, -8, -101, -101, -101, -101, 0),
    "/v/.":         (-8, -8, -101, -8, -8, -101, -101, -101, -101, 0),
    "/v/..":        (-8, -8, -101, -8, -8, -101, -101, -101, -101, 0),
    "/v/a/../b":    (-101, -101, -101, -8, -8, -101, -101, -101, -101, 0),
    "/v/a\x00b":    (-8, -8, -8, -8, -8, -101, -8, -101, -101, 0),
    "/v/\x01x":     (-8, -8, -101, -8, -8, -101, -101, -101, -101, 0),
    "/v/\x7fx":     (-8, -8, -101, -8, -8, -101, -101, -101, -101, 0),
    "":             (-8, -8, -8, -8, -8, 0, 0, 0, 0, 0),
}


def run_op(r, op, path):
    if op == "create":
        return r.call(J.OP_CREATE, J.create_request(path)).err
    if op == "create2":
        return r.call(J.OP_CREATE2, J.create_request(path)).err
    if op == "delete":
        return r.call(J.OP_DELETE, J.delete_request(path)).err
    if op == "setData":
        return r.call(J.OP_SETDATA, J.set_data_request(path, b"x")).err
    if op == "setACL":
        return r.call(J.OP_SETACL, J.ustring(path) + J.vector(J.OPEN_ACL_UNSAFE, J.acl)
                      + J.i32(-1)).err
    if op == "getData":
        return r.call(J.OP_GETDATA, J.path_watch(path)).err
    if op == "exists":
        return r.call(J.OP_EXISTS, J.path_watch(path)).err
    if op == "getChildren2":
        return r.call(J.OP_GETCHILDREN2, J.path_watch(path)).err
    if op == "getACL":
        return r.call(J.OP_GETACL, J.ustring(path)).err
    if op == "sync":
        return r.call(J.OP_SYNC, J.ustring(path)).err
    raise ValueError(op)


def test_invalid_paths(server):
    r = server.raw()
    try:
        r.create("/v")
        r.create("/v/a")
        bad = []
        for path, expected in PATH_MATRIX.items():
            for op, exp in zip(OPS, expected):
                got = run_op(r, op, path)
                if got != exp:
                    bad.append("%s %r: %d, ZooKeeper %d" % (op, path, got, exp))
        assert not bad, "\n".join(bad)
        assert sorted(r.get_children("/v")[1]) == ["a"]
        # a sequential create validates the final name: "/v/a/" + 10 digits is fine
        err, p, _ = r.create("/v/a/", b"", flags=J.PERSISTENT_SEQUENTIAL)
        assert err == 0 and p == "/v/a/0000000000"
        r.delete(p)
        r.delete("/v/a")
        r.delete("/v")
    finally:
        r.close()


def test_healthy_client_under_junk(server, healthy):
    """Interleave junk connections with the healthy client's writes."""
    for i in range(20):
        s = sock(server)
        s.sendall(struct.pack(">i", -1 if i % 2 else MAXBUF + i))
        s.close()
        healthy.set("/healthy", str(i).encode())
    assert healthy.get("/healthy")[0] == b"19"
    assert server.four("ruok") == b"imok"
