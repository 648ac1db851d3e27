"""The engine's per-run state, and the services the record asks of the layers above it.

A ``Run`` is a value: its wire fields, plus one private ``RunState`` that the engine owns
(the engine it is bound to, its lock, version, history and origin). The record never
exposes that state as wire fields; copies and pickles of a run get a state of their own.

The record sits below the engine and the wire format, so it cannot import them. What it
needs of them (the engine that moves an unbound run, the structure check of a run built
by hand) is *bound* here at import by the modules that provide it: ``runlife._engine``
binds the default engine, ``runlife._wire`` the validator. Both are imported by
``runlife`` itself, so they are bound before any run exists.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol

from ._clock import Clock
from ._history import Move
from ._table import Table

#: A ``runlife.Run``: the record sits above this module, so it is not named here.
Run = Any

__all__ = [
    "Mover",
    "RunState",
    "bind_default_engine",
    "bind_validator",
    "default_engine",
    "validate",
]


class Mover(Protocol):
    """What a run asks of its engine: fire a trigger, or ask whether it would succeed."""

    #: The engine's clock (integer Unix seconds).
    clock: Clock
    #: The transition table the engine moves runs by.
    table: Table

    def fire(
        self, run: Run, trigger: str, args: Mapping[str, Any] = ..., /, *, at: int | None = None
    ) -> object:
        """Move *run* by *trigger* with *args* (at *at*); raise and change nothing when refused."""
        ...

    def may(
        self, run: Run, trigger: str, args: Mapping[str, Any] = ..., /, *, at: int | None = None
    ) -> bool:
        """Whether ``fire(run, trigger, args)`` would succeed now."""
        ...

    def fire_step(
        self, run: Run, op: str, args: Mapping[str, Any] = ..., /, *, at: int | None = None
    ) -> object:
        """Make the driver's step move *op* (``open_message_step``, ``complete_message_step``)."""
        ...


class Engine(Mover, Protocol):
    """What snapshots and replay ask of an engine (``RunEngine`` is one)."""

    record_history: bool

    def adopt(self, run: Run, *, version: int | None = None, action: str = "adopt") -> None:
        """Bind *run* to the engine and its indexes."""
        ...

    def derive(self, **changes: Any) -> Engine:
        """An engine with this one's settings, *changes* applied."""
        ...

    def collect(self) -> AbstractContextManager[list[Any]]:
        """A scope whose events are collected, not delivered."""
        ...


class RunState:
    """The engine's state of one run: nothing of it is on the wire.

    *engine* is the engine the run is bound to (``None``: the default engine, bound on
    first use); *lock* serialises the run's moves; *version* counts its moves and updates;
    *history* holds its recorded moves (``None`` until the first); *origin* the lifecycle
    fields before the first recorded move (*origin_steps* its steps then); *steps* the run's steps (a tuple of frozen
    ``RunStep`` records, replaced whole by each commit); *claimed* is set once a record holds the state
    (a second record offered the same state was made by ``attrs.evolve``).

    Written only by ``runlife._commit`` once the run is shared.
    """

    __slots__ = (
        "claimed",
        "engine",
        "history",
        "lock",
        "origin",
        "origin_steps",
        "steps",
        "version",
    )

    def __init__(self) -> None:
        self.engine: Mover | None = None
        self.lock = threading.Lock()
        self.version = 0
        self.history: list[Move] | None = None
        self.origin: tuple[Any, ...] | None = None
        #: The run's steps (``runlife.RunStep``), oldest first: a tuple, replaced by each commit.
        self.steps: tuple[Any, ...] = ()
        #: The steps before the first recorded move (what a replay of the history starts from).
        self.origin_steps: tuple[Any, ...] = ()
        self.claimed = True

    def detached(self) -> RunState:
        """A new state with this one's version, history and origin, bound to no engine."""
        state = RunState()
        state.version = self.version
        state.history = None if self.history is None else list(self.history)
        state.origin = self.origin
        state.steps = self.steps
        state.origin_steps = self.origin_steps
        return state


_default_engine: Callable[[], Engine] | None = None
_validator: Callable[[Run], None] | None = None


def bind_default_engine(factory: Callable[[], Engine]) -> None:
    """Set what gives the engine of runs bound to none (``runlife._engine`` does, at import)."""
    global _default_engine  # noqa: PLW0603 - bound once, at import
    _default_engine = factory


def bind_validator(validator: Callable[[Run], None]) -> None:
    """Set the structure check of runs built by hand (``runlife._wire`` does, at import)."""
    global _validator  # noqa: PLW0603 - bound once, at import
    _validator = validator


def default_engine() -> Engine:
    """The engine of runs bound to none."""
    if _default_engine is None:  # pragma: no cover - runlife binds it at import
        raise RuntimeError("runlife._engine is not imported: import runlife")
    return _default_engine()


def validate(run: Run) -> None:
    """Check a run built by hand (``Run(...)``) for structure."""
    if _validator is None:  # pragma: no cover - runlife binds it at import
        raise RuntimeError("runlife._wire is not imported: import runlife")
    _validator(run)
