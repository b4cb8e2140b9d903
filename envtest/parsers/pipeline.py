"""The image digests a GitLab pipeline file (.gitlab-ci.yml) uses for one env's jobs.

An env's jobs are the visible jobs named `<anything>_<env>`, or whose
`environment` is the env, or that are tagged `<env>-env-runner`, once their
`extends:` are resolved as GitLab resolves them (the extended jobs merged in
order, hashes deep-merged, other values replaced; the job's own keys last; at
most 11 levels). For each, the job's variables (over the file's global ones)
are expanded into its `image:`, and every variable named `*_DIGEST` counts as a
digest the job will run. Jobs named in `exclude` (the lockdown probe's, whose
image must be refused) are left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

RESERVED = {
    "stages",
    "variables",
    "default",
    "include",
    "workflow",
    "image",
    "services",
    "before_script",
    "after_script",
    "cache",
    "pages",
}
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")


class _Loader(yaml.SafeLoader):
    """Safe loading that also accepts GitLab's own tags (`!reference [...]`) as plain data."""


def _any_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_Loader.add_multi_constructor("!", _any_tag)


@dataclass(frozen=True)
class PipelineImage:
    job: str
    where: str  # "image" or "variables.<NAME>"
    value: str  # expanded
    digest: str | None


@dataclass(frozen=True)
class PipelineImages:
    jobs: tuple[str, ...]
    images: tuple[PipelineImage, ...]
    problems: tuple[str, ...] = ()


def _variables(section: Any) -> dict[str, str]:
    if not isinstance(section, dict):
        return {}
    out = {}
    for key, raw in section.items():
        value = raw.get("value", "") if isinstance(raw, dict) else raw
        out[str(key)] = "" if value is None else str(value)
    return out


def _expand(text: str, variables: dict[str, str]) -> str:
    for _ in range(5):  # variables may refer to variables; bounded, so a cycle cannot hang
        expanded = _VARIABLE.sub(lambda m: variables.get(m.group(1) or m.group(2), m.group(0)), text)
        if expanded == text:
            break
        text = expanded
    return text


EXTENDS_DEPTH = 11  # GitLab: "You can use up to eleven levels of inheritance"


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        out[key] = _deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def resolve_extends(data: dict[str, Any], name: str, depth: int = 0) -> dict[str, Any]:
    """The job with its `extends:` merged in (GitLab's rules); ValueError on a cycle, depth or missing parent."""
    job = data.get(name)
    if not isinstance(job, dict):
        raise ValueError(f"{name!r} is not a job")
    parents = job.get("extends", [])
    parents = [parents] if isinstance(parents, str) else parents if isinstance(parents, list) else []
    if not parents:
        return job
    if depth >= EXTENDS_DEPTH:
        raise ValueError(f"{name!r}: extends is nested more than {EXTENDS_DEPTH} levels (or loops)")
    merged: dict[str, Any] = {}
    for parent in parents:
        if str(parent) not in data:
            raise ValueError(f"{name!r} extends {parent!r}, which the file does not define")
        merged = _deep_merge(merged, resolve_extends(data, str(parent), depth + 1))
    return _deep_merge(merged, {k: v for k, v in job.items() if k != "extends"})


def _is_env_job(name: str, job: dict[str, Any], env: str) -> bool:
    environment = job.get("environment")
    environment_name = environment.get("name") if isinstance(environment, dict) else environment
    tags = job.get("tags") if isinstance(job.get("tags"), list) else []
    return name.endswith(f"_{env}") or environment_name == env or f"{env}-env-runner" in tags


def parse(text: str, env: str, exclude: frozenset[str] = frozenset()) -> PipelineImages:
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        return PipelineImages((), (), (f"not valid YAML{where}: {getattr(exc, 'problem', exc)}",))
    if not isinstance(data, dict):
        return PipelineImages((), (), ("the file is not a mapping of jobs",))
    global_variables = _variables(data.get("variables"))
    jobs, images, problems = [], [], []
    for key, raw in data.items():
        name = str(key)
        if name in RESERVED or name.startswith(".") or name in exclude or not isinstance(raw, dict):
            continue
        try:
            job = resolve_extends(data, name)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if not _is_env_job(name, job, env):
            continue
        jobs.append(name)
        variables = {**global_variables, **_variables(job.get("variables"))}
        image = job.get("image", data.get("image"))
        if isinstance(image, dict):
            image = image.get("name")
        if isinstance(image, str):
            value = _expand(image, variables)
            match = re.search(r"@(sha256:\S+)$", value)
            images.append(PipelineImage(name, "image", value, match.group(1) if match else None))
        for variable, value in sorted(variables.items()):
            if variable.endswith("_DIGEST"):
                expanded = _expand(value, variables)
                images.append(PipelineImage(name, f"variables.{variable}", expanded, expanded))
    if not jobs:
        problems.append(f"no job for env {env!r} (named *_{env}, environment {env}, or tagged {env}-env-runner)")
    return PipelineImages(tuple(jobs), tuple(images), tuple(problems))


def well_formed_digest(digest: str | None) -> bool:
    return bool(digest and _DIGEST.fullmatch(digest))
