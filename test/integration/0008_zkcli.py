"""0008: the Java shell zkCli.sh (ZooKeeper 3.8 client) against the server.

Replays /work/shared/ref/zk/standalone-zkcli-index.txt: the same 20 one-shot commands in
the same order (one JVM each) and the stdin session, then compares exit codes and the raw
stdout/stderr with the captured files.  Generalised: zxids and session ids (hex), dates,
host:port.  Everything else is literal, including cversion, dataLength, numChildren and
the sequential suffixes, because the command sequence defines them.

As in the capture, /ref-demo exists beforehand (for `ls /`).  zkCli exits without closing
its session, so the ephemeral of 04-create-ephemeral lives on (30 s) and 08/09 list it.
"""

import os
import re
import subprocess

import pytest

import refcompare
from zkharness import REF_DIR, ZKCLI

KINDS = ("version", "date", "ipport", "hostport", "hex")


def split_args(rest):
    """The index lost the shell quoting: for create/set, everything after the path is the
    data, one argument ("hello world" has dataLength 11 in the capture)."""
    tok = rest.split(" ")
    if tok[0] in ("create", "set"):
        i = next(k for k, t in enumerate(tok) if t.startswith("/"))
        return tok[:i + 1] + ([" ".join(tok[i + 1:])] if tok[i + 1:] else [])
    return tok


def load_index():
    cmds = []
    with open(os.path.join(REF_DIR, "standalone-zkcli-index.txt")) as f:
        for ln in f:
            m = re.match(r"(\S+)\s+rc=(\d+)\s+zkCli\.sh -server \S+ (.*)$", ln.rstrip("\n"))
            assert m, ln
            slug, rc, rest = m.groups()
            if slug == "session":
                cmds.append((slug, int(rc), None))
            else:
                cmds.append((slug, int(rc), split_args(rest)))
    return cmds


INDEX = load_index()


def read_ref(name):
    with open(os.path.join(REF_DIR, name), "rb") as f:
        return f.read().decode()


def zkcli(server, args, stdin=b""):
    r = subprocess.run([ZKCLI, "-server", server.hostport] + args, input=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


@pytest.fixture(scope="module")
def prepared(server):
    zk = server.kazoo()
    zk.create("/ref-demo")
    zk.stop()
    zk.close()
    return server


# zkCli prints the connection event from its event thread, in three println calls
# ("WATCHER::", an empty line, "WatchedEvent ..."), so those lines can land before,
# after or even around the command's own output: compare them apart from the rest.
WATCHER, EVENT = "WATCHER::", "WatchedEvent state:SyncConnected type:None path:null"


def split_connected(text):
    """(number of connection events, text without the first one's three lines)."""
    lines = text.split("\n")
    n = lines.count(EVENT)
    if n and WATCHER in lines:
        w = lines.index(WATCHER)
        del lines[w]
        if "" in lines[w:]:
            del lines[lines.index("", w)]
        del lines[lines.index(EVENT)]
    return n, "\n".join(lines)


def check(slug, rc_ref, rc, out, err):
    problems = []
    if rc != rc_ref:
        problems.append("exit code %d, reference %d" % (rc, rc_ref))
    for stream, text in (("stdout", out), ("stderr", err)):
        ref = read_ref("standalone-zkcli-%s.%s" % (slug, stream))
        if stream == "stdout":
            (nref, ref), (ntext, text) = split_connected(ref), split_connected(text)
            if nref != ntext:
                problems.append("stdout: %d connection events, reference %d" % (ntext, nref))
        for p in refcompare.compare(ref, text, kinds=KINDS):
            problems.append("%s: %s" % (stream, p))
    assert not problems, "zkCli %s differs from the reference:\n  %s\n--- stdout:\n%s" \
        "--- stderr:\n%s" % (slug, "\n  ".join(problems), out, err)


def test_zkcli_replay(prepared):
    server = prepared
    seen = {}
    for slug, rc_ref, args in INDEX:
        if args is None:
            continue
        rc, out, err = zkcli(server, args)
        seen[slug] = (rc, out, err)
        check("%s" % slug, rc_ref, rc, out, err)
    # zxid relations the generalisation hides: set changes mZxid only
    def stat_of(text):
        return dict(re.findall(r"^(\w+) = (.*)$", text, re.M))
    before = stat_of(seen["11-get-s"][1])
    after = stat_of(seen["15-get-s-after-set"][1])
    assert before["cZxid"] == after["cZxid"] and before["pZxid"] == after["pZxid"]
    assert int(after["mZxid"], 16) > int(before["mZxid"], 16)
    assert before["mZxid"] == before["cZxid"]


def test_zkcli_session(prepared):
    server = prepared
    stdin = read_ref("standalone-zkcli-session.stdin").encode()
    rc, out, err = zkcli(server, [], stdin=stdin)
    rc_ref = [r for s, r, _ in INDEX if s == "session"][0]
    check("session", rc_ref, rc, out, err)
