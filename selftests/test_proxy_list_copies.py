"""squid's other lists as read from a proxy role's instances: one copy per distinct content, and nothing read is
"could not evaluate", never an empty pass."""

from __future__ import annotations

import pytest

from envtest.errors import CouldNotEvaluate
from envtest.fixtures.proxy import list_copies
from envtest.hosts.frames import ItemOutput

PATH = "/etc/squid/ip-allowlist.conf"


def test_instances_are_grouped_by_content() -> None:
    same, other = ItemOutput(0, b"172.31.2.52\n", ""), ItemOutput(0, b"172.31.2.52\n10.0.0.1\n", "")
    copies = list_copies("outboundproxy", "ip_allowlist", PATH, {"i-2": same, "i-1": same, "i-3": other})
    assert [(c.instances, c.text) for c in copies] == [(("i-1", "i-2"), "172.31.2.52\n"), (("i-3",), other.text)]
    assert copies[0].where == f"outboundproxy i-1, i-2:{PATH}"


def test_no_instance_answering_cannot_be_evaluated() -> None:
    with pytest.raises(CouldNotEvaluate, match="no outboundproxy instance answered"):
        list_copies("outboundproxy", "ip_allowlist", PATH, {})


@pytest.mark.parametrize(
    "output", [ItemOutput(1, b"", "cat: no such file"), ItemOutput(0, None, ""), ItemOutput(0, b"\xff\n", "")]
)
def test_an_unreadable_copy_cannot_be_evaluated(output: ItemOutput) -> None:
    with pytest.raises(CouldNotEvaluate, match="i-1"):
        list_copies("env-runner-proxy", "denylist", PATH, {"i-1": output})
