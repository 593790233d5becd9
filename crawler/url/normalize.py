"""The canonical form of a URL: one article, one URL.

A page fetched from an onion mirror is known by its canonical clearnet URL.
:func:`normalize_url` maps a URL to that identity, in this order:

a. strip surrounding whitespace; resolve against ``base`` if relative;
b. accept http and https only (anything else raises :class:`InvalidUrl`);
c. lower-case and IDNA-encode the host, drop a trailing dot, default ports
   and ``user:password@``;
d. map an exactly known mirror host (or a subdomain of one) to its canonical
   domain, keeping the subdomain labels;
e. give hosts of a known site the site's scheme (https);
f. strip global tracking parameters everywhere, a site's on its own hosts;
g. apply w3lib's ``canonicalize_url`` conventions (sorted query, normalized
   percent-encoding, no fragment, dot segments resolved, ``/`` for an empty path).

>>> normalize_url("http://www.nytimes3xbfgragh.onion/2016/12/05/world/a.html?rref=x&pgtype=collection#c")
'https://www.nytimes.com/2016/12/05/world/a.html'
>>> normalize_url("//static01.graylady3jvrrxbe.onion/images/x.jpg", base="http://www.nytimes3xbfgragh.onion/")
'https://static01.nyt.com/images/x.jpg'
>>> normalize_url("https://docs.python.org/3/?version=3&utm_source=x")
'https://docs.python.org/3/?version=3'
>>> normalize_url("http://www.nytimes3xbfgragx.onion/a")  # a lookalike is left alone
'http://www.nytimes3xbfgragx.onion/a'
>>> fetch_url("https://www.nytimes.com/2016/a.html?smid=tw", "nytimesn7cgmftshazwhfgzm37qxb44r64ytbb2dj3x62d2lljsciiyd")
'https://www.nytimesn7cgmftshazwhfgzm37qxb44r64ytbb2dj3x62d2lljsciiyd.onion/2016/a.html'

Identity and fetch address are different things: :func:`fetch_url` gives
the address on a mirror at which a canonical URL is fetched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from ipaddress import IPv6Address
from urllib.parse import quote_plus, unquote_plus, unquote_to_bytes, urljoin, urlsplit

from w3lib.url import canonicalize_url

from crawler.exceptions import InvalidUrl, NoMirror
from crawler.url._w3lib import PATH_SAFE_CHARS, PATH_SAFEST_CHARS, quote, remove_dot_segments, unquote_path
from crawler.url.rules import Mirror, Rules, Site, load_rules
from crawler.url.scan import common_url_parts

__all__ = [
    "Change",
    "Explanation",
    "InvalidUrl",
    "Normalizer",
    "check_base",
    "default_normalizer",
    "explain_url",
    "is_absolute_http",
    "fetch_url",
    "normalize_url",
    "normalizer_for",
]

_DEFAULT_PORTS = {"http": 80, "https": 443}
# WHATWG URL parsing strips leading/trailing C0 controls and spaces, and drops tabs/newlines.
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_TAB_NEWLINE = str.maketrans("", "", "\t\n\r")
_HOST_RE = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")
# Parts that w3lib's canonicalize_url leaves exactly as they are (checked by the
# differential property test): such URLs take the fast path, the rest go to w3lib.
_PLAIN_PATH_RE = re.compile(r"/[A-Za-z0-9\-._~!$'()*,:@/]*")
_PLAIN_QUERY_PART_RE = re.compile(r"[A-Za-z0-9\-._~]*")
_ESCAPED_QUERY_PART_RE = re.compile(r"(?:[A-Za-z0-9\-._~+]|%[0-9A-Fa-f]{2})*")
_ONION_RE = re.compile("onion", re.IGNORECASE | re.ASCII)
# The head of a URL nested in a query value, as it is written there (raw or %-encoded):
# scheme, "://", userinfo, an onion host and its port, up to the path, query or fragment.
_NESTED_HEAD_RE = re.compile(
    r"(?P<scheme>https?)(?P<sep>(?::|%3A)(?:/|%2F)(?:/|%2F))"
    r"(?P<userinfo>(?:[^/?#@%]|%(?!40)[0-9A-F]{2})*(?:@|%40))?"
    r"(?P<host>[A-Z0-9.-]+\.onion)(?P<port>(?::|%3A)[0-9]*)?(?=$|[/?#]|%2F|%3F|%23)",
    re.IGNORECASE | re.ASCII,
)
# The same without userinfo, for a value with no "@" or "%40" (where the group cannot match,
# and would only scan the whole value for one).
_NESTED_HEAD_NO_USERINFO_RE = re.compile(
    _NESTED_HEAD_RE.pattern.replace(r"(?P<userinfo>", r"(?P<userinfo>(?!)", 1), re.IGNORECASE | re.ASCII
)
_STRAY_PERCENT_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# What urlsplit gives, read in one match for the common shape: a lower-case http(s) scheme,
# an ASCII host name or an IPv6 literal, an optional port, then path, query and fragment
# (urlsplit splits the fragment at the first "#", the query at the first "?" before it).
# Anything else (userinfo, odd hosts, upper-case schemes) is left to urlsplit.
_SPLIT_RE = re.compile(
    r"(https?)://([A-Za-z0-9._-]+(?::[0-9]*)?|\[[0-9A-Fa-f:.]+\](?::[0-9]*)?)(/[^?#]*)?(?:\?([^#]*))?(?:#(.*))?",
    re.DOTALL,
)


def _escapes_re(codes: Iterable[str]) -> str:
    """A regex for "%" and one of ``codes`` (two upper-case hex digits), grouped by the first."""
    by_first: dict[str, list[str]] = {}
    for code in sorted(codes):
        by_first.setdefault(code[0], []).append(code[1])
    return "%(?:" + "|".join(f"{first}[{''.join(seconds)}]" for first, seconds in by_first.items()) + ")"


_HEX2 = [f"{byte:02X}" for byte in range(256)]


@dataclass(frozen=True)
class Change:
    """One change :func:`explain_url` reports: which step, what, by which rule."""

    step: str
    change: str
    rule: str

    def __str__(self) -> str:
        return f"{self.step}: {self.change} ({self.rule})"


@dataclass(frozen=True)
class Explanation:
    """The canonical form of ``url`` and every change that led to it."""

    url: str
    canonical: str
    changes: tuple[Change, ...] = field(default_factory=tuple)


class Normalizer:
    """Normalizes URLs with one set of rules; results are cached (LRU).

    >>> Normalizer().normalize("HTTP://WWW.NYTIMES.COM:80/a?b=2&a=1")
    'https://www.nytimes.com/a?a=1&b=2'
    """

    def __init__(self, rules: Rules | None = None, cache_size: int = 1 << 16) -> None:
        self.rules = rules or load_rules()
        self.normalize = lru_cache(maxsize=cache_size)(self._normalize_uncached)  # type: ignore[method-assign]
        # What a (scheme, netloc) and a (site, parameter name) come to: hosts and names recur
        # far more than whole URLs do (a page links a few hosts, a site uses a few names).
        self._netlocs: dict[tuple[str, str], tuple[str, str, Site | None]] = {}
        self._stripped: dict[tuple[str, str], bool] = {}
        # What a plain query comes to on a site's hosts: a site's links repeat a few queries.
        self._queries: dict[tuple[str, str], str] = {}

    def normalize(self, url: str, base: str | None = None) -> str:  # replaced per instance
        """Return the canonical form of ``url`` (see the module docstring)."""
        return self._normalize_uncached(url, base)

    def explain(self, url: str, base: str | None = None) -> Explanation:
        """Like :meth:`normalize`, listing each change and the rule behind it."""
        changes: list[Change] = []
        canonical = self._run(url, base, changes)
        return Explanation(url, canonical, tuple(changes))

    def mirror_for_host(self, host: str) -> Mirror | None:
        """The known mirror serving ``host`` (``<sub>.<onion>.onion``), or None."""
        host = host.lower().rstrip(".")
        if not host.endswith(".onion"):
            return None
        return self.rules.mirror_for_label(host[:-6].rpartition(".")[2])

    def site_for_url(self, canonical_url: str) -> Site | None:
        """The site a canonical URL belongs to, or None."""
        host = urlsplit(canonical_url).hostname or ""
        return self.rules.site_for_host(host)

    def fetch_url(self, url: str, mirror: Mirror | str, scheme: str | None = None) -> str | None:
        """The address at which ``url`` is fetched on ``mirror``, or None.

        ``url`` is normalized first, so a mirror URL, a canonical URL or one with
        tracking parameters all give the same address. None means the URL is not
        served by that mirror (another site, or a host the mirror does not map).
        ``scheme`` defaults to the mirror's own (``scheme`` in its rule: https, or
        http for a mirror that serves plain HTTP only).
        """
        if isinstance(mirror, str):
            found = self.rules.mirror_for_label(mirror.lower().removesuffix(".onion"))
            if found is None:
                raise NoMirror(f"{mirror!r} is not a known mirror")
            mirror = found
        canonical = self.normalize(url)
        parts = urlsplit(canonical)
        onion_host = mirror.onion_host(parts.hostname or "")
        if onion_host is None:
            return None
        port = f":{parts.port}" if parts.port else ""
        query = f"?{parts.query}" if parts.query else ""
        return f"{scheme or mirror.scheme}://{onion_host}{port}{parts.path}{query}"

    # -- the steps -------------------------------------------------------------

    def _normalize_uncached(self, url: str, base: str | None = None) -> str:
        # The common shape (crawler.url.scan.COMMON_URL_RE), its host and parameter names
        # seen before: plain characters only, which w3lib's canonical form leaves as they
        # are, so only stripping, the host's mapping and the query's order are left to do
        # (the slow path gives the same: tests/test_properties.py). Anything else takes the
        # steps one by one.
        if base is not None and isinstance(url, str) and (joined := _root_relative_join(url, base)) is not None:
            try:
                return self._normalize_uncached(joined)
            except InvalidUrl:
                pass  # the steps say what is wrong, naming the link as it was written
        parts = common_url_parts(url) if isinstance(url, str) else None
        if parts is None:
            return self._run(url, base, None)
        scheme, netloc, path, query = parts
        known = self._netlocs.get((scheme, netloc))
        if known is None or (path and "/." in path):
            return self._run(url, base, None)
        scheme, netloc, site = known
        if not query:
            return f"{scheme}://{netloc}{path or '/'}"
        key = (site.key if site is not None else "", query)
        kept = self._queries.get(key)
        if kept is None:
            kept = self._kept_query(site, key[0], query)
            if kept is None:
                return self._run(url, base, None)
            if len(self._queries) < 4096:
                self._queries[key] = kept
        return f"{scheme}://{netloc}{path or '/'}{kept}"

    def _kept_query(self, site: Site | None, site_key: str, query: str) -> str | None:
        """A plain query (the fast path's) as the canonical form writes it: ``?`` and the kept
        parameters sorted, or "" if none is kept; None if a value holds "=" (the slow path's)."""
        stripped = self._stripped
        kept: list[tuple[str, str]] = []
        for piece in query.split("&"):
            if not piece:
                continue
            name, _, value = piece.partition("=")
            if "=" in value:
                return None
            strip = stripped.get((site_key, name))
            if strip is None:
                strip = self._strips(site, name)
            if not strip:
                kept.append((name, value))
        if not kept:
            return ""
        if len(kept) > 1:
            kept.sort()
        return "?" + "&".join([f"{name}={value}" for name, value in kept])

    def _run(self, url: str, base: str | None, log: list[Change] | None) -> str:
        if not isinstance(url, str):
            raise InvalidUrl(f"a URL must be a str, not {type(url).__name__}")
        try:
            return self._steps(url, base, log)
        except InvalidUrl:
            raise
        except ValueError as exc:  # urllib's, w3lib's, a lone surrogate's UnicodeEncodeError
            raise InvalidUrl(f"cannot normalize {url!r}: {exc}") from None

    def _steps(self, url: str, base: str | None, log: list[Change] | None) -> str:
        text = _absolute(url, base, log)
        split = _SPLIT_RE.fullmatch(text)
        if split is not None:
            scheme, netloc, path, query, fragment = split.group(1, 2, 3, 4, 5)
            path, query, fragment = path or "", query or "", fragment or ""
        else:
            try:
                parts = urlsplit(text)
            except ValueError as exc:
                raise InvalidUrl(f"cannot parse {url!r}: {exc}") from None
            scheme, netloc, path, query, fragment = (parts.scheme.lower(), *parts[1:])
            if scheme not in _DEFAULT_PORTS:
                raise InvalidUrl(f"not an http(s) URL: {url!r}")
        if log is None:
            known = self._netlocs.get((scheme, netloc))
            if known is None:
                known = self._checked_netloc(url, text, split is not None, scheme, netloc, None)
                if len(self._netlocs) < 4096:
                    self._netlocs[scheme, netloc] = known
            scheme, netloc, site = known
        else:
            scheme, netloc, site = self._checked_netloc(url, text, split is not None, scheme, netloc, log)
        pairs = self._strip_tracking(query, site, log)
        if fragment and log is not None:
            _note(log, "fragment", f"dropped #{fragment}", "canonical form")
        return _canonical_form(scheme, netloc, path, pairs, log)

    def _checked_netloc(
        self, url: str, text: str, fast: bool, scheme: str, netloc: str, log: list[Change] | None
    ) -> tuple[str, str, Site | None]:
        """The scheme and netloc a URL's own come to, and the site of its host. A bad IP
        literal that the fast split let through gets urlsplit's own complaint."""
        try:
            host, port = _host_and_port(url, scheme, netloc, log)
        except InvalidUrl:
            if fast and netloc.startswith("["):
                try:
                    urlsplit(text)
                except ValueError as exc:
                    raise InvalidUrl(f"cannot parse {url!r}: {exc}") from None
            raise
        host, port = self._map_mirror(host, port, log)
        site = self.rules.site_for_host(host)
        if site is not None and scheme != site.scheme:
            _note(log, "scheme", f"{scheme} -> {site.scheme}", f"{_file(site)} site.scheme")
            if port == _DEFAULT_PORTS[site.scheme]:
                port = None
            scheme = site.scheme
        return scheme, host if port is None else f"{host}:{port}", site

    def _map_mirror(self, host: str, port: int | None, log: list[Change] | None) -> tuple[str, int | None]:
        if not host.endswith(".onion"):
            return host, port
        sub, _, label = host[:-6].rpartition(".")
        mirror = self.rules.mirror_for_label(label)
        if mirror is None:
            return host, port
        mapped = mirror.canonical_host(sub)
        rule = f"{mirror.site}.toml mirrors {mirror.host}: {mirror.note}".rstrip(": ")
        _note(log, "host", f"{host} -> {mapped}", rule)
        if port is not None:
            _note(log, "port", f"dropped :{port}", "a mirror's port is not the site's")
        return mapped, None

    def _strip_tracking(self, query: str, site: Site | None, log: list[Change] | None) -> list[str]:
        """The query's ``name=value`` pieces that are kept, nested URLs mapped."""
        if not query:
            return []
        kept = []
        global_rule = self.rules.global_tracking
        site_rule = site.tracking if site is not None else None
        for piece in query.split("&"):
            if not piece:
                continue
            name, eq, value = piece.partition("=")
            if "%" in name or "+" in name:
                name = unquote_plus(name)
            if log is None:
                stripped = self._stripped.get((site.key if site is not None else "", name))
                if stripped is None:
                    stripped = self._strips(site, name)
                if stripped:
                    continue
                if value and _ONION_RE.search(value):
                    piece = self._map_nested(piece, name, value, log)
                kept.append(piece)
                continue
            rule = global_rule.matches(name)
            if rule is not None:
                _note(log, "query", f"removed {name}", f"global.toml tracking: {rule}")
                continue
            if site_rule and (rule := site_rule.matches(name)) is not None:
                if log is not None:
                    _note(log, "query", f"removed {name}", f"{_file(site)} tracking: {rule}")
                continue
            if value and _ONION_RE.search(value):
                piece = self._map_nested(piece, name, value, log)
            kept.append(piece)
        return kept

    def _strips(self, site: Site | None, name: str) -> bool:
        """Whether the query parameter ``name`` is stripped on ``site``'s hosts (remembered)."""
        site_rule = site.tracking if site is not None else None
        strip = self.rules.global_tracking.matches(name) is not None or bool(
            site_rule and site_rule.matches(name) is not None
        )
        if len(self._stripped) < 4096:
            self._stripped[site.key if site is not None else "", name] = strip
        return strip

    def _map_nested(self, piece: str, name: str, value: str, log: list[Change] | None) -> str:
        """A URL nested in a parameter value (``redirect_uri=...``, a share link's ``url=``)
        is kept byte for byte, whatever its host, except that a known mirror's
        ``scheme://host`` becomes the site's scheme and canonical host (its port is kept,
        unless the scheme changed): the same link found on the clearnet page and on the
        mirror page gives the same URL."""
        head = _NESTED_HEAD_RE if "@" in value or "%40" in value else _NESTED_HEAD_NO_USERINFO_RE
        match = head.match(value)
        if match is None:
            return piece
        host = match["host"].lower()
        mapped, _ = self._map_mirror(host, None, None)
        if mapped == host:
            return piece
        site = self.rules.site_for_host(mapped)
        written, userinfo = match["scheme"], match["userinfo"] or ""
        scheme = site.scheme if site is not None else written.lower()
        if scheme == written.lower():
            nested = f"{written}{match['sep']}{userinfo}{mapped}{match['port'] or ''}"
        else:  # a mirror served on http: the site's scheme, and a port that was the mirror's
            nested = f"{scheme}{match['sep']}{userinfo}{mapped}"
        _note(log, "query", f"{name}: nested {match.group(0)} -> {nested}", "nested URL: mirror host mapped")
        return f"{piece.partition('=')[0]}={nested}{value[match.end() :]}"


def _absolute(url: str, base: str | None, log: list[Change] | None) -> str:
    text = url.strip(_C0_AND_SPACE)
    if "\t" in text or "\n" in text or "\r" in text:
        text = text.translate(_TAB_NEWLINE)
    if not text:
        raise InvalidUrl("empty URL")
    if base is not None and not is_absolute_http(text):
        try:
            joined = urljoin(check_base(base), text)
        except InvalidUrl:
            raise
        except ValueError as exc:
            raise InvalidUrl(f"cannot resolve {text!r} against {base!r}: {exc}") from None
        _note(log, "resolve", f"{text} -> {joined}", f"relative to {base}")
        return joined
    return text


def _root_relative_join(url: str, base: str) -> str | None:
    """``url`` resolved against ``base`` the quick way, if it is a path from the root or a
    protocol-relative URL with no dot segment and nothing that ``_absolute`` strips
    (``/a/b?c#d``, ``//host/a``): the base's scheme (and host) before it, as urljoin gives
    it; None for any other reference (urljoin's).

    >>> _root_relative_join("/a?b", "HTTP://h:81/x/y"), _root_relative_join("//i/a", "https://h/")
    ('http://h:81/a?b', 'https://i/a')
    >>> _root_relative_join("../a", "http://h/"), _root_relative_join("//[::1]/", "http://h/")
    (None, None)
    """
    if url[:1] != "/" or "/." in url or url[-1] == " " or not url.isprintable():
        return None
    if url[1:2] != "/":
        return _origin(base) + url
    if "[" in url or "]" in url:  # an IP literal: urljoin's own checks and complaints
        return None
    return _origin(base).partition(":")[0] + ":" + url


@lru_cache(maxsize=256)
def _origin(base: str) -> str:
    parts = urlsplit(check_base(base))
    return f"{parts.scheme}://{parts.netloc}"


@lru_cache(maxsize=256)
def check_base(base: str) -> str:
    """``base`` without surrounding whitespace, if it is an absolute http(s) URL that
    urllib can parse; otherwise :class:`InvalidUrl` naming it.

    >>> check_base(" http://example.com/a ")
    'http://example.com/a'
    >>> check_base("http://[::1")
    Traceback (most recent call last):
    ...
    crawler.exceptions.InvalidUrl: bad base URL 'http://[::1': Invalid IPv6 URL
    """
    if not isinstance(base, str):
        raise InvalidUrl(f"a base URL must be a str, not {type(base).__name__}")
    text = base.strip(_C0_AND_SPACE)
    try:
        text.encode("utf-8")
        parts = urlsplit(text)
    except ValueError as exc:
        raise InvalidUrl(f"bad base URL {base!r}: {exc}") from None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.netloc:
        raise InvalidUrl(f"bad base URL {base!r}: not an absolute http(s) URL")
    return text


def is_absolute_http(text: str) -> bool:
    """True when ``text`` starts with ``http:`` or ``https:`` (any case)."""
    head = text[:6].lower()
    return head.startswith("http:") or head.startswith("https:")


def _host_and_port(url: str, scheme: str, netloc: str, log: list[Change] | None) -> tuple[str, int | None]:
    if "@" in netloc:
        userinfo, _, netloc = netloc.rpartition("@")
        _note(log, "userinfo", f"dropped {userinfo}@", "credentials are not identity")
    host, port = _split_port(url, netloc)
    original = host
    host = _bracketed_host(url, host) if host.startswith("[") else _clean_host(url, host)
    if host != original and log is not None:
        _note(log, "host", f"{original} -> {host}", "lower case, IDNA, no trailing dot")
    if port == _DEFAULT_PORTS[scheme]:
        _note(log, "port", f"dropped :{port}", f"default port of {scheme}")
        port = None
    return host, port


def _split_port(url: str, netloc: str) -> tuple[str, int | None]:
    host, colon, port_text = netloc.rpartition(":")
    if not colon or "]" in port_text:
        return netloc, None
    if not port_text:
        return host, None
    if not port_text.isascii() or not port_text.isdigit() or int(port_text) > 65535:
        raise InvalidUrl(f"bad port {port_text!r} in {url!r}")
    return host, int(port_text)


def _bracketed_host(url: str, host: str) -> str:
    """An IP literal in w3lib's form: an IPv6 address compressed (RFC 5952, as w3lib's
    ``canonicalize_url`` writes it: ``str(ipaddress.ip_address(...))`` of the lower-cased
    host), an IPvFuture literal (``[v1.x]``) lower-cased; anything else is invalid.

    >>> _bracketed_host("", "[2001:0DB8:0000:0000:0000:0000:0000:0001]"), _bracketed_host("", "[::0:1]")
    ('[2001:db8::1]', '[::1]')
    """
    inner = host[1:-1].lower() if host.endswith("]") else ""
    if inner.startswith("v"):
        return f"[{inner}]"
    try:
        return f"[{_compressed_ipv6(inner)}]"
    except ValueError:
        raise InvalidUrl(f"bad IPv6 address {host!r} in {url!r}") from None


@lru_cache(maxsize=4096)
def _compressed_ipv6(inner: str) -> str:
    return str(IPv6Address(inner))


def _clean_host(url: str, host: str) -> str:
    host = host.lower().rstrip(".")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise InvalidUrl(f"bad international host name in {url!r}") from None
    if not _HOST_RE.fullmatch(host):
        raise InvalidUrl(f"bad host name {host!r} in {url!r}")
    return host


def _canonical_form(scheme: str, netloc: str, path: str, pairs: list[str], log: list[Change] | None) -> str:
    path = path or "/"
    before = f"{scheme}://{netloc}{path}" + (f"?{'&'.join(pairs)}" if pairs else "")
    query = _plain_query(pairs)
    out_path: str | None = path
    if query is not None and not _is_plain_path(path) and not _is_canonical_escaped_path(path):
        out_path = (None if path.isascii() else _encoded_path(path)) or _w3lib_path(path)
    if query is not None and out_path is not None:
        canonical = f"{scheme}://{netloc}{out_path}?{query}" if query else f"{scheme}://{netloc}{out_path}"
    else:
        # The "#" ends the URL where it ended: w3lib strips trailing spaces otherwise.
        canonical = canonicalize_url(f"{before}#")
        if "%" in path and _STRAY_PERCENT_RE.search(path):
            canonical = _fixed_point(canonical)
    if log is not None and canonical != before:
        _note(log, "canonical form", f"{before} -> {canonical}", "w3lib canonicalize_url conventions")
    return canonical


def _w3lib_path(path: str) -> str | None:
    """The path as w3lib's canonicalize_url writes it, or None when only w3lib itself
    will do (``;`` params, a stray ``%`` whose result needs a fixed point).

    canonicalize_url does these steps to a path after parsing the whole URL again; doing them
    on the path alone gives the same path at a third of the cost. They are private in w3lib,
    so owned in :mod:`crawler.url._w3lib`; the differential property test
    (tests/test_properties.py) holds us to w3lib's answer.
    """
    if ";" in path or ("%" in path and _STRAY_PERCENT_RE.search(path)):
        return None
    out = quote(unquote_path(quote(path.encode(), PATH_SAFEST_CHARS)), PATH_SAFE_CHARS)
    return remove_dot_segments(out) if out.startswith("/") else out


# The escapes w3lib's path steps keep as they are (upper-case, a byte they do not decode),
# found by asking them; a path of plain characters and such escapes comes out unchanged.
_KEPT_PATH_ESCAPES = [code for code in _HEX2 if _w3lib_path(f"/a%{code}b") == f"/a%{code}b"]
_CANONICAL_ESCAPED_PATH_RE = re.compile(rf"/(?:[A-Za-z0-9\-._~!$'()*,:@/]|{_escapes_re(_KEPT_PATH_ESCAPES)})*")


def _is_canonical_escaped_path(path: str) -> bool:
    return "%" in path and bool(_CANONICAL_ESCAPED_PATH_RE.fullmatch(path)) and "/." not in path


_NON_ASCII_RUN_RE = re.compile(r"[^\x00-\x7f]+")


def _encoded_path(path: str) -> str | None:
    """A path that is plain (or canonically escaped) but for non-ASCII characters, as w3lib
    writes it: those characters as upper-case ``%XX`` of their UTF-8 bytes, the rest as it
    is. None for any other path (and for a lone surrogate: w3lib's steps say what is wrong)."""
    ascii_only = _NON_ASCII_RUN_RE.sub("a", path)
    if not (_is_plain_path(ascii_only) or _is_canonical_escaped_path(ascii_only)):
        return None
    try:
        return _NON_ASCII_RUN_RE.sub(_percent_utf8, path)
    except UnicodeEncodeError:
        return None


def _percent_utf8(match: re.Match[str]) -> str:
    return "".join([f"%{byte:02X}" for byte in match.group(0).encode()])


def _fixed_point(url: str) -> str:
    """w3lib keeps a stray "%" in a path while decoding what follows it, so "/%%41a"
    becomes "/%Aa", a new escape that the next pass decodes: run it until it settles."""
    for _ in range(5):
        again = canonicalize_url(url)
        if again == url:
            break
        url = again
    return url


def _is_plain_path(path: str) -> bool:
    return bool(_PLAIN_PATH_RE.fullmatch(path)) and "/." not in path


def _plain_query(pairs: list[str]) -> str | None:
    """The query as w3lib writes it (sorted by decoded name and value, ``+`` for spaces,
    unreserved characters unescaped, other bytes as upper-case ``%XX``), or None when a
    piece needs w3lib itself (non-ASCII, a bad escape, a separator it escapes)."""
    decoded: list[tuple[bytes, bytes, str, str]] = []
    for pair in pairs:
        name, _, value = pair.partition("=")
        name_key, name_out = _plain_part(name)
        value_key, value_out = _plain_part(value)
        if name_out is None or value_out is None:
            return None
        decoded.append((name_key, value_key, name_out, value_out))
    if len(decoded) > 1:
        decoded.sort(key=lambda item: (item[0], item[1]))
    return "&".join(f"{name}={value}" for _, _, name, value in decoded)


def _plain_part(part: str) -> tuple[bytes, str | None]:
    """(the bytes a query part decodes to, its canonical spelling), or (b"", None)."""
    if _PLAIN_QUERY_PART_RE.fullmatch(part):
        return part.encode("ascii"), part
    if _CANONICAL_QUERY_PART_RE.fullmatch(part):  # spelled as quote_plus spells it
        return unquote_to_bytes(part.replace("+", " ")), part
    if not _ESCAPED_QUERY_PART_RE.fullmatch(part):
        return b"", None
    raw = unquote_to_bytes(part.replace("+", " "))
    return raw, quote_plus(raw, safe="")


# The escapes quote_plus(safe="") writes: upper-case, of a byte it does not leave as it is.
_KEPT_QUERY_ESCAPES = [code for code in _HEX2 if quote_plus(bytes.fromhex(code), safe="") == f"%{code}"]
_CANONICAL_QUERY_PART_RE = re.compile(rf"(?:[A-Za-z0-9\-._~+]|{_escapes_re(_KEPT_QUERY_ESCAPES)})*")


def _note(log: list[Change] | None, step: str, change: str, rule: str) -> None:
    if log is not None:
        log.append(Change(step, change, rule))


def _file(site: Site | None) -> str:
    return f"{site.key}.toml" if site is not None else "global.toml"


@lru_cache(maxsize=8)  # a lookup memo (no stat of the folder per URL); the normalizer is shared_normalizer's
def normalizer_for(rules_dir: str | None = None) -> Normalizer:
    """The shared normalizer (and its cache) for a rules folder; None is the bundled one."""
    return shared_normalizer(load_rules(rules_dir))


def default_normalizer() -> Normalizer:
    """The normalizer for the bundled rules, shared by the module-level functions."""
    return normalizer_for(None)


# One normalizer per rules object (load_rules returns one object per folder), so that its
# URL cache is shared by everything that normalizes with those rules.
_SHARED: dict[int, tuple[Rules, Normalizer]] = {}


def shared_normalizer(rules: Rules) -> Normalizer:
    """The one normalizer for ``rules``."""
    entry = _SHARED.get(id(rules))
    if entry is None or entry[0] is not rules:
        entry = _SHARED[id(rules)] = (rules, Normalizer(rules))
    return entry[1]


def _normalizer(rules: Rules | None) -> Normalizer:
    return default_normalizer() if rules is None else shared_normalizer(rules)


def normalize_url(url: str, base: str | None = None, *, rules: Rules | None = None) -> str:
    """The canonical form of ``url`` (resolved against ``base`` if relative).

    Raises :class:`InvalidUrl` (a ValueError) for anything that is not an
    http(s) URL. ``rules`` defaults to the bundled rules.
    """
    return _normalizer(rules).normalize(url, base)


def explain_url(url: str, base: str | None = None, *, rules: Rules | None = None) -> Explanation:
    """The canonical form of ``url`` with each change and the rule behind it."""
    return _normalizer(rules).explain(url, base)


def fetch_url(url: str, mirror: Mirror | str, scheme: str | None = None, *, rules: Rules | None = None) -> str | None:
    """The address of ``url`` on ``mirror`` (an onion label or Mirror), or None; ``scheme``
    defaults to the mirror's own."""
    return _normalizer(rules).fetch_url(url, mirror, scheme)
