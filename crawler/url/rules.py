"""Load and validate the rules: which onion mirrors map to which site, and which
query parameters are tracking noise.

Rules are data, one TOML file per site plus ``global.toml`` (see ``rules/``).
Everything is checked when loaded; a mistake raises :class:`RuleError` naming
the file, the key and the problem.

>>> rules = load_rules()
>>> rules.mirror_for_label("nytimes3xbfgragh").domain
'nytimes.com'
>>> rules.site_for_host("static01.nyt.com").name
'The New York Times'
>>> rules.site_for_host("nytimes.com.evil.example") is None
True

A ``[[mirrors]]`` entry says which onion serves which canonical domain, and how far
that is known and usable:

``onion``, ``domain`` (required)
    The onion label (v2 or v3, its v3 checksum checked) and the canonical domain it
    serves: ``<sub>.<onion>`` is ``<sub>.<domain>``.
``bare_host``
    The canonical host the bare onion (no label before it) serves, when it is not
    ``domain`` itself: Bellingcat's bare onion is ``www.bellingcat.com`` while its
    ``es.`` label is ``es.bellingcat.com``. A subdomain of ``domain`` (default: ``domain``).
``scheme``
    ``"https"`` (default) or ``"http"``: what the mirror serves. Onion services need no
    TLS and many serve plain HTTP only (taz, Bellingcat); a canonical ``https://`` URL
    is then fetched as ``http://`` on the mirror. Links found under either scheme of an
    onion map to the site's canonical scheme all the same.
``basis``, ``source``
    How the onion is tied to ``domain``: ``"stated"`` (a source says so: the site's
    Onion-Location header, its own page), ``"label"`` (follows from a stated mirror's
    label-preserving mapping) or ``"inferred"`` (the organisation's well-known domain;
    no source states it); ``source`` names the public source.
``retired``, ``retired_source``
    A mirror that is gone for good: the date (``"YYYY-MM-DD"``) and who said so. Every
    v2 onion is retired without saying (Tor disabled v2 onion services on
    2021-10-15); a v3 mirror is retired only when its organisation declared it gone.
    A retired mirror is mapped forever (old links that carry it still come to their
    canonical URLs) and never fetched on (:class:`~crawler.url.plan.MirrorPlan`).
``down_since``, ``down_source``
    Informational: since when (``"YYYY-MM-DD"``) the public checks have not reached a
    mirror that is not retired, and whose checks they are (``scrapy mirrors`` shows
    it). A mirror that is down may come back; it is still fetched on when asked.
``note``
    Free text.

>>> retired = rules.mirror_for_label("nytimes3xbfgragh")
>>> retired.retired, retired.retirement
(True, 'retired 2021-10-15 (v2 onion services: Tor disabled them; https://blog.torproject.org/v2-deprecation-timeline/)')
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import tldextract
from parsel import Selector

from crawler.exceptions import RuleError
from crawler.schedule import Schedule, ScheduleError
from crawler.url.onion import InvalidOnionAddress, onion_version

__all__ = [
    "Mirror",
    "ParamRule",
    "RuleError",
    "Rules",
    "Site",
    "bundled_rules_dir",
    "load_rules",
]

GLOBAL_FILE = "global.toml"
# Lists ignore ASCII case only (JavaScript's "i" flag, Firefox's ToLowerCase): "ſ" is not "s".
_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}

# Only the bundled Public Suffix List snapshot: a rules check never goes online.
_TLD_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@dataclass(frozen=True)
class ParamRule:
    """Query parameter names to strip: exact names, prefixes, anchored patterns.

    ``names`` and ``prefixes`` match in the case written (as AdGuard's ``$removeparam=name``
    and Brave's query filter do); ``any_case_names`` and ``any_case_prefixes`` (stored lower
    case) match ASCII names in any case (as ClearURLs' rules, applied with the ``i`` flag,
    and Firefox's query stripping, which lower-cases the name, do).

    >>> rule = ParamRule(names=frozenset({"pgType"}), any_case_prefixes=("utm_",))
    >>> rule.matches("UTM_SOURCE"), rule.matches("utm_source"), rule.matches("pgtype")
    ('utm_* (any case)', 'utm_*', None)
    """

    names: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    patterns: tuple[re.Pattern[str], ...] = ()
    kept: frozenset[str] = frozenset()  # ``keep``: part of a page's identity here, never stripped
    any_case_names: frozenset[str] = frozenset()
    any_case_prefixes: tuple[str, ...] = ()

    def matches(self, name: str) -> str | None:
        """Return a description of the rule that strips ``name``, or None."""
        if name in self.names:
            return name
        if self.any_case_names or self.any_case_prefixes:
            lowered = name.lower() if name.isascii() else name.translate(_ASCII_LOWER)
            note = "" if lowered == name else " (any case)"
            if lowered in self.any_case_names:
                return lowered + note
            for prefix in self.any_case_prefixes:
                if lowered.startswith(prefix):
                    return f"{prefix}*{note}"
        for prefix in self.prefixes:
            if name.startswith(prefix):
                return f"{prefix}*"
        for pattern in self.patterns:
            if pattern.fullmatch(name):
                return f"/{pattern.pattern}/"
        return None

    def __bool__(self) -> bool:
        return bool(self.names or self.prefixes or self.patterns or self.any_case_names or self.any_case_prefixes)


# Every v2 onion service is gone: Tor's stable releases of 2021-10-15 disabled them.
V2_RETIRED = "2021-10-15"
V2_RETIRED_SOURCE = "v2 onion services: Tor disabled them; https://blog.torproject.org/v2-deprecation-timeline/"
SCHEMES = ("https", "http")
BASES = ("stated", "label", "inferred")


@dataclass(frozen=True)
class Mirror:
    """An onion address that serves a site: ``<sub>.<onion>`` is ``<sub>.<domain>``, and
    the bare onion is ``bare_host`` (by default ``domain``). See the module docstring
    for each field's meaning."""

    onion: str  # the 16 or 56 character label, without ".onion"
    domain: str
    site: str  # the Site.key it belongs to
    version: int
    note: str = ""
    source: str = ""
    scheme: str = "https"  # what the mirror serves: a canonical URL is fetched on it with this scheme
    bare_host: str = ""  # the canonical host of the bare onion; "" is ``domain``
    basis: str = ""  # "stated", "label" or "inferred" ("" when the rule file does not say)
    retired_on: str = ""  # ISO date a v3 mirror was declared gone ("" for v2: see retired_date)
    retired_source: str = ""
    down_since: str = ""  # ISO date since when public checks have not reached it (informational)
    down_source: str = ""

    @property
    def host(self) -> str:
        return f"{self.onion}.onion"

    @property
    def retired(self) -> bool:
        """True for a mirror never to be fetched on: every v2 onion, and a v3 one declared gone."""
        return self.version == 2 or bool(self.retired_on)

    @property
    def retired_date(self) -> str | None:
        """The day it was retired (ISO), or None for a mirror that is not."""
        if not self.retired:
            return None
        return self.retired_on or V2_RETIRED

    @property
    def retirement_source(self) -> str | None:
        """Who said it is gone (for a v2 onion without its own word: Tor), or None if not retired."""
        if not self.retired:
            return None
        return self.retired_source or V2_RETIRED_SOURCE

    @property
    def retirement(self) -> str:
        """``retired DATE (SOURCE)``, or "" for a mirror that is not retired."""
        if not self.retired:
            return ""
        return f"retired {self.retired_date} ({self.retirement_source})"

    @property
    def state(self) -> str:
        """``live``, ``down since DATE`` or ``retired DATE``, in a few words."""
        if self.retired:
            return f"retired {self.retired_date}"
        return f"down since {self.down_since}" if self.down_since else "live"

    def canonical_host(self, sub: str) -> str:
        """The canonical host of ``<sub>.<onion>`` ("" for the bare onion)."""
        return f"{sub}.{self.domain}" if sub else (self.bare_host or self.domain)

    def onion_host(self, host: str) -> str | None:
        """The host on this mirror that serves canonical ``host``, or None when it serves none.

        >>> m = Mirror("bellcatmbguthn3age23lrbseln2lryzv3mt7whis7ktjw4qrestbzad", "bellingcat.com", "b", 3,
        ...            bare_host="www.bellingcat.com")
        >>> m.onion_host("www.bellingcat.com"), m.onion_host("es.bellingcat.com").split(".")[0]
        ('bellcatmbguthn3age23lrbseln2lryzv3mt7whis7ktjw4qrestbzad.onion', 'es')
        >>> m.onion_host("bellingcat.com") is None, m.onion_host("example.com") is None
        (True, True)
        """
        if host == (self.bare_host or self.domain):
            return self.host
        if host.endswith("." + self.domain):
            return host[: -len(self.domain)] + self.host
        return None


@dataclass(frozen=True)
class Site:
    """One news organisation: its canonical domains, mirrors and rules."""

    key: str
    name: str
    domains: tuple[str, ...]
    scheme: str
    mirrors: tuple[Mirror, ...]
    tracking: ParamRule
    article_patterns: tuple[re.Pattern[str], ...]
    path: str
    hub_patterns: tuple[re.Pattern[str], ...] = ()
    schedule: Schedule | None = None  # [recrawl] schedule; None: RECRAWL_SCHEDULE
    updated_selector: str | None = None  # [articles] updated_selector: the page's "Updated" line

    @property
    def live_mirrors(self) -> tuple[Mirror, ...]:
        """The mirrors a crawl may fetch on: those not retired."""
        return tuple(m for m in self.mirrors if not m.retired)

    def is_article_path(self, path: str) -> bool:
        """True when a canonical URL path is an article page of this site."""
        return any(p.search(path) for p in self.article_patterns)

    def is_hub_path(self, path: str) -> bool:
        """True when a canonical URL path is a hub (the home page, a section): fetched again
        in every round, since new articles appear there. ``[recrawl] hubs`` names them; by
        default every page that is not an article is a hub."""
        if self.hub_patterns:
            return any(p.search(path) for p in self.hub_patterns)
        return not self.is_article_path(path)


@dataclass(frozen=True)
class Rules:
    """All sites and the global tracking parameters, indexed for lookups."""

    sites: tuple[Site, ...]
    global_tracking: ParamRule
    directory: str
    _mirrors: Mapping[str, Mirror] = field(repr=False, default_factory=dict)
    _sites_by_domain: Mapping[str, Site] = field(repr=False, default_factory=dict)

    def mirror_for_label(self, label: str) -> Mirror | None:
        """The mirror whose onion label is exactly ``label`` (lower case)."""
        return self._mirrors.get(label)

    @property
    def mirrors(self) -> tuple[Mirror, ...]:
        return tuple(self._mirrors.values())

    def site_for_host(self, host: str) -> Site | None:
        """The site whose canonical domain is ``host`` or a parent of it."""
        sites = self._sites_by_domain
        if host in sites:
            return sites[host]
        index = host.find(".")
        while index != -1:
            site = sites.get(host[index + 1 :])
            if site is not None:
                return site
            index = host.find(".", index + 1)
        return None

    def site(self, key: str) -> Site:
        for site in self.sites:
            if site.key == key:
                return site
        raise KeyError(key)


def bundled_rules_dir() -> Path:
    """The rules folder shipped with the package: ``rules/`` of the checkout, which
    the wheel carries as ``crawler/bundled_rules/``."""
    packaged = Path(__file__).resolve().parent.parent / "bundled_rules"
    if (packaged / GLOBAL_FILE).is_file():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "rules"


def load_rules(directory: str | Path | None = None) -> Rules:
    """Load and validate every ``*.toml`` file in ``directory`` (default: bundled)."""
    path = Path(directory) if directory else bundled_rules_dir()
    return _load_rules_cached(str(path.resolve()))


@cache
def _load_rules_cached(directory: str) -> Rules:
    folder = Path(directory)
    if not folder.is_dir():
        raise RuleError(folder, "RULES_DIR", "not a folder")
    global_path = folder / GLOBAL_FILE
    if not global_path.is_file():
        raise RuleError(global_path, GLOBAL_FILE, "missing: the global rules file is required")
    global_tracking = _parse_global(global_path, _read_toml(global_path))
    site_paths = [p for p in sorted(folder.glob("*.toml")) if p.name != GLOBAL_FILE]
    sites = tuple(_parse_site(p, _read_toml(p)) for p in site_paths)
    for path, site in zip(site_paths, sites, strict=True):
        _check_kept(path, site.tracking, global_tracking, GLOBAL_FILE)
    return Rules(
        sites=sites,
        global_tracking=global_tracking,
        directory=directory,
        _mirrors=_index_mirrors(sites),
        _sites_by_domain=_index_domains(sites),
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(path, "(syntax)", str(exc)) from None


def _index_mirrors(sites: Iterable[Site]) -> dict[str, Mirror]:
    index: dict[str, Mirror] = {}
    files: dict[str, str] = {}
    for site in sites:
        for mirror in site.mirrors:
            if mirror.onion in index:
                raise RuleError(
                    site.path,
                    "mirrors.onion",
                    f"{mirror.host} is already a mirror in {files[mirror.onion]}",
                )
            index[mirror.onion] = mirror
            files[mirror.onion] = site.path
    return index


def _index_domains(sites: Iterable[Site]) -> dict[str, Site]:
    index: dict[str, Site] = {}
    for site in sites:
        for domain in site.domains:
            if domain in index:
                raise RuleError(site.path, "site.domains", f"{domain} is already claimed by {index[domain].path}")
            index[domain] = site
    return index


# -- schema checks --------------------------------------------------------------

_GLOBAL_KEYS = {"tracking": dict, "sources": list}
_TABLE_LISTS = {"mirrors"}  # lists of tables; every other list holds strings
_SITE_KEYS = {"site": dict, "mirrors": list, "tracking": dict, "articles": dict, "recrawl": dict}
_SITE_TABLE_KEYS = {"name": str, "domains": list, "scheme": str, "source": str}
_MIRROR_KEYS = {
    "onion": str,
    "domain": str,
    "bare_host": str,
    "scheme": str,
    "basis": str,
    "source": str,
    "retired": str,
    "retired_source": str,
    "down_since": str,
    "down_source": str,
    "note": str,
}
_ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TRACKING_KEYS = {
    "params": list,
    "prefixes": list,
    "params_any_case": list,
    "prefixes_any_case": list,
    "patterns": list,
    "keep": list,
    "sources": list,
    "note": str,
}
_ARTICLE_KEYS = {"patterns": list, "note": str, "updated_selector": str}
_RECRAWL_KEYS = {"hubs": list, "schedule": list, "note": str}


def _check_table(
    path: Path, prefix: str, table: Mapping[str, Any], schema: Mapping[str, type], required: Iterable[str] = ()
) -> None:
    for key, value in table.items():
        where = f"{prefix}{key}"
        if key not in schema:
            allowed = ", ".join(sorted(schema))
            raise RuleError(path, where, f"unknown key (allowed: {allowed})")
        expected = schema[key]
        if not isinstance(value, expected):
            raise RuleError(path, where, f"must be a {expected.__name__}, not {type(value).__name__}")
        if isinstance(value, list) and key not in _TABLE_LISTS and not all(isinstance(i, str) for i in value):
            raise RuleError(path, where, "must be a list of strings")
    for key in required:
        if key not in table:
            raise RuleError(path, f"{prefix}{key}", "missing")


def _parse_global(path: Path, data: dict[str, Any]) -> ParamRule:
    _check_table(path, "", data, _GLOBAL_KEYS, required=["tracking"])
    return _parse_tracking(path, data["tracking"])


def _parse_tracking(path: Path, table: Mapping[str, Any]) -> ParamRule:
    _check_table(path, "tracking.", table, _TRACKING_KEYS)
    for key in ("params", "prefixes", "params_any_case", "prefixes_any_case"):
        for item in table.get(key, []):
            if not item or item != item.strip() or "&" in item or "=" in item:
                raise RuleError(path, f"tracking.{key}", f"{item!r} is not a parameter name")
    for key in ("params_any_case", "prefixes_any_case"):
        for item in table.get(key, []):
            if not item.isascii() or item != item.lower():
                raise RuleError(path, f"tracking.{key}", f"{item!r}: write any-case names in ASCII lower case")
    for exact, any_case in (("params", "params_any_case"), ("prefixes", "prefixes_any_case")):
        both = sorted({i.lower() for i in table.get(exact, [])} & set(table.get(any_case, [])))
        if both:
            raise RuleError(path, f"tracking.{any_case}", f"{both[0]!r} is also in tracking.{exact}: list it once")
    rule = ParamRule(
        names=frozenset(table.get("params", [])),
        prefixes=tuple(table.get("prefixes", [])),
        patterns=tuple(_compile(path, "tracking.patterns", p) for p in table.get("patterns", [])),
        kept=frozenset(table.get("keep", [])),
        any_case_names=frozenset(table.get("params_any_case", [])),
        any_case_prefixes=tuple(table.get("prefixes_any_case", [])),
    )
    _check_kept(path, rule, rule, "this file")
    return rule


def _check_kept(path: Path, kept_by: ParamRule, stripping: ParamRule, where: str) -> None:
    """A parameter a site keeps (part of a page's identity) must not be stripped by any rule."""
    for name in sorted(kept_by.kept):
        stripped_by = stripping.matches(name)
        if stripped_by is not None:
            raise RuleError(path, "tracking.keep", f"{name!r} is kept, but {where} strips it ({stripped_by})")


def _compile(path: Path, key: str, pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise RuleError(path, key, f"bad regular expression {pattern!r}: {exc}") from None


def _registrable(path: Path, key: str, domain: str) -> str:
    if domain != domain.lower().strip().rstrip("."):
        raise RuleError(path, key, f"{domain!r} must be lower case, with no trailing dot")
    parts = _TLD_EXTRACT(domain)
    if not parts.suffix or parts.top_domain_under_public_suffix != domain:
        raise RuleError(
            path,
            key,
            f"{domain!r} is not a registrable domain "
            f"(the registrable domain is {parts.top_domain_under_public_suffix or 'none'!r})",
        )
    return domain


def _parse_site(path: Path, data: dict[str, Any]) -> Site:
    _check_table(path, "", data, _SITE_KEYS, required=["site", "tracking", "articles"])
    table = data["site"]
    _check_table(path, "site.", table, _SITE_TABLE_KEYS, required=["name", "domains", "scheme"])
    if table["scheme"] not in ("https", "http"):
        raise RuleError(path, "site.scheme", f"{table['scheme']!r} is not http or https")
    if not table["domains"]:
        raise RuleError(path, "site.domains", "names no domain")
    domains = tuple(_registrable(path, "site.domains", d) for d in table["domains"])
    mirrors = tuple(
        _parse_mirror(path, index, entry, path.stem, domains) for index, entry in enumerate(data.get("mirrors", []))
    )
    articles = data["articles"]
    _check_table(path, "articles.", articles, _ARTICLE_KEYS, required=["patterns"])
    recrawl = data.get("recrawl", {})
    _check_table(path, "recrawl.", recrawl, _RECRAWL_KEYS)
    return Site(
        key=path.stem,
        name=table["name"],
        domains=domains,
        scheme=table["scheme"],
        mirrors=mirrors,
        tracking=_parse_tracking(path, data["tracking"]),
        article_patterns=tuple(_compile(path, "articles.patterns", p) for p in articles["patterns"]),
        path=str(path),
        hub_patterns=tuple(_compile(path, "recrawl.hubs", p) for p in recrawl.get("hubs", [])),
        schedule=_schedule(path, recrawl),
        updated_selector=_selector(path, articles.get("updated_selector")),
    )


def _schedule(path: Path, recrawl: Mapping[str, Any]) -> Schedule | None:
    if "schedule" not in recrawl:
        return None
    try:
        return Schedule.parse(recrawl["schedule"])
    except ScheduleError as exc:
        raise RuleError(path, "recrawl.schedule", str(exc)) from None


def _selector(path: Path, selector: str | None) -> str | None:
    if selector is None:
        return None
    try:
        Selector(text="<html></html>").css(selector)
    except Exception as exc:  # noqa: BLE001 - cssselect's errors have no common base worth naming
        raise RuleError(path, "articles.updated_selector", f"not a CSS selector: {exc}") from None
    return selector


def _parse_mirror(path: Path, index: int, entry: Any, site_key: str, domains: tuple[str, ...]) -> Mirror:
    prefix = f"mirrors[{index}]."
    if not isinstance(entry, dict):
        raise RuleError(path, f"mirrors[{index}]", "must be a table")
    _check_table(path, prefix, entry, _MIRROR_KEYS, required=["onion", "domain"])
    onion = entry["onion"].removesuffix(".onion")
    if onion != onion.lower() or "." in onion:
        raise RuleError(path, f"{prefix}onion", f"{entry['onion']!r} must be a bare lower-case onion address")
    try:
        version = onion_version(onion)
    except InvalidOnionAddress as exc:
        raise RuleError(path, f"{prefix}onion", str(exc)) from None
    domain = entry["domain"]
    if not any(domain == d or domain.endswith("." + d) for d in domains):
        raise RuleError(path, f"{prefix}domain", f"{domain!r} is not one of the site's domains {list(domains)}")
    bare_host = entry.get("bare_host", "")
    if bare_host and bare_host != domain and not bare_host.endswith("." + domain):
        raise RuleError(path, f"{prefix}bare_host", f"{bare_host!r} is not {domain!r} or a subdomain of it")
    scheme = entry.get("scheme", "https")
    if scheme not in SCHEMES:
        raise RuleError(path, f"{prefix}scheme", f"{scheme!r} is not http or https")
    basis = entry.get("basis", "")
    if basis and basis not in BASES:
        raise RuleError(path, f"{prefix}basis", f"{basis!r} is not one of {', '.join(BASES)}")
    retired = _dated(path, prefix, entry, "retired", "retired_source")
    down_since = _dated(path, prefix, entry, "down_since", "down_source")
    if down_since and (retired or version == 2):
        raise RuleError(
            path, f"{prefix}down_since", "a retired mirror is never fetched or checked: drop down_since and down_source"
        )
    return Mirror(
        onion=onion,
        domain=domain,
        site=site_key,
        version=version,
        note=entry.get("note", ""),
        source=entry.get("source", ""),
        scheme=scheme,
        bare_host="" if bare_host == domain else bare_host,
        basis=basis,
        retired_on=retired,
        retired_source=entry.get("retired_source", ""),
        down_since=down_since,
        down_source=entry.get("down_source", ""),
    )


def _dated(path: Path, prefix: str, entry: Mapping[str, Any], key: str, source_key: str) -> str:
    """A ``"YYYY-MM-DD"`` date (or "") that comes with its source: one without the other is a mistake."""
    value: str = entry.get(key, "")  # a str: _check_table has checked the entry against its schema
    if bool(value) != bool(entry.get(source_key)):
        missing = source_key if value else key
        raise RuleError(path, f"{prefix}{missing}", f"missing: {key} and {source_key} go together")
    if value:
        try:
            ok = bool(_ISO_DATE_RE.fullmatch(value)) and date.fromisoformat(value) is not None
        except ValueError:
            ok = False
        if not ok:
            raise RuleError(path, f"{prefix}{key}", f"{value!r} is not a date written YYYY-MM-DD")
    return value
