"""0106: three brokers on one coordinator.  A topic with replication factor 1 is spread
evenly over the brokers (each leads two of six partitions, and only the leader holds the
partition's log dir); records produced through each leader come back from it.  kill -9 of
the controller broker: once its session expires, another broker takes /controller and
/controller_epoch goes up by one; the partitions the dead broker led lose their leader,
and the cluster keeps serving (a new topic is created on the survivors, takes records and
gives them back).  Restarted, the broker rejoins (three brokers in every Metadata), leads
its partitions again with their records intact, and the controller does not change.
"""

import os

from zkharness import wait_until

KAFKA_KW = dict(n=3, session_timeout_ms=4000)


def msgs_for(topic, p, n=20):
    return [("%s-%d-k%d" % (topic, p, i), "%s p%d value %d" % (topic, p, i)) for i in range(n)]


def kcat_produce(kafka, topic, p, msgs, bootstrap):
    text = "".join("%s:%s\n" % kv for kv in msgs)
    kafka.kcat("-P", "-t", topic, "-p", p, "-K", ":", bootstrap=bootstrap, input=text)


def test_rf1_topic_spread_over_brokers(kafka):
    leaders = kafka.create_topic("spread", partitions=6)
    per = {b.broker_id: sorted(p for p, l in leaders.items() if l == b.broker_id)
           for b in kafka.brokers}
    assert all(len(ps) == 2 for ps in per.values()), per
    for b in kafka.brokers:
        for p in range(6):
            assert os.path.isdir(b.partition_dir("spread", p)) == (leaders[p] == b.broker_id), (
                b.broker_id, p, leaders)
    for p, lid in leaders.items():
        leader = kafka.broker(lid)
        msgs = msgs_for("spread", p)
        kcat_produce(kafka, "spread", p, msgs, bootstrap=leader.hostport)
        got = kafka.kcat_consume("spread", p, len(msgs) + 1, bootstrap=leader.hostport)
        assert [(m["key"], m["payload"]) for m in got] == msgs, p
        assert [m["offset"] for m in got] == list(range(len(msgs)))


def test_kill9_controller_fails_over(kafka):
    leaders = kafka.create_topic("failover", partitions=6)
    data = {}
    for p in range(6):
        data[p] = [(k.encode(), v.encode()) for k, v in msgs_for("failover", p, 30)]
        res = kafka.produce("failover", data[p], partition=p, acks="all")
        assert [r[2] for r in res] == list(range(30)) and all(r[0] is None for r in res)
    old = kafka.controller_id()
    epoch = kafka.controller_epoch()
    assert old is not None and epoch >= 1
    victim = kafka.broker(old)
    orphaned = sorted(p for p, l in leaders.items() if l == old)
    assert orphaned
    victim.kill9()
    new = kafka.wait_controller(exclude=old)
    assert new in {b.broker_id for b in kafka.running()}
    assert kafka.controller_epoch() == epoch + 1
    kafka.wait_unregistered(old)
    kafka.wait_cluster()
    # its partitions have no other replica: no leader until it comes back
    for p in orphaned:
        wait_until(lambda p=p: kafka.partition_state("failover", p)["leader"] == -1, 30,
                   what="failover-%d without a leader" % p)
    # still serving: a new topic on the two survivors
    after = kafka.create_topic("after-failover", partitions=4)
    assert set(after.values()) == {b.broker_id for b in kafka.running()}
    for p in range(4):
        msgs = [(b"af%d-%d" % (p, i), b"after failover %d %d" % (p, i)) for i in range(15)]
        res = kafka.produce("after-failover", msgs, partition=p)
        assert [r[2] for r in res] == list(range(15)) and all(r[0] is None for r in res)
        assert [(k, v) for _, k, v in kafka.consume("after-failover", p, 0, 15)] == msgs
    # the partitions of the survivors still answer
    for p in sorted(set(range(6)) - set(orphaned)):
        assert [(k, v) for _, k, v in kafka.consume("failover", p, 0, 30)] == data[p]
    # restart: it rejoins and leads its partitions again, with their records
    victim.start()
    kafka.wait_cluster()
    back = kafka.wait_topic("failover", 6)
    assert back == leaders
    for p in orphaned:
        assert [(k, v) for _, k, v in kafka.consume("failover", p, 0, 30)] == data[p]
    assert kafka.controller_id() == new
    assert kafka.controller_epoch() == epoch + 1
