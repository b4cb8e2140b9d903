"""The detection report's judgement: caught, missed, false alarm."""

from __future__ import annotations

from pathlib import Path

from junitparser import Error, Failure, JUnitXml, TestCase, TestSuite

from envtest_double.faults import Fault
from envtest_double.prove import SuiteRun, judge, table


def run_with(tmp_path: Path, exit_code: int, verdicts: dict[str, str]) -> SuiteRun:
    suite = TestSuite("envtest")
    for name, verdict in verdicts.items():
        case = TestCase(name, classname="runner")
        if verdict == "failed":
            case.result = [Failure("x")]
        elif verdict == "error":
            case.result = [Error("x")]
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
