"""Faults in the allowed-images lockdown: the file, the runner's config.toml, the pipeline, ECR."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path

from envtest_double import ecr_images, env_facts
from envtest_double.running import Sandbox

IMAGES_KEY = "gitlab_env_runner_allowed_images"


def _runner_config(sandbox: Sandbox, edit: Callable[[str], str], *, must_change: bool = True) -> None:
    path = sandbox.host_path("env-runner", "/etc/gitlab-runner/config.toml")
    before = path.read_text()
    after = "\n".join(edit(line) for line in before.splitlines()) + "\n"
    if must_change and after == before:
        raise AssertionError("the fault changed nothing in config.toml")
    path.write_text(after)


def _runner_allows(sandbox: Sandbox, images: list[str]) -> None:
    """As if the runner was recycled with this list (registration writes one entry per reference)."""
    listed = ", ".join(json.dumps(i) for i in images)
    _runner_config(
        sandbox,
        lambda line: f"    allowed_images = [{listed}]" if line.strip().startswith("allowed_images =") else line,
        must_change=False,
    )


def _images_file(sandbox: Sandbox) -> str:
    body = (
        sandbox.client("s3")
        .get_object(Bucket=sandbox.world.bucket("secrets"), Key=f"common/{IMAGES_KEY}")["Body"]
        .read()
    )
    return str(body.decode())


def _put_images_file(sandbox: Sandbox, text: str, key: str = f"common/{IMAGES_KEY}") -> None:
    """A new file in force, and the runner recycled onto it (the recipe registers every white-space token)."""
    sandbox.client("s3").put_object(Bucket=sandbox.world.bucket("secrets"), Key=key, Body=text.encode())
    _runner_allows(sandbox, ecr_images.recipe_allowed_images(text, sandbox.world.loader))


def image_by_tag(sandbox: Sandbox) -> None:
    _put_images_file(
        sandbox, _images_file(sandbox) + ecr_images.image_ref("cd/env_deploy", "").rstrip("@") + ":latest\n"
    )


def image_digest_63_hex(sandbox: Sandbox) -> None:
    # In the older block: the pipeline deploys the newest, and must stay unaffected.
    text = _images_file(sandbox)
    oldest = text.splitlines()[1]
    _put_images_file(sandbox, text.replace(oldest, oldest[:-1]))


def env_override_unpinned(sandbox: Sandbox) -> None:
    text = _images_file(sandbox) + ecr_images.image_ref("cd/env_test", "").rstrip("@") + ":build-3\n"
    _put_images_file(sandbox, text, key=f"{sandbox.world.env}/{IMAGES_KEY}")


def images_with_comment_separators(sandbox: Sandbox) -> None:
    """The new separator spelling, while the running boot code still splits on white space."""
    text = _images_file(sandbox).replace("XXXXXdate_separatorXXXXX", "# images built on")
    _put_images_file(sandbox, text)


def runner_allows_every_service(sandbox: Sandbox) -> None:
    _runner_config(sandbox, lambda line: line.replace('allowed_services = [""]', "allowed_services = []"))


def runner_entrypoint_overwrite_allowed(sandbox: Sandbox) -> None:
    _runner_config(
        sandbox,
        lambda line: line.replace("disable_entrypoint_overwrite = true", "disable_entrypoint_overwrite = false"),
    )


def runner_allowed_images_drift(sandbox: Sandbox) -> None:
    """The file gained a block; the runner was not recycled and still allows the old list."""
    tokens = ecr_images.recipe_allowed_images(_images_file(sandbox), sandbox.world.loader)
    _runner_allows(sandbox, tokens[: -len(ecr_images.IMAGE_REPOS) - 2])


def runner_privileged(sandbox: Sandbox) -> None:
    _runner_config(sandbox, lambda line: line.replace("privileged = false", "privileged = true"))


def pipeline_digest_not_allowed(sandbox: Sandbox) -> None:
    path = Path(sandbox.environ["PIPELINE_FILE"])
    text = path.read_text()
    deploy = next(line for line in text.splitlines() if 'DEPLOY_IMAGE_DIGEST: "sha256:' in line)
    path.write_text(text.replace(deploy, '    DEPLOY_IMAGE_DIGEST: "sha256:' + "0" * 64 + '"', 1))


def allowed_digest_missing_from_ecr(sandbox: Sandbox) -> None:
    repository, digest = sandbox.state["allowed_images"][0].split("/", 1)[1].split("@")
    tooling = sandbox.client("ecr", account=env_facts.TOOLING_ACCOUNT)
    tooling.batch_delete_image(repositoryName=repository, imageIds=[{"imageDigest": digest}])


def lockdown_list_empty(sandbox: Sandbox) -> None:
    """The file in force emptied, and the runner recycled onto it: an empty allowed_images allows every image."""
    _put_images_file(sandbox, "")


def env_override_where_none_is_allowed(sandbox: Sandbox) -> None:
    """The env's own copy of the common file in force, while the env's policy says it uses the common one."""
    _put_images_file(sandbox, _images_file(sandbox), key=f"{sandbox.world.env}/{IMAGES_KEY}")
    override = sandbox.directory / "policy-override.toml"
    override.write_text(override.read_text().replace("[images]\n", "[images]\nallow_env_override = false\n", 1))


def images_file_with_a_stray_word(sandbox: Sandbox) -> None:
    """A note typed into the file: the split-on-white-space boot code registers each word as an image."""
    _put_images_file(sandbox, _images_file(sandbox) + "please keep the newest block last\n")


def image_from_another_registry(sandbox: Sandbox) -> None:
    """A pinned image from a public registry, outside the env's own ECR."""
    _put_images_file(sandbox, _images_file(sandbox) + "public.ecr.aws/docker/library/alpine@sha256:" + "a" * 64 + "\n")


def images_block_dated_in_the_future(sandbox: Sandbox) -> None:
    text = _images_file(sandbox)
    newest = text.rstrip("\n").splitlines()[-1]
    _put_images_file(sandbox, text + f"XXXXXdate_separatorXXXXX 2999-01-01\n{newest}\n")


def pattern_runner_allows_every_image(sandbox: Sandbox) -> None:
    """Era 2: the runner registered without its pattern (an empty allowed_images allows every image)."""
    _runner_allows(sandbox, [])


def pattern_pipeline_image_not_blessed(sandbox: Sandbox) -> None:
    """Era 2: the deploy template pulls its image from outside the blessed path."""
    path = Path(sandbox.environ["PIPELINE_FILE"])
    text = path.read_text()
    if "/cd/env_deploy/blessed@" not in text:
        raise AssertionError("the fault found no blessed deploy image in the pipeline to change")
    path.write_text(text.replace("/cd/env_deploy/blessed@", "/cd/env_deploy@", 1))


def _runner_allowed_now(sandbox: Sandbox) -> list[str]:
    config = tomllib.loads(sandbox.host_path("env-runner", "/etc/gitlab-runner/config.toml").read_text())
    return [str(i) for i in config["runners"][0]["docker"]["allowed_images"]]


def runner_allows_the_debug_image(sandbox: Sandbox) -> None:
    """Someone added alpine:latest to config.toml by hand (to debug a job), and it stayed."""
    _runner_allows(sandbox, [*_runner_allowed_now(sandbox), "alpine:latest"])


def runner_allows_a_pattern_matching_alpine(sandbox: Sandbox) -> None:
    """A pattern that matches the probe's image: `**/` may match no directory at all (doublestar)."""
    _runner_allows(sandbox, [*_runner_allowed_now(sandbox), "**/alpine*"])


def runner_allows_a_pattern_that_misses_bare_alpine(sandbox: Sandbox) -> None:
    """`*/alpine*` needs a `/`: it lets docker.io/library/alpine:latest in, not the probe's `alpine:latest`."""
    _runner_allows(sandbox, [*_runner_allowed_now(sandbox), "*/alpine*"])


def runner_not_recycled_after_the_file_was_fixed(sandbox: Sandbox) -> None:
    """The file once held a debug block with alpine:latest; it was removed, the runner never re-registered."""
    stale = _images_file(sandbox) + "XXXXXdate_separatorXXXXX 2026-11-20\nalpine:latest\n"
    _runner_allows(sandbox, ecr_images.recipe_allowed_images(stale, sandbox.world.loader))
