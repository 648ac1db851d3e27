"""Errors as the Assistants API gives them: ``{"error": {"message", "type", "param", "code"}}``.

Statuses follow what the official SDK does with them: it retries 408, 409, 429 and every 5xx,
so a client's mistake is always a 4xx it does not retry (400, 401, 404, 405, 413), and a 409
always carries ``x-should-retry: false``.
"""

from __future__ import annotations

import logging
from typing import Any

from runlife import (
    Conflict,
    GuardRejected,
    IllegalTransition,
    InvalidRun,
    RunNotFound,
    ThreadBusy,
)
from runlife.store import StepNotFound, StoreError

__all__ = [
    "APIError",
    "error_body",
    "from_runlife",
    "not_found",
    "server_error",
    "step_not_found",
]

_log = logging.getLogger("runlife.serve")

#: What a client is told of an error of the server: nothing of its cause (that is logged).
SERVER_ERROR = "The server had an error while processing your request."
#: What a client is told when the store cannot be used (the SDK retries a 503).
STORE_UNAVAILABLE = "The run store is unavailable; try again later."


def error_body(
    message: str,
    *,
    type: str = "invalid_request_error",  # noqa: A002 - the API's field name
    param: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """The API's error object, wrapped: ``{"error": {...}}``."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


class APIError(Exception):
    """An error answer: *status*, the error object's fields, and extra *headers*."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",  # noqa: A002 - the API's field name
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = dict(headers or {})
        if status == 409:
            self.headers["x-should-retry"] = "false"

    def body(self) -> dict[str, Any]:
        """The JSON body of the answer."""
        return error_body(self.message, type=self.type, param=self.param, code=self.code)


def not_found(run_id: str) -> APIError:
    """The 404 of an unknown run (or of a run asked for under another thread)."""
    return APIError(404, f"No run found with id '{run_id}'.")


def step_not_found(step_id: str) -> APIError:
    """The 404 of an unknown run step (or of a step asked for under another run)."""
    return APIError(404, f"No run step found with id '{step_id}'.")


def server_error() -> dict[str, Any]:
    """The body of a 500: a generic message, ``type`` ``server_error``."""
    return error_body(SERVER_ERROR, type="server_error")


def first_field(path: str) -> str | None:
    """The top field of a check's *path*: ``$.tools[3].function.name`` -> ``tools``."""
    rest = path.removeprefix("$.").removeprefix("$")
    for stop in ".[":
        rest = rest.split(stop, 1)[0]
    return rest or None


def from_runlife(exc: Exception) -> APIError | None:
    """The API's answer to an error of runlife or of its store; ``None`` for any other error.

    An unknown run or step is a 404; a busy thread or an invalid run a 400 (``param`` naming the
    field); a refused guard or a trigger the run's status does not take a 400; a store error
    a 503 with a generic message (the cause is logged: the SDK retries it); a lost
    compare-and-set race a 409 (``x-should-retry: false``).
    """
    if isinstance(exc, RunNotFound):
        return not_found(exc.run_id)
    if isinstance(exc, StepNotFound):
        return step_not_found(exc.step_id)
    if isinstance(exc, ThreadBusy):
        holder = f" {exc.run_id}" if exc.run_id else ""
        return APIError(
            400, f"Thread {exc.thread_id} already has an active run{holder}.", param="thread_id"
        )
    if isinstance(exc, InvalidRun):
        param = first_field(exc.errors[0][0]) if exc.errors else None
        lines = "; ".join(f"{path}: {problem}" for path, problem in exc.errors)
        return APIError(400, f"Invalid request: {lines}", param=param)
    if isinstance(exc, GuardRejected):
        return APIError(400, str(exc))
    if isinstance(exc, IllegalTransition):
        return APIError(400, f"The run's status '{exc.status}' does not allow this request.")
    if isinstance(exc, StoreError):
        _log.error("store error", exc_info=exc)
        return APIError(503, STORE_UNAVAILABLE, type="server_error")
    if isinstance(exc, Conflict):
        return APIError(
            409, f"The run changed concurrently; nothing was written: {exc}", code="conflict"
        )
    return None
