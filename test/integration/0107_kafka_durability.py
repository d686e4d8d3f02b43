"""0107: durability of one broker's log.  Records acknowledged (acks=1) by confluent-kafka
survive a kill -9 of the leader taken in the middle of a produce stream: after the restart
every acknowledged (partition, offset) holds the record that was acknowledged there.  The
log dir has Kafka's layout: <topic>-<partition>/ with 20-digit 00000000000000000000.log,
.index and .timeindex, meta.properties (version 0, broker.id, the cluster id of
/cluster/id), the recovery-point, log-start and replication offset checkpoints in their
text format, and a .lock.  An orderly stop exits 0 and leaves the .kafka_cleanshutdown
marker, checkpoints the log end as the recovery point and trims the index files to their
entries (each offset index entry points at the batch holding its offset); the next start
removes the marker and serves the same records.
"""

import os
import threading
import time

import kafkaharness
from zkharness import wait_until

KAFKA_KW = dict(session_timeout_ms=4000, broker_extra={
    "log.flush.offset.checkpoint.interval.ms": 1000,
    "log.flush.start.offset.checkpoint.interval.ms": 1000,
    "replica.high.watermark.checkpoint.interval.ms": 1000,
})

TOPIC = "dur"
PARTS = 2


class AckedProducer(threading.Thread):
    """Produces keyed records until stopped, recording every acknowledged one by
    (partition, offset)."""

    def __init__(self, kafka):
        super().__init__(daemon=True)
        self.p = kafka.producer(acks="1", **{"linger.ms": 2, "message.timeout.ms": 60000})
        self.acked = {}
        self.lock = threading.Lock()
        self.stop_ev = threading.Event()
        self.sent = 0

    def run(self):
        while not self.stop_ev.is_set():
            k = b"key-%06d" % self.sent
            v = b"value-%06d-" % self.sent + b"d" * (self.sent % 200)
            try:
                self.p.produce(TOPIC, key=k, value=v, on_delivery=self._dr)
                self.sent += 1
            except BufferError:
                pass
            self.p.poll(0.001 if self.sent % 50 else 0.01)

    def _dr(self, err, msg):
        if err is None:
            with self.lock:
                self.acked[(msg.partition(), msg.offset())] = (msg.key(), msg.value())

    def count(self):
        with self.lock:
            return len(self.acked)

    def finish(self):
        """Stops producing and drops whatever was not acknowledged yet."""
        self.stop_ev.set()
        self.join(10)
        self.p.purge()
        self.p.flush(5)
        with self.lock:
            return dict(self.acked)


def read_all(kafka, p, n):
    return {o: (k, v) for o, k, v in kafka.consume(TOPIC, p, 0, n, timeout=60)}


def meta_properties(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                k, _, v = line.partition("=")
                out[k] = v
    return out


def test_kill9_keeps_acknowledged_records(kafka):
    kafka.create_topic(TOPIC, partitions=PARTS)
    b = kafka.brokers[0]
    prod = AckedProducer(kafka)
    prod.start()
    try:
        wait_until(lambda: prod.count() >= 2000, 60, interval=0.01, what="2000 acked records")
        b.kill9()  # in the middle of the stream
    finally:
        acked = prod.finish()
    assert len(acked) >= 2000
    kafka.wait_unregistered(b.broker_id)
    b.start()
    kafka.wait_cluster()
    kafka.wait_topic(TOPIC, PARTS)
    for p in range(PARTS):
        mine = {o: kv for (pp, o), kv in acked.items() if pp == p}
        if not mine:
            continue
        assert sorted(mine) == list(range(len(mine))), "acked offsets of %d not contiguous" % p
        lo, hi = kafka.watermarks(TOPIC, p)
        assert lo == 0 and hi >= len(mine), (p, lo, hi, len(mine))
        got = read_all(kafka, p, len(mine))
        lost = [o for o in mine if got.get(o) != mine[o]]
        assert not lost, "partition %d: %d acknowledged records lost or changed, e.g. %s" % (
            p, len(lost), [(o, mine[o], got.get(o)) for o in lost[:3]])


def test_log_dir_layout(kafka):
    b = kafka.brokers[0]
    ld = b.log_dir
    cid = kafka.zk_json("/cluster/id")[0]["id"]
    mp = meta_properties(os.path.join(ld, "meta.properties"))
    assert mp == {"version": "0", "broker.id": str(b.broker_id), "cluster.id": cid}, mp
    assert os.path.exists(os.path.join(ld, ".lock"))
    assert not os.path.exists(os.path.join(ld, ".kafka_cleanshutdown"))
    for p in range(PARTS):
        d = b.partition_dir(TOPIC, p)
        names = set(os.listdir(d))
        for ext in (".log", ".index", ".timeindex"):
            assert "00000000000000000000" + ext in names, (d, sorted(names))
    ends = {(TOPIC, p): kafka.watermarks(TOPIC, p)[1] for p in range(PARTS)}

    def checkpoints_written():
        hw = b.read_checkpoint("replication-offset-checkpoint")
        rp = b.read_checkpoint("recovery-point-offset-checkpoint")
        ls = b.read_checkpoint("log-start-offset-checkpoint")
        return (all(hw.get(tp) == end for tp, end in ends.items()) and
                all(0 <= rp.get(tp, -1) <= end for tp, end in ends.items()) and
                all(ls.get(tp, 0) == 0 for tp in ends))

    wait_until(checkpoints_written, 20, interval=0.2,
               what="offset checkpoints with the high watermarks %s" % ends)


def test_orderly_stop_and_restart(kafka):
    b = kafka.brokers[0]
    ends = {p: kafka.watermarks(TOPIC, p)[1] for p in range(PARTS)}
    before = {p: read_all(kafka, p, ends[p]) for p in range(PARTS)}
    assert b.stop() == 0
    marker = os.path.join(b.log_dir, ".kafka_cleanshutdown")
    assert os.path.exists(marker), "no .kafka_cleanshutdown after an orderly stop"
    rp = b.read_checkpoint("recovery-point-offset-checkpoint")
    assert {p: rp.get((TOPIC, p)) for p in range(PARTS)} == ends
    for p in range(PARTS):
        d = b.partition_dir(TOPIC, p)
        with open(os.path.join(d, "%020d.log" % 0), "rb") as f:
            log = f.read()
        with open(os.path.join(d, "%020d.index" % 0), "rb") as f:
            idx = f.read()
        tsize = os.path.getsize(os.path.join(d, "%020d.timeindex" % 0))
        assert len(idx) % 8 == 0 and tsize % 12 == 0, (len(idx), tsize)
        assert len(idx) < 1 << 20 and tsize < 1 << 20, "index files not trimmed"
        batches = {bt["position"]: bt for bt in kafkaharness.parse_batches(log)}
        assert sum(bt["count"] for bt in batches.values()) == ends[p]
        if len(log) > 3 * 4096:
            assert idx, "no offset index entry for a %d-byte segment" % len(log)
        last = -1
        for i in range(0, len(idx), 8):
            rel, pos = int.from_bytes(idx[i:i + 4], "big"), int.from_bytes(idx[i + 4:i + 8],
                                                                            "big")
            assert rel > last, "index offsets not increasing"
            last = rel
            bt = batches.get(pos)
            assert bt is not None, "index entry (%d, %d) does not point at a batch" % (rel, pos)
            assert bt["base_offset"] <= rel <= bt["base_offset"] + bt["last_offset_delta"]
    t0 = time.monotonic()
    b.start()
    kafka.wait_cluster()
    wait_until(lambda: not os.path.exists(marker), 10,
               what=".kafka_cleanshutdown removed by the start (%.1fs)" % (time.monotonic() - t0))
    kafka.wait_topic(TOPIC, PARTS)
    for p in range(PARTS):
        assert kafka.watermarks(TOPIC, p) == (0, ends[p])
        assert read_all(kafka, p, ends[p]) == before[p]
