"""0010: on-disk interchange with Apache ZooKeeper 3.8.

The server under test (ZK_IMPL) writes a tree with snapCount=100 (so that snapshots roll
besides the txn log): data, ACLs, sequential nodes, ephemerals of a live session, deletes
and updates.  It is stopped and Apache ZooKeeper (always the reference, whatever ZK_IMPL
is) is started on the same dataDir and address: same tree, data, ACLs and Stat fields, the
live session is still valid.  Then the reverse: ZooKeeper writes, the server under test
reads.  With ZK_IMPL=ref both sides are ZooKeeper (a self-check of the test).
"""

import os
import re

import pytest
from kazoo.security import make_digest_acl

import jute as J
from zkharness import IMPL

EXTRA = {"snapCount": 100}


def walk(zk, root="/"):
    out = {}

    def rec(p):
        data, st = zk.get(p)
        acls, _ = zk.get_acls(p)
        out[p] = (data, tuple(st), tuple((a.perms, a.id.scheme, a.id.id) for a in acls))
        for c in sorted(zk.get_children(p)):
            cp = p.rstrip("/") + "/" + c
            if cp != "/zookeeper":
                rec(cp)

    rec(root)
    return out


def write_tree(zk, holder, tag, n=200):
    zk.add_auth("digest", "u:p")
    zk.create("/x-%s" % tag, b"top")
    base = "/x-%s" % tag
    zk.create(base + "/acl", b"secret", acl=[make_digest_acl("u", "p", all=True)])
    zk.create(base + "/ro", b"ro", acl=[make_digest_acl("u", "p", read=True, admin=True)])
    for i in range(n):  # many txns: several snapshots at snapCount=100
        p = zk.create(base + "/n-", ("v%d" % i).encode() * (i % 7), sequence=True)
        if i % 5 == 0:
            zk.set(p, b"updated")
        if i % 11 == 0:
            zk.delete(p)
    zk.create(base + "/big", b"b" * 200000)
    assert holder.create(base + "/eph", b"e", flags=J.EPHEMERAL)[0] == 0
    assert holder.create(base + "/eph-", b"", flags=J.EPHEMERAL_SEQUENTIAL)[0] == 0
    t = zk.transaction()
    t.create(base + "/multi-a", b"1")
    t.create(base + "/multi-b", b"2")
    t.set_data(base, b"top2")
    t.commit()
    return base


def snapshots(data_dir):
    d = os.path.join(data_dir, "version-2")
    names = os.listdir(d)
    snaps = [n for n in names if re.fullmatch(r"snapshot\.[0-9a-f]+", n)]
    logs = [n for n in names if re.fullmatch(r"log\.[0-9a-f]+", n)]
    return snaps, logs


def switch(servers, writer, reader_impl, name):
    """Start a reader_impl server on the writer's dataDir and address."""
    return servers.new(name=name, impl=reader_impl, host=writer.host,
                       data_dir=writer.data_dir, extra=EXTRA)


def srvr_zxid(server):
    return int(server.four("srvr").decode().split("Zxid: ")[1].split("\n")[0], 16)


def run_interchange(servers, first_impl, second_impl, tag, stop_how):
    """The holder session (a raw connection, so nothing reconnects behind the
    test's back) owns ephemerals; it is picked up again on the second server
    once that one serves, with the same id and password."""
    a = servers.new(name="%s-writer" % tag, impl=first_impl, extra=EXTRA)
    holder = a.raw(timeout_ms=30000)
    sid, passwd = holder.session_id, holder.passwd
    zk = a.kazoo()
    base = write_tree(zk, holder, tag)
    before = walk(zk, base)
    zk.stop()  # a closeSession txn: read the zxid after it
    zk.close()
    zxid = srvr_zxid(a)
    snaps, logs = snapshots(a.data_dir)
    assert any(int(s.split(".")[1], 16) > 0 for s in snaps), snaps
    assert logs
    if stop_how == "kill9":
        a.kill9()
    else:
        a.stop()
    holder.drop()  # the connection is gone, the session is not
    b = switch(servers, a, second_impl, "%s-reader" % tag)
    holder = b.raw(timeout_ms=30000, session_id=sid, passwd=passwd)
    assert holder.session_id == sid  # the session lives on in the other server
    assert holder.ping().err == 0
    zk = b.kazoo()
    zk.add_auth("digest", "u:p")  # to read the digest-protected nodes
    try:
        after = walk(zk, base)
        assert sorted(after) == sorted(before)
        for p in before:
            assert after[p] == before[p], "%s differs: %r vs %r" % (p, after[p], before[p])
        assert srvr_zxid(b) == zxid + 1  # + the createSession of the new client
        _, st = zk.create(base + "/after", b"", include_data=True)
        assert st.czxid > zxid
        holder.close()
        assert zk.exists(base + "/eph") is None
        zk.delete(base, recursive=True)
    finally:
        zk.stop()
        zk.close()
        b.shutdown()


@pytest.mark.parametrize("stop_how", ["clean", "kill9"])
def test_impl_writes_reference_reads(servers, stop_how):
    run_interchange(servers, IMPL, "ref", "i2r-" + stop_how, stop_how)


@pytest.mark.parametrize("stop_how", ["clean", "kill9"])
def test_reference_writes_impl_reads(servers, stop_how):
    run_interchange(servers, "ref", IMPL, "r2i-" + stop_how, stop_how)
