"""The ASGI app: the handlers' routes in Starlette, behind the body limit and the API key."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from starlette.applications import Starlette

from runlife import RunEngine
from runlife.store import Store, open_store

from ._auth import BearerAuth
from ._handlers import Handlers
from ._limits import DEFAULT_MAX_BODY, BodyLimit
from ._request_id import RequestId
from ._routes import EXCEPTION_HANDLERS, routes
from ._signals import Signals
from ._timeouts import DEFAULT_BODY_TIMEOUT, BodyTimeout

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.types import ASGIApp

__all__ = ["DEFAULT_POLL_AFTER_MS", "create_app"]

#: ``openai-poll-after-ms`` sent with every retrieve.
DEFAULT_POLL_AFTER_MS = 25


def create_app(
    store: Store | str,
    *,
    api_key: str | None = None,
    default_model: str = "runlife-demo",
    poll_after_ms: int = DEFAULT_POLL_AFTER_MS,
    poll_wait_ms: int = 250,
    poll_ms: int = 50,
    max_body_bytes: int = DEFAULT_MAX_BODY,
    ttl: int = 600,
    signals: Signals | None = None,
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
) -> ASGIApp:
    """The Assistants-compatible runs API over *store*, as an ASGI app (Starlette).

    Mount it anywhere; the SDK's ``base_url`` is the mount point plus ``/v1``. Runs are only
    moved past ``queued`` by workers (``runlife.serve.Worker``, or ``runlife serve
    --workers K``) on the same store.

    Args:
        store: a ``runlife.store.Store``, or a URL for ``open_store`` (the app then opens it
            with ``RunEngine(ttl=ttl)`` and closes it on shutdown).
        api_key: when given, every request must carry ``Authorization: Bearer <api_key>``
            (else 401).
        default_model: the ``model`` of runs created without one (the API takes it from the
            assistant, which this service does not have).
        poll_after_ms: the ``openai-poll-after-ms`` header of retrieve: how long the SDK's
            poll helpers sleep between retrieves.
        poll_wait_ms: how long a retrieve sent by a poll helper (``X-Stainless-Poll-Helper``)
            may wait for the run to reach a status where the helper stops (0: never wait).
        poll_ms: how often streams and waiting retrieves re-read the store when no change
            notice arrives (moves made by workers on other machines).
        max_body_bytes: the largest request body accepted (else 413).
        ttl: seconds from creation to ``expires_at`` (when *store* is a URL).
        signals: change notices and wake-ups shared with worker processes on this machine
            (``runlife serve`` passes them); local to the app when omitted.
        body_timeout: seconds a request may take to send its body once its headers are
            in (else 408, ``Connection: close``).

    Raises:
        StoreURLError, StoreError: *store* is a URL that cannot be opened.
    """
    owned = isinstance(store, str)
    opened = (
        open_store(store, engine=RunEngine(ttl=ttl), pool_size=16)
        if isinstance(store, str)
        else store
    )
    handlers = Handlers(
        opened,
        signals=signals if signals is not None else Signals.local(),
        default_model=default_model,
        poll_after_ms=poll_after_ms,
        poll_wait_ms=poll_wait_ms,
        poll_ms=poll_ms,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        if owned:
            opened.close()

    app = Starlette(
        routes=routes(handlers), lifespan=lifespan, exception_handlers=EXCEPTION_HANDLERS
    )
    app.state.runlife_store = opened
    limited = BodyTimeout(BodyLimit(app, limit=max_body_bytes), seconds=body_timeout)
    # The key is checked first: a request without it learns nothing, not even the limit.
    # Every answer, a 401 too, carries its request id.
    return RequestId(BearerAuth(limited, api_key=api_key) if api_key else limited)
