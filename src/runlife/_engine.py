"""The engine: creates, loads and moves runs through a table's machine, and tells listeners.

A move is planned first (the table, the guards, the stamps: ``runlife._guards``), fired on
the table's ``transitions`` machine (``runlife._machine``), and written by the one commit
(``runlife._commit``); any refusal leaves the run exactly as it was. Listeners hear of each
move afterwards, outside the run's lock, unless a ``collect()`` scope holds the events back
for a store to publish after its own commit.

The public hooks that the store, ``aio``, replay and restore build on are methods here:
``fire``/``may`` (a trigger by name, optionally at a given time), ``collect``/``publish``,
``adopt`` (bind a run, at a version), ``reset`` (put a run back to a stored state),
``update`` (the API's metadata update) and ``report_listener_failure``.
docs/embedding.md shows each.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Final

from ._clock import Clock, SystemClock
from ._commit import bind, commit, reset, set_metadata, set_steps, set_version
from ._create import checked_fields, new_run
from ._encode import life_of
from ._errors import GuardRejected, IllegalTransition, InvalidRun, RunlifeError
from ._events import Listeners, RunEvent, StepEvent
from ._guards import planners
from ._history import Move
from ._ids import new_id, new_step_id
from ._json import freeze, thaw
from ._live import LiveRuns
from ._machine import MACHINE, Model, build_machine, events_of
from ._record import NO_ARGS, Run
from ._snapshot import restore
from ._state import bind_default_engine
from ._status import TERMINAL, RunStatus
from ._step_record import RunStep
from ._step_table import STEP_OPS
from ._steps import StepChange, plan_move, plan_op, steps_idle
from ._structure import field_problems
from ._table import TABLE, Table
from ._wire import from_dict

__all__ = ["RunEngine", "default_engine"]

_log = logging.getLogger("runlife")

Listener = Callable[[RunEvent], object]
ErrorHook = Callable[[RunEvent, BaseException], object]

_EVENT_NAMES: Final = {s: f"thread.run.{s.value}" for s in RunStatus}

#: The events a ``collect()`` scope holds back: (engine, events) of this thread or task.
_COLLECTING: Final[contextvars.ContextVar[tuple[RunEngine, list[RunEvent]] | None]] = (
    contextvars.ContextVar("runlife_collecting", default=None)
)


def _bad_clock(where: str, now: object) -> InvalidRun:
    return InvalidRun(
        [(f"$.{where}", f"the clock returned {now!r}; expected an int of Unix seconds >= 0")]
    )


class _Trigger:
    """What the engine keeps of one row: plan, machine event, sources, argument names.

    *steps_idle*: the move never touches the run's steps (its coupling ends and opens
    nothing, and it sets no usage the steps could be checked against or fill): ``start``
    and ``cancel``. ``plan_move`` answers ``None`` for those anyway (a test holds the two
    to each other); knowing it here skips the call.
    """

    __slots__ = ("event", "names", "optional", "plan", "row", "sources", "steps_idle")

    def __init__(self, row: Any, plan: Any, event: Any) -> None:
        self.row = row
        self.plan = plan
        self.event = event
        self.sources = frozenset(row.sources)
        self.names = frozenset(p.name for p in row.params)
        self.optional = tuple(p.name for p in row.params if p.optional)
        self.steps_idle = steps_idle(row.trigger, row.dest)


class RunEngine:
    """Creates, loads and moves runs: the clock, the ttl, the listeners and the history.

    Args:
        clock: returns integer Unix seconds (``SystemClock()`` by default; ``ManualClock``
            for tests and simulations).
        ttl: seconds from creation to ``expires_at`` (an int > 0; 600 as the API).
        id_factory: makes run ids (``"run_" + 24 URL-safe characters`` by default).
        record_history: keep each run's moves (``run.history``); on by default.
        on_listener_error: called with ``(event, exception)`` when a listener raises.
        index_deadlines: keep an index of the live runs' ``expires_at`` so that
            ``expire_due()`` finds the due runs without looking at the others.
        one_active_run_per_thread: refuse to create (or load) a run while another run of
            the same ``thread_id`` is active, as the API does (``ThreadBusy``).
        table: the transition table (``runlife.TABLE``, the lifecycle's, by default).
        steps: keep each run's steps (``run.steps``), moved by the run's moves as the
            coupling table says (``runlife.COUPLING``); on by default. Off, a move does no
            step work at all, and ``run.steps`` stays empty.
        step_id_factory: makes step ids (``"step_" + 24 URL-safe characters`` by default).

    Both indexes hold the active runs this engine created, loaded, adopted or restored, and
    forget each run in the commit of its terminal move. Runs bound to the engine by
    ``from_dict(..., engine=...)`` are not indexed: use ``load``.

    Thread-safety: an engine may be shared by threads; each run's moves are serialised by
    the run's own lock, and listeners are called after the move, outside that lock, so two
    threads moving one run may deliver its events out of order: ``RunEvent.version`` orders
    them.
    """

    __slots__ = (
        "_listeners",
        "_live",
        "_triggers",
        "clock",
        "id_factory",
        "on_listener_error",
        "record_history",
        "step_id_factory",
        "steps",
        "table",
        "ttl",
    )

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        ttl: int = 600,
        id_factory: Callable[[], str] | None = None,
        record_history: bool = True,
        on_listener_error: ErrorHook | None = None,
        index_deadlines: bool = False,
        one_active_run_per_thread: bool = False,
        table: Table = TABLE,
        steps: bool = True,
        step_id_factory: Callable[[], str] | None = None,
    ) -> None:
        if type(ttl) is not int or ttl <= 0:
            raise InvalidRun([("ttl", f"expected an int of seconds > 0, got {ttl!r}")])
        if clock is not None and not callable(clock):
            raise TypeError(f"clock: expected a callable returning Unix seconds, got {clock!r}")
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.ttl = ttl
        #: Makes run ids.
        self.id_factory: Callable[[], str] = id_factory or new_id
        self.record_history = record_history
        self.on_listener_error = on_listener_error
        self.table = table
        if type(steps) is not bool:
            raise TypeError(f"steps: expected True or False, got {steps!r}")
        #: Whether runs keep their steps.
        self.steps = steps
        #: Makes step ids.
        self.step_id_factory: Callable[[], str] = step_id_factory or new_step_id
        events = events_of(MACHINE if table is TABLE else build_machine(table))
        plans = planners(table)
        self._triggers = {
            row.trigger: _Trigger(row, plans[row.trigger], events[row.trigger])
            for row in table.rows
        }
        self._listeners = Listeners()
        self._live: LiveRuns | None = (
            LiveRuns(deadlines=index_deadlines, threads=one_active_run_per_thread)
            if index_deadlines or one_active_run_per_thread
            else None
        )

    def __repr__(self) -> str:
        return f"RunEngine(clock={self.clock!r}, ttl={self.ttl})"

    # --- time ------------------------------------------------------------------------------

    def _now(self, where: str) -> int:
        """The clock's time; *where* names what it is for (``created_at`` or the trigger)."""
        now = self.clock()
        if type(now) is not int or now < 0:
            raise _bad_clock(where, now)
        return now

    # --- creating, loading, adopting --------------------------------------------------------

    def create(self, *, extra: Mapping[str, Any] | None = None, **fields: Any) -> Run:
        """Create a new ``queued`` run.

        *fields* are the wire object's fields the caller chooses (``assistant_id``,
        ``thread_id`` and ``model`` are required; ``id`` is generated unless given), as
        wire-shaped values or the record's attrs classes. *extra* holds keys the record does
        not know, written after the known ones. Every documented rule is enforced. Inside a
        ``collect()`` scope the ``thread.run.created`` event is collected, not delivered.

        Raises:
            InvalidRun: a field is unknown, owned by the engine, missing or breaks a rule;
                every problem is listed, each with its path.
            ThreadBusy: with ``one_active_run_per_thread``, another run of the same
                ``thread_id`` is active (it names the thread and that run).
        """
        values, extra_keys = checked_fields(fields, extra)
        now = self._now("created_at")
        if "id" not in values:
            made_id = values["id"] = self.id_factory()
            if type(made_id) is not str or not made_id:
                raise InvalidRun(
                    [("$.id", f"id_factory returned {made_id!r}; expected a non-empty string")]
                )
        run = new_run(values, extra_keys, now, now + self.ttl)
        bind(run, self)
        listeners = self._listeners.listeners
        collecting = _COLLECTING.get()
        made = None
        if listeners or (collecting is not None and collecting[0] is self):
            # Before the indexes hold it: from then on, other threads may move the run.
            made = RunEvent.of_move("thread.run.created", run, None, None, now, 0)
        if self._live is not None:
            self._live.adopt(run, "create")
        if made is not None:
            self._deliver(made)
        return run

    def load(self, data: Any, *, fill_missing: bool = False) -> Run:
        """Resume a run from its wire dict, in whatever status it had, bound to this engine.

        Loading checks structure only: rule breaks are kept (see ``check``). The run's
        ``version`` starts at 0 and its history is empty: ``restore`` a ``runlife.dump``
        document to keep them. An active run joins the engine's indexes. *fill_missing*
        loads an older API shape as ``from_dict`` does.

        Raises:
            InvalidRun: *data* is not structurally a run.
            ThreadBusy: with ``one_active_run_per_thread``, another run is active on the
                run's thread.
        """
        run = from_dict(data, fill_missing=fill_missing)
        self.adopt(run, action="load")
        return run

    def adopt(
        self,
        run: Run,
        *,
        version: int | None = None,
        action: str = "adopt",
        steps: Iterable[RunStep] | None = None,
    ) -> None:
        """Bind *run* to this engine and add it to the indexes; with *version*, set its version.

        What a store does with a run it read back (at the version its row holds), and
        restore and replay with the runs they rebuild. *action* names the operation in a
        ``ThreadBusy`` message. *steps* (``None``: as they are) become the run's steps: the
        ones the store read back with it, oldest first. An engine that keeps no steps
        (``steps=False``) drops the run's: its moves would leave them stranded.

        Raises:
            ThreadBusy: with ``one_active_run_per_thread``, another run is active on the
                run's thread (the run is then left unbound).
            ValueError: *version* is not an int >= 0.
        """
        if version is not None and (type(version) is not int or version < 0):
            raise ValueError(f"version: expected an int >= 0, got {version!r}")
        held = None if steps is None else _checked_steps(run, steps)
        if not self.steps:
            held = ()  # an engine that keeps no steps holds none: its moves would strand them
        with run._state.lock:
            if self._live is not None:
                self._live.adopt(run, action)
            bind(run, self)
            if version is not None:
                set_version(run, version)
            if held is not None:
                set_steps(run, held)

    def restore(self, doc: Any, *, verify: bool = False) -> Run:
        """Resume a run from a ``runlife.dump`` document: status, stamps, history and version.

        See ``runlife.restore``.
        """
        return restore(doc, engine=self, verify=verify)

    def derive(self, **changes: Any) -> RunEngine:
        """A new engine with this one's settings (clock, ttl, ids, history, table, steps), *changes* applied.

        It shares no listeners and no indexes with this one: what replay moves runs on
        (``record_history=True``), and what a store may use for work of its own.
        """
        settings: dict[str, Any] = {
            "clock": self.clock,
            "ttl": self.ttl,
            "id_factory": self.id_factory,
            "record_history": self.record_history,
            "on_listener_error": self.on_listener_error,
            "table": self.table,
            "steps": self.steps,
            "step_id_factory": self.step_id_factory,
        }
        settings.update(changes)
        return RunEngine(**settings)

    # --- live runs ---------------------------------------------------------------------------

    def expire_due(self, *, limit: int | None = None) -> list[Run]:
        """Expire every indexed run whose ``expires_at`` the clock has reached; return them.

        Needs ``RunEngine(index_deadlines=True)``. Costs time in proportion to the runs
        expired, not to the runs alive. *limit* bounds a batch (the earliest deadlines go
        first; call again for the rest). A run that another thread ends meanwhile is
        skipped: exactly one of the two moves wins. Safe to call from several threads.

        Raises:
            RunlifeError: the engine does not index deadlines.
        """
        live = self._live
        if live is None or not live.deadlines:
            raise RunlifeError(
                "expire_due() needs an index of deadlines: RunEngine(index_deadlines=True)"
            )
        if limit is not None and (type(limit) is not int or limit < 1):
            raise ValueError(f"limit: expected an int >= 1 or None, got {limit!r}")
        due = live.pop_due(self._now("expire"), limit)
        expired: list[Run] = []
        for i, run in enumerate(due):
            try:
                self.fire(run, "expire")
            except IllegalTransition:
                continue  # ended by another move since: nothing to expire, nothing to keep
            except GuardRejected:
                live.adopt(run, "expire")  # not due by the clock after all (it went back)
                continue
            except BaseException:
                for rest in due[i:]:
                    live.adopt(rest, "expire")
                raise
            expired.append(run)
        return expired

    @property
    def index_deadlines(self) -> bool:
        """Whether this engine indexes its live runs' deadlines (``expire_due``)."""
        return self._live is not None and self._live.deadlines

    @property
    def one_active_run_per_thread(self) -> bool:
        """Whether this engine refuses a second active run on a thread (``ThreadBusy``)."""
        return self._live is not None and self._live.threads

    def next_deadline(self) -> int | None:
        """The earliest ``expires_at`` among the indexed live runs, or ``None``.

        A sweeper can sleep until then. Needs ``RunEngine(index_deadlines=True)`` (else ``None``).
        """
        return None if self._live is None else self._live.next_deadline()

    def active_run(self, thread_id: str) -> Run | None:
        """The active run of *thread_id*, with ``one_active_run_per_thread`` (else ``None``)."""
        return None if self._live is None else self._live.active_run(thread_id)

    # --- listeners and events ------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call *listener* with a ``RunEvent`` after each successful move; returns the unsubscribe.

        Listeners observe, they do not veto: they run after the move, outside the run's
        lock; an exception in one is logged (logger ``runlife``) and handed to
        *on_listener_error*, and never undoes the move or reaches the trigger's caller.
        """
        return self._listeners.add(listener)

    @property
    def listeners(self) -> tuple[Listener, ...]:
        """The listeners subscribed now, in the order they are called."""
        return self._listeners.listeners

    @contextlib.contextmanager
    def collect(self) -> Iterator[list[RunEvent]]:
        """A scope in which this engine's events are collected instead of delivered.

        Every create and move of this engine on this thread (or asyncio task) inside the
        ``with`` block appends its event to the list it yields, whether or not anyone
        listens, and no listener hears of it: ``publish`` the list once what the events
        describe is durable (a store's commit), or drop it. Scopes nest: the inner one
        collects.
        """
        events: list[RunEvent] = []
        token = _COLLECTING.set((self, events))
        try:
            yield events
        finally:
            _COLLECTING.reset(token)

    def publish(self, events: Iterable[RunEvent]) -> None:
        """Deliver *events* (collected by ``collect``) to the listeners now, in order.

        Published events are final: they go to the listeners even inside another
        ``collect()`` scope (a store publishes what it committed, whoever collects around it).
        """
        listeners = self._listeners.listeners
        if listeners:
            for event in events:
                self._call(listeners, event)

    def report_listener_failure(self, listener: object, event: RunEvent, exc: Exception) -> None:
        """Log a listener's exception and hand it to *on_listener_error* (never raises).

        For those who deliver events themselves (``aio``'s async listeners).
        """
        _log.exception("listener %r failed on %s of run %s", listener, event.event, event.run_id)
        hook = self.on_listener_error
        if hook is not None:
            try:
                hook(event, exc)
            except Exception:  # noqa: BLE001
                _log.exception(
                    "on_listener_error failed on %s of run %s", event.event, event.run_id
                )

    def _deliver(self, event: RunEvent) -> None:
        collecting = _COLLECTING.get()
        if collecting is not None and collecting[0] is self:
            collecting[1].append(event)
        else:
            self._call(self._listeners.listeners, event)

    def _call(self, listeners: tuple[Listener, ...], event: RunEvent) -> None:
        # A snapshot: (un)subscribing from a listener affects the next event, not this one.
        for listener in listeners:
            try:
                listener(event)
            except Exception as exc:  # noqa: BLE001 - isolated by contract
                self.report_listener_failure(listener, event, exc)

    # --- moving -----------------------------------------------------------------------------

    def _trigger(self, trigger: str, args: Mapping[str, Any]) -> tuple[_Trigger, Mapping[str, Any]]:
        """The trigger and its complete arguments; ``TypeError`` for bad names."""
        try:
            found = self._triggers[trigger]
        except (KeyError, TypeError):
            raise TypeError(
                f"unknown trigger {trigger!r}; the table's triggers: {', '.join(self.table.triggers)}"
            ) from None
        if args.keys() == found.names:
            return found, args
        unknown = [name for name in args if name not in found.names]
        missing = [name for name in found.names if name not in args and name not in found.optional]
        if unknown or missing:
            takes = ", ".join(found.row.param_names) or "no arguments"
            raise TypeError(
                f"{trigger}() takes {takes}: "
                + "; ".join(
                    [f"unknown {', '.join(unknown)}"] * bool(unknown)
                    + [f"missing {', '.join(missing)}"] * bool(missing)
                )
            )
        return found, {**dict.fromkeys(found.optional), **args}

    def _plan(
        self, run: Run, found: _Trigger, args: Mapping[str, Any], at: int | None, keep: bool
    ) -> tuple[dict[str, Any], dict[str, Any], int]:
        """The table and the guards: (changes, history args, time) or raise. Changes nothing."""
        status = run.status
        if status not in found.sources:
            row = found.row
            allowed = [s.value for s in row.sources]
            raise IllegalTransition(
                run.id, row.trigger, status.value, allowed, self.table.triggers_from(status)
            )
        now = self.clock() if at is None else at
        if type(now) is not int or now < 0:
            raise _bad_clock(found.row.trigger, now)
        changes, record, problems = found.plan(run, args, now, keep)
        if problems:
            raise GuardRejected(run.id, found.row.trigger, problems)
        return changes, record, now

    def fire(
        self, run: Run, trigger: str, args: Mapping[str, Any] = NO_ARGS, /, *, at: int | None = None
    ) -> None:
        """Move *run* by *trigger* (a name of the table) with *args*; all of it, or nothing.

        What the run's trigger methods do (``run.complete(usage)`` is
        ``engine.fire(run, "complete", {"usage": usage})``), for code that has the trigger as
        data: replay, a store's retry, an executor. Optional arguments may be left out. *at*
        is the move's time instead of the clock's (a replayed move's, a database's).

        Raises:
            IllegalTransition, GuardRejected: as the trigger methods.
            TypeError: *trigger* is not one of the table's, or *args* names an unknown
                argument or misses a required one.
            InvalidRun: the clock (or *at*) is not an int of Unix seconds >= 0.
        """
        found, args = self._trigger(trigger, args)
        state = run._state
        made: RunEvent | None = None
        keep = self.record_history
        with state.lock:
            source = run.status
            changes, record, now = self._plan(run, found, args, at, keep)
            emit = bool(self._listeners.listeners) or _COLLECTING.get() is not None
            stepped = (
                self._plan_steps(run, found, changes, record, now, emit=emit)
                if self.steps and not found.steps_idle
                else None
            )
            if stepped is not None and stepped.usage is not None:
                changes["usage"] = stepped.usage  # ended without usage: its steps' sum
            found.event.trigger(Model(source, changes))
            dest = changes["status"]
            version = state.version + 1
            move = origin = None
            if keep:
                move = Move(
                    found.row.trigger,
                    source._value_,
                    dest._value_,
                    now,
                    record,
                    () if stepped is None else stepped.moves,
                )
                if state.history is None:
                    origin = life_of(run)
            live = self._live
            expires_at = run.expires_at
            commit(run, changes, version, move, origin, None if stepped is None else stepped.steps)
            if live is not None and dest in TERMINAL:
                live.forget(run, expires_at)
            if emit:
                made = RunEvent.of_move(
                    _EVENT_NAMES[dest],
                    run,
                    found.row.trigger,
                    source._value_,
                    now,
                    version,
                    () if stepped is None else _step_events(stepped),
                )
        if made is not None:
            self._deliver(made)

    def _plan_steps(
        self,
        run: Run,
        found: _Trigger,
        changes: dict[str, Any],
        record: dict[str, Any],
        now: int,
        *,
        new_step_id: Callable[[], str] | None = None,
        emit: bool = False,
    ) -> StepChange | None:
        """What the move does to the run's steps (the coupling table), or raise. Changes nothing."""
        problems: list[tuple[str, str]] = []
        trigger = found.row.trigger
        stepped = plan_move(
            run,
            run._state.steps,
            trigger,
            found.row.dest,
            changes,
            record.get("tool_outputs"),
            now,
            self.step_id_factory if new_step_id is None else new_step_id,
            problems,
            emit=emit,
        )
        if problems:
            raise GuardRejected(run.id, trigger, problems)
        return stepped

    def fire_step(
        self, run: Run, op: str, args: Mapping[str, Any] = NO_ARGS, /, *, at: int | None = None
    ) -> RunStep:
        """Make the driver's step move *op* on *run*; all of it, or nothing. Returns the step.

        *op* is ``open_message_step`` (``{"message_id": ...}``: a ``message_creation`` step
        opens, ``in_progress``; the run must be ``in_progress`` with no open step) or
        ``complete_message_step`` (``{"usage": ...}``, optional: the open
        ``message_creation`` step completes with it; the run ``in_progress`` or
        ``cancelling``). A new version, a history entry and an event, as a move; no field
        of the run changes. The run's methods ``open_message_step`` and
        ``complete_message_step`` call this.

        Raises:
            IllegalTransition: the run is in a status the step move is not made from.
            GuardRejected: another step is open (opening), no message step is open
                (completing), or an argument is malformed.
            TypeError: *op* is not a step move, or *args* names an unknown argument.
            RunlifeError: the engine keeps no steps (``RunEngine(steps=False)``).
        """
        spec = STEP_OPS.get(op) if isinstance(op, str) else None
        if spec is None:
            raise TypeError(f"unknown step move {op!r}; the step moves: {', '.join(STEP_OPS)}")
        unknown = [name for name in args if name not in spec.params]
        missing = [name for name in spec.required if name not in args]
        if unknown or missing:
            what = f"unknown {', '.join(unknown)}" if unknown else f"missing {', '.join(missing)}"
            raise TypeError(f"{op}() takes {', '.join(spec.params)}: {what}")
        if not self.steps:
            raise RunlifeError(f"{op}: this engine keeps no steps (RunEngine(steps=False))")
        state = run._state
        keep = self.record_history
        made: RunEvent | None = None
        with state.lock:
            status = run.status
            if status not in spec.sources:
                raise IllegalTransition(
                    run.id,
                    op,
                    status.value,
                    [s.value for s in spec.sources],
                    self.table.triggers_from(status),
                )
            now = self.clock() if at is None else at
            if type(now) is not int or now < 0:
                raise _bad_clock(op, now)
            problems: list[tuple[str, str]] = []
            stepped, record = plan_op(
                run, state.steps, op, args, now, self.step_id_factory, problems
            )
            if problems or stepped is None:
                raise GuardRejected(run.id, op, problems)
            version = state.version + 1
            move = origin = None
            if keep:
                move = Move(op, status._value_, status._value_, now, record, stepped.moves)
                if state.history is None:
                    origin = life_of(run)
            commit(run, {}, version, move, origin, stepped.steps)
            if self._listeners.listeners or _COLLECTING.get() is not None:
                events = _step_events(stepped)
                made = RunEvent.of_move(
                    events[-1].event, run, op, status._value_, now, version, events
                )
        if made is not None:
            self._deliver(made)
        step: RunStep = stepped.emits[-1][1]
        return step

    def may(
        self, run: Run, trigger: str, args: Mapping[str, Any] = NO_ARGS, /, *, at: int | None = None
    ) -> bool:
        """Whether ``fire(run, trigger, args, at=at)`` would succeed now; changes nothing."""
        found, args = self._trigger(trigger, args)
        with run._state.lock:
            try:
                changes, record, now = self._plan(run, found, args, at, keep=False)
                if self.steps and not found.steps_idle:  # may() draws none of the factory's ids
                    self._plan_steps(run, found, changes, record, now, new_step_id=new_step_id)
            except (IllegalTransition, GuardRejected):
                return False
        return True

    # --- resetting and updating -------------------------------------------------------------

    def reset(
        self,
        run: Run,
        to: Run,
        *,
        version: int,
        keep_history: int | None = None,
        steps: Iterable[RunStep] | None = None,
    ) -> None:
        """Put *run* back to the state of *to* (another run of the same id) at *version*.

        A store does this when a move it wrote is lost, or when the caller's copy is behind
        the stored one: *run* keeps its identity (the caller holds it) and takes *to*'s wire
        fields; its history is cut to its first *keep_history* moves (``None``: kept), and its
        steps become *steps* (``None``: *to*'s). No event: nothing moved. Binds *run* to this
        engine.

        Raises:
            ValueError: *to* is another run (another id), or *version* is not an int >= 0.
        """
        if to.id != run.id:
            raise ValueError(f"reset() needs the same run: {run.id} is not {to.id}")
        if type(version) is not int or version < 0:
            raise ValueError(f"version: expected an int >= 0, got {version!r}")
        held = to.steps if steps is None else _checked_steps(run, steps)
        if not self.steps:
            held = ()  # as adopt: an engine that keeps no steps holds none
        with run._state.lock:
            reset(run, to, version=version, keep=keep_history)
            set_steps(run, held)
            bind(run, self)

    def update(self, run: Run, *, metadata: Mapping[str, Any]) -> None:
        """The API's run update: set *run*'s ``metadata`` (the only field a client may change).

        Checked by the metadata rules (at most 16 pairs, string keys of at most 64
        characters, string values of at most 512); a new version, no lifecycle move, no
        event, nothing in the history. Works on a run in any status, as the API's does.

        Raises:
            InvalidRun: *metadata* breaks a rule; every problem with its path.
        """
        # A shallow copy is what the rules look at (string values only): a deep value is
        # refused without being walked, so no depth recurses.
        wire = dict(metadata) if isinstance(metadata, Mapping) else thaw(metadata)
        problems = field_problems("metadata", wire)
        if problems:
            raise InvalidRun([(p.path, p.message) for p in problems], run_id=run.id)
        frozen = freeze(wire)
        state = run._state
        with state.lock:
            set_metadata(run, frozen, state.version + 1)


def _step_events(stepped: StepChange) -> tuple[StepEvent, ...]:
    return tuple(StepEvent(name, step, delta) for name, step, delta in stepped.emits)


def _checked_steps(run: Run, steps: Iterable[RunStep]) -> tuple[RunStep, ...]:
    """*steps* as a tuple, each a ``RunStep`` of *run* (else ``TypeError``, ``ValueError``)."""
    held = tuple(steps)
    for i, step in enumerate(held):
        if not isinstance(step, RunStep):
            raise TypeError(f"steps[{i}]: expected a runlife.RunStep, got {type(step).__name__}")
        if step.run_id != run.id:
            raise ValueError(f"steps[{i}]: step {step.id} is of run {step.run_id}, not {run.id}")
    return held


_default: RunEngine | None = None
_default_lock = threading.Lock()


def default_engine() -> RunEngine:
    """The module-wide engine (system clock, ttl 600) that unbound runs move through."""
    global _default  # noqa: PLW0603 - a lazily made module default, like cattrs' global converter
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = RunEngine()
    return _default


bind_default_engine(default_engine)
