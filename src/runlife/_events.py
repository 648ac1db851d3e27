"""Events: what the engine tells the outside world after each successful move, and to whom."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._encode import encode_run, life_of
from ._json import thaw
from ._step_wire import step_to_dict

if TYPE_CHECKING:
    from ._record import Run

__all__ = ["Listeners", "RunEvent", "StepEvent", "sse_encode"]


class StepEvent:
    """One ``thread.run.step.*`` event of a move: *event*, the step's id and *data*.

    *data* is the step's wire object after the event (``created``, ``in_progress``,
    ``completed``, ``cancelled``, ``failed``, ``expired``), or for
    ``thread.run.step.delta`` the API's delta object (``{"id", "object", "delta"}``). It
    is built when first read. Read-only.
    """

    __slots__ = ("_data", "_delta", "_step", "event", "step_id")

    event: str
    step_id: str
    _data: dict[str, Any] | None
    _delta: dict[str, Any] | None
    _step: Any

    def __init__(self, event: str, step: Any, delta: dict[str, Any] | None = None) -> None:
        object.__setattr__(self, "event", event)
        object.__setattr__(self, "step_id", step.id)
        object.__setattr__(self, "_step", step)
        object.__setattr__(self, "_delta", delta)
        object.__setattr__(self, "_data", None)

    @property
    def data(self) -> dict[str, Any]:
        """The step's wire object (or the delta object) of this event."""
        data: dict[str, Any] | None = self._data
        if data is None:
            delta = self._delta
            data = thaw(delta) if delta is not None else step_to_dict(self._step)
            object.__setattr__(self, "_data", data)
        return data

    @property
    def step(self) -> Any:
        """The ``RunStep`` after the event (for a delta: the step the delta belongs to)."""
        return self._step

    def to_stream_event(self) -> dict[str, Any]:
        """``{"event": ..., "data": ...}``: what the SDK's ``AssistantStreamEvent`` accepts."""
        return {"event": self.event, "data": self.data}

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"StepEvent is read-only: cannot set {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (StepEvent, (self.event, self._step, self._delta))

    def __eq__(self, other: object) -> bool:
        if type(other) is not StepEvent:
            return NotImplemented
        return (self.event, self.data) == (other.event, other.data)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"StepEvent(event={self.event!r}, step_id={self.step_id!r})"


class RunEvent:
    """One successful move, named like the Assistants API's stream events.

    *event* is ``"thread.run.created"`` on creation, then ``"thread.run.<new status>"``;
    *data* the run's wire dict after the move (a fresh dict, shared by the listeners of
    this event); *trigger* and *source* the trigger and the status before it (both ``None``
    for ``created``); *at* the clock's time; *run_id* the run's id; *version* the run's
    ``version`` after the move (``0`` for ``created``): the moves of one run are numbered
    1, 2, 3 ..., so a listener that hears several threads move one run can order them.

    *step_events* are the move's ``thread.run.step.*`` events (``StepEvent``), in the API's
    order; the API streams them *before* the run's own event (a ``tool_calls`` step's
    created, in_progress and deltas, then ``thread.run.requires_action``).
    ``stream_events()`` gives the move's whole stream in that order. A step move of the
    driver's (``trigger`` ``open_message_step`` or ``complete_message_step``) changes no
    field of the run: its ``event`` is its last step event's name, and its stream is its
    step events alone.

    The engine's events build *data* when it is first read, from a snapshot of the run's
    lifecycle fields taken in the move (the only fields a move changes): the same dict as
    building it in the move, at no cost to a listener that does not read it. Read-only.
    """

    __slots__ = (
        "_data",
        "_life",
        "_run",
        "at",
        "event",
        "run_id",
        "source",
        "step_events",
        "trigger",
        "version",
    )

    event: str
    trigger: str | None
    source: str | None
    at: int
    run_id: str
    version: int
    _data: dict[str, Any] | None
    _run: Run | None
    _life: tuple[Any, ...] | None
    step_events: tuple[StepEvent, ...]

    def __init__(  # noqa: PLR0917 - the attrs class's positional order, kept
        self,
        event: str,
        data: dict[str, Any],
        trigger: str | None,
        source: str | None,
        at: int,
        run_id: str,
        version: int = 0,
        step_events: tuple[StepEvent, ...] = (),
    ) -> None:
        _fill(self, event, data, None, None, trigger, source, at, run_id, version)
        _set_step_events(self, step_events)

    @classmethod
    def of_move(  # noqa: PLR0917 - on every move with a listener: positional is cheaper
        cls,
        event: str,
        run: Run,
        trigger: str | None,
        source: str | None,
        at: int,
        version: int,
        step_events: tuple[StepEvent, ...] = (),
    ) -> RunEvent:
        """The event of a move *run* has just made, with its *step_events* (under the run's lock)."""
        self = _new(cls)
        _fill(self, event, None, run, life_of(run), trigger, source, at, run.id, version)
        _set_step_events(self, step_events)
        return self

    @property
    def is_step_move(self) -> bool:
        """Whether this is a step move of the driver's (the run's fields did not change)."""
        return self.event.startswith(_STEP_PREFIX)

    def stream_events(self) -> list[dict[str, Any]]:
        """The move's stream in the API's order: its step events, then the run's event.

        A step move of the driver's streams its step events only.
        """
        out = [e.to_stream_event() for e in self.step_events]
        if not self.is_step_move:
            out.append(self.to_stream_event())
        return out

    @property
    def data(self) -> dict[str, Any]:
        """The run's wire dict after the move (built on first read, then kept)."""
        data = self._data
        if data is None:
            with _BUILDING:
                data = self._data
                if data is None:
                    assert self._run is not None  # noqa: S101 - set by of_move with _life
                    data = encode_run(self._run, self._life)
                    _set_data(self, data)
                    _set_run(self, None)
                    _set_life(self, None)
        return data

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"RunEvent is read-only: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"RunEvent is read-only: cannot delete {name!r}")

    def __getstate__(self) -> tuple[Any, ...]:
        return (*self._key(), self.step_events)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        event, data, trigger, source, at, run_id, version, *rest = state
        _fill(self, event, data, None, None, trigger, source, at, run_id, version)
        _set_step_events(self, rest[0] if rest else ())

    def _key(self) -> tuple[Any, ...]:
        return (
            self.event,
            self.data,
            self.trigger,
            self.source,
            self.at,
            self.run_id,
            self.version,
        )

    def __eq__(self, other: object) -> bool:
        if type(other) is not RunEvent:
            return NotImplemented
        return self._key() == other._key() and self.step_events == other.step_events

    # Unhashable, as the attrs class it was: *data* is a dict.
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"RunEvent(event={self.event!r}, data={self.data!r}, trigger={self.trigger!r}, "
            f"source={self.source!r}, at={self.at!r}, run_id={self.run_id!r}, "
            f"version={self.version!r})"
        )

    @property
    def dest(self) -> str:
        """The status the run moved to: the end of the event's name (``queued`` for ``created``)."""
        if self.is_step_move:
            assert self.source is not None  # noqa: S101 - a step move has its run's status
            return self.source
        name = self.event.removeprefix("thread.run.")
        return "queued" if name == "created" else name

    def to_stream_event(self) -> dict[str, Any]:
        """``{"event": ..., "data": ...}``: what the SDK's ``AssistantStreamEvent`` accepts.

        For a step move of the driver's, its last step event (the run did not move).
        """
        if self.is_step_move and self.step_events:
            return self.step_events[-1].to_stream_event()
        return {"event": self.event, "data": self.data}

    def to_sse(self) -> str:
        """Deprecated: ``runlife.serve.sse.encode(event.event, event.data)``.

        SSE framing is an HTTP concern and lives in ``runlife.serve.sse`` (which needs no
        extra installed); this alias goes in the next release.
        """
        return sse_encode(self.event, self.data)


# The slots' own setters: what ``of_move``, on every move with a listener, sets them with.
_new = object.__new__
_set_event = RunEvent.__dict__["event"].__set__
_set_data = RunEvent.__dict__["_data"].__set__
_set_run = RunEvent.__dict__["_run"].__set__
_set_life = RunEvent.__dict__["_life"].__set__
_set_trigger = RunEvent.__dict__["trigger"].__set__
_set_source = RunEvent.__dict__["source"].__set__
_set_at = RunEvent.__dict__["at"].__set__
_set_run_id = RunEvent.__dict__["run_id"].__set__
_set_version = RunEvent.__dict__["version"].__set__
_set_step_events = RunEvent.__dict__["step_events"].__set__
_STEP_PREFIX = "thread.run.step."


def _fill(  # noqa: PLR0917 - every slot, positionally: on every move with a listener
    event: RunEvent,
    name: str,
    data: dict[str, Any] | None,
    run: Run | None,
    life: tuple[Any, ...] | None,
    trigger: str | None,
    source: str | None,
    at: int,
    run_id: str,
    version: int,
) -> None:
    _set_event(event, name)
    _set_data(event, data)
    _set_run(event, run)
    _set_life(event, life)
    _set_trigger(event, trigger)
    _set_source(event, source)
    _set_at(event, at)
    _set_run_id(event, run_id)
    _set_version(event, version)


#: Serialises the first reads of lazily built ``data`` (one dict per event, whatever the threads).
_BUILDING = threading.Lock()


def sse_encode(event: str, data: Any) -> str:
    """Deprecated: ``runlife.serve.sse.encode``, where SSE framing lives now.

    Kept for one release. ``runlife.serve.sse`` imports nothing of runlife and needs no
    extra installed, so this shim is the one import from the core into ``serve``.
    """
    warnings.warn(
        "runlife.sse_encode and RunEvent.to_sse are deprecated: use runlife.serve.sse.encode",
        DeprecationWarning,
        stacklevel=2,
    )
    from .serve.sse import encode  # noqa: PLC0415 - a deprecated alias, resolved on use

    return encode(event, data)


Listener = Callable[[Any], object]


class Listeners:
    """A set of listeners: a tuple, replaced under a lock on each change (copy on write).

    A move reads ``listeners`` without a lock, and an event already being delivered goes
    to the listeners it started with.
    """

    __slots__ = ("_lock", "listeners")

    def __init__(self) -> None:
        self.listeners: tuple[Listener, ...] = ()
        self._lock = threading.Lock()

    def add(self, listener: Listener) -> Callable[[], None]:
        """Add *listener*; returns the function that removes it again."""
        if not callable(listener):
            raise TypeError(f"listener: expected a callable, got {listener!r}")
        with self._lock:
            self.listeners = (*self.listeners, listener)

        def unsubscribe() -> None:
            with self._lock:
                listeners = list(self.listeners)
                if listener in listeners:
                    listeners.remove(listener)
                self.listeners = tuple(listeners)

        return unsubscribe
