"""Commands for the people who maintain the allowed-images file.

run_tests.sh --check-allowed-images FILE [--registry HOST ...] [--max-blocks N]
    Validates a candidate file before it is uploaded: the same parser and
    rules as the checks (pinned digests, approved registries, dated blocks in
    order, what the running boot code would make of it). Exit 0 good, 1 bad.

run_tests.sh --image-digest-line REGISTRY/REPO@sha256:DIGEST [DATE]
    Prints the dated block to append, in the file's current format
    (runbook: "Add your new block of images on the end after a
    date_separator line with the date at the end of the line").
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import sys
from pathlib import Path

from envtest.parsers.allowed_images import SEPARATOR_TOKEN, parse, parse_reference


def check_file(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="run_tests.sh --check-allowed-images")
    parser.add_argument("file", type=Path)
    parser.add_argument(
        "--registry",
        action="append",
        default=[],
        help="an approved registry (repeatable); default: any *.dkr.ecr.*.amazonaws.com",
    )
    parser.add_argument("--max-blocks", type=int, default=4)
    args = parser.parse_args(argv)
    try:
        text = args.file.read_bytes().decode("utf-8")
    except OSError as exc:
        print(f"{args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    except UnicodeDecodeError as exc:
        print(f"{args.file}: not UTF-8 text (byte {exc.start})", file=sys.stderr)
        return 1
    parsed = parse(text)
    problems = [f"line {line}: {message}" for line, message in parsed.problems]
    for ref in parsed.references:
        if not ref.pinned:
            problems.append(f"line {ref.line}: {ref.text}: {ref.pin_problem()}")
        approved = ref.registry in args.registry if args.registry else ".dkr.ecr." in ref.registry
        if not approved:
            problems.append(f"line {ref.line}: {ref.text}: registry {ref.registry} is not approved")
    today = datetime.datetime.now(datetime.UTC).date()
    dates = [b.date for b in parsed.blocks if b.date]
    problems += [f"block dated {d} is in the future" for d in dates if d > today]
    problems += [
        f"block dated {b} is older than the block above it ({a})" for a, b in itertools.pairwise(dates) if b < a
    ]
    if len(parsed.blocks) > args.max_blocks:
        problems.append(f"{len(parsed.blocks)} blocks, more than {args.max_blocks}: remove the topmost")
    if parsed.legacy_tokens:
        problems.append(
            "the boot code in use splits the file on white space and would also allow: "
            + ", ".join(repr(t) for t in parsed.legacy_tokens[:20])
        )
    for note in parsed.notes:
        print(f"note: {note}")
    print(f"{args.file}: {len(parsed.blocks)} blocks, {len(parsed.references)} references")
    for problem in problems:
        print(f"  {problem}")
    print("OK" if not problems else f"{len(problems)} problem(s): fix them before uploading")
    return 1 if problems else 0


def digest_line(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="run_tests.sh --image-digest-line")
    parser.add_argument("reference", nargs="+", help="REGISTRY/REPO@sha256:DIGEST, one or more")
    parser.add_argument("--date", default=datetime.datetime.now(datetime.UTC).date().isoformat())
    args = parser.parse_args(argv)
    lines = [f"{SEPARATOR_TOKEN} {args.date}"]
    for text in args.reference:
        ref = parse_reference(text, 0)
        if ref is None or not ref.pinned:
            problem = "not an image reference" if ref is None else ref.pin_problem()
            print(
                f"{text}: {problem}; give REGISTRY/REPO@sha256:<64 hex> (the digest from the build log or ECR)",
                file=sys.stderr,
            )
            return 2
        lines.append(ref.text)
    print("\n".join(lines))
    return 0
