"""The live lockdown probe, against a GitLab test double (selftests/fake_gitlab.py)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envtest.errors import CouldNotEvaluate
from envtest.gather.gitlab import GitLab, lockdown_probe
from selftests.conftest import run_suite
from selftests.fake_gitlab import TOKEN, FakeGitLab, serve

CHECK = "test_env_runner_refuses_a_forbidden_image"


def probe(fake: FakeGitLab, token: str = TOKEN, wait: float = 5) -> object:
    return lockdown_probe(
        GitLab(fake.url, token, timeout=2), project="7", pipeline="99", job_name="badtest_sandbox", wait=wait, poll=0.01
    )


def test_a_manual_job_is_played_and_the_runners_refusal_is_the_pass() -> None:
    with serve(FakeGitLab(ends="failed")) as fake:
        result = probe(fake)
    assert (result.status, result.action, result.job_id, result.refused) == ("failed", "played", 102, True)
    assert "POST /api/v4/projects/7/jobs/102/play" in fake.calls


def test_a_job_that_ran_and_failed_its_script_is_not_a_refusal() -> None:
    with serve(FakeGitLab(ends="failed", failure="script")) as fake:
        result = probe(fake)
    assert (result.status, result.failure_reason, result.refused) == ("failed", "script_failure", False)


def test_a_job_that_already_ran_is_retried() -> None:
    with serve(FakeGitLab(initial="failed", ends="failed")) as fake:
        result = probe(fake)
    assert (result.action, result.job_id, result.status) == ("retried", 103, "failed")


def test_a_job_that_never_ends_stops_at_the_bound() -> None:
    with serve(FakeGitLab(ends="running")) as fake:
        result = probe(fake, wait=0.3)
    assert result.status == "running" and result.seconds < 3


def test_a_bad_token_cannot_evaluate_and_is_not_shown() -> None:
    with serve(FakeGitLab()) as fake, pytest.raises(CouldNotEvaluate, match="rejected the API token") as info:
        probe(fake, token="glpat-wrong-token-value")
    assert "glpat-wrong" not in str(info.value)


def test_a_missing_job_is_named() -> None:
    fake = FakeGitLab()
    del fake.jobs[102]
    with serve(fake), pytest.raises(CouldNotEvaluate, match="no job 'badtest_sandbox'"):
        probe(fake)


@pytest.mark.sandbox
@pytest.mark.parametrize(
    ("ends", "failure", "token", "verdict"),
    [
        ("failed", "refused", TOKEN, "passed"),
        ("failed", "script", TOKEN, "failed"),
        ("success", "refused", TOKEN, "failed"),
        ("failed", "refused", "glpat-someone-elses-token", "error"),
    ],
)
def test_the_check_in_the_sandbox(
    sandbox_env: dict[str, str], tmp_path: Path, ends: str, failure: str, token: str, verdict: str
) -> None:
    with serve(FakeGitLab(ends=ends, failure=failure)) as fake:
        env = {
            **sandbox_env,
            "GITLAB_URL": fake.url,
            "GITLAB_API_TOKEN": token,
            "GITLAB_PROJECT_ID": "7",
            "GITLAB_PIPELINE_ID": "99",
        }
        run = run_suite(["sandbox", "-t", f"test_images.py::{CHECK}"], env, tmp_path)
    assert run.verdicts() == {CHECK: verdict}, run.stdout + run.stderr
    if verdict == "failed":
        assert "the runner ran an image it should refuse" in run.text_of(CHECK)
    for text in (run.stdout, run.stderr, run.junit_path.read_text()):
        assert token not in text


class _Scripted(GitLab):
    """GitLab with scripted JSON answers (a test double): hostile shapes, never the network."""

    def __init__(self, answers: list[object]) -> None:
        super().__init__("http://127.0.0.1:9", "glpat-x" * 3)
        self.answers = answers

    def _call(self, method: str, path: str, **params: object) -> object:  # type: ignore[override]
        answer = self.answers.pop(0) if self.answers else {}

        class Response:
            headers: ClassVar[dict[str, str]] = {}
            url = path

            text = str(answer)

            def json(self) -> object:
                if isinstance(answer, Exception):
                    raise answer
                return answer

        return Response()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(
    st.lists(
        json_values
        | st.just(ValueError("not json"))
        | st.just([{"name": "badtest_sandbox", "id": 5, "status": "manual"}]),
        min_size=1,
        max_size=4,
    )
)
def test_hostile_gitlab_answers_give_a_result_or_a_clear_error(answers: list[object]) -> None:
    try:
        result = lockdown_probe(
            _Scripted(list(answers)), project="7", pipeline="99", job_name="badtest_sandbox", wait=0.01, poll=0.0
        )
    except CouldNotEvaluate as exc:
        assert str(exc)
    else:
        assert result.job == "badtest_sandbox"
        assert not result.refused, "an unreadable answer must never read as the runner refusing the image"
