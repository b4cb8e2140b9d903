"""Which digests a .gitlab-ci.yml runs for one env's jobs."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from envtest.parsers.pipeline import parse
from envtest_double import ecr_images, runner_env

A, B, C = (f"sha256:{x * 64}" for x in "abc")


def test_env_jobs_expand_their_variables_into_images() -> None:
    found = parse(runner_env.World().pipeline_yaml(A, B, C), "sandbox", exclude=frozenset({"badtest_sandbox"}))
    # Jobs extend templates (.env_jobs gives the tags that mark them as this env's), as GitLab merges them.
    assert found.jobs == ("deploy_sandbox", "test_sandbox", "stop_sandbox")
    images = {(i.job, i.where): i.value for i in found.images}
    assert images[("deploy_sandbox", "image")] == f"{ecr_images.registry()}/cd/env_deploy@{A}"
    assert images[("deploy_sandbox", "variables.STOP_IMAGE_DIGEST")] == C
    assert images[("test_sandbox", "image")].endswith(f"cd/env_test@{B}")
    assert not any(i.job == "deploy_tspencer" for i in found.images)


def test_extends_merge_as_gitlab_merges_them() -> None:
    """GitLab: extends in order, hashes deep-merged, other values replaced, the job's own keys last."""
    text = (
        ".base:\n  image: base@sha256:" + "a" * 64 + "\n  variables: {A: one, B: two}\n  tags: [x]\n"
        ".env:\n  tags: [dev-env-runner]\n  variables: {B: three}\n"
        "job:\n  extends: [.base, .env]\n  variables: {C: four_DIGEST}\n"
        "loop_a:\n  extends: loop_b\nloop_b:\n  extends: loop_a\n"
        "orphan:\n  extends: .nowhere\n"
    )
    found = parse(text, "dev")
    assert found.jobs == ("job",)
    assert found.images[0].value == "base@sha256:" + "a" * 64
    problems = " | ".join(found.problems)
    assert "more than 11 levels" in problems and "'.nowhere', which the file does not define" in problems
    assert parse(text, "dev", exclude=frozenset({"job"})).jobs == ()


def test_gitlab_tags_and_broken_files() -> None:
    text = "job_dev:\n  script: !reference [.setup, script]\n  image: x/y@sha256:" + "d" * 64 + "\n"
    assert parse(text, "dev").images[0].digest == "sha256:" + "d" * 64
    assert parse("a: [unclosed\n", "dev").problems[0].startswith("not valid YAML at line")
    assert parse("- just a list\n", "dev").problems == ("the file is not a mapping of jobs",)
    assert "no job for env 'dev'" in parse("other_job:\n  script: [x]\n", "dev").problems[0]


def test_self_referring_variables_do_not_hang() -> None:
    text = "variables:\n  X: $X$X\njob_dev:\n  image: $X\n"
    assert parse(text, "dev").images[0].digest is None


@given(st.text(max_size=500))
def test_any_text_gives_images_or_problems(text: str) -> None:
    found = parse(text, "dev")
    assert found.images or found.problems or found.jobs
