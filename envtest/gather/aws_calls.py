"""Every AWS call this process makes, counted and timed, and the run's totals over its processes.

The client hooks (gather/aws.py) record each call here; each process leaves its record in the run directory,
where the command line adds them up for the report and the IAM policy's review.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

_calls: Counter[str] = Counter()
_calls_lock = threading.Lock()
# "s3:<Operation> arn:aws:s3:::<bucket>[/<key>]": what the IAM policy's S3 resources must cover.
_s3_resources: set[str] = set()


def count(operation: str) -> None:
    """One call of "<service>:<Operation>", made (or about to be made) by this process."""
    with _calls_lock:
        _calls[operation] += 1


_api_seconds = [0.0]


def _s3_resource(model: Any, params: dict[str, Any], **_: Any) -> None:
    """Record the bucket (and key) an S3 call names, as the resource IAM evaluates."""
    bucket, key = params.get("Bucket"), params.get("Key")
    if bucket:
        with _calls_lock:
            _s3_resources.add(f"s3:{model.name} arn:aws:s3:::{bucket}" + (f"/{key}" if key else ""))


_api_seconds_by_operation: Counter[str] = Counter()


def _started(model: Any, context: dict[str, Any], **_: Any) -> None:
    context["envtest_started"] = time.monotonic()
    context["envtest_operation"] = f"{model.service_model.service_name}:{model.name}"


def _finished(context: dict[str, Any], **_: Any) -> None:
    started = context.get("envtest_started")
    if started is not None:
        seconds = time.monotonic() - started
        with _calls_lock:
            _api_seconds[0] += seconds
            _api_seconds_by_operation[str(context.get("envtest_operation"))] += seconds


def register_recorders(events: Any) -> None:
    """Time every call of a session's clients, and note the S3 resources they name."""
    events.register("before-call.*.*", _started)
    events.register("after-call.*.*", _finished)
    events.register("after-call-error.*.*", _finished)
    events.register("before-parameter-build.s3.*", _s3_resource)


def api_calls() -> dict[str, int]:
    with _calls_lock:
        return dict(_calls)


def write_call_count(run_dir: Path | None) -> None:
    """Leave this process's call counts (and seconds spent waiting on AWS) where the command line sums them."""
    if run_dir is None:
        return
    out = run_dir / "api-calls"
    out.mkdir(parents=True, exist_ok=True)
    with _calls_lock:
        record = {
            "calls": dict(_calls),
            "seconds": _api_seconds[0],
            "by_operation": dict(_api_seconds_by_operation),
            "s3_resources": sorted(_s3_resources),
        }
    (out / f"{os.getpid()}.json").write_text(json.dumps(record))


def read_call_counts(run_dir: Path) -> Counter[str]:
    total: Counter[str] = Counter()
    for path in sorted((run_dir / "api-calls").glob("*.json")):
        total.update(json.loads(path.read_text())["calls"])
    return total


def read_s3_resources(run_dir: Path) -> list[str]:
    """Every "s3:<Operation> <resource ARN>" the run's processes called."""
    found: set[str] = set()
    for path in sorted((run_dir / "api-calls").glob("*.json")):
        found.update(json.loads(path.read_text()).get("s3_resources", []))
    return sorted(found)


def read_api_seconds(run_dir: Path) -> float:
    """Seconds the run's processes spent inside AWS calls, added up (calls in parallel threads each count)."""
    return sum(json.loads(p.read_text())["seconds"] for p in (run_dir / "api-calls").glob("*.json"))


def read_api_seconds_by_operation(run_dir: Path) -> dict[str, float]:
    """Seconds spent in each operation, added up over the run: what calibrates a latency model."""
    total: Counter[str] = Counter()
    for path in sorted((run_dir / "api-calls").glob("*.json")):
        for operation, seconds in json.loads(path.read_text()).get("by_operation", {}).items():
            total[operation] += seconds
    return dict(total)
