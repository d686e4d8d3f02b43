"""0104: automatic topic creation.  With auto.create.topics.enable=true (and
num.partitions=3), producing to an unknown topic creates it with num.partitions
partitions (in Metadata and in ZooKeeper, with its /config/topics node) and the records
are delivered; a Metadata v4 request with allow_auto_topic_creation=false does not create
anything.  With auto.create.topics.enable=false the same produce fails with an unknown
topic error, Metadata and Produce answer UNKNOWN_TOPIC_OR_PARTITION and the topic never
appears in ZooKeeper.
"""

import kafkaharness
from confluent_kafka import KafkaError
from kafkaharness import LEADER_NOT_AVAILABLE, NONE, UNKNOWN_TOPIC_OR_PARTITION, KafkaWire
from zkharness import wait_until

KAFKA_KW = dict(broker_extra={"num.partitions": 3})


def test_produce_to_unknown_topic_creates_it(kafka):
    assert kafka.zk().exists("/brokers/topics/auto-a") is None
    msgs = [(b"k%d" % i, b"auto %d" % i) for i in range(30)]
    res = kafka.produce("auto-a", msgs)
    errs = [r for r in res if r[0] is not None]
    assert not errs, errs[:3]
    leaders = kafka.wait_topic("auto-a", 3)
    assert set(leaders) == {0, 1, 2}
    assign = kafka.zk_json("/brokers/topics/auto-a")[0]["partitions"]
    assert assign == {"0": [1], "1": [1], "2": [1]}
    assert kafka.zk_json("/config/topics/auto-a")[0] == {"version": 1, "config": {}}
    got = []
    for p in range(3):
        n = sum(1 for r in res if r[1] == p)
        got += [(k, v) for _, k, v in kafka.consume("auto-a", p, 0, n)]
    assert sorted(got) == sorted(msgs)


def test_kcat_produce_to_unknown_topic(kafka):
    kafka.kcat("-P", "-t", "auto-kcat", "-K", ":", input="a:1\nb:2\nc:3\n")
    kafka.wait_topic("auto-kcat", 3)
    total = 0
    for p in range(3):
        total += len(kafka.kcat_consume("auto-kcat", p, 10))
    assert total == 3


def test_metadata_without_auto_create_flag_creates_nothing(kafka):
    b = kafka.brokers[0]
    md = kafkaharness.metadata(b.host, topics=["auto-no"], version=4, auto_create=False)
    assert md["topics"]["auto-no"]["error"] == UNKNOWN_TOPIC_OR_PARTITION
    assert kafka.zk().exists("/brokers/topics/auto-no") is None
    # the same request allowing creation creates it (answered before the leaders exist)
    md = kafkaharness.metadata(b.host, topics=["auto-yes"], version=4, auto_create=True)
    assert md["topics"]["auto-yes"]["error"] in (NONE, LEADER_NOT_AVAILABLE)
    wait_until(lambda: kafka.zk().exists("/brokers/topics/auto-yes"), 10,
               what="/brokers/topics/auto-yes")
    kafka.wait_topic("auto-yes", 3)
    assert kafka.zk().exists("/brokers/topics/auto-no") is None


def test_auto_create_disabled(kafka_clusters):
    k = kafka_clusters.new(name="noauto", broker_extra={"auto.create.topics.enable": "false",
                                                        "num.partitions": 3})
    b = k.brokers[0]
    md = kafkaharness.metadata(b.host, topics=["noauto"], version=4, auto_create=True)
    assert md["topics"]["noauto"]["error"] == UNKNOWN_TOPIC_OR_PARTITION
    # older Metadata versions always ask for creation: still refused
    md = kafkaharness.metadata(b.host, topics=["noauto"], version=1)
    assert md["topics"]["noauto"]["error"] == UNKNOWN_TOPIC_OR_PARTITION
    with KafkaWire(b.host) as w:
        rd = w.call(0, 3, kafkaharness.produce_body(
            "noauto", 0, kafkaharness.record_batch([(b"k", b"v")])))
        assert kafkaharness.parse_produce_v3(rd) == [("noauto", 0, UNKNOWN_TOPIC_OR_PARTITION,
                                                      -1)]
    res = k.produce("noauto", [(b"k", b"v")], timeout=30, **{
        "topic.metadata.propagation.max.ms": 1000, "message.timeout.ms": 10000})
    err = res[0][0]
    assert err is not None, "produce to an unknown topic succeeded with auto-create off"
    assert err.code() in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC), err
    assert k.zk().exists("/brokers/topics/noauto") is None
    assert "noauto" not in k.metadata()["topics"]
    # explicit creation still works
    k.create_topic("noauto-explicit", partitions=2)
    assert k.produce("noauto-explicit", [(b"k", b"v")], partition=1) == [(None, 1, 0)]
