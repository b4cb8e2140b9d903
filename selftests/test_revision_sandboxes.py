"""Each revision's clean sandbox passes its own revision's checks: the sandbox's shapes (envtest_double/
revisions.py) and the suite's defaults (policy/revisions/<name>.toml) were read from the same commit apart, so a
disagreement between them fails here."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from envtest_double.faults.network import egress_ssh_to_an_unlisted_address
from envtest_double.processes import SandboxError, stop_all
from envtest_double.revisions import SANDBOX_REVISIONS, built
from envtest_double.running import Sandbox
from envtest_double.startup import start_sandbox
from selftests.conftest import ROOT, base_environ, run_suite

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]
REVISIONS = built()


def test_a_revision_the_sandbox_cannot_build_is_refused_naming_what_it_lacks(tmp_path: Path) -> None:
    lacking = [name for name, shapes in SANDBOX_REVISIONS.items() if shapes.not_built]
    if not lacking:
        pytest.skip("the sandbox builds every revision")
    with pytest.raises(SandboxError, match=f"cannot build revision {lacking[0]} yet: "):
        start_sandbox(tmp_path / "sandbox", revision=lacking[0])
    assert not list((tmp_path / "sandbox").glob("pids/*.pid")), "a refused sandbox started something"


@pytest.fixture(scope="module", params=REVISIONS)
def revision_sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    directory = Path(tempfile.mkdtemp(prefix=f"envtest-selftest-{request.param}-sandbox-"))
    try:
        start_sandbox(directory, revision=request.param)
    except SandboxError as exc:
        pytest.fail(f"the sandbox of revision {request.param} did not start: {exc}")
    try:
        yield Sandbox(directory)
    finally:
        stop_all(directory)
        shutil.rmtree(directory, ignore_errors=True)


def test_the_clean_sandbox_of_a_revision_passes_it(revision_sandbox: Sandbox, tmp_path: Path) -> None:
    revision = revision_sandbox.world.revision
    run = run_suite([revision_sandbox.world.env], {**base_environ(), **revision_sandbox.environ}, tmp_path)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert f'name="revision" value="{revision} (18F/identity-pki' in run.junit_path.read_text()
    ran = [v for v in run.verdicts().values() if v == "passed"]
    assert len(ran) >= 30, f"revision {revision}: only {len(ran)} checks passed; the rest were set aside"


def test_a_default_the_sandbox_disagrees_with_fails(revision_sandbox: Sandbox, tmp_path: Path) -> None:
    """The control: the same sandbox, with its revision's runner pool name changed, fails the runner's tag check."""
    revision = revision_sandbox.world.revision
    policy = tmp_path / "policy"
    shutil.copytree(ROOT / "policy", policy)
    path = policy / "revisions" / f"{revision}.toml"
    text = path.read_text()
    changed = text.replace('gitlab_runner_pool_name = "env-runner"', 'gitlab_runner_pool_name = "another-pool"')
    assert changed != text, f"revision {revision} names no runner pool to disagree on"
    path.write_text(changed)
    environ = {**base_environ(), **revision_sandbox.environ, "ENVTEST_POLICY_DIR": str(policy)}
    run = run_suite([revision_sandbox.world.env, "-t", "runner"], environ, tmp_path)
    assert run.exit_code == 1, run.stdout + run.stderr
    assert "another-pool" in run.stdout + run.junit_path.read_text()


EGRESS_CHECKS = ("runner_egress_holds_only_declared_rules", "runner_egress_to_published_lists_is_in_their_snapshots")


def test_githubs_single_addresses_pass_and_an_unlisted_one_is_its_own_finding(
    revision_sandbox: Sandbox, tmp_path: Path
) -> None:
    """F1-unlisted in every revision: the runner's GitHub rules as the revision's source has them (its /32s since
    2023-02) pass; one more address beside them fails the snapshot check only, not the undeclared-rule check."""
    shapes = SANDBOX_REVISIONS[revision_sandbox.world.revision]
    ec2 = revision_sandbox.client("ec2")
    runner = str(revision_sandbox.state["network"]["groups"]["runner"])
    (group,) = ec2.describe_security_groups(GroupIds=[runner])["SecurityGroups"]
    ssh = {r["CidrIp"] for p in group["IpPermissionsEgress"] if p.get("FromPort") == 22 for r in p["IpRanges"]}
    if shapes.github_git:
        assert set(shapes.github_git) <= ssh and sum(c.endswith("/32") for c in ssh) >= 16
    args = [revision_sandbox.world.env, *(a for check in EGRESS_CHECKS for a in ("-t", check))]
    environ = {**base_environ(), **revision_sandbox.environ}
    clean = run_suite(args, environ, tmp_path)
    assert [clean.verdicts().get(f"test_{c}") for c in EGRESS_CHECKS] == ["passed", "passed"], (
        clean.stdout + clean.stderr
    )
    egress_ssh_to_an_unlisted_address(revision_sandbox)
    try:
        seeded = run_suite(args, environ, tmp_path)
    finally:
        ec2.revoke_security_group_egress(
            GroupId=runner,
            IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "20.201.28.200/32"}]}
            ],
        )
    assert [seeded.verdicts().get(f"test_{c}") for c in EGRESS_CHECKS] == ["passed", "failed"], seeded.stdout
    assert "not in GitHub's published git list as of 2023-02-27" in seeded.text_of(f"test_{EGRESS_CHECKS[1]}")
