"""Test support: what the tests drive and a user never runs. The benchmarks import it too (they put
the project's root on ``sys.path``); what a user runs, ``scrapy demo`` and the sample mirror, stays in
the package.

* :mod:`.headless` -- a page opened in Debian's headless chromium over the DevTools protocol, every
  request recorded (the viewer's tests, ``bench/bench_viewer.py``);
* :mod:`.localredis` -- a throw-away redis-server on a free loopback port (the shared-crawl tests,
  ``bench/bench_distributed.py``, ``bench/bench_faults.py``).
"""
