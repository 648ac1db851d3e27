"""Clocks: where every stamp's time comes from."""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Anything callable that returns the current time in integer Unix seconds."""

    def __call__(self) -> int:
        """Return the current time in integer Unix seconds."""
        ...


class SystemClock:
    """The wall clock, truncated to whole seconds as the API's stamps are."""

    __slots__ = ()

    def __call__(self) -> int:
        """Return ``int(time.time())``."""
        return int(time.time())

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that moves only when told to: deterministic time for tests and simulations.

    >>> clock = ManualClock(1_700_000_000)
    >>> clock.advance(5)
    1700000005
    >>> clock()
    1700000005

    Thread-safe: ``advance`` and ``set`` are atomic.
    """

    __slots__ = ("_lock", "_now")

    def __init__(self, start: int = 0) -> None:
        _check_seconds("start", start)
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> int:
        """Return the current manual time."""
        return self._now

    def advance(self, seconds: int) -> int:
        """Move the clock forward by *seconds* (an int >= 0) and return the new time."""
        _check_seconds("seconds", seconds)
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, now: int) -> None:
        """Set the time to *now*; time never goes backwards, so *now* must be >= the current time."""
        _check_seconds("now", now)
        with self._lock:
            if now < self._now:
                msg = f"now: {now} is before the clock's time {self._now}; a ManualClock never goes back"
                raise ValueError(msg)
            self._now = now

    def __repr__(self) -> str:
        return f"ManualClock({self._now})"


def _check_seconds(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        msg = f"{name}: expected an int of seconds, got {type(value).__name__} {value!r}"
        raise TypeError(msg)
    if value < 0:
        msg = f"{name}: expected seconds >= 0, got {value}"
        raise ValueError(msg)
