"""0015: fault loop on a three-node ensemble under a write load.

Two layouts: every node ZK_IMPL (or ZK_FAULT_IMPLS), and mixed "ref,zkd,ref" (marker
`mixed`; its zkd node is ZooKeeper with ZK_MIXED_IMPL=ref, see 0014).

ZK_FAULT_ITERS times (default 10): with four kazoo clients (hosts = every node) writing
(async creates of unique znodes and sets of increasing values, each recording what was
acknowledged), kill -9 a node at a random moment (every other iteration the leader,
otherwise a random follower), check the remaining two keep acknowledging writes, restart
the killed node on its dataDir and wait for the quorum.  Then, with the load stopped:
every node reports the same Zxid in srvr, every node's tree (read through a client bound
to it, after sync) is the same (data, Stat, ACLs), every acknowledged write is in it, and
no client session was lost.  snapCount=1000 so that snapshots and log rolls happen
during the loop.

env: ZK_FAULT_ITERS (default 10), ZK_FAULT_SEED (victims and timing; printed on failure),
ZK_FAULT_IMPLS (e.g. "zkd,zkd,ref"; the first layout, default ZK_IMPL for every node).
"""

import os
import random
import time

import pytest
from kazoo.protocol.states import KazooState

import zkensemble as E
from zkharness import wait_until

pytestmark = pytest.mark.ensemble

ITERS = int(os.environ.get("ZK_FAULT_ITERS", "10"))
SEED = int(os.environ.get("ZK_FAULT_SEED", str(random.randrange(1 << 30))))
IMPLS = (tuple(os.environ["ZK_FAULT_IMPLS"].split(","))
         if os.environ.get("ZK_FAULT_IMPLS") else None)
MIXED = ("ref", E.mixed_impl(), "ref")
CLIENTS = 4
PROGRESS = 100  # acknowledged writes between steps


@pytest.fixture(params=[pytest.param(IMPLS, id="same"),
                        pytest.param(MIXED, id="mixed", marks=pytest.mark.mixed)])
def ens(request, ensembles):
    e = ensembles.new(name="faults", impls=request.param, extra={"snapCount": 1000})
    yield e
    ensembles.close(e)


def test_kill9_random_nodes_under_load(ens):
    rnd = random.Random(SEED)
    history = []
    ctx = lambda: "seed %d (ZK_FAULT_SEED), impls %s, history %s" % (  # noqa: E731
        SEED, ",".join(ens.impls), history)
    clients = [ens.kazoo(timeout=10) for _ in range(CLIENTS)]
    states = {i: [] for i in range(CLIENTS)}
    for i, c in enumerate(clients):
        c.add_listener(states[i].append)
    loaders = E.start_load(clients, base="/f", window=8, rate=80)

    def progress(what):
        before = E.total_acks(loaders)
        wait_until(lambda: E.total_acks(loaders) >= before + PROGRESS, 60, interval=0.02,
                   what="%d acknowledged writes %s (%s)" % (PROGRESS, what, ctx()))

    try:
        for it in range(ITERS):
            leader = ens.wait_for_quorum()
            if it % 2 == 0:
                victim = leader
            else:
                victim = rnd.choice([n for n in ens if n is not leader])
            progress("before kill %d" % it)
            time.sleep(rnd.uniform(0, 0.4))
            t0 = time.monotonic()
            ens.kill9(victim)
            new = ens.wait_for_quorum()
            t_quorum = time.monotonic() - t0
            progress("with node %d down" % victim.sid)
            ens.start([victim])
            history.append("%d:kill %d(%s)%s, leader %d after %.1fs" % (
                it, victim.sid, victim.impl, " leader" if victim is leader else "", new.sid,
                t_quorum))
        progress("after the loop")
    finally:
        stopped = [ld.stop() for ld in loaders]
    assert all(stopped), "requests still outstanding 15 s after the load stopped"
    for i, st in states.items():
        assert KazooState.LOST not in st, "client %d lost its session (%s)" % (i, ctx())
    for c in clients:
        c.stop()
        c.close()

    ens.wait_for_quorum()
    zxid = ens.wait_same_zxid()
    trees = ens.trees("/", acls=True)
    for sid, t in trees.items():
        lost = E.lost_writes(t, loaders, "/f")
        assert not lost, "node %d: %d problems, e.g. %s (%s)" % (sid, len(lost), lost[:5], ctx())
    E.assert_same_trees(trees)
    assert ens.wait_same_zxid() > zxid  # the readers' sessions came and went everywhere
    acked = sum(len(ld.snapshot()[0]) for ld in loaders)
    assert acked >= ITERS * PROGRESS, ctx()
    print("fault loop: %d acknowledged creates; %s" % (acked, ctx()))
