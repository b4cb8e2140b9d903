"""AWS's listing habits, in the sandbox: lists come in pages, and EC2 keeps listing what was replaced.

- The sandbox answers the suite's lists in small pages (envtest_double/paging.py): a read that took the first page
  only would see two security groups of eighteen, so the verdicts at a page size of 2 must be those of whole
  answers.
- The seed keeps a replaced interface endpoint (state deleted) beside its live copy, and a terminated runner from an
  earlier recycle, as EC2 lists them: the default run (selftests that run the suite, and CI's --sandbox) passes
  with them in place, because the checks judge live resources only.
"""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from envtest_double import paging
from envtest_double.running import Sandbox
from selftests.conftest import run_suite

pytestmark = pytest.mark.sandbox


def _suite_client(sandbox: Sandbox, service: str) -> object:
    """A client signing as the suite does (its access key id): its lists are paged."""
    return boto3.client(
        service,
        endpoint_url=sandbox.environ["AWS_ENDPOINT_URL"],
        region_name="us-west-2",
        aws_access_key_id=paging.SUITE_KEY_ID,
        aws_secret_access_key="x",
    )


def test_the_seed_holds_what_ec2_keeps_listing(sandbox: Sandbox) -> None:
    ec2 = sandbox.client("ec2")
    states = [e["State"].lower() for e in ec2.describe_vpc_endpoints()["VpcEndpoints"]]
    assert "deleted" in states and "available" in states
    runners = ec2.describe_instances(
        Filters=[{"Name": "tag:Name", "Values": [f"asg-{sandbox.world.env}-gitlab-env-runner"]}]
    )["Reservations"]
    assert {i["State"]["Name"] for r in runners for i in r["Instances"]} >= {"running", "terminated"}


def test_an_endpoint_on_its_way_out_is_not_live() -> None:
    from envtest.gather.services.ec2 import VpcEndpoint

    def endpoint(state: str) -> VpcEndpoint:
        return VpcEndpoint("vpce-1", "com.amazonaws.us-west-2.kms", "Interface", state)

    assert [endpoint(s).live for s in ("available", "pending", "deleted", "deleting", "failed")] == [
        True, True, False, False, False,
    ]  # fmt: skip


def test_the_suites_lists_come_in_pages_and_add_up_to_the_whole(sandbox: Sandbox) -> None:
    previous = sandbox.set_page_size(2)
    try:
        ec2 = _suite_client(sandbox, "ec2")
        first = ec2.describe_security_groups()  # type: ignore[attr-defined]
        whole = sandbox.client("ec2").describe_security_groups()["SecurityGroups"]
        assert len(first["SecurityGroups"]) == 2 and first["NextToken"], "the first page is not small"
        paged = [g for page in ec2.get_paginator("describe_security_groups").paginate() for g in page["SecurityGroups"]]  # type: ignore[attr-defined]
        assert sorted(g["GroupId"] for g in paged) == sorted(g["GroupId"] for g in whole)
        autoscaling = _suite_client(sandbox, "autoscaling")
        assert "NextToken" in autoscaling.describe_auto_scaling_groups()  # type: ignore[attr-defined]
    finally:
        sandbox.set_page_size(previous)


def test_at_a_page_size_of_2_every_check_has_its_verdict_with_whole_answers(
    sandbox: Sandbox, sandbox_env: dict[str, str], tmp_path: Path
) -> None:
    previous = sandbox.set_page_size(0)
    try:
        whole = run_suite(["sandbox"], sandbox_env, tmp_path)
        sandbox.set_page_size(2)
        paged = run_suite(["sandbox"], sandbox_env, tmp_path)
    finally:
        sandbox.set_page_size(previous)
    assert whole.exit_code == 0, whole.stdout + whole.stderr
    assert paged.verdicts() == whole.verdicts(), paged.stdout + paged.stderr
    calls = [int(r.stdout.rsplit(" AWS API calls", 1)[0].rsplit("; ", 1)[1]) for r in (whole, paged)]
    assert calls[1] > calls[0], f"no more calls at a page size of 2 than with whole answers: {calls}"
