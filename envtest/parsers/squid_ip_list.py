"""squid's `dst` ACL file (/etc/squid/ip-allowlist.conf), read as squid 5 reads it.

What squid does with such a file (src/ConfigParser.cc strtokFile, src/acl/Ip.cc FactoryParse and parse; checked
against `squid -k parse`):
- a line's token runs from its first word to the last word before one that starts with `#`; lines whose first
  word starts with `#`, and blank lines, are skipped;
- the token is matched, in order, as `a-b/mask`, `a-b`, `a/mask`, `a/` + anything, for IPv4 then IPv6; then as
  `x/mask` with any `x`; failing all, its first word goes to the resolver (a name is looked up when squid starts,
  and squid refuses to start when it does not resolve);
- `all` (and `0.0.0.0/0` and its spellings, with an error) matches every address;
- a mask drops the host bits of the addresses (`10.1.2.3/8` is `10.0.0.0/8`, with a warning); a mask wider than
  the family, or an address it cannot read, stops squid (FATAL);
- an entry that overlaps one kept before it is ignored (a warning), whichever of the two is wider.

`parse` never raises: every input gives the entries squid keeps plus the problems found. Each entry is kept with
the address intervals it matches; the kept ones are disjoint, so an overlap is found by looking at the two
neighbours of the new entry's place among them (a Fenwick tree), not by comparing it with every earlier entry.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from dataclasses import dataclass, field

from envtest.parsers.squid_allowlist import Problem

# (family, first, last): the addresses an entry matches, as integers of the family (4 or 6).
Interval = tuple[int, int, int]
_BITS = {4: 32, 6: 128}
_ALL = ((4, 0, 2**32 - 1), (6, 0, 2**128 - 1))
# squid's old spellings of "all" (Ip.cc): read as all, with an ERROR and a SECURITY NOTICE.
_ALL_SPELLINGS = {"0/0", "0.0.0.0/0", "0.0.0.0/0.0.0.0", "0.0.0.0-255.255.255.255", "0.0.0.0-0.0.0.0/0"}
# sscanf's patterns (Ip.cc SCAN_ACL1..4), IPv4's then IPv6's: (family, is a range, pattern). %[...] stops at the
# first character outside its class, and what follows a full match is ignored.
_SCANS = [
    (family, ranged, re.compile(pattern.format(a=a, m=m)))
    for family, a, m in ((4, "[0-9.]+", "[0-9.]+"), (6, "[0-9A-Fa-f:]+", "[0-9]+"))
    for ranged, pattern in (
        (True, "({a})-({a})/({m})"),
        (True, "({a})-({a})"),
        (False, "({a})/({m})"),
        (False, "({a})/."),
    )
]
_NON_IP = re.compile(r"([^/]+)/\s*(\S+)")


@dataclass(frozen=True)
class Entry:
    line: int
    text: str  # what squid reads from the line
    intervals: tuple[Interval, ...]

    def __str__(self) -> str:
        return self.text

    def spans(self) -> list[str]:
        """The addresses it matches, as first-last ranges."""
        return [_span(*interval) for interval in self.intervals]

    def covers(self, address: str) -> bool:
        found = _address(address)
        return found is not None and any(f == found[0] and lo <= found[1] <= hi for f, lo, hi in self.intervals)


@dataclass(frozen=True)
class IpList:
    entries: tuple[Entry, ...]  # the entries squid keeps, in the file's order
    problems: tuple[Problem, ...] = field(default=())

    def allows(self, address: str) -> Entry | None:
        """The entry that lets `address` through, or None."""
        return next((entry for entry in self.entries if entry.covers(address)), None)

    def outside(self, other: IpList) -> list[Entry]:
        """This list's entries that match some address `other` does not: what this list adds to it."""
        merged = _merged([i for entry in other.entries for i in entry.intervals])
        return [e for e in self.entries if not all(_covered(i, merged) for i in e.intervals)]


def _address(text: str) -> tuple[int, int] | None:
    """(family, integer) of an address as written, a v4-mapped IPv6 address read as the IPv4 one."""
    parts = text.split(".")
    if len(parts) == 4 and all(
        p.isascii() and p.isdigit() and (p == "0" or p[0] != "0") and int(p) < 256 for p in parts
    ):
        # The common case, without ipaddress's cost: four decimal parts, no leading zeros.
        return 4, int.from_bytes(bytes(int(p) for p in parts), "big")
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.version, int(address)


_ATON_PART = re.compile(r"0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*")


def _inet_aton(text: str) -> int | None:
    """An IPv4 address as the C library's resolver reads it (inet_aton): 1 to 4 parts, each decimal, 0-octal or
    0x-hex, the last filling the bytes left (`010.0.0.1` is 8.0.0.1, `1.2.3` is 1.2.0.3)."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4 or not all(_ATON_PART.fullmatch(p) for p in parts):
        return None
    values = [int(p, 16) if p[:2] in ("0x", "0X") else int(p, 8) if p.startswith("0") else int(p) for p in parts]
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    return sum(v << (24 - 8 * i) for i, v in enumerate(head)) + last


def _squid_address(text: str, notes: list[tuple[str, str]]) -> tuple[int, int] | None:
    """(family, integer) as squid reads the address; a note when the resolver reads it otherwise than it looks."""
    found = _address(text)
    if found is None and ":" not in text:
        loose = _inet_aton(text)
        if loose is not None:
            read = ipaddress.IPv4Address(loose)
            notes.append(("invalid", f"'{text}' is not written plainly: squid reads it as {read}; write {read}"))
            return 4, loose
    return found


def _mask(text: str, family: int) -> int | None:
    """A mask's prefix length (squid's DecodeMask): a number, or a dotted IPv4 netmask; None if squid refuses it."""
    if text.isdigit():
        length = int(text)
        return length if length <= _BITS[family] else None
    try:
        netmask = int(ipaddress.IPv4Address(text)) if family == 4 else None
    except ValueError:
        return None
    if netmask is None:
        return None
    length = bin(netmask).count("1")
    return length if netmask == (2**32 - 1) ^ (2 ** (32 - length) - 1) else None


class _Refused(Exception):
    def __init__(self, severity: str, message: str) -> None:
        super().__init__(message)
        self.severity = severity


def _read(token: str) -> tuple[str, tuple[Interval, ...], list[tuple[str, str]]]:
    """(what squid reads, its intervals, (severity, message) notes), or _Refused."""
    if token == "all":
        return token, _ALL, []
    if token in _ALL_SPELLINGS:
        return token, _ALL, [("warning", f"'{token}' is every address: squid reads it as 'all' (with an ERROR)")]
    if token in ("ipv4", "ipv6"):
        # Conservative: the whole family (squid 5's own matching of these words is irregular).
        whole = _ALL[0] if token == "ipv4" else _ALL[1]
        return token, (whole,), [("warning", f"'{token}' stands for a whole address family; list addresses")]
    for family, ranged, pattern in _SCANS:
        found = pattern.match(token)
        if found:
            return _network(token, family, found, ranged)
    non_ip = _NON_IP.match(token)
    if non_ip:
        severity = "invalid" if _address(non_ip.group(1)) else "fatal"
        raise _Refused(severity, f"squid cannot read '{token}' as an address and mask as written; write a CIDR")
    word = token.split(maxsplit=1)[0]
    notes = _dropped(token, word)
    address = _squid_address(word, notes)
    if address is None:
        raise _Refused(
            "fatal" if word.endswith(("-", "/")) else "invalid",
            f"'{word}' is not an address: squid hands it to the resolver when it starts (a name's addresses "
            "change without the list changing; one that does not resolve stops squid)",
        )
    return word, ((address[0], address[1], address[1]),), notes


def _dropped(token: str, read: str) -> list[tuple[str, str]]:
    rest = token[len(read) :].strip()
    return [("invalid", f"squid reads only '{read}' from the line; '{rest}' is dropped")] if rest else []


def _network(
    token: str, family: int, found: re.Match[str], ranged: bool
) -> tuple[str, tuple[Interval, ...], list[tuple[str, str]]]:
    """An address, a range, either with a mask: its interval, as squid masks it."""
    groups = found.groups()
    first_text, last_text = groups[0], (groups[1] if ranged else None)
    mask_text = groups[-1] if len(groups) == (3 if ranged else 2) else ""
    # "a/" followed by any other character: squid reads the address alone.
    text = found.group(0) if mask_text or ranged else first_text
    notes = _dropped(token, text) if token != text else []
    first = _squid_address(first_text, notes)
    last = _squid_address(last_text, notes) if last_text else None
    if first is None or (last_text and last is None):
        raise _Refused("fatal", f"squid cannot read '{text}' as an address: it refuses to start")
    if last is not None and last[0] != first[0]:
        raise _Refused("invalid", f"'{text}' mixes IPv4 and IPv6")
    length = _mask(mask_text, family) if mask_text else _BITS[family]
    if length is None:
        raise _Refused("fatal", f"'{mask_text}' is not a mask for '{text}': squid refuses to start")
    if mask_text and not mask_text.isdigit():
        notes.append(("warning", f"'{text}': a dotted netmask (squid warns; write /{length})"))
    if first[0] != family:  # an IPv4-mapped IPv6 address: its mask counts the 96 bits before the IPv4 part
        family, length = first[0], max(0, length - 96)
    host = 2 ** (_BITS[family] - length) - 1
    lo, hi = first[1] & ~host, ((last or first)[1] & ~host) | host
    if lo != first[1] or (last is not None and last[1] & ~host != last[1]):
        notes.append(("warning", f"'{text}': the mask drops host bits, so it matches {_span(family, lo, hi)}"))
    if lo > hi:
        raise _Refused("invalid", f"'{text}' runs backwards: it matches no address")
    return text, ((family, lo, hi),), notes


def _span(family: int, lo: int, hi: int) -> str:
    """An interval as an address, a network, or a first-last range."""
    make = ipaddress.IPv4Address if family == 4 else ipaddress.IPv6Address
    if lo == hi:
        return str(make(lo))
    networks = list(ipaddress.summarize_address_range(make(lo), make(hi)))  # type: ignore[arg-type]
    return str(networks[0]) if len(networks) == 1 else f"{make(lo)}-{make(hi)}"


def _merged(intervals: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for family, lo, hi in sorted(intervals):
        if out and out[-1][0] == family and lo <= out[-1][2] + 1:
            out[-1] = (family, out[-1][1], max(out[-1][2], hi))
        else:
            out.append((family, lo, hi))
    return out


def _covered(interval: Interval, merged: list[Interval]) -> bool:
    index = bisect.bisect_right(merged, (interval[0], interval[1], 2**129)) - 1
    if index < 0:
        return False
    family, lo, hi = merged[index]
    return family == interval[0] and lo <= interval[1] and interval[2] <= hi


class _Kept:
    """The kept entries' intervals. They never overlap (squid ignores an entry that would), so a new interval
    overlaps one of them exactly when a kept interval starts inside it, or the last one starting before it
    reaches into it. Starts are known in advance (every entry's), so a Fenwick tree over their sorted positions
    answers both in O(log n): no list grows by insertion, nothing is compared pairwise."""

    def __init__(self, intervals: list[Interval]) -> None:
        self.starts = sorted({_key(family, lo) for family, lo, _ in intervals})
        self.size = len(self.starts) + 1
        self.tree = [0] * self.size  # counts of kept starts, Fenwick-indexed from 1
        self.kept: dict[int, tuple[int, Entry]] = {}  # position -> (last address, entry)

    def _prefix(self, position: int) -> int:
        """How many kept intervals start before `position`."""
        total = 0
        while position > 0:
            total += self.tree[position]
            position -= position & -position
        return total

    def _kth(self, k: int) -> int:
        """The position of the k-th kept start (k >= 1)."""
        position, step = 0, 1 << self.size.bit_length()
        while step:
            if position + step < self.size and self.tree[position + step] < k:
                position += step
                k -= self.tree[position]
            step >>= 1
        return position

    def overlapping(self, interval: Interval) -> Entry | None:
        family, lo, hi = interval
        first = bisect.bisect_left(self.starts, _key(family, lo))
        before = self._prefix(first)
        if self._prefix(bisect.bisect_right(self.starts, _key(family, hi))) > before:
            return self.kept[self._kth(before + 1)][1]
        if before:
            position = self._kth(before)
            if self.starts[position] >> _FAMILY_SHIFT == family and self.kept[position][0] >= lo:
                return self.kept[position][1]
        return None

    def add(self, interval: Interval, entry: Entry) -> None:
        family, lo, hi = interval
        position = bisect.bisect_left(self.starts, _key(family, lo))
        self.kept[position] = (hi, entry)
        index = position + 1
        while index < self.size:
            self.tree[index] += 1
            index += index & -index


# A start as one integer, the family above any address: integers compare faster than tuples.
_FAMILY_SHIFT = 129


def _key(family: int, lo: int) -> int:
    return family << _FAMILY_SHIFT | lo


def _token(raw: str) -> str:
    """squid's strtokFile: from the first word to the last word before one that starts with '#'."""
    words = raw.split()
    kept: list[str] = []
    for word in words:
        if word.startswith("#"):
            break
        kept.append(word)
    if not kept:
        return ""
    start = raw.index(kept[0])
    end = start
    for word in kept:
        end = raw.index(word, end) + len(word)
    return raw[start:end]


def parse(text: str) -> IpList:
    problems: list[Problem] = []
    if text.startswith("\ufeff"):
        problems.append(Problem(1, "invalid", "the file starts with a byte-order mark: save it without one"))
        text = text[1:]
    # First what each line reads as, then which of them squid keeps, in the file's order.
    read_lines: list[Entry] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        token = _token(raw)
        if not token:
            continue
        try:
            read, intervals, notes = _read(token)
        except _Refused as refused:
            problems.append(Problem(number, refused.severity, str(refused)))
            continue
        problems += [Problem(number, severity, message) for severity, message in notes]
        read_lines.append(Entry(number, read, intervals))
    kept = _Kept([i for entry in read_lines for i in entry.intervals])
    entries: list[Entry] = []
    for entry in read_lines:
        earlier = next((e for e in map(kept.overlapping, entry.intervals) if e is not None), None)
        if earlier is not None:
            problems.append(
                Problem(
                    entry.line,
                    "warning",
                    f"'{entry}' overlaps '{earlier}' (line {earlier.line}): squid ignores it (keeping the earlier "
                    "entry); remove one of the two",
                )
            )
            continue
        for interval in entry.intervals:
            kept.add(interval, entry)
        entries.append(entry)
    return IpList(tuple(entries), tuple(sorted(problems, key=lambda p: p.line)))
