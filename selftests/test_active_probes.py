"""Active probes are declared: a check that changes something outside AWS (the lockdown probe plays or retries a
GitLab job; the AWS guard does not see HTTP) carries @pytest.mark.active_probe, is listed as such, and
ENVTEST_ACTIVE_PROBES=false switches it off as a skip with the reason, never a silent pass."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import requests

from envtest import catalogue, explain, pytest_plugin
from envtest.errors import CouldNotEvaluate
from envtest.fixtures.images import lockdown_runs_of
from envtest.policy import load_policy
from envtest.settings import Settings
from envtest_double.running import Sandbox
from selftests.conftest import run_suite
from tests.images import test_lockdown_probe as lockdown_probe
from tests.images import test_runner_config as runner_config

LOCKDOWN = lockdown_probe.test_env_runner_refuses_a_forbidden_image.__name__


def test_the_lockdown_probe_is_declared_active() -> None:
    check = catalogue.checks()[LOCKDOWN]
    assert "active_probe" in check.markers
    assert "GitLab job" in (check.active or "")


def test_every_check_that_starts_a_gitlab_job_is_declared_active() -> None:
    """The fixtures that write outside AWS are named once (envtest/active_probes.py); a check asking for one
    without the mark would write unannounced and could not be switched off."""
    from envtest.active_probes import FIXTURES

    undeclared = [
        c.name for c in catalogue.checks().values() if set(c.fixtures) & FIXTURES and "active_probe" not in c.markers
    ]
    assert catalogue.checks()[LOCKDOWN].fixtures and undeclared == []


def test_list_explain_and_the_docs_say_it_is_active_and_how_to_switch_it_off() -> None:
    out = io.StringIO()
    explain.list_checks(out)
    line = next(line for line in out.getvalue().splitlines() if LOCKDOWN.removeprefix("test_") in line)
    assert "active" in line and "ENVTEST_ACTIVE_PROBES=false" in line, line
    text = explain.explain(catalogue.checks()[LOCKDOWN])
    assert "Active probe:" in text and "ENVTEST_ACTIVE_PROBES=false" in text
    assert "Active probe" in explain.render_docs()


def test_an_active_probe_mark_says_what_it_changes(tmp_path: Path) -> None:
    probe = 'import pytest\n\n@pytest.mark.active_probe("pokes a thing")\ndef test_p(gitlab_job, policy):\n    pass\n'
    for name, text in {"said": probe, "unsaid": probe.replace('"pokes a thing"', "")}.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "test_area.py").write_text(text)
    (found,) = catalogue.checks(tmp_path / "said").values()
    assert (found.active, found.fixtures, found.markers) == (
        "pokes a thing",
        ("gitlab_job", "policy"),
        ("active_probe",),
    )
    with pytest.raises(catalogue.CatalogueError, match="what it changes"):
        catalogue.checks(tmp_path / "unsaid")


@pytest.mark.parametrize(("value", "words"), [("false", "switched off"), ("perhaps", "must be true or false")])
def test_the_probe_itself_never_starts_when_switched_off_or_unreadable(value: str, words: str) -> None:
    """The last guard, for any caller (the gather plan starts the probe before the check runs): nothing is sent."""
    settings = Settings.from_environ(
        {"ENV_NAME": "sandbox", "GITLAB_API_TOKEN": "glpat-x" * 3, "GITLAB_PROJECT_ID": "1", "GITLAB_PIPELINE_ID": "2",
         "GITLAB_URL": "https://gitlab.login.gov:9", "ENVTEST_ACTIVE_PROBES": value}
    )  # fmt: skip
    with pytest.raises(CouldNotEvaluate, match=words):
        lockdown_runs_of(load_policy("sandbox"), settings, lambda: "gitlab.login.gov")


class _Item:
    """A collected test as the collection hook sees it (a test double of pytest.Item: marks and fixture names)."""

    def __init__(self, name: str, marks: list[str]) -> None:
        self.name = name
        self.fixturenames = ["settings"]
        self.marks = [getattr(pytest.mark, m) for m in marks]

    def get_closest_marker(self, name: str) -> Any:
        return next((m.mark for m in self.marks if m.mark.name == name), None)

    def add_marker(self, marker: Any) -> None:
        self.marks.append(marker)


@pytest.mark.parametrize(("value", "skipped"), [("false", True), ("off", True), ("true", False), (None, False)])
def test_the_switch_turns_an_active_probe_into_a_skip_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, value: str | None, skipped: bool
) -> None:
    if value is None:
        monkeypatch.delenv("ENVTEST_ACTIVE_PROBES", raising=False)
    else:
        monkeypatch.setenv("ENVTEST_ACTIVE_PROBES", value)
    monkeypatch.setenv("ENVTEST_DISRUPTIVE", "true")  # only this switch decides here
    probe, reader = _Item("probe", ["active_probe"]), _Item("reader", [])
    pytest_plugin.pytest_collection_modifyitems(None, [probe, reader])  # type: ignore[arg-type, list-item]
    skip = probe.get_closest_marker("skip")
    assert (skip is not None) == skipped and reader.get_closest_marker("skip") is None
    if skip is not None:
        assert f"ENVTEST_ACTIVE_PROBES={value}" in skip.kwargs["reason"]
        assert "active probe" in skip.kwargs["reason"]


@pytest.mark.sandbox
def test_switched_off_the_probe_is_reported_skipped_and_gitlab_sees_no_job_started(
    clean_sandbox: Sandbox, sandbox_env: dict[str, str], tmp_path: Path
) -> None:
    clean_sandbox.reset_gitlab()  # the double forgets earlier runs' plays and retries
    reader = runner_config.test_runner_allows_no_services.__name__
    args = ["sandbox", "-t", LOCKDOWN, "-t", reader, "-v", "ENVTEST_ACTIVE_PROBES=false"]
    run = run_suite(args, sandbox_env, tmp_path)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.verdicts() == {LOCKDOWN: "skipped", reader: "passed"}
    assert "ENVTEST_ACTIVE_PROBES=false" in run.text_of(LOCKDOWN)
    # The double builds the pipeline as its first run left it: the manual probe job was never played.
    env = clean_sandbox.environ
    port = env["GITLAB_URL"].rsplit(":", 1)[1]
    jobs = requests.get(
        f"https://127.0.0.1:{port}/api/v4/projects/{env['GITLAB_PROJECT_ID']}/pipelines/{env['GITLAB_PIPELINE_ID']}/jobs",
        headers={"PRIVATE-TOKEN": env["GITLAB_API_TOKEN"]},
        params={"per_page": 100},
        verify=env["ENVTEST_CA_BUNDLE"],
        timeout=10,
    ).json()
    assert {job["status"] for job in jobs if job["name"] == "badtest_sandbox"} == {"manual"}, jobs
