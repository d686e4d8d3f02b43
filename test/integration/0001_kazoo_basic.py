"""0001: basic znode operations through kazoo (python3-kazoo 2.8) against one server.

Exact Stat fields after a known sequence of writes, sequential naming, ephemerals,
error codes, children, ACL get/set, sync, getAllChildrenNumber/getEphemerals (sent through
kazoo's connection, see kazoo_ext.py), the 1 MB frame limit, and multi transactions.
The module shares one server; every test works under its own top-level path.
"""

import time

import pytest
from kazoo.exceptions import (BadVersionError, ConnectionLoss, NoChildrenForEphemeralsError,
                              NodeExistsError, NoNodeError, NotEmptyError, RolledBackError,
                              RuntimeInconsistency)
from kazoo.security import OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, make_acl

import kazoo_ext
from zkharness import wait_until

MAXBUF = 0xfffff  # jute.maxbuffer default: largest accepted frame length (bytes after the length)


def now_ms():
    return int(time.time() * 1000)


def assert_stat(st, **exp):
    got = {k: getattr(st, k) for k in exp}
    assert got == exp, "stat %r" % (st,)


def test_create_get_set_delete_stat_sequence(zk):
    t0 = now_ms()
    path, st = zk.create("/b1", b"v0", include_data=True)
    assert path == "/b1"
    z = st.czxid
    assert z > 0
    assert_stat(st, czxid=z, mzxid=z, pzxid=z, version=0, cversion=0, aversion=0,
                ephemeralOwner=0, dataLength=2, numChildren=0)
    assert st.ctime == st.mtime and t0 - 5000 <= st.ctime <= now_ms() + 5000

    data, st2 = zk.get("/b1")
    assert data == b"v0"
    assert st2 == st

    st3 = zk.set("/b1", b"v111")
    assert_stat(st3, czxid=z, mzxid=z + 1, pzxid=z, version=1, cversion=0, aversion=0,
                dataLength=4, numChildren=0, ctime=st.ctime)
    assert st3.mtime >= st.mtime

    _, stc = zk.create("/b1/c", b"", include_data=True)
    assert stc.czxid == z + 2 and stc.dataLength == 0
    st4 = zk.exists("/b1")
    assert_stat(st4, czxid=z, mzxid=z + 1, pzxid=z + 2, version=1, cversion=1, numChildren=1,
                aversion=0)

    st5 = zk.set_acls("/b1", OPEN_ACL_UNSAFE, version=0)
    assert_stat(st5, mzxid=z + 1, pzxid=z + 2, version=1, cversion=1, aversion=1)

    zk.delete("/b1/c", version=0)
    st6 = zk.exists("/b1")
    assert_stat(st6, czxid=z, mzxid=z + 1, pzxid=z + 4, version=1, cversion=2, aversion=1,
                numChildren=0, dataLength=4)

    # null data: create with an empty value gives dataLength 0
    zk.set("/b1", b"")
    d, st7 = zk.get("/b1")
    assert d == b"" and st7.dataLength == 0 and st7.version == 2 and st7.mzxid == z + 5

    zk.delete("/b1", version=2)
    assert zk.exists("/b1") is None
    with pytest.raises(NoNodeError):
        zk.get("/b1")


def test_sequential_names_follow_parent_cversion(zk):
    # ZooKeeper keeps the number of child *creates* per node; the sequential suffix is that
    # count before the create, while Stat.cversion reports creates + deletes
    # (stored * 2 - numChildren).  So a delete raises Stat.cversion but not the next suffix.
    zk.create("/b2")
    p0 = zk.create("/b2/n-", b"", sequence=True)
    assert p0 == "/b2/n-0000000000"
    zk.create("/b2/plain")
    p2 = zk.create("/b2/n-", sequence=True)
    assert p2 == "/b2/n-0000000002"
    assert zk.exists("/b2").cversion == 3
    zk.delete("/b2/plain")
    assert zk.exists("/b2").cversion == 4
    p3 = zk.create("/b2/", sequence=True)
    assert p3 == "/b2/0000000003"
    assert zk.exists("/b2").cversion == 5
    pe = zk.create("/b2/e-", ephemeral=True, sequence=True)
    assert pe == "/b2/e-0000000004"
    st = zk.exists("/b2")
    assert st.cversion == 6 and st.numChildren == 4
    assert sorted(zk.get_children("/b2")) == ["0000000003", "e-0000000004",
                                             "n-0000000000", "n-0000000002"]
    # the suffix is a signed 32-bit counter printed with %010d
    zk.create("/b2/x")
    zk.delete("/b2/x")
    zk.delete("/b2/0000000003")
    assert zk.create("/b2/n-", sequence=True) == "/b2/n-0000000006"
    assert zk.exists("/b2").cversion == 2 * 7 - 4


def test_ephemeral_owner_and_no_children(server, zk):
    other = server.kazoo()
    try:
        path, st = other.create("/b3", b"e", ephemeral=True, include_data=True)
        sid = other.client_id[0]
        assert st.ephemeralOwner == sid != 0
        assert zk.exists("/b3").ephemeralOwner == sid
        with pytest.raises(NoChildrenForEphemeralsError):
            zk.create("/b3/child")
        with pytest.raises(NoChildrenForEphemeralsError):
            other.create("/b3/child", ephemeral=True)
        assert kazoo_ext.ephemerals(other, "/b3") == ["/b3"]
        assert kazoo_ext.ephemerals(other, "/") == ["/b3"]
        assert kazoo_ext.ephemerals(zk, "/") == []
    finally:
        other.stop()
        other.close()
    # closeSession is a txn applied before its reply: gone at once
    assert zk.exists("/b3") is None


def test_error_codes(zk):
    zk.create("/b4", b"x")
    zk.create("/b4/c")
    with pytest.raises(NodeExistsError):
        zk.create("/b4")
    with pytest.raises(NoNodeError):
        zk.create("/b4/missing/child")
    with pytest.raises(NoNodeError):
        zk.delete("/b4/missing")
    with pytest.raises(NoNodeError):
        zk.set("/b4/missing", b"")
    with pytest.raises(NoNodeError):
        zk.get_children("/b4/missing")
    with pytest.raises(NotEmptyError):
        zk.delete("/b4")
    with pytest.raises(BadVersionError):
        zk.set("/b4", b"y", version=5)
    with pytest.raises(BadVersionError):
        zk.delete("/b4/c", version=1)
    with pytest.raises(BadVersionError):
        zk.set_acls("/b4", OPEN_ACL_UNSAFE, version=3)
    assert zk.get("/b4")[0] == b"x"  # nothing changed
    assert zk.exists("/b4").version == 0
    zk.delete("/b4", recursive=True)


def test_children_include_data_and_count(zk):
    names = ["zeta", "alpha", "m10", "m2", "B"]
    zk.create("/b5")
    for n in names:
        zk.create("/b5/" + n, n.encode())
    zk.create("/b5/alpha/deep", b"")
    zk.create("/b5/alpha/deep/er", b"")
    assert sorted(zk.get_children("/b5")) == sorted(names)
    kids, st = zk.get_children("/b5", include_data=True)
    assert sorted(kids) == sorted(names)
    assert st.numChildren == 5 and st.cversion == 5
    assert zk.get_children("/b5/m2") == []
    assert kazoo_ext.all_children_number(zk, "/b5") == 7
    assert kazoo_ext.all_children_number(zk, "/b5/alpha") == 2
    assert kazoo_ext.all_children_number(zk, "/b5/zeta") == 0
    with pytest.raises(NoNodeError):
        kazoo_ext.all_children_number(zk, "/b5/nope")
    zk.delete("/b5", recursive=True)


def test_acls_get_set(zk):
    acl_in = READ_ACL_UNSAFE + [make_acl("world", "anyone", admin=True),
                                make_acl("world", "anyone", read=True)]
    zk.create("/b6", b"d", acl=acl_in)
    acls, st = zk.get_acls("/b6")
    # exact duplicates are dropped, same id with other perms is kept, order preserved
    assert [(a.perms, a.id.scheme, a.id.id) for a in acls] == [(1, "world", "anyone"),
                                                              (16, "world", "anyone")]
    assert st.aversion == 0
    zk.set_acls("/b6", OPEN_ACL_UNSAFE)
    acls, st = zk.get_acls("/b6")
    assert [(a.perms, a.id.scheme, a.id.id) for a in acls] == [(31, "world", "anyone")]
    assert st.aversion == 1
    zk.delete("/b6")


def test_exists_and_sync(zk):
    assert zk.exists("/b7") is None
    zk.create("/b7", b"abc")
    st = zk.exists("/b7")
    assert st.dataLength == 3 and st.version == 0
    assert zk.sync("/b7") == "/b7"
    assert zk.sync("/b7-missing") == "/b7-missing"  # sync does not look the path up
    zk.delete("/b7")


def test_large_data_limit(server, zk):
    # frame = RequestHeader(8) + CreateRequest(path, data, acl, flags); accepted up to MAXBUF
    path = "/b8"
    overhead = 8 + (4 + len(path)) + 4 + (4 + (4 + (4 + 5) + (4 + 6))) + 4
    ok_len = MAXBUF - overhead
    zk.create(path, b"a" * ok_len)
    d, st = zk.get(path)
    assert len(d) == ok_len and st.dataLength == ok_len
    # SetDataRequest frame = 8 + path + (4 + data) + version(4): exactly MAXBUF is accepted
    set_len = MAXBUF - (8 + 4 + len(path) + 4 + 4)
    st = zk.set(path, b"b" * set_len)
    assert st.dataLength == set_len and st.version == 1
    # one byte more: the frame length exceeds jute.maxbuffer, the server drops the connection
    with pytest.raises(ConnectionLoss):
        zk.set(path, b"c" * (set_len + 1))
    wait_until(lambda: zk.connected, 15, what="kazoo reconnected")
    d, st = zk.get(path)
    assert st.version == 1 and d == b"b" * set_len
    with pytest.raises(ConnectionLoss):
        zk.create(path + "x", b"c" * (1024 * 1024))
    wait_until(lambda: zk.connected, 15, what="kazoo reconnected")
    assert zk.exists(path + "x") is None
    zk.delete(path)


def test_transaction_success(zk):
    zk.create("/b9", b"0")
    t = zk.transaction()
    t.create("/b9/a", b"A")
    t.set_data("/b9", b"1", version=0)
    t.check("/b9", 1)
    t.create("/b9/s-", b"", sequence=True)
    t.delete("/b9/a")
    res = t.commit()
    assert res == ["/b9/a", res[1], True, "/b9/s-0000000001", True]
    assert res[1].version == 1 and res[1].dataLength == 1
    assert zk.get_children("/b9") == ["s-0000000001"]
    st = zk.exists("/b9")
    assert st.version == 1 and st.cversion == 3
    # a multi is one txn: every sub-op carries the same zxid
    assert st.pzxid == st.mzxid
    assert zk.exists("/b9/s-0000000001").czxid == st.mzxid
    zk.delete("/b9", recursive=True)


def test_transaction_atomic_failure(zk):
    zk.create("/b10", b"0")
    before = zk.exists("/b10")
    t = zk.transaction()
    t.create("/b10/a", b"A")
    t.set_data("/b10", b"1")
    t.check("/b10", 7)  # fails: version is 0
    t.create("/b10/b")
    t.delete("/b10")
    res = t.commit()
    assert [type(r) for r in res] == [RolledBackError, RolledBackError, BadVersionError,
                                      RuntimeInconsistency, RuntimeInconsistency]
    assert zk.get_children("/b10") == []
    assert zk.exists("/b10") == before
    # failing op in first position
    t = zk.transaction()
    t.create("/b10", b"dup")
    t.create("/b10/c")
    res = t.commit()
    assert [type(r) for r in res] == [NodeExistsError, RuntimeInconsistency]
    t = zk.transaction()
    t.check("/b10", 0)
    t.delete("/b10/missing")
    res = t.commit()
    assert [type(r) for r in res] == [RolledBackError, NoNodeError]
    assert zk.exists("/b10") == before
    zk.delete("/b10")
