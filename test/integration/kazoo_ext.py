"""Requests of ZooKeeper 3.6+/3.8 that kazoo 2.8 (Debian 12) has no API for, sent through a
live KazooClient's own connection: getAllChildrenNumber, getEphemerals, whoAmI,
createContainer, createTTL.  Replies come back through kazoo's normal machinery, so a
non-zero error code raises the usual kazoo exception (BadArgumentsError, ...).
"""

from collections import namedtuple

from kazoo.protocol.serialization import (int_struct, long_struct, read_string,
                                          stat_struct, write_buffer, write_string)
from kazoo.protocol.states import ZnodeStat
from kazoo.security import OPEN_ACL_UNSAFE


def _acl_bytes(acls):
    b = bytearray(int_struct.pack(len(acls)))
    for a in acls:
        b.extend(int_struct.pack(a.perms) + write_string(a.id.scheme) + write_string(a.id.id))
    return b


class GetAllChildrenNumber(namedtuple("GetAllChildrenNumber", "path")):
    type = 104

    def serialize(self):
        return bytearray(write_string(self.path))

    @classmethod
    def deserialize(cls, buf, offset):
        return int_struct.unpack_from(buf, offset)[0]


class GetEphemerals(namedtuple("GetEphemerals", "prefix")):
    type = 103

    def serialize(self):
        return bytearray(write_string(self.prefix))

    @classmethod
    def deserialize(cls, buf, offset):
        n = int_struct.unpack_from(buf, offset)[0]
        offset += 4
        out = []
        for _ in range(max(n, 0)):
            s, offset = read_string(buf, offset)
            out.append(s)
        return out


class WhoAmI:
    # not an empty namedtuple: kazoo tests "if request" before delivering the reply
    type = 107

    def serialize(self):
        return bytearray()

    @classmethod
    def deserialize(cls, buf, offset):
        n = int_struct.unpack_from(buf, offset)[0]
        offset += 4
        out = []
        for _ in range(max(n, 0)):
            scheme, offset = read_string(buf, offset)
            user, offset = read_string(buf, offset)
            out.append((scheme, user))
        return out


class _Create2Like:
    @classmethod
    def deserialize(cls, buf, offset):
        path, offset = read_string(buf, offset)
        return path, ZnodeStat._make(stat_struct.unpack_from(buf, offset))


class CreateContainer(_Create2Like, namedtuple("CreateContainer", "path data acl flags")):
    type = 19

    def serialize(self):
        b = bytearray(write_string(self.path))
        b.extend(write_buffer(self.data))
        b.extend(_acl_bytes(self.acl))
        b.extend(int_struct.pack(self.flags))
        return b


class CreateTTL(_Create2Like, namedtuple("CreateTTL", "path data acl flags ttl")):
    type = 21

    def serialize(self):
        b = bytearray(write_string(self.path))
        b.extend(write_buffer(self.data))
        b.extend(_acl_bytes(self.acl))
        b.extend(int_struct.pack(self.flags))
        b.extend(long_struct.pack(self.ttl))
        return b


def call(zk, request, timeout=10.0):
    ar = zk.handler.async_result()
    zk._call(request, ar)
    return ar.get(timeout=timeout)


def all_children_number(zk, path):
    return call(zk, GetAllChildrenNumber(path))


def ephemerals(zk, prefix="/"):
    return call(zk, GetEphemerals(prefix))


def whoami(zk):
    return call(zk, WhoAmI())


def create_container(zk, path, data=b"", acl=None):
    return call(zk, CreateContainer(path, data, acl or OPEN_ACL_UNSAFE, 4))


def create_ttl(zk, path, data=b"", ttl=1000, sequential=False, acl=None):
    return call(zk, CreateTTL(path, data, acl or OPEN_ACL_UNSAFE, 6 if sequential else 5, ttl))
