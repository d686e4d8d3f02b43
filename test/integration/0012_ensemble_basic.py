"""0012: a three-node ensemble (every node ZK_IMPL; zkensemble.py).

One leader is elected (on a fresh ensemble the highest sid: it is started first) and srvr /
mntr say who leads; writes through a client on any node are seen on every node after
sync(); kill -9 of the leader under a write load elects a new leader without losing an
acknowledged write and the old leader rejoins as a follower; a restarted follower catches
up by DIFF, a follower with a wiped dataDir by SNAP; an old leader's proposal that no
follower logged is truncated away (TRUNC) or, once the new leader has written in its own
epoch, replaced by a snapshot (ZooKeeper cannot TRUNC across epochs); with two nodes down
the third stops serving and serves again when one returns.

Learner sync lines asserted (Learner.syncWithLeader in ZooKeeper 3.8, INFO/WARN):
  "Getting a diff from the leader 0x<zxid>"
  "Getting a snapshot from leader 0x<zxid>"
  "Truncating log to get in sync with the leader 0x<zxid>"
where <zxid> is the leader's last committed zxid (DIFF, SNAP) or the zxid to truncate to.
"""

import os
import time

import pytest
from kazoo.handlers.threading import KazooTimeoutError

import zkensemble as E
from zkharness import four_letter, wait_until

pytestmark = pytest.mark.ensemble

# sessions that must outlive a full ensemble restart (the uncommitted-proposal tests)
EXTRA = {"maxSessionTimeout": 60000}

DIFF_LINE = "Getting a diff from the leader 0x"
SNAP_LINE = "Getting a snapshot from leader 0x"
TRUNC_LINE = "Truncating log to get in sync with the leader 0x"


@pytest.fixture(scope="module")
def ens(ensembles):
    return ensembles.new(extra=EXTRA)


@pytest.fixture(autouse=True)
def healthy(ens):
    """Every test starts with all three nodes up and in a quorum, and closes its clients."""
    ens.start()
    yield
    ens.close_clients()


def test_one_leader_two_followers_srvr_mntr(ens):
    leader = ens.wait_for_quorum()
    # node 3 was up before the others joined: with equal zxids the highest sid wins
    assert leader.sid == 3, ens.modes()
    for n in ens:
        want = "leader" if n is leader else "follower"
        srvr = E.parse_srvr(ens.srvr(n))
        assert srvr.get("Mode") == want, (n, srvr)
        assert ens.mntr(n).get("zk_server_state") == want, n
    assert ens.mntr(leader).get("zk_synced_followers") == "2"
    # a new leader's Zxid is <epoch>:0 until the first txn of its epoch (ZooKeeper's
    # followers show the last txn they applied, 0 on a fresh ensemble)
    z = ens.zxid(leader)
    assert z >> 32 >= 1 and z & 0xFFFFFFFF == 0, hex(z)
    assert all(ens.zxid(n) <= z for n in ens)
    zk = ens.kazoo(1)
    zk.create("/first", b"")
    assert ens.wait_same_zxid() >> 32 == z >> 32


def test_writes_on_every_node_seen_on_every_node(ens):
    ens.wait_for_quorum()
    clients = {n.sid: ens.kazoo(n) for n in ens}
    clients[1].create("/w", b"")
    expected = {}
    seq_names = []
    for k in range(5):
        for sid, c in clients.items():
            p = "/w/n%d-%d" % (sid, k)
            c.create(p, ("%d:%d" % (sid, k)).encode())
            expected[p] = ("%d:%d" % (sid, k)).encode()
            # sequence numbers come from the parent's cversion, i.e. from the leader
            seq_names.append(c.create("/w/seq-", b"", sequence=True))
            c.set("/w", ("last %d:%d" % (sid, k)).encode())
    assert seq_names == ["/w/seq-%010d" % (2 * i + 1) for i in range(len(seq_names))]
    for sid, c in clients.items():
        c.sync("/w")
        assert c.get("/w")[0] == b"last 3:4", sid
        for p, d in expected.items():
            assert c.get(p)[0] == d, (sid, p)
    E.assert_same_trees(ens.trees("/w", acls=True))


def test_leader_kill9_under_load_loses_no_acknowledged_write(ens):
    old = ens.wait_for_quorum()
    clients = [ens.kazoo() for _ in range(3)]  # each may connect to any node
    loaders = E.start_load(clients, base="/lk", window=8, rate=150)
    try:
        wait_until(lambda: E.total_acks(loaders) >= 300, 30, interval=0.02,
                   what="300 acknowledged writes")
        ens.kill9(old)
        t0 = time.monotonic()
        new = ens.wait_for_quorum()
        elapsed = time.monotonic() - t0
        assert new is not old
        before = E.total_acks(loaders)
        wait_until(lambda: E.total_acks(loaders) >= before + 150, 30, interval=0.02,
                   what="writes acknowledged by the new leader's quorum")
    finally:
        for ld in loaders:
            ld.stop()
    assert elapsed < 30
    ens.start([old])
    assert ens.mode(old) == "follower" and ens.leader() is new
    trees = ens.trees("/lk")
    for sid, t in trees.items():
        lost = E.lost_writes(t, loaders, "/lk")
        assert not lost, "node %d: %d problems, e.g. %s" % (sid, len(lost), lost[:5])
    E.assert_same_trees(trees)


def test_restarted_follower_catches_up_by_diff(ens):
    leader = ens.wait_for_quorum()
    f = ens.followers()[0]
    zk = ens.kazoo(leader)
    zk.create("/diff", b"")
    for i in range(20):
        zk.create("/diff/a%d" % i, b"before")
    loaders = E.start_load([ens.kazoo(), ens.kazoo()], base="/diff/load", rate=150)
    try:
        wait_until(lambda: E.total_acks(loaders) >= 100, 30, interval=0.02,
                   what="100 acknowledged writes")
        assert ens.stop(f) is not None  # SIGTERM while writes happen
        before = E.total_acks(loaders)
        wait_until(lambda: E.total_acks(loaders) >= before + 200, 30, interval=0.02,
                   what="200 writes acknowledged without the follower")
    finally:
        for ld in loaders:
            ld.stop()
    zk.set("/diff/a0", b"changed while down")
    zk.delete("/diff/a1")
    z = ens.zxid(leader)
    mark = f.log_mark()
    ens.start([f])
    text = f.log_since(mark)
    assert DIFF_LINE + "%x" % z in text, "no DIFF to 0x%x in %s" % (z, f.log_path)
    assert SNAP_LINE not in text and TRUNC_LINE not in text
    # srvr shows the follower's last applied txn: the DIFF is applied once it is synced
    wait_until(lambda: ens.zxid(f) == z, 10, what="the follower's Zxid to reach 0x%x" % z)
    trees = ens.trees("/diff", acls=True)
    assert trees[f.sid]["/diff/a0"][0] == b"changed while down"
    assert "/diff/a1" not in trees[f.sid] and "/diff/a19" in trees[f.sid]
    lost = E.lost_writes(trees[f.sid], loaders, "/diff/load")
    assert not lost, "%d problems on the follower, e.g. %s" % (len(lost), lost[:5])
    E.assert_same_trees(trees)


def test_wiped_follower_catches_up_by_snap(ens):
    leader = ens.wait_for_quorum()
    f = ens.followers()[-1]
    zk = ens.kazoo(leader)
    zk.create("/snap", b"s")
    for i in range(50):
        zk.create("/snap/n%d" % i, ("%d" % i).encode() * 10)
    ens.stop(f)
    ens.wipe(f)
    assert sorted(os.listdir(f.data_dir)) == ["myid"]
    z = ens.zxid(leader)
    mark = f.log_mark()
    ens.start([f])
    text = f.log_since(mark)
    assert SNAP_LINE + "%x" % z in text, "no SNAP of 0x%x in %s" % (z, f.log_path)
    assert DIFF_LINE not in text and TRUNC_LINE not in text
    E.assert_same_trees(ens.trees("/", acls=True))
    # what came by SNAP is on the follower's disk: after a restart a DIFF is enough
    zk.create("/snap/after", b"a")
    ens.stop(f)
    mark = f.log_mark()
    ens.start([f])
    text = f.log_since(mark)
    assert DIFF_LINE in text and SNAP_LINE not in text, f.log_path
    E.assert_same_trees(ens.trees("/snap"))


def orphan_proposal(ens, tag):
    """The leader logs a create that no follower ever sees, then everything dies.

    Both followers are frozen (SIGSTOP) rather than killed first: a leader whose follower
    connections close steps down within a tick, racing the create; a frozen follower's
    connection stays open and the leader keeps leading for syncLimit ticks.  Returns
    (old leader, followers, async result of the create, last committed zxid, path)."""
    leader = ens.wait_for_quorum()
    fs = ens.followers()
    base = "/%s" % tag
    setup = ens.kazoo(leader)
    setup.create(base, b"")
    setup.create(base + "/committed", b"c")
    setup.stop()
    setup.close()
    # long session: no session of the old epoch may expire before the old leader rejoins
    c = ens.kazoo(leader, timeout=30)
    committed = ens.wait_same_zxid()
    path = base + "/uncommitted"
    for f in fs:
        f.pause()
    res = c.create_async(path, b"u")
    wait_until(lambda: leader.txn_logs_contain(path), 5, what="the leader logged the proposal")
    ens.kill9(leader)
    for f in fs:
        ens.kill9(f)
    wait_until(res.ready, 10, what="the create to fail")
    assert not res.successful(), "a create that no follower logged was acknowledged"
    assert not any(f.txn_logs_contain(path) for f in fs)
    ens.start(fs)  # the two followers elect a leader among themselves
    return leader, fs, committed, base


def test_uncommitted_proposal_of_old_leader_is_truncated(ens):
    old, fs, committed, base = orphan_proposal(ens, "tr")
    new = ens.leader()
    assert new in fs
    # the old leader returns before the new leader has written anything in its epoch
    mark = old.log_mark()
    ens.start([old])
    text = old.log_since(mark)
    assert TRUNC_LINE + "%x" % committed in text, \
        "no TRUNC to 0x%x in %s" % (committed, old.log_path)
    assert ens.mode(old) == "follower" and ens.leader() is new
    w = ens.kazoo(new)
    w.create(base + "/after", b"a")
    trees = ens.trees(base)
    for sid, t in trees.items():
        assert base + "/uncommitted" not in t, "uncommitted create present on node %d" % sid
        assert base + "/committed" in t and base + "/after" in t, sid
    E.assert_same_trees(trees)


def test_uncommitted_proposal_replaced_by_snapshot_after_new_epoch_writes(ens):
    old, fs, committed, base = orphan_proposal(ens, "tr2")
    new = ens.leader()
    w = ens.kazoo(new)
    w.create(base + "/new-epoch", b"n")
    # now the new leader's history has a txn of its epoch after `committed`: ZooKeeper
    # does not TRUNC across epochs ("Cannot send TRUNC to peer sid: N peer zxid is from
    # different epoch") and falls back to a snapshot
    mark = old.log_mark()
    ens.start([old])
    text = old.log_since(mark)
    assert SNAP_LINE in text, "no SNAP in %s" % old.log_path
    assert ens.mode(old) == "follower" and ens.leader() is new
    trees = ens.trees(base)
    for sid, t in trees.items():
        assert base + "/uncommitted" not in t, "uncommitted create present on node %d" % sid
        assert base + "/new-epoch" in t, sid
    E.assert_same_trees(trees)


def test_two_nodes_down_last_one_stops_serving(ens):
    leader = ens.wait_for_quorum()
    fs = ens.followers()
    c = ens.kazoo(leader)
    c.create("/mq", b"")
    for f in fs:
        ens.kill9(f)
    wait_until(lambda: ens.mode(leader) is None, 15, what="the leader to stop serving")
    assert four_letter(leader.host, 2181, "stat").decode() == E.NOT_SERVING + "\n"
    assert four_letter(leader.host, 2181, "srvr").decode() == E.NOT_SERVING + "\n"
    fresh = ens.kazoo(leader, start=False)
    with pytest.raises(KazooTimeoutError):
        fresh.start(timeout=2)
    fresh.stop()
    res = c.create_async("/mq/while-down", b"")
    time.sleep(1.5)
    assert not (res.ready() and res.successful()), "a write succeeded without a quorum"
    ens.start([fs[0]])  # two of three: serving again
    assert ens.mode(leader) in ("leader", "follower")
    wait_until(lambda: c.connected, 30, what="the client to reconnect")
    c.create("/mq/after", b"")
    again = ens.kazoo(leader)
    again.sync("/mq")
    assert again.exists("/mq/after") is not None
    ens.start([fs[1]])
    E.assert_same_trees(ens.trees("/mq"))
