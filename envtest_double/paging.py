"""The sandbox answers the suite's lists in small pages, as AWS may, so every read is proven to follow NextToken.

AWS decides how many items a page holds (a List or Describe call answers with NextToken while more remain);
a suite that reads the first page only works until an account grows. moto answers everything in one page unless
asked for less, so the sandbox asks for less on the suite's behalf: to each request of an operation botocore
knows as paginated, it sets the operation's limit key (MaxResults, MaxRecords, maxResults, ...) to the sandbox's
page size, raised to the smallest value the API accepts (the model's `min`: EC2's DescribeSecurityGroups takes no
fewer than 5); a request that asks for fewer keeps its own, and one that asks for more (the suite asks for AWS's
largest page, gather/services/base.py) gets the sandbox's, as AWS may answer fewer than asked. It leaves a request
alone that names what it wants by id or name (AWS refuses InstanceIds with MaxResults), and any request not signed
with the suite's access key id: the sandbox's own seeding and fault clients sign with another and read whole lists.

Where moto answers a list whole even so (EC2's DescribeSecurityGroups, DescribeVpcEndpoints, CloudWatch Logs'
DescribeMetricFilters in moto 5.2), the sandbox cuts the answer into pages itself: it returns the first items with
a token of its own (`envtest-page-<offset>`), and when the suite sends that token back it asks moto for the whole
list again and answers the next page. The list and the token are found by botocore's model of the operation (its
paginator's result_key and output_token, their names on the wire), for the EC2, query and JSON protocols.

ENVTEST_SANDBOX_PAGE_SIZE sets the size (default 5: a few items, as the API minimums allow; 0 turns paging off).
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode
from xml.etree import ElementTree

import botocore.session

from envtest_double.latency import operation_of

# The access key id the sandbox hands the suite (DIR/env.sh); the double's own clients sign with "testing".
SUITE_KEY_ID = "envtest-sandbox-run"
DEFAULT_PAGE_SIZE = 5
_KEY_ID = re.compile(r"Credential=([^/,\s]+)/")
# A query-protocol parameter that names what is wanted (InstanceId.1, AutoScalingGroupNames.member.1): AWS refuses
# some of these beside a page size, and a named lookup is not a list the suite pages through.
_NAMED = re.compile(r"(Id|Ids|Name|Names)(\.member)?\.\d+$")


# botocore's service names for a signing name where they differ (every other service the sandbox serves signs
# with its own name). Listed, not discovered: loading every service model to find them takes seconds.
SERVICES_BY_SIGNING_NAME = {"elasticloadbalancing": ["elbv2", "elb"], "monitoring": ["cloudwatch"]}


def _services(signing_name: str) -> list[str]:
    return SERVICES_BY_SIGNING_NAME.get(signing_name, [signing_name])


# The services the suite lists from; their models loaded when the server starts, not on the suite's first call.
SERVED = ("ec2", "autoscaling", "elbv2", "elasticache", "iam", "logs", "ecr", "ssm")


@functools.cache
def _session() -> botocore.session.Session:
    """The one botocore session whose loader keeps the models once loaded. A session of their own each, warm(),
    limit_for and _cut_for each loaded EC2's model again: 4 s of the server's CPU on a run's first lists."""
    return botocore.session.get_session()


def warm() -> None:
    """Load the served services' models and paginators in a background thread (about a second for EC2's)."""

    def load() -> None:
        session = _session()
        for name in SERVED:
            session.get_service_model(name)
            session.get_paginator_model(name)

    threading.Thread(target=load, name="paging-warm", daemon=True).start()


@functools.cache
def limit_for(service: str, operation: str, api_version: str | None = None) -> tuple[str, int] | None:
    """(limit key, its minimum) of a paginated operation of the service a request was signed for, else None."""
    session = _session()
    for name in _services(service):
        model = session.get_service_model(name)
        if api_version and model.api_version != api_version:
            continue  # elb and elbv2 share a signing name; the request's Version tells them apart
        try:
            config = session.get_paginator_model(name).get_paginator(operation)
        except (ValueError, KeyError, botocore.exceptions.UnknownServiceError):
            continue
        key = config.get("limit_key")
        if not isinstance(key, str):
            continue
        member = model.operation_model(operation).input_shape.members.get(key)
        minimum = int((member.metadata if member is not None else {}).get("min", 1))
        return key, minimum
    return None


def _operation(environ: dict[str, Any], body: bytes) -> tuple[str, str, str]:
    headers = {"Authorization": environ.get("HTTP_AUTHORIZATION", ""), "X-Amz-Target": environ.get("HTTP_X_AMZ_TARGET")}
    return operation_of(environ.get("REQUEST_METHOD", "POST"), "", headers, body).partition(":")


def _key_id(environ: dict[str, Any]) -> str | None:
    match = _KEY_ID.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    return match.group(1) if match else None


# The running server's page size: ENVTEST_SANDBOX_PAGE_SIZE at its start, else the default; a self-test changes it
# on a running sandbox through CONTROL_PATH (Sandbox.set_page_size), to compare paged and whole answers.
_size = [int(os.environ.get("ENVTEST_SANDBOX_PAGE_SIZE", str(DEFAULT_PAGE_SIZE)))]
CONTROL_PATH = "/moto-api/envtest/page-size"


def page_size() -> int:
    return _size[0]


def set_page_size(size: int) -> None:
    _size[0] = max(0, int(size))


def signed_by_the_suite(environ: dict[str, Any]) -> bool:
    return _key_id(environ) == SUITE_KEY_ID


def with_limit(environ: dict[str, Any], body: bytes, page_size: int) -> bytes:
    """The request's body with the page size added, or unchanged when it is not a list the suite pages through."""
    if page_size <= 0:
        return body
    service, _, operation = _operation(environ, body)
    if environ.get("HTTP_X_AMZ_TARGET"):  # JSON protocols
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return body
        found = limit_for(service, operation)
        if not found or not isinstance(request, dict):
            return body
        if any(k.endswith(("Ids", "Names")) and isinstance(v, list) for k, v in request.items()):
            return body
        request[found[0]] = _smaller(request.get(found[0]), max(page_size, found[1]))
        return json.dumps(request).encode()
    if b"Action=" not in body:  # REST protocols (S3): left whole
        return body
    form = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    fields = dict(form)
    found = limit_for(service, operation, fields.get("Version"))
    if not found or any(_NAMED.search(k) for k in fields):
        return body
    limit = _smaller(fields.get(found[0]), max(page_size, found[1]))
    return urlencode([*[(k, v) for k, v in form if k != found[0]], (found[0], str(limit))]).encode()


def _smaller(asked: Any, size: int) -> Any:
    """The page the sandbox answers: the suite's own limit when it asked for fewer, else the sandbox's size. AWS
    may answer fewer than asked ("A response can contain fewer items than the value specified", Auto Scaling's
    MaxRecords), so a suite asking for AWS's largest page still meets the sandbox's small ones."""
    try:
        return asked if asked is not None and int(asked) <= size else size
    except (TypeError, ValueError):
        return asked  # not a number: AWS refuses it, and so does moto


OWN_TOKEN = "envtest-page-"


@dataclass(frozen=True)
class _Cut:
    """Where a paginated operation's list and next token are, on the wire."""

    protocol: str  # "ec2", "query" or "json"
    operation: str
    input_token: str
    list_name: str  # the list's element (XML) or key (JSON)
    token_name: str  # the output token's element or key


@functools.cache
def _cut_for(service: str, operation: str, api_version: str | None) -> _Cut | None:
    session = _session()
    for name in _services(service):
        model = session.get_service_model(name)
        if (api_version and model.api_version != api_version) or model.protocol not in {"ec2", "query", "json"}:
            continue
        try:
            config = session.get_paginator_model(name).get_paginator(operation)
        except (ValueError, KeyError):
            continue
        keys = [config.get(k) for k in ("input_token", "output_token", "result_key")]
        if not all(isinstance(k, str) and "." not in k for k in keys):
            continue  # several tokens or nested results: left whole
        input_token, output_token, result_key = (str(k) for k in keys)
        output = model.operation_model(operation).output_shape
        if output is None or result_key not in output.members or output_token not in output.members:
            continue
        wire = {k: output.members[k].serialization.get("name", k) for k in (result_key, output_token)}
        return _Cut(model.protocol, operation, input_token, wire[result_key], wire[output_token])
    return None


def _request_fields(environ: dict[str, Any], body: bytes) -> tuple[dict[str, str], Any]:
    if environ.get("HTTP_X_AMZ_TARGET"):
        try:
            return {}, json.loads(body or b"{}")
        except ValueError:
            return {}, None
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)), None


def _without_own_token(cut: _Cut, environ: dict[str, Any], body: bytes) -> tuple[bytes, int | None]:
    """The request without a token the sandbox gave (moto would refuse it), and the offset it stood for."""
    form, document = _request_fields(environ, body)
    if document is not None:
        token = document.get(cut.input_token) if isinstance(document, dict) else None
        if isinstance(token, str) and token.startswith(OWN_TOKEN):
            del document[cut.input_token]
            return json.dumps(document).encode(), int(token.removeprefix(OWN_TOKEN))
        return body, None
    token = form.get(cut.input_token, "")
    if token.startswith(OWN_TOKEN):
        kept = [(k, v) for k, v in parse_qsl(body.decode(), keep_blank_values=True) if k != cut.input_token]
        return urlencode(kept).encode(), int(token.removeprefix(OWN_TOKEN))
    return body, None


def _cut_answer(cut: _Cut, answer: bytes, offset: int, size: int) -> bytes:
    """The page at `offset` of a whole answer, with the sandbox's token when more remain; the answer unchanged if
    moto paged it itself (it holds a token) or it fits one page."""
    if cut.protocol == "json":
        document = json.loads(answer)
        items = document.get(cut.list_name)
        if not isinstance(items, list) or document.get(cut.token_name) or (offset == 0 and len(items) <= size):
            return answer
        document[cut.list_name] = items[offset : offset + size]
        if offset + size < len(items):
            document[cut.token_name] = f"{OWN_TOKEN}{offset + size}"
        return json.dumps(document).encode()
    root = ElementTree.fromstring(answer)
    namespace = root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""
    holder = root if cut.protocol == "ec2" else root.find(f"{namespace}{cut.operation}Result")
    if holder is None:
        return answer
    listed = holder.find(f"{namespace}{cut.list_name}")
    token = holder.find(f"{namespace}{cut.token_name}")
    if listed is None or (token is not None and (token.text or "").strip()):
        return answer
    items = list(listed)
    if offset == 0 and len(items) <= size:
        return answer
    for item in items:
        listed.remove(item)
    listed.extend(items[offset : offset + size])
    if offset + size < len(items):
        if token is None:
            token = ElementTree.SubElement(holder, f"{namespace}{cut.token_name}")
        token.text = f"{OWN_TOKEN}{offset + size}"
    if namespace:
        ElementTree.register_namespace("", namespace.strip("{}"))
    return ElementTree.tostring(root, xml_declaration=True, encoding="utf-8")


def paged(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """The WSGI app, with the suite's list requests answered page_size() items a page."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == CONTROL_PATH:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            if environ.get("REQUEST_METHOD") == "POST":
                set_page_size(int(environ["wsgi.input"].read(length) or b"0"))
            answer = str(page_size()).encode()
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(answer)))])
            return [answer]
        size = page_size()
        if size <= 0 or environ.get("REQUEST_METHOD") != "POST" or not signed_by_the_suite(environ):
            return app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            "Authorization": environ.get("HTTP_AUTHORIZATION", ""),
            "X-Amz-Target": environ.get("HTTP_X_AMZ_TARGET"),
        }
        service, _, operation = operation_of("POST", "", headers, body).partition(":")
        cut = _cut_for(service, operation, _request_fields(environ, body)[0].get("Version"))
        offset = None
        if cut is not None:
            body, offset = _without_own_token(cut, environ, body)
        if offset is None:
            body = with_limit(environ, body, size)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        if cut is None:
            return app(environ, start_response)
        kept: dict[str, Any] = {}

        def remember(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept.update(status=status, headers=response_headers)
            return lambda data: None

        answer = b"".join(app(environ, remember))
        if str(kept.get("status", "")).startswith("200"):
            with contextlib.suppress(ValueError, ElementTree.ParseError):  # else as moto gave it
                answer = _cut_answer(cut, answer, offset or 0, size)
        response_headers = [(k, v) for k, v in kept.get("headers", []) if k.lower() != "content-length"]
        start_response(
            kept.get("status", "500 Internal Server Error"), [*response_headers, ("Content-Length", str(len(answer)))]
        )
        return [answer]

    return wrapped
