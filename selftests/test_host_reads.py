"""The planned host reads: planned once, one command per role, a read's answer taken from the plan or fetched
alone; the same reads from local directories (HOSTS_ROOT).

The script and its frames have their own tests (test_host_read_frames.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from envtest.errors import CouldNotEvaluate
from envtest.hosts.frames import HostRead, ItemOutput, command_read, file_read, reduced, register_reducer
from envtest.hosts.plan import HostReads, LocalReads


def test_a_reducer_keeps_only_what_it_returns(tmp_path: Path) -> None:
    register_reducer("test-length", lambda raw: str(len(raw)).encode())
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "secret").write_bytes(b"token = 'abc'\n")
    read = file_read("r", "/secret", reduce="test-length")
    assert LocalReads(tmp_path).read(read) == {
        "r": reduced(read, LocalReads(tmp_path).read(file_read("r", "/secret"))["r"])
    }
    assert LocalReads(tmp_path).read(read)["r"].stdout == b"14"


def test_local_reads_name_a_missing_host(tmp_path: Path) -> None:
    with pytest.raises(CouldNotEvaluate, match="HOSTS_ROOT has no host 'nobody'"):
        LocalReads(tmp_path).read(file_read("nobody", "/etc/x"))


def test_without_a_plan_a_read_goes_on_its_own_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run with the cache off starts no plan: its reads must not wait for one (they once waited minutes)."""
    reads = HostReads(None, None, lambda role: role, online_timeout=120, command_timeout=60)  # type: ignore[arg-type]
    asked: list[list[HostRead]] = []

    def answer(role: str, planned: list[HostRead], sent: object = None) -> dict[str, object]:
        asked.append(planned)
        return {"instances": {"i-1": [{"exit_code": 0, "stdout": "b2s=", "stderr": ""}]}}

    monkeypatch.setattr(reads, "_role_answer", answer)
    started = time.monotonic()
    read = command_read("idp", "echo ok")
    assert reads.read(read) == {"i-1": ItemOutput(0, b"ok", "")}
    assert asked == [[read]] and time.monotonic() - started < 1


def test_a_planned_read_takes_the_plans_answer_and_others_go_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    reads = HostReads(None, None, lambda role: role, online_timeout=120, command_timeout=60)  # type: ignore[arg-type]
    planned = [command_read("idp", "a"), command_read("idp", "b")]
    asked: list[list[HostRead]] = []

    def answer(role: str, batch: list[HostRead], sent: object = None) -> dict[str, object]:
        asked.append(batch)
        outputs = [{"exit_code": n, "stdout": "", "stderr": ""} for n, _ in enumerate(batch)]
        return {"instances": {"i-1": outputs}}

    monkeypatch.setattr(reads, "_role_answer", answer)
    reads.start(lambda: planned)
    assert reads.read(planned[1])["i-1"].exit_code == 1
    assert reads.read(planned[0])["i-1"].exit_code == 0
    assert reads.read(command_read("idp", "c"))["i-1"].exit_code == 0
    assert asked == [planned, [command_read("idp", "c")]]


def test_a_read_known_from_the_policy_never_waits_for_the_reads_that_need_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Redis probe needs Redis's address from AWS; config.toml does not. Its answer comes while the probe's
    plan is still blocked (it is released only after), and the probe then goes as a command of its own."""
    import threading

    reads = HostReads(None, None, lambda role: role, online_timeout=120, command_timeout=60)  # type: ignore[arg-type]
    config, probe = file_read("env-runner", "/etc/gitlab-runner/config.toml"), command_read("idp", "nc redis 6379")
    asked: list[list[HostRead]] = []

    def answer(role: str, batch: list[HostRead], sent: object = None) -> dict[str, object]:
        asked.append(batch)
        return {"instances": {"i-1": [{"exit_code": 0, "stdout": "", "stderr": ""} for _ in batch]}}

    monkeypatch.setattr(reads, "_role_answer", answer)
    address_read = threading.Event()

    def later() -> list[HostRead]:
        assert address_read.wait(timeout=30)
        return [probe]

    reads.start(lambda: [config], later)
    assert reads.read(config)["i-1"].exit_code == 0  # answered with the later wave still blocked
    address_read.set()
    assert reads.read(probe)["i-1"].exit_code == 0
    assert asked == [[config], [probe]]


# ---- the plan's commands sent (HostReads.commands_sent: the rest of the run waits on it, fixtures/plan.py) ---------


def test_the_commands_count_as_sent_only_when_every_wave_has_sent_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Redis probe's wave is built only once Redis's address is read: until it is built and its command
    sent, the plan's commands are not all sent, though the first wave's are."""
    import threading

    reads = HostReads(None, None, lambda role: role, online_timeout=120, command_timeout=60)  # type: ignore[arg-type]
    release = {"env-runner": threading.Event(), "idp": threading.Event()}
    address_read = threading.Event()

    def answer(role: str, batch: list[HostRead], sent: Callable[[], None]) -> dict[str, object]:
        assert release[role].wait(timeout=30)
        sent()  # the command is sent; its answer comes later
        sent()  # paid once, however often it is said
        return {"instances": {"i-1": [{"exit_code": 0, "stdout": "", "stderr": ""} for _ in batch]}}

    monkeypatch.setattr(reads, "_role_answer", answer)

    def later() -> list[HostRead]:
        assert address_read.wait(timeout=30)
        return [command_read("idp", "nc redis 6379")]

    reads.start(lambda: [file_read("env-runner", "/etc/gitlab-runner/config.toml")], later)
    assert not reads.commands_sent(timeout=0.05)
    release["env-runner"].set()
    assert not reads.commands_sent(timeout=0.05)  # the later wave is not built yet
    address_read.set()
    assert not reads.commands_sent(timeout=0.05)  # built, its command not sent
    release["idp"].set()
    assert reads.commands_sent(timeout=5)


def test_a_role_that_fails_before_sending_does_not_hold_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    """A role whose instances cannot be found (or whose answer was in the run's cache) sends nothing: it counts as
    done, or the rest of the run would wait out the whole bound for a command that never goes."""
    reads = HostReads(None, None, lambda role: role, online_timeout=120, command_timeout=60)  # type: ignore[arg-type]

    def answer(role: str, batch: list[HostRead], sent: Callable[[], None]) -> dict[str, object]:
        raise CouldNotEvaluate(f"no InService instance to read from for role {role!r}")

    monkeypatch.setattr(reads, "_role_answer", answer)
    reads.start(lambda: [command_read("idp", "a"), command_read("app", "b")])
    assert reads.commands_sent(timeout=5)


def test_without_a_plan_nothing_is_waited_for() -> None:
    reads = HostReads(None, None, lambda role: role, online_timeout=120, command_timeout=60)  # type: ignore[arg-type]
    started = time.monotonic()
    assert reads.commands_sent(timeout=30) and time.monotonic() - started < 1


def test_a_plan_is_started_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The session plans the reads the early start planned already: its start adds no second command per role
    (a second plan raced the first for the same answers, and the commands it sent were not the ones waited on)."""
    reads = HostReads(None, None, lambda role: role, online_timeout=120, command_timeout=60)  # type: ignore[arg-type]
    asked: list[list[HostRead]] = []

    def answer(role: str, batch: list[HostRead], sent: object = None) -> dict[str, object]:
        asked.append(batch)
        return {"instances": {"i-1": [{"exit_code": 0, "stdout": "", "stderr": ""} for _ in batch]}}

    monkeypatch.setattr(reads, "_role_answer", answer)
    early, session = [command_read("idp", "a"), command_read("app", "b")], [command_read("idp", "a")]
    reads.start(lambda: early)
    assert reads.commands_sent(timeout=5)
    reads.start(lambda: session)
    assert reads.read(session[0])["i-1"].exit_code == 0
    assert sorted(map(len, asked)) == [1, 1] and len(asked) == 2, asked  # one command per role, the early start's
