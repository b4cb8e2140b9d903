"""The sandbox env's fixed facts: its accounts, region, addresses and endpoint lists, shaped like login.gov's.

Each value says where it comes from (../shared/design/environment.md and the public infrastructure code it
cites, 18F/identity-pki); docs/fidelity.md tables them.
"""

from __future__ import annotations

import json
from pathlib import Path

DEFAULT_ENV = "sandbox"
REGION = "us-west-2"
ACCOUNT = "123456789012"  # moto's default account: the env's own
# gitlab_ecr_repo_accountid: terraform/app/variables.tf default "217680906704" (tooling-prod); the blessed images
# live in its ECR, readable cross-account (environment.md, "Allowed images").
TOOLING_ACCOUNT = "217680906704"
# The GitLab deployment the env runner registers with (gitlab.login.gov, terraform/gitlab/production) lives in the
# same tooling-prod account (production/main.tf: allowed_account_ids = ["217680906704"]), and with it the config
# bucket holding the registration token (terraform/gitlab/module/s3.tf: login-gov-<gitlab env>-gitlabconfig-
# <gitlab account>-<region>). moto keeps one backend per account: the sandbox seeds that bucket there.
GITLAB_ACCOUNT = TOOLING_ACCOUNT
GITLAB_ENV = "production"
# The role the suite assumes in the GitLab account to read the bucket's settings (iam/envtest-gitlab-account.json).
GITLAB_READER_ROLE = "envtest-gitlab-config-reader"
VPC_CIDR = "10.42.0.0/16"
# The secondary CIDR (vpc_module: aws_vpc_ipv4_cidr_block_association.secondary_cidr); the base group's ICMP and the
# endpoint groups' egress go to it. outbound_proxy_net's app_cidr_block default is 100.106.0.0/16.
SECONDARY_CIDR = "100.106.0.0/16"
APP_SUBNETS = (("10.42.1.0/24", f"{REGION}a"), ("10.42.2.0/24", f"{REGION}b"))
GITLAB_HOST = "gitlab.login.gov"
ROOT_DOMAIN = "identitysandbox.gov"
# gitlab_runner_pool/variables.tf: nessusserver_ip default.
NESSUS_CIDR = "44.230.151.136/32"
# terraform/app gitlab.tf: gitlab_subnet_cidr_block default, where the GitLab NLB has its interfaces
# (gitlab_lb_interface_cidr_blocks).
GITLAB_NLB_CIDRS = ["172.16.35.192/27"]
# GitHub's git ranges (data.github_ip_ranges in net.tf; they change: policy [egress.cidr_sets] github holds them).
GITHUB_CIDRS = ["192.30.252.0/22", "185.199.108.0/22", "140.82.112.0/20", "143.55.64.0/20"]
# vpc_module sg.tf/base.tf: the base group's 443 to api.snapcraft.io.
SNAPCRAFT_CIDR = "91.189.92.0/24"
# AWS's published EC2 ranges for us-west-2 as terraform's aws_ip_ranges data source hands them to net.tf (sorted):
# read from the copy of ip-ranges.json committed with its date (policy/published/, data AWS publishes, not the
# suite's judgement), so the sandbox is the env terraform would have built on that date.
EC2_RANGES = sorted(
    p["ip_prefix"]
    for p in json.loads(
        (Path(__file__).resolve().parents[1] / "policy" / "published" / "aws-ip-ranges-ec2-us-west-2.json").read_text()
    )["prefixes"]
)
# terraform/app/vpc_endpoints.yaml: the required five (non-prod), all fourteen in prod or with enable_all_vpc_endpoints.
REQUIRED_ENDPOINTS = ["kms", "logs", "ssm", "ssmmessages", "ec2messages"]
ALL_ENDPOINTS = [
    *REQUIRED_ENDPOINTS,
    "dms",
    "monitoring",
    "ec2",
    "secretsmanager",
    "sns",
    "lambda",
    "sqs",
    "sts",
    "events",
]
