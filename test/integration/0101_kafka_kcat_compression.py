"""0101: produce and consume with kcat for every compression codec (none, gzip, snappy,
lz4, zstd).  N keyed messages go in through `kcat -P -K:`; `kcat -C -J` gives back the
same N, in order, with their keys, at offsets 0..N-1.  On disk the segment holds
RecordBatch v2 batches with valid CRCs, contiguous offsets and the producer's codec
(compression.type=producer keeps what the producer sent).  A partition that receives
batches of every codec in turn is read back as one ordered stream.
"""

import pytest

import kafkaharness
from kafkaharness import CODECS

N = 300


def lines_for(tag, n, start=0):
    """[(key, value)] with keys and values that kcat can carry in '-K:' lines."""
    return [("k%05d" % i, "%s-%05d-%s" % (tag, i, "x" * (i % 97))) for i in range(start, start + n)]


def kcat_produce(kafka, topic, msgs, codec, partition=0):
    text = "".join("%s:%s\n" % kv for kv in msgs)
    kafka.kcat("-P", "-t", topic, "-p", partition, "-K", ":",
               "-X", "compression.codec=%s" % codec, "-X", "linger.ms=20", input=text)


def segment_batches(kafka, topic, partition=0):
    b = kafka.broker(kafka.leader(topic, partition))
    with open(b.partition_dir(topic, partition) + "/%020d.log" % 0, "rb") as f:
        return kafkaharness.parse_batches(f.read())


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_kcat_roundtrip(kafka, codec):
    topic = "kcat-%s" % codec
    kafka.create_topic(topic, partitions=1)
    msgs = lines_for(codec, N)
    kcat_produce(kafka, topic, msgs, codec)
    # ask for one more than was produced: -e stops at the end of the partition
    got = kafka.kcat_consume(topic, 0, N + 1)
    assert len(got) == N, "consumed %d of %d" % (len(got), N)
    assert [m["offset"] for m in got] == list(range(N))
    assert [(m["key"], m["payload"]) for m in got] == msgs
    assert all(m["partition"] == 0 for m in got)
    batches = segment_batches(kafka, topic)
    assert batches, "no batch in the segment"
    assert all(bt["magic"] == 2 and bt["crc_ok"] for bt in batches), batches[:3]
    assert {bt["codec"] for bt in batches} == {CODECS[codec]}, batches[:3]
    nxt = 0
    for bt in batches:
        assert bt["base_offset"] == nxt, (bt, nxt)
        nxt = bt["base_offset"] + bt["last_offset_delta"] + 1
    assert nxt == N
    assert sum(bt["count"] for bt in batches) == N


def test_all_codecs_in_one_partition(kafka):
    topic = "kcat-mixed"
    kafka.create_topic(topic, partitions=1)
    want = []
    for i, codec in enumerate(CODECS):
        msgs = lines_for("mixed-" + codec, 60, start=i * 60)
        kcat_produce(kafka, topic, msgs, codec)
        want += msgs
    got = kafka.kcat_consume(topic, 0, len(want) + 1)
    assert [m["offset"] for m in got] == list(range(len(want)))
    assert [(m["key"], m["payload"]) for m in got] == want
    assert {bt["codec"] for bt in segment_batches(kafka, topic)} == set(CODECS.values())
    # a consumer starting in the middle of a compressed batch gets exactly from there
    mid = kafka.kcat_consume(topic, 0, 5, offset=131)
    assert [(m["offset"], m["key"]) for m in mid] == [(o, "k%05d" % o) for o in range(131, 136)]
