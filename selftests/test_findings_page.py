"""docs/findings.md's renderer: reports in, markdown out; every result that is not a plain pass, and nothing that
changes between two runs of the same sandbox. The reports are hand-written in the shape a real `--json` run
writes (docs/results.md), one record of each kind."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from envtest_double.findings import __main__ as command
from envtest_double.findings.page import CheckNote, ReportError, findings, render
from envtest_double.findings.sources import not_applicable_sources


def _record(test_id: str, verdict: str, message: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": test_id,
        "check": test_id.split("[", 1)[0],
        "area": extra.pop("area", "images"),
        "severity": "critical",
        "verdict": verdict,
        "duration_s": 0.004,
        "message": message,
        "problems": extra.pop("problems", []),
        "waived": extra.pop("waived", []),
        "catches": extra.pop("catches", []),
    }


WAIVER = {"check": "runner_allows_no_services", "resource": "*allowed_services", "reason": "fix in review, INC-1234",
          "owner": "alice@example.gov", "expires": "2026-12-31"}  # fmt: skip


def _report() -> dict[str, Any]:
    checks = [
        _record("test_runner_egress_is_declared", "passed"),
        _record(
            "test_runner_allows_no_services",
            "failed",
            "config.toml on i-0abc123def4567890 ...",
            problems=[
                {
                    "resource": "config.toml on i-0abc123def4567890 [runners.docker] allowed_services",
                    "expected": "['']",
                    "found": "[]",
                    "fix": "set it back",
                }
            ],
            catches=["F12"],
        ),
        _record("test_proxy_denies_direct", "error", "could not evaluate: 127.0.0.1:41234 did not answer in 5 s"),
        _record(
            "test_docker_daemon_is_locked_down",
            "waived",
            "waived: ...",
            waived=[{"resource": "dockerd on i-0abc123def4567890 by sg-46f8ba70012d46f71 icc", "waiver": WAIVER}],
        ),
        _record(
            "test_logstash_is_green",
            "skipped",
            "not applicable to revision r1 (18F/identity-pki 0123456789ab, 2023-08-03): no ELK hosts at this commit",
            area="hosts",
        ),
        _record("test_recycles[idp]", "skipped", "disruptive or slow test: switched off", area="recycle"),
        _record(
            "test_recycles[elk]", "skipped", "disruptive or slow test: switched off", area="recycle", catches=["R1"]
        ),
    ]
    run = {"env": "sandbox", "region": "us-west-2", "account": "********9012", "envtest_version": "0.1.0",
           "git_sha": "81661bc5ac42", "run_kind": "sandbox", "guards": "MY_ENV, account, terraform",
           "revision": "r1 (18F/identity-pki 0123456789ab, 2023-08-03)", "api_calls": "96", "exit_code": 1,
           "summary": {"passed": 1, "failed": 1, "error": 1, "skipped": 3, "waived": 1}}  # fmt: skip
    return {"schema": "envtest-results/1", "run": run, "checks": checks}


NOTES = {"test_runner_allows_no_services": CheckNote("The runner allows no service containers.", "images/x.py")}
SOURCES = {"r1": {"logstash_is_green": ("terraform/app/elk.tf:1  no such file",)}}


def test_every_result_that_is_not_a_pass_is_a_finding_with_what_the_report_says() -> None:
    page = render([("r1", _report())], NOTES, SOURCES)
    assert "runner_egress_is_declared" not in page  # a plain pass is no finding
    for heading in ("Failed (1)", "Could not evaluate (1)", "Waived (1)", "Not applicable to the revision (1)",
                    "Skipped (2)"):  # fmt: skip
        assert f"### {heading}" in page
    assert "resource `config.toml on i-<id> [runners.docker] allowed_services`, expected `['']`, found `[]`" in page
    assert "proves: The runner allows no service containers. (`tests/images/x.py`)" in page
    assert "could not evaluate: 127.0.0.1:<port> did not answer in 5 s" in page
    assert "until 2026-12-31 (alice@example.gov): fix in review, INC-1234" in page
    assert "`dockerd on i-<id> by sg-<id> icc`" in page and "reported: waived: ..." not in page
    assert "reported: no ELK hosts at this commit" in page
    assert "source: `terraform/app/elk.tf:1  no such file`" in page  # quoted as the revision file has it
    assert "| r1 | r1 (18F/identity-pki 0123456789ab, 2023-08-03) | 1 | 1 | 1 | 1 | 1 | 2 | 1 |" in page


def test_alike_cases_are_one_finding_with_every_case_and_fault() -> None:
    (skip,) = [f for f in findings(_report()) if f.kind == "skipped"]
    assert (skip.cases, skip.catches) == (("elk", "idp"), ("R1",))


def test_what_changes_between_runs_of_one_sandbox_never_reaches_the_page() -> None:
    first, second = _report(), _report()
    second["run"].update(git_sha="ffffffffffff", api_calls="97")
    for record in second["checks"]:
        record["duration_s"] = 9.9
        record["message"] = (record["message"] or "").replace("i-0abc123def4567890", "i-0fff").replace("41234", "5")
        for problem in record["problems"]:
            problem["resource"] = problem["resource"].replace("i-0abc123def4567890", "i-00000000")
        for waived in record["waived"]:
            waived["resource"] = waived["resource"].replace("sg-46f8ba70012d46f71", "sg-0123456789abcdef0")
    assert render([("r1", first)], NOTES, SOURCES) == render([("r1", second)], NOTES, SOURCES)
    second["checks"][1]["problems"][0]["found"] = "['x']"  # the control: a finding that differs does show
    assert render([("r1", first)], NOTES, SOURCES) != render([("r1", second)], NOTES, SOURCES)


def test_a_report_that_is_not_one_or_disagrees_with_itself_is_refused() -> None:
    wrong = _report()
    wrong["schema"] = "something/2"
    with pytest.raises(ReportError, match="schema"):
        findings(wrong)
    short = _report()
    short["checks"].pop()  # its summary still counts the dropped record
    with pytest.raises(ReportError, match="does not match"):
        findings(short)


def test_the_sources_of_not_applicable_checks_are_the_comments_above_each() -> None:
    text = (
        "[images]\n# runner.rb:1  not this\nloader = 'split'\n\n[revision.not_applicable]\n"
        '# a.tf:3  first\n# b.go:4  second\n"one" = "why"\n# stray\n\n"two[elk]" = "why"\nthree = "why"\n'
    )
    assert not_applicable_sources(text) == {"one": ("a.tf:3  first", "b.go:4  second"), "two[elk]": (), "three": ()}


def test_each_revision_file_cites_a_source_for_every_check_it_sets_aside() -> None:
    for revision in command.built():
        sources = not_applicable_sources((command.ROOT / "policy" / "revisions" / f"{revision}.toml").read_text())
        assert sources and all(sources.values()), revision


def _reports_dir(tmp_path: Path) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    for name in command.sandboxes():
        report = copy.deepcopy(_report())
        report["run"]["revision"] = name
        (tmp_path / f"{name}.json").write_text(json.dumps(report))
    return tmp_path


def test_check_passes_a_current_page_and_fails_a_stale_one_with_a_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = _reports_dir(tmp_path / "reports")
    page = tmp_path / "findings.md"
    page.write_text(command.page_from(reports))
    assert command.main(["check", str(reports), str(page)]) == 0
    page.write_text(page.read_text().replace("Failed (1)", "Failed (0)"))
    assert command.main(["check", str(reports), str(page)]) == 1
    out = capsys.readouterr().out
    assert "-### Failed (0)" in out and "+### Failed (1)" in out and "out of date" in out


def test_a_missing_report_is_no_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reports = _reports_dir(tmp_path)
    (reports / f"{command.sandboxes()[-1]}.json").unlink()
    assert command.main(["render", str(reports)]) == 2
    assert "no report" in capsys.readouterr().err


def test_ci_checks_the_page_against_the_reports_of_the_runs_it_already_makes() -> None:
    """CI proves the page current without extra sandbox runs: each clean sandbox it runs writes its JSON report where
    the check reads it, and the check runs after them."""
    ci = (command.ROOT / ".ci" / "run").read_text()
    default = ci.index('./run_tests.sh --sandbox --json "$findings/runbook.json"')
    revisions = ci.index('./run_tests.sh --sandbox --revision "$revision" --json "$findings/$revision.json"')
    assert default < revisions < ci.index('-m envtest_double.findings check "$findings" docs/findings.md')
