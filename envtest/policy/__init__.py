"""Expected state as data: policy/default.toml, then the env's revision, then policy/envs/<env>.toml, then an override.

A revision (policy/revisions/<name>.toml) is one coherent set of defaults read from one commit of login.gov's
code, each value with its path:line at that commit: an env's policy names the revision it runs (`revision =
"<name>"`, in envs/<env>.toml or the override; default.toml names the default), so a healthy env of any date
passes, where defaults from several years side by side would fail every one of them.
"""

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


REVISION_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,40}\Z")
COMMIT = re.compile(r"[0-9a-f]{40}\Z")


@dataclass(frozen=True)
class Revision:
    """Which commit of login.gov's code the defaults were read from, and what does not exist at it."""

    name: str
    commit: str
    date: str
    summary: str
    # check name (as --list prints it) -> why it has nothing to check at this commit
    not_applicable: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        return f"{self.name} (18F/identity-pki {self.commit[:12]}, {self.date})"


@dataclass(frozen=True)
class Policy:
    data: dict[str, Any]
    env: str
    sources: tuple[str, ...]
    revision: Revision | None = None

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


def _revision(directory: Path, name: object, named_in: str) -> tuple[dict[str, Any], Revision, Path]:
    if not isinstance(name, str) or not REVISION_NAME.match(name):
        raise UsageError(f"{named_in}: revision = {name!r} is not a revision name (lower-case letters, digits, '-')")
    path = directory / "revisions" / f"{name}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in (directory / "revisions").glob("*.toml"))
        raise UsageError(f"{named_in}: no revision {name!r} ({path} is missing); known: {', '.join(known) or 'none'}")
    data = _load_toml(path)
    head = data.pop("revision", None)
    if not isinstance(head, dict):
        raise UsageError(f"revision file {path} has no [revision] table")
    skipped = head.get("not_applicable", {})
    facts = {k: head.get(k) for k in ("name", "commit", "date", "summary")}
    problems = []
    if facts["name"] != name:
        problems.append(f"name = {facts['name']!r}, not {name!r}")
    if not (isinstance(facts["commit"], str) and COMMIT.match(facts["commit"])):
        problems.append("commit is not 40 hex digits")
    if not isinstance(facts["date"], str):
        problems.append("date is missing")
    if not (isinstance(skipped, dict) and all(isinstance(v, str) for v in skipped.values())):
        problems.append("[revision.not_applicable] maps check names to reasons")
    if problems:
        raise UsageError(f"revision file {path}: {'; '.join(problems)}")
    revision = Revision(
        name, str(facts["commit"]), str(facts["date"]), str(facts["summary"] or ""), tuple(sorted(skipped.items()))
    )
    return data, revision, path


def load_policy(env: str, policy_dir: Path | None = None, override: Path | None = None) -> Policy:
    """default.toml, the revision it or the env names, envs/<env>.toml, then an override file (the sandbox's)."""
    if not ENV_NAME_RE.match(env):
        # The name becomes a path: `-e ../../x` would load any TOML file (the images tool takes -e as given).
        raise UsageError(f"environment name {env!r} is not a valid env name (lower-case letters, digits and '-')")
    directory = policy_dir or DEFAULT_POLICY_DIR
    default = directory / "default.toml"
    if not default.is_file():
        raise UsageError(f"policy file {default} is missing")
    layers = [(default, _load_toml(default))]
    env_file = directory / "envs" / f"{env}.toml"
    if env_file.is_file():
        layers.append((env_file, _load_toml(env_file)))
    if override is not None:
        if not override.is_file():
            raise UsageError(f"policy override {override} is missing")
        layers.append((override, _load_toml(override)))
    # The last layer that names a revision decides which; the revision goes just above default.toml, so that
    # an env's own file and the override still win over it.
    named = [(path, layer["revision"]) for path, layer in layers if "revision" in layer]
    revision = None
    if named:
        revision_data, revision, revision_path = _revision(directory, named[-1][1], str(named[-1][0]))
        layers.insert(1, (revision_path, revision_data))
    data: dict[str, Any] = {}
    for _, layer in layers:
        data = merge(data, {k: v for k, v in layer.items() if k != "revision"})
    return Policy(data=data, env=env, sources=tuple(str(path) for path, _ in layers), revision=revision)


def known_revisions(policy_dir: Path | None = None) -> list[Revision]:
    """Every revision under policy/revisions/, by date (a file that does not say what it is: a UsageError)."""
    directory = policy_dir or DEFAULT_POLICY_DIR
    found = [_revision(directory, path.stem, str(path))[1] for path in (directory / "revisions").glob("*.toml")]
    return sorted(found, key=lambda r: (r.date, r.name))


def default_revision(policy_dir: Path | None = None) -> str | None:
    """The revision policy/default.toml names: the one an env runs unless its own policy names another."""
    directory = policy_dir or DEFAULT_POLICY_DIR
    name = _load_toml(directory / "default.toml").get("revision")
    return str(name) if name else None
