"""Recycle the IdP and ELK groups and see them come back healthy (disruptive: only with -R true).

The Go suite's ASG recycle: double the desired capacity, wait for it, retire
the old instances (scaling back), wait; then the IdP's health URL answers
healthy and cloud-init on the group's new instances reports no errors.
Whatever happens midway (a cancelled job's SIGTERM included), the group's
original desired capacity and max size are put back.

What it changes: each group's desired capacity (and max size if doubling
exceeds it), temporarily; the group's instances are replaced.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from envtest.problems import Problem, check

RECYCLED = ["idp", "elk"]


# What it may call besides the reads (the read-only guard allows exactly these, with -R true): the scale-out and
# retirement, and the command that reads cloud-init's status on the new instances (not a planned read: they are
# new).
@pytest.mark.disruptive(
    may_call=(
        "autoscaling:UpdateAutoScalingGroup",
        "autoscaling:TerminateInstanceInAutoScalingGroup",
        "ssm:SendCommand",
    )
)
@pytest.mark.proven_in("selftests/test_sandbox_instances.py")
@pytest.mark.parametrize("role", RECYCLED)
def test_group_recycles_and_comes_back_healthy(
    role: str, recycle: Callable[[str], list[str]], recycle_checks: Callable[[str, list[str]], list[Problem]]
) -> None:
    """A group recycles and comes back healthy (disruptive, `-R true`).

    Why: proves the env can replace its hosts: boot, cloud-init, health.
    Fails on: the group not returning to InService and healthy, or cloud-init errors on the new instances.
    Desired and max sizes are always put back.
    Fix: read the new instances' cloud-init output and the group's activity history.
    """
    new_instances = recycle(role)
    check(recycle_checks(role, new_instances))
