"""The store's behaviour, written once for both backends.

How a move is stored (compare-and-set first, a row lock after a lost race):

1. The run is read with its ``version`` (or taken from a small cache of runs this store
   wrote last, when the caller hands back the very object it got, unchanged since) and
   adopted by the store's engine at that version.
2. The caller fires typed triggers on it (``run.start()``...) inside the engine's
   ``collect()`` scope: the engine's own table, guards and stamps, each move recorded in
   the run's history with its arguments, each event held back; nothing touches the
   database yet.
3. One transaction writes the run's row ``WHERE id = ? AND version = ?`` (plus, for a
   worker, ``AND worker = ? AND lease_until >= now``: the fence), one history row per
   move with its trigger, arguments, what it changed and its step events, and the run's
   steps the moves opened or changed (``runlife.store._steps``).
4. Zero rows updated means someone else wrote first: the run is ``reset`` to the fresh
   row, the same triggers with the same arguments (``Move.args``) are fired on it again
   (the engine decides again: a lost race with another move usually ends in
   ``IllegalTransition``), and the write is tried again, compare-and-set, up to
   ``retries`` times. A worker whose lease is gone gets ``LeaseLost`` at once.
5. When those attempts are lost too (someone keeps writing the run: typically a client
   updating its metadata in a loop), the move takes the row's lock instead: one
   transaction locks the row (PostgreSQL ``SELECT ... FOR UPDATE``; SQLite's
   ``BEGIN IMMEDIATE`` write lock), reads it, checks the lease, fires the triggers again on
   what it read and writes. Nobody can write the row in between, so that attempt cannot
   lose: **no lifecycle move is ever refused or dropped because metadata changed**, and a
   metadata update is applied the same way. A move still ends in the engine's own errors
   (the fresh state may not allow it) or ``LeaseLost``, never in a lost race. The lock is
   taken only after a lost race, so the common path stays one optimistic write.
6. Only after the commit are the events ``publish``-ed to the engine's listeners.

Nothing is ever overwritten blindly. A write whose connection broke has an unknown
outcome: the store reads the run again on a new connection and tells from the stored
version and body (or the history row at the write's version) whether it landed.

The store works through the engine's public hooks only (``collect``, ``publish``,
``fire``, ``fire_step``, ``adopt``, ``reset``, ``update``), on the one engine it was opened
with; a run is always read with its stored steps and adopted (or reset) with them.

Connections: a small pool per store (one connection per concurrent caller, never one
connection shared by two threads at once); a pool notices a fork and never touches the
parent's connections in the child.
"""

# SQL text here is built from constants only; values always travel as parameters.
# ruff: noqa: S608

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Literal, Self

import attrs

from runlife import (
    HELD,
    STEP_OPS,
    Conflict,
    InvalidRun,
    Move,
    Run,
    RunEngine,
    RunEvent,
    RunlifeError,
    RunNotFound,
    RunStatus,
    RunStep,
    from_json,
    to_dict,
)

from . import _schema as sql
from ._cache import Versions
from ._delta import diff, replay
from ._errors import LeaseLost, SchemaTooNew, SchemaTooOld, StepNotFound, StoreError, ThreadBusy
from ._page import window
from ._results import Page, StepPage, StoredEvent, Sweep
from ._rows import KEEP, RELEASE, SET, Duplicate, HistoryRow, Lost, Row, StepRow, Tx, Write, dumps
from ._steps import SELECT_STEP, changed, events_json, load_steps, split, step_moves, with_steps

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from ._url import StoreURL

__all__ = ["Store"]

_log = logging.getLogger("runlife.store")

#: The counters of ``Store.stats()``, each always present (0 until it happens).
STATS: Final = ("conflicts", "locked", "lease_lost", "quarantined")


@attrs.define
class _Held:
    """A run a ``move`` block holds: its stored version, body and steps, its history's length."""

    run: Run
    version: int
    body: str
    hist_len: int
    steps: tuple[RunStep, ...]


def _own(events: Iterable[RunEvent], run_id: str) -> tuple[list[RunEvent], list[RunEvent]]:
    """*events* split into those of *run_id* and the others, each in order."""
    own: list[RunEvent] = []
    other: list[RunEvent] = []
    for event in events:
        (own if event.run_id == run_id else other).append(event)
    return own, other


#: ``events_since`` without a limit reads up to this version.
_NO_END: Final = 2**62


def _delta_or_body(
    prev: dict[str, Any], data: dict[str, Any], args: str
) -> tuple[str | None, str | None]:
    """A history row's ``(changes, body)``: the changes from *prev*, or *data*'s body.

    The whole body when the changes would not rebuild *data* exactly (``_delta.diff``).
    """
    changes = diff(prev, data, json.loads(args))
    return (changes, None) if changes is not None else (None, dumps(data))


def _write_locked(
    tx: Tx,
    write: Write,
    rows: Sequence[HistoryRow],
    steps: Sequence[StepRow],
    fence: tuple[str, int] | None,
) -> None:
    """*write* under the row lock its transaction holds: it cannot match no row."""
    if write.id not in tx.write([write], rows, steps, fence):  # pragma: no cover - locked
        raise StoreError(f"run {write.id} changed under its row lock")


class Store:
    """Runs kept in a database, moved through a ``RunEngine`` with compare-and-set writes.

    Open one with ``runlife.store.open_store(url)``. Every operation is one transaction;
    every move goes through the engine (same guards, stamps, errors and events as in
    memory) and events reach the engine's listeners only after the commit.

    Thread-safety: a store may be shared by threads; each operation takes its own
    connection from the store's pool. Open a new store in each process.
    """

    #: Appended to the SELECT of claims and sweeps (``FOR UPDATE SKIP LOCKED`` on PostgreSQL).
    _lock_clause = ""
    #: Appended to the SELECT of a locked move (``FOR UPDATE`` on PostgreSQL; SQLite's
    #: ``BEGIN IMMEDIATE`` already holds the one write lock).
    _row_lock = ""
    #: The backend's name, as ``_schema.MIGRATIONS`` files its upgrade steps.
    _backend = "postgresql"
    #: A query whose one value is 1 when the table ``runlife_schema`` exists, else 0.
    _schema_exists = ""
    #: What opening did to the schema: ``"created"``, ``"upgraded from version N"`` or
    #: ``"up to date"``.
    schema_action = "up to date"
    #: Whether the store lives only as long as this process (``sqlite:///:memory:``).
    ephemeral = False

    def __init__(
        self, url: StoreURL, *, engine: RunEngine | None, lease: int, retries: int
    ) -> None:
        if engine is not None and not isinstance(engine, RunEngine):
            raise TypeError(f"engine: expected a runlife.RunEngine, got {engine!r}")
        if engine is not None and not engine.record_history:
            raise ValueError(
                "engine: a store writes each move's arguments from the run's history: "
                "pass an engine with record_history=True"
            )
        if engine is not None and (engine.index_deadlines or engine.one_active_run_per_thread):
            raise ValueError(
                "engine: the database is the store's index of deadlines and active runs: "
                "pass an engine without index_deadlines or one_active_run_per_thread"
            )
        if type(lease) is not int or lease <= 0:
            raise ValueError(f"lease: expected an int of seconds > 0, got {lease!r}")
        if type(retries) is not int or retries < 0:
            raise ValueError(f"retries: expected an int >= 0, got {retries!r}")
        self.url = url.text
        self.engine = engine if engine is not None else RunEngine()
        self.lease = lease
        self.retries = retries
        self._versions = Versions()
        self._stats: Counter[str] = Counter(dict.fromkeys(STATS, 0))
        self._stats_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- backend hooks ----------------------------------------------------------------------

    def close(self) -> None:
        """Close the store's connections; the store cannot be used afterwards."""
        raise NotImplementedError

    def _query(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _tx(self) -> contextlib.AbstractContextManager[Tx]:
        raise NotImplementedError

    def _write_once(
        self,
        writes: Sequence[Write],
        events: Sequence[HistoryRow],
        steps: Sequence[StepRow],
        fence: tuple[str, int] | None,
    ) -> set[str]:
        """One atomic compare-and-set write; raises ``Lost`` when its outcome is unknown."""
        raise NotImplementedError

    def _insert_once(self, values: Sequence[Any], event: HistoryRow) -> None:
        """Insert a new run and its creation event; raises ``Duplicate`` on a unique index."""
        raise NotImplementedError

    def _schema_tx(self) -> contextlib.AbstractContextManager[Tx]:
        """The transaction that creates or upgrades the schema (serialised between processes)."""
        return self._tx()

    def _found_version(self, query: Callable[[str], list[tuple[Any, ...]]]) -> int | None:
        if not query(self._schema_exists)[0][0]:
            return None
        rows = query("SELECT version FROM runlife_schema WHERE id = 1")
        return int(rows[0][0]) if rows else 0

    def _check_schema(self, found: int | None, *, create: bool, upgrade: bool) -> None:
        if found is not None and found > sql.SCHEMA_VERSION:
            raise SchemaTooNew(self.url, found, sql.SCHEMA_VERSION)
        if found is None and not create:
            raise StoreError(
                f"no runlife schema in {self.url}: create it with `runlife store init URL`"
            )
        if found is not None and found < sql.SCHEMA_VERSION and not upgrade:
            raise SchemaTooOld(self.url, found, sql.SCHEMA_VERSION)

    def _setup(self, *, create: bool, upgrade: bool) -> None:
        """Create or upgrade the schema as allowed; refuse a newer one before writing anything.

        Each step (the creation of version 1, then each upgrade) is one transaction under
        the schema lock, which reads the version again first: another process may have
        taken the step already.
        """
        found = self._found_version(self._query)
        self._check_schema(found, create=create, upgrade=upgrade)
        took: list[int | None] = []  # the versions this process found and took a step from
        while found != sql.SCHEMA_VERSION:
            with self._schema_tx() as tx:
                found = self._found_version(tx.query)  # another process may have been first
                self._check_schema(found, create=create, upgrade=True)
                if found == sql.SCHEMA_VERSION:
                    break
                for statement in sql.steps(found, self._backend)[0]:
                    tx.execute(statement)
            took.append(found)
            found = 1 if found is None else found + 1
        if took:
            self.schema_action = (
                "created" if took[0] is None else f"upgraded from version {took[0]}"
            )

    def schema_version(self) -> int:
        """The schema version of the database."""
        rows = self._query("SELECT version FROM runlife_schema WHERE id = 1")
        return int(rows[0][0])

    # --- helpers ----------------------------------------------------------------------------

    def _now(self) -> int:
        now = self.engine.clock()
        if type(now) is not int or now < 0:
            raise InvalidRun([("now", f"the clock returned {now!r}; expected an int >= 0")])
        return now

    def _count(self, key: str) -> None:
        with self._stats_lock:
            self._stats[key] += 1

    def stats(self) -> dict[str, int]:
        """Counters of this store object since it was opened.

        ``conflicts``: compare-and-set writes that lost a race (and were tried again on
        the fresh state); ``locked``: moves and metadata updates that then took the row's
        lock (and could not lose); ``lease_lost``: writes refused to a worker without its
        lease; ``quarantined``: rows found that do not load. Every key is always present.
        """
        with self._stats_lock:
            return dict(self._stats)

    def _fetch(self, run_id: str) -> Row:
        if not isinstance(run_id, str):
            raise TypeError(f"run_id: expected a string, got {type(run_id).__name__}")
        rows = self._query(sql.SELECT_RUN, (run_id,))
        if not rows:
            raise RunNotFound(run_id)
        return Row(*rows[0])

    def _read(self, run_id: str) -> tuple[Row, list[str]]:
        """The row of *run_id* and its steps' bodies, read in one statement."""
        if not isinstance(run_id, str):
            raise TypeError(f"run_id: expected a string, got {type(run_id).__name__}")
        found = split(self._query(with_steps(sql.SELECT_RUN_K), (run_id,)))
        if not found:
            raise RunNotFound(run_id)
        return found[0]

    def _load(self, row: Row, steps: Sequence[str] = ()) -> Run:
        """Load a stored row and its *steps* (bodies), adopted by the engine at its version.

        Its columns must agree with its body.

        Raises:
            InvalidRun: bad JSON, a bad run or step, or columns that disagree; it names the
                run id.
        """
        try:
            run = from_json(row.body)
        except InvalidRun as exc:
            raise InvalidRun(exc.errors, run_id=row.id) from None
        problems = [
            (f"$.{name}", f"the row's {name} column is {column!r}, its JSON says {value!r}")
            for name, column, value in (
                ("id", row.id, run.id),
                ("thread_id", row.thread_id, run.thread_id),
                ("status", row.status, run.status.value),
            )
            if column != value
        ]
        if problems:
            raise InvalidRun(problems, run_id=row.id)
        self.engine.adopt(run, version=row.version, action="load", steps=load_steps(row.id, steps))
        return run

    def _settle(self, run: Run, version: int, body: str) -> None:
        """*run* holds the stored state *version*: bind it, number it, remember it."""
        self.engine.adopt(run, version=version, action="load")
        self._versions.put(run, version, body)

    def _restore(self, run: Run, held: _Held) -> None:
        """Put *run* back to the stored state of *held* (its steps too) after a failed move."""
        self.engine.reset(
            run,
            from_json(held.body),
            version=held.version,
            keep_history=held.hist_len,
            steps=held.steps,
        )

    def _lease(
        self, status: str, worker: str | None, now: int
    ) -> tuple[int, str | None, int | None]:
        if status not in HELD:
            return RELEASE, None, None
        if worker is not None:
            return SET, worker, now + self.lease
        return KEEP, None, None

    def _plan(
        self,
        run_id: str,
        stored: tuple[int, str],
        moves: Sequence[Move],
        events: Sequence[RunEvent],
        steps: tuple[Sequence[RunStep], Sequence[RunStep]],
        *,
        worker: str | None,
        now: int,
    ) -> tuple[Write, list[HistoryRow], list[StepRow]]:
        """The row write, history rows and step rows of *moves* (*events* theirs) on a run.

        *stored* is the run's ``(version, body)`` before them, *steps* its steps before and
        after them; each row holds what its move changed, and its step events.
        """
        version, before = stored
        prev: dict[str, Any] = json.loads(before)
        rows: list[HistoryRow] = []
        for i, (move, event) in enumerate(zip(moves, events, strict=True), start=1):
            args = dumps(move.args)
            changes, body = _delta_or_body(prev, event.data, args)
            rows.append(
                HistoryRow(
                    run_id,
                    version + i,
                    "move",
                    move.trigger,
                    move.source,
                    move.dest,
                    move.at,
                    worker,
                    args,
                    changes,
                    body,
                    events_json(event),
                )
            )
            prev = event.data
        last = events[-1].data
        mode, holder, until = self._lease(last["status"], worker, now)
        write = Write(
            run_id,
            version,
            version + len(rows),
            last["status"],
            last["expires_at"],
            dumps(last),
            mode,
            holder,
            until,
        )
        return write, rows, changed(run_id, *steps)

    def _check_lease(self, row: Row, worker: str, now: int) -> None:
        live = row.lease_until is not None and row.lease_until >= now
        if row.worker == worker and live:
            return
        self._count("lease_lost")
        holder = row.worker if live else None
        lapsed = row.lease_until if row.worker == worker else None
        raise LeaseLost(row.id, worker, holder, row.status, lapsed)

    def _quarantine(self, tx: Tx, row: Row, exc: RunlifeError) -> InvalidRun:
        error = exc if isinstance(exc, InvalidRun) else InvalidRun([("$", str(exc))], run_id=row.id)
        if error.run_id is None:
            error = InvalidRun(error.errors, run_id=row.id)
        _log.error("quarantined stored run %s: %s", row.id, error)
        tx.execute(sql.QUARANTINE, (str(error), row.id))
        self._count("quarantined")
        return error

    # --- creating and reading --------------------------------------------------------------

    def create(self, *, extra: Mapping[str, Any] | None = None, **fields: Any) -> Run:
        """Create and store a new ``queued`` run (arguments as ``RunEngine.create``).

        Raises:
            InvalidRun: a field is missing, unknown or breaks a rule (nothing is written).
            ThreadBusy: the thread already has an active run (the database refused).
            Conflict: a run with this id already exists.
        """
        for _attempt in range(self.retries + 1):
            with self.engine.collect() as events:
                run = self.engine.create(extra=extra, **fields)
            data = events[0].data
            body = dumps(data)
            event = HistoryRow(
                run.id,
                0,
                "create",
                None,
                None,
                data["status"],
                run.created_at,
                None,
                "{}",
                None,
                body,
            )
            values = (run.id, run.thread_id, "queued", run.created_at, run.expires_at, body)
            try:
                self._insert_once(values, event)
            except Lost as lost:
                try:
                    stored = self._fetch(run.id)
                except RunNotFound:
                    continue  # the insert did not happen: try again
                except StoreError as exc:
                    raise StoreError(
                        f"the connection broke while run {run.id} was being created, and the "
                        f"store cannot be reached to tell whether it was: get it ({lost})"
                    ) from exc
                if stored.body != body:
                    raise Conflict(f"a run with id {run.id} already exists in the store") from None
            except Duplicate as dup:
                if dup.which == "id":
                    raise Conflict(f"a run with id {run.id} already exists in the store") from None
                holder = self._query(
                    f"SELECT id FROM runlife_runs WHERE thread_id = ? AND status IN {sql.ACTIVE_SQL}",
                    (run.thread_id,),
                )
                if holder:
                    raise ThreadBusy(run.thread_id, holder[0][0]) from None
                continue  # the holder ended in between: try again
            self._settle(run, 0, body)
            self.engine.publish(events)  # thread.run.created, now that it is stored
            return run
        raise ThreadBusy(str(fields.get("thread_id")), None)

    def get(self, run_id: str) -> Run:
        """The stored run *run_id*, bound to the store's engine.

        Moving the returned run with its triggers changes only this copy; move stored runs
        with ``move``.

        Raises:
            RunNotFound: no such run (also a ``LookupError``).
            InvalidRun: the stored row does not load (bad JSON, columns that disagree).
        """
        row, steps = self._read(run_id)
        run = self._load(row, steps)
        self._versions.put(run, row.version, row.body)
        return run

    def version(self, run_id: str) -> int:
        """The stored version of *run_id*: 0 at creation, one more per move or metadata update.

        Raises:
            RunNotFound: no such run.
        """
        return self._fetch(run_id).version

    def list_runs(
        self,
        thread_id: str,
        *,
        status: str | None = None,
        limit: int = 20,
        order: Literal["asc", "desc"] = "desc",
        after: str | None = None,
        before: str | None = None,
    ) -> Page:
        """A page of the runs of *thread_id*, in creation order, like the API's list.

        Creation order is the store's own sequence (``seq``), assigned as each run is
        inserted: runs created in the same second, or by other processes, list in the
        order they were created, not by clock or id.

        *limit* is 1 to 100; *order* ``"desc"`` (newest first, the API's default) or
        ``"asc"``; *after* / *before* are run ids of the same thread: the page holds the runs
        that come after (or before) that run in this order. *status* keeps only runs in
        that status.

        Raises:
            ValueError: *limit* or *order* out of range, or an unknown *status*.
            RunNotFound: a cursor is not a run of this thread.
            InvalidRun: a stored row on the page does not load.
        """
        where = ["thread_id = ?"]
        params: list[Any] = [thread_id]
        if status is not None:
            try:
                params.append(RunStatus(status).value)
            except ValueError:
                raise ValueError(f"status: {RunStatus.explain(str(status))}") from None
            where.append("status = ?")

        def seq_of(cursor: str) -> Any | None:
            found = self._query(
                "SELECT seq FROM runlife_runs WHERE id = ? AND thread_id = ?", (cursor, thread_id)
            )
            return found[0][0] if found else None

        page = window(
            "seq",
            seq_of,
            lambda cursor: RunNotFound(cursor, thread_id=thread_id),
            limit=limit,
            order=order,
            after=after,
            before=before,
        )
        select = (
            f"SELECT {sql.RUN_COLUMNS}, seq AS k FROM runlife_runs "
            f"WHERE {' AND '.join(where + page.where)} ORDER BY seq {page.direction} LIMIT ?"
        )
        rows = split(
            self._query(with_steps(select), (*params, *page.params, page.fetch)),
            descending=page.direction == "DESC",
        )
        found, has_more = page.cut(rows)
        runs = [self._load(row, steps) for row, steps in found]
        return Page(runs, runs[0].id if runs else None, runs[-1].id if runs else None, has_more)

    def list_steps(
        self,
        run_id: str,
        *,
        limit: int = 20,
        order: Literal["asc", "desc"] = "desc",
        after: str | None = None,
        before: str | None = None,
    ) -> StepPage:
        """A page of the steps of *run_id*, in creation order, like the API's list of steps.

        Creation order is the steps' order in the run (``run.steps``, oldest first). *limit*
        is 1 to 100; *order* ``"desc"`` (newest first, the API's default) or ``"asc"``;
        *after* / *before* are step ids of this run: the page holds the steps that come
        after (or before) that step in this order, exactly as ``list_runs`` pages runs.
        A run without steps (one of schema version 2, or not yet started) lists none.

        Raises:
            ValueError: *limit* or *order* out of range.
            RunNotFound: no such run.
            StepNotFound: a cursor is not a step of this run.
            InvalidRun: a stored step on the page does not load.
        """

        def ordinal_of(cursor: str) -> Any | None:
            found = self._query(
                "SELECT ordinal FROM runlife_steps WHERE run_id = ? AND id = ?", (run_id, cursor)
            )
            return found[0][0] if found else None

        def missing(cursor: str) -> Exception:
            self._fetch(run_id)  # RunNotFound first, when there is no such run
            return StepNotFound(run_id, cursor)

        page = window(
            "ordinal",
            ordinal_of,
            missing,
            limit=limit,
            order=order,
            after=after,
            before=before,
        )
        rows = self._query(
            "SELECT body FROM runlife_steps "
            f"WHERE {' AND '.join(['run_id = ?', *page.where])} "
            f"ORDER BY ordinal {page.direction} LIMIT ?",
            (run_id, *page.params, page.fetch),
        )
        if not rows:
            self._fetch(run_id)  # RunNotFound when there is no such run
        bodies, has_more = page.cut([r[0] for r in rows])
        steps = load_steps(run_id, bodies)
        return StepPage(
            steps, steps[0].id if steps else None, steps[-1].id if steps else None, has_more
        )

    def get_step(self, run_id: str, step_id: str) -> RunStep:
        """The stored step *step_id* of run *run_id*.

        Raises:
            RunNotFound: no such run.
            StepNotFound: the run has no such step (also a ``LookupError``).
            InvalidRun: the stored step does not load.
        """
        rows = self._query(SELECT_STEP, (run_id, step_id))
        if not rows:
            self._fetch(run_id)  # RunNotFound when there is no such run
            raise StepNotFound(run_id, step_id)
        return load_steps(run_id, [rows[0][0]])[0]

    def counts(self) -> dict[str, int]:
        """How many runs are stored in each status (statuses with none are left out)."""
        rows = self._query("SELECT status, COUNT(*) FROM runlife_runs GROUP BY status")
        return {status: int(n) for status, n in rows}

    # --- moving -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def move(self, run: Run | str, *, worker: str | None = None) -> Iterator[Run]:
        """Move a stored run: ``with store.move(run_id) as run: run.start()``.

        Loads the run (by id, or the ``Run`` this store handed out, which spares a read),
        lets the block fire any typed triggers on it, and commits them when the block
        ends: one transaction, compare-and-set on the run's version, one history row per
        move, events after the commit. An exception in the block writes nothing and puts
        the run back as stored. After the block the run holds the stored state.

        With *worker*, the run must be held by that worker (claimed and leased): the
        write is fenced, and a worker whose lease lapsed gets ``LeaseLost``. Its moves to
        ``in_progress``/``cancelling`` renew the lease; other moves release the run.

        If another writer moved the run first, the same triggers are fired again on the
        fresh state (up to ``retries`` times): a lost race ends in the engine's own
        ``IllegalTransition``/``GuardRejected``, or ``Conflict`` once retries run out.

        Raises:
            RunNotFound, InvalidRun, IllegalTransition, GuardRejected, Conflict, LeaseLost.
        """
        held = self._begin(run, worker)
        with self.engine.collect() as events:
            try:
                yield held.run
            except BaseException:
                self._restore(held.run, held)
                raise
        own, other = _own(events, held.run.id)
        try:
            self._finish(held, own, worker)
        finally:
            self.engine.publish(other)  # moves of other runs made in the block: not ours

    def _begin(self, target: Run | str, worker: str | None) -> _Held:
        if worker is not None and (not isinstance(worker, str) or not worker):
            raise ValueError(f"worker: expected a non-empty string, got {worker!r}")
        if isinstance(target, Run):
            hit = self._versions.get(target)
            hist_len = len(target.history)
            if hit is not None:  # unchanged since stored: its steps are the stored ones
                self.engine.adopt(target, action="move")
                return _Held(target, hit[0], hit[1], hist_len, target.steps)
            row, steps = self._read(target.id)
            if worker is not None:
                self._check_lease(row, worker, self._now())
            stored = self._load(row, steps)
            self.engine.reset(target, stored, version=row.version)
            return _Held(target, row.version, row.body, hist_len, stored.steps)
        row, steps = self._read(target)
        if worker is not None:
            self._check_lease(row, worker, self._now())
        run = self._load(row, steps)
        return _Held(run, row.version, row.body, 0, run.steps)

    def _finish(self, held: _Held, events: list[RunEvent], worker: str | None) -> None:
        """Write the moves the block made on *held* (*events* theirs), then publish them."""
        run = held.run
        moves = run.history[held.hist_len :]
        if not moves:
            self._settle(run, held.version, held.body)
            return
        try:
            write, events = self._commit(held, moves, events, worker)
        except BaseException:
            self._restore(run, held)  # the last stored state seen
            raise
        self._settle(run, write.new_version, write.body)
        self.engine.publish(events)

    def _commit(
        self,
        held: _Held,
        moves: Sequence[Move],
        events: list[RunEvent],
        worker: str | None,
    ) -> tuple[Write, list[RunEvent]]:
        """Write *moves* compare-and-set, firing them again on fresh state after a lost race.

        Returns the write and the events of the moves written. After a lost race *held.run*
        is reset to the fresh row and the moves fired on it again (their ``Move.args`` are
        what the caller passed, checked). Keeps *held.body* the last stored state seen, for
        the caller to restore on failure.
        """
        run = held.run
        version = held.version
        for _attempt in range(self.retries + 1):
            now = self._now()
            write, rows, steps = self._plan(
                run.id,
                (version, held.body),
                moves,
                events,
                (held.steps, run.steps),
                worker=worker,
                now=now,
            )
            fence = (worker, now) if worker is not None else None
            try:
                done = run.id in self._write_once([write], rows, steps, fence)
            except Lost as lost:
                done = self._outcome(write, lost)
            if done:
                return write, events
            self._count("conflicts")
            row, bodies = self._read(run.id)
            stored = self._load(row, bodies)
            held.body, held.version, held.steps = row.body, row.version, stored.steps
            if worker is not None:
                self._check_lease(row, worker, self._now())
            version = row.version
            events = self._fire_again(held, stored, row, moves, locked=False)
            moves = run.history[held.hist_len :]
        return self._locked_commit(held, moves, worker)

    def _fire_again(
        self, held: _Held, fresh: Run, row: Row, moves: Sequence[Move], *, locked: bool
    ) -> list[RunEvent]:
        """Reset the run to *fresh* (*row* loaded, with its steps), fire *moves* again; events.

        What a write does after another writer moved the run first (``locked``: under the
        row's lock, the last try). A move that no longer applies is raised with a note that
        says so.
        """
        run = held.run
        self.engine.reset(run, fresh, version=row.version, keep_history=held.hist_len)
        with self.engine.collect() as events:
            try:
                for move in moves:
                    if move.trigger in STEP_OPS:
                        self.engine.fire_step(run, move.trigger, move.args)
                    else:
                        self.engine.fire(run, move.trigger, move.args)
            except RunlifeError as exc:
                exc.add_note(
                    f"run {run.id} was moved by another writer first (now version "
                    f"{row.version}, {row.status}); the move was tried again on that state"
                    + (", under the row's lock" if locked else "")
                )
                raise
        return events

    def _locked_commit(
        self, held: _Held, moves: Sequence[Move], worker: str | None
    ) -> tuple[Write, list[RunEvent]]:
        """Write *moves* under the row's lock, fired again on what the lock holds: cannot lose.

        The last step of ``_commit`` (see the module's docstring): one transaction locks the
        run's row, reads it, checks the lease, fires the moves on it and writes them. A
        connection that breaks on the way leaves the outcome to ``_outcome``, as an
        optimistic write's.
        """
        run = held.run
        self._count("locked")
        planned: Write | None = None
        try:
            with self._tx() as tx:
                found = split(tx.query(with_steps(sql.SELECT_RUN_K + self._row_lock), (run.id,)))
                if not found:
                    raise RunNotFound(run.id)
                row, bodies = found[0]
                stored = self._load(row, bodies)
                held.body, held.version, held.steps = row.body, row.version, stored.steps
                now = self._now()
                if worker is not None:
                    self._check_lease(row, worker, now)
                events = self._fire_again(held, stored, row, moves, locked=True)
                fresh = run.history[held.hist_len :]
                write, rows, steps = self._plan(
                    run.id,
                    (row.version, row.body),
                    fresh,
                    events,
                    (held.steps, run.steps),
                    worker=worker,
                    now=now,
                )
                planned = write
                fence = (worker, now) if worker is not None else None
                _write_locked(tx, write, rows, steps, fence)
        except StoreError as exc:
            if planned is None:
                raise
            if not self._outcome(planned, Lost(str(exc))):
                raise
        return write, events

    def _outcome(self, write: Write, lost: Lost) -> bool:
        """Whether a write whose connection broke was committed (re-read on a new connection)."""
        try:
            row = self._fetch(write.id)
        except StoreError as exc:
            raise StoreError(
                f"the connection broke while run {write.id} was being written, and the store "
                f"cannot be reached to tell whether the move was applied: re-read the run "
                f"({lost})"
            ) from exc
        if row.version == write.new_version:
            return row.body == write.body
        if row.version < write.new_version:
            return False
        # Moved on since: the run rebuilt from its history at our version tells whose write
        # it was.
        landed = self._rebuild(write.id, write.new_version - 1, write.new_version)
        return bool(landed) and dumps(landed[-1].data) == write.body

    def update_metadata(self, run_id: str, metadata: Mapping[str, Any]) -> Run:
        """Replace the metadata of a stored run, active or not (not a lifecycle move).

        The engine's ``update`` (the same rules as on creation: at most 16 pairs, string
        keys up to 64 characters, string values up to 512), stored like a move: it bumps the
        version and writes a ``metadata`` history row, compare-and-set, and after ``retries``
        lost races under the row's lock, so it never overwrites a concurrent move and is never
        refused because the run kept changing. It emits no event (the API streams none for
        it). Returns the run as stored after it (its ``version`` is the stored one).

        Raises:
            RunNotFound, InvalidRun (the metadata breaks a rule; nothing written).
        """
        for _attempt in range(self.retries + 1):
            row, steps = self._read(run_id)
            run, write, event = self._metadata_write(row, steps, metadata)
            try:
                done = row.id in self._write_once([write], [event], [], None)
            except Lost as lost:
                done = self._outcome(write, lost)
            if done:
                self._settle(run, write.new_version, write.body)
                return run
            self._count("conflicts")
        self._count("locked")
        planned: Write | None = None
        try:
            with self._tx() as tx:
                found = split(tx.query(with_steps(sql.SELECT_RUN_K + self._row_lock), (run_id,)))
                if not found:
                    raise RunNotFound(run_id)
                run, write, event = self._metadata_write(*found[0], metadata)
                planned = write
                _write_locked(tx, write, [event], [], None)
        except StoreError as exc:
            if planned is None or not self._outcome(planned, Lost(str(exc))):
                raise
        self._settle(run, write.new_version, write.body)
        return run

    def _metadata_write(
        self, row: Row, steps: Sequence[str], metadata: Mapping[str, Any]
    ) -> tuple[Run, Write, HistoryRow]:
        """The run with *metadata* set on stored *row*, its write and its history row.

        Its stored *steps* stay as they are.
        """
        run = self._load(row, steps)  # the row must be sound
        self.engine.update(run, metadata=metadata)
        data = to_dict(run)
        body = dumps(data)
        args = dumps({"metadata": data["metadata"]})
        changes, full = _delta_or_body(json.loads(row.body), data, args)
        write = Write(
            row.id,
            row.version,
            row.version + 1,
            row.status,
            data["expires_at"],
            body,
            KEEP,
            None,
            None,
        )
        event = HistoryRow(
            row.id,
            row.version + 1,
            "metadata",
            None,
            row.status,
            row.status,
            self._now(),
            None,
            args,
            changes,
            full,
        )
        return run, write, event

    # --- workers ----------------------------------------------------------------------------

    def claim(self, limit: int = 1, *, worker: str) -> list[Run]:
        """Take up to *limit* queued runs, first created first (``seq``), start them for *worker*.

        One transaction: the runs are locked (PostgreSQL ``FOR UPDATE SKIP LOCKED``, SQLite
        ``BEGIN IMMEDIATE``), started through the engine, leased to *worker* for
        ``lease`` seconds, and written with their history rows. No run is ever given to two
        workers. Queued runs past their ``expires_at`` are left to ``expire_due``. A row that
        does not load is quarantined (see ``quarantined``), logged, and skipped.

        Move the returned runs with ``store.move(run, worker=worker)``; keep them with
        ``heartbeat``.
        """
        if type(limit) is not int or limit < 1:
            raise ValueError(f"limit: expected an int >= 1, got {limit!r}")
        if not isinstance(worker, str) or not worker:
            raise ValueError(f"worker: expected a non-empty string, got {worker!r}")
        now = self._now()
        claimed: list[tuple[Run, Write]] = []
        collected: list[RunEvent] = []
        with self._tx() as tx:
            while len(claimed) < limit:
                want = limit - len(claimed)
                rows = split(tx.query(with_steps(sql.CLAIM + self._lock_clause), (now, want)))
                batch: list[tuple[Run, Write]] = []
                events: list[HistoryRow] = []
                steps: list[StepRow] = []
                for row, stored in rows:
                    try:
                        run = self._load(row, stored)
                        before = run.steps
                        with self.engine.collect() as caught:
                            self.engine.fire(run, "start", at=now)
                    except RunlifeError as exc:
                        self._quarantine(tx, row, exc)
                        continue
                    write, rows_, steps_ = self._plan(
                        run.id,
                        (row.version, row.body),
                        run.history,
                        caught,
                        (before, run.steps),
                        worker=worker,
                        now=now,
                    )
                    collected += caught
                    batch.append((run, write))
                    events += rows_
                    steps += steps_
                writes = [w for _, w in batch]
                written = tx.write(writes, events, steps, None) if batch else set()
                claimed += [(r, w) for r, w in batch if r.id in written]
                if len(rows) < want:
                    break
        ids = {run.id for run, _ in claimed}
        for run, write in claimed:
            self._settle(run, write.new_version, write.body)
        self.engine.publish([e for e in collected if e.run_id in ids])
        return [run for run, _ in claimed]

    def heartbeat(self, worker: str, run_ids: Sequence[str] | None = None) -> list[str]:
        """Extend *worker*'s leases (all its runs, or *run_ids*) by ``lease`` seconds from now.

        Only leases still held are extended; a lapsed lease is lost for good (the run may
        already be rescued). Returns the ids of the runs *worker* still holds.
        """
        now = self._now()
        statement = "UPDATE runlife_runs SET lease_until = ? WHERE worker = ? AND lease_until >= ?"
        params: list[Any] = [now + self.lease, worker, now]
        if run_ids is not None:
            if not run_ids:
                return []
            statement += f" AND id IN ({', '.join('?' * len(run_ids))})"
            params += list(run_ids)
        with self._tx() as tx:
            rows = tx.query(statement + " RETURNING id", params)
        return sorted(r[0] for r in rows)

    def expire_due(self, now: int | None = None, *, batch: int = 500) -> Sweep:
        """Expire every active run whose ``expires_at`` has passed (``<= now``).

        Walks the partial index of active runs by deadline in batches of *batch*, each
        batch one transaction (skipping rows other sweepers hold), so its cost follows the
        runs expired, and several processes may sweep at once: each run is expired exactly
        once. Rows that do not load are quarantined and skipped.
        """
        when = self._now() if now is None else now

        def act(run: Run, _row: Row) -> None:
            self.engine.fire(run, "expire", at=when)

        return self._sweep([(sql.DUE, (when,))], act, when, batch)

    def rescue(self, now: int | None = None, *, batch: int = 500) -> Sweep:
        """End the runs whose worker stopped heartbeating, through the lifecycle table.

        A run held by a worker whose lease lapsed (``lease_until < now``) ends as if its
        worker had crashed: ``in_progress`` fails with ``server_error``; ``cancelling`` is
        finished as ``cancelled``. A ``cancelling`` run that no worker holds (cancelled while
        queued or waiting for tool outputs) is finished as ``cancelled`` too. There is no
        way back to ``queued``: the table has no such move, and the dead worker may have
        had side effects (documented in ``docs/store.md``).
        """
        when = self._now() if now is None else now

        def act(run: Run, row: Row) -> None:
            if run.status == "cancelling":
                self.engine.fire(run, "finish_cancel", at=when)
            else:
                message = (
                    f"the worker running it ({row.worker}) stopped: its lease lapsed at "
                    f"{row.lease_until}"
                )
                self.engine.fire(run, "fail", {"code": "server_error", "message": message}, at=when)

        return self._sweep([(sql.LAPSED, (when,)), (sql.UNHELD_CANCEL, ())], act, when, batch)

    def _sweep(
        self,
        selects: Sequence[tuple[str, tuple[Any, ...]]],
        act: Callable[[Run, Row], None],
        now: int,
        batch: int,
    ) -> Sweep:
        if type(batch) is not int or batch < 1:
            raise ValueError(f"batch: expected an int >= 1, got {batch!r}")
        if type(now) is not int or now < 0:
            raise ValueError(f"now: expected an int of Unix seconds >= 0, got {now!r}")
        moved: list[str] = []
        invalid: list[InvalidRun] = []
        for select, params in selects:
            while True:
                done: list[tuple[Run, Write]] = []
                collected: list[RunEvent] = []
                with self._tx() as tx:
                    rows = split(tx.query(with_steps(select + self._lock_clause), (*params, batch)))
                    writes: list[Write] = []
                    events: list[HistoryRow] = []
                    steps: list[StepRow] = []
                    for row, stored in rows:
                        try:
                            run = self._load(row, stored)
                            before = run.steps
                            with self.engine.collect() as caught:
                                act(run, row)
                        except RunlifeError as exc:
                            invalid.append(self._quarantine(tx, row, exc))
                            continue
                        write, rows_, steps_ = self._plan(
                            run.id,
                            (row.version, row.body),
                            run.history,
                            caught,
                            (before, run.steps),
                            worker=None,
                            now=now,
                        )
                        collected += caught
                        writes.append(write)
                        events += rows_
                        steps += steps_
                        done.append((run, write))
                    written = tx.write(writes, events, steps, None) if writes else set()
                moved += [run.id for run, _ in done if run.id in written]
                self._versions.drop(run.id for run, _ in done)
                self.engine.publish([e for e in collected if e.run_id in written])
                if len(rows) < batch:
                    break
        return Sweep(tuple(moved), tuple(invalid))

    # --- history ----------------------------------------------------------------------------

    def events_since(
        self, run_id: str, version: int = -1, *, limit: int | None = None
    ) -> list[StoredEvent]:
        """The stored history rows of *run_id* after *version* (all of them by default).

        The creation is version 0, each move or metadata update one more (the numbering of
        ``run.version`` and ``RunEvent.version``). A follower in another process reads
        ``events_since(run_id, last_version_seen)`` and misses no state: every creation,
        move and metadata update wrote its row, with what it changed, in the same
        transaction. Each row's ``data`` is the wire object after it, rebuilt from the
        creation's body and the rows' changes (schema version 2), exactly as stored; each
        move's row has its step events (``step_events``, schema version 3: what the stream
        sends before the run's own event; ``StoredEvent.stream_events()``).
        *limit*: at most this many rows.

        Raises:
            RunNotFound: no such run.
            ValueError, TypeError: *limit* is not an int >= 0, *version* not an int.
        """
        if limit is not None and (type(limit) is not int or limit < 0):
            raise ValueError(f"limit: expected an int >= 0, got {limit!r}")
        if type(version) is not int:
            raise TypeError(f"version: expected an int, got {version!r}")
        upto = _NO_END if limit is None else version + limit
        events = self._rebuild(run_id, version, upto) if upto > version else []
        if not events:
            self._fetch(run_id)  # RunNotFound when there is no such run
        return events

    def _rebuild(self, run_id: str, since: int, upto: int) -> list[StoredEvent]:
        """The history rows of *run_id* after *since* up to *upto*, each with its run.

        Reads from the last row at or before ``since + 1`` that holds a whole body (the
        creation at the latest: later rows hold only their changes) and replays forward.
        """
        start = max(since + 1, 0)
        rows = self._query(sql.EVENTS_FROM_BASE, (run_id, upto, run_id, start))
        out: list[StoredEvent] = []
        state: dict[str, Any] = {}
        for r in rows:
            args = json.loads(r[8])
            state = json.loads(r[10]) if r[10] is not None else replay(state, r[9], args)
            if r[1] > since:
                data = json.loads(dumps(state))  # each event's own copy, as read from a body
                steps = json.loads(r[11]) if r[11] is not None else []
                out.append(
                    StoredEvent(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], args, data, steps)
                )
        return out

    def history(self, run_id: str) -> list[Move]:
        """The stored moves of *run_id*, oldest first (creation and metadata rows left out).

        Each move's ``steps`` are told by its row's step events (schema 3), so the moves
        rebuild the run with its steps, ids and all (``runlife.rebuild``).

        Raises:
            RunNotFound: no such run.
        """
        rows = self._query(
            "SELECT trigger, source, dest, at, args, steps FROM runlife_events "
            "WHERE run_id = ? AND kind = 'move' ORDER BY version",
            (run_id,),
        )
        if not rows:
            self._fetch(run_id)
        return [
            Move(t, s, d, a, json.loads(args), step_moves(steps))
            for t, s, d, a, args, steps in rows
        ]

    def tool_outputs(self, run_id: str) -> list[dict[str, str]] | None:
        """The tool outputs last submitted to *run_id*, or ``None`` if none were.

        A worker that claims a re-queued run continues with them.

        Raises:
            RunNotFound: no such run.
        """
        # One round trip: no row means no run; a NULL means no outputs yet.
        rows = self._query(
            "SELECT (SELECT args FROM runlife_events WHERE run_id = r.id "
            "AND trigger = 'submit_tool_outputs' ORDER BY version DESC LIMIT 1) "
            "FROM runlife_runs r WHERE r.id = ?",
            (run_id,),
        )
        if not rows:
            raise RunNotFound(run_id)
        if rows[0][0] is None:
            return None
        outputs: list[dict[str, str]] = json.loads(rows[0][0])["tool_outputs"]
        return outputs

    # --- maintenance ------------------------------------------------------------------------

    def purge(self, before: int, *, batch: int = 500) -> int:
        """Delete terminal runs created before *before* (Unix seconds), history and steps too.

        In batches of *batch*, each one transaction; never an active run. Returns how
        many runs were deleted.
        """
        if type(before) is not int:
            raise TypeError(f"before: expected an int of Unix seconds, got {before!r}")
        if type(batch) is not int or batch < 1:
            raise ValueError(f"batch: expected an int >= 1, got {batch!r}")
        total = 0
        while True:
            with self._tx() as tx:
                ids = [r[0] for r in tx.query(sql.PURGEABLE + self._lock_clause, (before, batch))]
                if ids:
                    marks = ", ".join("?" * len(ids))
                    tx.execute(f"DELETE FROM runlife_events WHERE run_id IN ({marks})", ids)
                    tx.execute(f"DELETE FROM runlife_steps WHERE run_id IN ({marks})", ids)
                    total += tx.execute(
                        f"DELETE FROM runlife_runs WHERE id IN ({marks}) "
                        f"AND status IN {sql.TERMINAL_SQL}",
                        ids,
                    )
            self._versions.drop(ids)
            if len(ids) < batch:
                return total

    def quarantined(self, limit: int = 100) -> list[tuple[str, str]]:
        """Rows that a claim or sweep could not load: ``(run_id, the InvalidRun message)``.

        They are skipped by claims and sweeps until repaired: fix the row's ``body`` and set
        its ``invalid`` column back to NULL (see ``docs/store.md``).
        """
        rows = self._query(
            "SELECT id, invalid FROM runlife_runs WHERE invalid IS NOT NULL ORDER BY id LIMIT ?",
            (limit,),
        )
        return [(r[0], r[1]) for r in rows]
