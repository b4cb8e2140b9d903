"""Reading a GitLab job log for what gitlab-runner said about the image (envtest/parsers/job_log.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from envtest.parsers.job_log import parse

RED, RESET, CLEAR = "\x1b[31;1m", "\x1b[0;m", "\x1b[0K"
# Shaped as gitlab-runner writes it (common/allowed_images.go, common/build.go): colours, sections, three tries.
REFUSED = (
    f"{CLEAR}Running with gitlab-runner 17.5.0 (a1b2c3d4){RESET}\n"
    f'section_start:1764111600:prepare_executor\r{CLEAR}{CLEAR}Preparing the "docker" executor{RESET}\n'
    + (
        f"{CLEAR}{RESET}\n"
        f'{RED}ERROR: The "alpine:latest" image is not present on list of allowed images:{RESET}\n'
        f"{CLEAR}- 217680906704.dkr.ecr.us-west-2.amazonaws.com/cd/env_test@sha256:{'a' * 64}{RESET}\n"
        f"{CLEAR}- XXXXXdate_separatorXXXXX{RESET}\n"
        f"{CLEAR}{RESET}\n"
        "Please check runner's allowed_images configuration: "
        "https://docs.gitlab.com/runner/configuration/advanced-configuration/\n"
        f"{RED}ERROR: Preparation failed: disallowed image{RESET}\n"
        "Will be retried in 3s ...\n"
    )
    * 3
    + f"section_end:1764111609:prepare_executor\r{CLEAR}"
    + f"{RED}ERROR: Job failed (system failure): disallowed image{RESET}\n"
)
RAN = (
    'Preparing the "docker" executor\n'
    "Using Docker executor with image alpine:latest ...\n"
    "Pulling docker image alpine:latest ...\n"
    '$ echo "this image must be refused"\n'
    "this image must be refused\n"
    "Job succeeded\n"
)


def test_a_refusal_is_read_with_the_image_and_the_list() -> None:
    log = parse(REFUSED)
    assert log.refused and log.refused_image == "alpine:latest" and log.refused_kind == "images"
    assert log.allowed_patterns == (
        f"217680906704.dkr.ecr.us-west-2.amazonaws.com/cd/env_test@sha256:{'a' * 64}",
        "XXXXXdate_separatorXXXXX",
    )
    assert (log.outcome, log.reason) == ("system failure", "disallowed image")
    assert 'refused "alpine:latest"' in log.runner_said()


def test_an_image_that_ran_is_not_a_refusal_even_if_the_script_then_failed() -> None:
    log = parse(RAN)
    assert not log.refused and log.ran_image == "alpine:latest" and log.outcome == "succeeded"
    failed = parse(RAN.replace("Job succeeded", "ERROR: Job failed: exit code 1"))
    assert not failed.refused and (failed.outcome, failed.reason) == ("script failed", "exit code 1")
    assert failed.runner_said() == "ran alpine:latest, then: script failed (exit code 1)"


def test_the_older_spelling_and_a_refused_service_are_read() -> None:
    old = parse("ERROR: The alpine:latest is not present on list of allowed images\n- mongo:*\n")
    assert old.refused_image == "alpine:latest" and old.allowed_patterns == ("mongo:*",)
    service = parse('ERROR: The "postgres:16" image is not present on list of allowed services:\n- \n')
    assert service.refused and service.refused_kind == "services"


def test_the_refusal_quoted_in_a_script_is_not_the_runners() -> None:
    # A script that echoes the words does not make a refusal: the line must start with the runner's ERROR.
    log = parse(RAN.replace("this image must be refused", 'echo ERROR: The "x" image is not present on list'))
    assert not log.refused


def test_an_empty_or_foreign_log_says_nothing_about_the_image() -> None:
    for text in ("", "<html>502 Bad Gateway</html>", "\x00\xff" * 100):
        log = parse(text)
        assert not log.refused and log.ran_image is None and log.outcome == "unknown"
        assert log.runner_said().startswith("no word about the image")


@given(st.text(max_size=400))
def test_any_text_gives_a_reading(text: str) -> None:
    log = parse(text)
    assert log.outcome in {"succeeded", "script failed", "system failure", "unknown"}
    assert isinstance(log.runner_said(), str)
