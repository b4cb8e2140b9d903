"""Where the GitLab API token may go: GitLab's own origin, admitted before the first request.

GitLab's URL comes from GITLAB_URL or the env runner's `gitlab_hostname` tag, and whoever may tag the runner
instance chooses the tag. So before the token goes anywhere:
- the URL must be https (the token never crosses the network in clear), with no user info, query or fragment;
- its host must match policy [images.lockdown_probe] gitlab_host_pattern, whole;
- every request goes to the origin rebuilt from the parsed parts, never to the raw string (URL parsers disagree
  on odd URLs, and the one that checks must be the one that connects);
and the client follows no redirect (gitlab.py). GITLAB_CONNECT_TO (curl's --connect-to, for a tunnel or the
sandbox) changes only the address connected to: TLS still verifies a certificate for the URL's host, so the
token reaches only a server that proves it is that host.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from requests import PreparedRequest
from requests.adapters import HTTPAdapter

from envtest.errors import CouldNotEvaluate

POLICY_KEY = "policy [images.lockdown_probe] gitlab_host_pattern"
# A path GitLab may be served under (https://host/gitlab): plain segments only.
_PATH = re.compile(r"(/[A-Za-z0-9._~-]+)*/?")
_HOSTNAME = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


@dataclass(frozen=True)
class Origin:
    """GitLab's https origin (and the path it is served under), the only place the token is sent."""

    host: str
    port: int
    path: str = ""

    @property
    def netloc(self) -> str:
        return self.host if self.port == 443 else f"{self.host}:{self.port}"

    @property
    def base(self) -> str:
        return f"https://{self.netloc}{self.path}"


def shown(url: str) -> str:
    """The URL for a message: user info masked (it can hold a password), at most 200 characters."""
    scheme, sep, rest = url.partition("://")
    netloc, slash, tail = rest.partition("/")
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    return f"{scheme}{sep}{netloc}{slash}{tail}"[:200] if sep else url[:200]


def admit(url: str, host_pattern: str, source: str) -> Origin:
    """GitLab's origin from `url`, or CouldNotEvaluate naming the URL, the pattern and the fix (nothing is sent).

    `source` says where the URL came from ("GITLAB_URL", "the runner's gitlab_hostname tag"), for the fix."""
    where = f"the GitLab URL {shown(url)!r} (from {source})"
    set_url = "set GITLAB_URL to GitLab's address, https://<host>"
    try:
        parts = urlsplit(url.strip())
        port = parts.port or 443
    except ValueError as exc:
        raise CouldNotEvaluate(f"{where} cannot be read ({exc}): the API token was not sent; {set_url}") from None
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise CouldNotEvaluate(
            f"{where} carries user info, a query or a fragment: the API token was not sent; {set_url}"
        )
    host = (parts.hostname or "").lower()
    if not _HOSTNAME.fullmatch(host) or not _PATH.fullmatch(parts.path):
        raise CouldNotEvaluate(f"{where} has no plain host name and path: the API token was not sent; {set_url}")
    try:
        expected = re.compile(host_pattern)
    except re.error as exc:
        raise CouldNotEvaluate(f"{POLICY_KEY} = '{host_pattern}' is not a regular expression ({exc})") from None
    if not expected.fullmatch(host):
        tag = " (whoever can tag the runner instance chooses the tag)" if source != "GITLAB_URL" else ""
        correct = set_url if source == "GITLAB_URL" else f"correct {source}, or {set_url}"
        raise CouldNotEvaluate(
            f"{where} has host {host!r}, which does not match {POLICY_KEY} '{host_pattern}'{tag}: the API token "
            f"was not sent. Fix: if {host} is not your GitLab, {correct}; if it is, add it to gitlab_host_pattern "
            "in policy/envs/<env>.toml"
        )
    if parts.scheme != "https":
        raise CouldNotEvaluate(
            f"{where} is not https: the API token would cross the network in clear and was not sent; {set_url}"
        )
    return Origin(host, port, parts.path.rstrip("/"))


def connect_address(value: str) -> str:
    """GITLAB_CONNECT_TO: an IP address or host name to connect to instead of the URL's host."""
    candidate = value.strip()
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        if _HOSTNAME.fullmatch(candidate.lower()):
            return candidate.lower()
    raise CouldNotEvaluate(f"GITLAB_CONNECT_TO={value[:80]!r} is neither an IP address nor a host name")


class ConnectTo(HTTPAdapter):
    """Connects to `address` for `host`'s requests, while TLS (SNI and the certificate's check) uses `host`."""

    def __init__(self, host: str, address: str, **kwargs: Any) -> None:
        self.host, self.address = host, address
        super().__init__(**kwargs)

    def build_connection_pool_key_attributes(
        self, request: PreparedRequest, verify: bool | str | None, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        if host_params.get("host") != self.host:
            raise CouldNotEvaluate(f"the GitLab client was asked to reach {host_params.get('host')}, not {self.host}")
        return {**host_params, "host": self.address}, {
            **pool_kwargs,
            "server_hostname": self.host,
            "assert_hostname": self.host,
        }
