"""The run's first call (preflight.send_first_call): GetCallerIdentity goes out from a thread before the policy
loads, and the preflight uses its answer; no call when the env-name guards stop the run, or when no cache would
keep the answer.

STS here is a loopback stand-in that answers as AWS does (the GetCallerIdentity XML of the API reference, or
AWS's ExpiredToken error) and counts what it was asked; the clients are botocore's, reaching it through
AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from envtest.gather import cache
from envtest.policy import load_policy
from envtest.preflight import preflight, preflight_aws, send_first_call
from envtest.settings import Settings
from selftests.conftest import S3_NO_SUCH_KEY, STS_IDENTITY, loopback_server, reply_xml

ACCOUNT = "123456789012"
IDENTITY = STS_IDENTITY.format(account=ACCOUNT)
EXPIRED = (
    '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
    "<Code>ExpiredToken</Code><Message>The security token included in the request is expired</Message></Error>"
    "<RequestId>2</RequestId></ErrorResponse>"
)


class Sts:
    def __init__(self) -> None:
        self.identity_calls = 0
        self.state_reads = 0  # GETs of the terraform state object
        self.expired = False
        self.lock = threading.Lock()
        self.answered = threading.Event()  # a GetCallerIdentity was answered


@pytest.fixture
def sts(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sts]:
    state = Sts()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            sent = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            if "Action=GetCallerIdentity" in sent:
                with state.lock:
                    state.identity_calls += 1
            reply_xml(self, 403, EXPIRED) if state.expired else reply_xml(self, 200, IDENTITY)
            if "Action=GetCallerIdentity" in sent:
                state.answered.set()

        def do_GET(self) -> None:  # the terraform state object: absent (the terraform guard is then not applied)
            with state.lock:
                state.state_reads += 1
            reply_xml(self, 404, S3_NO_SUCH_KEY)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with loopback_server(Handler) as url:
        for name, value in {
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "AKIDRUN",
            "AWS_SECRET_ACCESS_KEY": "run-secret",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        }.items():
            monkeypatch.setenv(name, value)
        for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
            monkeypatch.delenv(name, raising=False)
        cache.clear_memo()
        yield state
        cache.clear_memo()


def settings_for(tmp_path: Path, **extra: str) -> Settings:
    return Settings.from_environ({"ENV_NAME": "sandbox", "ENVTEST_RUN_DIR": str(tmp_path), **extra})


def test_the_preflight_uses_the_first_calls_answer_one_call_in_all(sts: Sts, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, EXPECTED_ACCOUNT_ID=ACCOUNT)
    aws = preflight_aws(settings)
    first = send_first_call(settings, aws)
    assert first is not None
    outcome = preflight(settings, aws)
    first.join(timeout=30)
    assert not first.is_alive()
    assert sts.identity_calls == 1
    assert outcome.masked_account.endswith("9012") and "account" in outcome.guards, outcome
    assert outcome.stop_reason == "", outcome


def test_the_first_call_does_not_wait_for_the_policy(sts: Sts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The policy's loading waits here until STS has answered: a first call that waited for the policy (the order
    before send_first_call) would never be answered, and the preflight would fail."""
    calls_seen_while_loading: list[int] = []

    def load_after_the_answer(*args: object, **kwargs: object) -> object:
        assert sts.answered.wait(timeout=20), "GetCallerIdentity was not answered while the policy was loading"
        calls_seen_while_loading.append(sts.identity_calls)
        return load_policy(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("envtest.preflight.load_policy", load_after_the_answer)
    settings = settings_for(tmp_path, EXPECTED_ACCOUNT_ID=ACCOUNT)
    aws = preflight_aws(settings)
    first = send_first_call(settings, aws)
    outcome = preflight(settings, aws)
    assert first is not None
    first.join(timeout=30)
    assert calls_seen_while_loading == [1] and sts.identity_calls == 1
    assert outcome.stop_reason == "", outcome


def test_without_the_first_call_the_policy_loads_before_any_call(
    sts: Sts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seeded case of the test above: the preflight alone loads the policy before its first call."""
    calls_seen_while_loading: list[int] = []

    def recording_load(*args: object, **kwargs: object) -> object:
        calls_seen_while_loading.append(sts.identity_calls)
        return load_policy(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("envtest.preflight.load_policy", recording_load)
    settings = settings_for(tmp_path, EXPECTED_ACCOUNT_ID=ACCOUNT)
    preflight(settings, preflight_aws(settings))
    assert calls_seen_while_loading == [0] and sts.identity_calls == 1


def test_no_call_when_the_env_name_guards_stop_the_run(sts: Sts, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, MY_ENV="prod")
    aws = preflight_aws(settings)
    assert send_first_call(settings, aws) is None
    outcome = preflight(settings, aws)
    assert outcome.stop_check == "wrong_environment", outcome
    assert sts.identity_calls == 0


def test_no_first_call_when_no_cache_keeps_its_answer(
    sts: Sts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "_enabled", [False])
    settings = settings_for(tmp_path)
    assert send_first_call(settings, preflight_aws(settings)) is None
    assert sts.identity_calls == 0


def test_expired_credentials_met_by_the_first_call_stop_the_preflight_as_before(sts: Sts, tmp_path: Path) -> None:
    sts.expired = True
    settings = settings_for(tmp_path)
    aws = preflight_aws(settings)
    first = send_first_call(settings, aws)
    assert first is not None
    outcome = preflight(settings, aws)
    first.join(timeout=30)
    assert outcome.stop_check == "aws_credentials", outcome
    assert "ExpiredToken" in outcome.stop_reason or "expired" in outcome.stop_reason.lower(), outcome
    # The cause was kept for the preflight: it did not ask again.
    assert sts.identity_calls == 1


def test_the_session_preflight_loads_the_policy_once(sts: Sts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The revision the reports name comes from the policy the preflight loaded, not from a second load."""
    import envtest.policy
    from envtest import session_preflight

    loads: list[str] = []

    def counting_load(*args: object, **kwargs: object) -> object:
        loads.append(str(args[0]))
        return load_policy(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("envtest.preflight.load_policy", counting_load)
    monkeypatch.setattr(envtest.policy, "load_policy", counting_load)
    settings = settings_for(tmp_path, EXPECTED_ACCOUNT_ID=ACCOUNT)
    found = session_preflight._preflight(settings, preflight_aws(settings))
    assert loads == ["sandbox"]
    policy = load_policy("sandbox")
    assert found.revision == (policy.revision.describe() if policy.revision else "none (policy/default.toml alone)")


def test_the_outputs_read_ahead_serve_the_preflight(sts: Sts, tmp_path: Path) -> None:
    """Before pytest is imported (early_start.start_ahead) the terraform outputs are read too, once the account is
    known: the preflight then asks AWS for neither again."""
    settings = settings_for(tmp_path, EXPECTED_ACCOUNT_ID=ACCOUNT)
    aws = preflight_aws(settings)
    first = send_first_call(settings, aws, and_outputs=True)
    assert first is not None
    first.join(timeout=30)
    assert (sts.identity_calls, sts.state_reads) == (1, 1)  # both asked before the preflight ran
    outcome = preflight(settings, aws)
    assert (sts.identity_calls, sts.state_reads) == (1, 1), "the preflight read again what was read ahead"
    assert any("terraform guard not applied" in note for note in outcome.notes), outcome  # the state is absent
    assert outcome.stop_reason == "", outcome


@pytest.mark.parametrize("whole_run", [False, True], ids=["narrowed-or-plain", "whole-run"])
def test_the_session_preflight_takes_over_what_was_started_before_pytest(
    whole_run: bool, sts: Sts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pytest_main starts the run ahead of pytest: the first call, the preflight itself, and the early host reads,
    which it sends as soon as the preflight has passed when the command says the run is every check. The session's
    preflight takes over that outcome and that early start (joined), and starts none of them again."""
    from envtest import early_start, preflight, session_preflight
    from envtest.session_outcome import OUTCOME_VARIABLE, WHOLE_RUN_VARIABLE

    for name, value in {
        "ENV_NAME": "sandbox",
        "ENVTEST_RUN_DIR": str(tmp_path),
        "EXPECTED_ACCOUNT_ID": ACCOUNT,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(OUTCOME_VARIABLE, raising=False)
    if whole_run:
        monkeypatch.setenv(WHOLE_RUN_VARIABLE, "1")
    else:
        monkeypatch.delenv(WHOLE_RUN_VARIABLE, raising=False)
    begun: list[object] = []
    original = early_start.EarlyHostReads.begin
    monkeypatch.setattr(
        early_start.EarlyHostReads,
        "begin",
        lambda settings, after=None: begun.append(after) or original(settings, after),
    )
    sent: list[str] = []  # the host reads are not sent here (this STS answers nothing else): who would send them

    def record(early: early_start.EarlyHostReads) -> None:
        early._sent = True
        sent.append(threading.current_thread().name)

    monkeypatch.setattr(early_start.EarlyHostReads, "_send_now", record)
    ahead = early_start.start_ahead()
    assert ahead is not None and ahead.first is not None and ahead.early is not None and ahead.preflight is not None
    assert begun == [ahead.preflight if whole_run else None]
    ahead.early.wait()
    assert sent == (["host-reads-early"] if whole_run else [])  # before pytest, once the preflight passed
    monkeypatch.setattr(preflight, "preflight", lambda *args: pytest.fail("the session ran the preflight again"))
    said: list[int | None] = []
    # In a thread of its own: the preflight installs the cancel's signal handlers only from the main thread.
    session = threading.Thread(
        target=lambda: said.append(session_preflight.preflight_at_session_start(True)), name="session"
    )
    session.start()
    session.join(timeout=60)
    assert said == [None]  # the session goes on
    assert (sts.identity_calls, sts.state_reads) == (1, 1) and len(begun) == 1
    assert sent == ["host-reads-early" if whole_run else "session"]  # sent once, by the early start readied ahead
    assert early_start.take_ahead() is None  # handed over once
    assert not ahead.early._thread.is_alive()


def test_nothing_is_started_ahead_when_the_env_name_guards_will_stop_the_run(
    sts: Sts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from envtest import early_start

    for name, value in {"ENV_NAME": "sandbox", "ENVTEST_RUN_DIR": str(tmp_path), "MY_ENV": "prod"}.items():
        monkeypatch.setenv(name, value)
    ahead = early_start.start_ahead()
    assert ahead is not None and ahead.first is None and ahead.early is None
    assert early_start.take_ahead() is ahead and sts.identity_calls == 0
