"""The one writer: every change to a run that others may hold goes through here.

A run is a frozen record, so nothing else can write it by accident; this module writes its
slots through their own descriptors (the cheapest way into a frozen record) and its
``RunState``, each change whole or not at all: any exception restores what was there.
``tests/test_architecture.py`` bans slot writes (``object.__setattr__``, slot ``__set__``)
everywhere else but the makers, which fill records nobody holds yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from ._record import WIRE_FIELDS, Run

if TYPE_CHECKING:
    from ._history import Move
    from ._state import Mover

__all__ = [
    "bind",
    "commit",
    "reset",
    "set_history",
    "set_metadata",
    "set_steps",
    "set_version",
]

#: The slots' own setters, by field name.
_SETTERS: Final = {name: Run.__dict__[name].__set__ for name in WIRE_FIELDS}


def commit(  # noqa: PLR0917 - on every move: positional is cheaper
    run: Run,
    changes: dict[str, Any],
    version: int,
    move: Move | None,
    origin: tuple[Any, ...] | None,
    steps: tuple[Any, ...] | None = None,
) -> None:
    """Write a move: all of *changes* (lifecycle fields), *version*, *move* and *steps*, or none.

    *origin* (the lifecycle fields before the first recorded move) is kept with the first
    move; *steps* (``None``: as they are) are the run's steps after the move. Call it under
    the run's lock.
    """
    state = run._state
    # Only the fields the move writes can need putting back (a step move writes none).
    before = [(name, getattr(run, name)) for name in changes]
    old_version, old_steps = state.version, state.steps
    try:
        for name, value in changes.items():
            _SETTERS[name](run, value)
        state.version = version
        if steps is not None:
            state.steps = steps
        if move is not None:
            history = state.history
            if history is None:
                state.history = [move]
                state.origin = origin
                state.origin_steps = old_steps
            else:
                history.append(move)
    except BaseException:
        for name, value in before:
            _SETTERS[name](run, value)
        state.version, state.steps = old_version, old_steps
        raise


def set_metadata(run: Run, metadata: Mapping[str, Any] | None, version: int) -> None:
    """Write an update: the run's *metadata* (read-only already) and its new *version*."""
    state = run._state
    old = run.metadata
    try:
        _SETTERS["metadata"](run, metadata)
        state.version = version
    except BaseException:
        _SETTERS["metadata"](run, old)
        raise


def reset(run: Run, source: Run, *, version: int, keep: int | None) -> None:
    """Make *run* hold *source*'s wire fields at *version*, its history cut to *keep* moves.

    *keep* ``None`` keeps the history as it is. Call it under *run*'s lock.
    """
    state = run._state
    before = [getattr(run, name) for name in WIRE_FIELDS]
    old_version, history = state.version, state.history
    try:
        for name in WIRE_FIELDS:
            _SETTERS[name](run, getattr(source, name))
        state.version = version
        if keep is not None and history is not None:
            state.history = history[:keep] or None
    except BaseException:
        for name, value in zip(WIRE_FIELDS, before, strict=True):
            _SETTERS[name](run, value)
        state.version, state.history = old_version, history
        raise


def set_history(
    run: Run,
    history: list[Move] | None,
    origin: tuple[Any, ...] | None,
    version: int,
    origin_steps: tuple[Any, ...] = (),
) -> None:
    """Give *run* a stored *history*, *origin* (and its steps) and *version* (a document's)."""
    state = run._state
    state.history, state.origin, state.version = history or None, origin, version
    state.origin_steps = origin_steps


def set_steps(run: Run, steps: tuple[Any, ...]) -> None:
    """Give *run* its stored *steps* (a store reading a run back, restoring a document)."""
    run._state.steps = steps


def bind(run: Run, engine: Mover | None) -> None:
    """Bind *run* to *engine* (``None``: the module's default engine)."""
    run._state.engine = engine


def set_version(run: Run, version: int) -> None:
    """Set *run*'s version (a store's, when it reads the run back)."""
    run._state.version = version
