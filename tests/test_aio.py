"""asyncio: awaitable triggers and async listeners, atomic under gather and cancellation."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

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
from runlife.aio import AsyncRunEngine
from tests.support import CALL, T0, USAGE, VALID_ARGS, new_run, step_ids

T = TypeVar("T")
OUTPUTS = VALID_ARGS["submit_tool_outputs"]["tool_outputs"]
FIELDS: dict[str, Any] = {
    "assistant_id": "asst_1",
    "thread_id": "thread_1",
    "model": "gpt-4o",
    "tools": [
        {"type": "function", "function": {"name": "get_weather"}},
    ],
    "max_completion_tokens": 256,
}


def run_async(make: Callable[[], Awaitable[T]], timeout: float = 60) -> T:
    """Run a coroutine to completion under a deadline: a stuck test fails, it never hangs."""

    async def bounded() -> T:
        return await asyncio.wait_for(make(), timeout)

    return asyncio.run(bounded())


def new_async(**options: Any) -> tuple[AsyncRunEngine, ManualClock]:
    clock = ManualClock(T0)
    return AsyncRunEngine(RunEngine(clock=clock, step_id_factory=step_ids(), **options)), clock


def assert_sound(run: Run) -> None:
    assert runlife.check(run) == []
    moves = run.history
    assert run.version == len(moves)
    assert all(a.dest == b.source for a, b in itertools.pairwise(moves))


class TestBasics:
    def test_same_moves_as_sync(self):
        """Each awaitable trigger makes the move its Run method makes, with the same history."""
        engine, clock = new_async()

        async def life() -> Run:
            run = await engine.create(id="run_a", **FIELDS)
            for step in (
                engine.start(run),
                engine.require_action(run, [CALL]),
                engine.submit_tool_outputs(run, OUTPUTS),
                engine.start(run),
                engine.cancel(run),
                engine.complete(run, USAGE),
            ):
                clock.advance(1)
                await step
            return run

        run = run_async(life)
        sync_engine = RunEngine(clock=ManualClock(T0), step_id_factory=step_ids())
        twin = sync_engine.create(id="run_a", **FIELDS)
        clock2 = sync_engine.clock
        assert isinstance(clock2, ManualClock)
        for trigger, args in (
            ("start", {}),
            ("require_action", {"tool_calls": [CALL]}),
            ("submit_tool_outputs", {"tool_outputs": OUTPUTS}),
            ("start", {}),
            ("cancel", {}),
            ("complete", {"usage": USAGE}),
        ):
            clock2.advance(1)
            getattr(twin, trigger)(**args)
        assert to_dict(run) == to_dict(twin)
        assert run.history == twin.history

    def test_every_trigger(self):
        """fail, mark_incomplete, finish_cancel and expire are awaitable too."""
        engine, clock = new_async()

        async def ends() -> list[str]:
            runs = [await engine.create(id=f"run_{i}", **FIELDS) for i in range(4)]
            await engine.fail(runs[0], "server_error", "boom")
            await engine.start(runs[1])
            await engine.mark_incomplete(runs[1], "max_completion_tokens", USAGE)
            await engine.cancel(runs[2])
            await engine.finish_cancel(runs[2])
            clock.advance(600)
            await engine.expire(runs[3])
            return [r.status.value for r in runs]

        assert run_async(ends) == ["failed", "incomplete", "cancelled", "expired"]

    def test_errors_are_the_sync_errors(self):
        """Refused moves raise IllegalTransition / GuardRejected, leaving the run as it was."""
        engine, _ = new_async()

        async def refuse() -> Run:
            run = await engine.create(id="run_a", **FIELDS)
            before = to_dict(run)
            with pytest.raises(IllegalTransition, match="cannot complete"):
                await engine.complete(run)
            await engine.start(run)
            with pytest.raises(GuardRejected, match="get_time"):
                await engine.require_action(
                    run,
                    [
                        {
                            "id": "c",
                            "type": "function",
                            "function": {"name": "get_time", "arguments": ""},
                        }
                    ],
                )
            assert before["status"] == "queued"
            return run

        run = run_async(refuse)
        assert run.status == "in_progress"
        assert run.version == 1

    def test_run_of_another_engine(self):
        """A run bound to another engine is refused with a clear message."""
        engine, _ = new_async()
        other = new_run(RunEngine(clock=ManualClock(T0)))

        async def go() -> None:
            await engine.start(other)

        with pytest.raises(ValueError, match="run run_abc is bound to another engine"):
            run_async(go)
        assert other.status == "queued"

    def test_default_engine(self):
        """Without an engine, AsyncRunEngine makes its own RunEngine."""
        engine = AsyncRunEngine()
        assert isinstance(engine.engine, RunEngine)
        with pytest.raises(TypeError, match=r"expected a runlife\.RunEngine"):
            AsyncRunEngine(object())  # type: ignore[arg-type]


class TestListeners:
    def test_async_and_sync_listeners(self):
        """Async listeners are awaited after the move; sync ones are called as always."""
        engine, _ = new_async()
        heard: list[str] = []
        sync_heard: list[str] = []
        engine.engine.subscribe(lambda e: sync_heard.append(e.event))

        async def listener(event: RunEvent) -> None:
            await asyncio.sleep(0)
            heard.append(f"{event.event}@{event.version}")

        engine.subscribe(listener)
        engine.subscribe(lambda e: heard.append("plain " + e.event))

        async def go() -> None:
            run = await engine.create(id="run_a", **FIELDS)
            assert heard == ["thread.run.created@0", "plain thread.run.created"]
            await engine.start(run)

        run_async(go)
        assert heard == [
            "thread.run.created@0",
            "plain thread.run.created",
            "thread.run.in_progress@1",
            "plain thread.run.in_progress",
        ]
        assert sync_heard == ["thread.run.created", "thread.run.in_progress"]

    def test_listener_errors_are_isolated(self, caplog):
        """An async listener's exception is logged and handed to on_listener_error, never raised."""
        seen: list[tuple[str, str]] = []
        engine = AsyncRunEngine(
            RunEngine(
                clock=ManualClock(T0),
                on_listener_error=lambda e, x: seen.append((e.event, repr(x))),
            )
        )
        heard: list[str] = []

        async def bad(event: RunEvent) -> None:
            await asyncio.sleep(0)
            raise RuntimeError("down")

        async def good(event: RunEvent) -> None:
            heard.append(event.event)

        engine.subscribe(bad)
        engine.subscribe(good)

        async def go() -> Run:
            run = await engine.create(id="run_a", **FIELDS)
            await engine.start(run)
            return run

        with caplog.at_level(logging.ERROR, logger="runlife"):
            run = run_async(go)
        assert run.status == "in_progress"
        assert heard == ["thread.run.created", "thread.run.in_progress"]
        assert seen == [
            ("thread.run.created", "RuntimeError('down')"),
            ("thread.run.in_progress", "RuntimeError('down')"),
        ]
        assert "thread.run.in_progress of run run_a" in caplog.text

    def test_unsubscribe(self):
        """An unsubscribed async listener hears nothing more."""
        engine, _ = new_async()
        heard: list[str] = []

        async def listener(event: RunEvent) -> None:
            heard.append(event.event)

        unsubscribe = engine.subscribe(listener)

        async def go() -> None:
            run = await engine.create(id="run_a", **FIELDS)
            unsubscribe()
            unsubscribe()
            await engine.start(run)

        run_async(go)
        assert heard == ["thread.run.created"]
        with pytest.raises(TypeError, match="expected a callable"):
            engine.subscribe("nope")  # type: ignore[arg-type]

    def test_no_listener_no_event(self, monkeypatch):
        """With no listener at all, no event is built."""
        import runlife._engine as eng

        def boom(*_: Any) -> None:
            raise AssertionError("an event was built")

        monkeypatch.setattr(eng, "RunEvent", boom)
        engine, _ = new_async()

        async def go() -> Run:
            run = await engine.create(id="run_a", **FIELDS)
            await engine.start(run)
            return run

        assert run_async(go).status == "in_progress"


class TestGather:
    def test_racing_terminal_moves(self):
        """Many coroutines race complete against cancel+finish_cancel on one run: one end, no half move."""
        engine, _ = new_async()
        events: list[RunEvent] = []

        async def slow_listener(event: RunEvent) -> None:
            await asyncio.sleep(0)
            events.append(event)

        engine.subscribe(slow_listener)
        outcomes: Counter[str] = Counter()

        async def complete(run: Run) -> None:
            try:
                await engine.complete(run, USAGE)
            except IllegalTransition:
                outcomes["illegal"] += 1
            else:
                outcomes["completed"] += 1

        async def cancel(run: Run) -> None:
            try:
                await engine.cancel(run)
                await asyncio.sleep(0)
                await engine.finish_cancel(run)
            except IllegalTransition:
                outcomes["illegal"] += 1
            else:
                outcomes["cancelled"] += 1

        async def race() -> list[Run]:
            runs = []
            for i in range(30):
                run = await engine.create(id=f"run_{i}", **FIELDS)
                await engine.start(run)
                runs.append(run)
            calls = [f(run) for run in runs for f in (complete, cancel, complete, cancel)]
            await asyncio.gather(*calls)
            return runs

        runs = run_async(race)
        assert outcomes["completed"] + outcomes["cancelled"] == len(runs)
        assert outcomes["illegal"] == 3 * len(runs)
        for run in runs:
            assert run.status in {"completed", "cancelled"}
            assert_sound(run)
            mine = [e for e in events if e.run_id == run.id]
            assert [e.version for e in mine] == list(range(run.version + 1))  # in order
            assert [e.data["status"] for e in mine[1:]] == [m.dest for m in run.history]

    def test_many_coroutines_one_run(self):
        """200 coroutines firing every trigger at one run: each move whole, events in order."""
        engine, clock = new_async()
        events: list[RunEvent] = []

        async def listener(event: RunEvent) -> None:
            await asyncio.sleep(0)
            assert runlife.check(event.data) == []
            events.append(event)

        engine.subscribe(listener)

        async def one(run: Run, trigger: str, i: int) -> str:
            await asyncio.sleep(0)
            if i % 50 == 0:
                clock.advance(150)
            try:
                await getattr(engine, trigger)(run, **VALID_ARGS[trigger])
            except (IllegalTransition, GuardRejected):
                return "refused"
            return "moved"

        async def storm() -> tuple[Run, list[str]]:
            run = await engine.create(id="run_a", **FIELDS)
            triggers = list(itertools.islice(itertools.cycle(runlife.TRIGGERS), 200))
            results = await asyncio.gather(*(one(run, t, i) for i, t in enumerate(triggers)))
            return run, results

        run, results = run_async(storm)
        assert results.count("moved") == run.version
        assert_sound(run)
        assert [e.version for e in events] == list(range(run.version + 1))
        assert events[-1].data == to_dict(run)


class TestCancellation:
    def test_cancelled_caller_never_half_moves(self):
        """A caller cancelled while its listeners run has made its whole move; listeners still hear it."""
        engine, _ = new_async()
        heard: list[str] = []
        gates: dict[str, asyncio.Event] = {}

        async def slow(event: RunEvent) -> None:
            await gates["go"].wait()
            heard.append(event.event)
            gates["heard"].set()

        async def go() -> tuple[Run, bool]:
            gates["go"], gates["heard"] = asyncio.Event(), asyncio.Event()
            run = await engine.create(id="run_a", **FIELDS)  # no listener yet
            engine.subscribe(slow)
            caller = asyncio.create_task(engine.start(run))
            await asyncio.sleep(0.01)
            assert run.status == "in_progress"  # moved before the first await
            caller.cancel()
            with pytest.raises(asyncio.CancelledError):
                await caller
            gates["go"].set()
            await gates["heard"].wait()  # the delivery went on without its caller
            return run, caller.cancelled()

        run, cancelled = run_async(go)
        assert cancelled
        assert run.status == "in_progress"
        assert run.version == 1
        assert heard == ["thread.run.in_progress"]
        assert_sound(run)

    def test_cancelled_before_running_moves_nothing(self):
        """A caller cancelled before it runs makes no move at all."""
        engine, _ = new_async()

        async def go() -> Run:
            run = await engine.create(id="run_a", **FIELDS)
            caller = asyncio.create_task(engine.start(run))
            caller.cancel()
            with pytest.raises(asyncio.CancelledError):
                await caller
            return run

        run = run_async(go)
        assert run.status == "queued"
        assert run.version == 0

    def test_cancelling_one_caller_spares_the_others(self):
        """Cancelling some callers of a gather leaves the others running and their moves whole."""
        engine, _ = new_async()
        heard: list[int] = []
        all_heard: dict[str, asyncio.Event] = {}

        async def slow(event: RunEvent) -> None:
            await asyncio.sleep(0.001)
            heard.append(event.version)
            if heard.count(1) == 40:
                all_heard["in_progress"].set()

        engine.subscribe(slow)

        async def go() -> tuple[list[Run], list[Any]]:
            all_heard["in_progress"] = asyncio.Event()
            runs = [await engine.create(id=f"run_{i}", **FIELDS) for i in range(40)]
            tasks = [asyncio.create_task(engine.start(r)) for r in runs]
            await asyncio.sleep(0)
            for task in tasks[::3]:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            await all_heard["in_progress"].wait()  # shielded deliveries go on
            return runs, results

        runs, results = run_async(go)
        cancelled = [r for r in results if isinstance(r, asyncio.CancelledError)]
        assert 0 < len(cancelled) <= 14
        assert all(r is None for r in results if not isinstance(r, BaseException))
        for run in runs:
            assert run.status == "in_progress"  # every move made, cancelled caller or not
            assert_sound(run)
        assert heard.count(1) == 40  # every in_progress event delivered

    def test_delivery_order_is_the_move_order(self):
        """Deliveries are chained: a slow listener never lets a later event overtake an earlier one."""
        engine, _ = new_async()
        heard: list[tuple[str, int]] = []

        async def listener(event: RunEvent) -> None:
            # Earlier events sleep longer: without the chain they would arrive last.
            await asyncio.sleep(0.02 if event.version == 1 else 0)
            heard.append((event.run_id, event.version))

        async def go() -> None:
            run = await engine.create(id="run_a", **FIELDS)
            engine.subscribe(listener)
            await asyncio.gather(engine.start(run), engine.cancel(run), engine.finish_cancel(run))

        run_async(go)
        assert heard == [("run_a", 1), ("run_a", 2), ("run_a", 3)]


class TestExpiry:
    def test_expire_due_tells_async_listeners(self):
        """AsyncRunEngine.expire_due expires the due runs and awaits their events."""
        engine, clock = new_async(index_deadlines=True)
        heard: list[str] = []

        async def listener(event: RunEvent) -> None:
            heard.append(f"{event.run_id}:{event.dest}:{event.source}")

        async def go() -> list[Run]:
            runs = [await engine.create(id=f"run_{i}", **FIELDS) for i in range(3)]
            await engine.start(runs[0])
            engine.subscribe(listener)
            clock.advance(600)
            return await engine.expire_due()

        expired = run_async(go)
        assert sorted(r.id for r in expired) == ["run_0", "run_1", "run_2"]
        assert sorted(heard) == [
            "run_0:expired:in_progress",
            "run_1:expired:queued",
            "run_2:expired:queued",
        ]
        assert all(r.status == RunStatus.EXPIRED for r in expired)


def test_module_example() -> None:
    """The example in runlife.aio's docstring runs as shown."""
    import doctest

    import runlife.aio

    result = doctest.testmod(runlife.aio, raise_on_error=False)
    assert result.attempted > 5
    assert result.failed == 0


class TestSteps:
    def test_step_moves_are_awaitable_and_heard(self) -> None:
        """open_message_step and complete_message_step, with their step events."""
        engine, _ = new_async()
        heard: list[RunEvent] = []

        async def hear(event: RunEvent) -> None:
            heard.append(event)

        engine.subscribe(hear)

        async def life() -> Run:
            run = await engine.create(id="run_s", **FIELDS)
            await engine.start(run)
            step = await engine.open_message_step(run, "msg_1")
            assert step.status.value == "in_progress"
            done = await engine.complete_message_step(run, USAGE)
            assert done.usage is not None
            await engine.complete(run, USAGE)
            return run

        run = run_async(life)
        assert [s.status.value for s in run.steps] == ["completed"]
        assert [e.trigger for e in heard][-3:] == [
            "open_message_step",
            "complete_message_step",
            "complete",
        ]
        assert [e.event for e in heard[-3].step_events] == [
            "thread.run.step.created",
            "thread.run.step.in_progress",
        ]
        assert_sound(run)
