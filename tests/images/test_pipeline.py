"""The pipeline's jobs use only images the env runner allows."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from envtest.fixtures.images import AllowedImagesInForce, PipelineFile
from envtest.parsers import image_patterns, pipeline
from envtest.problems import Problem, check
from envtest.settings import Settings

if TYPE_CHECKING:
    pass
from tests.images import ADD_DIGEST


@pytest.mark.catches(
    "F14-empty",
    "F18: the pipeline deploys a digest the runner does not allow",
    "P18: era 2: the pipeline deploys an image outside the blessed path",
)
# In the pattern era the allowed set is what the running runner's config.toml says: no runner, no verdict.
@pytest.mark.blinded_by("F16", "F16-group")
def test_pipeline_uses_only_allowed_images(
    pipeline_images: PipelineFile,
    images_mode: str,
    settings: Settings,
    request: pytest.FixtureRequest,
) -> None:
    """Every image this env's pipeline jobs use is one the runner allows.

    Why: a job whose image is not allowed fails at deploy time, mid-release.
    Fails on: an image this env's jobs in `.gitlab-ci.yml` use (templates resolved through `extends`, the
    lockdown probe's own jobs excluded) that the runner does not allow: not in the file, or not matching a
    blessed pattern as gitlab-runner matches them.
    Fix: add the image's digest to the file, or change the job to a blessed image.
    """
    path, found = pipeline_images.path, pipeline_images.images
    problems = [
        Problem(str(path), f"jobs for env {settings.env_name}", p, "fix the pipeline file") for p in found.problems
    ]
    if images_mode == "pattern":
        patterns: list[str] = request.getfixturevalue("allowed_patterns")
        for image in found.images:
            if image.where == "image" and not image_patterns.allowed(patterns, image.value):
                problems.append(
                    Problem(
                        f"{path} job {image.job} image",
                        f"an image the runner allows ({', '.join(patterns)})",
                        image.value,
                        "use a blessed image by digest (cd/<name>/blessed@sha256:...)",
                    )
                )
        check(problems)
        return
    images_file: AllowedImagesInForce = request.getfixturevalue("images_file")
    allowed_refs = {ref.text for ref in images_file.parsed.references}
    allowed_digests = {ref.digest for ref in images_file.parsed.references if ref.pinned}
    for image in found.images:
        resource = f"{path} job {image.job} {image.where}"
        if not pipeline.well_formed_digest(image.digest):
            problems.append(
                Problem(
                    resource,
                    "an image pinned by sha256 digest",
                    image.value,
                    "pin the job's image by digest, as the runner only runs listed digests",
                )
            )
        elif image.where == "image" and "@" in image.value and image.value not in allowed_refs:
            problems.append(Problem(resource, f"a reference listed in {images_file.location}", image.value, ADD_DIGEST))
        elif image.digest not in allowed_digests:
            problems.append(Problem(resource, f"a digest listed in {images_file.location}", image.value, ADD_DIGEST))
    check(problems)
