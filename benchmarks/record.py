"""A benchmark's record: what it measured, as JSON in benchmarks/, from which its chart is drawn.

The record is kept in the repository beside the page it makes (benchmarks/<name>.md), so a chart can be drawn
again, or drawn differently, without measuring again. The chart is drawn by benchmarks/charts.py in a process
of the system's Python, which has Debian's matplotlib; the suite's venv has none (charts.py says why).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parent
CHARTS_PYTHON = "/usr/bin/python3"
HOW_TO_INSTALL = (
    "install Debian's python3-matplotlib (scripts/install-system-deps.sh, or apt-get install python3-matplotlib)"
)


def write_record(name: str, record: dict[str, Any]) -> Path:
    path = BENCHMARKS / f"{name}.json"
    path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return path


def draw_chart(record: Path, python: str = CHARTS_PYTHON) -> bool:
    """The chart of a record (<name>.json), beside it as <name>.png; False, having said how to get it, if not."""
    again = f"{python} benchmarks/charts.py {record}"
    try:
        done = subprocess.run(
            [python, str(BENCHMARKS / "charts.py"), str(record)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except FileNotFoundError:
        print(f"benchmark: no chart: there is no {python}; {HOW_TO_INSTALL}, then run: {again}", file=sys.stderr)
        return False
    if done.returncode != 0:
        # charts.py says itself what is missing (exit 3); anything else is its traceback, shown whole.
        print(f"benchmark: no chart ({record.name} is written):\n{done.stderr.strip()}", file=sys.stderr)
        if done.returncode != 3:
            print(f"benchmark: draw it again with: {again}", file=sys.stderr)
        return False
    print(done.stdout.strip())
    return True
