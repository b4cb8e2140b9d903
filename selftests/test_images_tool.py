"""The allowed-images maintainers' commands: validate a candidate file, print a new dated block."""

from __future__ import annotations

import subprocess
from pathlib import Path

from selftests.conftest import ROOT, base_environ

REG = "123456789012.dkr.ecr.us-west-2.amazonaws.com"
GOOD = f"XXXXXdate_separatorXXXXX 2026-10-01\n{REG}/cd/env_deploy@sha256:{'a' * 64}\n"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "run_tests.sh"), *args],
        env=base_environ(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_good_file_passes_and_a_bad_one_names_each_problem(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.write_text(GOOD)
    done = cli("--check-allowed-images", str(good), "--registry", REG)
    assert done.returncode == 0 and "OK" in done.stdout
    bad = tmp_path / "bad"
    bad.write_text(GOOD + f"# 2026-09-01 older block\n{REG}/cd/env_test:latest\nghcr.io/x/y@sha256:{'b' * 64}\n")
    done = cli("--check-allowed-images", str(bad), "--registry", REG)
    assert done.returncode == 1
    for expected in (
        "line 4: 123456789012.dkr.ecr.us-west-2.amazonaws.com/cd/env_test:latest: no digest",
        "registry ghcr.io is not approved",
        "older than the block above it",
        "would also allow: '#', '2026-09-01'",
    ):
        assert expected in done.stdout, (expected, done.stdout)


def test_the_digest_line_appends_a_valid_block(tmp_path: Path) -> None:
    ref = f"{REG}/cd/env_test@sha256:{'c' * 64}"
    done = cli("--image-digest-line", ref, "--date", "2026-11-20")
    assert done.returncode == 0
    assert done.stdout == f"XXXXXdate_separatorXXXXX 2026-11-20\n{ref}\n"
    candidate = tmp_path / "candidate"
    candidate.write_text(GOOD + done.stdout)
    assert cli("--check-allowed-images", str(candidate), "--registry", REG).returncode == 0
    refused = cli("--image-digest-line", f"{REG}/cd/env_test:latest")
    assert refused.returncode == 2 and "no digest" in refused.stderr


def test_one_line_per_bad_line_stdin_and_the_envs_policy(tmp_path: Path) -> None:
    """A tag-only image from an unapproved registry is one line with both problems, and the fix names the
    digest-line command; `-` reads standard input; -e takes the registries from the env's policy."""
    text = GOOD + f"ghcr.io/x/y:latest\n{REG}/cd/env_test:latest\n"
    done = subprocess.run(
        [str(ROOT / "run_tests.sh"), "--check-allowed-images", "-", "--registry", REG],
        input=text,
        env=base_environ(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip().startswith("line 3:")]
    assert len(lines) == 1 and "no digest" in lines[0] and "registry ghcr.io is not approved" in lines[0], lines
    assert "3 problem(s)" in done.stdout and "--image-digest-line" in done.stdout, done.stdout
    # The sandbox's policy approves the env's own ECR ({ecr_account}.dkr.ecr.{region}.amazonaws.com).
    candidate = tmp_path / "candidate"
    candidate.write_text(GOOD)
    ok = cli("--check-allowed-images", str(candidate), "-e", "sandbox", "--ecr-account", "123456789012")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    other = cli("--check-allowed-images", str(candidate), "-e", "sandbox", "--ecr-account", "210987654321")
    assert other.returncode == 1 and "registry 123456789012.dkr.ecr.us-west-2.amazonaws.com is not approved" in (
        other.stdout
    )
    help_text = cli("--check-allowed-images", "-h").stdout
    for option in ("-e", "--registry", "--ecr-account", "--region", "--max-blocks"):
        assert option in help_text
