"""The outbound proxy as it behaves: it lets the needed names through, refuses the rest, and nothing opens
without it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from envtest.policy import Policy
from envtest.problems import Problem, check

if TYPE_CHECKING:
    from envtest.gather.probes import Probe


def _probe_problems(probes: dict[str, Probe], want: str, fix: str) -> list[Problem]:
    problems = []
    for label, probe in sorted(probes.items()):
        ok = probe.ok if want == "through" else probe.outcome == "denied"
        if not ok:
            hung = " (this probe hung)" if probe.outcome == "hung" else ""
            problems.append(
                Problem(
                    f"{label}: {probe.target}",
                    want,
                    f"{probe.outcome}: {probe.detail} after {probe.seconds:.1f} s{hung}",
                    fix,
                )
            )
    return problems


@pytest.mark.catches("F7")
@pytest.mark.blinded_by("F16", "F16-group", "F7-down")
def test_proxy_lets_every_must_allow_name_through(allow_probes: dict[str, Probe], policy: Policy) -> None:
    """The proxy lets every must-allow name through, live.

    Why: the file can be right while the proxy in force is not (a stale process, a broken reload).
    Fails on: a must-allow name refused (403) or unreachable (503), over HTTP and CONNECT 443.
    Fix: check the allowlist in force and the proxy's own egress; reload or recycle the proxy.
    """
    check(
        _probe_problems(
            allow_probes,
            "through",
            f"a 403 means the name is not in {policy.proxy.allowlist_path}; a 503 means the proxy "
            "cannot reach "
            "it (DNS, VPC endpoint, network)",
        )
    )


@pytest.mark.catches("F8: proxy lets through a host that must be denied")
@pytest.mark.blinded_by("F16", "F16-group", "F7-down")
def test_proxy_refuses_every_must_deny_name(deny_probes: dict[str, Probe], policy: Policy) -> None:
    """The proxy refuses every must-deny name, live.

    Why: what the proxy does, not what the file says, decides what a compromised job can reach.
    Fails on: the proxy letting a must-deny name through, whatever allows it.
    Fix: remove the allowlist entry that matches the name (the failure shows the proxy's answer).
    """
    check(
        _probe_problems(
            deny_probes,
            "denied",
            f"the proxy lets this name through: find what allows it ({policy.proxy.allowlist_path} or an "
            "http_access rule in squid.conf) and remove it",
        )
    )


@pytest.mark.catches("F8-direct: a path around the proxy: a direct connection opens")
def test_direct_connections_without_the_proxy_do_not_open(direct_probes: dict[str, Probe]) -> None:
    """A connection that skips the proxy does not open.

    Why: a direct path out makes the proxy's allowlist advisory.
    Fails on: a direct connection to an outside address opening (runs only where `MY_ENV` is set).
    Fix: remove the security group egress or the route (NAT, internet gateway) that lets it out.
    """
    check(
        [
            Problem(
                f"direct TCP connection to {target}",
                "no connection (the security groups drop it)",
                f"{probe.detail} in {probe.seconds:.1f} s",
                "an egress rule lets the runner around the proxy: see the egress checks",
            )
            for target, probe in sorted(direct_probes.items())
            if probe.ok
        ]
    )
