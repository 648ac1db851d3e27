"""Executors: the code that decides a claimed run's next move.

A worker claims a queued run (which starts it: ``in_progress``), hands it to the executor as
a ``Turn``, and applies the ``Step`` the executor returns through the store, as one
compare-and-set move fenced by the worker's lease. An executor is a plain callable::

    def my_executor(turn: Turn) -> Step: ...

named on the command line as ``package.module:function`` (or ``demo``). It is called in a
worker process, in one of the worker's threads, once per claim; it may take as long as it
needs (the worker keeps the lease alive), and it must not move the run itself.

It may also return a list (or tuple) of steps, applied in order as one write (one
transaction: all of them or none). That is how an executor reports the run steps only it
knows of, the messages its model writes: ``OpenMessageStep(message_id)`` opens a
``message_creation`` step, ``CompleteMessageStep(usage)`` completes it (the core's
``run.open_message_step`` and ``run.complete_message_step``); ``tool_calls`` steps open and
complete by themselves with ``CallTools`` and the client's submitted outputs.
"""

from __future__ import annotations

import importlib
import secrets
import sys
import time
import typing
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from runlife import FunctionTool, Run, ToolChoice, ToolChoiceFunction

__all__ = [
    "CallTools",
    "Complete",
    "CompleteMessageStep",
    "Executor",
    "Fail",
    "Incomplete",
    "OpenMessageStep",
    "Step",
    "Turn",
    "demo",
    "load_executor",
    "new_message_id",
]


@attrs.frozen
class Turn:
    """What an executor is given: one claim of one run.

    *run* is the run, ``in_progress`` (a copy: moving it changes nothing stored);
    *tool_outputs* the outputs last submitted to it (``None`` before any: the run's first
    turn); *worker* the id of the worker that holds it.
    """

    run: Run
    tool_outputs: tuple[dict[str, Any], ...] | None
    worker: str


def _as_calls(calls: Iterable[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    return tuple(calls)


@attrs.frozen
class CallTools:
    """Ask the client for tool outputs: the run moves to ``requires_action``.

    *calls* are tool calls as the API writes them:
    ``{"id", "type": "function", "function": {"name", "arguments"}}``.
    """

    calls: tuple[dict[str, Any], ...] = attrs.field(converter=_as_calls)


@attrs.frozen
class Complete:
    """End the run ``completed``, with *usage* (``{"prompt_tokens", ...}``) if given."""

    usage: dict[str, Any] | None = None


@attrs.frozen
class Fail:
    """End the run ``failed`` with *code* and *message*.

    *code* is ``server_error``, ``rate_limit_exceeded`` or ``invalid_prompt``.
    """

    code: str = "server_error"
    message: str = "the run failed"
    usage: dict[str, Any] | None = None


@attrs.frozen
class Incomplete:
    """End the run ``incomplete`` for *reason*.

    *reason* is ``max_prompt_tokens`` or ``max_completion_tokens``; the run must have that
    limit set.
    """

    reason: str
    usage: dict[str, Any] | None = None


def new_message_id() -> str:
    """A fresh message id of the API's shape: ``"msg_"`` and 24 URL-safe characters."""
    return "msg_" + secrets.token_urlsafe(18)


@attrs.frozen
class OpenMessageStep:
    """Open a ``message_creation`` step for the message *message_id* (a new one by default).

    The run stays ``in_progress``; no other step may be open. ``runlife`` keeps no
    messages: the id is the executor's to make (``new_message_id``) and to mean.
    """

    message_id: str = attrs.field(factory=new_message_id)


@attrs.frozen
class CompleteMessageStep:
    """Complete the open ``message_creation`` step, with the message's *usage* if given.

    When every step of a run carries usage, the run's own (``Complete(usage)``...) must be
    their sum: the engine refuses any other.
    """

    usage: dict[str, Any] | None = None


#: The steps that end a turn: each moves the run out of ``in_progress``.
_RunMove = CallTools | Complete | Fail | Incomplete
#: One move an executor asks for.
Step = _RunMove | OpenMessageStep | CompleteMessageStep
#: The executor protocol: given the turn, return the next move, or moves in order.
Executor = Callable[[Turn], Step | Sequence[Step]]


def _names(union: Any) -> str:
    return ", ".join(cls.__name__ for cls in typing.get_args(union))


def as_steps(returned: object) -> list[Step]:
    """What an executor *returned*, as the list of its steps.

    Raises:
        TypeError: *returned* is neither a ``Step`` nor a list or tuple of them that ends
            with a move of the run (``CallTools``, ``Complete``, ``Fail``, ``Incomplete``:
            a turn ends with the run out of ``in_progress``).
    """
    steps = list(returned) if isinstance(returned, list | tuple) else [returned]
    bad = [step for step in steps if not isinstance(step, Step)]
    if bad:
        raise TypeError(
            f"the executor returned {bad[0]!r}; expected a runlife.serve {_names(Step)}, "
            "or a list of them"
        )
    if not steps or not isinstance(steps[-1], _RunMove):
        last = repr(steps[-1]) if steps else "no step"
        raise TypeError(
            f"the executor's steps end with {last}; the last must be a {_names(_RunMove)}"
        )
    return steps  # type: ignore[return-value]  # checked above


def apply_step(run: Run, step: Step, *, steps: bool = True) -> None:
    """Fire the trigger *step* stands for on *run* (inside ``store.move``).

    A step move (``OpenMessageStep``, ``CompleteMessageStep``) is skipped when the run's
    engine keeps no steps (*steps* false: ``RunEngine(steps=False)``): there is no step to
    report.

    Raises:
        IllegalTransition: the run's status does not take the step.
        GuardRejected, InvalidRun: the engine refused the step's arguments.
    """
    if isinstance(step, CallTools):
        run.require_action(list(step.calls))
    elif isinstance(step, Complete):
        run.complete(usage=step.usage)
    elif isinstance(step, Fail):
        run.fail(step.code, step.message, usage=step.usage)
    elif isinstance(step, Incomplete):
        run.mark_incomplete(step.reason, usage=step.usage)
    elif not steps:
        return
    elif isinstance(step, OpenMessageStep):
        run.open_message_step(step.message_id)
    else:
        run.complete_message_step(step.usage)


#: The usage the demo executor reports when a run completes.
DEMO_USAGE = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}


def _function_names(run: Run) -> list[str]:
    return [tool.function.name for tool in run.tools if isinstance(tool, FunctionTool)]


def demo(turn: Turn) -> Step | list[Step]:
    """A deterministic executor, for trying the service and for tests.

    - metadata ``{"demo": "fail"}``: fail with ``server_error``;
    - metadata ``{"demo_delay_ms": "N"}``: wait *N* ms first (to cancel a run mid-turn);
    - first turn of a run with function tools (and ``tool_choice`` not ``"none"``): one call
      per function tool (only the chosen one with a ``tool_choice`` naming a function; only
      the first when ``parallel_tool_calls`` is false), arguments ``"{}"``, ids
      ``call_<run id without "run_">_<n>``;
    - otherwise (no function tools, or outputs were submitted): write a message (a
      ``message_creation`` step with a new message id, completed with usage ``{1, 1, 2}``),
      then complete with usage ``{1, 1, 2}``, the sum of the steps' (a ``tool_calls`` step
      completed by submitted outputs has none).
    """
    run = turn.run
    metadata = run.metadata or {}
    delay = metadata.get("demo_delay_ms")
    if isinstance(delay, str) and delay.isdigit():
        time.sleep(min(int(delay), 60_000) / 1000)
    if metadata.get("demo") == "fail":
        return Fail("server_error", "the demo executor was asked to fail this run")
    names = _function_names(run)
    choice = run.tool_choice
    if choice == "none":
        names = []
    elif isinstance(choice, ToolChoice):
        chosen = choice.function.name if isinstance(choice.function, ToolChoiceFunction) else None
        names = [n for n in names if n == chosen]
    if turn.tool_outputs is None and names:
        if run.parallel_tool_calls is False:
            names = names[:1]
        base = run.id.removeprefix("run_")
        calls: list[dict[str, Any]] = [
            {
                "id": f"call_{base}_{i}",
                "type": "function",
                "function": {"name": name, "arguments": "{}"},
            }
            for i, name in enumerate(names)
        ]
        return CallTools(calls)
    return [OpenMessageStep(), CompleteMessageStep(dict(DEMO_USAGE)), Complete(dict(DEMO_USAGE))]


def load_executor(spec: str, *, app_dir: str | None = None) -> Executor:
    """The executor named by *spec*: ``demo`` or ``package.module:function``.

    *app_dir*, when given, is put first on ``sys.path`` (made absolute, once), so that the
    module is found there as uvicorn's ``--app-dir`` finds an app: ``runlife serve`` passes
    ``--app-dir`` (default ``.``, the working directory).

    Raises:
        ValueError: *spec* is malformed, its module cannot be imported, or it names
            something that is not callable (the message says which).
    """
    if spec == "demo":
        return demo
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"executor {spec!r}: expected 'demo' or 'package.module:function'")
    if app_dir is not None:
        where = str(Path(app_dir).resolve())
        if where not in sys.path:
            sys.path.insert(0, where)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"executor {spec!r}: cannot import {module_name}: {exc}") from None
    target: Any = module
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ValueError(f"executor {spec!r}: {module_name} has no {attr}") from None
    if not callable(target):
        raise ValueError(f"executor {spec!r}: {attr} is not callable")  # noqa: TRY004 - a bad option
    executor: Executor = target
    return executor


def outputs_tuple(outputs: Sequence[dict[str, Any]] | None) -> tuple[dict[str, Any], ...] | None:
    """*outputs* as the tuple a ``Turn`` holds."""
    return None if outputs is None else tuple(outputs)
