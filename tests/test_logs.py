"""CloudWatch Logs: the IdP's SLI metric filter exists once and counts the requests it is meant to count.

The Go suite's TestMetricFilters: the filter named with the prefix on the nginx access log group, its pattern
tried on sample log lines with CloudWatch Logs' own TestMetricFilter (read-only: nothing is stored).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from envtest.errors import CouldNotEvaluate
from envtest.policy import Policy
from envtest.problems import Problem, check, fail

if TYPE_CHECKING:
    from envtest.gather.services.logs import MetricFilter


@pytest.mark.catches("L1: the interesting-URIs metric filter deleted")
def test_interesting_uris_metric_filter_exists_once(
    interesting_uris_filters: list[MetricFilter], metric_filter_names: dict[str, str], policy: Policy
) -> None:
    """Exactly one interesting-URIs success metric filter is on the nginx access log group.

    Why: the SLI alarms read it; none is no SLI, two count twice.
    Fails on: not exactly one `<env>-idp-interesting-uris-success*` metric filter on the nginx access log group.
    Fix: apply the SLI metric filters (terraform/app cloudwatch-slos.tf) in this env.
    """
    wanted = policy.metric_filters.count
    if len(interesting_uris_filters) != wanted:
        fail(
            Problem(
                f"metric filters named {metric_filter_names['prefix']}* on log group {metric_filter_names['group']}",
                f"{wanted} filter(s)",
                f"{len(interesting_uris_filters)}: " + (", ".join(f.name for f in interesting_uris_filters) or "none"),
                "terraform the SLI metric filters (terraform/app cloudwatch-slos.tf) in this env",
            )
        )


@pytest.mark.catches("L1-pattern: the success metric filter counts 5xx answers")
@pytest.mark.blinded_by("L1")
def test_interesting_uris_metric_filter_counts_the_right_requests(
    interesting_uris_filters: list[MetricFilter],
    metric_filter_matches: Callable[[str, list[str]], list[int]],
    policy: Policy,
) -> None:
    """The metric filter counts the right requests.

    Why: an SLI that counts errors as successes reports health during an outage.
    Fails on: the filter's pattern, tried with CloudWatch Logs' TestMetricFilter (read-only), matches a sample
    line it must not (a 5xx, the favicon, `GET /`) or misses one it must.
    Fix: correct the filter's pattern in terraform.
    """
    section = policy.metric_filters
    if not interesting_uris_filters:
        raise CouldNotEvaluate("no metric filter to try (see the filter-exists check)")
    must_match, must_not_match = list(section.must_match), list(section.must_not_match)
    problems = []
    for metric_filter in interesting_uris_filters:
        matched = set(metric_filter_matches(metric_filter.pattern, must_match + must_not_match))
        for number, line in enumerate(must_match + must_not_match, start=1):
            should = number <= len(must_match)
            if (number in matched) != should:
                problems.append(
                    Problem(
                        f"metric filter {metric_filter.name} (pattern {metric_filter.pattern!r})",
                        f"{'a match' if should else 'no match'} for {line}",
                        "no match" if should else "a match",
                        "fix the pattern in terraform (cloudwatch-slos.tf: the uninteresting URIs and the status "
                        "test), or the sample lines in policy [metric_filters] if the SLI changed on purpose",
                    )
                )
    check(problems)
