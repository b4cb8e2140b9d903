"""gitlab-runner's image matching, as the sandbox's runner double applies it: doublestar's Match, written anew.

The runner double decides whether a job's image may run the way gitlab-runner does (common/allowed_images.go:
`doublestar.Match(pattern, image)` for each allowed pattern; an empty list allows all). It must not borrow the
suite's matcher (envtest/parsers/image_patterns.py), which judges the runner's list: a rule wrong there would then
be wrong on both sides, and no fault could show it. So this is a separate implementation, by a different method
(expanding alternatives, then matching segment by segment with backtracking, where the suite translates to a
regular expression), from doublestar v4's README:

- `/` separates segments; a pattern segment `**` matches any number of whole segments, none included;
- in a segment, `*` is any run of characters (none included), `**` not alone in its segment is `*`, `?` is one
  character, `[abc]`, `[a-z]` a class and `[!...]` or `[^...]` its complement, `\\` escapes the next character;
- `{a,b}` is either alternative (nesting allowed);
- a malformed pattern (an unclosed `[` or `{`) matches nothing, as gitlab-runner ignores Match's error.
"""

from __future__ import annotations


class Malformed(ValueError):
    pass


def _alternatives(pattern: str) -> list[str]:
    """Every pattern `{a,b}` stands for, braces expanded (escaped characters kept as they are)."""
    depth, start, i = 0, -1, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if char == "{":
            if depth == 0:
                start = i
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                options, level, piece = [], 0, ""
                for c in _escaped_units(pattern[start + 1 : i]):
                    if c == "," and level == 0:
                        options.append(piece)
                        piece = ""
                        continue
                    level += {"{": 1, "}": -1}.get(c, 0)
                    piece += c
                options.append(piece)
                head, tail = pattern[:start], pattern[i + 1 :]
                return [expanded for option in options for expanded in _alternatives(head + option + tail)]
        i += 1
    if depth:
        raise Malformed("an unclosed {")
    return [pattern]


def _escaped_units(text: str) -> list[str]:
    """The text's characters, a backslash kept together with the character it escapes."""
    units, i = [], 0
    while i < len(text):
        units.append(text[i : i + 2] if text[i] == "\\" else text[i])
        i += 2 if text[i] == "\\" else 1
    return units


def _class_matches(pattern: str, i: int, char: str) -> tuple[bool, int]:
    """Whether `char` is in the class opening at pattern[i] ('['); and the index just past the class."""
    j = i + 1
    negated = j < len(pattern) and pattern[j] in "!^"
    j += negated
    found, first = False, True
    while j < len(pattern) and (pattern[j] != "]" or first):
        first = False
        low = pattern[j + 1] if pattern[j] == "\\" and j + 1 < len(pattern) else pattern[j]
        j += 2 if pattern[j] == "\\" else 1
        high = low
        if j + 1 < len(pattern) and pattern[j] == "-" and pattern[j + 1] != "]":
            high = pattern[j + 2] if pattern[j + 1] == "\\" and j + 2 < len(pattern) else pattern[j + 1]
            j += 3 if pattern[j + 1] == "\\" else 2
        found = found or low <= char <= high
    if j >= len(pattern):
        raise Malformed("an unclosed [")
    return found != negated, j + 1


def _segment(pattern: str, name: str) -> bool:
    """One segment against one name segment (no `/` in either)."""
    if not pattern:
        return not name
    head = pattern[0]
    if head == "*":
        rest = pattern.lstrip("*")
        return any(_segment(rest, name[k:]) for k in range(len(name) + 1))
    if not name:
        return False
    if head == "?":
        return _segment(pattern[1:], name[1:])
    if head == "[":
        inside, after = _class_matches(pattern, 0, name[0])
        return inside and _segment(pattern[after:], name[1:])
    if head == "\\" and len(pattern) > 1:
        return pattern[1] == name[0] and _segment(pattern[2:], name[1:])
    return head == name[0] and _segment(pattern[1:], name[1:])


def _segments(pattern: list[str], name: list[str]) -> bool:
    if not pattern:
        return not name
    if pattern[0] == "**":
        return any(_segments(pattern[1:], name[k:]) for k in range(len(name) + 1))
    return bool(name) and _segment(pattern[0], name[0]) and _segments(pattern[1:], name[1:])


def match(pattern: str, name: str) -> bool:
    """Whether gitlab-runner would allow image `name` under `pattern` (a malformed pattern allows nothing)."""
    try:
        return any(_segments(p.split("/"), name.split("/")) for p in _alternatives(pattern))
    except Malformed:
        return False
