"""The ip-allowlist parser reads what squid's `dst` ACL reads, and agrees with squid on what it ignores or refuses."""

from __future__ import annotations

import ipaddress
import random
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envtest.gather import squid_judge
from envtest.parsers.squid_ip_list import IpList, parse


def _texts(ip_list: IpList) -> list[str]:
    return [e.text for e in ip_list.entries]


def test_addresses_networks_ranges_comments_and_blank_lines() -> None:
    ip_list = parse(
        "# Add a list of bare CIDR blocks here, one per line\n# 1.2.3.4/32\n172.31.2.52\n\n 10.0.0.0/8 # c\n"
    )
    assert _texts(ip_list) == ["172.31.2.52", "10.0.0.0/8"]
    assert ip_list.problems == ()
    assert ip_list.allows("172.31.2.52") and not ip_list.allows("172.31.2.53")
    assert ip_list.allows("10.255.0.1") and not ip_list.allows("11.0.0.0")
    ranged = parse("1.2.3.4-1.2.3.9\n2001:db8::/32\n")
    assert ranged.allows("1.2.3.9") and not ranged.allows("1.2.3.10")
    assert ranged.allows("2001:db8:ffff::1") and not ranged.allows("2001:db9::")


@pytest.mark.parametrize(
    ("lines", "kept", "severities"),
    [
        # squid keeps the first of two overlapping entries and ignores the later, narrower or wider (a warning).
        (["10.0.0.0/8", "10.1.0.0/16"], ["10.0.0.0/8"], ["warning"]),
        (["10.1.0.0/16", "10.0.0.0/8"], ["10.1.0.0/16"], ["warning"]),
        (["1.2.3.4", "1.2.3.4"], ["1.2.3.4"], ["warning"]),
        (["1.2.3.4-1.2.3.9", "1.2.3.5"], ["1.2.3.4-1.2.3.9"], ["warning"]),
        (["all", "1.2.3.4"], ["all"], ["warning"]),
        (["::ffff:10.0.0.1", "10.0.0.1"], ["::ffff:10.0.0.1"], ["warning"]),
        # Host bits under the mask are dropped: 10.1.2.3/8 is 10.0.0.0/8.
        (["10.1.2.3/8"], ["10.1.2.3/8"], ["warning"]),
        (["0.0.0.0/0"], ["0.0.0.0/0"], ["warning"]),
        (["10.0.0.0/255.0.0.0"], ["10.0.0.0/255.0.0.0"], ["warning"]),
        # squid reads the line's first word here: the rest is dropped without a word from squid.
        (["1.2.3.4 5.6.7.8"], ["1.2.3.4"], ["invalid"]),
        # Refused at start (FATAL): a mask past the family's width, a name that does not resolve, a dangling range.
        (["10.0.0.0/33"], [], ["fatal"]),
        (["1.2.3.4-"], [], ["fatal"]),
        (["1.2.3.4/"], [], ["fatal"]),
        (["10.0.0.1 x/24"], [], ["fatal"]),
        # Read by the resolver, not as written: a name, or an address in a form squid's resolver reads its own way.
        (["proxy.example.test"], [], ["invalid"]),
        (["010.1.2.3"], ["010.1.2.3"], ["invalid"]),
        (["1.2.3"], ["1.2.3"], ["invalid"]),
        (["10.0.0.0/8", "8.0.0.0/8", "010.0.0.1/32"], ["10.0.0.0/8", "8.0.0.0/8"], ["invalid", "warning"]),
        # A range that runs backwards matches nothing.
        (["1.2.3.9-1.2.3.4"], [], ["invalid"]),
    ],
)
def test_entries_are_judged_as_squid_judges_them(lines: list[str], kept: list[str], severities: list[str]) -> None:
    ip_list = parse("\n".join(lines) + "\n")
    assert _texts(ip_list) == kept
    assert [p.severity for p in ip_list.problems] == severities


def test_a_mask_that_drops_host_bits_widens_the_entry() -> None:
    assert parse("10.1.2.3/8\n").allows("10.200.0.1")


def test_an_address_not_written_plainly_is_read_as_squids_resolver_reads_it() -> None:
    assert parse("010.0.0.1\n").allows("8.0.0.1") and parse("1.2.3\n").allows("1.2.0.3")
    assert parse("0x7f.1\n").allows("127.0.0.1")


def test_entries_outside_another_list_are_named() -> None:
    template = parse("172.31.2.52\n10.0.0.0/16\n")
    deployed = parse("172.31.2.52\n10.0.1.0/24\n93.184.216.34\n10.0.255.0-10.1.0.1\n")
    assert [e.text for e in deployed.outside(template)] == ["93.184.216.34", "10.0.255.0-10.1.0.1"]
    assert [e.text for e in template.outside(deployed)] == ["10.0.0.0/16"]
    assert parse("all\n").outside(parse("0.0.0.0/0\n::/0\n")) == []


def test_a_byte_order_mark_is_reported() -> None:
    ip_list = parse("\ufeff10.0.0.1\n")
    assert "byte-order mark" in ip_list.problems[0].message


@given(st.text(max_size=400))
def test_any_text_gives_entries_and_problems_never_a_crash(text: str) -> None:
    ip_list = parse(text)
    assert all(p.severity in {"fatal", "warning", "invalid"} for p in ip_list.problems)


_NETWORKS = st.builds(
    lambda a, p: ipaddress.ip_network((a, p), strict=False), st.integers(0, 2**32 - 1), st.integers(8, 32)
)


@given(st.lists(_NETWORKS, max_size=40))
def test_the_index_keeps_what_comparing_every_pair_keeps(networks: list[ipaddress.IPv4Network]) -> None:
    """squid keeps an entry only when it overlaps no entry kept before it: the index must find each overlap."""
    kept: list[ipaddress.IPv4Network] = []
    for network in networks:
        if not any(network.overlaps(k) for k in kept):
            kept.append(network)
    assert _texts(parse("".join(f"{n}\n" for n in networks))) == [str(n) for n in kept]


@given(st.lists(_NETWORKS, max_size=20), st.lists(st.integers(0, 2**32 - 1), max_size=20))
def test_allows_is_membership_in_the_kept_entries(networks: list[ipaddress.IPv4Network], probes: list[int]) -> None:
    ip_list = parse("".join(f"{n}\n" for n in networks))
    for probe in probes:
        address = ipaddress.IPv4Address(probe)
        expected = any(address in ipaddress.ip_network(e.text) for e in ip_list.entries)
        assert (ip_list.allows(str(address)) is not None) == expected


def _networks_text(count: int) -> str:
    rng = random.Random(count)
    networks = (ipaddress.ip_network((rng.getrandbits(32), rng.randint(16, 32)), strict=False) for _ in range(count))
    return "".join(f"{n}\n" for n in networks)


def test_parsing_is_near_linear() -> None:
    """Four times the entries cost about four times the time, not sixteen (a pairwise comparison's)."""

    def seconds(text: str) -> float:
        # This process's CPU time, not the wall: on a loaded machine the wall counts the time other processes
        # held the cores (seen: a ratio of 12.0 with a benchmark running beside the self-tests).
        start = time.process_time()
        parse(text)
        return time.process_time() - start

    small, large = _networks_text(8_000), _networks_text(32_000)
    ratio = min(seconds(large) for _ in range(3)) / min(seconds(small) for _ in range(3))
    assert ratio < 10, f"32,000 entries took {ratio:.1f} times as long as 8,000"


def _squid_parse(text: str) -> tuple[int, str]:
    binary = squid_judge.find_squid()
    assert binary is not None
    with tempfile.TemporaryDirectory(prefix="envtest-ip-list-") as tmp:
        directory = Path(tmp)
        (directory / "ips.conf").write_text(text)
        (directory / "squid.conf").write_text(
            f'http_port 127.0.0.1:3128\nvisible_hostname envtest-parse\nacl ips dst "{directory / "ips.conf"}"\n'
            f"http_access allow ips\nhttp_access deny all\npid_filename none\ncache_log {directory / 'cache.log'}\n"
        )
        done = subprocess.run(
            [binary, "-k", "parse", "-f", str(directory / "squid.conf")],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    return done.returncode, done.stdout + done.stderr


# Words squid reads without asking DNS (no names: a resolver's answer is not the parser's to know).
WORDS = [
    "10.0.0.0/8",
    "10.1.0.0/16",
    "10.1.2.3",
    "10.1.2.3/8",
    "1.2.3.4-1.2.3.9",
    "1.2.3.5",
    "172.31.2.52",
    "all",
    "2001:db8::/32",
    "2001:db8:1::/48",
    "10.0.0.0/33",
    "1.2.3.4-",
    "# comment",
    "0.0.0.0/0",
    "010.0.0.1",
    "8.0.0.0/8",
    "1.2.3/24",
    "999.1.1.1/8",
]


@pytest.mark.skipif(squid_judge.find_squid() is None, reason="no squid binary to compare with")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=5))
def test_parser_and_real_squid_agree_on_what_they_ignore_and_refuse(words: list[str]) -> None:
    ip_list = parse("\n".join(words) + "\n")
    exit_code, output = _squid_parse("\n".join(words) + "\n")
    severities = {p.severity for p in ip_list.problems}
    assert (exit_code != 0) == ("fatal" in severities), output
    if exit_code == 0:
        # squid may warn of one ignored entry more than once (each comparison on the way down its tree).
        ignored = any("squid ignores it" in p.message for p in ip_list.problems)
        assert ("is ignored to keep splay tree searching predictable" in output) == ignored, output
