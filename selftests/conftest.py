"""Fixtures for the project's own tests: a real sandbox, and a way to run the suite against it."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from botocore.stub import Stubber

from envtest import current_test_var
from envtest.gather.aws import Aws
from envtest.gather.cache import clear_memo
from envtest.gather.inventory import Inventory
from envtest_double.processes import SandboxError, marked_processes, stop_all
from envtest_double.prove import SuiteRun, clean_environ, run_suite
from envtest_double.running import Sandbox
from envtest_double.startup import start_sandbox

ROOT = Path(__file__).resolve().parents[1]
# One way to run the suite and read its verdicts, shared with --prove.
Run = SuiteRun
base_environ = clean_environ
__all__ = ["Run", "base_environ", "run_suite"]


def pytest_configure(config: pytest.Config) -> None:
    # As in the suite (envtest/current_test_var.py): threads a self-test leaves running (a plan's daemon workers,
    # a sandbox's servers) may make botocore clients, which walk os.environ, while pytest moves to the next test.
    current_test_var.install()


def _sandbox(era: str) -> Iterator[Sandbox]:
    # Under /tmp, not pytest's 0700 tmp_path: squid, once it drops root, must reach the directory.
    directory = Path(tempfile.mkdtemp(prefix=f"envtest-selftest-{era}-sandbox-"))
    try:
        start_sandbox(directory, era=era)
    except SandboxError as exc:  # start_sandbox has stopped what it started
        pytest.fail(f"the sandbox did not start: {exc}")
    try:
        yield Sandbox(directory)
    finally:
        survivors = stop_all(directory)
        leftovers = marked_processes(directory)
        shutil.rmtree(directory, ignore_errors=True)
        assert not survivors and not leftovers, f"sandbox processes survived: {survivors} {leftovers}"


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """The runbook's era: the runner allows what the allowed-images file lists."""
    yield from _sandbox("file")


@pytest.fixture(scope="session")
def pattern_sandbox() -> Iterator[Sandbox]:
    """The era since 2023-08: the runner allows a fixed blessed pattern (policy [images] mode = pattern)."""
    yield from _sandbox("pattern")


@pytest.fixture
def clean_sandbox(sandbox: Sandbox) -> Iterator[Sandbox]:
    """The shared sandbox, reset to its clean state after the test changed it."""
    yield sandbox
    sandbox.reset()


@pytest.fixture
def sandbox_env(sandbox: Sandbox) -> dict[str, str]:
    return {**base_environ(), **sandbox.environ}


@pytest.fixture
def inventory(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inventory]:
    """An Inventory with no endpoint and no cache between tests: its clients are for botocore's Stubber."""
    for key, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    clear_memo()
    yield Inventory(Aws("us-west-2"), None)
    clear_memo()


class ScriptedLooks:
    """What SSM's looks (envtest/hosts/ssm.py Looks) find, said by the test: {instance id: status} for every watched
    command, from the next look on. A test double of the listing alone, named as one: the looks go from a thread
    of their own, and a Stubber must be asked in the order its answers were queued. The listing's request and
    its pages have their own Stubber test (test_hosts.py)."""

    def __init__(self) -> None:
        self.statuses: dict[str, str] = {}
        self.looks = 0

    def say(self, statuses: dict[str, str]) -> None:
        self.statuses = dict(statuses)

    def listed(self, since: object, watched: set[str]) -> dict[tuple[str, str], str]:
        self.looks += 1
        return {(command, instance): status for command in watched for instance, status in self.statuses.items()}


@pytest.fixture
def ssm_looks(monkeypatch: pytest.MonkeyPatch) -> ScriptedLooks:
    from envtest.hosts import ssm

    scripted = ScriptedLooks()
    monkeypatch.setattr(ssm.Looks, "_list", lambda self, since, watched: scripted.listed(since, watched))
    monkeypatch.setattr(ssm, "FIRST_LOOK", 0.005)
    monkeypatch.setattr(ssm, "POLL_CEILING", 0.01)
    return scripted


def stub(inventory: Inventory, service: str) -> Stubber:
    """botocore's Stubber (a test double) on the inventory's client: each response is checked against the
    service's model before the reader sees it."""
    stubber = Stubber(inventory.aws.client(service))
    stubber.activate()
    return stubber


@contextlib.contextmanager
def loopback_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """`handler` served on loopback from a thread: its URL while the block runs, then shut down and closed."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# What STS answers GetCallerIdentity (its API reference's XML), and S3 a missing object: for loopback stand-ins.
STS_IDENTITY = (
    '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
    "<Arn>arn:aws:iam::{account}:user/run</Arn><UserId>AIDRUN</UserId><Account>{account}</Account>"
    "</GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>"
    "</GetCallerIdentityResponse>"
)
S3_NO_SUCH_KEY = "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>"


def reply_xml(handler: BaseHTTPRequestHandler, status: int, body: str) -> None:
    """A loopback stand-in's answer: the status, an XML body and its length."""
    handler.send_response(status)
    handler.send_header("Content-Type", "text/xml")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body.encode())
