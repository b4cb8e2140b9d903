"""The suite against the real sandbox: the clean sandbox passes every check,
and each seeded fault is caught by the check that exists for it."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from envtest import catalogue
from envtest.fixtures.s3_access import matrix_cells
from envtest.policy import load_policy
from envtest.report.junit import verdict_of
from envtest_double import env_facts
from envtest_double.faults import FAULTS, Fault
from envtest_double.prove import SuiteRun, prove_fault
from envtest_double.running import Sandbox
from selftests.conftest import ROOT, base_environ, run_suite

# The checks are named by their functions, so a renamed check fails here at import, not as a silent miss.
from tests import test_lockdown, test_runner
from tests.images import test_lockdown_probe as lockdown_probe
from tests.images import test_pipeline
from tests.images import test_runner_config as runner_config
from tests.network import test_proxy_paths as proxy_paths
from tests.network import test_proxy_probes as proxy_probes
from tests.test_recycle import RECYCLED

pytestmark = pytest.mark.sandbox

LOCKDOWN = lockdown_probe.test_env_runner_refuses_a_forbidden_image.__name__
CHECKS = catalogue.checks()
CELLS = [cell.id for cell in matrix_cells(load_policy("sandbox"))]
# The real code's hole (the runner reaches the IdP's proxy), which every sandbox waives in its policy override
# (envtest_double/sandbox-waivers.toml): the clean sandbox reports these waived, never passed and never failed.
WAIVED = {
    proxy_paths.test_no_proxy_the_runner_reaches_allows_a_name_its_own_allowlist_refuses.__name__,
    proxy_paths.test_no_other_proxy_the_runner_reaches_lets_a_must_deny_name_through.__name__,
}


def _waived(run: SuiteRun) -> set[str]:
    return {case.name or "" for suite in run.junit for case in suite if verdict_of(case) == "waived"}


def _cases(check: catalogue.Check) -> list[str]:
    """The test ids pytest reports for a check: one per case for the parametrized ones."""
    if "parametrize" not in check.markers:
        return [check.name]
    cases = RECYCLED if check.area == "recycle" else CELLS
    return [f"{check.name}[{case}]" for case in cases]


ALL_CHECKS = {case for check in CHECKS.values() if "disruptive" not in check.markers for case in _cases(check)}
# Disruptive: in every report, skipped with the reason unless -R true.
DISRUPTIVE = {case for check in CHECKS.values() if "disruptive" in check.markers for case in _cases(check)}


def test_clean_sandbox_passes_every_check(sandbox: Sandbox, sandbox_env: dict[str, str], tmp_path: Path) -> None:
    run = run_suite(["sandbox"], sandbox_env, tmp_path)
    assert run.exit_code == 0, run.stdout + run.stderr
    verdicts = run.verdicts()
    assert set(verdicts) == ALL_CHECKS | DISRUPTIVE
    # The live lockdown probe included: the sandbox's GitLab double and its runner refused the probe's image.
    assert _waived(run) == WAIVED
    assert {v for k, v in verdicts.items() if k not in DISRUPTIVE | WAIVED} == {"passed"}, verdicts
    assert {verdicts[k] for k in DISRUPTIVE} == {"skipped"}
    properties = {p.name: p.value for suite in run.junit for p in suite.properties()}
    assert properties["env"] == "sandbox"
    assert properties["account"] == "********9012"
    assert int(properties["api_calls"]) > 0
    assert properties["run_kind"] == "sandbox"
    assert {case.classname for suite in run.junit for case in suite} == {
        "runner",
        "terraform",
        "network",
        "images",
        "hosts",
        "edge",
        "s3_access",
        "recycle",
        "logs",
        "lockdown",
    }


def test_parallel_workers_share_what_was_gathered(sandbox_env: dict[str, str], tmp_path: Path) -> None:
    serial = run_suite(["sandbox"], sandbox_env, tmp_path)
    parallel = run_suite(["sandbox", "-n", "2"], sandbox_env, tmp_path)
    assert serial.exit_code == parallel.exit_code == 0, parallel.stdout + parallel.stderr
    # Looks at a running command are as many as its run takes; every other call is one read of one state.
    polls = {"ssm:GetCommandInvocation", "ssm:ListCommandInvocations"}
    calls = [
        {op: n for op, n in json.loads(r.junit_path.with_suffix(".api-calls.json").read_text())["calls"].items()}
        for r in (serial, parallel)
    ]
    # A session, not a read of state: each worker that reads the GitLab account assumes its role once; the
    # temporary credentials are never written to the run's shared cache (a secret on disk).
    sessions = {"sts:AssumeRole"}
    reads = [{op: n for op, n in c.items() if op not in polls | sessions} for c in calls]
    # Each kind of state is read once per run, whichever worker asks first.
    assert reads[0] == reads[1], reads
    assert calls[0].get("sts:AssumeRole", 0) == 1 <= calls[1].get("sts:AssumeRole", 0) <= 2, calls
    assert reads[0]["ssm:SendCommand"] > 0, "no host read was made: the comparison says nothing about them"


def test_every_check_has_a_fault_that_it_catches() -> None:
    """checks.md: each check has a self-test that seeds its fault and shows it caught. A check whose fault
    needs a GitLab or writes to AWS names the self-test that seeds it (proven_in), which must exist and
    mention it."""
    assert len(ALL_CHECKS | DISRUPTIVE) > len(CHECKS) > 50
    caught = {name.split("[", 1)[0] for fault in FAULTS.values() for name in fault.caught_by}
    elsewhere = {check.name: check.proven_in for check in CHECKS.values() if check.proven_in}
    for check, where in elsewhere.items():
        assert check in (ROOT / where).read_text(), f"{where} does not mention {check}"
    assert sorted(set(CHECKS) - caught - set(elsewhere)) == []


def test_every_fault_a_check_names_is_in_the_table() -> None:
    """A mistyped id in a mark would catch nothing, silently."""
    assert sorted(catalogue.fault_ids() - set(FAULTS)) == []
    # A row with nothing to catch is either a guard that stops the run (exit 2) or a change that must not fail.
    assert sorted(f.id for f in FAULTS.values() if not f.caught_by and f.exit_code == 1) == []


def _fault_params(era: str) -> list[pytest.param]:
    return [pytest.param(fault, id=f"{fault.id}: {fault.title}") for fault in FAULTS.values() if fault.era == era]


@pytest.mark.parametrize("fault", _fault_params("file"))
def test_seeded_fault_is_caught(fault: Fault, clean_sandbox: Sandbox, tmp_path: Path) -> None:
    _seed_and_judge(fault, clean_sandbox, tmp_path)


@pytest.fixture
def clean_pattern_sandbox(pattern_sandbox: Sandbox) -> Iterator[Sandbox]:
    yield pattern_sandbox
    pattern_sandbox.reset()


def test_clean_pattern_era_sandbox_passes_every_check_that_applies(pattern_sandbox: Sandbox, tmp_path: Path) -> None:
    run = run_suite(["sandbox"], {**base_environ(), **pattern_sandbox.environ}, tmp_path)
    assert run.exit_code == 0, run.stdout + run.stderr
    verdicts = run.verdicts()
    # The file's own checks do not apply when the runner reads no file; they say so.
    file_only = {name for name, v in verdicts.items() if v == "skipped" and "mode = pattern" in run.text_of(name)}
    assert file_only == {c.name for c in CHECKS.values() if c.path == "images/test_allowed_images.py"} | {
        test_lockdown.test_no_other_role_can_write_the_allowed_images_file.__name__
    }
    applies = set(verdicts) - file_only - DISRUPTIVE - WAIVED
    assert _waived(run) == WAIVED
    assert {verdicts[name] for name in applies} == {"passed"}, verdicts
    for name in (
        runner_config.test_runner_allows_exactly_the_images_in_force.__name__,
        test_pipeline.test_pipeline_uses_only_allowed_images.__name__,
        LOCKDOWN,
    ):
        assert verdicts[name] == "passed"


@pytest.mark.parametrize("fault", _fault_params("pattern"))
def test_seeded_pattern_era_fault_is_caught(fault: Fault, clean_pattern_sandbox: Sandbox, tmp_path: Path) -> None:
    _seed_and_judge(fault, clean_pattern_sandbox, tmp_path)


def _seed_and_judge(fault: Fault, sandbox: Sandbox, tmp_path: Path) -> None:
    if fault.needs_instances and "ENVTEST_NO_INSTANCES" in sandbox.environ:
        pytest.skip(f"{fault.id} is seeded on emulated instances: {sandbox.environ['ENVTEST_NO_INSTANCES']}")
    # The fault's areas only: --prove (run in CI) judges every fault against the whole suite.
    row, run = prove_fault(sandbox, fault, tmp_path, areas_only=True)
    assert row.ok, f"{row.verdict}: missed {row.missed}, false alarms {row.false_alarms}\n{run.stdout}{run.stderr}"
    # Every failure path keeps the secrets out of every output.
    html = run.junit_path.with_suffix(".html")
    outputs = [run.stdout, run.stderr, run.junit_path.read_text(), html.read_text() if html.exists() else ""]
    for canary in sandbox.canaries.all():
        assert not any(canary in text for text in outputs), f"a canary leaked under {fault.id}"
    if fault.exit_code == 2:
        # Stopped before any check: one error naming both sides, and nothing passed.
        assert list(run.verdicts().values()) == ["error"]
        text = run.text_of(next(iter(run.verdicts())))
        assert "'sandbox'" in text, text
        assert any(other in text for other in ("'other'", "'stages/other'")) or (
            "********4321" in text and "********9012" in text
        ), text
        return
    for check in fault.caught_by:
        text = run.text_of(check)
        assert "expected:" in text and "found:" in text and "fix:" in text, text
    # A row that catches nothing is a change the suite must not call wrong (it exits 0): nothing to fix.
    assert ("What to fix:" in run.stdout) == bool(fault.caught_by), run.stdout


def test_prove_prints_the_detection_table() -> None:
    """The command itself, on two faults (the parametrized test above covers every row)."""
    done = subprocess.run(
        [str(ROOT / "run_tests.sh"), "--prove", "-n", "1", "F12", "F20"],
        env=base_environ(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "clean sandbox (file era): exit 0" in done.stdout
    no_services = runner_config.test_runner_allows_no_services.__name__.removeprefix("test_")
    assert re.search(rf"^F12\s+caught\s+{no_services}", done.stdout, re.M), done.stdout
    assert re.search(r"^F20\s+caught\s+\(run stops: exit 2\)", done.stdout, re.M), done.stdout
    assert "2 caught, 0 missed" in done.stdout


def test_a_check_that_writes_to_aws_fails_with_the_operation_named(sandbox_env: dict[str, str], tmp_path: Path) -> None:
    check = Path(__file__).resolve().parent / "probes" / "write_probe.py"
    run = run_suite(["sandbox", "-t", str(check)], sandbox_env, tmp_path)
    assert run.exit_code == 1, run.stdout + run.stderr
    assert run.verdicts() == {"test_writes_a_tag": "failed"}
    assert "read-only guard refused s3:PutObject" in run.text_of("test_writes_a_tag")


def test_missing_credentials_stop_the_run_with_one_line(sandbox_env: dict[str, str], tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in sandbox_env.items()
        if not k.startswith("AWS_ACCESS") and not k.startswith("AWS_SECRET") and k != "AWS_SESSION_TOKEN"
    }
    env["AWS_SHARED_CREDENTIALS_FILE"] = env["AWS_CONFIG_FILE"] = str(tmp_path / "none")
    run = run_suite(["sandbox"], env, tmp_path)
    assert run.exit_code == 2, run.stdout + run.stderr
    assert "no AWS credentials found" in run.stderr
    assert "passed" not in run.verdicts().values()


def test_unreachable_endpoint_stops_the_run(sandbox_env: dict[str, str], tmp_path: Path) -> None:
    from envtest_double.processes import free_port

    env = {**sandbox_env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}
    run = run_suite(["sandbox"], env, tmp_path, timeout=120)
    assert run.exit_code == 2, run.stdout + run.stderr
    assert "did not answer" in run.stderr
    assert "passed" not in run.verdicts().values()


def test_proxy_down_fails_the_proxy_checks_with_the_cause(sandbox_env: dict[str, str], tmp_path: Path) -> None:
    from envtest_double.processes import free_port

    env = {**sandbox_env, "PROXY_URL": f"http://127.0.0.1:{free_port()}"}
    run = run_suite(["sandbox"], env, tmp_path)
    assert run.exit_code == 1
    verdicts = run.verdicts()
    accepts, answers = (
        test_runner.test_outbound_proxy_accepts_connections,
        test_runner.test_gitlab_host_answers_through_the_proxy,
    )
    assert verdicts[accepts.__name__] == verdicts[answers.__name__] == "failed"
    assert "connection refused" in run.text_of(accepts.__name__)
    # What the proxy allows or denies cannot be told when no proxy answers: no verdict, and no wrong fix.
    lets, refuses = (
        proxy_probes.test_proxy_lets_every_must_allow_name_through,
        proxy_probes.test_proxy_refuses_every_must_deny_name,
    )
    assert verdicts[lets.__name__] == verdicts[refuses.__name__] == "error"
    assert "refused connections" in run.text_of(refuses.__name__)


def test_secrets_never_reach_any_output(clean_sandbox: Sandbox, sandbox_env: dict[str, str], tmp_path: Path) -> None:
    """The canaries stay out of stdout, stderr and JUnit, in a clean run and in a failing one."""
    runs = [run_suite(["sandbox"], sandbox_env, tmp_path)]
    # A token with the wrong shape: the failure must describe it without showing it.
    clean_sandbox.client("s3", account=env_facts.GITLAB_ACCOUNT).put_object(
        Bucket=clean_sandbox.world.bucket("gitlabconfig"),
        Key="gitlab_runner_token",
        Body=f"{clean_sandbox.canaries.registration_token} trailing words\n".encode(),
    )
    runs.append(run_suite(["sandbox", "-n", "2"], sandbox_env, tmp_path))
    assert runs[1].exit_code == 1
    for run in runs:
        outputs = {"stdout": run.stdout, "stderr": run.stderr, "junit": run.junit_path.read_text()}
        for canary in clean_sandbox.canaries.all():
            for where, text in outputs.items():
                assert canary not in text, f"a canary secret leaked into {where}"
