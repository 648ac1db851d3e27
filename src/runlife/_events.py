"""Events: what the engine tells the outside world after each successful move, and to whom."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._encode import encode_run, life_of

if TYPE_CHECKING:
    from ._record import Run

__all__ = ["Listeners", "RunEvent", "sse_encode"]


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
