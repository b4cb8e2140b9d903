"""Who can reach the registration token and the allowed-images file: the env runner's role and the config
bucket's policy.
"""

from __future__ import annotations

import json
from typing import Any

from envtest_double import env_facts, runner_env


def env_runner_role_policies(world: runner_env.World) -> dict[str, list[dict[str, Any]]]:
    """gitlab_runner_pool iam-role.tf: the env runner role's S3 policies (the others, ECR, logs, SSM, and the
    AutoTerraform attachments, decide nothing the suite asks about)."""
    secrets, config = world.bucket("secrets"), world.bucket("gitlabconfig")
    return {
        # "gitlab-runner-secrets": List and Get on the secrets bucket's common/ and <env>/ prefixes.
        "gitlab-runner-secrets": [
            {
                "Sid": "AllowBucketAndObjects",
                "Effect": "Allow",
                "Action": ["s3:List*", "s3:Get*"],
                "Resource": [
                    f"arn:aws:s3:::{secrets}/common/*",
                    f"arn:aws:s3:::{secrets}/common/",
                    f"arn:aws:s3:::{secrets}/{world.env}/*",
                    f"arn:aws:s3:::{secrets}/{world.env}/",
                ],
            }
        ],
        # "gitlab-runner-config": GetObject on the config bucket (the registration token).
        "gitlab-runner-config": [
            {
                "Sid": "Config",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{config}/", f"arn:aws:s3:::{config}/*"],
            }
        ],
    }


def seed_lockdown_access(c: dict[str, Any], world: runner_env.World) -> None:
    """Who can reach the token and the file: the env runner's role; the config bucket as the gitlab module makes it
    (terraform/gitlab/module/s3.tf: private ACL, a policy letting the env accounts' roots GetObject, and a public
    access block with all four settings on). The secrets bucket is made elsewhere: no block is assumed for it."""
    iam, s3 = c["iam"], c["s3"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    role = f"{world.env}-env-runner_gitlab_runner_role"
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
    for name, statements in env_runner_role_policies(world).items():
        document = {"Version": "2012-10-17", "Statement": statements}
        iam.put_role_policy(RoleName=role, PolicyName=f"{world.env}-{name}", PolicyDocument=json.dumps(document))
    config = world.bucket("gitlabconfig")
    s3.put_bucket_policy(
        Bucket=config,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "allowEnvRunners",
                        "Effect": "Allow",
                        "Principal": {"AWS": [f"arn:aws:iam::{env_facts.ACCOUNT}:root"]},
                        "Action": "s3:GetObject",
                        "Resource": [f"arn:aws:s3:::{config}", f"arn:aws:s3:::{config}/*"],
                    }
                ],
            }
        ),
    )
    s3.put_public_access_block(
        Bucket=config,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
