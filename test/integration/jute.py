"""Minimal jute encoding and a raw ZooKeeper client session for the integration tests.

Only what the tests need: primitives, the handshake records, request/reply headers, the
request records of the opcodes we drive by hand, Stat/ACL/WatcherEvent decoding, and
RawSession, a synchronous client on one TCP connection that answers nothing by itself
(no pings, no reconnects): the test decides when it pings, when it stops, and when the
socket goes away.  Layouts follow zookeeper.jute 3.8 (../shared/spec/zookeeper).
"""

import socket
import struct
import time

# ---------------------------------------------------------------- opcodes, errors, events
OP_NOTIFICATION = 0
OP_CREATE = 1
OP_DELETE = 2
OP_EXISTS = 3
OP_GETDATA = 4
OP_SETDATA = 5
OP_GETACL = 6
OP_SETACL = 7
OP_GETCHILDREN = 8
OP_SYNC = 9
OP_PING = 11
OP_GETCHILDREN2 = 12
OP_CHECK = 13
OP_MULTI = 14
OP_CREATE2 = 15
OP_RECONFIG = 16
OP_CHECKWATCHES = 17
OP_REMOVEWATCHES = 18
OP_CREATECONTAINER = 19
OP_DELETECONTAINER = 20
OP_CREATETTL = 21
OP_MULTIREAD = 22
OP_AUTH = 100
OP_SETWATCHES = 101
OP_SASL = 102
OP_GETEPHEMERALS = 103
OP_GETALLCHILDRENNUMBER = 104
OP_SETWATCHES2 = 105
OP_ADDWATCH = 106
OP_WHOAMI = 107
OP_CLOSESESSION = -11

XID_NOTIFICATION = -1
XID_PING = -2
XID_AUTH = -4
XID_SETWATCHES = -8

OK = 0
SYSTEMERROR = -1
RUNTIMEINCONSISTENCY = -2
MARSHALLINGERROR = -5
UNIMPLEMENTED = -6
BADARGUMENTS = -8
NONODE = -101
NOAUTH = -102
BADVERSION = -103
NOCHILDRENFOREPHEMERALS = -108
NODEEXISTS = -110
NOTEMPTY = -111
SESSIONEXPIRED = -112
INVALIDACL = -114
AUTHFAILED = -115
NOWATCHER = -121

EV_NONE = -1
EV_CREATED = 1
EV_DELETED = 2
EV_DATACHANGED = 3
EV_CHILDCHANGED = 4
EV_DATAWATCHREMOVED = 5
EV_CHILDWATCHREMOVED = 6
EV_PERSISTENTWATCHREMOVED = 7
STATE_SYNCCONNECTED = 3

# CreateMode flags
PERSISTENT = 0
EPHEMERAL = 1
PERSISTENT_SEQUENTIAL = 2
EPHEMERAL_SEQUENTIAL = 3
CONTAINER = 4
PERSISTENT_WITH_TTL = 5
PERSISTENT_SEQUENTIAL_WITH_TTL = 6

# addWatch modes, watcher types of checkWatches/removeWatches
ADDWATCH_PERSISTENT = 0
ADDWATCH_PERSISTENT_RECURSIVE = 1
WATCHER_CHILDREN = 1
WATCHER_DATA = 2
WATCHER_ANY = 3

PERM_READ, PERM_WRITE, PERM_CREATE, PERM_DELETE, PERM_ADMIN = 1, 2, 4, 8, 16
PERM_ALL = 31
OPEN_ACL_UNSAFE = [(PERM_ALL, "world", "anyone")]


# ---------------------------------------------------------------- primitive encoders
def i32(v):
    return struct.pack(">i", v)


def i64(v):
    return struct.pack(">q", v)


def boolean(v):
    return b"\x01" if v else b"\x00"


def ustring(s):
    if s is None:
        return i32(-1)
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return i32(len(b)) + b


def buffer(b):
    if b is None:
        return i32(-1)
    return i32(len(b)) + bytes(b)


def vector(items, enc):
    if items is None:
        return i32(-1)
    items = list(items)
    return i32(len(items)) + b"".join(enc(x) for x in items)


def acl(a):
    perms, scheme, ident = a
    return i32(perms) + ustring(scheme) + ustring(ident)


def frame(payload):
    return i32(len(payload)) + payload


# ---------------------------------------------------------------- decoder
class Reader:
    """Bounded big-endian cursor over one frame; raises ValueError when short."""

    def __init__(self, data, pos=0):
        self.data = bytes(data)
        self.pos = pos

    def _take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError("short read: need %d at %d of %d" % (n, self.pos, len(self.data)))
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def i32(self):
        return struct.unpack(">i", self._take(4))[0]

    def i64(self):
        return struct.unpack(">q", self._take(8))[0]

    def boolean(self):
        return self._take(1) != b"\x00"

    def buffer(self):
        n = self.i32()
        return None if n == -1 else self._take(n)

    def ustring(self):
        b = self.buffer()
        return None if b is None else b.decode("utf-8")

    def vector(self, dec):
        n = self.i32()
        if n == -1:
            return None
        return [dec(self) for _ in range(n)]

    def remaining(self):
        return len(self.data) - self.pos

    def stat(self):
        return Stat(self)

    def acl(self):
        return (self.i32(), self.ustring(), self.ustring())


STAT_FIELDS = ("czxid", "mzxid", "ctime", "mtime", "version", "cversion", "aversion",
               "ephemeralOwner", "dataLength", "numChildren", "pzxid")


class Stat:
    def __init__(self, r):
        self.czxid = r.i64()
        self.mzxid = r.i64()
        self.ctime = r.i64()
        self.mtime = r.i64()
        self.version = r.i32()
        self.cversion = r.i32()
        self.aversion = r.i32()
        self.ephemeralOwner = r.i64()
        self.dataLength = r.i32()
        self.numChildren = r.i32()
        self.pzxid = r.i64()

    def as_dict(self):
        return {k: getattr(self, k) for k in STAT_FIELDS}

    def __repr__(self):
        return "Stat(%s)" % ", ".join("%s=%r" % (k, getattr(self, k)) for k in STAT_FIELDS)


# ---------------------------------------------------------------- records
def connect_request(timeout_ms, session_id=0, passwd=b"\0" * 16, last_zxid=0,
                    read_only=False, protocol_version=0, with_readonly_byte=True):
    body = (i32(protocol_version) + i64(last_zxid) + i32(timeout_ms) + i64(session_id)
            + buffer(passwd))
    if with_readonly_byte:
        body += boolean(read_only)
    return body


def parse_connect_response(payload):
    r = Reader(payload)
    res = {
        "protocolVersion": r.i32(),
        "timeOut": r.i32(),
        "sessionId": r.i64(),
        "passwd": r.buffer(),
    }
    res["readOnly"] = r.boolean() if r.remaining() >= 1 else None
    return res


def request_header(xid, op):
    return i32(xid) + i32(op)


def parse_reply_header(payload):
    r = Reader(payload)
    return r.i32(), r.i64(), r.i32(), r


def create_request(path, data=b"", acls=OPEN_ACL_UNSAFE, flags=0):
    return ustring(path) + buffer(data) + vector(acls, acl) + i32(flags)


def create_ttl_request(path, data, acls, flags, ttl):
    return create_request(path, data, acls, flags) + i64(ttl)


def path_watch(path, watch=False):  # GetData/Exists/GetChildren(2) requests
    return ustring(path) + boolean(watch)


def set_data_request(path, data, version=-1):
    return ustring(path) + buffer(data) + i32(version)


def delete_request(path, version=-1):
    return ustring(path) + i32(version)


def set_watches(rel_zxid, data=(), exist=(), child=()):
    return i64(rel_zxid) + vector(data, ustring) + vector(exist, ustring) + vector(child, ustring)


def set_watches2(rel_zxid, data=(), exist=(), child=(), persistent=(), recursive=()):
    return set_watches(rel_zxid, data, exist, child) + vector(persistent, ustring) + \
        vector(recursive, ustring)


def auth_packet(scheme, auth):
    return i32(0) + ustring(scheme) + buffer(auth)


def parse_watcher_event(r):
    return (r.i32(), r.i32(), r.ustring())


# ---------------------------------------------------------------- raw session
class Closed(Exception):
    """The server closed the connection (EOF or reset)."""


class Reply:
    def __init__(self, xid, zxid, err, reader):
        self.xid, self.zxid, self.err, self.r = xid, zxid, err, reader

    def __repr__(self):
        return "Reply(xid=%d, zxid=%#x, err=%d, %d body bytes)" % (
            self.xid, self.zxid, self.err, self.r.remaining())


def connect_socket(host, port, source=None, timeout=10.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if source:
        s.bind((source, 0))
    s.connect((host, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exact(sock, n, deadline):
    out = bytearray()
    while len(out) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out reading %d bytes" % n)
        sock.settimeout(left)
        try:
            chunk = sock.recv(n - len(out))
        except ConnectionResetError:
            raise Closed("reset")
        if not chunk:
            raise Closed("eof after %d of %d bytes" % (len(out), n))
        out += chunk
    return bytes(out)


def recv_frame(sock, timeout=10.0):
    deadline = time.monotonic() + timeout
    n = struct.unpack(">i", recv_exact(sock, 4, deadline))[0]
    if n < 0 or n > 64 << 20:
        raise ValueError("bad frame length %d" % n)
    return recv_exact(sock, n, deadline)


def wait_closed(sock, timeout=10.0):
    """True if the peer closes the connection (EOF/RST) within timeout; data is drained."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
        if not chunk:
            return True


class RawSession:
    """One ZooKeeper session on one raw TCP connection.

    Replies are matched by order; notifications (xid -1) that arrive meanwhile are kept in
    self.events as (type, state, path) and also appended to self.trace as ("event", ...)
    interleaved with ("reply", xid) so ordering can be asserted.
    """

    def __init__(self, host, port, timeout_ms=30000, session_id=0, passwd=b"\0" * 16,
                 last_zxid=0, source=None, sock_timeout=10.0):
        self.host, self.port = host, port
        self.sock = connect_socket(host, port, source=source, timeout=sock_timeout)
        self.sock_timeout = sock_timeout
        self.xid = 0
        self.events = []
        self.trace = []
        self.last_zxid = last_zxid
        self.sock.sendall(frame(connect_request(timeout_ms, session_id, passwd, last_zxid)))
        self.connect_response = parse_connect_response(recv_frame(self.sock, sock_timeout))
        self.session_id = self.connect_response["sessionId"]
        self.passwd = self.connect_response["passwd"]
        self.timeout = self.connect_response["timeOut"]

    # -- low level
    def send(self, xid, op, body=b""):
        self.sock.sendall(frame(request_header(xid, op) + body))

    def read_one(self, timeout=None):
        payload = recv_frame(self.sock, self.sock_timeout if timeout is None else timeout)
        xid, zxid, err, r = parse_reply_header(payload)
        if xid == XID_NOTIFICATION:
            ev = parse_watcher_event(r)
            self.events.append(ev)
            self.trace.append(("event",) + ev)
            return None
        if zxid > 0:
            self.last_zxid = max(self.last_zxid, zxid)
        self.trace.append(("reply", xid))
        return Reply(xid, zxid, err, r)

    def wait_reply(self, xid, timeout=None):
        deadline = time.monotonic() + (self.sock_timeout if timeout is None else timeout)
        while True:
            rep = self.read_one(max(0.01, deadline - time.monotonic()))
            if rep is None:
                continue
            if rep.xid != xid:
                raise AssertionError("reply xid %d, expected %d (%r)" % (rep.xid, xid, rep))
            return rep

    def call(self, op, body=b"", xid=None):
        if xid is None:
            self.xid += 1
            xid = self.xid
        self.send(xid, op, body)
        return self.wait_reply(xid)

    def wait_event(self, timeout=10.0, pred=None):
        """Return (and remove) the first queued/arriving event matching pred."""
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if pred is None or pred(ev):
                    return self.events.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no matching watch event within %.1fs (have %r)"
                                     % (timeout, self.events))
            try:
                rep = self.read_one(left)
            except socket.timeout:
                continue
            if rep is not None:
                raise AssertionError("unexpected reply %r while waiting for an event" % rep)

    # -- operations
    def ping(self):
        return self.call(OP_PING, xid=XID_PING)

    def create(self, path, data=b"", flags=PERSISTENT, acls=OPEN_ACL_UNSAFE, op=OP_CREATE):
        rep = self.call(op, create_request(path, data, acls, flags))
        if rep.err:
            return rep.err, None, None
        p = rep.r.ustring()
        st = rep.r.stat() if op != OP_CREATE else None
        return 0, p, st

    def create_ttl(self, path, data, ttl, flags=PERSISTENT_WITH_TTL, acls=OPEN_ACL_UNSAFE):
        rep = self.call(OP_CREATETTL, create_ttl_request(path, data, acls, flags, ttl))
        if rep.err:
            return rep.err, None, None
        return 0, rep.r.ustring(), rep.r.stat()

    def get_data(self, path, watch=False):
        rep = self.call(OP_GETDATA, path_watch(path, watch))
        if rep.err:
            return rep.err, None, None
        return 0, rep.r.buffer(), rep.r.stat()

    def exists(self, path, watch=False):
        rep = self.call(OP_EXISTS, path_watch(path, watch))
        if rep.err:
            return rep.err, None
        return 0, rep.r.stat()

    def get_children(self, path, watch=False):
        rep = self.call(OP_GETCHILDREN, path_watch(path, watch))
        if rep.err:
            return rep.err, None
        return 0, rep.r.vector(Reader.ustring)

    def set_data(self, path, data, version=-1):
        rep = self.call(OP_SETDATA, set_data_request(path, data, version))
        if rep.err:
            return rep.err, None
        return 0, rep.r.stat()

    def delete(self, path, version=-1):
        return self.call(OP_DELETE, delete_request(path, version)).err

    def add_watch(self, path, mode):
        return self.call(OP_ADDWATCH, ustring(path) + i32(mode)).err

    def add_auth(self, scheme, auth):
        return self.call(OP_AUTH, auth_packet(scheme, auth), xid=XID_AUTH).err

    def close_session(self):
        rep = self.call(OP_CLOSESESSION)
        return rep

    def drop(self):
        """Close the TCP connection without closing the session."""
        try:
            self.sock.close()
        except OSError:
            pass

    def close(self):
        try:
            self.close_session()
        except Exception:
            pass
        self.drop()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
