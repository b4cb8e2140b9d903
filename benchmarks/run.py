"""Cost and scale of a run, measured against the sandbox at scale 1, 10 and 100.

    ./run_tests.sh --benchmark            (or: python -m benchmarks.run [SCALE ...])

For each scale, one sandbox is seeded and the suite runs three ways: the
suite as shipped (serial, and with -n 2) and a naive baseline
(ENVTEST_NAIVE=1: no shared cache, every check fetching for itself, as a
hand-written boto3 suite would). Recorded per run: wall seconds, AWS calls
(and by operation), seconds spent inside AWS calls, the suite's own overhead
(wall minus AWS time, serial runs), and peak memory of the run's processes.
Writes benchmarks/results.md and benchmarks/results.png. The machine is
noisy: read ratios within one run of this command, not absolute seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.png import chart  # noqa: E402
from envtest.prove import clean_environ  # noqa: E402
from envtest.sandbox.cli import start_sandbox  # noqa: E402
from envtest.sandbox.handle import Sandbox  # noqa: E402
from envtest.sandbox.processes import stop_all  # noqa: E402

MODES = {"serial": ([], {}), "n2": (["-n", "2"], {}), "naive": ([], {"ENVTEST_NAIVE": "1"})}
# Each run in a fresh wrapper process, so RUSAGE_CHILDREN is that run's peak alone.
WRAPPER = (
    "import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(rc)"
)


def measure(sandbox: Sandbox, mode: str, out: Path) -> dict[str, object]:
    extra_args, extra_env = MODES[mode]
    junit = out / f"{mode}.xml"
    env = {**clean_environ(), **sandbox.environ, **extra_env}
    start = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            WRAPPER,
            sys.executable,
            "-m",
            "envtest",
            sandbox.environ["ENV_NAME"],
            "-j",
            str(junit),
            *extra_args,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
    )
    wall = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"{mode} run failed (exit {done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    record = json.loads(junit.with_suffix(".api-calls.json").read_text())
    return {
        "wall": wall,
        "calls": sum(record["calls"].values()),
        "by_operation": record["calls"],
        "api_seconds": record["api_seconds"],
        "peak_mb": int(done.stderr.strip().splitlines()[-1]) / 1024,
    }


def main(scales: list[int]) -> int:
    results: dict[int, dict[str, dict[str, object]]] = {}
    for scale in scales:
        work = Path(tempfile.mkdtemp(prefix=f"envtest-bench-{scale}-"))
        work.chmod(0o755)
        try:
            start_sandbox(work / "sandbox", scale=scale)
            sandbox = Sandbox(work / "sandbox")
            results[scale] = {mode: measure(sandbox, mode, work) for mode in MODES}
            print(
                f"scale {scale}: "
                + ", ".join(f"{m} {r['wall']:.1f} s / {r['calls']} calls" for m, r in results[scale].items()),
                flush=True,
            )
        finally:
            stop_all(work / "sandbox")
            shutil.rmtree(work, ignore_errors=True)
    write_report(results)
    return 0


def write_report(results: dict[int, dict[str, dict[str, object]]]) -> None:
    lines = [
        "# Benchmark: cost and scale",
        "",
        f"Made by `./run_tests.sh --benchmark` on {time.strftime('%Y-%m-%d')} ({os.cpu_count()} cores). "
        "The machine is noisy: compare ratios within this table, not seconds across runs. Peak MB is the "
        "largest single process of the run (the suite or one worker). moto answers every list in one page, "
        "so calls here cannot grow with pages; against AWS they grow with pages, not with checks.",
        "",
        "| scale | run | wall s | AWS calls | s in AWS | own overhead s | overhead share | peak MB (largest process) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for scale, modes in results.items():
        for mode, r in modes.items():
            wall, api = float(r["wall"]), float(r["api_seconds"])  # type: ignore[arg-type]
            own = f"{wall - api:.2f}" if mode != "n2" else "n/a"
            share = f"{(wall - api) / wall:.0%}" if mode != "n2" else "n/a"
            lines.append(
                f"| {scale} | {mode} | {wall:.2f} | {r['calls']} | {api:.2f} | {own} | {share} | "
                f"{float(r['peak_mb']):.0f} |"
            )  # type: ignore[arg-type]
    lines += ["", "Ratios (same scale, same machine, same minute):", ""]
    for scale, modes in results.items():
        serial, n2, naive = modes["serial"], modes["n2"], modes["naive"]
        lines.append(
            f"- scale {scale}: naive/serial calls {int(naive['calls']) / int(serial['calls']):.1f}x, "  # type: ignore[call-overload]
            f"naive/serial wall {float(naive['wall']) / float(serial['wall']):.2f}x, "  # type: ignore[arg-type]
            f"n2/serial wall {float(n2['wall']) / float(serial['wall']):.2f}x, "  # type: ignore[arg-type]
            f"n2 calls {n2['calls']} vs serial {serial['calls']}"
        )
    biggest = max(results)
    lines += ["", f"Calls by operation at scale {biggest} (serial):", ""]
    lines += [f"- {op}: {count}" for op, count in results[biggest]["serial"]["by_operation"].items()]  # type: ignore[union-attr]
    lines += [
        "",
        "![wall seconds and AWS calls against scale](results.png)",
        "",
        "Left: wall seconds against scale (log). Right: AWS calls against scale. "
        "Blue serial, orange -n 2, green naive baseline.",
        "",
    ]
    (ROOT / "benchmarks" / "results.md").write_text("\n".join(lines))
    series = {mode: [(float(s), float(results[s][mode]["wall"])) for s in results] for mode in MODES}  # type: ignore[arg-type]
    calls = {mode: [(float(s), float(results[s][mode]["calls"])) for s in results] for mode in MODES}  # type: ignore[arg-type]
    chart([("wall s", series), ("calls", calls)], ROOT / "benchmarks" / "results.png")
    print((ROOT / "benchmarks" / "results.md").read_text())


if __name__ == "__main__":
    sys.exit(main([int(a) for a in sys.argv[1:]] or [1, 10, 100]))
