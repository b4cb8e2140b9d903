"""Headless Chromium, driven over the DevTools protocol on a pipe, to render a page and measure it.

`--remote-debugging-pipe` speaks the protocol as JSON messages ended by a NUL byte, on the browser's fds 3
(to it) and 4 (from it): a few dozen lines of stdlib, where a websocket would need a package we do not vendor.
The browser resolves no name (`--host-resolver-rules`) and the flags keep it from its own background traffic,
so a request the page makes is seen (Network events) and goes nowhere.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = [
    "--headless",
    "--no-sandbox",  # as root, Chromium refuses to start with its sandbox
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",  # a scrollbar would take its width from the layout on one machine and not another
    "--host-resolver-rules=MAP * ~NOTFOUND",  # no name resolves: nothing leaves the machine
    "--remote-debugging-pipe",
]


class BrowserError(RuntimeError):
    pass


@dataclass
class Rendering:
    """What a page did in the browser at one viewport, and what was measured of it."""

    url: str
    width: int
    measured: dict[str, Any]  # what MEASURE returns from the rendered DOM
    requests: list[str] = field(default_factory=list)  # every URL the page asked for, its own included
    errors: list[str] = field(default_factory=list)  # uncaught exceptions, console and log errors
    screenshot: bytes = b""  # the first screen, PNG
    banner_pixels: list[tuple[int, int, int]] = field(default_factory=list)  # inside the banner, off its text


# Measured in the page after load. Layout exists only in a browser: every element's right edge against the
# width the page was given, the document's own scroll width, the banner's computed colours and box, and what
# each env's section of the page lists under "What to fix".
MEASURE = r"""(() => {
  const width = window.innerWidth;
  const over = new Set();
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > document.documentElement.clientWidth + 0.5) over.add(el);
  }
  // The outermost of them: a table too wide, not each of its rows and cells.
  const wide = [...over].filter(el => !over.has(el.parentElement)).map(el => ({
    tag: el.tagName.toLowerCase(), cls: el.className, right: Math.round(el.getBoundingClientRect().right),
    text: (el.textContent || '').trim().slice(0, 80)}));
  const banner = document.querySelector('.banner');
  const style = banner && getComputedStyle(banner);
  const box = banner && banner.getBoundingClientRect();
  const sections = [...document.querySelectorAll('section.env')].map(s => ({
    env: s.dataset.env,
    fixes: [...s.querySelectorAll('table.fixes tr')].slice(1).map(tr => [...tr.cells].map(td => td.innerText)),
    waived: [...s.querySelectorAll('table.waivers tr')].slice(1).map(tr => [...tr.cells].map(td => td.innerText)),
  }));
  return {
    innerWidth: width,
    clientWidth: document.documentElement.clientWidth,
    scrollWidth: document.documentElement.scrollWidth,
    wide: wide.slice(0, 20),
    scripts: document.scripts.length,
    outside: [...document.querySelectorAll('[src],[href],link,iframe,object,embed')]
      .map(el => el.getAttribute('src') || el.getAttribute('href') || el.tagName.toLowerCase())
      .concat([...document.querySelectorAll('style')].flatMap(s => s.textContent.match(/url\(|@import/g) || [])),
    banner: banner && {text: banner.innerText, color: style.color, background: style.backgroundColor,
                       left: box.left, top: box.top, width: box.width, height: box.height},
    sections,
  };
})()"""


class Browser:
    """One headless Chromium for several pages: each is rendered in a fresh tab, at the width asked for."""

    def __init__(self, executable: str = "chromium", timeout: float = 30) -> None:
        if not shutil.which(executable):
            raise BrowserError(
                f"no {executable} on PATH: scripts/install-system-deps.sh installs Debian's chromium (development "
                "and CI only)"
            )
        self.timeout = timeout
        self.profile = Path(tempfile.mkdtemp(prefix="envtest-chromium-"))  # a new, empty profile each time
        to_browser, self._write = os.pipe()
        self._read, from_browser = os.pipe()
        # Above 9, so `exec 3<&N 4>&M` never reads an fd it has just replaced (bash: dash takes fds 0-9 only).
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_browser, from_browser)]
        for fd in (to_browser, from_browser):
            os.close(fd)
        script = f'exec 3<&{high[0]} 4>&{high[1]} {high[0]}<&- {high[1]}>&-; exec "$@"'
        self.process = subprocess.Popen(
            ["bash", "-c", script, "bash", executable, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            pass_fds=high,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: every process it starts is stopped with it
        )
        for fd in high:
            os.close(fd)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        try:
            self.version = self.send("Browser.getVersion")["product"]
        except (BrowserError, OSError) as exc:
            said = self._stderr()
            self.close()  # what it started goes with it
            raise BrowserError(f"chromium did not start: {exc}: {said}") from exc

    # The protocol: a command and its answer, with the events that arrive meanwhile kept for later.
    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._receive()
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self._events.append(answer)

    def wait_for(self, method: str, session: str) -> dict[str, Any]:
        while True:
            for event in self._events:
                if event.get("method") == method and event.get("sessionId") == session:
                    return event
            self._events.append(self._receive())

    def _receive(self) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._read], [], [], left)[0]:
                raise BrowserError(f"no answer from the browser in {self.timeout} s")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise BrowserError(f"the browser closed its pipe: {self._stderr()}")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def _stderr(self) -> str:
        with contextlib.suppress(Exception):
            self.process.kill()
            return self.process.communicate(timeout=5)[1].decode(errors="replace")[-2000:]
        return ""

    def render(self, path: Path, width: int, height: int, *, mobile: bool) -> Rendering:
        """`path` in a fresh tab, `width` CSS pixels wide (a phone: `mobile`, which honours the viewport meta)."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        try:
            for domain in ("Page", "Runtime", "Network", "Log"):
                self.send(f"{domain}.enable", session=session)
            self.send(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
                session,
            )
            self._events.clear()
            url = path.resolve().as_uri()
            self.send("Page.navigate", {"url": url}, session)
            self.wait_for("Page.loadEventFired", session)
            measured = self._evaluate(MEASURE, session)
            shot = self.send("Page.captureScreenshot", {"format": "png"}, session)
            pixels: list[tuple[int, int, int]] = []
            if measured.get("banner"):
                b = measured["banner"]
                # Four pixels square, inside the banner's padding, before its text begins.
                clip = {"x": b["left"] + 3, "y": b["top"] + 3, "width": 4, "height": 4, "scale": 1}
                small = self.send("Page.captureScreenshot", {"format": "png", "clip": clip}, session)
                pixels = png_pixels(_b64(small["data"]))
            events = [e for e in self._events if e.get("sessionId") == session]
            return Rendering(url, width, measured, _requests(events), _errors(events), _b64(shot["data"]), pixels)
        finally:
            self.send("Target.closeTarget", {"targetId": target})

    def _evaluate(self, expression: str, session: str) -> Any:
        answer = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
        if "exceptionDetails" in answer:
            raise BrowserError(f"measuring the page failed: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def close(self) -> None:
        """Closed the way it is asked to be; what of its process group is still alive after 10 s is killed."""
        with contextlib.suppress(OSError):  # not waiting for an answer: the pipe closes as the browser goes
            os.write(self._write, json.dumps({"id": self._next_id + 1, "method": "Browser.close"}).encode() + b"\0")
        deadline = time.monotonic() + 10
        while self.left_behind() and time.monotonic() < deadline:
            time.sleep(0.05)
            self.process.poll()  # reaps the browser itself; its helpers are reaped by whoever adopted them
        if self.left_behind():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        if self.process.stderr:
            self.process.stderr.close()
        for fd in (self._read, self._write):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)

    def left_behind(self) -> list[int]:
        """The browser's processes still running: its process group, less zombies (they have ended; where the
        machine's init does not reap the helpers it adopts, their entries stay)."""
        alive = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its closing parenthesis.
                fields = stat.read_text().rpartition(")")[2].split()
                if int(fields[2]) == self.process.pid and fields[0] != "Z":
                    alive.append(int(stat.parent.name))
        return alive


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    browser = Browser()
    try:
        yield browser
    finally:
        browser.close()


def _b64(data: str) -> bytes:
    import base64

    return base64.b64decode(data)


def _requests(events: list[dict[str, Any]]) -> list[str]:
    return [e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"]


def _errors(events: list[dict[str, Any]]) -> list[str]:
    errors = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            errors.append(details.get("exception", {}).get("description") or details.get("text", "exception"))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in {"error", "assert"}:
            errors.append("console: " + " ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            errors.append(f"log ({params['entry']['source']}): {params['entry']['text']}")
    return errors


def png_pixels(data: bytes) -> list[tuple[int, int, int]]:
    """The RGB pixels of a small 8-bit RGB or RGBA PNG, row by row (enough for a few pixels of a screenshot)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    position, idat, header = 8, b"", b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind, body = data[position + 4 : position + 8], data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    if depth != 8 or colour not in (2, 6) or header[12] != 0:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}, interlace {header[12]}")
    step = 3 if colour == 2 else 4
    stride = width * step
    raw, rows, previous = zlib.decompress(idat), [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - step] if i >= step else 0
            up, corner = previous[i], previous[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                guess = min((abs(p - left), 0, left), (abs(p - up), 1, up), (abs(p - corner), 2, corner))[2]
                line[i] = (line[i] + guess) & 0xFF
        rows.append(line)
        previous = line
    return [tuple(row[x * step : x * step + 3]) for row in rows for x in range(width)]  # type: ignore[misc]
