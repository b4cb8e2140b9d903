"""A default run changes nothing in AWS, and secrets stay out of every output even when pytest is told to say more."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from envtest_double.faults import FAULTS
from envtest_double.running import Sandbox, moto_writes
from selftests import iam
from selftests.conftest import run_suite

pytestmark = pytest.mark.sandbox


def _state(sandbox: Sandbox) -> object:
    """moto's state, less what assuming a role records: AWS keeps no resource for temporary credentials (moto
    keeps each AssumeRole as an AssumedRole and an ASIA... access key: envtest_double/moto_server.py SESSIONS), and
    a role's last use is AWS's own bookkeeping (IAM's RoleLastUsed), which the suite's read-only policy cannot
    change otherwise and which any read through the role updates."""
    state = json.loads(sandbox.moto_state())
    state.get("sts", {}).pop("AssumedRole", None)
    iam = state.get("iam", {})
    if isinstance(iam.get("AccessKey"), list):
        iam["AccessKey"] = [k for k in iam["AccessKey"] if not str(k.get("access_key_id", "")).startswith("ASIA")]
    for role in iam.get("Role", []) if isinstance(iam.get("Role"), list) else []:
        role.pop("last_used", None)
        role.pop("role_last_used", None)
    return state


def test_a_default_run_changes_nothing_in_aws(sandbox: Sandbox, sandbox_env: dict[str, str], tmp_path: Path) -> None:
    before, writes = _state(sandbox), moto_writes(sandbox.endpoint)
    run = run_suite(["sandbox"], sandbox_env, tmp_path)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert _state(sandbox) == before
    # Not even a write that changed nothing: what lets a reset skip reseeding.
    assert moto_writes(sandbox.endpoint) == writes


def test_a_write_is_counted_and_a_reset_puts_it_back(clean_sandbox: Sandbox) -> None:
    """The control for the test above: the counter sees a fault's write, and the reset reseeds."""
    writes, before = moto_writes(clean_sandbox.endpoint), _state(clean_sandbox)
    FAULTS["K2"].seed(clean_sandbox)
    assert moto_writes(clean_sandbox.endpoint) > writes
    assert _state(clean_sandbox) != before
    clean_sandbox.reset()
    assert clean_sandbox.state["moto_writes"] == moto_writes(clean_sandbox.endpoint)
    policies = clean_sandbox.client("iam").list_role_policies(RoleName="sandbox_app_iam_role")["PolicyNames"]
    assert "added-by-hand" not in policies


PROBE_PREFIX = "envtest-access-probe/"


def _declared(sandbox: Sandbox) -> dict[str, Any]:
    """What a disruptive run must leave as it found it (tests/test_recycle.py and the live access matrix
    declare what they change: instances are replaced, probe objects may stay in write-once buckets)."""
    autoscaling, ec2, s3, iam = (sandbox.client(n) for n in ("autoscaling", "ec2", "s3", "iam"))
    groups = autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]
    keys = {
        b["Name"]: sorted(o["Key"] for o in s3.list_objects_v2(Bucket=b["Name"]).get("Contents", []))
        for b in s3.list_buckets()["Buckets"]
    }
    return {
        "groups": {g["AutoScalingGroupName"]: (g["MinSize"], g["DesiredCapacity"], g["MaxSize"]) for g in groups},
        "security_groups": sorted(
            json.dumps(g, sort_keys=True, default=str) for g in ec2.describe_security_groups()["SecurityGroups"]
        ),
        "objects": keys,
        "roles": {
            r["RoleName"]: sorted(iam.list_role_policies(RoleName=r["RoleName"])["PolicyNames"])
            for r in iam.list_roles()["Roles"]
        },
    }


def test_a_disruptive_run_puts_back_what_it_changes(
    clean_sandbox: Sandbox, sandbox_env: dict[str, str], tmp_path: Path
) -> None:
    before = _declared(clean_sandbox)
    run = run_suite(["sandbox", "-R", "true"], sandbox_env, tmp_path)
    assert run.exit_code == 0, run.stdout + run.stderr
    verdicts = run.verdicts()
    disruptive = {k: v for k, v in verdicts.items() if "recycle" in k or "on_the_instances" in k}
    assert len(disruptive) == 2 + 40 and set(disruptive.values()) == {"passed"}, disruptive
    after = _declared(clean_sandbox)
    assert after == before
    # The disruptive tests did change things: two groups scaled out and back, objects written and removed.
    record = json.loads(run.junit_path.with_suffix(".api-calls.json").read_text())
    calls = record["calls"]
    assert calls["autoscaling:UpdateAutoScalingGroup"] == 4, calls
    # The suite's own writes: one object for idp to delete (its own is get's target). The cleanup lists each
    # bucket's probe versions once and deletes by id what is there (attempts' target, escrow's idp and worker
    # probes), never a key that is not (a plain delete there would add a delete marker in a versioned bucket).
    assert calls["s3:PutObject"] == 1 and calls["s3:ListObjectVersions"] == 2, calls
    assert calls["s3:DeleteObject"] == 3, calls
    # Everything it did, the two IAM policies together allow.
    assert iam.refused(iam.statements("envtest-readonly.json", "envtest-disruptive.json"), record) == []


def test_secrets_stay_out_of_verbose_failing_runs(
    clean_sandbox: Sandbox, sandbox_env: dict[str, str], tmp_path: Path
) -> None:
    FAULTS["F15-shape"].seed(clean_sandbox)
    loud = {**sandbox_env, "PYTEST_ADDOPTS": "-vv -l --tb=long --log-level=DEBUG -rA"}
    for args in (["sandbox"], ["sandbox", "-n", "2"]):
        run = run_suite(args, loud, tmp_path)
        assert run.exit_code == 1, run.stdout + run.stderr
        outputs = {
            "stdout": run.stdout,
            "stderr": run.stderr,
            "junit": run.junit_path.read_text(),
            "html": run.junit_path.with_suffix(".html").read_text(),
        }
        assert "DEBUG" in run.junit_path.read_text() or "DEBUG" in run.stdout, "debug logging did not take effect"
        for canary in clean_sandbox.canaries.all():
            leaks = [where for where, text in outputs.items() if canary in text]
            assert leaks == [], f"a canary secret leaked into {leaks}"


def test_the_state_dump_would_see_a_change(clean_sandbox: Sandbox) -> None:
    """The no-change proof above can fail: one egress rule more shows in moto's dump."""
    before = _state(clean_sandbox)
    FAULTS["F1"].seed(clean_sandbox)
    assert _state(clean_sandbox) != before
