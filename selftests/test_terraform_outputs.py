"""Terraform outputs from each source, with sensitive values kept out of sight."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envtest.errors import CouldNotEvaluate
from envtest.gather.terraform import load_outputs, parse_outputs_json, parse_state
from envtest.redact import Secret, redact

OUTPUTS = {
    "env_name": {"value": "dev", "type": "string"},
    "db_password": {"value": "hunter2-very-secret", "type": "string", "sensitive": True},
}


def test_outputs_json_wraps_sensitive_values() -> None:
    outputs = parse_outputs_json(json.dumps(OUTPUTS), "out.json")
    assert outputs.get("env_name") == "dev"
    secret = outputs.get("db_password")
    assert isinstance(secret, Secret)
    assert "hunter2" not in f"{secret} {secret!r} {outputs}"
    assert redact("leaked hunter2-very-secret here") == "leaked <redacted:terraform output db_password> here"


def test_state_file_outputs_are_read_with_tftest() -> None:
    state = {"version": 4, "outputs": OUTPUTS, "resources": []}
    outputs = parse_state(json.dumps(state), "s3://b/k")
    assert outputs.names() == ["db_password", "env_name"]
    assert outputs.sensitive == frozenset({"db_password"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not JSON"),
        ("[]", "not a terraform state file"),
        ('{"version": 3, "outputs": {}}', "state format version 3"),
        ('{"version": 4, "outputs": {"x": 1}}', "output 'x' has no value field"),
        ('{"version": 4, "outputs": []}', "'outputs' is not an object"),
    ],
)
def test_bad_state_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(CouldNotEvaluate, match=message):
        parse_state(text, "s3://b/k")


@given(st.binary(max_size=300))
def test_hostile_state_bytes_end_in_outputs_or_a_clear_error(data: bytes) -> None:
    try:
        outputs = parse_state(data, "fuzz")
    except CouldNotEvaluate as exc:
        assert str(exc).startswith("fuzz")
    else:
        assert isinstance(outputs.names(), list)


def test_missing_state_object_names_where_it_looked() -> None:
    with pytest.raises(CouldNotEvaluate, match="s3://bucket/key does not exist"):
        load_outputs(
            tf_dir=None,
            tf_binary="terraform",
            outputs_json=None,
            state_location=("bucket", "key"),
            read_object=lambda b, k: None,
        )


def test_outputs_file_source_is_preferred_to_the_state(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    path.write_text(json.dumps(OUTPUTS))
    outputs = load_outputs(
        tf_dir=None,
        tf_binary="terraform",
        outputs_json=path,
        state_location=("b", "k"),
        read_object=lambda b, k: pytest.fail("the state must not be read"),
    )
    assert outputs.source == str(path)


@pytest.mark.skipif(shutil.which("terraform") is None, reason="no terraform binary on this machine")
def test_outputs_from_a_terraform_directory_through_tftest(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'output "env_name" { value = "dev" }\n'
        'output "token" {\n  value = "s3cr3t-from-terraform"\n  sensitive = true\n}\n'
    )
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "TF_IN_AUTOMATION": "1",
        "CHECKPOINT_DISABLE": "1",
        "HOME": str(tmp_path),
    }
    for command in (["terraform", "init", "-input=false"], ["terraform", "apply", "-auto-approve", "-input=false"]):
        subprocess.run(command, cwd=tmp_path, env=env, check=True, capture_output=True, timeout=120)
    outputs = load_outputs(
        tf_dir=tmp_path,
        tf_binary="terraform",
        outputs_json=None,
        state_location=("b", "k"),
        read_object=lambda b, k: None,
    )
    assert outputs.get("env_name") == "dev"
    assert isinstance(outputs.get("token"), Secret)


def test_a_missing_terraform_binary_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CouldNotEvaluate, match="no terraform binary"):
        load_outputs(
            tf_dir=tmp_path,
            tf_binary="no-such-terraform",
            outputs_json=None,
            state_location=("b", "k"),
            read_object=lambda b, k: None,
        )
