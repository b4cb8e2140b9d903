"""The Docker daemon's configuration as dockerd takes it: the flags of its systemd unit's ExecStart, over
/etc/docker/daemon.json.

login.gov's runner recipe configures dockerd through the docker cookbook's `docker_service`, which writes each
property as a flag on ExecStart of /etc/systemd/system/docker.service; nothing of theirs writes daemon.json. So
both are read, as dockerd would:
- systemd: in [Service], an empty `ExecStart=` resets the list; more than one command is refused outside
  Type=oneshot; a leading `-@:+!` is a prefix, not the program; a line ending in `\\` continues; `$VAR` is the
  unit's environment, which the suite does not resolve (it says so);
- pflag: `--name=value`, `--name value` (not for a bool), `-H value`, `-Hvalue`, `-H=value`, bool shorthands
  grouped (`-DH value`); bools read as Go's strconv.ParseBool; an argument that is no flag's value stops dockerd;
- dockerd: a directive given both as a flag and in daemon.json stops it ("the following directives are
  specified both as a flag and in the configuration file"); a value of the wrong JSON type stops it; a host
  without a scheme is TCP.

Pure: `daemon_config` never raises; what stops dockerd is in `problems`, what the suite cannot read in `unknown`.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# The directives the checks ask about, with dockerd's defaults (dockerd --help; docs "dockerd").
DEFAULTS: dict[str, Any] = {
    "icc": True,
    "userns-remap": "",
    "no-new-privileges": False,
    "live-restore": False,
    "hosts": ["unix:///var/run/docker.sock"],
}
TYPES: dict[str, type] = {
    "icc": bool,
    "userns-remap": str,
    "no-new-privileges": bool,
    "live-restore": bool,
    "hosts": list,
}
# dockerd's bool flags (a following argument is never their value).
BOOL_FLAGS = {
    "debug", "icc", "ip-forward", "ip-masq", "iptables", "ip6tables", "ipv6", "live-restore", "no-new-privileges",
    "selinux-enabled", "tls", "tlsverify", "userland-proxy", "experimental", "raw-logs", "init", "help", "version",
    "disable-legacy-registry", "validate", "rootless", "ip-forward-no-drop",
}  # fmt: skip
SHORT_BOOL = {"D": "debug", "v": "version", "h": "help"}
SHORT_VALUE = {"H": "host", "G": "group", "l": "log-level", "p": "pidfile", "b": "bridge", "s": "storage-driver"}
# A repeatable flag's name in daemon.json (dockerd's NamedOption names): what a conflict is found by.
FILE_NAMES = {
    "host": "hosts", "label": "labels", "dns-opt": "dns-opts", "exec-opt": "exec-opts", "storage-opt": "storage-opts",
    "log-opt": "log-opts", "insecure-registry": "insecure-registries", "registry-mirror": "registry-mirrors",
    "default-ulimit": "default-ulimits", "add-runtime": "runtimes", "authorization-plugin": "authorization-plugins",
    "cluster-store-opt": "cluster-store-opts", "node-generic-resource": "node-generic-resources",
    "default-address-pool": "default-address-pools",
}  # fmt: skip
REPEATED = set(FILE_NAMES)
# Flags that must have a value (so a missing one is said, not guessed).
VALUE_FLAGS = {"host", "userns-remap", "config-file", *SHORT_VALUE.values()}
_TRUE, _FALSE = {"1", "t", "T", "TRUE", "true", "True"}, {"0", "f", "F", "FALSE", "false", "False"}
_VARIABLE = re.compile(r"\$(\w+|\{\w+\})")
_PREFIXES = "-@:+!"


@dataclass(frozen=True)
class DaemonConfig:
    flags: dict[str, Any]  # daemon.json's name -> value, from ExecStart (every flag, ours typed)
    flag_text: dict[str, str]  # daemon.json's name -> the flag as written
    file: dict[str, Any]  # daemon.json (absent: empty)
    problems: tuple[str, ...] = ()  # what stops dockerd
    unknown: tuple[str, ...] = ()  # what the suite cannot read
    config_file: str | None = None  # --config-file, when the unit names one

    def setting(self, directive: str) -> tuple[Any, str]:
        """(value, where it comes from): the flag, else daemon.json, else dockerd's default."""
        if directive in self.flags:
            return self.flags[directive], f"flag {self.flag_text[directive]}"
        if directive in self.file:
            return self.file[directive], "daemon.json"
        return DEFAULTS.get(directive), "dockerd's default"

    def tcp_hosts(self) -> list[tuple[str, str]]:
        """Every TCP socket named, with where: a flag and daemon.json both (dockerd would refuse; both are named)."""
        named = [(h, f"flag -H {h}") for h in _strings(self.flags.get("hosts"))]
        named += [(h, "daemon.json") for h in _strings(self.file.get("hosts"))]
        return [(host, where) for host, where in named if _is_tcp(host)]


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _is_tcp(host: str) -> bool:
    """dockerd's ParseHost: unix://, fd:// and npipe:// are local; any other scheme, or none, is TCP."""
    return not host.startswith(("unix://", "fd://", "npipe://"))


def _service_lines(unit: str) -> list[tuple[str, str]]:
    """(key, value) of the [Service] section, continuation lines joined and comments dropped."""
    pairs: list[tuple[str, str]] = []
    section, pending = "", ""
    for raw in unit.splitlines():
        line = raw.strip()
        if not pending and (not line or line[0] in "#;"):
            continue
        if pending and line[:1] in ("#", ";"):
            continue
        line = pending + line
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif section == "Service" and "=" in line:
            key, _, value = line.partition("=")
            pairs.append((key.strip(), value.strip()))
    return pairs


def exec_start(unit: str | Sequence[str]) -> tuple[list[str] | None, list[str]]:
    """ExecStart's argument list as systemd runs it, or None and why: from the unit file's text, or the unit file's
    then its drop-ins' texts in the order systemd applies them."""
    commands: list[str] = []
    oneshot = False
    files = [unit] if isinstance(unit, str) else list(unit)
    for key, value in (pair for text in files for pair in _service_lines(text)):
        if key == "Type":
            oneshot = value == "oneshot"
        elif key == "ExecStart":
            commands = [] if not value else [*commands, value]
    if not commands:
        return None, ["the unit's [Service] has no ExecStart: systemd starts nothing"]
    if len(commands) > 1 and not oneshot:
        return None, [f"the unit has more than one ExecStart ({len(commands)}): systemd refuses to start it"]
    try:
        argv = shlex.split(commands[-1].lstrip(_PREFIXES))
    except ValueError as exc:
        return None, [f"ExecStart cannot be split into arguments ({exc}): systemd refuses it"]
    if not argv:
        return None, ["ExecStart names no program"]
    return argv, []


def _bool(text: str) -> bool | None:
    return True if text in _TRUE else False if text in _FALSE else None


def read_flags(argv: list[str]) -> tuple[dict[str, Any], list[str]]:
    """dockerd's arguments as pflag reads them: (daemon.json's name -> value, what stops dockerd)."""
    values, _, problems = _flags(argv)
    return values, problems


def _flags(argv: list[str]) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """(daemon.json's name -> value, daemon.json's name -> the flag as written, what stops dockerd)."""
    values: dict[str, Any] = {}
    text: dict[str, str] = {}
    problems: list[str] = []

    def put(name: str, value: str | None, written: str) -> None:
        key = FILE_NAMES.get(name, name)
        text[key] = written
        if name in BOOL_FLAGS:
            read = True if value is None else _bool(value)
            if read is None:
                problems.append(f"{written}: not a bool (dockerd refuses to start)")
            else:
                values[key] = read
        elif value is None:
            problems.append(f"{written} needs a value: dockerd refuses to start")
        elif name in REPEATED:
            values.setdefault(key, []).append(value)
        else:
            values[key] = value

    words = argv[1:]
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if word == "--":
            problems += [
                f"argument {w!r} after '--': dockerd takes no arguments and refuses to start" for w in words[index:]
            ]
            break
        if word.startswith("--"):
            name, equals, value = word[2:].partition("=")
            if equals or name in BOOL_FLAGS:
                put(name, value if equals else None, word)
            elif index < len(words) and not words[index].startswith("-"):
                put(name, words[index], f"{word} {words[index]}")
                index += 1
            elif name in VALUE_FLAGS:
                put(name, None, word)
            # else: an unknown flag with no value: a bool of dockerd's the table does not list
        elif word.startswith("-") and len(word) > 1:
            for position, letter in enumerate(word[1:], start=1):
                if letter in SHORT_VALUE:
                    value: str | None = word[position + 1 :].removeprefix("=")
                    if not value:
                        value = words[index] if index < len(words) else None
                        index += 1
                    put(SHORT_VALUE[letter], value, f"-{letter} {value}")
                    break
                put(SHORT_BOOL.get(letter, letter), None, f"-{letter}")
        else:
            problems.append(f"argument {word!r} is no flag's value: dockerd takes no arguments and refuses to start")
    return values, text, problems


def _file(text: str | None) -> tuple[dict[str, Any], list[str]]:
    if text is None or not text.strip():
        return {}, []  # absent, or empty: dockerd runs on its flags alone
    try:
        data = json.loads(text.removeprefix("\ufeff"))
    except ValueError as exc:
        return {}, [f"daemon.json is not JSON ({exc}): dockerd refuses to start"]
    if not isinstance(data, dict):
        return {}, ["daemon.json is not a JSON object: dockerd refuses to start"]
    problems = []
    for key, kind in TYPES.items():
        if key in data and not (
            isinstance(data[key], kind) and (kind is not list or all(isinstance(v, str) for v in data[key]))
        ):
            problems.append(f"daemon.json's {key!r} is {json.dumps(data[key])}, not a {kind.__name__}: dockerd refuses")
    return data, problems


def daemon_config(unit: str | Sequence[str], file_text: str | None) -> DaemonConfig:
    """The daemon's settings from its unit's text (with its drop-ins', after it) and daemon.json's (None: absent)."""
    argv, problems = exec_start(unit)
    unknown = []
    flags: dict[str, Any] = {}
    flag_text: dict[str, str] = {}
    if argv is not None:
        unknown += [
            f"ExecStart uses ${m.strip('{}')} from the unit's environment: the suite does not resolve it"
            for m in _VARIABLE.findall(" ".join(argv))
        ]
        flags, flag_text, flag_problems = _flags(argv)
        problems += flag_problems
    file, file_problems = _file(file_text)
    problems += file_problems
    both = sorted(set(flags) & set(file) - {"config-file"})
    if both:
        problems.append(
            f'{", ".join(both)} set both as a flag and in daemon.json: dockerd refuses to start ("the following '
            'directives are specified both as a flag and in the configuration file")'
        )
    config_file = flags.get("config-file")
    if isinstance(config_file, str):
        unknown.append(f"dockerd reads its configuration file from {config_file} (--config-file), not the one read")
    for key in [k for k, kind in TYPES.items() if kind is list and k in flags]:
        flags[key] = [v for v in flags[key] if isinstance(v, str)]
    return DaemonConfig(flags, flag_text, file, tuple(problems), tuple(unknown), config_file)
