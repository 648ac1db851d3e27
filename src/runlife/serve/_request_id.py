"""Request ids: every HTTP answer carries ``x-request-id: req_<32 hex>``, as the API's do.

The official SDK reads it into ``_request_id`` of what it returns (and into its errors), so a
client can name the request it means.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RequestId", "new_request_id"]


def new_request_id() -> str:
    """A new request id: ``req_`` and 32 lower-case hex digits."""
    return f"req_{secrets.token_hex(16)}"


class RequestId:
    """ASGI middleware: add an ``x-request-id`` header to every HTTP answer of *app*.

    Outermost, so that every answer has one (401s and 413s too). Other scopes pass through.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = (b"x-request-id", new_request_id().encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        await self.app(scope, receive, send_with_id)
