"""Run the sample mirror and both proxies on 127.0.0.1 until SIGTERM/SIGINT.

Usage::

    python -m crawler.samplemirror [--articles N] [--seed S] [--edition K] [--noise]
                                   [--delay SECONDS] [--http-port P] [--socks-port P] [--https]

Prints one line per service (mirror, HTTP proxy, SOCKS5 proxy, start URL),
flushes stdout, then serves.  ``--https`` serves the mirror like the real NYT
v3 onion: HTTPS with a self-signed certificate for the onion names (needs the
``cryptography`` package) and a ``301`` to ``https://`` for every plain-HTTP
request; the start URL is then ``https://...onion/`` and a fifth line,
``mirror server (tls): https://127.0.0.1:PORT``, follows it.

``--edition K`` serves the site ``K`` days later (:meth:`~.site.SampleSite.next_edition`
applied ``K`` times: new, edited, removed and restored articles); ``--noise``
gives pages without validators per-response noise (an ad slot id).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from .proxies import RecordingHttpProxy, RecordingSocks5Server
from .server import MirrorServer
from .site import MIRROR_V3, build_site


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m crawler.samplemirror",
        description="Serve a sample NYT onion mirror behind recording HTTP and SOCKS5 proxies.",
    )
    parser.add_argument("--articles", type=int, default=40, help="number of articles (default 40)")
    parser.add_argument("--seed", type=int, default=7, help="site generator seed (default 7)")
    parser.add_argument(
        "--edition", type=int, default=0, help="serve the site this many days (editions) later (default 0)"
    )
    parser.add_argument(
        "--noise", action="store_true", help="per-response noise (an ad slot id) on pages without validators"
    )
    parser.add_argument("--delay", type=float, default=0.0, help="seconds of latency per request")
    parser.add_argument("--http-port", type=int, default=0, help="HTTP proxy port (0 = any free)")
    parser.add_argument("--socks-port", type=int, default=0, help="SOCKS5 port (0 = any free)")
    parser.add_argument(
        "--https",
        action="store_true",
        help="serve HTTPS (self-signed certificate) and redirect plain HTTP to it, like the real mirror",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Start everything, print the addresses, serve until a signal arrives."""
    args = parse_args(argv)
    if args.articles < 1:
        print("--articles must be at least 1", file=sys.stderr)
        return 2
    if args.edition < 0:
        print("--edition must be at least 0", file=sys.stderr)
        return 2
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    site = build_site(args.articles, args.seed, edition=args.edition, noise=args.noise)
    mirror = MirrorServer(site, delay=args.delay, tls=args.https, https_redirect=args.https)
    http_proxy = RecordingHttpProxy.for_server(mirror, port=args.http_port)
    socks_proxy = RecordingSocks5Server.for_server(mirror, port=args.socks_port)
    with mirror, http_proxy, socks_proxy:
        print(f"mirror server: {mirror.url}")
        print(f"http proxy: {http_proxy.url}")
        print(f"socks5 proxy: {socks_proxy.url}")
        print(f"start url: {'https' if args.https else 'http'}://{MIRROR_V3}/")
        if mirror.tls_url:
            print(f"mirror server (tls): {mirror.tls_url}")
        sys.stdout.flush()
        while not done.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
