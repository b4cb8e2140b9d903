"""AWS through VPC endpoints: the env's endpoints exist, resolve privately, cover the runner's AZs, admit it,
and the S3 gateway is in its routes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from envtest.errors import CouldNotEvaluate
from envtest.fixtures.runner_network import RunnerNetwork
from envtest.policy import Policy
from envtest.problems import Problem, check
from envtest.settings import Settings

if TYPE_CHECKING:
    from envtest.gather.services.ec2 import SecurityGroup, VpcEndpoint


def _endpoints_by_service(endpoints: list[VpcEndpoint], region: str) -> dict[tuple[str, str], VpcEndpoint]:
    """One endpoint per service and kind: an available one where there are several (a replacement pending)."""
    return {(e.service(region), e.endpoint_type): e for e in sorted(endpoints, key=lambda e: e.available)}


def _interface_services(policy: Policy) -> list[str]:
    """The interface endpoints the env must have: policy [endpoints] set ("required" or "all") names the list."""
    endpoints = policy.endpoints
    lists = {"required": endpoints.required, "all": endpoints.all}
    if endpoints.set not in lists:
        raise CouldNotEvaluate(f"policy [endpoints] set = {endpoints.set!r}: one of {', '.join(lists)}")
    return list(lists[endpoints.set])


def _required(policy: Policy) -> list[tuple[str, str]]:
    return [(s, "Interface") for s in _interface_services(policy)] + [(s, "Gateway") for s in policy.endpoints.gateway]


@pytest.mark.catches("F4: the kms interface endpoint missing")
@pytest.mark.blinded_by("F16", "F16-group")
def test_required_vpc_endpoints_exist_and_are_available(
    vpc_endpoints: list[VpcEndpoint],
    left_out_vpc_endpoints: list[VpcEndpoint],
    policy: Policy,
    runner_network: RunnerNetwork,
    settings: Settings,
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
            gone = [
                f"{e.endpoint_id} ({e.state})" for e in left_out_vpc_endpoints if e.service(settings.region) == service
            ]
            problems.append(
                Problem(
                    resource,
                    "the endpoint exists",
                    f"none live; EC2 still lists {', '.join(gone)}" if gone else "none",
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


@pytest.mark.catches("F5: the ssm interface endpoint with private DNS off")
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


@pytest.mark.catches("F5-az: the logs interface endpoint in one AZ only")
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


@pytest.mark.catches("F5-sg: the kms endpoint's group admits no 443 from the runner")
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


@pytest.mark.catches("F5-s3: the S3 gateway endpoint in no runner route table")
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
