"""Which run objects a store handed out last, at which stored version (bounded, LRU)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from runlife import Run

__all__ = ["Versions"]


class Versions:
    """The run object this store last wrote or read, at which version, and its stored body.

    A hit lets ``move(run)`` skip re-reading a run the caller got from this store and has
    not changed since (its ``version`` is still the stored one); a stale hit costs one
    failed compare-and-set, never a wrong write.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._data: OrderedDict[str, tuple[Run, int, str]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, run: Run, version: int, body: str) -> None:
        """Remember *run* as stored at *version* with *body*."""
        with self._lock:
            self._data[run.id] = (run, version, body)
            self._data.move_to_end(run.id)
            if len(self._data) > self._size:
                self._data.popitem(last=False)

    def get(self, run: Run) -> tuple[int, str] | None:
        """``(version, body)`` if *run* is the very object remembered, unchanged since."""
        with self._lock:
            hit = self._data.get(run.id)
        if hit is None or hit[0] is not run or hit[1] != run.version:
            return None
        return hit[1], hit[2]

    def drop(self, run_ids: Iterable[str]) -> None:
        """Forget *run_ids* (moved by a sweep, or purged)."""
        with self._lock:
            for run_id in run_ids:
                self._data.pop(run_id, None)
