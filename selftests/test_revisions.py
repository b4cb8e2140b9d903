"""Revisions: one coherent set of defaults per commit of login.gov's code, named by the env's policy.

The loader's order (default, revision, env, override), what a revision file must say about itself, the checks
a revision sets aside as not applicable (reported so, never passed), and the revision named in the reports.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from envtest.errors import UsageError
from envtest.policy import load_policy
from envtest.preflight import revision_notes
from envtest_double.running import Sandbox
from selftests.conftest import ROOT, run_suite
from tests import test_logs

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _policy_dir(tmp_path: Path, revision: str, default: str = 'revision = "r1"\n[a]\nx = 1\ny = 1\nz = 1\n') -> Path:
    (tmp_path / "revisions").mkdir(parents=True)
    (tmp_path / "envs").mkdir()
    (tmp_path / "default.toml").write_text(default)
    (tmp_path / "revisions" / "r1.toml").write_text(revision)
    return tmp_path


R1 = f"""
[revision]
name = "r1"
commit = "{COMMIT}"
date = "2023-08-03"
summary = "a test revision"

[revision.not_applicable]
"some_check" = "it has nothing to check at r1"

[a]
# some/file.tf:3  y = 2
y = 2
z = 2
"""


def test_a_revision_sits_between_the_defaults_and_the_env(tmp_path: Path) -> None:
    directory = _policy_dir(tmp_path, R1)
    (directory / "envs" / "dev.toml").write_text("[a]\nz = 3\n")
    policy = load_policy("dev", directory)
    assert policy.section("a") == {"x": 1, "y": 2, "z": 3}
    assert policy.revision is not None and policy.revision.name == "r1" and policy.revision.commit == COMMIT
    assert policy.revision.not_applicable == (("some_check", "it has nothing to check at r1"),)
    assert [Path(s).name for s in policy.sources] == ["default.toml", "r1.toml", "dev.toml"]


def test_the_env_or_the_override_chooses_the_revision(tmp_path: Path) -> None:
    directory = _policy_dir(tmp_path, R1)
    (directory / "revisions" / "r2.toml").write_text(R1.replace('name = "r1"', 'name = "r2"').replace("y = 2", "y = 5"))
    (directory / "envs" / "dev.toml").write_text('revision = "r2"\n')
    assert load_policy("dev", directory).section("a")["y"] == 5
    override = tmp_path / "override.toml"
    override.write_text('revision = "r1"\n')
    assert load_policy("dev", directory, override).section("a")["y"] == 2


@pytest.mark.parametrize(
    ("revision_text", "named", "message"),
    [
        (R1, "r9", r"no revision 'r9' .* known: r1"),
        (R1, "../x", "is not a revision name"),
        (R1.replace(COMMIT, "abc"), "r1", "commit is not 40 hex digits"),
        (R1.replace('name = "r1"', 'name = "other"'), "r1", "name = 'other', not 'r1'"),
        ("[a]\ny = 2\n", "r1", r"has no \[revision\] table"),
    ],
)
def test_a_revision_that_does_not_say_what_it_is_is_refused(
    tmp_path: Path, revision_text: str, named: str, message: str
) -> None:
    directory = _policy_dir(tmp_path, revision_text, default=f'revision = "{named}"\n')
    with pytest.raises(UsageError, match=message):
        load_policy("dev", directory)


def test_a_not_applicable_entry_must_name_a_check(tmp_path: Path) -> None:
    directory = _policy_dir(tmp_path, R1)
    with pytest.raises(UsageError, match="names no check some_check"):
        revision_notes(load_policy("dev", directory))
    real = test_logs.test_interesting_uris_metric_filter_exists_once.__name__.removeprefix("test_")
    (directory / "revisions" / "r1.toml").write_text(R1.replace('"some_check"', f'"{real}"'))
    notes = revision_notes(load_policy("dev", directory))
    assert notes[0].startswith("revision r1 (18F/identity-pki 0123456789ab, 2023-08-03)")
    assert f"not applicable to revision r1: {real}: it has nothing to check at r1" in notes


@pytest.mark.sandbox
def test_a_check_the_revision_lacks_is_reported_not_applicable_and_the_run_names_its_revision(
    sandbox: Sandbox, sandbox_env: dict[str, str], tmp_path: Path
) -> None:
    directory = tmp_path / "policy"
    shutil.copytree(ROOT / "policy", directory)
    check = test_logs.test_interesting_uris_metric_filter_exists_once.__name__
    (directory / "revisions").mkdir(exist_ok=True)
    (directory / "revisions" / "r1.toml").write_text(
        R1.replace('"some_check"', f'"{check.removeprefix("test_")}"').split("[a]")[0]
    )
    (directory / "envs" / "sandbox.toml").write_text(
        (directory / "envs" / "sandbox.toml").read_text() + '\nrevision = "r1"\n'
    )
    run = run_suite(["sandbox", "-t", "logs"], {**sandbox_env, "ENVTEST_POLICY_DIR": str(directory)}, tmp_path)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.verdicts()[check] == "skipped"
    report = run.junit_path.read_text()
    assert "not applicable to revision r1 (18F/identity-pki 0123456789ab, 2023-08-03): it has nothing" in report
    assert 'name="revision" value="r1 (18F/identity-pki 0123456789ab, 2023-08-03)"' in report
    assert "revision r1 (18F/identity-pki 0123456789ab, 2023-08-03)" in run.stdout


# ---- the revision files themselves -------------------------------------------------------------------------

REVISIONS = sorted((ROOT / "policy" / "revisions").glob("*.toml"))
# A source as the revision files cite it: "<path>:<line>  <the line's text>" (identity-pki's own path, or
# identity-terraform:<path>:<line> at the pinned ref), or documentation / the runbook.
CITATION = re.compile(
    r"#\s*(?:identity-terraform:)?[\w./{}@+-]+:\d+(?:-\d+)?\s+\S|#\s*(?:aws-doc|gitlab-doc|runbook):\S"
)
ASSIGNMENT = re.compile(r"^(?:[A-Za-z0-9_\"'.-]+)\s*=")


def _uncited(text: str) -> list[str]:
    """Key assignments (outside [revision]'s own facts) with no path:line comment in the comments right above."""
    missing, section, comments = [], "", []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("["):
            section, comments = stripped, []
        elif stripped.startswith("#"):
            comments.append(stripped)
        elif ASSIGNMENT.match(stripped):
            own = section == "[revision]" or section.startswith("[revision.")
            if not own and not any(CITATION.match(c) for c in comments):
                missing.append(f"{number}: {stripped[:60]}")
            comments = []
    return missing


@pytest.mark.parametrize("path", REVISIONS, ids=lambda p: p.stem)
def test_a_revision_file_loads_names_real_checks_and_cites_a_source_for_each_default(
    path: Path, tmp_path: Path
) -> None:
    text = path.read_text()
    assert _uncited(text) == [], f"{path.name}: defaults with no path:line at the revision's commit"
    override = tmp_path / "override.toml"  # pytest's own directory: removed with the others, none left in /tmp
    override.write_text(f'revision = "{path.stem}"\n')
    policy = load_policy("dev", None, override)
    assert policy.revision is not None and policy.revision.name == path.stem
    revision_notes(policy)  # each not-applicable entry names a check that exists, or a UsageError


def test_the_citation_check_sees_a_default_with_no_source() -> None:
    """The control: a key with no path:line above it is named."""
    text = '[images]\n# terraform/app/gitlab.tf:56  x = 1\nmode = "pattern"\n# a comment, no source\nloader = "split"\n'
    assert _uncited(text) == ['5: loader = "split"']


def test_docs_revisions_md_is_the_revision_files_tabled() -> None:
    """docs/revisions.md is generated from the revision files: each revision's table, key by key, with sources."""
    from envtest import revision_tables

    assert (ROOT / "docs" / "revisions.md").read_text() == revision_tables.page(), (
        "docs/revisions.md is out of date: python -m envtest.revision_tables > docs/revisions.md"
    )
    rows = revision_tables.rows('[images]\n# runner.rb:105  x\nloader = "split"\n')
    assert rows == [("images.loader", '"split"', "`runner.rb:105`")]
