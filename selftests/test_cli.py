"""The command line keeps the Go runner's interface and answers usage errors with exit 2."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from envtest.cli import build_parser, main
from envtest.errors import UsageError
from envtest.run import mark_whole_run, pytest_selection, run_environment

ROOT = Path(__file__).resolve().parents[1]


def environment(argv: list[str], base: dict[str, str] | None = None) -> dict[str, str]:
    return run_environment(build_parser().parse_args(argv), base or {})


def test_go_runner_flags_become_the_run_environment(tmp_path: Path) -> None:
    var_file = tmp_path / "vars"
    var_file.write_text("# per-env vars\nFOO=from-file\nBAR=from-file\n")
    env = environment(
        [
            "dev",
            "idp.dev.example.gov",
            "-o",
            "origin.dev.example.gov",
            "-r",
            "us-east-1",
            "-R",
            "true",
            "-f",
            str(var_file),
            "-v",
            "BAR=from-flag",
            "-v",
            "BAZ=1",
        ]
    )
    assert env["ENV_NAME"] == "dev"
    assert env["IDP_HOSTNAME"] == "idp.dev.example.gov"
    assert env["IDP_ORIGIN_HOSTNAME"] == "origin.dev.example.gov"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["ENVTEST_DISRUPTIVE"] == "true"
    assert (env["FOO"], env["BAR"], env["BAZ"]) == ("from-file", "from-flag", "1")


def test_env_flag_and_defaults() -> None:
    env = environment(["-e", "dev", "-d", "idp.example"])
    assert (env["ENV_NAME"], env["IDP_HOSTNAME"], env["AWS_REGION"]) == ("dev", "idp.example", "us-west-2")
    assert environment(["dev"], {"AWS_REGION": "eu-west-1"})["AWS_REGION"] == "eu-west-1"


@pytest.mark.parametrize(
    "argv",
    [
        ["dev", "-e", "prod"],
        ["dev", "-R", "perhaps"],
        ["a", "b", "c"],
        ["dev", "-n", "zero"],
        ["dev", "--no-such-flag"],
        ["-f", "/nonexistent/vars", "dev"],
        [],
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ENV_NAME", raising=False)
    assert main(argv) == 2
    assert "run_tests.sh" in capsys.readouterr().err


def test_help_lists_every_flag(capsys: pytest.CaptureFixture[str]) -> None:
    """The product's help (what the env_test image prints) and the checkout's, which adds the development modes."""
    from envtest_double import cli as dev

    assert main(["-h"]) == 0
    product = capsys.readouterr().out
    assert dev.main(["-h"]) == 0
    checkout = capsys.readouterr().out
    for flag in ("-e", "-d", "-o", "-r", "-R", "-t", "-v", "-f", "-j", "-n", "--merge-junit", "--list"):
        assert f"  {flag} " in product or f" {flag} " in product
        assert f"  {flag} " in checkout or f" {flag} " in checkout
    for flag in ("--sandbox", "--self-test", "--prove", "--benchmark"):
        assert f" {flag} " not in product
        assert f" {flag} " in checkout


def test_test_selection() -> None:
    assert pytest_selection([]) == [str(ROOT / "tests")]
    assert pytest_selection(["token_is_present"]) == [str(ROOT / "tests"), "-k", "(token_is_present)"]
    assert pytest_selection(["test_runner.py"]) == [str(ROOT / "tests" / "test_runner.py")]
    # -t repeats: several files, or several names (any of them)
    assert pytest_selection(["test_runner.py", "test_hosts.py"]) == [
        str(ROOT / "tests" / "test_runner.py"),
        str(ROOT / "tests" / "test_hosts.py"),
    ]
    assert pytest_selection(["a", "b or c"]) == [str(ROOT / "tests"), "-k", "(a) or (b or c)"]
    with pytest.raises(UsageError, match="not both"):
        pytest_selection(["a", "test_hosts.py"])


def test_only_a_run_of_every_check_is_marked_whole_for_the_checks_process() -> None:
    """A whole run's host reads go before pytest is imported (early_start.py); a narrowed run's never do, even
    when the variable came with the caller's environment."""
    from argparse import Namespace

    from envtest.session_outcome import WHOLE_RUN_VARIABLE

    for tests, after, whole in [([], [], True), (["token_is_present"], [], False), ([], ["-k", "proxy"], False)]:
        environ = {WHOLE_RUN_VARIABLE: "1", "ENV_NAME": "sandbox"}
        mark_whole_run(environ, Namespace(tests=tests, pytest_args=after))
        assert (environ.get(WHOLE_RUN_VARIABLE) == "1") is whole, (tests, after)
        assert environ["ENV_NAME"] == "sandbox"


def test_run_tests_sh_answers_help_and_usage_errors() -> None:
    done = subprocess.run([str(ROOT / "run_tests.sh"), "-h"], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0 and "usage: run_tests.sh" in done.stdout
    done = subprocess.run(
        [str(ROOT / "run_tests.sh"), "-R", "maybe", "dev"], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 2 and "-R must be true or false" in done.stderr


def test_merge_junit_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from selftests.test_junit_report import PYTEST_XML

    (tmp_path / "a.xml").write_text(PYTEST_XML)
    assert main(["--merge-junit", str(tmp_path / "out.xml"), str(tmp_path / "a.xml")]) == 1
    assert (tmp_path / "out.xml").exists()
    assert main(["--merge-junit", str(tmp_path / "out.xml"), str(tmp_path / "missing.xml")]) == 2
    (tmp_path / "bad.xml").write_text("<not-junit")
    assert main(["--merge-junit", str(tmp_path / "out.xml"), str(tmp_path / "bad.xml")]) == 2


def test_a_report_is_never_written_among_the_checks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "-j", str(ROOT / "tests" / "report" / "junit.xml")]) == 2
    assert "not inside the checks' directory" in capsys.readouterr().err


def test_options_after_the_double_dash_that_need_pytests_cache_turn_it_back_on() -> None:
    from envtest.run import _cache_plugin

    assert _cache_plugin(["--lf"]) == ["-p", "cacheprovider"]
    assert _cache_plugin(["-x", "--failed-first"]) == ["-p", "cacheprovider"]
    assert _cache_plugin(["-k", "egress", "-vv"]) == []


def test_every_mode_and_option_main_accepts_is_in_the_usage() -> None:
    """The usage is generated from the mode table and the parser: nothing main() accepts goes unlisted."""
    from envtest.cli import HANDLERS, USAGE

    flags = set(HANDLERS) | {o for a in build_parser()._actions for o in a.option_strings if o != "--help"}
    assert sorted(f for f in flags if f" {f} " not in USAGE and f" {f}\n" not in USAGE) == []


def test_the_sandbox_is_built_as_the_runbooks_revision_unless_another_is_named() -> None:
    """The user's spec (issue 23): `--sandbox` alone is the runbook's revision; `--revision composite` is the
    self-tests' world, every check's resources from no single commit (None: no revision's policy)."""
    from envtest_double import cli as dev

    assert dev._revision(["-t", "tests/test_runner.py"]) == (["-t", "tests/test_runner.py"], "runbook")
    assert dev._revision(["--revision", "era1", "-n", "2"]) == (["-n", "2"], "era1")
    assert dev._revision(["--revision", "composite"]) == ([], None)
    # After `--`, the words are pytest's: a --revision there names nothing for the sandbox.
    assert dev._revision(["--", "--revision", "era1"]) == (["--", "--revision", "era1"], "runbook")
    with pytest.raises(UsageError, match="or composite"):
        dev._revision(["--revision"])
