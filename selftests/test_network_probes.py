"""How probes classify what a proxy answers.

A tiny scripted server on loopback stands in for the proxy here (a test
double, named as one): it gives answers real squid gives only under faults
(a hang, garbage). The real squid is exercised by the sandbox self-tests.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from envtest.errors import CouldNotEvaluate
from envtest.gather.probes import split_proxy_url, tcp_connect, through_proxy


@pytest.fixture
def scripted_proxy() -> Iterator[callable]:
    servers = []

    def start(answer: bytes | None) -> str:
        server = socket.create_server(("127.0.0.1", 0))
        servers.append(server)

        def serve() -> None:
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                conn.recv(4096)
                if answer is not None:
                    conn.sendall(answer)
                    conn.close()
                else:
                    servers.append(conn)  # say nothing: a hung proxy

        threading.Thread(target=serve, daemon=True).start()
        return f"http://127.0.0.1:{server.getsockname()[1]}"

    yield start
    for s in servers:
        s.close()


@pytest.mark.parametrize(
    ("answer", "connect", "outcome", "ok"),
    [
        (b"HTTP/1.1 200 Connection established\r\n\r\n", True, "through", True),
        (b"HTTP/1.1 403 Forbidden\r\nX-Squid-Error: ERR_ACCESS_DENIED 0\r\n\r\n", True, "denied", False),
        (b"HTTP/1.1 503 Service Unavailable\r\nX-Squid-Error: ERR_DNS_FAIL 0\r\n\r\n", True, "proxy-error", False),
        (b"HTTP/1.1 301 Moved\r\nLocation: https://x/\r\n\r\n", False, "through", True),
        (b"HTTP/1.1 403 Forbidden\r\nX-Squid-Error: ERR_ACCESS_DENIED 0\r\n\r\n", False, "denied", False),
        (b"HTTP/1.1 403 Forbidden\r\n\r\n", False, "through", True),  # the origin's own 403
        (b"SSH-2.0-OpenSSH\r\n", False, "error", False),
        (b"", False, "error", False),
    ],
)
def test_answers_are_classified(scripted_proxy, answer: bytes, connect: bool, outcome: str, ok: bool) -> None:
    probe = through_proxy(scripted_proxy(answer), "name.test", connect=connect, timeout=2)
    assert (probe.outcome, probe.ok) == (outcome, ok), probe


def test_a_silent_proxy_is_reported_as_hung_within_the_timeout(scripted_proxy) -> None:
    probe = through_proxy(scripted_proxy(None), "name.test", connect=True, timeout=0.5)
    assert probe.outcome == "hung" and probe.seconds < 2


def test_nothing_listening_is_refused() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    server.close()
    assert through_proxy(f"http://127.0.0.1:{port}", "a.test", connect=False, timeout=1).outcome == "refused"
    assert tcp_connect("127.0.0.1", port, 1).outcome == "refused"


@pytest.mark.parametrize("name", ["ex\u00e4mple.test", "a.test\r\nX-Injected: 1", "a.test/path", ""])
def test_hostile_names_never_reach_the_wire(scripted_proxy, name: str) -> None:
    probe = through_proxy(scripted_proxy(b"HTTP/1.1 200 OK\r\n\r\n"), name, connect=False, timeout=1)
    assert probe.outcome == "error" and "ASCII host name" in probe.detail


@pytest.mark.parametrize("url", ["https://proxy:3128", "http://", "http://h:notaport"])
def test_bad_proxy_urls_are_clear_errors(url: str) -> None:
    with pytest.raises(CouldNotEvaluate, match="proxy URL"):
        split_proxy_url(url)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_get_through_a_proxy_that_is_down_says_the_target_was_never_asked() -> None:
    from envtest.gather.http import get_with_retry

    port = _closed_port()
    outcome = get_with_retry(
        "http://idp.example.gov/api/health/", lambda a: True, attempts=1, proxy_url=f"http://127.0.0.1:{port}"
    )
    assert outcome.last is None and outcome.proxy_failed, outcome.errors


def test_a_get_that_reaches_no_target_directly_is_not_a_proxy_failure() -> None:
    from envtest.gather.http import get_with_retry

    outcome = get_with_retry(f"http://127.0.0.1:{_closed_port()}/", lambda a: True, attempts=1, timeout=2)
    assert outcome.last is None and not outcome.proxy_failed, outcome.errors
