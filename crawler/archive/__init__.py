"""Archival capture: every fetch as standard WARC/1.1, packaged as WACZ.

``-s WARC_DIR=dir`` turns it on. The rooms:

- :mod:`crawler.archive.records`: the WARC records of one fetch (warcio), no Scrapy;
- :mod:`crawler.archive.files`: a series of WARC files: names, rotation, crash safety,
  payload dedup;
- :mod:`crawler.archive.archive`: what a fetch and a page write (:class:`Archive`);
- :mod:`crawler.archive.capture`: the downloader middleware (every response);
- :mod:`crawler.archive.identity`: the spider middleware (every page's identity);
- :mod:`crawler.archive.wacz`: a crawl's WARC files and store as one WACZ package.
"""

from crawler.archive.records import HttpExchange, WarcRecordBuilder, payload_digest

__all__ = ["HttpExchange", "WarcRecordBuilder", "payload_digest"]
