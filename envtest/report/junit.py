"""JUnit XML for GitLab: properties, areas, merging, and the failure table.

pytest writes the file (xunit2); this module finishes it with junitparser:
suite properties (env, region, masked account, version, run kind, API
calls), a classname per area (`runner`, `network`, ...) so GitLab groups the
checks, and the short table of failures printed at the end of a run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite

from envtest.redact import redact

FIX_LINE = re.compile(r"^\s*fix:\s*(.+)$", re.MULTILINE)


def area_of(classname: str) -> str:
    """tests.test_runner -> runner; tests.network.test_egress -> network (an area split by concern keeps its
    name, so severities and waivers by area hold); anything else is kept as it is."""
    match = re.fullmatch(r"tests\.(?:([a-z0-9_]+)\.)?test_([a-z0-9_]+)(\..+)?", classname or "")
    if not match:
        return classname
    return match.group(1) or (match.group(2) + (match.group(3) or ""))


@dataclass
class Problem:
    area: str
    name: str
    kind: str  # "failed" or "error"
    fix: str
    env: str = ""  # the suite's env property (a merged report holds several)


@dataclass
class Summary:
    tests: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    waived: int = 0  # of the skipped: failures a live waiver covers (policy [[waivers]])
    problems: list[Problem] = field(default_factory=list)

    @property
    def evaluated(self) -> int:
        return self.passed + self.failed


def exit_code(summary: Summary) -> int:
    """0 every evaluated check passed; 1 a check failed or errored; 2 nothing could be evaluated.

    A run that evaluated nothing (every check skipped, say) is 2: a gate that
    checked nothing must not read as green.
    """
    if summary.evaluated == 0:
        return 2
    if summary.failed or summary.errors:
        return 1
    return 0


def _text_of(result: Failure | Error) -> str:
    return "\n".join(part for part in (result.message or "", result.text or "") if part)


# A skip whose message starts so is a waived finding (the plugin writes it; policy [[waivers]]).
WAIVED = "waived: "


def verdict_of(case: TestCase) -> str:
    """ "passed", "failed", "error", "skipped" or "waived" (a skip carrying a waiver)."""
    result = case.result[0] if case.result else None
    if isinstance(result, Skipped) and (result.message or "").startswith(WAIVED):
        return "waived"
    return {Failure: "failed", Error: "error", Skipped: "skipped"}.get(type(result), "passed")


def verdicts(xml: JUnitXml) -> dict[str, str]:
    """check name -> "passed", "failed", "error" or "skipped" (JUnit's own four: a waived check is skipped)."""
    return {case.name or "": verdict_of(case).replace("waived", "skipped") for suite in xml for case in suite}


def summarize(xml: JUnitXml) -> Summary:
    summary = Summary()
    for suite in xml:
        env = next((p.value for p in suite.properties() if p.name == "env"), "")
        for case in suite:
            summary.tests += 1
            kind = verdict_of(case)
            if kind == "passed":
                summary.passed += 1
                continue
            if kind in ("skipped", "waived"):
                summary.skipped += 1
                summary.waived += kind == "waived"
                continue
            if kind == "error":
                summary.errors += 1
            else:
                summary.failed += 1
            result = case.result[0]
            text = _text_of(result)
            fixes = FIX_LINE.findall(text)
            first = next((line.strip() for line in text.splitlines() if line.strip()), "")
            summary.problems.append(
                Problem(
                    area=case.classname or "",
                    name=case.name or "",
                    kind=kind,
                    fix=fixes[0].strip() if fixes else first[:200],
                    env=env or "",
                )
            )
    return summary


def _schema_clean(xml: JUnitXml) -> None:
    """junitparser writes `skipped` on <testsuites>, which the JUnit schema does not allow there."""
    xml._elem.attrib.pop("skipped", None)


def load(path: Path) -> JUnitXml:
    return JUnitXml.fromfile(str(path))


def _properties_first(suite: TestSuite) -> None:
    """The JUnit schema wants <properties> before the test cases; junitparser appends it."""
    element = suite._elem.find("properties")
    if element is not None:
        suite._elem.remove(element)
        suite._elem.insert(0, element)


def finalize(path: Path, properties: Mapping[str, str]) -> Summary:
    """Add suite properties and area classnames to pytest's JUnit file, in place."""
    xml = load(path)
    suite_times = [suite.time for suite in xml]
    for suite in xml:
        for key, value in properties.items():
            suite.add_property(key, xml_text(str(value)))
        for case in suite:
            case.classname = area_of(case.classname or "")
            _tidy(case)
        _properties_first(suite)
    xml.update_statistics()
    for suite, seconds in zip(xml, suite_times, strict=True):
        suite.time = seconds  # pytest's own time, set-up and tear-down included
    xml._elem.set("name", "envtest")  # pytest names the top element after its arguments ("pytest tests")
    _schema_clean(xml)
    xml.write(str(path))
    return summarize(xml)


ROOT_PREFIX = str(Path(__file__).resolve().parents[2]) + "/"
SECTION = re.compile(r"^-+ (Captured [^-]+?) -+\n", re.MULTILINE)


def _tidy(case: TestCase) -> None:
    """No empty "Captured Out" blocks, and paths relative to the repository (a skip reason carried the build
    machine's absolute path)."""
    for name in ("system-out", "system-err"):
        for element in case._elem.findall(name):
            text = element.text or ""
            parts = SECTION.split(text)  # [before, title, body, title, body, ...]
            kept = [parts[0]] if parts[0].strip() else []
            for title, body in zip(parts[1::2], parts[2::2], strict=True):
                if body.strip():
                    kept.append(f"{'-' * 20} {title} {'-' * 20}\n{body}")
            if kept:
                element.text = "".join(kept).replace(ROOT_PREFIX, "")
            else:
                case._elem.remove(element)
    for element in case._elem:
        if element.tag in ("skipped", "failure", "error"):
            if element.text:
                element.text = element.text.replace(ROOT_PREFIX, "")
            if element.get("message"):
                element.set("message", element.get("message", "").replace(ROOT_PREFIX, ""))


# Characters XML 1.0 does not allow (its Char production): C0 controls but tab, newline and carriage return;
# lone surrogates; U+FFFE and U+FFFF. pytest escapes them in the reports it writes; the command's own (a stop,
# whose message may quote an endpoint's reply) must too, or no reader can parse the file.
NOT_XML = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def xml_text(text: str) -> str:
    """`text` as the command writes it into a report: secrets redacted, characters XML forbids shown escaped."""
    return NOT_XML.sub(_escaped, redact(text))


def _stop_case(name: str, classname: str, message: str) -> TestCase:
    """One error: a run (or its part) that has no verdict, and why."""
    message = xml_text(message)
    case = TestCase(name=xml_text(name), classname=classname, time=0.0)
    case.result = [Error(message=(message.splitlines() or [""])[0][:500], type_="CouldNotEvaluate")]
    case.result[0].text = message
    return case


def preflight_failure(path: Path, check: str, message: str, properties: Mapping[str, str]) -> Summary:
    """A report for a run stopped before any check: one error, nothing passed."""
    case = _stop_case(check, "preflight", message)
    suite = TestSuite(name="envtest")
    for key, value in properties.items():
        suite.add_property(key, xml_text(str(value)))
    suite.add_testcase(case)
    _properties_first(suite)
    xml = JUnitXml()
    xml.add_testsuite(suite)
    xml.update_statistics()
    _schema_clean(xml)
    path.parent.mkdir(parents=True, exist_ok=True)
    xml.write(str(path))
    return summarize(xml)


def add_stop(path: Path, check: str, message: str) -> Summary:
    """Add one error (the run's stop) to a finished report: what ran keeps its verdicts."""
    xml = load(path)
    suite = next(iter(xml))
    suite.add_testcase(_stop_case(check, "run", message))
    xml.update_statistics()
    _schema_clean(xml)
    xml.write(str(path))
    return summarize(xml)


class DuplicateEnv(ValueError):
    """Two reports from one env: merged, one env's verdict would be counted twice, or hide the other's."""


def merge(out: Path, inputs: Iterable[Path], *, allow_duplicate_env: bool = False) -> Summary:
    """Merge several JUnit files (one per env) into one; suites keep their properties. Two files from one env
    are refused (DuplicateEnv) unless allow_duplicate_env: a nightly that ran an env twice should say so."""
    merged = JUnitXml(name="envtest")
    seen: dict[str, Path] = {}
    for path in inputs:
        for env in sorted({p.value for suite in load(path) for p in suite.properties() if p.name == "env"}):
            if env in seen and seen[env] != path and not allow_duplicate_env:
                raise DuplicateEnv(
                    f"{seen[env]} and {path} are both reports of env {env!r}: merge one of them, or pass "
                    "--allow-duplicate-env"
                )
            seen.setdefault(env, path)
    for path in inputs:
        for suite in load(path):
            env = next((p.value for p in suite.properties() if p.name == "env"), None)
            if env and not (suite.name or "").endswith(f"[{env}]"):
                suite.name = f"{suite.name or 'envtest'} [{env}]"
            merged.add_testsuite(suite)
    merged.update_statistics()
    _schema_clean(merged)
    out.parent.mkdir(parents=True, exist_ok=True)
    merged.write(str(out))
    return summarize(merged)


def envs_in(path: Path) -> set[str]:
    """The envs a (merged) report covers, from its suites' `env` property."""
    return {p.value for suite in load(path) for p in suite.properties() if p.name == "env"}


def failure_table(summary: Summary) -> str:
    """verdict, check, fix; with an env column first when the problems come from more than one env."""
    if not summary.problems:
        return ""
    with_env = len({p.env for p in summary.problems}) > 1
    rows = [(*(("env",) if with_env else ()), "verdict", "check", "fix")]
    rows += [(*((p.env,) if with_env else ()), p.kind, f"{p.area}::{p.name}", p.fix) for p in summary.problems]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    widths[-1] = min(70, widths[-1])
    lines = ["  ".join(f"{c:<{w}}" for c, w in zip(r[:-1], widths, strict=True)) + f"  {r[-1]}" for r in rows]
    lines.insert(1, "-" * min(120, sum(widths) + 2 * len(widths) + 38))
    return "\n".join(lines)
