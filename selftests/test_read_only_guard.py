"""The read-only guard: an allowlist of exact operations (the IAM policy's), writes only as a disruptive check
declares them, no presigned URL, and SendCommand only from the host reads or a declaring disruptive check, with
AWS-RunShellScript and nothing that writes elsewhere.

botocore's Stubber is the test double: a response is queued before each call that must be refused, so what
refuses is the guard (an unanswered call would meet an empty queue, or the network, instead).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.signers
import pytest
from botocore.stub import Stubber

from envtest import pytest_plugin
from envtest.errors import CouldNotEvaluate, ReadOnlyViolation
from envtest.gather import aws_guard
from envtest.gather.aws import Aws
from envtest.gather.aws_guard import ssm_commands, writes_allowed
from envtest.gather.cache import clear_memo
from envtest.hosts.frames import command_read
from envtest.hosts.plan import HostReads
from envtest.hosts.ssm import run_command
from envtest.hosts.transports import Ssm
from selftests import iam
from selftests.conftest import ScriptedLooks

ROOT = Path(__file__).resolve().parents[1]
ONLINE = {"InstanceInformationList": [{"InstanceId": "i-0abc", "PingStatus": "Online"}]}
SENT = {"Command": {"CommandId": "11111111-1111-1111-1111-111111111111"}}
SHELL = {"InstanceIds": ["i-0abc"], "DocumentName": "AWS-RunShellScript", "Parameters": {"commands": ["true"]}}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """Clients that reach nothing: every answer comes from a Stubber."""
    for key, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    clear_memo()
    yield Aws("us-west-2")
    clear_memo()


def stubbed(aws: Aws, service: str) -> Stubber:
    stubber = Stubber(aws.client(service))
    stubber.activate()
    return stubber


# Reads by name that hand out credentials or secrets, or create a user: a prefix match let each through
# (issue 21; sts:GetSessionToken reached the network with the guard on).
NOT_GRANTED = [
    ("sts", "get_session_token", {}),
    ("sts", "get_federation_token", {"Name": "envtest"}),
    ("ecr", "get_authorization_token", {}),
    ("secretsmanager", "get_secret_value", {"SecretId": "x"}),
    ("ssm", "get_parameter", {"Name": "x"}),
    ("ec2", "get_password_data", {"InstanceId": "i-0abc"}),
    ("redshift", "get_cluster_credentials", {"DbUser": "u", "ClusterIdentifier": "c", "AutoCreate": True}),
    ("ssm", "put_parameter", {"Name": "x", "Value": "y", "Type": "String"}),
]


@pytest.mark.parametrize(("service", "method", "params"), NOT_GRANTED, ids=[m for _, m, _ in NOT_GRANTED])
def test_an_operation_the_policy_does_not_grant_is_refused(
    aws: Aws, service: str, method: str, params: dict[str, Any]
) -> None:
    stub = stubbed(aws, service)
    stub.add_response(method, {})
    operation = aws.client(service).meta.method_to_api_mapping[method]
    with pytest.raises(ReadOnlyViolation, match=rf"read-only guard refused {service}:{operation}\b"):
        getattr(aws.client(service), method)(**params)
    # Not even a disruptive check may declare it: iam/envtest-disruptive.json does not grant it.
    with (
        writes_allowed(True, "a disruptive check", [f"{service}:{operation}"]),
        pytest.raises(ReadOnlyViolation, match="not in the suite's IAM policy"),
    ):
        getattr(aws.client(service), method)(**params)


UPDATE = {"AutoScalingGroupName": "dev-idp", "DesiredCapacity": 2}


def test_a_granted_read_goes_and_a_write_only_while_declared(aws: Aws) -> None:
    ec2, autoscaling = stubbed(aws, "ec2"), stubbed(aws, "autoscaling")
    ec2.add_response("describe_vpcs", {"Vpcs": []})
    assert aws.client("ec2").describe_vpcs()["Vpcs"] == []
    autoscaling.add_response("update_auto_scaling_group", {})
    with (
        pytest.raises(ReadOnlyViolation, match="refused autoscaling:UpdateAutoScalingGroup: a read-only check"),
        writes_allowed(False, "a read-only check", ["autoscaling:UpdateAutoScalingGroup"]),
    ):
        aws.client("autoscaling").update_auto_scaling_group(**UPDATE)
    with writes_allowed(True, "a disruptive check", ["autoscaling:UpdateAutoScalingGroup"]):
        aws.client("autoscaling").update_auto_scaling_group(**UPDATE)
    autoscaling.assert_no_pending_responses()
    # Outside the check, its declaration is gone.
    autoscaling.add_response("update_auto_scaling_group", {})
    with pytest.raises(ReadOnlyViolation, match="refused autoscaling:UpdateAutoScalingGroup"):
        aws.client("autoscaling").update_auto_scaling_group(**UPDATE)


def test_a_write_the_disruptive_check_does_not_declare_is_refused(aws: Aws) -> None:
    autoscaling = stubbed(aws, "autoscaling")
    autoscaling.add_response("terminate_instance_in_auto_scaling_group", {})
    with (
        writes_allowed(True, "a disruptive check", ["autoscaling:UpdateAutoScalingGroup"]),
        pytest.raises(ReadOnlyViolation, match=r"TerminateInstanceInAutoScalingGroup: .*does not declare it"),
    ):
        aws.client("autoscaling").terminate_instance_in_auto_scaling_group(
            InstanceId="i-0abc", ShouldDecrementDesiredCapacity=True
        )


SERVICES = sorted({op.split(":")[0] for op in aws_guard.READS | aws_guard.WRITES})
# A read each client's service grants, with valid parameters: presigned, even a granted read is refused (a
# presigned sts:GetCallerIdentity is how one proves an identity to a third party).
A_GRANTED_READ: dict[str, tuple[str, dict[str, Any]]] = {
    "autoscaling": ("describe_auto_scaling_groups", {}),
    "ec2": ("describe_vpcs", {}),
    "ecr": ("list_images", {"repositoryName": "cd/env_test"}),
    "elasticache": ("describe_replication_groups", {}),
    "elbv2": ("describe_target_groups", {}),
    "iam": ("simulate_principal_policy", {"PolicySourceArn": "arn:aws:iam::1:role/r", "ActionNames": ["s3:Get*"]}),
    "logs": ("describe_metric_filters", {}),
    "s3": ("get_object", {"Bucket": "login-gov.secrets.1-us-west-2", "Key": "common/x"}),
    "ssm": ("get_command_invocation", {"CommandId": "1" * 36, "InstanceId": "i-0abc"}),
    "sts": ("get_caller_identity", {}),
}


def test_every_service_the_guard_allows_has_a_presign_case_below() -> None:
    assert sorted(A_GRANTED_READ) == SERVICES


@pytest.mark.parametrize("service", SERVICES)
def test_no_client_the_suite_builds_presigns(aws: Aws, service: str) -> None:
    """A presigned URL carries the suite's authority to whoever holds it, as long as it is valid: never made."""
    client = aws.client(service)
    method, params = A_GRANTED_READ[service]
    assert client.meta.method_to_api_mapping[method] in {op.split(":")[1] for op in aws_guard.READS}
    with pytest.raises(ReadOnlyViolation, match="refused generate_presigned_url"):
        client.generate_presigned_url(method, Params=params)
    # botocore's own function, handed the client, signs with the client's signer: refused there.
    with pytest.raises(ReadOnlyViolation, match="refused presigning"):
        botocore.signers.generate_presigned_url(client, method, Params=params)


def test_a_presigned_put_or_post_is_refused_even_where_puts_are_declared(aws: Aws) -> None:
    s3 = aws.client("s3")
    put = {"Bucket": "login-gov-attempts-dev", "Key": "envtest-access-probe/x"}
    with writes_allowed(True, "a disruptive check", ["s3:PutObject"]):
        with pytest.raises(ReadOnlyViolation, match="refused generate_presigned_url"):
            s3.generate_presigned_url("put_object", Params=put)
        with pytest.raises(ReadOnlyViolation, match="refused generate_presigned_post"):
            s3.generate_presigned_post(put["Bucket"], put["Key"])
        # botocore's function builds the POST's policy on the CreateBucket operation: that alone is refused.
        with pytest.raises(ReadOnlyViolation, match="read-only guard refused"):
            botocore.signers.generate_presigned_post(s3, put["Bucket"], put["Key"])


# ---- ssm:SendCommand ----------------------------------------------------------------------------------------


def test_send_command_straight_from_a_client_is_refused(aws: Aws) -> None:
    stub = stubbed(aws, "ssm")
    stub.add_response("send_command", SENT)
    with pytest.raises(ReadOnlyViolation, match=r"read-only guard refused ssm:SendCommand.*run_command"):
        aws.client("ssm").send_command(**SHELL)
    # A disruptive check that declares SendCommand sends through run_command too, never around it.
    with (
        writes_allowed(True, "a disruptive check", ["ssm:SendCommand"]),
        pytest.raises(ReadOnlyViolation, match=r"read-only guard refused ssm:SendCommand.*run_command"),
    ):
        aws.client("ssm").send_command(**SHELL)


def test_a_command_outside_the_host_reads_is_refused_in_a_read_only_check(aws: Aws) -> None:
    stub = stubbed(aws, "ssm")
    stub.add_response("describe_instance_information", ONLINE)
    stub.add_response("send_command", SENT)
    for writes in (False, True):
        with pytest.raises(ReadOnlyViolation, match=r"read-only guard refused .*'cat /etc/passwd'"):
            run_command(aws, ["i-0abc"], "cat /etc/passwd", writes=writes, poll_interval=0)
    # Ssm.run, the one-host wrapper every path shares, is not a path of its own.
    with pytest.raises(ReadOnlyViolation, match=r"read-only guard refused .*'cat /etc/passwd'"):
        Ssm(aws, "i-0abc", poll_interval=0).run("cat /etc/passwd")
    # Refused before anything is asked of SSM: not even the wait for the agent.
    with pytest.raises(AssertionError, match="2 responses remaining"):
        stub.assert_no_pending_responses()


def test_a_disruptive_check_that_declares_send_command_sends_through_run_command(
    aws: Aws, ssm_looks: ScriptedLooks
) -> None:
    ssm_looks.say({"i-0abc": "Success"})
    stub = stubbed(aws, "ssm")
    stub.add_response("describe_instance_information", ONLINE)
    stub.add_response("send_command", SENT)
    stub.add_response("get_command_invocation", {"Status": "Success", "ResponseCode": 0, "StandardOutputContent": ""})
    with writes_allowed(True, "a disruptive check", ["ssm:SendCommand"]):
        done = run_command(aws, ["i-0abc"], "aws s3api put-object --bucket b --key k", writes=True, poll_interval=0)
    assert done["i-0abc"].exit_code == 0
    stub.assert_no_pending_responses()


def test_the_runs_host_reads_send_their_command(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, ssm_looks: ScriptedLooks
) -> None:
    """The host-read path, in a read-only check: its SendCommand goes (the answer here is not framed, so the
    read cannot be evaluated: what matters is that it was sent, not refused)."""
    ssm_looks.say({"i-0abc": "Success"})
    stub = stubbed(aws, "ssm")
    stub.add_response("describe_instance_information", ONLINE)
    stub.add_response("send_command", SENT)
    stub.add_response("get_command_invocation", {"Status": "Success", "ResponseCode": 0, "StandardOutputContent": "x"})
    reads = HostReads(aws, None, lambda role: f"dev-{role}", online_timeout=5, command_timeout=5)
    monkeypatch.setattr(reads, "_find_targets", lambda role: (f"dev-{role}", ["i-0abc"]))
    with (
        writes_allowed(False, "a read-only check"),
        pytest.raises(CouldNotEvaluate, match="unreadable answer to the planned reads"),
    ):
        reads.read(command_read("idp", "echo ok"))
    stub.assert_no_pending_responses()


def test_a_file_read_in_chunks_sends_its_commands(aws: Aws, ssm_looks: ScriptedLooks) -> None:
    """The chunked read the host reads defer a large file to (hosts.Ssm.read_file): on the host-read path."""
    ssm_looks.say({"i-0abc": "Failed"})
    stub = stubbed(aws, "ssm")
    stub.add_response("describe_instance_information", ONLINE)
    stub.add_response("send_command", SENT)
    missing = {"Status": "Failed", "ResponseCode": 2, "StandardErrorContent": "no such readable file"}
    stub.add_response("get_command_invocation", missing)
    with (
        writes_allowed(False, "a read-only check"),
        pytest.raises(CouldNotEvaluate, match="cannot read /etc/x: no such readable file"),
    ):
        Ssm(aws, "i-0abc", poll_interval=0).read_file("/etc/x")
    stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"DocumentName": "AWS-RunPowerShellScript"}, "document 'AWS-RunPowerShellScript'"),
        ({"DocumentName": "AWS-ApplyPatchBaseline", "Parameters": {"Operation": ["Install"]}}, "document"),
        ({"OutputS3BucketName": "someone-elses-bucket"}, "OutputS3BucketName"),
        ({"ServiceRoleArn": "arn:aws:iam::1:role/r", "NotificationConfig": {"NotificationArn": "a"}}, "NotificationC"),
        ({"InstanceIds": [], "Targets": [{"Key": "tag:Name", "Values": ["*"]}]}, "Targets"),
        ({"Parameters": {"commands": ["true"], "workingDirectory": ["/"]}}, "workingDirectory"),
        ({"Parameters": {"commands": ["true", "rm -rf /"]}}, "one command"),
    ],
)
def test_on_a_declared_path_only_one_shell_command_goes(aws: Aws, change: dict[str, Any], refusal: str) -> None:
    stub = stubbed(aws, "ssm")
    stub.add_response("send_command", SENT)
    with writes_allowed(True, "a disruptive check", ["ssm:SendCommand"]), ssm_commands(aws_guard.DISRUPTIVE_PATH):
        with pytest.raises(ReadOnlyViolation, match=f"refused ssm:SendCommand.*{refusal}"):
            aws.client("ssm").send_command(**{**SHELL, **change})
        aws.client("ssm").send_command(**SHELL)  # the control: the same path, the pinned shape, goes
    stub.assert_no_pending_responses()


def test_the_disruptive_path_needs_the_declaration_even_inside_run_commands_block(aws: Aws) -> None:
    stub = stubbed(aws, "ssm")
    stub.add_response("send_command", SENT)
    with (
        writes_allowed(True, "a disruptive check", ["s3:PutObject"]),
        ssm_commands(aws_guard.DISRUPTIVE_PATH),
        pytest.raises(ReadOnlyViolation, match=r"refused ssm:SendCommand.*does not declare"),
    ):
        aws.client("ssm").send_command(**SHELL)


# ---- the list is the policy's -------------------------------------------------------------------------------


def _actions(name: str) -> set[str]:
    statements = json.loads((ROOT / "iam" / name).read_text())["Statement"]
    return {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}


def test_the_guards_reads_are_exactly_what_the_readonly_policy_grants() -> None:
    granted = {a for op in aws_guard.READS for a in iam.iam_actions(op)}
    assert granted == _actions("envtest-readonly.json")


def test_the_guards_writes_are_exactly_what_the_disruptive_policy_adds() -> None:
    granted = {a for op in aws_guard.WRITES for a in iam.iam_actions(op)}
    assert granted == _actions("envtest-disruptive.json")


def test_the_equality_above_would_see_a_difference(monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: one operation more in the guard than in the policy fails the comparison."""
    monkeypatch.setattr(aws_guard, "READS", aws_guard.READS | {"sts:GetSessionToken"})
    with pytest.raises(AssertionError):
        test_the_guards_reads_are_exactly_what_the_readonly_policy_grants()


def _disruptive_checks() -> dict[str, Any]:
    """Every check marked disruptive, imported from tests/, with its mark."""
    found = {}
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        module = importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
        for name, function in vars(module).items():
            for mark in getattr(function, "pytestmark", []) if name.startswith("test_") else []:
                if mark.name == "disruptive":
                    found[name] = mark
    return found


def test_each_disruptive_check_declares_what_it_may_call_and_together_they_use_every_write() -> None:
    checks = _disruptive_checks()
    assert checks, "no disruptive check found"
    declared: set[str] = set()
    for name, mark in checks.items():
        may_call = set(mark.kwargs.get("may_call", ()))
        assert may_call, f"{name}: @pytest.mark.disruptive(may_call=[...]) names nothing"
        assert may_call <= aws_guard.WRITES | {aws_guard.SEND_COMMAND}, (name, sorted(may_call))
        declared |= may_call
    # A write the disruptive policy grants that no check declares is a grant nobody needs.
    assert declared >= aws_guard.WRITES, sorted(aws_guard.WRITES - declared)


class _Item:
    """What the plugin's hook reads of a collected check: its name and its marks."""

    def __init__(self, *marks: pytest.Mark) -> None:
        self.name = "test_a_check"
        self._marks = {m.name: m for m in marks}

    def get_closest_marker(self, name: str) -> pytest.Mark | None:
        return self._marks.get(name)


@pytest.mark.parametrize("long_tests", [True, False])
def test_a_check_may_call_what_its_disruptive_mark_declares_only_with_r_true(
    monkeypatch: pytest.MonkeyPatch, long_tests: bool
) -> None:
    monkeypatch.setenv("ENVTEST_DISRUPTIVE", str(long_tests).lower())
    declared = pytest.mark.disruptive(may_call=["autoscaling:UpdateAutoScalingGroup", "ssm:SendCommand"]).mark
    for item, expected in ((_Item(declared), long_tests), (_Item(), False)):
        hook = pytest_plugin.pytest_runtest_protocol(item, None)  # type: ignore[arg-type]
        next(hook)
        assert aws_guard.declared("autoscaling:UpdateAutoScalingGroup") is expected
        assert aws_guard.declared("ssm:SendCommand") is expected
        assert not aws_guard.declared("s3:PutObject")
        with pytest.raises(StopIteration):
            next(hook)
        assert not aws_guard.declared("autoscaling:UpdateAutoScalingGroup")
