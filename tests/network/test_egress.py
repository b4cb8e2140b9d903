"""The runner's security group egress: only what the policy declares, and all of it."""

from __future__ import annotations

import pytest

from envtest.fixtures.runner_network import RunnerNetwork
from envtest.policy.egress import Declared, Rule, evaluate
from envtest.problems import Problem, check

EGRESS_FIX = "remove the rule from the group in terraform (gitlab_runner_pool module), or declare it with its reason"


def _attached(rule: str, network: RunnerNetwork) -> str:
    group_id = rule.split("(", 1)[-1].split(")", 1)[0]
    return "; attached by " + ", ".join(network.groups.get(group_id, ["?"]))


@pytest.mark.catches(
    "F1: runner egress: all protocols to 0.0.0.0/0",
    "F2: runner egress: tcp 443 to 0.0.0.0/0",
    "F3: egress to the proxy group widened to 3128-3200",
)
@pytest.mark.blinded_by("F16", "F16-group")
def test_runner_egress_holds_only_declared_rules(
    runner_egress: list[Rule], declared_egress: list[Declared], runner_network: RunnerNetwork
) -> None:
    """The runner's security groups allow no egress the policy does not declare.

    Why: the runner holds deploy credentials; any undeclared path out (above all to the internet) bypasses the
    proxy's allowlist.
    Fails on: any egress rule (in the union of the groups the launch template and the instances attach: runner,
    `<env>-base`, argo) that no policy line declares by protocol, ports and destination (a CIDR set, a group
    name pattern, a prefix list, the VPC's CIDRs, the proxy NLB's addresses, a described rule); always
    0.0.0.0/0, ::/0, all protocols, all ports.
    Fix: remove the rule in terraform; a rule the env needs is declared in its policy (one open to the
    internet cannot be).
    """
    findings = [f for f in evaluate(runner_egress, declared_egress) if f.what == "undeclared"]
    check(
        [
            Problem(
                resource=f.rule + _attached(f.rule, runner_network),
                expected="a rule that matches a policy [[egress.allow]] line (policy/default.toml, [egress])",
                found=f.detail,
                fix=EGRESS_FIX,
            )
            for f in findings
        ]
    )


@pytest.mark.catches(
    "F1-unlisted: runner egress: tcp 22 to an address shaped like GitHub's, outside the snapshot",
    "F1-argo: an argo group's 443 rule to an address outside AWS's EC2 ranges",
)
@pytest.mark.blinded_by("F16", "F16-group")
def test_runner_egress_to_published_lists_is_in_their_snapshots(
    runner_egress: list[Rule], declared_egress: list[Declared], runner_network: RunnerNetwork
) -> None:
    """Every runner egress rule filled from a published list (GitHub's git addresses, AWS's EC2 ranges) is in it.

    Why: terraform fills these rules from lists GitHub and AWS change at will; the policy knows them from a
    snapshot of a date ([egress.published_lists]). A rule outside the snapshot is either a newer entry of the list
    or an address that is not GitHub's or AWS's at all: a person must look, but it is not an undeclared door.
    Fails on: a rule with the list's protocol and ports, beside its entries in the same group (or with the
    description terraform writes on them, for the argo groups), to a public address no entry of the snapshot holds.
    Fix: if the publisher lists it now, commit the list as published with its date (policy/published/); if not,
    remove the rule in terraform.
    """
    findings = [f for f in evaluate(runner_egress, declared_egress) if f.what == "unlisted"]
    check(
        [
            Problem(
                resource=f.rule + _attached(f.rule, runner_network),
                expected="an entry of the published list's snapshot (policy [egress.published_lists])",
                found=f.detail,
                fix=f"{f.detail}: refresh the snapshot (commit the list as published, with its date) or remove the "
                "rule in terraform",
            )
            for f in findings
        ]
    )


@pytest.mark.catches("F3")
@pytest.mark.blinded_by("F16", "F16-group")
def test_every_required_runner_egress_rule_is_present(
    runner_egress: list[Rule], declared_egress: list[Declared], runner_network: RunnerNetwork
) -> None:
    """Every egress rule the runner needs is in place.

    Why: without them the runner cannot reach the proxy, the endpoints or S3, and cannot come up.
    Fails on: a declared rule gone, e.g. 3128 to the proxy group.
    Fix: add the rule back to the runner's security group in terraform.
    """
    findings = [f for f in evaluate(runner_egress, declared_egress) if f.what == "missing"]
    check(
        [
            Problem(
                resource=f"egress of the env runner's groups {sorted(runner_network.groups)}",
                expected=f.rule,
                found=f.detail,
                fix="add the rule to the runner's security group: without it the runner cannot come up "
                "(runbook, 'Debugging env_runner issues')",
            )
            for f in findings
        ]
    )
