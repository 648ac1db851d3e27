"""Decoding: from a structurally checked wire dict to the record.

The structure is checked first (``runlife._structure``); what is decoded here is trusted to
have it. Every JSON value the record keeps is copied read-only (``runlife._json.freeze``),
and every unknown key is kept, in order, in the ``extra`` of its level.

The hooks are written out by hand rather than generated: the record's unknown-key and
absent-key handling is the same for every class, and straight-line code is what keeps the
round trip close to the official SDK's compiled pydantic-core (see ``benchmarks/``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from ._json import EMPTY, KEPT, FrozenDict, NotJSON, freeze
from ._makers import builder
from ._order import key_order
from ._record import (
    KEY_ORDERS,
    NOT_WIRE_KEYS,
    UNSET,
    WIRE_FIELDS,
    FileSearchTool,
    FunctionCall,
    FunctionDefinition,
    FunctionTool,
    IncompleteDetails,
    LastError,
    RequiredAction,
    ResponseFormat,
    Run,
    SubmitToolOutputs,
    Tool,
    ToolCall,
    ToolChoice,
    ToolChoiceFunction,
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
    "api_order",
    "decode_last_error",
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


def unknown_keys(d: Obj, known: frozenset[str], level: int) -> FrozenDict:
    """The keys of *d* (an object at *level* of the run) that are not *known*, in order, read-only.

    Raises:
        NotJSON: one of them is not a string, or its value holds what JSON cannot.
    """
    if known.issuperset(d):  # in C: the usual case, no unknown keys
        return EMPTY
    down = level + 1
    extra = {}
    for k, v in d.items():
        if k not in known:
            extra[k] = v if type(v) in KEPT else freeze(v, down)
    try:
        return FrozenDict(**extra)  # keyword arguments: C checks that every key is a string
    except TypeError:
        raise NotJSON from None


#: A decoder's judge of a level's key order: ``key_order`` keeps a payload's own order,
#: ``api_order`` (what ``create`` uses: the engine writes the API's order) drops it.
Order = Callable[[Obj, tuple[str, ...]], tuple[str, ...] | None]


def number(value: Any) -> Any:
    """*value* (``temperature``, ``top_p``), refused if it is a float JSON cannot hold."""
    if type(value) is float and value - value != 0.0:
        raise NotJSON
    return value


def api_order(_: Obj, __: tuple[str, ...]) -> None:
    """No order of its own: the level is written in the API's order."""
    return


_O_FUNCTION_CALL: Final = KEY_ORDERS[FunctionCall]
_O_TOOL_CALL: Final = KEY_ORDERS[ToolCall]
_O_SUBMIT: Final = KEY_ORDERS[SubmitToolOutputs]
_O_REQUIRED: Final = KEY_ORDERS[RequiredAction]
_O_LAST_ERROR: Final = KEY_ORDERS[LastError]
_O_INCOMPLETE: Final = KEY_ORDERS[IncompleteDetails]
_O_USAGE: Final = KEY_ORDERS[Usage]
_O_TRUNCATION: Final = KEY_ORDERS[TruncationStrategy]
_O_TYPE: Final = KEY_ORDERS[UnknownTool]
_O_FILE_SEARCH: Final = KEY_ORDERS[FileSearchTool]
_O_FUNCTION_TOOL: Final = KEY_ORDERS[FunctionTool]
_O_FUNCTION_DEF: Final = KEY_ORDERS[FunctionDefinition]
_O_TOOL_CHOICE: Final = KEY_ORDERS[ToolChoice]
_O_TOOL_CHOICE_FN: Final = KEY_ORDERS[ToolChoiceFunction]
_O_RESPONSE_FORMAT: Final = KEY_ORDERS[ResponseFormat]
_O_RUN: Final = KEY_ORDERS[Run]  # WIRE_ORDER

_K_FUNCTION_CALL = frozenset(_O_FUNCTION_CALL)
_K_TOOL_CALL = frozenset(_O_TOOL_CALL)
_K_SUBMIT = frozenset(_O_SUBMIT)
_K_REQUIRED = frozenset(_O_REQUIRED)
_K_LAST_ERROR = frozenset(_O_LAST_ERROR)
_K_INCOMPLETE = frozenset(_O_INCOMPLETE)
_K_USAGE = frozenset(_O_USAGE)
_K_TRUNCATION = frozenset(_O_TRUNCATION)
_K_TYPE = frozenset(_O_TYPE)
_K_FILE_SEARCH = frozenset(_O_FILE_SEARCH)
_K_FUNCTION_TOOL = frozenset(_O_FUNCTION_TOOL)
_K_FUNCTION_DEF = frozenset(_O_FUNCTION_DEF)
_K_TOOL_CHOICE = frozenset(_O_TOOL_CHOICE)
_K_TOOL_CHOICE_FN = frozenset(_O_TOOL_CHOICE_FN)
_K_RESPONSE_FORMAT = frozenset(_O_RESPONSE_FORMAT)


def _s_tool_call(d: Obj) -> ToolCall:
    f = d["function"]
    function = make_function_call(
        name=f["name"],
        arguments=f["arguments"],
        extra=unknown_keys(f, _K_FUNCTION_CALL, 6),
        key_order=key_order(f, _O_FUNCTION_CALL),
    )
    return make_tool_call(  # type: ignore[no-any-return]
        id=d["id"],
        function=function,
        type=d["type"],
        extra=unknown_keys(d, _K_TOOL_CALL, 5),
        key_order=key_order(d, _O_TOOL_CALL),
    )


def decode_required_action(d: Obj | None) -> RequiredAction | None:
    if d is None:
        return None
    s = d["submit_tool_outputs"]
    submit = make_submit_tool_outputs(
        tool_calls=tuple([_s_tool_call(c) for c in s["tool_calls"]]),
        extra=unknown_keys(s, _K_SUBMIT, 3),
        key_order=key_order(s, _O_SUBMIT),
    )
    return make_required_action(  # type: ignore[no-any-return]
        submit_tool_outputs=submit,
        type=d["type"],
        extra=unknown_keys(d, _K_REQUIRED, 2),
        key_order=key_order(d, _O_REQUIRED),
    )


def decode_last_error(d: Obj | None) -> LastError | None:
    if d is None:
        return None
    return make_last_error(  # type: ignore[no-any-return]
        code=d["code"],
        message=d["message"],
        extra=unknown_keys(d, _K_LAST_ERROR, 2),
        key_order=key_order(d, _O_LAST_ERROR),
    )


def _s_incomplete(d: Obj | None) -> IncompleteDetails | None:
    if d is None:
        return None
    return make_incomplete_details(  # type: ignore[no-any-return]
        reason=d.get("reason", UNSET),
        extra=unknown_keys(d, _K_INCOMPLETE, 2),
        key_order=key_order(d, _O_INCOMPLETE),
    )


def decode_usage(d: Obj | None) -> Usage | None:
    if d is None:
        return None
    return make_usage(  # type: ignore[no-any-return]
        prompt_tokens=d["prompt_tokens"],
        completion_tokens=d["completion_tokens"],
        total_tokens=d["total_tokens"],
        extra=unknown_keys(d, _K_USAGE, 2),
        key_order=key_order(d, _O_USAGE),
    )


def decode_truncation(d: Obj | None, order: Order = key_order) -> TruncationStrategy | None:
    if d is None:
        return None
    return make_truncation_strategy(  # type: ignore[no-any-return]
        type=d["type"],
        last_messages=d.get("last_messages", UNSET),
        extra=unknown_keys(d, _K_TRUNCATION, 2),
        key_order=order(d, _O_TRUNCATION),
    )


def _s_function_def(f: Obj, order: Order) -> FunctionDefinition:
    return make_function_definition(  # type: ignore[no-any-return]
        name=f["name"],
        description=f.get("description", UNSET),
        parameters=freeze(f["parameters"], 5) if "parameters" in f else UNSET,
        strict=f.get("strict", UNSET),
        extra=unknown_keys(f, _K_FUNCTION_DEF, 4),
        key_order=order(f, _O_FUNCTION_DEF),
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


def decode_tool(d: Obj, order: Order = key_order) -> Tool:
    t = d["type"]
    if t == "function" and _typed_function_tool(d):
        return make_function_tool(  # type: ignore[no-any-return]
            function=_s_function_def(d["function"], order),
            type=t,
            extra=unknown_keys(d, _K_FUNCTION_TOOL, 3),
            key_order=order(d, _O_FUNCTION_TOOL),
        )
    if t == "code_interpreter":
        return make_code_interpreter_tool(  # type: ignore[no-any-return]
            type=t, extra=unknown_keys(d, _K_TYPE, 3), key_order=order(d, _O_TYPE)
        )
    if t == "file_search" and type(d.get("file_search", {})) is dict:
        return make_file_search_tool(  # type: ignore[no-any-return]
            type=t,
            file_search=freeze(d["file_search"], 4) if "file_search" in d else UNSET,
            extra=unknown_keys(d, _K_FILE_SEARCH, 3),
            key_order=order(d, _O_FILE_SEARCH),
        )
    return make_unknown_tool(  # type: ignore[no-any-return]
        type=t, extra=unknown_keys(d, _K_TYPE, 3), key_order=order(d, _O_TYPE)
    )


def decode_tool_choice(v: Any, order: Order = key_order) -> str | ToolChoice | None:
    if v is None or type(v) is str:
        return v
    f = v.get("function", UNSET)
    function = (
        UNSET
        if f is UNSET
        else make_tool_choice_function(
            name=f["name"],
            extra=unknown_keys(f, _K_TOOL_CHOICE_FN, 3),
            key_order=order(f, _O_TOOL_CHOICE_FN),
        )
    )
    return make_tool_choice(  # type: ignore[no-any-return]
        type=v["type"],
        function=function,
        extra=unknown_keys(v, _K_TOOL_CHOICE, 2),
        key_order=order(v, _O_TOOL_CHOICE),
    )


def decode_response_format(v: Any, order: Order = key_order) -> str | ResponseFormat | None:
    if v is None or type(v) is str:
        return v
    if "json_schema" in v and type(v["json_schema"]) is dict:
        return make_response_format(  # type: ignore[no-any-return]
            type=v["type"],
            json_schema=freeze(v["json_schema"], 3),
            extra=unknown_keys(v, _K_RESPONSE_FORMAT, 2),
            key_order=order(v, _O_RESPONSE_FORMAT),
        )
    return make_response_format(  # type: ignore[no-any-return]
        type=v["type"],
        json_schema=UNSET,
        extra=unknown_keys(v, _K_TYPE, 2),
        key_order=order(v, _O_TYPE),
    )


#: The wire keys of a run: ``Run``'s public init fields but ``extra`` (the unknown keys) and
#: ``key_order``.
RUN_KEYS: Final = frozenset(WIRE_FIELDS) - NOT_WIRE_KEYS

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
    "last_error": 'decode_last_error(d["last_error"])',
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
    "temperature": 'number(d.get("temperature", UNSET))',
    "thread_id": 'd["thread_id"]',
    "tool_choice": 'decode_tool_choice(d["tool_choice"])',
    "tools": 'tuple([decode_tool(t) for t in d["tools"]])',
    "top_p": 'number(d.get("top_p", UNSET))',
    "truncation_strategy": 'decode_truncation(d["truncation_strategy"])',
    "usage": 'decode_usage(d["usage"])',
    "extra": "unknown_keys(d, RUN_KEYS, 1)",
    "key_order": "key_order(d, _O_RUN)",
    "filled": "()",
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
