"""0004: ACLs and authentication. digest auth and ACLs, the `auth` scheme, NoAuth for other
clients, world read-only nodes, setACL with versions, ip ACLs (raw sessions bound to
chosen loopback source addresses), AuthFailed for unknown schemes, whoAmI (op 107), digest
hash redaction in getACL, and a super user configured through superDigest.
"""

import base64
import hashlib

import pytest
from kazoo.exceptions import (AuthFailedError, BadVersionError, InvalidACLError,
                              NoAuthError)
from kazoo.protocol.states import KazooState
from kazoo.security import (ACL, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, Id, make_acl,
                            make_digest_acl)

import jute as J
import kazoo_ext
from zkharness import wait_until


def digest(user, pw):
    return "%s:%s" % (user, base64.b64encode(hashlib.sha1(("%s:%s" % (user, pw)).encode())
                                             .digest()).decode())


SUPER = digest("super", "s3cret")
SERVER_KW = dict(extra={"DigestAuthenticationProvider.superDigest": SUPER})


def acl_tuples(acls):
    return [(a.perms, a.id.scheme, a.id.id) for a in acls]


def test_digest_acl_and_noauth(zk, zk2):
    zk.add_auth("digest", "alice:secret")
    zk.create("/a1", b"private", acl=[make_digest_acl("alice", "secret", all=True)])
    acls, st = zk.get_acls("/a1")
    assert acl_tuples(acls) == [(31, "digest", digest("alice", "secret"))]
    assert zk.get("/a1")[0] == b"private"
    with pytest.raises(NoAuthError):
        zk2.get("/a1")
    with pytest.raises(NoAuthError):
        zk2.set("/a1", b"x")
    with pytest.raises(NoAuthError):
        zk2.get_children("/a1")
    with pytest.raises(NoAuthError):
        zk2.get_acls("/a1")
    with pytest.raises(NoAuthError):
        zk2.create("/a1/child")
    # exists checks no ACL
    assert zk2.exists("/a1").dataLength == 7
    # the right credentials added later on the other session work
    zk2.add_auth("digest", "alice:secret")
    assert zk2.get("/a1")[0] == b"private"
    zk.delete("/a1")


def test_wrong_password_digest_is_just_another_id(zk, server):
    zk.add_auth("digest", "carol:right")
    zk.create("/a2", b"c", acl=[make_digest_acl("carol", "right", all=True)])
    k = server.kazoo()
    k.add_auth("digest", "carol:wrong")  # accepted: it is simply a different identity
    with pytest.raises(NoAuthError):
        k.get("/a2")
    assert k.state == KazooState.CONNECTED
    k.stop()
    k.close()
    zk.delete("/a2")


def test_auth_scheme_expands_to_all_ids(zk, zk2):
    zk.add_auth("digest", "alice:secret")
    zk.add_auth("digest", "bob:pw")
    zk.create("/a3", b"", acl=[ACL(31, Id("auth", ""))])
    acls, _ = zk.get_acls("/a3")
    assert acl_tuples(acls) == [(31, "digest", digest("alice", "secret")),
                                (31, "digest", digest("bob", "pw"))]
    # a session without any (non-ip) auth cannot use the auth scheme
    with pytest.raises(InvalidACLError):
        zk2.create("/a3b", b"", acl=[ACL(31, Id("auth", ""))])
    zk.delete("/a3")


@pytest.mark.parametrize("acl", [[ACL(31, Id("ip", "not-an-ip"))], [ACL(31, Id("foo", "bar"))],
                                 [ACL(31, Id("digest", "nocolon"))],
                                 [ACL(31, Id("world", "someone"))]])
def test_invalid_acls(zk, acl):
    with pytest.raises(InvalidACLError):
        zk.create("/a4", b"", acl=acl)
    assert zk.exists("/a4") is None


def test_empty_acl_list_is_invalid(server):
    s = server.raw()
    try:
        err, _, _ = s.create("/a4e", b"", acls=[])
        assert err == J.INVALIDACL
    finally:
        s.close()


def test_world_read_only(zk, zk2):
    zk.create("/a5", b"ro", acl=READ_ACL_UNSAFE)
    assert zk2.get("/a5")[0] == b"ro"
    assert zk2.get_children("/a5") == []
    for c in (zk, zk2):  # the creator has no special rights
        with pytest.raises(NoAuthError):
            c.set("/a5", b"x")
        with pytest.raises(NoAuthError):
            c.create("/a5/child")
        with pytest.raises(NoAuthError):
            c.set_acls("/a5", OPEN_ACL_UNSAFE)
    # delete needs DELETE on the parent (/ is open), not on the node itself
    zk2.delete("/a5")


def test_create_and_delete_need_parent_perms(zk, zk2):
    zk.create("/a6", b"", acl=[make_acl("world", "anyone", read=True, write=True,
                                         admin=True, delete=True)])
    with pytest.raises(NoAuthError):
        zk2.create("/a6/x")
    zk.set_acls("/a6", [make_acl("world", "anyone", read=True, create=True, admin=True)])
    zk2.create("/a6/x")
    with pytest.raises(NoAuthError):
        zk2.delete("/a6/x")
    zk.set_acls("/a6", OPEN_ACL_UNSAFE)
    zk2.delete("/a6/x")
    zk.delete("/a6")


def test_set_acl_version(zk):
    zk.create("/a7", b"")
    st = zk.set_acls("/a7", OPEN_ACL_UNSAFE, version=0)
    assert st.aversion == 1 and st.version == 0 and st.mzxid == st.czxid
    with pytest.raises(BadVersionError):
        zk.set_acls("/a7", READ_ACL_UNSAFE, version=0)
    st = zk.set_acls("/a7", READ_ACL_UNSAFE, version=1)
    assert st.aversion == 2
    # READ only now: setACL needs ADMIN, and the ACL check comes before the version check
    with pytest.raises(NoAuthError):
        zk.set_acls("/a7", OPEN_ACL_UNSAFE, version=2)
    with pytest.raises(NoAuthError):
        zk.set_acls("/a7", OPEN_ACL_UNSAFE, version=7)
    zk.delete("/a7")


def test_digest_hash_redacted_without_admin(zk, zk2):
    zk.add_auth("digest", "alice:secret")
    zk.create("/a8", b"", acl=[make_digest_acl("alice", "secret", read=True),
                               make_acl("world", "anyone", read=True)])
    # getACL needs READ or ADMIN; without ADMIN the digest hash reads "x"
    for c in (zk, zk2):
        assert acl_tuples(c.get_acls("/a8")[0]) == [(1, "digest", "alice:x"),
                                                    (1, "world", "anyone")]
    zk.create("/a9", b"", acl=[make_digest_acl("alice", "secret", admin=True),
                               make_acl("world", "anyone", read=True)])
    assert acl_tuples(zk.get_acls("/a9")[0]) == [(16, "digest", digest("alice", "secret")),
                                                 (1, "world", "anyone")]
    assert acl_tuples(zk2.get_acls("/a9")[0]) == [(16, "digest", "alice:x"),
                                                  (1, "world", "anyone")]
    zk.delete("/a8")
    zk.delete("/a9")


def test_ip_acl(server, zk):
    mine = server.host  # 127.X.Y.1
    other = mine.rsplit(".", 1)[0] + ".2"
    net = mine.rsplit(".", 1)[0] + ".0/24"
    zk.create("/a10", b"mine", acl=[make_acl("ip", mine, read=True)])
    zk.create("/a11", b"net", acl=[make_acl("ip", net, read=True)])
    a = J.RawSession(server.host, server.port, source=mine)
    b = J.RawSession(server.host, server.port, source=other)
    try:
        assert a.get_data("/a10")[:2] == (0, b"mine")
        assert b.get_data("/a10")[0] == J.NOAUTH
        assert a.get_data("/a11")[:2] == (0, b"net")
        assert b.get_data("/a11")[:2] == (0, b"net")
        rep = b.call(J.OP_WHOAMI)
        assert rep.r.vector(lambda r: (r.ustring(), r.ustring())) == [("ip", other)]
    finally:
        a.close()
        b.close()
    # kazoo connects from 127.0.0.1 (no source binding): not in 127.X.Y.0/24
    with pytest.raises(NoAuthError):
        zk.get("/a11")
    zk.delete("/a10")
    zk.delete("/a11")


def test_auth_failed_unknown_scheme(server):
    k = server.kazoo()
    states = []
    k.add_listener(states.append)
    with pytest.raises(AuthFailedError):
        k.add_auth("nosuchscheme", "whatever")
    # AUTH_FAILED ends the session (kazoo reports LOST). client_state itself
    # moves on as soon as kazoo notices the server closing the connection,
    # so the transition is what is checked, not the final state.
    wait_until(lambda: KazooState.LOST in states, 10, what="kazoo session LOST after AUTH_FAILED")
    k.stop()
    k.close()
    # raw: reply header err -115 (xid -4), then the server closes the connection
    for scheme in ("nosuchscheme", "world"):
        s = server.raw()
        rep = s.call(J.OP_AUTH, J.auth_packet(scheme, b"x"), xid=J.XID_AUTH)
        assert (rep.xid, rep.err) == (J.XID_AUTH, J.AUTHFAILED)
        assert J.wait_closed(s.sock, 5)
        s.drop()


def test_auth_ip_scheme_accepted(server):
    s = server.raw()
    try:
        assert s.add_auth("ip", b"10.1.2.3") == 0  # accepted, but adds nothing new
        assert s.ping().err == 0
    finally:
        s.close()


def test_whoami(zk, zk2):
    assert kazoo_ext.whoami(zk2) == [("ip", "127.0.0.1")]
    zk.add_auth("digest", "alice:secret")
    zk.add_auth("digest", "bob:pw")
    zk.add_auth("digest", "alice:secret")  # duplicate ids are kept once
    assert kazoo_ext.whoami(zk) == [("digest", "alice"), ("digest", "bob"), ("ip", "127.0.0.1")]


def test_super_digest(server, zk, zk2):
    zk.add_auth("digest", "dave:pw")
    zk.create("/a12", b"secret", acl=[make_digest_acl("dave", "pw", all=True)])
    zk.create("/a13", b"", acl=[make_digest_acl("dave", "pw", read=True)])
    with pytest.raises(NoAuthError):
        zk2.get("/a12")
    zk2.add_auth("digest", "super:s3cret")
    assert zk2.get("/a12")[0] == b"secret"
    assert acl_tuples(zk2.get_acls("/a13")[0]) == [(1, "digest", digest("dave", "pw"))]
    zk2.set("/a12", b"changed by super")
    zk2.create("/a12/child", b"")
    zk2.set_acls("/a13", OPEN_ACL_UNSAFE)
    assert kazoo_ext.whoami(zk2) == [("digest", "super"), ("super", ""), ("ip", "127.0.0.1")]
    zk2.delete("/a12", recursive=True)
    zk2.delete("/a13")
    # a wrong super password is just an ordinary digest id
    k = server.kazoo()
    k.add_auth("digest", "super:wrong")
    zk.create("/a14", b"", acl=[make_digest_acl("dave", "pw", all=True)])
    with pytest.raises(NoAuthError):
        k.get("/a14")
    k.stop()
    k.close()
    zk.delete("/a14")
