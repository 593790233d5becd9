"""``scrapy crawl``, with an exit status scripts can act on.

* 1: the crawl cannot go on until something is fixed (the proxy or the shared Redis
  is down or misconfigured, the store or WARC_DIR cannot be used, a write was refused
  for good: a read-only file system, a permission);
* 75 (``EX_TEMPFAIL``, "try again later"): a mirror stayed unreachable for
  ``MIRROR_PATIENCE``, Redis for ``SHARED_REDIS_PATIENCE``, or the disk filled up;
  run the same command again later, with the same JOBDIR, to go on.

Which finish reason means which status: :mod:`crawler.reasons`.
"""

from __future__ import annotations

import argparse

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError

from crawler.reasons import EXIT_CANNOT_START, exit_status


class Command(ScrapyCrawlCommand):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give one spider: scrapy crawl mirror -a start_urls=URL")
        assert self.crawler_process
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        reason = crawler.stats.get_value("finish_reason") if crawler.stats is not None else None
        if self.crawler_process.bootstrap_failed:
            self.exitcode = EXIT_CANNOT_START
        elif status := exit_status(reason):
            self.exitcode = status
