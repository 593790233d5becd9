"""``scrapy crawl``, exiting with status 1 when the crawl could not start
(the proxy is down or misconfigured), so scripts notice."""

from __future__ import annotations

import argparse

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError

from crawler.extensions import PROXY_UNREACHABLE


class Command(ScrapyCrawlCommand):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give one spider: scrapy crawl mirror -a start_urls=URL")
        assert self.crawler_process
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        proxy_failed = crawler.stats is not None and crawler.stats.get_value("finish_reason") == PROXY_UNREACHABLE
        if self.crawler_process.bootstrap_failed or proxy_failed:
            self.exitcode = 1
