"""0006: four-letter words. Layout of every word against the captured ZooKeeper 3.8 replies
(/work/shared/ref/zk/standalone-WORD.txt, values generalised, see refcompare.py), plus the
values ZooKeeper defines for the same state, the whitelist, unknown words, the 5-byte
("echo WORD | nc") form, and the reliability of `echo stat | nc` through real netcat.

State mirrors the reference capture: one kazoo session (30 s timeout) holding an ephemeral
/ref-demo/eph-1, a data watch on /ref-demo/a, an exists watch on /ref-demo/missing-1 and a
child watch on /ref-demo; nothing else has touched the server.
"""

import os
import re
import subprocess

import pytest

import refcompare
from zkharness import IMPL, REF_DIR

WORDS = ["ruok", "stat", "srvr", "conf", "cons", "envi", "mntr", "wchs", "wchc", "wchp",
         "dump", "isro", "dirs", "crst", "srst"]
AFTER_SRST = ["stat", "srvr", "mntr"]
NS_KEY = re.compile(r"zk_(avg|min|max|cnt|sum)_(.+)_(read|write)_per_namespace$")


def ref_text(name):
    with open(os.path.join(REF_DIR, name), "rb") as f:
        return f.read().decode()


@pytest.fixture(scope="module")
def holder(server):
    zk = server.kazoo(timeout=30)
    zk.create("/ref-demo")
    zk.create("/ref-demo/a", b"a")
    zk.create("/ref-demo/eph-1", b"", ephemeral=True)
    zk.get("/ref-demo/a", watch=lambda ev: None)
    assert zk.exists("/ref-demo/missing-1", watch=lambda ev: None) is None
    zk.get_children("/ref-demo", watch=lambda ev: None)
    return zk


def check_semantics(word, text, server, holder):
    sid = "0x%x" % holder.client_id[0]
    if word == "ruok":
        assert text == "imok"
    elif word == "isro":
        assert text == "rw"
    elif word in ("stat", "srvr"):
        kv = refcompare.kv_lines(text, ": ")
        assert kv["Mode"] == "standalone"
        # "/" is counted twice by ZooKeeper (stored as "" and "/"): 7 nodes -> 8
        assert kv["Node count"] == "8"
        assert kv["Zxid"] == "0x%x" % holder.last_zxid
        assert kv["Outstanding"] == "0"
        assert kv["Connections"] == "2"  # the holder and this 4lw connection
        assert re.fullmatch(r"\d+/\d+\.\d+/\d+", kv["Latency min/avg/max"])
        if word == "stat":
            clients = [ln for ln in text.split("\n") if ln.startswith(" /")]
            assert len(clients) == 2
    elif word == "conf":
        kv = refcompare.kv_lines(text, "=")
        assert kv["clientPort"] == "2181"
        assert kv["secureClientPort"] == "-1"
        assert os.path.realpath(kv["dataDir"]) == os.path.realpath(
            os.path.join(server.data_dir, "version-2"))
        assert kv["dataLogDir"] == kv["dataDir"]
        assert kv["tickTime"] == "2000"
        assert kv["maxClientCnxns"] == "0"
        assert kv["minSessionTimeout"] == "4000" and kv["maxSessionTimeout"] == "40000"
        assert kv["clientPortListenBacklog"] == "-1"
        assert kv["serverId"] == "0"
        assert int(kv["dataDirSize"]) >= 0 and kv["dataLogSize"] == kv["dataDirSize"]
    elif word == "cons":
        lines = [ln for ln in text.split("\n") if ln.startswith(" /")]
        assert len(lines) == 2
        mine = [ln for ln in lines if ",sid=%s," % sid in ln]
        assert len(mine) == 1 and ",to=30000," in mine[0]
        assert ",lzxid=0x%x," % holder.last_zxid in mine[0]
    elif word == "mntr":
        kv = dict(refcompare.parse_mntr(text))
        assert kv["zk_server_state"] == "standalone"
        assert kv["zk_znode_count"] == "8"
        assert kv["zk_ephemerals_count"] == "1"
        assert kv["zk_watch_count"] == "3"
        assert kv["zk_num_alive_connections"] == "2"
        assert kv["zk_outstanding_requests"] == "0"
        assert kv["zk_global_sessions"] == "1" and kv["zk_local_sessions"] == "0"
    elif word == "wchs":
        # child watches are not counted by wchs/wchc/wchp (mntr zk_watch_count is 3)
        assert text == "1 connections watching 2 paths\nTotal watches:2\n"
    elif word == "wchc":
        lines = text.split("\n")
        assert lines[0] == sid
        assert sorted(lines[1:3]) == ["\t/ref-demo/a", "\t/ref-demo/missing-1"]
    elif word == "wchp":
        lines = text.split("\n")
        pairs = sorted((lines[i], lines[i + 1]) for i in (0, 2))
        assert pairs == [("/ref-demo/a", "\t" + sid), ("/ref-demo/missing-1", "\t" + sid)]
    elif word == "dump":
        assert "Sessions with Ephemerals (1):\n%s:\n\t/ref-demo/eph-1\n" % sid in text
        assert "\t%s\n" % sid in text.split("ephemeral nodes dump:")[0]
    elif word == "crst":
        assert text == "Connection stats reset.\n"
    elif word == "srst":
        assert text == "Server stats reset.\n"
    elif word == "dirs":
        kv = refcompare.kv_lines(text, ": ")
        assert int(kv["datadir_size"]) > 0 and int(kv["logdir_size"]) > 0


def check_mntr_keys(ref, act):
    ref_kv, act_kv = refcompare.parse_mntr(ref), refcompare.parse_mntr(act)
    assert [k for k, _ in act_kv[:2]] == ["zk_version", "zk_server_state"]
    ref_keys = {k for k, _ in ref_kv if not NS_KEY.match(k)}
    act_keys = {k for k, _ in act_kv if not NS_KEY.match(k)}
    assert not (ref_keys - act_keys), "mntr keys missing: %s" % sorted(ref_keys - act_keys)
    assert not (act_keys - ref_keys), "mntr keys not in ZooKeeper: %s" % sorted(
        act_keys - ref_keys)
    assert len(act_kv) == len(dict(act_kv)), "duplicate mntr keys"
    # per-namespace summaries (ZooKeeper prints zk_{avg,min,max,cnt,sum}_ref-demo_{read,write}
    # _per_namespace here) depend on the paths used and are not required; if present they
    # come as complete groups of five
    act_ns = [NS_KEY.match(k).groups() for k, _ in act_kv if NS_KEY.match(k)]
    for _, ns, rw in act_ns:
        assert sorted(s for s, n, r in act_ns if (n, r) == (ns, rw)) == \
            ["avg", "cnt", "max", "min", "sum"], (ns, rw)
    # a long stays a long and a double a double
    ref_map = dict(ref_kv)
    for k, v in act_kv:
        if k in ("zk_version", "zk_server_state") or k not in ref_map:
            continue
        rv = ref_map[k]
        kind = "double" if re.fullmatch(r"-?\d+\.\d+", rv) else "long"
        pat = r"-?\d+\.\d+" if kind == "double" else r"-?\d+"
        assert re.fullmatch(pat, v), "mntr %s=%r should be a %s like %r" % (k, v, kind, rv)


@pytest.mark.parametrize("word", WORDS)
def test_word_layout(server, holder, word):
    raw = server.four(word)
    text = raw.decode()
    ref = ref_text("standalone-%s.txt" % word)
    if word == "mntr":
        check_mntr_keys(ref, text)
    else:
        kw = {}
        if word in ("envi", "conf"):
            kw["value_any_after"] = "="
        if word == "wchp":
            kw["path_lines"] = True
        refcompare.assert_layout(ref, text, word, **kw)
    check_semantics(word, text, server, holder)


@pytest.mark.parametrize("word", AFTER_SRST)
def test_after_reset_layout(server, holder, word):
    assert server.four("crst") == b"Connection stats reset.\n"
    assert server.four("srst") == b"Server stats reset.\n"
    text = server.four(word).decode()
    ref = ref_text("standalone-after-srst-%s.txt" % word)
    if word == "mntr":
        check_mntr_keys(ref, text)
        kv = dict(refcompare.parse_mntr(text))
        assert kv["zk_avg_latency"] == "0.0"
    else:
        refcompare.assert_layout(ref, text, word)
        assert "Latency min/avg/max: 0/0.0/0\n" in text


def test_unknown_word_closes_without_reply(server, holder):
    assert server.four("xxxx") == b""
    assert server.four("ruok") == b"imok"


@pytest.mark.parametrize("word", ["ruok", "srvr", "conf", "isro", "wchs"])
def test_five_byte_form_same_reply(server, holder, word):
    # "echo WORD | nc": the trailing newline does not change the reply
    # (ZooKeeper may lose it to a RST, see test_echo_stat_nc_reliability)
    four = server.four(word)
    for _ in range(5 if IMPL == "ref" else 1):  # zkd must not lose the reply
        five = server.four(word, newline=True)
        if five:
            break
    if word == "srvr":
        four, five = (re.sub(rb"\d+", b"N", x) for x in (four, five))
    assert five == four


def test_whitelist(servers):
    srv = servers.new(name="whitelist", whitelist="ruok,srvr")
    try:
        assert srv.four("ruok") == b"imok"
        assert b"Mode: standalone\n" in srv.four("srvr")
        for w in ("stat", "mntr", "conf", "cons", "envi", "wchs", "dump", "crst", "isro",
                  "dirs"):
            assert srv.four(w) == ("%s is not executed because it is not in the whitelist.\n"
                                   % w).encode()
        assert srv.four("xxxx") == b""
    finally:
        srv.shutdown()


def test_echo_stat_nc_reliability(server, holder):
    """`echo stat | nc HOST 2181` 200 times through netcat-openbsd (no flags: it exits when
    the server closes).  zkd must answer every time; ZooKeeper closes with the newline
    unread, the kernel answers with RST and nc sometimes prints nothing."""
    n, ok = 200, 0
    for _ in range(n):
        r = subprocess.run(["nc", server.host, str(server.port)], input=b"stat\n",
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=10)
        if b"Mode:" in r.stdout:
            ok += 1
    print("echo stat | nc: %d/%d replies" % (ok, n))
    if IMPL == "ref" and ok < n:
        pytest.xfail("reference ZooKeeper answered %d/%d (known RST race)" % (ok, n))
    assert ok == n, "echo stat | nc: only %d/%d replies" % (ok, n)
