"""Bounded, mergeable statistics of simulated runs.

Durations are whole virtual seconds, at most ``ttl`` (a run expires at ``expires_at``), so
they are kept as exact counts per second (a ``Counter`` per terminal status), from which the
percentiles are exact too; shards are merged by adding the counts.
"""

from __future__ import annotations

from collections import Counter
from typing import Final

import attrs

from runlife import RunStatus

__all__ = ["ENDS", "Stats", "percentile"]

#: Terminal statuses, in the order of the report.
ENDS: Final = (
    RunStatus.COMPLETED,
    RunStatus.INCOMPLETE,
    RunStatus.FAILED,
    RunStatus.CANCELLED,
    RunStatus.EXPIRED,
)


@attrs.define
class Stats:
    """Bounded, mergeable statistics of simulated runs."""

    runs: int = 0
    #: Per terminal status: duration (virtual seconds, end minus creation) -> runs.
    durations: dict[str, Counter[int]] = attrs.field(
        factory=lambda: {s.value: Counter() for s in ENDS}
    )
    #: ``(source status, trigger)`` -> moves made.
    moves: Counter[tuple[str, str]] = attrs.field(factory=Counter)
    tool_calls: int = 0
    #: ``(step type, step status)`` -> steps the runs ended with (empty with steps off).
    steps: Counter[tuple[str, str]] = attrs.field(factory=Counter)
    #: Findings of ``runlife.check`` (all must be zero).
    violations: int = 0
    #: The run with the lowest index that had findings: ``(index, status, findings)``.
    first_violation: tuple[int, str, list[str]] | None = None
    #: The virtual time the last run ended.
    last_end: int = 0

    def merge(self, other: Stats) -> None:
        """Add *other*'s counts to these (exactly; the order of merging does not matter)."""
        self.runs += other.runs
        for status, counts in other.durations.items():
            self.durations[status].update(counts)
        self.moves.update(other.moves)
        self.tool_calls += other.tool_calls
        self.steps.update(other.steps)
        self.violations += other.violations
        mine, theirs = self.first_violation, other.first_violation
        if theirs is not None and (mine is None or theirs[0] < mine[0]):
            self.first_violation = theirs
        self.last_end = max(self.last_end, other.last_end)


def percentile(counts: Counter[int], p: int) -> int | None:
    """The nearest-rank *p*-th percentile of the values counted in *counts*."""
    n = sum(counts.values())
    if n == 0:
        return None
    rank = -(-p * n // 100)  # ceil(p * n / 100), at least 1 for p > 0
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    raise AssertionError(counts)  # pragma: no cover
