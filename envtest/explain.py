"""`--list`, `--explain CHECK` and docs/checks.md: the checks described from their own docstrings and marks.

Offline: no credentials, no AWS, no pytest collection (envtest/catalogue.py reads the source).
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

from envtest import active_probes, catalogue

DOCS = catalogue.ROOT / "docs" / "checks.md"


def _titles() -> dict[str, str]:
    """Each fault's title, from the checks' own catches marks (envtest/catalogue.py)."""
    return catalogue.fault_titles()


LABELS = ("Why", "Fails on", "Fix")


def sections(doc: str) -> tuple[str, list[tuple[str, str]]]:
    """A check's docstring: its first line (what it proves), then the `Why:`, `Fails on:`, `Fix:` paragraphs."""
    lines = doc.splitlines()
    summary = lines[0] if lines else ""
    parts: list[tuple[str, str]] = []
    for line in lines[1:]:
        label = next((lab for lab in LABELS if line.startswith(f"{lab}: ")), None)
        if label:
            parts.append((label, line.removeprefix(f"{label}: ").strip()))
        elif line.strip() and parts:
            parts[-1] = (parts[-1][0], f"{parts[-1][1]} {line.strip()}")
        elif line.strip():
            summary = f"{summary} {line.strip()}"
    return summary, parts


def _active(what: str, quote: str = "") -> str:
    """An active probe's line: what it changes outside AWS, that it runs by default, and its switch."""
    switch = f"{quote}{active_probes.VARIABLE}=false{quote}"
    return f"{what}, outside AWS; runs by default, {switch} skips it (with the reason)"


def list_checks(out: object = None) -> int:
    """One line per check, by area: its name, what it proves, the faults it catches, the revisions it does not
    apply to; then the revisions (policy/revisions/) and which one an env runs unless its policy names another."""
    from envtest.policy import default_revision, known_revisions

    write = (out or sys.stdout).write  # type: ignore[attr-defined]
    revisions = known_revisions()
    lacking: dict[str, list[str]] = {}
    for revision in revisions:
        for name, _ in revision.not_applicable:
            lacking.setdefault(name.split("[", 1)[0], []).append(revision.name)
    area = None
    for check in catalogue.checks().values():
        if check.area != area:
            write(("" if area is None else "\n") + f"{check.area}\n")
            area = check.area
        flags = " (disruptive: -R true)" if "disruptive" in check.markers else ""
        short = check.name.removeprefix("test_")
        flags += f" (not applicable to revision {', '.join(lacking[short])})" if short in lacking else ""
        if check.active:
            flags += f" (active: {check.active}; {active_probes.VARIABLE}=false skips it)"
        faults = f"  [{', '.join(f for f, _ in check.catches)}]" if check.catches else ""
        summary = sections(check.doc)[0] or "(no docstring)"
        write(f"  {check.name.removeprefix('test_')}{flags}{faults}\n      {summary}\n")
    write(f"\n{len(catalogue.checks())} checks. run_tests.sh --explain CHECK for one in full.\n")
    if revisions:
        write("\nRevisions (policy/revisions/: the defaults as one commit of login.gov's code had them):\n")
        for revision in revisions:
            write(f"  {revision.describe()}: {revision.summary}\n")
        write(f"An env runs revision {default_revision() or '(none)'} unless policy/envs/<env>.toml names another.\n")
    return 0


def find(name: str) -> catalogue.Check:
    """A check by its name, with or without test_ and a [case]; LookupError names the nearest."""
    checks = catalogue.checks()
    key = name.split("[", 1)[0].strip()
    key = key if key.startswith("test_") else f"test_{key}"
    if key in checks:
        return checks[key]
    near = difflib.get_close_matches(key, list(checks), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(n.removeprefix('test_') for n in near)}?" if near else ""
    raise LookupError(f"no check named {name!r}{hint} (run_tests.sh --list shows them all)")


def explain(check: catalogue.Check) -> str:
    titles = _titles()
    lines = [f"{check.name.removeprefix('test_')}  (area {check.area}, tests/{check.path})", "", check.doc, ""]
    if check.catches:
        lines.append("Catches (each fault is seeded into the sandbox by the self-tests and --prove):")
        lines += [f"  {f}{'' if c is None else f' [{c}]'}: {titles.get(f, '?')}" for f, c in check.catches]
    if check.proven_in:
        lines.append(f"Its fault is seeded by {check.proven_in}.")
    if check.blinded_by:
        lines.append("Cannot evaluate (reports an error, never a pass) while these are in place:")
        lines += [f"  {f}: {titles.get(f, '?')}" for f in check.blinded_by]
    if "disruptive" in check.markers:
        lines.append("Disruptive: runs only with -R true.")
    if check.active:
        lines.append(f"Active probe: {_active(check.active)}.")
    lines.append(f"Run it alone: ./run_tests.sh <env> -t {check.name}")
    return "\n".join(lines) + "\n"


def explain_command(args: list[str]) -> int:
    if len(args) != 1:
        print("usage: run_tests.sh --explain CHECK   (run_tests.sh --list shows the names)", file=sys.stderr)
        return 2
    try:
        print(explain(find(args[0])), end="")
    except LookupError as exc:
        print(f"run_tests.sh: {exc.args[0]}", file=sys.stderr)
        return 2
    return 0


def render_docs() -> str:
    """docs/checks.md: every check, generated from the docstrings and marks (a self-test keeps it current)."""
    titles = _titles()
    out = [
        "# The checks",
        "",
        "Generated from each check's docstring and marks by `python -m envtest.explain > docs/checks.md`;",
        "a self-test fails when this file and the source disagree. `run_tests.sh --list` and",
        "`run_tests.sh --explain CHECK` show the same, offline.",
        "",
    ]
    area = None
    for check in catalogue.checks().values():
        if check.area != area:
            area = check.area
            out += [f"## {area} (`tests/{check.area_path}`)", ""]
        out += [f"### `{check.name}`", ""]
        if check.path != check.area_path:
            out += [f"In `tests/{check.path}`.", ""]
        summary, parts = sections(check.doc)
        out += [summary, ""]
        out += [f"- **{label}**: {text}" for label, text in parts]
        out.append("")
        if check.catches:
            out.append(
                "- Catches: " + "; ".join(f"{f}{'' if c is None else f' [{c}]'} ({titles.get(f, '?')})" for f, c in
                                        check.catches) + "."
            )  # fmt: skip
        if check.proven_in:
            out.append(f"- Its fault is seeded by `{check.proven_in}`.")
        if check.blinded_by:
            out.append("- Cannot evaluate under: " + ", ".join(check.blinded_by) + ".")
        if "disruptive" in check.markers:
            out.append("- Disruptive: runs only with `-R true`.")
        if check.active:
            out.append(f"- Active probe: {_active(check.active, '`')}.")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def docs_are_current(path: Path = DOCS) -> bool:
    return path.is_file() and path.read_text() == render_docs()


def main() -> int:
    sys.stdout.write(render_docs())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
