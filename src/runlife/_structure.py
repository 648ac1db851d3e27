"""Structure: what makes a run's wire dict impossible to load.

:func:`structure_problems` checks every field's JSON type and the members nested values
require; it is what every load runs, so it is written for speed. :func:`field_problems`
checks one field the way ``create`` needs: its structure, then its rules.
"""

from __future__ import annotations

from typing import Any, Final

from ._constraints import MAX_JSON_DEPTH, USAGE_COUNTS
from ._findings import MISSING, STRUCTURE, Check, Finding, key_path
from ._json import FrozenDict, clip, describe
from ._rules import RULES
from ._status import STATUS_BY_VALUE, suggest_status

__all__ = [
    "field_problems",
    "missing",
    "shape_problems",
    "structure_problems",
    "value_problems",
    "wrong_type",
]

_NONE: Final = type(None)

Types = frozenset[type]

_INT: Final[Types] = frozenset({int})
_INT_OR_NULL: Final[Types] = frozenset({int, _NONE})
_STR: Final[Types] = frozenset({str})
_STR_OR_NULL: Final[Types] = frozenset({str, _NONE})
_BOOL: Final[Types] = frozenset({bool})
_NUMBER_OR_NULL: Final[Types] = frozenset({int, float, _NONE})
_OBJECT: Final[Types] = frozenset({dict})
_OBJECT_OR_NULL: Final[Types] = frozenset({dict, _NONE})
_STR_OBJECT_OR_NULL: Final[Types] = frozenset({str, dict, _NONE})
_ARRAY: Final[Types] = frozenset({list})

#: (accepted exact types, what is expected) of a nested member.
Kind = tuple[Types, str]
_A_STRING: Final[Kind] = (_STR, "a string")
_A_STRING_OR_NULL: Final[Kind] = (_STR_OR_NULL, "a string or null")
_AN_INT: Final[Kind] = (_INT, "an int")
_AN_INT_OR_NULL: Final[Kind] = (_INT_OR_NULL, "an int or null")
_AN_OBJECT: Final[Kind] = (_OBJECT, "an object")
_AN_ARRAY: Final[Kind] = (_ARRAY, "an array")

#: An unknown status up to this long is shown whole, with a did-you-mean; a longer one is
#: shown clipped, as any value in a message is.
_WHOLE_STATUS: Final = 60


def _accepts(value: object, accepted: Types) -> bool:
    """Whether *value*, whose exact type is not in *accepted*, is an instance of one of them.

    Subclasses count (a :class:`RunStatus` is a string), except that a bool is never a number.
    """
    if isinstance(value, bool):
        return False  # bool is in no set as a subclass: an exact bool was accepted before
    return any(isinstance(value, kind) for kind in accepted if kind is not _NONE)


def wrong_type(path: str, expected: str, value: object) -> Finding:
    """The ``wrong-type`` finding of the value at *path* (what was *expected*)."""
    return Finding(STRUCTURE, "wrong-type", path, f"expected {expected}, got {describe(value)}")


def missing(path: str) -> Finding:
    """The ``missing-field`` finding of the member at *path*."""
    return Finding(STRUCTURE, "missing-field", path, "missing")


def _member(
    obj: dict[Any, Any],
    key: str,
    path: str,
    kind: Kind,
    out: list[Finding],
    *,
    required: bool = True,
) -> Any:
    """``obj[key]`` if it is of *kind*; else ``MISSING``, and a finding unless it may be absent."""
    accepted, expected = kind
    value = obj.get(key, MISSING)
    if type(value) in accepted:
        return value
    if value is MISSING:
        if required:
            out.append(missing(path))
        return MISSING
    if _accepts(value, accepted):
        return value
    out.append(wrong_type(path, expected, value))
    return MISSING


def _check_object(value: str, out: list[Finding]) -> None:
    if value != "thread.run":
        msg = f"expected 'thread.run', got {describe(value)}"
        out.append(Finding(STRUCTURE, "wrong-object", "$.object", msg))


def _check_status(value: str, out: list[Finding]) -> None:
    if value not in STATUS_BY_VALUE:
        if len(value) <= _WHOLE_STATUS:
            msg = suggest_status(str.__str__(value))
        else:
            msg = f"unknown status {clip(value)}; allowed: {', '.join(STATUS_BY_VALUE)}"
        out.append(Finding(STRUCTURE, "unknown-status", "$.status", msg))


def _check_tools(tools: list[Any], out: list[Finding]) -> None:
    for tool in tools:
        if type(tool) is not dict or type(tool.get("type")) is not str:
            break
    else:
        return  # the usual case, checked fast
    for i, tool in enumerate(tools):
        if type(tool) is dict or isinstance(tool, dict):
            kind = tool.get("type", MISSING)
            if type(kind) is str:
                continue
            _member(tool, "type", f"$.tools[{i}].type", _A_STRING, out)
        else:
            out.append(wrong_type(f"$.tools[{i}]", "an object (a tool)", tool))


def _check_tool_choice(value: Any, out: list[Finding]) -> None:
    if type(value) is str or isinstance(value, str):
        return
    _member(value, "type", "$.tool_choice.type", _A_STRING, out)
    function = _member(value, "function", "$.tool_choice.function", _AN_OBJECT, out, required=False)
    if function is not MISSING:
        _member(function, "name", "$.tool_choice.function.name", _A_STRING, out)


def _check_truncation_strategy(value: dict[Any, Any], out: list[Finding]) -> None:
    kind = value.get("type", MISSING)
    last = value.get("last_messages")
    if type(kind) is str and (last is None or type(last) is int):
        return  # the usual case, checked fast
    _member(value, "type", "$.truncation_strategy.type", _A_STRING, out)
    path = "$.truncation_strategy.last_messages"
    _member(value, "last_messages", path, _AN_INT_OR_NULL, out, required=False)


def _check_response_format(value: Any, out: list[Finding]) -> None:
    if type(value) is str or isinstance(value, str):
        return
    _member(value, "type", "$.response_format.type", _A_STRING, out)


def _check_tool_call(call: object, path: str, out: list[Finding]) -> None:
    if type(call) is dict:
        function = call.get("function")
        if (
            type(call.get("id")) is str
            and type(call.get("type")) is str
            and type(function) is dict
            and type(function.get("name")) is str
            and type(function.get("arguments")) is str
        ):
            return  # the usual case, checked without building paths
    elif not isinstance(call, dict):
        out.append(wrong_type(path, "an object (a tool call)", call))
        return
    _member(call, "id", f"{path}.id", _A_STRING, out)
    _member(call, "type", f"{path}.type", _A_STRING, out)
    function = _member(call, "function", f"{path}.function", _AN_OBJECT, out)
    if function is not MISSING:
        _member(function, "name", f"{path}.function.name", _A_STRING, out)
        _member(function, "arguments", f"{path}.function.arguments", _A_STRING, out)


def _check_required_action(value: dict[Any, Any], out: list[Finding]) -> None:
    _member(value, "type", "$.required_action.type", _A_STRING, out)
    path = "$.required_action.submit_tool_outputs"
    submit = _member(value, "submit_tool_outputs", path, _AN_OBJECT, out)
    if submit is MISSING:
        return
    calls = _member(submit, "tool_calls", f"{path}.tool_calls", _AN_ARRAY, out)
    if calls is MISSING:
        return
    for i, call in enumerate(calls):
        _check_tool_call(call, f"{path}.tool_calls[{i}]", out)


def _check_last_error(value: dict[Any, Any], out: list[Finding]) -> None:
    _member(value, "code", "$.last_error.code", _A_STRING, out)
    _member(value, "message", "$.last_error.message", _A_STRING, out)


def _check_incomplete_details(value: dict[Any, Any], out: list[Finding]) -> None:
    path = "$.incomplete_details.reason"
    _member(value, "reason", path, _A_STRING_OR_NULL, out, required=False)


def _check_usage(value: dict[Any, Any], out: list[Finding]) -> None:
    get = value.get
    if (
        type(get("prompt_tokens")) is int
        and type(get("completion_tokens")) is int
        and type(get("total_tokens")) is int
    ):
        return  # the usual case, checked fast
    for key in USAGE_COUNTS:
        if type(value.get(key)) is not int:
            _member(value, key, f"$.usage.{key}", _AN_INT, out)


_STAMP: Final[Kind] = (_INT, "an int (Unix seconds)")
_STAMP_OR_NULL: Final[Kind] = (_INT_OR_NULL, "an int (Unix seconds) or null")
_AN_OBJECT_OR_NULL: Final[Kind] = (_OBJECT_OR_NULL, "an object or null")
_STRING_OBJECT_OR_NULL: Final[Kind] = (_STR_OBJECT_OR_NULL, "a string, an object or null")
_NUMBER: Final[Kind] = (_NUMBER_OR_NULL, "a number or null")

Field = tuple[str, str, Types, str, bool, Check | None]


def _field(name: str, kind: Kind, check: Check | None = None, *, required: bool = True) -> Field:
    """A row of :data:`_FIELDS`: flat, so that the hot loop unpacks it in one step."""
    return (name, f"$.{name}", kind[0], kind[1], required, check)


#: (name, path, accepted exact types, what is expected, required, check of a non-null value),
#: in the seed's order.
_FIELDS: Final[tuple[Field, ...]] = (
    _field("assistant_id", _A_STRING),
    _field("cancelled_at", _STAMP_OR_NULL),
    _field("completed_at", _STAMP_OR_NULL),
    _field("created_at", _STAMP),
    _field("expires_at", _STAMP_OR_NULL),
    _field("failed_at", _STAMP_OR_NULL),
    _field("id", _A_STRING),
    _field("incomplete_details", _AN_OBJECT_OR_NULL, _check_incomplete_details),
    _field("instructions", _A_STRING_OR_NULL),
    _field("last_error", _AN_OBJECT_OR_NULL, _check_last_error),
    _field("max_completion_tokens", _AN_INT_OR_NULL),
    _field("max_prompt_tokens", _AN_INT_OR_NULL),
    _field("metadata", _AN_OBJECT_OR_NULL),
    _field("model", _A_STRING),
    _field("object", (_STR, "the string 'thread.run'"), _check_object),
    _field("parallel_tool_calls", (_BOOL, "a bool")),
    _field("required_action", _AN_OBJECT_OR_NULL, _check_required_action),
    _field("response_format", _STRING_OBJECT_OR_NULL, _check_response_format),
    _field("started_at", _STAMP_OR_NULL),
    _field("status", (_STR, "a string status"), _check_status),
    _field("temperature", _NUMBER, required=False),
    _field("thread_id", _A_STRING),
    _field("tool_choice", _STRING_OBJECT_OR_NULL, _check_tool_choice),
    _field("tools", _AN_ARRAY, _check_tools),
    _field("top_p", _NUMBER, required=False),
    _field("truncation_strategy", _AN_OBJECT_OR_NULL, _check_truncation_strategy),
    _field("usage", _AN_OBJECT_OR_NULL, _check_usage),
)


def structure_problems(data: object) -> list[Finding]:
    """The structure findings of *data*: what makes it impossible to load as a run.

    Its shape (:func:`shape_problems`), then its values (:func:`value_problems`).
    """
    found = shape_problems(data)
    if not isinstance(data, dict):
        return found
    if not found:
        found.extend(value_problems(data))
        return found
    # A field the shape check refused already is not walked again (one finding for it).
    refused = {f.path for f in found}
    for key, value in data.items():
        if isinstance(key, str):
            path = key_path("$", key)
            if path not in refused:
                found.extend(value_problems(value, path, 2))
    return found


def shape_problems(data: object) -> list[Finding]:
    """The findings of *data*'s shape: every field present and of its JSON type.

    This is the check every load runs, so it is written for speed: a sound run dict costs a
    few microseconds, and no path or message is built unless something is wrong. What it
    does not look at, the JSON values the record keeps as they are (``metadata``, unknown
    keys, a function's ``parameters`` ...), the load checks as it copies them
    (``runlife._json.freeze``), and :func:`value_problems` names.

    Args:
        data: Any value; a loadable run is a JSON object with the 27 fields of the seed
            (``temperature`` and ``top_p`` may be absent), each of its JSON type.

    Returns:
        The findings, all of kind ``"structure"``, in the seed's field order; empty when
        *data* can be loaded.
    """
    out: list[Finding] = []
    if type(data) is not dict and not isinstance(data, dict):
        msg = f"expected a JSON object (a run), got {describe(data)}"
        out.append(Finding(STRUCTURE, "not-an-object", "$", msg))
        return out
    get = data.get
    absent = 0
    for name, path, accepted, expected, required, check in _FIELDS:
        value = get(name, MISSING)
        if type(value) in accepted:
            if check is not None and value is not None:
                check(value, out)
        elif value is MISSING:
            absent += 1
            if required:
                out.append(missing(path))
        elif _accepts(value, accepted):
            if check is not None:
                check(value, out)
        else:
            out.append(wrong_type(path, expected, value))
    # Only keys beyond the known fields can be something else than strings; str.join checks
    # them all in C (faster than any loop here) and refuses anything but strings.
    if len(data) > len(_FIELDS) - absent:
        try:
            "".join(data)
        except TypeError:
            out[:0] = [
                Finding(
                    STRUCTURE, "non-string-key", "$", f"expected string keys, got {describe(k)}"
                )
                for k in data
                if not isinstance(k, str)
            ]
    return out


#: The rows of :data:`_FIELDS` by field name.
_ROWS: Final[dict[str, Field]] = {row[0]: row for row in _FIELDS}


def field_problems(name: str, value: object) -> list[Finding]:
    """The structure findings, then (if none) the rule findings, of one top-level field.

    What ``RunEngine.create`` checks of each field its caller gives: *value* is judged as
    ``data[name]`` of a run dict, and the findings have the paths they would have there.

    Args:
        name: A field of the wire object (``KeyError`` for anything else).
        value: Any value.
    """
    out: list[Finding] = []
    _, path, accepted, expected, _, check = _ROWS[name]
    if type(value) in accepted or _accepts(value, accepted):
        if check is not None and value is not None:
            check(value, out)
    else:
        out.append(wrong_type(path, expected, value))
    if not out:
        rule = RULES.get(name)
        if rule is not None:
            rule(value, out)
    return out


_SCALARS: Final = (str, int, bool, type(None))


def value_problems(data: object, path: str = "$", level: int = 1) -> list[Finding]:
    """What JSON cannot hold in *data* (at *path*, *level* of a run): one finding each.

    ``too-deep`` for a container nested beyond ``MAX_JSON_DEPTH`` levels (the run itself
    is level 1; nothing below it is looked at), ``not-json`` for a NaN or infinite float
    or an object that is no JSON value (a set, bytes, ...), ``non-string-key`` for a key
    that is not a string below the top level (the shape check names those of the top).
    Walks without recursion, so any depth is safe.
    """
    out: list[Finding] = []
    stack: list[tuple[Any, str, int]] = [(data, path, level)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, _SCALARS):
            continue
        if isinstance(value, float):
            if value - value != 0.0:
                msg = f"expected a finite number (JSON has no NaN or infinity), got {value!r}"
                out.append(Finding(STRUCTURE, "not-json", where, msg))
            continue
        is_object = isinstance(value, dict | FrozenDict) or _is_mapping(value)
        if not is_object and not isinstance(value, list | tuple):
            msg = f"expected a JSON value, got {type(value).__name__}"
            out.append(Finding(STRUCTURE, "not-json", where, msg))
            continue
        if depth > MAX_JSON_DEPTH:
            msg = f"nested more than {MAX_JSON_DEPTH} levels deep (the limit of a run's JSON)"
            out.append(Finding(STRUCTURE, "too-deep", where, msg))
            continue
        if is_object:
            children = []
            for key, member in value.items():
                if not isinstance(key, str):
                    if depth > 1:
                        msg = f"expected string keys, got {describe(key)}"
                        out.append(Finding(STRUCTURE, "non-string-key", where, msg))
                    continue
                children.append((member, key_path(where, key), depth + 1))
            stack.extend(reversed(children))
        else:
            stack.extend(
                (member, f"{where}[{i}]", depth + 1)
                for i, member in reversed(list(enumerate(value)))
            )
    return out


def _is_mapping(value: object) -> bool:
    from collections.abc import Mapping  # noqa: PLC0415 - the rare case: a mapping of another kind

    return isinstance(value, Mapping)
