"""Settings from the environment, -f/-v files, and policy merging."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envtest.errors import UsageError
from envtest.policy import load_policy, merge
from envtest.settings import Settings, parse_bool, parse_key_value_lines


def test_key_value_lines_accept_comments_export_and_quotes() -> None:
    text = "# comment\n\nexport A=1\nB = 'two words'\nC=\"x=y\"\nD=\n"
    assert parse_key_value_lines(text, "f") == {"A": "1", "B": "two words", "C": "x=y", "D": ""}


@pytest.mark.parametrize("line", ["no equals sign", "1BAD=x", "A B=c", "=x"])
def test_key_value_lines_name_the_bad_line(line: str) -> None:
    with pytest.raises(UsageError, match=r"f:2: expected KEY=VALUE"):
        parse_key_value_lines(f"OK=1\n{line}\n", "f")


@given(st.text(max_size=200))
def test_key_value_lines_never_crash(text: str) -> None:
    try:
        parsed = parse_key_value_lines(text, "fuzz")
    except UsageError as exc:
        assert "fuzz:" in str(exc)
    else:
        assert all(key and "=" not in key for key in parsed)


@pytest.mark.parametrize(
    ("word", "value"), [("true", True), ("TRUE", True), ("1", True), ("false", False), ("", False), ("no", False)]
)
def test_parse_bool(word: str, value: bool) -> None:
    assert parse_bool(word, "-R") is value


def test_parse_bool_refuses_other_words() -> None:
    with pytest.raises(UsageError, match="-R must be true or false"):
        parse_bool("maybe", "-R")


def test_settings_need_a_valid_env_name() -> None:
    with pytest.raises(UsageError, match="no environment name"):
        Settings.from_environ({})
    with pytest.raises(UsageError, match="not a valid env name"):
        Settings.from_environ({"ENV_NAME": "Prod; rm -rf /"})
    settings = Settings.from_environ(
        {"ENV_NAME": "dev", "AWS_DEFAULT_REGION": "us-east-1", "ENVTEST_DISRUPTIVE": "true"}
    )
    assert (settings.env_name, settings.region, settings.disruptive) == ("dev", "us-east-1", True)


def test_policy_tables_merge_key_by_key() -> None:
    base = {"names": {"a": "1", "b": "2"}, "list": [1, 2], "x": 1}
    assert merge(base, {"names": {"b": "3"}, "list": [9]}) == {"names": {"a": "1", "b": "3"}, "list": [9], "x": 1}


def test_policy_env_file_overrides_default(tmp_path: Path) -> None:
    (tmp_path / "envs").mkdir()
    (tmp_path / "default.toml").write_text(
        'account_id = ""\n[names]\nenv_runner_asg = "{env}-runner"\n[token]\nmin_length = 20\n'
    )
    (tmp_path / "envs" / "dev.toml").write_text('account_id = "111122223333"\n[token]\nmin_length = 30\n')
    policy = load_policy("dev", tmp_path)
    assert policy.account_id == "111122223333"
    assert policy.section("token")["min_length"] == 30
    assert policy.name("env_runner_asg", account="1", region="r") == "dev-runner"
    assert load_policy("prod", tmp_path).account_id is None


def test_broken_policy_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "default.toml").write_text("[names\n")
    with pytest.raises(UsageError, match="not valid TOML"):
        load_policy("dev", tmp_path)


def test_shipped_policy_loads_and_names_the_real_resources() -> None:
    policy = load_policy("sandbox")
    assert policy.account_id == "123456789012"
    assert policy.name("env_runner_asg", account="1", region="us-west-2") == "sandbox-gitlab-env-runner"
    assert policy.name("secrets_bucket", account="123", region="us-west-2") == "login-gov.secrets.123-us-west-2"


@pytest.mark.parametrize(
    "line",
    [
        "AWS_SECRET_ACCESS_KEY wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",  # the '=' forgotten
        "1AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",  # a name that is not one
    ],
)
def test_a_malformed_line_is_named_never_shown(line: str) -> None:
    """A -f file holds credentials: the error says which line and what is wrong with it, never what it says."""
    with pytest.raises(UsageError) as caught:
        parse_key_value_lines(f"OK=1\n{line}\n", "vars.env")
    message = str(caught.value)
    assert message.startswith("vars.env:2: expected KEY=VALUE")
    assert "wJalr" not in message and "EXAMPLEKEY" not in message and "AWS_SECRET" not in message, message


@pytest.mark.parametrize("name", ["dev\n", "../../x", "dev/../prod"])
def test_an_env_name_is_one_plain_name(name: str) -> None:
    with pytest.raises(UsageError, match="not a valid env name"):
        Settings.from_environ({"ENV_NAME": name})


def test_the_policy_of_an_env_is_looked_for_only_under_envs(tmp_path: Path) -> None:
    """`-e ../../x` (the images tool's) must not load any TOML file it names."""
    directory = tmp_path / "policy"
    (directory / "envs").mkdir(parents=True)
    (directory / "default.toml").write_text("[names]\n")
    (tmp_path / "x.toml").write_text('account_id = "999999999999"\n')
    with pytest.raises(UsageError, match="not a valid env name"):
        load_policy("../x", directory)


def test_a_policy_file_that_is_not_utf8_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "default.toml").write_bytes(b'# caf\xe9\n[names]\nx = "\xff"\n')
    with pytest.raises(UsageError, match=r"default.toml is not UTF-8 text \(byte 0xe9 at offset 5\)"):
        load_policy("dev", tmp_path)
