"""A test double for CloudWatch Logs' TestMetricFilter: JSON filter patterns, evaluated on log lines.

moto stores metric filters but does not implement TestMetricFilter, so the
sandbox's instances endpoint (instances_endpoint/) answers it with this evaluator. It
covers the JSON filter syntax CloudWatch Logs documents ("Filter pattern
syntax for metric filters", JSON log events): `{ selector op value }` with
`$.a.b` / `$.a[0]` selectors, `=`, `!=`, `<`, `>`, `<=`, `>=`, string values
quoted or bare, `*` wildcards in string values, numbers, `IS NULL`,
`NOT EXISTS`, `IS TRUE` / `IS FALSE`, `&&`, `||` and parentheses. A comparison on
a property the event lacks is false. Space-delimited and plain-term patterns
are not modelled: a pattern of those forms is refused, never guessed.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<op>&&|\|\||!=|<=|>=|=|<|>|\(|\))|(?P<string>\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<selector>\$(?:\.[A-Za-z0-9_@-]+|\[\d+\])*)|(?P<word>[^\s()&|=!<>\"]+))"
)
_MISSING = object()


class PatternError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    out, i = [], 0
    while i < len(text):
        if text[i:].strip() == "":
            break
        match = _TOKEN.match(text, i)
        if not match or match.end() == i:
            raise PatternError(f"cannot read the pattern at {text[i : i + 20]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        i = match.end()
    return out


def _select(event: Any, selector: str) -> Any:
    value = event
    for part in re.findall(r"\.([A-Za-z0-9_@-]+)|\[(\d+)\]", selector[1:]):
        key, index = part
        if key and isinstance(value, dict) and key in value:
            value = value[key]
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            return _MISSING
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _compare(found: Any, op: str, wanted: str) -> bool:
    if found is _MISSING or isinstance(found, (dict, list)):
        return False
    left, right = _number(found), _number(wanted)
    if op in {"<", ">", "<=", ">="}:
        if left is None or right is None:
            return False
        return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[op]
    text = "" if found is None else str(found).lower() if isinstance(found, bool) else str(found)
    if "*" in wanted:
        equal = fnmatch.fnmatchcase(text, wanted)
    elif left is not None and right is not None:
        equal = left == right
    else:
        equal = text == wanted
    return equal if op == "=" else not equal


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens, self.i = tokens, 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise PatternError("the pattern ends too early")
        self.i += 1
        return token

    def expression(self) -> Callable[[Any], bool]:
        parts = [self.conjunction()]
        while self.peek() == ("op", "||"):
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else lambda e: any(part(e) for part in parts)

    def conjunction(self) -> Callable[[Any], bool]:
        parts = [self.term()]
        while self.peek() == ("op", "&&"):
            self.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else lambda e: all(part(e) for part in parts)

    def term(self) -> Callable[[Any], bool]:
        kind, text = self.take()
        if (kind, text) == ("op", "("):
            inner = self.expression()
            if self.take() != ("op", ")"):
                raise PatternError("a ( without its )")
            return inner
        if kind != "selector":
            raise PatternError(f"expected a $.selector, found {text!r}")
        selector = text
        kind, text = self.take()
        if kind == "word" and text.upper() in {"IS", "NOT"}:
            word = text.upper()
            _, what = self.take()
            what = what.upper()
            if word == "NOT" and what == "EXISTS":
                return lambda e: _select(e, selector) is _MISSING
            if word == "IS" and what in {"NULL", "TRUE", "FALSE"}:
                target = {"NULL": None, "TRUE": True, "FALSE": False}[what]
                return lambda e: _select(e, selector) is target or _select(e, selector) == target
            raise PatternError(f"{word} {what} is not a test")
        if kind != "op" or text not in {"=", "!=", "<", ">", "<=", ">="}:
            raise PatternError(f"expected a comparison after {selector}, found {text!r}")
        op = text
        kind, value = self.take()
        if kind == "string":
            value = json.loads(value)
        elif kind != "word":
            raise PatternError(f"expected a value after {selector} {op}, found {value!r}")
        return lambda e: _compare(_select(e, selector), op, value)


def compile_pattern(pattern: str) -> Callable[[str], bool]:
    """A predicate over one log line for a JSON filter pattern; PatternError for what is not modelled."""
    text = pattern.strip()
    if not (text.startswith("{") and text.endswith("}")):
        raise PatternError("the sandbox's TestMetricFilter double evaluates JSON patterns ({ ... }) only")
    parser = _Parser(_tokens(text[1:-1]))
    predicate = parser.expression()
    if parser.peek() is not None:
        raise PatternError(f"unexpected {parser.peek()[1]!r} in the pattern")  # type: ignore[index]

    def matches(line: str) -> bool:
        try:
            event = json.loads(line)
        except ValueError:
            return False  # a JSON pattern never matches a line that is not JSON
        return isinstance(event, dict) and predicate(event)

    return matches


def metric_filter_matches(pattern: str, messages: list[str]) -> dict[str, Any]:
    """TestMetricFilter's answer: {"matches": [{"eventNumber": n (from 1), "eventMessage", "extractedValues"}]}."""
    matches = compile_pattern(pattern)
    return {
        "matches": [
            {"eventNumber": n, "eventMessage": line, "extractedValues": {}}
            for n, line in enumerate(messages, start=1)
            if matches(line)
        ]
    }
