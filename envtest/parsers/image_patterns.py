"""gitlab-runner's allowed_images matching: doublestar's Match, as the runner calls it.

gitlab-runner (common/allowed_images.go, VerifyAllowedImage) allows an image
when `doublestar.Match(pattern, image)` holds for any pattern of the list, on
the image string as the job wrote it (no docker.io/library/ prefix, no
:latest); an empty list allows every image; a malformed pattern matches
nothing (the runner ignores Match's error). doublestar v4's rules (its
README and match.go): `/` separates segments; `*` is any run of characters
but `/` (possibly empty); `**` as a whole segment is any number of segments
(`a/**/b` matches `a/b`), and ending a pattern it matches the rest, slashes
included, or nothing (`a/**` matches `a`); `**` elsewhere is `*`; `?` one character but `/`; `[...]` a class
(`[!...]` or `[^...]` negated); `{a,b}` alternatives; `\\` escapes. `:` and
`@` are ordinary characters.
"""

from __future__ import annotations

import functools
import re


class PatternError(ValueError):
    pass


def _class(pattern: str, i: int) -> tuple[str, int]:
    end = i + 1
    if end < len(pattern) and pattern[end] in "!^":
        end += 1
    if end < len(pattern) and pattern[end] == "]":
        end += 1
    while end < len(pattern) and pattern[end] != "]":
        end += 2 if pattern[end] == "\\" else 1
    if end >= len(pattern):
        raise PatternError(f"unclosed [ at {i}")
    body = pattern[i + 1 : end]
    negate = body[:1] in {"!", "^"}
    body = body[1:] if negate else body
    escaped = "".join("\\" + c if c in "\\]^[" else c for c in body)
    return ("[^/" if negate else "[") + escaped + "]", end + 1


def _alternatives(pattern: str, i: int) -> tuple[list[str], int]:
    depth, start, parts = 0, i + 1, []
    j = i
    while j < len(pattern):
        char = pattern[j]
        if char == "\\":
            j += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                parts.append(pattern[start:j])
                return parts, j + 1
        elif char == "," and depth == 1:
            parts.append(pattern[start:j])
            start = j + 1
        j += 1
    raise PatternError(f"unclosed {{ at {i}")


def _translate(pattern: str, at_segment_start: bool = True) -> str:
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        segment_start = (i == 0 and at_segment_start) or (i > 0 and pattern[i - 1] == "/")
        if char == "\\":
            if i + 1 >= len(pattern):
                raise PatternError("a trailing backslash")
            out.append(re.escape(pattern[i + 1]))
            i += 2
        elif char == "/" and pattern.startswith("**", i + 1) and pattern[i + 3 : i + 4] in {"", "/"}:
            # A slash and a whole-segment `**`: zero or more segments, each with its slash. Ending the pattern, it
            # is the rest of the name or nothing (doublestar's own tests: "a/**" matches "a", "a/" and "a/b/c").
            out.append("(?:/.*)?" if i + 3 == len(pattern) else "(?:/[^/]*)*")
            i += 3
        elif pattern.startswith("**", i) and segment_start and pattern[i + 2 : i + 3] in {"", "/"}:
            if i + 2 == len(pattern):
                out.append(".*")  # the whole pattern: any name, slashes included
                i += 2
            else:
                out.append("(?:[^/]*/)*")  # a leading whole segment: zero or more segments
                i += 3
        elif char == "*":
            while i < len(pattern) and pattern[i] == "*":
                i += 1
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[":
            piece, i = _class(pattern, i)
            out.append(piece)
        elif char == "{":
            parts, i = _alternatives(pattern, i)
            out.append("(?:" + "|".join(_translate(p, segment_start) for p in parts) + ")")
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out)


@functools.cache
def compiled(pattern: str) -> re.Pattern[str] | None:
    """The pattern as a regular expression, or None when doublestar would refuse it (then nothing matches)."""
    try:
        return re.compile(_translate(pattern), re.DOTALL)
    except (PatternError, re.error):
        return None


def match(pattern: str, image: str) -> bool:
    """doublestar.Match(pattern, image), as gitlab-runner calls it (an error is no match)."""
    regex = compiled(pattern)
    return bool(regex and regex.fullmatch(image))


def allowed(patterns: list[str], image: str) -> bool:
    """Whether a runner with this allowed_images list runs the image (an empty list allows all)."""
    return not patterns or any(match(p, image) for p in patterns)


# Images from unrelated registries and shapes: a pattern that matches all of them lets any image run.
ANY_IMAGE_PROBES = (
    "alpine",
    "alpine:latest",
    "library/alpine:3.19",
    "docker.io/library/alpine:latest",
    "evil.example.com/attacker/tool:1.0",
    "evil.example.com/a/b/c@sha256:" + "0" * 64,
)


def unrestricted(patterns: list[str]) -> list[str]:
    """The patterns that let any image run (all of ANY_IMAGE_PROBES); every pattern when the list is empty."""
    if not patterns:
        return ["(an empty list)"]
    return [p for p in patterns if all(match(p, probe) for probe in ANY_IMAGE_PROBES)]
