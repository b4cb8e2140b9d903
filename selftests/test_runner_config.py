"""config.toml parsing: facts about runners, never their tokens."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from envtest.parsers.runner_config import parse
from envtest.redact import redact
from envtest_double import runner_env


def test_the_sandbox_config_parses_to_one_docker_runner() -> None:
    text = runner_env.World().runner_config_toml(
        runner_token="glrt-secretvalue123",
        proxy_url="http://p:3128",
        allowed_images=["a@sha256:" + "0" * 64],
        instance_id="i-1",
    )
    config = parse(text)
    assert config.problems == () and config.concurrent == 1
    (runner,) = config.runners
    assert (runner.url, runner.executor, runner.token_length) == ("https://gitlab.login.gov", "docker", 19)
    assert runner.docker["allowed_services"] == [""]
    assert "glrt-secretvalue123" not in repr(config)
    assert redact("token glrt-secretvalue123") == "token <redacted:gitlab runner authentication token>"


def test_broken_files_come_back_with_problems() -> None:
    assert parse('concurrent = 1\n[[runners]]\ntoken = "unterminated\n').problems[0].startswith("not valid TOML")
    assert "no [[runners]] section" in parse("concurrent = 1\n").problems
    assert "concurrent is str, not a number" in parse('concurrent = "1"\n[[runners]]\nurl = "x"\n').problems
    assert parse("concurrent = 1\nrunners = [1]\n").problems == ("runner 1 is not a table",)


def test_a_toml_error_never_quotes_the_token() -> None:
    config = parse('[[runners]]\ntoken = "glrt-leakcheck-abcdef" junk\n')
    assert config.problems and "glrt-leakcheck" not in config.problems[0]


@given(st.text(max_size=300))
def test_any_text_gives_a_config_or_problems(text: str) -> None:
    config = parse(text)
    assert config.runners or config.problems
