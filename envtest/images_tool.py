"""Commands for the people who maintain the allowed-images file.

run_tests.sh --check-allowed-images FILE|- [-e ENV] [--registry HOST ...] [--max-blocks N]
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
import os
import sys
from pathlib import Path

from envtest.parsers.allowed_images import SEPARATOR_TOKEN, parse, parse_reference

# The tooling account's ECR, the default of terraform/app's gitlab_ecr_repo_accountid (variables.tf), which is
# what the runner's tag says in every env that does not set its own (docs/fidelity.md, "Names and groups").
DEFAULT_ECR_ACCOUNT = "217680906704"


def _registries(args: argparse.Namespace) -> tuple[list[str], int]:
    """The approved registries and the block limit: --registry as given, else the env's policy (-e), else any ECR."""
    if not args.env:
        return args.registry, args.max_blocks if args.max_blocks is not None else 4
    from envtest.errors import UsageError
    from envtest.policy import fill, load_policy

    try:
        images = load_policy(args.env).section("images")
    except UsageError as exc:
        raise SystemExit(f"run_tests.sh --check-allowed-images: -e {args.env}: {exc}") from None
    values = {"ecr_account": args.ecr_account, "region": args.region, "env": args.env}
    registries = args.registry or [fill(t, values) for t in images.get("approved_registries", [])]
    return registries, args.max_blocks if args.max_blocks is not None else int(images.get("max_blocks", 4))


def check_file(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="run_tests.sh --check-allowed-images",
        description="Validate an allowed-images file before uploading it: the checks' own parser and rules.",
    )
    parser.add_argument("file", help="the candidate file, or - to read it from standard input")
    parser.add_argument("-e", "--env", help="use this env's policy: its approved registries and block limit")
    parser.add_argument(
        "--registry",
        action="append",
        default=[],
        help="an approved registry (repeatable); default: the env's policy with -e, else any *.dkr.ecr.* registry",
    )
    parser.add_argument(
        "--ecr-account",
        default=DEFAULT_ECR_ACCOUNT,
        help=f"with -e: the runner's gitlab_ecr_repo_accountid tag (default {DEFAULT_ECR_ACCOUNT})",
    )
    parser.add_argument(
        "-r", "--region", default=os.environ.get("AWS_REGION", "us-west-2"), help="with -e: the env's region"
    )
    parser.add_argument(
        "--max-blocks", type=int, default=None, help="most dated blocks allowed (default: the policy's, else 4)"
    )
    args = parser.parse_args(argv)
    registries, max_blocks = _registries(args)
    name = "standard input" if args.file == "-" else args.file
    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
        text = raw.decode("utf-8")
    except OSError as exc:
        print(f"{name}: {exc.strerror}", file=sys.stderr)
        return 2
    except UnicodeDecodeError as exc:
        print(f"{name}: not UTF-8 text (byte {exc.start})", file=sys.stderr)
        return 1
    parsed = parse(text)
    # One line per line of the file that has problems, every problem of that line on it.
    by_line: dict[int, list[str]] = {}
    what: dict[int, str] = {}
    for line, message in parsed.problems:
        by_line.setdefault(line, []).append(message)
    unpinned = False
    for ref in parsed.references:
        if not ref.pinned:
            by_line.setdefault(ref.line, []).append(ref.pin_problem())
            unpinned = True
        approved = ref.registry in registries if registries else ".dkr.ecr." in ref.registry
        if not approved:
            by_line.setdefault(ref.line, []).append(f"registry {ref.registry} is not approved")
        if ref.line in by_line:
            what[ref.line] = ref.text
    problems = [
        f"line {line}: " + (f"{what[line]}: " if line in what else "") + "; ".join(messages)
        for line, messages in sorted(by_line.items())
    ]
    today = datetime.datetime.now(datetime.UTC).date()
    dates = [b.date for b in parsed.blocks if b.date]
    problems += [f"block dated {d} is in the future" for d in dates if d > today]
    problems += [
        f"block dated {b} is older than the block above it ({a})" for a, b in itertools.pairwise(dates) if b < a
    ]
    if len(parsed.blocks) > max_blocks:
        problems.append(f"{len(parsed.blocks)} blocks, more than {max_blocks}: remove the topmost")
    if parsed.legacy_tokens:
        problems.append(
            "the boot code in use splits the file on white space and would also allow: "
            + ", ".join(repr(t) for t in parsed.legacy_tokens[:20])
        )
    for note in parsed.notes:
        print(f"note: {note}")
    print(f"{name}: {len(parsed.blocks)} blocks, {len(parsed.references)} references")
    for problem in problems:
        print(f"  {problem}")
    if unpinned:
        print(
            "  fix: pin each image by its digest; `run_tests.sh --image-digest-line REGISTRY/REPO@sha256:<64 hex>` "
            "prints the dated block to append"
        )
    print("OK" if not problems else f"{len(problems)} problem(s): fix them before uploading")
    return 1 if problems else 0


def digest_line(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="run_tests.sh --image-digest-line",
        description="Print the dated block to append to the allowed-images file for new image digests.",
    )
    parser.add_argument("reference", nargs="+", help="REGISTRY/REPO@sha256:DIGEST, one or more")
    parser.add_argument(
        "--date",
        default=datetime.datetime.now(datetime.UTC).date().isoformat(),
        help="the block's date, YYYY-MM-DD (default: today, UTC)",
    )
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
