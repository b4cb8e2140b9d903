"""docs/revisions.md: each revision's defaults as a table, key by key, with the source line each comes from.

Generated from policy/revisions/*.toml (`python -m envtest.revision_tables > docs/revisions.md`); a self-test
holds the page to the files. Offline, pure text: the source comments above each key are the citations.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from envtest.policy import DEFAULT_POLICY_DIR, known_revisions

SECTION = re.compile(r"^\[\[?([^\]]+)\]\]?")
ASSIGNMENT = re.compile(r"^([A-Za-z0-9_\"'.-]+)\s*=\s*(.*)$")
CITATION = re.compile(r"^#\s*((?:identity-terraform:|identity-cookbooks:)?[\w./{}@+-]+:\d+(?:-\d+)?)\s+(.*)$")


def rows(text: str) -> list[tuple[str, str, str]]:
    """(section.key, value as written, its first source) for each default of a revision file."""
    out, section, sources = [], "", []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        stripped = lines[index].strip()
        index += 1
        header = SECTION.match(stripped)
        if header:
            section, sources = header.group(1), []
            continue
        citation = CITATION.match(stripped)
        if citation:
            sources.append(f"`{citation.group(1)}`")
            continue
        assignment = ASSIGNMENT.match(stripped)
        if not assignment or section.startswith("revision"):
            if not stripped.startswith("#"):
                sources = [] if assignment else sources
            continue
        value = assignment.group(2)
        if value.startswith("[") and not value.rstrip().endswith("]"):  # a list over several lines: its items
            items = []
            while index < len(lines) and not lines[index].strip().startswith("]"):
                item = lines[index].strip()
                if item and not item.startswith("#"):
                    items.append(item.rstrip(","))
                index += 1
            value = f"[{', '.join(items)}]"
        shown = value if len(value) <= 90 else value[:87] + "..."
        out.append(
            (
                f"{section}.{assignment.group(1)}" if section else assignment.group(1),
                shown,
                sources[0] if sources else "",
            )
        )
        sources = []
    return out


def page(policy_dir: Path = DEFAULT_POLICY_DIR) -> str:
    parts = [
        "# Revisions: the defaults as one commit of login.gov's code had them",
        "",
        "Generated from `policy/revisions/*.toml` by `python -m envtest.revision_tables > docs/revisions.md`. Each",
        "value comes from 18F/identity-pki at its revision's commit; the file itself quotes each source line.",
        "",
    ]
    for revision in known_revisions(policy_dir):
        text = (policy_dir / "revisions" / f"{revision.name}.toml").read_text()
        parts += [f"## {revision.describe()}", "", revision.summary, ""]
        if revision.not_applicable:
            parts += ["Not applicable at this commit:", ""]
            parts += [f"- `{check}`: {why}" for check, why in revision.not_applicable]
            parts.append("")
        parts += ["| key | value | source |", "|---|---|---|"]
        parts += [f"| `{key}` | `{value.replace('|', '/')}` | {source} |" for key, value, source in rows(text)]
        parts.append("")
    return "\n".join(parts)


if __name__ == "__main__":
    sys.stdout.write(page())
