"""Guards and stamps: what a move checks, and what it changes, by the table's rows.

Each row of the table (``runlife._table``) names its guards; ``GUARDS`` implements them by
name. A guard reads the trigger's arguments and the run, appends ``(path, problem)`` pairs
to *problems*, writes the lifecycle fields it decides into *changes* and, when the move is
recorded, the checked wire form of its arguments into *record* (what ``Move.args`` keeps).
``plan`` runs a row's guards in order, then its stamp and the fields it clears; the engine
raises ``GuardRejected`` with every problem at once. Arguments may be wire-shaped
dicts/lists or the record's own attrs classes.
"""

# Every guard has the one ``Guard`` signature, so a row's guards run in one loop; each uses
# only some of the arguments.
# ruff: noqa: ARG001, PLR0917

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeGuard

from ._constraints import ERROR_CODES, INCOMPLETE_REASONS
from ._encode import NESTED
from ._json import EMPTY
from ._json import describe as _show
from ._record import (
    FunctionTool,
    Run,
    ToolCall,
    Usage,
    make_function_call,
    make_incomplete_details,
    make_last_error,
    make_required_action,
    make_submit_tool_outputs,
    make_tool_call,
    make_usage,
)
from ._table import Table, TableRow

__all__ = [
    "GUARDS",
    "Guard",
    "Plan",
    "check_code",
    "check_reason",
    "check_tool_calls",
    "check_tool_outputs",
    "check_usage",
    "planner",
    "planners",
]

Problems = list[tuple[str, str]]


def _as_wire(value: object) -> object:
    """Unwrap one of the record's attrs classes into its wire dict (other values unchanged)."""
    if type(value) is dict:
        return value
    hook = NESTED.get(type(value))
    return value if hook is None else hook(value)


def _exact_keys(d: Mapping[str, Any], keys: tuple[str, ...], path: str, problems: Problems) -> bool:
    if d.keys() == _KEYSETS[keys]:  # compared in C: the common case costs nothing
        return True
    ok = True
    for key in keys:
        if key not in d:
            problems.append((f"{path}.{key}", "missing"))
            ok = False
    unknown = [k for k in d if k not in keys]
    if unknown:
        allowed = ", ".join(keys)
        problems.append((path, f"unknown keys {', '.join(map(repr, unknown))}; allowed: {allowed}"))
        ok = False
    return ok


_CALL: Final = ("id", "type", "function")
_FUNCTION: Final = ("name", "arguments")
_OUTPUT: Final = ("tool_call_id", "output")
_USAGE: Final = ("prompt_tokens", "completion_tokens", "total_tokens")
_KEYSETS: Final[dict[tuple[str, ...], frozenset[str]]] = {
    keys: frozenset(keys) for keys in (_CALL, _FUNCTION, _OUTPUT, _USAGE)
}


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _is_list(value: object) -> TypeGuard[Sequence[Any]]:
    """A list or tuple (or another non-string sequence), checked cheaply for the common case."""
    t = type(value)
    if t is list or t is tuple:
        return True
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes, Mapping))


def _is_object(value: object) -> TypeGuard[Mapping[str, Any]]:
    return type(value) is dict or isinstance(value, Mapping)


def check_tool_calls(  # noqa: PLR0915 - one pass over the calls, every problem reported
    run: Run, tool_calls: object, problems: Problems
) -> tuple[ToolCall, ...]:
    """Parse and guard ``require_action``'s *tool_calls* against *run*."""
    if not _is_list(tool_calls):
        problems.append(("tool_calls", f"expected a list of tool calls, got {_show(tool_calls)}"))
        return ()
    if not tool_calls:
        problems.append(("tool_calls", "expected at least one tool call, got an empty list"))
        return ()
    declared = {t.function.name for t in run.tools if isinstance(t, FunctionTool)}
    calls: list[ToolCall] = []
    seen: set[str] = set()
    for i, raw in enumerate(tool_calls):
        if type(raw) is dict and raw.keys() == _KEYSETS[_CALL]:
            # The usual call, sound, taken without building paths for problems it lacks.
            cid, fn = raw["id"], raw["function"]
            if (
                type(cid) is str
                and cid
                and cid not in seen
                and raw["type"] == "function"
                and type(fn) is dict
                and fn.keys() == _KEYSETS[_FUNCTION]
                and type(fn["name"]) is str
                and fn["name"] in declared
                and type(fn["arguments"]) is str
            ):
                seen.add(cid)
                function = make_function_call(
                    name=fn["name"], arguments=fn["arguments"], extra=EMPTY, key_order=None
                )
                calls.append(
                    make_tool_call(
                        id=cid, function=function, type="function", extra=EMPTY, key_order=None
                    )
                )
                continue
        path = f"tool_calls[{i}]"
        call = _as_wire(raw)
        if not _is_object(call):
            problems.append((path, f"expected an object, got {_show(call)}"))
            continue
        if not _exact_keys(call, _CALL, path, problems):
            continue
        cid, ctype, fn = call["id"], call["type"], call["function"]
        if not _is_str(cid) or not cid:
            problems.append((f"{path}.id", f"expected a non-empty string, got {_show(cid)}"))
        elif cid in seen:
            problems.append((f"{path}.id", f"duplicate tool call id {cid!r}"))
        else:
            seen.add(cid)
        if ctype != "function":
            problems.append((f"{path}.type", f"expected 'function', got {_show(ctype)}"))
        if not _is_object(fn):
            problems.append((f"{path}.function", f"expected an object, got {_show(fn)}"))
            continue
        if not _exact_keys(fn, _FUNCTION, f"{path}.function", problems):
            continue
        name, arguments = fn["name"], fn["arguments"]
        if not _is_str(name):
            problems.append((f"{path}.function.name", f"expected a string, got {_show(name)}"))
        elif name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            problems.append(
                (
                    f"{path}.function.name",
                    f"{name!r} is not a function declared in the run's tools (declared: {known})",
                )
            )
        if not _is_str(arguments):
            problems.append(
                (f"{path}.function.arguments", f"expected a string, got {_show(arguments)}")
            )
        if _is_str(cid) and _is_str(name) and _is_str(arguments):
            function = make_function_call(
                name=name, arguments=arguments, extra=EMPTY, key_order=None
            )
            calls.append(
                make_tool_call(
                    id=cid, function=function, type="function", extra=EMPTY, key_order=None
                )
            )
    if len(tool_calls) > 1 and run.parallel_tool_calls is False:
        problems.append(
            ("tool_calls", f"{len(tool_calls)} calls, but parallel_tool_calls is false: at most 1")
        )
    if run.tool_choice == "none":
        problems.append(("tool_choice", "the run's tool_choice is 'none': it may not call tools"))
    return tuple(calls)


def check_tool_outputs(run: Run, tool_outputs: object, problems: Problems) -> list[dict[str, str]]:
    """Parse and guard ``submit_tool_outputs``'s *tool_outputs* against the pending calls."""
    if not _is_list(tool_outputs):
        problems.append(("tool_outputs", f"expected a list of outputs, got {_show(tool_outputs)}"))
        return []
    ra = run.required_action
    pending = [c.id for c in ra.submit_tool_outputs.tool_calls] if ra is not None else []
    outputs: list[dict[str, str]] = []
    given: list[str] = []
    for i, raw in enumerate(tool_outputs):
        if type(raw) is dict and raw.keys() == _KEYSETS[_OUTPUT]:
            cid, output = raw["tool_call_id"], raw["output"]
            if type(cid) is str and type(output) is str:
                given.append(cid)  # the usual output, taken without building paths
                outputs.append({"tool_call_id": cid, "output": output})
                continue
        path = f"tool_outputs[{i}]"
        if not _is_object(raw):
            problems.append((path, f"expected an object, got {_show(raw)}"))
            continue
        if not _exact_keys(raw, _OUTPUT, path, problems):
            continue
        cid, output = raw["tool_call_id"], raw["output"]
        if not _is_str(cid):
            problems.append((f"{path}.tool_call_id", f"expected a string, got {_show(cid)}"))
            continue
        if not _is_str(output):
            problems.append((f"{path}.output", f"expected a string, got {_show(output)}"))
        given.append(cid)
        outputs.append({"tool_call_id": cid, "output": output})
    missing = [c for c in pending if c not in given]
    unknown = [c for c in given if c not in pending]
    twice = sorted({c for c in given if given.count(c) > 1})
    if missing:
        problems.append(("tool_outputs", f"missing outputs for pending calls {', '.join(missing)}"))
    if unknown:
        problems.append(
            (
                "tool_outputs",
                (
                    f"outputs for unknown calls {', '.join(unknown)} "
                    f"(pending: {', '.join(pending) or 'none'})"
                ),
            )
        )
    if twice:
        problems.append(("tool_outputs", f"more than one output for calls {', '.join(twice)}"))
    return outputs


def check_usage(usage: object, problems: Problems) -> Usage | None:
    """Parse and guard a *usage* argument (``None`` means not given)."""
    if usage is None:
        return None
    usage = _as_wire(usage)
    if not _is_object(usage):
        problems.append(("usage", f"expected an object or None, got {_show(usage)}"))
        return None
    keys = _USAGE
    if not _exact_keys(usage, keys, "usage", problems):
        return None
    ok = True
    for key in keys:
        v = usage[key]
        if type(v) is not int or v < 0:
            problems.append((f"usage.{key}", f"expected an int >= 0, got {_show(v)}"))
            ok = False
    if not ok:
        return None
    p, c, t = (usage[k] for k in keys)
    if t != p + c:
        problems.append(
            (
                "usage.total_tokens",
                f"expected prompt_tokens + completion_tokens = {p} + {c} = {p + c}, got {t}",
            )
        )
        return None
    made: Usage = make_usage(
        prompt_tokens=p, completion_tokens=c, total_tokens=t, extra=EMPTY, key_order=None
    )
    return made


def check_code(code: object, message: object, problems: Problems) -> None:
    """Guard ``fail``'s *code* and *message*."""
    if code not in ERROR_CODES or not isinstance(code, str):
        problems.append(("code", f"expected one of {', '.join(ERROR_CODES)}, got {_show(code)}"))
    if not isinstance(message, str):
        problems.append(("message", f"expected a string, got {_show(message)}"))


def check_reason(run: Run, reason: object, problems: Problems) -> None:
    """Guard ``mark_incomplete``'s *reason* against the run's token limits."""
    if reason not in INCOMPLETE_REASONS or not isinstance(reason, str):
        allowed = ", ".join(INCOMPLETE_REASONS)
        problems.append(("reason", f"expected one of {allowed}, got {_show(reason)}"))
        return
    if getattr(run, reason) is None:
        problems.append(
            ("reason", f"the run has no {reason} limit set, so it cannot run out of it")
        )


# --- the guards of the table's rows, by name -------------------------------------------------

#: ``guard(run, args, now, keep, changes, record, problems)``: *now* is the move's time,
#: *keep* whether the move is recorded; the guard writes *changes*, *record* and *problems*.
Guard = Callable[
    [Run, Mapping[str, Any], int, bool, dict[str, Any], dict[str, Any], Problems], None
]


def _tool_calls(
    run: Run,
    args: Mapping[str, Any],
    now: int,
    keep: bool,
    changes: dict[str, Any],
    record: dict[str, Any],
    problems: Problems,
) -> None:
    calls = check_tool_calls(run, args["tool_calls"], problems)
    changes["required_action"] = make_required_action(
        submit_tool_outputs=make_submit_tool_outputs(tool_calls=calls, extra=EMPTY, key_order=None),
        type="submit_tool_outputs",
        extra=EMPTY,
        key_order=None,
    )
    if keep:
        record["tool_calls"] = [
            {
                "id": c.id,
                "type": c.type,
                "function": {"name": c.function.name, "arguments": c.function.arguments},
            }
            for c in calls
        ]


def _tool_outputs(
    run: Run,
    args: Mapping[str, Any],
    now: int,
    keep: bool,
    changes: dict[str, Any],
    record: dict[str, Any],
    problems: Problems,
) -> None:
    record["tool_outputs"] = check_tool_outputs(run, args["tool_outputs"], problems)


def _started(
    run: Run,
    args: Mapping[str, Any],
    now: int,
    keep: bool,
    changes: dict[str, Any],
    record: dict[str, Any],
    problems: Problems,
) -> None:
    if run.started_at is None:
        problems.append(
            (
                "started_at",
                (
                    "the run never started (cancelled while queued): "
                    "it can only end cancelled, failed or expired"
                ),
            )
        )


def _reason(
    run: Run,
    args: Mapping[str, Any],
    now: int,
    keep: bool,
    changes: dict[str, Any],
    record: dict[str, Any],
    problems: Problems,
) -> None:
    reason = args["reason"]
    check_reason(run, reason, problems)
    changes["incomplete_details"] = make_incomplete_details(
        reason=reason, extra=EMPTY, key_order=None
    )
    record["reason"] = reason


def _error(
    run: Run,
    args: Mapping[str, Any],
    now: int,
    keep: bool,
    changes: dict[str, Any],
    record: dict[str, Any],
    problems: Problems,
) -> None:
    code, message = args["code"], args["message"]
    check_code(code, message, problems)
    changes["last_error"] = make_last_error(code=code, message=message, extra=EMPTY, key_order=None)
    record["code"], record["message"] = code, message


def _usage(
    run: Run,
    args: Mapping[str, Any],
    now: int,
    keep: bool,
    changes: dict[str, Any],
    record: dict[str, Any],
    problems: Problems,
) -> None:
    usage = check_usage(args["usage"], problems)
    if usage is not None:
        changes["usage"] = usage
        if keep:
            record["usage"] = {
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "total_tokens": usage.total_tokens,
            }


def _due(
    run: Run,
    args: Mapping[str, Any],
    now: int,
    keep: bool,
    changes: dict[str, Any],
    record: dict[str, Any],
    problems: Problems,
) -> None:
    if run.expires_at is None or now < run.expires_at:
        problems.append(
            ("expires_at", f"the run expires at {run.expires_at}, and it is {now}: not due yet")
        )


#: Every guard a row may name.
GUARDS: Final[Mapping[str, Guard]] = {
    "tool_calls": _tool_calls,
    "tool_outputs": _tool_outputs,
    "started": _started,
    "reason": _reason,
    "error": _error,
    "usage": _usage,
    "due": _due,
}

#: ``plan(run, args, now, keep) -> (changes, record, problems)``: what a move would do.
Plan = Callable[
    [Run, Mapping[str, Any], int, bool], tuple[dict[str, Any], dict[str, Any], Problems]
]


def planner(row: TableRow) -> Plan:
    """The plan of *row*: its guards in order, then its stamp and the fields it clears.

    The stamp is the move's time, never before the run was created, nor (for an end stamp)
    before it started: ``started_at`` is ``max(created_at, now)``, an end stamp
    ``max(now, created_at, started_at)``. A plan changes nothing; the engine raises
    ``GuardRejected`` when its problems are not empty, and commits its changes otherwise.

    Raises:
        KeyError: the row names a guard that ``GUARDS`` does not have.
    """
    guards = tuple(GUARDS[name] for name in row.guards)
    stamp, clears = row.stamp, row.clears
    starts = stamp == "started_at"
    no_problems: Problems = []

    def plan(
        run: Run, args: Mapping[str, Any], now: int, keep: bool
    ) -> tuple[dict[str, Any], dict[str, Any], Problems]:
        changes: dict[str, Any] = {}
        record: dict[str, Any] = {}
        problems = no_problems
        if guards:
            problems = []
            for guard in guards:
                guard(run, args, now, keep, changes, record, problems)
            if problems:
                return changes, record, problems
        if stamp is not None:
            created_at = run.created_at
            if starts:
                changes[stamp] = max(now, created_at)
            else:
                changes[stamp] = max(now, created_at, run.started_at or 0)
        for name in clears:
            changes[name] = None
        return changes, record, problems

    return plan


def planners(table: Table) -> dict[str, Plan]:
    """The plan of every row of *table*, by trigger (``KeyError`` names an unknown guard)."""
    return {row.trigger: planner(row) for row in table.rows}
