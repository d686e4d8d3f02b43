"""0102: confluent-kafka (librdkafka 2.0) against one broker.  Delivery reports carry
contiguous offsets for acks=1 and acks=all (replication factor 1); acks=0 stores the
records without any response; a consumer with assign() and explicit offsets reads exactly
from the offset it asked for and sees the end of the partition.  A message just under
message.max.bytes goes through and comes back byte for byte; one above it is refused with
MESSAGE_TOO_LARGE in its delivery report and the log does not move.
"""

import hashlib
import os
import time

from confluent_kafka import KafkaError, TopicPartition

from zkharness import wait_until

MAX = 600000  # the broker's message.max.bytes (a record batch may be this large)

KAFKA_KW = dict(broker_extra={"message.max.bytes": MAX})


def test_delivery_reports_acks_1_and_all(kafka):
    kafka.create_topic("cf-acks", partitions=1)
    start = 0
    sent = []
    for acks in ("1", "all"):
        msgs = [(b"key-%d" % i, ("acks=%s value %d " % (acks, i)).encode() + b"v" * (i % 300))
                for i in range(250)]
        res = kafka.produce("cf-acks", msgs, partition=0, acks=acks)
        errs = [(i, r[0]) for i, r in enumerate(res) if r[0] is not None]
        assert not errs, "acks=%s: %d failed deliveries, e.g. %s" % (acks, len(errs), errs[:3])
        assert [r[1] for r in res] == [0] * len(msgs)
        assert [r[2] for r in res] == list(range(start, start + len(msgs))), acks
        start += len(msgs)
        sent += msgs
    got = kafka.consume("cf-acks", 0, 0, len(sent))
    assert [o for o, _, _ in got] == list(range(len(sent)))
    assert [(k, v) for _, k, v in got] == sent
    # explicit offsets: the middle, the last record
    got = kafka.consume("cf-acks", 0, 321, 10)
    assert [(o, k, v) for o, k, v in got] == [(o,) + sent[o] for o in range(321, 331)]
    got = kafka.consume("cf-acks", 0, len(sent) - 1, 1)
    assert got == [(len(sent) - 1,) + sent[-1]]
    assert kafka.watermarks("cf-acks", 0) == (0, len(sent))


def test_acks_0_stores_without_response(kafka):
    kafka.create_topic("cf-acks0", partitions=1)
    msgs = [(b"a0-%d" % i, b"fire and forget %d" % i) for i in range(40)]
    res = kafka.produce("cf-acks0", msgs, partition=0, acks="0")
    assert all(r[0] is None for r in res), res[:3]
    # nothing acknowledges them: wait for them to show up
    wait_until(lambda: kafka.watermarks("cf-acks0", 0) == (0, 40), 15, interval=0.2,
               what="40 records stored with acks=0")
    assert [(k, v) for _, k, v in kafka.consume("cf-acks0", 0, 0, 40)] == msgs
    # the connection is still usable for acknowledged produces afterwards
    res = kafka.produce("cf-acks0", [(b"after", b"acked")], partition=0, acks="1")
    assert res == [(None, 0, 40)]


def test_assign_at_end_reports_eof(kafka):
    kafka.create_topic("cf-eof", partitions=1)
    kafka.produce("cf-eof", [(None, b"only")], partition=0)
    c = kafka.consumer()
    try:
        c.assign([TopicPartition("cf-eof", 0, 1)])
        deadline = time.monotonic() + 20
        eof = None
        while time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is None:
                continue
            assert m.error() is not None, "unexpected record at offset %d" % m.offset()
            assert m.error().code() == KafkaError._PARTITION_EOF, m.error()
            eof = m
            break
        assert eof is not None, "no end-of-partition event"
        assert eof.offset() == 1
    finally:
        kafka.release(c)


def test_message_near_max_bytes(kafka):
    kafka.create_topic("cf-big", partitions=1)
    value = os.urandom(MAX - 200)
    res = kafka.produce("cf-big", [(b"big", value)], partition=0,
                        **{"message.max.bytes": 2 * MAX, "linger.ms": 0})
    assert res == [(None, 0, 0)], res
    got = kafka.consume("cf-big", 0, 0, 1)
    assert len(got) == 1 and got[0][:2] == (0, b"big")
    assert hashlib.sha256(got[0][2]).hexdigest() == hashlib.sha256(value).hexdigest()


def test_message_above_max_bytes_is_refused(kafka):
    kafka.create_topic("cf-toobig", partitions=1)
    res = kafka.produce("cf-toobig", [(b"small", b"fits")], partition=0)
    assert res == [(None, 0, 0)]
    res = kafka.produce("cf-toobig", [(b"huge", os.urandom(MAX + 100))], partition=0,
                        **{"message.max.bytes": 2 * MAX, "message.send.max.retries": 0})
    err = res[0][0]
    assert err is not None, "a %d-byte record above message.max.bytes=%d was accepted" % (
        MAX + 100, MAX)
    assert err.code() == KafkaError.MSG_SIZE_TOO_LARGE, err
    # nothing was appended; the partition still takes normal records
    assert kafka.watermarks("cf-toobig", 0) == (0, 1)
    res = kafka.produce("cf-toobig", [(b"small2", b"fits too")], partition=0)
    assert res == [(None, 0, 1)]
