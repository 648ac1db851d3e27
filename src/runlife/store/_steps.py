"""A run's steps in the store (schema version 3): read with the run, written with its moves.

A run's steps live in ``runlife_steps``, one row each: ``ordinal`` its place among the run's
steps (``run.steps``, oldest first: the creation order), ``status``, ``created_at`` and
``body``, the step's wire object as the exact JSON text ``runlife.step_to_json`` writes.

Written: every write of a run's moves inserts the steps its moves opened and updates those
they changed, in the same transaction as the run's row and history rows (``changed``), and
each history row of a move keeps the move's step events (``events_json``): what a follower
in another process streams.

Read: a run is always read in one statement with its steps (``with_steps``), so a run and
its steps are one snapshot, never a run of one version with the steps of another.
"""

# SQL text here is built from constants only; values always travel as parameters.
# ruff: noqa: S608

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any, Final

from runlife import STEP_TABLE, InvalidRun, RunStep, step_from_json, step_to_json

from ._rows import Row, StepRow, dumps
from ._schema import RUN_COLUMNS

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from runlife import RunEvent

__all__ = [
    "SELECT_STEP",
    "UPSERT_STEP",
    "changed",
    "events_json",
    "load_steps",
    "split",
    "with_steps",
]

#: Insert a step, or update the status and body of one stored already (its place and
#: creation stay).
UPSERT_STEP: Final = """INSERT INTO runlife_steps (run_id, id, ordinal, status, created_at, body)
    VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (run_id, id) DO UPDATE SET status = excluded.status, body = excluded.body"""

#: One step of a run.
SELECT_STEP: Final = "SELECT body FROM runlife_steps WHERE run_id = ? AND id = ?"

#: The columns of a step row as ``with_steps`` reads them after a run's own columns.
_STEP_AS_RUN: Final = "run_id, NULL, NULL, NULL, NULL, NULL, body, NULL, ordinal"


def with_steps(select: str) -> str:
    """*select* and the steps of the runs it selects, in one statement (one snapshot).

    *select* yields ``_schema.RUN_COLUMNS`` and a sort key ``k`` (its parameters are the
    statement's); it is evaluated once (``MATERIALIZED``), its row locks kept. The result
    holds one row per run (``ordinal`` NULL) and one per step (``k`` NULL): ``split`` them.
    """
    return f"""WITH page AS MATERIALIZED ({select})
    SELECT {RUN_COLUMNS}, k, NULL FROM page
    UNION ALL
    SELECT {_STEP_AS_RUN} FROM runlife_steps WHERE run_id IN (SELECT id FROM page)"""


def split(
    rows: Iterable[tuple[Any, ...]], *, descending: bool = False
) -> list[tuple[Row, list[str]]]:
    """The rows of a ``with_steps`` statement as ``(run row, its step bodies in order)``.

    Runs in the order of their key (*descending*: the other way).
    """
    runs: list[tuple[Any, Row]] = []
    steps: dict[str, list[tuple[int, str]]] = {}
    for r in rows:
        if r[8] is None:
            runs.append((r[7], Row(*r[:7])))
        else:
            steps.setdefault(r[0], []).append((r[8], r[6]))
    runs.sort(key=lambda kr: kr[0], reverse=descending)
    return [(row, [body for _, body in sorted(steps.get(row.id, []))]) for _, row in runs]


#: Stored step bodies up to this many characters are parsed once per process (``_parse``).
_CACHED_BODY: Final = 16_384


@functools.lru_cache(maxsize=2048)
def _cached(body: str) -> RunStep:
    return step_from_json(body)


def _parse(body: str) -> RunStep:
    """The step of a stored *body*, parsed once per process when the body is small.

    A step is a frozen value and a stored body its exact text, so one parse serves every
    later read of it: a run's done steps are read back with it on every read, and checking
    a step's structure costs more than reading the run's row.
    """
    return _cached(body) if len(body) <= _CACHED_BODY else step_from_json(body)


def load_steps(run_id: str, bodies: Sequence[str]) -> list[RunStep]:
    """The stored step bodies of *run_id*, loaded.

    Raises:
        InvalidRun: a body is not a step of this run; the paths name it (``$.steps[i]``).
    """
    steps: list[RunStep] = []
    problems: list[tuple[str, str]] = []
    for i, body in enumerate(bodies):
        try:
            step = _parse(body)
        except InvalidRun as exc:
            problems += [(f"$.steps[{i}]{path.removeprefix('$')}", p) for path, p in exc.errors]
            continue
        if step.run_id != run_id:
            problems.append((f"$.steps[{i}].run_id", f"the step is of run {step.run_id!r}"))
        steps.append(step)
    if problems:
        raise InvalidRun(problems, run_id=run_id)
    return steps


def changed(run_id: str, before: Sequence[RunStep], after: Sequence[RunStep]) -> list[StepRow]:
    """The step rows to write for a run whose stored steps *before* became *after*.

    A move only appends steps and changes the open one (the last): each step of *after*
    that is new or differs from the stored one at its place is written (a step the move
    left alone is the very same object: no field is compared).
    """
    return [
        StepRow(run_id, step.id, i, step.status.value, step.created_at, step_to_json(step))
        for i, step in enumerate(after)
        if i >= len(before) or (before[i] is not step and before[i] != step)
    ]


#: A step event's name, by what it tells of a step move (``Move.steps``): its opening, or
#: the step table's trigger that ended it (in_progress and delta events are no move).
_MOVE_OF_EVENT: Final = {
    "thread.run.step.created": "open",
    **{f"thread.run.step.{row.dest.value}": row.trigger for row in STEP_TABLE.rows},
}


def step_moves(events: str | None) -> tuple[dict[str, str], ...]:
    """The step moves (``Move.steps``) a history row's stored step events tell of."""
    if events is None:
        return ()
    return tuple(
        {"step_id": e["data"]["id"], "trigger": _MOVE_OF_EVENT[e["event"]]}
        for e in json.loads(events)
        if e["event"] in _MOVE_OF_EVENT
    )


def events_json(event: RunEvent) -> str | None:
    """A move's step events as a history row stores them (``None`` when it has none)."""
    if not event.step_events:
        return None
    return dumps([e.to_stream_event() for e in event.step_events])
