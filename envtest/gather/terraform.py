"""Terraform outputs from three sources behind one interface.

- a terraform binary and the env's root module directory (tftest's
  `TerraformTest(...).output()`);
- a file written by `terraform output -json`;
- the env's state object in S3, parsed with tftest's `TerraformState`.

Sensitive outputs come back wrapped in `Secret` (printing it shows a marker)
and their values are registered for redaction. Outputs hold secrets, so they
are memoised per process only, never written to the shared cache.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tftest

from envtest.errors import CouldNotEvaluate
from envtest.gather.cache import cached
from envtest.redact import Secret, register

# Stands for a sensitive value that was not kept (outputs shared between processes drop them).
WITHHELD = "<withheld: sensitive outputs are not shared between processes>"


@dataclass(frozen=True, repr=False)
class TerraformOutputs:
    source: str
    _values: Mapping[str, Any]
    sensitive: frozenset[str]

    def __repr__(self) -> str:
        # Never the values: a sensitive one would leak through any repr of this object.
        return f"TerraformOutputs(source={self.source!r}, names={self.names()!r}, sensitive={sorted(self.sensitive)!r})"

    def names(self) -> list[str]:
        return sorted(self._values)

    def get(self, name: str, default: Any = None) -> Any:
        """The output's value; a sensitive one comes back as a Secret."""
        if name not in self._values:
            return default
        value = self._values[name]
        return Secret(value, f"terraform output {name}") if name in self.sensitive else value

    def shareable(self) -> dict[str, Any]:
        """A JSON form for the run's cache: sensitive values are left out, only their names kept."""
        return {
            "source": self.source,
            "values": {k: v for k, v in self._values.items() if k not in self.sensitive},
            "sensitive": sorted(self.sensitive),
        }

    @classmethod
    def from_shared(cls, data: Mapping[str, Any]) -> TerraformOutputs:
        values = dict(data["values"])
        for name in data["sensitive"]:
            values[name] = WITHHELD
        return cls(source=data["source"], _values=values, sensitive=frozenset(data["sensitive"]))

    def require(self, name: str) -> Any:
        if name not in self._values:
            raise CouldNotEvaluate(
                f"terraform output {name!r} is not in {self.source} "
                f"(outputs there: {', '.join(self.names()) or 'none'})"
            )
        return self.get(name)


def _check_entries(raw: Mapping[str, Any], source: str) -> None:
    """Outputs as terraform writes them: {name: {"value": ..., "sensitive": bool, ...}}."""
    for name, entry in raw.items():
        if not isinstance(entry, Mapping) or "value" not in entry:
            raise CouldNotEvaluate(f"{source}: output {name!r} has no value field")


def _from_value_dict(values: tftest.TerraformValueDict, source: str) -> TerraformOutputs:
    """tftest's wrapper: indexing gives the value, `.sensitive` names the sensitive outputs."""
    plain = {str(name): values[name] for name in values}
    sensitive = frozenset(str(name) for name in values.sensitive)
    for name in sensitive:
        value = plain[name]
        register(value if isinstance(value, str) else json.dumps(value), f"terraform output {name}")
    return TerraformOutputs(source=source, _values=plain, sensitive=sensitive)


def parse_outputs_json(text: str | bytes, source: str) -> TerraformOutputs:
    """Parse `terraform output -json`: {name: {"value", "type", "sensitive"}}."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CouldNotEvaluate(f"{source} is not JSON: {exc.__class__.__name__} at {exc}") from None
    if not isinstance(data, dict):
        raise CouldNotEvaluate(f"{source} is not a JSON object of outputs")
    _check_entries(data, source)
    return _from_value_dict(tftest.TerraformValueDict(data), source)


def parse_state(text: str | bytes, source: str) -> TerraformOutputs:
    """Parse a terraform state file (format version 4) with tftest's TerraformState."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CouldNotEvaluate(f"{source} is not JSON: {exc.__class__.__name__} at {exc}") from None
    if not isinstance(data, dict) or "version" not in data:
        raise CouldNotEvaluate(f"{source} is not a terraform state file (no 'version' field)")
    if data.get("version") != 4:
        raise CouldNotEvaluate(f"{source}: state format version {data.get('version')!r}, expected 4")
    outputs = data.get("outputs", {})
    if not isinstance(outputs, dict):
        raise CouldNotEvaluate(f"{source}: 'outputs' is not an object")
    _check_entries(outputs, source)
    return _from_value_dict(tftest.TerraformState(data).outputs, source)


def from_terraform_dir(tf_dir: Path, binary: str, environ: Mapping[str, str] | None = None) -> TerraformOutputs:
    """`terraform output -json` in tf_dir, run with `environ` (the run's: its PATH, AWS_* and TF_*), else the
    process's."""
    environ = os.environ if environ is None else environ
    if shutil.which(binary, path=environ.get("PATH", os.defpath)) is None:
        raise CouldNotEvaluate(f"TF_DIR is {tf_dir} but no terraform binary {binary!r} is on PATH")
    if not tf_dir.is_dir():
        raise CouldNotEvaluate(f"TF_DIR {tf_dir} is not a directory")
    test = tftest.TerraformTest(str(tf_dir), binary=binary)
    test.env = {k: v for k, v in environ.items() if k != "TF_LOG"}  # tftest starts from os.environ, so: replaced
    try:
        values = test.output()
    except tftest.TerraformTestError as exc:
        raise CouldNotEvaluate(f"`terraform output -json` failed in {tf_dir}: {exc}") from None
    if not isinstance(values, tftest.TerraformValueDict):
        raise CouldNotEvaluate(f"`terraform output -json` in {tf_dir} did not print JSON")
    return _from_value_dict(values, f"terraform output in {tf_dir}")


def load_outputs_once(run_dir: Path | None, **sources: Any) -> TerraformOutputs:
    """load_outputs, read once per run: the preflight's read serves every check and worker."""
    key = "terraform.outputs:" + json.dumps(
        {k: str(v) for k, v in sources.items() if k not in ("read_object", "environ")}, sort_keys=True
    )
    return TerraformOutputs.from_shared(cached(run_dir, key, lambda: load_outputs(**sources).shareable()))


def load_outputs(
    *,
    tf_dir: Path | None,
    tf_binary: str,
    outputs_json: Path | None,
    state_location: tuple[str, str],
    read_object: Callable[[str, str], bytes | None],
    environ: Mapping[str, str] | None = None,
) -> TerraformOutputs:
    """Pick the source: terraform dir, then outputs file, then the S3 state object."""
    if tf_dir is not None:
        return from_terraform_dir(tf_dir, tf_binary, environ)
    if outputs_json is not None:
        try:
            text = outputs_json.read_bytes()
        except OSError as exc:
            raise CouldNotEvaluate(f"TF_OUTPUTS_JSON {outputs_json}: {exc.strerror}") from None
        return parse_outputs_json(text, str(outputs_json))
    bucket, key = state_location
    body = read_object(bucket, key)
    if body is None:
        raise CouldNotEvaluate(
            f"terraform state s3://{bucket}/{key} does not exist. Set TF_STATE_BUCKET/TF_STATE_KEY, "
            "TF_OUTPUTS_JSON (a `terraform output -json` file) or TF_DIR to point at the env's outputs."
        )
    return parse_state(body, f"s3://{bucket}/{key}")
