"""Process harness for the kafkad integration tests (01xx).

A KafkaCluster is one coordinator (a standalone zkharness.ZkServer, or a three-node
zkensemble.ZkEnsemble with ensemble=True) and N kafkad brokers, all on one loopback range
127.X.Y.* (X, Y random in 100..250) so the tests never meet a local cluster on 127.0.0.x:
broker i listens on 127.X.Y.i:9092, the standalone coordinator on 127.X.Y.1:2181 (an
ensemble has its nodes on 127.X.Y.1..3 with ports 2181/2888/3888).  The coordinator is
zkd unless ZK_IMPL=ref (then Apache ZooKeeper 3.8, see zkharness).

Each broker has its own work dir <cluster>/broker<id> holding server.properties, logs/
(its log.dirs) and kafkad.log (stdout and stderr of every run, appended).  Readiness of a
broker = it answers ApiVersions on its port AND /brokers/ids/<id> exists in ZooKeeper; a
cluster is ready when every running broker lists every running broker (id and host:port)
and a controller in its Metadata (`kcat -L -J` against that broker alone).  Every wait is
bounded; processes are signalled by PID only (SIGTERM, SIGKILL after a bound).  A broker
that exits without a signal from us, or that does not exit 0 on SIGTERM (crash, sanitizer
report, leak check) is reported by KafkaCluster.bad_exits(); the conftest `kafka_clusters`
fixture fails the module on it, and the waits raise ServerDied as soon as one dies.

Clients: kcat (KCAT, default /usr/bin/kcat), confluent_kafka (librdkafka) and kafka-python
are driven by the tests; this module also speaks the Kafka wire protocol itself for the
requests the tests must shape byte by byte (ApiVersions, Metadata, Fetch, ListOffsets,
Produce with a hand-built RecordBatch v2) and parses RecordBatch v2 headers of segment
files.  Brokers are listed in zkharness.ALL_SERVERS, so a failing test shows their log
tails like the coordinator's.

Environment: KAFKAD_BIN (default build/release/kafkad, then build/san/kafkad),
KAFKA_START_TIMEOUT (seconds for one broker to become ready, default 30),
KAFKA_CLUSTER_TIMEOUT (seconds for every broker to see the whole cluster, default 30).
"""

import json
import os
import random
import signal
import socket
import struct
import subprocess
import time

import zkharness
from zkharness import ServerDied, ZkServer, tail, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SHARED = os.path.join(os.path.dirname(REPO), "shared")
REF_DIR = os.path.join(SHARED, "ref", "kafka")
SPEC_DIR = os.path.join(SHARED, "spec", "kafka", "message")

KAFKA_PORT = 9092
ZK_PORT = 2181
KCAT = os.environ.get("KCAT", "/usr/bin/kcat")

START_TIMEOUT = float(os.environ.get("KAFKA_START_TIMEOUT", "30"))
CLUSTER_TIMEOUT = float(os.environ.get("KAFKA_CLUSTER_TIMEOUT", "30"))
STOP_TIMEOUT = 30.0            # a controlled shutdown may take a few round trips
SESSION_TIMEOUT_MS = 6000      # zookeeper.session.timeout.ms unless a test says otherwise

# Kafka error codes the tests name (Errors.java).
NONE = 0
OFFSET_OUT_OF_RANGE = 1
UNKNOWN_TOPIC_OR_PARTITION = 3
LEADER_NOT_AVAILABLE = 5
MESSAGE_TOO_LARGE = 10
UNSUPPORTED_VERSION = 35

CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def kafkad_bin():
    b = os.environ.get("KAFKAD_BIN")
    if b:
        return b
    for variant in ("release", "san"):
        cand = os.path.join(REPO, "build", variant, "kafkad")
        if os.access(cand, os.X_OK):
            return cand
    return os.path.join(REPO, "build", "release", "kafkad")


def _bindable(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def pick_prefix(n, tries=50):
    """'127.X.Y' such that 127.X.Y.1..n can bind the Kafka port and 127.X.Y.1 the client
    port of a standalone coordinator."""
    for _ in range(tries):
        prefix = "127.%d.%d" % (random.randint(100, 250), random.randint(100, 250))
        if not _bindable(prefix + ".1", ZK_PORT):
            continue
        if all(_bindable("%s.%d" % (prefix, i), KAFKA_PORT) for i in range(1, n + 1)):
            return prefix
    raise RuntimeError("no free loopback prefix found for %d brokers" % n)


# ================================================================ Kafka wire protocol
# Requests are built from these encoders; responses are read with Reader, which raises
# WireError when the bytes run out (a response shorter than its schema).

class WireError(Exception):
    pass


def i8(v):
    return struct.pack(">b", v)


def i16(v):
    return struct.pack(">h", v)


def i32(v):
    return struct.pack(">i", v)


def i64(v):
    return struct.pack(">q", v)


def kstr(s):
    """Classic (int16 length) nullable string."""
    if s is None:
        return i16(-1)
    b = s.encode() if isinstance(s, str) else s
    return i16(len(b)) + b


def kbytes(b):
    """Classic (int32 length) nullable bytes."""
    if b is None:
        return i32(-1)
    return i32(len(b)) + b


def karray(items, enc):
    """Classic array (int32 count; None = null)."""
    if items is None:
        return i32(-1)
    return i32(len(items)) + b"".join(enc(x) for x in items)


def uvarint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def varint(n):
    """Zigzag varint/varlong (record fields)."""
    return uvarint((n << 1) ^ (n >> 63))


def cstr(s):
    """Compact string (uvarint length + 1)."""
    b = s.encode() if isinstance(s, str) else s
    return uvarint(len(b) + 1) + b


class Reader:
    """Cursor over a response body; every read raises WireError past the end."""

    def __init__(self, data, pos=0):
        self.data = data
        self.pos = pos

    def _take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise WireError("response too short: need %d bytes at %d of %d"
                            % (n, self.pos, len(self.data)))
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def i8(self):
        return struct.unpack(">b", self._take(1))[0]

    def i16(self):
        return struct.unpack(">h", self._take(2))[0]

    def i32(self):
        return struct.unpack(">i", self._take(4))[0]

    def i64(self):
        return struct.unpack(">q", self._take(8))[0]

    def uvarint(self):
        shift = 0
        v = 0
        while True:
            b = self._take(1)[0]
            v |= (b & 0x7F) << shift
            if not b & 0x80:
                return v
            shift += 7
            if shift > 63:
                raise WireError("varint too long")

    def string(self):
        n = self.i16()
        return None if n < 0 else self._take(n).decode()

    def bytes(self):
        n = self.i32()
        return None if n < 0 else self._take(n)

    def array(self, fn):
        n = self.i32()
        if n < 0:
            return None
        return [fn(self) for _ in range(n)]

    def carray(self, fn):
        n = self.uvarint()
        return None if n == 0 else [fn(self) for _ in range(n - 1)]

    def tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self._take(self.uvarint())

    def left(self):
        return len(self.data) - self.pos


def request_frame(api_key, version, corr, body=b"", client_id="kafkaharness", flexible=False):
    """One size-prefixed request: header v1 (v2 with flexible=True) and body."""
    hdr = i16(api_key) + i16(version) + i32(corr) + kstr(client_id)
    if flexible:
        hdr += b"\x00"
    payload = hdr + body
    return i32(len(payload)) + payload


class KafkaWire:
    """A raw client connection to one broker: frames out, frames in, bounded reads."""

    def __init__(self, host, port=KAFKA_PORT, timeout=10.0):
        self.host, self.port = host, port
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.corr = random.randint(1, 1 << 20)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def send_request(self, api_key, version, body=b"", flexible=False, corr=None,
                     client_id="kafkaharness"):
        """Sends one request, returns its correlation id."""
        if corr is None:
            self.corr += 1
            corr = self.corr
        self.send(request_frame(api_key, version, corr, body, client_id, flexible))
        return corr

    def _fill(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no complete response within the time limit (have %d "
                                     "of %d bytes)" % (len(self.buf), n))
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(1 << 20)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise EOFError("connection closed by the broker (had %d of %d bytes)"
                               % (len(self.buf), n))
            self.buf += chunk

    def recv_frame(self, timeout=10.0):
        """The next response frame without its size prefix.  Raises EOFError if the broker
        closes first, socket.timeout after timeout seconds."""
        deadline = time.monotonic() + timeout
        self._fill(4, deadline)
        (n,) = struct.unpack(">i", self.buf[:4])
        if n < 4:
            raise WireError("response size %d" % n)
        self._fill(4 + n, deadline)
        frame, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
        return frame

    def call(self, api_key, version, body=b"", flexible=False, timeout=10.0):
        """Sends a request, returns a Reader on the response body (after the correlation
        id, which must match, and after the response header's tagged fields when the
        response is flexible: flexible=True, except for ApiVersions)."""
        corr = self.send_request(api_key, version, body, flexible=flexible)
        frame = self.recv_frame(timeout)
        rd = Reader(frame)
        got = rd.i32()
        if got != corr:
            raise WireError("correlation id %d, expected %d" % (got, corr))
        if flexible and api_key != 18:
            rd.tags()
        return rd

    def wait_closed(self, timeout=10.0):
        """True once the broker has closed the connection (EOF or reset), False if it is
        still open after timeout.  Bytes the broker sends meanwhile are collected in buf."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(min(left, 0.5))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError):
                return True
            if not chunk:
                return True
            self.buf += chunk


# ---------------------------------------------------------------- requests the tests use
def api_versions_body(version):
    if version >= 3:
        return cstr("kafkaharness") + cstr("1.0") + b"\x00"
    return b""


def parse_api_versions(rd, version):
    """(error_code, {api_key: (min, max)}) from an ApiVersions response body."""
    err = rd.i16()

    def entry(r):
        k, lo, hi = r.i16(), r.i16(), r.i16()
        if version >= 3:
            r.tags()
        return k, (lo, hi)

    entries = rd.carray(entry) if version >= 3 else rd.array(entry)
    if version >= 1:
        rd.i32()  # throttle_time_ms
    if version >= 3:
        rd.tags()
    return err, dict(entries or [])


def api_versions(host, port=KAFKA_PORT, version=3, timeout=5.0):
    """ApiVersions of one broker on a fresh connection: (error_code, {key: (min, max)})."""
    with KafkaWire(host, port, timeout) as w:
        rd = w.call(18, version, api_versions_body(version), flexible=version >= 3,
                    timeout=timeout)
        return parse_api_versions(rd, version)


def metadata_body(topics, version, auto_create=True):
    body = karray(topics, kstr)
    if version >= 4:
        body += i8(1 if auto_create else 0)
    return body


def parse_metadata(rd, version):
    """{brokers: {id: (host, port)}, controller, cluster_id, topics: {name: {error,
    internal, partitions: {p: {error, leader, replicas, isr}}}}} (versions 1..8)."""
    if version >= 3:
        rd.i32()
    brokers = {}
    for _ in range(rd.i32()):
        nid, host, port = rd.i32(), rd.string(), rd.i32()
        rd.string()  # rack
        brokers[nid] = (host, port)
    cluster_id = rd.string() if version >= 2 else None
    controller = rd.i32()
    topics = {}
    for _ in range(rd.i32()):
        err, name, internal = rd.i16(), rd.string(), rd.i8() != 0
        parts = {}
        for _ in range(rd.i32()):
            perr, idx, leader = rd.i16(), rd.i32(), rd.i32()
            if version >= 7:
                rd.i32()
            replicas = rd.array(Reader.i32)
            isr = rd.array(Reader.i32)
            if version >= 5:
                rd.array(Reader.i32)
            parts[idx] = {"error": perr, "leader": leader, "replicas": replicas, "isr": isr}
        if version >= 8:
            rd.i32()
        topics[name] = {"error": err, "internal": internal, "partitions": parts}
    return {"brokers": brokers, "controller": controller, "cluster_id": cluster_id,
            "topics": topics}


def metadata(host, port=KAFKA_PORT, topics=None, version=1, auto_create=True, timeout=5.0):
    """Metadata of one broker (topics=None: all topics) on a fresh connection."""
    with KafkaWire(host, port, timeout) as w:
        rd = w.call(3, version, metadata_body(topics, version, auto_create), timeout=timeout)
        return parse_metadata(rd, version)


def fetch_body(topic, partition, offset, max_wait_ms, min_bytes=1, max_bytes=1 << 20):
    """Fetch v4 body for one partition."""
    part = i32(partition) + i64(offset) + i32(max_bytes)
    return (i32(-1) + i32(max_wait_ms) + i32(min_bytes) + i32(max_bytes) + i8(0) +
            i32(1) + kstr(topic) + i32(1) + part)


def parse_fetch_v4(rd):
    """[(topic, partition, error, high_watermark, records bytes)] of a Fetch v4 response."""
    rd.i32()
    out = []
    for _ in range(rd.i32()):
        t = rd.string()
        for _ in range(rd.i32()):
            p, err, hw = rd.i32(), rd.i16(), rd.i64()
            rd.i64()  # last stable offset
            rd.array(lambda r: (r.i64(), r.i64()))
            out.append((t, p, err, hw, rd.bytes() or b""))
    return out


def list_offsets(host, topic, partition, timestamp, port=KAFKA_PORT, timeout=5.0):
    """ListOffsets v1 for one partition: (error, offset).  timestamp -2 = earliest,
    -1 = latest."""
    body = i32(-1) + i32(1) + kstr(topic) + i32(1) + i32(partition) + i64(timestamp)
    with KafkaWire(host, port, timeout) as w:
        rd = w.call(2, 1, body, timeout=timeout)
        res = {}
        for _ in range(rd.i32()):
            t = rd.string()
            for _ in range(rd.i32()):
                p, err = rd.i32(), rd.i16()
                rd.i64()
                res[(t, p)] = (err, rd.i64())
        return res[(topic, partition)]


def produce_body(topic, partition, batch, acks=1, timeout_ms=5000):
    """Produce v3 body: one topic, one partition, one record batch."""
    return (kstr(None) + i16(acks) + i32(timeout_ms) + i32(1) + kstr(topic) + i32(1) +
            i32(partition) + kbytes(batch))


def parse_produce_v3(rd):
    """[(topic, partition, error, base_offset)] of a Produce v3 response."""
    out = []
    for _ in range(rd.i32()):
        t = rd.string()
        for _ in range(rd.i32()):
            p, err, base = rd.i32(), rd.i16(), rd.i64()
            rd.i64()
            out.append((t, p, err, base))
    rd.i32()
    return out


# ---------------------------------------------------------------- RecordBatch v2
def _crc32c_table():
    tbl = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        tbl.append(c)
    return tbl


_CRC32C = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def record_batch(records, base_offset=0, timestamp_ms=None):
    """An uncompressed RecordBatch v2 holding records [(key, value)] (bytes or None)."""
    ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    body = b""
    for i, (k, v) in enumerate(records):
        rec = i8(0) + varint(0) + varint(i)
        rec += varint(-1) if k is None else varint(len(k)) + k
        rec += varint(-1) if v is None else varint(len(v)) + v
        rec += varint(0)
        body += varint(len(rec)) + rec
    after_crc = (i16(0) + i32(len(records) - 1) + i64(ts) + i64(ts) + i64(-1) + i16(-1) +
                 i32(-1) + i32(len(records)) + body)
    tail_part = i8(2) + struct.pack(">I", crc32c(after_crc)) + after_crc
    batch_len = 4 + len(tail_part)  # partitionLeaderEpoch + the rest
    return i64(base_offset) + i32(batch_len) + i32(-1) + tail_part


def parse_batches(data):
    """Headers of the RecordBatch v2 batches in data (a segment file or a records blob):
    [{base_offset, length, magic, crc_ok, codec, last_offset_delta, count, position}].
    Stops at a partial batch at the end."""
    out = []
    pos = 0
    while pos + 61 <= len(data):
        base, length = struct.unpack(">qi", data[pos:pos + 12])
        if length < 49 or pos + 12 + length > len(data):
            break
        magic = data[pos + 16]
        crc = struct.unpack(">I", data[pos + 17:pos + 21])[0]
        attrs, lod = struct.unpack(">hi", data[pos + 21:pos + 27])
        count = struct.unpack(">i", data[pos + 57:pos + 61])[0]
        out.append({"base_offset": base, "length": length, "magic": magic,
                    "crc_ok": crc32c(data[pos + 21:pos + 12 + length]) == crc,
                    "codec": attrs & 7, "last_offset_delta": lod, "count": count,
                    "position": pos})
        pos += 12 + length
    return out


# ================================================================ processes
class KafkaBroker:
    """One kafkad process with its own work dir (see the module docstring)."""

    def __init__(self, cluster, broker_id, host, port=KAFKA_PORT, extra=None, name=None):
        self.cluster = cluster
        self.broker_id = broker_id
        self.host = host
        self.port = port
        self.extra = dict(extra or {})
        self.name = name or "broker%d" % broker_id
        self.workdir = os.path.join(cluster.base_dir, self.name)
        os.makedirs(self.workdir, exist_ok=True)
        self.log_dir = os.path.join(self.workdir, "logs")
        self.conf_path = os.path.join(self.workdir, "server.properties")
        self.log_path = os.path.join(self.workdir, "kafkad.log")
        self.proc = None
        self.exits = []   # (how, status): "term", "term-timeout", "kill", "died", "exited"
        zkharness.ALL_SERVERS.append(self)

    def __repr__(self):
        return "<kafkad %d %s%s>" % (self.broker_id, self.hostport,
                                     "" if self.running() else " down")

    @property
    def hostport(self):
        return "%s:%d" % (self.host, self.port)

    # -- config
    def config(self):
        """The server.properties keys, in file order."""
        c = self.cluster
        listener = "PLAINTEXT://%s" % self.hostport
        props = [
            ("broker.id", self.broker_id),
            ("listeners", listener),
            ("advertised.listeners", listener),
            ("log.dirs", self.log_dir),
            ("zookeeper.connect", c.zk_connect),
            ("zookeeper.session.timeout.ms", c.session_timeout_ms),
            ("zookeeper.connection.timeout.ms", 15000),
            ("num.partitions", 1),
            ("default.replication.factor", 1),
            ("offsets.topic.replication.factor", 1),
            ("transaction.state.log.replication.factor", 1),
            ("transaction.state.log.min.isr", 1),
            ("group.initial.rebalance.delay.ms", 0),
            ("auto.create.topics.enable", "true"),
            ("delete.topic.enable", "true"),
            ("log.segment.delete.delay.ms", 1000),
        ]
        merged = dict(props)
        merged.update(c.broker_extra)
        merged.update(self.extra)
        return list(merged.items())

    def write_config(self):
        with open(self.conf_path, "w") as f:
            f.write("# kafkad integration test broker %d\n" % self.broker_id)
            for k, v in self.config():
                f.write("%s=%s\n" % (k, v))

    # -- lifecycle
    def spawn(self):
        """Writes server.properties and starts kafkad (output appended to kafkad.log);
        does not wait (see wait_ready)."""
        assert self.proc is None, "%s already running" % self.name
        self.write_config()
        binary = kafkad_bin()
        if not os.access(binary, os.X_OK):
            raise RuntimeError("kafkad binary %s not found/executable (set KAFKAD_BIN or run "
                               "make)" % binary)
        cmd = [binary, self.conf_path]
        with open(self.log_path, "ab") as logf:
            logf.write(("\n==== start %s: %s\n" % (time.strftime("%H:%M:%S"), " ".join(cmd)))
                       .encode())
            logf.flush()
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf,
                                         stderr=subprocess.STDOUT, cwd=self.workdir,
                                         start_new_session=True)

    def check_alive(self):
        """Raises ServerDied if the process we started has exited on its own."""
        if self.proc is not None and self.proc.poll() is not None:
            rc = self.proc.returncode
            self.exits.append(("died", rc))
            self.proc = None
            raise ServerDied("kafkad %d exited by itself with status %s\n%s"
                             % (self.broker_id, rc, self.log_tail(80)))

    def registered(self):
        """Stat of /brokers/ids/<id> (None if absent)."""
        return self.cluster.zk().exists("/brokers/ids/%d" % self.broker_id)

    def probe_ready(self):
        err, keys = api_versions(self.host, self.port, version=0, timeout=2.0)
        return err == NONE and 18 in keys and self.registered() is not None

    def wait_ready(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        last = None
        while True:
            self.check_alive()
            try:
                if self.probe_ready():
                    return self
            except (OSError, EOFError, WireError) as e:
                last = e
            if time.monotonic() >= deadline:
                self.kill9()
                raise RuntimeError("kafkad %d on %s not ready within %.0fs (last error: %r)\n%s"
                                   % (self.broker_id, self.hostport, timeout, last,
                                      self.log_tail()))
            time.sleep(0.1)

    def start(self, timeout=START_TIMEOUT):
        self.spawn()
        return self.wait_ready(timeout)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, wait up to timeout, then SIGKILL.  Returns the exit status."""
        if self.proc is None:
            return None
        p = self.proc
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout)
                self.exits.append(("term", p.returncode))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
                self.exits.append(("term-timeout", p.returncode))
        else:
            self.exits.append(("died", p.returncode))
        self.proc = None
        return p.returncode

    def kill9(self):
        if self.proc is None:
            return None
        p = self.proc
        if p.poll() is None:
            p.kill()
            p.wait(10)
            self.exits.append(("kill", p.returncode))
        else:
            self.exits.append(("died", p.returncode))
        self.proc = None
        return p.returncode

    def wait_exit(self, timeout=30.0):
        """For a broker expected to fail: waits (bounded) until the process exits by itself
        and returns its status; killed and AssertionError if it does not."""
        p = self.proc
        assert p is not None, "%s is not running" % self.name
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise AssertionError("kafkad %d still running after %.0fs\n%s"
                                 % (self.broker_id, timeout, self.log_tail()))
        self.exits.append(("exited", p.returncode))
        self.proc = None
        return p.returncode

    def restart(self, kill=False, timeout=START_TIMEOUT):
        """Stops (or kill -9s) the broker, waits until its registration is gone from
        ZooKeeper (after a kill -9 that takes the session timeout: a broker cannot
        register while the old session still owns /brokers/ids/<id>) and starts it."""
        if kill:
            self.kill9()
        else:
            self.stop()
        self.cluster.wait_unregistered(self.broker_id)
        return self.start(timeout)

    # -- files
    def partition_dir(self, topic, partition):
        return os.path.join(self.log_dir, "%s-%d" % (topic, partition))

    def segments(self, topic, partition):
        """Sorted base offsets of the .log files of a partition."""
        d = self.partition_dir(topic, partition)
        return sorted(int(n[:-4]) for n in os.listdir(d) if n.endswith(".log"))

    def read_checkpoint(self, name):
        """{(topic, partition): offset} of an offset checkpoint file in the log dir (its
        format is checked: version 0, entry count, one entry per line)."""
        with open(os.path.join(self.log_dir, name)) as f:
            lines = f.read().split("\n")
        assert lines[0] == "0", "%s: version line %r" % (name, lines[0])
        n = int(lines[1])
        entries = [ln for ln in lines[2:] if ln != ""]
        assert len(entries) == n, "%s: count %d but %d entries" % (name, n, len(entries))
        out = {}
        for ln in entries:
            t, p, off = ln.split(" ")
            out[(t, int(p))] = int(off)
        return out

    # -- output
    def log_tail(self, n=60):
        return "== %s (kafkad %d on %s)\n%s" % (self.log_path, self.broker_id, self.hostport,
                                                tail(self.log_path, n))

    def log_mark(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log_since(self, mark=0):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(mark)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def shutdown(self):
        rc = self.stop()
        if self in zkharness.ALL_SERVERS:
            zkharness.ALL_SERVERS.remove(self)
        return rc


class KafkaCluster:
    """A coordinator and n brokers (ids 1..n) in base_dir.  Nothing runs until start().

    n: brokers; ensemble: a three-node coordinator ensemble instead of one server;
    chroot: a ZooKeeper chroot for the brokers (e.g. "/kafka"); broker_extra: more
    server.properties keys for every broker, per_broker: {id: {key: value}};
    session_timeout_ms: zookeeper.session.timeout.ms."""

    def __init__(self, base_dir, n=1, ensemble=False, chroot=None, broker_extra=None,
                 per_broker=None, session_timeout_ms=SESSION_TIMEOUT_MS, zk_extra=None):
        self.base_dir = base_dir
        os.makedirs(base_dir, exist_ok=True)
        self.n = n
        self.chroot = chroot
        self.broker_extra = dict(broker_extra or {})
        self.session_timeout_ms = session_timeout_ms
        self.ens = None
        self.zk_server = None
        if ensemble:
            self.ens = self._new_ensemble(max(n, 3), zk_extra)
            self.prefix = self.ens.prefix
            hosts = self.ens.hosts()
        else:
            self.prefix = pick_prefix(max(n, 3))
            self.zk_server = ZkServer(os.path.join(base_dir, "zk"), host=self.prefix + ".1",
                                      port=ZK_PORT, tick_time=500, extra=zk_extra)
            hosts = self.zk_server.hostport
        self.zk_hosts = hosts + (chroot or "")
        self.zk_connect = self.zk_hosts
        self.brokers = []
        self._zk = None
        self._clients = []
        per_broker = per_broker or {}
        for i in range(1, n + 1):
            self.brokers.append(KafkaBroker(self, i, "%s.%d" % (self.prefix, i),
                                            extra=per_broker.get(i)))

    def __repr__(self):
        return "<kafka cluster %s.* %d brokers>" % (self.prefix, len(self.brokers))

    def _new_ensemble(self, n_hosts, zk_extra, tries=20):
        """A three-node zkensemble (not started) whose loopback range also has the Kafka
        port free on 127.X.Y.1..n_hosts (the ensemble picks its range itself)."""
        import zkensemble
        for _ in range(tries):
            ens = zkensemble.ZkEnsemble(base_dir=os.path.join(self.base_dir, "zk"), n=3,
                                        extra=zk_extra)
            if all(_bindable("%s.%d" % (ens.prefix, i), KAFKA_PORT)
                   for i in range(1, n_hosts + 1)):
                return ens
            for node in ens.nodes:
                if node in zkharness.ALL_SERVERS:
                    zkharness.ALL_SERVERS.remove(node)
        raise RuntimeError("no loopback range found with the Kafka port free for %d hosts"
                           % n_hosts)

    # -- lookup
    def broker(self, broker_id):
        for b in self.brokers:
            if b.broker_id == broker_id:
                return b
        raise KeyError("no broker %d" % broker_id)

    def running(self):
        return [b for b in self.brokers if b.running()]

    @property
    def bootstrap(self):
        """host:port of every running broker (every broker when none runs)."""
        bs = self.running() or self.brokers
        return ",".join(b.hostport for b in bs)

    # -- lifecycle
    def start_zk(self):
        if self.ens is not None:
            self.ens.start()
        elif not self.zk_server.running():
            self.zk_server.start()
        if self.chroot:
            from kazoo.client import KazooClient
            c = KazooClient(hosts=self.zk_hosts[:-len(self.chroot)], timeout=10.0)
            c.start(timeout=15)
            try:
                c.ensure_path(self.chroot)
            finally:
                c.stop()
                c.close()

    def start(self, brokers=None, timeout=START_TIMEOUT):
        """Starts the coordinator if needed and the given brokers (default: all that are
        down) together, then waits until each is ready and the cluster is complete."""
        self.start_zk()
        todo = [self.broker(x) if isinstance(x, int) else x
                for x in (brokers if brokers is not None else
                          [b for b in self.brokers if not b.running()])]
        for b in todo:
            b.spawn()
        for b in todo:
            b.wait_ready(timeout)
        self.wait_cluster()
        return self

    def check_alive(self):
        for b in self.brokers:
            b.check_alive()
        if self.ens is not None:
            self.ens.check_alive()

    def add_broker(self, broker_id, host_index, extra=None, name=None):
        """A further broker (not started) on 127.X.Y.<host_index>, in its own work dir."""
        b = KafkaBroker(self, broker_id, "%s.%d" % (self.prefix, host_index), extra=extra,
                        name=name)
        self.brokers.append(b)
        return b

    # -- ZooKeeper
    def zk(self):
        """A kazoo client on the brokers' chroot, shared by the harness and the tests."""
        if self._zk is None:
            from kazoo.client import KazooClient
            from kazoo.retry import KazooRetry
            self._zk = KazooClient(hosts=self.zk_hosts, timeout=10.0,
                                   connection_retry=KazooRetry(max_tries=-1, delay=0.1,
                                                               backoff=1.5, max_delay=0.5))
            self._zk.start(timeout=15)
        return self._zk

    def zk_json(self, path):
        """(decoded JSON, ZnodeStat) of a znode; (None, None) if it does not exist."""
        from kazoo.exceptions import NoNodeError
        try:
            data, st = self.zk().get(path)
        except NoNodeError:
            return None, None
        return (json.loads(data.decode()) if data else None), st

    def controller_id(self):
        """brokerid of /controller, None when there is no controller."""
        d, _ = self.zk_json("/controller")
        return None if d is None else d["brokerid"]

    def controller_epoch(self):
        from kazoo.exceptions import NoNodeError
        try:
            return int(self.zk().get("/controller_epoch")[0].decode())
        except NoNodeError:
            return None

    def wait_unregistered(self, broker_id, timeout=None):
        """Waits until /brokers/ids/<id> is gone (bounded by the session timeout)."""
        if timeout is None:
            timeout = self.session_timeout_ms / 1000.0 * 2 + 10
        wait_until(lambda: self.zk().exists("/brokers/ids/%d" % broker_id) is None, timeout,
                   interval=0.1, what="/brokers/ids/%d to disappear" % broker_id)

    def wait_controller(self, exclude=None, timeout=None):
        """Waits until /controller names a running broker (other than `exclude`); returns
        its id."""
        if timeout is None:
            timeout = self.session_timeout_ms / 1000.0 * 2 + 15

        def ok():
            self.check_alive()
            c = self.controller_id()
            if c is None or c == exclude:
                return None
            return c if any(b.broker_id == c for b in self.running()) else None

        return wait_until(ok, timeout, interval=0.1, what="a controller other than %s"
                          % exclude)

    # -- metadata
    def kcat_metadata(self, broker, timeout=15.0):
        """`kcat -L -J` against one broker alone: the parsed JSON."""
        r = self.kcat("-L", "-J", bootstrap=broker.hostport, timeout=timeout)
        return json.loads(r.stdout)

    def cluster_view_ok(self, broker):
        """True if the broker's Metadata (through kcat) lists exactly the running brokers
        with their host:port and a running controller."""
        md = self.kcat_metadata(broker)
        want = {(b.broker_id, b.hostport) for b in self.running()}
        got = {(x["id"], x["name"]) for x in md["brokers"]}
        return (md["originating_broker"]["id"] == broker.broker_id and got == want and
                md["controllerid"] in {b.broker_id for b in self.running()})

    def wait_cluster(self, timeout=CLUSTER_TIMEOUT):
        """Waits until every running broker sees every running broker and a controller."""
        last = {}

        def ok():
            self.check_alive()
            for b in self.running():
                if not self.cluster_view_ok(b):
                    last["broker"] = b.broker_id
                    return False
            return True

        try:
            wait_until(ok, timeout, interval=0.2, what="every broker to see the cluster")
        except AssertionError as e:
            raise AssertionError("%s (broker %s)" % (e, last.get("broker"))) from None

    def metadata(self, broker=None, topics=None, version=1):
        """Raw Metadata of one broker (default: the first running one)."""
        b = broker or self.running()[0]
        return metadata(b.host, b.port, topics=topics, version=version)

    def wait_topic(self, topic, partitions, timeout=30.0):
        """Waits until every running broker's Metadata has the topic with `partitions`
        partitions, each led by a running broker; returns {partition: leader id}."""
        live = {b.broker_id for b in self.running()}

        def ok():
            self.check_alive()
            leaders = None
            for b in self.running():
                t = self.metadata(b, topics=[topic])["topics"].get(topic)
                if t is None or t["error"] != NONE or len(t["partitions"]) != partitions:
                    return None
                ls = {p: v["leader"] for p, v in t["partitions"].items()}
                if any(v["error"] != NONE for v in t["partitions"].values()):
                    return None
                if not set(ls.values()) <= live or (leaders is not None and ls != leaders):
                    return None
                leaders = ls
            return leaders

        return wait_until(ok, timeout, interval=0.1,
                          what="topic %s with %d led partitions" % (topic, partitions))

    def wait_topic_gone(self, topic, timeout=30.0):
        def ok():
            self.check_alive()
            for b in self.running():
                t = self.metadata(b, topics=None)["topics"]
                if topic in t:
                    return False
            return True

        wait_until(ok, timeout, interval=0.1, what="topic %s gone from Metadata" % topic)

    def leader(self, topic, partition):
        t = self.metadata(topics=[topic])["topics"][topic]
        return t["partitions"][partition]["leader"]

    def partition_state(self, topic, partition):
        return self.zk_json("/brokers/topics/%s/partitions/%d/state" % (topic, partition))[0]

    # -- admin (confluent_kafka)
    def admin(self, **conf):
        from confluent_kafka.admin import AdminClient
        c = {"bootstrap.servers": self.bootstrap, "socket.timeout.ms": 10000}
        c.update(conf)
        return AdminClient(c)

    def create_topic(self, name, partitions=1, rf=1, config=None, assignment=None, wait=True,
                     timeout=30.0):
        """Creates a topic through CreateTopics (confluent_kafka AdminClient); with wait,
        returns {partition: leader} once every broker knows it."""
        from confluent_kafka.admin import NewTopic
        if assignment is not None:
            partitions = len(assignment)
            nt = NewTopic(name, partitions, replica_assignment=assignment,
                          config=dict(config or {}))
        else:
            nt = NewTopic(name, num_partitions=partitions, replication_factor=rf,
                          config=dict(config or {}))
        adm = self.admin()  # referenced until the result is in: its futures need it
        fs = adm.create_topics([nt], operation_timeout=timeout, request_timeout=timeout + 5)
        fs[name].result(timeout + 10)
        return self.wait_topic(name, partitions, timeout) if wait else None

    def delete_topic(self, name, wait=True, timeout=30.0):
        adm = self.admin()
        fs = adm.delete_topics([name], operation_timeout=timeout, request_timeout=timeout + 5)
        fs[name].result(timeout + 10)
        if wait:
            self.wait_topic_gone(name, timeout)

    # -- kcat
    def kcat(self, *args, bootstrap=None, input=None, timeout=60.0, check=True):
        """Runs kcat -b <bootstrap> args (text mode); with check, a non-zero exit status
        fails with its stderr.  Returns the CompletedProcess."""
        cmd = [KCAT, "-b", bootstrap or self.bootstrap, "-m", "10"] + [str(a) for a in args]
        r = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("%s exited with %d\nstdout: %s\nstderr: %s"
                                 % (" ".join(cmd), r.returncode, r.stdout[-2000:],
                                    r.stderr[-3000:]))
        return r

    def kcat_consume(self, topic, partition, count, offset="beginning", timeout=60.0,
                     bootstrap=None):
        """Up to `count` messages of a partition from `offset` (kcat -C -J -e: stops at the
        end of the partition): a list of the JSON envelopes (key, payload, offset, ...)."""
        r = self.kcat("-C", "-J", "-e", "-q", "-t", topic, "-p", partition, "-o", offset,
                      "-c", count, timeout=timeout, bootstrap=bootstrap)
        return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]

    # -- confluent_kafka clients
    def producer(self, **conf):
        from confluent_kafka import Producer
        c = {"bootstrap.servers": self.bootstrap, "linger.ms": 5, "socket.timeout.ms": 10000,
             "message.timeout.ms": 30000}
        c.update(conf)
        return Producer(c)

    def consumer(self, **conf):
        from confluent_kafka import Consumer
        c = {"bootstrap.servers": self.bootstrap,
             "group.id": "kafkaharness-%d" % random.randint(0, 1 << 30),
             "enable.auto.commit": False, "enable.auto.offset.store": False,
             "auto.offset.reset": "error", "enable.partition.eof": True,
             "socket.timeout.ms": 10000, "fetch.wait.max.ms": 100}
        c.update(conf)
        cons = Consumer(c)
        self._clients.append(cons)
        return cons

    def produce(self, topic, messages, partition=None, timeout=30.0, **conf):
        """Produces [(key, value)] in order through one confluent_kafka Producer and waits
        (bounded) for every delivery report.  Returns one (error or None, partition,
        offset) per message, in the order given."""
        p = self.producer(**conf)
        res = [None] * len(messages)

        def cb(i):
            def dr(err, msg):
                res[i] = (err, msg.partition(), msg.offset())
            return dr

        for i, (k, v) in enumerate(messages):
            kw = {"key": k, "value": v, "on_delivery": cb(i)}
            if partition is not None:
                kw["partition"] = partition
            while True:
                try:
                    p.produce(topic, **kw)
                    break
                except BufferError:
                    p.poll(0.1)
            p.poll(0)
        left = p.flush(timeout)
        assert left == 0, "%d messages not delivered within %.0fs" % (left, timeout)
        assert None not in res, "delivery reports missing"
        return res

    def release(self, client):
        """Closes a consumer made by consumer()."""
        try:
            client.close()
        finally:
            if client in self._clients:
                self._clients.remove(client)

    def consume(self, topic, partition, offset, count, timeout=30.0, **conf):
        """Up to `count` records of a partition from `offset` (consumer with assign()):
        [(offset, key, value)].  Stops early only at the deadline."""
        from confluent_kafka import KafkaError, TopicPartition
        c = self.consumer(**conf)
        out = []
        try:
            c.assign([TopicPartition(topic, partition, offset)])
            deadline = time.monotonic() + timeout
            while len(out) < count and time.monotonic() < deadline:
                m = c.poll(0.2)
                if m is None:
                    continue
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    raise AssertionError("consume %s-%d: %s" % (topic, partition, m.error()))
                out.append((m.offset(), m.key(), m.value()))
        finally:
            self.release(c)
        return out

    def watermarks(self, topic, partition, timeout=10.0):
        """(earliest, latest) offsets through ListOffsets (confluent_kafka)."""
        from confluent_kafka import TopicPartition
        c = self.consumer()
        try:
            return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout)
        finally:
            self.release(c)

    # -- teardown
    def log_tails(self, n=40):
        return "\n".join(b.log_tail(n) for b in self.brokers)

    def shutdown(self):
        """Stops every broker (the controller last, so controlled shutdowns find it), then
        the coordinator.  Returns bad_exits()."""
        for c in list(self._clients):
            try:
                c.close()
            except Exception:  # noqa: BLE001
                pass
        self._clients = []
        ctl = None
        try:
            if self._zk is not None or self.running():
                ctl = self.controller_id()
        except Exception:  # noqa: BLE001 - the coordinator may be gone already
            ctl = None
        order = sorted(self.brokers, key=lambda b: b.broker_id == ctl)
        for b in order:
            b.shutdown()
        if self._zk is not None:
            try:
                self._zk.stop()
                self._zk.close()
            except Exception:  # noqa: BLE001
                pass
            self._zk = None
        bad = self.bad_exits()
        if self.ens is not None:
            bad += self.ens.shutdown()
        elif self.zk_server is not None:
            rc = self.zk_server.shutdown()
            if zkharness.IMPL == "zkd" and rc not in (None, 0):
                bad.append("coordinator %s exit status %s (log: %s)"
                           % (self.zk_server.hostport, rc, self.zk_server.log_path))
        return bad

    def bad_exits(self):
        """Process ends that fail the module: a broker that exited without a signal from
        us (unless a test expected it, wait_exit), or that did not exit 0 on SIGTERM."""
        bad = []
        for b in self.brokers:
            for how, rc in b.exits:
                if how in ("died", "term-timeout") or (how == "term" and rc != 0):
                    bad.append("kafkad %d (%s): %s, exit status %s (log: %s)"
                               % (b.broker_id, b.host, how, rc, b.log_path))
        return bad


class ClusterPool:
    """Creates clusters in numbered subdirectories of one base dir and shuts them all down
    at the end (the conftest `kafka_clusters` fixture)."""

    def __init__(self, base):
        self.base = base
        self.clusters = []
        self.bad = []
        self.created = 0

    def new(self, name="kafka", start=True, **kw):
        d = os.path.join(self.base, "%s-%d" % (name, self.created))
        self.created += 1
        c = KafkaCluster(d, **kw)
        self.clusters.append(c)
        if start:
            c.start()
        return c

    def close(self, c):
        """Shuts one cluster down early (its bad exits are reported at the end)."""
        self.bad += c.shutdown()
        self.clusters.remove(c)

    def shutdown(self):
        bad = self.bad
        for c in self.clusters:
            bad += c.shutdown()
        self.clusters = []
        self.bad = []
        return bad


# ================================================================ reference data
def spec_ranges():
    """{api_key: (min, max)} of every request in the Kafka 2.8 message specs, and the
    set of keys whose `listeners` include zkBroker (what a ZooKeeper-mode broker may
    advertise)."""
    import re
    ranges, zk_keys = {}, set()
    for n in os.listdir(SPEC_DIR):
        if not n.endswith("Request.json"):
            continue
        with open(os.path.join(SPEC_DIR, n)) as f:
            text = re.sub(r"^\s*//.*$", "", f.read(), flags=re.M)
        # the first complete JSON value, as Kafka's generator reads it (one 2.8 file
        # has stray text after its object)
        d, _ = json.JSONDecoder().raw_decode(text.strip())
        if d.get("type") != "request":
            continue
        lo, _, hi = d["validVersions"].partition("-")
        ranges[d["apiKey"]] = (int(lo), int(hi or lo))
        if "zkBroker" in d.get("listeners", ["zkBroker"]):
            zk_keys.add(d["apiKey"])
    return ranges, zk_keys


def ref_api_versions():
    """{api_key: (min, max)} from the captured kafka-broker-api-versions.txt (one broker's
    block; every broker of the capture lists the same)."""
    import re
    out = {}
    with open(os.path.join(REF_DIR, "kafka-broker-api-versions.txt")) as f:
        for line in f:
            m = re.match(r"\s+\w+\((\d+)\): (\d+)(?: to (\d+))?", line)
            if m:
                k = int(m.group(1))
                lo = int(m.group(2))
                out[k] = (lo, int(m.group(3) or lo))
    return out


def ref_znodes(name):
    """{path: (kind, data text)} of a captured znode dump (zk-*.txt)."""
    import re
    out = {}
    with open(os.path.join(REF_DIR, name)) as f:
        for line in f:
            m = re.match(r"^(/\S*)\s+\[(\w+) [^\]]*\]\s+= (.*)$", line.rstrip("\n"))
            if m:
                out[m.group(1)] = (m.group(2), m.group(3))
    return out


# ================================================================ replication
# Helpers of the replication scenarios (0120): a replica's log read from its files,
# leader epoch checkpoints, Metadata with leader epochs and offline replicas, raw Produce,
# ISR waits on the partition state znode, and frozen (SIGSTOP) brokers.

def timeout_scale():
    """Factor for time bounds that depend on the broker's speed: KAFKA_TIME_SCALE if set,
    else 3 for a sanitizer build (kafkad_bin() under build/san), else 1."""
    v = os.environ.get("KAFKA_TIME_SCALE")
    if v:
        return float(v)
    return 3.0 if os.sep + "san" + os.sep in kafkad_bin() else 1.0


def replica_log_bytes(broker, topic, partition):
    """The bytes of a replica's .log segments concatenated in base offset order (b"" when
    the partition dir has no segment)."""
    d = broker.partition_dir(topic, partition)
    out = b""
    for base in broker.segments(topic, partition):
        with open(os.path.join(d, "%020d.log" % base), "rb") as f:
            out += f.read()
    return out


def replica_log_end(broker, topic, partition):
    """Log end offset of a replica read from its files: one past the last complete batch of
    its last non-empty segment (the base offset of the last segment when every segment is
    empty); None without a partition dir."""
    d = broker.partition_dir(topic, partition)
    if not os.path.isdir(d):
        return None
    bases = broker.segments(topic, partition)
    for base in reversed(bases):
        with open(os.path.join(d, "%020d.log" % base), "rb") as f:
            batches = parse_batches(f.read())
        if batches:
            last = batches[-1]
            return last["base_offset"] + last["last_offset_delta"] + 1
    return bases[0] if bases else 0


def batch_leader_epochs(data):
    """[(base_offset, partitionLeaderEpoch)] of the RecordBatch v2 batches in data."""
    return [(b["base_offset"], struct.unpack(">i", data[b["position"] + 12:
                                                        b["position"] + 16])[0])
            for b in parse_batches(data)]


def read_leader_epoch_checkpoint(broker, topic, partition):
    """[(epoch, start offset)] of <log dir>/<topic>-<partition>/leader-epoch-checkpoint, its
    format checked (version line "0", entry count, one "<epoch> <offset>" line per entry,
    newline-terminated); None when the file does not exist."""
    path = os.path.join(broker.partition_dir(topic, partition), "leader-epoch-checkpoint")
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return None
    assert text.endswith("\n"), "%s: no final newline: %r" % (path, text)
    lines = text[:-1].split("\n")
    assert lines[0] == "0", "%s: version line %r" % (path, lines[0])
    n = int(lines[1])
    entries = lines[2:]
    assert len(entries) == n, "%s: count %d but %d entries: %r" % (path, n, len(entries), text)
    out = []
    for ln in entries:
        e, o = ln.split(" ")
        out.append((int(e), int(o)))
    return out


def metadata_ext_body(topics, version, auto_create=False):
    """Metadata v1..v8 request body (v8: no authorized operations asked for)."""
    body = karray(topics, kstr)
    if version >= 4:
        body += i8(1 if auto_create else 0)
    if version >= 8:
        body += i8(0) + i8(0)
    return body


def parse_metadata_ext(rd, version):
    """As parse_metadata (versions 1..8), each partition also with leader_epoch (v7+, else
    None) and offline (the offline replicas, v5+, else None)."""
    if version >= 3:
        rd.i32()
    brokers = {}
    for _ in range(rd.i32()):
        nid, host, port = rd.i32(), rd.string(), rd.i32()
        rd.string()
        brokers[nid] = (host, port)
    cluster_id = rd.string() if version >= 2 else None
    controller = rd.i32()
    topics = {}
    for _ in range(rd.i32()):
        err, name, internal = rd.i16(), rd.string(), rd.i8() != 0
        parts = {}
        for _ in range(rd.i32()):
            perr, idx, leader = rd.i16(), rd.i32(), rd.i32()
            epoch = rd.i32() if version >= 7 else None
            replicas = rd.array(Reader.i32)
            isr = rd.array(Reader.i32)
            offline = rd.array(Reader.i32) if version >= 5 else None
            parts[idx] = {"error": perr, "leader": leader, "leader_epoch": epoch,
                          "replicas": replicas, "isr": isr, "offline": offline}
        if version >= 8:
            rd.i32()
        topics[name] = {"error": err, "internal": internal, "partitions": parts}
    if version >= 8:
        rd.i32()
    return {"brokers": brokers, "controller": controller, "cluster_id": cluster_id,
            "topics": topics}


def metadata_ext(host, port=KAFKA_PORT, topics=None, version=7, timeout=5.0):
    """Metadata (no auto-creation) of one broker on a fresh connection, parsed by
    parse_metadata_ext."""
    with KafkaWire(host, port, timeout) as w:
        rd = w.call(3, version, metadata_ext_body(topics, version), timeout=timeout)
        return parse_metadata_ext(rd, version)


def produce_records(host, topic, partition, records, acks=1, timeout_ms=5000,
                    port=KAFKA_PORT, timeout=None):
    """Produces one uncompressed batch of [(key, value)] with a raw Produce v3 request:
    (error code, base offset) of the response.  timeout bounds the wait for the response
    (default timeout_ms plus 10 s)."""
    if timeout is None:
        timeout = timeout_ms / 1000.0 + 10
    body = produce_body(topic, partition, record_batch(records), acks=acks,
                        timeout_ms=timeout_ms)
    with KafkaWire(host, port, timeout) as w:
        rd = w.call(0, 3, body, timeout=timeout)
        res = parse_produce_v3(rd)
    assert len(res) == 1 and res[0][:2] == (topic, partition), res
    return res[0][2], res[0][3]


def isr_of(cluster, topic, partition):
    """The ISR in the partition state znode (None when it does not exist)."""
    st = cluster.partition_state(topic, partition)
    return None if st is None else st["isr"]


def wait_isr(cluster, topic, partition, want, timeout=30.0, what=None):
    """Waits until the state znode's ISR is the set `want` (ids); returns (state, stat)."""
    want = set(want)

    def ok():
        cluster.check_alive()
        st, stat = cluster.zk_json("/brokers/topics/%s/partitions/%d/state"
                                   % (topic, partition))
        return (st, stat) if st is not None and set(st["isr"]) == want else None

    return wait_until(ok, timeout, interval=0.05,
                      what=what or "ISR of %s-%d = %s" % (topic, partition, sorted(want)))


def wait_log_ends_equal(brokers, topic, partition, timeout=30.0):
    """Waits until the replicas on `brokers` have the same log end offset in their files;
    returns it."""
    last = {}

    def ok():
        for b in brokers:
            b.check_alive()
        ends = {b.broker_id: replica_log_end(b, topic, partition) for b in brokers}
        last.update(ends)
        vals = set(ends.values())
        return (vals.pop(),) if len(vals) == 1 and None not in vals else None

    try:
        return wait_until(ok, timeout, interval=0.1,
                          what="equal log end offsets of %s-%d" % (topic, partition))[0]
    except AssertionError as e:
        raise AssertionError("%s: %s" % (e, last)) from None


class Frozen:
    """Context manager: SIGSTOPs the given running brokers on entry (or at freeze()) and
    SIGCONTs every one still frozen on thaw() or exit, whatever happened."""

    def __init__(self, *brokers):
        self.brokers = list(brokers)
        self.frozen = []

    def freeze(self):
        for b in self.brokers:
            os.kill(b.pid, signal.SIGSTOP)
            self.frozen.append(b)

    def thaw(self):
        while self.frozen:
            b = self.frozen.pop()
            if b.proc is not None and b.proc.poll() is None:
                os.kill(b.pid, signal.SIGCONT)

    def __enter__(self):
        self.freeze()
        return self

    def __exit__(self, *exc):
        self.thaw()
