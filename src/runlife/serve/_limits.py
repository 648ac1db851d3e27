"""What this service refuses by size: bodies over a limit (413), and the serve-only caps (400).

The caps hold for requests to ``runlife serve`` only (the library takes longer values):
they bound what one request can make the store keep or the server walk.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._errors import APIError, error_body
from ._responses import json_response

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "DEFAULT_MAX_BODY",
    "MAX_ID",
    "MAX_MODEL",
    "MAX_TOOL_DESCRIPTION",
    "MAX_TOOL_PARAMETERS",
    "BodyLimit",
]

#: Request bodies larger than this are refused (413).
DEFAULT_MAX_BODY = 1 << 20
#: The longest ``model`` a create takes (characters).
MAX_MODEL = 256
#: The longest id (thread, run, assistant, tool call) and cursor a request may name.
MAX_ID = 128
#: The longest ``description`` of a function tool (characters).
MAX_TOOL_DESCRIPTION = 1024
#: The largest ``parameters`` of a function tool, as compact JSON (UTF-8 bytes).
MAX_TOOL_PARAMETERS = 64 * 1024


def _too_large(limit: int) -> str:
    return f"The request body is larger than {limit} bytes."


class BodyLimit:
    """ASGI middleware: refuse HTTP request bodies over *limit* bytes with a 413.

    A ``Content-Length`` over the limit is answered before the app runs; a body that grows
    past it while read (chunked) raises ``APIError(413)`` in the reader (the app's error
    handler answers it). Other scopes (``lifespan``) pass through.
    """

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await json_response(error_body(_too_large(limit)), 413)(scope, receive, send)
            return
        seen = 0

        async def limited() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise APIError(413, _too_large(limit))
            return message

        await self.app(scope, limited, send)
