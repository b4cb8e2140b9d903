"""docs/findings.md from the JSON reports of sandbox runs: a pure function, reports in, markdown out.

A finding is every result that is not a plain pass: a failure, a "could not evaluate", a waived failure, a check
"not applicable to revision X", a skip. Parametrized cases reported alike are one finding listing the cases, so
the page reads as findings rather than as 40 copies of "switched off". Nothing that changes from run to run
(durations, the commit under test, the count of API calls, instance ids, loopback ports, temporary directories)
reaches the page: the CI step that compares a fresh run's page with the committed one must see only findings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from envtest_double.revisions import DEFAULT

SCHEMA = "envtest-results/1"
NOT_APPLICABLE = "not applicable to revision "
# The order a reader acts in: what is wrong, what could not be judged, what is accepted, what does not apply.
KINDS = (
    ("failed", "Failed"),
    ("error", "Could not evaluate"),
    ("waived", "Waived"),
    ("not applicable", "Not applicable to the revision"),
    ("skipped", "Skipped"),
)
VERDICTS = ("passed", "failed", "error", "skipped", "waived")

# What differs between two runs of the same sandbox: the sandbox's random ids, ports and directories.
VOLATILE = (
    # moto's resource ids are random per sandbox: instances, security groups, and the VPC's other parts
    (re.compile(r"\b(i|sg|vpc|subnet|vpce|pl|eni|lt|rtb|igw|nat|acl)-[0-9a-f]{8,17}\b"), r"\1-<id>"),
    (re.compile(r"\b(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+\b"), r"\1:<port>"),
    (re.compile(r"/tmp/envtest-sandbox-[^/\s'\"]+"), "<sandbox>"),
    (re.compile(r"/tmp/tmp[\w-]+"), "<tmp>"),
)


class ReportError(ValueError):
    """A report the page cannot be built from: the page is not written, never written from half the runs."""


@dataclass(frozen=True)
class CheckNote:
    """What the page says about a check beside its findings: the first line of its docstring and its file."""

    proves: str
    path: str


@dataclass(frozen=True)
class Finding:
    kind: str
    check: str
    cases: tuple[str, ...]
    area: str
    severity: str
    message: str
    problems: tuple[tuple[tuple[str, str], ...], ...]
    waived: tuple[tuple[tuple[str, str], ...], ...]
    catches: tuple[str, ...]


def stable(text: str) -> str:
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def _frozen(entries: list[dict[str, Any]]) -> tuple[tuple[tuple[str, str], ...], ...]:
    """Problems and waivers as sorted (field, text) pairs, nested waiver fields flattened: comparable, hashable."""
    out = []
    for entry in entries:
        flat: dict[str, str] = {}
        for key, value in entry.items():
            if isinstance(value, dict):
                flat.update({f"{key}.{k}": stable(str(v)) for k, v in value.items()})
            else:
                flat[key] = stable(str(value))
        out.append(tuple(sorted(flat.items())))
    return tuple(out)


def _kind(record: dict[str, Any]) -> str:
    verdict = record["verdict"]
    if verdict == "skipped" and (record.get("message") or "").startswith(NOT_APPLICABLE):
        return "not applicable"
    return str(verdict)


def _message(record: dict[str, Any], kind: str) -> str:
    message = stable(record.get("message") or "")
    if kind == "not applicable":  # the section names the revision: keep only the why
        return message.partition("): ")[2] or message
    return message


def findings(report: dict[str, Any]) -> list[Finding]:
    """Every result of one report that is not a plain pass, alike cases grouped, in a stable order."""
    if report.get("schema") != SCHEMA:
        raise ReportError(f"not an envtest results report (schema {report.get('schema')!r}, expected {SCHEMA!r})")
    counts = dict.fromkeys(VERDICTS, 0)
    grouped: dict[tuple[Any, ...], tuple[list[str], dict[str, None]]] = {}
    for record in report["checks"]:
        counts[record["verdict"]] += 1
        if record["verdict"] == "passed":
            continue
        kind = _kind(record)
        key = (
            kind,
            record["check"],
            record["area"],
            record["severity"],
            _message(record, kind),
            _frozen(record.get("problems") or []),
            _frozen(record.get("waived") or []),
        )
        case = record["id"][len(record["check"]) :].strip("[]")
        cases, catches = grouped.setdefault(key, ([], {}))
        cases.append(case)
        catches.update(dict.fromkeys(record.get("catches") or ()))  # one case's fault belongs to the finding
    summary = report["run"]["summary"]
    if {k: summary.get(k) for k in VERDICTS} != counts:  # a report that disagrees with itself is not rendered
        raise ReportError(f"the report's summary {summary} does not match its {len(report['checks'])} records {counts}")
    order = [k for k, _ in KINDS]
    return sorted(
        (
            Finding(k[0], k[1], tuple(sorted(cases)), *k[2:], tuple(sorted(catches)))
            for k, (cases, catches) in grouped.items()
        ),
        key=lambda f: (order.index(f.kind), f.area, f.check, f.cases, f.message),
    )


def _code(text: str) -> str:
    """Inline code that survives backticks and a table's pipes in the text."""
    text = " ".join(text.splitlines())  # a source line's own spacing stays: it is quoted
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def _lines(finding: Finding, notes: Mapping[str, CheckNote], sources: Mapping[str, Sequence[str]]) -> list[str]:
    name = finding.check.removeprefix("test_")
    head = f"- **`{name}`** ({finding.area}, {finding.severity}"
    head += f"; catches {', '.join(finding.catches)})" if finding.catches else ")"
    if finding.cases != ("",):
        shown = ", ".join(f"`{c}`" for c in finding.cases if c) or "`(no case)`"
        head += f", {len(finding.cases)} case{'s' if len(finding.cases) > 1 else ''}: {shown}"
    out = [head]
    note = notes.get(finding.check)
    if note:
        out.append(f"  - proves: {note.proves} (`tests/{note.path}`)")
    for problem in finding.problems:
        fields = dict(problem)
        out.append(
            f"  - resource {_code(fields.get('resource', ''))}, expected {_code(fields.get('expected', ''))}, "
            f"found {_code(fields.get('found', ''))}"
        )
    for waived in finding.waived:
        fields = dict(waived)
        out.append(
            f"  - waived: {_code(fields.get('resource', ''))} by the waiver for "
            f"`{fields.get('waiver.check', '')}` on `{fields.get('waiver.resource', '')}` until "
            f"{fields.get('waiver.expires', '')} ({fields.get('waiver.owner', '')}): {fields.get('waiver.reason', '')}"
        )
    if finding.message and not finding.problems and not finding.waived:  # else the fields say it all
        body = finding.message.strip().splitlines()
        if len(body) == 1:
            out.append(f"  - reported: {body[0]}")
        else:
            out += ["  - reported:", "", "    ```text", *(f"    {line}".rstrip() for line in body), "    ```", ""]
    cited = [*sources.get(finding.check.removeprefix("test_"), ())]
    cited += [s for c in finding.cases for s in sources.get(f"{name}[{c}]", ()) if c]
    out += [f"  - source: {_code(line)}" for line in dict.fromkeys(cited)]
    return out


def _section(
    name: str,
    report: dict[str, Any],
    notes: Mapping[str, CheckNote],
    sources: Mapping[str, Sequence[str]],
) -> list[str]:
    revision = report["run"].get("revision", "")
    run = report["run"]
    title = f"the `{name}` sandbox" + (" (the default)" if name == DEFAULT else "")
    out = [f"## {title}", "", f"Built with `{command(name)}`; the policy's revision: {revision}.", ""]
    out += [f"Exit code {run['exit_code']}."]
    found = findings(report)
    for kind, heading in KINDS:
        chosen = [f for f in found if f.kind == kind]
        if not chosen:
            continue
        total = sum(len(f.cases) for f in chosen)
        out += ["", f"### {heading} ({total})", ""]
        for finding in chosen:
            out += _lines(finding, notes, sources if kind == "not applicable" else {})
    if not found:
        out += ["", "Every check passed."]
    out.append("")
    return out


def command(name: str) -> str:
    return "./run_tests.sh --sandbox" + ("" if name == DEFAULT else f" --revision {name}")


def render(
    reports: Sequence[tuple[str, dict[str, Any]]],
    notes: Mapping[str, CheckNote],
    sources: Mapping[str, Mapping[str, Sequence[str]]],
) -> str:
    """The page. `reports`: (sandbox name, its JSON report) in the order shown; `notes`: check -> what it proves;
    `sources`: revision name -> check (as --list names it, "name[case]" for one case) -> the source lines its
    revision file cites for it being not applicable."""
    out = [
        "# Findings: what the suite reports on a sandbox built from each revision of login.gov's code",
        "",
        "Generated, not written: `python -m envtest_double.findings run` runs each sandbox below with `--json`",
        "and renders their reports (`render DIR`); CI compares a fresh run's page with this one (`check`).",
        "A finding is every result that is not a plain pass; alike parametrized cases are one finding.",
        "A not-applicable finding cites the source lines `policy/revisions/<revision>.toml` quotes for it.",
        "",
        "| sandbox | revision | passed | failed | could not evaluate | waived | not applicable | skipped | exit |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, report in reports:
        summary = report["run"]["summary"]
        not_applicable = sum(len(f.cases) for f in findings(report) if f.kind == "not applicable")
        out.append(
            f"| {name} | {report['run'].get('revision', '')} | {summary['passed']} | {summary['failed']} | "
            f"{summary['error']} | {summary['waived']} | {not_applicable} | {summary['skipped'] - not_applicable} | "
            f"{report['run']['exit_code']} |"
        )
    out.append("")
    for name, report in reports:
        revision = str(report["run"].get("revision", "")).split(" ", 1)[0]
        out += _section(name, report, notes, sources.get(revision, {}))
    return "\n".join(out)


def loads(text: str, where: str) -> dict[str, Any]:
    try:
        report = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{where}: not JSON: {exc}") from exc
    if not isinstance(report, dict):
        raise ReportError(f"{where}: not a report object")
    return report
