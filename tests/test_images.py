"""The env runner's image lockdown: it runs only digest-pinned images from the allowed list,
cannot have its entrypoint overridden, runs no services, and refuses anything else."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from envtest.checks import Problem, check, fail
from envtest.errors import CouldNotEvaluate
from envtest.fixtures.images import AllowedImagesInForce
from envtest.gather.gitlab import JobRun
from envtest.parsers import image_patterns, pipeline
from envtest.parsers.image_patterns import unrestricted
from envtest.parsers.runner_config import Runner, RunnerConfig
from envtest.policy import Policy
from envtest.settings import Settings

RUNBOOK = "runbook, 'Updating allowed images on env_runner'"
ADD_DIGEST = (
    "add the image by digest (repo/name@sha256:...) in a new dated block of the common allowed-images file, "
    "push it to both the tooling-prod and tooling-sandbox secrets buckets, then recycle the env runner"
    f" ({RUNBOOK})"
)


def _line(images_file: AllowedImagesInForce, line: int) -> str:
    return f"{images_file.location} line {line}"


def test_allowed_images_file_in_force_is_one_the_policy_allows(
    images_file: AllowedImagesInForce, policy: Policy
) -> None:
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


def test_allowed_images_file_reads_cleanly(images_file: AllowedImagesInForce) -> None:
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


def test_every_allowed_image_is_pinned_by_digest(images_file: AllowedImagesInForce) -> None:
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


def test_every_allowed_image_comes_from_an_approved_registry(
    images_file: AllowedImagesInForce, approved_registries: list[str]
) -> None:
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


def test_allowed_image_blocks_are_dated_in_order_and_within_the_limit(
    images_file: AllowedImagesInForce, policy: Policy
) -> None:
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


def test_the_running_boot_code_allows_only_listed_images(images_file: AllowedImagesInForce, policy: Policy) -> None:
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


def test_every_allowed_digest_exists_in_ecr(
    images_file: AllowedImagesInForce, ecr_digests: dict[str, list[str] | None]
) -> None:
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


def test_runner_allows_exactly_the_images_in_force(
    env_runner_entries: list[tuple[str, RunnerConfig, Runner]],
    images_mode: str,
    policy: Policy,
    request: pytest.FixtureRequest,
) -> None:
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
    for where, _, runner in env_runner_entries:
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


def test_runner_does_not_allow_every_image(env_runner_entries: list[tuple[str, RunnerConfig, Runner]]) -> None:
    problems = []
    for where, _, runner in env_runner_entries:
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


def test_runner_allows_no_services(env_runner_entries: list[tuple[str, RunnerConfig, Runner]], policy: Policy) -> None:
    expected = policy.section("images")["runner"]["allowed_services"]
    problems = []
    for where, _, runner in env_runner_entries:
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


def test_runner_cannot_override_entrypoints(env_runner_entries: list[tuple[str, RunnerConfig, Runner]]) -> None:
    check(
        [
            Problem(
                f"{where} [runners.docker] disable_entrypoint_overwrite",
                "true",
                repr(runner.docker.get("disable_entrypoint_overwrite")),
                "register with --docker-disable-entrypoint-overwrite (recycle the env runner): otherwise a "
                "job can run any command in the allowed image (runbook, 'Container security')",
            )
            for where, _, runner in env_runner_entries
            if runner.docker.get("disable_entrypoint_overwrite") is not True
        ]
    )


def test_runner_is_hardened(
    env_runner_entries: list[tuple[str, RunnerConfig, Runner]], policy: Policy, settings: Settings
) -> None:
    wanted = policy.section("images")["runner"]
    fix = "recycle the env runner; if it persists, fix the registration in the identity-gitlab cookbook"
    problems = []
    for where, config, runner in env_runner_entries:
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


def test_pipeline_uses_only_allowed_images(
    pipeline_images: tuple[Path, pipeline.PipelineImages],
    images_mode: str,
    settings: Settings,
    request: pytest.FixtureRequest,
) -> None:
    path, found = pipeline_images
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


def test_env_runner_refuses_a_forbidden_image(lockdown_runs: list[JobRun], images_mode: str) -> None:
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
