"""A plain `pytest` run (without run_tests.sh) gets the same wrong-environment guard before any check."""

from __future__ import annotations

import os

import pytest

from envtest.errors import CouldNotEvaluate, UsageError
from envtest.preflight import preflight
from envtest.settings import Settings


def pytest_configure(config: pytest.Config) -> None:
    # run_tests.sh has already run the preflight (it sets ENVTEST_RUN_DIR); xdist workers inherit the verdict.
    if os.environ.get("ENVTEST_RUN_DIR") or hasattr(config, "workerinput"):
        return
    try:
        outcome = preflight(Settings.from_environ())
    except (UsageError, CouldNotEvaluate) as exc:
        pytest.exit(f"could not evaluate: {exc}", returncode=2)
    if outcome.stop_reason:
        pytest.exit(f"STOPPED before any check: {outcome.stop_reason}", returncode=2)
