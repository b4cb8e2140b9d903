"""GitLab's record of the env runner (how it is registered), read through GitLab's Runners API. Reads only.

config.toml says what the runner does with a job; GitLab's record says which jobs reach it: its tags, whether it
takes untagged jobs, whether it takes jobs from unprotected branches (`access_level`), whether other projects may
enable it (`locked`), whether it takes jobs at all (`paused`). None of that is on the runner's host.

Endpoints (GitLab REST v4, doc/api/runners.md; lib/api/ci/runners.rb):
- GET /projects/:id/runners?tag_list=<tag>   the runners the project can use that hold the tag (paginated). Its
  entity (lib/api/entities/ci/runner.rb) has no tags, run_untagged, locked or access_level, so each runner is
- GET /runners/:id                            read again: RunnerDetails (runner_details.rb) exposes tag_list,
  run_untagged, locked, access_level, and `active` beside `paused`.
`active` is deprecated in favour of `paused` (the doc's Deprecations: "Use the `paused` attribute instead",
gitlab-org/gitlab#351109): `paused` is read where GitLab gives it, else `not active` (a GitLab before 14.8).

Both are GETs: a token with `read_api` (or `api`) will do. The token's user needs at least the Maintainer role in
the project (`read_project_runners`; the doc's "List all of a project's runners" prerequisites), and for a group
runner's details the Maintainer or Owner role in its group ("Retrieve runner's details"). The token goes where the
lockdown probe's goes, and only there (gitlab.py, gitlab_route.py).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote

from envtest.errors import CouldNotEvaluate
from envtest.gather.gitlab import GitLab

NEEDS = (
    "reading the project's runners needs a token (`read_api` or `api` scope) whose user has at least the "
    "Maintainer role in the project (and in the runner's group, for a group runner); docs/operating.md, "
    "'The GitLab token'"
)
MISSING = "GitLab answers 404 for a project or runner the token's user cannot see: check GITLAB_PROJECT_ID"


@dataclass(frozen=True)
class RunnerRegistration:
    """One runner as GitLab holds it (RunnerDetails), in the fields the checks judge."""

    runner_id: int
    description: str
    paused: bool
    locked: bool
    run_untagged: bool
    tag_list: tuple[str, ...]
    access_level: str
    status: str = ""  # online, offline, stale, never_contacted (GitLab's word; "" if it gave none)
    runner_type: str = ""  # instance_type, group_type, project_type

    def where(self) -> str:
        state = ", ".join(s for s in (self.runner_type, self.status) if s)
        return f"GitLab runner #{self.runner_id} '{self.description}'" + (f" ({state})" if state else "")

    @classmethod
    def from_api(cls, answer: Any) -> RunnerRegistration:
        """A RunnerDetails answer, or CouldNotEvaluate naming the field that is missing or not of its type."""
        if not isinstance(answer, dict):
            raise CouldNotEvaluate(f"GitLab's runner details are {type(answer).__name__}, not an object")
        runner_id = answer.get("id")
        if not isinstance(runner_id, int) or isinstance(runner_id, bool):
            raise CouldNotEvaluate(f"GitLab's runner details have no integer id (id = {_shown(runner_id)})")

        def wrong(key: str, kind: str, other: str = "") -> CouldNotEvaluate:
            nor = f" nor `{other}`" if other else ""
            return CouldNotEvaluate(
                f"GitLab's details of runner #{runner_id} have no {kind} `{key}`{nor} (found "
                f"{_shown(answer.get(key))}): GET /runners/:id answers otherwise than GitLab's Runners API documents"
            )

        def flag(key: str) -> bool:
            value = answer.get(key)
            if not isinstance(value, bool):
                raise wrong(key, "true/false")
            return value

        # `paused` (GitLab 14.8 on) wins; before it, only `active` said the same thing the other way round.
        if isinstance(answer.get("paused"), bool):
            paused = bool(answer["paused"])
        elif isinstance(answer.get("active"), bool):
            paused = not answer["active"]
        else:
            raise wrong("paused", "true/false", "active")
        tags = answer.get("tag_list")
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise wrong("tag_list", "list of strings")
        access_level = answer.get("access_level")
        if not isinstance(access_level, str):
            raise wrong("access_level", "string")
        return cls(
            runner_id=runner_id,
            description=_text(answer.get("description")),
            paused=paused,
            locked=flag("locked"),
            run_untagged=flag("run_untagged"),
            tag_list=tuple(_text(t) for t in tags),
            access_level=_text(access_level),
            status=_text(answer.get("status")),
            runner_type=_text(answer.get("runner_type")),
        )

    def record(self) -> dict[str, Any]:
        """JSON-able, for the run's cache."""
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> RunnerRegistration:
        return cls(**{**record, "tag_list": tuple(record["tag_list"])})


def _text(value: Any) -> str:
    """GitLab's words for a report: printable, at most 120 characters (a description is anyone's text)."""
    if not isinstance(value, str):
        return ""
    return re.sub(r"[^\x20-\x7e]", "?", value)[:120]


def _shown(value: Any) -> str:
    return repr(value)[:40] if value is None or isinstance(value, (bool, int, float, str)) else type(value).__name__


def _listed_id(item: dict[str, Any]) -> int:
    runner_id = item.get("id")
    if not isinstance(runner_id, int) or isinstance(runner_id, bool):
        raise CouldNotEvaluate(f"GitLab's list of runners has an entry with no integer id (id = {_shown(runner_id)})")
    return runner_id


def runners_with_tag(gitlab: GitLab, project: str, tag: str) -> list[RunnerRegistration]:
    """Every runner the project can use that holds `tag`, as GitLab holds it (GETs only)."""
    where = quote(project, safe="")  # an id, or the project's path (GitLab takes it URL-encoded)
    listed = gitlab.pages(f"/projects/{where}/runners", "list of runners", needs=NEEDS, missing=MISSING, tag_list=tag)
    found = [
        RunnerRegistration.from_api(gitlab.get(f"/runners/{runner_id}", needs=NEEDS, missing=MISSING))
        for runner_id in sorted({_listed_id(item) for item in listed})
    ]
    # A GitLab that ignores the tag_list filter lists every runner: the details say which hold the tag.
    return [runner for runner in found if tag in runner.tag_list]
