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

from ._engine import RunEngine
from ._events import RunEvent, add_listener
from ._record import Run, ToolCall, Usage

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
        return add_listener(self, listener)

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
                self.engine._listener_failed(listener, event, exc)

    async def _dispatch(self, event: RunEvent | None, listeners: tuple[AsyncListener, ...]) -> None:
        if event is None or not listeners:
            return
        # Created and chained synchronously, right after the move: the chain's order is the
        # moves' order. Shielded: cancelling the caller does not cancel the delivery.
        task = asyncio.get_running_loop().create_task(self._deliver(event, listeners, self._last))
        self._last = task
        self._tasks.add(task)  # a strong reference until done (the loop keeps weak ones)
        task.add_done_callback(self._tasks.discard)
        await asyncio.shield(task)

    async def _move(self, run: Run, trigger: str, args: Mapping[str, Any]) -> None:
        if run._engine is not self.engine:
            raise ValueError(
                f"run {run.id} is bound to another engine; load it with this one "
                "(AsyncRunEngine.engine.load or .restore)"
            )
        listeners = self._listeners
        # The whole move, synchronously: no await before it is committed.
        event = self.engine._fire(run, trigger, args, event=bool(listeners))
        await self._dispatch(event, listeners)

    # --- creating -----------------------------------------------------------------------------

    async def create(self, *, extra: Mapping[str, Any] | None = None, **fields: Any) -> Run:
        """``RunEngine.create``; returns once the async listeners heard ``thread.run.created``."""
        listeners = self._listeners
        run, event = self.engine._create(extra, fields, event=bool(listeners))
        await self._dispatch(event, listeners)
        return run

    # --- the nine triggers (see the same methods of ``Run``) ----------------------------------

    async def start(self, run: Run) -> None:
        """``run.start()``, then await the listeners."""
        await self._move(run, "start", {})

    async def require_action(
        self, run: Run, tool_calls: Sequence[ToolCall | Mapping[str, Any]]
    ) -> None:
        """``run.require_action(tool_calls)``, then await the listeners."""
        await self._move(run, "require_action", {"tool_calls": tool_calls})

    async def submit_tool_outputs(
        self, run: Run, tool_outputs: Sequence[Mapping[str, Any]]
    ) -> None:
        """``run.submit_tool_outputs(tool_outputs)``, then await the listeners."""
        await self._move(run, "submit_tool_outputs", {"tool_outputs": tool_outputs})

    async def complete(self, run: Run, usage: Usage | Mapping[str, Any] | None = None) -> None:
        """``run.complete(usage)``, then await the listeners."""
        await self._move(run, "complete", {"usage": usage})

    async def mark_incomplete(
        self, run: Run, reason: str, usage: Usage | Mapping[str, Any] | None = None
    ) -> None:
        """``run.mark_incomplete(reason, usage)``, then await the listeners."""
        await self._move(run, "mark_incomplete", {"reason": reason, "usage": usage})

    async def fail(
        self, run: Run, code: str, message: str, usage: Usage | Mapping[str, Any] | None = None
    ) -> None:
        """``run.fail(code, message, usage)``, then await the listeners."""
        await self._move(run, "fail", {"code": code, "message": message, "usage": usage})

    async def cancel(self, run: Run) -> None:
        """``run.cancel()``, then await the listeners."""
        await self._move(run, "cancel", {})

    async def finish_cancel(self, run: Run) -> None:
        """``run.finish_cancel()``, then await the listeners."""
        await self._move(run, "finish_cancel", {})

    async def expire(self, run: Run) -> None:
        """``run.expire()``, then await the listeners."""
        await self._move(run, "expire", {})

    async def expire_due(self, *, limit: int | None = None) -> list[Run]:
        """``RunEngine.expire_due``; the async listeners hear each expiry, in order."""
        listeners = self._listeners
        expired = self.engine._expire_due(limit, event=bool(listeners))
        for _, event in expired:
            await self._dispatch(event, listeners)
        return [run for run, _ in expired]
