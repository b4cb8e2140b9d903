"""The live matrix's own S3 writes leave nothing (against moto, in process: AWS's S3 as a double).

A probe key is put only if it is not there (a write-once bucket's leftover never gains a version), and removed by
version id, every version and delete marker of it; a key that is not there is never deleted plainly (in a
versioned bucket that adds a delete marker where there was nothing).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from envtest.gather.aws import Aws
from envtest.gather.aws_guard import writes_allowed
from envtest.gather.s3_probe import put_probe, remove_probes
from tests import test_s3_access

# What the live access matrix's check declares it may call (its disruptive mark): the same here.
LIVE_MATRIX_CALLS = next(
    m.kwargs["may_call"]
    for m in test_s3_access.test_bucket_access_on_the_instances_matches_the_matrix.pytestmark
    if m.name == "disruptive"
)

PREFIX = "envtest-access-probe/"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for key, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with (
        mock_aws(),
        writes_allowed(True, "these self-tests write probes on purpose, as a disruptive check does", LIVE_MATRIX_CALLS),
    ):
        yield Aws("us-west-2")


def _bucket(name: str, versioning: str | None) -> Any:
    s3 = boto3.client("s3", region_name="us-west-2")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    if versioning:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning})
    return s3


def _entries(s3: Any, bucket: str) -> list[tuple[str, bool]]:
    """(key, is a delete marker) of every version in the bucket."""
    listed = s3.list_object_versions(Bucket=bucket)
    return sorted(
        [(v["Key"], False) for v in listed.get("Versions", [])]
        + [(m["Key"], True) for m in listed.get("DeleteMarkers", [])]
    )


def test_a_probe_already_there_is_not_written_again(aws: Aws) -> None:
    """Escrow refuses deletes (write-once): a probe left there by last night's run must not gain a version
    tonight."""
    s3 = _bucket("escrow-bucket", "Enabled")
    put_probe(aws, "escrow-bucket", PREFIX + "worker-delete-me")
    put_probe(aws, "escrow-bucket", PREFIX + "worker-delete-me")
    assert _entries(s3, "escrow-bucket") == [(PREFIX + "worker-delete-me", False)]


def test_every_version_and_marker_of_a_probe_key_is_removed_and_nothing_else(aws: Aws) -> None:
    s3 = _bucket("attempts-bucket", None)
    s3.put_object(Bucket="attempts-bucket", Key=PREFIX + "idp", Body=b"before versioning: the null version")
    s3.put_bucket_versioning(Bucket="attempts-bucket", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="attempts-bucket", Key=PREFIX + "idp", Body=b"a second version")
    s3.put_object(Bucket="attempts-bucket", Key=PREFIX + "worker", Body=b"x")
    s3.delete_object(Bucket="attempts-bucket", Key=PREFIX + "worker")  # a role's delete: a marker over the data
    s3.put_object(Bucket="attempts-bucket", Key="someone-elses", Body=b"kept")
    deletes: list[dict[str, Any]] = []
    aws.client("s3").meta.events.register(
        "provide-client-params.s3.DeleteObject", lambda params, **_: deletes.append(dict(params))
    )
    keys = [PREFIX + "idp", PREFIX + "worker", PREFIX + "app-absent"]
    assert remove_probes(aws, "attempts-bucket", keys) == []
    assert _entries(s3, "attempts-bucket") == [("someone-elses", False)]
    # By version id only: a plain delete of the absent key would have added a delete marker in AWS.
    assert len(deletes) == 4 and all(d.get("VersionId") for d in deletes), deletes


def test_a_version_that_cannot_be_removed_is_named(aws: Aws) -> None:
    s3 = _bucket("locked-bucket", "Enabled")
    s3.put_object(Bucket="locked-bucket", Key=PREFIX + "idp", Body=b"x")

    def refuse(**_: Any) -> None:
        raise aws.client("s3").exceptions.ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "object locked"}}, "DeleteObject"
        )

    aws.client("s3").meta.events.register("before-call.s3.DeleteObject", refuse)
    (leftover,) = remove_probes(aws, "locked-bucket", [PREFIX + "idp"])
    assert leftover.startswith(f"s3://locked-bucket/{PREFIX}idp version ") and leftover.endswith("(AccessDenied)")
