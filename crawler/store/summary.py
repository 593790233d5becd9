"""What a crawl found: pages, unique articles, duplicates collapsed, links by kind,
the most linked-to articles, the rounds and what the last one found. Shown at the end
of every crawl and by ``scrapy summary``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crawler.items import LinkKind
from crawler.store.database import Store


@dataclass
class Summary:
    pages: int = 0
    fetched_ok: int = 0
    failed: int = 0
    unique_articles: int = 0
    aliases: int = 0
    duplicate_requests: int | None = None
    parameters_stripped: int | None = None
    links_by_kind: dict[str, int] = field(default_factory=dict)
    most_linked: list[tuple[str, int]] = field(default_factory=list)
    aliases_by_reason: dict[str, int] = field(default_factory=dict)  # "canonical", "redirect"
    first_fetched: str | None = None  # fetched_at of the first and the last page stored (ISO 8601)
    last_fetched: str | None = None
    rounds: int = 0  # runs of the crawl over the store (crawler.rounds)
    last_round: LastRound | None = None
    versions: int = 0  # distinct versions of all articles (a page first fetched is one)
    running_round: int | None = None  # the round of the crawl that summarizes (its end is recorded next)


@dataclass
class LastRound:
    """The newest round: when it started and finished (None: running or interrupted), and
    what its checks found (``checks`` by outcome: new, changed, not-modified...)."""

    number: int
    started_at: str
    finished_at: str | None
    outcome: str | None
    checks: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        """Pages with a new version in this round: edited, removed or back."""
        return sum(self.checks.get(outcome, 0) for outcome in ("changed", "removed", "restored"))


def summarize(store: Store, stats: Mapping[str, Any] | None = None, top: int = 10) -> Summary:
    """Summarize ``store``; crawl ``stats`` (Scrapy's) add what only the crawl saw."""
    db = store.db
    stats = stats or {}
    pages, ok, failed = db.execute(
        "SELECT COUNT(*), SUM(status BETWEEN 200 AND 299), SUM(status IS NULL OR status >= 400) FROM pages"
    ).fetchone()
    articles = db.execute(
        f"""SELECT COUNT(*) FROM pages p WHERE p.status BETWEEN 200 AND 299
           AND EXISTS (SELECT 1 FROM links l WHERE l.target = p.url AND l.kind = '{LinkKind.ARTICLE}')"""
    ).fetchone()[0]
    first_fetched, last_fetched = db.execute("SELECT MIN(fetched_at), MAX(fetched_at) FROM pages").fetchone()
    most_linked = db.execute(
        f"""SELECT target, COUNT(DISTINCT source) AS n FROM links WHERE kind = '{LinkKind.ARTICLE}'
           GROUP BY target ORDER BY n DESC, target LIMIT ?""",
        (top,),
    ).fetchall()
    return Summary(
        pages=pages,
        fetched_ok=ok or 0,
        failed=failed or 0,
        unique_articles=articles,
        aliases=db.execute("SELECT COUNT(*) FROM aliases").fetchone()[0],
        duplicate_requests=stats.get("dupefilter/filtered"),
        parameters_stripped=stats.get("mirror/params_stripped"),
        running_round=stats.get("mirror/round"),
        links_by_kind=dict(db.execute("SELECT kind, COUNT(*) FROM links GROUP BY kind ORDER BY kind")),
        most_linked=[(url, n) for url, n in most_linked],
        aliases_by_reason=dict(db.execute("SELECT reason, COUNT(*) FROM aliases GROUP BY reason ORDER BY reason")),
        first_fetched=first_fetched,
        last_fetched=last_fetched,
        rounds=db.execute("SELECT COUNT(*) FROM rounds").fetchone()[0],
        last_round=_last_round(store),
        versions=db.execute("SELECT COUNT(*) FROM versions").fetchone()[0],
    )


def _last_round(store: Store) -> LastRound | None:
    last = store.last_round()
    if last is None:
        return None
    checks = dict(
        store.db.execute(
            "SELECT outcome, COUNT(*) FROM checks WHERE round = ? GROUP BY outcome ORDER BY outcome", (last[0],)
        )
    )
    return LastRound(*last, checks=checks)


def format_summary(summary: Summary) -> str:
    lines = [
        f"pages stored:          {summary.pages} ({summary.fetched_ok} ok, {summary.failed} failed or 4xx/5xx)",
        f"unique articles:       {summary.unique_articles}",
        f"aliases:               {summary.aliases} (redirects and rel=canonical)",
    ]
    if summary.duplicate_requests is not None:
        lines.append(f"duplicates collapsed:  {summary.duplicate_requests} requests for already-seen URLs")
    if summary.parameters_stripped is not None:
        lines.append(f"parameters stripped:   {summary.parameters_stripped} (tracking parameters in links)")
    last = summary.last_round
    if last is not None:
        if last.finished_at:
            state = f"finished {last.finished_at}"
        elif last.number == summary.running_round:
            state = "this run's, now closing"
        else:
            state = f"interrupted ({last.outcome or 'killed'})"
        found = ", ".join(f"{outcome} {count}" for outcome, count in last.checks.items()) or "no check yet"
        lines.append(f"rounds:                {summary.rounds}; round {last.number} started {last.started_at}, {state}")
        lines.append(f"last round's checks:   {last.changed} changed; {found}")
        lines.append(f"versions:              {summary.versions} (every distinct version of every article)")
    kinds = ", ".join(f"{kind} {count}" for kind, count in summary.links_by_kind.items())
    lines.append(f"links by kind:         {kinds or 'none'}")
    if summary.most_linked:
        lines.append("most linked-to articles:")
        lines += [f"  {count:5d}  {url}" for url, count in summary.most_linked]
    return "\n".join(lines)
