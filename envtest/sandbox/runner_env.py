"""What the sandbox environment holds: names and file contents, as data, shaped like login.gov's.

Every name, rule and file here follows ../shared/design/environment.md and the
public infrastructure code it cites (18F/identity-pki); each value says where
it comes from. docs/fidelity.md tables them, with what the sandbox cannot show.
Every seeded value agrees with every other, so the clean sandbox passes every
check; each fault in faults/ breaks one thing.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_ENV = "sandbox"
REGION = "us-west-2"
ACCOUNT = "123456789012"  # moto's default account: the env's own
# gitlab_ecr_repo_accountid: terraform/app/variables.tf default "217680906704" (tooling-prod); the blessed images
# live in its ECR, readable cross-account (environment.md, "Allowed images").
TOOLING_ACCOUNT = "217680906704"
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
# A few of AWS's published EC2 ranges for us-west-2 (ip-ranges.json), standing for the argo groups' chunks
# (net.tf: chunklist(data.aws_ip_ranges.ec2_argo.cidr_blocks, 120)).
EC2_RANGES_SAMPLE = ["18.236.0.0/15", "34.208.0.0/12", "35.80.0.0/12", "44.224.0.0/11", "52.10.0.0/15"]
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
# Era 1 (the runbook's) repositories, in the tooling account; era 2 adds /blessed (environment.md).
IMAGE_REPOS = ["cd/env_deploy", "cd/env_test", "cd/env_stop"]
# Names the proxy must refuse; mapped to the local upstream too, so a proxy that wrongly lets one through is
# caught by a real answer, not a DNS error. api.github.com: the allowlist holds github.com exactly, not its subdomains.
DENY_PROBE_NAMES = ["example.com", "pypi.org", "api.github.com", "evil.amazonaws.com.example.net"]
# kitchen/cookbooks/identity-outboundproxy/templates/default/domain-denylist.conf.erb
DENYLIST = [
    "collector.newrelic.com",
    "infra-api.newrelic.com",
    "identity-api.newrelic.com",
    "infrastructure-command-api.newrelic.com",
]

# The env runner's allowlist template, as ERB (templates/default/env-runner-domain-allowlist.conf.erb); its
# entries are ../shared/design/env-runner-allowlist.txt, whose {gitlab_url} and {env} stand for these tags.
ALLOWLIST_PATH = "/etc/squid/domain-allowlist.conf"
_ALLOWLIST_SOURCE = Path(__file__).resolve().parents[2] / "envtest" / "sandbox" / "env-runner-allowlist.txt"
ERB_GITLAB_URL = "<%= @gitlab_url %>"
ERB_ENV = "<%= node.chef_environment %>"


def allowlist_erb() -> str:
    text = _ALLOWLIST_SOURCE.read_text()
    return text.replace("{gitlab_url}", ERB_GITLAB_URL).replace("{env}", ERB_ENV)


# The IdP's proxy renders domain-allowlist.conf.erb (about 240 entries, different from the runner's). The suite
# checks the env runner's proxy only: this short stand-in just has to differ.
IDP_PROXY_ALLOWLIST = textwrap.dedent("""\
    # stand-in for domain-allowlist.conf.erb (the IdP's outbound proxy)
    .login.gov
    .newrelic.com
    api.pwnedpasswords.com
    .s3.us-west-2.amazonaws.com
    sts.us-west-2.amazonaws.com
""")

# Names inside the allowlist's wildcards that the sandbox's upstream answers for.
WILDCARD_UPSTREAM_NAMES = [
    f"s3.{REGION}.amazonaws.com",
    "s3.amazonaws.com",
    f"api.ecr.{REGION}.amazonaws.com",
    f"{TOOLING_ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com",
    f"prod-{REGION}-starport-layer-bucket.s3.{REGION}.amazonaws.com",
]


def allowlist_exact_names(text: str) -> list[str]:
    """Entries without a leading dot: names a local upstream can answer for."""
    lines = [line.split("#", 1)[0].strip().lower() for line in text.splitlines()]
    return [line for line in lines if line and not line.startswith(".")]


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


def recipe_allowed_images(file_text: str) -> list[str]:
    """What the era-1 runner recipe registers: `file.chomp.split()`, every white-space token
    (kitchen/cookbooks/identity-gitlab/recipes/runner.rb, gitlab-runner 15.3 era)."""
    return file_text.rstrip("\n").split()


@dataclass
class Canaries:
    """Secret values seeded into the sandbox, recognisable so a test can grep for leaks."""

    registration_token: str = field(default_factory=lambda: "GR1348941" + "canaryRegTok" + secrets.token_hex(10))
    runner_token: str = field(default_factory=lambda: "glrt-canaryRunTok" + secrets.token_hex(10))
    tf_sensitive_output: str = field(default_factory=lambda: "canaryTfSecret" + secrets.token_hex(12))
    # The sandbox GitLab's API token (a personal access token's shape: glpat- and 20 characters).
    gitlab_api_token: str = field(default_factory=lambda: "glpat-canaryGl" + secrets.token_hex(10))

    def all(self) -> list[str]:
        return [self.registration_token, self.runner_token, self.tf_sensitive_output, self.gitlab_api_token]


@dataclass(frozen=True)
class World:
    """Everything about one sandbox env that depends on its name."""

    env: str = DEFAULT_ENV
    # The benchmark's knob: more groups, allowlist entries, image blocks, buckets, instances.
    scale: int = 1
    # "file": era 1, the runbook's allowed-images file; "pattern": era 2, the blessed pattern (environment.md).
    era: str = "file"
    # terraform/app vpc_endpoints.yaml: "required" (non-prod) or "all" (prod, or enable_all_vpc_endpoints).
    endpoints: str = "required"

    @property
    def repo_suffix(self) -> str:
        return "/blessed" if self.era == "pattern" else ""

    @property
    def idp_host(self) -> str:
        return f"idp.{self.env}.{ROOT_DOMAIN}"

    @property
    def origin_host(self) -> str:
        return f"idp.origin.{self.env}.{ROOT_DOMAIN}"

    @property
    def tf_state_key(self) -> str:
        return f"terraform-app/terraform-{self.env}.tfstate"

    @property
    def runner_asg(self) -> str:
        # gitlab_runner_pool/gitlab-runner.tf: "${env_name}-gitlab-${gitlab_runner_pool_name}", pool "env-runner"
        return f"{self.env}-gitlab-env-runner"

    @property
    def runner_proxy_asg_prefix(self) -> str:
        # outbound_proxy/outboundproxy-asg.tf: name_prefix "${env_name}-${proxy_for}-obproxy" (use_prefix)
        return f"{self.env}-env-runner-obproxy"

    @property
    def proxy_asg(self) -> str:
        # The IdP's proxy: use_prefix = false, name "${env_name}-outboundproxy"
        return f"{self.env}-outboundproxy"

    def bucket(self, kind: str) -> str:
        return {
            "secrets": f"login-gov.secrets.{ACCOUNT}-{REGION}",
            # recipes/runner.rb fallback: login-gov-<env>-gitlabconfig-<gitlab_ecr_repo_accountid>-<region>;
            # the sandbox's runner tag names it, as terraform's gitlab_configbucket would.
            "gitlabconfig": f"login-gov-{self.env}-gitlabconfig-{ACCOUNT}-{REGION}",
            "gitlabcache": f"login-gov-{self.env}-gitlabcache-{ACCOUNT}-{REGION}",
            "tfstate": f"login-gov.tf-state.{ACCOUNT}-{REGION}",
        }[kind]

    @property
    def allowlist_template(self) -> str:
        """The ERB template, with the benchmark's extra entries at scale > 1."""
        extra = [f"svc{i}.bench.{REGION}.amazonaws.com" for i in range(5 * (self.scale - 1))]
        return allowlist_erb() + ("\n# Scale entries\n" + "\n".join(extra) + "\n" if extra else "")

    @property
    def image_blocks(self) -> int:
        return 1 + self.scale

    @property
    def allowlist(self) -> str:
        """The allowlist as chef renders it on the env runner's proxy."""
        return self.allowlist_template.replace(ERB_GITLAB_URL, GITLAB_HOST).replace(ERB_ENV, self.env)

    def upstream_names(self) -> list[str]:
        """Every name the sandbox's squid resolves to the local upstream."""
        return sorted(set(allowlist_exact_names(self.allowlist)) | set(WILDCARD_UPSTREAM_NAMES) | set(DENY_PROBE_NAMES))

    def runner_config_toml(
        self,
        *,
        runner_token: str,
        proxy_url: str,
        allowed_images: list[str],
        instance_id: str,
        default_image: str | None = None,
    ) -> str:
        """/etc/gitlab-runner/config.toml as `gitlab-runner register` writes it from runner-register.sh.erb.

        Flags (environment.md, "Runner registration"): docker executor, --docker-disable-entrypoint-overwrite,
        one --docker-allowed-images per token the recipe read, --docker-allowed-services "", the first allowed
        image as --docker-image, memory 4096m, cpu-shares 1024, security-opt no-new-privileges, network mode
        runner-net, cap-drop net_raw; job env HTTP(S)_PROXY, http(s)_proxy, NO_PROXY, no_proxy, MY_ENV,
        MY_ENV_<env>, DOCKER_AUTH_CONFIG (ecr-login); concurrent = 1 (the recipe's sed).
        """

        def toml_list(items: list[str]) -> str:
            return "[" + ", ".join(json.dumps(i) for i in items) + "]"

        no_proxy = "localhost,127.0.0.1,169.254.169.254,169.254.169.123,.login.gov.internal,metadata.google.internal"
        auth = json.dumps({"credHelpers": {registry(): "ecr-login", registry(ACCOUNT): "ecr-login"}})
        environment = [
            f"HTTP_PROXY={proxy_url}",
            f"HTTPS_PROXY={proxy_url}",
            f"http_proxy={proxy_url}",
            f"https_proxy={proxy_url}",
            f"NO_PROXY={no_proxy}",
            f"no_proxy={no_proxy}",
            f"MY_ENV={self.env}",
            f"MY_ENV_{self.env}={self.env}",
            f"DOCKER_AUTH_CONFIG={auth}",
        ]
        return textwrap.dedent(f"""\
    concurrent = 1
    check_interval = 0
    shutdown_timeout = 0

    [session_server]
      session_timeout = 1800

    [[runners]]
      name = "{self.env}-env-runner-{instance_id}"
      url = "https://{GITLAB_HOST}"
      id = 4242
      token = "{runner_token}"
      token_obtained_at = 2026-11-01T00:00:00Z
      token_expires_at = 0001-01-01T00:00:00Z
      executor = "docker"
      environment = {toml_list(environment)}
      [runners.cache]
        MaxUploadedArchiveSize = 0
      [runners.docker]
        tls_verify = false
        image = {json.dumps(default_image or (allowed_images[0] if allowed_images else ""))}
        memory = "4096m"
        cpu_shares = 1024
        privileged = false
        security_opt = ["no-new-privileges"]
        disable_entrypoint_overwrite = true
        oom_kill_disable = false
        disable_cache = false
        volumes = ["/cache"]
        network_mode = "runner-net"
        cap_drop = ["net_raw"]
        shm_size = 0
        allowed_images = {toml_list(allowed_images)}
        allowed_services = [""]
    """)

    def pipeline_yaml(self, deploy: str, test: str, stop: str) -> str:
        """The infrastructure repo's .gitlab-ci.yml, cut to this env's jobs (plus another env's, to be ignored).

        Shaped like .gitlab-ci-idp-env-jobs-template.yml: jobs extend templates; images are the tooling account's
        by digest. The lockdown probe asks for an image the runner must refuse: era 1's `badtest_<env>`, era 2's
        `run_unallowed_image` (alpine, allowed to fail) and `test_unallowed_image` (green only if the first never ran).
        """
        r = self.repo_suffix
        probe = (
            f"""
    run_unallowed_image:
      extends: .env_jobs
      stage: lockdown
      image: alpine:latest
      script: [touch unallowed.txt]
      allow_failure: true
      artifacts:
        paths: [unallowed.txt]

    test_unallowed_image:
      extends: [.test_template, .env_jobs]
      stage: lockdown
      needs: [run_unallowed_image]
      variables:
        TEST_IMAGE_DIGEST: "{test}"
      script: [test ! -f unallowed.txt]
"""
            if self.era == "pattern"
            else f"""
    badtest_{self.env}:
      extends: .env_jobs
      stage: lockdown
      image: alpine:latest
      script: [echo "this image must be refused"]
      when: manual
      allow_failure: true
"""
        )
        return textwrap.dedent(f"""\
    stages: [deploy, test, stop, lockdown]

    variables:
      ECR_REGISTRY: {registry()}

    .deploy_template:
      stage: deploy
      image: ${{ECR_REGISTRY}}/cd/env_deploy{r}@${{DEPLOY_IMAGE_DIGEST}}
      script: [exit 1]  # a decoy: the image's ENTRYPOINT does the work (entrypoint overwrite is disabled)

    .test_template:
      stage: test
      image: ${{ECR_REGISTRY}}/cd/env_test{r}@${{TEST_IMAGE_DIGEST}}
      script: [exit 1]
      artifacts:
        when: always
        reports:
          junit: report/junit.xml

    .env_jobs:
      tags: [{self.env}-env-runner]
      rules:
        - if: $CI_COMMIT_BRANCH == "stages/{self.env}"

    deploy_{self.env}:
      extends: [.deploy_template, .env_jobs]
      variables:
        DEPLOY_IMAGE_DIGEST: "{deploy}"
        TEST_IMAGE_DIGEST: "{test}"
        STOP_IMAGE_DIGEST: "{stop}"
      environment:
        name: {self.env}
        on_stop: stop_{self.env}
      resource_group: {self.env}

    test_{self.env}:
      extends: [.test_template, .env_jobs]
      variables:
        ENV_NAME: {self.env}
        TEST_IMAGE_DIGEST: "{test}"

    stop_{self.env}:
      extends: .env_jobs
      stage: stop
      image: ${{ECR_REGISTRY}}/cd/env_stop{r}@${{STOP_IMAGE_DIGEST}}
      variables:
        STOP_IMAGE_DIGEST: "{stop}"
      environment:
        name: {self.env}
        action: stop
      when: manual

    deploy_tspencer:
      extends: .deploy_template
      variables:
        DEPLOY_IMAGE_DIGEST: "sha256:{"f" * 64}"
      tags: [tspencer-env-runner]
    """) + textwrap.dedent(probe)
