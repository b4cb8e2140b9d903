"""The runner's network lockdown: egress only where declared, AWS through VPC endpoints,
everything else through a proxy that allows a short list of names and refuses the rest."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import pytest

from envtest.checks import Problem, check
from envtest.fixtures.network import RunnerNetwork
from envtest.gather import squid_parse
from envtest.gather.network import Probe
from envtest.parsers.squid_allowlist import Allowlist, is_ip_literal
from envtest.policy import Policy, fill
from envtest.policy.egress import Declared, Rule, evaluate
from envtest.settings import Settings

EGRESS_FIX = "remove the rule from the group in terraform (gitlab_runner_pool module), or declare it with its reason"
ALLOWLIST_FILE = "/etc/squid/domain-allowlist.conf"


def _attached(rule: str, network: RunnerNetwork) -> str:
    group_id = rule.split("(", 1)[-1].split(")", 1)[0]
    return "; attached by " + ", ".join(network.groups.get(group_id, ["?"]))


def test_runner_egress_holds_only_declared_rules(
    runner_egress: list[Rule], declared_egress: list[Declared], runner_network: RunnerNetwork
) -> None:
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


def test_every_required_runner_egress_rule_is_present(
    runner_egress: list[Rule], declared_egress: list[Declared], runner_network: RunnerNetwork
) -> None:
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


def _service(endpoint: dict[str, Any], region: str) -> str:
    return endpoint["ServiceName"].removeprefix(f"com.amazonaws.{region}.")


def _endpoints_by_service(endpoints: list[dict[str, Any]], region: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(_service(e, region), e["VpcEndpointType"]): e for e in endpoints}


def _required(policy: Policy) -> list[tuple[str, str]]:
    endpoints = policy.section("endpoints")
    return [(s, "Interface") for s in endpoints.get("interface", [])] + [
        (s, "Gateway") for s in endpoints.get("gateway", [])
    ]


def test_required_vpc_endpoints_exist_and_are_available(
    vpc_endpoints: list[dict[str, Any]], policy: Policy, runner_network: RunnerNetwork, settings: Settings
) -> None:
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
        elif endpoint.get("State", "").lower() != "available":
            problems.append(
                Problem(
                    f"{resource} ({endpoint['VpcEndpointId']})",
                    "state available",
                    f"state {endpoint.get('State')}",
                    "check the endpoint in the VPC console",
                )
            )
    check(problems)


def _interface_endpoints(vpc_endpoints: list[dict[str, Any]], policy: Policy, region: str) -> list[dict[str, Any]]:
    wanted = set(policy.section("endpoints").get("interface", []))
    endpoints = [e for e in vpc_endpoints if e["VpcEndpointType"] == "Interface" and _service(e, region) in wanted]
    if not endpoints:
        pytest.fail("no required interface endpoint exists (see the endpoints-exist check)", pytrace=False)
    return endpoints


def test_interface_endpoints_have_private_dns_on(
    vpc_endpoints: list[dict[str, Any]], policy: Policy, settings: Settings
) -> None:
    check(
        [
            Problem(
                f"{e['ServiceName']} endpoint {e['VpcEndpointId']}",
                "PrivateDnsEnabled true",
                "false",
                "turn private DNS on: without it the service's public name does not resolve to the endpoint, "
                "and the runner's calls go to the proxy, which refuses them",
            )
            for e in _interface_endpoints(vpc_endpoints, policy, settings.region)
            if not e.get("PrivateDnsEnabled")
        ]
    )


def test_interface_endpoints_cover_the_runner_azs(
    vpc_endpoints: list[dict[str, Any]],
    policy: Policy,
    settings: Settings,
    runner_network: RunnerNetwork,
    inventory: Any,
) -> None:
    problems = []
    for endpoint in _interface_endpoints(vpc_endpoints, policy, settings.region):
        subnets = endpoint.get("SubnetIds", [])
        azs = {s["AvailabilityZone"] for s in inventory.subnets(subnets)} if subnets else set()
        uncovered = sorted(set(runner_network.azs) - azs)
        if uncovered:
            problems.append(
                Problem(
                    f"{endpoint['ServiceName']} endpoint {endpoint['VpcEndpointId']}",
                    f"a subnet in each runner AZ {list(runner_network.azs)}",
                    f"subnets in {sorted(azs)}; none in {uncovered}",
                    "add a subnet in those AZs to the endpoint",
                )
            )
    check(problems)


def _admits_https_from(group: dict[str, Any], sources: set[str]) -> bool:
    for permission in group.get("IpPermissions", []):
        protocol = str(permission.get("IpProtocol"))
        covers_443 = protocol == "-1" or (
            protocol in {"tcp", "6"} and permission.get("FromPort", 0) <= 443 <= permission.get("ToPort", -1)
        )
        if covers_443 and any(pair.get("GroupId") in sources for pair in permission.get("UserIdGroupPairs", [])):
            return True
    return False


def test_interface_endpoints_admit_https_from_the_runner(
    vpc_endpoints: list[dict[str, Any]],
    policy: Policy,
    settings: Settings,
    runner_network: RunnerNetwork,
    vpc_security_groups: dict[str, dict[str, Any]],
) -> None:
    runner_groups = set(runner_network.groups)
    problems = []
    for endpoint in _interface_endpoints(vpc_endpoints, policy, settings.region):
        groups = [g["GroupId"] for g in endpoint.get("Groups", [])]
        if not any(_admits_https_from(vpc_security_groups.get(g, {}), runner_groups) for g in groups):
            problems.append(
                Problem(
                    f"{endpoint['ServiceName']} endpoint {endpoint['VpcEndpointId']} groups {groups}",
                    f"ingress tcp 443 from one of the runner's groups {sorted(runner_groups)}",
                    "no such ingress rule",
                    "allow 443 from the runner's (or the base) group on the endpoint's group",
                )
            )
    check(problems)


def test_s3_gateway_endpoint_is_in_the_runner_route_tables(
    vpc_endpoints: list[dict[str, Any]], runner_route_tables: dict[str, str], settings: Settings
) -> None:
    gateways = [e for e in vpc_endpoints if e["VpcEndpointType"] == "Gateway" and _service(e, settings.region) == "s3"]
    routed = {t for e in gateways for t in e.get("RouteTableIds", [])}
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


def test_proxy_allowlist_holds_every_must_allow_name(
    deployed_allowlist: Allowlist, must_allow_names: list[str], allowlist_source: tuple[str, bytes]
) -> None:
    check(
        [
            Problem(
                allowlist_source[0],
                f"an entry that lets {name} through",
                "no entry matches it",
                f"add {name} to the allowlist template and redeploy the outbound proxy",
            )
            for name in must_allow_names
            if deployed_allowlist.allows(name) is None
        ]
    )


def test_proxy_allowlist_holds_no_forbidden_entry(
    deployed_allowlist: Allowlist, policy: Policy, must_deny_names: list[str], allowlist_source: tuple[str, bytes]
) -> None:
    proxy = policy.section("proxy")
    forbidden = {w.lower() for w in proxy["forbidden_wildcards"]}
    problems = []
    for entry in deployed_allowlist.entries:
        where = f"{allowlist_source[0]} line {entry.line}: '{entry.text}'"
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
                    where,
                    "specific service names only",
                    "; ".join(reasons),
                    "replace it with the exact names the runner needs, in the allowlist template",
                )
            )
    check(problems)


def test_proxy_allowlist_has_no_entry_squid_rejects_or_ignores(
    deployed_allowlist: Allowlist, allowlist_source: tuple[str, bytes]
) -> None:
    where, raw = allowlist_source
    problems = [
        Problem(
            f"{where} line {p.line}",
            "an entry squid loads as written",
            f"{p.severity}: {p.message}",
            "edit the allowlist template and redeploy",
        )
        for p in deployed_allowlist.problems
    ]
    verdict = squid_parse.judge(raw)
    if verdict is not None and (verdict.fatal or verdict.messages):
        problems.append(
            Problem(
                f"{where}, judged by {verdict.binary} -k parse",
                "squid parses it with no error or warning",
                f"exit {verdict.exit_code}: " + " | ".join(verdict.messages[:6]),
                "fix the entries squid names",
            )
        )
    check(problems)


def test_proxy_allowlist_matches_the_rendered_template(
    allowlist_template: Path | None, allowlist_source: tuple[str, bytes], template_values: dict[str, str]
) -> None:
    if allowlist_template is None:
        pytest.skip("no ALLOWLIST_TEMPLATE given: set it to the infrastructure repo's allowlist template")
    try:
        expected = fill(allowlist_template.read_text(encoding="utf-8"), template_values)
    except OSError as exc:
        pytest.fail(f"ALLOWLIST_TEMPLATE {allowlist_template}: {exc.strerror}", pytrace=False)
    where, raw = allowlist_source
    found = raw.decode("utf-8", errors="replace")
    if found.rstrip() + "\n" != expected.rstrip() + "\n":
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                found.splitlines(keepends=True),
                fromfile=f"{allowlist_template} (rendered)",
                tofile=where,
            )
        )
        check(
            [
                Problem(
                    where,
                    f"{allowlist_template} rendered for this env",
                    "a different file:\n" + diff,
                    "redeploy the outbound proxy so the file matches the template (or commit the change "
                    "to the template)",
                )
            ]
        )


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


def test_proxy_lets_every_must_allow_name_through(allow_probes: dict[str, Probe]) -> None:
    check(
        _probe_problems(
            allow_probes,
            "through",
            f"a 403 means the name is not in {ALLOWLIST_FILE}; a 503 means the proxy cannot reach "
            "it (DNS, VPC endpoint, network)",
        )
    )


def test_proxy_refuses_every_must_deny_name(deny_probes: dict[str, Probe]) -> None:
    check(
        _probe_problems(
            deny_probes,
            "denied",
            f"the proxy lets this name through: find what allows it ({ALLOWLIST_FILE} or an "
            "http_access rule in squid.conf) and remove it",
        )
    )


def test_direct_connections_without_the_proxy_do_not_open(direct_probes: dict[str, Probe]) -> None:
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
