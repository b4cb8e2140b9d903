"""An endpoint that is not AWS, or never answers: the run stops with exit 2 and one line that says what to check."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from selftests.conftest import ROOT, base_environ, loopback_server


def _run(endpoint: str, tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **base_environ(),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-west-2",
        **extra,
    }
    return subprocess.run(
        [sys.executable, "-m", "envtest", "sandbox", "-j", str(tmp_path / "junit.xml")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def not_aws() -> Iterator[str]:
    """An HTTP server that answers every request with a web page (an intercepting proxy's login page, say)."""

    class Handler(BaseHTTPRequestHandler):
        def _page(self) -> None:
            body = b"<html><body>Please sign in to continue</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _page

        def log_message(self, format: str, *args: object) -> None:
            pass

    with loopback_server(Handler) as url:
        yield url


@pytest.fixture
def silent() -> Iterator[str]:
    """A port that accepts connections and never says a word."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        for conn in held:
            conn.close()
        server.close()


def test_an_endpoint_that_is_not_aws_is_named_in_one_line(not_aws: str, tmp_path: Path) -> None:
    done = _run(not_aws, tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    stopped = [line for line in done.stderr.splitlines() if line.startswith("STOPPED")]
    assert len(stopped) == 1, done.stderr
    assert "not as AWS does" in stopped[0] and "AWS_ENDPOINT_URL" in stopped[0]


def test_a_silent_endpoint_says_it_is_waiting_and_stops_in_bounded_time(silent: str, tmp_path: Path) -> None:
    started = time.monotonic()
    done = _run(silent, tmp_path, ENVTEST_PREFLIGHT_READ_TIMEOUT="2")
    assert done.returncode == 2, done.stdout + done.stderr
    assert time.monotonic() - started < 60
    assert f"still waiting for the AWS endpoint {silent}" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "stopped answering" in done.stderr or "did not answer" in done.stderr, done.stderr
