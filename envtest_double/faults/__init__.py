"""The fault catalogue as data: how to seed each fault into the sandbox, and what must catch it.

Adding a fault is adding a row here (an id from design/checks.md, what is wrong, the seed function, or an
environment override), the seed function in the module of its area (runner, registration, terraform, network,
images, lockdown, hosts, edge), and a mark on the checks that must catch it (`@pytest.mark.catches`) or may only
be unable to evaluate while it is in place (`blinded_by`): the table reads them (envtest/catalogue.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from envtest import catalogue
from envtest_double.faults.edge import (
    error_page_cached,
    hsts_without_preload,
    idp_unhealthy,
    metric_filter_counts_errors,
    metric_filter_deleted,
    origin_served_directly,
    security_header_missing,
)
from envtest_double.faults.hosts import (
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
from envtest_double.faults.images import (
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
from envtest_double.faults.lockdown import (
    app_role_reads_the_token,
    config_bucket_grants_an_unknown_account,
    config_bucket_grants_everyone_through_an_endpoint,
    images_file_publicly_writable,
    token_bucket_public_by_acl,
    worker_role_writes_the_images_file,
)
from envtest_double.faults.network import (
    allowlist_drifted,
    allowlist_provider_wildcard,
    allowlist_shadowed_entries,
    argo_rule_to_a_non_ec2_address,
    direct_path_open,
    egress_all_to_internet,
    egress_https_to_internet,
    egress_ssh_to_an_unlisted_address,
    endpoint_group_closed,
    endpoint_missing,
    endpoint_one_az_only,
    endpoint_private_dns_off,
    gitlab_host_not_allowlisted,
    idp_proxy_allowlist_gains_a_name,
    idp_proxy_denylist_loses_a_name,
    idp_proxy_lets_a_denied_name_through,
    proxy_instance_drifted,
    proxy_ip_allowlist_gains_an_address,
    proxy_lets_a_denied_name_through,
    proxy_rule_widened,
    s3_gateway_unrouted,
)
from envtest_double.faults.registration import (
    production_env_with_an_unprotected_runner,
    runner_holds_a_shared_tag,
    runner_runs_untagged_jobs,
)
from envtest_double.faults.runner import (
    config_bucket_tag_empty,
    config_bucket_tag_names_a_missing_bucket,
    empty_token,
    missing_config_bucket_tag,
    no_in_service_runner,
    proxy_stops_listening,
    runner_config_token_empty,
    runner_docker_icc_on,
    runner_docker_tcp_drop_in,
    runner_docker_tcp_socket,
    runner_group_deleted,
    runner_unhealthy,
    token_wrong_shape,
)
from envtest_double.faults.terraform import (
    terraform_names_another_redis,
    terraform_region_drift,
    terraform_says_another_env,
)
from envtest_double.running import Sandbox


@dataclass(frozen=True)
class Fault:
    id: str
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
    # A file-era fault that changes the allowed-images file (or what it lists): it means nothing in a pattern-era
    # revision, whose runner reads no file (--prove --revision leaves it out there).
    bound_to_era: bool = False
    # Seeded on the argo groups (net.tf since 2024-09): a revision whose runner carries none leaves it out.
    needs_argo: bool = False
    # Only for a fault no check's mark names (a preflight stop, a control that must not fail): the others take
    # their title from the check that catches them (`@pytest.mark.catches("F1: what is wrong", ...)`), one source.
    own_title: str = ""

    @property
    def title(self) -> str:
        return self.own_title or catalogue.fault_titles().get(self.id, "(no check names this fault)")


def _no_change(_: Sandbox) -> None:
    pass


# id, how to seed it; what is wrong is the title the catching check's mark gives. The checks that must fail, and
# those that can only report "could not evaluate" while it is in place, are marked on the checks themselves
# (catches, blinded_by; envtest/catalogue.py): nothing else may fail or error.
_ROWS: list[Fault] = [
    Fault("F1", egress_all_to_internet),
    Fault("F1-unlisted", egress_ssh_to_an_unlisted_address),
    Fault("F1-argo", argo_rule_to_a_non_ec2_address, needs_argo=True),
    Fault("F2", egress_https_to_internet),
    Fault("F3", proxy_rule_widened),
    Fault("F4", endpoint_missing),
    Fault("F5", endpoint_private_dns_off),
    Fault("F5-az", endpoint_one_az_only),
    Fault("F5-sg", endpoint_group_closed),
    Fault("F5-s3", s3_gateway_unrouted),
    Fault("F6", allowlist_provider_wildcard),
    Fault("F6-shadow", allowlist_shadowed_entries),
    Fault("F6-drift", allowlist_drifted),
    Fault(
        "F6-instance",
        proxy_instance_drifted,
        needs_instances=True,
    ),
    Fault("F7", gitlab_host_not_allowlisted),
    Fault("F8", proxy_lets_a_denied_name_through),
    Fault("F8-direct", direct_path_open),
    Fault("F8-idp-path", idp_proxy_allowlist_gains_a_name),
    Fault("F8-idp-live", idp_proxy_lets_a_denied_name_through),
    Fault("F9", image_by_tag),
    Fault("F10", image_digest_63_hex),
    Fault("F11", env_override_unpinned),
    Fault("F11-comments", images_with_comment_separators),
    Fault("F11-policy", env_override_where_none_is_allowed),
    Fault("F9-word", images_file_with_a_stray_word),
    Fault("F9-registry", image_from_another_registry),
    Fault("F9-date", images_block_dated_in_the_future),
    Fault("F12", runner_allows_every_service),
    Fault("F13", runner_entrypoint_overwrite_allowed),
    Fault("F13-privileged", runner_privileged),
    Fault("F14", runner_allowed_images_drift, bound_to_era=True),
    Fault("F14-empty", lockdown_list_empty, bound_to_era=True),
    Fault("F14-alpine", runner_allows_the_debug_image),
    Fault(
        "F14-glob",
        runner_allows_a_pattern_matching_alpine,
    ),
    # The probe asks for one image only: a pattern that misses it is the static check's to catch.
    Fault(
        "F14-slash",
        runner_allows_a_pattern_that_misses_bare_alpine,
    ),
    Fault(
        "F14-stale",
        runner_not_recycled_after_the_file_was_fixed,
        bound_to_era=True,
    ),
    Fault("F18", pipeline_digest_not_allowed, bound_to_era=True),
    Fault("F19", allowed_digest_missing_from_ecr),
    Fault("F15", empty_token),
    Fault("F15-shape", token_wrong_shape),
    Fault("F15-config", runner_config_token_empty),
    Fault("F16", no_in_service_runner),
    Fault("F16-unhealthy", runner_unhealthy),
    Fault("F16-group", runner_group_deleted),
    Fault("F17-bucket", config_bucket_tag_names_a_missing_bucket),
    Fault("F-terraform", terraform_region_drift),
    Fault("F-terraform-redis", terraform_names_another_redis),
    Fault("F7-down", proxy_stops_listening),
    Fault("L1", metric_filter_deleted),
    Fault("L1-pattern", metric_filter_counts_errors),
    Fault("H6-name", resolver_loses_the_idp_name, needs_instances=True),
    Fault("F17", missing_config_bucket_tag),
    Fault("F17-empty", config_bucket_tag_empty),
    Fault("K1", images_file_publicly_writable),
    Fault("K1-acl", token_bucket_public_by_acl),
    Fault("K2", app_role_reads_the_token),
    Fault("K2-write", worker_role_writes_the_images_file),
    Fault("K3", config_bucket_grants_an_unknown_account),
    Fault("K3-everyone", config_bucket_grants_everyone_through_an_endpoint),
    Fault("H1", app_reaches_redis, needs_instances=True),
    Fault("H1-idp", idp_loses_redis, needs_instances=True),
    Fault("H2", worker_may_delete_from_escrow),
    Fault("H2-read", app_may_read_attempts),
    Fault("H2-role", bucket_policy_names_a_role),
    Fault(
        "H2-account",
        own_title="a bucket policy Allow naming the account (grants the roles nothing)",
        seed=bucket_policy_names_the_account,
        exit_code=0,
    ),
    Fault("H3", elk_cloud_init_errors, needs_instances=True),
    Fault("H4", logstash_red, needs_instances=True),
    Fault("H4-filebeat", filebeat_write_errors, needs_instances=True),
    Fault("H5", security_header_missing),
    Fault("H5-hsts", hsts_without_preload),
    Fault("H5-origin", origin_served_directly),
    Fault("H5-cache", error_page_cached),
    Fault("H5-health", idp_unhealthy),
    Fault("H6", dnssec_not_validated, needs_instances=True),
    Fault("P14-empty", pattern_runner_allows_every_image, era="pattern"),
    Fault("P14-alpine", runner_allows_the_debug_image, era="pattern"),
    Fault(
        "P18",
        pattern_pipeline_image_not_blessed,
        era="pattern",
    ),
    Fault("G1", runner_runs_untagged_jobs),
    Fault("G1-protected", production_env_with_an_unprotected_runner),
    Fault("G1-tags", runner_holds_a_shared_tag),
    Fault("F20", own_title="MY_ENV names another env", seed=_no_change, env={"MY_ENV": "other"}, exit_code=2),
    Fault(
        "F20-branch",
        own_title="the pipeline's branch is stages/<another env>",
        seed=_no_change,
        env={"CI_COMMIT_BRANCH": "stages/other"},
        exit_code=2,
    ),
    Fault(
        "F20-terraform", own_title="the terraform state is another env's", seed=terraform_says_another_env, exit_code=2
    ),
    Fault(
        "F20-account",
        own_title="the credentials are for another account",
        seed=_no_change,
        env={"EXPECTED_ACCOUNT_ID": "210987654321"},
        exit_code=2,
    ),
    Fault("F8-ip", proxy_ip_allowlist_gains_an_address),
    Fault("F8-denylist", idp_proxy_denylist_loses_a_name),
    Fault("F13-icc", runner_docker_icc_on),
    Fault("F13-tcp", runner_docker_tcp_socket),
    Fault("F13-tcp-dropin", runner_docker_tcp_drop_in),
]


FAULTS: dict[str, Fault] = {
    fault.id: replace(fault, caught_by=catalogue.caught_by(fault.id), cannot_evaluate=catalogue.blinded_by(fault.id))
    for fault in _ROWS
}
