"""Time limits: no check can hold a run, and no run can hold the pipeline.

A check's set-up and its call each get `[limits] check_seconds` (a disruptive check
`disruptive_check_seconds`); ENVTEST_CHECK_TIMEOUT overrides both. Past it, the check is interrupted where it
waits (SIGALRM raises in the main thread, as pytest-timeout's signal method does), so its `finally` blocks run
(a recycle restores its group) and it is reported as "could not evaluate", naming the check and the limit:
a check that did not finish has no verdict. Not pytest-timeout itself: its expiry is a failure (pytest.fail),
and its thread method ends the process, losing the report.

The run's own limit (`--timeout`, default 3600 s, the Go test runner's default) is the command line's
(cli.py): it interrupts pytest, which writes what it has, and the run exits 2.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import pytest

from envtest import cancel
from envtest.errors import CouldNotEvaluate, UsageError

DEFAULT_CHECK_SECONDS = 300.0
DEFAULT_DISRUPTIVE_SECONDS = 2400.0


class CheckTimedOut(CouldNotEvaluate):
    pass


def limit_for(item: pytest.Item, limits: dict[str, float]) -> float:
    override = os.environ.get("ENVTEST_CHECK_TIMEOUT")
    if override:
        try:
            seconds = float(override)
        except ValueError:
            raise UsageError(f"ENVTEST_CHECK_TIMEOUT={override!r}: a number of seconds") from None
        if seconds <= 0:
            raise UsageError(f"ENVTEST_CHECK_TIMEOUT={override!r}: more than 0 seconds")
        return seconds
    if item.get_closest_marker("disruptive"):
        return float(limits.get("disruptive_check_seconds", DEFAULT_DISRUPTIVE_SECONDS))
    return float(limits.get("check_seconds", DEFAULT_CHECK_SECONDS))


@contextmanager
def bounded(what: str, seconds: float) -> Iterator[None]:
    """Raise CheckTimedOut in the main thread once `seconds` have passed inside the block."""
    if seconds <= 0 or signal.getsignal(signal.SIGALRM) not in (signal.SIG_DFL, None, signal.default_int_handler):
        yield  # someone else owns the alarm: no limit rather than a broken one
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        # Raised now, or once a restore in progress is done (cancel.shielded): a limit never cuts a restore.
        cancel.interrupt(
            CheckTimedOut(
                f"{what} did not finish within its limit of {seconds:g} s (policy [limits], ENVTEST_CHECK_TIMEOUT): "
                "it was stopped; nothing is known about what it checks"
            )
        )

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
