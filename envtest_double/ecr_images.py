"""The tooling account's images: manifests and digests as ECR keeps them, references by digest, and the
allowed-images file the runner reads.
"""

from __future__ import annotations

import hashlib
import json

from envtest_double.env_facts import REGION, TOOLING_ACCOUNT

# Era 1 (the runbook's) repositories, in the tooling account; era 2 adds /blessed (environment.md).
IMAGE_REPOS = ["cd/env_deploy", "cd/env_test", "cd/env_stop"]


def fake_manifest(repo: str, n: int) -> str:
    """A docker v2 manifest with a config and one layer unique to repo and n."""
    layer = hashlib.sha256(f"{repo}:{n}:layer".encode()).hexdigest()
    config = hashlib.sha256(f"{repo}:{n}:config".encode()).hexdigest()
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 1469,
                "digest": f"sha256:{config}",
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 29123456,
                    "digest": f"sha256:{layer}",
                }
            ],
        },
        separators=(",", ":"),
    )


def manifest_digest(manifest: str) -> str:
    return "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()


def registry(account: str = TOOLING_ACCOUNT) -> str:
    return f"{account}.dkr.ecr.{REGION}.amazonaws.com"


def image_ref(repo: str, digest: str, account: str = TOOLING_ACCOUNT) -> str:
    return f"{registry(account)}/{repo}@{digest}"


def allowed_images_file(blocks: list[tuple[str, list[str]]]) -> str:
    """The allowed-images file (runbook): blocks of references after dated separator lines."""
    out = []
    for date, refs in blocks:
        out.append(f"XXXXXdate_separatorXXXXX {date}")
        out.extend(refs)
    return "\n".join(out) + "\n"


def recipe_allowed_images(file_text: str, loader: str = "split") -> list[str]:
    """What the era-1 runner recipe registers: `file.chomp.split()`, every white-space token
    (kitchen/cookbooks/identity-gitlab/recipes/runner.rb, gitlab-runner 15.3 era), or a later reading of it
    (revisions.py)."""
    from envtest_double.revisions import recipe_tokens

    return recipe_tokens(loader, file_text)
