"""The proxies' domain lists: the env runner's allowlist template, the denylist, and the names the sandbox's
upstream answers for (the IdP proxy's allowlist: idp_allowlist.py).
"""

from __future__ import annotations

from pathlib import Path

from envtest_double.env_facts import REGION, TOOLING_ACCOUNT

# Names the proxy must refuse; mapped to the local upstream too, so a proxy that wrongly lets one through is
# caught by a real answer, not a DNS error. api.github.com: the allowlist holds github.com exactly, not its subdomains.
DENY_PROBE_NAMES = ["example.com", "pypi.org", "api.github.com", "evil.amazonaws.com.example.net"]
# squid's other lists, rendered by the identity-outboundproxy recipe on every proxy (no per-proxy_for variant):
# templates/default/ip-allowlist.conf.erb and domain-denylist.conf.erb, the same at the three revisions' commits.
PROXY_ROLES = ("env-runner-proxy", "outboundproxy")
IP_ALLOWLIST_PATH = "/etc/squid/ip-allowlist.conf"
DENYLIST_PATH = "/etc/squid/domain-denylist.conf"
IP_ALLOWLIST = "# Add a list of bare CIDR blocks here, one per line\n# 1.2.3.4/32\n172.31.2.52\n"
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
_ALLOWLIST_SOURCE = Path(__file__).resolve().parent / "env-runner-allowlist.txt"
ERB_GITLAB_URL = "<%= @gitlab_url %>"
ERB_ENV = "<%= node.chef_environment %>"


def allowlist_erb() -> str:
    text = _ALLOWLIST_SOURCE.read_text()
    return text.replace("{gitlab_url}", ERB_GITLAB_URL).replace("{env}", ERB_ENV)


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
