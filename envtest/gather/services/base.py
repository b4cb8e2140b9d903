"""What every service's reader shares: one AWS read turned into a value or a cause, pages joined, answers cached."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import botocore.exceptions

from envtest.gather.aws import Aws, AwsError, describe_aws_error, not_an_aws_answer
from envtest.gather.cache import cached

T = TypeVar("T")


def _code(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


NOT_FOUND = frozenset({"404", "NotFound", "NoSuchKey", "NoSuchBucket", "RepositoryNotFoundException"})
ABSENT: Any = object()  # what `call` returns when AWS says the thing is not there


def call(what: str, fn: Callable[[], T], absent: frozenset[str] = frozenset()) -> T:
    """Run one AWS read: ABSENT for the not-found codes given, CouldNotEvaluate (with `what`) for any failure."""
    try:
        return fn()
    except botocore.exceptions.ClientError as exc:
        if _code(exc) in absent:
            return ABSENT  # type: ignore[no-any-return]
        raise describe_aws_error(exc, what) from exc
    except AwsError as exc:
        raise describe_aws_error(exc, what) from exc
    except Exception as exc:
        if not_an_aws_answer(exc):
            raise describe_aws_error(exc, what) from exc
        raise


def tags_of(resource: Mapping[str, Any]) -> dict[str, str]:
    """A resource's Tags list ([{"Key", "Value"}], as EC2 and Auto Scaling answer) as a dict."""
    return {t["Key"]: t.get("Value", "") for t in resource.get("Tags", [])}


class Reader:
    """The base of every service's reader: an AWS session and the run's cache."""

    def __init__(self, aws: Aws, run_dir: Path | None) -> None:
        self.aws = aws
        self.run_dir = run_dir

    def _cached(self, key: str, fetch: Any) -> Any:
        return cached(self.run_dir, f"{self.aws.region}:{key}", fetch)

    def _describe_all(self, service: str, operation: str, result_key: str, what: str, **params: Any) -> list[Any]:
        """Every page of a Describe/List call, joined."""

        def pages() -> list[Any]:
            paginator = self.aws.client(service).get_paginator(operation)
            return [item for page in paginator.paginate(**params) for item in page[result_key]]

        return call(what, pages)
