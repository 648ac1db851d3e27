"""The URL table, and the answers for a request no handler answers (404, 405, 500, APIError)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException
from starlette.routing import Route

from ._errors import APIError, error_body, server_error
from ._responses import json_response

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine
    from typing import Any

    from starlette.requests import Request
    from starlette.responses import Response

    from ._handlers import Handlers

__all__ = ["EXCEPTION_HANDLERS", "routes"]

_log = logging.getLogger("runlife.serve")

_RUNS = "/v1/threads/{thread_id}/runs"
_RUN = _RUNS + "/{run_id}"


def routes(handlers: Handlers) -> list[Route]:
    """The endpoints of the Assistants API this service answers, bound to *handlers*."""
    return [
        Route("/v1/threads", handlers.create_thread, methods=["POST"]),
        Route(_RUNS, handlers.create_run, methods=["POST"]),
        Route(_RUNS, handlers.list_runs, methods=["GET"]),
        Route(_RUN, handlers.retrieve_run, methods=["GET"]),
        Route(_RUN, handlers.update_run, methods=["POST"]),
        Route(_RUN + "/cancel", handlers.cancel_run, methods=["POST"]),
        Route(_RUN + "/submit_tool_outputs", handlers.submit_tool_outputs, methods=["POST"]),
        Route(_RUN + "/steps", handlers.list_steps, methods=["GET"]),
    ]


async def _api_error(_request: Request, exc: Exception) -> Response:
    if not isinstance(exc, APIError):  # pragma: no cover - registered for APIError only
        raise exc
    return json_response(exc.body(), exc.status, exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):  # pragma: no cover - registered for it only
        raise exc
    if exc.status_code == 404:
        message = f"Unknown request URL: {request.method} {request.url.path}."
    elif exc.status_code == 405:
        message = f"Method {request.method} is not allowed on {request.url.path}."
    else:
        message = str(exc.detail)
    return json_response(error_body(message), exc.status_code, exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    """A 500 that says nothing of *exc*; the error is logged with its traceback."""
    _log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
    return json_response(server_error(), 500)


#: Starlette's ``exception_handlers``: every error answered in the API's shape.
EXCEPTION_HANDLERS: dict[Any, Callable[[Request, Exception], Coroutine[Any, Any, Response]]] = {
    APIError: _api_error,
    HTTPException: _http_error,
    Exception: _server_error,
}
