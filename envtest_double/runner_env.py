"""What the sandbox environment holds: names and file contents, as data, shaped like login.gov's.

Every name, rule and file here follows ../shared/design/environment.md and the
public infrastructure code it cites (18F/identity-pki); each value says where
it comes from. docs/fidelity.md tables them, with what the sandbox cannot show.
Every seeded value agrees with every other, so the clean sandbox passes every
check; each fault in faults/ breaks one thing.

The env's fixed facts are in env_facts.py, the proxies' domain lists in proxy_lists.py, the tooling account's
images in ecr_images.py; here, what depends on the env's name (World) and the secrets seeded into it (Canaries).
"""

from __future__ import annotations

import json
import secrets
import textwrap
from dataclasses import dataclass, field

from envtest_double import cloudfront_edge, idp_allowlist
from envtest_double.ecr_images import registry
from envtest_double.env_facts import ACCOUNT, DEFAULT_ENV, GITLAB_ACCOUNT, GITLAB_ENV, GITLAB_HOST, REGION, ROOT_DOMAIN
from envtest_double.proxy_lists import (
    DENY_PROBE_NAMES,
    ERB_ENV,
    ERB_GITLAB_URL,
    WILDCARD_UPSTREAM_NAMES,
    allowlist_erb,
    allowlist_exact_names,
)
from envtest_double.revisions import SANDBOX_REVISIONS, SandboxRevision


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
    # The revision of login.gov's code the sandbox is built as (revisions.py), or None: the era alone decides.
    revision: str | None = None

    @property
    def shapes(self) -> SandboxRevision | None:
        return SANDBOX_REVISIONS[self.revision] if self.revision else None

    @property
    def idp_proxy_allowlist(self) -> str:
        """The IdP proxy's allowlist, rendered from the revision's own template (the runbook's without one)."""
        commit = self.shapes.commit if self.shapes else idp_allowlist.RUNBOOK_COMMIT
        return idp_allowlist.idp_allowlist(commit, ROOT_DOMAIN)

    @property
    def loader(self) -> str:
        """How the runner recipe reads the allowed-images file (revisions.py); "split" when no revision is named."""
        return (self.shapes.loader if self.shapes else None) or "split"

    @property
    def gitlab_env_accounts(self) -> list[str]:
        """The accounts the GitLab deployment's config-bucket policy grants: this env's, and the revision's others
        (revisions.py; none without a revision: the sandbox's GitLab then serves this env alone)."""
        others = [a for a in (self.shapes.gitlab_env_accounts if self.shapes else ()) if a != ACCOUNT]
        return [ACCOUNT, *others]

    @property
    def repo_suffix(self) -> str:
        return "/blessed" if self.era == "pattern" else ""

    @property
    def idp_host(self) -> str:
        return f"idp.{self.env}.{ROOT_DOMAIN}"

    @property
    def origin_host(self) -> str:
        return cloudfront_edge.origin_host(self.env)

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
            # In the GitLab deployment's account, named by its module (terraform/gitlab/module/s3.tf:
            # login-gov-${var.env_name}-gitlabconfig-${account_id}-${var.region}, the GitLab env's name and
            # account); the sandbox's runner tag names it, as terraform's gitlab_configbucket does.
            "gitlabconfig": f"login-gov-{GITLAB_ENV}-gitlabconfig-{GITLAB_ACCOUNT}-{REGION}",
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
        A sandbox built as a revision has the probe jobs its CI templates had (revisions.py); else its era's.
        """
        jobs = (
            self.shapes.probe_jobs
            if self.shapes
            else (("run_unallowed_image", "test_unallowed_image") if self.era == "pattern" else ("badtest_{env}",))
        )
        probes = "".join(PROBE_JOBS[job.removesuffix("_{env}")].format(env=self.env, test=test) for job in jobs)
        return self._pipeline(deploy, test, stop) + textwrap.dedent(probes)

    def _pipeline(self, deploy: str, test: str, stop: str) -> str:
        r = self.repo_suffix
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
    """)


# The lockdown probe's jobs, as the CI templates write them ({env}, {test}: the env, the test image's digest).
PROBE_JOBS = {
    "run_unallowed_image": """
    run_unallowed_image:
      extends: .env_jobs
      stage: lockdown
      image: alpine:latest
      script: [touch unallowed.txt]
      allow_failure: true
      artifacts:
        paths: [unallowed.txt]
""",
    "test_unallowed_image": """
    test_unallowed_image:
      extends: [.test_template, .env_jobs]
      stage: lockdown
      needs: [run_unallowed_image]
      variables:
        TEST_IMAGE_DIGEST: "{test}"
      script: [test ! -f unallowed.txt]
""",
    "badtest": """
    badtest_{env}:
      extends: .env_jobs
      stage: lockdown
      image: alpine:latest
      script: [echo "this image must be refused"]
      when: manual
      allow_failure: true
""",
}
