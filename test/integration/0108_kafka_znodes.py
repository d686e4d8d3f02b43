"""0108: what the broker writes to ZooKeeper, compared with a Kafka cluster's captures
(/work/shared/ref/kafka/zk-00-fresh-cluster.txt, zk-01-after-create.txt; JSON compared as
data, key order free).  After start: the persistent paths of a fresh cluster, the
ephemeral /brokers/ids/<id> registration (fields of the capture: endpoints, host, port,
jmx_port, string timestamp, listener map; version 4, or 5 with "features"), /cluster/id,
the ephemeral /controller and /controller_epoch.  After creating a topic:
/brokers/topics/<T> (assignment keyed by partition strings), partitions/<p>/state (leader,
ISR, epochs) and /config/topics/<T> (the overrides given at creation, or none).  A second
broker with the same broker.id fails to start with a message naming the registration and
a non-zero exit status, leaving the first one registered and serving.  Deleting a topic
removes its znodes and its log dirs.  With a chroot in zookeeper.connect everything lives
under the chroot.  Brokers on a three-node coordinator ensemble: every node holds the
registrations, the controller and the topic.
"""

import json
import os
import re
import time

import kafkaharness
from zkharness import wait_until

T0_MS = int(time.time() * 1000)
UUID_RE = re.compile(r"^[A-Za-z0-9_-]{22}$")

# Kafka's container znodes of a fresh cluster (the capture), except the producer id block
# (claimed by the transaction machinery) and ZooKeeper's own nodes.
SKIP = ("/zookeeper", "/latest_producer_id_block")


def ref_json(name, path):
    return json.loads(kafkaharness.ref_znodes(name)[path][1])


def fresh_paths():
    out = []
    for path, (kind, data) in kafkaharness.ref_znodes("zk-00-fresh-cluster.txt").items():
        if path == "/" or path.startswith(SKIP) or kind != "persistent":
            continue
        out.append(path)
    return out


def is_ms_string(v):
    return isinstance(v, str) and v.isdigit() and T0_MS - 600000 <= int(v) <= time.time() * 1000


def test_fresh_cluster_paths(kafka):
    zk = kafka.zk()
    missing = [p for p in fresh_paths() if zk.exists(p) is None]
    assert not missing, "missing znodes: %s" % missing
    for p in fresh_paths():
        assert zk.exists(p).ephemeralOwner == 0, p


def test_broker_registration(kafka):
    b = kafka.brokers[0]
    d, st = kafka.zk_json("/brokers/ids/1")
    assert st.ephemeralOwner != 0, "/brokers/ids/1 is not ephemeral"
    ref = ref_json("zk-01-after-create.txt", "/brokers/ids/1")
    want_keys = set(ref) | ({"features"} if d.get("version") == 5 else set())
    assert set(d) == want_keys, d
    assert d["version"] in (4, 5), d
    if d["version"] == 5:
        assert isinstance(d["features"], dict), d
    assert d["listener_security_protocol_map"] == {"PLAINTEXT": "PLAINTEXT"}
    assert d["endpoints"] == ["PLAINTEXT://%s" % b.hostport]
    assert (d["host"], d["port"], d["jmx_port"]) == (b.host, b.port, -1)
    assert is_ms_string(d["timestamp"]), d["timestamp"]


def test_cluster_id_and_controller(kafka):
    cid, st = kafka.zk_json("/cluster/id")
    assert set(cid) == set(ref_json("zk-01-after-create.txt", "/cluster/id"))
    assert cid["version"] == "1" and UUID_RE.match(cid["id"]), cid
    assert st.ephemeralOwner == 0
    ctl, st = kafka.zk_json("/controller")
    assert set(ctl) == set(ref_json("zk-01-after-create.txt", "/controller"))
    assert ctl["version"] == 1 and ctl["brokerid"] == 1 and is_ms_string(ctl["timestamp"]), ctl
    assert st.ephemeralOwner != 0, "/controller is not ephemeral"
    data, st = kafka.zk().get("/controller_epoch")
    assert re.match(rb"^[1-9][0-9]*$", data), data
    assert st.ephemeralOwner == 0
    # one controller since the start: the broker's session owns both ephemerals
    assert kafka.zk().exists("/controller").ephemeralOwner == \
        kafka.zk().exists("/brokers/ids/1").ephemeralOwner


def test_topic_znodes(kafka):
    kafka.create_topic("zn-conf", partitions=3, config={"retention.ms": "86400000",
                                                        "cleanup.policy": "delete"})
    kafka.create_topic("zn-plain", partitions=1)
    epoch = kafka.controller_epoch()
    ref_t = ref_json("zk-01-after-create.txt", "/brokers/topics/bs-six")
    for name, n in (("zn-conf", 3), ("zn-plain", 1)):
        t, st = kafka.zk_json("/brokers/topics/%s" % name)
        assert st.ephemeralOwner == 0
        assert t["version"] in (2, 3), t
        assert set(t) == set(ref_t) | ({"topic_id"} if t["version"] == 3 else set()), t
        if t["version"] == 3:
            assert UUID_RE.match(t["topic_id"]), t
        assert t["partitions"] == {str(p): [1] for p in range(n)}
        assert t["adding_replicas"] == {} and t["removing_replicas"] == {}
        assert kafka.zk().exists("/brokers/topics/%s/partitions" % name)
        for p in range(n):
            assert kafka.zk().exists("/brokers/topics/%s/partitions/%d" % (name, p))
            s, sst = kafka.zk_json("/brokers/topics/%s/partitions/%d/state" % (name, p))
            assert s == {"controller_epoch": epoch, "leader": 1, "version": 1,
                         "leader_epoch": 0, "isr": [1]}, (name, p, s)
            assert sst.ephemeralOwner == 0
    assert kafka.zk_json("/config/topics/zn-conf")[0] == {
        "version": 1, "config": {"retention.ms": "86400000", "cleanup.policy": "delete"}}
    assert kafka.zk_json("/config/topics/zn-plain")[0] == {"version": 1, "config": {}}


def test_duplicate_broker_id_fails(kafka):
    b = kafka.brokers[0]
    owner = kafka.zk().exists("/brokers/ids/1").ephemeralOwner
    dup = kafka.add_broker(1, host_index=2, name="broker1-dup")
    dup.spawn()
    rc = dup.wait_exit(60)
    assert rc not in (0, None) and rc > 0, "duplicate broker.id exited with %s" % rc
    log = dup.log_since(0)
    assert "/brokers/ids/1" in log, dup.log_tail()
    assert re.search(r"(?i)exist|already|registered", log), dup.log_tail()
    assert kafka.zk().exists("/brokers/ids/1").ephemeralOwner == owner
    assert kafkaharness.api_versions(b.host)[0] == 0
    kafka.wait_cluster()
    assert set(kafka.metadata()["brokers"]) == {1}


def test_delete_topic_removes_znodes_and_logs(kafka):
    kafka.create_topic("zn-del", partitions=2)
    b = kafka.brokers[0]
    kafka.produce("zn-del", [(b"k", b"v")] * 5, partition=0)
    assert os.path.isdir(b.partition_dir("zn-del", 0))
    kafka.delete_topic("zn-del")
    zk = kafka.zk()
    for path in ("/brokers/topics/zn-del", "/config/topics/zn-del", "/admin/delete_topics/zn-del"):
        wait_until(lambda path=path: zk.exists(path) is None, 30, what="%s removed" % path)
    wait_until(lambda: not [n for n in os.listdir(b.log_dir) if n.startswith("zn-del-")], 30,
               interval=0.2, what="the log dirs of zn-del removed")
    assert "zn-del" not in kafka.metadata()["topics"]
    # the other topics are untouched
    assert kafka.zk().exists("/brokers/topics/zn-conf")


def test_chroot(kafka_clusters):
    k = kafka_clusters.new(name="chroot", chroot="/kafka-chroot")
    k.create_topic("in-chroot", partitions=1)
    from kazoo.client import KazooClient
    root = KazooClient(hosts=k.zk_hosts[:-len("/kafka-chroot")], timeout=10.0)
    root.start(timeout=15)
    try:
        assert root.exists("/kafka-chroot/brokers/ids/1")
        assert root.exists("/kafka-chroot/brokers/topics/in-chroot")
        assert root.exists("/kafka-chroot/controller")
        for p in ("/brokers", "/controller", "/cluster", "/config"):
            assert root.exists(p) is None, "%s written outside the chroot" % p
    finally:
        root.stop()
        root.close()
    assert k.produce("in-chroot", [(b"k", b"v")], partition=0) == [(None, 0, 0)]


def test_on_coordinator_ensemble(kafka_clusters):
    k = kafka_clusters.new(name="ensemble", ensemble=True, n=2)
    k.create_topic("on-ens", partitions=2)
    for p in range(2):
        assert k.produce("on-ens", [(b"k%d" % p, b"v")], partition=p) == [(None, p, 0)]
    ctl = k.controller_id()
    for node in k.ens.nodes:
        c = k.ens.kazoo(node)
        c.sync("/")
        assert sorted(c.get_children("/brokers/ids")) == ["1", "2"], node
        assert json.loads(c.get("/controller")[0])["brokerid"] == ctl, node
        t = json.loads(c.get("/brokers/topics/on-ens")[0])
        assert sorted(t["partitions"]) == ["0", "1"], node
