"""The run's AWS calls use the environment the command built (the caller's, then -f, -v and the flags), never
the caller's where the run's differs; the run's secrets reach no output; a preflight stop reports as it always did.

The command runs as run_tests.sh runs it (`python -m envtest`, a subprocess) against a loopback stand-in for
AWS that is reached only as the run's proxy: what arrives there is what the run sent, through the proxy, to the
endpoint, with the credentials and the region the run was given. The caller's environment names another
endpoint, other credentials, another region and no proxy: a call made with it never arrives.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from envtest_double.prove import clean_environ, run_suite
from selftests.conftest import ROOT, S3_NO_SUCH_KEY, STS_IDENTITY, loopback_server, reply_xml

RUN_ENDPOINT = "http://aws.run.invalid:4566"  # resolvable by no one: only a proxy can carry a call there
SECRET = "run-secret-access-key-0123456789abcdef"
TOKEN = "run-session-token-0123456789abcdef0123"
ACCOUNT = "123456789012"
IDENTITY = STS_IDENTITY.format(account=ACCOUNT)


@pytest.fixture
def proxy() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A proxy that answers as AWS (STS: who am I; S3: no such key) and records each request it carried."""
    seen: list[dict[str, str]] = []
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            sent = self.rfile.read(length).decode() if length else ""
            seen.append({"url": self.path, "authorization": self.headers.get("Authorization", ""), "body": sent})
            reply_xml(self, status, body)

        def do_POST(self) -> None:
            if "hang" in self.path:  # an endpoint that takes the call and never answers (until the test ends)
                seen.append({"url": self.path, "authorization": "", "body": ""})
                release.wait(60)
                return
            self._answer(200, IDENTITY)

        def do_GET(self) -> None:
            self._answer(404, S3_NO_SUCH_KEY)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with loopback_server(Handler) as url:
        yield url, seen
        release.set()


def _caller() -> dict[str, str]:
    caller = {
        **clean_environ(),
        # The caller's: each differs from the run's, and a call made with any of them never reaches the proxy.
        "AWS_ENDPOINT_URL": "http://127.0.0.1:2",
        "AWS_ACCESS_KEY_ID": "AKIDCALLER",
        "AWS_SECRET_ACCESS_KEY": "caller-secret-access-key-0123456789",
        "AWS_REGION": "us-east-2",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"):
        caller.pop(name, None)
    return caller


def test_the_runs_aws_calls_use_the_environment_the_command_built_and_its_secrets_reach_no_output(
    tmp_path: Path, proxy: tuple[str, list[dict[str, str]]]
) -> None:
    url, seen = proxy
    caller = _caller()
    (tmp_path / "run.env").write_text(
        f"AWS_ENDPOINT_URL={RUN_ENDPOINT}\nAWS_ACCESS_KEY_ID=AKIDRUN\nAWS_SECRET_ACCESS_KEY={SECRET}\n"
        f"HTTP_PROXY={url}\nENVTEST_PREFLIGHT_READ_TIMEOUT=4\n"
    )
    json_path = tmp_path / "results.json"
    run = run_suite(
        ["sandbox", "-r", "eu-west-1", "-f", str(tmp_path / "run.env"), "-v", f"AWS_SESSION_TOKEN={TOKEN}",
         "-v", "EXPECTED_ACCOUNT_ID=210987654321", "--json", str(json_path)],
        caller,
        tmp_path,
        timeout=120,
    )  # fmt: skip
    said = run.stdout + run.stderr
    # The preflight's calls went through the run's proxy to the run's endpoint, signed with the run's key for
    # the run's region (-r), never the caller's.
    assert seen, f"no call reached the run's proxy: {said}"
    assert all(r["url"].startswith(RUN_ENDPOINT + "/") for r in seen), seen
    assert all(re.search(r"Credential=AKIDRUN/\d{8}/eu-west-1/", r["authorization"]) for r in seen), seen
    assert any("Action=GetCallerIdentity" in r["body"] for r in seen), seen
    # The account guard then stops the run before any check, as it always has: exit 2, one clear line, the
    # JUnit report with the stop as its one error, the JSON results beside it.
    assert run.exit_code == 2, said
    stops = [line for line in run.stderr.splitlines() if line.startswith("STOPPED")]
    assert len(stops) == 1 and stops[0].startswith("STOPPED before any check (exit 2): "), said
    assert "the credentials are for account ********9012" in stops[0], stops
    assert "account ********9012" in run.stdout and "run kind manual" in run.stdout, run.stdout
    assert run.verdicts() == {"wrong_environment": "error"}
    results = json.loads(json_path.read_text())
    assert results["run"]["exit_code"] == 2 and results["run"]["account"] == "********9012", results["run"]
    assert [c["verdict"] for c in results["checks"]] == ["error"]
    # The run's secrets reach no output and no report.
    reports = "".join(p.read_text() for p in tmp_path.iterdir() if p.suffix in (".xml", ".html", ".json"))
    for secret in (SECRET, TOKEN):
        assert secret not in said and secret not in reports


def test_a_cancel_during_the_preflight_stops_the_run_as_a_cancel_before_any_check(
    tmp_path: Path, proxy: tuple[str, list[dict[str, str]]]
) -> None:
    url, seen = proxy
    junit_path = tmp_path / "junit.xml"
    variables = [
        f"AWS_ENDPOINT_URL={RUN_ENDPOINT}/hang",
        "AWS_ACCESS_KEY_ID=AKIDRUN",
        f"AWS_SECRET_ACCESS_KEY={SECRET}",
    ]
    # As GitLab starts a job's command: a process group of its own, which the cancel's SIGTERM is sent to.
    proc = subprocess.Popen(
        [sys.executable, "-m", "envtest", "-j", str(junit_path), "sandbox", "-v", f"HTTP_PROXY={url}",
         *(a for v in variables for a in ("-v", v))],
        cwd=ROOT, env=_caller(), start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not seen:  # the preflight's first call is waiting on the endpoint
            assert proc.poll() is None and time.monotonic() < deadline, "the preflight never called"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    said = "cancelled by SIGTERM before any check ran; nothing was evaluated and nothing was changed"
    assert proc.returncode == 2, stdout + stderr
    assert f"STOPPED before any check (exit 2): {said}" in stderr, stdout + stderr
    report = junit_path.read_text()
    assert "run_cancelled" in report and said in report, report
