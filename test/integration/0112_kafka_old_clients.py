"""0112: clients of older protocol versions.  kafka-python pinned to the API versions of
Kafka 0.9, 0.10.0 and 0.10.1 produces message sets of magic 0 and 1 (Produce v0-v2), plain
and compressed with gzip, snappy and lz4 (0.9's lz4 framing has the old, wrong header
checksum); the broker stores them as RecordBatch v2 (format 2.8), keeping the codec, and
gives them back: to the same old clients down-converted (Fetch v0-v3: magic 0 or 1, with
the offsets and, from 0.10 on, the timestamps they were stored with), and to a current
client as v2 batches.  Keys and values come back exactly, offsets are contiguous.
"""

import os
import time

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

import kafkaharness

N = 30
CODEC = {None: 0, "gzip": 1, "snappy": 2, "lz4": 3}


def read_all(c, tp, count, timeout=30.0):
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < count and time.monotonic() < deadline:
        for recs in c.poll(timeout_ms=500).values():
            out += recs
    return out


@pytest.mark.parametrize("api", [(0, 9), (0, 10, 0), (0, 10, 1)], ids=lambda a: ".".join(map(str, a)))
@pytest.mark.parametrize("compression", [None, "gzip", "snappy", "lz4"])
def test_old_producer_and_consumer(kafka, api, compression):
    topic = "old-%s-%s" % ("-".join(map(str, api)), compression or "none")
    leaders = kafka.create_topic(topic, partitions=1)
    p = KafkaProducer(bootstrap_servers=kafka.bootstrap, api_version=api, acks=1,
                      compression_type=compression, linger_ms=20, request_timeout_ms=30000)
    msgs = [(b"k%d" % i, os.urandom(6).hex().encode() * (1 + i % 7)) for i in range(N)]
    try:
        futs = [p.send(topic, key=k, value=v, partition=0) for k, v in msgs]
        p.flush(30)
        offsets = [f.get(timeout=30).offset for f in futs]
    finally:
        p.close(10)
    assert offsets == list(range(N))

    # Stored as v2 batches with the producer's codec.
    b = kafka.broker(leaders[0])
    seg = os.path.join(b.partition_dir(topic, 0), "%020d.log" % 0)
    batches = kafkaharness.parse_batches(open(seg, "rb").read())
    assert batches and all(x["magic"] == 2 and x["crc_ok"] for x in batches), batches
    assert {x["codec"] for x in batches} == {CODEC[compression]}
    assert sum(x["count"] for x in batches) == N

    # The old client reads its own format back; a current one reads v2.
    for cons_api in (api, None):
        kw = {"api_version": cons_api} if cons_api else {}
        c = KafkaConsumer(bootstrap_servers=kafka.bootstrap, group_id=None,
                          enable_auto_commit=False, request_timeout_ms=30000,
                          consumer_timeout_ms=1000, **kw)
        try:
            tp = TopicPartition(topic, 0)
            c.assign([tp])
            c.seek(tp, 0)
            got = read_all(c, tp, N)
        finally:
            c.close()
        assert [(r.offset, r.key, r.value) for r in got] == [
            (i, k, v) for i, (k, v) in enumerate(msgs)], cons_api
        # Magic 0 has no timestamps: converted records keep "none" (-1), as in Kafka.
        want_ts = api >= (0, 10) and cons_api != (0, 9)
        assert all(((r.timestamp or -1) > 0) == want_ts for r in got), (cons_api, got[0].timestamp)
