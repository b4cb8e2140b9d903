"""The benchmark's latency model: requests named as AWS names them, SSM held in flight, the critical path.

Operations are named from real requests: botocore signs and serialises them
(against a local recorder), so each protocol (query, JSON, S3 REST) is seen as
it is sent.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import boto3
import pytest

from benchmarks.critical_path import CHAINS, COMPLETION, PREFLIGHT, chain_seconds, critical_path
from envtest_double.chaos import chaos_proxy
from envtest_double.latency import LatencyModel, operation_of
from selftests.conftest import loopback_server

SEEN: list[str] = []
COMMAND = "11111111-2222-3333-4444-555555555555"


class Recorder(BaseHTTPRequestHandler):
    """Names each request it gets, answers 200 with an empty body."""

    protocol_version = "HTTP/1.1"

    def _any(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        SEEN.append(operation_of(self.command, self.path, self.headers, body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _any

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture
def recorder() -> Iterator[str]:
    SEEN.clear()
    with loopback_server(Recorder) as url:
        yield url


def _client(service: str, endpoint: str) -> Any:
    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-west-2")
    return session.client(service, endpoint_url=endpoint, config=boto3.session.Config(retries={"max_attempts": 1}))


def test_requests_are_named_as_aws_names_them(recorder: str) -> None:
    calls = [
        ("ec2", lambda c: c.describe_security_groups()),
        ("autoscaling", lambda c: c.describe_auto_scaling_groups()),
        ("ssm", lambda c: c.get_command_invocation(CommandId="c" * 36, InstanceId="i-1")),
        ("iam", lambda c: c.simulate_principal_policy(PolicySourceArn="arn:aws:iam::1:role/r", ActionNames=["a:b"])),
        ("sts", lambda c: c.get_caller_identity()),
        ("s3", lambda c: c.get_object(Bucket="b", Key="k/x")),
        ("s3", lambda c: c.head_bucket(Bucket="b")),
        ("s3", lambda c: c.get_bucket_policy(Bucket="b")),
    ]
    for service, call in calls:
        # The empty answers do not parse as every operation's: only the request matters here.
        with contextlib.suppress(Exception):
            call(_client(service, recorder))
    assert SEEN == [
        "ec2:DescribeSecurityGroups",
        "autoscaling:DescribeAutoScalingGroups",
        "ssm:GetCommandInvocation",
        "iam:SimulatePrincipalPolicy",
        "sts:GetCallerIdentity",
        "s3:GetObject",
        "s3:HeadBucket",
        "s3:GetBucketPolicy",
    ]


def test_the_model_gives_per_operation_figures_and_takes_a_file(tmp_path: Any) -> None:
    model = LatencyModel()
    assert model.seconds("iam:SimulatePrincipalPolicy") > model.seconds("iam:GetRole")
    assert model.seconds("s3:GetObject") < model.seconds("ec2:DescribeInstances")
    assert model.seconds("nosuch:Thing") > 0
    spec = tmp_path / "model.json"
    spec.write_text(json.dumps({"service_seconds": {"ec2": 1.0}, "ssm_completion": 3}))
    mine = LatencyModel.load(str(spec))
    assert (mine.seconds("ec2:DescribeSubnets"), mine.ssm_completion, mine.seconds("s3:GetObject")) == (1.0, 3.0, 0.04)


class FakeSsm(BaseHTTPRequestHandler):
    """A finished command at once: SendCommand, then Success with output for every look."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        action = self.headers["X-Amz-Target"].rsplit(".", 1)[-1]
        done = {"CommandId": COMMAND, "InstanceId": "i-1", "Status": "Success", "ResponseCode": 0}
        answer: dict[str, Any] = {
            "SendCommand": {"Command": {"CommandId": COMMAND}},
            "GetCommandInvocation": {**done, "StandardOutputContent": "out"},
            "ListCommandInvocations": {"CommandInvocations": [done]},
        }[action]
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        return


def test_an_ssm_command_reads_in_progress_until_the_model_lets_it_finish() -> None:
    model = LatencyModel(service_seconds={"ssm": 0.0}, operation_seconds={}, ssm_completion=0.6)
    with loopback_server(FakeSsm) as ssm_url, chaos_proxy(ssm_url, model) as proxy:
        ssm = _client("ssm", proxy.url)
        ssm.send_command(InstanceIds=["i-1"], DocumentName="AWS-RunShellScript", Parameters={"commands": ["x"]})
        early = ssm.get_command_invocation(CommandId=COMMAND, InstanceId="i-1")
        listed = ssm.list_command_invocations(CommandId=COMMAND)["CommandInvocations"]
        time.sleep(0.7)
        late = ssm.get_command_invocation(CommandId=COMMAND, InstanceId="i-1")
    assert (early["Status"], early["ResponseCode"], early.get("StandardOutputContent", "")) == ("InProgress", -1, "")
    assert [i["Status"] for i in listed] == ["InProgress"]
    assert (late["Status"], late["StandardOutputContent"]) == ("Success", "out")
    assert proxy.operations["ssm:GetCommandInvocation"] == 2


def test_the_critical_path_is_the_preflight_then_the_longest_chain() -> None:
    model = LatencyModel()
    seconds, chain = critical_path(model, command_seconds=1.0)
    assert chain == "host reads"
    expected = sum(model.seconds(op) for op in PREFLIGHT) + chain_seconds(CHAINS["host reads"], model, 1.0)
    assert seconds == pytest.approx(expected)
    # A command that runs longer than SSM's own completion time holds the chain for as long as it runs.
    assert chain_seconds([COMPLETION], model, 5.0) == 5.0
    assert chain_seconds([COMPLETION], model, 0.1) == model.ssm_completion
