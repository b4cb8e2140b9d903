"""The runner's paths to proxies (envtest/policy/proxy_paths.py): both sides of a security group path, and what a
reachable proxy lets through beyond the runner's own allowlist."""

from __future__ import annotations

import pytest

from envtest.gather.services.ec2 import SecurityGroup
from envtest.parsers.squid_allowlist import parse
from envtest.policy.egress import Rule
from envtest.policy.proxy_paths import ProxyPool, beyond, fingerprint, reachable, rule_reaches

IDP = ProxyPool("outboundproxy", "env-outboundproxy", ("i-1",), ("10.0.1.5",), ("sg-idp", "sg-base"))
OWN = ProxyPool("env-runner-proxy", "env-runner-obproxy", ("i-2",), ("10.0.1.6",), ("sg-own",), lb_ips=("10.0.1.200",))


def rule(kind: str, destination: str, port: int = 3128, protocol: str = "tcp") -> Rule:
    return Rule("sg-base", "env-base", protocol, port, port, kind, destination)


def admitting(group_id: str, **source: object) -> SecurityGroup:
    permission = {"IpProtocol": "tcp", "FromPort": 3128, "ToPort": 3128, **source}
    return SecurityGroup.from_api({"GroupId": group_id, "IpPermissions": [permission]})


VPC_ADMITS = {"sg-idp": admitting("sg-idp", IpRanges=[{"CidrIp": "10.0.0.0/16"}])}


def test_a_group_rule_reaches_the_pool_whose_instances_carry_the_group() -> None:
    assert rule_reaches(rule("group", "sg-idp"), IDP, 3128)
    assert not rule_reaches(rule("group", "sg-idp"), OWN, 3128)


def test_an_address_rule_reaches_a_pool_by_its_instances_or_its_load_balancer() -> None:
    assert rule_reaches(rule("cidr", "10.0.1.0/24"), IDP, 3128)
    assert rule_reaches(rule("cidr", "10.0.1.200/32"), OWN, 3128)
    assert not rule_reaches(rule("cidr", "10.0.2.0/24"), IDP, 3128)


def test_a_rule_on_another_port_or_protocol_reaches_nothing() -> None:
    assert not rule_reaches(rule("group", "sg-idp", port=443), IDP, 3128)
    assert not rule_reaches(rule("group", "sg-idp", protocol="udp"), IDP, 3128)
    everything = Rule("sg-base", "env-base", "all", None, None, "group", "sg-idp")
    assert rule_reaches(everything, IDP, 3128)


def test_a_path_needs_the_proxys_ingress_too() -> None:
    rules = [rule("group", "sg-idp")]
    kwargs = {"runner_groups": {"sg-base", "sg-runner"}, "runner_ips": ["10.0.3.9"]}
    assert [p.pool.role for p in reachable(rules, [IDP, OWN], 3128, groups=VPC_ADMITS, **kwargs)] == ["outboundproxy"]
    closed = {"sg-idp": admitting("sg-idp", IpRanges=[{"CidrIp": "10.9.0.0/16"}])}
    assert reachable(rules, [IDP], 3128, groups=closed, **kwargs) == []
    by_group = {"sg-idp": admitting("sg-idp", UserIdGroupPairs=[{"GroupId": "sg-runner"}])}
    assert len(reachable(rules, [IDP], 3128, groups=by_group, **kwargs)) == 1


OWN_LIST = parse("github.com\n.amazonaws.com\nregistry.example.gov\n")


@pytest.mark.parametrize(
    ("entry", "is_beyond"),
    [
        ("github.com", False),  # the same name
        ("s3.amazonaws.com", False),  # inside the runner's wildcard
        (".amazonaws.com", False),  # the same wildcard
        (".s3.amazonaws.com", False),  # a wildcard under the runner's wildcard
        ("pypi.org", True),  # a name the runner's list lacks
        (".github.com", True),  # a wildcard: the runner allows github.com exactly, none of its subdomains
        ("api.github.com", True),
    ],
)
def test_a_name_is_beyond_unless_the_runners_own_list_lets_all_of_it_through(entry: str, is_beyond: bool) -> None:
    assert (beyond(parse(f"{entry}\n"), [OWN_LIST]) == [entry]) is is_beyond


def test_any_copy_of_the_runners_list_covers_a_name() -> None:
    drifted = parse("pypi.org\n")
    assert beyond(parse("pypi.org\nexample.com\n"), [OWN_LIST, drifted]) == ["example.com"]


def test_the_fingerprint_changes_with_any_name_and_not_with_order() -> None:
    assert fingerprint(["a.example", "b.example"]) == fingerprint(["b.example", "a.example"])
    assert fingerprint(["a.example"]) != fingerprint(["a.example", "c.example"])
