"""WARC/1.1 records for one fetch, built with warcio: request, response, revisit, metadata.

What goes into a record, and why:

* The **request** record holds the request line (method and target with its query)
  and the headers exactly as the HTTP client sent them, ``Host`` included.
* The **response** record holds the status line with its reason phrase and every
  header as received, in order, repeated ones (``Set-Cookie``) included. The body
  is stored as it came off the wire (still gzip-compressed if the server
  compressed it), so ``Content-Encoding`` stays true; only the chunked transfer
  coding is removed by the HTTP client, so ``Transfer-Encoding`` is kept under
  the name Common Crawl uses for it, ``X-Crawler-Transfer-Encoding``, and replay
  tools do not try to de-chunk a body that is not chunked.
* Digests are sha256 (as Browsertrix writes them), over the block and the payload.
* ``WARC-IP-Address`` is never written: through Tor it would be the proxy's address.
* A **revisit** (profile identical-payload-digest) names the record whose payload it
  reuses with ``WARC-Refers-To-Target-URI`` and ``-Date``; its own Target-URI may be
  another URL: that is how a capture of an onion URL also replays under its
  canonical URL (pywb and wabac.js load the payload from the record referred to).
  A 304 to a conditional request is a revisit with the server-not-modified profile
  (WARC 1.1, 6.7.2), referring to the page's earlier capture the same way, with that
  capture's payload digest, and with no HTTP block, so that pywb and wabac.js replay it
  as that capture rather than as a 304 (pywb uses a revisit's own headers when it has
  any: webrecorder/pywb#751); its request record keeps the conditional request.

>>> exchange = HttpExchange("GET", "/a?b=1", [("Host", "x.onion")], "HTTP/1.1", 200, "OK",
...                         [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("Transfer-Encoding", "chunked")])
>>> exchange.status_line
'200 OK'
>>> exchange.stored_response_headers()
[('Set-Cookie', 'a=1'), ('Set-Cookie', 'b=2'), ('X-Crawler-Transfer-Encoding', 'chunked')]
>>> payload_digest(b"hello")
'sha256:FTZE3OS7WCRQ4JXIHMVMLOPCTYNRMHS4D6TUEXTTAQZWFE4LTASA===='
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from io import BytesIO

from warcio.recordbuilder import RecordBuilder
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

__all__ = [
    "HttpExchange",
    "SERVER_NOT_MODIFIED",
    "SHA256",
    "WarcRecordBuilder",
    "WarcWriter",
    "payload_digest",
    "warc_fields",
]

SHA256 = "sha256"
SERVER_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
# Headers that name the proxy or its credentials: never stored, whatever the client sent.
_NEVER_STORED = frozenset({"proxy-authorization", "proxy-connection"})
_TRANSFER_ENCODING = "transfer-encoding"
_KEPT_TRANSFER_ENCODING = "X-Crawler-Transfer-Encoding"  # Common Crawl's name for the removed coding


class WarcWriter(WARCWriter):  # type: ignore[misc]  # warcio has no type hints
    """warcio's writer (gzip per record), computing sha256 block digests."""

    @staticmethod
    def _create_digester() -> Digester:
        return Digester(SHA256)


@dataclass(frozen=True)
class HttpExchange:
    """One HTTP request and the head of its response, as they crossed the wire."""

    method: str
    target: str  # origin-form: path and query, as sent
    request_headers: Sequence[tuple[str, str]]
    protocol: str  # "HTTP/1.1"
    status: int
    reason: str
    response_headers: Sequence[tuple[str, str]]
    request_body: bytes = b""

    @property
    def status_line(self) -> str:
        """``200 OK``: the reason phrase the server sent, or the standard one if it sent none."""
        reason = self.reason or _standard_reason(self.status)
        return f"{self.status} {reason}".rstrip()

    def stored_request_headers(self) -> list[tuple[str, str]]:
        return [(name, value) for name, value in self.request_headers if name.lower() not in _NEVER_STORED]

    def stored_response_headers(self) -> list[tuple[str, str]]:
        return [
            (_KEPT_TRANSFER_ENCODING if name.lower() == _TRANSFER_ENCODING else name, value)
            for name, value in self.response_headers
        ]


def _standard_reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def payload_digest(body: bytes) -> str:
    """The WARC digest of ``body``: ``sha256:`` and base32, as warcio writes and checks it."""
    return f"{SHA256}:{base64.b32encode(hashlib.sha256(body).digest()).decode('ascii')}"


def warc_fields(fields: Iterable[tuple[str, object]]) -> bytes:
    """An ``application/warc-fields`` body; empty values are left out, repeated names kept.

    >>> warc_fields([("canonical", "https://a/"), ("alias", "https://b/"), ("via", None)])
    b'canonical: https://a/\\r\\nalias: https://b/\\r\\n'
    """
    lines = (f"{name}: {' '.join(str(value).split())}\r\n" for name, value in fields if value not in (None, ""))
    return "".join(lines).encode("utf-8")


class WarcRecordBuilder(RecordBuilder):  # type: ignore[misc]  # warcio has no type hints
    """warcio's record builder, WARC/1.1, with sha256 digests."""

    def __init__(self) -> None:
        super().__init__(warc_version="1.1")

    @staticmethod
    def _create_digester() -> Digester:
        return Digester(SHA256)

    def request(self, uri: str, exchange: HttpExchange, date: str) -> ArcWarcRecord:
        http_headers = StatusAndHeaders(
            f"{exchange.method} {exchange.target} {exchange.protocol}",
            exchange.stored_request_headers(),
            is_http_request=True,
        )
        return self.create_warc_record(
            uri,
            "request",
            payload=BytesIO(exchange.request_body),
            length=len(exchange.request_body),
            http_headers=http_headers,
            warc_headers_dict={"WARC-Date": date},
        )

    def response(self, uri: str, exchange: HttpExchange, body: bytes, date: str, truncated: bool) -> ArcWarcRecord:
        headers = {"WARC-Date": date, "WARC-Payload-Digest": payload_digest(body)}
        if truncated:
            headers["WARC-Truncated"] = "disconnect"  # the connection broke before the body was complete
        return self.create_warc_record(
            uri,
            "response",
            payload=BytesIO(body),
            length=len(body),
            http_headers=self.http_headers(exchange),
            warc_headers_dict=headers,
        )

    def revisit(
        self,
        uri: str,
        exchange: HttpExchange,
        digest: str,
        refers_to: tuple[str, str, str],
        date: str,
        profile: str | None = None,
    ) -> ArcWarcRecord:
        """A revisit of ``uri`` whose payload is that of ``refers_to`` (record id, target URI,
        date); ``profile``: warcio's identical-payload-digest unless another is named."""
        record_id, target, target_date = refers_to
        # A server-not-modified revisit has no HTTP block: replay tools (pywb, wabac.js) take the
        # status and headers of a revisit from its own block when it has one, and would replay
        # the 304 rather than the capture it stands for. The request record keeps the exchange.
        not_modified = profile == SERVER_NOT_MODIFIED
        record = self.create_revisit_record(
            uri,
            digest,
            target,
            target_date,
            http_headers=None if not_modified else self.http_headers(exchange),
            warc_headers_dict={"WARC-Date": date, "WARC-Refers-To": record_id},
        )
        if profile is not None:
            record.rec_headers.replace_header("WARC-Profile", profile)
        return record

    def metadata(self, uri: str, refers_to: str, fields: Iterable[tuple[str, object]], date: str) -> ArcWarcRecord:
        body = warc_fields(fields)
        return self.create_warc_record(
            uri,
            "metadata",
            payload=BytesIO(body),
            length=len(body),
            warc_content_type="application/warc-fields",
            warc_headers_dict={"WARC-Date": date, "WARC-Refers-To": refers_to},
        )

    def warcinfo(self, filename: str, fields: Iterable[tuple[str, object]]) -> ArcWarcRecord:
        body = warc_fields(fields)
        return self.create_warc_record(
            "",
            "warcinfo",
            payload=BytesIO(body),
            length=len(body),
            warc_content_type="application/warc-fields",
            warc_headers_dict={"WARC-Filename": filename},
        )

    @staticmethod
    def http_headers(exchange: HttpExchange) -> StatusAndHeaders:
        return StatusAndHeaders(exchange.status_line, exchange.stored_response_headers(), protocol=exchange.protocol)

    def now(self) -> str:
        """The WARC-Date of this instant, to the microsecond (WARC/1.1)."""
        return str(self.curr_warc_date())
