"""A GitLab job log (its trace), read for what the runner said about the job's image.

gitlab-runner writes (common/allowed_images.go, VerifyAllowedImage; executors/docker/docker.go):
- a refusal: a blank line, `ERROR: The "<image>" image is not present on list of allowed images:` (or `services`),
  one `- <pattern>` line per allowed pattern, a blank line, then `Please check runner's allowed_images
  configuration: ...`; the preparation is retried, each try ending `ERROR: Preparation failed: disallowed image`,
  and the job ends `ERROR: Job failed (system failure): disallowed image`;
- an image it accepted: `Using Docker executor with image <image> ...`, then the script;
- the end: `Job succeeded`, or `ERROR: Job failed: <reason>` (the script), or `ERROR: Job failed (system
  failure): <reason>`.
Lines carry ANSI colour codes and GitLab's collapsible-section markers (`section_start:<ts>:<name>`), stripped
here. Older runners wrote `ERROR: The <image> is not present on list of allowed images` (no quotes, no "image"
word); that spelling is read too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
SECTION = re.compile(r"section_(?:start|end):\d+:[A-Za-z0-9_.-]+(?:\[[^\]]*\])?\r?")
REFUSAL = re.compile(
    r'^ERROR: The (?:"(?P<quoted>[^"]*)" image|(?P<bare>\S+))'
    r" is not present on list of allowed (?P<kind>images|services)"
)
RAN = re.compile(r"^Using Docker executor with image (?P<image>\S+)")
FAILED = re.compile(r"^ERROR: Job failed(?P<system> \(system failure\))?: (?P<reason>.*)$")
# At most this much of a log is read (the end holds the verdict; the start the refusal): bounded input.
MAX_LINES = 20_000


@dataclass(frozen=True)
class JobLog:
    refused_image: str | None = None
    refused_kind: str | None = None  # "images" or "services"
    allowed_patterns: tuple[str, ...] = ()
    ran_image: str | None = None
    outcome: str = "unknown"  # "succeeded", "script failed", "system failure", "unknown"
    reason: str = ""
    lines: tuple[str, ...] = field(default=(), repr=False)

    @property
    def refused(self) -> bool:
        """The runner refused the job's image (or a service) before anything ran."""
        return self.refused_image is not None and self.ran_image is None

    def runner_said(self) -> str:
        """The runner's own words about the image, for a failure message."""
        if self.refused_image is not None:
            listed = ", ".join(self.allowed_patterns[:8]) + (" ..." if len(self.allowed_patterns) > 8 else "")
            return f'refused "{self.refused_image}" (not on its allowed {self.refused_kind}: {listed or "none"})'
        if self.ran_image is not None:
            return f"ran {self.ran_image}" + (f", then: {self.outcome} ({self.reason})" if self.reason else "")
        return f"no word about the image; the job {self.outcome}" + (f" ({self.reason})" if self.reason else "")


def clean_lines(text: str) -> list[str]:
    """The log's lines without colour codes and section markers (at most MAX_LINES, the first ones)."""
    text = SECTION.sub("", ANSI.sub("", text))
    return [line.rstrip("\r") for line in text.split("\n")[:MAX_LINES]]


def parse(text: str) -> JobLog:
    lines = clean_lines(text)
    refused_image = refused_kind = ran_image = None
    patterns: list[str] = []
    outcome, reason = "unknown", ""
    for number, line in enumerate(lines):
        stripped = line.strip()
        if refused_image is None and (m := REFUSAL.match(stripped)):
            refused_image = m["quoted"] if m["quoted"] is not None else m["bare"]
            refused_kind = m["kind"]
            for follow in lines[number + 1 :]:
                if not follow.startswith("- "):
                    break
                patterns.append(follow[2:].strip())
        elif ran_image is None and (m := RAN.match(stripped)):
            ran_image = m["image"]
        elif stripped == "Job succeeded":
            outcome, reason = "succeeded", ""
        elif m := FAILED.match(stripped):
            outcome, reason = ("system failure" if m["system"] else "script failed"), m["reason"].strip()
    return JobLog(refused_image, refused_kind, tuple(patterns), ran_image, outcome, reason, tuple(lines))
