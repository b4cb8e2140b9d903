"""A wait longer than a few seconds says on stderr what it waits for, how long so far, and its bound."""

from __future__ import annotations

import subprocess
import sys
import time

from envtest import redact
from envtest.progress import waiting


def test_a_long_wait_says_what_it_waits_for_and_a_short_one_stays_quiet() -> None:
    script = (
        "import time\n"
        "from envtest.progress import waiting\n"
        "with waiting('the thing', 120, first_after=0.2, every=0.3):\n"
        "    time.sleep(0.7)\n"
        "with waiting('the quick thing', 120, first_after=5):\n"
        "    time.sleep(0.1)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    lines = done.stderr.splitlines()
    assert len(lines) >= 2, done.stderr
    assert lines[0].startswith("... still waiting for the thing (0 s so far; gives up after about 120 s)")
    assert "quick" not in done.stderr and done.stdout == ""


def test_the_line_goes_past_pytests_capture_and_is_redacted(capfd: object) -> None:
    redact.register("s3cr3t-canary-value", "a test secret")
    started = time.monotonic()
    with waiting("a command holding s3cr3t-canary-value", 10, first_after=0.1, every=10):
        time.sleep(0.3)
    assert time.monotonic() - started < 5
    err = capfd.readouterr().err  # type: ignore[attr-defined]
    assert "still waiting for a command holding" in err and "s3cr3t-canary-value" not in err, err
