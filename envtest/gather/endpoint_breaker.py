"""The run's breaker for an AWS endpoint that stopped answering: tripped once, every later call of every process
of the run fails fast instead of waiting out its own timeouts (envtest/gather/aws.py trips it and asks it).

Free of boto3: the command reads it after pytest (run_reports), and what the command imports delays the run.
"""

from __future__ import annotations

import os
from pathlib import Path

# Written to the run directory when the endpoint stops answering: every process
# of the run then fails fast instead of waiting out its own timeouts.
ENDPOINT_DOWN = "endpoint-down"


def _run_dir() -> Path | None:
    value = os.environ.get("ENVTEST_RUN_DIR")
    return Path(value) if value else None


def endpoint_down_reason(run_dir: Path | None = None) -> str | None:
    """Why the endpoint was declared down in this run, if it was."""
    if _breaker.reason:
        return _breaker.reason
    directory = run_dir or _run_dir()
    marker = directory / ENDPOINT_DOWN if directory else None
    if marker and marker.exists():
        return marker.read_text() or "the AWS endpoint stopped answering"
    return None


def trip(reason: str) -> None:
    _breaker.reason = reason
    directory = _run_dir()
    if directory:
        (directory / ENDPOINT_DOWN).write_text(reason)


class _Breaker:
    reason: str | None = None


_breaker = _Breaker()
