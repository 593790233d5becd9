"""``scrapy mirrors``: the list of the rules' mirrors, and ``--check`` through a SOCKS proxy
(the sample mirror on loopback behind the recording SOCKS5 server that stands in for Tor)."""

import json
import shutil
import socket
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.samplemirror import MIRROR_V3, MirrorServer, Outage, RecordingHttpProxy, RecordingSocks5Server, build_site
from crawler.samplemirror.crawls import scrapy_command
from crawler.url.rules import bundled_rules_dir, load_rules
from tests.crawling import DNS_GUARD, run_scrapy

SECURE = MIRROR_V3.removeprefix("www.")  # the sample mirror's own onion, served over TLS too
PLAIN = "zervmwoc5flabhlh3heegnspbpoebbgr3kgkaarkpnz2gtsuunlxgqyd.onion"  # answered over plain HTTP
GONE = "27m3p2uv7igmj6kvd4ql3cct5h3sdwrsajovkkndeufumzyfhlfev4qd.onion"  # the proxy refuses it
RETIRED = "ibpj4qv7mufde33w.onion"

SITE = """
[site]
name = "{name}"
domains = ["{domain}"]
scheme = "https"

[[mirrors]]
onion = "{onion}"
domain = "{domain}"
basis = "stated"
source = "test"
{extra}

[tracking]
params = []

[articles]
patterns = ['^/story/']
"""


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    shutil.copy(bundled_rules_dir() / "global.toml", folder / "global.toml")
    sites = [
        ("secure", "Secure News", "example.com", SECURE, ""),
        ("plain", "Plain News", "example.org", PLAIN, 'scheme = "http"'),
        ("gone", "Gone News", "example.net", GONE, 'down_since = "2023-01-01"\ndown_source = "a public checker"'),
    ]
    for key, name, domain, onion, extra in sites:
        text = SITE.format(name=name, domain=domain, onion=onion.removesuffix(".onion"), extra=extra)
        if key == "plain":  # and a retired v2 mirror, never checked
            text = text.replace(
                "[tracking]", f'[[mirrors]]\nonion = "{RETIRED[:-6]}"\ndomain = "{domain}"\n\n[tracking]'
            )
        (folder / f"{key}.toml").write_text(text)
    return folder


@pytest.fixture
def mirror():
    """The sample mirror over HTTPS, plain HTTP redirected there (like the real NYT mirror)."""
    with MirrorServer(build_site(), tls=True, https_redirect=True) as server:
        yield server


def check(workdir: Path, proxy_url: str, rules_dir: Path, *args: str, **settings: object):
    """``scrapy mirrors --check ARGS`` as a user runs it, with every local name lookup refused
    and recorded (tests/dnsguard): an .onion must only ever be resolved by the proxy."""
    merged = {"ONION_PROXY": proxy_url, "RULES_DIR": rules_dir, **settings}
    command, env = scrapy_command(["mirrors", "--check", *args], merged, pythonpath=[DNS_GUARD])
    env["DNS_GUARD_LOG"] = str(workdir / "dns.log")
    result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
    lookups = (workdir / "dns.log").read_text().split() if (workdir / "dns.log").exists() else []
    return result, lookups


def jsonl(path: Path) -> dict[str, dict]:
    return {record["onion"]: record for record in map(json.loads, path.read_text().splitlines())}


def test_lists_every_mirror_of_the_rules(tmp_path):
    result = run_scrapy(tmp_path, "mirrors")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    rules = load_rules()
    assert len(lines) == len(rules.mirrors)
    by_host = {line.split()[2]: line for line in lines}
    taz = by_host["zervmwoc5flabhlh3heegnspbpoebbgr3kgkaarkpnz2gtsuunlxgqyd.onion"]
    assert taz.split()[:2] == ["taz", "http"] and " live " in taz and "stated" in taz
    nyt = by_host["nytimesn7cgmftshazwhfgzm37qxb44r64ytbb2dj3x62d2lljsciiyd.onion"]
    assert "down since 2025-03-05" in nyt and "nytimes.com" in nyt
    assert "retired 2021-10-15" in by_host["bfnews3u2ox4m4ty.onion"]
    assert (
        "inferred" in by_host["www.voanews5aitmne6gs2btokcacixclgfl43cv27sirgbauyyjylwpdtqd.onion".removeprefix("www.")]
    )


def test_lists_one_site_as_json_lines(tmp_path):
    result = run_scrapy(tmp_path, "mirrors", "--site", "www.bellingcat.com", "-o", "mirrors.jsonl")
    assert result.returncode == 0, result.stderr
    [record] = jsonl(tmp_path / "mirrors.jsonl").values()
    assert record["site"] == "bellingcat" and record["scheme"] == "http"
    assert (record["domain"], record["bare_host"]) == ("bellingcat.com", "www.bellingcat.com")
    assert record["basis"] == "stated" and "bellingcat.com/resources/2022/04/22" in record["source"]
    assert record["retired"] is None and record["down_since"] == "2026-07-10"
    # A site found by an onion host; its retired v2 mirror with Tor's word on it.
    result = run_scrapy(tmp_path, "mirrors", "--site", "http://www.nytimes3xbfgragh.onion/", "--json")
    records = {r["onion"]: r for r in map(json.loads, result.stdout.splitlines())}
    old = records["nytimes3xbfgragh.onion"]
    assert old["retired"] == "2021-10-15" and "v2-deprecation-timeline" in old["retired_source"]
    assert old["state"] == "retired 2021-10-15"


def test_an_unknown_site_is_an_error(tmp_path):
    result = run_scrapy(tmp_path, "mirrors", "--site", "example.org")
    assert result.returncode == 2
    assert "unknown site 'example.org'" in result.stderr and "nytimes" in result.stderr


def test_check_says_which_mirror_answers_and_why_the_others_do_not(tmp_path, rules_dir, mirror):
    allowed = {SECURE, PLAIN}
    with RecordingSocks5Server.for_server(mirror, allowed_hosts=allowed) as proxy:
        result, lookups = check(tmp_path, proxy.url, rules_dir, "-o", "checks.jsonl", MIRROR_PROBE_TIMEOUT=20)
    assert result.returncode == 1, result.stderr  # a mirror is down
    records = jsonl(tmp_path / "checks.jsonl")
    assert set(records) == {SECURE, PLAIN, GONE}  # the retired mirror is not asked
    secure, plain, gone = records[SECURE], records[PLAIN], records[GONE]
    # An https mirror: up, its certificate's expiry read (the sample's is valid for ten years).
    assert secure["up"] and secure["status"] == 200 and secure["url"] == f"https://{SECURE}/"
    expires = datetime.fromisoformat(secure["certificate_expires"])
    assert expires > datetime.now(UTC) and secure["certificate_expired"] is False
    assert secure["ttfb"] > 0 and secure["reason"] is None
    # An http mirror: up, the redirect it answers with, no certificate.
    assert plain["up"] and plain["status"] == 301 and plain["url"] == f"http://{PLAIN}/"
    assert plain["location"] == f"https://{PLAIN}/" and plain["certificate_expires"] is None
    # A mirror Tor cannot reach: down, in Tor's words.
    assert not gone["up"] and gone["status"] is None
    assert gone["reason"] == "host unreachable (SOCKS 0x04)" and gone["socks_code"] == 4
    assert gone["down_since"] == "2023-01-01"
    # Text on stdout, one line each.
    lines = {line.split()[1]: line for line in result.stdout.splitlines()}
    assert lines["secure"].startswith("up ") and "certificate until" in lines["secure"]
    assert lines["plain"].startswith("up ") and f"-> https://{PLAIN}/" in lines["plain"]
    assert lines["gone"].startswith("down ") and "host unreachable (SOCKS 0x04)" in lines["gone"]
    # Names went to the proxy, never to a local resolver; with the crawl's isolation credentials.
    assert lookups == []
    asked = [r for r in proxy.requests if r.method == "CONNECT"]
    assert {(r.host, r.port) for r in asked} == {(SECURE, 443), (PLAIN, 80), (GONE, 443)}
    assert all(r.as_name for r in asked)
    assert all(r.username and r.username.startswith("crawl-") for r in asked)
    assert {r.target for r in mirror.requests} == {"/"}


def test_check_of_one_site_that_answers_exits_0(tmp_path, rules_dir, mirror):
    with RecordingSocks5Server.for_server(mirror, allowed_hosts={SECURE}) as proxy:
        result, _ = check(tmp_path, proxy.url, rules_dir, "--site", "secure", "--json", ONION_PROXY_ISOLATION="site")
    assert result.returncode == 0, result.stderr
    [record] = map(json.loads, result.stdout.splitlines())
    assert record["onion"] == SECURE and record["up"]
    assert proxy.requests[-1].username.endswith("-secure")  # per-site isolation, as in a crawl


def test_check_reports_tors_extended_replies_in_words(tmp_path, rules_dir, mirror):
    outage = Outage(socks_reply=0xF0)  # Tor: the onion service's descriptor was not found
    with RecordingSocks5Server.for_server(mirror, allowed_hosts={SECURE, PLAIN}, outage=outage) as proxy:
        outage.start()
        result, _ = check(tmp_path, proxy.url, rules_dir, "--json")
    assert result.returncode == 1, result.stderr
    records = {r["onion"]: r for r in map(json.loads, result.stdout.splitlines())}
    for onion in (SECURE, PLAIN):
        assert records[onion]["reason"] == "onion service descriptor not found (SOCKS 0xF0)"
        assert records[onion]["socks_code"] == 0xF0 and not records[onion]["up"]


def test_check_through_an_http_proxy_tells_its_refusal_from_the_mirrors_answer(tmp_path, rules_dir, mirror):
    """privoxy in front of Tor: its 503 "Forwarding failure" is the proxy's word, not the mirror's."""
    outage = Outage()
    with RecordingHttpProxy.for_server(mirror, allowed_hosts={SECURE, PLAIN}, outage=outage) as proxy:
        result, _ = check(tmp_path, proxy.url, rules_dir, "--json", "--site", "plain")
        assert result.returncode == 0, result.stderr  # through the proxy: 301, as over SOCKS
        outage.start()
        result, lookups = check(tmp_path, proxy.url, rules_dir, "--json")
    assert result.returncode == 1, result.stderr
    records = {r["onion"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert records[PLAIN]["reason"] == "the proxy says 503 Forwarding failure" and records[PLAIN]["status"] == 503
    assert not records[SECURE]["up"] and "the proxy says" in records[SECURE]["reason"]  # its CONNECT refused
    assert records[GONE]["reason"].startswith("the proxy says") and not records[GONE]["up"]
    assert lookups == []


def test_check_gives_up_after_the_timeout(tmp_path, rules_dir):
    silent = socket.create_server(("127.0.0.1", 0))  # takes the connection, never answers
    try:
        with RecordingSocks5Server(silent.getsockname()[:2], allowed_hosts={PLAIN}) as proxy:
            result, _ = check(tmp_path, proxy.url, rules_dir, "--site", "plain", "--timeout", "1", "--json")
    finally:
        silent.close()
    assert result.returncode == 1, result.stderr
    [record] = map(json.loads, result.stdout.splitlines())
    assert record["reason"] == "no answer within 1 s (timed out)"


def test_check_without_a_proxy_checks_nothing(tmp_path, rules_dir):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    result, _ = check(tmp_path, f"socks5h://127.0.0.1:{port}", rules_dir, "-o", "checks.jsonl")
    assert result.returncode == 2
    assert "cannot reach the proxy" in result.stderr and "Start Tor" in result.stderr
    assert (tmp_path / "checks.jsonl").read_text() == ""


def test_check_of_a_site_with_only_retired_mirrors(tmp_path):
    result = run_scrapy(tmp_path, "mirrors", "--check", "--site", "buzzfeednews")
    assert result.returncode == 0
    assert "no mirror to check (every mirror is retired)" in result.stderr


def test_a_crawl_from_the_canonical_https_url_of_an_http_only_mirror(tmp_path):
    """An HTTP-only mirror (as taz's and Bellingcat's are): the sample mirror's onion declared
    `scheme = "http"` in a copy of the rules, the crawl started from the canonical https URL: every
    article fetched over http on the mirror, every page recorded under its canonical https URL."""
    import shutil

    from crawler.samplemirror import MIRROR_V3, MirrorServer, RecordingSocks5Server, build_site
    from crawler.url.rules import bundled_rules_dir
    from tests.crawling import run_crawl

    rules = tmp_path / "rules"
    shutil.copytree(bundled_rules_dir(), rules, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    text = (rules / "nytimes.toml").read_text()
    v3 = 'onion = "nytimesn7cgmftshazwhfgzm37qxb44r64ytbb2dj3x62d2lljsciiyd"\n'
    assert v3 in text
    (rules / "nytimes.toml").write_text(text.replace(v3, v3 + 'scheme = "http"\n'))
    site = build_site()
    with MirrorServer(site) as server, RecordingSocks5Server(server.address) as proxy:
        result = run_crawl(
            tmp_path / "crawl",
            proxy.url,
            start="https://www.nytimes.com/",
            settings={"RULES_DIR": str(rules), "DEPTH_LIMIT": "10"},
        )
        schemes = set(server.request_schemes)
        ports = {request.port for request in proxy.requests}
    assert result.returncode == 0, result.stderr[-3000:]
    assert schemes == {"http"} and ports == {80}  # never https on this mirror
    fetched = {item["url"] for item in result.items if item["status"] == 200}
    assert site.article_urls() <= fetched
    assert all(item["url"].startswith("https://www.nytimes.com/") for item in result.items)
    assert all(item["fetched_url"].startswith(f"http://{MIRROR_V3}/") for item in result.items)
