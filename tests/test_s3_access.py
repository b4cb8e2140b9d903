"""Who may do what in the env's sensitive buckets: one check per bucket, role and operation.

The report shows the matrix cell by cell. By default the answers come from
IAM's policy simulator (read-only); with -R true the operations also run on an
instance of each role (the Go suite's way), and both must agree with policy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from envtest.errors import CouldNotEvaluate
from envtest.fixtures.s3_access import ACTIONS, Cell, cells_for_collection
from envtest.problems import Problem, fail

CELLS = cells_for_collection()


def _cell(cell: Cell | str) -> Cell:
    if isinstance(cell, str):
        raise CouldNotEvaluate(f"the access matrix could not be read: {cell}")
    return cell


def _fix(cell: Cell, bucket: str) -> str:
    if cell.allowed:
        return (
            f"grant {ACTIONS[cell.operation]} on {bucket} to the {cell.role} role (its instance profile policy), "
            "and check the bucket policy does not deny it"
        )
    return (
        f"remove {ACTIONS[cell.operation]} on {bucket} from the {cell.role} role's policies (or deny it in the "
        "bucket policy); if the role needs it now, change policy [s3_access.matrix] in review instead"
    )


@pytest.mark.catches("H2: a role may delete from escrow", case="escrow-worker-delete-refused")
@pytest.mark.catches(
    "H2-read: the app role may read attempts-API events",
    "H2-role: a bucket policy grants the app role a read",
    case="attempts-app-get-refused",
)
@pytest.mark.parametrize("cell", CELLS)
def test_bucket_access_matches_the_matrix(
    cell: Cell | str,
    simulated_access: Callable[[str, str], dict[str, dict[str, str]]],
    s3_access_names: Callable[[str, str], dict[str, str]],
) -> None:
    """Each role's access to each bucket matches the policy's matrix, answered without writing.

    Why: the buckets hold escrow and attempts-API data; a role that may read or delete them is a breach path.
    Fails on: one check per cell of policy `[s3_access.matrix]` (5 roles x 2 buckets x head/put/get/delete =
    40), answered without writing: IAM's policy simulator on the role's own policies (an answer that depends on
    missing context errors), and the bucket policy evaluated in `envtest/policy/bucket_policy.py` for the
    request the Go test made: the role, from an InService instance's private address, through the VPC's S3
    gateway endpoint (so `aws:SourceVpc`, `aws:SourceVpce`, `aws:VpcSourceIp` are known and `aws:SourceIp`
    absent); IAM's simulator cannot take a bucket policy for a role (it wants an IAM user as caller). An
    explicit deny on either side wins; a principal is matched as AWS does (an account principal grants a role
    nothing by itself: H2-account); a condition the model cannot decide makes the cell error and point to `-R
    true`.
    Fix: change the role's policy or the bucket policy as the failure says.
    """
    cell = _cell(cell)
    names = s3_access_names(cell.bucket, cell.role)
    answer = simulated_access(cell.bucket, cell.role)[cell.operation]
    if (answer["decision"] == "allowed") != cell.allowed:
        fail(
            Problem(
                resource=f"role {names['role_arn']} on s3://{names['bucket']} ({cell.operation})",
                expected=f"{ACTIONS[cell.operation]} {'allowed' if cell.allowed else 'refused'}",
                found=f"{answer['decision']} (the role's policies, per IAM's simulator: {answer['identity']}; "
                f"the bucket policy: {answer['bucket_policy']})",
                fix=_fix(cell, names["bucket"]),
            )
        )


# What it may call besides the reads (the read-only guard allows exactly these, with -R true): the commands on the
# instances (and cancelling one it gave up on), the probe objects the suite writes itself, and finding and deleting
# every version of them.
@pytest.mark.disruptive(
    may_call=("ssm:SendCommand", "ssm:CancelCommand", "s3:PutObject", "s3:ListObjectVersions", "s3:DeleteObject"),
)
@pytest.mark.proven_in("selftests/test_sandbox_instances.py")
@pytest.mark.parametrize("cell", CELLS)
def test_bucket_access_on_the_instances_matches_the_matrix(
    cell: Cell | str,
    live_access: Callable[[str, str], dict[str, list[Any]]],
    s3_access_names: Callable[[str, str], dict[str, str]],
) -> None:
    """The same matrix, tried with `aws s3api` on an instance of each role (disruptive, `-R true`).

    Why: the Go suite's way: what S3 itself answers, conditions included.
    Fails on: disruptive (`-R true`): the same cells, run with `aws s3api` on an instance of each role through
    SSM, as the Go suite did. Writes happen only where the matrix expects them: a role that may put puts its own
    probe object where none is yet, and get acts on that object; a put that must be refused is a conditional put
    on an existing object (`--if-none-match '*'`: authorised answers 412, nothing is written), and a delete that
    must be refused targets a key that does not exist. When no role may put, or a role may delete but not put,
    the suite writes the object itself. Every probe key is named before the first write, and however the pass
    ends (an error, a time limit, Ctrl-C, a cancelled job's SIGTERM) a command it gave up on is cancelled and
    every version and delete marker of those keys is removed (the buckets are versioned: a plain delete leaves
    the data under a delete marker); what could not be removed is named in a warning, and a write-once bucket
    keeps one version per probe key, never one more per run. Needs AWS CLI v2 2.18 or later on the hosts
    (conditional puts).
    Fix: change the role's policy or the bucket policy as the failure says.
    """
    cell = _cell(cell)
    names = s3_access_names(cell.bucket, cell.role)
    authorised, detail = live_access(cell.bucket, cell.role)[cell.operation]
    if authorised != cell.allowed:
        fail(
            Problem(
                resource=f"a {cell.role} instance on s3://{names['bucket']} ({cell.operation})",
                expected="S3 authorises it" if cell.allowed else "S3 refuses it (AccessDenied / 403)",
                found=("S3 authorised it" if authorised else "S3 refused it") + (f": {detail[:200]}" if detail else ""),
                fix=_fix(cell, names["bucket"]),
            )
        )
