"""GitLab's Runners API for the sandbox: a test double, named as one, serving GitLab's record of its runners.

GitLab's record of a runner is what `gitlab-runner register` sent it; the register script is removed after it ran
(identity-gitlab recipes/runner.rb, `remove_registration_script`), so that record is the only place the settings
live. The sandbox writes the record at seed time (`registration`), from the env runner's config.toml (the
[[runners]] id GitLab gave it, and its name, which GitLab keeps as the description) and its instance's tags, as
templates/default/runner-register.sh.erb turns those tags into flags (the same at the three revisions' commits;
lines at 026b5670):
- :32 `--run-untagged="<%= node.run_state['allow_untagged_jobs'] %>"`  -> run_untagged
- :33 `--tag-list "<%= node.run_state['runner_tag'] %>"`, runner.rb:116 `environment + '-' + pool` (env runners)
- :34 `--locked=false`
- :42-46 `--access-level=ref_protected` if only_on_protected_branch is 'true', else `not_protected`
- no `--paused`: active.
A fault edits the record as a change in GitLab's UI would (DIR/gitlab-runners.json, read at each request).
Beside the env runner, GitLab's other runners the project can use (terraform/gitlab/module/gitlab-runner.tf's
pools: build-pool, and test-pool, which runs untagged jobs) and another env's runner: the suite must pick its
env's own by the tag.

Served as doc/api/runners.md and lib/api/ci/runners.rb say (entities lib/api/entities/ci/runner.rb, and
runner_details.rb for one runner):
- GET /api/v4/projects/:id/runners: filters `type`, `paused`, `status`, `tag_list` (comma-separated: runners
  holding every tag), paginated as GitLab paginates; the Runner entity (no tags, run_untagged, locked or
  access_level); only for a Maintainer (`read_project_runners`), else 403 `{"message": "403 Forbidden"}`;
- GET /api/v4/runners/:id: RunnerDetails; an instance runner for any user, another for a Maintainer of its
  project, else 403 `{"message": "403 Forbidden - No access granted"}`; 404 `{"message": "404 Runner Not Found"}`.
`active` and `paused` are both given (paused = not active), as GitLab 14.8 and later give them.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

Reply = tuple[int, dict[str, str], bytes]
SEEN = "2026-11-01T00:00:00.000Z"  # when GitLab last heard from each runner (all are online here)
TYPES = ("instance_type", "group_type", "project_type")
STATUSES = ("online", "offline", "stale", "never_contacted", "active", "paused")  # ::Ci::Runner, deprecated too
# GitLab's other runners (the gitlab env's pools, terraform/gitlab/module/gitlab-runner.tf): not env runners, so
# each holds its pool's name as its only tag (runner.rb: runner_tag = gitlab_runner_pool_name).
OTHER_RUNNERS = [
    # :24 gitlab_runner_pool_name = "build-pool"; :5 allow_untagged_jobs = false
    {"id": 11, "description": "build-pool-ip-10-2-4-17", "runner_type": "instance_type", "active": True,
     "locked": False, "run_untagged": False, "tag_list": ["build-pool"], "access_level": "not_protected"},
    # :63 gitlab_runner_pool_name = "test-pool"; :46 allow_untagged_jobs = true
    {"id": 12, "description": "test-pool-ip-10-2-5-33", "runner_type": "instance_type", "active": True,
     "locked": False, "run_untagged": True, "tag_list": ["test-pool"], "access_level": "not_protected"},
    # another env's runner, registered to the same project (the pipeline's deploy_tspencer job is its)
    {"id": 4100, "description": "env-runner-ip-10-3-1-9", "runner_type": "project_type", "active": True,
     "locked": False, "run_untagged": False, "tag_list": ["tspencer-env-runner"], "access_level": "not_protected"},
]  # fmt: skip


def registration(config_toml: str, tags: dict[str, str], env: str) -> dict[str, Any]:
    """The env runner's record, as its registration made it: ids from config.toml, flags from the tags."""
    runner = tomllib.loads(config_toml)["runners"][0]
    return {
        "id": int(runner["id"]),
        "description": str(runner["name"]),
        "runner_type": "project_type",
        "active": True,
        "locked": False,
        "run_untagged": tags["allow_untagged_jobs"] == "true",
        "tag_list": [f"{env}-{tags['gitlab_runner_pool_name']}"],
        "access_level": "ref_protected" if tags["only_on_protected_branch"] == "true" else "not_protected",
    }


def write_runners(path: Path, env_runner: dict[str, Any]) -> None:
    """GitLab's runners table as the double serves it: the env runner, then GitLab's others."""
    path.write_text(json.dumps({"runners": [env_runner, *OTHER_RUNNERS]}, indent=2) + "\n")


class RunnersApi:
    """The Runners API's reads over DIR/gitlab-runners.json, for the project `project_id` (path `project_path`)."""

    def __init__(self, runners_file: str | None, project_id: str, project_path: str) -> None:
        self.file = Path(runners_file) if runners_file else None
        self.project_names = {project_id, project_path}

    def answer(self, method: str, path: str, query: str, role: str) -> Reply | None:
        """The reply to a Runners API request, or None for a path that is not one (the caller routes it)."""
        project = re.fullmatch(r"/api/v4/projects/([^/]+)/runners", path)
        one = re.fullmatch(r"/api/v4/runners/(\d+)", path)
        if method != "GET" or not (project or one):
            return None
        runners = self._runners()
        if project:
            if unquote(project[1]) not in self.project_names:
                return _json(404, {"message": "404 Project Not Found"})
            if role != "maintainer":
                return _json(403, {"message": "403 Forbidden"})
            return self._list(runners, parse_qs(query))
        found = [r for r in runners if r["id"] == int(one[1])] if one else []
        if not found:
            return _json(404, {"message": "404 Runner Not Found"})
        if found[0]["runner_type"] != "instance_type" and role != "maintainer":
            return _json(403, {"message": "403 Forbidden - No access granted"})
        return _json(200, _details(found[0]))

    def _runners(self) -> list[dict[str, Any]]:
        if self.file is None or not self.file.is_file():
            return list(OTHER_RUNNERS)
        return list(json.loads(self.file.read_text())["runners"])

    def _list(self, runners: list[dict[str, Any]], query: dict[str, list[str]]) -> Reply:
        kind = query.get("type", [""])[0]
        if kind and kind not in TYPES:
            return _json(400, {"error": "type does not have a valid value"})
        paused = query.get("paused", [""])[0].lower()
        if paused and paused not in ("true", "false"):
            return _json(400, {"error": "paused is invalid"})
        status = query.get("status", [""])[0]
        if status and status not in STATUSES:
            return _json(400, {"error": "status does not have a valid value"})
        wanted = {t.strip() for value in query.get("tag_list", []) for t in value.split(",") if t.strip()}
        chosen = [
            r
            for r in runners
            if (not kind or r["runner_type"] == kind)
            and (not paused or (not r["active"]) == (paused == "true"))
            and wanted <= set(r["tag_list"])
            # Every runner here is online; `active` and `paused` are the deprecated statuses for the flag.
            and status in ("", "online", "paused" if not r["active"] else "active")
        ]
        return _paged([_entity(r) for r in sorted(chosen, key=lambda r: r["id"])], query)


def _entity(runner: dict[str, Any]) -> dict[str, Any]:
    """lib/api/entities/ci/runner.rb: what a list shows of a runner."""
    return {
        "id": runner["id"],
        "description": runner["description"],
        "ip_address": "",  # GitLab 17 answers "" (deprecated in 16.1)
        "active": runner["active"],
        "paused": not runner["active"],
        "is_shared": runner["runner_type"] == "instance_type",
        "runner_type": runner["runner_type"],
        "name": None,
        "online": True,
        "created_at": SEEN,
        "status": "online",
        "job_execution_status": "idle",
    }


def _details(runner: dict[str, Any]) -> dict[str, Any]:
    """runner_details.rb: the entity, plus the registration's settings and what the runner last reported."""
    return {
        **_entity(runner),
        "tag_list": list(runner["tag_list"]),
        "run_untagged": runner["run_untagged"],
        "locked": runner["locked"],
        "maximum_timeout": None,
        "access_level": runner["access_level"],
        "version": "17.5.4",
        "revision": "5d8d5c9f",
        "platform": "linux",
        "architecture": "amd64",
        "contacted_at": SEEN,
        "maintenance_note": None,
        "groups": [],
    }


def _paged(items: list[dict[str, Any]], query: dict[str, list[str]]) -> Reply:
    """GitLab's offset pagination: `page`, `per_page` (default 20, at most 100), and its headers."""
    try:
        page = max(1, int(query.get("page", ["1"])[0]))
        per_page = min(100, max(1, int(query.get("per_page", ["20"])[0])))
    except ValueError:
        return _json(400, {"message": "400 Bad request - page is invalid"})
    pages = max(1, math.ceil(len(items) / per_page))
    headers = {
        "x-page": str(page),
        "x-per-page": str(per_page),
        "x-next-page": str(page + 1) if page < pages else "",
        "x-prev-page": str(page - 1) if page > 1 else "",
        "x-total": str(len(items)),
        "x-total-pages": str(pages),
    }
    return _json(200, items[(page - 1) * per_page : page * per_page], headers)


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body).encode()
