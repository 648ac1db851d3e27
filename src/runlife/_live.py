"""The live-run indexes of an engine: deadlines (expiry at scale) and one active run per thread.

Both hold *active* runs only. The engine adds a run when it creates or loads it and forgets
it in the commit of its terminal move, so memory follows the number of live runs, never the
number of finished ones. (``expire_due`` also skips, and drops, any run it finds ended.)

The deadline index is a dict of buckets, one per deadline second, each a dict
``run id -> run``, plus a min-heap of the bucket seconds. ``pop_due(now)`` pops whole
buckets off the heap, so it costs O(due + buckets due), not O(live runs); forgetting a run
is two dict look-ups. A bucket dict costs 25-35 bytes per run (``benchmarks/expiry.py``);
a heap of ``(expires_at, seq, run)`` tuples would cost ~130 and could not forget a run
before its deadline.
"""

from __future__ import annotations

import heapq
import threading
from itertools import islice
from typing import TYPE_CHECKING

from ._errors import ThreadBusy
from ._status import TERMINAL

if TYPE_CHECKING:
    from ._record import Run

__all__ = ["LiveRuns"]


class LiveRuns:
    """The live-run indexes of one engine; every method is thread-safe.

    Lock order: a run's lock, then this index's lock (``forget`` is called from inside a
    move); nothing here takes a run's lock.
    """

    __slots__ = ("_buckets", "_heap", "_lock", "_threads")

    def __init__(self, *, deadlines: bool, threads: bool) -> None:
        self._buckets: dict[int, dict[str, Run]] | None = {} if deadlines else None
        self._heap: list[int] = []
        self._threads: dict[str, Run] | None = {} if threads else None
        self._lock = threading.Lock()

    @property
    def deadlines(self) -> bool:
        """Whether deadlines are indexed."""
        return self._buckets is not None

    @property
    def threads(self) -> bool:
        """Whether one active run per thread is enforced."""
        return self._threads is not None

    def adopt(self, run: Run, action: str) -> None:
        """Track *run* if it is active: claim its thread, index its deadline.

        A run with the same id as the one tracked (a fresher copy of it, loaded again)
        takes its place.

        Raises:
            ThreadBusy: another run is active on *run*'s thread.
        """
        if run.status in TERMINAL:
            return
        with self._lock:
            threads = self._threads
            if threads is not None:
                holder = threads.get(run.thread_id)
                if holder is not None and holder is not run and holder.id != run.id:
                    status = holder.status
                    if status not in TERMINAL:
                        raise ThreadBusy(
                            run.thread_id,
                            holder.id,
                            status=status.value,
                            refused_id=run.id,
                            action=action,
                        )
                threads[run.thread_id] = run
            if self._buckets is not None and run.expires_at is not None:
                self._add(run, run.expires_at)

    def _add(self, run: Run, expires_at: int) -> None:
        buckets = self._buckets
        assert buckets is not None  # noqa: S101 - narrowing for mypy
        bucket = buckets.get(expires_at)
        if bucket is None:
            buckets[expires_at] = {run.id: run}
            heap = self._heap
            if len(heap) > 2 * len(buckets) + 64:
                # Keys of buckets that emptied before their time: drop them all at once.
                heap[:] = sorted(buckets)
            else:
                heapq.heappush(heap, expires_at)
        else:
            bucket[run.id] = run

    def forget(self, run: Run, expires_at: int | None) -> None:
        """Stop tracking *run*, which has just ended; *expires_at* is its deadline before that."""
        threads, buckets = self._threads, self._buckets
        if threads is None and (buckets is None or expires_at is None or expires_at not in buckets):
            # Nothing of this run is held (always so after pop_due): skip the lock. Only
            # expire_due puts a popped run back (when the clock went back); should that race
            # with this run's end, the stale entry is skipped and dropped by a later sweep.
            return
        with self._lock:
            threads = self._threads
            if threads is not None and threads.get(run.thread_id) is run:
                del threads[run.thread_id]
            buckets = self._buckets
            if buckets is not None and expires_at is not None:
                bucket = buckets.get(expires_at)
                if bucket is not None and bucket.get(run.id) is run:
                    del bucket[run.id]
                    if not bucket:
                        del buckets[expires_at]

    def pop_due(self, now: int, limit: int | None) -> list[Run]:
        """Remove and return the runs whose deadline is ``<= now``, earliest second first."""
        due: list[Run] = []
        buckets = self._buckets
        if buckets is None:
            return due
        heap = self._heap
        with self._lock:
            while heap and heap[0] <= now:
                if limit is not None and len(due) >= limit:
                    break
                key = heap[0]
                bucket = buckets.get(key)
                if bucket is None:  # emptied by forget(), or a key pushed twice
                    heapq.heappop(heap)
                elif limit is None or len(due) + len(bucket) <= limit:
                    heapq.heappop(heap)
                    del buckets[key]
                    due.extend(bucket.values())
                else:
                    due.extend([bucket.pop(k) for k in list(islice(bucket, limit - len(due)))])
        return due

    def next_deadline(self) -> int | None:
        """The earliest deadline indexed, or ``None``."""
        buckets = self._buckets
        if buckets is None:
            return None
        heap = self._heap
        with self._lock:
            while heap and heap[0] not in buckets:
                heapq.heappop(heap)
            return heap[0] if heap else None

    def active_run(self, thread_id: str) -> Run | None:
        """The active run that holds *thread_id*, or ``None``."""
        threads = self._threads
        if threads is None:
            return None
        run = threads.get(thread_id)
        return run if run is not None and run.status not in TERMINAL else None

    def __len__(self) -> int:
        """How many runs the indexes hold (deadlines, else threads): for tests and metrics."""
        with self._lock:
            if self._buckets is not None:
                return sum(len(b) for b in self._buckets.values())
            return len(self._threads or ())
