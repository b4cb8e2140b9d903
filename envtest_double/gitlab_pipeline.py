"""A .gitlab-ci.yml read as GitLab reads it: the jobs tagged for one runner, `extends` resolved (hashes merged
deeply, everything else replaced), variables expanded.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from envtest_double.runner_double import Job

RESERVED = {"stages", "variables", "default", "include", "workflow", "image", "services", "before_script",
            "after_script", "cache"}  # fmt: skip
VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """GitLab's extends: hashes merge deeply, everything else (lists included) is replaced."""
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _resolve(name: str, document: dict[str, Any], seen: tuple[str, ...] = ()) -> dict[str, Any]:
    if name in seen or len(seen) > 10:  # GitLab allows 11 levels and refuses loops
        raise ValueError(f"extends loop or too deep at {name}")
    body = document.get(name)
    if not isinstance(body, dict):
        raise ValueError(f"extends names {name!r}, which is not a job or template")
    parents = body.get("extends", [])
    parents = [parents] if isinstance(parents, str) else list(parents)
    resolved: dict[str, Any] = {}
    for parent in parents:
        resolved = _merge(resolved, _resolve(str(parent), document, (*seen, name)))
    return _merge(resolved, {k: v for k, v in body.items() if k != "extends"})


def _expand(text: str, variables: dict[str, str]) -> str:
    for _ in range(5):  # variables may name variables
        expanded = VARIABLE.sub(lambda m: variables.get(m[1] or m[2], ""), text)
        if expanded == text:
            break
        text = expanded
    return text


def _list(value: Any) -> list[Any]:
    return [value] if isinstance(value, (str, dict)) else list(value or [])


def pipeline_jobs(text: str, runner_tag: str) -> list[tuple[Job, dict[str, Any]]]:
    """The pipeline's jobs for the runner with this tag, in file order, with their resolved YAML."""
    document = yaml.safe_load(text) or {}
    if not isinstance(document, dict):
        raise ValueError("the pipeline file is not a mapping")
    globals_ = {str(k): str(v) for k, v in (document.get("variables") or {}).items()}
    jobs = []
    for name in document:
        if not isinstance(name, str) or name.startswith(".") or name in RESERVED:
            continue
        body = _resolve(name, document)
        tags = [str(t) for t in _list(body.get("tags"))]
        if runner_tag not in tags:
            continue
        variables = {**globals_, **{str(k): str(v) for k, v in (body.get("variables") or {}).items()}}
        image = body.get("image")
        image = image.get("name") if isinstance(image, dict) else image
        services = [s.get("name") if isinstance(s, dict) else s for s in _list(body.get("services"))]
        needs = [n.get("job") if isinstance(n, dict) else n for n in _list(body.get("needs"))]
        artifacts = body.get("artifacts") if isinstance(body.get("artifacts"), dict) else {}
        job = Job(
            name=name,
            stage=str(body.get("stage", "test")),
            image=_expand(str(image), variables) if image else None,
            services=tuple(_expand(str(s), variables) for s in services if s),
            script=tuple(_expand(str(line), variables) for line in _list(body.get("script"))),
            artifacts=tuple(str(p) for p in _list(artifacts.get("paths"))),
            needs=tuple(str(n) for n in needs if n),
            tags=tuple(tags),
            when=str(body.get("when", "on_success")),
            allow_failure=bool(body.get("allow_failure", False)),
        )
        jobs.append((job, body))
    return jobs
