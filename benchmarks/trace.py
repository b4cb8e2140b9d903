"""Where a run's time goes: one sandbox (behind AWS's latency model with --latency aws), a few runs of the suite,
each stdout milestone timestamped from the command's start, and the checks that took longest.

    python -m benchmarks.trace [--latency aws|FILE.json] [RUNS]

It prints, per run: the wall, then when the preflight ended (the header line), when pytest's session started,
when collection ended, when the checks ended, and when the reports were written. The gap between the benchmark's
wall and its critical path (benchmarks/latency.md) is read from these.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from junitparser import JUnitXml

from benchmarks.run import bytecode_as_in_the_image, latency_in_front
from envtest_double.latency import LatencyModel
from envtest_double.processes import stop_all
from envtest_double.running import Sandbox
from envtest_double.startup import start_sandbox

ROOT = Path(__file__).resolve().parents[1]
MILESTONES = {
    "envtest ": "preflight done",
    "test session starts": "pytest started",
    "collected ": "collected",
    "generated xml file": "checks done",
    "JUnit: ": "reports written",
}


def trace_once(environ: dict[str, str], junit: Path) -> tuple[float, list[tuple[str, float]]]:
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "envtest", environ["ENV_NAME"], "-j", str(junit)],
        cwd=ROOT,
        env={**environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        text=True,
    )
    seen = []
    assert proc.stdout is not None
    for line in proc.stdout:
        for marker, name in MILESTONES.items():
            if marker in line and name not in dict(seen):
                seen.append((name, time.monotonic() - started))
    proc.wait()
    return time.monotonic() - started, seen


def slowest(junit: Path, count: int = 5) -> list[tuple[str, float]]:
    """The checks that took longest (JUnit's time: setup, which waits on the gather, and call)."""
    cases = [(case.name, float(case.time or 0)) for suite in JUnitXml.fromfile(str(junit)) for case in suite]
    return sorted(cases, key=lambda c: -c[1])[:count]


def main(argv: list[str]) -> int:
    model = None
    if argv[:1] == ["--latency"]:
        model, argv = LatencyModel.load(argv[1]), argv[2:]
    runs = int(argv[0]) if argv else 3
    if model is not None:
        os.environ.setdefault("ENVTEST_SANDBOX_PAGE_SIZE", "0")  # AWS's pages, as the benchmark has them (run.py)
    bytecode_as_in_the_image()
    work = Path(tempfile.mkdtemp(prefix="envtest-trace-"))
    work.chmod(0o755)
    try:
        start_sandbox(work / "sandbox", scale=1)
        with latency_in_front(Sandbox(work / "sandbox"), model) as environ:
            for _ in range(runs):
                wall, seen = trace_once(environ, work / "junit.xml")
                print(f"wall {wall:.2f} s: " + ", ".join(f"{name} {at:.2f}" for name, at in seen), flush=True)
                print("  slowest checks: " + ", ".join(f"{n} {t:.2f}" for n, t in slowest(work / "junit.xml")))
    finally:
        stop_all(work / "sandbox")
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
