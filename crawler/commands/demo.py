"""``scrapy demo``: crawl the sample mirror that ships with the project, without Tor.

Like ``scrapy bench``, it starts its own local server: the sample NYT-shaped
mirror on 127.0.0.1 behind a recording SOCKS5 proxy that stands in for Tor.
Then it runs the real ``mirror`` spider against it and reports what the proxy
saw. Takes the ``crawl`` options (``-O pages.jsonl``, ``-s NAME=VALUE``). It is an
entry point too: ``scrapy demo`` works in any folder, with the project's settings.

The demo archives what it fetches (``WARC_DIR``, ``demo-warc/`` unless set; ``-s
WARC_DIR=`` turns it off), as a crawl does with ``-s WARC_DIR=dir``.

Rounds: ``--edition N`` serves the sample mirror's edition N (articles added, edited,
removed, brought back: :meth:`~crawler.samplemirror.SampleSite.next_edition`). Run in the
same folder, ``scrapy demo`` then ``scrapy demo --edition 1`` are two rounds of one crawl,
and ``scrapy changes`` shows what changed. An edition past 0 checks every known page
(``RECRAWL_ALL``): the sample's articles are dated 2016, which the schedule leaves alone.
"""

from __future__ import annotations

import argparse

from scrapy.commands import BaseRunSpiderCommand
from scrapy.exceptions import UsageError
from scrapy.settings import SETTINGS_PRIORITIES

from crawler.cli import project_settings
from crawler.samplemirror import MIRROR_V3, MirrorServer, RecordingSocks5Server, build_site, hosts_asked
from crawler.spiders.mirror import MirrorSpider

DEMO_WARC_DIR = "demo-warc"


class Command(BaseRunSpiderCommand):
    requires_project = False
    default_settings = project_settings()  # the same crawl inside the checkout and anywhere else

    def short_desc(self) -> str:
        return "Crawl the bundled sample mirror (local server and proxy, no Tor needed)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--articles", type=int, default=40, help="articles on the sample mirror (default 40)")
        parser.add_argument("--delay", type=float, default=0.0, help="seconds of latency per request")
        parser.add_argument(
            "--edition", type=int, default=0, help="serve the sample mirror's edition N (0: the first; see rounds)"
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if opts.edition < 0:
            raise UsageError("--edition must be 0 or more")
        site = build_site(opts.articles, edition=opts.edition, noise=True)
        if opts.edition and (self.settings.getpriority("RECRAWL_ALL") or 0) < SETTINGS_PRIORITIES["cmdline"]:
            self.settings.set("RECRAWL_ALL", True, priority="cmdline")
        with MirrorServer(site, delay=opts.delay) as server, RecordingSocks5Server(server.address) as proxy:
            self.settings.set("ONION_PROXY", proxy.url, priority="cmdline")
            self.settings.set("AUTOTHROTTLE_ENABLED", False, priority="cmdline")
            if (self.settings.getpriority("WARC_DIR") or 0) < SETTINGS_PRIORITIES["cmdline"]:
                self.settings.set("WARC_DIR", DEMO_WARC_DIR, priority="cmdline")
            assert self.crawler_process
            self.crawler_process.crawl(MirrorSpider, start_urls=f"http://{MIRROR_V3}/", **opts.spargs)
            self.crawler_process.start()
            names = sum(1 for r in proxy.requests if r.as_name)
            print(
                f"sample mirror: {len(site.article_urls())} articles; the proxy saw {len(proxy.requests)} "
                f"connections, to {sorted(hosts_asked(proxy))}, {names} by name and "
                f"{len(proxy.requests) - names} by address"
            )
            if opts.edition:
                changes = site.changes
                print(
                    f"edition {opts.edition}: {len(changes.added)} articles added, {len(changes.edited)} edited, "
                    f"{len(changes.removed)} removed, {len(changes.restored)} back; "
                    f"{server.statuses[304]} answers were 304 (not modified). What the crawl found: scrapy changes"
                )
            else:
                print("next round, on the mirror's next edition: scrapy demo --edition 1; then: scrapy changes")
            if self.settings["WARC_DIR"]:
                warc = self.settings["WARC_DIR"]
                print(f"archived as WARC in {warc}/; for ReplayWeb.page: scrapy wacz -o demo.wacz --warc {warc}")
