"""Every proxy the env runner reaches: what any of them lets through is what the runner can reach."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from envtest.policy.proxy_paths import beyond, fingerprint
from envtest.problems import Problem, check

if TYPE_CHECKING:
    from envtest.fixtures.proxy import DeployedAllowlist
    from envtest.fixtures.proxy_paths import OtherProxy
    from envtest.gather.probes import Probe

# The found text names this many of the names; the rest are counted (the resource line pins the whole set).
SHOWN = 40


@pytest.mark.catches("F8-idp-path: a proxy the runner reaches lets through a name the runner's own allowlist refuses")
@pytest.mark.blinded_by("F16", "F16-group")
def test_no_proxy_the_runner_reaches_allows_a_name_its_own_allowlist_refuses(
    other_reachable_proxies: list[OtherProxy], deployed_allowlists: list[DeployedAllowlist]
) -> None:
    """No proxy the env runner reaches lets through a name the runner's own allowlist refuses.

    Why: a job reaches whatever any reachable proxy lets through. `<env>-base`, on the runner too, opens 3128 to the
    IdP's proxy (vpc_module sg.tf), whose allowlist holds pypi.org, registry.npmjs.org, .rubygems.org and more
    (identity-outboundproxy domain-allowlist.conf.erb): the runner's own allowlist is then not the limit.
    Fails on: a reachable proxy (egress from any runner group and ingress on the proxy's instances) whose
    allowlist holds names the runner's own does not; the resource line pins the set (count and digest), so a
    waiver for today's set ends when a name is added.
    Fix: take the path away (the runner's own base group without 3128 to the IdP's proxy), or trim that proxy's
    allowlist; accept it for a while with a [[waivers]] entry naming the set.
    """
    own = [d.allowlist for d in deployed_allowlists]
    problems = []
    for other in other_reachable_proxies:
        for instances, allowlist in other.copies:
            names = beyond(allowlist, own)
            if not names:
                continue
            more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
            problems.append(
                Problem(
                    f"{other.path.describe()}: {len(names)} names beyond the env runner's allowlist, set "
                    f"{fingerprint(names)}",
                    "every name a reachable proxy lets through is in the env runner's own allowlist",
                    f"{', '.join(instances)}:{other.file} lets through {', '.join(names[:SHOWN])}{more}",
                    "remove the runner's egress to this proxy (the rule above), or remove these names from its "
                    "allowlist",
                )
            )
    check(problems)


@pytest.mark.catches("F8-idp-live: a proxy the runner reaches lets a must-deny name through, live")
@pytest.mark.blinded_by("F16", "F16-group")
def test_no_other_proxy_the_runner_reaches_lets_a_must_deny_name_through(
    other_proxy_deny_probes: dict[str, Probe],
) -> None:
    """No other proxy the env runner reaches lets a must-deny name through, live.

    Why: the runner's own proxy refusing a name means little when another proxy it reaches answers for it.
    Fails on: a must-deny name ([proxy] must_deny) answered through a reachable proxy other than the runner's own.
    Fix: take the path away, or remove what lets the name through on that proxy.
    """
    check(
        [
            Problem(
                label,
                "refused by the proxy (403)",
                f"{probe.outcome}: {probe.detail}",
                "the runner reaches this proxy (see the path check): remove its egress to it, or the entry that "
                "lets this name through there",
            )
            for label, probe in sorted(other_proxy_deny_probes.items())
            if probe.outcome != "denied"
        ]
    )
