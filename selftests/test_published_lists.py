"""The published-list snapshots: GitHub's /meta and AWS's ip-ranges.json, read as their publishers write them."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envtest.errors import CouldNotEvaluate
from envtest.gather.published_lists import published_lists
from envtest.parsers.published_lists import PublishedList, aws_ip_ranges, github_meta
from envtest.policy import Policy, load_policy

PUBLISHED = Path(__file__).resolve().parents[1] / "policy" / "published"


def test_the_committed_github_snapshot_is_login_govs_copy_with_its_single_addresses() -> None:
    listed = github_meta((PUBLISHED / "github-meta-git.json").read_text())
    assert listed.date == "2023-02-27"
    assert listed.cidrs[:4] == ("192.30.252.0/22", "185.199.108.0/22", "140.82.112.0/20", "143.55.64.0/20")
    assert len(listed.cidrs) == 20 and sum(c.endswith("/32") for c in listed.cidrs) == 16


def test_the_committed_aws_snapshot_is_ec2_in_us_west_2_as_published() -> None:
    text = (PUBLISHED / "aws-ip-ranges-ec2-us-west-2.json").read_text()
    listed = aws_ip_ranges(text, "EC2", "us-west-2")
    assert (listed.date, len(listed.cidrs)) == ("2024-12-12", 127)  # two argo groups of at most 120
    assert json.loads(text)["syncToken"] == "1734046390"
    with pytest.raises(ValueError, match="no EC2 prefix in us-east-1"):
        aws_ip_ranges(text, "EC2", "us-east-1")


def test_ip_ranges_keep_one_service_and_region_ipv4_only_case_insensitively() -> None:
    text = json.dumps(
        {
            "syncToken": "1",
            "createDate": "2024-01-02-03-04-05",
            "prefixes": [
                {"ip_prefix": "3.0.0.0/15", "region": "us-west-2", "service": "EC2"},
                {"ip_prefix": "3.2.0.0/24", "region": "us-west-2", "service": "AMAZON"},
                {"ip_prefix": "3.4.0.0/24", "region": "us-east-1", "service": "EC2"},
            ],
            "ipv6_prefixes": [{"ipv6_prefix": "2600:1f00::/24", "region": "us-west-2", "service": "EC2"}],
        }
    )
    assert aws_ip_ranges(text, "ec2", "US-WEST-2") == PublishedList(
        "AWS's published ec2 ranges for US-WEST-2", "2024-01-02", ("3.0.0.0/15",)
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("[]", "not a JSON object"),
        ("{", "not JSON"),
        ('{"git": ["1.2.3.0/24"]}', "_date"),
        ('{"_date": "2023-02-27", "git": []}', "no list under 'git'"),
        ('{"_date": "2023-02-27", "git": ["1.2.3.4/24"]}', "is not a CIDR"),  # host bits set: not as published
        ('{"_date": "2023-02-27", "git": ["2001:db8::/32"]}', "no IPv4 entry"),
    ],
)
def test_a_github_snapshot_that_is_not_one_is_refused_naming_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        github_meta(text)


def test_holds_takes_entries_and_what_is_inside_them_only() -> None:
    listed = PublishedList("t", "2023-02-27", ("140.82.112.0/20", "20.201.28.151/32"))
    assert listed.holds("20.201.28.151/32") and listed.holds("140.82.113.0/24") and listed.holds("140.82.112.0/20")
    assert not listed.holds("20.201.28.152/32") and not listed.holds("140.82.0.0/16") and not listed.holds("bogus")
    assert not listed.holds("::/0")


@given(st.text(max_size=200))
def test_any_text_is_a_list_or_a_value_error(text: str) -> None:
    for parse in (github_meta, lambda t: aws_ip_ranges(t, "EC2", "us-west-2")):
        try:
            listed = parse(text)
        except ValueError:
            continue
        assert listed.cidrs


@given(st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(8, 32)), min_size=1, max_size=6), st.data())
def test_every_address_inside_an_entry_is_held_and_no_other(
    entries: list[tuple[int, int]], data: st.DataObject
) -> None:
    cidrs = tuple(str(ipaddress.ip_network((address, length), strict=False)) for address, length in entries)
    listed = github_meta(json.dumps({"_date": "2024-12-12", "git": list(cidrs)}))
    address = ipaddress.ip_address(data.draw(st.integers(0, 2**32 - 1)))
    inside = any(address in ipaddress.ip_network(c) for c in cidrs)
    assert listed.holds(f"{address}/32") == inside


def _policy_with(tmp_path: Path, lists: str) -> Policy:
    root = Path(__file__).resolve().parents[1] / "policy"
    (tmp_path / "published").mkdir()
    text = (root / "default.toml").read_text()
    start = text.index("\n[egress.published_lists]\n") + 1
    end = text.index("[[egress.allow]]", start)
    (tmp_path / "default.toml").write_text(text[:start] + "[egress.published_lists]\n" + lists + "\n" + text[end:])
    return load_policy("dev", policy_dir=tmp_path)


def test_the_snapshots_are_read_beside_default_toml_and_a_missing_one_cannot_be_evaluated(tmp_path: Path) -> None:
    policy = _policy_with(tmp_path, 'github = "published/gone.json"\naws_ec2 = ""\naws_ec2_region = "us-west-2"')
    with pytest.raises(CouldNotEvaluate, match=r"\[egress.published_lists\] github: cannot read the snapshot .*gone"):
        published_lists(policy)
    (tmp_path / "published" / "gone.json").write_text((PUBLISHED / "github-meta-git.json").read_text())
    assert published_lists(policy)["github"].date == "2023-02-27"


def test_a_snapshot_outside_the_policy_directory_is_refused(tmp_path: Path) -> None:
    policy = _policy_with(tmp_path, 'github = "../../etc/passwd"\naws_ec2 = ""\naws_ec2_region = "us-west-2"')
    with pytest.raises(CouldNotEvaluate, match="is outside"):
        published_lists(policy)
