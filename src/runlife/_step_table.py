"""The run step's tables as data: its own lifecycle, and how the run's moves drive it.

Three tables, each fact declared once:

- ``STEP_TABLE``: the step's lifecycle. A step is created ``in_progress``; each row moves it
  from there to an end status and sets that status's stamp. The step's ``transitions``
  machine (``runlife._machine.STEP_MACHINE``) and its diagram are built from it.
- ``COUPLING``: for each trigger of the run's table, what happens to the run's open step
  (the one ``in_progress``; there is at most one) and which step the move opens. The
  engine's step planner (``runlife._steps``), the docs' table and the checks read it.
- ``STEP_OPS``: the two moves that only the driver of a run makes, because only it knows
  when the model writes a message: open a ``message_creation`` step with the message's id,
  and complete it with its usage.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from ._status import STEP_TERMINAL, RunStatus, StepStatus

__all__ = [
    "COUPLING",
    "ENDS_BY_DEST",
    "MESSAGE_CREATION",
    "STEP_OPS",
    "STEP_TABLE",
    "STEP_TYPES",
    "TOOL_CALLS",
    "Coupling",
    "StepOp",
    "StepRow",
    "StepTable",
]


class StepRow:
    """One row of the step's table: *trigger* moves an ``in_progress`` step to *dest*, stamping *stamp*."""

    __slots__ = ("dest", "stamp", "trigger")

    def __init__(self, trigger: str, dest: StepStatus, stamp: str) -> None:
        self.trigger = trigger
        self.dest = dest
        self.stamp = stamp

    def __repr__(self) -> str:
        return f"StepRow({self.trigger!r}, {self.dest!r}, {self.stamp!r})"


class StepTable:
    """The step's lifecycle table: its rows, by trigger, and the machine configuration."""

    __slots__ = ("_by_trigger", "rows", "triggers")

    def __init__(self, rows: Iterable[StepRow]) -> None:
        self.rows: tuple[StepRow, ...] = tuple(rows)
        self.triggers: tuple[str, ...] = tuple(r.trigger for r in self.rows)
        self._by_trigger = {r.trigger: r for r in self.rows}
        if len(self._by_trigger) != len(self.rows):
            raise ValueError(f"bad step table: a trigger is named twice: {self.triggers}")
        ends = {r.dest for r in self.rows}
        if ends != STEP_TERMINAL:
            raise ValueError(
                f"bad step table: the rows must end in each of {sorted(STEP_TERMINAL)}"
            )

    def row(self, trigger: str) -> StepRow:
        """The row of *trigger*; ``KeyError`` for a name that is not one."""
        return self._by_trigger[trigger]

    def machine_config(self) -> dict[str, Any]:
        """Keyword arguments for a ``transitions.Machine`` of the step's lifecycle."""
        return {
            "states": [s.value for s in StepStatus],
            "transitions": [
                {"trigger": r.trigger, "source": StepStatus.IN_PROGRESS.value, "dest": r.dest.value}
                for r in self.rows
            ],
            "initial": StepStatus.IN_PROGRESS.value,
            "auto_transitions": False,
            "send_event": False,
        }


#: The step's lifecycle: from ``in_progress`` to each end, with its stamp.
STEP_TABLE: Final = StepTable(
    (
        StepRow("complete", StepStatus.COMPLETED, "completed_at"),
        StepRow("fail", StepStatus.FAILED, "failed_at"),
        StepRow("cancel", StepStatus.CANCELLED, "cancelled_at"),
        StepRow("expire", StepStatus.EXPIRED, "expired_at"),
    )
)

#: The two step types.
TOOL_CALLS: Final = "tool_calls"
MESSAGE_CREATION: Final = "message_creation"
STEP_TYPES: Final = (MESSAGE_CREATION, TOOL_CALLS)


class Coupling:
    """What one trigger of the run's table does to the run's steps.

    *ends*: the step trigger that ends the open step (``None``: it stays open).
    *unanswered*: the step trigger that ends an open ``tool_calls`` step whose calls have no
    outputs, when that differs from *ends* (a ``cancelling`` run that completes never got
    them). *opens*: the type of the step the move opens (``None``: none). *note*: the
    sentence the docs' table shows.
    """

    __slots__ = ("ends", "note", "opens", "trigger", "unanswered")

    def __init__(
        self,
        trigger: str,
        ends: str | None,
        *,
        unanswered: str | None = None,
        opens: str | None = None,
        note: str,
    ) -> None:
        self.trigger = trigger
        self.ends = ends
        self.unanswered = unanswered if unanswered is not None else ends
        self.opens = opens
        self.note = note

    def __repr__(self) -> str:
        return f"Coupling({self.trigger!r}, ends={self.ends!r}, opens={self.opens!r})"


def _couplings(rows: Iterable[Coupling]) -> dict[str, Coupling]:
    found = {c.trigger: c for c in rows}
    for c in found.values():
        for name in (c.ends, c.unanswered):
            if name is not None and name not in STEP_TABLE.triggers:
                raise ValueError(f"coupling of {c.trigger}: {name!r} is not a step trigger")
    return found


#: The coupling of the run's moves and its steps, one entry per trigger of ``runlife.TABLE``
#: (a trigger of another table that is not here leaves the steps as they are).
COUPLING: Final = _couplings(
    (
        Coupling("start", None, note="nothing by itself"),
        Coupling(
            "require_action",
            "complete",
            unanswered="cancel",
            opens=TOOL_CALLS,
            note=(
                "an open `message_creation` step completes; a `tool_calls` step opens "
                "`in_progress` with the calls (outputs null)"
            ),
        ),
        Coupling(
            "submit_tool_outputs",
            "complete",
            note="the open `tool_calls` step completes, each call with its output",
        ),
        Coupling(
            "complete",
            "complete",
            unanswered="cancel",
            note=(
                "the open step completes (a `tool_calls` step of a cancelling run, whose "
                "calls were never answered, is cancelled)"
            ),
        ),
        Coupling(
            "mark_incomplete",
            "complete",
            unanswered="cancel",
            note=(
                "the open step completes, as the API ends it (a step has no `incomplete` "
                "status: the message it wrote is the incomplete part)"
            ),
        ),
        Coupling("fail", "fail", note="the open step fails with the run's `last_error`"),
        Coupling("cancel", None, note="nothing yet: a `cancelling` run may still complete"),
        Coupling("finish_cancel", "cancel", note="the open step is cancelled"),
        Coupling("expire", "expire", note="the open step expires"),
    )
)


#: What a trigger that ``COUPLING`` does not name (one of a table of your own) does to the
#: open step, by the status it moves the run to: a terminal one ends it as the run ends,
#: any other leaves it open.
ENDS_BY_DEST: Final = {
    RunStatus.COMPLETED: Coupling("", "complete", unanswered="cancel", note="as complete"),
    RunStatus.INCOMPLETE: Coupling("", "complete", unanswered="cancel", note="as mark_incomplete"),
    RunStatus.FAILED: Coupling("", "fail", note="as fail"),
    RunStatus.CANCELLED: Coupling("", "cancel", note="as finish_cancel"),
    RunStatus.EXPIRED: Coupling("", "expire", note="as expire"),
}


def coupling_of(trigger: str, dest: RunStatus) -> Coupling | None:
    """The coupling of *trigger* (moving a run to *dest*): ``COUPLING``'s, else by *dest*."""
    found = COUPLING.get(trigger)
    return found if found is not None else ENDS_BY_DEST.get(dest)


class StepOp:
    """A move of the run's steps alone, made by the run's driver: *name*, from which run statuses.

    *ends*: the step trigger it ends the open step by (``None``: it opens one instead);
    *required*: the params it cannot do without (the others are optional, ``None``).
    """

    __slots__ = ("ends", "name", "note", "params", "required", "sources")

    def __init__(
        self,
        name: str,
        sources: tuple[RunStatus, ...],
        params: tuple[str, ...],
        note: str,
        *,
        ends: str | None = None,
        required: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.sources = sources
        self.params = params
        self.note = note
        self.ends = ends
        self.required = required

    def __repr__(self) -> str:
        return f"StepOp({self.name!r})"


#: The driver's step moves, by name: they change no field of the run, only its steps.
STEP_OPS: Final = {
    op.name: op
    for op in (
        StepOp(
            "open_message_step",
            (RunStatus.IN_PROGRESS,),
            ("message_id",),
            "opens a `message_creation` step for the message *message_id* (no step may be open)",
            required=("message_id",),
        ),
        StepOp(
            "complete_message_step",
            (RunStatus.IN_PROGRESS, RunStatus.CANCELLING),
            ("usage",),
            "completes the open `message_creation` step, with its *usage* (or null)",
            ends="complete",
        ),
    )
}
