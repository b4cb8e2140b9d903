"""The detection report's judgement: caught, missed, false alarm."""

from __future__ import annotations

from pathlib import Path

from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite

from envtest_double.faults import Fault
from envtest_double.prove import SuiteRun, for_revision, judge, not_applicable_checks, table


def run_with(tmp_path: Path, exit_code: int, verdicts: dict[str, str]) -> SuiteRun:
    suite = TestSuite("envtest")
    for name, verdict in verdicts.items():
        case = TestCase(name, classname="runner")
        if verdict == "failed":
            case.result = [Failure("x")]
        elif verdict == "error":
            case.result = [Error("x")]
        elif verdict.startswith("skipped:"):
            case.result = [Skipped(verdict.removeprefix("skipped:"))]
        suite.add_testcase(case)
    xml = JUnitXml()
    xml.add_testsuite(suite)
    path = tmp_path / f"{len(list(tmp_path.iterdir()))}.xml"
    xml.write(str(path))
    return SuiteRun(exit_code, "", "", path)


FAULT = Fault("FX", lambda sandbox: None, ("test_a",), cannot_evaluate=("test_c",), own_title="a fault")


def test_caught_only_when_exactly_its_checks_fail(tmp_path: Path) -> None:
    assert judge(FAULT, run_with(tmp_path, 1, {"test_a": "failed", "test_b": "passed", "test_c": "error"})).ok
    missed = judge(FAULT, run_with(tmp_path, 0, {"test_a": "passed", "test_b": "passed"}))
    assert not missed.ok and missed.missed == {"test_a"}
    alarm = judge(FAULT, run_with(tmp_path, 1, {"test_a": "failed", "test_b": "failed"}))
    assert not alarm.ok and alarm.false_alarms == {"test_b"}
    unexpected_error = judge(FAULT, run_with(tmp_path, 1, {"test_a": "failed", "test_b": "error"}))
    assert unexpected_error.false_alarms == {"test_b"}
    assert "MISSED" in table([missed]) and "false alarm" in table([alarm])


def test_a_stopping_fault_must_report_nothing_as_passed(tmp_path: Path) -> None:
    stop = Fault("FS", lambda sandbox: None, exit_code=2, own_title="wrong env")
    assert judge(stop, run_with(tmp_path, 2, {"wrong_environment": "error"})).ok
    leaked = judge(stop, run_with(tmp_path, 2, {"wrong_environment": "error", "test_a": "passed"}))
    assert not leaked.ok and leaked.false_alarms == {"test_a"}
    assert not judge(stop, run_with(tmp_path, 0, {"test_a": "passed"})).ok
    other_stop = judge(stop, run_with(tmp_path, 2, {"aws_credentials": "error"}))
    assert not other_stop.ok and other_stop.verdict == "stopped, but not by wrong_environment"


def test_a_revision_proves_each_fault_by_the_catchers_it_has(tmp_path: Path) -> None:
    clean = run_with(
        tmp_path,
        0,
        {
            "test_a": "passed",
            "test_b": "skipped:not applicable to revision current (18F/identity-pki 026b567050b3): no ELK",
            "test_c": "skipped:disruptive or slow test: switched off",
        },
    )
    absent = not_applicable_checks(clean)
    assert absent == {"test_b"}  # a check switched off is not one the revision lacks
    both = Fault("FB", lambda sandbox: None, ("test_a", "test_b"), cannot_evaluate=("test_b",), own_title="x")
    applied, _ = for_revision(both, "file", absent)
    assert applied is not None and applied.caught_by == ("test_a",) and applied.cannot_evaluate == ()
    # Caught by nothing the revision has: it does not apply, rather than being "missed".
    assert for_revision(Fault("FN", lambda sandbox: None, ("test_b",), own_title="x"), "file", absent) == (
        None,
        "every check that catches it is not applicable there",
    )
    # A pattern-era fault does not apply to a file-era revision; the others apply in either era, unless bound to
    # the file (the allowed-images file, which a pattern-era runner does not read); a control applies everywhere.
    pattern_era = Fault("FP", lambda sandbox: None, ("test_a",), era="pattern", own_title="x")
    assert for_revision(pattern_era, "file", absent) == (None, "a pattern-era fault in a file-era revision")
    assert for_revision(pattern_era, "pattern", absent) == (pattern_era, "")
    assert for_revision(Fault("FF", lambda sandbox: None, ("test_a",), own_title="x"), "pattern", absent)[0]
    file_bound = Fault("FB", lambda sandbox: None, ("test_a",), bound_to_era=True, own_title="x")
    assert for_revision(file_bound, "pattern", absent)[0] is None
    control = Fault("F0", lambda sandbox: None, exit_code=0, own_title="nothing wrong")
    assert for_revision(control, "file", absent) == (control, "")


def test_a_fault_on_the_argo_groups_applies_only_where_the_runner_carries_them() -> None:
    on_argo = Fault("FA", lambda sandbox: None, ("test_a",), needs_argo=True, own_title="x")
    assert for_revision(on_argo, "file", set(), argo=True) == (on_argo, "")
    assert for_revision(on_argo, "file", set(), argo=False)[0] is None
    plain = Fault("FP", lambda sandbox: None, ("test_a",), own_title="x")
    assert for_revision(plain, "file", set(), argo=False) == (plain, "")
