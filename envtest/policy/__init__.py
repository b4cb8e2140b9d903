"""Expected state as data: policy/default.toml merged with policy/envs/<env>.toml."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envtest.errors import UsageError

DEFAULT_POLICY_DIR = Path(__file__).resolve().parents[2] / "policy"


def fill(template: str, values: dict[str, str]) -> str:
    """Replace {name} for the names given; any other brace is left as written."""
    return re.sub(r"\{([a-z_]+)\}", lambda m: values.get(m.group(1), m.group(0)), template)


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; any other value in `override` replaces the base."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"policy file {path} is not valid TOML: {exc}") from exc


@dataclass(frozen=True)
class Policy:
    data: dict[str, Any]
    env: str
    sources: tuple[str, ...]

    def name(self, key: str, *, account: str, region: str) -> str:
        """A resource name from [names], with {env}, {account}, {region} filled in."""
        template = self.data["names"][key]
        return template.format(env=self.env, account=account, region=region)

    @property
    def account_id(self) -> str | None:
        value = self.data.get("account_id")
        return str(value) if value else None

    def section(self, key: str) -> dict[str, Any]:
        return self.data.get(key, {})


def load_policy(env: str, policy_dir: Path | None = None, override: Path | None = None) -> Policy:
    """default.toml, then envs/<env>.toml, then an override file (the sandbox writes one)."""
    directory = policy_dir or DEFAULT_POLICY_DIR
    default = directory / "default.toml"
    if not default.is_file():
        raise UsageError(f"policy file {default} is missing")
    data = _load_toml(default)
    sources = [str(default)]
    env_file = directory / "envs" / f"{env}.toml"
    if env_file.is_file():
        data = merge(data, _load_toml(env_file))
        sources.append(str(env_file))
    if override is not None:
        if not override.is_file():
            raise UsageError(f"policy override {override} is missing")
        data = merge(data, _load_toml(override))
        sources.append(str(override))
    return Policy(data=data, env=env, sources=tuple(sources))
