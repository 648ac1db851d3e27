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

from ._errors import APIError, not_found

if TYPE_CHECKING:
    from collections.abc import Container, Iterable, Mapping

    from starlette.requests import Request

__all__ = [
    "Paging",
    "create_fields",
    "json_body",
    "metadata_update",
    "missing",
    "page_query",
    "reject_unknown",
    "run_path",
    "stream_flag",
    "thread_metadata",
    "thread_path",
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
_UPDATE_FIELDS = frozenset({"metadata"})
_SUBMIT_FIELDS = frozenset({"tool_outputs", "stream"})
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


def _encodable(data: Any) -> bool:
    """Whether every string of *data* (keys too) is valid Unicode, as UTF-8 needs."""
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            try:
                value.encode()
            except UnicodeEncodeError:  # a lone surrogate: "\ud800"
                return False
        elif isinstance(value, dict):
            pending.extend(value)
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return True


async def json_body(request: Request, *, allow_empty: bool = False) -> dict[str, Any]:
    """The request's body, a JSON object (``{}`` for an empty body when *allow_empty*).

    Refused (400): a body that is not JSON, nested too deep to parse, with ``NaN`` or
    ``Infinity`` or a number too large for a float, with a string that is not valid Unicode
    (a lone surrogate escape), or whose value is not an object.
    """
    raw = await request.body()
    if not raw.strip():
        if allow_empty:
            return {}
        raise APIError(400, "The request body must be a JSON object; it is empty.")
    try:
        data = json.loads(raw, parse_float=_finite, parse_constant=_no_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise APIError(400, _UNPARSABLE) from None
    if not isinstance(data, dict):
        raise APIError(400, "The request body must be a JSON object.")
    if not _encodable(data):
        raise APIError(400, _UNPARSABLE)
    return data


def _storable(value: str) -> bool:
    """Whether *value* can be an id: no NUL (databases refuse it in text)."""
    return "\x00" not in value


def thread_path(request: Request) -> str:
    """The path's ``thread_id`` (400 when no thread can have it)."""
    thread_id: str = request.path_params["thread_id"]
    if not _storable(thread_id):
        raise APIError(400, "Invalid 'thread_id': it contains a NUL character.", param="thread_id")
    return thread_id


def run_path(request: Request) -> tuple[str, str]:
    """The path's ``thread_id`` and ``run_id`` (404 for a run id no run can have)."""
    thread_id = thread_path(request)
    run_id: str = request.path_params["run_id"]
    if not _storable(run_id):
        raise not_found(run_id.replace("\x00", "\\x00"))
    return thread_id, run_id


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


def reject_unknown(names: Iterable[str], allowed: Container[str]) -> None:
    """Refuse the first of *names* not in *allowed* (400, ``unknown_parameter``)."""
    for name in names:
        if name not in allowed:
            raise APIError(
                400,
                f"Unrecognized request argument supplied: {name}",
                param=name,
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


def create_fields(body: Mapping[str, Any], *, default_model: str) -> dict[str, Any]:
    """The create's fields for the engine: known names only, nulls and ignored ones left out.

    ``assistant_id`` is required (a non-empty string); ``model`` defaults to
    *default_model*. The values themselves are the engine's to check.
    """
    fields = {
        name: value
        for name, value in body.items()
        if name not in _CREATE_IGNORED and value is not None
    }
    reject_unknown(fields, _CREATE_FIELDS)
    assistant = fields.get("assistant_id")
    if assistant is None:
        raise missing("assistant_id")
    if not isinstance(assistant, str) or not assistant:
        raise APIError(
            400, "Invalid 'assistant_id': expected a non-empty string.", param="assistant_id"
        )
    fields.setdefault("model", default_model)
    return fields


def thread_metadata(body: Mapping[str, Any]) -> dict[str, Any]:
    """A new thread's ``metadata`` (``{}`` when absent or null); its other fields are ignored.

    This service keeps no threads: the metadata is only echoed in the answer.
    """
    metadata = body.get("metadata")
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise APIError(400, "Invalid 'metadata': expected an object.", param="metadata")
    return metadata


def metadata_update(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The update's new ``metadata`` (``{}`` for null), or ``None`` when the body has none."""
    reject_unknown(body, _UPDATE_FIELDS)
    if "metadata" not in body:
        return None
    metadata = body["metadata"] if body["metadata"] is not None else {}
    if not isinstance(metadata, dict):
        raise APIError(400, "Invalid 'metadata': expected an object.", param="metadata")
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
    if value is not None and not _storable(value):
        raise APIError(400, f"Invalid '{name}': it contains a NUL character.", param=name)
    return value


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
