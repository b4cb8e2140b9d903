"""The command (envtest/cli.py, run.py) starts pytest before importing pytest or boto3; the checks use botocore.

The command's own imports come before pytest's process starts, so before the run's first AWS call: importing
pytest and boto3 there cost a tenth of a second on every run, and boto3 again when the reports were written
(benchmarks/latency.md). The preflight's outcome (session_outcome.py) and the endpoint breaker
(gather/endpoint_breaker.py) are their own light modules for that reason.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pytest", "boto3", "botocore")


def _imported(modules: str) -> set[str]:
    code = f"import sys\nimport {modules}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(done.stdout.split())


@pytest.mark.parametrize(
    "modules",
    [
        "envtest.cli",
        "envtest.run_reports, envtest.changes, envtest.gather.endpoint_breaker, envtest.gather.aws_calls, "
        "envtest.report.html, envtest.report.json_report, envtest.policy",
        "envtest.pytest_main, envtest.early_start",
    ],
    ids=["before-pytest-starts", "while-reporting", "the-checks-process-before-pytest"],
)
def test_the_command_imports_neither_pytest_nor_boto3(modules: str) -> None:
    assert _imported(modules) == set()


def test_the_check_sees_an_import_of_either() -> None:
    # Seeded: the preflight's own module is a pytest plugin, the gather layer is botocore's, and the sandbox
    # (the test double, never imported by the product) uses boto3.
    assert _imported("envtest.session_preflight, envtest.gather.aws") == {"pytest", "botocore"}
    assert _imported("envtest_double.running") >= {"boto3"}


def test_the_plan_and_the_steps_the_run_start_needs_import_no_pytest() -> None:
    """The checks' process plans and sends the host reads before it imports pytest (early_start.py)."""
    assert _imported("envtest.plan, envtest.hosts.steps, envtest.hosts.reads") == {"botocore"}


def test_the_checks_process_uses_botocore_without_boto3() -> None:
    # gather/aws.py builds botocore's session itself: boto3's resources and S3 transfer methods are never used,
    # and importing boto3 (its s3transfer package) cost every run 0.08 s before its first call.
    modules = "envtest.session_preflight, envtest.preflight, envtest.pytest_plugin, envtest.fixtures.plan"
    code = (
        "import importlib, sys\nimport " + modules + "\nfrom envtest.fixtures import MODULES\n"
        "[importlib.import_module(m) for m in MODULES]\nprint('boto3' in sys.modules, 'botocore' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True"]


def test_the_reports_modules_are_imported_while_pytest_runs() -> None:
    """run.py imports the reports' modules while it waits for pytest (REPORT_MODULES), so that writing the reports
    after pytest imports nothing: the list must hold every module report_pytest_outcome imports when it runs."""
    import ast

    from envtest import run

    tree = ast.parse((ROOT / "envtest" / "run_reports.py").read_text())
    (function,) = (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "report_pytest_outcome")
    imported = set()
    for node in ast.walk(function):
        if isinstance(node, ast.ImportFrom) and node.module:
            is_package = (ROOT / node.module.replace(".", "/") / "__init__.py").exists()
            imported |= {f"{node.module}.{a.name}" for a in node.names} if is_package else {node.module}
    assert imported and imported <= set(run.REPORT_MODULES), sorted(imported - set(run.REPORT_MODULES))
    assert _imported(", ".join(run.REPORT_MODULES)) == set()  # none of them slows pytest's start with pytest/boto3


def test_the_checks_process_starts_the_run_before_it_imports_pytest(tmp_path: Path) -> None:
    """early_start.start_ahead sends the first call (here to a closed port: it fails, and the preflight would meet
    that) without importing pytest: pytest's 0.3 s of imports come after it."""
    code = (
        "import sys\nfrom envtest.early_start import start_ahead\nahead = start_ahead()\n"
        "print(ahead is not None and ahead.first is not None, 'pytest' in sys.modules)"
    )
    env = {"PATH": "/usr/bin:/bin", "ENV_NAME": "sandbox", "ENVTEST_RUN_DIR": str(tmp_path),
           "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "AKIDRUN",
           "AWS_SECRET_ACCESS_KEY": "run-secret", "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False"], done.stdout
