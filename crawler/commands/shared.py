"""``scrapy shared``: look at, or clear, the shared crawl state in Redis (REDIS_URL).

    scrapy shared -s REDIS_URL=redis://:PW@HOST:6379/0            # queue, seen, workers, claims, to fetch again
    scrapy shared --clear -s REDIS_URL=...                          # start the next crawl afresh

Workers never delete the shared state by themselves (a worker that finishes first
would take the others' frontier with it): clearing is this explicit command.
"""

from __future__ import annotations

import argparse
from functools import partial

from crawler.cli import ProjectCommand
from crawler.logmask import mask_secrets


class Command(ProjectCommand):
    def short_desc(self) -> str:
        return "Show or clear the shared crawl state in Redis (REDIS_URL)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--spider", default="mirror", help="spider name (default: mirror)")
        parser.add_argument(
            "--clear",
            action="store_true",
            help="delete the queue, the seen set, the claims and the requests to fetch again",
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if not self.settings.get("REDIS_URL"):
            self.fail("set REDIS_URL (-s REDIS_URL=redis://:PASSWORD@HOST:6379/0)")
            return
        from crawler.shared import redis, redis_from_settings, shared_key

        server = redis_from_settings(self.settings)
        key = partial(shared_key, self.settings, opts.spider)  # key(suffix): one of this spider's keys
        try:
            keys = [key("requests"), key("dupefilter"), key("retry"), key("retry:requests"), key("retry:rounds")]
            keys += [k.decode() for k in server.scan_iter(match=key("claims:*"))]
            keys += [k.decode() for k in server.scan_iter(match=key("slots:*"))]
            keys += [k.decode() for k in server.scan_iter(match=key("dupefilter:*"))]  # one per round
            keys += [k.decode() for k in server.scan_iter(match=key("round*"))]
            if opts.clear:
                deleted = server.delete(*keys) if keys else 0
                print(f"cleared {deleted} keys of {opts.spider!r} in {mask_secrets(self.settings['REDIS_URL'])}")
                return
            workers = [k.decode() for k in server.scan_iter(match=key("worker:*"))]
            claims = sum(server.hlen(k) for k in server.scan_iter(match=key("claims:*")))
            print(f"queued requests: {server.zcard(key('requests'))}")
            number = int(server.get(key("round")) or 0)
            finished = int(server.get(key("round:finished")) or 0)
            state = "finished" if number and finished >= number else "under way"
            print(f"round: {number} ({state})" if number else "round: none yet")
            print(f"seen fingerprints this round: {server.scard(key(f'dupefilter:{number}'))}")
            print(f"live workers: {len(workers)}")
            print(f"claimed (in flight): {claims}")
            later = server.zcount(key("retry"), "+inf", "+inf")
            print(f"failed transiently, to fetch again: {server.zcard(key('retry'))} ({later} by the next run)")
        except redis.RedisError as exc:
            self.fail(f"Redis at {mask_secrets(self.settings['REDIS_URL'])}: {mask_secrets(str(exc))}")
