"""What a move does to a run's steps: planned from the coupling table, changing nothing.

The engine asks :func:`plan_move` (a trigger of the run's table) or :func:`plan_op` (a step
move of the driver's, ``STEP_OPS``) what the run's steps become, and commits the answer in
the same commit as the run's own fields, so that a move and its step moves are one atomic
change: a refusal of either leaves run and steps as they were.

The open step, if any, is always the last one: a step opens only when none is open.

Usage: the step a run move ends gets the part of the run's *usage* that its other steps do
not account for, when each of them carries usage (so that the run's usage is the sum of its
steps'); a run usage smaller than what its steps already used, or different from the sum of
steps that all carry usage, is refused. A ``tool_calls`` step completed by submitted
outputs has no usage: whoever submits knows no tokens.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from ._constraints import STEP_ERROR_CODES
from ._encode import encode_usage
from ._errors import InvalidRun
from ._guards import check_usage
from ._json import EMPTY
from ._record import UNSET, LastError, Usage, make_usage
from ._status import RunStatus, StepStatus
from ._step_record import (
    STEP_FIELDS,
    RunStep,
    StepFunction,
    ToolCallsDetails,
    make_message_creation,
    make_message_creation_details,
    make_run_step,
    make_step_function,
    make_step_tool_call,
    make_tool_calls_details,
)
from ._step_table import MESSAGE_CREATION, STEP_TABLE, TOOL_CALLS, coupling_of
from ._step_wire import encode_step_tool_call

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._record import Run

__all__ = [
    "StepChange",
    "plan_move",
    "plan_op",
    "step_usage_sum",
    "steps_idle",
]

Problems = list[tuple[str, str]]
StepToolCallT = Any

#: What a step event carries: ``(event name, the step after it, a delta object or None)``.
Emitted = tuple[str, RunStep, "dict[str, Any] | None"]

_DELTA: Final = "thread.run.step.delta"
#: The statuses whose moves carry the run's usage.
_USAGE_ENDS: Final = frozenset({RunStatus.COMPLETED, RunStatus.INCOMPLETE, RunStatus.FAILED})


class StepChange:
    """The planned steps of a move.

    *steps*: all of the run's steps after it; *emits*: the step events it emits (API
    order); *moves*: the step moves its history entry records; *usage*: the run's usage
    when the move ends it without one and every step carries usage (their sum).
    """

    __slots__ = ("emits", "moves", "steps", "usage")

    def __init__(
        self,
        steps: tuple[RunStep, ...],
        emits: tuple[Emitted, ...],
        moves: tuple[dict[str, str], ...],
        usage: Usage | None = None,
    ) -> None:
        self.steps = steps
        self.emits = emits
        self.moves = moves
        self.usage = usage


def _usage(p: int, c: int) -> Usage:
    made: Usage = make_usage(
        prompt_tokens=p, completion_tokens=c, total_tokens=p + c, extra=EMPTY, key_order=None
    )
    return made


def _replace(step: RunStep, changes: Mapping[str, Any]) -> RunStep:
    """*step* with *changes*: ``attrs.evolve`` without the checks (the values are checked)."""
    values = {name: getattr(step, name) for name in STEP_FIELDS}
    values.update(changes)
    made: RunStep = make_run_step(**values)
    return made


def step_usage_sum(steps: Sequence[RunStep]) -> Usage | None:
    """The sum of *steps*' usage, or ``None`` when a step carries none (or there is none)."""
    if not steps:
        return None
    p = c = 0
    for step in steps:
        u = step.usage
        if u is None:
            return None
        p += u.prompt_tokens
        c += u.completion_tokens
    return _usage(p, c)


def _show(u: Usage) -> str:
    return (
        f"{{prompt_tokens: {u.prompt_tokens}, completion_tokens: {u.completion_tokens}, "
        f"total_tokens: {u.total_tokens}}}"
    )


def _share(run_usage: Usage, others: Sequence[RunStep], problems: Problems) -> Usage | None:
    """The part of *run_usage* that *others* (the run's other steps) do not account for."""
    done = step_usage_sum(others)
    if done is None:
        if not others:
            return run_usage
        return None  # a step without usage: its share is unknown, and so is this one's
    p = run_usage.prompt_tokens - done.prompt_tokens
    c = run_usage.completion_tokens - done.completion_tokens
    if p < 0 or c < 0:
        msg = f"the run's usage {_show(run_usage)} is less than its steps used ({_show(done)})"
        problems.append(("usage", msg))
        return None
    return _usage(p, c)


def _error(last_error: LastError) -> LastError:
    """The run's error as its step's: a code steps do not have is a ``server_error``."""
    code = last_error.code if last_error.code in STEP_ERROR_CODES else "server_error"
    return LastError(code=code, message=last_error.message)


def _end(
    step: RunStep,
    trigger: str,
    now: int,
    *,
    usage: Usage | None = None,
    last_error: LastError | None = None,
    details: Any = None,
) -> RunStep:
    """*step* ended by the step *trigger* at *now* (its stamp never before it was created)."""
    row = STEP_TABLE.row(trigger)
    at = max(now, step.created_at)
    stamp = row.stamp
    made: RunStep = make_run_step(
        id=step.id,
        created_at=step.created_at,
        run_id=step.run_id,
        assistant_id=step.assistant_id,
        thread_id=step.thread_id,
        type=step.type,
        status=row.dest,
        step_details=step.step_details if details is None else details,
        object=step.object,
        cancelled_at=at if stamp == "cancelled_at" else step.cancelled_at,
        completed_at=at if stamp == "completed_at" else step.completed_at,
        expired_at=at if stamp == "expired_at" else step.expired_at,
        failed_at=at if stamp == "failed_at" else step.failed_at,
        last_error=step.last_error if last_error is None else last_error,
        usage=step.usage if usage is None else usage,
        metadata=step.metadata,
        extra=step.extra,
        key_order=step.key_order,
    )
    return made


def _answered(step: RunStep) -> bool:
    details = step.step_details
    return type(details) is ToolCallsDetails and all(
        isinstance(c.function, StepFunction) and isinstance(c.function.output, str)
        for c in details.tool_calls
    )


def _with_outputs(step: RunStep, outputs: Sequence[Mapping[str, Any]]) -> ToolCallsDetails:
    details = step.step_details
    assert type(details) is ToolCallsDetails  # noqa: S101 - the open step of requires_action
    by_id = {o["tool_call_id"]: o["output"] for o in outputs}
    calls = []
    for call in details.tool_calls:
        fn = call.function
        answered = call
        if isinstance(fn, StepFunction) and call.id in by_id:
            output = make_step_function(
                name=fn.name,
                arguments=fn.arguments,
                output=by_id[call.id],
                extra=fn.extra,
                key_order=fn.key_order,
            )
            answered = make_step_tool_call(
                id=call.id,
                type=call.type,
                function=output,
                extra=call.extra,
                key_order=call.key_order,
            )
        calls.append(answered)
    made: ToolCallsDetails = make_tool_calls_details(
        tool_calls=tuple(calls), type=details.type, extra=details.extra, key_order=details.key_order
    )
    return made


def _new(  # noqa: PLR0917 - internal, two callers
    run: Run, steps: tuple[RunStep, ...], step_id: object, kind: str, now: int, details: Any
) -> RunStep:
    if type(step_id) is not str or not step_id:
        raise InvalidRun(
            [("$.steps", f"step_id_factory returned {step_id!r}; expected a non-empty string")],
            run_id=run.id,
        )
    if any(s.id == step_id for s in steps):
        raise InvalidRun(
            [("$.steps", f"step_id_factory returned {step_id!r}, the id of a step of the run")],
            run_id=run.id,
        )
    made: RunStep = make_run_step(
        id=step_id,
        created_at=max(now, run.created_at),
        run_id=run.id,
        assistant_id=run.assistant_id,
        thread_id=run.thread_id,
        type=kind,
        status=StepStatus.IN_PROGRESS,
        step_details=details,
        object="thread.run.step",
        cancelled_at=None,
        completed_at=None,
        expired_at=None,
        failed_at=None,
        last_error=None,
        usage=None,
        metadata=UNSET,
        extra=EMPTY,
        key_order=None,
    )
    return made


def _tool_calls(calls: tuple[StepToolCallT, ...]) -> ToolCallsDetails:
    made: ToolCallsDetails = make_tool_calls_details(
        tool_calls=calls, type=TOOL_CALLS, extra=EMPTY, key_order=None
    )
    return made


def _opened(shown: RunStep) -> list[Emitted]:
    return [
        ("thread.run.step.created", shown, None),
        ("thread.run.step.in_progress", shown, None),
    ]


def _deltas(step: RunStep) -> list[Emitted]:
    """One ``thread.run.step.delta`` per call, indexed from 0: how the API streams them."""
    details = step.step_details
    assert type(details) is ToolCallsDetails  # noqa: S101 - a tool_calls step
    return [
        (
            _DELTA,
            step,
            {
                "id": step.id,
                "object": _DELTA,
                "delta": {
                    "step_details": {
                        "type": TOOL_CALLS,
                        "tool_calls": [{"index": i, **encode_step_tool_call(call)}],
                    }
                },
            },
        )
        for i, call in enumerate(details.tool_calls)
    ]


def steps_idle(trigger: str, dest: RunStatus) -> bool:
    """Whether a move by *trigger* to *dest* never touches a run's steps (``plan_move`` is ``None``)."""
    coupling = coupling_of(trigger, dest)
    return coupling is None or (
        coupling.ends is None and coupling.opens is None and dest not in _USAGE_ENDS
    )


def plan_move(  # noqa: PLR0917 - the engine's call, on every move
    run: Run,
    steps: tuple[RunStep, ...],
    trigger: str,
    dest: RunStatus,
    changes: Mapping[str, Any],
    outputs: Sequence[Mapping[str, Any]] | None,
    now: int,
    new_step_id: Callable[[], str],
    problems: Problems,
    *,
    emit: bool = True,
) -> StepChange | None:
    """What the run's move by *trigger* to *dest* (planned as *changes*) does to its *steps*.

    *outputs* are the checked tool outputs of ``submit_tool_outputs``. ``None`` when the
    steps stay as they are; problems (the usage guard) go to *problems*. Without *emit*
    (nobody listens, nothing collects) the step events are not made.
    """
    coupling = coupling_of(trigger, dest)
    if coupling is None:
        return None
    open_step = steps[-1] if steps and steps[-1].status is StepStatus.IN_PROGRESS else None
    if (
        coupling.opens is None
        and (open_step is None or coupling.ends is None)
        and (not steps or dest not in _USAGE_ENDS)
    ):
        return None  # nothing to end, open or check: the usual start, cancel, a stepless end
    closed = steps[:-1] if open_step is not None else steps
    emits: list[Emitted] = []
    moves: list[dict[str, str]] = []
    after = list(closed)
    run_usage: Usage | None = changes.get("usage")
    if open_step is not None and coupling.ends is not None:
        step_trigger: str = coupling.ends
        unanswered = open_step.type == TOOL_CALLS and not _answered(open_step)
        if unanswered and trigger != "submit_tool_outputs" and coupling.unanswered is not None:
            step_trigger = coupling.unanswered
        usage = None
        if run_usage is not None and step_trigger in ("complete", "fail"):
            usage = _share(run_usage, closed, problems)
        details = None
        if (
            trigger == "submit_tool_outputs"
            and outputs is not None
            and open_step.type == TOOL_CALLS
        ):
            details = _with_outputs(open_step, outputs)
        error = changes.get("last_error")
        ended = _end(
            open_step,
            step_trigger,
            now,
            usage=usage,
            last_error=_error(error) if step_trigger == "fail" and error is not None else None,
            details=details,
        )
        after.append(ended)
        emits.append((f"thread.run.step.{ended.status.value}", ended, None))
        moves.append({"step_id": ended.id, "trigger": step_trigger})
    elif open_step is not None:
        after.append(open_step)
    fills: Usage | None = None
    if run_usage is None and dest in _USAGE_ENDS:
        fills = step_usage_sum(after)  # each step carries usage: the run's is their sum
    if run_usage is not None and (open_step is None or coupling.ends is None):
        total = step_usage_sum(after)
        if total is not None and total != run_usage:
            msg = (
                f"expected the sum of the run's steps' usage {_show(total)}, got {_show(run_usage)}"
            )
            problems.append(("usage", msg))
    if coupling.opens == TOOL_CALLS:
        calls = changes["required_action"].submit_tool_outputs.tool_calls
        details = _tool_calls(
            tuple(
                make_step_tool_call(
                    id=c.id,
                    type=c.type,
                    function=make_step_function(
                        name=c.function.name,
                        arguments=c.function.arguments,
                        output=None,
                        extra=EMPTY,
                        key_order=None,
                    ),
                    extra=EMPTY,
                    key_order=None,
                )
                for c in calls
            )
        )
        step = _new(run, steps, new_step_id(), TOOL_CALLS, now, details)
        after.append(step)
        if emit:
            emits.extend(_opened(_replace(step, {"step_details": _tool_calls(())})))
            emits.extend(_deltas(step))
        moves.append({"step_id": step.id, "trigger": "open"})
    if not moves and fills is None:
        return None
    return StepChange(tuple(after), tuple(emits), tuple(moves), fills)


def plan_op(  # noqa: PLR0917 - as plan_move
    run: Run,
    steps: tuple[RunStep, ...],
    op: str,
    args: Mapping[str, Any],
    now: int,
    new_step_id: Callable[[], str],
    problems: Problems,
) -> tuple[StepChange | None, dict[str, Any]]:
    """What the driver's step move *op* (``STEP_OPS``) with *args* does: (change, record).

    *record* is what the move's history entry keeps of *args*. Problems go to *problems*
    (then the change is ``None``).
    """
    open_step = steps[-1] if steps and steps[-1].status is StepStatus.IN_PROGRESS else None
    if op == "open_message_step":
        message_id = args["message_id"]
        if open_step is not None:
            msg = (
                f"step {open_step.id} ({open_step.type}) is still in_progress: at most one is open"
            )
            problems.append(("steps", msg))
        if type(message_id) is not str or not message_id:
            problems.append(("message_id", f"expected a non-empty string, got {message_id!r}"))
        if problems:
            return None, {}
        details = make_message_creation_details(
            message_creation=make_message_creation(
                message_id=message_id, extra=EMPTY, key_order=None
            ),
            type=MESSAGE_CREATION,
            extra=EMPTY,
            key_order=None,
        )
        step = _new(run, steps, new_step_id(), MESSAGE_CREATION, now, details)
        change = StepChange(
            (*steps, step), tuple(_opened(step)), ({"step_id": step.id, "trigger": "open"},)
        )
        return change, {"message_id": message_id}
    # complete_message_step
    usage = check_usage(args.get("usage"), problems)
    if open_step is None or open_step.type != MESSAGE_CREATION:
        what = "no step is open" if open_step is None else f"the open step is {open_step.type}"
        problems.append(("steps", f"expected an open message_creation step; {what}"))
    if problems or open_step is None:
        return None, {}
    ended = _end(open_step, "complete", now, usage=usage)
    record: dict[str, Any] = {}
    if usage is not None:
        record["usage"] = encode_usage(usage)
    change = StepChange(
        (*steps[:-1], ended),
        (("thread.run.step.completed", ended, None),),
        ({"step_id": ended.id, "trigger": "complete"},),
    )
    return change, record
