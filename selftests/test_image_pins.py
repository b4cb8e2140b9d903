"""The env_test image is built from what the Dockerfile names by digest only: a tag (the frontend's
`docker/dockerfile:1`, a base's `3.11-slim`) can be moved to other content after review."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "docker" / "env_test.Dockerfile"
DIGEST = r"@sha256:[0-9a-f]{64}"


def test_the_syntax_frontend_is_pinned_by_digest() -> None:
    """BuildKit pulls the `# syntax=` image and runs it to parse the file: it sees the build context, the
    secrets and the mounts. A digest, or no directive (the builder's own frontend)."""
    lines = DOCKERFILE.read_text().splitlines()
    directives = [line for line in lines if re.match(r"#\s*syntax\s*=", line, re.IGNORECASE)]
    assert all(re.fullmatch(rf"# syntax=docker/dockerfile:[0-9.]+{DIGEST}", d) for d in directives), directives


def test_every_base_image_is_pinned_by_digest() -> None:
    bases = re.findall(r"^FROM\s+(?:--platform=\S+\s+)?(\S+)", DOCKERFILE.read_text(), re.MULTILINE)
    assert bases and all(re.search(rf"{DIGEST}$", base) for base in bases), bases
