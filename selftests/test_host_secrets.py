"""Secrets in host files are masked on the host: SSM's stored output of a run holds no token.

The masking program is run here by the same awk a host runs (Debian's and Ubuntu's mawk); the sandbox test
reads back every command output the sandbox's SSM stored, decoding every compressed frame in it, and looks for
the runner token and any long piece of it.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import re
import subprocess
import tomllib
import zlib
from pathlib import Path

import boto3
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from envtest.hosts.frames import file_read
from envtest.hosts.masking import mask_locally
from envtest.parsers import runner_config
from envtest_double.running import Sandbox
from selftests.conftest import run_suite

CONFIG_KEYS = ("token", "AccessKey", "SecretKey", "SessionToken", "PrivateKey", "AccountKey")
# Written the way `gitlab-runner register` writes it (gitlab-runner's advanced-configuration docs' sections).
REGISTERED = """concurrent = 1
check_interval = 0

[session_server]
  session_timeout = 1800

[[runners]]
  name = "dev-env-runner"
  url = "https://gitlab.dev.example.gov/"
  id = 42
  token = "{token}"
  token_obtained_at = 2024-01-02T03:04:05Z
  token_expires_at = 0001-01-01T00:00:00Z
  executor = "docker"
  environment = ["MY_ENV=dev", "MY_ENV_dev=dev"]
  [runners.cache]
    [runners.cache.s3]
      AccessKey = "{access}"
      SecretKey = "{secret}"
  [runners.docker]
    image = "alpine:3.18"
    privileged = false
    allowed_services = [""]
"""


def _mask(text: str, keys: tuple[str, ...] = CONFIG_KEYS) -> str:
    return mask_locally(text.encode(), keys).decode()


def test_the_token_and_cache_keys_are_masked_and_the_file_still_parses() -> None:
    token, access = "glrt-Tq9_z3Ab.Kd8-PLmN0", "AKIAIOSFODNN7EXAMPLE"
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    masked = _mask(REGISTERED.format(token=token, access=access, secret=secret))
    for value in (token, access, secret, "Tq9_z3Ab", "bPxRfiCY"):
        assert value not in masked
    parsed = tomllib.loads(masked)
    runner = parsed["runners"][0]
    assert runner["token"] == "xxxx-xxx_xxxx.xxx-xxxxx"  # its length and separators: its shape
    assert len(runner["token"]) == len(token)
    assert runner["cache"]["s3"]["SecretKey"] == "x" * len(secret)
    # What is not a secret is untouched: the checks read it.
    assert runner["url"] == "https://gitlab.dev.example.gov/"
    assert runner["docker"]["allowed_services"] == [""]
    assert runner["environment"] == ["MY_ENV=dev", "MY_ENV_dev=dev"]
    config = runner_config.parse(masked)
    assert config.runners[0].token_masked and config.runners[0].token_length == len(token)


@pytest.mark.parametrize(
    "line",
    [
        'token = "SECRETVALUE1"',
        '"token" = "SECRETVALUE1"',
        "token = 'SECRETVALUE1'",
        '  token="SECRETVALUE1" # a comment',
        'runners.cache.s3.SecretKey = "SECRETVALUE1"',
        'x = { name = "a", token = "SECRETVALUE1" }',
        'environment = ["A=b", "token=SECRETVALUE1"]',
        'token = "SECRET\\"VALUE1"',
        'token = "SECRETVALUE1"\r',
    ],
)
def test_every_way_toml_writes_a_key_is_masked(line: str) -> None:
    masked = _mask(f"[[runners]]\n{line}\n")
    assert "SECRET" not in masked and "VALUE1" not in masked, masked


def test_a_multi_line_secret_is_masked_to_its_end_and_the_next_key_is_not() -> None:
    masked = _mask('token = """\nSECRETVALUE1\nMORESECRET"""\nname = "kept"\n')
    assert "SECRET" not in masked
    assert tomllib.loads(masked)["name"] == "kept"


def test_a_file_marked_secret_whole_keeps_only_its_shape() -> None:
    masked = _mask("line one 123\nsecond-line\n", ("*",))
    assert masked == "xxxx xxx xxx\nxxxxxx-xxxx\n"


def test_a_runner_config_read_masks_on_the_host_not_here() -> None:
    """The read's command itself runs the mask: what SSM prints (and stores) is already masked."""
    read = file_read("env-runner", "/etc/gitlab-runner/config.toml", secret_keys=CONFIG_KEYS)
    assert "awk" in read.command and "cat --" not in read.command


def test_the_read_command_masks_as_the_host_runs_it(tmp_path: Path) -> None:
    path = tmp_path / "it's config.toml"  # a quote in the path: the command quotes it
    path.write_text(REGISTERED.format(token="glrt-HostSideSecret99", access="A", secret="B"))
    read = file_read("env-runner", str(path), secret_keys=CONFIG_KEYS)
    done = subprocess.run(["sh", "-c", read.command], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "HostSideSecret" not in done.stdout and 'token = "xxxx-xxxxxxxxxxxxxxxx"' in done.stdout


def test_an_unmasked_token_is_noticed_by_the_parser() -> None:
    config = runner_config.parse('concurrent = 1\n[[runners]]\ntoken = "glrt-notmasked1"\n')
    assert not config.runners[0].token_masked


TOKEN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWYZabcdefghijklmnopqrstuvwyz0123456789_-."  # no x: the mask's own letter


@settings(max_examples=60, deadline=None)
@given(
    token=st.text(alphabet=TOKEN_CHARS, min_size=8, max_size=64),
    key=st.sampled_from(CONFIG_KEYS),
    indent=st.sampled_from(["", "  ", "\t"]),
    quote=st.sampled_from(['"', "'"]),
)
@example(token="0000name", key="token", indent="", quote='"')  # a piece that is also the next line's key
def test_no_piece_of_a_secret_survives(token: str, key: str, indent: str, quote: str) -> None:
    original = f'[[runners]]\n{indent}{key} = {quote}{token}{quote}\nname = "n"\n'
    masked = _mask(original)
    # The secret's own line carries no piece of it; every other line is left as it was (a piece such
    # as "name" may well appear in the file's other lines, and should).
    secret_line = masked.splitlines()[1]
    pieces = {token[i : i + 4] for i in range(len(token) - 3)}
    alnum_pieces = {p for p in pieces if any(c.isalnum() for c in p)}
    assert not [p for p in alnum_pieces if p in secret_line.split("=", 1)[1]], masked
    others = [line for i, line in enumerate(masked.splitlines()) if i != 1]
    assert others == [line for i, line in enumerate(original.splitlines()) if i != 1]
    assert len(tomllib.loads(masked)["runners"][0][key]) == len(token)


# ---- SSM's stored output of a sandbox run -----------------------------------------------------------------


def _decoded(text: str) -> list[str]:
    """`text` and every gzip-compressed base64 run in it, decoded: what anyone reading SSM's output can recover."""
    found = [text]
    for run in re.findall(r"[A-Za-z0-9+/=]{16,}", text):
        for start in (0, 1):  # a frame's field carries a one-letter prefix (`z`) before its base64
            try:
                data = base64.b64decode(run[start:], validate=True)
                found.append(gzip.decompress(data).decode("utf-8", "replace"))
            except (binascii.Error, OSError, EOFError, zlib.error, ValueError):
                continue
    return found


def _stored_outputs(sandbox: Sandbox) -> list[str]:
    """Every output the sandbox's SSM keeps, as GetCommandInvocation and ListCommandInvocations give it."""
    ssm = boto3.client(
        "ssm",
        endpoint_url=sandbox.front_endpoint,
        region_name="us-west-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    texts = []
    listed = ssm.list_command_invocations(Details=True)["CommandInvocations"]
    for item in listed:
        texts += [p.get("Output", "") for p in item.get("CommandPlugins", [])]
        answer = ssm.get_command_invocation(CommandId=item["CommandId"], InstanceId=item["InstanceId"])
        texts += [answer["StandardOutputContent"], answer["StandardErrorContent"]]
    return [plain for text in texts for plain in _decoded(text)]


def test_the_scan_decodes_what_a_frame_hides() -> None:
    """The control for the test below: a token inside a framed, compressed field is found."""
    hidden = "z" + base64.b64encode(gzip.compress(b'token = "glrt-canaryRunTokabc123"')).decode()
    assert any("glrt-canaryRunTokabc123" in plain for plain in _decoded(f"@envtest-item 0 0 {hidden} z"))


@pytest.mark.sandbox
def test_ssm_keeps_no_runner_token_from_a_default_run(
    sandbox: Sandbox, sandbox_env: dict[str, str], tmp_path: Path
) -> None:
    run = run_suite(["sandbox"], sandbox_env, tmp_path)
    assert run.exit_code == 0, run.stdout + run.stderr
    plain = _stored_outputs(sandbox)
    token = sandbox.canaries.runner_token
    secret_part = token.removeprefix("glrt-")
    pieces = {secret_part[i : i + 8] for i in range(len(secret_part) - 7)}
    leaked = len({p for p in pieces for text in plain if p in text})  # a count: the failure shows no piece
    assert leaked == 0, f"{leaked} pieces of the runner token are in SSM's stored output"
    # The read happened through SSM, and the scan saw it decoded: the masked file is there.
    assert any('token = "xxxx-' in p for p in plain), "config.toml was not read through SSM in this run"
