"""Threads: many threads moving the same runs; every move atomic, exactly one terminal winner.

The interpreter is made to switch threads every microsecond (``sys.setswitchinterval``) so
that moves and reads interleave as much as CPython allows. Every test is bounded in time:
threads are joined with a timeout and a test fails, not hangs, when one is stuck.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import runlife
from runlife import (
    GuardRejected,
    IllegalTransition,
    ManualClock,
    Run,
    RunEngine,
    RunEvent,
    RunStatus,
    to_dict,
)
from tests.support import T0, VALID_ARGS, new_run, run_in

JOIN_TIMEOUT = 60.0


@pytest.fixture(autouse=True)
def _switch_often() -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def run_threads(targets: list[Callable[[], None]]) -> None:
    """Start all *targets* at once (a barrier), join them; re-raise the first error."""
    barrier = threading.Barrier(len(targets))
    errors: list[BaseException] = []

    def wrap(target: Callable[[], None]) -> Callable[[], None]:
        def go() -> None:
            try:
                barrier.wait(timeout=JOIN_TIMEOUT)
                target()
            except BaseException as exc:
                errors.append(exc)

        return go

    threads = [threading.Thread(target=wrap(t), daemon=True) for t in targets]
    for t in threads:
        t.start()
    deadline = time.monotonic() + JOIN_TIMEOUT
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "a thread is stuck (deadlock?)"
    if errors:
        raise errors[0]


def assert_sound(run: Run) -> None:
    """The run passes every check, and its history chains up to its status and version."""
    assert runlife.check(run) == []
    moves = run.history
    assert run.version == len(moves)
    assert all(a.dest == b.source for a, b in itertools.pairwise(moves))
    assert (moves[-1].dest if moves else "queued") == run.status


def engine_with_events() -> tuple[RunEngine, list[RunEvent]]:
    engine = RunEngine(clock=ManualClock(T0), index_deadlines=True)
    events: list[RunEvent] = []
    engine.subscribe(events.append)  # list.append is atomic
    return engine, events


class TestRacingTerminalMoves:
    def test_complete_against_cancel(self):
        """complete races cancel -> finish_cancel: exactly one run end, the loser gets IllegalTransition."""
        engine, events = engine_with_events()
        clock = engine.clock
        assert isinstance(clock, ManualClock)
        runs = [run_in(RunStatus.IN_PROGRESS, engine, clock, id=f"run_{i}") for i in range(300)]
        wins: Counter[str] = Counter()
        illegal: Counter[str] = Counter()
        lock = threading.Lock()

        def completer(order: list[Run]) -> Callable[[], None]:
            def go() -> None:
                for run in order:
                    try:
                        run.complete(VALID_ARGS["complete"]["usage"])
                    except IllegalTransition:
                        with lock:
                            illegal[run.id] += 1
                    else:
                        with lock:
                            wins[run.id] += 1

            return go

        def canceller(order: list[Run]) -> Callable[[], None]:
            def go() -> None:
                for run in order:
                    try:
                        run.cancel()
                        run.finish_cancel()
                    except IllegalTransition:
                        with lock:
                            illegal[run.id] += 1
                    else:
                        with lock:
                            wins[run.id] += 1

            return go

        rng = random.Random(5)
        targets = []
        for make in (completer, canceller, completer, canceller):
            order = runs[:]
            rng.shuffle(order)
            targets.append(make(order))
        run_threads(targets)
        for run in runs:
            assert wins[run.id] == 1, run.id
            assert illegal[run.id] == 3, run.id
            assert run.status in {"completed", "cancelled"}
            assert sum(m.dest in {"completed", "cancelled"} for m in run.history) == 1
            assert_sound(run)
        outcomes = Counter(run.status.value for run in runs)
        assert set(outcomes) <= {"completed", "cancelled"}
        # One event per successful move, each numbered by its run's version.
        moved = [e for e in events if e.trigger is not None]
        assert len(moved) == sum(run.version for run in runs)
        for run in runs:
            mine = sorted((e for e in moved if e.run_id == run.id), key=lambda e: e.version)
            assert [e.version for e in mine] == list(range(1, run.version + 1))
            assert [(e.trigger, e.source, e.dest) for e in mine] == [
                (m.trigger, m.source, m.dest) for m in run.history
            ]

    def test_expire_due_against_complete(self):
        """A sweeper's expire_due races complete: each run ends once, either way."""
        engine, _ = engine_with_events()
        clock = engine.clock
        assert isinstance(clock, ManualClock)
        runs = [run_in(RunStatus.IN_PROGRESS, engine, clock, id=f"run_{i}") for i in range(400)]
        clock.advance(engine.ttl)
        completed: list[str] = []
        expired: list[str] = []
        lock = threading.Lock()

        def complete() -> None:
            for run in runs:
                try:
                    run.complete()
                except IllegalTransition:
                    continue
                with lock:
                    completed.append(run.id)

        def sweep() -> None:
            for _ in range(50):
                done = engine.expire_due(limit=20)
                with lock:
                    expired.extend(r.id for r in done)

        run_threads([complete, sweep, sweep])
        expired.extend(r.id for r in engine.expire_due())
        assert sorted(completed + expired) == sorted(r.id for r in runs)
        for run in runs:
            assert run.status == ("completed" if run.id in completed else "expired")
            assert_sound(run)
        assert engine.next_deadline() is None


class TestNoHalfMovedRun:
    def test_readers_never_see_a_half_move(self):
        """Readers taking to_dict while writers move the runs always see a sound run."""
        engine, _ = engine_with_events()
        clock = engine.clock
        assert isinstance(clock, ManualClock)
        runs = [new_run(engine, id=f"run_{i}") for i in range(40)]
        stop = threading.Event()
        seen: list[int] = [0]
        bad: list[tuple[dict[str, Any], list[Any]]] = []

        def writer(seed: int) -> Callable[[], None]:
            def go() -> None:
                rng = random.Random(seed)
                for _ in range(4000):
                    run = rng.choice(runs)
                    trigger = rng.choice(runlife.TRIGGERS)
                    with contextlib.suppress(IllegalTransition, GuardRejected):
                        getattr(run, trigger)(**VALID_ARGS[trigger])
                stop.set()

            return go

        def reader() -> None:
            rng = random.Random(99)
            while not stop.is_set():
                snapshot = to_dict(rng.choice(runs))
                findings = runlife.check(snapshot)
                seen[0] += 1
                if findings:
                    bad.append((snapshot, findings))

        run_threads([writer(1), writer(2), writer(3), reader, reader])
        assert bad == []
        assert seen[0] > 100
        for run in runs:
            assert_sound(run)

    def test_many_threads_many_runs(self):
        """Eight threads firing random triggers at 200 runs: only table/guard refusals, every run sound."""
        engine, events = engine_with_events()
        clock = engine.clock
        assert isinstance(clock, ManualClock)
        runs = [new_run(engine, id=f"run_{i}") for i in range(200)]
        successes = Counter[str]()
        lock = threading.Lock()

        def worker(seed: int) -> Callable[[], None]:
            def go() -> None:
                rng = random.Random(seed)
                for i in range(3000):
                    if seed == 0 and i % 500 == 0:
                        clock.advance(200)  # makes some expire() calls legal
                    run = rng.choice(runs)
                    trigger = rng.choice(runlife.TRIGGERS)
                    try:
                        getattr(run, trigger)(**VALID_ARGS[trigger])
                    except (IllegalTransition, GuardRejected):
                        continue
                    with lock:
                        successes[run.id] += 1

            return go

        run_threads([worker(seed) for seed in range(8)])
        for run in runs:
            assert_sound(run)
            assert successes[run.id] == run.version
        assert sum(e.trigger is not None for e in events) == sum(successes.values())


class TestEngineUnderThreads:
    def test_one_active_run_per_thread(self):
        """Threads creating runs on one thread id: at any time at most one is active."""
        engine = RunEngine(clock=ManualClock(T0), one_active_run_per_thread=True)
        made: list[Run] = []
        busy: list[runlife.ThreadBusy] = []
        lock = threading.Lock()

        def creator() -> None:
            for _ in range(200):
                try:
                    run = engine.create(assistant_id="a", thread_id="thread_1", model="m")
                except runlife.ThreadBusy as exc:
                    with lock:
                        busy.append(exc)
                    holder = engine.active_run("thread_1")
                    if holder is not None:
                        with contextlib.suppress(IllegalTransition):
                            holder.fail("server_error", "make room")
                    continue
                with lock:
                    made.append(run)

        run_threads([creator, creator, creator, creator])
        active = [r for r in made if r.status.is_active]
        assert len(active) <= 1
        assert busy
        assert engine.active_run("thread_1") in [*active, None]
        for run in made:
            assert_sound(run)

    def test_subscribe_while_moving(self):
        """Subscribing and unsubscribing while other threads move runs loses nothing else."""
        engine, events = engine_with_events()
        runs = [new_run(engine, id=f"run_{i}") for i in range(100)]

        def churn() -> None:
            for _ in range(300):
                engine.subscribe(lambda e: None)()

        def mover() -> None:
            for run in runs:
                run.start()

        before = len(events)
        run_threads([churn, mover, churn])
        assert len(events) - before == 100
