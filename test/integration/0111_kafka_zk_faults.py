"""0111: brokers across ZooKeeper trouble, as Kafka rides it out.

- The zkd ensemble loses its leader (kill -9): the brokers' sessions move to the
  surviving servers, so their /brokers/ids registrations keep their czxid (broker epoch)
  and the controller stays; the cluster keeps creating topics and serving records.
- A broker's session expires (the process is frozen with SIGSTOP for longer than the
  session timeout): its registration vanishes and the controller drops it; thawed, the
  broker opens a new session, registers again with a newer czxid and serves again.
- The same for the controller broker: another broker takes /controller with a higher
  epoch, and the old one, thawed, rejoins as an ordinary broker.
"""

import os
import signal

from zkharness import wait_until

SESSION_MS = 4000


def czxid(kafka, broker_id):
    st = kafka.zk().exists("/brokers/ids/%d" % broker_id)
    return None if st is None else st.czxid


def serve_through(kafka, topic, leader_id):
    """A one-partition topic led by `leader_id`: records in, the same records out."""
    kafka.create_topic(topic, assignment=[[leader_id]])
    msgs = [(b"k%d" % i, b"%s value %d" % (topic.encode(), i)) for i in range(10)]
    assert [e for e, _, _ in kafka.produce(topic, msgs, partition=0)] == [None] * 10
    got = kafka.consume(topic, 0, 0, 10)
    assert [(key, value) for _, key, value in got] == msgs


def test_zk_leader_killed(kafka_clusters):
    k = kafka_clusters.new(name="ens", ensemble=True, n=2, session_timeout_ms=SESSION_MS)
    before = {b.broker_id: czxid(k, b.broker_id) for b in k.brokers}
    ctl, epoch = k.controller_id(), k.controller_epoch()
    old = k.ens.wait_for_quorum()
    old.kill9()
    k.ens.wait_for_quorum(nodes=[n.sid for n in k.ens.nodes if n is not old])
    # Well past the session timeout: sessions that had not moved would have expired.
    wait_until(lambda: all(czxid(k, b) == c for b, c in before.items()) and
               k.controller_id() == ctl, 15.0, what="registrations and controller kept")
    assert k.controller_epoch() == epoch
    serve_through(k, "after-zk-failover", ctl)
    old.start()
    k.ens.wait_for_quorum()


def freeze_until_expired(kafka, broker):
    old = czxid(kafka, broker.broker_id)
    os.kill(broker.pid, signal.SIGSTOP)
    try:
        kafka.wait_unregistered(broker.broker_id)
    finally:
        os.kill(broker.pid, signal.SIGCONT)
    wait_until(lambda: (czxid(kafka, broker.broker_id) or 0) > old, 30.0,
               what="broker %d registered again" % broker.broker_id)
    kafka.wait_cluster()


def test_session_expiry_reregisters(kafka_clusters):
    k = kafka_clusters.new(name="expiry", n=2, session_timeout_ms=SESSION_MS)
    ctl = k.controller_id()
    other = next(b for b in k.brokers if b.broker_id != ctl)
    mark = other.log_mark()
    freeze_until_expired(k, other)
    assert "Session expired" in other.log_since(mark)
    assert k.controller_id() == ctl
    serve_through(k, "after-expiry", other.broker_id)


def test_controller_session_expiry(kafka_clusters):
    k = kafka_clusters.new(name="ctl-expiry", n=2, session_timeout_ms=SESSION_MS)
    ctl, epoch = k.controller_id(), k.controller_epoch()
    old = k.broker(ctl)
    freeze_until_expired(k, old)
    new = k.wait_controller(exclude=ctl)
    assert k.controller_epoch() > epoch
    # The thawed broker is an ordinary broker now, and leads what it is given.
    wait_until(lambda: k.controller_id() == new, 10.0, what="controller stays %d" % new)
    serve_through(k, "after-ctl-expiry", ctl)
