"""A page opened in headless chromium over the DevTools protocol, every request recorded.

For the viewer's tests and ``bench/bench_viewer.py``: Debian's ``chromium`` (``/usr/bin/chromium``),
driven over its DevTools websocket with ``websockets`` (the ``test`` and ``bench`` extras), nothing
else. WebGL runs on SwiftShader (no GPU needed). The browser is started with every way out
closed, so that a page that tries to reach anything is seen failing, not reaching:

* every request the page makes is recorded (``Network.requestWillBeSent``): :attr:`Page.requests`;
* every connection goes to :class:`Trap`, a local listener given as the browser's proxy for every
  host (loopback included), which records the connection and closes it: :attr:`Chromium.trap`;
* host names resolve to nothing (``--host-resolver-rules``).

>>> png_pixels(_tiny_png())  # a 2x1 image: one red pixel, one white
(2, 1, [(255, 0, 0, 255), (255, 255, 255, 255)])
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import zlib
from contextlib import ExitStack
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",  # tests run as root, in containers
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--ignore-gpu-blocklist",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,AutofillServerCommunication",
    "--disable-quic",
    "--metrics-recording-only",
    "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-bypass-list=<-loopback>",
    "--remote-debugging-port=0",
    "--allow-file-access-from-files",
)


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not Path(CHROMIUM).is_file():
        return f"{CHROMIUM} not found (Debian's chromium package: apt-get install chromium; .ci/run installs it)"
    try:
        import websockets  # noqa: F401
    except ImportError:
        return "the websockets package is missing (it is in the test extra)"
    return None


class Trap:
    """A TCP listener on 127.0.0.1 that records every connection made to it, and closes it."""

    def __init__(self) -> None:
        self.connections: list[bytes] = []
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._socket.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(1)
                try:
                    self.connections.append(conn.recv(200) or b"(nothing sent)")
                except OSError:
                    self.connections.append(b"(no request line)")

    def close(self) -> None:
        self._socket.close()


class Chromium:
    """One headless chromium, started with :data:`FLAGS`; :meth:`open` gives a :class:`Page`."""

    def __init__(
        self, executable: str = CHROMIUM, *, width: int = 1400, height: int = 900, flags: tuple[str, ...] = ()
    ) -> None:
        """``flags``: more command-line flags, after :data:`FLAGS` (``bench_viewer.py``:
        ``--disable-gpu-compositing``)."""
        from websockets.sync.client import connect

        self.width, self.height = width, height
        self.trap = Trap()
        self.profile = tempfile.mkdtemp(prefix="viewer-chromium-")
        self.process = subprocess.Popen(
            [
                executable,
                *FLAGS,
                *flags,
                f"--proxy-server=http://127.0.0.1:{self.trap.port}",
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            port_file = Path(self.profile, "DevToolsActivePort")
            deadline = time.monotonic() + 30
            while not (port_file.is_file() and len(port_file.read_text().split()) >= 2):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"{executable} did not start (exit status {self.process.poll()})")
                time.sleep(0.05)
            port, path = port_file.read_text().split()[:2]
            self._stack = ExitStack()
            self.socket = self._stack.enter_context(
                connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=10)
            )
        except BaseException:
            self.close()
            raise
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        self.last_target = ""  # the tab open() opened last (to close it when loading it timed out)

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> Any:
        """Call a DevTools method and return its result; events that come meanwhile are kept."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.socket.send(json.dumps(message))
        while True:
            reply = json.loads(self.socket.recv(timeout=120))
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_event(self, method: str, session: str, timeout: float = 60) -> dict[str, Any]:
        """The first event ``method`` of ``session`` (kept or to come)."""
        for event in self.events:
            if event["method"] == method and event.get("sessionId") == session:
                self.events.remove(event)
                return event
        deadline = time.monotonic() + timeout
        while True:
            received: dict[str, Any] = json.loads(self.socket.recv(timeout=max(0.01, deadline - time.monotonic())))
            if received.get("method") == method and received.get("sessionId") == session:
                return received
            if "method" in received:
                self.events.append(received)

    def open(self, path: str | Path, timeout: float = 60) -> Page:
        """Open ``path`` (a file) in a new tab, every request of the tab recorded; returns when loaded."""
        target = self.last_target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, target, session)
        for method in ("Network.enable", "Page.enable", "Runtime.enable"):
            self.send(method, session=session)
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False},
            session,
        )
        self.send("Page.bringToFront", session=session)  # a tab in the background gets few frames
        page.url = Path(path).resolve().as_uri()
        self.send("Page.navigate", {"url": page.url}, session)
        self.wait_event("Page.loadEventFired", session, timeout)
        return page

    def close(self) -> None:
        if getattr(self, "_stack", None) is not None:
            self._stack.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.trap.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Page:
    """A tab of :class:`Chromium`, with what it requested and what went wrong in it."""

    def __init__(self, browser: Chromium, target: str, session: str) -> None:
        self.browser, self.target, self.session = browser, target, session
        self.url = ""

    def _events(self, method: str) -> list[dict[str, Any]]:
        self.browser.send("Runtime.evaluate", {"expression": "0"}, self.session)  # collect pending events
        return [
            e["params"] for e in self.browser.events if e["method"] == method and e.get("sessionId") == self.session
        ]

    @property
    def requests(self) -> list[str]:
        """The URL of every request the tab made, in order."""
        return [event["request"]["url"] for event in self._events("Network.requestWillBeSent")]

    @property
    def errors(self) -> list[str]:
        """Uncaught exceptions and console errors of the page."""
        thrown = [
            str(e["exceptionDetails"].get("exception", {}).get("description"))
            for e in self._events("Runtime.exceptionThrown")
        ]
        logged = [
            " ".join(str(arg.get("value", arg.get("description"))) for arg in e["args"])
            for e in self._events("Runtime.consoleAPICalled")
            if e["type"] in ("error", "assert")
        ]
        return thrown + logged

    def evaluate(self, expression: str, *, await_promise: bool = False) -> Any:
        """The value of a JavaScript expression in the page (JSON-serializable values)."""
        result = self.browser.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": await_promise},
            self.session,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 60) -> Any:
        """Poll until ``expression`` is truthy in the page; its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"still false after {timeout} s: {expression}")
            time.sleep(0.05)

    def screenshot(self, clip: dict[str, float] | None = None) -> bytes:
        """A PNG of the viewport, or of ``clip`` (x, y, width, height in CSS pixels)."""
        params: dict[str, Any] = {"format": "png"}
        if clip:
            params["clip"] = {**clip, "scale": 1}
        return base64.b64decode(self.browser.send("Page.captureScreenshot", params, self.session)["data"])

    def close(self) -> None:
        self.browser.send("Target.closeTarget", {"targetId": self.target})


def png_pixels(data: bytes) -> tuple[int, int, list[tuple[int, ...]]]:
    """Width, height and the RGBA pixels (row by row) of an 8-bit RGB or RGBA PNG, not interlaced:
    what chromium's screenshots are."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    at, idat, header = 8, b"", b""
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        at += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or colour not in (2, 6) or interlace:
        raise ValueError(f"unsupported PNG (depth {depth}, colour type {colour}, interlace {interlace})")
    channels = 4 if colour == 6 else 3
    stride = width * channels
    raw = zlib.decompress(idat)
    previous = bytearray(stride)
    pixels: list[tuple[int, ...]] = []
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            corner = previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                guess = left + up - corner
                pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        for x in range(0, stride, channels):
            pixel = tuple(line[x : x + channels])
            pixels.append(pixel if channels == 4 else (*pixel, 255))
        previous = line
    return width, height, pixels


def _tiny_png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 2, 1, 8, 6, 0, 0, 0)
    rows = zlib.compress(b"\x00" + bytes([255, 0, 0, 255, 255, 255, 255, 255]))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
