"""Events: what the engine tells the outside world after each successful move."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import attrs

__all__ = ["RunEvent", "add_listener", "sse_encode"]


@attrs.frozen
class RunEvent:
    """One successful move, named like the Assistants API's stream events.

    *event* is ``"thread.run.created"`` on creation, then ``"thread.run.<new status>"``;
    *data* the run's wire dict after the move (a fresh dict, shared by the listeners of
    this event); *trigger* and *source* the trigger and the status before it (both ``None``
    for ``created``); *at* the clock's time; *run_id* the run's id; *version* the run's
    ``version`` after the move (``0`` for ``created``): the moves of one run are numbered
    1, 2, 3 ..., so a listener that hears several threads move one run can order them.
    """

    event: str
    data: dict[str, Any]
    trigger: str | None
    source: str | None
    at: int
    run_id: str
    version: int = 0

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
