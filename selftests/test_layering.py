"""Checks compare gathered state with policy; they never reach AWS themselves."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_checks_never_import_boto_or_create_clients() -> None:
    offenders = []
    for path in sorted((ROOT / "tests").glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if any(n.split(".")[0] in {"boto3", "botocore", "requests", "socket"} for n in names):
                    offenders.append(f"{path.name}:{node.lineno} imports {names}")
            if isinstance(node, ast.Attribute) and node.attr in {"client", "resource", "get_paginator"}:
                offenders.append(f"{path.name}:{node.lineno} uses .{node.attr}")
    assert offenders == []
