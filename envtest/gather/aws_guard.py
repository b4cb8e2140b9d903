"""The read-only guard: which AWS operations a run may call, checked on every call of every client the suite builds.

An allowlist of exact operations, the IAM policy's (iam/*.json; a self-test holds them equal), not a prefix
match: "Get" also names sts:GetSessionToken, secretsmanager:GetSecretValue and ec2:GetPasswordData, reads that
hand out credentials and secrets.

- READS: what a default run calls, what iam/envtest-readonly.json grants. sts:AssumeRole is among them: the
  GitLab config bucket lives in the GitLab deployment's account, whose bucket settings only that account can read
  (GITLAB_ACCOUNT_ROLE_ARN, gather/other_account.py).
- OTHER_ACCOUNT_READS: all a session assumed into another account may call, what iam/envtest-gitlab-account.json
  grants its role there (`confine`): the config bucket's settings, and who the session is.
- WRITES: what iam/envtest-disruptive.json adds. A check calls one only while it runs with -R true, and only
  those its mark declares: `@pytest.mark.disruptive(may_call=[...])` (pytest_plugin.py).
- ssm:SendCommand runs any command on an instance. It goes only from hosts/ssm.py's run_command, on the
  run's host-read path or in a disruptive check that declares it, with the document pinned to
  AWS-RunShellScript and no field that acts elsewhere (an S3 output bucket, an SNS notification, instances
  chosen by tag).
- No presigned URL or POST: one carries the suite's authority to whoever holds it, for as long as it is valid,
  past any check and any guard.

The hooks are on the botocore session's events, so every client the session builds carries them. The call's
check runs at before-parameter-build, before anything (a Stubber, a cache) can answer at before-call.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from envtest.errors import ReadOnlyViolation

SEND_COMMAND = "ssm:SendCommand"
# iam/envtest-readonly.json, operation by operation (botocore's names: the IAM action of s3:HeadBucket is
# s3:ListBucket, of s3:GetPublicAccessBlock s3:GetBucketPublicAccessBlock, elbv2's are elasticloadbalancing:*).
READS = frozenset(
    {
        "sts:GetCallerIdentity",
        # Into the GitLab account's role named by GITLAB_ACCOUNT_ROLE_ARN, whose session `confine` holds to
        # OTHER_ACCOUNT_READS. Its credentials are a secret held in memory, never cached or printed.
        "sts:AssumeRole",
        "autoscaling:DescribeAutoScalingGroups",
        "ec2:DescribeInstances",
        "ec2:DescribeLaunchTemplateVersions",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribePrefixLists",
        "ec2:DescribeRouteTables",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcEndpoints",
        "ec2:DescribeVpcs",
        "ecr:ListImages",
        "elasticache:DescribeReplicationGroups",
        "elbv2:DescribeTargetGroups",
        "iam:SimulatePrincipalPolicy",
        "logs:DescribeMetricFilters",
        # Evaluates a pattern on lines given in the call and stores nothing (CloudWatch Logs API reference).
        "logs:TestMetricFilter",
        "s3:GetBucketAcl",
        "s3:GetBucketPolicy",
        "s3:GetObject",
        "s3:GetPublicAccessBlock",
        "s3:HeadBucket",
        "ssm:DescribeInstanceInformation",
        "ssm:GetCommandInvocation",
        "ssm:ListCommandInvocations",
        SEND_COMMAND,  # on its own terms, below
    }
)
# iam/envtest-disruptive.json: the recycle, and the live access matrix's probe objects (ListObjectVersions
# finds every version of a probe to delete it; the read-only policy does not grant it).
WRITES = frozenset(
    {
        "autoscaling:TerminateInstanceInAutoScalingGroup",
        "autoscaling:UpdateAutoScalingGroup",
        "s3:DeleteObject",
        "s3:ListObjectVersions",
        "s3:PutObject",
        # A command a disruptive check gave up on (its wait ran out, or it was interrupted) is cancelled, not left
        # running (hosts/ssm_cancel.py). It names a command id, which is not an ARN: the policy grants it on "*".
        "ssm:CancelCommand",
    }
)
# iam/envtest-gitlab-account.json: what the role the suite assumes in the GitLab deployment's account grants, all a
# session there may call (its bucket policy, ACL and public access block are readable only from there).
OTHER_ACCOUNT_READS = frozenset(
    {
        "sts:GetCallerIdentity",
        "s3:GetBucketAcl",
        "s3:GetBucketPolicy",
        "s3:GetPublicAccessBlock",
        "s3:HeadBucket",
    }
)
# What a disruptive check's mark may declare.
DECLARABLE = WRITES | {SEND_COMMAND}

HOST_READ_PATH = "host-read"
DISRUPTIVE_PATH = "disruptive"
SHELL_DOCUMENT = "AWS-RunShellScript"
# The fields run_command sends. Every other field acts beyond the command's output: OutputS3BucketName writes to
# S3, NotificationConfig and ServiceRoleArn publish to SNS, CloudWatchOutputConfig writes logs, Targets picks
# instances by tag, DocumentVersion/DocumentHash choose another document's content.
SEND_COMMAND_FIELDS = frozenset({"InstanceIds", "DocumentName", "Parameters", "TimeoutSeconds"})
SHELL_PARAMETERS = frozenset({"commands", "executionTimeout"})


class _Guard(threading.local):
    # The operations the running check declared, set only while a disruptive check runs with -R true.
    declared: frozenset[str] = frozenset()
    reason = "this run is read-only"
    # Set by hosts/ssm.py's run_command around its SendCommand: which path the command goes by.
    ssm_path: str | None = None


_guard = _Guard()


@contextmanager
def writes_allowed(allowed: bool, reason: str, may_call: Iterable[str] = ()) -> Iterator[None]:
    """Within this block, the operations in `may_call` may be called too, when `allowed` (a disruptive check run
    with -R true). Only operations of WRITES (and SendCommand's disruptive path) can be allowed this way."""
    previous = (_guard.declared, _guard.reason)
    _guard.declared, _guard.reason = (frozenset(may_call) if allowed else frozenset()), reason
    try:
        yield
    finally:
        _guard.declared, _guard.reason = previous


def declared(operation: str) -> bool:
    """True when the running check may call `operation` as a write: declared by its mark, run with -R true."""
    return operation in _guard.declared and operation in DECLARABLE


@contextmanager
def ssm_commands(path: str) -> Iterator[None]:
    """Within this block, SendCommand may go by `path` (HOST_READ_PATH or DISRUPTIVE_PATH): hosts/ssm.py only."""
    if path not in {HOST_READ_PATH, DISRUPTIVE_PATH}:
        raise ValueError(f"unknown SendCommand path {path!r}")
    previous = _guard.ssm_path
    _guard.ssm_path = path
    try:
        yield
    finally:
        _guard.ssm_path = previous


def refusal(operation: str, why: str) -> ReadOnlyViolation:
    return ReadOnlyViolation(f"read-only guard refused {operation}: {why}")


def _check_call(model: Any, params: dict[str, Any], **_: Any) -> None:
    operation = f"{model.service_model.service_name}:{model.name}"
    if operation == SEND_COMMAND:
        _check_send_command(params)
    elif operation in WRITES:
        if not declared(operation):
            raise refusal(
                operation,
                f"{_guard.reason}, and the check's mark does not declare it. Only a check marked "
                f"@pytest.mark.disruptive(may_call=[..., {operation!r}]) may call it, and only when run with -R true.",
            )
    elif operation not in READS:
        raise refusal(
            operation,
            "it is not in the suite's IAM policy (iam/*.json), so no check may call it. A new read goes in "
            "iam/envtest-readonly.json and in the guard's READS (envtest/gather/aws_guard.py) together.",
        )


def _check_send_command(params: dict[str, Any]) -> None:
    path = _guard.ssm_path
    if path is None:
        raise refusal(
            SEND_COMMAND,
            "commands go only through hosts/ssm.py's run_command (the run's host reads, or a disruptive check "
            "that declares ssm:SendCommand)",
        )
    if path == DISRUPTIVE_PATH and not declared(SEND_COMMAND):
        raise refusal(
            SEND_COMMAND,
            f"{_guard.reason}, and the check does not declare ssm:SendCommand: outside the run's host reads, only a "
            "check marked @pytest.mark.disruptive(may_call=[..., 'ssm:SendCommand']) sends commands, with -R true",
        )
    document = params.get("DocumentName")
    if document != SHELL_DOCUMENT:
        raise refusal(SEND_COMMAND, f"document {document!r}: the suite sends {SHELL_DOCUMENT} only")
    extra = sorted(set(params) - SEND_COMMAND_FIELDS)
    if extra:
        raise refusal(SEND_COMMAND, f"fields {extra}: they act beyond the command's output; the suite sends none")
    parameters = params.get("Parameters") or {}
    odd = sorted(set(parameters) - SHELL_PARAMETERS)
    if odd:
        raise refusal(SEND_COMMAND, f"{SHELL_DOCUMENT} parameters {odd}: the suite sends commands and a timeout")
    commands = parameters.get("commands")
    if not (isinstance(commands, list) and len(commands) == 1 and isinstance(commands[0], str)):
        raise refusal(SEND_COMMAND, "the suite sends one command per SendCommand, the one run_command was given")
    if not params.get("InstanceIds"):
        raise refusal(SEND_COMMAND, "no InstanceIds: the suite names the instances it sends to")


def _presign_refusal(what: str) -> ReadOnlyViolation:
    return ReadOnlyViolation(
        f"read-only guard refused {what}: a presigned URL or POST carries the suite's authority to whoever holds "
        "it, past any check and any guard; the suite makes none"
    )


def _refused_method(name: str) -> Any:
    def refused(*_: Any, **__: Any) -> Any:
        raise _presign_refusal(name)

    return refused


def _no_presigning_methods(class_attributes: dict[str, Any], **_: Any) -> None:
    """Every client class the session builds: its presign methods raise (set for all, so none is missed)."""
    for name in ("generate_presigned_url", "generate_presigned_post"):
        class_attributes[name] = _refused_method(name)


def _no_presigned_signature(signature_version: Any, operation_name: str, **_: Any) -> None:
    """The signer itself, for whatever reaches it around the client's methods (botocore.signers' functions,
    handed a client): a presigned URL signs as "<version>-query", a presigned POST as "<version>-presign-post";
    a request sent to AWS never does."""
    if isinstance(signature_version, str) and signature_version.endswith(("-query", "-presign-post")):
        raise _presign_refusal(f"presigning {operation_name}")


def confine(events: Any, operations: frozenset[str], why: str) -> None:
    """On a session's events, before the guard: only `operations` may be called at all, whatever a check declares
    (an assumed role's session in another account reads what it was assumed for, and writes nothing)."""

    def _only(model: Any, **_: Any) -> None:
        operation = f"{model.service_model.service_name}:{model.name}"
        if operation not in operations:
            raise refusal(operation, why)

    events.register_first("before-parameter-build.*.*", _only)


def install(events: Any) -> None:
    """Put the guard on a botocore session's events: every client it builds afterwards carries it."""
    events.register_first("before-parameter-build.*.*", _check_call)
    events.register_first("before-sign.*.*", _no_presigned_signature)
    # Last: after botocore's own handlers, which add the presign methods to the class.
    events.register_last("creating-client-class", _no_presigning_methods)
