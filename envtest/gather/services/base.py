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


# The largest page each list the suite pages through may ask for (service, operation) -> items, from the AWS API
# reference as botocore's models carry it (the limit member's max, or its documentation where the model has no max;
# selftests/test_page_sizes.py holds each to it). Asked for, a list of a few hundred groups is one call, not the
# default page's several: each page waits on the one before (its NextToken). AWS may answer fewer.
LARGEST_PAGE = {
    ("ec2", "describe_security_groups"): 1000,
    ("ec2", "describe_route_tables"): 100,
    ("ec2", "describe_vpc_endpoints"): 1000,  # no max in the model; its text: "greater than 1,000, we return 1,000"
    ("ec2", "describe_network_interfaces"): 1000,
    ("autoscaling", "describe_auto_scaling_groups"): 100,  # "The default value is 50 and the maximum value is 100"
    ("logs", "describe_metric_filters"): 50,
    ("ecr", "list_images"): 1000,
    ("iam", "simulate_principal_policy"): 1000,
}
# A request that names what it wants by id, name or ARN asks for no page size: AWS refuses some of these beside one
# (EC2's InstanceIds with MaxResults), and a named lookup is no list to page through.
_NAMING = ("Ids", "Names", "Arns")


def largest_pages(service: str, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """paginate()'s PaginationConfig asking for the largest page, when the list has one and names nothing."""
    size = LARGEST_PAGE.get((service, operation))
    if size is None or any(key.endswith(_NAMING) for key in params):
        return {}
    return {"PaginationConfig": {"PageSize": size}}


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
            pages = paginator.paginate(**params, **largest_pages(service, operation, params))
            return [item for page in pages for item in page[result_key]]

        return call(what, pages)
