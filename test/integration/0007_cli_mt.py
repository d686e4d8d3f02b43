"""0007: libzookeeper_mt through its sample shell /usr/lib/zookeeper/bin/cli_mt.

Batch mode (`cli_mt -h HOST:PORT -c "CMD"`) runs one asynchronous command and exits when its
completion has been printed; everything the shell prints goes to stderr.  Output formats
(from the C library's cli.c, observed against ZooKeeper 3.8):

  create/create2/sync   [PATH]: rc = RC \\n \\tname = REALPATH (+ stat block for create2)
  get                   time = N msec \\n PATH: rc = RC \\n  value_len = N \\n DATA \\n Stat: \\n stat
  set                   PATH: rc = RC Stat: \\n stat block
  ls/ls2                time = N msec \\n PATH: rc = RC \\n \\tCHILD ... time = N msec (+ stat)
  delete                PATH: rc = RC
  stat block            \\tctime = DATE\\tczxid=HEX \\n \\tmtime=DATE\\tmzxid=HEX \\n
                        \\tversion=HEX\\taversion=HEX \\n \\tephemeralOwner = HEX

`exists` and `myid` never complete in batch mode (synchronous there), so they are driven
through an interactive session on stdin, which also shows watch events.
The server has extendedTypesEnabled so that `create +t=TTL` works, and a 1 s container
check interval.
"""

import re
import subprocess
import threading


from zkharness import CLI_MT, wait_until

SERVER_KW = dict(extra={"extendedTypesEnabled": "true", "znode.container.checkIntervalMs": 1000})
STAT_RE = (r"\tctime = [A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\n"
           r"\tczxid=(?P<czxid>[0-9a-f]+)\n"
           r"\tmtime=[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\n"
           r"\tmzxid=(?P<mzxid>[0-9a-f]+)\n"
           r"\tversion=(?P<version>[0-9a-f]+)\taversion=(?P<aversion>[0-9a-f]+)\n"
           r"\tephemeralOwner = (?P<owner>[0-9a-f]+)\n")
HEADER_RE = (r"Batch mode: (?P<cmd>.*)\n(?:Creating \[.*\] node \(mode: \d+\)\n)?"
             r"Watcher SESSION_EVENT state = CONNECTED_STATE\n"
             r"Got a new session id: 0x(?P<sid>[0-9a-f]+)\n")


def cli(server, cmd, timeout=20):
    r = subprocess.run([CLI_MT, "-h", server.hostport, "-c", cmd], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    assert r.returncode == 0, r
    assert r.stdout == b""
    err = r.stderr.decode()
    m = re.match(HEADER_RE, err)
    assert m, "unexpected cli_mt header:\n%s" % err
    assert m.group("cmd") == cmd
    return err[m.end():]


def match(pattern, text):
    m = re.fullmatch(pattern, text)
    assert m, "cli_mt output:\n%s\ndoes not match:\n%s" % (text, pattern)
    return m


def test_create_variants(server, zk):
    out = cli(server, "create /cm")
    match(r"\[/cm\]: rc = 0\n\tname = /cm\n", out)
    assert zk.get("/cm")[0] == b"new"  # cli.c always writes "new"
    out = cli(server, "create2 /cm/c2")
    m = match(r"\[/cm/c2\]: rc = 0\n\tname = /cm/c2\n" + STAT_RE, out)
    st = zk.exists("/cm/c2")
    assert int(m.group("czxid"), 16) == st.czxid == int(m.group("mzxid"), 16)
    assert m.group("version") == "0" and m.group("aversion") == "0" and m.group("owner") == "0"
    out = cli(server, "create +s /cm/s-")
    match(r"\[/cm/s-\]: rc = 0\n\tname = /cm/s-0000000001\n", out)
    out = cli(server, "create +e /cm/e")
    match(r"\[/cm/e\]: rc = 0\n\tname = /cm/e\n", out)
    # the shell closed its session on exit: the ephemeral is gone
    assert zk.exists("/cm/e") is None
    out = cli(server, "create /cm")
    match(r"\[/cm\]: rc = -110\n", out)
    out = cli(server, "create /cm-nope/x")
    match(r"\[/cm-nope/x\]: rc = -101\n", out)
    out = cli(server, "create +e /cm-e")
    assert zk.exists("/cm-e") is None


def test_get_set_ls_delete(server, zk):
    zk.ensure_path("/cg")
    zk.set("/cg", b"new")
    zk.create("/cg/a")
    zk.create("/cg/b")
    out = cli(server, "get /cg")
    m = match(r"time = -?\d+ msec\n/cg: rc = 0\n value_len = 3\nnew\nStat:\n" + STAT_RE, out)
    st = zk.exists("/cg")
    assert int(m.group("mzxid"), 16) == st.mzxid and m.group("version") == "1"
    out = cli(server, "set /cg hello world")
    m = match(r"/cg: rc = 0 Stat:\n" + STAT_RE, out)
    assert m.group("version") == "2"
    assert zk.get("/cg")[0] == b"hello world"
    out = cli(server, "get /cg")
    m = match(r"time = -?\d+ msec\n/cg: rc = 0\n value_len = 11\nhello world\nStat:\n"
              + STAT_RE, out)
    assert int(m.group("mzxid"), 16) == zk.exists("/cg").mzxid
    out = cli(server, "ls /cg")
    m = match(r"time = \d+ msec\n/cg: rc = 0\n((?:\t[^\n]*\n)*)time = \d+ msec\n", out)
    assert sorted(m.group(1).split()) == ["a", "b"]
    out = cli(server, "ls2 /cg")
    m = match(r"time = \d+ msec\n/cg: rc = 0\n((?:\t[^\n]*\n)*)time = \d+ msec\n" + STAT_RE,
              out)
    assert sorted(m.group(1).split()) == ["a", "b"]
    out = cli(server, "delete /cg")
    match(r"/cg: rc = -111\n", out)
    out = cli(server, "delete /cg/a")
    match(r"/cg/a: rc = 0\n", out)
    out = cli(server, "delete /cg/a")
    match(r"/cg/a: rc = -101\n", out)
    out = cli(server, "get /cg/a")
    match(r"time = -?\d+ msec\n/cg/a: rc = -101\n\nStat:\nnull\n", out)
    out = cli(server, "ls /cg/a")
    match(r"time = \d+ msec\n/cg/a: rc = -101\ntime = \d+ msec\n", out)
    out = cli(server, "sync /cg")
    match(r"\[/cg\]: rc = 0\n\tname = /cg\n", out)
    out = cli(server, "set /cg/a x")
    match(r"/cg/a: rc = -101 Stat:\nnull\n", out)


def test_container_and_ttl(server, zk):
    zk.ensure_path("/cx")
    out = cli(server, "create +c /cx/box")
    match(r"\[/cx/box\]: rc = 0\n\tname = /cx/box\n", out)
    assert zk.exists("/cx/box").ephemeralOwner == 0
    zk.create("/cx/box/x")
    zk.delete("/cx/box/x")
    wait_until(lambda: zk.exists("/cx/box") is None, 10, what="container made by cli_mt removed")
    out = cli(server, "create +t=1000 /cx/ttl")
    match(r"\[/cx/ttl\]: rc = 0\n\tname = /cx/ttl\n", out)
    assert zk.exists("/cx/ttl") is not None
    wait_until(lambda: zk.exists("/cx/ttl") is None, 10, what="TTL node made by cli_mt removed")


def test_config_node(server, zk):
    out = cli(server, "config")
    m = match(r"time = -?\d+ msec\n/zookeeper/config: rc = 0\n value_len = 0\n\nStat:\n"
              + STAT_RE, out)
    # standalone: empty /zookeeper/config, all-zero stat except aversion -1
    assert m.group("czxid") == "0" and m.group("mzxid") == "0"
    assert m.group("version") == "0" and m.group("aversion") == "ffffffff"
    assert "\tctime = Thu Jan  1 00:00:00 1970\n" in out
    data, st = zk.get("/zookeeper/config")
    assert data == b"" and st.aversion == -1 and st.ctime == 0 and st.czxid == 0


class Shell:
    """Interactive cli_mt on stdin; stderr collected by a reader thread."""

    def __init__(self, server):
        self.p = subprocess.Popen([CLI_MT, "-h", server.hostport], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.buf = ""
        self.pos = 0
        self.cv = threading.Condition()
        self.out = b""
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_out, daemon=True).start()

    def _read(self):
        while True:
            b = self.p.stderr.read1(4096)
            if not b:
                break
            with self.cv:
                self.buf += b.decode("utf-8", "replace")
                self.cv.notify_all()

    def _read_out(self):
        while True:
            b = self.p.stdout.read1(4096)
            if not b:
                break
            with self.cv:
                self.out += b
                self.cv.notify_all()

    def send(self, line):
        self.p.stdin.write((line + "\n").encode())
        self.p.stdin.flush()

    def expect(self, pattern, timeout=10):
        rx = re.compile(pattern)
        with self.cv:
            ok = self.cv.wait_for(lambda: rx.search(self.buf, self.pos), timeout)
            assert ok, "cli_mt: no %r in:\n%s" % (pattern, self.buf[self.pos:])
            m = rx.search(self.buf, self.pos)
            self.pos = m.end()
            return m

    def close(self):
        try:
            self.send("quit")
            self.p.stdin.close()
            self.p.wait(10)
        except Exception:  # noqa: BLE001
            self.p.kill()
            self.p.wait(10)


def test_interactive_session_and_watches(server, zk):
    sh = Shell(server)
    try:
        m = sh.expect(r"Got a new session id: 0x([0-9a-f]+)\n")
        sid = int(m.group(1), 16)
        sh.send("create +e /ci")
        sh.expect(r"\[/ci\]: rc = 0\n\tname = /ci\n")
        assert zk.exists("/ci").ephemeralOwner == sid
        sh.send("myid")  # printf to stdout: a pipe, so it shows up when the shell exits
        # get sets a data watch (cli.c passes watch=1)
        sh.send("get /ci")
        sh.expect(r"/ci: rc = 0\n value_len = 3\nnew\nStat:\n")
        zk.set("/ci", b"changed")
        sh.expect(r"Watcher CHANGED_EVENT state = CONNECTED_STATE for path /ci\n")
        # exists is synchronous in cli_mt and prints nothing; it leaves a watch
        sh.send("exists /ci-later")
        sh.send("sync /")
        sh.expect(r"\[/\]: rc = 0\n\tname = /\n")
        zk.create("/ci-later")
        sh.expect(r"Watcher CREATED_EVENT state = CONNECTED_STATE for path /ci-later\n")
        # ls sets a child watch
        sh.send("ls /ci-later")
        sh.expect(r"/ci-later: rc = 0\ntime = \d+ msec\n")
        zk.create("/ci-later/k")
        sh.expect(r"Watcher CHILD_EVENT state = CONNECTED_STATE for path /ci-later\n")
        sh.send("delete /ci")
        sh.expect(r"/ci: rc = 0\n")
        zk.delete("/ci-later", recursive=True)
    finally:
        sh.close()
    assert sh.p.returncode == 0
    wait_until(lambda: b"session Id = %x\n" % sid in sh.out, 5, what="myid output")


def test_watch_survives_reconnect(server, zk):
    """The C client re-sends its watches (SetWatches) after a reconnect.  The connection is
    cut from the server side: a ConnectRequest naming the shell's session id (with a wrong
    password) makes ZooKeeper close the session's current connection.  Whether the change
    lands before the C client's SetWatches (event from the zxid comparison) or after (a
    re-armed watch fires), the shell must see exactly one CHANGED_EVENT."""
    import jute as J
    zk.ensure_path("/cw")
    sh = Shell(server)
    try:
        m = sh.expect(r"Got a new session id: 0x([0-9a-f]+)\n")
        sid = int(m.group(1), 16)
        sh.send("get /cw")
        sh.expect(r"/cw: rc = 0\n")
        try:
            t = J.RawSession(server.host, server.port, session_id=sid, passwd=b"\x01" * 16)
            assert t.connect_response["timeOut"] == 0
            t.drop()
        except J.Closed:
            pass  # the C client's own reconnect may close this connection first
        sh.expect(r"Watcher SESSION_EVENT state = CONNECTING_STATE\n")
        zk.set("/cw", b"while-away")
        sh.expect(r"Watcher SESSION_EVENT state = CONNECTED_STATE\n")
        sh.expect(r"Watcher CHANGED_EVENT state = CONNECTED_STATE for path /cw\n")
        sh.send("sync /")
        sh.expect(r"\[/\]: rc = 0\n")
        assert "Got a new session id" not in sh.buf[m.end():]  # same session
        assert sh.buf.count("CHANGED_EVENT") == 1
    finally:
        sh.close()
    zk.delete("/cw")
