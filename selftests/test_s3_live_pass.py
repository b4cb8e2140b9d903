"""The live access matrix leaves nothing in the bucket, whichever way its pass ends: a put whose answer was lost,
Ctrl-C, a cancelled job's SIGTERM, a signal during the cleanup itself, a wrong delete's marker.

S3 is moto, in process; the instances are a double that runs each line of the matrix's script against it, as the
role it is given rights for, and answers as the AWS CLI does (exit code, error code).
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from envtest import cancel
from envtest.errors import CouldNotEvaluate
from envtest.fixtures.s3_live_pass import run_live_pass
from envtest.gather.aws import Aws
from envtest.gather.aws_guard import DISRUPTIVE_PATH, ssm_commands, writes_allowed
from envtest.hosts.ssm import Invocation
from tests import test_s3_access

# What the live access matrix's check declares it may call (its disruptive mark): the same here.
LIVE_MATRIX_CALLS = next(
    m.kwargs["may_call"]
    for m in test_s3_access.test_bucket_access_on_the_instances_matches_the_matrix.pytestmark
    if m.name == "disruptive"
)

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "login-gov-attempts-dev"
PREFIX = "envtest-access-probe/"
ROWS = {"idp": ["head", "put", "get", "delete"], "app": []}
OWN = {role: PREFIX + role for role in ROWS}


@dataclass
class Instances:
    """Each role's one instance. `grants` is what S3 really allows each role (the matrix may be wrong);
    `after_put` runs once the first put reached S3, in place of its answer (a lost answer, a signal)."""

    aws: Aws
    grants: dict[str, set[str]]
    after_put: Any = None
    commands: list[str] = field(default_factory=list)

    def ids(self, role: str) -> list[str]:
        return [f"i-{role}"]

    def run_on(self, ids: list[str], command: str, *, writes: bool = False) -> dict[str, Invocation]:
        (instance,) = ids
        role = instance.removeprefix("i-")
        lines = [self._line(role, line) for line in command.splitlines()]
        self.commands.append(command)
        return {instance: Invocation(instance, command, "Success", 0, "\n".join(lines) + "\n", "")}

    def _line(self, role: str, line: str) -> str:
        name = re.search(r'echo "op=(\w+)', line).group(1)  # type: ignore[union-attr]
        argv = shlex.split(re.search(r"out=\$\((aws s3api .*?) 2>&1\)", line).group(1))  # type: ignore[union-attr]
        operation, key = argv[2], argv[argv.index("--key") + 1] if "--key" in argv else ""
        if name not in self.grants.get(role, set()):
            return f"op={name} rc=254 An error occurred (AccessDenied) when calling the operation: Access Denied"
        s3 = boto3.client("s3", region_name="us-west-2")
        if operation == "put-object":
            conditional = "--if-none-match" in argv
            existing = s3.list_object_versions(Bucket=BUCKET, Prefix=key).get("Versions", [])
            if conditional and any(v["Key"] == key and v["IsLatest"] for v in existing):
                return f"op={name} rc=254 An error occurred (PreconditionFailed) when calling the PutObject operation"
            s3.put_object(Bucket=BUCKET, Key=key, Body=b"from an instance")
            if self.after_put is not None:
                after, self.after_put = self.after_put, None
                after()
        elif operation == "delete-object" and key.endswith("-absent"):
            # AWS adds a delete marker where there was nothing; moto does not, so the double leaves a version
            # and a marker over it: more to remove, never less.
            s3.put_object(Bucket=BUCKET, Key=key, Body=b"")
            s3.delete_object(Bucket=BUCKET, Key=key)
        elif operation == "delete-object":
            s3.delete_object(Bucket=BUCKET, Key=key)
        return f"op={name} rc=0 "


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for key, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws(), writes_allowed(True, "a disruptive check's pass, on purpose", LIVE_MATRIX_CALLS):
        s3 = boto3.client("s3", region_name="us-west-2")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield Aws("us-west-2")


def left_in_bucket() -> list[str]:
    listed = boto3.client("s3", region_name="us-west-2").list_object_versions(Bucket=BUCKET)
    return sorted(v["Key"] for v in [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])])


def test_a_pass_that_goes_right_leaves_nothing(aws: Aws) -> None:
    instances = Instances(aws, grants={"idp": {"head", "put", "get", "delete"}})
    results = run_live_pass(instances, aws, BUCKET, ROWS, OWN)  # type: ignore[arg-type]
    assert {op: ok for op, (ok, _) in results["idp"].items()} == dict.fromkeys(("head", "put", "get", "delete"), True)
    assert {op: ok for op, (ok, _) in results["app"].items()} == dict.fromkeys(("head", "put", "get", "delete"), False)
    assert left_in_bucket() == []


def test_a_wrong_delete_leaves_no_marker(aws: Aws) -> None:
    """app may delete (the matrix says it must not): its delete of a key that was not there is a marker in a
    versioned bucket, on a key the pass named before it ran the script."""
    instances = Instances(aws, grants={"idp": {"head", "put", "get", "delete"}, "app": {"delete"}})
    results = run_live_pass(instances, aws, BUCKET, ROWS, OWN)  # type: ignore[arg-type]
    assert results["app"]["delete"][0] is True
    assert left_in_bucket() == []


@pytest.mark.parametrize("lost", [CouldNotEvaluate("no result in time (command id c-1)"), KeyboardInterrupt()])
def test_a_put_whose_answer_was_lost_is_removed(aws: Aws, lost: BaseException) -> None:
    """The put reached S3; its answer never came back (the wait timed out, or Ctrl-C came first)."""

    def lose() -> None:
        raise lost

    instances = Instances(aws, grants={"idp": {"head", "put", "get", "delete"}}, after_put=lose)
    with pytest.raises(type(lost)):
        run_live_pass(instances, aws, BUCKET, ROWS, OWN)  # type: ignore[arg-type]
    assert left_in_bucket() == []


@pytest.fixture
def run_signals() -> Iterator[None]:
    """The signal handlers a run's pytest installs (envtest/cancel.py), put back as they were afterwards."""
    previous = {signum: signal.getsignal(signum) for signum in cancel.SIGNALS}
    cancel.install()
    yield
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def test_a_signal_during_the_cleanup_waits_for_it(aws: Aws, run_signals: None) -> None:
    """Ctrl-C while the probes are being removed: the removal finishes, then the interrupt goes on."""
    instances = Instances(aws, grants={"idp": {"head", "put", "get", "delete"}})

    def interrupt_once(**_: object) -> None:
        aws.client("s3").meta.events.unregister("provide-client-params.s3.ListObjectVersions", interrupt_once)
        os.kill(os.getpid(), signal.SIGINT)

    aws.client("s3").meta.events.register("provide-client-params.s3.ListObjectVersions", interrupt_once)
    with pytest.raises(KeyboardInterrupt):
        run_live_pass(instances, aws, BUCKET, ROWS, OWN)  # type: ignore[arg-type]
    assert left_in_bucket() == []


def test_a_second_interrupt_abandons_the_cleanup(
    aws: Aws, capfd: pytest.CaptureFixture[str], run_signals: None
) -> None:
    """Whoever presses Ctrl-C twice wants out now: the cleanup stops, and what it did not remove stays."""
    instances = Instances(aws, grants={"idp": {"head", "put", "get", "delete"}})
    events = aws.client("s3").meta.events

    def interrupt_once(event: str) -> None:
        def interrupt(**_: object) -> None:
            events.unregister(event, interrupt)
            os.kill(os.getpid(), signal.SIGINT)

        events.register(event, interrupt)

    interrupt_once("provide-client-params.s3.ListObjectVersions")  # the cleanup's first call: held
    interrupt_once("provide-client-params.s3.DeleteObject")  # its first delete: the second Ctrl-C
    with pytest.raises(KeyboardInterrupt, match="the cleanup\\) was abandoned"):
        run_live_pass(instances, aws, BUCKET, ROWS, OWN)  # type: ignore[arg-type]
    assert left_in_bucket() != []
    assert "interrupt again to abandon that" in capfd.readouterr().err


TERMINATED = """
import os, signal, time, boto3
from moto import mock_aws
from envtest import cancel
from envtest.fixtures.s3_live_pass import run_live_pass
from envtest.gather.aws import Aws
from envtest.gather.aws_guard import writes_allowed
from selftests import test_s3_live_pass as t
LIVE_MATRIX_CALLS = t.LIVE_MATRIX_CALLS

def terminated():
    os.kill(os.getpid(), signal.SIGTERM)  # a cancelled job: GitLab's SIGTERM
    time.sleep(30)

cancel.install()  # as the run's pytest plugin does
with mock_aws(), writes_allowed(True, "on purpose", LIVE_MATRIX_CALLS):
    s3 = boto3.client("s3", region_name="us-west-2")
    s3.create_bucket(Bucket=t.BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    s3.put_bucket_versioning(Bucket=t.BUCKET, VersioningConfiguration={"Status": "Enabled"})
    aws = Aws("us-west-2")
    instances = t.Instances(aws, grants={"idp": {"head", "put", "get", "delete"}}, after_put=terminated)
    try:
        run_live_pass(instances, aws, t.BUCKET, t.ROWS, t.OWN)
    except KeyboardInterrupt:
        print("stopped as on Ctrl-C")
    print("left:", t.left_in_bucket())
"""


def test_a_cancelled_jobs_sigterm_stops_the_pass_after_its_cleanup() -> None:
    environ = {**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}
    environ.pop("AWS_ENDPOINT_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", TERMINATED],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    assert done.stdout.splitlines() == ["stopped as on Ctrl-C", "left: []"], done.stdout + done.stderr


def test_a_write_once_bucket_keeps_one_version_of_each_probe(aws: Aws) -> None:
    """Escrow refuses deletes: the probes stay, named in a warning, and the next run adds no version to them."""

    def locked(**_: object) -> None:
        raise aws.client("s3").exceptions.ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "object locked"}}, "DeleteObject"
        )

    aws.client("s3").meta.events.register("before-call.s3.DeleteObject", locked)
    rows = {"idp": ["head", "put"], "app": []}  # escrow's row: idp may put, not delete
    for night in (1, 2):
        instances = Instances(aws, grants={"idp": {"head", "put"}})
        with pytest.warns(UserWarning, match=rf"left behind: s3://{BUCKET}/{PREFIX}idp version .* \(AccessDenied\)"):
            results = run_live_pass(instances, aws, BUCKET, rows, OWN)  # type: ignore[arg-type]
        assert results["idp"]["put"][0] is True, night  # 412 the second night: authorised, nothing written
    assert left_in_bucket() == [PREFIX + "idp"]


def test_a_command_given_up_on_and_not_cancelled_is_named(aws: Aws) -> None:
    """The put was sent through SSM and its wait gave up; cancelling it failed: it may still write, after the
    cleanup, and the warning says so with the command's id."""

    def send_then_give_up() -> None:
        with ssm_commands(DISRUPTIVE_PATH):  # as hosts/ssm.py's run_command sends a disruptive check's command
            sent = aws.client("ssm").send_command(
                InstanceIds=["i-idp"], DocumentName="AWS-RunShellScript", Parameters={"commands": ["aws s3api ..."]}
            )
        raise CouldNotEvaluate(f"no result in time (command id {sent['Command']['CommandId']})")

    def refused(**_: object) -> None:
        raise aws.client("ssm").exceptions.ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "no ssm:CancelCommand"}}, "CancelCommand"
        )

    aws.client("ssm").meta.events.register("provide-client-params.ssm.CancelCommand", refused)
    instances = Instances(aws, grants={"idp": {"head", "put", "get", "delete"}}, after_put=send_then_give_up)
    with (
        pytest.warns(UserWarning, match=r"command [-0-9a-f]+: not cancelled \(AccessDeniedException\) \(it may"),
        pytest.raises(CouldNotEvaluate),
    ):
        run_live_pass(instances, aws, BUCKET, ROWS, OWN)  # type: ignore[arg-type]
    assert left_in_bucket() == []
