"""Fixtures for the project's own tests: a real sandbox, and a way to run the suite against it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from junitparser import JUnitXml

from envtest.sandbox.cli import start_sandbox
from envtest.sandbox.handle import Sandbox
from envtest.sandbox.processes import SandboxError, marked_processes, stop_all

ROOT = Path(__file__).resolve().parents[1]
SCRUB = (
    "MY_ENV",
    "CI_COMMIT_BRANCH",
    "ENV_NAME",
    "AWS_PROFILE",
    "AWS_VAULT",
    "EXPECTED_ACCOUNT_ID",
    "TF_OUTPUTS_JSON",
    "TF_DIR",
    "TF_STATE_BUCKET",
    "TF_STATE_KEY",
    "HOSTS_ROOT",
    "PROXY_URL",
    "ENVTEST_DISRUPTIVE",
)


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str
    junit_path: Path

    @property
    def junit(self) -> JUnitXml:
        return JUnitXml.fromfile(str(self.junit_path))

    def verdicts(self) -> dict[str, str]:
        """check name -> passed / failed / error / skipped."""
        out = {}
        for suite in self.junit:
            for case in suite:
                kind = "passed"
                if case.result:
                    kind = {"Failure": "failed", "Error": "error", "Skipped": "skipped"}[type(case.result[0]).__name__]
                out[case.name] = kind
        return out

    def text_of(self, check: str) -> str:
        for suite in self.junit:
            for case in suite:
                if case.name == check and case.result:
                    return "\n".join(filter(None, [case.result[0].message, case.result[0].text]))
        raise AssertionError(f"{check} has no failure text")


def base_environ() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUB and not k.startswith("AWS_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def run_suite(args: list[str], environ: dict[str, str], tmp_path: Path, timeout: float = 180) -> Run:
    """Run the command line (`python -m envtest`, what run_tests.sh execs) in a subprocess."""
    junit = tmp_path / f"junit-{len(list(tmp_path.glob('junit-*.xml')))}.xml"
    done = subprocess.run(
        [sys.executable, "-m", "envtest", "-j", str(junit), *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr, junit)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    # Under /tmp, not pytest's 0700 tmp_path: squid, once it drops root, must reach the directory.
    directory = Path(tempfile.mkdtemp(prefix="envtest-selftest-sandbox-"))
    try:
        start_sandbox(directory)
    except SandboxError as exc:
        stop_all(directory)
        pytest.fail(f"the sandbox did not start: {exc}")
    try:
        yield Sandbox(directory)
    finally:
        survivors = stop_all(directory)
        leftovers = marked_processes(directory)
        shutil.rmtree(directory, ignore_errors=True)
        assert not survivors and not leftovers, f"sandbox processes survived: {survivors} {leftovers}"


@pytest.fixture
def clean_sandbox(sandbox: Sandbox) -> Iterator[Sandbox]:
    """The shared sandbox, reset to its clean state after the test changed it."""
    yield sandbox
    sandbox.reset()


@pytest.fixture
def sandbox_env(sandbox: Sandbox) -> dict[str, str]:
    return {**base_environ(), **sandbox.environ}
