"""Resume: runs restored from storage, compare-and-set, and the embedding guide's examples."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import runlife
from runlife import (
    TRIGGERS,
    Conflict,
    ManualClock,
    Run,
    RunEngine,
    RunStatus,
    dump,
    expect_version,
    restore,
    to_dict,
)
from tests.conftest import PAYLOAD_ORDER, load_payload
from tests.support import T0, VALID_ARGS, may, run_in

DOCS = Path(__file__).parents[1] / "docs"


class TestResume:
    @pytest.mark.parametrize("status", list(RunStatus), ids=str)
    def test_every_status(self, status: RunStatus):
        """A run stored and restored in any status is the same run, with the same future."""
        engine, clock = _engine()
        run = run_in(status, engine, clock)
        back = engine.restore(json.loads(json.dumps(dump(run))))
        assert to_dict(back) == to_dict(run)
        assert (back.status, back.expires_at, back.version) == (
            run.status,
            run.expires_at,
            run.version,
        )
        assert back.history == run.history
        for trigger in TRIGGERS:
            assert may(back, trigger) == may(run, trigger), trigger

    def test_deadline_survives(self):
        """A restored active run keeps its deadline: it is expired when due, not before."""
        engine, clock = _engine(index_deadlines=True)
        run = run_in(RunStatus.REQUIRES_ACTION, engine, clock)
        doc = dump(run)
        resumed_engine = RunEngine(clock=clock, index_deadlines=True)
        back = resumed_engine.restore(doc)
        assert resumed_engine.next_deadline() == run.expires_at == T0 + 600
        clock.set(T0 + 599)
        assert resumed_engine.expire_due() == []
        clock.set(T0 + 600)
        assert resumed_engine.expire_due() == [back]
        assert back.history[-1].at == T0 + 600

    def test_real_payload(self):
        """A real API payload loads at version 0, moves, and round-trips through its document."""
        engine = RunEngine(clock=ManualClock(T0 + 10**6))
        run = engine.load(load_payload(PAYLOAD_ORDER[1]))  # in_progress
        assert (run.version, run.history) == (0, ())
        run.cancel()
        back = restore(dump(run), verify=True)
        assert to_dict(back) == to_dict(run)
        assert back.version == 1
        assert runlife.initial_wire(back) == load_payload(PAYLOAD_ORDER[1])


class TestExpectVersion:
    def test_current(self):
        """A run or document still at the version read passes."""
        engine, clock = _engine()
        run = run_in(RunStatus.IN_PROGRESS, engine, clock)
        expect_version(run, 1)
        expect_version(dump(run), 1)

    def test_moved_since(self):
        """A run moved since it was read raises Conflict, naming both versions."""
        engine, clock = _engine()
        run = run_in(RunStatus.IN_PROGRESS, engine, clock)
        run.cancel()
        with pytest.raises(Conflict) as info:
            expect_version(dump(run), 1)
        assert str(info.value) == (
            "run run_abc is at version 2, not 1: another writer moved it since it was read; "
            "read it again and decide"
        )
        with pytest.raises(Conflict, match="at version 2, not 0"):
            expect_version(run, 0)

    @pytest.mark.parametrize("stored", [None, {}, {"version": "1"}, [1]], ids=repr)
    def test_not_a_document(self, stored: Any):
        """Anything else is a TypeError."""
        with pytest.raises(TypeError, match="expects a run or a dump"):
            expect_version(stored, 1)


class TestCompareAndSetInSQLite:
    """The pattern of the guide, raced: many workers, one row, no lost update."""

    def test_no_lost_update(self):
        """Workers that read the same version: exactly one write wins, the others see Conflict."""
        engine, clock = _engine()
        db = sqlite3.connect(":memory:")
        db.execute("CREATE TABLE runs (id TEXT PRIMARY KEY, version INT, doc TEXT)")
        run = run_in(RunStatus.IN_PROGRESS, engine, clock)
        with db:
            db.execute("INSERT INTO runs VALUES (?, ?, ?)", (run.id, run.version, _text(run)))

        def read() -> Run:
            (doc,) = db.execute("SELECT doc FROM runs").fetchone()
            return engine.restore(json.loads(doc))

        def write(run: Run, read_version: int) -> bool:
            with db:
                cur = db.execute(
                    "UPDATE runs SET version = ?, doc = ? WHERE id = ? AND version = ?",
                    (run.version, _text(run), run.id, read_version),
                )
            return cur.rowcount == 1

        workers = [read() for _ in range(5)]
        versions = [w.version for w in workers]
        triggers = ["complete", "fail", "cancel", "mark_incomplete", "require_action"]
        for worker, trigger in zip(workers, triggers, strict=True):
            getattr(worker, trigger)(**VALID_ARGS[trigger])
        wins = [write(w, v) for w, v in zip(workers, versions, strict=True)]
        assert wins == [True, False, False, False, False]
        (doc,) = db.execute("SELECT doc FROM runs").fetchone()
        stored = json.loads(doc)
        assert stored["run"]["status"] == "completed"
        for loser, read_version in zip(workers[1:], versions[1:], strict=True):
            with pytest.raises(Conflict):
                expect_version(stored, read_version)
            assert loser.version == stored["version"]  # same count, different move: lost
        assert restore(stored, verify=True).history[-1].trigger == "complete"


def _engine(**options: Any) -> tuple[RunEngine, ManualClock]:
    clock = ManualClock(T0)
    return RunEngine(clock=clock, **options), clock


def _text(run: Run) -> str:
    return json.dumps(dump(run))
