"""Waivers: a known finding accepted for a while, by name, with a reason, an owner and an end date.

Written in an env's policy (policy/envs/<env>.toml):

    [[waivers]]
    check = "test_runner_egress_holds_only_declared_rules"   # a check's name; a [case] or a glob may follow
    resource = "security group sg-0abc* *"                    # glob on the failure's resource line
    reason = "vendor migration, INC-1234"
    owner = "alice@example.gov"
    expires = 2026-12-31                                      # a TOML date, at most MAX_DAYS ahead

A waived finding is reported as waived (JUnit skipped, with the waiver), never as passed. A waiver past its
date no longer waives: the check fails and says the waiver expired. A waiver that matches nothing is only
noted. Pure functions: the pytest plugin applies them, the preflight validates them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from envtest.errors import UsageError

FIELDS = ("check", "resource", "reason", "owner", "expires")
MAX_DAYS = 366


def _glob(text: str, pattern: str) -> bool:
    """`*` any run of characters, `?` one; everything else literal (resources hold brackets: `[runners.docker]`)."""
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, text, re.S) is not None


@dataclass(frozen=True)
class Waiver:
    check: str
    resource: str
    reason: str
    owner: str
    expires: date

    @property
    def _name_pattern(self) -> str:
        """The check part of "name[case]", with the test_ a check's name starts with."""
        name = self.check.partition("[")[0]
        return name if name.startswith("test_") else f"test_{name}"

    def covers(self, check_id: str, resource: str) -> bool:
        """check_id: the test's name with its [case], if any; the waiver's check may omit test_ and the case."""
        # "name[case]": name and case are matched apart.
        case_pattern = self.check.partition("[")[2]
        name, _, case = check_id.partition("[")
        if not _glob(name, self._name_pattern):
            return False
        if case_pattern and not _glob(case.removesuffix("]"), case_pattern.removesuffix("]")):
            return False
        return _glob(resource, self.resource)

    def names_one_of(self, check_names: list[str]) -> bool:
        """Whether the waiver's check (its name part) matches at least one of these check names."""
        return any(_glob(name, self._name_pattern) for name in check_names)

    def says(self) -> str:
        return f"until {self.expires.isoformat()} by {self.owner}: {self.reason}"


def parse_waivers(entries: Any, today: date, where: str = "[[waivers]]") -> list[Waiver]:
    """The policy's [[waivers]] as Waivers; a UsageError names the entry and what is wrong with it."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise UsageError(f"{where}: write waivers as [[waivers]] tables")
    found = []
    for number, entry in enumerate(entries, 1):
        at = f"{where} entry {number}"
        if not isinstance(entry, dict):
            raise UsageError(f"{at}: not a table")
        missing = [f for f in FIELDS if f not in entry]
        unknown = sorted(set(entry) - set(FIELDS))
        if missing or unknown:
            wrong = [f"missing {', '.join(missing)}"] if missing else []
            wrong += [f"unknown {', '.join(unknown)}"] if unknown else []
            raise UsageError(f"{at}: {'; '.join(wrong)} (a waiver has {', '.join(FIELDS)})")
        text = {f: entry[f] for f in FIELDS if f != "expires"}
        empty = [f for f, v in text.items() if not isinstance(v, str) or not v.strip()]
        if empty:
            raise UsageError(f"{at}: {', '.join(empty)} must be non-empty text")
        expires = entry["expires"]
        if not isinstance(expires, date) or hasattr(expires, "hour"):
            raise UsageError(f"{at}: expires must be a TOML date (expires = 2026-12-31), got {expires!r}")
        if (expires - today).days > MAX_DAYS:
            raise UsageError(
                f"{at}: expires {expires.isoformat()} is more than {MAX_DAYS} days away; a waiver is for a while, "
                "a permanent exception belongs in the policy itself"
            )
        found.append(Waiver(text["check"].strip(), text["resource"].strip(), text["reason"].strip(),
                            text["owner"].strip(), expires))  # fmt: skip
    return found


@dataclass(frozen=True)
class Judgement:
    unwaived: list[Any]  # the problems that still fail the check
    waived: list[tuple[Any, Waiver]]
    expired: list[tuple[Any, Waiver]]  # also in unwaived: the waiver that no longer covers them


def judge(check_id: str, problems: list[Any], waivers: list[Waiver], today: date) -> Judgement:
    """Each problem (anything with a .resource) against the waivers: a live waiver waives it, an expired one
    only explains why it still fails."""
    unwaived, waived, expired = [], [], []
    for problem in problems:
        matching = [w for w in waivers if w.covers(check_id, problem.resource)]
        live = [w for w in matching if w.expires >= today]
        if live:
            waived.append((problem, max(live, key=lambda w: w.expires)))
            continue
        unwaived.append(problem)
        if matching:
            expired.append((problem, max(matching, key=lambda w: w.expires)))
    return Judgement(unwaived, waived, expired)
