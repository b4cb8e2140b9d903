"""The tooling account's ECR images, and era 2's blessed pattern the runner allows."""

from __future__ import annotations

import datetime
import json
from typing import Any

from envtest_double import ecr_images, env_facts


def seed_images(tooling: dict[str, Any], count: int, era: str) -> list[tuple[str, list[str]]]:
    """Blocks of images in the tooling account's ECR, oldest first, the newest dated 2026-11-01.

    The repositories' policy lets the env account read them (environment.md: "readable cross-account by the env
    accounts through the repository policy").
    """
    ecr = tooling["ecr"]
    repos = [f"{r}/blessed" if era == "pattern" else r for r in ecr_images.IMAGE_REPOS]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EnvAccountsRead",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{env_facts.ACCOUNT}:root"},
                "Action": ["ecr:ListImages", "ecr:DescribeImages", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            }
        ],
    }
    blocks = []
    newest = datetime.date(2026, 11, 1)
    for n in range(1, count + 1):
        date = (newest - datetime.timedelta(days=30 * (count - n))).isoformat()
        refs = []
        for repo in repos:
            if n == 1:
                ecr.create_repository(repositoryName=repo)
                ecr.set_repository_policy(repositoryName=repo, policyText=json.dumps(policy))
            manifest = ecr_images.fake_manifest(repo, n)
            digest = ecr_images.manifest_digest(manifest)
            ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag=f"build-{n}", imageDigest=digest)
            refs.append(ecr_images.image_ref(repo, digest))
        blocks.append((date, refs))
    return blocks


def pattern_allowed_images() -> list[str]:
    """Era 2 (runner.rb): the blessed pattern for the production account and gitlab_ecr_repo_accountid, .uniq."""
    return [
        f"{ecr_images.registry(account)}/**/blessed@sha256:*" for account in dict.fromkeys([env_facts.TOOLING_ACCOUNT])
    ]
