"""The outbound proxy's allowlist as written: every name the env needs, nothing forbidden, nothing squid
rejects, and what the template renders."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from envtest.errors import CouldNotEvaluate
from envtest.fixtures.proxy import AllowlistCopy, DeployedAllowlist
from envtest.parsers.squid_allowlist import is_ip_literal
from envtest.policy import Policy, fill
from envtest.problems import Problem, check

if TYPE_CHECKING:
    from envtest.gather.squid_judge import SquidVerdict


@pytest.mark.catches("F7: proxy allowlist loses the GitLab host")
@pytest.mark.blinded_by("F16", "F16-group")
def test_proxy_allowlist_holds_every_must_allow_name(
    deployed_allowlists: list[DeployedAllowlist], must_allow_names: list[str]
) -> None:
    """The deployed proxy allowlist holds every name the env needs.

    Why: a lost name is a deploy that cannot reach GitLab, a registry or a package source.
    Fails on: the deployed allowlist missing a must-allow name, e.g. the GitLab host.
    Fix: add the name to the allowlist template and redeploy the proxy.
    """
    check(
        [
            Problem(
                copy.where,
                f"an entry that lets {name} through",
                "no entry matches it",
                f"add {name} to the allowlist template and redeploy the outbound proxy",
            )
            for copy, allowlist in ((d.copy, d.allowlist) for d in deployed_allowlists)
            for name in must_allow_names
            if allowlist.allows(name) is None
        ]
    )


@pytest.mark.catches("F6: proxy allowlist gains .amazonaws.com")
@pytest.mark.blinded_by("F16", "F16-group")
def test_proxy_allowlist_holds_no_forbidden_entry(
    deployed_allowlists: list[DeployedAllowlist], policy: Policy, must_deny_names: list[str]
) -> None:
    """The deployed proxy allowlist holds no entry the policy forbids.

    Why: a whole-provider wildcard opens the runner to anything hosted there, including an attacker's bucket.
    Fails on: whole-provider wildcards, bare TLDs, IP literals, must-deny names.
    Fix: remove the entry from the allowlist template, or narrow it to the hosts needed.
    """
    proxy = policy.proxy
    forbidden = {w.lower() for w in proxy.forbidden_wildcards}
    problems = []
    for copy, allowlist in ((d.copy, d.allowlist) for d in deployed_allowlists):
        for entry in allowlist.entries:
            reasons = []
            if entry.wildcard and f".{entry.domain}" in forbidden:
                reasons.append("a whole-provider wildcard")
            if entry.wildcard and any(f.lstrip(".").endswith("." + entry.domain) for f in forbidden):
                reasons.append("a wildcard wider than a forbidden one")
            if entry.wildcard and len(entry.domain.split(".")) < proxy.min_wildcard_labels:
                reasons.append("a bare top-level domain")
            if is_ip_literal(entry.domain):
                reasons.append("an IP literal where a name is expected")
            reasons += [f"it lets must-deny name {n} through" for n in must_deny_names if entry.covers(n)]
            if reasons:
                problems.append(
                    Problem(
                        f"{copy.where} line {entry.line}: '{entry.text}'",
                        "specific service names only",
                        "; ".join(reasons),
                        "replace it with the exact names the runner needs, in the allowlist template",
                    )
                )
    check(problems)


@pytest.mark.catches("F6", "F6-shadow: an allowlist wildcard shadows later entries")
@pytest.mark.blinded_by("F16", "F16-group")
def test_proxy_allowlist_has_no_entry_squid_rejects_or_ignores(
    deployed_allowlists: list[DeployedAllowlist],
    squid_verdict: Callable[[bytes], SquidVerdict | None],
) -> None:
    """squid reads the allowlist as written: no entry it refuses or silently ignores.

    Why: squid drops overlapping entries (or refuses to start), so the allowlist in force is not the one
    reviewed.
    Fails on: overlaps squid refuses or ignores, extra words, a BOM; and `squid -k parse` errors where a squid
    binary exists.
    Fix: remove the shadowed or overlapping entries the failure names.
    """
    problems = []
    for copy, allowlist in ((d.copy, d.allowlist) for d in deployed_allowlists):
        problems += [
            Problem(
                f"{copy.where} line {p.line}",
                "an entry squid loads as written",
                f"{p.severity}: {p.message}",
                "edit the allowlist template and redeploy",
            )
            for p in allowlist.problems
        ]
        verdict = squid_verdict(copy.raw)
        if verdict is not None and (verdict.fatal or verdict.messages):
            problems.append(
                Problem(
                    f"{copy.where}, judged by {verdict.binary} -k parse",
                    "squid parses it with no error or warning",
                    f"exit {verdict.exit_code}: " + " | ".join(verdict.messages[:6]),
                    "fix the entries squid names",
                )
            )
    check(problems)


# What chef fills into the allowlist template (identity-outboundproxy recipe): the GitLab URL and the env's name.
ERB = {
    "<%= @gitlab_url %>": "gitlab_host",
    "<%= node.chef_environment %>": "env",
    "<%= @aws_account_id %>": "account",
    "<%= @aws_region %>": "region",
}


def render_template(text: str, values: dict[str, str]) -> str:
    """The template as chef renders it: the ERB expressions the allowlist templates use, then {name} ones."""
    for expression, key in ERB.items():
        text = text.replace(expression, values[key])
    leftover = re.search(r"<%.*?%>", text)
    if leftover:
        raise CouldNotEvaluate(f"the allowlist template uses {leftover.group(0)!r}, which the suite does not render")
    return fill(text, values)


@pytest.mark.catches(
    "F6",
    "F6-shadow",
    "F6-drift: the deployed allowlist differs from the template",
    "F6-instance: one proxy instance of two holds a hand-edited allowlist",
    "F7",
)
@pytest.mark.blinded_by("F16", "F16-group")
def test_proxy_allowlist_matches_the_rendered_template(
    allowlist_template: Path | None, allowlist_copies: list[AllowlistCopy], template_values: dict[str, str]
) -> None:
    """Every proxy instance holds the allowlist the template renders.

    Why: a hand-edited allowlist on one instance makes behaviour depend on which proxy a connection meets.
    Fails on: drift from the template (`ALLOWLIST_TEMPLATE`, the `.erb` as chef renders it), with the diff, on
    every proxy instance (one hand-edited instance of two is named: F6-instance); skipped with the reason when
    no template is given.
    Fix: redeploy the proxy (recycle its group) so chef renders the template again.
    """
    problems = []
    if len(allowlist_copies) > 1:
        # The pool's instances disagree: whatever the template says, some of them drifted.
        counts = ", ".join(f"{c.where} ({len(c.raw)} bytes)" for c in allowlist_copies)
        problems.append(
            Problem(
                "the env runner proxy pool's allowlists",
                "one allowlist on every proxy instance",
                f"{len(allowlist_copies)} different files: {counts}",
                "recycle the drifted instance(s), or redeploy the proxy pool so every instance renders the template",
            )
        )
    if allowlist_template is None:
        if problems:
            check(problems)
        pytest.skip("no ALLOWLIST_TEMPLATE given: set it to the infrastructure repo's allowlist template")
    try:
        expected = render_template(allowlist_template.read_text(encoding="utf-8"), template_values)
    except OSError as exc:
        pytest.fail(f"ALLOWLIST_TEMPLATE {allowlist_template}: {exc.strerror}", pytrace=False)
    for copy in allowlist_copies:
        found = copy.raw.decode("utf-8", errors="replace")
        if found.rstrip() + "\n" == expected.rstrip() + "\n":
            continue
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                found.splitlines(keepends=True),
                fromfile=f"{allowlist_template} (rendered)",
                tofile=copy.where,
            )
        )
        problems.append(
            Problem(
                copy.where,
                f"{allowlist_template} rendered for this env",
                "a different file:\n" + diff,
                "redeploy the outbound proxy so the file matches the template (or commit the change to the template)",
            )
        )
    check(problems)
