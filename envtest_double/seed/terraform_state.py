"""The terraform/app state the suite reads its outputs from."""

from __future__ import annotations

import json
import secrets
from typing import Any

from envtest_double import env_facts, runner_env

# terraform/app outputs.tf: the complete list of root outputs (environment.md, "Terraform"). Nothing about the
# runner, its proxy, endpoints or buckets.
TF_OUTPUTS = (
    "env_name",
    "region",
    "idp_dashboard_arn",
    "idp_alb",
    "idp_cloudfront",
    "elasticache",
    "idp_aurora_uw2",
    "dashboard_aurora_uw2",
    "worker_aurora_uw2",
)


def tf_state(canaries: runner_env.Canaries, world: runner_env.World, redis: dict[str, str]) -> str:
    env, acct, region = world.env, env_facts.ACCOUNT, env_facts.REGION

    def out(value: Any) -> dict[str, Any]:
        return {"value": value, "type": "string" if isinstance(value, str) else ["object", {}]}

    cloudfront = f"d{secrets.token_hex(6)}.cloudfront.net"
    aurora = {"endpoint": f"login-{env}-idp-aurora.cluster-abc.{region}.rds.amazonaws.com", "port": 5432}
    return json.dumps(
        {
            "version": 4,
            "terraform_version": "1.9.8",
            "serial": 42,
            "lineage": "5d3c1b1e-envtest-sandbox",
            "outputs": {
                "env_name": out(env),
                "region": out(region),
                "idp_dashboard_arn": out(f"arn:aws:cloudwatch::{acct}:dashboard/{env}-idp"),
                "idp_alb": out(
                    {"alb_hostname": f"{env}-idp-alb.{region}.elb.amazonaws.com", "origin_dns_name": world.origin_host}
                ),
                "idp_cloudfront": out(
                    {
                        "domain_name": cloudfront,
                        "custom_pages": [
                            f"https://{cloudfront}/5xx-codes/503.html",
                            f"https://{cloudfront}/maintenance/maintenance.html",
                        ],
                    }
                ),
                "elasticache": out({"cluster_address": redis["primary"], "cluster_cache_address": redis["primary"]}),
                "idp_aurora_uw2": out(aurora),
                "dashboard_aurora_uw2": out({**aurora, "endpoint": aurora["endpoint"].replace("idp", "dashboard")}),
                "worker_aurora_uw2": out({**aurora, "endpoint": aurora["endpoint"].replace("idp", "worker")}),
            },
            # State holds secrets in resources too (a database password here): the suite reads outputs only,
            # and the canary proves nothing else leaks.
            "resources": [
                {
                    "mode": "managed",
                    "type": "random_password",
                    "name": "idp_db",
                    "provider": 'provider["registry.terraform.io/hashicorp/random"]',
                    "instances": [{"attributes": {"result": canaries.tf_sensitive_output}, "sensitive_attributes": []}],
                }
            ],
        },
        indent=2,
    )
