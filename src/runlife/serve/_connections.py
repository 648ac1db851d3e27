"""The connections ``runlife serve`` holds: at most *max connections*, none waiting forever.

uvicorn (0.30 to 0.55, h11) bounds neither: a connection that sends nothing or half its
headers is held until the client leaves (its keep-alive timer is armed only after an
answer and disarmed by any byte received), and ``limit_concurrency`` answers 503 only once
a request's headers are in, so idle connections pile up. This module is the protocol layer
``runlife serve`` gives uvicorn (``uvicorn.Config(http=...)``), uvicorn's h11 protocol with:

- **a cap**: a connection opened while *max connections* are open is answered at once with
  ``503`` (the API's error body, ``Connection: close``, ``Retry-After: 1``), its request
  unread, and closed (the SDK retries a 503 and a dropped connection);
- **a header deadline**: from the moment the server waits for a request (the connection
  opened, or the previous answer ended) its headers must be complete within *header
  timeout* seconds, however slowly they trickle in; else the connection is closed without
  an answer. This also bounds an idle keep-alive connection and the draining of a body
  the app did not read.

The body's own deadline (a 408) is ``BodyTimeout``, in the app.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import attrs
from uvicorn.protocols.http.h11_impl import H11Protocol

from ._errors import error_body
from ._request_id import new_request_id
from ._timeouts import DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_CONNECTIONS, positive

if TYPE_CHECKING:
    from uvicorn.config import Config
    from uvicorn.server import ServerState

__all__ = ["ConnectionLimits", "guarded_protocol", "refusal"]

#: How long a refused connection is kept to deliver its 503 (its input read and dropped).
_LINGER = 1.0
_BUSY = "The server has too many open connections; try again shortly."


@attrs.frozen
class ConnectionLimits:
    """The cap on open connections and the header deadline (seconds)."""

    max_connections: int = DEFAULT_MAX_CONNECTIONS
    header_timeout: float = DEFAULT_HEADER_TIMEOUT

    def __attrs_post_init__(self) -> None:
        if self.max_connections < 1:
            raise ValueError(f"max_connections: expected an int >= 1, got {self.max_connections}")
        positive("header_timeout", self.header_timeout)


def refusal() -> bytes:
    """The whole answer to a connection over the cap: a 503 in the API's error shape."""
    body = json.dumps(error_body(_BUSY, type="server_error"), separators=(",", ":")).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n"
        "retry-after: 1\r\n"
        f"x-request-id: {new_request_id()}\r\n"
        "\r\n"
    )
    return head.encode() + body


class _GuardedH11(H11Protocol):
    """uvicorn's h11 protocol with the cap and the header deadline of ``limits``."""

    limits: ConnectionLimits = ConnectionLimits()

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._refused = False
        self._headers_timer: asyncio.TimerHandle | None = None
        #: The request cycle that was current when the header deadline was armed: a new
        #: one means the next request's headers are in.
        self._waiting_after: object = None

    # --- the cap ---------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            self._refused = True
            self.transport = transport
            transport.write(refusal())
            if transport.can_write_eof():
                transport.write_eof()  # the client reads the 503, then an end of file
            self._headers_timer = self.loop.call_later(_LINGER, transport.close)
            return
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # the request of a refused connection is dropped unread
        super().data_received(data)

    def eof_received(self) -> None:
        if self._refused:
            self.transport.close()
            return
        super().eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._refused:
            return
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        if not self._refused:
            super().pause_writing()

    def resume_writing(self) -> None:
        if not self._refused:
            super().resume_writing()

    # --- the header deadline ---------------------------------------------------------------

    def _arm(self) -> None:
        self._disarm()
        self._waiting_after = self.cycle
        self._headers_timer = self.loop.call_later(self.limits.header_timeout, self._expired)

    def _disarm(self) -> None:
        if self._headers_timer is not None:
            self._headers_timer.cancel()
            self._headers_timer = None

    def _expired(self) -> None:
        self._headers_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def handle_events(self) -> None:
        super().handle_events()
        if self._headers_timer is not None and self.cycle is not self._waiting_after:
            self._disarm()  # a new request's headers are in: the app has it now

    def on_response_complete(self) -> None:
        self._arm()  # before uvicorn looks at pipelined requests (which may disarm it)
        super().on_response_complete()
        if self.transport.is_closing():
            self._disarm()


def guarded_protocol(limits: ConnectionLimits) -> type[asyncio.Protocol]:
    """The protocol class for ``uvicorn.Config(http=...)`` that holds *limits*."""
    return type("GuardedH11Protocol", (_GuardedH11,), {"limits": limits})
