"""How terraform names and tags what it makes: a name_prefix's suffix, a tag list."""

from __future__ import annotations

import secrets


def aws_tags(**tags: str) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def name_suffix() -> str:
    """What terraform appends to a name_prefix (here shorter: 12 hex digits)."""
    return secrets.token_hex(6)
