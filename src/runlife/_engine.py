"""The engine: one shared ``transitions`` machine, guards, stamps and the one commit.

Why the ``Run`` is never handed to transitions: transitions writes trigger methods onto
its models at run time (invisible to mypy, impossible on slotted classes) and keeps every
model in a list (a leak for millions of runs). Instead the nine trigger methods are written
out on ``Run``, and each move fires the event of one module-wide ``Machine(model=None)`` on a
two-slot adapter whose ``state`` reads the run's status and writes only into the planned
changes. The run itself is written once, by ``_commit``, after every guard has passed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from transitions import Event, EventData, Machine, Transition

from ._clock import Clock, SystemClock
from ._create import checked_fields, new_run
from ._errors import GuardRejected, IllegalTransition, InvalidRun, RunlifeError
from ._events import RunEvent, add_listener
from ._expiry import LiveRuns
from ._guards import check_code, check_reason, check_tool_calls, check_tool_outputs, check_usage
from ._history import Move
from ._ids import new_id
from ._record import (
    _NO_ARGS,
    Run,
    make_incomplete_details,
    make_last_error,
    make_required_action,
    make_submit_tool_outputs,
)
from ._status import TERMINAL, RunStatus
from ._table import (
    LIFECYCLE,
    TRANSITIONS,
    allowed_sources,
    machine_config,
    triggers_from,
)
from ._wire import _STATUS, life_of

__all__ = ["LIFECYCLE", "RunEngine", "default_engine"]

_log = logging.getLogger("runlife")


class _Transition(Transition):
    """A transition of runlife's machine, executed without the stock detour.

    The machine has no conditions or callbacks (the engine plans and guards every move
    itself, before the machine sees it), so executing a transition is setting the state.
    The stock ``execute`` spends two thirds of its time on debug logging and on walking
    empty callback lists: 12 us against 5 us per move, which is what lets ``expire_due``
    expire hundreds of runs in a few milliseconds. Any callback configured on a transition
    takes the stock path; machine- and state-level ones are refused at import below.
    """

    def execute(self, event_data: Any) -> bool:
        if self.prepare or self.conditions or self.before or self.after:
            return bool(super().execute(event_data))
        # What Machine.set_state does for one model, whose states' values are their names.
        event_data.model.state = self.dest
        return True


class _Event(Event):
    """An event of runlife's machine, triggered without the stock detour.

    The stock ``trigger`` wraps every call in a partial for the machine's queue and walks the
    machine's empty ``prepare_event``/``finalize_event`` lists, logging at debug level on the
    way. runlife's machine has no queue and no event callbacks (refused at import below), so
    triggering is what remains: the model's state, ``MachineError`` from a source the event
    does not leave, and the first transition from that state that executes.
    """

    def trigger(self, model: Any, *args: Any, **kwargs: Any) -> bool:
        name = model.state
        found = self.transitions.get(name)
        if found is not None and len(found) == 1:
            transition = found[0]
            if not (
                transition.prepare or transition.conditions or transition.before or transition.after
            ):
                # The one transition from here, without callbacks: executing it is setting the
                # state (what _Transition.execute does), and nothing needs an EventData.
                model.state = transition.dest
                return True
        machine = self.machine
        event_data = EventData(None, self, machine, model, args=args, kwargs=kwargs)
        # Machine.get_model_state, for a machine whose states are plain names (checked below).
        state = event_data.state = machine.states[name]
        if name in self.transitions or self._is_valid_source(state):
            for transition in self.transitions[name]:
                event_data.transition = transition
                if transition.execute(event_data):
                    event_data.result = True
                    break
        return bool(event_data.result)


class _Machine(Machine):
    transition_cls = _Transition
    event_cls = _Event


#: The one machine every run of every engine moves through. It holds no models.
_MACHINE = _Machine(model=None, **machine_config())
if (
    _MACHINE.before_state_change
    or _MACHINE.after_state_change
    or _MACHINE.on_final
    or any(state.on_enter or state.on_exit for state in _MACHINE.states.values())
):  # pragma: no cover - a guard against a future machine_config()
    raise RuntimeError("runlife's machine has state callbacks, which _Transition would skip")
if (
    _MACHINE.has_queue
    or _MACHINE.prepare_event
    or _MACHINE.finalize_event
    or _MACHINE.on_exception
    or _MACHINE.ignore_invalid_triggers
):  # pragma: no cover - a guard against a future machine_config()
    raise RuntimeError("runlife's machine queues or has event callbacks, which _Event would skip")
if _MACHINE.model_attribute != "state" or any(
    state.value != name for name, state in _MACHINE.states.items()
):  # pragma: no cover - a guard against a future machine_config()
    raise RuntimeError("runlife's machine needs string states named by their values, in .state")
_EVENTS = {name: _MACHINE.events[name] for name in _MACHINE.events}
_EVENT_NAMES = {s: f"thread.run.{s.value}" for s in RunStatus}
#: Per trigger, the statuses it may be fired from.
_SOURCES = {row.trigger: frozenset(row.sources) for row in TRANSITIONS}


class _Model:
    """What transitions sees: the run's status in, the new status out into *changes*."""

    __slots__ = ("changes", "run")

    def __init__(self, run: Run, changes: dict[str, Any]) -> None:
        self.run = run
        self.changes = changes

    @property
    def state(self) -> str:
        # _value_ is the member's value without the .value descriptor (0.3 us on every move).
        value: str = self.run.status._value_
        return value

    @state.setter
    def state(self, value: str) -> None:
        self.changes["status"] = _STATUS[value]


Listener = Callable[[RunEvent], object]
ErrorHook = Callable[[RunEvent, BaseException], object]


def _bad_clock(where: str, now: object) -> InvalidRun:
    return InvalidRun(
        [(f"$.{where}", f"the clock returned {now!r}; expected an int of Unix seconds >= 0")]
    )


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

    Both indexes hold the active runs this engine created, loaded or restored, and forget
    each run in the commit of its terminal move. Runs bound to the engine by
    ``from_dict(..., engine=...)`` are not indexed: use ``load``.

    Thread-safety: an engine may be shared by threads; each run's moves are serialised by
    the run's own lock, and listeners are called after the move, outside that lock, so two
    threads moving one run may deliver its events out of order: ``RunEvent.version`` orders
    them.
    """

    __slots__ = (
        "_id_factory",
        "_listeners",
        "_live",
        "_lock",
        "clock",
        "on_listener_error",
        "record_history",
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
    ) -> None:
        if type(ttl) is not int or ttl <= 0:
            raise InvalidRun([("ttl", f"expected an int of seconds > 0, got {ttl!r}")])
        if clock is not None and not callable(clock):
            raise TypeError(f"clock: expected a callable returning Unix seconds, got {clock!r}")
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.ttl = ttl
        self._id_factory = id_factory or new_id
        self.record_history = record_history
        self.on_listener_error = on_listener_error
        self._listeners: tuple[Listener, ...] = ()
        self._lock = threading.Lock()
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

    # --- creating and loading --------------------------------------------------------------

    def create(self, *, extra: Mapping[str, Any] | None = None, **fields: Any) -> Run:
        """Create a new ``queued`` run.

        *fields* are the wire object's fields the caller chooses (``assistant_id``,
        ``thread_id`` and ``model`` are required; ``id`` is generated unless given), as
        wire-shaped values or the record's attrs classes. *extra* holds keys the record does
        not know, written after the known ones. Every documented rule is enforced.

        Raises:
            InvalidRun: a field is unknown, owned by the engine, missing or breaks a rule;
                every problem is listed, each with its path.
            ThreadBusy: with ``one_active_run_per_thread``, another run of the same
                ``thread_id`` is active (it names the thread and that run).
        """
        return self._create(extra, fields)[0]

    def _create(
        self, extra: Mapping[str, Any] | None, fields: dict[str, Any], *, event: bool = False
    ) -> tuple[Run, RunEvent | None]:
        """``create``; also returns the ``created`` event if anyone listens or *event*."""
        values, extra_keys = checked_fields(fields, extra)
        now = self._now("created_at")
        if "id" not in values:
            made_id = values["id"] = self._id_factory()
            if type(made_id) is not str or not made_id:
                raise InvalidRun(
                    [("$.id", f"id_factory returned {made_id!r}; expected a non-empty string")]
                )
        run = new_run(values, extra_keys, now, now + self.ttl)
        object.__setattr__(run, "_engine", self)
        made = None
        if event or self._listeners:
            # Before the indexes hold it: from then on, other threads may move the run.
            made = RunEvent.of_move("thread.run.created", run, None, None, now, 0)
        if self._live is not None:
            self._live.adopt(run, "create")
        if made is not None and self._listeners:
            self._emit(made)
        return run, made

    def load(self, data: Any) -> Run:
        """Resume a run from its wire dict, in whatever status it had, bound to this engine.

        Loading checks structure only: rule breaks are kept (see ``check``). The run's
        ``version`` starts at 0 and its history is empty: ``restore`` a ``runlife.dump``
        document to keep them. An active run joins the engine's indexes.

        Raises:
            InvalidRun: *data* is not structurally a run.
            ThreadBusy: with ``one_active_run_per_thread``, another run is active on the
                run's thread.
        """
        from ._wire import from_dict  # noqa: PLC0415

        run = from_dict(data, engine=self)
        self._adopt(run, "load")
        return run

    def restore(self, doc: Any, *, verify: bool = False) -> Run:
        """Resume a run from a ``runlife.dump`` document: status, stamps, history and version.

        See ``runlife.restore``.
        """
        from ._stored import restore  # noqa: PLC0415

        return restore(doc, engine=self, verify=verify)

    def _adopt(self, run: Run, action: str) -> None:
        """Bind *run* to this engine and add it to the indexes (``ThreadBusy`` on conflict)."""
        object.__setattr__(run, "_engine", self)
        if self._live is not None:
            self._live.adopt(run, action)

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
        return [run for run, _ in self._expire_due(limit)]

    def _expire_due(
        self, limit: int | None, *, event: bool = False
    ) -> list[tuple[Run, RunEvent | None]]:
        live = self._live
        if live is None or not live.deadlines:
            raise RunlifeError(
                "expire_due() needs an index of deadlines: RunEngine(index_deadlines=True)"
            )
        if limit is not None and (type(limit) is not int or limit < 1):
            raise ValueError(f"limit: expected an int >= 1 or None, got {limit!r}")
        due = live.pop_due(self._now("expire"), limit)
        expired: list[tuple[Run, RunEvent | None]] = []
        for i, run in enumerate(due):
            try:
                # What run.expire() does, keeping the event for AsyncRunEngine.
                made = self._fire(run, "expire", _NO_ARGS, event=event)
            except IllegalTransition:
                continue  # ended by another move since: nothing to expire, nothing to keep
            except GuardRejected:
                live.adopt(run, "expire")  # not due by the clock after all (it went back)
                continue
            except BaseException:
                for rest in due[i:]:
                    live.adopt(rest, "expire")
                raise
            expired.append((run, made))
        return expired

    def next_deadline(self) -> int | None:
        """The earliest ``expires_at`` among the indexed live runs, or ``None``.

        A sweeper can sleep until then. Needs ``RunEngine(index_deadlines=True)`` (else ``None``).
        """
        return None if self._live is None else self._live.next_deadline()

    def active_run(self, thread_id: str) -> Run | None:
        """The active run of *thread_id*, with ``one_active_run_per_thread`` (else ``None``)."""
        return None if self._live is None else self._live.active_run(thread_id)

    # --- listeners --------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call *listener* with a ``RunEvent`` after each successful move; returns the unsubscribe.

        Listeners observe, they do not veto: they run after the move, outside the run's
        lock; an exception in one is logged (logger ``runlife``) and handed to
        *on_listener_error*, and never undoes the move or reaches the trigger's caller.
        """
        return add_listener(self, listener)

    def _emit(self, event: RunEvent) -> None:
        # A snapshot: (un)subscribing from a listener affects the next event, not this one.
        for listener in self._listeners:
            try:
                listener(event)
            except Exception as exc:  # noqa: BLE001 - isolated by contract
                self._listener_failed(listener, event, exc)

    def _listener_failed(self, listener: object, event: RunEvent, exc: Exception) -> None:
        """Log a listener's exception and hand it to *on_listener_error* (never raises)."""
        _log.exception("listener %r failed on %s of run %s", listener, event.event, event.run_id)
        hook = self.on_listener_error
        if hook is not None:
            try:
                hook(event, exc)
            except Exception:  # noqa: BLE001
                _log.exception(
                    "on_listener_error failed on %s of run %s", event.event, event.run_id
                )

    # --- moving -----------------------------------------------------------------------------

    def _plan(  # noqa: PLR0915 - the table's effects, one branch per trigger
        self, run: Run, trigger: str, args: Mapping[str, Any], keep: bool = False
    ) -> tuple[dict[str, Any], dict[str, Any], int]:
        """Check table and guards; return (changes, history args if *keep*, now). Changes nothing."""
        status = run.status
        sources = _SOURCES[trigger]
        if status not in sources:
            allowed = [s.value for s in allowed_sources(trigger)]
            raise IllegalTransition(run.id, trigger, status.value, allowed, triggers_from(status))
        problems: list[tuple[str, str]] = []
        changes: dict[str, Any] = {}
        record: dict[str, Any] = {}
        now = self.clock()
        if type(now) is not int or now < 0:
            raise _bad_clock(trigger, now)
        created_at = run.created_at
        if trigger == "start":
            changes["started_at"] = max(created_at, now)
            return changes, record, now
        end = max(now, created_at, run.started_at or 0)
        if trigger == "require_action":
            calls = check_tool_calls(run, args["tool_calls"], problems)
            changes["required_action"] = make_required_action(
                make_submit_tool_outputs(calls, {}), "submit_tool_outputs", {}
            )
            if keep:
                record["tool_calls"] = [
                    {
                        "id": c.id,
                        "type": c.type,
                        "function": {"name": c.function.name, "arguments": c.function.arguments},
                    }
                    for c in calls
                ]
        elif trigger == "submit_tool_outputs":
            record["tool_outputs"] = check_tool_outputs(run, args["tool_outputs"], problems)
            changes["required_action"] = None
        elif trigger in {"complete", "mark_incomplete", "fail"}:
            if trigger == "fail":
                check_code(args["code"], args["message"], problems)
                changes["last_error"] = make_last_error(args["code"], args["message"], {})
                changes["failed_at"] = end
                record["code"], record["message"] = args["code"], args["message"]
            else:
                if run.started_at is None:
                    problems.append(
                        (
                            "started_at",
                            (
                                "the run never started (cancelled while queued): "
                                "it can only end cancelled, failed or expired"
                            ),
                        )
                    )
                if trigger == "mark_incomplete":
                    check_reason(run, args["reason"], problems)
                    changes["incomplete_details"] = make_incomplete_details(args["reason"], {})
                    record["reason"] = args["reason"]
                changes["completed_at"] = end
            usage = check_usage(args["usage"], problems)
            if usage is not None:
                changes["usage"] = usage
            if usage is not None and keep:
                record["usage"] = {
                    "prompt_tokens": usage.prompt_tokens,
                    "completion_tokens": usage.completion_tokens,
                    "total_tokens": usage.total_tokens,
                }
            changes["expires_at"] = None
        elif trigger == "cancel":
            changes["required_action"] = None
        elif trigger == "finish_cancel":
            changes["cancelled_at"] = end
            changes["expires_at"] = None
        elif trigger == "expire":
            if run.expires_at is None or now < run.expires_at:
                problems.append(
                    (
                        "expires_at",
                        f"the run expires at {run.expires_at}, and it is {now}: not due yet",
                    )
                )
            changes["required_action"] = None
            changes["expires_at"] = None
        if problems:
            raise GuardRejected(run.id, trigger, problems)
        return changes, record, now

    def _fire(
        self, run: Run, trigger: str, args: Mapping[str, Any], *, event: bool = False
    ) -> RunEvent | None:
        """Move *run* atomically; return the move's event if anyone listens or *event*."""
        made: RunEvent | None = None
        with run._lock:
            source = run.status
            changes, record, now = self._plan(run, trigger, args, self.record_history)
            _EVENTS[trigger].trigger(_Model(run, changes))
            dest = changes["status"]
            version = changes["_version"] = run._version + 1
            move = origin = None
            if self.record_history:
                move = Move(trigger, source._value_, dest._value_, now, record)
                if run._history is None:
                    origin = life_of(run)
            live = self._live
            expires_at = run.expires_at
            _commit(run, changes, move, origin)
            if live is not None and dest in TERMINAL:
                live.forget(run, expires_at)
            if event or self._listeners:
                made = RunEvent.of_move(
                    _EVENT_NAMES[dest], run, trigger, source._value_, now, version
                )
        if made is not None and self._listeners:
            self._emit(made)
        return made

    def _may(self, run: Run, trigger: str, args: Mapping[str, Any]) -> bool:
        with run._lock:
            try:
                self._plan(run, trigger, args)
            except (IllegalTransition, GuardRejected):
                return False
        return True


def _commit(
    run: Run, changes: dict[str, Any], move: Move | None, origin: tuple[Any, ...] | None = None
) -> None:
    """The only writer of a run's fields: all of *changes*, or none of them.

    *changes* holds lifecycle fields and ``_version``. *move* is appended to the history;
    *origin* (the lifecycle fields before the first recorded move) is kept with the first one.
    """
    before, version = life_of(run), run._version
    try:
        for name, value in changes.items():
            _SETTERS[name](run, value)
        if move is not None:
            history = run._history
            if history is None:
                _set(run, "_history", [move])
                _set(run, "_origin", origin)
            else:
                history.append(move)
    except BaseException:
        for name, value in zip(LIFECYCLE, before, strict=True):
            _set(run, name, value)
        _set(run, "_version", version)
        raise


_set = object.__setattr__
#: The slots' own setters of what a commit writes (the cheapest way into a frozen record).
_SETTERS = {name: Run.__dict__[name].__set__ for name in (*LIFECYCLE, "_version")}


_default: RunEngine | None = None
_default_lock = threading.Lock()


def default_engine() -> RunEngine:
    """The module-wide engine (system clock, ttl 600) that ``from_dict`` binds runs to."""
    global _default  # noqa: PLW0603 - a lazily made module default, like cattrs' global converter
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = RunEngine()
    return _default
