"""A session built from a mapping resolves what botocore resolves from os.environ, whatever os.environ says.

Each scenario is resolved twice: by botocore's own session with os.environ set to the scenario, and by
EnvironSession given the scenario while os.environ holds a wrong value for every variable. The clients must
agree on endpoint, region, proxies, CA bundle, retries and credentials.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import boto3
import pytest

from envtest.gather.aws_environ import environ_proxies, proxies_for
from envtest.gather.aws_session import EnvironSession
from selftests.conftest import loopback_server

SERVICES = ("sts", "ssm", "s3")
WRONG = {
    "AWS_ACCESS_KEY_ID": "AKIDWRONG",
    "AWS_SECRET_ACCESS_KEY": "wrong",
    "AWS_SESSION_TOKEN": "wrong",
    "AWS_PROFILE": "wrong",
    "AWS_CONFIG_FILE": "/nonexistent/config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
    "AWS_ENDPOINT_URL": "http://wrong.invalid:1",
    "AWS_ENDPOINT_URL_SSM": "http://wrong.invalid:2",
    "AWS_CA_BUNDLE": "/nonexistent/ca.pem",
    "REQUESTS_CA_BUNDLE": "/nonexistent/requests.pem",
    "HTTPS_PROXY": "http://wrong.invalid:3128",
    "NO_PROXY": "wrong.invalid",
    "AWS_MAX_ATTEMPTS": "1",
    "AWS_RETRY_MODE": "legacy",
    "AWS_USE_FIPS_ENDPOINT": "true",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/wrong",
    "AWS_ROLE_ARN": "arn:aws:iam::000000000000:role/wrong",
    "AWS_WEB_IDENTITY_TOKEN_FILE": "/nonexistent/token",
    "FROM_RUN": "wrong",
}


@pytest.fixture(scope="module")
def fake_aws() -> Iterator[str]:
    """STS's AssumeRoleWithWebIdentity and a container credentials endpoint, each answering one key."""

    class Handler(BaseHTTPRequestHandler):
        def _send(self, body: bytes, kind: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            creds = {"AccessKeyId": "AKIDCONTAINER", "SecretAccessKey": "s", "Token": "t"}
            self._send(json.dumps({**creds, "Expiration": "2099-01-01T00:00:00Z"}).encode(), "application/json")

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self._send(
                b'<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                b"<AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>AKIDWEB</AccessKeyId>"
                b"<SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken>"
                b"<Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleWithWebIdentityResult>"
                b"</AssumeRoleWithWebIdentityResponse>",
                "text/xml",
            )

        def log_message(self, format: str, *args: object) -> None:
            pass

    with loopback_server(Handler) as url:
        yield url


def _scenarios(tmp: Path, fake: str) -> dict[str, dict[str, str]]:
    (tmp / "credentials").write_text("[ops]\naws_access_key_id = AKIDFILE\naws_secret_access_key = s\n")
    creds = (
        "import json, os; "
        "print(json.dumps({'Version': 1, 'AccessKeyId': os.environ['FROM_RUN'], 'SecretAccessKey': 's'}))"
    )
    (tmp / "config").write_text(
        "[profile ops]\nendpoint_url = http://127.0.0.1:7\n"
        f'[profile process]\ncredential_process = {sys.executable} -c "{creds}"\n'
    )
    (tmp / "token").write_text("a-web-identity-token")
    files = {"AWS_CONFIG_FILE": str(tmp / "config"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "credentials")}
    keys = {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"}
    return {
        "keys and endpoints": {**keys, "AWS_ENDPOINT_URL": "http://127.0.0.1:5", "AWS_ENDPOINT_URL_SSM": "http://x:6"},
        "a profile's files": {**files, "AWS_PROFILE": "ops"},
        "a credential_process sees the run's environment": {**files, "AWS_PROFILE": "process", "FROM_RUN": "AKIDPROC"},
        "CA bundles": {**keys, "AWS_CA_BUNDLE": "/etc/aws-ca.pem"},
        "requests' CA bundle": {**keys, "REQUESTS_CA_BUNDLE": "/etc/requests-ca.pem"},
        "proxies and NO_PROXY": {**keys, "HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "sts.us-west-2.amazonaws.com"},
        "proxies to a configured endpoint": {**keys, "https_proxy": "proxy:3128", "AWS_ENDPOINT_URL": "https://x:9"},
        "retries and FIPS": {
            **keys,
            "AWS_MAX_ATTEMPTS": "5",
            "AWS_RETRY_MODE": "standard",
            "AWS_USE_FIPS_ENDPOINT": "true",
        },
        "configured endpoints ignored": {
            **keys,
            "AWS_ENDPOINT_URL": "http://127.0.0.1:5",
            "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true",
        },
        "container credentials": {"AWS_CONTAINER_CREDENTIALS_FULL_URI": f"{fake}/creds"},
        "web identity": {
            "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/ci",
            "AWS_WEB_IDENTITY_TOKEN_FILE": str(tmp / "token"),
            "AWS_ENDPOINT_URL_STS": fake,
        },
    }


def _facts(session: boto3.session.Session) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for service in SERVICES:
        client = session.client(service)
        http = client._endpoint.http_session
        found[service] = (
            client.meta.endpoint_url,
            client.meta.region_name,
            http._proxy_config._proxies,
            http._verify,
            client.meta.config.retries,
        )
    credentials = session.get_credentials()
    found["credentials"] = (credentials.method, credentials.get_frozen_credentials().access_key)
    return found


def _only(monkeypatch: pytest.MonkeyPatch, environ: dict[str, str]) -> None:
    """os.environ holds `environ` and nothing botocore would read besides (PATH and HOME stay)."""
    for name in list(os.environ):
        if name not in ("PATH", "HOME"):
            monkeypatch.delenv(name)
    for name, value in {**environ, "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize(
    "scenario",
    [
        "keys and endpoints",
        "a profile's files",
        "a credential_process sees the run's environment",
        "CA bundles",
        "requests' CA bundle",
        "proxies and NO_PROXY",
        "proxies to a configured endpoint",
        "retries and FIPS",
        "configured endpoints ignored",
        "container credentials",
        "web identity",
    ],
)
def test_a_session_from_a_mapping_resolves_what_botocore_resolves_from_the_environment(
    scenario: str, tmp_path: Path, fake_aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = _scenarios(tmp_path, fake_aws)[scenario]
    _only(monkeypatch, environ)
    expected = _facts(boto3.session.Session(region_name="us-west-2"))
    given = {"PATH": os.environ["PATH"], "HOME": os.environ["HOME"], **environ, "AWS_EC2_METADATA_DISABLED": "true"}
    _only(monkeypatch, WRONG)
    found = _facts(boto3.session.Session(botocore_session=EnvironSession(given), region_name="us-west-2"))
    assert found == expected


def test_proxies_are_read_as_urllib_reads_them() -> None:
    environ = {"HTTP_PROXY": "http://upper", "http_proxy": "http://lower", "HTTPS_PROXY": "http://s", "NO_PROXY": ".x"}
    assert environ_proxies(environ) == {"http": "http://lower", "https": "http://s", "no": ".x"}
    assert environ_proxies({"HTTP_PROXY": "http://cgi", "REQUEST_METHOD": "GET"}) == {}
    assert environ_proxies({"https_proxy": ""}) == {}
    assert proxies_for("https://sts.x:443", environ) == {}
    assert proxies_for("https://sts.example.com", environ)["https"] == "http://s"
