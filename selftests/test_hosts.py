"""Host access: a local root (real files and commands) and SSM RunCommand.

The SSM cases use botocore's Stubber, a test double named as one: moto's SSM
does not run commands or model an unmanaged instance, so the answers SSM
gives are scripted here from its documented responses.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from pathlib import Path

import pytest
from botocore.stub import Stubber

from envtest.errors import CouldNotEvaluate
from envtest.gather.aws import Aws, writes_allowed
from envtest.gather.hosts import LocalRoot, Ssm
from envtest.gather.ssm import run_command


@pytest.fixture
def root(tmp_path: Path) -> LocalRoot:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "hello.conf").write_bytes(b"line\n")
    return LocalRoot(tmp_path, name="env-runner")


def test_local_root_reads_files_at_their_real_paths(root: LocalRoot) -> None:
    assert root.read_file("/etc/hello.conf") == b"line\n"


@pytest.mark.parametrize(
    ("path", "message"),
    [("/etc/missing", "does not exist"), ("/../../etc/passwd", "leaves"), ("etc/hello.conf", "absolute")],
)
def test_local_root_refuses_what_it_cannot_or_must_not_read(root: LocalRoot, path: str, message: str) -> None:
    with pytest.raises(CouldNotEvaluate, match=message):
        root.read_file(path)


def test_local_root_runs_commands_inside_the_root(root: LocalRoot) -> None:
    result = root.run('cat "$HOST_ROOT/etc/hello.conf"; echo err >&2; exit 3')
    assert (result.exit_code, result.stdout, result.stderr.strip()) == (3, "line\n", "err")


def test_local_root_command_timeout_names_the_command(root: LocalRoot) -> None:
    with pytest.raises(CouldNotEvaluate, match="'sleep 5' did not finish within 1 s"):
        root.run("sleep 5", timeout=1)


@pytest.fixture
def ssm_stub(monkeypatch: pytest.MonkeyPatch) -> tuple[Aws, Stubber]:
    for key, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    aws = Aws("us-west-2")
    stubber = Stubber(aws.client("ssm"))
    stubber.activate()
    return aws, stubber


GZ = gzip.compress(b"a = 1\n", mtime=0)
ONLINE = {"InstanceInformationList": [{"InstanceId": "i-0abc", "PingStatus": "Online"}]}


def test_ssm_reads_a_file_through_run_command(ssm_stub: tuple[Aws, Stubber]) -> None:
    aws, stub = ssm_stub
    stub.add_response("describe_instance_information", ONLINE)
    stub.add_response("send_command", {"Command": {"CommandId": "11111111-1111-1111-1111-111111111111"}})
    stub.add_response("get_command_invocation", {"Status": "InProgress"})
    stub.add_response(
        "get_command_invocation",
        {
            "Status": "Success",
            "ResponseCode": 0,
            "StandardOutputContent": f"{len(GZ)} {hashlib.sha256(GZ).hexdigest()}\n{base64.b64encode(GZ).decode()}",
            "StandardErrorContent": "",
        },
    )
    assert Ssm(aws, "i-0abc", poll_interval=0).read_file("/etc/gitlab-runner/config.toml") == b"a = 1\n"
    stub.assert_no_pending_responses()


def test_ssm_says_when_an_instance_is_not_managed(ssm_stub: tuple[Aws, Stubber]) -> None:
    aws, stub = ssm_stub
    stub.add_response("describe_instance_information", {"InstanceInformationList": []})
    with pytest.raises(CouldNotEvaluate, match=r"SSM agent not Online within 0 s on i-0abc \(not registered\)"):
        Ssm(aws, "i-0abc", poll_interval=0, online_timeout=0).run("true")


def test_ssm_wait_is_bounded_and_names_instance_and_command(ssm_stub: tuple[Aws, Stubber]) -> None:
    aws, stub = ssm_stub
    stub.add_response("describe_instance_information", ONLINE)
    stub.add_response("send_command", {"Command": {"CommandId": "22222222-2222-2222-2222-222222222222"}})
    for _ in range(50):
        stub.add_response("get_command_invocation", {"Status": "InProgress"})
    with pytest.raises(CouldNotEvaluate, match=r"'sleep 999' on i-0abc: no result in time \(last status InProgress"):
        Ssm(aws, "i-0abc", poll_interval=0.01).run("sleep 999", timeout=0.2)


def test_fan_out_sends_once_and_returns_each_instance_result(ssm_stub: tuple[Aws, Stubber]) -> None:
    aws, stub = ssm_stub
    both = {"InstanceInformationList": [{"InstanceId": i, "PingStatus": "Online"} for i in ("i-1", "i-2")]}
    stub.add_response("describe_instance_information", both)
    stub.add_response(
        "send_command",
        {"Command": {"CommandId": "44444444-4444-4444-4444-444444444444"}},
        {
            "InstanceIds": ["i-1", "i-2"],
            "DocumentName": "AWS-RunShellScript",
            "Parameters": {"commands": ["hostname"], "executionTimeout": ["60"]},
            "TimeoutSeconds": 60,
        },
    )
    # The waits run in threads, so either instance may ask first: both answers are valid for either.
    for code in (0, 1):
        stub.add_response(
            "get_command_invocation",
            {"Status": "Success" if code == 0 else "Failed", "ResponseCode": code, "StandardOutputContent": "h\n"},
        )
    results = run_command(aws, ["i-1", "i-2"], "hostname", poll_interval=0)
    assert set(results) == {"i-1", "i-2"}
    assert sorted(r.exit_code for r in results.values()) == [0, 1]
    assert all(r.stdout == "h\n" for r in results.values())
    stub.assert_no_pending_responses()


def test_send_command_is_refused_outside_the_gather_layer_and_writes_outside_disruptive_tests(
    ssm_stub: tuple[Aws, Stubber],
) -> None:
    aws, stub = ssm_stub
    # Each response is queued before its call: the guard, not an empty stub queue, must refuse.
    stub.add_response("send_command", {"Command": {"CommandId": "33333333-3333-3333-3333-333333333333"}})
    with pytest.raises(AssertionError, match="read-only guard refused ssm:SendCommand"):
        aws.client("ssm").send_command(
            InstanceIds=["i-0abc"], DocumentName="AWS-RunShellScript", Parameters={"commands": ["true"]}
        )
    with pytest.raises(AssertionError, match="read-only guard refused a command that writes"):
        Ssm(aws, "i-0abc", poll_interval=0).run("aws s3api put-object --bucket b --key k", writes=True)
    with writes_allowed(True, "a disruptive test"):
        aws.client("ssm").send_command(
            InstanceIds=["i-0abc"], DocumentName="AWS-RunShellScript", Parameters={"commands": ["true"]}
        )
    stub.add_response("put_parameter", {"Version": 1})
    with pytest.raises(AssertionError, match="read-only guard refused ssm:PutParameter"):
        aws.client("ssm").put_parameter(Name="x", Value="y", Type="String")
    with writes_allowed(True, "a disruptive test"):
        aws.client("ssm").put_parameter(Name="x", Value="y", Type="String")
    stub.assert_no_pending_responses()
