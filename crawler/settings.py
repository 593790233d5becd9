"""Scrapy settings for crawling onion mirrors through Tor.

Defaults suit Tor: modest concurrency, generous timeouts, retries, AutoThrottle.
Every one can be overridden with ``-s NAME=VALUE``.
"""

import logging
import os

from crawler import logmask, transient

BOT_NAME = "crawler"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
COMMANDS_MODULE = "crawler.commands"

# Privacy: no remote control server and no telnet console listening on this machine.
REMOTE_CONTROL_ENABLED = False
TELNETCONSOLE_ENABLED = False

# Rules (rules/ folder); None means the bundled rules.
RULES_DIR = os.environ.get("RULES_DIR") or None

# -- Tor ------------------------------------------------------------------------
# Every request goes through this proxy; names (.onion above all) are resolved by
# the proxy, never locally. socks5h://host:port (Tor's SocksPort) or http://host:port.
ONION_PROXY = os.environ.get("ONION_PROXY") or "socks5h://127.0.0.1:9050"
ONION_PROXY_CHECK_TIMEOUT = 10.0
# Tor keeps streams with different SOCKS credentials on different circuits (IsolateSOCKSAuth):
# "crawl" gives each crawl process credentials of its own, "site" one set per site, "off" none.
# An ONION_PROXY with credentials in it keeps them.
ONION_PROXY_ISOLATION = "crawl"

# Scrapy's httpx handler speaks SOCKS5 and sends host names to the proxy unresolved;
# this subclass also reads Tor's extended SOCKS error codes.
DOWNLOAD_HANDLERS = {
    "http": "crawler.tor.download.OnionDownloadHandler",
    "https": "crawler.tor.download.OnionDownloadHandler",
}
DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.StayOnMirrorMiddleware": 50,
    # After RetryMiddleware (550) for responses and exceptions: an unreachable mirror is waited out
    # before a failure counts as the page's.
    "crawler.tor.outage.MirrorOutageMiddleware": 560,
    "crawler.tor.onionproxy.OnionProxyMiddleware": 740,
    "crawler.shared.concurrency.SharedConcurrencyMiddleware": 745,  # only with REDIS_URL
    # Next to the download handler: it sees every response as received (before decompression,
    # retries and redirects). Only with WARC_DIR.
    "crawler.archive.capture.WarcCaptureMiddleware": 950,
}
SPIDER_MIDDLEWARES = {
    "crawler.archive.identity.WarcIdentityMiddleware": 950,  # only with WARC_DIR
}
EXTENSIONS = {
    "crawler.tor.proxycheck.ProxyCheck": 0,
    # A failed write anywhere stops the crawl with one message (crawler/disk/): Scrapy's feed
    # exporter and spider state, in their guarded form, and the free-space watch.
    "scrapy.extensions.feedexport.FeedExporter": None,
    "crawler.disk.feed.FeedExporter": 0,
    "scrapy.extensions.spiderstate.SpiderState": None,
    "crawler.disk.state.SpiderState": 0,
    "crawler.disk.space.FreeSpaceGuard": 0,
}

# One fetch per article: the dupefilter and JOBDIR state see canonical URLs.
REQUEST_FINGERPRINTER_CLASS = "crawler.fingerprint.CanonicalRequestFingerprinter"

# -- politeness and Tor latency ---------------------------------------------------
ROBOTSTXT_OBEY = True
DEPTH_LIMIT = 5
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_TIMEOUT = 120
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024  # a news page is well under this; a mirror serving more is wrong
# Hostile pages (crawler/samplemirror/hostile.py; figures in bench/README.md): what one page costs stays bounded
# whatever the mirror sends. Past PAGE_MAX_BYTES a page is recorded (and archived) but not decoded or parsed;
# past PAGE_MAX_TAGS not parsed (130-400 bytes a tag): no title, links or text either way, extra["parse_skipped"].
PAGE_MAX_BYTES = 8 * 1024 * 1024  # a news page is 0.1-2 MB. 0: no limit
PAGE_MAX_TAGS = 200_000  # "<" in the page; an article has a few thousand. 0: no limit
# Only the first links of a page are read, recorded and followed (~1.3 KB and 0.08 ms a link): extra["links_capped"].
LINKS_MAX_PER_PAGE = 5_000  # a home page has a few hundred. 0: no limit
# Extraction takes ~36x a text-heavy page's size and ~0.9 KB a tag of a dense one: past either limit a page is
# stored with its rewritten HTML but not extracted, extra["clean_skipped"].
EXTRACT_MAX_BYTES = 4 * 1024 * 1024  # UTF-8 bytes. 0: no limit
EXTRACT_MAX_TAGS = 50_000  # "<" in the page. 0: no limit
# Onion services authenticate themselves by their address; their certificates are often self-signed.
DOWNLOAD_VERIFY_CERTIFICATES = False
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = transient.RETRY_HTTP_CODES  # 5xx of gateways and overloaded servers, 408, 429
# -- an unreachable mirror (crawler/tor/outage.py) ------------------------------------
MIRROR_OUTAGE_ENABLED = True  # off: every failure goes to Scrapy's RetryMiddleware alone
MIRROR_PATIENCE = 900.0  # seconds a mirror may stay unreachable before the crawl stops
# ...if it has answered once in this crawl (any HTTP response, robots.txt included); one that has not
# (gone, or moved) gets this many, then the stop message names the site's other mirrors to try.
MIRROR_START_PATIENCE = 120.0
MIRROR_PROBE_DELAY = 3.0  # first probe of an unreachable mirror after this, then doubling...
MIRROR_PROBE_MAX_DELAY = 60.0  # ...up to this
MIRROR_PROBE_TIMEOUT = 60.0  # a probe (GET /robots.txt) that takes longer is no answer
RETRY_AFTER_MAX = 120.0  # Retry-After on a 429/503 is honoured up to this many seconds
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0

# Look like Tor Browser, keep no cookies between pages.
USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; rv:128.0) Gecko/20100101 Firefox/128.0"
COOKIES_ENABLED = False

# -- several machines, one crawl (crawler/shared/) ------------------------------------
# Set REDIS_URL (redis://:PASSWORD@HOST:6379/0) and every worker running the same command
# shares one frontier and one dupefilter; unset, the crawl runs on this machine alone.
REDIS_URL = os.environ.get("REDIS_URL") or None
SCHEDULER = "crawler.scheduler.AutoScheduler"
SHARED_CONCURRENT_REQUESTS_PER_MIRROR = 8  # for all workers together
SHARED_HEARTBEAT_TTL = 10  # seconds without a heartbeat before a worker's claims go back
SHARED_CLOSE_GRACE = 1.5  # seconds the shared queue must stay empty before workers close
SHARED_REDIS_PATIENCE = 900.0  # seconds a worker waits for a Redis that stopped answering, then stops
# A request that failed transiently (no response, 5xx, 408, 429 after RETRY_TIMES) is kept in Redis
# (crawler/shared/retry.py) and fetched again: by the next run, and when the queue runs dry,
# SHARED_RETRY_DELAY seconds after its failure (doubling), at most SHARED_RETRY_ROUNDS times a run.
SHARED_RETRY_ENABLED = True  # off: such a request stays failed for good, as with scrapy-redis
SHARED_RETRY_DELAY = 30.0
SHARED_RETRY_ROUNDS = 2  # 0: only the next run fetches it again
# Redis keys: PREFIX:requests, PREFIX:dupefilter, PREFIX:claims:WORKER, PREFIX:retry...
SHARED_KEY_PREFIX = "%(spider)s"
SHARED_DUPEFILTER_CLASS = "crawler.shared.dupefilter.SharedDupeFilter"
logmask.install()  # passwords in REDIS_URL / ONION_PROXY never reach a log line

# -- storage ---------------------------------------------------------------------
ITEM_PIPELINES = {
    "crawler.pipelines.ArticlePipeline": 300,
    "crawler.pipelines.StorePipeline": 800,
}
STORE_PATH = "crawl.sqlite3"
STORE_BATCH_SIZE = 100  # at most this many pages per transaction (each page is committed as it comes)
# Below this many MiB free on the disk of STORE_PATH, JOBDIR, WARC_DIR or a local feed, the crawl stops
# (exit 75: run it again once space is freed) before a write fails; looked at every ..._INTERVAL seconds. 0: off.
STORE_MIN_FREE_MB = 100
STORE_FREE_CHECK_INTERVAL = 2.0
# -- rounds: the same command again (crawler/rounds.py) ------------------------------------
# "auto": a new round when the last one finished, else the interrupted one taken up again;
# "new": a new round in any case; "continue": the last round again in any case.
RECRAWL_ROUND = "auto"
RECRAWL_ALL = False  # check every known page in this round, due or not (conditional requests keep it cheap)
# When a known article is checked again, by the time since it last changed: "AGE:INTERVAL ...".
# None: a site's own [recrawl] schedule, else crawler.schedule.DEFAULT_SCHEDULE ("1d:1h 7d:3h 30d:3d 360d:30d").
RECRAWL_SCHEDULE = None
# A fetch whose text is shorter than this share of the last version's is a failed extraction, not an edit.
RECRAWL_MIN_TEXT_RATIO = 0.5

# Archive: every fetch as WARC/1.1 (request, response, metadata, canonical revisits) in WARC_DIR;
# empty: no archive. `scrapy wacz -o crawl.wacz` packages WARC_DIR and the store.
WARC_DIR = os.environ.get("WARC_DIR") or ""
WARC_MAX_SIZE = 1_000_000_000  # bytes: a file is closed and the next one opened past this
WARC_PREFIX = "onion-crawl"  # file names: PREFIX-TIMESTAMP-SERIAL-HOST.warc.gz; also the warcinfo isPartOf
# -- the graph viewer (scrapy graph -o graph.html, crawler/viewer/) ----------------------
# Past these, the page keeps the most linked nodes (and their edges) and the command says what it cut:
# 10,000 nodes and 50,000 edges stay interactive in a browser without a GPU (see the benchmarks).
VIEWER_MAX_NODES = 20_000
VIEWER_MAX_EDGES = 100_000
# Past either of these, the page draws in its cheap mode (nodes as points, one-pixel edges) ...
VIEWER_LARGE_NODES = 5_000
VIEWER_LARGE_EDGES = 20_000
# ... and past this many edges (or in the cheap mode), the edges are not drawn again while the camera moves:
# their last frame moves with it. Without GPU, at 10,000 nodes, a frame while moving then takes 33-100 ms
# (median) rather than 0.5-0.7 s, and a still frame 0.1-0.7 s rather than 1.6-3 s (bench/README.md).
VIEWER_FROZEN_EDGES = 2_000

FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
# httpx logs every request at INFO; Scrapy's own stats say the same at the end.
logging.getLogger("httpx2").setLevel(logging.WARNING)
