"""Commands on the InService instances of a role, through SSM (hosts/ssm.py).

Reads go through the run's host-read plan (host_reads.py): planned once,
one command per role, shared by every check and xdist worker. A command that
writes is never planned nor cached, and passes the read-only guard only inside
a disruptive test.
"""

from __future__ import annotations

from collections.abc import Callable

from envtest.errors import CouldNotEvaluate
from envtest.gather.asg import in_service_instance_ids
from envtest.gather.aws import Aws
from envtest.hosts.frames import HostRead
from envtest.hosts.plan import HostReads
from envtest.hosts.ssm import SSM_OUTPUT_LIMIT, Invocation, run_command


class Instances:
    def __init__(
        self,
        aws: Aws,
        reads: HostReads,
        group_for_role: Callable[[str], str],
        *,
        online_timeout: float,
        command_timeout: float,
    ) -> None:
        self.aws = aws
        self.reads = reads
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
        """`command` on these instances, never planned nor cached."""
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

    def read(self, read: HostRead) -> dict[str, Invocation]:
        """{instance id: invocation} of a read on every InService instance of its role (from the plan)."""
        return {
            instance_id: Invocation(
                instance_id=instance_id,
                command=read.command,
                status="Success" if output.exit_code == 0 else "Failed",
                exit_code=output.exit_code,
                stdout=output.text,
                stderr=output.stderr,
            )
            for instance_id, output in self.reads.read(read).items()
        }


def _whole(results: dict[str, Invocation]) -> dict[str, Invocation]:
    """The results, unless SSM cut an output short: a truncated document would read as a malformed one."""
    cut = [r for r in results.values() if len(r.stdout) >= SSM_OUTPUT_LIMIT]
    if cut:
        raise CouldNotEvaluate(
            f"{cut[0].instance_id}: the output of {cut[0].command!r} reached SSM's {SSM_OUTPUT_LIMIT}-character "
            "limit and was cut; ask for less (a narrower API path, a filter)"
        )
    return results
