"""0014: mixed ensembles, zkd and Apache ZooKeeper 3.8 peers in one quorum.

Two layouts (node i has sid i; "zkd" nodes are zkd, or ZooKeeper with ZK_MIXED_IMPL=ref,
which only validates the test logic):
  zkd-ref-zkd  two zkd + one ZooKeeper: zkd (node 3) leads first, then ZooKeeper (node 2)
  ref-zkd-ref  one zkd + two ZooKeeper: ZooKeeper (node 3) leads first, then zkd (node 2)
Node 3 is started first, so on the fresh ensemble (equal zxids) it wins the election;
killing it once every node has the same zxid hands leadership to node 2, the highest
remaining sid.  Each layout: writes through every node are seen on every node with the
same Stat; a wiped follower is synced by SNAP and a restarted one by DIFF from a leader of
the other implementation, in both directions; followers restarted one at a time under a
write load resync with a leader of the other implementation, a leader kill under the load
loses no acknowledged write, and every node ends with the same tree.

These tests always mix implementations (whatever ZK_IMPL says); select them with
`-m mixed`, deselect with `-m "not mixed"`.
"""

import pytest

import zkensemble as E
from zkharness import wait_until

pytestmark = [pytest.mark.ensemble, pytest.mark.mixed]

Z = E.mixed_impl()
LAYOUTS = {
    "zkd-ref-zkd": (Z, "ref", Z),
    "ref-zkd-ref": ("ref", Z, "ref"),
}

DIFF_LINE = "Getting a diff from the leader 0x"
SNAP_LINE = "Getting a snapshot from leader 0x"


@pytest.fixture(scope="module", params=list(LAYOUTS))
def ens(request, ensembles):
    e = ensembles.new(name=request.param, impls=LAYOUTS[request.param])
    yield e
    ensembles.close(e)


@pytest.fixture(autouse=True)
def healthy(ens):
    ens.start()
    yield
    ens.close_clients()


def sync_from(ens, node, how):
    """Stops node (wiping its dataDir for how="snap"), writes meanwhile, starts it again;
    returns what it logged while syncing."""
    leader = ens.leader()
    assert node is not leader
    zk = ens.kazoo(leader)
    ens.stop(node)
    if how == "snap":
        ens.wipe(node)
    base = "/%s-%d" % (how, node.sid)
    zk.create(base, b"")
    for i in range(30):
        zk.create("%s/n%d" % (base, i), ("%s %d" % (how, i)).encode())
    mark = node.log_mark()
    ens.start([node])
    assert ens.leader() is leader and ens.mode(node) == "follower"
    return node.log_since(mark)


def test_highest_sid_leads_and_writes_replicate(ens):
    leader = ens.wait_for_quorum()
    assert leader.sid == 3, ens.modes()
    assert leader.impl == ens.impls[2]
    for n in ens:
        want = "leader" if n is leader else "follower"
        assert E.parse_srvr(ens.srvr(n)).get("Mode") == want, n
        assert ens.mntr(n).get("zk_server_state") == want, n
    clients = {n.sid: ens.kazoo(n) for n in ens}
    clients[1].create("/m", b"")
    seqs = []
    for k in range(10):
        for sid, c in clients.items():
            c.create("/m/n%d-%d" % (sid, k), ("%d/%d" % (sid, k)).encode())
            seqs.append(c.create("/m/seq-", b"", sequence=True, ephemeral=(k % 2 == 0)))
        clients[(k % 3) + 1].set("/m", str(k).encode())
    assert seqs == ["/m/seq-%010d" % (2 * i + 1) for i in range(len(seqs))]
    for sid, c in clients.items():
        c.sync("/m")
        assert c.get("/m")[0] == b"9" and len(c.get_children("/m")) == 60, sid
    E.assert_same_trees(ens.trees("/m", acls=True))
    ens.wait_same_zxid()


def test_sync_by_snap_and_diff_from_first_leader(ens):
    leader = ens.wait_for_quorum()
    assert leader.sid == 3
    text = sync_from(ens, ens[2], "snap")  # the other implementation than the leader
    assert SNAP_LINE in text, ens[2].log_path
    text = sync_from(ens, ens[1], "diff")
    assert DIFF_LINE in text and SNAP_LINE not in text, ens[1].log_path
    E.assert_same_trees(ens.trees("/", acls=True))


def test_leader_moves_to_the_other_implementation(ens):
    old = ens.wait_for_quorum()
    assert old.sid == 3
    zk = ens.kazoo()
    zk.create("/moved", b"")
    zk.stop()
    ens.wait_same_zxid()  # equal zxids: the highest remaining sid wins
    ens.kill9(old)
    new = ens.wait_for_quorum()
    assert new.sid == 2 and new.impl == ens.impls[1], ens.modes()
    c = ens.kazoo(new)
    c.create("/moved/under-2", b"")
    mark = old.log_mark()
    ens.start([old])
    assert ens.mode(old) == "follower"
    assert DIFF_LINE in old.log_since(mark), old.log_path
    text = sync_from(ens, ens[1], "snap")  # node 1: the implementation of node 3
    assert SNAP_LINE in text, ens[1].log_path
    E.assert_same_trees(ens.trees("/", acls=True))


def test_restarts_under_load_lose_no_acknowledged_write(ens):
    """The followers restart one at a time, then the leader is killed, all under a write
    load: proposals keep coming while a node syncs with a leader of the other
    implementation (here node 2 leads and both followers are the other kind)."""
    old = ens.wait_for_quorum()
    clients = [ens.kazoo() for _ in range(3)]
    loaders = E.start_load(clients, base="/lk", window=8, rate=150)

    def progress(what):
        before = E.total_acks(loaders)
        wait_until(lambda: E.total_acks(loaders) >= before + 150, 30, interval=0.02,
                   what="150 writes acknowledged " + what)

    try:
        progress("at first")
        for f in ens.followers():
            ens.stop(f)
            progress("with node %d down" % f.sid)
            ens.start([f])
            assert ens.leader() is old
            progress("after node %d resynced" % f.sid)
        ens.kill9(old)
        new = ens.wait_for_quorum()
        assert new is not old
        progress("after the leader change")
        ens.start([old])
        progress("with the old leader back")
    finally:
        for ld in loaders:
            ld.stop()
    assert ens.mode(old) == "follower"
    trees = ens.trees("/lk")
    for sid, t in trees.items():
        lost = E.lost_writes(t, loaders, "/lk")
        assert not lost, "node %d (%s): %d problems, e.g. %s" % (sid, ens[sid].impl, len(lost),
                                                                 lost[:5])
    E.assert_same_trees(trees)
