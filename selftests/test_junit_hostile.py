"""The JUnit files stay readable and secret-free whatever text reaches them: the command's own reports (an
endpoint's reply in a preflight stop), and a skip whose reason held a secret."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from envtest.report import junit

ROOT = Path(__file__).resolve().parents[1]
JUNIT_XSD = xmlschema.XMLSchema(str(ROOT / "schemas" / "junit.xsd"))
# What a proxy's sign-in page or a broken endpoint may answer: colours, NUL, a vertical tab, a lone surrogate.
REPLY = "the endpoint answered, but not as AWS does (\x1b[31mSign in\x1b[0m\x00 \x0bpage \ud800 \ufffe end)"


@pytest.mark.parametrize("write", ["preflight_failure", "add_stop"])
def test_the_commands_own_report_survives_an_endpoints_reply(tmp_path: Path, write: str) -> None:
    path = tmp_path / "junit.xml"
    if write == "preflight_failure":
        junit.preflight_failure(path, "preflight", REPLY, {"env": "dev", "note": "a\x07b"})
    else:
        junit.preflight_failure(path, "pytest", "stopped", {"env": "dev"})
        junit.add_stop(path, "run_timeout", REPLY)
    ET.parse(path)  # well-formed
    JUNIT_XSD.validate(str(path))
    text = path.read_text(encoding="utf-8")
    assert "Sign in" in text and "page" in text and "end)" in text  # the reply is kept, readable
    assert "\\x1b[31m" in text and "\\x00" in text
    summary = junit.summarize(junit.load(path))
    assert (summary.errors, summary.passed) == (1 + (write == "add_stop"), 0)


SKIPPING = """
import pytest
from envtest import redact

def test_skipped():
    redact.register("skip-secret-0123456789abcdef", "a token")
    pytest.skip("no runner for skip-secret-0123456789abcdef")
"""


def test_a_skip_reason_holding_a_secret_is_reported_redacted(tmp_path: Path) -> None:
    (tmp_path / "test_skip.py").write_text(SKIPPING)
    report = tmp_path / "junit.xml"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "envtest.pytest_plugin", "-p", "no:cacheprovider", "-q",
         "--rootdir", str(tmp_path), str(tmp_path / "test_skip.py"), f"--junitxml={report}"],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr  # not 3: an INTERNALERROR lost the report
    text = report.read_text()
    assert "skip-secret-0123456789abcdef"[:12] not in text + done.stdout + done.stderr
    assert 'message="no runner for &lt;redacted:a token&gt;"' in text, text
