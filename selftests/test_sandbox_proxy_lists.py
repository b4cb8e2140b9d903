"""The sandbox's squid uses ip-allowlist.conf and domain-denylist.conf as squid.conf.erb has the real one use them,
so what the list checks read is what the proxy does."""

from __future__ import annotations

import pytest

from envtest.gather.probes import through_proxy
from envtest_double import proxy_lists
from envtest_double.running import PROXY_ROLE, Sandbox

pytestmark = pytest.mark.sandbox


def _outcome(sandbox: Sandbox, name: str) -> str:
    return through_proxy(sandbox.environ["PROXY_URL"], name, connect=True, timeout=5).outcome


def test_an_address_in_the_ip_allowlist_lets_any_name_that_resolves_to_it_through(clean_sandbox: Sandbox) -> None:
    """squid's dst ACL: example.com is in no allowlist, but its address (the sandbox's upstream) is listed."""
    assert _outcome(clean_sandbox, "example.com") == "denied"
    path = clean_sandbox.host_path(PROXY_ROLE, proxy_lists.IP_ALLOWLIST_PATH)
    path.write_text(path.read_text() + f"{clean_sandbox.state['upstream_ip']}\n")
    clean_sandbox.reload_squid()
    assert _outcome(clean_sandbox, "example.com") == "through"


def test_the_denylist_wins_over_the_allowlist(clean_sandbox: Sandbox) -> None:
    name = "s3.us-west-2.amazonaws.com"  # inside the allowlist's .s3.us-west-2.amazonaws.com
    assert _outcome(clean_sandbox, name) == "through"
    path = clean_sandbox.host_path(PROXY_ROLE, proxy_lists.DENYLIST_PATH)
    path.write_text(path.read_text() + f"{name}\n")
    clean_sandbox.reload_squid()
    assert _outcome(clean_sandbox, name) == "denied"
