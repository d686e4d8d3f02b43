"""0009: durability. kill -9 under a write load, then restart on the same dataDir: every
acknowledged write is there with the acknowledged data.  Restarts (clean and kill -9)
preserve the exact tree (paths, data, ACLs, every Stat field), sessions and their
ephemerals survive a restart, and zxids continue after it.
"""

from kazoo.security import make_digest_acl

from zkensemble import Loader  # the write load shared with the ensemble tests
from zkharness import wait_until

LOAD_CLIENTS = 4
WINDOW = 16  # outstanding async requests per client


def walk(zk, root="/"):
    """{path: (data, stat, acls)} for every znode except the /zookeeper subtree."""
    out = {}

    def rec(p):
        data, st = zk.get(p)
        acls, _ = zk.get_acls(p)
        out[p] = (data, tuple(st), tuple((a.perms, a.id.scheme, a.id.id) for a in acls))
        for c in sorted(zk.get_children(p)):
            cp = (p.rstrip("/") + "/" + c)
            if cp != "/zookeeper":
                rec(cp)

    rec(root)
    return out


def test_kill9_under_load_keeps_acknowledged_writes(server):
    setup = server.kazoo()
    setup.create("/d")
    for i in range(LOAD_CLIENTS):
        setup.create("/d/s%d" % i, b"-1")
    setup.stop()
    setup.close()
    clients = [server.kazoo(timeout=10) for _ in range(LOAD_CLIENTS)]
    loaders = [Loader(c, i, base="/d", window=WINDOW, rate=1e9) for i, c in enumerate(clients)]
    for ld in loaders:
        ld.start()
    wait_until(lambda: sum(ld.acks for ld in loaders) >= 1500, 60, interval=0.01,
               what="1500 acknowledged writes")
    server.kill9()  # mid-load: requests are in flight
    for ld in loaders:
        ld.stop_ev.set()
    for ld in loaders:
        ld.join(10)
    # freeze what was acknowledged before the kill
    snap = [(dict(ld.acked_creates), ld.acked_set, set(ld.sent_sets)) for ld in loaders]
    for c in clients:
        c.stop()
        c.close()
    total = sum(len(a) for a, _, _ in snap)
    assert total >= 1000
    server.start()
    zk = server.kazoo()
    kids = set(zk.get_children("/d"))
    for i, (creates, acked_set, sent) in enumerate(snap):
        missing = [p for p in creates if p.rsplit("/", 1)[1] not in kids]
        assert not missing, "%d acknowledged creates lost, e.g. %s" % (len(missing),
                                                                       missing[:5])
        for p, d in creates.items():
            assert zk.get(p)[0] == d, p
        v = int(zk.get("/d/s%d" % i)[0])
        # at least the last acknowledged value; a newer one only if it had been sent
        assert v >= acked_set and (v == -1 or v in sent), (i, v, acked_set)
    # a created-but-unacknowledged node may exist; anything else may not
    allowed = {"s%d" % i for i in range(LOAD_CLIENTS)}
    for k in kids - allowed:
        assert k.startswith("c") and k.split("-")[0][1:].isdigit(), k
    zk.delete("/d", recursive=True)


def test_restart_preserves_tree_and_zxid_continues(server):
    holder = server.kazoo(timeout=30)
    sid = holder.client_id[0]
    zk = server.kazoo()
    zk.add_auth("digest", "u:p")
    zk.create("/r", b"root")
    zk.create("/r/a", b"a" * 1000)
    zk.set("/r/a", b"a2")
    zk.create("/r/acl", b"secret", acl=[make_digest_acl("u", "p", all=True)])
    for _ in range(5):
        zk.create("/r/seq-", b"", sequence=True)
    zk.delete("/r/seq-0000000002")
    zk.create("/r/empty")
    zk.set("/r/empty", b"")
    zk.set_acls("/r/empty", [make_digest_acl("u", "p", read=True, write=True)])
    holder.create("/r/eph", b"e", ephemeral=True)
    holder.create("/r/eph-seq-", b"", ephemeral=True, sequence=True)
    before = walk(zk, "/r")
    last = max(st[1] for _, st, _ in before.values())  # max mzxid (>= czxids) ...
    last = max(last, max(st[10] for _, st, _ in before.values()))  # ... and pzxid
    srvr_zxid = int(server.four("srvr").decode().split("Zxid: ")[1].split("\n")[0], 16)
    assert srvr_zxid >= last

    for how in ("clean", "kill9"):
        if how == "clean":
            server.stop()
        else:
            server.kill9()
        server.start()
        wait_until(lambda: zk.connected and holder.connected, 30, what="clients reconnected")
        # the session survived the restart: same id, its ephemerals kept
        assert holder.client_id[0] == sid
        wait_until(lambda: zk.exists("/r") is not None, 10, what="tree readable")
        after = walk(zk, "/r")
        assert after == before, "tree changed across %s restart" % how
        z = int(server.four("srvr").decode().split("Zxid: ")[1].split("\n")[0], 16)
        assert z >= srvr_zxid

    _, st = zk.create("/r/new", b"", include_data=True)
    assert st.czxid > srvr_zxid
    holder.stop()  # closeSession after the restarts removes the ephemerals
    holder.close()
    assert zk.exists("/r/eph") is None
    zk.delete("/r", recursive=True)
