"""0113: leader epochs on one broker.  Records produced to a new topic's partition belong to
leader epoch 0: the partition directory gets a leader-epoch-checkpoint in Kafka's format
("0", the entry count, "<epoch> <startOffset>" lines), and OffsetsForLeaderEpoch (key 23)
answers every version 0-4 on the raw wire: the latest epoch ends at the log end offset, an
epoch above every known one and the undefined epoch -1 give (-1, -1), v0 carries no epoch.
Per partition errors: an unknown topic is UNKNOWN_TOPIC_OR_PARTITION, a current leader
epoch newer than the broker's is UNKNOWN_LEADER_EPOCH (v2+).  ApiVersions advertises the
API with versions 0-4.  After a restart the checkpoint is read back: epoch 0 still ends at
offset 3.
"""

import os

import kafkaharness
from kafkaharness import (NONE, UNKNOWN_TOPIC_OR_PARTITION, KafkaWire, cstr, i32, karray,
                          kstr, produce_records, uvarint)
from zkharness import wait_until

UNKNOWN_LEADER_EPOCH = 75
OFFSET_FOR_LEADER_EPOCH = 23


def request_body(version, parts, replica_id=-1):
    """OffsetForLeaderEpoch request of `version` for [(topic, partition, current_leader_epoch,
    leader_epoch)], grouped by topic in the order given."""
    topics = []
    for t, p, cur, ep in parts:
        if not topics or topics[-1][0] != t:
            topics.append((t, []))
        topics[-1][1].append((p, cur, ep))

    def part(x):
        p, cur, ep = x
        b = i32(p) + (i32(cur) if version >= 2 else b"") + i32(ep)
        return b + (uvarint(0) if version >= 4 else b"")

    if version >= 4:
        body = i32(replica_id) + uvarint(len(topics) + 1)
        for t, ps in topics:
            body += cstr(t) + uvarint(len(ps) + 1) + b"".join(part(x) for x in ps) + uvarint(0)
        return body + uvarint(0)
    body = i32(replica_id) if version >= 3 else b""
    return body + karray(topics, lambda tp: kstr(tp[0]) + karray(tp[1], part))


def parse_response(rd, version):
    """{(topic, partition): (error, leader_epoch or None for v0, end_offset)}."""
    if version >= 2:
        assert rd.i32() == 0  # throttle_time_ms
    flex = version >= 4
    out = {}
    for _ in range(rd.uvarint() - 1 if flex else rd.i32()):
        t = rd._take(rd.uvarint() - 1).decode() if flex else rd.string()
        for _ in range(rd.uvarint() - 1 if flex else rd.i32()):
            err, p = rd.i16(), rd.i32()
            ep = rd.i32() if version >= 1 else None
            end = rd.i64()
            if flex:
                rd.tags()
            out[(t, p)] = (err, ep, end)
        if flex:
            rd.tags()
    if flex:
        rd.tags()
    assert rd.left() == 0
    return out


def epochs(host, version, parts, replica_id=-1):
    with KafkaWire(host) as w:
        rd = w.call(OFFSET_FOR_LEADER_EPOCH, version, request_body(version, parts, replica_id),
                    flexible=version >= 4)
        return parse_response(rd, version)


def checkpoint_text(b, topic):
    with open(os.path.join(b.partition_dir(topic, 0), "leader-epoch-checkpoint")) as f:
        return f.read()


def test_api_versions_advertise_23(kafka):
    b = kafka.brokers[0]
    err, keys = kafkaharness.api_versions(b.host)
    assert err == NONE and keys.get(OFFSET_FOR_LEADER_EPOCH) == (0, 4), keys


def test_end_offsets_every_version(kafka):
    kafka.create_topic("ep", partitions=1)
    b = kafka.brokers[0]
    assert produce_records(b.host, "ep", 0, [(None, b"a"), (None, b"b"), (None, b"c")]) == (NONE, 0)
    assert checkpoint_text(b, "ep") == "0\n1\n0 0\n"
    for v in range(5):
        ep = (lambda e: e) if v >= 1 else (lambda e: None)  # v0 has no leader_epoch
        got = epochs(b.host, v, [("ep", 0, -1, 0), ("nope", 0, -1, 0)])
        assert got == {("ep", 0): (NONE, ep(0), 3),
                       ("nope", 0): (UNKNOWN_TOPIC_OR_PARTITION, ep(-1), -1)}, (v, got)
        for req in (7, -1):
            one = epochs(b.host, v, [("ep", 0, -1, req)])
            assert one == {("ep", 0): (NONE, ep(-1), -1)}, (v, req, one)


def test_current_leader_epoch_fencing(kafka):
    kafka.create_topic("ep-fence", partitions=1)
    b = kafka.brokers[0]
    assert produce_records(b.host, "ep-fence", 0, [(None, b"x")]) == (NONE, 0)
    for v in (2, 3, 4):
        got = epochs(b.host, v, [("ep-fence", 0, 5, 0)], replica_id=-1)
        assert got == {("ep-fence", 0): (UNKNOWN_LEADER_EPOCH, -1, -1)}, (v, got)
        got = epochs(b.host, v, [("ep-fence", 0, 0, 0)], replica_id=1)
        assert got == {("ep-fence", 0): (NONE, 0, 1)}, (v, got)
    # v0/v1 have no current leader epoch: nothing to fence
    assert epochs(b.host, 1, [("ep-fence", 0, 5, 0)]) == {("ep-fence", 0): (NONE, 0, 1)}


def test_checkpoint_survives_restart(kafka):
    kafka.create_topic("ep-restart", partitions=1)
    b = kafka.brokers[0]
    assert produce_records(b.host, "ep-restart", 0, [(None, b"r%d" % i) for i in range(3)]) == (
        NONE, 0)
    b.restart()
    kafka.wait_cluster()
    text = checkpoint_text(b, "ep-restart")
    assert text.startswith("0\n") and "\n0 0\n" in text, text

    def answered():
        got = epochs(b.host, 3, [("ep-restart", 0, -1, 0)])
        return got if got[("ep-restart", 0)][0] == NONE else None

    got = wait_until(answered, 30, interval=0.2, what="OffsetsForLeaderEpoch after restart")
    assert got == {("ep-restart", 0): (NONE, 0, 3)}, got
