"""Authentication: every HTTP request carries ``Authorization: Bearer <api key>`` (else 401)."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from ._errors import error_body
from ._responses import json_response

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["BearerAuth"]

_MISSING = "You didn't provide an API key. Send it as a Bearer token in the Authorization header."
_WRONG = "Incorrect API key provided."
_TWICE = "Send one Authorization header; this request has more than one."


class BearerAuth:
    """ASGI middleware: refuse HTTP requests without the Bearer *api_key* (401, ``invalid_api_key``).

    The key is compared in constant time. A request with two ``Authorization`` headers is
    refused (401) whatever they hold: which one a proxy or a server would read differs.
    Other scopes (``lifespan``) pass through.
    """

    def __init__(self, app: ASGIApp, *, api_key: str) -> None:
        if not api_key:
            raise ValueError("api_key: expected a non-empty string")
        self.app = app
        self.expected = f"Bearer {api_key}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = [value for name, value in scope["headers"] if name == b"authorization"]
            if len(given) != 1 or not hmac.compare_digest(given[0], self.expected):
                message = _MISSING if not given else _TWICE if len(given) > 1 else _WRONG
                response = json_response(error_body(message, code="invalid_api_key"), 401)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
