"""Time limits: a check past its limit has no verdict, a run past --timeout stops with its reports written."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from envtest.limits import CheckTimedOut, bounded
from envtest_double.chaos import chaos_proxy
from envtest_double.latency import LatencyModel
from envtest_double.running import Sandbox
from selftests.conftest import run_suite
from tests import test_hosts


def test_a_block_past_its_limit_is_stopped_where_it_waits_and_cleans_up() -> None:
    cleaned = []
    started = time.monotonic()
    with pytest.raises(CheckTimedOut, match=r"test_x did not finish within its limit of 0.2 s"), bounded("test_x", 0.2):
        try:
            time.sleep(5)
        finally:
            cleaned.append("restored")  # a recycle's finally: it still runs
    assert cleaned == ["restored"] and time.monotonic() - started < 2


def test_a_block_within_its_limit_is_left_alone() -> None:
    with bounded("test_x", 2):
        time.sleep(0.01)
    time.sleep(2.1)  # the alarm was cleared: nothing fires later


@pytest.mark.sandbox
def test_a_check_past_its_limit_could_not_be_evaluated(sandbox_env: dict[str, str], tmp_path: Path) -> None:
    # The app host's nc waits out its 1 s timeout on the blocked Redis port: past a 0.3 s limit.
    check = test_hosts.test_roles_that_must_not_reach_redis_cannot.__name__
    run = run_suite(["sandbox", "-t", check], {**sandbox_env, "ENVTEST_CHECK_TIMEOUT": "0.3"}, tmp_path)
    assert run.verdicts() == {check: "error"}, run.stdout + run.stderr
    assert "did not finish within its limit of 0.3 s" in run.text_of(check)
    assert run.exit_code == 2  # nothing else was evaluated


@pytest.mark.sandbox
def test_a_run_past_its_timeout_stops_with_what_ran_reported(
    sandbox: Sandbox, sandbox_env: dict[str, str], tmp_path: Path
) -> None:
    # The hosts' commands are held (SSM behind a latency proxy that finishes a command after a minute): the checks
    # that read no host finish first, then the run meets its --timeout with the host checks still waiting. A
    # plain short --timeout raced the machine's load instead (under load nothing had finished by 1.5 s, nor by
    # 8 s at load 10 on two cores).
    held = LatencyModel(service_seconds={}, operation_seconds={}, ssm_completion=60)
    with chaos_proxy(sandbox.environ["AWS_ENDPOINT_URL_SSM"], held) as ssm:
        front = {key: ssm.url for key in sandbox.environ if key.startswith("AWS_ENDPOINT_URL_")}
        started = time.monotonic()
        run = run_suite(["sandbox", "--timeout", "20"], {**sandbox_env, **front}, tmp_path)
        seconds = time.monotonic() - started
    assert run.exit_code == 2, run.stdout + run.stderr
    assert seconds < 60
    verdicts = run.verdicts()
    assert verdicts["run_timeout"] == "error"
    assert "stopped after --timeout 20 s" in run.text_of("run_timeout")
    assert "STOPPED (exit 2)" in run.stderr
    # The report is pytest's own, finished: checks that ran before the stop keep their verdicts.
    assert "passed" in verdicts.values(), verdicts
    assert verdicts.get(test_hosts.test_cloud_init_finished_without_errors.__name__) != "passed"


def test_a_bad_timeout_is_a_usage_error(tmp_path: Path) -> None:
    from envtest.cli import main

    assert main(["--timeout", "soon", "sandbox"]) == 2
