"""A fault-injecting proxy in front of the sandbox's AWS endpoint: a bad day at AWS, on loopback.

Point AWS_ENDPOINT_URL at it instead of moto. Modes (set `.mode`):
- "pass": forward every request;
- "burst:N": throttle the next N requests (each protocol's own throttling
  answer), then forward again;
- "flaky:N": every Nth request is throttled or gets a bare 500, in turn;
- "hang-after:N": forward N more requests, then accept and never answer;
- "expired": answer every request as AWS does for an expired session token.

With a latency model (`latency=`, see latency.py), every forwarded request
first waits as long as the model says its operation takes, and SSM commands
read as InProgress until the model's completion time has passed since their
SendCommand: the benchmark's stand-in for a real account's round trips.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from envtest_double.latency import LatencyModel, operation_of

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}
EXPIRED = (
    b"<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code>"
    b"<Message>The security token included in the request is expired</Message></Error>"
    b"<RequestId>chaos</RequestId></ErrorResponse>"
)
# Each protocol's throttling answer: (status, body, content type).
THROTTLE = {
    "json": (400, b'{"__type":"ThrottlingException","message":"Rate exceeded"}', "application/x-amz-json-1.1"),
    "ec2": (503, b"<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded."
                 b"</Message></Error></Errors></Response>", "text/xml"),
    "query": (400, b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded"
                   b"</Message></Error></ErrorResponse>", "text/xml"),
    "s3": (503, b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate</Message></Error>",
           "application/xml"),
}  # fmt: skip


def protocol(headers: object, body: bytes) -> str:
    if getattr(headers, "get", lambda _: None)("X-Amz-Target"):
        return "json"
    if b"Version=2016-11-15" in body:  # EC2's own query dialect
        return "ec2"
    if b"Action=" in body:  # STS, Auto Scaling
        return "query"
    return "s3"


class Chaos:
    def __init__(self, upstream: str, latency: LatencyModel | None = None) -> None:
        self.latency = latency
        self.operations: Counter[str] = Counter()
        self._sent: dict[str, float] = {}  # SSM command id -> when SendCommand was answered
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.mode = "pass"
        self.requests = 0
        self.injected = 0
        self.forwarded = 0
        self.url = ""
        self._lock = threading.Lock()
        self.stopped = threading.Event()

    def decide(self) -> str:
        """What to do with the next request: pass, throttle, 5xx, hang or expired."""
        with self._lock:
            self.requests += 1
            kind, _, count = self.mode.partition(":")
            action = "pass"
            if kind == "flaky" and self.requests % int(count) == 0:
                action = "throttle" if self.injected % 2 == 0 else "5xx"
            elif kind == "burst" and int(count) > 0:
                self.mode = f"burst:{int(count) - 1}"
                action = "throttle"
            elif kind == "hang-after":
                if int(count) <= 0:
                    action = "hang"
                else:
                    self.mode = f"hang-after:{int(count) - 1}"
            elif kind == "expired":
                action = "expired"
            if action == "pass":
                self.forwarded += 1
            else:
                self.injected += 1
            return action

    def ssm_in_flight(self, operation: str, data: bytes) -> bytes:
        """SSM as the model has it: an invocation is InProgress until its completion time has passed."""
        if operation not in {"ssm:SendCommand", "ssm:GetCommandInvocation", "ssm:ListCommandInvocations"}:
            return data
        answer = json.loads(data or b"{}")
        now = time.monotonic()
        completion = self.latency.ssm_completion if self.latency else 0.0
        if operation == "ssm:SendCommand":
            with self._lock:
                self._sent[answer["Command"]["CommandId"]] = now
            return data

        def running(item: dict[str, object]) -> bool:
            sent = self._sent.get(str(item.get("CommandId")))
            return sent is not None and now - sent < completion

        items = answer.get("CommandInvocations", []) if operation == "ssm:ListCommandInvocations" else [answer]
        for item in items:
            if running(item):
                item.update(Status="InProgress", StatusDetails="InProgress", ResponseCode=-1)
                item.pop("StandardOutputContent", None)
                item.pop("StandardErrorContent", None)
                item.pop("CommandPlugins", None)
        return json.dumps(answer).encode()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        chaos = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _reply(self, status: int, body: bytes, content_type: str, extra: list[tuple[str, str]] = ()) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for key, value in extra:
                    self.send_header(key, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                action = chaos.decide()
                if action == "hang":
                    chaos.stopped.wait()
                    return
                if action == "expired":
                    self._reply(403, EXPIRED, "text/xml")
                    return
                if action == "throttle":
                    self._reply(*THROTTLE[protocol(self.headers, body)])
                    return
                if action == "5xx":
                    self._reply(500, b"", "text/plain")
                    return
                self._forward(body)

            def _forward(self, body: bytes) -> None:
                operation = operation_of(self.command, self.path, self.headers, body)
                with chaos._lock:
                    chaos.operations[operation] += 1
                if chaos.latency is not None:
                    time.sleep(chaos.latency.seconds(operation))
                upstream = http.client.HTTPConnection(*chaos.upstream, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    answer = upstream.getresponse()
                    data = answer.read()
                    extra = [(k, v) for k, v in answer.getheaders() if k.lower() not in HOP_HEADERS | {"content-type"}]
                    if chaos.latency is not None and answer.status == 200:
                        data = chaos.ssm_in_flight(operation, data)
                    self._reply(answer.status, data, answer.getheader("Content-Type", "application/xml"), extra)
                finally:
                    upstream.close()

            do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _handle

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that leaves with its keep-alive connection open (a run's process exiting) resets it while a
        # thread waits for its next request: normal, not worth a traceback on the benchmark's output.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


@contextmanager
def chaos_proxy(upstream: str, latency: LatencyModel | None = None) -> Iterator[Chaos]:
    chaos = Chaos(upstream, latency)
    server = _Server(("127.0.0.1", 0), chaos.handler())
    server.daemon_threads = True
    chaos.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield chaos
    finally:
        chaos.stopped.set()
        server.shutdown()
        server.server_close()
        time.sleep(0.1)
