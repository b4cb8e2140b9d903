"""Elastic Load Balancing: the addresses of the load balancer in front of a group."""

from __future__ import annotations

from envtest.gather.services.base import Reader


class ElbReads(Reader):
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
