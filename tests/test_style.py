"""The code is checked the way tldextract and w3lib check theirs: ruff's formatter and linter, clean."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLACES = ["crawler", "tests", "bench"]


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (it is in the test extra)")
    return subprocess.run([ruff, *args, *PLACES], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_ruff_format_check():
    done = _ruff("format", "--check")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_check():
    done = _ruff("check")
    assert done.returncode == 0, done.stdout + done.stderr
