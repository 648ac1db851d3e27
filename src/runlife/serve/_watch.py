"""Waiting for a run to change: what waiting retrieves and streams sleep on."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._signals import Signals

__all__ = ["Snapshot", "Watch"]

#: A run's slot in the change table and the slot's count when it was read.
Snapshot = tuple[int, int]


class Watch:
    """Wakes the coroutines that follow runs when a run's slot in the change table moves.

    One task looks at the slots of the runs being followed every *tick* seconds (memory
    reads, no I/O); a follower wakes when its slot changed, or after its own timeout (the
    database poll that catches moves made on other machines).
    """

    def __init__(self, signals: Signals, tick: float = 0.002) -> None:
        self.signals = signals
        self.tick = tick
        self._waiters: dict[asyncio.Event, Snapshot] = {}
        self._task: asyncio.Task[None] | None = None

    def snapshot(self, run_id: str) -> Snapshot:
        """Where *run_id*'s slot is now: take it before reading the run, wait on it after."""
        slot = self.signals.slot(run_id)
        return slot, self.signals.read(slot)

    async def wait(self, snap: Snapshot, timeout: float) -> None:  # noqa: ASYNC109
        """Return when the slot moved past *snap* or after *timeout* seconds."""
        if self.signals.read(snap[0]) != snap[1]:
            return
        event = asyncio.Event()
        self._waiters[event] = snap
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop())
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)
        finally:
            self._waiters.pop(event, None)

    async def _loop(self) -> None:
        read = self.signals.read
        while self._waiters:
            await asyncio.sleep(self.tick)
            for event, (slot, seen) in list(self._waiters.items()):
                if read(slot) != seen:
                    event.set()
