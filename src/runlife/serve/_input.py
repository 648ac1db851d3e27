"""Reading requests: the JSON body, the ``stream`` flag, the fields a request may carry."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ._errors import APIError

if TYPE_CHECKING:
    from collections.abc import Container, Iterable, Mapping

    from starlette.requests import Request

__all__ = ["json_body", "missing", "reject_unknown", "stream_flag"]


async def json_body(request: Request, *, allow_empty: bool = False) -> dict[str, Any]:
    """The request's body, a JSON object (``{}`` for an empty body when *allow_empty*)."""
    raw = await request.body()
    if not raw.strip():
        if allow_empty:
            return {}
        raise APIError(400, "The request body must be a JSON object; it is empty.")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise APIError(
            400,
            "We could not parse the JSON body of your request. The body must be valid JSON.",
        ) from None
    if not isinstance(data, dict):
        raise APIError(400, "The request body must be a JSON object.")
    return data


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
