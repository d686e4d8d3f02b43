"""0105: long-poll fetch.  A Fetch at the end of a partition with max_wait_ms=5000 and
min_bytes=1 stays parked, and is answered as soon as a record is produced (well before
the 5 s), carrying that record; an idle Fetch is answered after about its max_wait_ms
(bounded, not tight: between 0.8x and max + 2.5 s), empty; max_wait_ms=0 answers at once.
A confluent-kafka consumer with fetch.wait.max.ms=5000 sees a new record within a
fraction of that wait.
"""

import time

import kafkaharness
from kafkaharness import NONE, KafkaWire, fetch_body, parse_batches, parse_fetch_v4
from confluent_kafka import KafkaError, TopicPartition

FAST = 2.0  # "well before the 5 s wait"


def produce_raw(host, topic, value):
    with KafkaWire(host) as w:
        rd = w.call(0, 3, kafkaharness.produce_body(topic, 0,
                                                    kafkaharness.record_batch([(None, value)])))
        ((_, _, err, base),) = kafkaharness.parse_produce_v3(rd)
        assert err == NONE
        return base


def test_parked_fetch_answered_when_data_arrives(kafka):
    kafka.create_topic("lp-raw", partitions=1)
    b = kafka.brokers[0]
    with KafkaWire(b.host) as w:
        corr = w.send_request(1, 4, fetch_body("lp-raw", 0, 0, 5000))
        # parked: nothing comes back for a while
        try:
            early = w.recv_frame(timeout=0.7)
        except TimeoutError:
            early = None
        assert early is None, "idle fetch answered at once: %r" % early[:40]
        t0 = time.monotonic()
        assert produce_raw(b.host, "lp-raw", b"wake up") == 0
        frame = w.recv_frame(timeout=8.0)
        dt = time.monotonic() - t0
    rd = kafkaharness.Reader(frame)
    assert rd.i32() == corr
    ((topic, part, err, hw, records),) = parse_fetch_v4(rd)
    assert (topic, part, err, hw) == ("lp-raw", 0, NONE, 1)
    batches = parse_batches(records)
    assert [(bt["base_offset"], bt["count"]) for bt in batches] == [(0, 1)]
    assert records.endswith(b"wake up\x00")  # value, then a zero header count
    assert dt < FAST, "fetch answered %.2fs after the produce (max wait 5 s)" % dt


def test_idle_fetch_waits_max_wait(kafka):
    kafka.create_topic("lp-idle", partitions=1)
    b = kafka.brokers[0]
    produce_raw(b.host, "lp-idle", b"one")
    with KafkaWire(b.host) as w:
        for wait_ms in (1500, 3000):
            t0 = time.monotonic()
            rd = w.call(1, 4, fetch_body("lp-idle", 0, 1, wait_ms), timeout=wait_ms / 1000 + 10)
            dt = time.monotonic() - t0
            ((_, _, err, hw, records),) = parse_fetch_v4(rd)
            assert (err, hw, records) == (NONE, 1, b"")
            assert wait_ms / 1000 * 0.8 <= dt <= wait_ms / 1000 + 2.5, (wait_ms, dt)
        t0 = time.monotonic()
        rd = w.call(1, 4, fetch_body("lp-idle", 0, 1, 0))
        dt = time.monotonic() - t0
        ((_, _, err, hw, records),) = parse_fetch_v4(rd)
        assert (err, hw, records) == (NONE, 1, b"")
        assert dt < 1.0, dt
        # data already there: answered at once despite a long max wait
        t0 = time.monotonic()
        rd = w.call(1, 4, fetch_body("lp-idle", 0, 0, 5000))
        dt = time.monotonic() - t0
        ((_, _, err, hw, records),) = parse_fetch_v4(rd)
        assert (err, hw) == (NONE, 1) and len(parse_batches(records)) == 1
        assert dt < 1.0, dt


def test_confluent_consumer_long_poll(kafka):
    kafka.create_topic("lp-cf", partitions=1)
    kafka.produce("lp-cf", [(None, b"first")], partition=0)
    c = kafka.consumer(**{"fetch.wait.max.ms": 5000, "fetch.min.bytes": 1})
    try:
        c.assign([TopicPartition("lp-cf", 0, 1)])
        deadline = time.monotonic() + 20
        eof = False
        while not eof and time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is not None:
                assert m.error() and m.error().code() == KafkaError._PARTITION_EOF, m.error()
                eof = True
        assert eof, "no end-of-partition event"
        # the consumer's next fetch is now parked at the broker
        assert c.poll(1.0) is None
        t0 = time.monotonic()
        kafka.produce("lp-cf", [(None, b"second")], partition=0, **{"linger.ms": 0})
        got = None
        while got is None and time.monotonic() < t0 + 10:
            m = c.poll(0.05)
            if m is not None and not m.error():
                got = m
        dt = time.monotonic() - t0
        assert got is not None and (got.offset(), got.value()) == (1, b"second")
        assert dt < FAST, "consumer got the record %.2fs after the produce" % dt
    finally:
        kafka.release(c)
