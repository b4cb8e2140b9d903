"""Egress rules against declared ones: what is flagged, and what is missing."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envtest.gather.services.ec2 import SecurityGroup
from envtest.parsers.published_lists import PublishedList
from envtest.policy.egress import Declared, Rule, evaluate, flatten

RUNNER = "sg-runner"
PROXY = {"sg-proxy": "dev-obproxy"}
DECLARED = [
    Declared("proxy", "tcp", 3128, 3128, groups=PROXY, required=True),
    Declared("github", "tcp", 22, 22, cidrs=("192.30.252.0/22",), required=True),
    Declared("endpoints", "tcp", 443, 443, groups={"sg-endpoints": "dev-endpoints"}),
]


def group(*permissions: dict) -> SecurityGroup:
    # DescribeSecurityGroups' shape (EC2 API reference: SecurityGroup, IpPermission), read as the suite reads it.
    return SecurityGroup.from_api(
        {"GroupId": RUNNER, "GroupName": "dev-runner", "IpPermissionsEgress": list(permissions)}
    )


CLEAN = [
    {"IpProtocol": "tcp", "FromPort": 3128, "ToPort": 3128, "UserIdGroupPairs": [{"GroupId": "sg-proxy"}]},
    {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "192.30.252.0/22"}]},
]


def test_flatten_splits_each_destination() -> None:
    rules = flatten(
        group(
            {
                "IpProtocol": "6",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "1.0.0.0/8"}],
                "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
                "PrefixListIds": [{"PrefixListId": "pl-1"}],
            }
        )
    )
    assert [(r.protocol, r.kind, r.destination) for r in rules] == [
        ("tcp", "cidr", "1.0.0.0/8"),
        ("tcp", "cidr", "::/0"),
        ("tcp", "prefix-list", "pl-1"),
    ]


def test_clean_egress_has_no_findings_but_a_missing_required_rule() -> None:
    findings = evaluate(flatten(group(*CLEAN)), DECLARED)
    assert findings == []
    findings = evaluate(flatten(group(CLEAN[0])), DECLARED)
    assert [(f.what, f.detail) for f in findings] == [("missing", "no rule reaches 192.30.252.0/22")]


def test_broad_and_undeclared_rules_are_flagged_with_the_reason() -> None:
    cases = {
        "open to the whole internet": {
            "IpProtocol": "tcp",
            "FromPort": 443,
            "ToPort": 443,
            "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
        },
        "all protocols": {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-proxy"}]},
        "all ports": {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "IpRanges": [{"CidrIp": "10.0.0.1/32"}]},
        "a prefix list": {
            "IpProtocol": "tcp",
            "FromPort": 443,
            "ToPort": 443,
            "PrefixListIds": [{"PrefixListId": "pl-1"}],
        },
        "a group no policy line": {
            "IpProtocol": "tcp",
            "FromPort": 3128,
            "ToPort": 3200,
            "UserIdGroupPairs": [{"GroupId": "sg-proxy"}],
        },
        "a destination no policy line": {
            "IpProtocol": "tcp",
            "FromPort": 22,
            "ToPort": 22,
            "IpRanges": [{"CidrIp": "192.30.0.0/16"}],
        },
    }
    for reason, permission in cases.items():
        findings = [f for f in evaluate(flatten(group(*CLEAN, permission)), DECLARED) if f.what == "undeclared"]
        assert len(findings) == 1 and reason in findings[0].detail, (reason, findings)
        assert "dev-runner (sg-runner) egress" in findings[0].rule


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "IpProtocol": st.sampled_from(["tcp", "udp", "-1", "6", "icmp"]),
                "FromPort": st.integers(-1, 65535),
                "ToPort": st.integers(-1, 65535),
                "IpRanges": st.lists(
                    st.fixed_dictionaries(
                        {
                            "CidrIp": st.sampled_from(
                                ["0.0.0.0/0", "10.0.0.0/8", "192.30.252.0/23", "bogus", "192.30.252.7/32"]
                            )
                        }
                    ),
                    max_size=2,
                ),
                "UserIdGroupPairs": st.lists(
                    st.fixed_dictionaries({"GroupId": st.sampled_from(["sg-proxy", "sg-x"])}), max_size=2
                ),
            }
        ),
        max_size=4,
    )
)
def test_every_rule_is_either_declared_or_flagged(permissions: list[dict]) -> None:
    rules = flatten(group(*permissions))
    flagged = {f.rule for f in evaluate(rules, DECLARED) if f.what == "undeclared"}
    for rule in rules:
        assert isinstance(rule, Rule)
        declared = any(
            d.protocol == rule.protocol and (d.from_port, d.to_port) == (rule.from_port, rule.to_port) for d in DECLARED
        )
        if not declared or rule.destination in {"0.0.0.0/0", "bogus", "sg-x"}:
            assert str(rule) in flagged


S3 = {"pl-s3": "com.amazonaws.us-west-2.s3"}
ARGO = "Allow connection to ec2 (argocd)"


def test_prefix_lists_and_described_ranges_are_first_class_destinations() -> None:
    """Egress to the S3 prefix list and to AWS's EC2 ranges (the argo groups), as the real groups have it."""
    declared = [
        Declared("S3 through its gateway endpoint", "tcp", 443, 443, prefix_lists=S3, required=True),
        Declared("argocd", "tcp", 443, 443, any_cidr_with_description=ARGO, required=True),
        Declared("nlb", "tcp", 443, 443, cidrs=("172.16.35.192/27",), description="Allow connection from NLB"),
    ]
    found = [
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "PrefixListIds": [{"PrefixListId": "pl-s3"}]},
        {
            "IpProtocol": "tcp",
            "FromPort": 443,
            "ToPort": 443,
            "IpRanges": [{"CidrIp": "3.4.0.0/16", "Description": ARGO}, {"CidrIp": "52.0.0.0/15", "Description": ARGO}],
        },
    ]
    assert evaluate(flatten(group(*found)), declared) == []
    # Another prefix list, a range without the description, or the NLB's CIDR without its description: flagged.
    strays = [
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "PrefixListIds": [{"PrefixListId": "pl-other"}]},
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "3.4.0.0/16"}]},
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "172.16.35.192/27"}]},
    ]
    flagged = [f.rule for f in evaluate(flatten(group(*found, *strays)), declared) if f.what == "undeclared"]
    assert sorted(rule.split(" to ", 1)[1] for rule in flagged) == ["172.16.35.192/27", "3.4.0.0/16", "pl-other"]
    # A described range is still flagged when it opens the whole internet.
    wide = {
        "IpProtocol": "tcp",
        "FromPort": 443,
        "ToPort": 443,
        "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": ARGO}],
    }
    assert [f.detail for f in evaluate(flatten(group(*found, wide)), declared)] == ["open to the whole internet"]
    # Required: the prefix list and a described range must be there.
    missing = [f.detail for f in evaluate([], declared) if f.what == "missing"]
    assert missing == ["no rule reaches prefix list com.amazonaws.us-west-2.s3 (pl-s3)", f"no rule described {ARGO!r}"]


GITHUB = PublishedList(
    "GitHub's published git list", "2023-02-27", ("192.30.252.0/22", "140.82.112.0/20", "20.201.28.151/32")
)
EC2 = PublishedList("AWS's published EC2 ranges for us-west-2", "2024-12-12", ("18.236.0.0/15", "44.224.0.0/11"))
LISTED = [
    Declared("github", "tcp", 22, 22, cidrs=("192.30.252.0/22",), required=True, published=GITHUB),
    Declared("argocd", "tcp", 443, 443, description=ARGO, published=EC2),
]


def _ssh(*cidrs: str, group_id: str = RUNNER, description: str = "") -> list[Rule]:
    return [Rule(group_id, "dev-runner", "tcp", 22, 22, "cidr", c, description) for c in cidrs]


def test_a_published_lists_single_address_passes_and_is_not_required() -> None:
    assert evaluate(_ssh("192.30.252.0/22", "20.201.28.151/32"), LISTED) == []
    assert evaluate(_ssh("192.30.252.0/22"), LISTED) == []  # GitHub's /32s come and go


def test_a_rule_shaped_like_the_list_but_outside_its_snapshot_is_unlisted_not_undeclared() -> None:
    findings = evaluate(_ssh("192.30.252.0/22", "20.201.28.200/32"), LISTED)
    assert [(f.what, f.detail) for f in findings] == [
        ("unlisted", "not in GitHub's published git list as of 2023-02-27")
    ]
    assert "20.201.28.200/32" in findings[0].rule
    argo = Rule("sg-argo", "dev-argo", "tcp", 443, 443, "cidr", "3.3.3.0/24", ARGO)
    assert [f.what for f in evaluate([*_ssh("192.30.252.0/22"), argo], LISTED)] == ["unlisted"]


@pytest.mark.parametrize(
    "rules",
    [
        _ssh("20.201.28.200/32"),  # no entry of the list beside it: nothing says it came from GitHub's list
        _ssh("192.30.252.0/22") + _ssh("20.201.28.200/32", group_id="sg-other"),  # another group
        _ssh("192.30.252.0/22", "10.1.2.3/32"),  # a private address is nobody's published one
        _ssh("192.30.252.0/22", "20.0.0.0/8"),  # wider than any entry the list ever had
        _ssh("192.30.252.0/22") + _ssh("20.201.28.200/32", description="someone's"),  # described otherwise
        [Rule("sg-argo", "dev-argo", "tcp", 443, 443, "cidr", "3.3.3.0/24", "other")],
    ],
)
def test_a_rule_nothing_ties_to_a_published_list_stays_undeclared(rules: list[Rule]) -> None:
    assert [f.what for f in evaluate(rules, LISTED) if f.what != "missing"] == ["undeclared"]


@given(st.integers(0, 2**32 - 1), st.integers(16, 32))
def test_a_rule_beside_githubs_entries_is_exactly_one_of_passed_unlisted_or_undeclared(
    address: int, length: int
) -> None:
    cidr = str(ipaddress.ip_network((address, length), strict=False))
    findings = [f for f in evaluate(_ssh("192.30.252.0/22", cidr), LISTED) if cidr in f.rule]
    network = ipaddress.ip_network(cidr)
    if GITHUB.holds(cidr):
        assert findings == []
    elif network.is_global and length >= 20:
        assert [f.what for f in findings] == ["unlisted"]
    else:
        assert [f.what for f in findings] == ["undeclared"]
