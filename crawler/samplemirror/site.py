"""A deterministic, generated New-York-Times-shaped site and its ground truth.

:func:`build_site` returns a :class:`SampleSite`: a fixed set of article pages
(dated ``/YYYY/MM/DD/<section>/<slug>.html`` paths plus two
``/video/world/<id>/<slug>.html`` pages), navigation pages (``/``,
``/section/<name>``, ``/by/<author>``), a few deliberately awkward URLs (a dead
link, a redirect, a flaky page, a PDF, a page with broken UTF-8) and
``robots.txt``.  Every page is produced by :meth:`SampleSite.render`, so an
HTTP server only has to wrap it.

The site also *knows the answer*: which canonical URLs a crawl starting at
``/`` and following article links should find (:meth:`SampleSite.article_urls`),
which articles each page links to (:meth:`SampleSite.related`) and how many
article-link hops each article is from the home page
(:meth:`SampleSite.depth_of`).

Links between articles are written in ten different shapes (see
:data:`LINK_SHAPES`), cycled across the whole site, so that a crawler has to
normalise mirror hosts, tracking parameters, case, ports, fragments, relative
and protocol-relative forms to recognise that they all point at one article.

The site also moves with time.  :meth:`SampleSite.next_edition` (or
``build_site(..., edition=k)``) gives the site a day later: a few new
articles at the top of ``/`` and of their section, some articles edited (one
word, a paragraph, or the headline; each gets a ``dateModified``), some
removed (``404`` or ``410``) and, from edition 2 on, one earlier removal back
online.  What changed is the new edition's :attr:`SampleSite.changes`
(an :class:`EditionChanges`), so a recrawl can be measured as exactly as a
first crawl.  Most article pages carry validators (a strong ``ETag`` derived
from the body and ``Last-Modified``) and answer conditional requests with
``304``; every fourth article sends neither, as on real mirrors.  Opt-in
(``noise=True``), pages without validators carry per-response noise (an ad
slot id), so their bytes differ on every fetch while their text does not.

>>> site = build_site(40)
>>> day_after = site.next_edition()
>>> day_after.edition, len(day_after.changes.added), sorted(set(day_after.changes.edited.values()))
(1, 1, ['headline', 'paragraph', 'word'])
>>> sorted(day_after.changes.removed.values())
[404, 410]
>>> truth = day_after.article_urls()
>>> day_after.changes.added <= truth, day_after.changes.removed.keys() & truth
(True, set())
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
import random
import re
import unicodedata
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

MIRROR_V3 = "www.nytimesn7cgmftshazwhfgzm37qxb44r64ytbb2dj3x62d2lljsciiyd.onion"
"""The New York Times' v3 onion service host."""
MIRROR_V2 = "www.nytimes3xbfgragh.onion"
"""The retired v2 onion host (still linked from old pages)."""
CANONICAL_HOST = "www.nytimes.com"
"""The clearnet host every mirror URL maps to."""
LOOKALIKE = "www.nytimes3xbfgragx.onion"
"""A phishing-style lookalike of :data:`MIRROR_V2` (one letter differs)."""
BAD_CHECKSUM_V3 = "www.nytimesn7cgmftshazwhagzm37qxb44r64ytbb2dj3x62d2lljsciiyd.onion"
""":data:`MIRROR_V3` with one base32 char changed (``f`` -> ``a``): its checksum fails."""
OFFSITE_URL = "https://www.example.org/story.html"
"""A link to an unrelated site."""

DEAD_PATH = "/2016/01/01/world/dead-link.html"
"""Linked from some pages, answers 404."""
REDIRECT_PATH = "/2016/12/01/world/old-url.html"
"""Linked from some pages, answers 301 to an existing article on the mirror host."""
PDF_PATH = "/2016/12/05/world/chart.pdf"
"""A non-HTML resource served as ``application/pdf``."""

SECTIONS = ("world", "us", "politics", "business", "technology", "science", "opinion")
VIDEO_IDS = ("100000004788877", "100000004811386")

ROBOTS_TXT = "User-agent: *\nDisallow: /search\nDisallow: /svc/\n"
LOGIN_URL = "https://myaccount.nytimes.com/auth/login?response_type=cookie&client_id=vi"
SUBSCRIBE_PATH = "/subscription?campaignId=7JFJX"
SEARCH_PATH = "/search?query=syria"

Headers = dict[str, str]
Response = tuple[int, Headers, bytes]

HTML_TYPE = "text/html; charset=utf-8"

EDIT_KINDS = ("word", "paragraph", "headline")
"""How an edition edits an article: one word replaced, a paragraph added or rewritten, the headline changed."""
ADD_RATE, EDIT_RATE, REMOVE_RATE = 0.02, 0.05, 0.01
"""Share of the live articles each edition adds, edits and removes (at least 1, 3 and 2)."""
REMOVED_STATUSES = (404, 410)
"""What a removed article answers (alternately, so both occur in every edition)."""


# --------------------------------------------------------------------------
# Link shapes
# --------------------------------------------------------------------------

_TRACKING = (
    "?rref=collection%2Ftimestopic%2FSyria&action=click&contentCollection=world"
    "&region=stream&module=stream_unit&version=latest&contentPlacement=3"
    "&pgtype=collection"
)

LINK_SHAPES: tuple[tuple[str, Callable[[str], str]], ...] = (
    ("mirror-tracking", lambda p: f"http://{MIRROR_V3}{p}{_TRACKING}"),
    ("mirror-https-smid", lambda p: f"https://{MIRROR_V3}{p}?smid=tw-share"),
    ("mirror-v2", lambda p: f"http://{MIRROR_V2}{p}"),
    ("relative-query", lambda p: f"{p}?action=click&pgtype=Article&region=Footer"),
    ("protocol-relative", lambda p: f"//{MIRROR_V3}{p}"),
    ("canonical-rss", lambda p: f"https://{CANONICAL_HOST}{p}?partner=rss&emc=rss"),
    ("uppercase-host", lambda p: f"HTTP://{MIRROR_V3.upper()}{p}"),
    ("default-port", lambda p: f"http://{MIRROR_V3}:80{p}"),
    ("fragment", lambda p: f"{p}#comments"),
    (
        "canonical-utm",
        lambda p: f"http://{CANONICAL_HOST}{p}?utm_source=twitter&utm_medium=social&fbclid=abc",
    ),
)
"""``(name, make_href(path))`` for the ten shapes article links are written in."""

SHAPE_NAMES: tuple[str, ...] = tuple(name for name, _ in LINK_SHAPES)
RAW_AMPERSAND_SHAPES = frozenset({"relative-query"})
"""Shapes whose ``&`` is written raw in the HTML (all others use ``&amp;``)."""

EXTRA_LINKS: tuple[tuple[str, str, str], ...] = (
    ("dead", DEAD_PATH, "An article that no longer exists"),
    ("redirect", REDIRECT_PATH, "An article that moved"),
    ("lookalike", f"http://{LOOKALIKE}/2016/12/05/world/breaking.html", "Breaking"),
    ("bad-checksum", f"http://{BAD_CHECKSUM_V3}/2016/12/05/world/x.html", "Mirror"),
    ("offsite", OFFSITE_URL, "Elsewhere on the web"),
    ("pdf", PDF_PATH, "Download the chart (PDF)"),
)
"""``(kind, href, text)`` for non-article links sprinkled over odd-numbered articles."""


@dataclass(frozen=True)
class Link:
    """One ``<a>`` on a generated page."""

    href: str
    """The URL as it should be understood (before HTML escaping)."""
    text: str
    shape: str
    """A :data:`SHAPE_NAMES` entry, an :data:`EXTRA_LINKS` kind, or ``"nav"``."""
    target: str | None = None
    """Path of the article the link points at, if it points at an article."""

    def to_html(self) -> str:
        """Render as an ``<a>`` element (raw ``&`` for :data:`RAW_AMPERSAND_SHAPES`)."""
        if self.shape in RAW_AMPERSAND_SHAPES:
            href = self.href.replace('"', "%22")
        else:
            href = html.escape(self.href, quote=True)
        return f'<a href="{href}">{html.escape(self.text)}</a>'


@dataclass(frozen=True)
class Article:
    """Ground truth for one article (or video) page."""

    index: int
    path: str
    canonical_url: str
    title: str
    author: str
    published: str
    """``YYYY-MM-DDTHH:MM:SS-05:00``, as in ``article:published_time``."""
    section: str
    kind: str = "article"
    """``"article"`` or ``"video"``."""
    flaky: bool = False
    """Answers 503 to the first request a server receives for it."""
    bad_encoding: bool = False
    """Declared utf-8 but the body contains a few latin-1 bytes."""
    paragraphs: tuple[str, ...] = field(default=(), repr=False)
    modified: str | None = None
    """When an edition last edited it (same format as ``published``), else None."""
    edition: int = 0
    """The edition that first published it (0 for the articles :func:`build_site` makes)."""

    @property
    def author_slug(self) -> str:
        """``jane-doe`` for ``Jane Doe`` (the ``/by/<slug>`` path segment)."""
        return slugify(self.author)

    @property
    def has_validators(self) -> bool:
        """True when its page sends ``ETag`` and ``Last-Modified`` (every article but each fourth)."""
        return self.index % 4 != 3

    @property
    def last_modified(self) -> str:
        """``modified`` if it was edited, else ``published``."""
        return self.modified or self.published


@dataclass(frozen=True)
class EditionChanges:
    """What an edition changed relative to the one before it, keyed by canonical URL.

    ``edited`` maps a URL to its :data:`EDIT_KINDS` entry, ``removed`` to the
    status the page now answers (404 or 410); ``restored`` pages, removed in
    an earlier edition, answer 200 again.  Edition 0 has no changes.

    >>> EditionChanges(added=frozenset({"https://www.nytimes.com/a.html"})).changed
    {'https://www.nytimes.com/a.html'}
    """

    added: frozenset[str] = frozenset()
    edited: Mapping[str, str] = field(default_factory=dict)
    removed: Mapping[str, int] = field(default_factory=dict)
    restored: frozenset[str] = frozenset()

    @property
    def changed(self) -> set[str]:
        """Every URL whose answer differs from the previous edition's."""
        return set(self.added) | set(self.edited) | set(self.removed) | set(self.restored)


def canonical(path: str) -> str:
    """The clearnet URL for a site path."""
    return f"https://{CANONICAL_HOST}{path}"


def slugify(text: str, max_words: int = 8) -> str:
    """Lower-case, hyphenated, ASCII-only slug of at most ``max_words`` words."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    return "-".join(words[:max_words])


# --------------------------------------------------------------------------
# Prose generation
# --------------------------------------------------------------------------

_AUTHORS = (
    "Jane Doe",
    "Anne Barnard",
    "Michael R. Gordon",
    "Rick Gladstone",
    "Alissa J. Rubin",
    "Peter Baker",
    "Nicole Perlroth",
    "Carl Zimmer",
)
_PLACES = (
    "Aleppo",
    "Damascus",
    "Ankara",
    "Brussels",
    "Ohio",
    "Wisconsin",
    "Beijing",
    "Lagos",
    "Brasília",
    "Kyiv",
    "Manila",
    "Caracas",
    "Geneva",
    "Detroit",
)
_ACTORS = (
    "the State Department",
    "European diplomats",
    "local officials",
    "the United Nations",
    "opposition leaders",
    "federal regulators",
    "a coalition of aid groups",
    "the central bank",
    "state legislators",
    "senior military commanders",
    "independent researchers",
    "union leaders",
)
_TOPICS = (
    "the cease-fire",
    "the budget deal",
    "the evacuation",
    "the trade talks",
    "the new privacy rules",
    "the recount",
    "the vaccine trial",
    "the pipeline project",
    "the election results",
    "the drought",
    "the encryption debate",
    "the refugee crisis",
)
_VERBS = (
    "warned about",
    "pressed for changes to",
    "cast doubt on",
    "defended",
    "announced an inquiry into",
    "quietly backed",
    "rejected",
    "praised",
    "sought to delay",
    "raised new questions about",
)
_HEADLINE_TEMPLATES = (
    "{Place} Braces as {Topic} Falters",
    "In {Place}, {Actor} Weigh a New Approach to {Topic}",
    "{Actor} Split Over {Topic}",
    "What {Topic} Means for {Place}",
    "A Quiet Shift in {Place} Over {Topic}",
    "{Topic} Tests Patience in {Place}",
    "After Weeks of Talks, {Actor} Move on {Topic}",
)
_SENTENCE_TEMPLATES = (
    ("In {place}, {actor} {verb} {topic} on {weekday}, according to people familiar with the discussions."),
    ("The decision came after {n} days of negotiations that {actor} described as difficult but productive."),
    (
        "\u201cWe are not going to accept a deal that leaves people behind,\u201d "
        "said one official, who spoke on the condition of anonymity."
    ),
    ("Critics said {topic} had been mishandled from the start, pointing to delays that stretched for months."),
    ("About {n} percent of residents surveyed in {place} said they expected conditions to worsen over the next year."),
    ("The move is likely to intensify pressure on {actor}, who have so far avoided taking a public position."),
    ("Analysts cautioned that the numbers were preliminary and could change as more information became available."),
    ("By late {weekday}, {actor} had {verb} {topic}, a reversal that surprised many observers in {place}."),
    ("The episode has become a test of whether {actor} can still shape events far from the capital."),
    (
        "Officials in {place} declined to comment, but a spokeswoman said a "
        "statement would be released within {n} hours."
    ),
    (
        "Several residents described long lines, shuttered shops and a growing "
        "sense that {topic} would not be resolved soon."
    ),
    (
        "Documents reviewed by The New York Times show that {actor} had been "
        "warned about {topic} as early as last spring."
    ),
)
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_ACCENTED_SENTENCE = (
    "Outside a small caf\u00e9 in the old quarter, Jos\u00e9 Pe\u00f1a handed over his r\u00e9sum\u00e9 and shrugged."
)


def _fill(template: str, rng: random.Random) -> str:
    """Fill the ``{slot}`` placeholders of a sentence or headline template."""
    topic = rng.choice(_TOPICS)
    actor = rng.choice(_ACTORS)
    place = rng.choice(_PLACES)
    return template.format(
        place=place,
        Place=place,
        actor=actor,
        Actor=_TITLED[actor],
        topic=topic,
        Topic=_TITLED[topic],
        verb=rng.choice(_VERBS),
        weekday=rng.choice(_WEEKDAYS),
        n=rng.randint(3, 90),
    )


def _title_case(text: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in text.split())


_TITLED = {a: _title_case(a) for a in _ACTORS} | {t: _title_case(t.removeprefix("the ")) for t in _TOPICS}
"""``{Actor}`` and ``{Topic}`` of each actor and topic, computed once (building 1,000 articles fills 30,000 slots)."""


def _paragraph(rng: random.Random) -> str:
    """3-5 generated sentences."""
    return " ".join(_fill(t, rng) for t in rng.sample(_SENTENCE_TEMPLATES, rng.randint(3, 5)))


def _paragraphs(rng: random.Random, accented: bool) -> tuple[str, ...]:
    """5-10 paragraphs of 3-5 generated sentences each."""
    paras = [_paragraph(rng) for _ in range(rng.randint(5, 10))]
    if accented:
        paras[1] = f"{paras[1]} {_ACCENTED_SENTENCE}"
    return tuple(paras)


# --------------------------------------------------------------------------
# The site
# --------------------------------------------------------------------------


@dataclass
class SampleSite:
    """A generated mirror site and its ground truth.  Build it with :func:`build_site`.

    An edition is never changed in place: :meth:`next_edition` returns a new
    site, so a test can keep both and serve one after the other.
    """

    articles: list[Article]
    """Every article ever published, by ``index`` -- the removed ones too (see :attr:`removed`)."""
    links: dict[str, list[Link]]
    """Content links (related coverage, extras, home/section lists) per page path."""
    home_targets: tuple[str, ...]
    """Paths of the articles linked from ``/``."""
    redirect_target: str
    seed: int
    edition: int = 0
    """0 for the site :func:`build_site` generates; ``k + 1`` for ``next_edition()`` of edition ``k``."""
    changes: EditionChanges = field(default_factory=EditionChanges)
    """What this edition changed relative to the previous one (nothing for edition 0)."""
    removed: dict[str, int] = field(default_factory=dict)
    """Path -> status (404 or 410) of every article removed by an edition and not restored since."""
    noise: bool = False
    """Opt-in: pages without validators carry per-response noise (see :meth:`render`)."""

    def __post_init__(self) -> None:
        self._by_path = {a.path: a for a in self.articles}
        self._by_url = {a.canonical_url: a for a in self.articles}
        self._depths = self._bfs()

    # -- ground truth ------------------------------------------------------

    def article(self, path_or_url: str) -> Article:
        """The article at a site path or canonical URL (``KeyError`` if none; removed ones are found)."""
        if path_or_url.startswith("/"):
            return self._by_path[path_or_url]
        return self._by_url[path_or_url]

    def is_article(self, target: str) -> bool:
        """True when a request target (query ignored) is an article's path (removed or not)."""
        return target.split("#", 1)[0].split("?", 1)[0] in self._by_path

    def article_urls(self) -> set[str]:
        """Canonical URLs of every article reachable from ``/`` via article links and answering 200.

        Dead links, the redirect source, PDFs and navigation pages are not
        articles, so they never appear here; nor do removed articles, whose
        links a crawler cannot follow.
        """
        return set(self._depths)

    def related(self, path_or_url: str) -> set[str]:
        """Canonical URLs of the articles a page (path or canonical URL) links to.

        Only article links count (not nav, dead, redirect, offsite or PDF links).
        ``related("/")`` gives the articles linked from the home page.
        """
        path = path_or_url if path_or_url.startswith("/") else self.article(path_or_url).path
        return {canonical(x.target) for x in self.links.get(path, []) if x.target}

    def depth_of(self, canonical_url: str) -> int:
        """Fewest article-link hops from ``/`` (an article linked from ``/`` is 1).

        Only the home page and article pages' links count; section and author
        pages are ignored.  Accepts a site path too.  ``KeyError`` if unknown
        or unreachable (a removed article, for one).
        """
        if canonical_url.startswith("/"):
            canonical_url = canonical(canonical_url)
        return self._depths[canonical_url]

    def shape_counts(self) -> Counter[str]:
        """How many links of each shape (article shapes and extras) the site contains."""
        return Counter(x.shape for page in self.links.values() for x in page)

    def html_pages(self) -> list[str]:
        """Paths of every HTML page the site serves with status 200."""
        live = [a for a in self.articles if a.path not in self.removed]
        pages = ["/", *(f"/section/{s}" for s in SECTIONS)]
        pages += sorted({f"/by/{a.author_slug}" for a in live})
        return pages + [a.path for a in live] + ["/subscription", "/search"]

    @property
    def flaky_path(self) -> str | None:
        """Path of the article that answers 503 once, if any."""
        return next((a.path for a in self.articles if a.flaky), None)

    @property
    def bad_encoding_path(self) -> str | None:
        """Path of the article with invalid utf-8 bytes, if any."""
        return next((a.path for a in self.articles if a.bad_encoding), None)

    def _bfs(self) -> dict[str, int]:
        depths: dict[str, int] = {}
        queue = deque((p, 1) for p in self.home_targets)
        while queue:
            path, depth = queue.popleft()
            url = canonical(path)
            if url in depths or path in self.removed:
                continue
            depths[url] = depth
            queue.extend((t, depth + 1) for t in self._targets(path))
        return depths

    def _targets(self, path: str) -> list[str]:
        return [x.target for x in self.links.get(path, []) if x.target]

    # -- editions ----------------------------------------------------------

    def next_edition(self) -> SampleSite:
        """The site a day later, generated from ``seed`` and the new edition number alone.

        Relative to this edition, the new one

        * adds about 2% new articles (at least 1), published on its day
          (edition ``k`` is dated 2016-12-28 plus ``k`` days), linked newest
          first at the top of ``/`` and of their section page; each links to
          the article published before it and to 3-5 others;
        * edits about 5% (at least 3; kinds cycle through :data:`EDIT_KINDS`
          so each occurs): their ``modified`` is set to a time of its day;
        * removes about 1% (at least 2), answering 404 and 410 alternately;
          links to them stay on other pages, as stale links do;
        * restores one article an earlier edition removed, if any (so from
          edition 2 on), with the text it had.

        Percentages are of the articles answering 200 in this edition.
        Article 0, the flaky and the badly encoded articles, the redirect
        target and the articles edition 0 links from ``/`` are never edited
        or removed (so a site of fewer than 10 articles gets fewer edits and
        removals than the minimums).  :attr:`changes` of the result tells what changed; ``self``
        is left as it was.

        >>> site = build_site(8)
        >>> build_site(8, edition=2).render("/") == site.next_edition().next_edition().render("/")
        True
        >>> site.next_edition().articles[-1].published[:10], site.next_edition().articles[-1].edition
        ('2016-12-29', 1)
        """
        return _next_edition(self)

    # -- rendering ---------------------------------------------------------

    def render(self, path: str, attempt: int = 1, headers: Mapping[str, str] | None = None) -> Response:
        """``(status, headers, body)`` for a request path (query/fragment ignored).

        ``attempt`` is how many times this path has been requested so far
        (1 for the first request); the flaky article answers 503 on attempt 1.

        An article page with validators (:attr:`Article.has_validators`) sends
        a strong ``ETag`` (a digest of its body) and ``Last-Modified`` (its
        ``modified`` or ``published`` time); given the request's ``headers``
        (names in any case) it answers ``304`` with no body when
        ``If-None-Match`` matches the ``ETag``, or -- without
        ``If-None-Match`` -- when ``If-Modified-Since`` is at or after
        ``Last-Modified``.  A removed article answers its status from
        :attr:`removed`.  With :attr:`noise`, every other HTML page answered
        with 200 carries an ad slot whose id depends on ``attempt``, so two
        fetches through a server differ in their bytes but not in their text.
        """
        path = path.split("#", 1)[0].split("?", 1)[0] or "/"
        art = self._by_path.get(path)
        if art is not None:
            response = self._render_article(art, attempt, _lower_names(headers))
            noisy = not art.has_validators
        else:
            response = self._render_other(path)
            noisy = True
        if self.noise and noisy and response[0] == 200 and response[1].get("Content-Type") == HTML_TYPE:
            response = _with_noise(response, self._noise_token(path, attempt), attempt)
        return response

    def _render_other(self, path: str) -> Response:
        exact = self._exact_routes()
        if path in exact:
            return exact[path]()
        for prefix, handler in self._prefix_routes():
            if path.startswith(prefix):
                return handler(path)
        return _not_found(path)

    def _noise_token(self, path: str, attempt: int) -> str:
        key = f"{self.seed}:{self.edition}:{path}:{attempt}".encode()
        return hashlib.blake2b(key, digest_size=6).hexdigest()

    def _exact_routes(self) -> dict[str, Callable[[], Response]]:
        robots = (200, {"Content-Type": "text/plain; charset=utf-8"}, ROBOTS_TXT.encode())
        location = f"http://{MIRROR_V3}{self.redirect_target}"
        return {
            "/": lambda: _ok(self._home_html()),
            "/robots.txt": lambda: robots,
            PDF_PATH: lambda: (200, {"Content-Type": "application/pdf"}, _PDF),
            REDIRECT_PATH: lambda: _redirect(location),
            "/subscription": lambda: _ok(_simple_page("Subscribe", "/subscription", [])),
            "/search": lambda: _ok(_simple_page("Search", "/search", [])),
        }

    def _prefix_routes(self) -> list[tuple[str, Callable[[str], Response]]]:
        return [
            ("/section/", self._section_or_404),
            ("/by/", self._author_or_404),
            ("/svc/", lambda p: (200, {"Content-Type": "application/json"}, b"{}")),
        ]

    def _render_article(self, art: Article, attempt: int, headers: Mapping[str, str]) -> Response:
        if art.path in self.removed:
            return _gone(art.path, self.removed[art.path])
        if art.flaky and attempt <= 1:
            body = _simple_page("Service Unavailable", art.path, []).encode()
            return 503, {"Content-Type": HTML_TYPE, "Retry-After": "0"}, body
        body = _article_html(art, self.links.get(art.path, [])).encode("utf-8")
        if art.bad_encoding:
            body = body.replace("\u00e9".encode(), b"\xe9")
        if not art.has_validators:
            return 200, {"Content-Type": HTML_TYPE}, body
        validators = {"ETag": etag(body), "Last-Modified": http_date(art.last_modified)}
        if not_modified(headers, validators["ETag"], validators["Last-Modified"]):
            return 304, validators, b""
        return 200, {"Content-Type": HTML_TYPE, **validators}, body

    def _home_html(self) -> str:
        return _simple_page("The New York Times - Breaking News", "/", self.links["/"])

    def _section_or_404(self, path: str) -> Response:
        if path not in self.links:
            return _not_found(path)
        name = path.rsplit("/", 1)[1]
        return _ok(_simple_page(f"{name.title()} - The New York Times", path, self.links[path]))

    def _author_or_404(self, path: str) -> Response:
        slug = path.removeprefix("/by/")
        arts = [a for a in self.articles if a.author_slug == slug and a.path not in self.removed]
        if not arts:
            return _not_found(path)
        links = [Link(a.path, a.title, "nav") for a in arts]
        return _ok(_simple_page(f"{arts[0].author} - The New York Times", path, links))


# --------------------------------------------------------------------------
# Conditional requests
# --------------------------------------------------------------------------


def etag(body: bytes) -> str:
    """The strong ``ETag`` of a page: a quoted digest of its bytes.

    >>> etag(b"<p>hello</p>")
    '"61877441d38a0c60b9e24c68"'
    """
    return f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"'


def http_date(timestamp: str) -> str:
    """An ISO 8601 time with offset as an HTTP-date (``Last-Modified``).

    >>> http_date("2016-12-06T14:05:00-05:00")
    'Tue, 06 Dec 2016 19:05:00 GMT'
    """
    return format_datetime(datetime.fromisoformat(timestamp).astimezone(UTC), usegmt=True)


def not_modified(headers: Mapping[str, str], current_etag: str, last_modified: str) -> bool:
    """Whether a GET with these request headers (lower-case names) earns ``304``.

    ``If-None-Match`` decides when present (weak comparison, ``*`` matches);
    otherwise ``If-Modified-Since`` at or after ``last_modified`` does.  An
    unparsable date is ignored (RFC 9110, section 13.2.2).

    >>> lm = "Tue, 06 Dec 2016 19:05:00 GMT"
    >>> not_modified({"if-none-match": 'W/"x", "y"'}, '"x"', lm), not_modified({"if-none-match": '"z"'}, '"x"', lm)
    (True, False)
    >>> not_modified({"if-modified-since": lm}, '"x"', lm)
    True
    >>> not_modified({"if-modified-since": "Tue, 06 Dec 2016 19:04:59 GMT"}, '"x"', lm)
    False
    >>> not_modified({"if-none-match": '"z"', "if-modified-since": lm}, '"x"', lm)
    False
    """
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or current_etag.removeprefix("W/") in tags
    since = _parse_http_date(headers.get("if-modified-since"))
    changed = _parse_http_date(last_modified)
    return since is not None and changed is not None and since >= changed


def _parse_http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _lower_names(headers: Mapping[str, str] | None) -> dict[str, str]:
    return {name.lower(): value for name, value in (headers or {}).items()}


def _with_noise(response: Response, token: str, attempt: int) -> Response:
    """The response with an ad slot (and a comment naming it) before ``</body>``."""
    status, headers, body = response
    ad = f'<div class="ad" id="ad-{token}" data-ad-slot="{token}"></div>\n<!-- ad {token}, request {attempt} -->\n'
    return status, headers, body.replace(b"</body>", ad.encode() + b"</body>", 1)


# --------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------


def build_site(n_articles: int = 40, seed: int = 7, *, edition: int = 0, noise: bool = False) -> SampleSite:
    """Generate the site deterministically from ``seed``.

    ``n_articles`` (at least 1) counts every article page; when it is 8 or
    more, the last two are video pages.  Article ``i`` always links to article
    ``i + 1``, so everything is reachable from ``/`` (which links to article 0
    and a few others); the other 3-6 related links are random.

    ``edition`` (default 0) applies :meth:`SampleSite.next_edition` that many
    times; ``noise`` turns on per-response noise (:attr:`SampleSite.noise`).
    """
    if n_articles < 1:
        raise ValueError("n_articles must be at least 1")
    if edition < 0:
        raise ValueError("edition must be at least 0")
    site = _first_edition(n_articles, seed, noise)
    for _ in range(edition):
        site = site.next_edition()
    return site


def _first_edition(n_articles: int, seed: int, noise: bool) -> SampleSite:
    rng = random.Random(seed)
    articles = _make_articles(rng, n_articles)
    related = _make_related(rng, n_articles)
    home = [0, *rng.sample(range(1, n_articles), min(3, n_articles - 1))]
    cycle = _ShapeCycle()
    links: dict[str, list[Link]] = {}
    for art in articles:
        links[art.path] = [cycle.link(articles[j]) for j in related[art.index]]
        if art.index % 2 == 1:
            kind, href, text = EXTRA_LINKS[(art.index // 2) % len(EXTRA_LINKS)]
            links[art.path].append(Link(href, text, kind))
    links["/"] = [cycle.link(articles[j]) for j in home]
    for section in SECTIONS:
        links[f"/section/{section}"] = [cycle.link(a) for a in articles if a.section == section]
    target = articles[min(3, n_articles - 1)].path
    return SampleSite(articles, links, tuple(articles[j].path for j in home), target, seed, noise=noise)


class _ShapeCycle:
    """Hands out article links, cycling through :data:`LINK_SHAPES` (from the ``start``-th)."""

    def __init__(self, start: int = 0) -> None:
        self._next = start

    def link(self, art: Article) -> Link:
        name, make = LINK_SHAPES[self._next % len(LINK_SHAPES)]
        self._next += 1
        return Link(make(art.path), art.title, name, art.path)


def _special_indices(n: int) -> tuple[int | None, int | None]:
    """Indices of the flaky and the badly encoded article (never article 0)."""
    flaky = min(5, n - 1) if n >= 2 else None
    bad = min(6, n - 2) if n >= 3 else None
    return flaky, bad


def _make_articles(rng: random.Random, n: int) -> list[Article]:
    flaky, bad = _special_indices(n)
    n_videos = 2 if n >= 8 else 0
    seen: set[str] = set()
    articles = []
    for i in range(n):
        video = i >= n - n_videos
        section = "world" if video else rng.choice(SECTIONS)
        title = _fill(rng.choice(_HEADLINE_TEMPLATES), rng)
        slug = _unique(slugify(title), seen)
        year, month, day = _date(rng)
        if video:
            path = f"/video/world/{VIDEO_IDS[i - (n - n_videos)]}/{slug}.html"
        else:
            path = f"/{year:04d}/{month:02d}/{day:02d}/{section}/{slug}.html"
        hour, minute = rng.randint(5, 22), rng.randint(0, 59)
        published = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:00-05:00"
        articles.append(
            Article(
                index=i,
                path=path,
                canonical_url=canonical(path),
                title=title,
                author=rng.choice(_AUTHORS),
                published=published,
                section=section,
                kind="video" if video else "article",
                flaky=i == flaky,
                bad_encoding=i == bad,
                paragraphs=_paragraphs(rng, i == bad),
            )
        )
    return articles


def _unique(slug: str, seen: set[str]) -> str:
    candidate, k = slug, 2
    while candidate in seen:
        candidate, k = f"{slug}-{k}", k + 1
    seen.add(candidate)
    return candidate


def _date(rng: random.Random) -> tuple[int, int, int]:
    """A date in late 2016 (day capped at 28 so every month is valid)."""
    return 2016, rng.choice((9, 10, 11, 12)), rng.randint(1, 28)


# --------------------------------------------------------------------------
# Editions
# --------------------------------------------------------------------------

EDITION_0_DAY = date(2016, 12, 28)
"""The last day edition 0 publishes on; edition ``k`` is dated ``k`` days later."""

_WORD_SWAPS = {
    "discussions": "talks",
    "negotiations": "talks",
    "difficult": "tense",
    "official": "diplomat",
    "mishandled": "misjudged",
    "delays": "setbacks",
    "months": "weeks",
    "residents": "voters",
    "conditions": "prospects",
    "pressure": "scrutiny",
    "preliminary": "provisional",
    "numbers": "figures",
    "reversal": "shift",
    "observers": "analysts",
    "events": "policy",
    "capital": "region",
    "statement": "response",
    "hours": "days",
    "lines": "queues",
    "shops": "stores",
    "warned": "told",
    "spring": "summer",
}
"""Copy-desk corrections: each sentence template has at least one of these words."""


def _next_edition(site: SampleSite) -> SampleSite:
    """See :meth:`SampleSite.next_edition`."""
    k = site.edition + 1
    rng = random.Random(f"sample mirror {site.seed} edition {k}")
    day = EDITION_0_DAY + timedelta(days=k)
    articles = list(site.articles)
    live = [a for a in site.articles if a.path not in site.removed]
    protected = _protected(site)
    candidates = [a for a in live if a.path not in protected]
    edited: dict[str, str] = {}
    n_edit = min(len(candidates), max(3, round(EDIT_RATE * len(live))))
    for j, art in enumerate(rng.sample(candidates, n_edit)):
        kind = EDIT_KINDS[j % len(EDIT_KINDS)]
        articles[art.index] = _edit(art, kind, rng, _timestamp(day, rng))
        edited[art.canonical_url] = kind
    rest = [a for a in candidates if a.canonical_url not in edited]
    removed = dict(site.removed)
    restored = set()
    if site.removed:
        back = rng.choice(sorted(site.removed))
        del removed[back]
        restored.add(canonical(back))
    gone: dict[str, int] = {}
    n_remove = min(len(rest), max(2, round(REMOVE_RATE * len(live))))
    for j, art in enumerate(rng.sample(rest, n_remove)):
        removed[art.path] = gone[art.canonical_url] = REMOVED_STATUSES[j % len(REMOVED_STATUSES)]
    links = dict(site.links)
    n_add = max(1, round(ADD_RATE * len(live)))
    added = _add_articles(rng, k, day, n_add, articles, links, removed)
    changes = EditionChanges(frozenset(a.canonical_url for a in added), edited, gone, frozenset(restored))
    home = tuple(x.target for x in links["/"] if x.target)
    return SampleSite(articles, links, home, site.redirect_target, site.seed, k, changes, removed, site.noise)


def _protected(site: SampleSite) -> set[str]:
    """Paths editions leave alone: article 0, the special pages, edition 0's home links."""
    specials = {site.articles[0].path, site.redirect_target, site.flaky_path, site.bad_encoding_path}
    home = {p for p in site.home_targets if site.article(p).edition == 0}
    return {p for p in specials if p} | home


def _timestamp(day: date, rng: random.Random) -> str:
    return f"{day.isoformat()}T{rng.randint(5, 22):02d}:{rng.randint(0, 59):02d}:00-05:00"


def _add_articles(
    rng: random.Random,
    edition: int,
    day: date,
    n_add: int,
    articles: list[Article],
    links: dict[str, list[Link]],
    removed: Mapping[str, int],
) -> list[Article]:
    """Publish ``n_add`` articles on ``day``: append them to ``articles``, link them into ``links``."""
    seen = {a.path.rsplit("/", 1)[1].removesuffix(".html") for a in articles}
    live = [a for a in articles if a.path not in removed]
    times = sorted((rng.randint(5, 22), rng.randint(0, 59)) for _ in range(n_add))
    cycle = _ShapeCycle(edition)
    new = []
    for hour, minute in times:
        section = rng.choice(SECTIONS)
        title = _fill(rng.choice(_HEADLINE_TEMPLATES), rng)
        path = f"/{day:%Y/%m/%d}/{section}/{_unique(slugify(title), seen)}.html"
        art = Article(
            index=len(articles),
            path=path,
            canonical_url=canonical(path),
            title=title,
            author=rng.choice(_AUTHORS),
            published=f"{day.isoformat()}T{hour:02d}:{minute:02d}:00-05:00",
            section=section,
            paragraphs=_paragraphs(rng, False),
            edition=edition,
        )
        before = articles[-1]
        picks = [before, *(a for a in rng.sample(live, min(rng.randint(3, 5), len(live))) if a is not before)]
        rng.shuffle(picks)
        links[path] = [cycle.link(a) for a in picks]
        articles.append(art)
        new.append(art)
    newest_first = new[::-1]
    links["/"] = [cycle.link(a) for a in newest_first] + links["/"]
    for section in SECTIONS:
        fresh = [cycle.link(a) for a in newest_first if a.section == section]
        if fresh:
            links[f"/section/{section}"] = fresh + links[f"/section/{section}"]
    return new


def _edit(art: Article, kind: str, rng: random.Random, when: str) -> Article:
    """``art`` edited one way (an :data:`EDIT_KINDS` entry), modified at ``when``."""
    title, paras = art.title, list(art.paragraphs)
    if kind == "headline":
        while title == art.title:
            title = _fill(rng.choice(_HEADLINE_TEMPLATES), rng)
    elif kind == "word":
        p = rng.randrange(len(paras))
        paras[p] = _swap_word(paras[p], rng)
    elif kind == "paragraph":
        if rng.random() < 0.5:
            paras.insert(rng.randint(1, len(paras)), _paragraph(rng))
        else:
            p = rng.randrange(len(paras))
            while paras[p] == art.paragraphs[p]:
                paras[p] = _paragraph(rng)
    else:
        raise ValueError(f"unknown edit kind {kind!r}")
    return dataclasses.replace(art, title=title, paragraphs=tuple(paras), modified=when)


def _swap_word(text: str, rng: random.Random) -> str:
    """``text`` with one word replaced (a :data:`_WORD_SWAPS` correction when one fits).

    >>> _swap_word("Talks stalled for months.", random.Random(1))
    'Talks stalled for weeks.'
    """
    words = list(re.finditer(r"\b[a-z]+\b", text))
    known = [m for m in words if m.group() in _WORD_SWAPS]
    if known:
        match = rng.choice(known)
        new = _WORD_SWAPS[match.group()]
    else:
        match = rng.choice([m for m in words if len(m.group()) >= 4] or words)
        new = "reported" if match.group() != "reported" else "said"
    return text[: match.start()] + new + text[match.end() :]


def _make_related(rng: random.Random, n: int) -> list[list[int]]:
    """4-7 related article indices per article (fewer if the site is tiny).

    Article ``i`` always links to ``i + 1`` (so the graph is connected from
    article 0); the rest are drawn at random.
    """
    related = []
    for i in range(n):
        chain = [i + 1] if i + 1 < n else []
        others = _AllBut(n, (i, *chain))
        want = min(rng.randint(4, 7), n - 1) - len(chain)
        picks = chain + rng.sample(others, min(want, len(others)))
        rng.shuffle(picks)
        related.append(picks)
    return related


class _AllBut(Sequence[int]):
    """``[j for j in range(n) if j not in skip]`` without building it (``random.sample`` only indexes it).

    >>> list(_AllBut(6, (4, 1))), _AllBut(6, (4, 1))[2]
    ([0, 2, 3, 5], 3)
    """

    def __init__(self, n: int, skip: Iterable[int]) -> None:
        self._n = n
        self._skip = sorted({j for j in skip if 0 <= j < n})

    def __len__(self) -> int:
        return self._n - len(self._skip)

    def __getitem__(self, k: int) -> int:  # type: ignore[override]  # no slices: random.sample never asks
        if not 0 <= k < len(self):
            raise IndexError(k)
        for s in self._skip:
            if s > k:
                break
            k += 1
        return k

    def __iter__(self) -> Iterator[int]:
        return (self[k] for k in range(len(self)))


# --------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------

_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _ok(text: str) -> Response:
    return 200, {"Content-Type": HTML_TYPE}, text.encode("utf-8")


def _redirect(location: str) -> Response:
    body = f'<!DOCTYPE html><p>Moved to <a href="{html.escape(location)}">here</a></p>'
    return 301, {"Content-Type": HTML_TYPE, "Location": location}, body.encode()


def _not_found(path: str) -> Response:
    return 404, {"Content-Type": HTML_TYPE}, _simple_page("Page Not Found", path, []).encode()


def _gone(path: str, status: int) -> Response:
    """What a removed article answers: ``404`` like any unknown page, or ``410 Gone``."""
    if status == 404:
        return _not_found(path)
    return status, {"Content-Type": HTML_TYPE}, _simple_page("This Article Has Been Removed", path, []).encode()


def _nav(author_slug: str = "jane-doe") -> str:
    items = [
        Link("/section/world", "World", "nav"),
        Link(f"https://{CANONICAL_HOST}/section/us", "U.S.", "nav"),
        *(Link(f"/section/{s}", s.title(), "nav") for s in SECTIONS[2:]),
        Link(SEARCH_PATH, "Search", "nav"),
        Link(LOGIN_URL, "Log In", "nav"),
        Link(SUBSCRIBE_PATH, "Subscribe", "nav"),
        Link(f"/by/{author_slug}", "Columnist", "nav"),
    ]
    return _ul(items, 'header class="masthead"', "header")


def _ul(links: Iterable[Link], open_tag: str, close_tag: str) -> str:
    items = "\n".join(f"    <li>{x.to_html()}</li>" for x in links)
    return f"<{open_tag}>\n  <ul>\n{items}\n  </ul>\n</{close_tag}>"


def _head(title: str, path: str, extra: str = "") -> str:
    url = html.escape(canonical(path))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n"
        f'<link rel="canonical" href="{url}">\n'
        f'<meta property="og:url" content="{url}">\n'
        f'<meta property="og:title" content="{html.escape(title)}">\n'
        f"{extra}</head>\n"
    )


def _simple_page(title: str, path: str, links: list[Link]) -> str:
    """A navigation page: header nav plus a list of links."""
    listing = _ul(links, 'section class="stream"', "section")
    return (
        f"{_head(title, path)}<body>\n{_nav()}\n<main>\n<h1>{html.escape(title)}</h1>\n"
        f"{listing}\n</main>\n</body>\n</html>\n"
    )


def _ld_json(art: Article) -> str:
    mirror_url = f"https://{MIRROR_V3}{art.path}"
    data = {
        "@context": "http://schema.org",
        "@type": "NewsArticle",
        "headline": art.title,
        "author": {"@type": "Person", "name": art.author},
        "datePublished": art.published,
        **({"dateModified": art.modified} if art.modified else {}),
        "url": mirror_url,
        "mainEntityOfPage": mirror_url,
    }
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return text.replace("/", "\\/")


def _article_meta(art: Article) -> str:
    return (
        f'<meta name="byl" content="By {html.escape(art.author)}">\n'
        f'<meta property="article:published_time" content="{art.published}">\n'
        f"{_modified_meta(art)}"
        f'<meta property="og:type" content="{"video" if art.kind == "video" else "article"}">\n'
        f'<script type="application/ld+json">{_ld_json(art)}</script>\n'
    )


def _modified_meta(art: Article) -> str:
    if not art.modified:
        return ""
    return f'<meta property="article:modified_time" content="{art.modified}">\n'


def _image_url(art: Article) -> str:
    date = art.published[:10].replace("-", "/")
    stem = art.path.rsplit("/", 1)[1].removesuffix(".html")[:20]
    return f"https://static01.nyt.com/images/{date}/{art.section}/{stem}/{stem}-articleLarge.jpg"


def _article_html(art: Article, links: list[Link]) -> str:
    paras = "\n".join(f'<p class="story-body-text">{html.escape(p, quote=False)}</p>' for p in art.paragraphs)
    player = '<div class="video-player" data-id="video"></div>\n' if art.kind == "video" else ""
    related = _ul(links, 'aside class="related"', "aside")
    return (
        f"{_head(art.title, art.path, _article_meta(art))}<body>\n{_nav(art.author_slug)}\n"
        f'<main>\n<article id="story">\n<h1 itemprop="headline">{html.escape(art.title)}</h1>\n'
        f'<p class="byline">By <a href="/by/{art.author_slug}">{html.escape(art.author)}</a>'
        f' <time datetime="{art.published}">{art.published[:10]}</time></p>\n'
        f'<figure><img src="{_image_url(art)}" alt=""></figure>\n{player}{paras}\n'
        f"</article>\n<h2>Related coverage</h2>\n{related}\n</main>\n</body>\n</html>\n"
    )
