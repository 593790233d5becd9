"""``scrapy crawl``, with an exit status scripts can act on.

* 1: the crawl could not start (the proxy or the shared Redis is down or misconfigured,
  or the store or WARC_DIR cannot be used);
* 75 (``EX_TEMPFAIL``, "try again later"): a mirror stayed unreachable for
  ``MIRROR_PATIENCE``, or Redis for ``SHARED_REDIS_PATIENCE``; run the same command
  again later, with the same JOBDIR, to go on.
"""

from __future__ import annotations

import argparse

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError

from crawler.archive.archive import ARCHIVE_ERROR
from crawler.extensions import PROXY_UNREACHABLE
from crawler.outage import MIRROR_UNREACHABLE
from crawler.shared import REDIS_LOST, REDIS_UNREACHABLE

EXIT_CANNOT_START = 1
EXIT_TRY_AGAIN_LATER = 75  # sysexits.h EX_TEMPFAIL
_CANNOT_START = (PROXY_UNREACHABLE, REDIS_UNREACHABLE, "store_error", ARCHIVE_ERROR)
_TRY_AGAIN_LATER = (MIRROR_UNREACHABLE, REDIS_LOST)


class Command(ScrapyCrawlCommand):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give one spider: scrapy crawl mirror -a start_urls=URL")
        assert self.crawler_process
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        reason = crawler.stats.get_value("finish_reason") if crawler.stats is not None else None
        if self.crawler_process.bootstrap_failed or reason in _CANNOT_START:
            self.exitcode = EXIT_CANNOT_START
        elif reason in _TRY_AGAIN_LATER:
            self.exitcode = EXIT_TRY_AGAIN_LATER
