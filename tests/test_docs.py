"""The documentation site (``docs/``) says what the code does, builds, and its examples run.

The reference pages are checked against the code they describe, read from the code itself
(never from a list copied here): every setting ``crawler/settings.py`` defines is in
``docs/settings.md``, every key the rules loader accepts in ``docs/rules.md``, every finish
reason in ``docs/failures.md``, every field of the page item, table and column of the store
and graph format in ``docs/outputs.md``.

The examples are run as a reader would run them, page by page, in an empty folder, in the
order they are written: a ``pycon`` block is a doctest (``>>>``), a ``console`` block is
shell commands (``$ scrapy ...``) and the output they print (``...`` stands for any text).
Only commands that stay on this machine are written as ``console`` blocks (the sample
mirror, the store, the rules); a command that needs Tor or root is written as ``sh`` and
not run. The site is built as a contributor builds it, with Sphinx, warnings as errors.
"""

from __future__ import annotations

import ast
import dataclasses
import doctest
import importlib
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import crawler.url
from crawler import reasons
from crawler.items import Page
from crawler.samplemirror.crawls import scrapy_command
from crawler.store.database import Store
from crawler.store.graph import FORMATS as GRAPH_FORMATS
from crawler.url import rules as rules_loader

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
FENCE_RE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w{}-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)
# The scrapy commands a console example may run: each reads or writes local files only, or
# crawls the sample mirror on 127.0.0.1 (scrapy demo). A crawl through Tor and
# `scrapy mirrors --check` are no examples to run here: the tests reach no network.
OFFLINE_COMMANDS = {"demo", "summary", "normalize", "mirrors", "pages", "graph", "changes", "wacz", "merge"}
NETWORK_OPTIONS = {"--check"}


def _markdown(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _reference_rows(text: str) -> set[str]:
    """The names a Markdown table documents: the first cell of each row, as ``\\`NAME\\```."""
    return set(re.findall(r"^\|\s*`([^`]+)`\s*\|", text, re.M))


# -- the reference pages hold everything the code defines ----------------------------------------


def defined_settings() -> list[str]:
    """Every setting crawler/settings.py defines: its module-level UPPERCASE assignments."""
    tree = ast.parse((ROOT / "crawler" / "settings.py").read_text(encoding="utf-8"))
    names = []
    for node in tree.body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        names += [t.id for t in targets if isinstance(t, ast.Name) and t.id.isupper()]
    return names


def test_every_setting_has_a_row_in_the_settings_reference():
    names = defined_settings()
    assert {"ONION_PROXY", "STORE_PATH", "DEPTH_LIMIT"} <= set(names)  # the parse found the file's settings
    rows = _reference_rows(_markdown("settings.md"))
    missing = [name for name in names if name not in rows]
    assert not missing, f"docs/settings.md has no row for: {', '.join(missing)}"


def test_the_settings_reference_names_only_real_settings():
    from scrapy.settings import default_settings

    known = set(defined_settings()) | {name for name in dir(default_settings) if name.isupper()}
    rows = {row for row in _reference_rows(_markdown("settings.md")) if row.isupper()}
    assert not rows - known, f"docs/settings.md documents settings that do not exist: {sorted(rows - known)}"


def rule_keys() -> set[str]:
    """Every key the rules loader accepts: the keys of its schema tables (``_*_KEYS``), read from
    the loader module itself, so a key added there is a key the page must explain."""
    schemas = [
        value
        for name, value in vars(rules_loader).items()
        if re.fullmatch(r"_[A-Z_]+_KEYS", name) and isinstance(value, dict)
    ]
    assert len(schemas) >= 5, "the rules loader's schema tables were not found: has crawler/url/rules.py changed?"
    return {key for schema in schemas for key in schema}


def test_every_rule_key_has_a_row_in_the_rules_reference():
    keys = rule_keys()
    assert {"onion", "domain", "patterns", "params", "schedule"} <= keys
    rows = _reference_rows(_markdown("rules.md"))
    missing = sorted(keys - rows)
    assert not missing, f"docs/rules.md has no row for the rule keys: {', '.join(missing)}"


def test_every_finish_reason_and_its_exit_status_are_in_when_things_fail():
    text = _markdown("failures.md")
    rows = {
        match["name"]: int(match["status"])
        for match in re.finditer(r"^\|\s*`(?P<name>[a-z_]+)`\s*\|\s*(?P<status>\d+)\s*\|", text, re.M)
    }
    expected = {name: reason.exit_status for name, reason in reasons.REASONS.items()}
    expected |= {"finished": 0, "shutdown": 0}  # Scrapy's own
    assert {name: rows.get(name) for name in expected} == expected


def test_the_outputs_page_has_every_page_field_table_column_and_graph_format():
    text = _markdown("outputs.md")
    rows = _reference_rows(text)
    fields = [f.name for f in dataclasses.fields(Page)]
    assert not [f for f in fields if f not in rows], "docs/outputs.md: a field of crawler.items.Page has no row"
    with Store(":memory:") as store:
        tables = [name for (name,) in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        columns = {table: [row[1] for row in store.db.execute(f"PRAGMA table_info({table})")] for table in tables}
    assert {"pages", "links", "versions"} <= set(columns)
    for table, names in columns.items():
        section = re.search(rf"^#+ `{table}`.*?(?=^#|\Z)", text, re.M | re.S)
        assert section, f"docs/outputs.md has no section for the store's table {table}"
        undocumented = [name for name in names if f"`{name}`" not in section[0]]
        assert not undocumented, f"docs/outputs.md, table {table}: no word on {undocumented}"
    assert not [ext for ext in GRAPH_FORMATS if f"`{ext}`" not in text]


def _resolves(dotted: str) -> bool:
    """Whether ``crawler.a.b.Name`` names something: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(found, name):
                return False
            found = getattr(found, name)
        return True
    return False


def test_every_file_and_python_name_the_pages_give_exists():
    # Code moves; a page that sends the reader to crawler/outage.py after it moved is wrong.
    stale = []
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        paths = set(re.findall(r"`((?:crawler|tests|bench|rules)/[\w./-]*\w)`", text))
        stale += [f"{page.name}: {path}" for path in sorted(paths) if not (ROOT / path).exists()]
        names = set(re.findall(r"`(crawler(?:\.\w+)+)`", text))
        stale += [f"{page.name}: {name}" for name in sorted(names) if not _resolves(name)]
    assert not stale, "the docs name what is not there: " + "; ".join(stale)


# -- the examples run ---------------------------------------------------------------------------


@dataclass
class Block:
    page: str
    line: int
    lang: str  # pycon, console, or file: a code-block whose caption is the file it is (the reader writes it)
    body: str
    path: str = ""


def example_blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    blocks = []
    for match in FENCE_RE.finditer(text):
        indent = len(match["indent"])
        body = "".join(line[indent:] for line in match["body"].splitlines(keepends=True))
        line = text.count("\n", 0, match.start()) + 2
        if match["lang"] in ("pycon", "console"):
            blocks.append(Block(page.name, line, match["lang"], body))
        elif match["lang"] == "{code-block}":
            options = re.match(r"(?:^:\w+:.*\n)*\n?", body)
            caption = re.search(r"^:caption:\s*(\S+)\s*$", options[0] if options else "", re.M)
            if caption:
                blocks.append(Block(page.name, line, "file", body[options.end() if options else 0 :], caption[1]))
    return blocks


PAGES_WITH_EXAMPLES = sorted(page.name for page in DOCS.glob("*.md") if example_blocks(page))


def test_the_pages_have_examples_to_run():
    # The API, the first crawl, the store: at least those show what they say with examples that run.
    assert {"url.md", "crawl.md", "outputs.md"} <= set(PAGES_WITH_EXAMPLES)


@pytest.mark.parametrize("page", PAGES_WITH_EXAMPLES)
def test_the_examples_of_a_page_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an empty folder, as a reader starts in
    globs: dict[str, object] = {"__name__": "__docs__"}
    for block in example_blocks(DOCS / page):
        if block.lang == "pycon":
            _run_doctest(block, globs)
        elif block.lang == "console":
            _run_console(block, tmp_path)
        else:
            target = tmp_path / block.path
            assert target.resolve().is_relative_to(tmp_path.resolve()), f"{block.page}:{block.line}: {block.path}"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.body, encoding="utf-8")


def _run_doctest(block: Block, globs: dict[str, object]) -> None:
    test = doctest.DocTestParser().get_doctest(block.body, globs, f"{block.page}:{block.line}", block.page, block.line)
    assert test.examples, f"{block.page}:{block.line}: a pycon block with no >>> example"
    out: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS, verbose=False)
    result = runner.run(test, out=out.append, clear_globs=False)
    globs.update(test.globs)  # the page's next block goes on with these names, as in one session
    assert result.failed == 0, "".join(out)


def _run_console(block: Block, folder: Path) -> None:
    steps = re.split(r"^\$ ", block.body, flags=re.M)
    assert steps[0] == "", f"{block.page}:{block.line}: a console block starts with a $ command"
    checker = doctest.OutputChecker()
    for step in steps[1:]:
        line, _, expected = step.partition("\n")
        argv = shlex.split(line)
        offline = argv[:1] == ["scrapy"] and argv[1] in OFFLINE_COMMANDS and not NETWORK_OPTIONS & set(argv)
        assert offline, f"{block.page}:{block.line}: `{line}` is no offline example: write it in an sh block"
        command, env = scrapy_command(argv[1:])
        env.pop("ONION_PROXY", None)
        done = subprocess.run(
            command, cwd=folder, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"{block.page}:{block.line}: `{line}` exited {done.returncode}:\n{done.stderr}"
        flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
        assert checker.check_output(expected, done.stdout, flags), (
            f"{block.page}:{block.line}: `{line}` printed\n{done.stdout}\nwhere the page says\n{expected}"
        )


# -- the site builds --------------------------------------------------------------------------------

NETWORK_LOAD_RE = re.compile(
    r"<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)=[\"'](?:https?:)?//[^\"']*[\"']"
    r"|@import\s+(?:url\()?[\"']?(?:https?:)?//|url\([\"']?(?:https?:)?//",
    re.I,
)


@pytest.mark.slow
def test_the_site_builds_with_warnings_as_errors_and_loads_nothing_from_the_network(tmp_path):
    out = tmp_path / "html"
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    built = sorted(out.rglob("*.html")) + sorted(out.rglob("*.css")) + sorted(out.rglob("*.js"))
    assert (out / "index.html").is_file() and (out / "settings.html").is_file()
    loads = {str(path.relative_to(out)): NETWORK_LOAD_RE.findall(path.read_text(encoding="utf-8")) for path in built}
    assert not {name: found for name, found in loads.items() if found}
    api = (out / "url.html").read_text(encoding="utf-8")
    undocumented = [name for name in crawler.url.__all__ if f'id="crawler.url.{name}"' not in api]
    assert not undocumented, f"the API page (autodoc) lacks {undocumented}"
