"""``scrapy crawl``, exiting with status 1 when the crawl could not start
(the proxy or the shared Redis is down or misconfigured), so scripts notice."""

from __future__ import annotations

import argparse

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError

from crawler.extensions import PROXY_UNREACHABLE
from crawler.shared import REDIS_UNREACHABLE


class Command(ScrapyCrawlCommand):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give one spider: scrapy crawl mirror -a start_urls=URL")
        assert self.crawler_process
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        reason = crawler.stats.get_value("finish_reason") if crawler.stats is not None else None
        if self.crawler_process.bootstrap_failed or reason in (PROXY_UNREACHABLE, REDIS_UNREACHABLE):
            self.exitcode = 1
