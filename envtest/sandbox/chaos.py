"""A fault-injecting proxy in front of the sandbox's AWS endpoint: a bad day at AWS, on loopback.

Point AWS_ENDPOINT_URL at it instead of moto. Modes (set `.mode`):
- "pass": forward every request;
- "burst:N": throttle the next N requests (each protocol's own throttling
  answer), then forward again;
- "flaky:N": every Nth request is throttled or gets a bare 500, in turn;
- "hang-after:N": forward N more requests, then accept and never answer;
- "expired": answer every request as AWS does for an expired session token.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

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
    def __init__(self, upstream: str) -> None:
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
                upstream = http.client.HTTPConnection(*chaos.upstream, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    answer = upstream.getresponse()
                    data = answer.read()
                    extra = [(k, v) for k, v in answer.getheaders() if k.lower() not in HOP_HEADERS | {"content-type"}]
                    self._reply(answer.status, data, answer.getheader("Content-Type", "application/xml"), extra)
                finally:
                    upstream.close()

            do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _handle

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


@contextmanager
def chaos_proxy(upstream: str) -> Iterator[Chaos]:
    chaos = Chaos(upstream)
    server = ThreadingHTTPServer(("127.0.0.1", 0), chaos.handler())
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
