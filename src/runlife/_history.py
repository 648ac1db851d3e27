"""The append-only record of a run's moves."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["Move"]


@attrs.frozen
class Move:
    """One successful move of a run.

    *trigger* is the trigger's name, *source* and *dest* the statuses before and after,
    *at* the clock's time of the move, and *args* the wire-shaped arguments that matter
    (``tool_calls``, ``tool_outputs``, ``usage``, ``code``/``message``, ``reason``).
    """

    trigger: str
    source: str
    dest: str
    at: int
    args: dict[str, Any] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The move as a JSON-ready dict."""
        return {
            "trigger": self.trigger,
            "source": self.source,
            "dest": self.dest,
            "at": self.at,
            "args": self.args,
        }
