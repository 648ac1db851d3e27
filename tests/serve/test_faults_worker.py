"""A worker under a brief store outage: its write is retried while it holds the lease."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from runlife.serve import Complete, Turn, Worker
from runlife.store import open_store

# Under CI (root there) it never skips: without chattr it fails.
pytestmark = pytest.mark.skipif(
    not os.environ.get("CI") and (os.geteuid() != 0 or shutil.which("chattr") is None),
    reason="making open files read-only needs chattr +i (root): chmod does not reach open fds",
)


def _immutable(paths: list[Path], on: bool) -> None:
    flag = "+i" if on else "-i"
    subprocess.run(["chattr", flag, *map(str, paths)], check=True)


def test_read_only_sqlite_for_two_seconds_loses_nothing(tmp_path):
    """The SQLite files are made immutable while the executor works, for 2 s (lease 10 s):
    the worker's write fails, is retried, and the run completes; it is not failed later.

    On main the worker logged "unexpected error" and rescue() failed the run.
    """
    url = f"sqlite:///{tmp_path}/runs.db?timeout=0.2"
    files = [tmp_path / "runs.db", tmp_path / "runs.db-wal", tmp_path / "runs.db-shm"]
    released = threading.Event()

    def executor(turn: Turn) -> Complete:
        _immutable([f for f in files if f.exists()], on=True)

        def later() -> None:
            time.sleep(2.0)
            _immutable([f for f in files if f.exists()], on=False)
            released.set()

        threading.Thread(target=later, daemon=True).start()
        return Complete({"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2})

    try:
        with open_store(url, lease=10) as store:
            store.create(id="run_1", assistant_id="a", thread_id="t1", model="m")
            worker = Worker(store, executor, worker_id="w1", concurrency=1, sweep_interval=0)
            started = time.monotonic()
            assert worker.run_once() == 1
            assert released.is_set()
            assert time.monotonic() - started < 9
            assert store.get("run_1").status == "completed"
            assert [m.trigger for m in store.history("run_1")] == ["start", "complete"]
    finally:
        _immutable([f for f in files if f.exists()], on=False)
