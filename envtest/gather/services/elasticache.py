"""ElastiCache: the IdP's Redis replication group (DescribeReplicationGroups, AWS API reference: ReplicationGroup)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from envtest.gather.services.base import ABSENT, Reader, call


@dataclass(frozen=True)
class RedisEndpoint:
    """Where one member cluster of a replication group answers (its node's read endpoint)."""

    cluster: str
    address: str
    port: int

    def __str__(self) -> str:
        return f"{self.cluster} ({self.address}:{self.port})"


@dataclass(frozen=True)
class ReplicationGroup:
    group_id: str
    primary_addresses: tuple[str, ...]  # each node group's primary endpoint
    members: tuple[RedisEndpoint, ...]  # each member cluster's read endpoint

    @classmethod
    def from_api(cls, group: Mapping[str, Any]) -> ReplicationGroup:
        node_groups = group.get("NodeGroups", [])
        return cls(
            group_id=str(group.get("ReplicationGroupId", "")),
            primary_addresses=tuple(
                sorted(g["PrimaryEndpoint"]["Address"] for g in node_groups if g.get("PrimaryEndpoint"))
            ),
            members=tuple(
                RedisEndpoint(
                    str(m["CacheClusterId"]),
                    str(m["ReadEndpoint"]["Address"]),
                    int(m["ReadEndpoint"].get("Port", 6379)),
                )
                for g in node_groups
                for m in g.get("NodeGroupMembers", [])
                if m.get("CacheClusterId") and (m.get("ReadEndpoint") or {}).get("Address")
            ),
        )


class ElastiCacheReads(Reader):
    def replication_group(self, replication_group: str) -> ReplicationGroup | None:
        """An ElastiCache replication group; None when absent."""

        def fetch() -> dict[str, Any] | None:
            elasticache = self.aws.client("elasticache")
            found = call(
                f"elasticache:DescribeReplicationGroups {replication_group}",
                lambda: elasticache.describe_replication_groups(ReplicationGroupId=replication_group),
                frozenset({"ReplicationGroupNotFoundFault"}),
            )
            groups = [] if found is ABSENT else found.get("ReplicationGroups", [])
            return dict(groups[0]) if groups else None

        found = self._cached(f"elasticache.group:{replication_group}", fetch)
        return None if found is None else ReplicationGroup.from_api(found)

    def redis_member_endpoint(self, replication_group: str, cluster: str) -> RedisEndpoint | None:
        """One member cluster's endpoint in a replication group; None when either is absent."""
        group = self.replication_group(replication_group)
        return next((m for m in (group.members if group else ()) if m.cluster == cluster), None)
