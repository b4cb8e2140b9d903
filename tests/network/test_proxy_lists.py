"""squid's two other lists on every proxy host: the addresses it lets through whatever the name
(ip-allowlist.conf), and the names it refuses first (domain-denylist.conf), each as its template has it."""

from __future__ import annotations

from collections import Counter

import pytest

from envtest.errors import CouldNotEvaluate
from envtest.fixtures.proxy import ProxyListCopy
from envtest.parsers import squid_allowlist, squid_ip_list
from envtest.policy import Policy
from envtest.problems import Problem, check

TEMPLATES = "identity-outboundproxy's templates/default/{name}.erb"


def _drifted(copies: list[ProxyListCopy], kind: str) -> list[Problem]:
    """A role whose instances hold different contents of one list: some of them drifted."""
    counts = Counter(c.role for c in copies if c.kind == kind)
    return [
        Problem(
            f"the {role} proxies' {kind.replace('_', '-')}",
            "one content on every instance",
            "; ".join(f"{c.where} ({len(c.text)} characters)" for c in copies if c.kind == kind and c.role == role),
            "recycle the drifted instance(s) so chef renders the template again",
        )
        for role, count in sorted(counts.items())
        if count > 1
    ]


def _squid_problems(copy: ProxyListCopy, problems: tuple[squid_allowlist.Problem, ...], template: str) -> list[Problem]:
    return [
        Problem(
            f"{copy.where} line {p.line}",
            "an entry squid reads as written",
            f"{p.severity}: {p.message}",
            f"correct {template} (or the hand edit on the host) and redeploy the proxy",
        )
        for p in problems
    ]


@pytest.mark.catches("F8-ip: the env runner's proxy lets through an address its template does not list")
def test_proxy_ip_allowlist_matches_the_template(proxy_list_copies: list[ProxyListCopy], policy: Policy) -> None:
    """Every proxy lets through by address only what ip-allowlist.conf's template lists.

    Why: squid allows an address in ip-allowlist.conf whatever name the client asks for, past the domain
    allowlist and its checks: one extra entry opens the runner to whatever answers there.
    Fails on: an entry matching an address the template (policy `[proxy.lists] ip_allowlist`) does not list; a
    template entry not in force; an entry squid ignores, refuses or reads otherwise than written; instances of a
    proxy that disagree.
    Fix: restore the template's entries (identity-outboundproxy templates/default/ip-allowlist.conf.erb) and
    redeploy the proxy, or recycle the drifted instance.
    """
    wanted = list(policy.proxy.lists.ip_allowlist)
    template = squid_ip_list.parse("\n".join(wanted) + "\n")
    if template.problems:
        raise CouldNotEvaluate(f"policy [proxy.lists] ip_allowlist: {template.problems[0].message}")
    source = TEMPLATES.format(name="ip-allowlist.conf")
    problems = _drifted(proxy_list_copies, "ip_allowlist")
    for copy in (c for c in proxy_list_copies if c.kind == "ip_allowlist"):
        deployed = squid_ip_list.parse(copy.text)
        problems += [
            Problem(
                f"{copy.where} line {entry.line}: '{entry}'",
                f"only the template's addresses ({', '.join(wanted) or 'none'})",
                f"squid lets through {', '.join(entry.spans())} whatever the name asked for",
                f"remove the entry on the host and from {source} if it is there, then redeploy the proxy",
            )
            for entry in deployed.outside(template)
        ]
        problems += [
            Problem(
                copy.where,
                f"the template's entry '{entry}' in force",
                "missing, or ignored by squid",
                f"redeploy the proxy so chef renders {source} again",
            )
            for entry in template.outside(deployed)
        ]
        problems += _squid_problems(copy, deployed.problems, source)
    check(problems)


@pytest.mark.catches("F8-denylist: a proxy's denylist loses a name its template denies")
def test_proxy_domain_denylist_matches_the_template(proxy_list_copies: list[ProxyListCopy], policy: Policy) -> None:
    """Every proxy refuses the names domain-denylist.conf's template lists, and only those, before its allowlist.

    Why: squid asks the denylist first: a lost entry lets a name through that a wildcard of the allowlist admits
    (the IdP's proxy allows .newrelic.com; the denylist keeps its agents' collectors out), and an added one
    refuses a name a deploy needs.
    Fails on: a template entry missing, an entry the template (policy `[proxy.lists] denylist`) does not have, an
    entry squid ignores or refuses, instances of a proxy that disagree.
    Fix: restore the template's entries (identity-outboundproxy templates/default/domain-denylist.conf.erb) and
    redeploy the proxy, or recycle the drifted instance.
    """
    wanted = squid_allowlist.parse("\n".join(policy.proxy.lists.denylist) + "\n")
    if wanted.problems:
        raise CouldNotEvaluate(f"policy [proxy.lists] denylist: {wanted.problems[0].message}")
    source = TEMPLATES.format(name="domain-denylist.conf")
    expected = {str(e) for e in wanted.entries}
    problems = _drifted(proxy_list_copies, "denylist")
    for copy in (c for c in proxy_list_copies if c.kind == "denylist"):
        deployed = squid_allowlist.parse(copy.text)
        found = {str(e) for e in deployed.entries}
        problems += [
            Problem(
                copy.where,
                f"'{name}' denied, as {source} has it",
                "no such entry: squid goes on to the allowlist for it",
                f"redeploy the proxy so chef renders {source} again",
            )
            for name in sorted(expected - found)
        ]
        problems += [
            Problem(
                f"{copy.where} line {entry.line}: '{entry.text}'",
                f"only the template's entries ({', '.join(sorted(expected))})",
                "an entry the template does not have",
                f"remove it on the host, or add it to {source} if it is meant, and redeploy the proxy",
            )
            for entry in deployed.entries
            if str(entry) not in expected
        ]
        problems += _squid_problems(copy, deployed.problems, source)
    check(problems)
