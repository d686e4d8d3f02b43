"""Process harness for the zkd integration tests.

Starts one standalone server per ZkServer on its own loopback address 127.X.Y.1:2181
(X, Y random in 100..250, so it never meets a local cluster on 127.0.0.1-3), either zkd
(ZK_IMPL=zkd, the default; binary from ZKD_BIN) or Apache ZooKeeper 3.8 from the Debian
package (ZK_IMPL=ref).  Waits for readiness by polling `ruok` with a bound, stops by PID
(SIGTERM, then SIGKILL after a bound), can kill -9 and restart on the same dataDir.

Config keys that Apache ZooKeeper only reads as Java system properties (see SYSPROP_KEYS)
are written into zookeeper.properties for zkd and passed as -D options for the reference.
"""

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

IMPL = os.environ.get("ZK_IMPL", "zkd")
if IMPL not in ("zkd", "ref"):
    raise RuntimeError("ZK_IMPL must be 'zkd' or 'ref', not %r" % IMPL)

JAVA = os.environ.get("JAVA", "/usr/bin/java")
ZK_JARS = ["/usr/share/java/zookeeper.jar", "/usr/share/java/slf4j-log4j12.jar",
           "/usr/share/java/log4j-1.2.jar"]
ZK_MAIN = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"
CLI_MT = "/usr/lib/zookeeper/bin/cli_mt"
REF_DIR = "/work/shared/ref/zk"

# zookeeper.properties key -> Java system property read by Apache ZooKeeper 3.8.
SYSPROP_KEYS = {
    "extendedTypesEnabled": "zookeeper.extendedTypesEnabled",
    "znode.container.checkIntervalMs": "znode.container.checkIntervalMs",
    "znode.container.maxPerMinute": "znode.container.maxPerMinute",
    "DigestAuthenticationProvider.superDigest":
        "zookeeper.DigestAuthenticationProvider.superDigest",
    "jute.maxbuffer": "jute.maxbuffer",
    "snapCount": "zookeeper.snapCount",
    "skipACL": "zookeeper.skipACL",
}

START_TIMEOUT = float(os.environ.get("ZK_START_TIMEOUT", "30"))
STOP_TIMEOUT = 15.0


def zkd_bin():
    b = os.environ.get("ZKD_BIN")
    if b:
        return b
    for variant in ("release", "san"):
        cand = os.path.join(REPO, "build", variant, "zkd")
        if os.access(cand, os.X_OK):
            return cand
    return os.path.join(REPO, "build", "release", "zkd")


# ---------------------------------------------------------------- generic helpers
def wait_until(pred, timeout=10.0, interval=0.05, what="condition"):
    """Poll pred() until it returns a truthy value (returned) or raise after timeout."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = pred()
            if v:
                return v
            last_exc = None
        except ServerDied:
            raise  # a server process died: waiting longer cannot help
        except Exception as e:  # noqa: BLE001 - the predicate may fail while things settle
            last_exc = e
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s%s" % (
                timeout, what, "" if last_exc is None else " (last error: %r)" % last_exc))
        time.sleep(interval)


def four_letter(addr, port, word, newline=False, timeout=10.0, source=None):
    """Send exactly the 4-byte word (5 bytes with newline=True), return all bytes until EOF.

    A reset after (or instead of) the reply ends the read like EOF does: ZooKeeper closes
    with the "\\n" of a 5-byte word unread, which makes the kernel send RST."""
    if isinstance(word, str):
        word = word.encode()
    assert len(word) == 4, word
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        if source:
            s.bind((source, 0))
        s.connect((addr, port))
        s.sendall(word + (b"\n" if newline else b""))
        out = bytearray()
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("4lw %r: no EOF within %.1fs (got %r)" % (word, timeout,
                                                                               bytes(out)))
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
        return bytes(out)
    finally:
        s.close()


def pick_address(port=2181, tries=50):
    """A free 127.X.Y.1 (X, Y in 100..250) whose port can be bound right now."""
    for _ in range(tries):
        host = "127.%d.%d.1" % (random.randint(100, 250), random.randint(100, 250))
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((host, port))
            return host
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free loopback address found")


def tail(path, n=60):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:])
    except OSError as e:
        return "<%s>" % e


def ref_command(workdir, conf_path, extra=None, console=False):
    """java command line of Apache ZooKeeper's QuorumPeerMain for conf_path (standalone or
    ensemble, depending on the config).  log4j goes to <workdir>/server.log, or with
    console=True to stdout (the caller captures it), INFO either way."""
    log4j = os.path.join(workdir, "log4j.properties")
    if console:
        appender = ("log4j.rootLogger=INFO, C\n"
                    "log4j.appender.C=org.apache.log4j.ConsoleAppender\n"
                    "log4j.appender.C.Target=System.out\n"
                    "log4j.appender.C.layout=org.apache.log4j.PatternLayout\n"
                    "log4j.appender.C.layout.ConversionPattern=")
    else:
        appender = ("log4j.rootLogger=INFO, F\n"
                    "log4j.appender.F=org.apache.log4j.FileAppender\n"
                    "log4j.appender.F.File=%s\n"
                    "log4j.appender.F.Append=true\n"
                    "log4j.appender.F.layout=org.apache.log4j.PatternLayout\n"
                    "log4j.appender.F.layout.ConversionPattern="
                    % os.path.join(workdir, "server.log"))
    with open(log4j, "w") as f:
        f.write(appender + "%d{ISO8601} - %-5p [%t:%C{1}@%L] - %m%n\n")
    props = ["-Dlog4j.configuration=file:%s" % log4j,
             "-Dzookeeper.admin.enableServer=false"]
    for k, v in (extra or {}).items():
        if k in SYSPROP_KEYS:
            props.append("-D%s=%s" % (SYSPROP_KEYS[k], v))
    return ([JAVA, "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
             "-cp", ":".join(ZK_JARS)] + props + [ZK_MAIN, conf_path])


ALL_SERVERS = []


class ServerDied(RuntimeError):
    pass


class ZkServer:
    """One standalone server (zkd or Apache ZooKeeper) in its own work directory."""

    def __init__(self, workdir, impl=None, tick_time=2000, extra=None, host=None, port=2181,
                 data_dir=None, whitelist="*"):
        self.impl = impl or IMPL
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.tick_time = tick_time
        self.extra = dict(extra or {})
        self.fixed_host = host is not None
        self.host = host or pick_address(port)
        self.port = port
        self.data_dir = data_dir or os.path.join(workdir, "data")
        os.makedirs(self.data_dir, exist_ok=True)
        self.whitelist = whitelist
        self.proc = None
        self.conf_path = os.path.join(workdir, "zookeeper.properties")
        self.log_path = os.path.join(workdir, "zkd.log" if self.impl == "zkd" else "server.out")
        self.clients = []
        self.starts = 0
        self.exits = []  # (how, status) per process that ended, see _note_exit
        ALL_SERVERS.append(self)

    # -- config
    @property
    def hostport(self):
        return "%s:%d" % (self.host, self.port)

    def _config_lines(self):
        """The zookeeper.properties lines (without extra keys); subclasses add to them."""
        return [
            "tickTime=%d" % self.tick_time,
            "dataDir=%s" % self.data_dir,
            "clientPort=%d" % self.port,
            "clientPortAddress=%s" % self.host,
            "4lw.commands.whitelist=%s" % self.whitelist,
            "admin.enableServer=false",
            "maxClientCnxns=0",
        ]

    def _write_config(self):
        lines = self._config_lines()
        for k, v in self.extra.items():
            if self.impl == "ref" and k in SYSPROP_KEYS:
                continue
            lines.append("%s=%s" % (k, v))
        with open(self.conf_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def _command(self):
        if self.impl == "zkd":
            return [zkd_bin(), self.conf_path]
        return ref_command(self.workdir, self.conf_path, self.extra)

    def log_tail(self, n=60):
        out = "== %s (%s on %s)\n%s" % (self.log_path, self.impl, self.hostport,
                                        tail(self.log_path, n))
        if self.impl == "ref":
            sl = os.path.join(self.workdir, "server.log")
            out += "\n== %s\n%s" % (sl, tail(sl, n))
        return out

    # -- lifecycle
    def start(self, timeout=START_TIMEOUT):
        attempts = 1 if (self.fixed_host or self.starts) else 3
        for attempt in range(attempts):
            try:
                self._start_once(timeout)
                self.starts += 1
                return self
            except ServerDied:
                if attempt + 1 >= attempts:
                    raise
                self.host = pick_address(self.port)  # maybe lost a bind race: new address
        return self

    def _start_once(self, timeout):
        self.spawn()
        self.wait_ready(timeout)

    def spawn(self):
        """Writes the config and starts the process (output appended to log_path); does
        not wait for it to be ready (see wait_ready)."""
        assert self.proc is None, "already running"
        self._write_config()
        cmd = self._command()
        if self.impl == "zkd" and not os.access(cmd[0], os.X_OK):
            raise RuntimeError("zkd binary %s not found/executable (set ZKD_BIN or run make, "
                               "or use ZK_IMPL=ref)" % cmd[0])
        logf = open(self.log_path, "ab")
        logf.write(("\n==== start %s: %s\n" % (time.strftime("%H:%M:%S"), " ".join(cmd)))
                   .encode())
        logf.flush()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=subprocess.STDOUT, cwd=self.workdir,
                                     start_new_session=True)
        logf.close()

    def _probe_ready(self):
        """One readiness probe: True once the server serves clients."""
        if four_letter(self.host, self.port, "ruok", timeout=2.0) != b"imok":
            return False
        wl = self.whitelist
        if wl != "*" and "srvr" not in wl.split(","):
            return True
        # short probe: ZooKeeper may hold a 4lw connection made while it is
        # still loading its database until that is done
        return b"Mode:" in four_letter(self.host, self.port, "srvr", timeout=0.5)

    def wait_ready(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                rc = self.proc.returncode
                self._note_exit("died", rc)
                self.proc = None
                raise ServerDied("%s server exited with %s before ready\n%s"
                                 % (self.impl, rc, self.log_tail()))
            try:
                if self._probe_ready():
                    return
            except OSError:
                pass
            if time.monotonic() >= deadline:
                self.kill9()
                raise RuntimeError("%s server on %s not ready within %.0fs\n%s"
                                   % (self.impl, self.hostport, timeout, self.log_tail()))
            time.sleep(0.05)

    def _note_exit(self, how, rc):
        """Records how the process ended: "term" (SIGTERM by us), "kill" (SIGKILL by us)
        or "died" (found exited without a signal from us)."""
        self.exits.append((how, rc))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, wait up to timeout, then SIGKILL. Returns the exit status."""
        if self.proc is None:
            return None
        p = self.proc
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout)
                self._note_exit("term", p.returncode)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
                self._note_exit("term-timeout", p.returncode)
        else:
            self._note_exit("died", p.returncode)
        self.proc = None
        return p.returncode

    def kill9(self):
        if self.proc is None:
            return None
        p = self.proc
        if p.poll() is None:
            p.kill()
            p.wait(10)
            self._note_exit("kill", p.returncode)
        else:
            self._note_exit("died", p.returncode)
        self.proc = None
        return p.returncode

    def restart(self, kill=False, timeout=START_TIMEOUT):
        if kill:
            self.kill9()
        else:
            self.stop()
        return self.start(timeout)

    # -- clients
    def four(self, word, newline=False, timeout=10.0):
        return four_letter(self.host, self.port, word, newline=newline, timeout=timeout)

    def kazoo(self, timeout=10.0, start=True, **kw):
        from kazoo.client import KazooClient
        c = KazooClient(hosts=self.hostport, timeout=timeout, **kw)
        self.clients.append(c)
        if start:
            c.start(timeout=15)
        return c

    def raw(self, **kw):
        import jute
        s = jute.RawSession(self.host, self.port, **kw)
        self.clients.append(s)
        return s

    def close_clients(self):
        for c in self.clients:
            try:
                if hasattr(c, "stop") and hasattr(c, "close") and hasattr(c, "handler"):
                    c.stop()
                    c.close()
                else:
                    c.drop()
            except Exception:  # noqa: BLE001
                pass
        self.clients = []

    def shutdown(self):
        """Stops the server; returns its exit status (None if it was not running)."""
        self.close_clients()
        rc = self.stop()
        if self in ALL_SERVERS:
            ALL_SERVERS.remove(self)
        return rc


class ServerPool:
    """Creates servers in numbered subdirectories of one base dir, stops them all at the end."""

    def __init__(self, base):
        self.base = base
        self.servers = []

    def new(self, name="zk", start=True, **kw):
        d = os.path.join(self.base, "%s-%d" % (name, len(self.servers)))
        s = ZkServer(d, **kw)
        self.servers.append(s)
        if start:
            s.start()
        return s

    def shutdown(self):
        """Stops every server. Returns the "host:port status" of each zkd that did
        not exit 0 on SIGTERM: a clean stop must flush, free everything and, in
        sanitizer builds, find no leak or error."""
        bad = []
        for s in self.servers:
            rc = s.shutdown()
            if IMPL == "zkd" and rc not in (None, 0):
                bad.append("%s exit status %s (log: %s)" % (s.hostport, rc, s.log_path))
        self.servers = []
        return bad


def make_base_dir():
    return tempfile.mkdtemp(prefix="zkd-it-")


def remove_tree(path):
    shutil.rmtree(path, ignore_errors=True)
