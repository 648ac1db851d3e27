"""The append-only record of a run's moves, and the one check that moves chain."""

from __future__ import annotations

from typing import Any

import attrs

from ._errors import InvalidRun
from ._json import thaw
from ._table import TABLE, Table

__all__ = ["Move", "chain_problems"]

#: The keys of a move's dict, in the order ``Move.to_dict`` writes them.
_KEYS = ("trigger", "source", "dest", "at", "args")


@attrs.frozen
class Move:
    """One successful move of a run.

    *trigger* is the trigger's name, *source* and *dest* the statuses before and after,
    *at* the clock's time of the move, and *args* the wire-shaped arguments that matter
    (``tool_calls``, ``tool_outputs``, ``usage``, ``code``/``message``, ``reason``), exactly
    what firing *trigger* again with them at *at* needs (see ``runlife.replay``).
    """

    trigger: str
    source: str
    dest: str
    at: int
    args: dict[str, Any] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The move as a JSON-ready dict that shares nothing with the move."""
        return {
            "trigger": self.trigger,
            "source": self.source,
            "dest": self.dest,
            "at": self.at,
            "args": thaw(self.args),
        }

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
        triggers = table.triggers
        if "trigger" in data and (type(trigger) is not str or trigger not in triggers):
            errors.append(
                (f"{path}.trigger", f"expected one of {', '.join(triggers)}, got {trigger!r}")
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
        if errors:
            raise InvalidRun(errors)
        return cls(trigger, source, dest, at, thaw(args))


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
