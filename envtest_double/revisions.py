"""What the sandbox builds for each revision of login.gov's code: its shapes, read from the source at that commit.

A revision of the suite's defaults (policy/revisions/<name>.toml) says what the suite expects; this says what the
sandbox builds, and is read from the same commit separately, not from the policy: where the two disagree, the
clean sandbox of that revision fails, and the self-tests say so (`./run_tests.sh --sandbox --revision NAME`). Each
fact names its source in 18F/identity-pki at the revision's commit.

Only what differs between the revisions is here; the rest of the sandbox (envtest_double/env_facts.py and the
seed) is the same for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SandboxRevision:
    name: str
    commit: str
    # "file": the runner allows what the allowed-images file lists; "pattern": the fixed blessed pattern.
    era: str
    # How the runner recipe turns the file into allowed_images (file era): "split", "split-drop-separators",
    # "split-drop-separators-and-hash-tokens".
    loader: str | None
    # The jobs of the CI templates that probe the lockdown, {env} filled in for the env.
    probe_jobs: tuple[str, ...]
    # terraform/app/cloudwatch-slos.tf's interesting-URIs metric filters: "<env>-idp-interesting-uris-<suffix>".
    metric_filters: tuple[str, ...] = ()
    # The env accounts the production GitLab deployment (terraform/gitlab/production, in the tooling-prod account)
    # passes its module as accountids: its config bucket's policy grants each one's root s3:GetObject
    # (terraform/gitlab/module/s3.tf, allowEnvRunners). The sandbox's own env account is granted beside them.
    gitlab_env_accounts: tuple[str, ...] = ()
    # terraform/app's VPC interface endpoints: "required" (the non-prod five), "all" (the fourteen), or a list.
    endpoints: str | tuple[str, ...] = "required"
    # The endpoint groups' names ({svc}, {env}), and the services whose group has no name at all (terraform then
    # names it terraform-<id>, with no Name tag).
    endpoint_group_name: str = "login-{svc}-endpoint-{env}"
    unnamed_endpoint_groups: tuple[str, ...] = ()
    # Where <env>-base lets ICMP go: the VPC's "secondary" CIDR, or "both".
    base_icmp: str = "secondary"
    # Application roles beyond the sandbox's own five (idp, worker, app, pivcac, elk), each with its group, role
    # and an instance.
    extra_app_roles: tuple[str, ...] = ()
    # Whether the runner's launch template attaches an argo group (443 to AWS's EC2 ranges, since 2024-09).
    argo: bool = True
    # What the runner group's 22 and 443 rules go to: GitHub's git list as the source has it (() = the sandbox's
    # four ranges, env_facts.GITHUB_CIDRS, where the source holds no copy of the list).
    github_git: tuple[str, ...] = ()
    # The IdP origin's answer to anyone but CloudFront: "blocked" (since 2023-08) or "redirect" to the IdP host.
    origin: str = "blocked"
    # What of the revision the sandbox cannot build yet ("": it builds all the revision's checks look at). A
    # sandbox of such a revision is refused, naming it, rather than built as another date and failing.
    not_built: str = ""


# terraform/app/vpc_endpoints.tf at 5f11cc4b: thirteen interface endpoints, for every env.
RUNBOOK_ENDPOINTS = ("kms", "logs", "monitoring", "ssm", "ssmmessages", "ec2", "ec2messages", "secretsmanager", "sns",
                     "lambda", "sqs", "sts", "events")  # fmt: skip

# GitHub's git list as terraform/app/github-ips.tf keeps it (commented out; the rules take the live list,
# terraform/app/net.tf: data.github_ip_ranges.ips.git). Added by 4b20bcc39 (2023-02-27), the same blob at a16c3c1f
# and 026b5670: four ranges and sixteen single addresses, in the file's order.
GITHUB_GIT_2023 = (
    "192.30.252.0/22",  # terraform/app/github-ips.tf:3  #"192.30.252.0/22",
    "185.199.108.0/22",  # :4
    "140.82.112.0/20",  # :5
    "143.55.64.0/20",  # :6
    "20.201.28.151/32",  # :7  #"20.201.28.151/32",
    "20.205.243.166/32",  # :8
    "102.133.202.242/32",  # :9
    "20.248.137.48/32",  # :10
    "20.207.73.82/32",  # :11
    "20.27.177.113/32",  # :12
    "20.200.245.247/32",  # :13
    "20.233.54.53/32",  # :14
    "20.201.28.152/32",  # :15
    "20.205.243.160/32",  # :16
    "102.133.202.246/32",  # :17
    "20.248.137.50/32",  # :18
    "20.207.73.83/32",  # :19
    "20.27.177.118/32",  # :20
    "20.200.245.248/32",  # :21
    "20.233.54.52/32",  # :22  #"20.233.54.52/32",
)

# The revision `./run_tests.sh --sandbox` builds when none is named: the runbook's, the user's spec (issue 23).
DEFAULT = "runbook"

SANDBOX_REVISIONS: dict[str, SandboxRevision] = {
    "runbook": SandboxRevision(
        "runbook",
        "5f11cc4b70ed6344957aabf258e415352eac7dfd",  # 2022-09-15, Merge branch 'release/v219'
        # kitchen/cookbooks/identity-gitlab/recipes/runner.rb:110  ...load_config(node,
        #   "gitlab_env_runner_allowed_images", common: true).chomp.split()
        era="file",
        loader="split",
        # .gitlab-ci.yml:222  .badtest_template: &badtest_template  (then badtest_<env>: <<: *badtest_template, :258)
        probe_jobs=("badtest_{env}",),
        # terraform/app/cloudwatch-slos.tf holds locals only (:5  env_name = var.env_name): no metric filter yet
        # (the first ones came with 5440fa8d9, 2022-11-30).
        metric_filters=(),
        # terraform/gitlab/production/main.tf:29  accountids = ["894947205914", "034795980528", "217680906704"]
        gitlab_env_accounts=("894947205914", "034795980528", "217680906704"),
        # terraform/app/vpc_endpoints.tf:338  service_name = "com.amazonaws.${var.region}.kms"  (and :352 logs, :366
        #   monitoring, :380 ssm, :394 ssmmessages, :408 ec2, :422 ec2messages, :436 secretsmanager, :450 sns,
        #   :464 lambda, :478 sqs, :520 sts, :538 events: thirteen, no count, for every env)
        endpoints=RUNBOOK_ENDPOINTS,
        # terraform/app/vpc_endpoints.tf:27  name = "${var.name}-kms_endpoint-${var.env_name}"  (var.name "login")
        endpoint_group_name="login-{svc}_endpoint-{env}",
        # terraform/app/vpc_endpoints.tf:36  resource "aws_security_group" "ssm_endpoint" {  (no name, no Name tag;
        #   also :68 ssmmessages, :490 sts)
        unnamed_endpoint_groups=("ssm", "ssmmessages", "sts"),
        # terraform/app/net.tf:88  cidr_blocks = [aws_vpc.default.cidr_block, aws_vpc_ipv4_cidr_block_association
        #   .secondary_cidr.cidr_block]
        base_icmp="both",
        # terraform/modules/gitlab_runner_pool/gitlab-runner.tf:51  security_group_ids = [aws_security_group.
        #   gitlab_runner.id, var.base_security_group_id]
        argo=False,
        # terraform/app/alb.tf:61: the ALB open to all; tests/idp_cloudfront_test.go:82 wants a redirect
        origin="redirect",
        # terraform/app/net.tf:10  for ip in data.github_ip_ranges.ips.git : ...  (the live list; no copy at this
        #   commit, no github-ips.tf): the sandbox's four ranges stand for it.
        github_git=(),
        # terraform/app/migration.tf:9  name = "${var.env_name}_migration_iam_role"  (migration-asg.tf:51  name =
        #   "${var.env_name}-migration")
        extra_app_roles=("migration",),
    ),
    "era1": SandboxRevision(
        "era1",
        "a16c3c1fd776a74cdd91706fc5c8d268e731abff",  # 2023-08-03, the first parent of 39772729d (era 2)
        # kitchen/cookbooks/identity-gitlab/recipes/runner.rb:105  ...allowed_images.chomp.split().grep_v(/^#/)
        #   .grep_v(/XXXXXdate_separatorXXXXX/)
        era="file",
        loader="split-drop-separators-and-hash-tokens",
        # .gitlab-ci-idp-env-jobs-template.yml:115  run_unallowed_image:  (:131  test_unallowed_image:)
        probe_jobs=("run_unallowed_image", "test_unallowed_image"),
        # terraform/app/cloudwatch-slos.tf:139  name = "${var.env_name}-idp-interesting-uris-success"
        #   (:154  ...-total, :169  ...-success-latency)
        metric_filters=("success", "total", "success-latency"),
        # terraform/gitlab/production/main.tf:29  accountids = ["894947205914", "034795980528", "217680906704"]
        gitlab_env_accounts=("894947205914", "034795980528", "217680906704"),
        # terraform/app/vpc_endpoints.tf:2  aws_endpoints = {  (14 services, no count: every env has them all)
        endpoints="all",
        # terraform/modules/gitlab_runner_pool/gitlab-runner.tf:53  security_group_ids = [aws_security_group.
        #   gitlab_runner.id, var.base_security_group_id]  (no argo group yet)
        argo=False,
        # terraform/app/net.tf:10  for ip in data.github_ip_ranges.ips.git : ...  (github-ips.tf:2-22 its copy)
        github_git=GITHUB_GIT_2023,
        # terraform/app/net.tf:369  cidr_blocks = ["0.0.0.0/0"]  (the ALB's 443 open to all: the origin answers, and
        #   the IdP's canonical-host redirect sends people to the public name; tests/idp_cloudfront_test.go wants it)
        origin="redirect",
    ),
    "current": SandboxRevision(
        "current",
        "026b567050b353d17a3003980e9accd4911e8c8f",  # 2024-12-12, the newest snapshot
        # kitchen/cookbooks/identity-gitlab/recipes/runner.rb:120  "#{node['identity_gitlab']
        #   ['production_aws_account_id']}.dkr.ecr.#{aws_region}.amazonaws.com/**/blessed@sha256:*",
        era="pattern",
        loader=None,
        # .gitlab-ci-idp-env-jobs-template.yml:101  run_unallowed_image:  (:117  test_unallowed_image:)
        probe_jobs=("run_unallowed_image", "test_unallowed_image"),
        # terraform/app/cloudwatch-slos.tf:139  name = "${var.env_name}-idp-interesting-uris-success"
        #   (:154  ...-total, :169  ...-success-latency)
        metric_filters=("success", "total", "success-latency"),
        # terraform/gitlab/production/main.tf:34  accountids = ["894947205914", "034795980528", "217680906704",
        #   "487317109730"]
        gitlab_env_accounts=("894947205914", "034795980528", "217680906704", "487317109730"),
        # terraform/app/variables.tf:835  var.enable_all_vpc_endpoints ? "all" : "required"  (the sandbox: non-prod)
        endpoints="required",
        # terraform/modules/gitlab_runner_pool/gitlab-runner.tf:53  security_group_ids = concat([...], [for group in
        #   aws_security_group.gitlab_runner_ec2_access : group.id])  (the argo groups)
        argo=True,
        # terraform/app/net.tf:5  for ip in data.github_ip_ranges.ips.git : ...  (github-ips.tf:2-22 its copy)
        github_git=GITHUB_GIT_2023,
        # terraform/modules/vpc_module/sg.tf:3  name = "com.amazonaws.global.cloudfront.origin-facing"  (the ALB
        #   admits CloudFront only: the origin answers nobody else)
        origin="blocked",
    ),
}


def recipe_tokens(loader: str, file_text: str) -> list[str]:
    """What the runner recipe registers from the allowed-images file, as runner.rb reads it at each revision:
    `.chomp.split()`; later `.grep_v(/XXXXXdate_separatorXXXXX/)` (caf432721); later `.grep_v(/^#/)` before it
    (656bb0486)."""
    tokens = file_text.rstrip("\n").split()
    if loader == "split-drop-separators-and-hash-tokens":
        tokens = [t for t in tokens if not t.startswith("#")]
    if loader in {"split-drop-separators", "split-drop-separators-and-hash-tokens"}:
        tokens = [t for t in tokens if "XXXXXdate_separatorXXXXX" not in t]
    elif loader != "split":
        raise ValueError(f"no runner recipe reads the file as {loader!r}")
    return tokens


def built() -> list[str]:
    """The revisions the sandbox builds whole and the suite has defaults for (policy/revisions/<name>.toml)."""
    from pathlib import Path

    policy = Path(__file__).resolve().parents[1] / "policy" / "revisions"
    return sorted(n for n, r in SANDBOX_REVISIONS.items() if not r.not_built and (policy / f"{n}.toml").is_file())
