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


def config_bucket_policy(world: runner_env.World) -> dict[str, Any]:
    """terraform/gitlab/module/s3.tf, allowEnvRunners: s3:GetObject on the bucket and its objects to the root of
    each account in the deployment's accountids (rootaccounts = formatlist("arn:aws:iam::%s:root", ...))."""
    config = world.bucket("gitlabconfig")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "allowEnvRunners",
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{account}:root" for account in world.gitlab_env_accounts]},
                "Action": "s3:GetObject",
                "Resource": [f"arn:aws:s3:::{config}", f"arn:aws:s3:::{config}/*"],
            }
        ],
    }


def seed_gitlab_reader_role(iam: Any, world: runner_env.World) -> None:
    """The role the suite assumes in the GitLab account (docs/operating.md; iam/envtest-gitlab-account.json): it
    trusts the env's account, and may read the config bucket's settings."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{env_facts.ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    reads = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketPolicy", "s3:GetBucketAcl", "s3:GetBucketPublicAccessBlock"],
                "Resource": "arn:aws:s3:::login-gov-*-gitlabconfig-*",
            }
        ],
    }
    role = env_facts.GITLAB_READER_ROLE
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName=role, PolicyName="read-the-config-bucket", PolicyDocument=json.dumps(reads))


def seed_lockdown_access(c: dict[str, Any], gitlab: dict[str, Any], world: runner_env.World, token: bytes) -> None:
    """Who can reach the token and the file: the env runner's role (in the env's account, `c`); the config bucket
    in the GitLab deployment's account (`gitlab`), as its module makes it (terraform/gitlab/module/s3.tf: private
    ACL, a policy letting the env accounts' roots GetObject, a public access block with all four settings on), the
    token in it, and the role the suite assumes there to read the bucket's settings. The secrets bucket is made
    elsewhere: no block is assumed for it."""
    iam = c["iam"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    role = f"{world.env}-env-runner_gitlab_runner_role"
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
    for name, statements in env_runner_role_policies(world).items():
        document = {"Version": "2012-10-17", "Statement": statements}
        iam.put_role_policy(RoleName=role, PolicyName=f"{world.env}-{name}", PolicyDocument=json.dumps(document))
    s3, config = gitlab["s3"], world.bucket("gitlabconfig")
    s3.create_bucket(Bucket=config, CreateBucketConfiguration={"LocationConstraint": env_facts.REGION})
    s3.put_object(Bucket=config, Key="gitlab_runner_token", Body=token)
    s3.put_bucket_policy(Bucket=config, Policy=json.dumps(config_bucket_policy(world)))
    s3.put_public_access_block(
        Bucket=config,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    seed_gitlab_reader_role(gitlab["iam"], world)
