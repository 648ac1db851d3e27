"""Encoding: from the record to the API's JSON, as fresh plain dicts and lists.

Every field is written, ``null`` included, in the API's order (``WIRE_ORDER`` at the top,
each nested object as the API writes it), then the unknown keys of each level in the order
they came; keys that were absent (``UNSET``) stay absent. A record read from a payload whose
keys came in another order is written in that order (``key_order``, ``runlife._order``).
Nothing of the result is shared with the run (``runlife._json.thaw``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, Final

from ._json import thaw
from ._order import arrange
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
    if f.key_order is not None:
        fn = arrange(fn, f.key_order)
    d: Obj = {"id": c.id, "type": c.type, "function": fn}
    if c.extra:
        d.update(thaw(c.extra))
    return d if c.key_order is None else arrange(d, c.key_order)


def encode_required_action(r: RequiredAction | None) -> Obj | None:
    if r is None:
        return None
    s = r.submit_tool_outputs
    so: Obj = {"tool_calls": [_u_tool_call(c) for c in s.tool_calls]}
    if s.extra:
        so.update(thaw(s.extra))
    if s.key_order is not None:
        so = arrange(so, s.key_order)
    d: Obj = {"type": r.type, "submit_tool_outputs": so}
    if r.extra:
        d.update(thaw(r.extra))
    return d if r.key_order is None else arrange(d, r.key_order)


def encode_simple(obj: Any, names: tuple[str, ...]) -> Obj:
    d: Obj = {}
    for name in names:
        v = getattr(obj, name)
        if v is not UNSET:
            d[name] = thaw(v)
    if obj.extra:
        d.update(thaw(obj.extra))
    return d if obj.key_order is None else arrange(d, obj.key_order)


def encode_last_error(e: LastError | None) -> Obj | None:
    if e is None:
        return None
    d: Obj = {"code": e.code, "message": e.message}
    if e.extra:
        d.update(thaw(e.extra))
    return d if e.key_order is None else arrange(d, e.key_order)


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
    return d if u.key_order is None else arrange(d, u.key_order)


def _u_tool(t: Tool) -> Obj:
    if type(t) is FunctionTool:
        d: Obj = {
            "type": t.type,
            "function": encode_simple(t.function, ("name", "description", "parameters", "strict")),
        }
        if t.extra:
            d.update(thaw(t.extra))
        return d if t.key_order is None else arrange(d, t.key_order)
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
    return d if v.key_order is None else arrange(d, v.key_order)


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
    # Straight-line, in WIRE_ORDER (a test holds the two to the same order): the keys the
    # record keeps in ``extra`` that the API writes at a position of their own
    # (POSITIONED_EXTRAS) are put there, the other unknown keys after the known ones.
    x = r.extra
    d: Obj = {
        "id": r.id,
        "object": r.object,
        "created_at": r.created_at,
        "assistant_id": r.assistant_id,
        "thread_id": r.thread_id,
        "status": status.value,
        "started_at": started_at,
        "expires_at": expires_at,
        "cancelled_at": cancelled_at,
        "failed_at": failed_at,
        "completed_at": completed_at,
        "required_action": encode_required_action(required_action),
        "last_error": encode_last_error(last_error),
        "model": r.model,
        "instructions": r.instructions,
        "tools": [_u_tool(t) for t in r.tools],
    }
    if x and "tool_resources" in x:
        d["tool_resources"] = thaw(x["tool_resources"])
    d["metadata"] = thaw(r.metadata)
    if r.temperature is not UNSET:
        d["temperature"] = r.temperature
    if r.top_p is not UNSET:
        d["top_p"] = r.top_p
    if x and "reasoning_effort" in x:
        d["reasoning_effort"] = thaw(x["reasoning_effort"])
    d["max_completion_tokens"] = r.max_completion_tokens
    d["max_prompt_tokens"] = r.max_prompt_tokens
    ts = r.truncation_strategy
    d["truncation_strategy"] = None if ts is None else encode_simple(ts, ("type", "last_messages"))
    d["incomplete_details"] = (
        None if incomplete_details is None else encode_simple(incomplete_details, ("reason",))
    )
    d["usage"] = encode_usage(usage)
    d["response_format"] = _u_response_format(r.response_format)
    d["tool_choice"] = _u_tool_choice(r.tool_choice)
    d["parallel_tool_calls"] = r.parallel_tool_calls
    if x:
        for key, value in x.items():
            if key not in d:
                d[key] = thaw(value)
    return d if r.key_order is None else arrange(d, r.key_order)


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
