"""Published address lists, as committed snapshots: GitHub's `/meta` and AWS's `ip-ranges.json`.

login.gov's terraform fills some egress rules from lists other people publish and change (GitHub's `git`
addresses through `data.github_ip_ranges`, AWS's EC2 ranges through `data.aws_ip_ranges`). The suite judges those
rules against a snapshot of the list committed under policy/published/, with the date it was published, so a
rule outside it can say "not in the list as of DATE".

Two formats, each read as its publisher writes it:
- GitHub's `/meta` answer: an object whose `key` (here "git") is a list of CIDRs, IPv4 and IPv6. terraform's
  net.tf keeps the IPv4 ones (its `ip_regex`); so does `github_meta`. The answer carries no date: the snapshot
  adds `_date` (YYYY-MM-DD) and `_source`, which the parser requires.
- AWS's `ip-ranges.json`: `syncToken`, `createDate` (YYYY-MM-DD-hh-mm-ss), `prefixes` of
  `{ip_prefix, region, service, network_border_group}`. `aws_ip_ranges` keeps the IPv4 prefixes of one service
  and region, as `data.aws_ip_ranges`'s `cidr_blocks` does (case-insensitive, as the provider compares them).

Both raise ValueError, naming what is wrong, on anything else: a snapshot that cannot be read is a policy error,
never an empty list (an empty list would turn every rule it stands for into a finding, or worse, none).
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_AWS_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})-\d{2}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class PublishedList:
    """One published list as of one date: the CIDRs terraform would put in the rules it fills from it."""

    title: str  # "GitHub's published git list"
    date: str  # YYYY-MM-DD, the day the snapshot was published
    cidrs: tuple[str, ...]

    def holds(self, cidr: str) -> bool:
        """Is `cidr` one of the list's entries, or inside one (terraform writes them as published)?"""
        found = _ipv4(cidr)
        return found is not None and any(found.subnet_of(member) for member in self._networks)

    @functools.cached_property
    def _networks(self) -> tuple[ipaddress.IPv4Network, ...]:
        # Parsed once per list: the egress check asks of every rule against every declaration (771 times in the
        # sandbox's run), and parsing AWS's list each time was a second of the run's CPU, held under the GIL.
        return tuple(n for n in (_ipv4(c) for c in self.cidrs) if n is not None)


def _ipv4(cidr: str) -> ipaddress.IPv4Network | None:
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None
    return network if isinstance(network, ipaddress.IPv4Network) else None


def _object(text: str, what: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as e:
        raise ValueError(f"{what}: not JSON ({e})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{what}: not a JSON object")
    return data


def _cidr(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what}: {value!r} is not a CIDR")
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError(f"{what}: {value!r} is not a CIDR") from None
    return value


def github_meta(text: str, key: str = "git") -> PublishedList:
    """The IPv4 entries of `key` in a snapshot of GitHub's /meta answer (with its `_date`)."""
    what = "GitHub /meta snapshot"
    data = _object(text, what)
    date = data.get("_date")
    if not isinstance(date, str) or not _DAY.match(date):
        raise ValueError(f"{what}: `_date` must say when it was published (YYYY-MM-DD), found {date!r}")
    entries = data.get(key)
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{what}: no list under {key!r}")
    cidrs = [_cidr(e, f"{what} {key!r}") for e in entries]
    kept = tuple(c for c in cidrs if _ipv4(c) is not None)
    if not kept:
        raise ValueError(f"{what}: {key!r} holds no IPv4 entry")
    return PublishedList(f"GitHub's published {key} list", date, kept)


def aws_ip_ranges(text: str, service: str, region: str) -> PublishedList:
    """The IPv4 prefixes of `service` in `region` in a snapshot of AWS's ip-ranges.json."""
    what = "AWS ip-ranges.json snapshot"
    data = _object(text, what)
    created = data.get("createDate")
    match = _AWS_DATE.match(created) if isinstance(created, str) else None
    if match is None:
        raise ValueError(f"{what}: createDate {created!r} is not YYYY-MM-DD-hh-mm-ss")
    prefixes = data.get("prefixes")
    if not isinstance(prefixes, list):
        raise ValueError(f"{what}: no `prefixes` list")
    kept = []
    for entry in prefixes:
        if not isinstance(entry, dict):
            raise ValueError(f"{what}: a prefix entry is not an object: {entry!r}")
        if str(entry.get("service", "")).lower() == service.lower() and (
            str(entry.get("region", "")).lower() == region.lower()
        ):
            kept.append(_cidr(entry.get("ip_prefix"), f"{what} ip_prefix"))
    if not kept:
        raise ValueError(f"{what}: no {service} prefix in {region}")
    return PublishedList(f"AWS's published {service} ranges for {region}", match.group(1), tuple(sorted(kept)))
