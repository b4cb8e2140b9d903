"""Progress lines for long waits: what the run waits for, for how long so far, and when it gives up.

Written to the process's real stderr (`sys.__stderr__`), so pytest's capture and `-q` do not swallow them: an
on-call engineer watching a silent terminal sees why. Secrets are redacted like every other output.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from envtest import redact

FIRST_AFTER = 3.0  # seconds before the first line: short waits stay quiet
EVERY = 30.0  # then one line per this many seconds


@contextmanager
def waiting(what: str, bound: float, *, first_after: float = FIRST_AFTER, every: float = EVERY) -> Iterator[None]:
    """Say, on stderr, that `what` is still awaited once the wait passes `first_after` seconds, then every
    `every` seconds, with the bound (`bound` seconds from the start) after which the wait gives up."""
    started = time.monotonic()
    done = threading.Event()

    def report() -> None:
        wait = first_after
        while not done.wait(wait):
            line = (
                f"... still waiting for {what} ({time.monotonic() - started:.0f} s so far; gives up after about "
                f"{bound:.0f} s)"
            )
            stream = sys.__stderr__ or sys.stderr
            try:
                stream.write(redact.redact(line) + "\n")
                stream.flush()
            except (OSError, ValueError):  # a closed stream: the line is not worth a crash
                return
            wait = every

    thread = threading.Thread(target=report, daemon=True, name="envtest-progress")
    thread.start()
    try:
        yield
    finally:
        done.set()
