"""Ensemble harness for the zkd integration tests (see zkharness.py for single servers).

ZkEnsemble(impls=("zkd", "zkd", "ref"), base_dir=...) runs N quorum peers, node i (sid i) on
127.X.Y.i (X, Y random in 100..250, shared by all nodes) with the standard ports on its own
address: client 2181, quorum 2888, election 3888.  Each node has its own work dir
<base>/node<i> with zookeeper.properties, data/ (with data/myid) and its output log:
zkd.log (zkd: stdout+stderr) or server.out (ZooKeeper: stdout+stderr, log4j to the console
at INFO, so that the learner's sync lines such as "Getting a diff from the leader 0x..."
are in it).

Nodes are zkharness.ZkServer subclasses: one config writer and process start/stop/kill
path for standalone and ensemble, ZooKeeper run as QuorumPeerMain the same way.  Every
wait is bounded; processes are signalled by PID only; nodes still running at shutdown()
are stopped (SIGTERM) and killed after a bound.  A node that exits without being told to,
or a zkd that does not exit 0 on SIGTERM (crash, sanitizer report, leak check), is
reported by bad_exits(); the conftest `ensembles` fixture fails the module on it, and the
wait helpers raise as soon as they see a node die.

Timing (defaults): tickTime=500, initLimit=10 (5 s for a learner to connect and sync),
syncLimit=5 (2.5 s without an ack before a leader drops a follower / a follower drops the
leader).  Session timeouts are clamped to [2, 20] ticks = [1 s, 10 s] unless a module
raises maxSessionTimeout through `extra`.
"""

import mmap
import os
import random
import shutil
import signal
import socket
import tempfile
import threading
import time

import zkharness
from zkharness import IMPL, ServerDied, ZkServer, four_letter, ref_command, wait_until

CLIENT_PORT = 2181
QUORUM_PORT = 2888
ELECTION_PORT = 3888

QUORUM_TIMEOUT = float(os.environ.get("ZK_QUORUM_TIMEOUT", "60"))
NOT_SERVING = "This ZooKeeper instance is not currently serving requests"


def mixed_impl():
    """Implementation of the nodes the mixed-ensemble tests (0014) call "zkd": zkd unless
    ZK_MIXED_IMPL=ref, which turns them into ZooKeeper to validate the test logic alone."""
    v = os.environ.get("ZK_MIXED_IMPL", "zkd")
    if v not in ("zkd", "ref"):
        raise RuntimeError("ZK_MIXED_IMPL must be 'zkd' or 'ref', not %r" % v)
    return v


def listening(host, port):
    """True if some process has a TCP socket listening on host:port, found in
    /proc/net/tcp{,6} (Java listens on IPv4-mapped IPv6 sockets) without connecting."""
    v4 = "".join("%02X" % b for b in reversed(socket.inet_aton(host)))
    want = {"%s:%04X" % (v4, port), "0000000000000000FFFF0000%s:%04X" % (v4, port)}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if len(parts) > 3 and parts[1] in want and parts[3] == "0A":
                        return True
        except OSError:
            continue
    return False


def pick_prefix(n, tries=50):
    """'127.X.Y' such that 127.X.Y.1..n can all bind the client, quorum and election port."""
    for _ in range(tries):
        prefix = "127.%d.%d" % (random.randint(100, 250), random.randint(100, 250))
        ok = True
        for i in range(1, n + 1):
            for port in (CLIENT_PORT, QUORUM_PORT, ELECTION_PORT):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                try:
                    s.bind(("%s.%d" % (prefix, i), port))
                except OSError:
                    ok = False
                finally:
                    s.close()
                if not ok:
                    break
            if not ok:
                break
        if ok:
            return prefix
    raise RuntimeError("no free loopback prefix found for %d nodes" % n)


def parse_srvr(text):
    """{'Mode': 'leader', 'Zxid': '0x...', ...} from srvr output ({} when not serving)."""
    out = {}
    for line in text.splitlines():
        if ": " in line:
            k, v = line.split(": ", 1)
            out[k.strip()] = v.strip()
    return out


class EnsembleNode(ZkServer):
    """One quorum peer: a ZkServer whose config also has the quorum keys and server.N lines,
    with data/myid, and whose readiness is "the process answers ruok" (a peer serves
    clients only once it is part of a quorum: see ZkEnsemble.wait_for_quorum)."""

    def __init__(self, ensemble, sid, impl, workdir, host, extra=None):
        super().__init__(workdir, impl=impl, tick_time=ensemble.tick_time, extra=extra,
                         host=host, port=CLIENT_PORT)
        self.ensemble = ensemble
        self.sid = sid
        self.paused = False
        self._write_myid()

    def __repr__(self):
        return "<node %d %s %s%s>" % (self.sid, self.impl, self.host,
                                       "" if self.running() else " down")

    @property
    def name(self):
        return "node%d(%s)" % (self.sid, self.impl)

    def _write_myid(self):
        with open(os.path.join(self.data_dir, "myid"), "w") as f:
            f.write("%d\n" % self.sid)

    def _config_lines(self):
        e = self.ensemble
        lines = super()._config_lines()
        lines += ["initLimit=%d" % e.init_limit, "syncLimit=%d" % e.sync_limit]
        for n in e.nodes_spec():
            lines.append("server.%d=%s:%d:%d" % (n[0], n[1], QUORUM_PORT, ELECTION_PORT))
        return lines

    def _command(self):
        if self.impl == "zkd":
            return super()._command()
        return ref_command(self.workdir, self.conf_path, self.extra, console=True)

    def _probe_ready(self):
        return four_letter(self.host, self.port, "ruok", timeout=2.0) == b"imok"

    def spawn(self):
        self._write_myid()
        self.paused = False
        super().spawn()

    def stop(self, timeout=zkharness.STOP_TIMEOUT):
        self.resume()
        return super().stop(timeout)

    def pause(self, timeout=10.0):
        """SIGSTOP: the process keeps its sockets but reads, writes and acks nothing.
        Returns once every thread is stopped (a group stop completes asynchronously: a
        thread that is mid-syscall or waiting for a CPU still runs for a moment)."""
        assert self.running(), "%s is not running" % self.name
        pid = self.proc.pid
        os.kill(pid, signal.SIGSTOP)
        self.paused = True

        def all_stopped():
            for tid in os.listdir("/proc/%d/task" % pid):
                try:
                    with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                        state = f.read().rsplit(")", 1)[1].split()[0]
                except OSError:
                    continue  # the thread is gone
                if state not in ("T", "t", "Z", "X"):
                    return False
            return True

        wait_until(all_stopped, timeout, interval=0.005,
                   what="every thread of %s stopped" % self.name)

    def resume(self):
        if self.paused and self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
        self.paused = False

    def wipe(self):
        """Deletes everything in the dataDir except myid (the node must be down)."""
        assert not self.running(), "wipe %s while it runs" % self.name
        for name in os.listdir(self.data_dir):
            if name == "myid":
                continue
            p = os.path.join(self.data_dir, name)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            else:
                os.unlink(p)

    # -- output
    def log_tail(self, n=60):
        return "== %s (%s, sid %d on %s)\n%s" % (self.log_path, self.impl, self.sid,
                                                 self.hostport, zkharness.tail(self.log_path, n))

    def log_mark(self):
        """An offset into the node's log; log_since(mark) is what was written after it."""
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log_text(self):
        return self.log_since(0)

    def log_since(self, mark):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(mark)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_log(self, text, since=0, timeout=15.0):
        return wait_until(lambda: text in self.log_since(since), timeout, interval=0.1,
                          what="%r in the log of %s" % (text, self.name))

    def txn_logs_contain(self, needle):
        """True if a txn log file in the dataDir contains the bytes (e.g. a znode path)."""
        d = os.path.join(self.data_dir, "version-2")
        if isinstance(needle, str):
            needle = needle.encode()
        try:
            names = [n for n in os.listdir(d) if n.startswith("log.")]
        except OSError:
            return False
        for n in names:
            with open(os.path.join(d, n), "rb") as f:
                try:
                    with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
                        if m.find(needle) >= 0:
                            return True
                except ValueError:  # empty file
                    continue
        return False


class ZkEnsemble:
    """N quorum peers (see the module docstring).  base_dir: where node<i>/ go (default: a
    new /tmp/zkd-ens-* dir); impls: one "zkd"/"ref" per node (default: ZK_IMPL for n
    nodes); extra: more zookeeper.properties keys for every node.  Nothing runs until
    start()."""

    def __init__(self, base_dir=None, impls=None, n=3, tick_time=500, init_limit=10,
                 sync_limit=5, extra=None):
        if base_dir is None:
            base_dir = tempfile.mkdtemp(prefix="zkd-ens-")
        if impls is None:
            impls = (IMPL,) * n
        self.impls = tuple(impls)
        for i in self.impls:
            if i not in ("zkd", "ref"):
                raise ValueError("node implementation must be 'zkd' or 'ref', not %r" % i)
        self.base_dir = base_dir
        self.tick_time = tick_time
        self.init_limit = init_limit
        self.sync_limit = sync_limit
        self.prefix = pick_prefix(len(self.impls))
        self.nodes = []
        self.clients = []
        for sid, impl in enumerate(self.impls, start=1):
            self.nodes.append(EnsembleNode(self, sid, impl, os.path.join(base_dir,
                                                                           "node%d" % sid),
                                           "%s.%d" % (self.prefix, sid), extra=extra))

    def __repr__(self):
        return "<ensemble %s.* %s>" % (self.prefix, ",".join(self.impls))

    def nodes_spec(self):
        return [(n.sid, n.host) for n in self.nodes]

    def __getitem__(self, sid):
        """ens[sid] is node sid (1-based, like myid)."""
        return self.nodes[sid - 1]

    def __iter__(self):
        return iter(self.nodes)

    def __len__(self):
        return len(self.nodes)

    def node(self, x):
        return x if isinstance(x, EnsembleNode) else self[x]

    @property
    def quorum_size(self):
        return len(self.nodes) // 2 + 1

    def running(self):
        return [n for n in self.nodes if n.running()]

    # -- process control
    def check_alive(self, nodes=None):
        """Raises ServerDied if a node that should run has exited on its own."""
        for n in (self.nodes if nodes is None else [self.node(x) for x in nodes]):
            if n.proc is not None and n.proc.poll() is not None:
                rc = n.proc.returncode
                n._note_exit("died", rc)
                n.proc = None
                raise ServerDied("%s exited by itself with status %s\n%s"
                                 % (n.name, rc, n.log_tail(80)))

    def start(self, nodes=None, first=None, quorum=True, timeout=zkharness.START_TIMEOUT):
        """Starts the given nodes (default: all that are down).  `first` (default: the
        highest sid among them) is started alone and, once its election port listens, the
        others: on a fresh ensemble with equal zxids that makes it the leader.  With
        quorum=True waits for one leader with every running node following it."""
        todo = [self.node(x) for x in (nodes if nodes is not None else
                                       [n for n in self.nodes if not n.running()])]
        self.check_alive(todo)  # a node that died by itself is an error, not "down"
        todo = [n for n in todo if not n.running()]
        if todo:
            f = self.node(first) if first is not None else max(todo, key=lambda n: n.sid)
            assert f in todo, "first node %s is not among those to start" % f
            f.spawn()
            self._wait_started(f, timeout)
            rest = [n for n in todo if n is not f]
            for n in rest:
                n.spawn()
            for n in rest:
                self._wait_started(n, timeout)
        if quorum:
            return self.wait_for_quorum()
        return None

    def _wait_started(self, n, timeout):
        deadline = time.monotonic() + timeout
        n.wait_ready(timeout)
        wait_until(lambda: self.check_alive([n]) or listening(n.host, ELECTION_PORT),
                   max(1.0, deadline - time.monotonic()),
                   what="%s listening on its election port" % n.name)

    def start_node(self, x, quorum=True):
        return self.start([x], quorum=quorum)

    def stop(self, x):
        """SIGTERM (SIGKILL after a bound); returns the exit status."""
        return self.node(x).stop()

    def kill9(self, x):
        return self.node(x).kill9()

    def restart(self, x, kill=False, quorum=True):
        n = self.node(x)
        if kill:
            n.kill9()
        else:
            n.stop()
        return self.start([n], quorum=quorum)

    def wipe(self, x):
        self.node(x).wipe()

    # -- state
    def srvr(self, x, timeout=5.0):
        return four_letter(self.node(x).host, CLIENT_PORT, "srvr", timeout=timeout).decode()

    def mode(self, x):
        """'leader', 'follower', 'observer' or 'standalone' from srvr; None when the node
        is not serving ("This ZooKeeper instance is not currently serving requests") or
        does not answer."""
        n = self.node(x)
        if not n.running():
            return None
        try:
            out = self.srvr(n, timeout=3.0)
        except OSError:
            return None
        if NOT_SERVING in out:
            return None
        return parse_srvr(out).get("Mode")

    def zxid(self, x):
        """Last processed zxid from srvr (None when not serving)."""
        z = parse_srvr(self.srvr(x)).get("Zxid")
        return int(z, 16) if z else None

    def mntr(self, x):
        out = four_letter(self.node(x).host, CLIENT_PORT, "mntr", timeout=5.0).decode()
        d = {}
        for line in out.splitlines():
            if "\t" in line:
                k, v = line.split("\t", 1)
                d[k] = v
        return d

    def modes(self, nodes=None):
        return {n.sid: self.mode(n) for n in (self.running() if nodes is None else
                                              [self.node(x) for x in nodes])}

    def leader(self):
        """The node whose srvr says leader (None if none)."""
        for n in self.running():
            if self.mode(n) == "leader":
                return n
        return None

    def followers(self):
        return [n for n in self.running() if self.mode(n) == "follower"]

    def wait_for_quorum(self, nodes=None, timeout=QUORUM_TIMEOUT):
        """Waits until exactly one of `nodes` (default: every running node) is leader and
        all the others are followers; returns the leader.  `nodes` must be a majority."""
        want = [self.node(x) for x in nodes] if nodes is not None else self.running()
        assert len(want) >= self.quorum_size, "%s is not a quorum" % want
        last = {}

        def ok():
            self.check_alive()  # any node that should run, not only `want`
            m = self.modes(want)
            last.clear()
            last.update(m)
            leaders = [sid for sid, v in m.items() if v == "leader"]
            if len(leaders) == 1 and all(v == "follower" for sid, v in m.items()
                                         if sid != leaders[0]):
                return self[leaders[0]]
            return None

        try:
            return wait_until(ok, timeout, interval=0.1, what="quorum of %s" % want)
        except AssertionError as e:
            raise AssertionError("%s; modes %s" % (e, last)) from None

    def wait_same_zxid(self, nodes=None, timeout=30.0):
        """Waits until every serving node in `nodes` (default: running) reports the same
        Zxid in srvr; returns it."""
        want = [self.node(x) for x in nodes] if nodes is not None else self.running()
        last = {}

        def ok():
            self.check_alive()  # any node that should run, not only `want`
            z = {n.sid: self.zxid(n) for n in want}
            last.clear()
            last.update(z)
            vals = set(z.values())
            return vals.pop() if len(vals) == 1 and None not in z.values() else None

        try:
            return wait_until(ok, timeout, interval=0.1, what="equal zxids")
        except AssertionError as e:
            raise AssertionError("%s; zxids %s" % (e, {k: v if v is None else hex(v)
                                                       for k, v in last.items()})) from None

    # -- clients
    def hosts(self, nodes=None):
        """'h1:2181,h2:2181,...' for kazoo (default: every node)."""
        return ",".join(self.node(x).hostport for x in (nodes or [n.sid for n in self.nodes]))

    def kazoo(self, x=None, nodes=None, timeout=10.0, start=True, **kw):
        """A kazoo client bound to node x (or to `nodes`, or to every node when neither is
        given).  Reconnect attempts back off to at most 0.5 s, not kazoo's hour."""
        from kazoo.client import KazooClient
        from kazoo.retry import KazooRetry
        hosts = self.node(x).hostport if x is not None else self.hosts(nodes)
        kw.setdefault("connection_retry", KazooRetry(max_tries=-1, delay=0.1, backoff=1.5,
                                                     max_delay=0.5))
        c = KazooClient(hosts=hosts, timeout=timeout, **kw)
        self.clients.append(c)
        if start:
            c.start(timeout=15)
        return c

    def trees(self, root="/", nodes=None, acls=False):
        """{sid: read_tree(root)} read through a client bound to each node (default: every
        running node) after sync(root)."""
        out = {}
        for n in ([self.node(x) for x in nodes] if nodes is not None else self.running()):
            c = self.kazoo(n)
            try:
                c.sync(root)
                out[n.sid] = read_tree(c, root, acls=acls)
            finally:
                c.stop()
                c.close()
                self.clients.remove(c)
        return out

    def raw(self, x, **kw):
        import jute
        s = jute.RawSession(self.node(x).host, CLIENT_PORT, **kw)
        self.clients.append(s)
        return s

    def close_clients(self):
        for c in self.clients:
            try:
                if hasattr(c, "handler"):
                    c.stop()
                    c.close()
                else:
                    c.drop()
            except Exception:  # noqa: BLE001
                pass
        self.clients = []

    def log_tails(self, n=40):
        return "\n".join(node.log_tail(n) for node in self.nodes)

    # -- teardown
    def shutdown(self):
        """Stops every node (SIGTERM, SIGKILL after a bound) and returns bad_exits()."""
        self.close_clients()
        for n in self.nodes:
            n.stop()
            if n in zkharness.ALL_SERVERS:
                zkharness.ALL_SERVERS.remove(n)
        return self.bad_exits()

    def bad_exits(self):
        """Process ends that must fail the module: any node that exited without a signal
        from us, a zkd that did not exit 0 on SIGTERM or needed SIGKILL after it."""
        bad = []
        for n in self.nodes:
            for how, rc in n.exits:
                if how == "died" or (n.impl == "zkd" and (how == "term-timeout" or
                                                          (how == "term" and rc != 0))):
                    bad.append("%s on %s: %s, exit status %s (log: %s)"
                               % (n.name, n.host, how, rc, n.log_path))
        return bad


# ---------------------------------------------------------------- client-side helpers
def read_tree(zk, root="/", skip=("/zookeeper",), acls=False, chunk=400):
    """{path: (data, Stat tuple[, ACL tuple])} for the subtree at root, read level by level
    with pipelined async requests (thousands of znodes in a second or two)."""
    out = {}
    level = [root]
    while level:
        nxt = []
        for i in range(0, len(level), chunk):
            part = level[i:i + chunk]
            reqs = [(p, zk.get_async(p), zk.get_children_async(p),
                     zk.get_acls_async(p) if acls else None) for p in part]
            for p, rd, rc, ra in reqs:
                data, st = rd.get(timeout=30)
                val = (data, tuple(st))
                if ra is not None:
                    val += (tuple((a.perms, a.id.scheme, a.id.id) for a in ra.get(30)[0]),)
                out[p] = val
                for c in sorted(rc.get(timeout=30)):
                    cp = p.rstrip("/") + "/" + c
                    if cp not in skip:
                        nxt.append(cp)
        level = nxt
    return out


def diff_trees(a, b, limit=5):
    """Short description of how two read_tree() results differ ('' if equal)."""
    if a == b:
        return ""
    only_a = sorted(set(a) - set(b))
    only_b = sorted(set(b) - set(a))
    changed = sorted(p for p in set(a) & set(b) if a[p] != b[p])
    out = []
    if only_a:
        out.append("%d only in first, e.g. %s" % (len(only_a), only_a[:limit]))
    if only_b:
        out.append("%d only in second, e.g. %s" % (len(only_b), only_b[:limit]))
    if changed:
        out.append("%d differ, e.g. %s" % (len(changed), [(p, a[p], b[p])
                                                           for p in changed[:2]]))
    return "; ".join(out)


def assert_same_trees(trees):
    """trees: {sid: read_tree()}; fails with the first difference found."""
    sids = sorted(trees)
    for s in sids[1:]:
        d = diff_trees(trees[sids[0]], trees[s])
        assert not d, "node %d and node %d differ: %s" % (sids[0], s, d)


class Loader(threading.Thread):
    """Write load on one kazoo client: async creates of <base>/c<i>-<n> (unique paths) and
    sets of <base>/s<i> to increasing values, at most `window` outstanding and at most
    `rate` requests per second.  Records what was acknowledged:
      acked_creates {path: data}, acked_set (highest acknowledged value of <base>/s<i>, -1
      if none), sent_sets (every value ever sent, acknowledged or not).
    <base>/s<i> must exist (with b"-1") before start."""

    def __init__(self, zk, i, base="/load", window=8, rate=100.0):
        super().__init__(daemon=True)
        self.zk, self.i, self.base = zk, i, base
        self.window, self.interval = window, 1.0 / rate
        self.stop_ev = threading.Event()
        self.sem = threading.Semaphore(window)
        self.lock = threading.Lock()
        self.acked_creates = {}
        self.acked_set = -1
        self.sent_sets = set()
        self.acks = 0
        self.errors = 0

    def run(self):
        n = 0
        next_t = time.monotonic()
        while not self.stop_ev.is_set():
            if not self.sem.acquire(timeout=0.2):
                continue
            n += 1
            try:
                if n % 4 == 0:
                    val = n
                    self.sent_sets.add(val)
                    r = self.zk.set_async("%s/s%d" % (self.base, self.i), str(val).encode())
                    r.rawlink(lambda a, v=val: self._set_done(a, v))
                else:
                    path = "%s/c%d-%07d" % (self.base, self.i, n)
                    data = ("%d:%d:%s" % (self.i, n, "x" * random.randint(0, 100))).encode()
                    r = self.zk.create_async(path, data)
                    r.rawlink(lambda a, p=path, d=data: self._create_done(a, p, d))
            except Exception:  # noqa: BLE001 - e.g. the client is closing
                self.sem.release()
                self.errors += 1
            next_t += self.interval
            delay = next_t - time.monotonic()
            if delay > 0:
                self.stop_ev.wait(delay)
            else:
                next_t = time.monotonic()

    def _create_done(self, ar, path, data):
        self.sem.release()
        if ar.successful():
            with self.lock:
                self.acked_creates[path] = data
                self.acks += 1
        else:
            self.errors += 1

    def _set_done(self, ar, val):
        self.sem.release()
        if ar.successful():
            with self.lock:
                self.acked_set = max(self.acked_set, val)
                self.acks += 1
        else:
            self.errors += 1

    def stop(self, timeout=15.0):
        """Stops sending and waits (bounded) until no request is outstanding."""
        self.stop_ev.set()
        self.join(timeout)
        deadline = time.monotonic() + timeout
        got = 0
        while got < self.window and time.monotonic() < deadline:
            if self.sem.acquire(timeout=0.1):
                got += 1
        for _ in range(got):
            self.sem.release()
        return got == self.window

    def snapshot(self):
        with self.lock:
            return dict(self.acked_creates), self.acked_set, set(self.sent_sets)


def start_load(clients, base="/load", **kw):
    """Creates base and base/s<i>, then one started Loader per client."""
    zk = clients[0]
    zk.ensure_path(base)
    for i in range(len(clients)):
        if zk.exists("%s/s%d" % (base, i)) is None:
            zk.create("%s/s%d" % (base, i), b"-1")
    loaders = [Loader(c, i, base=base, **kw) for i, c in enumerate(clients)]
    for ld in loaders:
        ld.start()
    return loaders


def total_acks(loaders):
    return sum(ld.acks for ld in loaders)


def lost_writes(tree, loaders, base="/load"):
    """Acknowledged writes of `loaders` missing or wrong in a read_tree() result, and znodes
    under base that no loader ever sent; [] if none."""
    problems = []
    for ld in loaders:
        creates, acked_set, sent = ld.snapshot()
        for p, d in sorted(creates.items()):
            if p not in tree:
                problems.append("acknowledged create %s missing" % p)
            elif tree[p][0] != d:
                problems.append("%s has %r, acknowledged %r" % (p, tree[p][0], d))
        sp = "%s/s%d" % (base, ld.i)
        v = int(tree[sp][0]) if sp in tree else None
        if v is None or v < acked_set or (v != -1 and v not in sent):
            problems.append("%s is %r; acknowledged up to %d" % (sp, v, acked_set))
    prefixes = tuple("%s/c%d-" % (base, ld.i) for ld in loaders)
    sets = {"%s/s%d" % (base, ld.i) for ld in loaders}
    for p in tree:
        if p.startswith(base + "/") and p not in sets and not p.startswith(prefixes):
            problems.append("unexpected znode %s" % p)
    return problems


class EnsemblePool:
    """Creates ensembles in numbered subdirectories of one base dir, shuts them all down at
    the end (the conftest `ensembles` fixture)."""

    def __init__(self, base):
        self.base = base
        self.ensembles = []
        self.bad = []
        self.created = 0

    def new(self, name="ens", start=True, **kw):
        d = os.path.join(self.base, "%s-%d" % (name, self.created))
        self.created += 1
        e = ZkEnsemble(d, **kw)
        self.ensembles.append(e)
        if start:
            e.start()
        return e

    def close(self, e):
        """Shuts one ensemble down early (its bad exits are reported at the end)."""
        self.bad += e.shutdown()
        self.ensembles.remove(e)

    def shutdown(self):
        bad = self.bad
        for e in self.ensembles:
            bad += e.shutdown()
        self.ensembles = []
        self.bad = []
        return bad
