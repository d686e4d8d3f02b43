"""0005: container and TTL znodes.

Server: extendedTypesEnabled=true, znode.container.checkIntervalMs=1000 (ZooKeeper takes both
as Java system properties; zkd from zookeeper.properties).  Containers are created with
createContainer (op 19) and TTL nodes with createTTL (op 21), sent through kazoo's connection
(kazoo_ext) or raw sessions.  A second server without extendedTypesEnabled checks the error.
"""

import re
import time

import pytest
from kazoo.exceptions import BadArgumentsError, NotEmptyError, UnimplementedError

import jute as J
import kazoo_ext
from zkharness import wait_until

CHECK_MS = 1000
SERVER_KW = dict(extra={"extendedTypesEnabled": "true",
                        "znode.container.checkIntervalMs": CHECK_MS})
GONE_BOUND = 10.0  # seconds: a few check intervals plus slack


def test_container_removed_after_last_child(zk, zk2):
    path, st = kazoo_ext.create_container(zk, "/k1", b"box")
    assert path == "/k1"
    # clients see ephemeralOwner 0 for containers (the marker stays inside the server)
    assert st.ephemeralOwner == 0 and st.dataLength == 3
    kazoo_ext.create_container(zk, "/k1-never-used")
    zk.create("/k1/a")
    zk.create("/k1/b", ephemeral=True)
    deleted = []
    zk2.exists("/k1", watch=deleted.append)
    zk.delete("/k1/a")
    zk.delete("/k1/b")
    t0 = time.monotonic()
    wait_until(lambda: zk.exists("/k1") is None, GONE_BOUND, what="container /k1 removed")
    took = time.monotonic() - t0
    wait_until(lambda: deleted, 5, what="NodeDeleted for the container")
    assert deleted[0].type == "DELETED" and deleted[0].path == "/k1"
    assert took <= 2 * CHECK_MS / 1000 + 2
    # a container that never had a child stays (maxNeverUsedIntervalMs defaults to 0)
    assert zk.exists("/k1-never-used") is not None
    zk.delete("/k1-never-used")


def test_container_kept_while_it_has_children(zk):
    kazoo_ext.create_container(zk, "/k2")
    zk.create("/k2/x")
    zk.create("/k2/y")
    zk.delete("/k2/x")
    kazoo_ext.create_container(zk, "/k2-probe")
    zk.create("/k2-probe/c")
    zk.delete("/k2-probe/c")
    # once the probe is gone a container check ran after /k2 lost a child
    wait_until(lambda: zk.exists("/k2-probe") is None, GONE_BOUND, what="probe removed")
    assert zk.get_children("/k2") == ["y"]
    with pytest.raises(NotEmptyError):
        zk.delete("/k2")
    zk.delete("/k2/y")
    wait_until(lambda: zk.exists("/k2") is None, GONE_BOUND, what="container /k2 removed")


def test_container_flag_needs_create_container_op(server, zk):
    # Only createContainer (op 19) makes a container; its flags only add SEQUENTIAL (2).
    # create/create2 with flags CONTAINER (4) silently make a plain persistent node.
    s = server.raw()
    try:
        assert s.create("/k3a", b"", flags=J.CONTAINER, op=J.OP_CREATE)[:2] == (0, "/k3a")
        assert s.create("/k3b", b"", flags=J.CONTAINER, op=J.OP_CREATE2)[:2] == (0, "/k3b")
        assert s.create("/k3c", b"", flags=J.EPHEMERAL, op=J.OP_CREATECONTAINER)[:2] == \
            (0, "/k3c")
        err, seq, st = s.create("/k3d-", b"", flags=J.PERSISTENT_SEQUENTIAL,
                                op=J.OP_CREATECONTAINER)
        assert err == 0 and re.fullmatch(r"/k3d-\d{10}", seq)
        assert st.ephemeralOwner == 0
        for p in ("/k3a", "/k3b", "/k3c", seq):
            s.create(p + "/c")
            s.delete(p + "/c")
        wait_until(lambda: s.exists("/k3c")[0] == J.NONODE and s.exists(seq)[0] == J.NONODE,
                   GONE_BOUND, what="containers removed")
        assert s.exists("/k3a")[0] == 0 and s.exists("/k3b")[0] == 0
    finally:
        s.close()
    zk.delete("/k3a")
    zk.delete("/k3b")


def test_nested_containers_cascade(zk):
    zk.create("/k4")
    kazoo_ext.create_container(zk, "/k4/box")
    kazoo_ext.create_container(zk, "/k4/box/inner")
    zk.create("/k4/box/inner/leaf")
    zk.delete("/k4/box/inner/leaf")
    # inner goes first; that removal empties box, which goes at a later check
    wait_until(lambda: zk.exists("/k4/box") is None, 2 * GONE_BOUND,
               what="nested containers removed")
    assert zk.get_children("/k4") == []
    zk.delete("/k4")


def test_ttl_node_expires(zk):
    t0 = time.monotonic()
    path, st = kazoo_ext.create_ttl(zk, "/t1", b"ttl", ttl=1000)
    assert path == "/t1"
    assert st.ephemeralOwner == 0 and st.dataLength == 3 and st.version == 0
    seq_path, _ = kazoo_ext.create_ttl(zk, "/t1-seq-", b"", ttl=1000, sequential=True)
    assert seq_path.startswith("/t1-seq-") and len(seq_path) == len("/t1-seq-") + 10
    wait_until(lambda: zk.exists("/t1") is None and zk.exists(seq_path) is None, GONE_BOUND,
               what="TTL nodes removed")
    assert time.monotonic() - t0 >= 1.0  # never before the ttl


def test_ttl_node_kept_while_modified_or_parent(zk):
    kazoo_ext.create_ttl(zk, "/t2", b"", ttl=1500)
    kazoo_ext.create_ttl(zk, "/t3", b"", ttl=500)
    zk.create("/t3/child")
    t_end = time.monotonic() + 3.0
    while time.monotonic() < t_end:
        zk.set("/t2", b"touch")  # mtime moves: the ttl counts from the last modification
        assert zk.exists("/t2") is not None
        time.sleep(0.3)
    assert zk.exists("/t3") is not None  # has a child
    zk.delete("/t3/child")
    wait_until(lambda: zk.exists("/t2") is None and zk.exists("/t3") is None, GONE_BOUND,
               what="TTL nodes removed after last touch / child")


@pytest.mark.parametrize("ttl", [0, -1, 0xFFFFFFFFFF + 1])
def test_ttl_out_of_range(zk, ttl):
    with pytest.raises(BadArgumentsError):
        kazoo_ext.create_ttl(zk, "/t4", b"", ttl=ttl)
    assert zk.exists("/t4") is None


def test_ttl_max_accepted(zk):
    p, st = kazoo_ext.create_ttl(zk, "/t5", b"", ttl=0xFFFFFFFFFF)
    assert p == "/t5"
    zk.delete("/t5")


def test_ttl_flag_combinations(server):
    s = server.raw()
    try:
        # createTTL needs a TTL mode; create/create2 refuse TTL modes
        for flags in (J.PERSISTENT, J.EPHEMERAL, J.CONTAINER, J.EPHEMERAL_SEQUENTIAL):
            assert s.create_ttl("/t6", b"", 1000, flags=flags)[0] == J.BADARGUMENTS
        for op in (J.OP_CREATE, J.OP_CREATE2):
            for flags in (J.PERSISTENT_WITH_TTL, J.PERSISTENT_SEQUENTIAL_WITH_TTL):
                assert s.create("/t6", b"", flags=flags, op=op)[0] == J.BADARGUMENTS
        for flags in (7, 8, -1):
            assert s.create("/t6", b"", flags=flags)[0] == J.BADARGUMENTS
        assert s.exists("/t6")[0] == J.NONODE
    finally:
        s.close()


def test_ttl_without_extended_types(servers):
    srv = servers.new(name="noext", extra={"znode.container.checkIntervalMs": CHECK_MS})
    k = srv.kazoo()
    try:
        with pytest.raises(UnimplementedError):
            kazoo_ext.create_ttl(k, "/t7", b"", ttl=1000)
        with pytest.raises(UnimplementedError):
            kazoo_ext.create_ttl(k, "/t7-", b"", ttl=1000, sequential=True)
        s = srv.raw()
        # every TTL mode is UNIMPLEMENTED (-6) there, also via create/create2 and for any ttl
        for op in (J.OP_CREATE, J.OP_CREATE2):
            assert s.create("/t7", b"", flags=J.PERSISTENT_WITH_TTL, op=op)[0] == J.UNIMPLEMENTED
        assert s.create_ttl("/t7", b"", -5)[0] == J.UNIMPLEMENTED
        # non-TTL modes in createTTL are still BADARGUMENTS
        assert s.create_ttl("/t7", b"", 1000, flags=J.PERSISTENT)[0] == J.BADARGUMENTS
        # containers do not need extended types
        p, _ = kazoo_ext.create_container(k, "/k7")
        assert p == "/k7"
        k.create("/k7/c")
        k.delete("/k7/c")
        wait_until(lambda: k.exists("/k7") is None, GONE_BOUND, what="container removed")
        assert k.exists("/t7") is None
        s.close()
    finally:
        k.stop()
        k.close()
        srv.shutdown()
