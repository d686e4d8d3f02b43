#!/usr/bin/env python3
"""test/fuzz/make_corpus.py -- writes the seed inputs of the libFuzzer
harnesses into test/fuzz/corpus/<harness>/ (or the directory given as the
first argument).

Every seed is a valid encoding built here from the jute rules (big-endian
int/long, int32-length strings and buffers with -1 for null, int32-count
vectors), in the input format the harness documents in its file comment.
The output is deterministic (fixed times, ids and order) and every file is
well under 4 KiB. Record indexes for fuzz_jute are read from
coordinator/zkd_records.def so they follow the schema table.
"""
import os
import re
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")


# ---------------------------------------------------------------- jute

def i8(v): return struct.pack(">b", v)
def u8(v): return struct.pack(">B", v)
def u16(v): return struct.pack(">H", v)
def i32(v): return struct.pack(">i", v)
def i64(v): return struct.pack(">q", v)
def boolean(v): return b"\x01" if v else b"\x00"


def ustr(s):
    if s is None:
        return i32(-1)
    if isinstance(s, str):
        s = s.encode()
    return i32(len(s)) + s


def vec(items, enc):
    if items is None:
        return i32(-1)
    return i32(len(items)) + b"".join(enc(x) for x in items)


def acl(perms, scheme, ident): return i32(perms) + ustr(scheme) + ustr(ident)


OPEN_ACL = [(31, "world", "anyone")]
def acls(lst): return vec(lst, lambda a: acl(*a))


# opcodes (zkd_proto.h)
CREATE, DELETE, EXISTS, GET_DATA, SET_DATA, GET_ACL, SET_ACL, GET_CHILDREN = 1, 2, 3, 4, 5, 6, 7, 8
SYNC, PING, GET_CHILDREN2, CHECK, MULTI, CREATE2 = 9, 11, 12, 13, 14, 15
CHECK_WATCHES, REMOVE_WATCHES, CREATE_CONTAINER, DELETE_CONTAINER, CREATE_TTL, MULTI_READ = 17, 18, 19, 20, 21, 22
AUTH, SET_WATCHES, GET_EPHEMERALS, GET_ALL_CHILDREN_NUMBER, SET_WATCHES2, ADD_WATCH, WHO_AM_I = \
    100, 101, 103, 104, 105, 106, 107
CREATE_SESSION, CLOSE_SESSION, ERROR = -10, -11, -1

# records
def connect_request(timeout=30000, sid=0, passwd=b"\0" * 16):
    return i32(0) + i64(0) + i32(timeout) + i64(sid) + ustr(passwd)
def create_request(path, data=b"", acl_list=OPEN_ACL, flags=0):
    return ustr(path) + ustr(data) + acls(acl_list) + i32(flags)
def create_ttl_request(path, data, ttl, flags=5):
    return create_request(path, data, OPEN_ACL, flags) + i64(ttl)
def path_watch(path, watch): return ustr(path) + boolean(watch)
def path_req(path): return ustr(path)
def path_version(path, version=-1): return ustr(path) + i32(version)
def set_data(path, data, version=-1): return ustr(path) + ustr(data) + i32(version)
def set_acl(path, acl_list, version=-1): return ustr(path) + acls(acl_list) + i32(version)
def path_type(path, t): return ustr(path) + i32(t)
def multi_header(t, done, err=-1): return i32(t) + boolean(done) + i32(err)
def auth_packet(scheme, auth): return i32(0) + ustr(scheme) + ustr(auth)
def set_watches2(rel, data, exist, child, pers, rec):
    return i64(rel) + b"".join(vec(x, ustr) for x in (data, exist, child, pers, rec))


def multi(ops):
    out = b""
    for t, body in ops:
        out += multi_header(t, False) + body
    return out + multi_header(-1, True)


def txn_header(cid, cxid, zxid, time, t): return i64(cid) + i32(cxid) + i64(zxid) + i64(time) + i32(t)
def create_txn(path, data, ephemeral, pcv, acl_list=OPEN_ACL):
    return ustr(path) + ustr(data) + acls(acl_list) + boolean(ephemeral) + i32(pcv)


def quorum_packet(t, zxid, data, ids):
    return i32(t) + i64(zxid) + ustr(data) + vec(ids, lambda x: ustr(x[0]) + ustr(x[1]))


def write(harness, name, data):
    assert len(data) < 4096, (harness, name, len(data))
    d = os.path.join(OUT, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def record_index():
    names = []
    with open(os.path.join(ROOT, "coordinator", "zkd_records.def")) as f:
        for line in f:
            m = re.match(r"\s*JREC\((\w+)\)", line)
            if m:
                names.append(m.group(1))
    return {n: i for i, n in enumerate(names)}


# ------------------------------------------------------------- fuzz_jute

def jute_seeds():
    idx = record_index()
    seeds = {
        "ConnectRequest": connect_request(),
        "CreateRequest": create_request("/app/node", b"hello", [(31, "world", "anyone"), (1, "ip", "127.0.0.1")], 2),
        "CreateTTLRequest": create_ttl_request("/ttl", b"x", 60000),
        "SetWatches2": set_watches2(5, ["/a"], ["/b", "/c"], [], ["/p"], None),
        "MultiHeader": multi_header(CREATE, False),
        "AuthPacket": auth_packet("digest", "user:secret"),
        "SetACLRequest": set_acl("/a", [(31, "digest", "user:abc=")], 2),
        "TxnHeader": txn_header(0x100000000000001, 7, 0x100000005, 1700000000000, CREATE),
        "MultiTxn": vec([(CREATE, create_txn("/m", b"", False, 1)), (ERROR, i32(-101))],
                        lambda t: i32(t[0]) + ustr(t[1])),
        "QuorumPacket": quorum_packet(2, 0x100000001, b"payload", [("ip", "10.0.0.1")]),
        "Stat": b"".join(i64(v) for v in (1, 2, 3, 4)) + i32(0) + i32(1) + i32(0) + i64(0) + i32(5) + i32(0) + i64(2),
        "GetACLResponse": acls(OPEN_ACL) + b"\0" * 68,
    }
    for name, body in seeds.items():
        write("fuzz_jute", name, u8(idx[name]) + body)


# -------------------------------------------------------------- fuzz_txn

SID = 0x0100000000000001
T0 = 1700000000000


def txn_stream():
    """A session's life: create session, nodes of each kind, data, ACL,
    a multi, deletes, close session. Returns a list of serialized txns."""
    z = [0x100000000]

    def tx(t, body, cid=SID):
        z[0] += 1
        return txn_header(cid, z[0] & 0xFFFF, z[0], T0 + z[0] - 0x100000000, t) + body

    ctn = ustr("/c") + ustr(b"") + acls(OPEN_ACL) + i32(3)
    ttl = ustr("/t") + ustr(b"") + acls(OPEN_ACL) + i32(4) + i64(60000)
    sub = [(CREATE, create_txn("/a/m", b"m", False, 2)), (SET_DATA, set_data("/a/m", b"n", 1)),
           (CHECK, path_version("/a", 0)), (DELETE, path_req("/a/m"))]
    return [
        tx(CREATE_SESSION, i32(30000)),
        tx(CREATE, create_txn("/a", b"data", False, 1)),
        tx(CREATE, create_txn("/a/e", b"", True, 1, [(31, "digest", "u:x=")])),
        tx(SET_DATA, set_data("/a", b"data2", 1)),
        tx(SET_ACL, set_acl("/a", [(1, "world", "anyone")], 1)),
        tx(CREATE_CONTAINER, ctn),
        tx(CREATE_TTL, ttl),
        tx(MULTI, vec(sub, lambda t: i32(t[0]) + ustr(t[1]))),
        tx(ERROR, i32(-110)),
        tx(DELETE, path_req("/c")),
        tx(CLOSE_SESSION, vec(["/a/e"], ustr)),
    ]


def txn_seeds():
    txns = txn_stream()
    write("fuzz_txn", "session_life", b"\x01" + b"".join(u16(len(t)) + t for t in txns))
    write("fuzz_txn", "create_only", b"\x00" + u16(len(txns[1])) + txns[1])
    failed_multi = txn_header(SID, 1, 0x100000001, T0, MULTI) + vec(
        [(CREATE, create_txn("/x", b"", False, 1)), (ERROR, i32(-101))], lambda t: i32(t[0]) + ustr(t[1]))
    write("fuzz_txn", "failed_multi", b"\x01" + u16(len(failed_multi)) + failed_multi)

    # Regressions. A node sharing /zookeeper/config's ACL index 1 after the
    # super user gave config another ACL lost its ACL across a snapshot.
    shared = txn_header(SID, 1, 0x100000001, T0, CREATE) + create_txn("/x", b"", False, 1, [(1, "world", "anyone")])
    cfg_acl = txn_header(SID, 2, 0x100000002, T0, SET_ACL) + set_acl("/zookeeper/config", OPEN_ACL, 0)
    write("fuzz_txn", "regress_acl_index_restore", b"\x01" + b"".join(u16(len(t)) + t for t in (shared, cfg_acl)))
    # cversion at INT32_MAX: the next child (a V0 create, no parentCVersion)
    # and the wire Stat (cversion * 2 - numChildren) wrap like Java ints.
    big = txn_header(SID, 1, 0x100000001, T0, CREATE) + create_txn("/p", b"", False, 0x7FFFFFFF)
    kid = txn_header(SID, 2, 0x100000002, T0, CREATE) + ustr("/k") + ustr(b"") + acls(OPEN_ACL) + boolean(False)
    write("fuzz_txn", "regress_cversion_wrap", b"\x01" + b"".join(u16(len(t)) + t for t in (big, kid)))


# ----------------------------------------------------------- fuzz_logsnap

def log_file(txns, pad=0):
    out = i32(0x5A4B4C47) + i32(2) + i64(0)
    for t in txns:
        out += i64(zlib.adler32(t)) + i32(len(t)) + t + b"B"
    return out + b"\0" * pad


def snapshot(sessions, acl_cache, nodes):
    out = i32(0x5A4B534E) + i32(2) + i64(-1)
    out += i32(len(sessions)) + b"".join(i64(s) + i32(t) for s, t in sessions)
    out += i32(len(acl_cache)) + b"".join(i64(i) + acls(lst) for i, lst in acl_cache)
    for path, data, acl_idx, stat in nodes:
        out += ustr(path) + ustr(data) + i64(acl_idx) + stat
    out += ustr("/")
    return out + i64(zlib.adler32(out)) + ustr("/")


def stat_persisted(czxid, mzxid, ctime, mtime, version, cversion, aversion, owner, pzxid):
    return i64(czxid) + i64(mzxid) + i64(ctime) + i64(mtime) + i32(version) + i32(cversion) + i32(aversion) \
        + i64(owner) + i64(pzxid)


def logsnap_seeds():
    txns = txn_stream()
    two = log_file(txns[:2], pad=40)
    write("fuzz_logsnap", "log_two_entries", b"\x00\x01" + two)
    write("fuzz_logsnap", "log_two_files", b"\x04\x02" + u16(len(two)) + two + log_file(txns[2:4]))
    write("fuzz_logsnap", "log_torn_tail", b"\x00\x81" + two[:-45] + b"\x07")
    chunks = b"".join(u8(ctl) + u16(len(t)) + t for ctl, t in zip((0, 2, 1, 0x12), txns[:4]))
    write("fuzz_logsnap", "log_write", b"\x01\x01" + chunks)
    st = stat_persisted(0, 0, 0, 0, 0, 2, 0, 0, 0x100000002)
    nodes = [
        ("", b"", -1, stat_persisted(0, 0, 0, 0, 0, 1, 0, 0, 0x100000002)),
        ("/zookeeper", b"", -1, st),
        ("/zookeeper/quota", b"", -1, stat_persisted(0, 0, 0, 0, 0, 0, 0, 0, 0)),
        ("/zookeeper/config", b"", 1, stat_persisted(0, 0, 0, 0, 0, 0, -1, 0, 0)),
        ("/a", b"data", 2, stat_persisted(0x100000002, 0x100000002, T0, T0, 0, 0, 0, 0, 0x100000002)),
    ]
    # As ZooKeeper writes it: index 1 is /zookeeper/config's world:anyone READ.
    snap = snapshot([(SID, 30000)], [(1, [(1, "world", "anyone")]), (2, OPEN_ACL)], nodes)
    write("fuzz_logsnap", "snapshot_tiny", b"\x02\x01" + snap)
    restore_log = log_file(txns[2:5])
    write("fuzz_logsnap", "restore", b"\x03\x02" + u16(len(snap)) + snap + restore_log)
    # The same with the checksums left for the harness to fill in (options
    # 0x08: log entry checksums, 0x10: snapshot seal).
    unsealed = snap[:-13]
    write("fuzz_logsnap", "snapshot_fix", b"\x12\x01" + unsealed)
    write("fuzz_logsnap", "log_fix", b"\x08\x01" + log_file(txns, pad=20))
    write("fuzz_logsnap", "restore_fix", b"\x1b\x02" + u16(len(unsealed)) + unsealed + restore_log)
    # A root with an ephemeral owner is corrupt (it would be in no owner set).
    eph_root = [("", b"", -1, stat_persisted(0, 0, 0, 0, 0, 1, 0, SID, 0))] + nodes[1:]
    write("fuzz_logsnap", "regress_root_ephemeral",
          b"\x12\x01" + snapshot([(SID, 30000)], [(1, [(1, "world", "anyone")]), (2, OPEN_ACL)], eph_root)[:-13])
    # A snapshot named 0x7fffffffffffffff: replay must not step past INT64_MAX.
    write("fuzz_logsnap", "restore_max_zxid", b"\x1b\x03" + u16(len(unsealed)) + unsealed + restore_log)


# ----------------------------------------------------------- fuzz_request

def request_seeds():
    def reqs(ops):
        return b"".join(u8(OPS.index(t)) + u16(len(body)) + body for t, body in ops)

    write("fuzz_request", "create_read", b"\x02" + reqs([
        (CREATE, create_request("/a", b"hello")),
        (GET_DATA, path_watch("/a", True)),
        (SET_DATA, set_data("/a", b"world")),
        (GET_CHILDREN2, path_watch("/", True)),
        (EXISTS, path_watch("/b", True)),
        (CREATE2, create_request("/a/e", b"", OPEN_ACL, 3)),
        (GET_ALL_CHILDREN_NUMBER, path_req("/")),
        (GET_EPHEMERALS, path_req("/")),
        (DELETE, path_version("/a/e0000000000")),
        (PING, b""),
    ]))
    write("fuzz_request", "multi", b"\x02" + reqs([
        (MULTI, multi([(CREATE, create_request("/m", b"1")), (SET_DATA, set_data("/m", b"2", 0)),
                       (CHECK, path_version("/m", 1)), (CREATE, create_request("/m/k"))])),
        (MULTI_READ, multi([(GET_DATA, path_watch("/m", False)), (GET_CHILDREN, path_watch("/m", False))])),
        (MULTI, multi([(DELETE, path_version("/m/k")), (DELETE, path_version("/nope"))])),
        (GET_CHILDREN, path_watch("/m", False)),
    ]))
    write("fuzz_request", "acl_auth", b"\x03" + reqs([
        (AUTH, auth_packet("digest", "user:secret")),
        (CREATE, create_request("/s", b"x", [(31, "auth", "")])),
        (GET_ACL, path_req("/s")),
        (SET_ACL, set_acl("/s", [(1, "world", "anyone"), (31, "ip", "127.0.0.1/8")], 0)),
        (WHO_AM_I, b""),
        (AUTH, auth_packet("digest", "super:secret")),
        (DELETE, path_version("/s")),
    ]))
    write("fuzz_request", "watches", b"\x02" + reqs([
        (ADD_WATCH, path_type("/w", 1)),
        (CREATE, create_request("/w")),
        (CREATE_CONTAINER, create_request("/w/c", b"", OPEN_ACL, 4)),
        (CREATE_TTL, create_ttl_request("/w/t", b"", 5000)),
        (SET_WATCHES2, set_watches2(0, ["/w"], ["/x"], ["/w"], ["/p"], ["/"])),
        (SET_WATCHES, i64(0) + vec(["/w"], ustr) + vec([], ustr) + vec(["/"], ustr)),
        (CHECK_WATCHES, path_type("/w", 3)),
        (REMOVE_WATCHES, path_type("/w", 3)),
        (DELETE_CONTAINER, b"/w/c"),  # raw path, as the container manager sends it
        (SYNC, path_req("/w")),
        (CLOSE_SESSION, b""),
    ]))
    # Two clients (mode 3): bit 7 of the op byte picks client B; op indexes
    # past the opcode table are connection steps (take over the other's
    # session, new session, wrong password, close).
    A, B = 0, 0x80
    take_over, new_session, bad_password, close = (len(OPS) + k for k in range(4))

    def reqs2(ops):
        return b"".join(u8(who | (OPS.index(t) if t is not None else step)) + u16(len(body)) + body
                        for who, t, step, body in ops)

    write("fuzz_request", "two_clients_watches", b"\x03" + reqs2([
        (A, CREATE, 0, create_request("/w", b"1")),
        (B, EXISTS, 0, path_watch("/w/x", True)),
        (B, GET_CHILDREN, 0, path_watch("/w", True)),
        (A, CREATE, 0, create_request("/w/x")),
        (B, GET_DATA, 0, path_watch("/w", True)),
        (A, SET_DATA, 0, set_data("/w", b"2")),
        (B, ADD_WATCH, 0, path_type("/", 1)),
        (A, DELETE, 0, path_version("/w/x")),
        (A, CREATE, 0, create_request("/e", b"", OPEN_ACL, 1)),
        (B, None, take_over, b""),
        (B, GET_EPHEMERALS, 0, path_req("/")),
        (A, EXISTS, 0, path_watch("/e", False)),
        (B, CLOSE_SESSION, 0, b""),
        (A, EXISTS, 0, path_watch("/e", False)),
    ]))
    write("fuzz_request", "two_clients_sessions", b"\x03" + reqs2([
        (A, AUTH, 0, auth_packet("digest", "u:p")),
        (A, CREATE, 0, create_request("/d", b"", [(31, "auth", "")])),
        (B, GET_DATA, 0, path_watch("/d", True)),
        (B, None, bad_password, b"\x05"),
        (B, None, new_session, b""),
        (B, AUTH, 0, auth_packet("digest", "u:p")),
        (B, SET_DATA, 0, set_data("/d", b"mine")),
        (A, None, close, b""),
        (B, SET_WATCHES2, 0, set_watches2(0, ["/d"], [], ["/"], [], [])),
        (A, GET_DATA, 0, path_watch("/d", True)),
        (A, MULTI, 0, multi([(CREATE, create_request("/d/m", b"", OPEN_ACL, 1)), (DELETE, path_version("/d", 1))])),
    ]))
    frame = lambda b: i32(len(b)) + b
    write("fuzz_request", "raw_handshake", b"\x00" + frame(connect_request()) + frame(i32(-2) + i32(PING)))
    write("fuzz_request", "raw_stream", b"\x01" + frame(i32(1) + i32(CREATE) + create_request("/r", b"raw")) +
          frame(i32(2) + i32(GET_DATA) + path_watch("/r", True)) + frame(i32(3) + i32(DELETE) + path_version("/r")))
    for word in ("ruok", "stat", "mntr", "dump", "cons", "wchc"):
        write("fuzz_request", "flw_" + word, b"\x00" + word.encode())


def request_ops():
    """fz_ops of fuzz_request.c (the opcode a mode-2 request's first byte
    indexes), resolved through the ZKD_OP_* values of zkd_proto.h."""
    with open(os.path.join(ROOT, "coordinator", "zkd_proto.h")) as f:
        names = {m.group(1): int(m.group(2)) for m in re.finditer(r"(ZKD_OP_\w+)\s*=\s*(-?\d+)", f.read())}
    with open(os.path.join(HERE, "fuzz_request.c")) as f:
        body = re.search(r"fz_ops\[\]\s*=\s*\{(.*?)\};", f.read(), re.S).group(1)
    return [names[t] if t in names else int(t) for t in re.findall(r"ZKD_OP_\w+|-?\d+", body)]


OPS = request_ops()


def main():
    jute_seeds()
    txn_seeds()
    logsnap_seeds()
    request_seeds()


if __name__ == "__main__":
    main()
