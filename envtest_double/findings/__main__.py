"""python -m envtest_double.findings run [DIR] | render DIR | check DIR PAGE

run:    each clean sandbox (the default, the runbook's revision, then every other revision's) through
        ./run_tests.sh with --json into DIR (default report/findings/), then docs/findings.md rendered from them.
render: the page from the reports in DIR, to stdout.
check:  exit 1 with a diff when PAGE is not what the reports in DIR render (CI: the page is current).
"""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

from envtest import catalogue
from envtest_double.findings.page import CheckNote, ReportError, command, loads, render
from envtest_double.findings.sources import not_applicable_sources
from envtest_double.revisions import DEFAULT, SANDBOX_REVISIONS, built

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "findings.md"
USAGE = __doc__ or ""


def sandboxes() -> list[str]:
    """The default sandbox (the runbook's revision) first, then every other revision's, oldest first."""
    return [DEFAULT, *(name for name in SANDBOX_REVISIONS if name in built() and name != DEFAULT)]


def page_from(directory: Path) -> str:
    reports = []
    for name in sandboxes():
        path = directory / f"{name}.json"
        if not path.is_file():  # a page from some of the runs would read as if the others had no findings
            raise ReportError(f"{path}: no report; run `{command(name)} --json {path}`")
        reports.append((name, loads(path.read_text(encoding="utf-8"), str(path))))
    notes = {
        name: CheckNote(check.doc.strip().splitlines()[0] if check.doc.strip() else "", check.path)
        for name, check in catalogue.checks().items()
    }
    sources = {
        revision: not_applicable_sources((ROOT / "policy" / "revisions" / f"{revision}.toml").read_text())
        for revision in built()
    }
    return render(reports, notes, sources)


def run(directory: Path) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    for name in sandboxes():
        for stale in (directory / f"{name}.json", directory / f"{name}.xml"):
            stale.unlink(missing_ok=True)  # never render an earlier run's report as this one's
        argv = command(name).split()[1:]
        print(f"== {command(name)}", flush=True)
        code = subprocess.run(
            [str(ROOT / "run_tests.sh"), *argv, "--json", str(directory / f"{name}.json"), "-j",
             str(directory / f"{name}.xml")],
            cwd=ROOT,
            check=False,
        ).returncode  # fmt: skip
        if code not in (0, 1):  # 1 is a finding; 2 or more is a run that judged nothing
            print(f"findings: `{command(name)}` exited {code}: no page written", file=sys.stderr)
            return 2
    PAGE.write_text(page_from(directory), encoding="utf-8")
    print(f"findings: wrote {PAGE.relative_to(ROOT)} from {directory}")
    return 0


def check(directory: Path, page: Path) -> int:
    fresh = page_from(directory)
    committed = page.read_text(encoding="utf-8") if page.is_file() else ""
    if fresh == committed:
        print(f"findings: {page} matches the reports in {directory}")
        return 0
    sys.stdout.writelines(
        difflib.unified_diff(
            committed.splitlines(keepends=True),
            fresh.splitlines(keepends=True),
            str(page),
            f"rendered from {directory}",
        )
    )
    print(f"findings: {page} is out of date: python -m envtest_double.findings render {directory} > {page}")
    return 1


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["run"] and len(argv) <= 2:
            return run(Path(argv[1]) if len(argv) == 2 else ROOT / "report" / "findings")
        if argv[:1] == ["render"] and len(argv) == 2:
            sys.stdout.write(page_from(Path(argv[1])))
            return 0
        if argv[:1] == ["check"] and len(argv) == 3:
            return check(Path(argv[1]), Path(argv[2]))
    except ReportError as exc:
        print(f"findings: {exc}", file=sys.stderr)
        return 2
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
