"""The IdP's CloudWatch Logs SLI metric filters on the nginx access log."""

from __future__ import annotations

from typing import Any

# CloudWatch Logs (terraform/app cloudwatch-slos.tf): the nginx access log group and its SLI metric filters.
NGINX_LOG_GROUP = "{env}_/var/log/nginx/access.log"
INTERESTING_URIS_FILTER = (
    '{$.request != "GET / HTTP/1.1" && $.uri_path != "/api/health" && $.uri_path != "/favicon-16x16.png" '
    '&& $.uri_path != "/favicon-32x32.png" && $.uri_path != "/apple-touch-icon.png" && $.status != 5*}'
)


# The filters by suffix: (pattern, metric name, metric value), as terraform/app/cloudwatch-slos.tf writes them.
FILTERS = {
    "success": (INTERESTING_URIS_FILTER, "InterestingUrisSuccess", "1"),
    "total": (INTERESTING_URIS_FILTER.replace(" && $.status != 5*}", "}"), "InterestingUrisTotal", "1"),
    "success-latency": (INTERESTING_URIS_FILTER, "InterestingUrisSuccessLatency", "$.request_time"),
}
# Without a revision: the first filters (5440fa8d9, 2022-11-30), success and total.
FIRST_FILTERS = ("success", "total")


def seed_metric_filters(logs: Any, env: str, suffixes: tuple[str, ...] = FIRST_FILTERS) -> None:
    group = NGINX_LOG_GROUP.format(env=env)
    logs.create_log_group(logGroupName=group)
    for suffix in suffixes:
        pattern, metric, value = FILTERS[suffix]
        logs.put_metric_filter(
            logGroupName=group,
            filterName=f"{env}-idp-interesting-uris-{suffix}",
            filterPattern=pattern,
            metricTransformations=[{"metricName": metric, "metricNamespace": f"{env}/sli", "metricValue": value}],
        )
