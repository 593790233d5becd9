"""`scrapy normalize`, run as a user runs it, outside a project folder."""

import subprocess
import sys
from pathlib import Path

V2 = "www.nytimes3xbfgragh.onion"


def scrapy(*args: str, stdin: bytes = b"", cwd: Path) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "scrapy.cmdline", *args]
    return subprocess.run(command, input=stdin, capture_output=True, cwd=cwd, timeout=60)


def test_urls_as_arguments(tmp_path):
    result = scrapy("normalize", f"http://{V2}/a.html?smid=x", "https://example.com/?b=1&a=2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines() == ["https://www.nytimes.com/a.html", "https://example.com/?a=2&b=1"]


def test_stdin_lines_with_a_bad_line(tmp_path):
    stdin = f"http://{V2}/a.html\nnot a url\n\nftp://example.com/\nhttps://www.nytimes.com/b.html?rref=1\n".encode()
    result = scrapy("normalize", stdin=stdin, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.decode().splitlines() == ["https://www.nytimes.com/a.html", "https://www.nytimes.com/b.html"]
    errors = result.stderr.decode().splitlines()
    assert len(errors) == 2
    assert errors[0].startswith("error: line 2: 'not a url'")
    assert errors[1].startswith("error: line 4: 'ftp://example.com/'")


def test_explain(tmp_path):
    result = scrapy("normalize", "--explain", f"http://{V2}/a.html?rref=1", cwd=tmp_path)
    out = result.stdout.decode()
    assert out.splitlines()[0] == "https://www.nytimes.com/a.html"
    assert "nytimes.toml" in out and "removed rref" in out


def test_text_mode_keeps_every_other_byte(tmp_path):
    document = f'<p>caf\xe9 <a href="/x.html?smid=1&amp;a=2">x</a> http://{V2}/y.html</p>'.encode("latin-1")
    result = scrapy("normalize", "--text", "--base", f"http://{V2}/", stdin=document, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        b'<p>caf\xe9 <a href="https://www.nytimes.com/x.html?a=2">x</a> https://www.nytimes.com/y.html</p>'
    )


def test_rules_dir_setting_and_a_bad_rules_folder(tmp_path):
    (tmp_path / "global.toml").write_text("[tracking]\nparams = 'x'\n")
    result = scrapy("normalize", "-s", f"RULES_DIR={tmp_path}", "https://example.com/", cwd=tmp_path)
    assert result.returncode == 2
    assert "global.toml: tracking.params: must be a list" in result.stderr.decode()
