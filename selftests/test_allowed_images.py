"""The allowed-images file parser: every spelling of a correct file, and hostile files."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envtest.parsers.allowed_images import LOADERS, parse, registered_tokens, unlisted_tokens

REG = "123456789012.dkr.ecr.us-west-2.amazonaws.com"
D1, D2 = "a" * 64, "b" * 64
CORRECT = f"""XXXXXdate_separatorXXXXX 2026-10-01
{REG}/cd/env_deploy@sha256:{D1}
XXXXXdate_separatorXXXXX 2026-11-01
{REG}/cd/env_deploy@sha256:{D2}
"""


@pytest.mark.parametrize(
    "spelling",
    [
        CORRECT,
        CORRECT.replace("\n", "\r\n"),
        "\ufeff" + CORRECT,
        CORRECT.replace("XXXXXdate_separatorXXXXX 2026-10-01", "# block of 2026-10-01, build 41"),
        CORRECT.replace("XXXXXdate_separatorXXXXX", "# images built").replace("2026-11-01", "20261101"),
        "\n\n# the env runner's images\n" + CORRECT.replace("\n", "\n\n"),
        CORRECT.replace("2026-10-01", "2026/10/01"),
    ],
)
def test_a_correct_file_in_any_spelling_reads_the_same(spelling: str) -> None:
    parsed = parse(spelling)
    assert parsed.problems == ()
    assert [b.date for b in parsed.blocks] == [datetime.date(2026, 10, 1), datetime.date(2026, 11, 1)]
    assert [r.digest for r in parsed.references] == [f"sha256:{D1}", f"sha256:{D2}"]
    assert all(r.pinned for r in parsed.references)


def test_the_legacy_loader_view_names_comment_words_and_unpinned_references() -> None:
    assert parse(CORRECT).legacy_tokens == ()
    commented = parse(CORRECT.replace("XXXXXdate_separatorXXXXX 2026-10-01", "# ubuntu of 2026-10-01"))
    assert commented.legacy_tokens == ("#", "ubuntu", "of", "2026-10-01")
    assert parse(CORRECT + f"{REG}/cd/env_test:latest\n").legacy_tokens == (f"{REG}/cd/env_test:latest",)


def test_each_boot_code_leaves_its_own_unlisted_tokens() -> None:
    """The 2023-07 loaders drop the separator tokens and the #-tokens, not a comment's other words nor a tag
    (runner.rb at a16c3c1fd:105  allowed_images.chomp.split().grep_v(/^#/).grep_v(/XXXXXdate_separatorXXXXX/))."""
    commented = CORRECT.replace("XXXXXdate_separatorXXXXX 2026-10-01", "# ubuntu of 2026-10-01")
    assert unlisted_tokens("split", commented) == ("#", "ubuntu", "of", "2026-10-01")
    assert unlisted_tokens("split-drop-separators", commented) == ("#", "ubuntu", "of", "2026-10-01")
    assert unlisted_tokens("split-drop-separators-and-hash-tokens", commented) == ("ubuntu", "of", "2026-10-01")
    tagged = CORRECT + f"{REG}/cd/env_test:latest\n"
    assert all(unlisted_tokens(loader, tagged) == (f"{REG}/cd/env_test:latest",) for loader in LOADERS)
    assert all(unlisted_tokens(loader, CORRECT) == () for loader in LOADERS)
    assert registered_tokens("split-drop-separators", CORRECT) == [
        "2026-10-01", f"{REG}/cd/env_deploy@sha256:{D1}", "2026-11-01", f"{REG}/cd/env_deploy@sha256:{D2}"
    ]  # fmt: skip
    with pytest.raises(ValueError, match="one of split"):
        registered_tokens("yaml", CORRECT)


PIECES = ["a", "#", " ", "\n", "XXXXXdate_separatorXXXXX", "2026-10-01", ":x", f"{REG}/cd/x@sha256:{D1}"]


@given(st.lists(st.sampled_from(PIECES)).map("".join))
def test_the_2022_loader_leaves_what_the_parser_calls_legacy(text: str) -> None:
    assert unlisted_tokens("split", text) == parse(text).legacy_tokens


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (f"{REG}/cd/env_deploy:latest", "no digest"),
        (f"{REG}/cd/env_deploy@sha256:{'a' * 63}", "63 characters"),
        (f"{REG}/cd/env_deploy@sha256:{'A' * 64}", "lower-case hex"),
        (f"{REG}/cd/env_deploy@md5:{'a' * 32}", "not sha256"),
    ],
)
def test_unpinned_references_say_why(line: str, problem: str) -> None:
    (ref,) = [r for r in parse(CORRECT + line + "\n").references if not r.pinned]
    assert problem in (ref.pin_problem() or "")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("XXXXXdate_separatorXXXXX\n" + f"{REG}/a@sha256:{D1}\n", "separator without a date"),
        (f"{REG}/a@sha256:{D1}\n", "references before the first dated separator"),
        ("XXXXXdate_separatorXXXXX 2026-10-01\nnot a reference!\n", "not an image reference"),
        (f"XXXXXdate_separatorXXXXX 2026-10-01\n{REG}/a@sha256:{D1} {REG}/b@sha256:{D2}\n", "more than one word"),
        ("XXXXXdate_separatorXXXXX 2026-13-45\n", "separator without a date"),
    ],
)
def test_problems_name_the_line(text: str, problem: str) -> None:
    assert any(problem in message for _, message in parse(text).problems)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(max_size=2000),
        st.binary(max_size=2000).map(lambda b: b.decode("latin-1")),
        st.lists(
            st.sampled_from(
                [
                    "XXXXXdate_separatorXXXXX",
                    "#",
                    " ",
                    "\t",
                    "\r\n",
                    "\n",
                    "\x0b",
                    "\u2028",
                    f"{REG}/cd/x@sha256:{D1}",
                    "2026-01-01",
                    "@sha256:",
                    "\ufeff",
                ]
            ),
            max_size=80,
        ).map("".join),
    )
)
def test_hostile_files_end_in_a_verdict(text: str) -> None:
    parsed = parse(text)
    for ref in parsed.references:
        assert ref.pinned == (ref.pin_problem() is None)
    assert all(isinstance(line, int) and message for line, message in parsed.problems)


def test_a_huge_file_is_read_in_linear_time() -> None:
    big = CORRECT + "".join(f"{REG}/cd/env_deploy@sha256:{i:064x}\n" for i in range(50_000))
    parsed = parse(big)
    assert len(parsed.references) == 50_002 and parsed.legacy_tokens == ()
