"""The fault catalogue as data: how to seed each fault into the sandbox, and what must catch it.

Adding a fault is adding a row here (an id from design/checks.md, what is wrong, the seed function, or an
environment override), the seed function in the module of its area (runner, terraform, network, images,
lockdown, hosts, edge), and a mark on the checks that must catch it (`@pytest.mark.catches`) or may only be
unable to evaluate while it is in place (`blinded_by`): the table reads them (envtest/catalogue.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from envtest import catalogue
from envtest.sandbox.faults.edge import (
    error_page_cached,
    hsts_without_preload,
    idp_unhealthy,
    metric_filter_counts_errors,
    metric_filter_deleted,
    origin_served_directly,
    security_header_missing,
)
from envtest.sandbox.faults.hosts import (
    app_may_read_attempts,
    app_reaches_redis,
    bucket_policy_names_a_role,
    bucket_policy_names_the_account,
    dnssec_not_validated,
    elk_cloud_init_errors,
    filebeat_write_errors,
    idp_loses_redis,
    logstash_red,
    resolver_loses_the_idp_name,
    worker_may_delete_from_escrow,
)
from envtest.sandbox.faults.images import (
    allowed_digest_missing_from_ecr,
    env_override_unpinned,
    env_override_where_none_is_allowed,
    image_by_tag,
    image_digest_63_hex,
    image_from_another_registry,
    images_block_dated_in_the_future,
    images_file_with_a_stray_word,
    images_with_comment_separators,
    lockdown_list_empty,
    pattern_pipeline_image_not_blessed,
    pattern_runner_allows_every_image,
    pipeline_digest_not_allowed,
    runner_allowed_images_drift,
    runner_allows_a_pattern_matching_alpine,
    runner_allows_a_pattern_that_misses_bare_alpine,
    runner_allows_every_service,
    runner_allows_the_debug_image,
    runner_entrypoint_overwrite_allowed,
    runner_not_recycled_after_the_file_was_fixed,
    runner_privileged,
)
from envtest.sandbox.faults.lockdown import (
    app_role_reads_the_token,
    images_file_publicly_writable,
    token_bucket_public_by_acl,
    worker_role_writes_the_images_file,
)
from envtest.sandbox.faults.network import (
    allowlist_drifted,
    allowlist_provider_wildcard,
    allowlist_shadowed_entries,
    direct_path_open,
    egress_all_to_internet,
    egress_https_to_internet,
    endpoint_group_closed,
    endpoint_missing,
    endpoint_one_az_only,
    endpoint_private_dns_off,
    gitlab_host_not_allowlisted,
    proxy_instance_drifted,
    proxy_lets_a_denied_name_through,
    proxy_rule_widened,
    s3_gateway_unrouted,
)
from envtest.sandbox.faults.runner import (
    config_bucket_tag_empty,
    config_bucket_tag_names_a_missing_bucket,
    empty_token,
    missing_config_bucket_tag,
    no_in_service_runner,
    proxy_stops_listening,
    runner_config_token_empty,
    runner_group_deleted,
    runner_unhealthy,
    token_wrong_shape,
)
from envtest.sandbox.faults.terraform import (
    terraform_names_another_redis,
    terraform_region_drift,
    terraform_says_another_env,
)
from envtest.sandbox.running import Sandbox


@dataclass(frozen=True)
class Fault:
    id: str
    title: str
    seed: Callable[[Sandbox], None]
    caught_by: tuple[str, ...] = ()
    # Checks that depend on what the fault broke: they error (no verdict), never pass or fail.
    cannot_evaluate: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    exit_code: int = 1
    # For a fault that must stop the run (exit 2): the preflight check that must say so.
    stop_check: str = "wrong_environment"
    # Seeded on an emulated instance (or its firewall): needs a sandbox that can host them.
    needs_instances: bool = False
    # The sandbox's allowed-images era (ENVTEST_SANDBOX_ERA): "file" (the runbook's) or "pattern" (since 2023-08).
    era: str = "file"


def _no_change(_: Sandbox) -> None:
    pass


# id, what is wrong, how to seed it. The checks that must fail, and those that can only report "could not
# evaluate" while it is in place, are marked on the checks themselves (catches, blinded_by; envtest/catalogue.py):
# nothing else may fail or error.
_ROWS: list[Fault] = [
    Fault("F1", "runner egress: all protocols to 0.0.0.0/0", egress_all_to_internet),
    Fault("F2", "runner egress: tcp 443 to 0.0.0.0/0", egress_https_to_internet),
    Fault("F3", "egress to the proxy group widened to 3128-3200", proxy_rule_widened),
    Fault("F4", "the kms interface endpoint missing", endpoint_missing),
    Fault("F5", "the ssm interface endpoint with private DNS off", endpoint_private_dns_off),
    Fault("F5-az", "the logs interface endpoint in one AZ only", endpoint_one_az_only),
    Fault("F5-sg", "the kms endpoint's group admits no 443 from the runner", endpoint_group_closed),
    Fault("F5-s3", "the S3 gateway endpoint in no runner route table", s3_gateway_unrouted),
    Fault("F6", "proxy allowlist gains .amazonaws.com", allowlist_provider_wildcard),
    Fault("F6-shadow", "an allowlist wildcard shadows later entries", allowlist_shadowed_entries),
    Fault("F6-drift", "the deployed allowlist differs from the template", allowlist_drifted),
    Fault(
        "F6-instance",
        "one proxy instance of two holds a hand-edited allowlist",
        proxy_instance_drifted,
        needs_instances=True,
    ),
    Fault("F7", "proxy allowlist loses the GitLab host", gitlab_host_not_allowlisted),
    Fault("F8", "proxy lets through a host that must be denied", proxy_lets_a_denied_name_through),
    Fault("F8-direct", "a path around the proxy: a direct connection opens", direct_path_open),
    Fault("F9", "allowed images: a tag-only reference", image_by_tag),
    Fault("F10", "allowed images: a digest of 63 hex digits", image_digest_63_hex),
    Fault("F11", "an env override holding an image that is not pinned", env_override_unpinned),
    Fault(
        "F11-comments", "comment separators under the split-on-white-space boot code", images_with_comment_separators
    ),
    Fault(
        "F11-policy", "an env override in force where the env's policy allows none", env_override_where_none_is_allowed
    ),
    Fault("F9-word", "a stray word in the allowed-images file", images_file_with_a_stray_word),
    Fault("F9-registry", "a pinned image from outside the env's ECR", image_from_another_registry),
    Fault("F9-date", "an allowed-images block dated in the future", images_block_dated_in_the_future),
    Fault("F12", "runner config: allowed_services = []", runner_allows_every_service),
    Fault("F13", "runner config: entrypoint overwrite not disabled", runner_entrypoint_overwrite_allowed),
    Fault("F13-privileged", "runner config: privileged containers", runner_privileged),
    Fault("F14", "runner config: allowed images differ from the file", runner_allowed_images_drift),
    Fault("F14-empty", "the file in force is empty: the runner allows every image", lockdown_list_empty),
    Fault("F14-alpine", "config.toml also allows alpine:latest (added by hand)", runner_allows_the_debug_image),
    Fault(
        "F14-glob",
        "config.toml also allows **/alpine* (matches the probe's image)",
        runner_allows_a_pattern_matching_alpine,
    ),
    # The probe asks for one image only: a pattern that misses it is the static check's to catch.
    Fault(
        "F14-slash",
        "config.toml also allows */alpine* (not the probe's image: it needs a /)",
        runner_allows_a_pattern_that_misses_bare_alpine,
    ),
    Fault(
        "F14-stale",
        "the file was fixed, the runner still allows its old list (with alpine:latest)",
        runner_not_recycled_after_the_file_was_fixed,
    ),
    Fault("F18", "the pipeline deploys a digest the runner does not allow", pipeline_digest_not_allowed),
    Fault("F19", "an allowed digest that does not exist in ECR", allowed_digest_missing_from_ecr),
    Fault("F15", "registration token object empty", empty_token),
    Fault("F15-shape", "registration token is not token-shaped", token_wrong_shape),
    Fault("F15-config", "the runner registered with an empty token", runner_config_token_empty),
    Fault("F16", "env-runner group with no InService instance", no_in_service_runner),
    Fault("F16-unhealthy", "the env runner's instance is Unhealthy", runner_unhealthy),
    Fault("F16-group", "no env-runner group at all", runner_group_deleted),
    Fault(
        "F17-bucket", "the runner's tag names a bucket that does not exist", config_bucket_tag_names_a_missing_bucket
    ),
    Fault("F-terraform", "terraform outputs of another region", terraform_region_drift),
    Fault(
        "F-terraform-redis", "terraform's elasticache address is not the running Redis", terraform_names_another_redis
    ),
    Fault("F7-down", "the outbound proxy accepts no connection", proxy_stops_listening),
    Fault("L1", "the interesting-URIs metric filter deleted", metric_filter_deleted),
    Fault("L1-pattern", "the success metric filter counts 5xx answers", metric_filter_counts_errors),
    Fault("H6-name", "the resolver lost the IdP's own name", resolver_loses_the_idp_name, needs_instances=True),
    Fault("F17", "instance tag gitlab_config_s3_bucket missing", missing_config_bucket_tag),
    Fault("F17-empty", "instance tag gitlab_config_s3_bucket present but empty", config_bucket_tag_empty),
    Fault("K1", "anyone may put objects where the allowed-images file lives", images_file_publicly_writable),
    Fault(
        "K1-acl", "the token's bucket readable by everyone (ACL, no public access block)", token_bucket_public_by_acl
    ),
    Fault("K2", "the app role may read the registration token", app_role_reads_the_token),
    Fault("K2-write", "the worker role may write the allowed-images file", worker_role_writes_the_images_file),
    Fault("H1", "app hosts can reach Redis", app_reaches_redis, needs_instances=True),
    Fault("H1-idp", "idp hosts cannot reach Redis", idp_loses_redis, needs_instances=True),
    Fault("H2", "a role may delete from escrow", worker_may_delete_from_escrow),
    Fault("H2-read", "the app role may read attempts-API events", app_may_read_attempts),
    Fault("H2-role", "a bucket policy grants the app role a read", bucket_policy_names_a_role),
    Fault(
        "H2-account",
        "a bucket policy Allow naming the account (grants the roles nothing)",
        bucket_policy_names_the_account,
        exit_code=0,
    ),
    Fault("H3", "cloud-init errors on the ELK host", elk_cloud_init_errors, needs_instances=True),
    Fault("H4", "logstash status red, no events out", logstash_red, needs_instances=True),
    Fault("H4-filebeat", "filebeat write errors", filebeat_write_errors, needs_instances=True),
    Fault("H5", "the edge drops X-Frame-Options", security_header_missing),
    Fault("H5-hsts", "HSTS without preload", hsts_without_preload),
    Fault("H5-origin", "the origin serves the site around CloudFront", origin_served_directly),
    Fault("H5-cache", "error pages served from CloudFront's cache", error_page_cached),
    Fault("H5-health", "the IdP health check reports unhealthy", idp_unhealthy),
    Fault("H6", "the resolver does not validate DNSSEC", dnssec_not_validated, needs_instances=True),
    Fault("P14-empty", "era 2: the runner allows every image", pattern_runner_allows_every_image, era="pattern"),
    Fault("P14-alpine", "era 2: the runner also allows alpine:latest", runner_allows_the_debug_image, era="pattern"),
    Fault(
        "P18",
        "era 2: the pipeline deploys an image outside the blessed path",
        pattern_pipeline_image_not_blessed,
        era="pattern",
    ),
    Fault("F20", "MY_ENV names another env", _no_change, env={"MY_ENV": "other"}, exit_code=2),
    Fault(
        "F20-branch",
        "the pipeline's branch is stages/<another env>",
        _no_change,
        env={"CI_COMMIT_BRANCH": "stages/other"},
        exit_code=2,
    ),
    Fault("F20-terraform", "the terraform state is another env's", terraform_says_another_env, exit_code=2),
    Fault(
        "F20-account",
        "the credentials are for another account",
        _no_change,
        env={"EXPECTED_ACCOUNT_ID": "210987654321"},
        exit_code=2,
    ),
]


FAULTS: dict[str, Fault] = {
    fault.id: replace(fault, caught_by=catalogue.caught_by(fault.id), cannot_evaluate=catalogue.blinded_by(fault.id))
    for fault in _ROWS
}
