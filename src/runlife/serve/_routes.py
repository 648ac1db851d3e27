"""The URL table, and the answers for a request no handler answers (404, 405, 500, APIError)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._errors import APIError, error_body, server_error
from ._responses import json_response

if TYPE_CHECKING:
    from ._handlers import Handlers

__all__ = ["EXCEPTION_HANDLERS", "routes"]

_log = logging.getLogger("runlife.serve")

_THREAD = "/v1/threads/{thread_id}"
_RUNS = _THREAD + "/runs"
_RUN = _RUNS + "/{run_id}"

_Endpoint = Callable[[Request], Awaitable[Response]]


def _route(path: str, **by_method: _Endpoint) -> Route:
    """One route for *path*, answering each method with its handler.

    One route per path, so a 405 lists all of the path's methods in ``Allow`` (Starlette
    answers a 405 from the first route whose path matches). ``HEAD`` is answered as ``GET``.
    """
    handlers = {method.upper(): handler for method, handler in by_method.items()}

    async def endpoint(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await handlers[method](request)

    return Route(path, endpoint, methods=list(handlers), name=path)


def routes(handlers: Handlers) -> list[Route]:
    """The endpoints of the Assistants API this service answers, bound to *handlers*."""
    return [
        _route("/v1/threads", post=handlers.create_thread),
        _route("/v1/threads/runs", post=handlers.create_and_run),
        _route(
            _THREAD,
            get=handlers.retrieve_thread,
            post=handlers.update_thread,
            delete=handlers.delete_thread,
        ),
        _route(_RUNS, get=handlers.list_runs, post=handlers.create_run),
        _route(_RUN, get=handlers.retrieve_run, post=handlers.update_run),
        _route(_RUN + "/cancel", post=handlers.cancel_run),
        _route(_RUN + "/submit_tool_outputs", post=handlers.submit_tool_outputs),
        _route(_RUN + "/steps", get=handlers.list_steps),
        _route(_RUN + "/steps/{step_id}", get=handlers.retrieve_step),
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
