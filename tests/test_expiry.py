"""Expiry at scale (the deadline index) and the one-active-run-per-thread rule."""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

import pytest

import runlife
from runlife import (
    ManualClock,
    Run,
    RunEngine,
    RunlifeError,
    RunStatus,
    ThreadBusy,
    dump,
    to_dict,
)
from tests.support import T0, USAGE, fire, new_run, run_in


def indexed(**options: Any) -> tuple[RunEngine, ManualClock]:
    clock = ManualClock(T0)
    return RunEngine(clock=clock, index_deadlines=True, **options), clock


def make(engine: RunEngine, i: int, **fields: Any) -> Run:
    return new_run(engine, id=f"run_{i}", thread_id=f"thread_{i}", **fields)


class TestExpireDue:
    def test_exactly_the_due_runs(self):
        """expire_due expires the runs whose expires_at the clock reached, and no other."""
        engine, clock = indexed(ttl=100)
        runs = []
        for i in range(50):
            runs.append(make(engine, i))
            clock.advance(1)  # deadlines T0+100 ... T0+149
        clock.set(T0 + 120)
        expired = engine.expire_due()
        assert sorted(r.id for r in expired) == sorted(f"run_{i}" for i in range(21))
        for run in runs:
            due = run.created_at + 100 <= T0 + 120
            assert run.status == ("expired" if due else "queued")
            assert runlife.check(run) == []
        assert engine.expire_due() == []
        assert engine.next_deadline() == T0 + 121

    def test_every_active_status(self):
        """Runs expire from every active status; required_action is cleared."""
        engine, clock = indexed()
        runs = [run_in(s, engine, clock, id=f"run_{s}", thread_id=str(s)) for s in runlife.ACTIVE]
        clock.advance(600)
        expired = engine.expire_due()
        assert {r.id for r in expired} == {r.id for r in runs}
        assert all(r.status == "expired" and r.required_action is None for r in runs)
        assert all(r.history[-1].trigger == "expire" for r in runs)

    def test_earliest_first_in_batches(self):
        """limit bounds a batch; the earliest deadlines go first, the rest wait for the next call."""
        engine, clock = indexed(ttl=10)
        for i in range(30):
            make(engine, i)
            if i % 10 == 9:
                clock.advance(1)  # three seconds of deadlines, ten runs each
        clock.advance(100)
        first = engine.expire_due(limit=15)
        assert len(first) == 15
        assert {r.expires_at for r in first} == {None}
        assert sorted(int(r.id.split("_")[1]) for r in first)[:10] == list(range(10))
        assert len(engine.expire_due(limit=15)) == 15
        assert engine.expire_due(limit=15) == []
        assert engine.next_deadline() is None

    def test_only_due_runs_are_touched(self, monkeypatch):
        """Among many live runs, only the due ones are moved (the rest are never looked at)."""
        engine, clock = indexed(ttl=1000, record_history=False)
        for i in range(3000):
            make(engine, i)
            if i % 300 == 299:
                clock.advance(100)
        fired: list[str] = []
        original = RunEngine.fire

        def counting(self: RunEngine, run: Run, trigger: str, *args: Any, **kw: Any) -> Any:
            fired.append(run.id)
            return original(self, run, trigger, *args, **kw)

        monkeypatch.setattr(RunEngine, "fire", counting)
        clock.set(T0 + 1000)
        expired = engine.expire_due()
        assert len(expired) == len(fired) == 300

    def test_needs_the_index(self):
        """Without index_deadlines, expire_due says what to do."""
        engine = RunEngine(clock=ManualClock(T0))
        with pytest.raises(RunlifeError) as info:
            engine.expire_due()
        assert str(info.value) == (
            "expire_due() needs an index of deadlines: RunEngine(index_deadlines=True)"
        )
        assert engine.next_deadline() is None

    @pytest.mark.parametrize("limit", [0, -1, 1.5, "3", True])
    def test_bad_limit(self, limit: Any):
        """limit is an int >= 1 or None."""
        engine, _ = indexed()
        with pytest.raises(ValueError, match="limit: expected an int >= 1 or None"):
            engine.expire_due(limit=limit)

    def test_clock_going_back_keeps_the_run(self):
        """A run that the guard finds not due (the clock went back) stays indexed and expires later."""
        times = iter([T0, T0 + 600, T0 + 5, T0 + 700, T0 + 700])
        engine = RunEngine(clock=lambda: next(times), index_deadlines=True)
        run = new_run(engine)  # created at T0, due at T0 + 600
        assert engine.expire_due() == []  # cut-off T0+600; the guard then reads T0+5
        assert run.status == "queued"
        assert engine.next_deadline() == T0 + 600
        assert engine.expire_due() == [run]  # cut-off T0+700, guard T0+700
        assert run.status == "expired"

    def test_a_failing_clock_loses_nothing(self):
        """If a move's clock raises, the runs not yet expired stay indexed."""
        state: dict[str, int | None] = {"now": T0, "fail_after": None}
        calls = {"n": 0}

        def clock() -> int:
            calls["n"] += 1
            fail_after = state["fail_after"]
            if fail_after is not None and calls["n"] > fail_after:
                raise OSError("clock down")
            return T0 if state["now"] is None else state["now"]

        engine = RunEngine(clock=clock, index_deadlines=True)
        runs = [make(engine, i) for i in range(5)]
        state["now"] = T0 + 600
        state["fail_after"] = calls["n"] + 3  # the cut-off, two moves, then failure
        with pytest.raises(OSError, match="clock down"):
            engine.expire_due()
        assert sum(r.status == "expired" for r in runs) == 2
        state["fail_after"] = None
        assert len(engine.expire_due()) == 3
        assert all(r.status == "expired" for r in runs)


class TestForgetting:
    def test_terminal_moves_leave_the_index(self):
        """Runs that end by other moves are forgotten at once: nothing is left to expire."""
        engine, clock = indexed()
        for i, status in enumerate(runlife.TERMINAL - {RunStatus.EXPIRED}):
            for j in range(20):
                run_in(status, engine, clock, id=f"run_{i}_{j}", thread_id=f"t_{i}_{j}")
        assert engine.next_deadline() is None
        assert len(engine._live) == 0  # type: ignore[arg-type] # white-box: the index is empty
        clock.advance(10_000)
        assert engine.expire_due() == []

    def test_memory_does_not_grow_with_finished_runs(self):
        """Creating and finishing runs, round after round, leaves the index's memory flat."""
        engine, clock = indexed(record_history=False, one_active_run_per_thread=True)

        def round_(k: int) -> None:
            runs = [make(engine, k * 10_000 + i) for i in range(500)]
            clock.advance(1)
            for i, run in enumerate(runs):
                run.start()
                if i % 2:
                    run.complete(USAGE)
                else:
                    run.fail("server_error", "x")

        round_(0)  # warm up (interned strings, dict sizes)
        gc.collect()
        tracemalloc.start()
        try:
            round_(1)
            gc.collect()
            first = tracemalloc.get_traced_memory()[0]
            for k in range(2, 6):
                round_(k)
            gc.collect()
            last = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        assert last - first < 20_000  # 2,000 more finished runs: under 10 B each (a run is ~1 KB)
        assert engine.next_deadline() is None

    def test_loaded_runs_join_and_leave(self):
        """Active runs loaded or restored join the index; terminal ones do not."""
        source, clock = indexed()
        active = dump(run_in(RunStatus.REQUIRES_ACTION, source, clock, id="run_a", thread_id="a"))
        done = to_dict(run_in(RunStatus.COMPLETED, source, clock, id="run_b", thread_id="b"))
        engine, clock2 = indexed()
        clock2.set(clock())
        run_a = engine.restore(active)
        engine.load(done)
        run_c = engine.load({**active["run"], "id": "run_c", "thread_id": "c"})
        assert engine.next_deadline() == run_a.expires_at
        clock2.advance(600)
        assert sorted(r.id for r in engine.expire_due()) == ["run_a", "run_c"]
        assert run_c.version == 1
        assert run_a.version == 3

    def test_from_dict_with_engine_is_not_indexed(self):
        """from_dict(engine=...) binds but does not index: that is what RunEngine.load is for."""
        engine, clock = indexed()
        runlife.from_dict(to_dict(new_run(RunEngine(clock=clock))), engine=engine)
        assert engine.next_deadline() is None


class TestOneActiveRunPerThread:
    def test_second_active_run_refused(self):
        """A second active run on a thread is refused with both runs and the thread named."""
        engine = RunEngine(clock=ManualClock(T0), one_active_run_per_thread=True)
        first = new_run(engine, id="run_1")
        first.start()
        with pytest.raises(ThreadBusy) as info:
            new_run(engine, id="run_2")
        assert str(info.value) == (
            "cannot create run run_2: thread thread_1 already has an active run: run run_1 "
            "(in_progress) is active on it; wait for it to end or cancel it first"
        )
        err = info.value
        assert (err.thread_id, err.run_id, err.status, err.refused_id) == (
            "thread_1",
            "run_1",
            "in_progress",
            "run_2",
        )
        assert isinstance(err, RunlifeError)
        assert engine.active_run("thread_1") is first
        new_run(engine, id="run_3", thread_id="thread_2")  # other threads are free

    def test_free_again_after_the_end(self):
        """Once the active run ends, the thread takes a new run."""
        engine = RunEngine(clock=ManualClock(T0), one_active_run_per_thread=True)
        first = new_run(engine, id="run_1")
        first.cancel()
        with pytest.raises(ThreadBusy):
            new_run(engine, id="run_2")  # cancelling is still active
        first.finish_cancel()
        second = new_run(engine, id="run_2")
        assert engine.active_run("thread_1") is second

    def test_no_event_for_a_refused_run(self):
        """A refused create sends no event."""
        engine = RunEngine(clock=ManualClock(T0), one_active_run_per_thread=True)
        heard: list[str] = []
        engine.subscribe(lambda e: heard.append(e.run_id))
        new_run(engine, id="run_1")
        with pytest.raises(ThreadBusy):
            new_run(engine, id="run_2")
        assert heard == ["run_1"]

    def test_load(self):
        """Loading an active run onto a busy thread is refused; the same run again replaces itself."""
        engine = RunEngine(clock=ManualClock(T0), one_active_run_per_thread=True)
        first = new_run(engine, id="run_1")
        other = to_dict(new_run(RunEngine(clock=ManualClock(T0)), id="run_2"))
        with pytest.raises(ThreadBusy, match=r"^cannot load run run_2: thread thread_1"):
            engine.load(other)
        fresh = engine.load(to_dict(first))  # run_1 read back from storage
        assert engine.active_run("thread_1") is fresh
        first.fail("server_error", "stale copy")  # the stale copy does not free the thread
        assert engine.active_run("thread_1") is fresh
        fresh.fail("server_error", "x")
        assert engine.active_run("thread_1") is None
        assert engine.load(other).id == "run_2"
        engine.load({**other, "id": "run_9", "status": "completed", "expires_at": None})

    def test_off_by_default(self):
        """Without the option, a thread may hold many active runs."""
        engine = RunEngine(clock=ManualClock(T0))
        new_run(engine, id="run_1")
        new_run(engine, id="run_2")
        assert engine.active_run("thread_1") is None

    def test_with_the_index(self):
        """Both indexes work together and forget the same runs."""
        engine, clock = indexed(one_active_run_per_thread=True)
        run = new_run(engine, id="run_1")
        clock.advance(600)
        assert engine.expire_due() == [run]
        assert engine.active_run("thread_1") is None
        fire(new_run(engine, id="run_2"), "start")
