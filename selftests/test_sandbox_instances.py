"""The sandbox's emulated instances, through the suite's own gather layer: SSM RunCommand really runs,
security groups really filter, a recycle always restores capacity, and without instances the checks say why."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from envtest import catalogue
from envtest.errors import CouldNotEvaluate
from envtest.gather.asg import group_state, scaled_out, wait_for_capacity
from envtest.gather.aws import Aws
from envtest.gather.aws_guard import writes_allowed
from envtest.hosts.ssm import run_command
from envtest.hosts.transports import Ssm
from envtest_double.faults import FAULTS
from envtest_double.processes import stop_all
from envtest_double.running import Sandbox
from envtest_double.startup import start_sandbox
from selftests.conftest import base_environ, run_suite
from tests import test_recycle, test_s3_access
from tests.images import test_runner_config as runner_config

ESCROW_DELETE = "escrow-worker-delete-refused"
MATRIX_CHECKS = (
    test_s3_access.test_bucket_access_matches_the_matrix,
    test_s3_access.test_bucket_access_on_the_instances_matches_the_matrix,
)

pytestmark = pytest.mark.sandbox


@pytest.fixture
def aws(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """Clients on the sandbox; commands may be sent from the test itself, as from a disruptive check that
    declares ssm:SendCommand (the read-only guard sends others only from the run's host reads)."""
    if "ENVTEST_NO_INSTANCES" in sandbox.environ:
        pytest.skip(f"no emulated instances here: {sandbox.environ['ENVTEST_NO_INSTANCES']}")
    for key, value in sandbox.environ.items():
        monkeypatch.setenv(key, value)
    with writes_allowed(True, "these self-tests send commands themselves", ["ssm:SendCommand"]):
        yield Aws(sandbox.environ["AWS_REGION"])


def _ids(sandbox: Sandbox, group: str) -> list[str]:
    found = sandbox.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[group])
    return [i["InstanceId"] for i in found["AutoScalingGroups"][0]["Instances"]]


def test_one_command_fans_out_and_each_instance_answers_from_its_own_address(sandbox: Sandbox, aws: Aws) -> None:
    ids = [i for role in ("idp", "app", "elk", "worker") for i in _ids(sandbox, f"sandbox-{role}")]
    results = run_command(aws, ids, "ip -4 -o addr show dev eth0 | awk '{print $4}'", poll_interval=0.2)
    described = sandbox.client("ec2").describe_instances(InstanceIds=ids)["Reservations"]
    addresses = {i["InstanceId"]: i["PrivateIpAddress"] for r in described for i in r["Instances"]}
    assert {i: r.stdout.strip() for i, r in results.items()} == {i: f"{a}/16" for i, a in addresses.items()}


def test_a_role_sees_its_files_at_their_real_paths_and_the_machine_does_not(sandbox: Sandbox, aws: Aws) -> None:
    (elk,) = _ids(sandbox, "sandbox-elk")
    result = run_command(aws, [elk], "cat /var/lib/cloud/data/status.json", poll_interval=0.2)[elk]
    assert result.exit_code == 0 and '"modules-final"' in result.stdout
    assert not Path("/var/lib/cloud/data/status.json").exists() or os.environ.get("CI_KEEP_CLOUD_INIT")


def test_a_file_larger_than_ssm_output_is_read_whole_in_chunks(clean_sandbox: Sandbox, aws: Aws) -> None:
    (elk,) = _ids(clean_sandbox, "sandbox-elk")
    data = os.urandom(60_000) + b"x" * 500_000  # incompressible, then very compressible: several chunks
    clean_sandbox.host_path("elk", "/var/lib/envtest-sandbox/big.bin").write_bytes(data)
    assert Ssm(aws, elk, poll_interval=0.2).read_file("/var/lib/envtest-sandbox/big.bin") == data
    with pytest.raises(CouldNotEvaluate, match="cannot read /nonexistent: no such readable file"):
        Ssm(aws, elk, poll_interval=0.2).read_file("/nonexistent")


def test_a_command_that_outlives_its_wait_is_named_with_its_instance(sandbox: Sandbox, aws: Aws) -> None:
    (idp,) = _ids(sandbox, "sandbox-idp")
    with pytest.raises(CouldNotEvaluate, match=rf"'sleep 20' on {idp}: no result in time"):
        run_command(aws, [idp], "sleep 20", timeout=1, poll_interval=0.2)


def test_an_instance_ssm_does_not_know_is_named(aws: Aws) -> None:
    with pytest.raises(CouldNotEvaluate, match=r"not Online within 0 s on i-0000000000000dead \(not registered\)"):
        run_command(aws, ["i-0000000000000dead"], "true", online_timeout=0)


def test_security_groups_filter_between_instances(sandbox: Sandbox, aws: Aws) -> None:
    """Redis answers idp (its group allows it) and not app, with real connections."""
    estate = sandbox.state["estate"]
    redis = estate["redis"]["names"][0]
    (idp,), (app,) = _ids(sandbox, "sandbox-idp"), _ids(sandbox, "sandbox-app")
    results = run_command(aws, [idp, app], f"nc -z -w 2 {redis} 6379", poll_interval=0.2)
    assert (results[idp].exit_code, results[app].exit_code) == (0, 1)
    ping = run_command(aws, [idp], f"printf 'PING\\r\\n' | nc -w 2 {redis} 6379", poll_interval=0.2)[idp]
    assert "+PONG" in ping.stdout  # Debian's redis-server, not a port that merely opens


def test_a_recycle_that_fails_midway_still_restores_the_group(clean_sandbox: Sandbox, aws: Aws) -> None:
    before = group_state(aws, "sandbox-idp")
    with writes_allowed(True, "this self-test recycles on purpose", ["autoscaling:UpdateAutoScalingGroup"]):
        with pytest.raises(CouldNotEvaluate, match="did not reach 5 InService"), scaled_out(aws, "sandbox-idp", 2):
            wait_for_capacity(aws, "sandbox-idp", 5, timeout=0.5, poll_interval=0.1)
        after = group_state(aws, "sandbox-idp")
    assert (after.desired, after.max_size) == (before.desired, before.max_size)


def test_a_recycle_with_cloud_init_errors_fails_and_restores_capacity(
    clean_sandbox: Sandbox, sandbox_env: dict[str, str], tmp_path: Path
) -> None:
    if "ENVTEST_NO_INSTANCES" in clean_sandbox.environ:
        pytest.skip(clean_sandbox.environ["ENVTEST_NO_INSTANCES"])
    FAULTS["H3"].seed(clean_sandbox)
    sizes = {g: _ids(clean_sandbox, g) for g in ("sandbox-idp", "sandbox-elk")}
    run = run_suite(["sandbox", "-R", "true", "-t", "recycle"], sandbox_env, tmp_path)
    verdicts = run.verdicts()
    recycles = test_recycle.test_group_recycles_and_comes_back_healthy.__name__
    assert verdicts == {f"{recycles}[idp]": "passed", f"{recycles}[elk]": "failed"}, run.stdout + run.stderr
    assert "cloud-init recorded no errors" in run.text_of(f"{recycles}[elk]")
    # Same sizes, new instances: the old ones were retired.
    after = {g: _ids(clean_sandbox, g) for g in sizes}
    assert {g: len(i) for g, i in after.items()} == {g: len(i) for g, i in sizes.items()}
    assert all(not set(after[g]) & set(sizes[g]) for g in sizes), (sizes, after)


def test_the_live_access_matrix_catches_a_role_that_may_delete_from_escrow(
    clean_sandbox: Sandbox, sandbox_env: dict[str, str], tmp_path: Path
) -> None:
    if "ENVTEST_NO_INSTANCES" in clean_sandbox.environ:
        pytest.skip(clean_sandbox.environ["ENVTEST_NO_INSTANCES"])
    FAULTS["H2"].seed(clean_sandbox)
    run = run_suite(["sandbox", "-R", "true", "-t", "s3_access"], sandbox_env, tmp_path)
    failed = {k for k, v in run.verdicts().items() if v == "failed"}
    simulated, live = (f"{c.__name__}[{ESCROW_DELETE}]" for c in MATRIX_CHECKS)
    assert failed == {simulated, live}, run.stdout + run.stderr
    assert "S3 authorised it" in run.text_of(live)


@pytest.fixture(scope="module")
def sandbox_without_instances() -> Iterator[dict[str, str]]:
    directory = Path(tempfile.mkdtemp(prefix="envtest-selftest-noinstances-"))
    previous = os.environ.get("ENVTEST_SANDBOX_INSTANCES")
    os.environ["ENVTEST_SANDBOX_INSTANCES"] = "off"
    try:
        environ = start_sandbox(directory)
    finally:
        if previous is None:
            os.environ.pop("ENVTEST_SANDBOX_INSTANCES")
        else:
            os.environ["ENVTEST_SANDBOX_INSTANCES"] = previous
    try:
        yield {**base_environ(), **environ}
    finally:
        stop_all(directory)
        shutil.rmtree(directory, ignore_errors=True)


def test_without_instances_the_host_checks_skip_saying_why(
    sandbox_without_instances: dict[str, str], tmp_path: Path
) -> None:
    run = run_suite(["sandbox"], sandbox_without_instances, tmp_path)
    assert run.exit_code == 0, run.stdout + run.stderr
    verdicts = run.verdicts()
    host_checks = [c.name for c in catalogue.checks().values() if c.area == "hosts"]
    assert len(host_checks) > 5
    assert {verdicts[c] for c in host_checks} == {"skipped"}
    assert "ENVTEST_SANDBOX_INSTANCES=off" in run.junit_path.read_text()
    # Everything that does not need an instance still ran.
    assert verdicts[runner_config.test_runner_allows_no_services.__name__] == "passed"
    assert verdicts[f"{MATRIX_CHECKS[0].__name__}[{ESCROW_DELETE}]"] == "passed"
