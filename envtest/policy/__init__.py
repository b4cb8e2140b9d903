"""Expected state as data: policy/default.toml merged with policy/envs/<env>.toml."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envtest.errors import UsageError
from envtest.settings import ENV_NAME_RE

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
    except UnicodeDecodeError as exc:  # TOML is UTF-8 (its specification); a Latin-1 edit is a usage error
        raise UsageError(
            f"policy file {path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}): "
            "save it as UTF-8"
        ) from None
    except OSError as exc:
        raise UsageError(f"policy file {path} cannot be read: {exc.strerror}") from None


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
    if not ENV_NAME_RE.match(env):
        # The name becomes a path: `-e ../../x` would load any TOML file (the images tool takes -e as given).
        raise UsageError(f"environment name {env!r} is not a valid env name (lower-case letters, digits and '-')")
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
