"""The live S3 matrix's script and its output: each operation authorised, refused, or a clear error."""

from __future__ import annotations

import pytest

from envtest.errors import CouldNotEvaluate
from envtest.fixtures.s3_live_script import parse_live, probe_script, put_command


def test_each_operation_is_authorised_or_refused() -> None:
    out = "\n".join(
        [
            "op=head rc=0 ",
            "op=get rc=254 An error occurred (AccessDenied) when calling the GetObject operation",
            "op=put rc=254 An error occurred (PreconditionFailed) when calling the PutObject operation",
            "op=delete rc=254 An error occurred (403) when calling the DeleteObject operation: Forbidden",
        ]
    )
    results = parse_live(out, ["head", "get", "put", "delete"])
    # A 412 on the conditional put: S3 authorised it and the condition stopped it, nothing written.
    assert {op: authorised for op, (authorised, _) in results.items()} == {
        "head": True,
        "get": False,
        "put": True,
        "delete": False,
    }


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("op=get rc=255 Could not connect to the endpoint URL", "neither succeeded nor was refused"),
        ("op=head rc=0 ", r"no result for \['get'\]"),
    ],
)
def test_an_unclear_answer_is_an_error(out: str, message: str) -> None:
    with pytest.raises(CouldNotEvaluate, match=message):
        parse_live(out, ["head", "get"])


def test_a_put_the_role_must_not_make_is_conditional_on_an_existing_object() -> None:
    refused = probe_script("b", target="k", put_refused=True, delete_key="d")
    assert "put-object --bucket b --key k --body /etc/hostname --if-none-match '*'" in refused
    assert "op=put" not in probe_script("b", target="k", put_refused=False, delete_key="d")


def test_a_put_the_role_may_make_writes_only_where_nothing_is() -> None:
    """A probe a write-once bucket kept from an earlier run answers 412 (authorised) and gains no version."""
    assert put_command("b", "envtest-access-probe/idp").count("--if-none-match '*'") == 1
