"""Keep secrets out of every output.

Every secret the suite reads (the runner token, sensitive terraform outputs)
is registered here the moment it is read. Log records, report text and the
JUnit file pass through `redact()` before they leave the process, so a value
that slipped into a message is replaced by a marker naming its source; so is
the start or the end of one that a message cut short.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from typing import Any

_lock = threading.Lock()
_secrets: dict[str, str] = {}
# Secrets shorter than this are not registered: replacing a 3-character value
# everywhere would mangle ordinary text and protect nothing.
MIN_SECRET_LENGTH = 6
# A message cut short (a summary's first 200 characters, an output's last 300) keeps the start or the end of a
# secret it held, so a leading or trailing fragment is redacted too, from this many characters on: 12 characters
# of a token (about 70 bits in base62) do not turn up in ordinary text by chance, and a shorter fragment of the
# suite's secrets (runner tokens of 20 and more characters, longer sensitive outputs) leaves most of it unseen.
# A secret shorter than that is redacted only whole: a short one's fragments are ordinary words (the sandbox's
# dummy session token "testing" would blank "esting" inside "interesting"). A fragment from the middle is not
# looked for: a cut keeps an end.
FRAGMENT_LENGTH = 12


def register(value: object, label: str) -> None:
    text = value if isinstance(value, str) else repr(value)
    for candidate in {text, text.strip()}:
        if len(candidate) >= MIN_SECRET_LENGTH:
            with _lock:
                _secrets[candidate] = label


# The run's secrets that come from its environment (a secret read later, such as a runner token, is registered
# where it is read).
SECRET_VARIABLES = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "GITLAB_API_TOKEN", "CI_JOB_TOKEN")


def register_secrets_of(environ: Mapping[str, str]) -> None:
    """Every secret the environment holds, from the first thing the process does that could print one."""
    for variable in SECRET_VARIABLES:
        if environ.get(variable):
            register(environ[variable], variable)


def fragment_minimum(length: int) -> int:
    """The shortest leading or trailing fragment of a secret of `length` characters that is redacted."""
    return length if length < FRAGMENT_LENGTH else FRAGMENT_LENGTH


def _spans(text: str, secret: str) -> Iterator[tuple[int, int]]:
    """Where `text` holds the secret, or a leading or trailing fragment of it at least fragment_minimum long."""
    size = fragment_minimum(len(secret))
    head, tail = secret[:size], secret[-size:]
    start = text.find(head)
    while start != -1:
        end = start + size
        while end < len(text) and end - start < len(secret) and text[end] == secret[end - start]:
            end += 1
        yield start, end
        start = text.find(head, start + 1)
    found = text.find(tail)
    while found != -1:
        begin, offset = found, len(secret) - size  # offset: where in the secret the text at `begin` is
        while begin > 0 and offset > 0 and text[begin - 1] == secret[offset - 1]:
            begin, offset = begin - 1, offset - 1
        yield begin, found + size
        found = text.find(tail, found + 1)


def redact(text: str) -> str:
    with _lock:
        items = list(_secrets.items())
    spans = sorted((start, -end, label) for secret, label in items for start, end in _spans(text, secret))
    if not spans:
        return text
    out, position = [], 0
    for start, negative_end, label in spans:  # among spans that start together, the longest first
        end = -negative_end
        if end <= position:
            continue  # within what is already replaced
        if start >= position:
            out += [text[position:start], f"<redacted:{label}>"]
        position = end  # an overlapping span only widens the replacement
    out.append(text[position:])
    return "".join(out)


def redact_longrepr(longrepr: Any) -> Any:
    """A pytest report's longrepr with secrets redacted, in the shape pytest's writers expect: a skip's
    (path, line, reason) stays a tuple (the JUnit writer unpacks it); anything else that held a secret becomes
    its redacted text."""
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        path, line, reason = longrepr
        return (redact(str(path)), line, redact(str(reason)))
    text = str(longrepr)
    cleaned = redact(text)
    return cleaned if cleaned != text else longrepr


class Secret:
    """A value that prints as a marker: str(), repr() and f-strings never show it."""

    __slots__ = ("_value", "label")

    def __init__(self, value: object, label: str) -> None:
        self._value = value
        self.label = label
        register(value, label)

    def reveal(self) -> object:
        return self._value

    def __repr__(self) -> str:
        return f"<sensitive:{self.label}>"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self.label))


def _redact_record(record: logging.LogRecord) -> None:
    """The record's message, and its exception and stack text, with secrets replaced (in place)."""
    try:
        message = record.getMessage()
    except Exception:  # a broken format string is not ours to fix here
        return
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    if record.exc_info and not record.exc_text:
        text = logging.Formatter().formatException(record.exc_info)
        cleaned = redact(text)
        if cleaned != text:
            # A formatter uses exc_text when it is set, instead of formatting the exception (secret and all) again.
            record.exc_text = cleaned
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with secrets replaced."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


def install_logging_filter() -> None:
    """Redact every log record as it is made, whichever handler writes it.

    A filter on the root logger sees only records logged on the root logger itself, and one on its handlers
    only the handlers there now; pytest adds its own (captured and live logs) for each test, later. The record
    factory makes every record of every logger, so no handler can see one unredacted.
    """
    previous = logging.getLogRecordFactory()
    if not getattr(previous, "envtest_redacts", False):

        def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _redact_record(record)
            return record

        make_record.envtest_redacts = True  # type: ignore[attr-defined]
        logging.setLogRecordFactory(make_record)
    # tftest logs `terraform output` at debug level, sensitive values included;
    # botocore logs whole response bodies at debug level, and an SSM file read
    # comes back base64-encoded, which redaction of plain values cannot see.
    for name in ("tftest", "botocore", "boto3", "urllib3"):
        logging.getLogger(name).setLevel(logging.INFO if name != "tftest" else logging.WARNING)


def mask_account(account: str | None) -> str:
    """All but the last four digits hidden: 123456789012 -> ********9012."""
    if not account:
        return "unknown"
    return "*" * max(0, len(account) - 4) + account[-4:]
