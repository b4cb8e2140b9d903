"""Commands on every InService instance of a role, through SSM (gather/ssm.py).

A read-only command's results are shared by the run (xdist workers included),
so each command reaches each host once. A command that writes is never cached
and passes the read-only guard only inside a disruptive test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from envtest.errors import CouldNotEvaluate
from envtest.gather.asg import in_service_instance_ids
from envtest.gather.aws import Aws
from envtest.gather.cache import cached
from envtest.gather.ssm import SSM_OUTPUT_LIMIT, Invocation, run_command


class Instances:
    def __init__(
        self,
        aws: Aws,
        run_dir: Path | None,
        group_for_role: Callable[[str], str],
        *,
        online_timeout: float,
        command_timeout: float,
    ) -> None:
        self.aws = aws
        self.run_dir = run_dir
        self.group_for_role = group_for_role
        self.online_timeout = online_timeout
        self.command_timeout = command_timeout

    def ids(self, role: str) -> list[str]:
        """InService instances of the role's group; CouldNotEvaluate when there are none."""
        # Not cached: a recycle replaces the instances during the run.
        group = self.group_for_role(role)
        ids = in_service_instance_ids(self.aws, group)
        if not ids:
            raise CouldNotEvaluate(f"no InService instance in {group} to run commands on for role {role!r}")
        return list(ids)

    def run_on(self, instance_ids: list[str], command: str, *, writes: bool = False) -> dict[str, Invocation]:
        """`command` on these instances, never cached."""
        return _whole(
            run_command(
                self.aws,
                instance_ids,
                command,
                writes=writes,
                timeout=self.command_timeout,
                online_timeout=self.online_timeout,
            )
        )

    def run(self, role: str, command: str, *, writes: bool = False) -> dict[str, Invocation]:
        """{instance id: invocation} of `command` on every InService instance of the role."""

        def fetch() -> dict[str, dict[str, object]]:
            results = run_command(
                self.aws,
                self.ids(role),
                command,
                writes=writes,
                timeout=self.command_timeout,
                online_timeout=self.online_timeout,
            )
            return {i: asdict(r) for i, r in results.items()}

        raw = fetch() if writes else cached(self.run_dir, f"{self.aws.region}:ssm.run:{role}:{command}", fetch)
        return _whole({i: Invocation(**fields) for i, fields in raw.items()})  # type: ignore[arg-type]


def _whole(results: dict[str, Invocation]) -> dict[str, Invocation]:
    """The results, unless SSM cut an output short: a truncated document would read as a malformed one."""
    cut = [r for r in results.values() if len(r.stdout) >= SSM_OUTPUT_LIMIT]
    if cut:
        raise CouldNotEvaluate(
            f"{cut[0].instance_id}: the output of {cut[0].command!r} reached SSM's {SSM_OUTPUT_LIMIT}-character "
            "limit and was cut; ask for less (a narrower API path, a filter)"
        )
    return results
