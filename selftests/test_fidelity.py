"""The sandbox against the real environment's shapes, so the replica cannot drift back to our own assumptions.

The tables below are ../shared/design/environment.md's (sections "The env
runner", "VPC endpoints", "Terraform", the allowlist beside it), written as
data: the sandbox's moto state, read as the suite reads AWS, must have exactly
these shapes. docs/fidelity.md gives each value's source in the public code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from envtest_double import env_facts, proxy_lists
from envtest_double.running import Sandbox

pytestmark = pytest.mark.sandbox
SHARED_ALLOWLIST = Path(__file__).resolve().parents[2] / "shared" / "design" / "env-runner-allowlist.txt"

# environment.md, "The env runner": the runner group's egress, kind by kind (port, destination, description).
RUNNER_EGRESS = {
    (22, "cidr", "GitHub", ""),
    (443, "cidr", "GitHub", ""),
    (3128, "cidr", "the NLB's /32s", ""),
    (8834, "cidr", "44.230.151.136/32", ""),
    (22, "cidr", "172.16.35.192/27", "Allow connection from NLB"),
    (443, "cidr", "172.16.35.192/27", "Allow connection from NLB"),
    (443, "group", "endpoint groups", "Allow connection to vpc endpoints"),
}
# `<env>-base`: egress 3128 to the IdP's proxy group, ICMP to the secondary CIDR, 443 to the S3 prefix list and to
# the snap store.
BASE_EGRESS = {
    ("tcp", 3128, "group", "login-obproxy-sandbox"),
    ("icmp", -1, "cidr", "100.106.0.0/16"),
    ("tcp", 443, "prefix-list", "com.amazonaws.us-west-2.s3"),
    ("tcp", 443, "cidr", "91.189.92.0/24"),
}
# "VPC endpoints": the required five, each with its own group admitting 443 from <env>-base and the app subnets.
REQUIRED_ENDPOINTS = {"kms", "logs", "ssm", "ssmmessages", "ec2messages"}
# "Terraform": the complete list of root outputs.
TF_OUTPUTS = {
    "env_name",
    "region",
    "idp_dashboard_arn",
    "idp_alb",
    "idp_cloudfront",
    "elasticache",
    "idp_aurora_uw2",
    "dashboard_aurora_uw2",
    "worker_aurora_uw2",
}


def _groups(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    found = sandbox.client("ec2").describe_security_groups()["SecurityGroups"]
    return {g["GroupId"]: g for g in found}


def _name_tag(group: dict[str, Any]) -> str:
    return next((t["Value"] for t in group.get("Tags", []) if t["Key"] == "Name"), "")


def test_the_runner_groups_have_the_real_egress(sandbox: Sandbox) -> None:
    groups = _groups(sandbox)
    runner = next(g for g in groups.values() if _name_tag(g) == "login-gitlab_runner_security_group-sandbox")
    assert runner["GroupName"].startswith("login-gitlabrunner-sandbox")  # a name_prefix, with terraform's suffix
    assert runner["GroupName"] != "login-gitlabrunner-sandbox"
    nlb = {f"{ip}/32" for ip in sandbox.state["network"]["nlb"]["ips"]}
    endpoint_groups = {g for g, v in groups.items() if v["GroupName"].endswith("-endpoint-sandbox")}
    kinds = set()
    for permission in runner["IpPermissionsEgress"]:
        port = permission["FromPort"]
        for item in permission.get("IpRanges", []):
            cidr = item["CidrIp"]
            what = "GitHub" if cidr in env_facts.GITHUB_CIDRS else "the NLB's /32s" if cidr in nlb else cidr
            kinds.add((port, "cidr", what, item.get("Description", "")))
        for item in permission.get("UserIdGroupPairs", []):
            assert item["GroupId"] in endpoint_groups
            kinds.add((port, "group", "endpoint groups", item.get("Description", "")))
    assert kinds == RUNNER_EGRESS
    argo = [g for g in groups.values() if _name_tag(g) == "login-gitlab_runner_security_group2-sandbox"]
    assert len(argo) == 1 and argo[0]["GroupName"].startswith("login-gitlabrunner2-sandbox")
    descriptions = {r.get("Description") for p in argo[0]["IpPermissionsEgress"] for r in p["IpRanges"]}
    assert descriptions == {"Allow connection to ec2 (argocd)"}


def test_the_base_group_has_its_four_rules(sandbox: Sandbox) -> None:
    groups = _groups(sandbox)
    base = next(g for g in groups.values() if g["GroupName"] == "sandbox-base")
    lists = {
        p["PrefixListId"]: p["PrefixListName"] for p in sandbox.client("ec2").describe_prefix_lists()["PrefixLists"]
    }
    found = set()
    for permission in base["IpPermissionsEgress"]:
        protocol, port = permission["IpProtocol"], permission.get("FromPort")
        found |= {(protocol, port, "cidr", r["CidrIp"]) for r in permission.get("IpRanges", [])}
        found |= {
            (protocol, port, "prefix-list", lists[r["PrefixListId"]]) for r in permission.get("PrefixListIds", [])
        }
        found |= {(protocol, port, "group", groups[r["GroupId"]]["GroupName"]) for r in permission["UserIdGroupPairs"]}
    assert found == BASE_EGRESS


def test_the_proxies_are_two_pools_told_apart_by_proxy_for(sandbox: Sandbox) -> None:
    autoscaling, ec2 = sandbox.client("autoscaling"), sandbox.client("ec2")
    names = [g["AutoScalingGroupName"] for g in autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]]
    pool = [n for n in names if n.startswith("sandbox-env-runner-obproxy")]
    assert len(pool) == 1 and pool[0] != "sandbox-env-runner-obproxy" and "sandbox-outboundproxy" in names
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=pool)["AutoScalingGroups"][0]
    assert group["TargetGroupARNs"] and group["HealthCheckType"] == "ELB"
    instance = ec2.describe_instances(InstanceIds=[group["Instances"][0]["InstanceId"]])["Reservations"][0]
    assert {"Key": "proxy_for", "Value": "env-runner"} in instance["Instances"][0]["Tags"]
    proxy_groups = [g for g in _groups(sandbox).values() if _name_tag(g) == "login-obproxy-sandbox"]
    assert sorted(g["GroupName"] == "login-obproxy-sandbox" for g in proxy_groups) == [False, True]


def test_the_required_endpoints_each_have_their_group(sandbox: Sandbox) -> None:
    ec2 = sandbox.client("ec2")
    groups = _groups(sandbox)
    base = next(g for g, v in groups.items() if v["GroupName"] == "sandbox-base")
    endpoints = ec2.describe_vpc_endpoints()["VpcEndpoints"]
    interface = {e["ServiceName"].rsplit(".", 1)[-1]: e for e in endpoints if e["VpcEndpointType"] == "Interface"}
    assert set(interface) == REQUIRED_ENDPOINTS
    subnets = {cidr for cidr, _ in env_facts.APP_SUBNETS}
    for service, endpoint in interface.items():
        assert endpoint["PrivateDnsEnabled"]
        (group,) = [groups[g["GroupId"]] for g in endpoint["Groups"]]
        assert group["GroupName"] == f"login-{service}-endpoint-sandbox"
        sources = {p.get("GroupId") for perm in group["IpPermissions"] for p in perm["UserIdGroupPairs"]}
        cidrs = {r["CidrIp"] for perm in group["IpPermissions"] for r in perm["IpRanges"]}
        assert sources == {base} and cidrs == subnets
    gateways = [e for e in endpoints if e["VpcEndpointType"] == "Gateway"]
    assert [e["ServiceName"] for e in gateways] == ["com.amazonaws.us-west-2.s3"]


def test_the_terraform_state_has_exactly_the_real_outputs(sandbox: Sandbox) -> None:
    import json

    body = sandbox.client("s3").get_object(Bucket=sandbox.world.bucket("tfstate"), Key=sandbox.world.tf_state_key)
    assert set(json.loads(body["Body"].read())["outputs"]) == TF_OUTPUTS


def test_the_allowlist_is_the_env_runner_template_entry_by_entry(sandbox: Sandbox) -> None:
    deployed = sandbox.host_path("env-runner-proxy", proxy_lists.ALLOWLIST_PATH).read_text()
    shipped = (Path(proxy_lists.__file__).parent / "env-runner-allowlist.txt").read_text()
    if SHARED_ALLOWLIST.is_file():  # the design's copy, where this checkout sits beside it
        assert shipped == SHARED_ALLOWLIST.read_text()

    def entries(text: str) -> list[str]:
        return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]

    rendered = shipped.replace("{gitlab_url}", env_facts.GITLAB_HOST).replace("{env}", "sandbox")
    assert entries(deployed) == entries(rendered)
    assert "github.com" in entries(deployed) and ".cloudfront.net" in entries(deployed)


def test_config_toml_lists_every_token_of_the_file_as_the_era_1_recipe_writes_it(sandbox: Sandbox) -> None:
    import tomllib

    config = tomllib.loads(sandbox.host_path("env-runner", "/etc/gitlab-runner/config.toml").read_text())
    body = (
        sandbox.client("s3")
        .get_object(Bucket=sandbox.world.bucket("secrets"), Key="common/gitlab_env_runner_allowed_images")["Body"]
        .read()
        .decode()
    )
    allowed = config["runners"][0]["docker"]["allowed_images"]
    assert allowed == body.split() and "XXXXXdate_separatorXXXXX" in allowed
    assert config["runners"][0]["docker"]["image"] == allowed[0]
