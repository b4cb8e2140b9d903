"""JUnit finishing, merging, exit codes and the failure table."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from envtest.redact import mask_account
from envtest.report import junit

PYTEST_XML = """<?xml version="1.0" encoding="utf-8"?>
<testsuites name="pytest tests"><testsuite name="envtest" errors="1" failures="1" skipped="1" tests="4" time="1.0">
<testcase classname="tests.test_runner" name="test_ok" time="0.1"/>
<testcase classname="tests.test_runner" name="test_bad" time="0.1"><failure message="Failed: group g">group g
  expected: 1
  found:    0
  fix:      recycle the runner</failure></testcase>
<testcase classname="tests.test_network" name="test_cannot" time="0.1">
<error message="could not evaluate: x">x</error></testcase>
<testcase classname="tests.test_network" name="test_off" time="0.0"><skipped message="off"/></testcase>
</testsuite></testsuites>"""


def test_mask_account() -> None:
    assert mask_account("123456789012") == "********9012"
    assert mask_account(None) == "unknown"


@pytest.mark.parametrize(
    ("classname", "area"),
    [
        ("tests.test_runner", "runner"),
        ("tests.network.test_egress", "network"),
        ("tests.images.test_pipeline", "images"),
        ("other.module", "other.module"),
    ],
)
def test_area_of(classname: str, area: str) -> None:
    assert junit.area_of(classname) == area


def test_finalize_adds_properties_first_and_areas(tmp_path: Path) -> None:
    path = tmp_path / "j.xml"
    path.write_text(PYTEST_XML)
    summary = junit.finalize(path, {"env": "dev", "api_calls": "7"})
    assert (summary.tests, summary.passed, summary.failed, summary.errors, summary.skipped) == (4, 1, 1, 1, 1)
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None and suite[0].tag == "properties"
    assert {p.get("name"): p.get("value") for p in suite[0]} == {"env": "dev", "api_calls": "7"}
    assert [c.get("classname") for c in suite.iter("testcase")] == ["runner", "runner", "network", "network"]
    assert summary.problems[0].fix == "recycle the runner"
    table = junit.failure_table(summary)
    assert "runner::test_bad" in table and "recycle the runner" in table


@pytest.mark.parametrize(
    ("counts", "code"),
    [
        ({"tests": 3, "passed": 3}, 0),
        ({"tests": 3, "passed": 2, "failed": 1}, 1),
        ({"tests": 3, "passed": 2, "errors": 1}, 1),
        ({"tests": 2, "errors": 2}, 2),
        ({"tests": 2, "skipped": 2}, 2),
        ({"tests": 3, "passed": 1, "skipped": 2}, 0),
        ({"tests": 0}, 2),
    ],
)
def test_exit_codes(counts: dict[str, int], code: int) -> None:
    assert junit.exit_code(junit.Summary(**counts)) == code


def test_preflight_report_has_one_error_and_nothing_passed(tmp_path: Path) -> None:
    path = tmp_path / "p.xml"
    summary = junit.preflight_failure(path, "wrong_environment", "asked for dev\nsecond line", {"env": "dev"})
    assert (summary.tests, summary.errors, summary.passed) == (1, 1, 0)
    assert junit.exit_code(summary) == 2
    case = ET.parse(path).getroot().find("testsuite/testcase")
    assert case is not None and case.get("classname") == "preflight"


def test_merge_keeps_every_env_and_fails_if_one_failed(tmp_path: Path) -> None:
    inputs = []
    for env in ("dev", "int"):
        path = tmp_path / f"{env}.xml"
        path.write_text(PYTEST_XML)
        junit.finalize(path, {"env": env})
        inputs.append(path)
    summary = junit.merge(tmp_path / "all.xml", inputs)
    assert summary.tests == 8 and summary.failed == 2
    names = [s.get("name") for s in ET.parse(tmp_path / "all.xml").getroot().iter("testsuite")]
    assert names == ["envtest [dev]", "envtest [int]"]
    assert junit.exit_code(summary) == 1


def test_two_reports_of_one_env_are_refused_unless_allowed(tmp_path: Path) -> None:
    inputs = []
    for name, env in (("a", "dev"), ("b", "int"), ("c", "dev")):
        path = tmp_path / f"{name}.xml"
        path.write_text(PYTEST_XML)
        junit.finalize(path, {"env": env})
        inputs.append(path)
    with pytest.raises(junit.DuplicateEnv, match="both reports of env 'dev'"):
        junit.merge(tmp_path / "all.xml", inputs)
    assert not (tmp_path / "all.xml").exists()
    summary = junit.merge(tmp_path / "all.xml", inputs, allow_duplicate_env=True)
    assert summary.tests == 12
    # The failure table of a merged report says which env each failure is from.
    table = junit.failure_table(summary).splitlines()
    assert table[0].split()[:3] == ["env", "verdict", "check"]
    assert {line.split()[0] for line in table[2:]} == {"dev", "int"}
    # One env's table keeps its three columns.
    single = junit.failure_table(junit.summarize(junit.load(inputs[0]))).splitlines()
    assert single[0].split()[:2] == ["verdict", "check"]


def test_finalize_drops_empty_captured_blocks_and_absolute_paths(tmp_path: Path) -> None:
    root = junit.ROOT_PREFIX
    dash = "-" * 33
    xml = f"""<?xml version="1.0" encoding="utf-8"?>
<testsuites name="pytest tests"><testsuite name="envtest" tests="2">
<testcase classname="tests.test_runner" name="test_quiet" time="0.1"><system-out>{dash} Captured Out {dash}

</system-out></testcase>
<testcase classname="tests.test_runner" name="test_says" time="0.1"><system-out>{dash} Captured Out {dash}
evidence line
{dash} Captured Log {dash}

</system-out><skipped message="off">{root}tests/test_runner.py:24: off</skipped></testcase>
</testsuite></testsuites>"""
    path = tmp_path / "j.xml"
    path.write_text(xml)
    junit.finalize(path, {"env": "dev"})
    top = ET.parse(path).getroot()
    assert top.get("name") == "envtest"
    quiet, says = top.iter("testcase")
    assert quiet.find("system-out") is None
    out = says.find("system-out")
    assert out is not None and "evidence line" in (out.text or "") and "Captured Log" not in (out.text or "")
    skipped = says.find("skipped")
    assert skipped is not None and skipped.text == "tests/test_runner.py:24: off"


def test_the_page_of_a_clean_run_says_passed_and_colours_no_zero_red(tmp_path: Path) -> None:
    from envtest.report import html

    path = tmp_path / "clean.xml"
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="envtest" tests="2" '
        'timestamp="2026-11-26T10:00:00"><testcase classname="tests.test_runner" name="test_ok" time="0.1"/>'
        '<testcase classname="tests.test_runner" name="test_off" time="0"><skipped message="off: no token"/>'
        "</testcase></testsuite></testsuites>"
    )
    junit.finalize(path, {"env": "dev", "git_sha": "abc123"})
    page = html.write_beside(path).read_text()
    assert "banner pass" in page and "PASSED" in page and "2026-11-26 10:00:00 UTC" in page and "abc123" in page
    assert "class='failed'" not in page and "class='error'" not in page
    assert "<span class='zero'>0 failed</span>" in page
    assert "off: no token" in page
