"""Faults in the runner's network: egress, VPC endpoints, the proxy's allowlist and behaviour."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from envtest_double import env_facts, proxy_lists
from envtest_double.running import IDP_PROXY_ROLE, IDP_SQUID, PROXY_ROLE, Sandbox


def gitlab_host_not_allowlisted(sandbox: Sandbox) -> None:
    path = sandbox.host_path(PROXY_ROLE, proxy_lists.ALLOWLIST_PATH)
    lines = [line for line in path.read_text().splitlines() if line.strip() != env_facts.GITLAB_HOST]
    path.write_text("\n".join(lines) + "\n")
    sandbox.reload_squid()


def _runner_group(sandbox: Sandbox) -> str:
    return str(sandbox.state["network"]["groups"]["runner"])


def _endpoint(sandbox: Sandbox, service: str) -> dict[str, Any]:
    endpoints = sandbox.client("ec2").describe_vpc_endpoints(
        Filters=[{"Name": "service-name", "Values": [f"com.amazonaws.{env_facts.REGION}.{service}"]}]
    )["VpcEndpoints"]
    # The live one: the seed keeps a replaced copy of one endpoint, deleted, as EC2 lists it (seed/network.py).
    return next(e for e in endpoints if e["State"].lower() != "deleted")


def egress_all_to_internet(sandbox: Sandbox) -> None:
    sandbox.client("ec2").authorize_security_group_egress(
        GroupId=_runner_group(sandbox), IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )


def egress_ssh_to_an_unlisted_address(sandbox: Sandbox) -> None:
    # Beside GitHub's rules in the runner's own group, on their port and without a description, as terraform would
    # write it had GitHub's git list held it: 20.201.28.200 is in no snapshot of that list.
    sandbox.client("ec2").authorize_security_group_egress(
        GroupId=_runner_group(sandbox),
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "20.201.28.200/32"}]}
        ],
    )


def argo_rule_to_a_non_ec2_address(sandbox: Sandbox) -> None:
    # One more rule in an argo group, on its port and with the description terraform writes there, as net.tf would
    # write it had AWS's EC2 list held the address: 20.201.28.200 (GitHub's, not AWS's) is in no EC2 range.
    sandbox.client("ec2").authorize_security_group_egress(
        # The last group: the first holds its 120, the quota (moto_server.py), and AWS would refuse a 121st.
        GroupId=str(sandbox.state["network"]["groups"]["argo"][-1]),
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [{"CidrIp": "20.201.28.200/32", "Description": "Allow connection to ec2 (argocd)"}],
            }
        ],
    )


def egress_https_to_internet(sandbox: Sandbox) -> None:
    sandbox.client("ec2").authorize_security_group_egress(
        GroupId=_runner_group(sandbox),
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )


def _permission(sandbox: Sandbox, group_id: str, key: str, port: int) -> dict[str, Any]:
    """A permission exactly as AWS shows it (moto revokes only an exact match)."""
    group = sandbox.client("ec2").describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    return next(p for p in group[key] if p.get("FromPort") == port)


def proxy_rule_widened(sandbox: Sandbox) -> None:
    ec2 = sandbox.client("ec2")
    runner = _runner_group(sandbox)
    rule = _permission(sandbox, runner, "IpPermissionsEgress", 3128)
    ec2.revoke_security_group_egress(GroupId=runner, IpPermissions=[rule])
    ec2.authorize_security_group_egress(GroupId=runner, IpPermissions=[{**rule, "ToPort": 3200}])


def endpoint_missing(sandbox: Sandbox) -> None:
    sandbox.client("ec2").delete_vpc_endpoints(VpcEndpointIds=[_endpoint(sandbox, "kms")["VpcEndpointId"]])


def endpoint_private_dns_off(sandbox: Sandbox) -> None:
    # moto's ModifyVpcEndpoint ignores PrivateDnsEnabled: recreate the endpoint with it off.
    ec2 = sandbox.client("ec2")
    endpoint = _endpoint(sandbox, "ssm")
    ec2.delete_vpc_endpoints(VpcEndpointIds=[endpoint["VpcEndpointId"]])
    ec2.create_vpc_endpoint(
        VpcId=endpoint["VpcId"],
        ServiceName=endpoint["ServiceName"],
        VpcEndpointType="Interface",
        SubnetIds=endpoint["SubnetIds"],
        SecurityGroupIds=[g["GroupId"] for g in endpoint["Groups"]],
        PrivateDnsEnabled=False,
    )


def endpoint_one_az_only(sandbox: Sandbox) -> None:
    endpoint = _endpoint(sandbox, "logs")
    sandbox.client("ec2").modify_vpc_endpoint(
        VpcEndpointId=endpoint["VpcEndpointId"], RemoveSubnetIds=endpoint["SubnetIds"][1:]
    )


def endpoint_group_closed(sandbox: Sandbox) -> None:
    """The kms endpoint's group loses both ways in: from the base group and from the app subnets."""
    group = sandbox.state["network"]["groups"]["endpoints"]["kms"]
    ec2 = sandbox.client("ec2")
    found = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["IpPermissions"]
    ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=[p for p in found if p.get("FromPort") == 443])


def s3_gateway_unrouted(sandbox: Sandbox) -> None:
    endpoint = _endpoint(sandbox, "s3")
    sandbox.client("ec2").modify_vpc_endpoint(
        VpcEndpointId=endpoint["VpcEndpointId"], RemoveRouteTableIds=endpoint["RouteTableIds"]
    )


def _edit_allowlist(sandbox: Sandbox, edit: Callable[[list[str]], list[str]]) -> None:
    path = sandbox.host_path(PROXY_ROLE, proxy_lists.ALLOWLIST_PATH)
    path.write_text("\n".join(edit(path.read_text().splitlines())) + "\n")
    sandbox.reload_squid()


def allowlist_provider_wildcard(sandbox: Sandbox) -> None:
    # At the top, so squid ignores the entries inside it (a warning) instead of refusing to start.
    _edit_allowlist(sandbox, lambda lines: [".amazonaws.com", *lines])


def allowlist_shadowed_entries(sandbox: Sandbox) -> None:
    _edit_allowlist(sandbox, lambda lines: [".newrelic.com", *lines])


def allowlist_drifted(sandbox: Sandbox) -> None:
    _edit_allowlist(sandbox, lambda lines: [*lines, "# hand edit on the proxy host"])


def proxy_lets_a_denied_name_through(sandbox: Sandbox) -> None:
    """An http_access rule in squid.conf, not the allowlist file: only the live probe can see it."""
    conf = sandbox.squid_conf.read_text()
    extra = "acl hand_added dstdomain example.com\nhttp_access allow localnet hand_added\n"
    sandbox.squid_conf.write_text(conf.replace("http_access deny all", extra + "http_access deny all", 1))
    sandbox.reload_squid()


def idp_proxy_allowlist_gains_a_name(sandbox: Sandbox) -> None:
    """One more name on the IdP's proxy, which the runner reaches through <env>-base: the set the sandbox's waiver
    accepts changes, so the waiver no longer covers it."""
    path = sandbox.host_path(IDP_PROXY_ROLE, proxy_lists.ALLOWLIST_PATH)
    path.write_text(path.read_text() + "ghcr.io\n")  # in neither allowlist at any revision
    sandbox.reload_squid(name=IDP_SQUID)


def idp_proxy_lets_a_denied_name_through(sandbox: Sandbox) -> None:
    """An http_access rule in the IdP proxy's squid.conf: its allowlist is unchanged, only a live probe sees it."""
    conf = sandbox.directory / IDP_SQUID / "squid.conf"
    extra = "acl hand_added dstdomain example.com\nhttp_access allow localnet hand_added\n"
    conf.write_text(conf.read_text().replace("http_access deny all", extra + "http_access deny all", 1))
    sandbox.reload_squid(name=IDP_SQUID)


def direct_path_open(sandbox: Sandbox) -> None:
    host, port = sandbox.state["direct_probe"]
    sandbox.listen(str(host), int(port))


def proxy_instance_drifted(sandbox: Sandbox) -> None:
    """The env runner's proxy pool scales to two; one of them carries a hand-edited allowlist."""
    pool = sandbox.state["runner_proxy_asg"]
    sandbox.client("autoscaling").update_auto_scaling_group(AutoScalingGroupName=pool, DesiredCapacity=2)
    sandbox.wait_for_instances()
    group = sandbox.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[pool])
    newest = sorted(set(i["InstanceId"] for i in group["AutoScalingGroups"][0]["Instances"]))[-1]
    drifted = sandbox.host_path(f"@{newest}", proxy_lists.ALLOWLIST_PATH)
    drifted.parent.mkdir(parents=True, exist_ok=True)
    drifted.write_text(sandbox.world.allowlist + "pastebin.com\n")


def proxy_ip_allowlist_gains_an_address(sandbox: Sandbox) -> None:
    """A hand-added address in the env runner's proxy's ip-allowlist.conf (squid lets it through whatever the
    name); not one the sandbox's names resolve to, so only the list itself shows it."""
    path = sandbox.host_path(PROXY_ROLE, proxy_lists.IP_ALLOWLIST_PATH)
    path.write_text(path.read_text() + "93.184.216.34\n")
    sandbox.reload_squid()


def idp_proxy_denylist_loses_a_name(sandbox: Sandbox) -> None:
    """The IdP's proxy (whose allowlist holds .newrelic.com) no longer denies New Relic's collector."""
    path = sandbox.host_path("outboundproxy", proxy_lists.DENYLIST_PATH)
    path.write_text("".join(f"{line}\n" for line in path.read_text().splitlines() if line != "collector.newrelic.com"))
