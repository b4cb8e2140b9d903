"""A stand-in for the VPC's validating resolver (a test double: no DNSSEC-signed zone runs here).

Answers A queries for the names the sandbox knows, SERVFAIL for the names it
is told have broken DNSSEC (what a validating resolver answers for a bogus
signature), NXDOMAIN for the rest. `dig` on the emulated instances asks it.

    python -m envtest_double.dns ADDRESS RECORDS.json
"""

from __future__ import annotations

import json
import socket
import struct
import sys
from pathlib import Path

NOERROR, SERVFAIL, NXDOMAIN = 0, 2, 3


def parse_question(packet: bytes) -> tuple[int, int, str, int, int]:
    """(id, flags, name, qtype, end of question) of a query; ValueError when it is not one."""
    if len(packet) < 12:
        raise ValueError("short packet")
    ident, flags, qdcount = struct.unpack("!HHH", packet[:6])
    if qdcount != 1:
        raise ValueError("one question expected")
    labels, at = [], 12
    while True:
        if at >= len(packet):
            raise ValueError("truncated name")
        length = packet[at]
        at += 1
        if length == 0:
            break
        if length > 63:
            raise ValueError("compressed or bad label")
        labels.append(packet[at : at + length].decode("ascii", "replace"))
        at += length
    if at + 4 > len(packet):
        raise ValueError("truncated question")
    qtype, _ = struct.unpack("!HH", packet[at : at + 4])
    return ident, flags, ".".join(labels).lower(), qtype, at + 4


def answer(packet: bytes, records: dict[str, str], servfail: set[str]) -> bytes:
    ident, flags, name, qtype, end = parse_question(packet)
    question = packet[12:end]
    address = records.get(name)
    if name in servfail:
        rcode, answers = SERVFAIL, b""
    elif address is None:
        rcode, answers = NXDOMAIN, b""
    elif qtype == 1:
        rcode = NOERROR
        answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(address)
    else:
        rcode, answers = NOERROR, b""
    reply_flags = 0x8000 | (flags & 0x0100) | 0x0080 | rcode  # QR, RD copied, RA
    header = struct.pack("!HHHHHH", ident, reply_flags, 1, 1 if answers else 0, 0, 0)
    return header + question + answers


def main() -> None:
    address, records_file = sys.argv[1], Path(sys.argv[2])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, 53))
    print(f"resolver stand-in on {address}:53", flush=True)
    loaded, records, servfail = -1.0, {}, set()
    while True:
        packet, peer = sock.recvfrom(4096)
        if records_file.stat().st_mtime != loaded:  # the sandbox rewrites it after a reset
            loaded = records_file.stat().st_mtime
            data = json.loads(records_file.read_text())
            records = {k.lower().rstrip("."): v for k, v in data["records"].items()}
            servfail = {n.lower().rstrip(".") for n in data["servfail"]}
        try:
            sock.sendto(answer(packet, records, servfail), peer)
        except ValueError as exc:
            print(f"ignored a query from {peer[0]}: {exc}", flush=True)


if __name__ == "__main__":
    main()
