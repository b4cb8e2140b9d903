"""A bad day at AWS, from a fault-injecting proxy (envtest_double/chaos.py) in front of the sandbox's endpoints.

Every AWS call of the run goes through the proxy: it sits in front of the instances' endpoint, which answers
what moto cannot (SSM, IAM's simulator, cross-account ECR, TestMetricFilter) and passes the rest to moto.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from envtest_double.chaos import chaos_proxy
from envtest_double.running import Sandbox
from selftests.conftest import run_suite
from tests import test_runner
from tests.images import test_allowed_images as allowed_images
from tests.network import test_egress as egress

pytestmark = pytest.mark.sandbox


def test_throttling_and_5xx_bursts_are_retried_to_the_right_verdicts(
    sandbox: Sandbox, sandbox_env: dict[str, str], tmp_path: Path
) -> None:
    with chaos_proxy(sandbox.front_endpoint) as chaos:
        chaos.mode = "burst:3"  # the first call is throttled three times running
        serial = run_suite(["sandbox"], {**sandbox_env, **sandbox.through(chaos.url)}, tmp_path)
        assert chaos.injected == 3, "the burst did not happen"
        # Then every fourth request is throttled or a 500. Not every other one: botocore's retry quota (500
        # tokens per client, 5 per retry, 1 back per success) runs dry under a sustained 50% failure rate, and
        # then it stops retrying, as it would against AWS; the checks then error, which is a verdict too, but
        # not the one this test is about.
        chaos.mode = "flaky:4"
        parallel = run_suite(["sandbox", "-n", "2"], {**sandbox_env, **sandbox.through(chaos.url)}, tmp_path)
    assert chaos.injected > 10, "the flakiness did not happen"
    for run in (serial, parallel):
        assert run.exit_code == 0, run.stdout + run.stderr
        assert set(run.verdicts().values()) <= {"passed", "skipped"}


def test_an_endpoint_that_stops_answering_midrun_stops_the_run_in_bounded_time(
    sandbox: Sandbox, sandbox_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**sandbox_env, "ENVTEST_AWS_READ_TIMEOUT": "1", "ENVTEST_AWS_MAX_ATTEMPTS": "2"}
    with chaos_proxy(sandbox.front_endpoint) as chaos:
        chaos.mode = "hang-after:2"  # the preflight's two reads get through; then nothing answers
        start = time.monotonic()
        run = run_suite(["sandbox", "-n", "2"], {**env, **sandbox.through(chaos.url)}, tmp_path, timeout=240)
        seconds = time.monotonic() - start
    assert run.exit_code == 2, run.stdout + run.stderr
    assert "stopped answering" in run.stderr
    # The checks wait on no call longer than the run's own read timeout allows (the early host
    # reads once used the preflight's patient clients, and the run took half a minute here).
    assert seconds < 25, f"took {seconds:.0f} s"
    verdicts = run.verdicts()
    # Whatever needed AWS has no verdict; nothing that needed AWS passed.
    for check in (
        test_runner.test_env_runner_group_exists.__name__,
        allowed_images.test_every_allowed_digest_exists_in_ecr.__name__,
        egress.test_runner_egress_holds_only_declared_rules.__name__,
    ):
        assert verdicts[check] == "error", (check, verdicts[check])
    assert "failed" not in verdicts.values(), verdicts


def test_an_expired_session_stops_the_run_with_one_line_that_says_renew(
    sandbox: Sandbox, sandbox_env: dict[str, str], tmp_path: Path
) -> None:
    with chaos_proxy(sandbox.front_endpoint) as chaos:
        chaos.mode = "expired"
        run = run_suite(["sandbox"], {**sandbox_env, **sandbox.through(chaos.url)}, tmp_path)
    assert run.exit_code == 2
    stop_lines = [line for line in run.stderr.splitlines() if line.startswith("STOPPED")]
    assert len(stop_lines) == 1 and "ExpiredToken" in stop_lines[0] and "renew it" in stop_lines[0]
    assert "passed" not in run.verdicts().values()
