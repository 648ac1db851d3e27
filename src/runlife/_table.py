"""The transition table as data: each trigger declared once, everything else derived.

A row says where a trigger moves a run from and to, which arguments it takes, which
guards it runs (``runlife._guards`` implements them by name), which stamp it sets and which
fields it clears. The machine, the record's methods, the engine's plan, replay, ``aio``,
the diagrams, ``paths``, the strategies and the store all read the rows; a consistency
check (``check_table``) refuses a table whose rows these consumers could not follow.

What a move *records* of its arguments (``Move.args``) follows from the row too: every
argument in its checked wire form, an optional one only when it was given.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from ._status import TERMINAL, RunStatus

__all__ = [
    "LIFECYCLE",
    "TABLE",
    "TRANSITIONS",
    "TRIGGERS",
    "Param",
    "Table",
    "TableRow",
    "Transition",
    "allowed_sources",
    "machine_config",
    "transition",
    "triggers_from",
]

#: The fields a move may write; every other field of a run is as it was created or loaded.
LIFECYCLE: Final = (
    "status",
    "expires_at",
    "started_at",
    "cancelled_at",
    "failed_at",
    "completed_at",
    "required_action",
    "last_error",
    "incomplete_details",
    "usage",
)


class Param:
    """One argument of a trigger: its *name*, and whether it may be left out (then ``None``)."""

    __slots__ = ("name", "optional")

    def __init__(self, name: str, *, optional: bool = False) -> None:
        self.name = name
        self.optional = optional

    def __repr__(self) -> str:
        return f"Param({self.name!r}{', optional=True' if self.optional else ''})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not Param:
            return NotImplemented
        return (self.name, self.optional) == (other.name, other.optional)

    def __hash__(self) -> int:
        return hash((self.name, self.optional))


class TableRow:
    """One row of the table: *trigger* moves a run from any of *sources* to *dest*.

    *params* are the trigger's arguments, in the order its method takes them; *guards*
    the names of the checks it runs, in order (``runlife._guards.GUARDS``); *stamp* the
    timestamp field it sets (``None``: none); *clears* the fields it sets to ``null``.
    """

    __slots__ = ("clears", "dest", "guards", "params", "sources", "stamp", "trigger")

    def __init__(
        self,
        trigger: str,
        sources: tuple[RunStatus, ...],
        dest: RunStatus,
        *,
        params: tuple[Param, ...] = (),
        guards: tuple[str, ...] = (),
        stamp: str | None = None,
        clears: tuple[str, ...] = (),
    ) -> None:
        self.trigger = trigger
        self.sources = sources
        self.dest = dest
        self.params = params
        self.guards = guards
        self.stamp = stamp
        self.clears = clears

    @property
    def param_names(self) -> tuple[str, ...]:
        """The names of the trigger's arguments, in order."""
        return tuple(p.name for p in self.params)

    def __repr__(self) -> str:
        return f"TableRow({self.trigger!r}, {self.sources!r}, {self.dest!r})"


#: Deprecated alias of ``TableRow`` (it shadowed ``transitions.Transition``); kept for one release.
Transition = TableRow

Q, P, R, CG = (
    RunStatus.QUEUED,
    RunStatus.IN_PROGRESS,
    RunStatus.REQUIRES_ACTION,
    RunStatus.CANCELLING,
)
_USAGE = Param("usage", optional=True)


class Table:
    """A transition table: its rows, and what is derived from them (looked up in O(1)).

    ``TABLE`` is the lifecycle's; a test builds others (``TABLE.with_row(...)``) to show
    that every consumer follows the rows.
    """

    __slots__ = ("_by_trigger", "_from", "rows", "triggers")

    def __init__(self, rows: Iterable[TableRow]) -> None:
        self.rows: tuple[TableRow, ...] = tuple(rows)
        self.triggers: tuple[str, ...] = tuple(r.trigger for r in self.rows)
        self._by_trigger = {r.trigger: r for r in self.rows}
        self._from = {
            status: tuple(r.trigger for r in self.rows if status in r.sources)
            for status in RunStatus
        }
        check_table(self)

    def row(self, trigger: str) -> TableRow:
        """The row of *trigger*; ``KeyError`` for a name that is not a trigger."""
        return self._by_trigger[trigger]

    def triggers_from(self, status: RunStatus) -> tuple[str, ...]:
        """The triggers allowed from *status*, in the table's order."""
        return self._from[status]

    def with_row(self, row: TableRow) -> Table:
        """A new table: these rows and *row* after them."""
        return Table((*self.rows, row))

    def machine_config(self) -> dict[str, Any]:
        """Keyword arguments for a ``transitions.Machine`` that implements the table.

        Used by the engine and by the diagrams, so that both are derived from one definition.
        """
        return {
            "states": [s.value for s in RunStatus],
            "transitions": [
                {"trigger": r.trigger, "source": [s.value for s in r.sources], "dest": r.dest.value}
                for r in self.rows
            ],
            "initial": RunStatus.QUEUED.value,
            "auto_transitions": False,
            "send_event": False,
        }


def check_table(table: Table) -> None:
    """Refuse a table that the consumers of rows could not follow.

    Raises:
        ValueError: a trigger named twice, a row leaving a terminal status, a stamp or a
            cleared field that is not a lifecycle field, or two params of one name.
    """
    problems: list[str] = []
    if len(set(table.triggers)) != len(table.triggers):
        problems.append(f"a trigger is named twice: {table.triggers}")
    for row in table.rows:
        if any(s in TERMINAL for s in row.sources):
            problems.append(f"{row.trigger}: leaves a terminal status")
        if not row.trigger.isidentifier() or row.trigger.startswith("_"):
            problems.append(f"{row.trigger!r}: not a public identifier")
        problems.extend(
            f"{row.trigger}: {name} is not a lifecycle field"
            for name in (row.stamp, *row.clears)
            if name is not None and name not in LIFECYCLE
        )
        if len(set(row.param_names)) != len(row.params):
            problems.append(f"{row.trigger}: a param is named twice")
    if problems:
        raise ValueError("bad transition table: " + "; ".join(problems))


#: The spec's table, in the spec's order.
TABLE: Final = Table(
    (
        TableRow("start", (Q,), P, stamp="started_at"),
        TableRow(
            "require_action",
            (P,),
            R,
            params=(Param("tool_calls"),),
            guards=("tool_calls",),
        ),
        TableRow(
            "submit_tool_outputs",
            (R,),
            Q,
            params=(Param("tool_outputs"),),
            guards=("tool_outputs",),
            clears=("required_action",),
        ),
        TableRow(
            "complete",
            (P, CG),
            RunStatus.COMPLETED,
            params=(_USAGE,),
            guards=("started", "usage"),
            stamp="completed_at",
            clears=("expires_at",),
        ),
        TableRow(
            "mark_incomplete",
            (P, CG),
            RunStatus.INCOMPLETE,
            params=(Param("reason"), _USAGE),
            guards=("started", "reason", "usage"),
            stamp="completed_at",
            clears=("expires_at",),
        ),
        TableRow(
            "fail",
            (Q, P, CG),
            RunStatus.FAILED,
            params=(Param("code"), Param("message"), _USAGE),
            guards=("error", "usage"),
            stamp="failed_at",
            clears=("expires_at",),
        ),
        TableRow("cancel", (Q, P, R), CG, clears=("required_action",)),
        TableRow(
            "finish_cancel",
            (CG,),
            RunStatus.CANCELLED,
            stamp="cancelled_at",
            clears=("expires_at",),
        ),
        TableRow(
            "expire",
            (Q, P, R, CG),
            RunStatus.EXPIRED,
            guards=("due",),
            clears=("required_action", "expires_at"),
        ),
    )
)

#: The rows of ``TABLE``, in the spec's order.
TRANSITIONS: Final[tuple[TableRow, ...]] = TABLE.rows
#: The trigger names, in the table's order.
TRIGGERS: Final[tuple[str, ...]] = TABLE.triggers


def transition(trigger: str) -> TableRow:
    """The row of *trigger* in ``TABLE``; ``KeyError`` for a name that is not a trigger."""
    return TABLE.row(trigger)


def allowed_sources(trigger: str) -> tuple[RunStatus, ...]:
    """The statuses *trigger* may be fired from."""
    return TABLE.row(trigger).sources


def triggers_from(status: RunStatus) -> tuple[str, ...]:
    """The triggers allowed from *status*, in the table's order."""
    return TABLE.triggers_from(status)


def machine_config() -> dict[str, Any]:
    """``TABLE.machine_config()``: keyword arguments for a ``transitions.Machine``."""
    return TABLE.machine_config()
