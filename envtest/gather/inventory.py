"""AWS state, read once per run and shared (see cache.py).

Each method answers one question a check asks, in the terms of the check
("the env-runner group", "facts about the token object"), and turns AWS
failures into CouldNotEvaluate with a cause. Checks never call boto3.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import botocore.exceptions

from envtest.errors import CouldNotEvaluate
from envtest.gather.aws import Aws, AwsError, describe_aws_error, not_an_aws_answer
from envtest.gather.cache import cached
from envtest.redact import register

T = TypeVar("T")


def _code(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


NOT_FOUND = frozenset({"404", "NotFound", "NoSuchKey", "NoSuchBucket", "RepositoryNotFoundException"})
ABSENT: Any = object()  # what `_call` returns when AWS says the thing is not there


def _call(what: str, fn: Callable[[], T], absent: frozenset[str] = frozenset()) -> T:
    """Run one AWS read: ABSENT for the not-found codes given, CouldNotEvaluate (with `what`) for any failure."""
    try:
        return fn()
    except botocore.exceptions.ClientError as exc:
        if _code(exc) in absent:
            return ABSENT  # type: ignore[no-any-return]
        raise describe_aws_error(exc, what) from exc
    except AwsError as exc:
        raise describe_aws_error(exc, what) from exc
    except Exception as exc:
        if not_an_aws_answer(exc):
            raise describe_aws_error(exc, what) from exc
        raise


class Inventory:
    def __init__(self, aws: Aws, run_dir: Path | None) -> None:
        self.aws = aws
        self.run_dir = run_dir

    def _cached(self, key: str, fetch: Any) -> Any:
        return cached(self.run_dir, f"{self.aws.region}:{key}", fetch)

    def _describe_all(self, service: str, operation: str, result_key: str, what: str, **params: Any) -> list[Any]:
        """Every page of a Describe/List call, joined."""

        def pages() -> list[Any]:
            paginator = self.aws.client(service).get_paginator(operation)
            return [item for page in paginator.paginate(**params) for item in page[result_key]]

        return _call(what, pages)

    def caller_identity(self) -> dict[str, str]:
        def fetch() -> dict[str, str]:
            answer = _call("sts:GetCallerIdentity", self.aws.client("sts").get_caller_identity)
            return {k: answer[k] for k in ("Account", "Arn", "UserId")}

        return self._cached("sts.caller_identity", fetch)

    def autoscaling_group(self, name: str) -> dict[str, Any] | None:
        """The group as DescribeAutoScalingGroups shows it, or None if absent."""

        def fetch() -> dict[str, Any] | None:
            groups = self._describe_all(
                "autoscaling",
                "describe_auto_scaling_groups",
                "AutoScalingGroups",
                f"autoscaling:DescribeAutoScalingGroups {name}",
                AutoScalingGroupNames=[name],
            )
            return groups[0] if groups else None

        return self._cached(f"autoscaling.group:{name}", fetch)

    def autoscaling_group_names(self) -> list[str]:
        """Every Auto Scaling group's name (to find a group created with a name_prefix)."""
        return self._cached(
            "autoscaling.group_names",
            lambda: sorted(
                g["AutoScalingGroupName"]
                for g in self._describe_all(
                    "autoscaling",
                    "describe_auto_scaling_groups",
                    "AutoScalingGroups",
                    "autoscaling:DescribeAutoScalingGroups (all)",
                )
            ),
        )

    def instances(self, instance_ids: list[str]) -> list[dict[str, Any]]:
        """DescribeInstances for these ids, ordered by id."""
        ids = sorted(set(instance_ids))
        if not ids:
            return []

        def fetch() -> list[dict[str, Any]]:
            reservations = self._describe_all(
                "ec2", "describe_instances", "Reservations", f"ec2:DescribeInstances {', '.join(ids)}", InstanceIds=ids
            )
            found = [inst for reservation in reservations for inst in reservation["Instances"]]
            return sorted(found, key=lambda i: i["InstanceId"])

        return self._cached(f"ec2.instances:{','.join(ids)}", fetch)

    def launch_template_data(self, template_id: str, version: str) -> dict[str, Any]:
        def fetch() -> dict[str, Any]:
            versions = self._describe_all(
                "ec2",
                "describe_launch_template_versions",
                "LaunchTemplateVersions",
                f"ec2:DescribeLaunchTemplateVersions {template_id} {version}",
                LaunchTemplateId=template_id,
                Versions=[version],
            )
            if not versions:
                raise CouldNotEvaluate(f"launch template {template_id} has no version {version}")
            return versions[0]["LaunchTemplateData"]

        return self._cached(f"ec2.launch_template:{template_id}:{version}", fetch)

    def security_groups(self, vpc_id: str) -> list[dict[str, Any]]:
        """Every security group in the VPC (one read serves every egress and endpoint check)."""
        return self._cached(
            f"ec2.security_groups:{vpc_id}",
            lambda: self._describe_all(
                "ec2",
                "describe_security_groups",
                "SecurityGroups",
                f"ec2:DescribeSecurityGroups in {vpc_id}",
                Filters=[{"Name": "vpc-id", "Values": [vpc_id]}],
            ),
        )

    def vpc(self, vpc_id: str) -> dict[str, Any]:
        """The VPC, with its CIDR block associations (primary and secondary)."""

        def fetch() -> dict[str, Any]:
            vpcs = self._describe_all("ec2", "describe_vpcs", "Vpcs", f"ec2:DescribeVpcs {vpc_id}", VpcIds=[vpc_id])
            if not vpcs:
                raise CouldNotEvaluate(f"VPC {vpc_id} does not exist")
            return dict(vpcs[0])

        return self._cached(f"ec2.vpc:{vpc_id}", fetch)

    def prefix_lists(self) -> dict[str, str]:
        """AWS-managed prefix lists of the region: name (com.amazonaws.<region>.s3) -> id."""
        return self._cached(
            "ec2.prefix_lists",
            lambda: {
                p["PrefixListName"]: p["PrefixListId"]
                for p in self._describe_all("ec2", "describe_prefix_lists", "PrefixLists", "ec2:DescribePrefixLists")
            },
        )

    def load_balancer_addresses(self, target_group_arns: list[str]) -> dict[str, list[str]]:
        """{load balancer name: the private addresses of its network interfaces} behind these target groups.

        An NLB's interfaces are described "ELB net/<name>/<id>" (EC2's description of an ELB's ENI); their
        addresses are what security groups must reach (terraform's proxy_lb_cidr_blocks takes them so).
        """
        arns = sorted(set(target_group_arns))

        def fetch() -> dict[str, list[str]]:
            if not arns:
                return {}
            groups = self._describe_all(
                "elbv2", "describe_target_groups", "TargetGroups", "elbv2:DescribeTargetGroups", TargetGroupArns=arns
            )
            lb_arns = sorted({arn for g in groups for arn in g.get("LoadBalancerArns", [])})
            out: dict[str, list[str]] = {}
            for lb_arn in lb_arns:
                suffix = lb_arn.split(":loadbalancer/", 1)[-1]
                interfaces = self._describe_all(
                    "ec2",
                    "describe_network_interfaces",
                    "NetworkInterfaces",
                    f"ec2:DescribeNetworkInterfaces for {suffix}",
                    Filters=[{"Name": "description", "Values": [f"ELB {suffix}"]}],
                )
                out[suffix.split("/")[1] if suffix.count("/") >= 2 else suffix] = sorted(
                    i["PrivateIpAddress"] for i in interfaces if i.get("PrivateIpAddress")
                )
            return out

        return self._cached(f"elbv2.addresses:{','.join(arns)}", fetch)

    def vpc_endpoints(self, vpc_id: str) -> list[dict[str, Any]]:
        return self._cached(
            f"ec2.vpc_endpoints:{vpc_id}",
            lambda: self._describe_all(
                "ec2",
                "describe_vpc_endpoints",
                "VpcEndpoints",
                f"ec2:DescribeVpcEndpoints in {vpc_id}",
                Filters=[{"Name": "vpc-id", "Values": [vpc_id]}],
            ),
        )

    def subnets(self, subnet_ids: list[str]) -> list[dict[str, Any]]:
        ids = sorted(set(subnet_ids))
        return self._cached(
            f"ec2.subnets:{','.join(ids)}",
            lambda: self._describe_all(
                "ec2", "describe_subnets", "Subnets", f"ec2:DescribeSubnets {', '.join(ids)}", SubnetIds=ids
            ),
        )

    def route_tables(self, vpc_id: str) -> list[dict[str, Any]]:
        return self._cached(
            f"ec2.route_tables:{vpc_id}",
            lambda: self._describe_all(
                "ec2",
                "describe_route_tables",
                "RouteTables",
                f"ec2:DescribeRouteTables in {vpc_id}",
                Filters=[{"Name": "vpc-id", "Values": [vpc_id]}],
            ),
        )

    def bucket_exists(self, bucket: str) -> bool:
        def fetch() -> bool:
            s3 = self.aws.client("s3")
            return _call(f"s3:HeadBucket {bucket}", lambda: s3.head_bucket(Bucket=bucket), NOT_FOUND) is not ABSENT

        return self._cached(f"s3.bucket_exists:{bucket}", fetch)

    def secret_object_facts(self, bucket: str, key: str, label: str, pattern: str) -> dict[str, Any]:
        """Size and shape of a secret object; the value is registered for redaction and dropped.

        Returns {"exists": bool, "size": int, "stripped_length": int,
        "lines": int, "matches_pattern": bool}.
        """

        def fetch() -> dict[str, Any]:
            body = self.object_bytes(bucket, key)
            if body is None:
                return {"exists": False, "size": 0, "stripped_length": 0, "lines": 0, "matches_pattern": False}
            text = body.decode("utf-8", errors="replace")
            register(text, label)
            stripped = text.strip()
            return {
                "exists": True,
                "size": len(body),
                "stripped_length": len(stripped),
                "lines": len(stripped.splitlines()),
                "matches_pattern": bool(re.fullmatch(pattern, stripped)),
            }

        return self._cached(f"s3.secret_facts:{bucket}/{key}:{pattern}", fetch)

    def shared_object(self, bucket: str, key: str) -> bytes | None:
        """A non-secret object's content, read once per run and shared (None when absent)."""

        def fetch() -> str | None:
            body = self.object_bytes(bucket, key)
            return None if body is None else base64.b64encode(body).decode()

        encoded = self._cached(f"s3.object:{bucket}/{key}", fetch)
        return None if encoded is None else base64.b64decode(encoded)

    def ecr_digests(self, registry_id: str, repository: str) -> list[str] | None:
        """Every image digest in the repository (None when the repository does not exist)."""

        def fetch() -> list[str] | None:
            ecr = self.aws.client("ecr")

            def ids() -> list[dict[str, str]]:
                pages = ecr.get_paginator("list_images").paginate(registryId=registry_id, repositoryName=repository)
                return [image_id for page in pages for image_id in page["imageIds"]]

            found = _call(f"ecr:ListImages {registry_id}/{repository}", ids, NOT_FOUND)
            return None if found is ABSENT else sorted({i["imageDigest"] for i in found if "imageDigest" in i})

        return self._cached(f"ecr.digests:{registry_id}/{repository}", fetch)

    def replication_group(self, replication_group: str) -> dict[str, Any] | None:
        """An ElastiCache replication group as DescribeReplicationGroups shows it; None when absent."""

        def fetch() -> dict[str, Any] | None:
            elasticache = self.aws.client("elasticache")
            found = _call(
                f"elasticache:DescribeReplicationGroups {replication_group}",
                lambda: elasticache.describe_replication_groups(ReplicationGroupId=replication_group),
                frozenset({"ReplicationGroupNotFoundFault"}),
            )
            groups = [] if found is ABSENT else found.get("ReplicationGroups", [])
            return dict(groups[0]) if groups else None

        return self._cached(f"elasticache.group:{replication_group}", fetch)

    def redis_member_endpoint(self, replication_group: str, cluster: str) -> dict[str, Any] | None:
        """{"address", "port"} of one member cluster's node in a replication group; None when either is absent."""
        group = self.replication_group(replication_group)
        for node_group in (group or {}).get("NodeGroups", []):
            for member in node_group.get("NodeGroupMembers", []):
                endpoint = member.get("ReadEndpoint") or {}
                if member.get("CacheClusterId") == cluster and endpoint.get("Address"):
                    return {"address": endpoint["Address"], "port": int(endpoint.get("Port", 6379))}
        return None

    def metric_filters(self, log_group: str, prefix: str) -> list[dict[str, Any]]:
        """The log group's metric filters whose names start with the prefix (DescribeMetricFilters)."""
        return self._cached(
            f"logs.metric_filters:{log_group}:{prefix}",
            lambda: self._describe_all(
                "logs",
                "describe_metric_filters",
                "metricFilters",
                f"logs:DescribeMetricFilters {log_group} {prefix}*",
                logGroupName=log_group,
                filterNamePrefix=prefix,
            ),
        )

    def metric_filter_matches(self, pattern: str, lines: list[str]) -> list[int]:
        """Which lines (numbered from 1) the pattern matches, by CloudWatch Logs' own TestMetricFilter."""

        def fetch() -> list[int]:
            logs = self.aws.client("logs")
            answer = _call(
                "logs:TestMetricFilter",
                lambda: logs.test_metric_filter(filterPattern=pattern, logEventMessages=lines),
            )
            return sorted(int(m["eventNumber"]) for m in answer.get("matches", []))

        return self._cached(f"logs.test_metric_filter:{pattern}:{json.dumps(lines)}", fetch)

    def bucket_policy(self, bucket: str) -> str | None:
        """The bucket's policy document as written; None when it has none (or the bucket does not exist)."""

        def fetch() -> str | None:
            s3 = self.aws.client("s3")
            absent = NOT_FOUND | {"NoSuchBucketPolicy"}
            found = _call(f"s3:GetBucketPolicy {bucket}", lambda: s3.get_bucket_policy(Bucket=bucket), absent)
            return None if found is ABSENT else str(found["Policy"])

        return self._cached(f"s3.bucket_policy:{bucket}", fetch)

    def bucket_public_access_block(self, bucket: str) -> dict[str, bool] | None:
        """The bucket's own public access block (its four flags); None when it has none."""

        def fetch() -> dict[str, bool] | None:
            s3 = self.aws.client("s3")
            absent = frozenset({"NoSuchPublicAccessBlockConfiguration"})
            found = _call(
                f"s3:GetPublicAccessBlock {bucket}", lambda: s3.get_public_access_block(Bucket=bucket), absent
            )
            return None if found is ABSENT else dict(found["PublicAccessBlockConfiguration"])

        return self._cached(f"s3.public_access_block:{bucket}", fetch)

    def bucket_acl_grants(self, bucket: str) -> list[dict[str, Any]]:
        """The bucket ACL's grants."""

        def fetch() -> list[dict[str, Any]]:
            s3 = self.aws.client("s3")
            return list(_call(f"s3:GetBucketAcl {bucket}", lambda: s3.get_bucket_acl(Bucket=bucket)).get("Grants", []))

        return self._cached(f"s3.bucket_acl:{bucket}", fetch)

    def simulate(self, principal_arn: str, actions: list[str], resources: list[str]) -> dict[str, dict[str, Any]]:
        """IAM's policy simulator on the principal's own policies, one decision per action and resource.

        {"<action> <resource>": {"decision": "allowed" | "explicitDeny" | "implicitDeny",
        "missing_context": [context keys the decision depends on but the simulator did not have]}}.
        """

        def fetch() -> dict[str, dict[str, Any]]:
            iam = self.aws.client("iam")
            params: dict[str, Any] = {
                "PolicySourceArn": principal_arn,
                "ActionNames": actions,
                "ResourceArns": resources,
            }

            def pages() -> list[dict[str, Any]]:
                paginator = iam.get_paginator("simulate_principal_policy")
                return [r for page in paginator.paginate(**params) for r in page["EvaluationResults"]]

            return simulation_decisions(_call(f"iam:SimulatePrincipalPolicy {principal_arn}", pages))

        return self._cached(f"iam.simulate:{principal_arn}:{sorted(actions)}:{sorted(resources)}", fetch)

    def object_bytes(self, bucket: str, key: str) -> bytes | None:
        """An object's content, not cached (it may be a secret, or large); None when absent."""
        s3 = self.aws.client("s3")

        def read() -> bytes:  # inside _call, so a failure is turned into a cause
            return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())

        body = _call(f"s3:GetObject s3://{bucket}/{key}", read, NOT_FOUND)
        return None if body is ABSENT else body


def simulation_decisions(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """ "<action> <resource>" -> decision, from SimulatePrincipalPolicy's EvaluationResults.

    IAM answers one EvaluationResult per action whatever the number of resources; its EvalDecision is
    the most restrictive across them, and each resource's own decision is in ResourceSpecificResults
    (IAM API reference: EvaluationResult, ResourceSpecificResult). A result without per-resource
    results (one resource, or the older shape) stands for the resource it names.
    """
    out = {}
    for result in results:
        action = result["EvalActionName"]
        shared = list(result.get("MissingContextValues", []))
        per_resource = result.get("ResourceSpecificResults") or [
            {
                "EvalResourceName": result.get("EvalResourceName", "*"),
                "EvalResourceDecision": result["EvalDecision"],
                "MissingContextValues": [],
            }
        ]
        for item in per_resource:
            out[f"{action} {item['EvalResourceName']}"] = {
                "decision": item["EvalResourceDecision"],
                "missing_context": sorted({*shared, *item.get("MissingContextValues", [])}),
            }
    return out


def tags_of(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in resource.get("Tags", [])}
