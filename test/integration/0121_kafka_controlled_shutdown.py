"""0121: controlled shutdown, ElectLeaders and the auto leader rebalance.

- Three brokers, a topic of three partitions with three replicas.  SIGTERM to the leader
  of partition 0: before it exits, the broker asks the controller to move its leaderships
  (its log: "Starting controlled shutdown", "Controlled shutdown succeeded"; the
  controller's: "Shutting down broker N"), it exits 0 quickly, and the other brokers'
  Metadata shows partition 0 with another leader and an ISR without it.
- Restarted, it catches up and rejoins the ISR; ElectLeaders (PREFERRED) sent to the
  controller over the wire makes it the leader of partition 0 again (error NONE, and the
  Metadata of every broker agrees).  ElectLeaders answers ELECTION_NOT_NEEDED when the
  preferred replica leads, UNKNOWN_TOPIC_OR_PARTITION for partitions that do not exist
  (v0, v1 and the flexible v2), and NOT_CONTROLLER from any other broker (per partition;
  the top-level error stays NONE, as in Kafka 2.8).
- Two brokers with leader.imbalance.check.interval.seconds=2: the preferred leader that a
  controlled shutdown moved away comes back by itself once it is in the ISR again
  ("... triggered by AutoTriggered" in the controller's log).
"""

import signal
import time

from kafkaharness import KafkaWire, i8, i32, karray, kstr, uvarint
from zkharness import wait_until

# The auto rebalance is off in the first cluster, so that leaderships move only when
# the tests ask.  A short retry backoff keeps the final stop of the cluster short: the
# last broker of a partition's ISR has nobody to hand it to (Kafka retries, then stops).
KAFKA_KW = dict(n=3, session_timeout_ms=4000,
                broker_extra={"auto.leader.rebalance.enable": "false",
                              "controlled.shutdown.retry.backoff.ms": 500})

NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
NOT_CONTROLLER = 41
ELECTION_NOT_NEEDED = 84
PREFERRED = 0


# ---------------------------------------------------------------- ElectLeaders on the wire
def elect_body(version, partitions, election_type=PREFERRED, timeout_ms=15000):
    """partitions: {topic: [p, ...]} or None (every partition)."""
    items = None if partitions is None else sorted(partitions.items())
    if version >= 2:
        body = i8(election_type)
        if items is None:
            body += uvarint(0)
        else:
            body += uvarint(len(items) + 1)
            for t, ps in items:
                tb = t.encode()
                body += uvarint(len(tb) + 1) + tb + uvarint(len(ps) + 1)
                body += b"".join(i32(p) for p in ps) + b"\x00"
        return body + i32(timeout_ms) + b"\x00"
    body = i8(election_type) if version >= 1 else b""
    body += karray(items, lambda tp: kstr(tp[0]) + karray(tp[1], i32))
    return body + i32(timeout_ms)


def _cstring(rd):
    n = rd.uvarint()
    return None if n == 0 else rd._take(n - 1).decode()


def parse_elect(rd, version):
    """(top-level error or None before v1, {(topic, partition): (error, message)})."""
    rd.i32()  # throttle
    top = rd.i16() if version >= 1 else None
    out = {}
    if version >= 2:
        for _ in range(rd.uvarint() - 1):
            topic = _cstring(rd)
            for _ in range(rd.uvarint() - 1):
                p, err, msg = rd.i32(), rd.i16(), _cstring(rd)
                rd.tags()
                assert (topic, p) not in out, "answered twice: %s-%d" % (topic, p)
                out[(topic, p)] = (err, msg)
            rd.tags()
        rd.tags()
    else:
        for _ in range(rd.i32()):
            topic = rd.string()
            for _ in range(rd.i32()):
                p, err, msg = rd.i32(), rd.i16(), rd.string()
                assert (topic, p) not in out, "answered twice: %s-%d" % (topic, p)
                out[(topic, p)] = (err, msg)
    assert rd.left() == 0, "bytes left after the ElectLeaders response"
    return top, out


def elect_leaders(broker, version, partitions, timeout=20.0, **kw):
    with KafkaWire(broker.host, broker.port, timeout) as w:
        rd = w.call(43, version, elect_body(version, partitions, **kw), flexible=version >= 2,
                    timeout=timeout)
        return parse_elect(rd, version)


# ---------------------------------------------------------------------------- helpers
def controller(kafka):
    return kafka.broker(kafka.wait_controller())


def isr_has(kafka, topic, p, broker_id):
    st = kafka.partition_state(topic, p)
    return st is not None and broker_id in st["isr"]


def stop_with_log(kafka, victim):
    """SIGTERM: (exit status, seconds it took, its log of the stop, the controller's log of
    the stop, the controller id at the time)."""
    ctl = kafka.controller_id()
    ctl_broker = kafka.broker(ctl)
    mark_v, mark_c = victim.log_mark(), ctl_broker.log_mark()
    t0 = time.monotonic()
    rc = victim.stop()
    took = time.monotonic() - t0
    return rc, took, victim.log_since(mark_v), ctl_broker.log_since(mark_c), ctl


# ------------------------------------------------------------------------------ tests
def test_sigterm_moves_leadership_first(kafka):
    kafka.create_topic("cs", partitions=3, rf=3)
    md = kafka.metadata(topics=["cs"])["topics"]["cs"]["partitions"]
    assert all(sorted(md[p]["replicas"]) == [1, 2, 3] for p in range(3)), md
    victim = kafka.broker(md[0]["leader"])
    led_before = sorted(p for p in range(3) if md[p]["leader"] == victim.broker_id)

    rc, took, vlog, clog, ctl = stop_with_log(kafka, victim)
    assert rc == 0, victim.log_tail()
    assert "Starting controlled shutdown" in vlog, vlog[-3000:]
    assert "Controlled shutdown succeeded" in vlog, vlog[-3000:]
    assert "Proceeding to do an unclean shutdown" not in vlog
    assert took < 15, "the stop took %.1fs" % took
    assert "Shutting down broker %d" % victim.broker_id in clog, clog[-3000:]

    # every other broker: a new leader for the partitions it led, and it is out of every ISR
    def moved(b):
        parts = kafka.metadata(b, topics=["cs"])["topics"]["cs"]["partitions"]
        return (all(parts[p]["leader"] not in (victim.broker_id, -1) for p in led_before) and
                all(victim.broker_id not in parts[p]["isr"] for p in range(3)))

    for b in kafka.running():
        wait_until(lambda b=b: moved(b), 10, what="broker %d's Metadata of cs without broker %d"
                   % (b.broker_id, victim.broker_id))
    for p in range(3):
        st = kafka.partition_state("cs", p)
        assert st["leader"] != victim.broker_id and victim.broker_id not in st["isr"], (p, st)
    if ctl != victim.broker_id:
        assert kafka.controller_id() == ctl  # the controller stayed where it was

    # back: it rejoins the ISR of partition 0 once it has caught up, and ElectLeaders
    # makes the preferred replica the leader again
    kafka.wait_unregistered(victim.broker_id)
    victim.start()
    kafka.wait_cluster()
    wait_until(lambda: isr_has(kafka, "cs", 0, victim.broker_id), 60, interval=0.2,
               what="broker %d back in the ISR of cs-0" % victim.broker_id)
    ctl_b = controller(kafka)
    mark = ctl_b.log_mark()
    top, res = elect_leaders(ctl_b, 1, {"cs": [0]})
    assert top == NONE
    assert res == {("cs", 0): (NONE, None)}, res
    assert "Starting replica leader election (PREFERRED) for partitions cs-0 triggered by " \
           "AdminClientTriggered" in ctl_b.log_since(mark)
    for b in kafka.running():
        wait_until(lambda b=b: kafka.metadata(b, topics=["cs"])["topics"]["cs"]["partitions"][0]
                   ["leader"] == victim.broker_id, 20,
                   what="broker %d to see cs-0 led by %d" % (b.broker_id, victim.broker_id))
    st = kafka.partition_state("cs", 0)
    assert st["leader"] == victim.broker_id and victim.broker_id in st["isr"], st


def test_elect_leaders_answers(kafka):
    leaders = kafka.create_topic("el", partitions=2, rf=3)
    ctl_b = controller(kafka)
    md = kafka.metadata(topics=["el"])["topics"]["el"]["partitions"]
    assert all(leaders[p] == md[p]["replicas"][0] for p in range(2)), md  # preferred leads
    for v in (0, 1, 2):
        # the request is a set: el-0 asked twice is answered once
        top, res = elect_leaders(ctl_b, v, {"el": [0, 1, 7, 0], "no-such-topic": [0]})
        assert top == (None if v == 0 else NONE), (v, top)
        assert {k: e for k, (e, _) in res.items()} == {
            ("el", 0): ELECTION_NOT_NEEDED, ("el", 1): ELECTION_NOT_NEEDED,
            ("el", 7): UNKNOWN_TOPIC_OR_PARTITION,
            ("no-such-topic", 0): UNKNOWN_TOPIC_OR_PARTITION}, (v, res)
        assert res[("el", 7)][1] == "The partition does not exist.", res
    # null partitions: every partition, those needing no election left out
    top, res = elect_leaders(ctl_b, 1, None)
    assert top == NONE and ("el", 0) not in res and ("el", 1) not in res, res
    assert all(e == NONE for e, _ in res.values()), res
    # any other broker is not the controller
    other = next(b for b in kafka.running() if b.broker_id != ctl_b.broker_id)
    top, res = elect_leaders(other, 1, {"el": [0, 1]})
    assert top == NONE
    assert res == {("el", 0): (NOT_CONTROLLER, None), ("el", 1): (NOT_CONTROLLER, None)}, res
    top, res = elect_leaders(other, 0, {"el": [0]})
    assert top is None and res == {("el", 0): (NOT_CONTROLLER, None)}, res
    top, res = elect_leaders(other, 2, {"el": [1]})
    assert top == NONE and res == {("el", 1): (NOT_CONTROLLER, None)}, res


def test_auto_rebalance_restores_preferred_leader(kafka_clusters):
    k = kafka_clusters.new(name="rebalance", n=2, session_timeout_ms=4000,
                           broker_extra={"leader.imbalance.check.interval.seconds": 2,
                                         "controlled.shutdown.retry.backoff.ms": 500})
    leaders = k.create_topic("ar", assignment=[[1, 2], [2, 1]])
    assert leaders == {0: 1, 1: 2}
    b1 = k.broker(1)
    rc, took, vlog, _, _ = stop_with_log(k, b1)
    assert rc == 0 and "Controlled shutdown succeeded" in vlog, vlog[-3000:]
    st = k.partition_state("ar", 0)
    assert st["leader"] == 2 and st["isr"] == [2], st
    k.wait_unregistered(1)
    b1.start()
    k.wait_cluster()
    wait_until(lambda: isr_has(k, "ar", 0, 1), 60, interval=0.2, what="broker 1 back in the ISR of ar-0")
    wait_until(lambda: k.partition_state("ar", 0)["leader"] == 1, 30, interval=0.2,
               what="ar-0 led by its preferred replica again")
    wait_until(lambda: k.leader("ar", 0) == 1, 20, what="Metadata: ar-0 led by 1")
    logs = "".join(b.log_since(0) for b in k.brokers)
    assert "Starting replica leader election (PREFERRED) for partitions ar-0 triggered by " \
           "AutoTriggered" in logs
    assert k.partition_state("ar", 1)["leader"] == 2
    kafka_clusters.close(k)


def test_second_signal_skips_the_rest(kafka):
    """A broker whose controlled shutdown cannot succeed (it is the only ISR member of a
    partition with two replicas) waits retry.backoff.ms between attempts; a second SIGTERM
    stops it at once."""
    a, b = kafka.running()[0], kafka.running()[1]
    a.extra["controlled.shutdown.retry.backoff.ms"] = 10000
    a.restart()
    kafka.wait_cluster()
    kafka.create_topic("lone", assignment=[[a.broker_id, b.broker_id]])
    # b goes first: a is then the only replica in the ISR
    assert b.stop() == 0
    kafka.wait_unregistered(b.broker_id)
    wait_until(lambda: kafka.partition_state("lone", 0)["isr"] == [a.broker_id], 20,
               what="lone-0 ISR [%d]" % a.broker_id)
    mark = a.log_mark()
    p = a.proc
    p.send_signal(signal.SIGTERM)
    wait_until(lambda: "Remaining partitions to move: " in a.log_since(mark), 20,
               what="a failed controlled shutdown attempt")
    time.sleep(0.5)
    assert p.poll() is None, "exited before the backoff was over"
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    p.wait(20)
    took = time.monotonic() - t0
    a.exits.append(("term", p.returncode))
    a.proc = None
    assert p.returncode == 0
    log = a.log_since(mark)
    remaining = [ln for ln in log.splitlines() if "Remaining partitions to move: " in ln]
    assert len(remaining) == 1 and "lone-0" in remaining[0], remaining
    assert "Controlled shutdown succeeded" not in log
    assert took < 5, took
    # both back, with the module's settings, for whatever runs next
    del a.extra["controlled.shutdown.retry.backoff.ms"]
    kafka.wait_unregistered(a.broker_id)
    kafka.start([a, b])
