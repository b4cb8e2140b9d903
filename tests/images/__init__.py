"""The env runner's image lockdown: it runs only digest-pinned images from the allowed list, cannot
have its entrypoint overridden, runs no services, and refuses anything else.

What the image checks share: the runbook section their fixes cite, and how they name a line of the file."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from envtest.fixtures.images import AllowedImagesInForce

RUNBOOK = "runbook, 'Updating allowed images on env_runner'"
ADD_DIGEST = (
    "add the image by digest (repo/name@sha256:...) in a new dated block of the common allowed-images file, "
    "push it to both the tooling-prod and tooling-sandbox secrets buckets, then recycle the env runner"
    f" ({RUNBOOK})"
)


def line_of(images_file: AllowedImagesInForce, line: int) -> str:
    """How a fix names a line of the allowed-images file in force."""
    return f"{images_file.location} line {line}"
