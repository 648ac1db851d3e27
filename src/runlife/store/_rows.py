"""What the store reads and writes: a run's row, a compare-and-set write, a history row, a step.

Also the backends' side of a transaction (``Tx``) and the two signals a backend raises to
the store and never beyond it (``Duplicate``, ``Lost``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "KEEP",
    "RELEASE",
    "SET",
    "Duplicate",
    "HistoryRow",
    "Lost",
    "Row",
    "StepRow",
    "Tx",
    "Write",
    "dumps",
]

#: The wire JSON of a stored body: compact, UTF-8, no NaN (what the API's objects are).
dumps: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode

#: What a write does to a run's lease: keep it, release it, or set it to the write's worker.
KEEP, RELEASE, SET = 0, 1, 2


class Row(NamedTuple):
    """A run's row (``_schema.RUN_COLUMNS``)."""

    id: str
    thread_id: str
    status: str
    version: int
    worker: str | None
    lease_until: int | None
    body: str


class Write(NamedTuple):
    """One compare-and-set write of a run's row (see ``_schema.UPDATE_RUN``)."""

    id: str
    old_version: int
    new_version: int
    status: str
    expires_at: int | None
    body: str
    lease_mode: int
    worker: str | None
    lease_until: int | None


class HistoryRow(NamedTuple):
    """One history row (see ``_schema.INSERT_EVENT``): *changes* or *body*, never both.

    *changes* is what the row's move changed (``_delta.diff``); *body* the whole run after
    it, kept by the creation and by a row whose changes would not rebuild it exactly;
    *steps* the move's step events as JSON (``[{"event", "data"}, ...]``), or ``None``.
    """

    run_id: str
    version: int
    kind: str
    trigger: str | None
    source: str | None
    dest: str
    at: int
    worker: str | None
    args: str
    changes: str | None
    body: str | None
    steps: str | None = None


class StepRow(NamedTuple):
    """A step's row (``runlife_steps``), inserted or updated with its run's write.

    *ordinal* is the step's place among its run's steps (``run.steps``): creation order.
    """

    run_id: str
    id: str
    ordinal: int
    status: str
    created_at: int
    body: str


class Duplicate(Exception):
    """Raised by a backend when an insert hits a unique index (never escapes the store).

    *which* is ``"id"`` or ``"thread"``.
    """

    def __init__(self, which: str) -> None:
        self.which = which
        super().__init__(which)


class Lost(Exception):
    """Raised by a backend when the connection broke during a write (never escapes the store).

    The write's outcome is unknown: the store re-reads the run to learn it.
    """


class Tx:
    """A write transaction of a backend (``BEGIN IMMEDIATE`` / PostgreSQL ``BEGIN``)."""

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a statement and return its rows."""
        raise NotImplementedError

    def execute(self, statement: str, params: Sequence[Any] = ()) -> int:
        """Run a statement and return the number of rows it changed."""
        raise NotImplementedError

    def write(
        self,
        writes: Sequence[Write],
        events: Sequence[HistoryRow],
        steps: Sequence[StepRow],
        fence: tuple[str, int] | None,
    ) -> set[str]:
        """Compare-and-set *writes*, with the *events* and *steps* of the runs written; their ids.

        History rows are inserted, steps inserted or updated.
        """
        raise NotImplementedError
