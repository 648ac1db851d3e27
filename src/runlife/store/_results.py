"""What the store's reads return: a page of runs, a stored history row, a sweep's outcome."""

from __future__ import annotations

from typing import Any

import attrs

from runlife import InvalidRun, Move, Run

__all__ = ["Page", "StoredEvent", "Sweep"]


@attrs.frozen
class Page:
    """One page of a listing, shaped like the API's list object.

    *data* holds the runs in the order asked for; *first_id*/*last_id* are the cursors to
    pass as ``before``/``after``; *has_more* tells whether more runs follow in the
    direction of travel.
    """

    data: list[Run]
    first_id: str | None
    last_id: str | None
    has_more: bool
    object: str = "list"


@attrs.frozen
class StoredEvent:
    """One row of a run's stored history: its creation, a move, or a metadata update.

    *version* is the run's version after it (0 for the creation); *kind* is ``"create"``,
    ``"move"`` or ``"metadata"``; *trigger*, *source*, *dest*, *at* and *args* are the move's
    (``None`` trigger and source for a creation); *data* is the run's wire dict after it;
    *worker* the worker that wrote it, if any.
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

    @property
    def event(self) -> str | None:
        """The stream event's name: ``thread.run.created``, ``thread.run.<status>``.

        ``None`` for a metadata update, for which the API streams nothing.
        """
        if self.kind == "create":
            return "thread.run.created"
        if self.kind == "move":
            return f"thread.run.{self.dest}"
        return None

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
