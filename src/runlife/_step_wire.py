"""A run step's wire format: ``RunStep`` to the API's JSON and back, checked and lossless.

The same rules as a run's (``runlife._wire``): writing gives the API's keys in the API's
order (``STEP_ORDER``), then unknown keys; loading checks the *structure* only
(:func:`step_structure_problems`: what the record cannot hold) and keeps everything else,
unknown keys and a payload's own key order at every level, so that
``step_to_dict(step_from_dict(d)) == d`` byte for byte. Rule breaks (an error code the
reference does not list, a stamp in the wrong status) are reported by ``check``
(``runlife._step_check``), never refused on load.

The recorded step payloads of the live API write ``expires_at`` where the reference and the
SDK name ``expired_at``: a payload with ``expires_at`` loads with it kept (in ``extra``, at its
place) and ``expired_at`` absent; a step runlife makes writes the documented ``expired_at``.
"""

from __future__ import annotations

import json
from typing import Any, Final

from ._decode import decode_last_error, decode_usage, unknown_keys
from ._encode import encode_last_error, encode_usage
from ._errors import InvalidRun
from ._findings import STRUCTURE, Finding, key_path
from ._json import NotJSON, describe, freeze, thaw
from ._makers import refill
from ._order import arrange, key_order
from ._record import KEY_ORDERS, UNSET, Usage
from ._status import STEP_STATUS_BY_VALUE, StepStatus
from ._step_record import (
    STEP_FIELDS,
    STEP_KEY_ORDERS,
    STEP_ORDER,
    MessageCreation,
    MessageCreationDetails,
    RunStep,
    StepDetails,
    StepFunction,
    StepToolCall,
    ToolCallsDetails,
    UnknownStepDetails,
    bind_step_validator,
    make_run_step,
)
from ._structure import missing, value_problems, wrong_type

__all__ = [
    "STEP_OBJECT",
    "decode_step_tool_call",
    "encode_step_details",
    "encode_step_tool_call",
    "step_from_dict",
    "step_from_json",
    "step_shape_problems",
    "step_structure_problems",
    "step_to_dict",
    "step_to_json",
    "validate_step",
]

Obj = dict[str, Any]

#: The ``object`` of every run step.
STEP_OBJECT: Final = "thread.run.step"

_O_FUNCTION: Final = STEP_KEY_ORDERS[StepFunction]
_O_CALL: Final = STEP_KEY_ORDERS[StepToolCall]
_O_TOOL_CALLS: Final = STEP_KEY_ORDERS[ToolCallsDetails]
_O_MESSAGE: Final = STEP_KEY_ORDERS[MessageCreation]
_O_MESSAGE_DETAILS: Final = STEP_KEY_ORDERS[MessageCreationDetails]
_O_UNKNOWN_DETAILS: Final = STEP_KEY_ORDERS[UnknownStepDetails]
_O_USAGE: Final = KEY_ORDERS[Usage]
_K_FUNCTION: Final = frozenset(_O_FUNCTION)
_K_CALL: Final = frozenset(_O_CALL)
_K_TOOL_CALLS: Final = frozenset(_O_TOOL_CALLS)
_K_MESSAGE: Final = frozenset(_O_MESSAGE)
_K_MESSAGE_DETAILS: Final = frozenset(_O_MESSAGE_DETAILS)
_K_UNKNOWN_DETAILS: Final = frozenset(_O_UNKNOWN_DETAILS)


def _finish(d: Obj, obj: Any) -> Obj:
    if obj.extra:
        d.update(thaw(obj.extra))
    return d if obj.key_order is None else arrange(d, obj.key_order)


# --- writing ---------------------------------------------------------------------------------


def encode_step_tool_call(call: StepToolCall) -> Obj:
    """One call of a ``tool_calls`` step as its wire object."""
    d: Obj = {"id": call.id, "type": call.type}
    fn = call.function
    if fn is not UNSET:
        f: Obj = {"name": fn.name, "arguments": fn.arguments}
        if fn.output is not UNSET:
            f["output"] = fn.output
        d["function"] = _finish(f, fn)
    return _finish(d, call)


def encode_step_details(details: StepDetails) -> Obj:
    """A step's ``step_details`` as its wire object."""
    if type(details) is ToolCallsDetails:
        d: Obj = {
            "type": details.type,
            "tool_calls": [encode_step_tool_call(c) for c in details.tool_calls],
        }
    elif type(details) is MessageCreationDetails:
        m = details.message_creation
        d = {"type": details.type, "message_creation": _finish({"message_id": m.message_id}, m)}
    else:
        d = {"type": details.type}
    return _finish(d, details)


def step_to_dict(step: RunStep) -> Obj:
    """The step as the API's JSON object: every field in the API's order, then unknown keys.

    A fresh dict that shares nothing with the step.
    """
    if not isinstance(step, RunStep):
        raise TypeError(f"step_to_dict() expects a runlife.RunStep, got {type(step).__name__}")
    d: Obj = {
        "id": step.id,
        "object": step.object,
        "created_at": step.created_at,
        "run_id": step.run_id,
        "assistant_id": step.assistant_id,
        "thread_id": step.thread_id,
        "type": step.type,
        "status": step.status.value,
        "cancelled_at": step.cancelled_at,
        "completed_at": step.completed_at,
    }
    if step.expired_at is not UNSET:
        d["expired_at"] = step.expired_at
    d["failed_at"] = step.failed_at
    d["last_error"] = encode_last_error(step.last_error)
    d["step_details"] = encode_step_details(step.step_details)
    d["usage"] = encode_usage(step.usage)
    if step.metadata is not UNSET:
        d["metadata"] = thaw(step.metadata)
    return _finish(d, step)


def step_to_json(step: RunStep) -> str:
    """The step as compact JSON text (see ``step_to_dict``)."""
    return json.dumps(step_to_dict(step), separators=(",", ":"), ensure_ascii=False)


# --- the structure check ---------------------------------------------------------------------


def _members(
    d: dict[Any, Any],
    path: str,
    wanted: tuple[tuple[str, tuple[type, ...], str, bool], ...],
    out: list[Finding],
) -> None:
    """Check *d*'s members: (name, accepted types, what is expected, required) each."""
    for name, types, expected, required in wanted:
        if name not in d:
            if required:
                out.append(missing(key_path(path, name)))
            continue
        value = d[name]
        if type(value) not in types:
            out.append(wrong_type(key_path(path, name), expected, value))


_NULL = type(None)
_STR: Final = ((str,), "a string")
_INT: Final = ((int,), "an int (Unix seconds)")
_STAMP: Final = ((int, _NULL), "an int (Unix seconds) or null")
_OBJECT_OR_NULL: Final = ((dict, _NULL), "an object or null")

_TOP: Final = (
    ("id", *_STR, True),
    ("object", *_STR, True),
    ("created_at", *_INT, True),
    ("run_id", *_STR, True),
    ("assistant_id", *_STR, True),
    ("thread_id", *_STR, True),
    ("type", *_STR, True),
    ("status", *_STR, True),
    ("cancelled_at", *_STAMP, True),
    ("completed_at", *_STAMP, True),
    ("expired_at", *_STAMP, False),
    ("failed_at", *_STAMP, True),
    ("last_error", *_OBJECT_OR_NULL, True),
    ("step_details", (dict,), "an object", True),
    ("usage", *_OBJECT_OR_NULL, True),
    ("metadata", *_OBJECT_OR_NULL, False),
)
_COUNT: Final = ((int,), "an int")


def _child(parent: dict[Any, Any], key: str, path: str, kind: type, out: list[Finding]) -> Any:
    """*parent*'s member *key* if it is a *kind* (``dict`` or ``list``), else ``None`` and a finding."""
    value = parent.get(key)
    if type(value) is kind:
        return value
    where = f"{path}.{key}"
    expected = "an object" if kind is dict else "an array"
    out.append(missing(where) if key not in parent else wrong_type(where, expected, value))
    return None


_FUNCTION: Final = (
    ("name", *_STR, True),
    ("arguments", *_STR, True),
    ("output", (str, _NULL), "a string or null", False),
)


def _check_call(call: object, path: str, out: list[Finding]) -> None:
    if type(call) is not dict:
        out.append(wrong_type(path, "an object", call))
        return
    _members(call, path, (("id", *_STR, True), ("type", *_STR, True)), out)
    if call.get("type") == "function" or "function" in call:
        fn = _child(call, "function", path, dict, out)
        if fn is not None:
            _members(fn, f"{path}.function", _FUNCTION, out)


def _check_details(details: dict[Any, Any], out: list[Finding]) -> None:
    path = "$.step_details"
    _members(details, path, (("type", *_STR, True),), out)
    kind = details.get("type")
    if kind == "tool_calls":
        calls = _child(details, "tool_calls", path, list, out)
        for i, call in enumerate(calls or ()):
            _check_call(call, f"{path}.tool_calls[{i}]", out)
    elif kind == "message_creation":
        message = _child(details, "message_creation", path, dict, out)
        if message is not None:
            _members(message, f"{path}.message_creation", (("message_id", *_STR, True),), out)


def step_structure_problems(data: object) -> list[Finding]:
    """What makes *data* unloadable as a run step: one ``structure`` finding each.

    Never raises. The step's paths start at ``$`` (the step); ``check`` puts them under
    ``$.steps[i]`` when it checks a run with its steps.
    """
    out = step_shape_problems(data)
    if isinstance(data, dict) and not any(
        f.code == "non-string-key" and f.path == "$" for f in out
    ):
        out.extend(value_problems(data))
    return out


def step_shape_problems(data: object) -> list[Finding]:
    """``step_structure_problems`` but for what JSON cannot hold (``value_problems``).

    What loading needs checked before it decodes: the decoder refuses the rest (a value
    JSON cannot hold, a structure nested too deep) as it copies the values, so a sound
    step is walked once, not twice.
    """
    if not isinstance(data, dict):
        return [wrong_type("$", "a run step object", data)]
    out: list[Finding] = []
    keys = [k for k in data if not isinstance(k, str)]
    if keys:
        msg = f"expected string keys, got {describe(keys[0])}"
        return [Finding(STRUCTURE, "non-string-key", "$", msg)]
    _members(data, "$", _TOP, out)
    obj = data.get("object")
    if type(obj) is str and obj != STEP_OBJECT:
        msg = f"expected {STEP_OBJECT!r}, got {describe(obj)}"
        out.append(Finding(STRUCTURE, "wrong-object", "$.object", msg))
    status = data.get("status")
    if type(status) is str and status not in STEP_STATUS_BY_VALUE:
        allowed = ", ".join(STEP_STATUS_BY_VALUE)
        msg = f"unknown step status {describe(status)}; allowed: {allowed}"
        out.append(Finding(STRUCTURE, "unknown-status", "$.status", msg))
    error = data.get("last_error")
    if type(error) is dict:
        _members(error, "$.last_error", (("code", *_STR, True), ("message", *_STR, True)), out)
    usage = data.get("usage")
    if type(usage) is dict:
        _members(
            usage,
            "$.usage",
            tuple((name, *_COUNT, True) for name in _O_USAGE),
            out,
        )
    details = data.get("step_details")
    if type(details) is dict:
        _check_details(details, out)
    return out


# --- reading ---------------------------------------------------------------------------------


def decode_step_tool_call(d: Obj) -> StepToolCall:
    """A step's tool call from its (structurally checked) wire object."""
    fn = d.get("function", UNSET)
    function: StepFunction | Any = UNSET
    if fn is not UNSET:
        function = StepFunction(
            name=fn["name"],
            arguments=fn["arguments"],
            output=fn.get("output", UNSET),
            extra=unknown_keys(fn, _K_FUNCTION, 5),
            key_order=key_order(fn, _O_FUNCTION),
        )
    return StepToolCall(
        id=d["id"],
        type=d["type"],
        function=function,
        extra=unknown_keys(d, _K_CALL, 4),
        key_order=key_order(d, _O_CALL),
    )


def _decode_details(d: Obj) -> StepDetails:
    kind = d["type"]
    if kind == "tool_calls":
        return ToolCallsDetails(
            type=kind,
            tool_calls=tuple(decode_step_tool_call(c) for c in d["tool_calls"]),
            extra=unknown_keys(d, _K_TOOL_CALLS, 2),
            key_order=key_order(d, _O_TOOL_CALLS),
        )
    if kind == "message_creation":
        m = d["message_creation"]
        return MessageCreationDetails(
            type=kind,
            message_creation=MessageCreation(
                message_id=m["message_id"],
                extra=unknown_keys(m, _K_MESSAGE, 3),
                key_order=key_order(m, _O_MESSAGE),
            ),
            extra=unknown_keys(d, _K_MESSAGE_DETAILS, 2),
            key_order=key_order(d, _O_MESSAGE_DETAILS),
        )
    return UnknownStepDetails(
        type=kind,
        extra=unknown_keys(d, _K_UNKNOWN_DETAILS, 2),
        key_order=key_order(d, _O_UNKNOWN_DETAILS),
    )


_KNOWN: Final = frozenset(STEP_ORDER)


def _decode(d: Obj) -> RunStep:
    metadata = d.get("metadata", UNSET)
    if isinstance(metadata, dict):
        metadata = freeze(metadata)
    made: RunStep = make_run_step(
        id=d["id"],
        object=d["object"],
        created_at=d["created_at"],
        run_id=d["run_id"],
        assistant_id=d["assistant_id"],
        thread_id=d["thread_id"],
        type=d["type"],
        status=STEP_STATUS_BY_VALUE[d["status"]],
        cancelled_at=d["cancelled_at"],
        completed_at=d["completed_at"],
        expired_at=d.get("expired_at", UNSET),
        failed_at=d["failed_at"],
        last_error=decode_last_error(d["last_error"]),
        step_details=_decode_details(d["step_details"]),
        usage=decode_usage(d["usage"]),
        metadata=metadata,
        extra=unknown_keys(d, _KNOWN, 1),
        key_order=key_order(d, STEP_ORDER),
    )
    return made


def validate_step(step: RunStep) -> None:
    """Check a step built by hand for structure, and make its values the record's.

    A status string becomes a ``StepStatus``; the other values must be what loading the
    step's own wire dict would give.

    Raises:
        InvalidRun: the record's values do not have the wire object's structure.
    """
    status = step.status
    if not isinstance(status, StepStatus):
        if not isinstance(status, str) or status not in STEP_STATUS_BY_VALUE:
            allowed = ", ".join(STEP_STATUS_BY_VALUE)
            raise InvalidRun([("$.status", f"expected a step status ({allowed}), got {status!r}")])
        refill(step, "status", STEP_STATUS_BY_VALUE[status])
    try:
        data = step_to_dict(step)
    except (AttributeError, TypeError) as exc:
        raise InvalidRun(
            [("$", f"a nested value is not one of the step record's classes ({exc})")]
        ) from None
    problems = step_structure_problems(data)
    if problems:
        raise InvalidRun([(p.path, p.message) for p in problems])
    built = _decode(data)
    for name in STEP_FIELDS:
        refill(step, name, getattr(built, name))


bind_step_validator(validate_step)


def step_from_dict(data: Any) -> RunStep:
    """Load a run step from the API's JSON object, keeping every value, unknown key and order.

    Raises:
        InvalidRun: *data* is not structurally a run step; one line per problem, path first.
    """
    problems = step_shape_problems(data)
    if not problems:
        try:
            return _decode(data)
        except NotJSON:
            problems = value_problems(data)
    raise InvalidRun([(p.path, p.message) for p in problems])


def step_from_json(text: str | bytes | bytearray) -> RunStep:
    """Load a run step from JSON text (see ``step_from_dict``).

    Raises:
        InvalidRun: the text is not JSON, or not a run step.
    """
    if not isinstance(text, (str, bytes, bytearray)):
        raise InvalidRun([("$", f"expected JSON text (str or bytes), got {type(text).__name__}")])
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InvalidRun([("$", f"malformed JSON: {exc}")]) from None
    return step_from_dict(data)
