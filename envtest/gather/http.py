"""HTTP GET with retries and a custom validator (Terratest's `HttpGetWithRetryWithCustomValidation`).

Timeouts on every attempt, a bounded number of attempts, and the last answer
kept in a short summary so a failure says what was seen. Redirects are not
followed unless asked: the edge checks look at the redirect itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from envtest.errors import CouldNotEvaluate

# Bytes of a body read: the pages the checks read (the IdP's health answer, its error pages, a redirect) are
# kilobytes. A larger body is not judged on a part of it: the read stops past this, and the check cannot be
# evaluated. Counted after decompression (urllib3 decompresses as it streams).
BODY_LIMIT = 1_000_000


@dataclass(frozen=True)
class Answer:
    url: str
    status: int
    headers: dict[str, str]  # lower-cased names
    body: str

    def summary(self, limit: int = 200) -> str:
        body = " ".join(self.body.split())
        body = body if len(body) <= limit else body[:limit] + "..."
        return f"HTTP {self.status} from {self.url}; body {body!r}"


@dataclass
class Outcome:
    url: str
    valid: bool
    attempts: int
    last: Answer | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def proxy_failed(self) -> bool:
        """No answer, and the last attempt failed at the proxy (down, or refusing the name): the target was
        never asked, so nothing is known about it."""
        return self.last is None and bool(self.errors) and self.errors[-1].startswith("ProxyError")

    def describe(self) -> str:
        """What was last seen, for a failure message."""
        if self.last is not None:
            return f"after {self.attempts} attempt(s), last answer: {self.last.summary()}"
        return f"after {self.attempts} attempt(s), no answer: {self.errors[-1] if self.errors else 'unknown error'}"


def get_with_retry(
    url: str,
    validator: Callable[[Answer], bool],
    *,
    attempts: int = 3,
    sleep: float = 2.0,
    timeout: float = 10.0,
    verify: str | bool = True,
    proxy_url: str | None = None,
    follow_redirects: bool = False,
    headers: dict[str, str] | None = None,
) -> Outcome:
    """GET `url` until `validator` accepts an answer or `attempts` run out; CouldNotEvaluate for a body larger
    than BODY_LIMIT (not retried: its size is the answer)."""
    proxies = {"http": proxy_url, "https": proxy_url} if proxy_url else None
    outcome = Outcome(url=url, valid=False, attempts=0)
    for attempt in range(1, attempts + 1):
        outcome.attempts = attempt
        try:
            with requests.Session() as session:
                session.trust_env = False  # the proxy is the one named, never one from the caller's environment
                with session.get(
                    url,
                    timeout=timeout,
                    verify=verify,
                    proxies=proxies,
                    allow_redirects=follow_redirects,
                    headers=headers,
                    stream=True,  # read below, up to the cap; not whole into memory first
                ) as response:
                    body = _bounded_body(response, url)
            outcome.last = Answer(
                url=url,
                status=response.status_code,
                headers={k.lower(): v for k, v in response.headers.items()},
                body=body,
            )
            if validator(outcome.last):
                outcome.valid = True
                return outcome
        except requests.RequestException as exc:
            outcome.errors.append(f"{type(exc).__name__}: {exc}"[:300])
        if attempt < attempts:
            time.sleep(sleep)
    return outcome


def _bounded_body(response: requests.Response, url: str) -> str:
    """The body as text, read up to BODY_LIMIT bytes; CouldNotEvaluate past it."""
    chunks, size = [], 0
    for chunk in response.iter_content(chunk_size=64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size > BODY_LIMIT:
            raise CouldNotEvaluate(
                f"GET {url}: the body is larger than {BODY_LIMIT:,} bytes, the cap on a body read (HTTP "
                f"{response.status_code}, {response.headers.get('content-type', 'no content type')}): not judged "
                "on a part of it"
            )
    # requests' own choice from the headers; without one, UTF-8 (the pages read are UTF-8, and a guess from the
    # content, as .text makes, would need the whole body).
    return b"".join(chunks).decode(response.encoding or "utf-8", errors="replace")
