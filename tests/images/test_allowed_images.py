"""The allowed-images file in force: the one the policy allows, readable, digest-pinned, from approved
registries, dated, as the boot code reads it, and every digest in ECR."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

import pytest

from envtest.errors import CouldNotEvaluate
from envtest.fixtures.images import AllowedImagesInForce
from envtest.parsers.allowed_images import unlisted_tokens
from envtest.policy import Policy
from envtest.problems import Problem, check, fail

if TYPE_CHECKING:
    pass
from tests.images import ADD_DIGEST, RUNBOOK, line_of


@pytest.mark.catches("F11-policy: an env override in force where the env's policy allows none")
def test_allowed_images_file_in_force_is_one_the_policy_allows(
    images_file: AllowedImagesInForce, policy: Policy
) -> None:
    """The allowed-images file in force is one the env's policy allows.

    Why: an env override replaces the common file entirely; it must be deliberate.
    Fails on: which file the runner uses (`<env>/...` override, else `common/...`), printed as evidence; an
    override where the policy forbids one. The file checks skip, saying why, in era 2 (`[images] mode =
    "pattern"`): that runner reads no file.
    Fix: delete the override from the secrets bucket, or allow it in the env's policy.
    """
    print(
        f"allowed-images file in force: {images_file.location}"
        + (" (an env override of the common file)" if images_file.override else "")
    )
    if images_file.override and not policy.images.allow_env_override:
        fail(
            Problem(
                images_file.location,
                f"no env override: this env uses {images_file.common_location}",
                "an env override in force",
                f"remove the env's own file so the runner uses the common one, then recycle the env runner ({RUNBOOK})",
            )
        )


@pytest.mark.catches("F9-word: a stray word in the allowed-images file")
def test_allowed_images_file_reads_cleanly(images_file: AllowedImagesInForce) -> None:
    """The allowed-images file reads cleanly, block by block.

    Why: a stray word or a separator without a date is read by the boot code as an image.
    Fails on: separators without dates, stray words, references before the first block; both separator
    spellings, comments, CRLF and a BOM are fine.
    Fix: edit the file as the failure says, check it with `run_tests.sh --check-allowed-images`, upload it.
    """
    check(
        [
            Problem(
                line_of(images_file, line),
                "an image reference, a dated separator, a comment or a blank line",
                message,
                "fix the line; every reference on its own line, each block after a dated separator",
            )
            for line, message in images_file.parsed.problems
        ]
    )


@pytest.mark.catches(
    "F9: allowed images: a tag-only reference",
    "F10: allowed images: a digest of 63 hex digits",
    "F11: an env override holding an image that is not pinned",
)
def test_every_allowed_image_is_pinned_by_digest(images_file: AllowedImagesInForce) -> None:
    """Every allowed image is pinned by a full sha256 digest.

    Why: a tag can be repointed; only a digest pins what runs with the env's credentials.
    Fails on: tag-only references, malformed digests, also in an env override.
    Fix: replace the reference with a `@sha256:` line from `run_tests.sh --image-digest-line`.
    """
    check(
        [
            Problem(
                line_of(images_file, ref.line),
                "repo/name@sha256:<64 lower-case hex digits>",
                f"{ref.text} ({ref.pin_problem()})",
                ADD_DIGEST,
            )
            for ref in images_file.parsed.references
            if not ref.pinned
        ]
    )


@pytest.mark.catches("F9-registry: a pinned image from outside the env's ECR")
@pytest.mark.blinded_by("F16", "F16-group")
def test_every_allowed_image_comes_from_an_approved_registry(
    images_file: AllowedImagesInForce, approved_registries: list[str]
) -> None:
    """Every allowed image comes from an approved ECR registry.

    Why: an image from elsewhere is code the team does not build or scan.
    Fails on: images from anywhere but the approved ECR registries (the tooling account's, the
    `gitlab_ecr_repo_accountid` tag's).
    Fix: push the image to the env's ECR and reference it there.
    """
    check(
        [
            Problem(
                line_of(images_file, ref.line),
                f"an image from {' or '.join(approved_registries)}",
                ref.text,
                "build the image into the env's own ECR registry and list it from there",
            )
            for ref in images_file.parsed.references
            if ref.registry not in approved_registries
        ]
    )


@pytest.mark.catches("F9-date: an allowed-images block dated in the future")
def test_allowed_image_blocks_are_dated_in_order_and_within_the_limit(
    images_file: AllowedImagesInForce, policy: Policy
) -> None:
    """The file's blocks are dated, in order, not in the future, and within the limit.

    Why: the dates are the audit trail of what was allowed when; old blocks left in keep old images allowed.
    Fails on: dates out of order or in the future, empty blocks, more blocks than `max_blocks`.
    Fix: correct the dates, and drop the oldest blocks.
    """
    blocks = images_file.parsed.blocks
    today = datetime.datetime.now(datetime.UTC).date()
    limit = policy.images.max_blocks
    problems = []
    if len(blocks) > limit:
        problems.append(
            Problem(
                images_file.location,
                f"at most {limit} blocks",
                f"{len(blocks)} blocks",
                f"remove the topmost (oldest) blocks no env still uses ({RUNBOOK})",
            )
        )
    previous = None
    for block in blocks:
        where = line_of(images_file, block.line)
        if block.date is None:
            continue  # reported by the reads-cleanly check
        if block.date > today:
            problems.append(
                Problem(
                    where,
                    f"a date no later than today ({today})",
                    str(block.date),
                    "date the separator with the day the block was added",
                )
            )
        if previous is not None and block.date < previous:
            problems.append(
                Problem(
                    where,
                    f"a date on or after the block above ({previous})",
                    str(block.date),
                    f"add new blocks at the end, after a dated separator ({RUNBOOK})",
                )
            )
        if not block.references:
            problems.append(
                Problem(
                    where,
                    "at least one image in the block",
                    "an empty block",
                    "remove the separator or add the block's images",
                )
            )
        previous = block.date
    check(problems)


@pytest.mark.catches(
    "F9", "F10", "F11", "F11-comments: comment separators under the split-on-white-space boot code", "F9-word"
)
def test_the_running_boot_code_allows_only_listed_images(images_file: AllowedImagesInForce, policy: Policy) -> None:
    """The boot code, as it runs, would allow only the listed images.

    Why: the era-1 boot code splits the file on white space, so comment words and tags become allowed images
    (from 2023-07 it drops the separator tokens and the tokens that start with #, but a comment's other words stay).
    Fails on: what the boot code (policy `[images] loader`) would allow besides pinned references and the old
    separator lines: comment words, tags.
    Fix: remove the comments or tags from the file.
    """
    loader = policy.images.loader
    try:
        tokens = unlisted_tokens(loader, images_file.raw)
    except ValueError as exc:
        raise CouldNotEvaluate(f"policy [images] {exc}") from None
    if tokens:
        fail(
            Problem(
                images_file.location,
                "only dated XXXXXdate_separatorXXXXX lines and digest-pinned references: the boot code in use "
                f"(policy [images] loader = {loader}) splits the file on white space and allows every token it "
                "keeps as an image",
                "these tokens become allowed images: "
                + ", ".join(repr(t) for t in tokens[:20])
                + (f" and {len(tokens) - 20} more" if len(tokens) > 20 else ""),
                "keep XXXXXdate_separatorXXXXX separators (no comment lines) until the new boot code runs everywhere "
                f"({RUNBOOK})",
            )
        )


@pytest.mark.catches("F19: an allowed digest that does not exist in ECR")
def test_every_allowed_digest_exists_in_ecr(
    images_file: AllowedImagesInForce, ecr_digests: dict[str, list[str] | None]
) -> None:
    """Every allowed digest exists in its ECR repository.

    Why: a stale or mistyped digest allows nothing useful and hides that the real image is not allowed.
    Fails on: a digest ECR does not hold.
    Fix: replace it with the digest ECR holds (`run_tests.sh --image-digest-line`).
    """
    problems = []
    # Sets: a repository may hold thousands of images, the file hundreds of references.
    in_ecr = {repo: set(found) for repo, found in ecr_digests.items() if found is not None}
    for ref in images_file.parsed.references:
        if not ref.pinned or ".dkr.ecr." not in ref.registry:
            continue  # unpinned and foreign references fail their own checks
        digests = in_ecr.get(f"{ref.registry}/{ref.repository}")
        if digests is None:
            problems.append(
                Problem(
                    line_of(images_file, ref.line),
                    f"ECR repository {ref.repository} exists",
                    "no such repository",
                    "fix the repository name in the allowed-images file",
                )
            )
        elif ref.digest not in digests:
            problems.append(
                Problem(
                    line_of(images_file, ref.line),
                    f"{ref.digest} in ECR {ref.repository}",
                    "no image with that digest (stale or mistyped)",
                    f"copy the digest from the image build log or the ECR console, or remove the line ({RUNBOOK})",
                )
            )
    check(problems)
