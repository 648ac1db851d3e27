"""The request body limit: bodies over *limit* bytes are refused (413)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._errors import APIError, error_body
from ._responses import json_response

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["DEFAULT_MAX_BODY", "BodyLimit"]

#: Request bodies larger than this are refused (413).
DEFAULT_MAX_BODY = 1 << 20


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
