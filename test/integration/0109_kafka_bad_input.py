"""0109: bad input on the Kafka port.  Each case runs on its own connection while another
client keeps a healthy connection open: garbage frames, a size above
socket.request.max.bytes (closed without waiting for the body), a negative or zero size,
unknown or unserved API keys, truncated request bodies, a half-sent frame: the broker
closes that connection and keeps serving the other client and new ones (ApiVersions,
Metadata through kcat).  An ApiVersions request of a version the broker does not know is
answered, in the v0 format, with UNSUPPORTED_VERSION (35) and the ApiVersions range only,
and the connection stays usable.
"""

import os
import random
import struct

import pytest

import kafkaharness
from kafkaharness import NONE, UNSUPPORTED_VERSION, KafkaWire, i32, kstr, request_frame

MAX_REQUEST = 102400

KAFKA_KW = dict(broker_extra={"socket.request.max.bytes": MAX_REQUEST})


@pytest.fixture
def healthy(kafka):
    """A client connection opened before the bad input; afterwards it must still be
    answered, and so must a new one."""
    b = kafka.brokers[0]
    w = KafkaWire(b.host)
    rd = w.call(18, 0)
    assert kafkaharness.parse_api_versions(rd, 0)[0] == NONE
    yield w
    try:
        rd = w.call(3, 1, kafkaharness.metadata_body(None, 1))
        assert set(kafkaharness.parse_metadata(rd, 1)["brokers"]) == {1}
        rd = w.call(18, 0)
        assert kafkaharness.parse_api_versions(rd, 0)[0] == NONE
    finally:
        w.close()
    kafka.check_alive()
    assert kafkaharness.api_versions(b.host, version=3)[0] == NONE
    md = kafka.kcat_metadata(b)
    assert [x["id"] for x in md["brokers"]] == [1]


def bad_conn(kafka, payload, timeout=10.0):
    """Sends payload on a new connection; True if the broker closed it, with what it
    sent back (nothing expected)."""
    w = KafkaWire(kafka.brokers[0].host)
    try:
        try:
            w.send(payload)
        except (BrokenPipeError, ConnectionResetError):
            return True, b""
        return w.wait_closed(timeout), w.buf
    finally:
        w.close()


GARBAGE = {
    "deadbeef": i32(64) + b"\xde\xad\xbe\xef" * 16,
    "http": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "ones": i32(40) + b"\xff" * 40,
    "tiny": i32(3) + b"\x00\x12\x00",          # shorter than a request header
}


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_garbage_frame_closes(kafka, healthy, name):
    closed, got = bad_conn(kafka, GARBAGE[name])
    assert closed, "connection left open after %s" % name
    assert got == b"", "answered garbage %s with %r" % (name, got[:40])


def test_size_above_max_closes_without_body(kafka, healthy):
    # only the size and a header: the broker must not wait for the megabytes announced
    closed, got = bad_conn(kafka, i32(MAX_REQUEST + 1) + request_frame(18, 0, 7)[4:], 5.0)
    assert closed and got == b""
    closed, got = bad_conn(kafka, i32(0x7FFFFFFF), 5.0)
    assert closed and got == b""


def exact_metadata_frame(total, corr):
    """A Metadata v4 request (allow_auto_topic_creation=false) whose size field is exactly
    `total`: distinct unknown topic names fill it."""
    fixed = len(request_frame(3, 4, corr, b"")) - 4 + 4 + 1  # header, array count, flag
    names = []
    left = total - fixed
    i = 0
    while left > 0:
        n = min(240, left - 2)
        if 0 < left - (2 + n) < 3:  # leave room for a last name of at least one byte
            n -= 3
        names.append(("m%d-" % i + "y" * 240)[:n])
        left -= 2 + n
        i += 1
    assert left == 0 and len(set(names)) == len(names)
    frame = request_frame(3, 4, corr, kafkaharness.metadata_body(names, 4, auto_create=False))
    assert struct.unpack(">i", frame[:4])[0] == total
    return frame, names


def test_size_at_max_is_served(kafka, healthy):
    # a request of exactly socket.request.max.bytes is within the limit
    frame, names = exact_metadata_frame(MAX_REQUEST, 11)
    with KafkaWire(kafka.brokers[0].host) as w:
        w.send(frame)
        rd = kafkaharness.Reader(w.recv_frame(10.0))
        assert rd.i32() == 11
        md = kafkaharness.parse_metadata(rd, 4)
    assert set(md["topics"]) == set(names)
    assert {t["error"] for t in md["topics"].values()} == {kafkaharness.UNKNOWN_TOPIC_OR_PARTITION}
    assert not set(names) & set(kafka.metadata()["topics"])


@pytest.mark.parametrize("size", [-1, -100000, 0])
def test_negative_or_zero_size_closes(kafka, healthy, size):
    closed, got = bad_conn(kafka, i32(size) + b"\x00" * 16, 5.0)
    assert closed and got == b""


@pytest.mark.parametrize("api_key", [1000, 32767, -5, 52])
def test_unknown_api_key_closes(kafka, healthy, api_key):
    # 52 (Vote) exists in Kafka 2.8 but only for KRaft controllers
    closed, got = bad_conn(kafka, request_frame(api_key, 0, 5))
    assert closed, "API key %d left the connection open" % api_key
    assert got == b"", got[:40]


def test_unsupported_produce_version_closes(kafka, healthy):
    closed, got = bad_conn(kafka, request_frame(0, 99, 5, b"\x00" * 20))
    assert closed and got == b""


def test_api_versions_unknown_version(kafka, healthy):
    with KafkaWire(kafka.brokers[0].host) as w:
        # a newer client: request header v2 (ApiVersions is flexible from v3), a body the
        # broker cannot know and must not parse
        w.send(request_frame(18, 127, 4242, b"\x01\x02 whatever a newer client sends",
                             flexible=True))
        frame = w.recv_frame(10.0)
        # v0: correlation id, error_code, [api_key, min, max] with only ApiVersions
        assert frame == struct.pack(">ihihhh", 4242, UNSUPPORTED_VERSION, 1, 18, 0, 3), frame
        # the client retries with a version the broker named, on the same connection
        rd = w.call(18, 3, kafkaharness.api_versions_body(3), flexible=True)
        err, keys = kafkaharness.parse_api_versions(rd, 3)
        assert err == NONE and keys[18] == (0, 3)


def metadata_truncated():
    return request_frame(3, 1, 9, i32(2) + kstr("only-one"))


def produce_truncated():
    body = kafkaharness.produce_body("t", 0, kafkaharness.record_batch([(b"k", b"v" * 100)]))
    return request_frame(0, 3, 9, body[:-40])


def create_topics_truncated():
    # one topic announced, name and partition count, then nothing
    return request_frame(19, 0, 9, i32(1) + kstr("trunc") + i32(1))


def api_versions_truncated():
    # a compact string announcing 20 bytes, 3 present
    return request_frame(18, 3, 9, bytes([21]) + b"abc", flexible=True)


def fetch_truncated():
    return request_frame(1, 4, 9, kafkaharness.fetch_body("t", 0, 0, 100)[:-6])


TRUNCATED = {
    "metadata": metadata_truncated,
    "produce": produce_truncated,
    "create_topics": create_topics_truncated,
    "api_versions": api_versions_truncated,
    "fetch": fetch_truncated,
}


@pytest.mark.parametrize("name", sorted(TRUNCATED))
def test_truncated_body_closes(kafka, healthy, name):
    closed, got = bad_conn(kafka, TRUNCATED[name]())
    assert closed, "truncated %s request left the connection open" % name
    assert got == b"", "truncated %s request answered: %r" % (name, got[:40])


def test_half_sent_frames_and_random_noise(kafka, healthy):
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    # a frame cut short, then the client goes away
    for n in (1, 3, 4, 10):
        w = KafkaWire(kafka.brokers[0].host)
        w.send(request_frame(3, 1, 1, kafkaharness.metadata_body(None, 1))[:n])
        w.close()
    # many connections with random bytes after a small valid size
    for _ in range(40):
        size = rng.randint(1, 200)
        payload = i32(size) + bytes(rng.getrandbits(8) for _ in range(size))
        w = KafkaWire(kafka.brokers[0].host)
        try:
            w.send(payload)
        except OSError:
            pass
        w.close()
    assert kafkaharness.api_versions(kafka.brokers[0].host, version=0)[0] == NONE


def test_pipelined_requests_answered_in_order(kafka, healthy):
    # not bad input, the other side of the same rule: frames sent back to back are all
    # answered, in order, on one connection
    with KafkaWire(kafka.brokers[0].host) as w:
        w.send(b"".join(request_frame(18, v % 3, 100 + v) for v in range(20)) +
               b"".join(request_frame(3, 1, 200 + i, kafkaharness.metadata_body(None, 1))
                        for i in range(5)))
        corrs = [struct.unpack(">i", w.recv_frame(10.0)[:4])[0] for _ in range(25)]
    assert corrs == list(range(100, 120)) + list(range(200, 205))
