"""What ``RunEngine.create`` accepts: the caller's fields, checked and built into record values.

Only the fields the caller gives are checked, each for structure and then for the documented
rules, with the path it has on the wire: the engine's own values (status, stamps, ids and
the API's defaults) are right by construction and need no check. Nested values go straight
from the caller's JSON into the record's classes, copied on the way, so that a run shares
nothing with its caller. This is what keeps a create to a few microseconds.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any, Final

from ._constraints import (
    MAX_INSTRUCTIONS,
    MAX_JSON_DEPTH,
    MAX_NAME,
    MAX_TOOLS,
    NAME_CHARS,
    REPORTED_ONLY,
)
from ._decode import (
    api_order,
    decode_response_format,
    decode_tool,
    decode_tool_choice,
    decode_truncation,
)
from ._encode import NESTED
from ._errors import InvalidRun
from ._findings import key_path
from ._json import ATOMS, EMPTY, FrozenDict, NotJSON, freeze
from ._makers import builder
from ._record import (
    UNSET,
    FunctionTool,
    Run,
    Tool,
    make_function_definition,
    make_function_tool,
    make_truncation_strategy,
)
from ._rules import tools_problems
from ._state import RunState
from ._status import RunStatus
from ._structure import field_problems, value_problems
from ._table import LIFECYCLE

__all__ = ["DEFAULTS", "ENGINE_FIELDS", "REQUIRED", "checked_fields", "new_run"]

#: Fields the engine owns: ``create`` refuses them (what moves write, and the creation stamp).
ENGINE_FIELDS: Final = frozenset({*LIFECYCLE, "object", "created_at"})
#: Fields ``create`` accepts, with the API's defaults (``None``: required, or made: ``id``).
#: ``Run``'s own attrs defaults are these (a test keeps them equal).
DEFAULTS: Final[Mapping[str, Any]] = {
    "id": None,
    "assistant_id": None,
    "thread_id": None,
    "model": None,
    "instructions": "",
    "tools": [],
    "metadata": {},
    "tool_choice": "auto",
    "parallel_tool_calls": True,
    "truncation_strategy": {"type": "auto", "last_messages": None},
    "response_format": "auto",
    "temperature": None,
    "top_p": None,
    "max_prompt_tokens": None,
    "max_completion_tokens": None,
}
REQUIRED: Final = ("assistant_id", "thread_id", "model")
_ACCEPTED: Final = DEFAULTS.keys()
#: Fields whose only check is being a string (``id``'s non-emptiness is checked at the end).
_TEXT: Final = frozenset({"id", "assistant_id", "thread_id", "model", "instructions"})
#: Fields for which ``null`` is always right.
_NULLABLE: Final = frozenset(
    {"instructions", "temperature", "top_p", "max_prompt_tokens", "max_completion_tokens"}
)


def _tools(value: list[Any]) -> tuple[Any, ...]:
    return tuple([decode_tool(tool, api_order) for tool in value])


def _sound_function_tool(tool: Any) -> Tool | None:
    """*tool* built, if it is a function tool that breaks no rule and has no unknown key.

    The usual tool of a create, checked and built in one pass; ``None`` sends *tool* (and
    its list) the general way, which names what is wrong. A property test holds the two
    ways to the same records.
    """
    if type(tool) is not dict or tool.keys() != _FUNCTION_TOOL_KEYS or tool["type"] != "function":
        return None
    f = tool["function"]
    if type(f) is not dict or not _FUNCTION_KEYS.issuperset(f):
        return None
    name = f.get("name")
    if type(name) is not str or not 0 < len(name) <= MAX_NAME or not NAME_CHARS.issuperset(name):
        return None
    description = f.get("description", UNSET)
    parameters = f.get("parameters", UNSET)
    strict = f.get("strict", UNSET)
    if (
        (description is not UNSET and type(description) is not str)
        or (parameters is not UNSET and type(parameters) is not dict)
        or (strict is not UNSET and strict is not None and type(strict) is not bool)
    ):
        return None
    if parameters is not UNSET:
        parameters = freeze(parameters, 5)  # tools[i].function.parameters: level 5 of a run
    function = make_function_definition(
        name=name,
        description=description,
        parameters=parameters,
        strict=strict,
        extra=EMPTY,
        key_order=None,
    )
    made: Tool = make_function_tool(function=function, type="function", extra=EMPTY, key_order=None)
    return made


_FUNCTION_TOOL_KEYS: Final = frozenset({"type", "function"})
_FUNCTION_KEYS: Final = frozenset({"name", "description", "parameters", "strict"})


#: How a checked wire value becomes the record's value (plain values are kept as they are).
_BUILD: Final[dict[str, Callable[[Any], Any]]] = {
    "tools": _tools,
    "metadata": freeze,
    # The engine writes the API's key order, whatever the order of the caller's dicts.
    "truncation_strategy": lambda v: decode_truncation(v, api_order),
    "tool_choice": lambda v: decode_tool_choice(v, api_order),
    "response_format": lambda v: decode_response_format(v, api_order),
}


def _to_wire(value: Any, level: int = 2) -> Any:
    """*value* (at *level* of a run) as fresh plain JSON; anything but these kept as it is.

    The record's classes are unstructured, mappings made dicts, and lists and tuples (and
    their subclasses) made lists.

    Raises:
        NotJSON: a container beyond ``MAX_JSON_DEPTH`` (so that no depth recurses far).
    """
    t = type(value)
    if t in ATOMS:
        return value
    if level > MAX_JSON_DEPTH and (isinstance(value, Mapping | list | tuple) or t in NESTED):
        raise NotJSON
    if t is dict or isinstance(value, Mapping):
        return {k: _to_wire(v, level + 1) for k, v in value.items()}
    if t is list or t is tuple or isinstance(value, list | tuple):
        return [_to_wire(v, level + 1) for v in value]
    hook = NESTED.get(t)
    if hook is not None:
        return _to_wire(hook(value), level)
    if isinstance(value, str):
        return str.__str__(value)  # a StrEnum member, say: JSON knows the string
    if isinstance(value, int | float):
        return float(value) if isinstance(value, float) else int(value)
    return value


def _name_problems(fields: Mapping[str, Any], extra: object, errors: list[tuple[str, str]]) -> None:
    for name in fields:
        if name in ENGINE_FIELDS:
            errors.append((f"$.{name}", "set by the engine, not by create(): runs start queued"))
        elif name not in DEFAULTS:
            close = difflib.get_close_matches(name, list(DEFAULTS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            errors.append((f"$.{name}", f"unknown field{hint} (put unknown keys in extra=)"))
    errors.extend((f"$.{name}", "missing") for name in REQUIRED if fields.get(name) is None)
    if extra is None:
        return
    if not isinstance(extra, Mapping):
        errors.append(("extra", f"expected a mapping of unknown keys, got {type(extra).__name__}"))
        return
    for key in extra:
        if not isinstance(key, str):
            errors.append(("extra", f"expected string keys, got {type(key).__name__} {key!r}"))
        elif key in DEFAULTS or key in ENGINE_FIELDS:
            errors.append((f"extra.{key}", "a known field; pass it as a keyword argument"))


def checked_fields(
    fields: Mapping[str, Any], extra: Mapping[str, Any] | None
) -> tuple[dict[str, Any], FrozenDict]:
    """The record values of the caller's *fields*, and the copied *extra* keys.

    Each field may be wire-shaped JSON or the record's own classes. ``id`` is left out
    when absent or ``None`` (the engine makes one).

    Raises:
        InvalidRun: a field is unknown, owned by the engine, missing or breaks a rule; every
            problem is listed, each with its path.
    """
    errors: list[tuple[str, str]] = []
    get = fields.get
    if (
        extra is not None
        or not fields.keys() <= _ACCEPTED
        or get("assistant_id") is None
        or get("thread_id") is None
        or get("model") is None
    ):
        _name_problems(fields, extra, errors)
        if errors:
            raise InvalidRun(errors)
    values: dict[str, Any] = {}
    for name, given in fields.items():
        value = given
        if type(value) is str and name in _TEXT and len(value) <= MAX_INSTRUCTIONS:
            values[name] = value  # a string is all these need (instructions: not too long)
            continue
        if value is None and name in _NULLABLE:
            values[name] = None  # null is always right for these
            continue
        if type(value) is bool and name == "parallel_tool_calls":
            values[name] = value
            continue
        if value is None and name == "id":
            continue
        try:
            _check_field(name, value, values, errors)
        except NotJSON:  # too deep, NaN or infinity, a non-JSON object: named by the walk
            errors.extend((p.path, p.message) for p in value_problems(value, f"$.{name}", 2))
    if values.get("id") == "":
        errors.append(("$.id", "expected a non-empty string"))
    tools, choice = values.get("tools", ()), values.get("tool_choice", "auto")
    if len(tools) > 1 or (choice != "auto" and choice != "none"):  # noqa: PLR1714 - a record too
        # The tools as a whole, and the tool choice against them (the API refuses both).
        facts = [(t.type, t.function.name if type(t) is FunctionTool else None) for t in tools]
        wire_choice = choice if choice is None or type(choice) is str else _to_wire(choice)
        errors.extend((p.path, p.message) for p in tools_problems(facts, wire_choice))
    if errors:
        run_id = values.get("id")
        raise InvalidRun(errors, run_id=run_id if isinstance(run_id, str) else None)
    return values, EMPTY if not extra else _frozen_extra(extra)


def _check_field(
    name: str, value: Any, values: dict[str, Any], errors: list[tuple[str, str]]
) -> None:
    """Check the caller's *value* of field *name*: into *values* if sound, else into *errors*.

    Raises:
        NotJSON: *value* holds what JSON cannot.
    """
    if name == "tools" and type(value) is list and len(value) <= MAX_TOOLS:
        built = [_sound_function_tool(tool) for tool in value]
        if None not in built:
            values[name] = tuple(built)
            return
    # Anything else is judged and built in its plain JSON form: the record's classes
    # unstructured, tuples and other sequences as lists, mappings as plain dicts.
    wire = value if type(value) in ATOMS else _to_wire(value)
    # What live recordings show the API accepting is reported by check(), not refused.
    problems = [p for p in field_problems(name, wire) if p.code not in REPORTED_ONLY]
    if problems:
        errors.extend((p.path, p.message) for p in problems)
        return
    build = _BUILD.get(name)
    values[name] = wire if build is None else build(wire)


def _frozen_extra(extra: Mapping[str, Any]) -> FrozenDict:
    """The caller's unknown top-level keys, copied read-only.

    Raises:
        InvalidRun: a value holds what JSON cannot (each named with its path).
    """
    try:
        return FrozenDict({key: freeze(v) for key, v in extra.items()})
    except NotJSON:
        errors = [
            (p.path, p.message)
            for key, v in extra.items()
            for p in value_problems(v, key_path("$", key), 2)
        ]
        raise InvalidRun(errors) from None


#: How each field of a new run is made: ``v`` the checked values over the API's defaults.
_NEW_RUN: Final = {
    "assistant_id": 'v["assistant_id"]',
    "cancelled_at": "None",
    "completed_at": "None",
    "created_at": "created_at",
    "expires_at": "expires_at",
    "failed_at": "None",
    "id": 'v["id"]',
    "incomplete_details": "None",
    "instructions": 'v["instructions"]',
    "last_error": "None",
    "max_completion_tokens": 'v["max_completion_tokens"]',
    "max_prompt_tokens": 'v["max_prompt_tokens"]',
    "metadata": 'v["metadata"]',
    "model": 'v["model"]',
    "object": '"thread.run"',
    "parallel_tool_calls": 'v["parallel_tool_calls"]',
    "required_action": "None",
    "response_format": 'v["response_format"]',
    "started_at": "None",
    "status": "_QUEUED",
    "temperature": 'v["temperature"]',
    "thread_id": 'v["thread_id"]',
    "tool_choice": 'v["tool_choice"]',
    "tools": 'v["tools"]',
    "top_p": 'v["top_p"]',
    "truncation_strategy": 'v["truncation_strategy"] or _AUTO',
    "usage": "None",
    "extra": "extra",
    "key_order": "None",
    "filled": "()",
}


#: The API's default truncation strategy: read-only, so one serves every run.
_AUTO: Final = make_truncation_strategy(
    type="auto", last_messages=None, extra=EMPTY, key_order=None
)


_make_new_run: Final = builder(
    Run,
    "new_run",
    "v, extra, created_at, expires_at",
    _NEW_RUN,
    {"_QUEUED": RunStatus.QUEUED, "_AUTO": _AUTO},
    private={"_state": RunState},
)


def new_run(values: Mapping[str, Any], extra: FrozenDict, created_at: int, expires_at: int) -> Run:
    """A ``queued`` run of checked *values* (with ``id``), the API's defaults for the rest."""
    run: Run = _make_new_run({**_GIVEN_DEFAULTS, **values}, extra, created_at, expires_at)
    return run


#: The record values of the fields a caller may leave out (all immutable: shared by runs).
#: ``truncation_strategy`` is made per run from ``None``, which no caller can give: a null
#: truncation strategy breaks a rule.
_GIVEN_DEFAULTS: Final[dict[str, Any]] = {
    "instructions": "",
    "max_completion_tokens": None,
    "max_prompt_tokens": None,
    "metadata": EMPTY,
    "parallel_tool_calls": True,
    "response_format": "auto",
    "temperature": None,
    "tool_choice": "auto",
    "tools": (),
    "top_p": None,
    "truncation_strategy": None,
}
