"""The GitLab side of the env runner: GitLab's Runners API read (GETs only) into RunnerRegistration, the check
that judges it against policy [runner.gitlab], and the GitLab double that serves the sandbox's runners.

The double runs in this process behind TLS on loopback, reached as in the sandbox (GitLab's name, connected to
127.0.0.1); every sandbox run exercises it as a process (test_sandbox_checks.py, the G1 fault rows).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from envtest.errors import CouldNotEvaluate
from envtest.gather.gitlab import GitLab
from envtest.gather.gitlab_runners import RunnerRegistration, runners_with_tag
from envtest.policy import Policy, load_policy
from envtest.problems import CheckFailed
from envtest.settings import Settings
from envtest_double import env_facts, gitlab_runners
from envtest_double.gitlab import GitLabDouble, serve
from envtest_double.running import Sandbox
from envtest_double.tls import make_certificates
from selftests.conftest import run_suite
from tests.images import test_runner_config as runner_config
from tests.images import test_runner_registration as registration_check

TOKEN = "glpat-selftestToken0123456789"
READ_API_TOKEN = "glpat-selftestReadOnly0123456789"
DEVELOPER_TOKEN = "glpat-selftestDeveloper012345678"
PATTERN = str(load_policy("sandbox").section("images")["lockdown_probe"]["gitlab_host_pattern"])
CHECK = registration_check.test_gitlab_holds_the_env_runner_as_the_env_expects
TAG = "sandbox-env-runner"
CONFIG = 'concurrent = 1\n[[runners]]\n  name = "sandbox-env-runner-i-0abc"\n  id = 4242\n  token = "x"\n'
BOOT_TAGS = {
    "allow_untagged_jobs": "false",
    "gitlab_runner_pool_name": "env-runner",
    "only_on_protected_branch": "false",
}
# GitLab's RunnerDetails (lib/api/entities/ci/runner_details.rb over runner.rb), as GitLab 17 answers it.
DETAILS: dict[str, Any] = {
    "id": 4242, "description": "sandbox-env-runner-i-0abc", "ip_address": "", "active": True, "paused": False,
    "is_shared": False, "runner_type": "project_type", "name": None, "online": True, "status": "online",
    "tag_list": [TAG], "run_untagged": False, "locked": False, "maximum_timeout": None,
    "access_level": "not_protected", "contacted_at": "2026-11-01T00:00:00.000Z", "groups": [],
}  # fmt: skip


# ---- the answer read: RunnerDetails into a RunnerRegistration ------------------------------------------------


def test_runner_details_are_read_as_gitlab_documents_them() -> None:
    runner = RunnerRegistration.from_api(DETAILS)
    assert runner == RunnerRegistration(
        4242, "sandbox-env-runner-i-0abc", False, False, False, (TAG,), "not_protected", "online", "project_type"
    )
    assert runner.where() == "GitLab runner #4242 'sandbox-env-runner-i-0abc' (project_type, online)"
    assert RunnerRegistration.from_record(json.loads(json.dumps(runner.record()))) == runner


@pytest.mark.parametrize(
    ("fields", "paused"),
    [
        ({"active": True, "paused": False}, False),
        ({"active": False, "paused": True}, True),
        ({"paused": True}, True),  # a GitLab past the deprecation: `active` removed
        ({"active": False}, True),  # a GitLab before 14.8: `active` alone
        ({"active": True}, False),
    ],
)
def test_paused_is_read_where_given_else_active_the_other_way_round(fields: dict[str, bool], paused: bool) -> None:
    answer = {k: v for k, v in DETAILS.items() if k not in ("active", "paused")} | fields
    assert RunnerRegistration.from_api(answer).paused is paused


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"active": None, "paused": None}, "no true/false `paused`"),
        ({"locked": "false"}, "no true/false `locked`"),
        ({"run_untagged": None}, "no true/false `run_untagged`"),
        ({"tag_list": "sandbox-env-runner"}, "no list of strings `tag_list`"),
        ({"access_level": None}, "no string `access_level`"),
        ({"id": "4242"}, "no integer id"),
    ],
)
def test_an_answer_without_a_documented_field_cannot_be_evaluated(change: dict[str, Any], words: str) -> None:
    with pytest.raises(CouldNotEvaluate, match=words):
        RunnerRegistration.from_api({k: v for k, v in (DETAILS | change).items() if v is not None})


def test_gitlab_words_reach_the_report_printable_and_bounded() -> None:
    runner = RunnerRegistration.from_api(DETAILS | {"description": "evil\x1b[2J\nrunner" + "x" * 300})
    assert runner.description.startswith("evil?[2J?runner") and len(runner.description) == 120


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=20,
)


@given(st.one_of(JSONISH, st.fixed_dictionaries({}, optional={k: JSONISH for k in DETAILS})))
def test_any_answer_is_read_or_cannot_be_evaluated(answer: Any) -> None:
    try:
        runner = RunnerRegistration.from_api(answer)
    except CouldNotEvaluate:
        return
    assert RunnerRegistration.from_record(json.loads(json.dumps(runner.record()))) == runner


@given(st.dictionaries(st.sampled_from(sorted(DETAILS)), JSONISH, max_size=6))
def test_any_change_to_a_documented_answer_is_read_or_cannot_be_evaluated(change: dict[str, Any]) -> None:
    with contextlib.suppress(CouldNotEvaluate):
        RunnerRegistration.from_api(DETAILS | change)


class _ListsEveryRunner:
    """A GitLab that ignores the tag_list filter (as one older than the filter would): it lists every runner."""

    def pages(self, path: str, what: str, **params: Any) -> list[dict[str, Any]]:
        return [{"id": 4242}, {"id": 12}]

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        other = DETAILS | {"id": 12, "tag_list": ["test-pool"], "run_untagged": True}
        return DETAILS if path == "/runners/4242" else other


def test_only_runners_whose_details_hold_the_tag_are_judged() -> None:
    found = runners_with_tag(_ListsEveryRunner(), "52", TAG)  # type: ignore[arg-type]
    assert [r.runner_id for r in found] == [4242]


# ---- the check, on registrations and policies made here ------------------------------------------------------

SETTINGS = Settings.from_environ({"ENV_NAME": "sandbox"})
RUNNER = RunnerRegistration.from_api(DETAILS)


def _policy(**gitlab: Any) -> Policy:
    policy = load_policy("sandbox")
    runner = dict(policy.section("runner"))
    runner["gitlab"] = {**runner["gitlab"], **gitlab}
    return replace(policy, data={**policy.data, "runner": runner})


def _problems(runners: list[RunnerRegistration], policy: Policy) -> list[tuple[str, str, str]]:
    try:
        CHECK(runners, policy, SETTINGS)
    except CheckFailed as failed:
        return [(p.resource, p.expected, p.found) for p in failed.problems]
    return []


def test_the_registration_login_govs_code_makes_passes() -> None:
    assert _problems([RUNNER], load_policy("sandbox")) == []


@pytest.mark.parametrize(
    ("runner", "policy", "problem"),
    [
        (replace(RUNNER, run_untagged=True), {}, ("run_untagged", "false", "true")),
        (RUNNER, {"access_level": "ref_protected"}, ("access_level", "ref_protected", "not_protected")),
        (replace(RUNNER, access_level="ref_protected"), {}, ("access_level", "not_protected", "ref_protected")),
        (replace(RUNNER, tag_list=(TAG, "docker")), {}, ("tag_list", TAG, f"docker, {TAG}")),
        (replace(RUNNER, locked=True), {}, ("locked", "false", "true")),
    ],
)
def test_each_setting_that_differs_from_the_policy_is_named(
    runner: RunnerRegistration, policy: dict[str, Any], problem: tuple[str, str, str]
) -> None:
    key, expected, found = problem
    assert _problems([runner], _policy(**policy)) == [(f"{runner.where()} {key}", expected, found)]


def test_each_fix_says_where_to_change_it_in_gitlab_and_in_the_registration() -> None:
    runner = replace(RUNNER, run_untagged=True, tag_list=(TAG, "docker"))
    with pytest.raises(CheckFailed) as failed:
        CHECK([runner], _policy(access_level="ref_protected"), SETTINGS)
    fixes = {p.resource.rsplit(" ", 1)[1]: p.fix for p in failed.value.problems}
    assert "PUT /runners/:id access_level=ref_protected" in fixes["access_level"]
    assert "only_on_protected_branch = true" in fixes["access_level"]
    assert "run_untagged=false" in fixes["run_untagged"] and "allow_untagged_jobs" in fixes["run_untagged"]
    assert f"tag_list={TAG})" in fixes["tag_list"]


def test_a_production_like_env_passes_with_a_protected_runner() -> None:
    assert _problems([replace(RUNNER, access_level="ref_protected")], _policy(access_level="ref_protected")) == []


def test_no_runner_holding_the_tag_fails_and_every_registration_is_judged() -> None:
    (problem,) = _problems([], load_policy("sandbox"))
    assert problem[1] == f"the env runner, registered with tag {TAG}"
    stale = replace(RUNNER, runner_id=4000, run_untagged=True, paused=True, status="offline")
    assert [p[0] for p in _problems([RUNNER, stale], load_policy("sandbox"))] == [f"{stale.where()} run_untagged"]


def test_a_paused_runner_fails_only_when_none_holding_the_tag_is_active() -> None:
    paused = replace(RUNNER, paused=True)
    assert _problems([paused], load_policy("sandbox")) == [
        (f"the runners holding tag {TAG}", "at least one active (not paused)", "#4242 paused")
    ]
    assert _problems([paused, replace(RUNNER, runner_id=4300)], load_policy("sandbox")) == []


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ({"run_untagged": "false"}, r"\[runner.gitlab.run_untagged\] is 'false'; it must be a bool"),
        ({"access_level": "protected"}, "access_level = 'protected': one of"),
        ({"tag_list": "sandbox-env-runner"}, r"\[runner.gitlab.tag_list\] is str; it must be an array"),
    ],
)
def test_a_policy_value_of_the_wrong_type_cannot_be_evaluated(bad: dict[str, Any], words: str) -> None:
    with pytest.raises(CouldNotEvaluate, match=words):
        CHECK([RUNNER], _policy(**bad), SETTINGS)


# ---- GitLab's Runners API through the client, against the double ---------------------------------------------


@dataclass
class Served:
    double: GitLabDouble
    url: str
    ca: Path
    runners_file: Path

    def gitlab(self, token: str = TOKEN) -> GitLab:
        port = self.url.rsplit(":", 1)[1]
        return GitLab(f"https://{env_facts.GITLAB_HOST}:{port}", token, host_pattern=PATTERN, connect_to="127.0.0.1",
                      timeout=5, verify=str(self.ca))  # fmt: skip

    def get(self, path: str, token: str = TOKEN, **params: Any) -> requests.Response:
        return requests.get(f"{self.url}/api/v4{path}", headers={"PRIVATE-TOKEN": token}, params=params,
                            verify=str(self.ca), timeout=5)  # fmt: skip


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    runners_file = tmp_path / "gitlab-runners.json"
    gitlab_runners.write_runners(runners_file, gitlab_runners.registration(CONFIG, BOOT_TAGS, "sandbox"))
    double = GitLabDouble(
        {"token": TOKEN, "read_api_token": READ_API_TOKEN, "developer_token": DEVELOPER_TOKEN, "project_id": "52",
         "project_path": "lg/identity-devops", "pipeline_id": "777", "env": "sandbox",
         "gitlab_host": env_facts.GITLAB_HOST, "pipeline_file": str(tmp_path / "none.yml"),
         "runner_config": str(tmp_path / "none.toml"), "runner_tag": TAG, "runners_file": str(runners_file)}
    )  # fmt: skip
    ca, cert, key = make_certificates(tmp_path / "tls", [env_facts.GITLAB_HOST], addresses=("127.0.0.1",))
    server = serve(double, "127.0.0.1", 0, str(cert), str(key))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield Served(double, f"https://127.0.0.1:{server.server_address[1]}", ca, runners_file)
    finally:
        server.shutdown()
        server.server_close()


def test_the_double_lists_as_the_runner_entity_and_details_as_runner_details(served: Served) -> None:
    listed = served.get("/projects/52/runners").json()
    assert [r["id"] for r in listed] == [11, 12, 4100, 4242]
    # The list's entity has no registration settings: the suite must read each runner's details.
    assert not {"tag_list", "run_untagged", "locked", "access_level"} & set(listed[0])
    assert {"active", "paused", "is_shared", "runner_type", "status", "ip_address"} <= set(listed[0])
    details = served.get("/runners/4242").json()
    assert {k: details[k] for k in ("tag_list", "run_untagged", "locked", "access_level", "active", "paused")} == {
        "tag_list": [TAG], "run_untagged": False, "locked": False, "access_level": "not_protected",
        "active": True, "paused": False,
    }  # fmt: skip
    assert [r["id"] for r in served.get("/projects/52/runners", tag_list=TAG).json()] == [4242]
    assert served.get("/projects/lg%2Fidentity-devops/runners", tag_list="test-pool").json()[0]["id"] == 12
    assert served.get("/projects/52/runners", tag_list=f"{TAG},docker").json() == []
    assert served.get("/projects/52/runners", type="bogus").status_code == 400


def test_the_double_pages_the_list_as_gitlab_does(served: Served) -> None:
    first = served.get("/projects/52/runners", per_page=3)
    assert (first.headers["x-next-page"], first.headers["x-total"], len(first.json())) == ("2", "4", 3)
    last = served.get("/projects/52/runners", per_page=3, page=2)
    assert (last.headers["x-next-page"], [r["id"] for r in last.json()]) == ("", [4242])


def test_the_double_registers_the_runner_from_config_toml_and_its_boot_tags() -> None:
    tags = BOOT_TAGS | {"allow_untagged_jobs": "true", "only_on_protected_branch": "true"}
    record = gitlab_runners.registration(CONFIG, tags, "sandbox")
    assert (record["id"], record["description"], record["tag_list"]) == (4242, "sandbox-env-runner-i-0abc", [TAG])
    assert (record["run_untagged"], record["access_level"], record["locked"]) == (True, "ref_protected", False)


def test_the_client_reads_the_envs_runner_alone_through_every_page(served: Served) -> None:
    table = json.loads(served.runners_file.read_text())
    extra = [dict(table["runners"][0], id=5000 + n, description=f"old-{n}") for n in range(130)]
    served.runners_file.write_text(json.dumps({"runners": table["runners"] + extra}))
    found = runners_with_tag(served.gitlab(), "52", TAG)
    assert [r.runner_id for r in found] == [4242, *range(5000, 5130)]
    assert runners_with_tag(served.gitlab(READ_API_TOKEN), "52", "test-pool")[0].run_untagged is True


def test_a_developers_token_or_another_project_cannot_evaluate_and_says_why(served: Served) -> None:
    with pytest.raises(CouldNotEvaluate, match=r"403 Forbidden\): reading the project's runners .* Maintainer"):
        runners_with_tag(served.gitlab(DEVELOPER_TOKEN), "52", TAG)
    with pytest.raises(CouldNotEvaluate, match=r"404.*check GITLAB_PROJECT_ID"):
        runners_with_tag(served.gitlab(), "53", TAG)
    with pytest.raises(CouldNotEvaluate, match="401"):
        runners_with_tag(served.gitlab("glpat-wrongToken0123456789"), "52", TAG)


# ---- in the sandbox: skipped without a token, and no false alarm for a production-like env -------------------


@pytest.mark.sandbox
def test_without_a_token_the_check_is_skipped_with_the_reason(sandbox_env: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in sandbox_env.items() if k != "GITLAB_API_TOKEN"}
    # Beside a check that passes: a run where nothing could be evaluated exits 2.
    reader = runner_config.test_runner_allows_no_services.__name__
    run = run_suite(["sandbox", "-t", CHECK.__name__, "-t", reader], env, tmp_path)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.verdicts() == {CHECK.__name__: "skipped", reader: "passed"}
    assert "no GITLAB_API_TOKEN" in run.text_of(CHECK.__name__)


@pytest.mark.sandbox
def test_a_production_like_env_whose_runner_is_protected_passes(
    clean_sandbox: Sandbox, sandbox_env: dict[str, str], tmp_path: Path
) -> None:
    """The control for G1-protected: the same policy, the runner registered ref_protected, no false alarm."""
    override = clean_sandbox.directory / "policy-override.toml"
    override.write_text(override.read_text() + '\n[runner.gitlab]\naccess_level = "ref_protected"\n')
    path = clean_sandbox.directory / "gitlab-runners.json"
    table = json.loads(path.read_text())
    for runner in table["runners"]:
        if TAG in runner["tag_list"]:
            runner["access_level"] = "ref_protected"
    path.write_text(json.dumps(table))
    run = run_suite(["sandbox", "-t", CHECK.__name__], sandbox_env, tmp_path)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.verdicts() == {CHECK.__name__: "passed"}
