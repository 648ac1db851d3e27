"""A small connection pool: one connection per concurrent caller, reused, fork-aware."""

from __future__ import annotations

import contextlib
import os
import threading
from typing import TYPE_CHECKING, Any

from ._errors import StoreError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["Pool"]


class Pool:
    """A small pool of connections: one per concurrent caller, reused, fork-aware.

    *connect* makes a connection; *healthy* says whether a returned one may be reused;
    *dispose* closes one. At most *size* exist at once (callers wait beyond that).
    """

    def __init__(
        self,
        connect: Callable[[], Any],
        *,
        size: int,
        healthy: Callable[[Any], bool],
        dispose: Callable[[Any], None],
    ) -> None:
        self._connect = connect
        self._healthy = healthy
        self._dispose = dispose
        self._size = size
        self._idle: list[Any] = []
        self._open = 0
        self._cond = threading.Condition()
        self._pid = os.getpid()
        self._closed = False
        # Connections inherited through fork: never used nor closed in the child.
        self._orphans: list[Any] = []

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        """Check a connection out for the duration of the block."""
        conn = self._acquire()
        try:
            yield conn
        finally:
            self._release(conn)

    def _acquire(self) -> Any:
        with self._cond:
            if self._closed:
                raise StoreError("the store is closed")
            if os.getpid() != self._pid:
                self._orphans += self._idle
                self._idle, self._open, self._pid = [], 0, os.getpid()
            while not self._idle and self._open >= self._size:
                self._cond.wait()
            if self._idle:
                return self._idle.pop()
            self._open += 1
        try:
            return self._connect()
        except BaseException:
            with self._cond:
                self._open -= 1
                self._cond.notify()
            raise

    def _release(self, conn: Any) -> None:
        with self._cond:
            if os.getpid() != self._pid:
                self._orphans.append(conn)
                return
            if not self._closed and self._healthy(conn):
                self._idle.append(conn)
            else:
                self._open -= 1
                with contextlib.suppress(Exception):
                    self._dispose(conn)
            self._cond.notify()

    def close(self) -> None:
        """Close every idle connection; connections in use close when they come back."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._open -= len(idle)
            self._cond.notify_all()
        for conn in idle:
            with contextlib.suppress(Exception):
                self._dispose(conn)
