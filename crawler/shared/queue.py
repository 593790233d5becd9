"""The shared queue: a request stays claimed by its worker until its page is stored
(scrapy-redis: ``queue.py``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy import Request

from crawler.exceptions import UnsafeRequest

if TYPE_CHECKING:
    pass


try:  # the optional extra: pip install '.[distributed]'
    from scrapy_redis.queue import PriorityQueue
except ImportError:  # pragma: no cover - exercised only without the extra
    PriorityQueue = object  # type: ignore[assignment,misc]

logger = logging.getLogger(__name__)


_POP_AND_CLAIM = """
local popped = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #popped == 0 then return false end
redis.call('ZREM', KEYS[1], popped[1])
redis.call('HSET', KEYS[2], popped[1], popped[2])
return popped[1]
"""
_SEEN_THEN_PUSH = """
if ARGV[3] == '0' and redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
return 1
"""
_HAND_BACK = """
local claims = redis.call('HGETALL', KEYS[1])
for i = 1, #claims, 2 do redis.call('ZADD', KEYS[2], claims[i + 1], claims[i]) end
redis.call('DEL', KEYS[1])
return #claims / 2
"""


class ClaimingQueue(PriorityQueue):
    """scrapy-redis's priority queue; a pop moves the request into the worker's claims."""

    def pop_claimed(self, claims_key: str) -> tuple[Request, bytes] | None:
        """The next request and its queue member, now in ``claims_key``; None if the queue is empty."""
        while True:
            member = self.server.eval(_POP_AND_CLAIM, 2, self.key, claims_key)
            if member is None:
                return None
            try:
                return self._decode_request(member), member
            except UnsafeRequest as exc:
                self.server.hdel(claims_key, member)
                logger.error("Refused a request in the shared queue %s: %s; it was dropped, not run.", self.key, exc)
                stats = getattr(self.spider.crawler, "stats", None)
                if stats is not None:
                    stats.inc_value("shared/refused_unsafe_requests")

    def hand_back(self, claims_key: str) -> int:
        return int(self.server.eval(_HAND_BACK, 2, claims_key, self.key))
