"""Status documents read from hosts: cloud-init's status.json, filebeat's and logstash's stats APIs.

Pure functions over the text; ValueError with the reason when the text is not
the document expected (truncated output, an HTML error page, a wrong shape).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        preview = " ".join(text.split())[:80]
        raise ValueError(f"{what} is not JSON ({exc.__class__.__name__}); it starts {preview!r}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} is JSON but not an object")
    return value


def _number(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where} is {value!r}, not a number")
    return int(value)


def cloud_init_errors(text: str) -> list[str]:
    """Every error cloud-init recorded, as "<stage>: <error>" (empty when boot went clean)."""
    document = _json_object(text, "cloud-init status.json")
    v1 = document.get("v1")
    if not isinstance(v1, dict):
        raise ValueError('cloud-init status.json has no "v1" object')
    errors = []
    for stage, detail in sorted(v1.items()):
        if isinstance(detail, dict) and "errors" in detail:
            listed = detail["errors"]
            if not isinstance(listed, list):
                raise ValueError(f"cloud-init stage {stage}: errors is {type(listed).__name__}, not a list")
            errors += [f"{stage}: {' '.join(str(e).split())[:300]}" for e in listed]
    return errors


@dataclass(frozen=True)
class FilebeatOutput:
    write_errors: int
    write_bytes: int


def filebeat_output(text: str) -> FilebeatOutput:
    """libbeat.output.write.{errors,bytes} from filebeat's /stats."""
    document = _json_object(text, "filebeat stats")
    try:
        write = document["libbeat"]["output"]["write"]
    except (KeyError, TypeError):
        raise ValueError("filebeat stats have no libbeat.output.write section") from None
    if not isinstance(write, dict):
        raise ValueError("filebeat stats: libbeat.output.write is not an object")
    return FilebeatOutput(
        write_errors=_number(write.get("errors"), "libbeat.output.write.errors"),
        write_bytes=_number(write.get("bytes"), "libbeat.output.write.bytes"),
    )


@dataclass(frozen=True)
class LogstashSummary:
    status: str
    events_out: int


def logstash_summary(text: str) -> LogstashSummary:
    """status and events.out from logstash's /_node/stats."""
    document = _json_object(text, "logstash node stats")
    status = document.get("status")
    if not isinstance(status, str):
        raise ValueError("logstash node stats have no status")
    events = document.get("events")
    if not isinstance(events, dict):
        raise ValueError("logstash node stats have no events section")
    return LogstashSummary(status=status, events_out=_number(events.get("out"), "events.out"))


@dataclass(frozen=True)
class DigResult:
    status: str  # NOERROR, NXDOMAIN, SERVFAIL, ... or "NO ANSWER" when no server replied
    answers: list[str]


def dig_result(text: str) -> DigResult:
    """The status and answer records in `dig`'s default output."""
    status = "NO ANSWER"
    answers: list[str] = []
    in_answer = False
    for line in text.splitlines():
        if "->>HEADER<<-" in line and "status:" in line:
            status = line.split("status:", 1)[1].split(",", 1)[0].strip()
        elif line.startswith(";; ANSWER SECTION:"):
            in_answer = True
        elif in_answer:
            if not line.strip() or line.startswith(";"):
                in_answer = False
            else:
                fields = line.split()
                if len(fields) >= 5:
                    answers.append(f"{fields[3]} {fields[4]}")
    unreached = "connection timed out" in text or "no servers could be reached" in text
    if status == "NO ANSWER" and not unreached and text.strip():
        raise ValueError(f"dig output without a status line: {' '.join(text.split())[:120]!r}")
    return DigResult(status=status, answers=answers)


def nc_outcome(exit_code: int, stderr: str) -> str:
    """What `nc -v -z -w <s> <host> <port>` (netcat-openbsd) saw: "connected", "refused" or "timed out".

    nc exits 1 for a refused or timed-out connection and for a usage error alike; its -v lines tell them apart
    ("... succeeded!", "... failed: Connection refused", "... timed out: Operation now in progress"). Anything else
    (a usage message, a missing nc, a name that does not resolve) is a ValueError: no answer about the network.
    """
    text = " ".join(stderr.split())
    if exit_code == 0 and ("succeeded" in text or " open" in text):
        return "connected"
    if exit_code == 1 and "Connection refused" in text:
        return "refused"
    if exit_code == 1 and ("timed out" in text or "Operation now in progress" in text):
        return "timed out"
    raise ValueError(f"nc exited {exit_code} without saying what the connection did: {text[:200]!r}")
