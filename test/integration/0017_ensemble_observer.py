"""0017: an observer (`server.4=...:observer`, `peerType=observer`) beside three voters
(zkensemble.py; node 4 is the observer).

The observer reports `Mode: observer`, serves reads and takes writes (forwarded to the
leader), sees every committed write; it does not vote: stopping it leaves the quorum
intact, and with two voters down the leader and the observer both stop serving, then
serve again when a voter returns. Run with zkd everywhere, and with Apache ZooKeeper
voters and a zkd observer (and the reverse) so the INFORM path is the real one.
"""

import pytest

import zkensemble as E
from zkharness import four_letter, wait_until

pytestmark = pytest.mark.ensemble

TICK = 500
OBSERVER = 4


def observer_lines(node, base_lines):
    """The node's config with server.4 marked :observer, and peerType=observer on node 4."""
    out = []
    for ln in base_lines():
        if ln.startswith("server.%d=" % OBSERVER):
            ln += ":observer"
        out.append(ln)
    if node.sid == OBSERVER:
        out.append("peerType=observer")
    return out


def make(ensembles, impls):
    e = ensembles.new(impls=impls, tick_time=TICK, start=False)
    for n in e:
        base = n._config_lines
        n._config_lines = lambda n=n, base=base: observer_lines(n, base)
    return e


def modes(e):
    return {n.sid: e.mode(n) for n in e.running()}


def wait_roles(e, voters_up):
    """One leader, the other running voters follow, the observer observes."""
    def ok():
        e.check_alive()
        m = modes(e)
        vm = [m.get(s) for s in voters_up]
        if vm.count("leader") == 1 and vm.count("follower") == len(vm) - 1 and \
                m.get(OBSERVER) == "observer":
            return m
        return None
    return wait_until(ok, 30, interval=0.1, what="leader, followers and observer")


IMPLS = {
    "zkd": ("zkd", "zkd", "zkd", "zkd"),
    "ref-voters": ("ref", "ref", "ref", "zkd"),
    "ref-observer": ("zkd", "zkd", "zkd", "ref"),
}


@pytest.fixture(scope="module", params=sorted(IMPLS))
def ens(request, ensembles):
    if E.mixed_impl() == "ref" and request.param != "zkd":
        pytest.skip("mixed shapes need zkd nodes")
    e = make(ensembles, IMPLS[request.param])
    e.start(quorum=False)
    wait_roles(e, [1, 2, 3])
    return e


def test_observer_serves_and_replicates(ens):
    obs = ens[OBSERVER]
    assert ens.mode(obs) == "observer"
    assert ens.mntr(obs)["zk_server_state"] == "observer"
    via_obs = ens.kazoo(obs)
    via_obs.create("/obs", b"from-observer")
    for i in range(20):
        via_obs.create("/obs/n%d" % i, b"%d" % i)
    leader = [n for n in ens if ens.mode(n) == "leader"][0]
    via_leader = ens.kazoo(leader)
    via_leader.create("/obs/by-leader", b"L")
    via_obs.sync("/obs")
    assert via_obs.get("/obs/by-leader")[0] == b"L"
    trees = ens.trees("/obs")
    assert len(trees) == 4
    E.assert_same_trees(trees)
    assert len(trees[OBSERVER]) == 22


def test_observer_does_not_vote(ens):
    obs = ens[OBSERVER]
    m = wait_roles(ens, [1, 2, 3])
    leader = [s for s, v in m.items() if v == "leader"][0]
    followers = [s for s in (1, 2, 3) if s != leader]
    # without the observer the voters keep their quorum
    ens.stop(obs)
    c = ens.kazoo(leader)
    c.create("/obs-down", b"")
    ens.start([obs], quorum=False)
    wait_roles(ens, [1, 2, 3])
    # leader + observer are not a quorum: both stop serving
    for f in followers:
        ens.kill9(f)
    wait_until(lambda: ens.mode(leader) is None and ens.mode(obs) is None, 30,
               what="leader and observer to stop serving")
    assert four_letter(obs.host, 2181, "srvr").decode() == E.NOT_SERVING + "\n"
    ens.start([followers[0]], quorum=False)
    m = wait_roles(ens, [leader, followers[0]])
    c2 = ens.kazoo(obs)
    c2.create("/obs-back", b"")
    ens.start([followers[1]], quorum=False)
    wait_roles(ens, [1, 2, 3])
    trees = ens.trees("/")
    E.assert_same_trees({s: {p: v for p, v in t.items() if p.startswith("/obs")}
                         for s, t in trees.items()})
