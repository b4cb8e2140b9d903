"""What the run changed in the environment, and whether it was put back.

A disruptive check writes each change here *before* making it, and settles it after its restore: `restored`,
or `not restored` with the reason. A run stopped midway (SIGKILL after a cancel's grace, a lost machine)
leaves the change unsettled, and the report says so with the command that puts it back by hand. The journal
is a JSON-lines file in the run's directory, appended by whichever process of the run made the change; the
command line reads it when it writes the reports (envtest/run_reports.py).
"""

from __future__ import annotations

import json
import secrets
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

JOURNAL = "changes.jsonl"
CHANGED, RESTORED, NOT_RESTORED = "changed", "restored", "not restored"


@dataclass(frozen=True)
class Change:
    key: str
    resource: str  # what was changed: "Auto Scaling group dev-idp"
    change: str  # how: "desired 2 -> 4, max 2 -> 4"
    by_hand: str  # the command that puts it back
    state: str = CHANGED
    why: str = ""  # why it was not restored

    def describe(self) -> str:
        if self.state == RESTORED:
            return f"{self.resource}: {self.change}; restored"
        if self.state == NOT_RESTORED:
            return f"{self.resource}: {self.change}; NOT restored ({self.why}). Put it back by hand: {self.by_hand}"
        return (
            f"{self.resource}: {self.change}; NOT confirmed restored (the run stopped before its restore finished). "
            f"Look at it now, and if needed: {self.by_hand}"
        )


class Journal:
    """The run's journal of changes (in memory too, so a run without a directory still knows)."""

    def __init__(self, run_dir: Path | None) -> None:
        self.path = run_dir / JOURNAL if run_dir is not None else None
        self.entries: dict[str, Change] = {}

    def _write(self, change: Change) -> None:
        self.entries[change.key] = change
        if self.path is not None:
            # One short line per write, appended: each lands whole, even from several processes of one run.
            # A journal that cannot be written never stops the change's restore: it says so, and goes on.
            try:
                with self.path.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(asdict(change)) + "\n")
            except OSError as exc:
                print(f"envtest: cannot record {change.describe()} in {self.path}: {exc.strerror}", file=sys.stderr)

    def changed(self, resource: str, change: str, by_hand: str) -> str:
        """Record a change about to be made; its key settles it later."""
        key = secrets.token_hex(6)
        self._write(Change(key, resource, change, by_hand))
        return key

    def restored(self, key: str) -> None:
        entry = self.entries[key]
        self._write(Change(key, entry.resource, entry.change, entry.by_hand, RESTORED))

    def not_restored(self, key: str, why: str) -> None:
        entry = self.entries[key]
        self._write(Change(key, entry.resource, entry.change, entry.by_hand, NOT_RESTORED, why))


def read(run_dir: Path) -> list[Change]:
    """Every change of the run in the order made, each in its last recorded state."""
    path = run_dir / JOURNAL
    if not path.exists():
        return []
    latest: dict[str, Change] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            latest[json.loads(line)["key"]] = Change(**json.loads(line))
        except (ValueError, KeyError, TypeError):
            continue  # a line cut by a kill: the entry it would settle stays unsettled, which the report says
    return list(latest.values())
