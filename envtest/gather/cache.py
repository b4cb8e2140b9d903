"""Read each kind of state once per run, shared by every check and worker.

Within one process results are memoised; across pytest-xdist workers they are
shared through JSON files in the run directory, guarded by a file lock so that
exactly one worker fetches and the others read what it wrote. A fetch that
could not be evaluated is cached too, so every worker reports the same cause
and none repeats the calls.

Only JSON-serialisable data goes through here, and never a secret: gather
functions cache facts about secrets (size, shape), not their values.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from filelock import FileLock

from envtest.errors import CouldNotEvaluate

T = TypeVar("T")

_memo: dict[str, Any] = {}
_memo_lock = threading.Lock()
# One lock per key: a thread that asks for what another thread is fetching waits for that fetch
# (the gather plan's background step and a check's fixture often ask at once) instead of fetching again.
_key_locks: dict[str, threading.Lock] = {}


def cache_wanted(environ: Mapping[str, str]) -> bool:
    """Whether an environment leaves the cache on: not ENVTEST_CACHE=off (then nothing is read ahead either:
    no gather plan started ahead, since nothing would keep what they read for the checks)."""
    return environ.get("ENVTEST_CACHE", "on") != "off"


_enabled = [cache_wanted(os.environ)]


def enabled() -> bool:
    """Whether this process's cache is on (ENVTEST_CACHE): the gather plan reads ahead only then."""
    return _enabled[0]


def _file_for(run_dir: Path, key: str) -> Path:
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return run_dir / "cache" / f"{digest}.json"


def cached(run_dir: Path | None, key: str, fetch: Callable[[], T]) -> T:
    """Return fetch()'s result for `key`, fetching at most once per run."""
    if not _enabled[0]:
        return fetch()
    with _memo_lock:
        if key in _memo:
            return _unwrap(key, _memo[key])
        key_lock = _key_locks.setdefault(key, threading.Lock())
    with key_lock:
        with _memo_lock:
            entry = _memo.get(key)
        if entry is None:
            entry = _shared(run_dir, key, fetch) if run_dir else _fetch(fetch)
            with _memo_lock:
                _memo.setdefault(key, entry)
    return _unwrap(key, entry)


def _fetch(fetch: Callable[[], Any]) -> dict[str, Any]:
    try:
        # Round-trip through JSON so a memoised value looks exactly like a shared one.
        return {"value": json.loads(json.dumps(fetch(), default=str))}
    except CouldNotEvaluate as exc:
        return {"error": str(exc)}


def _shared(run_dir: Path, key: str, fetch: Callable[[], Any]) -> dict[str, Any]:
    path = _file_for(run_dir, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=600):
        if path.exists():
            return json.loads(path.read_text())
        entry = _fetch(fetch)
        entry["key"] = key
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entry, default=str))
        tmp.replace(path)
        return entry


def _unwrap(key: str, entry: dict[str, Any]) -> Any:
    if "error" in entry:
        raise CouldNotEvaluate(entry["error"])
    return entry["value"]


def clear_memo() -> None:
    with _memo_lock:
        _memo.clear()
        _key_locks.clear()
