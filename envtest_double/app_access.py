"""The application hosts' roles and the buckets they reach: role names, their S3 statements, the escrow
bucket's policy (terraform/app; environment.md, "S3 access").
"""

from __future__ import annotations

from typing import Any

from envtest_double import env_facts

APP_ROLES = ["idp", "worker", "app", "pivcac", "elk"]
# EscrowRead: a role the escrow bucket policy names besides idp and worker (terraform/app escrow bucket).
ESCROW_READ_ROLE = "EscrowRead"


def role_name(env: str, role: str) -> str:
    """<env>_<role>_iam_role; the IdP proxy's is <env>_obproxy_iam_role (application_iam_roles)."""
    return f"{env}_{'obproxy' if role == 'outboundproxy' else role}_iam_role"


def role_arn(env: str, role: str) -> str:
    return f"arn:aws:iam::{env_facts.ACCOUNT}:role/{role_name(env, role)}"


def buckets(env: str) -> dict[str, str]:
    """terraform/app: idp-attempts-s3-bucket.tf and the escrow bucket (environment.md, "S3 access")."""
    return {
        "attempts": f"login-gov-attempts-{env}.{env_facts.ACCOUNT}-{env_facts.REGION}",
        "escrow": f"login-gov-escrow-{env}.{env_facts.ACCOUNT}-{env_facts.REGION}",
    }


def role_policies(env: str) -> dict[str, list[dict[str, Any]]]:
    """Each role's S3 statements, giving the Go suite's matrix (environment.md): idp and worker do everything in
    attempts; in escrow they may list and put only (the identity policy grants s3:ListBucket on the bucket and
    s3:PutObject on objects, which is why get and delete answer 1); the other roles nothing."""
    b = buckets(env)

    def allow(actions: list[str], bucket: str, objects: bool = True) -> dict[str, Any]:
        resource = f"arn:aws:s3:::{bucket}/*" if objects else f"arn:aws:s3:::{bucket}"
        return {"Effect": "Allow", "Action": actions, "Resource": resource}

    writer = [
        allow(["s3:ListBucket"], b["attempts"], objects=False),
        allow(["s3:PutObject", "s3:GetObject", "s3:DeleteObject"], b["attempts"]),
        allow(["s3:ListBucket"], b["escrow"], objects=False),
        allow(["s3:PutObject"], b["escrow"]),
    ]
    return {"idp": writer, "worker": list(writer), "app": [], "pivcac": [], "outboundproxy": []}


def escrow_bucket_policy(env: str) -> dict[str, Any]:
    """terraform/app escrow bucket policy: idp, worker and EscrowRead are denied unless the request comes from
    159.142.0.0/16 or from inside the VPC (aws:VpcSourceIp in the VPC's primary or secondary CIDR)."""
    bucket = buckets(env)["escrow"]
    principals = [
        role_arn(env, "idp"),
        role_arn(env, "worker"),
        f"arn:aws:iam::{env_facts.ACCOUNT}:role/{ESCROW_READ_ROLE}",
    ]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyUnauthorizedAccess",
                "Effect": "Deny",
                "Principal": {"AWS": principals},
                "Action": ["s3:ListBucket", "s3:GetObject*", "s3:PutObject*", "s3:DeleteObject*"],
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                "Condition": {
                    "NotIpAddress": {
                        "aws:SourceIp": ["159.142.0.0/16"],
                        "aws:VpcSourceIp": [env_facts.VPC_CIDR, env_facts.SECONDARY_CIDR],
                    }
                },
            }
        ],
    }
