"""The project as a user installs it: the wheel, in a fresh venv, run from an empty folder."""

import os
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from crawler.samplemirror import MIRROR_V3, MirrorServer, RecordingSocks5Server, build_site
from tests.crawling import read_items

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built as a user's pip builds it."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [built] = out.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv holding the wheel; its dependencies are the test environment's (a .pth
    names their folder, nothing is downloaded), the checkout is not on its path."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "test-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return env_dir


def _run(installed: Path, folder: Path, *command: str, env: dict | None = None) -> subprocess.CompletedProcess:
    folder.mkdir(exist_ok=True)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SCRAPY_", "PYTHON", "ONION_PROXY"))}
    return subprocess.run(
        command, cwd=folder, env={**clean, **(env or {})}, capture_output=True, text=True, timeout=180
    )


def test_the_wheel_carries_the_rules(wheel):
    """rules/ is inside the wheel as crawler/bundled_rules/."""
    names = set(zipfile.ZipFile(wheel).namelist())
    for rule_file in (ROOT / "rules").glob("*.toml"):
        assert f"crawler/bundled_rules/{rule_file.name}" in names
    assert "crawler/url/rules.py" in names


def test_the_wheel_carries_the_viewer(wheel):
    """The page's template, style, script and the vendored scripts with their licenses and versions."""
    names = set(zipfile.ZipFile(wheel).namelist())
    viewer = ROOT / "crawler" / "viewer"
    shipped = [viewer / name for name in ("page.html", "viewer.css", "viewer.js")] + list((viewer / "vendor").iterdir())
    assert len(shipped) >= 10
    for path in shipped:
        assert path.relative_to(ROOT).as_posix() in names


def test_the_wheel_is_pure_python(wheel):
    """One universal wheel: no compiled code and no C source in it, tagged for any Python 3 anywhere."""
    assert wheel.name.endswith("-py3-none-any.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert [name for name in names if name.endswith((".so", ".pyd", ".c", ".h"))] == []
    metadata = next(name for name in names if name.endswith(".dist-info/WHEEL"))
    assert "Root-Is-Purelib: true" in zipfile.ZipFile(wheel).read(metadata).decode()


def test_the_installed_package_is_not_the_checkout(installed, tmp_path):
    done = _run(installed, tmp_path, str(installed / "bin" / "python"), "-c", "import crawler; print(crawler.__file__)")
    assert done.returncode == 0, done.stderr
    assert str(installed) in done.stdout and str(ROOT) not in done.stdout


def test_scrapy_demo_works_in_an_empty_folder(installed, tmp_path):
    done = _run(
        installed,
        tmp_path,
        str(installed / "bin" / "python"),
        "-m",
        "scrapy",
        "demo",
        "--articles",
        "8",
        "-O",
        "pages.jsonl",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    items = read_items(tmp_path / "pages.jsonl")
    assert len({item["url"] for item in items if item["status"] == 200}) >= 8
    assert (tmp_path / "crawl.sqlite3").is_file()
    # The demo archives what it fetched, and the archive packages from the wheel too.
    assert list((tmp_path / "demo-warc").glob("*.warc.gz")) and "scrapy wacz" in done.stdout
    python = str(installed / "bin" / "python")
    packed = _run(installed, tmp_path, python, "-m", "scrapy", "wacz", "-o", "demo.wacz", "--warc", "demo-warc")
    assert packed.returncode == 0 and (tmp_path / "demo.wacz").is_file(), packed.stderr[-3000:]
    # A second round, on the sample mirror's next edition, then what changed: from the wheel too.
    again = _run(installed, tmp_path, python, "-m", "scrapy", "demo", "--articles", "8", "--edition", "1")
    assert again.returncode == 0 and "edition 1:" in again.stdout, again.stderr[-3000:]
    changes = _run(installed, tmp_path, python, "-m", "scrapy", "changes", "-o", "changes.jsonl")
    assert changes.returncode == 0, changes.stderr[-3000:]
    edited = build_site(8).next_edition().changes.edited
    assert {item["url"] for item in read_items(tmp_path / "changes.jsonl")} == set(edited)


@pytest.mark.parametrize("how", ["onion-crawler", "SCRAPY_SETTINGS_MODULE"])
def test_the_crawl_and_the_commands_work_in_an_empty_folder(installed, tmp_path, how):
    site = build_site(8)
    with MirrorServer(site) as server, RecordingSocks5Server(server.address) as proxy:
        crawl_args = [
            "crawl",
            "mirror",
            "-a",
            f"start_urls=http://{MIRROR_V3}/",
            "-s",
            f"ONION_PROXY={proxy.url}",
            "-s",
            "AUTOTHROTTLE_ENABLED=0",
            "-O",
            "pages.jsonl",
        ]
        if how == "onion-crawler":
            scrapy, env = [str(installed / "bin" / "onion-crawler")], {}
        else:
            scrapy = [str(installed / "bin" / "python"), "-m", "scrapy"]
            env = {"SCRAPY_SETTINGS_MODULE": "crawler.settings"}
        done = _run(installed, tmp_path, *scrapy, *crawl_args, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert site.article_urls() <= {item["url"] for item in read_items(tmp_path / "pages.jsonl")}
    graph = _run(installed, tmp_path, *scrapy, "graph", "-o", "graph.json", env=env)
    assert graph.returncode == 0, graph.stderr[-2000:]
    assert (tmp_path / "graph.json").stat().st_size > 0
    page = _run(installed, tmp_path, *scrapy, "graph", "-o", "graph.html", env=env)
    assert page.returncode == 0, page.stderr[-2000:]
    assert "sigma" in (tmp_path / "graph.html").read_text()
