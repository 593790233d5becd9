"""The code is checked the way tldextract and w3lib check theirs: ruff's formatter and linter, and
mypy over the package, all clean."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLACES = ["crawler", "tests", "bench"]


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (it is in the test extra)")
    return found


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_tool("ruff"), *args, *PLACES], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_ruff_format_check():
    done = _ruff("format", "--check")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_check():
    done = _ruff("check")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy(tmp_path):
    # Its cache goes to a temporary folder: nothing is written into the checkout.
    done = subprocess.run(
        [_tool("mypy"), "--cache-dir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
