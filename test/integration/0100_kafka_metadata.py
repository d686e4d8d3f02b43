"""0100: metadata of a three-broker cluster as clients see it.  kcat -L (text and JSON)
lists every broker with its advertised host:port and marks the controller named in
/controller; created topics appear with their partitions, leaders and replicas (the
assignment the controller wrote to ZooKeeper); confluent_kafka's AdminClient and
kafka-python's KafkaAdminClient see the same brokers, controller and cluster id; the
ApiVersions response advertises, for every API the broker serves, the version range of
Kafka 2.8 (the message specs), which covers the ranges of the captured Kafka broker
(kafka-broker-api-versions.txt).
"""

import re

import kafkaharness
from kafkaharness import NONE

KAFKA_KW = dict(n=3)

# APIs the clients of this suite need from any broker: produce/fetch/offsets/metadata,
# version negotiation and topic administration.
REQUIRED_APIS = {0, 1, 2, 3, 18, 19, 20, 37}


def cluster_id(kafka):
    return kafka.zk_json("/cluster/id")[0]["id"]


def test_kcat_text_lists_brokers_and_controller(kafka):
    ctl = kafka.controller_id()
    assert ctl in (1, 2, 3)
    for b in kafka.brokers:
        out = kafka.kcat("-L", bootstrap=b.hostport).stdout.splitlines()
        assert out[0] == "Metadata for all topics (from broker %d: %s/%d):" % (
            b.broker_id, b.hostport, b.broker_id), out[:3]
        assert out[1] == " 3 brokers:", out[:5]
        want = {"  broker %d at %s%s" % (x.broker_id, x.hostport,
                                          " (controller)" if x.broker_id == ctl else "")
                for x in kafka.brokers}
        assert set(out[2:5]) == want, out[:6]
        assert re.match(r"^ \d+ topics:$", out[5]), out[:7]


def test_kcat_lists_created_topics(kafka):
    leaders = kafka.create_topic("meta-three", partitions=3)
    # an explicit assignment: partition p only on the given broker
    assigned = [[3], [1], [2], [3]]
    leaders_a = kafka.create_topic("meta-assigned", assignment=assigned)
    assert leaders_a == {0: 3, 1: 1, 2: 2, 3: 3}
    assign_zk = kafka.zk_json("/brokers/topics/meta-three")[0]["partitions"]
    for b in kafka.brokers:
        md = kafka.kcat_metadata(b)
        topics = {t["topic"]: t for t in md["topics"]}
        for name, want_leaders in (("meta-three", leaders), ("meta-assigned", leaders_a)):
            t = topics[name]
            assert "error" not in t, t
            parts = {p["partition"]: p for p in t["partitions"]}
            assert sorted(parts) == list(range(len(want_leaders)))
            for p, v in parts.items():
                assert v["leader"] == want_leaders[p], (name, p, v)
                assert [r["id"] for r in v["replicas"]] == [want_leaders[p]], (name, p, v)
                assert [r["id"] for r in v["isrs"]] == [want_leaders[p]], (name, p, v)
        for p in range(3):
            assert assign_zk[str(p)] == [leaders[p]]
    # the text form of one topic
    ctl = kafka.controller_id()
    out = kafka.kcat("-L", "-t", "meta-assigned", bootstrap=kafka.brokers[0].hostport)
    lines = out.stdout.splitlines()
    b1 = kafka.brokers[0]
    assert lines[0] == "Metadata for meta-assigned (from broker 1: %s/1):" % b1.hostport
    assert lines[1] == " 3 brokers:"
    assert "  broker %d at %s (controller)" % (ctl, kafka.broker(ctl).hostport) in lines[2:5]
    assert lines[5:] == [' 1 topics:', '  topic "meta-assigned" with 4 partitions:',
                         "    partition 0, leader 3, replicas: 3, isrs: 3",
                         "    partition 1, leader 1, replicas: 1, isrs: 1",
                         "    partition 2, leader 2, replicas: 2, isrs: 2",
                         "    partition 3, leader 3, replicas: 3, isrs: 3"], lines


def test_confluent_admin_list_topics(kafka):
    kafka.create_topic("meta-admin", partitions=2)
    md = kafka.admin().list_topics(timeout=15)
    assert md.cluster_id == cluster_id(kafka)
    assert md.controller_id == kafka.controller_id()
    assert {i: (bm.host, bm.port) for i, bm in md.brokers.items()} == {
        b.broker_id: (b.host, b.port) for b in kafka.brokers}
    t = md.topics["meta-admin"]
    assert t.error is None
    assert sorted(t.partitions) == [0, 1]
    for p, pm in t.partitions.items():
        st = kafka.partition_state("meta-admin", p)
        assert pm.leader == st["leader"]
        assert pm.replicas == [st["leader"]]
        assert pm.isrs == st["isr"]
    # one topic asked for by name
    md1 = kafka.admin().list_topics(topic="meta-admin", timeout=15)
    assert set(md1.topics) == {"meta-admin"}


def test_kafka_python_describe_cluster(kafka):
    from kafka.admin import KafkaAdminClient
    kafka.create_topic("meta-kp", partitions=1)
    adm = KafkaAdminClient(bootstrap_servers=kafka.bootstrap, client_id="it-0100",
                           request_timeout_ms=15000)
    try:
        d = adm.describe_cluster()
        assert d["cluster_id"] == cluster_id(kafka)
        assert d["controller_id"] == kafka.controller_id()
        assert sorted((x["node_id"], x["host"], x["port"]) for x in d["brokers"]) == [
            (b.broker_id, b.host, b.port) for b in kafka.brokers]
        assert {"meta-kp", "meta-three"} <= set(adm.list_topics())
        (desc,) = adm.describe_topics(["meta-kp"])
        assert desc["topic"] == "meta-kp" and desc["error_code"] == NONE
        assert [p["partition"] for p in desc["partitions"]] == [0]
    finally:
        adm.close()


def test_api_versions_are_kafka_28_ranges(kafka):
    spec, zk_keys = kafkaharness.spec_ranges()
    ref = kafkaharness.ref_api_versions()
    b = kafka.brokers[0]
    err, keys = kafkaharness.api_versions(b.host, version=3)
    assert err == NONE
    missing = REQUIRED_APIS - set(keys)
    assert not missing, "APIs not advertised: %s" % sorted(missing)
    for k, rng in sorted(keys.items()):
        assert k in zk_keys, "API %d is not served by a ZooKeeper-mode Kafka 2.8 broker" % k
        assert rng == spec[k], "API %d: advertised %s, Kafka 2.8 has %s" % (k, rng, spec[k])
        if k in ref:
            # the captured broker is older: same minimum, maximum at least as high
            assert rng[0] == ref[k][0] and rng[1] >= ref[k][1], (k, rng, ref[k])
    # every ApiVersions version and every broker give the same list
    for v in (0, 1, 2):
        assert kafkaharness.api_versions(b.host, version=v) == (NONE, keys), v
    for other in kafka.brokers[1:]:
        assert kafkaharness.api_versions(other.host, version=3) == (NONE, keys)
