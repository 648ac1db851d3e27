"""Encoding: from the record to the API's JSON, as fresh plain dicts and lists.

Every field is written, ``null`` included, in the record's order, then the unknown keys of
each level in the order they came; keys that were absent (``UNSET``) stay absent. Nothing
of the result is shared with the run (``runlife._json.thaw``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, Final

from ._json import thaw
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
    Tool,
    ToolCall,
    ToolChoice,
    TruncationStrategy,
    UnknownTool,
    Usage,
)
from ._table import LIFECYCLE

__all__ = [
    "NESTED",
    "encode_last_error",
    "encode_required_action",
    "encode_run",
    "encode_simple",
    "encode_usage",
    "life_of",
]

Obj = dict[str, Any]


def _u_tool_call(c: ToolCall) -> Obj:
    f = c.function
    fn: Obj = {"name": f.name, "arguments": f.arguments}
    if f.extra:
        fn.update(thaw(f.extra))
    d: Obj = {"id": c.id, "type": c.type, "function": fn}
    if c.extra:
        d.update(thaw(c.extra))
    return d


def encode_required_action(r: RequiredAction | None) -> Obj | None:
    if r is None:
        return None
    s = r.submit_tool_outputs
    so: Obj = {"tool_calls": [_u_tool_call(c) for c in s.tool_calls]}
    if s.extra:
        so.update(thaw(s.extra))
    d: Obj = {"type": r.type, "submit_tool_outputs": so}
    if r.extra:
        d.update(thaw(r.extra))
    return d


def encode_simple(obj: Any, names: tuple[str, ...]) -> Obj:
    d: Obj = {}
    for name in names:
        v = getattr(obj, name)
        if v is not UNSET:
            d[name] = thaw(v)
    if obj.extra:
        d.update(thaw(obj.extra))
    return d


def encode_last_error(e: LastError | None) -> Obj | None:
    if e is None:
        return None
    d: Obj = {"code": e.code, "message": e.message}
    if e.extra:
        d.update(thaw(e.extra))
    return d


def encode_usage(u: Usage | None) -> Obj | None:
    if u is None:
        return None
    d: Obj = {
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "total_tokens": u.total_tokens,
    }
    if u.extra:
        d.update(thaw(u.extra))
    return d


def _u_tool(t: Tool) -> Obj:
    if type(t) is FunctionTool:
        d: Obj = {
            "type": t.type,
            "function": encode_simple(t.function, ("name", "description", "parameters", "strict")),
        }
        if t.extra:
            d.update(thaw(t.extra))
        return d
    if type(t) is FileSearchTool:
        return encode_simple(t, ("type", "file_search"))
    return encode_simple(t, ("type",))


def _u_tool_choice(v: str | ToolChoice | None) -> Any:
    if v is None or type(v) is str:
        return v
    assert isinstance(v, ToolChoice)  # noqa: S101 - narrowing for mypy
    d: Obj = {"type": v.type}
    if v.function is not UNSET:
        d["function"] = encode_simple(v.function, ("name",))
    if v.extra:
        d.update(thaw(v.extra))
    return d


def _u_response_format(v: str | ResponseFormat | None) -> Any:
    if v is None or type(v) is str:
        return v
    return encode_simple(v, ("type", "json_schema"))


#: The values of a run's lifecycle fields (``LIFECYCLE``), in that order: a move's snapshot.
life_of: Final[Callable[[Run], tuple[Any, ...]]] = operator.attrgetter(*LIFECYCLE)


def encode_run(r: Run, life: tuple[Any, ...] | None = None) -> Obj:
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
        else encode_simple(incomplete_details, ("reason",)),
        "instructions": r.instructions,
        "last_error": encode_last_error(last_error),
        "max_completion_tokens": r.max_completion_tokens,
        "max_prompt_tokens": r.max_prompt_tokens,
        "metadata": thaw(r.metadata),
        "model": r.model,
        "object": r.object,
        "parallel_tool_calls": r.parallel_tool_calls,
        "required_action": encode_required_action(required_action),
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
    d["truncation_strategy"] = None if ts is None else encode_simple(ts, ("type", "last_messages"))
    d["usage"] = encode_usage(usage)
    if r.extra:
        d.update(thaw(r.extra))
    return d


#: The encoder of each nested record class.
NESTED: Final[dict[type, Callable[[Any], Any]]] = {
    ToolCall: _u_tool_call,
    RequiredAction: encode_required_action,
    LastError: encode_last_error,
    Usage: encode_usage,
    IncompleteDetails: lambda v: encode_simple(v, ("reason",)),
    TruncationStrategy: lambda v: encode_simple(v, ("type", "last_messages")),
    FunctionTool: _u_tool,
    FileSearchTool: _u_tool,
    CodeInterpreterTool: _u_tool,
    UnknownTool: _u_tool,
    ToolChoice: _u_tool_choice,
    ResponseFormat: _u_response_format,
    FunctionDefinition: lambda v: encode_simple(v, ("name", "description", "parameters", "strict")),
}
