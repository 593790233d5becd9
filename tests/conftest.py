from collections import Counter
from types import SimpleNamespace

import pytest
from hypothesis import is_hypothesis_test, settings

from crawler.samplemirror import MirrorServer, RecordingHttpProxy, RecordingSocks5Server, build_site

# No per-example deadline: speed is measured in bench/, not asserted in tests, and a loaded CI
# machine must not fail a property test for taking its time.
settings.register_profile("project", deadline=None)
settings.load_profile("project")

# What makes a test slow (see pytest_collection_modifyitems). Modules whose tests run a crawl, a server,
# redis, chromium, pywb or a subprocess (a Python with Scrapy takes a second to start): all of them, or
# all but a few quick checks of the sample site itself (test_editions.py, test_samplemirror.py):
SLOW_MODULES = frozenset(
    {
        "test_archive.py",  # crawls; pywb replays them
        "test_crawl.py",
        "test_editions.py",  # the sample mirror's editions, served
        "test_installed.py",  # a wheel built, a venv, crawls
        "test_mirrors.py",
        "test_normalize_command.py",
        "test_outage.py",
        "test_outputs.py",
        "test_recrawl.py",
        "test_samplemirror.py",  # the sample mirror and its proxies
        "test_shared.py",  # redis
        "test_socks_methods.py",
        "test_start_patience.py",
        "test_style.py",  # ruff and mypy
        "test_viewer.py",  # chromium
    }
)
# Fixtures that start the sample mirror, a proxy or a crawl, or that only tests running a scrapy
# command use (test_changes.py's workdir):
SLOW_FIXTURES = frozenset({"mirror", "socks_proxy", "http_proxy", "whole_crawl", "workdir"})
# Tests in modules of quick tests that run a subprocess, or go over all 1,114,112 code points:
SLOW_TESTS = frozenset(
    {
        "test_docs.py::test_the_examples_of_a_page_run",
        "test_graph.py::test_command",
        "test_graph.py::test_command_default_store_path",
        "test_graph.py::test_command_bad_store",
        "test_merge.py::test_command",
        "test_units.py::test_the_url_core_and_its_errors_import_no_scrapy",
        "test_scan.py::test_the_scanner_takes_the_definitions_characters_and_backslashes",
        "test_scan.py::test_the_url_split_is_the_definitions_after_every_code_point",
    }
)
# A test left unmarked that takes longer than this is named at the end of the run.
SLOW_SECONDS = 5.0
_unmarked_seconds: Counter[str] = Counter()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``slow`` the tests that wait on something outside their own code or run many generated
    examples, so that ``python -m pytest -q -m "not slow"`` runs the unit tests and the doctests in
    under a minute on a shared 2-core machine (``python -m pytest -q`` still runs everything).

    Which, as measured with ``--durations=0``: the tests of SLOW_MODULES, the tests using one of
    SLOW_FIXTURES, SLOW_TESTS, and every Hypothesis property test (hundreds to 1,500 examples
    each, 1-17 s apiece on that machine); what is left takes about 12 s of CPU. A test may also
    carry ``@pytest.mark.slow`` itself. Any other test that takes over SLOW_SECONDS is named at
    the end of the run (pytest_terminal_summary), so that these lists stay true as tests are added.
    """
    for item in items:
        name = f"{item.path.name}::{getattr(item, 'originalname', item.name)}"
        if (
            item.path.name in SLOW_MODULES
            or name in SLOW_TESTS
            or not SLOW_FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))
            or is_hypothesis_test(getattr(item, "obj", None))
        ):
            item.add_marker(pytest.mark.slow)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "slow" not in report.keywords:
        _unmarked_seconds[report.nodeid] += report.duration


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    late = {nodeid: seconds for nodeid, seconds in _unmarked_seconds.items() if seconds > SLOW_SECONDS}
    if late:
        terminalreporter.write_sep("-", f"not marked slow but over {SLOW_SECONDS:.0f} s: add to tests/conftest.py")
        for nodeid, seconds in sorted(late.items(), key=lambda pair: -pair[1]):
            terminalreporter.write_line(f"{seconds:6.1f} s  {nodeid}")


@pytest.fixture(scope="session")
def site():
    return build_site()


@pytest.fixture
def mirror(site):
    with MirrorServer(site) as server:
        yield server


@pytest.fixture
def socks_proxy(mirror):
    with RecordingSocks5Server(mirror.address) as proxy:
        yield proxy


@pytest.fixture
def http_proxy(mirror):
    with RecordingHttpProxy(mirror.address) as proxy:
        yield proxy


@pytest.fixture(scope="session")
def whole_crawl(tmp_path_factory):
    """One whole crawl of the sample mirror through the SOCKS5 proxy, shared by the test modules."""
    from tests.crawling import run_crawl

    site = build_site()
    workdir = tmp_path_factory.mktemp("whole")
    with MirrorServer(site) as server, RecordingSocks5Server(server.address) as proxy:
        result = run_crawl(workdir, proxy.url, settings={"DEPTH_LIMIT": "10"})
    return SimpleNamespace(site=site, server=server, proxy=proxy, result=result, workdir=workdir)
