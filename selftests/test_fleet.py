"""The sandbox's emulated instances, piece by piece: security groups as nftables, the mount plan, the resolver."""

from __future__ import annotations

import shutil
import socket
import struct
import subprocess
from pathlib import Path

import pytest

from envtest_double.dns import answer
from envtest_double.fleet.commands import mount_plan
from envtest_double.fleet.firewall import nft_ruleset
from envtest_double.fleet.network import RESOLVER_IP

GROUPS = {
    "sg-idp": {
        "IpPermissions": [],
        "IpPermissionsEgress": [
            {"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379, "UserIdGroupPairs": [{"GroupId": "sg-cache"}]}
        ],
    },
    "sg-cache": {
        "IpPermissions": [
            {"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379, "UserIdGroupPairs": [{"GroupId": "sg-idp"}]}
        ],
        "IpPermissionsEgress": [],
    },
    "sg-open": {
        "IpPermissions": [],
        "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    },
}
MEMBERS = {"sg-idp": ["10.42.1.6"], "sg-cache": ["10.42.3.10"]}


def test_a_security_group_becomes_default_drop_rules_naming_its_peers() -> None:
    cache = nft_ruleset(["sg-cache"], GROUPS, MEMBERS)
    assert "ip saddr 10.42.1.6/32 tcp dport 6379 accept" in cache
    assert cache.count("policy drop") == 2
    idp = nft_ruleset(["sg-idp"], GROUPS, MEMBERS)
    assert "ip daddr 10.42.3.10/32 tcp dport 6379 accept" in idp
    # The VPC resolver is outside security groups, as in AWS.
    assert f"ip daddr {RESOLVER_IP} udp dport 53 accept" in idp


def test_all_traffic_to_anywhere_becomes_one_unconditional_accept() -> None:
    assert "\n    accept\n" in nft_ruleset(["sg-open"], GROUPS, MEMBERS)


def test_a_group_naming_a_group_without_members_allows_nobody() -> None:
    lonely = nft_ruleset(["sg-cache"], GROUPS, {})
    assert "6379" not in lonely


@pytest.mark.skipif(shutil.which("nft") is None, reason="nft is not installed (scripts/install-system-deps.sh)")
def test_nft_accepts_the_rulesets(tmp_path: Path) -> None:
    for groups in (["sg-cache"], ["sg-idp"], ["sg-open"], ["sg-idp", "sg-open"]):
        ruleset = tmp_path / "rules.nft"
        ruleset.write_text(nft_ruleset(groups, GROUPS, MEMBERS))
        done = subprocess.run(["nft", "-c", "-f", str(ruleset)], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr


def test_role_files_mount_over_paths_the_machine_has_and_overlay_where_it_lacks_them(tmp_path: Path) -> None:
    role = tmp_path / "elk"
    (role / "etc").mkdir(parents=True)
    (role / "etc" / "hostname").write_text("elk\n")  # the machine has /etc/hostname: a bind mount
    (role / "var" / "lib" / "envtest-no-such-dir").mkdir(parents=True)  # it lacks this: overlay on /var/lib
    (role / "var" / "lib" / "envtest-no-such-dir" / "status.json").write_text("{}")
    plan = mount_plan(role)
    assert ["--bind", str(role / "etc" / "hostname"), "/etc/hostname"] in plan
    assert ["-t", "overlay", "overlay", "-o", f"lowerdir={role / 'var/lib'}:/var/lib", "/var/lib"] in plan
    assert len(plan) == 2


def _query(name: str, qtype: int = 1) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + labels + struct.pack("!HH", qtype, 1)


def test_the_resolver_stand_in_answers_servfails_and_denies() -> None:
    records = {"idp.sandbox.identitysandbox.gov": "10.42.0.80"}
    reply = answer(_query("IDP.sandbox.identitysandbox.gov"), records, {"dnssec-failed.org"})
    ident, flags, _, ancount = struct.unpack("!HHHH", reply[:8])
    assert (ident, flags & 0xF, ancount) == (0x1234, 0, 1)
    assert reply.endswith(socket.inet_aton("10.42.0.80"))
    assert struct.unpack("!H", answer(_query("dnssec-failed.org"), records, {"dnssec-failed.org"})[2:4])[0] & 0xF == 2
    assert struct.unpack("!H", answer(_query("example.com"), records, set())[2:4])[0] & 0xF == 3
    with pytest.raises(ValueError):
        answer(b"\x00\x01", records, set())
