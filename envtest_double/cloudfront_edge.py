"""The edge (CloudFront) in front of the IdP: its security headers, custom error pages, and what the sandbox's
upstream serves for it.
"""

from __future__ import annotations

from typing import Any

from envtest_double import env_facts

# The Go suite's header test (tests/idp_cloudfront_test.go): each value, split on "; ", holds these tokens.
SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31556952; includeSubDomains; preload",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "X-Xss-Protection": "1; mode=block",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Permitted-Cross-Domain-Policies": "none",
}
# terraform/app variables.tf cloudfront_custom_pages: served from the static bucket through CloudFront.
ERROR_PAGES = {
    "5xx-codes/503.html": "<!doctype html><title>Temporarily unavailable | Login.gov</title><h1>Sorry</h1>\n",
    "maintenance/maintenance.html": "<!doctype html><title>Maintenance | Login.gov</title><h1>Be right back</h1>\n",
}


def origin_host(env: str) -> str:
    """The IdP's origin name (behind CloudFront), which must not serve the site to anyone but CloudFront."""
    return f"idp.origin.{env}.{env_facts.ROOT_DOMAIN}"


def static_bucket(env: str) -> str:
    """terraform/app: bucket_name login-gov-idp-static-<env>.<acct>-<region> (the CloudFront custom pages)."""
    return f"login-gov-idp-static-{env}.{env_facts.ACCOUNT}-{env_facts.REGION}"


def edge_site(env: str, idp_host: str, origin: str = "blocked") -> dict[str, Any]:
    """What the sandbox edge serves (upstream.py reads it on every request, so faults edit it).

    The origin is blocked (since 2023-08): the real ALB admits only CloudFront's origin-facing prefix list, so a
    request to the origin's name from anywhere else gets no answer (here: the connection is reset). Before, the
    ALB was open and the IdP redirected a request for the origin's name to its public name (`origin="redirect"`).
    """
    return {
        "public": idp_host,
        "origin": origin_host(env),
        "origin_blocked": origin == "blocked",
        "origin_redirects": origin == "redirect",
        "headers": dict(SECURITY_HEADERS),
        "health": {"all_checks_healthy": True, "database": {"healthy": True}, "account_reset": {"healthy": True}},
        "pages": dict(ERROR_PAGES),
        # What CloudFront says of an object it fetched from S3 without caching it.
        "page_headers": {"Server": "AmazonS3", "X-Cache": "Miss from cloudfront"},
    }
