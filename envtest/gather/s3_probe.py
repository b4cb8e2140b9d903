"""The suite's own writes for the live access matrix (disruptive runs only): a probe object, and removing them."""

from __future__ import annotations

import os

import botocore.exceptions

from envtest.errors import CouldNotEvaluate
from envtest.gather.aws import Aws, AwsError, describe_aws_error


def _code(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", "")) or type(exc).__name__
    return type(exc).__name__


def put_probe(aws: Aws, bucket: str, key: str) -> bool:
    """Write the probe object unless the key is there already; whether it was written.

    A conditional put (If-None-Match: *): a probe an earlier run could not remove (a write-once bucket refuses
    deletes) answers 412 and gains no new version, so such a bucket holds one version per probe key, not one more
    per night.
    """
    try:
        aws.client("s3").put_object(Bucket=bucket, Key=key, Body=b"envtest access probe\n", IfNoneMatch="*")
    except AwsError as exc:
        if _code(exc) in {"PreconditionFailed", "412"}:
            return False
        raise describe_aws_error(exc, f"s3:PutObject s3://{bucket}/{key} (the access matrix's probe)") from exc
    return True


def remove_probes(aws: Aws, bucket: str, keys: list[str]) -> list[str]:
    """Delete every version and delete marker of each key, by version id; what could not be removed.

    In a versioned bucket a delete without a version id only adds a delete marker and keeps the data (S3 user
    guide, "Deleting object versions"), and on a key that is not there it adds a marker where there was nothing:
    so a version is only ever deleted by its id ("null" for one written while versioning was off, or in a bucket
    without versioning). The versions are listed once, under the keys' common prefix (ListBucketVersions is
    granted on the probe prefix only: iam/envtest-disruptive.json).
    """
    wanted = set(keys)
    if not wanted:
        return []
    s3 = aws.client("s3")
    prefix = os.path.commonprefix(sorted(wanted))  # noqa: RUF071 (an S3 prefix is one of characters, not of paths)
    try:
        pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix)
        found = [
            (v["Key"], str(v["VersionId"]))
            for page in pages
            for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
            if v["Key"] in wanted
        ]
    except (*AwsError, CouldNotEvaluate) as exc:  # CouldNotEvaluate: the endpoint is down for the run
        return [f"s3://{bucket}/{key} (its versions could not be listed: {_code(exc)})" for key in sorted(wanted)]
    leftovers = []
    for key, version in found:
        try:
            s3.delete_object(Bucket=bucket, Key=key, VersionId=version)
        except (*AwsError, CouldNotEvaluate) as exc:
            leftovers.append(f"s3://{bucket}/{key} version {version} ({_code(exc)})")
    return leftovers
