"""The source lines a revision file quotes for each check it declares not applicable.

Read from the text of policy/revisions/<name>.toml, not through the suite's policy loader (the double never
borrows the suite's judges): each key of `[revision.not_applicable]` has its `# path:line  source line` (or
`# no such file at this commit: ...`) comments directly above it, as a self-test requires of every value.
"""

from __future__ import annotations

import re

SECTION = re.compile(r"^\[\[?([^\]]+)\]\]?\s*$")
KEY = re.compile(r"""^(?:"([^"]+)"|([A-Za-z0-9_\[\]-]+))\s*=""")


def not_applicable_sources(text: str) -> dict[str, tuple[str, ...]]:
    """check (as --list names it, or "name[case]") -> the comment lines above its not-applicable entry."""
    out: dict[str, tuple[str, ...]] = {}
    section, comments = "", []
    for line in text.splitlines():
        stripped = line.strip()
        header = SECTION.match(stripped)
        if header:
            section, comments = header.group(1).strip(), []
        elif stripped.startswith("#"):
            comments.append(stripped.lstrip("#").strip())
        elif not stripped:
            comments = []  # a blank line ends a comment block: it belongs to nothing below it
        else:
            key = KEY.match(stripped)
            if section == "revision.not_applicable" and key:
                out[key.group(1) or key.group(2)] = tuple(comments)
            comments = []
    return out
