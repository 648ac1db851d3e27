"""Nudges between the HTTP process and the worker processes of one machine.

The store is the truth; these only say *when to look again*, so that a stream or a waiting
poll sees a worker's move within milliseconds instead of at its next database poll:

- *changes*: a table of counters in shared memory, one slot per hash of a run id; whoever
  moves a run bumps its slot after the commit, and the HTTP process watches the slots of the
  runs it follows. A missed or spurious bump costs at most one poll interval, never a state.
- *wakes*: a counter the HTTP process bumps after it queues a run (create, submit); idle
  workers look at it every 2 ms (a memory read), so they claim at once instead of at their
  next database poll.

Processes on other machines (PostgreSQL) share neither: they are seen at the next poll.
"""

from __future__ import annotations

import array
import multiprocessing
import time
import zlib
from typing import Any

__all__ = ["Signals"]

#: Slots of the change table: collisions only cost a spurious look.
SLOTS = 4096


class Signals:
    """A change table (and a wake-up counter), local to a process or shared with its children.

    Lock-free on purpose: a process killed at any instant (SIGKILL, the OOM killer) must not
    leave a lock held that would freeze the others. Bumps are plain read-increment-writes,
    so two racing bumps may count once; that is harmless: each bump happens after its
    move's commit, and a follower takes its snapshot before it reads the store, so it
    either reads the move or later sees the slot differ from its snapshot (any difference,
    not only an increase, counts as a change).
    """

    def __init__(self, counts: Any) -> None:
        self._counts = counts

    @classmethod
    def local(cls) -> Signals:
        """Signals for one process (an app mounted without runlife's workers)."""
        return cls(array.array("q", bytes(8 * (SLOTS + 1))))

    @classmethod
    def shared(cls, context: Any = None) -> Signals:
        """Signals in shared memory, for the children started by *context* (spawn)."""
        ctx = context if context is not None else multiprocessing.get_context("spawn")
        return cls(ctx.RawArray("q", SLOTS + 1))

    def __getstate__(self) -> Any:
        return self._counts

    def __setstate__(self, state: Any) -> None:
        self._counts = state

    @staticmethod
    def slot(run_id: str) -> int:
        """The slot of *run_id* (the same in every process: not Python's salted hash)."""
        return zlib.crc32(run_id.encode()) % SLOTS

    def read(self, slot: int) -> int:
        """The counter of *slot* (an aligned 64-bit read: never torn)."""
        value: int = self._counts[slot]
        return value

    def bump(self, run_id: str) -> None:
        """Say that *run_id* moved (call after the commit)."""
        slot = self.slot(run_id)
        self._counts[slot] += 1

    def wake_workers(self) -> None:
        """Tell idle workers that a run was queued (call after the commit)."""
        self._counts[SLOTS] += 1

    def wakes(self) -> int:
        """The wake-up counter: read it before a claim, give it to ``wait_for_work``."""
        value: int = self._counts[SLOTS]
        return value

    def wait_for_work(self, seen: int, timeout: float, *, tick: float = 0.002) -> bool:
        """Wait up to *timeout* seconds for a wake-up after *seen*; whether one came."""
        deadline = time.monotonic() + timeout
        counts = self._counts
        while counts[SLOTS] == seen:
            if time.monotonic() >= deadline:
                return False
            time.sleep(tick)
        return True
