"""The suite's own writes for the live access matrix (disruptive runs only): a probe object, and removing them."""

from __future__ import annotations

from envtest.gather.aws import Aws, AwsError, describe_aws_error


def put_probe(aws: Aws, bucket: str, key: str) -> None:
    try:
        aws.client("s3").put_object(Bucket=bucket, Key=key, Body=b"envtest access probe\n")
    except AwsError as exc:
        raise describe_aws_error(exc, f"s3:PutObject s3://{bucket}/{key} (the access matrix's probe)") from exc


def remove_probes(aws: Aws, bucket: str, keys: list[str]) -> list[str]:
    """Delete each key (absent is fine); the ones that could not be removed, with AWS's reason."""
    leftovers = []
    for key in keys:
        try:
            aws.client("s3").delete_object(Bucket=bucket, Key=key)
        except AwsError as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
            leftovers.append(f"s3://{bucket}/{key} ({code})")
    return leftovers
