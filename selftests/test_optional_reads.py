"""Reads of files that may be absent, and of a systemd unit with its drop-ins, run by a real sh over a host root."""

from __future__ import annotations

from pathlib import Path

from envtest.hosts.optional_reads import ABSENT, optional_file_read, systemd_unit_read, unit_files
from envtest.hosts.transports import LocalRoot


def _write(root: Path, path: str, text: str) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


def test_an_optional_file_is_read_or_reported_absent(tmp_path: Path) -> None:
    host = LocalRoot(tmp_path, "runner")
    read = optional_file_read("env-runner", "/etc/docker/daemon.json")
    absent = host.run(read.command)
    assert absent.exit_code == ABSENT and absent.stdout == ""
    _write(tmp_path, "/etc/docker/daemon.json", '{"icc": false}\n')
    present = host.run(read.command)
    assert present.exit_code == 0 and present.stdout == '{"icc": false}\n'


def test_the_unit_systemd_loads_then_its_drop_ins_in_systemds_order(tmp_path: Path) -> None:
    _write(tmp_path, "/lib/systemd/system/docker.service", "[Service]\nExecStart=/usr/bin/dockerd -H fd://\n")
    _write(tmp_path, "/etc/systemd/system/docker.service", '[Service]\nEnvironment="HTTP_PROXY=http://u:pw@p:1"\n')
    _write(tmp_path, "/lib/systemd/system/docker.service.d/20-a.conf", "[Service]\n# lib's copy, hidden\n")
    _write(tmp_path, "/etc/systemd/system/docker.service.d/20-a.conf", "[Service]\nExecStart=")  # no last newline
    _write(tmp_path, "/run/systemd/system/docker.service.d/10-b.conf", "[Service]\nExecStart=/usr/bin/dockerd -D\n")
    _write(tmp_path, "/etc/systemd/system/docker.service.d/notes.txt", "not a drop-in\n")
    read = systemd_unit_read("env-runner", "docker.service", ("Environment",))
    done = LocalRoot(tmp_path, "runner").run(read.command)
    assert done.exit_code == 0, done.stderr
    files = unit_files(done.stdout.encode())
    assert [path for path, _ in files] == [
        "/etc/systemd/system/docker.service",
        "/run/systemd/system/docker.service.d/10-b.conf",
        "/etc/systemd/system/docker.service.d/20-a.conf",
    ]
    assert "pw" not in files[0][1] and "Environment=" in files[0][1]  # masked on the host
    assert files[2][1].startswith("[Service]\nExecStart=")


def test_no_unit_is_absent_not_an_error(tmp_path: Path) -> None:
    done = LocalRoot(tmp_path, "runner").run(systemd_unit_read("env-runner", "docker.service").command)
    assert done.exit_code == ABSENT and "no unit" in done.stderr
