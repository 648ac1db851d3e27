"""How long a client may take to send a request: the defaults, and the body's deadline (408).

Two clocks bound a request (``runlife serve --header-timeout``, ``--body-timeout``):

- its **headers** must be complete within *header timeout* seconds of the moment the
  server starts waiting for them (the connection opened, or the previous answer ended);
  else the connection is closed without an answer (``runlife.serve._connections``, in the
  protocol: no request exists yet to answer);
- its **body** must be complete within *body timeout* seconds of the headers; else the
  request is answered ``408`` in the API's error shape with ``Connection: close``
  (``BodyTimeout`` here, an ASGI middleware, so ``create_app`` mounted in another server
  has it too).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import anyio

from ._errors import APIError

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_HEADER_TIMEOUT",
    "DEFAULT_MAX_CONNECTIONS",
    "BodyTimeout",
    "body_too_slow",
    "positive",
]

#: Seconds a connection may take to send a request's complete headers.
DEFAULT_HEADER_TIMEOUT = 10.0
#: Seconds a request may take to send its complete body, from the end of its headers.
DEFAULT_BODY_TIMEOUT = 30.0
#: Connections held open at once; beyond it a new connection is answered 503 and closed.
DEFAULT_MAX_CONNECTIONS = 500


def positive(name: str, seconds: float) -> float:
    """*seconds* when it is a number > 0; else a ``ValueError`` naming *name*."""
    if not seconds > 0:
        raise ValueError(f"{name}: expected a number > 0, got {seconds!r}")
    return seconds


def body_too_slow(seconds: float) -> APIError:
    """The 408 of a body not received within *seconds* (the connection is then closed)."""
    return APIError(
        408,
        f"The request body was not received within {seconds:g} s of its headers.",
        code="request_timeout",
        headers={"connection": "close"},
    )


class BodyTimeout:
    """ASGI middleware: a request body must arrive within *seconds* of the app's call.

    The app's reads of the body (``http.request`` messages) wait at most until that
    deadline; past it the read raises ``APIError(408)`` (the app's error handler answers
    it, with ``Connection: close``). Once the body is complete, reads pass through (a
    stream's wait for ``http.disconnect`` is not bounded). Other scopes pass through.
    """

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = positive("seconds", seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        seconds = self.seconds
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # not asyncio (trio): anyio's clock and cancel scopes
            loop = None
        deadline = (loop.time() if loop else anyio.current_time()) + seconds
        complete = False

        async def timed() -> Any:
            nonlocal complete
            if complete:
                return await receive()
            message: Any = None
            if loop is not None:
                # asyncio's own timeout: a few microseconds, where anyio's scope takes ten.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout_at(deadline):
                        message = await receive()
            else:  # pragma: no cover - runlife serve runs asyncio
                with anyio.move_on_after(deadline - anyio.current_time()):
                    message = await receive()
            if message is None:
                raise body_too_slow(seconds)
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            return message

        await self.app(scope, timed, send)
