"""The live lockdown probe, against the sandbox's GitLab double and its runner double (named as doubles).

The doubles decide: the runner reads config.toml when it picks a job up and matches the job's image as
gitlab-runner does (envtest_double/runner_double.py); GitLab answers as its Jobs API documents
(envtest_double/gitlab.py). Here they run in this process, behind TLS on loopback, reached as in the sandbox
(GitLab's name, connected to 127.0.0.1); in the sandbox they are a process, and every run exercises them
(test_sandbox_checks.py, the F14/P14 fault rows). The runner double's own decisions are tested in
test_runner_double.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from envtest.errors import CouldNotEvaluate
from envtest.gather.gitlab import TRACE_LIMIT, GitLab, JobRun, lockdown_probe
from envtest.parsers.job_log import parse
from envtest.policy import load_policy
from envtest_double import env_facts, runner_env
from envtest_double.gitlab import GitLabDouble, serve
from envtest_double.tls import make_certificates
from selftests.test_runner_double import BLESSED, DIGEST, config_toml

TOKEN = "glpat-selftestToken0123456789"
READ_API_TOKEN = "glpat-selftestReadOnly0123456789"  # read_api: GitLab lets it read, not play or retry
PATTERN = str(load_policy("sandbox").section("images")["lockdown_probe"]["gitlab_host_pattern"])


# ---- GitLab's Jobs API, as documented ----------------------------------------------------------------------


@dataclass
class Served:
    double: GitLabDouble
    url: str  # by address, for the double's own tests
    config: Path
    ca: Path

    def gitlab(self, token: str = TOKEN) -> GitLab:
        """The probe's client as a run builds it: GitLab's name (the policy admits it), connected to loopback."""
        port = self.url.rsplit(":", 1)[1]
        return GitLab(f"https://{env_facts.GITLAB_HOST}:{port}", token, host_pattern=PATTERN, connect_to="127.0.0.1",
                      timeout=5, verify=str(self.ca))  # fmt: skip

    def allow(self, allowed: list[str]) -> None:
        self.config.write_text(config_toml(allowed, default_image=allowed[0] if allowed else ""))


def _serve(tmp_path: Path, era: str = "file", extra_jobs: int = 0) -> Iterator[Served]:
    world = runner_env.World("sandbox", era=era)
    pipeline = world.pipeline_yaml(DIGEST, DIGEST, DIGEST)
    for n in range(extra_jobs):  # a long pipeline: the probe's job lands past the first page
        pipeline += f"\nfiller_{n}:\n  extends: .env_jobs\n  stage: deploy\n  image: alpine:latest\n  script: [true]\n"
    (tmp_path / "gitlab-ci.yml").write_text(pipeline)
    config = tmp_path / "config.toml"
    config.write_text(config_toml([BLESSED] if era == "pattern" else ["XXXXXdate_separatorXXXXX", "2026-10-02"]))
    double = GitLabDouble(
        {
            "token": TOKEN, "read_api_token": READ_API_TOKEN, "project_id": "52", "project_path": "lg/identity-devops",
            "pipeline_id": "777",
            "env": "sandbox", "gitlab_host": env_facts.GITLAB_HOST, "pipeline_file": str(tmp_path / "gitlab-ci.yml"),
            "runner_config": str(config), "runner_tag": "sandbox-env-runner", "step": 0.05,
            "probe_jobs": ["badtest_sandbox", "run_unallowed_image", "test_unallowed_image"],
        }
    )  # fmt: skip
    ca, cert, key = make_certificates(tmp_path / "tls", [env_facts.GITLAB_HOST], addresses=("127.0.0.1",))
    server = serve(double, "127.0.0.1", 0, str(cert), str(key))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield Served(double, f"https://127.0.0.1:{server.server_address[1]}", config, ca)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def gitlab_double(tmp_path: Path) -> Iterator[Served]:
    yield from _serve(tmp_path)


@pytest.fixture
def pattern_gitlab_double(tmp_path: Path) -> Iterator[Served]:
    yield from _serve(tmp_path, era="pattern")


def _api(served: Served, method: str, path: str, token: str = TOKEN, **params: Any) -> requests.Response:
    return requests.request(
        method, f"{served.url}/api/v4{path}", headers={"PRIVATE-TOKEN": token}, params=params, timeout=5,
        verify=str(served.ca),
    )  # fmt: skip


def test_every_page_of_a_long_pipeline_is_read_newest_first(tmp_path: Path) -> None:
    for served in _serve(tmp_path, extra_jobs=150):
        first = _api(served, "GET", "/projects/52/pipelines/777/jobs", per_page=100)
        assert first.headers["x-next-page"] == "2" and first.headers["x-total-pages"] == "2"
        ids = [job["id"] for job in first.json()]
        assert ids == sorted(ids, reverse=True) and len(ids) == 100
        assert _api(served, "GET", "/projects/52/pipelines/777/jobs", per_page=500).headers["x-per-page"] == "100"
        jobs = served.gitlab().pipeline_jobs("52", "777")
        assert len(jobs) == len(served.double.records) > 150
        # The probe's job is declared first, so it is the oldest: on the last page, where the Go test never looked.
        runs = lockdown_probe(served.gitlab(), project="52", pipeline="777", job_names=["badtest_sandbox"],
                              wait=10, poll=0.02)  # fmt: skip
        assert runs[0].refused


def test_play_and_retry_answer_as_the_jobs_api_documents(gitlab_double: Served) -> None:
    jobs = {j["name"]: j for j in gitlab_double.gitlab().pipeline_jobs("52", "777")}
    deploy, badtest = jobs["deploy_sandbox"], jobs["badtest_sandbox"]
    unplayable = _api(gitlab_double, "POST", f"/projects/52/jobs/{deploy['id']}/play")
    assert (unplayable.status_code, unplayable.json()) == (400, {"message": "400 Bad request - Unplayable Job"})
    played = _api(gitlab_double, "POST", f"/projects/52/jobs/{badtest['id']}/play")
    assert played.status_code == 200 and played.json()["id"] == badtest["id"] and played.json()["status"] == "pending"
    busy = _api(gitlab_double, "POST", f"/projects/52/jobs/{badtest['id']}/retry")
    assert (busy.status_code, busy.json()) == (403, {"message": "403 Forbidden - Job is not retryable"})
    retried = _api(gitlab_double, "POST", f"/projects/52/jobs/{deploy['id']}/retry")
    assert retried.status_code == 201 and retried.json()["id"] > max(j["id"] for j in jobs.values())
    listed = {j["id"] for j in gitlab_double.gitlab().pipeline_jobs("52", "777")}
    assert deploy["id"] not in listed and retried.json()["id"] in listed  # a retried job drops out of the list
    trace = _api(gitlab_double, "GET", f"/projects/52/jobs/{deploy['id']}/trace")
    assert trace.headers["Content-Type"] == "text/plain"
    assert _api(gitlab_double, "GET", "/projects/52/pipelines/777/jobs", token="glpat-wrong").status_code == 401


# ---- the probe, era 1 and era 2 ----------------------------------------------------------------------------


def _probe(served: Served, jobs: list[str], wait: float = 10, token: str = TOKEN) -> list[JobRun]:
    return lockdown_probe(served.gitlab(token), project="52", pipeline="777", job_names=jobs, wait=wait, poll=0.02)


def test_a_manual_job_is_played_and_the_runners_refusal_is_the_pass(gitlab_double: Served) -> None:
    (run,) = _probe(gitlab_double, ["badtest_sandbox"])
    assert (run.status, run.action, run.failure_reason, run.refused) == (
        "failed", "played", "runner_system_failure", True,
    )  # fmt: skip
    assert run.log.refused_image == "alpine:latest"


def test_a_runner_that_allows_the_image_runs_it_and_a_finished_job_is_retried(gitlab_double: Served) -> None:
    _probe(gitlab_double, ["badtest_sandbox"])
    gitlab_double.allow(["XXXXXdate_separatorXXXXX", "alpine:latest"])  # read when the runner picks the job up
    (run,) = _probe(gitlab_double, ["badtest_sandbox"])
    assert (run.action, run.status, run.refused, run.log.ran_image) == ("retried", "success", False, "alpine:latest")


def test_era_2_needs_the_image_refused_and_the_proof_job_green(pattern_gitlab_double: Served) -> None:
    jobs = ["run_unallowed_image", "test_unallowed_image"]
    refused, proof = _probe(pattern_gitlab_double, jobs)
    assert refused.refused and proof.status == "success"
    pattern_gitlab_double.allow([BLESSED, "alpine:latest"])
    ran, found = _probe(pattern_gitlab_double, jobs)
    assert ran.status == "success" and not ran.refused
    assert (found.status, found.failure_reason) == ("failed", "script_failure")  # unallowed.txt was left behind


def test_a_runner_that_picks_nothing_up_stops_the_probe_at_its_bound(gitlab_double: Served) -> None:
    gitlab_double.config.write_text("[[runners]\nbroken")
    started = time.monotonic()
    (run,) = _probe(gitlab_double, ["badtest_sandbox"], wait=0.5)
    assert run.status == "pending" and not run.refused and time.monotonic() - started < 3


def test_a_bad_token_cannot_evaluate_and_is_not_shown(gitlab_double: Served) -> None:
    with pytest.raises(CouldNotEvaluate, match="rejected the API token") as info:
        _probe(gitlab_double, ["badtest_sandbox"], token="glpat-wrong-token-value")
    assert "glpat-wrong" not in str(info.value) and "`api` scope" in str(info.value)


def test_a_read_only_token_is_told_the_scope_it_lacks(gitlab_double: Served) -> None:
    """A read_api token lists the jobs, then GitLab refuses the play: the message names the scope to create."""
    with pytest.raises(CouldNotEvaluate) as info:
        _probe(gitlab_double, ["badtest_sandbox"], token=READ_API_TOKEN)
    message = str(info.value)
    assert "403" in message and "insufficient_scope" in message and "`api` scope" in message, message
    assert READ_API_TOKEN not in message
    assert gitlab_double.double.records[min(gitlab_double.double.records)]["status"] != "pending"  # nothing started


def test_a_missing_job_is_named(gitlab_double: Served) -> None:
    with pytest.raises(CouldNotEvaluate, match="no job 'badtest_other'"):
        _probe(gitlab_double, ["badtest_other"])


def test_a_huge_log_is_read_up_to_its_bound(gitlab_double: Served) -> None:
    (run,) = _probe(gitlab_double, ["badtest_sandbox"])
    record = gitlab_double.double.records[run.job_id]
    record["_trace"] = record["_trace"] + "x" * (3 * TRACE_LIMIT) + "\nERROR: Job failed (system failure): tail\n"
    text = gitlab_double.gitlab().trace("52", run.job_id)
    assert len(text) < TRACE_LIMIT + 200 and "bytes of the log not read" in text
    log = parse(text)
    assert log.refused and log.reason == "tail"  # the start's refusal and the end's verdict both kept


# ---- hostile answers ---------------------------------------------------------------------------------------


class _Scripted(GitLab):
    """GitLab with scripted JSON answers (a test double): hostile shapes, never the network."""

    def __init__(self, answers: list[object]) -> None:
        super().__init__(f"https://{env_facts.GITLAB_HOST}", "glpat-x" * 3, host_pattern=PATTERN)
        self.answers = answers

    def _call(self, method: str, path: str, *, stream: bool = False, **params: object) -> object:  # type: ignore[override]
        answer = self.answers.pop(0) if self.answers else {}

        class Response:
            headers: ClassVar[dict[str, str]] = {}
            url = path

            text = str(answer)

            def json(self) -> object:
                if isinstance(answer, Exception):
                    raise answer
                return answer

            def iter_content(self, size: int) -> Iterator[bytes]:
                yield str(answer).encode()

            def close(self) -> None:
                pass

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
        runs = lockdown_probe(
            _Scripted(list(answers)), project="7", pipeline="99", job_names=["badtest_sandbox"], wait=0.01, poll=0.0
        )
    except CouldNotEvaluate as exc:
        assert str(exc)
    else:
        assert runs[0].job == "badtest_sandbox"
        assert not runs[0].refused, "an unreadable answer must never read as the runner refusing the image"
