"""Results a machine reads (`--json PATH`): one record per check, beside the JUnit file.

Schema: docs/results.schema.json (a self-test validates every report against it). Built after the run from
the finished JUnit file (verdicts, durations, messages), the problems the checks raised (recorded by the
pytest plugin in the run's directory, already weighed against the waivers and redacted), the catalogue
(area, faults caught) and the policy's [severity].
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from envtest import catalogue, redact
from envtest.report.junit import load, verdict_of

SCHEMA = "envtest-results/1"
RECORDS = "check-records"  # under the run directory: one JSON-lines file per process


def record(run_dir: Path, test_id: str, problems: list[Any], waived: list[tuple[Any, Any]]) -> None:
    """Called by the plugin for a check that raised problems: what is left failing, and what was waived."""
    entry = {
        "id": test_id,
        "problems": [{k: redact.redact(v) for k, v in asdict(p).items()} for p in problems],
        "waived": [
            {"resource": redact.redact(p.resource), "waiver": {**asdict(w), "expires": w.expires.isoformat()}}
            for p, w in waived
        ],
    }
    directory = run_dir / RECORDS
    directory.mkdir(exist_ok=True)
    with (directory / f"{os.getpid()}.jsonl").open("a", encoding="utf-8") as out:
        out.write(json.dumps(entry) + "\n")


def _records(run_dir: Path) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted((run_dir / RECORDS).glob("*.jsonl")) if (run_dir / RECORDS).is_dir() else []:
        for line in path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            found[entry["id"]] = entry
    return found


def severity_of(check: str, area: str, severity: dict[str, Any]) -> str:
    return str(
        severity.get("checks", {}).get(check.removeprefix("test_"))
        or severity.get("areas", {}).get(area)
        or severity.get("default", "high")
    )


def build(
    junit_path: Path, run_dir: Path, exit_code: int, properties: dict[str, str], severity: dict[str, Any]
) -> dict[str, Any]:
    checks = catalogue.checks()
    records = _records(run_dir)
    out = []
    counts = {"passed": 0, "failed": 0, "error": 0, "skipped": 0, "waived": 0}
    for suite in load(junit_path):
        for case in suite:
            test_id = case.name or ""
            name = test_id.split("[", 1)[0]
            known = checks.get(name)
            area = known.area if known else (case.classname or "preflight")
            result = case.result[0] if case.result else None
            verdict = verdict_of(case)
            message = (result.message or result.text or "") if result is not None else None
            entry = records.get(test_id, {})
            counts[verdict] += 1
            out.append(
                {
                    "id": test_id,
                    "check": name,
                    "area": area,
                    "severity": severity_of(name, area, severity) if known else "high",
                    "verdict": verdict,
                    "duration_s": round(float(case.time or 0.0), 3),
                    "message": message,
                    "problems": entry.get("problems", []) if verdict == "failed" else [],
                    "waived": entry.get("waived", []),
                    "catches": [f for f, case_ in known.catches if case_ is None or test_id.endswith(f"[{case_}]")]
                    if known
                    else [],
                }
            )
    return {
        "schema": SCHEMA,
        "run": {**properties, "exit_code": exit_code, "summary": counts},
        "checks": out,
    }


def write(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
