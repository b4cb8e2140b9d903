"""The suite's own writes for the live access matrix (disruptive runs only): a probe object, and removing them."""

from __future__ import annotations

from envtest.gather.aws import Aws, AwsError, describe_aws_error


def put_probe(aws: Aws, bucket: str, key: str) -> None:
    try:
        aws.client("s3").put_object(Bucket=bucket, Key=key, Body=b"envtest access probe\n")
    except AwsError as exc:
        raise describe_aws_error(exc, f"s3:PutObject s3://{bucket}/{key} (the access matrix's probe)") from exc


def remove_probes(aws: Aws, bucket: str, keys: list[str]) -> list[str]:
    """Delete each key, every version of it and every delete marker (absent is fine); what could not be removed.

    In a versioned bucket a delete without a version id only adds a delete marker and keeps the data (S3 user
    guide, "Deleting object versions"): the probe is gone only once each version is deleted by its id.
    """
    s3 = aws.client("s3")
    leftovers = []
    for key in keys:
        try:
            pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key)
            versions = [
                v["VersionId"]
                for page in pages
                for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
                if v["Key"] == key and v.get("VersionId") not in {None, "null"}
            ]
            for version in versions:
                s3.delete_object(Bucket=bucket, Key=key, VersionId=version)
            if not versions:
                s3.delete_object(Bucket=bucket, Key=key)
        except AwsError as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
            leftovers.append(f"s3://{bucket}/{key} ({code})")
    return leftovers
