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
from typing import Any, Generic, TypeVar, overload

from envtest.errors import UsageError
from envtest.policy import sections
from envtest.policy.egress import ALLOW_KEYS
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


# Tables whose keys are data (a pool, a bucket, a header, a check's name), not the policy's own words: any key
# may appear in them, and its value only is checked against the type of default.toml's values there.
OPEN_TABLES = frozenset(
    {
        "runner.tag_values",
        "hosts.asg",
        "hosts.secret_files",
        "egress.cidr_sets",
        "s3_access.role_names",
        "s3_access.buckets",
        "s3_access.matrix",
        "edge.error_page_headers",
        "edge.security_headers",
        "severity.areas",
        "severity.checks",
    }
)
# Arrays of tables, and the words their entries may use (default.toml's entries need not show every one).
ARRAY_WORDS = {"egress.allow": ALLOW_KEYS}
# Keys read by their own parser, which names a wrong entry itself ([[waivers]]: envtest/policy/waivers.py).
OWN_PARSER = frozenset({"waivers"})
# Keys default.toml leaves unset on purpose (unset is "could not evaluate", which no default value can say), with a
# value of the kind a layer must give: default.toml's comment at the table says what each one is.
UNSET_IN_DEFAULT: dict[str, Any] = {"lockdown.env_accounts": []}
# Keys the policy no longer takes, and what to write instead: a run that finds one stops and says so.
RETIRED = {
    # A command from policy ran verbatim as root on the hosts (issue 21, shell from data); a URL is all it may choose.
    "log_pipeline.filebeat_command": "commands are no longer taken from the policy; give filebeat_stats_url instead",
    "log_pipeline.logstash_command": "commands are no longer taken from the policy; give logstash_stats_url instead",
}


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"


def line_of(text: str, dotted: str) -> int | None:
    """The first line of a TOML file that sets `dotted` (a.b.c) or the table or inline value that holds it."""
    parts = dotted.split(".")
    table: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        header = re.match(r"\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$", line)
        if header:
            table = [part.strip().strip("\"'") for part in header.group(1).split(".")]
            if table == parts:
                return number
            continue
        key = re.match(r"""("[^"]*"|'[^']*'|[A-Za-z0-9_\-]+(?:\s*\.\s*[A-Za-z0-9_\-]+)*)\s*=""", line)
        if key:
            written = key.group(1)
            words = table + ([written[1:-1]] if written[0] in "\"'" else [w.strip() for w in written.split(".")])
            if words == parts[: len(words)] or words[: len(parts)] == parts:
                return number
    return None


def _where(path: Path, dotted: str) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return str(path)
    entry = re.match(r"(.+?)\[(\d+)\]\.?(.*)\Z", dotted)
    if entry:
        # The n-th [[array]] entry: its header, then the key within it.
        array, index, rest = entry.group(1), int(entry.group(2)), entry.group(3)
        lines = text.splitlines()
        headers = [n for n, line in enumerate(lines) if re.match(rf"\[\[\s*{re.escape(array)}\s*\]\]", line.strip())]
        if index >= len(headers):
            return str(path)
        start = headers[index]
        stop = next((n for n in range(start + 1, len(lines)) if lines[n].lstrip().startswith("[")), len(lines))
        inner = line_of("\n".join(lines[start + 1 : stop]), rest) if rest else None
        return f"{path}:{start + 1 + (inner or 0)}"
    number = line_of(text, dotted)
    return f"{path}:{number}" if number else str(path)


def check_keys(schema: dict[str, Any], layer: dict[str, Any], path: Path, prefix: str = "") -> None:
    """Every key of a layer above default.toml must be one default.toml has, with a value of the same kind.

    A misspelt key would otherwise be merged silently and the check it was meant for would run on the default:
    a UsageError (exit 2) naming the file, the line and the key, with the keys the table does have.
    """
    for key, value in layer.items():
        dotted = f"{prefix}{key}"
        if not prefix and key in OWN_PARSER:
            continue
        if dotted in RETIRED:
            raise UsageError(f"{_where(path, dotted)}: policy key {dotted!r}: {RETIRED[dotted]}")
        if key not in schema and dotted in UNSET_IN_DEFAULT:
            if _kind(value) != _kind(UNSET_IN_DEFAULT[dotted]):
                raise UsageError(
                    f"{_where(path, dotted)}: {dotted} is {_kind(value)}; it must be {_kind(UNSET_IN_DEFAULT[dotted])}"
                )
            continue
        if key not in schema:
            if prefix.rstrip(".") in OPEN_TABLES:
                kinds = {_kind(v) for v in schema.values()}
                if kinds and _kind(value) not in kinds:
                    raise UsageError(
                        f"{_where(path, dotted)}: {dotted} is {_kind(value)}; this table's values are "
                        f"{' or '.join(sorted(kinds))} (policy/default.toml)"
                    )
                continue
            known = ", ".join(sorted(schema)) or "none"
            raise UsageError(
                f"{_where(path, dotted)}: unknown policy key {dotted!r} (a misspelling?): "
                f"{'[' + prefix.rstrip('.') + '] has' if prefix else 'the top level has'}: {known}"
            )
        expected = schema[key]
        if expected is not None and _kind(value) != _kind(expected):
            raise UsageError(
                f"{_where(path, dotted)}: {dotted} is {_kind(value)}; policy/default.toml has it as {_kind(expected)}"
            )
        if isinstance(value, dict):
            check_keys(expected, value, path, f"{dotted}.")
        elif isinstance(value, list) and expected and all(isinstance(item, dict) for item in expected):
            # An array of tables ([[egress.allow]]): each entry uses the words default.toml's entries use.
            words: dict[str, Any] = {word: None for word in ARRAY_WORDS.get(dotted, ())}
            for item in expected:
                words.update(item)
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    check_keys(words, item, path, f"{dotted}[{index}].")


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


S = TypeVar("S")


class TypedSection(Generic[S]):
    """policy.<key>: the policy's [<key>] table as a frozen dataclass of sections.py, built on the first read and
    kept; a missing key or a value of another type cannot be evaluated, and the message names the key."""

    def __init__(self, cls: type[S]) -> None:
        self.cls = cls
        self.key = ""

    def __set_name__(self, owner: type, key: str) -> None:
        self.key = key

    @overload
    def __get__(self, policy: None, owner: type | None = None) -> TypedSection[S]: ...
    @overload
    def __get__(self, policy: Policy, owner: type | None = None) -> S: ...
    def __get__(self, policy: Policy | None, owner: type | None = None) -> S | TypedSection[S]:
        if policy is None:
            return self
        built = sections.typed(self.cls, policy.section(self.key), f"[{self.key}]")
        policy.__dict__[self.key] = built  # read from the instance from now on (the descriptor is not a data one)
        return built


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

    # The typed sections (envtest/policy/sections.py), each built once, when first read.
    names = TypedSection(sections.Names)
    runner = TypedSection(sections.Runner)
    token = TypedSection(sections.Token)
    images = TypedSection(sections.Images)
    docker_daemon = TypedSection(sections.DockerDaemon)
    endpoints = TypedSection(sections.Endpoints)
    proxy = TypedSection(sections.Proxy)
    edge = TypedSection(sections.Edge)
    cloud_init = TypedSection(sections.CloudInit)
    redis = TypedSection(sections.Redis)
    dnssec = TypedSection(sections.Dnssec)
    metric_filters = TypedSection(sections.MetricFilters)
    lockdown = TypedSection(sections.Lockdown)
    network = TypedSection(sections.Network)
    instances = TypedSection(sections.Instances)
    log_pipeline = TypedSection(sections.LogPipeline)
    recycle = TypedSection(sections.Recycle)
    s3_access = TypedSection(sections.S3Access)


TYPED_SECTIONS = tuple(key for key, value in vars(Policy).items() if isinstance(value, TypedSection))


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
    schema = layers[0][1]
    for path, layer in layers[1:]:
        check_keys(schema, {k: v for k, v in layer.items() if k != "revision"}, path)
    data: dict[str, Any] = {}
    for _, layer in layers:
        data = merge(data, {k: v for k, v in layer.items() if k != "revision"})
    policy = Policy(data=data, env=env, sources=tuple(str(path) for path, _ in layers), revision=revision)
    _build_typed_sections(policy, layers)
    return policy


def _build_typed_sections(policy: Policy, layers: list[tuple[Path, dict[str, Any]]]) -> None:
    """Every typed section the policy has, built now: a value its type does not take (`env_accounts = [123]`,
    `health_attempts = 3.0`) stops the run (exit 2) naming the file and line that set it. check_keys compares kinds
    with default.toml; this compares with sections.py's types, which are stricter (an array's items, int vs float).
    Built later, the same value would make every check that reads the section "could not evaluate"."""
    for key in TYPED_SECTIONS:
        if key not in policy.data:
            continue  # a policy directory without the section (a self-test's): its readers report it
        try:
            getattr(policy, key)
        except sections.MissingKey:
            continue  # a partial default.toml (a self-test's): the section's readers report what it lacks
        except sections.WrongValue as exc:
            path = next((path for path, layer in reversed(layers) if _sets(layer, exc.key)), layers[0][0])
            raise UsageError(f"{_where(path, exc.key)}: {exc}") from None


def _sets(layer: dict[str, Any], dotted: str) -> bool:
    """Whether a policy file sets `dotted` (a.b.c) or an array or value that holds it."""
    node: Any = layer
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
        if not isinstance(node, dict):
            return True
    return True


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
