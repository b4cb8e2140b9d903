"""Keep secrets out of every output.

Every secret the suite reads (the runner token, sensitive terraform outputs)
is registered here the moment it is read. Log records, report text and the
JUnit file pass through `redact()` before they leave the process, so a value
that slipped into a message is replaced by a marker naming its source.
"""

from __future__ import annotations

import logging
import threading

_lock = threading.Lock()
_secrets: dict[str, str] = {}
# Secrets shorter than this are not registered: replacing a 3-character value
# everywhere would mangle ordinary text and protect nothing.
MIN_SECRET_LENGTH = 6


def register(value: object, label: str) -> None:
    text = value if isinstance(value, str) else repr(value)
    for candidate in {text, text.strip()}:
        if len(candidate) >= MIN_SECRET_LENGTH:
            with _lock:
                _secrets[candidate] = label


def redact(text: str) -> str:
    with _lock:
        items = sorted(_secrets.items(), key=lambda kv: -len(kv[0]))
    for secret, label in items:
        if secret in text:
            text = text.replace(secret, f"<redacted:{label}>")
    return text


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


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with secrets replaced."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is not ours to fix here
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_logging_filter() -> None:
    """Attach the filter to the root logger and every handler it has now."""
    root = logging.getLogger()
    flt = RedactingFilter()
    root.addFilter(flt)
    for handler in root.handlers:
        handler.addFilter(flt)
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
