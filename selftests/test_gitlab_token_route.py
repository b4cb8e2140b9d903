"""Where the GitLab API token goes: to GitLab's own origin, never anywhere a redirect points.

requests strips only `Authorization` on a redirect to another host; the token travels in `PRIVATE-TOKEN`, so a
302 from whatever answers at GitLab's URL (which comes from an EC2 tag) would deliver it elsewhere. Each test
here serves the far end on loopback and records what reached it.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from envtest.errors import CouldNotEvaluate
from envtest.gather.gitlab import GitLab
from envtest.sandbox.tls import make_certificates

TOKEN = "glpat-routeTestToken0123456789"


class Recorder:
    """What reached one loopback server: each request's method, path and headers."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    def tokens(self) -> list[str]:
        return [headers.get("PRIVATE-TOKEN", "") for _, _, headers in self.requests if "PRIVATE-TOKEN" in headers]


@contextlib.contextmanager
def served(answer: tuple[int, dict[str, str], bytes], tls: tuple[Path, Path, Path] | None = None) -> Iterator[
    tuple[int, Recorder]]:  # fmt: skip
    """A loopback server that records every request and gives each the same answer; its port while the block runs."""
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            recorder.requests.append((self.command, self.path, dict(self.headers.items())))
            status, headers, body = answer
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _reply

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls[1], tls[2])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], recorder
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate for 127.0.0.1 (the sandbox's own maker)."""
    return make_certificates(tmp_path_factory.mktemp("tls"), ["localhost"], addresses=("127.0.0.1",))


@pytest.mark.parametrize("where", ["another host", "another port", "another scheme"])
def test_a_redirect_never_carries_the_token(where: str, tls: tuple[Path, Path, Path]) -> None:
    with (
        served((200, {}, b"[]")) as (plain_port, plain),
        served((200, {}, b"[]"), tls) as (tls_port, secure),
    ):
        target, recorder = {
            "another host": (f"http://localhost:{plain_port}/api/v4/elsewhere", plain),
            "another port": (f"http://127.0.0.1:{plain_port}/api/v4/elsewhere", plain),
            "another scheme": (f"https://127.0.0.1:{tls_port}/api/v4/elsewhere", secure),
        }[where]
        with served((302, {"Location": target}, b"")) as (gitlab_port, gitlab):
            client = GitLab(f"http://127.0.0.1:{gitlab_port}", TOKEN, timeout=5, verify=str(tls[0]))
            with pytest.raises(CouldNotEvaluate) as info:
                try:
                    client.pipeline_jobs("52", "777")
                finally:
                    assert recorder.tokens() == [], f"the token followed a redirect to {where}"
    assert gitlab.tokens() == [TOKEN]  # GitLab itself got it, once
    assert "redirect" in str(info.value) and TOKEN not in str(info.value)
