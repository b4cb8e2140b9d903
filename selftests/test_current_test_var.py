"""PYTEST_CURRENT_TEST and the gather plan's threads (envtest/current_test_var.py).

A thread walks os.environ, as botocore and urllib do when the plan makes a client, while pytest runs 3,000 checks.
Without the fix pytest deletes and adds the variable around every check, and the walk fails (the seeded case:
KeyError or "dictionary changed size"); with it, the walk never fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CHECKS = """
import os, threading
import pytest

ERRORS = []
STOP = threading.Event()

def walk():
    while not STOP.is_set():
        try:
            os.environ.copy()
        except (KeyError, RuntimeError) as exc:
            ERRORS.append(repr(exc))

THREAD = threading.Thread(target=walk, daemon=True)
THREAD.start()

@pytest.mark.parametrize("i", range(3000))
def test_a_check(i):
    assert os.environ["PYTEST_CURRENT_TEST"].endswith("(call)")

def test_zz_the_walk_never_failed():
    STOP.set()
    THREAD.join()
    assert not ERRORS, f"{len(ERRORS)} walks failed, the first with {ERRORS[0]}"
"""

CONFTEST = """
import os
from envtest import current_test_var

def pytest_configure(config):
    if os.environ.get("FIX") == "1":
        current_test_var.install()
"""


def _pytest(tmp_path: Path, *args: str, fixed: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FIX": "1" if fixed else "0", "PYTHONPATH": str(ROOT)}
    env.pop("PYTEST_CURRENT_TEST", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("fixed", [False, True], ids=["seeded-pytest-deletes-the-variable", "fixed"])
def test_a_thread_walking_the_environment_never_fails_while_checks_run(tmp_path: Path, fixed: bool) -> None:
    (tmp_path / "test_walk.py").write_text(CHECKS)
    (tmp_path / "conftest.py").write_text(CONFTEST)
    result = _pytest(tmp_path, "test_walk.py", fixed=fixed)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr
    if fixed:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
        assert "3001 passed" in summary
    else:
        assert result.returncode == 1, summary
        assert "walks failed, the first with" in result.stdout
        assert "3000 passed" in summary  # the checks themselves saw the variable: only the walk failed


def test_the_suites_plugin_installs_it(tmp_path: Path) -> None:
    # The suite's wiring (conftest.py loads envtest.pytest_plugin) installs it at configure, before the plan starts.
    (tmp_path / "test_installed.py").write_text(
        "from envtest import current_test_var\n\ndef test_installed():\n    assert current_test_var.installed()\n"
    )
    result = _pytest(tmp_path, "-p", "envtest.pytest_plugin", "test_installed.py")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
