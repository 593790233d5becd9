import pytest

from crawler.samplemirror import MirrorServer, RecordingHttpProxy, RecordingSocks5Server, build_site


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
