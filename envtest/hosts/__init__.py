"""Host access in one place: what a host read is, how a run's reads are planned and travel, and the transports.

- `plan.py`: every host read of a run, planned once (`HostReads`; `LocalReads` for a directory of host files);
- `frames.py`: a role's reads composed into one POSIX sh script, and its framed answer taken apart;
- `masking.py`: secrets in host files masked on the host, before anything leaves it;
- `optional_reads.py`: reads that may find nothing (a file that need not exist, a systemd unit and its drop-ins);
- `transports.py`: the two ways to reach a host, a local root (the sandbox's `DIR/hosts/<role>/`, or `/`) and SSM;
- `ssm.py`, `ssm_cancel.py`: SSM RunCommand, bounded and fanned out, and the cancel of a command given up on;
- `instances.py`: a command on every InService instance of a role;
- `reads.py`: the reads the checks need, each defined once, and which step of the gather plan makes them;
- `steps.py`: the steps the host reads wait on, and the host-read plan itself, declared without pytest so that
  the run's start (early_start.py) sends the reads before pytest is imported.
"""
