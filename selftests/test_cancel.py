"""A cancelled job (GitLab's SIGTERM to the command's process group) restores what it changed, reports, and
leaves nothing behind: no process, no temporary directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from envtest import cancel, changes
from envtest.errors import CouldNotEvaluate
from envtest.limits import CheckTimedOut, bounded
from envtest_double.running import Sandbox
from selftests.conftest import ROOT

GROUP = "sandbox-idp"


def _sizes(sandbox: Sandbox) -> tuple[int, int]:
    (group,) = sandbox.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[GROUP])[
        "AutoScalingGroups"
    ]
    return int(group["DesiredCapacity"]), int(group["MaxSize"])


def _marked_processes(mark: str) -> list[str]:
    """Processes whose environment carries `mark`: the command's, and everything it started."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if mark.encode() in (proc / "environ").read_bytes():
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ")[:120]
                found.append(f"{proc.name}: {command!r}")
        except OSError:  # gone meanwhile, or a kernel thread
            continue
    return found


@pytest.mark.sandbox
def test_sigterm_to_the_command_mid_recycle_restores_the_group_and_leaves_nothing(
    clean_sandbox: Sandbox, sandbox_env: dict[str, str], tmp_path: Path
) -> None:
    if "ENVTEST_NO_INSTANCES" in clean_sandbox.environ:
        pytest.skip(clean_sandbox.environ["ENVTEST_NO_INSTANCES"])
    before = _sizes(clean_sandbox)
    # Held mid-recycle: with Launch suspended the group takes the doubled capacity and launches nothing, so the
    # recycle waits for capacity (policy [recycle] capacity_timeout) until the cancel comes. clean_sandbox's
    # reset resumes it.
    clean_sandbox.client("autoscaling").suspend_processes(AutoScalingGroupName=GROUP, ScalingProcesses=["Launch"])
    mark = f"ENVTEST_SELFTEST_MARK_{uuid.uuid4().hex}"
    temp = tmp_path / "tmp"
    temp.mkdir()
    junit_path = tmp_path / "junit.xml"
    # As GitLab starts a job's command: a process group of its own, which the cancel's SIGTERM is sent to.
    proc = subprocess.Popen(
        [sys.executable, "-m", "envtest", "-j", str(junit_path), "sandbox", "-R", "true", "-t", "recycle"],
        cwd=ROOT,
        env={**sandbox_env, "TMPDIR": str(temp), mark: "1"},
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while _sizes(clean_sandbox) == before:  # mid-recycle: the group scaled out
            assert proc.poll() is None, "the run ended before its recycle scaled the group out"
            assert time.monotonic() < deadline, "the recycle never scaled the group out"
            time.sleep(0.05)
        time.sleep(0.5)  # into the wait for capacity
        os.killpg(proc.pid, signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 2, stdout + stderr
    assert _sizes(clean_sandbox) == before
    report = junit_path.read_text()
    assert "run_cancelled" in report and "the run was cancelled (SIGTERM)" in report, report
    assert f"Put back before stopping: Auto Scaling group {GROUP}: desired" in report, report
    assert "run_changes_restored" not in report, report  # nothing was left unrestored
    assert f"Changes made: Auto Scaling group {GROUP}" in junit_path.with_suffix(".html").read_text()
    assert _marked_processes(mark) == []
    assert sorted(p.name for p in temp.iterdir() if p.name.startswith("envtest-run-")) == []


def test_a_signal_during_a_restore_waits_until_the_restore_is_done() -> None:
    done = []
    with pytest.raises(cancel.Cancelled), cancel.shielded():
        cancel.interrupt(cancel.Cancelled("cancelled by SIGTERM"))  # what the handler does mid-restore
        done.append("restored")
    assert done == ["restored"]


def test_a_time_limit_during_a_restore_waits_until_the_restore_is_done() -> None:
    done = []
    with pytest.raises(CheckTimedOut), bounded("a check", 0.05), cancel.shielded():
        time.sleep(0.2)  # the alarm fires here
        done.append("restored")
    assert done == ["restored"]


def test_a_change_never_settled_is_reported_with_the_way_back(tmp_path: Path) -> None:
    journal = changes.Journal(tmp_path)
    first = journal.changed("Auto Scaling group dev-idp", "desired 2 -> 4", "aws autoscaling ... 2")
    journal.changed("Auto Scaling group dev-elk", "desired 1 -> 2", "aws autoscaling ... 1")
    journal.restored(first)
    (tmp_path / changes.JOURNAL).open("a").write('{"key": "cut sho')  # a line a kill cut short
    made = changes.read(tmp_path)
    assert [c.state for c in made] == [changes.RESTORED, changes.CHANGED]
    assert "NOT confirmed restored" in made[1].describe() and "aws autoscaling ... 1" in made[1].describe()


def test_a_restore_that_fails_is_settled_as_not_restored(tmp_path: Path) -> None:
    journal = changes.Journal(tmp_path)
    key = journal.changed("Auto Scaling group dev-idp", "desired 2 -> 4", "aws autoscaling ... 2")
    journal.not_restored(key, str(CouldNotEvaluate("throttled")))
    (made,) = changes.read(tmp_path)
    assert made.state == changes.NOT_RESTORED and "throttled" in made.describe()


def test_a_change_left_unsettled_is_an_error_in_the_report_with_the_way_back(tmp_path: Path) -> None:
    from envtest.report import junit
    from envtest.run_reports import report_changes

    report = tmp_path / "junit.xml"
    junit.preflight_failure(report, "pytest", "pytest stopped before it wrote a report", {"env": "dev"})
    by_hand = "aws autoscaling update-auto-scaling-group --auto-scaling-group-name dev-idp --desired-capacity 2"
    changes.Journal(tmp_path).changed("Auto Scaling group dev-idp", "desired 2 -> 4", by_hand)
    summary = report_changes(report, tmp_path)
    assert summary is not None and summary.errors == 2
    text = report.read_text()
    assert "run_changes_restored" in text and "NOT confirmed restored" in text and by_hand in text
