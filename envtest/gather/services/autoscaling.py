"""Auto Scaling: groups and their members (DescribeAutoScalingGroups, AWS API reference: AutoScalingGroup)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from envtest.gather.services.base import Reader, tags_of


@dataclass(frozen=True)
class Member:
    """One instance of a group: its id, lifecycle state (InService, Pending, ...) and health (Healthy, Unhealthy)."""

    instance_id: str
    lifecycle: str
    health: str = "?"


@dataclass(frozen=True)
class LaunchTemplateRef:
    """The launch template a group launches from (directly, or through a mixed instances policy)."""

    template_id: str
    name: str = ""
    version: str = "$Default"


@dataclass(frozen=True)
class AutoScalingGroup:
    name: str
    desired: int
    min_size: int
    max_size: int
    members: tuple[Member, ...] = ()
    launch_template: LaunchTemplateRef | None = None
    subnet_ids: tuple[str, ...] = ()
    target_group_arns: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_api(cls, group: Mapping[str, Any]) -> AutoScalingGroup:
        spec = group.get("LaunchTemplate") or (
            group.get("MixedInstancesPolicy", {}).get("LaunchTemplate", {}).get("LaunchTemplateSpecification")
        )
        return cls(
            name=str(group["AutoScalingGroupName"]),
            desired=int(group.get("DesiredCapacity", 0)),
            min_size=int(group.get("MinSize", 0)),
            max_size=int(group.get("MaxSize", 0)),
            members=tuple(
                Member(str(i["InstanceId"]), str(i["LifecycleState"]), str(i.get("HealthStatus", "?")))
                for i in group.get("Instances", [])
            ),
            launch_template=LaunchTemplateRef(
                str(spec["LaunchTemplateId"]),
                str(spec.get("LaunchTemplateName", "")),
                spec.get("Version") or "$Default",
            )
            if spec
            else None,
            # VPCZoneIdentifier is one comma-separated string of subnet ids.
            subnet_ids=tuple(s for s in str(group.get("VPCZoneIdentifier", "")).split(",") if s),
            target_group_arns=tuple(group.get("TargetGroupARNs", [])),
            tags=tags_of(group),
        )

    @property
    def in_service_ids(self) -> list[str]:
        """The members in service, by id (Pending, Terminating and the rest are not)."""
        return sorted(m.instance_id for m in self.members if m.lifecycle == "InService")

    def describe(self) -> str:
        """Its sizes and each member's lifecycle state: what a wait that timed out last saw."""
        states = ", ".join(f"{m.instance_id} {m.lifecycle}" for m in sorted(self.members, key=lambda m: m.instance_id))
        sizes = f"desired {self.desired} (min {self.min_size}, max {self.max_size})"
        return f"{self.name}: {sizes}; {states or 'no instances'}"


class AutoScalingReads(Reader):
    def autoscaling_group(self, name: str) -> AutoScalingGroup | None:
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

        found = self._cached(f"autoscaling.group:{name}", fetch)
        return None if found is None else AutoScalingGroup.from_api(found)

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
