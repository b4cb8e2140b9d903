"""The IdP's edge, over HTTPS: health, security headers, the origin's redirect, error pages.

From the env runner these requests leave through the outbound proxy (PROXY_URL),
as every request from there does; from a laptop they go direct.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from envtest.checks import Problem, check, fail
from envtest.errors import CouldNotEvaluate
from envtest.gather.http import Answer, Outcome
from envtest.policy import Policy
from envtest.settings import Settings


def answered(outcome: Outcome) -> Answer:
    if outcome.last is None:
        raise CouldNotEvaluate(f"{outcome.url}: {outcome.describe()}")
    return outcome.last


def test_idp_health_reports_all_checks_healthy(
    idp_health: Callable[[], Outcome], idp_hostname: str, policy: Policy
) -> None:
    section = policy.section("edge")
    outcome = idp_health()
    if not outcome.valid:
        fail(
            Problem(
                resource=f"https://{idp_hostname}{section['health_path']}",
                expected='HTTP 200 with "all_checks_healthy": true',
                found=outcome.describe(),
                fix="the health document names the failing dependency; look at the IdP hosts' logs and the "
                "load balancer's target health",
            )
        )


def test_idp_edge_sends_every_security_header(
    edge_get: Callable[..., Outcome], idp_hostname: str, policy: Policy
) -> None:
    answer = answered(edge_get(idp_hostname, "/", lambda a: True))
    required = policy.section("edge")["security_headers"]
    problems = []
    for header, pattern in sorted(required.items()):
        value = answer.headers.get(header.lower())
        if value is None or not re.search(pattern, value, re.IGNORECASE):
            problems.append(
                Problem(
                    resource=f"https://{idp_hostname}/ header {header}",
                    expected=f"a value matching {pattern!r}",
                    found="the header is missing" if value is None else f"{value!r}",
                    fix="set it in the CloudFront response headers policy (or the IdP's own headers) in terraform",
                )
            )
    check(problems)


def test_origin_hostname_redirects_to_the_public_hostname(
    edge_get: Callable[..., Outcome], idp_hostname: str, settings: Settings
) -> None:
    origin = settings.idp_origin_hostname
    if not origin:
        raise CouldNotEvaluate("no IdP origin hostname: pass it with -o (IDP_ORIGIN_HOSTNAME)")
    answer = answered(edge_get(origin, "/", lambda a: True))
    location = answer.headers.get("location", "")
    target = urlsplit(location)
    if answer.status not in {301, 302, 307, 308} or target.scheme != "https" or target.hostname != idp_hostname:
        fail(
            Problem(
                resource=f"https://{origin}/",
                expected=f"a redirect (301, 302, 307 or 308) to https://{idp_hostname}/...",
                found=f"HTTP {answer.status}" + (f", Location {location!r}" if location else ", no Location"),
                fix="the origin must send people to the public hostname: check the IdP's canonical-host "
                "redirect and that the origin is not served directly by the load balancer without it",
            )
        )


def test_error_pages_come_from_s3_and_are_not_cached(
    edge_get: Callable[..., Outcome], idp_hostname: str, policy: Policy, error_page: tuple[str, bytes]
) -> None:
    section = policy.section("edge")
    where, page = error_page
    answer = answered(edge_get(idp_hostname, section["error_probe_path"], lambda a: True))
    cache_control = answer.headers.get("cache-control", "")
    url = f"https://{idp_hostname}{section['error_probe_path']}"
    problems = []
    if answer.status != int(section["error_status"]) or page.decode("utf-8", "replace").strip() not in answer.body:
        problems.append(
            Problem(
                resource=url,
                expected=f"HTTP {section['error_status']} with the page held in {where}",
                found=answer.summary(),
                fix="point the distribution's custom error response at the error-pages origin and path",
            )
        )
    if not any(token in cache_control.lower() for token in section["no_cache"]):
        problems.append(
            Problem(
                resource=f"{url} Cache-Control",
                expected=f"one of {section['no_cache']}",
                found=repr(cache_control) if cache_control else "no Cache-Control header",
                fix="set the error response's caching TTL to 0 and Cache-Control: no-cache on the S3 object",
            )
        )
    check(problems)
