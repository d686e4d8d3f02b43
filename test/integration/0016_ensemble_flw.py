"""0016: four-letter words in ensemble mode, against the ZooKeeper 3.8 captures
/work/shared/ref/zk/ensemble-{leader,follower,follower2,noquorum}-WORD.txt (values generalised,
see refcompare.py), plus the values ZooKeeper defines for the same state.

State mirrors the reference capture: a 3-node ensemble (zkensemble.py; node 3 is started first
and leads, nodes 1 and 2 follow) with one kazoo session per node, bound to that node, holding
an ephemeral /ref-demo/eph-N, a data watch on /ref-demo/a, an exists watch on
/ref-demo/missing-N and a child watch on /ref-demo.  Words are sent as exactly 4 bytes.

  - srvr/stat: "Mode: leader|follower"; the leader's last line "Proposal sizes last/min/max:
    L/MIN/MAX" (-1/-1/-1 after srst); stat's Clients section;
  - mntr: key set *and order* of ZooKeeper (per-namespace summaries aside, see 0006), with
    zk_peer_state, zk_quorum_size and the leader's gauges and per-learner summary sets;
  - conf: the quorum keys, "membership: " and the server.N lines, ending "version=0" with no
    newline;
  - dump: the leader's "Session Sets (B)/(N):" expiry buckets vs the followers'
    "Global Sessions(N):" list (bucket counts depend on timing, so dump is parsed, not
    compared line by line);
  - a node started alone (no quorum) answers ruok, envi and isro ("null") and
    "This ZooKeeper instance is not currently serving requests" to everything else.
"""

import os
import re

import pytest

import refcompare
import zkensemble as E
from zkharness import REF_DIR, four_letter, wait_until

pytestmark = pytest.mark.ensemble

WORDS = ["ruok", "stat", "srvr", "conf", "cons", "envi", "mntr", "wchs", "wchc", "wchp",
         "dump", "isro", "dirs"]  # captured in this order; crst and srst come last
ALL_WORDS = WORDS + ["crst", "srst"]
AFTER_SRST = ["stat", "srvr", "mntr"]
NS_KEY = re.compile(r"zk_(avg|min|max|cnt|sum)_(.+)_(read|write)_per_namespace$")
LH_KEY = re.compile(r"zk_(avg|min|max|cnt|sum|p50|p95|p99|p999)_(\d+)_(learner_handler_qp_\w+)$")
NOT_SERVING = E.NOT_SERVING + "\n"
PROPOSAL_RE = re.compile(r"Proposal sizes last/min/max: (-?\d+)/(-?\d+)/(-?\d+)$")


def ref_text(name):
    with open(os.path.join(REF_DIR, name), "rb") as f:
        return f.read().decode()


def four(node, word):
    return four_letter(node.host, E.CLIENT_PORT, word, timeout=10.0).decode()


@pytest.fixture(scope="module")
def ens(ensembles):
    e = ensembles.new()
    e.wait_for_quorum()
    return e


@pytest.fixture(scope="module")
def roles(ens):
    """{sid: reference prefix}: the leader's, then the followers' in sid order.  Found once:
    every srvr probe is a connection that stat/cons/dump of the next word could still list."""
    leader = ens.wait_for_quorum()
    followers = sorted((n for n in ens if n is not leader), key=lambda n: n.sid)
    out = {leader.sid: "ensemble-leader"}
    for n, pfx in zip(followers, ("ensemble-follower", "ensemble-follower2")):
        out[n.sid] = pfx
    return out


@pytest.fixture(scope="module")
def holders(ens, roles):
    """{sid: kazoo client bound to node sid} holding the reference capture's state."""
    hs = {n.sid: ens.kazoo(n, timeout=10) for n in ens}
    first = hs[min(hs)]
    first.create("/ref-demo")
    first.create("/ref-demo/a", b"a")
    for sid, zk in sorted(hs.items()):
        zk.sync("/ref-demo")
        zk.create("/ref-demo/eph-%d" % sid, b"", ephemeral=True)
    for sid, zk in sorted(hs.items()):
        zk.sync("/ref-demo")
        zk.get("/ref-demo/a", watch=lambda ev: None)
        assert zk.exists("/ref-demo/missing-%d" % sid, watch=lambda ev: None) is None
        zk.get_children("/ref-demo", watch=lambda ev: None)
    ens.wait_same_zxid()
    return hs


def sid_hex(zk):
    return "0x%x" % zk.client_id[0]


def mntr_key_order(kv):
    """Keys without the per-namespace summaries, with learner sids generalised."""
    out = []
    for k, _ in kv:
        if NS_KEY.match(k):
            continue
        m = LH_KEY.match(k)
        out.append("zk_%s_<sid>_%s" % (m.group(1), m.group(3)) if m else k)
    return out


def check_mntr_keys(ref, act):
    """Same keys in the same order as ZooKeeper (per-namespace summaries aside); a long stays a
    long and a double a double."""
    ref_kv, act_kv = refcompare.parse_mntr(ref), refcompare.parse_mntr(act)
    assert len(act_kv) == len(dict(act_kv)), "duplicate mntr keys"
    rk, ak = mntr_key_order(ref_kv), mntr_key_order(act_kv)
    missing = sorted(set(rk) - set(ak))
    extra = sorted(set(ak) - set(rk))
    assert not missing, "mntr keys missing: %s" % missing
    assert not extra, "mntr keys not in ZooKeeper: %s" % extra
    assert len(rk) == len(ak), "mntr key count: reference %d, actual %d" % (len(rk), len(ak))
    for i, (r, a) in enumerate(zip(rk, ak)):
        assert r == a, "mntr key %d is %s, ZooKeeper prints %s there (previous %s)" % (
            i + 1, a, r, ak[i - 1] if i else None)
    act_ns = [NS_KEY.match(k).groups() for k, _ in act_kv if NS_KEY.match(k)]
    for _, ns, rw in act_ns:
        assert sorted(s for s, n, r in act_ns if (n, r) == (ns, rw)) == \
            ["avg", "cnt", "max", "min", "sum"], (ns, rw)
    ref_map = {}
    for k, v in ref_kv:
        m = LH_KEY.match(k)
        ref_map["zk_%s_<sid>_%s" % (m.group(1), m.group(3)) if m else k] = v
    for k, v in act_kv:
        m = LH_KEY.match(k)
        rv = ref_map.get("zk_%s_<sid>_%s" % (m.group(1), m.group(3)) if m else k)
        if k in ("zk_version", "zk_server_state", "zk_peer_state") or rv is None:
            continue
        kind = "double" if re.fullmatch(r"-?\d+\.\d+", rv) else "long"
        pat = r"-?\d+\.\d+" if kind == "double" else r"-?\d+"
        assert re.fullmatch(pat, v), "mntr %s=%r should be a %s like %r" % (k, v, kind, rv)


# ---- dump: parsed (expiry bucket counts depend on timing)
DUMP_SETS = re.compile(r"(Session|Connections) Sets \((\d+)\)/\((\d+)\):$")
DUMP_BUCKET = re.compile(r"(\d+) expire at %s:$" % refcompare.DATE_RE)


def _parse_sets(lines, i, elem_re):
    """Parses "X Sets (B)/(N):" and its buckets at lines[i]; returns (elements, next index)."""
    m = DUMP_SETS.match(lines[i])
    assert m, "expected a Sets header at line %d: %r" % (i + 1, lines[i])
    nb, n = int(m.group(2)), int(m.group(3))
    i += 1
    elems = []
    for _ in range(nb):
        b = DUMP_BUCKET.match(lines[i])
        assert b, "expected a bucket line at %d: %r" % (i + 1, lines[i])
        i += 1
        for _ in range(int(b.group(1))):
            e = re.fullmatch(elem_re, lines[i])
            assert e, "bad element line %d: %r" % (i + 1, lines[i])
            elems.append(e.group(1))
            i += 1
    assert len(elems) == n, "Sets header says %d elements, found %d" % (n, len(elems))
    return elems, i


def parse_dump(text):
    """{'tracker': 'buckets'|'global', 'sessions': [...], 'timeouts': {...},
    'ephemerals': {sid: [paths]}, 'connections': [sid hex]}; asserts the grammar."""
    assert text.endswith("\n"), repr(text[-40:])
    lines = text.split("\n")[:-1]
    out = {"timeouts": {}}
    assert lines[0] == "SessionTracker dump:"
    i = 1
    if lines[i].startswith("Session Sets"):
        out["tracker"] = "buckets"
        out["sessions"], i = _parse_sets(lines, i, r"\t(0x[0-9a-f]+)")
    else:
        m = re.fullmatch(r"Global Sessions\((\d+)\):", lines[i])
        assert m, "expected 'Session Sets' or 'Global Sessions': %r" % lines[i]
        out["tracker"] = "global"
        i += 1
        sess = []
        for _ in range(int(m.group(1))):
            e = re.fullmatch(r"(0x[0-9a-f]+)\t(\d+)ms", lines[i])
            assert e, "bad global session line %d: %r" % (i + 1, lines[i])
            sess.append(e.group(1))
            out["timeouts"][e.group(1)] = int(e.group(2))
            i += 1
        out["sessions"] = sess
    assert lines[i] == "ephemeral nodes dump:", lines[i]
    m = re.fullmatch(r"Sessions with Ephemerals \((\d+)\):", lines[i + 1])
    assert m, lines[i + 1]
    i += 2
    eph = {}
    for _ in range(int(m.group(1))):
        s = re.fullmatch(r"(0x[0-9a-f]+):", lines[i])
        assert s, "bad ephemeral owner line %d: %r" % (i + 1, lines[i])
        i += 1
        paths = []
        while i < len(lines) and lines[i].startswith("\t"):
            paths.append(lines[i][1:])
            i += 1
        eph[s.group(1)] = paths
    out["ephemerals"] = eph
    assert lines[i] == "Connections dump:", lines[i]
    out["connections"], i = _parse_sets(
        lines, i + 1, r"\tip: /\d+\.\d+\.\d+\.\d+:\d+ sessionId: (0x[0-9a-f]+)")
    assert i == len(lines), "trailing dump lines: %r" % lines[i:]
    return out


def check_dump(ref, text, node_zk, holders):
    r, a = parse_dump(ref), parse_dump(text)
    assert a["tracker"] == r["tracker"], "session tracker dump: %s form, ZooKeeper prints the %s form" % (
        a["tracker"], r["tracker"])
    all_sids = sorted(sid_hex(zk) for zk in holders.values())
    assert sorted(a["sessions"]) == all_sids
    if a["tracker"] == "global":  # LearnerSessionTracker: TreeSet<Long>, timeouts in ms
        assert a["sessions"] == sorted(a["sessions"], key=lambda h: int(h, 16) - (
            1 << 64 if int(h, 16) >= 1 << 63 else 0))
        for zk in holders.values():
            assert a["timeouts"][sid_hex(zk)] == zk._session_timeout
    assert a["ephemerals"] == {sid_hex(zk): ["/ref-demo/eph-%d" % sid]
                               for sid, zk in holders.items()}
    # this node's holder and the 4lw connection itself (session 0x0)
    assert sorted(a["connections"]) == sorted(["0x0", sid_hex(node_zk)])


# ---- per-word checks
def check_semantics(word, text, node, holders, is_leader):
    zk = holders[node.sid]
    sid = sid_hex(zk)
    if word == "ruok":
        assert text == "imok"
    elif word == "isro":
        assert text == "rw"
    elif word in ("stat", "srvr"):
        kv = refcompare.kv_lines(text, ": ")
        assert kv["Mode"] == ("leader" if is_leader else "follower")
        # 3 ephemerals + /ref-demo, /ref-demo/a, /zookeeper(+config, quota), "/" twice
        assert kv["Node count"] == "10"
        assert kv["Outstanding"] == "0"
        assert kv["Connections"] == "2"  # the holder and this 4lw connection
        assert re.fullmatch(r"\d+/\d+\.\d+/\d+", kv["Latency min/avg/max"])
        last = text.split("\n")[-2]
        if is_leader:
            m = PROPOSAL_RE.fullmatch(last)
            assert m, "the leader's last srvr/stat line: %r" % last
            lst, mn, mx = (int(x) for x in m.groups())
            assert 0 < mn <= lst <= mx, (lst, mn, mx)
        else:
            assert "Proposal sizes" not in text
            assert last.startswith("Node count: ")
        if word == "stat":
            clients = [ln for ln in text.split("\n") if ln.startswith(" /")]
            assert len(clients) == 2
    elif word == "conf":
        kv = refcompare.kv_lines(text, "=")
        assert kv["clientPort"] == "2181"
        assert kv["serverId"] == str(node.sid)
        assert kv["tickTime"] == str(node.ensemble.tick_time)
        assert kv["initLimit"] == str(node.ensemble.init_limit)
        assert kv["syncLimit"] == str(node.ensemble.sync_limit)
        assert kv["electionAlg"] == "3"
        assert kv["electionPort"] == str(E.ELECTION_PORT)
        assert kv["quorumPort"] == str(E.QUORUM_PORT)
        assert kv["peerType"] == "0"
        members = "".join("server.%d=%s:%d:%d:participant\n" % (n.sid, n.host, E.QUORUM_PORT,
                                                                 E.ELECTION_PORT)
                          for n in node.ensemble)
        assert text.endswith("membership: \n" + members + "version=0"), text
    elif word == "cons":
        lines = [ln for ln in text.split("\n") if ln.startswith(" /")]
        assert len(lines) == 2
        mine = [ln for ln in lines if ",sid=%s," % sid in ln]
        assert len(mine) == 1, lines
    elif word == "mntr":
        kv = dict(refcompare.parse_mntr(text))
        assert kv["zk_server_state"] == ("leader" if is_leader else "follower")
        assert kv["zk_peer_state"] == ("leading - broadcast" if is_leader
                                       else "following - broadcast")
        assert kv["zk_quorum_size"] == "3"
        assert kv["zk_znode_count"] == "10"
        assert kv["zk_ephemerals_count"] == "3"
        assert kv["zk_global_sessions"] == "3"
        assert kv["zk_num_alive_connections"] == "2"
        assert kv["zk_watch_count"] == "3"
        if is_leader:
            assert kv["zk_learners"] == "2"
            assert kv["zk_synced_followers"] == "2"
            assert kv["zk_synced_non_voting_followers"] == "0"
            assert kv["zk_synced_observers"] == "0"
            assert kv["zk_pending_syncs"] == "0"
            assert 0 <= int(kv["zk_leader_uptime"]) <= int(kv["zk_uptime"])
            sizes = [int(kv["zk_%s_proposal_size" % w]) for w in ("min", "last", "max")]
            assert 0 < sizes[0] <= sizes[1] <= sizes[2], sizes
            learners = sorted(int(m.group(2)) for m in map(LH_KEY.match, kv) if m)
            assert sorted(set(learners)) == sorted(n.sid for n in node.ensemble
                                                   if n is not node)
    elif word == "wchs":
        # child watches are not counted by wchs/wchc/wchp (mntr zk_watch_count is 3)
        assert text == "1 connections watching 2 paths\nTotal watches:2\n"
    elif word == "wchc":
        lines = text.split("\n")
        assert lines[0] == sid
        assert sorted(lines[1:3]) == ["\t/ref-demo/a", "\t/ref-demo/missing-%d" % node.sid]
    elif word == "wchp":
        lines = text.split("\n")
        pairs = sorted((lines[i], lines[i + 1]) for i in (0, 2))
        assert pairs == [("/ref-demo/a", "\t" + sid),
                         ("/ref-demo/missing-%d" % node.sid, "\t" + sid)]
    elif word == "dirs":
        kv = refcompare.kv_lines(text, ": ")
        assert int(kv["datadir_size"]) > 0 and int(kv["logdir_size"]) > 0


def check_layout(word, ref, text):
    if word == "mntr":
        check_mntr_keys(ref, text)
        return
    kw = {}
    if word in ("envi", "conf"):
        kw["value_any_after"] = "="
    if word == "wchp":
        kw["path_lines"] = True
    refcompare.assert_layout(ref, text, word, **kw)


@pytest.mark.parametrize("word", WORDS)
def test_word_layout(ens, roles, holders, word):
    for sid, pfx in sorted(roles.items()):
        node = ens[sid]
        text = four(node, word)
        ref = ref_text("%s-%s.txt" % (pfx, word))
        where = "%s on node %d (%s)" % (word, sid, pfx)
        try:
            if word == "dump":
                check_dump(ref, text, holders[sid], holders)
            else:
                check_layout(word, ref, text)
            check_semantics(word, text, node, holders, pfx == "ensemble-leader")
        except AssertionError as e:
            raise AssertionError("%s: %s\n--- actual:\n%s" % (where, e, text)) from None


def test_reset_words_then_leader_after_srst(ens, roles, holders):
    """crst and srst on every node, then the leader's stat/srvr/mntr as after the capture's
    crst+srst: counters zero, proposal sizes -1/-1/-1."""
    for sid in sorted(roles):
        node = ens[sid]
        assert four(node, "crst") == "Connection stats reset.\n"
        assert four(node, "srst") == "Server stats reset.\n"
    leader = ens[[sid for sid, pfx in roles.items() if pfx == "ensemble-leader"][0]]
    for word in AFTER_SRST:
        text = four(leader, word)
        ref = ref_text("ensemble-leader-after-srst-%s.txt" % word)
        if word == "mntr":
            check_mntr_keys(ref, text)
            kv = dict(refcompare.parse_mntr(text))
            assert kv["zk_avg_latency"] == "0.0"
            for k in ("last", "min", "max"):
                assert kv["zk_%s_proposal_size" % k] == "-1"
            assert kv["zk_looking_count"] == "0"
            assert kv["zk_cnt_election_time"] == "0"
        else:
            refcompare.assert_layout(ref, text, word)
            assert "Latency min/avg/max: 0/0.0/0\n" in text
            assert text.endswith("\nProposal sizes last/min/max: -1/-1/-1\n"), text
    # the next proposal is counted again
    holders[leader.sid].set("/ref-demo/a", b"after-srst")
    m = PROPOSAL_RE.fullmatch(four(leader, "srvr").split("\n")[-2])
    assert m and int(m.group(1)) > 0 and m.group(1) == m.group(2) == m.group(3), m


def test_not_serving_without_quorum(ensembles):
    """Node 1 of a fresh ensemble started alone: no quorum, not serving."""
    e = ensembles.new(name="noquorum", start=False)
    e.start([1], quorum=False)
    node = e[1]
    # the election keeps going; the node must not serve meanwhile
    wait_until(lambda: four(node, "ruok") == "imok", 30, what="ruok on the lone node")
    for word in ALL_WORDS:
        text = four(node, word)
        ref = ref_text("ensemble-noquorum-%s.txt" % word)
        if word == "ruok":
            assert text == "imok"
        elif word == "isro":
            assert text == "null"
        elif word == "envi":
            refcompare.assert_layout(ref, text, word, value_any_after="=")
        else:
            assert ref == NOT_SERVING, (word, ref)
            assert text == NOT_SERVING, "%s: %r" % (word, text)
    assert e.mode(1) is None
    ensembles.close(e)
