"""squid's `dstdomain` file (/etc/squid/domain-allowlist.conf), read as squid reads it.

What squid 5 does with such a file (checked against `squid -k parse`):
- one entry per line: the first word; anything after it on the line is ignored;
- lines whose first word starts with `#` are comments; blank lines are skipped;
- matching is case-insensitive; a leading dot means the domain and all its
  subdomains;
- when an entry overlaps an earlier one, squid either warns and ignores it
  (an entry inside an earlier wildcard) or refuses to start (FATAL: a
  wildcard and the same name without the dot, in either order, or a wildcard
  that covers an earlier entry).

`parse` never raises: every input gives entries plus the problems found.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

# RFC 1123 labels; squid itself accepts more, but nothing else is a host name.
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


@dataclass(frozen=True)
class Entry:
    line: int
    text: str  # as written
    domain: str  # lower-case, without the leading dot
    wildcard: bool

    def __str__(self) -> str:
        return ("." if self.wildcard else "") + self.domain

    def covers(self, name: str) -> bool:
        """Would squid match host `name` against this entry?"""
        name = name.lower().rstrip(".")
        if self.wildcard:
            return name == self.domain or name.endswith("." + self.domain)
        return name == self.domain


@dataclass(frozen=True)
class Problem:
    line: int
    severity: str  # "fatal" (squid refuses to start), "warning" (squid ignores an entry), "invalid"
    message: str


@dataclass(frozen=True)
class Allowlist:
    entries: tuple[Entry, ...]
    problems: tuple[Problem, ...] = field(default=())

    def allows(self, name: str) -> Entry | None:
        """The first entry that lets `name` through, or None."""
        return next((entry for entry in self.entries if entry.covers(name)), None)


def is_ip_literal(domain: str) -> bool:
    try:
        ipaddress.ip_address(domain.strip("[]"))
    except ValueError:
        return False
    return True


def is_host_name(domain: str) -> bool:
    """RFC 1123 labels, and a top-level label that is not all digits (that would be an address)."""
    labels = domain.split(".")
    return len(domain) <= 253 and all(_LABEL.match(label) for label in labels) and not labels[-1].isdigit()


def _inside(child: str, parent: str) -> bool:
    return child.endswith("." + parent)


def _overlap(earlier: Entry, later: Entry) -> Problem | None:
    """squid's verdict on inserting `later` after `earlier` (acl/DomainData.cc)."""
    if earlier.domain == later.domain:
        if earlier.wildcard != later.wildcard:
            wild = earlier if earlier.wildcard else later
            return Problem(
                later.line,
                "fatal",
                f"'{wild}' (line {wild.line}) and '{wild.domain}' both listed: squid refuses to start "
                f"(ERROR: '.{wild.domain}' is a subdomain of '{wild.domain}'); keep only '.{wild.domain}'",
            )
        return None  # an exact repeat: see parse
    if earlier.wildcard and _inside(later.domain, earlier.domain):
        return Problem(
            later.line, "warning", f"'{later}' is inside '{earlier}' (line {earlier.line}): squid ignores it; remove it"
        )
    if later.wildcard and _inside(earlier.domain, later.domain):
        return Problem(
            later.line,
            "fatal",
            f"'{later}' covers '{earlier}' (line {earlier.line}), listed before it: squid refuses to "
            f"start; remove '{earlier}'",
        )
    return None


def parse(text: str) -> Allowlist:
    entries: list[Entry] = []
    problems: list[Problem] = []
    index = _Index()
    if text.startswith("\ufeff"):
        problems.append(
            Problem(
                1,
                "invalid",
                "the file starts with a byte-order mark: squid reads it as part of "
                "the first entry; save the file without a BOM",
            )
        )
        text = text[1:]
    for number, raw in enumerate(text.splitlines(), start=1):
        words = raw.split()
        if not words or words[0].startswith("#"):
            continue
        word = words[0]
        if len(words) > 1 and not words[1].startswith("#"):
            problems.append(
                Problem(
                    number,
                    "invalid",
                    f"squid reads only '{word}' from line {number}; "
                    f"'{' '.join(words[1:])}' is ignored: one entry per line",
                )
            )
        wildcard = word.startswith(".")
        domain = word.lower().lstrip(".").rstrip(".")
        entry = Entry(number, word, domain, wildcard)
        if not domain:
            problems.append(Problem(number, "invalid", f"'{word}' names no domain"))
            continue
        if not is_ip_literal(domain) and not is_host_name(domain):
            problems.append(Problem(number, "invalid", f"'{word}' is not a host name"))
        earlier = index.first_overlapping(entry)
        # squid keeps the first and drops an exact repeat silently (squid -k parse says nothing); the env runner's
        # template repeats gitlab.login.gov when chef's gitlab_url is that host. Not a problem.
        if earlier is not None and (earlier.domain, earlier.wildcard) != (entry.domain, entry.wildcard):
            problem = _overlap(earlier, entry)
            if problem:
                problems.append(problem)
        index.add(entry)
        entries.append(entry)
    return Allowlist(tuple(entries), tuple(problems))


def _parents(domain: str) -> list[str]:
    """The domain's proper parent suffixes: a.b.c -> b.c, c."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(1, len(labels))]


class _Index:
    """The earlier entries an entry can overlap, found by name instead of by scanning them all.

    An earlier entry overlaps a new one only when it has the same domain, or is a wildcard on one of the new
    domain's parents, or (the new entry being a wildcard) lies under the new domain. squid's verdict is the
    first such earlier entry's; each map keeps the earliest entry per name, so an entry costs one look-up per
    label instead of one comparison per earlier entry.
    """

    def __init__(self) -> None:
        self.by_domain: dict[str, Entry] = {}
        self.wildcard_by_domain: dict[str, Entry] = {}
        self.first_under: dict[str, Entry] = {}

    def add(self, entry: Entry) -> None:
        self.by_domain.setdefault(entry.domain, entry)
        if entry.wildcard:
            self.wildcard_by_domain.setdefault(entry.domain, entry)
        for parent in _parents(entry.domain):
            self.first_under.setdefault(parent, entry)

    def first_overlapping(self, entry: Entry) -> Entry | None:
        candidates = [self.by_domain.get(entry.domain)]
        candidates += [self.wildcard_by_domain.get(parent) for parent in _parents(entry.domain)]
        if entry.wildcard:
            candidates.append(self.first_under.get(entry.domain))
        found = [c for c in candidates if c is not None]
        return min(found, key=lambda c: c.line) if found else None
