"""The transition table as data: everything else (machine, ``may_*``, diagrams) derives from it."""

from __future__ import annotations

from typing import Any, Final

from ._status import RunStatus

__all__ = [
    "LIFECYCLE",
    "TRANSITIONS",
    "TRIGGERS",
    "Transition",
    "allowed_sources",
    "machine_config",
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

Q, P, R, CG = (
    RunStatus.QUEUED,
    RunStatus.IN_PROGRESS,
    RunStatus.REQUIRES_ACTION,
    RunStatus.CANCELLING,
)


class Transition:
    """One row of the table: *trigger* moves a run from any of *sources* to *dest*."""

    __slots__ = ("dest", "sources", "trigger")

    def __init__(self, trigger: str, sources: tuple[RunStatus, ...], dest: RunStatus) -> None:
        self.trigger = trigger
        self.sources = sources
        self.dest = dest

    def __repr__(self) -> str:
        return f"Transition({self.trigger!r}, {self.sources!r}, {self.dest!r})"


#: The spec's table, in the spec's order.
TRANSITIONS: Final[tuple[Transition, ...]] = (
    Transition("start", (Q,), P),
    Transition("require_action", (P,), R),
    Transition("submit_tool_outputs", (R,), Q),
    Transition("complete", (P, CG), RunStatus.COMPLETED),
    Transition("mark_incomplete", (P, CG), RunStatus.INCOMPLETE),
    Transition("fail", (Q, P, CG), RunStatus.FAILED),
    Transition("cancel", (Q, P, R), CG),
    Transition("finish_cancel", (CG,), RunStatus.CANCELLED),
    Transition("expire", (Q, P, R, CG), RunStatus.EXPIRED),
)

#: The trigger names, in the table's order.
TRIGGERS: Final[tuple[str, ...]] = tuple(t.trigger for t in TRANSITIONS)

_BY_TRIGGER: Final[dict[str, Transition]] = {t.trigger: t for t in TRANSITIONS}

#: Which triggers each status allows, in the table's order.
_FROM: Final[dict[RunStatus, tuple[str, ...]]] = {
    status: tuple(t.trigger for t in TRANSITIONS if status in t.sources) for status in RunStatus
}


def transition(trigger: str) -> Transition:
    """The row of *trigger*; ``KeyError`` for a name that is not a trigger."""
    return _BY_TRIGGER[trigger]


def allowed_sources(trigger: str) -> tuple[RunStatus, ...]:
    """The statuses *trigger* may be fired from."""
    return _BY_TRIGGER[trigger].sources


def triggers_from(status: RunStatus) -> tuple[str, ...]:
    """The triggers allowed from *status*, in the table's order."""
    return _FROM[status]


def machine_config() -> dict[str, Any]:
    """Keyword arguments for a ``transitions.Machine`` that implements the table.

    Used by the engine and by the diagrams, so that both are derived from one definition.
    """
    return {
        "states": [s.value for s in RunStatus],
        "transitions": [
            {"trigger": t.trigger, "source": [s.value for s in t.sources], "dest": t.dest.value}
            for t in TRANSITIONS
        ],
        "initial": RunStatus.QUEUED.value,
        "auto_transitions": False,
        "send_event": False,
    }
