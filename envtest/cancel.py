"""A cancelled run restores what it changed, then stops, and says so.

GitLab cancels a job (and a job past its timeout) by sending SIGTERM to the job's processes, then SIGKILL
about ten seconds later (gitlab-runner merge request 3906: "Runner will currently wait for 10 seconds after
sending SIGTERM before sending SIGKILL"); a person presses Ctrl-C (SIGINT); a closed terminal sends SIGHUP.

- The command line starts pytest in a session of its own (so a terminal's Ctrl-C reaches it only once, through
  the command), so it forwards every such signal to pytest's process group (`forwarding_to`), waits for the
  restore with a bound, and reports.
- In pytest's processes the signal raises `Cancelled`, a KeyboardInterrupt: pytest stops as on Ctrl-C and still
  writes the report of what ran, and every `finally` on the way out runs (a recycle puts its group back).
- A restore runs `shielded()`: a signal (or a check's time limit, envtest/limits.py) that arrives meanwhile
  is held until the restore is done, then raised. A restore is never cut in half by the thing it exists for.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import FrameType

SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class Cancelled(KeyboardInterrupt):
    """The run was cancelled by a signal. A KeyboardInterrupt, so pytest stops as on Ctrl-C and reports."""


class _State:
    cancelled_by: str | None = None
    shield_depth = 0
    pending: BaseException | None = None
    child_group: int | None = None


_state = _State()


def requested() -> str | None:
    """The name of the signal that cancelled this process's run (SIGTERM, ...), or None."""
    return _state.cancelled_by


def interrupt(exc: BaseException) -> None:
    """Raise `exc` now; while a restore is shielded, when the restore is done.

    A second cancel during a restore is someone insisting (Ctrl-C pressed twice): it is raised at once, and what
    was being put back is left as it is (the journal, envtest/changes.py, then reports it unsettled).
    """
    if _state.shield_depth:
        if isinstance(exc, Cancelled) and isinstance(_state.pending, Cancelled):
            _state.pending = None
            raise Cancelled(f"{exc} again: what was being put back (the cleanup) was abandoned")
        if isinstance(exc, Cancelled):
            print(
                f"envtest: {exc}; putting back what the run changed first; interrupt again to abandon that",
                file=sys.__stderr__ or sys.stderr,
                flush=True,
            )
        if _state.pending is None or isinstance(exc, Cancelled):
            _state.pending = exc  # a cancel outranks a check's time limit: the run stops, not just the check
        return
    raise exc


def _on_signal(signum: int, frame: FrameType | None) -> None:
    name = signal.Signals(signum).name
    _state.cancelled_by = _state.cancelled_by or name
    if _state.child_group is not None:  # the command line: pytest restores and reports; the command waits
        with suppress(ProcessLookupError):
            os.killpg(_state.child_group, signum)
        return
    interrupt(Cancelled(f"cancelled by {name}"))


def install() -> None:
    """Handle SIGTERM, SIGINT and SIGHUP in this process (from its main thread; elsewhere nothing is done)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in SIGNALS:
        signal.signal(signum, _on_signal)


@contextmanager
def forwarding_to(process_group: int) -> Iterator[None]:
    """Within this block, a signal is passed on to `process_group` instead of raising here."""
    previous = _state.child_group
    _state.child_group = process_group
    try:
        yield
    finally:
        _state.child_group = previous


@contextmanager
def shielded() -> Iterator[None]:
    """Within this block (a restore), signals and time limits wait; the first of them is raised at its end."""
    _state.shield_depth += 1
    try:
        yield
    finally:
        _state.shield_depth -= 1
        if not _state.shield_depth and _state.pending is not None:
            pending, _state.pending = _state.pending, None
            raise pending
