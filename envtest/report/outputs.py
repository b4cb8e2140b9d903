"""Where a run writes its reports: the JUnit file (-j), the summary and the call counts beside it, and the JSON
results (--json). Each is written with an open-for-write, which follows a symbolic link: a link planted at
report/junit.html would have the run overwrite whatever it points to. So none may be a link, and none may be
another (-j x.html: the summary would be written over the JUnit report)."""

from __future__ import annotations

from pathlib import Path

from envtest.errors import UsageError


def refuse_unsafe(junit_path: Path, json_path: Path | None) -> None:
    """UsageError for an output path that is a symbolic link, or a -j or --json path that is another output."""
    outputs = {
        "the JUnit report (-j)": junit_path,
        "the summary": junit_path.with_suffix(".html"),  # html.write_beside's name
        "the API call counts": junit_path.with_suffix(".api-calls.json"),  # run_reports.write_call_breakdown's
        **({"the JSON results (--json)": json_path} if json_path is not None else {}),
    }
    for what, path in outputs.items():
        if path.is_symlink():
            raise UsageError(f"{path}, {what}: is a symbolic link; the run does not write through one (remove it)")
        same = [other for other, p in outputs.items() if other != what and p.resolve() == path.resolve()]
        if same and "(-" in what:  # named on the command line: the other is where the run puts its own file
            raise UsageError(f"{path}, {what}: is also where the run writes {same[0]}; choose another name")
