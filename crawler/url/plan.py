"""Which mirror a crawl fetches each site on, and where a URL is fetched.

A crawl is started from mirror or canonical URLs. :class:`MirrorPlan` fixes,
per site, the one mirror (and scheme) the crawl uses; every URL of that site
is then fetched there, whatever address it was found under. Anything else
(other hosts, unknown or look-alike onions) has no fetch address.

>>> V3 = "www.nytimesn7cgmftshazwhfgzm37qxb44r64ytbb2dj3x62d2lljsciiyd.onion"
>>> plan = MirrorPlan.from_start_urls([f"http://{V3}/"])
>>> plan.fetch_address("http://www.nytimes3xbfgragh.onion/2016/a.html?smid=tw") == f"http://{V3}/2016/a.html"
True
>>> plan.fetch_address("https://www.example.org/") is None
True

A canonical start URL picks the site's mirror and the scheme that mirror serves
(taz's onion serves plain HTTP only). A retired mirror (every v2 onion, and one
its organisation declared gone) is never fetched on; its links still map:

>>> MirrorPlan.from_start_urls(["https://taz.de/"]).fetch_address("https://taz.de/!6012345/")
'http://zervmwoc5flabhlh3heegnspbpoebbgr3kgkaarkpnz2gtsuunlxgqyd.onion/!6012345/'
>>> MirrorPlan.from_start_urls(["http://www.nytimes3xbfgragh.onion/"])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
crawler.exceptions.NoMirror: http://www.nytimes3xbfgragh.onion/: nytimes3xbfgragh.onion is a retired mirror of ...
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from crawler.exceptions import NoMirror
from crawler.url.normalize import Normalizer, default_normalizer
from crawler.url.rules import Mirror, Site


@dataclass(frozen=True)
class MirrorChoice:
    mirror: Mirror
    scheme: str


@dataclass
class MirrorPlan:
    """The mirror (and scheme) a crawl uses for each site it crawls."""

    normalizer: Normalizer
    choices: dict[str, MirrorChoice] = field(default_factory=dict)

    @classmethod
    def from_start_urls(cls, urls: Iterable[str], normalizer: Normalizer | None = None) -> MirrorPlan:
        """Choose mirrors from start URLs: a mirror URL picks its own mirror and the
        scheme it is written with; a canonical URL picks the site's newest live mirror
        (not retired; one the public checks reach before one they do not) and the
        scheme that mirror serves. A URL on a retired mirror raises :class:`NoMirror`
        naming the site's live mirrors."""
        plan = cls(normalizer or default_normalizer())
        urls = list(urls)
        # Mirror URLs first: a canonical URL is then fetched on the mirror already chosen.
        for url in sorted(urls, key=lambda u: not plan._names_mirror(u)):
            plan._choose(url)
        return plan

    def _names_mirror(self, url: str) -> bool:
        return self.normalizer.mirror_for_host(urlsplit(url.strip()).hostname or "") is not None

    def _choose(self, url: str) -> None:
        parts = urlsplit(url.strip())
        mirror = self.normalizer.mirror_for_host(parts.hostname or "")
        if mirror is not None:
            if mirror.retired:
                raise NoMirror(self._retired_message(url, mirror))
            choice = MirrorChoice(mirror, parts.scheme.lower() or mirror.scheme)
        else:
            site = self.normalizer.site_for_url(self.normalizer.normalize(url))
            if site is None:
                raise NoMirror(f"{url} is neither a known mirror nor a site with one")
            if site.key in self.choices:
                return
            live = _newest_mirror(site, url)
            choice = MirrorChoice(live, live.scheme)
        current = self.choices.setdefault(choice.mirror.site, choice)
        if current != choice:
            raise NoMirror(
                f"{url}: the crawl already fetches {choice.mirror.site} on "
                f"{current.scheme}://{current.mirror.host}; one mirror per site"
            )

    def _retired_message(self, url: str, mirror: Mirror) -> str:
        site = self.normalizer.rules.site(mirror.site)
        canonical = self.normalizer.normalize(url)
        message = (
            f"{url}: {mirror.host} is a retired mirror of {site.name}, {mirror.retirement}. "
            f"Its links still map to their canonical URLs ({canonical}), but it is never fetched on."
        )
        return f"{message} {_live_alternatives(site, canonical, self.normalizer)}"

    def choice_for(self, canonical_url: str) -> MirrorChoice | None:
        site = self.normalizer.site_for_url(canonical_url)
        return self.choices.get(site.key) if site is not None else None

    def site_for(self, canonical_url: str) -> Site | None:
        """The crawled site a canonical URL belongs to, or None."""
        return self.site_for_host(urlsplit(canonical_url).hostname or "")

    def site_for_host(self, host: str) -> Site | None:
        site = self.normalizer.rules.site_for_host(host)
        return site if site is not None and site.key in self.choices else None

    def fetch_address(self, url: str) -> str | None:
        """Where ``url`` is fetched in this crawl, or None if it is not fetched."""
        canonical = self.normalizer.normalize(url)
        choice = self.choice_for(canonical)
        if choice is None:
            return None
        return self.normalizer.fetch_url(canonical, choice.mirror, choice.scheme)

    def adopt_scheme(self, address: str) -> bool:
        """Fetch on ``address``'s scheme from now on, for its mirror; True if it changed."""
        parts = urlsplit(address)
        mirror = self.normalizer.mirror_for_host(parts.hostname or "")
        current = self.choices.get(mirror.site) if mirror is not None else None
        if current is None or current.mirror != mirror or current.scheme == parts.scheme:
            return False
        self.choices[mirror.site] = MirrorChoice(mirror, parts.scheme)
        return True

    def is_on_mirror(self, url: str) -> bool:
        """True when ``url`` is already addressed to a mirror this crawl uses."""
        host = urlsplit(url).hostname or ""
        mirror = self.normalizer.mirror_for_host(host)
        choice = self.choices.get(mirror.site) if mirror is not None else None
        return choice is not None and choice.mirror == mirror


def _newest_mirror(site: Site, url: str) -> Mirror:
    """The live mirror of ``site`` to fetch canonical ``url`` on: the newest onion version,
    one the public checks reach (no ``down_since``) first, then the first in the rule file."""
    host = urlsplit(url).hostname or ""
    serving = [m for m in site.mirrors if m.onion_host(host) is not None]
    if not serving:
        raise NoMirror(f"{url}: no known mirror of {site.name} serves {host}")
    live = [m for m in serving if not m.retired]
    if not live:
        retired = "; ".join(f"{m.host}, {m.retirement}" for m in serving)
        raise NoMirror(f"{url}: every known mirror of {site.name} that serves {host} is retired: {retired}")
    return max(live, key=lambda m: (m.version, not m.down_since))


def _live_alternatives(site: Site, canonical_url: str, normalizer: Normalizer) -> str:
    """What to start from instead, on the site's live mirrors, in a sentence."""
    if not site.live_mirrors:
        return f"{site.name} has no live mirror."

    def down(mirror: Mirror) -> str:
        return f" (down since {mirror.down_since})" if mirror.down_since else ""

    addresses = [
        f"{address}{down(mirror)}"
        for mirror in site.live_mirrors
        if (address := normalizer.fetch_url(canonical_url, mirror)) is not None
    ]
    if addresses:
        return f"Start from a live mirror of {site.name} instead: {' or '.join(addresses)}"
    host = urlsplit(canonical_url).hostname
    roots = [f"{mirror.scheme}://{mirror.host}/{down(mirror)}" for mirror in site.live_mirrors]
    return f"No live mirror of {site.name} serves {host}; its live mirrors: {', '.join(roots)}"
