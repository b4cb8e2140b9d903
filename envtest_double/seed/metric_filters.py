"""The IdP's CloudWatch Logs SLI metric filters on the nginx access log."""

from __future__ import annotations

from typing import Any

# CloudWatch Logs (terraform/app cloudwatch-slos.tf): the nginx access log group and its SLI metric filters.
NGINX_LOG_GROUP = "{env}_/var/log/nginx/access.log"
INTERESTING_URIS_FILTER = (
    '{$.request != "GET / HTTP/1.1" && $.uri_path != "/api/health" && $.uri_path != "/favicon-16x16.png" '
    '&& $.uri_path != "/favicon-32x32.png" && $.uri_path != "/apple-touch-icon.png" && $.status != 5*}'
)


def seed_metric_filters(logs: Any, env: str) -> None:
    group = NGINX_LOG_GROUP.format(env=env)
    logs.create_log_group(logGroupName=group)
    for name, pattern in (
        (f"{env}-idp-interesting-uris-success", INTERESTING_URIS_FILTER),
        (f"{env}-idp-interesting-uris-total", INTERESTING_URIS_FILTER.replace(" && $.status != 5*}", "}")),
    ):
        metric = "InterestingUrisSuccess" if name.endswith("success") else "InterestingUrisTotal"
        logs.put_metric_filter(
            logGroupName=group,
            filterName=name,
            filterPattern=pattern,
            metricTransformations=[{"metricName": metric, "metricNamespace": f"{env}/sli", "metricValue": "1"}],
        )
