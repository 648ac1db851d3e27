"""Reading requests: the JSON body, the ids in the path, the fields each endpoint takes.

Everything a client sends is checked here, before any store operation: a request that does
not parse, or carries a value of the wrong shape, is the API's 400 (or the 404 of a run id
no run can have), never an error of the store or of the encoder. The run's own fields are
checked by the engine (``runlife.InvalidRun``, also a 400).
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, Literal

import attrs

import runlife
from runlife import MAX_JSON_DEPTH

from ._errors import APIError, not_found, step_not_found
from ._limits import (
    MAX_ID,
    MAX_MODEL,
    MAX_TOOL_DESCRIPTION,
    MAX_TOOL_PARAMETERS,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Container, Iterable, Mapping

    from starlette.requests import Request

__all__ = [
    "Paging",
    "create_and_run_fields",
    "create_fields",
    "json_body",
    "metadata_update",
    "missing",
    "page_query",
    "reject_unknown",
    "run_path",
    "step_path",
    "stream_flag",
    "thread_fields",
    "thread_path",
    "thread_update",
    "tool_outputs",
]

#: The fields of a create the engine takes.
_CREATE_FIELDS = frozenset(
    {
        "assistant_id",
        "model",
        "instructions",
        "tools",
        "metadata",
        "tool_choice",
        "parallel_tool_calls",
        "truncation_strategy",
        "response_format",
        "temperature",
        "top_p",
        "max_prompt_tokens",
        "max_completion_tokens",
    }
)
#: Accepted on create and ignored: this service has no messages, assistants or reasoning.
_CREATE_IGNORED = frozenset(
    {"stream", "additional_instructions", "additional_messages", "reasoning_effort", "include"}
)
#: Accepted on create-and-run and ignored, beside the thread: as on create, and the run's
#: ``tool_resources`` (this service has no files or vector stores).
_CREATE_AND_RUN_IGNORED = _CREATE_IGNORED | {"tool_resources"}
_THREAD_FIELDS = frozenset({"messages", "metadata", "tool_resources"})
_UPDATE_FIELDS = frozenset({"metadata"})
_THREAD_UPDATE_FIELDS = frozenset({"metadata", "tool_resources"})
_SUBMIT_FIELDS = frozenset({"tool_outputs", "stream"})
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_UNPARSABLE = "We could not parse the JSON body of your request. The body must be valid JSON."


class _Unparsable(ValueError):
    """A body that is JSON by the grammar but not a value the API can hold or echo."""


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: too large for a float
        raise _Unparsable(text)
    return value


def _no_constant(text: str) -> float:
    raise _Unparsable(text)  # NaN, Infinity, -Infinity: not JSON


def _value_problem(data: dict[str, Any]) -> APIError | None:
    """The 400 of the first field of *data* too deep or not valid Unicode; ``None`` if none.

    Too deep: beyond ``runlife.MAX_JSON_DEPTH`` levels, counted as the library counts a run's
    (the body is level 1, a field's value level 2), so what passes here a run can hold;
    not valid Unicode: a string (keys too)
    with a lone surrogate escape.
    Iterative, so no depth reaches Python's recursion limit here.
    """
    for field, top in data.items():
        try:
            field.encode()
        except UnicodeEncodeError:  # a name no answer can hold, so none can name it
            return APIError(400, _UNPARSABLE)
        pending: list[tuple[Any, int]] = [(top, 2)]
        while pending:
            value, depth = pending.pop()
            if isinstance(value, str):
                try:
                    value.encode()
                except UnicodeEncodeError:  # "\ud800"
                    return APIError(
                        400,
                        f"Invalid '{field}': a JSON string is not valid Unicode "
                        "(a lone UTF-16 surrogate).",
                        param=field,
                    )
            elif isinstance(value, dict | list):
                if depth > MAX_JSON_DEPTH:
                    return APIError(
                        400,
                        f"Invalid '{field}': the value is nested more than "
                        f"{MAX_JSON_DEPTH} levels deep (the body is level 1).",
                        param=field,
                    )
                if isinstance(value, dict):
                    pending.extend((key, depth) for key in value)
                    pending.extend((item, depth + 1) for item in value.values())
                else:
                    pending.extend((item, depth + 1) for item in value)
    return None


async def json_body(request: Request, *, allow_empty: bool = False) -> dict[str, Any]:
    """The request's body, a JSON object (``{}`` for an empty body when *allow_empty*).

    Refused (400): a body that is not JSON in UTF-8 (UTF-16, UTF-32 or a byte order mark are
    not JSON to the API), nested too deep to parse, with ``NaN`` or ``Infinity`` or a number
    too large for a float, whose value is not an object, or with a field nested deeper than
    ``runlife.MAX_JSON_DEPTH`` or holding a string that is not valid Unicode (naming the field).
    """
    raw = await request.body()
    if not raw.strip():
        if allow_empty:
            return {}
        raise APIError(400, "The request body must be a JSON object; it is empty.")
    try:
        # Decoded first: json.loads(bytes) would guess UTF-16 and UTF-32 and skip a BOM.
        text = raw.decode("utf-8")
        data = json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise APIError(400, _UNPARSABLE) from None
    if not isinstance(data, dict):
        raise APIError(400, "The request body must be a JSON object.")
    problem = _value_problem(data)
    if problem is not None:
        raise problem
    return data


def _id_problem(value: str) -> str | None:
    """Why *value* cannot be an id or a cursor (a NUL, longer than ``MAX_ID``), or ``None``."""
    if "\x00" in value:
        return "it contains a NUL character"
    if len(value) > MAX_ID:
        return f"expected at most {MAX_ID} characters, got {len(value)}"
    return None


def _checked_id(value: str, name: str) -> str:
    problem = _id_problem(value)
    if problem is not None:
        raise APIError(400, f"Invalid '{name}': {problem}.", param=name)
    return value


def thread_path(request: Request) -> str:
    """The path's ``thread_id`` (400 when no thread can have it)."""
    return _checked_id(request.path_params["thread_id"], "thread_id")


def _looked_up_id(request: Request, name: str, missing: Callable[[str], APIError]) -> str:
    """The path's id *name* of an object looked up by it.

    An id with a NUL is the object's 404 (*missing*: no object can have one, so none is
    found); one that no id can be (too long) a 400.
    """
    value: str = request.path_params[name]
    if "\x00" in value:
        raise missing(value.replace("\x00", "\\x00"))
    return _checked_id(value, name)


def run_path(request: Request) -> tuple[str, str]:
    """The path's ``thread_id`` and ``run_id`` (see ``_looked_up_id``)."""
    thread_id = thread_path(request)
    return thread_id, _looked_up_id(request, "run_id", not_found)


def step_path(request: Request) -> tuple[str, str, str]:
    """The path's ``thread_id``, ``run_id`` and ``step_id`` (see ``_looked_up_id``)."""
    thread_id, run_id = run_path(request)
    return thread_id, run_id, _looked_up_id(request, "step_id", step_not_found)


def stream_flag(body: Mapping[str, Any]) -> bool:
    """The body's ``stream``: a boolean, ``False`` when absent or null."""
    stream = body.get("stream", False)
    if stream is None:
        return False
    if not isinstance(stream, bool):
        raise APIError(
            400, f"Invalid 'stream': expected a boolean, got {stream!r}.", param="stream"
        )
    return stream


def reject_unknown(names: Iterable[str], allowed: Container[str], *, prefix: str = "") -> None:
    """Refuse the first of *names* not in *allowed* (400, ``unknown_parameter``)."""
    for name in names:
        if name not in allowed:
            raise APIError(
                400,
                f"Unrecognized request argument supplied: {prefix}{name}",
                param=prefix + name,
                code="unknown_parameter",
            )


def missing(name: str) -> APIError:
    """The 400 of a missing required field."""
    return APIError(
        400,
        f"Missing required parameter: '{name}'.",
        param=name,
        code="missing_required_parameter",
    )


def _tool_problems(tools: Any) -> None:
    """Refuse a function tool whose ``description`` or ``parameters`` is over its cap."""
    if not isinstance(tools, list):
        return  # the engine names the shape
    for i, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict):
            continue
        description = function.get("description")
        if isinstance(description, str) and len(description) > MAX_TOOL_DESCRIPTION:
            name = f"tools[{i}].function.description"
            raise APIError(
                400,
                f"Invalid '{name}': expected at most {MAX_TOOL_DESCRIPTION} characters, "
                f"got {len(description)}.",
                param=name,
            )
        parameters = function.get("parameters")
        if parameters is not None:
            size = len(_COMPACT(parameters).encode())
            if size > MAX_TOOL_PARAMETERS:
                name = f"tools[{i}].function.parameters"
                raise APIError(
                    400,
                    f"Invalid '{name}': expected at most {MAX_TOOL_PARAMETERS} bytes of JSON, "
                    f"got {size}.",
                    param=name,
                )


def create_fields(
    body: Mapping[str, Any], *, default_model: str, ignored: Container[str] = _CREATE_IGNORED
) -> dict[str, Any]:
    """The create's fields for the engine: known names only, nulls and *ignored* ones left out.

    ``assistant_id`` is required (a non-empty string of at most ``MAX_ID`` characters);
    ``model`` defaults to *default_model* and has at most ``MAX_MODEL`` characters; a
    function tool's ``description`` and ``parameters`` are capped. The values themselves are
    the engine's to check.
    """
    fields = {
        name: value for name, value in body.items() if name not in ignored and value is not None
    }
    reject_unknown(fields, _CREATE_FIELDS)
    assistant = fields.get("assistant_id")
    if assistant is None:
        raise missing("assistant_id")
    if not isinstance(assistant, str) or not assistant:
        raise APIError(
            400, "Invalid 'assistant_id': expected a non-empty string.", param="assistant_id"
        )
    _checked_id(assistant, "assistant_id")
    model = fields.setdefault("model", default_model)
    if isinstance(model, str) and len(model) > MAX_MODEL:
        raise APIError(
            400,
            f"Invalid 'model': expected at most {MAX_MODEL} characters, got {len(model)}.",
            param="model",
        )
    _tool_problems(fields.get("tools"))
    return fields


#: An engine of its own and a run nobody else holds: what metadata is checked on.
_SCRATCH: list[tuple[runlife.RunEngine, runlife.Run]] = []


def _metadata_problems(metadata: Mapping[str, Any], name: str) -> None:
    """Refuse *metadata* (400, naming the field *name*) where the engine's rules refuse it.

    The rules are the engine's own (``RunEngine.update`` on the scratch run), so a thread's
    metadata is held to exactly what a run's is.
    """
    if not _SCRATCH:
        engine = runlife.RunEngine()
        _SCRATCH.append((engine, engine.create(thread_id="t", assistant_id="a", model="m")))
    engine, scratch = _SCRATCH[0]
    try:
        engine.update(scratch, metadata=metadata)
    except runlife.InvalidRun as exc:
        path, problem = exc.errors[0]
        where = name + path.removeprefix("$.metadata")
        raise APIError(400, f"Invalid '{where}': {problem}.", param=name) from None


def _object_or_null(body: Mapping[str, Any], field: str, name: str) -> dict[str, Any]:
    value = body.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise APIError(400, f"Invalid '{name}': expected an object.", param=name)
    return value


def thread_fields(body: Mapping[str, Any], *, prefix: str = "") -> dict[str, Any]:
    """A new thread's ``metadata`` and ``tool_resources`` (``{}`` when absent or null).

    ``messages`` is taken and dropped (this service keeps no messages), but must be an array
    of objects; any other field is refused. The metadata rules are a run's. *prefix* names
    the body's place in field names (``thread.`` inside a create-and-run).
    """
    reject_unknown(body, _THREAD_FIELDS, prefix=prefix)
    messages = body.get("messages")
    if messages is not None and (
        not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages)
    ):
        name = prefix + "messages"
        raise APIError(400, f"Invalid '{name}': expected an array of objects.", param=name)
    metadata = _object_or_null(body, "metadata", prefix + "metadata")
    _metadata_problems(metadata, prefix + "metadata")
    resources = _object_or_null(body, "tool_resources", prefix + "tool_resources")
    return {"metadata": metadata, "tool_resources": resources}


def create_and_run_fields(
    body: Mapping[str, Any], *, default_model: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A create-and-run's thread (as ``thread_fields``) and run (as ``create_fields``)."""
    thread = body.get("thread")
    if thread is not None and not isinstance(thread, dict):
        raise APIError(400, "Invalid 'thread': expected an object.", param="thread")
    run = {name: value for name, value in body.items() if name != "thread"}
    return (
        thread_fields(thread or {}, prefix="thread."),
        create_fields(run, default_model=default_model, ignored=_CREATE_AND_RUN_IGNORED),
    )


def thread_update(body: Mapping[str, Any]) -> dict[str, Any]:
    """A thread update's fields, each only when the body has it.

    ``metadata`` (``{}`` for null) is held to a run's rules; ``tool_resources`` is an object.
    """
    reject_unknown(body, _THREAD_UPDATE_FIELDS)
    fields: dict[str, Any] = {}
    if "metadata" in body:
        fields["metadata"] = _object_or_null(body, "metadata", "metadata")
        _metadata_problems(fields["metadata"], "metadata")
    if "tool_resources" in body:
        fields["tool_resources"] = _object_or_null(body, "tool_resources", "tool_resources")
    return fields


def metadata_update(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The update's new ``metadata`` (``{}`` for null), or ``None`` when the body has none."""
    reject_unknown(body, _UPDATE_FIELDS)
    if "metadata" not in body:
        return None
    metadata = _object_or_null(body, "metadata", "metadata")
    _metadata_problems(metadata, "metadata")
    return metadata


def tool_outputs(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The submit's ``tool_outputs``: an array of objects (their keys are the engine's to check)."""
    reject_unknown(body, _SUBMIT_FIELDS)
    outputs = body.get("tool_outputs")
    if outputs is None:
        raise missing("tool_outputs")
    if not isinstance(outputs, list) or not all(isinstance(o, dict) for o in outputs):
        raise APIError(
            400, "Invalid 'tool_outputs': expected an array of objects.", param="tool_outputs"
        )
    return outputs


@attrs.frozen
class Paging:
    """A list request's paging: *limit* (1-100), *order*, the *after* and *before* cursors."""

    limit: int
    order: Literal["asc", "desc"]
    after: str | None
    before: str | None


def _cursor(query: Mapping[str, str], name: str) -> str | None:
    value = query.get(name) or None
    return None if value is None else _checked_id(value, name)


def page_query(query: Mapping[str, str]) -> Paging:
    """The paging of a list request's *query* (400 for a bad ``limit``, ``order`` or cursor)."""
    raw_limit = query.get("limit", "20")
    try:
        limit = int(raw_limit)
    except ValueError:
        limit = 0
    if not 1 <= limit <= 100:
        raise APIError(
            400,
            f"Invalid 'limit': expected an integer from 1 to 100, got '{raw_limit}'.",
            param="limit",
        )
    order = query.get("order", "desc")
    if order not in {"asc", "desc"}:
        raise APIError(
            400, f"Invalid 'order': expected 'asc' or 'desc', got '{order}'.", param="order"
        )
    return Paging(
        limit=limit,
        order="asc" if order == "asc" else "desc",
        after=_cursor(query, "after"),
        before=_cursor(query, "before"),
    )
