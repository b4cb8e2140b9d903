"""A one-page HTML summary beside the JUnit file: per env, per area, failures with their fix, the slowest checks.

Built from the JUnit file alone (after finishing or merging), so it shows
exactly what GitLab shows, and redaction already happened. Every value is
escaped; the page has no script and loads nothing. It is read on a laptop
from a GitLab artifact and on a phone when paged: it lays out at the device's
width and nothing in it is wider than the screen (a self-test renders it in
Chromium at both widths, selftests/test_html_in_browser.py).
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from pathlib import Path

from junitparser import JUnitXml

from envtest.report.junit import verdict_of

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
td,pre,p{overflow-wrap:anywhere}.areas td{overflow-wrap:normal}
.fixes,.waivers{table-layout:fixed;width:100%}
.fixes th:first-child,.waivers th:first-child{width:40%}
.fixes th:nth-child(2){width:9em}
.banner{padding:.6em 1em;font-size:1.3em;font-weight:bold;border-radius:4px}
.banner.pass{background:#dafbe1;color:#1a7f37}.banner.fail{background:#ffebe9;color:#cf222e}
.banner.stop{background:#fff8c5;color:#7d4e00}
.passed{color:#1a7f37}.failed{color:#cf222e;font-weight:bold}.error{color:#7d4e00;font-weight:bold}
.skipped,.waived{color:#777}.zero{color:#aaa;font-weight:normal}
pre{white-space:pre-wrap;margin:0}
@media (max-width:40em){
body{margin:.6em}h1{font-size:1.5em}.banner{font-size:1.1em}td,th{padding:.2em .3em}
.areas{font-size:.75em}.areas th{font-weight:normal}
.fixes,.waivers,.fixes tbody,.waivers tbody,.fixes tr,.waivers tr,.fixes td,.waivers td{display:block;width:auto}
.fixes tr:first-child,.waivers tr:first-child{display:none}
.fixes tr,.waivers tr{border:1px solid #ccc;margin-bottom:.6em}.fixes td,.waivers td{border:0}
}
"""
# A failure's text and a check's name hold long words (ARNs, bucket names, paths): they may break anywhere, or
# one of them makes its table wider than a phone. The two tables of failures have fixed columns on a laptop
# and become one card per failure on a phone. (No <wbr> in check names: text read from the page would split.)
KINDS = ("passed", "failed", "error", "skipped", "waived")
# What each verdict means on this page (colours: green passed, red failed, amber could not evaluate, grey not run).
MEANING = {
    0: ("pass", "PASSED: every check that could be evaluated passed"),
    1: ("fail", "FAILED: a check failed or could not be evaluated"),
    2: ("stop", "NOT EVALUATED: the run stopped before it could judge the environment"),
}


def _text(case: object) -> str:
    """The failure's text once: the full text, or the message when there is no text."""
    result = case.result[0]  # type: ignore[attr-defined]
    return (result.text or result.message or "").strip()


def _check(case: object) -> str:
    return html.escape(f"{case.classname or ''}::{case.name or ''}")  # type: ignore[attr-defined]


def _counts(counts: Counter[str]) -> str:
    return ", ".join(
        f"<span class='{k if counts[k] else 'zero'}'>{counts[k]} {'could not evaluate' if k == 'error' else k}</span>"
        for k in KINDS
    )


def render(xml: JUnitXml, title: str) -> str:
    from envtest.report.junit import exit_code, summarize

    e = html.escape
    code = exit_code(summarize(xml))
    kind, says = MEANING[code]
    out = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        # Without it a phone lays the page out 980 px wide and shrinks it to an unreadable size.
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{e(title)}</title><style>{STYLE}</style></head><body><h1>{e(title)}</h1>",
        f"<p class='banner {kind}'>{e(says)} (exit {code})</p>",
    ]
    for suite in xml:
        props = {p.name: p.value for p in suite.properties()}
        cases = list(suite)
        verdicts = Counter(verdict_of(c) for c in cases)
        env = props.get("env", suite.name or "envtest")
        out.append(f"<section class='env' data-env='{e(env)}'><h2>{e(env)}</h2>")
        out.append(f"<p>{_counts(verdicts)}</p>")
        when = suite._elem.get("timestamp") or ""
        details = [f"run at {when[:19].replace('T', ' ')} UTC"] if when else []
        details += [
            f"{k.replace('_', ' ')} {props[k]}"
            for k in ("region", "account", "revision", "run_kind", "git_sha", "envtest_version", "api_calls", "guards")
            if k in props
        ]
        out.append(f"<p>{e('; '.join(details))}</p>")
        if props.get("changes"):  # what disruptive checks changed in the env, and whether each was put back
            out.append(f"<p>Changes made: {e(props['changes'])}</p>")
        # What to act on comes first, before the counts by area: on a phone it is the first screen.
        problems = [c for c in cases if verdict_of(c) in {"failed", "error"}]
        if problems:
            out.append(
                "<h3>What to fix</h3><table class='fixes'>"
                "<tr><th>check</th><th>verdict</th><th>what was found</th></tr>"
            )
            for case in problems:
                verdict = verdict_of(case)
                out.append(
                    f"<tr><td>{_check(case)}</td>"
                    f"<td class='{verdict}'>{'could not evaluate' if verdict == 'error' else verdict}</td>"
                    f"<td><pre>{e(_text(case)[:4000])}</pre></td></tr>"
                )
            out.append("</table>")
        waived = [c for c in cases if verdict_of(c) == "waived"]
        if waived:
            out.append(
                "<h3>Waived (accepted until a date; not passed)</h3>"
                "<table class='waivers'><tr><th>check</th><th>waiver</th></tr>"
            )
            out += [f"<tr><td>{_check(c)}</td><td><pre>{e(_text(c)[:2000])}</pre></td></tr>" for c in waived]
            out.append("</table>")
        areas: dict[str, Counter[str]] = defaultdict(Counter)
        for case in cases:
            areas[case.classname or "-"][verdict_of(case)] += 1
        out.append(
            "<h3>By area</h3><table class='areas'><tr><th>area</th>"
            + "".join(f"<th>{'could not evaluate' if k == 'error' else k}</th>" for k in KINDS)
            + "</tr>"
        )
        for area, counts in sorted(areas.items()):
            cells = "".join(f"<td class='{k if counts[k] else 'zero'}'>{counts[k]}</td>" for k in KINDS)
            out.append(f"<tr><td>{e(area)}</td>{cells}</tr>")
        out.append("</table>")
        reasons = Counter((c.result[0].message or "").strip() for c in cases if verdict_of(c) == "skipped")
        if reasons:
            out.append("<h3>Skipped, and why</h3><table class='skipped'><tr><th>checks</th><th>reason</th></tr>")
            out += [f"<tr><td>{n}</td><td>{e(reason)}</td></tr>" for reason, n in reasons.most_common()]
            out.append("</table>")
        slowest = sorted(cases, key=lambda c: float(c.time or 0), reverse=True)[:10]
        out.append("<h3>Slowest checks</h3><table class='slowest'><tr><th>seconds</th><th>check</th></tr>")
        out += [f"<tr><td>{float(c.time or 0):.2f}</td><td>{_check(c)}</td></tr>" for c in slowest]
        out.append("</table></section>")
    out.append("</body></html>\n")
    return "".join(out)


def write_beside(junit_path: Path, title: str = "Environment test summary") -> Path:
    target = junit_path.with_suffix(".html")
    target.write_text(render(JUnitXml.fromfile(str(junit_path)), title), encoding="utf-8")
    return target
