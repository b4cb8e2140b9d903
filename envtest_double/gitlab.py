"""GitLab's Jobs API for the sandbox's pipeline: a test double, named as one (GitLab cannot run here).

It serves the documented endpoints the lockdown probe uses (GitLab REST v4, "Jobs API"; lib/api/ci/jobs.rb):
- GET  /api/v4/projects/:id/pipelines/:pipeline_id/jobs: newest first, retried jobs left out, paginated
  (`page`, `per_page` default 20 and at most 100; headers x-page, x-per-page, x-next-page (empty on the
  last page), x-prev-page, x-total, x-total-pages, link);
- GET  /api/v4/projects/:id/jobs/:job_id;
- GET  /api/v4/projects/:id/jobs/:job_id/trace (text/plain);
- POST /api/v4/projects/:id/jobs/:job_id/play: a manual job becomes pending, 200 with the same job; any other
  job 400 `{"message": "400 Bad request - Unplayable Job"}`;
- POST /api/v4/projects/:id/jobs/:job_id/retry: a finished job is cloned into a new pending job (201, a new
  id) and drops out of the list; any other 403 `{"message": "403 Forbidden - Job is not retryable"}`.
The token is checked in the PRIVATE-TOKEN header (401 `{"message": "401 Unauthorized"}` otherwise). The
configured `token` has the `api` scope; an optional `read_api_token` has `read_api`, which GitLab lets read but not
write: its play and retry answer 403 `{"error": "insufficient_scope", ..., "scope": "api"}` (GitLab's
doc/security/tokens, "Access token scopes"; lib/gitlab/auth/auth_finders.rb raises InsufficientScopeError).

The Runners API's reads (GET /projects/:id/runners, GET /runners/:id) are gitlab_runners.py's, over GitLab's
record of the sandbox's runners. An optional `developer_token` belongs to a Developer: it may run jobs, and GitLab
refuses it the project's runners (a Maintainer's right).

The pipeline is the sandbox's `.gitlab-ci.yml`: the jobs tagged for this env's runner, with `extends` resolved
and variables expanded as GitLab does (gitlab_pipeline.py). A pending job is picked up after `step` seconds
and decided then by the runner double (runner_double.py) from the env runner's config.toml as it reads at that
moment; it ends `step` seconds later. The jobs that are not the lockdown probe's start as their first pipeline
run left them: deploy and test jobs succeeded, the probe's jobs as the runner decides them.

    python -m envtest_double.gitlab CONFIG.json      (a sandbox process; CONFIG names everything)
"""

from __future__ import annotations

import datetime
import json
import math
import re
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from envtest_double.gitlab_pipeline import pipeline_jobs
from envtest_double.gitlab_runners import RunnersApi
from envtest_double.runner_double import Decision, Job, RunnerUnavailable, decide

TERMINAL = {"success", "failed", "canceled", "skipped"}
# GitLab's answer to a token whose scopes do not cover the request (a read_api token writing).
INSUFFICIENT_SCOPE = {
    "error": "insufficient_scope",
    "error_description": "The request requires higher privileges than provided by the access token.",
    "scope": "api",
}


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class GitLabDouble:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.token = str(config["token"])
        # Each token's scopes: the main one may write; a read_api token may only read.
        self.scopes = {self.token: {"api"}}
        if config.get("read_api_token"):
            self.scopes[str(config["read_api_token"])] = {"read_api"}
        # Each token's user's role in the project: a Developer may run jobs, only a Maintainer reads its runners.
        self.roles = {token: "maintainer" for token in self.scopes}
        if config.get("developer_token"):
            self.scopes[str(config["developer_token"])] = {"api"}
            self.roles[str(config["developer_token"])] = "developer"
        self.runners = RunnersApi(config.get("runners_file"), str(config["project_id"]), config["project_path"])
        self.project = str(config["project_id"])
        self.pipeline = int(config["pipeline_id"])
        self.step = float(config.get("step", 0.2))
        self.lock = threading.RLock()
        self.records: dict[int, dict[str, Any]] = {}
        self.built = False

    # ---- the pipeline -----------------------------------------------------------------------------------

    def _config_text(self) -> str:
        return Path(self.config["runner_config"]).read_text(encoding="utf-8", errors="replace")

    def _build(self) -> None:
        text = Path(self.config["pipeline_file"]).read_text(encoding="utf-8")
        probe_jobs = set(self.config.get("probe_jobs", []))
        next_id = 1000
        for job, _ in pipeline_jobs(text, str(self.config["runner_tag"])):
            next_id += 1
            record = self._record(next_id, job)
            if job.when == "manual":
                record["status"] = "manual"
            elif job.name in probe_jobs:
                self._finish(record, self._decide(job))  # as the pipeline's first run left it
            else:
                record.update(status="success", started_at=_now(), finished_at=_now(), _trace="Job succeeded\n")
            self.records[next_id] = record
        self.built = True

    def _record(self, job_id: int, job: Job) -> dict[str, Any]:
        host, path = self.config["gitlab_host"], self.config["project_path"]
        return {
            "id": job_id,
            "name": job.name,
            "stage": job.stage,
            "status": "created",
            "allow_failure": job.allow_failure,
            "created_at": _now(),
            "started_at": None,
            "finished_at": None,
            "failure_reason": None,
            "ref": f"stages/{self.config['env']}",
            "tag": False,
            "tag_list": list(job.tags),
            "web_url": f"https://{host}/{path}/-/jobs/{job_id}",
            "pipeline": {
                "id": self.pipeline,
                "project_id": int(self.project),
                "ref": f"stages/{self.config['env']}",
                "status": "running",
            },
            "_job": job,
            "_trace": "",
            "_since": time.monotonic(),
            "_produced": frozenset(),
            "_retried": False,
        }

    def _available(self, job: Job) -> frozenset[str]:
        """Files left by the latest run of each job this one needs."""
        latest: dict[str, dict[str, Any]] = {}
        for record in sorted(self.records.values(), key=lambda r: r["id"]):
            latest[record["name"]] = record
        return frozenset(p for need in job.needs if need in latest for p in latest[need]["_produced"])

    def _decide(self, job: Job) -> Decision | None:
        try:
            return decide(job, self._config_text(), self._available(job), f"{self.config['env']}-env-runner")
        except (RunnerUnavailable, OSError):
            return None  # no runner picks it up: it stays pending

    def _finish(self, record: dict[str, Any], decision: Decision | None) -> None:
        if decision is None:
            record.update(status="pending")
            return
        record.update(
            status=decision.status,
            failure_reason=decision.failure_reason or None,
            started_at=record["started_at"] or _now(),
            finished_at=_now(),
            _trace=decision.trace,
            _produced=decision.produced,
        )

    def _advance(self, record: dict[str, Any]) -> None:
        """Time moves a started job on: pending, running (decided now), then its end."""
        elapsed = time.monotonic() - record["_since"]
        if record["status"] == "pending" and elapsed >= self.step:
            decision = self._decide(record["_job"])
            if decision is None:
                return
            first_line = decision.trace.split("\n", 1)[0] + "\n"
            record.update(
                status="running", started_at=_now(), _decision=decision, _since=time.monotonic(), _trace=first_line
            )
        elif record["status"] == "running" and elapsed >= self.step:
            self._finish(record, record.pop("_decision"))

    # ---- the API ------------------------------------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            self.records.clear()
            self.built = False

    def answer(self, method: str, target: str, token: str | None) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            scopes = self.scopes.get(token or "")
            if scopes is None:
                return self._json(401, {"message": "401 Unauthorized"})
            if method != "GET" and "api" not in scopes:
                return self._json(403, INSUFFICIENT_SCOPE)
            url = urlsplit(target)
            runners = self.runners.answer(method, url.path, url.query, self.roles[token or ""])
            if runners is not None:
                return runners
            if not self.built:
                try:
                    self._build()
                except (OSError, ValueError, yaml.YAMLError) as exc:
                    return self._json(500, {"message": f"500 Internal Server Error (the double: {exc})"})
            query = parse_qs(url.query)
            base = f"/api/v4/projects/{self.project}"
            if method == "GET" and url.path == f"{base}/pipelines/{self.pipeline}/jobs":
                return self._page(query)
            m = re.fullmatch(re.escape(base) + r"/jobs/(\d+)(/play|/retry|/trace)?", url.path)
            if not m or int(m[1]) not in self.records:
                return self._json(404, {"message": "404 Not found"})
            record = self.records[int(m[1])]
            self._advance(record)
            action = m[2] or ""
            if method == "GET" and action == "":
                return self._json(200, self._public(record))
            if method == "GET" and action == "/trace":
                disposition = f'infile; filename="{record["id"]}.log"'
                headers = {"Content-Type": "text/plain", "Content-Disposition": disposition}
                return 200, headers, record["_trace"].encode()
            if method == "POST" and action == "/play":
                if record["status"] != "manual":
                    return self._json(400, {"message": "400 Bad request - Unplayable Job"})
                record.update(status="pending", _since=time.monotonic())
                return self._json(200, self._public(record))
            if method == "POST" and action == "/retry":
                if record["status"] not in TERMINAL or record["_retried"]:
                    return self._json(403, {"message": "403 Forbidden - Job is not retryable"})
                record["_retried"] = True
                clone = self._record(max(self.records) + 1, record["_job"])
                clone.update(status="pending", _since=time.monotonic())
                self.records[clone["id"]] = clone
                return self._json(201, self._public(clone))
            return self._json(405, {"message": "405 Method Not Allowed"})

    def _page(self, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        try:
            page = max(1, int(query.get("page", ["1"])[0]))
            per_page = min(100, max(1, int(query.get("per_page", ["20"])[0])))
        except ValueError:
            return self._json(400, {"message": "400 Bad request - page is invalid"})
        listed = sorted((r for r in self.records.values() if not r["_retried"]), key=lambda r: -r["id"])
        for record in listed:
            self._advance(record)
        pages = max(1, math.ceil(len(listed) / per_page))
        chunk = listed[(page - 1) * per_page : page * per_page]
        headers = {
            "x-page": str(page),
            "x-per-page": str(per_page),
            "x-next-page": str(page + 1) if page < pages else "",
            "x-prev-page": str(page - 1) if page > 1 else "",
            "x-total": str(len(listed)),
            "x-total-pages": str(pages),
        }
        return self._json(200, [self._public(r) for r in chunk], headers)

    @staticmethod
    def _public(record: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in record.items() if not k.startswith("_")}

    @staticmethod
    def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body).encode()


def serve(
    double: GitLabDouble, host: str, port: int, cert: str | None = None, key: str | None = None
) -> ThreadingHTTPServer:
    """An HTTP(S) server for the double (not started: call serve_forever)."""

    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            if self.command == "POST" and self.path == "/-/envtest/reset":  # the sandbox's reset, not GitLab's API
                if self.headers.get("PRIVATE-TOKEN") == double.token:
                    double.reset()
                    status, headers, body = 204, {}, b""
                else:
                    status, headers, body = 401, {}, b""
            else:
                status, headers, body = double.answer(self.command, self.path, self.headers.get("PRIVATE-TOKEN"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _reply

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    if cert and key:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        # The handshake happens in the handler's thread: a client that never speaks TLS holds only its own.
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    return server


def main(argv: list[str]) -> None:
    config = json.loads(Path(argv[0]).read_text())
    server = serve(GitLabDouble(config), "127.0.0.1", int(config["port"]), config.get("cert"), config.get("key"))
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
