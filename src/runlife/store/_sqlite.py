"""The SQLite backend: the standard library's ``sqlite3``, one file in WAL mode.

Writes run in ``BEGIN IMMEDIATE`` transactions (one writer at a time, readers never
blocked); each thread uses its own connection from the pool, never one shared by two
threads at once. ``sqlite:///:memory:`` keeps one connection, used by one caller at a time.
URL options: ``?synchronous=normal`` (the default in WAL: durable across application
crashes; ``full`` also across power loss) and ``?timeout=30`` (seconds to wait for the lock).

The file's identity. Connections open the file with ``mode=rw`` once the store is set up
(``rwc`` only while ``create=True`` sets it up), so a removed file is never silently
re-created, and opening with ``create=False`` creates nothing. The store remembers the
device and inode of the file it opened and compares the path with them before every
operation and again just before every ``COMMIT`` (one ``stat``: about a microsecond, the
fence that makes ``rm runs.db*`` under a running service visible). While they differ every
operation raises ``StoreFileGone`` and a write in flight is rolled back: nothing is
acknowledged that a restart would not find. One error line is logged when it is noticed,
one info line when the same file is back at its path (moved away and back), after which
the store goes on; a different file is never adopted by an open store.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from . import _schema as sql
from ._errors import StoreError, StoreFileGone
from ._pool import Pool
from ._rows import Duplicate, HistoryRow, StepRow, Tx, Write
from ._steps import UPSERT_STEP
from ._store import Store

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from runlife import RunEngine

    from ._url import StoreURL

__all__ = ["SQLiteStore"]

_MIN_SQLITE = (3, 35, 0)  # RETURNING

_log = logging.getLogger("runlife.store")


class _SQLiteTx(Tx):
    __slots__ = ("cur",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.cur = conn.cursor()

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.cur.execute(statement, params).fetchall()

    def execute(self, statement: str, params: Sequence[Any] = ()) -> int:
        return self.cur.execute(statement, params).rowcount

    def write(
        self,
        writes: Sequence[Write],
        events: Sequence[HistoryRow],
        steps: Sequence[StepRow],
        fence: tuple[str, int] | None,
    ) -> set[str]:
        statement = sql.UPDATE_RUN + sql.FENCE if fence is not None else sql.UPDATE_RUN
        tail = fence or ()
        written: set[str] = set()
        for w in writes:
            params = (
                w.status,
                w.new_version,
                w.expires_at,
                w.body,
                w.lease_mode,
                w.worker,
                w.lease_mode,
                w.lease_until,
                w.id,
                w.old_version,
                *tail,
            )
            if self.cur.execute(statement, params).rowcount == 1:
                written.add(w.id)
        rows = [e for e in events if e.run_id in written]
        if rows:
            self.cur.executemany(sql.INSERT_EVENT, rows)
        stepped = [s for s in steps if s.run_id in written]
        if stepped:
            self.cur.executemany(UPSERT_STEP, stepped)
        return written


class SQLiteStore(Store):
    """A store in one SQLite file (or in memory); see ``runlife.store.open_store``."""

    _backend = "sqlite"
    _schema_exists = (
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'runlife_schema'"
    )

    def __init__(
        self,
        url: StoreURL,
        *,
        engine: RunEngine | None,
        lease: int,
        retries: int,
        create: bool,
        upgrade: bool,
        pool_size: int,
    ) -> None:
        super().__init__(url, engine=engine, lease=lease, retries=retries)
        if sqlite3.sqlite_version_info < _MIN_SQLITE:
            raise StoreError(
                f"the SQLite store needs SQLite >= 3.35 (for RETURNING); this Python has "
                f"{sqlite3.sqlite_version}"
            )
        self._path = url.target
        self._memory = self._path == ":memory:"
        self.ephemeral = self._memory
        self._synchronous = url.options.get("synchronous", "normal").upper()
        self._timeout = float(url.options.get("timeout", "30"))
        #: The file's (st_dev, st_ino) once set up; None in memory and during set-up.
        self._identity: tuple[int, int] | None = None
        self._gone: str | None = None  # why the file is not the one opened, once noticed
        self._mode = "rwc" if create else "rw"  # an upgrade creates no file
        if not self._memory:
            parent = Path(self._path).expanduser().parent
            if not parent.is_dir():
                raise StoreError(
                    f"cannot open the SQLite store {url.text}: the directory {parent} does not "
                    "exist (nothing was created)"
                )
            if not create and not Path(self._path).exists():
                raise StoreError(
                    f"no runlife schema in {url.text}: the file does not exist (nothing was "
                    "created): create it with `runlife store init URL`"
                )
        # Connections SQLite opened read-only (the file was not writable at that moment):
        # they would stay read-only after the file is writable again, so they are dropped.
        self._readonly: set[int] = set()
        self._pool = Pool(
            self._connect,
            size=1 if self._memory else pool_size,
            healthy=lambda conn: not conn.in_transaction and id(conn) not in self._readonly,
            dispose=self._dispose,
        )
        try:
            self._setup(create=create, upgrade=upgrade)
            if not self._memory:
                self._mode = "rw"  # from now on a missing file is an error, never re-created
                stat = Path(self._path).stat()
                self._identity = (stat.st_dev, stat.st_ino)
        except BaseException:
            self._pool.close()
            raise

    def _check_file(self) -> None:
        """Raise ``StoreFileGone`` unless the file at the path is the one this store opened."""
        if self._identity is None:
            return
        try:
            stat = os.stat(self._path)  # noqa: PTH116 - on every operation: no Path object
        except FileNotFoundError:
            reason = "removed"
        else:
            if (stat.st_dev, stat.st_ino) == self._identity:
                if self._gone is not None:
                    self._gone = None
                    _log.info(
                        "the SQLite file %s is back; the store %s goes on", self._path, self.url
                    )
                return
            reason = "replaced"
        error = StoreFileGone(self.url, self._path, reason)
        if self._gone != reason:
            self._gone = reason
            _log.error("%s", error)
        raise error

    def _connect(self) -> sqlite3.Connection:
        try:
            target = self._path if self._memory else f"file:{quote(self._path)}?mode={self._mode}"
            conn = sqlite3.connect(
                target,
                uri=not self._memory,
                timeout=self._timeout,
                isolation_level=None,  # we issue BEGIN IMMEDIATE / COMMIT ourselves
                check_same_thread=False,  # the pool hands a connection to one thread at a time
            )
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the SQLite store {self.url}: {exc}") from exc
        return conn

    def _dispose(self, conn: sqlite3.Connection) -> None:
        self._readonly.discard(id(conn))
        conn.close()

    @contextlib.contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        self._check_file()
        try:
            with self._pool.connection() as conn:
                try:
                    yield conn
                except sqlite3.Error as exc:
                    if exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_READONLY:
                        self._readonly.add(id(conn))  # not given out again
                    raise
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self.url}: {exc}") from exc

    @contextlib.contextmanager
    def _schema_tx(self) -> Iterator[Tx]:
        if not self._memory:
            with self._conn() as conn:
                conn.execute("PRAGMA journal_mode=WAL")  # persistent: once per database
        with self._tx() as tx:  # BEGIN IMMEDIATE: one process at a time
            yield tx

    def close(self) -> None:
        """Close the store's connections."""
        self._pool.close()

    def _query(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._conn() as conn:
            return conn.execute(statement, params).fetchall()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Tx]:
        with self._conn() as conn:
            self._begin_immediate(conn)
            try:
                yield _SQLiteTx(conn)
                self._check_file()  # nothing is committed once the file is gone
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _begin_immediate(self, conn: sqlite3.Connection) -> None:
        """Take the write lock, retrying every few hundred microseconds until the timeout.

        SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25 ... ms between tries: a
        worker that missed the lock once then sleeps far longer than the lock is held, and
        throughput collapses as workers are added. Short jittered sleeps keep it busy.
        """
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            delay = 50e-6
            deadline = time.monotonic() + self._timeout
            while True:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(delay * (0.5 + random.random()))
                    delay = min(delay * 2, 1e-3)
                else:
                    return
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")

    def _write_once(
        self,
        writes: Sequence[Write],
        events: Sequence[HistoryRow],
        steps: Sequence[StepRow],
        fence: tuple[str, int] | None,
    ) -> set[str]:
        with self._tx() as tx:
            return tx.write(writes, events, steps, fence)

    def _insert_once(self, values: Sequence[Any], event: HistoryRow) -> None:
        with self._tx() as tx:
            try:
                tx.execute(sql.INSERT_RUN, values)
            except sqlite3.IntegrityError as exc:
                text = str(exc)
                if "runlife_runs.thread_id" in text:
                    raise Duplicate("thread") from None
                if "runlife_runs.id" in text:
                    raise Duplicate("id") from None
                raise
            tx.execute(sql.INSERT_EVENT, event)
