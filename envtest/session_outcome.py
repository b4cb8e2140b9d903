"""What pytest's preflight tells the command that started it (envtest/session_preflight.py, envtest/run.py).

Its own module, free of pytest and boto3: the command imports it, and what the command imports before it starts
pytest delays the run's first AWS call (each is a tenth of a second: benchmarks/latency.md).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Set by the command line for the pytest it starts: where the preflight leaves its outcome.
OUTCOME_VARIABLE = "ENVTEST_PREFLIGHT_OUTCOME"
# Set by the command to "1" when the run is every check under tests/ (no -t, nothing after --): the checks'
# process then sends the host reads before it imports pytest, once the preflight has passed (early_start.py).
WHOLE_RUN_VARIABLE = "ENVTEST_WHOLE_RUN"


@dataclass(frozen=True)
class SessionOutcome:
    """What the command needs of the preflight: the run's properties, or why nothing could be evaluated."""

    account: str = "unknown"
    guards: tuple[str, ...] = ()
    revision: str = ""
    stop_check: str = ""
    stop_reason: str = ""
    # Exactly one of these when the preflight did not finish: the command says it as it said it in its own process.
    usage_error: str = ""
    could_not_evaluate: str = ""
    internal_error: str = ""
    cancelled: str = ""
    notes: tuple[str, ...] = field(default=())

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def read(cls, path: Path) -> SessionOutcome | None:
        """The outcome pytest left, or None when the preflight never finished (pytest stopped before it)."""
        try:
            found: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in found.items()})


def run_kind(environ: dict[str, str] | os._Environ[str]) -> str:
    if environ.get("ENVTEST_SANDBOX_DIR"):
        return "sandbox"
    if environ.get("CI_PIPELINE_SOURCE") == "schedule":
        return "nightly"
    if environ.get("CI"):
        return "pipeline"
    return "manual"
