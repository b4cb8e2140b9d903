"""Host access: a local root (real files and commands) and SSM RunCommand.

The SSM cases use botocore's Stubber, a test double named as one: moto's SSM
does not run commands or model an unmanaged instance, so the answers SSM
gives are scripted here from its documented responses.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.stub import Stubber

from envtest.errors import CouldNotEvaluate
from envtest.gather.aws import Aws
from envtest.gather.aws_guard import writes_allowed
from envtest.hosts.ssm import Invocation, poll_delays, run_command
from envtest.hosts.transports import LocalRoot, Ssm
from selftests.conftest import ScriptedLooks


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
def ssm_stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Aws, Stubber]]:
    """SSM answered by a Stubber; commands may be sent from the test itself, as a disruptive check that declares
    ssm:SendCommand may (the guard's own tests are in test_read_only_guard.py)."""
    for key, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    aws = Aws("us-west-2")
    stubber = Stubber(aws.client("ssm"))
    stubber.activate()
    with writes_allowed(True, "these self-tests send commands themselves", ["ssm:SendCommand"]):
        yield aws, stubber


GZ = gzip.compress(b"a = 1\n", mtime=0)
ONLINE = {"InstanceInformationList": [{"InstanceId": "i-0abc", "PingStatus": "Online"}]}


def test_ssm_reads_a_file_through_run_command(ssm_stub: tuple[Aws, Stubber], ssm_looks: ScriptedLooks) -> None:
    aws, stub = ssm_stub
    stub.add_response("describe_instance_information", ONLINE)
    stub.add_response("send_command", {"Command": {"CommandId": "11111111-1111-1111-1111-111111111111"}})
    # Fetched once the looks say it finished: nothing before (the Stubber refuses a call it was not given).
    stub.add_response(
        "get_command_invocation",
        {
            "Status": "Success",
            "ResponseCode": 0,
            "StandardOutputContent": f"{len(GZ)} {hashlib.sha256(GZ).hexdigest()}\n{base64.b64encode(GZ).decode()}",
            "StandardErrorContent": "",
        },
    )
    ssm_looks.say({"i-0abc": "Success"})
    assert Ssm(aws, "i-0abc", poll_interval=0).read_file("/etc/gitlab-runner/config.toml") == b"a = 1\n"
    stub.assert_no_pending_responses()


def test_ssm_says_when_an_instance_is_not_managed(ssm_stub: tuple[Aws, Stubber]) -> None:
    aws, stub = ssm_stub
    stub.add_response("describe_instance_information", {"InstanceInformationList": []})
    with pytest.raises(CouldNotEvaluate, match=r"SSM agent not Online within 0 s on i-0abc \(not registered\)"):
        Ssm(aws, "i-0abc", poll_interval=0, online_timeout=0).run("true")


def test_ssm_wait_is_bounded_and_names_instance_and_command(
    ssm_stub: tuple[Aws, Stubber], ssm_looks: ScriptedLooks
) -> None:
    aws, stub = ssm_stub
    stub.add_response("describe_instance_information", ONLINE)
    stub.add_response("send_command", {"Command": {"CommandId": "22222222-2222-2222-2222-222222222222"}})
    ssm_looks.say({"i-0abc": "InProgress"})
    with pytest.raises(CouldNotEvaluate, match=r"'sleep 999' on i-0abc: no result in time \(last status InProgress"):
        Ssm(aws, "i-0abc", poll_interval=0.01).run("sleep 999", timeout=0.2)
    assert ssm_looks.looks > 1  # it looked until the bound, then gave up


def test_fan_out_sends_once_and_returns_each_instance_result(
    ssm_stub: tuple[Aws, Stubber], ssm_looks: ScriptedLooks
) -> None:
    """Several instances: the looks say who finished; only those are fetched, each once."""
    aws, stub = ssm_stub
    command_id = "44444444-4444-4444-4444-444444444444"
    both = {"InstanceInformationList": [{"InstanceId": i, "PingStatus": "Online"} for i in ("i-1", "i-2")]}
    stub.add_response("describe_instance_information", both)
    stub.add_response(
        "send_command",
        {"Command": {"CommandId": command_id}},
        {
            "InstanceIds": ["i-1", "i-2"],
            "DocumentName": "AWS-RunShellScript",
            "Parameters": {"commands": ["hostname"], "executionTimeout": ["60"]},
            "TimeoutSeconds": 60,
        },
    )
    stub.add_response(
        "get_command_invocation",
        {"Status": "Success", "ResponseCode": 0, "StandardOutputContent": "h2\n"},
        {"CommandId": command_id, "InstanceId": "i-2"},
    )
    # i-1 listed as finished before GetCommandInvocation says so (SSM's answers may lag each other for a moment):
    # it is fetched again at the next look.
    stub.add_response(
        "get_command_invocation", {"Status": "InProgress"}, {"CommandId": command_id, "InstanceId": "i-1"}
    )
    stub.add_response(
        "get_command_invocation",
        {"Status": "Failed", "ResponseCode": 1, "StandardOutputContent": "h1\n"},
        {"CommandId": command_id, "InstanceId": "i-1"},
    )
    ssm_looks.say({"i-1": "InProgress", "i-2": "Success"})
    aws.client("ssm").meta.events.register(  # once i-2 is fetched, i-1 is listed as finished
        "after-call.ssm.GetCommandInvocation", lambda **_: ssm_looks.say({"i-1": "Failed", "i-2": "Success"})
    )
    results = run_command(aws, ["i-1", "i-2"], "hostname", poll_interval=0)
    assert {i: (r.exit_code, r.stdout) for i, r in results.items()} == {"i-1": (1, "h1\n"), "i-2": (0, "h2\n")}
    stub.assert_no_pending_responses()


def test_send_command_goes_in_batches_of_at_most_50_ids(
    ssm_stub: tuple[Aws, Stubber], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SendCommand takes at most 50 instance ids a call (AWS API reference, SendCommand: InstanceIds)."""
    aws, stub = ssm_stub
    ids = [f"i-{n:04d}" for n in range(120)]
    online = {"InstanceInformationList": [{"InstanceId": i, "PingStatus": "Online"} for i in ids]}
    stub.add_response("describe_instance_information", online)
    for n, batch in enumerate((ids[:50], ids[50:100], ids[100:])):
        stub.add_response(
            "send_command",
            {"Command": {"CommandId": f"{n}" * 36}},
            {
                "InstanceIds": batch,
                "DocumentName": "AWS-RunShellScript",
                "Parameters": {"commands": ["true"], "executionTimeout": ["60"]},
                "TimeoutSeconds": 60,
            },
        )
    # The three batches are waited for together, in threads; how one batch is waited for is the test above.
    waited: list[tuple[str, list[str]]] = []
    said: list[str] = []  # what happened, in order: each SendCommand answered, the caller told, each wait

    def wait(aws: Aws, command_id: str, batch: list[str], command: str, **_: object) -> dict[str, Invocation]:
        waited.append((command_id, batch))
        said.append("wait")
        return {i: Invocation(i, command, "Success", 0, "", "") for i in batch}

    monkeypatch.setattr("envtest.hosts.ssm.wait_for_invocations", wait)
    aws.client("ssm").meta.events.register("after-call.ssm.SendCommand", lambda **_: said.append("SendCommand"))
    results = run_command(aws, ids, "true", poll_interval=0, sent=lambda: said.append("sent"))
    assert sorted(results) == ids
    assert sorted(waited) == [("0" * 36, ids[:50]), ("1" * 36, ids[50:100]), ("2" * 36, ids[100:])]
    stub.assert_no_pending_responses()
    # The caller (the host reads' plan) is told once, when every batch is sent and before any wait for answers.
    assert said == ["SendCommand"] * 3 + ["sent"] + ["wait"] * 3


def test_looks_start_early_and_back_off_to_a_ceiling() -> None:
    delays = list(itertools.islice(poll_delays(0.05, 0.5), 7))
    assert delays == [0.05, 0.1, 0.2, 0.4, 0.5, 0.5, 0.5]


def test_one_look_lists_every_command_sent_since_the_first(ssm_stub: tuple[Aws, Stubber]) -> None:
    """ListCommandInvocations filtered by InvokedAfter (AWS API reference: CommandFilter), from the earliest time
    SSM gave the watched commands, to the second; every page read; another job's command ignored."""
    from datetime import UTC, datetime

    from envtest.hosts.ssm import Looks

    aws, stub = ssm_stub
    first, second, other = "1" * 36, "2" * 36, "9" * 36
    looks = Looks(aws.client("ssm"))
    looks._since = {
        first: datetime(2026, 12, 5, 16, 0, 1, 700000, tzinfo=UTC),
        second: datetime(2026, 12, 5, 16, 0, 3, tzinfo=UTC),
    }
    asked = {"Filters": [{"key": "InvokedAfter", "value": "2026-12-05T16:00:01Z"}], "MaxResults": 50}
    page_one = [{"CommandId": first, "InstanceId": "i-1", "Status": "Success"}]
    page_one.append({"CommandId": other, "InstanceId": "i-9", "Status": "InProgress"})
    stub.add_response("list_command_invocations", {"CommandInvocations": page_one, "NextToken": "t"}, asked)
    page_two = [{"CommandId": second, "InstanceId": "i-2", "Status": "InProgress"}]
    stub.add_response("list_command_invocations", {"CommandInvocations": page_two}, {**asked, "NextToken": "t"})
    found = looks._list(min(looks._since.values()), set(looks._since))
    assert found == {(first, "i-1"): "Success", (second, "i-2"): "InProgress"}
    stub.assert_no_pending_responses()


def test_commands_waited_on_together_share_each_look(ssm_looks: ScriptedLooks, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three commands out at once: each look is one listing for all three, not one call per command per look."""
    from envtest.hosts import ssm

    watched_per_look: list[int] = []
    listed = ssm_looks.listed
    monkeypatch.setattr(
        ssm.Looks, "_list", lambda self, since, watched: watched_per_look.append(len(watched)) or listed(since, watched)
    )
    fetched: list[str] = []
    monkeypatch.setattr(
        ssm, "_get_invocation", lambda aws, c, i, what: fetched.append(c) or {"Status": "Success", "ResponseCode": 0}
    )
    aws = NoCalls()  # no call reaches it: the listing and the fetch are the test's
    commands = [str(n) * 36 for n in (1, 2, 3)]
    waiting = threading.Barrier(4)

    def wait(command_id: str) -> None:
        waiting.wait(timeout=10)
        ssm.wait_for_invocations(aws, command_id, ["i-1"], "true", deadline=time.monotonic() + 10)  # type: ignore[arg-type]

    threads = [threading.Thread(target=wait, args=(c,)) for c in commands]
    for thread in threads:
        thread.start()
    waiting.wait(timeout=10)
    time.sleep(0.1)  # a few looks with nothing finished, all three commands watched
    ssm_looks.say({"i-1": "Success"})
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(fetched) == commands  # each fetched once, when listed as finished
    assert max(watched_per_look) == 3 and ssm_looks.looks == len(watched_per_look)


def test_a_look_that_fails_is_every_waiters_cause(ssm_looks: ScriptedLooks, monkeypatch: pytest.MonkeyPatch) -> None:
    from envtest.hosts import ssm

    def refused(self: object, since: object, watched: object) -> dict[tuple[str, str], str]:
        raise CouldNotEvaluate("ssm:ListCommandInvocations: AccessDenied (the role may not list invocations)")

    monkeypatch.setattr(ssm.Looks, "_list", refused)
    with pytest.raises(CouldNotEvaluate, match="AccessDenied"):
        ssm.wait_for_invocations(NoCalls(), "5" * 36, ["i-1"], "true", deadline=time.monotonic() + 10)  # type: ignore[arg-type]


class NoCalls:
    """A double of an Aws session whose SSM client is never called (the test says what the looks find)."""

    def client(self, service: str) -> object:
        return object()


def test_the_looks_go_with_their_session(ssm_looks: ScriptedLooks) -> None:
    """A session's looks (and its SSM client) are not kept once the session is gone: the naive baseline builds
    a session per check."""
    import gc

    from envtest.hosts import ssm

    session = NoCalls()
    looks = ssm.looks_of(session)  # type: ignore[arg-type]
    assert ssm.looks_of(session) is looks  # type: ignore[arg-type]
    count = len(ssm._LOOKS)
    del session, looks
    gc.collect()
    assert len(ssm._LOOKS) == count - 1


def test_a_look_that_failed_before_a_command_was_watched_is_not_its_cause(
    ssm_looks: ScriptedLooks, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A waiter that starts after a failed look waits for a look that includes its command, and that look's
    answer is its own."""
    from envtest.hosts import ssm

    session = NoCalls()
    looks = ssm.looks_of(session)  # type: ignore[arg-type]
    looks._looked, looks._error = 3, CouldNotEvaluate("ssm:ListCommandInvocations: throttled (an earlier look)")
    ssm_looks.say({"i-1": "Success"})
    monkeypatch.setattr(ssm, "_get_invocation", lambda aws, c, i, what: {"Status": "Success", "ResponseCode": 0})
    done = ssm.wait_for_invocations(session, "6" * 36, ["i-1"], "true", deadline=time.monotonic() + 10)  # type: ignore[arg-type]
    assert done["i-1"].exit_code == 0
