"""Decoding: from a structurally checked wire dict to the record.

The structure is checked first (``runlife._structure``); what is decoded here is trusted to
have it. Every JSON value the record keeps is copied read-only (``runlife._json.freeze``),
and every unknown key is kept, in order, in the ``extra`` of its level.

The hooks are written out by hand rather than generated: the record's unknown-key and
absent-key handling is the same for every class, and straight-line code is what keeps the
round trip close to the official SDK's compiled pydantic-core (see ``benchmarks/``).
"""

from __future__ import annotations

from typing import Any, Final

from ._json import EMPTY, FrozenDict, freeze
from ._makers import builder
from ._record import (
    UNSET,
    WIRE_FIELDS,
    FunctionDefinition,
    IncompleteDetails,
    LastError,
    RequiredAction,
    ResponseFormat,
    Run,
    Tool,
    ToolCall,
    ToolChoice,
    TruncationStrategy,
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
    make_submit_tool_outputs,
    make_tool_call,
    make_tool_choice,
    make_tool_choice_function,
    make_truncation_strategy,
    make_unknown_tool,
    make_usage,
)
from ._state import RunState
from ._status import STATUS_BY_VALUE

__all__ = [
    "RUN_KEYS",
    "decode_required_action",
    "decode_response_format",
    "decode_run",
    "decode_tool",
    "decode_tool_choice",
    "decode_truncation",
    "decode_usage",
    "unknown_keys",
]

Obj = dict[str, Any]


def unknown_keys(d: Obj, known: frozenset[str]) -> FrozenDict:
    """The keys of *d* that are not *known*, in order, read-only."""
    if known.issuperset(d):  # in C: the usual case, no unknown keys
        return EMPTY
    return FrozenDict({k: freeze(v) for k, v in d.items() if k not in known})


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
    function = make_function_call(
        name=f["name"], arguments=f["arguments"], extra=unknown_keys(f, _K_FUNCTION_CALL)
    )
    return make_tool_call(  # type: ignore[no-any-return]
        id=d["id"], function=function, type=d["type"], extra=unknown_keys(d, _K_TOOL_CALL)
    )


def decode_required_action(d: Obj | None) -> RequiredAction | None:
    if d is None:
        return None
    s = d["submit_tool_outputs"]
    submit = make_submit_tool_outputs(
        tool_calls=tuple([_s_tool_call(c) for c in s["tool_calls"]]),
        extra=unknown_keys(s, _K_SUBMIT),
    )
    return make_required_action(  # type: ignore[no-any-return]
        submit_tool_outputs=submit, type=d["type"], extra=unknown_keys(d, _K_REQUIRED)
    )


def _s_last_error(d: Obj | None) -> LastError | None:
    if d is None:
        return None
    return make_last_error(  # type: ignore[no-any-return]
        code=d["code"], message=d["message"], extra=unknown_keys(d, _K_LAST_ERROR)
    )


def _s_incomplete(d: Obj | None) -> IncompleteDetails | None:
    if d is None:
        return None
    return make_incomplete_details(  # type: ignore[no-any-return]
        reason=d.get("reason", UNSET), extra=unknown_keys(d, _K_INCOMPLETE)
    )


def decode_usage(d: Obj | None) -> Usage | None:
    if d is None:
        return None
    return make_usage(  # type: ignore[no-any-return]
        prompt_tokens=d["prompt_tokens"],
        completion_tokens=d["completion_tokens"],
        total_tokens=d["total_tokens"],
        extra=unknown_keys(d, _K_USAGE),
    )


def decode_truncation(d: Obj | None) -> TruncationStrategy | None:
    if d is None:
        return None
    return make_truncation_strategy(  # type: ignore[no-any-return]
        type=d["type"],
        last_messages=d.get("last_messages", UNSET),
        extra=unknown_keys(d, _K_TRUNCATION),
    )


def _s_function_def(f: Obj) -> FunctionDefinition:
    return make_function_definition(  # type: ignore[no-any-return]
        name=f["name"],
        description=f.get("description", UNSET),
        parameters=freeze(f["parameters"]) if "parameters" in f else UNSET,
        strict=f.get("strict", UNSET),
        extra=unknown_keys(f, _K_FUNCTION_DEF),
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


def decode_tool(d: Obj) -> Tool:
    t = d["type"]
    if t == "function" and _typed_function_tool(d):
        return make_function_tool(  # type: ignore[no-any-return]
            function=_s_function_def(d["function"]), type=t, extra=unknown_keys(d, _K_FUNCTION_TOOL)
        )
    if t == "code_interpreter":
        return make_code_interpreter_tool(type=t, extra=unknown_keys(d, _K_TYPE))  # type: ignore[no-any-return]
    if t == "file_search" and type(d.get("file_search", {})) is dict:
        return make_file_search_tool(  # type: ignore[no-any-return]
            type=t,
            file_search=freeze(d["file_search"]) if "file_search" in d else UNSET,
            extra=unknown_keys(d, _K_FILE_SEARCH),
        )
    return make_unknown_tool(type=t, extra=unknown_keys(d, _K_TYPE))  # type: ignore[no-any-return]


def decode_tool_choice(v: Any) -> str | ToolChoice | None:
    if v is None or type(v) is str:
        return v
    f = v.get("function", UNSET)
    function = (
        UNSET
        if f is UNSET
        else make_tool_choice_function(name=f["name"], extra=unknown_keys(f, _K_TOOL_CHOICE_FN))
    )
    return make_tool_choice(  # type: ignore[no-any-return]
        type=v["type"], function=function, extra=unknown_keys(v, _K_TOOL_CHOICE)
    )


def decode_response_format(v: Any) -> str | ResponseFormat | None:
    if v is None or type(v) is str:
        return v
    if "json_schema" in v and type(v["json_schema"]) is dict:
        return make_response_format(  # type: ignore[no-any-return]
            type=v["type"],
            json_schema=freeze(v["json_schema"]),
            extra=unknown_keys(v, _K_RESPONSE_FORMAT),
        )
    return make_response_format(  # type: ignore[no-any-return]
        type=v["type"], json_schema=UNSET, extra=unknown_keys(v, _K_TYPE)
    )


#: The wire keys of a run: ``Run``'s public init fields but ``extra`` (the unknown keys).
RUN_KEYS: Final = frozenset(WIRE_FIELDS) - {"extra"}

#: How each field of a decoded run is made from the checked wire dict ``d``.
_RUN_VALUES: Final = {
    "assistant_id": 'd["assistant_id"]',
    "cancelled_at": 'd["cancelled_at"]',
    "completed_at": 'd["completed_at"]',
    "created_at": 'd["created_at"]',
    "expires_at": 'd["expires_at"]',
    "failed_at": 'd["failed_at"]',
    "id": 'd["id"]',
    "incomplete_details": '_s_incomplete(d["incomplete_details"])',
    "instructions": 'd["instructions"]',
    "last_error": '_s_last_error(d["last_error"])',
    "max_completion_tokens": 'd["max_completion_tokens"]',
    "max_prompt_tokens": 'd["max_prompt_tokens"]',
    "metadata": 'freeze(d["metadata"])',
    "model": 'd["model"]',
    "object": 'd["object"]',
    "parallel_tool_calls": 'd["parallel_tool_calls"]',
    "required_action": 'decode_required_action(d["required_action"])',
    "response_format": 'decode_response_format(d["response_format"])',
    "started_at": 'd["started_at"]',
    "status": '_STATUS[d["status"]]',
    "temperature": 'd.get("temperature", UNSET)',
    "thread_id": 'd["thread_id"]',
    "tool_choice": 'decode_tool_choice(d["tool_choice"])',
    "tools": 'tuple([decode_tool(t) for t in d["tools"]])',
    "top_p": 'd.get("top_p", UNSET)',
    "truncation_strategy": 'decode_truncation(d["truncation_strategy"])',
    "usage": 'decode_usage(d["usage"])',
    "extra": "unknown_keys(d, RUN_KEYS)",
}

_STATUS = STATUS_BY_VALUE

#: ``decode_run(d)``: a ``Run`` from a dict whose structure was checked (no further check).
decode_run: Final = builder(
    Run,
    "decode_run",
    "d",
    _RUN_VALUES,
    globals(),
    private={"_state": RunState},
)
