"""0103: kafka-python 2.0.2 against one broker.  KafkaProducer with every compression type
it supports (none, gzip, snappy, lz4, zstd) gets contiguous offsets back; KafkaConsumer
without a group, with assign() and seek(), reads exactly from the sought offset;
KafkaAdminClient creates topics (visible in Metadata and in ZooKeeper), deletes them (gone
from Metadata, ZooKeeper and the log dir afterwards) and adds partitions to a topic (the
new partitions get leaders and take records).
"""

import os
import time

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewPartitions, NewTopic

from zkharness import wait_until

N = 200


@pytest.fixture
def admin(kafka):
    adm = KafkaAdminClient(bootstrap_servers=kafka.bootstrap, client_id="it-0103",
                           request_timeout_ms=30000)
    yield adm
    adm.close()


def producer(kafka, **kw):
    kw.setdefault("linger_ms", 5)
    return KafkaProducer(bootstrap_servers=kafka.bootstrap, client_id="it-0103",
                         request_timeout_ms=30000, **kw)


def consumer(kafka):
    return KafkaConsumer(bootstrap_servers=kafka.bootstrap, group_id=None,
                         enable_auto_commit=False, auto_offset_reset="none",
                         client_id="it-0103", request_timeout_ms=30000,
                         consumer_timeout_ms=1000)


def read(c, tp, count, timeout=30.0):
    """Up to count ConsumerRecords of tp, polled with a deadline."""
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < count and time.monotonic() < deadline:
        for recs in c.poll(timeout_ms=500).values():
            out += recs
    return out


@pytest.mark.parametrize("compression", [None, "gzip", "snappy", "lz4", "zstd"])
def test_producer_compression_and_consumer_seek(kafka, compression):
    topic = "kp-%s" % (compression or "none")
    kafka.create_topic(topic, partitions=1)
    p = producer(kafka, compression_type=compression, acks=1)
    try:
        msgs = [(b"kp%d" % i, os.urandom(8).hex().encode() * (1 + i % 20)) for i in range(N)]
        futs = [p.send(topic, key=k, value=v, partition=0) for k, v in msgs]
        p.flush(30)
        offsets = [f.get(timeout=30).offset for f in futs]
    finally:
        p.close(10)
    assert offsets == list(range(N))
    c = consumer(kafka)
    try:
        tp = TopicPartition(topic, 0)
        c.assign([tp])
        c.seek(tp, 0)
        recs = read(c, tp, N)
        assert [r.offset for r in recs] == list(range(N))
        assert [(r.key, r.value) for r in recs] == msgs
        c.seek(tp, 137)
        recs = read(c, tp, 5)
        assert [(r.offset, r.key) for r in recs[:5]] == [(o, msgs[o][0]) for o in range(137, 142)]
        assert c.end_offsets([tp]) == {tp: N}
        assert c.beginning_offsets([tp]) == {tp: 0}
    finally:
        c.close()


def test_admin_create_and_delete_topics(kafka, admin):
    admin.create_topics([NewTopic("kp-adm-a", 3, 1), NewTopic("kp-adm-b", 1, 1,
                                                              topic_configs={
                                                                  "retention.ms": "3600000"})],
                        timeout_ms=30000)
    kafka.wait_topic("kp-adm-a", 3)
    kafka.wait_topic("kp-adm-b", 1)
    assert {"kp-adm-a", "kp-adm-b"} <= set(admin.list_topics())
    cfg = kafka.zk_json("/config/topics/kp-adm-b")[0]
    assert cfg == {"version": 1, "config": {"retention.ms": "3600000"}}
    b = kafka.brokers[0]
    assert all(os.path.isdir(b.partition_dir("kp-adm-a", p)) for p in range(3))
    admin.delete_topics(["kp-adm-a"], timeout_ms=30000)
    kafka.wait_topic_gone("kp-adm-a")
    assert "kp-adm-a" not in admin.list_topics()
    assert "kp-adm-b" in admin.list_topics()
    wait_until(lambda: kafka.zk().exists("/brokers/topics/kp-adm-a") is None, 30,
               what="/brokers/topics/kp-adm-a removed")
    wait_until(lambda: not [n for n in os.listdir(b.log_dir) if n.startswith("kp-adm-a-")],
               30, interval=0.2, what="the log dirs of kp-adm-a removed")


def test_admin_create_partitions(kafka, admin):
    admin.create_topics([NewTopic("kp-grow", 1, 1)], timeout_ms=30000)
    kafka.wait_topic("kp-grow", 1)
    resp = admin.create_partitions({"kp-grow": NewPartitions(total_count=4)}, timeout_ms=30000)
    errs = [(t, e) for t, e, *_ in resp.topic_errors if e != 0]
    assert not errs, errs
    leaders = kafka.wait_topic("kp-grow", 4)
    assert set(leaders) == {0, 1, 2, 3}
    assert sorted(kafka.zk_json("/brokers/topics/kp-grow")[0]["partitions"]) == ["0", "1", "2",
                                                                                "3"]
    p = producer(kafka, acks=1)
    try:
        md = [p.send("kp-grow", value=b"to %d" % part, partition=part).get(timeout=30)
              for part in range(4)]
    finally:
        p.close(10)
    assert [(m.partition, m.offset) for m in md] == [(0, 0), (1, 0), (2, 0), (3, 0)]
    for part in range(4):
        assert [v for _, _, v in kafka.consume("kp-grow", part, 0, 1)] == [b"to %d" % part]
