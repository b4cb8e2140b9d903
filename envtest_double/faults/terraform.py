"""Faults in the terraform state the suite reads."""

from __future__ import annotations

from envtest_double import env_facts
from envtest_double.running import Sandbox


def _edit_tf_state(sandbox: Sandbox, old: str, new: str) -> None:
    """Replace the first occurrence of `old` in the env's terraform state object."""
    s3, bucket, key = sandbox.client("s3"), sandbox.world.bucket("tfstate"), sandbox.world.tf_state_key
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    if old.encode() not in body:
        raise AssertionError(f"the fault found no {old!r} in the state to change")
    s3.put_object(Bucket=bucket, Key=key, Body=body.replace(old.encode(), new.encode(), 1))


def terraform_region_drift(sandbox: Sandbox) -> None:
    _edit_tf_state(sandbox, f'"value": "{env_facts.REGION}"', '"value": "us-east-1"')


def terraform_says_another_env(sandbox: Sandbox) -> None:
    _edit_tf_state(sandbox, f'"value": "{sandbox.world.env}"', '"value": "other"')


def terraform_names_another_redis(sandbox: Sandbox) -> None:
    """The state's elasticache.cluster_address is not the replication group's primary endpoint."""
    primary = sandbox.state["estate"]["redis_endpoints"]["primary"]
    _edit_tf_state(sandbox, f'"{primary}"', '"old-idp.cache.example.internal"')
