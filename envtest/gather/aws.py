"""The one place that makes AWS clients.

Clients come from the standard credential chain (aws-vault's exported
variables, an instance role) and honour the standard AWS_ENDPOINT_URL, so the
sandbox and a real account take the same code path. Every client carries:

- adaptive retries and bounded timeouts, so throttling is absorbed and a dead
  endpoint fails in seconds, not minutes;
- the read-only guard, which refuses any operation that is not a read unless
  the running test is disruptive and disruptive tests were switched on;
- a call counter, reported at the end of the run.
"""

from __future__ import annotations

import json
import os
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import botocore.parsers
from botocore.config import Config

from envtest.errors import CouldNotEvaluate, ReadOnlyViolation

READ_PREFIXES = ("Describe", "Get", "List", "Head", "Lookup", "Search", "BatchGet", "Simulate")
# Operations not named like reads that change no AWS resource. TestMetricFilter evaluates a pattern on lines
# given in the call (CloudWatch Logs API reference) and stores nothing.
READ_EXCEPTIONS = frozenset({"sts:GetCallerIdentity", "logs:TestMetricFilter"})
CLIENT_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": int(os.environ.get("ENVTEST_AWS_MAX_ATTEMPTS", "8"))},
    connect_timeout=float(os.environ.get("ENVTEST_AWS_CONNECT_TIMEOUT", "5")),
    read_timeout=float(os.environ.get("ENVTEST_AWS_READ_TIMEOUT", "20")),
)
# Written to the run directory when the endpoint stops answering: every process
# of the run then fails fast instead of waiting out its own timeouts.
ENDPOINT_DOWN = "endpoint-down"
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


class _Guard(threading.local):
    writes_allowed = False
    reason = "this run is read-only"
    # SendCommand runs any command on an instance. It is allowed only while the
    # gather layer sends a command it declared as a read (gather/ssm.py).
    ssm_commands = False


_guard = _Guard()
_calls: Counter[str] = Counter()
_calls_lock = threading.Lock()
# "s3:<Operation> arn:aws:s3:::<bucket>[/<key>]": what the IAM policy's S3 resources must cover.
_s3_resources: set[str] = set()


def is_read(service: str, operation: str) -> bool:
    return operation.startswith(READ_PREFIXES) or f"{service}:{operation}" in READ_EXCEPTIONS


@contextmanager
def writes_allowed(allowed: bool, reason: str) -> Iterator[None]:
    """Within this block, non-read calls are allowed when `allowed` is true."""
    previous = (_guard.writes_allowed, _guard.reason)
    _guard.writes_allowed, _guard.reason = allowed, reason
    try:
        yield
    finally:
        _guard.writes_allowed, _guard.reason = previous


def writes_are_allowed() -> bool:
    """True inside a disruptive test of a run with disruptive tests switched on."""
    return _guard.writes_allowed


@contextmanager
def ssm_commands() -> Iterator[None]:
    """Within this block, ssm:SendCommand is allowed: the gather layer sends a command it checked."""
    previous = _guard.ssm_commands
    _guard.ssm_commands = True
    try:
        yield
    finally:
        _guard.ssm_commands = previous


def _run_dir() -> Path | None:
    value = os.environ.get("ENVTEST_RUN_DIR")
    return Path(value) if value else None


def endpoint_down_reason(run_dir: Path | None = None) -> str | None:
    """Why the endpoint was declared down in this run, if it was."""
    if _breaker.reason:
        return _breaker.reason
    directory = run_dir or _run_dir()
    marker = directory / ENDPOINT_DOWN if directory else None
    if marker and marker.exists():
        return marker.read_text() or "the AWS endpoint stopped answering"
    return None


def _trip(reason: str) -> None:
    _breaker.reason = reason
    directory = _run_dir()
    if directory:
        (directory / ENDPOINT_DOWN).write_text(reason)


class _Breaker:
    reason: str | None = None


_breaker = _Breaker()


def _before_call(model: Any, **_: Any) -> None:
    service = model.service_model.service_name
    operation = model.name
    down = endpoint_down_reason()
    if down:
        raise CouldNotEvaluate(f"{service}:{operation} not tried: {down} earlier in this run")
    with _calls_lock:
        _calls[f"{service}:{operation}"] += 1
    permitted = _guard.writes_allowed or (_guard.ssm_commands and f"{service}:{operation}" == "ssm:SendCommand")
    if not is_read(service, operation) and not permitted:
        raise ReadOnlyViolation(
            f"read-only guard refused {service}:{operation}: {_guard.reason}. "
            "Only tests marked disruptive may change AWS, and only when run with -R true."
        )


_api_seconds = [0.0]


def _s3_resource(model: Any, params: dict[str, Any], **_: Any) -> None:
    """Record the bucket (and key) an S3 call names, as the resource IAM evaluates."""
    bucket, key = params.get("Bucket"), params.get("Key")
    if bucket:
        with _calls_lock:
            _s3_resources.add(f"s3:{model.name} arn:aws:s3:::{bucket}" + (f"/{key}" if key else ""))


_api_seconds_by_operation: Counter[str] = Counter()


def _started(model: Any, context: dict[str, Any], **_: Any) -> None:
    context["envtest_started"] = time.monotonic()
    context["envtest_operation"] = f"{model.service_model.service_name}:{model.name}"


def _finished(context: dict[str, Any], **_: Any) -> None:
    started = context.get("envtest_started")
    if started is not None:
        seconds = time.monotonic() - started
        with _calls_lock:
            _api_seconds[0] += seconds
            _api_seconds_by_operation[str(context.get("envtest_operation"))] += seconds


def api_calls() -> dict[str, int]:
    with _calls_lock:
        return dict(_calls)


def write_call_count(run_dir: Path | None) -> None:
    """Leave this process's call counts (and seconds spent waiting on AWS) where the command line sums them."""
    if run_dir is None:
        return
    out = run_dir / "api-calls"
    out.mkdir(parents=True, exist_ok=True)
    with _calls_lock:
        record = {
            "calls": dict(_calls),
            "seconds": _api_seconds[0],
            "by_operation": dict(_api_seconds_by_operation),
            "s3_resources": sorted(_s3_resources),
        }
    (out / f"{os.getpid()}.json").write_text(json.dumps(record))


def read_call_counts(run_dir: Path) -> Counter[str]:
    total: Counter[str] = Counter()
    for path in sorted((run_dir / "api-calls").glob("*.json")):
        total.update(json.loads(path.read_text())["calls"])
    return total


def read_s3_resources(run_dir: Path) -> list[str]:
    """Every "s3:<Operation> <resource ARN>" the run's processes called."""
    found: set[str] = set()
    for path in sorted((run_dir / "api-calls").glob("*.json")):
        found.update(json.loads(path.read_text()).get("s3_resources", []))
    return sorted(found)


def read_api_seconds(run_dir: Path) -> float:
    """Seconds the run's processes spent inside AWS calls, added up (calls in parallel threads each count)."""
    return sum(json.loads(p.read_text())["seconds"] for p in (run_dir / "api-calls").glob("*.json"))


def read_api_seconds_by_operation(run_dir: Path) -> dict[str, float]:
    """Seconds spent in each operation, added up over the run: what calibrates a latency model."""
    total: Counter[str] = Counter()
    for path in sorted((run_dir / "api-calls").glob("*.json")):
        for operation, seconds in json.loads(path.read_text()).get("by_operation", {}).items():
            total[operation] += seconds
    return dict(total)


class Aws:
    """Clients for one region, created once per process and shared."""

    def __init__(self, region: str, max_attempts: int | None = None, read_timeout: float | None = None) -> None:
        self.region = region
        self._config = CLIENT_CONFIG
        if max_attempts is not None:
            self._config = self._config.merge(Config(retries={"mode": "adaptive", "max_attempts": max_attempts}))
        if read_timeout is not None:
            self._config = self._config.merge(Config(read_timeout=read_timeout))
        self._session = boto3.session.Session(region_name=region)
        # First, so nothing that answers a call early (a Stubber, a cache) can slip past the guard.
        self._session.events.register_first("before-call.*.*", _before_call)
        self._session.events.register("before-call.*.*", _started)
        self._session.events.register("after-call.*.*", _finished)
        self._session.events.register("after-call-error.*.*", _finished)
        self._session.events.register("before-parameter-build.s3.*", _s3_resource)
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        # One lock for all: a boto3 session is not safe to build clients from in two threads at once.
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._session.client(service, config=self._config)
            return self._clients[service]


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
        _trip(f"the AWS endpoint did not answer ({what})")
        return CouldNotEvaluate(f"{what}: the AWS endpoint did not answer ({exc}).")
    if isinstance(exc, botocore.exceptions.ReadTimeoutError):
        _trip(f"the AWS endpoint stopped answering ({what})")
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
