"""asyncio: awaitable triggers and async listeners over a ``RunEngine``.

>>> import asyncio
>>> from runlife import ManualClock, RunEngine
>>> from runlife.aio import AsyncRunEngine
>>> engine = AsyncRunEngine(RunEngine(clock=ManualClock(1_700_000_000)))
>>> async def show(event):
...     print(event.event, event.version)
>>> _ = engine.subscribe(show)
>>> async def main():
...     run = await engine.create(id="run_1", assistant_id="a", thread_id="t", model="m")
...     await engine.start(run)
...     return run.status
>>> asyncio.run(main())
thread.run.created 0
thread.run.in_progress 1
<RunStatus.IN_PROGRESS: 'in_progress'>

Why it is built this way, and not on ``transitions.extensions.asyncio.AsyncMachine``:
a move is a few microseconds of synchronous CPU work (table, guards, stamps, one commit),
so there is nothing to await *inside* it. Each awaitable trigger makes its move at once,
synchronously, under the run's lock, before its first ``await``; only then does it await
the delivery of its event to the async listeners. Hence:

- **Atomic.** No coroutine can run in the middle of a move (there is no ``await`` in it),
  and other threads are kept out by the run's lock, exactly as for ``run.start()``. Of
  many coroutines racing on one run, each move is whole and exactly one of two racing
  terminal moves wins; the others raise ``IllegalTransition``.
- **Cancellation cannot half-move a run.** A caller cancelled before it runs has made no
  move; a caller cancelled later has made its whole move, and is cancelled while waiting
  for the listeners. The delivery runs in its own task, shielded from the caller, so the
  listeners still hear the event. ``AsyncMachine`` instead cancels the model's running
  tasks when a new transition starts: one caller could cancel another, or a listener.
- **Cancelling one caller never cancels another**: nothing here cancels anything.
- **Ordered.** Deliveries of one ``AsyncRunEngine`` are chained: each waits for the one
  before, so async listeners hear the events in the order the moves were made, one event
  at a time. A slow listener therefore slows the callers that await it (back-pressure);
  put a queue in front of work that may take long.

Sync listeners of the wrapped engine (``engine.subscribe``) are called synchronously
inside each move's call, as always. Async listeners hear the moves made through this
object only: a sync ``run.start()`` cannot await them.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from . import Run, RunEngine, RunEvent, RunStep, ToolCall, Usage

__all__ = ["AsyncListener", "AsyncRunEngine"]

#: A listener of an ``AsyncRunEngine``: a coroutine function (or a function returning an
#: awaitable, or a plain function) of the event.
AsyncListener = Callable[[RunEvent], Awaitable[object] | object]


class AsyncRunEngine:
    """Awaitable triggers and async listeners over *engine* (a new ``RunEngine()`` by default).

    ``await engine.start(run)`` makes the move at once and returns once the async listeners
    have heard it. A listener's exception is logged (logger ``runlife``) and handed to the
    wrapped engine's ``on_listener_error``, as for sync listeners; it never reaches the caller.

    Thread-safety and async-safety: the moves are those of the wrapped engine (atomic, one
    lock per run, held for microseconds and never across an ``await``), so runs may be moved
    from coroutines and threads at once. Use one event loop per ``AsyncRunEngine``.
    """

    __slots__ = ("_last", "_listeners", "_lock", "_tasks", "engine")

    def __init__(self, engine: RunEngine | None = None) -> None:
        if engine is not None and not isinstance(engine, RunEngine):
            raise TypeError(f"engine: expected a runlife.RunEngine, got {engine!r}")
        #: The wrapped engine: its clock, ttl, indexes and sync listeners apply.
        self.engine = engine if engine is not None else RunEngine()
        self._listeners: tuple[AsyncListener, ...] = ()
        self._lock = threading.Lock()
        self._last: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"AsyncRunEngine({self.engine!r})"

    def subscribe(self, listener: AsyncListener) -> Callable[[], None]:
        """Await *listener* with each event of a move made through this object; returns the unsubscribe."""
        if not callable(listener):
            raise TypeError(f"listener: expected a callable, got {listener!r}")
        # Copied on write: a delivery under way goes to the listeners it started with.
        with self._lock:
            self._listeners = (*self._listeners, listener)

        def unsubscribe() -> None:
            with self._lock:
                listeners = list(self._listeners)
                if listener in listeners:
                    listeners.remove(listener)
                self._listeners = tuple(listeners)

        return unsubscribe

    # --- delivery ---------------------------------------------------------------------------

    async def _deliver(
        self,
        event: RunEvent,
        listeners: tuple[AsyncListener, ...],
        before: asyncio.Task[None] | None,
    ) -> None:
        if (
            before is not None
            and not before.done()
            and before.get_loop() is asyncio.get_running_loop()
        ):
            await asyncio.wait([before])  # never raises, never cancels the one before
        for listener in listeners:
            try:
                result = listener(event)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:  # noqa: BLE001 - isolated by contract
                self.engine.report_listener_failure(listener, event, exc)

    async def _dispatch(self, events: list[RunEvent]) -> None:
        """Hand *events* (collected in a move) to the sync listeners now, then to the async ones."""
        self.engine.publish(events)
        listeners = self._listeners
        if listeners:
            for event in events:
                await self._chain(event, listeners)

    async def _chain(self, event: RunEvent, listeners: tuple[AsyncListener, ...]) -> None:
        # Created and chained synchronously, right after the move: the chain's order is the
        # moves' order. Shielded: cancelling the caller does not cancel the delivery.
        task = asyncio.get_running_loop().create_task(self._deliver(event, listeners, self._last))
        self._last = task
        self._tasks.add(task)  # a strong reference until done (the loop keeps weak ones)
        task.add_done_callback(self._tasks.discard)
        await asyncio.shield(task)

    def _check_bound(self, run: Run) -> None:
        if run.engine is not self.engine:
            raise ValueError(
                f"run {run.id} is bound to another engine; load it with this one "
                "(AsyncRunEngine.engine.load or .restore)"
            )

    async def fire(self, run: Run, trigger: str, args: Mapping[str, Any] | None = None) -> None:
        """``RunEngine.fire(run, trigger, args)``, then await the listeners.

        Raises:
            ValueError: *run* is bound to another engine.
        """
        self._check_bound(run)
        # The whole move, synchronously: no await before it is committed.
        if not self._listeners:
            self.engine.fire(run, trigger, args or {})  # the sync listeners hear it inline
            return
        with self.engine.collect() as events:
            self.engine.fire(run, trigger, args or {})
        await self._dispatch(events)

    async def fire_step(self, run: Run, op: str, args: Mapping[str, Any] | None = None) -> RunStep:
        """``RunEngine.fire_step(run, op, args)`` (a driver's step move), then await the listeners.

        Raises:
            ValueError: *run* is bound to another engine.
        """
        self._check_bound(run)
        if not self._listeners:
            return self.engine.fire_step(run, op, args or {})
        with self.engine.collect() as events:
            step = self.engine.fire_step(run, op, args or {})
        await self._dispatch(events)
        return step

    async def open_message_step(self, run: Run, message_id: str) -> RunStep:
        """``run.open_message_step(message_id)``, then await the listeners."""
        return await self.fire_step(run, "open_message_step", {"message_id": message_id})

    async def complete_message_step(
        self, run: Run, usage: Usage | Mapping[str, Any] | None = None
    ) -> RunStep:
        """``run.complete_message_step(usage)``, then await the listeners."""
        return await self.fire_step(run, "complete_message_step", {"usage": usage})

    # --- creating -----------------------------------------------------------------------------

    async def create(self, *, extra: Mapping[str, Any] | None = None, **fields: Any) -> Run:
        """``RunEngine.create``; returns once the async listeners heard ``thread.run.created``."""
        if not self._listeners:
            return self.engine.create(extra=extra, **fields)
        with self.engine.collect() as events:
            run = self.engine.create(extra=extra, **fields)
        await self._dispatch(events)
        return run

    # --- the nine triggers (see the same methods of ``Run``) ----------------------------------

    async def start(self, run: Run) -> None:
        """``run.start()``, then await the listeners."""
        await self.fire(run, "start", {})

    async def require_action(
        self, run: Run, tool_calls: Sequence[ToolCall | Mapping[str, Any]]
    ) -> None:
        """``run.require_action(tool_calls)``, then await the listeners."""
        await self.fire(run, "require_action", {"tool_calls": tool_calls})

    async def submit_tool_outputs(
        self, run: Run, tool_outputs: Sequence[Mapping[str, Any]]
    ) -> None:
        """``run.submit_tool_outputs(tool_outputs)``, then await the listeners."""
        await self.fire(run, "submit_tool_outputs", {"tool_outputs": tool_outputs})

    async def complete(self, run: Run, usage: Usage | Mapping[str, Any] | None = None) -> None:
        """``run.complete(usage)``, then await the listeners."""
        await self.fire(run, "complete", {"usage": usage})

    async def mark_incomplete(
        self, run: Run, reason: str, usage: Usage | Mapping[str, Any] | None = None
    ) -> None:
        """``run.mark_incomplete(reason, usage)``, then await the listeners."""
        await self.fire(run, "mark_incomplete", {"reason": reason, "usage": usage})

    async def fail(
        self, run: Run, code: str, message: str, usage: Usage | Mapping[str, Any] | None = None
    ) -> None:
        """``run.fail(code, message, usage)``, then await the listeners."""
        await self.fire(run, "fail", {"code": code, "message": message, "usage": usage})

    async def cancel(self, run: Run) -> None:
        """``run.cancel()``, then await the listeners."""
        await self.fire(run, "cancel", {})

    async def finish_cancel(self, run: Run) -> None:
        """``run.finish_cancel()``, then await the listeners."""
        await self.fire(run, "finish_cancel", {})

    async def expire(self, run: Run) -> None:
        """``run.expire()``, then await the listeners."""
        await self.fire(run, "expire", {})

    async def expire_due(self, *, limit: int | None = None) -> list[Run]:
        """``RunEngine.expire_due``; the async listeners hear each expiry, in order."""
        if not self._listeners:
            return self.engine.expire_due(limit=limit)
        with self.engine.collect() as events:
            expired = self.engine.expire_due(limit=limit)
        await self._dispatch(events)
        return expired
