"""What Tor and the proxies say: SOCKS reply codes, proxy error pages, and what is the mirror's own answer."""

import pytest
from scrapy.exceptions import DownloadConnectionRefusedError, DownloadTimeoutError, IgnoreRequest
from scrapy.http import HtmlResponse

from crawler.samplemirror.outage import PRIVOXY_FAILURE_PAGE
from crawler.tor.replies import SOCKS_REPLIES, TorSocksError, proxy_refusal, read_tor_socks_replies, unreachable_reason


@pytest.mark.parametrize("code", sorted(c for c in SOCKS_REPLIES if c >= 0xF0))
def test_socksio_reads_tors_extended_codes(code):
    from socksio import socks5

    read_tor_socks_replies()
    reply = bytes([5, code, 0, 1, 0, 0, 0, 0, 0, 0])
    with pytest.raises(TorSocksError) as caught:
        socks5.SOCKS5Reply.loads(reply)
    assert caught.value.code == code
    try:
        raise DownloadConnectionRefusedError(str(caught.value)) from caught.value
    except DownloadConnectionRefusedError as exc:
        reason = unreachable_reason(exc)
    assert reason.socks_code == code and f"0x{code:02X}" in reason.reason
    assert reason.permanent == (code in (0xF4, 0xF5, 0xF6))


def test_socksio_still_reads_the_standard_codes():
    from socksio import socks5

    read_tor_socks_replies()
    assert socks5.SOCKS5Reply.loads(bytes([5, 4, 0, 1, 0, 0, 0, 0, 0, 0])).reply_code == socks5.SOCKS5ReplyCode(b"\x04")


@pytest.mark.parametrize(
    "exception, words, code",
    [
        (DownloadConnectionRefusedError("Proxy Server could not connect: Host unreachable."), "host unreachable", 4),
        (DownloadConnectionRefusedError("Proxy Server could not connect: TTL expired."), "TTL expired", 6),
        (DownloadTimeoutError("Getting http://x.onion/ took longer than 120 seconds."), "took longer", None),
    ],
)
def test_no_answer_from_the_mirror(exception, words, code):
    reason = unreachable_reason(exception)
    assert words in reason.reason and reason.socks_code == code


def test_a_refused_request_is_not_an_outage():
    assert unreachable_reason(IgnoreRequest("off the mirror")) is None
    assert unreachable_reason(ValueError("a bug")) is None


def _response(status, body, headers=None):
    return HtmlResponse("http://x.onion/a", status=status, body=body.encode(), headers=headers or {})


def test_privoxys_503_is_the_proxys_word_not_the_mirrors():
    refusal = proxy_refusal(_response(503, PRIVOXY_FAILURE_PAGE.format(url="http://x.onion/a")))
    assert refusal is not None and refusal.from_proxy
    assert proxy_refusal(_response(503, "<title>503 Service Unavailable</title> nginx")) is None  # the mirror's
    assert proxy_refusal(_response(200, "Privoxy is mentioned in this article")) is None
    assert proxy_refusal(_response(502, "", {"Proxy-Status": "tor; error=destination_unavailable"})) is not None
