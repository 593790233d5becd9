"""``scrapy mirrors``: the onion mirrors the rules know, and whether they answer.

    scrapy mirrors [--site NAME]                      one line per mirror on stdout
    scrapy mirrors [--site NAME] -o mirrors.jsonl     and one JSON line per mirror in a file
    scrapy mirrors --check [--site NAME] [--timeout S] [--concurrency N] [-o checks.jsonl]
    scrapy mirrors --check --json                     JSON lines on stdout, for monitoring

Without ``--check``: every mirror of the rules (``RULES_DIR``), or of ``--site`` (a rules
key such as ``nytimes``, a site's name, one of its hosts or onion hosts): site, onion
host, canonical domain, scheme, status (``live``, ``down since DATE`` as the public
checks saw it, ``retired DATE``), basis (stated, label, inferred) and source.

``--check`` asks every mirror that is not retired, through ``ONION_PROXY`` (Tor's
SOCKSPort, ``socks5h://``: names are resolved by Tor, never on this machine; the same
stream isolation as a crawl, ``ONION_PROXY_ISOLATION``), a few at a time
(``--concurrency``, 4): a ``GET /`` of the bare onion over the mirror's scheme (every label
of an onion is the same onion service, so that is what tells whether Tor reaches it), not
following redirects, within ``--timeout`` seconds (default: ``MIRROR_PROBE_TIMEOUT``, 60).
It reports up or down, the HTTP status, where ``/`` redirects (``Location``), the time to
the response's first byte (its headers), the expiry of an https mirror's certificate (read,
not verified: the crawl does not verify onion certificates either) and, for a mirror that
does not answer, why in words (Tor's SOCKS reply, :mod:`crawler.tor.replies`). A mirror is up
when it answers with a status below 500; a 5xx, a proxy's error page or no answer is down.

Exit status: 0 when every checked mirror is up; 1 when one or more is down (a check that
ran); 2 (:data:`crawler.cli.EXIT_FAILED`) when nothing could be checked: bad rules, an
unknown ``--site``, a proxy that does not answer, an output that cannot be written.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import IO, Any

from scrapy.exceptions import UsageError

from crawler.cli import ProjectCommand
from crawler.exceptions import CrawlerError, NoMirror, RuleError
from crawler.tor.proxy import (
    HOW_TO_FIX,
    NO_AUTH,
    StreamIsolation,
    check_proxy,
    parse_proxy,
    proxy_url_from_settings,
)
from crawler.tor.replies import exception_chain, proxy_refusal, read_tor_socks_replies, unreachable_reason
from crawler.url.normalize import normalizer_for
from crawler.url.rules import Mirror, Rules, Site

EXIT_DOWN = 1
DEFAULT_CONCURRENCY = 4
_PROXY_ERROR_BODY = 4096  # enough of a 5xx page to tell privoxy's own


@dataclass(frozen=True)
class Check:
    """What ``GET /`` on one mirror gave."""

    site: str
    onion: str
    url: str
    up: bool
    status: int | None = None
    location: str | None = None
    ttfb: float | None = None  # seconds to the response's headers
    certificate_expires: str | None = None  # notAfter of an https mirror's certificate (ISO, UTC)
    certificate_expired: bool | None = None
    reason: str | None = None  # why it is down, in words
    socks_code: int | None = None
    down_since: str | None = None  # the rules' word on it, for comparison
    checked_at: str = ""

    def line(self) -> str:
        if self.up:
            parts = [f"up    {self.site:<14} {self.url}  {self.status}", f"{self.ttfb:.2f}s"]
            if self.location:
                parts.append(f"-> {self.location}")
        else:
            answer = f"{self.status}  " if self.status is not None else ""
            parts = [f"down  {self.site:<14} {self.url}  {answer}{self.reason}"]
        if self.certificate_expires:
            expired = " (expired)" if self.certificate_expired else ""
            parts.append(f"certificate until {self.certificate_expires[:10]}{expired}")
        if self.down_since:
            parts.append(f"(rules: down since {self.down_since})")
        return "  ".join(parts)


class Command(ProjectCommand):
    def syntax(self) -> str:
        return "[--site NAME] [--check [--timeout SECONDS] [--concurrency N]] [--json] [-o FILE.jsonl]"

    def short_desc(self) -> str:
        return "List the onion mirrors the rules know; --check asks each through ONION_PROXY whether it answers"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--site", metavar="NAME", help="only this site (rules key, name, host or onion host)")
        parser.add_argument("--check", action="store_true", help="GET / on every mirror that is not retired")
        parser.add_argument(
            "--timeout",
            type=float,
            metavar="SECONDS",
            help="--check: a mirror that has not answered by then is down (default: MIRROR_PROBE_TIMEOUT, 60)",
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=DEFAULT_CONCURRENCY,
            metavar="N",
            help=f"--check: mirrors asked at once (default {DEFAULT_CONCURRENCY})",
        )
        parser.add_argument("--json", action="store_true", help="JSON lines on stdout instead of text")
        parser.add_argument("-o", "--output", metavar="FILE", help="also write JSON lines to FILE")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError(f"unexpected arguments: {' '.join(args)}")
        assert self.settings is not None
        timeout = self.settings.getfloat("MIRROR_PROBE_TIMEOUT", 60.0) if opts.timeout is None else opts.timeout
        if timeout <= 0 or opts.concurrency < 1:
            raise UsageError("--timeout must be more than 0 and --concurrency at least 1")
        try:
            rules = normalizer_for(self.settings.get("RULES_DIR")).rules
        except RuleError as exc:
            self.fail(f"bad rules: {exc}")
            return
        try:
            sites = [find_site(opts.site, rules)] if opts.site else list(rules.sites)
        except NoMirror as exc:
            self.fail(f"--site: {exc}")
            return
        with ExitStack() as stack:
            try:
                output = stack.enter_context(open(opts.output, "w", encoding="utf-8")) if opts.output else None
            except OSError as exc:
                self.fail(f"{opts.output}: cannot write ({exc.strerror or exc})")
                return
            if not opts.check:
                for mirror, site in _mirrors(sites):
                    self._emit(describe(mirror, site), mirror_line(mirror, site), opts.json, output)
                return
            self._check(sites, timeout, opts, output)

    def _check(self, sites: list[Site], timeout: float, opts: argparse.Namespace, output: IO[str] | None) -> None:
        assert self.settings is not None
        mirrors = [(m, s) for m, s in _mirrors(sites) if not m.retired]
        if not mirrors:
            names = ", ".join(s.key for s in sites)
            print(f"{names}: no mirror to check (every mirror is retired)", file=sys.stderr)
            return
        proxy_url = proxy_url_from_settings(self.settings)
        try:
            address = parse_proxy(proxy_url)
            isolation = StreamIsolation(proxy_url, self.settings.get("ONION_PROXY_ISOLATION", "crawl"))
        except CrawlerError as exc:
            self.fail(str(exc))
            return
        # The crawl's start-up check: is the proxy there, and does it take the isolation credentials?
        credentials = isolation.credentials()
        wait = min(timeout, self.settings.getfloat("ONION_PROXY_CHECK_TIMEOUT"))
        result = asyncio.run(check_proxy(address, wait, credentials))
        if not result.reachable:
            self.fail(f"cannot reach the proxy ONION_PROXY={address.display} ({result.problem}). {HOW_TO_FIX}")
            return
        if result.problem is not None:
            self.fail(f"the proxy ONION_PROXY={address.display} refused the SOCKS5 greeting: {result.problem}")
            return
        if result.method == NO_AUTH and credentials is not None:
            isolation.drop_credentials()  # it takes none: no isolation to be had through it
        down = 0
        user_agent = self.settings.get("USER_AGENT")
        for check in asyncio.run(
            check_mirrors(mirrors, isolation, timeout, opts.concurrency, user_agent, self._emitter(opts, output))
        ):
            down += not check.up
        if down:
            self.exitcode = EXIT_DOWN

    def _emitter(self, opts: argparse.Namespace, output: IO[str] | None) -> Callable[[Check], None]:
        def emit(check: Check) -> None:
            self._emit(asdict(check), check.line(), opts.json, output)

        return emit

    @staticmethod
    def _emit(record: dict[str, Any], line: str, as_json: bool, output: IO[str] | None) -> None:
        text = json.dumps(record, ensure_ascii=False)
        print(text if as_json else line, flush=True)
        if output is not None:
            output.write(text + "\n")
            output.flush()


# -- the rules --------------------------------------------------------------------


def find_site(name: str, rules: Rules) -> Site:
    """The site ``name`` names: a rules key, a site's name, one of its hosts, or a mirror's host."""
    wanted = name.strip().lower()
    for site in rules.sites:
        if wanted in (site.key.lower(), site.name.lower()):
            return site
    host = wanted.split("://", 1)[-1].split("/", 1)[0].rstrip(".")
    mirror = rules.mirror_for_label(host.removesuffix(".onion").rpartition(".")[2]) if host.endswith(".onion") else None
    found = rules.site(mirror.site) if mirror is not None else rules.site_for_host(host)
    if found is None:
        known = ", ".join(sorted(site.key for site in rules.sites))
        raise NoMirror(f"unknown site {name!r} (the rules know {known}, or a host of theirs)")
    return found


def _mirrors(sites: Iterable[Site]) -> Iterator[tuple[Mirror, Site]]:
    for site in sites:
        for mirror in site.mirrors:
            yield mirror, site


def describe(mirror: Mirror, site: Site) -> dict[str, Any]:
    """One mirror as a JSON object (``scrapy mirrors -o``)."""
    return {
        "site": site.key,
        "name": site.name,
        "onion": mirror.host,
        "version": mirror.version,
        "domain": mirror.domain,
        "bare_host": mirror.bare_host or mirror.domain,
        "scheme": mirror.scheme,
        "state": mirror.state,
        "retired": mirror.retired_date,
        "retired_source": mirror.retirement_source,
        "down_since": mirror.down_since or None,
        "down_source": mirror.down_source or None,
        "basis": mirror.basis or None,
        "source": mirror.source or None,
        "note": mirror.note or None,
    }


def mirror_line(mirror: Mirror, site: Site) -> str:
    return (
        f"{site.key:<14} {mirror.scheme:<5} {mirror.host:<62} {mirror.domain:<20} {mirror.state:<22} "
        f"{mirror.basis or '-':<8} {mirror.source or '-'}"
    )


# -- the check --------------------------------------------------------------------


async def check_mirrors(
    mirrors: list[tuple[Mirror, Site]],
    isolation: StreamIsolation,
    timeout: float,
    concurrency: int,
    user_agent: str | None = None,
    emit: Callable[[Check], None] | None = None,
) -> list[Check]:
    """Check ``mirrors``, ``concurrency`` at a time; ``emit(check)`` each as it is done."""
    read_tor_socks_replies()  # Tor's extended SOCKS codes (0xF0-0xF7), in words
    gate = asyncio.Semaphore(concurrency)

    async def one(mirror: Mirror, site: Site) -> Check:
        async with gate:
            return await check_mirror(mirror, site, isolation.proxy_url_for(site.key), timeout, user_agent)

    checks = []
    for done in asyncio.as_completed([one(m, s) for m, s in mirrors]):
        check = await done
        checks.append(check)
        if emit is not None:
            emit(check)
    return checks


async def check_mirror(
    mirror: Mirror, site: Site, proxy_url: str, timeout: float, user_agent: str | None = None
) -> Check:
    """``GET /`` on ``mirror``'s bare onion through ``proxy_url``, not following redirects."""
    import httpx2 as httpx

    url = f"{mirror.scheme}://{mirror.host}/"
    found: dict[str, Any] = {
        "site": site.key,
        "onion": mirror.host,
        "url": url,
        "down_since": mirror.down_since or None,
    }
    found["checked_at"] = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    headers = {"User-Agent": user_agent} if user_agent else {}
    started = time.monotonic()
    try:
        async with (
            asyncio.timeout(timeout),
            httpx.AsyncClient(
                proxy=proxy_url, verify=_unverified_context(), trust_env=False, timeout=timeout, follow_redirects=False
            ) as client,
            client.stream("GET", url, headers=headers) as response,
        ):
            ttfb = time.monotonic() - started
            found.update(status=response.status_code, location=response.headers.get("location"), ttfb=round(ttfb, 3))
            found.update(_certificate(response))
            refusal = None
            if response.status_code >= 500:
                body = b""
                async for chunk in response.aiter_raw():
                    body += chunk
                    if len(body) >= _PROXY_ERROR_BODY:
                        break
                refusal = proxy_refusal(_scrapy_response(url, response, body))
    except Exception as exc:  # noqa: BLE001 - every failure is a reason, in words
        return Check(**found, up=False, **_why(exc, timeout))
    if refusal is not None:
        return Check(**found, up=False, reason=refusal.reason)
    if found["status"] >= 500:
        return Check(**found, up=False, reason=f"the mirror answered {found['status']}")
    return Check(**found, up=True)


def _unverified_context() -> ssl.SSLContext:
    """TLS without verification, as the crawl fetches onions: the onion address is the key."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _certificate(response: Any) -> dict[str, Any]:
    """The peer certificate's notAfter (ISO, UTC) and whether it has passed; {} over plain HTTP."""
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    if not der:
        return {}
    from cryptography import x509

    expires = x509.load_der_x509_certificate(der).not_valid_after_utc
    return {
        "certificate_expires": expires.isoformat().replace("+00:00", "Z"),
        "certificate_expired": expires < datetime.now(UTC),
    }


def _scrapy_response(url: str, response: Any, body: bytes) -> Any:
    from scrapy.http import Response

    return Response(url, status=response.status_code, headers=list(response.headers.multi_items()), body=body)


def _why(exc: BaseException, timeout: float) -> dict[str, Any]:
    """Why a check got no answer, in words (Tor's SOCKS reply where there is one)."""
    import httpx2 as httpx

    causes = exception_chain(exc)
    if any(isinstance(c, TimeoutError | httpx.TimeoutException) for c in causes):
        return {"reason": f"no answer within {timeout:g} s (timed out)"}
    tls = next((c for c in causes if isinstance(c, ssl.SSLError)), None)
    if tls is not None:
        return {"reason": f"TLS handshake failed ({tls.reason or tls}): does the mirror serve https?"}
    unreachable = unreachable_reason(exc)
    if unreachable is not None:
        return {"reason": unreachable.reason, "socks_code": unreachable.socks_code}
    return {"reason": f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__}
