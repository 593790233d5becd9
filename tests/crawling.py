"""Run real `scrapy crawl` processes against the sample mirror, for the tests."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from crawler.samplemirror import MIRROR_V3
from crawler.samplemirror.crawls import scrapy_command

DNS_GUARD = Path(__file__).parent / "dnsguard"
START_URL = f"http://{MIRROR_V3}/"
# The sample mirror answers at once: no need for Tor-sized politeness in tests.
FAST = {
    "AUTOTHROTTLE_ENABLED": "0",
    "CONCURRENT_REQUESTS": "16",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "LOG_LEVEL": "INFO",
    "ONION_PROXY_CHECK_TIMEOUT": "3",
}


@dataclass
class Crawl:
    returncode: int
    stderr: str
    items: list[dict]
    dns_lookups: list[str] = field(default_factory=list)

    def by_url(self) -> dict[str, list[dict]]:
        grouped: dict[str, list[dict]] = {}
        for item in self.items:
            grouped.setdefault(item["url"], []).append(item)
        return grouped


def crawl_command(
    workdir: Path,
    proxy_url: str,
    start: str = START_URL,
    settings: dict[str, str] | None = None,
    output: str = "pages.jsonl",
    spider: str = "mirror",
) -> tuple[list[str], dict[str, str]]:
    merged = {**FAST, "ONION_PROXY": proxy_url, **(settings or {})}
    args = ["crawl", spider, "-a", f"start_urls={start}", "-o", f"{output}:jsonl"]
    command, env = scrapy_command(args, merged, pythonpath=[DNS_GUARD])
    env["DNS_GUARD_LOG"] = str(workdir / "dns.log")
    return command, env


def run_crawl(workdir: Path, proxy_url: str, timeout: float = 120, **kwargs) -> Crawl:
    workdir.mkdir(parents=True, exist_ok=True)
    command, env = crawl_command(workdir, proxy_url, **kwargs)
    result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)
    return Crawl(
        result.returncode,
        result.stderr,
        read_items(workdir / kwargs.get("output", "pages.jsonl")),
        read_dns_log(workdir),
    )


def read_items(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def read_dns_log(workdir: Path) -> list[str]:
    log = workdir / "dns.log"
    return log.read_text().split() if log.exists() else []


def run_scrapy(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Any other scrapy command (pages, graph, merge, summary), as a user runs it."""
    command, env = scrapy_command(args)
    return subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=120)


def article_fetches(server, site) -> Counter:
    """How often the mirror served each article path (query strings ignored)."""
    paths = {a.path for a in site.articles}
    return Counter(path.split("?")[0] for _, _, path in server.requests if path.split("?")[0] in paths)


class ScriptedMirror:
    """A tiny mirror whose answers a test writes: ``answer(path, attempt)`` returns
    ``(status, headers, body)``, or None to drop the connection without a response.
    Records ``(time.monotonic(), path)`` for every request."""

    def __init__(self, answer) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[tuple[float, str]] = []
        attempts: Counter = Counter()
        lock = threading.Lock()
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802
                import time

                path = self.path.split("?")[0]
                with lock:
                    attempts[path] += 1
                    mirror.requests.append((time.monotonic(), path))
                    attempt = attempts[path]
                reply = answer(path, attempt)
                if reply is None:
                    self.close_connection = True
                    self.connection.close()
                    return
                status, headers, body = reply
                body = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                for name, value in {"Content-Type": "text/html; charset=utf-8", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        return self._server.server_address[:2]

    def hits(self, path: str) -> list[float]:
        return [when for when, asked in self.requests if asked == path]

    def __enter__(self) -> ScriptedMirror:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


def html_page(title: str, *links: str) -> str:
    anchors = "".join(f'<a href="{link}">{link}</a>' for link in links)
    return f"<html><head><title>{title}</title></head><body><p>{title}.</p>{anchors}</body></html>"
