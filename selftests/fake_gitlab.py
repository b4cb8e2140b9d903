"""A test double for GitLab's Jobs API (REST v4), named as one: GitLab itself cannot run here.

It answers the documented endpoints the lockdown probe uses and scripts how
the `badtest_<env>` job ends: "failed" (the runner refused the image),
"success" (the lockdown is broken) or "running" (it never ends).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "glpat-fakeGitlabToken-0123456789"


@dataclass
class FakeGitLab:
    ends: str = "failed"
    # How a failed job failed: the runner refused the image (the lockdown works), or the image ran.
    failure: str = "refused"
    initial: str = "manual"
    token: str = TOKEN
    calls: list[str] = field(default_factory=list)
    jobs: dict[int, dict[str, Any]] = field(default_factory=dict)
    url: str = ""

    def __post_init__(self) -> None:
        self.jobs = {
            101: {"id": 101, "name": "deploy_sandbox", "status": "success"},
            102: {"id": 102, "name": "badtest_sandbox", "status": self.initial, "web_url": "https://gl/jobs/102"},
        }

    def trace(self) -> str:
        if self.failure == "refused":
            return (
                'Preparing the "docker" executor\nERROR: Job failed (system failure): the "alpine:latest" '
                "image is not present on list of allowed images for this runner\n"
            )
        return "Using docker image alpine:latest\n$ exit 1\nERROR: Job failed: exit code 1\n"

    def answer(self, method: str, path: str, token: str | None) -> tuple[int, Any]:
        self.calls.append(f"{method} {path}")
        if token != self.token:
            return 401, {"message": "401 Unauthorized"}
        if m := re.fullmatch(r"/api/v4/projects/7/pipelines/99/jobs", path):
            return 200, list(self.jobs.values())
        if (m := re.fullmatch(r"/api/v4/projects/7/jobs/(\d+)/trace", path)) and int(m[1]) in self.jobs:
            return 200, self.trace()
        if (m := re.fullmatch(r"/api/v4/projects/7/jobs/(\d+)(/play|/retry)?", path)) and int(m[1]) in self.jobs:
            job = self.jobs[int(m[1])]
            if m[2] == "/play" and method == "POST":
                job["status"] = "pending"
                return 200, job
            if m[2] == "/retry" and method == "POST":
                new = {**job, "id": max(self.jobs) + 1, "status": "pending"}
                self.jobs[new["id"]] = new
                return 201, new
            if job["status"] in {"pending", "running"}:  # each look moves it on
                job["status"] = "running" if job["status"] == "pending" or self.ends == "running" else self.ends
                if job["status"] == "failed":
                    job["failure_reason"] = "runner_system_failure" if self.failure == "refused" else "script_failure"
            return 200, job
        return 404, {"message": "404 Not found"}


@contextmanager
def serve(fake: FakeGitLab) -> Iterator[FakeGitLab]:
    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            status, body = fake.answer(self.command, self.path.split("?")[0], self.headers.get("PRIVATE-TOKEN"))
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _reply

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
