"""Several machines crawl one mirror together: one frontier and one dupefilter in Redis.

Set ``REDIS_URL`` and every worker running the same ``scrapy crawl mirror`` command
shares Scrapy's scheduler state through scrapy-redis (pinned to 0.9.1), subclassed
where it falls short:

* its dupefilter hashes its own canonical form; :class:`SharedDupeFilter` uses the
  crawler's request fingerprinter (the project's canonical-URL one);
* it pickles requests into Redis, so anyone who can write to Redis runs code on
  every worker; here requests are JSON (Scrapy's ``Request.to_dict``) and anything
  else is refused (:class:`JsonRequestSerializer`);
* its queue forgets a request once a worker pops it; :class:`ClaimingQueue` keeps it
  claimed by that worker until its page is stored, and a worker whose heartbeat
  stops has its claims handed back to the queue;
* its ``SCHEDULER_PERSIST=False`` lets the first worker to finish delete the shared
  state; here state persists (clear it with ``scrapy shared --clear``) and a worker
  closes only when the queue is empty and no live worker holds a claim;
* a request that failed after its retries stays in its dupefilter for good, and no
  later run fetches it again; :class:`RetrySet` keeps those that failed transiently in
  Redis and puts them back in the queue when a run starts and when the queue runs dry;
* politeness is per process; :class:`SharedConcurrencyMiddleware` holds one
  per-mirror limit for all workers together;
* a Redis that restarts makes scrapy-redis raise from every signal handler; here
  (:class:`RedisHealth`) an outage is one warning per worker, the writes that failed
  (claims and concurrency slots released, requests queued) are retried once Redis is
  back, and a worker that cannot reach it for ``SHARED_REDIS_PATIENCE`` stops with one
  message, its frontier safe in Redis.

Without ``REDIS_URL`` the crawl is the single-machine crawl, unchanged.

Module for module as scrapy-redis 0.9.1, which it subclasses: :mod:`.connection`,
:mod:`.serializer` (scrapy-redis's ``picklecompat``), :mod:`.dupefilter`, :mod:`.queue`,
:mod:`.scheduler`, and :mod:`.concurrency` and :mod:`.retry` (which scrapy-redis lacks).
"""

from crawler.exceptions import UnsafeRequest
from crawler.reasons import REDIS_LOST, REDIS_UNREACHABLE
from crawler.shared.concurrency import SharedConcurrencyMiddleware
from crawler.shared.connection import RedisHealth, redis, redis_from_settings, shared_key
from crawler.shared.dupefilter import SharedDupeFilter
from crawler.shared.queue import ClaimingQueue
from crawler.shared.retry import RetrySet
from crawler.shared.scheduler import RefusingScheduler, SharedScheduler
from crawler.shared.serializer import JsonRequestSerializer

__all__ = [
    "REDIS_LOST",
    "REDIS_UNREACHABLE",
    "ClaimingQueue",
    "JsonRequestSerializer",
    "RedisHealth",
    "RefusingScheduler",
    "RetrySet",
    "SharedConcurrencyMiddleware",
    "SharedDupeFilter",
    "SharedScheduler",
    "UnsafeRequest",
    "redis",
    "redis_from_settings",
    "shared_key",
]
