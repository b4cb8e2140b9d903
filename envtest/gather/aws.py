"""The one place that makes AWS clients.

Clients come from the standard credential chain (aws-vault's exported
variables, an instance role) and honour the standard AWS_ENDPOINT_URL, so the
sandbox and a real account take the same code path. They read the process's
environment: every AWS call of a run is made in pytest's process, which the
command line starts with the run's environment (envtest/run.py). Every client
carries:

- adaptive retries and bounded timeouts, so throttling is absorbed and a dead
  endpoint fails in seconds, not minutes;
- the read-only guard (gather/aws_guard.py): only the operations the IAM policy
  grants, writes only as the running disruptive check declares them with -R
  true, no presigned URL;
- a call counter, reported at the end of the run (gather/aws_calls.py).
"""

from __future__ import annotations

import os
import threading
import traceback
from collections.abc import Mapping
from typing import Any

import botocore.exceptions
import botocore.parsers
import botocore.session
from botocore.config import Config
from botocore.credentials import CredentialProvider, CredentialResolver

from envtest.errors import CouldNotEvaluate
from envtest.gather import aws_calls, aws_guard
from envtest.gather.endpoint_breaker import endpoint_down_reason, trip


def client_config(environ: Mapping[str, str]) -> Config:
    """Adaptive retries and bounded timeouts, as the run's ENVTEST_AWS_* variables set them."""
    return Config(
        retries={"mode": "adaptive", "max_attempts": int(environ.get("ENVTEST_AWS_MAX_ATTEMPTS", "8"))},
        connect_timeout=float(environ.get("ENVTEST_AWS_CONNECT_TIMEOUT", "5")),
        read_timeout=float(environ.get("ENVTEST_AWS_READ_TIMEOUT", "20")),
    )


# What a botocore call raises when AWS (or the way to it) fails; callers turn it into a cause.
# ResponseParserError: something answered that is not AWS (an intercepting proxy, a stale endpoint variable).
AwsError = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, botocore.parsers.ResponseParserError)
CREDENTIAL_ERROR_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "RequestExpired",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AuthFailure",
    }
)


def _before_call(model: Any, **_: Any) -> None:
    service = model.service_model.service_name
    operation = model.name
    down = endpoint_down_reason()
    if down:
        raise CouldNotEvaluate(f"{service}:{operation} not tried: {down} earlier in this run")
    aws_calls.count(f"{service}:{operation}")


# botocore's data loader, one per process (per data path): the services' models it reads and caches are most of a
# client's cost (the first EC2 client 0.06 s, a later one from the same loader 0.007 s), and every Aws here has a
# session of its own (the preflight's, the host reads', an assumed role's), which would each read them again. The
# loader only reads botocore's JSON files and caches what it read; no session or client changes that data.
_LOADERS: dict[str, Any] = {}
_LOADERS_LOCK = threading.Lock()


def _shared_loader(session: botocore.session.Session) -> Any:
    key = str(session.get_config_variable("data_path"))
    with _LOADERS_LOCK:
        if key not in _LOADERS:
            _LOADERS[key] = session.get_component("data_loader")
        return _LOADERS[key]


class Aws:
    """Clients for one region, created once per process and shared."""

    def __init__(
        self,
        region: str,
        max_attempts: int | None = None,
        read_timeout: float | None = None,
        *,
        credentials: Any = None,
        confined_to: frozenset[str] | None = None,
    ) -> None:
        """Clients that read the process's environment (credentials, endpoints, CA bundle, proxies, ENVTEST_AWS_*),
        through botocore's own session and chain, as any boto3 user's.

        `credentials`: botocore credentials to use instead of the chain's (a role assumed in another account,
        refreshed as they expire: gather/other_account.py); `confined_to`: the only operations its clients may
        call, on top of the read-only guard (aws_guard.confine).
        """
        self.region = region
        # botocore's session, as boto3.session.Session wraps it: boto3 would add its resources and S3 transfer
        # methods, which no read here uses, and importing it costs every process 0.08 s before its first call
        # (the s3transfer package); selftests/test_command_imports.py holds the product to botocore.
        self._session = botocore.session.Session()
        self._session.register_component("data_loader", _shared_loader(self._session))
        if credentials is not None:
            self._session.register_component("credential_provider", _given(credentials))
        self._config = client_config(os.environ)
        if max_attempts is not None:
            self._config = self._config.merge(Config(retries={"mode": "adaptive", "max_attempts": max_attempts}))
        if read_timeout is not None:
            self._config = self._config.merge(Config(read_timeout=read_timeout))
        self._events = self._session.get_component("event_emitter")
        # Before the clients are built: each client copies the session's hooks when it is made.
        if confined_to is not None:  # first: its refusal says why this session may not
            aws_guard.confine(
                self._events,
                confined_to,
                "this session was assumed in another account to read what iam/envtest-gitlab-account.json grants "
                "there, and nothing else",
            )
        aws_guard.install(self._events)
        self._events.register_first("before-call.*.*", _before_call)
        aws_calls.register_recorders(self._events)
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def on(self, event: str, handler: Any) -> None:
        """A hook on the session's events, ahead of botocore's own, for the clients made after it (make it before
        the first client)."""
        self._events.register_first(event, handler)

    def client(self, service: str) -> Any:
        # A client already built is handed out without the lock: a thread whose client exists (the host reads'
        # SSM looks) must not queue behind another thread building a large one (IAM's, EC2's), which holds
        # the lock for 0.05 to 0.2 s under the GIL (seen: SSM's first look 0.4 s late behind the plan's builds).
        # A dict's get is atomic, and an entry is stored only once its client is whole.
        built = self._clients.get(service)
        if built is not None:
            return built
        # One lock for the builds: a botocore session is not safe to build clients from in two threads at once.
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._session.create_client(
                    service, region_name=self.region, config=self._config
                )
            return self._clients[service]


class _GivenCredentials(CredentialProvider):
    METHOD = "assume-role"

    def __init__(self, credentials: Any) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> Any:
        return self._credentials


def _given(credentials: Any) -> CredentialResolver:
    """A credential chain of one link: the credentials given (botocore's CredentialResolver, its public shape)."""
    return CredentialResolver(providers=[_GivenCredentials(credentials)])


def not_an_aws_answer(exc: BaseException) -> bool:
    """botocore's parser broke on the answer (a KeyError on an HTML page, say): it was not AWS that answered."""
    if isinstance(exc, botocore.parsers.ResponseParserError):
        return True
    if isinstance(exc, (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)):
        return False
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and frames[-1].filename.replace("\\", "/").endswith("botocore/parsers.py")


def describe_aws_error(exc: BaseException, what: str) -> CouldNotEvaluate:
    """Turn a botocore failure into a one-line cause a person can act on."""
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return CouldNotEvaluate(
            f"{what}: no AWS credentials found. Run under `aws-vault exec <profile> -- "
            "./run_tests.sh <env>` or on a host with an instance role."
        )
    if isinstance(exc, (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError)):
        trip(f"the AWS endpoint did not answer ({what})")
        return CouldNotEvaluate(f"{what}: the AWS endpoint did not answer ({exc}).")
    if isinstance(exc, botocore.exceptions.ReadTimeoutError):
        trip(f"the AWS endpoint stopped answering ({what})")
        return CouldNotEvaluate(f"{what}: the AWS endpoint stopped answering ({exc}).")
    if isinstance(exc, botocore.exceptions.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = exc.response.get("Error", {}).get("Code", "") or f"HTTP {status}"
        message = exc.response.get("Error", {}).get("Message", "") or "(no message)"
        if code in CREDENTIAL_ERROR_CODES:
            return CouldNotEvaluate(
                f"{what}: AWS rejected the credentials ({code}). If your aws-vault session "
                "expired, renew it: `aws-vault exec <profile> -- ./run_tests.sh <env>`."
            )
        return CouldNotEvaluate(f"{what}: AWS answered {code}: {message}")
    if isinstance(exc, botocore.parsers.ResponseParserError) or not_an_aws_answer(exc):
        said = " ".join(str(exc).split())[:160]
        return CouldNotEvaluate(
            f"{what}: the endpoint answered, but not as AWS does ({said}). Check AWS_ENDPOINT_URL (a sandbox's "
            "env.sh whose sandbox is gone?) and any proxy that intercepts the connection."
        )
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return CouldNotEvaluate(f"{what}: {exc}")
    return CouldNotEvaluate(f"{what}: {type(exc).__name__}: {exc}")
