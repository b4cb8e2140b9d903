"""GitLab's REST API: the Jobs API for the env-runner lockdown probe (the Go suite's TestEnvRunnerLockdown),
and the client gitlab_runners.py reads the Runners API with (`pages`, `get`).

Endpoints (GitLab REST v4, documented under "Jobs API"):
- GET  /projects/:id/pipelines/:pipeline_id/jobs   (paginated: X-Next-Page; every page is read)
- POST /projects/:id/jobs/:job_id/play              (a manual job)
- POST /projects/:id/jobs/:job_id/retry             (a job that already ran)
- GET  /projects/:id/jobs/:job_id
- GET  /projects/:id/jobs/:job_id/trace             (the log, read up to a bound)

The token travels in the PRIVATE-TOKEN header only; it is registered for
redaction and never appears in a message, and it goes only to GitLab's https
origin, admitted against the policy's host pattern before the first request
(gitlab_route.py). Every request has a timeout; GETs are retried on 429 and
5xx. No redirect is followed: requests strips only `Authorization` when a
redirect leaves the host, so PRIVATE-TOKEN would go wherever a 3xx points. A
redirect is "could not evaluate", naming where it pointed (the token did not
go there). Play and retry are writes: the token needs the `api` scope, and a
401 or 403 says so.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from envtest.errors import CouldNotEvaluate
from envtest.gather.gitlab_route import ConnectTo, admit, connect_address
from envtest.parsers.job_log import JobLog, parse
from envtest.progress import waiting
from envtest.redact import register

TERMINAL = {"success", "failed", "canceled", "skipped"}
# The one scope the probe's token needs: play and retry are writes, which GitLab grants only to `api`
# (doc/security/tokens, "Access token scopes": read_api reads only).
SCOPE = "`api` scope"
# A job log is read up to this many bytes: its first and last halves (the refusal is near the start, the
# verdict at the end).
TRACE_LIMIT = 2_000_000


@dataclass(frozen=True)
class JobRun:
    """One job of the probe, started and waited for."""

    job: str
    job_id: int
    status: str
    action: str  # "played", "retried", "already running"
    seconds: float
    web_url: str = ""
    failure_reason: str = ""
    log: JobLog = field(default_factory=JobLog)

    @property
    def refused(self) -> bool:
        """The job failed because the runner refused its image, in the runner's own words."""
        return self.status == "failed" and self.log.refused

    def where(self) -> str:
        return f"GitLab job {self.job} (id {self.job_id}) {self.web_url}".strip()

    def record(self) -> dict[str, Any]:
        """JSON-able, for the run's cache (the log's lines are left out: they can be long)."""
        out = asdict(self)
        out["log"] = {k: v for k, v in out["log"].items() if k != "lines"}
        return out

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> JobRun:
        log = dict(record["log"])
        log["allowed_patterns"] = tuple(log.get("allowed_patterns", ()))
        return cls(**{**record, "log": JobLog(**log)})


class GitLab:
    """GitLab's Jobs API at one https origin, admitted before the first request (gitlab_route.py)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        host_pattern: str,
        source: str = "GITLAB_URL",
        connect_to: str | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        verify: str | bool = True,
    ) -> None:
        register(token, "GitLab API token")  # first: any message below is redacted
        self.origin = admit(base_url, host_pattern, source)
        self.base = self.origin.base + "/api/v4"
        self.timeout = timeout
        self.session = requests.Session()
        # Passed on each request: a session's verify loses to REQUESTS_CA_BUNDLE from the environment.
        self.verify = verify
        self.session.headers["PRIVATE-TOKEN"] = token
        retry = Retry(
            total=retries,
            backoff_factor=0.5,
            status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=frozenset({"GET"}),
            redirect=False,
        )
        if connect_to:
            # Another address for the same name: the Host header and TLS still say GitLab's host, and no proxy
            # from the environment may take the connection elsewhere.
            address = connect_address(connect_to)
            self.session.trust_env = False
            self.session.headers["Host"] = self.origin.netloc
            self.session.mount("https://", ConnectTo(self.origin.host, address, max_retries=retry))
        else:
            self.session.mount("https://", HTTPAdapter(max_retries=retry))

    def _call(
        self, method: str, path: str, *, stream: bool = False, needs: str = "", missing: str = "", **params: Any
    ) -> requests.Response:
        """One request. `needs` says what a 403 means for this call (default: the probe's play and retry);
        `missing`, what a 404 means (default: the probe's project and pipeline ids)."""
        what = f"GitLab {method} {path}"
        try:
            response = self.session.request(
                method,
                self.base + path,
                params=params or None,
                timeout=self.timeout,
                stream=stream,
                verify=self.verify,
                allow_redirects=False,  # the token stays on GitLab's origin (module docstring)
            )
        except requests.exceptions.RetryError as exc:
            raise CouldNotEvaluate(f"{what}: GitLab kept failing ({type(exc).__name__})") from None
        except requests.exceptions.Timeout:
            raise CouldNotEvaluate(f"{what}: no answer within {self.timeout:g} s") from None
        except requests.exceptions.RequestException as exc:
            raise CouldNotEvaluate(f"{what}: {type(exc).__name__}") from None
        if 300 <= response.status_code < 400:
            response.close()
            raise CouldNotEvaluate(
                f"{what}: GitLab answered {response.status_code}, a redirect to {_where(response)}; the probe follows "
                "no redirect with its API token (it was not sent there). Set GITLAB_URL to the address GitLab "
                "answers at itself, or fix what redirects (the runner's gitlab_hostname tag names the GitLab)"
            )
        if response.status_code == 401:
            raise CouldNotEvaluate(
                f"{what}: GitLab rejected the API token (401: wrong, expired or revoked); the probe needs a token "
                f"with the {SCOPE} (docs/operating.md, 'The GitLab token')"
            )
        if response.status_code == 403:
            raise CouldNotEvaluate(f"{what}: {_forbidden(response, needs)}")
        if response.status_code == 404:
            raise CouldNotEvaluate(f"{what}: not found (404): {missing or 'check the project and pipeline ids'}")
        if response.status_code >= 400:
            raise CouldNotEvaluate(f"{what}: HTTP {response.status_code}")
        return response

    def _json(self, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise CouldNotEvaluate(f"GitLab answered {response.url.split('?')[0]} with something not JSON") from None

    def pages(self, path: str, what: str, *, needs: str = "", missing: str = "", **params: Any) -> list[dict[str, Any]]:
        """Every page of a list GitLab paginates (X-Next-Page, empty on the last page), objects only."""
        items: list[dict[str, Any]] = []
        page = "1"
        for _ in range(100):  # at most 10,000 items: a bound, not a guess
            response = self._call("GET", path, needs=needs, missing=missing, per_page=100, page=page, **params)
            batch = self._json(response)
            if not isinstance(batch, list):
                raise CouldNotEvaluate(f"GitLab's {what} is not a list")
            items += [item for item in batch if isinstance(item, dict)]
            page = response.headers.get("X-Next-Page", "")
            if not page:
                return items
        raise CouldNotEvaluate(f"GitLab's {what} did not end after 100 pages")

    def get(self, path: str, *, needs: str = "", missing: str = "") -> Any:
        """One GET's JSON answer."""
        return self._json(self._call("GET", path, needs=needs, missing=missing))

    def pipeline_jobs(self, project: str, pipeline: str) -> list[dict[str, Any]]:
        return self.pages(f"/projects/{project}/pipelines/{pipeline}/jobs", "job list")

    def job(self, project: str, job_id: int) -> dict[str, Any]:
        return _job(self._json(self._call("GET", f"/projects/{project}/jobs/{job_id}")))

    def trace(self, project: str, job_id: int) -> str:
        """The job's log: all of it up to TRACE_LIMIT bytes, else its first and last halves."""
        response = self._call("GET", f"/projects/{project}/jobs/{job_id}/trace", stream=True)
        half = TRACE_LIMIT // 2
        head, tail, total = bytearray(), bytearray(), 0
        try:
            for chunk in response.iter_content(65536):
                total += len(chunk)
                room = half - len(head)
                head += chunk[:room]
                tail = (tail + chunk[room:])[-half:] if len(chunk) > room else tail
        except requests.exceptions.RequestException as exc:
            raise CouldNotEvaluate(f"GitLab GET job {job_id}'s log: {type(exc).__name__}") from None
        finally:
            response.close()
        skipped = total - len(head) - len(tail)
        middle = f"\n[... {skipped} bytes of the log not read ...]\n".encode() if skipped > 0 else b""
        return bytes(head + middle + tail).decode("utf-8", errors="replace")

    def start(self, project: str, job: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """Play a manual job, retry a finished one; leave a running one be."""
        status = job.get("status")
        if status == "manual":
            return _job(self._json(self._call("POST", f"/projects/{project}/jobs/{job['id']}/play"))), "played"
        if status in TERMINAL:
            return _job(self._json(self._call("POST", f"/projects/{project}/jobs/{job['id']}/retry"))), "retried"
        return job, "already running"


def _forbidden(response: requests.Response, needs: str = "") -> str:
    """Why GitLab answered 403, and the fix: a scope the token lacks (GitLab names it), or the user's rights.
    `needs`: what this call needs, where it is not the probe's play or retry."""
    try:
        body = response.json()
    except ValueError:
        body = None
    said = str(body.get("message", ""))[:120] if isinstance(body, dict) else ""
    if needs:
        error, scope = (str(body.get(k) or "")[:40] for k in ("error", "scope")) if isinstance(body, dict) else ("", "")
        lacks = f"the API token lacks the `{scope}` scope; " if scope else ""
        return f"GitLab refused ({said or error or '403'}): {lacks}{needs}"
    if isinstance(body, dict) and body.get("error") == "insufficient_scope":
        wanted = str(body.get("scope") or "api")[:40]
        return (
            f"GitLab answered 403 insufficient_scope: the API token lacks the `{wanted}` scope this call needs "
            f"(play and retry write: `read_api` is not enough). Create a token with the {SCOPE} "
            "(docs/operating.md, 'The GitLab token')"
        )
    return (
        f"GitLab refused ({said or '403'}): the token needs the {SCOPE}, and its user at least the Developer role in "
        "the project and the right to merge to the job's protected branch (stages/<env>); docs/operating.md, "
        "'The GitLab token'"
    )


def _where(response: requests.Response) -> str:
    """Where a redirect points, as scheme://host:port (its path and query are not needed and may be long)."""
    try:
        parts = urlsplit(urljoin(response.url, response.headers.get("Location", "")))
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a port that is not a number: a Location no client could follow
        return "an unreadable Location"
    if not parts.hostname:
        return "nowhere readable (no Location)"
    # The answer's own text: only what a URL's origin is made of reaches the report (no control characters).
    return re.sub(r"[^A-Za-z0-9.:/\[\]_-]", "?", f"{parts.scheme}://{parts.hostname}{port}")[:200]


def _job(answer: Any) -> dict[str, Any]:
    """A job as GitLab describes it: an object with an integer id, or a clear error."""
    if not isinstance(answer, dict):
        raise CouldNotEvaluate(f"GitLab's answer for a job is {type(answer).__name__}, not an object")
    job_id = answer.get("id")
    if not isinstance(job_id, int) or isinstance(job_id, bool):
        raise CouldNotEvaluate(f"GitLab's job has no integer id (id = {str(job_id)[:40]!r})")
    return answer


def run_job(gitlab: GitLab, project: str, jobs: list[dict[str, Any]], name: str, *, deadline: float,
            poll: float) -> JobRun:  # fmt: skip
    """Start the named job (the newest of that name), wait for its end until the deadline, read its log."""
    start = time.monotonic()
    named = [job for job in jobs if job.get("name") == name]
    if not named:
        raise CouldNotEvaluate(f"the pipeline has no job {name!r} (read every page of its jobs)")
    job = max((_job(j) for j in named), key=lambda j: j["id"])
    job, action = gitlab.start(project, job)
    job_id = job["id"]
    with waiting(f"GitLab job {name} ({job_id}) to end", deadline - start):
        while job.get("status") not in TERMINAL and time.monotonic() < deadline:
            time.sleep(max(0.0, min(poll, deadline - time.monotonic())))
            job = gitlab.job(project, job_id)
    log = parse(gitlab.trace(project, job_id)) if job.get("status") in TERMINAL else JobLog()
    return JobRun(
        name, job_id, str(job.get("status")), action, time.monotonic() - start,
        str(job.get("web_url", "")), str(job.get("failure_reason", "") or ""), log,
    )  # fmt: skip


def lockdown_probe(
    gitlab: GitLab, *, project: str, pipeline: str, job_names: list[str], wait: float, poll: float
) -> list[JobRun]:
    """Start each of the probe's jobs in turn (era 1: the one badtest job; era 2: the job that must be refused,
    then the job that must find nothing it left), each waited for; the whole probe bounded by `wait` seconds."""
    deadline = time.monotonic() + wait
    jobs = gitlab.pipeline_jobs(project, pipeline)
    runs = []
    for name in job_names:
        runs.append(run_job(gitlab, project, jobs, name, deadline=deadline, poll=poll))
        if runs[-1].status not in TERMINAL:
            break  # out of time: the next job cannot be judged either
    return runs
