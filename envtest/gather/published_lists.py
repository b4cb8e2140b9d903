"""The published address lists' snapshots the policy names ([egress.published_lists]), read from policy/published/.

A snapshot is policy data, committed beside the policy files; reading it is the only I/O, the parsing is
envtest/parsers/published_lists.py's. A snapshot that is missing or unreadable makes the egress checks "could not
evaluate", naming the file: an empty list would call every GitHub rule unlisted.
"""

from __future__ import annotations

from pathlib import Path

from envtest.errors import CouldNotEvaluate
from envtest.parsers.published_lists import PublishedList, aws_ip_ranges, github_meta
from envtest.policy import Policy

# The lists the policy may name, each with how its snapshot is read.
KINDS = ("github", "aws_ec2")


def published_lists(policy: Policy) -> dict[str, PublishedList]:
    """[egress.published_lists]: name -> its snapshot, the files relative to default.toml's directory."""
    section = policy.section("egress").get("published_lists", {})
    directory = Path(policy.sources[0]).resolve().parent
    lists = {}
    for name in KINDS:
        file = section.get(name)
        if not file:
            continue  # a revision with no such list (no argo groups before 2024-09)
        path = (directory / str(file)).resolve()
        if directory not in path.parents:
            raise CouldNotEvaluate(f"policy [egress.published_lists] {name} = {file!r} is outside {directory}")
        try:
            text = path.read_text(encoding="utf-8")
            if name == "github":
                lists[name] = github_meta(text, "git")
            else:
                lists[name] = aws_ip_ranges(text, "EC2", str(section.get("aws_ec2_region", "")))
        except (OSError, ValueError) as e:
            raise CouldNotEvaluate(
                f"policy [egress.published_lists] {name}: cannot read the snapshot {path}: {e}; "
                "commit the list as published (see docs/policy.md)"
            ) from None
    return lists
