"""CloudWatch Logs: metric filters, and the service's own verdict on which lines a pattern matches."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from envtest.gather.services.base import Reader, call


@dataclass(frozen=True)
class MetricFilter:
    """One metric filter (DescribeMetricFilters, AWS API reference: MetricFilter)."""

    name: str
    pattern: str
    log_group: str
    metrics: tuple[str, ...] = ()  # "<namespace>/<metric name>" of each metric transformation

    @classmethod
    def from_api(cls, found: Mapping[str, Any]) -> MetricFilter:
        return cls(
            name=str(found["filterName"]),
            pattern=str(found.get("filterPattern", "")),
            log_group=str(found.get("logGroupName", "")),
            metrics=tuple(
                f"{t.get('metricNamespace', '')}/{t.get('metricName', '')}"
                for t in found.get("metricTransformations", [])
            ),
        )


class LogsReads(Reader):
    def metric_filters(self, log_group: str, prefix: str) -> list[MetricFilter]:
        """The log group's metric filters whose names start with the prefix (DescribeMetricFilters)."""
        found = self._cached(
            f"logs.metric_filters:{log_group}:{prefix}",
            lambda: self._describe_all(
                "logs",
                "describe_metric_filters",
                "metricFilters",
                f"logs:DescribeMetricFilters {log_group} {prefix}*",
                logGroupName=log_group,
                filterNamePrefix=prefix,
            ),
        )
        return [MetricFilter.from_api(f) for f in found]

    def metric_filter_matches(self, pattern: str, lines: list[str]) -> list[int]:
        """Which lines (numbered from 1) the pattern matches, by CloudWatch Logs' own TestMetricFilter."""

        def fetch() -> list[int]:
            logs = self.aws.client("logs")
            answer = call(
                "logs:TestMetricFilter",
                lambda: logs.test_metric_filter(filterPattern=pattern, logEventMessages=lines),
            )
            return sorted(int(m["eventNumber"]) for m in answer.get("matches", []))

        return self._cached(f"logs.test_metric_filter:{pattern}:{json.dumps(lines)}", fetch)
