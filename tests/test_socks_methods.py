"""SOCKS5 proxies that take no credentials, or refuse the crawl's greeting: real `scrapy crawl mirror`
runs through real SOCKS5 servers on 127.0.0.1 (:class:`~crawler.samplemirror.RecordingSocks5Server`
in its other modes), and the start-up check that learns what the proxy takes.

Tor, Tor Browser's port and arti take credentials (stream isolation); microsocks answers 0xFF to a
greeting that offers username/password alone, and OpenSSH's ``ssh -D`` hangs up on it. The crawl offers
"no authentication" beside username/password, as curl and Tor Browser do.
"""

import asyncio
import socket
import threading
import time

import pytest

from crawler.samplemirror.proxies import RecordingSocks5Server
from crawler.tor.download import WHICH_HANDLER
from crawler.tor.proxy import NO_AUTH, USER_PASS, StreamIsolation, check_proxy, parse_proxy
from tests.crawling import article_fetches, run_crawl

MIRROR_PATIENCE = 900  # the default: a refused greeting must not be waited out like an unreachable mirror
EXPERIMENTAL = "is experimental and is not recommended for production use"
BOTH = bytes([NO_AUTH, USER_PASS])  # the greeting's methods, with credentials to send
NO_AUTH_ALONE = bytes([NO_AUTH])
NOT_ISOLATED = "streams are not isolated"
WHOLE = {"DEPTH_LIMIT": "10"}
SHALLOW = {"DEPTH_LIMIT": "1"}


def _lines(result, words):
    return [line for line in result.stderr.splitlines() if words in line]


def _says_which_handler_once(result):
    assert EXPERIMENTAL not in result.stderr
    assert result.stderr.count(WHICH_HANDLER) == 1


# -- proxies that take no credentials ----------------------------------------------------------


@pytest.mark.parametrize("refusal", ["reply", "hang_up"], ids=["microsocks", "ssh -D"])
def test_a_proxy_that_takes_no_credentials_is_used_without_isolation(tmp_path, site, mirror, refusal):
    """It picks "no authentication" from the greeting: the crawl sends no credentials and fetches
    every article, and says once that its streams are not isolated."""
    with RecordingSocks5Server(mirror.address, methods=(NO_AUTH,), refusal=refusal) as proxy:
        started = time.monotonic()
        url = proxy.url
        result = run_crawl(tmp_path, url, settings=WHOLE)
        greetings, requests = list(proxy.greetings), list(proxy.requests)
    assert time.monotonic() - started < 60
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    stored = {item["url"] for item in result.items if item["status"] == 200}
    assert site.article_urls() <= stored  # every article, through the proxy
    assert set(article_fetches(mirror, site)) == {a.path for a in site.articles}
    [line] = _lines(result, NOT_ISOLATED)
    assert f"ONION_PROXY={url} " in line and "no authentication" in line and "WARNING" in line
    assert "ONION_PROXY_ISOLATION=off" in line  # how to say it is meant
    assert greetings[0] == BOTH  # the start-up check offered both
    assert set(greetings[1:]) == {NO_AUTH_ALONE}  # then every connection of the crawl: no credentials
    assert {request.username for request in requests} == {None}
    assert "is unreachable since" not in result.stderr
    _says_which_handler_once(result)


def test_with_isolation_off_no_authentication_is_offered_alone(tmp_path, mirror):
    with RecordingSocks5Server(mirror.address, methods=(NO_AUTH,)) as proxy:
        result = run_crawl(tmp_path, proxy.url, settings={**SHALLOW, "ONION_PROXY_ISOLATION": "off"})
        greetings = set(proxy.greetings)
    assert result.returncode == 0, result.stderr[-3000:]
    assert greetings == {NO_AUTH_ALONE}  # the check too: with nothing to send, nothing else is offered
    assert NOT_ISOLATED not in result.stderr  # asked for: nothing to warn about
    assert len(_lines(result, "Every request goes through ONION_PROXY=")) == 1


def test_the_users_credentials_are_not_sent_to_a_proxy_that_takes_none(tmp_path, mirror):
    with RecordingSocks5Server(mirror.address, methods=(NO_AUTH,)) as proxy:
        host, port = proxy.address
        result = run_crawl(tmp_path, f"socks5h://researcher:s3cret@{host}:{port}", settings=SHALLOW)
        users = {request.username for request in proxy.requests}
    assert result.returncode == 0, result.stderr[-3000:]
    assert users == {None}
    [line] = _lines(result, NOT_ISOLATED)
    assert f"socks5h://***:***@{host}:{port}" in line
    assert "s3cret" not in result.stderr and "researcher" not in result.stderr


# -- proxies that take credentials: Tor -----------------------------------------------------------


def test_tor_still_gets_the_crawls_own_credentials(tmp_path, socks_proxy, mirror):
    """Offered both, Tor picks username/password: every request carries the crawl's credentials,
    another crawl's are others, as before."""
    first = run_crawl(tmp_path / "one", socks_proxy.url, settings=SHALLOW)
    first_users = {request.username for request in socks_proxy.requests}
    first_greetings = list(socks_proxy.greetings)
    socks_proxy.reset()
    second = run_crawl(tmp_path / "two", socks_proxy.url, settings=SHALLOW)
    second_users = {request.username for request in socks_proxy.requests}
    assert first.returncode == second.returncode == 0, first.stderr[-2000:] + second.stderr[-2000:]
    [first_user], [second_user] = first_users, second_users
    assert first_user.startswith("crawl-") and second_user.startswith("crawl-") and first_user != second_user
    assert first_greetings[0] == BOTH  # the start-up check
    assert set(first_greetings[1:]) == {bytes([USER_PASS])}  # the crawl's connections: its credentials
    for result in (first, second):
        assert NOT_ISOLATED not in result.stderr
        assert len(_lines(result, "on circuits of this crawl's own")) == 1
        _says_which_handler_once(result)


# -- proxies that refuse the greeting -----------------------------------------------------------


@pytest.mark.parametrize(
    "behaviour, said",
    [
        ({"methods": ()}, "it answered 0xFF (no acceptable methods)"),
        ({"methods": (), "refusal": "hang_up"}, "it hung up without choosing a method"),
        ({"refuse_credentials": True}, "it chose username/password, then refused the credentials"),
    ],
    ids=["0xFF", "hangs up", "refuses the credentials"],
)
def test_a_refused_greeting_stops_the_crawl_at_once(tmp_path, mirror, behaviour, said):
    with RecordingSocks5Server(mirror.address, **behaviour) as proxy:
        url = proxy.url
        started = time.monotonic()
        result = run_crawl(tmp_path, url, timeout=60)
        requests = list(proxy.requests)
    assert time.monotonic() - started < MIRROR_PATIENCE / 30  # seconds, not MIRROR_PATIENCE
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [message] = _lines(result, "Cannot use the proxy")
    assert f"Cannot use the proxy ONION_PROXY={url}: " in message and said in message
    assert '"no authentication" and "username/password"' in message
    assert "-s ONION_PROXY_ISOLATION=off" in message  # it applies: the crawl offered its isolation credentials
    assert "is unreachable since" not in result.stderr and "Start Tor" not in result.stderr
    assert result.items == [] and requests == [] and mirror.requests == []
    _says_which_handler_once(result)


def test_a_refusal_names_the_proxy_with_its_credentials_masked(tmp_path, mirror):
    with RecordingSocks5Server(mirror.address, methods=()) as proxy:
        host, port = proxy.address
        result = run_crawl(tmp_path, f"socks5h://researcher:s3cret@{host}:{port}", timeout=60)
    assert result.returncode == 1
    [message] = _lines(result, "Cannot use the proxy")
    assert f"ONION_PROXY=socks5h://***:***@{host}:{port}: " in message
    assert "with the credentials in ONION_PROXY" in message
    assert "ONION_PROXY_ISOLATION" not in message  # it would change nothing: the URL's credentials are kept
    assert "s3cret" not in result.stderr and "researcher" not in result.stderr


def test_isolation_off_and_a_proxy_that_wants_credentials(tmp_path, mirror):
    with RecordingSocks5Server(mirror.address, methods=(USER_PASS,)) as proxy:
        result = run_crawl(tmp_path, proxy.url, settings={"ONION_PROXY_ISOLATION": "off"}, timeout=60)
        greetings = list(proxy.greetings)
    assert result.returncode == 1
    [message] = _lines(result, "Cannot use the proxy")
    assert 'offered "no authentication" in the SOCKS5 greeting, it answered 0xFF' in message
    assert "user:password@ before the host" in message and "ONION_PROXY_ISOLATION" not in message
    assert greetings == [NO_AUTH_ALONE]


# -- the start-up check alone ----------------------------------------------------------------------


def _check(proxy, credentials=None):
    host, port = proxy.address
    return asyncio.run(check_proxy(parse_proxy(f"socks5h://{host}:{port}"), 3.0, credentials))


class _HttpServerAnswering400:
    """What an HTTP server (or privoxy) that gets a SOCKS5 greeting may answer."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = self.listener.getsockname()[:2]
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        conn, _ = self.listener.accept()
        with conn:
            conn.recv(16)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.thread.join(5)
        self.listener.close()


def test_the_check_learns_the_method_and_sends_the_credentials(mirror):
    with RecordingSocks5Server(mirror.address) as tor, RecordingSocks5Server(mirror.address, methods=(0,)) as plain:
        assert _check(tor, ("crawl-4f2a", "4f2a")).method == USER_PASS
        assert _check(tor).method == NO_AUTH  # nothing to send: "no authentication" alone, which Tor takes
        assert _check(plain, ("crawl-4f2a", "4f2a")).method == NO_AUTH
        assert tor.greetings == [BOTH, NO_AUTH_ALONE] and plain.greetings == [BOTH]


def test_the_check_tells_a_refusal_from_a_proxy_that_is_not_there(mirror):
    with RecordingSocks5Server(mirror.address, methods=()) as refusing, _HttpServerAnswering400() as http:
        refused = _check(refusing, ("u", "p"))
        not_socks = _check(http)
    assert refused.reachable and refused.problem == "it answered 0xFF (no acceptable methods)"
    assert refused.offered == (NO_AUTH, USER_PASS) and refused.method is None
    assert not not_socks.reachable and "does not speak SOCKS5" in not_socks.problem


def test_dropped_credentials_leave_the_bare_proxy_url():
    isolation = StreamIsolation("socks5h://127.0.0.1:1080", "site", token="4f2a")
    assert isolation.credentials() == ("crawl-4f2a", "4f2a")
    isolation.drop_credentials()
    assert isolation.mode == "off" and isolation.credentials() is None
    assert isolation.proxy_url_for("nytimes") == "socks5h://127.0.0.1:1080"
    kept = StreamIsolation("socks5h://me:p%40ss@127.0.0.1:1080", "crawl")
    assert kept.credentials() == ("me", "p@ss")
    kept.drop_credentials()
    assert kept.proxy_url_for(None) == "socks5h://127.0.0.1:1080"
