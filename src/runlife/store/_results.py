"""What the store's reads return: a page of runs or steps, a stored history row, a sweep's outcome."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Generic, TypeVar

import attrs

from runlife import STEP_OPS, InvalidRun, Move, Run, RunStep

__all__ = ["Listing", "Page", "StepPage", "StoredEvent", "Sweep"]


T = TypeVar("T")


@attrs.frozen
class Listing(Generic[T]):
    """One page of a listing, shaped like the API's list object.

    *data* holds the items in the order asked for; *first_id*/*last_id* are the cursors to
    pass as ``before``/``after``; *has_more* tells whether more items follow in the
    direction of travel. Iterating a page (and ``len``) goes over *data*.
    """

    data: list[T]
    first_id: str | None
    last_id: str | None
    has_more: bool
    object: str = "list"

    def __iter__(self) -> Iterator[T]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


@attrs.frozen
class Page(Listing[Run]):
    """A page of runs (``Store.list_runs``)."""


@attrs.frozen
class StepPage(Listing[RunStep]):
    """A page of a run's steps (``Store.list_steps``)."""


@attrs.frozen
class StoredEvent:
    """One row of a run's stored history: its creation, a move, or a metadata update.

    *version* is the run's version after it (0 for the creation); *kind* is ``"create"``,
    ``"move"`` or ``"metadata"``; *trigger*, *source*, *dest*, *at* and *args* are the move's
    (``None`` trigger and source for a creation); *data* is the run's wire dict after it;
    *worker* the worker that wrote it, if any. *step_events* are the move's step stream
    events, ``{"event": "thread.run.step.created", "data": ...}`` each, in the API's order
    (as ``RunEvent.step_events``; empty for rows without any, and for rows of schema
    version 2). ``stream_events()`` is the row's whole stream, as ``RunEvent``'s.
    """

    run_id: str
    version: int
    kind: str
    trigger: str | None
    source: str | None
    dest: str
    at: int
    worker: str | None
    args: dict[str, Any]
    data: dict[str, Any]
    step_events: list[dict[str, Any]] = attrs.field(factory=list)

    @property
    def is_step_move(self) -> bool:
        """Whether the row is a step move of the driver's (``open_message_step`` ...).

        The run's fields did not change; it streams its step events only.
        """
        return self.kind == "move" and self.trigger in STEP_OPS

    @property
    def event(self) -> str | None:
        """The stream event's name: ``thread.run.created``, ``thread.run.<status>``.

        For a step move its last step event's name (as ``RunEvent.event``); ``None`` for a
        metadata update, for which the API streams nothing.
        """
        if self.kind == "create":
            return "thread.run.created"
        if self.is_step_move and self.step_events:
            name: str = self.step_events[-1]["event"]
            return name
        if self.kind == "move":
            return f"thread.run.{self.dest}"
        return None

    def stream_events(self) -> list[dict[str, Any]]:
        """The row's stream in the API's order: its step events, then the run's own event.

        A step move streams its step events only; a metadata update streams nothing.
        """
        out = list(self.step_events)
        if self.kind != "metadata" and not self.is_step_move:
            out.append({"event": self.event, "data": self.data})
        return out

    def to_move(self) -> Move:
        """This row as a ``runlife.Move`` (moves only).

        Raises:
            ValueError: the row is a creation or a metadata update.
        """
        if self.kind != "move" or self.trigger is None or self.source is None:
            raise ValueError(f"version {self.version} of run {self.run_id} is a {self.kind}")
        return Move(self.trigger, self.source, self.dest, self.at, self.args)


@attrs.frozen
class Sweep:
    """What a sweep (``expire_due``, ``rescue``) did.

    *moved*: the ids of the runs it moved, in order. *invalid*: the rows it could not load
    or move (each an ``InvalidRun`` naming the run); they are quarantined and skipped.
    """

    moved: tuple[str, ...]
    invalid: tuple[InvalidRun, ...] = ()

    def __len__(self) -> int:
        return len(self.moved)
