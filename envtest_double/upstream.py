"""Stand-ins for the hosts the proxy allows: HTTP on :80 and HTTPS on :443 of one loopback address.

squid's hosts_file maps every upstream name to this address, so a request
that squid lets through gets a real answer from here, and one it refuses
never arrives. For the IdP's public and origin names it answers as the edge
(security headers, health, the origin's redirect, error pages) from SITE.json.
Run as `python -m envtest_double.upstream IP CERT KEY [SITE.json]`.
"""

from __future__ import annotations

import json
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# The edge (CloudFront in front of the IdP) the sandbox serves: DIR/edge/site.json, read per request.
SITE: list[Path] = []


class Handler(BaseHTTPRequestHandler):
    server_version = "envtest-sandbox-upstream"

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _edge(self, host: str) -> bool:
        """Answer as the IdP's edge when the request is for its public or origin name."""
        if not SITE or not SITE[0].exists():
            return False
        site = json.loads(SITE[0].read_text())
        headers = dict(site["headers"])
        if host == site["origin"]:
            if site.get("origin_blocked", True):
                # The ALB admits only CloudFront's origin-facing prefix list: anyone else gets no answer.
                self.close_connection = True
            elif site.get("origin_redirects"):
                # Before 2023-08: the IdP's canonical-host redirect sends the origin's name to the public one.
                self._send(302, b"", {**headers, "Location": f"https://{site['public']}/"})
            else:
                self._send(200, b"<!doctype html><title>Login.gov</title>", {**headers, "Content-Type": "text/html"})
            return True
        if host != site["public"]:
            return False
        path = self.path.split("?", 1)[0]
        if path == "/api/health/":
            body = json.dumps(site["health"]).encode()
            healthy = bool(site["health"].get("all_checks_healthy"))
            self._send(200 if healthy else 503, body, {**headers, "Content-Type": "application/json"})
        elif path in {"/", "/account"}:
            self._send(200, b"<!doctype html><title>Login.gov</title>", {**headers, "Content-Type": "text/html"})
        elif path.lstrip("/") in site["pages"]:
            # A custom page from the static bucket, through CloudFront (Server: AmazonS3, X-Cache: ...).
            page = site["pages"][path.lstrip("/")].encode()
            self._send(200, page, {**headers, **site["page_headers"], "Content-Type": "text/html"})
        else:
            self._send(404, b"not found", {**headers, "Content-Type": "text/plain"})
        return True

    def _answer(self) -> None:
        host = self.headers.get("Host", "").split(":", 1)[0].lower()
        if self._edge(host):
            return
        body = json.dumps({"host": self.headers.get("Host", ""), "path": self.path}).encode()
        self._send(200, body, {"Content-Type": "application/json"})

    do_GET = do_HEAD = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        sys.stdout.write(f"{self.address_string()} {format % args}\n")
        sys.stdout.flush()


class TlsServer(ThreadingHTTPServer):
    """Handshakes in the request's thread, so one silent client cannot stall the rest."""

    def __init__(self, address: tuple[str, int], context: ssl.SSLContext) -> None:
        super().__init__(address, Handler)
        self.context = context

    def get_request(self) -> tuple[Any, Any]:
        sock, address = self.socket.accept()
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(10)
        try:
            request.do_handshake()
        except (OSError, ssl.SSLError):
            return
        super().finish_request(request, client_address)


def serve(ip: str, cert: str, key: str, http_port: int = 80, https_port: int = 443) -> None:
    plain = ThreadingHTTPServer((ip, http_port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    secure = TlsServer((ip, https_port), context)
    threading.Thread(target=plain.serve_forever, daemon=True).start()
    print(f"serving http://{ip}:{http_port} and https://{ip}:{https_port}", flush=True)
    secure.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) > 4:
        SITE.append(Path(sys.argv[4]))
    serve(sys.argv[1], sys.argv[2], sys.argv[3])
