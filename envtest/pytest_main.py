"""The checks' process: `python -m envtest.pytest_main <pytest's arguments>`, as the command starts it (run.py).

It starts the run's first call and readies the early host reads (early_start.start_ahead) before it imports
pytest, then runs pytest as `python -m pytest` would. pytest and the fixture modules take 0.3 s to import; the
preflight at session start takes over what was started meanwhile. Every way out joins the early start's thread: a
daemon thread still building botocore clients when the interpreter exits can crash it (pytest's --help, say,
ends before the session's preflight would join it).
"""

from __future__ import annotations

import sys


def main() -> int:
    from envtest.early_start import start_ahead

    ahead = start_ahead()
    try:
        import pytest

        return int(pytest.main())
    finally:
        if ahead is not None and ahead.early is not None:
            ahead.early.wait()


if __name__ == "__main__":
    sys.exit(main())
