"""The allowlist parser reads what squid reads, and agrees with squid on what it rejects."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envtest.gather import squid_judge
from envtest.parsers.squid_allowlist import is_host_name, is_ip_literal, parse


def test_comments_blank_lines_case_and_leading_dot() -> None:
    allowlist = parse("# header\n\n  .Example.GOV  \nhost.test # trailing comment\r\n")
    assert [str(e) for e in allowlist.entries] == [".example.gov", "host.test"]
    assert allowlist.problems == ()
    assert allowlist.allows("a.b.example.gov") and allowlist.allows("EXAMPLE.gov")
    assert allowlist.allows("host.test") and not allowlist.allows("x.host.test")
    assert allowlist.allows("evilexample.gov") is None


def test_only_the_first_word_of_a_line_counts() -> None:
    allowlist = parse("a.test b.test\n")
    assert [str(e) for e in allowlist.entries] == ["a.test"]
    assert "'b.test' is ignored" in allowlist.problems[0].message


def test_byte_order_mark_is_reported() -> None:
    allowlist = parse("\ufeffa.test\n")
    assert [str(e) for e in allowlist.entries] == ["a.test"]
    assert "byte-order mark" in allowlist.problems[0].message


@pytest.mark.parametrize(
    ("lines", "severities"),
    [
        ([".x.gov", "x.gov"], ["fatal"]),
        (["x.gov", ".x.gov"], ["fatal"]),
        ([".x.gov", "a.x.gov"], ["warning"]),
        (["a.x.gov", ".x.gov"], ["fatal"]),
        ([".x.gov", ".a.x.gov"], ["warning"]),
        ([".a.x.gov", ".x.gov"], ["fatal"]),
        (["a.x.gov", "x.gov"], []),
        # An exact repeat (case aside): squid drops it without a word (squid -k parse, Debian's squid 5).
        (["X.gov", "x.gov"], []),
        ([".x.gov", "a.x.gov", ".x.gov"], ["warning"]),
        (["a.test", "b.test"], []),
    ],
)
def test_overlaps_are_judged_as_squid_judges_them(lines: list[str], severities: list[str]) -> None:
    assert [p.severity for p in parse("\n".join(lines)).problems] == severities


@pytest.mark.parametrize(
    ("word", "ip", "name"),
    [
        ("10.0.0.1", True, False),
        ("::1", True, False),
        ("a.test", False, True),
        ("*.a.test", False, False),
        ("-a.test", False, False),
        ("a_b.test", False, False),
    ],
)
def test_ip_literals_and_host_names(word: str, ip: bool, name: bool) -> None:
    assert is_ip_literal(word) is ip
    assert is_host_name(word) is name


@given(st.text(max_size=400))
def test_any_text_gives_entries_and_problems_never_a_crash(text: str) -> None:
    allowlist = parse(text)
    for entry in allowlist.entries:
        assert entry.domain == entry.domain.lower()
        assert entry.domain and not entry.domain.startswith(".")
        assert entry.covers(entry.domain)
    assert all(p.severity in {"fatal", "warning", "invalid"} for p in allowlist.problems)


WORDS = ["x.gov", ".x.gov", "a.x.gov", ".a.x.gov", "b.gov", ".b.gov", "a.b.gov", "X.GOV", "c.a.x.gov"]


@pytest.mark.skipif(squid_judge.find_squid() is None, reason="no squid binary to compare with")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=5))
def test_parser_and_real_squid_agree_on_what_stops_squid(words: list[str]) -> None:
    text = "\n".join(words) + "\n"
    verdict = squid_judge.judge(text.encode())
    assert verdict is not None
    ours = parse(text)
    assert any(p.severity == "fatal" for p in ours.problems) == verdict.fatal, (words, verdict.messages)
    if verdict.messages:
        assert ours.problems, (words, verdict.messages)


def _pairwise_verdicts(text: str) -> list[tuple[int, str, str]]:
    """The verdicts as the parser once found them, by comparing each entry with every earlier one (quadratic):
    the reference the indexed parser must agree with."""
    from envtest.parsers.squid_allowlist import _overlap

    entries, found = [], []
    for entry in parse(text).entries:
        for earlier in entries:
            if (earlier.domain, earlier.wildcard) == (entry.domain, entry.wildcard):
                break
            problem = _overlap(earlier, entry)
            if problem:
                found.append((problem.line, problem.severity, problem.message))
                break
        entries.append(entry)
    return found


@given(st.lists(st.tuples(st.booleans(), st.sampled_from(["com", "gov", "x.com", "a.x.com", "b.a.x.com", "y.gov",
                                                          "a.y.gov", "x.com.", "A.X.com"])), max_size=30))  # fmt: skip
def test_the_index_finds_what_comparing_every_pair_finds(entries: list[tuple[bool, str]]) -> None:
    text = "".join(("." if wild else "") + name + "\n" for wild, name in entries)
    overlaps = [(p.line, p.severity, p.message) for p in parse(text).problems if p.severity != "invalid"]
    assert overlaps == _pairwise_verdicts(text)
