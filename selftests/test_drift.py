"""Only what matters is drift: the runner's list against the file in force compares the words that can name an
image (separator words, dates, a byte-order mark, carriage returns allow nothing), and any image word counts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from envtest.parsers.allowed_images import image_words, is_image_word, registered_tokens
from envtest_double.running import Sandbox
from selftests.conftest import run_suite
from tests.images import test_runner_config

CHECK = test_runner_config.test_runner_allows_exactly_the_images_in_force.__name__
CONFIG = "/etc/gitlab-runner/config.toml"
DATE = re.compile(r'"(\d{4}-\d{2}-\d{2})"')


@pytest.mark.parametrize(
    ("word", "names_an_image"),
    [
        ("XXXXXdate_separatorXXXXX", False),
        ("#", False),
        ("2023-07-13", False),
        ("20230713", False),
        ("\ufeffXXXXXdate_separatorXXXXX", False),
        ("2023-07-13\r", False),
        ("alpine:latest", True),  # a bare name: gitlab-runner runs it
        ("217680906704.dkr.ecr.us-west-2.amazonaws.com/cd/env_deploy@sha256:" + "a" * 64, True),
        ("added", True),  # a comment's word the comment-aware loader keeps: it names an image too
    ],
)
def test_which_words_can_name_an_image(word: str, names_an_image: bool) -> None:
    assert is_image_word(word) is names_an_image


def test_a_byte_order_mark_or_carriage_return_is_not_part_of_the_name() -> None:
    assert image_words(["\ufeffrepo/a:1", "repo/b:2\r", "2024-01-01"]) == {"repo/a:1", "repo/b:2"}


@pytest.mark.sandbox
def test_a_runner_registered_under_other_dates_is_not_drift_and_another_image_is(
    clean_sandbox: Sandbox, sandbox_env: dict[str, str], tmp_path: Path
) -> None:
    config = clean_sandbox.host_path("env-runner", CONFIG)
    text = config.read_text()
    assert DATE.search(text), "the sandbox's config.toml lists no date token to change"
    config.write_text(DATE.sub('"1999-01-01"', text))  # last year's file, the same images
    run = run_suite(["sandbox", "-t", CHECK], sandbox_env, tmp_path)
    assert run.verdicts() == {CHECK: "passed"}, run.stdout + run.stderr
    config.write_text(text.replace('allowed_images = ["', 'allowed_images = ["alpine:latest", "', 1))
    run = run_suite(["sandbox", "-t", CHECK], sandbox_env, tmp_path)
    assert run.verdicts() == {CHECK: "failed"}, run.stdout + run.stderr
    assert "also 'alpine:latest'" in run.text_of(CHECK)


FILE = """XXXXXdate_separatorXXXXX 2023-07-01
repo.example.com/a@sha256:1
# 2023-07-14 added by alice
repo.example.com/b@sha256:2
"""


@pytest.mark.parametrize(
    ("loader", "registered"),
    [
        ("split", ["XXXXXdate_separatorXXXXX", "2023-07-01", "repo.example.com/a@sha256:1", "#", "2023-07-14",
                   "added", "by", "alice", "repo.example.com/b@sha256:2"]),
        ("split-drop-separators", ["2023-07-01", "repo.example.com/a@sha256:1", "#", "2023-07-14", "added", "by",
                                   "alice", "repo.example.com/b@sha256:2"]),
        ("split-drop-separators-and-hash-tokens", ["2023-07-01", "repo.example.com/a@sha256:1", "2023-07-14", "added",
                                                "by", "alice", "repo.example.com/b@sha256:2"]),
    ],
)  # fmt: skip
def test_each_loader_registers_what_its_runner_rb_did(loader: str, registered: list[str]) -> None:
    """runner.rb's three readings (6ddd2bed3, caf432721, 656bb0486): a comment's words stay, only `#` goes."""
    assert registered_tokens(loader, FILE) == registered
