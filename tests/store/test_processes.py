"""Processes, not only threads: racing workers, killed workers, paused workers, lost connections.

Every test runs on SQLite and PostgreSQL; children are spawned processes (``_procs``) that
open the store themselves and share time through a file.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from runlife import RunEngine, check, to_dict
from runlife.store import open_store
from tests.store import _procs
from tests.store._procs import FileClock, new_runs, start, wait_for
from tests.store.conftest import raw_sql
from tests.support import T0

K_WORKERS = 4
M_RUNS = 160
SHARED_THREADS = 5
ACTIVE_TWICE = (
    "SELECT thread_id FROM runlife_runs WHERE status IN "
    "('queued', 'in_progress', 'requires_action', 'cancelling') "
    "GROUP BY thread_id HAVING COUNT(*) > 1"
)


@pytest.fixture(name="file_clock")
def _file_clock(tmp_path: Path) -> FileClock:
    clock = FileClock(str(tmp_path / "clock"))
    clock.set(T0)
    return clock


@pytest.fixture(name="pstore")
def _pstore(store_url: str, file_clock: FileClock) -> Any:
    with open_store(store_url, engine=RunEngine(clock=file_clock), lease=30) as store:
        yield store


def _stop(process: Any) -> None:
    if process.is_alive():
        os.kill(process.pid, signal.SIGKILL)
    process.join(10)


def test_workers_race(store_url, tmp_path):
    """K processes race creates, claims, cancels and moves over M runs: nothing is lost or doubled.

    At the end every run was claimed exactly once, every stored history is as long as the
    moves that succeeded, check() finds nothing, and no thread ever had two active runs.
    """
    store = open_store(store_url)
    ids = new_runs(store, M_RUNS)
    barrier = _procs.SPAWN.Barrier(K_WORKERS)
    outs = [tmp_path / f"racer{i}.json" for i in range(K_WORKERS)]
    children = [
        start(_procs.racer, store_url, f"w{i}", ids, SHARED_THREADS, barrier, str(outs[i]), i)
        for i in range(K_WORKERS)
    ]
    doubled: list[Any] = []
    try:
        while any(c.is_alive() for c in children):
            doubled += raw_sql(store_url, ACTIVE_TWICE)
            time.sleep(0.02)
    finally:
        for child in children:
            _stop(child)
    assert [c.exitcode for c in children] == [0] * K_WORKERS
    results = [json.loads(out.read_text()) for out in outs]
    claimed = [run_id for r in results for run_id in r["claimed"]]
    created = [run_id for r in results for run_id in r["created"]]
    moves: Counter[str] = Counter()
    for r in results:
        moves.update(r["moves"])
    assert doubled == []
    assert len(created) >= SHARED_THREADS  # one winner per shared thread, at least
    assert sorted(claimed) == sorted(ids + created)  # every run claimed exactly once
    for run_id in ids + created:
        run = store.get(run_id)
        assert run.status.is_terminal, run_id
        assert check(run) == [], run_id
        assert len(store.history(run_id)) == moves[run_id], run_id
        assert store.events_since(run_id)[-1].data == to_dict(run)
    assert raw_sql(store_url, ACTIVE_TWICE) == []
    store.close()


def test_killed_in_the_block(store_url, pstore, file_clock, tmp_path):
    """A worker killed (SIGKILL) in the middle of a move leaves the run as before, still movable."""
    new_runs(pstore, 1)
    before = raw_sql(store_url, "SELECT version, body FROM runlife_runs")
    ready = tmp_path / "ready"
    child = start(_procs.hold_in_move, store_url, file_clock.path, "run_0", str(ready))
    try:
        wait_for(ready)
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
    finally:
        _stop(child)
    assert raw_sql(store_url, "SELECT version, body FROM runlife_runs") == before
    assert pstore.history("run_0") == []
    with pstore.move("run_0") as run:
        run.start()
    assert pstore.version("run_0") == 1


def _hold_lock(store_url: str) -> Any:
    """Take the lock a move's write needs, from outside the store."""
    if store_url.startswith("sqlite:"):
        lite = sqlite3.connect(store_url.removeprefix("sqlite:///"), isolation_level=None)
        lite.execute("BEGIN IMMEDIATE")
        return lite
    import psycopg

    pg = psycopg.connect(store_url)
    pg.execute("SELECT 1 FROM runlife_runs WHERE id = 'run_0' FOR UPDATE")
    return pg


def test_killed_while_writing(store_url, pstore, file_clock, tmp_path):
    """A worker killed while its write waits for a lock leaves the run before or after the move.

    Never in between: on SQLite the write had not begun (before); on PostgreSQL the
    statement was already sent, and the server applies it whole, history row included.
    """
    new_runs(pstore, 1)
    before = raw_sql(store_url, "SELECT version, body FROM runlife_runs")
    ready, done = tmp_path / "ready", tmp_path / "done"
    lock = _hold_lock(store_url)
    child = start(
        _procs.write_behind_lock, store_url, file_clock.path, "run_0", str(ready), str(done)
    )
    try:
        wait_for(ready)
        time.sleep(0.3)  # the child is now waiting inside its write
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
    finally:
        lock.rollback()
        lock.close()
        _stop(child)
    assert not done.exists()
    after = raw_sql(store_url, "SELECT version, body FROM runlife_runs")
    events = pstore.events_since("run_0")
    if after != before:
        assert after[0][0] == 1
        assert [e.trigger for e in events] == [None, "start"]
    assert events[-1].data == to_dict(pstore.get("run_0"))
    assert len(events) == after[0][0] + 1
    with pstore.move("run_0") as run:
        run.cancel()
    assert pstore.get("run_0").status == "cancelling"


def test_killed_holding_claims(pstore, store_url, file_clock, tmp_path):
    """A worker killed while holding claimed runs: rescue ends them once, after the lease lapses."""
    new_runs(pstore, 4)
    ready = tmp_path / "ready"
    child = start(_procs.claim_and_hang, store_url, file_clock.path, str(ready))
    try:
        held = json.loads(wait_for(ready))
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
    finally:
        _stop(child)
    assert held == ["run_0", "run_1", "run_2"]
    assert pstore.rescue().moved == ()  # the lease has not lapsed yet
    file_clock.set(T0 + 31)
    assert pstore.rescue().moved == tuple(held)
    assert pstore.rescue().moved == ()
    for run_id in held:
        run = pstore.get(run_id)
        assert run.status == "failed"
        assert run.last_error is not None
        assert run.last_error.code == "server_error"
    assert pstore.get("run_3").status == "queued"


def test_paused_worker_is_fenced(pstore, store_url, file_clock, tmp_path):
    """A paused worker's late writes (SIGSTOP, lease lapses, rescue, SIGCONT) are refused."""
    new_runs(pstore, 2)
    ready, go, out = tmp_path / "ready", tmp_path / "go", tmp_path / "out"
    child = start(_procs.paused_worker, store_url, file_clock.path, str(ready), str(go), str(out))
    try:
        first, second = json.loads(wait_for(ready))
        os.kill(child.pid, signal.SIGSTOP)
        file_clock.set(T0 + 31)
        assert pstore.rescue().moved == (first, second)
        go.write_text("go")
        os.kill(child.pid, signal.SIGCONT)
        result = json.loads(wait_for(out))
        child.join(10)
    finally:
        _stop(child)
    assert child.exitcode == 0
    assert result == {
        "first": (
            f"worker sleepy does not hold run {first} (no worker holds it; the run is failed): "
            "the write was refused and nothing was written"
        ),
        "second": (
            f"worker sleepy does not hold run {second} (no worker holds it; the run is "
            "failed): the write was refused and nothing was written"
        ),
    }
    for run_id in (first, second):
        assert [m.trigger for m in pstore.history(run_id)] == ["start", "fail"]


# SQLite has no connection to drop: a killed process is its version of this fault (above).
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("moment", ["before the write", "during the write"])
def test_connection_dropped(store_url, pstore, file_clock, tmp_path, moment):
    """A connection dropped mid-move: the store learns the outcome, and the move lands once."""
    import psycopg

    new_runs(pstore, 1)
    url = store_url + "&application_name=runlife-dropped"
    ready, go, out = tmp_path / "ready", tmp_path / "go", tmp_path / "out"
    admin = psycopg.connect(store_url, autocommit=True)
    lock = None
    child = start(
        _procs.dropped_connection, url, file_clock.path, "run_0", str(ready), str(go), str(out)
    )
    try:
        wait_for(ready)
        if moment == "during the write":
            lock = _hold_lock(store_url)
            go.write_text("go")
            waiting = "AND wait_event_type = 'Lock'"
        else:
            waiting = ""
        deadline = time.monotonic() + 10
        killed = 0
        while not killed and time.monotonic() < deadline:
            killed = sum(
                bool(row[0])
                for row in admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "  # noqa: S608
                    f"WHERE application_name = 'runlife-dropped' {waiting}"
                ).fetchall()
            )
            time.sleep(0.02)
        assert killed == 1
        go.write_text("go")
        if lock is not None:
            time.sleep(0.3)  # the retried write waits for the lock again
            lock.rollback()
        result = json.loads(wait_for(out))
        child.join(10)
    finally:
        if lock is not None:
            lock.close()
        admin.close()
        _stop(child)
    assert "error" not in result
    assert result["conflicts"] == 1  # the broken write was seen not to land, then retried
    assert result["version"] == 1
    assert [m.trigger for m in pstore.history("run_0")] == ["start"]


def test_simulate_on_store(store_url):
    """The multi-process simulation ends every run, soundly, and reports its statistics."""
    from runlife.store import simulate_on_store

    stats = simulate_on_store(store_url, workers=2, runs=60, seed=7, cancel_rate=0.2, timeout=60)
    assert stats["problems"] == []
    assert sum(stats["statuses"].values()) == 60
    assert stats["claims"] >= 60
    assert stats["moves"] >= 120
    assert stats["moves_per_s"] > 0
    assert {"conflicts", "illegal", "lease_lost", "elapsed_s"} <= set(stats)
