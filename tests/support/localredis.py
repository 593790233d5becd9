"""A throw-away redis-server on a free loopback port, with a password, for the
shared-crawl tests and benchmarks. Stopped by its pid; nothing saved to disk,
unless ``appendonly=True`` (then :meth:`LocalRedis.kill` and :meth:`LocalRedis.start`
again restart it with its data, as a crashed production Redis restarts)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from types import TracebackType


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]  # an AF_INET socket's name is (host, port)
        return port


class LocalRedis:
    """``with LocalRedis("pw") as server: server.url`` is ``redis://:pw@127.0.0.1:PORT/0``."""

    def __init__(self, password: str, startup_timeout: float = 10.0, appendonly: bool = False) -> None:
        executable = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not shutil.which(executable):
            raise RuntimeError("redis-server is not installed (Debian: apt-get install redis-server)")
        self.executable, self.password, self.startup_timeout = executable, password, startup_timeout
        self.appendonly = appendonly
        self.port = free_port()
        self.url = f"redis://:{password}@127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self._workdir = tempfile.TemporaryDirectory(prefix="localredis-")

    def start(self) -> LocalRedis:
        self.process = subprocess.Popen(
            [
                self.executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--requirepass",
                self.password,
                "--save",
                "",
                "--appendonly",
                "yes" if self.appendonly else "no",
                "--appendfsync",
                "always",
                "--dir",
                self._workdir.name,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + self.startup_timeout
        while not self._answers():
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        return self

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(f"AUTH {self.password}\r\nPING\r\n".encode())
                return b"PONG" in _read_some(sock)
        except OSError:
            return False

    def kill(self) -> None:
        """kill -9 the server, keeping its files (start() brings it back on the same port)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._workdir.cleanup()

    def __enter__(self) -> LocalRedis:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _read_some(sock: socket.socket) -> bytes:
    data = b""
    while b"PONG" not in data and b"ERR" not in data:
        chunk = sock.recv(256)
        if not chunk:
            break
        data += chunk
    return data
