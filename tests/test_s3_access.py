"""Who may do what in the env's sensitive buckets: one check per bucket, role and operation.

The report shows the matrix cell by cell. By default the answers come from
IAM's policy simulator (read-only); with -R true the operations also run on an
instance of each role (the Go suite's way), and both must agree with policy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from envtest.checks import Problem, fail
from envtest.errors import CouldNotEvaluate
from envtest.fixtures.s3_access import ACTIONS, Cell, cells_for_collection

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


@pytest.mark.parametrize("cell", CELLS)
def test_bucket_access_matches_the_matrix(
    cell: Cell | str,
    simulated_access: Callable[[str, str], dict[str, dict[str, str]]],
    s3_access_names: Callable[[str, str], dict[str, str]],
) -> None:
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


@pytest.mark.disruptive
@pytest.mark.parametrize("cell", CELLS)
def test_bucket_access_on_the_instances_matches_the_matrix(
    cell: Cell | str,
    live_access: Callable[[str, str], dict[str, list[Any]]],
    s3_access_names: Callable[[str, str], dict[str, str]],
) -> None:
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
