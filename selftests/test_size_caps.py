"""Reads of outside data are bounded: an S3 object or an HTTP body past its cap is an error that says so, never a
read of gigabytes, and never a verdict on a part of it."""

from __future__ import annotations

import io
from http.server import BaseHTTPRequestHandler

import pytest
from botocore.response import StreamingBody

from envtest.errors import CouldNotEvaluate
from envtest.gather import http
from envtest.gather.inventory import Inventory
from selftests.conftest import loopback_server, stub


def _object(data: bytes, declared: int | None = None) -> dict[str, object]:
    """GetObject's answer (S3 API reference): the body as a stream, and its ContentLength."""
    length = len(data) if declared is None else declared
    return {"Body": StreamingBody(io.BytesIO(data), len(data)), "ContentLength": length}


def test_a_secret_object_past_its_cap_is_not_read(inventory: Inventory) -> None:
    """A token is tens of bytes; a 'secret' of 100 kB would be registered and looked for in every output. The
    length S3 declares is not trusted either: the reading stops past the cap."""
    s3 = stub(inventory, "s3")
    s3.add_response("get_object", _object(b"x" * 100_000, declared=10), {"Bucket": "b", "Key": "token"})
    with pytest.raises(CouldNotEvaluate, match=r"s3://b/token is larger than the 65,536-byte cap"):
        inventory.secret_object_facts("b", "token", "runner token", r"\S+")
    s3.assert_no_pending_responses()


def test_an_object_declared_past_its_cap_is_refused_before_its_body_is_read(inventory: Inventory) -> None:
    s3 = stub(inventory, "s3")
    s3.add_response("get_object", _object(b"{}", declared=5 * 1024**3), {"Bucket": "b", "Key": "state"})
    with pytest.raises(CouldNotEvaluate, match=r"s3://b/state is 5,368,709,120 bytes, larger than the"):
        inventory.object_bytes("b", "state")
    s3.assert_no_pending_responses()


def test_an_object_within_its_cap_is_read_whole(inventory: Inventory) -> None:
    s3 = stub(inventory, "s3")
    s3.add_response("get_object", _object(b"glrt-" + b"a" * 30), {"Bucket": "b", "Key": "token"})
    facts = inventory.secret_object_facts("b", "token", "runner token", r"glrt-\w+")
    assert (facts.exists, facts.size, facts.matches_pattern) == (True, 35, True)


def _serving(body: bytes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def test_an_http_body_past_its_cap_is_an_error_not_a_verdict() -> None:
    huge = loopback_server(_serving(b"<p>" + b"a" * (http.BODY_LIMIT + 10)))
    with huge as url, pytest.raises(CouldNotEvaluate, match=r"GET http://.*: the body is larger than 1,000,000 bytes"):
        http.get_with_retry(url, lambda answer: True, attempts=1, sleep=0)


def test_an_http_body_within_its_cap_is_read_whole() -> None:
    page = "<p>caf\u00e9</p>" * 1000
    with loopback_server(_serving(page.encode())) as url:
        outcome = http.get_with_retry(url, lambda answer: answer.body == page, attempts=1, sleep=0)
    assert outcome.valid and outcome.last is not None and outcome.last.status == 200


# ---- host files ---------------------------------------------------------------------------------------------


def _bomb(size: int) -> bytes:
    import gzip

    return gzip.compress(b"\0" * size, 9)  # about a thousandth of its inflated size


def test_a_gzip_bomb_in_a_host_read_frame_is_refused() -> None:
    import base64

    from envtest.hosts.frames import HOST_DATA_LIMIT, parse_frames

    field = "z" + base64.b64encode(_bomb(HOST_DATA_LIMIT + 1)).decode()
    answer = f"@envtest-begin n 1\n@envtest-item 0 0 {field} z{base64.b64encode(_bomb(0)).decode()}\n@envtest-end n"
    with pytest.raises(ValueError, match="inflates past the suite's limit of 16 MiB"):
        parse_frames(answer, 1, "n")


def test_a_host_file_past_the_limit_is_refused_before_it_is_read_whole(tmp_path: pytest.TempPathFactory) -> None:
    from pathlib import Path

    from envtest.hosts.frames import HOST_DATA_LIMIT
    from envtest.hosts.transports import LocalRoot

    root = Path(str(tmp_path))
    with (root / "big").open("wb") as big:  # sparse: no 16 MiB written to the disk
        big.truncate(HOST_DATA_LIMIT + 1)
    (root / "small").write_bytes(b"fine")
    host = LocalRoot(root, name="env-runner")
    assert host.read_file("/small") == b"fine"
    with pytest.raises(CouldNotEvaluate, match="larger than the suite's limit of 16 MiB"):
        host.read_file("/big")


def test_a_host_file_too_large_compressed_is_refused_before_its_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    from envtest.hosts import transports as hosts

    asked: list[str] = []

    def run(self: hosts.Ssm, command: str, timeout: float = 60.0, *, writes: bool = False) -> hosts.CommandResult:
        asked.append(command)
        return hosts.CommandResult(self.instance_id, command, 0, f"{hosts.COMPRESSED_LIMIT + 1} abc\n", "")

    monkeypatch.setattr(hosts.Ssm, "run", run)
    with pytest.raises(CouldNotEvaluate, match="the suite reads at most 1024 KiB of one host file"):
        hosts.Ssm(None, "i-0123456789abcdef0").read_file("/var/log/huge.log")  # type: ignore[arg-type]
    assert len(asked) == 1  # no chunk was asked for
