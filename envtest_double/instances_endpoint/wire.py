"""What every emulated service shares: the error a service answers with, and the request formats' helpers."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """An error a service answers with: AWS's error code and message. The router writes it in the service's own
    protocol (SSM's JSON `__type`, IAM's query-XML `<Code>`)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def as_list(value: Any) -> list[Any]:
    """A policy element that may be one value or a list of them."""
    return value if isinstance(value, list) else [value]


def member_index(key: str) -> int:
    """The position of a query-protocol list member (`ActionNames.member.3` -> 3)."""
    tail = key.rsplit(".", 1)[-1]
    return int(tail) if tail.isdigit() else 0
