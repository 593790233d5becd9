"""Run a command and measure its peak memory: the tests' and the benchmarks' one way to do it.

The command runs under a small Python runner that waits for it and prints the children's
``ru_maxrss`` (the operating system's own accounting of the largest resident set, KiB on
Linux), so the figure is the crawl's, not the test's. The runner starts a session of its
own: on a timeout, the runner and the crawl are killed together.

>>> import sys
>>> run = run_with_peak([sys.executable, "-c", "x = bytearray(64 << 20)"], timeout=60)
>>> run.returncode, run.peak_mib > 64
(0, True)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PeakRun", "run_with_peak"]

_RUNNER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:])\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(code)\n"
)


@dataclass(frozen=True)
class PeakRun:
    """A finished command: its exit status, its output streams, its wall time and its peak RSS."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_mib: float  # nan when the command never finished (killed on the timeout)


def run_with_peak(
    command: Sequence[str], timeout: float, cwd: str | Path | None = None, env: Mapping[str, str] | None = None
) -> PeakRun:
    """Run ``command`` to its end (at most ``timeout`` seconds) and measure its peak RSS."""
    started = time.monotonic()
    runner = subprocess.Popen(
        [sys.executable, "-c", _RUNNER, *command],
        cwd=cwd,
        env=None if env is None else dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # on a timeout, the command goes with its runner
    )
    try:
        stdout, stderr = runner.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(runner.pid, signal.SIGKILL)
        stdout, stderr = runner.communicate()
    seconds = time.monotonic() - started
    last = stdout.split()[-1:] if stdout.split() else []
    peak = int(last[0]) / 1024 if last and last[0].isdigit() else float("nan")
    return PeakRun(runner.returncode, stdout, stderr, seconds, peak)
