"""Cost and scale of a run, measured against the sandbox at scale 1, 10 and 100.

    ./run_tests.sh --benchmark [SCALE ...]                  moto's own speed: results.json, .md, .png
    ./run_tests.sh --benchmark --latency aws [SCALE ...]    AWS's latency (a model): latency.json, .md, .png
    ./run_tests.sh --benchmark --latency FILE.json ...      the same, with your own figures

For each scale, one sandbox is seeded and the suite runs three ways: as shipped
(serial, and with -n 2; envtest/ compiled to bytecode first, as the image's build
does) and a naive baseline (envtest_double/naive.py: no shared cache, no plan,
every check fetching for itself, as a hand-written boto3 suite would).
Recorded per run: wall seconds, AWS calls (and by operation), seconds spent in
AWS calls (added up over threads), and the largest process's peak memory.

With --latency, a fault proxy (envtest_double/chaos.py) in latency mode
stands between the suite and the sandbox's endpoints: every call waits as long
as the model says (envtest_double/latency.py, with the source of each
figure), and an SSM command completes no sooner than the model allows. The
table then also gives the critical path: the longest chain of calls that must
wait for one another (critical_path.py), the floor no suite can beat. The machine is noisy: read ratios within one run.

The record (JSON) is what was measured; the page and the chart are drawn from it, the chart by matplotlib under
the system's Python (record.py, charts.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.critical_path import critical_path  # noqa: E402
from benchmarks.record import draw_chart, write_record  # noqa: E402
from envtest.policy import load_policy  # noqa: E402
from envtest_double.chaos import chaos_proxy  # noqa: E402
from envtest_double.latency import LatencyModel  # noqa: E402
from envtest_double.naive import ENVIRON as NAIVE_ENVIRON  # noqa: E402
from envtest_double.paging import DEFAULT_PAGE_SIZE  # noqa: E402
from envtest_double.processes import stop_all  # noqa: E402
from envtest_double.prove import clean_environ  # noqa: E402
from envtest_double.running import Sandbox  # noqa: E402
from envtest_double.startup import start_sandbox  # noqa: E402

MODES = {"serial": ([], {}), "n2": (["-n", "2"], {}), "naive": ([], NAIVE_ENVIRON)}
# Runs of a few seconds move by a few tenths with the machine's noise: each is measured three times and the
# median run (by wall) reported whole. The naive baseline's two minutes are measured once.
REPEATS = {"serial": 3, "n2": 3, "naive": 1}


def median_run(environ: dict[str, str], mode: str, out: Path) -> dict[str, Any]:
    runs = sorted((measure(environ, mode, out) for _ in range(REPEATS[mode])), key=lambda r: r["wall"])
    return runs[len(runs) // 2]


# Each run in a fresh wrapper process, so RUSAGE_CHILDREN is that run's peak alone.
WRAPPER = (
    "import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(rc)"
)


def measure(environ: dict[str, str], mode: str, out: Path) -> dict[str, Any]:
    extra_args, extra_env = MODES[mode]
    junit = out / f"{mode}.xml"
    start = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            WRAPPER,
            sys.executable,
            "-m",
            "envtest",
            environ["ENV_NAME"],
            "-j",
            str(junit),
            *extra_args,
        ],
        cwd=ROOT,
        env={**environ, **extra_env},
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
    )
    wall = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"{mode} run failed (exit {done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    record = json.loads(junit.with_suffix(".api-calls.json").read_text())
    suite = ElementTree.parse(junit).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    return {
        "wall": wall,
        # pytest's own session (collection, set-up, checks, tear-down): the wall without the interpreter's and
        # the command's start, the preflight and the reports.
        "session": float(suite.get("time", "0")) if suite is not None else 0.0,
        "calls": sum(record["calls"].values()),
        "by_operation": record["calls"],
        "api_seconds": record["api_seconds"],
        "peak_mb": int(done.stderr.strip().splitlines()[-1]) / 1024,
    }


@contextlib.contextmanager
def latency_in_front(sandbox: Sandbox, model: LatencyModel | None) -> Iterator[dict[str, str]]:
    """The environment a run needs to reach the sandbox, through latency proxies when there is a model."""
    environ = {**clean_environ(), **sandbox.environ}
    if model is None:
        yield environ
        return
    with (
        chaos_proxy(sandbox.endpoint, model) as aws,
        chaos_proxy(sandbox.environ["AWS_ENDPOINT_URL_SSM"], model) as ssm,
    ):
        # Every service the instances' endpoint answers (SSM, IAM's simulator, cross-account ECR, Logs) goes
        # through the same latency proxy as SSM; the rest to moto through the other.
        front = {k: ssm.url for k in sandbox.environ if k.startswith("AWS_ENDPOINT_URL_")}
        yield {**environ, "AWS_ENDPOINT_URL": aws.url, **front}


def command_seconds(sandbox: Sandbox) -> float:
    """How long the slowest host read runs on its instance: the Redis probe that must time out."""
    policy = load_policy(sandbox.environ["ENV_NAME"], None, Path(sandbox.environ["ENVTEST_POLICY_OVERRIDE"]))
    return float(policy.section("redis")["timeout"])


def bytecode_as_in_the_image() -> None:
    """The product's bytecode, made as the env_test image's build makes it (docker/env_test.Dockerfile: compileall
    envtest), so that the runs measured start as the image's do. Where PYTHONDONTWRITEBYTECODE is set (this
    project's CI machines, the image itself) a run would otherwise compile envtest/ from source each time, before
    its first AWS call. Written to envtest/__pycache__, which git ignores; stale bytecode is never used (Python
    checks each file's mtime and size)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", "envtest"], cwd=ROOT, check=True, timeout=300)


USAGE = "--benchmark [--latency aws|FILE.json] [--runs serial,n2,naive] [SCALE ...]"


def main(argv: list[str]) -> int:
    """[--latency aws|FILE.json] [--runs serial,n2,naive] [SCALE ...]; --runs measures only those (no report).
    --hostile: the hostile-input rows instead (benchmarks/hostile.py)."""
    if argv[:1] == ["--hostile"]:
        from benchmarks import hostile

        return hostile.main(argv[1:])
    model, runs = None, list(MODES)
    while argv[:1] in (["--latency"], ["--runs"]):
        if len(argv) < 2:
            print(USAGE, file=sys.stderr)
            return 2
        if argv[0] == "--latency":
            model = LatencyModel.load(argv[1])
        else:
            runs = argv[1].split(",")
        argv = argv[2:]
    if any(a in {"-h", "--help"} for a in argv):
        print(__doc__.strip())
        return 0
    bad = [a for a in argv if not a.isdigit() or int(a) < 1]
    unknown = [r for r in runs if r not in MODES]
    if bad or unknown:
        modes = ", ".join(MODES)
        said = f"not a scale: {', '.join(bad)}" if bad else f"--runs: no mode {', '.join(unknown)} (one of {modes})"
        print(f"--benchmark: {said}; {USAGE}", file=sys.stderr)
        return 2
    scales = [int(a) for a in argv] or [1, 10, 100]
    if model is not None:
        # Under AWS's latency, the pages AWS answers: the suite asks each list for AWS's largest page
        # (gather/services/base.py LARGEST_PAGE), and AWS answers up to that, so a list of a few hundred groups is
        # one call. The sandbox's own small pages (paging.py) prove NextToken is followed; timed under latency,
        # they would charge each page's round trip, a cost the suite's request does not pay against AWS.
        # ENVTEST_SANDBOX_PAGE_SIZE set by the caller is kept.
        os.environ.setdefault("ENVTEST_SANDBOX_PAGE_SIZE", "0")
    bytecode_as_in_the_image()
    results: dict[int, dict[str, dict[str, Any]]] = {}
    floors: dict[int, tuple[float, str]] = {}
    for scale in scales:
        work = Path(tempfile.mkdtemp(prefix=f"envtest-bench-{scale}-"))
        work.chmod(0o755)
        try:
            start_sandbox(work / "sandbox", scale=scale)
            sandbox = Sandbox(work / "sandbox")
            with latency_in_front(sandbox, model) as environ:
                results[scale] = {mode: median_run(environ, mode, work) for mode in runs}
            if model is not None:
                floors[scale] = critical_path(model, command_seconds(sandbox))
            line = ", ".join(f"{m} {r['wall']:.1f} s / {r['calls']} calls" for m, r in results[scale].items())
            floor = f", critical path {floors[scale][0]:.1f} s" if scale in floors else ""
            print(f"scale {scale}: {line}{floor}", flush=True)
        finally:
            stop_all(work / "sandbox")
            shutil.rmtree(work, ignore_errors=True)
    if runs != list(MODES):
        return 0
    record = {
        "benchmark": "latency" if model else "scale",
        "made": time.strftime("%Y-%m-%d"),
        "cores": os.cpu_count(),
        # The sandbox's page size (envtest_double/paging.py): the calls counted grow with the pages it answers.
        "page_size": int(os.environ.get("ENVTEST_SANDBOX_PAGE_SIZE", str(DEFAULT_PAGE_SIZE))),
        "model": model.describe() if model else None,
        "scales": [
            {
                "scale": scale,
                "runs": results[scale],
                "critical_path": {"seconds": floors[scale][0], "chain": floors[scale][1]} if model else None,
            }
            for scale in results
        ],
    }
    name = "latency" if model else "results"
    saved = write_record(name, record)
    (ROOT / "benchmarks" / f"{name}.md").write_text(markdown(record, name))
    print((ROOT / "benchmarks" / f"{name}.md").read_text())
    return 0 if draw_chart(saved) else 1


def pages_sentence(page_size: int | None) -> str:
    """What the call counts mean: with the sandbox paging, they grow with pages, as a real account's do."""
    if not page_size:  # the latency benchmark's pages (or a record made before the sandbox paged)
        return (
            "The sandbox answered each list in the page the suite asks for, AWS's largest (100-1000 items by API, "
            "gather/services/base.py), as AWS would: no list here is longer than one page, so calls grow with "
            "checks' needs, not with pages."
        )
    return (
        f"The sandbox answered every list in pages of {page_size} items (envtest_double/paging.py), so calls here "
        "grow with pages (resources / page size), not with checks; AWS's pages are larger (up to 100-1000 items "
        "by API), so against AWS the same reads take fewer calls."
    )


def markdown(record: dict[str, Any], name: str) -> str:
    """The record as a page: the table, the ratios within each scale, calls by operation, the chart."""
    latency = record["benchmark"] == "latency"
    when = f"Made by `./run_tests.sh --benchmark{' --latency ...' if latency else ''}` on {record['made']}"
    lines = [
        "# Benchmark: " + ("cost under AWS's latency (a model)" if latency else "cost and scale against the sandbox"),
        "",
        f"{when} ({record['cores']} cores). The machine is noisy: compare ratios within this table, not seconds "
        "across runs. s in AWS adds up the seconds of calls made side by side, so it can exceed the wall. "
        + pages_sentence(record.get("page_size")),
        "",
    ]
    if latency:
        lines += [
            "The latency model (envtest_double/latency.py, where each figure comes from):",
            "",
            "```json",
            json.dumps(record["model"], indent=1, sort_keys=True),
            "```",
            "",
        ]
    header = "| scale | run | wall s | checks s | AWS calls | s in AWS | peak MB |" + (
        " wall / critical path | checks / critical path |" if latency else ""
    )
    lines += [header, "|---" * (header.count("|") - 1) + "|"]
    for point in record["scales"]:
        scale, floor = point["scale"], point["critical_path"]
        for mode, r in ((m, point["runs"][m]) for m in MODES):
            row = (
                f"| {scale} | {mode} | {r['wall']:.2f} | {r['session']:.2f} | {r['calls']} | {r['api_seconds']:.2f} "
                f"| {r['peak_mb']:.0f} |"
            )
            if latency:
                row += f" {r['wall'] / floor['seconds']:.2f} | {r['session'] / floor['seconds']:.2f} |"
            lines.append(row)
        if latency:
            lines.append(
                f"| {scale} | critical path ({floor['chain']}) | {floor['seconds']:.2f} | | | | | 1.00 | 1.00 |"
            )
    lines += [
        "",
        "checks s is pytest's own session (the JUnit suite's time): the wall less the interpreter's and the "
        "command's start, the preflight and the reports, which the critical path does not count.",
        "serial and n2 rows are each the median of three runs (by wall), reported whole; naive is one run.",
    ]
    lines += ["", "Ratios (same scale, same machine, same minute):", ""]
    for point in record["scales"]:
        serial, n2, naive = (point["runs"][mode] for mode in MODES)
        lines.append(
            f"- scale {point['scale']}: naive/serial calls {naive['calls'] / serial['calls']:.1f}x, "
            f"naive/serial wall {naive['wall'] / serial['wall']:.2f}x, "
            f"n2/serial wall {n2['wall'] / serial['wall']:.2f}x"
            + (f", serial/critical path {serial['wall'] / point['critical_path']['seconds']:.2f}x" if latency else "")
        )
    biggest = max(record["scales"], key=lambda p: p["scale"])
    lines += ["", f"Calls by operation at scale {biggest['scale']} (serial):", ""]
    lines += [f"- {op}: {count}" for op, count in sorted(biggest["runs"]["serial"]["by_operation"].items())]
    panes = (
        "Left: wall seconds against scale, both on log axes (the naive baseline is tens of times the suite). "
        "Middle: each run's wall as a multiple of the critical path (the dashed line). Right: AWS calls."
        if latency
        else "Left: wall seconds against scale, both on log axes. Right: AWS calls against scale."
    )
    lines += [
        "",
        f"![wall seconds and AWS calls against scale]({name}.png)",
        "",
        f"{panes} Drawn by matplotlib from [{name}.json]({name}.json) (benchmarks/charts.py).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
