"""Events: what the engine tells the outside world after each successful move."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._wire import _unstructure_run, life_of

if TYPE_CHECKING:
    from ._record import Run

__all__ = ["RunEvent", "add_listener", "sse_encode"]


class RunEvent:
    """One successful move, named like the Assistants API's stream events.

    *event* is ``"thread.run.created"`` on creation, then ``"thread.run.<new status>"``;
    *data* the run's wire dict after the move (a fresh dict, shared by the listeners of
    this event); *trigger* and *source* the trigger and the status before it (both ``None``
    for ``created``); *at* the clock's time; *run_id* the run's id; *version* the run's
    ``version`` after the move (``0`` for ``created``): the moves of one run are numbered
    1, 2, 3 ..., so a listener that hears several threads move one run can order them.

    The engine's events build *data* when it is first read, from a snapshot of the run's
    lifecycle fields taken in the move (the only fields a move changes): the same dict as
    building it in the move, at no cost to a listener that does not read it. Read-only.
    """

    __slots__ = ("_data", "_life", "_run", "at", "event", "run_id", "source", "trigger", "version")

    event: str
    trigger: str | None
    source: str | None
    at: int
    run_id: str
    version: int
    _data: dict[str, Any] | None
    _run: Run | None
    _life: tuple[Any, ...] | None

    def __init__(  # noqa: PLR0917 - the attrs class's positional order, kept
        self,
        event: str,
        data: dict[str, Any],
        trigger: str | None,
        source: str | None,
        at: int,
        run_id: str,
        version: int = 0,
    ) -> None:
        _fill(self, event, data, None, None, trigger, source, at, run_id, version)

    @classmethod
    def of_move(  # noqa: PLR0917 - on every move with a listener: positional is cheaper
        cls,
        event: str,
        run: Run,
        trigger: str | None,
        source: str | None,
        at: int,
        version: int,
    ) -> RunEvent:
        """The event of a move *run* has just made (call it under the run's lock)."""
        self = _new(cls)
        _fill(self, event, None, run, life_of(run), trigger, source, at, run.id, version)
        return self

    @property
    def data(self) -> dict[str, Any]:
        """The run's wire dict after the move (built on first read, then kept)."""
        data = self._data
        if data is None:
            with _BUILDING:
                data = self._data
                if data is None:
                    assert self._run is not None  # noqa: S101 - set by of_move with _life
                    data = _unstructure_run(self._run, self._life)
                    _set_data(self, data)
                    _set_run(self, None)
                    _set_life(self, None)
        return data

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"RunEvent is read-only: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"RunEvent is read-only: cannot delete {name!r}")

    def __getstate__(self) -> tuple[Any, ...]:
        return self._key()

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        event, data, trigger, source, at, run_id, version = state
        _fill(self, event, data, None, None, trigger, source, at, run_id, version)

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
        return self._key() == other._key()

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
        name = self.event.removeprefix("thread.run.")
        return "queued" if name == "created" else name

    def to_stream_event(self) -> dict[str, Any]:
        """``{"event": ..., "data": ...}``: what the SDK's ``AssistantStreamEvent`` accepts."""
        return {"event": self.event, "data": self.data}

    def to_sse(self) -> str:
        """This event in Server-Sent-Events framing (see ``sse_encode``)."""
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
    """Frame one Server-Sent Event: ``event: <event>``, ``data: <compact JSON>``, blank line.

    *data* may be a JSON value or the literal ``"[DONE]"`` the Assistants API ends streams with.
    """
    if "\n" in event or "\r" in event:
        raise ValueError(f"an SSE event name cannot contain a line break: {event!r}")
    body = data if data == "[DONE]" else json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"event: {event}\ndata: {body}\n\n"


def add_listener(owner: Any, listener: Callable[..., object]) -> Callable[[], None]:
    """Add *listener* to ``owner._listeners`` (a tuple, replaced under ``owner._lock``).

    The tuple is copied on write, so a move reads it without a lock and an event already
    being delivered goes to the listeners it started with. Returns the unsubscribe.
    """
    if not callable(listener):
        raise TypeError(f"listener: expected a callable, got {listener!r}")
    lock: threading.Lock = owner._lock
    with lock:
        owner._listeners = (*owner._listeners, listener)

    def unsubscribe() -> None:
        with lock:
            listeners = list(owner._listeners)
            if listener in listeners:
                listeners.remove(listener)
            owner._listeners = tuple(listeners)

    return unsubscribe
