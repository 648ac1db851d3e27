"""Guards: what a trigger's arguments and the run's state must satisfy before a move.

Each ``check_*`` function returns the parsed, wire-valid value and appends ``(path, problem)``
pairs to *problems*; the engine raises ``GuardRejected`` with all of them at once.
Arguments may be wire-shaped dicts/lists or the record's own attrs classes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeGuard

import attrs

from ._record import (
    FunctionTool,
    Run,
    ToolCall,
    Usage,
    make_function_call,
    make_tool_call,
    make_usage,
)

__all__ = [
    "ERROR_CODES",
    "INCOMPLETE_REASONS",
    "check_code",
    "check_reason",
    "check_tool_calls",
    "check_tool_outputs",
    "check_usage",
]

#: The ``last_error.code`` values the API documents.
ERROR_CODES: tuple[str, ...] = ("server_error", "rate_limit_exceeded", "invalid_prompt")
#: The ``incomplete_details.reason`` values the API documents.
INCOMPLETE_REASONS: tuple[str, ...] = ("max_prompt_tokens", "max_completion_tokens")

Problems = list[tuple[str, str]]


def _show(value: object) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def _as_wire(value: object) -> object:
    """Unwrap one of the record's attrs classes into its wire dict (other values unchanged)."""
    if type(value) is dict:
        return value
    if attrs.has(type(value)):
        from ._wire import _NESTED_UNSTRUCTURE  # noqa: PLC0415 - circular by nature

        hook = _NESTED_UNSTRUCTURE.get(type(value))
        if hook is not None:
            return hook(value)
    return value


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


def check_tool_calls(run: Run, tool_calls: object, problems: Problems) -> tuple[ToolCall, ...]:
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
                function = make_function_call(fn["name"], fn["arguments"], {})
                calls.append(make_tool_call(cid, function, "function", {}))
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
            calls.append(
                make_tool_call(cid, make_function_call(name, arguments, {}), "function", {})
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
    made: Usage = make_usage(p, c, t, {})
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
