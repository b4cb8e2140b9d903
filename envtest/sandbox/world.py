"""What the sandbox environment holds: names and file contents, as data.

Names follow the real conventions (environment.md) for env `sandbox` in
moto's account; every seeded value agrees with every other, so the clean
sandbox passes every check.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import textwrap
from dataclasses import dataclass, field

from envtest.policy import fill

DEFAULT_ENV = "sandbox"
REGION = "us-west-2"
ACCOUNT = "123456789012"  # moto's default account
VPC_CIDR = "10.42.0.0/16"
GITLAB_HOST = "gitlab.login.gov"
ROOT_DOMAIN = "identitysandbox.gov"
NESSUS_IP = "10.42.99.10/32"
GITHUB_CIDRS = ["192.30.252.0/22", "185.199.108.0/22", "140.82.112.0/20", "143.55.64.0/20"]
GITLAB_NLB_CIDRS = ["10.42.200.0/28", "10.42.200.16/28"]
IMAGE_REPOS = ["cd/env_deploy", "cd/env_test", "cd/env_stop"]
# Names the proxy must refuse; mapped to the local upstream too, so a proxy
# that wrongly lets one through is caught by a real answer, not a DNS error.
DENY_PROBE_NAMES = ["example.com", "pypi.org", "github.com", "evil.amazonaws.com.example.net"]


# The infrastructure repo's allowlist template, as the drift check renders it.
ALLOWLIST_TEMPLATE = """\
# /etc/squid/domain-allowlist.conf for the env runner's outbound proxy
# (rendered from the infrastructure repo's template for env {env}).

# Container images: the ECR API, the env's own registry, and its layer storage in S3
api.ecr.{region}.amazonaws.com
{account}.dkr.ecr.{region}.amazonaws.com
.s3.{region}.amazonaws.com
.s3.amazonaws.com

# GitLab, for registration and jobs
{gitlab_host}

# Identity
sts.amazonaws.com
sts.{region}.amazonaws.com
iam.amazonaws.com

# Logs and terraform locks
logs.{region}.amazonaws.com
dynamodb.{region}.amazonaws.com

# AWS service endpoints terraform needs
ec2.{region}.amazonaws.com
autoscaling.{region}.amazonaws.com
rds.{region}.amazonaws.com
route53.amazonaws.com
route53resolver.{region}.amazonaws.com
kms.{region}.amazonaws.com
acm.{region}.amazonaws.com
acm.us-east-1.amazonaws.com
elasticloadbalancing.{region}.amazonaws.com
elasticache.{region}.amazonaws.com
kinesis.{region}.amazonaws.com
firehose.{region}.amazonaws.com
wafv2.{region}.amazonaws.com
wafv2.us-east-1.amazonaws.com
athena.{region}.amazonaws.com
glue.{region}.amazonaws.com
cloudfront.amazonaws.com
monitoring.{region}.amazonaws.com
events.{region}.amazonaws.com
lambda.{region}.amazonaws.com
sns.{region}.amazonaws.com
sqs.{region}.amazonaws.com
ssm.{region}.amazonaws.com
secretsmanager.{region}.amazonaws.com
email.{region}.amazonaws.com
apigateway.{region}.amazonaws.com
cloudtrail.{region}.amazonaws.com
config.{region}.amazonaws.com
guardduty.{region}.amazonaws.com
securityhub.{region}.amazonaws.com
backup.{region}.amazonaws.com
elasticfilesystem.{region}.amazonaws.com
states.{region}.amazonaws.com
servicequotas.{region}.amazonaws.com
access-analyzer.{region}.amazonaws.com
organizations.amazonaws.com
budgets.amazonaws.com
shield.us-east-1.amazonaws.com

# Package sources baked into images at build time, still used by chef
download.docker.com
packages.gitlab.com
rubygems.org
index.rubygems.org
security.ubuntu.com

# Monitoring vendors
collector.newrelic.com
gov-collector.newrelic.com
api.newrelic.com
infra-api.newrelic.com
log-api.newrelic.com

# The env's own IdP, and its origin behind the edge
{idp_host}
{idp_origin_host}
"""


# Names inside the allowlist's wildcards that the sandbox's upstream answers for.
WILDCARD_UPSTREAM_NAMES = [
    f"s3.{REGION}.amazonaws.com",
    "s3.amazonaws.com",
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


def image_ref(repo: str, digest: str) -> str:
    return f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{repo}@{digest}"


def allowed_images_file(blocks: list[tuple[str, list[str]]]) -> str:
    """The allowed-images file: blocks of references after dated separators."""
    out = []
    for date, refs in blocks:
        out.append(f"XXXXXdate_separatorXXXXX {date}")
        out.extend(refs)
    return "\n".join(out) + "\n"


@dataclass
class Canaries:
    """Secret values seeded into the sandbox, recognisable so a test can grep for leaks."""

    registration_token: str = field(default_factory=lambda: "GR1348941" + "canaryRegTok" + secrets.token_hex(10))
    runner_token: str = field(default_factory=lambda: "glrt-canaryRunTok" + secrets.token_hex(10))
    tf_sensitive_output: str = field(default_factory=lambda: "canaryTfSecret" + secrets.token_hex(12))

    def all(self) -> list[str]:
        return [self.registration_token, self.runner_token, self.tf_sensitive_output]


@dataclass(frozen=True)
class World:
    """Everything about one sandbox env that depends on its name."""

    env: str = DEFAULT_ENV
    # The benchmark's knob: more groups, allowlist entries, image blocks, buckets, instances.
    scale: int = 1

    @property
    def idp_host(self) -> str:
        return f"idp.{self.env}.identitysandbox.gov"

    @property
    def tf_state_key(self) -> str:
        return f"terraform-app/terraform-{self.env}.tfstate"

    @property
    def runner_asg(self) -> str:
        return f"{self.env}-gitlab-env-runner"

    @property
    def proxy_asg(self) -> str:
        return f"{self.env}-outboundproxy"

    def bucket(self, kind: str) -> str:
        return {
            "secrets": f"login-gov.secrets.{ACCOUNT}-{REGION}",
            "gitlabconfig": f"login-gov-{self.env}-gitlabconfig-{ACCOUNT}-{REGION}",
            "gitlabcache": f"login-gov-{self.env}-gitlabcache-{ACCOUNT}-{REGION}",
            "tfstate": f"login-gov.tf-state.{ACCOUNT}-{REGION}",
        }[kind]

    @property
    def allowlist_template(self) -> str:
        extra = [f"svc{i}.bench.{{region}}.amazonaws.com" for i in range(5 * (self.scale - 1))]
        return ALLOWLIST_TEMPLATE + ("\n# Scale entries\n" + "\n".join(extra) + "\n" if extra else "")

    @property
    def image_blocks(self) -> int:
        return 1 + self.scale

    @property
    def allowlist(self) -> str:
        values = {
            "env": self.env,
            "region": REGION,
            "account": ACCOUNT,
            "gitlab_host": GITLAB_HOST,
            "idp_host": self.idp_host,
            "idp_origin_host": f"idp.origin.{self.env}.identitysandbox.gov",
        }
        return fill(self.allowlist_template, values)

    def upstream_names(self) -> list[str]:
        """Every name the sandbox's squid resolves to the local upstream."""
        return sorted(set(allowlist_exact_names(self.allowlist)) | set(WILDCARD_UPSTREAM_NAMES) | set(DENY_PROBE_NAMES))

    def runner_config_toml(
        self, *, runner_token: str, proxy_url: str, allowed_images: list[str], instance_id: str
    ) -> str:
        """/etc/gitlab-runner/config.toml as the env runner's registration writes it."""

        def toml_list(items: list[str]) -> str:
            return "[" + ", ".join(json.dumps(i) for i in items) + "]"

        no_proxy = "localhost,127.0.0.1,169.254.169.254,.login.gov.internal,.amazonaws.com"
        environment = [
            f"HTTP_PROXY={proxy_url}",
            f"HTTPS_PROXY={proxy_url}",
            f"NO_PROXY={no_proxy}",
            f"MY_ENV={self.env}",
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
        Type = "s3"
        Shared = true
        [runners.cache.s3]
          ServerAddress = "s3.amazonaws.com"
          BucketName = "{self.bucket("gitlabcache")}"
          BucketLocation = "{REGION}"
      [runners.docker]
        tls_verify = false
        image = {json.dumps(allowed_images[0])}
        privileged = false
        disable_entrypoint_overwrite = true
        oom_kill_disable = false
        disable_cache = false
        volumes = ["/cache"]
        shm_size = 0
        network_mode = "runner-net"
        security_opt = ["no-new-privileges"]
        cap_drop = ["net_raw"]
        memory = "4096m"
        allowed_images = {toml_list(allowed_images)}
        allowed_services = [""]
        pull_policy = ["always"]
    """)

    def pipeline_yaml(self, deploy: str, test: str, stop: str) -> str:
        """The infrastructure repo's .gitlab-ci.yml, cut to this env's jobs (plus another env's, to be ignored)."""
        registry = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
        return textwrap.dedent(f"""\
    stages: [deploy, test, stop]

    variables:
      ECR_REGISTRY: {registry}

    .deploy_template: &deploy_template
      stage: deploy
      image: ${{ECR_REGISTRY}}/cd/env_deploy@${{DEPLOY_IMAGE_DIGEST}}
      script: [bin/deploy-env]

    .test_template: &test_template
      stage: test
      image: ${{ECR_REGISTRY}}/cd/env_test@${{TEST_IMAGE_DIGEST}}
      script: [./run_tests.sh "$ENV_NAME"]
      artifacts:
        when: always
        reports:
          junit: report/junit.xml

    deploy_{self.env}:
      <<: *deploy_template
      variables:
        DEPLOY_IMAGE_DIGEST: "{deploy}"
        TEST_IMAGE_DIGEST: "{test}"
        STOP_IMAGE_DIGEST: "{stop}"
      environment:
        name: {self.env}
        on_stop: stop_{self.env}
      resource_group: {self.env}
      tags: [{self.env}-env-runner]
      only: [stages/{self.env}]

    test_{self.env}:
      <<: *test_template
      variables:
        ENV_NAME: {self.env}
        TEST_IMAGE_DIGEST: "{test}"
      tags: [{self.env}-env-runner]
      only: [stages/{self.env}]

    stop_{self.env}:
      stage: stop
      image: ${{ECR_REGISTRY}}/cd/env_stop@${{STOP_IMAGE_DIGEST}}
      variables:
        STOP_IMAGE_DIGEST: "{stop}"
      environment:
        name: {self.env}
        action: stop
      when: manual
      tags: [{self.env}-env-runner]

    deploy_tspencer:
      <<: *deploy_template
      variables:
        DEPLOY_IMAGE_DIGEST: "sha256:{"f" * 64}"
      tags: [tspencer-env-runner]
    """)
