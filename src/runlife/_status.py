"""The nine statuses of a run, the five of a run step, and which of them are active or terminal."""

from __future__ import annotations

import difflib
import enum

__all__ = [
    "ACTIVE",
    "HELD",
    "RAN",
    "STATUS_BY_VALUE",
    "STEP_STATUS_BY_VALUE",
    "STEP_TERMINAL",
    "TERMINAL",
    "WAITING",
    "RunStatus",
    "StepStatus",
    "suggest_status",
]


class RunStatus(enum.StrEnum):
    """The status of a run; each member compares equal to its wire string.

    >>> RunStatus.QUEUED == "queued"
    True
    """

    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    REQUIRES_ACTION = "requires_action"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    FAILED = "failed"
    COMPLETED = "completed"
    INCOMPLETE = "incomplete"
    EXPIRED = "expired"

    @property
    def is_active(self) -> bool:
        """True for ``queued``, ``in_progress``, ``requires_action`` and ``cancelling``."""
        return self in ACTIVE

    @staticmethod
    def explain(value: str) -> str:
        """Why *value* is not a status, with a did-you-mean when one is close.

        >>> RunStatus.explain("complete")
        "unknown status 'complete'; did you mean 'completed'? allowed: queued, in_progress, requires_action, cancelling, cancelled, failed, completed, incomplete, expired"
        """
        return suggest_status(value)

    @property
    def is_terminal(self) -> bool:
        """True for the five statuses that nothing leaves."""
        return self in TERMINAL


#: Statuses from which a run can still move.
ACTIVE: frozenset[RunStatus] = frozenset(
    {RunStatus.QUEUED, RunStatus.IN_PROGRESS, RunStatus.REQUIRES_ACTION, RunStatus.CANCELLING}
)
#: Statuses that nothing leaves.
TERMINAL: frozenset[RunStatus] = frozenset(RunStatus) - ACTIVE

#: Statuses a worker holds a run in (under a store's lease): it is being worked on.
HELD: frozenset[RunStatus] = frozenset({RunStatus.IN_PROGRESS, RunStatus.CANCELLING})
#: Statuses that a run reaches only after it started (``started_at`` is then set).
RAN: frozenset[RunStatus] = frozenset(
    {RunStatus.IN_PROGRESS, RunStatus.REQUIRES_ACTION, RunStatus.COMPLETED, RunStatus.INCOMPLETE}
)
#: Statuses a client polling or streaming a run stops at: it waits for the client, or has ended.
WAITING: frozenset[RunStatus] = TERMINAL | {RunStatus.REQUIRES_ACTION}
#: Each status by its wire string.
STATUS_BY_VALUE: dict[str, RunStatus] = {s.value: s for s in RunStatus}

_VALUES = tuple(s.value for s in RunStatus)


class StepStatus(enum.StrEnum):
    """The status of a run step (``thread.run.step``); each member equals its wire string.

    A step is created ``in_progress`` and ends in one of the other four; nothing leaves those.
    There is no ``incomplete`` step: the step of an ``incomplete`` run ends ``completed``.
    """

    IN_PROGRESS = "in_progress"
    CANCELLED = "cancelled"
    FAILED = "failed"
    COMPLETED = "completed"
    EXPIRED = "expired"


#: Step statuses that nothing leaves (every one but ``in_progress``).
STEP_TERMINAL: frozenset[StepStatus] = frozenset(StepStatus) - {StepStatus.IN_PROGRESS}
#: Each step status by its wire string.
STEP_STATUS_BY_VALUE: dict[str, StepStatus] = {s.value: s for s in StepStatus}


def suggest_status(value: str) -> str:
    """Explain why *value* is not a status, with a did-you-mean when one is close."""
    close = difflib.get_close_matches(value, _VALUES, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ";"
    return f"unknown status {value!r}{hint} allowed: {', '.join(_VALUES)}"
