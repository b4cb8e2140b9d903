"""--list, --explain, --version work offline; everything after -- goes to pytest; docs/checks.md is current."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from envtest import catalogue, explain
from selftests.conftest import ROOT, base_environ, run_suite
from tests.network import test_egress as egress


def _offline(*args: str, shell: bool = False) -> subprocess.CompletedProcess[str]:
    """The command with no AWS credentials or config (base_environ drops every AWS_ variable) and an endpoint
    that refuses connections: what a newcomer's laptop has. `shell`: through run_tests.sh itself."""
    # A HOME that does not exist, so no ~/.aws is read; a path under a fresh temporary directory, so that
    # nothing that writes to HOME anyway (a first .venv build) creates it at the root of the machine.
    with tempfile.TemporaryDirectory(prefix="envtest-nohome-") as directory:  # removed after, with what it holds
        home = Path(directory) / "absent"
        env = {**base_environ(), "HOME": str(home), "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
        command = [str(ROOT / "run_tests.sh")] if shell else [sys.executable, "-m", "envtest"]
        return subprocess.run(
            [*command, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
        )


def test_list_shows_every_check_offline() -> None:
    done = _offline("--list", shell=True)
    assert done.returncode == 0, done.stderr
    for check in catalogue.checks().values():
        assert check.name.removeprefix("test_") in done.stdout
        assert explain.sections(check.doc)[0] in done.stdout
    assert f"{len(catalogue.checks())} checks" in done.stdout


def test_explain_says_what_why_and_fix_with_the_faults() -> None:
    name = egress.test_runner_egress_holds_only_declared_rules.__name__.removeprefix("test_")
    done = _offline("--explain", name)
    assert done.returncode == 0, done.stderr
    for words in ("Why:", "Fails on:", "Fix:", "F1: runner egress: all protocols to 0.0.0.0/0", "F16:"):
        assert words in done.stdout
    wrong = _offline("--explain", name.rsplit("_", 2)[0])  # a name cut short: the whole one is suggested
    assert wrong.returncode == 2 and f"did you mean {name}" in wrong.stderr


def test_every_check_has_a_docstring_with_why_fails_on_and_fix() -> None:
    for check in catalogue.checks().values():
        summary, parts = explain.sections(check.doc)
        assert summary, f"{check.name} has no docstring"
        assert [label for label, _ in parts] == list(explain.LABELS), check.name


def test_version_names_the_release_and_commit() -> None:
    done = _offline("--version")
    assert done.returncode == 0 and done.stdout.startswith("envtest "), done.stdout + done.stderr


def test_docs_checks_md_is_generated_from_the_source() -> None:
    assert explain.docs_are_current(), (
        "docs/checks.md differs from the checks' docstrings and marks: python -m envtest.explain > docs/checks.md"
    )


@pytest.mark.sandbox
def test_arguments_after_a_double_dash_go_to_pytest(sandbox_env: dict[str, str], tmp_path: Path) -> None:
    run = run_suite(["sandbox", "--", "-k", "egress", "-x"], sandbox_env, tmp_path)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert set(run.verdicts()) == {c.name for c in catalogue.checks().values() if "egress" in c.name}, run.verdicts()
    # What -k selects nothing from is a usage error, not a green run.
    none = run_suite(["sandbox", "--", "-k", "no_such_check"], sandbox_env, tmp_path)
    assert none.exit_code == 2 and "no check matches '-- -k no_such_check'" in none.stderr, none.stderr


def test_the_readme_lists_every_flag_of_the_usage() -> None:
    """The README's Flags block is a copy of the usage: a flag added to one and not the other fails here."""
    import re

    from envtest.cli import USAGE

    readme = (ROOT / "README.md").read_text()
    block = readme[readme.index("## Flags") :].split("```")[1]
    flags = set(re.findall(r"^\s+(-{1,2}[\w-]+)", USAGE.split("options:")[1], re.M))
    assert len(flags) > 10
    assert sorted(f for f in flags if not re.search(rf"(^|\s){re.escape(f)}\b", block, re.M)) == []


def test_no_source_file_is_ignored_by_git() -> None:
    """A .gitignore pattern that swallowed a module would ship a clone without it (report/ once caught
    envtest/report/)."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    done = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "--others", "--ignored", "--exclude-standard", "--", "*.py", "*.toml"],
        capture_output=True,
        text=True,
        check=True,
    )
    ignored = [p for p in done.stdout.splitlines() if not p.startswith((".venv/", ".tox/"))]
    assert ignored == []


def test_the_readme_is_short_and_every_doc_link_resolves() -> None:
    """The README is the front page (about 150 lines); the rest lives in docs/, and no link points nowhere."""
    import re

    readme = ROOT / "README.md"
    assert len(readme.read_text().splitlines()) <= 160
    pages = [readme, *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text()):
            if not re.match(r"[a-z]+:", target) and not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert broken == []


def test_the_readme_counts_the_checks_there_are() -> None:
    """The front page's count of checks is the catalogue's (it said 58 while there were 66)."""
    import re

    from envtest import catalogue

    said = re.search(r"^(\d+) checks in ", (ROOT / "README.md").read_text(), re.M)
    assert said, "README.md no longer says how many checks there are"
    assert int(said.group(1)) == len(catalogue.checks())
