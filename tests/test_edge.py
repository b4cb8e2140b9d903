"""The IdP's edge, over HTTPS: health, security headers, the origin's redirect, error pages.

From the env runner these requests leave through the outbound proxy (PROXY_URL),
as every request from there does; from a laptop they go direct.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from envtest.errors import CouldNotEvaluate
from envtest.policy import Policy
from envtest.problems import Problem, check, fail
from envtest.settings import Settings

if TYPE_CHECKING:
    from envtest.gather.http import Answer, Outcome


def answered(outcome: Outcome) -> Answer:
    if outcome.last is None:
        raise CouldNotEvaluate(f"{outcome.url}: {outcome.describe()}")
    return outcome.last


@pytest.mark.catches("H5-health: the IdP health check reports unhealthy")
@pytest.mark.blinded_by("F7-down")
def test_idp_health_reports_all_checks_healthy(
    idp_health: Callable[[], Outcome], idp_hostname: str, policy: Policy
) -> None:
    """The IdP's health document says every check is healthy.

    Why: it is the IdP's own view of its dependencies.
    Fails on: `https://<idp>/api/health/` not 200 with `"all_checks_healthy": true`, with retries; when the
    proxy itself failed, the IdP was never asked: could not evaluate.
    Fix: the document names the failing dependency; read the IdP hosts' logs and the target health.
    """
    outcome = idp_health()
    if outcome.proxy_failed:
        raise CouldNotEvaluate(f"{outcome.url} was not reached through the proxy: {outcome.describe()}")
    if not outcome.valid:
        fail(
            Problem(
                resource=f"https://{idp_hostname}{policy.edge.health_path}",
                expected='HTTP 200 with "all_checks_healthy": true',
                found=outcome.describe(),
                fix="the health document names the failing dependency; look at the IdP hosts' logs and the "
                "load balancer's target health",
            )
        )


@pytest.mark.catches("H5: the edge drops X-Frame-Options", "H5-hsts: HSTS without preload")
@pytest.mark.blinded_by("F7-down")
def test_idp_edge_sends_every_security_header(
    edge_get: Callable[..., Outcome], idp_hostname: str, policy: Policy
) -> None:
    """The edge sends every security header the policy wants.

    Why: the headers keep browsers from framing, sniffing or downgrading the sign-in pages.
    Fails on: a header of `[edge.security_headers]` missing, or its first value (split on `; `, as the Go test
    does) without a wanted token: HSTS max-age, includeSubDomains, preload; nosniff; SAMEORIGIN; XSS block;
    referrer policy; cross-domain policies.
    Fix: set it in the CloudFront response headers policy in terraform.
    """
    answer = answered(edge_get(idp_hostname, "/", lambda a: True))
    required = policy.edge.security_headers
    problems = []
    for header, tokens in sorted(required.items()):
        value = answer.headers.get(header.lower())
        # The Go suite's header test: the header's first value, split on "; ", holds every wanted token.
        found = value.split(", ")[0].split("; ") if value is not None else []
        absent = [t for t in tokens if t not in found]
        if value is None or absent:
            problems.append(
                Problem(
                    resource=f"https://{idp_hostname}/ header {header}",
                    expected=f"a value holding {'; '.join(tokens)}",
                    found="the header is missing" if value is None else f"{value!r} (without {', '.join(absent)})",
                    fix="set it in the CloudFront response headers policy (or the IdP's own headers) in terraform",
                )
            )
    check(problems)


@pytest.mark.catches("H5-origin: the origin serves the site around CloudFront")
@pytest.mark.blinded_by("F7-down")
def test_origin_hostname_does_not_serve_the_site(
    edge_get: Callable[..., Outcome], idp_hostname: str, settings: Settings, policy: Policy
) -> None:
    """The origin's name does not serve the site around CloudFront.

    Why: around CloudFront is around its WAF.
    Fails on: the origin's name (`-o`) answering with content around CloudFront (policy `[edge] origin =
    "blocked"`, since the ALB admits only CloudFront's origin-facing prefix list), or, with `"redirect"`, not
    redirecting to `https://<idp>/`.
    Fix: restrict the ALB's group to CloudFront's origin-facing prefix list.
    """
    origin = settings.idp_origin_hostname
    if not origin:
        raise CouldNotEvaluate("no IdP origin hostname: pass it with -o (IDP_ORIGIN_HOSTNAME)")
    mode = policy.edge.origin
    outcome = edge_get(origin, "/", lambda a: True)
    answer = outcome.last
    if mode == "blocked":
        # Since 2023-08 the ALB admits only CloudFront's origin-facing prefix list: no content to anyone else.
        if answer is None or not 200 <= answer.status < 300:
            return
        fail(
            Problem(
                resource=f"https://{origin}/",
                expected="no answer with content: the load balancer admits only CloudFront (its origin-facing "
                "prefix list)",
                found=answer.summary(),
                fix="restrict the IdP ALB's security group to the com.amazonaws.global.cloudfront.origin-facing "
                "prefix list, so nobody reaches the origin around CloudFront (and its WAF)",
            )
        )
    if mode != "redirect":
        raise CouldNotEvaluate(f"policy [edge] origin = {mode!r}: blocked or redirect")
    if answer is None:
        raise CouldNotEvaluate(f"https://{origin}/: {outcome.describe()}")
    location = answer.headers.get("location", "")
    target = urlsplit(location)
    if answer.status not in {301, 302, 307, 308} or target.scheme != "https" or target.hostname != idp_hostname:
        fail(
            Problem(
                resource=f"https://{origin}/",
                expected=f"a redirect (301, 302, 307 or 308) to https://{idp_hostname}/...",
                found=f"HTTP {answer.status}" + (f", Location {location!r}" if location else ", no Location"),
                fix="the origin must send people to the public hostname: check the IdP's canonical-host redirect",
            )
        )


@pytest.mark.catches("H5-cache: error pages served from CloudFront's cache")
@pytest.mark.blinded_by("F7-down")
def test_error_pages_come_from_s3_uncached(
    edge_get: Callable[..., Outcome], idp_hostname: str, policy: Policy, error_pages: dict[str, tuple[str, bytes]]
) -> None:
    """The custom error pages come from S3, uncached.

    Why: during an outage the pages must still be served, and must not cache a transient error.
    Fails on: each custom page (`/5xx-codes/503.html`, `/maintenance/maintenance.html`) not answered 200 with
    the static bucket's object, or without `Server: AmazonS3` and `X-Cache: Miss from cloudfront`.
    Fix: upload the page; set the error caching TTL to 0.
    """
    wanted_headers = policy.edge.error_page_headers
    problems = []
    for path in policy.edge.error_pages:
        url = f"https://{idp_hostname}{path}"
        answer = answered(edge_get(idp_hostname, path, lambda a: True))
        where, page = error_pages[path]
        if answer.status != 200 or page.decode("utf-8", "replace").strip() not in answer.body:
            problems.append(
                Problem(
                    resource=url,
                    expected=f"HTTP 200 with the page held in {where}",
                    found=answer.summary(),
                    fix="upload the page to the static bucket and check the distribution's behaviour for its path",
                )
            )
        for header, fragment in sorted(wanted_headers.items()):
            value = answer.headers.get(header.lower(), "")
            if fragment not in value:
                problems.append(
                    Problem(
                        resource=f"{url} header {header}",
                        expected=f"a value holding {fragment!r} (the Go suite's custom error pages test)",
                        found=repr(value) if value else "the header is missing",
                        fix="the page must come from the S3 origin, uncached (error caching TTL 0 in "
                        "cloudfront_custom_error_responses)",
                    )
                )
    check(problems)
