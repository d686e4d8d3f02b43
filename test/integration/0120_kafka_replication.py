"""0120: replication across three brokers, as Kafka 2.x does it with ZooKeeper.

- Basics: a topic with replication factor 3 has its partition dir on every broker; once
  the followers caught up, every replica's segment files hold the same bytes (the leader's
  batches, stamped with leader epoch 0), every replica has leader-epoch-checkpoint
  "0\\n1\\n0 0\\n" and checkpoints the high watermark the leader gave it.
- kill -9 of the partition leader, KAFKA_KILL_ITERS times (default 3), under a continuous
  acks=all stream without retries: a new leader is elected from the ISR, the old one
  rejoins the ISR after its restart, and in the end every acknowledged record is in the
  log exactly once at the offset it was acknowledged with, no record twice, the offsets
  are contiguous and the three replicas are byte-identical.
- The leader shrinks the ISR of a follower that stopped fetching (SIGSTOP) after
  replica.lag.time.max.ms and expands it again once it caught up, writing the state znode
  itself (same leader epoch: only the controller bumps it) and telling the controller
  through /isr_change_notification.
- min.insync.replicas=2: with the ISR down to the leader, acks=all is refused with
  NOT_ENOUGH_REPLICAS before anything is appended while acks=1 still works; a restarted
  follower rejoins the ISR (visible in every broker's Metadata) and acks=all works again;
  a follower frozen while an acks=all request waits makes it end with
  NOT_ENOUGH_REPLICAS_AFTER_APPEND once the leader shrank the ISR.
- Truncation: records only the leader had (its follower frozen) are gone after the leader
  is killed and the follower took over; the old leader, restarted, truncates them (its log
  says so) and then holds exactly the new leader's log.
- Metadata of an under-replicated partition (ISR smaller than the replicas, the dead
  broker among the offline replicas) and of an offline one (leader -1,
  LEADER_NOT_AVAILABLE).
"""

import collections
import os
import re
import threading
import time

import pytest

import kafkaharness
from kafkaharness import (Frozen, isr_of, metadata_ext, produce_records, replica_log_bytes,
                          replica_log_end, wait_isr, wait_log_ends_equal)
from zkharness import wait_until

S = kafkaharness.timeout_scale()
KILL_ITERS = int(os.environ.get("KAFKA_KILL_ITERS", "3"))

NOT_ENOUGH_REPLICAS = 19
NOT_ENOUGH_REPLICAS_AFTER_APPEND = 20


@pytest.fixture
def new_cluster(kafka_clusters):
    """Starts three-broker clusters for one test and stops them after its report."""
    made = []

    def make(**kw):
        kw.setdefault("n", 3)
        # the last broker stopped cannot hand its leaderships over: Kafka retries the
        # controlled shutdown 3 times, 5 s apart by default
        kw["broker_extra"] = dict({"controlled.shutdown.retry.backoff.ms": 200},
                                  **kw.get("broker_extra", {}))
        c = kafka_clusters.new(name="repl", **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        kafka_clusters.close(c)


def state_path(topic, partition):
    return "/brokers/topics/%s/partitions/%d/state" % (topic, partition)


def assert_replicas_identical(brokers, topic, partition):
    """The replicas' segment bytes are equal; returns them."""
    blobs = {b.broker_id: replica_log_bytes(b, topic, partition) for b in brokers}
    ref = blobs[brokers[0].broker_id]
    for bid, blob in blobs.items():
        if blob != ref:
            n = next((i for i in range(min(len(blob), len(ref))) if blob[i] != ref[i]),
                     min(len(blob), len(ref)))
            raise AssertionError("%s-%d: replica on broker %d differs from broker %d's "
                                 "(%d vs %d bytes, first difference at byte %d)"
                                 % (topic, partition, bid, brokers[0].broker_id, len(blob),
                                    len(ref), n))
    return ref


def epochs_from_batches(data):
    """[(epoch, first offset)] of each leader epoch in a log, in order."""
    out = []
    for base, epoch in kafkaharness.batch_leader_epochs(data):
        if not out or out[-1][0] != epoch:
            assert not out or epoch > out[-1][0], "leader epochs decrease: %s then %d" % (
                out, epoch)
            out.append((epoch, base))
    return out


def check_epoch_checkpoint(broker, topic, partition, data):
    """leader-epoch-checkpoint of a replica: epochs increasing, start offsets not
    decreasing, and an entry (epoch, first offset) for every epoch of its batches."""
    cp = kafkaharness.read_leader_epoch_checkpoint(broker, topic, partition)
    assert cp, "broker %d: no leader-epoch-checkpoint entries for %s-%d" % (
        broker.broker_id, topic, partition)
    for (e1, o1), (e2, o2) in zip(cp, cp[1:]):
        assert e2 > e1 and o2 >= o1, "broker %d: checkpoint %s not ordered" % (
            broker.broker_id, cp)
    for entry in epochs_from_batches(data):
        assert entry in cp, "broker %d: checkpoint %s lacks %s of its batches" % (
            broker.broker_id, cp, entry)
    return cp


# ---------------------------------------------------------------- 1. basics
def test_replication_basics(new_cluster):
    k = new_cluster(session_timeout_ms=6000,
                    broker_extra={"replica.high.watermark.checkpoint.interval.ms": 1000})
    topic, parts, rounds, per_round = "repl", 3, 4, 60
    k.create_topic(topic, partitions=parts, rf=3, config={"min.insync.replicas": "2"})
    assign = k.zk_json("/brokers/topics/%s" % topic)[0]["partitions"]
    assert {p: sorted(r) for p, r in assign.items()} == {str(p): [1, 2, 3] for p in
                                                        range(parts)}
    for b in k.brokers:
        for p in range(parts):
            wait_until(lambda b=b, p=p: os.path.isdir(b.partition_dir(topic, p)), 10 * S,
                       what="%s-%d dir on broker %d" % (topic, p, b.broker_id))
    data = {p: [] for p in range(parts)}
    for r in range(rounds):
        # several requests, one of them gzip-compressed: the followers keep every batch
        conf = {"compression.type": "gzip"} if r == 2 else {}
        for p in range(parts):
            msgs = [(b"k%d-%d-%d" % (p, r, i), b"value %d %d %d " % (p, r, i) + b"x" * (i % 40))
                    for i in range(per_round)]
            res = k.produce(topic, msgs, partition=p, acks="all", **conf)
            assert [e for e, _, _ in res] == [None] * per_round, res[:3]
            assert [o for _, _, o in res] == list(range(len(data[p]),
                                                        len(data[p]) + per_round))
            data[p] += msgs
    n = rounds * per_round
    for p in range(parts):
        end = wait_log_ends_equal(k.brokers, topic, p, 30 * S)
        assert end == n, (p, end)
        blob = assert_replicas_identical(k.brokers, topic, p)
        batches = kafkaharness.parse_batches(blob)
        assert batches and all(bt["crc_ok"] and bt["magic"] == 2 for bt in batches)
        assert sum(bt["count"] for bt in batches) == n
        assert any(bt["codec"] == 1 for bt in batches), "the gzip batch is gone"
        assert {e for _, e in kafkaharness.batch_leader_epochs(blob)} == {0}
        for b in k.brokers:
            wait_until(lambda b=b, p=p: kafkaharness.read_leader_epoch_checkpoint(
                b, topic, p) == [(0, 0)], 10 * S,
                what="leader-epoch-checkpoint [(0, 0)] of %s-%d on broker %d"
                % (topic, p, b.broker_id))
    # every replica learns the high watermark (follower: from the leader's fetch responses)
    for b in k.brokers:
        wait_until(lambda b=b: all(b.read_checkpoint("replication-offset-checkpoint")
                                   .get((topic, p)) == n for p in range(parts)), 20 * S,
                   what="replication-offset-checkpoint of broker %d at %d" % (b.broker_id, n))
    for p in range(parts):
        got = k.consume(topic, p, 0, n, timeout=30 * S)
        assert [(o, kk, v) for o, kk, v in got] == [(i, kk, v) for i, (kk, v) in
                                                   enumerate(data[p])]


# ---------------------------------------------------------------- 2. kill loop
class IdProducer(threading.Thread):
    """Sends ids "id-<n>-try-<k>" to one partition with acks=all and no retries, so each
    is written at most once; a failed delivery is sent again as the next try of the same
    n, a new id.  Records every acknowledged id with its offset."""

    def __init__(self, kafka, topic):
        super().__init__(daemon=True)
        self.topic = topic
        self.p = kafka.producer(acks="all", **{
            "message.send.max.retries": 0, "enable.idempotence": False, "linger.ms": 2,
            "message.timeout.ms": 300000, "request.timeout.ms": 30000})
        self.lock = threading.Lock()
        self.acked = {}
        self.sent = set()
        self.errors = collections.Counter()
        self.resend = collections.deque()
        self.stop_ev = threading.Event()
        self.exc = None

    def _dr(self, err, msg):
        ident = msg.value().decode()
        with self.lock:
            if err is None:
                self.acked[ident] = msg.offset()
            else:
                self.errors[err.name()] += 1
                self.resend.append(ident)

    def run(self):
        n = 0
        try:
            while not self.stop_ev.is_set():
                with self.lock:
                    old = self.resend.popleft() if self.resend else None
                if old is not None:
                    m = re.match(r"id-(\d+)-try-(\d+)$", old)
                    ident = "id-%s-try-%d" % (m.group(1), int(m.group(2)) + 1)
                else:
                    ident = "id-%d-try-0" % n
                    n += 1
                try:
                    self.p.produce(self.topic, value=ident.encode(), partition=0,
                                   on_delivery=self._dr)
                except BufferError:  # queue full: the same id again later
                    if old is not None:
                        with self.lock:
                            self.resend.appendleft(old)
                    else:
                        n -= 1
                    self.p.poll(0.05)
                    continue
                with self.lock:
                    self.sent.add(ident)
                self.p.poll(0.002)
        except Exception as e:  # noqa: BLE001 - reported by finish()
            self.exc = e

    def count(self):
        with self.lock:
            return len(self.acked)

    def finish(self, timeout):
        """Stops sending, waits (bounded) for the reports of what is in flight and drops
        the rest.  Returns (acked {id: offset}, sent ids, error counts)."""
        self.stop_ev.set()
        self.join(10)
        assert not self.is_alive() and self.exc is None, self.exc
        self.p.flush(timeout)
        self.p.purge()
        self.p.flush(5)
        with self.lock:
            return dict(self.acked), set(self.sent), dict(self.errors)


def test_kill_leader_loop(new_cluster):
    session_ms = 4000
    k = new_cluster(session_timeout_ms=session_ms,
                    broker_extra={"replica.lag.time.max.ms": 10000})
    topic = "kill-loop"
    k.create_topic(topic, partitions=1, rf=3, config={"min.insync.replicas": "2"})
    elect_s = (2 * session_ms / 1000.0 + 20) * S
    prod = IdProducer(k, topic)
    prod.start()
    history = []
    try:
        wait_until(lambda: prod.count() >= 200, 30 * S, what="200 acknowledged records")
        for it in range(KILL_ITERS):
            lid = k.wait_topic(topic, 1, 30 * S)[0]
            victim = k.broker(lid)
            epoch = k.partition_state(topic, 0)["leader_epoch"]
            c = prod.count()
            wait_until(lambda c=c: prod.count() >= c + 100, 30 * S,
                       what="acks before kill %d" % it)
            victim.kill9()
            new = k.wait_topic(topic, 1, elect_s)[0]
            st = k.partition_state(topic, 0)
            assert new != lid and st["leader"] == new and st["leader_epoch"] > epoch, st
            assert lid not in st["isr"], st
            c = prod.count()
            wait_until(lambda c=c: prod.count() >= c + 100, 60 * S,
                       what="acks from the new leader %d (iteration %d)" % (new, it))
            victim.restart(kill=True)
            wait_until(lambda lid=lid: lid in isr_of(k, topic, 0), 60 * S,
                       what="broker %d back in the ISR (iteration %d)" % (lid, it))
            history.append((lid, new, st["leader_epoch"]))
        c = prod.count()
        wait_until(lambda: prod.count() >= c + 100, 30 * S, what="acks after the loop")
    finally:
        acked, sent, errors = prod.finish(60 * S)
    print("kill loop: (killed, new leader, epoch) %s; %d ids sent, %d acknowledged, failed "
          "deliveries %s" % (history, len(sent), len(acked), errors))
    assert len(history) == KILL_ITERS
    wait_isr(k, topic, 0, {1, 2, 3}, 60 * S)
    end = wait_log_ends_equal(k.brokers, topic, 0, 60 * S)
    wait_until(lambda: k.watermarks(topic, 0) == (0, end), 30 * S,
               what="watermarks (0, %d)" % end)
    recs = k.consume(topic, 0, 0, end, timeout=120 * S)
    assert [o for o, _, _ in recs] == list(range(end)), "offsets not contiguous 0..%d" % end
    ids = collections.Counter(v.decode() for _, _, v in recs)
    at = {v.decode(): o for o, _, v in recs}
    dups = sorted(i for i, c in ids.items() if c > 1)
    assert not dups, "%d ids more than once, e.g. %s" % (len(dups), dups[:5])
    unknown = sorted(set(ids) - sent)
    assert not unknown, "ids never sent: %s" % unknown[:5]
    lost = sorted(i for i in acked if i not in ids)
    assert not lost, "%d of %d acknowledged records lost (kills %s, errors %s), e.g. %s" % (
        len(lost), len(acked), history, errors, lost[:5])
    moved = sorted((i, o, at[i]) for i, o in acked.items() if at[i] != o)
    assert not moved, "acknowledged at one offset, found at another: %s" % moved[:5]
    blob = assert_replicas_identical(k.brokers, topic, 0)
    for b in k.brokers:
        check_epoch_checkpoint(b, topic, 0, blob)
    assert len(epochs_from_batches(blob)) >= 2, "one leader epoch in the log after %d kills" % (
        KILL_ITERS)


# ---------------------------------------------------------------- 3. ISR and min.insync
def isr_notification_cversion(k):
    st = k.zk().exists("/isr_change_notification")
    return None if st is None else st.cversion


def test_leader_shrinks_and_expands_isr(new_cluster):
    # a follower frozen for less than its session timeout keeps its registration: only
    # the leader can notice it (replica.lag.time.max.ms)
    k = new_cluster(session_timeout_ms=10000, broker_extra={"replica.lag.time.max.ms": 3000})
    ctl = k.controller_id()
    lid, fid = [b.broker_id for b in k.brokers if b.broker_id != ctl]
    topic = "shrink"
    k.create_topic(topic, assignment=[[lid, ctl, fid]], config={"min.insync.replicas": "2"})
    leader, follower = k.broker(lid), k.broker(fid)
    res = k.produce(topic, [(b"a%d" % i, b"before %d" % i) for i in range(20)], partition=0,
                    acks="all")
    assert [e for e, _, _ in res] == [None] * 20
    st0, stat0 = wait_isr(k, topic, 0, {lid, ctl, fid}, 10 * S)
    czxid = k.zk().exists("/brokers/ids/%d" % fid).czxid
    cver = isr_notification_cversion(k)
    with Frozen(follower):
        for i in range(3):
            err, _ = produce_records(leader.host, topic, 0, [(b"b%d" % i, b"frozen %d" % i)],
                                     acks=1)
            assert err == 0
        # lag 3 s, checked every 1.5 s: well before the 10 s session timeout
        st1, stat1 = wait_isr(k, topic, 0, {lid, ctl}, 8.0,
                              what="the leader to drop broker %d from the ISR" % fid)
        assert k.zk().exists("/brokers/ids/%d" % fid).czxid == czxid, "session lost"
    assert st1["leader"] == lid, st1
    assert st1["leader_epoch"] == st0["leader_epoch"], (st0, st1)
    assert st1["controller_epoch"] == st0["controller_epoch"], (st0, st1)
    assert stat1.version > stat0.version
    st2, stat2 = wait_isr(k, topic, 0, {lid, ctl, fid}, 30 * S,
                          what="broker %d back in the ISR" % fid)
    assert st2["leader"] == lid and st2["leader_epoch"] == st0["leader_epoch"], (st0, st2)
    assert stat2.version > stat1.version
    # both changes were announced, and the controller consumed the announcements
    wait_until(lambda: (isr_notification_cversion(k) or 0) >= (cver or 0) + 2 and
               k.zk().get_children("/isr_change_notification") == [], 30 * S,
               what="an isr_change_ notification created and consumed")
    for b in k.brokers:
        wait_until(lambda b=b: set(k.metadata(b, topics=[topic])["topics"][topic]
                                   ["partitions"][0]["isr"]) == {lid, ctl, fid}, 20 * S,
                   what="full ISR in broker %d's Metadata" % b.broker_id)
    end = wait_log_ends_equal(k.brokers, topic, 0, 20 * S)
    assert end == 23
    assert_replicas_identical(k.brokers, topic, 0)


def test_min_insync_replicas(new_cluster):
    from confluent_kafka import KafkaError
    k = new_cluster(session_timeout_ms=10000, broker_extra={"replica.lag.time.max.ms": 3000})
    ctl = k.controller_id()
    xid, yid = [b.broker_id for b in k.brokers if b.broker_id != ctl]
    topic = "minisr"
    k.create_topic(topic, assignment=[[ctl, xid, yid]], config={"min.insync.replicas": "2"})
    leader, x, y = k.broker(ctl), k.broker(xid), k.broker(yid)
    res = k.produce(topic, [(b"a%d" % i, b"all three %d" % i) for i in range(10)],
                    partition=0, acks="all")
    assert [e for e, _, _ in res] == [None] * 10
    wait_isr(k, topic, 0, {ctl, xid, yid}, 10 * S)

    x.kill9()
    y.kill9()
    wait_isr(k, topic, 0, {ctl}, 30 * S, what="the ISR down to the leader")
    end0 = replica_log_end(leader, topic, 0)
    assert end0 == 10
    err, _ = produce_records(leader.host, topic, 0, [(b"r", b"refused")], acks=-1)
    assert err == NOT_ENOUGH_REPLICAS
    res = k.produce(topic, [(b"c", b"refused too")], partition=0, acks="all",
                    **{"message.send.max.retries": 0})
    assert res[0][0] is not None and res[0][0].code() == KafkaError.NOT_ENOUGH_REPLICAS, res
    assert replica_log_end(leader, topic, 0) == end0, "refused records were appended"
    err, base = produce_records(leader.host, topic, 0, [(b"one", b"acks=1 raw")], acks=1)
    assert (err, base) == (0, end0)
    res = k.produce(topic, [(b"one", b"acks=1 client")], partition=0, acks="1")
    assert res == [(None, 0, end0 + 1)]

    # x comes back, catches up, and the leader takes it into the ISR
    x.restart(kill=True)
    wait_isr(k, topic, 0, {ctl, xid}, 30 * S, what="broker %d back in the ISR" % xid)
    # the controller hears of it (isr_change_notification) and tells every broker
    for b in k.running():
        wait_until(lambda b=b: set(metadata_ext(b.host, topics=[topic])["topics"][topic]
                                   ["partitions"][0]["isr"]) == {ctl, xid}, 30 * S,
                   what="ISR {%d, %d} in broker %d's Metadata" % (ctl, xid, b.broker_id))
    err, base = produce_records(leader.host, topic, 0, [(b"two", b"acks=all again")], acks=-1)
    assert (err, base) == (0, end0 + 2)
    res = k.produce(topic, [(b"two", b"acks=all client")], partition=0, acks="all")
    assert res == [(None, 0, end0 + 3)]

    # appended while the ISR had two members, acknowledged once it had one
    with Frozen(x):
        t0 = time.monotonic()
        err, base = produce_records(leader.host, topic, 0, [(b"late", b"after append")],
                                    acks=-1, timeout_ms=20000)
        waited = time.monotonic() - t0
        assert err == NOT_ENOUGH_REPLICAS_AFTER_APPEND, (err, waited)
        assert isr_of(k, topic, 0) == [ctl]
    assert replica_log_end(leader, topic, 0) == end0 + 5
    wait_isr(k, topic, 0, {ctl, xid}, 30 * S, what="broker %d back in the ISR" % xid)
    end = wait_log_ends_equal([leader, x], topic, 0, 20 * S)
    assert end == end0 + 5
    assert_replicas_identical([leader, x], topic, 0)
    got = k.consume(topic, 0, 0, end, timeout=30 * S)
    assert [v for _, _, v in got][end0:] == [b"acks=1 raw", b"acks=1 client", b"acks=all again",
                                             b"acks=all client", b"after append"]


# ---------------------------------------------------------------- 4. truncation
def test_follower_truncates_unreplicated_records(new_cluster):
    fetch_wait_ms = 500
    k = new_cluster(session_timeout_ms=5000, broker_extra={
        "replica.lag.time.max.ms": 30000, "replica.fetch.wait.max.ms": fetch_wait_ms})
    ctl = k.controller_id()
    lid, fid = [b.broker_id for b in k.brokers if b.broker_id != ctl]
    leader, follower = k.broker(lid), k.broker(fid)
    topic, P, K, M = "trunc", 20, 7, 15
    k.create_topic(topic, assignment=[[lid, fid]], config={"min.insync.replicas": "1"})
    before = [(b"p%d" % i, b"replicated %d" % i) for i in range(P)]
    res = k.produce(topic, before, partition=0, acks="all")
    assert [o for _, _, o in res] == list(range(P))
    assert wait_log_ends_equal([leader, follower], topic, 0, 20 * S) == P
    with Frozen(follower):
        # the fetch the follower has waiting at the leader ends empty first: a record
        # arriving before that would still reach its socket and be appended after SIGCONT
        time.sleep(3 * fetch_wait_ms / 1000.0)
        for i in range(K):
            err, base = produce_records(leader.host, topic, 0, [(b"l%d" % i, b"LOST %d" % i)],
                                        acks=1)
            assert (err, base) == (0, P + i)
        assert replica_log_end(leader, topic, 0) == P + K
        assert replica_log_end(follower, topic, 0) == P
        leader.kill9()
    # the follower is still in the ISR (lag 30 s): a clean election
    new = k.wait_topic(topic, 1, (15 + 2 * 5) * S)[0]
    assert new == fid
    st = k.partition_state(topic, 0)
    assert st["leader"] == fid and st["isr"] == [fid] and st["leader_epoch"] >= 1, st
    after = [(b"m%d" % i, b"new leader %d" % i) for i in range(M)]
    res = k.produce(topic, after, partition=0, acks="all")
    assert [o for _, _, o in res] == list(range(P, P + M))
    mark = leader.log_mark()
    leader.restart(kill=True)
    wait_isr(k, topic, 0, {lid, fid}, 30 * S, what="the old leader in the ISR again")
    assert wait_log_ends_equal([leader, follower], topic, 0, 20 * S) == P + M
    log = leader.log_since(mark)
    assert re.search(r"Truncat\w*\b.*\b%s-0\b.*to offset %d\b" % (topic, P), log), (
        "no truncation of %s-0 to offset %d in broker %d's log:\n%s"
        % (topic, P, lid, log[-3000:]))
    blob = assert_replicas_identical([leader, follower], topic, 0)
    assert b"LOST" not in blob
    for b in (leader, follower):
        assert kafkaharness.read_leader_epoch_checkpoint(b, topic, 0) == [
            (0, 0), (st["leader_epoch"], P)]
    assert epochs_from_batches(blob) == [(0, 0), (st["leader_epoch"], P)]
    got = k.consume(topic, 0, 0, P + M, timeout=30 * S)
    assert [(kk, v) for _, kk, v in got] == before + after
    assert k.watermarks(topic, 0) == (0, P + M)


# ---------------------------------------------------------------- 5. Metadata
def test_metadata_under_replicated_and_offline(new_cluster):
    k = new_cluster(session_timeout_ms=4000)
    ctl = k.controller_id()
    vid, oid = [b.broker_id for b in k.brokers if b.broker_id != ctl]
    victim = k.broker(vid)
    k.create_topic("urp", assignment=[[vid, oid, ctl]])
    k.create_topic("solo", assignment=[[vid]])
    for t in ("urp", "solo"):
        res = k.produce(t, [(b"k", b"v %s" % t.encode())], partition=0, acks="all")
        assert res == [(None, 0, 0)]
    wait_isr(k, "urp", 0, {vid, oid, ctl}, 10 * S)
    for v in (1, 5, 7, 8):
        md = metadata_ext(victim.host, topics=["urp"], version=v)
        p = md["topics"]["urp"]["partitions"][0]
        assert p["replicas"] == [vid, oid, ctl] and sorted(p["isr"]) == sorted([vid, oid, ctl])
        if v >= 5:
            assert p["offline"] == [], p

    victim.kill9()

    def degraded(b):
        md = metadata_ext(b.host, topics=["urp", "solo"], version=7)
        u = md["topics"]["urp"]["partitions"][0]
        s = md["topics"]["solo"]["partitions"][0]
        return (u["error"] == 0 and u["leader"] in (oid, ctl) and
                u["replicas"] == [vid, oid, ctl] and sorted(u["isr"]) == sorted([oid, ctl]) and
                u["offline"] == [vid] and
                s["error"] == kafkaharness.LEADER_NOT_AVAILABLE and s["leader"] == -1 and
                s["replicas"] == [vid] and s["isr"] == [vid] and s["offline"] == [vid])

    last = {}
    for b in k.running():
        try:
            wait_until(lambda b=b: degraded(b), (2 * 4 + 20) * S,
                       what="broker %d's Metadata: urp under-replicated, solo offline"
                       % b.broker_id)
        except AssertionError:
            last[b.broker_id] = metadata_ext(b.host, topics=["urp", "solo"], version=7)
            raise AssertionError("Metadata of broker %d: %s" % (b.broker_id, last))
    st = k.partition_state("solo", 0)
    assert st["leader"] == -1 and st["isr"] == [vid], st
    # what a client sees (librdkafka)
    md = k.admin().list_topics(timeout=10)
    u, s = md.topics["urp"].partitions[0], md.topics["solo"].partitions[0]
    assert len(u.isrs) < len(u.replicas) and vid not in u.isrs, (u.isrs, u.replicas)
    assert s.leader == -1 and s.error is not None and s.error.code() == 5, (s.leader, s.error)

    victim.restart(kill=True)

    def healed(b):
        md = metadata_ext(b.host, topics=["urp", "solo"], version=7)
        u = md["topics"]["urp"]["partitions"][0]
        s = md["topics"]["solo"]["partitions"][0]
        return (u["error"] == 0 and sorted(u["isr"]) == sorted([vid, oid, ctl]) and
                u["offline"] == [] and s["error"] == 0 and s["leader"] == vid and
                s["offline"] == [])

    for b in k.running():
        wait_until(lambda b=b: healed(b), 30 * S,
                   what="broker %d's Metadata: every replica back" % b.broker_id)
    assert [v for _, _, v in k.consume("solo", 0, 0, 1)] == [b"v solo"]
