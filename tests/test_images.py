"""The env runner's image lockdown: it runs only digest-pinned images from the allowed list,
cannot have its entrypoint overridden, runs no services, and refuses anything else."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

import pytest

from envtest.errors import CouldNotEvaluate
from envtest.fixtures.images import AllowedImagesInForce, PipelineFile, RunnerEntry
from envtest.parsers import image_patterns, pipeline
from envtest.parsers.image_patterns import unrestricted
from envtest.policy import Policy
from envtest.problems import Problem, check, fail
from envtest.settings import Settings

if TYPE_CHECKING:
    from envtest.gather.gitlab import JobRun

RUNBOOK = "runbook, 'Updating allowed images on env_runner'"
ADD_DIGEST = (
    "add the image by digest (repo/name@sha256:...) in a new dated block of the common allowed-images file, "
    "push it to both the tooling-prod and tooling-sandbox secrets buckets, then recycle the env runner"
    f" ({RUNBOOK})"
)


def _line(images_file: AllowedImagesInForce, line: int) -> str:
    return f"{images_file.location} line {line}"


@pytest.mark.catches("F11-policy")
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
    if images_file.override and not policy.section("images")["allow_env_override"]:
        fail(
            Problem(
                images_file.location,
                f"no env override: this env uses {images_file.common_location}",
                "an env override in force",
                f"remove the env's own file so the runner uses the common one, then recycle the env runner ({RUNBOOK})",
            )
        )


@pytest.mark.catches("F9-word")
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
                _line(images_file, line),
                "an image reference, a dated separator, a comment or a blank line",
                message,
                "fix the line; every reference on its own line, each block after a dated separator",
            )
            for line, message in images_file.parsed.problems
        ]
    )


@pytest.mark.catches("F9", "F10", "F11")
def test_every_allowed_image_is_pinned_by_digest(images_file: AllowedImagesInForce) -> None:
    """Every allowed image is pinned by a full sha256 digest.

    Why: a tag can be repointed; only a digest pins what runs with the env's credentials.
    Fails on: tag-only references, malformed digests, also in an env override.
    Fix: replace the reference with a `@sha256:` line from `run_tests.sh --image-digest-line`.
    """
    check(
        [
            Problem(
                _line(images_file, ref.line),
                "repo/name@sha256:<64 lower-case hex digits>",
                f"{ref.text} ({ref.pin_problem()})",
                ADD_DIGEST,
            )
            for ref in images_file.parsed.references
            if not ref.pinned
        ]
    )


@pytest.mark.catches("F9-registry")
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
                _line(images_file, ref.line),
                f"an image from {' or '.join(approved_registries)}",
                ref.text,
                "build the image into the env's own ECR registry and list it from there",
            )
            for ref in images_file.parsed.references
            if ref.registry not in approved_registries
        ]
    )


@pytest.mark.catches("F9-date")
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
    limit = int(policy.section("images")["max_blocks"])
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
        where = _line(images_file, block.line)
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


@pytest.mark.catches("F9", "F10", "F11", "F11-comments", "F9-word")
def test_the_running_boot_code_allows_only_listed_images(images_file: AllowedImagesInForce, policy: Policy) -> None:
    """The boot code, as it runs, would allow only the listed images.

    Why: the era-1 boot code splits the file on white space, so comment words and tags become allowed images.
    Fails on: what the split-on-white-space boot code would allow besides pinned references: comment words,
    tags.
    Fix: remove the comments or tags from the file.
    """
    if policy.section("images").get("loader", "split") not in {"split", "split-drop-separators"}:
        pytest.skip("policy [images] loader: this env's boot code parses the file")
    tokens = images_file.parsed.legacy_tokens
    if tokens:
        fail(
            Problem(
                images_file.location,
                "only dated XXXXXdate_separatorXXXXX lines and digest-pinned references: the boot code in use "
                "splits the file on white space and allows every token as an image",
                "these tokens become allowed images: "
                + ", ".join(repr(t) for t in tokens[:20])
                + (f" and {len(tokens) - 20} more" if len(tokens) > 20 else ""),
                "keep XXXXXdate_separatorXXXXX separators (no comment lines) until the new boot code runs everywhere "
                f"({RUNBOOK})",
            )
        )


@pytest.mark.catches("F19")
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
                    _line(images_file, ref.line),
                    f"ECR repository {ref.repository} exists",
                    "no such repository",
                    "fix the repository name in the allowed-images file",
                )
            )
        elif ref.digest not in digests:
            problems.append(
                Problem(
                    _line(images_file, ref.line),
                    f"{ref.digest} in ECR {ref.repository}",
                    "no image with that digest (stale or mistyped)",
                    f"copy the digest from the image build log or the ECR console, or remove the line ({RUNBOOK})",
                )
            )
    check(problems)


def _recipe_tokens(loader: str, raw: str) -> list[str]:
    """What the boot code registers from the file (policy [images] loader)."""
    tokens = raw.split()
    if loader == "split-drop-separators":
        tokens = [t for t in tokens if "XXXXXdate_separatorXXXXX" not in t]
    elif loader != "split":
        raise CouldNotEvaluate(f"policy [images] loader = {loader!r}: split or split-drop-separators")
    return tokens


@pytest.mark.catches("F14", "F14-alpine", "F14-glob", "F14-slash", "F14-stale", "P14-empty", "P14-alpine")
@pytest.mark.blinded_by("F16", "F16-group")
def test_runner_allows_exactly_the_images_in_force(
    env_runner_entries: list[RunnerEntry],
    images_mode: str,
    policy: Policy,
    request: pytest.FixtureRequest,
) -> None:
    """The runner's config.toml allows exactly the images in force.

    Why: the runner reads the file only at boot; after an edit, it keeps allowing the old list until recycled.
    Fails on: config.toml's `allowed_images` differs from what the boot code registers: the file in force split
    as `[images] loader` says, or the blessed patterns: recycle the runner.
    Fix: recycle the env runner so it boots with the file in force.
    """
    if images_mode == "file":
        images_file: AllowedImagesInForce = request.getfixturevalue("images_file")
        loader = str(policy.section("images").get("loader", "split"))
        wanted = _recipe_tokens(loader, images_file.raw)
        source = f"the boot code's reading ({loader}) of {images_file.location}"
        fix = "recycle the env runner so it registers again from the file in force"
    else:
        wanted = request.getfixturevalue("allowed_patterns")
        source = "the blessed pattern (policy [images] patterns, as runner.rb builds it)"
        fix = "recycle the env runner so it registers again with the cookbook's pattern"
    problems = []
    for where, runner in ((e.where, e.runner) for e in env_runner_entries):
        configured = runner.docker.get("allowed_images")
        if not isinstance(configured, list):
            continue  # no list at all: the runner allows every image (its own check says so)
        problems += [
            Problem(f"{where} [runners.docker] allowed_images", f"only what {source} gives", f"also {image!r}", fix)
            for image in sorted(set(configured) - set(wanted))
        ]
        problems += [
            Problem(
                f"{where} [runners.docker] allowed_images",
                f"{image!r} (from {source})",
                "not allowed by the running runner",
                f"{fix} ({RUNBOOK})",
            )
            for image in sorted(set(wanted) - set(configured))
        ]
    check(problems)


@pytest.mark.catches("F14-empty", "P14-empty")
@pytest.mark.blinded_by("F16", "F16-group")
def test_runner_does_not_allow_every_image(env_runner_entries: list[RunnerEntry]) -> None:
    """The runner does not allow every image.

    Why: gitlab-runner treats an empty `allowed_images` as no restriction at all.
    Fails on: an empty or absent `allowed_images`, or a pattern that matches any image: gitlab-runner then runs
    anything.
    Fix: restore the allowed-images file (or the blessed patterns) and recycle the runner.
    """
    problems = []
    for where, runner in ((e.where, e.runner) for e in env_runner_entries):
        configured = runner.docker.get("allowed_images")
        patterns = configured if isinstance(configured, list) else []
        # gitlab-runner: an empty (or absent) allowed_images list allows every image.
        wide = unrestricted([str(p) for p in patterns])
        if wide:
            problems.append(
                Problem(
                    f"{where} [runners.docker] allowed_images",
                    "a list that names the images (or the blessed pattern) the env runner may run",
                    "the runner allows every image: "
                    + ("no allowed_images list" if not isinstance(configured, list) else ", ".join(map(repr, wide))),
                    "recycle the env runner so it registers with the allowed-images file (era 1) or the blessed "
                    "pattern (era 2); if the file in force is empty, restore it first "
                    f"({RUNBOOK}; 'Container security')",
                )
            )
    check(problems)


@pytest.mark.catches("F12")
@pytest.mark.blinded_by("F16", "F16-group")
def test_runner_allows_no_services(env_runner_entries: list[RunnerEntry], policy: Policy) -> None:
    """The runner allows no service containers.

    Why: a service container is an image that escapes the allowed-images list.
    Fails on: `allowed_services` other than `[""]`.
    Fix: set `allowed_services = [""]` in the runner's config template and recycle.
    """
    expected = policy.section("images")["runner"]["allowed_services"]
    problems = []
    for where, runner in ((e.where, e.runner) for e in env_runner_entries):
        found = runner.docker.get("allowed_services")
        if found != expected:
            meaning = "every service" if found in ([], None) else "services"
            problems.append(
                Problem(
                    f"{where} [runners.docker] allowed_services",
                    repr(expected) + " (a list holding one empty string allows no service)",
                    f"{found!r}, which allows {meaning}",
                    "set node.run_state['allowed_services'] back to [\"\"] in the identity-gitlab cookbook and "
                    "recycle the env runner (runbook, 'Updating allowed services on env_runner')",
                )
            )
    check(problems)


@pytest.mark.catches("F13")
@pytest.mark.blinded_by("F16", "F16-group")
def test_runner_cannot_override_entrypoints(env_runner_entries: list[RunnerEntry]) -> None:
    """Jobs cannot override the entrypoint of an allowed image.

    Why: with an overridable entrypoint, an allowed image runs any command a job chooses.
    Fails on: `disable_entrypoint_overwrite` not true.
    Fix: set `disable_entrypoint_overwrite = true` in the config template and recycle.
    """
    check(
        [
            Problem(
                f"{where} [runners.docker] disable_entrypoint_overwrite",
                "true",
                repr(runner.docker.get("disable_entrypoint_overwrite")),
                "register with --docker-disable-entrypoint-overwrite (recycle the env runner): otherwise a "
                "job can run any command in the allowed image (runbook, 'Container security')",
            )
            for where, runner in ((e.where, e.runner) for e in env_runner_entries)
            if runner.docker.get("disable_entrypoint_overwrite") is not True
        ]
    )


@pytest.mark.catches("F13-privileged")
@pytest.mark.blinded_by("F16", "F16-group")
def test_runner_is_hardened(env_runner_entries: list[RunnerEntry], policy: Policy, settings: Settings) -> None:
    """The runner's docker executor is hardened as the policy says.

    Why: privileged containers or raw sockets undo the lockdown from inside a job.
    Fails on: executor, `concurrent = 1`, privileged, `no-new-privileges`, `net_raw` dropped, `runner-net`,
    `MY_ENV` in the job environment.
    Fix: set the named field in the config template and recycle.
    """
    wanted = policy.section("images")["runner"]
    fix = "recycle the env runner; if it persists, fix the registration in the identity-gitlab cookbook"
    problems = []
    for where, config, runner in ((e.where, e.config, e.runner) for e in env_runner_entries):
        docker = runner.docker

        def expect(key: str, expected: object, found: object, where: str = where) -> None:
            if found != expected:
                problems.append(Problem(f"{where} {key}", repr(expected), repr(found), fix))

        expect("[[runners]] executor", wanted["executor"], runner.executor)
        expect("concurrent", wanted["concurrent"], config.concurrent)
        expect("[runners.docker] privileged", False, docker.get("privileged", False))
        expect("[runners.docker] network_mode", wanted["network_mode"], docker.get("network_mode"))
        for key, needed in (("security_opt", wanted["security_opt"]), ("cap_drop", wanted["cap_drop"])):
            have = {str(v).lower() for v in docker.get(key, []) or []}
            absent = [v for v in needed if v.lower() not in have]
            if absent:
                problems.append(
                    Problem(f"{where} [runners.docker] {key}", f"includes {absent}", repr(docker.get(key)), fix)
                )
        if f"MY_ENV={settings.env_name}" not in runner.environment:
            found = [e for e in runner.environment if e.startswith("MY_ENV=")]
            problems.append(
                Problem(
                    f"{where} [[runners]] environment",
                    f"MY_ENV={settings.env_name} (jobs use it to refuse deploying to another env)",
                    repr(found) if found else "no MY_ENV",
                    fix,
                )
            )
    check(problems)


@pytest.mark.catches("F14-empty", "F18", "P18")
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


@pytest.mark.catches("F14-empty", "F14-alpine", "F14-glob", "F14-stale", "P14-empty", "P14-alpine")
def test_env_runner_refuses_a_forbidden_image(lockdown_runs: list[JobRun], images_mode: str) -> None:
    """The env runner refuses a forbidden image, live (the Go suite's lockdown test).

    Why: only the runner's own refusal proves the lockdown holds; files and config can agree and still be
    wrong.
    Fails on: live (the Go suite's lockdown test): plays or retries `badtest_<env>` (era 1), or
    `run_unallowed_image` then `test_unallowed_image` (era 2), through GitLab's API (every page of the
    pipeline's jobs, every wait bounded), and passes only if the runner refused the image in its own words
    (`envtest/parsers/job_log.py`); the failure names the job, the image and what the runner said. Skipped
    without `GITLAB_API_TOKEN`; runs in every sandbox run.
    Fix: the failure names the job, the image and what the runner said; fix the runner's allowed images.
    """
    for run in lockdown_runs:
        print(
            f"{run.job} (job {run.job_id}) {run.action}; ended {run.status} "
            f"({run.failure_reason or 'no failure reason'}) after {run.seconds:.0f} s; "
            f"the runner {run.log.runner_said()}"
        )
    fix = (
        "the env runner ran an image it must refuse: check [runners.docker] allowed_images in "
        "/etc/gitlab-runner/config.toml on the env runner (the static image checks name what is wrong), fix the "
        "allowed-images file or the pattern, and recycle the env runner"
    )
    must_refuse = lockdown_runs[0]
    _judge_refused(must_refuse, fix)
    if images_mode == "pattern":
        if len(lockdown_runs) < 2:
            raise CouldNotEvaluate("the probe ran out of time before its second job")
        proof = lockdown_runs[1]
        if proof.status == "success":
            return
        _not_ended(proof)
        fail(
            Problem(
                proof.where(),
                f"success: {must_refuse.job} was refused, so it left nothing behind",
                f"{proof.status} ({proof.failure_reason or 'no failure reason'}); the runner {proof.log.runner_said()}",
                fix if proof.failure_reason == "script_failure" else "read the job's log: it did not run its test",
            )
        )


def _not_ended(run: JobRun) -> None:
    if run.status not in {"success", "failed", "canceled", "skipped"}:
        fail(
            Problem(
                run.where(),
                "the job ends within the probe's wait",
                f"still {run.status} after {run.seconds:.0f} s",
                "is the env runner registered and picking up jobs? (runbook, 'Debugging env_runner issues')",
            )
        )


def _judge_refused(run: JobRun, fix: str) -> None:
    if run.refused:
        return  # the runner said it: the image is not on its list
    _not_ended(run)
    expected = "the job fails because the env runner refuses its image ('not present on list of allowed images')"
    if run.log.ran_image is None and run.status == "failed":
        raise CouldNotEvaluate(
            f"{run.where()} failed ({run.failure_reason or 'no reason given'}) but its log shows neither a refusal "
            f"nor the image running (the runner {run.log.runner_said()}): the lockdown was not exercised"
        )
    fail(Problem(run.where(), expected, f"the runner {run.log.runner_said()}; the job ended {run.status}", fix))
