"""Network probes from where the suite runs: TCP connects and HTTP through the proxy.

Every probe has a bounded timeout and returns a `Probe` that says what
happened in words a person can act on; the check decides the verdict.
"""

from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from envtest.errors import CouldNotEvaluate


@dataclass(frozen=True)
class Probe:
    target: str
    ok: bool
    outcome: str  # "answered", "refused-by-proxy", "proxy-could-not-connect", "hung", "refused", "error"
    detail: str
    status: int | None = None
    seconds: float = 0.0


def split_proxy_url(url: str) -> tuple[str, int]:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in {"http", ""} or not parts.hostname:
        raise CouldNotEvaluate(f"proxy URL {url!r} is not http://host:port")
    try:
        port = parts.port or 3128
    except ValueError:
        raise CouldNotEvaluate(f"proxy URL {url!r} has an invalid port") from None
    return parts.hostname, port


def tcp_connect(host: str, port: int, timeout: float) -> Probe:
    target = f"{host}:{port}"
    start = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except TimeoutError:
        return Probe(target, False, "hung", f"no TCP answer within {timeout:g} s", seconds=time.monotonic() - start)
    except ConnectionRefusedError:
        return Probe(
            target, False, "refused", "connection refused (nothing listens there)", seconds=time.monotonic() - start
        )
    except socket.gaierror as exc:
        return Probe(
            target, False, "error", f"name does not resolve ({exc.strerror})", seconds=time.monotonic() - start
        )
    except OSError as exc:
        return Probe(target, False, "error", f"{exc.strerror or exc}", seconds=time.monotonic() - start)
    return Probe(target, True, "answered", "TCP connection opened", seconds=time.monotonic() - start)


_TUNNEL_STATUS = re.compile(r"Tunnel connection failed: (\d{3})")


def https_through_proxy(
    url: str, proxy_url: str, *, connect_timeout: float, read_timeout: float, ca_bundle: str | None
) -> Probe:
    """GET `url` through the proxy (CONNECT for https). Any answer from the origin counts."""
    start = time.monotonic()
    try:
        response = requests.get(
            url,
            proxies={"http": proxy_url, "https": proxy_url},
            timeout=(connect_timeout, read_timeout),
            verify=ca_bundle if ca_bundle else True,
            allow_redirects=False,
        )
    except requests.exceptions.ProxyError as exc:
        elapsed = time.monotonic() - start
        match = _TUNNEL_STATUS.search(str(exc))
        if match and match.group(1) == "403":
            return Probe(
                url,
                False,
                "refused-by-proxy",
                "the proxy refused the CONNECT with 403 (not in its allowlist)",
                status=403,
                seconds=elapsed,
            )
        if match:
            return Probe(
                url,
                False,
                "proxy-could-not-connect",
                f"the proxy answered the CONNECT with {match.group(1)} (it could not reach the host)",
                status=int(match.group(1)),
                seconds=elapsed,
            )
        return Probe(url, False, "error", f"proxy error: {_short(exc)}", seconds=elapsed)
    except (requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout):
        return Probe(
            url,
            False,
            "hung",
            f"no answer within {connect_timeout:g}+{read_timeout:g} s",
            seconds=time.monotonic() - start,
        )
    except requests.exceptions.SSLError as exc:
        return Probe(url, False, "error", f"TLS failed: {_short(exc)}", seconds=time.monotonic() - start)
    except requests.exceptions.RequestException as exc:
        return Probe(url, False, "error", _short(exc), seconds=time.monotonic() - start)
    elapsed = time.monotonic() - start
    if response.headers.get("X-Squid-Error"):
        # Plain-HTTP requests are answered by squid itself when it refuses.
        return Probe(
            url,
            False,
            "refused-by-proxy",
            f"the proxy answered {response.status_code} ({response.headers['X-Squid-Error']})",
            status=response.status_code,
            seconds=elapsed,
        )
    return Probe(
        url,
        True,
        "answered",
        f"HTTP {response.status_code} from the host",
        status=response.status_code,
        seconds=elapsed,
    )


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:297] + "..."


def _read_head(sock: socket.socket, limit: int = 65536) -> bytes:
    """The status line and headers of an HTTP answer (up to the blank line)."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < limit:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n\r\n", 1)[0]


def through_proxy(proxy_url: str, name: str, *, connect: bool, timeout: float) -> Probe:
    """Ask the proxy for `name` as a client would: `GET http://name/`, or `CONNECT name:443`.

    Outcomes: "through" (the origin answered, or the tunnel opened), "denied"
    (squid's 403), "proxy-error" (squid answered with another error, such as a
    DNS or connect failure), "hung", "refused" (the proxy itself), "error".
    """
    host, port = split_proxy_url(proxy_url)
    kind = f"CONNECT {name}:443" if connect else f"GET http://{name}/"
    request = (
        f"CONNECT {name}:443 HTTP/1.1\r\nHost: {name}:443\r\n\r\n"
        if connect
        else f"GET http://{name}/ HTTP/1.1\r\nHost: {name}\r\nUser-Agent: envtest\r\nConnection: close\r\n\r\n"
    )
    start = time.monotonic()

    def done(ok: bool, outcome: str, detail: str, status: int | None = None) -> Probe:
        return Probe(f"{kind} via {host}:{port}", ok, outcome, detail, status, time.monotonic() - start)

    if not re.fullmatch(r"[A-Za-z0-9.-]{1,253}", name):
        # Nothing else is a host name, and CR/LF would let a name write its own request lines.
        return done(False, "error", f"{name!r} is not an ASCII host name")
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(request.encode("ascii"))
            head = _read_head(sock)
    except TimeoutError:
        return done(False, "hung", f"no answer within {timeout:g} s")
    except ConnectionRefusedError:
        return done(False, "refused", "the proxy refused the connection (nothing listens there)")
    except OSError as exc:
        return done(False, "error", exc.strerror or str(exc))
    lines = head.decode("iso-8859-1").split("\r\n")
    match = re.match(r"HTTP/\d(?:\.\d)? (\d{3})", lines[0] if lines else "")
    if not match:
        return done(False, "error", f"not an HTTP answer: {lines[0][:80]!r}" if lines else "empty answer")
    status = int(match.group(1))
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    squid_error = headers.get("x-squid-error", "")
    if connect:
        if status == 200:
            return done(True, "through", "tunnel opened", status)
        if status == 403:
            return done(False, "denied", f"403 {squid_error or 'Forbidden'}", status)
        return done(False, "proxy-error", f"{status} {squid_error}".strip(), status)
    if squid_error.startswith("ERR_ACCESS_DENIED") or (status == 403 and squid_error):
        return done(False, "denied", f"{status} {squid_error}", status)
    if squid_error:
        return done(False, "proxy-error", f"{status} {squid_error}", status)
    return done(True, "through", f"HTTP {status} from the origin", status)
