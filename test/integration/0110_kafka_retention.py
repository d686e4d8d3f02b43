"""0110: segments and retention.  A small log.segment.bytes makes the log roll into several
segments: 20-digit files named by the base offset of their first batch, each with its
.index and .timeindex, no segment above the limit, offsets contiguous across them, and
every record readable in order.  retention.bytes deletes the oldest segments (what stays
is at most retention.bytes plus the active segment) and raises the log start offset: the
earliest offset of ListOffsets moves to the first remaining segment, a fetch below it
gets OFFSET_OUT_OF_RANGE, a consumer from the earliest offset reads the rest.  A short
retention.ms removes every segment once its records are old enough: the log starts at its
end offset, in a fresh segment named by it.  Both limits are checked as topic overrides
given at creation (retention.bytes, retention.ms) and as broker defaults
(log.retention.bytes, log.retention.ms) on clusters of their own.
"""

import os

import kafkaharness
from kafkaharness import NONE, OFFSET_OUT_OF_RANGE, KafkaWire, fetch_body, parse_fetch_v4
from zkharness import wait_until

SEGMENT = 4096

BASE = {
    "log.segment.bytes": SEGMENT,
    "log.retention.check.interval.ms": 300,
    "log.segment.delete.delay.ms": 200,
}
KAFKA_KW = dict(broker_extra=BASE)
KEEP = 3 * SEGMENT

# small producer batches, so that segments roll between batches
SMALL_BATCHES = {"linger.ms": 0, "batch.num.messages": 4}


def produce_n(kafka, topic, n, start=0):
    msgs = [(b"r%06d" % i, b"retention record %06d " % i + b"z" * 60) for i in range(start,
                                                                                    start + n)]
    res = kafka.produce(topic, msgs, partition=0, **SMALL_BATCHES)
    assert [r[2] for r in res] == list(range(start, start + n)) and all(r[0] is None
                                                                       for r in res)
    return msgs


def seg_files(b, topic):
    d = b.partition_dir(topic, 0)
    return d, sorted(os.listdir(d))


def test_small_segments_roll(kafka):
    kafka.create_topic("seg", partitions=1)
    msgs = produce_n(kafka, "seg", 400)
    b = kafka.brokers[0]
    d, names = seg_files(b, "seg")
    bases = b.segments("seg", 0)
    assert len(bases) >= 5, "only %d segments for ~40 KB with %d-byte segments" % (
        len(bases), SEGMENT)
    assert bases[0] == 0
    nxt = 0
    for base in bases:
        stem = "%020d" % base
        assert {stem + ".log", stem + ".index", stem + ".timeindex"} <= set(names), names
        path = os.path.join(d, stem + ".log")
        size = os.path.getsize(path)
        assert 0 < size <= SEGMENT or base == bases[-1], (stem, size)
        with open(path, "rb") as f:
            batches = kafkaharness.parse_batches(f.read())
        if base == bases[-1] and not batches:
            continue
        assert batches and batches[0]["base_offset"] == base, (stem, batches[:1])
        for bt in batches:
            assert bt["base_offset"] == nxt and bt["crc_ok"], (stem, bt, nxt)
            nxt = bt["base_offset"] + bt["last_offset_delta"] + 1
    assert nxt == 400
    got = kafka.consume("seg", 0, 0, 400)
    assert [(o, k, v) for o, k, v in got] == [(i,) + m for i, m in enumerate(msgs)]
    assert kafka.watermarks("seg", 0) == (0, 400)


def check_retention_bytes(kafka, topic):
    """600 records into a topic limited to KEEP bytes: old segments go, the log start
    moves to the first one left, below it is out of range, above it everything reads."""
    msgs = produce_n(kafka, topic, 600)
    b = kafka.brokers[0]

    def trimmed():
        d, names = seg_files(b, topic)
        total = sum(os.path.getsize(os.path.join(d, n)) for n in names if n.endswith(".log"))
        return total <= KEEP + SEGMENT and b.segments(topic, 0)[0] > 0

    wait_until(trimmed, 15, interval=0.2, what="%s trimmed to %d bytes" % (topic, KEEP))
    first = b.segments(topic, 0)[0]
    lo, hi = kafka.watermarks(topic, 0)
    assert hi == 600
    assert lo == first > 0, (lo, first)
    assert kafkaharness.list_offsets(b.host, topic, 0, -2) == (NONE, lo)
    assert kafkaharness.list_offsets(b.host, topic, 0, -1) == (NONE, 600)
    with KafkaWire(b.host) as w:
        ((_, _, err, hw, recs),) = parse_fetch_v4(w.call(1, 4, fetch_body(topic, 0, 0, 100)))
        assert err == OFFSET_OUT_OF_RANGE and recs == b"", (err, hw)
    got = kafka.consume(topic, 0, lo, 600 - lo)
    assert [(o, k, v) for o, k, v in got] == [(i,) + msgs[i] for i in range(lo, 600)]


def check_retention_ms(kafka, topic):
    """150 records into a topic whose records expire after 2 s: every segment goes, the
    log restarts empty at 150 and takes new records there."""
    produce_n(kafka, topic, 150)
    b = kafka.brokers[0]
    assert len(b.segments(topic, 0)) >= 2
    wait_until(lambda: kafka.watermarks(topic, 0) == (150, 150), 15, interval=0.3,
               what="every %s record expired (log start = end = 150)" % topic)
    wait_until(lambda: b.segments(topic, 0) == [150], 10, interval=0.2,
               what="%s left with one empty segment at 150" % topic)
    res = kafka.produce(topic, [(b"new", b"after expiry")], partition=0)
    assert res == [(None, 0, 150)]
    assert kafka.consume(topic, 0, 150, 1) == [(150, b"new", b"after expiry")]


def test_retention_bytes_topic_override(kafka):
    kafka.create_topic("ret-bytes", partitions=1, config={"retention.bytes": str(KEEP)})
    check_retention_bytes(kafka, "ret-bytes")


def test_retention_ms_topic_override(kafka):
    kafka.create_topic("ret-ms", partitions=1, config={"retention.ms": "2000"})
    check_retention_ms(kafka, "ret-ms")


def test_retention_bytes_broker_default(kafka_clusters):
    k = kafka_clusters.new(name="bytes", broker_extra=dict(BASE, **{
        "log.retention.bytes": KEEP}))
    k.create_topic("ret-bytes-default", partitions=1)
    check_retention_bytes(k, "ret-bytes-default")


def test_retention_ms_broker_default(kafka_clusters):
    k = kafka_clusters.new(name="ms", broker_extra=dict(BASE, **{"log.retention.ms": 2000}))
    k.create_topic("ret-ms-default", partitions=1)
    check_retention_ms(k, "ret-ms-default")
