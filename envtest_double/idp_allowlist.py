"""The IdP's outbound proxy allowlist, rendered as chef renders it from the revision's own template.

`templates/domain-allowlist.conf.erb.<commit>` are byte-for-byte copies of
kitchen/cookbooks/identity-outboundproxy/templates/default/domain-allowlist.conf.erb at each revision's commit of
18F/identity-pki (the CI has no copy of the repository). The recipe (recipes/default.rb:70-78 at 026b5670) renders
it with `identity_idp: ".#{domain_name}"` and `push_notification_domains` (the hosts of the service providers'
push_notification_url; the sandbox has none).

This renders the few ERB forms those templates use and refuses any other, so a new form in a new template stops
the sandbox instead of being copied through as text.
"""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "templates"
# The default sandbox stands for the runbook's revision (issue 23: "the default stays the runbook's").
RUNBOOK_COMMIT = "5f11cc4b70ed6344957aabf258e415352eac7dfd"

_OUTPUT = re.compile(r"<%= *(@?[a-z_]+) *%>")
_UNLESS = re.compile(r"<% unless @([a-z_]+) == '([^']*)' -%>")
_EACH = re.compile(r"<% @([a-z_]+)\.each do \|([a-z_]+)\| -%>")
_END = "<% end -%>"


def template(commit: str) -> str:
    path = TEMPLATES / f"domain-allowlist.conf.erb.{commit[:8]}"
    if not path.is_file():
        raise FileNotFoundError(f"no copy of the IdP proxy's allowlist template at {commit[:8]}: {path}")
    return path.read_text()


def render(text: str, values: dict[str, str], lists: dict[str, list[str]]) -> str:
    """ERB as the template uses it: `<%= @var %>`, `<% unless @var == '...' -%>`, `<% @list.each do |x| -%>`,
    `<% end -%>` (`-%>` eats its own newline). Anything else raises ValueError naming the line."""
    out: list[str] = []
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<%" not in line:
            out.append(line)
            i += 1
            continue
        stripped = line.strip()
        unless, each = _UNLESS.fullmatch(stripped), _EACH.fullmatch(stripped)
        if unless or each:
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == _END), None)
            if end is None:
                raise ValueError(f"line {i + 1}: {stripped} has no {_END}")
            body = "".join(lines[i + 1 : end])
            if unless:
                if values[unless.group(1)] != unless.group(2):
                    out.append(render(body, values, lists))
            elif each:
                for item in lists[each.group(1)]:
                    out.append(render(body, {**values, each.group(2): item}, lists))
            i = end + 1
            continue
        rendered = _OUTPUT.sub(lambda m: values[m.group(1).lstrip("@")], line)
        if "<%" in rendered:
            raise ValueError(f"line {i + 1}: an ERB form this renderer does not know: {stripped}")
        out.append(rendered)
        i += 1
    return "".join(out)


def idp_allowlist(commit: str, domain_name: str) -> str:
    """/etc/squid/domain-allowlist.conf on the IdP's proxy of an env under `domain_name`, at `commit`."""
    return render(template(commit), {"identity_idp": f".{domain_name}"}, {"push_notification_domains": []})
