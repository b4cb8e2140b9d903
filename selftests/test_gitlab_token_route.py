"""Where the GitLab API token goes: to GitLab's own origin, never anywhere a redirect points.

requests strips only `Authorization` on a redirect to another host; the token travels in `PRIVATE-TOKEN`, so a
302 from whatever answers at GitLab's URL (which comes from an EC2 tag) would deliver it elsewhere. Each test
here serves the far end on loopback and records what reached it.
"""

from __future__ import annotations

import contextlib
import re
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envtest.errors import CouldNotEvaluate
from envtest.fixtures.images import lockdown_runs_of
from envtest.gather.cache import clear_memo
from envtest.gather.gitlab import GitLab
from envtest.gather.gitlab_route import Origin, admit
from envtest.policy import load_policy
from envtest.settings import Settings
from envtest_double.tls import make_certificates

TOKEN = "glpat-routeTestToken0123456789"
GITLAB = "gitlab.login.gov"  # the sandbox's GitLab host (env_facts.GITLAB_HOST), which the default policy admits
PATTERN = str(load_policy("sandbox").section("images")["lockdown_probe"]["gitlab_host_pattern"])


class Recorder:
    """What reached one loopback server: each request's method, path and headers."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    def tokens(self) -> list[str]:
        return [headers.get("PRIVATE-TOKEN", "") for _, _, headers in self.requests if "PRIVATE-TOKEN" in headers]


Answer = tuple[int, dict[str, str], bytes]
Tls = tuple[Path, Path, Path]  # the CA, the server's certificate, its key


@contextlib.contextmanager
def served(answer: Answer, tls: Tls | None = None) -> Iterator[tuple[int, Recorder]]:
    """A loopback server that records every request and gives each the same answer; its port while the block runs."""
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            recorder.requests.append((self.command, self.path, dict(self.headers.items())))
            status, headers, body = answer
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _reply

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls[1], tls[2])
        # The handshake in the handler's thread: a client that never speaks TLS holds only its own.
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], recorder
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """A throwaway CA and a certificate for localhost, GitLab's name and 127.0.0.1 (the sandbox's own maker)."""
    return make_certificates(tmp_path_factory.mktemp("tls"), ["localhost", GITLAB], addresses=("127.0.0.1",))


def _client(url: str, tls: Tls, pattern: str = "localhost", connect_to: str | None = None) -> GitLab:
    return GitLab(url, TOKEN, host_pattern=pattern, connect_to=connect_to, timeout=5, verify=str(tls[0]))


# Each redirect target is a server that records what reaches it, named so that requests would reach it if it
# followed the redirect (localhost and 127.0.0.1 are two hosts to requests, one machine to the test).
REDIRECTS = {
    "another host": "https://127.0.0.1:{tls_port}/api/v4/elsewhere",
    "another port": "https://localhost:{tls_port}/api/v4/elsewhere",
    "another scheme": "http://localhost:{plain_port}/api/v4/elsewhere",
}


@pytest.mark.parametrize("where", list(REDIRECTS))
def test_a_redirect_never_carries_the_token(where: str, tls: Tls) -> None:
    with served((200, {}, b"[]")) as (plain_port, plain), served((200, {}, b"[]"), tls) as (tls_port, secure):
        redirect: Answer = (302, {"Location": REDIRECTS[where].format(tls_port=tls_port, plain_port=plain_port)}, b"")
        with served(redirect, tls) as (gitlab_port, gitlab), pytest.raises(CouldNotEvaluate) as info:
            try:
                _client(f"https://localhost:{gitlab_port}", tls).pipeline_jobs("52", "777")
            finally:
                assert plain.tokens() == secure.tokens() == [], f"the token followed a redirect to {where}"
    assert gitlab.tokens() == [TOKEN]  # GitLab itself got it, once
    assert "redirect" in str(info.value) and TOKEN not in str(info.value)


def test_a_redirect_to_another_port_of_gitlabs_name_is_not_followed_either(tls: Tls) -> None:
    """Through GITLAB_CONNECT_TO (the sandbox's way in): the name connects to loopback whatever the port."""
    with (
        served((200, {}, b"[]"), tls) as (other_port, other),
        served((302, {"Location": f"https://{GITLAB}:{other_port}/x"}, b""), tls) as (gitlab_port, gitlab),
    ):
        client = _client(f"https://{GITLAB}:{gitlab_port}", tls, pattern=PATTERN, connect_to="127.0.0.1")
        with pytest.raises(CouldNotEvaluate, match=f"a redirect to https://{GITLAB}:{other_port}"):
            client.job("52", 1)
    assert other.tokens() == [] and gitlab.tokens() == [TOKEN]
    assert gitlab.requests[0][2]["Host"] == f"{GITLAB}:{gitlab_port}"


# ---- the URL must be GitLab's before the token is sent ------------------------------------------------------


@pytest.fixture
def no_memo() -> Iterator[None]:
    """The probe's result is memoised per run (by URL): each test starts and ends with none."""
    clear_memo()
    yield
    clear_memo()


def _probe_with(environ: dict[str, str], tag_host: str = "gitlab.login.gov") -> None:
    """The lockdown probe's fixture code, as a run calls it (GITLAB_URL, else https:// + the runner's tag)."""
    settings = Settings.from_environ(
        {"ENV_NAME": "sandbox", "GITLAB_API_TOKEN": TOKEN, "GITLAB_PROJECT_ID": "52", "GITLAB_PIPELINE_ID": "777",
         **environ}
    )  # fmt: skip
    lockdown_runs_of(load_policy("sandbox"), settings, lambda: tag_host)


@pytest.mark.usefixtures("no_memo")
def test_a_gitlab_url_not_matching_the_policy_never_receives_the_token() -> None:
    with served((200, {}, b"[]")) as (port, recorder), pytest.raises(CouldNotEvaluate) as info:
        try:
            _probe_with({"GITLAB_URL": f"http://127.0.0.1:{port}"})
        finally:
            assert recorder.tokens() == [], "the token went to a URL the policy does not name as GitLab's"
    message = str(info.value)
    for words in (f"http://127.0.0.1:{port}", PATTERN, "gitlab_host_pattern", "was not sent", "GITLAB_URL"):
        assert words in message, message
    assert TOKEN not in message


@pytest.mark.usefixtures("no_memo")
def test_a_runner_tag_naming_another_host_never_receives_the_token(tls: Tls) -> None:
    """GitLab's URL defaults to https:// + the runner's gitlab_hostname tag: whoever can tag the instance picks it."""
    with served((200, {}, b"[]"), tls) as (port, recorder), pytest.raises(CouldNotEvaluate) as info:
        try:
            _probe_with({"ENVTEST_CA_BUNDLE": str(tls[0])}, tag_host=f"127.0.0.1:{port}")
        finally:
            assert recorder.tokens() == [], "the token went where the runner's tag pointed"
    assert "gitlab_hostname tag" in str(info.value) and "gitlab_host_pattern" in str(info.value)


@pytest.mark.usefixtures("no_memo")
def test_gitlabs_own_name_over_plain_http_never_receives_the_token() -> None:
    """The host matches, but http would carry the token in clear: refused before the connection."""
    with served((200, {}, b"[]")) as (port, recorder), pytest.raises(CouldNotEvaluate, match="not https") as info:
        try:
            _probe_with({"GITLAB_URL": f"http://{GITLAB}:{port}", "GITLAB_CONNECT_TO": "127.0.0.1"})
        finally:
            assert recorder.tokens() == []
    assert recorder.requests == [] and TOKEN not in str(info.value)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        (f"https://user:hunter2@{GITLAB}", "user info"),  # the password is masked in the message
        (f"https://{GITLAB}/?private_token=x", "a query"),
        (f"https://{GITLAB}.", "plain host name"),
        (f"https://{GITLAB}:99999", "cannot be read"),
        (GITLAB, "plain host name"),
        (f"https://{GITLAB}.evil.example", "does not match"),
        (f"https://{GITLAB}\\@evil.example", "user info"),
    ],
)
def test_a_url_that_is_not_plainly_gitlabs_is_refused_and_named(url: str, words: str) -> None:
    with pytest.raises(CouldNotEvaluate, match=words) as info:
        admit(url, PATTERN, "GITLAB_URL")
    assert "hunter2" not in str(info.value) and "set GITLAB_URL" in str(info.value)


def test_gitlabs_url_gives_its_origin_and_path() -> None:
    assert (
        admit(f"https://{GITLAB.upper()}:8443/gitlab/", PATTERN, "GITLAB_URL").base == f"https://{GITLAB}:8443/gitlab"
    )
    assert admit(f"https://{GITLAB}", PATTERN, "GITLAB_URL") == Origin(GITLAB, 443, "")


def test_a_pattern_that_is_not_a_regular_expression_is_named() -> None:
    with pytest.raises(CouldNotEvaluate, match="gitlab_host_pattern = '\\(' is not a regular expression"):
        admit(f"https://{GITLAB}", "(", "GITLAB_URL")


def test_a_connect_to_that_is_not_an_address_is_refused(tls: Tls) -> None:
    with pytest.raises(CouldNotEvaluate, match="GITLAB_CONNECT_TO"):
        _client(f"https://{GITLAB}", tls, pattern=PATTERN, connect_to="127.0.0.1/evil")


@given(st.text(max_size=80) | st.from_regex(r"https?://[a-z0-9.:@/\\?#-]{0,60}", fullmatch=True))
def test_whatever_the_url_the_token_goes_only_to_an_https_origin_the_pattern_admits(url: str) -> None:
    try:
        origin = admit(url, PATTERN, "the runner's gitlab_hostname tag")
    except CouldNotEvaluate as exc:
        assert "was not sent" in str(exc)
    else:
        assert re.fullmatch(PATTERN, origin.host) and origin.base.startswith(f"https://{origin.host}")


def test_a_refusal_names_what_gitlab_said_and_the_rights_the_token_needs(tls: Tls) -> None:
    refused: Answer = (403, {}, b'{"message": "403 Forbidden"}')
    with served(refused, tls) as (port, _), pytest.raises(CouldNotEvaluate) as info:
        _client(f"https://localhost:{port}", tls).pipeline_jobs("52", "777")
    for words in ("403 Forbidden", "`api` scope", "Developer role", "protected branch"):
        assert words in str(info.value), str(info.value)


def test_a_redirect_is_named_by_its_origin_alone(tls: Tls) -> None:
    """Where a redirect points is the answer's own text: its origin is named, cleaned; its path is left out."""
    redirect: Answer = (301, {"Location": "https://evil.example:8443/steal?t=1\x1b[31m"}, b"")
    with served(redirect, tls) as (port, _), pytest.raises(CouldNotEvaluate) as info:
        _client(f"https://localhost:{port}", tls).pipeline_jobs("52", "777")
    assert "a redirect to https://evil.example:8443;" in str(info.value) and "steal" not in str(info.value)
