"""pytest fixtures for the zkd integration scenarios (see zkharness.py).

  server   module-scoped default server (module may set SERVER_KW = dict(...) for
           ZkServer keyword arguments such as tick_time or extra config keys)
  servers  module-scoped ServerPool to start additional/custom servers
  ensembles  module-scoped zkensemble.EnsemblePool (quorum peers, see zkensemble.py)
  impl     "zkd" or "ref" (ZK_IMPL)
  kafka_clusters  module-scoped kafkaharness.ClusterPool (coordinator + kafkad brokers)
  kafka    module-scoped default cluster (module may set KAFKA_KW = dict(...) for
           kafkaharness.KafkaCluster keyword arguments such as n or broker_extra)
"""

import logging
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import zkharness  # noqa: E402

logging.getLogger("kazoo").setLevel(logging.CRITICAL)

_BASE = {}


def pytest_configure(config):
    _BASE["dir"] = zkharness.make_base_dir()
    _BASE["failed"] = False


def pytest_report_header(config):
    extra = "" if zkharness.IMPL == "ref" else " (%s)" % zkharness.zkd_bin()
    return "zkd integration: ZK_IMPL=%s%s, work dir %s" % (zkharness.IMPL, extra,
                                                          _BASE.get("dir"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        _BASE["failed"] = True
        for s in list(zkharness.ALL_SERVERS):
            rep.sections.append(("server log %s" % s.hostport, s.log_tail(40)))


def pytest_unconfigure(config):
    d = _BASE.get("dir")
    if not d:
        return
    if _BASE.get("failed") or os.environ.get("ZK_IT_KEEP"):
        sys.stderr.write("\nzkd integration work dir kept: %s\n" % d)
    else:
        zkharness.remove_tree(d)


@pytest.fixture(scope="session")
def impl():
    return zkharness.IMPL


@pytest.fixture(scope="module")
def servers(request):
    name = request.module.__name__.split(".")[-1]
    pool = zkharness.ServerPool(os.path.join(_BASE["dir"], name))
    yield pool
    bad = pool.shutdown()
    if bad:
        pytest.fail("zkd did not stop cleanly: " + "; ".join(bad), pytrace=False)


@pytest.fixture(scope="module")
def ensembles(request):
    """Module-scoped zkensemble.EnsemblePool: ensembles.new(impls=(...), ...).  Fails the
    module if a node exited by itself or a zkd did not exit 0 on SIGTERM."""
    import zkensemble
    name = request.module.__name__.split(".")[-1]
    pool = zkensemble.EnsemblePool(os.path.join(_BASE["dir"], name))
    yield pool
    bad = pool.shutdown()
    if bad:
        pytest.fail("ensemble node(s) ended badly: " + "; ".join(bad), pytrace=False)


@pytest.fixture(scope="module")
def kafka_clusters(request):
    """Module-scoped kafkaharness.ClusterPool: kafka_clusters.new(n=3, ...).  Fails the
    module if a broker exited by itself or did not exit 0 on SIGTERM, or if the
    coordinator did not stop cleanly."""
    import kafkaharness
    name = request.module.__name__.split(".")[-1]
    pool = kafkaharness.ClusterPool(os.path.join(_BASE["dir"], name))
    yield pool
    bad = pool.shutdown()
    if bad:
        pytest.fail("kafka cluster process(es) ended badly: " + "; ".join(bad), pytrace=False)


@pytest.fixture(scope="module")
def kafka(kafka_clusters, request):
    """The module's cluster, started: KafkaCluster(**KAFKA_KW of the module)."""
    kw = getattr(request.module, "KAFKA_KW", {})
    return kafka_clusters.new(**kw)


@pytest.fixture(scope="module")
def server(servers, request):
    kw = getattr(request.module, "SERVER_KW", {})
    return servers.new(**kw)


@pytest.fixture
def zk(server):
    """A started kazoo client on the module server, closed after the test."""
    c = server.kazoo()
    yield c
    try:
        c.stop()
        c.close()
    except Exception:  # noqa: BLE001
        pass


@pytest.fixture
def zk2(server):
    c = server.kazoo()
    yield c
    try:
        c.stop()
        c.close()
    except Exception:  # noqa: BLE001
        pass


def pytest_collection_modifyitems(config, items):
    if zkharness.IMPL != "ref":
        return
    skip = pytest.mark.skip(reason="meaningful only against zkd (ZK_IMPL=ref)")
    for it in items:
        if "zkd_only" in it.keywords:
            it.add_marker(skip)
