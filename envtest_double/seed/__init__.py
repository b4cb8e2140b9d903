"""Seed the sandbox's moto server with one environment, shaped as login.gov's are (env_facts.py, proxy_lists.py,
ecr_images.py and runner_env.py name the sources).

These calls write, so they use their own plain boto3 clients, outside the
suite's read-only guard: the sandbox is set-up, not a check.

Where moto lacks a piece, it is built from what moto has, and said so here:
- an NLB's network interfaces: moto creates none, so one ENI per subnet is
  created with the description EC2 gives an NLB's ("ELB <arn suffix>"), which is
  how terraform's outbound_proxy module finds them (data.aws_network_interface);
- the tooling account's ECR: moto keeps one backend per account, chosen by the
  `x-moto-account-id` header; reading it cross-account with `registryId` goes
  through the sandbox's instances endpoint (instances_endpoint/), which checks the
  repository policy as ECR would;
- the GitLab deployment's account (the same tooling account): its config bucket,
  the token in it, its policy and the role the suite assumes to read them, seeded
  with that account's header; moto_accounts.py keeps the two accounts apart.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import boto3

from envtest_double import ecr_images, env_facts, gitlab_runners, proxy_lists, runner_env
from envtest_double.seed.app_hosts import seed_estate
from envtest_double.seed.auto_scaling import seed_groups
from envtest_double.seed.host_files import write_host_file
from envtest_double.seed.images import pattern_allowed_images, seed_images
from envtest_double.seed.lockdown_access import seed_lockdown_access
from envtest_double.seed.network import seed_network
from envtest_double.seed.proxy_and_docker_files import write_proxy_lists, write_runner_docker_files
from envtest_double.seed.scale import seed_scale
from envtest_double.seed.terraform_state import tf_state


@functools.cache
def _clients(endpoint: str, account: str | None = None) -> dict[str, Any]:
    """The seed's clients, built once per endpoint and account (building one costs about 50 ms; a reseed
    after a fault needs the same ones again)."""
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=env_facts.REGION
    )
    clients = {
        name: session.client(name, endpoint_url=endpoint)
        for name in ("ec2", "autoscaling", "s3", "ecr", "iam", "elasticache", "elbv2", "logs")
    }
    if account:
        # moto picks the account of a request from this header (moto/core/responses.py get_current_account).
        for client in clients.values():
            client.meta.events.register(
                "before-send.*.*", lambda request, **_: request.headers.__setitem__("x-moto-account-id", account)
            )
    return clients


def seed(
    endpoint: str, directory: Path, canaries: runner_env.Canaries, proxy_url: str, world: runner_env.World
) -> dict[str, Any]:
    c = _clients(endpoint)
    tooling = _clients(endpoint, account=env_facts.TOOLING_ACCOUNT)
    gitlab = _clients(endpoint, account=env_facts.GITLAB_ACCOUNT)
    net = seed_network(c, world)
    instances = seed_groups(c, net, world)
    blocks = seed_images(tooling, world.image_blocks, world.era)
    s3 = c["s3"]
    for kind in ("secrets", "gitlabcache", "tfstate"):
        s3.create_bucket(Bucket=world.bucket(kind), CreateBucketConfiguration={"LocationConstraint": env_facts.REGION})
    images_file = ecr_images.allowed_images_file(blocks)
    if world.era == "file":
        s3.put_object(
            Bucket=world.bucket("secrets"), Key="common/gitlab_env_runner_allowed_images", Body=images_file.encode()
        )
    # The config bucket and its token live in the GitLab deployment's account (lockdown_access.py).
    seed_lockdown_access(c, gitlab, world, (canaries.registration_token + "\n").encode())
    seed_scale(c, net, world)
    estate = seed_estate(c, net, world, directory, write_host_file)
    pool = next(name for name in instances if name.startswith(world.runner_proxy_asg_prefix))
    estate["roles"][pool] = "env-runner-proxy"
    estate.update(vpc=net["vpc"], s3_gateway=net["s3_gateway"])
    s3.put_object(
        Bucket=world.bucket("tfstate"),
        Key=world.tf_state_key,
        Body=tf_state(canaries, world, estate["redis_endpoints"]).encode(),
    )
    hosts = directory / "hosts"
    # era 1: the recipe registers the file's white-space tokens (as its revision reads them); era 2: the pattern.
    if world.era == "file":
        allowed = ecr_images.recipe_allowed_images(images_file, world.loader)
    else:
        allowed = pattern_allowed_images()
    runner_id = instances[world.runner_asg][0]
    config_toml = write_host_file(
        hosts,
        "env-runner",
        "/etc/gitlab-runner/config.toml",
        world.runner_config_toml(
            runner_token=canaries.runner_token,
            proxy_url=proxy_url,
            allowed_images=allowed,
            instance_id=runner_id,
            # runner-register.sh.erb: era 1's --docker-image is the first allowed token; era 2's (template
            # 5aeb9e6f) the env's own ECR mirror of alpine.
            default_image=None
            if world.era == "file"
            else f"{ecr_images.registry(env_facts.ACCOUNT)}/ecr-public/docker/library/alpine:latest",
        ),
        mode=0o600,
    )
    # GitLab's record of the runner, as its registration made it from config.toml and its own instance's tags.
    described = c["ec2"].describe_tags(Filters=[{"Name": "resource-id", "Values": [runner_id]}])["Tags"]
    registered = gitlab_runners.registration(
        config_toml.read_text(), {t["Key"]: t["Value"] for t in described}, world.env
    )
    gitlab_runners.write_runners(directory / "gitlab-runners.json", registered)
    write_host_file(hosts, "env-runner-proxy", proxy_lists.ALLOWLIST_PATH, world.allowlist)
    write_host_file(hosts, "outboundproxy", proxy_lists.ALLOWLIST_PATH, world.idp_proxy_allowlist)
    write_proxy_lists(hosts)
    write_runner_docker_files(hosts, proxy_url)
    newest = {ref.split("@")[0].split("/", 1)[1].removesuffix("/blessed"): ref.split("@")[1] for ref in blocks[-1][1]}
    (directory / "gitlab-ci.yml").write_text(
        world.pipeline_yaml(newest["cd/env_deploy"], newest["cd/env_test"], newest["cd/env_stop"])
    )
    return {
        "network": net,
        "instances": instances,
        "runner_proxy_asg": pool,
        "allowed_images": [ref for _, refs in blocks for ref in refs],
        "estate": estate,
    }
