"""``scrapy`` command lines as subprocesses: one builder for the tests, the benchmarks and your own
experiments against the sample mirror.

>>> command, env = scrapy_command(["crawl", "mirror", "-a", "start_urls=http://x.onion/"], {"DEPTH_LIMIT": 2})
>>> command[1:]
['-m', 'scrapy.cmdline', 'crawl', 'mirror', '-a', 'start_urls=http://x.onion/', '-s', 'DEPTH_LIMIT=2']
>>> env["SCRAPY_SETTINGS_MODULE"]
'crawler.settings'
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

__all__ = ["scrapy_command"]

# The caller's environment must not choose the proxy, the Redis or the project behind a test's back.
_NOT_INHERITED = ("ONION_PROXY", "REDIS_URL", "SCRAPY_PROJECT", "SCRAPY_SETTINGS_MODULE")


def scrapy_command(
    args: Sequence[str],
    settings: Mapping[str, object] | None = None,
    *,
    project: bool = True,
    pythonpath: Iterable[str | Path] = (),
    python: Sequence[str] | None = None,
) -> tuple[list[str], dict[str, str]]:
    """``python -m scrapy.cmdline ARGS -s NAME=VALUE...`` and its environment: the project's
    settings (``project``), ``pythonpath`` put first on ``PYTHONPATH``."""
    command = [*(python or [sys.executable]), "-m", "scrapy.cmdline", *args]
    for name, value in (settings or {}).items():
        command += ["-s", f"{name}={value}"]
    env = {name: value for name, value in os.environ.items() if name not in _NOT_INHERITED}
    if project:
        env["SCRAPY_SETTINGS_MODULE"] = "crawler.settings"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [*map(str, pythonpath), env.get("PYTHONPATH")]))
    return command, env
