"""Stand-ins for the hosts the proxy allows: HTTP on :80 and HTTPS on :443 of one loopback address.

squid's hosts_file maps every upstream name to this address, so a request
that squid lets through gets a real answer from here, and one it refuses
never arrives. Run as `python -m envtest.sandbox.upstream IP CERT KEY`.
"""

from __future__ import annotations

import json
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Handler(BaseHTTPRequestHandler):
    server_version = "envtest-sandbox-upstream"

    def _answer(self) -> None:
        body = json.dumps({"host": self.headers.get("Host", ""), "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

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
    serve(sys.argv[1], sys.argv[2], sys.argv[3])
