"""The typed state per service (envtest/gather/services/) read from AWS's documented answers.

Each response goes through botocore's Stubber (a test double), which checks it
against the service's own model before the reader sees it, so a key the models
read that AWS does not send fails here. The shapes follow each API reference
(EC2: SecurityGroup, IpPermission, VpcEndpoint, RouteTable, Vpc; Auto Scaling:
AutoScalingGroup; ElastiCache: ReplicationGroup; CloudWatch Logs: MetricFilter;
S3: GetObject).
"""

from __future__ import annotations

import pytest

from envtest.gather.inventory import Inventory
from envtest.gather.services.autoscaling import LaunchTemplateRef, Member
from envtest.gather.services.ec2 import Permission, SecurityGroup
from envtest.gather.services.elasticache import RedisEndpoint
from envtest.gather.services.s3 import SecretFacts
from selftests.conftest import stub

VPC = "vpc-0abc"


def _group(name: str, *, lifecycle: str = "InService", **extra: object) -> dict[str, object]:
    return {
        "AutoScalingGroupName": name,
        "MinSize": 1,
        "MaxSize": 2,
        "DesiredCapacity": 2,
        "DefaultCooldown": 300,
        "AvailabilityZones": ["us-west-2a"],
        "HealthCheckType": "EC2",
        "CreatedTime": "2026-01-01T00:00:00Z",
        "VPCZoneIdentifier": "subnet-a,subnet-b",
        "TargetGroupARNs": ["arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/tg/1"],
        "Instances": [
            {
                "InstanceId": "i-1",
                "AvailabilityZone": "us-west-2a",
                "LifecycleState": lifecycle,
                "HealthStatus": "Healthy",
                "ProtectedFromScaleIn": False,
            },
            {
                "InstanceId": "i-2",
                "AvailabilityZone": "us-west-2a",
                "LifecycleState": "Pending",
                "HealthStatus": "Healthy",
                "ProtectedFromScaleIn": False,
            },
        ],
        **extra,
    }


def test_a_group_launching_through_a_mixed_instances_policy_names_its_template(inventory: Inventory) -> None:
    """Auto Scaling API reference, AutoScalingGroup: the template is LaunchTemplate, or
    MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification; VPCZoneIdentifier is one comma-separated
    string; only InService members are in service."""
    autoscaling = stub(inventory, "autoscaling")
    spec = {"LaunchTemplateId": "lt-1", "LaunchTemplateName": "dev-env-runner", "Version": "$Latest"}
    autoscaling.add_response(
        "describe_auto_scaling_groups",
        {
            "AutoScalingGroups": [
                _group("dev-env-runner", MixedInstancesPolicy={"LaunchTemplate": {"LaunchTemplateSpecification": spec}})
            ]
        },
        {"AutoScalingGroupNames": ["dev-env-runner"]},
    )
    group = inventory.autoscaling_group("dev-env-runner")
    assert group is not None
    assert group.launch_template == LaunchTemplateRef("lt-1", "dev-env-runner", "$Latest")
    assert group.subnet_ids == ("subnet-a", "subnet-b")
    assert group.members == (Member("i-1", "InService", "Healthy"), Member("i-2", "Pending", "Healthy"))
    assert group.in_service_ids == ["i-1"]
    assert (group.desired, group.min_size) == (2, 1)


def test_an_absent_group_is_none(inventory: Inventory) -> None:
    autoscaling = stub(inventory, "autoscaling")
    autoscaling.add_response(
        "describe_auto_scaling_groups", {"AutoScalingGroups": []}, {"AutoScalingGroupNames": ["x"]}
    )
    assert inventory.autoscaling_group("x") is None


def _security_group(ingress: list[dict[str, object]]) -> dict[str, object]:
    return {
        "GroupId": "sg-endpoint",
        "GroupName": "dev-endpoints",
        "VpcId": VPC,
        "OwnerId": "123456789012",
        "Description": "endpoints",
        "IpPermissions": ingress,
        "IpPermissionsEgress": [
            {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "all"}]},
        ],
        "Tags": [{"Key": "Name", "Value": "dev-endpoints"}],
    }


@pytest.mark.parametrize(
    ("ingress", "admits"),
    [
        ([{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": "sg-base"}]}], True),
        ([{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}], True),
        ([{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.1.0/24"}]}], False),
        ([{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [{"GroupId": "sg-base"}]}], False),
        ([{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-base"}]}], True),
        ([{"IpProtocol": "udp", "FromPort": 0, "ToPort": 65535, "UserIdGroupPairs": [{"GroupId": "sg-base"}]}], False),
        ([], False),
    ],
    ids=["from-the-group", "from-a-range-holding-both", "from-a-range-holding-one", "other-port", "all", "udp", "none"],
)
def test_an_endpoint_group_admits_https_from_the_runner(
    inventory: Inventory, ingress: list[dict[str, object]], admits: bool
) -> None:
    """EC2 API reference, IpPermission: IpProtocol "-1" is every protocol and port; a rule admits the runner by
    one of its groups, or by ranges that hold each of its subnets."""
    ec2 = stub(inventory, "ec2")
    ec2.add_response("describe_security_groups", {"SecurityGroups": [_security_group(ingress)]})
    (group,) = inventory.security_groups(VPC)
    assert group.admits_tcp(443, from_groups={"sg-base"}, from_cidrs=["10.0.1.0/24", "10.0.2.0/24"]) is admits
    assert group.tags == {"Name": "dev-endpoints"}
    assert group.egress == (Permission("-1", None, None, ipv4=(("0.0.0.0/0", "all"),)),)


def test_endpoints_and_route_tables_read_as_ec2_describes_them(inventory: Inventory) -> None:
    """EC2 API reference: VpcEndpoint (Groups are {GroupId, GroupName}; State is lower case, e.g. "available")
    and RouteTable (a main association carries Main true and no SubnetId)."""
    ec2 = stub(inventory, "ec2")
    ec2.add_response(
        "describe_vpc_endpoints",
        {
            "VpcEndpoints": [
                {
                    "VpcEndpointId": "vpce-1",
                    "VpcEndpointType": "Interface",
                    "VpcId": VPC,
                    "ServiceName": "com.amazonaws.us-west-2.ssm",
                    "State": "available",
                    "PrivateDnsEnabled": True,
                    "SubnetIds": ["subnet-a"],
                    "Groups": [{"GroupId": "sg-endpoint", "GroupName": "dev-endpoints"}],
                },
                {
                    "VpcEndpointId": "vpce-2",
                    "VpcEndpointType": "Gateway",
                    "VpcId": VPC,
                    "ServiceName": "com.amazonaws.us-west-2.s3",
                    "State": "pending",
                    "RouteTableIds": ["rtb-1"],
                },
            ]
        },
    )
    ssm, s3 = inventory.vpc_endpoints(VPC)
    assert (ssm.service("us-west-2"), ssm.available, ssm.private_dns, ssm.group_ids) == (
        "ssm",
        True,
        True,
        ("sg-endpoint",),
    )
    assert (s3.service("us-west-2"), s3.available, s3.route_table_ids) == ("s3", False, ("rtb-1",))
    ec2.add_response(
        "describe_route_tables",
        {
            "RouteTables": [
                {"RouteTableId": "rtb-main", "Associations": [{"Main": True, "RouteTableId": "rtb-main"}]},
                {"RouteTableId": "rtb-1", "Associations": [{"Main": False, "SubnetId": "subnet-a"}]},
            ]
        },
    )
    tables = inventory.route_tables(VPC)
    assert [(t.table_id, t.main, t.subnet_ids) for t in tables] == [
        ("rtb-main", True, ()),
        ("rtb-1", False, ("subnet-a",)),
    ]


def test_a_vpc_keeps_only_associated_cidr_blocks(inventory: Inventory) -> None:
    """EC2 API reference, Vpc / VpcCidrBlockAssociation: a disassociated block is not the VPC's any more."""
    ec2 = stub(inventory, "ec2")
    ec2.add_response(
        "describe_vpcs",
        {
            "Vpcs": [
                {
                    "VpcId": VPC,
                    "CidrBlock": "10.0.0.0/16",
                    "CidrBlockAssociationSet": [
                        {"CidrBlock": "10.0.0.0/16", "CidrBlockState": {"State": "associated"}},
                        {"CidrBlock": "100.64.0.0/16", "CidrBlockState": {"State": "associated"}},
                        {"CidrBlock": "10.9.0.0/16", "CidrBlockState": {"State": "disassociated"}},
                    ],
                }
            ]
        },
        {"VpcIds": [VPC]},
    )
    vpc = inventory.vpc(VPC)
    assert (vpc.primary_cidr, vpc.associated_cidrs) == ("10.0.0.0/16", ("10.0.0.0/16", "100.64.0.0/16"))


def test_a_replication_groups_members_and_primaries(inventory: Inventory) -> None:
    """ElastiCache API reference, ReplicationGroup / NodeGroup / NodeGroupMember: each member's ReadEndpoint,
    each node group's PrimaryEndpoint."""
    elasticache = stub(inventory, "elasticache")
    elasticache.add_response(
        "describe_replication_groups",
        {
            "ReplicationGroups": [
                {
                    "ReplicationGroupId": "dev-idp",
                    "NodeGroups": [
                        {
                            "NodeGroupId": "0001",
                            "PrimaryEndpoint": {"Address": "master.dev-idp.cache.amazonaws.com", "Port": 6379},
                            "NodeGroupMembers": [
                                {
                                    "CacheClusterId": "dev-idp-001",
                                    "ReadEndpoint": {"Address": "dev-idp-001.cache.amazonaws.com", "Port": 6380},
                                },
                                {"CacheClusterId": "dev-idp-002"},  # no endpoint yet: not a member to probe
                            ],
                        }
                    ],
                }
            ]
        },
        {"ReplicationGroupId": "dev-idp"},
    )
    group = inventory.replication_group("dev-idp")
    assert group is not None and group.primary_addresses == ("master.dev-idp.cache.amazonaws.com",)
    assert inventory.redis_member_endpoint("dev-idp", "dev-idp-001") == RedisEndpoint(
        "dev-idp-001", "dev-idp-001.cache.amazonaws.com", 6380
    )
    assert inventory.redis_member_endpoint("dev-idp", "dev-idp-002") is None


def test_a_secret_object_is_known_by_its_shape_only(inventory: Inventory) -> None:
    """S3 API reference, GetObject: an absent key is NoSuchKey, which is "no such object", not an error."""
    s3 = stub(inventory, "s3")
    s3.add_client_error("get_object", "NoSuchKey", http_status_code=404, expected_params={"Bucket": "b", "Key": "t"})
    assert inventory.secret_object_facts("b", "t", "token", r"\S+") == SecretFacts(exists=False)
    s3.assert_no_pending_responses()


def test_a_security_group_without_rules_has_none() -> None:
    group = SecurityGroup.from_api({"GroupId": "sg-1"})
    assert (group.name, group.ingress, group.egress, dict(group.tags)) == ("", (), (), {})


def test_the_caller_is_known_with_its_partition(inventory: Inventory) -> None:
    """STS API reference, GetCallerIdentity: Account, Arn, UserId; the ARN's partition (aws-us-gov here) is the
    one the suite's own ARNs must be written in."""
    sts = stub(inventory, "sts")
    sts.add_response(
        "get_caller_identity",
        {"Account": "123456789012", "Arn": "arn:aws-us-gov:sts::123456789012:assumed-role/ops/me", "UserId": "AROA:me"},
    )
    identity = inventory.caller_identity()
    assert (identity.account, identity.partition, identity.user_id) == ("123456789012", "aws-us-gov", "AROA:me")
