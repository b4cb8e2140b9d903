"""Faults at the IdP's edge and in its SLI metric filters."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from envtest_double.running import Sandbox
from envtest_double.seed import metric_filters


def metric_filter_deleted(sandbox: Sandbox) -> None:
    logs = sandbox.client("logs")
    logs.delete_metric_filter(
        logGroupName=f"{sandbox.world.env}_/var/log/nginx/access.log",
        filterName=f"{sandbox.world.env}-idp-interesting-uris-success",
    )


def metric_filter_counts_errors(sandbox: Sandbox) -> None:
    """The success filter lost its status test: 5xx answers count as successes.

    PutMetricFilter with an existing name replaces that filter in AWS; moto 5.2 adds a second one with the same
    name, so the filter is deleted first (the state AWS would reach).
    """
    logs = sandbox.client("logs")
    metric_filter_deleted(sandbox)
    logs.put_metric_filter(
        logGroupName=f"{sandbox.world.env}_/var/log/nginx/access.log",
        filterName=f"{sandbox.world.env}-idp-interesting-uris-success",
        filterPattern=metric_filters.INTERESTING_URIS_FILTER.replace(" && $.status != 5*}", "}"),
        metricTransformations=[
            {"metricName": "InterestingUrisSuccess", "metricNamespace": f"{sandbox.world.env}/sli", "metricValue": "1"}
        ],
    )


def _edge(sandbox: Sandbox, change: Callable[[dict[str, Any]], None]) -> None:
    path = sandbox.directory / "edge" / "site.json"
    site = json.loads(path.read_text())
    change(site)
    path.write_text(json.dumps(site, indent=1))


def security_header_missing(sandbox: Sandbox) -> None:
    _edge(sandbox, lambda site: site["headers"].pop("X-Frame-Options"))


def hsts_without_preload(sandbox: Sandbox) -> None:
    _edge(sandbox, lambda site: site["headers"].update({"Strict-Transport-Security": "max-age=31556952"}))


def origin_served_directly(sandbox: Sandbox) -> None:
    # The ALB's security group lets anyone in, and the origin serves the site around CloudFront: in a revision
    # whose origin redirected to the public name (before 2023-08), it stops redirecting too.
    _edge(sandbox, lambda site: site.update({"origin_blocked": False, "origin_redirects": False}))


def error_page_cached(sandbox: Sandbox) -> None:
    _edge(sandbox, lambda site: site["page_headers"].update({"X-Cache": "Hit from cloudfront"}))


def idp_unhealthy(sandbox: Sandbox) -> None:
    _edge(sandbox, lambda site: site["health"].update({"all_checks_healthy": False}))
