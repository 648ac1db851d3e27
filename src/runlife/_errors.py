"""Errors raised by runlife.

The hierarchy::

    RunlifeError (Exception)
    ├── IllegalTransition (also transitions.MachineError): the table forbids the trigger
    │                      from the run's status
    ├── GuardRejected (also ValueError): the trigger is allowed but its arguments,
    │                  or the run's state, are refused by a guard
    ├── InvalidRun (also ValueError): bad field values or wire data; one line per problem,
    │               each starting with the field's path
    ├── RunNotFound (also LookupError): no run with that id in a store
    ├── ThreadBusy: the run's thread already has an active run
    └── Conflict: a concurrent writer won (stores only)

Every error leaves the run exactly as it was before the call.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from transitions import MachineError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "Conflict",
    "GuardRejected",
    "IllegalTransition",
    "InvalidRun",
    "RunNotFound",
    "RunlifeError",
    "ThreadBusy",
]


class RunlifeError(Exception):
    """Base class of every error runlife raises on purpose.

    Errors pickle (a worker process can raise one to its parent): each is rebuilt from the
    arguments it was made with, its notes and attributes kept.
    """

    _made_with: tuple[tuple[Any, ...], dict[str, Any]]

    def __new__(cls, *args: Any, **kwargs: Any) -> RunlifeError:  # noqa: PYI034
        self = super().__new__(cls, *args)
        self._made_with = (args, kwargs)
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        args, kwargs = self._made_with
        state = {k: v for k, v in self.__dict__.items() if k != "_made_with"}
        return (functools.partial(type(self), *args, **kwargs), (), state)


class IllegalTransition(RunlifeError, MachineError):
    """A trigger was fired from a status that the transition table does not allow it from.

    Attributes: *run_id*, *trigger*, *status* (the run's current status string),
    *sources* (statuses the trigger is allowed from) and *allowed* (triggers allowed
    from the current status).
    """

    def __init__(
        self, run_id: str, trigger: str, status: str, sources: Sequence[str], allowed: Sequence[str]
    ) -> None:
        self.run_id = run_id
        self.trigger = trigger
        self.status = status
        self.sources = tuple(sources)
        self.allowed = tuple(allowed)
        if self.allowed:
            tail = f"from {status} you may {', '.join(self.allowed)}"
        else:
            tail = f"{status} is terminal: nothing leaves it"
        msg = (
            f"cannot {trigger}() run {run_id} in status {status!r}: "
            f"{trigger} is allowed from {', '.join(self.sources)}; {tail}"
        )
        MachineError.__init__(self, msg)
        Exception.__init__(self, msg)

    def __str__(self) -> str:
        # MachineError's __str__ quotes the message (repr); ours reads as a sentence.
        return str(self.value)


class GuardRejected(RunlifeError, ValueError):
    """A guard refused a trigger's arguments or the run's state.

    Attributes: *run_id*, *trigger*, and *problems*: a list of ``(path, problem)``.
    """

    def __init__(self, run_id: str, trigger: str, problems: Iterable[tuple[str, str]]) -> None:
        self.run_id = run_id
        self.trigger = trigger
        self.problems = list(problems)
        lines = [f"{path}: {problem}" if path else problem for path, problem in self.problems]
        head = f"{trigger}() refused for run {run_id}"
        super().__init__(head + (":\n" if len(lines) > 1 else ": ") + "\n".join(lines))


class InvalidRun(RunlifeError, ValueError):
    """Bad field values or wire data.

    *errors* is a list of ``(path, problem)``; the message has one line per problem, each
    starting with the path (``$.tools[0].type: expected a string``).
    """

    def __init__(self, errors: Iterable[tuple[str, str]], *, run_id: str | None = None) -> None:
        self.errors = list(errors)
        self.run_id = run_id
        lines = [f"{path}: {problem}" for path, problem in self.errors]
        prefix = f"invalid run {run_id}" if run_id else "invalid run"
        super().__init__(prefix + (":\n" if len(lines) > 1 else ": ") + "\n".join(lines))


class RunNotFound(RunlifeError, LookupError):
    """No run with that id exists (in a store, or under the thread asked for)."""

    def __init__(self, run_id: str, *, thread_id: str | None = None) -> None:
        self.run_id = run_id
        self.thread_id = thread_id
        where = f" in thread {thread_id}" if thread_id else ""
        super().__init__(f"no run {run_id}{where}")

    def __str__(self) -> str:
        # LookupError/KeyError would quote; keep the sentence plain.
        return str(self.args[0])


class Conflict(RunlifeError):
    """Another writer changed the run between our read and our write."""


class ThreadBusy(RunlifeError):
    """A thread already has an active run (``RunEngine(one_active_run_per_thread=True)``).

    Attributes: *thread_id*; *run_id*, the active run that holds the thread (``None`` when
    it is not known); *status*, that run's status (or ``None``); *refused_id*, the run that
    was refused (or ``None``). The message names all of them that are known.
    """

    def __init__(
        self,
        thread_id: str,
        run_id: str | None,
        *,
        status: str | None = None,
        refused_id: str | None = None,
        action: str = "create",
    ) -> None:
        self.thread_id = thread_id
        self.run_id = run_id
        self.status = status
        self.refused_id = refused_id
        head = f"cannot {action} run {refused_id}: " if refused_id else ""
        if run_id is None:
            holder = "another run is active on it"
        else:
            holder = (
                f"run {run_id} ({status}) is active on it"
                if status
                else f"run {run_id} is active on it"
            )
        super().__init__(
            f"{head}thread {thread_id} already has an active run: {holder}; "
            "wait for it to end or cancel it first"
        )
