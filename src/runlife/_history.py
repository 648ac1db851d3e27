"""The append-only record of a run's moves, and the one check that moves chain."""

from __future__ import annotations

from typing import Any

import attrs

from ._errors import InvalidRun
from ._json import thaw
from ._step_table import STEP_OPS, STEP_TABLE
from ._table import TABLE, Table

__all__ = ["Move", "chain_problems"]

#: The keys of a move's dict, in the order ``Move.to_dict`` writes them.
_KEYS = ("trigger", "source", "dest", "at", "args", "steps")
#: A step move's keys, and the step triggers it may name (``open`` and the step table's).
_STEP_KEYS = ("step_id", "trigger")
_STEP_TRIGGERS = ("open", *STEP_TABLE.triggers)


@attrs.frozen
class Move:
    """One successful move of a run.

    *trigger* is the trigger's name, *source* and *dest* the statuses before and after,
    *at* the clock's time of the move, and *args* the wire-shaped arguments that matter
    (``tool_calls``, ``tool_outputs``, ``usage``, ``code``/``message``, ``reason``), exactly
    what firing *trigger* again with them at *at* needs (see ``runlife.replay``).

    *steps* are the step moves the move made (``{"step_id", "trigger"}`` each, ``trigger``
    ``open`` or one of the step table's), empty when it made none or the engine keeps no
    steps. *trigger* is one of the table's, or a step move of the driver's
    (``open_message_step``, ``complete_message_step``: *source* and *dest* are then the
    same status).
    """

    trigger: str
    source: str
    dest: str
    at: int
    args: dict[str, Any] = attrs.field(factory=dict)
    steps: tuple[dict[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The move as a JSON-ready dict that shares nothing with the move (``steps`` only when any)."""
        d = {
            "trigger": self.trigger,
            "source": self.source,
            "dest": self.dest,
            "at": self.at,
            "args": thaw(self.args),
        }
        if self.steps:
            d["steps"] = [dict(s) for s in self.steps]
        return d

    @classmethod
    def from_dict(cls, data: Any, *, path: str = "$", table: Table = TABLE) -> Move:
        """The move a ``to_dict`` dict describes, checked against *table*.

        ``args`` may be left out when there are none.

        Raises:
            InvalidRun: *data* is not a move dict, names an unknown trigger or status, or
                a move that the table does not make (one line per problem, under *path*).
        """
        if type(data) is not dict:
            raise InvalidRun([(path, f"expected a move object, got {type(data).__name__}")])
        errors = [(f"{path}.{key}", "missing") for key in _KEYS[:4] if key not in data]
        errors.extend(
            (f"{path}.{key}", f"unknown key; a move has {', '.join(_KEYS)}")
            for key in data
            if key not in _KEYS
        )
        trigger: Any = data.get("trigger")
        source: Any = data.get("source")
        dest: Any = data.get("dest")
        at: Any = data.get("at")
        args: Any = data.get("args", {})
        steps: Any = data.get("steps", [])
        triggers = (*table.triggers, *STEP_OPS)
        if "trigger" in data and (type(trigger) is not str or trigger not in triggers):
            errors.append(
                (f"{path}.trigger", f"expected one of {', '.join(triggers)}, got {trigger!r}")
            )
        elif trigger in STEP_OPS and "source" in data and "dest" in data:
            op = STEP_OPS[trigger]
            if source != dest or source not in op.sources:
                allowed = ", ".join(s.value for s in op.sources)
                errors.append(
                    (path, f"{trigger} keeps the run in {allowed}, not {source!r} to {dest!r}")
                )
        elif "trigger" in data and "source" in data and "dest" in data:
            row = table.row(trigger)
            if source not in row.sources or dest != row.dest:
                allowed = ", ".join(s.value for s in row.sources)
                errors.append(
                    (
                        path,
                        (
                            f"{trigger} does not move a run from {source!r} to {dest!r}: "
                            f"it moves {allowed} to {row.dest.value}"
                        ),
                    )
                )
        if "at" in data and (type(at) is not int or at < 0):
            errors.append((f"{path}.at", f"expected an int of Unix seconds >= 0, got {at!r}"))
        if type(args) is not dict:
            errors.append((f"{path}.args", f"expected an object, got {type(args).__name__}"))
        errors.extend(_step_problems(steps, f"{path}.steps"))
        if errors:
            raise InvalidRun(errors)
        return cls(trigger, source, dest, at, thaw(args), tuple(dict(s) for s in steps))


def _step_problems(steps: Any, path: str) -> list[tuple[str, str]]:
    if type(steps) is not list:
        return [(path, f"expected an array, got {type(steps).__name__}")]
    errors: list[tuple[str, str]] = []
    for i, step in enumerate(steps):
        where = f"{path}[{i}]"
        if type(step) is not dict or set(step) != set(_STEP_KEYS):
            errors.append((where, "expected an object of step_id and trigger"))
        elif type(step["step_id"]) is not str or step["trigger"] not in _STEP_TRIGGERS:
            allowed = ", ".join(_STEP_TRIGGERS)
            errors.append((where, f"expected a step_id string and a trigger of {allowed}"))
    return errors


def chain_problems(
    moves: list[Move],
    start: str,
    end: str | None,
    *,
    path: str = "$.history",
    end_path: str = "$.run.status",
) -> list[tuple[str, str]]:
    """Where *moves* do not chain: one ``(path, problem)`` each.

    Each move must start where the one before ended (the first at *start*), and the last
    end at *end* (``None``: anywhere).
    """
    problems: list[tuple[str, str]] = []
    at = start
    for i, move in enumerate(moves):
        if move.source != at:
            where = "the origin's status" if i == 0 else f"{path}[{i - 1}] ended"
            problems.append(
                (f"{path}[{i}].source", f"expected {at!r} ({where}), got {move.source!r}")
            )
        at = move.dest
    if end is not None and at != end:
        problems.append((end_path, f"expected {at!r}, where the history ends, got {end!r}"))
    return problems
