"""Auto Scaling groups: who is InService, waiting for capacity, and a scale-out that always scales back.

Terratest's vocabulary (`GetInstanceIdsForAsg`, `WaitForCapacity`) with the
waits bounded by explicit arguments. Reads are cached nowhere: a recycle
watches the group change.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from envtest import cancel
from envtest.changes import Journal
from envtest.errors import CouldNotEvaluate
from envtest.gather.aws import Aws, AwsError, describe_aws_error
from envtest.gather.services.autoscaling import AutoScalingGroup
from envtest.progress import waiting


def group_state(aws: Aws, name: str) -> AutoScalingGroup:
    """The group as it is now (read fresh, never cached: a recycle watches it change), in the inventory's model."""
    try:
        groups = aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[name])
    except AwsError as exc:
        raise describe_aws_error(exc, f"autoscaling:DescribeAutoScalingGroups {name}") from exc
    found: list[dict[str, Any]] = groups.get("AutoScalingGroups", [])
    if not found:
        raise CouldNotEvaluate(f"Auto Scaling group {name} does not exist")
    return AutoScalingGroup.from_api(found[0])


def in_service_instance_ids(aws: Aws, name: str) -> list[str]:
    return group_state(aws, name).in_service_ids


def wait_for_capacity(
    aws: Aws, name: str, capacity: int, *, timeout: float, poll_interval: float = 10.0
) -> AutoScalingGroup:
    """Wait until the group has exactly `capacity` instances, all InService; CouldNotEvaluate after `timeout`."""
    deadline = time.monotonic() + timeout
    with waiting(f"Auto Scaling group {name} to reach {capacity} InService instance(s)", timeout):
        while True:
            state = group_state(aws, name)
            if len(state.members) == capacity and len(state.in_service_ids) == capacity:
                return state
            if time.monotonic() >= deadline:
                raise CouldNotEvaluate(
                    f"{name} did not reach {capacity} InService instances within {timeout:.0f} s; last seen "
                    f"{state.describe()}. Look at the group's activity history for failed launches."
                )
            time.sleep(poll_interval)


def _update(aws: Aws, name: str, **sizes: int) -> None:
    try:
        aws.client("autoscaling").update_auto_scaling_group(AutoScalingGroupName=name, **sizes)
    except AwsError as exc:
        raise describe_aws_error(exc, f"autoscaling:UpdateAutoScalingGroup {name} {sizes}") from exc


def _restore(aws: Aws, name: str, sizes: dict[str, int], attempts: int = 3) -> None:
    """Put the group's sizes back, retrying; if that fails, say exactly how to do it by hand."""
    for attempt in range(1, attempts + 1):
        try:
            _update(aws, name, **sizes)
            return
        except CouldNotEvaluate as exc:
            if attempt == attempts:
                raise CouldNotEvaluate(
                    f"{name} could NOT be put back ({exc}). Do it by hand now: {_by_hand(name, sizes)}"
                ) from None
            time.sleep(2 * attempt)


def _by_hand(name: str, sizes: dict[str, int]) -> str:
    flags = " ".join(f"--{'desired-capacity' if k == 'DesiredCapacity' else 'max-size'} {v}" for k, v in sizes.items())
    return f"aws autoscaling update-auto-scaling-group --auto-scaling-group-name {name} {flags}"


@contextmanager
def scaled_out(
    aws: Aws, name: str, factor: int = 2, journal: Journal | None = None
) -> Iterator[tuple[AutoScalingGroup, int]]:
    """Raise the group's desired capacity `factor` times; always put desired (and max) back on the way out.

    Yields the original state and the capacity asked for. A write: only a disruptive test, with -R true, gets
    past the read-only guard. The change is written to the run's journal before it is made and settled after
    the restore (envtest/changes.py); the restore runs shielded from a cancel's signal and from the check's
    time limit (envtest/cancel.py), which are raised once it is done.
    """
    journal = journal or Journal(None)
    original = group_state(aws, name)
    target = max(1, original.desired) * factor
    sizes = {"DesiredCapacity": target}
    restore = {"DesiredCapacity": original.desired}
    if target > original.max_size:
        sizes["MaxSize"] = target
        restore["MaxSize"] = original.max_size
    change = f"desired {original.desired} -> {target}" + (
        f", max {original.max_size} -> {target}" if "MaxSize" in sizes else ""
    )
    key = journal.changed(f"Auto Scaling group {name}", change, _by_hand(name, restore))
    try:
        _update(aws, name, **sizes)
        yield original, target
    finally:
        with cancel.shielded():
            try:
                _restore(aws, name, restore)
            except CouldNotEvaluate as exc:
                journal.not_restored(key, str(exc))
                raise
            journal.restored(key)


def terminate_in_group(aws: Aws, instance_ids: list[str]) -> None:
    """Terminate instances and lower the desired capacity with them (how a recycle retires the old ones)."""
    autoscaling = aws.client("autoscaling")
    for instance_id in instance_ids:
        try:
            autoscaling.terminate_instance_in_auto_scaling_group(
                InstanceId=instance_id, ShouldDecrementDesiredCapacity=True
            )
        except AwsError as exc:
            raise describe_aws_error(exc, f"autoscaling:TerminateInstanceInAutoScalingGroup {instance_id}") from exc


def recycle(
    aws: Aws, name: str, *, timeout: float, poll_interval: float, journal: Journal | None = None
) -> tuple[list[str], list[str]]:
    """Double the group, wait, retire the old instances, wait: (old ids, new ids). Sizes restored on any exit."""
    with scaled_out(aws, name, 2, journal) as (original, doubled):
        wait_for_capacity(aws, name, doubled, timeout=timeout, poll_interval=poll_interval)
        old = original.in_service_ids
        terminate_in_group(aws, old)
    after = wait_for_capacity(aws, name, original.desired, timeout=timeout, poll_interval=poll_interval)
    return old, after.in_service_ids
