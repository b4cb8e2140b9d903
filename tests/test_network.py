"""The runner's network lockdown: egress only where declared, AWS through VPC endpoints,
everything else through a proxy that allows a short list of names and refuses the rest."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from envtest.errors import CouldNotEvaluate
from envtest.fixtures.network import AllowlistCopy, DeployedAllowlist, RunnerNetwork
from envtest.parsers.squid_allowlist import is_ip_literal
from envtest.policy import Policy, fill
from envtest.policy.egress import Declared, Rule, evaluate
from envtest.problems import Problem, check
from envtest.settings import Settings

if TYPE_CHECKING:
    from envtest.gather.network import Probe
    from envtest.gather.services.ec2 import SecurityGroup, VpcEndpoint
    from envtest.gather.squid_judge import SquidVerdict

EGRESS_FIX = "remove the rule from the group in terraform (gitlab_runner_pool module), or declare it with its reason"


def _attached(rule: str, network: RunnerNetwork) -> str:
    group_id = rule.split("(", 1)[-1].split(")", 1)[0]
    return "; attached by " + ", ".join(network.groups.get(group_id, ["?"]))


@pytest.mark.catches("F1", "F2", "F3")
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


def _endpoints_by_service(endpoints: list[VpcEndpoint], region: str) -> dict[tuple[str, str], VpcEndpoint]:
    return {(e.service(region), e.endpoint_type): e for e in endpoints}


def _interface_services(policy: Policy) -> list[str]:
    """The interface endpoints the env must have: policy [endpoints] set ("required" or "all") names the list."""
    endpoints = policy.section("endpoints")
    chosen = str(endpoints.get("set", "required"))
    if chosen not in endpoints:
        raise CouldNotEvaluate(f"policy [endpoints] set = {chosen!r}, but [endpoints] has no list {chosen!r}")
    return [str(s) for s in endpoints[chosen]]


def _required(policy: Policy) -> list[tuple[str, str]]:
    return [(s, "Interface") for s in _interface_services(policy)] + [
        (s, "Gateway") for s in policy.section("endpoints").get("gateway", [])
    ]


@pytest.mark.catches("F4")
@pytest.mark.blinded_by("F16", "F16-group")
def test_required_vpc_endpoints_exist_and_are_available(
    vpc_endpoints: list[VpcEndpoint], policy: Policy, runner_network: RunnerNetwork, settings: Settings
) -> None:
    """Every VPC endpoint of the env's set exists and is available.

    Why: the locked-down runner reaches SSM, KMS, logs and the rest only through them.
    Fails on: an endpoint of the `required` or `all` set (as terraform/app chooses) missing or not `available`.
    Fix: apply terraform/app for the env (the endpoints module).
    """
    found = _endpoints_by_service(vpc_endpoints, settings.region)
    problems = []
    for service, kind in _required(policy):
        endpoint = found.get((service, kind))
        resource = f"{kind.lower()} endpoint com.amazonaws.{settings.region}.{service} in {runner_network.vpc_id}"
        if endpoint is None:
            problems.append(
                Problem(
                    resource,
                    "the endpoint exists",
                    "none",
                    "create it in terraform: without it the runner's calls to this service go "
                    "nowhere (the proxy does not allow AWS service names it reaches privately)",
                )
            )
        elif not endpoint.available:
            problems.append(
                Problem(
                    f"{resource} ({endpoint.endpoint_id})",
                    "state available",
                    f"state {endpoint.state}",
                    "check the endpoint in the VPC console",
                )
            )
    check(problems)


def _interface_endpoints(vpc_endpoints: list[VpcEndpoint], policy: Policy, region: str) -> list[VpcEndpoint]:
    wanted = set(_interface_services(policy))
    endpoints = [e for e in vpc_endpoints if e.endpoint_type == "Interface" and e.service(region) in wanted]
    if not endpoints:
        pytest.fail("no required interface endpoint exists (see the endpoints-exist check)", pytrace=False)
    return endpoints


@pytest.mark.catches("F5")
@pytest.mark.blinded_by("F16", "F16-group")
def test_interface_endpoints_have_private_dns_on(
    vpc_endpoints: list[VpcEndpoint], policy: Policy, settings: Settings
) -> None:
    """Every interface endpoint has private DNS on.

    Why: with it off, the service's public name resolves to public addresses the runner may not reach.
    Fails on: an interface endpoint with private DNS off.
    Fix: set `private_dns_enabled = true` on the endpoint in terraform.
    """
    check(
        [
            Problem(
                f"{e.service_name} endpoint {e.endpoint_id}",
                "PrivateDnsEnabled true",
                "false",
                "turn private DNS on: without it the service's public name does not resolve to the endpoint, "
                "and the runner's calls go to the proxy, which refuses them",
            )
            for e in _interface_endpoints(vpc_endpoints, policy, settings.region)
            if not e.private_dns
        ]
    )


@pytest.mark.catches("F5-az")
@pytest.mark.blinded_by("F16", "F16-group")
def test_interface_endpoints_cover_the_runner_azs(
    vpc_endpoints: list[VpcEndpoint],
    policy: Policy,
    settings: Settings,
    runner_network: RunnerNetwork,
    endpoint_azs: dict[str, set[str]],
) -> None:
    """Every interface endpoint has a subnet in each AZ the runner runs in.

    Why: a runner in an uncovered AZ reaches the service across AZs, or not at all if the route is missing.
    Fails on: an endpoint with no subnet in a runner AZ.
    Fix: add the AZ's subnet to the endpoint's subnet_ids.
    """
    problems = []
    for endpoint in _interface_endpoints(vpc_endpoints, policy, settings.region):
        azs = endpoint_azs.get(endpoint.endpoint_id, set())
        uncovered = sorted(set(runner_network.azs) - azs)
        if uncovered:
            problems.append(
                Problem(
                    f"{endpoint.service_name} endpoint {endpoint.endpoint_id}",
                    f"a subnet in each runner AZ {list(runner_network.azs)}",
                    f"subnets in {sorted(azs)}; none in {uncovered}",
                    "add a subnet in those AZs to the endpoint",
                )
            )
    check(problems)


@pytest.mark.catches("F5-sg")
@pytest.mark.blinded_by("F16", "F16-group")
def test_interface_endpoints_admit_https_from_the_runner(
    vpc_endpoints: list[VpcEndpoint],
    policy: Policy,
    settings: Settings,
    runner_network: RunnerNetwork,
    vpc_security_groups: dict[str, SecurityGroup],
) -> None:
    """Every interface endpoint's group admits HTTPS from the runner.

    Why: an endpoint the runner cannot open on 443 is as good as missing.
    Fails on: the endpoint's group admitting 443 neither from a runner group nor from the runner subnets' CIDRs.
    Fix: add the ingress rule to the endpoint's security group.
    """
    runner_groups = set(runner_network.groups)
    # vpc_module endpoints.tf: the endpoint groups admit 443 from <env>-base and from the app subnets' CIDRs; the
    # runner is admitted by either (any of its groups, or the CIDRs of all the subnets it runs in).
    problems = []
    for endpoint in _interface_endpoints(vpc_endpoints, policy, settings.region):
        groups = list(endpoint.group_ids)
        admitted = any(
            g in vpc_security_groups
            and vpc_security_groups[g].admits_tcp(
                443, from_groups=runner_groups, from_cidrs=list(runner_network.subnet_cidrs)
            )
            for g in groups
        )
        if not admitted:
            problems.append(
                Problem(
                    f"{endpoint.service_name} endpoint {endpoint.endpoint_id} groups {groups}",
                    f"ingress tcp 443 from one of the runner's groups {sorted(runner_groups)} or from its subnets "
                    f"{list(runner_network.subnet_cidrs)}",
                    "no such ingress rule",
                    "allow 443 from the base group (or the app subnets' CIDRs) on the endpoint's group "
                    "(vpc_module endpoints.tf)",
                )
            )
    check(problems)


@pytest.mark.catches("F5-s3")
@pytest.mark.blinded_by("F16", "F16-group")
def test_s3_gateway_endpoint_is_in_the_runner_route_tables(
    vpc_endpoints: list[VpcEndpoint], runner_route_tables: dict[str, str], settings: Settings
) -> None:
    """The runner's subnets route to the S3 gateway endpoint.

    Why: the runner reads its config bucket and pulls image layers through it; without the route S3 is
    unreachable from a runner without internet.
    Fails on: the runner's subnets (explicitly, or through the VPC's main route table) do not route to the S3
    gateway endpoint.
    Fix: add the runner's route tables to the gateway endpoint's route_table_ids.
    """
    gateways = [e for e in vpc_endpoints if e.endpoint_type == "Gateway" and e.service(settings.region) == "s3"]
    routed = {t for e in gateways for t in e.route_table_ids}
    check(
        [
            Problem(
                f"route table {table} of runner subnet {subnet}",
                "the S3 gateway endpoint in its routes",
                f"endpoints route {sorted(routed) or 'no table'}",
                "associate the S3 gateway endpoint with the runner subnets' route tables: without it the "
                "runner cannot read its registration token from S3",
            )
            for subnet, table in sorted(runner_route_tables.items())
            if table not in routed
        ]
    )


@pytest.mark.catches("F7")
@pytest.mark.blinded_by("F16", "F16-group")
def test_proxy_allowlist_holds_every_must_allow_name(
    deployed_allowlists: list[DeployedAllowlist], must_allow_names: list[str]
) -> None:
    """The deployed proxy allowlist holds every name the env needs.

    Why: a lost name is a deploy that cannot reach GitLab, a registry or a package source.
    Fails on: the deployed allowlist missing a must-allow name, e.g. the GitLab host.
    Fix: add the name to the allowlist template and redeploy the proxy.
    """
    check(
        [
            Problem(
                copy.where,
                f"an entry that lets {name} through",
                "no entry matches it",
                f"add {name} to the allowlist template and redeploy the outbound proxy",
            )
            for copy, allowlist in ((d.copy, d.allowlist) for d in deployed_allowlists)
            for name in must_allow_names
            if allowlist.allows(name) is None
        ]
    )


@pytest.mark.catches("F6")
@pytest.mark.blinded_by("F16", "F16-group")
def test_proxy_allowlist_holds_no_forbidden_entry(
    deployed_allowlists: list[DeployedAllowlist], policy: Policy, must_deny_names: list[str]
) -> None:
    """The deployed proxy allowlist holds no entry the policy forbids.

    Why: a whole-provider wildcard opens the runner to anything hosted there, including an attacker's bucket.
    Fails on: whole-provider wildcards, bare TLDs, IP literals, must-deny names.
    Fix: remove the entry from the allowlist template, or narrow it to the hosts needed.
    """
    proxy = policy.section("proxy")
    forbidden = {w.lower() for w in proxy["forbidden_wildcards"]}
    problems = []
    for copy, allowlist in ((d.copy, d.allowlist) for d in deployed_allowlists):
        for entry in allowlist.entries:
            reasons = []
            if entry.wildcard and f".{entry.domain}" in forbidden:
                reasons.append("a whole-provider wildcard")
            if entry.wildcard and any(f.lstrip(".").endswith("." + entry.domain) for f in forbidden):
                reasons.append("a wildcard wider than a forbidden one")
            if entry.wildcard and len(entry.domain.split(".")) < int(proxy["min_wildcard_labels"]):
                reasons.append("a bare top-level domain")
            if is_ip_literal(entry.domain):
                reasons.append("an IP literal where a name is expected")
            reasons += [f"it lets must-deny name {n} through" for n in must_deny_names if entry.covers(n)]
            if reasons:
                problems.append(
                    Problem(
                        f"{copy.where} line {entry.line}: '{entry.text}'",
                        "specific service names only",
                        "; ".join(reasons),
                        "replace it with the exact names the runner needs, in the allowlist template",
                    )
                )
    check(problems)


@pytest.mark.catches("F6", "F6-shadow")
@pytest.mark.blinded_by("F16", "F16-group")
def test_proxy_allowlist_has_no_entry_squid_rejects_or_ignores(
    deployed_allowlists: list[DeployedAllowlist],
    squid_verdict: Callable[[bytes], SquidVerdict | None],
) -> None:
    """squid reads the allowlist as written: no entry it refuses or silently ignores.

    Why: squid drops overlapping entries (or refuses to start), so the allowlist in force is not the one
    reviewed.
    Fails on: overlaps squid refuses or ignores, extra words, a BOM; and `squid -k parse` errors where a squid
    binary exists.
    Fix: remove the shadowed or overlapping entries the failure names.
    """
    problems = []
    for copy, allowlist in ((d.copy, d.allowlist) for d in deployed_allowlists):
        problems += [
            Problem(
                f"{copy.where} line {p.line}",
                "an entry squid loads as written",
                f"{p.severity}: {p.message}",
                "edit the allowlist template and redeploy",
            )
            for p in allowlist.problems
        ]
        verdict = squid_verdict(copy.raw)
        if verdict is not None and (verdict.fatal or verdict.messages):
            problems.append(
                Problem(
                    f"{copy.where}, judged by {verdict.binary} -k parse",
                    "squid parses it with no error or warning",
                    f"exit {verdict.exit_code}: " + " | ".join(verdict.messages[:6]),
                    "fix the entries squid names",
                )
            )
    check(problems)


# What chef fills into the allowlist template (identity-outboundproxy recipe): the GitLab URL and the env's name.
ERB = {
    "<%= @gitlab_url %>": "gitlab_host",
    "<%= node.chef_environment %>": "env",
    "<%= @aws_account_id %>": "account",
    "<%= @aws_region %>": "region",
}


def render_template(text: str, values: dict[str, str]) -> str:
    """The template as chef renders it: the ERB expressions the allowlist templates use, then {name} ones."""
    for expression, key in ERB.items():
        text = text.replace(expression, values[key])
    leftover = re.search(r"<%.*?%>", text)
    if leftover:
        raise CouldNotEvaluate(f"the allowlist template uses {leftover.group(0)!r}, which the suite does not render")
    return fill(text, values)


@pytest.mark.catches("F6", "F6-shadow", "F6-drift", "F6-instance", "F7")
@pytest.mark.blinded_by("F16", "F16-group")
def test_proxy_allowlist_matches_the_rendered_template(
    allowlist_template: Path | None, allowlist_copies: list[AllowlistCopy], template_values: dict[str, str]
) -> None:
    """Every proxy instance holds the allowlist the template renders.

    Why: a hand-edited allowlist on one instance makes behaviour depend on which proxy a connection meets.
    Fails on: drift from the template (`ALLOWLIST_TEMPLATE`, the `.erb` as chef renders it), with the diff, on
    every proxy instance (one hand-edited instance of two is named: F6-instance); skipped with the reason when
    no template is given.
    Fix: redeploy the proxy (recycle its group) so chef renders the template again.
    """
    problems = []
    if len(allowlist_copies) > 1:
        # The pool's instances disagree: whatever the template says, some of them drifted.
        counts = ", ".join(f"{c.where} ({len(c.raw)} bytes)" for c in allowlist_copies)
        problems.append(
            Problem(
                "the env runner proxy pool's allowlists",
                "one allowlist on every proxy instance",
                f"{len(allowlist_copies)} different files: {counts}",
                "recycle the drifted instance(s), or redeploy the proxy pool so every instance renders the template",
            )
        )
    if allowlist_template is None:
        if problems:
            check(problems)
        pytest.skip("no ALLOWLIST_TEMPLATE given: set it to the infrastructure repo's allowlist template")
    try:
        expected = render_template(allowlist_template.read_text(encoding="utf-8"), template_values)
    except OSError as exc:
        pytest.fail(f"ALLOWLIST_TEMPLATE {allowlist_template}: {exc.strerror}", pytrace=False)
    for copy in allowlist_copies:
        found = copy.raw.decode("utf-8", errors="replace")
        if found.rstrip() + "\n" == expected.rstrip() + "\n":
            continue
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                found.splitlines(keepends=True),
                fromfile=f"{allowlist_template} (rendered)",
                tofile=copy.where,
            )
        )
        problems.append(
            Problem(
                copy.where,
                f"{allowlist_template} rendered for this env",
                "a different file:\n" + diff,
                "redeploy the outbound proxy so the file matches the template (or commit the change to the template)",
            )
        )
    check(problems)


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
            f"a 403 means the name is not in {policy.section('proxy')['allowlist_path']}; a 503 means the proxy "
            "cannot reach "
            "it (DNS, VPC endpoint, network)",
        )
    )


@pytest.mark.catches("F8")
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
            f"the proxy lets this name through: find what allows it ({policy.section('proxy')['allowlist_path']} or an "
            "http_access rule in squid.conf) and remove it",
        )
    )


@pytest.mark.catches("F8-direct")
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
