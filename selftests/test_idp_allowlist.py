"""The sandbox's IdP proxy allowlist: the revision's own template, rendered as chef renders it
(envtest_double/idp_allowlist.py)."""

from __future__ import annotations

import pytest

from envtest_double import idp_allowlist
from envtest_double.revisions import SANDBOX_REVISIONS


def test_unless_each_and_output_render_as_erb_does() -> None:
    text = (
        "a.example\n<%= @identity_idp %>\n<% unless @identity_idp == '.login.gov' -%>\nkms.example\n<% end -%>\n"
        "<% @push_notification_domains.each do |domain| -%>\n<%= domain %>\n<% end -%>\n"
    )
    out = idp_allowlist.render(text, {"identity_idp": ".sandbox.gov"}, {"push_notification_domains": ["p.gov"]})
    assert out == "a.example\n.sandbox.gov\nkms.example\np.gov\n"
    login = idp_allowlist.render(text, {"identity_idp": ".login.gov"}, {"push_notification_domains": []})
    assert login == "a.example\n.login.gov\n"


@pytest.mark.parametrize("form", ["<% if @x -%>\nb\n<% end -%>\n", "<%= @x.upcase %>\n", "<% unless @x == 'y' -%>\n"])
def test_a_form_it_does_not_know_stops_the_sandbox(form: str) -> None:
    with pytest.raises(ValueError, match="line 1"):
        idp_allowlist.render(form, {"x": "y"}, {})


@pytest.mark.parametrize("name", sorted(SANDBOX_REVISIONS))
def test_every_revision_has_its_template_and_it_renders_with_no_erb_left(name: str) -> None:
    rendered = idp_allowlist.idp_allowlist(SANDBOX_REVISIONS[name].commit, "identitysandbox.gov")
    assert "<%" not in rendered
    entries = [line.split()[0] for line in rendered.splitlines() if line.strip() and not line.startswith("#")]
    # The names the issue quotes from the real template, in every revision, and the env's own domain.
    assert {"pypi.org", "registry.npmjs.org", ".rubygems.org", ".identitysandbox.gov"} <= set(entries)
