"""JSON answers: compact, UTF-8, ``application/json``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["json_response"]

_DUMPS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """*data* as a JSON answer with *status* and *headers*."""
    return Response(
        _DUMPS(data).encode(), status_code=status, headers=headers, media_type="application/json"
    )
