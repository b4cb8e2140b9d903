"""The HTML summary in a real browser, at a laptop's width and a phone's: what the on-call engineer sees.

The single-env page and the merged nightly page of a sandbox run with a failure, a waiver and a check that
could not be evaluated are rendered by headless Chromium (selftests/browser.py). From the rendered DOM, the
layout and a screenshot: the banner says the run's verdict in its colour; every failing check is listed once,
with its resource and fix; nothing is wider than the screen; the page asks for nothing but its own file and
runs no script. The control: a page broken on purpose, one way at a time, fails the same judgement.

The screenshots are written to benchmarks/ (summary-*.png, nightly-*.png, which the README shows) when
ENVTEST_KEEP_SCREENSHOTS=1, and to a temporary directory otherwise: a self-test run does not change tracked files.
"""

from __future__ import annotations

import colorsys
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from envtest.report import html, junit
from envtest_double.faults import FAULTS
from envtest_double.processes import stop_all
from envtest_double.running import Sandbox
from selftests.browser import Browser, Rendering, chromium
from selftests.conftest import base_environ, run_suite

ROOT = Path(__file__).resolve().parents[1]


def screenshots_beside(page: Path) -> Path:
    """benchmarks/ when asked to keep them; else the page's own directory (pytest's, removed with it: a directory
    made at import was left in /tmp by every worker of every run)."""
    return ROOT / "benchmarks" if os.environ.get("ENVTEST_KEEP_SCREENSHOTS") == "1" else page.parent


@dataclass(frozen=True)
class Viewport:
    name: str
    width: int
    height: int
    mobile: bool


# The most common laptop screen, and the narrowest common phone (CSS pixels).
LAPTOP = Viewport("laptop", 1366, 768, mobile=False)
PHONE = Viewport("phone", 360, 740, mobile=True)
# What the banner must say and its colour's name, by exit code (README: exit 0, 1, 2).
BANNER = {0: ("PASSED", "green"), 1: ("FAILED", "red"), 2: ("NOT EVALUATED", "amber")}


@dataclass
class Listed:
    """A check the page must list in an env's section: under What to fix (failed, error) or Waived."""

    env: str
    check: str  # its id: the function's name, with [case]
    verdict: str  # failed, error or waived
    shows: list[str] = field(default_factory=list)  # text its row must hold: each resource and fix, the waiver


@dataclass
class Expected:
    exit_code: int
    envs: list[str]
    listed: list[Listed]


def expected_from_results(*results: dict[str, Any]) -> list[Listed]:
    """What each run's JSON (--json) says must be listed, and with what text."""
    listed = []
    for result in results:
        env = result["run"]["env"]
        for check in result["checks"]:
            if check["verdict"] == "failed":
                shows = [text for p in check["problems"] for text in (p["resource"], p["fix"])]
            elif check["verdict"] == "waived":
                shows = [w["waiver"][k] for w in check["waived"] for k in ("owner", "expires", "reason")]
            elif check["verdict"] == "error":
                shows = []
            else:
                continue
            listed.append(Listed(env, check["id"], check["verdict"], shows))
    return listed


def colour_name(css_or_rgb: str | tuple[int, int, int]) -> str:
    """red, amber, green or grey: a colour's hue, whatever its shade (the banner's background is pale)."""
    if isinstance(css_or_rgb, str):
        rgb = tuple(int(v) for v in css_or_rgb.split("(")[1].rstrip(")").split(",")[:3])
    else:
        rgb = css_or_rgb
    hue, saturation, _ = colorsys.rgb_to_hsv(*(v / 255 for v in rgb))
    degrees = hue * 360
    if saturation < 0.05:
        return "grey"
    if degrees < 20 or degrees >= 330:
        return "red"
    if degrees < 70:
        return "amber"
    if 80 <= degrees < 170:
        return "green"
    return f"hue {degrees:.0f}"


def judge(rendering: Rendering, expected: Expected, viewport: Viewport) -> list[str]:
    """Everything wrong with the page as rendered: [] when it reads right."""
    where = f"{viewport.name} ({viewport.width} px)"
    measured, problems = rendering.measured, []
    word, colour = BANNER[expected.exit_code]
    banner = measured["banner"]
    if not banner:
        problems.append(f"{where}: no verdict banner")
    else:
        if not banner["text"].startswith(f"{word}:"):
            problems.append(f"{where}: the banner says {banner['text']!r}; the run's verdict is {word}")
        seen = {
            "text": colour_name(banner["color"]),
            "background": colour_name(banner["background"]),
            "background on screen": colour_name(rendering.banner_pixels[0]) if rendering.banner_pixels else "none",
        }
        if len(set(rendering.banner_pixels)) > 1:
            seen["background on screen"] = "uneven"
        problems += [f"{where}: the banner's {k} is {v}, not {colour}" for k, v in seen.items() if v != colour]
    sections = {s["env"]: s for s in measured["sections"]}
    if list(sections) != expected.envs:
        problems.append(f"{where}: sections for {list(sections)}, expected {expected.envs}")
    for env, section in sections.items():
        listed = [item for item in expected.listed if item.env == env]
        tables = {
            "fixes": [i for i in listed if i.verdict != "waived"],
            "waived": [i for i in listed if i.verdict == "waived"],
        }
        for table, items in tables.items():
            rows = section[table]
            names = [row[0] for row in rows]
            for item in items:
                matching = [row for row in rows if row[0].endswith(f"::{item.check}")]
                if len(matching) != 1:
                    problems.append(f"{where}: {env}: {item.check} is listed {len(matching)} times under {table}")
                    continue
                row = " ".join(matching[0])
                verdict = {"error": "could not evaluate"}.get(item.verdict, item.verdict)
                if table == "fixes" and matching[0][1] != verdict:
                    problems.append(f"{where}: {env}: {item.check} shown as {matching[0][1]!r}, not {verdict!r}")
                problems += [
                    f"{where}: {env}: {item.check}'s row lacks {text!r}" for text in item.shows if text not in row
                ]
            unexpected = [n for n in names if not any(n.endswith(f"::{i.check}") for i in items)]
            problems += [
                f"{where}: {env}: {n} is under {table}, where the run's results do not put it" for n in unexpected
            ]
    if measured["innerWidth"] != viewport.width:
        problems.append(
            f"{where}: the page lays out {measured['innerWidth']} px wide "
            "(no viewport meta, or content wider than the screen)"
        )
    if measured["scrollWidth"] > viewport.width:
        problems.append(f"{where}: the page is {measured['scrollWidth']} px wide, wider than the screen")
    problems += [
        f"{where}: <{w['tag']} class='{w['cls']}'> reaches {w['right']} px: {w['text'][:60]!r}"
        for w in measured["wide"]
    ]
    problems += [f"{where}: a request leaves the file: {url}" for url in rendering.requests if url != rendering.url]
    problems += [f"{where}: the page refers to {ref!r}" for ref in measured["outside"]]
    if measured["scripts"]:
        problems.append(f"{where}: {measured['scripts']} script element(s); the page promises none")
    problems += [f"{where}: an error in the page: {error}" for error in rendering.errors]
    return problems


def look(browser: Browser, page: Path, expected: Expected, keep_as: str | None = None) -> list[str]:
    """The page at both widths, judged; each first screen kept as benchmarks/<keep_as>-<viewport>.png."""
    problems = []
    for viewport in (LAPTOP, PHONE):
        rendering = browser.render(page, viewport.width, viewport.height, mobile=viewport.mobile)
        if keep_as:
            (screenshots_beside(page) / f"{keep_as}-{viewport.name}.png").write_bytes(rendering.screenshot)
        problems += [f"{keep_as or page.name}, {problem}" for problem in judge(rendering, expected, viewport)]
    return problems


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as running:
        yield running
    assert not running.left_behind(), f"chromium processes left running: {running.left_behind()}"


def _waive(sandbox: Sandbox, check: str) -> None:
    override = sandbox.directory / "policy-override.toml"
    override.write_text(
        override.read_text()
        + f'\n[[waivers]]\ncheck = "{check}"\nresource = "*allowed_services"\nreason = "vendor migration, INC-1234"\n'
        + f'owner = "alice@example.gov"\nexpires = {(date.today() + timedelta(days=7)).isoformat()}\n'
    )


@pytest.mark.sandbox
def test_the_summaries_of_a_sandbox_run_read_right_in_a_browser(
    clean_sandbox: Sandbox, browser: Browser, tmp_path: Path
) -> None:
    """A failure (L1: the SLI metric filter deleted), the check it leaves unable to evaluate, and a waived
    finding (F12, waived for a week) in env `sandbox`; env `staging`, clean, beside it for the nightly page."""
    base = Path(tempfile.mkdtemp(prefix="envtest-browser-"))
    base.chmod(0o755)  # squid, once it drops root, must reach the sandbox's directory
    staging = base / "staging"
    environ = base_environ()
    up = subprocess.Popen(
        [sys.executable, "-m", "envtest_double", "--sandbox-up", str(staging), "staging"],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        FAULTS["L1"].seed(clean_sandbox)
        FAULTS["F12"].seed(clean_sandbox)
        _waive(clean_sandbox, "runner_allows_no_services")
        run = run_suite(
            ["sandbox", "--json", str(tmp_path / "sandbox.json")], {**environ, **clean_sandbox.environ}, tmp_path
        )
        assert run.exit_code == 1, run.stdout[-2000:] + run.stderr[-2000:]
        _, errors = up.communicate(timeout=180)
        assert up.returncode == 0, errors
        clean = run_suite(
            ["staging", "--json", str(tmp_path / "staging.json")], {**environ, **Sandbox(staging).environ}, tmp_path
        )
        assert clean.exit_code == 0, clean.stdout[-2000:] + clean.stderr[-2000:]
        nightly = tmp_path / "nightly.xml"
        merge = subprocess.run(
            [
                sys.executable,
                "-m",
                "envtest",
                "--merge-junit",
                str(nightly),
                str(run.junit_path),
                str(clean.junit_path),
            ],
            cwd=ROOT,
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert merge.returncode == 1, merge.stdout + merge.stderr  # the nightly's verdict: one env failed
    finally:
        if up.poll() is None:
            up.kill()
            up.communicate()
        stop_all(staging)
        shutil.rmtree(base, ignore_errors=True)
    sandbox, staging = (json.loads((tmp_path / f"{env}.json").read_text()) for env in ("sandbox", "staging"))
    listed = expected_from_results(sandbox)
    # The page is of a run that holds what it must show: a failure, a waiver and a could-not-evaluate.
    assert sorted({item.verdict for item in listed}) == ["error", "failed", "waived"], listed
    problems = look(browser, run.junit_path.with_suffix(".html"), Expected(1, ["sandbox"], listed), "summary")
    every_env = Expected(1, ["sandbox", "staging"], expected_from_results(sandbox, staging))
    problems += look(browser, nightly.with_suffix(".html"), every_env, "nightly")
    # And the clean env's own page: PASSED, in green, nothing to fix; only the sandbox's own waived findings
    # (envtest_double/sandbox-waivers.toml: the real code's path to the IdP's proxy) listed, as waived.
    clean_listed = expected_from_results(staging)
    assert {item.verdict for item in clean_listed} == {"waived"}, clean_listed
    problems += look(browser, clean.junit_path.with_suffix(".html"), Expected(0, ["staging"], clean_listed))
    assert problems == []


# The control: a page of the same shape, made by the same renderer from a JUnit file written here, that
# passes the judgement whole, and fails it when broken in one way.
# A word with no break in it (a key's id), longer than a phone is wide and than the laptop's column.
LONG_ARN = "arn:aws:kms:us-west-2:123456789012:key/" + "0123456789abcdef" * 6
JUNIT = f"""<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="envtest" tests="4"
 timestamp="2026-12-04T10:00:00">
<testcase classname="tests.test_s3_access" name="test_escrow_bucket_is_private" time="0.4"><failure
 message="{LONG_ARN}">{LONG_ARN}
  expected: no public read
  found:    public read through the bucket policy
  fix:      remove the Allow for Principal * from the bucket policy</failure></testcase>
<testcase classname="tests.test_logs" name="test_metric_filter_counts" time="0.1"><error
 message="could not evaluate: no metric filter to try">could not evaluate: no metric filter to try</error></testcase>
<testcase classname="tests.images.test_runner_config" name="test_runner_allows_no_services" time="0"><skipped
 message="waived: allowed_services waived until 2026-12-31 by alice@example.gov: INC-1234"/></testcase>
<testcase classname="tests.test_runner" name="test_runner_is_hardened" time="0.2"/>
</testsuite></testsuites>"""
SYNTHETIC = Expected(
    1,
    ["dev"],
    [
        Listed("dev", "test_escrow_bucket_is_private", "failed", [LONG_ARN, "remove the Allow for Principal *"]),
        Listed("dev", "test_metric_filter_counts", "error"),
        Listed("dev", "test_runner_allows_no_services", "waived", ["alice@example.gov", "2026-12-31"]),
    ],
)
BREAKAGES = {
    # name: (the page's text, replaced by, what the judgement must then say)
    "banner-green-on-failure": ("banner fail", "banner pass", "the banner's text is green, not red"),
    "banner-says-passed": ("FAILED: a check", "PASSED: a check", "the banner says 'PASSED"),
    "long-word-overflows": ("td,pre,p{overflow-wrap:anywhere}", "td,p{}", "wider than the screen"),
    "area-table-too-wide": (
        ".areas{font-size:.75em}.areas th{font-weight:normal}",
        "",
        "<table class='areas'> reaches",
    ),
    "no-viewport-meta": ("<meta name='viewport'", "<meta name='x'", "the page lays out 980 px wide"),
    "fix-missing": ("  fix:      remove the Allow", "  see the runbook", "row lacks 'remove the Allow"),
    "failure-listed-twice": (
        "</table><h3>Waived",
        "<tr><td>s3_access::test_escrow_bucket_is_private</td><td>failed</td><td>again</td></tr></table><h3>Waived",
        "test_escrow_bucket_is_private is listed 2 times",
    ),
    "request-leaves": ("<h1>", "<img src='https://example.com/p.png'><h1>", "a request leaves the file: https://"),
    "style-fetches": ("pre{white-space:pre-wrap;margin:0}", "pre{background:url(https://example.com/b.png)}", "'url('"),
    "script-error": ("<h1>", "<script>throw new Error('broken page')</script><h1>", "Error: broken page"),
}


@pytest.fixture(scope="module")
def synthetic_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("page") / "dev.xml"
    path.write_text(JUNIT)
    junit.finalize(path, {"env": "dev"})
    return html.write_beside(path)


def test_the_unbroken_control_page_reads_right(browser: Browser, synthetic_page: Path) -> None:
    assert look(browser, synthetic_page, SYNTHETIC) == []


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_a_page_broken_on_purpose_fails_the_judgement(
    breakage: str, browser: Browser, synthetic_page: Path, tmp_path: Path
) -> None:
    old, new, says = BREAKAGES[breakage]
    text = synthetic_page.read_text()
    assert old in text, f"the control no longer applies: {old!r} is not in the page"
    broken = tmp_path / "broken.html"
    broken.write_text(text.replace(old, new, 1))
    problems = look(browser, broken, SYNTHETIC)
    assert problems, f"{breakage}: the judgement found nothing wrong"
    assert any(says in p for p in problems), problems
