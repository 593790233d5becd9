from types import SimpleNamespace

import pytest
from hypothesis import settings

from crawler.samplemirror import MirrorServer, RecordingHttpProxy, RecordingSocks5Server, build_site

# No per-example deadline: speed is measured in bench/, not asserted in tests, and a loaded CI
# machine must not fail a property test for taking its time.
settings.register_profile("project", deadline=None)
settings.load_profile("project")


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
