"""Contention and file faults of the store: metadata never starves a move, the SQLite file's
identity is watched, opening creates nothing it should not, every documented counter is there.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from runlife import RunEngine
from runlife.cli import main
from runlife.store import StoreError, StoreFileGone, open_store
from tests.store._procs import hammer_metadata, new_runs, start, wait_for
from tests.store.conftest import raw_sql
from tests.support import CALL, USAGE

#: The counters docs/store.md documents for ``Store.stats()``.
DOCUMENTED_STATS = {"conflicts", "locked", "lease_lost", "quarantined"}


def test_metadata_hammered_never_starves_a_worker(store_url, tmp_path):
    """Three processes update the metadata of the runs a worker moves, as fast as they can:
    every move and every metadata update lands (both, in whatever order), nothing is refused.

    On main this ended in ``Conflict: ... kept changing under the move``.
    """
    engine = RunEngine()
    # retries=1 and a block that takes 100 ms (an executor's work between read and write):
    # most first attempts lose to the hammers, and a lost race takes the row's lock.
    with open_store(store_url, engine=engine, lease=300, retries=1) as store:
        ids = new_runs(store, 6)
        stop = tmp_path / "stop"
        outs = [tmp_path / f"out{i}" for i in range(3)]
        procs = [start(hammer_metadata, store_url, ids, str(stop), str(out)) for out in outs]
        try:
            deadline = time.monotonic() + 60
            # The hammers are running: each has updated the last run at least twice. (Waiting
            # on what they wrote, not on a clock, holds on a loaded machine too.)
            while store.get(ids[-1]).version < 6:
                assert time.monotonic() < deadline, "the hammers did not start"
                time.sleep(0.05)
            # A claim skips a row another writer holds locked (PostgreSQL: SKIP LOCKED), so
            # claiming may take more than one call while the hammers run.
            claimed: list[Any] = []
            while len(claimed) < 6:
                claimed += store.claim(6 - len(claimed), worker="w1")
                assert time.monotonic() < deadline
            moved = 0
            for run in claimed:
                with store.move(run.id, worker="w1") as moving:
                    moving.require_action([CALL])
                    time.sleep(0.1)
                with store.move(run.id) as moving:
                    moving.submit_tool_outputs([{"tool_call_id": CALL["id"], "output": "21"}])
                    time.sleep(0.1)
                again: list[Any] = []  # the one queued run: every other one is claimed
                while not again:
                    again = store.claim(1, worker="w1")
                    assert time.monotonic() < deadline
                assert again[0].id == run.id
                with store.move(run.id, worker="w1") as moving:
                    moving.complete(USAGE)
                    time.sleep(0.1)
                moved += 1
        finally:
            stop.touch()
            reports = [json.loads(wait_for(out)) for out in outs]
            for proc in procs:
                proc.join(10)
        assert moved == 6
        assert [r["errors"] for r in reports] == [[], [], []]
        updates = sum(r["updates"] for r in reports)
        assert updates > 0
        assert store.stats()["conflicts"] >= 6  # the moves did race the hammers
        assert store.stats()["locked"] >= 1  # and some then took the row's lock
        for run_id in ids:
            stored = store.get(run_id)
            assert stored.status == "completed"
            kinds = [row.kind for row in store.events_since(run_id)]
            assert kinds.count("move") == 5  # start, require_action, submit, start, complete
        # Every acknowledged metadata update has its history row.
        rows = raw_sql(store_url, "SELECT COUNT(*) FROM runlife_events WHERE kind = 'metadata'")
        assert rows[0][0] == updates
        print(
            f"contention: {updates} metadata updates while 30 moves landed; "
            f"stats {store.stats()}; hammers {[r['stats'] for r in reports]}"
        )


def test_update_metadata_returns_the_stored_version(store):
    """``update_metadata`` returns the run at its stored version (main returned version 0)."""
    new_runs(store, 1)
    run = store.update_metadata("run_0", {"k": "v"})
    assert run.version == store.version("run_0") == 1
    again = store.update_metadata("run_0", {"k": "w"})
    assert (again.version, dict(again.metadata or {})) == (2, {"k": "w"})
    with store.move(again) as moving:  # the returned object is the stored state: no re-read
        moving.start()
    assert store.version("run_0") == 3


def test_stats_keys_always_present(store_url):
    """Every documented counter is in ``stats()`` from the start (main returned ``{}``)."""
    with open_store(store_url) as store:
        assert store.stats() == dict.fromkeys(DOCUMENTED_STATS, 0)
        assert store.stats()["conflicts"] == 0


class TestOpeningCreatesNothing:
    def test_create_false_leaves_no_file(self, tmp_path):
        """``create=False`` on a missing file: the error says so, and no file is created."""
        with pytest.raises(StoreError, match=r"no runlife schema in .*the file does not exist"):
            open_store(f"sqlite:///{tmp_path}/x.db", create=False)
        assert list(tmp_path.iterdir()) == []

    def test_store_status_leaves_no_file(self, tmp_path, monkeypatch, capsys):
        """``runlife store status sqlite:///nothere.db`` exits 1 and leaves nothing behind."""
        monkeypatch.chdir(tmp_path)
        assert main(["store", "status", "sqlite:///nothere.db"]) == 1
        assert "no runlife schema in sqlite:///nothere.db" in capsys.readouterr().err
        assert list(tmp_path.iterdir()) == []


class TestFileIdentity:
    """A SQLite store notices its file removed or replaced, and acknowledges nothing then."""

    @pytest.fixture(name="path")
    def _path(self, tmp_path: Path) -> Path:
        return tmp_path / "runs.db"

    def _files(self, path: Path) -> list[Path]:
        return sorted(path.parent.glob(path.name + "*"))

    def test_removed(self, path, caplog):
        """``rm runs.db*``: every operation raises StoreFileGone, nothing is re-created."""
        with open_store(f"sqlite:///{path}") as store:
            new_runs(store, 2)
            for file in self._files(path):
                file.unlink()
            with pytest.raises(StoreFileGone, match=r"was removed while the store was open"):
                store.create(id="run_x", assistant_id="a", thread_id="t", model="m")
            with pytest.raises(StoreFileGone) as info:
                store.update_metadata("run_0", {"k": "v"})
            assert info.value.reason == "removed"
            with pytest.raises(StoreFileGone):
                store.get("run_0")
            assert self._files(path) == []  # no empty database was made behind our back
        logged = [r for r in caplog.records if r.name == "runlife.store" and r.levelname == "ERROR"]
        assert len(logged) == 1  # one line when noticed, not one per operation
        assert "was removed while the store was open" in logged[0].getMessage()

    def test_moved_back_resumes(self, path, tmp_path):
        """The very file moved away and back: the store goes on where it was."""
        with open_store(f"sqlite:///{path}") as store:
            new_runs(store, 1)
            aside = tmp_path / "aside"
            aside.mkdir()
            for file in self._files(path):
                file.rename(aside / file.name)
            with pytest.raises(StoreFileGone):
                store.update_metadata("run_0", {"k": "v"})
            for file in aside.iterdir():
                file.rename(path.parent / file.name)
            assert store.update_metadata("run_0", {"k": "v"}).version == 1
        with open_store(f"sqlite:///{path}") as again:
            assert again.get("run_0").metadata == {"k": "v"}

    def test_replaced_is_refused(self, path, tmp_path):
        """A different file at the path (a restored copy) is never adopted by an open store."""
        with open_store(f"sqlite:///{path}") as store:
            new_runs(store, 1)
            copy = tmp_path / "copy.db"
            raw_sql(f"sqlite:///{path}", f"VACUUM INTO '{copy}'")
            copy.replace(path)
            with pytest.raises(StoreFileGone, match="replaced by another file") as info:
                store.update_metadata("run_0", {"k": "v"})
            assert info.value.reason == "replaced"
        with open_store(f"sqlite:///{path}") as fresh:  # reopened: the new file is the store
            assert fresh.version("run_0") == 0

    def test_removed_mid_transaction_rolls_back(self, path):
        """A write whose file vanished while it ran is rolled back, not acknowledged."""
        with open_store(f"sqlite:///{path}") as store:
            new_runs(store, 1)
            aside = path.parent / "aside"
            aside.mkdir()

            def move_away_mid_move() -> None:
                with store.move("run_0") as run:
                    run.start()
                    for file in self._files(path):
                        shutil.move(file, aside / file.name)

            with pytest.raises(StoreFileGone):
                move_away_mid_move()
            for file in aside.iterdir():
                shutil.move(file, path.parent / file.name)
            assert store.version("run_0") == 0
            assert store.get("run_0").status == "queued"
