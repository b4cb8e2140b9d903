"""A one-page HTML summary beside the JUnit file: per env, per area, failures with their fix, the slowest checks.

Built from the JUnit file alone (after finishing or merging), so it shows
exactly what GitLab shows, and redaction already happened. Every value is
escaped; the page has no script and loads nothing.
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from pathlib import Path

from junitparser import Error, Failure, JUnitXml, Skipped

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
.passed{color:#1a7f37}.failed,.error{color:#cf222e;font-weight:bold}.skipped{color:#777}
pre{white-space:pre-wrap;margin:0}
"""


def _verdict(case: object) -> str:
    results = getattr(case, "result", [])
    if not results:
        return "passed"
    return {Failure: "failed", Error: "error", Skipped: "skipped"}.get(type(results[0]), "failed")


def render(xml: JUnitXml, title: str) -> str:
    e = html.escape
    out = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title>",
        f"<style>{STYLE}</style></head><body><h1>{e(title)}</h1>",
    ]
    for suite in xml:
        props = {p.name: p.value for p in suite.properties()}
        cases = list(suite)
        verdicts = Counter(_verdict(c) for c in cases)
        out.append(f"<h2>{e(props.get('env', suite.name or 'envtest'))}</h2><p>")
        out.append(
            ", ".join(f"<span class='{k}'>{verdicts[k]} {k}</span>" for k in ("passed", "failed", "error", "skipped"))
        )
        details = [
            f"{k} {props[k]}" for k in ("region", "account", "run_kind", "api_calls", "git_sha", "guards") if k in props
        ]
        out.append(f"</p><p>{e('; '.join(details))}</p>")
        areas: dict[str, Counter[str]] = defaultdict(Counter)
        for case in cases:
            areas[case.classname or "-"][_verdict(case)] += 1
        out.append("<table><tr><th>area</th><th>passed</th><th>failed</th><th>error</th><th>skipped</th></tr>")
        for area, counts in sorted(areas.items()):
            cells = "".join(
                f"<td class='{k if counts[k] else ''}'>{counts[k]}</td>"
                for k in ("passed", "failed", "error", "skipped")
            )
            out.append(f"<tr><td>{e(area)}</td>{cells}</tr>")
        out.append("</table>")
        problems = [c for c in cases if _verdict(c) in {"failed", "error"}]
        if problems:
            out.append("<h3>What to fix</h3><table><tr><th>check</th><th>what was found</th></tr>")
            for case in problems:
                result = case.result[0]
                text = "\n".join(part for part in (result.message, result.text) if part)
                out.append(
                    f"<tr><td class='{_verdict(case)}'>{e(case.classname or '')}::{e(case.name or '')}</td>"
                    f"<td><pre>{e(text[:4000])}</pre></td></tr>"
                )
            out.append("</table>")
        slowest = sorted(cases, key=lambda c: float(c.time or 0), reverse=True)[:10]
        out.append("<h3>Slowest checks</h3><table><tr><th>seconds</th><th>check</th></tr>")
        out += [
            f"<tr><td>{float(c.time or 0):.2f}</td><td>{e(c.classname or '')}::{e(c.name or '')}</td></tr>"
            for c in slowest
        ]
        out.append("</table>")
    out.append("</body></html>\n")
    return "".join(out)


def write_beside(junit_path: Path, title: str = "Environment test summary") -> Path:
    target = junit_path.with_suffix(".html")
    target.write_text(render(JUnitXml.fromfile(str(junit_path)), title), encoding="utf-8")
    return target
