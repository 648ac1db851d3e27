"""The wire format: a cattrs converter between ``Run`` and the API's JSON.

Shaped like ``cattrs.preconf``: ``make_converter()`` returns a new converter with runlife's
hooks, ``configure_converter(converter)`` installs them into yours, and the module-level
``to_dict``/``from_dict``/``to_json``/``from_json`` use one private default converter.

Loading checks the *structure* only (``runlife._check.structure_problems``) and keeps
everything else: rule-breaking values, unknown tool types and unknown keys at every level,
so that ``to_dict(from_dict(d)) == d`` for every structurally valid ``d``.

The hooks are written out by hand rather than generated: the record's unknown-key and
absent-key handling is the same for every class, and straight-line code is what keeps the
round trip close to the official SDK's compiled pydantic-core (see ``benchmarks/``).
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs
import cattrs

from ._check import structure_problems
from ._errors import InvalidRun
from ._record import (
    UNSET,
    CodeInterpreterTool,
    FileSearchTool,
    FunctionDefinition,
    FunctionTool,
    IncompleteDetails,
    LastError,
    RequiredAction,
    ResponseFormat,
    Run,
    ToolCall,
    ToolChoice,
    TruncationStrategy,
    UnknownTool,
    Usage,
    make_code_interpreter_tool,
    make_file_search_tool,
    make_function_call,
    make_function_definition,
    make_function_tool,
    make_incomplete_details,
    make_last_error,
    make_required_action,
    make_response_format,
    make_run,
    make_submit_tool_outputs,
    make_tool_call,
    make_tool_choice,
    make_tool_choice_function,
    make_truncation_strategy,
    make_unknown_tool,
    make_usage,
)
from ._status import RunStatus, suggest_status
from ._table import LIFECYCLE

if TYPE_CHECKING:
    from ._engine import RunEngine
    from ._record import Tool

__all__ = [
    "configure_converter",
    "from_dict",
    "from_json",
    "make_converter",
    "to_dict",
    "to_json",
    "validate_record",
]

Obj = dict[str, Any]


def _copy(value: Any) -> Any:
    """A deep copy of a JSON value, in plain types.

    Dicts (and other mappings) are copied as dicts, lists and tuples (and their subclasses)
    as lists; scalars are immutable and kept.
    """
    t = type(value)
    if t is dict:
        return {k: _copy(v) for k, v in value.items()}
    if t is list or t is tuple:
        return [_copy(v) for v in value]
    if t in _ATOMS:
        return value
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_copy(v) for v in value]
    return value


#: The JSON scalars' types: immutable, kept as they are.
_ATOMS = frozenset({str, int, float, bool, type(None)})


def _extra(d: Obj, known: frozenset[str]) -> Obj:
    if known.issuperset(d):  # in C: the usual case, no unknown keys
        return {}
    return {k: _copy(v) for k, v in d.items() if k not in known}


# --- structure: from a structurally valid dict to the record --------------------------------

_K_FUNCTION_CALL = frozenset({"name", "arguments"})
_K_TOOL_CALL = frozenset({"id", "type", "function"})
_K_SUBMIT = frozenset({"tool_calls"})
_K_REQUIRED = frozenset({"type", "submit_tool_outputs"})
_K_LAST_ERROR = frozenset({"code", "message"})
_K_INCOMPLETE = frozenset({"reason"})
_K_USAGE = frozenset({"prompt_tokens", "completion_tokens", "total_tokens"})
_K_TRUNCATION = frozenset({"type", "last_messages"})
_K_TYPE = frozenset({"type"})
_K_FILE_SEARCH = frozenset({"type", "file_search"})
_K_FUNCTION_TOOL = frozenset({"type", "function"})
_K_FUNCTION_DEF = frozenset({"name", "description", "parameters", "strict"})
_K_TOOL_CHOICE = frozenset({"type", "function"})
_K_TOOL_CHOICE_FN = frozenset({"name"})
_K_RESPONSE_FORMAT = frozenset({"type", "json_schema"})


def _s_tool_call(d: Obj) -> ToolCall:
    f = d["function"]
    function = make_function_call(f["name"], f["arguments"], _extra(f, _K_FUNCTION_CALL))
    return make_tool_call(d["id"], function, d["type"], _extra(d, _K_TOOL_CALL))  # type: ignore[no-any-return]


def _s_required_action(d: Obj | None) -> RequiredAction | None:
    if d is None:
        return None
    s = d["submit_tool_outputs"]
    submit = make_submit_tool_outputs(
        tuple([_s_tool_call(c) for c in s["tool_calls"]]), _extra(s, _K_SUBMIT)
    )
    return make_required_action(submit, d["type"], _extra(d, _K_REQUIRED))  # type: ignore[no-any-return]


def _s_last_error(d: Obj | None) -> LastError | None:
    if d is None:
        return None
    return make_last_error(d["code"], d["message"], _extra(d, _K_LAST_ERROR))  # type: ignore[no-any-return]


def _s_incomplete(d: Obj | None) -> IncompleteDetails | None:
    if d is None:
        return None
    return make_incomplete_details(d.get("reason", UNSET), _extra(d, _K_INCOMPLETE))  # type: ignore[no-any-return]


def _s_usage(d: Obj | None) -> Usage | None:
    if d is None:
        return None
    return make_usage(  # type: ignore[no-any-return]
        d["prompt_tokens"], d["completion_tokens"], d["total_tokens"], _extra(d, _K_USAGE)
    )


def _s_truncation(d: Obj | None) -> TruncationStrategy | None:
    if d is None:
        return None
    return make_truncation_strategy(  # type: ignore[no-any-return]
        d["type"], d.get("last_messages", UNSET), _extra(d, _K_TRUNCATION)
    )


def _s_function_def(f: Obj) -> FunctionDefinition:
    return make_function_definition(  # type: ignore[no-any-return]
        f["name"],
        f.get("description", UNSET),
        _copy(f["parameters"]) if "parameters" in f else UNSET,
        f.get("strict", UNSET),
        _extra(f, _K_FUNCTION_DEF),
    )


def _typed_function_tool(d: Obj) -> bool:
    f = d.get("function")
    if type(f) is not dict:
        return False
    name, desc, params, strict = (
        f.get("name"),
        f.get("description", ""),
        f.get("parameters", {}),
        f.get("strict"),
    )
    return (
        type(name) is str
        and type(desc) is str
        and type(params) is dict
        and (strict is None or type(strict) is bool)
    )


def _s_tool(d: Obj) -> Tool:
    t = d["type"]
    if t == "function" and _typed_function_tool(d):
        return make_function_tool(  # type: ignore[no-any-return]
            _s_function_def(d["function"]), t, _extra(d, _K_FUNCTION_TOOL)
        )
    if t == "code_interpreter":
        return make_code_interpreter_tool(t, _extra(d, _K_TYPE))  # type: ignore[no-any-return]
    if t == "file_search" and type(d.get("file_search", {})) is dict:
        return make_file_search_tool(  # type: ignore[no-any-return]
            t,
            _copy(d["file_search"]) if "file_search" in d else UNSET,
            _extra(d, _K_FILE_SEARCH),
        )
    return make_unknown_tool(t, _extra(d, _K_TYPE))  # type: ignore[no-any-return]


def _s_tool_choice(v: Any) -> str | ToolChoice | None:
    if v is None or type(v) is str:
        return v
    f = v.get("function", UNSET)
    function = (
        UNSET if f is UNSET else make_tool_choice_function(f["name"], _extra(f, _K_TOOL_CHOICE_FN))
    )
    return make_tool_choice(v["type"], function, _extra(v, _K_TOOL_CHOICE))  # type: ignore[no-any-return]


def _s_response_format(v: Any) -> str | ResponseFormat | None:
    if v is None or type(v) is str:
        return v
    if "json_schema" in v and type(v["json_schema"]) is dict:
        return make_response_format(  # type: ignore[no-any-return]
            v["type"], _copy(v["json_schema"]), _extra(v, _K_RESPONSE_FORMAT)
        )
    return make_response_format(v["type"], UNSET, _extra(v, _K_TYPE))  # type: ignore[no-any-return]


#: The wire fields of ``Run``: its init fields but ``extra`` (the unknown keys).
_K_RUN = frozenset(a.name for a in attrs.fields(Run) if a.init and a.name != "extra")

_STATUS = {s.value: s for s in RunStatus}


def _structure_run_trusted(d: Obj) -> Run:
    """Build a ``Run`` from a dict whose structure was checked (no further validation)."""
    return make_run(  # type: ignore[no-any-return]
        d["assistant_id"],
        d["cancelled_at"],
        d["completed_at"],
        d["created_at"],
        d["expires_at"],
        d["failed_at"],
        d["id"],
        _s_incomplete(d["incomplete_details"]),
        d["instructions"],
        _s_last_error(d["last_error"]),
        d["max_completion_tokens"],
        d["max_prompt_tokens"],
        _copy(d["metadata"]),
        d["model"],
        d["object"],
        d["parallel_tool_calls"],
        _s_required_action(d["required_action"]),
        _s_response_format(d["response_format"]),
        d["started_at"],
        _STATUS[d["status"]],
        d.get("temperature", UNSET),
        d["thread_id"],
        _s_tool_choice(d["tool_choice"]),
        tuple([_s_tool(t) for t in d["tools"]]),
        d.get("top_p", UNSET),
        _s_truncation(d["truncation_strategy"]),
        _s_usage(d["usage"]),
        _extra(d, _K_RUN),
    )


def _structure_run(data: Any, _: Any = None) -> Run:
    problems = structure_problems(data)
    if problems:
        run_id = data.get("id") if isinstance(data, dict) else None
        raise InvalidRun(
            [(p.path, p.message) for p in problems],
            run_id=run_id if isinstance(run_id, str) else None,
        )
    return _structure_run_trusted(data)


# --- unstructure: from the record to the API's JSON -----------------------------------------


def _u_tool_call(c: ToolCall) -> Obj:
    f = c.function
    fn: Obj = {"name": f.name, "arguments": f.arguments}
    if f.extra:
        fn.update(_copy(f.extra))
    d: Obj = {"id": c.id, "type": c.type, "function": fn}
    if c.extra:
        d.update(_copy(c.extra))
    return d


def _u_required_action(r: RequiredAction | None) -> Obj | None:
    if r is None:
        return None
    s = r.submit_tool_outputs
    so: Obj = {"tool_calls": [_u_tool_call(c) for c in s.tool_calls]}
    if s.extra:
        so.update(_copy(s.extra))
    d: Obj = {"type": r.type, "submit_tool_outputs": so}
    if r.extra:
        d.update(_copy(r.extra))
    return d


def _u_simple(obj: Any, names: tuple[str, ...]) -> Obj:
    d: Obj = {}
    for name in names:
        v = getattr(obj, name)
        if v is not UNSET:
            d[name] = _copy(v)
    if obj.extra:
        d.update(_copy(obj.extra))
    return d


def _u_last_error(e: LastError | None) -> Obj | None:
    if e is None:
        return None
    d: Obj = {"code": e.code, "message": e.message}
    if e.extra:
        d.update(_copy(e.extra))
    return d


def _u_usage(u: Usage | None) -> Obj | None:
    if u is None:
        return None
    d: Obj = {
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "total_tokens": u.total_tokens,
    }
    if u.extra:
        d.update(_copy(u.extra))
    return d


def _u_tool(t: Tool) -> Obj:
    if type(t) is FunctionTool:
        d: Obj = {
            "type": t.type,
            "function": _u_simple(t.function, ("name", "description", "parameters", "strict")),
        }
        if t.extra:
            d.update(_copy(t.extra))
        return d
    if type(t) is FileSearchTool:
        return _u_simple(t, ("type", "file_search"))
    return _u_simple(t, ("type",))


def _u_tool_choice(v: str | ToolChoice | None) -> Any:
    if v is None or type(v) is str:
        return v
    assert isinstance(v, ToolChoice)  # noqa: S101 - narrowing for mypy
    d: Obj = {"type": v.type}
    if v.function is not UNSET:
        d["function"] = _u_simple(v.function, ("name",))
    if v.extra:
        d.update(_copy(v.extra))
    return d


def _u_response_format(v: str | ResponseFormat | None) -> Any:
    if v is None or type(v) is str:
        return v
    return _u_simple(v, ("type", "json_schema"))


#: The values of a run's lifecycle fields (``LIFECYCLE``), in that order: a move's snapshot.
life_of: Callable[[Run], tuple[Any, ...]] = operator.attrgetter(*LIFECYCLE)


def _unstructure_run(r: Run, life: tuple[Any, ...] | None = None) -> Obj:
    """The wire dict of *r*; with *life* (a ``life_of`` snapshot), as it was at that moment.

    Only the lifecycle fields ever change after a run is made, so a snapshot of them is a
    snapshot of the whole run: what lets an event build its wire dict only when it is read.
    """
    (
        status,
        expires_at,
        started_at,
        cancelled_at,
        failed_at,
        completed_at,
        required_action,
        last_error,
        incomplete_details,
        usage,
    ) = life_of(r) if life is None else life
    d: Obj = {
        "assistant_id": r.assistant_id,
        "cancelled_at": cancelled_at,
        "completed_at": completed_at,
        "created_at": r.created_at,
        "expires_at": expires_at,
        "failed_at": failed_at,
        "id": r.id,
        "incomplete_details": None
        if incomplete_details is None
        else _u_simple(incomplete_details, ("reason",)),
        "instructions": r.instructions,
        "last_error": _u_last_error(last_error),
        "max_completion_tokens": r.max_completion_tokens,
        "max_prompt_tokens": r.max_prompt_tokens,
        "metadata": _copy(r.metadata),
        "model": r.model,
        "object": r.object,
        "parallel_tool_calls": r.parallel_tool_calls,
        "required_action": _u_required_action(required_action),
        "response_format": _u_response_format(r.response_format),
        "started_at": started_at,
        "status": status.value,
    }
    if r.temperature is not UNSET:
        d["temperature"] = r.temperature
    d["thread_id"] = r.thread_id
    d["tool_choice"] = _u_tool_choice(r.tool_choice)
    d["tools"] = [_u_tool(t) for t in r.tools]
    if r.top_p is not UNSET:
        d["top_p"] = r.top_p
    ts = r.truncation_strategy
    d["truncation_strategy"] = None if ts is None else _u_simple(ts, ("type", "last_messages"))
    d["usage"] = _u_usage(usage)
    if r.extra:
        d.update(_copy(r.extra))
    return d


# --- converters -------------------------------------------------------------------------------

_NESTED_UNSTRUCTURE: dict[type, Callable[[Any], Any]] = {
    ToolCall: _u_tool_call,
    RequiredAction: _u_required_action,
    LastError: _u_last_error,
    Usage: _u_usage,
    IncompleteDetails: lambda v: _u_simple(v, ("reason",)),
    TruncationStrategy: lambda v: _u_simple(v, ("type", "last_messages")),
    FunctionTool: _u_tool,
    FileSearchTool: _u_tool,
    CodeInterpreterTool: _u_tool,
    UnknownTool: _u_tool,
    ToolChoice: _u_tool_choice,
    ResponseFormat: _u_response_format,
    FunctionDefinition: lambda v: _u_simple(v, ("name", "description", "parameters", "strict")),
}


def _is(cls: type) -> Callable[[Any], bool]:
    return lambda t: t is cls


def configure_converter(converter: cattrs.Converter) -> None:
    """Install runlife's hooks for ``Run`` and its nested classes into *converter*.

    After this, ``converter.unstructure(run)`` gives the API's JSON dict and
    ``converter.structure(data, Run)`` loads one (raising ``InvalidRun`` on bad structure),
    also when a ``Run`` is nested in your own attrs classes.
    """
    # Predicate registration: cattrs would otherwise resolve the record's type hints,
    # which name the engine (a circular import we keep out of the record's module).
    converter.register_unstructure_hook_func(lambda t: t is Run, _unstructure_run)
    converter.register_structure_hook_func(lambda t: t is Run, _structure_run)
    for cls, hook in _NESTED_UNSTRUCTURE.items():
        converter.register_unstructure_hook_func(_is(cls), hook)


def make_converter(**kwargs: Any) -> cattrs.Converter:
    """A new ``cattrs.Converter`` (created with *kwargs*) with runlife's hooks installed."""
    converter = cattrs.Converter(**kwargs)
    configure_converter(converter)
    return converter


_converter = make_converter()
_unstructure: Callable[[Any], Any] = _converter.unstructure


def to_dict(run: Run) -> dict[str, Any]:
    """The run as the API's JSON object: every field, ``null`` included, then unknown keys.

    The result is a fresh dict that shares nothing with the run. Thread-safe: taken under
    the run's lock, so it is never a half-moved run.
    """
    if not isinstance(run, Run):
        raise TypeError(f"to_dict() expects a runlife.Run, got {type(run).__name__}")
    with run._lock:
        return _unstructure_run(run)


def from_dict(data: Any, *, engine: RunEngine | None = None) -> Run:
    """Load a run from the API's JSON object, keeping every value and unknown key.

    The run is bound to *engine* (the module's default engine when omitted).

    Raises:
        InvalidRun: *data* is not structurally a run; one line per problem, path first.
    """
    run = _structure_run(data)
    if engine is not None:
        object.__setattr__(run, "_engine", engine)
    return run


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def to_json(run: Run) -> str:
    """The run as compact JSON text: known fields in the reference's order, then unknown keys."""
    return json.dumps(to_dict(run), separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def from_json(text: str | bytes | bytearray, *, engine: RunEngine | None = None) -> Run:
    """Load a run from JSON text (see ``from_dict``).

    Raises:
        InvalidRun: the text is not JSON (``$: malformed JSON: ...``) or not a run.
    """
    if not isinstance(text, (str, bytes, bytearray)):
        raise InvalidRun([("$", f"expected JSON text (str or bytes), got {type(text).__name__}")])
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise InvalidRun([("$", f"malformed JSON: {exc}")]) from None
    return from_dict(data, engine=engine)


def validate_record(run: Run) -> None:
    """Check a directly constructed ``Run`` for structure; coerce a status string to ``RunStatus``.

    Raises:
        InvalidRun: the record's values do not have the wire object's structure.
    """
    status = run.status
    if not isinstance(status, RunStatus):
        if not isinstance(status, str):
            raise InvalidRun(
                [("$.status", f"expected a status string, got {type(status).__name__}")]
            )
        if status not in _STATUS:
            raise InvalidRun([("$.status", suggest_status(status))], run_id=run.id)
        object.__setattr__(run, "status", _STATUS[status])
    if type(run.tools) is not tuple:
        object.__setattr__(run, "tools", tuple(run.tools))
    try:
        data = _unstructure_run(run)
    except (AttributeError, TypeError) as exc:  # a nested value of the wrong class
        raise InvalidRun(
            [("$", f"a nested value is not one of the record's classes ({exc})")], run_id=run.id
        ) from None
    problems = structure_problems(data)
    if problems:
        raise InvalidRun([(p.path, p.message) for p in problems], run_id=run.id)
