"""EC2: instances, the VPC's subnets, security groups, endpoints and route tables (AWS EC2 API reference shapes)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from envtest.errors import CouldNotEvaluate
from envtest.gather.services.base import Reader, tags_of


@dataclass(frozen=True)
class Instance:
    instance_id: str
    vpc_id: str = ""
    subnet_id: str = ""
    private_ip: str = ""
    security_group_ids: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_api(cls, instance: Mapping[str, Any]) -> Instance:
        return cls(
            instance_id=str(instance["InstanceId"]),
            vpc_id=str(instance.get("VpcId", "")),
            subnet_id=str(instance.get("SubnetId", "")),
            private_ip=str(instance.get("PrivateIpAddress", "")),
            security_group_ids=tuple(g["GroupId"] for g in instance.get("SecurityGroups", [])),
            tags=tags_of(instance),
        )


@dataclass(frozen=True)
class LaunchTemplateData:
    """What a launch template version gives its instances that the checks read: its security groups."""

    security_group_ids: tuple[str, ...]

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> LaunchTemplateData:
        # Groups come top level (SecurityGroupIds) or per network interface (NetworkInterfaces[].Groups).
        groups = list(data.get("SecurityGroupIds", []))
        for interface in data.get("NetworkInterfaces", []):
            groups += interface.get("Groups", [])
        return cls(tuple(groups))


@dataclass(frozen=True)
class Subnet:
    subnet_id: str
    vpc_id: str
    availability_zone: str
    cidr_block: str

    @classmethod
    def from_api(cls, subnet: Mapping[str, Any]) -> Subnet:
        return cls(str(subnet["SubnetId"]), str(subnet["VpcId"]), str(subnet["AvailabilityZone"]), subnet["CidrBlock"])


@dataclass(frozen=True)
class Vpc:
    vpc_id: str
    primary_cidr: str
    associated_cidrs: tuple[str, ...]  # every CIDR block association in state "associated", primary included

    @classmethod
    def from_api(cls, vpc: Mapping[str, Any]) -> Vpc:
        associated = tuple(
            a["CidrBlock"]
            for a in vpc.get("CidrBlockAssociationSet", [])
            if a.get("CidrBlockState", {}).get("State", "associated") == "associated"
        )
        return cls(str(vpc["VpcId"]), str(vpc.get("CidrBlock", "")), associated)


@dataclass(frozen=True)
class Permission:
    """One IpPermission of a security group: a protocol and port range, and the sources or destinations it names.

    Each destination is (what, description): a CIDR (IPv4 or IPv6), a prefix list id, or a group id.
    """

    protocol: str  # AWS's IpProtocol as given: "-1", "tcp", "6", ...
    from_port: int | None
    to_port: int | None
    ipv4: tuple[tuple[str, str], ...] = ()
    ipv6: tuple[tuple[str, str], ...] = ()
    prefix_lists: tuple[tuple[str, str], ...] = ()
    groups: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_api(cls, permission: Mapping[str, Any]) -> Permission:
        def pairs(field_name: str, key: str) -> tuple[tuple[str, str], ...]:
            return tuple((str(i[key]), str(i.get("Description", ""))) for i in permission.get(field_name, []))

        return cls(
            protocol=str(permission.get("IpProtocol", "-1")),
            from_port=permission.get("FromPort"),
            to_port=permission.get("ToPort"),
            ipv4=pairs("IpRanges", "CidrIp"),
            ipv6=pairs("Ipv6Ranges", "CidrIpv6"),
            prefix_lists=pairs("PrefixListIds", "PrefixListId"),
            groups=pairs("UserIdGroupPairs", "GroupId"),
        )

    def covers_tcp(self, port: int) -> bool:
        if self.protocol == "-1":
            return True
        return self.protocol in {"tcp", "6"} and (self.from_port or 0) <= port <= (
            self.to_port if self.to_port is not None else -1
        )


@dataclass(frozen=True)
class SecurityGroup:
    group_id: str
    name: str
    vpc_id: str
    ingress: tuple[Permission, ...] = ()
    egress: tuple[Permission, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_api(cls, group: Mapping[str, Any]) -> SecurityGroup:
        return cls(
            group_id=str(group["GroupId"]),
            name=str(group.get("GroupName", "")),
            vpc_id=str(group.get("VpcId", "")),
            ingress=tuple(Permission.from_api(p) for p in group.get("IpPermissions", [])),
            egress=tuple(Permission.from_api(p) for p in group.get("IpPermissionsEgress", [])),
            tags=tags_of(group),
        )

    def admits_tcp(self, port: int, *, from_groups: set[str], from_cidrs: list[str]) -> bool:
        """Does an ingress rule admit tcp `port` from one of these groups, or from ranges holding each CIDR?"""
        for permission in self.ingress:
            if not permission.covers_tcp(port):
                continue
            if any(group_id in from_groups for group_id, _ in permission.groups):
                return True
            ranges = [cidr for cidr, _ in permission.ipv4]
            if from_cidrs and all(any(_within(c, r) for r in ranges) for c in from_cidrs):
                return True
        return False


def _within(cidr: str, outer: str) -> bool:
    try:
        return ipaddress.ip_network(cidr, strict=False).subnet_of(ipaddress.ip_network(outer, strict=False))  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return False


@dataclass(frozen=True)
class VpcEndpoint:
    endpoint_id: str
    service_name: str  # com.amazonaws.<region>.<service>
    endpoint_type: str  # "Interface", "Gateway", "GatewayLoadBalancer"
    state: str
    private_dns: bool = False
    subnet_ids: tuple[str, ...] = ()
    group_ids: tuple[str, ...] = ()
    route_table_ids: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, endpoint: Mapping[str, Any]) -> VpcEndpoint:
        return cls(
            endpoint_id=str(endpoint["VpcEndpointId"]),
            service_name=str(endpoint["ServiceName"]),
            endpoint_type=str(endpoint["VpcEndpointType"]),
            state=str(endpoint.get("State", "")),
            private_dns=bool(endpoint.get("PrivateDnsEnabled")),
            subnet_ids=tuple(endpoint.get("SubnetIds", [])),
            group_ids=tuple(g["GroupId"] for g in endpoint.get("Groups", [])),
            route_table_ids=tuple(endpoint.get("RouteTableIds", [])),
        )

    def service(self, region: str) -> str:
        """The service's short name: com.amazonaws.us-west-2.ssm -> ssm."""
        return self.service_name.removeprefix(f"com.amazonaws.{region}.")

    @property
    def available(self) -> bool:
        return self.state.lower() == "available"

    @property
    def live(self) -> bool:
        """Not on its way out: EC2 keeps listing an endpoint that is deleted (terraform replaced it), deleting,
        rejected, failed or expired (EC2 API reference, VpcEndpoint: State) beside the one that serves."""
        return self.state.lower() not in GONE_ENDPOINT_STATES


GONE_ENDPOINT_STATES = frozenset({"deleted", "deleting", "rejected", "failed", "expired"})


@dataclass(frozen=True)
class RouteTable:
    table_id: str
    main: bool
    subnet_ids: tuple[str, ...]

    @classmethod
    def from_api(cls, table: Mapping[str, Any]) -> RouteTable:
        associations = table.get("Associations", [])
        return cls(
            str(table["RouteTableId"]),
            any(a.get("Main") for a in associations),
            tuple(a["SubnetId"] for a in associations if a.get("SubnetId")),
        )


class Ec2Reads(Reader):
    def instances(self, instance_ids: list[str]) -> list[Instance]:
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

        return [Instance.from_api(i) for i in self._cached(f"ec2.instances:{','.join(ids)}", fetch)]

    def launch_template_data(self, template_id: str, version: str) -> LaunchTemplateData:
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

        return LaunchTemplateData.from_api(self._cached(f"ec2.launch_template:{template_id}:{version}", fetch))

    def security_groups(self, vpc_id: str) -> list[SecurityGroup]:
        """Every security group in the VPC (one read serves every egress and endpoint check)."""
        found = self._cached(
            f"ec2.security_groups:{vpc_id}",
            lambda: self._in_vpc("describe_security_groups", "SecurityGroups", vpc_id),
        )
        return [SecurityGroup.from_api(g) for g in found]

    def vpc(self, vpc_id: str) -> Vpc:
        """The VPC, with its CIDR block associations (primary and secondary)."""

        def fetch() -> dict[str, Any]:
            vpcs = self._describe_all("ec2", "describe_vpcs", "Vpcs", f"ec2:DescribeVpcs {vpc_id}", VpcIds=[vpc_id])
            if not vpcs:
                raise CouldNotEvaluate(f"VPC {vpc_id} does not exist")
            return dict(vpcs[0])

        return Vpc.from_api(self._cached(f"ec2.vpc:{vpc_id}", fetch))

    def prefix_lists(self) -> dict[str, str]:
        """AWS-managed prefix lists of the region: name (com.amazonaws.<region>.s3) -> id."""
        return self._cached(
            "ec2.prefix_lists",
            lambda: {
                p["PrefixListName"]: p["PrefixListId"]
                for p in self._describe_all("ec2", "describe_prefix_lists", "PrefixLists", "ec2:DescribePrefixLists")
            },
        )

    def vpc_endpoints(self, vpc_id: str) -> list[VpcEndpoint]:
        found = self._cached(
            f"ec2.vpc_endpoints:{vpc_id}", lambda: self._in_vpc("describe_vpc_endpoints", "VpcEndpoints", vpc_id)
        )
        return [VpcEndpoint.from_api(e) for e in found]

    def subnets(self, subnet_ids: list[str]) -> list[Subnet]:
        ids = sorted(set(subnet_ids))
        found = self._cached(
            f"ec2.subnets:{','.join(ids)}",
            lambda: self._describe_all(
                "ec2", "describe_subnets", "Subnets", f"ec2:DescribeSubnets {', '.join(ids)}", SubnetIds=ids
            ),
        )
        return [Subnet.from_api(s) for s in found]

    def route_tables(self, vpc_id: str) -> list[RouteTable]:
        found = self._cached(
            f"ec2.route_tables:{vpc_id}", lambda: self._in_vpc("describe_route_tables", "RouteTables", vpc_id)
        )
        return [RouteTable.from_api(t) for t in found]

    def _in_vpc(self, operation: str, result_key: str, vpc_id: str) -> list[Any]:
        what = f"ec2:{''.join(p.title() for p in operation.split('_'))} in {vpc_id}"
        return self._describe_all("ec2", operation, result_key, what, Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
