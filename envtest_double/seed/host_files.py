"""Files on the sandbox's hosts: DIR/hosts/<role>/<path>."""

from __future__ import annotations

from pathlib import Path


def write_host_file(hosts: Path, role: str, path: str, content: str, mode: int = 0o644) -> Path:
    target = hosts / role / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)
    target.chmod(mode)
    return target
