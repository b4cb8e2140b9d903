"""The env runner's allowed-images file (`gitlab_env_runner_allowed_images`).

Format (runbook, "Updating allowed images on env_runner"): image references,
one per line, in blocks; each block starts with a separator line carrying its
date. Two separator spellings exist: the old `XXXXXdate_separatorXXXXX <date>`
line and its replacement, a comment line holding a date. Comments, blank
lines, CRLF line ends and a byte-order mark are tolerated here.

The boot code in use today does not parse this: it splits the whole file on
white space and allows every token. `legacy_tokens` lists what that loader
would allow besides the old separator lines and digest-pinned references.

`parse` never raises and never drops a line silently: each line is a
reference, a separator, a comment, a blank, or a problem.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

SEPARATOR_TOKEN = "XXXXXdate_separatorXXXXX"
_DATE = re.compile(r"(?<!\d)(\d{4})[-/]?(\d{2})[-/]?(\d{2})(?!\d)")
# registry/repository[:tag][@sha256:digest]; the digest part is validated separately.
_REFERENCE = re.compile(
    r"^(?P<registry>[a-z0-9.-]+\.[a-z]{2,}(?::\d+)?)/(?P<repository>[a-z0-9._/-]+?)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?P<algorithm>[a-z0-9]+):(?P<digest>\S+))?$"
)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Reference:
    line: int
    text: str
    registry: str
    repository: str
    tag: str | None
    digest: str | None  # "sha256:<hex>" as written, valid or not

    @property
    def pinned(self) -> bool:
        return bool(self.digest and self.digest.startswith("sha256:") and _HEX64.match(self.digest[7:]))

    def pin_problem(self) -> str | None:
        if self.digest is None:
            return "no digest: a tag can be moved to another image" if self.tag else "no digest and no tag"
        algorithm, _, hexpart = self.digest.partition(":")
        if algorithm != "sha256":
            return f"digest algorithm {algorithm!r}, not sha256"
        if len(hexpart) != 64:
            return f"digest has {len(hexpart)} characters, not 64"
        if not _HEX64.match(hexpart):
            return "digest is not 64 lower-case hex digits"
        return None


@dataclass(frozen=True)
class Block:
    line: int  # the separator's line (0: references before any separator)
    date: datetime.date | None
    style: str  # "separator", "comment" or "none"
    references: tuple[Reference, ...]


@dataclass(frozen=True)
class AllowedImages:
    blocks: tuple[Block, ...]
    problems: tuple[tuple[int, str], ...] = ()
    legacy_tokens: tuple[str, ...] = ()  # what split-on-white-space allows that is not a pinned reference
    notes: tuple[str, ...] = field(default=())

    @property
    def references(self) -> tuple[Reference, ...]:
        return tuple(ref for block in self.blocks for ref in block.references)


def _date(text: str) -> datetime.date | None:
    match = _DATE.search(text)
    if not match:
        return None
    try:
        return datetime.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def parse_reference(text: str, line: int) -> Reference | None:
    match = _REFERENCE.match(text)
    if not match:
        return None
    digest = f"{match.group('algorithm')}:{match.group('digest')}" if match.group("algorithm") else None
    return Reference(line, text, match.group("registry"), match.group("repository"), match.group("tag"), digest)


def parse(text: str) -> AllowedImages:
    notes = []
    if text.startswith("\ufeff"):
        notes.append("the file starts with a byte-order mark")
        text = text[1:]
    if "\r\n" in text:
        notes.append("the file has CRLF line ends")
    problems: list[tuple[int, str]] = []
    blocks: list[Block] = []
    current: list[Reference] = []
    header: tuple[int, datetime.date | None, str] = (0, None, "none")
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        is_separator = line.startswith(SEPARATOR_TOKEN)
        is_comment = line.startswith("#")
        if is_separator or (is_comment and _date(line)):
            if current or header[0]:
                blocks.append(Block(header[0], header[1], header[2], tuple(current)))
            date = _date(line)
            if date is None:
                problems.append((number, f"separator without a date: {line[:80]!r}"))
            header, current = (number, date, "separator" if is_separator else "comment"), []
            continue
        if is_comment:
            continue
        words = line.split()
        if len(words) > 1:
            problems.append((number, f"more than one word on a line: {line[:80]!r}"))
        for word in words:
            reference = parse_reference(word, number)
            if reference is None:
                problems.append((number, f"not an image reference: {word[:80]!r}"))
            else:
                current.append(reference)
    if current or header[0]:
        blocks.append(Block(header[0], header[1], header[2], tuple(current)))
    if blocks and blocks[0].line == 0:
        problems.append((blocks[0].references[0].line, "references before the first dated separator"))
    # The old separator line is the boot code's own format; every other token it allows as an image.
    separator_words = {w for ln in text.splitlines() if ln.split()[:1] == [SEPARATOR_TOKEN] for w in ln.split()}
    legacy = tuple(
        dict.fromkeys(
            token
            for token in text.split()
            if token not in separator_words and not ((ref := parse_reference(token, 0)) and ref.pinned)
        )
    )
    return AllowedImages(tuple(blocks), tuple(problems), legacy, tuple(notes))


# How the boot code turned the file into allowed images (policy [images] loader), as identity-gitlab's runner.rb
# did: `file.chomp.split()` (2022-06, 6ddd2bed3); then `.grep_v(/XXXXXdate_separatorXXXXX/)` (2023-07-13,
# caf432721); then `.grep_v(/^#/)` first (2023-07-14, 656bb0486): a token that starts with # goes, a comment's
# other words stay.
LOADERS = ("split", "split-drop-separators", "split-drop-separators-and-hash-tokens")


def registered_tokens(loader: str, raw: str) -> list[str]:
    """What the boot code registers from the file as allowed images, in order; ValueError for an unknown loader."""
    if loader not in LOADERS:
        raise ValueError(f"loader {loader!r}: one of {', '.join(LOADERS)}")
    tokens = raw.split()
    if loader == "split-drop-separators-and-hash-tokens":
        tokens = [t for t in tokens if not t.startswith("#")]
    if loader != "split":
        tokens = [t for t in tokens if SEPARATOR_TOKEN not in t]
    return tokens


def unlisted_tokens(loader: str, raw: str) -> tuple[str, ...]:
    """What the boot code (`loader`) allows besides digest-pinned references and the old separator lines' words
    (the boot code's own format): comment words, tags, stray words. Empty for a file it reads cleanly."""
    separator_words = {w for ln in raw.splitlines() if ln.split()[:1] == [SEPARATOR_TOKEN] for w in ln.split()}
    return tuple(
        dict.fromkeys(
            token
            for token in registered_tokens(loader, raw)
            if token not in separator_words and not ((ref := parse_reference(token, 0)) and ref.pinned)
        )
    )


def is_image_word(token: str) -> bool:
    """Whether a word the boot code registers can name an image the runner would run.

    The split loaders register every white-space token of the file (runner.rb: file.chomp.split()), so the
    runner's list also holds the file's separator words (`XXXXXdate_separatorXXXXX`, a lone `#`) and dates: no
    job names such an image. A byte-order mark or a carriage return glued to a word is not part of the name.
    Every other word counts, a bare `alpine:latest` included: gitlab-runner would run it.
    """
    word = token.strip("\ufeff\r")
    if not word or word == "#" or SEPARATOR_TOKEN in word:
        return False
    return not _DATE.fullmatch(word)


def image_words(tokens: list[str] | tuple[str, ...]) -> set[str]:
    """The words of a registered list that can name an image, without a byte-order mark or carriage return."""
    return {t.strip("\ufeff\r") for t in tokens if is_image_word(t)}
